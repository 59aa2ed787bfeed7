/* Summaries of a sweep table (`dlx landscape --summary` and the end of a
 * sweep): per-group mean and spread, and the Pearson correlation of two
 * columns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

int dlx_sweep_summary(const dlx_sweep_table *t, const char *by, const char *x, const char *y, dlx_sweep_group *g,
                      int max_groups, int *n_groups, dlx_err *err)
{
    int cb = by && by[0] ? dlx_sweep_table_col(t, by) : -1, cx = dlx_sweep_table_col(t, x);
    int cy = y ? dlx_sweep_table_col(t, y) : -1;
    if ((by && by[0] && cb < 0) || cx < 0 || (y && cy < 0))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "summary: no column '%s'",
                            cx < 0 ? x : (y && cy < 0) ? y : by);
    size_t w = (size_t)t->n_cols;
    double *keys = malloc((size_t)(t->n + 1) * sizeof *keys);
    double *xs = malloc((size_t)(t->n + 1) * sizeof *xs), *ys = malloc((size_t)(t->n + 1) * sizeof *ys);
    if (!keys || !xs || !ys) {
        free(keys);
        free(xs);
        free(ys);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    for (int64_t i = 0; i < t->n; i++)
        keys[i] = cb >= 0 ? t->val[(size_t)i * w + (size_t)cb] : 0.0;
    qsort(keys, (size_t)t->n, sizeof *keys, cmp_double);
    int ng = 0;
    for (int64_t i = 0; i < t->n; i++)
        if ((i == 0 || keys[i] != keys[i - 1]) && ng < max_groups)
            g[ng++] = (dlx_sweep_group){.key = keys[i]};
    for (int k = 0; k < ng; k++) {
        int64_t n = 0;
        for (int64_t i = 0; i < t->n; i++) {
            const double *row = t->val + (size_t)i * w;
            if (cb >= 0 && row[cb] != g[k].key)
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
    }
    *n_groups = ng;
    free(keys);
    free(xs);
    free(ys);
    return 0;
}
