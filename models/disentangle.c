/* The disentangle family: style transfer by disentangling factors of
 * variation (Mathieu, Zhao, Sprechmann, Ramesh & LeCun, NIPS 2016, in the
 * setting of its official code). An encoder splits an image's code into a
 * specified part s (what the label fixes: the digit) and an unspecified
 * part z (everything else: slant, stroke width), a decoder maps (s, z) back
 * to the image, and an adversary conditioned on the class judges decoded
 * cross-class swaps.
 *
 *   model:
 *     kind: disentangle
 *     code: {s: 16, z: 16}         # sizes of the two parts
 *     weights: {rec: 0.5, swap: 1, adv: 0.01, kl: 0.1 * 6 / (C H W)}
 *     real_target: 0.95            # the adversary's target for real images (one-sided smoothing)
 *     eval_samples: 1000           # test images of each evaluation's measures
 *     networks:
 *       enc:  {layers: [...]}      # an image -> (N, s + 2 z): s, then z's means, then its log-variances
 *       dec:  {layers: [...]}      # (N, s + z) -> an image, (N, C, H, W) or (N, C H W)
 *       disc: {layers: [...]}      # an image and K one-hot class planes (N, C + K, H, W) -> one logit
 *       zdisc: {layers: [...]}     # optional: z's means (N, z) -> K class logits (a latent adversary)
 *   data: {dataset: mnist, range: [-1, 1], pad: 2}   # train/images.h's keys
 *   train:
 *     optimizers: {d: {params: disc, ...}, g: {params: [enc, dec], ...}}
 *     updates: [{loss: d_loss, optimizer: d}, {loss: g_loss, optimizer: g}]
 *
 * Every step reads triplets: x1 the epoch's batch, x2 of x1's class and x3
 * of any class, drawn by (seed, step, member, row) (train/images.h's
 * groups). The encoder, one set of parameters (group enc), is applied to
 * the three; z is sampled as z = mu + exp(lv / 2) eps with eps drawn per
 * (step, update, repeat, replica) from the counter-based generator. The
 * decoder (group dec) is applied seven times on the concatenation (s, z):
 *   rec  = sum over i of mse(dec(s_i, z_i), x_i)                  (3 terms)
 *   swap = mse(dec(s_2, z_1), x_1) + mse(dec(s_1, z_2), x_2)     (same class)
 *   adv  = bce(D(dec(s_2, z_3) | y_1), 1) + bce(D(dec(s_3, z_2) | y_3), 1)
 *   kl   = sum over i of KL(q(z_i | x_i) || N(0, I))   (core/ops/gaussian.c)
 *   g_loss = w_rec rec + w_swap swap + w_adv adv + w_kl kl
 *   d_loss = d_real + d_fake: bce(D(x_1 | y_1), t) + bce(D(x_3 | y_3), t) and
 *            bce(D(dec(s_2, z_3) | y_1), 0) + bce(D(dec(s_3, z_2) | y_3), 0)
 * (mse: the mean over pixels, as the official code's MSECriterion; t:
 * real_target). The cross-class swaps must pass as real images of the class
 * their s comes from, which pushes class information out of z. The official
 * adversary adds learned class tables to its feature maps at three depths;
 * here the class enters once, as K one-hot planes beside the image, which a
 * first convolution turns into a learned per-class map added to its output.
 *
 * Not in the paper, optional: a latent adversary (networks.zdisc; Lample et
 * al. 2017's Fader networks, Tzeng et al. 2015's confusion loss). It reads
 * z's means, which the probes of the evaluation read too, and learns the
 * class from them; the encoder is pushed to leave it uniformly unsure:
 *   z_cls = sum over i of xent(zdisc(mu_i), y_i)         (its own update)
 *   z_adv = sum over i of xent_uniform(zdisc(mu_i))      (in g_loss, weight zadv)
 * The paper's terms only make the decoder take the class from s; nothing in
 * them stops z from holding the class too (the probes find it there).
 *
 * Evaluation (disentangle_infer.c): reconstruction and swap errors on the
 * test split; model.eval (disentangle_measure.c): the accuracy of a dlx
 * classifier on transferred images and of probes on frozen s and z.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gradcheck.h"
#include "../core/ops/ops.h"
#include "disentangle_internal.h"

static const dlx_key_doc k_model_keys[] = {
    {"kind", "string", "required", "disentangle", "the family"},
    {"code", "map", "{s: 16, z: 16}", "dlx spec model.disentangle.code", "the sizes of the code's two parts"},
    {"weights", "map", "rec 0.5, swap 1, adv 0.01, kl 0.1*6/(C*H*W)", "dlx spec model.disentangle.weights",
     "the weights of g_loss's terms"},
    {"real_target", "number", "0.95", "0.5 to 1", "the adversary's target for real images (one-sided label smoothing)"},
    {"eval_samples", "integer", "1000", "2 to 1e6 (at most the test split)",
     "test images of each evaluation's reconstruction and swap errors"},
    {"eval", "map", "-", "dlx spec model.disentangle.eval", "the classifier of transferred images and the probes of s and z"},
    {"networks", "map", "required", "enc, dec and disc, optionally zdisc (dlx spec model.disentangle.networks)", "the networks"},
    {NULL},
};
static const dlx_key_doc k_code_keys[] = {
    {"s", "integer", "16", "1 to 4096", "the specified part: what the class fixes"},
    {"z", "integer", "16", "1 to 4096", "the unspecified part: everything else (a Gaussian with a KL term)"},
    {NULL},
};
static const dlx_key_doc k_weight_keys[] = {
    {"rec", "number", "0.5", "0 to 1e6", "reconstructions of x1, x2, x3"},
    {"swap", "number", "1", "0 to 1e6", "same-class swaps dec(s2, z1) -> x1, dec(s1, z2) -> x2"},
    {"adv", "number", "0.01", "0 to 1e6", "the cross-class swaps passing as real images of their s's class"},
    {"kl", "number", "0.1*6/(C*H*W)", "0 to 1e6", "the KL term on z (C*H*W: the input's size after padding)"},
    {"zadv", "number", "1", "0 to 1e6", "with networks.zdisc: the encoder's confusion term z_adv (z's means "
                                         "leaving the latent adversary uniformly unsure of the class)"},
    {NULL},
};
static const dlx_key_doc k_network_keys[] = {
    {"layers", "list of layers", "required", "dlx spec layer", "the network"},
    {NULL},
};
static const dlx_key_doc k_nets[] = {
    {"enc", "map", "required", "dlx spec model.disentangle.networks.NAME",
     "the encoder: an image -> (N, s + 2z) (group enc)"},
    {"dec", "map", "required", "dlx spec model.disentangle.networks.NAME",
     "the decoder: (N, s + z) -> an image (group dec)"},
    {"disc", "map", "required", "dlx spec model.disentangle.networks.NAME",
     "the adversary: an image and K one-hot class planes -> one logit (group disc)"},
    {"zdisc", "map", "-", "dlx spec model.disentangle.networks.NAME",
     "optional, not in the paper: a latent adversary, z's means (N, z) -> K class logits (group zdisc; train it "
     "on z_cls)"},
    {NULL},
};

static const dlx_spec_section k_sections[] = {
    {"model.disentangle", "model: with kind: disentangle: an encoder of a split code (s, z), a decoder and a "
                          "class-conditioned adversary (train: needs optimizers and updates of d_loss and g_loss; "
                          "losses: d_loss, g_loss, rec, swap, adv, kl, d_real, d_fake, and with networks.zdisc "
                          "z_cls, z_adv)",
     k_model_keys, NULL},
    {"model.disentangle.code", "model.code of a disentangle model", k_code_keys, NULL},
    {"model.disentangle.weights", "model.weights of a disentangle model: g_loss's terms", k_weight_keys, NULL},
    {"model.disentangle.eval", "model.eval of a disentangle model: its measures of disentangling",
     dlx_dis_eval_keys, NULL},
    {"model.disentangle.networks", "model.networks of a disentangle model", k_nets, NULL},
    {"model.disentangle.networks.NAME", "model.networks.enc, .dec, .disc and .zdisc of a disentangle model",
     k_network_keys,
     NULL},
    {NULL},
};
static const char *const k_losses[] = {"d_loss", "g_loss", "rec", "swap", "adv", "kl", "d_real", "d_fake", NULL};
static const char *const k_losses_z[] = {"d_loss", "g_loss", "rec",   "swap",  "adv", "kl",
                                         "d_real", "d_fake", "z_cls", "z_adv", NULL};
static const char *const k_net_names[DIS_NETS] = {"enc", "dec", "disc", "zdisc"};

/* A sub-map of model: checked against its table (absent: NULL, the defaults). */
static int sub_map(dlx_spec_node *model, const char *key, const dlx_key_doc *doc, dlx_spec_node **out, dlx_err *err)
{
    *out = dlx_spec_get(model, key);
    if (!*out)
        return 0;
    int rc = dlx_spec_expect_map(*out, (*out)->path, err);
    return rc ? rc : dlx_spec_check_doc(*out, (*out)->path, doc, err);
}

static int read_networks(dlx_spec_node *model, dis *c, dlx_err *err)
{
    dlx_spec_node *nets = dlx_spec_get(model, "networks");
    if (!nets)
        return dlx_err_setf(err, DLX_EINVAL, model->loc,
                            "model: missing required key 'networks' (a disentangle model has three, enc, dec and "
                            "disc, each with layers:, and may have a fourth, zdisc)");
    int rc = dlx_spec_expect_map(nets, "model.networks", err);
    if (!rc) rc = dlx_spec_check_doc(nets, "model.networks (disentangle)", k_nets, err);
    c->zdisc = !rc && dlx_spec_get(nets, "zdisc") != NULL;
    c->n_nets = c->zdisc ? 4 : 3;
    c->n_terms = c->zdisc ? DIS_N_TERMS_MAX : DIS_N_BASE_TERMS;
    for (int i = 0; i < c->n_nets && !rc; i++) {
        dlx_spec_node *n = dlx_spec_get(nets, k_nets[i].key);
        if (!n)
            return dlx_err_setf(err, DLX_EINVAL, nets->loc, "model.networks: missing required network '%s'",
                                k_nets[i].key);
        rc = dlx_spec_expect_map(n, n->path, err);
        if (!rc) rc = dlx_spec_check_doc(n, n->path, k_network_keys, err);
        if (!rc && !dlx_spec_get(n, "layers"))
            rc = dlx_err_setf(err, DLX_EINVAL, n->loc, "%s: missing required key 'layers'", n->path);
    }
    return rc;
}

/* model: before the data (the weights' kl default needs the image size: read_weights). */
static int read_model(dlx_model *m, dis *c, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(m->spec), *model = dlx_spec_get(root, "model"), *code = NULL;
    int rc = dlx_spec_check_doc(model, "model (disentangle)", k_model_keys, err);
    if (!rc) rc = sub_map(model, "code", k_code_keys, &code, err);
    if (!rc) rc = dlx_spec_int(code, "s", false, 16, 1, 4096, &c->ns, err);
    if (!rc) rc = dlx_spec_int(code, "z", false, 16, 1, 4096, &c->nz, err);
    if (!rc) rc = dlx_spec_float(model, "real_target", false, 0.95, 0.5, 1.0, &c->real_target, err);
    if (!rc) rc = dlx_spec_int(model, "eval_samples", false, 1000, 2, 1000000, &c->eval_samples, err);
    if (!rc) rc = dlx_dis_eval_read(model, c, err);
    if (!rc) rc = read_networks(model, c, err);
    if (!rc) rc = dlx_images_read_spec(root, &c->im, false, err);
    if (!rc) rc = dlx_train_cfg_read(root, &(dlx_train_defaults){.batch = 32, .composes = true},
                                     c->zdisc ? k_losses_z : k_losses, &c->tc, &m->plan, err);
    if (rc)
        return rc;
    if (m->plan.n_updates < 2)
        return dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(root, "train")->loc,
                            "train: a disentangle model trains d_loss and g_loss: give train.optimizers (e.g. d over "
                            "disc, g over [enc, dec]) and train.updates with an update of each");
    c->shard_batch = c->tc.batch / c->tc.shards;
    return 0;
}

static int read_weights(dlx_model *m, dis *c, dlx_err *err)
{
    dlx_spec_node *model = dlx_spec_get(dlx_spec_root(m->spec), "model"), *w = NULL;
    const double kl_default = 0.1 * 6.0 / (double)c->x_numel; /* the official code's, for its input size */
    int rc = sub_map(model, "weights", k_weight_keys, &w, err);
    if (!rc) rc = dlx_spec_float(w, "rec", false, 0.5, 0.0, 1e6, &c->w_rec, err);
    if (!rc) rc = dlx_spec_float(w, "swap", false, 1.0, 0.0, 1e6, &c->w_swap, err);
    if (!rc) rc = dlx_spec_float(w, "adv", false, 0.01, 0.0, 1e6, &c->w_adv, err);
    if (!rc) rc = dlx_spec_float(w, "kl", false, kl_default, 0.0, 1e6, &c->w_kl, err);
    dlx_spec_node *zadv = !rc && w ? dlx_spec_get(w, "zadv") : NULL;
    c->zadv_loc = zadv ? zadv->loc : (dlx_loc){0};
    c->zadv_given = zadv != NULL;
    /* read (its default filled into the spec) only with zdisc: a checkpoint's
     * spec then holds zadv only where it applies */
    if (!rc && c->zdisc) rc = dlx_spec_float(w, "zadv", false, 1.0, 0.0, 1e6, &c->w_zadv, err);
    return rc;
}

/* After the graphs (whose errors name the layers first): a weight of a term
 * that no network computes. */
static int check_zadv(const dis *c, dlx_err *err)
{
    if (c->zadv_given && !c->zdisc)
        return dlx_err_setf(err, DLX_EINVAL, c->zadv_loc,
                            "model.weights.zadv: the confusion term needs a latent adversary: give model.networks.zdisc");
    return 0;
}

/* With zdisc, after the optimizers: some update trains it (else z_adv pushes
 * against a fixed random classifier), and not g_loss's (which would train it
 * to agree with the encoder). */
static int check_zdisc_trained(dlx_model *m, const dis *c, dlx_err *err)
{
    if (!c->zdisc)
        return 0;
    const int grp = dlx_params_group_find(&m->params, "zdisc");
    int p0 = -1;
    for (int i = 0; i < m->params.n && p0 < 0; i++)
        if (m->params.items[i].group == grp)
            p0 = i;
    dlx_spec_node *train = dlx_spec_get(dlx_spec_root(m->spec), "train"), *ups = dlx_spec_get(train, "updates");
    const dlx_loc loc = ups ? ups->loc : train ? train->loc : DLX_NOLOC;
    bool trained = false;
    for (int u = 0; u < m->plan.n_updates && p0 >= 0; u++) {
        const dlx_plan_update *up = &m->plan.updates[u];
        if (!dlx_optim_has(m->plan.optims[up->optim].o, p0))
            continue;
        if (up->loss == DIS_LOSS_G)
            return dlx_err_setf(err, DLX_EINVAL, loc,
                                "train.updates: the optimizer of g_loss ('%s') also trains zdisc, which would then "
                                "help the encoder hide the class; give zdisc its own optimizer (params: zdisc) on z_cls",
                                m->plan.optims[up->optim].name);
        trained = true;
    }
    if (!trained)
        return dlx_err_setf(err, DLX_EINVAL, loc,
                            "train.updates: no update trains the latent adversary zdisc; add an optimizer with "
                            "params: zdisc and an update {loss: z_cls, optimizer: ...}");
    return 0;
}

dlx_spec_node *dlx_dis_layers(const dlx_model *m, const char *net)
{
    dlx_spec_node *model = dlx_spec_get(dlx_spec_root(m->spec), "model");
    return dlx_spec_get(dlx_spec_get(dlx_spec_get(model, "networks"), net), "layers");
}

dlx_node *dlx_dis_as_image(dlx_graph *g, const dis *c, dlx_node *y, dlx_err *err)
{
    dlx_shape s = dlx_shape_4d(y->out.shape.d[0], c->c, c->h, c->w);
    if (dlx_shape_eq(&s, &y->out.shape))
        return y;
    dlx_reshape_attr a = {.ndim = 4, .d = {0, c->c, c->h, c->w}};
    return dlx_graph_op(g, &dlx_op_reshape, NULL, &y, 1, &a, DLX_NOLOC, err);
}

/* What each network's output must hold per sample, for the check and its message. */
static int64_t net_out_size(const dis *c, const char *net, char *what, size_t n)
{
    if (!strcmp(net, "enc")) {
        snprintf(what, n, "the encoder gives s and z's means and log-variances: s + 2z = %lld + 2x%lld = %lld",
                 (long long)c->ns, (long long)c->nz, (long long)(c->ns + 2 * c->nz));
        return c->ns + 2 * c->nz;
    }
    if (!strcmp(net, "dec")) {
        snprintf(what, n, "the decoder gives an image of the data, %dx%dx%d = %lld", c->c, c->h, c->w,
                 (long long)c->x_numel);
        return c->x_numel;
    }
    if (!strcmp(net, "zdisc")) {
        snprintf(what, n, "the latent adversary gives one logit per class, %d", c->classes);
        return c->classes;
    }
    snprintf(what, n, "the adversary gives one logit");
    return 1;
}

int dlx_dis_build_net(dlx_model *m, dlx_graph *g, const char *net, dlx_node *in, dlx_layers_out *lo, dlx_node **out,
                      dlx_err *err)
{
    const dis *c = m->impl;
    char prefix[16], what[160];
    snprintf(prefix, sizeof prefix, "%s.", net);
    int rc = m->params.final ? 0 : dlx_params_begin_group(&m->params, net, err);
    if (!rc) rc = dlx_layers_build(g, &m->params, dlx_dis_layers(m, net), prefix, in, lo, err);
    if (rc)
        return rc;
    const int64_t n = in->out.shape.d[0], per = lo->output->out.numel / n, want = net_out_size(c, net, what, sizeof what);
    if (per != want || lo->output->out.numel % n) {
        dlx_spec_node *layers = dlx_dis_layers(m, net);
        return dlx_err_setf(err, DLX_EINVAL, layers->items[layers->n - 1]->loc,
                            "model.networks.%s: the last layer gives %lld outputs per sample; %s", net, (long long)per,
                            what);
    }
    *out = lo->output;
    return 0;
}

/* ---- one replica's graph ---------------------------------------------------- */

typedef struct dis_build {
    dlx_model *m;
    dlx_graph *g;
    dlx_layers_out *info; /* enc, dec, disc: replica 0's, else scratch */
    dlx_err *err;
} dis_build;

static dlx_node *op(dis_build *b, const dlx_op_vtbl *o, const char *name, dlx_node **in, int n_in, const void *attr)
{
    return dlx_graph_op(b->g, o, name, in, n_in, attr, DLX_NOLOC, b->err);
}

static dlx_node *slice1(dis_build *b, dlx_node *x, int64_t start, int64_t size)
{
    dlx_slice_attr a = {.axis = 1, .start = start, .size = size};
    return op(b, &dlx_op_slice, NULL, &x, 1, &a);
}

/* net on x; the layer table kept once per network */
static dlx_node *net(dis_build *b, int which, dlx_node *x)
{
    dlx_layers_out scratch = {0}, *lo = b->info[which].info ? &scratch : &b->info[which];
    dlx_node *y = NULL;
    int rc = dlx_dis_build_net(b->m, b->g, k_net_names[which], x, lo, &y, b->err);
    free(scratch.info);
    return rc ? NULL : y;
}

static dlx_node *decode(dis_build *b, dlx_node *s, dlx_node *z)
{
    dlx_node *in[2] = {s, z};
    dlx_concat_attr a = {.axis = 1};
    dlx_node *code = s && z ? op(b, &dlx_op_concat, NULL, in, 2, &a) : NULL;
    dlx_node *y = code ? net(b, 1, code) : NULL;
    return y ? dlx_dis_as_image(b->g, b->m->impl, y, b->err) : NULL;
}

static dlx_node *judge(dis_build *b, dlx_node *img, dlx_node *cls)
{
    dlx_node *in[2] = {img, cls};
    dlx_concat_attr a = {.axis = 1};
    dlx_node *x = img ? op(b, &dlx_op_concat, NULL, in, 2, &a) : NULL;
    return x ? net(b, 2, x) : NULL;
}

static dlx_node *bce(dis_build *b, dlx_node *logits, float target)
{
    dlx_bce_attr a = {.target = target};
    return logits ? op(b, &dlx_op_bce_logits, NULL, &logits, 1, &a) : NULL;
}

static dlx_node *mse(dis_build *b, dlx_node *p, dlx_node *t)
{
    dlx_node *in[2] = {p, t};
    dlx_mse_attr a = {DLX_MSE_MEAN};
    return p ? op(b, &dlx_op_mse, NULL, in, 2, &a) : NULL;
}

static dlx_node *sum(dis_build *b, const char *name, dlx_node **in, int n)
{
    for (int i = 0; i < n; i++)
        if (!in[i])
            return NULL;
    return op(b, &dlx_op_add, name, in, n, NULL);
}

/* The latent adversary on z's means mu of the triplet: z_cls (its own loss,
 * x1 and x2 of class label1, x3 of label3) and z_adv (the encoder's). */
static void latent_adversary(dis_build *b, dlx_node *const *mu, dlx_node *const *lab, dlx_node **L)
{
    dlx_node *cls[DIS_MEMBERS] = {0}, *conf[DIS_MEMBERS] = {0};
    for (int i = 0; i < DIS_MEMBERS; i++) {
        dlx_node *logits = mu[i] ? net(b, DIS_NET_ZDISC, mu[i]) : NULL;
        dlx_node *in[2] = {logits, lab[i == 2]};
        cls[i] = logits ? op(b, &dlx_op_softmax_xent, NULL, in, 2, NULL) : NULL;
        conf[i] = logits ? op(b, &dlx_op_xent_uniform, NULL, &logits, 1, NULL) : NULL;
    }
    L[DIS_LOSS_Z_CLS] = sum(b, "z_cls", cls, DIS_MEMBERS);
    L[DIS_LOSS_Z_ADV] = sum(b, "z_adv", conf, DIS_MEMBERS);
}

static int build_graph(dlx_model *m, int64_t batch, dlx_graph **out, dis_replica *r, dlx_layers_out *info,
                       dlx_err *err)
{
    dis *c = m->impl;
    dis_build b = {.m = m, .g = dlx_graph_create(&m->params), .info = info, .err = err};
    if (!b.g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    static const char *const xn[DIS_MEMBERS] = {"x1", "x2", "x3"}, *const en[DIS_MEMBERS] = {"eps1", "eps2", "eps3"};
    dlx_node *s[DIS_MEMBERS] = {0}, *z[DIS_MEMBERS] = {0}, *kl[DIS_MEMBERS] = {0}, *rec[DIS_MEMBERS] = {0};
    dlx_node *mu[DIS_MEMBERS] = {0};
    int rc = 0;
    for (int i = 0; i < DIS_MEMBERS && !rc; i++) {
        r->x[i] = dlx_graph_input(b.g, xn[i], dlx_shape_4d(batch, c->c, c->h, c->w), false, err);
        r->eps[i] = dlx_graph_input(b.g, en[i], dlx_shape_2d(batch, c->nz), false, err);
        rc = r->x[i] && r->eps[i] ? 0 : err->code;
    }
    for (int i = 0; i < 2 && !rc; i++) {
        r->cls[i] = dlx_graph_input(b.g, i ? "class3" : "class1", dlx_shape_4d(batch, c->classes, c->h, c->w), false, err);
        r->lab[i] = c->zdisc ? dlx_graph_input(b.g, i ? "label3" : "label1", dlx_shape_1d(batch), false, err) : NULL;
        rc = r->cls[i] && (r->lab[i] || !c->zdisc) ? 0 : err->code;
    }
    /* the encoder three times (one set of parameters), then the decoder, then the adversary */
    for (int i = 0; i < DIS_MEMBERS && !rc; i++) {
        dlx_node *e = net(&b, 0, r->x[i]);
        dlx_node *h = e ? slice1(&b, e, c->ns, 2 * c->nz) : NULL, *in[2] = {h, r->eps[i]};
        s[i] = e ? slice1(&b, e, 0, c->ns) : NULL;
        mu[i] = e && c->zdisc ? slice1(&b, e, c->ns, c->nz) : NULL;
        z[i] = h ? op(&b, &dlx_op_reparam, NULL, in, 2, NULL) : NULL;
        kl[i] = h ? op(&b, &dlx_op_kl_normal, NULL, &h, 1, NULL) : NULL;
        rc = s[i] && z[i] && kl[i] ? 0 : err->code;
    }
    if (rc)
        goto out;
    for (int i = 0; i < DIS_MEMBERS; i++)
        rec[i] = mse(&b, decode(&b, s[i], z[i]), r->x[i]);
    /* one statement per node (an initializer list's order of evaluation is unspecified) */
    dlx_node *swap[2], *fake[2], *d_fake_in[2], *d_real_in[2], *real_t[2], *fake_t[2], *adv_t[2];
    swap[0] = mse(&b, decode(&b, s[1], z[0]), r->x[0]);
    swap[1] = mse(&b, decode(&b, s[0], z[1]), r->x[1]);
    fake[0] = decode(&b, s[1], z[2]); /* x2's class, x1's: condition class1 */
    fake[1] = decode(&b, s[2], z[1]); /* x3's class: condition class3 */
    for (int i = 0; i < 2; i++)
        d_fake_in[i] = judge(&b, fake[i], r->cls[i]);
    d_real_in[0] = judge(&b, r->x[0], r->cls[0]);
    d_real_in[1] = judge(&b, r->x[2], r->cls[1]);
    for (int i = 0; i < 2; i++) {
        real_t[i] = bce(&b, d_real_in[i], (float)c->real_target);
        fake_t[i] = bce(&b, d_fake_in[i], 0.0f);
        adv_t[i] = bce(&b, d_fake_in[i], 1.0f);
    }
    dlx_node **L = r->loss;
    L[DIS_LOSS_REC] = sum(&b, "rec", rec, DIS_MEMBERS);
    L[DIS_LOSS_SWAP] = sum(&b, "swap", swap, 2);
    L[DIS_LOSS_ADV] = sum(&b, "adv", adv_t, 2);
    L[DIS_LOSS_KL] = sum(&b, "kl", kl, DIS_MEMBERS);
    L[DIS_LOSS_D_REAL] = sum(&b, "d_real", real_t, 2);
    L[DIS_LOSS_D_FAKE] = sum(&b, "d_fake", fake_t, 2);
    L[DIS_LOSS_D] = sum(&b, "d_loss", L + DIS_LOSS_D_REAL, 2);
    if (c->zdisc)
        latent_adversary(&b, mu, r->lab, L);
    dlx_weighted_sum_attr wa = {
        .w = {(float)c->w_rec, (float)c->w_swap, (float)c->w_adv, (float)c->w_kl, (float)c->w_zadv}};
    dlx_node *g_terms[5] = {L[DIS_LOSS_REC], L[DIS_LOSS_SWAP], L[DIS_LOSS_ADV], L[DIS_LOSS_KL],
                            c->zdisc ? L[DIS_LOSS_Z_ADV] : NULL};
    const int n_g = c->zdisc ? 5 : 4;
    bool all = true;
    for (int i = 0; i < n_g; i++)
        all = all && g_terms[i];
    L[DIS_LOSS_G] = all ? op(&b, &dlx_op_weighted_sum, "g_loss", g_terms, n_g, &wa) : NULL;
    rc = L[DIS_LOSS_G] && L[DIS_LOSS_D] ? 0 : err->code;
    if (!rc) rc = dlx_plan_compose(&m->plan, b.g, r->loss, r->loss + c->n_terms, err);
out:
    if (rc)
        dlx_graph_destroy(b.g);
    else
        *out = b.g;
    return rc;
}

static int build_replica(void *user, int k, dlx_graph **g, dlx_err *err)
{
    dlx_model *m = user;
    dis *c = m->impl;
    dlx_layers_out scratch[DIS_NETS] = {{0}};
    int rc = build_graph(m, c->shard_batch, g, &c->rep[k], k == 0 ? c->info : scratch, err);
    for (int i = 0; i < DIS_NETS; i++)
        free(scratch[i].info);
    return rc;
}

static void report_layers(const dlx_model *m, const dis *c)
{
    for (int n = 0; n < c->n_nets; n++)
        dlx_run_network_table(m, k_net_names[n], &c->info[n]);
}

static void dis_destroy(dlx_model *m)
{
    dis *c = m->impl;
    if (!c)
        return;
    dlx_replicas_free(&c->reps);
    dlx_graph_destroy(c->enc_g);
    dlx_graph_destroy(c->dec_g);
    for (int k = 0; k < DLX_REPLICAS_MAX; k++) {
        free(c->rep[k].idx);
        for (int i = 0; i < DIS_MEMBERS; i++)
            free(c->rep[k].labels[i]);
    }
    dlx_images_free(&c->im);
    for (int i = 0; i < DIS_NETS; i++)
        free(c->info[i].info);
    free(c);
    m->impl = NULL;
}

static int open_images(dlx_model *m, dis *c, dlx_err *err)
{
    dlx_spec_node *train = dlx_spec_get(dlx_spec_root(m->spec), "train"), *b = dlx_spec_get(train, "batch");
    int rc = dlx_images_open(&c->im, c->tc.batch, "train.batch", b ? b->loc : train->loc, err);
    if (rc)
        return rc;
    c->c = c->im.c, c->h = c->im.h, c->w = c->im.w, c->classes = c->im.num_classes;
    c->x_numel = (int64_t)c->c * c->h * c->w;
    for (int k = 0; k < c->tc.shards; k++) {
        c->rep[k].idx = malloc((size_t)c->shard_batch * sizeof *c->rep[k].idx);
        for (int i = 0; i < DIS_MEMBERS; i++)
            if (!(c->rep[k].labels[i] = malloc((size_t)c->shard_batch * sizeof(float))))
                return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        if (!c->rep[k].idx)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    return 0;
}

static int dis_create(dlx_model *m, dlx_err *err)
{
    dis *c = calloc(1, sizeof *c);
    if (!c)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = c;
    int rc = read_model(m, c, err);
    if (!rc) rc = open_images(m, c, err);
    if (!rc) rc = read_weights(m, c, err);
    if (rc)
        return rc;
    int threads = dlx_replicas_threads(m->threads);
    dlx_replicas_init(&c->reps, &m->params, c->tc.shards, threads);
    rc = dlx_replicas_build(&c->reps, m, dlx_images_bytes(&c->im), build_replica, m, err);
    if (!rc) rc = check_zadv(c, err);
    if (!rc) rc = dlx_dis_build_infer(m, c, err);
    if (!rc) rc = dlx_params_init_values(&m->params, m->seed, err);
    if (!rc) rc = dlx_plan_create(&m->plan, &m->params, threads, err);
    if (!rc) rc = check_zdisc_trained(m, c, err);
    if (!rc)
        report_layers(m, c);
    return rc;
}

/* ---- data ------------------------------------------------------------------ */

static uint64_t draw_stream(int64_t step, int u, int rep, int k)
{
    uint64_t d = (((uint64_t)step * DLX_UPDATES_MAX + (uint64_t)u) * DLX_REPEAT_MAX + (uint64_t)rep) * DLX_REPLICAS_MAX +
                 (uint64_t)k;
    return (uint64_t)DIS_STREAM_NOISE + (d << 8);
}

static void dis_begin_epoch(void *user, int64_t epoch)
{
    dlx_model *m = user;
    dis *c = m->impl;
    dlx_images_epoch(&c->im, m->seed, epoch);
}

/* K planes per sample: plane y all 1, the others 0 (a label outside [0, K) gives none). */
static void one_hot_planes(float *out, const float *y, int64_t n, int classes, int64_t plane)
{
    memset(out, 0, (size_t)(n * classes * plane) * sizeof *out);
    for (int64_t i = 0; i < n; i++) {
        const int k = (int)y[i];
        if (k < 0 || k >= classes)
            continue;
        float *p = out + (i * classes + k) * plane;
        for (int64_t j = 0; j < plane; j++)
            p[j] = 1.0f;
    }
}

/* The triplets of batch pos (the same for every update of a step); z's noise per (step, update, repeat, replica). */
static void dis_feed(void *user, int u, int rep, int k, int64_t pos)
{
    const dlx_model *m = user;
    const dis *c = m->impl;
    const dis_replica *r = &c->rep[k];
    const int64_t first = k * c->shard_batch;
    const int rows = (int)c->shard_batch;
    dlx_images_feed(&c->im, c->tc.batch, pos, first, rows, r->idx, r->x[0]->out.data, r->labels[0], NULL);
    for (int i = 1; i < DIS_MEMBERS; i++)
        dlx_images_feed_member(&c->im, c->tc.batch, pos, first, rows, i, i == 1, m->seed, m->step, r->idx,
                               r->x[i]->out.data, r->labels[i]);
    dlx_rng g;
    dlx_rng_init(&g, m->seed, draw_stream(m->step, u, rep, k));
    for (int i = 0; i < DIS_MEMBERS; i++)
        for (int64_t j = 0; j < r->eps[i]->out.numel; j++)
            r->eps[i]->out.data[j] = dlx_rng_normal(&g);
    const int64_t plane = (int64_t)c->h * c->w;
    one_hot_planes(r->cls[0]->out.data, r->labels[0], c->shard_batch, c->classes, plane);
    one_hot_planes(r->cls[1]->out.data, r->labels[2], c->shard_batch, c->classes, plane);
    for (int i = 0; i < 2 && c->zdisc; i++)
        memcpy(r->lab[i]->out.data, r->labels[2 * i], (size_t)c->shard_batch * sizeof(float));
}

static int dis_eval_test(void *user, dlx_results *res, dlx_err *err)
{
    dlx_model *m = user;
    return dlx_dis_eval(m, m->impl, res, err);
}

static int dis_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    if (data)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "a disentangle model evaluates on its spec's test split: --data does not apply");
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "step", (double)m->step);
    return dlx_dis_eval(m, m->impl, res, err);
}

/* g_loss's terms, as train_rec, train_swap, train_adv, train_kl (and with
 * zdisc train_z_adv; z_cls's update logs train_z_cls itself): taken at the
 * update of g_loss (or, without one, the last update), the replicas' mean. */
static void dis_measure(void *user, int u, int k, double *v)
{
    const dlx_model *m = user;
    const dis *c = m->impl;
    int at = m->plan.n_updates - 1;
    for (int i = 0; i < m->plan.n_updates; i++)
        if (m->plan.updates[i].loss == DIS_LOSS_G)
            at = i;
    for (int i = 0; i < 4; i++)
        v[i] = u == at ? (double)c->rep[k].loss[DIS_LOSS_REC + i]->out.data[0] / c->tc.shards : 0.0;
    if (!c->zdisc)
        return;
    v[4] = u == at ? (double)c->rep[k].loss[DIS_LOSS_Z_ADV]->out.data[0] / c->tc.shards : 0.0;
}

static dlx_node *dis_loss(void *user, int l, int k)
{
    const dlx_model *m = user;
    return ((const dis *)m->impl)->rep[k].loss[l];
}

static int dis_train(dlx_model *m, dlx_err *err)
{
    dis *c = m->impl;
    int rc = dlx_images_load_train(&c->im, err);
    if (!rc) rc = dlx_images_index_classes(&c->im, err);
    if (rc)
        return rc;
    dlx_trainer t = {
        .cfg = c->tc,
        .replicas = &c->reps,
        .plan = &m->plan,
        .fam = {.user = m, .loss = dis_loss, .samples = c->im.train.n, .begin_epoch = dis_begin_epoch,
                .feed = dis_feed, .measure = dis_measure, .n_measures = c->zdisc ? 5 : 4,
                .measures = {{"train_rec", 1.0}, {"train_swap", 1.0}, {"train_adv", 1.0}, {"train_kl", 1.0},
                             {"train_z_adv", 1.0}},
                .evaluate = dis_eval_test},
    };
    return dlx_trainer_run(m, &t, err);
}

/* g_loss and d_loss (or the loss o->loss names) on a graph of 2-sample triplets from the test split. */
static int dis_gradcheck(dlx_model *m, const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err)
{
    dis *c = m->impl;
    const int n_losses = c->n_terms + m->plan.n_composites;
    int which = -1;
    for (int l = 0; o->loss && l < n_losses; l++)
        if (!strcmp(o->loss, m->plan.loss_names[l]))
            which = l;
    if (o->loss && which < 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--loss: a disentangle model has the losses d_loss, g_loss, rec, swap, adv, kl, d_real, "
                            "d_fake (with networks.zdisc also z_cls, z_adv; and train.losses), not '%s'", o->loss);
    dlx_graph *g = NULL;
    dis_replica r = {0};
    dlx_layers_out scratch[DIS_NETS] = {{0}};
    int rc = build_graph(m, 2, &g, &r, scratch, err);
    for (int i = 0; i < DIS_NETS; i++)
        free(scratch[i].info);
    if (!rc) rc = dlx_graph_compile(g, m->max_memory, err);
    memset(rep, 0, sizeof *rep);
    for (int l = 0; l < n_losses && !rc; l++) {
        if (which >= 0 ? l != which : (l != DIS_LOSS_D && l != DIS_LOSS_G))
            continue;
        float y[2][2];
        for (int i = 0; i < DIS_MEMBERS; i++) {
            uint32_t idx[2] = {(uint32_t)(2 * i) % (uint32_t)c->im.test.n, (uint32_t)(2 * i + 1) % (uint32_t)c->im.test.n};
            float lab[2];
            dlx_dataset_batch(&c->im.test, &c->im.tf, idx, 2, r.x[i]->out.data, lab);
            if (i != 1)
                memcpy(y[i / 2], lab, sizeof lab);
            dlx_rng gen;
            dlx_rng_init(&gen, m->seed, DIS_STREAM_PROBE + ((uint64_t)i << 8));
            for (int64_t j = 0; j < r.eps[i]->out.numel; j++)
                r.eps[i]->out.data[j] = dlx_rng_normal(&gen);
        }
        const int64_t plane = (int64_t)c->h * c->w;
        one_hot_planes(r.cls[0]->out.data, y[0], 2, c->classes, plane);
        one_hot_planes(r.cls[1]->out.data, y[1], 2, c->classes, plane);
        for (int i = 0; i < 2 && c->zdisc; i++)
            memcpy(r.lab[i]->out.data, y[i], sizeof y[i]);
        dlx_gradcheck_report one;
        const dlx_ctx ctx = {.training = true, .seed = m->seed, .threads = 1};
        rc = dlx_gradcheck_graph(g, r.loss[l], &ctx, o, &one, err);
        dlx_gradcheck_merge(rep, m->plan.loss_names[l], &one);
    }
    dlx_graph_destroy(g);
    return rc;
}

static const char *const k_sweep_measures[] = {"rec_mse", "swap_mse", "transfer_accuracy", "transfer_style_accuracy",
                                               "recon_accuracy", "s_probe_accuracy", "z_probe_accuracy",
                                               "z_sample_probe_accuracy",
                                               "train_g_loss", "train_d_loss", NULL};

const dlx_family dlx_family_disentangle = {
    .name = "disentangle",
    .dry_run = true,
    .help = "disentangling factors of variation (Mathieu et al. 2016): an encoder of a split code (s: the class, "
            "z: the style), a decoder and a class-conditioned adversary on swapped codes",
    .create = dis_create,
    .destroy = dis_destroy,
    .train = dis_train,
    .evaluate = dis_evaluate,
    .gradcheck = dis_gradcheck,
    .transfer = dlx_dis_transfer,
    .sweep_measures = k_sweep_measures,
    .spec_sections = k_sections,
};
