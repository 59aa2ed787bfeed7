/* slice: y = x[..., start : start + size, ...] along attr axis (>= 1; N is
 * never sliced).
 *
 * Shapes: x of any rank >= 2 -> x's shape with d[axis] = size; needs
 * 0 <= start, 1 <= size and start + size <= x.d[axis]. In row-major order
 * each outer index (the dims before axis) takes one contiguous block of
 * size * (product of later dims) floats, at offset start * (that product).
 * Backward: dx[block] += dy; dx elsewhere gets nothing (its gradient there
 * is 0). Saved for backward: nothing. Non-differentiable points: none.
 */
#include <string.h>

#include "../layer_build.h"
#include "ops.h"


static int slice_infer(dlx_node *n, dlx_err *err)
{
    const dlx_slice_attr *a = n->attr;
    const dlx_shape *x = &n->in[0]->out.shape;
    if (a->axis < 1 || a->axis >= x->ndim)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "axis must be in [1, %d] for an input of %d dimensions, got %d",
                            x->ndim - 1, x->ndim, a->axis);
    int64_t d = x->d[a->axis];
    /* d - size cannot overflow: d >= 0 and size >= 1 are checked first */
    if (a->start < 0 || a->size < 1 || a->start > d - a->size)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "start %lld and size %lld must satisfy 0 <= start, 1 <= size, start + size <= %lld "
                            "(axis %d)",
                            (long long)a->start, (long long)a->size, (long long)d, a->axis);
    n->out.shape = *x;
    n->out.shape.d[a->axis] = a->size;
    return 0;
}

/* Outer indices (dims before axis) and floats per index of axis (after it). */
static void slice_dims(const dlx_node *n, int64_t *outer, int64_t *inner)
{
    const dlx_shape *x = &n->in[0]->out.shape;
    int axis = ((const dlx_slice_attr *)n->attr)->axis;
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++)
        *outer *= x->d[i];
    for (int i = axis + 1; i < x->ndim; i++)
        *inner *= x->d[i];
}

static void slice_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_slice_attr *a = n->attr;
    int64_t no, inner;
    slice_dims(n, &no, &inner);
    int64_t in_row = n->in[0]->out.shape.d[a->axis] * inner, out_row = a->size * inner;
    const float *x = n->in[0]->out.data + a->start * inner;
    for (int64_t o = 0; o < no; o++)
        memcpy(n->out.data + o * out_row, x + o * in_row, (size_t)out_row * sizeof(float));
}

static void slice_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_slice_attr *a = n->attr;
    if (!n->in[0]->out.grad)
        return;
    int64_t no, inner;
    slice_dims(n, &no, &inner);
    int64_t in_row = n->in[0]->out.shape.d[a->axis] * inner, out_row = a->size * inner;
    float *dx = n->in[0]->out.grad + a->start * inner;
    for (int64_t o = 0; o < no; o++) {
        const float *dy = n->out.grad + o * out_row;
        for (int64_t i = 0; i < out_row; i++)
            dx[o * in_row + i] += dy[i];
    }
}

/* ---- the R-operator (core/hvp.h): linear, the same slice of R{x} ---- */

static void slice_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_slice_attr *a = n->attr;
    int64_t no, inner;
    slice_dims(n, &no, &inner);
    int64_t in_row = n->in[0]->out.shape.d[a->axis] * inner, out_row = a->size * inner;
    for (int64_t o = 0; o < no; o++)
        for (int64_t i = 0; i < out_row; i++) {
            int64_t src = o * in_row + a->start * inner + i;
            if (mode != DLX_ROP_TANGENT)
                out->v[o * out_row + i] = in[0]->v[src];
            if (mode != DLX_ROP_VALUE)
                out->r[o * out_row + i] = in[0]->r[src];
        }
}

static void slice_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_slice_attr *a = n->attr;
    if (!in[0]->g)
        return;
    int64_t no, inner;
    slice_dims(n, &no, &inner);
    int64_t in_row = n->in[0]->out.shape.d[a->axis] * inner, out_row = a->size * inner;
    for (int64_t o = 0; o < no; o++)
        for (int64_t i = 0; i < out_row; i++) {
            int64_t dst = o * in_row + a->start * inner + i;
            if (mode != DLX_ROP_TANGENT)
                in[0]->g[dst] += out->g[o * out_row + i];
            if (mode != DLX_ROP_VALUE)
                in[0]->rg[dst] += out->rg[o * out_row + i];
        }
}

static const dlx_op_rop k_rop_slice = {slice_rop_forward, slice_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_slice(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t axis, start, size;
    int rc = dlx_spec_int(c->entry, "axis", false, 1, 1, DLX_MAX_DIM - 1, &axis, err);
    if (!rc) rc = dlx_spec_int(c->entry, "start", false, 0, 0, DLX_NUMEL_MAX, &start, err);
    if (!rc) rc = dlx_spec_int(c->entry, "size", true, 0, 1, DLX_NUMEL_MAX, &size, err);
    if (rc)
        return rc;
    dlx_slice_attr a = {.axis = (int)axis, .start = start, .size = size};
    return dlx_layer_op(c, &dlx_op_slice, c->in, 1, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"axis", "integer", "1", "1 to 3", "the axis to cut (0, the batch, cannot be cut)"},
    {"start", "integer", "0", "at least 0", "the first index kept"},
    {"size", "integer", "required", "at least 1", "how many entries are kept"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"slice", k_keys, "size entries from start along axis (default 1)", 1, build_slice},
};

static const dlx_op_example k_examples[] = {
    {.what = "slice axis 1", .attr = &(dlx_slice_attr){.axis = 1, .start = 1, .size = 2}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 4, 2, 2)}}},
    {.what = "slice axis 3", .attr = &(dlx_slice_attr){.axis = 3, .start = 2, .size = 3}, .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 3, 5)}}},
    {.what = "slice (N, K) whole", .attr = &(dlx_slice_attr){.axis = 1, .start = 0, .size = 6}, .n_in = 1, .in = {{.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3, 6)}}},
};

const dlx_op_vtbl dlx_op_slice = {
    .name = "slice",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = sizeof(dlx_slice_attr),
    .infer = slice_infer,
    .forward = slice_forward,
    .backward = slice_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_slice,
};
