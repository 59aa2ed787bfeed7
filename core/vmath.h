/* Elementwise math the compiler can vectorise.
 *
 * libm's expf is a call per element; a loop of them runs at a few ns each and
 * was the largest non-GEMM cost of a small classifier's step (the softmax of
 * 100 x 10 logits). dlx_exp_nonpos is a branch-free Cephes-style expf for
 * arguments <= 0 (softmax after subtracting the row maximum): range reduction
 * by ln 2 in two parts, a degree-6 polynomial, the exponent set by integer
 * arithmetic. Error <= 2 ulp against expf (tests/test_vmath.c); arguments
 * below ln(FLT_MIN) give 0, as expf's subnormal results would be flushed anyway.
 *
 * dlx_log_pos is the matching logf (the softmax loss takes one log per row:
 * a libm call each was a tenth of a small net's forward pass).
 * dlx_exp_nonpos16 is dlx_exp_nonpos on one AVX-512 vector, for loops over
 * rows shorter than a vector that the compiler would not vectorise well;
 * dlx_tanh16 and dlx_sigmoid16 likewise.
 */
#ifndef DLX_VMATH_H
#define DLX_VMATH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The constants of dlx_exp_nonpos, shared with the 16-lane version. */
#define DLX_EXP_MIN_ARG (-87.336544f) /* exp(-87.336544) = FLT_MIN */
#define DLX_EXP_LOG2E 1.44269504088896341f
#define DLX_EXP_LN2_HI 0.693359375f
#define DLX_EXP_LN2_LO (-2.12194440e-4f)
static const float dlx_exp_poly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                      4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

static inline float dlx_exp_nonpos(float x)
{
    const float in = x;
    float under = x < DLX_EXP_MIN_ARG ? 0.0f : 1.0f;
    /* (a NaN takes the clamped path too, so no NaN is converted to an int;
     * it is given back at the end) */
    x = x >= DLX_EXP_MIN_ARG ? x : DLX_EXP_MIN_ARG;
    float n = __builtin_rintf(x * DLX_EXP_LOG2E); /* in [-126, 0] */
    float r = x - n * DLX_EXP_LN2_HI - n * DLX_EXP_LN2_LO; /* |r| <= ln 2 / 2 */
    float p = dlx_exp_poly[0];
    for (int i = 1; i < 6; i++)
        p = p * r + dlx_exp_poly[i];
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* 2^n, a normal float for n >= -126 */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return in == in ? p * scale * under : in;
}

/* y[i] = exp(x[i]) for x[i] <= 0 */
static inline void dlx_exp_nonpos_array(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = dlx_exp_nonpos(x[i]);
}

/* log(x) for positive normal x (Cephes logf: x = m 2^e with m in
 * [sqrt(1/2), sqrt(2)), a degree-9 polynomial in m - 1); <= 2 ulp against
 * logf. 0 and subnormals give -inf, +inf gives +inf, negatives and NaN give
 * NaN. Branch-free, so a loop over an array vectorises. */
static inline float dlx_log_pos(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    float e = (float)((int32_t)(bits >> 23) - 126); /* x = m 2^e, m in [0.5, 1) */
    uint32_t mbits = (bits & 0x007fffffu) | 0x3f000000u;
    float m;
    memcpy(&m, &mbits, sizeof m);
    bool low = m < 0.707106781186547524f;
    e = low ? e - 1.0f : e;
    float f = low ? m + m - 1.0f : m - 1.0f;
    float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    float r = f + y + 0.693359375f * e;
    bool normal = x >= 1.17549435e-38f && x <= 3.40282347e+38f; /* false for NaN */
    float special = x > 3.40282347e+38f ? x : x >= 0.0f ? -__builtin_inff() : __builtin_nanf("");
    return normal ? r : special;
}

/* y[i] = log(x[i]) for x[i] > 0 */
static inline void dlx_log_pos_array(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = dlx_log_pos(x[i]);
}

/* tanh(x), branch-free (Cephes tanhf): for |x| < 0.625 the odd polynomial
 * x + x^3 P(x^2); above, 1 - 2 e / (1 + e) with e = exp(-2|x|) <= 0.29 (no
 * cancellation), the sign put back. <= 2 ulp against tanhf
 * (tests/test_vmath.c); NaN gives NaN. A libm call per element was a
 * twentieth of an EBGAN step (its generator's 784 tanh outputs). */
static inline float dlx_tanh(float x)
{
    float ax = __builtin_fabsf(x);
    float e = dlx_exp_nonpos(-2.0f * ax);
    float big = 1.0f - 2.0f * e / (1.0f + e);
    big = x < 0.0f ? -big : big;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    return ax > 0.625f ? big : small;
}

/* The logistic 1 / (1 + exp(-x)), branch-free: e = exp(-|x|) <= 1, then
 * 1 / (1 + e) for x >= 0 and e / (1 + e) below (no overflow, no
 * cancellation). <= 2 ulp against the same in double. */
static inline float dlx_sigmoid(float x)
{
    float e = dlx_exp_nonpos(-__builtin_fabsf(x));
    float d = 1.0f + e;
    return (x >= 0.0f ? 1.0f : e) / d;
}

#if defined(__AVX512F__)
#include <immintrin.h>

/* dlx_exp_nonpos on 16 lanes (the same reduction and polynomial) */
static inline __m512 dlx_exp_nonpos16(__m512 x)
{
    const __m512 floor_arg = _mm512_set1_ps(DLX_EXP_MIN_ARG);
    __mmask16 under = _mm512_cmp_ps_mask(x, floor_arg, _CMP_LT_OQ);
    x = _mm512_mask_mov_ps(x, under, floor_arg);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(DLX_EXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(DLX_EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(DLX_EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(dlx_exp_poly[0]);
    for (int i = 1; i < 6; i++)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(dlx_exp_poly[i]));
    p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps((__mmask16)~under, p, _mm512_castsi512_ps(bits));
}

/* dlx_tanh on 16 lanes: both branches computed, the lanes picked (the
 * recurrent ops' gates: GCC would not vectorise the scalar one there) */
static inline __m512 dlx_tanh16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 ax = _mm512_abs_ps(x);
    __m512 e = dlx_exp_nonpos16(_mm512_mul_ps(_mm512_set1_ps(-2.0f), ax));
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_add_ps(e, e), _mm512_add_ps(one, e)));
    big = _mm512_castsi512_ps(_mm512_or_epi32(_mm512_castps_si512(big), /* x's sign */
                                              _mm512_and_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN))));
    __m512 z = _mm512_mul_ps(x, x), p = _mm512_set1_ps(-5.70498872745e-3f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_GT_OQ), small, big);
}

/* dlx_sigmoid on 16 lanes */
static inline __m512 dlx_sigmoid16(__m512 x)
{
    __m512 e = dlx_exp_nonpos16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
    __m512 num = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), e, _mm512_set1_ps(1.0f));
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* dlx_exp_nonpos on 8 lanes, for builds without AVX-512: the same operations
 * as dlx_exp_nonpos16, so the same bits */
static inline __m256 dlx_exp_nonpos8(__m256 x)
{
    const __m256 floor_arg = _mm256_set1_ps(DLX_EXP_MIN_ARG);
    __m256 under = _mm256_cmp_ps(x, floor_arg, _CMP_LT_OQ);
    x = _mm256_blendv_ps(x, floor_arg, under);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(DLX_EXP_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(DLX_EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(DLX_EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(dlx_exp_poly[0]);
    for (int i = 1; i < 6; i++)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(dlx_exp_poly[i]));
    p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}
#endif


#endif
