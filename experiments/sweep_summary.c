/* Summaries of a sweep table (`dlx landscape --summary` and the end of a
 * sweep): per-group mean and spread, and the Pearson correlation of two
 * columns with a bootstrap confidence interval. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "sweep.h"

/* ---- summaries ------------------------------------------------------------ */

double dlx_pearson(const double *x, const double *y, int64_t n)
{
    if (n < 2)
        return NAN;
    double mx = 0, my = 0;
    for (int64_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int dlx_pearson_ci(const double *x, const double *y, int64_t n, int resamples, uint64_t seed, double *lo,
                   double *hi)
{
    *lo = *hi = NAN;
    if (n < 3 || resamples < 10)
        return 0;
    double *bx = malloc((size_t)n * sizeof *bx), *by = malloc((size_t)n * sizeof *by);
    double *r = malloc((size_t)resamples * sizeof *r);
    if (!bx || !by || !r) {
        free(bx), free(by), free(r);
        return -1;
    }
    dlx_rng g;
    dlx_rng_init(&g, seed, DLX_STREAM_USER + 11);
    int k = 0;
    for (int b = 0; b < resamples; b++) {
        for (int64_t i = 0; i < n; i++) {
            uint32_t j = dlx_rng_below(&g, (uint32_t)n);
            bx[i] = x[j];
            by[i] = y[j];
        }
        double p = dlx_pearson(bx, by, n);
        if (!isnan(p)) /* a resample of one repeated point has no correlation */
            r[k++] = p;
    }
    if (k >= 10) {
        qsort(r, (size_t)k, sizeof *r, cmp_double);
        *lo = r[(int)floor(0.025 * (k - 1) + 0.5)];
        *hi = r[(int)floor(0.975 * (k - 1) + 0.5)];
    }
    free(bx), free(by), free(r);
    return 0;
}

int dlx_sweep_by_cols(const dlx_sweep_table *t, const char *by, int *cols, int *n, dlx_err *err)
{
    *n = 0;
    for (const char *p = by; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[48];
        if (len == 0 || len >= sizeof name)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "summary: '%s' is not a list of columns", by);
        memcpy(name, p, len);
        name[len] = '\0';
        if (*n == DLX_SWEEP_BY_MAX)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "summary: at most %d columns to group by, got '%s'",
                                DLX_SWEEP_BY_MAX, by);
        if ((cols[*n] = dlx_sweep_table_col(t, name)) < 0)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "summary: no column '%s'", name);
        (*n)++;
        p = comma ? comma + 1 : p + len;
    }
    return 0;
}

/* qsort of key tuples: DLX_SWEEP_BY_MAX doubles each, unused ones 0 */
static int cmp_tuple(const void *a, const void *b)
{
    const double *x = a, *y = b;
    for (int i = 0; i < DLX_SWEEP_BY_MAX; i++)
        if (x[i] != y[i])
            return (x[i] > y[i]) - (x[i] < y[i]);
    return 0;
}

static bool row_in(const double *row, const int *cb, int nb, const double *keys)
{
    for (int j = 0; j < nb; j++)
        if (row[cb[j]] != keys[j])
            return false;
    return true;
}

int dlx_sweep_summary(const dlx_sweep_table *t, const char *by, const char *x, const char *y, dlx_sweep_group *g,
                      int max_groups, int *n_groups, dlx_err *err)
{
    int cb[DLX_SWEEP_BY_MAX], nb = 0, cx = dlx_sweep_table_col(t, x);
    int cy = y ? dlx_sweep_table_col(t, y) : -1;
    if (cx < 0 || (y && cy < 0))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "summary: no column '%s'", cx < 0 ? x : y);
    int rc = dlx_sweep_by_cols(t, by, cb, &nb, err);
    if (rc)
        return rc;
    const size_t w = (size_t)t->n_cols, kw = DLX_SWEEP_BY_MAX;
    double *keys = malloc((size_t)(t->n + 1) * kw * sizeof *keys);
    double *xs = malloc((size_t)(t->n + 1) * sizeof *xs), *ys = malloc((size_t)(t->n + 1) * sizeof *ys);
    if (!keys || !xs || !ys) {
        free(keys);
        free(xs);
        free(ys);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    for (int64_t i = 0; i < t->n; i++)
        for (size_t j = 0; j < kw; j++)
            keys[(size_t)i * kw + j] = (int)j < nb ? t->val[(size_t)i * w + (size_t)cb[j]] : 0.0;
    qsort(keys, (size_t)t->n, kw * sizeof *keys, cmp_tuple);
    int ng = 0;
    for (int64_t i = 0; i < t->n && ng < max_groups; i++)
        if (i == 0 || cmp_tuple(keys + (size_t)i * kw, keys + (size_t)(i - 1) * kw)) {
            g[ng] = (dlx_sweep_group){0};
            memcpy(g[ng++].keys, keys + (size_t)i * kw, kw * sizeof *keys);
        }
    for (int k = 0; k < ng; k++) {
        int64_t n = 0;
        for (int64_t i = 0; i < t->n; i++) {
            const double *row = t->val + (size_t)i * w;
            if (!row_in(row, cb, nb, g[k].keys))
                continue;
            if (isnan(row[cx]) || (cy >= 0 && isnan(row[cy])))
                continue;
            xs[n] = row[cx];
            ys[n++] = cy >= 0 ? row[cy] : 0.0;
        }
        double mean = 0, var = 0, lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            mean += xs[i];
            lo = xs[i] < lo ? xs[i] : lo;
            hi = xs[i] > hi ? xs[i] : hi;
        }
        mean = n ? mean / (double)n : NAN;
        for (int64_t i = 0; i < n; i++)
            var += (xs[i] - mean) * (xs[i] - mean);
        g[k].n = n;
        g[k].mean = mean;
        g[k].std = n > 1 ? sqrt(var / (double)(n - 1)) : NAN;
        g[k].min = n ? lo : NAN;
        g[k].max = n ? hi : NAN;
        g[k].pearson = cy >= 0 ? dlx_pearson(xs, ys, n) : NAN;
        g[k].pearson_lo = g[k].pearson_hi = NAN;
        if (cy >= 0 && dlx_pearson_ci(xs, ys, n, DLX_BOOTSTRAP_RESAMPLES, (uint64_t)k, &g[k].pearson_lo,
                                      &g[k].pearson_hi)) {
            free(keys), free(xs), free(ys);
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        }
    }
    *n_groups = ng;
    free(keys);
    free(xs);
    free(ys);
    return 0;
}
