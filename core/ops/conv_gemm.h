/* The per-image products of conv2d and conv_transpose2d, and the forward
 * of a linear layer over a few rows (private to core/ops), for the small
 * shapes of DCGAN-like nets and GAN shards: a few dozen channels over 16 to
 * 256 kernel positions an image, or 32 rows through a layer of 512 x 784.
 * OpenBLAS's sgemm packs both operands on every call and ran the
 * convolutions' products at about a quarter of the core's peak (an 8x8 ->
 * 4x4 layer: 64 x 16 outputs over 512 terms an image). Here B's rows are
 * read where they lie and A's values are broadcast: up to 6 rows x 16
 * columns of C in registers (rows in blocks of equal size, the last tile of
 * columns 8 wide where the columns end so), every element one chain of
 * multiply-adds over the inner index in order, so the bits depend on the
 * shape alone (not on threads, shards or the batch).
 *
 *   C(r, j) [+]= sum over t < T of A(r, t) B(t, j)
 *   A(r, t) = a[r sar + t sat],  B(t, j) = b[t ldb + j]
 *
 * The store is C[r ldc + j] = or +=, or transposed, C[j ldc + r] = or +=.
 */
#ifndef DLX_CONV_GEMM_H
#define DLX_CONV_GEMM_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { DLX_CG_STORE, DLX_CG_ADD, DLX_CG_STORE_T, DLX_CG_ADD_T } dlx_cg_store;

typedef struct dlx_cg {
    int rows, cols;            /* C's rows r and columns j (cols a multiple of 8) */
    int T;                     /* terms of the inner sum */
    const float *a;
    ptrdiff_t sar, sat;
    const float *b;
    ptrdiff_t ldb;
    float *c;
    ptrdiff_t ldc;
    dlx_cg_store store;
} dlx_cg;

/* true when this build has the kernel and the product suits it: columns a
 * multiple of 8, one segment's B (T x cols) within L2 */
bool dlx_cg_use(int cols, int T);
/* the product; only where dlx_cg_use(cols, T) */
void dlx_cg_run(const dlx_cg *g);
/* dst (cols x rows) = src (rows x cols) transposed: the small operand of a
 * weight gradient (an image's dZ or input) with its channels innermost */
void dlx_cg_transpose(int rows, int cols, const float *src, float *dst);
/* dst (cols x rows) += src (rows x cols) transposed: a weight gradient summed
 * as W^T into W */
void dlx_cg_add_transposed(int rows, int cols, const float *src, float *dst);

#endif
