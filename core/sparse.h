/* Exact sparse-coding inference, batched over samples (Gregor & LeCun 2010).
 *
 * Energy of a code z for a sample x (n pixels) under a dictionary Wd (n x m,
 * unit-norm columns):  E(z) = 0.5 ||x - Wd z||^2 + alpha ||z||_1.
 * Row-major batches: X is N x n, Z is N x m (one sample per row).
 *
 *   ISTA   Z <- h_{alpha/L}(B + Z S^T), B = X We^T, We = Wd^T / L (m x n),
 *          S = I - Wd^T Wd / L; written as an untrained LISTA graph computes
 *          it: the same order of additions, and each product by the linear
 *          op's kernel choice for the batch (its small kernel or BLAS), so the
 *          two agree bit for bit whenever the products take the small kernel
 *          or the batch is one row block (N <= 64) of a product the op does
 *          not cut into column blocks; see sparse.c.
 *   FISTA  ISTA's step taken at a Nesterov extrapolated point (Beck & Teboulle).
 *   CoD    coordinate descent (Li & Osher): one iteration = one coordinate
 *          update per sample (the greedy argmax |Z - h_alpha(B)|); the output
 *          after k updates is h_alpha(B), as in the paper's algorithm box.
 * L is the largest eigenvalue of Wd^T Wd (power iteration, times 1.0001).
 * ISTA and FISTA do one product of N x m x m per iteration (in row blocks,
 * cblas_sgemm or for ISTA's small products the linear op's kernel); CoD is
 * O(m) per update and sample.
 *
 * The solver keeps a pointer to nothing: dlx_sparse owns its derived
 * matrices (We, S, G, theta) and copies Wd. Functions never print; the only
 * failures are allocation (DLX_ENOMEM) and invalid sizes (DLX_EINVAL).
 */
#ifndef DLX_SPARSE_H
#define DLX_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum dlx_sparse_algo { DLX_SPARSE_ISTA = 0, DLX_SPARSE_FISTA, DLX_SPARSE_COD } dlx_sparse_algo;

typedef struct dlx_sparse {
    int n, m;
    float alpha, L;
    float *Wd;    /* n x m, copy */
    float *G;     /* m x m, Wd^T Wd */
    float *We;    /* m x n, Wd^T / L */
    float *S;     /* m x m, I - G / L */
    float *theta; /* m, alpha / L */
    double *eig;  /* 2 m: the power iteration's vectors */
    /* Work buffers for dlx_sparse_solve and dlx_sparse_energy on up to
     * the rows given to dlx_sparse_reserve, so that a training loop
     * allocates nothing per step; larger calls allocate their own. With a
     * workspace, one solve at a time per dlx_sparse. */
    void *ws;
    size_t ws_size; /* bytes */
} dlx_sparse;

/* Copy Wd (n x m) and derive G, L, We, S, theta. */
int dlx_sparse_init(dlx_sparse *s, const float *Wd, int n, int m, float alpha, dlx_err *err);
/* A new dictionary of the same size: the same derivation into the existing
 * buffers (no allocation). DLX_EINVAL for a zero dictionary. */
int dlx_sparse_set_dictionary(dlx_sparse *s, const float *Wd, dlx_err *err);
/* Allocate the work buffers for calls on up to N rows. */
int dlx_sparse_reserve(dlx_sparse *s, int N, dlx_err *err);
void dlx_sparse_free(dlx_sparse *s);

/* Options and outputs of one solve. */
typedef struct dlx_sparse_opts {
    int max_iters;     /* iterations (CoD: coordinate updates per sample) */
    double tol;        /* stop once max |Z_k - Z_{k-1}| over the batch < tol (CoD: max |Z - h(B)|); 0 = never */
    double *energy;    /* optional, max_iters entries: mean energy over the batch after each iteration */
    const int *record_at; /* optional, ascending iteration counts at which to copy the output */
    int n_record;
    float **record;    /* record[i]: N x m buffer for the output after record_at[i] iterations */
    int iters_done;    /* out: iterations run */
    int threads;       /* ISTA/FISTA workers over blocks of rows (one-thread BLAS inside); the
                        * result does not depend on it; 0 or 1 = the caller's thread */
} dlx_sparse_opts;

/* Solve from Z = 0 for the N rows of X; writes Z (N x m). */
int dlx_sparse_solve(const dlx_sparse *s, dlx_sparse_algo algo, const float *X, int N, float *Z,
                     dlx_sparse_opts *o, dlx_err *err);

/* Mean energy over the N rows; per_sample (N) may be NULL. */
double dlx_sparse_energy(const dlx_sparse *s, const float *X, const float *Z, int N, double *per_sample);

/* In place y = sign(y) max(|y| - theta_j, 0) over N x m. */
void dlx_sparse_shrink(float *y, const float *theta, int64_t N, int m);

#endif
