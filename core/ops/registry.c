/* The only list of ops. Adding an op = its file in core/ops/ (the kernel,
 * its layer types with their builders, its gradient-check cases and, with a
 * fast path, its naive reference: see dlx_op_vtbl) + one line here. Specs
 * read layer types from here (core/layers.c); tests/test_op_registry.c checks
 * every op listed. Specs and checkpoints refer to ops by name, never by their
 * index in this table. */
#include <string.h>

#include "ops.h"

static const dlx_op_vtbl *const k_ops[] = {
    &dlx_op_linear,  &dlx_op_conv2d,  &dlx_op_maxpool2d, &dlx_op_avgpool2d,
    &dlx_op_act,     &dlx_op_dropout, &dlx_op_reshape,   &dlx_op_add,
    &dlx_op_concat,  &dlx_op_softmax_xent, &dlx_op_mse, &dlx_op_shrink, &dlx_op_lcod,
    &dlx_op_bce_logits, &dlx_op_weighted_sum,
};

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
