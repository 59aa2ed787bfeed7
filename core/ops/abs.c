/* abs: y = |x| element-wise, any shape.
 *
 * Backward: dx = sign(x) dy. Non-differentiable point: x = 0, where the
 * subgradient 0 is used (sign(0) = 0). Saved for backward: nothing (x is
 * read again; y alone cannot tell the sign).
 */
#include <math.h>

#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_abs; /* its builder refers to it */

static int abs_infer(dlx_node *n, dlx_err *err)
{
    (void)err;
    n->out.shape = n->in[0]->out.shape;
    return 0;
}

static void abs_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *x = n->in[0]->out.data;
    float *y = n->out.data;
    for (int64_t i = 0; i < n->out.numel; i++)
        y[i] = fabsf(x[i]);
}

static void abs_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    const float *x = n->in[0]->out.data, *dy = n->out.grad;
    for (int64_t i = 0; i < n->out.numel; i++)
        dx[i] += x[i] > 0.0f ? dy[i] : x[i] < 0.0f ? -dy[i] : 0.0f;
}

/* ---- the R-operator (core/hvp.h): R{y} = sign(x) R{x}; no curvature off x = 0 ---- */

static double sign64(double x)
{
    return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0;
}

static void abs_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    for (int64_t i = 0; i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            out->v[i] = fabs(in[0]->v[i]);
        if (mode != DLX_ROP_VALUE)
            out->r[i] = sign64(in[0]->v[i]) * in[0]->r[i];
    }
}

static void abs_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    for (int64_t i = 0; in[0]->g && i < out->numel; i++) {
        double s = sign64(in[0]->v[i]);
        if (mode != DLX_ROP_TANGENT)
            in[0]->g[i] += s * out->g[i];
        if (mode != DLX_ROP_VALUE)
            in[0]->rg[i] += s * out->rg[i];
    }
}

static const dlx_op_rop k_rop_abs = {abs_rop_forward, abs_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_abs(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    return dlx_layer_op(c, &dlx_op_abs, c->in, 1, NULL, out, err);
}

static const dlx_key_doc k_keys[] = {{NULL}};
static const dlx_layer_def k_layers[] = {
    {"abs", k_keys, "|x|", 1, build_abs},
};

/* magnitudes in [0.1, 1] with random signs: no input near the kink at 0 */
static const dlx_op_example k_examples[] = {
    {.what = "abs", .attr = NULL, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 7), .lo = 0.1f, .hi = 1.0f}}},
    {.what = "abs of a parameter", .attr = NULL, .n_in = 1, .in = {{.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2, 3, 2, 2), .lo = 0.1f, .hi = 0.6f}}},
};

const dlx_op_vtbl dlx_op_abs = {
    .name = "abs",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = 0,
    .infer = abs_infer,
    .forward = abs_forward,
    .backward = abs_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_abs,
};
