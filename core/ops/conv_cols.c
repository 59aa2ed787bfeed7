/* Receptive-field columns of conv2d and conv_transpose2d: conv_cols.h. */
#include <string.h>

#include "conv_cols.h"

/* The columns j of kernel column q that read inside the image,
 * 0 <= j SW - PW + q < W: [*lo, *hi), empty when *lo == *hi. */
static void cols_in(const dlx_conv_cols *g, int q, int *lo, int *hi)
{
    int jlo = g->PW - q > 0 ? (g->PW - q + g->SW - 1) / g->SW : 0;
    int jhi = g->W + g->PW - q > 0 ? (g->W + g->PW - q + g->SW - 1) / g->SW : 0;
    if (jhi > g->OW)
        jhi = g->OW;
    if (jlo > jhi)
        jlo = jhi;
    *lo = jlo;
    *hi = jhi;
}

void dlx_conv_im2col(const dlx_conv_cols *g, const float *img, float *col, size_t ld)
{
    for (int c = 0; c < g->C; c++)
        for (int p = 0; p < g->KH; p++)
            for (int q = 0; q < g->KW; q++) {
                float *dst = col + ((size_t)(c * g->KH + p) * g->KW + q) * ld;
                int jlo, jhi;
                cols_in(g, q, &jlo, &jhi);
                const int off = q - g->PW;
                for (int i = 0; i < g->OH; i++, dst += g->OW) {
                    int ih = i * g->SH - g->PH + p;
                    if (ih < 0 || ih >= g->H) {
                        memset(dst, 0, (size_t)g->OW * sizeof(float));
                        continue;
                    }
                    const float *src = img + ((size_t)c * g->H + ih) * g->W;
                    for (int j = 0; j < jlo; j++)
                        dst[j] = 0.0f;
                    if (g->SW == 1) /* short rows: an inline loop beats a memcpy call */
                        for (int j = jlo; j < jhi; j++)
                            dst[j] = src[j + off];
                    else
                        for (int j = jlo; j < jhi; j++)
                            dst[j] = src[j * g->SW + off];
                    for (int j = jhi; j < g->OW; j++)
                        dst[j] = 0.0f;
                }
            }
}

void dlx_conv_col2im(const dlx_conv_cols *g, const float *col, size_t ld, float *img)
{
    for (int c = 0; c < g->C; c++)
        for (int p = 0; p < g->KH; p++)
            for (int q = 0; q < g->KW; q++) {
                const float *s = col + ((size_t)(c * g->KH + p) * g->KW + q) * ld;
                int jlo, jhi;
                cols_in(g, q, &jlo, &jhi);
                const int off = q - g->PW;
                for (int i = 0; i < g->OH; i++, s += g->OW) {
                    int ih = i * g->SH - g->PH + p;
                    if (ih < 0 || ih >= g->H)
                        continue;
                    float *d = img + ((size_t)c * g->H + ih) * g->W;
                    if (g->SW == 1)
                        for (int j = jlo; j < jhi; j++)
                            d[j + off] += s[j];
                    else
                        for (int j = jlo; j < jhi; j++)
                            d[j * g->SW + off] += s[j];
                }
            }
}

float dlx_conv_sum16(const float *x, size_t n)
{
    float acc[16] = {0};
    size_t k = 0;
    for (; k + 16 <= n; k += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += x[k + l];
    for (; k < n; k++)
        acc[0] += x[k];
    for (int l = 8; l > 0; l /= 2)
        for (int i = 0; i < l; i++)
            acc[i] += acc[i + l];
    return acc[0];
}

void dlx_conv_bias_act(float *y, const float *src, size_t n, float b, dlx_act act, float alpha)
{
    if (act == DLX_ACT_RELU) { /* fused: the common case */
        for (size_t k = 0; k < n; k++) {
            float v = src[k] + b;
            y[k] = v > 0.0f ? v : 0.0f;
        }
        return;
    }
    if (b != 0.0f)
        for (size_t k = 0; k < n; k++)
            y[k] = src[k] + b;
    else if (y != src)
        memcpy(y, src, n * sizeof(float));
    dlx_act_forward(act, alpha, y, (int64_t)n);
}

void dlx_conv_act_backward(float *dz, const float *dy, const float *y, size_t n, dlx_act act, float alpha)
{
    if (act == DLX_ACT_RELU) { /* fused copy and mask */
        for (size_t k = 0; k < n; k++)
            dz[k] = y[k] > 0.0f ? dy[k] : 0.0f;
        return;
    }
    memcpy(dz, dy, n * sizeof(float));
    dlx_act_backward(act, alpha, y, dz, (int64_t)n);
}
