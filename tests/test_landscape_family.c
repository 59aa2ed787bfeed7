/* The families dlx landscape trains (models/landscape.h,
 * experiments/sweep_model.c): the toy landscape problems (linear111's valley
 * and saddle, spin3's energy), the sweep family over a whole sweep (group
 * statistics, text axes stored as indices with their labels, the
 * distribution over a finished table, a family's own measures and its
 * diverged runs), and the Hessian taken on the training split as training
 * holds it. The sweep table, shards, sweep specs, summaries, the eigensolver
 * and the ETA are tested in test_landscape.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/data.h"
#include "../core/h5io.h"
#include "../core/rng.h"
#include "../models/family.h"
#include "../models/landscape.h"
#include "../experiments/model.h"
#include "../experiments/sweep.h"
#include "../experiments/sweep_eta.h"

static dlx_model *model_from_text(const char *text)
{
    dlx_spec *spec;
    dlx_err err;
    ck_assert_int_eq(dlx_spec_load_string(text, "toy.yaml", &spec, &err), 0);
    dlx_model *m;
    int rc = dlx_model_create(spec, "", NULL, &m, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    return m;
}

START_TEST(test_linear111)
{
    dlx_model *m = model_from_text("version: 1\nseed: 3\nmodel: {kind: landscape, problem: linear111, target: 2.0}\n"
                       "train: {lr: 0.05, steps: 20000, tol: 1.0e-9}\n");
    dlx_err err;
    double l0;
    ck_assert_int_eq(dlx_landscape_linear111_loss(m, 0, 0, &l0, &err), 0);
    ck_assert_int_eq(m->family->train(m, &err), 0);
    double w1, w2, loss;
    ck_assert(dlx_results_get(&m->results, "w1", &w1));
    ck_assert(dlx_results_get(&m->results, "w2", &w2));
    ck_assert(dlx_results_get(&m->results, "loss", &loss));
    ck_assert(fabs(w1 * w2 - 2.0) < 1e-6); /* in a valley */
    ck_assert(loss < 1e-10);
    /* the origin is a saddle: loss there is Syy/2 = 4 * Sxx/2 > 0, and higher than in a valley */
    ck_assert(l0 > 1.0);
    dlx_model_destroy(m);
}
END_TEST

START_TEST(test_spin3)
{
    dlx_model *m = model_from_text("version: 1\nseed: 2\nmodel: {kind: landscape, problem: spin3, lambda: 20}\ntrain: {}\n");
    dlx_err err;
    ck_assert_int_eq(m->family->train(m, &err), 0);
    double e, en, g;
    ck_assert(dlx_results_get(&m->results, "energy", &e));
    ck_assert(dlx_results_get(&m->results, "energy_per_n", &en));
    ck_assert(dlx_results_get(&m->results, "grad_norm", &g));
    ck_assert(fabs(e / 20.0 - en) < 1e-12);
    ck_assert_msg(en < -1.2 && en > -2.0, "energy per n %g", en);
    ck_assert(g < 0.01);
    double l;
    ck_assert_int_eq(dlx_landscape_linear111_loss(m, 0, 0, &l, &err), DLX_EINVAL);
    dlx_model_destroy(m);
    /* bad spec: lambda missing */
    dlx_spec *spec;
    ck_assert_int_eq(dlx_spec_load_string("version: 1\nmodel: {kind: landscape, problem: spin3}\ntrain: {}\n",
                                          "t.yaml", &spec, &err), 0);
    ck_assert_int_eq(dlx_model_create(spec, "", NULL, &m, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "model: missing required key 'lambda'");
}
END_TEST

/* Family sweep (experiments/sweep_model.c): a whole sweep of a linear111
 * base run as one model gives the group statistics of a column; the old
 * spelling `kind: landscape, problem: sweep` is refused with the new one. */
START_TEST(test_sweep_family)
{
    char dir[] = "/tmp/dlx_test_sweepfam.XXXXXX", path[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nmodel: {kind: landscape, problem: linear111, target: 2.0}\n"
          "train: {lr: 0.05, steps: 20000, tol: 1.0e-9}\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sweep.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n  axes: [{name: seed, key: seed, range: [1, 3]}]\n"
          "  measures: [loss, w1, w2]\n", f);
    fclose(f);
    snprintf(text, sizeof text, "version: 1\nmodel: {kind: sweep, sweep: %s, out: %s/t.h5, x: w1, y: w2}\n", path,
             dir);
    dlx_model *m = model_from_text(text);
    dlx_err err;
    ck_assert_msg(m->family->train(m, &err) == 0, "%s", err.msg);
    double runs, mean, sd, r;
    ck_assert(dlx_results_get(&m->results, "runs", &runs));
    ck_assert(dlx_results_get(&m->results, "w1_mean", &mean));
    ck_assert(dlx_results_get(&m->results, "w1_std", &sd));
    ck_assert(dlx_results_get(&m->results, "pearson", &r));
    ck_assert(runs == 3.0);
    ck_assert(isfinite(mean) && sd >= 0.0 && fabs(r) <= 1.0 + 1e-12);
    dlx_model_destroy(m);
    dlx_sweep_table t;
    snprintf(path, sizeof path, "%s/t.h5", dir);
    ck_assert_int_eq(dlx_sweep_table_read(path, &t, &err), 0);
    ck_assert_int_eq(t.n, 3);
    dlx_sweep_table_free(&t);
    /* the old spelling, and a landscape key in the new family */
    dlx_spec *spec;
    ck_assert_int_eq(dlx_spec_load_string("version: 1\nmodel: {kind: landscape, problem: sweep, sweep: s.yaml}\n",
                                          "t.yaml", &spec, &err), 0);
    ck_assert_int_eq(dlx_model_create(spec, "", NULL, &m, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "model kind 'sweep'"), "%s", err.msg);
    snprintf(text, sizeof text, "version: 1\nmodel: {kind: sweep, problem: sweep, sweep: %s/sweep.yaml, x: w1}\n", dir);
    ck_assert_int_eq(dlx_spec_load_string(text, "t.yaml", &spec, &err), 0);
    ck_assert_int_eq(dlx_model_create(spec, "", NULL, &m, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "'problem' is not a key of model"), "%s", err.msg);
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(text), 0);
}
END_TEST

/* A text axis (values that are not numbers) stores each value's index, with
 * the labels and the axis mark as attributes that a read brings back, and
 * the sweep family names its groups by label. */
START_TEST(test_text_axis)
{
    char dir[] = "/tmp/dlx_test_textaxis.XXXXXX", path[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nname: base\nmodel: {kind: landscape, problem: linear111, target: 2.0}\n"
          "train: {lr: 0.05, steps: 200, tol: 1.0e-9}\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sweep.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n"
          "  axes: [{name: tag, key: name, values: [alpha, beta]}, {name: seed, key: seed, range: [1, 2]}]\n"
          "  measures: [loss, w1]\n", f);
    fclose(f);
    snprintf(text, sizeof text, "version: 1\nmodel: {kind: sweep, sweep: %s, out: %s/t.h5, by: tag, x: w1}\n", path,
             dir);
    dlx_model *m = model_from_text(text);
    dlx_err err;
    ck_assert_msg(m->family->train(m, &err) == 0, "%s", err.msg);
    double mean;
    ck_assert(dlx_results_get(&m->results, "w1_mean_tagalpha", &mean) && isfinite(mean));
    ck_assert(dlx_results_get(&m->results, "w1_mean_tagbeta", &mean) && isfinite(mean));
    dlx_model_destroy(m);
    dlx_sweep_table t;
    snprintf(path, sizeof path, "%s/t.h5", dir);
    ck_assert_int_eq(dlx_sweep_table_read(path, &t, &err), 0);
    ck_assert_int_eq(t.n, 4);
    ck_assert(t.axis[0] && t.axis[1] && !t.axis[2] && !t.axis[3]);
    ck_assert_ptr_nonnull(t.labels[0]);
    ck_assert_str_eq(t.labels[0], "alpha\nbeta");
    ck_assert_ptr_null(t.labels[1]); /* seeds are numbers */
    const double want[4] = {0, 0, 1, 1}, seeds[4] = {1, 2, 1, 2};
    for (int i = 0; i < 4; i++) {
        ck_assert(t.val[i * t.n_cols] == want[i]);
        ck_assert(t.val[i * t.n_cols + 1] == seeds[i]);
        ck_assert(isfinite(t.val[i * t.n_cols + 2]));
    }
    char key[48];
    dlx_sweep_table_value_text(&t, 0, 1.0, key, sizeof key);
    ck_assert_str_eq(key, "beta");
    dlx_sweep_table_value_text(&t, 0, 2.0, key, sizeof key); /* no such label: the number */
    ck_assert_str_eq(key, "2");
    dlx_sweep_table_value_text(&t, 1, 2.0, key, sizeof key);
    ck_assert_str_eq(key, "2");
    /* a crafted label cannot break out of a gnuplot string */
    free(t.labels[0]);
    t.labels[0] = strdup("a\nb'\"`x\\y\tz");
    dlx_sweep_table_value_text(&t, 0, 1.0, key, sizeof key);
    ck_assert_str_eq(key, "b___x_y_z");
    dlx_sweep_table_free(&t);
    /* key: [a, b] sets one value into both keys; each must be in the base */
    snprintf(path, sizeof path, "%s/sweep2.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n"
          "  axes: [{name: both, key: [model.target, train.lr], values: [0.25, 0.5]}]\n  measures: [loss]\n", f);
    fclose(f);
    dlx_sweep *s;
    ck_assert_msg(dlx_sweep_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    dlx_spec *rs;
    ck_assert_int_eq(dlx_sweep_run_spec(s, 1, &rs, &err), 0);
    ck_assert_str_eq(dlx_spec_path(rs, "model.target")->scalar, "0.5");
    ck_assert_str_eq(dlx_spec_path(rs, "train.lr")->scalar, "0.5");
    dlx_spec_destroy(rs);
    dlx_sweep_destroy(s);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n"
          "  axes: [{name: both, key: [model.target, train.lrr], values: [0.25]}]\n  measures: [loss]\n", f);
    fclose(f);
    ck_assert_int_eq(dlx_sweep_load(path, NULL, &s, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "'train.lrr' is not a key of the base spec"), "%s", err.msg);
    ck_assert_int_eq(err.line, 4);
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(text), 0);
}
END_TEST

/* The sweep family's distribution over a finished table: quantiles over the
 * finite values, % of all runs above thresholds, collapsed runs (diverged or
 * under the bound or NaN); model.set reaches the base of every run. */
START_TEST(test_sweep_distribution)
{
    char dir[] = "/tmp/dlx_test_sweepdist.XXXXXX", path[256], table[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nmodel: {kind: landscape, problem: linear111, target: 2.0}\n"
          "train: {lr: 0.05, steps: 20, tol: 1.0e-9}\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sweep.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n  axes: [{name: seed, key: seed, range: [1, 5]}]\n"
          "  measures: [loss, diverged]\n", f);
    fclose(f);
    /* the finished table, written beforehand: the family only reads it */
    const char *sets[] = {"model.target=3.0"};
    dlx_sweep *s;
    dlx_err err;
    ck_assert_msg(dlx_sweep_load_with(path, NULL, sets, 1, &s, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(s->base_text, "target: 3.0") != NULL, "%s", s->base_text);
    dlx_sweep_table t;
    ck_assert_int_eq(dlx_sweep_table_init(&t, s, &err), 0);
    const double loss[5] = {4, 1, NAN, 3, 2}, div[5] = {0, 0, 1, 0, 0};
    for (int i = 0; i < 5; i++) {
        double row[3] = {i + 1, loss[i], div[i]};
        ck_assert_int_eq(dlx_sweep_table_add(&t, i, row, &err), 0);
    }
    snprintf(table, sizeof table, "%s/t.h5", dir);
    ck_assert_int_eq(dlx_sweep_table_write(table, &t, &err), 0);
    dlx_sweep_table_free(&t);
    dlx_sweep_destroy(s);
    snprintf(text, sizeof text,
             "version: 1\nmodel: {kind: sweep, sweep: %s, out: %s, x: loss, set: [model.target=3.0],\n"
             "  stats: [loss], above: {loss: [2, 3.5]}, collapsed: {column: loss, below: 1.5}}\n", path, table);
    dlx_model *m = model_from_text(text);
    ck_assert_msg(m->family->train(m, &err) == 0, "%s", err.msg);
    static const struct {
        const char *name;
        double v;
    } want[] = {{"loss_min", 1},       {"loss_q25", 1.75},          {"loss_median", 2.5},       {"loss_q75", 3.25},
                {"loss_max", 4},       {"loss_mean", 2.5},          {"loss_scored", 4},         {"loss_pct_above2", 40},
                {"loss_pct_above3.5", 20}, {"collapsed_runs", 2},   {"collapsed_pct", 40},      {"runs", 5}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double v = NAN;
        ck_assert_msg(dlx_results_get(&m->results, want[i].name, &v), "no %s", want[i].name);
        ck_assert_msg(fabs(v - want[i].v) < 1e-12, "%s = %g, want %g", want[i].name, v, want[i].v);
    }
    dlx_model_destroy(m);
    /* without the setting the base differs from the table's: refused */
    snprintf(text, sizeof text, "version: 1\nmodel: {kind: sweep, sweep: %s, out: %s, x: loss}\n", path, table);
    m = model_from_text(text);
    ck_assert_int_eq(m->family->train(m, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "holds results of a different sweep"), "%s", err.msg);
    dlx_model_destroy(m);
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(text), 0);
}
END_TEST

/* A family declares its sweep measures (the gan's scores and losses); with
 * the diverged measure a run stopped by the family's divergence test is
 * kept (diverged = 1, its model evaluated as it stands), without it the
 * sweep fails on that run. */
START_TEST(test_gan_measures_and_diverged)
{
    char dir[] = "/tmp/dlx_test_gansweep.XXXXXX", path[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nseed: 1\nmodel:\n  kind: gan\n  collapse_std: 0\n  noise: {dim: 2}\n  networks:\n"
          "    gen: {layers: [{type: linear, units: 16, activation: relu}, {type: linear, units: 2}]}\n"
          "    disc: {layers: [{type: linear, units: 16, activation: relu}, {type: linear, units: 1}]}\n"
          "data: {dataset: ring, modes: 8, radius: 2.0, std: 0.05, samples: 640, test_samples: 200}\n"
          "train:\n  epochs: 1\n  batch: 64\n  optimizers:\n"
          "    d: {params: disc, type: adam, lr: 3.0e-4}\n    g: {params: gen, type: adam, lr: 3.0e-4}\n"
          "  updates: [{loss: d_loss, optimizer: d}, {loss: g_loss, optimizer: g}]\n", f);
    fclose(f);
    for (int with = 0; with < 2; with++) {
        snprintf(path, sizeof path, "%s/sweep%d.yaml", dir, with);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "version: 1\nsweep:\n  base: base.yaml\n"
                   "  axes: [{name: collapse, key: model.collapse_std, values: [0, 1000]}]\n"
                   "  measures: [modes, train_d_loss, final_iprime, steps%s]\n", with ? ", diverged" : "");
        fclose(f);
        dlx_sweep *s;
        dlx_err err;
        ck_assert_msg(dlx_sweep_load(path, NULL, &s, &err) == 0, "%s", err.msg);
        double row[DLX_SWEEP_MAX_COLS];
        char rd[300];
        snprintf(rd, sizeof rd, "%s/run", dir);
        ck_assert_msg(dlx_sweep_run_one(s, 0, rd, row, &err) == 0, "%s", err.msg);
        ck_assert(row[0] == 0.0 && isfinite(row[1]) && isfinite(row[2]));
        ck_assert(isnan(row[3])); /* a ring has no model.score */
        ck_assert(row[4] == 10.0);
        if (with)
            ck_assert(row[5] == 0.0);
        int rc = dlx_sweep_run_one(s, 1, rd, row, &err);
        if (!with) {
            ck_assert_int_eq(rc, DLX_ENUM);
            ck_assert_msg(strstr(err.msg, "the generator collapsed"), "%s", err.msg);
        } else {
            ck_assert_msg(rc == 0, "%s", err.msg);
            ck_assert(row[5] == 1.0);
            ck_assert(row[4] < 10.0);
            ck_assert(isfinite(row[1])); /* the stopped generator, evaluated */
            ck_assert(isnan(row[2]));    /* no epoch finished */
        }
        dlx_sweep_destroy(s);
    }
    /* an unknown measure lists the gan's */
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n  axes: [{name: seed, key: seed, values: [1]}]\n"
          "  measures: [final_iprim]\n", f);
    fclose(f);
    dlx_sweep *s;
    dlx_err err;
    ck_assert_int_eq(dlx_sweep_load(path, NULL, &s, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "unknown measure 'final_iprim' for model kind gan; did you mean 'final_iprime'?"),
                  "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "final_inception_score") && strstr(err.msg, "diverged"), "%s", err.msg);
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(text), 0);
}
END_TEST

/* One split of a dataset named mnist, as IDX files in dir. */
static void write_split(const char *dir, bool train, const dlx_dataset *d)
{
    const dlx_dataset_info *inf = dlx_dataset_find("mnist");
    uint32_t dims[3] = {(uint32_t)d->n, (uint32_t)d->h, (uint32_t)d->w};
    const char *names[2] = {train ? inf->train_images : inf->test_images, train ? inf->train_labels : inf->test_labels};
    for (int f = 0; f < 2; f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        FILE *out = fopen(path, "wb");
        ck_assert_ptr_nonnull(out);
        int ndim = f ? 1 : 3;
        uint32_t magic = f ? 0x801 : 0x803;
        for (int i = -1; i < ndim; i++) { /* big-endian magic, then the dims */
            uint32_t v = i < 0 ? magic : dims[i];
            uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
            ck_assert_uint_eq(fwrite(be, 1, 4, out), 4);
        }
        size_t n = f ? (size_t)d->n : (size_t)d->n * (size_t)d->h * (size_t)d->w;
        ck_assert_uint_eq(fwrite(f ? d->labels : d->images, 1, n, out), n);
        ck_assert_int_eq(fclose(out), 0);
    }
}

static void remove_splits(const char *dir)
{
    const dlx_dataset_info *inf = dlx_dataset_find("mnist");
    const char *names[4] = {inf->train_images, inf->train_labels, inf->test_images, inf->test_labels};
    for (int f = 0; f < 4; f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        unlink(path);
    }
    rmdir(dir);
}

/* The Hessian is taken on the training split as training holds it: a spec
 * that keeps 20 of 30 8x8 images and resizes them to 5x5 at load gives the
 * bits of one whose files hold those 20 resized images. A resize per batch
 * (no rounding to uint8) or samples past the limit would not. */
START_TEST(test_hessian_training_inputs)
{
    char dir[2][64] = {"/tmp/dlx_test_hess_a.XXXXXX", "/tmp/dlx_test_hess_b.XXXXXX"};
    for (int k = 0; k < 2; k++)
        ck_assert_ptr_nonnull(mkdtemp(dir[k]));
    uint8_t px[30 * 64], lab[30];
    dlx_rng r;
    dlx_rng_init(&r, 5, 1);
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(255.0f * dlx_rng_uniform(&r));
    for (int i = 0; i < 30; i++)
        lab[i] = (uint8_t)(i % 10);
    dlx_dataset raw = {.n = 30, .c = 1, .h = 8, .w = 8, .num_classes = 10, .images = px, .labels = lab};
    write_split(dir[0], true, &raw);
    raw.n = 10;
    write_split(dir[0], false, &raw);
    dlx_dataset tr, te;
    dlx_err err;
    ck_assert_int_eq(dlx_dataset_load_cached("mnist", "train", dir[0], 20, 5, 5, &tr, &err), 0);
    ck_assert_int_eq(dlx_dataset_load_cached("mnist", "test", dir[0], 0, 5, 5, &te, &err), 0);
    write_split(dir[1], true, &tr);
    write_split(dir[1], false, &te);
    dlx_dataset_free(&tr);
    dlx_dataset_free(&te);
    dlx_hessian_info h[2];
    for (int k = 0; k < 2; k++) {
        char text[512];
        snprintf(text, sizeof text,
                 "version: 1\nseed: 4\nmodel: {kind: classifier, layers: [{type: flatten}, {type: linear, units: 10}]}\n"
                 "data: {dataset: mnist, dir: %s%s}\ntrain: {epochs: 1, batch: 10}\n",
                 dir[k], k ? "" : ", resize: [5, 5], train_limit: 20");
        dlx_model *m = model_from_text(text);
        int rc = dlx_hessian_analyse(m, &(dlx_hessian_opts){50, DLX_HESSIAN_ROP, 1e-5, 3000, 40, 1e-3}, &h[k], &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        dlx_model_destroy(m);
    }
    for (int k = 0; k < 2; k++)
        remove_splits(dir[k]);
    ck_assert_int_eq(h[0].params, 5 * 5 * 10 + 10);
    ck_assert(h[0].exact && h[0].eig_max > 0.0);
    ck_assert_int_eq(h[0].index, h[1].index);
    ck_assert_msg(h[0].eig_min == h[1].eig_min && h[0].eig_max == h[1].eig_max, "eigenvalues %.17g %.17g vs %.17g %.17g",
                  h[0].eig_min, h[0].eig_max, h[1].eig_min, h[1].eig_max);
}
END_TEST

Suite *landscape_family_suite(void)
{
    Suite *s = suite_create("landscape_family");
    TCase *tc = tcase_create("family");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_linear111);
    tcase_add_test(tc, test_spin3);
    tcase_add_test(tc, test_sweep_family);
    tcase_add_test(tc, test_text_axis);
    tcase_add_test(tc, test_gan_measures_and_diverged);
    tcase_add_test(tc, test_sweep_distribution);
    tcase_add_test(tc, test_hessian_training_inputs);
    suite_add_tcase(s, tc);
    return s;
}
