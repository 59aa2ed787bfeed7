/* Forward kernel for small linear layers: see linear_small.h. It needs AVX2
 * and FMA; AVX-512VL adds 16 registers, which hold blocks of 8 rows instead
 * of 4. Every output is one chain of multiply-adds over k in the same order
 * either way, so both builds give the same bits. */
#include "linear_small.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "avx2_lanes.h"

#if defined(__AVX512F__) && defined(__AVX512VL__)
#define ROWS 8 /* rows per register block: 8 x 3 accumulators of the 32 registers */
#else
#define ROWS 4 /* 4 x 3 accumulators, 3 weight vectors and a broadcast: the 16 of AVX2 */
#endif

bool dlx_linear_small_use(int N, int M, int K)
{
    /* Larger products go to BLAS, whose blocking and packing pay off there;
     * few columns (one vector) over long rows were measured slower here. */
    double macs = (double)N * M * K;
    return macs <= 2e6 && N >= 4 && (M >= 16 || K <= 128);
}

size_t dlx_linear_small_scratch(int M, int K)
{
    return (size_t)M * K;
}

/* The first r lanes of p (0 < r < 8), the others 0. */
#if defined(__AVX512F__) && defined(__AVX512VL__)
static inline __m256 load_first(int r, const float *p)
{
    return _mm256_maskz_loadu_ps((__mmask8)((1u << r) - 1u), p);
}
#else
static inline __m256 load_first(int r, const float *p)
{
    return _mm256_maskload_ps(p, dlx_first8(r));
}
#endif

/* v, held in a register: without this GCC folds a vector that several
 * multiply-adds use into each of them as a memory operand, and the loop then
 * waits on loads (12 per k instead of 3: 1.8x slower at 100 x 25 x 100). */
static inline __m256 in_register(__m256 v)
{
    __asm__("" : "+v"(v));
    return v;
}

/* Output rows [0, R) and columns [j0, j0 + 8V) of one register block: R x V
 * accumulators (R <= ROWS), per k V weight vectors from
 * wt (K x M, the transposed weights) and R broadcasts of x. R and V are
 * compile-time constants at every call (ROWS below), so the arrays live in
 * registers. */
static inline __attribute__((always_inline)) void main_block(int R, int V, const float *x, int K,
                                                             const float *wt, int M, int j0, const float *b,
                                                             float *y, bool relu)
{
    __m256 acc[8][3];
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)
    {
        _Pragma("GCC unroll 3") for (int v = 0; v < V; v++) acc[r][v] = _mm256_setzero_ps();
    }
    const float *wp = wt + j0;
    for (int k = 0; k < K; k++, wp += M) {
        __m256 w[3];
        _Pragma("GCC unroll 3") for (int v = 0; v < V; v++) w[v] = in_register(_mm256_loadu_ps(wp + 8 * v));
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)
        {
            __m256 xb = _mm256_broadcast_ss(x + (size_t)r * K + k);
            _Pragma("GCC unroll 3") for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(xb, w[v], acc[r][v]);
        }
    }
    const __m256 zero = _mm256_setzero_ps();
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)
    {
        _Pragma("GCC unroll 3") for (int v = 0; v < V; v++)
        {
            __m256 t = acc[r][v];
            if (b)
                t = _mm256_add_ps(t, _mm256_loadu_ps(b + j0 + 8 * v));
            if (relu)
                t = _mm256_max_ps(t, zero); /* NaN -> 0, as t > 0 ? t : 0 */
            _mm256_storeu_ps(y + (size_t)r * M + j0 + 8 * v, t);
        }
    }
}

/* the sum of the 8 lanes */
static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Columns [j0, M) (fewer than 8) as dot products of x rows with w rows over
 * k, 8 at a time with a masked tail; 4 rows at a time so that 4 independent
 * sums hide the FMA latency. */
static void tail_cols(int N, int M, int K, int j0, const float *x, const float *w, const float *b, float *y,
                      bool relu)
{
    const int kt = K % 8; /* the last kt values of a row: masked loads */
    const int kf = K - kt;
    for (int j = j0; j < M; j++) {
        const float *wr = w + (size_t)j * K;
        int i = 0;
        for (; i + 4 <= N; i += 4) {
            const float *xr = x + (size_t)i * K;
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            int k = 0;
            for (; k < kf; k += 8) {
                __m256 wv = _mm256_loadu_ps(wr + k);
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(xr + k), wv, s0);
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(xr + K + k), wv, s1);
                s2 = _mm256_fmadd_ps(_mm256_loadu_ps(xr + 2 * K + k), wv, s2);
                s3 = _mm256_fmadd_ps(_mm256_loadu_ps(xr + 3 * K + k), wv, s3);
            }
            if (kt) {
                __m256 wv = load_first(kt, wr + k);
                s0 = _mm256_fmadd_ps(load_first(kt, xr + k), wv, s0);
                s1 = _mm256_fmadd_ps(load_first(kt, xr + K + k), wv, s1);
                s2 = _mm256_fmadd_ps(load_first(kt, xr + 2 * K + k), wv, s2);
                s3 = _mm256_fmadd_ps(load_first(kt, xr + 3 * K + k), wv, s3);
            }
            float v[4] = {hsum8(s0), hsum8(s1), hsum8(s2), hsum8(s3)};
            for (int r = 0; r < 4; r++) {
                float t = b ? v[r] + b[j] : v[r];
                y[(size_t)(i + r) * M + j] = relu ? (t > 0.0f ? t : 0.0f) : t;
            }
        }
        for (; i < N; i++) { /* the last N % 4 rows one at a time */
            const float *xr = x + (size_t)i * K;
            __m256 s0 = _mm256_setzero_ps();
            int k = 0;
            for (; k < kf; k += 8)
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(xr + k), _mm256_loadu_ps(wr + k), s0);
            if (kt)
                s0 = _mm256_fmadd_ps(load_first(kt, xr + k), load_first(kt, wr + k), s0);
            float t = b ? hsum8(s0) + b[j] : hsum8(s0);
            y[(size_t)i * M + j] = relu ? (t > 0.0f ? t : 0.0f) : t;
        }
    }
}

/* One block of R <= ROWS rows at width V: a constant R and V for main_block. */
#define ROW_CASE(R_, V_)                                                                                   \
    case R_:                                                                                               \
        main_block(R_, V_, x, K, wt, M, j0, b, y, relu);                                                   \
        break
#if ROWS == 8
#define ROW_CASES_5_TO_8(V_)                                                                               \
    ROW_CASE(8, V_);                                                                                       \
    ROW_CASE(7, V_);                                                                                       \
    ROW_CASE(6, V_);                                                                                       \
    ROW_CASE(5, V_);
#else
#define ROW_CASES_5_TO_8(V_)
#endif
#define ROW_SWITCH(V_)                                                                                     \
    switch (R) {                                                                                           \
        ROW_CASES_5_TO_8(V_)                                                                               \
        ROW_CASE(4, V_);                                                                                   \
        ROW_CASE(3, V_);                                                                                   \
        ROW_CASE(2, V_);                                                                                   \
        ROW_CASE(1, V_);                                                                                   \
    }

static void row_block(int R, int V, const float *x, int K, const float *wt, int M, int j0, const float *b,
                      float *y, bool relu)
{
    if (V == 3)
        ROW_SWITCH(3)
    else if (V == 2)
        ROW_SWITCH(2)
    else
        ROW_SWITCH(1)
}

/* wt (K x M) columns [0, mf) = w (M x K) rows [0, mf), mf a multiple of 8:
 * 8 x 8 blocks transposed in registers */
static void transpose_w(const float *w, float *wt, int mf, int M, int K)
{
    const int kf = K - K % 8;
    for (int j = 0; j < mf; j += 8) {
        const float *src = w + (size_t)j * K;
        int k = 0;
        for (; k < kf; k += 8) {
            __m256 r0 = _mm256_loadu_ps(src + k), r1 = _mm256_loadu_ps(src + K + k);
            __m256 r2 = _mm256_loadu_ps(src + 2 * (size_t)K + k), r3 = _mm256_loadu_ps(src + 3 * (size_t)K + k);
            __m256 r4 = _mm256_loadu_ps(src + 4 * (size_t)K + k), r5 = _mm256_loadu_ps(src + 5 * (size_t)K + k);
            __m256 r6 = _mm256_loadu_ps(src + 6 * (size_t)K + k), r7 = _mm256_loadu_ps(src + 7 * (size_t)K + k);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *dst = wt + (size_t)k * M + j;
            _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(dst + M, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(dst + 2 * (size_t)M, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(dst + 3 * (size_t)M, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(dst + 4 * (size_t)M, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(dst + 5 * (size_t)M, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(dst + 6 * (size_t)M, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(dst + 7 * (size_t)M, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (; k < K; k++)
            for (int r = 0; r < 8; r++)
                wt[(size_t)k * M + j + r] = src[(size_t)r * K + k];
    }
}

void dlx_linear_small_pack(int M, int K, const float *w, float *wt)
{
    transpose_w(w, wt, M - M % 8, M, K);
}

void dlx_linear_small_apply(int N, int M, int K, const float *x, const float *w, const float *wt, const float *b,
                            bool relu, float *y)
{
    const int mf = M - M % 8; /* columns done as vectors */
    for (int i = 0; i < N; i += ROWS) {
        int R = N - i < ROWS ? N - i : ROWS;
        for (int j0 = 0; j0 < mf; j0 += 24) {
            int V = (mf - j0) / 8 < 3 ? (mf - j0) / 8 : 3;
            row_block(R, V, x + (size_t)i * K, K, wt, M, j0, b, y + (size_t)i * M, relu);
        }
    }
    if (mf < M)
        tail_cols(N, M, K, mf, x, w, b, y, relu);
}

void dlx_linear_small_forward(int N, int M, int K, const float *x, const float *w, const float *b,
                              bool relu, float *y, float *wt)
{
    dlx_linear_small_pack(M, K, w, wt);
    dlx_linear_small_apply(N, M, K, x, w, wt, b, relu, y);
}

/* ---- the weight gradient: dw += dz^T x ---- */

bool dlx_linear_small_dw_use(int N, int M, int K)
{
    /* measured against OpenBLAS's sgemm (bench/RESULTS.md): ahead up to
     * about 1e6 multiply-adds while x's rows stay in L1 (N <= 256), behind
     * at 128 x 128 x 100 and at N = 1000 */
    double macs = (double)N * M * K;
    return macs <= 1e6 && N <= 256;
}

/* Rows per register block of the weight gradient: ROWS x 3 accumulators for
 * three vectors of columns; for one (the last K % 24 columns) up to 12 rows,
 * so that at least 8 independent chains hide the multiply-add's latency. */
#define DW_ROWS1 12

/* dw rows [0, R), columns [0, 8V) (the last vector masked when part) +=
 * sum over n of dz[n][r] x[n][.]: R x V accumulators, per n V vectors of x's
 * row and R broadcasts of dz. Every element is one chain over n = 0..N-1 from
 * 0, added to dw at the end, whatever R, V and the caller's column blocks. */
static inline __attribute__((always_inline)) void dw_block(int R, int V, bool part, __m256i mask, const float *dz,
                                                           int ldz, const float *x, int K, int N, float *dw)
{
    __m256 acc[DW_ROWS1][3];
    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)
    {
        _Pragma("GCC unroll 3") for (int v = 0; v < V; v++) acc[r][v] = _mm256_setzero_ps();
    }
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * K;
        __m256 xv[3];
        _Pragma("GCC unroll 3") for (int v = 0; v < V; v++) xv[v] =
            in_register(part && v == V - 1 ? _mm256_maskload_ps(xr + 8 * v, mask) : _mm256_loadu_ps(xr + 8 * v));
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)
        {
            __m256 g = _mm256_broadcast_ss(dz + (size_t)n * ldz + r);
            _Pragma("GCC unroll 3") for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(g, xv[v], acc[r][v]);
        }
    }
    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)
    {
        _Pragma("GCC unroll 3") for (int v = 0; v < V; v++)
        {
            float *p = dw + (size_t)r * K + 8 * v;
            if (part && v == V - 1)
                _mm256_maskstore_ps(p, mask, _mm256_add_ps(_mm256_maskload_ps(p, mask), acc[r][v]));
            else
                _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), acc[r][v]));
        }
    }
}

#define DW_CASE(R_, V_, P_)                                                                                \
    case R_:                                                                                               \
        dw_block(R_, V_, P_, mask, dz, ldz, x, K, N, dw);                                                  \
        break
#define DW_CASES_1_TO_4(V_, P_)                                                                            \
    DW_CASE(4, V_, P_);                                                                                    \
    DW_CASE(3, V_, P_);                                                                                    \
    DW_CASE(2, V_, P_);                                                                                    \
    DW_CASE(1, V_, P_);
#define DW_CASES_5_TO_8(V_, P_)                                                                            \
    DW_CASE(8, V_, P_);                                                                                    \
    DW_CASE(7, V_, P_);                                                                                    \
    DW_CASE(6, V_, P_);                                                                                    \
    DW_CASE(5, V_, P_);
#if ROWS == 8
#define DW_SWITCH(V_, P_)                                                                                  \
    switch (R) {                                                                                           \
        DW_CASES_5_TO_8(V_, P_)                                                                            \
        DW_CASES_1_TO_4(V_, P_)                                                                            \
    }
#else
#define DW_SWITCH(V_, P_)                                                                                  \
    switch (R) {                                                                                           \
        DW_CASES_1_TO_4(V_, P_)                                                                            \
    }
#endif
#define DW_SWITCH1(P_)                                                                                     \
    switch (R) {                                                                                           \
        DW_CASE(12, 1, P_);                                                                                \
        DW_CASE(11, 1, P_);                                                                                \
        DW_CASE(10, 1, P_);                                                                                \
        DW_CASE(9, 1, P_);                                                                                 \
        DW_CASES_5_TO_8(1, P_)                                                                             \
        DW_CASES_1_TO_4(1, P_)                                                                             \
    }

/* the block for (V, R), with or without the masked last vector */
#define DW_BY_WIDTH(P_)                                                                                    \
    if (V == 3)                                                                                            \
        DW_SWITCH(3, P_)                                                                                   \
    else if (V == 2)                                                                                       \
        DW_SWITCH(2, P_)                                                                                   \
    else                                                                                                   \
        DW_SWITCH1(P_)

static void dw_rows(int R, int V, bool part, __m256i mask, const float *dz, int ldz, const float *x, int K, int N,
                    float *dw)
{
    if (part) {
        DW_BY_WIDTH(true)
    } else {
        DW_BY_WIDTH(false)
    }
}

void dlx_linear_small_dw(int N, int M, int K, const float *dz, int ldz, const float *x, float *dw)
{
    for (int k0 = 0; k0 < K; k0 += 24) {
        const int left = K - k0, V = left >= 24 ? 3 : (left + 7) / 8;
        const bool part = left < 24 && left % 8 != 0;
        const __m256i mask = dlx_first8(part ? left % 8 : 8);
        /* M rows in blocks of equal size (25 = 4+4+4+4+3+3+3, not 6 x 4 + 1:
         * a block of one row would wait on its multiply-adds' latency) */
        const int most = V == 1 ? DW_ROWS1 : ROWS, blocks = (M + most - 1) / most;
        for (int b = 0, j0 = 0; b < blocks; b++) {
            const int R = M / blocks + (b < M % blocks);
            dw_rows(R, V, part, mask, dz + j0, ldz, x + k0, K, N, dw + (size_t)j0 * K + k0);
            j0 += R;
        }
    }
}

#else /* no AVX2 + FMA in this build: linear.c and sparse.c call BLAS */

bool dlx_linear_small_dw_use(int N, int M, int K)
{
    (void)N, (void)M, (void)K;
    return false;
}

void dlx_linear_small_dw(int N, int M, int K, const float *dz, int ldz, const float *x, float *dw)
{
    (void)N, (void)M, (void)K, (void)dz, (void)ldz, (void)x, (void)dw;
}


bool dlx_linear_small_use(int N, int M, int K)
{
    (void)N, (void)M, (void)K;
    return false;
}

size_t dlx_linear_small_scratch(int M, int K)
{
    (void)M, (void)K;
    return 0;
}

void dlx_linear_small_pack(int M, int K, const float *w, float *wt)
{
    (void)M, (void)K, (void)w, (void)wt;
}

void dlx_linear_small_apply(int N, int M, int K, const float *x, const float *w, const float *wt, const float *b,
                            bool relu, float *y)
{
    (void)N, (void)M, (void)K, (void)x, (void)w, (void)wt, (void)b, (void)relu, (void)y;
}

void dlx_linear_small_forward(int N, int M, int K, const float *x, const float *w, const float *b,
                              bool relu, float *y, float *wt)
{
    (void)N, (void)M, (void)K, (void)x, (void)w, (void)b, (void)relu, (void)y, (void)wt;
}

#endif
