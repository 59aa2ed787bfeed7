/* What a gradient check does not show about scale, affine, mul, abs,
 * stop_gradient, softmax and slice: their values on known inputs, which
 * elements slice picks, softmax's rows summing to 1 (also for huge logits),
 * the subgradient of abs at 0, and that no gradient passes stop_gradient.
 * Every graph is built from YAML, so the layer types and keys are covered too.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/layers.h"
#include "../core/spec.h"

typedef struct net {
    dlx_spec *spec;
    dlx_params p;
    dlx_graph *g;
    dlx_node *x;
    dlx_layers_out out;
    dlx_err err;
    int rc;
} net;

/* Build `yaml`'s layers on an input of shape `in` (with a gradient when
 * x_grad); on success finalize, initialise (seed 3) and compile. */
static void build(net *b, const char *yaml, dlx_shape in, bool x_grad)
{
    memset(b, 0, sizeof *b);
    ck_assert_int_eq(dlx_spec_load_string(yaml, "t.yaml", &b->spec, &b->err), 0);
    dlx_params_init(&b->p);
    b->g = dlx_graph_create(&b->p);
    ck_assert_ptr_nonnull(b->g);
    b->x = dlx_graph_input(b->g, "input", in, x_grad, &b->err);
    ck_assert_ptr_nonnull(b->x);
    dlx_spec_node *layers = dlx_spec_get(dlx_spec_root(b->spec), "layers");
    b->rc = dlx_layers_build(b->g, &b->p, layers, "", b->x, &b->out, &b->err);
    if (b->rc)
        return;
    ck_assert_int_eq(dlx_params_finalize(&b->p, &b->err), 0);
    ck_assert_int_eq(dlx_params_init_values(&b->p, 3, &b->err), 0);
    ck_assert_msg(dlx_graph_compile(b->g, 0, &b->err) == 0, "%s", b->err.msg);
}

static void drop(net *b)
{
    free(b->out.info);
    dlx_graph_destroy(b->g);
    dlx_params_free(&b->p);
    dlx_spec_destroy(b->spec);
}

static const dlx_ctx k_ctx = {.training = true, .seed = 1, .threads = 1};

/* Set the input, run forward; returns the output's values. */
static const float *run(net *b, const float *x)
{
    ck_assert_msg(b->rc == 0, "%s", b->err.msg);
    memcpy(b->x->out.data, x, (size_t)b->x->out.numel * sizeof *x);
    dlx_graph_forward(b->g, &k_ctx);
    return b->out.output->out.data;
}

/* Backward from the output with seed dy (NULL: ones), parameter gradients zeroed first. */
static void back(net *b, const float *dy)
{
    dlx_params_zero_grad(&b->p);
    dlx_graph_backward_from(b->g, b->out.output, dy, &k_ctx);
}

static float *param(net *b, const char *name, bool grad)
{
    int i = dlx_params_find(&b->p, name);
    ck_assert_msg(i >= 0, "no parameter %s", name);
    return grad ? b->p.items[i].t.grad : b->p.items[i].t.data;
}

static void expect_close(const float *got, const float *want, int n, double tol, const char *what)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs((double)got[i] - want[i]) <= tol, "%s[%d]: got %.9g, want %.9g", what, i,
                      (double)got[i], (double)want[i]);
}

START_TEST(scale_values)
{
    net b;
    build(&b, "layers:\n  - {type: scale, scale: 2, shift: -1}\n", dlx_shape_2d(2, 2), true);
    const float x[4] = {1.0f, -2.0f, 3.0f, 0.5f};
    expect_close(run(&b, x), (const float[]){1.0f, -5.0f, 5.0f, 0.0f}, 4, 0.0, "2x - 1");
    back(&b, NULL);
    expect_close(b.x->out.grad, (const float[]){2.0f, 2.0f, 2.0f, 2.0f}, 4, 0.0, "dx");
    drop(&b);
    build(&b, "layers:\n  - {type: scale}\n", dlx_shape_2d(2, 2), false); /* defaults: the identity */
    expect_close(run(&b, x), x, 4, 0.0, "scale 1, shift 0");
    drop(&b);
}
END_TEST

/* gamma 1 and beta 0 at first (the identity), then per channel on axis 1. */
START_TEST(affine_values)
{
    net b;
    build(&b, "layers:\n  - {type: affine}\n", dlx_shape_4d(2, 3, 1, 2), true);
    ck_assert_int_eq(b.out.info[0].n_params, 6);
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i - 5.0f;
    expect_close(run(&b, x), x, 12, 0.0, "identity at init");
    float *g = param(&b, "affine1.weight", false), *be = param(&b, "affine1.bias", false);
    const float gv[3] = {1.0f, 2.0f, -3.0f}, bv[3] = {0.5f, 0.0f, -1.0f};
    memcpy(g, gv, sizeof gv);
    memcpy(be, bv, sizeof bv);
    const float *y = run(&b, x);
    for (int i = 0; i < 12; i++) {
        int c = (i / 2) % 3;
        ck_assert_msg(y[i] == gv[c] * x[i] + bv[c], "y[%d] = %g", i, (double)y[i]);
    }
    back(&b, NULL);
    const float *dg = param(&b, "affine1.weight", true), *db = param(&b, "affine1.bias", true);
    for (int c = 0; c < 3; c++) { /* channel c holds x[2c], x[2c+1], x[6+2c], x[7+2c] */
        float sx = x[2 * c] + x[2 * c + 1] + x[6 + 2 * c] + x[7 + 2 * c];
        ck_assert_msg(dg[c] == sx && db[c] == 4.0f, "channel %d: dgamma %g, dbeta %g", c, (double)dg[c],
                      (double)db[c]);
    }
    for (int i = 0; i < 12; i++)
        ck_assert(b.x->out.grad[i] == gv[(i / 2) % 3]);
    drop(&b);
    build(&b, "layers:\n  - {type: affine, bias: false}\n", dlx_shape_2d(2, 3), false);
    ck_assert_int_eq(b.out.info[0].n_params, 3);
    ck_assert_int_eq(dlx_params_find(&b.p, "affine1.bias"), -1);
    drop(&b);
}
END_TEST

/* x * (2x) * x = 2 x^3 through a fan-out: dx = 6 x^2. */
START_TEST(mul_values)
{
    net b;
    build(&b,
          "layers:\n"
          "  - {type: scale, scale: 2, name: twice}\n"
          "  - {type: mul, inputs: [input, twice, input]}\n",
          dlx_shape_2d(1, 4), true);
    const float x[4] = {1.0f, -2.0f, 0.5f, 0.0f};
    expect_close(run(&b, x), (const float[]){2.0f, -16.0f, 0.25f, 0.0f}, 4, 0.0, "2 x^3");
    back(&b, NULL);
    expect_close(b.x->out.grad, (const float[]){6.0f, 24.0f, 1.5f, 0.0f}, 4, 1e-6, "6 x^2");
    drop(&b);
}
END_TEST

/* |x|, and the subgradient 0 at x = 0 (also at -0). */
START_TEST(abs_values)
{
    net b;
    build(&b, "layers:\n  - {type: abs}\n", dlx_shape_2d(1, 5), true);
    const float x[5] = {-2.0f, 0.0f, 3.0f, -0.5f, -0.0f};
    const float *y = run(&b, x);
    expect_close(y, (const float[]){2.0f, 0.0f, 3.0f, 0.5f, 0.0f}, 5, 0.0, "|x|");
    ck_assert(!signbit(y[4]));
    back(&b, (const float[]){1.0f, 1.0f, 1.0f, 2.0f, 1.0f});
    expect_close(b.x->out.grad, (const float[]){-1.0f, 0.0f, 1.0f, -2.0f, 0.0f}, 5, 0.0, "sign(x) dy");
    drop(&b);
}
END_TEST

/* linear -> stop_gradient -> linear: the value passes unchanged, the first
 * linear's parameters and the input get exactly zero gradient, the second's
 * do not. */
START_TEST(stop_gradient_blocks)
{
    net b;
    build(&b,
          "layers:\n"
          "  - {type: linear, units: 4, name: first}\n"
          "  - {type: stop_gradient, name: stop}\n"
          "  - {type: linear, units: 2, name: second}\n",
          dlx_shape_2d(3, 5), true);
    float x[15];
    for (int i = 0; i < 15; i++)
        x[i] = 0.1f * (float)(i % 7) - 0.3f;
    run(&b, x);
    const dlx_node *first = dlx_graph_find(b.g, "first"), *stop = dlx_graph_find(b.g, "stop");
    ck_assert(first && stop);
    ck_assert(memcmp(first->out.data, stop->out.data, 12 * sizeof(float)) == 0);
    back(&b, NULL);
    const char *zero[] = {"first.weight", "first.bias"};
    for (int k = 0; k < 2; k++) {
        int i = dlx_params_find(&b.p, zero[k]);
        for (int64_t j = 0; j < b.p.items[i].t.numel; j++)
            ck_assert_msg(b.p.items[i].t.grad[j] == 0.0f, "%s grad[%lld] = %g", zero[k], (long long)j,
                          (double)b.p.items[i].t.grad[j]);
    }
    for (int j = 0; j < 15; j++)
        ck_assert(b.x->out.grad[j] == 0.0f);
    double norm = 0.0;
    const float *dw = param(&b, "second.weight", true);
    for (int j = 0; j < 8; j++)
        norm += fabs(dw[j]);
    ck_assert_msg(norm > 0.01, "second.weight got no gradient (%g)", norm);
    const float *db = param(&b, "second.bias", true);
    ck_assert(db[0] == 3.0f && db[1] == 3.0f); /* dy = 1 summed over 3 samples */
    drop(&b);
}
END_TEST

/* Rows sum to 1 and match exp(x) / sum exp(x), also with logits near 1000
 * (exp overflows float without the max subtracted); backward's sum over the
 * classes is 0 (the sum of y is constant). */
START_TEST(softmax_rows)
{
    net b;
    build(&b, "layers:\n  - {type: softmax}\n", dlx_shape_2d(3, 3), true);
    const float x[9] = {0.0f, logf(2.0f), logf(5.0f), 1000.0f, 1001.0f, 1000.0f, -3.0f, -3.0f, -3.0f};
    const float *y = run(&b, x);
    const double e = exp(1.0);
    const float want[9] = {0.125f, 0.25f, 0.625f, (float)(1 / (2 + e)), (float)(e / (2 + e)), (float)(1 / (2 + e)),
                           1.0f / 3, 1.0f / 3, 1.0f / 3};
    expect_close(y, want, 9, 1e-6, "softmax");
    back(&b, (const float[]){1.0f, 0.0f, 0.0f, 0.3f, -2.0f, 5.0f, 1.0f, 1.0f, 1.0f});
    for (int r = 0; r < 3; r++) {
        const float *dx = b.x->out.grad + 3 * r;
        ck_assert_msg(fabs((double)dx[0] + dx[1] + dx[2]) < 1e-6, "row %d: dx sums to %g", r,
                      (double)dx[0] + dx[1] + dx[2]);
    }
    /* dy = onehot(0): dx = y0 (onehot(0) - y) */
    expect_close(b.x->out.grad, (const float[]){0.125f * 0.875f, -0.125f * 0.25f, -0.125f * 0.625f}, 3, 1e-7,
                 "dx row 0");
    expect_close(b.x->out.grad + 6, (const float[]){0.0f, 0.0f, 0.0f}, 3, 1e-7, "dx of a constant dy");
    drop(&b);

    /* (N, K, H, W): one softmax over K per position */
    build(&b, "layers:\n  - {type: softmax}\n", dlx_shape_4d(2, 3, 2, 2), false);
    float x4[24];
    for (int i = 0; i < 24; i++)
        x4[i] = 0.37f * (float)((i * 7) % 11) - 1.5f;
    y = run(&b, x4);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 4; i++) {
            double sum = 0.0, den = 0.0;
            for (int k = 0; k < 3; k++)
                den += exp((double)x4[n * 12 + k * 4 + i]);
            for (int k = 0; k < 3; k++) {
                double p = exp((double)x4[n * 12 + k * 4 + i]) / den;
                ck_assert_msg(fabs(y[n * 12 + k * 4 + i] - p) < 1e-6, "y[%d,%d,%d]", n, k, i);
                sum += y[n * 12 + k * 4 + i];
            }
            ck_assert_msg(fabs(sum - 1.0) < 1e-6, "position (%d, %d) sums to %g", n, i, sum);
        }
    drop(&b);
}
END_TEST

/* slice picks x[:, 1:3, :]; backward puts dy there and nothing elsewhere. */
START_TEST(slice_elements)
{
    net b;
    build(&b, "layers:\n  - {type: slice, start: 1, size: 2}\n", (dlx_shape){.ndim = 3, .d = {2, 4, 3}}, true);
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    const float *y = run(&b, x);
    char s[64];
    ck_assert_str_eq(dlx_shape_str(&b.out.output->out.shape, s, sizeof s), "[2, 2, 3]");
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 3; i++)
                ck_assert(y[n * 6 + k * 3 + i] == x[n * 12 + (k + 1) * 3 + i]);
    float dy[12];
    for (int i = 0; i < 12; i++)
        dy[i] = 100.0f + (float)i;
    back(&b, dy);
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 3; i++) {
                float want = k >= 1 && k < 3 ? dy[n * 6 + (k - 1) * 3 + i] : 0.0f;
                ck_assert_msg(b.x->out.grad[n * 12 + k * 3 + i] == want, "dx[%d,%d,%d]", n, k, i);
            }
    drop(&b);

    /* the last axis of an image: columns 2..4 of each row */
    build(&b, "layers:\n  - {type: slice, axis: 3, start: 2, size: 3}\n", dlx_shape_4d(1, 2, 2, 5), false);
    float x4[20];
    for (int i = 0; i < 20; i++)
        x4[i] = (float)i;
    y = run(&b, x4);
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 3; j++)
            ck_assert(y[r * 3 + j] == x4[r * 5 + 2 + j]);
    drop(&b);
}
END_TEST

static void expect_error(const char *yaml, dlx_shape in, const char *text)
{
    net b;
    build(&b, yaml, in, false);
    ck_assert_int_eq(b.rc, DLX_EINVAL);
    char buf[1400];
    dlx_err_format(&b.err, buf, sizeof buf);
    if (!strstr(buf, text))
        ck_abort_msg("expected '%s' in '%s'", text, buf);
    drop(&b);
}

START_TEST(errors_are_located)
{
    expect_error("layers:\n  - {type: slice, start: 3, size: 2}\n", dlx_shape_2d(2, 4),
                 "t.yaml:2:5: error: slice 'slice1': start 3 and size 2 must satisfy");
    expect_error("layers:\n  - {type: slice, axis: 2, size: 1}\n", dlx_shape_2d(2, 4), "axis must be in [1, 1]");
    expect_error("layers:\n  - {type: slice}\n", dlx_shape_2d(2, 4), "size");
    expect_error("layers:\n  - {type: mul}\n", dlx_shape_2d(2, 4), "needs at least 2 inputs");
    expect_error("layers:\n  - {type: linear, units: 3}\n  - {type: mul, inputs: [input, linear1]}\n",
                 dlx_shape_2d(2, 4), "all inputs must have one shape");
    expect_error("layers:\n  - {type: softmax}\n", dlx_shape_1d(4), "softmax over axis 1");
    expect_error("layers:\n  - {type: affine}\n", dlx_shape_1d(4), "affine needs an input of shape [N, C, ...]");
    expect_error("layers:\n  - {type: scale, scale: big}\n", dlx_shape_2d(2, 4), "scale");
    expect_error("layers:\n  - {type: scale, shfit: 1}\n", dlx_shape_2d(2, 4), "did you mean 'shift'?");
}
END_TEST

Suite *ops_elementwise_suite(void)
{
    Suite *s = suite_create("ops_elementwise");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, scale_values);
    tcase_add_test(tc, affine_values);
    tcase_add_test(tc, mul_values);
    tcase_add_test(tc, abs_values);
    tcase_add_test(tc, stop_gradient_blocks);
    tcase_add_test(tc, softmax_rows);
    tcase_add_test(tc, slice_elements);
    tcase_add_test(tc, errors_are_located);
    suite_add_tcase(s, tc);
    return s;
}
