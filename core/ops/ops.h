/* The op library: one descriptor per op (core/ops/<op>.c, whose header
 * comment states its inputs and math), the attribute structs of the ops
 * families build directly, and the registry (core/ops/registry.c) that lists
 * every op by name.
 *
 * Input conventions of those ops (N = batch, first dimension of every activation):
 *   linear      in: x (N, ...) flattened to (N, K), W (M, K), [b (M)]   -> (N, M)
 *   conv2d      in: x (N, C, H, W), W (F, C, KH, KW), [b (F)]          -> (N, F, OH, OW)
 *   maxpool2d, avgpool2d   in: x (N, C, H, W)                          -> (N, C, OH, OW)
 *   relu, tanh, sigmoid, leaky_relu, lecun_tanh, dropout  in: x        -> same shape
 *   reshape     in: x -> attr shape (d[0] == 0 keeps N, one -1 is inferred)
 *   add         in: 2..8 tensors of one shape                          -> same shape
 *   concat      in: 2..8 tensors equal except on attr axis (>= 1)      -> joined
 *   softmax_xent in: logits (N, K), labels (N) holding class indices as floats -> (1)
 *                mean over the batch of -log softmax(logits)[label]
 *   xent_uniform in: logits (N, K) -> (1): mean over the batch of
 *                -(1/K) sum_k log softmax(logits)_k (against the uniform distribution)
 *   mse         in: pred, target (same numel)                          -> (1)
 *                DLX_MSE_MEAN: mean over all elements of (p - t)^2
 *                DLX_MSE_HALF_SUM: mean over N of 0.5 * sum over features (p - t)^2
 *   weighted_sum in: 1..8 tensors of one shape -> same shape: sum of attr.w[i] * x_i
 *   bce_logits  in: logits (any shape) -> (1): mean binary cross-entropy
 *                against the constant attr.target in [0, 1]
 *   bce_logits_target in: logits, targets (same numel) -> (1): the same
 *                against a target per element
 *   l1          in: pred, target (same numel) -> (1): mean of |p - t|
 *   pulling_away in: codes S (N, ...) flattened to (N, K), N >= 2 -> (1): the
 *                mean over i != j of the squared cosine of s_i and s_j
 *   sum, mean   in: x (N, ...) -> (N, 1) per sample, or with attr.all -> (1)
 *   embedding   in: indices (N) or (N, T) holding integers in [0, V) as
 *                floats, table (V, D) -> (N, D) or (N, T, D): rows of the table
 *   shrink      in: x (N, M), theta (M) -> (N, M), sign(x) max(|x| - theta, 0)
 *   lcod        in: X (N, n), We (m, n), S (m, m), theta (m) -> (N, m): attr.steps
 *                learned coordinate-descent updates (core/ops/lcod.c)
 *   batchnorm   in: x (N, C, ...), gamma (C), beta (C), running_mean (C) and
 *                running_var (C) buffers -> same shape (core/ops/batchnorm.c)
 *   rnn, lstm   in: x (L, N, I) time-major, input weights, transition, bias
 *                -> h (L, N, H): a whole recurrent layer with BPTT (core/ops/rnn.c)
 *   transpose   in: a matrix (R, C) -> (C, R); a tied layer's weight
 * The target/labels input of a loss gets no gradient.
 */
#ifndef DLX_OPS_H
#define DLX_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "../graph.h"
#include "../hvp.h"

typedef enum dlx_act {
    DLX_ACT_NONE = 0,
    DLX_ACT_RELU,
    DLX_ACT_TANH,
    DLX_ACT_SIGMOID,
    DLX_ACT_LEAKY_RELU, /* x > 0 ? x : alpha * x */
    DLX_ACT_LECUN_TANH, /* 1.7159 * tanh(2x/3), LeCun et al. 1998 */
} dlx_act;
/* lecun_tanh's constants: DLX_LECUN_A tanh(DLX_LECUN_S x) (the ONNX export
 * writes the same floats) */
#define DLX_LECUN_A 1.7159f
#define DLX_LECUN_S (2.0f / 3.0f)

/* Name <-> enum for specs ("relu", "tanh", ...). Returns -1 if unknown. */
int dlx_act_from_name(const char *name);
const char *dlx_act_name(dlx_act a);
/* The list of names, for error messages: "none, relu, tanh, ..." */
const char *dlx_act_names(void);

/* The activation: and alpha: keys of a layer (linear, conv2d). */
struct dlx_layer_call;
int dlx_layer_read_act(const struct dlx_layer_call *c, dlx_act *act, float *alpha, dlx_err *err);

/* In place: y = act(y). */
void dlx_act_forward(dlx_act a, float alpha, float *y, int64_t n);
/* In place: dy *= act'(x) expressed through the output y = act(x). */
void dlx_act_backward(dlx_act a, float alpha, const float *y, float *dy, int64_t n);

/* In double, for R-operators (core/hvp.h): out holds z (and R{z}) and
 * becomes act(z) (and R{act(z)}); backward writes the gradient at z, gz, and
 * its directional derivative rgz from out's value, tangent, g and rg. */
void dlx_act_rop_forward(dlx_act a, double alpha, dlx_dual *out, dlx_rop_mode mode);
void dlx_act_rop_backward(dlx_act a, double alpha, const dlx_dual *out, double *gz, double *rgz, dlx_rop_mode mode);

typedef struct dlx_act_attr {
    dlx_act act;
    float alpha;
} dlx_act_attr;

typedef struct dlx_linear_attr {
    dlx_act act; /* fused activation */
    float alpha;
} dlx_linear_attr;

typedef struct dlx_conv2d_attr {
    int stride_h, stride_w;
    int pad_h, pad_w;
    dlx_act act; /* fused activation */
    float alpha;
} dlx_conv2d_attr;

/* conv_transpose2d (core/ops/conv_transpose2d.c): x (N, C, H, W), W (C, F,
 * KH, KW) as PyTorch's ConvTranspose2d, [b (F)] -> (N, F, OH, OW),
 * OH = (H - 1) SH - 2 PH + KH + OPH; the adjoint of conv2d in x. */
typedef struct dlx_conv_transpose2d_attr {
    int stride_h, stride_w;
    int pad_h, pad_w;         /* PyTorch's padding: trims the full output */
    int out_pad_h, out_pad_w; /* PyTorch's output_padding, < stride */
    dlx_act act;              /* fused activation */
    float alpha;
} dlx_conv_transpose2d_attr;

/* upsample2d (core/ops/upsample2d.c): x (N, C, H, W) -> (N, C, H SH, W SW) */
typedef enum dlx_upsample_mode { DLX_UPSAMPLE_NEAREST = 0, DLX_UPSAMPLE_BILINEAR = 1 } dlx_upsample_mode;
typedef struct dlx_upsample2d_attr {
    int scale_h, scale_w;
    dlx_upsample_mode mode; /* bilinear: align_corners=False, as PyTorch */
} dlx_upsample2d_attr;

typedef struct dlx_pool2d_attr {
    int size_h, size_w;
    int stride_h, stride_w;
    int pad_h, pad_w; /* max pool pads with -inf, avg pool counts only real cells */
} dlx_pool2d_attr;

typedef struct dlx_dropout_attr {
    float rate; /* probability of zeroing; survivors scale by 1/(1-rate) */
} dlx_dropout_attr;

typedef struct dlx_weighted_sum_attr {
    float w[8]; /* one weight per input */
} dlx_weighted_sum_attr;

typedef struct dlx_bce_attr {
    float target; /* in [0, 1]: 1 for "real", 0 for "fake" */
} dlx_bce_attr;

typedef struct dlx_reduce_attr {
    bool all; /* false: over each sample's features -> (N, 1); true: everything -> (1) */
} dlx_reduce_attr;

typedef struct dlx_reshape_attr {
    int ndim;
    int64_t d[4];
} dlx_reshape_attr;

/* slice (core/ops/slice.c): x[..., start : start + size, ...] along axis >= 1 */
typedef struct dlx_slice_attr {
    int axis;
    int64_t start, size;
} dlx_slice_attr;

typedef struct dlx_concat_attr {
    int axis;
} dlx_concat_attr;

typedef struct dlx_lcod_attr {
    int steps; /* coordinate updates per sample, >= 1 */
} dlx_lcod_attr;

typedef struct dlx_batchnorm_attr {
    float eps;      /* added to the variance, > 0 (PyTorch: 1e-5) */
    float momentum; /* running = (1 - momentum) running + momentum batch statistic (PyTorch: 0.1) */
} dlx_batchnorm_attr;

typedef enum dlx_mse_mode { DLX_MSE_MEAN = 0, DLX_MSE_HALF_SUM = 1 } dlx_mse_mode;
/* scale: y = scale x + shift (an EBGAN's hinge [m - e]+ is relu(scale(e, -1, m))) */
typedef struct dlx_scale_attr {
    float scale, shift;
} dlx_scale_attr;

/* rnn (core/ops/rnn.c): h_t = act(U x_t + W h_{t-1} + b); act none, tanh or relu */
typedef struct dlx_rnn_attr {
    dlx_act act;
} dlx_rnn_attr;

/* lstm (core/ops/rnn.c): added to the forget gate's pre-activation */
typedef struct dlx_lstm_attr {
    float forget_bias;
} dlx_lstm_attr;

/* Floats a recurrent layer of H units keeps per step and sample (its output,
 * and when trained the saved state and gradients of BPTT), and for a whole
 * (L, N) sequence batch: what the family counts against the memory limit. */
int64_t dlx_rnn_step_floats(bool lstm, int64_t H, bool train);
double dlx_rnn_bptt_floats(bool lstm, int64_t L, int64_t N, int64_t H, bool train);

typedef struct dlx_mse_attr {
    dlx_mse_mode mode;
} dlx_mse_attr;

extern const dlx_op_vtbl dlx_op_linear;
extern const dlx_op_vtbl dlx_op_conv2d;
extern const dlx_op_vtbl dlx_op_maxpool2d;
extern const dlx_op_vtbl dlx_op_avgpool2d;
extern const dlx_op_vtbl dlx_op_act; /* standalone activation, attr dlx_act_attr */
extern const dlx_op_vtbl dlx_op_dropout;
extern const dlx_op_vtbl dlx_op_reshape;
extern const dlx_op_vtbl dlx_op_add;
extern const dlx_op_vtbl dlx_op_concat;
extern const dlx_op_vtbl dlx_op_softmax_xent;
extern const dlx_op_vtbl dlx_op_mse;
extern const dlx_op_vtbl dlx_op_shrink;
extern const dlx_op_vtbl dlx_op_lcod;
extern const dlx_op_vtbl dlx_op_bce_logits;
extern const dlx_op_vtbl dlx_op_weighted_sum;
extern const dlx_op_vtbl dlx_op_bce_logits_target;
extern const dlx_op_vtbl dlx_op_l1;
extern const dlx_op_vtbl dlx_op_sum;  /* attr dlx_reduce_attr */
extern const dlx_op_vtbl dlx_op_mean; /* attr dlx_reduce_attr */
extern const dlx_op_vtbl dlx_op_embedding;
extern const dlx_op_vtbl dlx_op_batchnorm;
extern const dlx_op_vtbl dlx_op_pulling_away; /* EBGAN-PT's regulariser, no attributes */
extern const dlx_op_vtbl dlx_op_scale;         /* attr dlx_scale_attr */
extern const dlx_op_vtbl dlx_op_sub;
extern const dlx_op_vtbl dlx_op_mul;
extern const dlx_op_vtbl dlx_op_slice; /* attr dlx_slice_attr */
extern const dlx_op_vtbl dlx_op_rnn;  /* attr dlx_rnn_attr */
extern const dlx_op_vtbl dlx_op_lstm; /* attr dlx_lstm_attr */

/* spectral (core/ops/spectral.c): x (N, C, P), V (P, d) and K (d, q)
 * buffers, W (F, C, q), [b (F)] -> (N, F, P); a fused activation */
typedef struct dlx_spectral_attr {
    dlx_act act;
    float alpha;
} dlx_spectral_attr;
extern const dlx_op_vtbl dlx_op_spectral;
/* The d x q interpolation kernel (row-major) of q multipliers spread over
 * d frequencies: linear (q = d: the identity) or cubic B-spline. */
void dlx_spectral_kernel(int d, int q, bool cubic, float *K);

/* graph_local (core/ops/graph_local.c): x (N, C, P), nb (Q, k) buffer,
 * W (F, Q, C, k), [b (F, Q)] -> (N, F, Q); graph_maxpool: x (N, C, P), mem
 * (Q, m) buffer -> (N, C, Q) */
typedef struct dlx_graph_local_attr {
    dlx_act act;
    float alpha;
} dlx_graph_local_attr;
extern const dlx_op_vtbl dlx_op_graph_local;
extern const dlx_op_vtbl dlx_op_graph_maxpool;
/* the contracting auto-encoder's penalty: codes h (N, H), encoder weight W (H, I) -> (1) */
extern const dlx_op_vtbl dlx_op_contractive;
extern const dlx_op_vtbl dlx_op_transpose; /* a matrix (R, C) -> (C, R): a tied decoder's weight */
extern const dlx_op_vtbl dlx_op_reparam;   /* gaussian.c: mu + exp(lv/2) eps from (N, 2Z) and (N, Z) */
extern const dlx_op_vtbl dlx_op_xent_uniform; /* the confusion loss of a latent adversary */
extern const dlx_op_vtbl dlx_op_kl_normal; /* gaussian.c: KL to N(0, 1) of an (N, 2Z) code -> (1) */

/* ---- gradient-check cases (dlx_op_vtbl.examples) ------------------------
 * Each op lists a few small graphs of itself: tests/test_gradcheck.c builds
 * every one, fills its inputs, checks the gradient by finite differences,
 * compares the fast path with the reference, and runs it on 1, 2 and 3
 * threads for the same bits. */
typedef enum dlx_example_role {
    DLX_EX_DATA = 0, /* an input without a gradient */
    DLX_EX_GRAD,     /* an input whose gradient is checked */
    DLX_EX_PARAM,    /* a parameter (gradient checked) */
    DLX_EX_LABELS,   /* class indices below the example's classes, as floats */
    DLX_EX_BUFFER,   /* a buffer (running statistics): no gradient */
} dlx_example_role;

typedef struct dlx_example_in {
    dlx_example_role role;
    dlx_shape shape;
    /* values of magnitude in [lo, hi] with a random sign (positive: always
     * +); lo = hi = 0 means [0.05, 1] for inputs and [0.05, 0.6] for
     * parameters and buffers */
    float lo, hi;
    bool positive;
} dlx_example_in;

#define DLX_SHAPE(...)                                                                                     \
    {                                                                                                      \
        .ndim = (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), .d = { __VA_ARGS__ }            \
    }

typedef struct dlx_op_example {
    const char *what;   /* names the case in a failure */
    const void *attr;   /* the op's attribute struct (NULL: none) */
    int n_in;
    dlx_example_in in[DLX_MAX_INPUTS];
    bool training;      /* dlx_ctx.training */
    bool spaced;        /* data inputs take distinct values 0.02 apart (no ties for max pooling) */
    int classes;        /* for DLX_EX_LABELS */
} dlx_op_example;

/* The infer of an element-wise op of 2..8 inputs (add, sub, mul,
 * weighted_sum): every input of input 0's shape, which the output takes. */
int dlx_op_infer_same_shape(dlx_node *n, dlx_err *err);

/* Registry: find by name (NULL if unknown); iterate with dlx_op_at(i) until NULL. */
const dlx_op_vtbl *dlx_op_find(const char *name);
const dlx_op_vtbl *dlx_op_at(int i);

#endif
