#include "dist.h"

#include <stdlib.h>
#include <string.h>

#include "replica.h"

/* Replica k's gradient block (replica 0's is the store's). */
static const float *grads_of(const dlx_replicas *rs, int k)
{
    return k == 0 ? rs->params->grads : rs->r[k].grads;
}

/* Adds this rank's replicas, in order, into acc (len floats at store offset
 * a); the last replica of the run's sum also takes the mean, as
 * train/replica.c's reduce does in one process. */
static void add_block(const dlx_replicas *rs, int k0, float *acc, int64_t a, int64_t len)
{
    const float inv = 1.0f / (float)rs->n;
    for (int k = k0; k < rs->first + rs->count; k++) {
        const float *g = grads_of(rs, k) + a;
        if (k < rs->n - 1)
            for (int64_t i = 0; i < len; i++)
                acc[i] += g[i];
        else
            for (int64_t i = 0; i < len; i++)
                acc[i] = (acc[i] + g[i]) * inv;
    }
}

/* One chunk [a, a + len) of the chain on this rank: the partial sum from the
 * rank before (rank 0 starts from replica 0's block), this rank's replicas
 * added in order, passed on or, on the last rank, into params->grads. */
static int chain_chunk(dlx_replicas *rs, int64_t a, int64_t len, dlx_err *err)
{
    const dlx_dist *d = rs->dist;
    float *mean = rs->params->grads, *acc;
    int k0, rc = 0;
    if (d->rank == 0) { /* replica 0's block is the store's: the sum starts there */
        acc = mean + a;
        k0 = 1;
    } else {
        acc = rs->chain_buf;
        k0 = rs->first;
        rc = d->recv(d, d->rank - 1, acc, len, err);
    }
    if (!rc)
        add_block(rs, k0, acc, a, len);
    if (!rc && d->rank < d->size - 1)
        rc = d->send(d, d->rank + 1, acc, len, err);
    else if (!rc && acc != mean + a)
        memcpy(mean + a, acc, (size_t)len * sizeof(float));
    return rc;
}

int dlx_dist_reduce(dlx_replicas *rs, int64_t lo, int64_t hi, dlx_err *err)
{
    const dlx_dist *d = rs->dist;
    int rc = 0;
    /* chunk by chunk: while rank r adds chunk c, rank r + 1 adds chunk c - 1
     * (the bits do not depend on the cut: every element is its own sum) */
    const int64_t chunk = dlx_dist_chunk(hi - lo, d->size);
    for (int64_t a = lo; a < hi && !rc; a += chunk)
        rc = chain_chunk(rs, a, hi - a < chunk ? hi - a : chunk, err);
    if (!rc)
        rc = d->bcast(d, d->size - 1, rs->params->grads + lo, hi - lo, err);
    return rc;
}

/* ---- the chain inside backward ---- */

struct dlx_dist_overlap {
    int64_t lo, hi, chunk;
    int n_nodes, next, n_chunks;
    int64_t *ready_lo; /* per node: after its backward, [ready_lo, hi) is final */
    int rc;
    dlx_err err;
};

/* ready_lo of every node of g over [lo, hi): a parameter is final once the
 * op node of lowest index that reads it has run backward (backward runs the
 * nodes from the last); [L, hi) is final when every parameter in it is. */
static int plan_ready(struct dlx_dist_overlap *o, const dlx_params *p, const dlx_graph *g, dlx_err *err)
{
    int *first_use = malloc((size_t)(p->n ? p->n : 1) * sizeof *first_use);
    int64_t *ready = malloc((size_t)g->n * sizeof *ready);
    if (!first_use || !ready) {
        free(first_use);
        free(ready);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    for (int q = 0; q < p->n; q++)
        first_use[q] = g->n;
    for (int i = g->n - 1; i >= 0; i--) {
        const dlx_node *n = g->nodes[i];
        for (int j = 0; n->kind == DLX_NODE_OP && j < n->n_in; j++)
            if (n->in[j]->kind == DLX_NODE_PARAM)
                first_use[n->in[j]->param] = i;
    }
    for (int i = 0; i < g->n; i++) {
        int64_t L = o->hi;
        for (int q = p->n - 1; q >= 0; q--) {
            int64_t off = p->items[q].t.data - p->values;
            if (off + p->items[q].t.numel <= o->lo)
                break;
            if (off >= o->hi)
                continue;
            if (first_use[q] < i)
                break;
            L = off > o->lo ? off : o->lo;
        }
        ready[i] = L;
    }
    free(first_use);
    free(o->ready_lo);
    o->ready_lo = ready;
    o->n_nodes = g->n;
    return 0;
}

/* The chunks, from the top of [lo, hi) down, whose elements are all >= ready. */
static void pass_ready(dlx_replicas *rs, int64_t ready)
{
    struct dlx_dist_overlap *o = rs->overlap;
    while (!o->rc && o->next < o->n_chunks) {
        int64_t top = o->hi - (int64_t)o->next * o->chunk, a = top - o->chunk < o->lo ? o->lo : top - o->chunk;
        if (a < ready)
            return;
        o->rc = chain_chunk(rs, a, top - a, &o->err);
        o->next++;
    }
}

static void after_backward(void *user, int node)
{
    dlx_replicas *rs = user;
    pass_ready(rs, rs->overlap->ready_lo[node]);
}

bool dlx_dist_overlap_begin(dlx_replicas *rs, int64_t lo, int64_t hi, bool masked, dlx_err *err)
{
    const dlx_dist *d = rs->dist;
    if (!d->overlap || masked || rs->n != d->size || hi <= lo) /* the same answer on every rank */
        return false;
    if (!rs->overlap && !(rs->overlap = calloc(1, sizeof *rs->overlap)))
        return false;
    struct dlx_dist_overlap *o = rs->overlap;
    dlx_graph *g = rs->r[rs->first].g;
    if (!o->ready_lo || o->lo != lo || o->hi != hi || o->n_nodes != g->n) {
        o->lo = lo;
        o->hi = hi;
        if (plan_ready(o, rs->params, g, err))
            return false;
    }
    /* a few chunks per rank: the last layers' go on while the first run backward */
    o->chunk = dlx_dist_chunk(hi - lo, d->size) / 4;
    o->chunk = o->chunk < 1024 ? 1024 : o->chunk;
    o->n_chunks = (int)((hi - lo + o->chunk - 1) / o->chunk);
    o->next = 0;
    o->rc = 0;
    g->after_backward = after_backward;
    g->after_backward_user = rs;
    return true;
}

int dlx_dist_overlap_end(dlx_replicas *rs, dlx_err *err)
{
    struct dlx_dist_overlap *o = rs->overlap;
    rs->r[rs->first].g->after_backward = NULL;
    pass_ready(rs, o->lo); /* what backward left (and a loss that was not finite) */
    if (o->rc) {
        *err = o->err;
        return o->rc;
    }
    return rs->dist->bcast(rs->dist, rs->dist->size - 1, rs->params->grads + o->lo, o->hi - o->lo, err);
}

void dlx_dist_overlap_free(dlx_replicas *rs)
{
    if (rs->overlap)
        free(rs->overlap->ready_lo);
    free(rs->overlap);
    rs->overlap = NULL;
}

int dlx_dist_sync_buffers(const dlx_dist *d, dlx_params *p, dlx_err *err)
{
    int rc = 0;
    /* statistics change; buffers made from data (an eigenbasis) never do */
    for (int i = 0; i < p->n_buffers && !rc; i++)
        if (!p->buffers[i].init_data)
            rc = d->bcast(d, 0, p->buffers[i].t.data, p->buffers[i].t.numel, err);
    return rc;
}
