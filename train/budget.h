/* Memory a run will allocate, counted before anything big is allocated, and
 * checked against --max-memory and the address-space limit (ulimit -v).
 *
 * A family fills a dlx_budget once its graphs are built (parameters declared,
 * arenas planned) and before dlx_params_finalize, the optimizer and the
 * arenas allocate: parameters, their gradient blocks (one per shard),
 * optimizer slots, activations of every graph, and the data it will hold.
 * Over the limit is DLX_ENOMEM with the figure and the breakdown. */
#ifndef DLX_BUDGET_H
#define DLX_BUDGET_H

#include <stdint.h>

#include "../core/err.h"
#include "run.h"

typedef struct dlx_budget {
    double params, grads, optim, activations, data; /* bytes */
    int grad_blocks;  /* parameter-sized gradient blocks (one per shard) */
    int optim_slots;  /* parameter-sized optimizer blocks (momentum; Adam m, v) */
    int graphs;       /* graphs whose arenas make up `activations` */
    int blas_threads; /* threads that may call BLAS at once (its buffers) */
} dlx_budget;

/* OpenBLAS allocates one buffer per thread that calls it, at the first call;
 * when the allocation fails it retries forever (memory.c of 0.3.21, at 100 %
 * CPU). Debian bookworm's libopenblas0 (DYNAMIC_ARCH) uses BUFFER_SIZE 32 << 22
 * and asks malloc for 128 MiB + 4 KiB each (measured). */
#define DLX_BLAS_BUFFER_BYTES (134221824.0)

/* Fill the common part for `n_params` floats and optim_slots parameter-sized optimizer blocks. */
void dlx_budget_params(dlx_budget *b, int64_t n_params, int grad_blocks, int optim_slots);
double dlx_budget_total(const dlx_budget *b);
/* DLX_ENOMEM naming the figure and breakdown when the total exceeds
 * m->max_memory (0 = none), or when this process's address space now plus
 * the total, OpenBLAS's buffers and the threads' stacks exceeds RLIMIT_AS. */
int dlx_budget_check(const dlx_model *m, const dlx_budget *b, dlx_err *err);

#endif
