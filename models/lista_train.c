/* The sparse_coding family's trained encoders (lista, lcod) on the shared
 * loop, train/trainer.c, which brings --resume, --stop-at, --profile,
 * progress, the NaN guard, signals, log_every and checkpoint_every.
 *
 * Each step trains every depth of model.T on the same batch, as the loop
 * before the trainer did: replica k's graph holds every encoder over one
 * input X and one target Z* (rows k * shard .. of the batch), and its loss
 * is the sum of the encoders' HALF_SUM mse. Their parameters are disjoint,
 * so each encoder's gradient is the bits its own graph would give. The
 * default is one replica (train.shards: 1), the whole batch in one graph:
 * the products then see the batch the earlier loop gave them.
 *
 * The data order of epoch e is dlx_epoch_order(seed, e), so a resumed run
 * feeds the same rows. After every evaluated epoch: energy_star, err_T<k>
 * and gap_T<k> on the test samples; at the end atoms.png.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/data.h"
#include "../core/ops/ops.h"
#include "../core/png.h"
#include "../core/sparse.h"
#include "lista_internal.h"

static int node_failed(dlx_err *err) { return err->code ? err->code : DLX_ENOMEM; }

/* LISTA: B = linear(X; We), Z0 = shrink(B, theta), T times
 * Z = shrink(B + linear(Z; S), theta); LCoD: one lcod op of T updates. */
static dlx_node *encoder_ops(const sc *c, dlx_graph *g, const encoder *e, dlx_node *x, dlx_node *we, dlx_node *s,
                             dlx_node *th, dlx_err *err)
{
    char name[DLX_NAME_MAX];
    if (c->algo == ALG_LCOD) {
        dlx_lcod_attr la = {.steps = e->T};
        snprintf(name, sizeof name, "T%d.Z", e->T);
        return dlx_graph_op(g, &dlx_op_lcod, name, (dlx_node *[]){x, we, s, th}, 4, &la, DLX_NOLOC, err);
    }
    dlx_linear_attr lin = {.act = DLX_ACT_NONE};
    snprintf(name, sizeof name, "T%d.B", e->T);
    dlx_node *b = dlx_graph_op(g, &dlx_op_linear, name, (dlx_node *[]){x, we}, 2, &lin, DLX_NOLOC, err);
    snprintf(name, sizeof name, "T%d.Z0", e->T);
    dlx_node *z = b ? dlx_graph_op(g, &dlx_op_shrink, name, (dlx_node *[]){b, th}, 2, NULL, DLX_NOLOC, err) : NULL;
    for (int t = 1; z && t <= e->T; t++) {
        dlx_node *sz = dlx_graph_op(g, &dlx_op_linear, NULL, (dlx_node *[]){z, s}, 2, &lin, DLX_NOLOC, err);
        dlx_node *cc = sz ? dlx_graph_op(g, &dlx_op_add, NULL, (dlx_node *[]){b, sz}, 2, NULL, DLX_NOLOC, err) : NULL;
        snprintf(name, sizeof name, "T%d.Z%d", e->T, t);
        z = cc ? dlx_graph_op(g, &dlx_op_shrink, name, (dlx_node *[]){cc, th}, 2, NULL, DLX_NOLOC, err) : NULL;
    }
    return z;
}

int dlx_sc_add_encoder(dlx_model *m, const sc *c, dlx_graph *g, encoder *e, dlx_node *x, dlx_node *zs, dlx_node **z,
                       dlx_node **loss, dlx_err *err)
{
    char name[DLX_NAME_MAX];
    dlx_init zero = {.kind = DLX_INIT_ZERO};
    const char *pre = c->algo == ALG_LCOD ? "lcod" : "lista";
    snprintf(name, sizeof name, "%s.T%d.We", pre, e->T);
    if ((e->we = dlx_params_declare(&m->params, name, dlx_shape_2d(c->m, c->n), zero, false, err)) < 0)
        return e->we;
    snprintf(name, sizeof name, "%s.T%d.S", pre, e->T);
    if ((e->s = dlx_params_declare(&m->params, name, dlx_shape_2d(c->m, c->m), zero, false, err)) < 0)
        return e->s;
    snprintf(name, sizeof name, "%s.T%d.theta", pre, e->T);
    if ((e->th = dlx_params_declare(&m->params, name, dlx_shape_1d(c->m), zero, false, err)) < 0)
        return e->th;
    dlx_node *we = dlx_graph_param(g, e->we, err), *s = dlx_graph_param(g, e->s, err), *th = dlx_graph_param(g, e->th, err);
    if (!we || !s || !th || !(*z = encoder_ops(c, g, e, x, we, s, th, err)))
        return node_failed(err);
    dlx_mse_attr mse = {.mode = DLX_MSE_HALF_SUM};
    snprintf(name, sizeof name, "T%d.loss", e->T);
    if (!(*loss = dlx_graph_op(g, &dlx_op_mse, name, (dlx_node *[]){*z, zs}, 2, &mse, DLX_NOLOC, err)))
        return node_failed(err);
    return 0;
}

/* Replica k's graph: every encoder, and the sum of their losses
 * (dlx_replica_build_fn). */
static int build_replica(void *user, int k, dlx_graph **gout, dlx_err *err)
{
    dlx_model *m = user;
    sc *c = m->impl;
    dlx_graph *g = dlx_graph_create(&m->params);
    if (!g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_node *x = dlx_graph_input(g, "X", dlx_shape_2d(c->shard_batch, c->n), false, err);
    dlx_node *zs = dlx_graph_input(g, "Zstar", dlx_shape_2d(c->shard_batch, c->m), false, err);
    dlx_node *total = NULL;
    int rc = x && zs ? 0 : node_failed(err);
    for (int i = 0; !rc && i < c->nT; i++) {
        dlx_node *z, *loss;
        rc = dlx_sc_add_encoder(m, c, g, &c->enc[i], x, zs, &z, &loss, err);
        if (!rc && k == 0)
            c->enc[i].z = z;
        if (!rc && total) {
            const char *name = i == c->nT - 1 ? "loss" : NULL;
            total = dlx_graph_op(g, &dlx_op_add, name, (dlx_node *[]){total, loss}, 2, NULL, DLX_NOLOC, err);
            rc = total ? 0 : node_failed(err);
        } else if (!rc) {
            total = loss;
        }
    }
    if (rc) {
        dlx_graph_destroy(g);
        return rc;
    }
    c->x[k] = x;
    c->zs[k] = zs;
    c->loss[k] = total;
    *gout = g;
    return 0;
}

int dlx_sc_build_replicas(dlx_model *m, sc *c, dlx_err *err)
{
    c->shard_batch = c->tc.batch / c->tc.shards;
    dlx_replicas_init(&c->reps, &m->params, c->tc.shards, dlx_replicas_threads(m->threads));
    /* the samples are loaded; Z* will take as many rows of m floats */
    double data = 4.0 * (double)(c->ntr + c->nte) * (double)(c->n + c->m);
    return dlx_replicas_build(&c->reps, m, data, build_replica, m, err);
}

/* The codes of every encoder for X (N rows) into Z[i], through replica 0's
 * graph a batch at a time (the last one padded with zero rows). */
static void encode_all(const dlx_model *m, const sc *c, const float *X, int64_t N, float *const *Z)
{
    const dlx_ctx ctx = {.training = false, .seed = m->seed, .threads = c->reps.op_threads};
    float *x = c->x[0]->out.data;
    const int64_t B = c->shard_batch;
    for (int64_t s = 0; s < N; s += B) {
        int64_t rows = N - s < B ? N - s : B;
        memset(x, 0, (size_t)B * c->n * sizeof(float));
        memcpy(x, X + s * c->n, (size_t)rows * c->n * sizeof(float));
        dlx_graph_forward(c->reps.r[0].g, &ctx);
        for (int i = 0; i < c->nT; i++)
            memcpy(Z[i] + s * c->m, c->enc[i].z->out.data, (size_t)rows * c->m * sizeof(float));
    }
}

double dlx_sc_sq_err(const float *a, const float *b, int64_t N, int m)
{
    double s = 0.0;
    for (int64_t i = 0; i < N * m; i++)
        s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s / (double)N;
}

int dlx_sc_eval_encoders(const dlx_model *m, sc *c, dlx_results *res, dlx_err *err)
{
    const int64_t N = c->nte;
    dlx_sparse sp;
    int rc = dlx_sparse_init(&sp, m->params.items[c->wd].t.data, c->n, c->m, (float)c->alpha, err);
    if (rc)
        return rc;
    float *Z[MAX_T] = {0};
    for (int i = 0; i < c->nT && !rc; i++)
        if (!(Z[i] = malloc((size_t)N * c->m * sizeof(float))))
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    if (!rc) {
        encode_all(m, c, c->Xte, N, Z);
        double e_star = dlx_sparse_energy(&sp, c->Xte, c->Zte, (int)N, NULL);
        dlx_results_set(res, "energy_star", e_star);
        for (int i = 0; i < c->nT; i++) {
            char name[48];
            snprintf(name, sizeof name, "err_T%d", c->enc[i].T);
            dlx_results_set(res, name, dlx_sc_sq_err(Z[i], c->Zte, N, c->m));
            snprintf(name, sizeof name, "gap_T%d", c->enc[i].T);
            dlx_results_set(res, name, dlx_sparse_energy(&sp, c->Xte, Z[i], (int)N, NULL) - e_star);
        }
    }
    for (int i = 0; i < MAX_T; i++)
        free(Z[i]);
    dlx_sparse_free(&sp);
    return rc;
}

int dlx_sc_write_atoms(const dlx_model *m, const sc *c, dlx_err *err)
{
    int side = c->dataset == DS_PATCHES ? (int)c->patch : 28;
    float *tiles = malloc((size_t)c->m * c->n * sizeof(float));
    if (!tiles)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    const float *wd = m->params.items[c->wd].t.data;
    for (int j = 0; j < c->m; j++)
        for (int i = 0; i < c->n; i++)
            tiles[(size_t)j * c->n + i] = wd[(size_t)i * c->m + j];
    int cols = (int)ceil(sqrt((double)c->m));
    dlx_grid grid = {.rows = (c->m + cols - 1) / cols, .cols = cols, .c = 1, .h = side, .w = side,
                     .zoom = side < 16 ? 3 : 1, .lo = 0, .hi = 0};
    char path[600];
    int rc = dlx_path_join(path, sizeof path, m->run_dir, "atoms.png", err);
    if (!rc) rc = dlx_png_write_grid(path, &grid, tiles, c->m, err);
    free(tiles);
    if (!rc)
        dlx_run_info(m, "wrote %s (%d atoms)", path, c->m);
    return rc;
}

/* ---- the trainer's callbacks (dlx_train_family) ---- */

static void sc_begin_epoch(void *user, int64_t epoch)
{
    dlx_model *m = user;
    sc *c = m->impl;
    dlx_epoch_order(m->seed, epoch, c->order, (uint32_t)c->ntr);
}

/* Replica k's rows of step `pos`: the samples into X, their Z* into Zstar. */
static void sc_feed(void *user, int u, int rep, int k, int64_t pos)
{
    (void)u, (void)rep; /* one loss: the summed loss; a repeat sees the same batch */
    const dlx_model *m = user;
    const sc *c = m->impl;
    const int64_t sb = c->shard_batch;
    const uint32_t *rows = c->order + pos * c->tc.batch + k * sb;
    float *x = c->x[k]->out.data, *zs = c->zs[k]->out.data;
    for (int64_t r = 0; r < sb; r++) {
        memcpy(x + r * c->n, c->Xtr + (size_t)rows[r] * c->n, (size_t)c->n * sizeof(float));
        memcpy(zs + r * c->m, c->Ztr + (size_t)rows[r] * c->m, (size_t)c->m * sizeof(float));
    }
}

static int sc_eval(void *user, dlx_results *r, dlx_err *err)
{
    dlx_model *m = user;
    return dlx_sc_eval_encoders(m, m->impl, r, err);
}

/* After the last step: the test samples counted (as dlx eval reports them) and the atoms. */
static int sc_finish(void *user, dlx_err *err)
{
    dlx_model *m = user;
    const sc *c = m->impl;
    dlx_results_set(&m->results, "samples", (double)c->nte);
    return dlx_sc_write_atoms(m, c, err);
}

/* Replica k's loss: the encoders' summed loss. */
static dlx_node *sc_loss(void *user, int l, int k)
{
    (void)l;
    const dlx_model *m = user;
    return ((const sc *)m->impl)->loss[k];
}

int dlx_sc_train_encoders(dlx_model *m, sc *c, dlx_err *err)
{
    if (!c->order && !(c->order = malloc((size_t)(c->ntr ? c->ntr : 1) * sizeof *c->order)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_trainer t = {
        .cfg = c->tc,
        .replicas = &c->reps,
        .plan = &m->plan,
        .fam = {.user = m, .loss = sc_loss, .samples = c->ntr, .begin_epoch = sc_begin_epoch, .feed = sc_feed, .evaluate = sc_eval,
                .finish = sc_finish},
    };
    return dlx_trainer_run(m, &t, err);
}
