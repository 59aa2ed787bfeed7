/* Family "classifier": convnets and MLPs trained with softmax cross-entropy
 * (or model.loss: mse, l1, bce_logits against one-hot labels, or a weighted
 * sum of these) on a labelled image dataset (MNIST, Fashion-MNIST).
 *
 * The batch is split into train.shards micro-batches, one replica each
 * (train/replica.h: its own graph and gradient block, summed in a fixed
 * order, so the result depends on the spec and never on the thread count);
 * the loop is train/trainer.c. This file reads the spec, builds the graphs,
 * feeds images and labels, counts right answers (train_accuracy), evaluates
 * and draws the pictures. The same graphs serve evaluation (the last partial
 * batch is padded and only real samples are counted). An epoch is
 * floor(n / batch) steps; the few samples left over are different ones each
 * epoch because the order is reshuffled. Everything random is a pure
 * function of (seed, step): data order of epoch e is f(seed, e), dropout
 * masks are f(seed, node, step), the distortion of training image i in
 * epoch e (data.augment) f(seed, e, i), so resuming at any step reproduces
 * an uninterrupted run bit for bit. data.validation holds the training
 * split's tail out; each evaluation scores it (val_*) before the test split.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/data.h"
#include "../core/gradcheck.h"
#include "../core/graph.h"
#include "../core/layers.h"
#include "../core/ops/ops.h"
#include "../core/png.h"
#include "../train/images.h"
#include "../train/trainer.h"
#include "../train/budget.h"
#include "family.h"

#include "classifier_internal.h"

static const dlx_key_doc k_model_keys[] = {
    {"kind", "string", "classifier", "classifier", "the family"},
    {"layers", "list of layers", "required", "dlx spec layer", "the network from the image to the logits"},
    {"loss", "string, or list of {type, weight}", "softmax_xent", "softmax_xent, mse, l1, bce_logits; 1 to 8 terms",
     "the training loss, or a weighted sum of losses (dlx spec model.classifier.loss[])"},
    {NULL},
};
/* model.loss: a name of k_losses (order of clf_loss_kind), or a weighted sum
 *   loss: [{type: softmax_xent, weight: 1.0}, {type: l1, weight: 0.1}]
 * mse, l1 and bce_logits compare the logits to the one-hot labels (means
 * over every element); left out, softmax_xent. */
static const char *const k_losses[] = {"softmax_xent", "mse", "l1", "bce_logits", NULL};
static const dlx_key_doc k_term_keys[] = {
    {"type", "string", "required", "softmax_xent, mse, l1, bce_logits", "the loss (mse, l1, bce_logits: of the one-hot labels)"},
    {"weight", "number", "1", "0 to 1e6", "its weight in the sum"},
    {NULL},
};

static const dlx_spec_section k_sections[] = {
    {"model.classifier", "model: with kind: classifier (the default kind): a network on labelled images (data: as "
                         "dlx spec data, train: as dlx spec train)",
     k_model_keys, NULL},
    {"model.classifier.loss[]", "an entry of a classifier's model.loss list: one weighted term", k_term_keys, NULL},
    {NULL},
};
/* the trainer's name for it: metric train_loss */
static const char *const k_train_losses[] = {"loss", NULL};

static int read_loss_list(dlx_spec_node *list, clf *c, dlx_err *err)
{
    if (list->n < 1 || list->n > CLF_LOSS_TERMS)
        return dlx_err_setf(err, DLX_EINVAL, list->loc, "%s: give 1 to %d terms, got %d", list->path,
                            CLF_LOSS_TERMS, list->n);
    int rc = 0;
    for (int i = 0; i < list->n && !rc; i++) {
        dlx_spec_node *e = list->items[i];
        int kind;
        double w;
        rc = dlx_spec_expect_map(e, "a loss term", err);
        if (!rc) rc = dlx_spec_check_doc(e, "a loss term", k_term_keys, err);
        if (!rc) rc = dlx_spec_enum(e, "type", true, k_losses, -1, &kind, err);
        if (!rc) rc = dlx_spec_float(e, "weight", false, 1.0, 0.0, 1e6, &w, err);
        if (!rc) {
            c->term[i] = (clf_loss_kind)kind;
            c->weight[i] = (float)w;
        }
    }
    c->n_terms = rc ? 0 : list->n;
    c->weighted = true;
    return rc;
}

static int read_loss(dlx_spec_node *model, clf *c, dlx_err *err)
{
    dlx_spec_node *l = dlx_spec_get(model, "loss");
    int rc = 0;
    if (l && l->kind == DLX_SPEC_SEQ) {
        rc = read_loss_list(l, c, err);
    } else if (l && l->kind == DLX_SPEC_MAP) {
        rc = dlx_err_setf(err, DLX_EINVAL, l->loc,
                          "%s: expected a loss name (softmax_xent, mse, l1, bce_logits) or a list of "
                          "{type: NAME, weight: W}", l->path);
    } else {
        int kind;
        rc = dlx_spec_enum(model, "loss", false, k_losses, 0, &kind, err);
        c->n_terms = 1;
        c->term[0] = rc ? CLF_XENT : (clf_loss_kind)kind;
        c->weight[0] = 1.0f;
    }
    for (int i = 0; i < c->n_terms; i++)
        c->onehot = c->onehot || c->term[i] != CLF_XENT;
    return rc;
}

static int read_spec(dlx_model *m, clf *c, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(m->spec);
    dlx_spec_node *model = dlx_spec_get(root, "model");
    int rc = dlx_spec_check_doc(model, "model", k_model_keys, err);
    if (!rc) rc = read_loss(model, c, err);
    if (!rc) rc = dlx_images_read_spec(root, &c->im, true, err);
    if (!rc) rc = dlx_train_cfg_read(root, &(dlx_train_defaults){.batch = 64}, k_train_losses, &c->tc, &m->plan, err);
    /* the validation metrics exist only with a validation split */
    const char *es = c->tc.early.metric;
    if (!rc && es && !strncmp(es, "val_", 4) && !c->im.validation)
        rc = dlx_err_setf(err, DLX_EINVAL, c->tc.early.loc,
                          "train.early_stopping.metric: %s needs a validation split: set data.validation "
                          "(training samples held out, e.g. data.validation: 5000)", es);
    if (!rc && es && strcmp(es, "val_loss") && strcmp(es, "val_accuracy") && strcmp(es, "val_error") &&
        strcmp(es, "test_loss") && strcmp(es, "test_accuracy") && strcmp(es, "test_error"))
        rc = dlx_err_setf(err, DLX_EINVAL, c->tc.early.loc,
                          "train.early_stopping.metric: the classifier's evaluation has no '%s' (val_loss, "
                          "val_accuracy, val_error, test_loss, test_accuracy, test_error)", es);
    c->n_shards = c->tc.shards;
    c->shard_batch = c->tc.batch / (c->n_shards ? c->n_shards : 1);
    if (!m->threads)
        m->threads = c->tc.threads;
    return rc;
}

/* One loss term's node on the logits, the labels y and the one-hot t. */
static dlx_node *loss_term(dlx_graph *g, clf_loss_kind kind, const char *name, dlx_node *logits, dlx_node *y,
                           dlx_node *t, dlx_loc loc, dlx_err *err)
{
    dlx_node *in[2] = {logits, kind == CLF_XENT ? y : t};
    switch (kind) {
    case CLF_MSE:
        return dlx_graph_op(g, &dlx_op_mse, name, in, 2, &(dlx_mse_attr){DLX_MSE_MEAN}, loc, err);
    case CLF_L1:
        return dlx_graph_op(g, &dlx_op_l1, name, in, 2, NULL, loc, err);
    case CLF_BCE:
        return dlx_graph_op(g, &dlx_op_bce_logits_target, name, in, 2, NULL, loc, err);
    case CLF_XENT:
    default:
        return dlx_graph_op(g, &dlx_op_softmax_xent, name, in, 2, NULL, loc, err);
    }
}

/* The configured loss: softmax_xent alone is the one node it always was;
 * the list form is its terms under a weighted_sum named "loss". */
static dlx_node *build_loss(const clf *c, dlx_graph *g, dlx_spec_node *model, dlx_node *logits, dlx_node *y,
                            dlx_node *t, dlx_err *err)
{
    if (!c->weighted)
        return loss_term(g, c->term[0], "loss", logits, y, t, model->loc, err);
    dlx_spec_node *l = dlx_spec_get(model, "loss");
    dlx_node *terms[CLF_LOSS_TERMS];
    dlx_weighted_sum_attr a;
    memset(&a, 0, sizeof a);
    for (int i = 0; i < c->n_terms; i++) {
        char name[32];
        snprintf(name, sizeof name, "loss%d_%s", i + 1, k_losses[c->term[i]]);
        terms[i] = loss_term(g, c->term[i], name, logits, y, t, l->items[i]->loc, err);
        if (!terms[i])
            return NULL;
        a.w[i] = c->weight[i];
    }
    return dlx_graph_op(g, &dlx_op_weighted_sum, "loss", terms, c->n_terms, &a, l->loc, err);
}

/* Build the graph at `batch` over m->params (declaring them on first use). */
static int build_graph(dlx_model *m, clf *c, int64_t batch, dlx_graph **gout, dlx_node **x, dlx_node **y,
                       dlx_node **onehot, dlx_node **logits, dlx_node **loss, dlx_layers_out *lo, dlx_err *err)
{
    dlx_spec_node *model = dlx_spec_get(dlx_spec_root(m->spec), "model");
    dlx_spec_node *layers = dlx_spec_get(model, "layers");
    if (!layers)
        return dlx_err_setf(err, DLX_EINVAL, model->loc, "model: missing required key 'layers'");
    dlx_graph *g = dlx_graph_create(&m->params);
    if (!g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    g->points = c->im.points.n ? &c->im.points : NULL;
    int rc = dlx_images_declare_locations(&c->im, &m->params, err);
    if (rc)
        goto fail;
    rc = DLX_ENOMEM;
    *x = dlx_graph_input(g, "input", dlx_shape_4d(batch, c->im.c, c->im.h, c->im.w), false, err);
    *y = dlx_graph_input(g, "labels", dlx_shape_1d(batch), false, err);
    if (!*x || !*y)
        goto fail;
    rc = dlx_layers_build(g, &m->params, layers, "", *x, lo, err);
    if (rc)
        goto fail;
    *logits = lo->output;
    int64_t k = (*logits)->out.numel / batch;
    if (k != c->im.num_classes) {
        char s[64];
        rc = dlx_err_setf(err, DLX_EINVAL, layers->items[layers->n - 1]->loc,
                          "model.layers: the last layer gives %lld outputs per sample %s, but %s has %d classes",
                          (long long)k, dlx_shape_str(&(*logits)->out.shape, s, sizeof s), c->im.dataset,
                          c->im.num_classes);
        goto fail;
    }
    *onehot = NULL;
    if (c->onehot && !(*onehot = dlx_graph_input(g, "onehot", dlx_shape_2d(batch, k), false, err))) {
        rc = err->code;
        goto fail;
    }
    *loss = build_loss(c, g, model, *logits, *y, *onehot, err);
    if (!*loss) {
        rc = err->code;
        goto fail;
    }
    *gout = g;
    return 0;
fail:
    free(lo->info);
    lo->info = NULL;
    dlx_graph_destroy(g);
    return rc;
}

static void report_layers(const dlx_model *m, const clf *c)
{
    char s[64];
    int64_t total = 0;
    dlx_run_info(m, "%-12s %-10s %-18s %10s", "layer", "type", "output", "params");
    dlx_run_info(m, "%-12s %-10s %-18s %10s", "input", "", dlx_shape_str(&c->sh[0].x->out.shape, s, sizeof s), "");
    for (int i = 0; i < c->layers.n; i++) {
        const dlx_layer_info *l = &c->layers.info[i];
        dlx_run_info(m, "%-12s %-10s %-18s %10lld", l->name, l->type, dlx_shape_str(&l->out, s, sizeof s),
                     (long long)l->n_params);
        total += l->n_params;
    }
    dlx_run_info(m, "%lld parameters, %.1f MiB of activations; batch %lld in %d shard%s of %lld, %d at a time",
                 (long long)total, (double)dlx_graph_plan_bytes(c->reps.r[0].g) * c->n_shards / 1048576.0,
                 (long long)c->tc.batch, c->n_shards, c->n_shards > 1 ? "s" : "", (long long)c->shard_batch,
                 c->reps.workers);
}

/* Shard k's graph (dlx_replica_build_fn). */
static int build_shard(void *user, int k, dlx_graph **g, dlx_err *err)
{
    dlx_model *m = user;
    clf *c = m->impl;
    shard *sh = &c->sh[k];
    size_t aug = dlx_images_scratch_floats(&c->im);
    if (!(sh->idx = calloc((size_t)c->shard_batch, sizeof *sh->idx)) || (aug && !(sh->aug = malloc(aug * sizeof *sh->aug))))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_layers_out lo;
    int rc = build_graph(m, c, c->shard_batch, g, &sh->x, &sh->y, &sh->onehot, &sh->logits, &sh->loss,
                         k == 0 ? &c->layers : &lo, err);
    if (!rc && k > 0)
        free(lo.info);
    return rc;
}

static void clf_destroy(dlx_model *m)
{
    clf *c = m->impl;
    if (!c)
        return;
    dlx_replicas_free(&c->reps);
    for (int k = 0; k < c->n_shards; k++) {
        free(c->sh[k].idx);
        free(c->sh[k].aug);
    }
    dlx_images_free(&c->im);
    free(c->layers.info);
    free(c->conf);
    free(c);
    m->impl = NULL;
}

static int clf_create(dlx_model *m, dlx_err *err)
{
    clf *c = calloc(1, sizeof(*c));
    if (!c)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = c;
    int rc = read_spec(m, c, err);
    if (rc)
        return rc;
    /* the test split tells the input shape and the classes; train loads lazily */
    dlx_spec_node *train = dlx_spec_get(dlx_spec_root(m->spec), "train"), *b = dlx_spec_get(train, "batch");
    rc = dlx_images_open(&c->im, c->tc.batch, "train.batch", b ? b->loc : train->loc, err);
    if (rc)
        return rc;
    int threads = dlx_replicas_threads(m->threads);
    dlx_replicas_init(&c->reps, &m->params, c->n_shards, threads);
    /* counted (data included) before anything big is allocated */
    rc = dlx_replicas_build(&c->reps, m, dlx_images_bytes(&c->im), build_shard, m, err);
    if (rc)
        return rc;
    rc = dlx_params_init_values(&m->params, m->seed, err);
    if (!rc) rc = dlx_plan_create(&m->plan, &m->params, threads, err);
    if (rc)
        return rc;
    report_layers(m, c);
    return 0;
}

/* The data order of `epoch` (dlx_train_family.begin_epoch). */
static void clf_begin_epoch(void *user, int64_t epoch)
{
    dlx_model *m = user;
    clf *c = m->impl;
    dlx_images_epoch(&c->im, m->seed, epoch);
}

/* Shard k's rows of step `pos`'s batch into its inputs (dlx_train_family.feed). */
static void clf_feed(void *user, int u, int rep, int k, int64_t pos)
{
    (void)u, (void)rep; /* one loss (model.loss); a repeat sees the same batch */
    const dlx_model *m = user;
    clf *c = m->impl;
    shard *sh = &c->sh[k];
    dlx_images_feed(&c->im, c->tc.batch, pos, k * c->shard_batch, (int)c->shard_batch, sh->idx, sh->x->out.data,
                    sh->y->out.data, sh->aug);
    if (sh->onehot)
        clf_onehot(sh->y->out.data, (int)c->shard_batch, c->im.num_classes, sh->onehot->out.data);
}

/* Shard k's right answers this step (the measure train_accuracy). */
static void clf_measure(void *user, int u, int k, double *values)
{
    (void)u;
    const dlx_model *m = user;
    const clf *c = m->impl;
    const shard *sh = &c->sh[k];
    int64_t correct = 0;
    clf_score_rows(sh->logits->out.data, sh->y->out.data, (int)c->shard_batch, c->im.num_classes, NULL, &correct,
                   sh->idx, NULL);
    values[0] = (double)correct;
}

/* The validation split (data.validation), then the test split, whose
 * misclassified samples and confusion counts the pictures show. */
static int clf_eval_test(void *user, dlx_results *r, dlx_err *err)
{
    dlx_model *m = user;
    clf *c = m->impl;
    double loss, acc;
    int rc = 0;
    if (c->im.val.n > 0) {
        rc = clf_evaluate_on(m, c, &c->im.val, &loss, &acc, NULL, err);
        dlx_results_set(r, "val_loss", loss);
        dlx_results_set(r, "val_accuracy", acc);
        dlx_results_set(r, "val_error", 1.0 - acc);
    }
    if (!rc) rc = clf_evaluate_on(m, c, &c->im.test, &loss, &acc, NULL, err);
    dlx_results_set(r, "test_loss", loss);
    dlx_results_set(r, "test_accuracy", acc);
    dlx_results_set(r, "test_error", 1.0 - acc);
    dlx_results_set(r, "parameters", (double)m->params.total); /* what a paper's table counts */
    return rc;
}

static int clf_finish(void *user, dlx_err *err)
{
    dlx_model *m = user;
    return clf_write_pictures(m, m->impl, err);
}

/* Shard k's loss node (the family's one loss). */
static dlx_node *clf_loss(void *user, int l, int k)
{
    (void)l;
    const dlx_model *m = user;
    return ((const clf *)m->impl)->sh[k].loss;
}

static int clf_train(dlx_model *m, dlx_err *err)
{
    clf *c = m->impl;
    int rc = dlx_images_load_train(&c->im, err);
    if (rc)
        return rc;
    dlx_trainer t = {
        .cfg = c->tc,
        .replicas = &c->reps,
        .plan = &m->plan,
        .fam = {.user = m, .loss = clf_loss, .samples = c->im.train.n, .begin_epoch = clf_begin_epoch, .feed = clf_feed,
                .measure = clf_measure, .n_measures = 1, .measures = {{"train_accuracy", (double)c->tc.batch}},
                .evaluate = clf_eval_test, .finish = clf_finish},
    };
    return dlx_trainer_run(m, &t, err);
}

/* The training split as training reads it (dlx_family.train_images). */
static int clf_train_images(dlx_model *m, const dlx_images **im, dlx_err *err)
{
    clf *c = m->impl;
    int rc = dlx_images_load_train(&c->im, err);
    *im = rc ? NULL : &c->im;
    return rc;
}

static int clf_gradcheck(dlx_model *m, const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err)
{
    if (o->loss && strcmp(o->loss, "loss") != 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--loss: this family has one loss, 'loss', not '%s'", o->loss);
    clf *c = m->impl;
    enum { GC_BATCH = 2 };
    dlx_graph *g;
    dlx_node *x, *y, *onehot, *logits, *loss;
    dlx_layers_out lo;
    int rc = build_graph(m, c, GC_BATCH, &g, &x, &y, &onehot, &logits, &loss, &lo, err);
    if (rc)
        return rc;
    free(lo.info);
    rc = dlx_graph_compile(g, m->max_memory, err);
    if (!rc) {
        uint32_t idx[GC_BATCH] = {0, 1};
        for (int i = 0; i < GC_BATCH; i++)
            idx[i] = (uint32_t)(i % c->im.test.n);
        dlx_dataset_batch(&c->im.test, &c->im.tf, idx, GC_BATCH, x->out.data, y->out.data);
        if (onehot)
            clf_onehot(y->out.data, GC_BATCH, c->im.num_classes, onehot->out.data);
        /* Real digits have flat backgrounds, so max pooling sees exact ties whose
         * argmax flips under any perturbation: a kink at the very point checked.
         * Small input noise makes the point generic without changing the graph. */
        dlx_rng rng;
        dlx_rng_init(&rng, m->seed, DLX_STREAM_USER + 1);
        for (int64_t i = 0; i < x->out.numel; i++)
            x->out.data[i] += 0.1f * (dlx_rng_uniform(&rng) - 0.5f);
        const dlx_ctx ctx = {.training = true, .seed = m->seed, .step = 0, .threads = m->threads};
        rc = dlx_gradcheck_graph(g, loss, &ctx, o, rep, err);
    }
    dlx_graph_destroy(g);
    return rc;
}

static const char *const k_sweep_measures[] = {"train_loss", "train_error", "test_loss", "test_error", "hessian",
                                               NULL};

const dlx_family dlx_family_classifier = {
    .name = "classifier",
    .dry_run = true,
    .help = "convnets and MLPs with softmax cross-entropy on MNIST / Fashion-MNIST",
    .create = clf_create,
    .destroy = clf_destroy,
    .train = clf_train,
    .evaluate = clf_evaluate,
    .classify = clf_classify,
    .export_onnx = clf_export_onnx,
    .gradcheck = clf_gradcheck,
    .train_images = clf_train_images,
    .sweep_measures = k_sweep_measures,
    .sweep_train_split = true,
    .spec_sections = k_sections,
};
