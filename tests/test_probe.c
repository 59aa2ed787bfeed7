/* The closed-form probe (core/probe.h): near-perfect on codes that hold the
 * class linearly, near chance on codes independent of it, and above a linear
 * map on a class that only its random ReLU units can read (XOR of two signs). */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "../core/probe.h"
#include "../core/rng.h"

#define N 2000

typedef struct sets {
    float xtr[N * 8], ytr[N], xte[N * 8], yte[N];
} sets;

/* kind 0: x = one-hot(class) * 2 + noise; 1: noise only; 2: two dims, class = sign(x0) xor sign(x1) */
static void make(sets *s, int kind, int d, int classes)
{
    dlx_rng r;
    dlx_rng_init(&r, 7, DLX_STREAM_USER + (uint64_t)kind);
    for (int split = 0; split < 2; split++) {
        float *x = split ? s->xte : s->xtr, *y = split ? s->yte : s->ytr;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < d; j++)
                x[i * d + j] = 0.5f * dlx_rng_normal(&r);
            int k = (int)dlx_rng_below(&r, (uint32_t)classes);
            if (kind == 0)
                x[i * d + k] += 2.0f;
            if (kind == 2)
                k = (x[i * d] > 0.0f) != (x[i * d + 1] > 0.0f);
            y[i] = (float)k;
        }
    }
}

static double acc(const sets *s, int d, int classes, int hidden)
{
    dlx_probe_data tr = {s->xtr, s->ytr, N}, te = {s->xte, s->yte, N};
    double a = -1.0;
    dlx_err err;
    ck_assert_int_eq(dlx_probe_accuracy(&tr, &te, d, classes, hidden, 1, &a, &err), 0);
    return a;
}

START_TEST(test_probe_separates)
{
    static sets s;
    make(&s, 0, 8, 8);
    double a = acc(&s, 8, 8, 0);
    ck_assert_msg(a > 0.97, "a code holding the class linearly: %.3f", a);
    ck_assert_msg(acc(&s, 8, 8, 64) > 0.97, "and with random units");
}
END_TEST

START_TEST(test_probe_chance)
{
    static sets s;
    make(&s, 1, 8, 8);
    double a = acc(&s, 8, 8, 64);
    ck_assert_msg(fabs(a - 1.0 / 8) < 0.04, "a code independent of the class is near chance 0.125: %.3f", a);
}
END_TEST

START_TEST(test_probe_nonlinear)
{
    static sets s;
    make(&s, 2, 2, 2);
    double lin = acc(&s, 2, 2, 0), rf = acc(&s, 2, 2, 128);
    ck_assert_msg(lin < 0.6, "XOR is out of a linear map's reach: %.3f", lin);
    ck_assert_msg(rf > 0.9, "the random ReLU units read it: %.3f", rf);
}
END_TEST

START_TEST(test_probe_bad_label)
{
    static sets s;
    make(&s, 0, 8, 8);
    s.ytr[5] = 8.0f;
    dlx_probe_data tr = {s.xtr, s.ytr, N}, te = {s.xte, s.yte, N};
    double a;
    dlx_err err;
    ck_assert_int_eq(dlx_probe_accuracy(&tr, &te, 8, 8, 0, 1, &a, &err), DLX_EINVAL);
}
END_TEST

Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("probe");
    tcase_add_test(tc, test_probe_separates);
    tcase_add_test(tc, test_probe_chance);
    tcase_add_test(tc, test_probe_nonlinear);
    tcase_add_test(tc, test_probe_bad_label);
    suite_add_tcase(s, tc);
    return s;
}
