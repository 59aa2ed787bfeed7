/* add: y = x_0 + x_1 + ... + x_{k-1}, 2 <= k <= 8, all of one shape.
 *
 * Used for residual connections. Saved for backward: nothing (dx_i = dy).
 * Non-differentiable points: none.
 */
#include <string.h>

#include "../layer_build.h"
#include "ops.h"

int dlx_op_infer_same_shape(dlx_node *n, dlx_err *err)
{
    const dlx_shape *s0 = &n->in[0]->out.shape;
    for (int i = 1; i < n->n_in; i++) {
        if (!dlx_shape_eq(s0, &n->in[i]->out.shape)) {
            char a[64], b[64];
            return dlx_err_setf(err, DLX_EINVAL, n->loc,
                                "all inputs must have one shape, but input 1 is %s and input %d is %s",
                                dlx_shape_str(s0, a, sizeof a), i + 1,
                                dlx_shape_str(&n->in[i]->out.shape, b, sizeof b));
        }
    }
    n->out.shape = *s0;
    return 0;
}

static void add_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *y = n->out.data;
    int64_t len = n->out.numel;
    memcpy(y, n->in[0]->out.data, (size_t)len * sizeof(float));
    for (int k = 1; k < n->n_in; k++) {
        const float *x = n->in[k]->out.data;
        for (int64_t i = 0; i < len; i++)
            y[i] += x[i];
    }
}

static void add_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *dy = n->out.grad;
    for (int k = 0; k < n->n_in; k++) {
        float *dx = n->in[k]->out.grad;
        if (!dx)
            continue;
        for (int64_t i = 0; i < n->out.numel; i++)
            dx[i] += dy[i];
    }
}

/* ---- the R-operator (core/hvp.h): linear, so R{y} = sum R{x_i}, R{dx_i} += R{dy} ---- */

static void add_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    for (int64_t i = 0; i < out->numel; i++) {
        double v = 0.0, r = 0.0;
        for (int k = 0; k < n->n_in; k++) {
            v += in[k]->v[i];
            r += in[k]->constant ? 0.0 : in[k]->r[i];
        }
        if (mode != DLX_ROP_TANGENT)
            out->v[i] = v;
        if (mode != DLX_ROP_VALUE)
            out->r[i] = r;
    }
}

static void add_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    for (int k = 0; k < n->n_in; k++) {
        if (!in[k]->g)
            continue;
        for (int64_t i = 0; i < out->numel; i++) {
            if (mode != DLX_ROP_TANGENT)
                in[k]->g[i] += out->g[i];
            if (mode != DLX_ROP_VALUE)
                in[k]->rg[i] += out->rg[i];
        }
    }
}

static const dlx_op_rop k_rop = {add_rop_forward, add_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_add(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int rc = dlx_layer_need_inputs(c, 2, err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_add, c->in, c->n_in, NULL, out, err);
}

static const dlx_key_doc k_keys[] = {{NULL}};
static const dlx_layer_def k_layers[] = {
    {"add", k_keys, "sum of inputs (residual connections)", DLX_MAX_INPUTS, build_add},
};

static const dlx_op_example k_examples[] = {
    {.what = "add of 3", .attr = NULL, .n_in = 3, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 5)}, {.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3, 5)}}},
    {.what = "add of 2", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 3)}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(2, 2, 3)}}},
};

const dlx_op_vtbl dlx_op_add = {
    .name = "add",
    .n_in_min = 2,
    .n_in_max = 8,
    .attr_size = 0,
    .infer = dlx_op_infer_same_shape,
    .forward = add_forward,
    .backward = add_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
