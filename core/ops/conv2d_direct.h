/* Direct stride-1 convolution kernels used by conv2d.c (private to core/ops).
 *
 * "Wide rows": with the input zero-padded to (C, Hp, Wp), output row i and
 * column j read input (c, i + p, j + q), i.e. flat offset (i Wp + j) + (p Wp + q).
 * Computing the output at every flat position k = i Wp + j for j < Wp (not only
 * j < OW) turns each (c, p, q) term into one long contiguous vector operation
 * over k; the Wp - OW extra columns per row are thrown away (forward) or held
 * at zero (backward). The work grows by Wp / OW (1.14 for LeNet's conv1, 1.4
 * for conv2) but runs at vector speed with the weights broadcast from
 * registers, instead of an im2col copy and a small GEMM per image.
 *
 * "Filter vectors": when F is a multiple of 16, the forward pass and dW use
 * the 16 filters of a group as one vector instead (weights transposed to
 * term-major once per batch; each input value broadcast), over 8 output
 * positions or 8 terms at a time: only real output positions are computed and
 * no lane sums are needed. dX keeps the wide rows.
 */
#ifndef DLX_CONV2D_DIRECT_H
#define DLX_CONV2D_DIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include "ops.h"

typedef struct dlx_conv_direct {
    int C, H, W, F, KH, KW, PH, PW, OH, OW;
    int Hp, Wp;     /* padded input */
    int Lw, Lv;     /* wide output length OH Wp, and rounded up to 16 */
    size_t plane;   /* Hp Wp */
    size_t padded;  /* floats of one padded image plus read slack */
    bool fvec;      /* F a multiple of 16: forward and dW over filter vectors, not wide rows */
} dlx_conv_direct;

/* true when the direct kernels apply and are expected to win (stride 1, small filters). */
bool dlx_conv_direct_plan(int C, int H, int W, int F, int KH, int KW, int SH, int SW, int PH, int PW,
                          dlx_conv_direct *d);
/* Scratch floats needed per call (independent of the batch). */
size_t dlx_conv_direct_scratch(const dlx_conv_direct *d);

/* Once per batch before the images (filter-vector plans): for a forward pass
 * the transposed weights, for a backward pass a zeroed weight-gradient
 * accumulator. */
void dlx_conv_direct_begin(const dlx_conv_direct *d, const float *w, bool backward, float *scratch);
/* After a batch's backward images: dw += the accumulated gradient (filter-vector plans). */
void dlx_conv_direct_end_backward(const dlx_conv_direct *d, float *dw, float *scratch);

/* y (F, OH, OW) = act(conv(x (C, H, W), w) + b); b may be NULL. */
void dlx_conv_direct_forward(const dlx_conv_direct *d, const float *x, const float *w, const float *b,
                             dlx_act act, float alpha, float *y, float *scratch);
/* From dz (F, OH, OW) = dL/dZ of one image: dw += ..., dx += ... (dx may be NULL).
 * (db is summed by the caller.) */
void dlx_conv_direct_backward(const dlx_conv_direct *d, const float *x, const float *w, const float *dz,
                              float *dw, float *dx, float *scratch);

#endif
