/* Family "nearest": the nearest-neighbour classifier, the first row of
 * Bruna et al. 2014's Table 1 (on the 400 subsampled pixels). Nothing is
 * learned, so there is no training loop: `train` labels every test sample
 * with the label of its nearest training sample (Euclidean, on the inputs
 * after data:'s normalisation and subsample; ties to the lower index) and
 * reports test_error, test_accuracy and train_seconds (the time of that
 * search); `evaluate` does the same on any split. Its checkpoint holds the
 * spec and the subsample's locations, no parameters.
 *
 *   model: {kind: nearest}
 *   data: {...}        # as the classifier's (train/images.h)
 *
 * Distances are |a|^2 + |b|^2 - 2 a.b with the products one cblas_sgemm per
 * block of NN_BLOCK test samples; blocks are shared among the threads, each
 * with its own product buffer, and each sample's answer depends only on its
 * own row, so the result is the same on any thread count.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../train/checkpoint.h"
#include "../train/images.h"
#include "../train/replica.h"
#include "../core/spec_doc.h"
#include "family.h"

#define NN_BLOCK 128

static const dlx_key_doc k_model_keys[] = {
    {"kind", "string", "required", "nearest", "the family: 1-nearest neighbour in pixel space, nothing learned"},
    {NULL},
};
static const dlx_spec_section k_sections[] = {
    {"model.nearest", "model: with kind: nearest: the nearest-neighbour classifier (data: as dlx spec data; no train:)",
     k_model_keys, NULL},
    {NULL},
};

typedef struct nn {
    dlx_images im;
    float *train_x, *train_sq; /* the training inputs as rows and their squared norms */
    int64_t dim;
} nn;

/* Rows of d after data:'s transform, and their squared norms. */
static int as_rows(const nn *s, const dlx_dataset *d, float **x, float **sq, dlx_err *err)
{
    *x = malloc((size_t)(d->n ? d->n : 1) * (size_t)s->dim * sizeof **x);
    *sq = malloc((size_t)(d->n ? d->n : 1) * sizeof **sq);
    uint32_t *idx = malloc((size_t)(d->n ? d->n : 1) * sizeof *idx);
    if (!*x || !*sq || !idx) {
        free(idx);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %lld samples of %s:%s", (long long)d->n,
                            d->name, d->split);
    }
    for (int64_t i = 0; i < d->n; i++)
        idx[i] = (uint32_t)i;
    dlx_dataset_batch(d, &s->im.tf, idx, (int)d->n, *x, NULL);
    free(idx);
    for (int64_t i = 0; i < d->n; i++) {
        double q = 0.0;
        for (int64_t k = 0; k < s->dim; k++)
            q += (double)(*x)[i * s->dim + k] * (*x)[i * s->dim + k];
        (*sq)[i] = (float)q;
    }
    return 0;
}

/* Right answers of 1-NN on split d against the training rows. */
static int classify(dlx_model *m, nn *s, const dlx_dataset *d, int64_t *right, dlx_err *err)
{
    float *x, *sq;
    int rc = as_rows(s, d, &x, &sq, err);
    if (rc)
        return rc;
    const int64_t n_train = s->im.train.n, blocks = (d->n + NN_BLOCK - 1) / NN_BLOCK;
    const int threads = dlx_replicas_threads(m->threads);
    float *prod = malloc((size_t)threads * NN_BLOCK * (size_t)n_train * sizeof *prod);
    if (!prod) {
        free(x);
        free(sq);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the distances");
    }
    int64_t ok = 0;
#pragma omp parallel for schedule(dynamic) num_threads(threads) reduction(+ : ok)
    for (int64_t b = 0; b < blocks; b++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        float *g = prod + (size_t)t * NN_BLOCK * n_train;
        const int64_t i0 = b * NN_BLOCK, rows = d->n - i0 < NN_BLOCK ? d->n - i0 : NN_BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n_train, (int)s->dim, 1.0f,
                    x + i0 * s->dim, (int)s->dim, s->train_x, (int)s->dim, 0.0f, g, (int)n_train);
        for (int64_t r = 0; r < rows; r++) {
            float best = FLT_MAX;
            int64_t arg = 0;
            for (int64_t j = 0; j < n_train; j++) {
                float dist = s->train_sq[j] - 2.0f * g[r * n_train + j]; /* + |x|^2, the same for every j */
                if (dist < best) {
                    best = dist;
                    arg = j;
                }
            }
            ok += s->im.train.labels[arg] == d->labels[i0 + r];
        }
    }
    free(prod);
    free(x);
    free(sq);
    *right = ok;
    return 0;
}

static int nn_load_train(nn *s, dlx_err *err)
{
    if (s->train_x)
        return 0;
    int rc = dlx_images_load_train(&s->im, err);
    return rc ? rc : as_rows(s, &s->im.train, &s->train_x, &s->train_sq, err);
}

static int nn_evaluate_on(dlx_model *m, nn *s, const dlx_dataset *d, dlx_results *res, const char *prefix,
                          dlx_err *err)
{
    int64_t right = 0;
    int rc = nn_load_train(s, err);
    if (!rc) rc = classify(m, s, d, &right, err);
    if (rc)
        return rc;
    char name[64];
    double acc = d->n ? (double)right / (double)d->n : 0.0;
    snprintf(name, sizeof name, "%saccuracy", prefix);
    dlx_results_set(res, name, acc);
    snprintf(name, sizeof name, "%serror", prefix);
    dlx_results_set(res, name, 1.0 - acc);
    dlx_results_set(res, "samples", (double)d->n);
    dlx_results_set(res, "parameters", 0.0);
    return 0;
}

static int nn_create(dlx_model *m, dlx_err *err)
{
    nn *s = calloc(1, sizeof *s);
    if (!s)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = s;
    dlx_spec_node *root = dlx_spec_root(m->spec), *model = dlx_spec_get(root, "model");
    int rc = dlx_spec_check_doc(model, "model", k_model_keys, err);
    if (!rc) rc = dlx_images_read_spec(root, &s->im, false, err);
    if (!rc) rc = dlx_images_open(&s->im, 1, "model", model->loc, err);
    if (rc)
        return rc;
    s->dim = (int64_t)s->im.c * s->im.h * s->im.w;
    /* no parameters; the subsample's locations go with the checkpoint */
    rc = dlx_images_declare_locations(&s->im, &m->params, err);
    if (!rc) rc = dlx_params_finalize(&m->params, err);
    if (!rc) rc = dlx_params_init_values(&m->params, m->seed, err);
    if (rc)
        return rc;
    dlx_run_info(m, "nearest neighbour on %lld inputs of %s", (long long)s->dim, s->im.dataset);
    return 0;
}

static void nn_destroy(dlx_model *m)
{
    nn *s = m->impl;
    if (!s)
        return;
    dlx_images_free(&s->im);
    free(s->train_x);
    free(s->train_sq);
    free(s);
    m->impl = NULL;
}

static int nn_train(dlx_model *m, dlx_err *err)
{
    nn *s = m->impl;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = nn_evaluate_on(m, s, &s->im.test, &m->results, "test_", err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!rc)
        dlx_results_set(&m->results, "train_seconds", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
    return rc ? rc : dlx_run_save_checkpoint(m, err);
}

static int nn_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    nn *s = m->impl;
    memset(res, 0, sizeof *res);
    if (!data)
        return nn_evaluate_on(m, s, &s->im.test, res, "", err);
    dlx_dataset d = {0};
    int rc = dlx_images_load_named(&s->im, data, &d, err);
    if (!rc) rc = nn_evaluate_on(m, s, &d, res, "", err);
    dlx_dataset_free(&d);
    return rc;
}

const dlx_family dlx_family_nearest = {
    .name = "nearest",
    .help = "the nearest-neighbour classifier (nothing learned) on MNIST / Fashion-MNIST, subsampled or not",
    .create = nn_create,
    .destroy = nn_destroy,
    .train = nn_train,
    .evaluate = nn_evaluate,
    .spec_sections = k_sections,
};
