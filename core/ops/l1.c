/* l1: mean absolute error between pred p and target t (same element count) -> (1).
 *
 *   loss = (1/numel) sum_i |p_i - t_i|,   dp_i = g sign(p_i - t_i) / numel
 *
 * Summed in double. The target gets no gradient, even when it has a gradient
 * buffer (as mse). Saved for backward: nothing (recomputed from p and t).
 * Non-differentiable points: p_i = t_i, where the subgradient 0 is taken
 * (PyTorch's choice too); a NaN difference gets no gradient either.
 */
#include <math.h>

#include "ops.h"

static int l1_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *p = &n->in[0]->out.shape, *t = &n->in[1]->out.shape;
    int64_t np = dlx_shape_numel(p), nt = dlx_shape_numel(t);
    char b0[64], b1[64];
    if (np != nt)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "l1: prediction %s has %lld elements but target %s has %lld",
                            dlx_shape_str(p, b0, sizeof b0), (long long)np, dlx_shape_str(t, b1, sizeof b1),
                            (long long)nt);
    if (np < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "l1: empty prediction %s", dlx_shape_str(p, b0, sizeof b0));
    n->out.shape = dlx_shape_1d(1);
    return 0;
}

static void l1_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *p = n->in[0]->out.data, *t = n->in[1]->out.data;
    const int64_t numel = n->in[0]->out.numel;
    double sum = 0.0;
    for (int64_t i = 0; i < numel; i++)
        sum += fabs((double)p[i] - (double)t[i]);
    n->out.data[0] = (float)(sum / (double)numel);
}

static void l1_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dp = n->in[0]->out.grad;
    if (!dp)
        return;
    const float *p = n->in[0]->out.data, *t = n->in[1]->out.data;
    const int64_t numel = n->in[0]->out.numel;
    const float g = (float)((double)n->out.grad[0] / (double)numel);
    for (int64_t i = 0; i < numel; i++)
        dp[i] += p[i] > t[i] ? g : p[i] < t[i] ? -g : 0.0f;
}

/* ---- the R-operator (core/hvp.h): with s = sign(p - t),
 *   R{loss} = (1/n) sum s (R{p} - R{t}),  dp += g s / n,  R{dp} += R{g} s / n
 * (no curvature off the kinks; the target still gets no gradient) */

static double sign_of(double d)
{
    return d > 0.0 ? 1.0 : d < 0.0 ? -1.0 : 0.0;
}

static void l1_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    const dlx_dual *p = in[0], *t = in[1];
    double sum = 0.0, rsum = 0.0;
    for (int64_t i = 0; i < p->numel; i++) {
        double d = p->v[i] - t->v[i];
        sum += fabs(d);
        rsum += sign_of(d) * (p->r[i] - t->r[i]);
    }
    if (mode != DLX_ROP_TANGENT)
        out->v[0] = sum / (double)p->numel;
    if (mode != DLX_ROP_VALUE)
        out->r[0] = rsum / (double)p->numel;
}

static void l1_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    const dlx_dual *p = in[0], *t = in[1];
    if (!p->g)
        return;
    for (int64_t i = 0; i < p->numel; i++) {
        double s = sign_of(p->v[i] - t->v[i]) / (double)p->numel;
        if (mode != DLX_ROP_TANGENT)
            p->g[i] += out->g[0] * s;
        if (mode != DLX_ROP_VALUE)
            p->rg[i] += out->rg[0] * s;
    }
}

static const dlx_op_rop k_rop_l1 = {l1_rop_forward, l1_rop_backward, NULL};

/* ---- gradient-check cases ---- */

/* |p| in [0.5, 1] and |t| in [0.05, 0.3], both signs: |p - t| >= 0.2, far
 * from the kink for the finite differences */
static const dlx_op_example k_examples[] = {
    {.what = "l1 (N, K)", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 5), .lo = 0.5f, .hi = 1.0f}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(4, 5), .lo = 0.05f, .hi = 0.3f}}},
    {.what = "l1 other shapes", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 2, 1), .lo = 0.5f, .hi = 1.0f}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(3, 4), .lo = 0.05f, .hi = 0.3f}}},
    {.what = "l1 of a parameter", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2, 3), .lo = 0.5f, .hi = 1.0f}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(6), .lo = 0.05f, .hi = 0.3f}}},
};

const dlx_op_vtbl dlx_op_l1 = {
    .name = "l1",
    .n_in_min = 2,
    .n_in_max = 2,
    .attr_size = 0,
    .infer = l1_infer,
    .forward = l1_forward,
    .backward = l1_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_l1,
};
