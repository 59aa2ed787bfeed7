#include "sequence.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "../core/rng.h"

int dlx_seq_init(dlx_seq *s, dlx_seq_task task, int64_t T, dlx_err *err)
{
    memset(s, 0, sizeof *s);
    const bool copy = task != DLX_SEQ_ADDING;
    int64_t min = copy ? 1 : 2;
    if (T < min || T > 100000)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s task: T must be between %lld and 100000, got %lld",
                            copy ? "copy" : "adding", (long long)min, (long long)T);
    s->task = task;
    s->T = T;
    s->steps = copy ? T + 2 * DLX_COPY_SYMBOLS : T;
    s->in_dim = copy ? DLX_COPY_CLASSES : 2;
    s->out_dim = 1;
    return 0;
}

/* Sample i's generator: its own counter range of the draw's stream. */
static void sample_rng(dlx_rng *r, uint64_t seed, uint64_t stream, uint64_t draw, int64_t i)
{
    dlx_rng_init(r, seed, stream + (draw << 8));
    r->counter = (uint64_t)i << 20; /* 2^20 blocks (4 M numbers) per sample: ample */
}

static void fill_copy(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t first, int64_t n,
                      float *x, float *y)
{
    const int64_t L = s->steps, C = DLX_COPY_CLASSES, K = DLX_COPY_SYMBOLS;
    memset(x, 0, (size_t)(L * n * C) * sizeof *x);
    for (int64_t i = 0; i < n; i++) {
        dlx_rng r;
        sample_rng(&r, seed, stream, draw, first + i);
        /* the delay: T, or drawn per sequence (before the symbols) */
        const int64_t D = s->task == DLX_SEQ_COPY_VARIABLE ? 1 + (int64_t)dlx_rng_below(&r, (uint32_t)s->T) : s->T;
        for (int64_t t = 0; t < L; t++) {
            int sym = 0, target = 0;
            if (t < K)
                sym = 1 + (int)dlx_rng_below(&r, DLX_COPY_ALPHABET);
            else if (t == D + K - 1)
                sym = DLX_COPY_CLASSES - 1; /* the delimiter */
            if (t >= D + K && t < D + 2 * K) { /* recall: the symbol shown 10 + D steps earlier */
                const float *shown = x + ((t - D - K) * n + i) * C;
                for (int c = 1; c <= DLX_COPY_ALPHABET; c++)
                    if (shown[c] == 1.0f)
                        target = c;
            }
            x[(t * n + i) * C + sym] = 1.0f;
            y[t * n + i] = (float)target;
        }
    }
}

static void fill_adding(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t first, int64_t n,
                        float *x, float *y)
{
    const int64_t T = s->T, half = T / 2;
    for (int64_t i = 0; i < n; i++) {
        dlx_rng r;
        sample_rng(&r, seed, stream, draw, first + i);
        int64_t a = (int64_t)dlx_rng_below(&r, (uint32_t)half);
        int64_t b = half + (int64_t)dlx_rng_below(&r, (uint32_t)(T - half));
        double sum = 0.0;
        for (int64_t t = 0; t < T; t++) {
            float u = dlx_rng_uniform(&r);
            float *xt = x + (t * n + i) * 2;
            xt[0] = u;
            xt[1] = t == a || t == b ? 1.0f : 0.0f;
            if (t == a || t == b)
                sum += u;
        }
        y[i] = (float)sum;
    }
}

void dlx_seq_fill_range(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t first, int64_t n,
                        float *x, float *y)
{
    if (s->task == DLX_SEQ_ADDING)
        fill_adding(s, seed, stream, draw, first, n, x, y);
    else
        fill_copy(s, seed, stream, draw, first, n, x, y);
}

void dlx_seq_fill(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t n, float *x, float *y)
{
    dlx_seq_fill_range(s, seed, stream, draw, 0, n, x, y);
}

double dlx_seq_baseline(const dlx_seq *s)
{
    if (s->task == DLX_SEQ_ADDING)
        return 1.0 / 6.0; /* Var(u1 + u2) = 2/12: E[(u1 + u2 - 1)^2] */
    return DLX_COPY_SYMBOLS * log((double)DLX_COPY_ALPHABET) / (double)s->steps;
}
