/* reshape: y = x with another shape (same elements, same row-major order).
 *
 * Shapes: x (N, ...) -> attr d[0..ndim): d[0] == 0 keeps N, one d[i] == -1 is
 * inferred from the element count; the element count must not change.
 * A view: the graph aliases the output to the input's data and gradient
 * memory (dlx_op_vtbl.view), so forward and backward move nothing; consumers
 * of y accumulate straight into x's gradient. Saved for backward: nothing.
 * Non-differentiable points: none.
 */
#include "../layer_build.h"
#include "ops.h"

static int reshape_infer(dlx_node *n, dlx_err *err)
{
    const dlx_reshape_attr *a = n->attr;
    const dlx_shape *in = &n->in[0]->out.shape;
    if (a->ndim < 1 || a->ndim > DLX_MAX_DIM)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "the target shape must have 1 to %d dimensions, got %d",
                            DLX_MAX_DIM, a->ndim);
    dlx_shape s = {.ndim = a->ndim};
    int infer_at = -1;
    int64_t known = 1;
    for (int i = 0; i < a->ndim; i++) {
        int64_t d = a->d[i];
        if (d == 0 && i == 0) {
            d = in->d[0];
        } else if (d == -1) {
            if (infer_at >= 0)
                return dlx_err_setf(err, DLX_EINVAL, n->loc,
                                    "only one dimension of the target shape may be -1");
            infer_at = i;
            continue;
        } else if (d <= 0) {
            return dlx_err_setf(err, DLX_EINVAL, n->loc,
                                "target dimension %d must be > 0 (or 0 for the first, -1 for one inferred), got %lld",
                                i, (long long)d);
        }
        s.d[i] = d;
        /* checked: a product that wraps around int64 could land on numel */
        if (!dlx_mul_i64(known, d, &known) || known > DLX_NUMEL_MAX) {
            char buf[96];
            s.ndim = a->ndim;
            for (int k = i + 1; k < a->ndim; k++)
                s.d[k] = a->d[k];
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "target shape %s has more than %s elements",
                                dlx_shape_str(&s, buf, sizeof buf), DLX_NUMEL_MAX_STR);
        }
    }
    int64_t numel = dlx_shape_numel(in);
    if (infer_at >= 0) {
        if (numel % known != 0)
            return dlx_err_setf(err, DLX_EINVAL, n->loc,
                                "cannot infer the -1 dimension: %lld elements do not divide by %lld",
                                (long long)numel, (long long)known);
        s.d[infer_at] = numel / known;
        known *= s.d[infer_at]; /* == numel, no overflow */
    }
    if (known != numel) {
        char buf[64];
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "target shape %s has %lld elements, the input has %lld",
                            dlx_shape_str(&s, buf, sizeof buf), (long long)known, (long long)numel);
    }
    n->out.shape = s;
    return 0;
}

/* Nothing to do once compiled (the output is a view of the input). */
static void reshape_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    DLX_ASSERT(n->out.data == n->in[0]->out.data);
}

static void reshape_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    DLX_ASSERT(n->out.grad == n->in[0]->out.grad);
}

/* ---- layer types and gradient-check cases ---- */

static int build_flatten(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    dlx_reshape_attr a = {.ndim = 2, .d = {0, -1}};
    return dlx_layer_op(c, &dlx_op_reshape, c->in, 1, &a, out, err);
}

static int build_reshape(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t d[3];
    int n;
    int rc = dlx_spec_int_list(c->entry, "shape", true, -1, 1 << 24, d, 3, &n, err);
    if (rc)
        return rc;
    dlx_reshape_attr a = {.ndim = n + 1};
    a.d[0] = 0;
    for (int i = 0; i < n; i++)
        a.d[i + 1] = d[i];
    return dlx_layer_op(c, &dlx_op_reshape, c->in, 1, &a, out, err);
}

static const dlx_key_doc k_no_keys[] = {{NULL}};
static const dlx_key_doc k_keys[] = {
    {"shape", "list of integers", "required", "1 to 3 items, each -1 to 16777216",
     "the shape of each sample; one -1 is inferred"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"flatten", k_no_keys, "(N, ...) -> (N, features)", 1, build_flatten},
    {"reshape", k_keys, "(N, ...) -> (N, shape...)", 1, build_reshape},
};

static const dlx_op_example k_examples[] = {
    {.what = "reshape (2,3,4) -> (2,3,2,2)", .attr = &(dlx_reshape_attr){4, {0, 3, -1, 2}}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 4)}}},
    {.what = "flatten", .attr = &(dlx_reshape_attr){2, {0, -1}}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 2, 2)}}},
};

const dlx_op_vtbl dlx_op_reshape = {
    .name = "reshape",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_reshape_attr),
    .view = true,
    .infer = reshape_infer,
    .forward = reshape_forward,
    .backward = reshape_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
};
