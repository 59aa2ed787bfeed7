/* dropout: y = x * m / (1 - rate), m_i = [u_i >= rate], in training only.
 *
 * Shapes: any; y has the shape of x. Outside training y = x.
 * u_i = dlx_rng_uniform_at(seed, DLX_STREAM_DROPOUT + (node id << 8), step * numel + i):
 * a pure function of (seed, node, step, element), so the same step gives the
 * same mask on every call (gradient checks rely on that) and on every thread count.
 * Saved for backward: the per-element factor (0 or 1/(1-rate); 1 outside
 * training) in scratch, numel floats.
 * Non-differentiable points: none (the mask is a constant of the step).
 */
#include <string.h>

#include "../rng.h"
#include "../layer_build.h"
#include "ops.h"

static int dropout_infer(dlx_node *n, dlx_err *err)
{
    const dlx_dropout_attr *a = n->attr;
    if (!(a->rate >= 0.0f && a->rate < 1.0f))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "rate must be in [0, 1), got %g",
                            (double)a->rate);
    n->out.shape = n->in[0]->out.shape;
    n->scratch_floats = (size_t)dlx_shape_numel(&n->out.shape);
    return 0;
}

static void dropout_forward(dlx_node *n, const dlx_ctx *ctx)
{
    const dlx_dropout_attr *a = n->attr;
    const float *x = n->in[0]->out.data;
    float *y = n->out.data, *s = n->scratch;
    int64_t len = n->out.numel;
    if (!ctx->training || a->rate == 0.0f) {
        memcpy(y, x, (size_t)len * sizeof(float));
        for (int64_t i = 0; i < len; i++)
            s[i] = 1.0f;
        return;
    }
    uint64_t stream = DLX_STREAM_DROPOUT + ((uint64_t)n->id << 8);
    uint64_t base = ctx->step * (uint64_t)len;
    float keep = 1.0f / (1.0f - a->rate);
    dlx_rng_uniform_fill(ctx->seed, stream, base, s, len); /* u_i, then the factor in place */
    for (int64_t i = 0; i < len; i++) {
        s[i] = s[i] < a->rate ? 0.0f : keep;
        y[i] = x[i] * s[i];
    }
}

static void dropout_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    const float *dy = n->out.grad, *s = n->scratch;
    for (int64_t i = 0; i < n->out.numel; i++)
        dx[i] += dy[i] * s[i];
}

/* ---- the R-operator (core/hvp.h): linear with the float forward's factor
 * m_i (the same counter-based draw at the dual's context), R{y} = m R{x},
 * R{dx} += m R{dy} ---- */

/* The factor of element i under ctx: dropout_forward's, in double. */
static double factor_at(const dlx_node *n, const dlx_ctx *ctx, int64_t i)
{
    const dlx_dropout_attr *a = n->attr;
    if (!ctx->training || a->rate == 0.0f)
        return 1.0;
    uint64_t stream = DLX_STREAM_DROPOUT + ((uint64_t)n->id << 8);
    uint64_t at = ctx->step * (uint64_t)n->out.numel + (uint64_t)i;
    return dlx_rng_uniform_at(ctx->seed, stream, at) < a->rate ? 0.0 : (double)(1.0f / (1.0f - a->rate));
}

static void dropout_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    double *m = out->scratch;
    if (mode != DLX_ROP_TANGENT)
        for (int64_t i = 0; i < out->numel; i++) {
            m[i] = factor_at(n, out->ctx, i);
            out->v[i] = m[i] * in[0]->v[i];
        }
    if (mode != DLX_ROP_VALUE)
        for (int64_t i = 0; i < out->numel; i++)
            out->r[i] = m[i] * in[0]->r[i];
}

static void dropout_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    const double *m = out->scratch;
    for (int64_t i = 0; in[0]->g && i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            in[0]->g[i] += m[i] * out->g[i];
        if (mode != DLX_ROP_VALUE)
            in[0]->rg[i] += m[i] * out->rg[i];
    }
}

static const dlx_op_rop k_rop = {dropout_rop_forward, dropout_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_dropout(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    double rate;
    int rc = dlx_spec_float(c->entry, "rate", false, 0.5, 0.0, 0.99, &rate, err);
    dlx_dropout_attr a = {.rate = (float)rate};
    return rc ? rc : dlx_layer_op(c, &dlx_op_dropout, c->in, 1, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"rate", "number", "0.5", "0 to 0.99", "probability that an element is zeroed while training"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"dropout", k_keys, "zero with probability rate while training", 1, build_dropout},
};

static const dlx_op_example k_examples[] = {
    {.what = "dropout inference", .attr = &(dlx_dropout_attr){0.3f}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 16)}}},
    {.what = "dropout training", .attr = &(dlx_dropout_attr){0.3f}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 16)}}, .training = true},
};

const dlx_op_vtbl dlx_op_dropout = {
    .name = "dropout",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_dropout_attr),
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .random = true,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
