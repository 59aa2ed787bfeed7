/* ONNX nodes of each dlx op that exports (core/onnx_internal.h), opset 13,
 * at inference: every mapping computes what the op's forward computes
 * outside training (core/ops/<op>.c states the math).
 *   linear           [Flatten(axis 1) when x is not 2-d] Gemm(transB 1) [activation]
 *   conv2d           Conv (pads, strides; dilations 1, group 1) [activation]
 *   conv_transpose2d ConvTranspose (pads, strides, output_padding) [activation]
 *   maxpool2d        MaxPool (floor, padding that never wins, as dlx's -inf)
 *   avgpool2d        AveragePool (count_include_pad 0: dlx counts real cells only)
 *   upsample2d       Resize: nearest (asymmetric, floor: x[o / S]) or linear
 *                    (pytorch_half_pixel, PyTorch's align_corners=False)
 *   act              Relu, Tanh, Sigmoid, LeakyRelu; lecun_tanh as Mul, Tanh, Mul
 *   batchnorm        BatchNormalization with the running statistics and eps
 *   dropout, stop_gradient  Identity
 *   reshape, slice, concat, softmax (axis 1), abs, add (Add, or Sum of more),
 *   sub, mul (a chain of Mul), scale (Mul, Add), affine (Mul, Add with the
 *   parameters reshaped to (C, 1, ...)), transpose (of a tied weight).
 */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"
#include "ops/ops.h"

typedef char vname[ONNX_NAME_MAX];

/* "<node>.<suffix>" into v */
static const char *own(vname v, const dlx_node *n, const char *suffix)
{
    snprintf(v, ONNX_NAME_MAX, "%s.%s", n->name, suffix);
    return v;
}

static void scalar(onnx_ctx *x, const char *name, float v)
{
    onnx_init_floats(x, name, NULL, 0, &v);
}

static void int64s(onnx_ctx *x, const char *name, const int64_t *v, int n)
{
    const int64_t dims[1] = {n};
    onnx_init_int64s(x, name, dims, 1, v);
}

/* out = act(in); the node's own values for lecun_tanh's steps */
static void act_nodes(onnx_ctx *x, const dlx_node *n, dlx_act a, float alpha, const char *in, const char *out)
{
    switch (a) {
    case DLX_ACT_RELU:
        onnx_node1(x, "Relu", in, out);
        return;
    case DLX_ACT_TANH:
        onnx_node1(x, "Tanh", in, out);
        return;
    case DLX_ACT_SIGMOID:
        onnx_node1(x, "Sigmoid", in, out);
        return;
    case DLX_ACT_LEAKY_RELU: {
        size_t m = onnx_node_begin(x, "LeakyRelu", &in, 1, out);
        onnx_attr_float(x, "alpha", alpha);
        onnx_node_end(x, m);
        return;
    }
    case DLX_ACT_LECUN_TANH: { /* A tanh(S x) */
        vname s, a_, sx, t;
        scalar(x, own(s, n, "lecun_s"), DLX_LECUN_S);
        scalar(x, own(a_, n, "lecun_a"), DLX_LECUN_A);
        onnx_node2(x, "Mul", in, s, own(sx, n, "lecun_sx"));
        onnx_node1(x, "Tanh", sx, own(t, n, "lecun_tanh"));
        onnx_node2(x, "Mul", t, a_, out);
        return;
    }
    case DLX_ACT_NONE:
    default:
        onnx_node1(x, "Identity", in, out);
        return;
    }
}

/* The op's main node's output: `out`, or "<node>.pre" before a fused activation. */
static const char *pre_act(vname v, const dlx_node *n, dlx_act a, const char *out)
{
    return a == DLX_ACT_NONE ? out : own(v, n, "pre");
}

static int emit_linear(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_linear_attr *a = n->attr;
    vname flat, pre;
    const char *gin[3] = {in[0], in[1], n->n_in == 3 ? in[2] : ""};
    if (n->in[0]->out.shape.ndim != 2) { /* linear reads (N, ...) as (N, K) */
        size_t m = onnx_node_begin(x, "Flatten", in, 1, own(flat, n, "flat"));
        onnx_attr_int(x, "axis", 1);
        onnx_node_end(x, m);
        gin[0] = flat;
    }
    const char *z = pre_act(pre, n, a->act, out);
    size_t m = onnx_node_begin(x, "Gemm", gin, n->n_in, z); /* x W^T + b */
    onnx_attr_int(x, "transB", 1);
    onnx_node_end(x, m);
    if (a->act != DLX_ACT_NONE)
        act_nodes(x, n, a->act, a->alpha, z, out);
    return 0;
}

/* kernel_shape from the weight's last two dims, strides and symmetric pads */
static void window_attrs(onnx_ctx *x, int64_t kh, int64_t kw, int sh, int sw, int ph, int pw)
{
    const int64_t k[2] = {kh, kw}, s[2] = {sh, sw}, p[4] = {ph, pw, ph, pw};
    onnx_attr_ints(x, "kernel_shape", k, 2);
    onnx_attr_ints(x, "strides", s, 2);
    onnx_attr_ints(x, "pads", p, 4);
}

static int emit_conv2d(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_conv2d_attr *a = n->attr;
    const int64_t *w = n->in[1]->out.shape.d, dil[2] = {1, 1};
    vname pre;
    const char *z = pre_act(pre, n, a->act, out);
    size_t m = onnx_node_begin(x, "Conv", in, n->n_in, z);
    window_attrs(x, w[2], w[3], a->stride_h, a->stride_w, a->pad_h, a->pad_w);
    onnx_attr_ints(x, "dilations", dil, 2);
    onnx_attr_int(x, "group", 1);
    onnx_node_end(x, m);
    if (a->act != DLX_ACT_NONE)
        act_nodes(x, n, a->act, a->alpha, z, out);
    return 0;
}

static int emit_conv_transpose2d(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out,
                                 dlx_err *err)
{
    (void)err;
    const dlx_conv_transpose2d_attr *a = n->attr;
    const int64_t *w = n->in[1]->out.shape.d, dil[2] = {1, 1}, op[2] = {a->out_pad_h, a->out_pad_w};
    vname pre;
    const char *z = pre_act(pre, n, a->act, out);
    size_t m = onnx_node_begin(x, "ConvTranspose", in, n->n_in, z); /* W (C, F, KH, KW), as ONNX's */
    window_attrs(x, w[2], w[3], a->stride_h, a->stride_w, a->pad_h, a->pad_w);
    onnx_attr_ints(x, "output_padding", op, 2);
    onnx_attr_ints(x, "dilations", dil, 2);
    onnx_attr_int(x, "group", 1);
    onnx_node_end(x, m);
    if (a->act != DLX_ACT_NONE)
        act_nodes(x, n, a->act, a->alpha, z, out);
    return 0;
}

static int emit_pool(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, bool max)
{
    const dlx_pool2d_attr *a = n->attr;
    size_t m = onnx_node_begin(x, max ? "MaxPool" : "AveragePool", in, 1, out);
    window_attrs(x, a->size_h, a->size_w, a->stride_h, a->stride_w, a->pad_h, a->pad_w);
    onnx_attr_int(x, "ceil_mode", 0);
    if (!max)
        onnx_attr_int(x, "count_include_pad", 0);
    onnx_node_end(x, m);
    return 0;
}

static int emit_maxpool(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    return emit_pool(x, n, in, out, true);
}

static int emit_avgpool(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    return emit_pool(x, n, in, out, false);
}

static int emit_upsample(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_upsample2d_attr *a = n->attr;
    vname sc;
    const float scales[4] = {1.0f, 1.0f, (float)a->scale_h, (float)a->scale_w};
    const int64_t dims[1] = {4};
    onnx_init_floats(x, own(sc, n, "scales"), dims, 1, scales);
    const char *rin[3] = {in[0], "", sc}; /* no roi */
    size_t m = onnx_node_begin(x, "Resize", rin, 3, out);
    if (a->mode == DLX_UPSAMPLE_NEAREST) {
        onnx_attr_string(x, "mode", "nearest");
        onnx_attr_string(x, "coordinate_transformation_mode", "asymmetric");
        onnx_attr_string(x, "nearest_mode", "floor");
    } else {
        onnx_attr_string(x, "mode", "linear");
        onnx_attr_string(x, "coordinate_transformation_mode", "pytorch_half_pixel");
    }
    onnx_node_end(x, m);
    return 0;
}

static int emit_act(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_act_attr *a = n->attr;
    act_nodes(x, n, a->act, a->alpha, in[0], out);
    return 0;
}

static int emit_batchnorm(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_batchnorm_attr *a = n->attr;
    size_t m = onnx_node_begin(x, "BatchNormalization", in, 5, out); /* x, gamma, beta, mean, var */
    onnx_attr_float(x, "epsilon", a->eps);
    onnx_node_end(x, m);
    return 0;
}

static int emit_identity(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)n, (void)err;
    onnx_node1(x, "Identity", in[0], out);
    return 0;
}

static int emit_softmax(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)n, (void)err;
    size_t m = onnx_node_begin(x, "Softmax", in, 1, out); /* opset 13: along axis 1 alone, as dlx */
    onnx_attr_int(x, "axis", 1);
    onnx_node_end(x, m);
    return 0;
}

static int emit_abs(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)n, (void)err;
    onnx_node1(x, "Abs", in[0], out);
    return 0;
}

static int emit_reshape(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    const dlx_reshape_attr *a = n->attr;
    if (a->d[0] != 0) /* layers keep N (d[0] = 0); a fixed batch would not fit a symbolic N */
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s: a reshape of the batch dimension has no ONNX export",
                            n->name);
    vname sh;
    int64s(x, own(sh, n, "shape"), a->d, a->ndim); /* 0 copies N, -1 is inferred: ONNX's rules too */
    onnx_node2(x, "Reshape", in[0], sh, out);
    return 0;
}

static int emit_slice(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_slice_attr *a = n->attr;
    vname st, en, ax;
    const int64_t s = a->start, e = a->start + a->size, axis = a->axis;
    int64s(x, own(st, n, "starts"), &s, 1);
    int64s(x, own(en, n, "ends"), &e, 1);
    int64s(x, own(ax, n, "axes"), &axis, 1);
    const char *sin[4] = {in[0], st, en, ax};
    onnx_node_end(x, onnx_node_begin(x, "Slice", sin, 4, out));
    return 0;
}

static int emit_concat(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_concat_attr *a = n->attr;
    size_t m = onnx_node_begin(x, "Concat", in, n->n_in, out);
    onnx_attr_int(x, "axis", a->axis);
    onnx_node_end(x, m);
    return 0;
}

static int emit_add(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    onnx_node_end(x, onnx_node_begin(x, n->n_in == 2 ? "Add" : "Sum", in, n->n_in, out));
    return 0;
}

static int emit_sub(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)n, (void)err;
    onnx_node2(x, "Sub", in[0], in[1], out);
    return 0;
}

/* x0 x1 ... in dlx's order: ((x0 x1) x2) ... */
static int emit_mul(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    vname acc, next;
    snprintf(acc, sizeof acc, "%s", in[0]);
    for (int k = 1; k < n->n_in; k++) {
        char step[16];
        snprintf(step, sizeof step, "mul%d", k);
        const char *to = k == n->n_in - 1 ? out : own(next, n, step);
        onnx_node2(x, "Mul", acc, in[k], to);
        snprintf(acc, sizeof acc, "%s", to);
    }
    return 0;
}

static int emit_scale(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_scale_attr *a = n->attr;
    vname s, b, sx;
    scalar(x, own(s, n, "scale"), a->scale);
    scalar(x, own(b, n, "shift"), a->shift);
    onnx_node2(x, "Mul", in[0], s, own(sx, n, "scaled"));
    onnx_node2(x, "Add", sx, b, out);
    return 0;
}

/* gamma x + beta per channel (axis 1): the (C) parameters as (C, 1, ...) */
static int emit_affine(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)err;
    const dlx_shape *xs = &n->in[0]->out.shape;
    vname shape, g, gx, b;
    int64_t d[DLX_MAX_DIM] = {xs->d[1]};
    for (int i = 1; i < xs->ndim - 1; i++)
        d[i] = 1;
    int64s(x, own(shape, n, "channel_shape"), d, xs->ndim - 1);
    onnx_node2(x, "Reshape", in[1], shape, own(g, n, "gamma"));
    const char *prod = n->n_in == 3 ? own(gx, n, "scaled") : out;
    onnx_node2(x, "Mul", in[0], g, prod);
    if (n->n_in == 3) {
        onnx_node2(x, "Reshape", in[2], shape, own(b, n, "beta"));
        onnx_node2(x, "Add", prod, b, out);
    }
    return 0;
}

static int emit_transpose(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err)
{
    (void)n, (void)err;
    const int64_t perm[2] = {1, 0};
    size_t m = onnx_node_begin(x, "Transpose", in, 1, out);
    onnx_attr_ints(x, "perm", perm, 2);
    onnx_node_end(x, m);
    return 0;
}

static const struct {
    const char *op;
    onnx_emit_fn fn;
} k_emitters[] = {
    {"linear", emit_linear},       {"conv2d", emit_conv2d},     {"conv_transpose2d", emit_conv_transpose2d},
    {"maxpool2d", emit_maxpool},   {"avgpool2d", emit_avgpool}, {"upsample2d", emit_upsample},
    {"act", emit_act},             {"batchnorm", emit_batchnorm}, {"dropout", emit_identity},
    {"stop_gradient", emit_identity}, {"softmax", emit_softmax}, {"abs", emit_abs},
    {"reshape", emit_reshape},     {"slice", emit_slice},       {"concat", emit_concat},
    {"add", emit_add},             {"sub", emit_sub},           {"mul", emit_mul},
    {"scale", emit_scale},         {"affine", emit_affine},     {"transpose", emit_transpose},
};

onnx_emit_fn onnx_emitter(const char *op_name)
{
    for (size_t i = 0; i < sizeof k_emitters / sizeof k_emitters[0]; i++)
        if (!strcmp(k_emitters[i].op, op_name))
            return k_emitters[i].fn;
    return NULL;
}

const char *onnx_supported_types(void)
{
    return "linear, conv2d, conv_transpose2d, maxpool2d, avgpool2d, upsample, batchnorm, relu, tanh, sigmoid, "
           "leaky_relu, lecun_tanh, softmax, abs, dropout, stop_gradient, flatten, reshape, slice, concat, add, sub, "
           "mul, scale, affine (and a linear layer's share: with transpose: true)";
}
