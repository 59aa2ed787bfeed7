/* scale and affine: element-wise y = a x + b, with constant or learned a, b.
 *
 *   scale   in: x (any shape) -> same shape, y = a x + b with the constants
 *           attr.scale (a) and attr.shift (b); dx = a dy.
 *   affine  in: x (N, C, ...), gamma (C), [beta (C)] -> same shape as x,
 *           y[n,c,i] = gamma[c] x[n,c,i] + beta[c] (channel axis 1, i over the
 *           trailing dimensions; no beta: beta = 0).
 *           dx = gamma[c] dy, dgamma[c] = sum_{n,i} dy x, dbeta[c] = sum_{n,i} dy;
 *           the per-channel sums run in double, in a fixed order.
 * Saved for backward: nothing (x and the parameters are read again).
 * Non-differentiable points: none.
 */
#include <float.h>
#include <math.h>

#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_scale, dlx_op_affine; /* the builders refer to them */

/* ---- scale ---- */

static int scale_infer(dlx_node *n, dlx_err *err)
{
    const dlx_scale_attr *a = n->attr;
    if (!isfinite(a->scale) || !isfinite(a->shift))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "scale and shift must be finite, got %g and %g",
                            (double)a->scale, (double)a->shift);
    n->out.shape = n->in[0]->out.shape;
    return 0;
}

static void scale_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_scale_attr *a = n->attr;
    const float *x = n->in[0]->out.data;
    float *y = n->out.data;
    const float s = a->scale, b = a->shift;
    for (int64_t i = 0; i < n->out.numel; i++)
        y[i] = s * x[i] + b;
}

static void scale_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    const float s = ((const dlx_scale_attr *)n->attr)->scale, *dy = n->out.grad;
    for (int64_t i = 0; i < n->out.numel; i++)
        dx[i] += s * dy[i];
}

/* ---- the R-operator of scale (core/hvp.h): R{y} = scale R{x} ---- */

static void scale_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_scale_attr *a = n->attr;
    for (int64_t i = 0; i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            out->v[i] = (double)a->scale * in[0]->v[i] + (double)a->shift;
        if (mode != DLX_ROP_VALUE)
            out->r[i] = (double)a->scale * in[0]->r[i];
    }
}

static void scale_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const double s = ((const dlx_scale_attr *)n->attr)->scale;
    for (int64_t i = 0; in[0]->g && i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            in[0]->g[i] += s * out->g[i];
        if (mode != DLX_ROP_VALUE)
            in[0]->rg[i] += s * out->rg[i];
    }
}

static const dlx_op_rop k_rop_scale = {scale_rop_forward, scale_rop_backward, NULL};

/* ---- affine ---- */

static int affine_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *x = &n->in[0]->out.shape;
    char a[64], b[64];
    if (x->ndim < 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "x must be [N, C, ...] (channels on axis 1), got %s",
                            dlx_shape_str(x, a, sizeof a));
    for (int i = 1; i < n->n_in; i++) {
        const dlx_shape *p = &n->in[i]->out.shape;
        if (p->ndim != 1 || p->d[0] != x->d[1])
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s must have shape [%lld] (one per channel), got %s",
                                i == 1 ? "gamma" : "beta", (long long)x->d[1], dlx_shape_str(p, b, sizeof b));
    }
    n->out.shape = *x;
    return 0;
}

/* Floats per (sample, channel): the product of the dims after axis 1. */
static int64_t affine_inner(const dlx_node *n)
{
    const dlx_shape *s = &n->in[0]->out.shape;
    int64_t inner = 1; /* a product, not numel / (N C): N or C may be 0 */
    for (int i = 2; i < s->ndim; i++)
        inner *= s->d[i];
    return inner;
}

static void affine_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *x = n->in[0]->out.data, *g = n->in[1]->out.data;
    const float *be = n->n_in > 2 ? n->in[2]->out.data : NULL;
    float *y = n->out.data;
    int64_t nb = n->out.shape.d[0], nc = n->out.shape.d[1], inner = affine_inner(n);
    for (int64_t s = 0; s < nb; s++)
        for (int64_t c = 0; c < nc; c++) {
            const float gc = g[c], bc = be ? be[c] : 0.0f;
            const float *xr = x + (s * nc + c) * inner;
            float *yr = y + (s * nc + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                yr[i] = gc * xr[i] + bc;
        }
}

static void affine_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *x = n->in[0]->out.data, *g = n->in[1]->out.data, *dy = n->out.grad;
    float *dx = n->in[0]->out.grad, *dg = n->in[1]->out.grad;
    float *db = n->n_in > 2 ? n->in[2]->out.grad : NULL;
    int64_t nb = n->out.shape.d[0], nc = n->out.shape.d[1], inner = affine_inner(n);
    for (int64_t c = 0; c < nc; c++) {
        double sg = 0.0, sb = 0.0;
        for (int64_t s = 0; s < nb; s++) {
            int64_t off = (s * nc + c) * inner;
            for (int64_t i = 0; i < inner; i++) {
                sg += (double)dy[off + i] * (double)x[off + i];
                sb += (double)dy[off + i];
            }
            if (dx)
                for (int64_t i = 0; i < inner; i++)
                    dx[off + i] += g[c] * dy[off + i];
        }
        if (dg)
            dg[c] += (float)sg;
        if (db)
            db[c] += (float)sb;
    }
}

/* ---- the R-operator of affine (core/hvp.h): y = g_c x + b_c,
 *   R{y} = R{g_c} x + g_c R{x} + R{b_c}
 *   R{dx} += R{g_c} dy + g_c R{dy},  R{dg_c} += sum (R{dy} x + dy R{x}),  R{db_c} += sum R{dy} */

static void affine_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *x = in[0], *g = in[1], *b = n->n_in > 2 ? in[2] : NULL;
    int64_t nb = n->out.shape.d[0], nc = n->out.shape.d[1], inner = affine_inner(n);
    for (int64_t s = 0; s < nb; s++)
        for (int64_t c = 0; c < nc; c++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t j = (s * nc + c) * inner + i;
                if (mode != DLX_ROP_TANGENT)
                    out->v[j] = g->v[c] * x->v[j] + (b ? b->v[c] : 0.0);
                if (mode != DLX_ROP_VALUE)
                    out->r[j] = g->r[c] * x->v[j] + g->v[c] * x->r[j] + (b ? b->r[c] : 0.0);
            }
}

static void affine_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *x = in[0], *g = in[1], *b = n->n_in > 2 ? in[2] : NULL;
    int64_t nb = n->out.shape.d[0], nc = n->out.shape.d[1], inner = affine_inner(n);
    for (int64_t s = 0; s < nb; s++)
        for (int64_t c = 0; c < nc; c++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t j = (s * nc + c) * inner + i;
                if (mode != DLX_ROP_TANGENT) {
                    if (x->g)
                        x->g[j] += g->v[c] * out->g[j];
                    if (g->g)
                        g->g[c] += out->g[j] * x->v[j];
                    if (b && b->g)
                        b->g[c] += out->g[j];
                }
                if (mode == DLX_ROP_VALUE)
                    continue;
                if (x->rg)
                    x->rg[j] += g->r[c] * out->g[j] + g->v[c] * out->rg[j];
                if (g->rg)
                    g->rg[c] += out->rg[j] * x->v[j] + out->g[j] * x->r[j];
                if (b && b->rg)
                    b->rg[c] += out->rg[j];
            }
}

static const dlx_op_rop k_rop_affine = {affine_rop_forward, affine_rop_backward, NULL};

/* ---- layer types and gradient-check cases ---- */

static int build_scale(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    double s, b;
    int rc = dlx_spec_float(c->entry, "scale", false, 1.0, -FLT_MAX, FLT_MAX, &s, err);
    if (!rc) rc = dlx_spec_float(c->entry, "shift", false, 0.0, -FLT_MAX, FLT_MAX, &b, err);
    dlx_scale_attr a = {.scale = (float)s, .shift = (float)b};
    return rc ? rc : dlx_layer_op(c, &dlx_op_scale, c->in, 1, &a, out, err);
}

static int build_affine(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    bool bias;
    int rc = dlx_spec_bool(c->entry, "bias", false, true, &bias, err);
    if (rc)
        return rc;
    const dlx_node *x = c->in[0];
    if (x->out.shape.ndim < 2)
        return dlx_layer_fail(c, err, "affine needs an input of shape [N, C, ...], got %d dimension(s)",
                              x->out.shape.ndim);
    int64_t ch = x->out.shape.d[1];
    dlx_node *in[3] = {c->in[0]};
    /* gamma starts at 1 and beta at 0: the layer starts as the identity */
    rc = dlx_layer_param(c, "weight", dlx_shape_1d(ch), (dlx_init){.kind = DLX_INIT_CONST, .a = 1.0f}, false,
                         &in[1], err);
    if (!rc && bias)
        rc = dlx_layer_param(c, "bias", dlx_shape_1d(ch), (dlx_init){.kind = DLX_INIT_ZERO}, false, &in[2], err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_affine, in, bias ? 3 : 2, NULL, out, err);
}

static const dlx_key_doc k_scale_keys[] = {
    {"scale", "number", "1", "any float32", "the constant factor"},
    {"shift", "number", "0", "any float32", "the constant added"},
    {NULL},
};
static const dlx_layer_def k_scale_layers[] = {
    {"scale", k_scale_keys, "scale x + shift, constants (default 1 and 0)", 1, build_scale},
};

static const dlx_key_doc k_affine_keys[] = {
    {"bias", "bool", "true", "", "learn beta too (else gamma only)"},
    {NULL},
};
static const dlx_layer_def k_affine_layers[] = {
    {"affine", k_affine_keys, "learned per-channel gamma[c] x + beta[c] (axis 1); bias", 1, build_affine},
};

static const dlx_op_example k_scale_examples[] = {
    {.what = "scale -1.5 x + 0.25", .attr = &(dlx_scale_attr){.scale = -1.5f, .shift = 0.25f}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 2)}}},
    {.what = "scale 2 x", .attr = &(dlx_scale_attr){.scale = 2.0f, .shift = 0.0f}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 5)}}},
};

static const dlx_op_example k_affine_examples[] = {
    {.what = "affine (N, C, H, W)", .attr = NULL, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 2, 2)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3)}}},
    {.what = "affine (N, C) without beta", .attr = NULL, .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(5)}}},
};

const dlx_op_vtbl dlx_op_scale = {
    .name = "scale",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_scale_attr),
    .infer = scale_infer,
    .forward = scale_forward,
    .backward = scale_backward,
    .layers = k_scale_layers,
    .n_layers = (int)(sizeof k_scale_layers / sizeof k_scale_layers[0]),
    .examples = k_scale_examples,
    .n_examples = (int)(sizeof k_scale_examples / sizeof k_scale_examples[0]),
    .rop = &k_rop_scale,
};

const dlx_op_vtbl dlx_op_affine = {
    .name = "affine",
    .n_in_min = 2,
    .n_in_max = 3,
    .attr_size = 0,
    .infer = affine_infer,
    .forward = affine_forward,
    .backward = affine_backward,
    .layers = k_affine_layers,
    .n_layers = (int)(sizeof k_affine_layers / sizeof k_affine_layers[0]),
    .examples = k_affine_examples,
    .n_examples = (int)(sizeof k_affine_examples / sizeof k_affine_examples[0]),
    .rop = &k_rop_affine,
};
