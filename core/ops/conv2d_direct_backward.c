/* Direct stride-1 convolution, backward pass of one image (see
 * conv2d_direct.h): dW over filter vectors or wide rows, dX over wide rows.
 * Blocks of accumulators sized to the register file (conv2d_direct_kernels.h:
 * the AVX2 blocks are halves of the AVX-512 ones, each lane's chain the same).
 */
#include "conv2d_direct_kernels.h"

#include <string.h>

/* dWt[t][f] += sum_p x[p + off[t]] dz[f][p]: dz position-major, TB terms at a
 * time (8 with AVX-512, 4 with AVX2), each dz vector loaded once for the TB
 * (the op adds dWt into dw after the last image: dlx_conv_direct_end_backward) */
#define TB (WIDE_REGS ? 8 : 4)
static void dw_fvec(const dlx_conv_direct *d, const float *dz, const int *off, const float *xp, float *scratch)
{
    const int F = d->F, P = d->OH * d->OW, ckkt = d->C * d->KH * d->KW;
    float *dzt = fv_pos(d, scratch), *dwt = fv_dwt(d, scratch);
    for (int f = 0; f < F; f++)
        for (int p = 0; p < P; p++)
            dzt[(size_t)p * F + f] = dz[(size_t)f * P + p];
    for (int fg = 0; fg < F; fg += 16)
        for (int t0 = 0; t0 < ckkt; t0 += TB) {
            int o[8];
            for (int u = 0; u < TB; u++)
                o[u] = off[t0 + u < ckkt ? t0 + u : ckkt - 1];
            v16 acc[TB]; /* the unrolled loops over u keep it in registers */
            _Pragma("GCC unroll 8") for (int u = 0; u < TB; u++) acc[u] = vzero();
            for (int i = 0, p = 0; i < d->OH; i++)
                for (int j = 0; j < d->OW; j++, p++) {
                    const float *xs = xp + (size_t)i * d->Wp + j;
                    v16 g = load16(dzt + (size_t)p * F + fg);
                    PIN16(g);
                    _Pragma("GCC unroll 8") for (int u = 0; u < TB; u++) acc[u] = vmadd(acc[u], splat(xs[o[u]]), g);
                }
            for (int u = 0; u < TB && t0 + u < ckkt; u++) {
                float *dst = dwt + (size_t)(t0 + u) * F + fg;
                store16(dst, vadd(load16(dst), acc[u]));
            }
        }
}

/* c[f][u] = sum over k of z_f[k] x_u[k], one chain per (f, u) over the
 * vectors of k in order: NF filters (1 to 4, z[] repeats the last) by 4
 * terms; sums[f][u] their lane sums. AVX2 runs it as 2 x 2 blocks. */
static void dw_wide_4terms(const dlx_conv_direct *d, const float *z[4], int nf, const float *x[4],
                           float sums[4][4])
{
#if WIDE_REGS
    v16 c00 = vzero(), c01 = vzero(), c02 = vzero(), c03 = vzero(), c10 = vzero(), c11 = vzero(), c12 = vzero(), c13 = vzero();
    if (nf <= 2) { /* one or two filters: two filters by four terms, 8 chains */
        for (int kb = 0; kb < d->Lv; kb += 16) {
            v16 q0 = load16(z[0] + kb), q1 = load16(z[1] + kb);
            v16 y0 = load16(x[0] + kb), y1 = load16(x[1] + kb), y2 = load16(x[2] + kb), y3 = load16(x[3] + kb);
            KEEP_IN_REGISTERS(y0, y1, y2, y3);
            c00 = vmadd(c00, q0, y0), c01 = vmadd(c01, q0, y1), c02 = vmadd(c02, q0, y2), c03 = vmadd(c03, q0, y3);
            c10 = vmadd(c10, q1, y0), c11 = vmadd(c11, q1, y1), c12 = vmadd(c12, q1, y2), c13 = vmadd(c13, q1, y3);
        }
        hsum4(c00, c01, c02, c03, sums[0]);
        hsum4(c10, c11, c12, c13, sums[1]);
        return;
    }
    /* each dz vector loaded feeds four terms and each input vector four
     * filters, 16 independent chains (one term at a time is bound by its loads) */
    v16 c20 = vzero(), c21 = vzero(), c22 = vzero(), c23 = vzero(), c30 = vzero(), c31 = vzero(), c32 = vzero(), c33 = vzero();
    for (int kb = 0; kb < d->Lv; kb += 16) {
        v16 q0 = load16(z[0] + kb), q1 = load16(z[1] + kb), q2 = load16(z[2] + kb), q3 = load16(z[3] + kb);
        v16 y0 = load16(x[0] + kb), y1 = load16(x[1] + kb), y2 = load16(x[2] + kb), y3 = load16(x[3] + kb);
        KEEP_IN_REGISTERS(q0, q1, q2, q3);
        KEEP_IN_REGISTERS(y0, y1, y2, y3);
        c00 = vmadd(c00, q0, y0), c10 = vmadd(c10, q1, y0), c20 = vmadd(c20, q2, y0), c30 = vmadd(c30, q3, y0);
        c01 = vmadd(c01, q0, y1), c11 = vmadd(c11, q1, y1), c21 = vmadd(c21, q2, y1), c31 = vmadd(c31, q3, y1);
        c02 = vmadd(c02, q0, y2), c12 = vmadd(c12, q1, y2), c22 = vmadd(c22, q2, y2), c32 = vmadd(c32, q3, y2);
        c03 = vmadd(c03, q0, y3), c13 = vmadd(c13, q1, y3), c23 = vmadd(c23, q2, y3), c33 = vmadd(c33, q3, y3);
    }
    hsum4(c00, c01, c02, c03, sums[0]);
    hsum4(c10, c11, c12, c13, sums[1]);
    hsum4(c20, c21, c22, c23, sums[2]);
    hsum4(c30, c31, c32, c33, sums[3]);
#else
    for (int f = 0; f < nf; f += 2) {
        const float *z0 = z[f], *z1 = f + 1 < nf ? z[f + 1] : z[f];
        for (int u = 0; u < 4; u += 2) {
            const float *x0 = x[u], *x1 = x[u + 1];
            v16 c00 = vzero(), c01 = vzero(), c10 = vzero(), c11 = vzero();
            for (int kb = 0; kb < d->Lv; kb += 16) {
                v16 q0 = load16(z0 + kb), q1 = load16(z1 + kb), y0 = load16(x0 + kb), y1 = load16(x1 + kb);
                KEEP_IN_REGISTERS(q0, q1, y0, y1);
                c00 = vmadd(c00, q0, y0), c01 = vmadd(c01, q0, y1), c10 = vmadd(c10, q1, y0), c11 = vmadd(c11, q1, y1);
            }
            float s4[4];
            hsum4(c00, c01, c10, c11, s4);
            sums[f][u] = s4[0], sums[f][u + 1] = s4[1];
            sums[f + 1][u] = s4[2], sums[f + 1][u + 1] = s4[3];
        }
    }
#endif
}

/* One term for 4 filters (z[] repeats the last): even and odd vectors of k
 * in two chains per filter, added at the end; sums[f] the lane sums. AVX2
 * runs two filters at a time. */
static void dw_wide_1term(const dlx_conv_direct *d, const float *z[4], const float *xs, float sums[4])
{
#if WIDE_REGS
    v16 a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero(), b0 = vzero(), b1 = vzero(), b2 = vzero(), b3 = vzero();
    int kb = 0;
    for (; kb + 32 <= d->Lv; kb += 32) {
        v16 xv = load16(xs + kb), yv = load16(xs + kb + 16);
        a0 = vmadd(a0, load16(z[0] + kb), xv);
        a1 = vmadd(a1, load16(z[1] + kb), xv);
        a2 = vmadd(a2, load16(z[2] + kb), xv);
        a3 = vmadd(a3, load16(z[3] + kb), xv);
        b0 = vmadd(b0, load16(z[0] + kb + 16), yv);
        b1 = vmadd(b1, load16(z[1] + kb + 16), yv);
        b2 = vmadd(b2, load16(z[2] + kb + 16), yv);
        b3 = vmadd(b3, load16(z[3] + kb + 16), yv);
    }
    for (; kb < d->Lv; kb += 16) {
        v16 xv = load16(xs + kb);
        a0 = vmadd(a0, load16(z[0] + kb), xv);
        a1 = vmadd(a1, load16(z[1] + kb), xv);
        a2 = vmadd(a2, load16(z[2] + kb), xv);
        a3 = vmadd(a3, load16(z[3] + kb), xv);
    }
    hsum4(vadd(a0, b0), vadd(a1, b1), vadd(a2, b2), vadd(a3, b3), sums);
#else
    v16 r[4];
    for (int f = 0; f < 4; f += 2) {
        v16 a0 = vzero(), a1 = vzero(), b0 = vzero(), b1 = vzero();
        int kb = 0;
        for (; kb + 32 <= d->Lv; kb += 32) {
            v16 xv = load16(xs + kb), yv = load16(xs + kb + 16);
            a0 = vmadd(a0, load16(z[f] + kb), xv);
            a1 = vmadd(a1, load16(z[f + 1] + kb), xv);
            b0 = vmadd(b0, load16(z[f] + kb + 16), yv);
            b1 = vmadd(b1, load16(z[f + 1] + kb + 16), yv);
        }
        for (; kb < d->Lv; kb += 16) {
            v16 xv = load16(xs + kb);
            a0 = vmadd(a0, load16(z[f] + kb), xv);
            a1 = vmadd(a1, load16(z[f + 1] + kb), xv);
        }
        r[f] = vadd(a0, b0), r[f + 1] = vadd(a1, b1);
    }
    hsum4(r[0], r[1], r[2], r[3], sums);
#endif
}

/* dW[f, t] += sum_k dzw[f][k] xp[k + off[t]], FB filters at a time */
static void dw_wide(const dlx_conv_direct *d, const float *dzw, const int *off, const float *xp, float *dw)
{
    const int ckkt = d->C * d->KH * d->KW;
    const size_t ckk = (size_t)ckkt;
    for (int f0 = 0; f0 < d->F; f0 += FB) {
        const int nf = d->F - f0 < FB ? d->F - f0 : FB;
        const float *z[4];
        for (int ff = 0; ff < 4; ff++)
            z[ff] = dzw + (size_t)(f0 + (ff < nf ? ff : 0)) * d->Lv;
        int t = 0;
        for (; t + 4 <= ckkt; t += 4) {
            const float *x[4] = {xp + off[t], xp + off[t + 1], xp + off[t + 2], xp + off[t + 3]};
            float sums[4][4];
            dw_wide_4terms(d, z, nf, x, sums);
            for (int ff = 0; ff < nf; ff++)
                for (int u = 0; u < 4; u++)
                    dw[(size_t)(f0 + ff) * ckk + t + u] += sums[ff][u];
        }
        for (; t < ckkt; t++) {
            float sums[FB];
            dw_wide_1term(d, z, xp + off[t], sums);
            for (int ff = 0; ff < nf; ff++)
                dw[(size_t)(f0 + ff) * ckk + t] += sums[ff];
        }
    }
}

/* Terms t and t + 1 over the 128 floats of k from kb: u, v = the sums over
 * the filters of W[f, t] dzw[f][k] and W[f, t + 1] dzw[f][k] (one chain per
 * lane), then term t's stores before term t + 1's: the two overlap, and the
 * second reads the first's. Each dz vector loaded feeds both terms. */
static void dx_pair_128(const float *w, size_t ckk, int F, int Lv, const float *dzw, int t, int kb, float *d0,
                        float *d1)
{
#if WIDE_REGS
    v16 u[8], v[8]; /* 16 chains, 10 loads for 16 multiply-adds */
    for (int i = 0; i < 8; i++)
        u[i] = vzero(), v[i] = vzero();
    for (int f = 0; f < F; f++) {
        v16 w0 = splat(w[(size_t)f * ckk + t]), w1 = splat(w[(size_t)f * ckk + t + 1]);
        const float *z = dzw + (size_t)f * Lv + kb;
        v16 q0 = load16(z), q1 = load16(z + 16), q2 = load16(z + 32), q3 = load16(z + 48);
        v16 q4 = load16(z + 64), q5 = load16(z + 80), q6 = load16(z + 96), q7 = load16(z + 112);
        KEEP_IN_REGISTERS(q0, q1, q2, q3);
        KEEP_IN_REGISTERS(q4, q5, q6, q7);
        u[0] = vmadd(u[0], w0, q0), u[1] = vmadd(u[1], w0, q1), u[2] = vmadd(u[2], w0, q2), u[3] = vmadd(u[3], w0, q3);
        u[4] = vmadd(u[4], w0, q4), u[5] = vmadd(u[5], w0, q5), u[6] = vmadd(u[6], w0, q6), u[7] = vmadd(u[7], w0, q7);
        v[0] = vmadd(v[0], w1, q0), v[1] = vmadd(v[1], w1, q1), v[2] = vmadd(v[2], w1, q2), v[3] = vmadd(v[3], w1, q3);
        v[4] = vmadd(v[4], w1, q4), v[5] = vmadd(v[5], w1, q5), v[6] = vmadd(v[6], w1, q6), v[7] = vmadd(v[7], w1, q7);
    }
#else
    v16 u[8], v[8]; /* 32 floats at a time: 8 chains of AVX2 registers */
    for (int h = 0; h < 8; h += 2) {
        v16 u0 = vzero(), u1 = vzero(), v0 = vzero(), v1 = vzero();
        for (int f = 0; f < F; f++) {
            v16 w0 = splat(w[(size_t)f * ckk + t]), w1 = splat(w[(size_t)f * ckk + t + 1]);
            const float *z = dzw + (size_t)f * Lv + kb + 16 * h;
            v16 q0 = load16(z), q1 = load16(z + 16);
            PIN16(q0);
            PIN16(q1);
            u0 = vmadd(u0, w0, q0), u1 = vmadd(u1, w0, q1);
            v0 = vmadd(v0, w1, q0), v1 = vmadd(v1, w1, q1);
        }
        u[h] = u0, u[h + 1] = u1, v[h] = v0, v[h + 1] = v1;
    }
#endif
    for (int i = 0; i < 8; i++)
        store16(d0 + kb + 16 * i, vadd(load16(d0 + kb + 16 * i), u[i]));
    for (int i = 0; i < 8; i++)
        store16(d1 + kb + 16 * i, vadd(load16(d1 + kb + 16 * i), v[i]));
}

/* One term: dst[k] += sum_f W[f, t] dzw[f][k] for every k < Lv. */
static void dx_term(const float *w, size_t ckk, int F, int Lv, const float *dzw, int t, float *dst)
{
    int kb = 0;
    for (; WIDE_REGS && kb + 128 <= Lv; kb += 128) {
        v16 v[8];
        for (int u = 0; u < 8; u++)
            v[u] = vzero();
        for (int f = 0; f < F; f++) {
            v16 wv = splat(w[(size_t)f * ckk + t]);
            const float *z = dzw + (size_t)f * Lv + kb;
            for (int u = 0; u < 8; u++) /* 8 independent chains */
                v[u] = vmadd(v[u], wv, load16(z + 16 * u));
        }
        for (int u = 0; u < 8; u++)
            store16(dst + kb + 16 * u, vadd(load16(dst + kb + 16 * u), v[u]));
    }
    for (; kb + 64 <= Lv; kb += 64) { /* AVX2: 8 chains here */
        v16 v0 = vzero(), v1 = vzero(), v2 = vzero(), v3 = vzero();
        for (int f = 0; f < F; f++) {
            v16 wv = splat(w[(size_t)f * ckk + t]);
            const float *z = dzw + (size_t)f * Lv + kb;
            v0 = vmadd(v0, wv, load16(z));
            v1 = vmadd(v1, wv, load16(z + 16));
            v2 = vmadd(v2, wv, load16(z + 32));
            v3 = vmadd(v3, wv, load16(z + 48));
        }
        store16(dst + kb, vadd(load16(dst + kb), v0));
        store16(dst + kb + 16, vadd(load16(dst + kb + 16), v1));
        store16(dst + kb + 32, vadd(load16(dst + kb + 32), v2));
        store16(dst + kb + 48, vadd(load16(dst + kb + 48), v3));
    }
    for (; kb < Lv; kb += 16) {
        v16 v = vzero();
        for (int f = 0; f < F; f++)
            v = vmadd(v, splat(w[(size_t)f * ckk + t]), load16(dzw + (size_t)f * Lv + kb));
        store16(dst + kb, vadd(load16(dst + kb), v));
    }
}

/* dx += the input gradient: dxp[k + off[t]] += sum_f W[f, t] dzw[f][k] in the
 * padded layout (two terms at a time), then its interior added to dx. */
static void dx_wide(const dlx_conv_direct *d, const float *w, const float *dzw, const int *off, float *dxp,
                    float *dx)
{
    memset(dxp, 0, d->padded * sizeof(float));
    const int F = d->F, Lv = d->Lv, ckkt = d->C * d->KH * d->KW;
    const size_t ckk = (size_t)ckkt;
    int t = 0;
    for (; t + 2 <= ckkt; t += 2) {
        float *d0 = dxp + off[t], *d1 = dxp + off[t + 1];
        int kb = 0;
        for (; kb + 128 <= Lv; kb += 128)
            dx_pair_128(w, ckk, F, Lv, dzw, t, kb, d0, d1);
        for (; kb < Lv; kb += 16) {
            v16 a = vzero(), b = vzero();
            for (int f = 0; f < F; f++) {
                v16 q = load16(dzw + (size_t)f * Lv + kb);
                a = vmadd(a, splat(w[(size_t)f * ckk + t]), q);
                b = vmadd(b, splat(w[(size_t)f * ckk + t + 1]), q);
            }
            store16(d0 + kb, vadd(load16(d0 + kb), a));
            store16(d1 + kb, vadd(load16(d1 + kb), b));
        }
    }
    for (; t < ckkt; t++)
        dx_term(w, ckk, F, Lv, dzw, t, dxp + off[t]);
    for (int c = 0; c < d->C; c++)
        for (int h = 0; h < d->H; h++) {
            const float *s = dxp + c * d->plane + (size_t)(h + d->PH) * d->Wp + d->PW;
            float *o = dx + ((size_t)c * d->H + h) * d->W;
            for (int j = 0; j < d->W; j++)
                o[j] += s[j];
        }
}

void dlx_conv_direct_backward(const dlx_conv_direct *d, const float *x, const float *w, const float *dz,
                              float *dw, float *dx, float *scratch)
{
    float *xp = scratch, *dxp = scratch + d->padded, *dzw = scratch + 2 * d->padded;
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
    if (dw) {
        pad_image(d, x, xp);
        if (d->fvec)
            dw_fvec(d, dz, off, xp, scratch);
        else
            dw_wide(d, dzw, off, xp, dw);
    }
    if (dx)
        dx_wide(d, w, dzw, off, dxp, dx);
}
