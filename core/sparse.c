/* Batched ISTA, FISTA and coordinate descent; see sparse.h. */
#include "sparse.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ops/linear_small.h"

/* sign(v) max(|v| - t, 0) without branches (the signs of codes are random,
 * so a branchy version mispredicts about half the time): max(v - t, 0) +
 * min(v + t, 0) gives v - t, v + t or +0 exactly as the branchy form does. */
static inline float soft(float v, float t)
{
    float a = v - t, b = v + t;
    return (a > 0.0f ? a : 0.0f) + (b < 0.0f ? b : 0.0f);
}

void dlx_sparse_shrink(float *y, const float *theta, int64_t N, int m)
{
    for (int64_t i = 0; i < N; i++) {
        float *r = y + i * m;
        for (int j = 0; j < m; j++)
            r[j] = soft(r[j], theta[j]);
    }
}

/* Largest eigenvalue of the symmetric m x m matrix G: power iteration in
 * double, in v, w (m doubles each, the dictionary's own buffers). */
static double max_eig(const float *G, int m, double *v, double *w)
{
    double lam = 0.0;
    for (int j = 0; j < m; j++)
        v[j] = 1.0 + 0.01 * (double)(j % 7); /* not orthogonal to the top eigenvector in practice */
    for (int it = 0; it < 500; it++) {
        double nrm = 0.0;
        for (int i = 0; i < m; i++) {
            double s = 0.0;
            for (int j = 0; j < m; j++)
                s += (double)G[(size_t)i * m + j] * v[j];
            w[i] = s;
            nrm += s * s;
        }
        nrm = sqrt(nrm);
        if (nrm == 0.0)
            break;
        double prev = lam;
        lam = nrm; /* ||G v|| with ||v|| = 1 after the first pass */
        for (int i = 0; i < m; i++)
            v[i] = w[i] / nrm;
        if (it > 10 && fabs(lam - prev) <= 1e-10 * lam)
            break;
    }
    return lam;
}

void dlx_sparse_free(dlx_sparse *s)
{
    if (!s)
        return;
    free(s->Wd);
    free(s->G);
    free(s->We);
    free(s->S);
    free(s->theta);
    free(s->eig);
    free(s->ws);
    memset(s, 0, sizeof *s);
}

int dlx_sparse_init(dlx_sparse *s, const float *Wd, int n, int m, float alpha, dlx_err *err)
{
    memset(s, 0, sizeof *s);
    if (n <= 0 || m <= 0 || !(alpha >= 0.0f))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "sparse coding: need n > 0, m > 0 and alpha >= 0, got %d, %d, %g",
                            n, m, (double)alpha);
    s->n = n;
    s->m = m;
    s->alpha = alpha;
    size_t nm = (size_t)n * m, mm = (size_t)m * m;
    s->Wd = malloc(nm * sizeof(float));
    s->G = malloc(mm * sizeof(float));
    s->We = malloc(nm * sizeof(float));
    s->S = malloc(mm * sizeof(float));
    s->theta = malloc((size_t)m * sizeof(float));
    s->eig = malloc(2 * (size_t)m * sizeof(double));
    if (!s->Wd || !s->G || !s->We || !s->S || !s->theta || !s->eig) {
        dlx_sparse_free(s);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for a %dx%d dictionary", n, m);
    }
    int rc = dlx_sparse_set_dictionary(s, Wd, err);
    if (rc)
        dlx_sparse_free(s);
    return rc;
}

int dlx_sparse_set_dictionary(dlx_sparse *s, const float *Wd, dlx_err *err)
{
    const int n = s->n, m = s->m;
    memcpy(s->Wd, Wd, (size_t)n * m * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, m, n, 1.0f, s->Wd, m, s->Wd, m, 0.0f, s->G, m);
    s->L = (float)(max_eig(s->G, m, s->eig, s->eig + m) * 1.0001);
    if (!(s->L > 0.0f))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "sparse coding: the dictionary is zero");
    const float invL = 1.0f / s->L;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            s->We[(size_t)i * n + j] = s->Wd[(size_t)j * m + i] * invL;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            s->S[(size_t)i * m + j] = (i == j ? 1.0f : 0.0f) - s->G[(size_t)i * m + j] * invL;
    for (int j = 0; j < m; j++)
        s->theta[j] = s->alpha * invL;
    return 0;
}

/* ISTA's two products, B = X We^T and Z S^T, are linear(X; We) and
 * linear(Z; S) of the LISTA graph, and are computed as the linear op computes
 * them, so that an untrained LISTA graph gives ISTA's iterates bit for bit:
 * the op's own rule (dlx_linear_small_use) on the whole batch of N rows picks
 * its small kernel or BLAS for each product. The kernel's outputs for a row do
 * not depend on the other rows, so applying it per row block gives the whole
 * batch's bits; the weights are packed for it once per solve. On BLAS the
 * solver's call is the op's when the batch is one row block (N <= 64) and the
 * op does not cut the product into column blocks (under 2^21 multiply-adds);
 * otherwise OpenBLAS's bits may differ (they depend on the row count and the
 * column split with its Haswell kernels, for some shapes with Cooper Lake's).
 * Large products (the 2e6 multiply-add bound) and FISTA's go to BLAS as
 * before. */
static bool ista_small_we(const dlx_sparse *s, int N) { return dlx_linear_small_use(N, s->m, s->n); }
static bool ista_small_s(const dlx_sparse *s, int N) { return dlx_linear_small_use(N, s->m, s->m); }

/* floats of ISTA's packed We and S (those the kernel takes) for N rows */
static size_t ista_pack_floats(const dlx_sparse *s, int N)
{
    return (ista_small_we(s, N) ? dlx_linear_small_scratch(s->m, s->n) : 0) +
           (ista_small_s(s, N) ? dlx_linear_small_scratch(s->m, s->m) : 0);
}

/* Bytes of work buffers for a call on N rows: the largest of ISTA/FISTA's
 * (B, T, Y: N x m floats each, a float per row block, ISTA's packed weights),
 * CoD's (B, out, then a double and a byte per row) and the energy's residual
 * (N x n). */
static size_t ws_bytes(const dlx_sparse *s, int N)
{
    size_t nm = (size_t)N * s->m;
    size_t fista = (3 * nm + (size_t)N + ista_pack_floats(s, N)) * sizeof(float);
    size_t cod = 2 * nm * sizeof(float) + (size_t)N * (sizeof(double) + 1);
    size_t energy = (size_t)N * s->n * sizeof(float);
    size_t b = fista > cod ? fista : cod;
    return b > energy ? b : energy;
}

int dlx_sparse_reserve(dlx_sparse *s, int N, dlx_err *err)
{
    const size_t need = ws_bytes(s, N);
    if (need <= s->ws_size)
        return 0;
    void *p = malloc(need);
    if (!p)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for sparse inference on %d samples", N);
    free(s->ws);
    s->ws = p;
    s->ws_size = need;
    return 0;
}

/* The workspace when it is large enough for N rows, else a new buffer the
 * caller frees (*owned); NULL when out of memory. (In bytes, not rows: ISTA's
 * packed weights are only there for the batch sizes that take the kernel.) */
static void *ws_get(const dlx_sparse *s, int N, void **owned)
{
    *owned = NULL;
    if (s->ws && ws_bytes(s, N) <= s->ws_size)
        return s->ws;
    return *owned = malloc(ws_bytes(s, N));
}

double dlx_sparse_energy(const dlx_sparse *s, const float *X, const float *Z, int N, double *per_sample)
{
    const int n = s->n, m = s->m;
    void *owned;
    float *R = ws_get(s, N, &owned);
    if (!R)
        return NAN;
    memcpy(R, X, (size_t)N * n * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, n, m, -1.0f, Z, m, s->Wd, m, 1.0f, R, n);
    double total = 0.0;
    for (int i = 0; i < N; i++) {
        double r2 = 0.0, l1 = 0.0;
        for (int j = 0; j < n; j++)
            r2 += (double)R[(size_t)i * n + j] * R[(size_t)i * n + j];
        for (int j = 0; j < m; j++)
            l1 += fabs((double)Z[(size_t)i * m + j]);
        double e = 0.5 * r2 + (double)s->alpha * l1;
        if (per_sample)
            per_sample[i] = e;
        total += e;
    }
    free(owned);
    return total / (double)N;
}

static void record(dlx_sparse_opts *o, int k, int *next, const float *Z, size_t len)
{
    while (*next < o->n_record && o->record_at[*next] <= k) {
        if (o->record_at[*next] == k)
            memcpy(o->record[*next], Z, len * sizeof(float));
        (*next)++;
    }
}

/* Iterations done before a tolerance stop keep the last output for later record points. */
static void record_rest(dlx_sparse_opts *o, int next, const float *Z, size_t len)
{
    for (; next < o->n_record; next++)
        memcpy(o->record[next], Z, len * sizeof(float));
}

/* Y = X W^T for rows of X (K wide) and W (M x K): the linear op's small
 * kernel when wt (W packed) is given, else BLAS (see ista_small_we). */
static void mul_nt(int rows, int M, int K, const float *X, const float *W, const float *wt, float *Y)
{
    if (wt)
        dlx_linear_small_apply(rows, M, K, X, W, wt, NULL, false, Y);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, M, K, 1.0f, X, K, W, K, 0.0f, Y, M);
}

/* One block of rows [r0, r0 + rows) through iteration k: the GEMM, then one
 * fused pass (step, shrink, momentum, change). *change: max |Z_k - Z_{k-1}|
 * over the block when tracked. St: ISTA's S packed for the small kernel, or
 * NULL. */
static void ista_fista_block(const dlx_sparse *s, bool fista, int k, float mom, bool track, const float *St,
                             const float *B, float *T, float *Y, float *Z, int r0, int rows, float *change)
{
    const int m = s->m;
    const size_t off = (size_t)r0 * m, len = (size_t)rows * m;
    const float invL = 1.0f / s->L;
    float ch = 0.0f;
    if (!fista) {
        if (k > 1)
            mul_nt(rows, m, m, Z + off, s->S, St, T + off);
        for (size_t r = 0; r < (size_t)rows; r++) {
            float *zr = Z + off + r * (size_t)m;
            const float *br = B + off + r * (size_t)m, *tr = T + off + r * (size_t)m;
            if (track)
                for (int j = 0; j < m; j++) {
                    float z = soft(k == 1 ? br[j] : br[j] + tr[j], s->theta[j]), d = fabsf(z - zr[j]);
                    ch = d > ch ? d : ch;
                    zr[j] = z;
                }
            else if (k == 1) /* from Z = 0: Z1 = h(B), LISTA's Z0 */
                for (int j = 0; j < m; j++)
                    zr[j] = soft(br[j], s->theta[j]);
            else
                for (int j = 0; j < m; j++)
                    zr[j] = soft(br[j] + tr[j], s->theta[j]);
        }
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, m, m, 1.0f, Y + off, m, s->G, m, 0.0f,
                    T + off, m);
        const float th = s->theta[0];
        float *Zb = Z + off, *Yb = Y + off;
        const float *Tb = T + off, *Bb = B + off;
        if (track)
            for (size_t i = 0; i < len; i++) {
                float z = soft(Yb[i] - (Tb[i] - Bb[i]) * invL, th), d = z - Zb[i];
                ch = fabsf(d) > ch ? fabsf(d) : ch;
                Zb[i] = z;
                Yb[i] = z + mom * d;
            }
        else
            for (size_t i = 0; i < len; i++) {
                float z = soft(Yb[i] - (Tb[i] - Bb[i]) * invL, th), d = z - Zb[i];
                Zb[i] = z;
                Yb[i] = z + mom * d;
            }
    }
    *change = ch;
}

/* The constant term of block [r0, r0 + rows): FISTA's B = X Wd (the gradient
 * of the quadratic term is Y G - B); ISTA's B = X We^T, computed as
 * linear(X; We) is (Wet: We packed for the small kernel, or NULL). */
static void block_rhs(const dlx_sparse *s, bool fista, const float *Wet, const float *X, float *B, int r0, int rows)
{
    const int n = s->n, m = s->m;
    if (fista)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, m, n, 1.0f, X + (size_t)r0 * n, n, s->Wd, m,
                    0.0f, B + (size_t)r0 * m, m);
    else
        mul_nt(rows, m, n, X + (size_t)r0 * n, s->We, Wet, B + (size_t)r0 * m);
}

/* FISTA's step-size sequence: t_{k+1} from t_k (t_1 = 1). */
static double fista_next_t(double t) { return 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t)); }

/* Samples are independent, so rows go in blocks, each block's GEMMs and
 * updates on its own: the blocks run on o->threads workers with one-thread
 * BLAS, and as a block is computed the same way whichever worker takes it, the
 * bits do not depend on the thread count. A block is a quarter of the batch
 * rounded up to 64 rows, between 64 and 256 (a function of N alone): large
 * blocks amortise OpenBLAS's packing of the m x m matrix (256 rows: FISTA
 * 13.1-14.1k samples/s against 12.7-13.3k with 64), four of them keep two to
 * four workers busy. With a stopping test or hooks the workers meet once per
 * iteration (they need every row); without, each block runs alone (below). */
static int row_block(int N)
{
    int b = ((N + 3) / 4 + 63) / 64 * 64;
    return b < 64 ? 64 : b > 256 ? 256 : b;
}

static int solve_ista_fista(const dlx_sparse *s, bool fista, const float *X, int N, float *Z, dlx_sparse_opts *o)
{
    const int m = s->m, RB = row_block(N), nb = (N + RB - 1) / RB;
    const size_t len = (size_t)N * m;
    void *owned;
    float *B = ws_get(s, N, &owned);
    if (!B)
        return DLX_ENOMEM;
    float *T = B + len, *Y = fista ? T + len : NULL, *chg = T + 2 * len; /* nb <= N floats */
    /* ISTA's weights packed for the linear op's small kernel, after chg, for
     * the products that the op's rule gives the kernel on N rows */
    float *Wet = NULL, *St = NULL, *pack = chg + N;
    if (!fista && ista_small_we(s, N)) {
        dlx_linear_small_pack(m, s->n, s->We, Wet = pack);
        pack += dlx_linear_small_scratch(m, s->n);
    }
    if (!fista && ista_small_s(s, N))
        dlx_linear_small_pack(m, m, s->S, St = pack);
    int rc = 0, next = 0;
    memset(Z, 0, len * sizeof(float));
    if (fista)
        memset(Y, 0, len * sizeof(float));
    o->iters_done = 0;
    /* no more workers than blocks: a small batch stays on the caller's thread */
    const int threads = o->threads > 1 ? (o->threads < nb ? o->threads : nb) : 1;
    const int blas_saved = openblas_get_num_threads();
    if (threads > 1)
        openblas_set_num_threads(1); /* the workers are the parallelism */
    /* Without a stopping test or per-iteration hooks nothing couples the
     * blocks: each takes all its iterations on one worker, its arrays staying
     * in that core's cache, and no worker ever waits for another (blocks are
     * handed out dynamically, so a core slowed by a neighbour takes fewer).
     * The arithmetic is the same as below, so are the bits. */
    if (!(o->tol > 0) && !o->energy && !o->n_record) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
        for (int b = 0; b < nb; b++) {
            int r0 = b * RB, rows = N - r0 < RB ? N - r0 : RB;
            float unused;
            block_rhs(s, fista, Wet, X, B, r0, rows);
            double tb = 1.0;
            for (int k = 1; k <= o->max_iters; k++) {
                const double t1 = fista_next_t(tb);
                ista_fista_block(s, fista, k, (float)((tb - 1.0) / t1), false, St, B, T, Y, Z, r0, rows, &unused);
                tb = t1;
            }
        }
        o->iters_done = o->max_iters;
        if (threads > 1)
            openblas_set_num_threads(blas_saved);
        goto out_free;
    }
    double t = 1.0;
    bool stop = false;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
#pragma omp for schedule(static)
        for (int b = 0; b < nb; b++) {
            int r0 = b * RB, rows = N - r0 < RB ? N - r0 : RB;
            block_rhs(s, fista, Wet, X, B, r0, rows);
        }
        for (int k = 1; k <= o->max_iters; k++) {
            /* t is shared and only changes in the single section below */
            const double t1 = fista_next_t(t);
            const float mom = (float)((t - 1.0) / t1);
#pragma omp for schedule(static)
            for (int b = 0; b < nb; b++) {
                int r0 = b * RB, rows = N - r0 < RB ? N - r0 : RB;
                ista_fista_block(s, fista, k, mom, o->tol > 0, St, B, T, Y, Z, r0, rows, &chg[b]);
            }
#pragma omp single
            {
                float change = 0.0f;
                for (int b = 0; b < nb; b++)
                    change = chg[b] > change ? chg[b] : change;
                t = t1;
                o->iters_done = k;
                if (o->energy)
                    o->energy[k - 1] = dlx_sparse_energy(s, X, Z, N, NULL);
                if (o->n_record)
                    record(o, k, &next, Z, len);
                if (o->tol > 0 && change < o->tol)
                    stop = true;
            }
            if (stop)
                break;
        }
    }
    if (threads > 1)
        openblas_set_num_threads(blas_saved);
    if (o->energy)
        for (int k = o->iters_done; k < o->max_iters; k++)
            o->energy[k] = o->iters_done ? o->energy[o->iters_done - 1] : dlx_sparse_energy(s, X, Z, N, NULL);
    if (o->n_record)
        record_rest(o, next, Z, len);
out_free:
    free(owned);
    return rc;
}

static int solve_cod(const dlx_sparse *s, const float *X, int N, float *Z, dlx_sparse_opts *o)
{
    const int n = s->n, m = s->m;
    const size_t len = (size_t)N * m;
    const float a = s->alpha;
    void *owned;
    double *E = ws_get(s, N, &owned); /* N doubles first (aligned), then B, out, done */
    if (!E)
        return DLX_ENOMEM;
    float *B = (float *)(E + N), *out = B + len;
    unsigned char *done = (unsigned char *)(out + len);
    memset(done, 0, (size_t)N);
    int rc = 0, next = 0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, m, n, 1.0f, X, n, s->Wd, m, 0.0f, B, m);
    memset(Z, 0, len * sizeof(float));
    for (int i = 0; i < N; i++) {
        double e = 0.0;
        for (int j = 0; j < n; j++)
            e += (double)X[(size_t)i * n + j] * X[(size_t)i * n + j];
        E[i] = 0.5 * e;
    }
    int n_done = 0;
    o->iters_done = 0;
    for (int k = 1; k <= o->max_iters && n_done < N; k++) {
        for (int i = 0; i < N; i++) {
            if (done[i])
                continue;
            float *b = B + (size_t)i * m, *z = Z + (size_t)i * m;
            int best = 0;
            float bestd = -1.0f, zbar_best = 0.0f;
            for (int j = 0; j < m; j++) {
                float v = b[j], zb = v > a ? v - a : (v < -a ? v + a : 0.0f);
                float d = fabsf(z[j] - zb);
                if (d > bestd) {
                    bestd = d;
                    best = j;
                    zbar_best = zb;
                }
            }
            if (o->tol > 0 && bestd < o->tol) {
                done[i] = 1;
                n_done++;
                continue;
            }
            const float d = zbar_best - z[best];
            const float *g = s->G + (size_t)best * m; /* row = column: G is symmetric */
            double grad = (double)z[best] - (double)b[best];
            E[i] += (double)d * grad + 0.5 * (double)d * d * g[best] +
                    (double)a * (fabs((double)zbar_best) - fabs((double)z[best]));
            for (int j = 0; j < m; j++)
                b[j] -= g[j] * d;
            b[best] += d;
            z[best] = zbar_best;
        }
        o->iters_done = k;
        if (o->energy) {
            double tot = 0.0;
            for (int i = 0; i < N; i++)
                tot += E[i];
            o->energy[k - 1] = tot / (double)N;
        }
        if (o->n_record && next < o->n_record && o->record_at[next] <= k) {
            memcpy(out, B, len * sizeof(float));
            for (size_t i = 0; i < len; i++) {
                float v = out[i];
                out[i] = v > a ? v - a : (v < -a ? v + a : 0.0f);
            }
            record(o, k, &next, out, len);
        }
    }
    if (o->energy)
        for (int k = o->iters_done; k < o->max_iters; k++)
            o->energy[k] = o->iters_done ? o->energy[o->iters_done - 1] : E[0];
    /* the output: Z = h_alpha(B) */
    for (size_t i = 0; i < len; i++) {
        float v = B[i];
        Z[i] = v > a ? v - a : (v < -a ? v + a : 0.0f);
    }
    if (o->n_record)
        record_rest(o, next, Z, len);
    free(owned);
    return rc;
}

int dlx_sparse_solve(const dlx_sparse *s, dlx_sparse_algo algo, const float *X, int N, float *Z,
                     dlx_sparse_opts *o, dlx_err *err)
{
    if (N <= 0 || o->max_iters < 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "sparse coding: need N > 0 and max_iters >= 0, got %d and %d", N,
                            o->max_iters);
    for (int i = 1; i < o->n_record; i++)
        if (o->record_at[i] <= o->record_at[i - 1])
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "sparse coding: record_at must be ascending");
    int rc = algo == DLX_SPARSE_COD ? solve_cod(s, X, N, Z, o)
                                    : solve_ista_fista(s, algo == DLX_SPARSE_FISTA, X, N, Z, o);
    if (rc)
        return dlx_err_setf(err, rc, DLX_NOLOC, "out of memory for sparse inference on %d samples", N);
    return 0;
}
