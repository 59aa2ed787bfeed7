/* The gan family: a generator and a discriminator, two networks trained by
 * alternating updates (Goodfellow et al. 2014), on a ring of Gaussians in
 * the plane: the standard test of whether a GAN covers every mode (Metz et
 * al. 2017, "Unrolled GANs": 8 modes on a circle of radius 2, std 0.02).
 *
 *   model:
 *     kind: gan
 *     noise: {dim: 2}            # z ~ N(0, I)
 *     networks:
 *       gen:  {layers: [...]}    # z -> a point (2 outputs)
 *       disc: {layers: [...]}    # a point -> one logit
 *   data: {dataset: ring, modes: 8, radius: 2.0, std: 0.02, samples: 25600, test_samples: 2500}
 *   train:
 *     optimizers: {d: {params: disc, type: adam, ...}, g: {params: gen, type: adam, ...}}
 *     updates: [{loss: d_loss, optimizer: d}, {loss: g_loss, optimizer: g}]
 *
 * Losses: d_loss = bce(D(x), 1) + bce(D(G(z)), 0); g_loss = bce(D(G(z)), 1)
 * (the non-saturating generator loss); d_real and d_fake, d_loss's two
 * terms, may be weighted otherwise by train.losses. Each update draws its own noise and
 * real points from the counter-based generator, by (step, update, repeat,
 * replica, element): a resumed run draws the very same. Networks are built
 * from YAML alone; the discriminator is applied twice with the same
 * parameters (its real and fake halves).
 *
 * Evaluation: test_samples points from G under fixed noise; a point is of
 * high quality within 3 std of its nearest mode; `modes` counts the modes
 * that hold at least a quarter of their fair share of high-quality points.
 * samples.png shows the points over the modes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gradcheck.h"
#include "../core/layers.h"
#include "../core/ops/ops.h"
#include "../core/png.h"
#include "../core/rng.h"
#include "../train/trainer.h"
#include "family.h"

static const char *const k_model_keys[] = {"kind", "noise", "networks", NULL};
static const char *const k_noise_keys[] = {"dim", NULL};
static const char *const k_network_keys[] = {"layers", NULL};
static const char *const k_data_keys[] = {"dataset", "modes", "radius", "std", "samples", "test_samples", NULL};
static const char *const k_datasets[] = {"ring", NULL};
/* the named losses (terms of train.losses too): d_loss = d_real + d_fake */
static const char *const k_losses[] = {"d_loss", "g_loss", "d_real", "d_fake", NULL};
enum { LOSS_D, LOSS_G, LOSS_D_REAL, LOSS_D_FAKE, N_LOSSES };

/* Purposes of the family's random streams (low byte; the draw goes above). */
enum { STREAM_NOISE = DLX_STREAM_USER + 1, STREAM_REAL = DLX_STREAM_USER + 2, STREAM_TEST = DLX_STREAM_USER + 3 };

typedef struct gan_replica {
    dlx_node *z, *x;
    dlx_node *loss[DLX_LOSSES_MAX]; /* the terms, then train.losses */
} gan_replica;

typedef struct gan {
    dlx_train_cfg tc;
    int64_t nz;
    int64_t modes, samples, test_samples;
    double radius, std;
    int64_t shard_batch;
    dlx_replicas reps;
    gan_replica rep[DLX_REPLICAS_MAX];
    dlx_layers_out gen_info, disc_info; /* replica 0's, for the layer table */
    dlx_graph *eval_g;                  /* G alone at test_samples, inference */
    dlx_node *eval_z, *eval_out;
} gan;

static int read_data(dlx_spec_node *root, gan *c, dlx_err *err)
{
    dlx_spec_node *d = dlx_spec_get(root, "data");
    if (!d)
        return dlx_err_setf(err, DLX_EINVAL, root->loc,
                            "missing required key 'data' (e.g. data: {dataset: ring, modes: 8, radius: 2.0, std: 0.02})");
    int which;
    int rc = dlx_spec_expect_map(d, "data", err);
    if (!rc) rc = dlx_spec_check_keys(d, "data", k_data_keys, err);
    if (!rc) rc = dlx_spec_enum(d, "dataset", false, k_datasets, 0, &which, err);
    if (!rc) rc = dlx_spec_int(d, "modes", false, 8, 1, 64, &c->modes, err);
    if (!rc) rc = dlx_spec_float(d, "radius", false, 2.0, 0.01, 1000.0, &c->radius, err);
    if (!rc) rc = dlx_spec_float(d, "std", false, 0.02, 1e-4, 100.0, &c->std, err);
    if (!rc) rc = dlx_spec_int(d, "samples", false, 25600, 1, 1000000000, &c->samples, err);
    if (!rc) rc = dlx_spec_int(d, "test_samples", false, 2500, 1, 1000000, &c->test_samples, err);
    return rc;
}

static int read_spec(dlx_model *m, gan *c, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(m->spec), *model = dlx_spec_get(root, "model");
    int rc = dlx_spec_check_keys(model, "model (gan)", k_model_keys, err);
    dlx_spec_node *noise = rc ? NULL : dlx_spec_get(model, "noise");
    if (noise && !(rc = dlx_spec_expect_map(noise, "model.noise", err)))
        rc = dlx_spec_check_keys(noise, "model.noise", k_noise_keys, err);
    if (!rc) rc = dlx_spec_int(noise, "dim", false, 2, 1, 4096, &c->nz, err);
    dlx_spec_node *nets = rc ? NULL : dlx_spec_get(model, "networks");
    if (!rc && !nets)
        rc = dlx_err_setf(err, DLX_EINVAL, model->loc,
                          "model: missing required key 'networks' (a gan has two: gen and disc, each with layers:)");
    if (!rc) rc = dlx_spec_expect_map(nets, "model.networks", err);
    static const char *const k_nets[] = {"gen", "disc", NULL};
    if (!rc) rc = dlx_spec_check_keys(nets, "model.networks (gan)", k_nets, err);
    for (int i = 0; i < 2 && !rc; i++) {
        dlx_spec_node *n = dlx_spec_get(nets, k_nets[i]);
        if (!n)
            rc = dlx_err_setf(err, DLX_EINVAL, nets->loc, "model.networks: missing required network '%s'", k_nets[i]);
        if (!rc) rc = dlx_spec_expect_map(n, n->path, err);
        if (!rc) rc = dlx_spec_check_keys(n, n->path, k_network_keys, err);
        if (!rc && !dlx_spec_get(n, "layers"))
            rc = dlx_err_setf(err, DLX_EINVAL, n->loc, "%s: missing required key 'layers'", n->path);
    }
    if (!rc) rc = read_data(root, c, err);
    if (!rc) rc = dlx_train_cfg_read(root, &(dlx_train_defaults){.batch = 256, .composes = true}, k_losses, &c->tc,
                                     &m->plan, err);
    if (rc)
        return rc;
    if (m->plan.n_updates < 2) {
        dlx_spec_node *train = dlx_spec_get(root, "train");
        return dlx_err_setf(err, DLX_EINVAL, train->loc,
                            "train: a gan trains d_loss and g_loss: give train.optimizers (e.g. d over disc, g "
                            "over gen) and train.updates with an update of each");
    }
    c->shard_batch = c->tc.batch / c->tc.shards;
    return 0;
}

static dlx_spec_node *network_layers(const dlx_model *m, const char *name)
{
    dlx_spec_node *model = dlx_spec_get(dlx_spec_root(m->spec), "model");
    return dlx_spec_get(dlx_spec_get(dlx_spec_get(model, "networks"), name), "layers");
}

/* G on z: its parameters in group "gen" (declared on first use). */
static int build_gen(dlx_model *m, dlx_graph *g, dlx_node *z, dlx_layers_out *lo, dlx_err *err)
{
    int rc = m->params.final ? 0 : dlx_params_begin_group(&m->params, "gen", err);
    if (!rc) rc = dlx_layers_build(g, &m->params, network_layers(m, "gen"), "gen.", z, lo, err);
    if (!rc && lo->output->out.numel != z->out.shape.d[0] * 2) {
        dlx_spec_node *layers = network_layers(m, "gen");
        rc = dlx_err_setf(err, DLX_EINVAL, layers->items[layers->n - 1]->loc,
                          "model.networks.gen: the last layer gives %lld outputs per sample; a point of the plane "
                          "has 2", (long long)(lo->output->out.numel / z->out.shape.d[0]));
    }
    return rc;
}

/* D on x: one logit per sample. */
static int build_disc(dlx_model *m, dlx_graph *g, dlx_node *x, dlx_layers_out *lo, dlx_err *err)
{
    int rc = m->params.final ? 0 : dlx_params_begin_group(&m->params, "disc", err);
    if (!rc) rc = dlx_layers_build(g, &m->params, network_layers(m, "disc"), "disc.", x, lo, err);
    if (!rc && lo->output->out.numel != x->out.shape.d[0]) {
        dlx_spec_node *layers = network_layers(m, "disc");
        rc = dlx_err_setf(err, DLX_EINVAL, layers->items[layers->n - 1]->loc,
                          "model.networks.disc: the last layer gives %lld outputs per sample; the discriminator "
                          "gives one logit", (long long)(lo->output->out.numel / x->out.shape.d[0]));
    }
    return rc;
}

static dlx_node *bce(dlx_graph *g, const char *name, dlx_node *logits, float target, dlx_err *err)
{
    dlx_bce_attr a = {.target = target};
    return dlx_graph_op(g, &dlx_op_bce_logits, name, &logits, 1, &a, DLX_NOLOC, err);
}

/* One replica's graph: G(z), D(x), D(G(z)), the two losses. */
static int build_graph(dlx_model *m, int64_t batch, dlx_graph **out, gan_replica *r, dlx_layers_out *gi,
                       dlx_layers_out *di, dlx_err *err)
{
    gan *c = m->impl;
    dlx_graph *g = dlx_graph_create(&m->params);
    if (!g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_layers_out fake_info = {0};
    int rc = DLX_ENOMEM;
    r->z = dlx_graph_input(g, "z", dlx_shape_2d(batch, c->nz), false, err);
    r->x = dlx_graph_input(g, "x", dlx_shape_2d(batch, 2), false, err);
    if (!r->z || !r->x)
        goto out;
    if ((rc = build_gen(m, g, r->z, gi, err)) || (rc = build_disc(m, g, r->x, di, err)) ||
        (rc = build_disc(m, g, gi->output, &fake_info, err)))
        goto out;
    dlx_node *d_real = bce(g, "d_real", di->output, 1.0f, err);
    dlx_node *d_fake = d_real ? bce(g, "d_fake", fake_info.output, 0.0f, err) : NULL;
    dlx_node *sum[2] = {d_real, d_fake};
    r->loss[LOSS_D] = d_fake ? dlx_graph_op(g, &dlx_op_add, "d_loss", sum, 2, NULL, DLX_NOLOC, err) : NULL;
    r->loss[LOSS_G] = r->loss[LOSS_D] ? bce(g, "g_loss", fake_info.output, 1.0f, err) : NULL;
    r->loss[LOSS_D_REAL] = d_real;
    r->loss[LOSS_D_FAKE] = d_fake;
    rc = r->loss[LOSS_G] ? dlx_plan_compose(&m->plan, g, r->loss, r->loss + N_LOSSES, err) : err->code;
out:
    free(fake_info.info);
    if (rc)
        dlx_graph_destroy(g);
    else
        *out = g;
    return rc;
}

static int build_replica(void *user, int k, dlx_graph **g, dlx_err *err)
{
    dlx_model *m = user;
    gan *c = m->impl;
    dlx_layers_out gi = {0}, di = {0};
    int rc = build_graph(m, c->shard_batch, g, &c->rep[k], k == 0 ? &c->gen_info : &gi, k == 0 ? &c->disc_info : &di,
                         err);
    free(gi.info);
    free(di.info);
    return rc;
}

static int build_eval(dlx_model *m, gan *c, dlx_err *err)
{
    c->eval_g = dlx_graph_create(&m->params);
    if (!c->eval_g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    c->eval_g->inference = true;
    dlx_layers_out lo = {0};
    c->eval_z = dlx_graph_input(c->eval_g, "z", dlx_shape_2d(c->test_samples, c->nz), false, err);
    int rc = c->eval_z ? build_gen(m, c->eval_g, c->eval_z, &lo, err) : err->code;
    free(lo.info);
    if (!rc) {
        c->eval_out = lo.output;
        rc = dlx_graph_compile(c->eval_g, 0, err);
    }
    return rc;
}

static void report_layers(const dlx_model *m, const gan *c)
{
    char s[64];
    const dlx_layers_out *nets[2] = {&c->gen_info, &c->disc_info};
    const char *names[2] = {"gen", "disc"};
    for (int n = 0; n < 2; n++) {
        int64_t total = 0;
        dlx_run_info(m, "network %s:", names[n]);
        for (int i = 0; i < nets[n]->n; i++) {
            const dlx_layer_info *l = &nets[n]->info[i];
            dlx_run_info(m, "  %-12s %-10s %-18s %10lld", l->name, l->type, dlx_shape_str(&l->out, s, sizeof s),
                         (long long)l->n_params);
            total += l->n_params;
        }
        dlx_run_info(m, "  %lld parameters", (long long)total);
    }
}

static void gan_destroy(dlx_model *m)
{
    gan *c = m->impl;
    if (!c)
        return;
    dlx_replicas_free(&c->reps);
    dlx_graph_destroy(c->eval_g);
    free(c->gen_info.info);
    free(c->disc_info.info);
    free(c);
    m->impl = NULL;
}

static int gan_create(dlx_model *m, dlx_err *err)
{
    gan *c = calloc(1, sizeof *c);
    if (!c)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = c;
    int rc = read_spec(m, c, err);
    if (rc)
        return rc;
    int threads = dlx_replicas_threads(m->threads);
    dlx_replicas_init(&c->reps, &m->params, c->tc.shards, threads);
    rc = dlx_replicas_build(&c->reps, m, 0.0, build_replica, m, err);
    if (!rc) rc = build_eval(m, c, err);
    if (rc)
        return rc;
    rc = dlx_params_init_values(&m->params, m->seed, err);
    if (!rc) rc = dlx_plan_create(&m->plan, &m->params, threads, err);
    if (!rc)
        report_layers(m, c);
    return rc;
}

/* ---- data ------------------------------------------------------------------ */

/* The draw (step, update, repeat, replica) as a stream index above the purpose byte. */
static uint64_t draw_stream(int purpose, int64_t step, int u, int rep, int k)
{
    uint64_t d = (((uint64_t)step * DLX_UPDATES_MAX + (uint64_t)u) * DLX_REPEAT_MAX + (uint64_t)rep) * DLX_REPLICAS_MAX +
                 (uint64_t)k;
    return (uint64_t)purpose + (d << 8);
}

static void fill_normal(float *z, int64_t n, uint64_t seed, uint64_t stream)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, stream);
    for (int64_t i = 0; i < n; i++)
        z[i] = dlx_rng_normal(&r);
}

static void mode_center(const gan *c, int64_t j, double *cx, double *cy)
{
    double a = 2.0 * M_PI * (double)j / (double)c->modes;
    *cx = c->radius * cos(a);
    *cy = c->radius * sin(a);
}

/* n points of the ring mixture. */
static void fill_real(const gan *c, float *x, int64_t n, uint64_t seed, uint64_t stream)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, stream);
    for (int64_t i = 0; i < n; i++) {
        double cx, cy;
        mode_center(c, dlx_rng_below(&r, (uint32_t)c->modes), &cx, &cy);
        x[2 * i] = (float)(cx + c->std * dlx_rng_normal(&r));
        x[2 * i + 1] = (float)(cy + c->std * dlx_rng_normal(&r));
    }
}

static void gan_feed(void *user, int u, int rep, int k, int64_t pos)
{
    (void)pos; /* the data are drawn, not read: the global step picks them */
    const dlx_model *m = user;
    const gan *c = m->impl;
    const gan_replica *r = &c->rep[k];
    fill_normal(r->z->out.data, r->z->out.numel, m->seed, draw_stream(STREAM_NOISE, m->step, u, rep, k));
    fill_real(c, r->x->out.data, c->shard_batch, m->seed, draw_stream(STREAM_REAL, m->step, u, rep, k));
}

/* ---- evaluation -------------------------------------------------------------- */

/* G's test points under the fixed test noise, into c->eval_out. */
static void generate_test(const dlx_model *m, gan *c)
{
    fill_normal(c->eval_z->out.data, c->eval_z->out.numel, m->seed, STREAM_TEST);
    const dlx_ctx ctx = {.training = false, .seed = m->seed, .threads = dlx_replicas_threads(m->threads)};
    dlx_graph_forward(c->eval_g, &ctx);
}

static void score(const gan *c, const float *pts, int64_t n, dlx_results *res)
{
    int64_t *per_mode = calloc((size_t)c->modes, sizeof *per_mode), good = 0;
    if (!per_mode)
        return;
    for (int64_t i = 0; i < n; i++) {
        double best = INFINITY;
        int64_t at = 0;
        for (int64_t j = 0; j < c->modes; j++) {
            double cx, cy;
            mode_center(c, j, &cx, &cy);
            double d = hypot(pts[2 * i] - cx, pts[2 * i + 1] - cy);
            if (d < best)
                best = d, at = j;
        }
        if (best <= 3.0 * c->std) {
            good++;
            per_mode[at]++;
        }
    }
    int64_t covered = 0;
    for (int64_t j = 0; j < c->modes; j++)
        covered += 4 * per_mode[j] * c->modes >= n; /* a quarter of a fair share */
    dlx_results_set(res, "modes", (double)covered);
    dlx_results_set(res, "high_quality", (double)good / (double)n);
    free(per_mode);
}

static int gan_eval_test(void *user, dlx_results *res, dlx_err *err)
{
    (void)err;
    dlx_model *m = user;
    gan *c = m->impl;
    generate_test(m, c);
    score(c, c->eval_out->out.data, c->test_samples, res);
    return 0;
}

static int gan_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    if (data)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "a gan draws its test data from the spec's ring: --data does not apply");
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "step", (double)m->step);
    return gan_eval_test(m, res, err);
}

/* samples.png: the test points (dark) over the modes' 3-std discs (red). */
static int write_samples(dlx_model *m, gan *c, dlx_err *err)
{
    enum { W = 480 };
    uint8_t *px = malloc((size_t)W * W * 3);
    if (!px)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    memset(px, 255, (size_t)W * W * 3);
    const double half = 1.5 * c->radius + 4.0 * c->std, scale = (W - 1) / (2.0 * half);
    for (int64_t j = 0; j < c->modes; j++) {
        double cx, cy, rr = fmax(3.0 * c->std * scale, 3.0);
        mode_center(c, j, &cx, &cy);
        double px0 = (cx + half) * scale, py0 = (half - cy) * scale;
        for (int y = (int)(py0 - rr); y <= (int)(py0 + rr); y++)
            for (int x = (int)(px0 - rr); x <= (int)(px0 + rr); x++)
                if (x >= 0 && x < W && y >= 0 && y < W && hypot(x - px0, y - py0) <= rr) {
                    uint8_t *p = px + 3 * ((size_t)y * W + x);
                    p[0] = 255, p[1] = 190, p[2] = 190;
                }
    }
    /* (the points of the evaluation after the last step: it always runs) */
    const float *pts = c->eval_out->out.data;
    for (int64_t i = 0; i < c->test_samples; i++) {
        int x = (int)lround((pts[2 * i] + half) * scale), y = (int)lround((half - pts[2 * i + 1]) * scale);
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++)
                if (x + dx >= 0 && x + dx < W && y + dy >= 0 && y + dy < W)
                    memset(px + 3 * ((size_t)(y + dy) * W + x + dx), 30, 3);
    }
    char path[DLX_RUNDIR_MAX + 32];
    int rc = dlx_path_join(path, sizeof path, m->run_dir, "samples.png", err);
    if (!rc) rc = dlx_png_write(path, px, W, W, 3, err);
    free(px);
    if (!rc)
        dlx_run_info(m, "wrote %s (%lld generated points over the %lld modes)", path, (long long)c->test_samples,
                     (long long)c->modes);
    return rc;
}

/* samples.dat, modes.dat and samples.gp: the same picture with labelled
 * axes and a legend, which the CLI renders over samples.png when gnuplot
 * is installed. */
static int write_samples_plot(dlx_model *m, gan *c, dlx_err *err)
{
    char dat[DLX_RUNDIR_MAX + 32], modes[DLX_RUNDIR_MAX + 32];
    int rc = dlx_path_join(dat, sizeof dat, m->run_dir, "samples.dat", err);
    if (!rc) rc = dlx_path_join(modes, sizeof modes, m->run_dir, "modes.dat", err);
    if (!rc) rc = dlx_path_join(m->figure_script, sizeof m->figure_script, m->run_dir, "samples.gp", err);
    if (!rc) rc = dlx_path_join(m->figure_png, sizeof m->figure_png, m->run_dir, "samples.png", err);
    if (rc)
        return rc;
    if (strchr(m->run_dir, '\'') || strchr(m->run_dir, '\n')) { /* it goes between quotes in the script */
        m->figure_script[0] = '\0';
        return 0;
    }
    FILE *fd = fopen(dat, "w"), *fm = fopen(modes, "w"), *fs = fopen(m->figure_script, "w");
    if (fd)
        for (int64_t i = 0; i < c->test_samples; i++)
            fprintf(fd, "%.6g %.6g\n", c->eval_out->out.data[2 * i], c->eval_out->out.data[2 * i + 1]);
    if (fm)
        for (int64_t j = 0; j < c->modes; j++) {
            double cx, cy;
            mode_center(c, j, &cx, &cy);
            fprintf(fm, "%.6g %.6g %.6g\n", cx, cy, 3.0 * c->std);
        }
    double mo = 0, hq = 0, half = 1.5 * c->radius + 4.0 * c->std;
    dlx_results_get(&m->results, "modes", &mo);
    dlx_results_get(&m->results, "high_quality", &hq);
    if (fs)
        fprintf(fs,
                "set terminal pngcairo size 640,640 noenhanced font 'sans,10'\nset output '%s'\n"
                "set title 'GAN samples at step %lld: %g of %lld modes covered, %.1f %% within 3 std of a mode'\n"
                "set xlabel 'x1'\nset ylabel 'x2'\nset size square\nset key top right opaque\nset grid\n"
                "set xrange [%g:%g]\nset yrange [%g:%g]\n"
                "plot '%s' using 1:2:3 with circles lc rgb '#d03030' fill solid 0.5 noborder "
                "title 'modes (discs of 3 std)', '%s' using 1:2 with points pt 7 ps 0.25 lc rgb '#202020' "
                "title 'generated (%lld points)'\n",
                m->figure_png, (long long)m->step, mo, (long long)c->modes, 100.0 * hq, -half, half, -half, half, modes,
                dat, (long long)c->test_samples);
    bool ok = fd && fm && fs;
    if (fd && fclose(fd) != 0) ok = false;
    if (fm && fclose(fm) != 0) ok = false;
    if (fs && fclose(fs) != 0) ok = false;
    if (!ok) {
        m->figure_script[0] = '\0';
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(m->figure_script), "cannot write the samples plot's files");
    }
    return 0;
}

static int gan_finish(void *user, dlx_err *err)
{
    dlx_model *m = user;
    int rc = write_samples(m, m->impl, err);
    if (!rc) rc = write_samples_plot(m, m->impl, err);
    return rc;
}

/* Loss l of replica k: a term, or a loss of train.losses after them. */
static dlx_node *gan_loss(void *user, int l, int k)
{
    const dlx_model *m = user;
    return ((const gan *)m->impl)->rep[k].loss[l];
}

static int gan_train(dlx_model *m, dlx_err *err)
{
    gan *c = m->impl;
    dlx_trainer t = {
        .cfg = c->tc,
        .replicas = &c->reps,
        .plan = &m->plan,
        .fam = {.user = m, .loss = gan_loss, .samples = c->samples, .feed = gan_feed, .evaluate = gan_eval_test,
                .finish = gan_finish},
    };
    return dlx_trainer_run(m, &t, err);
}

/* Both losses (or the one named by o->loss) on a graph of 4 samples. */
static int gan_gradcheck(dlx_model *m, const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err)
{
    gan *c = m->impl;
    const int n_losses = N_LOSSES + m->plan.n_composites;
    int which = -1;
    for (int l = 0; o->loss && l < n_losses; l++)
        if (!strcmp(o->loss, m->plan.loss_names[l]))
            which = l;
    if (o->loss && which < 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--loss: a gan has the losses d_loss, g_loss, d_real, d_fake (and train.losses), not '%s'",
                            o->loss);
    dlx_graph *g;
    gan_replica r;
    dlx_layers_out gi = {0}, di = {0};
    int rc = build_graph(m, 4, &g, &r, &gi, &di, err);
    free(gi.info);
    free(di.info);
    if (!rc) rc = dlx_graph_compile(g, m->max_memory, err);
    memset(rep, 0, sizeof *rep);
    for (int l = 0; l < n_losses && !rc; l++) {
        if ((which >= 0 && l != which) || (which < 0 && (l == LOSS_D_REAL || l == LOSS_D_FAKE)))
            continue; /* the terms of d_loss are checked through it */
        fill_normal(r.z->out.data, r.z->out.numel, m->seed, STREAM_TEST);
        fill_real(c, r.x->out.data, 4, m->seed, STREAM_TEST);
        dlx_gradcheck_report one;
        const dlx_ctx ctx = {.training = true, .seed = m->seed, .threads = 1};
        rc = dlx_gradcheck_graph(g, r.loss[l], &ctx, o, &one, err);
        rep->checked += one.checked;
        rep->failed += one.failed;
        rep->skipped += one.skipped;
        if (one.max_rel_err >= rep->max_rel_err) {
            rep->max_rel_err = one.max_rel_err;
            snprintf(rep->worst, sizeof rep->worst, "%s: %.140s", m->plan.loss_names[l], one.worst);
        }
    }
    dlx_graph_destroy(g);
    return rc;
}

const dlx_family dlx_family_gan = {
    .name = "gan",
    .help = "generative adversarial nets: a generator and a discriminator trained by alternating updates",
    .create = gan_create,
    .destroy = gan_destroy,
    .train = gan_train,
    .evaluate = gan_evaluate,
    .gradcheck = gan_gradcheck,
};
