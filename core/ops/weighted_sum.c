/* weighted_sum: y = w_0 x_0 + w_1 x_1 + ... + w_{k-1} x_{k-1}, 1 <= k <= 8,
 * all of one shape; the weights are attributes (a loss made of weighted
 * named terms: train.losses). Summed left to right in float, so weights of
 * 1 give add's bits. Saved for backward: nothing (dx_i = w_i dy).
 * Non-differentiable points: none.
 */
#include <math.h>
#include <string.h>

#include "ops.h"

static int wsum_infer(dlx_node *n, dlx_err *err)
{
    const dlx_weighted_sum_attr *a = n->attr;
    for (int i = 0; i < n->n_in; i++)
        if (!isfinite(a->w[i]))
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "weight %d is not finite", i + 1);
    return dlx_op_infer_same_shape(n, err);
}

static void wsum_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_weighted_sum_attr *a = n->attr;
    float *y = n->out.data;
    const int64_t len = n->out.numel;
    const float *x0 = n->in[0]->out.data;
    for (int64_t i = 0; i < len; i++)
        y[i] = a->w[0] * x0[i];
    for (int k = 1; k < n->n_in; k++) {
        const float *x = n->in[k]->out.data, w = a->w[k];
        for (int64_t i = 0; i < len; i++)
            y[i] += w * x[i];
    }
}

static void wsum_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_weighted_sum_attr *a = n->attr;
    const float *dy = n->out.grad;
    for (int k = 0; k < n->n_in; k++) {
        float *dx = n->in[k]->out.grad;
        if (!dx)
            continue;
        const float w = a->w[k];
        for (int64_t i = 0; i < n->out.numel; i++)
            dx[i] += w * dy[i];
    }
}

/* ---- the R-operator (core/hvp.h): linear, R{y} = sum w_i R{x_i} ---- */

static void wsum_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_weighted_sum_attr *a = n->attr;
    for (int64_t i = 0; i < out->numel; i++) {
        double v = 0.0, r = 0.0;
        for (int k = 0; k < n->n_in; k++) {
            v += (double)a->w[k] * in[k]->v[i];
            r += (double)a->w[k] * in[k]->r[i];
        }
        if (mode != DLX_ROP_TANGENT)
            out->v[i] = v;
        if (mode != DLX_ROP_VALUE)
            out->r[i] = r;
    }
}

static void wsum_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_weighted_sum_attr *a = n->attr;
    for (int k = 0; k < n->n_in; k++)
        for (int64_t i = 0; in[k]->g && i < out->numel; i++) {
            if (mode != DLX_ROP_TANGENT)
                in[k]->g[i] += (double)a->w[k] * out->g[i];
            if (mode != DLX_ROP_VALUE)
                in[k]->rg[i] += (double)a->w[k] * out->rg[i];
        }
}

static const dlx_op_rop k_rop_weighted_sum = {wsum_rop_forward, wsum_rop_backward, NULL};

/* ---- gradient-check cases ---- */

static const dlx_op_example k_examples[] = {
    {.what = "weighted_sum of one", .attr = &(dlx_weighted_sum_attr){{0.5f}}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3)}}},
    {.what = "weighted_sum of three", .attr = &(dlx_weighted_sum_attr){{0.5f, -2.0f, 1.25f}}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3)}, {.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3)}, {.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3)}}},
};

const dlx_op_vtbl dlx_op_weighted_sum = {
    .name = "weighted_sum",
    .n_in_min = 1,
    .n_in_max = 8,
    .attr_size = sizeof(dlx_weighted_sum_attr),
    .infer = wsum_infer,
    .forward = wsum_forward,
    .backward = wsum_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_weighted_sum,
};
