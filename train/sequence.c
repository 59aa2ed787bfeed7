#include "sequence.h"

#include <math.h>
#include <string.h>

#include "../core/rng.h"

int dlx_seq_init(dlx_seq *s, dlx_seq_task task, int64_t T, dlx_err *err)
{
    memset(s, 0, sizeof *s);
    int64_t min = task == DLX_SEQ_COPY ? 1 : 2;
    if (T < min || T > 100000)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s task: T must be between %lld and 100000, got %lld",
                            task == DLX_SEQ_COPY ? "copy" : "adding", (long long)min, (long long)T);
    s->task = task;
    s->T = T;
    s->steps = task == DLX_SEQ_COPY ? T + 2 * DLX_COPY_SYMBOLS : T;
    s->in_dim = task == DLX_SEQ_COPY ? DLX_COPY_CLASSES : 2;
    s->out_dim = 1;
    return 0;
}

/* Sample i's generator: its own counter range of the draw's stream. */
static void sample_rng(dlx_rng *r, uint64_t seed, uint64_t stream, uint64_t draw, int64_t i)
{
    dlx_rng_init(r, seed, stream + (draw << 8));
    r->counter = (uint64_t)i << 20; /* 2^20 blocks (4 M numbers) per sample: ample */
}

static void fill_copy(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t n, float *x, float *y)
{
    const int64_t L = s->steps, C = DLX_COPY_CLASSES;
    memset(x, 0, (size_t)(L * n * C) * sizeof *x);
    for (int64_t i = 0; i < n; i++) {
        dlx_rng r;
        sample_rng(&r, seed, stream, draw, i);
        for (int64_t t = 0; t < L; t++) {
            int sym = 0, target = 0;
            if (t < DLX_COPY_SYMBOLS)
                sym = 1 + (int)dlx_rng_below(&r, DLX_COPY_ALPHABET);
            else if (t == s->T + DLX_COPY_SYMBOLS - 1)
                sym = DLX_COPY_CLASSES - 1; /* the delimiter */
            if (t >= s->T + DLX_COPY_SYMBOLS) { /* recall: the symbol shown 10 + T steps earlier */
                const float *shown = x + ((t - s->T - DLX_COPY_SYMBOLS) * n + i) * C;
                for (int c = 1; c <= DLX_COPY_ALPHABET; c++)
                    if (shown[c] == 1.0f)
                        target = c;
            }
            x[(t * n + i) * C + sym] = 1.0f;
            y[t * n + i] = (float)target;
        }
    }
}

static void fill_adding(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t n, float *x, float *y)
{
    const int64_t T = s->T, half = T / 2;
    for (int64_t i = 0; i < n; i++) {
        dlx_rng r;
        sample_rng(&r, seed, stream, draw, i);
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

void dlx_seq_fill(const dlx_seq *s, uint64_t seed, uint64_t stream, uint64_t draw, int64_t n, float *x, float *y)
{
    if (s->task == DLX_SEQ_COPY)
        fill_copy(s, seed, stream, draw, n, x, y);
    else
        fill_adding(s, seed, stream, draw, n, x, y);
}

double dlx_seq_baseline(const dlx_seq *s)
{
    if (s->task == DLX_SEQ_ADDING)
        return 1.0 / 6.0; /* Var(u1 + u2) = 2/12: E[(u1 + u2 - 1)^2] */
    return DLX_COPY_SYMBOLS * log((double)DLX_COPY_ALPHABET) / (double)s->steps;
}
