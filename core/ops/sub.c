/* sub: y = a - b element-wise, a and b of one shape (a residual, a
 * reconstruction error before a square or an absolute value).
 *
 * Backward: da = dy, db = -dy. Saved for backward: nothing.
 * Non-differentiable points: none.
 */
#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_sub; /* its builder refers to it */

static void sub_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *a = n->in[0]->out.data, *b = n->in[1]->out.data;
    float *y = n->out.data;
    for (int64_t i = 0; i < n->out.numel; i++)
        y[i] = a[i] - b[i];
}

static void sub_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *dy = n->out.grad;
    float *da = n->in[0]->out.grad, *db = n->in[1]->out.grad;
    for (int64_t i = 0; da && i < n->out.numel; i++)
        da[i] += dy[i];
    for (int64_t i = 0; db && i < n->out.numel; i++)
        db[i] -= dy[i];
}

/* ---- the R-operator (core/hvp.h): linear, R{y} = R{a} - R{b} ---- */

static void sub_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    for (int64_t i = 0; i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            out->v[i] = in[0]->v[i] - in[1]->v[i];
        if (mode != DLX_ROP_VALUE)
            out->r[i] = in[0]->r[i] - in[1]->r[i];
    }
}

static void sub_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    for (int k = 0; k < 2; k++) {
        const double s = k ? -1.0 : 1.0;
        for (int64_t i = 0; in[k]->g && i < out->numel; i++) {
            if (mode != DLX_ROP_TANGENT)
                in[k]->g[i] += s * out->g[i];
            if (mode != DLX_ROP_VALUE)
                in[k]->rg[i] += s * out->rg[i];
        }
    }
}

static const dlx_op_rop k_rop_sub = {sub_rop_forward, sub_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_sub(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    if (c->n_in != 2)
        return dlx_layer_fail(c, err, "sub takes two inputs, a - b: give them with inputs: [a, b]");
    return dlx_layer_op(c, &dlx_op_sub, c->in, 2, NULL, out, err);
}

static const dlx_key_doc k_keys[] = {{NULL}};
static const dlx_layer_def k_layers[] = {
    {"sub", k_keys, "difference of two inputs, inputs: [a, b] -> a - b", 2, build_sub},
};

static const dlx_op_example k_examples[] = {
    {.what = "sub", .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 4)}, {.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 4)}}},
    {.what = "sub of a parameter from data", .n_in = 2,
     .in = {{.role = DLX_EX_DATA, .shape = DLX_SHAPE(2, 3, 2)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2, 3, 2)}}},
};

const dlx_op_vtbl dlx_op_sub = {
    .name = "sub",
    .n_in_min = 2,
    .n_in_max = 2,
    .infer = dlx_op_infer_same_shape,
    .forward = sub_forward,
    .backward = sub_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_sub,
};
