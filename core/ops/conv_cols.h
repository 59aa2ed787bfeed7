/* Receptive-field columns shared by conv2d.c and conv_transpose2d.c (private
 * to core/ops).
 *
 * A geometry is an image (C, H, W), a kernel KH x KW with stride and zero
 * padding, and the grid of kernel positions OH x OW. im2col writes row
 * (c, p, q), column (i, j) = img[c, i SH - PH + p, j SW - PW + q] (0 outside
 * the image); col2im is its adjoint (adds every entry back). Rows are `ld`
 * floats apart: the ops pass OH OW (one image's matrix); a larger ld puts
 * image n at column n OH OW of one (C KH KW, N OH OW) matrix.
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
