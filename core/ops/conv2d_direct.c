/* Direct stride-1 convolution, "wide rows" (see conv2d_direct.h).
 *
 * Vectors are 16 floats (GCC/Clang vector extension: AVX-512 with
 * -march=native on machines that have it, pairs of narrower registers
 * elsewhere). Filters are processed FB at a time so that each input vector
 * loaded feeds FB multiply-adds held in registers.
 */
#include "conv2d_direct.h"

#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
#define FB 4 /* filters per register block */

static inline v16 load16(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }

/* GCC folds repeated loads into the multiply-adds' memory operands, which
 * turns a register-blocked loop back into a load-bound one; an empty asm that
 * claims to modify the values pins them in vector registers. */
#if defined(__GNUC__) && defined(__AVX512F__)
#define KEEP_IN_REGISTERS(a, b, c, e) __asm__("" : "+v"(a), "+v"(b), "+v"(c), "+v"(e))
#else
#define KEEP_IN_REGISTERS(a, b, c, e) ((void)0)
#endif

static inline v16 splat(float s) { return (v16){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }

/* The lane sums of four vectors at once (out[i] = sum of a_i's lanes): a
 * transpose-and-add tree, 6 shuffles and 4 adds instead of 60 scalar adds.
 * The order of the additions is fixed, so results are reproducible. */
static inline void hsum4(v16 a0, v16 a1, v16 a2, v16 a3, float out[4])
{
#if defined(__clang__)
#define SHUF2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#define SHUF1(a, ...) __builtin_shufflevector(a, a, __VA_ARGS__)
#else
    typedef int i16m __attribute__((vector_size(64)));
#define SHUF2(a, b, ...) __builtin_shuffle(a, b, (i16m){__VA_ARGS__})
#define SHUF1(a, ...) __builtin_shuffle(a, (i16m){__VA_ARGS__})
#endif
    /* halves: t0 = [a0 partials (8) | a1 partials (8)], t1 likewise for a2, a3 */
    v16 t0 = SHUF2(a0, a1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
             SHUF2(a0, a1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    v16 t1 = SHUF2(a2, a3, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
             SHUF2(a2, a3, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    /* quarters: u = [a0 (4) | a1 (4) | a2 (4) | a3 (4)] */
    v16 u = SHUF2(t0, t1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
            SHUF2(t0, t1, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    u = u + SHUF1(u, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    u = u + SHUF1(u, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
#undef SHUF1
#undef SHUF2
    out[0] = u[0];
    out[1] = u[4];
    out[2] = u[8];
    out[3] = u[12];
}

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

/* The filter-vector buffers inside the scratch (see dlx_conv_direct_scratch). */
static float *fv_wt(const dlx_conv_direct *d, float *scratch)
{
    return scratch + 2 * d->padded + (size_t)d->F * d->Lv;
}
static float *fv_dwt(const dlx_conv_direct *d, float *scratch)
{
    return fv_wt(d, scratch) + (size_t)d->C * d->KH * d->KW * d->F;
}
static float *fv_pos(const dlx_conv_direct *d, float *scratch)
{
    return fv_dwt(d, scratch) + (size_t)d->C * d->KH * d->KW * d->F;
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

static void pad_image(const dlx_conv_direct *d, const float *x, float *xp)
{
    memset(xp, 0, d->padded * sizeof(float));
    for (int c = 0; c < d->C; c++)
        for (int h = 0; h < d->H; h++)
            memcpy(xp + c * d->plane + (size_t)(h + d->PH) * d->Wp + d->PW, x + ((size_t)c * d->H + h) * d->W,
                   (size_t)d->W * sizeof(float));
}

/* Offsets of every (c, p, q) term in the padded input: c plane + p Wp + q. */
static void term_offsets(const dlx_conv_direct *d, int *off)
{
    int t = 0;
    for (int c = 0; c < d->C; c++)
        for (int p = 0; p < d->KH; p++)
            for (int q = 0; q < d->KW; q++)
                off[t++] = c * (int)d->plane + p * d->Wp + q;
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

#define MAX_TERMS 1024 /* C KH KW, checked by dlx_conv_direct_plan */

/* wide[f][k] for filters f0 .. f0 + FB - 1 (those < F), all k < Lv */
static void forward_block(const dlx_conv_direct *d, const float *xp, const float *wl, const int *off, int f0,
                          float *wide)
{
    const int ckk = d->C * d->KH * d->KW;
    int kb = 0;
    /* two vectors of k by FB filters: 8 independent multiply-add chains, enough
     * to hide the FMA latency (4 chains leave half the FMA throughput idle) */
    for (; kb + 32 <= d->Lv; kb += 32) {
        v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        const float *xk = xp + kb;
        for (int t = 0; t < ckk; t++) {
            v16 xa = load16(xk + off[t]), xb = load16(xk + off[t] + 16);
            const float *wt = wl + t * FB;
            v16 w0 = splat(wt[0]), w1 = splat(wt[1]), w2 = splat(wt[2]), w3 = splat(wt[3]);
            a0 += w0 * xa;
            a1 += w1 * xa;
            a2 += w2 * xa;
            a3 += w3 * xa;
            b0 += w0 * xb;
            b1 += w1 * xb;
            b2 += w2 * xb;
            b3 += w3 * xb;
        }
        v16 acc[FB] = {a0, a1, a2, a3}, bcc[FB] = {b0, b1, b2, b3};
        for (int ff = 0; ff < FB && f0 + ff < d->F; ff++) {
            store16(wide + (size_t)(f0 + ff) * d->Lv + kb, acc[ff]);
            store16(wide + (size_t)(f0 + ff) * d->Lv + kb + 16, bcc[ff]);
        }
    }
    for (; kb < d->Lv; kb += 16) {
        v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        const float *xk = xp + kb;
        for (int t = 0; t < ckk; t++) {
            v16 xv = load16(xk + off[t]);
            const float *wt = wl + t * FB;
            a0 += splat(wt[0]) * xv;
            a1 += splat(wt[1]) * xv;
            a2 += splat(wt[2]) * xv;
            a3 += splat(wt[3]) * xv;
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
    for (; kb + 64 <= d->Lv; kb += 64) {
        v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        const float *xk = xp + kb;
        for (int t = 0; t < ckk; t++) {
            const float *xt = xk + off[t];
            v16 w0 = splat(wl[t * FB]), w1 = splat(wl[t * FB + 1]);
            v16 x0 = load16(xt), x1 = load16(xt + 16), x2 = load16(xt + 32), x3 = load16(xt + 48);
            KEEP_IN_REGISTERS(x0, x1, x2, x3);
            a0 += w0 * x0, a1 += w0 * x1, a2 += w0 * x2, a3 += w0 * x3;
            b0 += w1 * x0, b1 += w1 * x1, b2 += w1 * x2, b3 += w1 * x3;
        }
        store16(y0 + kb, a0), store16(y0 + kb + 16, a1), store16(y0 + kb + 32, a2), store16(y0 + kb + 48, a3);
        if (y1)
            store16(y1 + kb, b0), store16(y1 + kb + 16, b1), store16(y1 + kb + 32, b2), store16(y1 + kb + 48, b3);
    }
    for (; kb < d->Lv; kb += 16) { /* Lv is a multiple of 16 */
        v16 a0 = {0}, b0 = {0};
        for (int t = 0; t < ckk; t++) {
            v16 xv = load16(xp + kb + off[t]);
            a0 += splat(wl[t * FB]) * xv;
            b0 += splat(wl[t * FB + 1]) * xv;
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

/* Filter vectors: out[p][f] over 8 output positions at a time, each term's 16
 * weights one vector load and each input value one broadcast: 8 independent
 * chains, no wasted columns (the wide rows compute Wp / OW times the work). */
static void forward_fvec(const dlx_conv_direct *d, const float *xp, const float *wt, const int *off, float *out)
{
    const int ckk = d->C * d->KH * d->KW, F = d->F, P = d->OH * d->OW;
    for (int fg = 0; fg < F; fg += 16)
        for (int p0 = 0; p0 < P; p0 += 8) {
            const float *xb[8];
            position_bases(d, xp, p0, xb);
            v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            const float *wv = wt + fg;
            for (int t = 0; t < ckk; t++, wv += F) {
                v16 w = load16(wv);
                int o = off[t];
                a0 += splat(xb[0][o]) * w, a1 += splat(xb[1][o]) * w;
                a2 += splat(xb[2][o]) * w, a3 += splat(xb[3][o]) * w;
                a4 += splat(xb[4][o]) * w, a5 += splat(xb[5][o]) * w;
                a6 += splat(xb[6][o]) * w, a7 += splat(xb[7][o]) * w;
            }
            v16 acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
            for (int u = 0; u < 8 && p0 + u < P; u++)
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

void dlx_conv_direct_backward(const dlx_conv_direct *d, const float *x, const float *w, const float *dz,
                              float *dw, float *dx, float *scratch)
{
    float *xp = scratch, *dxp = scratch + d->padded, *dzw = scratch + 2 * d->padded;
    const int K = d->KH * d->KW;
    const size_t ckk = (size_t)d->C * K;
    /* dz in the wide layout, zero in the Wp - OW gap columns and the tail
     * (not needed when only a filter-vector dW is asked for) */
    if (dx || !d->fvec) {
        memset(dzw, 0, (size_t)d->F * d->Lv * sizeof(float));
        for (int f = 0; f < d->F; f++)
            for (int i = 0; i < d->OH; i++)
                memcpy(dzw + (size_t)f * d->Lv + (size_t)i * d->Wp, dz + ((size_t)f * d->OH + i) * d->OW,
                       (size_t)d->OW * sizeof(float));
    }
    int off[MAX_TERMS];
    term_offsets(d, off);
    const int ckkt = d->C * K;
    if (dw && d->fvec) {
        /* dWt[t][f] += sum_p x[p + off[t]] dz[f][p]: dz position-major, 8 terms
         * at a time, each dz vector loaded once for the 8 (the op adds dWt
         * into dw after the last image: dlx_conv_direct_end_backward) */
        const int F = d->F, P = d->OH * d->OW;
        float *dzt = fv_pos(d, scratch), *dwt = fv_dwt(d, scratch);
        for (int f = 0; f < F; f++)
            for (int p = 0; p < P; p++)
                dzt[(size_t)p * F + f] = dz[(size_t)f * P + p];
        pad_image(d, x, xp);
        for (int fg = 0; fg < F; fg += 16)
            for (int t0 = 0; t0 < ckkt; t0 += 8) {
                int o[8];
                for (int u = 0; u < 8; u++)
                    o[u] = off[t0 + u < ckkt ? t0 + u : ckkt - 1];
                v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
                for (int i = 0, p = 0; i < d->OH; i++)
                    for (int j = 0; j < d->OW; j++, p++) {
                        const float *xs = xp + (size_t)i * d->Wp + j;
                        v16 g = load16(dzt + (size_t)p * F + fg);
                        a0 += splat(xs[o[0]]) * g, a1 += splat(xs[o[1]]) * g;
                        a2 += splat(xs[o[2]]) * g, a3 += splat(xs[o[3]]) * g;
                        a4 += splat(xs[o[4]]) * g, a5 += splat(xs[o[5]]) * g;
                        a6 += splat(xs[o[6]]) * g, a7 += splat(xs[o[7]]) * g;
                    }
                v16 acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
                for (int u = 0; u < 8 && t0 + u < ckkt; u++) {
                    float *dst = dwt + (size_t)(t0 + u) * F + fg;
                    store16(dst, load16(dst) + acc[u]);
                }
            }
    } else if (dw) {
        pad_image(d, x, xp);
        /* dW[f, t] += sum_k dzw[f][k] xp[k + off[t]], FB filters at a time */
        for (int f0 = 0; f0 < d->F; f0 += FB) {
            int nf = d->F - f0 < FB ? d->F - f0 : FB;
            const float *z0 = dzw + (size_t)f0 * d->Lv;
            const float *z1 = nf > 1 ? z0 + d->Lv : z0, *z2 = nf > 2 ? z0 + 2 * d->Lv : z0,
                        *z3 = nf > 3 ? z0 + 3 * d->Lv : z0;
            int t = 0;
            /* one or two filters left: two filters by four terms, 8 chains */
            for (; nf <= 2 && t + 4 <= ckkt; t += 4) {
                const float *x0 = xp + off[t], *x1 = xp + off[t + 1], *x2 = xp + off[t + 2],
                            *x3 = xp + off[t + 3];
                v16 c00 = {0}, c01 = {0}, c02 = {0}, c03 = {0}, c10 = {0}, c11 = {0}, c12 = {0}, c13 = {0};
                for (int kb = 0; kb < d->Lv; kb += 16) {
                    v16 q0 = load16(z0 + kb), q1 = load16(z1 + kb);
                    v16 y0 = load16(x0 + kb), y1 = load16(x1 + kb), y2 = load16(x2 + kb), y3 = load16(x3 + kb);
                    KEEP_IN_REGISTERS(y0, y1, y2, y3);
                    c00 += q0 * y0, c01 += q0 * y1, c02 += q0 * y2, c03 += q0 * y3;
                    c10 += q1 * y0, c11 += q1 * y1, c12 += q1 * y2, c13 += q1 * y3;
                }
                float sums[2][4];
                hsum4(c00, c01, c02, c03, sums[0]);
                hsum4(c10, c11, c12, c13, sums[1]);
                for (int ff = 0; ff < nf; ff++)
                    for (int u = 0; u < 4; u++)
                        dw[(size_t)(f0 + ff) * ckk + t + u] += sums[ff][u];
            }
            /* four terms at a time: each dz vector loaded feeds four terms and
             * each input vector four filters, 16 independent chains (the loop
             * of one term at a time is bound by its loads) */
            for (; t + 4 <= ckkt; t += 4) {
                const float *x0 = xp + off[t], *x1 = xp + off[t + 1], *x2 = xp + off[t + 2],
                            *x3 = xp + off[t + 3];
                v16 c00 = {0}, c01 = {0}, c02 = {0}, c03 = {0}, c10 = {0}, c11 = {0}, c12 = {0}, c13 = {0};
                v16 c20 = {0}, c21 = {0}, c22 = {0}, c23 = {0}, c30 = {0}, c31 = {0}, c32 = {0}, c33 = {0};
                for (int kb = 0; kb < d->Lv; kb += 16) {
                    v16 q0 = load16(z0 + kb), q1 = load16(z1 + kb), q2 = load16(z2 + kb), q3 = load16(z3 + kb);
                    v16 y0 = load16(x0 + kb), y1 = load16(x1 + kb), y2 = load16(x2 + kb), y3 = load16(x3 + kb);
                    KEEP_IN_REGISTERS(q0, q1, q2, q3);
                    KEEP_IN_REGISTERS(y0, y1, y2, y3);
                    c00 += q0 * y0, c10 += q1 * y0, c20 += q2 * y0, c30 += q3 * y0;
                    c01 += q0 * y1, c11 += q1 * y1, c21 += q2 * y1, c31 += q3 * y1;
                    c02 += q0 * y2, c12 += q1 * y2, c22 += q2 * y2, c32 += q3 * y2;
                    c03 += q0 * y3, c13 += q1 * y3, c23 += q2 * y3, c33 += q3 * y3;
                }
                /* row ff: filter f0 + ff, terms t .. t + 3 */
                float sums[FB][4];
                hsum4(c00, c01, c02, c03, sums[0]);
                hsum4(c10, c11, c12, c13, sums[1]);
                hsum4(c20, c21, c22, c23, sums[2]);
                hsum4(c30, c31, c32, c33, sums[3]);
                for (int ff = 0; ff < nf; ff++)
                    for (int u = 0; u < 4; u++)
                        dw[(size_t)(f0 + ff) * ckk + t + u] += sums[ff][u];
            }
            for (; t < ckkt; t++) {
                const float *xs = xp + off[t];
                /* two vectors of k per iteration: 8 independent chains hide the FMA latency */
                v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
                int kb = 0;
                for (; kb + 32 <= d->Lv; kb += 32) {
                    v16 xv = load16(xs + kb), yv = load16(xs + kb + 16);
                    a0 += load16(z0 + kb) * xv;
                    a1 += load16(z1 + kb) * xv;
                    a2 += load16(z2 + kb) * xv;
                    a3 += load16(z3 + kb) * xv;
                    b0 += load16(z0 + kb + 16) * yv;
                    b1 += load16(z1 + kb + 16) * yv;
                    b2 += load16(z2 + kb + 16) * yv;
                    b3 += load16(z3 + kb + 16) * yv;
                }
                for (; kb < d->Lv; kb += 16) {
                    v16 xv = load16(xs + kb);
                    a0 += load16(z0 + kb) * xv;
                    a1 += load16(z1 + kb) * xv;
                    a2 += load16(z2 + kb) * xv;
                    a3 += load16(z3 + kb) * xv;
                }
                a0 += b0;
                a1 += b1;
                a2 += b2;
                a3 += b3;
                float sums[FB];
                hsum4(a0, a1, a2, a3, sums);
                for (int ff = 0; ff < nf; ff++)
                    dw[(size_t)(f0 + ff) * ckk + t] += sums[ff];
            }
        }
    }
    if (dx) {
        /* dxp[k + off[t]] += sum_f W[f, t] dzw[f][k]: the dz vectors of every
         * filter at k are loaded once per t block, weights broadcast */
        memset(dxp, 0, d->padded * sizeof(float));
        /* per term t: four vectors of k at a time, so each broadcast weight
         * feeds four multiply-adds (loads, not FMAs, bound this loop) */
        const int F = d->F, Lv = d->Lv;
        int t = 0;
        /* two terms at a time over 8 vectors of k: each dz vector loaded feeds
         * both terms (16 chains, 10 loads for 16 multiply-adds) */
        for (; t + 2 <= ckkt; t += 2) {
            float *d0 = dxp + off[t], *d1 = dxp + off[t + 1];
            int kb = 0;
            for (; kb + 128 <= Lv; kb += 128) {
                v16 u[8] = {{0}}, v[8] = {{0}};
                for (int f = 0; f < F; f++) {
                    v16 w0 = splat(w[(size_t)f * ckk + t]), w1 = splat(w[(size_t)f * ckk + t + 1]);
                    const float *z = dzw + (size_t)f * Lv + kb;
                    v16 q0 = load16(z), q1 = load16(z + 16), q2 = load16(z + 32), q3 = load16(z + 48);
                    v16 q4 = load16(z + 64), q5 = load16(z + 80), q6 = load16(z + 96), q7 = load16(z + 112);
                    KEEP_IN_REGISTERS(q0, q1, q2, q3);
                    KEEP_IN_REGISTERS(q4, q5, q6, q7);
                    u[0] += w0 * q0, u[1] += w0 * q1, u[2] += w0 * q2, u[3] += w0 * q3;
                    u[4] += w0 * q4, u[5] += w0 * q5, u[6] += w0 * q6, u[7] += w0 * q7;
                    v[0] += w1 * q0, v[1] += w1 * q1, v[2] += w1 * q2, v[3] += w1 * q3;
                    v[4] += w1 * q4, v[5] += w1 * q5, v[6] += w1 * q6, v[7] += w1 * q7;
                }
                /* term t's contributions land first: the second store reads them */
                for (int i = 0; i < 8; i++)
                    store16(d0 + kb + 16 * i, load16(d0 + kb + 16 * i) + u[i]);
                for (int i = 0; i < 8; i++)
                    store16(d1 + kb + 16 * i, load16(d1 + kb + 16 * i) + v[i]);
            }
            for (; kb < Lv; kb += 16) {
                v16 a = {0}, b = {0};
                for (int f = 0; f < F; f++) {
                    v16 q = load16(dzw + (size_t)f * Lv + kb);
                    a += splat(w[(size_t)f * ckk + t]) * q;
                    b += splat(w[(size_t)f * ckk + t + 1]) * q;
                }
                store16(d0 + kb, load16(d0 + kb) + a);
                store16(d1 + kb, load16(d1 + kb) + b);
            }
        }
        for (; t < ckkt; t++) {
            float *dst = dxp + off[t];
            int kb = 0;
            for (; kb + 128 <= Lv; kb += 128) {
                v16 v[8] = {{0}};
                for (int f = 0; f < F; f++) {
                    v16 wv = splat(w[(size_t)f * ckk + t]);
                    const float *z = dzw + (size_t)f * Lv + kb;
                    for (int u = 0; u < 8; u++) /* 8 independent chains */
                        v[u] += wv * load16(z + 16 * u);
                }
                for (int u = 0; u < 8; u++)
                    store16(dst + kb + 16 * u, load16(dst + kb + 16 * u) + v[u]);
            }
            for (; kb + 64 <= Lv; kb += 64) {
                v16 v0 = {0}, v1 = {0}, v2 = {0}, v3 = {0};
                for (int f = 0; f < F; f++) {
                    v16 wv = splat(w[(size_t)f * ckk + t]);
                    const float *z = dzw + (size_t)f * Lv + kb;
                    v0 += wv * load16(z);
                    v1 += wv * load16(z + 16);
                    v2 += wv * load16(z + 32);
                    v3 += wv * load16(z + 48);
                }
                store16(dst + kb, load16(dst + kb) + v0);
                store16(dst + kb + 16, load16(dst + kb + 16) + v1);
                store16(dst + kb + 32, load16(dst + kb + 32) + v2);
                store16(dst + kb + 48, load16(dst + kb + 48) + v3);
            }
            for (; kb < Lv; kb += 16) {
                v16 v = {0};
                for (int f = 0; f < F; f++)
                    v += splat(w[(size_t)f * ckk + t]) * load16(dzw + (size_t)f * Lv + kb);
                store16(dst + kb, load16(dst + kb) + v);
            }
        }
        for (int c = 0; c < d->C; c++)
            for (int h = 0; h < d->H; h++) {
                const float *s = dxp + c * d->plane + (size_t)(h + d->PH) * d->Wp + d->PW;
                float *t = dx + ((size_t)c * d->H + h) * d->W;
                for (int j = 0; j < d->W; j++)
                    t[j] += s[j];
            }
    }
}
