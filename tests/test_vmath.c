/* core/vmath.h: the vectorisable exp, log, tanh and sigmoid against libm (or
 * the same function in double) over millions of arguments, in ulp. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../core/vmath.h"

/* The exp tests' arguments: the float with these bits, while it is in
 * [ln FLT_MIN, 0] (stepping bits up from -0 walks down from 0). */
static bool exp_arg(uint32_t bits, float *x)
{
    memcpy(x, &bits, sizeof *x);
    return *x >= -87.336544f;
}

/* |got - want| in units of the last place of want */
static double ulps(float got, float want)
{
    float up = nextafterf(fabsf(want), INFINITY) - fabsf(want);
    return fabs((double)got - (double)want) / (double)up;
}

/* dlx_exp_nonpos against libm's expf on every 499th float in [ln FLT_MIN, 0]
 * (about 2 million arguments, stepping through the bit patterns) and on the
 * edges: within 2 ulp, 0 below. */
START_TEST(test_exp_nonpos)
{
    double worst = 0.0;
    float x;
    for (uint32_t bits = 0x80000000u; exp_arg(bits, &x); bits += 499) {
        double ulp = ulps(dlx_exp_nonpos(x), expf(x));
        worst = ulp > worst ? ulp : worst;
    }
    ck_assert_msg(worst <= 2.0, "worst error %.2f ulp", worst);
    ck_assert_float_eq(dlx_exp_nonpos(0.0f), 1.0f);
    ck_assert_float_eq(dlx_exp_nonpos(-88.0f), 0.0f);
    ck_assert_float_eq(dlx_exp_nonpos(-INFINITY), 0.0f);
    ck_assert(dlx_exp_nonpos(-87.3f) > 0.0f);
}
END_TEST

/* dlx_log_pos against logf on every 4099th positive normal float (about 520
 * thousand arguments over the whole range) within 2 ulp, and its edges */
/* dlx_tanh and dlx_sigmoid against the double functions rounded to float,
 * on every 997th float of [-30, 30] (both signs; about 2.2 million
 * arguments): within 2 ulp; and their edges. */
START_TEST(test_tanh_sigmoid)
{
    double worst_t = 0.0, worst_s = 0.0;
    for (uint32_t bits = 0; bits <= 0x41f00000u; bits += 997) { /* 0 .. 30 */
        for (int sign = 0; sign < 2; sign++) {
            float x;
            uint32_t b = bits | (sign ? 0x80000000u : 0u);
            memcpy(&x, &b, sizeof x);
            double ut = ulps(dlx_tanh(x), (float)tanh((double)x));
            double us = ulps(dlx_sigmoid(x), (float)(1.0 / (1.0 + exp(-(double)x))));
            worst_t = ut > worst_t ? ut : worst_t;
            worst_s = us > worst_s ? us : worst_s;
        }
    }
    ck_assert_msg(worst_t <= 2.0, "tanh: worst error %.2f ulp", worst_t);
    ck_assert_msg(worst_s <= 2.0, "sigmoid: worst error %.2f ulp", worst_s);
    ck_assert_float_eq(dlx_tanh(0.0f), 0.0f);
    ck_assert_float_eq(dlx_tanh(INFINITY), 1.0f);
    ck_assert_float_eq(dlx_tanh(-INFINITY), -1.0f);
    ck_assert_float_eq(dlx_tanh(1e-30f), 1e-30f);
    ck_assert(isnan(dlx_tanh(NAN)));
    ck_assert_float_eq(dlx_sigmoid(0.0f), 0.5f);
    ck_assert_float_eq(dlx_sigmoid(INFINITY), 1.0f);
    ck_assert_float_eq(dlx_sigmoid(-INFINITY), 0.0f);
    ck_assert(isnan(dlx_sigmoid(NAN)));
}
END_TEST

START_TEST(test_log_pos)
{
    double worst = 0.0;
    for (uint32_t bits = 0x00800000u; bits < 0x7f800000u; bits += 4099) {
        float x;
        memcpy(&x, &bits, sizeof x);
        double ulp = ulps(dlx_log_pos(x), logf(x));
        worst = ulp > worst ? ulp : worst;
    }
    ck_assert_msg(worst <= 2.0, "worst error %.2f ulp", worst);
    ck_assert_float_eq(dlx_log_pos(1.0f), 0.0f);
    ck_assert(isinf(dlx_log_pos(0.0f)) && dlx_log_pos(0.0f) < 0.0f);
    ck_assert(isinf(dlx_log_pos(1e-40f)) && dlx_log_pos(1e-40f) < 0.0f); /* subnormal */
    ck_assert(isinf(dlx_log_pos(INFINITY)) && dlx_log_pos(INFINITY) > 0.0f);
    ck_assert(isnan(dlx_log_pos(-1.0f)));
    ck_assert(isnan(dlx_log_pos(NAN)));
    float xs[37], ys[37];
    for (int i = 0; i < 37; i++)
        xs[i] = 1.0f + 0.25f * (float)i;
    dlx_log_pos_array(xs, ys, 37);
    for (int i = 0; i < 37; i++)
        ck_assert_float_eq_tol(ys[i], logf(xs[i]), 4e-7f * fabsf(logf(xs[i])) + 1e-7f);
}
END_TEST

#if defined(__AVX512F__)
/* the 16-lane exp against expf on the same arguments as the scalar one */
START_TEST(test_exp_nonpos16)
{
    double worst = 0.0;
    float in[16], out[16];
    int lane = 0;
    float x;
    for (uint32_t bits = 0x80000000u; exp_arg(bits, &x); bits += 499) {
        in[lane++] = x;
        if (lane < 16)
            continue;
        _mm512_storeu_ps(out, dlx_exp_nonpos16(_mm512_loadu_ps(in)));
        for (int i = 0; i < 16; i++) {
            double ulp = ulps(out[i], expf(in[i]));
            worst = ulp > worst ? ulp : worst;
        }
        lane = 0;
    }
    ck_assert_msg(worst <= 2.0, "worst error %.2f ulp", worst);
    float edge[16] = {0.0f, -88.0f, -INFINITY, -87.3f, -1.0f};
    _mm512_storeu_ps(out, dlx_exp_nonpos16(_mm512_loadu_ps(edge)));
    ck_assert_float_eq(out[0], 1.0f);
    ck_assert_float_eq(out[1], 0.0f);
    ck_assert_float_eq(out[2], 0.0f);
    ck_assert(out[3] > 0.0f);
    ck_assert_float_eq_tol(out[4], expf(-1.0f), 2e-7f);
}
END_TEST

/* the 16-lane tanh and sigmoid against the double functions on the scalar
 * test's arguments (within 2 ulp) and its edges */
START_TEST(test_tanh_sigmoid16)
{
    double worst_t = 0.0, worst_s = 0.0;
    float in[16], t[16], s[16];
    int lane = 0;
    for (uint32_t bits = 0; bits <= 0x41f00000u; bits += 997)
        for (int sign = 0; sign < 2; sign++) {
            uint32_t b = bits | (sign ? 0x80000000u : 0u);
            memcpy(&in[lane++], &b, sizeof(float));
            if (lane < 16)
                continue;
            _mm512_storeu_ps(t, dlx_tanh16(_mm512_loadu_ps(in)));
            _mm512_storeu_ps(s, dlx_sigmoid16(_mm512_loadu_ps(in)));
            for (int i = 0; i < 16; i++) {
                double ut = ulps(t[i], (float)tanh((double)in[i]));
                double us = ulps(s[i], (float)(1.0 / (1.0 + exp(-(double)in[i]))));
                worst_t = ut > worst_t ? ut : worst_t;
                worst_s = us > worst_s ? us : worst_s;
            }
            lane = 0;
        }
    ck_assert_msg(worst_t <= 2.0, "tanh16: worst error %.2f ulp", worst_t);
    ck_assert_msg(worst_s <= 2.0, "sigmoid16: worst error %.2f ulp", worst_s);
    float edge[16] = {0.0f, INFINITY, -INFINITY, 1e-30f, NAN, -0.7f, 0.3f};
    _mm512_storeu_ps(t, dlx_tanh16(_mm512_loadu_ps(edge)));
    _mm512_storeu_ps(s, dlx_sigmoid16(_mm512_loadu_ps(edge)));
    ck_assert(t[0] == 0.0f && t[1] == 1.0f && t[2] == -1.0f && t[3] == 1e-30f && isnan(t[4]));
    ck_assert(s[0] == 0.5f && s[1] == 1.0f && s[2] == 0.0f && isnan(s[4]));
    ck_assert(t[5] == dlx_tanh(-0.7f) || ulps(t[5], dlx_tanh(-0.7f)) <= 2.0);
}
END_TEST
#endif

Suite *vmath_suite(void)
{
    Suite *s = suite_create("vmath");
    TCase *tc = tcase_create("vmath");
    tcase_add_test(tc, test_exp_nonpos);
    tcase_add_test(tc, test_log_pos);
    tcase_add_test(tc, test_tanh_sigmoid);
#if defined(__AVX512F__)
    tcase_add_test(tc, test_exp_nonpos16);
    tcase_add_test(tc, test_tanh_sigmoid16);
#endif
    suite_add_tcase(s, tc);
    return s;
}
