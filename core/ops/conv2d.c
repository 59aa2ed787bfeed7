/* conv2d: 2-d cross-correlation with bias and a fused activation.
 *
 *   in:  x (N, C, H, W), W (F, C, KH, KW), optional b (F)
 *   out: y (N, F, OH, OW), OH = (H + 2 PH - KH) / SH + 1 (floor), same for OW
 *   Z[n,f,i,j] = b[f] + sum_{c,p,q} W[f,c,p,q] x[n, c, i SH - PH + p, j SW - PW + q]
 *   y = act(Z); cells outside x read as 0 (zero padding).
 *
 * Stride 1 with small filters: the direct kernels of conv2d_direct.h, one
 * image at a time. Otherwise im2col + GEMM: col (C KH KW, L) holds the
 * receptive fields (conv_cols.h), L = OH OW, so Z_n = Wm col_n with
 * Wm = W viewed as (F, C KH KW).
 *   dZ  = dy * act'(y)                 (scratch, only with an activation)
 *   dW += sum_n dZ_n col_n^T
 *   db += sum over n, i, j of dZ
 *   dx += col2im(Wm^T dZ_n)            (col2im adds each field back into x)
 *
 * Saved for backward: the im2col buffer of every image (scratch), so backward
 * does not redo it. Backward overwrites col_n with Wm^T dZ_n once dW has used
 * it: the forward rebuilds it anyway. Scratch = N C KH KW L [+ F L: one
 * image's dZ, only with an activation and a gradient]; out.grad is never
 * modified.
 * One GEMM per image: a GEMM over the whole batch (col as (C KH KW, N L),
 * which needs y and dy transposed) was measured slower, on LeNet-5's shapes
 * and again on DCGAN's (each image's columns then lie ld apart in a matrix
 * that leaves L2 before the GEMM or col2im reads it, and the transposes are
 * passes of their own): 14-19 % more CPU time for a short DCGAN epoch
 * (alternating runs), 2-14 % in chunks of images that fit L2.
 * Where conv_gemm.h's kernel takes the shapes (AVX2; L and F multiples of
 * 8), it does the per-image products instead of BLAS, on one image's
 * buffers that stay in cache: forward keeps no columns, and backward builds
 * col_n again for dW^T_n = col_n dZ_n^T (dZ_n transposed, L x F), summed
 * over the images in order in scratch (C KH KW x F) and added to dW at the
 * end. (Keeping every image's columns, 2 MB a shard for DCGAN's second
 * layer, and one chain over all images was measured slower on two cores.)
 * Scratch then = C KH KW L + F L (dZ, with an activation) + L F + C KH KW F.
 * Non-differentiable points: those of the activation (relu/leaky_relu at Z = 0).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "conv2d_direct.h"
#include "conv_cols.h"
#include "conv_gemm.h"
#include "../layer_build.h"
#include "ops.h"

typedef struct geom {
    int N, C, H, W, F, KH, KW, SH, SW, PH, PW, OH, OW;
    int L;   /* OH * OW */
    int CKK; /* C * KH * KW */
} geom;

static geom geom_of(const dlx_node *n)
{
    const dlx_conv2d_attr *a = n->attr;
    const int64_t *x = n->in[0]->out.shape.d, *w = n->in[1]->out.shape.d;
    geom g = {
        .N = (int)x[0], .C = (int)x[1], .H = (int)x[2], .W = (int)x[3],
        .F = (int)w[0], .KH = (int)w[2], .KW = (int)w[3],
        .SH = a->stride_h, .SW = a->stride_w, .PH = a->pad_h, .PW = a->pad_w,
        .OH = (int)n->out.shape.d[2], .OW = (int)n->out.shape.d[3],
    };
    g.L = g.OH * g.OW;
    g.CKK = g.C * g.KH * g.KW;
    return g;
}

static bool plan_direct(const dlx_node *n, dlx_conv_direct *d);

/* conv_gemm.h's kernel for all three products: Z_n (F x L over C KH KW
 * terms), Wm^T dZ_n (C KH KW x L over F) and dW^T (C KH KW x F over L an
 * image) */
static bool uses_cg(int F, int L, int CKK)
{
    return dlx_cg_use(L, CKK) && dlx_cg_use(L, F) && dlx_cg_use(F, L);
}

/* a b c d <= limit, without overflow (all > 0); the product into *out. */
static bool prod4_le(int64_t a, int64_t b, int64_t c, int64_t d, int64_t limit, int64_t *out)
{
    int64_t p;
    if (!dlx_mul_i64(a, b, &p) || !dlx_mul_i64(p, c, &p) || !dlx_mul_i64(p, d, &p) || p > limit)
        return false;
    if (out)
        *out = p;
    return true;
}

static int conv_infer(dlx_node *n, dlx_err *err)
{
    const dlx_conv2d_attr *a = n->attr;
    const dlx_shape *xs = &n->in[0]->out.shape, *ws = &n->in[1]->out.shape;
    char buf[64], buf2[64];
    if ((int)a->act < DLX_ACT_NONE || (int)a->act > DLX_ACT_LECUN_TANH)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "unknown activation %d (known: %s)",
                            (int)a->act, dlx_act_names());
    if (a->act == DLX_ACT_LEAKY_RELU && !(a->alpha >= 0.0f && isfinite(a->alpha)))
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "leaky_relu alpha must be finite and >= 0, got %g", (double)a->alpha);
    if (a->stride_h < 1 || a->stride_w < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "stride must be >= 1, got %dx%d",
                            a->stride_h, a->stride_w);
    if (a->pad_h < 0 || a->pad_w < 0)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "padding must be >= 0, got %dx%d",
                            a->pad_h, a->pad_w);
    if (xs->ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a 4-d input (N, C, H, W), got %s",
                            dlx_shape_str(xs, buf, sizeof buf));
    if (ws->ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "expected a 4-d weight (F, C, KH, KW), got %s",
                            dlx_shape_str(ws, buf, sizeof buf));
    for (int i = 0; i < 4; i++)
        if (xs->d[i] < 1 || ws->d[i] < 1)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "empty input %s or weight %s",
                                dlx_shape_str(xs, buf, sizeof buf),
                                dlx_shape_str(ws, buf2, sizeof buf2));
    if (ws->d[1] != xs->d[1])
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "weight %s expects %lld input channels, the input has %lld",
                            dlx_shape_str(ws, buf, sizeof buf), (long long)ws->d[1],
                            (long long)xs->d[1]);
    int64_t F = ws->d[0];
    if (n->n_in == 3) {
        const dlx_shape *bs = &n->in[2]->out.shape;
        if (bs->ndim != 1 || bs->d[0] != F)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a bias of shape [%lld], got %s",
                                (long long)F, dlx_shape_str(bs, buf, sizeof buf));
    }
    int64_t hp = xs->d[2] + 2 * (int64_t)a->pad_h, wp = xs->d[3] + 2 * (int64_t)a->pad_w;
    if (ws->d[2] > hp || ws->d[3] > wp)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "kernel %lldx%lld is larger than the padded input %lldx%lld "
                            "(input %lldx%lld, padding %dx%d)",
                            (long long)ws->d[2], (long long)ws->d[3], (long long)hp,
                            (long long)wp, (long long)xs->d[2], (long long)xs->d[3], a->pad_h,
                            a->pad_w);
    int64_t oh = (hp - ws->d[2]) / a->stride_h + 1, ow = (wp - ws->d[3]) / a->stride_w + 1;
    if (oh <= 0 || ow <= 0)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "output size %lldx%lld is empty",
                            (long long)oh, (long long)ow);
    /* checked products: a spec's sizes can multiply past int64 */
    int64_t N = xs->d[0], ckk = 0;
    if (!prod4_le(1, xs->d[1], ws->d[2], ws->d[3], INT32_MAX, &ckk) || !prod4_le(N, ckk, oh, ow, INT32_MAX, NULL) ||
        !prod4_le(N, F, oh, ow, INT32_MAX, NULL) || !prod4_le(1, xs->d[1], xs->d[2], xs->d[3], INT32_MAX, NULL))
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "too large: the output %lldx%lldx%lldx%lld or the im2col buffer would exceed 2^31 floats",
                            (long long)N, (long long)F, (long long)oh, (long long)ow);
    n->out.shape = dlx_shape_4d(N, F, oh, ow);
    dlx_conv_direct d;
    if (plan_direct(n, &d)) {
        /* direct kernels: their workspace plus one image's dZ */
        n->scratch_floats = dlx_conv_direct_scratch(&d) + (size_t)(F * oh * ow);
        return 0;
    }
    size_t col = (size_t)(N * ckk * oh * ow), dz = (size_t)(F * oh * ow);
    if (uses_cg((int)F, (int)(oh * ow), (int)ckk)) /* one image's col [, dZ], dZ^T and dW^T */
        n->scratch_floats = (size_t)(ckk * oh * ow) +
                            (n->needs_grad ? dz * (a->act != DLX_ACT_NONE ? 2 : 1) + (size_t)(ckk * F) : 0);
    else
        n->scratch_floats = col + (a->act != DLX_ACT_NONE && n->needs_grad ? dz : 0);
    return 0;
}

/* The direct kernels for stride 1 and small filters (conv2d_direct.h). */
static bool plan_direct(const dlx_node *n, dlx_conv_direct *d)
{
    const dlx_conv2d_attr *a = n->attr;
    const int64_t *x = n->in[0]->out.shape.d, *w = n->in[1]->out.shape.d;
    return dlx_conv_direct_plan((int)x[1], (int)x[2], (int)x[3], (int)w[0], (int)w[2], (int)w[3], a->stride_h,
                                a->stride_w, a->pad_h, a->pad_w, d);
}

static dlx_conv_cols cols_of(const geom *g)
{
    return (dlx_conv_cols){g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW, g->OH, g->OW};
}

static void conv_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_conv2d_attr *a = n->attr;
    const geom g = geom_of(n);
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    const float *b = n->n_in == 3 ? n->in[2]->out.data : NULL;
    const size_t xsz = (size_t)g.C * g.H * g.W, csz = (size_t)g.CKK * g.L, ysz = (size_t)g.F * g.L;
    dlx_conv_direct d;
    if (plan_direct(n, &d)) {
        dlx_conv_direct_begin(&d, w, false, n->scratch);
        for (int i = 0; i < g.N; i++)
            dlx_conv_direct_forward(&d, x + i * xsz, w, b, a->act, a->alpha, n->out.data + i * ysz, n->scratch);
        return;
    }
    const dlx_conv_cols cg = cols_of(&g);
    const bool kernel = uses_cg(g.F, g.L, g.CKK);
    for (int i = 0; i < g.N; i++) {
        float *col = n->scratch + (kernel ? 0 : i * csz), *y = n->out.data + i * ysz;
        dlx_conv_im2col(&cg, x + i * xsz, col, (size_t)g.L);
        if (kernel) /* y = Wm col */
            dlx_cg_run(&(dlx_cg){.rows = g.F, .cols = g.L, .T = g.CKK, .a = w, .sar = g.CKK, .sat = 1,
                                 .b = col, .ldb = g.L, .c = y, .ldc = g.L, .store = DLX_CG_STORE});
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.F, g.L, g.CKK, 1.0f, w, g.CKK, col, g.L, 0.0f,
                        y, g.L);
        if (b || a->act != DLX_ACT_NONE)
            for (int f = 0; f < g.F; f++)
                dlx_conv_bias_act(y + (size_t)f * g.L, y + (size_t)f * g.L, (size_t)g.L, b ? b[f] : 0.0f, a->act,
                                  a->alpha);
    }
}

/* Backward with conv_gemm.h's kernel, image by image on one image's
 * buffers: dZ_n, db, col_n again, dW^T_n into the running sum, dX. */
static void conv_backward_cg(dlx_node *n, const geom *gp)
{
    const dlx_conv2d_attr *a = n->attr;
    const geom g = *gp;
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    float *dx = n->in[0]->out.grad, *dw = n->in[1]->out.grad;
    float *db = n->n_in == 3 ? n->in[2]->out.grad : NULL;
    const size_t xsz = (size_t)g.C * g.H * g.W, csz = (size_t)g.CKK * g.L, ysz = (size_t)g.F * g.L;
    const bool act = a->act != DLX_ACT_NONE;
    float *col = n->scratch, *dz = col + csz, *dzt = dz + (act ? ysz : 0), *dwt = dzt + ysz;
    const dlx_conv_cols cg = cols_of(&g);
    for (int i = 0; i < g.N; i++) {
        const float *dzi = n->out.grad + i * ysz;
        if (act) {
            dlx_conv_act_backward(dz, dzi, n->out.data + i * ysz, ysz, a->act, a->alpha);
            dzi = dz;
        }
        if (db)
            for (int f = 0; f < g.F; f++)
                db[f] += dlx_conv_sum16(dzi + (size_t)f * g.L, (size_t)g.L);
        if (dw) { /* dW^T (C KH KW x F) [+]= col_n dZ_n^T */
            dlx_conv_im2col(&cg, x + i * xsz, col, (size_t)g.L);
            dlx_cg_transpose(g.F, g.L, dzi, dzt);
            dlx_cg_run(&(dlx_cg){.rows = g.CKK, .cols = g.F, .T = g.L, .a = col, .sar = g.L, .sat = 1,
                                 .b = dzt, .ldb = g.F, .c = dwt, .ldc = g.F,
                                 .store = i == 0 ? DLX_CG_STORE : DLX_CG_ADD});
        }
        if (dx) { /* col = Wm^T dZ_n, then into dx */
            dlx_cg_run(&(dlx_cg){.rows = g.CKK, .cols = g.L, .T = g.F, .a = w, .sar = 1, .sat = g.CKK,
                                 .b = dzi, .ldb = g.L, .c = col, .ldc = g.L, .store = DLX_CG_STORE});
            dlx_conv_col2im(&cg, col, (size_t)g.L, dx + i * xsz);
        }
    }
    if (dw)
        dlx_cg_add_transposed(g.CKK, g.F, dwt, dw);
}

static void conv_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_conv2d_attr *a = n->attr;
    const geom g = geom_of(n);
    const float *w = n->in[1]->out.data;
    float *dx = n->in[0]->out.grad, *dw = n->in[1]->out.grad;
    float *db = n->n_in == 3 ? n->in[2]->out.grad : NULL;
    const size_t xsz = (size_t)g.C * g.H * g.W, csz = (size_t)g.CKK * g.L, ysz = (size_t)g.F * g.L;
    const dlx_conv_cols cg = cols_of(&g);
    dlx_conv_direct d;
    bool direct = plan_direct(n, &d);
    if (!direct && uses_cg(g.F, g.L, g.CKK)) {
        conv_backward_cg(n, &g);
        return;
    }
    /* dZ of one image, cache-hot for the GEMMs or the direct kernels */
    float *t = direct ? n->scratch + dlx_conv_direct_scratch(&d) : n->scratch + g.N * csz;
    if (direct)
        dlx_conv_direct_begin(&d, w, true, n->scratch);
    for (int i = 0; i < g.N; i++) {
        float *col = n->scratch + i * csz;
        const float *dzi = n->out.grad + i * ysz;
        if (a->act != DLX_ACT_NONE) {
            dlx_conv_act_backward(t, dzi, n->out.data + i * ysz, ysz, a->act, a->alpha);
            dzi = t;
        }
        if (db)
            for (int f = 0; f < g.F; f++)
                db[f] += dlx_conv_sum16(dzi + (size_t)f * g.L, (size_t)g.L);
        if (direct) {
            dlx_conv_direct_backward(&d, n->in[0]->out.data + i * xsz, w, dzi, dw, dx ? dx + i * xsz : NULL,
                                     n->scratch);
            continue;
        }
        if (dw)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.F, g.CKK, g.L, 1.0f, dzi, g.L, col, g.L, 1.0f,
                        dw, g.CKK);
        if (dx) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.CKK, g.L, g.F, 1.0f, w, g.CKK, dzi, g.L, 0.0f,
                        col, g.L);
            dlx_conv_col2im(&cg, col, (size_t)g.L, dx + i * xsz);
        }
    }
    if (direct)
        dlx_conv_direct_end_backward(&d, dw, n->scratch);
}


/* ---- the R-operator (core/hvp.h), in double, by the definition ----
 *   R{Z} = conv(R{x}, W) + conv(x, R{W}) + R{b},  R{y} = act'(Z) R{Z}
 *   R{dx} += conv^T(R{dZ}, W) + conv^T(dZ, R{W}),  R{dW} += corr(R{dZ}, x) + corr(dZ, R{x})
 * with dZ and R{dZ} in the node's scratch (linear.c's scheme). */

/* Every term w[f,c,p,q] x[i,c,h,v] of Z[i,f,oh,ow]: z += w x (z not NULL),
 * and its adjoints gx += w dz, gw += dz x (where not NULL). */
static void conv_loop(const geom *g, const double *x, const double *w, double *z, const double *dz, double *gx,
                      double *gw)
{
    for (int i = 0; i < g->N; i++)
        for (int f = 0; f < g->F; f++)
            for (int oh = 0; oh < g->OH; oh++)
                for (int ow = 0; ow < g->OW; ow++) {
                    const int64_t o = (((int64_t)i * g->F + f) * g->OH + oh) * g->OW + ow;
                    double s = 0.0;
                    for (int c = 0; c < g->C; c++)
                        for (int p = 0; p < g->KH; p++)
                            for (int q = 0; q < g->KW; q++) {
                                int h = oh * g->SH - g->PH + p, v = ow * g->SW - g->PW + q;
                                if (h < 0 || h >= g->H || v < 0 || v >= g->W)
                                    continue;
                                int64_t xi = (((int64_t)i * g->C + c) * g->H + h) * g->W + v;
                                int64_t wi = (((int64_t)f * g->C + c) * g->KH + p) * g->KW + q;
                                if (z)
                                    s += w[wi] * x[xi];
                                if (gx)
                                    gx[xi] += w[wi] * dz[o];
                                if (gw)
                                    gw[wi] += dz[o] * x[xi];
                            }
                    if (z)
                        z[o] += s;
                }
}

/* z += conv(x, w) over the batch, one image at a time: im2col into col
 * (CKK x L doubles) and one DGEMM (the definition's sums, as conv_loop's,
 * at BLAS speed: forward runs at every finite difference of dlx gradcheck). */
static void conv_gemm(const geom *g, const double *x, const double *w, double *z, double *col)
{
    for (int i = 0; i < g->N; i++) {
        const double *xi = x + (size_t)i * g->C * g->H * g->W;
        for (int c = 0; c < g->C; c++)
            for (int p = 0; p < g->KH; p++)
                for (int q = 0; q < g->KW; q++) {
                    double *row = col + (((size_t)c * g->KH + p) * g->KW + q) * g->L;
                    for (int oh = 0; oh < g->OH; oh++)
                        for (int ow = 0; ow < g->OW; ow++) {
                            const int h = oh * g->SH - g->PH + p, v = ow * g->SW - g->PW + q;
                            const bool in = h >= 0 && h < g->H && v >= 0 && v < g->W;
                            row[oh * g->OW + ow] = in ? xi[((size_t)c * g->H + h) * g->W + v] : 0.0;
                        }
                }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->F, g->L, g->CKK, 1.0, w, g->CKK, col, g->L, 1.0,
                    z + (size_t)i * g->F * g->L, g->L);
    }
}

/* dZ, R{dZ} (the output's numel each), then one image's col (CKK L) */
static int64_t conv_rop_scratch(const dlx_node *n)
{
    const geom g = geom_of(n);
    return 2 * n->out.numel + (int64_t)g.CKK * g.L;
}

static void conv_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_conv2d_attr *a = n->attr;
    const geom g = geom_of(n);
    const dlx_dual *x = in[0], *w = in[1], *b = n->n_in == 3 ? in[2] : NULL;
    const int64_t per_f = (int64_t)g.OH * g.OW;
    double *col = out->scratch + 2 * out->numel;
    for (int64_t j = 0; j < out->numel; j++) {
        int64_t f = (j / per_f) % g.F;
        if (mode != DLX_ROP_TANGENT)
            out->v[j] = b ? b->v[f] : 0.0;
        if (mode != DLX_ROP_VALUE)
            out->r[j] = b ? b->r[f] : 0.0;
    }
    if (mode != DLX_ROP_TANGENT)
        conv_gemm(&g, x->v, w->v, out->v, col);
    if (mode != DLX_ROP_VALUE) {
        if (!x->constant)
            conv_gemm(&g, x->r, w->v, out->r, col);
        if (!w->constant)
            conv_gemm(&g, x->v, w->r, out->r, col);
    }
    dlx_act_rop_forward(a->act, a->alpha, out, mode);
}

static void conv_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_conv2d_attr *a = n->attr;
    const geom g = geom_of(n);
    const dlx_dual *x = in[0], *w = in[1], *b = n->n_in == 3 ? in[2] : NULL;
    double *dz = out->scratch, *rdz = out->scratch + out->numel;
    dlx_act_rop_backward(a->act, a->alpha, out, dz, rdz, mode);
    const int64_t per_f = (int64_t)g.OH * g.OW;
    for (int64_t j = 0; b && b->g && j < out->numel; j++) {
        int64_t f = (j / per_f) % g.F;
        if (mode != DLX_ROP_TANGENT)
            b->g[f] += dz[j];
        if (mode != DLX_ROP_VALUE)
            b->rg[f] += rdz[j];
    }
    if (mode != DLX_ROP_TANGENT)
        conv_loop(&g, x->v, w->v, NULL, dz, x->g, w->g);
    if (mode == DLX_ROP_VALUE)
        return;
    conv_loop(&g, x->v, w->v, NULL, rdz, x->rg, w->rg);
    if (x->rg)
        conv_loop(&g, NULL, w->r, NULL, dz, x->rg, NULL);
    if (w->rg)
        conv_loop(&g, x->r, NULL, NULL, dz, NULL, w->rg);
}

static const dlx_op_rop k_rop_conv2d = {conv_rop_forward, conv_rop_backward, conv_rop_scratch};

/* ---- naive reference, layer types and gradient-check cases ---- */

/* Z by the definition at the top, in double, then the activation: the check
 * of the direct and im2col + GEMM paths */
static void conv_reference(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_conv2d_attr *a = n->attr;
    const geom g = geom_of(n);
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    const float *b = n->n_in == 3 ? n->in[2]->out.data : NULL;
    float *y = n->out.data;
    for (int i = 0; i < g.N; i++)
        for (int f = 0; f < g.F; f++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++) {
                    double s = b ? b[f] : 0.0;
                    for (int c = 0; c < g.C; c++)
                        for (int p = 0; p < g.KH; p++)
                            for (int q = 0; q < g.KW; q++) {
                                int h = oh * g.SH - g.PH + p, v = ow * g.SW - g.PW + q;
                                if (h >= 0 && h < g.H && v >= 0 && v < g.W)
                                    s += (double)w[((f * g.C + c) * g.KH + p) * g.KW + q] *
                                         x[((i * g.C + c) * g.H + h) * g.W + v];
                            }
                    y[((i * g.F + f) * g.OH + oh) * g.OW + ow] = (float)s;
                }
    dlx_act_forward(a->act, a->alpha, y, n->out.numel);
}

static int build_conv(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t filters;
    int kh, kw;
    bool bias;
    dlx_conv2d_attr a = {0};
    dlx_init init;
    const dlx_node *x = c->in[0];
    if (x->out.shape.ndim != 4)
        return dlx_layer_fail(c, err,
                              "conv needs an image input (N, C, H, W); the input has %d dimensions "
                              "(a conv after a flatten or linear layer?)",
                              x->out.shape.ndim);
    int rc = dlx_spec_int(c->entry, "filters", true, 0, 1, 1 << 16, &filters, err);
    if (!rc) rc = dlx_layer_read_pair(c, "kernel", true, 3, 1, &kh, &kw, err);
    if (!rc) rc = dlx_layer_read_pair(c, "stride", false, 1, 1, &a.stride_h, &a.stride_w, err);
    if (!rc) rc = dlx_layer_read_pair(c, "pad", false, 0, 0, &a.pad_h, &a.pad_w, err);
    if (!rc) rc = dlx_spec_bool(c->entry, "bias", false, true, &bias, err);
    if (!rc) rc = dlx_layer_read_act(c, &a.act, &a.alpha, err);
    int64_t ch = x->out.shape.d[1];
    int def = a.act == DLX_ACT_RELU || a.act == DLX_ACT_LEAKY_RELU ? 1 : 0;
    if (!rc) rc = dlx_layer_read_init(c, def, ch * kh * kw, filters * kh * kw, &init, err);
    dlx_node *in[3] = {c->in[0]};
    if (!rc) rc = dlx_layer_param(c, "weight", dlx_shape_4d(filters, ch, kh, kw), init, true, &in[1], err);
    if (!rc && bias) rc = dlx_layer_param(c, "bias", dlx_shape_1d(filters), dlx_layer_bias_init(&init), false, &in[2], err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_conv2d, in, bias ? 3 : 2, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"filters", "integer", "required", "1 to 65536", "output channels"},
    {"kernel", "integer or [h, w]", "required", "1 to 4096", "kernel size (n means n x n)"},
    {"stride", "integer or [h, w]", "1", "1 to 4096", "step between windows"},
    {"pad", "integer or [h, w]", "0", "0 to 4096", "zeros added on each side"},
    DLX_LAYER_DOC_ACT,
    {"bias", "bool", "true", "", "add a learned bias per filter"},
    DLX_LAYER_DOC_INIT,
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"conv2d", k_keys, "2-d convolution: filters, kernel, stride, pad, activation", 1, build_conv},
    {"conv", k_keys, "the same as conv2d", 1, build_conv},
};

#define CONV_CASE(nm, sh, sw, ph, pw, act, nin)                                                             \
    {.what = nm, .attr = &(dlx_conv2d_attr){sh, sw, ph, pw, act, 0.1f}, .n_in = nin,                                                .in = \
     {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 6, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 3, 3, 3)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4)}}}
static const dlx_op_example k_examples[] = {
    CONV_CASE("conv2d stride 1 (direct)", 1, 1, 0, 0, DLX_ACT_NONE, 3),
    CONV_CASE("conv2d stride 2 pad 1 (im2col)", 2, 2, 1, 1, DLX_ACT_NONE, 3),
    CONV_CASE("conv2d pad 1 relu (direct)", 1, 1, 1, 1, DLX_ACT_RELU, 3),
    CONV_CASE("conv2d stride 2 tanh (im2col)", 2, 2, 1, 1, DLX_ACT_TANH, 3),
    CONV_CASE("conv2d stride 1x2 no bias", 1, 2, 0, 1, DLX_ACT_NONE, 2),
    CONV_CASE("conv2d stride 2x1 sigmoid", 2, 1, 1, 0, DLX_ACT_SIGMOID, 3),
    /* 16 filters: the direct path's whole-vector case */
    {.what = "conv2d 16 filters leaky (direct)", .attr = &(dlx_conv2d_attr){1, 1, 1, 1, DLX_ACT_LEAKY_RELU, 0.1f}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 5, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(16, 2, 3, 3)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(16)}}},
    /* the batched im2col path over N >= 3 images (image n at columns n L..):
     * rectangular kernels, unequal padding, activations, with and without bias */
    {.what = "conv2d N 3 kernel 3x2 stride 2 pad 1x2 leaky_relu (batched)",
     .attr = &(dlx_conv2d_attr){2, 2, 1, 2, DLX_ACT_LEAKY_RELU, 0.1f}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 7, 6)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(5, 2, 3, 2)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(5)}}},
    {.what = "conv2d N 4 kernel 4 stride 2 pad 1 no bias (DCGAN's discriminator, batched)",
     .attr = &(dlx_conv2d_attr){2, 2, 1, 1, DLX_ACT_NONE, 0.1f}, .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 3, 8, 8)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 3, 4, 4)}}},
    {.what = "conv2d N 3 kernel 2x3 stride 3x2 pad 0x1 sigmoid (batched)",
     .attr = &(dlx_conv2d_attr){3, 2, 0, 1, DLX_ACT_SIGMOID, 0.1f}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 8, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3, 2, 2, 3)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3)}}},
    /* conv_gemm.h's kernel (AVX2): 8 filters over 16 positions; 24 filters
     * (a tile of 16 and one of 8) over 32 positions, 27 terms in row blocks
     * of 6 and 5 */
    {.what = "conv2d N 3 kernel 4 stride 2 pad 1 leaky_relu, 8 filters (conv_gemm)",
     .attr = &(dlx_conv2d_attr){2, 2, 1, 1, DLX_ACT_LEAKY_RELU, 0.1f}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 8, 8)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(8, 2, 4, 4)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(8)}}},
    {.what = "conv2d N 2 kernel 3 stride 2 pad 1 tanh no bias, 24 filters (conv_gemm)",
     .attr = &(dlx_conv2d_attr){2, 2, 1, 1, DLX_ACT_TANH, 0.1f}, .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 8, 16)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(24, 3, 3, 3)}}},
};

const dlx_op_vtbl dlx_op_conv2d = {
    .name = "conv2d",
    .n_in_min = 2,
    .n_in_max = 3,
    .attr_size = sizeof(dlx_conv2d_attr),
    .infer = conv_infer,
    .forward = conv_forward,
    .backward = conv_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .fast_path = true,
    .reference = conv_reference,
    .rop = &k_rop_conv2d,
};
