/* maxpool2d and avgpool2d: pooling over (KH, KW) windows of each channel.
 *
 *   in:  x (N, C, H, W)
 *   out: y (N, C, OH, OW), OH = (H + 2 PH - KH) / SH + 1 (floor), same for OW
 *   window (i, j) covers rows i SH - PH .. + KH - 1, cols j SW - PW .. + KW - 1,
 *   clipped to the image; PH < KH and PW < KW so every window holds a real cell.
 *
 *   max: y = max over the window (padding never wins: it acts as -inf);
 *        dx[argmax] += dy. Ties: the first maximum in row-major window order.
 *        Saved for backward: the argmax of every output, as an int32 offset
 *        within its (H, W) plane, in the node's scratch (N C OH OW entries).
 *        The arena's scratch is malloc'd storage, 64-byte aligned, and only
 *        ever accessed as int32 (it takes that effective type when written),
 *        so reading it back through an int32_t pointer is well defined.
 *        Non-differentiable points: ties within a window.
 *   avg: y = sum over the real cells of the window / their count (padding is
 *        neither summed nor counted); dx[cell] += dy / count. Saves nothing;
 *        differentiable everywhere.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_maxpool2d; /* the R-operator tells the two apart */

typedef struct pgeom {
    int NC, H, W, KH, KW, SH, SW, PH, PW, OH, OW;
} pgeom;

static pgeom pgeom_of(const dlx_node *n)
{
    const dlx_pool2d_attr *a = n->attr;
    const int64_t *x = n->in[0]->out.shape.d;
    pgeom g = {
        .NC = (int)(x[0] * x[1]), .H = (int)x[2], .W = (int)x[3],
        .KH = a->size_h, .KW = a->size_w, .SH = a->stride_h, .SW = a->stride_w,
        .PH = a->pad_h, .PW = a->pad_w,
        .OH = (int)n->out.shape.d[2], .OW = (int)n->out.shape.d[3],
    };
    return g;
}

static int pool_infer_common(dlx_node *n, dlx_err *err)
{
    const dlx_pool2d_attr *a = n->attr;
    const dlx_shape *xs = &n->in[0]->out.shape;
    char buf[64];
    if (a->size_h < 1 || a->size_w < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "window size must be >= 1, got %dx%d",
                            a->size_h, a->size_w);
    if (a->stride_h < 1 || a->stride_w < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "stride must be >= 1, got %dx%d",
                            a->stride_h, a->stride_w);
    if (a->pad_h < 0 || a->pad_w < 0 || a->pad_h >= a->size_h || a->pad_w >= a->size_w)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "padding must be >= 0 and smaller than the window %dx%d, got %dx%d",
                            a->size_h, a->size_w, a->pad_h, a->pad_w);
    if (xs->ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a 4-d input (N, C, H, W), got %s",
                            dlx_shape_str(xs, buf, sizeof buf));
    for (int i = 0; i < 4; i++)
        if (xs->d[i] < 1)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "empty input %s",
                                dlx_shape_str(xs, buf, sizeof buf));
    int64_t hp = xs->d[2] + 2 * (int64_t)a->pad_h, wp = xs->d[3] + 2 * (int64_t)a->pad_w;
    if (a->size_h > hp || a->size_w > wp)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "window %dx%d is larger than the padded input %lldx%lld "
                            "(input %lldx%lld, padding %dx%d)",
                            a->size_h, a->size_w, (long long)hp, (long long)wp,
                            (long long)xs->d[2], (long long)xs->d[3], a->pad_h, a->pad_w);
    if (dlx_shape_numel(xs) > INT32_MAX)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "input too large (over 2^31 elements)");
    int64_t oh = (hp - a->size_h) / a->stride_h + 1, ow = (wp - a->size_w) / a->stride_w + 1;
    n->out.shape = dlx_shape_4d(xs->d[0], xs->d[1], oh, ow);
    n->scratch_floats = 0;
    return 0;
}

/* ---- max ---- */

static int maxpool_infer(dlx_node *n, dlx_err *err)
{
    int rc = pool_infer_common(n, err);
    if (rc)
        return rc;
    /* one int32 argmax per output; sizeof(int32_t) == sizeof(float) */
    if (n->needs_grad)
        n->scratch_floats = (size_t)dlx_shape_numel(&n->out.shape);
    return 0;
}

/* 2x2 windows, stride 2, no padding (LeNet's and most convnets' pooling):
 * branch-free selects, same tie rule (row-major first). Without the argmax
 * (inference) the same selects, so evaluation sees the values training does. */
#if defined(__AVX512F__)
#include <immintrin.h>
/* GCC does not vectorise the stride-2 reads of the scalar loop; 16 outputs at a time: two
 * loads per input row, even and odd columns separated by one permute each.
 * The comparisons are the scalar ones (ordered, so NaN never wins), so the
 * results are bit for bit those of the scalar loop below. */
static void max2x2_row(const float *restrict r0, const float *restrict r1, float *restrict y,
                       int32_t *restrict arg, int OW, int32_t base, int32_t W)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i one = _mm512_set1_epi32(1), wv = _mm512_set1_epi32(W);
    int j = 0;
    for (; j < OW; j += 16) {
        int cnt = OW - j < 16 ? OW - j : 16; /* outputs in this block */
        int in = 2 * cnt;                      /* inputs per row */
        __mmask16 mlo = (__mmask16)(in >= 16 ? 0xFFFF : (1u << in) - 1);
        __mmask16 mhi = (__mmask16)(in <= 16 ? 0 : in >= 32 ? 0xFFFF : (1u << (in - 16)) - 1);
        __mmask16 mout = (__mmask16)(cnt == 16 ? 0xFFFF : (1u << cnt) - 1);
        __m512 lo0 = _mm512_maskz_loadu_ps(mlo, r0 + 2 * j), hi0 = _mm512_maskz_loadu_ps(mhi, r0 + 2 * j + 16);
        __m512 lo1 = _mm512_maskz_loadu_ps(mlo, r1 + 2 * j), hi1 = _mm512_maskz_loadu_ps(mhi, r1 + 2 * j + 16);
        __m512 a = _mm512_permutex2var_ps(lo0, even, hi0), b = _mm512_permutex2var_ps(lo0, odd, hi0);
        __m512 c = _mm512_permutex2var_ps(lo1, even, hi1), d = _mm512_permutex2var_ps(lo1, odd, hi1);
        __mmask16 pb = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), pd = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ);
        __m512 m01 = _mm512_mask_blend_ps(pb, a, b), m23 = _mm512_mask_blend_ps(pd, c, d);
        __mmask16 second = _mm512_cmp_ps_mask(m23, m01, _CMP_GT_OQ);
        _mm512_mask_storeu_ps(y + j, mout, _mm512_mask_blend_ps(second, m01, m23));
        if (arg) {
            __m512i col = _mm512_add_epi32(_mm512_set1_epi32(base + 2 * j), _mm512_slli_epi32(
                                           _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1));
            __m512i first_row = _mm512_maskz_mov_epi32(pb, one);
            __m512i second_row = _mm512_add_epi32(wv, _mm512_maskz_mov_epi32(pd, one));
            __m512i off = _mm512_mask_blend_epi32(second, first_row, second_row);
            _mm512_mask_storeu_epi32(arg + j, mout, _mm512_add_epi32(col, off));
        }
    }
}
#elif defined(__AVX2__)
#include "avx2_lanes.h"
/* The same with AVX2: 8 outputs at a time, even and odd columns separated
 * by a shuffle and a 64-bit permute; masked loads and stores for the last
 * block; the same comparisons and selects, so the same bits. */
static void max2x2_row(const float *restrict r0, const float *restrict r1, float *restrict y,
                       int32_t *restrict arg, int OW, int32_t base, int32_t W)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i one = _mm256_set1_epi32(1), wv = _mm256_set1_epi32(W);
    for (int j = 0; j < OW; j += 8) {
        int cnt = OW - j < 8 ? OW - j : 8; /* outputs in this block */
        int in = 2 * cnt;                    /* inputs per row */
        __m256i mlo = dlx_first8(in), mhi = dlx_first8(in - 8), mout = dlx_first8(cnt);
        __m256 lo0 = _mm256_maskload_ps(r0 + 2 * j, mlo), hi0 = _mm256_maskload_ps(r0 + 2 * j + 8, mhi);
        __m256 lo1 = _mm256_maskload_ps(r1 + 2 * j, mlo), hi1 = _mm256_maskload_ps(r1 + 2 * j + 8, mhi);
        __m256 a = dlx_even8(lo0, hi0), b = dlx_odd8(lo0, hi0), c = dlx_even8(lo1, hi1), d = dlx_odd8(lo1, hi1);
        __m256 pb = _mm256_cmp_ps(b, a, _CMP_GT_OQ), pd = _mm256_cmp_ps(d, c, _CMP_GT_OQ);
        __m256 m01 = _mm256_blendv_ps(a, b, pb), m23 = _mm256_blendv_ps(c, d, pd);
        __m256 second = _mm256_cmp_ps(m23, m01, _CMP_GT_OQ);
        _mm256_maskstore_ps(y + j, mout, _mm256_blendv_ps(m01, m23, second));
        if (arg) {
            __m256i col = _mm256_add_epi32(_mm256_set1_epi32(base + 2 * j), _mm256_slli_epi32(lane, 1));
            __m256i first_row = _mm256_and_si256(_mm256_castps_si256(pb), one);
            __m256i second_row = _mm256_add_epi32(wv, _mm256_and_si256(_mm256_castps_si256(pd), one));
            __m256i off = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(first_row),
                                                               _mm256_castsi256_ps(second_row), second));
            _mm256_maskstore_epi32((int *)(arg + j), mout, _mm256_add_epi32(col, off));
        }
    }
}
#else
static void max2x2_row(const float *restrict r0, const float *restrict r1, float *restrict y,
                       int32_t *restrict arg, int OW, int32_t base, int32_t W)
{
    for (int j = 0; j < OW; j++) {
        float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
        int32_t pb = b > a, pd = d > c;
        float m01 = pb ? b : a, m23 = pd ? d : c;
        int32_t second = m23 > m01;
        y[j] = second ? m23 : m01;
        if (arg)
            arg[j] = base + 2 * j + (second ? W + pd : pb);
    }
}
#endif

static void maxpool_2x2(const pgeom *g, const float *x, float *y, int32_t *arg)
{
    const size_t plane = (size_t)g->H * g->W;
    for (int c = 0; c < g->NC; c++, x += plane)
        for (int i = 0; i < g->OH; i++, y += g->OW) {
            const float *r0 = x + (size_t)(2 * i) * g->W, *r1 = r0 + g->W;
            max2x2_row(r0, r1, y, arg, g->OW, 2 * i * g->W, g->W);
            if (arg)
                arg += g->OW;
        }
}

static void maxpool_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const pgeom g = pgeom_of(n);
    const float *x = n->in[0]->out.data;
    float *y = n->out.data;
    int32_t *arg = n->scratch ? (int32_t *)(void *)n->scratch : NULL;
    const size_t plane = (size_t)g.H * g.W;
    size_t o = 0;
    if (g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PH == 0 && g.PW == 0) {
        maxpool_2x2(&g, x, y, arg);
        return;
    }
    for (int c = 0; c < g.NC; c++, x += plane)
        for (int i = 0; i < g.OH; i++) {
            int h0 = i * g.SH - g.PH, h1 = h0 + g.KH;
            h0 = h0 < 0 ? 0 : h0;
            h1 = h1 > g.H ? g.H : h1;
            for (int j = 0; j < g.OW; j++, o++) {
                int w0 = j * g.SW - g.PW, w1 = w0 + g.KW;
                w0 = w0 < 0 ? 0 : w0;
                w1 = w1 > g.W ? g.W : w1;
                int best = h0 * g.W + w0;
                float m = x[best];
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) {
                        float v = x[h * g.W + w];
                        if (v > m) {
                            m = v;
                            best = h * g.W + w;
                        }
                    }
                y[o] = m;
                if (arg)
                    arg[o] = best;
            }
        }
}

static void maxpool_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    const pgeom g = pgeom_of(n);
    const int32_t *arg = (const int32_t *)(const void *)n->scratch;
    const float *dy = n->out.grad;
    const size_t plane = (size_t)g.H * g.W, oplane = (size_t)g.OH * g.OW;
    for (int c = 0; c < g.NC; c++, dx += plane, dy += oplane, arg += oplane)
        for (size_t k = 0; k < oplane; k++)
            dx[arg[k]] += dy[k];
}

/* ---- average ---- */

static void avgpool_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const pgeom g = pgeom_of(n);
    const float *x = n->in[0]->out.data;
    float *y = n->out.data;
    const size_t plane = (size_t)g.H * g.W;
    for (int c = 0; c < g.NC; c++, x += plane)
        for (int i = 0; i < g.OH; i++) {
            int h0 = i * g.SH - g.PH, h1 = h0 + g.KH;
            h0 = h0 < 0 ? 0 : h0;
            h1 = h1 > g.H ? g.H : h1;
            for (int j = 0; j < g.OW; j++) {
                int w0 = j * g.SW - g.PW, w1 = w0 + g.KW;
                w0 = w0 < 0 ? 0 : w0;
                w1 = w1 > g.W ? g.W : w1;
                float s = 0.0f;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        s += x[h * g.W + w];
                *y++ = s / (float)((h1 - h0) * (w1 - w0));
            }
        }
}

static void avgpool_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    const pgeom g = pgeom_of(n);
    const float *dy = n->out.grad;
    const size_t plane = (size_t)g.H * g.W;
    for (int c = 0; c < g.NC; c++, dx += plane)
        for (int i = 0; i < g.OH; i++) {
            int h0 = i * g.SH - g.PH, h1 = h0 + g.KH;
            h0 = h0 < 0 ? 0 : h0;
            h1 = h1 > g.H ? g.H : h1;
            for (int j = 0; j < g.OW; j++) {
                int w0 = j * g.SW - g.PW, w1 = w0 + g.KW;
                w0 = w0 < 0 ? 0 : w0;
                w1 = w1 > g.W ? g.W : w1;
                float d = *dy++ / (float)((h1 - h0) * (w1 - w0));
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        dx[h * g.W + w] += d;
            }
        }
}

/* ---- the R-operators (core/hvp.h), in double: both are linear in x once
 * the window's maximum is chosen (the first in row-major order, as forward),
 * so R{y} pools R{x} the same way and R{dx} spreads R{dy} as dx spreads dy. */

/* Output o's window, clipped: rows [h0, h1), cols [w0, w1) of plane c. */
static void window(const pgeom *g, int i, int j, int *h0, int *h1, int *w0, int *w1)
{
    *h0 = i * g->SH - g->PH, *h1 = *h0 + g->KH;
    *w0 = j * g->SW - g->PW, *w1 = *w0 + g->KW;
    *h0 = *h0 < 0 ? 0 : *h0, *h1 = *h1 > g->H ? g->H : *h1;
    *w0 = *w0 < 0 ? 0 : *w0, *w1 = *w1 > g->W ? g->W : *w1;
}

/* The cells output o reads into cells and their weights into wt (their
 * count returned): the argmax with weight 1 (max), or every real cell with
 * 1/count (avg). */
static int64_t pool_cells(const pgeom *g, bool max, const double *x, int64_t o, int64_t *cells, double *wt)
{
    int64_t plane = (int64_t)g->H * g->W, c = o / ((int64_t)g->OH * g->OW);
    int rest = (int)(o % ((int64_t)g->OH * g->OW)), i = rest / g->OW, j = rest % g->OW;
    int h0, h1, w0, w1;
    window(g, i, j, &h0, &h1, &w0, &w1);
    int64_t k = 0, best = -1;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
            int64_t off = c * plane + (int64_t)h * g->W + w;
            if (max) {
                if (best < 0 || x[off] > x[best])
                    best = off;
            } else {
                cells[k++] = off;
            }
        }
    if (max) {
        cells[0] = best, wt[0] = 1.0;
        return 1;
    }
    for (int64_t q = 0; q < k; q++)
        wt[q] = 1.0 / (double)k;
    return k;
}

static void pool_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const pgeom g = pgeom_of(n);
    const bool max = n->op == &dlx_op_maxpool2d;
    int64_t cells[g.KH * g.KW];
    double wt[g.KH * g.KW];
    for (int64_t o = 0; o < out->numel; o++) {
        int64_t k = pool_cells(&g, max, in[0]->v, o, cells, wt);
        double v = 0.0, r = 0.0;
        for (int64_t q = 0; q < k; q++) {
            v += wt[q] * in[0]->v[cells[q]];
            r += wt[q] * in[0]->r[cells[q]];
        }
        if (mode != DLX_ROP_TANGENT)
            out->v[o] = v;
        if (mode != DLX_ROP_VALUE)
            out->r[o] = r;
    }
}

static void pool_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    if (!in[0]->g)
        return;
    const pgeom g = pgeom_of(n);
    const bool max = n->op == &dlx_op_maxpool2d;
    int64_t cells[g.KH * g.KW];
    double wt[g.KH * g.KW];
    for (int64_t o = 0; o < out->numel; o++) {
        int64_t k = pool_cells(&g, max, in[0]->v, o, cells, wt);
        for (int64_t q = 0; q < k; q++) {
            if (mode != DLX_ROP_TANGENT)
                in[0]->g[cells[q]] += wt[q] * out->g[o];
            if (mode != DLX_ROP_VALUE)
                in[0]->rg[cells[q]] += wt[q] * out->rg[o];
        }
    }
}

static const dlx_op_rop k_rop_pool = {pool_rop_forward, pool_rop_backward, NULL};

/* ---- layer types and gradient-check cases ---- */

static int build_pool(dlx_layer_call *c, const dlx_op_vtbl *op, dlx_node **out, dlx_err *err)
{
    dlx_pool2d_attr a = {0};
    int rc = dlx_layer_read_pair(c, "size", false, 2, 1, &a.size_h, &a.size_w, err);
    if (!rc) rc = dlx_layer_read_pair(c, "stride", false, a.size_h, 1, &a.stride_h, &a.stride_w, err);
    if (!rc) rc = dlx_layer_read_pair(c, "pad", false, 0, 0, &a.pad_h, &a.pad_w, err);
    return rc ? rc : dlx_layer_op(c, op, c->in, 1, &a, out, err);
}

static int build_maxpool(dlx_layer_call *c, dlx_node **out, dlx_err *err) { return build_pool(c, &dlx_op_maxpool2d, out, err); }
static int build_avgpool(dlx_layer_call *c, dlx_node **out, dlx_err *err) { return build_pool(c, &dlx_op_avgpool2d, out, err); }

static const dlx_key_doc k_keys[] = {
    {"size", "integer or [h, w]", "2", "1 to 4096", "window size (n means n x n)"},
    {"stride", "integer or [h, w]", "the size", "1 to 4096", "step between windows"},
    {"pad", "integer or [h, w]", "0", "0 to 4096", "padding on each side"},
    {NULL},
};
static const dlx_layer_def k_max_layers[] = {
    {"maxpool2d", k_keys, "max pooling: size, stride, pad", 1, build_maxpool},
    {"maxpool", k_keys, "the same as maxpool2d", 1, build_maxpool},
};
static const dlx_layer_def k_avg_layers[] = {
    {"avgpool2d", k_keys, "average pooling: size, stride, pad", 1, build_avgpool},
    {"avgpool", k_keys, "the same as avgpool2d", 1, build_avgpool},
};

/* inputs spaced 0.02 apart: no ties for the max */
#define POOL_CASES(op)                                                                                      \
    {.what = op " 2x2", .attr = &(dlx_pool2d_attr){2, 2, 2, 2, 0, 0}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 6, 5)}}, .spaced = true},      \
    {.what = op " 3x3 stride 2 pad 1", .attr = &(dlx_pool2d_attr){3, 3, 2, 2, 1, 1}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 6, 5)}}, .spaced = true}, \
    {.what = op " 3x2 stride 1x2 pad 1x0", .attr = &(dlx_pool2d_attr){3, 2, 1, 2, 1, 0}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 6, 5)}}, .spaced = true}
static const dlx_op_example k_max_examples[] = {POOL_CASES("maxpool2d")};
static const dlx_op_example k_avg_examples[] = {POOL_CASES("avgpool2d")};

const dlx_op_vtbl dlx_op_maxpool2d = {
    .name = "maxpool2d",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_pool2d_attr),
    .infer = maxpool_infer,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .layers = k_max_layers,
    .n_layers = (int)(sizeof k_max_layers / sizeof k_max_layers[0]),
    .examples = k_max_examples,
    .n_examples = (int)(sizeof k_max_examples / sizeof k_max_examples[0]),
    .rop = &k_rop_pool,
};

const dlx_op_vtbl dlx_op_avgpool2d = {
    .name = "avgpool2d",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_pool2d_attr),
    .infer = pool_infer_common,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .layers = k_avg_layers,
    .n_layers = (int)(sizeof k_avg_layers / sizeof k_avg_layers[0]),
    .examples = k_avg_examples,
    .n_examples = (int)(sizeof k_avg_examples / sizeof k_avg_examples[0]),
    .rop = &k_rop_pool,
};
