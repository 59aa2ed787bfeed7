/* The energy family's trained strategies on the one loop (train/trainer.h):
 * the auto-encoders (ae, dae, sae, cae) and noise-contrastive estimation.
 *
 * Replica k's graph, n = batch / shards points per replica:
 *   auto-encoders  h = sigmoid(W1 in + b1), y_hat = W1^T h + b2 (tied),
 *                  loss = mse half_sum(y_hat, x)            (ae, dae)
 *                       + weight * l1(h, 0)                  (sae: mean |h|)
 *                       + weight * contractive(h, W1)        (cae)
 *                  with in = x, or for dae x + N(0, corrupt^2);
 *                  E(y) = ||y_hat(y) - y||^2
 *   nce            s(y) = W3 tanh(W2 tanh(W1 y + b1) + b2) + b3, the same
 *                  parameters on the data x and on noise points u drawn
 *                  uniformly over the box; loss = bce(s(x), 1) + bce(s(u), 0):
 *                  s is the log-ratio of data to noise density up to a
 *                  constant, so E(y) = -s(y) is the unnormalised energy.
 *   cd             the same net on the data x and on negative samples n,
 *                  loss = mean s(n) - mean s(x) + weight (mean s(x)^2 +
 *                  mean s(n)^2): E down on the data, up on the samples,
 *                  bounded. Sample i starts at data point i and takes
 *                  cd_steps Langevin steps y += cd_step ds/dy + cd_noise xi,
 *                  with ds/dy by hand from the net's current parameters
 *                  (the feed runs before the step's update, so every
 *                  replica reads the same values), kept inside the box.
 * The data order of epoch e is dlx_epoch_order(seed, e); the corruption and
 * the noise points are drawn from (step, repeat, the row's place in the
 * batch), so a resumed run and any thread count see the same numbers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/data.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"
#include "../core/toy2d.h"
#include "energy_internal.h"

static int node_failed(dlx_err *err) { return err->code ? err->code : DLX_ENOMEM; }

static dlx_node *param(dlx_model *m, dlx_graph *g, const char *name, dlx_shape s, dlx_init init, dlx_err *err)
{
    int i = dlx_params_declare(&m->params, name, s, init, init.kind != DLX_INIT_ZERO, err);
    return i < 0 ? NULL : dlx_graph_param(g, i, err);
}

/* A linear layer of `units` outputs over x (n, fan_in), its parameters named <pre>.W and <pre>.b. */
static dlx_node *dense(dlx_model *m, dlx_graph *g, const char *pre, dlx_node *x, int64_t units, dlx_act act,
                       dlx_node **w_out, dlx_err *err)
{
    char wn[DLX_NAME_MAX], bn[DLX_NAME_MAX];
    const int64_t fan_in = x->out.shape.d[1];
    snprintf(wn, sizeof wn, "%s.W", pre);
    snprintf(bn, sizeof bn, "%s.b", pre);
    dlx_node *w = param(m, g, wn, dlx_shape_2d(units, fan_in),
                        (dlx_init){.kind = DLX_INIT_XAVIER, .fan_in = fan_in, .fan_out = units}, err);
    dlx_node *b = w ? param(m, g, bn, dlx_shape_1d(units), (dlx_init){.kind = DLX_INIT_ZERO}, err) : NULL;
    if (w_out)
        *w_out = w;
    return b ? dlx_graph_op(g, &dlx_op_linear, pre, (dlx_node *[]){x, w, b}, 3, &(dlx_linear_attr){.act = act},
                            DLX_NOLOC, err)
             : NULL;
}

static dlx_node *two_terms(dlx_graph *g, dlx_node *a, dlx_node *b, float wb, dlx_err *err)
{
    dlx_weighted_sum_attr ws = {.w = {1.0f, wb}};
    return dlx_graph_op(g, &dlx_op_weighted_sum, "loss", (dlx_node *[]){a, b}, 2, &ws, DLX_NOLOC, err);
}

static int build_autoencoder(dlx_model *m, const en *c, dlx_graph *g, en_replica *r, int64_t n, dlx_err *err)
{
    dlx_node *w1 = NULL;
    dlx_node *h = dense(m, g, "enc", c->strategy == S_DAE ? r->in : r->x, c->hidden, DLX_ACT_SIGMOID, &w1, err);
    /* the decoder's weight is W1^T: untied, a contracting or sparse code could
     * shrink W1 and let a large decoder undo it */
    dlx_node *w1t = h ? dlx_graph_op(g, &dlx_op_transpose, "dec.W", &w1, 1, NULL, DLX_NOLOC, err) : NULL;
    dlx_node *b2 = w1t ? param(m, g, "dec.b", dlx_shape_1d(c->d), (dlx_init){.kind = DLX_INIT_ZERO}, err) : NULL;
    r->out = b2 ? dlx_graph_op(g, &dlx_op_linear, "dec", (dlx_node *[]){h, w1t, b2}, 3,
                               &(dlx_linear_attr){.act = DLX_ACT_NONE}, DLX_NOLOC, err)
                : NULL;
    dlx_node *rec = r->out ? dlx_graph_op(g, &dlx_op_mse, "reconstruction", (dlx_node *[]){r->out, r->x}, 2,
                                          &(dlx_mse_attr){.mode = DLX_MSE_HALF_SUM}, DLX_NOLOC, err)
                           : NULL;
    if (!rec)
        return node_failed(err);
    dlx_node *pen = NULL;
    if (c->strategy == S_SAE) {
        r->zero = dlx_graph_input(g, "zero", dlx_shape_2d(n, c->hidden), false, err);
        pen = r->zero ? dlx_graph_op(g, &dlx_op_l1, "sparsity", (dlx_node *[]){h, r->zero}, 2, NULL, DLX_NOLOC, err)
                      : NULL;
    } else if (c->strategy == S_CAE) {
        pen = dlx_graph_op(g, &dlx_op_contractive, "contraction", (dlx_node *[]){h, w1}, 2, NULL, DLX_NOLOC, err);
    } else {
        r->loss = rec;
        return 0;
    }
    r->loss = pen ? two_terms(g, rec, pen, (float)c->weight, err) : NULL;
    return r->loss ? 0 : node_failed(err);
}

/* s(y) through the energy net; the same parameters at every call. */
static dlx_node *score_net(dlx_model *m, const en *c, dlx_graph *g, dlx_node *y, dlx_err *err)
{
    dlx_node *h1 = dense(m, g, "net.1", y, c->hidden, DLX_ACT_TANH, NULL, err);
    dlx_node *h2 = h1 ? dense(m, g, "net.2", h1, c->hidden, DLX_ACT_TANH, NULL, err) : NULL;
    return h2 ? dense(m, g, "net.3", h2, 1, DLX_ACT_NONE, NULL, err) : NULL;
}

static int build_nce(dlx_model *m, const en *c, dlx_graph *g, en_replica *r, dlx_err *err)
{
    r->out = score_net(m, c, g, r->x, err);
    dlx_node *su = r->out ? score_net(m, c, g, r->in, err) : NULL;
    dlx_node *ld = su ? dlx_graph_op(g, &dlx_op_bce_logits, "nce_data", (dlx_node *[]){r->out}, 1,
                                     &(dlx_bce_attr){.target = 1.0f}, DLX_NOLOC, err)
                      : NULL;
    dlx_node *ln = ld ? dlx_graph_op(g, &dlx_op_bce_logits, "nce_noise", (dlx_node *[]){su}, 1,
                                     &(dlx_bce_attr){.target = 0.0f}, DLX_NOLOC, err)
                      : NULL;
    r->loss = ln ? two_terms(g, ld, ln, 1.0f, err) : NULL;
    return r->loss ? 0 : node_failed(err);
}

static dlx_node *mean_of(dlx_graph *g, dlx_node *x, bool square, dlx_err *err)
{
    dlx_node *v = square ? dlx_graph_op(g, &dlx_op_mul, NULL, (dlx_node *[]){x, x}, 2, NULL, DLX_NOLOC, err) : x;
    return v ? dlx_graph_op(g, &dlx_op_mean, NULL, &v, 1, &(dlx_reduce_attr){.all = true}, DLX_NOLOC, err) : NULL;
}

static int build_cd(dlx_model *m, const en *c, dlx_graph *g, en_replica *r, dlx_err *err)
{
    r->out = score_net(m, c, g, r->x, err);
    dlx_node *sn = r->out ? score_net(m, c, g, r->in, err) : NULL;
    dlx_node *t[4] = {sn ? mean_of(g, r->out, false, err) : NULL};
    t[1] = t[0] ? mean_of(g, sn, false, err) : NULL;
    t[2] = t[1] ? mean_of(g, r->out, true, err) : NULL;
    t[3] = t[2] ? mean_of(g, sn, true, err) : NULL;
    const float w = (float)c->weight;
    r->loss = t[3] ? dlx_graph_op(g, &dlx_op_weighted_sum, "loss", t, 4, &(dlx_weighted_sum_attr){.w = {-1.0f, 1.0f, w, w}},
                                  DLX_NOLOC, err)
                   : NULL;
    return r->loss ? 0 : node_failed(err);
}

static int build_replica(void *user, int k, dlx_graph **gout, dlx_err *err)
{
    dlx_model *m = user;
    en *c = m->impl;
    en_replica *r = &c->rep[k];
    const int64_t n = c->shard_batch;
    dlx_graph *g = dlx_graph_create(&m->params);
    if (!g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    r->x = dlx_graph_input(g, "x", dlx_shape_2d(n, c->d), false, err);
    r->in = r->x ? dlx_graph_input(g, "in", dlx_shape_2d(n, c->strategy == S_PSD ? PSD_DIM : c->d), false, err) : NULL;
    int rc = !r->in                  ? node_failed(err)
             : c->strategy == S_NCE ? build_nce(m, c, g, r, err)
             : c->strategy == S_CD  ? build_cd(m, c, g, r, err)
             : c->strategy == S_PSD ? dlx_en_psd_graph(m, c, g, r, n, err)
                                    : build_autoencoder(m, c, g, r, n, err);
    if (!rc && c->strategy == S_CD && !(r->scratch = malloc((size_t)2 * c->hidden * sizeof *r->scratch)))
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    if (rc) {
        dlx_graph_destroy(g);
        return rc;
    }
    *gout = g;
    return 0;
}

int dlx_en_build_replicas(dlx_model *m, en *c, dlx_err *err)
{
    if (c->tc.batch > c->samples)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "train.batch (%lld) is larger than data.samples (%lld)",
                            (long long)c->tc.batch, (long long)c->samples);
    c->shard_batch = c->tc.batch / c->tc.shards;
    const int threads = dlx_replicas_threads(m->threads);
    dlx_replicas_init(&c->reps, &m->params, c->tc.shards, threads);
    double data = 4.0 * (double)(c->samples + 2 * c->test_samples) * (double)c->d;
    int rc = dlx_replicas_build(&c->reps, m, data, build_replica, m, err);
    static const char *const k_net[6] = {"net.1.W", "net.1.b", "net.2.W", "net.2.b", "net.3.W", "net.3.b"};
    for (int i = 0; i < 6 && !rc && c->strategy == S_CD; i++)
        c->net_p[i] = dlx_params_find(&m->params, k_net[i]);
    if (!rc) rc = dlx_params_init_values(&m->params, m->seed, err);
    if (!rc) rc = dlx_plan_create(&m->plan, &m->params, threads, err);
    return rc;
}

int dlx_en_net_energy(const dlx_model *m, const en *c, const float *Y, int64_t n, float *E, dlx_err *err)
{
    const en_replica *r = &c->rep[0];
    const dlx_ctx ctx = {.training = false, .seed = m->seed, .threads = c->reps.op_threads};
    const int64_t B = c->shard_batch, d = c->d;
    for (int64_t s = 0; s < n; s += B) {
        const int64_t rows = n - s < B ? n - s : B;
        memset(r->x->out.data, 0, (size_t)B * d * sizeof(float));
        memcpy(r->x->out.data, Y + s * d, (size_t)rows * d * sizeof(float));
        if (c->strategy == S_PSD)
            dlx_en_lift(r->x->out.data, B, r->in->out.data);
        else
            memcpy(r->in->out.data, r->x->out.data, (size_t)B * d * sizeof(float));
        dlx_graph_forward_to(c->reps.r[0].g, r->out, &ctx);
        const float *o = r->out->out.data;
        if (c->strategy == S_PSD) {
            int rc = dlx_en_psd_energy(m, c, r->in->out.data, o, rows, E + s, err);
            if (rc)
                return rc;
            continue;
        }
        for (int64_t i = 0; i < rows; i++) {
            if (c->strategy == S_NCE || c->strategy == S_CD) {
                E[s + i] = -o[i];
                continue;
            }
            double e = 0.0;
            for (int64_t a = 0; a < d; a++)
                e += ((double)o[i * d + a] - Y[(s + i) * d + a]) * ((double)o[i * d + a] - Y[(s + i) * d + a]);
            E[s + i] = (float)e;
        }
    }
    return 0;
}

void dlx_en_net_reconstruct(const dlx_model *m, const en *c, const float *Y, int64_t n, float *out)
{
    const en_replica *r = &c->rep[0];
    const dlx_ctx ctx = {.training = false, .seed = m->seed, .threads = c->reps.op_threads};
    const int64_t B = c->shard_batch, d = c->d;
    for (int64_t s = 0; s < n; s += B) {
        const int64_t rows = n - s < B ? n - s : B;
        memset(r->x->out.data, 0, (size_t)B * d * sizeof(float));
        memcpy(r->x->out.data, Y + s * d, (size_t)rows * d * sizeof(float));
        memcpy(r->in->out.data, r->x->out.data, (size_t)B * d * sizeof(float));
        dlx_graph_forward_to(c->reps.r[0].g, r->out, &ctx);
        memcpy(out + s * d, r->out->out.data, (size_t)rows * d * sizeof(float));
    }
}

/* ds/dy of the score net at y (d = 2) by backpropagation by hand; h1, h2:
 * H floats of scratch each. */
static void score_grad(const dlx_model *m, const en *c, const float *y, float *h1, float *h2, float *dy)
{
    const float *W1 = m->params.items[c->net_p[0]].t.data, *b1 = m->params.items[c->net_p[1]].t.data;
    const float *W2 = m->params.items[c->net_p[2]].t.data, *b2 = m->params.items[c->net_p[3]].t.data;
    const float *W3 = m->params.items[c->net_p[4]].t.data;
    const int64_t H = c->hidden, d = c->d;
    for (int64_t j = 0; j < H; j++) {
        double a = b1[j];
        for (int64_t i = 0; i < d; i++)
            a += (double)W1[j * d + i] * y[i];
        h1[j] = tanhf((float)a);
    }
    for (int64_t j = 0; j < H; j++) {
        double a = b2[j];
        for (int64_t i = 0; i < H; i++)
            a += (double)W2[j * H + i] * h1[i];
        h2[j] = W3[j] * (1.0f - tanhf((float)a) * tanhf((float)a)); /* ds/da2 */
    }
    for (int64_t i = 0; i < H; i++) { /* ds/da1 into h1 */
        double g = 0.0;
        for (int64_t j = 0; j < H; j++)
            g += (double)W2[j * H + i] * h2[j];
        h1[i] = (float)(g * (1.0 - (double)h1[i] * h1[i]));
    }
    for (int64_t i = 0; i < d; i++) {
        double g = 0.0;
        for (int64_t j = 0; j < H; j++)
            g += (double)W1[j * d + i] * h1[j];
        dy[i] = (float)g;
    }
}

/* The negative samples of rows x (n of them, numbered from `first` in the
 * step's draw) into y: Langevin steps down the energy from each; h1:
 * 2 hidden floats of the replica's scratch. */
static void langevin(const dlx_model *m, const en *c, const float *x, int64_t n, uint64_t first, float *h1, float *y)
{
    const int64_t d = c->d, H = c->hidden;
    for (int64_t i = 0; i < n; i++) {
        float *p = y + i * d, g[2];
        memcpy(p, x + i * d, (size_t)d * sizeof *p);
        for (int64_t t = 0; t < c->cd_steps; t++) {
            uint32_t b[4];
            dlx_philox(m->seed, EN_STREAM_CD, (first + (uint64_t)i) * (uint64_t)c->cd_steps + (uint64_t)t, b);
            score_grad(m, c, p, h1, h1 + H, g);
            for (int64_t a = 0; a < d; a++) {
                double u1 = 1.0 - (double)(b[2 * a] >> 8) / 16777216.0, u2 = (double)(b[2 * a + 1] >> 8) / 16777216.0;
                double v = p[a] + c->cd_step * g[a] + c->cd_noise * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
                p[a] = (float)fmin(fmax(v, c->box[2 * a]), c->box[2 * a + 1]);
            }
        }
    }
}

/* ---- the trainer's callbacks ---- */

static void en_begin_epoch(void *user, int64_t epoch)
{
    dlx_model *m = user;
    en *c = m->impl;
    dlx_epoch_order(m->seed, epoch, c->order, (uint32_t)c->samples);
}

static void en_feed(void *user, int u, int rep, int k, int64_t pos)
{
    (void)u;
    const dlx_model *m = user;
    const en *c = m->impl;
    const en_replica *r = &c->rep[k];
    const int64_t n = c->shard_batch, d = c->d;
    const uint32_t *rows = c->order + pos * c->tc.batch + k * n;
    float *x = r->x->out.data, *in = r->in->out.data;
    for (int64_t i = 0; i < n; i++)
        memcpy(x + i * d, c->train + (size_t)rows[i] * d, (size_t)d * sizeof(float));
    /* the first draw number of this replica's rows: a pure function of where they are */
    const uint64_t first = ((uint64_t)m->step * DLX_REPEAT_MAX + (uint64_t)rep) * (uint64_t)c->tc.batch + (uint64_t)(k * n);
    if (c->strategy == S_NCE) {
        dlx_en_fill_uniform(m, c, EN_STREAM_NCE, (int64_t)first, n, in);
        return;
    }
    if (c->strategy == S_CD) {
        langevin(m, c, x, n, first, r->scratch, in);
        return;
    }
    if (c->strategy == S_PSD) {
        dlx_en_psd_feed(c, r, rows, n);
        return;
    }
    memcpy(in, x, (size_t)(n * d) * sizeof(float));
    if (c->strategy == S_DAE) /* value a of row i: a Box-Muller pair of block (first + i) * ceil(d / 2) + a / 2 */
        for (int64_t i = 0; i < n; i++)
            for (int64_t a = 0; a < d; a++) {
                uint32_t b[4];
                dlx_philox(m->seed, EN_STREAM_CORRUPT, (first + (uint64_t)i) * (uint64_t)((d + 1) / 2) + (uint64_t)(a / 2), b);
                const int h = (int)(a % 2) * 2;
                double u1 = 1.0 - (double)(b[h] >> 8) / 16777216.0, u2 = (double)(b[h + 1] >> 8) / 16777216.0;
                in[i * d + a] += (float)(c->corrupt * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
            }
    if (r->zero)
        memset(r->zero->out.data, 0, (size_t)r->zero->out.numel * sizeof(float));
}

static dlx_node *en_loss(void *user, int l, int k)
{
    (void)l;
    const dlx_model *m = user;
    return ((const en *)m->impl)->rep[k].loss;
}

static int en_eval_cb(void *user, dlx_results *res, dlx_err *err)
{
    const dlx_model *m = user;
    return dlx_en_evaluate(m, m->impl, res, err);
}

static int en_finish(void *user, dlx_err *err)
{
    const dlx_model *m = user;
    return dlx_en_write_pictures(m, m->impl, err);
}

int dlx_en_train_net(dlx_model *m, en *c, dlx_err *err)
{
    if (!c->order && !(c->order = malloc((size_t)c->samples * sizeof *c->order)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    if (c->strategy == S_PSD && !m->hooks.dry_run) {
        int rc = dlx_en_psd_prepare(m, c, err);
        if (rc)
            return rc;
    }
    dlx_trainer t = {
        .cfg = c->tc,
        .replicas = &c->reps,
        .plan = &m->plan,
        .fam = {.user = m, .loss = en_loss, .samples = c->samples, .begin_epoch = en_begin_epoch, .feed = en_feed,
                .evaluate = en_eval_cb, .finish = en_finish},
    };
    return dlx_trainer_run(m, &t, err);
}
