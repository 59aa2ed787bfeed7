/* upsample2d: 2-d upsampling by integer factors, nearest or bilinear.
 *
 *   in:  x (N, C, H, W)
 *   out: y (N, C, OH, OW), OH = H SH, OW = W SW
 *   nearest:  y[o, v] = x[o / SH, v / SW] (integer division)
 *             dx[i, j] += the sum of dy over its SH x SW block
 *   bilinear: as torch.nn.functional.interpolate(mode='bilinear',
 *             align_corners=False): along each axis the source coordinate
 *             of output o is s = max((o + 0.5) / S - 0.5, 0) (in float, with
 *             1/S rounded to float, as PyTorch), i0 = floor(s), i1 = i0 + 1
 *             clamped to the last row, l1 = s - i0, l0 = 1 - l1;
 *             y[o, v] = lh0 (lw0 x[i0, j0] + lw1 x[i0, j1])
 *                     + lh1 (lw0 x[i1, j0] + lw1 x[i1, j1])
 *             dx: each dy scattered back with the same four weights.
 * Linear in x: no non-differentiable points; nothing saved, no scratch.
 * Planes in order, one thread: the same bits on any thread count.
 */
#include <stdint.h>
#include <string.h>

#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_upsample2d; /* its builder adds it */

static const char *const k_modes[] = {"nearest", "bilinear", NULL};

static int up_infer(dlx_node *n, dlx_err *err)
{
    const dlx_upsample2d_attr *a = n->attr;
    const dlx_shape *xs = &n->in[0]->out.shape;
    char buf[64];
    if ((int)a->mode != DLX_UPSAMPLE_NEAREST && (int)a->mode != DLX_UPSAMPLE_BILINEAR)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "unknown upsampling mode %d (known: nearest, bilinear)",
                            (int)a->mode);
    if (a->scale_h < 1 || a->scale_w < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "scale must be >= 1, got %dx%d", a->scale_h, a->scale_w);
    if (xs->ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a 4-d input (N, C, H, W), got %s",
                            dlx_shape_str(xs, buf, sizeof buf));
    for (int i = 0; i < 4; i++)
        if (xs->d[i] < 1)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "empty input %s", dlx_shape_str(xs, buf, sizeof buf));
    /* checked: int indices over the output, which must fit 2^31 elements */
    int64_t oh, ow, numel;
    if (!dlx_mul_i64(xs->d[2], a->scale_h, &oh) || !dlx_mul_i64(xs->d[3], a->scale_w, &ow) ||
        !dlx_mul_i64(xs->d[0], xs->d[1], &numel) || !dlx_mul_i64(numel, oh, &numel) ||
        !dlx_mul_i64(numel, ow, &numel) || numel > INT32_MAX)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "too large: upsampling %s by %dx%d exceeds 2^31 elements",
                            dlx_shape_str(xs, buf, sizeof buf), a->scale_h, a->scale_w);
    n->out.shape = dlx_shape_4d(xs->d[0], xs->d[1], oh, ow);
    n->scratch_floats = 0;
    return 0;
}

/* PyTorch's source index and weights of output o along an axis of `in`
 * cells upsampled by s (align_corners=False, float arithmetic). */
static void src_of(int o, int s, int in, int *i0, int *i1, float *l0, float *l1)
{
    const float r = (float)(1.0 / s);
    float real = r * ((float)o + 0.5f) - 0.5f;
    if (real < 0.0f)
        real = 0.0f;
    int i = (int)real; /* floor: real >= 0 */
    if (i > in - 1)
        i = in - 1;
    float l = real - (float)i;
    l = l < 0.0f ? 0.0f : l > 1.0f ? 1.0f : l;
    *i0 = i;
    *i1 = i < in - 1 ? i + 1 : i;
    *l1 = l;
    *l0 = 1.0f - l;
}

static void up_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_upsample2d_attr *a = n->attr;
    const int64_t *d = n->in[0]->out.shape.d;
    const int NC = (int)(d[0] * d[1]), H = (int)d[2], W = (int)d[3];
    const int SH = a->scale_h, SW = a->scale_w, OH = H * SH, OW = W * SW;
    const float *x = n->in[0]->out.data;
    float *y = n->out.data;
    for (int c = 0; c < NC; c++, x += (size_t)H * W)
        for (int o = 0; o < OH; o++, y += OW) {
            if (a->mode == DLX_UPSAMPLE_NEAREST) {
                const float *row = x + (size_t)(o / SH) * W;
                for (int v = 0; v < OW; v++)
                    y[v] = row[v / SW];
                continue;
            }
            int h0, h1;
            float lh0, lh1;
            src_of(o, SH, H, &h0, &h1, &lh0, &lh1);
            const float *r0 = x + (size_t)h0 * W, *r1 = x + (size_t)h1 * W;
            for (int v = 0; v < OW; v++) {
                int w0, w1;
                float lw0, lw1;
                src_of(v, SW, W, &w0, &w1, &lw0, &lw1);
                y[v] = lh0 * (lw0 * r0[w0] + lw1 * r0[w1]) + lh1 * (lw0 * r1[w0] + lw1 * r1[w1]);
            }
        }
}

static void up_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    const dlx_upsample2d_attr *a = n->attr;
    const int64_t *d = n->in[0]->out.shape.d;
    const int NC = (int)(d[0] * d[1]), H = (int)d[2], W = (int)d[3];
    const int SH = a->scale_h, SW = a->scale_w, OH = H * SH, OW = W * SW;
    const float *dy = n->out.grad;
    for (int c = 0; c < NC; c++, dx += (size_t)H * W)
        for (int o = 0; o < OH; o++, dy += OW) {
            if (a->mode == DLX_UPSAMPLE_NEAREST) {
                float *row = dx + (size_t)(o / SH) * W;
                for (int v = 0; v < OW; v++)
                    row[v / SW] += dy[v];
                continue;
            }
            int h0, h1;
            float lh0, lh1;
            src_of(o, SH, H, &h0, &h1, &lh0, &lh1);
            float *r0 = dx + (size_t)h0 * W, *r1 = dx + (size_t)h1 * W;
            for (int v = 0; v < OW; v++) {
                int w0, w1;
                float lw0, lw1;
                src_of(v, SW, W, &w0, &w1, &lw0, &lw1);
                float g0 = lh0 * dy[v], g1 = lh1 * dy[v];
                r0[w0] += lw0 * g0;
                r0[w1] += lw1 * g0;
                r1[w0] += lw0 * g1;
                r1[w1] += lw1 * g1;
            }
        }
}

/* ---- the R-operator (core/hvp.h): linear, so R{y} = up(R{x}) and R{dx} +=
 * up^T(R{dy}), in double with forward's (float) weights ---- */

/* y = up(x) (adjoint false) or x += up^T(y) (adjoint true), in double. */
static void up_map(const dlx_node *n, double *x, double *y, bool adjoint)
{
    const dlx_upsample2d_attr *a = n->attr;
    const int64_t *d = n->in[0]->out.shape.d;
    const int NC = (int)(d[0] * d[1]), H = (int)d[2], W = (int)d[3];
    const int SH = a->scale_h, SW = a->scale_w, OH = H * SH, OW = W * SW;
    for (int c = 0; c < NC; c++, x += (size_t)H * W)
        for (int o = 0; o < OH; o++, y += OW)
            for (int v = 0; v < OW; v++) {
                int h0 = o / SH, h1 = h0, w0 = v / SW, w1 = w0;
                float lh0 = 1.0f, lh1 = 0.0f, lw0 = 1.0f, lw1 = 0.0f;
                if (a->mode == DLX_UPSAMPLE_BILINEAR) {
                    src_of(o, SH, H, &h0, &h1, &lh0, &lh1);
                    src_of(v, SW, W, &w0, &w1, &lw0, &lw1);
                }
                const int at[4] = {h0 * W + w0, h0 * W + w1, h1 * W + w0, h1 * W + w1};
                const double k[4] = {(double)lh0 * lw0, (double)lh0 * lw1, (double)lh1 * lw0, (double)lh1 * lw1};
                if (!adjoint)
                    y[v] = 0.0;
                for (int t = 0; t < 4; t++) {
                    if (adjoint)
                        x[at[t]] += k[t] * y[v];
                    else
                        y[v] += k[t] * x[at[t]];
                }
            }
}

static void up_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    if (mode != DLX_ROP_TANGENT)
        up_map(n, in[0]->v, out->v, false);
    if (mode != DLX_ROP_VALUE)
        up_map(n, in[0]->r, out->r, false);
}

static void up_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    if (!in[0]->g)
        return;
    if (mode != DLX_ROP_TANGENT)
        up_map(n, in[0]->g, out->g, true);
    if (mode != DLX_ROP_VALUE)
        up_map(n, in[0]->rg, out->rg, true);
}

static const dlx_op_rop k_rop = {up_rop_forward, up_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_upsample(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    dlx_upsample2d_attr a = {0};
    int mode;
    if (c->in[0]->out.shape.ndim != 4)
        return dlx_layer_fail(c, err, "upsample needs an image input (N, C, H, W); the input has %d dimensions",
                              c->in[0]->out.shape.ndim);
    int rc = dlx_layer_read_pair(c, "scale", false, 2, 1, &a.scale_h, &a.scale_w, err);
    if (!rc) rc = dlx_spec_enum(c->entry, "mode", false, k_modes, DLX_UPSAMPLE_NEAREST, &mode, err);
    a.mode = (dlx_upsample_mode)mode;
    return rc ? rc : dlx_layer_op(c, &dlx_op_upsample2d, c->in, 1, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"scale", "integer or [h, w]", "2", "1 to 4096", "the factor along height and width"},
    {"mode", "string", "nearest", "nearest, bilinear", "how new pixels are filled"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"upsample", k_keys, "2-d upsampling by integer factors: scale (n or [h, w], default 2), mode (nearest, bilinear)",
     1, build_upsample},
};

#define UP_CASE(nm, sh, sw, mode)                                                                           \
    {.what = nm, .attr = &(dlx_upsample2d_attr){sh, sw, mode}, .n_in = 1,                                   \
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 3, 4)}}}
static const dlx_op_example k_examples[] = {
    UP_CASE("upsample2d nearest 2", 2, 2, DLX_UPSAMPLE_NEAREST),
    UP_CASE("upsample2d nearest 3x2", 3, 2, DLX_UPSAMPLE_NEAREST),
    UP_CASE("upsample2d bilinear 2", 2, 2, DLX_UPSAMPLE_BILINEAR),
    UP_CASE("upsample2d bilinear 3x1", 3, 1, DLX_UPSAMPLE_BILINEAR),
    UP_CASE("upsample2d bilinear 1x4", 1, 4, DLX_UPSAMPLE_BILINEAR),
};

const dlx_op_vtbl dlx_op_upsample2d = {
    .name = "upsample2d",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_upsample2d_attr),
    .infer = up_infer,
    .forward = up_forward,
    .backward = up_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
