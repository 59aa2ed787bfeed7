#include "rng.h"

#include <math.h>

/* Philox4x32 with 10 rounds (Salmon et al., SC'11). The 64-bit key is the seed
 * mixed with the stream; the 128-bit counter is (counter, stream). */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void dlx_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void dlx_rng_init(dlx_rng *r, uint64_t seed, uint64_t stream)
{
    r->seed = seed;
    r->stream = stream;
    r->counter = 0;
    r->buf_used = 4;
}

uint32_t dlx_rng_u32(dlx_rng *r)
{
    if (r->buf_used >= 4) {
        dlx_philox(r->seed, r->stream, r->counter++, r->buf);
        r->buf_used = 0;
    }
    return r->buf[r->buf_used++];
}

uint64_t dlx_rng_u64(dlx_rng *r)
{
    uint64_t hi = dlx_rng_u32(r);
    return (hi << 32) | dlx_rng_u32(r);
}

float dlx_rng_uniform(dlx_rng *r) { return (float)(dlx_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

uint32_t dlx_rng_below(dlx_rng *r, uint32_t n)
{
    if (n <= 1)
        return 0;
    uint32_t limit = UINT32_MAX - UINT32_MAX % n; /* reject the biased tail */
    uint32_t x;
    do
        x = dlx_rng_u32(r);
    while (x >= limit);
    return x % n;
}

float dlx_rng_normal(dlx_rng *r)
{
    /* u1 in (0, 1] so log() is finite */
    double u1 = ((double)(dlx_rng_u32(r) >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(dlx_rng_u32(r) >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

float dlx_rng_uniform_at(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint32_t b[4];
    dlx_philox(seed, stream, index >> 2, b);
    return (float)(b[index & 3] >> 8) * (1.0f / 16777216.0f);
}

void dlx_rng_uniform_fill(uint64_t seed, uint64_t stream, uint64_t index, float *u, int64_t n)
{
    uint32_t b[4];
    for (int64_t i = 0; i < n;) {
        uint64_t at = index + (uint64_t)i;
        dlx_philox(seed, stream, at >> 2, b);
        for (int l = (int)(at & 3); l < 4 && i < n; l++, i++)
            u[i] = (float)(b[l] >> 8) * (1.0f / 16777216.0f);
    }
}

void dlx_rng_shuffle(dlx_rng *r, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = dlx_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
