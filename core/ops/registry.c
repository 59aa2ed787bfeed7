/* The only list of ops. Adding an op = its file in core/ops/ (the kernel,
 * its layer types with their builders, its gradient-check cases and, with a
 * fast path, its naive reference: see dlx_op_vtbl) + one line in
 * DLX_OP_LIST below. meson.build reads the file names from these lines, so
 * that line is all it takes to build the op, list it to specs (core/layers.c)
 * and check it (tests/test_op_registry.c). Specs and checkpoints refer to ops
 * by name, never by their index in this table. */
#include <string.h>

#include "ops.h"

/* X(descriptor, "its file"); a file may define several ops */
#define DLX_OP_LIST(X)                                  \
    X(dlx_op_linear, "linear.c")                        \
    X(dlx_op_conv2d, "conv2d.c")                        \
    X(dlx_op_maxpool2d, "pool2d.c")                     \
    X(dlx_op_avgpool2d, "pool2d.c")                     \
    X(dlx_op_act, "act.c")                              \
    X(dlx_op_dropout, "dropout.c")                      \
    X(dlx_op_reshape, "reshape.c")                      \
    X(dlx_op_add, "add.c")                              \
    X(dlx_op_concat, "concat.c")                        \
    X(dlx_op_softmax_xent, "softmax_xent.c")            \
    X(dlx_op_mse, "mse.c")                              \
    X(dlx_op_shrink, "shrink.c")                        \
    X(dlx_op_lcod, "lcod.c")                            \
    X(dlx_op_bce_logits, "bce.c")                       \
    X(dlx_op_weighted_sum, "weighted_sum.c")            \
    X(dlx_op_scale, "scale.c")                          \
    X(dlx_op_affine, "scale.c")                         \
    X(dlx_op_mul, "mul.c")                              \
    X(dlx_op_abs, "abs.c")                              \
    X(dlx_op_stop_gradient, "stop_gradient.c")          \
    X(dlx_op_softmax, "softmax.c")                      \
    X(dlx_op_slice, "slice.c")                          \
    X(dlx_op_bce_logits_target, "bce.c")                \
    X(dlx_op_l1, "l1.c")                                \
    X(dlx_op_sum, "reduce.c")                           \
    X(dlx_op_mean, "reduce.c")                          \
    X(dlx_op_embedding, "embedding.c")                  \
    X(dlx_op_conv_transpose2d, "conv_transpose2d.c")    \
    X(dlx_op_upsample2d, "upsample2d.c")                \
    X(dlx_op_sub, "sub.c")                              \
    X(dlx_op_batchnorm, "batchnorm.c")                  \
    X(dlx_op_pulling_away, "pulling_away.c")            \
    X(dlx_op_rnn, "rnn.c")                              \
    X(dlx_op_lstm, "rnn.c")                             \
    X(dlx_op_transpose, "transpose.c")                  \
    X(dlx_op_spectral, "spectral.c")                    \
    X(dlx_op_graph_local, "graph_local.c")              \
    X(dlx_op_graph_maxpool, "graph_local.c")            \
    X(dlx_op_contractive, "contractive.c")              \
    X(dlx_op_reparam, "gaussian.c")                     \
    X(dlx_op_kl_normal, "gaussian.c")                   \
    X(dlx_op_xent_uniform, "xent_uniform.c")            \
    /* one line per op above, each ending in a backslash */
/* Files the ops share, built too (meson.build reads these HELPER lines):
 * HELPER("linear_small.c") HELPER("conv2d_direct.c") HELPER("conv2d_direct_backward.c") HELPER("conv_cols.c") HELPER("conv_gemm.c")
 * HELPER("rnn_gemm.c") HELPER("rnn_rop.c") */

#define DECLARE(op, file) extern const dlx_op_vtbl op;
DLX_OP_LIST(DECLARE)
#define ENTRY(op, file) &op,
static const dlx_op_vtbl *const k_ops[] = {DLX_OP_LIST(ENTRY)};

#define N_OPS ((int)(sizeof k_ops / sizeof k_ops[0]))

const dlx_op_vtbl *dlx_op_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < N_OPS; i++)
        if (strcmp(k_ops[i]->name, name) == 0)
            return k_ops[i];
    return NULL;
}

const dlx_op_vtbl *dlx_op_at(int i)
{
    return i >= 0 && i < N_OPS ? k_ops[i] : NULL;
}
