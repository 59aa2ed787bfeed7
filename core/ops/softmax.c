/* softmax: y = softmax(x) along axis 1 (channels, classes).
 *
 * Shapes: x (N, K) or (N, K, H, W) (any rank >= 2: the trailing dims are
 * positions, each with its own softmax over K) -> same shape.
 *   y[n,k,i] = exp(x[n,k,i] - m) / sum_j exp(x[n,j,i] - m), m = max_j x[n,j,i]
 * Subtracting the maximum keeps exp <= 1 (no overflow; the sum is >= 1).
 * The sum runs in double.
 * Backward: dx[n,k,i] = y[n,k,i] (dy[n,k,i] - sum_j dy[n,j,i] y[n,j,i]).
 * Saved for backward: nothing beyond the output y.
 * Non-differentiable points: none.
 */
#include <math.h>

#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_softmax; /* its builder refers to it */

static int softmax_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *x = &n->in[0]->out.shape;
    if (x->ndim < 2) {
        char b[64];
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "x must be [N, K] or [N, K, H, W] (softmax over axis 1), got %s",
                            dlx_shape_str(x, b, sizeof b));
    }
    n->out.shape = *x;
    return 0;
}

/* Positions per (sample, class): the product of the dims after axis 1. */
static int64_t positions(const dlx_node *n)
{
    const dlx_shape *s = &n->out.shape;
    int64_t inner = 1;
    for (int i = 2; i < s->ndim; i++)
        inner *= s->d[i];
    return inner;
}

static void softmax_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    int64_t nb = n->out.shape.d[0], k = n->out.shape.d[1], inner = positions(n);
    for (int64_t s = 0; s < nb; s++)
        for (int64_t i = 0; i < inner; i++) {
            /* class j of this position sits at x[j * inner] */
            const float *x = n->in[0]->out.data + s * k * inner + i;
            float *y = n->out.data + s * k * inner + i;
            float m = -INFINITY;
            for (int64_t j = 0; j < k; j++)
                m = x[j * inner] > m ? x[j * inner] : m;
            double sum = 0.0;
            for (int64_t j = 0; j < k; j++) {
                y[j * inner] = expf(x[j * inner] - m);
                sum += (double)y[j * inner];
            }
            const float inv = (float)(1.0 / sum);
            for (int64_t j = 0; j < k; j++)
                y[j * inner] *= inv;
        }
}

static void softmax_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    if (!n->in[0]->out.grad)
        return;
    int64_t nb = n->out.shape.d[0], k = n->out.shape.d[1], inner = positions(n);
    for (int64_t s = 0; s < nb; s++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t off = s * k * inner + i;
            const float *y = n->out.data + off, *dy = n->out.grad + off;
            float *dx = n->in[0]->out.grad + off;
            double dot = 0.0;
            for (int64_t j = 0; j < k; j++)
                dot += (double)dy[j * inner] * (double)y[j * inner];
            const float d = (float)dot;
            for (int64_t j = 0; j < k; j++)
                dx[j * inner] += y[j * inner] * (dy[j * inner] - d);
        }
}

/* ---- the R-operator (core/hvp.h), in double: per position, with
 * s = sum_j dy_j y_j,
 *   R{y} = y (R{x} - sum_j y_j R{x_j})
 *   dx += y (dy - s),  R{dx} += R{y} (dy - s) + y (R{dy} - sum_j (R{dy_j} y_j + dy_j R{y_j})) */

static void softmax_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t N = n->out.shape.d[0], K = n->out.shape.d[1], P = positions(n);
    for (int64_t s = 0; s < N; s++)
        for (int64_t i = 0; i < P; i++) {
            const int64_t base = s * K * P + i;
            if (mode != DLX_ROP_TANGENT) {
                double m = in[0]->v[base], sum = 0.0;
                for (int64_t k = 1; k < K; k++)
                    m = in[0]->v[base + k * P] > m ? in[0]->v[base + k * P] : m;
                for (int64_t k = 0; k < K; k++)
                    sum += out->v[base + k * P] = exp(in[0]->v[base + k * P] - m);
                for (int64_t k = 0; k < K; k++)
                    out->v[base + k * P] /= sum;
            }
            if (mode == DLX_ROP_VALUE)
                continue;
            double yr = 0.0;
            for (int64_t k = 0; k < K; k++)
                yr += out->v[base + k * P] * in[0]->r[base + k * P];
            for (int64_t k = 0; k < K; k++)
                out->r[base + k * P] = out->v[base + k * P] * (in[0]->r[base + k * P] - yr);
        }
}

static void softmax_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    if (!in[0]->g)
        return;
    const int64_t N = n->out.shape.d[0], K = n->out.shape.d[1], P = positions(n);
    const double *y = out->v, *ry = out->r, *dy = out->g, *rdy = out->rg;
    for (int64_t s = 0; s < N; s++)
        for (int64_t i = 0; i < P; i++) {
            const int64_t base = s * K * P + i;
            double sd = 0.0, rs = 0.0;
            for (int64_t k = 0; k < K; k++) {
                int64_t j = base + k * P;
                sd += dy[j] * y[j];
                if (mode != DLX_ROP_VALUE)
                    rs += rdy[j] * y[j] + dy[j] * ry[j];
            }
            for (int64_t k = 0; k < K; k++) {
                int64_t j = base + k * P;
                if (mode != DLX_ROP_TANGENT)
                    in[0]->g[j] += y[j] * (dy[j] - sd);
                if (mode != DLX_ROP_VALUE)
                    in[0]->rg[j] += ry[j] * (dy[j] - sd) + y[j] * (rdy[j] - rs);
            }
        }
}

static const dlx_op_rop k_rop_softmax = {softmax_rop_forward, softmax_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_softmax(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    return dlx_layer_op(c, &dlx_op_softmax, c->in, 1, NULL, out, err);
}

static const dlx_key_doc k_keys[] = {{NULL}};
static const dlx_layer_def k_layers[] = {
    {"softmax", k_keys, "softmax over axis 1 (classes, channels)", 1, build_softmax},
};

static const dlx_op_example k_examples[] = {
    {.what = "softmax (N, K)", .attr = NULL, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 5), .lo = 0.05f, .hi = 3.0f}}},
    {.what = "softmax (N, K, H, W)", .attr = NULL, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 4, 2, 3)}}},
};

const dlx_op_vtbl dlx_op_softmax = {
    .name = "softmax",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = 0,
    .infer = softmax_infer,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_softmax,
};
