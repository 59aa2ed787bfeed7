#include "dist.h"

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

int dlx_dist_reduce(dlx_replicas *rs, int64_t lo, int64_t hi, dlx_err *err)
{
    const dlx_dist *d = rs->dist;
    const int last = d->size - 1;
    float *mean = rs->params->grads;
    int rc = 0;
    /* chunk by chunk: while rank r adds chunk c, rank r + 1 adds chunk c - 1
     * (the bits do not depend on the cut: every element is its own sum) */
    const int64_t chunk = dlx_dist_chunk(hi - lo, d->size);
    for (int64_t a = lo; a < hi && !rc; a += chunk) {
        int64_t len = hi - a < chunk ? hi - a : chunk;
        float *acc;
        int k0;
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
        if (!rc && d->rank < last)
            rc = d->send(d, d->rank + 1, acc, len, err);
        else if (!rc && acc != mean + a)
            memcpy(mean + a, acc, (size_t)len * sizeof(float));
    }
    if (!rc)
        rc = d->bcast(d, last, mean + lo, hi - lo, err);
    return rc;
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
