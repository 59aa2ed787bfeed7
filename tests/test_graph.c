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

/* Two losses over one trunk: x -> linear W1 -> batchnorm -> h; loss a =
 * mse(linear W2 (h), t), loss b = mse(linear W3 (dropout h) + e, t). */
typedef struct two_heads {
    dlx_params p;
    dlx_graph *g;
    dlx_node *x, *e, *t, *lin1, *drop, *a, *b;
} two_heads;

static void two_heads_build(two_heads *m)
{
    dlx_params_init(&m->p);
    int w[3];
    for (int i = 0; i < 3; i++) {
        char name[8] = {'w', (char)('1' + i), 0};
        w[i] = dlx_params_declare(&m->p, name, dlx_shape_2d(6, 6), (dlx_init){0}, true, NULL);
    }
    int gamma = dlx_params_declare(&m->p, "gamma", dlx_shape_1d(6), (dlx_init){0}, false, NULL);
    int beta = dlx_params_declare(&m->p, "beta", dlx_shape_1d(6), (dlx_init){0}, false, NULL);
    int rm = dlx_params_declare_buffer(&m->p, "rm", dlx_shape_1d(6), 0.0f, NULL);
    int rv = dlx_params_declare_buffer(&m->p, "rv", dlx_shape_1d(6), 1.0f, NULL);
    ck_assert_int_eq(dlx_params_finalize(&m->p, NULL), 0);
    dlx_graph *g = m->g = dlx_graph_create(&m->p);
    m->x = dlx_graph_input(g, "x", dlx_shape_2d(4, 6), false, NULL);
    m->e = dlx_graph_input(g, "e", dlx_shape_2d(4, 6), false, NULL);
    m->t = dlx_graph_input(g, "t", dlx_shape_2d(4, 6), false, NULL);
    dlx_linear_attr la = {0};
    dlx_batchnorm_attr ba = {.eps = 1e-5f, .momentum = 0.1f};
    dlx_dropout_attr da = {.rate = 0.5f};
    dlx_mse_attr ma = {DLX_MSE_MEAN};
    m->lin1 = dlx_graph_op(g, &dlx_op_linear, "lin1", (dlx_node *[]){m->x, dlx_graph_param(g, w[0], NULL)}, 2, &la,
                           DLX_NOLOC, NULL);
    dlx_node *h = dlx_graph_op(g, &dlx_op_batchnorm, "bn",
                               (dlx_node *[]){m->lin1, dlx_graph_param(g, gamma, NULL), dlx_graph_param(g, beta, NULL),
                                              dlx_graph_buffer(g, rm, NULL), dlx_graph_buffer(g, rv, NULL)},
                               5, &ba, DLX_NOLOC, NULL);
    dlx_node *ya = dlx_graph_op(g, &dlx_op_linear, "ya", (dlx_node *[]){h, dlx_graph_param(g, w[1], NULL)}, 2, &la,
                                DLX_NOLOC, NULL);
    m->a = dlx_graph_op(g, &dlx_op_mse, "a", (dlx_node *[]){ya, m->t}, 2, &ma, DLX_NOLOC, NULL);
    m->drop = dlx_graph_op(g, &dlx_op_dropout, "drop", &h, 1, &da, DLX_NOLOC, NULL);
    dlx_node *yb = dlx_graph_op(g, &dlx_op_linear, "yb", (dlx_node *[]){m->drop, dlx_graph_param(g, w[2], NULL)}, 2,
                                &la, DLX_NOLOC, NULL);
    dlx_node *sb = dlx_graph_op(g, &dlx_op_add, "sb", (dlx_node *[]){yb, m->e}, 2, NULL, DLX_NOLOC, NULL);
    m->b = dlx_graph_op(g, &dlx_op_mse, "b", (dlx_node *[]){sb, m->t}, 2, &ma, DLX_NOLOC, NULL);
    ck_assert_ptr_nonnull(m->b);
    ck_assert_int_eq(dlx_graph_compile(g, 0, NULL), 0);
    for (int64_t i = 0; i < m->p.total; i++)
        m->p.values[i] = 0.05f * (float)((i * 7) % 13) - 0.3f;
    fill(m->x->out.data, 24, 0.5f);
    fill(m->e->out.data, 24, -0.2f);
    fill(m->t->out.data, 24, 0.1f);
}

static void two_heads_free(two_heads *m)
{
    dlx_graph_destroy(m->g);
    dlx_params_free(&m->p);
}

static void same_bits(const float *a, const float *b, int64_t n)
{
    ck_assert_int_eq(memcmp(a, b, (size_t)n * sizeof(float)), 0);
}

/* A step of two updates, the same on a graph that reuses values and one that
 * runs every node each time: the same losses, gradients and running
 * statistics, bit for bit; the reusing graph runs the trunk (lin1) once
 * while x and W1 stay, again when either changes or after a backward
 * through it; dropout always (a new mask each forward). */
START_TEST(reuse_gives_the_bits_of_every_forward)
{
    two_heads r, f;
    two_heads_build(&r);
    two_heads_build(&f);
    ck_assert_int_eq(dlx_graph_reuse_enable(r.g, NULL), 0);
    double prof[2][64] = {{0}};
    ck_assert_int_lt(r.g->n, 32);
    r.g->prof = prof[0];
    f.g->prof = prof[1];
    bool only_w2[8] = {false, true}, only_w3[8] = {false, false, true}, trunk[8] = {true, false, false, true, true};
    two_heads *both[2] = {&r, &f};
    double lin1_s = 0.0;
    for (int round = 0; round < 4; round++) {
        dlx_ctx ctx = {.training = true, .seed = 5, .step = (uint64_t)(2 * round), .update_stats = true};
        if (round == 2) /* a new batch: the trunk runs again */
            for (int k = 0; k < 2; k++)
                fill(both[k]->x->out.data, 24, 0.7f);
        for (int k = 0; k < 2; k++) { /* update 1: loss a for W2, then W2 moves */
            dlx_graph_forward_to(both[k]->g, both[k]->a, &ctx);
            dlx_params_zero_grad(&both[k]->p);
            dlx_graph_backward_masked(both[k]->g, both[k]->a, only_w2, &ctx);
            both[k]->p.values[36] += 0.25f;
            dlx_graph_params_changed(both[k]->g, only_w2);
        }
        if (round == 0)
            lin1_s = prof[0][2 * r.lin1->id];
        ctx.step++;
        for (int k = 0; k < 2; k++) { /* update 2: loss b, new noise e, the same x fed again */
            fill(both[k]->e->out.data, 24, 0.1f * (float)round);
            fill(both[k]->x->out.data, 24, round >= 2 ? 0.7f : 0.5f);
            dlx_graph_forward_to(both[k]->g, both[k]->b, &ctx);
            dlx_params_zero_grad(&both[k]->p);
            dlx_graph_backward_masked(both[k]->g, both[k]->b, round == 1 ? trunk : only_w3, &ctx);
        }
        if (round == 0) /* lin1's value was reused: not timed again */
            ck_assert(prof[0][2 * r.lin1->id] == lin1_s);
        ck_assert(r.b->out.data[0] == f.b->out.data[0]);
        ck_assert(r.a->out.data[0] == f.a->out.data[0]);
        same_bits(r.p.grads, f.p.grads, r.p.total);
        same_bits(r.p.buffer_values, f.p.buffer_values, 12);
        same_bits(r.drop->scratch, f.drop->scratch, 24);
    }
    ck_assert(prof[0][2 * r.lin1->id] > lin1_s); /* ran again for the new batch */
    r.g->prof = f.g->prof = NULL;
    two_heads_free(&r);
    two_heads_free(&f);
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
    tcase_add_test(tc, reuse_gives_the_bits_of_every_forward);
    tcase_add_test(tc, shape_error_names_node_and_location);
    tcase_add_test(tc, memory_limit_refuses_before_allocation);
    tcase_add_test(tc, inference_graph_has_no_gradients);
    suite_add_tcase(s, tc);
    return s;
}
