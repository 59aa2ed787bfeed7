/* sum, mean: reduce x (N, ...) over every dimension but the batch -> (N, 1),
 * or with attr.all over every element -> (1) (a scalar, usable as a loss term).
 *
 *   sum:  y_n = sum_{i in row n} x_i          dx_i += dy_n
 *   mean: y_n = (1/F) sum_{i in row n} x_i    dx_i += dy_n / F
 * with F the elements per row (numel / N, or numel with all). Summed in
 * double, one row after the other: the bits never depend on the threads.
 * A 1-d x (N) has one feature per row. Saved for backward: nothing.
 * Non-differentiable points: none.
 */
#include "../layer_build.h"
#include "ops.h"

/* Rows and elements per row of the reduction. */
static void reduce_dims(const dlx_node *n, int64_t *rows, int64_t *per_row)
{
    const dlx_reduce_attr *a = n->attr;
    const dlx_tensor *x = &n->in[0]->out;
    *rows = a->all ? 1 : x->shape.d[0];
    *per_row = x->numel / *rows;
}

static int reduce_infer(dlx_node *n, dlx_err *err)
{
    const dlx_reduce_attr *a = n->attr;
    const dlx_shape *xs = &n->in[0]->out.shape;
    char b[64];
    if (dlx_shape_numel(xs) < 1 || xs->ndim < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s: nothing to reduce in %s", n->op->name,
                            dlx_shape_str(xs, b, sizeof b));
    n->out.shape = a->all ? dlx_shape_1d(1) : dlx_shape_2d(xs->d[0], 1);
    return 0;
}

/* Both ops: each row's sum in double, divided by its length for mean. */
static void reduce_forward_common(dlx_node *n, bool mean)
{
    int64_t rows, f;
    reduce_dims(n, &rows, &f);
    const float *x = n->in[0]->out.data;
    for (int64_t r = 0; r < rows; r++) {
        double s = 0.0;
        for (int64_t i = 0; i < f; i++)
            s += x[r * f + i];
        n->out.data[r] = (float)(mean ? s / (double)f : s);
    }
}

static void reduce_backward_common(dlx_node *n, bool mean)
{
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    int64_t rows, f;
    reduce_dims(n, &rows, &f);
    for (int64_t r = 0; r < rows; r++) {
        float g = mean ? (float)((double)n->out.grad[r] / (double)f) : n->out.grad[r];
        for (int64_t i = 0; i < f; i++)
            dx[r * f + i] += g;
    }
}

static void sum_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    reduce_forward_common(n, false);
}

static void sum_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    reduce_backward_common(n, false);
}

static void mean_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    reduce_forward_common(n, true);
}

static void mean_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    reduce_backward_common(n, true);
}

/* ---- the R-operator (core/hvp.h): linear, the same sums of R{x} ---- */

static void reduce_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    int64_t rows, f;
    reduce_dims(n, &rows, &f);
    const double div = n->op == &dlx_op_mean ? (double)f : 1.0;
    for (int64_t r = 0; r < rows; r++) {
        double s = 0.0, t = 0.0;
        for (int64_t i = 0; i < f; i++) {
            s += in[0]->v[r * f + i];
            t += in[0]->r[r * f + i];
        }
        if (mode != DLX_ROP_TANGENT)
            out->v[r] = s / div;
        if (mode != DLX_ROP_VALUE)
            out->r[r] = t / div;
    }
}

static void reduce_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    if (!in[0]->g)
        return;
    int64_t rows, f;
    reduce_dims(n, &rows, &f);
    const double div = n->op == &dlx_op_mean ? (double)f : 1.0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < f; i++) {
            if (mode != DLX_ROP_TANGENT)
                in[0]->g[r * f + i] += out->g[r] / div;
            if (mode != DLX_ROP_VALUE)
                in[0]->rg[r * f + i] += out->rg[r] / div;
        }
}

static const dlx_op_rop k_rop_sum = {reduce_rop_forward, reduce_rop_backward, NULL};
static const dlx_op_rop k_rop_mean = {reduce_rop_forward, reduce_rop_backward, NULL};

/* ---- layer types and gradient-check cases ---- */

static const char *const k_over[] = {"features", "all", NULL};

static int build_reduce(dlx_layer_call *c, const dlx_op_vtbl *op, dlx_node **out, dlx_err *err)
{
    int over;
    int rc = dlx_spec_enum(c->entry, "over", false, k_over, 0, &over, err);
    if (rc)
        return rc;
    dlx_reduce_attr a = {.all = over == 1};
    return dlx_layer_op(c, op, c->in, 1, &a, out, err);
}

static int build_sum(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    return build_reduce(c, &dlx_op_sum, out, err);
}

static int build_mean(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    return build_reduce(c, &dlx_op_mean, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"over", "string", "features", "features, all", "features: per sample -> (N, 1); all: everything -> (1)"},
    {NULL},
};
static const dlx_layer_def k_sum_layers[] = {
    {"sum", k_keys, "sum of each sample's features -> (N, 1); over: all sums everything -> (1)", 1, build_sum},
};
static const dlx_layer_def k_mean_layers[] = {
    {"mean", k_keys, "mean of each sample's features -> (N, 1); over: all averages everything -> (1)", 1,
     build_mean},
};

static const dlx_op_example k_examples[] = {
    {.what = "reduce features (N, C, H, W)", .attr = &(dlx_reduce_attr){.all = false}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 2, 3)}}},
    {.what = "reduce features (N)", .attr = &(dlx_reduce_attr){.all = false}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4)}}},
    {.what = "reduce all (N, K)", .attr = &(dlx_reduce_attr){.all = true}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(5, 3)}}},
    {.what = "reduce all of a parameter", .attr = &(dlx_reduce_attr){.all = true}, .n_in = 1, .in = {{.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2, 3, 2)}}},
};

const dlx_op_vtbl dlx_op_sum = {
    .name = "sum",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_reduce_attr),
    .infer = reduce_infer,
    .forward = sum_forward,
    .backward = sum_backward,
    .layers = k_sum_layers,
    .n_layers = (int)(sizeof k_sum_layers / sizeof k_sum_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_sum,
};

const dlx_op_vtbl dlx_op_mean = {
    .name = "mean",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_reduce_attr),
    .infer = reduce_infer,
    .forward = mean_forward,
    .backward = mean_backward,
    .layers = k_mean_layers,
    .n_layers = (int)(sizeof k_mean_layers / sizeof k_mean_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_mean,
};
