/* stop_gradient: y = x in forward; no gradient flows back to x.
 *
 * Backward adds nothing to x's gradient, so everything upstream gets a zero
 * gradient through this path (a target network, a fixed feature extractor).
 * Not a view: a view shares x's gradient memory, and consumers of y would
 * add into it. Upstream ops still run their backward (on zeros): the graph
 * decides that from needs_grad, which an op does not change.
 * As a function the op is the identity, so its true derivative is 1, not the
 * 0 it reports: its gradient-check case gives x no gradient (DLX_EX_DATA),
 * and tests/test_ops_elementwise.c checks that the gradient stops here. For
 * the same reason `dlx gradcheck` of a spec reports a mismatch for the
 * parameters upstream of a stop_gradient whose output reaches the loss.
 * Saved for backward: nothing. Non-differentiable points: none.
 */
#include <string.h>

#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_stop_gradient; /* its builder refers to it */

static int stop_gradient_infer(dlx_node *n, dlx_err *err)
{
    (void)err;
    n->out.shape = n->in[0]->out.shape;
    return 0;
}

static void stop_gradient_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    memcpy(n->out.data, n->in[0]->out.data, (size_t)n->out.numel * sizeof(float));
}

static void stop_gradient_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)n;
    (void)ctx;
}

/* ---- the R-operator (core/hvp.h): the value and its tangent pass, no
 * gradient goes back (the graph's backward is the function differentiated) */

static void stop_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    for (int64_t i = 0; i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            out->v[i] = in[0]->v[i];
        if (mode != DLX_ROP_VALUE)
            out->r[i] = in[0]->r[i];
    }
}

static void stop_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    (void)n, (void)in, (void)out, (void)mode;
}

static const dlx_op_rop k_rop_stop_gradient = {stop_rop_forward, stop_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_stop_gradient(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    return dlx_layer_op(c, &dlx_op_stop_gradient, c->in, 1, NULL, out, err);
}

static const dlx_key_doc k_keys[] = {{NULL}};
static const dlx_layer_def k_layers[] = {
    {"stop_gradient", k_keys, "x unchanged; no gradient flows back through it", 1, build_stop_gradient},
};

static const dlx_op_example k_examples[] = {
    {.what = "stop_gradient", .attr = NULL, .n_in = 1, .in = {{.role = DLX_EX_DATA, .shape = DLX_SHAPE(3, 2, 2)}}},
};

const dlx_op_vtbl dlx_op_stop_gradient = {
    .name = "stop_gradient",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = 0,
    .infer = stop_gradient_infer,
    .forward = stop_gradient_forward,
    .backward = stop_gradient_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_stop_gradient,
};
