/* AVX2 lane helpers shared by the ops' paths for CPUs without AVX-512
 * (linear_small.c, softmax_xent.c, pool2d.c, conv_cols.c); private to
 * core/ops. Without AVX2 this header declares nothing. */
#ifndef DLX_OPS_AVX2_LANES_H
#define DLX_OPS_AVX2_LANES_H

#if defined(__AVX2__)
#include <immintrin.h>

/* The mask of the first k of 8 lanes (none for k <= 0, all for k >= 8), for
 * maskload / maskstore: lanes outside it are neither read nor written. */
static inline __m256i dlx_first8(int k)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The even (odd) lanes of the 16 in (lo, hi), in order: lo0 lo2 lo4 lo6 hi0
 * hi2 hi4 hi6 (a shuffle within 128-bit halves, then a 64-bit permute). */
static inline __m256 dlx_even8(__m256 lo, __m256 hi)
{
    __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
static inline __m256 dlx_odd8(__m256 lo, __m256 hi)
{
    __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
#endif

#endif
