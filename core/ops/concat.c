/* concat: y = the inputs joined along attr axis (>= 1; N is never joined).
 *
 * Shapes: 2..8 inputs of one rank, equal on every dimension but `axis`;
 * y.d[axis] is the sum of theirs. In row-major order each input contributes a
 * contiguous block of d[axis] * (product of later dims) floats per outer index.
 * Saved for backward: nothing. Non-differentiable points: none.
 */
#include <string.h>

#include "../layer_build.h"
#include "ops.h"

static int concat_infer(dlx_node *n, dlx_err *err)
{
    const dlx_concat_attr *a = n->attr;
    const dlx_shape *s0 = &n->in[0]->out.shape;
    if (a->axis < 1 || a->axis >= s0->ndim)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "axis must be in [1, %d] for inputs of %d dimensions, got %d",
                            s0->ndim - 1, s0->ndim, a->axis);
    dlx_shape s = *s0;
    for (int i = 1; i < n->n_in; i++) {
        const dlx_shape *si = &n->in[i]->out.shape;
        bool ok = si->ndim == s0->ndim;
        for (int k = 0; ok && k < s0->ndim; k++)
            ok = k == a->axis || si->d[k] == s0->d[k];
        if (!ok) {
            char b0[64], b1[64];
            return dlx_err_setf(err, DLX_EINVAL, n->loc,
                                "inputs must be equal on every dimension but axis %d, but input 1 is %s and input %d is %s",
                                a->axis, dlx_shape_str(s0, b0, sizeof b0), i + 1,
                                dlx_shape_str(si, b1, sizeof b1));
        }
        if (!dlx_add_i64(s.d[a->axis], si->d[a->axis], &s.d[a->axis]))
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "the concatenated axis %d overflows", a->axis);
    }
    n->out.shape = s;
    return 0;
}

/* Floats per outer index that input k contributes. */
static int64_t block(const dlx_node *n, int k)
{
    const dlx_shape *s = &n->in[k]->out.shape;
    int axis = ((const dlx_concat_attr *)n->attr)->axis;
    int64_t b = 1;
    for (int i = axis; i < s->ndim; i++)
        b *= s->d[i];
    return b;
}

static int64_t outer(const dlx_node *n)
{
    int axis = ((const dlx_concat_attr *)n->attr)->axis;
    int64_t o = 1;
    for (int i = 0; i < axis; i++)
        o *= n->out.shape.d[i];
    return o;
}

static void concat_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    int64_t no = outer(n), row = n->out.numel / no, off = 0;
    for (int k = 0; k < n->n_in; k++) {
        int64_t b = block(n, k);
        const float *x = n->in[k]->out.data;
        for (int64_t o = 0; o < no; o++)
            memcpy(n->out.data + o * row + off, x + o * b, (size_t)b * sizeof(float));
        off += b;
    }
}

static void concat_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    int64_t no = outer(n), row = n->out.numel / no, off = 0;
    for (int k = 0; k < n->n_in; k++) {
        int64_t b = block(n, k);
        float *dx = n->in[k]->out.grad;
        if (dx) {
            for (int64_t o = 0; o < no; o++) {
                const float *dy = n->out.grad + o * row + off;
                for (int64_t i = 0; i < b; i++)
                    dx[o * b + i] += dy[i];
            }
        }
        off += b;
    }
}

/* ---- the R-operator (core/hvp.h): linear, R{y} joins the R{x_k} ---- */

static void concat_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    int64_t no = outer(n), row = out->numel / no, off = 0;
    for (int k = 0; k < n->n_in; k++) {
        int64_t b = block(n, k);
        for (int64_t o = 0; o < no; o++)
            for (int64_t i = 0; i < b; i++) {
                if (mode != DLX_ROP_TANGENT)
                    out->v[o * row + off + i] = in[k]->v[o * b + i];
                if (mode != DLX_ROP_VALUE)
                    out->r[o * row + off + i] = in[k]->r[o * b + i];
            }
        off += b;
    }
}

static void concat_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    int64_t no = outer(n), row = out->numel / no, off = 0;
    for (int k = 0; k < n->n_in; k++) {
        int64_t b = block(n, k);
        for (int64_t o = 0; in[k]->g && o < no; o++)
            for (int64_t i = 0; i < b; i++) {
                if (mode != DLX_ROP_TANGENT)
                    in[k]->g[o * b + i] += out->g[o * row + off + i];
                if (mode != DLX_ROP_VALUE)
                    in[k]->rg[o * b + i] += out->rg[o * row + off + i];
            }
        off += b;
    }
}

static const dlx_op_rop k_rop_concat = {concat_rop_forward, concat_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_concat(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int rc = dlx_layer_need_inputs(c, 2, err);
    int64_t axis;
    if (!rc) rc = dlx_spec_int(c->entry, "axis", false, 1, 1, 3, &axis, err);
    if (rc)
        return rc;
    dlx_concat_attr a = {.axis = (int)axis};
    return dlx_layer_op(c, &dlx_op_concat, c->in, c->n_in, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"axis", "integer", "1", "1 to 3", "the axis to join along (1: channels or features)"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"concat", k_keys, "join inputs along axis (1 = channels)", DLX_MAX_INPUTS, build_concat},
};

static const dlx_op_example k_examples[] = {
    {.what = "concat axis 1", .attr = &(dlx_concat_attr){1}, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 2, 2)}, {.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 1, 2, 2)}}},
    {.what = "concat axis 3", .attr = &(dlx_concat_attr){3}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 3, 2)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(2, 2, 3, 1)}, {.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 3, 3)}}},
};

const dlx_op_vtbl dlx_op_concat = {
    .name = "concat",
    .n_in_min = 2,
    .n_in_max = 8,
    .attr_size = sizeof(dlx_concat_attr),
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_concat,
};
