/* The gan family: a generator and a discriminator, two networks trained by
 * alternating updates (Goodfellow et al. 2014), on a ring of Gaussians in
 * the plane (the standard test of whether a GAN covers every mode: Metz et
 * al. 2017, "Unrolled GANs": 8 modes on a circle of radius 2, std 0.02) or
 * on images (MNIST, Fashion-MNIST: the GAN, DCGAN and EBGAN settings).
 *
 *   model:
 *     kind: gan
 *     noise: {dim: 2}            # z ~ N(0, I)
 *     loss: gan | ebgan          # default gan
 *     margin: 10                 # ebgan: m of [m - D(G(z))]^+
 *     pt_weight: 0.1             # ebgan: the pulling-away term's weight in g_loss (0: none)
 *     code_layer: NAME           # ebgan: the disc layer whose output is the code of the pt
 *     collapse_std: 1.0e-4       # stop when G's batch has a mean per-value std below this (0: never)
 *     stuck_steps: 1000          # ebgan: stop when D is stuck at the margin this many D updates (0: never)
 *     score: {classifier: PATH/checkpoint.h5, samples: 1000, final_samples: 10000}
 *                                # images: sample-quality scores (models/gan_score.c)
 *     networks:
 *       gen:  {layers: [...]}    # z -> a sample: (N, 2), or (N, C, H, W) / (N, C*H*W) for images
 *       disc: {layers: [...]}    # a sample -> one logit (gan), or its reconstruction (ebgan)
 *   data: {dataset: ring, modes: 8, radius: 2.0, std: 0.02, samples: 25600, test_samples: 2500}
 *   data: {dataset: mnist, range: [-1, 1], pad: 2, train_limit: ...}   # train/images.h's keys
 *   train:
 *     optimizers: {d: {params: disc, type: adam, ...}, g: {params: gen, type: adam, ...}}
 *     updates: [{loss: d_loss, optimizer: d}, {loss: g_loss, optimizer: g}]
 *
 * Losses (loss: gan): d_loss = bce(D(x), 1) + bce(D(G(z)), 0); g_loss =
 * bce(D(G(z)), 1) (the non-saturating generator loss); d_real and d_fake,
 * d_loss's two terms, may be weighted otherwise by train.losses. Loss ebgan:
 * models/gan_ebgan.c (d_real and d_fake are then the energies, pt the
 * pulling-away term). Each update draws its own noise (and ring points) from
 * the counter-based generator, by (step, update, repeat, replica, element):
 * a resumed run draws the very same; images are read in the epoch order of
 * (seed, epoch), batch `pos` of the epoch for every update of a step.
 * Networks are built from YAML alone; the discriminator is applied twice
 * with the same parameters (its real and fake halves).
 *
 * Evaluation: test_samples points from G under fixed noise; on the ring a
 * point is of high quality within 3 std of its nearest mode, and `modes`
 * counts the modes that hold at least a quarter of their fair share of
 * high-quality points; samples.png shows the points over the modes. On
 * images: a 10x10 grid of G's samples under fixed noise every evaluation
 * (samples_epoch<k>.png, the last also samples.png) and `sample_std`;
 * with model.score, the inception score, I', I'^2 and the Fréchet distance
 * under a dlx classifier (models/gan_score.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gradcheck.h"
#include "../core/ops/ops.h"
#include "../train/dist.h"
#include "family.h"
#include "gan_internal.h"

static const dlx_key_doc k_model_keys[] = {
    {"kind", "string", "required", "gan", "the family"},
    {"noise", "map", "{dim: 2}", "dlx spec model.gan.noise", "the generator's input"},
    {"networks", "map", "required", "gen and disc (dlx spec model.gan.networks)", "the two networks"},
    {"loss", "string", "gan", "gan, ebgan", "gan: binary cross-entropy; ebgan: energy-based, disc an autoencoder"},
    {"margin", "number", "10 (ebgan only)", "0 to 1e6", "ebgan: m of d_fake's [m - D(G(z))]^+"},
    {"pt_weight", "number", "0 (ebgan only)", "0 to 1e6; > 0 needs code_layer",
     "ebgan: the pulling-away term's weight in g_loss"},
    {"code_layer", "string", "- (ebgan only)", "a disc layer's name", "ebgan: the disc layer whose output is the pulling-away term's code"},
    {"collapse_std", "number", "0.0001", "0 to 1000", "stop when G's batch has a mean per-value std below this (0: never)"},
    {"stuck_steps", "integer", "1000 (ebgan only)", "at least 0", "ebgan: stop when D is stuck at the margin this many D updates (0: never)"},
    {"score", "map", "-", "images only (dlx spec model.gan.score)", "score samples with a trained classifier"},
    {NULL},
};
static const dlx_key_doc k_noise_keys[] = {
    {"dim", "integer", "2", "1 to 4096", "the length of the generator's input z ~ N(0, 1)"},
    {NULL},
};
static const dlx_key_doc k_network_keys[] = {
    {"layers", "list of layers", "required", "dlx spec layer", "the network (gen: z to a sample; disc: a sample to a logit or, ebgan, a reconstruction)"},
    {NULL},
};
static const dlx_key_doc k_nets[] = {
    {"gen", "map", "required", "dlx spec model.gan.networks.NAME", "the generator (its parameters: group gen)"},
    {"disc", "map", "required", "dlx spec model.gan.networks.NAME", "the discriminator (its parameters: group disc)"},
    {NULL},
};

static const dlx_spec_section k_sections[] = {
    {"model.gan", "model: with kind: gan: a generator and a discriminator (train: needs optimizers and updates of "
                  "d_loss and g_loss; losses: d_loss, g_loss, d_real, d_fake, pt)",
     k_model_keys, NULL},
    {"model.gan.noise", "model.noise of a gan", k_noise_keys, NULL},
    {"model.gan.networks", "model.networks of a gan", k_nets, NULL},
    {"model.gan.networks.NAME", "model.networks.gen and model.networks.disc of a gan", k_network_keys, NULL},
    {"model.gan.score", "model.score of a gan on images: the classifier's scores of generated samples",
     dlx_gan_score_keys, NULL},
    {"data.ring", "data: of a gan with dataset: ring (the default there): a ring of Gaussians in the plane",
     dlx_gan_ring_keys, NULL},
    {NULL},
};
static const char *const k_loss_kinds[] = {"gan", "ebgan", NULL};
/* the named losses (terms of train.losses too): d_loss = d_real + d_fake
 * (gan), d_real + [margin - d_fake]^+ (ebgan); pt with an ebgan's code layer */
static const char *const k_losses[] = {"d_loss", "g_loss", "d_real", "d_fake", NULL};
static const char *const k_losses_pt[] = {"d_loss", "g_loss", "d_real", "d_fake", "pt", NULL};

/* data: the ring (dataset ring or left out) or labelled images of train/images.h. */
static int read_data(dlx_spec_node *root, gan *c, dlx_err *err)
{
    dlx_spec_node *d = dlx_spec_get(root, "data");
    if (!d)
        return dlx_err_setf(err, DLX_EINVAL, root->loc,
                            "missing required key 'data' (e.g. data: {dataset: ring, modes: 8, radius: 2.0, "
                            "std: 0.02} or data: {dataset: mnist, range: [-1, 1]})");
    const char *name = NULL;
    int rc = dlx_spec_expect_map(d, "data", err);
    if (!rc) rc = dlx_spec_str(d, "dataset", false, "ring", &name, err);
    if (rc)
        return rc;
    if (!strcmp(name, "ring")) {
        c->data = GAN_DATA_RING;
        c->x_ndim = 1, c->x_dim[0] = 2, c->x_numel = 2;
        return dlx_gan_ring_read(d, c, err);
    }
    if (!dlx_dataset_find(name))
        return dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(d, "dataset")->loc,
                            "data.dataset: unknown dataset '%s' (a gan takes ring, %s)", name, dlx_dataset_names());
    c->data = GAN_DATA_IMAGES;
    c->test_samples = GAN_GRID * GAN_GRID;
    return dlx_images_read_spec(root, &c->im, false, err);
}

/* model.loss and the ebgan's keys, refused with loss: gan. */
static int read_loss(dlx_spec_node *model, gan *c, dlx_err *err)
{
    /* loss and collapse_std are read only when given: the resolved spec of a
     * gan that names neither stays the one older checkpoints hold */
    int kind = 0;
    int rc = dlx_spec_get(model, "loss") ? dlx_spec_enum(model, "loss", false, k_loss_kinds, 0, &kind, err) : 0;
    if (rc)
        return rc;
    c->loss = kind == 1 ? GAN_LOSS_EBGAN : GAN_LOSS_BCE;
    static const char *const k_ebgan_keys[] = {"margin", "pt_weight", "code_layer", "stuck_steps", NULL};
    for (int i = 0; k_ebgan_keys[i] && c->loss == GAN_LOSS_BCE; i++)
        if (dlx_spec_get(model, k_ebgan_keys[i]))
            return dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(model, k_ebgan_keys[i])->loc,
                                "model.%s: applies to loss: ebgan only (this gan's loss is gan)", k_ebgan_keys[i]);
    const bool eb = c->loss == GAN_LOSS_EBGAN; /* (a gan's resolved spec gets no ebgan keys) */
    if (!rc && eb) rc = dlx_spec_float(model, "margin", false, 10.0, 0.0, 1e6, &c->margin, err);
    if (!rc && eb) rc = dlx_spec_float(model, "pt_weight", false, 0.0, 0.0, 1e6, &c->pt_weight, err);
    if (!rc && eb) rc = dlx_spec_str(model, "code_layer", false, NULL, &c->code_layer, err);
    c->stuck_steps = eb ? 1000 : 0;
    if (!rc && eb && dlx_spec_get(model, "stuck_steps"))
        rc = dlx_spec_int(model, "stuck_steps", false, 1000, 0, INT64_MAX, &c->stuck_steps, err);
    c->collapse_std = 1e-4;
    if (!rc && dlx_spec_get(model, "collapse_std"))
        rc = dlx_spec_float(model, "collapse_std", false, 1e-4, 0.0, 1e3, &c->collapse_std, err);
    if (!rc && c->pt_weight > 0.0 && !c->code_layer)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(model, "pt_weight")->loc,
                          "model.pt_weight: the pulling-away term needs the encoder's codes: name the disc layer "
                          "that gives them with model.code_layer");
    if (!rc && c->code_layer)
        c->code_loc = dlx_spec_get(model, "code_layer")->loc;
    c->n_terms = c->code_layer ? 5 : 4;
    return rc;
}

static int read_networks(dlx_spec_node *model, dlx_err *err)
{
    dlx_spec_node *nets = dlx_spec_get(model, "networks");
    if (!nets)
        return dlx_err_setf(err, DLX_EINVAL, model->loc,
                            "model: missing required key 'networks' (a gan has two: gen and disc, each with layers:)");
    int rc = dlx_spec_expect_map(nets, "model.networks", err);
    if (!rc) rc = dlx_spec_check_doc(nets, "model.networks (gan)", k_nets, err);
    for (int i = 0; i < 2 && !rc; i++) {
        dlx_spec_node *n = dlx_spec_get(nets, k_nets[i].key);
        if (!n)
            rc = dlx_err_setf(err, DLX_EINVAL, nets->loc, "model.networks: missing required network '%s'",
                              k_nets[i].key);
        if (!rc) rc = dlx_spec_expect_map(n, n->path, err);
        if (!rc) rc = dlx_spec_check_doc(n, n->path, k_network_keys, err);
        if (!rc && !dlx_spec_get(n, "layers"))
            rc = dlx_err_setf(err, DLX_EINVAL, n->loc, "%s: missing required key 'layers'", n->path);
    }
    return rc;
}

static int read_spec(dlx_model *m, gan *c, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(m->spec), *model = dlx_spec_get(root, "model");
    int rc = dlx_spec_check_doc(model, "model (gan)", k_model_keys, err);
    dlx_spec_node *noise = rc ? NULL : dlx_spec_get(model, "noise");
    if (noise && !(rc = dlx_spec_expect_map(noise, "model.noise", err)))
        rc = dlx_spec_check_doc(noise, "model.noise", k_noise_keys, err);
    if (!rc) rc = dlx_spec_int(noise, "dim", false, 2, 1, 4096, &c->nz, err);
    if (!rc) rc = read_loss(model, c, err);
    if (!rc) rc = read_networks(model, err);
    if (!rc) rc = read_data(root, c, err);
    if (!rc) rc = dlx_gan_score_read(model, c, err);
    if (!rc) rc = dlx_train_cfg_read(root, &(dlx_train_defaults){.batch = 256, .composes = true},
                                     c->code_layer ? k_losses_pt : k_losses, &c->tc, &m->plan, err);
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

dlx_shape dlx_gan_x_shape(const gan *c, int64_t batch)
{
    return c->x_ndim == 1 ? dlx_shape_2d(batch, c->x_dim[0])
                          : dlx_shape_4d(batch, c->x_dim[0], c->x_dim[1], c->x_dim[2]);
}

/* y viewed in the data's shape (N, ...) when it has the size but not the shape. */
static dlx_node *as_sample(dlx_graph *g, const gan *c, dlx_node *y, dlx_err *err)
{
    dlx_shape s = dlx_gan_x_shape(c, y->out.shape.d[0]);
    if (dlx_shape_eq(&s, &y->out.shape))
        return y;
    dlx_reshape_attr a = {.ndim = s.ndim};
    for (int i = 1; i < s.ndim; i++)
        a.d[i] = s.d[i];
    return dlx_graph_op(g, &dlx_op_reshape, NULL, &y, 1, &a, DLX_NOLOC, err);
}

/* "a point of the plane has 2" or "an image of the data is 1x28x28 = 784" */
static const char *sample_what(const gan *c, char *buf, size_t n)
{
    if (c->data == GAN_DATA_RING)
        snprintf(buf, n, "a point of the plane has 2");
    else
        snprintf(buf, n, "an image of the data is %lldx%lldx%lld = %lld", (long long)c->x_dim[0],
                 (long long)c->x_dim[1], (long long)c->x_dim[2], (long long)c->x_numel);
    return buf;
}

/* G on z: its parameters in group "gen" (declared on first use); *fake: G(z)
 * in the data's shape. */
static int build_gen(dlx_model *m, dlx_graph *g, dlx_node *z, dlx_layers_out *lo, dlx_node **fake, dlx_err *err)
{
    const gan *c = m->impl;
    int rc = m->params.final ? 0 : dlx_params_begin_group(&m->params, "gen", err);
    if (!rc) rc = dlx_layers_build(g, &m->params, network_layers(m, "gen"), "gen.", z, lo, err);
    if (!rc && lo->output->out.numel != z->out.shape.d[0] * c->x_numel) {
        dlx_spec_node *layers = network_layers(m, "gen");
        char what[96];
        rc = dlx_err_setf(err, DLX_EINVAL, layers->items[layers->n - 1]->loc,
                          "model.networks.gen: the last layer gives %lld outputs per sample; %s",
                          (long long)(lo->output->out.numel / z->out.shape.d[0]), sample_what(c, what, sizeof what));
    }
    if (!rc && !(*fake = as_sample(g, c, lo->output, err)))
        rc = err->code;
    return rc;
}

/* D on x: one logit per sample (gan), or x's reconstruction (ebgan: in x's shape into *rec). */
static int build_disc(dlx_model *m, dlx_graph *g, dlx_node *x, dlx_layers_out *lo, dlx_node **rec, dlx_err *err)
{
    const gan *c = m->impl;
    int rc = m->params.final ? 0 : dlx_params_begin_group(&m->params, "disc", err);
    if (!rc) rc = dlx_layers_build(g, &m->params, network_layers(m, "disc"), "disc.", x, lo, err);
    if (rc)
        return rc;
    int64_t n = x->out.shape.d[0], per = lo->output->out.numel / n;
    dlx_spec_node *layers = network_layers(m, "disc");
    char what[96];
    if (c->loss == GAN_LOSS_BCE && lo->output->out.numel != n)
        return dlx_err_setf(err, DLX_EINVAL, layers->items[layers->n - 1]->loc,
                            "model.networks.disc: the last layer gives %lld outputs per sample; the discriminator "
                            "gives one logit", (long long)per);
    if (c->loss == GAN_LOSS_EBGAN && lo->output->out.numel != n * c->x_numel)
        return dlx_err_setf(err, DLX_EINVAL, layers->items[layers->n - 1]->loc,
                            "model.networks.disc: the last layer gives %lld outputs per sample; an ebgan's "
                            "discriminator is an auto-encoder, its output the input's size (%s)",
                            (long long)per, sample_what(c, what, sizeof what));
    *rec = c->loss == GAN_LOSS_EBGAN ? as_sample(g, c, lo->output, err) : lo->output;
    return *rec ? 0 : err->code;
}

/* The last node named model.code_layer among g's nodes from `first` on (D on G(z)). */
static int find_code(const gan *c, dlx_graph *g, int first, dlx_node **code, dlx_err *err)
{
    *code = NULL;
    for (int i = first; c->code_layer && i < g->n; i++)
        if (!strcmp(g->nodes[i]->name, c->code_layer))
            *code = g->nodes[i];
    if (c->code_layer && !*code)
        return dlx_err_setf(err, DLX_EINVAL, c->code_loc,
                            "model.code_layer: the disc network has no layer named '%s' (name one with name:)",
                            c->code_layer);
    return 0;
}

static dlx_node *bce(dlx_graph *g, const char *name, dlx_node *logits, float target, dlx_err *err)
{
    dlx_bce_attr a = {.target = target};
    return dlx_graph_op(g, &dlx_op_bce_logits, name, &logits, 1, &a, DLX_NOLOC, err);
}

static int bce_losses(dlx_graph *g, dlx_node *real, dlx_node *fake, dlx_node **loss, dlx_err *err)
{
    dlx_node *d_real = bce(g, "d_real", real, 1.0f, err);
    dlx_node *d_fake = d_real ? bce(g, "d_fake", fake, 0.0f, err) : NULL;
    dlx_node *sum[2] = {d_real, d_fake};
    loss[GAN_LOSS_D] = d_fake ? dlx_graph_op(g, &dlx_op_add, "d_loss", sum, 2, NULL, DLX_NOLOC, err) : NULL;
    loss[GAN_LOSS_G] = loss[GAN_LOSS_D] ? bce(g, "g_loss", fake, 1.0f, err) : NULL;
    loss[GAN_LOSS_D_REAL] = d_real;
    loss[GAN_LOSS_D_FAKE] = d_fake;
    return loss[GAN_LOSS_G] ? 0 : err->code;
}

/* One replica's graph: G(z), D(x), D(G(z)), the losses. */
static int build_graph(dlx_model *m, int64_t batch, dlx_graph **out, gan_replica *r, dlx_layers_out *gi,
                       dlx_layers_out *di, dlx_err *err)
{
    gan *c = m->impl;
    dlx_graph *g = dlx_graph_create(&m->params);
    if (!g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_layers_out fake_info = {0};
    dlx_node *d_real, *d_fake, *code = NULL;
    int rc = DLX_ENOMEM, first;
    r->z = dlx_graph_input(g, "z", dlx_shape_2d(batch, c->nz), false, err);
    r->x = dlx_graph_input(g, "x", dlx_gan_x_shape(c, batch), false, err);
    if (!r->z || !r->x)
        goto out;
    if ((rc = build_gen(m, g, r->z, gi, &r->fake, err)) || (rc = build_disc(m, g, r->x, di, &d_real, err)))
        goto out;
    first = g->n;
    if ((rc = build_disc(m, g, r->fake, &fake_info, &d_fake, err)) || (rc = find_code(c, g, first, &code, err)))
        goto out;
    rc = c->loss == GAN_LOSS_EBGAN ? dlx_gan_ebgan_losses(g, c, r->x, d_real, r->fake, d_fake, code, r->loss, err)
                                   : bce_losses(g, d_real, d_fake, r->loss, err);
    if (!rc) rc = dlx_plan_compose(&m->plan, g, r->loss, r->loss + c->n_terms, err);
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

/* G alone on n samples of z, in inference mode (batch norm on its running statistics). */
int dlx_gan_build_sampler(dlx_model *m, int64_t n, dlx_graph **g, dlx_node **z, dlx_node **out, dlx_err *err)
{
    const gan *c = m->impl;
    *g = dlx_graph_create(&m->params);
    if (!*g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    (*g)->inference = true;
    dlx_layers_out lo = {0};
    *z = dlx_graph_input(*g, "z", dlx_shape_2d(n, c->nz), false, err);
    int rc = *z ? build_gen(m, *g, *z, &lo, out, err) : err->code;
    free(lo.info);
    if (!rc) rc = dlx_graph_compile(*g, 0, err);
    return rc;
}

static void report_layers(const dlx_model *m, const gan *c)
{
    dlx_run_network_table(m, "gen", &c->gen_info);
    dlx_run_network_table(m, "disc", &c->disc_info);
}

static void gan_destroy(dlx_model *m)
{
    gan *c = m->impl;
    if (!c)
        return;
    dlx_replicas_free(&c->reps);
    dlx_graph_destroy(c->eval_g);
    dlx_gan_score_free(c);
    for (int k = 0; k < DLX_REPLICAS_MAX; k++) {
        free(c->rep[k].idx);
        free(c->rep[k].labels);
    }
    dlx_images_free(&c->im);
    free(c->gen_info.info);
    free(c->disc_info.info);
    free(c);
    m->impl = NULL;
}

/* Images: the test split tells the sample's shape (the training split loads when training starts). */
static int open_images(dlx_model *m, gan *c, dlx_err *err)
{
    dlx_spec_node *train = dlx_spec_get(dlx_spec_root(m->spec), "train"), *b = dlx_spec_get(train, "batch");
    int rc = dlx_images_open(&c->im, c->tc.batch, "train.batch", b ? b->loc : train->loc, err);
    if (rc)
        return rc;
    c->x_ndim = 3;
    c->x_dim[0] = c->im.c, c->x_dim[1] = c->im.h, c->x_dim[2] = c->im.w;
    c->x_numel = (int64_t)c->im.c * c->im.h * c->im.w;
    return dlx_gan_images_feed_alloc(c, err);
}

static int gan_create(dlx_model *m, dlx_err *err)
{
    gan *c = calloc(1, sizeof *c);
    if (!c)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = c;
    int rc = read_spec(m, c, err);
    if (!rc && c->data == GAN_DATA_IMAGES)
        rc = open_images(m, c, err);
    if (rc)
        return rc;
    int threads = dlx_replicas_threads(m->threads);
    dlx_replicas_init(&c->reps, &m->params, c->tc.shards, threads);
    double data_bytes = c->data == GAN_DATA_IMAGES ? dlx_images_bytes(&c->im) : 0.0;
    rc = dlx_replicas_build(&c->reps, m, data_bytes, build_replica, m, err);
    if (!rc) rc = dlx_gan_build_sampler(m, c->test_samples, &c->eval_g, &c->eval_z, &c->eval_out, err);
    if (!rc && c->score_path) rc = dlx_gan_score_open(m, c, err);
    if (rc)
        return rc;
    /* which losses see G(z): the collapse test reads it after their updates only */
    const dlx_graph *g0 = c->reps.r[0].g;
    for (int l = 0; l < c->n_terms + m->plan.n_composites; l++)
        c->uses_fake[l] = dlx_gan_depends(g0, c->rep[0].loss[l], c->rep[0].fake);
    rc = dlx_params_init_values(&m->params, m->seed, err);
    if (!rc) rc = dlx_plan_create(&m->plan, &m->params, threads, err);
    if (!rc)
        report_layers(m, c);
    return rc;
}

/* ---- data ------------------------------------------------------------------ */

/* The draw (step, update, repeat, replica) as a stream index above the purpose byte. */
uint64_t dlx_gan_draw_stream(int purpose, int64_t step, int u, int rep, int k)
{
    uint64_t d = (((uint64_t)step * DLX_UPDATES_MAX + (uint64_t)u) * DLX_REPEAT_MAX + (uint64_t)rep) * DLX_REPLICAS_MAX +
                 (uint64_t)k;
    return (uint64_t)purpose + (d << 8);
}

void dlx_gan_fill_normal(float *z, int64_t n, uint64_t seed, uint64_t stream)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, stream);
    for (int64_t i = 0; i < n; i++)
        z[i] = dlx_rng_normal(&r);
}

static void gan_begin_epoch(void *user, int64_t epoch)
{
    dlx_model *m = user;
    gan *c = m->impl;
    if (c->data == GAN_DATA_IMAGES)
        dlx_images_epoch(&c->im, m->seed, epoch);
}

/* Noise from (step, update, repeat, replica); ring points the same way,
 * images from batch pos of the epoch's order (every update of a step reads
 * the same real batch). */
static void gan_feed(void *user, int u, int rep, int k, int64_t pos)
{
    const dlx_model *m = user;
    const gan *c = m->impl;
    const gan_replica *r = &c->rep[k];
    dlx_gan_fill_normal(r->z->out.data, r->z->out.numel, m->seed,
                        dlx_gan_draw_stream(GAN_STREAM_NOISE, m->step, u, rep, k));
    if (c->data == GAN_DATA_RING)
        dlx_gan_ring_fill(c, r->x->out.data, c->shard_batch, m->seed,
                          dlx_gan_draw_stream(GAN_STREAM_REAL, m->step, u, rep, k));
    else
        dlx_images_feed(&c->im, c->tc.batch, pos, k * c->shard_batch, (int)c->shard_batch, r->idx,
                        r->x->out.data, r->labels, NULL);
}

/* ---- evaluation -------------------------------------------------------------- */

/* G's test samples under the fixed test noise, into c->eval_out. */
static void generate_test(const dlx_model *m, gan *c)
{
    dlx_gan_fill_normal(c->eval_z->out.data, c->eval_z->out.numel, m->seed, GAN_STREAM_TEST);
    const dlx_ctx ctx = {.training = false, .seed = m->seed, .threads = dlx_replicas_threads(m->threads)};
    dlx_graph_forward(c->eval_g, &ctx);
}

/* final: the last evaluation of training, or dlx eval (model.score's final_samples) */
static int score(dlx_model *m, gan *c, bool final, dlx_results *res, dlx_err *err)
{
    generate_test(m, c);
    if (c->data == GAN_DATA_RING)
        dlx_gan_ring_score(c, c->eval_out->out.data, c->test_samples, res);
    else
        dlx_gan_images_score(c, c->eval_out->out.data, c->test_samples, res);
    return c->score_path ? dlx_gan_score_eval(m, c, final, res, err) : 0;
}

/* The trainer's evaluation: the scores, and on images the epoch's sample grid. */
static int gan_eval_test(void *user, dlx_results *res, dlx_err *err)
{
    dlx_model *m = user;
    gan *c = m->impl;
    int rc = score(m, c, m->epoch >= c->tc.epochs, res, err);
    /* (over MPI ranks the grid is rank 0's to write) */
    bool grid = c->data == GAN_DATA_IMAGES && dlx_dist_writes(m->hooks.dist);
    return !rc && grid ? dlx_gan_images_grid(m, c, err) : rc;
}

static int gan_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    if (data)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            ((gan *)m->impl)->data == GAN_DATA_RING
                                ? "a gan draws its test data from the spec's ring: --data does not apply"
                                : "a gan evaluates samples of its generator: --data does not apply");
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "step", (double)m->step);
    return score(m, m->impl, true, res, err);
}

static int gan_finish(void *user, dlx_err *err)
{
    dlx_model *m = user;
    gan *c = m->impl;
    return c->data == GAN_DATA_RING ? dlx_gan_ring_finish(m, c, err) : 0;
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
    int rc = c->data == GAN_DATA_IMAGES ? dlx_images_load_train(&c->im, err) : 0;
    if (rc)
        return rc;
    dlx_trainer t = {
        .cfg = c->tc,
        .replicas = &c->reps,
        .plan = &m->plan,
        .fam = {.user = m, .loss = gan_loss, .samples = c->data == GAN_DATA_IMAGES ? c->im.train.n : c->samples,
                .begin_epoch = gan_begin_epoch, .feed = gan_feed, .evaluate = gan_eval_test,
                .diverged = dlx_gan_diverged, .finish = gan_finish},
    };
    return dlx_trainer_run(m, &t, err);
}

/* 4 real samples for a gradient check: ring points, or the test split's first images. */
static void gradcheck_real(const dlx_model *m, const gan *c, float *x)
{
    if (c->data == GAN_DATA_RING) {
        dlx_gan_ring_fill(c, x, 4, m->seed, GAN_STREAM_TEST);
        return;
    }
    uint32_t idx[4];
    for (uint32_t i = 0; i < 4; i++)
        idx[i] = i % (uint32_t)c->im.test.n;
    dlx_dataset_batch(&c->im.test, &c->im.tf, idx, 4, x, NULL);
}

/* Every loss but the terms of d_loss (or the one named by o->loss) on a graph of 4 samples. */
static int gan_gradcheck(dlx_model *m, const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err)
{
    gan *c = m->impl;
    const int n_losses = c->n_terms + m->plan.n_composites;
    int which = -1;
    for (int l = 0; o->loss && l < n_losses; l++)
        if (!strcmp(o->loss, m->plan.loss_names[l]))
            which = l;
    if (o->loss && which < 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--loss: a gan has the losses d_loss, g_loss, d_real, d_fake%s (and train.losses), "
                            "not '%s'", c->code_layer ? ", pt" : "", o->loss);
    dlx_graph *g = NULL;
    gan_replica r = {0};
    dlx_layers_out gi = {0}, di = {0};
    int rc = build_graph(m, 4, &g, &r, &gi, &di, err);
    free(gi.info);
    free(di.info);
    if (!rc) rc = dlx_graph_compile(g, m->max_memory, err);
    memset(rep, 0, sizeof *rep);
    for (int l = 0; l < n_losses && !rc; l++) {
        if ((which >= 0 && l != which) || (which < 0 && (l == GAN_LOSS_D_REAL || l == GAN_LOSS_D_FAKE)))
            continue; /* the terms of d_loss are checked through it */
        dlx_gan_fill_normal(r.z->out.data, r.z->out.numel, m->seed, GAN_STREAM_TEST);
        gradcheck_real(m, c, r.x->out.data);
        dlx_gradcheck_report one;
        const dlx_ctx ctx = {.training = true, .seed = m->seed, .threads = 1};
        rc = dlx_gradcheck_graph(g, r.loss[l], &ctx, o, &one, err);
        dlx_gradcheck_merge(rep, m->plan.loss_names[l], &one);
    }
    dlx_graph_destroy(g);
    return rc;
}

/* The scores of model.score (final_*: the last evaluation's, over final_samples),
 * the images' sample spread, the ring's modes, and the last epoch's losses. */
static const char *const k_sweep_measures[] = {
    "final_inception_score", "final_iprime", "final_iprime_sq", "final_frechet", "inception_score", "iprime",
    "iprime_sq", "frechet", "sample_std", "modes", "high_quality", "train_d_loss", "train_g_loss", NULL};

const dlx_family dlx_family_gan = {
    .name = "gan",
    .dry_run = true,
    .help = "generative adversarial nets (gan, dcgan, ebgan): a generator and a discriminator trained by "
            "alternating updates, on a ring of Gaussians or on images",
    .create = gan_create,
    .destroy = gan_destroy,
    .train = gan_train,
    .evaluate = gan_evaluate,
    .gradcheck = gan_gradcheck,
    .sample = dlx_gan_sample,
    .sweep_measures = k_sweep_measures,
    .spec_sections = k_sections,
};
