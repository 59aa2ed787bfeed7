/* conv_transpose2d: transposed 2-d convolution (PyTorch's ConvTranspose2d)
 * with bias and a fused activation.
 *
 *   in:  x (N, C, H, W), W (C, F, KH, KW) (in channels first), optional b (F)
 *   out: y (N, F, OH, OW), OH = (H - 1) SH - 2 PH + KH + OPH, same for OW;
 *        OPH < SH (output_padding: the rows a stride-SH conv2d would drop)
 *   Z[n,f,o,v] = b[f] + sum over c, i, j, p, q with i SH - PH + p = o and
 *                j SW - PW + q = v of x[n,c,i,j] W[c,f,p,q]
 *   y = act(Z): every input cell scatters itself times the kernel into the
 *   output; what falls outside [0, OH) x [0, OW) (the padding) is dropped.
 *
 * It is the adjoint of conv2d in its input: conv2d with weight W (as (F', C',
 * KH, KW) = (C, F, KH, KW)), stride S and pad P maps an (F, OH, OW) image to
 * (C, H, W), and Z_n = col2im(Wm^T x_n) with Wm = W viewed as (C, F KH KW)
 * and col2im/im2col those of that conv2d: conv_cols.h's, on the image
 * (F, OH, OW) over the grid L = H W.
 *   dZ  = dy * act'(y)                 (scratch, only with an activation)
 *   col = im2col(dZ_n)                 (F KH KW, L)
 *   dx_n += Wm col                     (C, L)
 *   dW   += x_n col^T                  (C, F KH KW)
 *   db   += sum over n, o, v of dZ
 * Saved for backward: nothing (backward builds im2col of dZ, which forward
 * cannot know). Scratch: one image's col (F KH KW L) [+ one image's dZ,
 * F OH OW, only with an activation and a gradient]; out.grad is never
 * modified. One image at a time, in order: the same bits on any thread count
 * (one GEMM over the batch was measured slower, as for conv2d.c).
 * Where conv_gemm.h's kernel takes the shapes (AVX2; L and C multiples of
 * 8), it does the products instead of BLAS, and dW^T_n = col_n x_n^T (x_n
 * transposed, L x C) is summed over the images in order in scratch (F KH KW
 * x C) and added to dW at the end: scratch then holds one image's col, dZ,
 * x^T and that sum.
 * Non-differentiable points: those of the activation (relu/leaky_relu at Z = 0).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "../layer_build.h"
#include "conv_cols.h"
#include "conv_gemm.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_conv_transpose2d; /* its builder adds it */

typedef struct tgeom {
    int N, C, H, W, F, KH, KW, SH, SW, PH, PW, OH, OW;
    int L;   /* H * W: the input grid, the columns of col */
    int FKK; /* F * KH * KW: the rows of col */
} tgeom;

static tgeom tgeom_of(const dlx_node *n)
{
    const dlx_conv_transpose2d_attr *a = n->attr;
    const int64_t *x = n->in[0]->out.shape.d, *w = n->in[1]->out.shape.d;
    tgeom g = {
        .N = (int)x[0], .C = (int)x[1], .H = (int)x[2], .W = (int)x[3],
        .F = (int)w[1], .KH = (int)w[2], .KW = (int)w[3],
        .SH = a->stride_h, .SW = a->stride_w, .PH = a->pad_h, .PW = a->pad_w,
        .OH = (int)n->out.shape.d[2], .OW = (int)n->out.shape.d[3],
    };
    g.L = g.H * g.W;
    g.FKK = g.F * g.KH * g.KW;
    return g;
}

/* a b c d <= INT32_MAX, without overflow (all >= 0) */
static bool fits4(int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t p;
    return dlx_mul_i64(a, b, &p) && dlx_mul_i64(p, c, &p) && dlx_mul_i64(p, d, &p) && p <= INT32_MAX;
}

/* (in - 1) s - 2 pad + k + opad, or -1 when the unpadded size (in - 1) s +
 * k + opad exceeds INT32_MAX: then every index the kernels form fits an int */
static int64_t out_size(int64_t in, int s, int pad, int64_t k, int opad)
{
    int64_t t;
    if (!dlx_mul_i64(in - 1, s, &t) || t > INT32_MAX || k > INT32_MAX || t + k + opad > INT32_MAX)
        return -1;
    return t - 2 * (int64_t)pad + k + opad;
}

static int convt_check_attr(const dlx_node *n, dlx_err *err)
{
    const dlx_conv_transpose2d_attr *a = n->attr;
    if ((int)a->act < DLX_ACT_NONE || (int)a->act > DLX_ACT_LECUN_TANH)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "unknown activation %d (known: %s)", (int)a->act,
                            dlx_act_names());
    if (a->act == DLX_ACT_LEAKY_RELU && !(a->alpha >= 0.0f && isfinite(a->alpha)))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "leaky_relu alpha must be finite and >= 0, got %g",
                            (double)a->alpha);
    if (a->stride_h < 1 || a->stride_w < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "stride must be >= 1, got %dx%d", a->stride_h,
                            a->stride_w);
    if (a->pad_h < 0 || a->pad_w < 0 || a->pad_h > INT32_MAX / 4 || a->pad_w > INT32_MAX / 4)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "padding must be >= 0 (and sane), got %dx%d", a->pad_h,
                            a->pad_w);
    /* as PyTorch: a larger output_padding would add rows no input cell reaches */
    if (a->out_pad_h < 0 || a->out_pad_w < 0 || a->out_pad_h >= a->stride_h || a->out_pad_w >= a->stride_w)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "output_padding must be >= 0 and smaller than the stride %dx%d, got %dx%d",
                            a->stride_h, a->stride_w, a->out_pad_h, a->out_pad_w);
    return 0;
}

/* conv_gemm.h's kernel for all three products: col (F KH KW x L over C),
 * Wm col (C x L over F KH KW) and dW^T (F KH KW x C over L an image) */
static bool uses_cg(int C, int L, int FKK)
{
    return dlx_cg_use(L, C) && dlx_cg_use(L, FKK) && dlx_cg_use(C, L);
}

static int convt_infer(dlx_node *n, dlx_err *err)
{
    const dlx_conv_transpose2d_attr *a = n->attr;
    const dlx_shape *xs = &n->in[0]->out.shape, *ws = &n->in[1]->out.shape;
    char buf[64], buf2[64];
    int rc = convt_check_attr(n, err);
    if (rc)
        return rc;
    if (xs->ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a 4-d input (N, C, H, W), got %s",
                            dlx_shape_str(xs, buf, sizeof buf));
    if (ws->ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a 4-d weight (C, F, KH, KW), got %s",
                            dlx_shape_str(ws, buf, sizeof buf));
    for (int i = 0; i < 4; i++)
        if (xs->d[i] < 1 || ws->d[i] < 1)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "empty input %s or weight %s",
                                dlx_shape_str(xs, buf, sizeof buf), dlx_shape_str(ws, buf2, sizeof buf2));
    if (ws->d[0] != xs->d[1])
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "weight %s expects %lld input channels (its first dimension), the input has %lld",
                            dlx_shape_str(ws, buf, sizeof buf), (long long)ws->d[0], (long long)xs->d[1]);
    int64_t N = xs->d[0], C = xs->d[1], F = ws->d[1];
    if (n->n_in == 3) {
        const dlx_shape *bs = &n->in[2]->out.shape;
        if (bs->ndim != 1 || bs->d[0] != F)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a bias of shape [%lld], got %s", (long long)F,
                                dlx_shape_str(bs, buf, sizeof buf));
    }
    int64_t oh = out_size(xs->d[2], a->stride_h, a->pad_h, ws->d[2], a->out_pad_h);
    int64_t ow = out_size(xs->d[3], a->stride_w, a->pad_w, ws->d[3], a->out_pad_w);
    if (oh < 1 || ow < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "output size %lldx%lld is empty or too large (input %lldx%lld, kernel %lldx%lld, "
                            "stride %dx%d, padding %dx%d, output_padding %dx%d)",
                            (long long)oh, (long long)ow, (long long)xs->d[2], (long long)xs->d[3],
                            (long long)ws->d[2], (long long)ws->d[3], a->stride_h, a->stride_w, a->pad_h,
                            a->pad_w, a->out_pad_h, a->out_pad_w);
    /* checked products: a spec's sizes can multiply past int64 */
    if (!fits4(F, ws->d[2], ws->d[3], 1) || !fits4(F * ws->d[2] * ws->d[3], xs->d[2], xs->d[3], 1) ||
        !fits4(N, F, oh, ow) || !fits4(N, C, xs->d[2], xs->d[3]) || !fits4(C, F, ws->d[2], ws->d[3]))
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "too large: the output %lldx%lldx%lldx%lld or the column buffer would exceed 2^31 floats",
                            (long long)N, (long long)F, (long long)oh, (long long)ow);
    n->out.shape = dlx_shape_4d(N, F, oh, ow);
    size_t col = (size_t)(F * ws->d[2] * ws->d[3] * xs->d[2] * xs->d[3]), dz = (size_t)(F * oh * ow);
    const int64_t L = xs->d[2] * xs->d[3];
    if (n->needs_grad && uses_cg((int)C, (int)L, (int)(F * ws->d[2] * ws->d[3]))) /* and x^T, dW^T */
        col += (size_t)(L * C) + (size_t)(F * ws->d[2] * ws->d[3] * C);
    n->scratch_floats = col + (a->act != DLX_ACT_NONE && n->needs_grad ? dz : 0);
    return 0;
}

/* conv2d's columns on the output image (F, OH, OW), over the input grid H x W */
static dlx_conv_cols cols_of(const tgeom *g)
{
    return (dlx_conv_cols){g->F, g->OH, g->OW, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW, g->H, g->W};
}

static void convt_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_conv_transpose2d_attr *a = n->attr;
    const tgeom g = tgeom_of(n);
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    const float *b = n->n_in == 3 ? n->in[2]->out.data : NULL;
    const size_t xsz = (size_t)g.C * g.L, plane = (size_t)g.OH * g.OW, ysz = (size_t)g.F * plane;
    const dlx_conv_cols cg = cols_of(&g);
    float *col = n->scratch;
    const bool kernel = uses_cg(g.C, g.L, g.FKK);
    for (int i = 0; i < g.N; i++) {
        float *y = n->out.data + i * ysz;
        /* col = Wm^T x_n: (F KH KW, C) (C, L) */
        if (kernel)
            dlx_cg_run(&(dlx_cg){.rows = g.FKK, .cols = g.L, .T = g.C, .a = w, .sar = 1, .sat = g.FKK,
                                 .b = x + i * xsz, .ldb = g.L, .c = col, .ldc = g.L, .store = DLX_CG_STORE});
        else
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.FKK, g.L, g.C, 1.0f, w, g.FKK, x + i * xsz,
                        g.L, 0.0f, col, g.L);
        memset(y, 0, ysz * sizeof(float));
        dlx_conv_col2im(&cg, col, (size_t)g.L, y);
        if (b || a->act != DLX_ACT_NONE)
            for (int f = 0; f < g.F; f++)
                dlx_conv_bias_act(y + f * plane, y + f * plane, plane, b ? b[f] : 0.0f, a->act, a->alpha);
    }
}

/* Backward image by image: dZ_n, db, col_n = im2col(dZ_n), then dx_n and
 * dW's term by BLAS, or with conv_gemm.h's kernel (dW^T_n summed over the
 * images in scratch and added to dW at the end). */
static void convt_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_conv_transpose2d_attr *a = n->attr;
    const tgeom g = tgeom_of(n);
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    float *dx = n->in[0]->out.grad, *dw = n->in[1]->out.grad;
    float *db = n->n_in == 3 ? n->in[2]->out.grad : NULL;
    const size_t xsz = (size_t)g.C * g.L, plane = (size_t)g.OH * g.OW, ysz = (size_t)g.F * plane;
    const size_t csz = (size_t)g.FKK * g.L;
    const dlx_conv_cols cg = cols_of(&g);
    const bool kernel = uses_cg(g.C, g.L, g.FKK);
    /* scratch: col [, x_n^T, dW^T], dZ_n */
    float *col = n->scratch, *xt = col + csz, *dwt = xt + xsz;
    float *t = kernel ? dwt + (size_t)g.FKK * g.C : col + csz;
    for (int i = 0; i < g.N; i++) {
        const float *dz = n->out.grad + i * ysz;
        if (a->act != DLX_ACT_NONE) {
            dlx_conv_act_backward(t, dz, n->out.data + i * ysz, ysz, a->act, a->alpha);
            dz = t;
        }
        if (db)
            for (int f = 0; f < g.F; f++)
                db[f] += dlx_conv_sum16(dz + f * plane, plane);
        if (!dx && !dw)
            continue;
        dlx_conv_im2col(&cg, dz, col, (size_t)g.L);
        if (dx && kernel) /* dx_n += Wm col: (C, F KH KW) (F KH KW, L) */
            dlx_cg_run(&(dlx_cg){.rows = g.C, .cols = g.L, .T = g.FKK, .a = w, .sar = g.FKK, .sat = 1,
                                 .b = col, .ldb = g.L, .c = dx + i * xsz, .ldc = g.L, .store = DLX_CG_ADD});
        else if (dx)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.C, g.L, g.FKK, 1.0f, w, g.FKK, col, g.L, 1.0f,
                        dx + i * xsz, g.L);
        if (dw && kernel) { /* dW^T (F KH KW x C) [+]= col x_n^T */
            dlx_cg_transpose(g.C, g.L, x + i * xsz, xt);
            dlx_cg_run(&(dlx_cg){.rows = g.FKK, .cols = g.C, .T = g.L, .a = col, .sar = g.L, .sat = 1,
                                 .b = xt, .ldb = g.C, .c = dwt, .ldc = g.C,
                                 .store = i == 0 ? DLX_CG_STORE : DLX_CG_ADD});
        } else if (dw) { /* dW += x_n col^T: (C, L) (L, F KH KW) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.C, g.FKK, g.L, 1.0f, x + i * xsz, g.L, col, g.L,
                        1.0f, dw, g.FKK);
        }
    }
    if (dw && kernel)
        dlx_cg_add_transposed(g.FKK, g.C, dwt, dw);
}

/* ---- the R-operator (core/hvp.h), in double, by the definition: Z is
 * bilinear in (x, W) plus b (conv2d.c's scheme)
 *   R{Z} = T(R{x}, W) + T(x, R{W}) + R{b},  R{y} = act'(Z) R{Z}
 *   R{dx} += T_x^T(R{dZ}, W) + T_x^T(dZ, R{W}),  R{dW} += T_W^T(R{dZ}, x) + T_W^T(dZ, R{x})
 * with dZ and R{dZ} in the node's scratch. */

/* Every term x[n,c,i,j] W[c,f,p,q] of Z[n,f,o,v]: z += W x (z not NULL),
 * and its adjoints gx += W dz, gw += dz x (where not NULL). */
static void convt_loop(const tgeom *g, const double *x, const double *w, double *z, const double *dz, double *gx,
                       double *gw)
{
    for (int n = 0; n < g->N; n++)
        for (int c = 0; c < g->C; c++)
            for (int i = 0; i < g->H; i++)
                for (int j = 0; j < g->W; j++) {
                    const int64_t xi = (((int64_t)n * g->C + c) * g->H + i) * g->W + j;
                    for (int f = 0; f < g->F; f++)
                        for (int p = 0; p < g->KH; p++)
                            for (int q = 0; q < g->KW; q++) {
                                const int o = i * g->SH - g->PH + p, v = j * g->SW - g->PW + q;
                                if (o < 0 || o >= g->OH || v < 0 || v >= g->OW)
                                    continue;
                                const int64_t zi = (((int64_t)n * g->F + f) * g->OH + o) * g->OW + v;
                                const int64_t wi = (((int64_t)c * g->F + f) * g->KH + p) * g->KW + q;
                                if (z)
                                    z[zi] += w[wi] * x[xi];
                                if (gx)
                                    gx[xi] += w[wi] * dz[zi];
                                if (gw)
                                    gw[wi] += dz[zi] * x[xi];
                            }
                }
}

/* z += T(x, w) over the batch, one image at a time: col = Wm^T x_n by one
 * DGEMM (FKK x L doubles), then col2im (the definition's sums, as
 * convt_loop's, at BLAS speed for dlx gradcheck's many forward passes). */
static void convt_gemm(const tgeom *g, const double *x, const double *w, double *z, double *col)
{
    for (int n = 0; n < g->N; n++) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->FKK, g->L, g->C, 1.0, w, g->FKK,
                    x + (size_t)n * g->C * g->L, g->L, 0.0, col, g->L);
        double *zn = z + (size_t)n * g->F * g->OH * g->OW;
        for (int f = 0; f < g->F; f++)
            for (int p = 0; p < g->KH; p++)
                for (int q = 0; q < g->KW; q++) {
                    const double *row = col + (((size_t)f * g->KH + p) * g->KW + q) * g->L;
                    for (int i = 0; i < g->H; i++) {
                        const int o = i * g->SH - g->PH + p;
                        if (o < 0 || o >= g->OH)
                            continue;
                        for (int j = 0; j < g->W; j++) {
                            const int v = j * g->SW - g->PW + q;
                            if (v >= 0 && v < g->OW)
                                zn[((size_t)f * g->OH + o) * g->OW + v] += row[i * g->W + j];
                        }
                    }
                }
    }
}

/* dZ, R{dZ} (the output's numel each), then one image's col (FKK L) */
static int64_t convt_rop_scratch(const dlx_node *n)
{
    const tgeom g = tgeom_of(n);
    return 2 * n->out.numel + (int64_t)g.FKK * g.L;
}

static void convt_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_conv_transpose2d_attr *a = n->attr;
    const tgeom g = tgeom_of(n);
    const dlx_dual *x = in[0], *w = in[1], *b = n->n_in == 3 ? in[2] : NULL;
    const int64_t per_f = (int64_t)g.OH * g.OW;
    double *col = out->scratch + 2 * out->numel;
    for (int64_t j = 0; j < out->numel; j++) {
        const int64_t f = (j / per_f) % g.F;
        if (mode != DLX_ROP_TANGENT)
            out->v[j] = b ? b->v[f] : 0.0;
        if (mode != DLX_ROP_VALUE)
            out->r[j] = b ? b->r[f] : 0.0;
    }
    if (mode != DLX_ROP_TANGENT)
        convt_gemm(&g, x->v, w->v, out->v, col);
    if (mode != DLX_ROP_VALUE) {
        if (!x->constant)
            convt_gemm(&g, x->r, w->v, out->r, col);
        if (!w->constant)
            convt_gemm(&g, x->v, w->r, out->r, col);
    }
    dlx_act_rop_forward(a->act, a->alpha, out, mode);
}

static void convt_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_conv_transpose2d_attr *a = n->attr;
    const tgeom g = tgeom_of(n);
    const dlx_dual *x = in[0], *w = in[1], *b = n->n_in == 3 ? in[2] : NULL;
    double *dz = out->scratch, *rdz = out->scratch + out->numel;
    dlx_act_rop_backward(a->act, a->alpha, out, dz, rdz, mode);
    const int64_t per_f = (int64_t)g.OH * g.OW;
    for (int64_t j = 0; b && b->g && j < out->numel; j++) {
        const int64_t f = (j / per_f) % g.F;
        if (mode != DLX_ROP_TANGENT)
            b->g[f] += dz[j];
        if (mode != DLX_ROP_VALUE)
            b->rg[f] += rdz[j];
    }
    if (mode != DLX_ROP_TANGENT)
        convt_loop(&g, x->v, w->v, NULL, dz, x->g, w->g);
    if (mode == DLX_ROP_VALUE)
        return;
    convt_loop(&g, x->v, w->v, NULL, rdz, x->rg, w->rg);
    if (x->rg)
        convt_loop(&g, NULL, w->r, NULL, dz, x->rg, NULL);
    if (w->rg)
        convt_loop(&g, x->r, NULL, NULL, dz, NULL, w->rg);
}

static const dlx_op_rop k_rop = {convt_rop_forward, convt_rop_backward, convt_rop_scratch};

/* ---- naive reference, layer type and gradient-check cases ---- */

/* By the definition at the top: bias, then every input cell scattered times
 * the kernel, then the activation; the check of the GEMM + col2im path. */
static void convt_reference(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_conv_transpose2d_attr *a = n->attr;
    const tgeom g = tgeom_of(n);
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    const float *b = n->n_in == 3 ? n->in[2]->out.data : NULL;
    float *y = n->out.data;
    const size_t plane = (size_t)g.OH * g.OW;
    for (int s = 0; s < g.N; s++)
        for (int f = 0; f < g.F; f++)
            for (size_t k = 0; k < plane; k++)
                y[((size_t)s * g.F + f) * plane + k] = b ? b[f] : 0.0f;
    for (int s = 0; s < g.N; s++)
        for (int c = 0; c < g.C; c++)
            for (int i = 0; i < g.H; i++)
                for (int j = 0; j < g.W; j++) {
                    float v = x[(((size_t)s * g.C + c) * g.H + i) * g.W + j];
                    for (int f = 0; f < g.F; f++)
                        for (int p = 0; p < g.KH; p++)
                            for (int q = 0; q < g.KW; q++) {
                                int o = i * g.SH - g.PH + p, u = j * g.SW - g.PW + q;
                                if (o >= 0 && o < g.OH && u >= 0 && u < g.OW)
                                    y[(((size_t)s * g.F + f) * g.OH + o) * g.OW + u] +=
                                        v * w[(((size_t)c * g.F + f) * g.KH + p) * g.KW + q];
                            }
                }
    dlx_act_forward(a->act, a->alpha, y, n->out.numel);
}

static int build_convt(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t filters;
    int kh, kw;
    bool bias;
    dlx_conv_transpose2d_attr a = {0};
    dlx_init init;
    const dlx_node *x = c->in[0];
    if (x->out.shape.ndim != 4)
        return dlx_layer_fail(c, err,
                              "conv_transpose2d needs an image input (N, C, H, W); the input has %d dimensions "
                              "(add a reshape layer after a linear one, e.g. {type: reshape, shape: [64, 7, 7]})",
                              x->out.shape.ndim);
    int rc = dlx_spec_int(c->entry, "filters", true, 0, 1, 1 << 16, &filters, err);
    if (!rc) rc = dlx_layer_read_pair(c, "kernel", true, 3, 1, &kh, &kw, err);
    if (!rc) rc = dlx_layer_read_pair(c, "stride", false, 1, 1, &a.stride_h, &a.stride_w, err);
    if (!rc) rc = dlx_layer_read_pair(c, "pad", false, 0, 0, &a.pad_h, &a.pad_w, err);
    if (!rc) rc = dlx_layer_read_pair(c, "output_padding", false, 0, 0, &a.out_pad_h, &a.out_pad_w, err);
    if (!rc) rc = dlx_spec_bool(c->entry, "bias", false, true, &bias, err);
    if (!rc) rc = dlx_layer_read_act(c, &a.act, &a.alpha, err);
    int64_t ch = x->out.shape.d[1];
    int def = a.act == DLX_ACT_RELU || a.act == DLX_ACT_LEAKY_RELU ? 1 : 0;
    /* fans as PyTorch computes them from the weight (C, F, KH, KW): fan_in =
     * size(1) KH KW = filters KH KW, fan_out = C KH KW (its reset and
     * kaiming/xavier init read the transposed layout the same way) */
    if (!rc) rc = dlx_layer_read_init(c, def, filters * kh * kw, ch * kh * kw, &init, err);
    dlx_node *in[3] = {c->in[0]};
    if (!rc) rc = dlx_layer_param(c, "weight", dlx_shape_4d(ch, filters, kh, kw), init, true, &in[1], err);
    if (!rc && bias)
        rc = dlx_layer_param(c, "bias", dlx_shape_1d(filters), dlx_layer_bias_init(&init), false, &in[2], err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_conv_transpose2d, in, bias ? 3 : 2, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"filters", "integer", "required", "1 to 65536", "output channels"},
    {"kernel", "integer or [h, w]", "required", "1 to 4096", "kernel size (n means n x n)"},
    {"stride", "integer or [h, w]", "1", "1 to 4096", "upsampling step"},
    {"pad", "integer or [h, w]", "0", "0 to 4096", "rows and columns cropped from each side of the output"},
    {"output_padding", "integer or [h, w]", "0", "0 to 4096", "extra rows and columns on one side of the output"},
    DLX_LAYER_DOC_ACT,
    {"bias", "bool", "true", "", "add a learned bias per filter"},
    DLX_LAYER_DOC_INIT,
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"conv_transpose2d", k_keys,
     "transposed 2-d convolution (upsamples): filters, kernel, stride, pad, output_padding, activation", 1,
     build_convt},
};

#define CONVT_CASE(nm, sh, sw, ph, pw, oph, opw, act, nin)                                                  \
    {.what = nm, .attr = &(dlx_conv_transpose2d_attr){sh, sw, ph, pw, oph, opw, act, 0.1f}, .n_in = nin,   \
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 4, 3)},                                          \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3, 4, 3, 3)},                                         \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4)}}}
static const dlx_op_example k_examples[] = {
    /* DCGAN's upsampling block: kernel 4, stride 2, pad 1 doubles H and W. First in
     * the list: the values its seed draws keep every relu input farther from 0 than
     * a finite-difference step (elsewhere one lands on the kink) */
    {.what = "conv_transpose2d kernel 4 stride 2 pad 1 relu",
     .attr = &(dlx_conv_transpose2d_attr){2, 2, 1, 1, 0, 0, DLX_ACT_RELU, 0.1f}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 3, 3)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2, 3, 4, 4)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3)}}},
    CONVT_CASE("conv_transpose2d stride 1", 1, 1, 0, 0, 0, 0, DLX_ACT_NONE, 3),
    CONVT_CASE("conv_transpose2d stride 2 pad 1 output_padding 1", 2, 2, 1, 1, 1, 1, DLX_ACT_NONE, 3),
    CONVT_CASE("conv_transpose2d stride 2 tanh", 2, 2, 0, 0, 0, 0, DLX_ACT_TANH, 3),
    CONVT_CASE("conv_transpose2d stride 1x2 pad 1x0 output_padding 0x1 no bias", 1, 2, 1, 0, 0, 1, DLX_ACT_NONE, 2),
    CONVT_CASE("conv_transpose2d stride 3 pad 1 output_padding 2 sigmoid", 3, 3, 1, 1, 2, 2, DLX_ACT_SIGMOID, 3),
    CONVT_CASE("conv_transpose2d stride 2x3 pad 2x1 leaky_relu", 2, 3, 2, 1, 1, 0, DLX_ACT_LEAKY_RELU, 3),
    /* N >= 3 images in one GEMM (image n at columns n L..): rectangular kernels,
     * output_padding, activations, with and without bias */
    {.what = "conv_transpose2d N 3 kernel 3x2 stride 2 pad 1x0 output_padding 1x0 tanh",
     .attr = &(dlx_conv_transpose2d_attr){2, 2, 1, 0, 1, 0, DLX_ACT_TANH, 0.1f}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 3, 3, 4)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3, 2, 3, 2)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2)}}},
    {.what = "conv_transpose2d N 4 kernel 4 stride 2 pad 1 no bias (DCGAN's generator)",
     .attr = &(dlx_conv_transpose2d_attr){2, 2, 1, 1, 0, 0, DLX_ACT_NONE, 0.1f}, .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 4, 3, 3)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 2, 4, 4)}}},
    {.what = "conv_transpose2d N 3 kernel 2x3 stride 3x2 pad 0x1 output_padding 2x1 leaky_relu",
     .attr = &(dlx_conv_transpose2d_attr){3, 2, 0, 1, 2, 1, DLX_ACT_LEAKY_RELU, 0.1f}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 3, 3)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2, 3, 2, 3)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3)}}},
    /* conv_gemm.h's kernel (AVX2): 8 input channels over 8 positions; 16 over
     * 16 with output_padding (18 rows of col: blocks of 6) */
    {.what = "conv_transpose2d N 2 kernel 4 stride 2 pad 1 tanh, 8 channels (conv_gemm)",
     .attr = &(dlx_conv_transpose2d_attr){2, 2, 1, 1, 0, 0, DLX_ACT_TANH, 0.1f}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 8, 2, 4)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(8, 3, 4, 4)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3)}}},
    {.what = "conv_transpose2d N 3 kernel 3 stride 2 pad 1 output_padding 1 no bias, 16 channels (conv_gemm)",
     .attr = &(dlx_conv_transpose2d_attr){2, 2, 1, 1, 1, 1, DLX_ACT_NONE, 0.1f}, .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 16, 4, 4)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(16, 2, 3, 3)}}},
};

const dlx_op_vtbl dlx_op_conv_transpose2d = {
    .name = "conv_transpose2d",
    .n_in_min = 2,
    .n_in_max = 3,
    .attr_size = sizeof(dlx_conv_transpose2d_attr),
    .infer = convt_infer,
    .forward = convt_forward,
    .backward = convt_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
    .fast_path = true,
    .reference = convt_reference,
};
