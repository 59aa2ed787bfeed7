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

#include "ops.h"

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
 * branch-free selects the compiler vectorises; same tie rule (row-major first). */
/* One output row of 2x2/2 max pooling; restrict lets the compiler vectorise. */
static void max2x2_row(const float *restrict r0, const float *restrict r1, float *restrict y,
                       int32_t *restrict arg, int OW, int32_t base, int32_t W)
{
    for (int j = 0; j < OW; j++) {
        float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
        int32_t pb = b > a, pd = d > c;
        float m01 = pb ? b : a, m23 = pd ? d : c;
        int32_t second = m23 > m01;
        y[j] = second ? m23 : m01;
        arg[j] = base + 2 * j + (second ? W + pd : pb);
    }
}

static void max2x2_row_noarg(const float *restrict r0, const float *restrict r1, float *restrict y, int OW)
{
    for (int j = 0; j < OW; j++)
        y[j] = fmaxf(fmaxf(r0[2 * j], r0[2 * j + 1]), fmaxf(r1[2 * j], r1[2 * j + 1]));
}

static void maxpool_2x2(const pgeom *g, const float *x, float *y, int32_t *arg)
{
    const size_t plane = (size_t)g->H * g->W;
    for (int c = 0; c < g->NC; c++, x += plane)
        for (int i = 0; i < g->OH; i++, y += g->OW) {
            const float *r0 = x + (size_t)(2 * i) * g->W, *r1 = r0 + g->W;
            if (!arg) {
                max2x2_row_noarg(r0, r1, y, g->OW);
                continue;
            }
            max2x2_row(r0, r1, y, arg, g->OW, 2 * i * g->W, g->W);
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

const dlx_op_vtbl dlx_op_maxpool2d = {
    .name = "maxpool2d",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_pool2d_attr),
    .infer = maxpool_infer,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};

const dlx_op_vtbl dlx_op_avgpool2d = {
    .name = "avgpool2d",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_pool2d_attr),
    .infer = pool_infer_common,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};
