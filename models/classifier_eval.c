/* The classifier's evaluation: loss, accuracy and misclassified samples
 * through the replicas' graphs, and the pictures of a finished run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/png.h"
#include "classifier_internal.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
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
int clf_evaluate_on(dlx_model *m, clf *c, const dlx_dataset *d, double *loss, double *acc)
{
    int64_t sb = c->shard_batch, n_batches = (d->n + sb - 1) / sb;
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
            for (int i = 0; !xent && i < rows; i++)
                sh->nll += row_loss(c, sh->logits->out.data + (int64_t)i * c->im.num_classes, (int)sh->y->out.data[i],
                                    c->im.num_classes);
        }
    }
    double nll = 0.0;
    int64_t correct = 0;
    c->n_wrong = 0;
    uint32_t all[MAX_WRONG * MAX_SHARDS];
    int n_all = 0;
    for (int k = 0; k < c->n_shards; k++) {
        nll += c->sh[k].nll;
        correct += c->sh[k].correct;
        memcpy(all + n_all, c->sh[k].wrong, (size_t)c->sh[k].n_wrong * sizeof *all);
        n_all += c->sh[k].n_wrong;
    }
    qsort(all, (size_t)n_all, sizeof *all, cmp_u32);
    c->n_wrong = n_all < MAX_WRONG ? n_all : MAX_WRONG;
    memcpy(c->wrong, all, (size_t)c->n_wrong * sizeof *all);
    *loss = nll / (double)d->n;
    *acc = (double)correct / (double)d->n;
    return 0;
}

int clf_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
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
    double loss, acc;
    clf_evaluate_on(m, c, d, &loss, &acc);
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "accuracy", acc);
    dlx_results_set(res, "error", 1.0 - acc);
    dlx_results_set(res, "loss", loss);
    dlx_results_set(res, "samples", (double)d->n);
    dlx_results_set(res, "step", (double)m->step);
    dlx_dataset_free(&other);
    return 0;
}

/* First-layer filters and misclassified test digits, as PNG grids. */
int clf_write_pictures(dlx_model *m, clf *c, dlx_err *err)
{
    char path[600];
    int rc = 0;
    if (m->params.n > 0 && m->params.items[0].t.shape.ndim == 4) {
        const dlx_param *w = &m->params.items[0];
        const int64_t *d = w->t.shape.d;
        rc = dlx_path_join(path, sizeof path, m->run_dir, "filters.png", err);
        if (!rc) rc = dlx_png_write_filters(path, w->t.data, (int)d[0], (int)d[1], (int)d[2], (int)d[3], err);
        if (!rc)
            dlx_run_info(m, "wrote %s (%s, %d filters)", path, w->name, (int)d[0]);
    }
    if (!rc && c->n_wrong > 0) {
        rc = dlx_path_join(path, sizeof path, m->run_dir, "misclassified.png", err);
        if (!rc) rc = dlx_images_write_grid(&c->im.test, c->wrong, c->n_wrong, path, err);
        if (!rc)
            dlx_run_info(m, "wrote %s (%d misclassified test images)", path, c->n_wrong);
    }
    return rc;
}

