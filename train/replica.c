#include "replica.h"

#include "dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int dlx_replicas_threads(int requested)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return requested > 0 ? requested : (int)(cores > 0 ? cores : 1);
}

void dlx_replicas_init(dlx_replicas *rs, dlx_params *params, int n, int threads)
{
    DLX_ASSERT(n >= 1 && n <= DLX_REPLICAS_MAX && threads >= 1);
    memset(rs, 0, sizeof *rs);
    rs->params = params;
    rs->n = n;
    rs->count = n;
    rs->workers = threads < n ? threads : n;
    /* One replica: its ops split large products over the threads instead
     * (each packs part of a weight matrix for the whole batch; replicas
     * would each pack all of it for part of the batch). */
    rs->op_threads = n == 1 ? threads : 1;
}

/* Graph g as replica k (owned from now on): its gradient block (k > 0),
 * then its arena. */
static int attach(dlx_replicas *rs, int k, dlx_graph *g, dlx_err *err)
{
    dlx_replica *r = &rs->r[k];
    r->g = g;
    if (k > 0 && !(r->grads = dlx_zeroed_floats(rs->params->total + 1)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    g->param_grads = r->grads;
    return dlx_graph_compile(g, 0, err);
}

/* Everything the run will allocate, from replica 0's graph g0 once planned. */
static int check_budget(const dlx_replicas *rs, const dlx_model *m, const dlx_graph *g0,
                        double data_bytes, dlx_err *err)
{
    int64_t n = 0; /* (the store is not finalized yet: no total) */
    for (int i = 0; i < rs->params->n; i++)
        n += rs->params->items[i].t.numel;
    dlx_budget b;
    memset(&b, 0, sizeof b);
    dlx_budget_params(&b, n, rs->n, dlx_plan_slots(&m->plan));
    b.activations = (double)dlx_graph_plan_bytes(g0) * rs->n;
    /* several updates a step keep a copy of every input to reuse values (train/trainer.c) */
    if (m->plan.n_updates > 1 && !m->hooks.no_prune)
        b.activations += (double)dlx_graph_reuse_bytes(g0) * rs->n;
    b.graphs = rs->n;
    b.data = data_bytes;
    b.blas_threads = rs->n == 1 ? rs->op_threads : rs->workers;
    return dlx_budget_check(m, &b, err);
}

/* This rank's block of the replicas, and its threads over that block. */
static int take_block(dlx_replicas *rs, const dlx_dist *d, int m_threads, dlx_err *err)
{
    if (d->size > rs->n)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "train.shards (%d) is smaller than the number of MPI ranks (%d): each rank runs at least "
                            "one shard; raise train.shards or start fewer ranks", rs->n, d->size);
    int threads = dlx_replicas_threads(m_threads);
    dlx_dist_block(rs->n, d->rank, d->size, &rs->first, &rs->count);
    rs->dist = d;
    rs->workers = threads < rs->count ? threads : rs->count;
    /* one replica here: its ops take the threads (their cuts depend on shapes only) */
    rs->op_threads = rs->count == 1 ? threads : 1;
    return 0;
}

int dlx_replicas_build(dlx_replicas *rs, const dlx_model *m, double data_bytes, dlx_replica_build_fn build,
                       void *user, dlx_err *err)
{
    if (m->hooks.dist) {
        int rc = take_block(rs, m->hooks.dist, m->threads, err);
        if (rc)
            return rc;
    }
    for (int k = 0; k < rs->n; k++) {
        dlx_graph *g;
        int rc = build(user, k, &g, err);
        if (rc)
            return rc;
        if (k == 0 && ((rc = check_budget(rs, m, g, data_bytes, err)) || (rc = dlx_params_finalize(rs->params, err)))) {
            dlx_graph_destroy(g);
            return rc;
        }
        if (k == 0 && rs->dist &&
            !(rs->chain_buf = malloc((size_t)dlx_dist_chunk(rs->params->total, rs->dist->size) * sizeof(float)))) {
            dlx_graph_destroy(g);
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        }
        if ((rc = attach(rs, k, g, err)))
            return rc;
    }
    return 0;
}

void dlx_replicas_free(dlx_replicas *rs)
{
    free(rs->chain_buf);
    rs->chain_buf = NULL;
    dlx_dist_overlap_free(rs);
    for (int k = 0; k < rs->n; k++) {
        dlx_graph_destroy(rs->r[k].g);
        free(rs->r[k].grads);
        rs->r[k].g = NULL;
        rs->r[k].grads = NULL;
    }
}

void dlx_replicas_forward_backward(dlx_replicas *rs, int k, dlx_node *loss, const bool *param_on, uint64_t seed,
                                   int64_t draw)
{
    dlx_replica *r = &rs->r[k];
    /* replica 0's batch statistics alone update running ones: the same
     * whatever the thread count (DataParallel keeps device 0's buffers) */
    const dlx_ctx ctx = {.training = true, .seed = seed, .step = (uint64_t)(draw * rs->n + k),
                         .threads = rs->op_threads, .update_stats = k == 0};
    if (param_on) /* one of several losses: only what it needs */
        dlx_graph_forward_to(r->g, loss, &ctx);
    else
        dlx_graph_forward(r->g, &ctx);
    if (!rs->grads_zero)
        memset(k == 0 ? rs->params->grads : r->grads, 0, (size_t)rs->params->total * sizeof(float));
    dlx_graph_backward_masked(r->g, loss, param_on, &ctx);
}

/* The batch gradient is the mean of the replicas' (each already a mean over
 * its micro-batch): summed in replica order, element by element, so the bits
 * depend neither on the threads nor on how [lo, hi) is cut. */
static void reduce_range(dlx_replicas *rs, int64_t lo, int64_t hi)
{
    if (rs->n == 1)
        return;
    float *g = rs->params->grads, inv = 1.0f / (float)rs->n;
    for (int k = 1; k < rs->n; k++) {
        const float *gk = rs->r[k].grads;
        if (k < rs->n - 1)
            for (int64_t i = lo; i < hi; i++)
                g[i] += gk[i];
        else /* the mean in the same pass as the last sum */
            for (int64_t i = lo; i < hi; i++)
                g[i] = (g[i] + gk[i]) * inv;
    }
}

/* The fused end of a step on one worker's slice: in chunks that stay in
 * cache, the replicas' mean gradient, the update, and every block zeroed for
 * the next step (one pass over memory instead of a memset, a sum, a scale
 * and an update each streaming the whole store: the MLP's 1.5 M parameters
 * are 6 MB per block). */
static void reduce_update_zero(dlx_replicas *rs, const dlx_optim *o, const dlx_optim_consts *oc, int64_t lo,
                               int64_t hi)
{
    enum { CHUNK = 4096 }; /* floats: 5 arrays of 16 KB */
    for (int64_t a = lo; a < hi; a += CHUNK) {
        int64_t b = a + CHUNK < hi ? a + CHUNK : hi;
        reduce_range(rs, a, b);
        dlx_optim_apply(o, oc, a, b);
        memset(rs->params->grads + a, 0, (size_t)(b - a) * sizeof(float));
        for (int k = 1; k < rs->n; k++)
            memset(rs->r[k].grads + a, 0, (size_t)(b - a) * sizeof(float));
    }
}

/* Threads for a pass over n parameters: below 64k the pass takes less time
 * than starting a team. */
static int update_threads(int64_t n, int threads)
{
    return n >= 65536 ? threads : 1;
}

static void reduce_grads(dlx_replicas *rs)
{
    int64_t n = rs->params->total;
    if (update_threads(n, rs->workers) > 1) {
#pragma omp parallel for schedule(static) num_threads(rs->workers)
        for (int64_t i0 = 0; i0 < n; i0 += 4096)
            reduce_range(rs, i0, i0 + 4096 < n ? i0 + 4096 : n);
    } else {
        reduce_range(rs, 0, n);
    }
}

/* A cut between worker slices of [a, b): on a 16-float (cache line)
 * boundary so no two workers write the same line. */
static int64_t slice_cut(int64_t a, int64_t b, int i, int count)
{
    if (i == 0)
        return a;
    if (i == count)
        return b;
    int64_t c = (a + (b - a) * i / count) & ~(int64_t)15;
    return c < a ? a : c;
}

/* Worker `id` of `count`: its slice of the store's elements [a, b). */
static void param_slice(int64_t a, int64_t b, int id, int count, int64_t *lo, int64_t *hi)
{
    *lo = slice_cut(a, b, id, count);
    *hi = slice_cut(a, b, id + 1, count);
}

static int worker_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int worker_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* The body of a step's parallel region, run by every worker (or by the
 * caller alone): the replicas (unless already run), then each worker's
 * slice of the update. *loss gets the mean of the replicas' losses. */
static void step_body(dlx_replicas *rs, dlx_node *const *loss, const dlx_optim *o, const dlx_optim_consts *oc,
                      dlx_replica_run_fn run, void *user, double *mean)
{
    if (rs->op_threads <= 1) {
#pragma omp for schedule(static, 1)
        for (int k = rs->first; k < rs->first + rs->count; k++)
            run(user, k);
    }
    /* (after the loop's barrier, or the replica run before the region:
     * every replica's loss and gradient is in) */
    double l = 0.0;
    for (int k = 0; k < rs->n; k++)
        l += loss[k]->out.data[0];
    l /= rs->n;
    if (oc && isfinite(l)) {
        int64_t a, b, lo, hi;
        dlx_optim_span(o, &a, &b); /* outside it no gradient was written */
        param_slice(a, b, worker_id(), worker_count(), &lo, &hi);
        reduce_update_zero(rs, o, oc, lo, hi);
    }
    if (worker_id() == 0)
        *mean = l;
}

double dlx_replicas_step(dlx_replicas *rs, dlx_node *const *loss, const dlx_optim *o, const dlx_optim_consts *oc,
                         dlx_replica_run_fn run, void *user)
{
    double mean = 0.0;
    /* One replica with ops over every thread: run it before the region,
     * whose team then only updates (every thread for a large model; for a
     * tiny one, starting the team would cost more than the update). */
    int team = rs->workers;
    if (rs->op_threads > 1) {
        run(user, rs->first);
        int64_t a, b;
        dlx_optim_span(o, &a, &b);
        team = update_threads(b - a, rs->op_threads);
    }
    /* one worker: no team at all (a one-thread region still cost a futex
     * call per step in libgomp; the worksharing loop then runs every
     * iteration on this thread) */
    if (team > 1) {
#pragma omp parallel num_threads(team)
        step_body(rs, loss, o, oc, run, user, &mean);
    } else {
        step_body(rs, loss, o, oc, run, user, &mean);
    }
    return mean;
}

void dlx_replicas_end_step(dlx_replicas *rs, dlx_optim *o, double lr, bool fused)
{
    rs->grads_zero = fused;
    if (fused) {
        dlx_optim_commit(o);
    } else {
        reduce_grads(rs);
        dlx_optim_step(o, lr);
    }
}
