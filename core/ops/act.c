/* Element-wise activations, shared by the standalone "act" op and the
 * activations fused into linear and conv2d.
 *
 *   relu        y = max(x, 0)                 dy/dx = y > 0
 *   tanh        y = tanh(x)                   dy/dx = 1 - y^2
 *   sigmoid     y = 1 / (1 + exp(-x))         dy/dx = y (1 - y)
 *   leaky_relu  y = x > 0 ? x : alpha x       dy/dx = y > 0 ? 1 : alpha
 *   lecun_tanh  y = A tanh(2x/3), A = 1.7159  dy/dx = (2/3) A (1 - (y/A)^2)
 *
 * Derivatives are written through the output y, so backward needs only the
 * op's own output: nothing else is saved. Shape: any, output = input.
 * Non-differentiable points: x = 0 for relu and leaky_relu (the derivative
 * used there is the left one: 0 for relu, alpha for leaky_relu). Ops
 * require alpha >= 0 so that y > 0 <=> x > 0.
 */
#include <math.h>
#include <string.h>

#include "../layer_build.h"
#include "../vmath.h"
#include "ops.h"

#define LECUN_A DLX_LECUN_A

/* c ? a : b by bits, both already computed: leaky ReLU's conditional
 * product (which may trap, as far as GCC knows) kept its loops scalar, with
 * a branch per element that the signs make unpredictable; this form is
 * vectorised. The same value as the conditional. */
static inline float pick(bool c, float a, float b)
{
    uint32_t ua, ub, m = -(uint32_t)c;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    uint32_t r = (ua & m) | (ub & ~m);
    float f;
    memcpy(&f, &r, sizeof f);
    return f;
}
#define LECUN_S DLX_LECUN_S

static const char *const k_names[] = {
    [DLX_ACT_NONE] = "none",
    [DLX_ACT_RELU] = "relu",
    [DLX_ACT_TANH] = "tanh",
    [DLX_ACT_SIGMOID] = "sigmoid",
    [DLX_ACT_LEAKY_RELU] = "leaky_relu",
    [DLX_ACT_LECUN_TANH] = "lecun_tanh",
};
#define N_ACTS ((int)(sizeof k_names / sizeof k_names[0]))

int dlx_act_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < N_ACTS; i++)
        if (strcmp(name, k_names[i]) == 0)
            return i;
    return -1;
}

const char *dlx_act_name(dlx_act a)
{
    return (int)a >= 0 && (int)a < N_ACTS ? k_names[a] : "?";
}

const char *dlx_act_names(void)
{
    return "none, relu, tanh, sigmoid, leaky_relu, lecun_tanh";
}

/* One switch outside the loop, so each loop is a plain vectorisable body. */
void dlx_act_forward(dlx_act a, float alpha, float *y, int64_t n)
{
    switch (a) {
    case DLX_ACT_NONE:
        break;
    case DLX_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case DLX_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            y[i] = dlx_tanh(y[i]);
        break;
    case DLX_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            y[i] = dlx_sigmoid(y[i]);
        break;
    case DLX_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = pick(y[i] > 0.0f, y[i], alpha * y[i]);
        break;
    case DLX_ACT_LECUN_TANH:
        for (int64_t i = 0; i < n; i++)
            y[i] = LECUN_A * dlx_tanh(LECUN_S * y[i]);
        break;
    }
}

void dlx_act_backward(dlx_act a, float alpha, const float *y, float *dy, int64_t n)
{
    switch (a) {
    case DLX_ACT_NONE:
        break;
    case DLX_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case DLX_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            dy[i] *= 1.0f - y[i] * y[i];
        break;
    case DLX_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            dy[i] *= y[i] * (1.0f - y[i]);
        break;
    case DLX_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++)
            dy[i] = pick(y[i] > 0.0f, dy[i], alpha * dy[i]);
        break;
    case DLX_ACT_LECUN_TANH: {
        /* (2/3) A (1 - y^2/A^2) = (2/3) A - (2/3)/A y^2 */
        const float c0 = LECUN_S * LECUN_A, c2 = LECUN_S / LECUN_A;
        for (int64_t i = 0; i < n; i++)
            dy[i] *= c0 - c2 * y[i] * y[i];
        break;
    }
    }
}

/* ---- in double, with directional derivatives (core/hvp.h) ---- */

/* act'(x) and act''(x) written through y = act(x), in double. relu and
 * leaky_relu have no curvature off their kink. */
static void derivs(dlx_act a, double alpha, double y, double *d1, double *d2)
{
    switch (a) {
    case DLX_ACT_NONE: *d1 = 1.0, *d2 = 0.0; return;
    case DLX_ACT_RELU: *d1 = y > 0.0 ? 1.0 : 0.0, *d2 = 0.0; return;
    case DLX_ACT_LEAKY_RELU: *d1 = y > 0.0 ? 1.0 : alpha, *d2 = 0.0; return;
    case DLX_ACT_TANH: *d1 = 1.0 - y * y, *d2 = -2.0 * y * *d1; return;
    case DLX_ACT_SIGMOID: *d1 = y * (1.0 - y), *d2 = *d1 * (1.0 - 2.0 * y); return;
    case DLX_ACT_LECUN_TANH: {
        const double A = LECUN_A, S = (double)LECUN_S, t = y / A;
        *d1 = A * S * (1.0 - t * t);
        *d2 = -2.0 * S * t * *d1;
        return;
    }
    }
    *d1 = 1.0, *d2 = 0.0;
}

static double act_f64(dlx_act a, double alpha, double x)
{
    switch (a) {
    case DLX_ACT_RELU: return x > 0.0 ? x : 0.0;
    case DLX_ACT_LEAKY_RELU: return x > 0.0 ? x : alpha * x;
    case DLX_ACT_TANH: return tanh(x);
    case DLX_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case DLX_ACT_LECUN_TANH: return LECUN_A * tanh((double)LECUN_S * x);
    case DLX_ACT_NONE: break;
    }
    return x;
}

void dlx_act_rop_forward(dlx_act a, double alpha, dlx_dual *out, dlx_rop_mode mode)
{
    if (a == DLX_ACT_NONE)
        return;
    if (mode != DLX_ROP_TANGENT)
        for (int64_t i = 0; i < out->numel; i++)
            out->v[i] = act_f64(a, alpha, out->v[i]);
    if (mode != DLX_ROP_VALUE)
        for (int64_t i = 0; i < out->numel; i++) {
            double d1, d2;
            derivs(a, alpha, out->v[i], &d1, &d2);
            out->r[i] *= d1;
        }
}

void dlx_act_rop_backward(dlx_act a, double alpha, const dlx_dual *out, double *gz, double *rgz, dlx_rop_mode mode)
{
    for (int64_t i = 0; i < out->numel; i++) {
        double d1, d2;
        derivs(a, alpha, out->v[i], &d1, &d2);
        if (mode != DLX_ROP_TANGENT)
            gz[i] = out->g[i] * d1;
        /* R{gz} = R{g} act' + g act'' R{z}, with R{z} = R{y} / act' */
        if (mode != DLX_ROP_VALUE)
            rgz[i] = out->rg[i] * d1 + (d2 != 0.0 && d1 != 0.0 ? out->g[i] * d2 * out->r[i] / d1 : 0.0);
    }
}

static void act_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_act_attr *a = n->attr;
    if (mode != DLX_ROP_TANGENT)
        memcpy(out->v, in[0]->v, (size_t)out->numel * sizeof *out->v);
    if (mode != DLX_ROP_VALUE)
        memcpy(out->r, in[0]->r, (size_t)out->numel * sizeof *out->r);
    dlx_act_rop_forward(a->act, a->alpha, out, mode);
}

static void act_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_act_attr *a = n->attr;
    if (!in[0]->g)
        return;
    double *gz = out->scratch, *rgz = out->scratch + out->numel;
    dlx_act_rop_backward(a->act, a->alpha, out, gz, rgz, mode);
    for (int64_t i = 0; i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            in[0]->g[i] += gz[i];
        if (mode != DLX_ROP_VALUE)
            in[0]->rg[i] += rgz[i];
    }
}

static const dlx_op_rop k_rop = {act_rop_forward, act_rop_backward, NULL};

/* ---- the standalone op ---- */

static int act_infer(dlx_node *n, dlx_err *err)
{
    const dlx_act_attr *a = n->attr;
    if ((int)a->act < 0 || (int)a->act >= N_ACTS)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "unknown activation %d (known: %s)",
                            (int)a->act, dlx_act_names());
    if (a->act == DLX_ACT_LEAKY_RELU && !(a->alpha >= 0.0f && isfinite(a->alpha)))
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "leaky_relu alpha must be finite and >= 0, got %g", (double)a->alpha);
    n->out.shape = n->in[0]->out.shape;
    n->scratch_floats = 0;
    return 0;
}

static void act_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_act_attr *a = n->attr;
    const float *x = n->in[0]->out.data;
    float *y = n->out.data;
    int64_t len = n->out.numel;
    /* Out of place in one pass for the cheap ones; copy + in place otherwise. */
    switch (a->act) {
    case DLX_ACT_RELU:
        for (int64_t i = 0; i < len; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case DLX_ACT_LEAKY_RELU: {
        const float al = a->alpha;
        for (int64_t i = 0; i < len; i++)
            y[i] = pick(x[i] > 0.0f, x[i], al * x[i]);
        break;
    }
    default:
        memcpy(y, x, (size_t)len * sizeof(float));
        dlx_act_forward(a->act, a->alpha, y, len);
        break;
    }
}

static void act_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_act_attr *a = n->attr;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    const float *y = n->out.data, *dy = n->out.grad;
    int64_t len = n->out.numel;
    const float al = a->alpha;
    switch (a->act) {
    case DLX_ACT_NONE:
        for (int64_t i = 0; i < len; i++)
            dx[i] += dy[i];
        break;
    case DLX_ACT_RELU:
        for (int64_t i = 0; i < len; i++)
            dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case DLX_ACT_TANH:
        for (int64_t i = 0; i < len; i++)
            dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case DLX_ACT_SIGMOID:
        for (int64_t i = 0; i < len; i++)
            dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case DLX_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < len; i++)
            dx[i] += pick(y[i] > 0.0f, dy[i], al * dy[i]);
        break;
    case DLX_ACT_LECUN_TANH: {
        const float c0 = LECUN_S * LECUN_A, c2 = LECUN_S / LECUN_A;
        for (int64_t i = 0; i < len; i++)
            dx[i] += dy[i] * (c0 - c2 * y[i] * y[i]);
        break;
    }
    }
}

/* ---- layer types and gradient-check cases ---- */

int dlx_layer_read_act(const dlx_layer_call *c, dlx_act *act, float *alpha, dlx_err *err)
{
    const char *name;
    int rc = dlx_spec_str(c->entry, "activation", false, "none", &name, err);
    if (rc)
        return rc;
    int a = dlx_act_from_name(name);
    if (a < 0) {
        dlx_spec_node *v = dlx_spec_get(c->entry, "activation");
        return dlx_err_setf(err, DLX_EINVAL, v ? v->loc : c->entry->loc,
                            "%s.activation: unknown activation '%s' (one of: %s)", c->entry->path, name,
                            dlx_act_names());
    }
    double al;
    rc = dlx_spec_float(c->entry, "alpha", false, 0.01, 0.0, 1.0, &al, err);
    *act = (dlx_act)a;
    *alpha = (float)al;
    return rc;
}

static int build_named(dlx_layer_call *c, dlx_act act, dlx_node **out, dlx_err *err)
{
    dlx_act_attr a = {.act = act, .alpha = 0.01f};
    if (act == DLX_ACT_LEAKY_RELU) {
        double al;
        int rc = dlx_spec_float(c->entry, "alpha", false, 0.01, 0.0, 1.0, &al, err);
        if (rc)
            return rc;
        a.alpha = (float)al;
    }
    return dlx_layer_op(c, &dlx_op_act, c->in, 1, &a, out, err);
}

static int build_relu(dlx_layer_call *c, dlx_node **o, dlx_err *e) { return build_named(c, DLX_ACT_RELU, o, e); }
static int build_tanh(dlx_layer_call *c, dlx_node **o, dlx_err *e) { return build_named(c, DLX_ACT_TANH, o, e); }
static int build_sigmoid(dlx_layer_call *c, dlx_node **o, dlx_err *e) { return build_named(c, DLX_ACT_SIGMOID, o, e); }
static int build_leaky(dlx_layer_call *c, dlx_node **o, dlx_err *e) { return build_named(c, DLX_ACT_LEAKY_RELU, o, e); }
static int build_lecun_tanh(dlx_layer_call *c, dlx_node **o, dlx_err *e) { return build_named(c, DLX_ACT_LECUN_TANH, o, e); }

static const dlx_key_doc k_no_keys[] = {{NULL}};
static const dlx_key_doc k_leaky_keys[] = {
    {"alpha", "number", "0.01", "0 to 1", "the slope for x < 0"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"relu", k_no_keys, "max(x, 0)", 1, build_relu},
    {"tanh", k_no_keys, "tanh(x)", 1, build_tanh},
    {"sigmoid", k_no_keys, "1 / (1 + exp(-x))", 1, build_sigmoid},
    {"leaky_relu", k_leaky_keys, "x > 0 ? x : alpha x", 1, build_leaky},
    {"lecun_tanh", k_no_keys, "1.7159 tanh(2x/3) (LeCun 1998)", 1, build_lecun_tanh},
};

#define ACT_CASE(act, nm) {.what = nm, .attr = &(dlx_act_attr){act, 0.2f}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 7)}}}
static const dlx_op_example k_examples[] = {
    ACT_CASE(DLX_ACT_NONE, "act none"),       ACT_CASE(DLX_ACT_RELU, "act relu"),
    ACT_CASE(DLX_ACT_TANH, "act tanh"),       ACT_CASE(DLX_ACT_SIGMOID, "act sigmoid"),
    ACT_CASE(DLX_ACT_LEAKY_RELU, "act leaky_relu"), ACT_CASE(DLX_ACT_LECUN_TANH, "act lecun_tanh"),
};

const dlx_op_vtbl dlx_op_act = {
    .name = "act",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_act_attr),
    .infer = act_infer,
    .forward = act_forward,
    .backward = act_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
