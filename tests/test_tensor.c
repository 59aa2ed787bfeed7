/* Tensors, shapes, the arena, the counter-based RNG and the parameter store. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "../core/arena.h"
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
    dlx_params_init_values(&p, 9);
    double lim = sqrt(6.0 / 7.0);
    for (int i = 0; i < 12; i++)
        ck_assert(fabs(p.values[i]) <= lim);
    for (int i = 12; i < 15; i++)
        ck_assert(p.values[i] == 0.0f);
    float first[15];
    memcpy(first, p.values, sizeof first);
    dlx_params_init_values(&p, 9);
    ck_assert_int_eq(memcmp(first, p.values, sizeof first), 0);
    dlx_params_init_values(&p, 10);
    ck_assert_int_ne(memcmp(first, p.values, sizeof first), 0);
    p.values[3] = NAN;
    int bad = -1;
    ck_assert(!dlx_params_all_finite(&p, &bad));
    ck_assert_int_eq(bad, 0);
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
    tcase_add_test(tc, params_tying_and_blocks);
    suite_add_tcase(s, tc);
    return s;
}
