/* A graph of one registered op on its example (tests/op_example.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_example.h"

void test_op_add(test_op *b, const dlx_op_vtbl *v, const dlx_op_example *ex, bool grad_as_param)
{
    memset(b, 0, sizeof *b);
    dlx_params_init(&b->P);
    int idx[DLX_MAX_INPUTS];
    for (int i = 0; i < ex->n_in; i++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        dlx_example_role r = ex->in[i].role;
        idx[i] = -1;
        if (r == DLX_EX_PARAM || (grad_as_param && r == DLX_EX_GRAD))
            idx[i] = dlx_params_declare(&b->P, name, ex->in[i].shape, (dlx_init){.kind = DLX_INIT_ZERO}, true,
                                        &b->err);
        else if (r == DLX_EX_BUFFER)
            idx[i] = dlx_params_declare_buffer(&b->P, name, ex->in[i].shape, 0.0f, &b->err);
        else
            continue;
        ck_assert_msg(idx[i] >= 0, "%s: %s", ex->what, b->err.msg);
    }
    ck_assert_int_eq(dlx_params_finalize(&b->P, &b->err), 0);
    b->g = dlx_graph_create(&b->P);
    ck_assert_ptr_nonnull(b->g);
    for (int i = 0; i < ex->n_in; i++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        dlx_example_role r = ex->in[i].role;
        if (idx[i] >= 0 && r != DLX_EX_BUFFER)
            b->in[i] = dlx_graph_param(b->g, idx[i], &b->err);
        else if (r == DLX_EX_BUFFER)
            b->in[i] = dlx_graph_buffer(b->g, idx[i], &b->err);
        else
            b->in[i] = dlx_graph_input(b->g, name, ex->in[i].shape, r == DLX_EX_GRAD, &b->err);
        ck_assert_msg(b->in[i] != NULL, "%s: %s", ex->what, b->err.msg);
    }
    b->top = dlx_graph_op(b->g, v, "op", b->in, ex->n_in, ex->attr, DLX_NOLOC, &b->err);
    ck_assert_msg(b->top != NULL, "%s: %s", ex->what, b->err.msg);
    b->loss = b->top;
}

void test_op_fill(test_op *b, const dlx_op_example *ex, int i, dlx_rng *rng)
{
    const dlx_example_in *in = &ex->in[i];
    float *x = b->in[i]->out.data;
    const int64_t len = b->in[i]->out.numel;
    if (in->role == DLX_EX_LABELS) {
        for (int64_t j = 0; j < len; j++)
            x[j] = (float)dlx_rng_below(rng, (uint32_t)ex->classes);
        return;
    }
    if (ex->spaced && (in->role == DLX_EX_DATA || in->role == DLX_EX_GRAD)) {
        uint32_t *perm = malloc((size_t)len * sizeof *perm);
        ck_assert_ptr_nonnull(perm);
        for (int64_t j = 0; j < len; j++)
            perm[j] = (uint32_t)j;
        dlx_rng_shuffle(rng, perm, (uint32_t)len);
        for (int64_t j = 0; j < len; j++)
            x[j] = 0.02f * ((float)perm[j] - 0.5f * (float)len) + 0.01f;
        free(perm);
        return;
    }
    bool data = in->role == DLX_EX_DATA || in->role == DLX_EX_GRAD;
    float lo = in->lo, hi = in->hi;
    if (lo == 0.0f && hi == 0.0f)
        lo = 0.05f, hi = data ? 1.0f : 0.6f;
    for (int64_t j = 0; j < len; j++) {
        float m = lo + (hi - lo) * dlx_rng_uniform(rng);
        x[j] = in->positive || dlx_rng_uniform(rng) >= 0.5f ? m : -m;
    }
}

void test_op_free(test_op *b)
{
    dlx_graph_destroy(b->g);
    dlx_params_free(&b->P);
}
