/* Forward kernel for small linear layers, used by linear.c and by ISTA in
 * core/sparse.c (so that its products are the linear op's bits: an untrained
 * LISTA graph computes ISTA's iterates exactly); private to core.
 *
 * Y = X W^T (+ b, then ReLU if asked) for X (N, K) and W (M, K), row-major.
 * OpenBLAS's small-matrix kernel for this shape (the NT product) ran at about
 * 60 % of the core's peak on a landscape net (100 x 25 x 100) and its bias and
 * ReLU need another pass. Here W's first M - M % 8 rows are transposed into
 * scratch (8 x 8 register blocks), so that 8 output columns are one 8-float
 * vector and each X value a broadcast: 8 rows x 24 columns per register block,
 * bias and ReLU applied in registers. The last M % 8 columns are dot products
 * of X rows with W rows (4 rows at a time). Each output is a sum over k in a
 * fixed order that depends only on its own row and column, so the result does
 * not depend on how the batch is split into shards.
 */
#ifndef DLX_LINEAR_SMALL_H
#define DLX_LINEAR_SMALL_H

#include <stdbool.h>
#include <stddef.h>

/* true when this build has the kernel and the product is one it was measured
 * to run faster than the BLAS call (bench/RESULTS.md, third tuning pass) */
bool dlx_linear_small_use(int N, int M, int K);
/* scratch floats the kernel needs (the transposed weights) */
size_t dlx_linear_small_scratch(int M, int K);
/* y = x w^T (+ b) (then max(y, 0) when relu); wt: dlx_linear_small_scratch floats */
void dlx_linear_small_forward(int N, int M, int K, const float *x, const float *w, const float *b,
                              bool relu, float *y, float *wt);
/* The two halves of dlx_linear_small_forward, for a caller that multiplies by
 * the same w many times: pack w (M x K) into wt once, then apply as often as
 * needed (apply reads both w and wt). Same bits as dlx_linear_small_forward,
 * and a row's outputs do not depend on N or on the other rows, so a batch may
 * be applied in row blocks. */
void dlx_linear_small_pack(int M, int K, const float *w, float *wt);
void dlx_linear_small_apply(int N, int M, int K, const float *x, const float *w, const float *wt, const float *b,
                            bool relu, float *y);

/* The weight gradient of a small linear layer: dw (M x K, row stride K) +=
 * dz^T x for dz's columns [0, M) (N rows, row stride ldz) and x (N x K). Each
 * element is one chain of multiply-adds over n = 0..N-1 from 0, then added to
 * dw, so column blocks of dz give the same bits as the whole. _use: this build
 * has it and the shape is one where it was measured to beat BLAS; decide on
 * the whole layer's M, not a block's, so that the bits do not depend on the
 * threads. */
bool dlx_linear_small_dw_use(int N, int M, int K);
void dlx_linear_small_dw(int N, int M, int K, const float *dz, int ldz, const float *x, float *dw);

#endif
