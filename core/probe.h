/* A probe: how much of a label a frozen representation holds, measured by
 * the test accuracy of a small classifier fit on it in closed form (no
 * training loop, so its numbers depend on the data and the seed alone).
 *
 * The classifier: the codes standardised with the training codes' mean and
 * std, then the features [x, relu(A x + b), 1] with `hidden` random units
 * (A, b ~ N(0, 1) scaled by 1/sqrt(d) and 1, from the counter-based stream
 * of the seed: a random-feature network, so that class information a
 * linear map cannot read still counts), and ridge regression of the one-hot
 * labels on them, (F^T F + lambda I) W = F^T Y in double (LAPACK dposv);
 * the predicted class is the argmax of F W. lambda = 1e-3 n keeps the
 * system well posed when features are constant or collinear.
 *
 * Chance is 1 / K for balanced classes: a code that carries no class
 * information scores near it on the test split, one that carries the class
 * near the accuracy of a classifier on the images.
 */
#ifndef DLX_PROBE_H
#define DLX_PROBE_H

#include <stdint.h>

#include "err.h"

typedef struct dlx_probe_data {
    const float *x;   /* n x d codes, row-major */
    const float *y;   /* n labels in [0, K) as floats */
    int64_t n;
} dlx_probe_data;

/* Fit on train, score on test: the fraction of test rows predicted right
 * into *accuracy. d >= 1, classes >= 2, hidden >= 0; a label outside
 * [0, classes) is DLX_EINVAL. DLX_ENUM when the system cannot be solved. */
int dlx_probe_accuracy(const dlx_probe_data *train, const dlx_probe_data *test, int d, int classes, int hidden,
                       uint64_t seed, double *accuracy, dlx_err *err);

#endif
