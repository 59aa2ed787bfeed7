/* The closed-form probe of core/probe.h. */
#include "probe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* LAPACK (Fortran) as exported by OpenBLAS; no LAPACKE needed (as core/scores.c). */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b,
                   const int *ldb, int *info);

typedef struct probe_map {
    int d, hidden, f;          /* code size, random units, features (d + hidden + 1) */
    double *mean, *inv_std;    /* d each */
    double *a, *b;             /* hidden x d, hidden */
} probe_map;

/* The features of one code into phi (f doubles). */
static void features(const probe_map *p, const float *x, double *phi)
{
    for (int j = 0; j < p->d; j++)
        phi[j] = ((double)x[j] - p->mean[j]) * p->inv_std[j];
    for (int h = 0; h < p->hidden; h++) {
        double s = p->b[h];
        for (int j = 0; j < p->d; j++)
            s += p->a[(int64_t)h * p->d + j] * phi[j];
        phi[p->d + h] = s > 0.0 ? s : 0.0;
    }
    phi[p->f - 1] = 1.0;
}

static int check_labels(const dlx_probe_data *s, int classes, dlx_err *err)
{
    for (int64_t i = 0; i < s->n; i++)
        if (!(s->y[i] >= 0.0f && s->y[i] < (float)classes) || s->y[i] != floorf(s->y[i]))
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "probe: label %g of row %lld is not a class in [0, %d)",
                                (double)s->y[i], (long long)i, classes);
    return 0;
}

static void standardise(probe_map *p, const dlx_probe_data *tr)
{
    for (int j = 0; j < p->d; j++) {
        double s = 0.0, s2 = 0.0;
        for (int64_t i = 0; i < tr->n; i++) {
            const double v = tr->x[i * p->d + j];
            s += v;
            s2 += v * v;
        }
        const double mean = s / (double)tr->n, var = s2 / (double)tr->n - mean * mean;
        p->mean[j] = mean;
        p->inv_std[j] = var > 1e-12 ? 1.0 / sqrt(var) : 0.0; /* a constant unit carries nothing */
    }
}

int dlx_probe_accuracy(const dlx_probe_data *train, const dlx_probe_data *test, int d, int classes, int hidden,
                       uint64_t seed, double *accuracy, dlx_err *err)
{
    if (d < 1 || classes < 2 || hidden < 0 || train->n < 1 || test->n < 1)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "probe: needs codes of at least 1 value, 2 classes and a sample in each split");
    int rc = check_labels(train, classes, err);
    if (!rc) rc = check_labels(test, classes, err);
    if (rc)
        return rc;
    probe_map p = {.d = d, .hidden = hidden, .f = d + hidden + 1};
    const int f = p.f;
    p.mean = malloc((size_t)d * sizeof *p.mean);
    p.inv_std = malloc((size_t)d * sizeof *p.inv_std);
    p.a = malloc((size_t)(hidden ? hidden : 1) * (size_t)d * sizeof *p.a);
    p.b = malloc((size_t)(hidden ? hidden : 1) * sizeof *p.b);
    double *ata = calloc((size_t)f * (size_t)f, sizeof *ata), *aty = calloc((size_t)f * (size_t)classes, sizeof *aty);
    double *phi = malloc((size_t)f * sizeof *phi);
    if (!p.mean || !p.inv_std || !p.a || !p.b || !ata || !aty || !phi) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "probe: out of memory for %d features", f);
        goto out;
    }
    standardise(&p, train);
    dlx_rng r;
    dlx_rng_init(&r, seed, DLX_STREAM_USER);
    const double scale = 1.0 / sqrt((double)d);
    for (int64_t i = 0; i < (int64_t)hidden * d; i++)
        p.a[i] = scale * dlx_rng_normal(&r);
    for (int h = 0; h < hidden; h++)
        p.b[h] = dlx_rng_normal(&r);
    /* the normal equations, column-major for LAPACK (symmetric: the upper triangle is enough) */
    for (int64_t i = 0; i < train->n; i++) {
        features(&p, train->x + i * d, phi);
        for (int c = 0; c < f; c++) {
            for (int rr = 0; rr <= c; rr++)
                ata[(int64_t)c * f + rr] += phi[rr] * phi[c];
            aty[(int64_t)((int)train->y[i]) * f + c] += phi[c];
        }
    }
    const double lambda = 1e-3 * (double)train->n;
    for (int c = 0; c < f; c++)
        ata[(int64_t)c * f + c] += lambda;
    int info = 0;
    dposv_("U", &f, &classes, ata, &f, aty, &f, &info);
    if (info != 0) {
        rc = dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "probe: dposv failed (info %d) on %d features", info, f);
        goto out;
    }
    int64_t right = 0;
    for (int64_t i = 0; i < test->n; i++) {
        features(&p, test->x + i * d, phi);
        int best = 0;
        double best_v = -INFINITY;
        for (int k = 0; k < classes; k++) {
            double v = 0.0;
            for (int c = 0; c < f; c++)
                v += phi[c] * aty[(int64_t)k * f + c];
            if (v > best_v)
                best_v = v, best = k;
        }
        right += best == (int)test->y[i];
    }
    *accuracy = (double)right / (double)test->n;
out:
    free(p.mean), free(p.inv_std), free(p.a), free(p.b), free(ata), free(aty), free(phi);
    return rc;
}
