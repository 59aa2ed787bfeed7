/* The pure sample-quality scores of core/scores.h: inception score, I',
 * the Fréchet distance (closed forms, and numpy's value on random features
 * committed in tests/data/scores/frechet.txt). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/scores.h"

START_TEST(test_is_uniform)
{
    enum { N = 7, K = 10 };
    double lp[N * K];
    for (int i = 0; i < N * K; i++)
        lp[i] = log(0.1);
    dlx_inception r;
    dlx_err err;
    ck_assert_int_eq(dlx_inception_scores(lp, N, K, &r, &err), 0);
    ck_assert_double_eq_tol(r.is, 1.0, 1e-12);
    ck_assert_double_eq_tol(r.iprime, 0.0, 1e-12);
    ck_assert_double_eq_tol(r.iprime_sq, 0.0, 1e-24);
}
END_TEST

/* Certain predictions spread evenly over the 10 classes: IS = 10, and I' is
 * infinite (p(y) puts mass where p(y|x) has none). */
START_TEST(test_is_onehot)
{
    enum { N = 50, K = 10 };
    double lp[N * K];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < K; j++)
            lp[i * K + j] = j == i % K ? 0.0 : -INFINITY;
    dlx_inception r;
    dlx_err err;
    ck_assert_int_eq(dlx_inception_scores(lp, N, K, &r, &err), 0);
    ck_assert_double_eq_tol(r.is, 10.0, 1e-12);
    ck_assert_double_eq_tol(r.kl, log(10.0), 1e-14);
    ck_assert(isinf(r.iprime) && r.iprime > 0);
    /* all on one class: IS 1, I' 0 */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < K; j++)
            lp[i * K + j] = j == 3 ? 0.0 : -INFINITY;
    ck_assert_int_eq(dlx_inception_scores(lp, N, K, &r, &err), 0);
    ck_assert_double_eq_tol(r.is, 1.0, 1e-14);
    ck_assert_double_eq_tol(r.iprime, 0.0, 1e-14);
}
END_TEST

/* Two samples, two classes: p1 = (0.8, 0.2), p2 = (0.4, 0.6), p(y) = (0.6, 0.4).
 * KL(p1||py) = 0.8 ln(4/3) + 0.2 ln(1/2) = 0.0915162219; KL(p2||py) =
 * 0.2 ln 1.5 = 0.0810930216; IS = exp(0.0863046217) = 1.0901383576.
 * KL(py||p1) = 0.6 ln 0.75 + 0.4 ln 2 = 0.1046496288; KL(py||p2) = 0.2 ln 1.5;
 * I' = 0.0928713252, I'^2 = 0.0086250830. */
START_TEST(test_is_by_hand)
{
    double lp[4] = {log(0.8), log(0.2), log(0.4), log(0.6)};
    dlx_inception r;
    dlx_err err;
    ck_assert_int_eq(dlx_inception_scores(lp, 2, 2, &r, &err), 0);
    ck_assert_double_eq_tol(r.kl, 0.0863046217355343, 1e-12);
    ck_assert_double_eq_tol(r.is, 1.090138357569351, 1e-12);
    ck_assert_double_eq_tol(r.iprime, 0.09287132518727115, 1e-12);
    ck_assert_double_eq_tol(r.iprime_sq, 0.008625083042039865, 1e-13);
}
END_TEST

START_TEST(test_is_errors)
{
    double lp[4] = {log(0.8), log(0.3), log(0.4), log(0.6)};
    dlx_inception r;
    dlx_err err;
    ck_assert_int_eq(dlx_inception_scores(lp, 2, 2, &r, &err), DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "sample 0"));
    lp[1] = NAN;
    ck_assert_int_eq(dlx_inception_scores(lp, 2, 2, &r, &err), DLX_ENUM);
    ck_assert_int_eq(dlx_inception_scores(lp, 0, 2, &r, &err), DLX_EINVAL);
    ck_assert_int_eq(dlx_inception_scores(lp, 2, 0, &r, &err), DLX_EINVAL);
}
END_TEST

/* log softmax of logits far apart stays finite and normalised */
START_TEST(test_log_softmax)
{
    float z[6] = {1000.0f, 0.0f, -1000.0f, 1.0f, 2.0f, 3.0f};
    double lp[6];
    dlx_log_softmax_rows(z, 2, 3, lp);
    ck_assert_double_eq_tol(lp[0], 0.0, 1e-12);
    ck_assert_double_eq_tol(lp[1], -1000.0, 1e-9);
    ck_assert_double_eq_tol(lp[2], -2000.0, 1e-9);
    double s = exp(lp[3]) + exp(lp[4]) + exp(lp[5]);
    ck_assert_double_eq_tol(s, 1.0, 1e-14);
    ck_assert_double_eq_tol(lp[5] - lp[4], 1.0, 1e-14);
    dlx_inception r;
    dlx_err err;
    ck_assert_int_eq(dlx_inception_scores(lp, 2, 3, &r, &err), 0);
    ck_assert(isfinite(r.iprime)); /* p(y=2|x_0) underflows, its log does not */
}
END_TEST

/* moments given directly */
static void set_moments(dlx_moments *m, int d, const double *mean, const double *cov)
{
    m->n = 100;
    m->d = d;
    m->mean = malloc((size_t)d * sizeof *m->mean);
    m->cov = malloc((size_t)d * d * sizeof *m->cov);
    memcpy(m->mean, mean, (size_t)d * sizeof *m->mean);
    memcpy(m->cov, cov, (size_t)d * d * sizeof *m->cov);
}

/* Closed forms: commuting covariances diag(1, 4) and diag(9, 16), means 3
 * apart: 9 + 30 - 2 (3 + 8) = 17. S1 = 4 I, S2 = [[2, 1], [1, 2]]
 * (eigenvalues 1, 3): 8 + 4 - 2 * 2 (1 + sqrt 3) = 8 - 4 sqrt 3. In one
 * dimension (m1 - m2)^2 + (s1 - s2)^2. */
START_TEST(test_frechet_closed_form)
{
    dlx_moments a, b;
    dlx_err err;
    double fd;
    set_moments(&a, 2, (double[]){0, 0}, (double[]){1, 0, 0, 4});
    set_moments(&b, 2, (double[]){3, 0}, (double[]){9, 0, 0, 16});
    ck_assert_int_eq(dlx_frechet_distance(&a, &b, &fd, &err), 0);
    ck_assert_double_eq_tol(fd, 17.0, 1e-10);
    ck_assert_int_eq(dlx_frechet_distance(&b, &a, &fd, &err), 0);
    ck_assert_double_eq_tol(fd, 17.0, 1e-10);
    dlx_moments_free(&a);
    dlx_moments_free(&b);
    set_moments(&a, 2, (double[]){1, 2}, (double[]){4, 0, 0, 4});
    set_moments(&b, 2, (double[]){1, 2}, (double[]){2, 1, 1, 2});
    ck_assert_int_eq(dlx_frechet_distance(&a, &b, &fd, &err), 0);
    ck_assert_double_eq_tol(fd, 8.0 - 4.0 * sqrt(3.0), 1e-10);
    ck_assert_int_eq(dlx_frechet_distance(&b, &a, &fd, &err), 0);
    ck_assert_double_eq_tol(fd, 8.0 - 4.0 * sqrt(3.0), 1e-10);
    dlx_moments_free(&a);
    dlx_moments_free(&b);
    set_moments(&a, 1, (double[]){0.5}, (double[]){0.25});
    set_moments(&b, 1, (double[]){-1.5}, (double[]){9});
    ck_assert_int_eq(dlx_frechet_distance(&a, &b, &fd, &err), 0);
    ck_assert_double_eq_tol(fd, 4.0 + 2.5 * 2.5, 1e-12);
    dlx_moments_free(&b);
    /* a singular covariance (rank 1) is fine: its zero eigenvalues clamp */
    set_moments(&b, 1, (double[]){0.5}, (double[]){0});
    ck_assert_int_eq(dlx_frechet_distance(&a, &b, &fd, &err), 0);
    ck_assert_double_eq_tol(fd, 0.25, 1e-12);
    dlx_moments_free(&a);
    dlx_moments_free(&b);
}
END_TEST

static float *read_rows(FILE *f, int n, int d)
{
    float *x = malloc((size_t)n * d * sizeof *x);
    for (int i = 0; i < n * d; i++)
        ck_assert_int_eq(fscanf(f, "%f", &x[i]), 1);
    return x;
}

/* numpy's Fréchet distance of two random feature sets (make_frechet.py);
 * a set against itself is 0 to rounding. */
START_TEST(test_frechet_numpy)
{
    const char *src = getenv("DLX_SRC_DIR");
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/tests/data/scores/frechet.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* the comment line */
    int na, nb, d;
    ck_assert_int_eq(fscanf(f, "%d %d %d", &na, &nb, &d), 3);
    float *xa = read_rows(f, na, d), *xb = read_rows(f, nb, d);
    double want;
    ck_assert_int_eq(fscanf(f, "%lf", &want), 1);
    fclose(f);
    dlx_moments a, b;
    dlx_err err;
    double fd;
    ck_assert_int_eq(dlx_moments_compute(xa, na, d, &a, &err), 0);
    ck_assert_int_eq(dlx_moments_compute(xb, nb, d, &b, &err), 0);
    ck_assert_int_eq(dlx_frechet_distance(&a, &b, &fd, &err), 0);
    ck_assert_msg(fabs(fd - want) < 1e-9 * want, "FD %.15g, numpy %.15g", fd, want);
    ck_assert_int_eq(dlx_frechet_distance(&a, &a, &fd, &err), 0);
    ck_assert_msg(fabs(fd) < 1e-9, "FD(A, A) = %g", fd);
    dlx_moments_free(&a);
    dlx_moments_free(&b);
    free(xa);
    free(xb);
}
END_TEST

START_TEST(test_frechet_errors)
{
    float x[8] = {1, 2, 3, 4, 5, 6, 7, NAN};
    dlx_moments a, b;
    dlx_err err;
    double fd;
    ck_assert_int_eq(dlx_moments_compute(x, 1, 2, &a, &err), DLX_EINVAL);
    ck_assert_int_eq(dlx_moments_compute(x, 2, 0, &a, &err), DLX_EINVAL);
    ck_assert_int_eq(dlx_moments_compute(x, 2, DLX_FRECHET_DIM_MAX + 1, &a, &err), DLX_EINVAL);
    ck_assert_int_eq(dlx_moments_compute(x, 4, 2, &a, &err), DLX_ENUM);
    ck_assert_ptr_null(a.mean);
    ck_assert_int_eq(dlx_moments_compute(x, 3, 2, &a, &err), 0);
    ck_assert_int_eq(dlx_moments_compute(x, 2, 3, &b, &err), 0);
    ck_assert_int_eq(dlx_frechet_distance(&a, &b, &fd, &err), DLX_EINVAL);
    ck_assert(isnan(fd));
    /* the sample covariance divides by n - 1: rows (1,2), (3,4), (5,6) */
    ck_assert_double_eq_tol(a.mean[0], 3.0, 1e-15);
    ck_assert_double_eq_tol(a.cov[0], 4.0, 1e-15);
    ck_assert_double_eq_tol(a.cov[1], 4.0, 1e-15);
    dlx_moments_free(&a);
    dlx_moments_free(&b);
}
END_TEST

Suite *scores_suite(void)
{
    Suite *s = suite_create("scores");
    TCase *tc = tcase_create("scores");
    tcase_add_test(tc, test_is_uniform);
    tcase_add_test(tc, test_is_onehot);
    tcase_add_test(tc, test_is_by_hand);
    tcase_add_test(tc, test_is_errors);
    tcase_add_test(tc, test_log_softmax);
    tcase_add_test(tc, test_frechet_closed_form);
    tcase_add_test(tc, test_frechet_numpy);
    tcase_add_test(tc, test_frechet_errors);
    suite_add_tcase(s, tc);
    return s;
}
