/* mul: y = x_0 * x_1 * ... * x_{k-1} element-wise, 2 <= k <= 8, all of one shape.
 *
 * Backward: dx_j = dy * prod_{i != j} x_i, the product of the other inputs
 * taken directly (no division by x_j, so zeros are fine); an input given
 * twice (mul(x, x)) gets both terms added, 2 x dy.
 * Saved for backward: nothing (the inputs are read again).
 * Non-differentiable points: none.
 */
#include <string.h>

#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_mul; /* its builder refers to it */

static void mul_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *y = n->out.data;
    int64_t len = n->out.numel;
    memcpy(y, n->in[0]->out.data, (size_t)len * sizeof(float));
    for (int k = 1; k < n->n_in; k++) {
        const float *x = n->in[k]->out.data;
        for (int64_t i = 0; i < len; i++)
            y[i] *= x[i];
    }
}

static void mul_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *dy = n->out.grad;
    int64_t len = n->out.numel;
    for (int k = 0; k < n->n_in; k++) {
        float *dx = n->in[k]->out.grad;
        if (!dx)
            continue;
        if (n->n_in == 2) { /* the common product of two (a square too): a loop the compiler vectorises */
            const float *other = n->in[1 - k]->out.data;
            for (int64_t i = 0; i < len; i++)
                dx[i] += dy[i] * other[i];
            continue;
        }
        /* k <= 8 inputs: the other factors one by one, in input order */
        for (int64_t i = 0; i < len; i++) {
            float p = dy[i];
            for (int j = 0; j < n->n_in; j++)
                if (j != k)
                    p *= n->in[j]->out.data[i];
            dx[i] += p;
        }
    }
}

/* ---- the R-operator (core/hvp.h): y = prod x_k,
 *   R{y} = sum_k R{x_k} prod_{j != k} x_j
 *   dx_k += g prod_{j != k} x_j
 *   R{dx_k} += R{g} prod_{j != k} x_j + g sum_{m != k} R{x_m} prod_{j != k, m} x_j */

/* the product of the inputs' values at i, leaving out inputs a and b (-1: none) */
static double prod_but(dlx_dual *const *in, int n_in, int64_t i, int a, int b)
{
    double p = 1.0;
    for (int j = 0; j < n_in; j++)
        if (j != a && j != b)
            p *= in[j]->v[i];
    return p;
}

static void mul_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    for (int64_t i = 0; i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            out->v[i] = prod_but(in, n->n_in, i, -1, -1);
        if (mode == DLX_ROP_VALUE)
            continue;
        double r = 0.0;
        for (int k = 0; k < n->n_in; k++)
            r += in[k]->r[i] * prod_but(in, n->n_in, i, k, -1);
        out->r[i] = r;
    }
}

static void mul_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    for (int k = 0; k < n->n_in; k++)
        for (int64_t i = 0; in[k]->g && i < out->numel; i++) {
            double others = prod_but(in, n->n_in, i, k, -1);
            if (mode != DLX_ROP_TANGENT)
                in[k]->g[i] += out->g[i] * others;
            if (mode == DLX_ROP_VALUE)
                continue;
            double r = 0.0;
            for (int m = 0; m < n->n_in; m++)
                if (m != k)
                    r += in[m]->r[i] * prod_but(in, n->n_in, i, k, m);
            in[k]->rg[i] += out->rg[i] * others + out->g[i] * r;
        }
}

static const dlx_op_rop k_rop_mul = {mul_rop_forward, mul_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_mul(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int rc = dlx_layer_need_inputs(c, 2, err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_mul, c->in, c->n_in, NULL, out, err);
}

static const dlx_key_doc k_keys[] = {{NULL}};
static const dlx_layer_def k_layers[] = {
    {"mul", k_keys, "element-wise product of inputs (gating)", DLX_MAX_INPUTS, build_mul},
};

static const dlx_op_example k_examples[] = {
    {.what = "mul of 2", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 5)}, {.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 5)}}},
    {.what = "mul of 3", .attr = NULL, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 3)}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(2, 2, 3)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2, 2, 3)}}},
};

const dlx_op_vtbl dlx_op_mul = {
    .name = "mul",
    .n_in_min = 2,
    .n_in_max = 8,
    .attr_size = 0,
    .infer = dlx_op_infer_same_shape,
    .forward = mul_forward,
    .backward = mul_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_mul,
};
