/* Layer builders from YAML: default names, inputs:, share:, and located errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/layers.h"
#include "../core/spec.h"

typedef struct built {
    dlx_spec *spec;
    dlx_params p;
    dlx_graph *g;
    dlx_layers_out out;
    dlx_err err;
    int rc;
} built;

static void build(built *b, const char *yaml, dlx_shape in)
{
    memset(b, 0, sizeof *b);
    ck_assert_int_eq(dlx_spec_load_string(yaml, "t.yaml", &b->spec, &b->err), 0);
    dlx_params_init(&b->p);
    b->g = dlx_graph_create(&b->p);
    dlx_node *x = dlx_graph_input(b->g, "input", in, false, NULL);
    dlx_spec_node *layers = dlx_spec_get(dlx_spec_root(b->spec), "layers");
    b->rc = dlx_layers_build(b->g, &b->p, layers, "", x, &b->out, &b->err);
}

static void drop(built *b)
{
    free(b->out.info);
    dlx_graph_destroy(b->g);
    dlx_params_free(&b->p);
    dlx_spec_destroy(b->spec);
}

START_TEST(lenet_shapes_and_names)
{
    built b;
    build(&b,
          "layers:\n"
          "  - {type: conv, filters: 6, kernel: 5, pad: 2, activation: relu}\n"
          "  - {type: maxpool, size: 2}\n"
          "  - {type: conv, filters: 16, kernel: 5, activation: relu}\n"
          "  - {type: maxpool}\n"
          "  - {type: flatten}\n"
          "  - {type: linear, units: 120, activation: relu}\n"
          "  - {type: linear, units: 84, activation: relu}\n"
          "  - {type: linear, units: 10}\n",
          dlx_shape_4d(8, 1, 28, 28));
    ck_assert_int_eq(b.rc, 0);
    ck_assert_int_eq(b.out.n, 8);
    ck_assert_str_eq(b.out.info[0].name, "conv1");
    ck_assert_str_eq(b.out.info[2].name, "conv2");
    ck_assert_str_eq(b.out.info[7].name, "linear3");
    char s[64];
    ck_assert_str_eq(dlx_shape_str(&b.out.info[1].out, s, sizeof s), "[8, 6, 14, 14]");
    ck_assert_str_eq(dlx_shape_str(&b.out.info[3].out, s, sizeof s), "[8, 16, 5, 5]");
    ck_assert_str_eq(dlx_shape_str(&b.out.output->out.shape, s, sizeof s), "[8, 10]");
    /* 156 + 2416 + 48120 + 10164 + 850 = 61706 (the LeNet-5 count with a full C3) */
    int64_t total = 0;
    for (int i = 0; i < b.out.n; i++)
        total += b.out.info[i].n_params;
    ck_assert_int_eq(total, 61706);
    ck_assert_int_ge(dlx_params_find(&b.p, "conv2.weight"), 0);
    drop(&b);
}
END_TEST

START_TEST(residual_inputs_and_shared_weights)
{
    built b;
    build(&b,
          "layers:\n"
          "  - {type: linear, units: 32, activation: relu, name: h}\n"
          "  - {type: linear, units: 32, activation: relu}\n"
          "  - {type: linear, units: 32, name: tied, share: linear2}\n"
          "  - {type: add, inputs: [h, tied]}\n"
          "  - {type: concat, inputs: [h, add1]}\n"
          "  - {type: linear, units: 10}\n",
          dlx_shape_2d(4, 32));
    ck_assert_msg(b.rc == 0, "%s", b.err.msg);
    ck_assert_str_eq(b.out.info[1].name, "linear2"); /* the 2nd linear layer, though the 1st is named */
    ck_assert_int_eq(b.out.info[2].n_params, 0); /* shared: declares nothing new */
    int w = dlx_params_find(&b.p, "linear2.weight");
    ck_assert_int_ge(w, 0);
    ck_assert_int_eq(b.p.items[w].n_uses, 2);
    ck_assert_int_eq(dlx_params_find(&b.p, "tied.weight"), -1);
    char s[64];
    ck_assert_str_eq(dlx_shape_str(&b.out.info[4].out, s, sizeof s), "[4, 64]");
    drop(&b);
}
END_TEST

static void expect_error(const char *yaml, dlx_shape in, const char *text)
{
    built b;
    build(&b, yaml, in);
    ck_assert_int_eq(b.rc, DLX_EINVAL);
    char buf[1400];
    dlx_err_format(&b.err, buf, sizeof buf);
    if (!strstr(buf, text))
        ck_abort_msg("expected '%s' in '%s'", text, buf);
    drop(&b);
}

START_TEST(layer_errors_are_located)
{
    expect_error("layers:\n  - {type: conv, filters: 6, kernal: 5}\n", dlx_shape_4d(1, 1, 8, 8),
                 "t.yaml:2:");
    expect_error("layers:\n  - {type: conv, filters: 6, kernal: 5}\n", dlx_shape_4d(1, 1, 8, 8),
                 "'kernal' is not a key of conv; did you mean 'kernel'?");
    expect_error("layers:\n  - {type: lineer, units: 5}\n", dlx_shape_2d(1, 8),
                 "t.yaml:2:12: error: layers[0]: unknown layer type 'lineer'; did you mean 'linear'?");
    expect_error("layers:\n  - {type: linear, units: 5}\n  - {type: add, inputs: [linear1, lnear1]}\n",
                 dlx_shape_2d(1, 8), "no earlier layer is named 'lnear1'; did you mean 'linear1'?");
    expect_error("layers:\n  - {type: linear, units: 5}\n  - {type: conv, filters: 3, kernel: 3}\n",
                 dlx_shape_2d(1, 8), "conv needs an image input");
    expect_error("layers:\n  - {type: conv, filters: 3, kernel: 9}\n", dlx_shape_4d(1, 1, 5, 5),
                 "t.yaml:2:5: error: conv2d 'conv1'");
    expect_error("layers:\n  - {type: linear, units: 5}\n  - {type: linear, units: 6, share: linear1}\n",
                 dlx_shape_2d(1, 5), "parameter 'linear1.weight' is shared with shape [5, 5] but used here with shape [6, 5]");
    expect_error("layers:\n  - {type: linear, units: 0}\n", dlx_shape_2d(1, 5), "units: must be");
    expect_error("layers: []\n", dlx_shape_2d(1, 5), "the layers list is empty");
}
END_TEST

/* init: orthogonal gives orthonormal rows (wide) or columns (tall), times
 * init_scale (default 1); identity gives init_scale on the diagonal. */
START_TEST(orthogonal_and_identity_init)
{
    built b;
    build(&b,
          "layers:\n"
          "  - {type: flatten}\n"
          "  - {type: linear, units: 5, init: orthogonal, bias: false}\n"      /* 5 x 12: rows orthonormal */
          "  - {type: linear, units: 7, init: orthogonal, init_scale: 2.0}\n"  /* 7 x 5: columns, gain 2 */
          "  - {type: linear, units: 7, init: identity}\n",                    /* 7 x 7 */
          dlx_shape_4d(2, 3, 2, 2));
    ck_assert_int_eq(b.rc, 0);
    ck_assert_int_eq(dlx_params_finalize(&b.p, NULL), 0);
    ck_assert_int_eq(dlx_params_init_values(&b.p, 5, NULL), 0);
    const float *w1 = b.p.items[dlx_params_find(&b.p, "linear1.weight")].t.data;
    const float *w2 = b.p.items[dlx_params_find(&b.p, "linear2.weight")].t.data;
    const float *w3 = b.p.items[dlx_params_find(&b.p, "linear3.weight")].t.data;
    for (int i = 0; i < 5; i++) /* W1 W1^T = I */
        for (int j = 0; j < 5; j++) {
            double d = 0.0;
            for (int k = 0; k < 12; k++)
                d += (double)w1[i * 12 + k] * w1[j * 12 + k];
            ck_assert_msg(fabs(d - (i == j)) < 1e-6, "W1 W1^T[%d][%d] = %g", i, j, d);
        }
    for (int i = 0; i < 5; i++) /* W2^T W2 = 4 I */
        for (int j = 0; j < 5; j++) {
            double d = 0.0;
            for (int k = 0; k < 7; k++)
                d += (double)w2[k * 5 + i] * w2[k * 5 + j];
            ck_assert_msg(fabs(d - 4.0 * (i == j)) < 1e-5, "W2^T W2[%d][%d] = %g", i, j, d);
        }
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++)
            ck_assert(w3[i * 7 + j] == (i == j ? 1.0f : 0.0f));
    float again[60];
    memcpy(again, w1, sizeof again);
    ck_assert_int_eq(dlx_params_init_values(&b.p, 5, NULL), 0); /* a function of the seed */
    ck_assert(memcmp(again, w1, sizeof again) == 0);
    drop(&b);
}
END_TEST

/* {repeat: N, layers: [...]}: N suffixed copies, inputs: inside a copy name
 * that copy's layers, share: true ties copies 2..N to copy 1, repeat: 0 is
 * none, blocks nest; the repeat count is a spec key that --set can change. */
START_TEST(repeat_blocks)
{
    built b;
    build(&b,
          "layers:\n"
          "  - {type: linear, units: 8, name: in}\n"
          "  - repeat: 3\n"
          "    layers:\n"
          "      - {type: linear, units: 8, name: h}\n"
          "      - {type: relu}\n"
          "      - {type: add, inputs: [h, relu1]}\n"
          "  - {type: linear, units: 2}\n",
          dlx_shape_2d(4, 5));
    ck_assert_int_eq(b.rc, 0);
    ck_assert_int_eq(b.out.n, 1 + 3 * 3 + 1);
    ck_assert_str_eq(b.out.info[1].name, "h_1");
    ck_assert_str_eq(b.out.info[2].name, "relu1_1");
    ck_assert_str_eq(b.out.info[3].name, "add1_1");
    ck_assert_str_eq(b.out.info[7].name, "h_3");
    ck_assert_str_eq(b.out.info[10].name, "linear2"); /* counted over the list's entries */
    /* add1_2 reads h_2 and relu1_2, not the first copy's */
    dlx_node *add2 = NULL, *h2 = NULL;
    for (int i = 0; i < b.g->n; i++) {
        if (!strcmp(b.g->nodes[i]->name, "add1_2"))
            add2 = b.g->nodes[i];
        if (!strcmp(b.g->nodes[i]->name, "h_2"))
            h2 = b.g->nodes[i];
    }
    ck_assert_ptr_nonnull(add2);
    ck_assert_ptr_eq(add2->in[0], h2);
    for (int k = 1; k <= 3; k++) { /* own parameters per copy */
        char name[32];
        snprintf(name, sizeof name, "h_%d.weight", k);
        ck_assert_int_ge(dlx_params_find(&b.p, name), 0);
    }
    ck_assert_int_eq(b.out.info[4].n_params, 8 * 8 + 8);
    drop(&b);

    /* share: true: one set of weights for every copy */
    build(&b,
          "layers:\n"
          "  - {repeat: 4, share: true, layers: [{type: linear, units: 6}, {type: tanh}]}\n",
          dlx_shape_2d(2, 6));
    ck_assert_int_eq(b.rc, 0);
    ck_assert_int_eq(b.out.n, 8);
    ck_assert_str_eq(b.out.info[6].name, "linear1_4");
    ck_assert_int_eq(b.out.info[0].n_params, 42);
    ck_assert_int_eq(b.out.info[2].n_params, 0);
    ck_assert_int_eq(b.p.n, 2); /* linear1_1.weight and .bias only */
    ck_assert_int_ge(dlx_params_find(&b.p, "linear1_1.weight"), 0);
    drop(&b);

    /* repeat: 0 is no copies; nesting suffixes inner copy first */
    build(&b,
          "layers:\n"
          "  - {repeat: 0, layers: [{type: linear, units: 7}]}\n"
          "  - {repeat: 2, layers: [{repeat: 2, layers: [{type: linear, units: 3}]}]}\n",
          dlx_shape_2d(2, 5));
    ck_assert_int_eq(b.rc, 0);
    ck_assert_int_eq(b.out.n, 4);
    ck_assert_str_eq(b.out.info[0].name, "linear1_1_1");
    ck_assert_str_eq(b.out.info[1].name, "linear1_2_1");
    ck_assert_str_eq(b.out.info[3].name, "linear1_2_2");
    ck_assert_int_eq(b.out.info[0].n_params, 5 * 3 + 3);
    drop(&b);

    /* the count is a spec key: --set layers.0.repeat=5 gives five copies */
    built c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(dlx_spec_load_string("layers:\n  - {repeat: 1, layers: [{type: relu}]}\n", "t.yaml",
                                          &c.spec, &c.err), 0);
    ck_assert_int_eq(dlx_spec_set(c.spec, "layers.0.repeat=5", &c.err), 0);
    dlx_params_init(&c.p);
    c.g = dlx_graph_create(&c.p);
    dlx_node *x = dlx_graph_input(c.g, "input", dlx_shape_2d(1, 3), false, NULL);
    c.rc = dlx_layers_build(c.g, &c.p, dlx_spec_get(dlx_spec_root(c.spec), "layers"), "", x, &c.out, &c.err);
    ck_assert_int_eq(c.rc, 0);
    ck_assert_int_eq(c.out.n, 5);
    ck_assert_str_eq(c.out.info[4].name, "relu1_5");
    drop(&c);
}
END_TEST

START_TEST(repeat_errors_are_located)
{
    expect_error("layers:\n  - {repeat: two, layers: [{type: relu}]}\n", dlx_shape_2d(1, 5), "t.yaml:2:");
    expect_error("layers:\n  - {repeat: two, layers: [{type: relu}]}\n", dlx_shape_2d(1, 5), "repeat");
    expect_error("layers:\n  - {repeat: 1.5, layers: [{type: relu}]}\n", dlx_shape_2d(1, 5), "repeat");
    expect_error("layers:\n  - {repeat: 65, layers: [{type: relu}]}\n", dlx_shape_2d(1, 5), "64");
    expect_error("layers:\n  - {repeat: -1, layers: [{type: relu}]}\n", dlx_shape_2d(1, 5), "repeat");
    expect_error("layers:\n  - {repeat: 2}\n", dlx_shape_2d(1, 5),
                 "t.yaml:2:5: error: layers[0]: a repeat block needs layers: [...]");
    expect_error("layers:\n  - {repeat: 2, layers: []}\n", dlx_shape_2d(1, 5), "repeat block's layers list is empty");
    expect_error("layers:\n  - {repeat: 2, type: relu, layers: [{type: relu}]}\n", dlx_shape_2d(1, 5),
                 "'type' is not a key of a repeat block");
    expect_error("layers:\n  - {repeat: 0, layers: [{type: relu}]}\n", dlx_shape_2d(1, 5),
                 "no layers once repeat blocks are expanded");
    expect_error("layers:\n  - {repeat: 64, layers: [{repeat: 64, layers: [{type: relu}]}]}\n", dlx_shape_2d(1, 5),
                 "too many layers once repeat blocks are expanded");
    expect_error("layers:\n  - {type: relu, name: h_2}\n  - {repeat: 2, layers: [{type: relu, name: h}]}\n",
                 dlx_shape_2d(1, 5), "a layer named 'h_2' already exists");
}
END_TEST

Suite *layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, lenet_shapes_and_names);
    tcase_add_test(tc, residual_inputs_and_shared_weights);
    tcase_add_test(tc, layer_errors_are_located);
    tcase_add_test(tc, orthogonal_and_identity_init);
    tcase_add_test(tc, repeat_blocks);
    tcase_add_test(tc, repeat_errors_are_located);
    suite_add_tcase(s, tc);
    return s;
}
