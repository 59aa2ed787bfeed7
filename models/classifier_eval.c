/* The classifier's evaluation: loss, accuracy and misclassified samples
 * through the replicas' graphs, and the pictures of a finished run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/confusion.h"
#include "../core/png.h"
#include "classifier_internal.h"

#define MAX_UNITS_SHOWN 100 /* units of a first linear layer drawn in filters.png */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Rows [start, start + rows) of the split: logits, argmax and label. */
static void keep_rows(dlx_predictions *p, const float *logits, const float *labels, int64_t start, int rows)
{
    int k = p->k;
    memcpy(p->logits + start * k, logits, (size_t)rows * (size_t)k * sizeof *logits);
    for (int i = 0; i < rows; i++) {
        p->pred[start + i] = dlx_argmax(logits + (int64_t)i * k, k);
        p->label[start + i] = (int32_t)labels[i];
    }
}

/* Sample z's (k logits, class label) configured loss when it is not
 * softmax_xent alone, in double: the graph's terms per sample (mse, l1 and
 * bce_logits average over the k elements of the row, so their mean over the
 * samples is the graph's mean over every element), weighted. */
static double row_loss(const clf *c, const float *z, int label, int k)
{
    if (label < 0 || label >= k)
        return NAN;
    double mx = z[0], total = 0.0;
    for (int j = 1; j < k; j++)
        mx = z[j] > mx ? z[j] : mx;
    for (int i = 0; i < c->n_terms; i++) {
        double s = 0.0;
        for (int j = 0; j < k; j++) {
            double x = z[j], t = j == label ? 1.0 : 0.0;
            switch (c->term[i]) {
            case CLF_XENT: s += exp(x - mx); break;
            case CLF_MSE: s += (x - t) * (x - t); break;
            case CLF_L1: s += fabs(x - t); break;
            case CLF_BCE: s += (x > 0 ? x : 0.0) - x * t + log1p(exp(-fabs(x))); break;
            }
        }
        double term = c->term[i] == CLF_XENT ? log(s) + mx - z[label] : s / k;
        total += c->weighted ? c->weight[i] * term : term;
    }
    return total;
}

/* Shard k evaluates batches k, k + S, k + 2S, ...; partial sums are added in
 * shard order and the misclassified indices sorted, so nothing depends on
 * which thread ran what. */
int clf_evaluate_on(dlx_model *m, clf *c, const dlx_dataset *d, double *loss, double *acc, dlx_predictions *p,
                    dlx_err *err)
{
    int64_t sb = c->shard_batch, n_batches = (d->n + sb - 1) / sb, K = c->im.num_classes;
    if (!c->conf && !(c->conf = malloc((size_t)(c->n_shards + 1) * (size_t)(K * K) * sizeof *c->conf)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %lld confusion counts",
                            (long long)((c->n_shards + 1) * K * K));
    memset(c->conf, 0, (size_t)(c->n_shards + 1) * (size_t)(K * K) * sizeof *c->conf);
#pragma omp parallel for num_threads(c->reps.workers) schedule(static, 1)
    for (int k = 0; k < c->n_shards; k++) {
        shard *sh = &c->sh[k];
        dlx_graph *g = c->reps.r[k].g;
        const dlx_ctx ctx = {.training = false, .seed = m->seed, .step = (uint64_t)m->step,
                             .threads = c->reps.op_threads};
        sh->nll = 0.0;
        sh->correct = 0;
        sh->n_wrong = 0;
        for (int64_t b = k; b < n_batches; b += c->n_shards) {
            int64_t start = b * sb;
            int rows = (int)(d->n - start < sb ? d->n - start : sb);
            for (int i = 0; i < sb; i++)
                sh->idx[i] = (uint32_t)(i < rows ? start + i : start); /* pad with a real sample */
            dlx_dataset_batch(d, &c->im.tf, sh->idx, (int)sb, sh->x->out.data, sh->y->out.data);
            if (sh->onehot)
                clf_onehot(sh->y->out.data, (int)sb, c->im.num_classes, sh->onehot->out.data);
            dlx_graph_forward(g, &ctx);
            /* softmax_xent alone: its negative log-likelihood as it always was */
            bool xent = !c->weighted && c->term[0] == CLF_XENT;
            clf_score_rows(sh->logits->out.data, sh->y->out.data, rows, c->im.num_classes, xent ? &sh->nll : NULL,
                           &sh->correct, sh->idx, sh);
            if (p)
                keep_rows(p, sh->logits->out.data, sh->y->out.data, start, rows);
            int64_t *conf = c->conf + (k + 1) * K * K;
            for (int i = 0; i < rows; i++) {
                int label = (int)sh->y->out.data[i];
                if (label >= 0 && label < K)
                    conf[label * K + dlx_argmax(sh->logits->out.data + i * K, (int)K)]++;
            }
            for (int i = 0; !xent && i < rows; i++)
                sh->nll += row_loss(c, sh->logits->out.data + (int64_t)i * c->im.num_classes, (int)sh->y->out.data[i],
                                    c->im.num_classes);
        }
    }
    double nll = 0.0;
    int64_t correct = 0;
    c->n_wrong = 0;
    uint64_t all[MAX_WRONG * MAX_SHARDS]; /* (index << 8 | predicted class), sorted by index */
    int n_all = 0;
    for (int k = 0; k < c->n_shards; k++) {
        nll += c->sh[k].nll;
        correct += c->sh[k].correct;
        for (int64_t i = 0; i < K * K; i++)
            c->conf[i] += c->conf[(k + 1) * K * K + i];
        for (int i = 0; i < c->sh[k].n_wrong; i++)
            all[n_all++] = (uint64_t)c->sh[k].wrong[i] << 8 | c->sh[k].wrong_pred[i];
    }
    qsort(all, (size_t)n_all, sizeof *all, cmp_u64);
    c->n_wrong = n_all < MAX_WRONG ? n_all : MAX_WRONG;
    for (int i = 0; i < c->n_wrong; i++) {
        c->wrong[i] = (uint32_t)(all[i] >> 8);
        c->wrong_pred[i] = (uint8_t)(all[i] & 0xff);
    }
    c->n_wrong_total = d->n - correct;
    c->n_evaluated = d->n;
    *loss = nll / (double)d->n;
    *acc = (double)correct / (double)d->n;
    return 0;
}

int clf_classify(dlx_model *m, const char *data, dlx_results *res, dlx_predictions *p, dlx_err *err)
{
    clf *c = m->impl;
    const dlx_dataset *d = &c->im.test;
    dlx_dataset other;
    memset(&other, 0, sizeof other);
    if (data) {
        int rc = dlx_images_load_named(&c->im, data, &other, err);
        if (rc) {
            dlx_dataset_free(&other);
            return rc;
        }
        d = &other;
    }
    if (p) {
        int rc = dlx_predictions_alloc(p, d->n, c->im.num_classes, err);
        if (rc) {
            dlx_dataset_free(&other);
            return rc;
        }
    }
    double loss, acc;
    int rc = clf_evaluate_on(m, c, d, &loss, &acc, p, err);
    if (rc) {
        dlx_dataset_free(&other);
        return rc;
    }
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "accuracy", acc);
    dlx_results_set(res, "error", 1.0 - acc);
    dlx_results_set(res, "loss", loss);
    dlx_results_set(res, "samples", (double)d->n);
    dlx_results_set(res, "step", (double)m->step);
    dlx_dataset_free(&other);
    return 0;
}

int clf_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    return clf_classify(m, data, res, NULL, err);
}

/* The first layer's weights: convolution filters, or a linear layer's
 * units as images of the input's shape (an MLP's templates). */
static int write_filters(dlx_model *m, clf *c, dlx_err *err)
{
    char path[600];
    const dlx_param *w = &m->params.items[0];
    const int64_t *d = w->t.shape.d;
    int ic, ih, iw;
    dlx_transform_shape(&c->im.test, &c->im.tf, &ic, &ih, &iw);
    if (c->im.sub_points) { /* images reduced to points: drawn back on the grid */
        int rc = dlx_path_join(path, sizeof path, m->run_dir, "filters.png", err);
        return rc ? rc : clf_write_point_filters(m, c, path, err);
    }
    bool conv = w->t.shape.ndim == 4;
    bool units = w->t.shape.ndim == 2 && d[1] == (int64_t)ic * ih * iw && (ic == 1 || ic == 3);
    if (!conv && !units)
        return 0; /* a first layer that is no image-shaped weight: nothing to draw */
    int rc = dlx_path_join(path, sizeof path, m->run_dir, "filters.png", err);
    if (rc)
        return rc;
    if (conv) {
        rc = dlx_png_write_filters(path, w->t.data, (int)d[0], (int)d[1], (int)d[2], (int)d[3], err);
        if (!rc)
            dlx_run_info(m, "wrote %s (%s, %d filters of %dx%d)", path, w->name, (int)d[0], (int)d[2], (int)d[3]);
        return rc;
    }
    int shown = d[0] < MAX_UNITS_SHOWN ? (int)d[0] : MAX_UNITS_SHOWN;
    rc = dlx_png_write_units(path, w->t.data, shown, ic, ih, iw, err);
    if (!rc)
        dlx_run_info(m, "wrote %s (%s: %d of %d units as %dx%d images)", path, w->name, shown, (int)d[0], ih, iw);
    return rc;
}

/* confusion.png of the last evaluation (the test split's), drawn with
 * libpng, and its data and gnuplot script, which `dlx train` renders over it
 * when gnuplot is installed (m->figure_script). */
static int write_confusion(dlx_model *m, clf *c, dlx_err *err)
{
    int k = c->im.num_classes;
    dlx_confusion cm = {.k = k, .n = 0, .count = c->conf};
    for (int64_t i = 0; i < (int64_t)k * k; i++)
        cm.n += c->conf[i];
    char title[160], dat[DLX_RUNDIR_MAX + 32];
    snprintf(title, sizeof title, "confusion matrix: test split, %lld samples, step %lld", (long long)cm.n,
             (long long)m->step);
    int rc = dlx_path_join(m->figure_png, sizeof m->figure_png, m->run_dir, "confusion.png", err);
    if (!rc) rc = dlx_path_join(dat, sizeof dat, m->run_dir, "confusion.png.dat", err);
    if (!rc) rc = dlx_path_join(m->figure_script, sizeof m->figure_script, m->run_dir, "confusion.png.gp", err);
    if (!rc) rc = dlx_confusion_write_png(&cm, title, m->figure_png, err);
    if (!rc) rc = dlx_confusion_write_script(&cm, title, m->figure_png, dat, m->figure_script, err);
    if (rc) {
        m->figure_script[0] = '\0';
        return rc;
    }
    dlx_run_info(m, "wrote %s (confusion matrix of the test split)", m->figure_png);
    return 0;
}

/* augmented.png: the first 10 training images as stored (top row) and as
 * the training feed distorts them in epochs 1 to 4 (a row each), so that a
 * user sees what data.augment does. */
static int write_augmented(dlx_model *m, clf *c, dlx_err *err)
{
    enum { SHOWN = 10, EPOCHS = 4 };
    const dlx_images *im = &c->im;
    int n = im->train.n < SHOWN ? (int)im->train.n : SHOWN;
    size_t per = (size_t)im->c * (size_t)im->h * (size_t)im->w;
    float *tiles = malloc((size_t)(EPOCHS + 1) * SHOWN * per * sizeof *tiles);
    float *scratch = malloc(dlx_images_scratch_floats(im) * sizeof *scratch);
    uint32_t idx[SHOWN];
    char path[600], title[96];
    int rc = dlx_path_join(path, sizeof path, m->run_dir, "augmented.png", err);
    if (!rc && (!tiles || !scratch))
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory drawing augmented.png");
    float std = im->tf.std != 0.0f ? im->tf.std : 1.0f, lo = -im->tf.mean / std;
    for (size_t i = 0; !rc && i < (size_t)(EPOCHS + 1) * SHOWN * per; i++)
        tiles[i] = lo; /* blanks where the split has fewer than SHOWN images */
    for (int i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    for (int e = 0; !rc && e <= EPOCHS; e++) {
        float *row = tiles + (size_t)e * SHOWN * per;
        dlx_dataset_batch(&im->train, &im->tf, idx, n, row, NULL);
        if (e > 0)
            dlx_images_augment(im, m->seed, e - 1, idx, n, row, scratch);
    }
    snprintf(title, sizeof title, "top: training images %d-%d; below: epochs 1-%d distort them", 0, n - 1, EPOCHS);
    dlx_grid grid = {.rows = EPOCHS + 1, .cols = SHOWN, .c = im->c, .h = im->h, .w = im->w,
                     .zoom = im->h < 28 ? 56 / im->h : 2, .lo = lo, .hi = (1.0f - im->tf.mean) / std,
                     .title = title};
    if (!rc) rc = dlx_png_write_grid(path, &grid, tiles, (EPOCHS + 1) * SHOWN, err);
    if (!rc)
        dlx_run_info(m, "wrote %s (%d training images and their distortions in epochs 1-%d)", path, n, EPOCHS);
    free(tiles);
    free(scratch);
    return rc;
}

/* First-layer filters, misclassified test digits ("true -> predicted"
 * under each) as PNG grids, and the test split's confusion matrix. */
int clf_write_pictures(dlx_model *m, clf *c, dlx_err *err)
{
    char path[600];
    int rc = m->params.n > 0 ? write_filters(m, c, err) : 0;
    if (!rc && c->n_wrong > 0) {
        char text[MAX_WRONG][16], title[96];
        const char *captions[MAX_WRONG];
        for (int i = 0; i < c->n_wrong; i++) {
            snprintf(text[i], sizeof text[i], "%d -> %d", (int)c->im.test.labels[c->wrong[i]], (int)c->wrong_pred[i]);
            captions[i] = text[i];
        }
        snprintf(title, sizeof title, "%d of %lld misclassified shown (true -> predicted)", c->n_wrong,
                 (long long)c->n_wrong_total);
        rc = dlx_path_join(path, sizeof path, m->run_dir, "misclassified.png", err);
        if (!rc) rc = dlx_images_write_grid(&c->im.test, c->wrong, c->n_wrong, captions, title, path, err);
        if (!rc)
            dlx_run_info(m, "wrote %s (%d of %lld misclassified test images shown, of %lld)", path, c->n_wrong,
                         (long long)c->n_wrong_total, (long long)c->n_evaluated);
    }
    if (!rc && c->conf && c->n_evaluated > 0)
        rc = write_confusion(m, c, err);
    if (!rc && dlx_augment_on(&c->im.aug) && c->im.train_loaded)
        rc = write_augmented(m, c, err);
    return rc;
}
