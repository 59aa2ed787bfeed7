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
 * The analytic gradient is always the float32 engine's. The differences are
 * taken of f in double precision by default (DLX_GRADCHECK_DOUBLE: the
 * graph's dual in core/hvp.h, values only, at the float point; the step
 * eps * max(1, |x|) is exact), or of the float32 f (DLX_GRADCHECK_FLOAT: the
 * step rounded to the float grid, the quotient divided by the step taken;
 * its round-off, a few float ulps of f over the step, is allowed for). A
 * coordinate passes when |a - n| <= atol + rtol * max(|a|, |n|).
 * Kinks (relu at 0, a max-pool tie, ...): when the two one-sided differences
 * disagree by more than twice that tolerance (plus round-off), the float
 * path skips the coordinate; the double path takes them again at eps / 8:
 * if they agree there (the kink lay between the two steps) or their
 * disagreement shrank with the step as curvature's does (to at most a
 * quarter), the central difference at eps / 8 is compared, else the point
 * sits on a kink and is skipped. Skipped coordinates are counted, and the
 * one with the largest disagreement is named in the report.
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

typedef enum dlx_gradcheck_precision {
    DLX_GRADCHECK_DOUBLE = 0, /* f in double through the graph's dual (core/hvp.h) */
    DLX_GRADCHECK_FLOAT,      /* f as the float32 engine computes it */
} dlx_gradcheck_precision;

typedef struct dlx_gradcheck_opts {
    double eps;     /* relative step (default 1e-3) */
    double rtol;    /* per-coordinate relative tolerance (default 1e-2) */
    double atol;    /* per-coordinate absolute tolerance (default 1e-4) */
    int max_coords; /* coordinates sampled per tensor (default 64) */
    uint64_t seed;  /* r, the sampled coordinates and the directions */
    const char *loss; /* for a family's check: the named loss; NULL = every loss */
    dlx_gradcheck_precision precision; /* of the finite differences (default double) */
} dlx_gradcheck_opts;

typedef struct dlx_gradcheck_report {
    int checked;        /* coordinates and directions compared (skipped ones excluded) */
    int failed;         /* of those, outside the tolerance */
    int skipped;        /* on a kink, not compared */
    double max_rel_err; /* max over tensors of ||a - n|| / max(||a||, ||n||, tiny), tiny =
                           atol * sqrt(coordinates); the direction counts as
                           |a.u - n| / max(||a||, |n|, atol) */
    char worst[160];    /* tensor, coordinate and both values of the worst mismatch */
    char kink[160];     /* tensor, coordinate and one-sided slopes of the skipped
                           coordinate whose slopes disagree most ("" when none) */
} dlx_gradcheck_report;

dlx_gradcheck_opts dlx_gradcheck_defaults(void);

/* Returns 0 when the check ran (judge rep->failed and rep->max_rel_err), or
 * DLX_EINVAL for invalid use (graph not compiled, top without a gradient,
 * nothing to check, bad options; in double, an op without an R-operator),
 * DLX_ENOMEM when out of memory. */
int dlx_gradcheck_graph(dlx_graph *g, dlx_node *top, const dlx_ctx *ctx,
                        const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err);

/* Adds the report `one` of the loss `name` to rep (a family that checks
 * several losses): counts summed, the worst error and the largest kink
 * kept, prefixed with the loss's name. */
void dlx_gradcheck_merge(dlx_gradcheck_report *rep, const char *name, const dlx_gradcheck_report *one);

#endif
