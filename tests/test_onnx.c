/* The protobuf wire-format encoder against bytes worked out by hand from
 * the protobuf encoding rules, and the ONNX writer's messages read back by a
 * small wire-format reader written here: fields, op types, initializers'
 * bytes, the graph's input and output, refused ops. tests/export.sh runs
 * exported models in onnxruntime. */
#include <check.h>
#include <string.h>

#include "../core/onnx.h"
#include "../core/ops/ops.h"
#include "../core/protobuf.h"

static void expect_bytes(const dlx_pb *b, const uint8_t *want, size_t n)
{
    ck_assert(!b->failed);
    ck_assert_uint_eq(b->len, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(b->data[i] == want[i], "byte %zu is 0x%02x, expected 0x%02x", i, b->data[i], want[i]);
}

START_TEST(varints_and_fixed_fields)
{
    dlx_pb b;
    dlx_pb_init(&b);
    dlx_pb_varint(&b, 1, 0);     /* 08 00 */
    dlx_pb_varint(&b, 1, 300);   /* 08 ac 02 */
    dlx_pb_int64(&b, 2, -1);     /* 10, then ten bytes: ff x9 01 */
    dlx_pb_float(&b, 3, 1.0f);   /* 1d 00 00 80 3f */
    dlx_pb_string(&b, 4, "abc"); /* 22 03 61 62 63 */
    dlx_pb_varint(&b, 16, 1);    /* field 16: a two-byte tag 80 01, then 01 */
    const uint8_t want[] = {0x08, 0x00, 0x08, 0xac, 0x02, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0x01, 0x1d, 0x00, 0x00, 0x80, 0x3f, 0x22, 0x03, 'a', 'b', 'c', 0x80, 0x01, 0x01};
    expect_bytes(&b, want, sizeof want);
    ck_assert_int_eq(dlx_pb_varint_size(127), 1);
    ck_assert_int_eq(dlx_pb_varint_size(128), 2);
    ck_assert_int_eq(dlx_pb_varint_size(UINT64_MAX), 10);
    dlx_pb_free(&b);
}
END_TEST

/* the packed example of the protobuf documentation: 3, 270, 86942 */
START_TEST(packed_repeated_and_raw_floats)
{
    dlx_pb b;
    dlx_pb_init(&b);
    dlx_pb_packed_int64(&b, 4, (const int64_t[]){3, 270, 86942}, 3);
    dlx_pb_floats_le(&b, 9, (const float[]){1.0f, -2.0f}, 2);
    const uint8_t want[] = {0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05,
                            0x4a, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0};
    expect_bytes(&b, want, sizeof want);
    dlx_pb_free(&b);
}
END_TEST

/* a message of 200 bytes inside one of 1: the inner length needs two bytes,
 * which dlx_pb_end inserts in front of content already written */
START_TEST(nested_messages_get_their_lengths)
{
    dlx_pb b;
    dlx_pb_init(&b);
    size_t outer = dlx_pb_begin(&b, 7);
    size_t inner = dlx_pb_begin(&b, 1);
    uint8_t payload[197];
    for (int i = 0; i < 197; i++)
        payload[i] = (uint8_t)i;
    dlx_pb_bytes(&b, 2, payload, sizeof payload); /* 12 c5 01 + 197 = 200 bytes */
    dlx_pb_end(&b, inner);
    dlx_pb_varint(&b, 3, 5);
    dlx_pb_end(&b, outer);
    ck_assert(!b.failed);
    /* 3a <len 205: cd 01> 0a <200: c8 01> 12 c5 01 payload 18 05 */
    ck_assert_uint_eq(b.len, 3 + 3 + 200 + 2);
    const uint8_t head[] = {0x3a, 0xcd, 0x01, 0x0a, 0xc8, 0x01, 0x12, 0xc5, 0x01};
    ck_assert_int_eq(memcmp(b.data, head, sizeof head), 0);
    ck_assert_int_eq(memcmp(b.data + 9, payload, sizeof payload), 0);
    ck_assert_int_eq(b.data[b.len - 2], 0x18);
    ck_assert_int_eq(b.data[b.len - 1], 0x05);
    dlx_pb_free(&b);
}
END_TEST

/* ---- a wire-format reader for the checks below ---- */

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

static uint64_t get_varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int s = 0; *p < end && s < 64; s += 7) {
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return v;
    }
    ck_abort_msg("truncated varint");
    return 0;
}

/* The k-th occurrence of field f (wire type 2) in m, or of any wire type as
 * its raw value bytes; false when there is none. Aborts on a malformed message. */
static bool field(span m, int f, int k, span *out, uint64_t *varint)
{
    const uint8_t *p = m.p, *end = m.p + m.n;
    while (p < end) {
        uint64_t tag = get_varint(&p, end);
        int wire = (int)(tag & 7), num = (int)(tag >> 3);
        span v = {p, 0};
        uint64_t iv = 0;
        if (wire == 0) {
            iv = get_varint(&p, end);
        } else if (wire == 2) {
            uint64_t len = get_varint(&p, end);
            ck_assert_uint_le(len, (uint64_t)(end - p));
            v = (span){p, (size_t)len};
            p += len;
        } else if (wire == 5) {
            ck_assert_uint_le(4, (uint64_t)(end - p));
            v = (span){p, 4};
            p += 4;
        } else {
            ck_abort_msg("unexpected wire type %d", wire);
        }
        if (num == f && k-- == 0) {
            if (out)
                *out = v;
            if (varint)
                *varint = iv;
            return true;
        }
    }
    ck_assert(p == end);
    return false;
}

static bool span_is(span s, const char *text)
{
    return s.n == strlen(text) && !memcmp(s.p, text, s.n);
}

/* x (N, 2, 3, 3) -> conv 1 filter 3x3 pad 1, relu -> linear 4 -> (N, 4) */
static dlx_graph *small_graph(dlx_params *p, dlx_node **x, dlx_node **y, const dlx_op_vtbl *last)
{
    dlx_params_init(p);
    int cw = dlx_params_declare(p, "c.weight", dlx_shape_4d(1, 2, 3, 3), (dlx_init){0}, true, NULL);
    int lw = dlx_params_declare(p, "l.weight", dlx_shape_2d(4, 9), (dlx_init){0}, true, NULL);
    int lb = dlx_params_declare(p, "l.bias", dlx_shape_1d(4), (dlx_init){0}, false, NULL);
    ck_assert_int_eq(dlx_params_finalize(p, NULL), 0);
    for (int64_t i = 0; i < p->total; i++)
        p->values[i] = 0.25f * (float)(i % 9) - 1.0f;
    dlx_graph *g = dlx_graph_create(p);
    *x = dlx_graph_input(g, "input", dlx_shape_4d(5, 2, 3, 3), false, NULL);
    dlx_conv2d_attr ca = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1, .act = DLX_ACT_RELU};
    dlx_node *c = dlx_graph_op(g, &dlx_op_conv2d, "c", (dlx_node *[]){*x, dlx_graph_param(g, cw, NULL)}, 2, &ca,
                               DLX_NOLOC, NULL);
    dlx_linear_attr la = {0};
    dlx_node *l = dlx_graph_op(g, &dlx_op_linear, "l",
                               (dlx_node *[]){c, dlx_graph_param(g, lw, NULL), dlx_graph_param(g, lb, NULL)}, 3, &la,
                               DLX_NOLOC, NULL);
    *y = last ? dlx_graph_op(g, last, "m", &l, 1, &(dlx_reduce_attr){false}, DLX_NOLOC, NULL) : l;
    ck_assert_ptr_nonnull(*y);
    return g;
}

START_TEST(model_fields_nodes_and_initializers)
{
    dlx_params p;
    dlx_node *x, *y;
    dlx_graph *g = small_graph(&p, &x, &y, NULL);
    dlx_pb b;
    dlx_pb_init(&b);
    dlx_err err;
    const dlx_onnx_input prep = {.mean = 0.5f, .std = 0.25f, .pad = 0};
    ck_assert_int_eq(dlx_onnx_encode(g, x, y, &prep, &(dlx_onnx_meta){.graph_name = "small"}, &b, &err), 0);
    span model = {b.data, b.len}, s, graph, opset;
    uint64_t v;
    ck_assert(field(model, 1, 0, NULL, &v));
    ck_assert_uint_eq(v, 7); /* ir_version */
    ck_assert(field(model, 8, 0, &opset, NULL));
    ck_assert(field(opset, 2, 0, NULL, &v));
    ck_assert_uint_eq(v, 13);
    ck_assert(field(model, 2, 0, &s, NULL) && span_is(s, "dlx"));
    ck_assert(field(model, 7, 0, &graph, NULL));
    ck_assert(field(graph, 2, 0, &s, NULL) && span_is(s, "small"));
    /* Sub, Div (the data feed), Conv, Relu, Flatten, Gemm */
    const char *ops[] = {"Sub", "Div", "Conv", "Relu", "Flatten", "Gemm"};
    span node;
    int k = 0;
    for (; field(graph, 1, k, &node, NULL); k++) {
        ck_assert_int_lt(k, 6);
        ck_assert_msg(field(node, 4, 0, &s, NULL) && span_is(s, ops[k]), "node %d is not %s", k, ops[k]);
    }
    ck_assert_int_eq(k, 6);
    ck_assert(field(graph, 1, 5, &node, NULL));
    ck_assert(field(node, 2, 0, &s, NULL) && span_is(s, "logits"));
    ck_assert(field(node, 1, 1, &s, NULL) && span_is(s, "l.weight"));
    span attr;
    ck_assert(field(node, 5, 0, &attr, NULL) && field(attr, 1, 0, &s, NULL) && span_is(s, "transB"));
    ck_assert(field(attr, 3, 0, NULL, &v) && v == 1);
    /* initializers: data.mean, data.std, then each parameter once, raw little-endian floats */
    span init, raw;
    bool seen = false;
    for (k = 0; field(graph, 5, k, &init, NULL); k++) {
        if (!field(init, 8, 0, &s, NULL) || !span_is(s, "l.weight"))
            continue;
        seen = true;
        ck_assert(field(init, 9, 0, &raw, NULL));
        ck_assert_uint_eq(raw.n, 36 * 4);
        const float *w = p.items[1].t.data;
        for (int i = 0; i < 36; i++) {
            uint32_t u = (uint32_t)raw.p[4 * i] | (uint32_t)raw.p[4 * i + 1] << 8 |
                         (uint32_t)raw.p[4 * i + 2] << 16 | (uint32_t)raw.p[4 * i + 3] << 24;
            float f;
            memcpy(&f, &u, sizeof f);
            ck_assert_float_eq(f, w[i]);
        }
    }
    ck_assert(seen);
    ck_assert_int_eq(k, 2 + 3);
    /* the input: raw pixels, N symbolic */
    span in, type, tt, shape, dim;
    ck_assert(field(graph, 11, 0, &in, NULL) && field(in, 1, 0, &s, NULL) && span_is(s, "input"));
    ck_assert(field(in, 2, 0, &type, NULL) && field(type, 1, 0, &tt, NULL) && field(tt, 2, 0, &shape, NULL));
    ck_assert(field(shape, 1, 0, &dim, NULL) && field(dim, 2, 0, &s, NULL) && span_is(s, "N"));
    ck_assert(field(shape, 1, 3, &dim, NULL) && field(dim, 1, 0, NULL, &v) && v == 3);
    ck_assert(field(graph, 12, 0, &in, NULL) && field(in, 1, 0, &s, NULL) && span_is(s, "logits"));
    dlx_pb_free(&b);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

START_TEST(an_op_without_export_is_named)
{
    dlx_params p;
    dlx_node *x, *y;
    dlx_graph *g = small_graph(&p, &x, &y, &dlx_op_mean);
    dlx_pb b;
    dlx_pb_init(&b);
    dlx_err err;
    dlx_err_clear(&err);
    const dlx_onnx_input prep = {.mean = 0.0f, .std = 1.0f, .pad = 0};
    ck_assert_int_eq(dlx_onnx_encode(g, x, y, &prep, NULL, &b, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "layer 'm' (op mean) has no ONNX export") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "linear, conv2d") != NULL, "the message lists what exports: %s", err.msg);
    dlx_pb_free(&b);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

Suite *onnx_suite(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, varints_and_fixed_fields);
    tcase_add_test(tc, packed_repeated_and_raw_floats);
    tcase_add_test(tc, nested_messages_get_their_lengths);
    tcase_add_test(tc, model_fields_nodes_and_initializers);
    tcase_add_test(tc, an_op_without_export_is_named);
    suite_add_tcase(s, tc);
    return s;
}
