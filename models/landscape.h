/* Family "landscape" (models/landscape.c): the toy problems' surface, and
 * the Hessian measure of a sweep run (models/landscape_hessian.c). The
 * sweep engine that calls it is in experiments/sweep.h.
 */
#ifndef DLX_LANDSCAPE_H
#define DLX_LANDSCAPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../train/run.h"

/* Hessian of the training loss at the model's current parameters, for a
 * model of family classifier: exact eigenvalues (H built from exact
 * Hessian-vector products, core/hvp.h, then LAPACK dsyev) when params <=
 * exact_max, else Lanczos on the same products (extreme eigenvalues; the
 * index counts Ritz values). Uses the first `samples` samples of the
 * training split as training read them (dlx_family.train_images:
 * data.train_limit, data.resize once at load), all of them when it holds
 * fewer. A graph with an op without an R-operator is refused (DLX_EINVAL
 * naming it). method fd replaces each product by central differences of
 * double-precision gradients with step eps: a cross-check, exact to
 * O(eps^2) away from ReLU kinks (a step across a kink puts a spurious
 * jump / (2 eps N) into H). */
typedef enum dlx_hessian_method { DLX_HESSIAN_ROP = 0, DLX_HESSIAN_FD = 1 } dlx_hessian_method;
typedef struct dlx_hessian_opts {
    int samples;
    dlx_hessian_method method;
    double eps;        /* fd only */
    int exact_max;
    int lanczos_steps;
    double neg_tol;    /* the index counts eigenvalues < -neg_tol */
} dlx_hessian_opts;
typedef struct dlx_hessian_info {
    int64_t params;
    int64_t index;        /* eigenvalues < -neg_tol */
    double eig_min, eig_max;
    double loss;          /* the loss over the samples, in double */
    bool exact;
} dlx_hessian_info;
int dlx_hessian_analyse(dlx_model *m, const dlx_hessian_opts *o, dlx_hessian_info *info, dlx_err *err);
/* Whether the model's graph can give exact Hessian-vector products, before
 * any training: DLX_EINVAL naming the first op without an R-operator (or a
 * family other than classifier). Loads the training split. */
int dlx_hessian_check(dlx_model *m, dlx_err *err);
/* Symmetric eigenvalues (ascending) of an n x n matrix a (destroyed), via dsyev. */
int dlx_sym_eigvals(double *a, int n, double *w, dlx_err *err);

/* The 1-1-1 linear net's loss at (w1, w2) for a model of family landscape
 * with problem linear111 (DLX_EINVAL otherwise). */
int dlx_landscape_linear111_loss(const dlx_model *m, double w1, double w2, double *loss, dlx_err *err);

#endif
