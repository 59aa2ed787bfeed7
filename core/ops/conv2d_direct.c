/* Direct stride-1 convolution, "wide rows" (see conv2d_direct.h): plans and
 * the forward pass; the backward pass is conv2d_direct_backward.c, the vector
 * helpers and the register blocking conv2d_direct_kernels.h. Filters are
 * processed FB at a time so that each input vector loaded feeds FB
 * multiply-adds held in registers.
 */
#include "conv2d_direct_kernels.h"

#include <string.h>

bool dlx_conv_direct_plan(int C, int H, int W, int F, int KH, int KW, int SH, int SW, int PH, int PW,
                          dlx_conv_direct *d)
{
    if (SH != 1 || SW != 1)
        return false;
    /* small receptive fields and few filters: where per-image GEMMs are
     * tiny and overhead-bound (LeNet, small residual nets) */
    if ((long)C * KH * KW > 1024 || F > 128)
        return false;
    memset(d, 0, sizeof *d);
    d->C = C, d->H = H, d->W = W, d->F = F, d->KH = KH, d->KW = KW, d->PH = PH, d->PW = PW;
    d->Hp = H + 2 * PH;
    d->Wp = W + 2 * PW;
    d->OH = d->Hp - KH + 1;
    d->OW = d->Wp - KW + 1;
    if (d->OH < 1 || d->OW < 1)
        return false;
    d->Lw = d->OH * d->Wp;
    d->Lv = (d->Lw + 15) / 16 * 16;
    d->plane = (size_t)d->Hp * d->Wp;
    /* reads reach k + (KH-1) Wp + KW-1 for k < Lv: slack past the last plane */
    d->padded = (size_t)C * d->plane + (size_t)(d->Lv - d->Lw) + (size_t)d->Wp + (size_t)KW + 16;
    d->padded = (d->padded + 15) / 16 * 16;
    /* a whole number of 16-filter vectors: no padded columns and no lane sums */
    d->fvec = F % 16 == 0;
    return true;
}

size_t dlx_conv_direct_scratch(const dlx_conv_direct *d)
{
    /* padded input, padded input gradient, wide output / wide dz (F Lv); with
     * filter vectors also the transposed weights and their gradient (C KH KW F
     * each) and position-major output / dz (OH OW F) */
    size_t fv = d->fvec ? 2 * (size_t)d->C * d->KH * d->KW * d->F + (size_t)d->OH * d->OW * d->F : 0;
    return 2 * d->padded + (size_t)d->F * d->Lv + fv + 16;
}

void dlx_conv_direct_begin(const dlx_conv_direct *d, const float *w, bool backward, float *scratch)
{
    if (!d->fvec)
        return;
    const int ckk = d->C * d->KH * d->KW, F = d->F;
    if (backward) { /* dX runs on wide rows with w itself; dW accumulates here */
        memset(fv_dwt(d, scratch), 0, (size_t)ckk * F * sizeof(float));
        return;
    }
    float *wt = fv_wt(d, scratch);
    for (int f = 0; f < F; f++)
        for (int t = 0; t < ckk; t++)
            wt[(size_t)t * F + f] = w[(size_t)f * ckk + t];
}

void dlx_conv_direct_end_backward(const dlx_conv_direct *d, float *dw, float *scratch)
{
    if (!d->fvec || !dw)
        return;
    const int ckk = d->C * d->KH * d->KW, F = d->F;
    const float *dwt = fv_dwt(d, scratch);
    for (int f = 0; f < F; f++)
        for (int t = 0; t < ckk; t++)
            dw[(size_t)f * ckk + t] += dwt[(size_t)t * F + f];
}

/* The weights of filters f0 .. f0 + FB - 1, term-major, zeros past F, so that
 * the inner loops always run FB accumulators held in registers. */
static void gather_weights(const dlx_conv_direct *d, const float *w, int f0, float *wl)
{
    const int ckk = d->C * d->KH * d->KW;
    for (int t = 0; t < ckk; t++)
        for (int ff = 0; ff < FB; ff++)
            wl[t * FB + ff] = f0 + ff < d->F ? w[(size_t)(f0 + ff) * ckk + t] : 0.0f;
}

/* wide[f][k] for filters f0 .. f0 + FB - 1 (those < F), all k < Lv */
static void forward_block(const dlx_conv_direct *d, const float *xp, const float *wl, const int *off, int f0,
                          float *wide)
{
    const int ckk = d->C * d->KH * d->KW;
    int kb = 0;
    /* two vectors of k by FB filters: 8 independent multiply-add chains, enough
     * to hide the FMA latency (4 chains leave half the FMA throughput idle);
     * AVX2 gets its 8 chains from one v16 by FB filters (the loop below) */
    for (; WIDE_REGS && kb + 32 <= d->Lv; kb += 32) {
        v16 a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero(), b0 = vzero(), b1 = vzero(), b2 = vzero(), b3 = vzero();
        const float *xk = xp + kb;
        for (int t = 0; t < ckk; t++) {
            v16 xa = load16(xk + off[t]), xb = load16(xk + off[t] + 16);
            const float *wt = wl + t * FB;
            v16 w0 = splat(wt[0]), w1 = splat(wt[1]), w2 = splat(wt[2]), w3 = splat(wt[3]);
            a0 = vmadd(a0, w0, xa);
            a1 = vmadd(a1, w1, xa);
            a2 = vmadd(a2, w2, xa);
            a3 = vmadd(a3, w3, xa);
            b0 = vmadd(b0, w0, xb);
            b1 = vmadd(b1, w1, xb);
            b2 = vmadd(b2, w2, xb);
            b3 = vmadd(b3, w3, xb);
        }
        v16 acc[FB] = {a0, a1, a2, a3}, bcc[FB] = {b0, b1, b2, b3};
        for (int ff = 0; ff < FB && f0 + ff < d->F; ff++) {
            store16(wide + (size_t)(f0 + ff) * d->Lv + kb, acc[ff]);
            store16(wide + (size_t)(f0 + ff) * d->Lv + kb + 16, bcc[ff]);
        }
    }
    for (; kb < d->Lv; kb += 16) {
        v16 a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
        const float *xk = xp + kb;
        for (int t = 0; t < ckk; t++) {
            v16 xv = load16(xk + off[t]);
            PIN16(xv);
            const float *wt = wl + t * FB;
            a0 = vmadd(a0, splat(wt[0]), xv);
            a1 = vmadd(a1, splat(wt[1]), xv);
            a2 = vmadd(a2, splat(wt[2]), xv);
            a3 = vmadd(a3, splat(wt[3]), xv);
        }
        v16 acc[FB] = {a0, a1, a2, a3};
        for (int ff = 0; ff < FB && f0 + ff < d->F; ff++)
            store16(wide + (size_t)(f0 + ff) * d->Lv + kb, acc[ff]);
    }
}

/* The last one or two filters when F is not a multiple of FB (LeNet's C1 has
 * 6): two filters by four vectors of k, so no multiply-add is spent on a
 * filter that does not exist. */
static void forward_pair(const dlx_conv_direct *d, const float *xp, const float *wl, const int *off, int f0,
                         float *wide)
{
    const int ckk = d->C * d->KH * d->KW;
    float *y0 = wide + (size_t)f0 * d->Lv, *y1 = f0 + 1 < d->F ? y0 + d->Lv : NULL;
    int kb = 0;
    for (; WIDE_REGS && kb + 64 <= d->Lv; kb += 64) {
        v16 a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero(), b0 = vzero(), b1 = vzero(), b2 = vzero(), b3 = vzero();
        const float *xk = xp + kb;
        for (int t = 0; t < ckk; t++) {
            const float *xt = xk + off[t];
            v16 w0 = splat(wl[t * FB]), w1 = splat(wl[t * FB + 1]);
            v16 x0 = load16(xt), x1 = load16(xt + 16), x2 = load16(xt + 32), x3 = load16(xt + 48);
            KEEP_IN_REGISTERS(x0, x1, x2, x3);
            a0 = vmadd(a0, w0, x0), a1 = vmadd(a1, w0, x1), a2 = vmadd(a2, w0, x2), a3 = vmadd(a3, w0, x3);
            b0 = vmadd(b0, w1, x0), b1 = vmadd(b1, w1, x1), b2 = vmadd(b2, w1, x2), b3 = vmadd(b3, w1, x3);
        }
        store16(y0 + kb, a0), store16(y0 + kb + 16, a1), store16(y0 + kb + 32, a2), store16(y0 + kb + 48, a3);
        if (y1)
            store16(y1 + kb, b0), store16(y1 + kb + 16, b1), store16(y1 + kb + 32, b2), store16(y1 + kb + 48, b3);
    }
    for (; !WIDE_REGS && kb + 32 <= d->Lv; kb += 32) { /* AVX2: two filters by two vectors */
        v16 a0 = vzero(), a1 = vzero(), b0 = vzero(), b1 = vzero();
        const float *xk = xp + kb;
        for (int t = 0; t < ckk; t++) {
            const float *xt = xk + off[t];
            v16 w0 = splat(wl[t * FB]), w1 = splat(wl[t * FB + 1]);
            v16 x0 = load16(xt), x1 = load16(xt + 16);
            PIN16(x0);
            PIN16(x1);
            a0 = vmadd(a0, w0, x0), a1 = vmadd(a1, w0, x1);
            b0 = vmadd(b0, w1, x0), b1 = vmadd(b1, w1, x1);
        }
        store16(y0 + kb, a0), store16(y0 + kb + 16, a1);
        if (y1)
            store16(y1 + kb, b0), store16(y1 + kb + 16, b1);
    }
    for (; kb < d->Lv; kb += 16) { /* Lv is a multiple of 16 */
        v16 a0 = vzero(), b0 = vzero();
        for (int t = 0; t < ckk; t++) {
            v16 xv = load16(xp + kb + off[t]);
            a0 = vmadd(a0, splat(wl[t * FB]), xv);
            b0 = vmadd(b0, splat(wl[t * FB + 1]), xv);
        }
        store16(y0 + kb, a0);
        if (y1)
            store16(y1 + kb, b0);
    }
}

/* Pointers into the padded input at output positions p0 .. p0 + 7 (row-major
 * over OH x OW; positions past the end repeat the last real one). */
static void position_bases(const dlx_conv_direct *d, const float *xp, int p0, const float *base[8])
{
    const int P = d->OH * d->OW;
    for (int u = 0; u < 8; u++) {
        int p = p0 + u < P ? p0 + u : P - 1;
        base[u] = xp + (size_t)(p / d->OW) * d->Wp + p % d->OW;
    }
}

/* Filter vectors: out[p][f] over PB output positions at a time (8 with
 * AVX-512, 4 with AVX2: 8 chains of registers either way), each term's 16
 * weights one vector load and each input value one broadcast: independent
 * chains, no wasted columns (the wide rows compute Wp / OW times the work).
 * The unrolled loops over u keep acc[] in registers. */
#define PB (WIDE_REGS ? 8 : 4)
static void forward_fvec(const dlx_conv_direct *d, const float *xp, const float *wt, const int *off, float *out)
{
    const int ckk = d->C * d->KH * d->KW, F = d->F, P = d->OH * d->OW;
    for (int fg = 0; fg < F; fg += 16)
        for (int p0 = 0; p0 < P; p0 += PB) {
            const float *xb[8];
            position_bases(d, xp, p0, xb);
            v16 acc[PB];
            _Pragma("GCC unroll 8") for (int u = 0; u < PB; u++) acc[u] = vzero();
            const float *wv = wt + fg;
            for (int t = 0; t < ckk; t++, wv += F) {
                v16 w = load16(wv);
                PIN16(w);
                int o = off[t];
                _Pragma("GCC unroll 8") for (int u = 0; u < PB; u++) acc[u] = vmadd(acc[u], splat(xb[u][o]), w);
            }
            for (int u = 0; u < PB && p0 + u < P; u++)
                store16(out + (size_t)(p0 + u) * F + fg, acc[u]);
        }
}

void dlx_conv_direct_forward(const dlx_conv_direct *d, const float *x, const float *w, const float *b,
                             dlx_act act, float alpha, float *y, float *scratch)
{
    float *xp = scratch, *wide = scratch + 2 * d->padded;
    int off[MAX_TERMS];
    term_offsets(d, off);
    pad_image(d, x, xp);
    if (d->fvec) {
        const int F = d->F, P = d->OH * d->OW;
        float *out = fv_pos(d, scratch);
        forward_fvec(d, xp, fv_wt(d, scratch), off, out);
        for (int f = 0; f < F; f++) { /* to (F, OH, OW), with the bias and a fused relu */
            float bias = b ? b[f] : 0.0f, *yf = y + (size_t)f * P;
            if (act == DLX_ACT_RELU)
                for (int p = 0; p < P; p++) {
                    float v = out[(size_t)p * F + f] + bias;
                    yf[p] = v > 0.0f ? v : 0.0f;
                }
            else
                for (int p = 0; p < P; p++)
                    yf[p] = out[(size_t)p * F + f] + bias;
            if (act != DLX_ACT_NONE && act != DLX_ACT_RELU)
                dlx_act_forward(act, alpha, yf, P);
        }
        return;
    }
    float wl[MAX_TERMS * FB];
    for (int f0 = 0; f0 < d->F; f0 += FB) {
        gather_weights(d, w, f0, wl);
        if (d->F - f0 <= 2)
            forward_pair(d, xp, wl, off, f0, wide);
        else
            forward_block(d, xp, wl, off, f0, wide);
    }
    /* keep the OW real columns of every wide row, add the bias */
    for (int f = 0; f < d->F; f++) {
        float bias = b ? b[f] : 0.0f;
        float *yf = y + (size_t)f * d->OH * d->OW;
        const float *wf = wide + (size_t)f * d->Lv;
        if (act == DLX_ACT_RELU) { /* fused: one pass instead of two */
            for (int i = 0; i < d->OH; i++)
                for (int j = 0; j < d->OW; j++) {
                    float v = wf[i * d->Wp + j] + bias;
                    yf[i * d->OW + j] = v > 0.0f ? v : 0.0f;
                }
            continue;
        }
        for (int i = 0; i < d->OH; i++)
            for (int j = 0; j < d->OW; j++)
                yf[i * d->OW + j] = wf[i * d->Wp + j] + bias;
        if (act != DLX_ACT_NONE)
            dlx_act_forward(act, alpha, yf, (int64_t)d->OH * d->OW);
    }
}
