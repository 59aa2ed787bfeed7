/* Sample scores through a dlx classifier (models/classifier_score.h): the
 * checkpoints it refuses, and end to end on real MNIST (skipped without
 * datasets/data/mnist): a small MLP trained for 2 epochs scores real test
 * digits near the top of the inception score and uniform noise near its
 * bottom, and the Fréchet distance tells noise from digits. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/data.h"
#include "../core/rng.h"
#include "../core/spec.h"
#include "../experiments/model.h"
#include "../models/family.h"
#include "../models/classifier_score.h"
#include "../train/checkpoint.h"

static char g_tmp[256];

static void tmp_setup(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/dlx_score_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_tmp));
}

static void tmp_teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_tmp);
}

static const char *src_dir(void)
{
    const char *s = getenv("DLX_SRC_DIR");
    return s && s[0] ? s : ".";
}

START_TEST(test_refuses)
{
    dlx_clf_scorer *s = NULL;
    dlx_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/missing.h5", g_tmp);
    ck_assert_int_eq(dlx_clf_scorer_open(path, 0, &s, &err), DLX_EIO);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err.file, "missing.h5"));
    /* not HDF5 */
    snprintf(path, sizeof path, "%s/text.h5", g_tmp);
    FILE *f = fopen(path, "w");
    fputs("not a checkpoint\n", f);
    fclose(f);
    ck_assert_int_eq(dlx_clf_scorer_open(path, 0, &s, &err), DLX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.file, "text.h5"));
    /* a checkpoint of another family: the GAN on its ring of Gaussians */
    char spec_path[512];
    snprintf(spec_path, sizeof spec_path, "%s/tests/data/gan/ring.yaml", src_dir());
    dlx_spec *spec;
    ck_assert_int_eq(dlx_spec_load_file(spec_path, &spec, &err), 0);
    dlx_model *m;
    int rc = dlx_model_create(spec, g_tmp, NULL, &m, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(dlx_run_save_checkpoint(m, &err), 0);
    dlx_model_destroy(m);
    snprintf(path, sizeof path, "%s/checkpoint.h5", g_tmp);
    ck_assert_int_eq(dlx_clf_scorer_open(path, 0, &s, &err), DLX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.file, "checkpoint.h5"));
    ck_assert_msg(strstr(err.msg, "'gan', not a classifier") != NULL, "%s", err.msg);
    ck_assert_int_eq(dlx_clf_scorer_open(path, -1, &s, &err), DLX_EINVAL);
}
END_TEST

static bool have_mnist(char *dir, size_t n)
{
    char probe[1200];
    snprintf(dir, n, "%s/datasets/data/mnist", src_dir());
    snprintf(probe, sizeof probe, "%s/t10k-images-idx3-ubyte", dir);
    if (access(probe, R_OK) == 0)
        return true;
    snprintf(probe, sizeof probe, "%s/t10k-images-idx3-ubyte.gz", dir);
    return access(probe, R_OK) == 0;
}

/* Train the small MLP into g_tmp; its checkpoint path into ckpt. */
static void train_mlp(const char *dir, char *ckpt, size_t n)
{
    char text[2048];
    snprintf(text, sizeof text,
             "version: 1\nseed: 1\nmodel:\n  kind: classifier\n  layers:\n    - {type: flatten}\n"
             "    - {type: linear, units: 128, activation: relu}\n    - {type: linear, units: 64, activation: relu}\n"
             "    - {type: linear, units: 10}\n"
             "data: {dataset: mnist, dir: '%s', mean: 0.1307, std: 0.3081, test_limit: 500}\n"
             "train: {epochs: 3, batch: 64, save: end, optimizer: {type: sgd, lr: 0.05, momentum: 0.9}}\n",
             dir);
    dlx_spec *spec;
    dlx_err err;
    ck_assert_int_eq(dlx_spec_load_string(text, "score_mlp.yaml", &spec, &err), 0);
    dlx_model *m;
    int rc = dlx_model_create(spec, g_tmp, NULL, &m, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    rc = m->family->train(m, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    dlx_model_destroy(m);
    snprintf(ckpt, n, "%s/checkpoint.h5", g_tmp);
}

static double fd_of(const float *a, int64_t na, const float *b, int64_t nb, int64_t d)
{
    dlx_moments ma, mb;
    dlx_err err;
    double fd;
    ck_assert_int_eq(dlx_moments_compute(a, na, d, &ma, &err), 0);
    ck_assert_int_eq(dlx_moments_compute(b, nb, d, &mb, &err), 0);
    ck_assert_int_eq(dlx_frechet_distance(&ma, &mb, &fd, &err), 0);
    dlx_moments_free(&ma);
    dlx_moments_free(&mb);
    return fd;
}

START_TEST(test_mnist_end_to_end)
{
    char dir[1024], ckpt[512];
    if (!have_mnist(dir, sizeof dir)) {
        fprintf(stderr, "sample_score: real MNIST missing, end-to-end test skipped\n");
        return;
    }
    train_mlp(dir, ckpt, sizeof ckpt);
    dlx_clf_scorer *s;
    dlx_err err;
    int rc = dlx_clf_scorer_open(ckpt, 0, &s, &err);
    ck_assert_msg(rc == 0, "%s: %s", err.file, err.msg);
    dlx_clf_scorer_info in;
    dlx_clf_scorer_get_info(s, &in);
    ck_assert_int_eq(in.c, 1);
    ck_assert_int_eq(in.h, 28);
    ck_assert_int_eq(in.in_w, 28);
    ck_assert_int_eq(in.classes, 10);
    ck_assert_int_eq(in.features, 64);
    int64_t nt;
    ck_assert_int_eq(dlx_clf_scorer_test_size(s, &nt, &err), 0);
    ck_assert_int_eq(nt, 10000);

    /* (a) 1,000 real test digits, given as pixels in [0, 1] */
    enum { N = 1000, PX = 784 };
    dlx_dataset d;
    ck_assert_int_eq(dlx_dataset_load_first("mnist", "test", dir, N, &d, &err), 0);
    float *img = malloc((size_t)N * PX * sizeof *img);
    for (int64_t i = 0; i < (int64_t)N * PX; i++)
        img[i] = d.images[i] / 255.0f;
    dlx_dataset_free(&d);
    dlx_sample_scores real, noise;
    rc = dlx_clf_scorer_score(s, img, N, 1, 28, 28, &real, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    /* the caller's path gives what the dataset's path gives */
    double *lp1 = malloc((size_t)N * 10 * sizeof *lp1), *lp2 = malloc((size_t)N * 10 * sizeof *lp2);
    double *pr = malloc((size_t)N * 10 * sizeof *pr);
    float *f1 = malloc((size_t)N * 64 * sizeof *f1), *f2 = malloc((size_t)N * 64 * sizeof *f2);
    float *labels = malloc(N * sizeof *labels);
    ck_assert_int_eq(dlx_clf_scorer_run(s, img, N, 1, 28, 28, pr, lp1, f1, &err), 0);
    ck_assert_int_eq(dlx_clf_scorer_run_test(s, 0, N, lp2, f2, labels, &err), 0);
    double worst = 0.0;
    int right = 0;
    for (int i = 0; i < N; i++) {
        double sum = 0.0;
        int best = 0;
        for (int j = 0; j < 10; j++) {
            worst = fmax(worst, fabs(lp1[i * 10 + j] - lp2[i * 10 + j]));
            ck_assert_double_eq_tol(pr[i * 10 + j], exp(lp1[i * 10 + j]), 1e-15);
            sum += pr[i * 10 + j];
            best = pr[i * 10 + j] > pr[i * 10 + best] ? j : best;
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-12);
        right += best == (int)labels[i];
    }
    ck_assert_msg(worst < 1e-3, "log p differs by %g between the two paths", worst);
    ck_assert_msg(right > 900, "%d of %d right", right, N);
    /* (b) 1,000 images of uniform noise */
    dlx_rng r;
    dlx_rng_init(&r, 7, DLX_STREAM_USER + 1);
    for (int64_t i = 0; i < (int64_t)N * PX; i++)
        img[i] = dlx_rng_uniform(&r);
    rc = dlx_clf_scorer_score(s, img, N, 1, 28, 28, &noise, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    /* two disjoint halves of the test split: even and odd samples, and the
     * first and the second 5,000 (MNIST's test set puts different writers
     * in each, so those differ more) */
    float *fa = malloc((size_t)10000 * 64 * sizeof *fa), *fb = malloc((size_t)10000 * 64 * sizeof *fb);
    ck_assert_int_eq(dlx_clf_scorer_run_test(s, 0, 10000, NULL, fa, NULL, &err), 0);
    for (int i = 0; i < 10000; i++)
        memcpy(fb + (size_t)(i % 2 * 5000 + i / 2) * 64, fa + (size_t)i * 64, 64 * sizeof *fa);
    double halves = fd_of(fb, 5000, fb + 5000 * 64, 5000, 64);
    double first_second = fd_of(fa, 5000, fa + 5000 * 64, 5000, 64);
    fprintf(stderr,
            "sample_score: %d/%d right; real digits IS %.3f I' %.3f I'^2 %.3f FD %.3f; noise IS %.3f I' %.3f "
            "FD %.3f; test halves FD %.3f (even/odd), %.3f (first/second 5000); paths differ by %.2g in log p\n",
            right, N, real.inc.is, real.inc.iprime, real.inc.iprime_sq, real.fid, noise.inc.is, noise.inc.iprime,
            noise.fid, halves, first_second, worst);
    ck_assert_int_eq(real.n, N);
    ck_assert_int_eq(real.n_ref, 10000);
    ck_assert_msg(real.inc.is > 8.0 && real.inc.is <= 10.0, "IS of real digits %g", real.inc.is);
    ck_assert_msg(noise.inc.is < 2.0, "IS of noise %g", noise.inc.is);
    ck_assert_msg(noise.fid > 20.0 * real.fid && noise.fid > 50.0 * halves, "FD noise %g, real %g, halves %g",
                  noise.fid, real.fid, halves);
    /* a size the classifier does not take */
    ck_assert_int_eq(dlx_clf_scorer_run(s, img, 4, 1, 32, 32, NULL, NULL, NULL, &err), DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.file, "checkpoint.h5"));
    ck_assert_ptr_nonnull(strstr(err.msg, "1x28x28"));
    ck_assert_int_eq(dlx_clf_scorer_run_test(s, 9999, 2, NULL, NULL, NULL, &err), DLX_EINVAL);
    dlx_clf_scorer_close(s);
    /* the one-call form gives the same scores */
    dlx_sample_scores again;
    ck_assert_int_eq(dlx_score_samples(ckpt, img, N, 1, 28, 28, 0, &again, &err), 0);
    ck_assert_double_eq_tol(again.inc.is, noise.inc.is, 1e-12);
    ck_assert_double_eq_tol(again.fid, noise.fid, 1e-9 * noise.fid);
    free(img), free(lp1), free(lp2), free(pr), free(f1), free(f2), free(labels), free(fa), free(fb);
}
END_TEST

Suite *sample_score_suite(void)
{
    Suite *s = suite_create("sample_score");
    TCase *tc = tcase_create("sample_score");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_refuses);
    tcase_add_test(tc, test_mnist_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}
