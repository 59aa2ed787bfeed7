/* transpose: y = x^T for a matrix x (R, C) -> (C, R).
 *
 * Used by a linear layer whose weight is another layer's, transposed
 * (`share: enc, transpose: true`: a tied auto-encoder's decoder), so that the
 * one parameter gets both layers' gradients. Not a YAML layer of its own: it
 * would transpose the batch dimension.
 * Backward: dx += dy^T. Saved for backward: nothing. Non-differentiable
 * points: none. Done in tiles of 32 x 32 so that both sides stay in cache.
 */
#include "../layer_build.h"
#include "ops.h"

#define TILE 32

static int transpose_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *s = &n->in[0]->out.shape;
    if (s->ndim != 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s: transpose takes a matrix, got %d dimensions", n->name,
                            s->ndim);
    n->out.shape = dlx_shape_2d(s->d[1], s->d[0]);
    return 0;
}

/* dst (C, R) op= src (R, C)^T; add: accumulate */
static void transpose_into(float *dst, const float *src, int64_t R, int64_t C, bool add)
{
    for (int64_t r0 = 0; r0 < R; r0 += TILE)
        for (int64_t c0 = 0; c0 < C; c0 += TILE) {
            int64_t r1 = r0 + TILE < R ? r0 + TILE : R, c1 = c0 + TILE < C ? c0 + TILE : C;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t r = r0; r < r1; r++)
                    dst[c * R + r] = (add ? dst[c * R + r] : 0.0f) + src[r * C + c];
        }
}

static void transpose_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_shape *s = &n->in[0]->out.shape;
    transpose_into(n->out.data, n->in[0]->out.data, s->d[0], s->d[1], false);
}

static void transpose_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    /* dy is (C, R): its transpose, (R, C), adds into dx */
    transpose_into(dx, n->out.grad, n->out.shape.d[0], n->out.shape.d[1], true);
}

/* ---- the R-operator (core/hvp.h): linear, R{y} = R{x}^T ---- */

static void transpose_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t R = n->in[0]->out.shape.d[0], C = n->in[0]->out.shape.d[1];
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) {
            if (mode != DLX_ROP_TANGENT)
                out->v[j * R + i] = in[0]->v[i * C + j];
            if (mode != DLX_ROP_VALUE)
                out->r[j * R + i] = in[0]->r[i * C + j];
        }
}

static void transpose_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    if (!in[0]->g)
        return;
    const int64_t R = n->in[0]->out.shape.d[0], C = n->in[0]->out.shape.d[1];
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) {
            if (mode != DLX_ROP_TANGENT)
                in[0]->g[i * C + j] += out->g[j * R + i];
            if (mode != DLX_ROP_VALUE)
                in[0]->rg[i * C + j] += out->rg[j * R + i];
        }
}

static const dlx_op_rop k_rop_transpose = {transpose_rop_forward, transpose_rop_backward, NULL};

/* ---- gradient-check cases (no layer type: see above) ---- */

static const dlx_op_example k_examples[] = {
    {.what = "transpose of a parameter", .attr = NULL, .n_in = 1,
     .in = {{.role = DLX_EX_PARAM, .shape = DLX_SHAPE(5, 3)}}},
    {.what = "transpose over tile edges", .attr = NULL, .n_in = 1,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(33, 35)}}},
};

const dlx_op_vtbl dlx_op_transpose = {
    .name = "transpose",
    .n_in_min = 1,
    .n_in_max = 1,
    .attr_size = 0,
    .infer = transpose_infer,
    .forward = transpose_forward,
    .backward = transpose_backward,
    .layers = NULL,
    .n_layers = 0,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop_transpose,
};
