/* Gradient checks of every op in the registry, and of the checker itself.
 *
 * Every op's own gradient-check cases run in tests/test_op_registry.c; here
 * what they do not show: dropout's mask, reshape's fan-out, where concat puts
 * each input, a loss after other ops, LISTA's tied threshold.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gradcheck.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"

/* ---- a small graph under construction ---- */

typedef struct env {
    dlx_params P;
    dlx_graph *g;
    dlx_err err;
    uint64_t seed;
    bool spaced; /* inputs take distinct values 0.02 apart (max-pool: no ties) */
} env;

static void env_open(env *e, uint64_t seed)
{
    memset(e, 0, sizeof *e);
    dlx_params_init(&e->P);
    e->g = dlx_graph_create(&e->P);
    ck_assert_ptr_nonnull(e->g);
    e->seed = seed;
}

static void env_close(env *e)
{
    dlx_graph_destroy(e->g);
    dlx_params_free(&e->P);
}

static dlx_node *par(env *e, const char *name, dlx_shape s)
{
    int idx = dlx_params_declare(&e->P, name, s, (dlx_init){.kind = DLX_INIT_ZERO}, true, &e->err);
    ck_assert_int_ge(idx, 0);
    dlx_node *n = dlx_graph_param(e->g, idx, &e->err);
    ck_assert_ptr_nonnull(n);
    return n;
}

static dlx_node *inp(env *e, const char *name, dlx_shape s, bool needs_grad)
{
    dlx_node *n = dlx_graph_input(e->g, name, s, needs_grad, &e->err);
    ck_assert_ptr_nonnull(n);
    return n;
}

static dlx_node *op(env *e, const char *opname, dlx_node **in, int n_in, const void *attr)
{
    const dlx_op_vtbl *v = dlx_op_find(opname);
    ck_assert_msg(v != NULL, "op '%s' is not in the registry", opname);
    dlx_node *n = dlx_graph_op(e->g, v, NULL, in, n_in, attr, DLX_NOLOC, &e->err);
    ck_assert_msg(n != NULL, "building %s: %s", opname, e->err.msg);
    return n;
}

/* Finalize, compile and fill: inputs in +-[0.05, 1] (or spaced), params in
 * +-[0.05, 0.6]; an input named "labels" gets class indices below `classes`. */
static void compile_fill(env *e, int classes)
{
    ck_assert_int_eq(dlx_params_finalize(&e->P, &e->err), 0);
    ck_assert_msg(dlx_graph_compile(e->g, 0, &e->err) == 0, "%s", e->err.msg);
    dlx_rng rng;
    dlx_rng_init(&rng, e->seed, DLX_STREAM_USER);
    for (int i = 0; i < e->g->n; i++) {
        dlx_node *n = e->g->nodes[i];
        float *x = n->out.data;
        int64_t len = n->out.numel;
        if (n->kind == DLX_NODE_OP)
            continue;
        if (n->kind == DLX_NODE_INPUT && strcmp(n->name, "labels") == 0) {
            for (int64_t j = 0; j < len; j++)
                x[j] = (float)dlx_rng_below(&rng, (uint32_t)classes);
        } else if (n->kind == DLX_NODE_INPUT && e->spaced) {
            uint32_t *perm = malloc((size_t)len * sizeof *perm);
            ck_assert_ptr_nonnull(perm);
            for (int64_t j = 0; j < len; j++)
                perm[j] = (uint32_t)j;
            dlx_rng_shuffle(&rng, perm, (uint32_t)len);
            for (int64_t j = 0; j < len; j++)
                x[j] = 0.02f * ((float)perm[j] - 0.5f * (float)len) + 0.01f;
            free(perm);
        } else {
            float lo = 0.05f, hi = n->kind == DLX_NODE_PARAM ? 0.6f : 1.0f;
            for (int64_t j = 0; j < len; j++) {
                float m = lo + (hi - lo) * dlx_rng_uniform(&rng);
                x[j] = dlx_rng_uniform(&rng) < 0.5f ? -m : m;
            }
        }
    }
}

static const dlx_ctx k_eval = {.training = false, .seed = 11, .step = 0, .threads = 1};

/* Check the graph from top and require a clean pass. */
static dlx_gradcheck_report check_ok(env *e, dlx_node *top, const dlx_ctx *ctx, const char *what)
{
    dlx_gradcheck_opts o = dlx_gradcheck_defaults();
    dlx_gradcheck_report rep;
    int rc = dlx_gradcheck_graph(e->g, top, ctx, &o, &rep, &e->err);
    ck_assert_msg(rc == 0, "%s: %s", what, e->err.msg);
    ck_assert_msg(rep.checked > 0, "%s: nothing checked", what);
    ck_assert_msg(rep.failed == 0, "%s: %d of %d failed, worst %s", what, rep.failed, rep.checked,
                  rep.worst);
    ck_assert_msg(rep.max_rel_err < 1e-3, "%s: norm-wise relative error %g, worst %s", what,
                  rep.max_rel_err, rep.worst);
    ck_assert_msg(rep.skipped * 4 <= rep.checked, "%s: %d skipped of %d", what, rep.skipped,
                  rep.checked);
    return rep;
}

/* ---- fixtures, one per op ---- */

START_TEST(test_dropout)
{
    for (int training = 0; training <= 1; training++) {
        env e;
        env_open(&e, 500);
        dlx_node *x = inp(&e, "x", dlx_shape_2d(4, 16), true);
        dlx_dropout_attr a = {.rate = 0.3f};
        dlx_node *y = op(&e, "dropout", &x, 1, &a);
        compile_fill(&e, 0);
        dlx_ctx ctx = {.training = training, .seed = 9, .step = 3, .threads = 1};
        check_ok(&e, y, &ctx, training ? "dropout training" : "dropout inference");
        /* the mask is real in training (some zeroed, the rest scaled), absent otherwise */
        int zeros = 0;
        for (int64_t i = 0; i < y->out.numel; i++) {
            float xi = x->out.data[i], yi = y->out.data[i];
            if (yi == 0.0f)
                zeros++;
            else
                ck_assert_float_eq_tol(yi, training ? xi / 0.7f : xi, 1e-6f);
        }
        if (training)
            ck_assert(zeros > 5 && zeros < 40);
        else
            ck_assert_int_eq(zeros, 0);
        env_close(&e);
    }
}
END_TEST

START_TEST(test_reshape)
{
    env e;
    env_open(&e, 600);
    dlx_node *x = inp(&e, "x", dlx_shape_make(3, (int64_t[]){2, 3, 4}), true);
    dlx_reshape_attr a = {.ndim = 4, .d = {0, 3, -1, 2}};
    dlx_node *y = op(&e, "reshape", &x, 1, &a);
    ck_assert_int_eq(y->out.shape.d[0], 2);
    ck_assert_int_eq(y->out.shape.d[2], 2);
    dlx_reshape_attr b = {.ndim = 2, .d = {0, -1}}, c = {.ndim = 2, .d = {2, 12}};
    dlx_node *z = op(&e, "reshape", &y, 1, &b);
    ck_assert_int_eq(z->out.shape.d[1], 12);
    /* x fans out to a second reshape: backward must add, not overwrite */
    dlx_node *w = op(&e, "reshape", &x, 1, &c);
    dlx_node *top = op(&e, "add", (dlx_node *[]){z, w}, 2, NULL);
    compile_fill(&e, 0);
    check_ok(&e, top, &k_eval, "reshape");
    dlx_graph_forward(e.g, &k_eval);
    ck_assert_mem_eq(z->out.data, x->out.data, 24 * sizeof(float));
    env_close(&e);
}
END_TEST

START_TEST(test_add)
{
    env e;
    env_open(&e, 700);
    dlx_node *in[3] = {inp(&e, "a", dlx_shape_2d(3, 5), true), inp(&e, "b", dlx_shape_2d(3, 5), true),
                       par(&e, "c", dlx_shape_2d(3, 5))};
    dlx_node *y = op(&e, "add", in, 3, NULL);
    compile_fill(&e, 0);
    check_ok(&e, y, &k_eval, "add of 3");
    for (int i = 0; i < 15; i++)
        ck_assert_float_eq(y->out.data[i],
                           in[0]->out.data[i] + in[1]->out.data[i] + in[2]->out.data[i]);
    env_close(&e);
}
END_TEST

/* weights of both signs: y = 0.5 a - 2 b + 1.25 c; weights of 1 give add's bits */
START_TEST(test_weighted_sum)
{
    env e;
    env_open(&e, 750);
    dlx_node *in[3] = {inp(&e, "a", dlx_shape_2d(2, 3), true), inp(&e, "b", dlx_shape_2d(2, 3), true),
                       inp(&e, "c", dlx_shape_2d(2, 3), true)};
    dlx_weighted_sum_attr w = {.w = {0.5f, -2.0f, 1.25f}}, ones = {.w = {1.0f, 1.0f, 1.0f}};
    dlx_node *y = op(&e, "weighted_sum", in, 3, &w);
    dlx_node *s = op(&e, "weighted_sum", in, 3, &ones), *t = op(&e, "add", in, 3, NULL);
    compile_fill(&e, 0);
    dlx_graph_forward(e.g, &k_eval);
    for (int i = 0; i < 6; i++) {
        float a = in[0]->out.data[i], b = in[1]->out.data[i], c = in[2]->out.data[i];
        ck_assert_float_eq_tol(y->out.data[i], 0.5f * a - 2.0f * b + 1.25f * c, 1e-6f);
        ck_assert_float_eq(s->out.data[i], t->out.data[i]);
    }
    env_close(&e);
}
END_TEST

/* codes (1, 0), (0, 1), (1, 1): squared cosines 0, 1/2, 1/2, each pair twice
 * over N (N - 1) = 6 -> 1/3; scaling a code changes nothing */
START_TEST(test_pulling_away)
{
    env e;
    env_open(&e, 760);
    dlx_node *s = inp(&e, "s", dlx_shape_2d(3, 2), true);
    dlx_node *f = op(&e, "pulling_away", &s, 1, NULL);
    compile_fill(&e, 0);
    const float codes[6] = {1, 0, 0, 3, 2, 2};
    memcpy(s->out.data, codes, sizeof codes);
    dlx_graph_forward(e.g, &k_eval);
    ck_assert_float_eq_tol(f->out.data[0], 1.0f / 3.0f, 1e-6f);
    check_ok(&e, f, &k_eval, "pulling_away on known codes");
    env_close(&e);
}
END_TEST

/* logits (0, ln 3): p = (1/4, 3/4), loss = ln 4 - ln 3 / 2; equal logits
 * (0, 0): p uniform, loss ln 2, the smallest: no gradient */
START_TEST(test_xent_uniform)
{
    env e;
    env_open(&e, 770);
    dlx_node *z = inp(&e, "z", dlx_shape_2d(2, 2), true);
    dlx_node *f = op(&e, "xent_uniform", &z, 1, NULL);
    compile_fill(&e, 0);
    const float logits[4] = {0.0f, logf(3.0f), 0.0f, 0.0f};
    memcpy(z->out.data, logits, sizeof logits);
    dlx_graph_forward(e.g, &k_eval);
    const float want = 0.5f * ((logf(4.0f) - 0.5f * logf(3.0f)) + logf(2.0f));
    ck_assert_float_eq_tol(f->out.data[0], want, 1e-6f);
    dlx_graph_backward(e.g, f, &k_eval);
    const float dz[4] = {-0.125f, 0.125f, 0.0f, 0.0f}; /* (p - 1/2) / N */
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq_tol(z->out.grad[i], dz[i], 1e-6f);
    check_ok(&e, f, &k_eval, "xent_uniform on known logits");
    env_close(&e);
}
END_TEST

/* contractive (core/ops/contractive.c) on known codes and weights: h = [[1/2,
 * 1/4], [1/2, 3/4]], W = [[1, 2], [0, 3]] (row sums of squares 5 and 9):
 * loss = (1/2) sum_n sum_j (h(1-h))^2 rs_j = 0.62890625; dh = (2/N) h(1-h)(1-2h)
 * rs_j = [[0, 0.84375], [0, -0.84375]]; dW = (2/N) W_ji sum_n (h(1-h))^2 =
 * [[0.125, 0.25], [0, 0.2109375]]; then finite differences there. */
START_TEST(test_contractive)
{
    env e;
    env_open(&e, 771);
    dlx_node *in[2] = {inp(&e, "h", dlx_shape_2d(2, 2), true), par(&e, "W", dlx_shape_2d(2, 2))};
    dlx_node *f = op(&e, "contractive", in, 2, NULL);
    compile_fill(&e, 0);
    const float h[4] = {0.5f, 0.25f, 0.5f, 0.75f}, w[4] = {1.0f, 2.0f, 0.0f, 3.0f};
    memcpy(in[0]->out.data, h, sizeof h);
    memcpy(in[1]->out.data, w, sizeof w);
    dlx_graph_forward(e.g, &k_eval);
    ck_assert_float_eq_tol(f->out.data[0], 0.62890625f, 1e-6f);
    memset(in[1]->out.grad, 0, sizeof w);
    dlx_graph_backward(e.g, f, &k_eval);
    const float dh[4] = {0.0f, 0.84375f, 0.0f, -0.84375f}, dw[4] = {0.125f, 0.25f, 0.0f, 0.2109375f};
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq_tol(in[0]->out.grad[i], dh[i], 1e-6f);
        ck_assert_float_eq_tol(in[1]->out.grad[i], dw[i], 1e-6f);
    }
    check_ok(&e, f, &k_eval, "contractive on known codes");
    env_close(&e);
}
END_TEST

START_TEST(test_concat)
{
    {
        env e;
        env_open(&e, 800);
        dlx_node *in[2] = {inp(&e, "a", dlx_shape_4d(2, 3, 2, 2), true),
                           inp(&e, "b", dlx_shape_4d(2, 1, 2, 2), true)};
        dlx_concat_attr a = {.axis = 1};
        dlx_node *y = op(&e, "concat", in, 2, &a);
        ck_assert_int_eq(y->out.shape.d[1], 4);
        compile_fill(&e, 0);
        check_ok(&e, y, &k_eval, "concat axis 1");
        /* sample 1, channel 3 is b's sample 1, channel 0 */
        ck_assert_float_eq(y->out.data[16 + 12 + 3], in[1]->out.data[4 + 3]);
        ck_assert_float_eq(y->out.data[16 + 5], in[0]->out.data[12 + 5]);
        env_close(&e);
    }
    {
        env e;
        env_open(&e, 801);
        dlx_node *in[3] = {inp(&e, "a", dlx_shape_4d(2, 2, 3, 2), true),
                           par(&e, "b", dlx_shape_4d(2, 2, 3, 1)),
                           inp(&e, "c", dlx_shape_4d(2, 2, 3, 3), true)};
        dlx_concat_attr a = {.axis = 3};
        dlx_node *y = op(&e, "concat", in, 3, &a);
        ck_assert_int_eq(y->out.shape.d[3], 6);
        compile_fill(&e, 0);
        check_ok(&e, y, &k_eval, "concat axis 3");
        /* row (n=1, c=0, h=2): a's 2 cells, b's 1, c's 3 */
        int64_t row = 6 + 2;
        ck_assert_float_eq(y->out.data[row * 6 + 2], in[1]->out.data[row]);
        ck_assert_float_eq(y->out.data[row * 6 + 5], in[2]->out.data[row * 3 + 2]);
        env_close(&e);
    }
}
END_TEST

START_TEST(test_softmax_xent)
{
    for (int four_d = 0; four_d <= 1; four_d++) {
        env e;
        env_open(&e, 900 + (uint64_t)four_d);
        dlx_node *x = inp(&e, "x", dlx_shape_2d(4, 6), true);
        dlx_node *lin[2] = {x, par(&e, "fc.weight", dlx_shape_2d(5, 6))};
        dlx_linear_attr la = {.act = DLX_ACT_NONE};
        dlx_node *z = op(&e, "linear", lin, 2, &la);
        if (four_d) {
            dlx_reshape_attr ra = {.ndim = 4, .d = {0, 5, 1, 1}};
            z = op(&e, "reshape", &z, 1, &ra);
        }
        dlx_node *in[2] = {z, inp(&e, "labels", dlx_shape_1d(4), false)};
        dlx_node *loss = op(&e, "softmax_xent", in, 2, NULL);
        ck_assert_int_eq(loss->out.numel, 1);
        compile_fill(&e, 5);
        check_ok(&e, loss, &k_eval, four_d ? "softmax_xent (N,K,1,1)" : "softmax_xent (N,K)");
        ck_assert_ptr_null(in[1]->out.grad);
        env_close(&e);
    }
}
END_TEST

/* Thresholds of both signs' magnitudes around the inputs, so that the mask
 * has zeros and survivors; x at |x| = theta is a kink the checker skips. */
START_TEST(test_shrink)
{
    for (int tied = 0; tied <= 1; tied++) {
        env e;
        env_open(&e, 1100 + (uint64_t)tied);
        dlx_node *x = inp(&e, "x", dlx_shape_2d(5, 6), true);
        dlx_node *th = par(&e, "theta", dlx_shape_1d(6));
        dlx_node *y = op(&e, "shrink", (dlx_node *[]){x, th}, 2, NULL);
        if (tied) /* LISTA's unrolled use: the same theta twice */
            y = op(&e, "shrink", (dlx_node *[]){y, th}, 2, NULL);
        compile_fill(&e, 0);
        for (int j = 0; j < 6; j++)
            th->out.data[j] = 0.1f + 0.07f * (float)j;
        check_ok(&e, y, &k_eval, tied ? "shrink twice (tied theta)" : "shrink");
        env_close(&e);
    }
}
END_TEST

/* ---- the checker itself ---- */

/* y = 2x whose backward claims 2.2: the checker must catch it. */
static int twice_infer(dlx_node *n, dlx_err *err)
{
    (void)err;
    n->out.shape = n->in[0]->out.shape;
    return 0;
}
static void twice_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    for (int64_t i = 0; i < n->out.numel; i++)
        n->out.data[i] = 2.0f * n->in[0]->out.data[i];
}
static void twice_backward_wrong(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    if (n->in[0]->out.grad)
        for (int64_t i = 0; i < n->out.numel; i++)
            n->in[0]->out.grad[i] += 1.1f * 2.0f * n->out.grad[i];
}
/* its double dual is the true y = 2x (the double path's function) */
static void twice_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    for (int64_t i = 0; i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            out->v[i] = 2.0 * in[0]->v[i];
        if (mode != DLX_ROP_VALUE)
            out->r[i] = 2.0 * in[0]->r[i];
    }
}
static void twice_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    (void)n;
    for (int64_t i = 0; in[0]->g && i < out->numel; i++) {
        if (mode != DLX_ROP_TANGENT)
            in[0]->g[i] += 2.0 * out->g[i];
        if (mode != DLX_ROP_VALUE)
            in[0]->rg[i] += 2.0 * out->rg[i];
    }
}
static const dlx_op_rop k_twice_rop = {twice_rop_forward, twice_rop_backward, NULL};
static const dlx_op_vtbl k_twice_wrong = {
    .name = "twice_wrong", .n_in_min = 1, .n_in_max = 1, .infer = twice_infer,
    .forward = twice_forward, .backward = twice_backward_wrong, .rop = &k_twice_rop,
};

/* with the differences in double (the default) and in float */
START_TEST(test_detects_wrong_gradient)
{
    for (int p = 0; p < 2; p++) {
        env e;
        env_open(&e, 1100);
        dlx_node *lin[2] = {inp(&e, "x", dlx_shape_2d(3, 4), false), par(&e, "w", dlx_shape_2d(5, 4))};
        dlx_linear_attr la = {.act = DLX_ACT_TANH};
        dlx_node *h = op(&e, "linear", lin, 2, &la);
        dlx_node *y = dlx_graph_op(e.g, &k_twice_wrong, "bad", &h, 1, NULL, DLX_NOLOC, &e.err);
        ck_assert_ptr_nonnull(y);
        compile_fill(&e, 0);
        dlx_gradcheck_opts o = dlx_gradcheck_defaults();
        o.precision = p ? DLX_GRADCHECK_FLOAT : DLX_GRADCHECK_DOUBLE;
        dlx_gradcheck_report rep;
        ck_assert_int_eq(dlx_gradcheck_graph(e.g, y, &k_eval, &o, &rep, &e.err), 0);
        /* every coordinate of w and the direction are off by 10%; a coordinate
         * whose gradient is below ~10 atol can still pass */
        ck_assert_int_eq(rep.checked, 21);
        ck_assert_int_ge(rep.failed, 18);
        ck_assert(rep.max_rel_err > 0.08 && rep.max_rel_err < 0.12);
        ck_assert_msg(strncmp(rep.worst, "'w' ", 4) == 0, "worst: %s", rep.worst);
        ck_assert_ptr_nonnull(strstr(rep.worst, "analytic"));
        env_close(&e);
    }
}
END_TEST

/* A relu input 0.4 eps from its kink: the float path's step crosses it and
 * skips the coordinate; the double path's second look at eps / 8 does not,
 * and checks it. An op without an R-operator is refused in double, named. */
START_TEST(test_kink_within_step)
{
    for (int p = 0; p < 2; p++) {
        env e;
        env_open(&e, 1450);
        dlx_node *x = inp(&e, "x", dlx_shape_2d(1, 3), true);
        dlx_act_attr a = {.act = DLX_ACT_RELU};
        dlx_node *y = op(&e, "act", &x, 1, &a);
        compile_fill(&e, 0);
        x->out.data[0] = 0.5f, x->out.data[1] = 4e-4f, x->out.data[2] = -0.7f;
        dlx_gradcheck_opts o = dlx_gradcheck_defaults();
        o.precision = p ? DLX_GRADCHECK_FLOAT : DLX_GRADCHECK_DOUBLE;
        dlx_gradcheck_report rep;
        ck_assert_int_eq(dlx_gradcheck_graph(e.g, y, &k_eval, &o, &rep, &e.err), 0);
        ck_assert_int_eq(rep.failed, 0);
        if (p) { /* float: x[1] skipped (the direction too if its step crosses) */
            ck_assert_int_ge(rep.skipped, 1);
            ck_assert_int_ge(rep.checked, 2);
            ck_assert_msg(strncmp(rep.kink, "'x' ", 4) == 0, "kink: %s", rep.kink);
        } else {
            ck_assert_int_eq(rep.skipped, 0);
            ck_assert_int_eq(rep.checked, 4);
            ck_assert_str_eq(rep.kink, "");
        }
        env_close(&e);
    }
    env e;
    env_open(&e, 1460);
    dlx_node *x = inp(&e, "x", dlx_shape_2d(2, 2), true);
    dlx_op_vtbl bare = k_twice_wrong;
    bare.rop = NULL;
    dlx_node *y = dlx_graph_op(e.g, &bare, "bare", &x, 1, NULL, DLX_NOLOC, &e.err);
    compile_fill(&e, 0);
    dlx_gradcheck_opts o = dlx_gradcheck_defaults();
    dlx_gradcheck_report rep;
    ck_assert_int_eq(dlx_gradcheck_graph(e.g, y, &k_eval, &o, &rep, &e.err), DLX_EINVAL);
    ck_assert_msg(strstr(e.err.msg, "twice_wrong") && strstr(e.err.msg, "R-operator"), "%s", e.err.msg);
    env_close(&e);
}
END_TEST

START_TEST(test_tied_parameter)
{
    env e;
    env_open(&e, 1200);
    int idx = dlx_params_declare(&e.P, "shared.weight", dlx_shape_2d(5, 5),
                                 (dlx_init){.kind = DLX_INIT_ZERO}, true, &e.err);
    ck_assert_int_eq(idx, 0);
    ck_assert_int_eq(dlx_params_declare(&e.P, "shared.weight", dlx_shape_2d(5, 5),
                                        (dlx_init){.kind = DLX_INIT_ZERO}, true, &e.err),
                     0);
    dlx_node *x = inp(&e, "x", dlx_shape_2d(3, 5), true);
    dlx_node *w1 = dlx_graph_param(e.g, idx, &e.err), *w2 = dlx_graph_param(e.g, idx, &e.err);
    ck_assert_ptr_nonnull(w1);
    ck_assert_ptr_nonnull(w2);
    dlx_linear_attr a1 = {.act = DLX_ACT_TANH}, a2 = {.act = DLX_ACT_NONE};
    dlx_node *h = op(&e, "linear", (dlx_node *[]){x, w1}, 2, &a1);
    dlx_node *y = op(&e, "linear", (dlx_node *[]){h, w2}, 2, &a2);
    compile_fill(&e, 0);
    dlx_gradcheck_report rep = check_ok(&e, y, &k_eval, "tied weight");
    /* W once (25 coordinates + direction), x (15 + direction) */
    ck_assert_int_eq(rep.checked + rep.skipped, 42);
    env_close(&e);
}
END_TEST

START_TEST(test_restores_values)
{
    env e;
    env_open(&e, 1300);
    dlx_node *in[3] = {inp(&e, "x", dlx_shape_2d(4, 3), true), par(&e, "w", dlx_shape_2d(2, 3)),
                       par(&e, "b", dlx_shape_1d(2))};
    dlx_linear_attr a = {.act = DLX_ACT_SIGMOID};
    dlx_node *y = op(&e, "linear", in, 3, &a);
    compile_fill(&e, 0);
    dlx_graph_forward(e.g, &k_eval);
    float before_p[8], before_x[12], before_y[8];
    memcpy(before_p, e.P.values, sizeof before_p);
    memcpy(before_x, in[0]->out.data, sizeof before_x);
    memcpy(before_y, y->out.data, sizeof before_y);
    check_ok(&e, y, &k_eval, "restore");
    ck_assert_mem_eq(e.P.values, before_p, sizeof before_p);
    ck_assert_mem_eq(in[0]->out.data, before_x, sizeof before_x);
    ck_assert_mem_eq(y->out.data, before_y, sizeof before_y);
    env_close(&e);
}
END_TEST

START_TEST(test_skips_kinks)
{
    /* relu inputs exactly at 0: each such coordinate is a kink, skipped, not failed */
    env e;
    env_open(&e, 1400);
    dlx_node *x = inp(&e, "x", dlx_shape_2d(2, 4), true);
    dlx_act_attr a = {.act = DLX_ACT_RELU};
    dlx_node *y = op(&e, "act", &x, 1, &a);
    compile_fill(&e, 0);
    x->out.data[1] = 0.0f;
    x->out.data[6] = 0.0f;
    dlx_gradcheck_opts o = dlx_gradcheck_defaults();
    dlx_gradcheck_report rep;
    ck_assert_int_eq(dlx_gradcheck_graph(e.g, y, &k_eval, &o, &rep, &e.err), 0);
    ck_assert_int_eq(rep.failed, 0);
    /* the two coordinates, and the direction, which moves them too */
    ck_assert_int_eq(rep.skipped, 3);
    ck_assert_int_eq(rep.checked, 6);
    ck_assert_msg(strncmp(rep.kink, "'x' ", 4) == 0 && strstr(rep.kink, "one-sided"), "kink: %s", rep.kink);
    env_close(&e);
}
END_TEST

START_TEST(test_invalid_use)
{
    env e;
    env_open(&e, 1500);
    dlx_node *x = inp(&e, "x", dlx_shape_2d(2, 3), false);
    dlx_act_attr a = {.act = DLX_ACT_TANH};
    dlx_node *y = op(&e, "act", &x, 1, &a);
    dlx_gradcheck_report rep;
    dlx_gradcheck_opts o = dlx_gradcheck_defaults();
    ck_assert_int_eq(dlx_gradcheck_graph(e.g, y, &k_eval, &o, &rep, &e.err), DLX_EINVAL);
    ck_assert_str_eq(e.err.msg, "gradcheck: the graph must be compiled before it is checked");
    compile_fill(&e, 0);
    ck_assert_int_eq(dlx_gradcheck_graph(e.g, y, &k_eval, &o, &rep, &e.err), DLX_EINVAL);
    ck_assert_str_eq(e.err.msg, "gradcheck: node 'node1' has no gradient: no parameter or input "
                                "with needs_grad is upstream of it");
    env_close(&e);

    env_open(&e, 1501);
    x = inp(&e, "x", dlx_shape_2d(2, 3), true);
    y = op(&e, "act", &x, 1, &a);
    compile_fill(&e, 0);
    o.eps = 0.0;
    ck_assert_int_eq(dlx_gradcheck_graph(e.g, y, &k_eval, &o, &rep, &e.err), DLX_EINVAL);
    ck_assert_str_eq(e.err.msg, "gradcheck: options need 0 < eps < 1, rtol >= 0, atol >= 0 and "
                                "max_coords >= 1 (got eps 0, rtol 0.01, atol 0.0001, max_coords 64)");
    env_close(&e);
}
END_TEST

/* ---- behaviour of the ops written here: values and shape errors ---- */

START_TEST(test_loss_values)
{
    env e;
    env_open(&e, 1600);
    dlx_node *z = inp(&e, "z", dlx_shape_2d(2, 3), true);
    dlx_node *lab = inp(&e, "lab", dlx_shape_1d(2), false);
    dlx_node *t = inp(&e, "t", dlx_shape_2d(2, 3), true);
    dlx_node *xent = op(&e, "softmax_xent", (dlx_node *[]){z, lab}, 2, NULL);
    dlx_mse_attr m0 = {DLX_MSE_MEAN}, m1 = {DLX_MSE_HALF_SUM};
    dlx_node *l0 = op(&e, "mse", (dlx_node *[]){z, t}, 2, &m0);
    dlx_node *l1 = op(&e, "mse", (dlx_node *[]){z, t}, 2, &m1);
    ck_assert_int_eq(dlx_params_finalize(&e.P, &e.err), 0);
    ck_assert_int_eq(dlx_graph_compile(e.g, 0, &e.err), 0);
    const float zv[6] = {0, 0, 0, 1000, 0, -1000}, tv[6] = {1, 0, 0, 1000, 2, -1000};
    memcpy(z->out.data, zv, sizeof zv);
    memcpy(t->out.data, tv, sizeof tv);
    lab->out.data[0] = 2;
    lab->out.data[1] = 0;
    dlx_graph_forward(e.g, &k_eval);
    /* sample 0: log 3; sample 1: stable at |z| = 1000, loss 0 */
    ck_assert_float_eq_tol(xent->out.data[0], (float)(log(3.0) / 2), 1e-6f);
    ck_assert_float_eq_tol(l0->out.data[0], 5.0f / 6.0f, 1e-6f);
    ck_assert_float_eq_tol(l1->out.data[0], 0.5f * 5.0f / 2.0f, 1e-6f);
    /* backward of mean mse: dz = 2 (z - t) / 6; the target gets nothing */
    dlx_graph_backward(e.g, l0, &k_eval);
    ck_assert_float_eq_tol(z->out.grad[0], -2.0f / 6.0f, 1e-6f);
    ck_assert_float_eq_tol(z->out.grad[4], -4.0f / 6.0f, 1e-6f);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(t->out.grad[i], 0.0f);
    /* backward of xent: (p - onehot) / N */
    dlx_graph_backward(e.g, xent, &k_eval);
    ck_assert_float_eq_tol(z->out.grad[0], (1.0f / 3.0f) / 2.0f, 1e-6f);
    ck_assert_float_eq_tol(z->out.grad[2], (1.0f / 3.0f - 1.0f) / 2.0f, 1e-6f);
    ck_assert_float_eq_tol(z->out.grad[3], 0.0f, 1e-6f);
    /* a label out of range makes the loss NaN */
    lab->out.data[1] = 3;
    dlx_graph_forward(e.g, &k_eval);
    ck_assert(isnan(xent->out.data[0]));
    env_close(&e);
}
END_TEST

/* Both softmax paths (rows of at most 16 classes as one vector, longer rows
 * in a loop): the loss against a double reference, and NaN for a NaN logit
 * wherever it sits in its row. */
START_TEST(test_xent_row_paths)
{
    const int ks[2] = {10, 20};
    for (int c = 0; c < 2; c++) {
        const int K = ks[c], N = 3;
        env e;
        env_open(&e, 1700 + (uint64_t)c);
        dlx_node *z = inp(&e, "z", dlx_shape_2d(N, K), true);
        dlx_node *lab = inp(&e, "lab", dlx_shape_1d(N), false);
        dlx_node *xent = op(&e, "softmax_xent", (dlx_node *[]){z, lab}, 2, NULL);
        ck_assert_int_eq(dlx_params_finalize(&e.P, &e.err), 0);
        ck_assert_int_eq(dlx_graph_compile(e.g, 0, &e.err), 0);
        double want = 0.0;
        for (int i = 0; i < N; i++) {
            double mx = -INFINITY, sum = 0.0;
            for (int j = 0; j < K; j++) {
                z->out.data[i * K + j] = (float)(0.37 * ((i * 7 + j * 3) % 11) - 1.5);
                mx = fmax(mx, z->out.data[i * K + j]);
            }
            for (int j = 0; j < K; j++)
                sum += exp(z->out.data[i * K + j] - mx);
            lab->out.data[i] = (float)((i * 5) % K);
            want += log(sum) + mx - z->out.data[i * K + (i * 5) % K];
        }
        dlx_graph_forward(e.g, &k_eval);
        ck_assert_double_eq_tol(xent->out.data[0], want / N, 1e-6);
        for (int at = 0; at < K; at += K - 1) { /* first and last of a row */
            float keep = z->out.data[K + at];
            z->out.data[K + at] = NAN;
            dlx_graph_forward(e.g, &k_eval);
            ck_assert_msg(isnan(xent->out.data[0]), "K %d: NaN at %d gave loss %g", K, at, (double)xent->out.data[0]);
            z->out.data[K + at] = keep;
        }
        env_close(&e);
    }
}
END_TEST

/* The message an op gives for bad input shapes (graph adds node and shapes). */
static const char *op_error(env *e, const char *opname, dlx_node **in, int n_in, const void *attr)
{
    dlx_node *n = dlx_graph_op(e->g, dlx_op_find(opname), "bad", in, n_in, attr, DLX_NOLOC, &e->err);
    ck_assert_ptr_null(n);
    ck_assert_int_eq(e->err.code, DLX_EINVAL);
    return e->err.msg;
}

START_TEST(test_shape_errors)
{
    env e;
    env_open(&e, 1700);
    dlx_node *z = inp(&e, "z", dlx_shape_2d(4, 3), false);
    dlx_node *l5 = inp(&e, "l5", dlx_shape_1d(5), false);
    dlx_node *v = inp(&e, "v", dlx_shape_make(3, (int64_t[]){4, 3, 2}), false);
    ck_assert_str_eq(op_error(&e, "softmax_xent", (dlx_node *[]){z, l5}, 2, NULL),
                     "softmax_xent 'bad': labels must have shape [4] (one class index per sample), "
                     "got [5] (input shape [4, 3] and [5])");
    ck_assert_str_eq(op_error(&e, "softmax_xent", (dlx_node *[]){v, l5}, 2, NULL),
                     "softmax_xent 'bad': logits must have shape [N, K] or [N, K, 1, 1], got "
                     "[4, 3, 2] (input shape [4, 3, 2] and [5])");
    dlx_reshape_attr r = {.ndim = 2, .d = {5, -1}};
    ck_assert_str_eq(op_error(&e, "reshape", &z, 1, &r),
                     "reshape 'bad': cannot infer the -1 dimension: 12 elements do not divide by 5 "
                     "(input shape [4, 3])");
    dlx_reshape_attr r2 = {.ndim = 2, .d = {0, 4}};
    ck_assert_str_eq(op_error(&e, "reshape", &z, 1, &r2),
                     "reshape 'bad': target shape [4, 4] has 16 elements, the input has 12 "
                     "(input shape [4, 3])");
    dlx_reshape_attr r3 = {.ndim = 2, .d = {-1, -1}};
    ck_assert_str_eq(op_error(&e, "reshape", &z, 1, &r3),
                     "reshape 'bad': only one dimension of the target shape may be -1 "
                     "(input shape [4, 3])");
    ck_assert_str_eq(op_error(&e, "add", (dlx_node *[]){z, z, v}, 3, NULL),
                     "add 'bad': all inputs must have one shape, but input 1 is [4, 3] and input 3 "
                     "is [4, 3, 2] (input shape [4, 3] and [4, 3] and [4, 3, 2])");
    dlx_concat_attr c1 = {.axis = 1}, c0 = {.axis = 0};
    ck_assert_str_eq(op_error(&e, "concat", (dlx_node *[]){z, v}, 2, &c1),
                     "concat 'bad': inputs must be equal on every dimension but axis 1, but input 1 "
                     "is [4, 3] and input 2 is [4, 3, 2] (input shape [4, 3] and [4, 3, 2])");
    ck_assert_str_eq(op_error(&e, "concat", (dlx_node *[]){z, z}, 2, &c0),
                     "concat 'bad': axis must be in [1, 1] for inputs of 2 dimensions, got 0 "
                     "(input shape [4, 3] and [4, 3])");
    dlx_mse_attr m = {DLX_MSE_MEAN};
    ck_assert_str_eq(op_error(&e, "mse", (dlx_node *[]){z, l5}, 2, &m),
                     "mse 'bad': prediction [4, 3] has 12 elements but target [5] has 5 "
                     "(input shape [4, 3] and [5])");
    dlx_dropout_attr d = {.rate = 1.0f};
    ck_assert_str_eq(op_error(&e, "dropout", &z, 1, &d),
                     "dropout 'bad': rate must be in [0, 1), got 1 (input shape [4, 3])");
    env_close(&e);
}
END_TEST

Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 60);
    /* the gradient of every op: tests/test_op_registry.c; here what a
     * gradient check alone does not show */
    tcase_add_test(tc, test_dropout);
    tcase_add_test(tc, test_reshape);
    tcase_add_test(tc, test_add);
    tcase_add_test(tc, test_weighted_sum);
    tcase_add_test(tc, test_pulling_away);
    tcase_add_test(tc, test_xent_uniform);
    tcase_add_test(tc, test_contractive);
    tcase_add_test(tc, test_concat);
    tcase_add_test(tc, test_softmax_xent);
    tcase_add_test(tc, test_shrink);
    tcase_add_test(tc, test_loss_values);
    tcase_add_test(tc, test_xent_row_paths);
    tcase_add_test(tc, test_shape_errors);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("checker");
    tcase_add_test(tk, test_detects_wrong_gradient);
    tcase_add_test(tk, test_tied_parameter);
    tcase_add_test(tk, test_restores_values);
    tcase_add_test(tk, test_skips_kinks);
    tcase_add_test(tk, test_kink_within_step);
    tcase_add_test(tk, test_invalid_use);
    suite_add_tcase(s, tk);
    return s;
}
