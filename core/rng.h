/* Counter-based random numbers (Philox4x32-10).
 *
 * Every number is a pure function of (seed, stream, counter): no hidden state,
 * so results do not depend on thread count or on the order in which jobs run.
 * A dlx_rng is a cursor over one stream; its whole state is (seed, stream,
 * counter) and can be saved to a checkpoint and restored exactly.
 * Streams separate purposes so that adding dropout does not move the init.
 */
#ifndef DLX_RNG_H
#define DLX_RNG_H

#include <stdint.h>

enum {
    DLX_STREAM_INIT = 1,    /* parameter initialisation (+ parameter index) */
    DLX_STREAM_SHUFFLE = 2, /* data order (+ epoch) */
    DLX_STREAM_DROPOUT = 3, /* dropout masks (+ node index) */
    DLX_STREAM_AUGMENT = 4,
    DLX_STREAM_SAMPLE = 5,
    DLX_STREAM_LATENT = 6,  /* dlx sample's latent vectors */
    DLX_STREAM_SUBSAMPLE = 7, /* the pixel locations of data.subsample */
    DLX_STREAM_SPHERE = 8,    /* data.sphere's rotations (+ split << 8) */
    DLX_STREAM_USER = 16, /* first stream free for model families */
};

typedef struct dlx_rng {
    uint64_t seed;
    uint64_t stream;
    uint64_t counter; /* index of the next 128-bit block */
    uint32_t buf[4];
    int buf_used;     /* 4 = buffer empty */
} dlx_rng;

/* The raw block: 4 x 32 random bits for (seed, stream, counter). */
void dlx_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]);

void dlx_rng_init(dlx_rng *r, uint64_t seed, uint64_t stream);
uint32_t dlx_rng_u32(dlx_rng *r);
uint64_t dlx_rng_u64(dlx_rng *r);
/* Uniform in [0, 1), 24 bits of mantissa. */
float dlx_rng_uniform(dlx_rng *r);
/* Uniform integer in [0, n), unbiased. */
uint32_t dlx_rng_below(dlx_rng *r, uint32_t n);
/* Standard normal (Box-Muller; consumes two uniforms). */
float dlx_rng_normal(dlx_rng *r);

/* Uniform in [0, 1) as a pure function of (seed, stream, index): element i of a mask. */
float dlx_rng_uniform_at(uint64_t seed, uint64_t stream, uint64_t index);
/* u[i] = dlx_rng_uniform_at(seed, stream, index + i) for i < n, one Philox
 * block per four elements (uniform_at computes a block for each). */
void dlx_rng_uniform_fill(uint64_t seed, uint64_t stream, uint64_t index, float *u, int64_t n);

/* Fisher-Yates shuffle of idx[0..n) driven by r. */
void dlx_rng_shuffle(dlx_rng *r, uint32_t *idx, uint32_t n);

#endif
