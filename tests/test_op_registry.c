/* Every op of the registry, from what its own file declares (core/ops/<op>.c):
 * at least one gradient-check case, each passing the finite-difference check;
 * an op with a fast path has a naive reference, and the two agree on every
 * case; every case gives the same bits on 1, 2 and 3 threads; and the layer
 * types the ops give a spec have unique names and their own keys. Adding an
 * op is its file plus one registry line: nothing here lists the ops. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gradcheck.h"
#include "../core/layer_build.h"
#include "../core/layers.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"
#include "op_example.h"

typedef test_op built;

static int registry_size(void)
{
    int n = 0;
    while (dlx_op_at(n))
        n++;
    return n;
}

/* The op of example ex on its inputs, compiled and filled from seed. */
static void build(built *b, const dlx_op_vtbl *v, const dlx_op_example *ex, uint64_t seed)
{
    test_op_add(b, v, ex, false);
    ck_assert_msg(dlx_graph_compile(b->g, 0, &b->err) == 0, "%s: %s", ex->what, b->err.msg);
    dlx_rng rng;
    dlx_rng_init(&rng, seed, DLX_STREAM_USER);
    for (int i = 0; i < ex->n_in; i++)
        test_op_fill(b, ex, i, &rng);
}

static void unbuild(built *b)
{
    test_op_free(b);
}

static dlx_ctx ctx_of(const dlx_op_example *ex, int threads)
{
    return (dlx_ctx){.training = ex->training, .seed = 11, .step = 3, .threads = threads};
}

START_TEST(test_gradient)
{
    const dlx_op_vtbl *v = dlx_op_at(_i);
    ck_assert_msg(v->n_examples > 0 && v->examples,
                  "op '%s' declares no gradient-check case (dlx_op_vtbl.examples in its file)", v->name);
    for (int k = 0; k < v->n_examples; k++) {
        const dlx_op_example *ex = &v->examples[k];
        built b;
        build(&b, v, ex, 100 + (uint64_t)(16 * _i + k));
        dlx_ctx ctx = ctx_of(ex, 1);
        bool any_grad = false;
        for (int i = 0; i < ex->n_in; i++)
            any_grad = any_grad || ex->in[i].role == DLX_EX_GRAD || ex->in[i].role == DLX_EX_PARAM;
        if (!any_grad) {
            /* an op that passes no gradient back (stop_gradient): nothing to
             * differentiate; its own tests show where the gradient stops */
            ck_assert_msg(b.top->out.grad == NULL, "%s: a gradient without a differentiable input", ex->what);
            dlx_graph_forward(b.g, &ctx);
            unbuild(&b);
            continue;
        }
        dlx_gradcheck_opts o = dlx_gradcheck_defaults();
        dlx_gradcheck_report rep;
        int rc = dlx_gradcheck_graph(b.g, b.top, &ctx, &o, &rep, &b.err);
        ck_assert_msg(rc == 0, "%s: %s", ex->what, b.err.msg);
        ck_assert_msg(rep.checked > 0, "%s: nothing checked", ex->what);
        ck_assert_msg(rep.failed == 0, "%s: %d of %d failed, worst %s", ex->what, rep.failed, rep.checked,
                      rep.worst);
        ck_assert_msg(rep.max_rel_err < 1e-3, "%s: norm-wise relative error %g, worst %s", ex->what,
                      rep.max_rel_err, rep.worst);
        ck_assert_msg(rep.skipped * 4 <= rep.checked, "%s: %d skipped of %d", ex->what, rep.skipped,
                      rep.checked);
        unbuild(&b);
    }
}
END_TEST

/* The fast forward against the op's naive one, on every case. */
START_TEST(test_reference)
{
    const dlx_op_vtbl *v = dlx_op_at(_i);
    if (!v->fast_path) {
        ck_assert_msg(v->reference == NULL, "op '%s' has a reference but says it has no fast path", v->name);
        return;
    }
    ck_assert_msg(v->reference != NULL, "op '%s' has a fast path but no naive reference", v->name);
    for (int k = 0; k < v->n_examples; k++) {
        const dlx_op_example *ex = &v->examples[k];
        built b;
        build(&b, v, ex, 500 + (uint64_t)(16 * _i + k));
        dlx_ctx ctx = ctx_of(ex, 1);
        dlx_graph_forward(b.g, &ctx);
        int64_t n = b.top->out.numel;
        float *fast = malloc((size_t)n * sizeof *fast);
        ck_assert_ptr_nonnull(fast);
        memcpy(fast, b.top->out.data, (size_t)n * sizeof *fast);
        v->reference(b.top, &ctx);
        double worst = 0;
        for (int64_t j = 0; j < n; j++) {
            double d = fabs((double)fast[j] - b.top->out.data[j]) / (1.0 + fabs(b.top->out.data[j]));
            worst = d > worst ? d : worst;
        }
        ck_assert_msg(worst < 1e-5, "%s: the fast path differs from the reference by %g", ex->what, worst);
        free(fast);
        unbuild(&b);
    }
}
END_TEST

/* Forward and backward from one seed gradient: the output and every gradient
 * into out (numel of the output, then of each input with a gradient). */
static size_t run_once(built *b, const dlx_op_example *ex, int threads, float *out)
{
    dlx_ctx ctx = ctx_of(ex, threads);
    dlx_params_zero_grad(&b->P);
    dlx_graph_forward(b->g, &ctx);
    int64_t n = b->top->out.numel;
    size_t at = 0;
    memcpy(out + at, b->top->out.data, (size_t)n * sizeof *out);
    at += (size_t)n;
    if (!b->top->out.grad)
        return at;
    float *seed = malloc((size_t)n * sizeof *seed);
    ck_assert_ptr_nonnull(seed);
    for (int64_t j = 0; j < n; j++)
        seed[j] = 0.5f + 0.25f * (float)(j % 5);
    dlx_graph_backward_from(b->g, b->top, seed, &ctx);
    free(seed);
    for (int i = 0; i < ex->n_in; i++) {
        const dlx_node *x = b->in[i];
        if (x->out.grad) {
            memcpy(out + at, x->out.grad, (size_t)x->out.numel * sizeof *out);
            at += (size_t)x->out.numel;
        }
    }
    return at;
}

START_TEST(test_thread_bits)
{
    const dlx_op_vtbl *v = dlx_op_at(_i);
    for (int k = 0; k < v->n_examples; k++) {
        const dlx_op_example *ex = &v->examples[k];
        built b;
        build(&b, v, ex, 900 + (uint64_t)(16 * _i + k));
        size_t cap = (size_t)b.top->out.numel;
        for (int i = 0; i < ex->n_in; i++)
            cap += (size_t)b.in[i]->out.numel;
        float *one = malloc(cap * sizeof *one), *many = malloc(cap * sizeof *many);
        ck_assert(one && many);
        size_t n1 = run_once(&b, ex, 1, one);
        for (int t = 2; t <= 3; t++) {
            size_t nt = run_once(&b, ex, t, many);
            ck_assert_uint_eq(n1, nt);
            ck_assert_msg(memcmp(one, many, n1 * sizeof *one) == 0, "%s: other bits on %d threads than on 1",
                          ex->what, t);
        }
        free(one);
        free(many);
        unbuild(&b);
    }
}
END_TEST

START_TEST(test_registry)
{
    int n = registry_size();
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_null(dlx_op_at(-1));
    ck_assert_ptr_null(dlx_op_at(n));
    ck_assert_ptr_null(dlx_op_find(NULL));
    ck_assert_ptr_null(dlx_op_find("no such op"));
    for (int i = 0; i < n; i++) {
        const dlx_op_vtbl *v = dlx_op_at(i);
        ck_assert_ptr_eq(dlx_op_find(v->name), v); /* names are unique */
        ck_assert(v->infer && v->forward && v->backward);
        ck_assert(v->n_in_min >= 1 && v->n_in_min <= v->n_in_max && v->n_in_max <= DLX_MAX_INPUTS);
        for (int k = 0; k < v->n_examples; k++)
            ck_assert_msg(v->examples[k].n_in >= v->n_in_min && v->examples[k].n_in <= v->n_in_max,
                          "%s: %d inputs", v->examples[k].what, v->examples[k].n_in);
    }
}
END_TEST

/* Layer types: unique names, a builder, help, and no key that every layer has. */
START_TEST(test_layer_types)
{
    static const char *const common[] = {"type", "name", "inputs", "share"};
    int n = 0;
    for (; dlx_layer_type_at(n); n++) {
        const dlx_layer_def *t = dlx_layer_type_at(n);
        ck_assert(t->type && t->type[0] && t->build && t->help && t->keys);
        ck_assert(t->n_in_max >= 1 && t->n_in_max <= DLX_MAX_INPUTS);
        for (int j = 0; j < n; j++)
            ck_assert_msg(strcmp(dlx_layer_type_at(j)->type, t->type) != 0, "layer type '%s' twice", t->type);
        for (int k = 0; t->keys[k].key; k++)
            for (size_t c = 0; c < sizeof common / sizeof *common; c++)
                ck_assert_msg(strcmp(t->keys[k].key, common[c]) != 0, "%s lists the common key %s", t->type,
                              common[c]);
    }
    ck_assert_int_ge(n, 1);
    ck_assert_ptr_null(dlx_layer_type_at(-1));
}
END_TEST

Suite *op_registry_suite(void)
{
    Suite *s = suite_create("op_registry");
    TCase *tc = tcase_create("registry");
    tcase_set_timeout(tc, 240);
    int n = registry_size();
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_layer_types);
    tcase_add_loop_test(tc, test_gradient, 0, n);
    tcase_add_loop_test(tc, test_reference, 0, n);
    tcase_add_loop_test(tc, test_thread_bits, 0, n);
    suite_add_tcase(s, tc);
    return s;
}
