/* The energy family's closed-form strategies (PCA, K-means, a Gaussian
 * mixture by EM) and the AUC of the evaluation; see models/energy.h.
 * Sums are in double; the energies come back as floats. */
#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "energy.h"

enum { ENERGY_STREAM_KMEANS = DLX_STREAM_USER + 40 };

static int out_of_memory(dlx_err *err, const char *what)
{
    return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %s", what);
}

/* ---- PCA ---- */

/* One rotation in the (p, q) plane that zeroes a[p][q]: A = P^T A P, V = V P. */
static void jacobi_rotate(double *a, double *v, int d, int p, int q)
{
    double apq = a[(size_t)p * d + q];
    double theta = (a[(size_t)q * d + q] - a[(size_t)p * d + p]) / (2.0 * apq);
    double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
    double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
    for (int k = 0; k < d; k++) { /* columns p and q of A and of V */
        double akp = a[(size_t)k * d + p], akq = a[(size_t)k * d + q];
        a[(size_t)k * d + p] = c * akp - s * akq;
        a[(size_t)k * d + q] = s * akp + c * akq;
        double vkp = v[(size_t)k * d + p], vkq = v[(size_t)k * d + q];
        v[(size_t)k * d + p] = c * vkp - s * vkq;
        v[(size_t)k * d + q] = s * vkp + c * vkq;
    }
    for (int k = 0; k < d; k++) { /* then rows p and q of A */
        double apk = a[(size_t)p * d + k], aqk = a[(size_t)q * d + k];
        a[(size_t)p * d + k] = c * apk - s * aqk;
        a[(size_t)q * d + k] = s * apk + c * aqk;
    }
}

int dlx_energy_symeig(double *a, int d, double *w, double *v, dlx_err *err)
{
    double *vc = calloc((size_t)d * d, sizeof *vc);
    int *order = malloc((size_t)d * sizeof *order);
    if (!vc || !order) {
        free(vc);
        free(order);
        return out_of_memory(err, "the eigen-decomposition");
    }
    double norm = 0.0;
    for (int i = 0; i < d; i++) {
        vc[(size_t)i * d + i] = 1.0;
        for (int j = 0; j < d; j++)
            norm += a[(size_t)i * d + j] * a[(size_t)i * d + j];
    }
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++)
                off += a[(size_t)p * d + q] * a[(size_t)p * d + q];
        if (off <= 1e-30 * norm || off == 0.0)
            break;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++)
                if (fabs(a[(size_t)p * d + q]) > 1e-300)
                    jacobi_rotate(a, vc, d, p, q);
    }
    for (int i = 0; i < d; i++)
        order[i] = i;
    for (int i = 1; i < d; i++) /* insertion sort, descending eigenvalues */
        for (int j = i; j > 0 && a[(size_t)order[j] * d + order[j]] > a[(size_t)order[j - 1] * d + order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int j = 0; j < d; j++) {
        w[j] = a[(size_t)order[j] * d + order[j]];
        for (int k = 0; k < d; k++)
            v[(size_t)j * d + k] = vc[(size_t)k * d + order[j]];
    }
    free(vc);
    free(order);
    return 0;
}

int dlx_energy_pca_fit(const float *X, int64_t n, int d, int k, float *mu, float *W, double *var, dlx_err *err)
{
    double *m = calloc((size_t)d, sizeof *m), *cov = calloc((size_t)d * d, sizeof *cov);
    double *w = malloc((size_t)d * sizeof *w), *v = malloc((size_t)d * d * sizeof *v);
    int rc = m && cov && w && v ? 0 : out_of_memory(err, "PCA");
    for (int64_t i = 0; !rc && i < n; i++)
        for (int a = 0; a < d; a++)
            m[a] += X[i * d + a];
    for (int a = 0; !rc && a < d; a++)
        m[a] /= (double)n;
    for (int64_t i = 0; !rc && i < n; i++)
        for (int a = 0; a < d; a++) {
            double xa = X[i * d + a] - m[a];
            for (int b = a; b < d; b++)
                cov[(size_t)a * d + b] += xa * (X[i * d + b] - m[b]);
        }
    for (int a = 0; !rc && a < d; a++)
        for (int b = a; b < d; b++)
            cov[(size_t)b * d + a] = cov[(size_t)a * d + b] /= (double)n;
    if (!rc) rc = dlx_energy_symeig(cov, d, w, v, err);
    for (int j = 0; !rc && j < k; j++) {
        for (int a = 0; a < d; a++)
            W[(size_t)j * d + a] = (float)v[(size_t)j * d + a];
        if (var)
            var[j] = w[j];
    }
    for (int a = 0; !rc && a < d; a++)
        mu[a] = (float)m[a];
    free(m);
    free(cov);
    free(w);
    free(v);
    return rc;
}

void dlx_energy_pca(const float *mu, const float *W, int d, int k, const float *Y, int64_t n, float *E)
{
    for (int64_t i = 0; i < n; i++) {
        double r2 = 0.0, p2 = 0.0; /* |y - mu|^2 - |W (y - mu)|^2: W's rows are orthonormal */
        for (int a = 0; a < d; a++)
            r2 += ((double)Y[i * d + a] - mu[a]) * ((double)Y[i * d + a] - mu[a]);
        for (int j = 0; j < k; j++) {
            double c = 0.0;
            for (int a = 0; a < d; a++)
                c += (double)W[(size_t)j * d + a] * ((double)Y[i * d + a] - mu[a]);
            p2 += c * c;
        }
        E[i] = (float)fmax(r2 - p2, 0.0);
    }
}

/* ---- K-means ---- */

void dlx_energy_kmeans_init(const float *X, int64_t n, int d, int k, uint64_t seed, float *C)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, ENERGY_STREAM_KMEANS);
    uint32_t *picked = malloc((size_t)k * sizeof *picked);
    for (int j = 0; j < k; j++) { /* k distinct rows: redraw a row already taken */
        uint32_t i;
        bool again;
        do {
            i = dlx_rng_below(&r, (uint32_t)n);
            again = false;
            for (int q = 0; picked && q < j; q++)
                again |= picked[q] == i;
        } while (again && (int64_t)j < n);
        if (picked)
            picked[j] = i;
        memcpy(C + (size_t)j * d, X + (size_t)i * d, (size_t)d * sizeof *C);
    }
    free(picked);
}

static int nearest_centre(const float *C, int d, int k, const float *y, double *best)
{
    int arg = 0;
    *best = DBL_MAX;
    for (int j = 0; j < k; j++) {
        double s = 0.0;
        for (int a = 0; a < d; a++)
            s += ((double)y[a] - C[(size_t)j * d + a]) * ((double)y[a] - C[(size_t)j * d + a]);
        if (s < *best)
            *best = s, arg = j;
    }
    return arg;
}

int dlx_energy_kmeans_fit(const float *X, int64_t n, int d, int k, int iters, float *C, int *ran, dlx_err *err)
{
    int *as = malloc((size_t)n * sizeof *as);
    double *sum = malloc((size_t)k * d * sizeof *sum), *cnt = malloc((size_t)k * sizeof *cnt);
    if (!as || !sum || !cnt) {
        free(as);
        free(sum);
        free(cnt);
        return out_of_memory(err, "K-means");
    }
    int it = 0;
    for (; it < iters; it++) {
        int64_t changed = 0;
        double dist;
        for (int64_t i = 0; i < n; i++) {
            int j = nearest_centre(C, d, k, X + i * d, &dist);
            changed += it == 0 || j != as[i];
            as[i] = j;
        }
        if (!changed)
            break;
        memset(sum, 0, (size_t)k * d * sizeof *sum);
        memset(cnt, 0, (size_t)k * sizeof *cnt);
        for (int64_t i = 0; i < n; i++) {
            cnt[as[i]] += 1.0;
            for (int a = 0; a < d; a++)
                sum[(size_t)as[i] * d + a] += X[i * d + a];
        }
        for (int j = 0; j < k; j++)
            for (int a = 0; cnt[j] > 0 && a < d; a++)
                C[(size_t)j * d + a] = (float)(sum[(size_t)j * d + a] / cnt[j]);
    }
    if (ran)
        *ran = it;
    free(as);
    free(sum);
    free(cnt);
    return 0;
}

void dlx_energy_kmeans(const float *C, int d, int k, const float *Y, int64_t n, float *E)
{
    for (int64_t i = 0; i < n; i++) {
        double best;
        nearest_centre(C, d, k, Y + i * d, &best);
        E[i] = (float)best;
    }
}

/* ---- Gaussian mixture ---- */

/* Cholesky factor L (lower, row-major) of the d x d matrix s; false when s is
 * not positive definite. */
static bool cholesky(const double *s, int d, double *L)
{
    memset(L, 0, (size_t)d * d * sizeof *L);
    for (int i = 0; i < d; i++)
        for (int j = 0; j <= i; j++) {
            double v = s[(size_t)i * d + j];
            for (int q = 0; q < j; q++)
                v -= L[(size_t)i * d + q] * L[(size_t)j * d + q];
            if (i == j) {
                if (!(v > 0.0))
                    return false;
                L[(size_t)i * d + i] = sqrt(v);
            } else {
                L[(size_t)i * d + j] = v / L[(size_t)j * d + j];
            }
        }
    return true;
}

/* log pi_j N(y; mu_j, Sigma_j) for every j into lp (k), from the factors L
 * (k x d x d) and log-determinants; tmp: d doubles. */
static void log_joint(const double *pi, const double *mu, const double *L, const double *logdet, int d, int k,
                      const float *y, double *tmp, double *lp)
{
    for (int j = 0; j < k; j++) {
        const double *Lj = L + (size_t)j * d * d;
        double maha = 0.0;
        for (int a = 0; a < d; a++) { /* forward substitution: L z = y - mu */
            double v = (double)y[a] - mu[(size_t)j * d + a];
            for (int q = 0; q < a; q++)
                v -= Lj[(size_t)a * d + q] * tmp[q];
            tmp[a] = v / Lj[(size_t)a * d + a];
            maha += tmp[a] * tmp[a];
        }
        lp[j] = log(pi[j]) - 0.5 * (d * log(2.0 * M_PI) + logdet[j] + maha);
    }
}

static double log_sum_exp(const double *lp, int k)
{
    double mx = -DBL_MAX, s = 0.0;
    for (int j = 0; j < k; j++)
        mx = fmax(mx, lp[j]);
    for (int j = 0; j < k; j++)
        s += exp(lp[j] - mx);
    return mx + log(s);
}

typedef struct gmm_work {
    int d, k;
    double *pi, *mu, *cov, *L, *logdet, *tmp, *lp;
} gmm_work;

static void gmm_work_free(gmm_work *w)
{
    free(w->pi), free(w->mu), free(w->cov), free(w->L), free(w->logdet), free(w->tmp), free(w->lp);
}

static int gmm_work_alloc(gmm_work *w, int d, int k, dlx_err *err)
{
    *w = (gmm_work){.d = d, .k = k};
    w->pi = malloc((size_t)k * sizeof(double));
    w->mu = malloc((size_t)k * d * sizeof(double));
    w->cov = malloc((size_t)k * d * d * sizeof(double));
    w->L = malloc((size_t)k * d * d * sizeof(double));
    w->logdet = malloc((size_t)k * sizeof(double));
    w->tmp = malloc((size_t)d * sizeof(double));
    w->lp = malloc((size_t)k * sizeof(double));
    if (w->pi && w->mu && w->cov && w->L && w->logdet && w->tmp && w->lp)
        return 0;
    gmm_work_free(w);
    return out_of_memory(err, "the Gaussian mixture");
}

/* The factors and log-determinants of w's covariances. */
static int gmm_factor(gmm_work *w, dlx_err *err)
{
    const int d = w->d;
    for (int j = 0; j < w->k; j++) {
        double *Lj = w->L + (size_t)j * d * d;
        if (!cholesky(w->cov + (size_t)j * d * d, d, Lj))
            return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "Gaussian mixture: covariance %d is not positive definite "
                                "(raise model.reg)", j);
        w->logdet[j] = 0.0;
        for (int a = 0; a < d; a++)
            w->logdet[j] += 2.0 * log(Lj[(size_t)a * d + a]);
    }
    return 0;
}

/* One E step (responsibilities into r, n x k) and M step; the mean
 * log-likelihood under the parameters before the M step into *ll. */
static int gmm_em_step(gmm_work *w, const float *X, int64_t n, double reg, double *r, double *ll, dlx_err *err)
{
    const int d = w->d, k = w->k;
    int rc = gmm_factor(w, err);
    if (rc)
        return rc;
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        log_joint(w->pi, w->mu, w->L, w->logdet, d, k, X + i * d, w->tmp, w->lp);
        double lse = log_sum_exp(w->lp, k);
        total += lse;
        for (int j = 0; j < k; j++)
            r[(size_t)i * k + j] = exp(w->lp[j] - lse);
    }
    *ll = total / (double)n;
    for (int j = 0; j < k; j++) {
        double nj = 0.0;
        for (int64_t i = 0; i < n; i++)
            nj += r[(size_t)i * k + j];
        if (nj < 1e-10) /* an empty component keeps its parameters */
            continue;
        double *mj = w->mu + (size_t)j * d, *cj = w->cov + (size_t)j * d * d;
        memset(mj, 0, (size_t)d * sizeof *mj);
        memset(cj, 0, (size_t)d * d * sizeof *cj);
        for (int64_t i = 0; i < n; i++)
            for (int a = 0; a < d; a++)
                mj[a] += r[(size_t)i * k + j] * X[i * d + a];
        for (int a = 0; a < d; a++)
            mj[a] /= nj;
        for (int64_t i = 0; i < n; i++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b <= a; b++)
                    cj[(size_t)a * d + b] += r[(size_t)i * k + j] * (X[i * d + a] - mj[a]) * (X[i * d + b] - mj[b]);
        for (int a = 0; a < d; a++) {
            for (int b = 0; b <= a; b++)
                cj[(size_t)b * d + a] = cj[(size_t)a * d + b] /= nj;
            cj[(size_t)a * d + a] += reg;
        }
        w->pi[j] = nj / (double)n;
    }
    return 0;
}

int dlx_energy_gmm_fit(const float *X, int64_t n, int d, int k, int iters, double reg, float *pi, float *mu,
                       float *cov, double *loglik, dlx_err *err)
{
    gmm_work w;
    int rc = gmm_work_alloc(&w, d, k, err);
    if (rc)
        return rc;
    double *r = malloc((size_t)n * k * sizeof *r), *mean = calloc((size_t)d, sizeof *mean), ll = 0.0;
    if (!r || !mean)
        rc = out_of_memory(err, "the responsibilities");
    for (int64_t i = 0; !rc && i < n; i++) /* start: equal weights, the given means, the data's covariance */
        for (int a = 0; a < d; a++)
            mean[a] += X[i * d + a] / (double)n;
    for (int j = 0; !rc && j < k; j++) {
        w.pi[j] = 1.0 / k;
        for (int a = 0; a < d; a++)
            w.mu[(size_t)j * d + a] = mu[(size_t)j * d + a];
        double *cj = w.cov + (size_t)j * d * d;
        memset(cj, 0, (size_t)d * d * sizeof *cj);
        for (int64_t i = 0; i < n; i++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    cj[(size_t)a * d + b] += (X[i * d + a] - mean[a]) * (X[i * d + b] - mean[b]) / (double)n;
        for (int a = 0; a < d; a++)
            cj[(size_t)a * d + a] += reg;
    }
    for (int it = 0; !rc && it < iters; it++)
        rc = gmm_em_step(&w, X, n, reg, r, &ll, err);
    if (!rc && loglik) { /* the likelihood under the final parameters */
        double total = 0.0;
        rc = gmm_factor(&w, err);
        for (int64_t i = 0; !rc && i < n; i++) {
            log_joint(w.pi, w.mu, w.L, w.logdet, d, k, X + i * d, w.tmp, w.lp);
            total += log_sum_exp(w.lp, k);
        }
        *loglik = total / (double)n;
    }
    for (int j = 0; !rc && j < k; j++) {
        pi[j] = (float)w.pi[j];
        for (int a = 0; a < d; a++)
            mu[(size_t)j * d + a] = (float)w.mu[(size_t)j * d + a];
        for (int a = 0; a < d * d; a++)
            cov[(size_t)j * d * d + a] = (float)w.cov[(size_t)j * d * d + a];
    }
    free(r);
    free(mean);
    gmm_work_free(&w);
    return rc;
}

int dlx_energy_gmm(const float *pi, const float *mu, const float *cov, int d, int k, const float *Y, int64_t n,
                   float *E, dlx_err *err)
{
    gmm_work w;
    int rc = gmm_work_alloc(&w, d, k, err);
    if (rc)
        return rc;
    for (int j = 0; j < k; j++) {
        w.pi[j] = fmax((double)pi[j], 1e-300);
        for (int a = 0; a < d; a++)
            w.mu[(size_t)j * d + a] = mu[(size_t)j * d + a];
        for (int a = 0; a < d * d; a++)
            w.cov[(size_t)j * d * d + a] = cov[(size_t)j * d * d + a];
    }
    rc = gmm_factor(&w, err);
    for (int64_t i = 0; !rc && i < n; i++) {
        log_joint(w.pi, w.mu, w.L, w.logdet, d, k, Y + i * d, w.tmp, w.lp);
        E[i] = (float)-log_sum_exp(w.lp, k);
    }
    gmm_work_free(&w);
    return rc;
}

/* ---- the AUC ---- */

typedef struct scored {
    float e;
    int other; /* 1: a non-data point */
} scored;

static int cmp_scored(const void *a, const void *b)
{
    float x = ((const scored *)a)->e, y = ((const scored *)b)->e;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y); /* NaN above everything */
    return (x > y) - (x < y);
}

int dlx_energy_auc(const float *e_data, int64_t n_data, const float *e_other, int64_t n_other, double *auc,
                   dlx_err *err)
{
    if (n_data < 1 || n_other < 1)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "AUC: needs data and non-data points (%lld and %lld)",
                            (long long)n_data, (long long)n_other);
    int64_t n = n_data + n_other;
    scored *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return out_of_memory(err, "the AUC");
    for (int64_t i = 0; i < n_data; i++)
        s[i] = (scored){e_data[i], 0};
    for (int64_t i = 0; i < n_other; i++)
        s[n_data + i] = (scored){e_other[i], 1};
    qsort(s, (size_t)n, sizeof *s, cmp_scored);
    double rank_sum = 0.0; /* the non-data points' ranks (1-based), ties at their mean rank */
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        while (j < n && cmp_scored(&s[i], &s[j]) == 0)
            j++;
        double mean_rank = 0.5 * (double)(i + 1 + j), others = 0.0;
        for (int64_t q = i; q < j; q++)
            others += s[q].other;
        rank_sum += others * mean_rank;
        i = j;
    }
    free(s);
    *auc = (rank_sum - 0.5 * (double)n_other * (double)(n_other + 1)) / ((double)n_other * (double)n_data);
    return 0;
}
