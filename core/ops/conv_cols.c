/* Receptive-field columns of conv2d and conv_transpose2d: conv_cols.h. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "conv_cols.h"

#if defined(__AVX512F__)
#include <immintrin.h>

/* Stride 2 (DCGAN's convolutions), which GCC leaves scalar at these short
 * row lengths: 16 outputs per step from two masked loads and one permute.
 * Masked loads touch no float outside the row; the same copies and the
 * same single additions as the scalar loops, so the same bits. */
static inline __mmask16 first(int k) /* the first k lanes, 0 <= k <= 16 */
{
    return (__mmask16)((1u << k) - 1u);
}

/* dst[j] = src[2 j] for j < n */
static void gather2(float *dst, const float *src, int n)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int k = 0; k < n; k += 16) {
        int m = n - k < 16 ? n - k : 16, r = 2 * m - 1; /* reads src[2 k .. 2 k + r) */
        __m512 a = _mm512_maskz_loadu_ps(first(r < 16 ? r : 16), src + 2 * k);
        __m512 b = _mm512_maskz_loadu_ps(first(r > 16 ? r - 16 : 0), src + 2 * k + 16);
        _mm512_mask_storeu_ps(dst + k, first(m), _mm512_permutex2var_ps(a, even, b));
    }
}

/* d[2 j] += s[j] for j < n */
static void scatter_add2(float *d, const float *s, int n)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
    const __m512i hi = _mm512_setr_epi32(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
    const __m512 zero = _mm512_setzero_ps();
    for (int k = 0; k < n; k += 16) {
        int m = n - k < 16 ? n - k : 16, r = 2 * m - 1; /* writes d[2 k .. 2 k + r), even lanes only */
        __mmask16 ma = first(r < 16 ? r : 16) & 0x5555, mb = first(r > 16 ? r - 16 : 0) & 0x5555;
        __m512 v = _mm512_maskz_loadu_ps(first(m), s + k);
        __m512 a = _mm512_maskz_loadu_ps(ma, d + 2 * k);
        _mm512_mask_storeu_ps(d + 2 * k, ma, _mm512_add_ps(a, _mm512_permutex2var_ps(v, lo, zero)));
        if (mb) {
            __m512 b = _mm512_maskz_loadu_ps(mb, d + 2 * k + 16);
            _mm512_mask_storeu_ps(d + 2 * k + 16, mb, _mm512_add_ps(b, _mm512_permutex2var_ps(v, hi, zero)));
        }
    }
}
#define HAVE_STRIDE2 1
#define HAVE_ROWS2 1
#elif defined(__AVX2__)
#include <immintrin.h>

/* The same two with AVX2: 8 outputs per step, even lanes separated (or
 * spread) by a shuffle and a permute; masked loads and stores touch no
 * float outside the row; the same copies and single additions. */
#include "avx2_lanes.h"

/* dst[j] = src[2 j] for j < n */
static void gather2(float *dst, const float *src, int n)
{
    for (int k = 0; k < n; k += 8) {
        int m = n - k < 8 ? n - k : 8, r = 2 * m - 1; /* reads src[2 k .. 2 k + r) */
        __m256 a = _mm256_maskload_ps(src + 2 * k, dlx_first8(r));
        __m256 b = _mm256_maskload_ps(src + 2 * k + 8, dlx_first8(r - 8));
        _mm256_maskstore_ps(dst + k, dlx_first8(m), dlx_even8(a, b));
    }
}

/* d[2 j] += s[j] for j < n */
static void scatter_add2(float *d, const float *s, int n)
{
    const __m256i even = _mm256_setr_epi32(-1, 0, -1, 0, -1, 0, -1, 0);
    const __m256 zero = _mm256_setzero_ps();
    for (int k = 0; k < n; k += 8) {
        int m = n - k < 8 ? n - k : 8, r = 2 * m - 1; /* writes d[2 k .. 2 k + r), even lanes only */
        __m256i ma = _mm256_and_si256(dlx_first8(r), even), mb = _mm256_and_si256(dlx_first8(r - 8), even);
        __m256 v = _mm256_maskload_ps(s + k, dlx_first8(m));
        __m256 lo = _mm256_unpacklo_ps(v, zero), hi = _mm256_unpackhi_ps(v, zero); /* v0 0 v1 0 | v4 0 v5 0 */
        __m256 va = _mm256_permute2f128_ps(lo, hi, 0x20), vb = _mm256_permute2f128_ps(lo, hi, 0x31);
        _mm256_maskstore_ps(d + 2 * k, ma, _mm256_add_ps(_mm256_maskload_ps(d + 2 * k, ma), va));
        if (m > 4)
            _mm256_maskstore_ps(d + 2 * k + 8, mb, _mm256_add_ps(_mm256_maskload_ps(d + 2 * k + 8, mb), vb));
    }
}
#define HAVE_STRIDE2 1
#define HAVE_ROWS2 1
#define ROWS2_AVX2 1
#else
#define HAVE_STRIDE2 0
#define HAVE_ROWS2 0
#endif

/* The columns j of kernel column q that read inside the image,
 * 0 <= j SW - PW + q < W: [*lo, *hi), empty when *lo == *hi. */
static void cols_in(const dlx_conv_cols *g, int q, int *lo, int *hi)
{
    int jlo = g->PW - q > 0 ? (g->PW - q + g->SW - 1) / g->SW : 0;
    int jhi = g->W + g->PW - q > 0 ? (g->W + g->PW - q + g->SW - 1) / g->SW : 0;
    if (jhi > g->OW)
        jhi = g->OW;
    if (jlo > jhi)
        jlo = jhi;
    *lo = jlo;
    *hi = jhi;
}

#if HAVE_ROWS2 && !defined(ROWS2_AVX2)
/* im2col for stride 2 and image rows of at most 32 floats, the loops as c,
 * p, i, q: each image row is loaded once into two vectors and each kernel
 * column's 16 values picked from them by one permute (lanes outside the
 * image zeroed); the same values as the loops below. */
static bool im2col_rows2(const dlx_conv_cols *g, const float *img, float *col, size_t ld)
{
    if (g->SW != 2 || g->W > 32 || g->OW > 16 || g->KW > 8)
        return false;
    __m512i ix[8];
    __mmask16 mq[8];
    for (int q = 0; q < g->KW; q++) {
        int jlo, jhi, lane[16];
        cols_in(g, q, &jlo, &jhi);
        for (int j = 0; j < 16; j++) {
            int w = 2 * j + q - g->PW;
            lane[j] = w < 0 ? 0 : w > 31 ? 31 : w;
        }
        ix[q] = _mm512_loadu_si512(lane);
        mq[q] = (__mmask16)(first(jhi) & ~first(jlo));
    }
    const __mmask16 wa = first(g->W < 16 ? g->W : 16), wb = first(g->W > 16 ? g->W - 16 : 0), so = first(g->OW);
    for (int c = 0; c < g->C; c++)
        for (int p = 0; p < g->KH; p++)
            for (int i = 0; i < g->OH; i++) {
                int ih = i * g->SH - g->PH + p;
                float *dst = col + (size_t)(c * g->KH + p) * g->KW * ld + (size_t)i * g->OW;
                if (ih < 0 || ih >= g->H) {
                    for (int q = 0; q < g->KW; q++, dst += ld)
                        _mm512_mask_storeu_ps(dst, so, _mm512_setzero_ps());
                    continue;
                }
                const float *src = img + ((size_t)c * g->H + ih) * g->W;
                __m512 a = _mm512_maskz_loadu_ps(wa, src), b = _mm512_maskz_loadu_ps(wb, src + 16);
                for (int q = 0; q < g->KW; q++, dst += ld)
                    _mm512_mask_storeu_ps(dst, so, _mm512_maskz_permutex2var_ps(mq[q], a, ix[q], b));
            }
    return true;
}

/* col2im for stride 2 and image rows of at most 32 floats (DCGAN's), with
 * the loops as c, p, i, q: each image row is loaded once into two vectors,
 * every kernel column's contribution is added there (a permute spreads the
 * column's 16 values to even or odd lanes), and the row is stored once. The
 * scatter above reloads a row after its masked store for every q, which
 * stalls store forwarding. A cell receives its terms in the same (p, q)
 * order, one addition each: the same bits. */
static bool col2im_rows2(const dlx_conv_cols *g, const float *col, size_t ld, float *img)
{
    if (g->SW != 2 || g->W > 32 || g->OW > 16 || g->KW > 8)
        return false;
    __m512i ia[8], ib[8];
    __mmask16 ma[8], mb[8];
    for (int q = 0; q < g->KW; q++) {
        int jlo, jhi, lane[32];
        cols_in(g, q, &jlo, &jhi);
        const int off = q - g->PW;
        uint32_t m = 0;
        for (int j = jlo; j < jhi; j++)
            m |= 1u << (2 * j + off); /* 0 <= 2 j + off < W <= 32 */
        for (int w = 0; w < 32; w++) {
            int j = (w - off) >> 1;
            lane[w] = j < 0 ? 0 : j > 15 ? 15 : j;
        }
        ia[q] = _mm512_loadu_si512(lane);
        ib[q] = _mm512_loadu_si512(lane + 16);
        ma[q] = (__mmask16)(m & 0xFFFFu);
        mb[q] = (__mmask16)(m >> 16);
    }
    const __mmask16 wa = first(g->W < 16 ? g->W : 16), wb = first(g->W > 16 ? g->W - 16 : 0), so = first(g->OW);
    for (int c = 0; c < g->C; c++)
        for (int p = 0; p < g->KH; p++)
            for (int i = 0; i < g->OH; i++) {
                int ih = i * g->SH - g->PH + p;
                if (ih < 0 || ih >= g->H)
                    continue;
                float *d = img + ((size_t)c * g->H + ih) * g->W;
                const float *s = col + (size_t)(c * g->KH + p) * g->KW * ld + (size_t)i * g->OW;
                __m512 a = _mm512_maskz_loadu_ps(wa, d), b = _mm512_maskz_loadu_ps(wb, d + 16);
                for (int q = 0; q < g->KW; q++, s += ld) {
                    __m512 v = _mm512_maskz_loadu_ps(so, s);
                    a = _mm512_mask_add_ps(a, ma[q], a, _mm512_permutexvar_ps(ia[q], v));
                    b = _mm512_mask_add_ps(b, mb[q], b, _mm512_permutexvar_ps(ib[q], v));
                }
                _mm512_mask_storeu_ps(d, wa, a);
                _mm512_mask_storeu_ps(d + 16, wb, b);
            }
    return true;
}
#elif HAVE_ROWS2
/* The same two row-at-a-time loops with AVX2, for stride 2, image rows of
 * 8, 16, 24 or 32 floats and 4, 8, 12 or 16 kernel positions a row
 * (DCGAN's): masked loads and stores, which the per-segment loops above
 * need, cost as much as the copy itself on AMD's cores. A row is split
 * into its even and odd cells, E[m] = row[2 m] and O[m] = row[2 m + 1]
 * (16 lanes each, two vectors), and kernel column q (offset off = q - PW =
 * 2 s + r) reads (r ? O : E)[j + s]: a shift of s lanes across the two
 * vectors (a permute and blends), the lanes outside the image then zeroed
 * (im2col) or left alone (col2im's masked addition). Every choice is a
 * blend under a mask made once per call (no branch per kernel column), and
 * the common row and grid widths are compile-time constants. The same
 * copies and the same single additions in the same order as the scalar
 * loops: the same bits. */

/* What a kernel column needs: its half, its shift and their masks. */
typedef struct rows2_col {
    __m256 odd;        /* all lanes set: the odd cells (O), else E */
    __m256i rot;       /* lane l takes lane (l + sh) & 7 */
    __m256 from_next;  /* lanes of the first vector taken from the second (sh > 0) */
    __m256 from_prev;  /* lanes of the second vector taken from the first (sh < 0) */
    __m256 in[2];      /* lanes m of the 16 (after the shift) that are inside the image */
} rows2_col;

static inline __m256 mask8(const int *m)
{
    return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)m));
}

/* Kernel column q's shift of sh lanes (|sh| < 8) and masks: the lanes [lo,
 * hi) after the shift are inside the image. */
static rows2_col rows2_col_of(int odd, int sh, int lo, int hi)
{
    rows2_col k;
    int rot[8], next[8], prev[8], in[16], all[8];
    for (int l = 0; l < 8; l++) {
        rot[l] = (l + sh) & 7;
        next[l] = -(sh > 0 && l >= 8 - sh);
        prev[l] = -(sh < 0 && l < -sh);
        all[l] = -odd;
    }
    for (int m = 0; m < 16; m++)
        in[m] = -(m >= lo && m < hi);
    k.odd = mask8(all);
    k.rot = _mm256_loadu_si256((const __m256i *)rot);
    k.from_next = mask8(next);
    k.from_prev = mask8(prev);
    k.in[0] = mask8(in);
    k.in[1] = mask8(in + 8);
    return k;
}

/* y[l] = x[l + sh] over the 16 lanes of (x0, x1); lanes whose source lies
 * outside the 16 hold anything (the callers mask them) */
static inline void shift16(const rows2_col *k, __m256 x0, __m256 x1, __m256 *y0, __m256 *y1)
{
    __m256 r0 = _mm256_permutevar8x32_ps(x0, k->rot), r1 = _mm256_permutevar8x32_ps(x1, k->rot);
    *y0 = _mm256_blendv_ps(r0, r1, k->from_next);
    *y1 = _mm256_blendv_ps(r1, r0, k->from_prev);
}

/* Whether the AVX2 row loops take g; the columns' shifts and masks into k
 * (im2col reads lane j + s: shift s, valid j; col2im adds lane j to lane
 * j + s: shift -s, valid j + s). */
static bool rows2_plan(const dlx_conv_cols *g, bool adjoint, rows2_col *k)
{
    if (g->SW != 2 || g->W % 8 != 0 || g->W > 32 || g->OW % 4 != 0 || g->OW > 16 || g->KW > 8)
        return false;
    for (int q = 0; q < g->KW; q++) {
        int off = q - g->PW, r = off & 1, s = (off - r) / 2, lo, hi;
        if (s <= -8 || s >= 8)
            return false;
        cols_in(g, q, &lo, &hi);
        k[q] = adjoint ? rows2_col_of(r, -s, lo + s, hi + s) : rows2_col_of(r, s, lo, hi);
    }
    return true;
}

/* The W floats of an image row in four vectors, zero past W. */
static inline __attribute__((always_inline)) void load_row(const float *src, int W, __m256 a[4])
{
    const __m256 zero = _mm256_setzero_ps();
    for (int v = 0; v < 4; v++)
        a[v] = 8 * v < W ? _mm256_loadu_ps(src + 8 * v) : zero;
}

/* n floats (4, 8, 12 or 16) of the 16 in (y0, y1) to dst */
static inline __attribute__((always_inline)) void store_n(float *dst, int n, __m256 y0, __m256 y1)
{
    if (n == 4) {
        _mm_storeu_ps(dst, _mm256_castps256_ps128(y0));
        return;
    }
    _mm256_storeu_ps(dst, y0);
    if (n == 16)
        _mm256_storeu_ps(dst + 8, y1);
    else if (n == 12)
        _mm_storeu_ps(dst + 8, _mm256_castps256_ps128(y1));
}

/* n floats (4, 8, 12 or 16) from src into (y0, y1), the rest 0 */
static inline __attribute__((always_inline)) void load_n(const float *src, int n, __m256 *y0, __m256 *y1)
{
    const __m256 zero = _mm256_setzero_ps();
    *y0 = n == 4 ? _mm256_insertf128_ps(zero, _mm_loadu_ps(src), 0) : _mm256_loadu_ps(src);
    *y1 = n == 16 ? _mm256_loadu_ps(src + 8) : n == 12 ? _mm256_insertf128_ps(zero, _mm_loadu_ps(src + 8), 0) : zero;
}

/* fn(..., W, OW) with DCGAN's widths (rows of 32, 16, 8 over 16, 8, 4
 * positions) as constants, others at run time */
#define BY_WIDTH(fn, g, ...)                                                                               \
    do {                                                                                                   \
        if ((g)->W == 32 && (g)->OW == 16)                                                                 \
            fn(g, __VA_ARGS__, 32, 16);                                                                    \
        else if ((g)->W == 16 && (g)->OW == 8)                                                             \
            fn(g, __VA_ARGS__, 16, 8);                                                                     \
        else if ((g)->W == 8 && (g)->OW == 4)                                                              \
            fn(g, __VA_ARGS__, 8, 4);                                                                      \
        else                                                                                               \
            fn(g, __VA_ARGS__, (g)->W, (g)->OW);                                                           \
    } while (0)

/* im2col's loops for row width W and grid width OW (constants at the calls
 * below, so that a row of 16 never touches the third and fourth vectors) */
static inline __attribute__((always_inline)) void im2col_w(const dlx_conv_cols *g, const rows2_col *k,
                                                           const float *img, float *col, size_t ld, int W, int OW)
{
    const __m256 zero = _mm256_setzero_ps();
    for (int c = 0; c < g->C; c++)
        for (int p = 0; p < g->KH; p++)
            for (int i = 0; i < g->OH; i++) {
                int ih = i * g->SH - g->PH + p;
                float *dst = col + (size_t)(c * g->KH + p) * g->KW * ld + (size_t)i * OW;
                if (ih < 0 || ih >= g->H) {
                    for (int q = 0; q < g->KW; q++, dst += ld)
                        store_n(dst, OW, zero, zero);
                    continue;
                }
                __m256 a[4];
                load_row(img + ((size_t)c * g->H + ih) * W, W, a);
                const __m256 e0 = dlx_even8(a[0], a[1]), o0 = dlx_odd8(a[0], a[1]);
                const __m256 e1 = W > 16 ? dlx_even8(a[2], a[3]) : zero, o1 = W > 16 ? dlx_odd8(a[2], a[3]) : zero;
                for (int q = 0; q < g->KW; q++, dst += ld) {
                    __m256 y0, y1;
                    shift16(&k[q], _mm256_blendv_ps(e0, o0, k[q].odd), _mm256_blendv_ps(e1, o1, k[q].odd), &y0, &y1);
                    store_n(dst, OW, _mm256_and_ps(y0, k[q].in[0]), _mm256_and_ps(y1, k[q].in[1]));
                }
            }
}

static bool im2col_rows2(const dlx_conv_cols *g, const float *img, float *col, size_t ld)
{
    rows2_col k[8];
    if (!rows2_plan(g, false, k))
        return false;
    BY_WIDTH(im2col_w, g, k, img, col, ld);
    return true;
}

/* col2im's loops for row width W and grid width OW (constants, as above):
 * the row's E and O vectors take each column's masked addition, then go
 * back to cell order, row[2 m] = E[m], row[2 m + 1] = O[m] */
static inline __attribute__((always_inline)) void col2im_w(const dlx_conv_cols *g, const rows2_col *k,
                                                           const float *col, size_t ld, float *img, int W, int OW)
{
    const __m256 zero = _mm256_setzero_ps();
    for (int c = 0; c < g->C; c++)
        for (int p = 0; p < g->KH; p++)
            for (int i = 0; i < g->OH; i++) {
                int ih = i * g->SH - g->PH + p;
                if (ih < 0 || ih >= g->H)
                    continue;
                float *d = img + ((size_t)c * g->H + ih) * W;
                const float *s = col + (size_t)(c * g->KH + p) * g->KW * ld + (size_t)i * OW;
                __m256 a[4];
                load_row(d, W, a);
                __m256 e0 = dlx_even8(a[0], a[1]), o0 = dlx_odd8(a[0], a[1]);
                __m256 e1 = W > 16 ? dlx_even8(a[2], a[3]) : zero, o1 = W > 16 ? dlx_odd8(a[2], a[3]) : zero;
                for (int q = 0; q < g->KW; q++, s += ld) {
                    __m256 v0, v1, y0, y1;
                    load_n(s, OW, &v0, &v1);
                    shift16(&k[q], v0, v1, &y0, &y1);
                    const __m256 ine0 = _mm256_andnot_ps(k[q].odd, k[q].in[0]), ino0 = _mm256_and_ps(k[q].odd, k[q].in[0]);
                    e0 = _mm256_blendv_ps(e0, _mm256_add_ps(e0, y0), ine0);
                    o0 = _mm256_blendv_ps(o0, _mm256_add_ps(o0, y0), ino0);
                    if (W > 16) {
                        const __m256 ine1 = _mm256_andnot_ps(k[q].odd, k[q].in[1]);
                        const __m256 ino1 = _mm256_and_ps(k[q].odd, k[q].in[1]);
                        e1 = _mm256_blendv_ps(e1, _mm256_add_ps(e1, y1), ine1);
                        o1 = _mm256_blendv_ps(o1, _mm256_add_ps(o1, y1), ino1);
                    }
                }
                __m256 lo = _mm256_unpacklo_ps(e0, o0), hi = _mm256_unpackhi_ps(e0, o0);
                _mm256_storeu_ps(d, _mm256_permute2f128_ps(lo, hi, 0x20));
                if (W > 8)
                    _mm256_storeu_ps(d + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
                if (W > 16) {
                    lo = _mm256_unpacklo_ps(e1, o1);
                    hi = _mm256_unpackhi_ps(e1, o1);
                    _mm256_storeu_ps(d + 16, _mm256_permute2f128_ps(lo, hi, 0x20));
                    if (W > 24)
                        _mm256_storeu_ps(d + 24, _mm256_permute2f128_ps(lo, hi, 0x31));
                }
            }
}

static bool col2im_rows2(const dlx_conv_cols *g, const float *col, size_t ld, float *img)
{
    rows2_col k[8];
    if (!rows2_plan(g, true, k))
        return false;
    BY_WIDTH(col2im_w, g, k, col, ld, img);
    return true;
}
#endif

void dlx_conv_im2col(const dlx_conv_cols *g, const float *img, float *col, size_t ld)
{
#if HAVE_ROWS2
    if (im2col_rows2(g, img, col, ld))
        return;
#endif
    for (int c = 0; c < g->C; c++)
        for (int p = 0; p < g->KH; p++)
            for (int q = 0; q < g->KW; q++) {
                float *dst = col + ((size_t)(c * g->KH + p) * g->KW + q) * ld;
                int jlo, jhi;
                cols_in(g, q, &jlo, &jhi);
                const int off = q - g->PW;
                for (int i = 0; i < g->OH; i++, dst += g->OW) {
                    int ih = i * g->SH - g->PH + p;
                    if (ih < 0 || ih >= g->H) {
                        memset(dst, 0, (size_t)g->OW * sizeof(float));
                        continue;
                    }
                    const float *src = img + ((size_t)c * g->H + ih) * g->W;
                    for (int j = 0; j < jlo; j++)
                        dst[j] = 0.0f;
                    if (g->SW == 1) /* short rows: an inline loop beats a memcpy call */
                        for (int j = jlo; j < jhi; j++)
                            dst[j] = src[j + off];
#if HAVE_STRIDE2
                    else if (g->SW == 2)
                        gather2(dst + jlo, src + 2 * jlo + off, jhi - jlo);
#endif
                    else
                        for (int j = jlo; j < jhi; j++)
                            dst[j] = src[j * g->SW + off];
                    for (int j = jhi; j < g->OW; j++)
                        dst[j] = 0.0f;
                }
            }
}

void dlx_conv_col2im(const dlx_conv_cols *g, const float *col, size_t ld, float *img)
{
#if HAVE_ROWS2
    if (col2im_rows2(g, col, ld, img))
        return;
#endif
    for (int c = 0; c < g->C; c++)
        for (int p = 0; p < g->KH; p++)
            for (int q = 0; q < g->KW; q++) {
                const float *s = col + ((size_t)(c * g->KH + p) * g->KW + q) * ld;
                int jlo, jhi;
                cols_in(g, q, &jlo, &jhi);
                const int off = q - g->PW;
                for (int i = 0; i < g->OH; i++, s += g->OW) {
                    int ih = i * g->SH - g->PH + p;
                    if (ih < 0 || ih >= g->H)
                        continue;
                    float *d = img + ((size_t)c * g->H + ih) * g->W;
                    if (g->SW == 1)
                        for (int j = jlo; j < jhi; j++)
                            d[j + off] += s[j];
#if HAVE_STRIDE2
                    else if (g->SW == 2)
                        scatter_add2(d + 2 * jlo + off, s + jlo, jhi - jlo);
#endif
                    else
                        for (int j = jlo; j < jhi; j++)
                            d[j * g->SW + off] += s[j];
                }
            }
}

float dlx_conv_sum16(const float *x, size_t n)
{
    float acc[16] = {0};
    size_t k = 0;
    for (; k + 16 <= n; k += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += x[k + l];
    for (; k < n; k++)
        acc[0] += x[k];
    for (int l = 8; l > 0; l /= 2)
        for (int i = 0; i < l; i++)
            acc[i] += acc[i + l];
    return acc[0];
}

void dlx_conv_bias_act(float *y, const float *src, size_t n, float b, dlx_act act, float alpha)
{
    if (act == DLX_ACT_RELU) { /* fused: the common case */
        for (size_t k = 0; k < n; k++) {
            float v = src[k] + b;
            y[k] = v > 0.0f ? v : 0.0f;
        }
        return;
    }
    if (b != 0.0f)
        for (size_t k = 0; k < n; k++)
            y[k] = src[k] + b;
    else if (y != src)
        memcpy(y, src, n * sizeof(float));
    dlx_act_forward(act, alpha, y, (int64_t)n);
}

void dlx_conv_act_backward(float *dz, const float *dy, const float *y, size_t n, dlx_act act, float alpha)
{
    if (act == DLX_ACT_RELU) { /* fused copy and mask */
        for (size_t k = 0; k < n; k++)
            dz[k] = y[k] > 0.0f ? dy[k] : 0.0f;
        return;
    }
    memcpy(dz, dy, n * sizeof(float));
    dlx_act_backward(act, alpha, y, dz, (int64_t)n);
}
