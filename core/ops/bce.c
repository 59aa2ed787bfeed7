/* bce_logits: binary cross-entropy of logits l against a constant target t
 * in [0, 1] (attr), averaged over every element -> (1):
 *
 *   loss = (1/numel) sum_i max(l_i, 0) - l_i t + log(1 + exp(-|l_i|))
 *   dl_i = g (sigmoid(l_i) - t) / numel
 *
 * PyTorch's binary_cross_entropy_with_logits, in its overflow-free form;
 * summed in double. A GAN's discriminator losses are bce(D(x), 1) and
 * bce(D(G(z)), 0); the generator's non-saturating loss bce(D(G(z)), 1).
 * Saved for backward: nothing. Non-differentiable points: none.
 *
 * bce_logits_target: the same with a target per element, (logits l, targets
 * t) of one element count -> (1) (a classifier's one-hot labels):
 *
 *   loss = (1/numel) sum_i max(l_i, 0) - l_i t_i + log(1 + exp(-|l_i|))
 *   dl_i = g (sigmoid(l_i) - t_i) / numel;   t gets no gradient
 *
 * Targets are data: forward cannot reject them, so a target outside [0, 1]
 * gives the formula's value (as PyTorch does), NaN gives NaN.
 */
#include <math.h>

#include "../vmath.h"
#include "ops.h"

static int bce_infer(dlx_node *n, dlx_err *err)
{
    const dlx_bce_attr *a = n->attr;
    if (!(a->target >= 0.0f && a->target <= 1.0f))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "bce_logits: the target must lie in [0, 1], got %g",
                            (double)a->target);
    if (n->in[0]->out.numel < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "bce_logits: no logits");
    n->out.shape = dlx_shape_1d(1);
    return 0;
}

static void bce_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_bce_attr *a = n->attr;
    const float *l = n->in[0]->out.data;
    const int64_t numel = n->in[0]->out.numel;
    double sum = 0.0, t = a->target;
    for (int64_t i = 0; i < numel; i++) {
        double x = l[i];
        sum += (x > 0 ? x : 0.0) - x * t + log1p(exp(-fabs(x)));
    }
    n->out.data[0] = (float)(sum / (double)numel);
}

static void bce_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dl = n->in[0]->out.grad;
    if (!dl)
        return;
    const dlx_bce_attr *a = n->attr;
    const float *l = n->in[0]->out.data;
    const int64_t numel = n->in[0]->out.numel;
    const float g = (float)((double)n->out.grad[0] / (double)numel);
    for (int64_t i = 0; i < numel; i++) {
        float s = dlx_sigmoid(l[i]);
        dl[i] += g * (s - a->target);
    }
}

/* ---- the R-operator of both (core/hvp.h), in double: with s = sigmoid(l),
 *   R{loss} = (1/n) sum (s - t) R{l} - l R{t}
 *   dl += g (s - t) / n,  R{dl} += (R{g} (s - t) + g (s (1 - s) R{l} - R{t})) / n
 * t: attr.target (R{t} = 0) or the second input; t gets no gradient. */

static void bce_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *l = in[0], *tt = n->n_in > 1 ? in[1] : NULL;
    const double tc = n->n_in > 1 ? 0.0 : ((const dlx_bce_attr *)n->attr)->target;
    double sum = 0.0, rsum = 0.0;
    for (int64_t i = 0; i < l->numel; i++) {
        double x = l->v[i], t = tt ? tt->v[i] : tc, s = 1.0 / (1.0 + exp(-x));
        sum += (x > 0 ? x : 0.0) - x * t + log1p(exp(-fabs(x)));
        if (mode != DLX_ROP_VALUE)
            rsum += (s - t) * l->r[i] - (tt ? x * tt->r[i] : 0.0);
    }
    if (mode != DLX_ROP_TANGENT)
        out->v[0] = sum / (double)l->numel;
    if (mode != DLX_ROP_VALUE)
        out->r[0] = rsum / (double)l->numel;
}

static void bce_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *l = in[0], *tt = n->n_in > 1 ? in[1] : NULL;
    if (!l->g)
        return;
    const double tc = n->n_in > 1 ? 0.0 : ((const dlx_bce_attr *)n->attr)->target;
    const double g = out->g[0] / (double)l->numel, rg = out->rg[0] / (double)l->numel;
    for (int64_t i = 0; i < l->numel; i++) {
        double t = tt ? tt->v[i] : tc, s = 1.0 / (1.0 + exp(-l->v[i]));
        if (mode != DLX_ROP_TANGENT)
            l->g[i] += g * (s - t);
        if (mode != DLX_ROP_VALUE)
            l->rg[i] += rg * (s - t) + g * (s * (1.0 - s) * l->r[i] - (tt ? tt->r[i] : 0.0));
    }
}

static const dlx_op_rop k_rop_bce = {bce_rop_forward, bce_rop_backward, NULL};

/* ---- gradient-check cases ---- */

/* logits of both signs up to large magnitudes */
static const dlx_op_example k_examples[] = {
    {.what = "bce_logits target 1", .attr = &(dlx_bce_attr){1.0f}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(5, 3), .lo = 0.05f, .hi = 6.3f}}},
    {.what = "bce_logits target 0", .attr = &(dlx_bce_attr){0.0f}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(5, 3), .lo = 0.05f, .hi = 6.3f}}},
    {.what = "bce_logits target 0.3", .attr = &(dlx_bce_attr){0.3f}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(5, 3), .lo = 0.05f, .hi = 6.3f}}},
};

const dlx_op_vtbl dlx_op_bce_logits = {
    .name = "bce_logits",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_bce_attr),
    .infer = bce_infer,
    .forward = bce_forward,
    .backward = bce_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_bce,
};

/* ---- bce_logits_target ---- */

static int bce_target_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *l = &n->in[0]->out.shape, *t = &n->in[1]->out.shape;
    int64_t nl = dlx_shape_numel(l), nt = dlx_shape_numel(t);
    char b0[64], b1[64];
    if (nl != nt)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "bce_logits_target: logits %s have %lld elements but targets %s have %lld",
                            dlx_shape_str(l, b0, sizeof b0), (long long)nl, dlx_shape_str(t, b1, sizeof b1),
                            (long long)nt);
    if (nl < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "bce_logits_target: no logits");
    n->out.shape = dlx_shape_1d(1);
    return 0;
}

static void bce_target_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *l = n->in[0]->out.data, *t = n->in[1]->out.data;
    const int64_t numel = n->in[0]->out.numel;
    double sum = 0.0;
    for (int64_t i = 0; i < numel; i++) {
        double x = l[i];
        sum += (x > 0 ? x : 0.0) - x * (double)t[i] + log1p(exp(-fabs(x)));
    }
    n->out.data[0] = (float)(sum / (double)numel);
}

static void bce_target_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dl = n->in[0]->out.grad;
    if (!dl)
        return;
    const float *l = n->in[0]->out.data, *t = n->in[1]->out.data;
    const int64_t numel = n->in[0]->out.numel;
    const float g = (float)((double)n->out.grad[0] / (double)numel);
    for (int64_t i = 0; i < numel; i++) {
        float s = dlx_sigmoid(l[i]);
        dl[i] += g * (s - t[i]);
    }
}

/* targets in [0.05, 1] (soft labels), logits of both signs up to large magnitudes */
static const dlx_op_example k_target_examples[] = {
    {.what = "bce_logits_target (N, K)", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(5, 3), .lo = 0.05f, .hi = 6.3f}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(5, 3), .positive = true}}},
    {.what = "bce_logits_target other shapes", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 1, 1)}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(2, 3), .positive = true}}},
};

const dlx_op_vtbl dlx_op_bce_logits_target = {
    .name = "bce_logits_target",
    .n_in_min = 2,
    .n_in_max = 2,
    .attr_size = 0,
    .infer = bce_target_infer,
    .forward = bce_target_forward,
    .backward = bce_target_backward,
    .examples = k_target_examples,
    .n_examples = (int)(sizeof k_target_examples / sizeof k_target_examples[0]),
    .rop = &k_rop_bce,
};
