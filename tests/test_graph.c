/* The static graph: build order, arena planning, fan-out and tied parameters
 * accumulating gradients, inference graphs, memory limits. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "../core/graph.h"
#include "../core/ops/ops.h"

static void fill(float *x, int64_t n, float base)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = base + 0.1f * (float)(i % 7) - 0.3f;
}

/* y = W x used twice through one parameter: dW must be the sum of both uses. */
START_TEST(tied_parameter_gradients_add_up)
{
    dlx_params p;
    dlx_params_init(&p);
    int w = dlx_params_declare(&p, "w", dlx_shape_2d(3, 3), (dlx_init){0}, true, NULL);
    ck_assert_int_eq(dlx_params_finalize(&p, NULL), 0);
    dlx_graph *g = dlx_graph_create(&p);
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_2d(2, 3), false, NULL);
    dlx_node *w1 = dlx_graph_param(g, w, NULL);
    dlx_node *w2 = dlx_graph_param(g, w, NULL);
    dlx_linear_attr la = {0};
    dlx_node *h = dlx_graph_op(g, &dlx_op_linear, "h", (dlx_node *[]){x, w1}, 2, &la, DLX_NOLOC, NULL);
    dlx_node *o = dlx_graph_op(g, &dlx_op_linear, "o", (dlx_node *[]){h, w2}, 2, &la, DLX_NOLOC, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(dlx_graph_compile(g, 0, NULL), 0);
    ck_assert_ptr_eq(w1->out.data, w2->out.data);
    fill(x->out.data, 6, 0.5f);
    fill(p.values, 9, 0.2f);
    dlx_ctx ctx = {.training = true};
    dlx_graph_forward(g, &ctx);
    float seed[6] = {1, 0.5f, -1, 0.25f, 2, -0.5f};
    dlx_params_zero_grad(&p);
    dlx_graph_backward_from(g, o, seed, &ctx);
    /* reference: o = W (W x); dW = dO h^T + W^T dO x^T  (per batch row) */
    double ref[9] = {0};
    const float *W = p.values, *X = x->out.data, *H = h->out.data;
    for (int b = 0; b < 2; b++) /* second use: dO h^T */
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                ref[i * 3 + j] += seed[b * 3 + i] * H[b * 3 + j];
    for (int b = 0; b < 2; b++) /* first use: (W^T dO) x^T */
        for (int j = 0; j < 3; j++) {
            double gh = 0; /* dL/dh_j = sum_k W_kj dO_k */
            for (int k = 0; k < 3; k++)
                gh += W[k * 3 + j] * seed[b * 3 + k];
            for (int c = 0; c < 3; c++)
                ref[j * 3 + c] += gh * X[b * 3 + c];
        }
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq_tol(p.grads[i], ref[i], 1e-5);
    /* a second backward gives the same (activation grads are re-zeroed) */
    dlx_params_zero_grad(&p);
    dlx_graph_backward_from(g, o, seed, &ctx);
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq_tol(p.grads[i], ref[i], 1e-5);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

/* x feeds two branches that are added: dx = 2 * dy. */
START_TEST(fan_out_accumulates)
{
    dlx_params p;
    dlx_params_init(&p);
    dlx_params_finalize(&p, NULL);
    dlx_graph *g = dlx_graph_create(&p);
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_2d(2, 4), true, NULL);
    dlx_node *s = dlx_graph_op(g, &dlx_op_add, "s", (dlx_node *[]){x, x}, 2, NULL, DLX_NOLOC, NULL);
    ck_assert_int_eq(dlx_graph_compile(g, 0, NULL), 0);
    fill(x->out.data, 8, 1.0f);
    dlx_ctx ctx = {0};
    dlx_graph_forward(g, &ctx);
    for (int i = 0; i < 8; i++)
        ck_assert(s->out.data[i] == 2 * x->out.data[i]);
    dlx_graph_backward_from(g, s, NULL, &ctx);
    for (int i = 0; i < 8; i++)
        ck_assert(x->out.grad[i] == 2.0f);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

START_TEST(shape_error_names_node_and_location)
{
    dlx_params p;
    dlx_params_init(&p);
    dlx_graph *g = dlx_graph_create(&p);
    dlx_node *a = dlx_graph_input(g, "a", dlx_shape_2d(2, 4), false, NULL);
    dlx_node *b = dlx_graph_input(g, "b", dlx_shape_2d(2, 5), false, NULL);
    dlx_err err;
    dlx_err_clear(&err);
    dlx_loc loc = {"x.yaml", 7, 5};
    dlx_node *s = dlx_graph_op(g, &dlx_op_add, "res", (dlx_node *[]){a, b}, 2, NULL, loc, &err);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, DLX_EINVAL);
    ck_assert_int_eq(err.line, 7);
    ck_assert_ptr_nonnull(strstr(err.msg, "add 'res'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "[2, 4] and [2, 5]"));
    ck_assert_int_eq(g->n, 2); /* the failed node is not left in the graph */
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

START_TEST(memory_limit_refuses_before_allocation)
{
    dlx_params p;
    dlx_params_init(&p);
    dlx_params_finalize(&p, NULL);
    dlx_graph *g = dlx_graph_create(&p);
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_2d(1024, 1024), true, NULL);
    dlx_graph_op(g, &dlx_op_add, "s", (dlx_node *[]){x, x}, 2, NULL, DLX_NOLOC, NULL);
    ck_assert_int_eq(dlx_graph_plan_bytes(g), 4u * 4 * 1024 * 1024);
    dlx_err err;
    ck_assert_int_eq(dlx_graph_compile(g, 1 << 20, &err), DLX_ENOMEM);
    ck_assert_str_eq(err.msg, "the graph needs 16.0 MiB of activations, over the limit of 1.0 MiB");
    ck_assert_int_eq(dlx_graph_compile(g, 0, NULL), 0);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

START_TEST(inference_graph_has_no_gradients)
{
    dlx_params p;
    dlx_params_init(&p);
    dlx_params_finalize(&p, NULL);
    dlx_graph *g = dlx_graph_create(&p);
    g->inference = true;
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_2d(16, 16), true, NULL);
    dlx_node *s = dlx_graph_op(g, &dlx_op_add, "s", (dlx_node *[]){x, x}, 2, NULL, DLX_NOLOC, NULL);
    ck_assert_int_eq(dlx_graph_compile(g, 0, NULL), 0);
    ck_assert_ptr_null(x->out.grad);
    ck_assert_ptr_null(s->out.grad);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tied_parameter_gradients_add_up);
    tcase_add_test(tc, fan_out_accumulates);
    tcase_add_test(tc, shape_error_names_node_and_location);
    tcase_add_test(tc, memory_limit_refuses_before_allocation);
    tcase_add_test(tc, inference_graph_has_no_gradients);
    suite_add_tcase(s, tc);
    return s;
}
