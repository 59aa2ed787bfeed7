/* Elementwise math the compiler can vectorise.
 *
 * libm's expf is a call per element; a loop of them runs at a few ns each and
 * was the largest non-GEMM cost of a small classifier's step (the softmax of
 * 100 x 10 logits). dlx_exp_nonpos is a branch-free Cephes-style expf for
 * arguments <= 0 (softmax after subtracting the row maximum): range reduction
 * by ln 2 in two parts, a degree-6 polynomial, the exponent set by integer
 * arithmetic. Error <= 2 ulp against expf (tests/test_ops_ref.c); arguments
 * below ln(FLT_MIN) give 0, as expf's subnormal results would be flushed anyway.
 */
#ifndef DLX_VMATH_H
#define DLX_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float dlx_exp_nonpos(float x)
{
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    float under = x < -87.336544f ? 0.0f : 1.0f; /* exp(-87.336544) = FLT_MIN */
    x = x < -87.336544f ? -87.336544f : x;
    float n = __builtin_rintf(x * log2e); /* in [-126, 0] */
    float r = x - n * ln2_hi - n * ln2_lo; /* |r| <= ln 2 / 2 */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23; /* 2^n, a normal float for n >= -126 */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale * under;
}

/* y[i] = exp(x[i]) for x[i] <= 0 */
static inline void dlx_exp_nonpos_array(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = dlx_exp_nonpos(x[i]);
}

#endif
