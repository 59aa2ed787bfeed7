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
 * model of family classifier: exact (central differences of gradients, then
 * LAPACK dsyev) when params <= exact_max, else Lanczos with central-difference
 * Hessian-vector products (extreme eigenvalues; index counts Ritz values).
 * Uses the first `samples` samples of the training split as training read
 * them (dlx_family.train_images: data.train_limit, data.resize once at
 * load), all of them when it holds fewer. For ReLU nets keep eps small
 * (default 1e-5): a step that moves a sample across a ReLU kink puts a
 * spurious jump/(2 eps N) into H; with eps = 1e-3 and N = 5000 that gave
 * eigenvalues near -1 that vanish at 1e-5 (float32 noise stays ~1e-4). */
typedef struct dlx_hessian_info {
    int64_t params;
    int64_t index;        /* eigenvalues < -neg_tol */
    double eig_min, eig_max;
    bool exact;
} dlx_hessian_info;
int dlx_hessian_analyse(dlx_model *m, int samples, double eps, int exact_max, int lanczos_steps,
                        double neg_tol, dlx_hessian_info *info, dlx_err *err);
/* Symmetric eigenvalues (ascending) of an n x n matrix a (destroyed), via dsyev. */
int dlx_sym_eigvals(double *a, int n, double *w, dlx_err *err);

/* The 1-1-1 linear net's loss at (w1, w2) for a model of family landscape
 * with problem linear111 (DLX_EINVAL otherwise). */
int dlx_landscape_linear111_loss(const dlx_model *m, double w1, double w2, double *loss, dlx_err *err);

#endif
