/* Sample-quality scores of a generative model, as pure functions of a
 * classifier's outputs (models/classifier_score.h runs the classifier):
 *
 *   inception score  IS  = exp(E_x KL(p(y|x) || p(y)))   (Salimans et al. 2016;
 *                          1 = useless, K = every class, each sample certain)
 *   modified score   I'  = E_x KL(p(y) || p(y|x)), and I'^2 (Gurumurthy et al.
 *                          2017, "DeLiGAN"; 0 = every sample predicted as p(y))
 *   Fréchet distance FD  = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))
 *                          between Gaussians fitted to two feature sets
 *                          (Heusel et al. 2017, here on a dlx classifier's
 *                          penultimate features rather than Inception's)
 *
 * p(y) is the mean of p(y|x) over the samples given. Everything is in double.
 * The scores take log-probabilities, so a class a sample rules out (p(y|x)
 * underflowing to 0) still gives a finite I' as long as its logit is finite;
 * log 0 = -inf is accepted too (then I' is +inf where p(y) > 0, honestly).
 * Covariances are unbiased (divide by n - 1, as numpy's np.cov and the FID
 * reference code). (S1 S2)^(1/2) is taken in its symmetric form: S1 = V L V'
 * by LAPACK dsyevd, R = V sqrt(L) V', and Tr (S1 S2)^(1/2) = Tr (R S2 R)^(1/2)
 * = sum sqrt(eig(R S2 R)) (R S2 R is symmetric positive semi-definite, so
 * one more dsyevd); eigenvalues that rounding makes slightly negative count
 * as 0, as is standard, and a distance that rounding makes slightly
 * negative (a set against itself) is 0.
 */
#ifndef DLX_SCORES_H
#define DLX_SCORES_H

#include <stdint.h>

#include "err.h"

/* Feature dimensions the Fréchet distance accepts: two d x d matrices in
 * double and a third for the eigensolver (3 x 128 MiB at the limit). */
#define DLX_FRECHET_DIM_MAX 4096

typedef struct dlx_inception {
    double is;        /* exp(kl) */
    double kl;        /* E_x KL(p(y|x) || p(y)) */
    double iprime;    /* E_x KL(p(y) || p(y|x)) */
    double iprime_sq; /* iprime^2 */
} dlx_inception;

/* Row i of logp (n rows of k) is log p(y|x_i). Rows must sum to 1 within
 * 1e-6 (DLX_EINVAL naming the row: logits passed by mistake), and hold no
 * NaN or +inf (DLX_ENUM). n >= 1, 1 <= k <= 1e6. */
int dlx_inception_scores(const double *logp, int64_t n, int k, dlx_inception *out, dlx_err *err);

/* log softmax of n rows of k float logits, in double, stably (max subtracted). */
void dlx_log_softmax_rows(const float *logits, int64_t n, int k, double *logp);

/* Mean and (unbiased) covariance of n >= 2 rows of d features. */
typedef struct dlx_moments {
    int64_t n, d;
    double *mean; /* d */
    double *cov;  /* d x d, row major (symmetric) */
} dlx_moments;

/* x: n rows of d floats. 1 <= d <= DLX_FRECHET_DIM_MAX; a NaN or inf
 * feature is DLX_ENUM. m is zeroed first; free it with dlx_moments_free
 * (also after a failure). */
int dlx_moments_compute(const float *x, int64_t n, int64_t d, dlx_moments *m, dlx_err *err);
void dlx_moments_free(dlx_moments *m);

/* The Fréchet distance between the Gaussians of a and b (same d). */
int dlx_frechet_distance(const dlx_moments *a, const dlx_moments *b, double *fd, dlx_err *err);

#endif
