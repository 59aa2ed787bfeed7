/* Sample scores through a dlx classifier (models/classifier_score.h): the
 * checkpoints it refuses, and end to end on real MNIST (skipped without
 * datasets/data/mnist): LeNet-5 trained for one epoch scores real test
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
#include "tmpdir.h"
#include "../models/classifier_score.h"
#include "../train/checkpoint.h"

static char g_tmp[256];

static void tmp_setup(void) { tmpdir_make(g_tmp, sizeof g_tmp, "dlx_score"); }
static void tmp_teardown(void) { tmpdir_remove(g_tmp); }

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

/* A fake MNIST in dir: n_train and n_test 28x28 images of random bytes
 * (a bright square on some), labels i % 10; IDX big-endian headers. */
static void write_idx(const char *dir, const char *name, uint32_t magic, int n, bool images, uint64_t seed)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    uint32_t hdr[4] = {magic, (uint32_t)n, 28, 28};
    for (int i = 0; i < (images ? 4 : 2); i++) {
        unsigned char b[4] = {hdr[i] >> 24, hdr[i] >> 16 & 255, hdr[i] >> 8 & 255, hdr[i] & 255};
        fwrite(b, 1, 4, f);
    }
    dlx_rng r;
    dlx_rng_init(&r, seed, DLX_STREAM_USER + 2);
    for (int i = 0; i < n; i++) {
        if (!images) {
            fputc(i % 10, f);
            continue;
        }
        for (int k = 0; k < 784; k++) {
            int y = k / 28, x = k % 28, sq = i % 3 == 0 && y > 8 && y < 20 && x > 8 && x < 20;
            fputc(sq ? 255 : (int)(dlx_rng_uniform(&r) * 256.0f) & 255, f);
        }
    }
    fclose(f);
}

static void fake_mnist(const char *dir)
{
    write_idx(dir, "train-images-idx3-ubyte", 0x803, 64, true, 1);
    write_idx(dir, "train-labels-idx1-ubyte", 0x801, 64, false, 1);
    write_idx(dir, "t10k-images-idx3-ubyte", 0x803, 300, true, 2);
    write_idx(dir, "t10k-labels-idx1-ubyte", 0x801, 300, false, 2);
}

/* An untrained classifier of `layers` over the fake data in g_tmp (with
 * `data` extra keys), saved to g_tmp/checkpoint.h5. */
static int save_untrained(const char *layers, const char *data, dlx_err *err)
{
    char text[2048];
    snprintf(text, sizeof text,
             "version: 1\nseed: 5\nmodel:\n  kind: classifier\n  layers: %s\n"
             "data: {dataset: mnist, dir: '%s'%s}\ntrain: {epochs: 1, batch: 16}\n",
             layers, g_tmp, data);
    dlx_spec *spec;
    ck_assert_int_eq(dlx_spec_load_string(text, "untrained.yaml", &spec, err), 0);
    dlx_model *m;
    int rc = dlx_model_create(spec, g_tmp, NULL, &m, err);
    ck_assert_msg(rc == 0, "%s", err->msg);
    rc = dlx_run_save_checkpoint(m, err);
    dlx_model_destroy(m);
    return rc;
}

/* The classifier family's own evaluation of the checkpoint (its test split
 * as the spec limits it, n samples) against the scorer's log p: the same
 * loss and accuracy, so parameters, buffers and graph are the family's. */
static void check_against_family(const char *ckpt, dlx_clf_scorer *s, int n)
{
    dlx_model *m;
    dlx_err err;
    int rc = dlx_model_from_checkpoint(ckpt, NULL, &m, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    dlx_results res;
    ck_assert_int_eq(m->family->evaluate(m, NULL, &res, &err), 0);
    double loss, acc, samples;
    ck_assert(dlx_results_get(&res, "loss", &loss) && dlx_results_get(&res, "accuracy", &acc));
    ck_assert(dlx_results_get(&res, "samples", &samples));
    ck_assert_int_eq((int)samples, n);
    dlx_model_destroy(m);
    double *lp = malloc((size_t)n * 10 * sizeof *lp);
    float *y = malloc((size_t)n * sizeof *y);
    ck_assert_int_eq(dlx_clf_scorer_run_test(s, 0, n, lp, NULL, y, &err), 0);
    double nll = 0.0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int j = 1; j < 10; j++)
            best = lp[i * 10 + j] > lp[i * 10 + best] ? j : best;
        right += best == (int)y[i];
        nll -= lp[i * 10 + (int)y[i]];
    }
    ck_assert_msg(fabs(nll / n - loss) < 1e-5 * fmax(1.0, loss), "scorer loss %.9g, family %.9g", nll / n, loss);
    ck_assert_msg(abs(right - (int)lround(acc * n)) <= 1, "scorer %d right, family %g of %d", right, acc, n);
    free(lp);
    free(y);
}

/* data.pad and normalisation: 28x28 pixels in [0, 1], the same padded to
 * 32x32 with black, and the test split through the dataset's own pipeline
 * give the same outputs; a batch-norm classifier loads its buffers. */
START_TEST(test_padding_and_paths)
{
    fake_mnist(g_tmp);
    dlx_err err;
    ck_assert_int_eq(save_untrained("[{type: conv, filters: 4, kernel: 5, stride: 2}, {type: batchnorm}, "
                                    "{type: relu}, {type: flatten}, {type: linear, units: 12, activation: tanh}, "
                                    "{type: dropout, rate: 0.5}, {type: linear, units: 10}]",
                                    ", mean: 0.2, std: 0.4, pad: 2", &err), 0);
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.h5", g_tmp);
    dlx_clf_scorer *s;
    int rc = dlx_clf_scorer_open(ckpt, 0, &s, &err);
    ck_assert_msg(rc == 0, "%s: %s", err.file, err.msg);
    dlx_clf_scorer_info in;
    dlx_clf_scorer_get_info(s, &in);
    ck_assert_int_eq(in.h, 28);
    ck_assert_int_eq(in.in_h, 32);
    ck_assert_int_eq(in.features, 12);
    ck_assert_str_eq(in.dataset, "mnist");
    int64_t nt;
    ck_assert_int_eq(dlx_clf_scorer_test_size(s, &nt, &err), 0);
    ck_assert_int_eq(nt, 300);
    check_against_family(ckpt, s, 300);
    enum { N = 300 }; /* more than one batch of the scorer, and a short last one */
    dlx_dataset d;
    ck_assert_int_eq(dlx_dataset_load("mnist", "test", g_tmp, &d, &err), 0);
    float *bare = malloc((size_t)N * 784 * sizeof *bare), *padded = calloc((size_t)N * 1024, sizeof *padded);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 784; k++) {
            bare[i * 784 + k] = d.images[i * 784 + k] / 255.0f;
            padded[i * 1024 + (k / 28 + 2) * 32 + k % 28 + 2] = bare[i * 784 + k];
        }
    dlx_dataset_free(&d);
    double *l1 = malloc(N * 10 * sizeof *l1), *l2 = malloc(N * 10 * sizeof *l2), *l3 = malloc(N * 10 * sizeof *l3);
    float *f1 = malloc(N * 12 * sizeof *f1), *f2 = malloc(N * 12 * sizeof *f2), *f3 = malloc(N * 12 * sizeof *f3);
    ck_assert_int_eq(dlx_clf_scorer_run(s, bare, N, 1, 28, 28, NULL, l1, f1, &err), 0);
    ck_assert_int_eq(dlx_clf_scorer_run(s, padded, N, 1, 32, 32, NULL, l2, f2, &err), 0);
    ck_assert_int_eq(dlx_clf_scorer_run_test(s, 0, N, l3, f3, NULL, &err), 0);
    for (int i = 0; i < N * 10; i++) {
        ck_assert_double_eq_tol(l1[i], l2[i], 1e-12); /* the same floats in the graph */
        ck_assert_double_eq_tol(l1[i], l3[i], 1e-4);  /* (x - mean) / std vs x * scale + bias */
    }
    for (int i = 0; i < N * 12; i++) {
        ck_assert_float_eq(f1[i], f2[i]);
        ck_assert_float_eq_tol(f1[i], f3[i], 1e-4f);
    }
    /* rows of a short last batch are the rows they would be alone */
    ck_assert_int_eq(dlx_clf_scorer_run(s, bare + 299 * 784, 1, 1, 28, 28, NULL, l2, NULL, &err), 0);
    for (int j = 0; j < 10; j++)
        ck_assert_double_eq_tol(l2[j], l1[299 * 10 + j], 1e-12);
    const dlx_moments *ref;
    ck_assert_int_eq(dlx_clf_scorer_reference(s, &ref, &err), 0);
    ck_assert_int_eq(ref->n, 300);
    ck_assert_int_eq(ref->d, 12);
    dlx_sample_scores sc;
    ck_assert_int_eq(dlx_clf_scorer_score(s, bare, N, 1, 28, 28, &sc, &err), 0);
    ck_assert_msg(fabs(sc.fid) < 1e-6, "FD of the test split to itself %g", sc.fid); /* same images, same features */
    ck_assert(sc.inc.is >= 1.0 && sc.inc.is <= 10.0);
    ck_assert_int_eq(dlx_clf_scorer_score(s, bare, 1, 1, 28, 28, &sc, &err), DLX_EINVAL);
    ck_assert_int_eq(dlx_clf_scorer_run(s, bare, 0, 1, 28, 28, NULL, NULL, NULL, &err), DLX_EINVAL);
    dlx_clf_scorer_close(s);
    free(bare), free(padded), free(l1), free(l2), free(l3), free(f1), free(f2), free(f3);
}
END_TEST

/* Logits from a convolution (no linear layer): no penultimate features. */
START_TEST(test_no_linear)
{
    fake_mnist(g_tmp);
    dlx_err err;
    ck_assert_int_eq(save_untrained("[{type: conv, filters: 10, kernel: 28}, {type: flatten}]", "", &err), 0);
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.h5", g_tmp);
    dlx_clf_scorer *s = NULL;
    ck_assert_int_eq(dlx_clf_scorer_open(ckpt, 0, &s, &err), DLX_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err.msg, "no linear layer"));
    ck_assert_ptr_nonnull(strstr(err.file, "checkpoint.h5"));
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

/* Train configs/lenet5.yaml for one epoch into g_tmp (about 3 s); its
 * checkpoint path into ckpt. */
static void train_lenet5(const char *dir, char *ckpt, size_t n)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/configs/lenet5.yaml", src_dir());
    dlx_spec *spec;
    dlx_err err;
    ck_assert_int_eq(dlx_spec_load_file(path, &spec, &err), 0);
    const char *set[] = {"train.epochs=1", "train.save=end", "data.test_limit=500"};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(dlx_spec_set(spec, set[i], &err), 0);
    snprintf(path, sizeof path, "data.dir=%s", dir);
    ck_assert_int_eq(dlx_spec_set(spec, path, &err), 0);
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
    train_lenet5(dir, ckpt, sizeof ckpt);
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
    ck_assert_int_eq(in.features, 84);
    enum { D = 84 };
    int64_t nt;
    ck_assert_int_eq(dlx_clf_scorer_test_size(s, &nt, &err), 0);
    ck_assert_int_eq(nt, 10000);
    check_against_family(ckpt, s, 500);

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
    float *f1 = malloc((size_t)N * D * sizeof *f1), *f2 = malloc((size_t)N * D * sizeof *f2);
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
    float *fa = malloc((size_t)10000 * D * sizeof *fa), *fb = malloc((size_t)10000 * D * sizeof *fb);
    ck_assert_int_eq(dlx_clf_scorer_run_test(s, 0, 10000, NULL, fa, NULL, &err), 0);
    for (int i = 0; i < 10000; i++)
        memcpy(fb + (size_t)(i % 2 * 5000 + i / 2) * D, fa + (size_t)i * D, D * sizeof *fa);
    double halves = fd_of(fb, 5000, fb + 5000 * D, 5000, D);
    double first_second = fd_of(fa, 5000, fa + 5000 * D, 5000, D);
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
    tcase_add_test(tc, test_padding_and_paths);
    tcase_add_test(tc, test_no_linear);
    tcase_add_test(tc, test_mnist_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}
