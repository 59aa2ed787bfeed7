/* The convolutions' per-image products: conv_gemm.h. AVX2 + FMA; without
 * them dlx_cg_use is false and the ops call BLAS. */
#include "conv_gemm.h"
#include "linear_small.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define CG_ROWS 6 /* 6 x 2 accumulators, 2 vectors of B and a broadcast: 15 of AVX2's 16 registers */

bool dlx_cg_use(int cols, int T)
{
    /* no blocking of the inner sum: B's rows of one tile (T x 16 floats)
     * stay in L1, A's block of rows in L2 */
    return cols >= 8 && cols % 8 == 0 && cols <= 4096 && T >= 1 && T <= 2048;
}

/* v, held in a register: GCC would otherwise fold it into each multiply-add
 * that uses it as a memory operand (linear_small.c) */
static inline __m256 in_register(__m256 v)
{
    __asm__("" : "+v"(v));
    return v;
}

/* C rows [r0, r0 + R), columns [j0, j0 + 8 V): R x V accumulators, every one
 * a chain over t from 0; R and V constants at every call. */
static inline __attribute__((always_inline)) void tile(int R, int V, const dlx_cg *g, int r0, int j0)
{
    __m256 acc[CG_ROWS][2];
    _Pragma("GCC unroll 6") for (int r = 0; r < R; r++)
    {
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) acc[r][v] = _mm256_setzero_ps();
    }
    const ptrdiff_t sar = g->sar, sat = g->sat, ldb = g->ldb;
    const float *ap = g->a + (ptrdiff_t)r0 * sar, *bp = g->b + j0;
    for (int t = 0; t < g->T; t++, ap += sat, bp += ldb) {
        __m256 bv[2];
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) bv[v] = in_register(_mm256_loadu_ps(bp + 8 * v));
        _Pragma("GCC unroll 6") for (int r = 0; r < R; r++)
        {
            const __m256 av = _mm256_broadcast_ss(ap + r * sar);
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    _Pragma("GCC unroll 6") for (int r = 0; r < R; r++)
    {
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)
        {
            if (g->store >= DLX_CG_STORE_T) { /* C[j][r] (+)= : one addition each, after the chain */
                float lane[8];
                _mm256_storeu_ps(lane, acc[r][v]);
                float *cp = g->c + (ptrdiff_t)(j0 + 8 * v) * g->ldc + r0 + r;
                if (g->store == DLX_CG_ADD_T)
                    for (int l = 0; l < 8; l++)
                        cp[l * g->ldc] += lane[l];
                else
                    for (int l = 0; l < 8; l++)
                        cp[l * g->ldc] = lane[l];
                continue;
            }
            float *cp = g->c + (ptrdiff_t)(r0 + r) * g->ldc + j0 + 8 * v;
            _mm256_storeu_ps(cp, g->store == DLX_CG_ADD ? _mm256_add_ps(_mm256_loadu_ps(cp), acc[r][v]) : acc[r][v]);
        }
    }
}

#define CG_CASE(R_, V_)                                                                                    \
    case R_:                                                                                               \
        tile(R_, V_, g, r0, j0);                                                                           \
        break
#define CG_SWITCH(V_)                                                                                      \
    switch (R) {                                                                                           \
        CG_CASE(6, V_);                                                                                    \
        CG_CASE(5, V_);                                                                                    \
        CG_CASE(4, V_);                                                                                    \
        CG_CASE(3, V_);                                                                                    \
        CG_CASE(2, V_);                                                                                    \
        CG_CASE(1, V_);                                                                                    \
    }

static void tile_rv(int R, int V, const dlx_cg *g, int r0, int j0)
{
    if (V == 2)
        CG_SWITCH(2)
    else
        CG_SWITCH(1)
}

void dlx_cg_run(const dlx_cg *g)
{
    /* rows in blocks of equal size (64 = 9 x 6 + 2 x 5: no block of one or
     * two rows waiting on its multiply-adds' latency) */
    const int blocks = (g->rows + CG_ROWS - 1) / CG_ROWS;
    /* the larger operand is read once: A's block of rows over every column
     * tile, or B's tile of columns over every block of rows */
    const bool rows_outer = (double)g->rows >= (double)g->cols;
    if (rows_outer) {
        for (int b = 0, r0 = 0; b < blocks; b++) {
            const int R = g->rows / blocks + (b < g->rows % blocks);
            for (int j0 = 0; j0 < g->cols; j0 += 16)
                tile_rv(R, g->cols - j0 >= 16 ? 2 : 1, g, r0, j0);
            r0 += R;
        }
    } else {
        for (int j0 = 0; j0 < g->cols; j0 += 16)
            for (int b = 0, r0 = 0; b < blocks; b++) {
                const int R = g->rows / blocks + (b < g->rows % blocks);
                tile_rv(R, g->cols - j0 >= 16 ? 2 : 1, g, r0, j0);
                r0 += R;
            }
    }
}

#endif

void dlx_cg_transpose(int rows, int cols, const float *src, float *dst)
{
#if defined(__AVX2__) && defined(__FMA__)
    if (rows % 8 == 0) { /* 8 x 8 blocks in registers (linear_small.c's packing is this transpose) */
        dlx_linear_small_pack(rows, cols, src, dst);
        return;
    }
#endif
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
            dst[(size_t)j * rows + r] = src[(size_t)r * cols + j];
}

void dlx_cg_add_transposed(int rows, int cols, const float *src, float *dst)
{
    for (int j = 0; j < cols; j++)
        for (int r = 0; r < rows; r++)
            dst[(size_t)j * rows + r] += src[(size_t)r * cols + j];
}

#if !(defined(__AVX2__) && defined(__FMA__)) /* no AVX2 + FMA in this build: the ops call BLAS */

bool dlx_cg_use(int cols, int T)
{
    (void)cols, (void)T;
    return false;
}

void dlx_cg_run(const dlx_cg *g)
{
    (void)g;
}

#endif
