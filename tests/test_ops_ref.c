/* Ops against naive double-precision references: act, linear, conv2d,
 * maxpool2d, avgpool2d. Each case builds a one-op graph on random inputs,
 * checks the forward output, the gradients from a random seed gradient, that
 * parameter gradients accumulate across steps, that input gradients
 * accumulate (+=) across backward calls, and that the op leaves its own
 * out.grad untouched. Shape errors are checked with their messages. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ops/conv2d_direct.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"

#define MAXP 2

/* ---- a one-op graph on random data ---- */

typedef struct fixture {
    dlx_params p;
    dlx_graph *g;
    dlx_node *x, *y;
    int pidx[MAXP]; /* parameter indices (weight, bias), -1 if absent */
    int np;
    float *seed;
} fixture;

static void fill(float *a, int64_t n, dlx_rng *r)
{
    for (int64_t i = 0; i < n; i++)
        a[i] = 2.0f * dlx_rng_uniform(r) - 1.0f;
}

/* Declares the params, finalizes, builds x -> op(x, params) and compiles. */
static void fx_build(fixture *f, const dlx_op_vtbl *op, dlx_shape xs, bool xgrad,
                     const dlx_shape *ps, int np, const void *attr, uint64_t seed)
{
    dlx_err e;
    dlx_err_clear(&e);
    memset(f, 0, sizeof *f);
    dlx_params_init(&f->p);
    f->np = np;
    for (int i = 0; i < np; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        f->pidx[i] = dlx_params_declare(&f->p, name, ps[i], (dlx_init){DLX_INIT_ZERO, 0, 0, 0},
                                        true, &e);
        ck_assert_int_ge(f->pidx[i], 0);
    }
    ck_assert_int_eq(dlx_params_finalize(&f->p, &e), 0);
    f->g = dlx_graph_create(&f->p);
    ck_assert_ptr_nonnull(f->g);
    f->x = dlx_graph_input(f->g, "x", xs, xgrad, &e);
    ck_assert_ptr_nonnull(f->x);
    dlx_node *in[1 + MAXP] = {f->x};
    for (int i = 0; i < np; i++) {
        in[1 + i] = dlx_graph_param(f->g, f->pidx[i], &e);
        ck_assert_ptr_nonnull(in[1 + i]);
    }
    f->y = dlx_graph_op(f->g, op, "op", in, 1 + np, attr, DLX_NOLOC, &e);
    ck_assert_msg(f->y != NULL, "%s", e.msg);
    ck_assert_int_eq(dlx_graph_compile(f->g, 0, &e), 0);
    dlx_rng r;
    dlx_rng_init(&r, seed, DLX_STREAM_USER);
    fill(f->x->out.data, f->x->out.numel, &r);
    for (int i = 0; i < np; i++)
        fill(f->p.items[f->pidx[i]].t.data, f->p.items[f->pidx[i]].t.numel, &r);
    f->seed = malloc((size_t)f->y->out.numel * sizeof(float));
    ck_assert_ptr_nonnull(f->seed);
    fill(f->seed, f->y->out.numel, &r);
}

static void fx_free(fixture *f)
{
    free(f->seed);
    dlx_graph_destroy(f->g);
    dlx_params_free(&f->p);
}

static const float *pdata(const fixture *f, int i) { return f->p.items[f->pidx[i]].t.data; }
static float *pgrad(const fixture *f, int i) { return f->p.items[f->pidx[i]].t.grad; }

/* |a - k r| <= 1e-4 (|k r| + rms(k r)): relative, with the array's scale as a floor. */
static void expect_close(const char *what, const float *a, const double *r, int64_t n, double k)
{
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        ss += k * r[i] * k * r[i];
    double rms = n ? sqrt(ss / (double)n) : 0.0;
    for (int64_t i = 0; i < n; i++) {
        double want = k * r[i];
        double tol = 1e-4 * (fabs(want) + rms) + 1e-7;
        ck_assert_msg(fabs((double)a[i] - want) <= tol, "%s[%lld]: got %.8g, want %.8g", what,
                      (long long)i, (double)a[i], want);
    }
}

/* The common checks, given the references for y, dx (NULL if x needs no
 * grad) and one per parameter. */
static void fx_check(fixture *f, const double *yref, const double *dxref, const double *const *dp)
{
    dlx_ctx ctx = {.training = true, .seed = 1, .step = 0, .threads = 1};
    int64_t ny = f->y->out.numel;
    dlx_graph_forward(f->g, &ctx);
    expect_close("y", f->y->out.data, yref, ny, 1.0);

    dlx_params_zero_grad(&f->p);
    dlx_graph_backward_from(f->g, f->y, f->seed, &ctx);
    ck_assert_msg(memcmp(f->y->out.grad, f->seed, (size_t)ny * sizeof(float)) == 0,
                  "backward modified its own out.grad");
    if (dxref)
        expect_close("dx", f->x->out.grad, dxref, f->x->out.numel, 1.0);
    else
        ck_assert_ptr_null(f->x->out.grad);
    for (int i = 0; i < f->np; i++)
        expect_close(i ? "db" : "dW", pgrad(f, i), dp[i], f->p.items[f->pidx[i]].t.numel, 1.0);

    /* A second step without zeroing: the forward must rebuild what backward
     * overwrote, parameter gradients add up, activation gradients restart. */
    dlx_graph_forward(f->g, &ctx);
    expect_close("y (2nd forward)", f->y->out.data, yref, ny, 1.0);
    dlx_graph_backward_from(f->g, f->y, f->seed, &ctx);
    for (int i = 0; i < f->np; i++)
        expect_close(i ? "db (2 steps)" : "dW (2 steps)", pgrad(f, i), dp[i],
                     f->p.items[f->pidx[i]].t.numel, 2.0);
    if (dxref) {
        expect_close("dx (2nd step)", f->x->out.grad, dxref, f->x->out.numel, 1.0);
        /* backward adds into dx instead of overwriting it */
        dlx_graph_forward(f->g, &ctx);
        f->y->op->backward(f->y, &ctx);
        expect_close("dx (accumulated)", f->x->out.grad, dxref, f->x->out.numel, 2.0);
    }

    /* The same bits with 3 threads for the op as with one (ops that split
     * their work split it by shape, never by thread count). */
    int64_t np = f->p.total, nx = f->x->out.numel;
    float *y1 = malloc((size_t)ny * sizeof(float)), *g1 = malloc((size_t)np * sizeof(float));
    float *dx1 = dxref ? malloc((size_t)nx * sizeof(float)) : NULL;
    for (int t = 1; t <= 3; t += 2) {
        dlx_ctx tc = {.training = true, .seed = 1, .step = 0, .threads = t};
        dlx_params_zero_grad(&f->p);
        dlx_graph_forward(f->g, &tc);
        dlx_graph_backward_from(f->g, f->y, f->seed, &tc);
        if (t == 1) {
            memcpy(y1, f->y->out.data, (size_t)ny * sizeof(float));
            memcpy(g1, f->p.grads, (size_t)np * sizeof(float));
            if (dx1)
                memcpy(dx1, f->x->out.grad, (size_t)nx * sizeof(float));
            continue;
        }
        ck_assert_msg(memcmp(y1, f->y->out.data, (size_t)ny * sizeof(float)) == 0, "y differs with 3 threads");
        ck_assert_msg(memcmp(g1, f->p.grads, (size_t)np * sizeof(float)) == 0,
                      "parameter gradients differ with 3 threads");
        if (dx1)
            ck_assert_msg(memcmp(dx1, f->x->out.grad, (size_t)nx * sizeof(float)) == 0, "dx differs with 3 threads");
    }
    free(y1);
    free(g1);
    free(dx1);
}

/* ---- activations in double ---- */

static double ref_act(dlx_act a, double alpha, double z)
{
    switch (a) {
    case DLX_ACT_NONE: return z;
    case DLX_ACT_RELU: return z > 0 ? z : 0;
    case DLX_ACT_TANH: return tanh(z);
    case DLX_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case DLX_ACT_LEAKY_RELU: return z > 0 ? z : alpha * z;
    case DLX_ACT_LECUN_TANH: return 1.7159 * tanh(2.0 * z / 3.0);
    }
    return NAN;
}

/* d act / dz, from z (independent of the op's output-based formulas) */
static double ref_dact(dlx_act a, double alpha, double z)
{
    double t;
    switch (a) {
    case DLX_ACT_NONE: return 1;
    case DLX_ACT_RELU: return z > 0 ? 1 : 0;
    case DLX_ACT_TANH: t = tanh(z); return 1 - t * t;
    case DLX_ACT_SIGMOID: t = 1.0 / (1.0 + exp(-z)); return t * (1 - t);
    case DLX_ACT_LEAKY_RELU: return z > 0 ? 1 : alpha;
    case DLX_ACT_LECUN_TANH: t = tanh(2.0 * z / 3.0); return 1.7159 * (2.0 / 3.0) * (1 - t * t);
    }
    return NAN;
}

static const dlx_act k_all_acts[] = {DLX_ACT_NONE,    DLX_ACT_RELU,       DLX_ACT_TANH,
                                     DLX_ACT_SIGMOID, DLX_ACT_LEAKY_RELU, DLX_ACT_LECUN_TANH};

static double *dalloc(int64_t n)
{
    double *p = calloc((size_t)(n ? n : 1), sizeof(double));
    ck_assert_ptr_nonnull(p);
    return p;
}

/* ---- act ---- */

START_TEST(test_act_names)
{
    ck_assert_int_eq(dlx_act_from_name("none"), DLX_ACT_NONE);
    ck_assert_int_eq(dlx_act_from_name("relu"), DLX_ACT_RELU);
    ck_assert_int_eq(dlx_act_from_name("tanh"), DLX_ACT_TANH);
    ck_assert_int_eq(dlx_act_from_name("sigmoid"), DLX_ACT_SIGMOID);
    ck_assert_int_eq(dlx_act_from_name("leaky_relu"), DLX_ACT_LEAKY_RELU);
    ck_assert_int_eq(dlx_act_from_name("lecun_tanh"), DLX_ACT_LECUN_TANH);
    ck_assert_int_eq(dlx_act_from_name("Relu"), -1);
    ck_assert_int_eq(dlx_act_from_name(""), -1);
    ck_assert_int_eq(dlx_act_from_name(NULL), -1);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(dlx_act_from_name(dlx_act_name(k_all_acts[i])), (int)k_all_acts[i]);
    ck_assert_str_eq(dlx_act_name((dlx_act)99), "?");
    ck_assert_str_eq(dlx_act_names(), "none, relu, tanh, sigmoid, leaky_relu, lecun_tanh");
}
END_TEST

START_TEST(test_act_known_values)
{
    float y[3] = {-2.0f, 0.0f, 1.5f};
    dlx_act_forward(DLX_ACT_LEAKY_RELU, 0.25f, y, 3);
    ck_assert_float_eq(y[0], -0.5f);
    ck_assert_float_eq(y[1], 0.0f);
    ck_assert_float_eq(y[2], 1.5f);
    float dy[3] = {1.0f, 1.0f, 1.0f};
    dlx_act_backward(DLX_ACT_LEAKY_RELU, 0.25f, y, dy, 3);
    ck_assert_float_eq(dy[0], 0.25f);
    ck_assert_float_eq(dy[1], 0.25f); /* the left derivative at 0 */
    ck_assert_float_eq(dy[2], 1.0f);

    float z[2] = {1.0f, -3.0f};
    dlx_act_forward(DLX_ACT_LECUN_TANH, 0.0f, z, 2);
    ck_assert_double_eq_tol(z[0], 1.7159 * tanh(2.0 / 3.0), 1e-6);
    ck_assert_double_eq_tol(z[1], -1.7159 * tanh(2.0), 1e-6);
    float d[2] = {2.0f, 1.0f};
    dlx_act_backward(DLX_ACT_LECUN_TANH, 0.0f, z, d, 2);
    double t = tanh(2.0 / 3.0);
    ck_assert_double_eq_tol(d[0], 2.0 * 1.7159 * (2.0 / 3.0) * (1 - t * t), 1e-5);

    float s[1] = {0.0f}, ds[1] = {1.0f};
    dlx_act_forward(DLX_ACT_SIGMOID, 0.0f, s, 1);
    ck_assert_float_eq(s[0], 0.5f);
    dlx_act_backward(DLX_ACT_SIGMOID, 0.0f, s, ds, 1);
    ck_assert_float_eq(ds[0], 0.25f);

    float r[2] = {-1.0f, 2.0f}, dr[2] = {5.0f, 5.0f};
    dlx_act_forward(DLX_ACT_RELU, 0.0f, r, 2);
    dlx_act_backward(DLX_ACT_RELU, 0.0f, r, dr, 2);
    ck_assert_float_eq(r[0], 0.0f);
    ck_assert_float_eq(dr[0], 0.0f);
    ck_assert_float_eq(dr[1], 5.0f);
}
END_TEST

START_TEST(test_act_op_ref)
{
    dlx_act act = k_all_acts[_i];
    dlx_act_attr attr = {act, 0.1f};
    fixture f;
    fx_build(&f, &dlx_op_act, dlx_shape_4d(2, 3, 4, 5), true, NULL, 0, &attr, 10 + (uint64_t)_i);
    ck_assert(dlx_shape_eq(&f.y->out.shape, &f.x->out.shape));
    int64_t n = f.x->out.numel;
    double *yr = dalloc(n), *dxr = dalloc(n);
    for (int64_t i = 0; i < n; i++) {
        double z = 3.0 * f.x->out.data[i]; /* spread into the saturating range */
        f.x->out.data[i] = (float)z;
        yr[i] = ref_act(act, 0.1, z);
        dxr[i] = f.seed[i] * ref_dact(act, 0.1, z);
    }
    fx_check(&f, yr, dxr, NULL);
    free(yr);
    free(dxr);
    fx_free(&f);
}
END_TEST

/* ---- linear ---- */

typedef struct lin_case {
    int N;
    int64_t xd[4];
    int xnd;
    int M, bias;
    dlx_act act;
    float alpha;
    bool xgrad;
} lin_case;

static const lin_case k_lin[] = {
    {4, {4, 7}, 2, 5, 1, DLX_ACT_NONE, 0, true},
    {3, {3, 13}, 2, 6, 0, DLX_ACT_RELU, 0, true},
    {5, {5, 2, 3, 2}, 4, 4, 1, DLX_ACT_TANH, 0, true},
    {1, {1, 9}, 2, 3, 1, DLX_ACT_SIGMOID, 0, true},
    {6, {6, 8}, 2, 7, 1, DLX_ACT_LEAKY_RELU, 0.2f, true},
    {4, {4, 10}, 2, 3, 0, DLX_ACT_LECUN_TANH, 0, true},
    {7, {7, 3, 5}, 3, 9, 1, DLX_ACT_RELU, 0, false},
    {33, {33, 65}, 2, 17, 1, DLX_ACT_TANH, 0, true},
    /* small-product kernel (core/ops/linear_small.c): row blocks of 8 and a
     * remainder, column blocks of 24/16/8 and 1-7 dot-product columns, k tails */
    {13, {13, 100}, 2, 25, 1, DLX_ACT_RELU, 0, true},
    {9, {9, 4, 5}, 3, 40, 0, DLX_ACT_RELU, 0, true},
    {8, {8, 8}, 2, 8, 1, DLX_ACT_NONE, 0, false},
    {20, {20, 33}, 2, 31, 1, DLX_ACT_LEAKY_RELU, 0.1f, true},
    /* the weight gradient's kernel (dlx_linear_small_dw): 25 rows in blocks
     * of 4 and 3 for three vectors, of 9 and 8 for the masked last 4 columns;
     * two whole vectors (K = 16) */
    {100, {100, 100}, 2, 25, 1, DLX_ACT_RELU, 0, false},
    {10, {10, 16}, 2, 30, 1, DLX_ACT_NONE, 0, true},
    /* products over 2^21 multiply-adds: column blocks shared by the op's
     * threads (4 blocks of M, 2 of K; 2 of M on 96/104 columns, 4 of K) */
    {64, {64, 128}, 2, 256, 1, DLX_ACT_RELU, 0, true},
    {40, {40, 300}, 2, 200, 1, DLX_ACT_TANH, 0, true},
    {40, {40, 300}, 2, 200, 0, DLX_ACT_NONE, 0, true},
    /* forward on conv_gemm.h's kernel (Y^T = W X^T, a multiple of 8 rows,
     * past the small kernel's rule): the cases above over 2^21, and 8 rows
     * (one vector) of 13 columns (blocks of 5 and 4), 24 rows (16 + 8) */
    {8, {8, 300}, 2, 13, 1, DLX_ACT_TANH, 0, true},
    {24, {24, 2, 100}, 3, 10, 0, DLX_ACT_LEAKY_RELU, 0.1f, true},
};

START_TEST(test_linear_ref)
{
    const lin_case *c = &k_lin[_i];
    dlx_shape xs = dlx_shape_make(c->xnd, c->xd);
    int N = c->N, K = (int)(dlx_shape_numel(&xs) / N), M = c->M;
    dlx_shape ps[2] = {dlx_shape_2d(M, K), dlx_shape_1d(M)};
    dlx_linear_attr attr = {c->act, c->alpha};
    fixture f;
    fx_build(&f, &dlx_op_linear, xs, c->xgrad, ps, c->bias ? 2 : 1, &attr, 100 + (uint64_t)_i);
    ck_assert_int_eq(f.y->out.shape.ndim, 2);
    ck_assert_int_eq(f.y->out.shape.d[0], N);
    ck_assert_int_eq(f.y->out.shape.d[1], M);
    const float *x = f.x->out.data, *w = pdata(&f, 0), *b = c->bias ? pdata(&f, 1) : NULL;
    double *yr = dalloc(N * M), *dz = dalloc(N * M), *dxr = dalloc(N * K), *dwr = dalloc(M * K),
           *dbr = dalloc(M);
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double z = b ? b[m] : 0.0;
            for (int k = 0; k < K; k++)
                z += (double)x[n * K + k] * w[m * K + k];
            yr[n * M + m] = ref_act(c->act, c->alpha, z);
            dz[n * M + m] = f.seed[n * M + m] * ref_dact(c->act, c->alpha, z);
        }
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++)
            for (int k = 0; k < K; k++) {
                dxr[n * K + k] += dz[n * M + m] * w[m * K + k];
                dwr[m * K + k] += dz[n * M + m] * x[n * K + k];
            }
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++)
            dbr[m] += dz[n * M + m];
    const double *dp[2] = {dwr, dbr};
    fx_check(&f, yr, c->xgrad ? dxr : NULL, dp);
    free(yr);
    free(dz);
    free(dxr);
    free(dwr);
    free(dbr);
    fx_free(&f);
}
END_TEST

/* ---- conv2d ---- */

typedef struct conv_case {
    int N, C, H, W, F, KH, KW, SH, SW, PH, PW, bias;
    dlx_act act;
    float alpha;
    bool xgrad;
} conv_case;

/* Stride-1 cases run the direct kernels: core/ops/conv2d_direct.c forward
 * (wide rows, filter pairs, filter vectors) and conv2d_direct_backward.c (dW
 * over filter vectors and over wide rows in blocks of 4 terms and single
 * terms, dX by term pairs over blocks of 128 and single terms); the others
 * im2col and GEMM. */
static const conv_case k_conv[] = {
    {2, 1, 7, 7, 3, 3, 3, 1, 1, 0, 0, 1, DLX_ACT_NONE, 0, true},
    {2, 3, 8, 9, 4, 3, 2, 2, 1, 1, 0, 1, DLX_ACT_RELU, 0, true},
    {3, 2, 9, 7, 5, 5, 5, 1, 1, 2, 2, 0, DLX_ACT_TANH, 0, true},
    {2, 2, 10, 11, 3, 4, 3, 2, 2, 1, 2, 1, DLX_ACT_SIGMOID, 0, true},
    {1, 4, 6, 5, 2, 2, 3, 1, 2, 2, 1, 1, DLX_ACT_LEAKY_RELU, 0.1f, true},
    {2, 3, 7, 8, 6, 3, 3, 2, 2, 1, 1, 0, DLX_ACT_LECUN_TANH, 0, true},
    {2, 1, 12, 12, 6, 5, 5, 1, 1, 2, 2, 1, DLX_ACT_RELU, 0, false}, /* LeNet conv1-like */
    {2, 6, 7, 7, 4, 5, 5, 1, 1, 0, 0, 1, DLX_ACT_TANH, 0, true},    /* LeNet conv2-like */
    {2, 2, 5, 5, 3, 7, 7, 1, 1, 1, 1, 1, DLX_ACT_NONE, 0, true},    /* kernel = padded input */
    {2, 3, 7, 6, 2, 1, 1, 3, 2, 0, 1, 1, DLX_ACT_NONE, 0, true},    /* 1x1, stride > kernel */
    {1, 2, 8, 8, 3, 3, 3, 3, 3, 0, 0, 0, DLX_ACT_RELU, 0, true},    /* skipped remainder */
    {2, 2, 5, 4, 2, 2, 2, 1, 1, 2, 2, 1, DLX_ACT_SIGMOID, 0, true}, /* all-padding windows */
    /* filter vectors (F a multiple of 16): 100 positions and 150 terms leave
     * partial blocks of 8; two filter groups; dW alone */
    {3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, DLX_ACT_RELU, 0, true}, /* LeNet C3 */
    {2, 3, 9, 7, 32, 3, 3, 1, 1, 1, 1, 1, DLX_ACT_TANH, 0, true},
    {2, 1, 6, 6, 16, 5, 5, 1, 1, 2, 2, 0, DLX_ACT_NONE, 0, false},
    /* conv_gemm.h's kernel (AVX2): DCGAN's block with 8 and 16 filters; 24
     * filters over 32 positions (column tiles of 16 and 8, rows of 6 and 5) */
    {3, 2, 8, 8, 8, 4, 4, 2, 2, 1, 1, 1, DLX_ACT_LEAKY_RELU, 0.2f, true},
    {2, 4, 16, 16, 16, 4, 4, 2, 2, 1, 1, 0, DLX_ACT_NONE, 0, true},
    {2, 3, 8, 16, 24, 3, 3, 2, 2, 1, 1, 1, DLX_ACT_TANH, 0, true},
};

START_TEST(test_conv2d_ref)
{
    const conv_case c = k_conv[_i];
    int OH = (c.H + 2 * c.PH - c.KH) / c.SH + 1, OW = (c.W + 2 * c.PW - c.KW) / c.SW + 1;
    dlx_shape ps[2] = {dlx_shape_4d(c.F, c.C, c.KH, c.KW), dlx_shape_1d(c.F)};
    dlx_conv2d_attr attr = {c.SH, c.SW, c.PH, c.PW, c.act, c.alpha};
    fixture f;
    fx_build(&f, &dlx_op_conv2d, dlx_shape_4d(c.N, c.C, c.H, c.W), c.xgrad, ps, c.bias ? 2 : 1,
             &attr, 200 + (uint64_t)_i);
    dlx_shape want = dlx_shape_4d(c.N, c.F, OH, OW);
    ck_assert(dlx_shape_eq(&f.y->out.shape, &want));
    const float *x = f.x->out.data, *w = pdata(&f, 0), *b = c.bias ? pdata(&f, 1) : NULL;
    int64_t ny = (int64_t)c.N * c.F * OH * OW, nx = (int64_t)c.N * c.C * c.H * c.W;
    int64_t nw = (int64_t)c.F * c.C * c.KH * c.KW;
    double *yr = dalloc(ny), *dz = dalloc(ny), *dxr = dalloc(nx), *dwr = dalloc(nw),
           *dbr = dalloc(c.F);
#define X(n, ch, h, ww) (((int64_t)(n) * c.C + (ch)) * c.H + (h)) * c.W + (ww)
#define WI(fi, ch, p, q) (((int64_t)(fi) * c.C + (ch)) * c.KH + (p)) * c.KW + (q)
#define Y(n, fi, i, j) (((int64_t)(n) * c.F + (fi)) * OH + (i)) * OW + (j)
    for (int n = 0; n < c.N; n++)
        for (int fi = 0; fi < c.F; fi++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double z = b ? b[fi] : 0.0;
                    for (int ch = 0; ch < c.C; ch++)
                        for (int p = 0; p < c.KH; p++)
                            for (int q = 0; q < c.KW; q++) {
                                int h = i * c.SH - c.PH + p, ww = j * c.SW - c.PW + q;
                                if (h >= 0 && h < c.H && ww >= 0 && ww < c.W)
                                    z += (double)w[WI(fi, ch, p, q)] * x[X(n, ch, h, ww)];
                            }
                    yr[Y(n, fi, i, j)] = ref_act(c.act, c.alpha, z);
                    dz[Y(n, fi, i, j)] = f.seed[Y(n, fi, i, j)] * ref_dact(c.act, c.alpha, z);
                }
    for (int n = 0; n < c.N; n++)
        for (int fi = 0; fi < c.F; fi++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double g = dz[Y(n, fi, i, j)];
                    dbr[fi] += g;
                    for (int ch = 0; ch < c.C; ch++)
                        for (int p = 0; p < c.KH; p++)
                            for (int q = 0; q < c.KW; q++) {
                                int h = i * c.SH - c.PH + p, ww = j * c.SW - c.PW + q;
                                if (h < 0 || h >= c.H || ww < 0 || ww >= c.W)
                                    continue;
                                dwr[WI(fi, ch, p, q)] += g * x[X(n, ch, h, ww)];
                                dxr[X(n, ch, h, ww)] += g * w[WI(fi, ch, p, q)];
                            }
                }
#undef X
#undef WI
#undef Y
    const double *dp[2] = {dwr, dbr};
    fx_check(&f, yr, c.xgrad ? dxr : NULL, dp);
    free(yr);
    free(dz);
    free(dxr);
    free(dwr);
    free(dbr);
    fx_free(&f);
}
END_TEST

/* ---- pooling ---- */

typedef struct pool_case {
    int N, C, H, W, KH, KW, SH, SW, PH, PW;
} pool_case;

static const pool_case k_pool[] = {
    {2, 3, 8, 8, 2, 2, 2, 2, 0, 0}, /* LeNet */
    {1, 2, 28, 28, 2, 2, 2, 2, 0, 0}, /* LeNet's S2 size: one 16-output block and a tail */
    {1, 2, 6, 40, 2, 2, 2, 2, 0, 0},  /* 20 outputs a row: a full block and a tail of 4 */
    {1, 1, 5, 65, 2, 2, 2, 2, 0, 0},  /* odd H and W: the last row and column are unused */
    {1, 1, 3, 3, 2, 2, 2, 2, 0, 0},   /* one output per row */
    {2, 2, 7, 9, 3, 3, 2, 2, 1, 1},
    {1, 3, 5, 6, 2, 3, 1, 2, 1, 1},
    {2, 2, 9, 7, 3, 2, 3, 1, 0, 1},
    {1, 1, 4, 4, 4, 4, 1, 1, 2, 3}, /* heavy padding: windows of 1..16 real cells */
    {1, 2, 7, 7, 2, 2, 3, 3, 0, 0}, /* stride > window: cells no window covers */
};

static void pool_ref(const pool_case *c, bool is_max, const float *x, const float *seed,
                     double *yr, double *dxr)
{
    int OH = (c->H + 2 * c->PH - c->KH) / c->SH + 1, OW = (c->W + 2 * c->PW - c->KW) / c->SW + 1;
    for (int nc = 0; nc < c->N * c->C; nc++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                double m = -INFINITY, s = 0;
                int arg = -1, cnt = 0;
                for (int p = 0; p < c->KH; p++)
                    for (int q = 0; q < c->KW; q++) {
                        int h = i * c->SH - c->PH + p, w = j * c->SW - c->PW + q;
                        if (h < 0 || h >= c->H || w < 0 || w >= c->W)
                            continue;
                        int k = (nc * c->H + h) * c->W + w;
                        if (x[k] > m) {
                            m = x[k];
                            arg = k;
                        }
                        s += x[k];
                        cnt++;
                    }
                int o = (nc * OH + i) * OW + j;
                ck_assert_int_gt(cnt, 0);
                if (is_max) {
                    yr[o] = m;
                    dxr[arg] += seed[o];
                } else {
                    yr[o] = s / cnt;
                    for (int p = 0; p < c->KH; p++)
                        for (int q = 0; q < c->KW; q++) {
                            int h = i * c->SH - c->PH + p, w = j * c->SW - c->PW + q;
                            if (h >= 0 && h < c->H && w >= 0 && w < c->W)
                                dxr[(nc * c->H + h) * c->W + w] += seed[o] / cnt;
                        }
                }
            }
}

static void pool_case_run(const pool_case *c, bool is_max, uint64_t seed, bool ties)
{
    dlx_pool2d_attr attr = {c->KH, c->KW, c->SH, c->SW, c->PH, c->PW};
    fixture f;
    fx_build(&f, is_max ? &dlx_op_maxpool2d : &dlx_op_avgpool2d,
             dlx_shape_4d(c->N, c->C, c->H, c->W), true, NULL, 0, &attr, seed);
    int OH = (c->H + 2 * c->PH - c->KH) / c->SH + 1, OW = (c->W + 2 * c->PW - c->KW) / c->SW + 1;
    dlx_shape want = dlx_shape_4d(c->N, c->C, OH, OW);
    ck_assert(dlx_shape_eq(&f.y->out.shape, &want));
    if (ties) /* values from {-1, 0, 1}: many ties, and negative windows next to padding */
        for (int64_t i = 0; i < f.x->out.numel; i++)
            f.x->out.data[i] = (float)((i * 7 + i / 5) % 3 - 1);
    double *yr = dalloc(f.y->out.numel), *dxr = dalloc(f.x->out.numel);
    pool_ref(c, is_max, f.x->out.data, f.seed, yr, dxr);
    fx_check(&f, yr, dxr, NULL);
    free(yr);
    free(dxr);
    fx_free(&f);
}

START_TEST(test_maxpool_ref) { pool_case_run(&k_pool[_i], true, 300 + (uint64_t)_i, false); }
END_TEST

START_TEST(test_maxpool_ties) { pool_case_run(&k_pool[_i], true, 400 + (uint64_t)_i, true); }
END_TEST

START_TEST(test_avgpool_ref) { pool_case_run(&k_pool[_i], false, 500 + (uint64_t)_i, false); }
END_TEST

/* Exact values: ties go to the first maximum; padding never wins a max and
 * is never counted in an average. */
START_TEST(test_pool_exact)
{
    dlx_pool2d_attr attr = {2, 2, 2, 2, 1, 1};
    fixture f;
    fx_build(&f, &dlx_op_maxpool2d, dlx_shape_4d(1, 1, 2, 2), true, NULL, 0, &attr, 1);
    /* windows: {x00}, {x01}, {x10}, {x11} (each 2x2 window holds one real cell) */
    const float xv[4] = {-3, -1, 2, 2};
    memcpy(f.x->out.data, xv, sizeof xv);
    dlx_ctx ctx = {.training = true};
    dlx_graph_forward(f.g, &ctx);
    ck_assert_int_eq(f.y->out.numel, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(f.y->out.data[i], xv[i]);
    fx_free(&f);

    dlx_pool2d_attr a2 = {2, 2, 1, 1, 0, 0};
    fx_build(&f, &dlx_op_maxpool2d, dlx_shape_4d(1, 1, 2, 3), true, NULL, 0, &a2, 1);
    const float t[6] = {5, 5, 5, 5, 5, 5};
    memcpy(f.x->out.data, t, sizeof t);
    dlx_graph_forward(f.g, &ctx);
    const float sd[2] = {1, 10};
    dlx_graph_backward_from(f.g, f.y, sd, &ctx);
    /* both windows tie everywhere: first cell of each window gets it */
    const float dx[6] = {1, 10, 0, 0, 0, 0};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(f.x->out.grad[i], dx[i]);
    fx_free(&f);

    dlx_pool2d_attr a3 = {3, 3, 3, 3, 1, 1};
    fx_build(&f, &dlx_op_avgpool2d, dlx_shape_4d(1, 1, 2, 2), true, NULL, 0, &a3, 1);
    const float v[4] = {1, 2, 3, 6};
    memcpy(f.x->out.data, v, sizeof v);
    dlx_graph_forward(f.g, &ctx);
    ck_assert_int_eq(f.y->out.numel, 1);
    ck_assert_float_eq(f.y->out.data[0], 3.0f); /* 12 / 4 real cells, not / 9 */
    const float one = 2.0f;
    dlx_graph_backward_from(f.g, f.y, &one, &ctx);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(f.x->out.grad[i], 0.5f);
    fx_free(&f);
}
END_TEST

/* ---- infer errors ---- */

/* Builds op on inputs of the given shapes and expects failure with `msg`. */
static void expect_infer_error(const dlx_op_vtbl *op, const void *attr, const dlx_shape *shapes,
                               int n, const char *msg)
{
    dlx_params p;
    dlx_params_init(&p);
    dlx_err e;
    dlx_err_clear(&e);
    dlx_graph *g = dlx_graph_create(&p);
    ck_assert_ptr_nonnull(g);
    dlx_node *in[4];
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        in[i] = dlx_graph_input(g, name, shapes[i], true, &e);
        ck_assert_ptr_nonnull(in[i]);
    }
    dlx_node *y = dlx_graph_op(g, op, "L", in, n, attr, (dlx_loc){"net.yaml", 3, 5}, &e);
    ck_assert_ptr_null(y);
    ck_assert_int_eq(e.code, DLX_EINVAL);
    ck_assert_str_eq(e.file, "net.yaml");
    ck_assert_int_eq(e.line, 3);
    ck_assert_msg(strstr(e.msg, msg) != NULL, "message '%s' lacks '%s'", e.msg, msg);
    ck_assert_int_eq(g->n, n); /* the failed node was dropped */
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}

START_TEST(test_conv2d_infer_errors)
{
    dlx_conv2d_attr a = {1, 1, 0, 0, DLX_ACT_RELU, 0};
    dlx_shape s1[2] = {dlx_shape_2d(64, 784), dlx_shape_4d(6, 1, 5, 5)};
    expect_infer_error(&dlx_op_conv2d, &a, s1, 2,
                       "conv2d 'L': expected a 4-d input (N, C, H, W), got [64, 784]");
    dlx_shape s2[2] = {dlx_shape_4d(64, 3, 28, 28), dlx_shape_4d(6, 1, 5, 5)};
    expect_infer_error(&dlx_op_conv2d, &a, s2, 2,
                       "weight [6, 1, 5, 5] expects 1 input channels, the input has 3");
    dlx_shape s3[2] = {dlx_shape_4d(64, 1, 4, 28), dlx_shape_4d(6, 1, 5, 5)};
    expect_infer_error(&dlx_op_conv2d, &a, s3, 2,
                       "kernel 5x5 is larger than the padded input 4x28 (input 4x28, padding 0x0)");
    dlx_shape s4[2] = {dlx_shape_4d(64, 1, 28, 28), dlx_shape_2d(6, 25)};
    expect_infer_error(&dlx_op_conv2d, &a, s4, 2,
                       "expected a 4-d weight (F, C, KH, KW), got [6, 25]");
    dlx_shape s5[3] = {dlx_shape_4d(64, 1, 28, 28), dlx_shape_4d(6, 1, 5, 5), dlx_shape_1d(5)};
    expect_infer_error(&dlx_op_conv2d, &a, s5, 3, "expected a bias of shape [6], got [5]");
    dlx_conv2d_attr bad_stride = {0, 1, 0, 0, DLX_ACT_NONE, 0};
    expect_infer_error(&dlx_op_conv2d, &bad_stride, s2, 2, "stride must be >= 1, got 0x1");
    dlx_conv2d_attr bad_pad = {1, 1, -1, 0, DLX_ACT_NONE, 0};
    expect_infer_error(&dlx_op_conv2d, &bad_pad, s2, 2, "padding must be >= 0, got -1x0");
    dlx_conv2d_attr bad_act = {1, 1, 0, 0, (dlx_act)42, 0};
    expect_infer_error(&dlx_op_conv2d, &bad_act, s2, 2,
                       "unknown activation 42 (known: none, relu, tanh");
    dlx_conv2d_attr bad_alpha = {1, 1, 0, 0, DLX_ACT_LEAKY_RELU, -0.5f};
    expect_infer_error(&dlx_op_conv2d, &bad_alpha, s2, 2,
                       "leaky_relu alpha must be finite and >= 0, got -0.5");
    /* the same shapes that fail without padding fit with it */
    dlx_shape s6[2] = {dlx_shape_4d(64, 1, 4, 28), dlx_shape_4d(6, 1, 5, 5)};
    dlx_conv2d_attr padded = {1, 1, 1, 0, DLX_ACT_NONE, 0};
    dlx_params p;
    dlx_params_init(&p);
    dlx_graph *g = dlx_graph_create(&p);
    dlx_err e;
    dlx_node *in[2] = {dlx_graph_input(g, "x", s6[0], false, &e),
                       dlx_graph_input(g, "w", s6[1], false, &e)};
    dlx_node *y = dlx_graph_op(g, &dlx_op_conv2d, "c", in, 2, &padded, DLX_NOLOC, &e);
    ck_assert_ptr_nonnull(y);
    dlx_shape want = dlx_shape_4d(64, 6, 2, 24);
    ck_assert(dlx_shape_eq(&y->out.shape, &want));
    /* stride 1: the direct kernels' workspace (2 padded images of 6 x 28 plus
     * slack, rounded to 240 floats; a wide output of 6 x 64) and one image's dZ,
     * independent of the batch */
    ck_assert_int_eq(y->scratch_floats, 2 * 240 + 6 * 64 + 16 + 6 * 2 * 24);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

START_TEST(test_linear_infer_errors)
{
    dlx_linear_attr a = {DLX_ACT_NONE, 0};
    dlx_shape s1[2] = {dlx_shape_1d(10), dlx_shape_2d(5, 10)};
    expect_infer_error(&dlx_op_linear, &a, s1, 2,
                       "linear 'L': expected an input of 2 or more dims (N, features...), got [10]");
    dlx_shape s2[2] = {dlx_shape_4d(8, 1, 28, 28), dlx_shape_2d(100, 748)};
    expect_infer_error(&dlx_op_linear, &a, s2, 2,
                       "weight [100, 748] expects 748 input features, the input has 784");
    dlx_shape s3[2] = {dlx_shape_2d(8, 10), dlx_shape_1d(10)};
    expect_infer_error(&dlx_op_linear, &a, s3, 2, "expected a 2-d weight (M, K), got [10]");
    dlx_shape s4[3] = {dlx_shape_2d(8, 10), dlx_shape_2d(5, 10), dlx_shape_2d(1, 5)};
    expect_infer_error(&dlx_op_linear, &a, s4, 3, "expected a bias of shape [5], got [1, 5]");
    dlx_linear_attr bad = {(dlx_act)-1, 0};
    dlx_shape s5[2] = {dlx_shape_2d(8, 10), dlx_shape_2d(5, 10)};
    expect_infer_error(&dlx_op_linear, &bad, s5, 2, "unknown activation -1");
}
END_TEST

START_TEST(test_pool_infer_errors)
{
    dlx_pool2d_attr a = {2, 2, 2, 2, 0, 0};
    dlx_shape s1[1] = {dlx_shape_2d(64, 784)};
    expect_infer_error(&dlx_op_maxpool2d, &a, s1, 1,
                       "maxpool2d 'L': expected a 4-d input (N, C, H, W), got [64, 784]");
    expect_infer_error(&dlx_op_avgpool2d, &a, s1, 1,
                       "avgpool2d 'L': expected a 4-d input (N, C, H, W), got [64, 784]");
    dlx_pool2d_attr pad = {2, 3, 2, 2, 2, 1};
    dlx_shape s2[1] = {dlx_shape_4d(1, 1, 8, 8)};
    expect_infer_error(&dlx_op_maxpool2d, &pad, s2, 1,
                       "padding must be >= 0 and smaller than the window 2x3, got 2x1");
    dlx_pool2d_attr big = {5, 2, 1, 1, 0, 0};
    dlx_shape s3[1] = {dlx_shape_4d(1, 1, 4, 8)};
    expect_infer_error(&dlx_op_avgpool2d, &big, s3, 1,
                       "window 5x2 is larger than the padded input 4x8 (input 4x8, padding 0x0)");
    dlx_pool2d_attr zero = {0, 2, 1, 1, 0, 0};
    expect_infer_error(&dlx_op_maxpool2d, &zero, s2, 1, "window size must be >= 1, got 0x2");
    dlx_pool2d_attr st = {2, 2, 1, -1, 0, 0};
    expect_infer_error(&dlx_op_maxpool2d, &st, s2, 1, "stride must be >= 1, got 1x-1");
}
END_TEST

START_TEST(test_act_infer_errors)
{
    dlx_act_attr a = {(dlx_act)6, 0};
    dlx_shape s[1] = {dlx_shape_2d(2, 3)};
    expect_infer_error(&dlx_op_act, &a, s, 1,
                       "act 'L': unknown activation 6 (known: none, relu, tanh, sigmoid, "
                       "leaky_relu, lecun_tanh)");
    dlx_act_attr b = {DLX_ACT_LEAKY_RELU, -0.1f};
    expect_infer_error(&dlx_op_act, &b, s, 1, "leaky_relu alpha must be finite and >= 0");
}
END_TEST

/* conv2d_direct: which convolutions take the direct wide-row kernels. Every
 * stride-1 case of k_conv above runs through them (and every other case
 * through im2col + GEMM), so test_conv2d_ref checks both paths against the
 * naive double-precision reference, forward and backward. */
START_TEST(test_conv2d_direct_plan)
{
    dlx_conv_direct d;
    /* LeNet's conv2: 6 -> 16 maps, 5x5 on 14x14 */
    ck_assert(dlx_conv_direct_plan(6, 14, 14, 16, 5, 5, 1, 1, 0, 0, &d));
    ck_assert_int_eq(d.OH, 10);
    ck_assert_int_eq(d.Wp, 14);
    ck_assert_int_eq(d.Lw, 140);
    ck_assert_int_eq(d.Lv, 144); /* rounded up to whole 16-float vectors */
    /* padding widens the rows: conv1, 28x28 padded by 2 */
    ck_assert(dlx_conv_direct_plan(1, 28, 28, 6, 5, 5, 1, 1, 2, 2, &d));
    ck_assert_int_eq(d.Wp, 32);
    ck_assert_int_eq(d.Lw, 28 * 32);
    ck_assert(!dlx_conv_direct_plan(6, 14, 14, 16, 5, 5, 2, 2, 0, 0, &d));     /* stride 2: im2col */
    ck_assert(!dlx_conv_direct_plan(64, 14, 14, 16, 5, 5, 1, 1, 0, 0, &d));    /* C KH KW > 1024 */
    ck_assert(!dlx_conv_direct_plan(6, 14, 14, 256, 3, 3, 1, 1, 1, 1, &d));    /* F > 128 */
}
END_TEST

Suite *ops_ref_suite(void)
{
    Suite *s = suite_create("ops_ref");
    TCase *tc = tcase_create("act");
    tcase_add_test(tc, test_act_names);
    tcase_add_test(tc, test_act_known_values);
    tcase_add_loop_test(tc, test_act_op_ref, 0, 6);
    tcase_add_test(tc, test_act_infer_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("linear");
    tcase_add_loop_test(tc, test_linear_ref, 0, (int)(sizeof k_lin / sizeof k_lin[0]));
    tcase_add_test(tc, test_linear_infer_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("conv2d");
    tcase_add_loop_test(tc, test_conv2d_ref, 0, (int)(sizeof k_conv / sizeof k_conv[0]));
    tcase_add_test(tc, test_conv2d_infer_errors);
    tcase_add_test(tc, test_conv2d_direct_plan);
    suite_add_tcase(s, tc);

    tc = tcase_create("pool2d");
    int np = (int)(sizeof k_pool / sizeof k_pool[0]);
    tcase_add_loop_test(tc, test_maxpool_ref, 0, np);
    tcase_add_loop_test(tc, test_maxpool_ties, 0, np);
    tcase_add_loop_test(tc, test_avgpool_ref, 0, np);
    tcase_add_test(tc, test_pool_exact);
    tcase_add_test(tc, test_pool_infer_errors);
    suite_add_tcase(s, tc);
    return s;
}
