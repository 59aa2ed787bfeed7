/* Receptive-field columns shared by conv2d.c and conv_transpose2d.c (private
 * to core/ops).
 *
 * A geometry is an image (C, H, W), a kernel KH x KW with stride and zero
 * padding, and the grid of kernel positions OH x OW. im2col writes row
 * (c, p, q), column (i, j) = img[c, i SH - PH + p, j SW - PW + q] (0 outside
 * the image); col2im is its adjoint (adds every entry back). Rows are `ld`
 * floats apart, so image n of a batch can be written at column n OH OW of
 * one (C KH KW, N OH OW) matrix that a single GEMM then covers.
 * conv2d uses them on its input (grid: its output); conv_transpose2d, the
 * adjoint of a conv2d, on its output (grid: its input).
 */
#ifndef DLX_CONV_COLS_H
#define DLX_CONV_COLS_H

#include <stddef.h>

#include "ops.h"

typedef struct dlx_conv_cols {
    int C, H, W;            /* the image */
    int KH, KW, SH, SW, PH, PW;
    int OH, OW;             /* the grid of kernel positions */
} dlx_conv_cols;

/* The row stride of a (rows, N L) column matrix: nl rounded up to an odd
 * multiple of 16 floats (64 bytes). Rows a power of two apart fall into the
 * same cache sets: DCGAN's 32 x 64 columns (8 KiB rows) made im2col's stores
 * stall. */
static inline size_t dlx_conv_cols_ld(size_t nl)
{
    size_t ld = (nl + 15) & ~(size_t)15;
    return (ld / 16) % 2 ? ld : ld + 16;
}

/* col rows (C KH KW) of OH OW columns each, ld apart (ld >= OH OW). */
void dlx_conv_im2col(const dlx_conv_cols *g, const float *img, float *col, size_t ld);
/* img (C, H, W) += the adjoint of im2col applied to col. */
void dlx_conv_col2im(const dlx_conv_cols *g, const float *col, size_t ld, float *img);

/* A sum in 16 independent lanes combined in a fixed order: vectorisable
 * without -ffast-math, deterministic all the same. */
float dlx_conv_sum16(const float *x, size_t n);

/* y[k] = act(src[k] + b) for k < n; src may equal y. */
void dlx_conv_bias_act(float *y, const float *src, size_t n, float b, dlx_act act, float alpha);

/* dz[k] = dy[k] act'(y[k]) for k < n (act != NONE), y the op's output. */
void dlx_conv_act_backward(float *dz, const float *dy, const float *y, size_t n, dlx_act act, float alpha);

#endif
