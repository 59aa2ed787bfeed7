/* The recurrent ops' products: see rnn_gemm.h. */
#include "rnn_gemm.h"

#include <cblas.h>

void dlx_rec_transpose(int R, int C, const float *s, float *t)
{
    /* 16 x 16 tiles keep both sides' lines in cache; done once per op call */
    for (int i0 = 0; i0 < R; i0 += 16)
        for (int j0 = 0; j0 < C; j0 += 16)
            for (int i = i0; i < i0 + 16 && i < R; i++)
                for (int j = j0; j < j0 + 16 && j < C; j++)
                    t[(size_t)j * R + i] = s[(size_t)i * C + j];
}

#if defined(__AVX512F__)
#include <immintrin.h>

/* Rows [0, R) and columns [0, 16 V) of C, the last vector masked by `last`:
 * R x V accumulators (at most 24 of the 32 registers) loaded from C, per k V
 * vectors of B and R broadcasts of A. R and V are compile-time constants at
 * every call (BLOCK below), so the arrays live in registers. */
static inline __attribute__((always_inline)) void block(int R, int V, int K, const float *a, ptrdiff_t ars,
                                                        ptrdiff_t aks, const float *b, int ldb, float *c, int ldc,
                                                        __mmask16 last)
{
    __m512 acc[12][2];
    __mmask16 m[2] = {V == 1 ? last : (__mmask16)0xffff, last};
    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)
    {
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) acc[r][v] =
            _mm512_maskz_loadu_ps(m[v], c + (size_t)r * ldc + 16 * v);
    }
    for (int k = 0; k < K; k++) {
        __m512 w[2];
        const float *bk = b + (size_t)k * ldb, *ak = a + k * aks;
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) w[v] = _mm512_maskz_loadu_ps(m[v], bk + 16 * v);
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)
        {
            __m512 x = _mm512_set1_ps(ak[r * ars]);
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(x, w[v], acc[r][v]);
        }
    }
    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)
    {
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)
            _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * v, m[v], acc[r][v]);
    }
}

#define BLOCK(R_, V_)                                                                                      \
    case R_:                                                                                               \
        block(R_, V_, K, a, ars, aks, b, ldb, c, ldc, last);                                               \
        break
#define ROWS(V_)                                                                                           \
    switch (R) {                                                                                           \
        BLOCK(12, V_); BLOCK(11, V_); BLOCK(10, V_); BLOCK(9, V_); BLOCK(8, V_); BLOCK(7, V_);             \
        BLOCK(6, V_); BLOCK(5, V_); BLOCK(4, V_); BLOCK(3, V_); BLOCK(2, V_); BLOCK(1, V_);                \
    }

static void rows_block(int R, int V, int K, const float *a, ptrdiff_t ars, ptrdiff_t aks, const float *b, int ldb,
                       float *c, int ldc, __mmask16 last)
{
    if (V == 2)
        ROWS(2)
    else
        ROWS(1)
}

void dlx_rec_gemm(int N, int M, int K, const float *a, ptrdiff_t ars, ptrdiff_t aks, const float *b, int ldb,
                  float *c, int ldc)
{
    /* N split into equal blocks of at most 12 rows (20 = 10 + 10, not 12 + 8);
     * k in slices of KB, so that B's 32 columns of a slice (16 KiB) stay in L1
     * for every row block, and A's slice in L2 (dW: 2,380 k of 512 rows ran at
     * half the rate without). C is stored between slices: the same bits. */
    enum { KB = 128 };
    const int nb = (N + 11) / 12;
    for (int k0 = 0; k0 < K; k0 += KB) {
        const int kn = K - k0 < KB ? K - k0 : KB;
        const float *ak = a + (ptrdiff_t)k0 * aks, *bk = b + (size_t)k0 * ldb;
        for (int j0 = 0; j0 < M; j0 += 32) {
            const int left = M - j0, V = left > 16 ? 2 : 1, tail = left - 16 * (V - 1);
            const __mmask16 last = (__mmask16)(tail >= 16 ? 0xffff : (1u << tail) - 1u);
            for (int q = 0, i0 = 0; q < nb; q++) {
                const int R = N / nb + (q < N % nb);
                rows_block(R, V, kn, ak + (ptrdiff_t)i0 * ars, ars, aks, bk + j0, ldb, c + (size_t)i0 * ldc + j0, ldc,
                           last);
                i0 += R;
            }
        }
    }
}

#else

void dlx_rec_gemm(int N, int M, int K, const float *a, ptrdiff_t ars, ptrdiff_t aks, const float *b, int ldb,
                  float *c, int ldc)
{
    if (aks == 1)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, M, K, 1.0f, a, (int)ars, b, ldb, 1.0f, c, ldc);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, M, K, 1.0f, a, (int)aks, b, ldb, 1.0f, c, ldc);
}

#endif
