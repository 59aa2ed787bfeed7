/* Inception scores and the Fréchet distance (contract in scores.h). */
#include "scores.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

/* LAPACK (Fortran) as exported by OpenBLAS; no LAPACKE needed. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info);

int dlx_inception_scores(const double *logp, int64_t n, int k, dlx_inception *out, dlx_err *err)
{
    memset(out, 0, sizeof *out);
    if (n < 1 || k < 1 || k > 1000000)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "inception score: need at least 1 sample and 1 to 1e6 classes, "
                            "got %lld samples of %d classes", (long long)n, k);
    double *py = calloc((size_t)k * 2, sizeof *py);
    if (!py)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %d classes", k);
    double *logpy = py + k;
    int rc = 0;
    for (int64_t i = 0; i < n && !rc; i++) {
        const double *r = logp + i * (int64_t)k;
        double s = 0.0;
        for (int j = 0; j < k; j++) {
            if (isnan(r[j]) || r[j] == INFINITY) {
                rc = dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "inception score: sample %lld has log p(y=%d|x) = %g",
                                  (long long)i, j, r[j]);
                break;
            }
            double p = exp(r[j]);
            s += p;
            py[j] += p;
        }
        if (!rc && fabs(s - 1.0) > 1e-6)
            rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                              "inception score: the probabilities of sample %lld sum to %.9g, not 1 (logits given "
                              "instead of log-probabilities?)", (long long)i, s);
    }
    if (rc) {
        free(py);
        return rc;
    }
    for (int j = 0; j < k; j++) {
        py[j] /= (double)n;
        logpy[j] = log(py[j]); /* -inf only where every p(y=j|x) is 0: those terms are skipped */
    }
    double kl = 0.0, ip = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double *r = logp + i * (int64_t)k;
        double a = 0.0, b = 0.0;
        for (int j = 0; j < k; j++) {
            double p = exp(r[j]);
            if (p > 0.0)
                a += p * (r[j] - logpy[j]);
            if (py[j] > 0.0)
                b += py[j] * (logpy[j] - r[j]);
        }
        kl += a;
        ip += b;
    }
    free(py);
    out->kl = kl / (double)n;
    out->is = exp(out->kl);
    out->iprime = ip / (double)n;
    out->iprime_sq = out->iprime * out->iprime;
    return 0;
}

void dlx_log_softmax_rows(const float *logits, int64_t n, int k, double *logp)
{
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * (int64_t)k;
        double *o = logp + i * (int64_t)k;
        double mx = z[0];
        for (int j = 1; j < k; j++)
            mx = z[j] > mx ? z[j] : mx;
        double s = 0.0;
        for (int j = 0; j < k; j++)
            s += exp((double)z[j] - mx);
        double lse = mx + log(s);
        for (int j = 0; j < k; j++)
            o[j] = (double)z[j] - lse;
    }
}

void dlx_moments_free(dlx_moments *m)
{
    free(m->mean);
    free(m->cov);
    memset(m, 0, sizeof *m);
}

int dlx_moments_compute(const float *x, int64_t n, int64_t d, dlx_moments *m, dlx_err *err)
{
    memset(m, 0, sizeof *m);
    if (n < 2 || d < 1 || d > DLX_FRECHET_DIM_MAX)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "feature statistics: need at least 2 samples of 1 to %d features, got %lld of %lld",
                            DLX_FRECHET_DIM_MAX, (long long)n, (long long)d);
    enum { BLOCK = 256 }; /* rows centred at a time */
    m->mean = calloc((size_t)d, sizeof *m->mean);
    m->cov = calloc((size_t)(d * d), sizeof *m->cov);
    double *blk = malloc((size_t)BLOCK * (size_t)d * sizeof *blk);
    if (!m->mean || !m->cov || !blk) {
        free(blk);
        dlx_moments_free(m);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the covariance of %lld features",
                            (long long)d);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double v = x[i * d + j];
            if (!isfinite(v)) {
                free(blk);
                dlx_moments_free(m);
                return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "feature statistics: sample %lld has feature %lld = %g",
                                    (long long)i, (long long)j, v);
            }
            m->mean[j] += v;
        }
    for (int64_t j = 0; j < d; j++)
        m->mean[j] /= (double)n;
    /* cov = sum over blocks of Xc' Xc (upper triangle, dsyrk), centred in double */
    for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
        int64_t rows = n - i0 < BLOCK ? n - i0 : BLOCK;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < d; j++)
                blk[i * d + j] = (double)x[(i0 + i) * d + j] - m->mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)rows, 1.0, blk, (int)d, 1.0, m->cov, (int)d);
    }
    free(blk);
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = i; j < d; j++) {
            double v = m->cov[i * d + j] / (double)(n - 1);
            m->cov[i * d + j] = m->cov[j * d + i] = v;
        }
    m->n = n;
    m->d = d;
    return 0;
}

/* Eigen-decomposition of the symmetric d x d matrix a in place (eigenvectors
 * in the rows of a, row-major view of LAPACK's column-major output), w the
 * eigenvalues ascending. */
static int sym_eig(double *a, int d, double *w, dlx_err *err)
{
    int lwork = -1, liwork = -1, info = 0, iq = 0;
    double q = 0.0;
    dsyevd_("V", "U", &d, a, &d, w, &q, &lwork, &iq, &liwork, &info);
    if (info != 0)
        return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "dsyevd workspace query failed (info %d)", info);
    lwork = (int)q;
    liwork = iq;
    double *work = malloc((size_t)(lwork > 1 ? lwork : 1) * sizeof *work);
    int *iwork = malloc((size_t)(liwork > 1 ? liwork : 1) * sizeof *iwork);
    if (!work || !iwork) {
        free(work);
        free(iwork);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the eigensolver (%d x %d)", d, d);
    }
    dsyevd_("V", "U", &d, a, &d, w, work, &lwork, iwork, &liwork, &info);
    free(work);
    free(iwork);
    if (info != 0)
        return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "dsyevd failed (info %d): a covariance with NaN entries, or "
                            "no convergence", info);
    return 0;
}

int dlx_frechet_distance(const dlx_moments *a, const dlx_moments *b, double *fd, dlx_err *err)
{
    *fd = NAN;
    if (a->d != b->d || a->d < 1 || a->d > DLX_FRECHET_DIM_MAX || !a->cov || !b->cov)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "Fréchet distance: feature sets of %lld and %lld dimensions",
                            (long long)a->d, (long long)b->d);
    int d = (int)a->d;
    size_t dd = (size_t)d * (size_t)d;
    double *v = malloc(dd * sizeof *v), *r = malloc(dd * sizeof *r), *t = malloc(dd * sizeof *t);
    double *w = malloc((size_t)d * sizeof *w);
    int rc = 0;
    if (!v || !r || !t || !w) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for a %d x %d Fréchet distance", d, d);
        goto out;
    }
    /* R = sqrt(S1): LAPACK's column-major eigenvectors are the rows of v here */
    memcpy(v, a->cov, dd * sizeof *v);
    if ((rc = sym_eig(v, d, w, err)))
        goto out;
    for (int i = 0; i < d; i++) /* t = diag(sqrt(l)) V' (row i of t: sqrt(l_i) times eigenvector i) */
        for (int j = 0; j < d; j++)
            t[(size_t)i * d + j] = sqrt(w[i] > 0.0 ? w[i] : 0.0) * v[(size_t)i * d + j];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, d, 1.0, v, d, t, d, 0.0, r, d); /* V diag V' */
    /* M = R S2 R, symmetrised against rounding, then its eigenvalues */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, r, d, b->cov, d, 0.0, t, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, t, d, r, d, 0.0, v, d);
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++)
            v[(size_t)i * d + j] = v[(size_t)j * d + i] = 0.5 * (v[(size_t)i * d + j] + v[(size_t)j * d + i]);
    if ((rc = sym_eig(v, d, w, err)))
        goto out;
    double tr_sqrt = 0.0, tr = 0.0, dm = 0.0;
    for (int i = 0; i < d; i++) {
        tr_sqrt += sqrt(w[i] > 0.0 ? w[i] : 0.0);
        tr += a->cov[(size_t)i * d + i] + b->cov[(size_t)i * d + i];
        double e = a->mean[i] - b->mean[i];
        dm += e * e;
    }
    *fd = fmax(dm + tr - 2.0 * tr_sqrt, 0.0); /* a squared distance: rounding makes no negative one */
out:
    free(v);
    free(r);
    free(t);
    free(w);
    return rc;
}
