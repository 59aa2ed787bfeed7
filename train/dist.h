/* Replicas in other processes (MPI ranks) with the bits of one process.
 *
 * A run of `train.shards` replicas over `size` ranks gives rank r the
 * contiguous block of replicas dlx_dist_block(r) (the first ranks one more
 * when size does not divide shards). Every rank builds every replica's graph
 * (evaluation runs them all, on every rank, so every rank has the same
 * results and takes the same decisions), but per step feeds and runs only its
 * own block: it reads only its part of each batch.
 *
 * The batch gradient must be the one process's g0 + g1 + ... + g_{n-1}, in
 * that order (float addition is not associative), then times 1/n in the pass
 * of the last sum. The reduce is therefore a chain in rank order, pipelined
 * in chunks: rank 0 sums its replicas and sends the partial sum on, rank r
 * receives it, adds its replicas one by one and sends it on, the last rank
 * adds the last replica with the mean and broadcasts the result. Every rank
 * then applies the optimizer itself (elementwise, the same bits), so
 * parameters and optimizer slots stay identical everywhere without being
 * sent. Batch-norm running statistics, which only replica 0 updates, are
 * broadcast from rank 0 after each update.
 *
 * The transport is a table of functions the CLI provides (cli/train_mpi.c
 * over MPI); library code links no MPI. Each returns 0 or a negative DLX_E*
 * with err filled; they are called from the main thread, outside parallel
 * regions.
 */
#ifndef DLX_DIST_H
#define DLX_DIST_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"

typedef struct dlx_dist {
    int rank, size;
    void *ctx;
    int (*send)(const struct dlx_dist *d, int to, const float *x, int64_t n, dlx_err *err);
    int (*recv)(const struct dlx_dist *d, int from, float *x, int64_t n, dlx_err *err);
    int (*bcast)(const struct dlx_dist *d, int root, float *x, int64_t n, dlx_err *err);
    /* rows of doubles: rank r's rows [row0(r), row0(r+1)) of x[rows][width]
     * (row0 has size+1 entries) go to every rank */
    int (*allgather)(const struct dlx_dist *d, double *x, int width, const int *row0, dlx_err *err);
    /* run the chain inside the backward pass where it can (below) */
    bool overlap;
} dlx_dist;

/* ranks: each runs at least one of at most DLX_REPLICAS_MAX replicas */
#define DLX_DIST_RANKS_MAX 16

/* Floats per message of the chained reduce: the optimizer's span cut into
 * one chunk per rank, 1024 floats at least. The chain's N - 1 hops then fill
 * the pipeline in about one gradient's transfer time, while every message
 * is as large as that allows (each is a rendezvous of two processes, which
 * costs a time slice on a crowded machine). */
static inline int64_t dlx_dist_chunk(int64_t floats, int size)
{
    int64_t c = (floats + size - 1) / size;
    return c < 1024 ? 1024 : c;
}

/* Rank r's block of n replicas over size ranks: [*first, *first + *count). */
static inline void dlx_dist_block(int n, int rank, int size, int *first, int *count)
{
    int base = n / size, extra = n % size;
    *first = rank * base + (rank < extra ? rank : extra);
    *count = base + (rank < extra);
}

struct dlx_replicas;
struct dlx_params;

/* The replicas' mean gradient over the store's elements [lo, hi) into
 * params->grads on every rank, summed in replica order (the chain above);
 * rs->dist set, rs->n > 1, rs->chain_buf of dlx_dist_chunk(total) floats. */
int dlx_dist_reduce(struct dlx_replicas *rs, int64_t lo, int64_t hi, dlx_err *err);
/* Overlap of the chain with the backward pass, when every rank runs one
 * shard and the update's backward is not masked (d->overlap set: off by
 * default, since on the 2-core development machine it made steps slower,
 * every chunk a rendezvous of two busy processes; docs/mpi.md): begin
 * installs a hook on this rank's graph that, after each op node's backward,
 * passes on the chunks of [lo, hi) whose parameters are final (from the top
 * of the store down: backward finishes the last layers first), in the
 * chain's order; end does the rest and the broadcast. The sums are the
 * chain's, element by element: the same bits. begin returns whether it
 * overlaps (else call dlx_dist_reduce after the step as before). */
bool dlx_dist_overlap_begin(struct dlx_replicas *rs, int64_t lo, int64_t hi, bool masked, dlx_err *err);
int dlx_dist_overlap_end(struct dlx_replicas *rs, dlx_err *err);
void dlx_dist_overlap_free(struct dlx_replicas *rs);

/* The buffers (batch-norm running statistics) of rank 0, which runs
 * replica 0, on every rank. */
int dlx_dist_sync_buffers(const dlx_dist *d, struct dlx_params *p, dlx_err *err);

/* Whether this process writes the run's files (checkpoints, metrics,
 * pictures): rank 0, or a run without ranks. */
static inline bool dlx_dist_writes(const dlx_dist *d) { return !d || d->rank == 0; }

#endif
