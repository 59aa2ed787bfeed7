/* conv_transpose2d and upsample2d beyond the registry's checks: the
 * transposed convolution is the gradient of conv2d in its input; both agree
 * with PyTorch on a committed fixture (tests/data/upsample/make_ref.py); a
 * DCGAN-like generator and a conv discriminator build from YAML and train. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/layers.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"
#include "../core/spec.h"

static void fill(float *x, int64_t n, dlx_rng *r)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = 2.0f * dlx_rng_uniform(r) - 1.0f;
}

/* |a - b| <= tol (1 + |b|) elementwise; returns the largest |a - b| */
static double check_close(const float *a, const float *b, int64_t n, double tol, const char *what)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        ck_assert_msg(d <= tol * (1.0 + fabs(b[i])), "%s: element %lld: %.9g against %.9g", what, (long long)i,
                      (double)a[i], (double)b[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* ---- (a) conv_transpose2d(g; W) == d conv2d(x; W) / dx applied to g ---- */

typedef struct adj_case {
    int N, C, H, W, F, KH, KW, SH, SW, PH, PW;
} adj_case;

static const adj_case k_adj[] = {
    {2, 3, 7, 6, 4, 3, 3, 1, 1, 0, 0}, /* conv2d's direct path */
    {2, 3, 7, 6, 4, 3, 3, 2, 2, 1, 1}, /* output_padding 0x1 */
    {1, 2, 8, 9, 3, 4, 4, 2, 2, 1, 1}, /* DCGAN's block, output_padding 0x1 */
    {2, 2, 9, 7, 3, 3, 2, 3, 2, 1, 0}, /* output_padding 2x1 */
    {1, 4, 5, 5, 2, 5, 3, 1, 2, 2, 1}, /* output_padding 0x1 */
};

START_TEST(test_adjoint_of_conv2d)
{
    const adj_case *k = &k_adj[_i];
    dlx_err err = {0};
    dlx_params P;
    dlx_params_init(&P);
    /* conv2d's weight (F, C, KH, KW) is conv_transpose2d's (in F, out C, KH, KW) */
    int wi = dlx_params_declare(&P, "w", dlx_shape_4d(k->F, k->C, k->KH, k->KW), (dlx_init){.kind = DLX_INIT_ZERO},
                                true, &err);
    ck_assert_int_ge(wi, 0);
    ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
    dlx_graph *g = dlx_graph_create(&P);
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_4d(k->N, k->C, k->H, k->W), true, &err);
    dlx_node *w = dlx_graph_param(g, wi, &err);
    dlx_conv2d_attr ca = {k->SH, k->SW, k->PH, k->PW, DLX_ACT_NONE, 0.0f};
    dlx_node *cin[2] = {x, w};
    dlx_node *conv = dlx_graph_op(g, &dlx_op_conv2d, "conv", cin, 2, &ca, DLX_NOLOC, &err);
    ck_assert_msg(conv != NULL, "%s", err.msg);
    const int64_t OH = conv->out.shape.d[2], OW = conv->out.shape.d[3];
    /* the rows conv2d's floor dropped come back as output_padding */
    int oph = (int)((k->H + 2 * k->PH - k->KH) % k->SH), opw = (int)((k->W + 2 * k->PW - k->KW) % k->SW);
    dlx_node *up = dlx_graph_input(g, "g", conv->out.shape, false, &err);
    dlx_conv_transpose2d_attr ta = {k->SH, k->SW, k->PH, k->PW, oph, opw, DLX_ACT_NONE, 0.0f};
    dlx_node *tin[2] = {up, w};
    dlx_node *convt = dlx_graph_op(g, dlx_op_find("conv_transpose2d"), "convt", tin, 2, &ta, DLX_NOLOC, &err);
    ck_assert_msg(convt != NULL, "%s", err.msg);
    ck_assert(dlx_shape_eq(&convt->out.shape, &x->out.shape));
    ck_assert_int_eq(dlx_graph_compile(g, 0, &err), 0);
    dlx_rng r;
    dlx_rng_init(&r, 7 + (uint64_t)_i, DLX_STREAM_USER);
    fill(x->out.data, x->out.numel, &r);
    fill(w->out.data, w->out.numel, &r);
    fill(up->out.data, up->out.numel, &r);
    dlx_ctx ctx = {.threads = 1};
    dlx_graph_forward(g, &ctx);
    dlx_graph_backward_from(g, conv, up->out.data, &ctx);
    char what[64];
    snprintf(what, sizeof what, "case %d (%lldx%lld from %dx%d)", _i, (long long)OH, (long long)OW, k->H, k->W);
    check_close(convt->out.data, x->out.grad, x->out.numel, 1e-5, what);
    dlx_graph_destroy(g);
    dlx_params_free(&P);
}
END_TEST

/* ---- (b) agreement with PyTorch (tests/data/upsample/ref.txt) ---- */

typedef struct ref_tensor {
    char name[32];
    dlx_shape shape;
    float *v;
} ref_tensor;

typedef struct ref_file {
    ref_tensor t[16];
    int n;
} ref_file;

static void ref_load(ref_file *f)
{
    const char *src = getenv("DLX_SRC_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/upsample/ref.txt", src ? src : ".");
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "cannot open %s (set DLX_SRC_DIR)", path);
    memset(f, 0, sizeof *f);
    int c;
    while ((c = fgetc(fp)) != EOF) {
        if (c == '#' || c == '\n') { /* a comment or an empty line */
            while (c != '\n' && c != EOF)
                c = fgetc(fp);
            continue;
        }
        ungetc(c, fp);
        ck_assert_int_lt(f->n, 16);
        ref_tensor *t = &f->t[f->n++];
        ck_assert_int_eq(fscanf(fp, "%31s %d", t->name, &t->shape.ndim), 2);
        ck_assert(t->shape.ndim >= 1 && t->shape.ndim <= 4);
        for (int i = 0; i < t->shape.ndim; i++)
            ck_assert_int_eq(fscanf(fp, "%lld", (long long *)&t->shape.d[i]), 1);
        int64_t n = dlx_shape_numel(&t->shape);
        t->v = malloc((size_t)n * sizeof *t->v);
        ck_assert_ptr_nonnull(t->v);
        for (int64_t i = 0; i < n; i++)
            ck_assert_int_eq(fscanf(fp, "%f", &t->v[i]), 1);
    }
    fclose(fp);
}

static const ref_tensor *ref_get(const ref_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    ck_abort_msg("no tensor %s in the fixture", name);
    return NULL;
}

static void ref_free(ref_file *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->t[i].v);
}

START_TEST(test_upsample_matches_torch)
{
    static const struct {
        const char *name;
        int sh, sw;
        dlx_upsample_mode mode;
    } cases[] = {
        {"nearest_2x2", 2, 2, DLX_UPSAMPLE_NEAREST},   {"nearest_3x2", 3, 2, DLX_UPSAMPLE_NEAREST},
        {"nearest_1x3", 1, 3, DLX_UPSAMPLE_NEAREST},   {"bilinear_2x2", 2, 2, DLX_UPSAMPLE_BILINEAR},
        {"bilinear_3x2", 3, 2, DLX_UPSAMPLE_BILINEAR}, {"bilinear_1x3", 1, 3, DLX_UPSAMPLE_BILINEAR},
    };
    ref_file f;
    ref_load(&f);
    const ref_tensor *x = ref_get(&f, "up_x");
    double worst[2] = {0, 0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dlx_err err = {0};
        dlx_params P;
        dlx_params_init(&P);
        ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
        dlx_graph *g = dlx_graph_create(&P);
        dlx_node *in = dlx_graph_input(g, "x", x->shape, false, &err);
        dlx_upsample2d_attr a = {cases[k].sh, cases[k].sw, cases[k].mode};
        dlx_node *y = dlx_graph_op(g, dlx_op_find("upsample2d"), "up", &in, 1, &a, DLX_NOLOC, &err);
        ck_assert_msg(y != NULL, "%s", err.msg);
        ck_assert_int_eq(dlx_graph_compile(g, 0, &err), 0);
        memcpy(in->out.data, x->v, (size_t)in->out.numel * sizeof(float));
        dlx_ctx ctx = {.threads = 1};
        dlx_graph_forward(g, &ctx);
        const ref_tensor *want = ref_get(&f, cases[k].name);
        ck_assert(dlx_shape_eq(&y->out.shape, &want->shape));
        /* nearest copies: exact; bilinear: float32 rounding of 4 products */
        double tol = cases[k].mode == DLX_UPSAMPLE_NEAREST ? 0.0 : 1e-6;
        double e = check_close(y->out.data, want->v, y->out.numel, tol, cases[k].name);
        worst[cases[k].mode] = e > worst[cases[k].mode] ? e : worst[cases[k].mode];
        dlx_graph_destroy(g);
        dlx_params_free(&P);
    }
    if (getenv("DLX_TEST_VERBOSE"))
        fprintf(stderr, "upsample2d against torch: max |error| nearest %g, bilinear %g\n", worst[0], worst[1]);
    ref_free(&f);
}
END_TEST

START_TEST(test_conv_transpose_matches_torch)
{
    ref_file f;
    ref_load(&f);
    const ref_tensor *x = ref_get(&f, "ct_x"), *w = ref_get(&f, "ct_w"), *b = ref_get(&f, "ct_b");
    const ref_tensor *want = ref_get(&f, "ct_y");
    dlx_err err = {0};
    dlx_params P;
    dlx_params_init(&P);
    dlx_init zero = {.kind = DLX_INIT_ZERO};
    int wi = dlx_params_declare(&P, "w", w->shape, zero, true, &err);
    int bi = dlx_params_declare(&P, "b", b->shape, zero, false, &err);
    ck_assert(wi >= 0 && bi >= 0);
    ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
    dlx_graph *g = dlx_graph_create(&P);
    dlx_node *in[3] = {dlx_graph_input(g, "x", x->shape, false, &err), dlx_graph_param(g, wi, &err),
                       dlx_graph_param(g, bi, &err)};
    /* as make_ref.py: stride 2x3, padding 1x0, output_padding 1x2 */
    dlx_conv_transpose2d_attr a = {2, 3, 1, 0, 1, 2, DLX_ACT_NONE, 0.0f};
    dlx_node *y = dlx_graph_op(g, dlx_op_find("conv_transpose2d"), "convt", in, 3, &a, DLX_NOLOC, &err);
    ck_assert_msg(y != NULL, "%s", err.msg);
    ck_assert(dlx_shape_eq(&y->out.shape, &want->shape));
    ck_assert_int_eq(dlx_graph_compile(g, 0, &err), 0);
    memcpy(in[0]->out.data, x->v, (size_t)in[0]->out.numel * sizeof(float));
    memcpy(in[1]->out.data, w->v, (size_t)in[1]->out.numel * sizeof(float));
    memcpy(in[2]->out.data, b->v, (size_t)in[2]->out.numel * sizeof(float));
    dlx_ctx ctx = {.threads = 1};
    dlx_graph_forward(g, &ctx);
    double e = check_close(y->out.data, want->v, y->out.numel, 1e-5, "conv_transpose2d");
    /* and the naive reference the same way */
    y->op->reference(y, &ctx);
    double er = check_close(y->out.data, want->v, y->out.numel, 1e-5, "conv_transpose2d reference");
    if (getenv("DLX_TEST_VERBOSE"))
        fprintf(stderr, "conv_transpose2d against torch: max |error| %g (reference %g)\n", e, er);
    dlx_graph_destroy(g);
    dlx_params_free(&P);
    ref_free(&f);
}
END_TEST

/* ---- infer's validation ---- */

/* The op on x (and a weight w, a bias b when given) fails with a message holding want. */
static void expect_infer_error(const char *op, dlx_shape xs, const dlx_shape *ws, const dlx_shape *bs,
                               const void *attr, const char *want)
{
    dlx_err err = {0};
    dlx_params P;
    dlx_params_init(&P);
    dlx_init zero = {.kind = DLX_INIT_ZERO};
    int wi = ws ? dlx_params_declare(&P, "w", *ws, zero, true, &err) : -1;
    int bi = bs ? dlx_params_declare(&P, "b", *bs, zero, false, &err) : -1;
    ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
    dlx_graph *g = dlx_graph_create(&P);
    dlx_node *in[3] = {dlx_graph_input(g, "x", xs, false, &err)};
    int n = 1;
    if (ws)
        in[n++] = dlx_graph_param(g, wi, &err);
    if (bs)
        in[n++] = dlx_graph_param(g, bi, &err);
    dlx_node *y = dlx_graph_op(g, dlx_op_find(op), "y", in, n, attr, DLX_NOLOC, &err);
    ck_assert_msg(y == NULL, "%s: no error, expected '%s'", op, want);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s: '%s' does not say '%s'", op, err.msg, want);
    dlx_graph_destroy(g);
    dlx_params_free(&P);
}

START_TEST(test_infer_errors)
{
    dlx_shape x = dlx_shape_4d(2, 3, 4, 4), w = dlx_shape_4d(3, 5, 3, 3), w_bad = dlx_shape_4d(4, 5, 3, 3);
    dlx_shape b_bad = dlx_shape_1d(3);
    dlx_conv_transpose2d_attr ok = {2, 2, 1, 1, 1, 1, DLX_ACT_NONE, 0.0f};
    dlx_conv_transpose2d_attr opad = {2, 2, 1, 1, 2, 0, DLX_ACT_NONE, 0.0f};
    dlx_conv_transpose2d_attr stride0 = {0, 1, 0, 0, 0, 0, DLX_ACT_NONE, 0.0f};
    dlx_conv_transpose2d_attr empty = {1, 1, 3, 3, 0, 0, DLX_ACT_NONE, 0.0f}; /* 4 + 3 - 1 - 6 = 0 */
    dlx_conv_transpose2d_attr huge = {1 << 30, 1, 0, 0, 0, 0, DLX_ACT_NONE, 0.0f};
    expect_infer_error("conv_transpose2d", x, &w, NULL, &opad, "output_padding must be >= 0 and smaller");
    expect_infer_error("conv_transpose2d", x, &w, NULL, &stride0, "stride must be >= 1");
    expect_infer_error("conv_transpose2d", x, &w, NULL, &empty, "is empty or too large");
    expect_infer_error("conv_transpose2d", x, &w, NULL, &huge, "is empty or too large");
    expect_infer_error("conv_transpose2d", x, &w_bad, NULL, &ok, "expects 4 input channels");
    expect_infer_error("conv_transpose2d", x, &w, &b_bad, &ok, "expected a bias of shape [5]");
    expect_infer_error("conv_transpose2d", dlx_shape_2d(2, 3), &w, NULL, &ok, "expected a 4-d input");
    dlx_upsample2d_attr scale0 = {0, 2, DLX_UPSAMPLE_NEAREST}, mode = {2, 2, (dlx_upsample_mode)7};
    dlx_upsample2d_attr big = {1 << 20, 1 << 20, DLX_UPSAMPLE_BILINEAR};
    expect_infer_error("upsample2d", x, NULL, NULL, &scale0, "scale must be >= 1");
    expect_infer_error("upsample2d", x, NULL, NULL, &mode, "unknown upsampling mode 7");
    expect_infer_error("upsample2d", x, NULL, NULL, &big, "exceeds 2^31 elements");
    expect_infer_error("upsample2d", dlx_shape_2d(2, 3), NULL, NULL, &(dlx_upsample2d_attr){2, 2, 0},
                       "expected a 4-d input");
}
END_TEST

/* Layer errors name the layer: an image layer after a flat one, a bad mode. */
START_TEST(test_layer_errors)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"layers:\n  - {type: linear, units: 8}\n  - {type: conv_transpose2d, filters: 2, kernel: 3}\n",
         "conv_transpose2d needs an image input"},
        {"layers:\n  - {type: conv_transpose2d, filters: 2, kernel: 3, output_padding: -1}\n", "output_padding"},
        {"layers:\n  - {type: conv_transpose2d, filters: 2, kernel: 3, stride: 2, output_padding: 2}\n",
         "smaller than the stride"},
        {"layers:\n  - {type: upsample, mode: bicubic}\n", "bicubic"},
        {"layers:\n  - {type: upsample, scale: 0}\n", "scale"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dlx_err err = {0};
        dlx_spec *spec;
        ck_assert_int_eq(dlx_spec_load_string(cases[k].yaml, "t.yaml", &spec, &err), 0);
        dlx_params P;
        dlx_params_init(&P);
        dlx_graph *g = dlx_graph_create(&P);
        dlx_node *x = dlx_graph_input(g, "input", dlx_shape_4d(2, 3, 4, 4), false, &err);
        dlx_layers_out out = {0};
        int rc = dlx_layers_build(g, &P, dlx_spec_get(dlx_spec_root(spec), "layers"), "", x, &out, &err);
        ck_assert_msg(rc != 0, "case %zu built", k);
        ck_assert_msg(strstr(err.msg, cases[k].want) != NULL, "case %zu: '%s' does not say '%s'", k, err.msg,
                      cases[k].want);
        free(out.info);
        dlx_graph_destroy(g);
        dlx_params_free(&P);
        dlx_spec_destroy(spec);
    }
}
END_TEST

/* ---- (c) a generator / discriminator pair from YAML ---- */

/* As a gan spec's model.networks, DCGAN's generator in small: batch norm
 * after the linear layer and after each conv_transpose2d but the last, whose
 * biases batch norm's beta replaces (DCGAN, Radford et al. 2016). */
static const char *k_gan_yaml =
    "gen:\n"
    "  layers:\n"
    "    - {type: linear, units: 256, bias: false}\n"
    "    - {type: batchnorm}\n"
    "    - {type: relu}\n"
    "    - {type: reshape, shape: [16, 4, 4]}\n"
    "    - {type: conv_transpose2d, filters: 8, kernel: 4, stride: 2, pad: 1, bias: false}\n"
    "    - {type: batchnorm}\n"
    "    - {type: relu}\n"
    "    - {type: conv_transpose2d, filters: 1, kernel: 4, stride: 2, pad: 1}\n"
    "    - {type: tanh}\n"
    "disc:\n"
    "  layers:\n"
    "    - {type: conv2d, filters: 8, kernel: 4, stride: 2, pad: 1, activation: leaky_relu, alpha: 0.2}\n"
    "    - {type: conv2d, filters: 16, kernel: 4, stride: 2, pad: 1, activation: leaky_relu, alpha: 0.2}\n"
    "    - {type: flatten}\n"
    "    - {type: linear, units: 1}\n";

static double sq_norm(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return s;
}

START_TEST(test_generator_from_yaml)
{
    dlx_err err = {0};
    dlx_spec *spec;
    ck_assert_int_eq(dlx_spec_load_string(k_gan_yaml, "gan.yaml", &spec, &err), 0);
    dlx_params P;
    dlx_params_init(&P);
    dlx_graph *g = dlx_graph_create(&P);
    const int64_t batch = 4;
    dlx_node *z = dlx_graph_input(g, "z", dlx_shape_2d(batch, 16), false, &err);
    dlx_layers_out gi = {0}, di = {0};
    dlx_spec_node *root = dlx_spec_root(spec);
    ck_assert_int_eq(dlx_params_begin_group(&P, "gen", &err), 0);
    int rc = dlx_layers_build(g, &P, dlx_spec_get(dlx_spec_get(root, "gen"), "layers"), "gen.", z, &gi, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    char s[64];
    ck_assert_str_eq(dlx_shape_str(&gi.output->out.shape, s, sizeof s), "[4, 1, 16, 16]");
    ck_assert_str_eq(dlx_shape_str(&gi.info[4].out, s, sizeof s), "[4, 8, 8, 8]");
    ck_assert_int_eq(dlx_params_begin_group(&P, "disc", &err), 0);
    rc = dlx_layers_build(g, &P, dlx_spec_get(dlx_spec_get(root, "disc"), "layers"), "disc.", gi.output, &di, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    int wi = dlx_params_find(&P, "gen.conv_transpose2d1.weight");
    ck_assert_int_ge(wi, 0);
    ck_assert_str_eq(dlx_shape_str(&P.items[wi].t.shape, s, sizeof s), "[16, 8, 4, 4]");
    dlx_bce_attr ba = {.target = 1.0f}; /* the generator's loss: D(G(z)) called real */
    dlx_node *loss = dlx_graph_op(g, dlx_op_find("bce_logits"), "g_loss", &di.output, 1, &ba, DLX_NOLOC, &err);
    ck_assert_msg(loss != NULL, "%s", err.msg);
    ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
    ck_assert_int_eq(dlx_params_init_values(&P, 3, &err), 0);
    ck_assert_int_eq(dlx_graph_compile(g, 0, &err), 0);
    dlx_rng r;
    dlx_rng_init(&r, 5, DLX_STREAM_USER);
    for (int64_t i = 0; i < z->out.numel; i++)
        z->out.data[i] = dlx_rng_normal(&r);
    int gen = dlx_params_group_find(&P, "gen");
    dlx_ctx ctx = {.training = true, .threads = 1, .update_stats = true};
    double first = 0, last = 0;
    for (int step = 0; step < 20; step++) { /* plain SGD on the generator alone */
        dlx_params_zero_grad(&P);
        dlx_graph_forward(g, &ctx);
        dlx_graph_backward(g, loss, &ctx);
        ck_assert(isfinite(loss->out.data[0]));
        if (step == 0) {
            first = loss->out.data[0];
            for (int p = 0; p < P.n; p++) /* every parameter of both networks gets a gradient */
                ck_assert_msg(sq_norm(P.items[p].t.grad, P.items[p].t.numel) > 0.0, "%s: no gradient",
                              P.items[p].name);
            for (int64_t i = 0; i < gi.output->out.numel; i++)
                ck_assert(fabsf(gi.output->out.data[i]) < 1.0f);
        }
        last = loss->out.data[0];
        for (int p = 0; p < P.n; p++)
            if (P.items[p].group == gen)
                for (int64_t i = 0; i < P.items[p].t.numel; i++)
                    P.items[p].t.data[i] -= 0.05f * P.items[p].t.grad[i];
    }
    ck_assert_msg(last < first, "the generator's loss went from %g to %g", first, last);
    /* the batch norms' running statistics followed the batches */
    ck_assert_int_eq(P.n_buffers, 4);
    for (int b = 0; b < P.n_buffers; b++) {
        bool var = strstr(P.buffers[b].name, "running_var") != NULL, moved = false;
        for (int64_t i = 0; i < P.buffers[b].t.numel; i++)
            moved = moved || P.buffers[b].t.data[i] != (var ? 1.0f : 0.0f);
        ck_assert_msg(moved, "%s never moved", P.buffers[b].name);
    }
    if (getenv("DLX_TEST_VERBOSE"))
        fprintf(stderr, "generator from YAML: g_loss %g -> %g in 20 SGD steps\n", first, last);
    free(gi.info);
    free(di.info);
    dlx_graph_destroy(g);
    dlx_params_free(&P);
    dlx_spec_destroy(spec);
}
END_TEST

Suite *conv_transpose_suite(void)
{
    Suite *s = suite_create("conv_transpose");
    TCase *tc = tcase_create("conv_transpose");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_adjoint_of_conv2d, 0, (int)(sizeof k_adj / sizeof k_adj[0]));
    tcase_add_test(tc, test_upsample_matches_torch);
    tcase_add_test(tc, test_conv_transpose_matches_torch);
    tcase_add_test(tc, test_infer_errors);
    tcase_add_test(tc, test_layer_errors);
    tcase_add_test(tc, test_generator_from_yaml);
    suite_add_tcase(s, tc);
    return s;
}
