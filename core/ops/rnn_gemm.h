/* The products of the recurrent ops (core/ops/rnn.c); private to core.
 *
 * C (N x M) += A (N x K) B (K x M), A's element (i, k) at a[i * ars + k * aks]
 * (so A or its transpose may be a row-major matrix), B and C row-major.
 *
 * Why not cblas_sgemm: a recurrence multiplies a (20, 128) state by the same
 * (128, 128) transition 119 times a step, and OpenBLAS packs both operands
 * on every call: a quarter of the copy task's step went to its copy routines,
 * and its kernel for this machine (Haswell's, AVX2) ran the product at about a
 * third of the core's peak (bench/RESULTS.md, the recurrent workload). Here B is
 * read in place, 32 columns (two 16-float vectors) at a time, and each A value
 * is a broadcast: up to 12 rows x 32 columns of C stay in registers for the
 * sum over a slice of 128 k. A caller that multiplies by W^T transposes W once
 * (dlx_rec_transpose) and reuses it for every step.
 *
 * Each output is C's value plus a_i0 b_0j + a_i1 b_1j + ... in that order,
 * whatever N, the row blocks or the thread count: the bits of a row depend
 * only on that row. Without AVX-512 the product is cblas_sgemm's (whose bits
 * for a row may depend on N; the thread count still changes none).
 */
#ifndef DLX_RNN_GEMM_H
#define DLX_RNN_GEMM_H

#include <stddef.h>

void dlx_rec_gemm(int N, int M, int K, const float *a, ptrdiff_t ars, ptrdiff_t aks, const float *b, int ldb,
                  float *c, int ldc);
/* t (C x R) = s (R x C)^T, both row-major */
void dlx_rec_transpose(int R, int C, const float *s, float *t);

#endif
