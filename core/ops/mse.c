/* mse: squared error between pred p and target t (same element count) -> (1).
 *
 *   DLX_MSE_MEAN:     loss = (1/numel) sum_i (p_i - t_i)^2,   dp = g * 2 (p - t) / numel
 *   DLX_MSE_HALF_SUM: loss = (1/N) sum_i 0.5 (p_i - t_i)^2,   dp = g * (p - t) / N
 * with N the first dimension of pred. Summed in double.
 * The target gets no gradient, even when it has a gradient buffer.
 * Saved for backward: nothing (recomputed from p and t).
 * Non-differentiable points: none.
 */
#include "ops.h"

static int mse_infer(dlx_node *n, dlx_err *err)
{
    const dlx_mse_attr *a = n->attr;
    if (a->mode != DLX_MSE_MEAN && a->mode != DLX_MSE_HALF_SUM)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "mode must be %d (mean) or %d (half_sum), got %d", DLX_MSE_MEAN,
                            DLX_MSE_HALF_SUM, (int)a->mode);
    const dlx_shape *p = &n->in[0]->out.shape, *t = &n->in[1]->out.shape;
    int64_t np = dlx_shape_numel(p), nt = dlx_shape_numel(t);
    if (np != nt) {
        char b0[64], b1[64];
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "prediction %s has %lld elements but target %s has %lld",
                            dlx_shape_str(p, b0, sizeof b0), (long long)np,
                            dlx_shape_str(t, b1, sizeof b1), (long long)nt);
    }
    n->out.shape = dlx_shape_1d(1);
    return 0;
}

/* The divisor of the summed squares, and the factor of the gradient. */
static void mse_scale(const dlx_node *n, double *div, double *gfac)
{
    const dlx_mse_attr *a = n->attr;
    const dlx_tensor *p = &n->in[0]->out;
    if (a->mode == DLX_MSE_MEAN) {
        *div = (double)p->numel;
        *gfac = 2.0 / (double)p->numel;
    } else {
        *div = 2.0 * (double)p->shape.d[0];
        *gfac = 1.0 / (double)p->shape.d[0];
    }
}

static void mse_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *p = n->in[0]->out.data, *t = n->in[1]->out.data;
    double sum = 0.0, div, gfac;
    for (int64_t i = 0; i < n->in[0]->out.numel; i++) {
        double d = (double)p[i] - (double)t[i];
        sum += d * d;
    }
    mse_scale(n, &div, &gfac);
    n->out.data[0] = (float)(sum / div);
}

static void mse_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dp = n->in[0]->out.grad;
    if (!dp)
        return;
    const float *p = n->in[0]->out.data, *t = n->in[1]->out.data;
    double div, gfac;
    mse_scale(n, &div, &gfac);
    float g = (float)(gfac * (double)n->out.grad[0]);
    for (int64_t i = 0; i < n->in[0]->out.numel; i++)
        dp[i] += g * (p[i] - t[i]);
}

/* ---- gradient-check cases ---- */

static const dlx_op_example k_examples[] = {
    {.what = "mse mean", .attr = &(dlx_mse_attr){DLX_MSE_MEAN}, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 4)}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(3, 2, 2, 1)}}},
    {.what = "mse half_sum", .attr = &(dlx_mse_attr){DLX_MSE_HALF_SUM}, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 4)}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(3, 2, 2, 1)}}},
};

/* ---- the R-operator (core/hvp.h), in double: with c = gfac,
 *   R{loss} = c sum (p - t)(R{p} - R{t}),  dp += c g (p - t),
 *   R{dp} += c (R{g} (p - t) + g (R{p} - R{t}));  the target still gets no gradient */

static void mse_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *p = in[0], *t = in[1];
    double div, gfac, sum = 0.0, rsum = 0.0;
    mse_scale(n, &div, &gfac);
    for (int64_t i = 0; i < p->numel; i++) {
        double d = p->v[i] - t->v[i];
        sum += d * d;
        if (mode != DLX_ROP_VALUE)
            rsum += d * ((p->constant ? 0.0 : p->r[i]) - (t->constant ? 0.0 : t->r[i]));
    }
    if (mode != DLX_ROP_TANGENT)
        out->v[0] = sum / div;
    if (mode != DLX_ROP_VALUE)
        out->r[0] = gfac * rsum;
}

static void mse_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *p = in[0], *t = in[1];
    if (!p->g)
        return;
    double div, gfac;
    mse_scale(n, &div, &gfac);
    const double g = gfac * out->g[0], rg = gfac * out->rg[0];
    for (int64_t i = 0; i < p->numel; i++) {
        double d = p->v[i] - t->v[i];
        if (mode != DLX_ROP_TANGENT)
            p->g[i] += g * d;
        if (mode != DLX_ROP_VALUE)
            p->rg[i] += rg * d + g * ((p->constant ? 0.0 : p->r[i]) - (t->constant ? 0.0 : t->r[i]));
    }
}

static const dlx_op_rop k_rop = {mse_rop_forward, mse_rop_backward, NULL};

const dlx_op_vtbl dlx_op_mse = {
    .name = "mse",
    .n_in_min = 2,
    .n_in_max = 2,
    .attr_size = sizeof(dlx_mse_attr),
    .infer = mse_infer,
    .forward = mse_forward,
    .backward = mse_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
