/* The FP32 peak of one core, measured: independent fused multiply-adds on
 * registers (AVX-512 where the compiler targets it, else AVX2/SSE by the
 * vector extension's width), best of 300 short runs (a few ms each, so that one of. bench/run.sh compiles it
 * with -march=native and runs one copy per core. Prints GFLOP/s. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vec __attribute__((vector_size(4 * LANES)));
/* Independent chains in named variables (an array was spilled to the stack):
 * enough to cover the FMA latency on two pipes, and few enough to stay in
 * registers with the two operands: 16 of AVX-512's 32 registers, 12 of
 * AVX2's 16 (16 chains there spilled and measured 118 GFLOP/s for two cores,
 * under the sgemm rate) */
#if LANES == 16
#define CHAINS 16
#define FMA_ALL(x, y)                                                                                      \
    c0 = c0 * x + y, c1 = c1 * x + y, c2 = c2 * x + y, c3 = c3 * x + y, c4 = c4 * x + y, c5 = c5 * x + y,  \
    c6 = c6 * x + y, c7 = c7 * x + y, c8 = c8 * x + y, c9 = c9 * x + y, c10 = c10 * x + y,                 \
    c11 = c11 * x + y, c12 = c12 * x + y, c13 = c13 * x + y, c14 = c14 * x + y, c15 = c15 * x + y
#else
#define CHAINS 12
#define FMA_ALL(x, y)                                                                                      \
    c0 = c0 * x + y, c1 = c1 * x + y, c2 = c2 * x + y, c3 = c3 * x + y, c4 = c4 * x + y, c5 = c5 * x + y,  \
    c6 = c6 * x + y, c7 = c7 * x + y, c8 = c8 * x + y, c9 = c9 * x + y, c10 = c10 * x + y, c11 = c11 * x + y
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    vec a, b;
    for (int l = 0; l < LANES; l++)
        a[l] = 0.999999f, b[l] = 1e-7f;
    vec c0 = a, c1 = a * 2, c2 = a * 3, c3 = a * 4, c4 = a * 5, c5 = a * 6, c6 = a * 7, c7 = a * 8;
    vec c8 = a * 9, c9 = a * 10, c10 = a * 11, c11 = a * 12;
#if CHAINS == 16
    vec c12 = a * 13, c13 = a * 14, c14 = a * 15, c15 = a * 16;
#endif
    const long iters = 100000;
    double best = 0.0;
    for (int trial = 0; trial < 300; trial++) {
        double t = now();
        for (long k = 0; k < iters; k++)
            FMA_ALL(a, b);
        t = now() - t;
        double g = 2.0 * LANES * CHAINS * (double)iters / t / 1e9;
        best = g > best ? g : best;
    }
    vec s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
#if CHAINS == 16
    s += c12 + c13 + c14 + c15;
#endif
    printf("%.0f\n", best + 0.0 * (double)s[0]);
    return 0;
}
