/* Replicas: data parallelism that cannot change the numbers.
 *
 * A batch is cut into n micro-batches. Replica k is the compiled graph of
 * micro-batch k plus a private parameter-gradient block (replica 0 uses the
 * store's own, dlx_params.grads). The replicas run side by side on up to
 * `workers` threads; their gradients are summed in replica order, element by
 * element, and divided by n, so the result depends on n (the spec) and never
 * on the thread count. With one replica there is nothing to run side by side:
 * its ops share the threads instead (op_threads), splitting large products.
 *
 * The end of a step is one pass over memory: every worker, on its own slice
 * of the store (cut on cache lines), in chunks that stay in cache, sums the
 * replicas' gradients, applies the optimizer and zeroes every block for the
 * next step. An optimizer that clips needs the whole summed gradient first;
 * it takes the unfused path (the reduce, then dlx_optim_step).
 *
 * Random masks (dropout) are drawn from a micro-batch counter, step * n + k,
 * so every replica draws its own and a resumed run draws the same.
 *
 * Usage: dlx_replicas_init, then dlx_replicas_build with the family's graph
 * builder (all replicas have the same graph shape), and dlx_replicas_free at
 * the end.
 */
#ifndef DLX_REPLICA_H
#define DLX_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/graph.h"
#include "../core/optim.h"
#include "../core/params.h"
#include "budget.h"

#define DLX_REPLICAS_MAX 16

typedef struct dlx_replica {
    dlx_graph *g;  /* owned */
    float *grads;  /* private gradient block, owned; NULL for replica 0 */
    char pad[64];  /* replicas are written by different workers: no shared cache line */
} dlx_replica;

struct dlx_dist;

typedef struct dlx_replicas {
    dlx_params *params; /* the store every replica's graph is built over */
    int n;
    /* the replicas this process runs, [first, first + count): all of them,
     * or this MPI rank's block (train/dist.h); every graph is built */
    int first, count;
    const struct dlx_dist *dist; /* NULL: one process */
    float *chain_buf;            /* with dist: the partial sum received (train/dist.c), owned */
    struct dlx_dist_overlap *overlap; /* with dist: the chain inside backward (train/dist.c), owned */
    int workers;        /* replicas run at once: min(threads, n) */
    int op_threads;     /* threads each op may use: every thread when n == 1 */
    bool grads_zero;    /* every gradient block was zeroed by the last fused update */
    dlx_replica r[DLX_REPLICAS_MAX];
} dlx_replicas;

/* Worker threads for `requested` (0: every core online). */
int dlx_replicas_threads(int requested);
/* n replicas (1..DLX_REPLICAS_MAX) over params, on `threads` threads. */
void dlx_replicas_init(dlx_replicas *rs, dlx_params *params, int n, int threads);
/* Builds replica k's graph over rs->params (declaring the parameters on
 * first use) into *g; on failure *g is left unset. */
typedef int (*dlx_replica_build_fn)(void *user, int k, dlx_graph **g, dlx_err *err);
/* Build every replica in the order a memory limit needs: replica 0's graph,
 * then everything the run will allocate counted and checked against m's
 * limits (train/budget.h: parameters, n gradient blocks, the optimizer
 * slots of m's plan, n arenas, BLAS buffers, and the family's data_bytes),
 * the store finalized, and every graph given its gradient block and arena.
 * The replicas own the graphs from then on. With m->hooks.dist, this rank
 * runs its block of the replicas (train.shards must be at least the ranks). */
int dlx_replicas_build(dlx_replicas *rs, const dlx_model *m, double data_bytes, dlx_replica_build_fn build,
                       void *user, dlx_err *err);
void dlx_replicas_free(dlx_replicas *rs);

/* Replica k's forward and backward from `loss` (a node of its graph) for
 * the parameters p with param_on[p] (NULL: all, and the whole graph runs
 * forward; else only the loss's ancestors do, dlx_graph_forward_to, and
 * dlx_graph_backward_masked);
 * its gradient block gets the micro-batch's gradient. Random masks are
 * drawn from counter draw * n + k: draw counts the forward passes of the
 * run (the global step when a step has one). Call it from the step's run
 * function. */
void dlx_replicas_forward_backward(dlx_replicas *rs, int k, dlx_node *loss, const bool *param_on, uint64_t seed,
                                   int64_t draw);

/* Replica k's share of a step (fill its inputs, dlx_replicas_forward_backward,
 * score it); called from worker threads, once per replica. */
typedef void (*dlx_replica_run_fn)(void *user, int k);

/* One step's parallel part, in one parallel region: run(user, k) for every
 * replica this process runs, then, when oc is given (the optimizer does not clip) and the mean
 * loss is finite, the fused reduce + dlx_optim_apply + zero on every worker's
 * slice of o's span. loss[k] is the loss node of replica k. Returns the mean loss. */
double dlx_replicas_step(dlx_replicas *rs, dlx_node *const *loss, const dlx_optim *o, const dlx_optim_consts *oc,
                         dlx_replica_run_fn run, void *user);
/* After a step whose loss was finite: count the fused update (fused), or
 * sum the gradients and step the optimizer at lr (not fused). */
void dlx_replicas_end_step(dlx_replicas *rs, dlx_optim *o, double lr, bool fused);

#endif
