/* Tensors, shapes, the arena, the counter-based RNG and the parameter store. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/arena.h"
#include "../core/graph.h"
#include "../core/ops/ops.h"
#include "../core/params.h"
#include "../core/rng.h"
#include "../core/tensor.h"

START_TEST(shape_basics)
{
    dlx_shape a = dlx_shape_4d(64, 6, 28, 28);
    ck_assert_int_eq(dlx_shape_numel(&a), 64 * 6 * 28 * 28);
    char buf[64];
    ck_assert_str_eq(dlx_shape_str(&a, buf, sizeof buf), "[64, 6, 28, 28]");
    dlx_shape b = dlx_shape_2d(64, 4704);
    ck_assert(!dlx_shape_eq(&a, &b));
    ck_assert(dlx_shape_eq(&a, &a));
}
END_TEST

START_TEST(arena_alignment_and_capacity)
{
    dlx_arena a;
    ck_assert_int_eq(dlx_arena_init(&a, 256, NULL), 0);
    void *p = dlx_arena_alloc(&a, 10);
    void *q = dlx_arena_alloc(&a, 100);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq((uintptr_t)p % 64, 0);
    ck_assert_int_eq((uintptr_t)q % 64, 0);
    ck_assert_int_eq((char *)q - (char *)p, 64);
    ck_assert_ptr_null(dlx_arena_alloc(&a, 200)); /* 64 + 128 used, 64 left */
    dlx_arena_free(&a);
}
END_TEST

/* Philox4x32-10 known-answer test from the Random123 distribution (kat_vectors):
 * counter = 0, key = 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8. */
START_TEST(philox_known_answer)
{
    uint32_t out[4];
    dlx_philox(0, 0, 0, out);
    ck_assert_uint_eq(out[0], 0x6627e8d5u);
    ck_assert_uint_eq(out[1], 0xe169c58du);
    ck_assert_uint_eq(out[2], 0xbc57ac4cu);
    ck_assert_uint_eq(out[3], 0x9b00dbd8u);
}
END_TEST

START_TEST(rng_is_pure_function_of_seed_stream_counter)
{
    dlx_rng a, b;
    dlx_rng_init(&a, 42, 7);
    dlx_rng_init(&b, 42, 7);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(dlx_rng_u32(&a), dlx_rng_u32(&b));
    dlx_rng_init(&b, 42, 8);
    dlx_rng_init(&a, 42, 7);
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += dlx_rng_u32(&a) == dlx_rng_u32(&b);
    ck_assert_int_lt(same, 3);
    /* element i of a mask equals the cursor's i-th uniform */
    dlx_rng_init(&a, 5, 3);
    for (uint64_t i = 0; i < 50; i++)
        ck_assert(dlx_rng_uniform(&a) == dlx_rng_uniform_at(5, 3, i));
    /* a filled run of them equals them one by one, from any offset in a block */
    float u[13];
    for (uint64_t at = 0; at < 8; at++)
        for (int64_t n = 0; n <= 13; n++) {
            for (int i = 0; i < 13; i++)
                u[i] = -1.0f;
            dlx_rng_uniform_fill(5, 3, 1000 + at, u, n);
            for (int i = 0; i < 13; i++)
                ck_assert(u[i] == (i < n ? dlx_rng_uniform_at(5, 3, 1000 + at + (uint64_t)i) : -1.0f));
        }
}
END_TEST

/* zeroed, every page written, at least one float */
START_TEST(zeroed_floats_are_zero)
{
    int64_t n = 3 * 1024 + 5;
    float *p = dlx_zeroed_floats(n);
    ck_assert_ptr_nonnull(p);
    for (int64_t i = 0; i < n; i++)
        ck_assert(p[i] == 0.0f);
    free(p);
    p = dlx_zeroed_floats(0);
    ck_assert_ptr_nonnull(p);
    ck_assert(p[0] == 0.0f);
    free(p);
    ck_assert_ptr_null(dlx_zeroed_floats(INT64_MAX));
}
END_TEST

START_TEST(rng_distributions)
{
    dlx_rng r;
    dlx_rng_init(&r, 1, 1);
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = dlx_rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    ck_assert_double_lt(fabs(s / n), 0.01);
    ck_assert_double_lt(fabs(s2 / n - 1.0), 0.02);
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++)
        counts[dlx_rng_below(&r, 10)]++;
    for (int i = 0; i < 10; i++)
        ck_assert_int_gt(counts[i], 9500);
    uint32_t idx[100];
    for (uint32_t i = 0; i < 100; i++)
        idx[i] = i;
    dlx_rng_shuffle(&r, idx, 100);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[idx[i]]++;
        moved += idx[i] != (uint32_t)i;
    }
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_gt(moved, 80);
}
END_TEST

START_TEST(params_tying_and_blocks)
{
    dlx_params p;
    dlx_params_init(&p);
    dlx_init x = {.kind = DLX_INIT_XAVIER, .fan_in = 4, .fan_out = 3};
    int a = dlx_params_declare(&p, "fc.weight", dlx_shape_2d(3, 4), x, true, NULL);
    int b = dlx_params_declare(&p, "fc.bias", dlx_shape_1d(3), (dlx_init){0}, false, NULL);
    int c = dlx_params_declare(&p, "fc.weight", dlx_shape_2d(3, 4), x, true, NULL);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(c, 0);
    ck_assert_int_eq(p.items[0].n_uses, 2);
    dlx_err err;
    ck_assert_int_eq(dlx_params_declare(&p, "fc.weight", dlx_shape_2d(4, 3), x, true, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "parameter 'fc.weight' is shared with shape [3, 4] but used here with shape [4, 3]");
    ck_assert_int_eq(dlx_params_finalize(&p, NULL), 0);
    ck_assert_int_eq(p.total, 15);
    ck_assert_ptr_eq(p.items[1].t.data, p.values + 12);
    ck_assert_int_eq(dlx_params_declare(&p, "new", dlx_shape_1d(2), x, true, &err), DLX_EINVAL);
    dlx_params_init_values(&p, 9, NULL);
    double lim = sqrt(6.0 / 7.0);
    for (int i = 0; i < 12; i++)
        ck_assert(fabs(p.values[i]) <= lim);
    for (int i = 12; i < 15; i++)
        ck_assert(p.values[i] == 0.0f);
    float first[15];
    memcpy(first, p.values, sizeof first);
    dlx_params_init_values(&p, 9, NULL);
    ck_assert_int_eq(memcmp(first, p.values, sizeof first), 0);
    dlx_params_init_values(&p, 10, NULL);
    ck_assert_int_ne(memcmp(first, p.values, sizeof first), 0);
    p.values[3] = NAN;
    int bad = -1;
    ck_assert(!dlx_params_all_finite(&p, &bad));
    ck_assert_int_eq(bad, 0);
    dlx_params_free(&p);
}
END_TEST

/* 7798162 * 6302372 * 6756098 = 784 + 18 * 2^64: in wrapping int64
 * arithmetic, the product of these sizes equals 784, an MNIST image's. */
#define WRAP_A 7798162
#define WRAP_B 6302372
#define WRAP_C 6756098

START_TEST(checked_size_arithmetic)
{
    int64_t r = 7;
    ck_assert(dlx_mul_i64(3037000499, 3037000499, &r)); /* just under 2^63 */
    ck_assert(r == INT64_C(9223372030926249001));
    r = 7;
    ck_assert(!dlx_mul_i64(INT64_C(1) << 32, INT64_C(1) << 31, &r));
    ck_assert(r == 7); /* untouched on overflow */
    ck_assert(!dlx_mul_i64(INT64_MIN, -1, &r));
    ck_assert(dlx_add_i64(INT64_MAX - 1, 1, &r) && r == INT64_MAX);
    ck_assert(!dlx_add_i64(INT64_MAX, 1, &r));
    size_t b = 0;
    ck_assert(dlx_bytes(1000, 4, &b) && b == 4000);
    ck_assert(!dlx_bytes(-1, 4, &b));
    ck_assert(!dlx_bytes(INT64_MAX, 4, &b));
    ck_assert(dlx_add_size_sat(SIZE_MAX - 1, 5) == SIZE_MAX);
    ck_assert(dlx_add_size_sat(2, 3) == 5);
    /* wrapping multiplication lands exactly on 784; the checked count refuses */
    uint64_t wrapped = (uint64_t)WRAP_A * WRAP_B * WRAP_C;
    ck_assert(wrapped == 784);
    dlx_shape s = dlx_shape_make(3, (int64_t[]){WRAP_A, WRAP_B, WRAP_C});
    ck_assert_int_eq(dlx_shape_numel_checked(&s), -1);
    s = dlx_shape_2d(INT64_C(1) << 32, INT64_C(1) << 32); /* 2^64: wraps to 0 */
    ck_assert_int_eq(dlx_shape_numel_checked(&s), -1);
    s = dlx_shape_2d(INT64_C(1) << 24, INT64_C(1) << 24);
    ck_assert(dlx_shape_numel_checked(&s) == DLX_NUMEL_MAX); /* the limit itself is fine */
    s = dlx_shape_2d(INT64_C(1) << 24, (INT64_C(1) << 24) + 1);
    ck_assert_int_eq(dlx_shape_numel_checked(&s), -1);
    s = dlx_shape_2d(-2, -3); /* a negative count is no count, even when the product is positive */
    ck_assert_int_eq(dlx_shape_numel_checked(&s), -1);
    s = dlx_shape_4d(0, INT64_C(1) << 40, INT64_C(1) << 40, 5);
    ck_assert_int_eq(dlx_shape_numel_checked(&s), 0);
    dlx_shape t = dlx_shape_4d(64, 6, 28, 28);
    ck_assert_int_eq(dlx_shape_numel_checked(&t), 64 * 6 * 28 * 28);
}
END_TEST

/* One op on fresh inputs: NULL and the message, or the node. */
static dlx_node *one_op(dlx_graph *g, const dlx_op_vtbl *op, const void *attr, const dlx_shape *in, int n,
                        dlx_err *e)
{
    dlx_node *x[4];
    for (int i = 0; i < n; i++) {
        char name[8];
        snprintf(name, sizeof name, "in%d", i);
        x[i] = dlx_graph_input(g, name, in[i], true, e);
        ck_assert_msg(x[i] != NULL, "%s", e->msg);
    }
    dlx_err_clear(e);
    return dlx_graph_op(g, op, "L", x, n, attr, (dlx_loc){"net.yaml", 4, 7}, e);
}

START_TEST(wrapping_sizes_are_refused)
{
    dlx_params p;
    dlx_params_init(&p);
    dlx_graph *g = dlx_graph_create(&p);
    dlx_err e;
    /* a reshape whose product wraps back to the input's element count */
    dlx_shape img = dlx_shape_4d(16, 1, 28, 28);
    dlx_reshape_attr r = {.ndim = 4, .d = {0, WRAP_A, WRAP_B, WRAP_C}};
    ck_assert_ptr_null(one_op(g, &dlx_op_reshape, &r, &img, 1, &e));
    ck_assert_int_eq(e.code, DLX_EINVAL);
    ck_assert_int_eq(e.line, 4);
    ck_assert_str_eq(e.msg, "reshape 'L': target shape [16, 7798162, 6302372, 6756098] has more than 2^48 "
                            "elements (input shape [16, 1, 28, 28])");
    /* the same sizes through the -1 inference */
    dlx_reshape_attr r2 = {.ndim = 4, .d = {0, WRAP_A, -1, WRAP_C}};
    ck_assert_ptr_null(one_op(g, &dlx_op_reshape, &r2, &img, 1, &e));
    ck_assert_msg(strstr(e.msg, "cannot infer the -1 dimension") || strstr(e.msg, "more than 2^48"), "%s", e.msg);
    /* a conv whose output N F OH OW = 2^64 wraps to 0: each input is fine */
    dlx_conv2d_attr a = {1, 1, 0, 0, DLX_ACT_NONE, 0};
    dlx_shape cv[2] = {dlx_shape_4d(1, 1, 256, 256), dlx_shape_4d(INT64_C(1) << 48, 1, 1, 1)};
    ck_assert_ptr_null(one_op(g, &dlx_op_conv2d, &a, cv, 2, &e));
    ck_assert_str_eq(e.msg, "conv2d 'L': too large: the output 1x281474976710656x256x256 or the im2col buffer "
                            "would exceed 2^31 floats (input shape [1, 1, 256, 256] and [281474976710656, 1, 1, 1])");
    /* an input or a parameter beyond the limit never enters the graph */
    ck_assert_ptr_null(dlx_graph_input(g, "big", dlx_shape_2d(INT64_C(1) << 32, INT64_C(1) << 32), false, &e));
    ck_assert_str_eq(e.msg, "input 'big': shape [4294967296, 4294967296] has a negative size or more than 2^48 "
                            "elements");
    ck_assert_int_eq(dlx_params_declare(&p, "w", dlx_shape_make(3, (int64_t[]){WRAP_A, WRAP_B, WRAP_C}),
                                        (dlx_init){0}, false, &e), DLX_EINVAL);
    ck_assert_str_eq(e.msg, "parameter 'w': shape [7798162, 6302372, 6756098] has a negative size or more than "
                            "2^48 elements");
    /* the total of parameters that are each fine is checked too */
    for (int i = 0; i < 17; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        ck_assert_int_ge(dlx_params_declare(&p, name, dlx_shape_2d(INT64_C(1) << 24, INT64_C(1) << 20),
                                            (dlx_init){0}, false, &e), 0);
    }
    ck_assert_int_eq(dlx_params_finalize(&p, &e), DLX_ENOMEM);
    ck_assert_str_eq(e.msg, "the parameters have more than 2^48 floats in all");
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST

Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, shape_basics);
    tcase_add_test(tc, arena_alignment_and_capacity);
    tcase_add_test(tc, philox_known_answer);
    tcase_add_test(tc, rng_is_pure_function_of_seed_stream_counter);
    tcase_add_test(tc, rng_distributions);
    tcase_add_test(tc, zeroed_floats_are_zero);
    tcase_add_test(tc, params_tying_and_blocks);
    tcase_add_test(tc, checked_size_arithmetic);
    tcase_add_test(tc, wrapping_sizes_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
