/* The graph of a set of points and its Laplacian's eigenvectors: the
 * "Fourier basis" of a spectral network (Bruna, Zaremba, Szlam & LeCun
 * 2014, section 3.2), here for points in the plane (subsampled pixels) or
 * in space (points on a sphere).
 *
 * Weights: each point is joined to its k nearest others (Euclidean; ties by
 * index), the relation made symmetric (i ~ j when either is among the
 * other's k nearest), with the Gaussian weight exp(-d_ij^2 / sigma^2);
 * sigma <= 0 takes the mean distance of a point to its k-th nearest.
 * Laplacian: L = D - W (combinatorial) or I - D^-1/2 W D^-1/2 (normalised).
 * Basis: the eigenvectors of the `keep` smallest eigenvalues (LAPACK
 * dsyevd, in double), ascending; each with its largest-magnitude
 * component (the first such) positive, so the basis is a function of the
 * points and the options alone.
 */
#ifndef DLX_LAPLACIAN_H
#define DLX_LAPLACIAN_H

#include <stdbool.h>

#include "err.h"
#include "graph.h"

typedef struct dlx_laplacian_opts {
    int k;            /* neighbours per point, 1 .. n - 1 */
    double sigma;     /* Gaussian width; <= 0: the mean k-th neighbour distance */
    bool normalized;  /* I - D^-1/2 W D^-1/2, else D - W */
    int keep;         /* eigenvectors kept, 1 .. n */
} dlx_laplacian_opts;

/* The n x n symmetric weights (row-major) of the k-nearest-neighbour graph;
 * *sigma_used gets the width applied. */
int dlx_knn_weights(const dlx_points *p, int k, double sigma, double *w, double *sigma_used, dlx_err *err);
/* L from the weights W (n x n) into l (n x n). A point without neighbours
 * keeps a zero row (normalised too). DLX_ENOMEM only. */
int dlx_laplacian(const double *w, int n, bool normalized, double *l, dlx_err *err);
/* The `keep` smallest eigenvalues of the symmetric a (n x n, destroyed)
 * ascending into evals[0 .. keep) and their eigenvectors into v (n x keep,
 * row-major: v[i keep + j] is component i of vector j), signs as above. */
int dlx_eigh_lowest(double *a, int n, int keep, double *evals, double *v, dlx_err *err);
/* All of it from the points: v (n x o->keep floats) and evals (o->keep). */
int dlx_laplacian_basis(const dlx_points *p, const dlx_laplacian_opts *o, float *v, double *evals, dlx_err *err);

#endif
