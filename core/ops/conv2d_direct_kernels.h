/* The vector helpers and layout of the direct convolution kernels, shared by
 * conv2d_direct.c (plans, forward) and conv2d_direct_backward.c (private to
 * core/ops; see conv2d_direct.h for the method).
 *
 * Vectors are 16 floats (GCC/Clang vector extension: AVX-512 with
 * -march=native on machines that have it, pairs of AVX2 registers
 * elsewhere). Register blocking follows the register file: AVX-512 has 32
 * registers of 16 floats, AVX2 16 of 8, so a v16 takes two AVX2 registers
 * and a block of 8 accumulators (16 registers) would spill to the stack in
 * every iteration. Builds without AVX-512 (WIDE_REGS 0) use blocks of half as
 * many accumulators. Every output lane is still one chain of multiply-adds in
 * the same order, with the same stores in the same order, so both builds give
 * the same bits.
 */
#ifndef DLX_CONV2D_DIRECT_KERNELS_H
#define DLX_CONV2D_DIRECT_KERNELS_H

#include <string.h>

#include "conv2d_direct.h"

#define FB 4 /* filters per register block */
#if defined(__AVX512F__)
#define WIDE_REGS 1
#else
#define WIDE_REGS 0
#endif

/* v16: 16 floats. With AVX-512 one register (GCC/Clang vector extension).
 * Elsewhere two AVX2 vectors in a struct: GCC lowers a generic 64-byte vector
 * on AVX2 through the stack (every multiply-add loads and stores its
 * accumulator), while a struct of two native vectors stays in registers. The
 * arithmetic per lane is the same either way: vmadd(acc, a, b) = acc + a b,
 * contracted to one fused multiply-add (-ffp-contract=fast). */
#if WIDE_REGS
typedef float v16 __attribute__((vector_size(64)));

static inline v16 vzero(void) { return (v16){0}; }
static inline v16 splat(float s) { return (v16){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }
static inline v16 vadd(v16 a, v16 b) { return a + b; }
static inline v16 vmadd(v16 acc, v16 a, v16 b) { return acc + a * b; }
#else
typedef float v8 __attribute__((vector_size(32)));
typedef struct {
    v8 lo, hi;
} v16;

static inline v16 vzero(void) { return (v16){{0}, {0}}; }
static inline v16 splat(float s)
{
    v8 h = {s, s, s, s, s, s, s, s};
    return (v16){h, h};
}
static inline v16 vadd(v16 a, v16 b) { return (v16){a.lo + b.lo, a.hi + b.hi}; }
static inline v16 vmadd(v16 acc, v16 a, v16 b) { return (v16){acc.lo + a.lo * b.lo, acc.hi + a.hi * b.hi}; }
#endif

#if WIDE_REGS
static inline v16 load16(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }
#else
/* half by half: a memcpy of the whole struct goes through the stack */
static inline v16 load16(const float *p)
{
    v16 v;
    memcpy(&v.lo, p, sizeof v.lo);
    memcpy(&v.hi, p + 8, sizeof v.hi);
    return v;
}

static inline void store16(float *p, v16 v)
{
    memcpy(p, &v.lo, sizeof v.lo);
    memcpy(p + 8, &v.hi, sizeof v.hi);
}
#endif

/* GCC folds repeated loads into the multiply-adds' memory operands, which
 * turns a register-blocked loop back into a load-bound one; an empty asm that
 * claims to modify the values pins them in vector registers. */
#if defined(__GNUC__) && WIDE_REGS
#define PIN16(v) __asm__("" : "+v"(v))
#elif defined(__GNUC__) && defined(__AVX__)
#define PIN16(v) __asm__("" : "+x"((v).lo), "+x"((v).hi))
#else /* a portable build (no AVX): an 8-float vector is not one register */
#define PIN16(v) ((void)0)
#endif
#define KEEP_IN_REGISTERS(a, b, c, e)                                                                      \
    do {                                                                                                   \
        PIN16(a);                                                                                          \
        PIN16(b);                                                                                          \
        PIN16(c);                                                                                          \
        PIN16(e);                                                                                          \
    } while (0)

/* The lane sums of four vectors (out[i] = sum of a_i's lanes), each the same
 * fixed tree: lane j + lane j + 8, then + 4, then + 2, then + 1 (with
 * AVX-512 a transpose-and-add of the four at once: 6 shuffles and 4 adds
 * instead of 60 scalar adds). Reproducible, and the same in both builds. */
#if WIDE_REGS
static inline void hsum4(v16 a0, v16 a1, v16 a2, v16 a3, float out[4])
{
#if defined(__clang__)
#define SHUF2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#define SHUF1(a, ...) __builtin_shufflevector(a, a, __VA_ARGS__)
#else
    typedef int i16m __attribute__((vector_size(64)));
#define SHUF2(a, b, ...) __builtin_shuffle(a, b, (i16m){__VA_ARGS__})
#define SHUF1(a, ...) __builtin_shuffle(a, (i16m){__VA_ARGS__})
#endif
    /* halves: t0 = [a0 partials (8) | a1 partials (8)], t1 likewise for a2, a3 */
    v16 t0 = SHUF2(a0, a1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
             SHUF2(a0, a1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    v16 t1 = SHUF2(a2, a3, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
             SHUF2(a2, a3, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    /* quarters: u = [a0 (4) | a1 (4) | a2 (4) | a3 (4)] */
    v16 u = SHUF2(t0, t1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
            SHUF2(t0, t1, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    u = u + SHUF1(u, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    u = u + SHUF1(u, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
#undef SHUF1
#undef SHUF2
    out[0] = u[0];
    out[1] = u[4];
    out[2] = u[8];
    out[3] = u[12];
}
#else
static inline float hsum1(v16 a)
{
    v8 s = a.lo + a.hi; /* lane j + lane j + 8 */
    float q0 = s[0] + s[4], q1 = s[1] + s[5], q2 = s[2] + s[6], q3 = s[3] + s[7];
    return (q0 + q2) + (q1 + q3);
}
static inline void hsum4(v16 a0, v16 a1, v16 a2, v16 a3, float out[4])
{
    out[0] = hsum1(a0);
    out[1] = hsum1(a1);
    out[2] = hsum1(a2);
    out[3] = hsum1(a3);
}
#endif

/* The filter-vector buffers inside the scratch (see dlx_conv_direct_scratch). */
static inline float *fv_wt(const dlx_conv_direct *d, float *scratch)
{
    return scratch + 2 * d->padded + (size_t)d->F * d->Lv;
}
static inline float *fv_dwt(const dlx_conv_direct *d, float *scratch)
{
    return fv_wt(d, scratch) + (size_t)d->C * d->KH * d->KW * d->F;
}
static inline float *fv_pos(const dlx_conv_direct *d, float *scratch)
{
    return fv_dwt(d, scratch) + (size_t)d->C * d->KH * d->KW * d->F;
}

static inline void pad_image(const dlx_conv_direct *d, const float *x, float *xp)
{
    memset(xp, 0, d->padded * sizeof(float));
    for (int c = 0; c < d->C; c++)
        for (int h = 0; h < d->H; h++)
            memcpy(xp + c * d->plane + (size_t)(h + d->PH) * d->Wp + d->PW, x + ((size_t)c * d->H + h) * d->W,
                   (size_t)d->W * sizeof(float));
}

/* Offsets of every (c, p, q) term in the padded input: c plane + p Wp + q. */
static inline void term_offsets(const dlx_conv_direct *d, int *off)
{
    int t = 0;
    for (int c = 0; c < d->C; c++)
        for (int p = 0; p < d->KH; p++)
            for (int q = 0; q < d->KW; q++)
                off[t++] = c * (int)d->plane + p * d->Wp + q;
}

#define MAX_TERMS 1024 /* C KH KW, checked by dlx_conv_direct_plan */

#endif
