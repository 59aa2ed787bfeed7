/* Graphs of points and their Laplacian eigenbasis (contract in laplacian.h). */
#include "laplacian.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK (Fortran) as exported by OpenBLAS; no LAPACKE needed (as core/scores.c). */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info);

typedef struct nb {
    double d2;
    int j;
} nb;

static int cmp_nb(const void *a, const void *b)
{
    const nb *x = a, *y = b;
    if (x->d2 != y->d2)
        return x->d2 < y->d2 ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static double dist2(const dlx_points *p, int i, int j)
{
    double s = 0.0;
    for (int a = 0; a < p->dim; a++) {
        double d = p->xy[p->dim * i + a] - p->xy[p->dim * j + a];
        s += d * d;
    }
    return s;
}

int dlx_knn_weights(const dlx_points *p, int k, double sigma, double *w, double *sigma_used, dlx_err *err)
{
    const int n = p->n;
    if (n < 2 || k < 1 || k > n - 1)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "k = %d neighbours of %d points: give 1 to %d", k, n, n - 1);
    nb *row = malloc((size_t)n * sizeof *row);
    int *near = malloc((size_t)n * (size_t)k * sizeof *near);
    if (!row || !near) {
        free(row);
        free(near);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the graph of %d points", n);
    }
    double kth = 0.0;
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            row[m++] = (nb){dist2(p, i, j), j};
        }
        qsort(row, (size_t)m, sizeof *row, cmp_nb);
        for (int t = 0; t < k; t++)
            near[i * k + t] = row[t].j;
        kth += sqrt(row[k - 1].d2);
    }
    free(row);
    double s = sigma > 0.0 ? sigma : kth / n;
    if (!(s > 0.0)) {
        free(near);
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "the points coincide: no width for the graph's weights");
    }
    memset(w, 0, (size_t)n * (size_t)n * sizeof *w);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < k; t++) {
            int j = near[i * k + t];
            double v = exp(-dist2(p, i, j) / (s * s));
            w[(size_t)i * n + j] = w[(size_t)j * n + i] = v; /* symmetric: either end's neighbour */
        }
    free(near);
    *sigma_used = s;
    return 0;
}

int dlx_laplacian(const double *w, int n, bool normalized, double *l, dlx_err *err)
{
    double *deg = calloc((size_t)n, sizeof *deg);
    if (!deg)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            deg[i] += w[(size_t)i * n + j];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = w[(size_t)i * n + j];
            if (normalized)
                v = deg[i] > 0.0 && deg[j] > 0.0 ? v / sqrt(deg[i] * deg[j]) : 0.0;
            double diag = normalized ? (deg[i] > 0.0 ? 1.0 : 0.0) : deg[i];
            l[(size_t)i * n + j] = (i == j ? diag : 0.0) - v;
        }
    free(deg);
    return 0;
}

int dlx_eigh_lowest(double *a, int n, int keep, double *evals, double *v, dlx_err *err)
{
    if (keep < 1 || keep > n)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "keep %d eigenvectors of %d: give 1 to %d", keep, n, n);
    double *ev = malloc((size_t)n * sizeof *ev), wq;
    int lwork = -1, liwork = -1, iwq, info = 0;
    if (!ev)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dsyevd_("V", "U", &n, a, &n, ev, &wq, &lwork, &iwq, &liwork, &info); /* workspace query */
    lwork = (int)wq;
    liwork = iwq;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(ev);
        free(work);
        free(iwork);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the eigen-decomposition of %d x %d", n, n);
    }
    if (!info)
        dsyevd_("V", "U", &n, a, &n, ev, work, &lwork, iwork, &liwork, &info);
    free(work);
    free(iwork);
    if (info) {
        free(ev);
        return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "dsyevd failed (info %d) on the %d x %d Laplacian", info, n, n);
    }
    /* column j of a (column-major) is eigenvector j, ascending */
    for (int j = 0; j < keep; j++) {
        const double *col = a + (size_t)j * n;
        int big = 0;
        for (int i = 1; i < n; i++)
            if (fabs(col[i]) > fabs(col[big]))
                big = i;
        double sign = col[big] < 0.0 ? -1.0 : 1.0;
        for (int i = 0; i < n; i++)
            v[(size_t)i * keep + j] = sign * col[i];
        evals[j] = ev[j];
    }
    free(ev);
    return 0;
}

int dlx_laplacian_basis(const dlx_points *p, const dlx_laplacian_opts *o, float *v, double *evals, dlx_err *err)
{
    const int n = p->n;
    if (o->keep < 1 || o->keep > n)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "keep %d eigenvectors of %d points: give 1 to %d", o->keep, n,
                            n);
    double *w = malloc((size_t)n * (size_t)n * sizeof *w), *l = malloc((size_t)n * (size_t)n * sizeof *l);
    double *vd = malloc((size_t)n * (size_t)o->keep * sizeof *vd);
    int rc = !w || !l || !vd ? dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the graph of %d points", n)
                             : 0;
    double sigma;
    if (!rc) rc = dlx_knn_weights(p, o->k, o->sigma, w, &sigma, err);
    if (!rc) rc = dlx_laplacian(w, n, o->normalized, l, err);
    if (!rc) rc = dlx_eigh_lowest(l, n, o->keep, evals, vd, err);
    for (size_t i = 0; !rc && i < (size_t)n * (size_t)o->keep; i++)
        v[i] = (float)vd[i];
    free(w);
    free(l);
    free(vd);
    return rc;
}
