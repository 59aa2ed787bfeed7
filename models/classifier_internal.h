/* The classifier family's shared state, between models/classifier.c (spec,
 * graphs, feeds, training) and models/classifier_eval.c (evaluation and
 * pictures). Not a public header: only those two files include it.
 */
#ifndef DLX_CLASSIFIER_INTERNAL_H
#define DLX_CLASSIFIER_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/data.h"
#include "../core/layers.h"
#include "../core/predictions.h"
#include "../train/images.h"
#include "../train/trainer.h"

#define MAX_WRONG 100
#define MAX_SHARDS DLX_REPLICAS_MAX

/* The classifier's side of replica k: its nodes, its rows and its
 * evaluation partial sums. */
typedef struct shard {
    dlx_node *x, *y, *logits, *loss;
    dlx_node *onehot; /* (batch, classes) targets from y; NULL for softmax_xent alone */
    uint32_t *idx;
    float *aug; /* data.augment's scratch for this shard's feed (NULL: none) */
    double nll;
    int64_t correct;
    uint32_t wrong[MAX_WRONG];
    uint8_t wrong_pred[MAX_WRONG]; /* the class predicted for wrong[i] */
    int n_wrong;
    char pad[64]; /* shards are written by different workers: no shared cache line */
} shard;

/* model.loss: one term, or a weighted sum of up to CLF_LOSS_TERMS */
#define CLF_LOSS_TERMS 8
typedef enum clf_loss_kind { CLF_XENT = 0, CLF_MSE, CLF_L1, CLF_BCE } clf_loss_kind;

typedef struct clf {
    dlx_images im; /* data: and its splits */
    int n_terms;
    clf_loss_kind term[CLF_LOSS_TERMS];
    float weight[CLF_LOSS_TERMS];
    bool weighted; /* the list form: the loss is a weighted_sum node of the terms */
    bool onehot;   /* some term compares the logits to one-hot labels */
    dlx_train_cfg tc;
    /* graphs: one replica per shard of the batch */
    int n_shards;
    int64_t shard_batch;
    dlx_replicas reps;
    shard sh[MAX_SHARDS];
    dlx_layers_out layers;
    /* evaluation extras: the first misclassified samples (of the last
     * evaluation) with their predicted classes, and how many there were */
    uint32_t wrong[MAX_WRONG];
    uint8_t wrong_pred[MAX_WRONG];
    int n_wrong;
    int64_t n_wrong_total, n_evaluated;
    /* the last evaluation's confusion counts, k x k after the shards' k x k
     * blocks (row: true class, column: predicted); made at the first */
    int64_t *conf;
} clf;

/* Argmax per row (right answers; misclassified indices into c when given)
 * and, when nll is given, -log p(label) summed in double. Inline: the
 * training measure calls it every step with nll NULL (a call into another
 * file cost the small benchmark net about 10 % of its speed). */
static inline void clf_score_rows(const float *logits, const float *labels, int rows, int k, double *nll,
                                  int64_t *correct, const uint32_t *idx, shard *c)
{
    for (int i = 0; i < rows; i++) {
        const float *z = logits + (int64_t)i * k;
        int best = 0;
        for (int j = 1; j < k; j++)
            if (z[j] > z[best])
                best = j;
        int label = (int)labels[i];
        if (nll) { /* NULL while training: the loss op has it already */
            double mx = z[best], s = 0.0;
            for (int j = 0; j < k; j++)
                s += exp((double)z[j] - mx);
            *nll += log(s) + mx - z[label];
        }
        if (best == label)
            (*correct)++;
        else if (c && c->n_wrong < MAX_WRONG) {
            c->wrong_pred[c->n_wrong] = (uint8_t)(best < 255 ? best : 255);
            c->wrong[c->n_wrong++] = idx[i];
        }
    }
}
/* The one-hot rows of labels (rows of k); a label that is no class gives a
 * NaN row, so the loss is NaN as softmax_xent's would be. */
static inline void clf_onehot(const float *labels, int rows, int k, float *t)
{
    for (int i = 0; i < rows; i++) {
        float l = labels[i];
        bool ok = l >= 0.0f && l < (float)k && l == floorf(l);
        for (int j = 0; j < k; j++)
            t[(int64_t)i * k + j] = !ok ? NAN : j == (int)l ? 1.0f : 0.0f;
    }
}

/* Loss and accuracy of the model on d, through the replicas' graphs; the
 * first misclassified indices go to c->wrong, the confusion counts to
 * c->conf; with p (allocated for d->n samples and the classes) every
 * sample's logits, prediction and label. */
int clf_evaluate_on(dlx_model *m, clf *c, const dlx_dataset *d, double *loss, double *acc, dlx_predictions *p,
                    dlx_err *err);
/* dlx_family.evaluate: on `data` ("mnist:test"; NULL = the spec's test split). */
int clf_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err);
/* dlx_family.classify: evaluate, and each sample's outputs into *p. */
int clf_classify(dlx_model *m, const char *data, dlx_results *res, dlx_predictions *p, dlx_err *err);
/* dlx_family.export_onnx: the net as an ONNX model at path (models/classifier_onnx.c). */
int clf_export_onnx(dlx_model *m, const char *path, const char *checkpoint, dlx_err *err);
/* filters.png at path for a model on subsampled images: a first linear or
 * spectral layer drawn back on the pixel grid (models/classifier_points.c). */
int clf_write_point_filters(dlx_model *m, clf *c, const char *path, dlx_err *err);
/* filters.png (first-layer filters) and misclassified.png in the run directory. */
int clf_write_pictures(dlx_model *m, clf *c, dlx_err *err);

#endif
