/* The batchnorm op (core/ops/batchnorm.c) against PyTorch's BatchNorm1d/2d:
 * tests/data/batchnorm/ref.txt holds fixed inputs and torch's outputs,
 * written by tests/data/batchnorm/make_ref.py (torch is not needed here).
 * Per case: one training forward with update_stats (output, running
 * statistics after it, gradients for a fixed upstream gradient), then eval
 * mode on the updated statistics (output and gradients). Also: running
 * statistics stay put without update_stats and in eval, and the channel-
 * parallel path gives the same bits on 1, 2 and 3 threads. */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ops/ops.h"
#include "../core/rng.h"

#define REF_TENSORS 16

typedef struct ref_tensor {
    char name[32];
    int64_t n;
    float *v;
} ref_tensor;

typedef struct ref_case {
    char name[32];
    float eps, momentum;
    dlx_shape shape;
    ref_tensor t[REF_TENSORS];
    int n_t;
} ref_case;

static const char *src_dir(void)
{
    const char *s = getenv("DLX_SRC_DIR");
    return s ? s : ".";
}

/* The next case of f into c; false at the end of the file. */
static bool read_case(FILE *f, ref_case *c)
{
    char word[32];
    memset(c, 0, sizeof *c);
    for (;;) { /* skip comment lines up to "case" */
        int ch = fgetc(f);
        if (ch == EOF)
            return false;
        if (ch == '#') {
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        if (ch == '\n' || ch == ' ')
            continue;
        ungetc(ch, f);
        break;
    }
    double eps, mom;
    ck_assert_int_eq(fscanf(f, "%31s %31s %lf %lf %d", word, c->name, &eps, &mom, &c->shape.ndim), 5);
    ck_assert_str_eq(word, "case");
    ck_assert(c->shape.ndim >= 2 && c->shape.ndim <= DLX_MAX_DIM);
    c->eps = (float)eps;
    c->momentum = (float)mom;
    for (int i = 0; i < c->shape.ndim; i++)
        ck_assert_int_eq(fscanf(f, "%" SCNd64, &c->shape.d[i]), 1);
    for (;;) {
        ck_assert_int_eq(fscanf(f, "%31s", word), 1);
        if (strcmp(word, "end") == 0)
            return true;
        ck_assert_int_lt(c->n_t, REF_TENSORS);
        ref_tensor *t = &c->t[c->n_t++];
        snprintf(t->name, sizeof t->name, "%s", word);
        ck_assert_int_eq(fscanf(f, "%" SCNd64, &t->n), 1);
        ck_assert(t->n > 0 && t->n < 1000000);
        t->v = malloc((size_t)t->n * sizeof *t->v);
        ck_assert_ptr_nonnull(t->v);
        for (int64_t j = 0; j < t->n; j++)
            ck_assert_int_eq(fscanf(f, "%f", &t->v[j]), 1);
    }
}

static void free_case(ref_case *c)
{
    for (int i = 0; i < c->n_t; i++)
        free(c->t[i].v);
}

static const float *tensor_of(const ref_case *c, const char *name, int64_t n)
{
    for (int i = 0; i < c->n_t; i++)
        if (strcmp(c->t[i].name, name) == 0) {
            ck_assert_msg(c->t[i].n == n, "%s.%s: %lld values, expected %lld", c->name, name, (long long)c->t[i].n,
                          (long long)n);
            return c->t[i].v;
        }
    ck_abort_msg("%s: no tensor %s in ref.txt", c->name, name);
    return NULL;
}

/* A batchnorm graph: x (with a gradient), gamma, beta, running statistics. */
typedef struct bn_graph {
    dlx_params P;
    dlx_graph *g;
    dlx_node *x, *y;
    int gamma, beta, rmean, rvar; /* indices in the store */
    dlx_err err;
} bn_graph;

static void bn_build(bn_graph *b, dlx_shape xs, float eps, float momentum)
{
    memset(b, 0, sizeof *b);
    dlx_params_init(&b->P);
    dlx_shape ch = dlx_shape_1d(xs.d[1]);
    b->gamma = dlx_params_declare(&b->P, "bn.weight", ch, (dlx_init){.kind = DLX_INIT_CONST, .a = 1}, false, &b->err);
    b->beta = dlx_params_declare(&b->P, "bn.bias", ch, (dlx_init){.kind = DLX_INIT_ZERO}, false, &b->err);
    b->rmean = dlx_params_declare_buffer(&b->P, "bn.running_mean", ch, 0.0f, &b->err);
    b->rvar = dlx_params_declare_buffer(&b->P, "bn.running_var", ch, 1.0f, &b->err);
    ck_assert(b->gamma >= 0 && b->beta >= 0 && b->rmean >= 0 && b->rvar >= 0);
    ck_assert_int_eq(dlx_params_finalize(&b->P, &b->err), 0);
    b->g = dlx_graph_create(&b->P);
    ck_assert_ptr_nonnull(b->g);
    dlx_node *in[5];
    in[0] = b->x = dlx_graph_input(b->g, "x", xs, true, &b->err);
    in[1] = dlx_graph_param(b->g, b->gamma, &b->err);
    in[2] = dlx_graph_param(b->g, b->beta, &b->err);
    in[3] = dlx_graph_buffer(b->g, b->rmean, &b->err);
    in[4] = dlx_graph_buffer(b->g, b->rvar, &b->err);
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_nonnull(in[i]);
    dlx_batchnorm_attr a = {.eps = eps, .momentum = momentum};
    b->y = dlx_graph_op(b->g, &dlx_op_batchnorm, "bn", in, 5, &a, DLX_NOLOC, &b->err);
    ck_assert_msg(b->y != NULL, "%s", b->err.msg);
    ck_assert_msg(dlx_graph_compile(b->g, 0, &b->err) == 0, "%s", b->err.msg);
}

static void bn_free(bn_graph *b)
{
    dlx_graph_destroy(b->g);
    dlx_params_free(&b->P);
}

static float *param_data(bn_graph *b, int i) { return b->P.items[i].t.data; }
static float *param_grad(bn_graph *b, int i) { return b->P.items[i].t.grad; }
static float *buffer_data(bn_graph *b, int i) { return b->P.buffers[i].t.data; }

/* max |a - r| / (1 + |r|) over n values; also the worst absolute error */
static double worst_err(const float *a, const float *r, int64_t n, double *abs_err)
{
    double w = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - r[i]);
        if (d > *abs_err)
            *abs_err = d;
        d /= 1.0 + fabs(r[i]);
        w = d > w ? d : w;
    }
    return w;
}

/* Float32 rounding of values built from a few dozen terms: a few ulps of 1. */
#define REF_TOL 2e-6

static double g_worst_abs; /* over every comparison, for DLX_TEST_VERBOSE */

static void expect_close(const ref_case *c, const char *name, const float *got, int64_t n, double *worst)
{
    double abs_err = 0.0;
    double e = worst_err(got, tensor_of(c, name, n), n, &abs_err);
    if (e > *worst)
        *worst = e;
    if (abs_err > g_worst_abs)
        g_worst_abs = abs_err;
    ck_assert_msg(e < REF_TOL, "%s: %s differs from PyTorch by %g (relative to 1 + |torch|), %g absolute", c->name,
                  name, e, abs_err);
}

static void check_case(const ref_case *c, double *worst)
{
    bn_graph b;
    bn_build(&b, c->shape, c->eps, c->momentum);
    const int64_t n = b.x->out.numel, C = c->shape.d[1];
    memcpy(b.x->out.data, tensor_of(c, "x", n), (size_t)n * sizeof(float));
    memcpy(param_data(&b, b.gamma), tensor_of(c, "gamma", C), (size_t)C * sizeof(float));
    memcpy(param_data(&b, b.beta), tensor_of(c, "beta", C), (size_t)C * sizeof(float));
    memcpy(buffer_data(&b, b.rmean), tensor_of(c, "rmean0", C), (size_t)C * sizeof(float));
    memcpy(buffer_data(&b, b.rvar), tensor_of(c, "rvar0", C), (size_t)C * sizeof(float));
    const float *g = tensor_of(c, "g", n);

    dlx_ctx train = {.training = true, .threads = 1, .update_stats = true};
    dlx_params_zero_grad(&b.P);
    dlx_graph_forward(b.g, &train);
    dlx_graph_backward_from(b.g, b.y, g, &train);
    expect_close(c, "y_train", b.y->out.data, n, worst);
    expect_close(c, "dx_train", b.x->out.grad, n, worst);
    expect_close(c, "dgamma_train", param_grad(&b, b.gamma), C, worst);
    expect_close(c, "dbeta_train", param_grad(&b, b.beta), C, worst);
    expect_close(c, "rmean", buffer_data(&b, b.rmean), C, worst);
    expect_close(c, "rvar", buffer_data(&b, b.rvar), C, worst);

    dlx_ctx eval = {.training = false, .threads = 1};
    dlx_params_zero_grad(&b.P);
    dlx_graph_forward(b.g, &eval);
    dlx_graph_backward_from(b.g, b.y, g, &eval);
    expect_close(c, "y_eval", b.y->out.data, n, worst);
    expect_close(c, "dx_eval", b.x->out.grad, n, worst);
    expect_close(c, "dgamma_eval", param_grad(&b, b.gamma), C, worst);
    expect_close(c, "dbeta_eval", param_grad(&b, b.beta), C, worst);
    /* eval reads the running statistics, never writes them */
    expect_close(c, "rmean", buffer_data(&b, b.rmean), C, worst);
    expect_close(c, "rvar", buffer_data(&b, b.rvar), C, worst);
    bn_free(&b);
}

START_TEST(test_against_pytorch)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/batchnorm/ref.txt", src_dir());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s (set DLX_SRC_DIR)", path);
    ref_case c;
    int cases = 0;
    double worst = 0.0;
    while (read_case(f, &c)) {
        check_case(&c, &worst);
        free_case(&c);
        cases++;
    }
    fclose(f);
    ck_assert_int_ge(cases, 3);
    if (getenv("DLX_TEST_VERBOSE"))
        fprintf(stderr, "batchnorm vs PyTorch: %d cases, worst error %.3g relative to 1 + |torch|, %.3g absolute\n",
                cases, worst, g_worst_abs);
}
END_TEST

/* x of shape xs filled from seed, gamma and beta too, buffers at 0.2 and 1.3 */
static void fill(bn_graph *b, uint64_t seed)
{
    dlx_rng rng;
    dlx_rng_init(&rng, seed, DLX_STREAM_USER);
    for (int64_t i = 0; i < b->x->out.numel; i++)
        b->x->out.data[i] = 3.0f * dlx_rng_uniform(&rng) - 1.0f;
    int64_t C = b->x->out.shape.d[1];
    for (int64_t j = 0; j < C; j++) {
        param_data(b, b->gamma)[j] = 0.5f + dlx_rng_uniform(&rng);
        param_data(b, b->beta)[j] = dlx_rng_uniform(&rng) - 0.5f;
        buffer_data(b, b->rmean)[j] = 0.2f;
        buffer_data(b, b->rvar)[j] = 1.3f;
    }
}

START_TEST(test_stats_untouched)
{
    bn_graph b;
    bn_build(&b, dlx_shape_4d(3, 4, 2, 2), 1e-5f, 0.1f);
    fill(&b, 7);
    dlx_ctx train = {.training = true, .threads = 1}; /* a replica other than 0 */
    dlx_graph_forward(b.g, &train);
    dlx_ctx eval = {.training = false, .threads = 1, .update_stats = true};
    dlx_graph_forward(b.g, &eval);
    for (int j = 0; j < 4; j++) {
        ck_assert_float_eq(buffer_data(&b, b.rmean)[j], 0.2f);
        ck_assert_float_eq(buffer_data(&b, b.rvar)[j], 1.3f);
    }
    /* one sample of one value per channel: the biased variance (0) stands in
     * for the unbiased one (PyTorch refuses), and y = beta */
    bn_graph one;
    bn_build(&one, dlx_shape_2d(1, 4), 1e-5f, 0.5f);
    fill(&one, 8);
    train.update_stats = true;
    dlx_graph_forward(one.g, &train);
    for (int j = 0; j < 4; j++) {
        ck_assert_float_eq_tol(one.y->out.data[j], param_data(&one, one.beta)[j], 1e-6f);
        ck_assert_float_eq_tol(buffer_data(&one, one.rvar)[j], 0.65f, 1e-6f);
        ck_assert(isfinite(buffer_data(&one, one.rmean)[j]));
    }
    bn_free(&one);
    bn_free(&b);
}
END_TEST

/* Large enough for the channel-parallel path: same bits on 1, 2, 3 threads,
 * output, gradients and running statistics. */
START_TEST(test_threads_same_bits)
{
    /* rows of 256 values, and an (N, C) input read C apart */
    const dlx_shape xs = _i == 0 ? dlx_shape_4d(8, 16, 16, 16) : dlx_shape_2d(512, 64);
    float *ref = NULL;
    size_t len = 0;
    for (int training = 0; training <= 1; training++)
        for (int t = 1; t <= 3; t++) {
            bn_graph b;
            bn_build(&b, xs, 1e-5f, 0.1f);
            fill(&b, 9);
            const int64_t n = b.x->out.numel, C = xs.d[1];
            dlx_ctx ctx = {.training = training, .threads = t, .update_stats = true};
            float *seed = malloc((size_t)n * sizeof *seed);
            ck_assert_ptr_nonnull(seed);
            for (int64_t i = 0; i < n; i++)
                seed[i] = 0.25f * (float)(i % 7) - 0.6f;
            dlx_params_zero_grad(&b.P);
            dlx_graph_forward(b.g, &ctx);
            dlx_graph_backward_from(b.g, b.y, seed, &ctx);
            free(seed);
            size_t want = (size_t)(2 * n + 4 * C);
            float *got = malloc(want * sizeof *got);
            ck_assert_ptr_nonnull(got);
            memcpy(got, b.y->out.data, (size_t)n * sizeof *got);
            memcpy(got + n, b.x->out.grad, (size_t)n * sizeof *got);
            memcpy(got + 2 * n, param_grad(&b, b.gamma), (size_t)C * sizeof *got);
            memcpy(got + 2 * n + C, param_grad(&b, b.beta), (size_t)C * sizeof *got);
            memcpy(got + 2 * n + 2 * C, buffer_data(&b, b.rmean), (size_t)C * sizeof *got);
            memcpy(got + 2 * n + 3 * C, buffer_data(&b, b.rvar), (size_t)C * sizeof *got);
            if (t == 1) {
                free(ref);
                ref = got;
                len = want;
            } else {
                ck_assert_uint_eq(len, want);
                ck_assert_msg(memcmp(ref, got, len * sizeof *got) == 0,
                              "training=%d: other bits on %d threads than on 1", training, t);
                free(got);
            }
            bn_free(&b);
        }
    free(ref);
}
END_TEST

/* infer's refusals: wrong channel count, a running statistic that is not a
 * buffer, eps <= 0. */
START_TEST(test_infer_errors)
{
    dlx_params P;
    dlx_err err = {0};
    dlx_params_init(&P);
    int gi = dlx_params_declare(&P, "g", dlx_shape_1d(3), (dlx_init){.kind = DLX_INIT_ZERO}, false, &err);
    int bi = dlx_params_declare(&P, "b", dlx_shape_1d(3), (dlx_init){.kind = DLX_INIT_ZERO}, false, &err);
    int mi = dlx_params_declare_buffer(&P, "m", dlx_shape_1d(3), 0.0f, &err);
    int vi = dlx_params_declare_buffer(&P, "v", dlx_shape_1d(3), 1.0f, &err);
    ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
    dlx_graph *g = dlx_graph_create(&P);
    dlx_node *x4 = dlx_graph_input(g, "x4", dlx_shape_2d(5, 4), true, &err);
    dlx_node *x3 = dlx_graph_input(g, "x3", dlx_shape_2d(5, 3), true, &err);
    dlx_node *gp = dlx_graph_param(g, gi, &err), *bp = dlx_graph_param(g, bi, &err);
    dlx_node *mb = dlx_graph_buffer(g, mi, &err), *vb = dlx_graph_buffer(g, vi, &err);
    dlx_batchnorm_attr a = {.eps = 1e-5f, .momentum = 0.1f};
    dlx_node *wrong_c[5] = {x4, gp, bp, mb, vb};
    ck_assert_ptr_null(dlx_graph_op(g, &dlx_op_batchnorm, "bn", wrong_c, 5, &a, DLX_NOLOC, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "gamma must have shape [4]"));
    dlx_node *not_buffer[5] = {x3, gp, bp, mb, x3};
    dlx_node *m3 = dlx_graph_input(g, "m3", dlx_shape_1d(3), false, &err);
    not_buffer[4] = m3;
    ck_assert_ptr_null(dlx_graph_op(g, &dlx_op_batchnorm, "bn", not_buffer, 5, &a, DLX_NOLOC, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "running_var must be a buffer"));
    dlx_node *ok[5] = {x3, gp, bp, mb, vb};
    dlx_batchnorm_attr bad = {.eps = 0.0f, .momentum = 0.1f};
    ck_assert_ptr_null(dlx_graph_op(g, &dlx_op_batchnorm, "bn", ok, 5, &bad, DLX_NOLOC, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "eps must be"));
    ck_assert_ptr_nonnull(dlx_graph_op(g, &dlx_op_batchnorm, "bn", ok, 5, &a, DLX_NOLOC, &err));
    dlx_graph_destroy(g);
    dlx_params_free(&P);
}
END_TEST

Suite *batchnorm_suite(void)
{
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("batchnorm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_against_pytorch);
    tcase_add_test(tc, test_stats_untouched);
    tcase_add_loop_test(tc, test_threads_same_bits, 0, 2);
    tcase_add_test(tc, test_infer_errors);
    suite_add_tcase(s, tc);
    return s;
}
