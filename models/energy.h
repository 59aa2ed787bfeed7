/* The energy family's closed-form strategies and its one evaluation, as
 * plain functions on rows of float data (n rows of d values), for the family
 * (models/energy.c) and for tests against naive references.
 *
 * Each strategy's energy E(y) is low on the data and higher away from it:
 *   PCA      E = ||(y - mu) - W^T W (y - mu)||^2 (W: k orthonormal rows, the
 *            covariance's leading eigenvectors; Jacobi rotations in double)
 *   K-means  E = min_j ||y - c_j||^2 (Lloyd's iterations)
 *   GMM      E = -log sum_j pi_j N(y; mu_j, Sigma_j) (EM, full covariances
 *            with reg * I added, so no component collapses onto one point)
 * The evaluation is the same for every strategy, closed-form or trained:
 * the area under the ROC curve of the energy between held-out data and
 * points drawn uniformly over the box (higher energy = "not data").
 */
#ifndef DLX_ENERGY_H
#define DLX_ENERGY_H

#include <stdint.h>

#include "../core/err.h"

/* Eigen-decomposition of the symmetric d x d matrix a (row-major, double;
 * destroyed) by cyclic Jacobi rotations: eigenvalues descending into w (d),
 * eigenvector j as row j of v (d x d). */
int dlx_energy_symeig(double *a, int d, double *w, double *v, dlx_err *err);

/* PCA: the mean mu (d) and the k leading principal directions W (k x d,
 * orthonormal rows) of X; var (k, may be NULL) gets their variances. */
int dlx_energy_pca_fit(const float *X, int64_t n, int d, int k, float *mu, float *W, double *var, dlx_err *err);
void dlx_energy_pca(const float *mu, const float *W, int d, int k, const float *Y, int64_t n, float *E);

/* K-means: k distinct rows of X chosen by the counter-based generator as
 * the starting centres C (k x d); then `iters` Lloyd iterations (fewer once
 * no assignment changes; an empty cluster keeps its centre). *moved gets the
 * iterations run. */
void dlx_energy_kmeans_init(const float *X, int64_t n, int d, int k, uint64_t seed, float *C);
int dlx_energy_kmeans_fit(const float *X, int64_t n, int d, int k, int iters, float *C, int *ran, dlx_err *err);
void dlx_energy_kmeans(const float *C, int d, int k, const float *Y, int64_t n, float *E);

/* Gaussian mixture by EM from means mu (k x d, e.g. K-means centres),
 * equal weights and the data's covariance: `iters` iterations of E and M
 * steps. pi (k), mu (k x d), cov (k x d x d). *loglik gets the mean
 * log-likelihood of X after the last M step. */
int dlx_energy_gmm_fit(const float *X, int64_t n, int d, int k, int iters, double reg, float *pi, float *mu,
                       float *cov, double *loglik, dlx_err *err);
int dlx_energy_gmm(const float *pi, const float *mu, const float *cov, int d, int k, const float *Y, int64_t n,
                   float *E, dlx_err *err);

/* Area under the ROC curve of "energy above a threshold means not data":
 * the probability that a non-data point has a higher energy than a data
 * point, ties counting one half (Mann-Whitney, sorted ranks). NaN energies
 * count as the highest. */
int dlx_energy_auc(const float *e_data, int64_t n_data, const float *e_other, int64_t n_other, double *auc,
                   dlx_err *err);

#endif
