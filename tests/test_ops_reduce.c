/* Values of sum, mean, l1, bce_logits_target and embedding on known inputs
 * (their gradients against finite differences are tests/test_op_registry.c's
 * job): forward results, gradients from a known seed, repeated embedding
 * indices accumulating, bad indices giving NaN rows and no gradient, shape
 * errors, and the YAML layer types with their defaults. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/layers.h"
#include "../core/ops/ops.h"
#include "../core/spec.h"

#define TOL 1e-6f

/* A one-op graph on inputs given by value; input i has a gradient when
 * grad[i]. Labels and targets are inputs without one. */
typedef struct one_op {
    dlx_params P;
    dlx_graph *g;
    dlx_node *in[2], *y;
    dlx_err err;
} one_op;

static int op_build(one_op *b, const dlx_op_vtbl *op, const void *attr, int n, const dlx_shape *shapes,
                    const bool *grad, const float *const *values)
{
    memset(b, 0, sizeof *b);
    dlx_params_init(&b->P);
    ck_assert_int_eq(dlx_params_finalize(&b->P, &b->err), 0);
    b->g = dlx_graph_create(&b->P);
    ck_assert_ptr_nonnull(b->g);
    for (int i = 0; i < n; i++) {
        b->in[i] = dlx_graph_input(b->g, i ? "in1" : "in0", shapes[i], grad[i], &b->err);
        ck_assert_ptr_nonnull(b->in[i]);
    }
    b->y = dlx_graph_op(b->g, op, "op", b->in, n, attr, DLX_NOLOC, &b->err);
    if (!b->y)
        return b->err.code;
    ck_assert_int_eq(dlx_graph_compile(b->g, 0, &b->err), 0);
    for (int i = 0; i < n; i++)
        memcpy(b->in[i]->out.data, values[i], (size_t)b->in[i]->out.numel * sizeof(float));
    return 0;
}

/* Forward, then backward from seed (NULL: ones). */
static void op_run(one_op *b, const float *seed)
{
    const dlx_ctx ctx = {.threads = 1};
    dlx_graph_forward(b->g, &ctx);
    if (b->y->out.grad)
        dlx_graph_backward_from(b->g, b->y, seed, &ctx);
}

static void op_free(one_op *b)
{
    dlx_graph_destroy(b->g);
    dlx_params_free(&b->P);
}

static void expect(const float *got, const float *want, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= TOL * (1.0f + fabsf(want[i])), "%s[%lld]: %g, expected %g", what,
                      (long long)i, (double)got[i], (double)want[i]);
}

static const float k_x23[] = {1, 2, 3, 4, 5, 6};

START_TEST(sum_mean_per_sample)
{
    const dlx_shape s[] = {dlx_shape_2d(2, 3)};
    const float *v[] = {k_x23};
    const float seed[] = {1.0f, 2.0f};
    one_op b;
    ck_assert_int_eq(op_build(&b, &dlx_op_sum, &(dlx_reduce_attr){.all = false}, 1, s, (bool[]){true}, v), 0);
    char buf[64];
    ck_assert_str_eq(dlx_shape_str(&b.y->out.shape, buf, sizeof buf), "[2, 1]");
    op_run(&b, seed);
    expect(b.y->out.data, (float[]){6, 15}, 2, "sum");
    expect(b.in[0]->out.grad, (float[]){1, 1, 1, 2, 2, 2}, 6, "d sum");
    op_free(&b);

    ck_assert_int_eq(op_build(&b, &dlx_op_mean, &(dlx_reduce_attr){.all = false}, 1, s, (bool[]){true}, v), 0);
    op_run(&b, seed);
    expect(b.y->out.data, (float[]){2, 5}, 2, "mean");
    const float t = 1.0f / 3.0f, u = 2.0f / 3.0f;
    expect(b.in[0]->out.grad, (float[]){t, t, t, u, u, u}, 6, "d mean");
    op_free(&b);
}
END_TEST

START_TEST(sum_mean_all)
{
    const dlx_shape s[] = {dlx_shape_4d(2, 1, 1, 3)};
    const float *v[] = {k_x23};
    one_op b;
    ck_assert_int_eq(op_build(&b, &dlx_op_sum, &(dlx_reduce_attr){.all = true}, 1, s, (bool[]){true}, v), 0);
    ck_assert_int_eq(b.y->out.shape.ndim, 1);
    ck_assert_int_eq(b.y->out.numel, 1);
    op_run(&b, (float[]){0.5f});
    expect(b.y->out.data, (float[]){21}, 1, "sum all");
    expect(b.in[0]->out.grad, (float[]){0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, 6, "d sum all");
    op_free(&b);

    ck_assert_int_eq(op_build(&b, &dlx_op_mean, &(dlx_reduce_attr){.all = true}, 1, s, (bool[]){true}, v), 0);
    op_run(&b, NULL);
    expect(b.y->out.data, (float[]){3.5f}, 1, "mean all");
    const float w = 1.0f / 6.0f;
    expect(b.in[0]->out.grad, (float[]){w, w, w, w, w, w}, 6, "d mean all");
    op_free(&b);

    /* in double: 2^24 + 1 + 1 in float would lose the ones */
    const float big[] = {16777216.0f, 1.0f, 1.0f};
    ck_assert_int_eq(op_build(&b, &dlx_op_sum, &(dlx_reduce_attr){.all = true}, 1, (dlx_shape[]){dlx_shape_1d(3)},
                              (bool[]){false}, (const float *[]){big}),
                     0);
    op_run(&b, NULL);
    ck_assert_float_eq(b.y->out.data[0], 16777218.0f);
    op_free(&b);
}
END_TEST

START_TEST(l1_values)
{
    const float p[] = {1, 2, 3, 4}, t[] = {0, 2, 5, 3.5f};
    const dlx_shape s[] = {dlx_shape_2d(2, 2), dlx_shape_1d(4)};
    one_op b;
    ck_assert_int_eq(op_build(&b, &dlx_op_l1, NULL, 2, s, (bool[]){true, true}, (const float *[]){p, t}), 0);
    op_run(&b, (float[]){2.0f});
    /* (1 + 0 + 2 + 0.5) / 4; gradient 2 sign(p - t) / 4, 0 where p = t */
    expect(b.y->out.data, (float[]){0.875f}, 1, "l1");
    expect(b.in[0]->out.grad, (float[]){0.5f, 0.0f, -0.5f, 0.5f}, 4, "d l1");
    expect(b.in[1]->out.grad, (float[]){0, 0, 0, 0}, 4, "the target's gradient");
    op_free(&b);
    ck_assert_int_eq(op_build(&b, &dlx_op_l1, NULL, 2, (dlx_shape[]){dlx_shape_2d(2, 2), dlx_shape_1d(3)},
                              (bool[]){true, false}, (const float *[]){p, t}),
                     DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(b.err.msg, "4 elements but target [3] has 3"));
    op_free(&b);
}
END_TEST

START_TEST(bce_target_values)
{
    /* loss_i = max(l, 0) - l t + log(1 + exp(-|l|)) */
    const float l[] = {0.0f, 2.0f, -1.0f}, t[] = {1.0f, 0.0f, 0.25f};
    double want = (log(2.0) + (2.0 + log1p(exp(-2.0))) + (0.25 + log1p(exp(-1.0)))) / 3.0;
    const dlx_shape s[] = {dlx_shape_2d(1, 3), dlx_shape_2d(1, 3)};
    one_op b;
    ck_assert_int_eq(op_build(&b, &dlx_op_bce_logits_target, NULL, 2, s, (bool[]){true, false}, (const float *[]){l, t}), 0);
    op_run(&b, NULL);
    expect(b.y->out.data, (float[]){(float)want}, 1, "bce");
    float sg[3];
    for (int i = 0; i < 3; i++)
        sg[i] = (float)((1.0 / (1.0 + exp(-(double)l[i])) - t[i]) / 3.0);
    expect(b.in[0]->out.grad, sg, 3, "d bce");
    op_free(&b);
}
END_TEST

/* table rows r: (10 r, 10 r + 1) */
static const float k_table[] = {0, 1, 10, 11, 20, 21, 30, 31};

START_TEST(embedding_rows_and_accumulation)
{
    const float idx[] = {2, 0, 2, 3, 2, 0};
    const dlx_shape s[] = {dlx_shape_2d(2, 3), dlx_shape_2d(4, 2)};
    one_op b;
    ck_assert_int_eq(op_build(&b, &dlx_op_embedding, NULL, 2, s, (bool[]){false, true}, (const float *[]){idx, k_table}), 0);
    char buf[64];
    ck_assert_str_eq(dlx_shape_str(&b.y->out.shape, buf, sizeof buf), "[2, 3, 2]");
    float seed[12];
    for (int i = 0; i < 12; i++)
        seed[i] = (float)(i + 1);
    op_run(&b, seed);
    expect(b.y->out.data, (float[]){20, 21, 0, 1, 20, 21, 30, 31, 20, 21, 0, 1}, 12, "rows");
    /* row 0 gets positions 1 and 5, row 2 positions 0, 2 and 4, row 1 nothing */
    expect(b.in[1]->out.grad, (float[]){3 + 11, 4 + 12, 0, 0, 1 + 5 + 9, 2 + 6 + 10, 7, 8}, 8, "d table");
    /* the op's backward adds to what is there (the graph's zeroes first) */
    const dlx_ctx ctx = {.threads = 1};
    dlx_op_embedding.backward(b.y, &ctx);
    ck_assert_float_eq(b.in[1]->out.grad[0], 28.0f);
    op_free(&b);
}
END_TEST

START_TEST(embedding_bad_indices)
{
    /* out of range both ways, fractional, NaN, then one good index */
    const float idx[] = {4, -1, 1.5f, NAN, 1};
    const dlx_shape s[] = {dlx_shape_1d(5), dlx_shape_2d(4, 2)};
    one_op b;
    ck_assert_int_eq(op_build(&b, &dlx_op_embedding, NULL, 2, s, (bool[]){false, true}, (const float *[]){idx, k_table}), 0);
    op_run(&b, NULL);
    for (int i = 0; i < 8; i++)
        ck_assert_msg(isnan(b.y->out.data[i]), "row %d is not NaN", i / 2);
    expect(b.y->out.data + 8, (float[]){10, 11}, 2, "good row");
    expect(b.in[1]->out.grad, (float[]){0, 0, 1, 1, 0, 0, 0, 0}, 8, "d table");
    op_free(&b);
}
END_TEST

START_TEST(embedding_shape_errors)
{
    const float z[8] = {0};
    one_op b;
    ck_assert_int_eq(op_build(&b, &dlx_op_embedding, NULL, 2, (dlx_shape[]){dlx_shape_1d(2), dlx_shape_1d(8)},
                              (bool[]){false, true}, (const float *[]){z, z}),
                     DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(b.err.msg, "the table must have shape (V, D)"));
    op_free(&b);
    ck_assert_int_eq(op_build(&b, &dlx_op_embedding, NULL, 2,
                              (dlx_shape[]){dlx_shape_4d(1, 1, 1, 2), dlx_shape_2d(4, 2)}, (bool[]){false, true},
                              (const float *[]){z, z}),
                     DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(b.err.msg, "indices must have shape"));
    op_free(&b);
}
END_TEST

static int build_layers(const char *yaml, dlx_shape in, dlx_params *p, dlx_graph **g, dlx_spec **spec,
                        dlx_layers_out *out, dlx_err *err)
{
    ck_assert_int_eq(dlx_spec_load_string(yaml, "t.yaml", spec, err), 0);
    dlx_params_init(p);
    *g = dlx_graph_create(p);
    dlx_node *x = dlx_graph_input(*g, "input", in, false, NULL);
    memset(out, 0, sizeof *out);
    return dlx_layers_build(*g, p, dlx_spec_get(dlx_spec_root(*spec), "layers"), "", x, out, err);
}

START_TEST(layer_types)
{
    dlx_params p;
    dlx_graph *g;
    dlx_spec *spec;
    dlx_layers_out out;
    dlx_err err;
    char buf[64];
    int rc = build_layers("layers:\n"
                          "  - {type: embedding, vocab: 7, dim: 5}\n"
                          "  - {type: mean}\n"
                          "  - {type: sum, over: all}\n",
                          dlx_shape_2d(3, 4), &p, &g, &spec, &out, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(dlx_shape_str(&out.info[0].out, buf, sizeof buf), "[3, 4, 5]");
    ck_assert_str_eq(dlx_shape_str(&out.info[1].out, buf, sizeof buf), "[3, 1]");
    ck_assert_str_eq(dlx_shape_str(&out.info[2].out, buf, sizeof buf), "[1]");
    ck_assert_int_eq(out.info[0].n_params, 35);
    int w = dlx_params_find(&p, "embedding1.weight");
    ck_assert_int_ge(w, 0);
    /* torch.nn.Embedding's default: N(0, 1) */
    ck_assert_int_eq(p.items[w].init.kind, DLX_INIT_NORMAL);
    ck_assert_float_eq(p.items[w].init.a, 1.0f);
    free(out.info);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
    dlx_spec_destroy(spec);

    rc = build_layers("layers:\n  - {type: mean, over: rows}\n", dlx_shape_2d(3, 4), &p, &g, &spec, &out, &err);
    ck_assert_int_eq(rc, DLX_EINVAL);
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_nonnull(strstr(err.msg, "features"));
    free(out.info);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
    dlx_spec_destroy(spec);
}
END_TEST

Suite *ops_reduce_suite(void)
{
    Suite *s = suite_create("ops_reduce");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, sum_mean_per_sample);
    tcase_add_test(tc, sum_mean_all);
    tcase_add_test(tc, l1_values);
    tcase_add_test(tc, bce_target_values);
    tcase_add_test(tc, embedding_rows_and_accumulation);
    tcase_add_test(tc, embedding_bad_indices);
    tcase_add_test(tc, embedding_shape_errors);
    tcase_add_test(tc, layer_types);
    suite_add_tcase(s, tc);
    return s;
}
