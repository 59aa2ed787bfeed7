/* Finite-difference gradient check of a built, compiled graph.
 *
 * The checked function is f = sum_i r_i * top_i, with r a fixed random vector
 * drawn from opts.seed (r = 1 when top has one element, i.e. a loss), summed
 * in double from the float outputs. Its gradient from dlx_graph_backward_from
 * is compared with central differences for every parameter the graph uses
 * (a tied parameter once) and every input node created with needs_grad:
 *   - at most max_coords coordinates per tensor, chosen by the seeded RNG
 *     (all of them when the tensor is smaller);
 *   - one random-direction directional derivative per tensor (kann-style),
 *     covering every element at once.
 * The step is eps * max(1, |x|), rounded to the float grid; the difference
 * quotient divides by the step actually taken. A coordinate passes when
 * |a - n| <= atol + rtol * max(|a|, |n|). A coordinate whose two one-sided
 * differences disagree by more than that tolerance (twice, plus float
 * round-off) sits on a kink (relu at 0, a max-pool tie, ...) and is skipped.
 *
 * The caller fills input nodes' values first and passes the ctx to check
 * under (ctx->training and ctx->step fix dropout masks; NULL = inference).
 * Every perturbed value is restored bit for bit, and the graph is run forward
 * once more at the end, so values are as before. Overwrites the gradients of
 * the parameters the graph uses (they hold the analytic gradient afterwards)
 * and the graph's activation gradients. Never prints.
 */
#ifndef DLX_GRADCHECK_H
#define DLX_GRADCHECK_H

#include <stdint.h>

#include "err.h"
#include "graph.h"

typedef struct dlx_gradcheck_opts {
    double eps;     /* relative step (default 1e-3) */
    double rtol;    /* per-coordinate relative tolerance (default 1e-2) */
    double atol;    /* per-coordinate absolute tolerance (default 1e-4) */
    int max_coords; /* coordinates sampled per tensor (default 64) */
    uint64_t seed;  /* r, the sampled coordinates and the directions */
    const char *loss; /* for a family's check: the named loss; NULL = every loss */
} dlx_gradcheck_opts;

typedef struct dlx_gradcheck_report {
    int checked;        /* coordinates and directions compared (skipped ones excluded) */
    int failed;         /* of those, outside the tolerance */
    int skipped;        /* on a kink, not compared */
    double max_rel_err; /* max over tensors of ||a - n|| / max(||a||, ||n||, tiny), tiny =
                           atol * sqrt(coordinates); the direction counts as
                           |a.u - n| / max(||a||, |n|, atol) */
    char worst[160];    /* tensor, coordinate and both values of the worst mismatch */
} dlx_gradcheck_report;

dlx_gradcheck_opts dlx_gradcheck_defaults(void);

/* Returns 0 when the check ran (judge rep->failed and rep->max_rel_err), or
 * DLX_EINVAL for invalid use (graph not compiled, top without a gradient,
 * nothing to check, bad options), DLX_ENOMEM when out of memory. */
int dlx_gradcheck_graph(dlx_graph *g, dlx_node *top, const dlx_ctx *ctx,
                        const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err);

#endif
