/* The R-operators of the op registry (core/hvp.h), checked in double.
 *
 * Every op either has rop hooks, is a view (aliased, nothing to do) or is
 * named in k_without_rop below; the list must stay exact both ways. For
 * every gradient-check case of an op with hooks (its inputs that take a
 * gradient become parameters, a non-scalar output gets a mean squared error
 * to a random target; a training case runs the dual in training mode, with
 * the float forward's dropout mask and batch statistics), in double precision:
 *   - the dual graph's loss is the float graph's (same function);
 *   - its gradient matches central differences of the double loss;
 *   - R{L} = dL/dw . v matches the loss's central difference along v;
 *   - H v matches central differences of the double gradient along v;
 *   - u . H v = v . H u (symmetry).
 * Then the Hessian of a landscape net (flatten, linear+relu, linear,
 * softmax_xent) column by column against central differences, and a graph
 * with an op without hooks is refused by name.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/hvp.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"
#include "op_example.h"

/* Ops without an R-operator: the exact Hessian refuses a graph using one.
 * None today (test_rop_refuses builds one); an op added without hooks must
 * be named here. */
static const char *const k_without_rop[] = {
    NULL,
};

static bool listed(const char *name)
{
    for (int i = 0; k_without_rop[i]; i++)
        if (!strcmp(k_without_rop[i], name))
            return true;
    return false;
}

START_TEST(test_rop_list_exact)
{
    for (int i = 0; k_without_rop[i]; i++)
        ck_assert_msg(dlx_op_find(k_without_rop[i]) != NULL, "'%s' is listed but not an op", k_without_rop[i]);
    for (int i = 0; dlx_op_at(i); i++) {
        const dlx_op_vtbl *v = dlx_op_at(i);
        if (v->view)
            continue;
        ck_assert_msg(v->rop || listed(v->name), "op '%s' has no R-operator and is not in k_without_rop", v->name);
        ck_assert_msg(!v->rop || !listed(v->name), "op '%s' has an R-operator: take it out of k_without_rop",
                      v->name);
        ck_assert_msg(!v->rop || (v->rop->forward && v->rop->backward), "op '%s': rop without both hooks",
                      v->name);
    }
}
END_TEST

typedef test_op built;

/* The op of ex over parameters (its gradient inputs) and data; a scalar loss
 * on top (a curved probe where the op's output is not a scalar). Values from
 * seed. */
static void build(built *b, const dlx_op_vtbl *v, const dlx_op_example *ex, uint64_t seed)
{
    test_op_add(b, v, ex, true);
    dlx_node *target = NULL;
    if (b->top->out.numel != 1) {
        target = dlx_graph_input(b->g, "target", b->top->out.shape, false, &b->err);
        dlx_node *pair[2] = {b->top, target};
        dlx_mse_attr ma = {DLX_MSE_MEAN};
        b->loss = dlx_graph_op(b->g, &dlx_op_mse, "probe", pair, 2, &ma, DLX_NOLOC, &b->err);
        ck_assert_ptr_nonnull(b->loss);
    }
    ck_assert_msg(dlx_graph_compile(b->g, 0, &b->err) == 0, "%s: %s", ex->what, b->err.msg);
    dlx_rng rng;
    dlx_rng_init(&rng, seed, DLX_STREAM_USER);
    for (int i = 0; i < ex->n_in; i++)
        test_op_fill(b, ex, i, &rng);
    if (target)
        for (int64_t j = 0; j < target->out.numel; j++)
            target->out.data[j] = 2.0f * dlx_rng_uniform(&rng) - 1.0f;
}

static void unbuild(built *b)
{
    test_op_free(b);
}

static void random_unit(dlx_rng *r, double *v, int64_t p)
{
    double s = 0.0;
    for (int64_t i = 0; i < p; i++) {
        v[i] = dlx_rng_normal(r);
        s += v[i] * v[i];
    }
    for (int64_t i = 0; i < p; i++)
        v[i] /= sqrt(s);
}

static double dot(const double *a, const double *b, int64_t p)
{
    double s = 0.0;
    for (int64_t i = 0; i < p; i++)
        s += a[i] * b[i];
    return s;
}

/* The loss (and into grad, when not NULL, its gradient) at w0 + t v. */
static double at(dlx_hvp *h, const double *w0, const double *v, double t, double *grad)
{
    int64_t p = dlx_hvp_size(h);
    double *w = dlx_hvp_point(h);
    for (int64_t i = 0; i < p; i++)
        w[i] = w0[i] + t * v[i];
    return dlx_hvp_gradient(h, grad);
}

/* The five checks of the header on one built graph, in training mode or
 * not (the float forward's dropout mask and batch statistics); what names it. */
static void check_built(built *b, const char *what, uint64_t seed, bool training)
{
    dlx_ctx ctx = {.training = training, .seed = 11, .step = 3, .threads = 1};
    dlx_graph_forward(b->g, &ctx);
    double l32 = b->loss->out.data[0];
    dlx_hvp *h;
    ck_assert_msg(dlx_hvp_create(b->g, b->loss, &h, &b->err) == 0, "%s: %s", what, b->err.msg);
    dlx_hvp_set_ctx(h, &ctx);
    int64_t p = dlx_hvp_size(h);
    double *w0 = malloc((size_t)p * sizeof *w0), *g = malloc((size_t)p * sizeof *g);
    double *gp = malloc((size_t)p * sizeof *gp), *gm = malloc((size_t)p * sizeof *gm);
    double *u = malloc((size_t)p * sizeof *u), *v = malloc((size_t)p * sizeof *v);
    double *hu = malloc((size_t)p * sizeof *hu), *hv = malloc((size_t)p * sizeof *hv);
    ck_assert(w0 && g && gp && gm && u && v && hu && hv);
    memcpy(w0, dlx_hvp_point(h), (size_t)p * sizeof *w0);
    double l64 = dlx_hvp_gradient(h, g);
    ck_assert_msg(fabs(l64 - l32) <= 1e-5 * (1.0 + fabs(l32)), "%s: double loss %.9g, float loss %.9g", what, l64,
                  l32);
    dlx_rng r;
    dlx_rng_init(&r, seed, DLX_STREAM_USER + 3);
    random_unit(&r, u, p);
    random_unit(&r, v, p);
    /* the gradient and R{L}, against the loss's central difference along v */
    const double hl = 1e-6;
    double fd = (at(h, w0, v, hl, NULL) - at(h, w0, v, -hl, NULL)) / (2 * hl);
    at(h, w0, v, 0.0, NULL);
    double rl = dlx_hvp_product(h, v, hv);
    ck_assert_msg(fabs(dot(g, v, p) - fd) <= 1e-7 + 1e-6 * fabs(fd), "%s: g.v %.12g, central difference %.12g",
                  what, dot(g, v, p), fd);
    ck_assert_msg(fabs(rl - fd) <= 1e-7 + 1e-6 * fabs(fd), "%s: R{L} %.12g, central difference %.12g", what, rl, fd);
    /* H v against the gradient's central difference along v */
    const double hg = 1e-5;
    at(h, w0, v, hg, gp);
    at(h, w0, v, -hg, gm);
    double err2 = 0.0, ref2 = 0.0;
    at(h, w0, v, 0.0, NULL);
    dlx_hvp_product(h, v, hv);
    for (int64_t i = 0; i < p; i++) {
        double f = (gp[i] - gm[i]) / (2 * hg);
        err2 += (hv[i] - f) * (hv[i] - f);
        ref2 += f * f;
    }
    ck_assert_msg(sqrt(err2) <= 1e-8 + 1e-6 * sqrt(ref2), "%s: |Hv - fd| %.3g, |fd| %.3g", what, sqrt(err2),
                  sqrt(ref2));
    /* symmetry, and a second direction after the first (tangent-only pass) */
    dlx_hvp_product(h, u, hu);
    double a = dot(u, hv, p), c = dot(v, hu, p);
    ck_assert_msg(fabs(a - c) <= 1e-12 + 1e-9 * (fabs(a) + fabs(c)), "%s: u.Hv %.15g, v.Hu %.15g", what, a, c);
    dlx_hvp_destroy(h);
    free(w0), free(g), free(gp), free(gm), free(u), free(v), free(hu), free(hv);
}

/* Every op of the registry with hooks, on its gradient-check examples: the
 * rnn and lstm ops' examples check their R-operators in core/ops/rnn_rop.c
 * (the affine step and its adjoint, the gates' second derivatives) this way. */
START_TEST(test_rop_every_op)
{
    const dlx_op_vtbl *v = dlx_op_at(_i);
    if (!v->rop)
        return;
    for (int k = 0; k < v->n_examples; k++) {
        const dlx_op_example *ex = &v->examples[k];
        bool any_grad = false;
        for (int i = 0; i < ex->n_in; i++)
            any_grad = any_grad || ex->in[i].role == DLX_EX_GRAD || ex->in[i].role == DLX_EX_PARAM;
        if (!any_grad) /* nothing to differentiate */
            continue;
        built b;
        build(&b, v, ex, 300 + (uint64_t)(16 * _i + k));
        check_built(&b, ex->what, 7 + (uint64_t)k, ex->training);
        unbuild(&b);
    }
}
END_TEST

/* flatten, linear+relu (or tanh), linear, softmax_xent: the landscape's net */
static void build_mlp(built *b, dlx_act act)
{
    memset(b, 0, sizeof *b);
    dlx_params_init(&b->P);
    int w1 = dlx_params_declare(&b->P, "w1", dlx_shape_2d(5, 12), (dlx_init){.kind = DLX_INIT_ZERO}, true, &b->err);
    int b1 = dlx_params_declare(&b->P, "b1", dlx_shape_1d(5), (dlx_init){.kind = DLX_INIT_ZERO}, false, &b->err);
    int w2 = dlx_params_declare(&b->P, "w2", dlx_shape_2d(4, 5), (dlx_init){.kind = DLX_INIT_ZERO}, true, &b->err);
    int b2 = dlx_params_declare(&b->P, "b2", dlx_shape_1d(4), (dlx_init){.kind = DLX_INIT_ZERO}, false, &b->err);
    ck_assert_int_eq(dlx_params_finalize(&b->P, &b->err), 0);
    b->g = dlx_graph_create(&b->P);
    dlx_node *x = dlx_graph_input(b->g, "x", dlx_shape_4d(30, 1, 3, 4), false, &b->err);
    dlx_node *y = dlx_graph_input(b->g, "labels", dlx_shape_1d(30), false, &b->err);
    dlx_reshape_attr ra = {.ndim = 2, .d = {0, -1}};
    dlx_node *f = dlx_graph_op(b->g, dlx_op_find("reshape"), "flat", &x, 1, &ra, DLX_NOLOC, &b->err);
    ck_assert_ptr_nonnull(f);
    dlx_node *l1in[3] = {f, dlx_graph_param(b->g, w1, &b->err), dlx_graph_param(b->g, b1, &b->err)};
    dlx_linear_attr la = {act, 0};
    dlx_node *h1 = dlx_graph_op(b->g, &dlx_op_linear, "h1", l1in, 3, &la, DLX_NOLOC, &b->err);
    dlx_node *l2in[3] = {h1, dlx_graph_param(b->g, w2, &b->err), dlx_graph_param(b->g, b2, &b->err)};
    dlx_linear_attr lb = {DLX_ACT_NONE, 0};
    dlx_node *z = dlx_graph_op(b->g, &dlx_op_linear, "z", l2in, 3, &lb, DLX_NOLOC, &b->err);
    dlx_node *xin[2] = {z, y};
    b->loss = dlx_graph_op(b->g, &dlx_op_softmax_xent, "loss", xin, 2, NULL, DLX_NOLOC, &b->err);
    ck_assert_msg(b->loss != NULL, "%s", b->err.msg);
    ck_assert_int_eq(dlx_graph_compile(b->g, 0, &b->err), 0);
    dlx_rng r;
    dlx_rng_init(&r, 41, DLX_STREAM_USER);
    for (int64_t i = 0; i < x->out.numel; i++)
        x->out.data[i] = dlx_rng_uniform(&r);
    for (int64_t i = 0; i < 30; i++)
        y->out.data[i] = (float)dlx_rng_below(&r, 4);
    for (int64_t i = 0; i < b->P.total; i++)
        b->P.values[i] = 0.8f * (2.0f * dlx_rng_uniform(&r) - 1.0f);
}

/* Column j of H is H e_j: against central differences of the double
 * gradient, every entry, and symmetric to round-off. */
START_TEST(test_rop_mlp_hessian)
{
    for (int a = 0; a < 2; a++) {
        built b;
        build_mlp(&b, a ? DLX_ACT_TANH : DLX_ACT_RELU);
        check_built(&b, a ? "mlp tanh" : "mlp relu", 5, false);
        dlx_hvp *h;
        ck_assert_int_eq(dlx_hvp_create(b.g, b.loss, &h, &b.err), 0);
        int64_t p = dlx_hvp_size(h);
        ck_assert_int_eq(p, 5 * 12 + 5 + 4 * 5 + 4);
        double *H = calloc((size_t)(p * p), sizeof *H), *e = calloc((size_t)p, sizeof *e);
        double *gp = malloc((size_t)p * sizeof *gp), *gm = malloc((size_t)p * sizeof *gm);
        double *w0 = malloc((size_t)p * sizeof *w0);
        memcpy(w0, dlx_hvp_point(h), (size_t)p * sizeof *w0);
        double worst = 0.0, scale = 0.0, asym = 0.0;
        for (int64_t j = 0; j < p; j++) {
            e[j] = 1.0;
            at(h, w0, e, 0.0, NULL);
            dlx_hvp_product(h, e, H + j * p);
            at(h, w0, e, 1e-5, gp);
            at(h, w0, e, -1e-5, gm);
            e[j] = 0.0;
            for (int64_t i = 0; i < p; i++) {
                double f = (gp[i] - gm[i]) / 2e-5;
                worst = fmax(worst, fabs(H[j * p + i] - f));
                scale = fmax(scale, fabs(f));
            }
        }
        for (int64_t i = 0; i < p; i++)
            for (int64_t j = 0; j < i; j++)
                asym = fmax(asym, fabs(H[i * p + j] - H[j * p + i]));
        ck_assert_msg(scale > 1e-3, "a Hessian of zeros checks nothing");
        ck_assert_msg(worst <= 1e-7 * scale, "max |H - fd| %.3g of max |fd| %.3g", worst, scale);
        ck_assert_msg(asym <= 1e-12 * scale, "asymmetry %.3g", asym);
        dlx_hvp_destroy(h);
        free(H), free(e), free(gp), free(gm), free(w0);
        unbuild(&b);
    }
}
END_TEST

/* stop_gradient: the value and its tangent pass, the gradient does not; the
 * dual graph differentiates the graph's own backward map (w * sg(w) has the
 * gradient sg(w) = w, and H = 1 on the diagonal, not 2). */
START_TEST(test_rop_stop_gradient)
{
    built b;
    memset(&b, 0, sizeof b);
    dlx_params_init(&b.P);
    int w = dlx_params_declare(&b.P, "w", dlx_shape_2d(3, 4), (dlx_init){.kind = DLX_INIT_ZERO}, true, &b.err);
    ck_assert_int_eq(dlx_params_finalize(&b.P, &b.err), 0);
    b.g = dlx_graph_create(&b.P);
    dlx_node *wn = dlx_graph_param(b.g, w, &b.err);
    dlx_node *sg = dlx_graph_op(b.g, dlx_op_find("stop_gradient"), "sg", &wn, 1, NULL, DLX_NOLOC, &b.err);
    dlx_node *pair[2] = {wn, sg};
    dlx_node *prod = dlx_graph_op(b.g, &dlx_op_mul, "prod", pair, 2, NULL, DLX_NOLOC, &b.err);
    dlx_reduce_attr ra = {.all = true};
    b.loss = dlx_graph_op(b.g, &dlx_op_sum, "loss", &prod, 1, &ra, DLX_NOLOC, &b.err);
    ck_assert_msg(b.loss != NULL, "%s", b.err.msg);
    ck_assert_int_eq(dlx_graph_compile(b.g, 0, &b.err), 0);
    for (int i = 0; i < 12; i++)
        b.P.values[i] = 0.1f * (float)(i - 5);
    dlx_hvp *h;
    ck_assert_int_eq(dlx_hvp_create(b.g, b.loss, &h, &b.err), 0);
    double e[12] = {0}, col[12], g[12];
    dlx_hvp_gradient(h, g);
    for (int i = 0; i < 12; i++) /* the backward map: sg(w), not 2 w */
        ck_assert_msg(fabs(g[i] - (double)b.P.values[i]) < 1e-15, "g[%d] = %g", i, g[i]);
    e[4] = 1.0;
    double rl = dlx_hvp_product(h, e, col);
    ck_assert_msg(fabs(rl - 2.0 * (double)b.P.values[4]) < 1e-15, "R{L} %g: the value's tangent passes", rl);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(col[i] == (i == 4 ? 1.0 : 0.0), "H[4][%d] = %g", i, col[i]);
    dlx_hvp_destroy(h);
    unbuild(&b);
}
END_TEST

/* An op without hooks on the loss's path is refused, naming it: a copy of
 * the act op without its R-operator (every registered op has one). */
START_TEST(test_rop_refuses)
{
    dlx_op_vtbl bare = dlx_op_act;
    bare.name = "bare_act";
    bare.rop = NULL;
    dlx_params P;
    dlx_err err;
    dlx_params_init(&P);
    int w = dlx_params_declare(&P, "w", dlx_shape_2d(3, 16), (dlx_init){.kind = DLX_INIT_ZERO}, true, &err);
    ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
    dlx_graph *g = dlx_graph_create(&P);
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_2d(2, 16), false, &err);
    dlx_act_attr aa = {DLX_ACT_TANH, 0.0f};
    dlx_node *act = dlx_graph_op(g, &bare, "squash", &x, 1, &aa, DLX_NOLOC, &err);
    dlx_node *in[2] = {act, dlx_graph_param(g, w, &err)};
    dlx_linear_attr la = {DLX_ACT_NONE, 0};
    dlx_node *z = dlx_graph_op(g, &dlx_op_linear, "z", in, 2, &la, DLX_NOLOC, &err);
    dlx_node *t = dlx_graph_input(g, "t", dlx_shape_2d(2, 3), false, &err);
    dlx_node *pair[2] = {z, t};
    dlx_mse_attr ma = {DLX_MSE_MEAN};
    dlx_node *loss = dlx_graph_op(g, &dlx_op_mse, "loss", pair, 2, &ma, DLX_NOLOC, &err);
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_eq(dlx_graph_compile(g, 0, &err), 0);
    /* the op is on x's side only, with no parameter upstream: still
     * refused, since its value feeds the loss (the rule is simple) */
    dlx_hvp *h = NULL;
    ck_assert_int_eq(dlx_hvp_create(g, loss, &h, &err), DLX_EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(err.msg, "bare_act") && strstr(err.msg, "'squash'"), "%s", err.msg);
    ck_assert_ptr_eq(dlx_hvp_unsupported(g, loss), act);
    dlx_graph_destroy(g);
    dlx_params_free(&P);
}
END_TEST

Suite *rop_suite(void)
{
    Suite *s = suite_create("rop");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rop_list_exact);
    int n = 0;
    while (dlx_op_at(n))
        n++;
    tcase_add_loop_test(tc, test_rop_every_op, 0, n);
    tcase_add_test(tc, test_rop_mlp_hessian);
    tcase_add_test(tc, test_rop_refuses);
    tcase_add_test(tc, test_rop_stop_gradient);
    suite_add_tcase(s, tc);
    return s;
}
