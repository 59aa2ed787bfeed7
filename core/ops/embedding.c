/* embedding: rows of a table picked by integer indices.
 *
 *   in:  indices I (N), (N, T) or (N, T, U): integers in [0, V) stored as floats
 *        table W (V, D)
 *   out: Y (I's shape, D),  Y[r] = W[I_r]  for each index r in row-major order
 *
 *   dW[v] += sum over r with I_r = v of dY[r], added in the order of r (one
 *   thread: the bits never depend on the thread count); the indices get no
 *   gradient.
 *
 * An index that is not an integer in [0, V) (out of range, fractional, NaN)
 * is bad input data that forward cannot reject: its output row is NaN, never
 * a read outside the table, and its dY adds to no row. NaN rather than zeros
 * so that the bad sample shows (a NaN loss stops training, see the trainer's
 * NaN guard) instead of training on an invented zero vector, as softmax_xent
 * does with a bad label. V is at most 2^24 so that every index is a float.
 * Saved for backward: nothing. Non-differentiable points: none in W (the
 * indices are piecewise constant data).
 */
#include <math.h>
#include <string.h>

#include "../layer_build.h"
#include "ops.h"

#define EMB_VOCAB_MAX (1 << 24) /* floats hold every integer up to 2^24 */

static int embedding_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *is = &n->in[0]->out.shape, *ws = &n->in[1]->out.shape;
    char b0[64], b1[64];
    if (is->ndim < 1 || is->ndim > DLX_MAX_DIM - 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "embedding: indices must have shape (N), (N, T) or (N, T, U), got %s",
                            dlx_shape_str(is, b0, sizeof b0));
    if (ws->ndim != 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "embedding: the table must have shape (V, D), got %s",
                            dlx_shape_str(ws, b1, sizeof b1));
    if (ws->d[0] < 1 || ws->d[0] > EMB_VOCAB_MAX || ws->d[1] < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "embedding: the table %s must have 1 to %d rows (indices are floats) and at least 1 column",
                            dlx_shape_str(ws, b1, sizeof b1), EMB_VOCAB_MAX);
    dlx_shape out = *is;
    out.d[out.ndim++] = ws->d[1];
    int64_t numel;
    if (dlx_shape_numel(is) < 1 || (numel = dlx_shape_numel_checked(&out)) < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "embedding: indices %s with rows of %lld: empty or too large",
                            dlx_shape_str(is, b0, sizeof b0), (long long)ws->d[1]);
    n->out.shape = out;
    return 0;
}

/* The row of index x, or -1 if x is not an integer in [0, v). */
static int64_t row_of(float x, int64_t v)
{
    if (!(x >= 0.0f && x < (float)v) || x != floorf(x))
        return -1;
    return (int64_t)x;
}

static void embedding_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *idx = n->in[0]->out.data, *w = n->in[1]->out.data;
    const int64_t m = n->in[0]->out.numel, v = n->in[1]->out.shape.d[0], d = n->in[1]->out.shape.d[1];
    float *y = n->out.data;
    for (int64_t r = 0; r < m; r++) {
        int64_t k = row_of(idx[r], v);
        if (k >= 0) {
            memcpy(y + r * d, w + k * d, (size_t)d * sizeof *y);
        } else {
            for (int64_t j = 0; j < d; j++)
                y[r * d + j] = NAN;
        }
    }
}

static void embedding_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dw = n->in[1]->out.grad;
    if (!dw)
        return;
    const float *idx = n->in[0]->out.data, *dy = n->out.grad;
    const int64_t m = n->in[0]->out.numel, v = n->in[1]->out.shape.d[0], d = n->in[1]->out.shape.d[1];
    for (int64_t r = 0; r < m; r++) {
        int64_t k = row_of(idx[r], v);
        if (k < 0)
            continue;
        for (int64_t j = 0; j < d; j++)
            dw[k * d + j] += dy[r * d + j];
    }
}

/* ---- the R-operator (core/hvp.h): linear in the table, R{Y[r]} =
 * R{W}[I_r], R{dW}[I_r] += R{dY[r]}; a bad index gives NaN as forward ---- */

static void embedding_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *idx = in[0], *w = in[1];
    const int64_t m = n->in[0]->out.numel, v = n->in[1]->out.shape.d[0], d = n->in[1]->out.shape.d[1];
    for (int64_t r = 0; r < m; r++) {
        const int64_t k = row_of((float)idx->v[r], v);
        for (int64_t j = 0; j < d; j++) {
            if (mode != DLX_ROP_TANGENT)
                out->v[r * d + j] = k >= 0 ? w->v[k * d + j] : NAN;
            if (mode != DLX_ROP_VALUE)
                out->r[r * d + j] = k >= 0 ? w->r[k * d + j] : NAN;
        }
    }
}

static void embedding_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *idx = in[0], *w = in[1];
    if (!w->g)
        return;
    const int64_t m = n->in[0]->out.numel, v = n->in[1]->out.shape.d[0], d = n->in[1]->out.shape.d[1];
    for (int64_t r = 0; r < m; r++) {
        const int64_t k = row_of((float)idx->v[r], v);
        for (int64_t j = 0; k >= 0 && j < d; j++) {
            if (mode != DLX_ROP_TANGENT)
                w->g[k * d + j] += out->g[r * d + j];
            if (mode != DLX_ROP_VALUE)
                w->rg[k * d + j] += out->rg[r * d + j];
        }
    }
}

static const dlx_op_rop k_rop = {embedding_rop_forward, embedding_rop_backward, NULL};

/* ---- layer type and gradient-check cases ---- */

static int build_embedding(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t vocab, dim;
    double scale;
    dlx_init init;
    int rc = dlx_spec_int(c->entry, "vocab", true, 0, 1, EMB_VOCAB_MAX, &vocab, err);
    if (!rc) rc = dlx_spec_int(c->entry, "dim", true, 0, 1, 1 << 20, &dim, err);
    /* torch.nn.Embedding's N(0, 1): the scale's default goes in before
     * dlx_layer_read_init, whose own default (0.01) suits weight matrices */
    if (!rc) rc = dlx_spec_float(c->entry, "init_scale", false, 1.0, 0.0, 100.0, &scale, err);
    if (!rc) rc = dlx_layer_read_init(c, 4 /* normal */, dim, vocab, &init, err);
    dlx_node *in[2] = {c->in[0]};
    if (!rc) rc = dlx_layer_param(c, "weight", dlx_shape_2d(vocab, dim), init, true, &in[1], err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_embedding, in, 2, NULL, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"vocab", "integer", "required", "1 to 16777216", "rows of the table (index values 0 .. vocab - 1)"},
    {"dim", "integer", "required", "1 to 1048576", "features per row"},
    {"init", "string", "normal", "xavier, kaiming, lecun, torch, normal, uniform, orthogonal, identity",
     "how the table starts"},
    {"init_scale", "number", "1", "0 to 100", "std of normal, bound of uniform, gain of orthogonal and identity"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"embedding", k_keys, "rows of a (vocab, dim) table picked by integer indices: vocab, dim, init (normal 1.0)", 1,
     build_embedding},
};

/* few rows for many indices: repeated indices accumulate */
static const dlx_op_example k_examples[] = {
    {.what = "embedding (N)", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_LABELS, .shape = DLX_SHAPE(6)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 3)}}, .classes = 4},
    {.what = "embedding (N, T)", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_LABELS, .shape = DLX_SHAPE(3, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(5, 2)}}, .classes = 5},
    {.what = "embedding of a table with a gradient", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_LABELS, .shape = DLX_SHAPE(2, 3)}, {.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 4)}}, .classes = 3},
};

const dlx_op_vtbl dlx_op_embedding = {
    .name = "embedding",
    .n_in_min = 2,
    .n_in_max = 2,
    .attr_size = 0,
    .infer = embedding_infer,
    .forward = embedding_forward,
    .backward = embedding_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
