/* models/energy.h and core/toy2d.h: PCA against LAPACK's eigen-decomposition
 * (dsyevd) to 1e-5, K-means and EM against naive references written here on
 * small cases, the AUC against counting every pair, and the toy data
 * sources (on their manifolds, a pure function of the point's index). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "../core/toy2d.h"
#include "../models/energy.h"

extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info);

/* LAPACK's eigenvalues (ascending) and eigenvectors (columns of a, column-major) of s (d x d). */
static void lapack_eig(const double *s, int d, double *w, double *a)
{
    memcpy(a, s, (size_t)d * d * sizeof *a); /* symmetric: row- and column-major agree */
    int lwork = 1 + 6 * d + 2 * d * d, liwork = 3 + 5 * d, info = 0;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    dsyevd_("V", "U", &d, a, &d, w, work, &lwork, iwork, &liwork, &info);
    ck_assert_int_eq(info, 0);
    free(work);
    free(iwork);
}

/* n points in d dimensions with very different spreads along a random rotation */
static float *anisotropic(int64_t n, int d, uint64_t seed)
{
    float *x = malloc((size_t)n * d * sizeof *x);
    dlx_rng r;
    dlx_rng_init(&r, seed, 99);
    float rot[8][8];
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
            rot[a][b] = dlx_rng_normal(&r);
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < d; a++) {
            double v = 0.3 * a + 1.0;
            for (int b = 0; b < d; b++)
                v += rot[a][b] * dlx_rng_normal(&r) * (double)(d - b);
            x[i * d + a] = (float)v;
        }
    return x;
}

START_TEST(test_symeig_vs_lapack)
{
    enum { D = 8 };
    double s[D * D], a[D * D], w[D], v[D * D], wl[D], al[D * D];
    dlx_rng r;
    dlx_rng_init(&r, 3, 7);
    for (int i = 0; i < D; i++)
        for (int j = 0; j <= i; j++)
            s[i * D + j] = s[j * D + i] = dlx_rng_normal(&r);
    memcpy(a, s, sizeof a);
    dlx_err err = {0};
    ck_assert_int_eq(dlx_energy_symeig(a, D, w, v, &err), 0);
    lapack_eig(s, D, wl, al);
    for (int j = 0; j < D; j++) {
        ck_assert_msg(fabs(w[j] - wl[D - 1 - j]) < 1e-5, "eigenvalue %d: %g vs LAPACK %g", j, w[j], wl[D - 1 - j]);
        double dot = 0.0; /* the same direction up to its sign */
        for (int k = 0; k < D; k++)
            dot += v[j * D + k] * al[(size_t)(D - 1 - j) * D + k];
        ck_assert_msg(fabs(fabs(dot) - 1.0) < 1e-5, "eigenvector %d: |cos| = %g", j, fabs(dot));
    }
}
END_TEST

START_TEST(test_pca_vs_lapack)
{
    enum { N = 500, D = 6, K = 3 };
    float *x = anisotropic(N, D, 5), mu[D], W[K * D];
    double var[K], cov[D * D] = {0}, m[D] = {0}, wl[D], al[D * D];
    dlx_err err = {0};
    ck_assert_int_eq(dlx_energy_pca_fit(x, N, D, K, mu, W, var, &err), 0);
    for (int i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            m[a] += x[i * D + a] / (double)N;
    for (int i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++)
                cov[a * D + b] += (x[i * D + a] - m[a]) * (x[i * D + b] - m[b]) / N;
    lapack_eig(cov, D, wl, al);
    for (int a = 0; a < D; a++)
        ck_assert_msg(fabs(mu[a] - m[a]) < 1e-5 * (1 + fabs(m[a])), "mean %d", a);
    for (int j = 0; j < K; j++)
        ck_assert_msg(fabs(var[j] - wl[D - 1 - j]) < 1e-5 * wl[D - 1], "variance %d: %g vs %g", j, var[j], wl[D - 1 - j]);
    /* the projector W^T W against LAPACK's leading eigenvectors' (signs drop out) */
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            double p = 0.0, q = 0.0;
            for (int j = 0; j < K; j++) {
                p += (double)W[j * D + a] * W[j * D + b];
                q += al[(size_t)(D - 1 - j) * D + a] * al[(size_t)(D - 1 - j) * D + b];
            }
            ck_assert_msg(fabs(p - q) < 1e-5, "projector (%d, %d): %g vs LAPACK %g", a, b, p, q);
        }
    /* E is the squared distance to the affine subspace: zero on it, |r|^2 off it along a dropped direction */
    float y[2 * D], E[2];
    for (int a = 0; a < D; a++) {
        y[a] = mu[a] + 2.0f * W[a] - 1.5f * W[D + a];
        y[D + a] = mu[a] + 0.7f * (float)al[(size_t)0 * D + a]; /* the smallest eigenvector: not kept */
    }
    dlx_energy_pca(mu, W, D, K, y, 2, E);
    ck_assert_msg(E[0] < 1e-5, "on the subspace: E = %g", E[0]);
    ck_assert_msg(fabs(E[1] - 0.49) < 1e-4, "off it by 0.7: E = %g", E[1]);
    free(x);
}
END_TEST

/* Lloyd's iterations the plain way, from the same starting centres */
static void naive_kmeans(const float *x, int n, int d, int k, int iters, double *C)
{
    for (int it = 0; it < iters; it++) {
        double sum[16 * 4] = {0}, cnt[16] = {0};
        for (int i = 0; i < n; i++) {
            int arg = 0;
            double best = INFINITY;
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int a = 0; a < d; a++)
                    s += (x[i * d + a] - C[j * d + a]) * (x[i * d + a] - C[j * d + a]);
                if (s < best)
                    best = s, arg = j;
            }
            cnt[arg]++;
            for (int a = 0; a < d; a++)
                sum[arg * d + a] += x[i * d + a];
        }
        for (int j = 0; j < k; j++)
            for (int a = 0; a < d && cnt[j] > 0; a++)
                C[j * d + a] = sum[j * d + a] / cnt[j];
    }
}

START_TEST(test_kmeans_vs_naive)
{
    enum { N = 300, K = 5 };
    float x[2 * N], C[2 * K], E[N];
    double Cn[2 * K];
    dlx_toy_fill(DLX_TOY_GAUSSIANS, 0.0, 11, 3, 0, N, x);
    dlx_energy_kmeans_init(x, N, 2, K, 11, C);
    for (int j = 0; j < 2 * K; j++)
        Cn[j] = C[j];
    for (int j = 0; j < K; j++) /* distinct starting rows */
        for (int q = 0; q < j; q++)
            ck_assert(C[2 * j] != C[2 * q] || C[2 * j + 1] != C[2 * q + 1]);
    dlx_err err = {0};
    int ran = 0;
    ck_assert_int_eq(dlx_energy_kmeans_fit(x, N, 2, K, 100, C, &ran, &err), 0);
    ck_assert_int_lt(ran, 100); /* converged: no assignment changed */
    naive_kmeans(x, N, 2, K, 100, Cn);
    for (int j = 0; j < 2 * K; j++)
        ck_assert_msg(fabs(C[j] - Cn[j]) < 1e-5, "centre value %d: %g vs naive %g", j, C[j], Cn[j]);
    dlx_energy_kmeans(C, 2, K, x, N, E);
    for (int i = 0; i < N; i++) {
        double best = INFINITY;
        for (int j = 0; j < K; j++)
            best = fmin(best, pow(x[2 * i] - Cn[2 * j], 2) + pow(x[2 * i + 1] - Cn[2 * j + 1], 2));
        ck_assert_msg(fabs(E[i] - best) < 1e-5, "E[%d] = %g, naive %g", i, E[i], best);
    }
}
END_TEST

/* EM for a 2-D mixture with the 2 x 2 inverse and determinant written out */
static double naive_em(const float *x, int n, int k, int iters, double reg, double *pi, double *mu, double *cov)
{
    double ll = 0.0;
    double *r = malloc((size_t)n * k * sizeof *r);
    for (int it = 0; it <= iters; it++) {
        ll = 0.0;
        for (int i = 0; i < n; i++) {
            double p[8], tot = 0.0;
            for (int j = 0; j < k; j++) {
                const double *c = cov + 4 * j;
                double det = c[0] * c[3] - c[1] * c[2];
                double dx = x[2 * i] - mu[2 * j], dy = x[2 * i + 1] - mu[2 * j + 1];
                double q = (c[3] * dx * dx - 2 * c[1] * dx * dy + c[0] * dy * dy) / det;
                p[j] = pi[j] * exp(-0.5 * q) / (2 * M_PI * sqrt(det));
                tot += p[j];
            }
            ll += log(tot);
            for (int j = 0; j < k; j++)
                r[i * k + j] = p[j] / tot;
        }
        ll /= n;
        if (it == iters) /* the likelihood under the final parameters */
            break;
        for (int j = 0; j < k; j++) {
            double nj = 0, m0 = 0, m1 = 0, s00 = 0, s01 = 0, s11 = 0;
            for (int i = 0; i < n; i++) {
                nj += r[i * k + j];
                m0 += r[i * k + j] * x[2 * i];
                m1 += r[i * k + j] * x[2 * i + 1];
            }
            m0 /= nj, m1 /= nj;
            for (int i = 0; i < n; i++) {
                double dx = x[2 * i] - m0, dy = x[2 * i + 1] - m1;
                s00 += r[i * k + j] * dx * dx;
                s01 += r[i * k + j] * dx * dy;
                s11 += r[i * k + j] * dy * dy;
            }
            pi[j] = nj / n, mu[2 * j] = m0, mu[2 * j + 1] = m1;
            cov[4 * j] = s00 / nj + reg, cov[4 * j + 1] = cov[4 * j + 2] = s01 / nj, cov[4 * j + 3] = s11 / nj + reg;
        }
    }
    free(r);
    return ll;
}

START_TEST(test_gmm_vs_naive)
{
    enum { N = 400, K = 3, ITERS = 8 };
    const double reg = 1e-3;
    float x[2 * N], pi[K], mu[2 * K], cov[4 * K], E[N];
    double pin[K], mun[2 * K], covn[4 * K], ll = 0.0;
    dlx_toy_fill(DLX_TOY_RING, 0.1, 2, 5, 0, N, x);
    dlx_energy_kmeans_init(x, N, 2, K, 2, mu);
    double m0 = 0, m1 = 0, s00 = 0, s01 = 0, s11 = 0; /* the naive start: the data's covariance */
    for (int i = 0; i < N; i++)
        m0 += x[2 * i] / (double)N, m1 += x[2 * i + 1] / (double)N;
    for (int i = 0; i < N; i++) {
        s00 += (x[2 * i] - m0) * (x[2 * i] - m0) / N;
        s01 += (x[2 * i] - m0) * (x[2 * i + 1] - m1) / N;
        s11 += (x[2 * i + 1] - m1) * (x[2 * i + 1] - m1) / N;
    }
    for (int j = 0; j < K; j++) {
        pin[j] = 1.0 / K, mun[2 * j] = mu[2 * j], mun[2 * j + 1] = mu[2 * j + 1];
        covn[4 * j] = s00 + reg, covn[4 * j + 1] = covn[4 * j + 2] = s01, covn[4 * j + 3] = s11 + reg;
    }
    dlx_err err = {0};
    ck_assert_int_eq(dlx_energy_gmm_fit(x, N, 2, K, ITERS, reg, pi, mu, cov, &ll, &err), 0);
    double lln = naive_em(x, N, K, ITERS, reg, pin, mun, covn);
    ck_assert_msg(fabs(ll - lln) < 1e-6, "mean log-likelihood %g vs naive %g", ll, lln);
    for (int j = 0; j < K; j++) {
        ck_assert_msg(fabs(pi[j] - pin[j]) < 1e-5, "weight %d: %g vs %g", j, pi[j], pin[j]);
        for (int a = 0; a < 2; a++)
            ck_assert_msg(fabs(mu[2 * j + a] - mun[2 * j + a]) < 1e-5, "mean %d.%d", j, a);
        for (int a = 0; a < 4; a++)
            ck_assert_msg(fabs(cov[4 * j + a] - covn[4 * j + a]) < 1e-5, "covariance %d.%d: %g vs %g", j, a,
                          cov[4 * j + a], covn[4 * j + a]);
    }
    /* E = -log p: its mean over the data is minus the mean log-likelihood */
    ck_assert_int_eq(dlx_energy_gmm(pi, mu, cov, 2, K, x, N, E, &err), 0);
    double s = 0.0;
    for (int i = 0; i < N; i++)
        s += E[i];
    ck_assert_msg(fabs(-s / N - lln) < 1e-4, "mean -E %g vs log-likelihood %g", -s / N, lln);
}
END_TEST

START_TEST(test_auc_vs_pairs)
{
    enum { A = 37, B = 53 };
    float ea[A], eb[B];
    dlx_rng r;
    dlx_rng_init(&r, 4, 4);
    for (int i = 0; i < A; i++)
        ea[i] = (float)dlx_rng_below(&r, 10); /* many ties */
    for (int i = 0; i < B; i++)
        eb[i] = (float)dlx_rng_below(&r, 10) + 1.5f * (i % 2);
    double pairs = 0.0, auc = 0.0;
    for (int i = 0; i < A; i++)
        for (int j = 0; j < B; j++)
            pairs += eb[j] > ea[i] ? 1.0 : eb[j] == ea[i] ? 0.5 : 0.0;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_energy_auc(ea, A, eb, B, &auc, &err), 0);
    ck_assert_msg(fabs(auc - pairs / (A * B)) < 1e-12, "AUC %g vs pair count %g", auc, pairs / (A * B));
    ck_assert_int_eq(dlx_energy_auc(eb, B, ea, A, &auc, &err), 0);
    ck_assert_msg(fabs(auc - (1.0 - pairs / (A * B))) < 1e-12, "swapped: %g", auc);
    ck_assert_int_ne(dlx_energy_auc(ea, 0, eb, B, &auc, &err), 0);
}
END_TEST

START_TEST(test_toy_sources)
{
    enum { N = 200 };
    float a[2 * N], b[2 * N];
    for (int k = 0; k < DLX_TOY_COUNT; k++) {
        ck_assert_int_eq(dlx_toy_find(dlx_toy_names[k]), k);
        dlx_toy_fill((dlx_toy_kind)k, 0.05, 9, 21, 0, N, a); /* the same points in two pieces */
        dlx_toy_fill((dlx_toy_kind)k, 0.05, 9, 21, 0, 77, b);
        dlx_toy_fill((dlx_toy_kind)k, 0.05, 9, 21, 77, N - 77, b + 2 * 77);
        ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
        dlx_toy_fill((dlx_toy_kind)k, 0.05, 10, 21, 0, N, b); /* another seed, other points */
        ck_assert_int_ne(memcmp(a, b, sizeof a), 0);
    }
    ck_assert_int_eq(dlx_toy_find("mnist"), -1);
    dlx_toy_fill(DLX_TOY_PARABOLA, 0.0, 1, 1, 0, N, a);
    dlx_toy_fill(DLX_TOY_RING, 0.0, 1, 1, 0, N, b);
    double box[4];
    dlx_toy_box(DLX_TOY_PARABOLA, box);
    for (int i = 0; i < N; i++) {
        ck_assert(fabsf(a[2 * i + 1] - a[2 * i] * a[2 * i]) < 1e-6f && fabsf(a[2 * i]) <= 1.0f);
        ck_assert(fabs(hypot(b[2 * i], b[2 * i + 1]) - 1.0) < 1e-6);
        ck_assert(a[2 * i] >= box[0] && a[2 * i] <= box[1] && a[2 * i + 1] >= box[2] && a[2 * i + 1] <= box[3]);
    }
    dlx_toy_uniform(box, 1, 2, 0, N, a);
    double mx = 0.0;
    for (int i = 0; i < N; i++) {
        ck_assert(a[2 * i] >= box[0] && a[2 * i] <= box[1] && a[2 * i + 1] >= box[2] && a[2 * i + 1] <= box[3]);
        mx += a[2 * i] / N;
    }
    ck_assert_msg(fabs(mx) < 0.2, "uniform x has mean %g", mx);
}
END_TEST

Suite *energy_suite(void)
{
    Suite *s = suite_create("energy");
    TCase *tc = tcase_create("energy");
    tcase_add_test(tc, test_symeig_vs_lapack);
    tcase_add_test(tc, test_pca_vs_lapack);
    tcase_add_test(tc, test_kmeans_vs_naive);
    tcase_add_test(tc, test_gmm_vs_naive);
    tcase_add_test(tc, test_auc_vs_pairs);
    tcase_add_test(tc, test_toy_sources);
    suite_add_tcase(s, tc);
    return s;
}
