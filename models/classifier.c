/* Family "classifier": convnets and MLPs trained with softmax cross-entropy
 * on a labelled image dataset (MNIST, Fashion-MNIST).
 *
 * Data parallelism that cannot change the numbers: the batch is split into
 * train.shards micro-batches, each with its own static graph and its own
 * gradient block; the shards run side by side on up to --threads cores and
 * their gradients are summed in a fixed order. The result therefore depends
 * on the spec (batch, shards) and never on the thread count; OpenBLAS runs
 * single-threaded inside each shard. The same graphs serve evaluation (the
 * last partial batch is padded and only real samples are counted). An epoch is floor(n / batch) steps; the few samples left over are
 * different ones each epoch because the order is reshuffled. Everything random
 * is a pure function of (seed, step): data order of epoch e is f(seed, e),
 * dropout masks are f(seed, node, step), so resuming at any step reproduces
 * an uninterrupted run bit for bit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <time.h>
#include <unistd.h>

#include "../core/data.h"
#include "../core/gradcheck.h"
#include "../core/graph.h"
#include "../core/layers.h"
#include "../core/ops/ops.h"
#include "../core/png.h"
#include "budget.h"
#include "family.h"

#define MAX_WRONG 100
#define MAX_SHARDS 16

/* One micro-batch: its graph, gradient block and evaluation partial sums. */
typedef struct shard {
    dlx_graph *g;
    dlx_node *x, *y, *logits, *loss;
    float *grads; /* private gradient block; shard 0 uses the store's own */
    uint32_t *idx;
    double nll;
    int64_t correct;
    uint32_t wrong[MAX_WRONG];
    int n_wrong;
    int64_t step_correct; /* training: right answers in this step's slice */
    char pad[64];         /* shards are written by different workers: no shared cache line */
} shard;

typedef struct clf {
    /* from the spec */
    const char *dataset, *data_dir;
    dlx_transform tf;
    int resize_h, resize_w; /* data.resize, applied once at load; 0 = none */
    bool save_at_end;       /* train.save: end -> one checkpoint after the last step */
    int64_t train_limit, test_limit;
    int64_t epochs, batch, checkpoint_every, log_every, eval_every;
    /* data */
    dlx_dataset train, test;
    bool train_loaded;
    int64_t train_n;  /* samples training will hold (from the file's header; 0: unknown) */
    int64_t train_px; /* pixels of one training image as stored in its file */
    int c, h, w, num_classes;
    /* graphs: one per shard of the batch */
    int n_shards;
    int64_t shard_batch;
    shard sh[MAX_SHARDS];
    int workers; /* shards run at once */
    int op_threads; /* threads each op may use: every core when there is one shard */
    bool grads_zero; /* every shard's gradient block was zeroed by the last update */
    dlx_layers_out layers;
    uint32_t *order;
    /* evaluation extras */
    uint32_t wrong[MAX_WRONG];
    int n_wrong;
} clf;

static const char *const k_model_keys[] = {"kind", "layers", "loss", NULL};
static const char *const k_data_keys[] = {"dataset", "dir", "mean", "std", "pad", "resize", "train_limit", "test_limit", NULL};
static const char *const k_train_keys[] = {"epochs", "batch", "optimizer", "schedule", "checkpoint_every", "log_every", "eval_every", "save", "shards", "threads", NULL};
static const char *const k_save[] = {"epoch", "end", NULL};
static const char *const k_losses[] = {"softmax_xent", NULL};

static int read_spec(dlx_model *m, clf *c, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(m->spec);
    dlx_spec_node *model = dlx_spec_get(root, "model");
    dlx_spec_node *data = dlx_spec_get(root, "data");
    dlx_spec_node *train = dlx_spec_get(root, "train");
    int loss_kind;
    int rc = dlx_spec_check_keys(model, "model", k_model_keys, err);
    if (!rc) rc = dlx_spec_enum(model, "loss", false, k_losses, 0, &loss_kind, err);
    if (!rc && !data)
        rc = dlx_err_setf(err, DLX_EINVAL, root->loc, "missing required key 'data' (e.g. data: {dataset: mnist})");
    if (!rc) rc = dlx_spec_expect_map(data, "data", err);
    if (!rc) rc = dlx_spec_check_keys(data, "data", k_data_keys, err);
    if (!rc) rc = dlx_spec_str(data, "dataset", true, NULL, &c->dataset, err);
    if (!rc && !dlx_dataset_find(c->dataset)) {
        dlx_spec_node *v = dlx_spec_get(data, "dataset");
        const char *names[16];
        int k = 0;
        for (const dlx_dataset_info *d; k < 15 && (d = dlx_dataset_at(k)); k++)
            names[k] = d->name;
        names[k] = NULL;
        const char *near = dlx_closest(c->dataset, names);
        rc = dlx_err_setf(err, DLX_EINVAL, v->loc, "data.dataset: unknown dataset '%s'%s%s%s (one of: %s)",
                          c->dataset, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "",
                          dlx_dataset_names());
    }
    double mean, std;
    int64_t pad, resize[2];
    int n_resize = 0;
    if (!rc) rc = dlx_spec_str(data, "dir", false, NULL, &c->data_dir, err);
    if (!rc) rc = dlx_spec_float(data, "mean", false, 0.0, -1e3, 1e3, &mean, err);
    if (!rc) rc = dlx_spec_float(data, "std", false, 1.0, 1e-6, 1e3, &std, err);
    if (!rc) rc = dlx_spec_int(data, "pad", false, 0, 0, 64, &pad, err);
    if (!rc) rc = dlx_spec_int_list(data, "resize", false, 1, 4096, resize, 2, &n_resize, err);
    if (!rc && n_resize == 1)
        resize[1] = resize[0];
    if (!rc) rc = dlx_spec_int(data, "train_limit", false, 0, 0, INT64_MAX, &c->train_limit, err);
    if (!rc) rc = dlx_spec_int(data, "test_limit", false, 0, 0, INT64_MAX, &c->test_limit, err);
    /* the resize is done once at load (load_split), so batches only normalise and pad */
    c->tf = (dlx_transform){.mean = (float)mean, .std = (float)std, .pad = (int)pad};
    c->resize_h = n_resize ? (int)resize[0] : 0;
    c->resize_w = n_resize ? (int)resize[1] : 0;
    if (!rc && !train)
        rc = dlx_err_setf(err, DLX_EINVAL, root->loc, "missing required key 'train' (e.g. train: {epochs: 10, batch: 64})");
    int64_t threads;
    if (!rc) rc = dlx_spec_expect_map(train, "train", err);
    if (!rc) rc = dlx_spec_check_keys(train, "train", k_train_keys, err);
    if (!rc) rc = dlx_spec_int(train, "epochs", true, 0, 1, 100000, &c->epochs, err);
    if (!rc) rc = dlx_spec_int(train, "batch", false, 64, 1, 65536, &c->batch, err);
    if (!rc) rc = dlx_spec_int(train, "checkpoint_every", false, 0, 0, INT64_MAX, &c->checkpoint_every, err);
    if (!rc) rc = dlx_spec_int(train, "log_every", false, 100, 1, INT64_MAX, &c->log_every, err);
    /* evaluate on the test split every N epochs (0: only after the last) */
    if (!rc) rc = dlx_spec_int(train, "eval_every", false, 1, 0, 100000, &c->eval_every, err);
    /* checkpoints at each epoch end (and every checkpoint_every steps), or only at the end */
    int save = 0;
    if (!rc) rc = dlx_spec_enum(train, "save", false, k_save, 0, &save, err);
    c->save_at_end = save == 1;
    if (!rc) rc = dlx_spec_int(train, "threads", false, 0, 0, 1024, &threads, err);
    /* micro-batches per batch (see the top of this file); they must divide it */
    int64_t shards = 0;
    if (!rc) rc = dlx_spec_int(train, "shards", false, c->batch % 2 == 0 ? 2 : 1, 1, MAX_SHARDS, &shards, err);
    if (!rc && c->batch % shards != 0)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(train, "shards")->loc,
                          "train.shards: %lld does not divide the batch size %lld", (long long)shards,
                          (long long)c->batch);
    c->n_shards = (int)shards;
    c->shard_batch = c->batch / (shards ? shards : 1);
    if (!rc) rc = dlx_optim_cfg_from_spec(train, &m->optim_cfg, err);
    if (!m->threads)
        m->threads = (int)threads;
    return rc;
}

/* Build the graph at `batch` over m->params (declaring them on first use). */
static int build_graph(dlx_model *m, clf *c, int64_t batch, dlx_graph **gout, dlx_node **x, dlx_node **y,
                       dlx_node **logits, dlx_node **loss, dlx_layers_out *lo, dlx_err *err)
{
    dlx_spec_node *model = dlx_spec_get(dlx_spec_root(m->spec), "model");
    dlx_spec_node *layers = dlx_spec_get(model, "layers");
    if (!layers)
        return dlx_err_setf(err, DLX_EINVAL, model->loc, "model: missing required key 'layers'");
    dlx_graph *g = dlx_graph_create(&m->params);
    if (!g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    int rc = DLX_ENOMEM;
    *x = dlx_graph_input(g, "input", dlx_shape_4d(batch, c->c, c->h, c->w), false, err);
    *y = dlx_graph_input(g, "labels", dlx_shape_1d(batch), false, err);
    if (!*x || !*y)
        goto fail;
    rc = dlx_layers_build(g, &m->params, layers, "", *x, lo, err);
    if (rc)
        goto fail;
    *logits = lo->output;
    int64_t k = (*logits)->out.numel / batch;
    if (k != c->num_classes) {
        char s[64];
        rc = dlx_err_setf(err, DLX_EINVAL, layers->items[layers->n - 1]->loc,
                          "model.layers: the last layer gives %lld outputs per sample %s, but %s has %d classes",
                          (long long)k, dlx_shape_str(&(*logits)->out.shape, s, sizeof s), c->dataset,
                          c->num_classes);
        goto fail;
    }
    dlx_node *in[2] = {*logits, *y};
    *loss = dlx_graph_op(g, &dlx_op_softmax_xent, "loss", in, 2, NULL, model->loc, err);
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
                 (long long)total, (double)dlx_graph_plan_bytes(c->sh[0].g) * c->n_shards / 1048576.0,
                 (long long)c->batch, c->n_shards, c->n_shards > 1 ? "s" : "", (long long)c->shard_batch,
                 c->workers);
}

/* Load a split, keep its first `limit` samples, and apply data.resize once
 * (from the dataset cache when a sweep turned it on). */
static int load_split(const clf *c, const char *name, const char *split, int64_t limit, dlx_dataset *d, dlx_err *err)
{
    return dlx_dataset_load_cached(name, split, c->data_dir, limit, c->resize_h, c->resize_w, d, err);
}

/* Before anything is loaded: the batch against the training set, the two
 * splits' image sizes (core/data.c) */
static int check_splits(dlx_model *m, clf *c, dlx_err *err)
{
    dlx_spec_node *train = dlx_spec_get(dlx_spec_root(m->spec), "train");
    dlx_spec_node *b = dlx_spec_get(train, "batch");
    return dlx_dataset_check_splits(c->dataset, c->data_dir, c->train_limit, c->resize_h > 0, c->batch,
                                    "train.batch", b ? b->loc : train->loc, &c->train_n, &c->train_px, err);
}

/* Everything the run will allocate, counted once shard 0's graph is built and
 * before the parameters, gradients, optimizer slots, arenas and the training
 * set are allocated (see models/budget.h). */
static int check_budget(dlx_model *m, clf *c, int threads, dlx_err *err)
{
    int64_t n = 0;
    for (int i = 0; i < m->params.n; i++)
        n += m->params.items[i].t.numel;
    dlx_budget b;
    memset(&b, 0, sizeof b);
    dlx_budget_params(&b, n, c->n_shards, &m->optim_cfg);
    b.activations = (double)dlx_graph_plan_bytes(c->sh[0].g) * c->n_shards;
    b.graphs = c->n_shards;
    /* the test split (loaded), the training split and its data order; a
     * resize holds the images as read and as resized while it runs */
    double px = (double)c->test.c * c->test.h * c->test.w;
    b.data = (double)c->test.n * (px + 1) + (double)c->train_n * (px + 1 + 4);
    if (c->resize_h)
        b.data += (double)c->train_n * (double)c->train_px;
    b.blas_threads = c->n_shards == 1 ? threads : (threads < c->n_shards ? threads : c->n_shards);
    return dlx_budget_check(m, &b, err);
}

static void clf_destroy(dlx_model *m)
{
    clf *c = m->impl;
    if (!c)
        return;
    for (int k = 0; k < c->n_shards; k++) {
        dlx_graph_destroy(c->sh[k].g);
        free(c->sh[k].grads);
        free(c->sh[k].idx);
    }
    dlx_dataset_free(&c->train);
    dlx_dataset_free(&c->test);
    free(c->layers.info);
    free(c->order);
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
    if (!rc) rc = check_splits(m, c, err);
    if (rc)
        return rc;
    /* the test split tells the input shape and the classes; train loads lazily */
    rc = load_split(c, c->dataset, "test", c->test_limit, &c->test, err);
    if (rc)
        return rc;
    c->num_classes = c->test.num_classes;
    dlx_transform_shape(&c->test, &c->tf, &c->c, &c->h, &c->w);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = m->threads > 0 ? m->threads : (int)(cores > 0 ? cores : 1);
    for (int k = 0; k < c->n_shards; k++) {
        shard *sh = &c->sh[k];
        dlx_layers_out lo;
        rc = build_graph(m, c, c->shard_batch, &sh->g, &sh->x, &sh->y, &sh->logits, &sh->loss,
                         k == 0 ? &c->layers : &lo, err);
        if (rc)
            return rc;
        if (k > 0)
            free(lo.info);
        if (k == 0 && ((rc = check_budget(m, c, threads, err)) || (rc = dlx_params_finalize(&m->params, err))))
            return rc;
        if (k > 0 && !(sh->grads = calloc((size_t)m->params.total + 1, sizeof(float))))
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        sh->g->param_grads = sh->grads;
        sh->idx = calloc((size_t)c->shard_batch, sizeof *sh->idx);
        if (!sh->idx)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        if ((rc = dlx_graph_compile(sh->g, 0, err)))
            return rc;
    }
    dlx_params_init_values(&m->params, m->seed);
    rc = dlx_optim_create(&m->optim_cfg, &m->params, &m->optim, err);
    if (rc)
        return rc;
    c->workers = threads < c->n_shards ? threads : c->n_shards;
    /* One shard: its ops split large products over the cores instead (each
     * core packs part of a weight matrix for the whole batch; shards would
     * each pack all of it for part of the batch). */
    c->op_threads = c->n_shards == 1 ? threads : 1;
    dlx_optim_set_threads(m->optim, threads);
    report_layers(m, c);
    return 0;
}

/* Argmax per row (correct count, misclassified indices) and, when nll is
 * given, -log p(label) in double. */
static void score_rows(const float *logits, const float *labels, int rows, int k, double *nll, int64_t *correct,
                       const uint32_t *idx, shard *c)
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
        else if (c && c->n_wrong < MAX_WRONG)
            c->wrong[c->n_wrong++] = idx[i];
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Shard k evaluates batches k, k + S, k + 2S, ...; partial sums are added in
 * shard order and the misclassified indices sorted, so nothing depends on
 * which thread ran what. */
static int evaluate_on(dlx_model *m, clf *c, const dlx_dataset *d, double *loss, double *acc)
{
    int64_t sb = c->shard_batch, n_batches = (d->n + sb - 1) / sb;
#pragma omp parallel for num_threads(c->workers) schedule(static, 1)
    for (int k = 0; k < c->n_shards; k++) {
        shard *sh = &c->sh[k];
        const dlx_ctx ctx = {.training = false, .seed = m->seed, .step = (uint64_t)m->step,
                             .threads = c->op_threads};
        sh->nll = 0.0;
        sh->correct = 0;
        sh->n_wrong = 0;
        for (int64_t b = k; b < n_batches; b += c->n_shards) {
            int64_t start = b * sb;
            int rows = (int)(d->n - start < sb ? d->n - start : sb);
            for (int i = 0; i < sb; i++)
                sh->idx[i] = (uint32_t)(i < rows ? start + i : start); /* pad with a real sample */
            dlx_dataset_batch(d, &c->tf, sh->idx, (int)sb, sh->x->out.data, sh->y->out.data);
            dlx_graph_forward(sh->g, &ctx);
            score_rows(sh->logits->out.data, sh->y->out.data, rows, c->num_classes, &sh->nll, &sh->correct,
                       sh->idx, sh);
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

static int check_compatible(const clf *c, const dlx_dataset *d, dlx_err *err)
{
    int ch, h, w;
    dlx_transform_shape(d, &c->tf, &ch, &h, &w);
    if (ch != c->c || h != c->h || w != c->w || d->num_classes != c->num_classes)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "dataset %s:%s has %dx%dx%d inputs and %d classes, but the model takes %dx%dx%d and %d",
                            d->name, d->split, ch, h, w, d->num_classes, c->c, c->h, c->w, c->num_classes);
    return 0;
}

static int clf_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    clf *c = m->impl;
    const dlx_dataset *d = &c->test;
    dlx_dataset other;
    memset(&other, 0, sizeof other);
    if (data) {
        char name[64], split[16] = "test";
        const char *colon = strchr(data, ':');
        size_t len = colon ? (size_t)(colon - data) : strlen(data);
        if (len >= sizeof name || (colon && strlen(colon + 1) >= sizeof split))
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--data: expected NAME:SPLIT, e.g. mnist:test, got '%s'", data);
        memcpy(name, data, len);
        name[len] = '\0';
        if (colon)
            snprintf(split, sizeof split, "%s", colon + 1);
        if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--data: unknown split '%s' (train or test)", split);
        if (!dlx_dataset_find(name))
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--data: unknown dataset '%s' (one of: %s)", name,
                                dlx_dataset_names());
        int rc = load_split(c, name, split, 0, &other, err);
        if (!rc) rc = check_compatible(c, &other, err);
        if (rc) {
            dlx_dataset_free(&other);
            return rc;
        }
        d = &other;
    }
    double loss, acc;
    evaluate_on(m, c, d, &loss, &acc);
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "accuracy", acc);
    dlx_results_set(res, "error", 1.0 - acc);
    dlx_results_set(res, "loss", loss);
    dlx_results_set(res, "samples", (double)d->n);
    dlx_results_set(res, "step", (double)m->step);
    dlx_dataset_free(&other);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* First-layer filters and misclassified test digits, as PNG grids. */
static int write_pictures(dlx_model *m, clf *c, dlx_err *err)
{
    char path[600];
    if (m->params.n > 0 && m->params.items[0].t.shape.ndim == 4) {
        const dlx_param *w = &m->params.items[0];
        int f = (int)w->t.shape.d[0], ch = (int)w->t.shape.d[1];
        int cols = f < 8 ? f : 8;
        /* one tile per (filter, input channel) */
        dlx_grid grid = {.rows = (f * ch + cols - 1) / cols, .cols = cols, .c = 1, .h = (int)w->t.shape.d[2],
                         .w = (int)w->t.shape.d[3], .zoom = 0, .lo = 0, .hi = 0};
        grid.zoom = grid.h < 64 ? 64 / grid.h : 1; /* tiles about 64 pixels high */
        int rc = dlx_path_join(path, sizeof path, m->run_dir, "filters.png", err);
        if (!rc) rc = dlx_png_write_grid(path, &grid, w->t.data, f * ch, err);
        if (rc)
            return rc;
        dlx_run_info(m, "wrote %s (%s, %d filters)", path, w->name, f);
    }
    if (c->n_wrong > 0) {
        /* tiles are the images as loaded (after data.resize), without normalisation */
        dlx_transform plain = {.mean = 0.0f, .std = 1.0f};
        int tc, th, tw;
        dlx_transform_shape(&c->test, &plain, &tc, &th, &tw);
        int per = tc * th * tw;
        float *tiles = malloc((size_t)c->n_wrong * (size_t)per * sizeof(float));
        if (!tiles)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        dlx_dataset_batch(&c->test, &plain, c->wrong, c->n_wrong, tiles, NULL);
        dlx_grid grid = {.rows = (c->n_wrong + 9) / 10, .cols = 10, .c = tc, .h = th, .w = tw,
                         .zoom = th < 28 ? 56 / th : 2, .lo = 0.0f, .hi = 1.0f};
        int rc = dlx_path_join(path, sizeof path, m->run_dir, "misclassified.png", err);
        if (!rc) rc = dlx_png_write_grid(path, &grid, tiles, c->n_wrong, err);
        free(tiles);
        if (rc)
            return rc;
        dlx_run_info(m, "wrote %s (%d misclassified test images)", path, c->n_wrong);
    }
    return 0;
}

static int end_of_epoch(dlx_model *m, clf *c, dlx_metrics *mx, double train_loss, double train_acc, bool eval,
                        bool save, dlx_err *err)
{
    double loss = NAN, acc = NAN;
    if (eval)
        evaluate_on(m, c, &c->test, &loss, &acc);
    dlx_results *r = &m->results;
    memset(r, 0, sizeof *r);
    dlx_results_set(r, "epoch", (double)m->epoch);
    dlx_results_set(r, "step", (double)m->step);
    dlx_results_set(r, "train_loss", train_loss);
    dlx_results_set(r, "train_accuracy", train_acc);
    if (eval) {
        dlx_results_set(r, "test_loss", loss);
        dlx_results_set(r, "test_accuracy", acc);
        dlx_results_set(r, "test_error", 1.0 - acc);
    }
    int rc = 0;
    /* train_loss is already logged per log_every steps; epoch and step are the row keys */
    for (int i = 0; i < r->n && !rc; i++)
        if (strcmp(r->name[i], "epoch") && strcmp(r->name[i], "step") && strcmp(r->name[i], "train_loss"))
            rc = dlx_metrics_append(mx, r->name[i], m->step, r->value[i], err);
    if (!rc) rc = dlx_metrics_flush(mx, err);
    if (!rc && save) rc = dlx_run_save_checkpoint(m, err);
    return rc;
}

/* Per-op forward/backward milliseconds per step, slowest first (--profile). */
static void report_profile(const dlx_model *m, const dlx_graph *g, const double *prof, int64_t steps)
{
    double total = 0.0;
    for (int i = 0; i < g->n; i++)
        total += prof[2 * i] + prof[2 * i + 1];
    if (steps <= 0 || total <= 0.0)
        return;
    dlx_run_info(m, "profile of shard 0, per step (training; evaluation excluded):");
    dlx_run_info(m, "  %-14s %-12s %9s %9s %6s", "node", "op", "fwd ms", "bwd ms", "share");
    bool done[4096] = {false};
    for (int r = 0; r < g->n && r < 4096; r++) {
        int best = -1;
        for (int i = 0; i < g->n && i < 4096; i++)
            if (!done[i] && g->nodes[i]->kind == DLX_NODE_OP &&
                (best < 0 || prof[2 * i] + prof[2 * i + 1] > prof[2 * best] + prof[2 * best + 1]))
                best = i;
        if (best < 0)
            break;
        done[best] = true;
        const dlx_node *n = g->nodes[best];
        dlx_run_info(m, "  %-14s %-12s %9.3f %9.3f %5.1f%%", n->name, n->op->name, 1e3 * prof[2 * best] / (double)steps,
                     1e3 * prof[2 * best + 1] / (double)steps,
                     100.0 * (prof[2 * best] + prof[2 * best + 1]) / total);
    }
    dlx_run_info(m, "  total %.3f ms per step in ops", 1e3 * total / (double)steps);
}

/* Forward and backward of shard k on its slice of step `pos`'s batch: its
 * gradient block gets the shard's mean gradient, sh->step_correct its right
 * answers. */
static void train_shard(dlx_model *m, clf *c, int k, int64_t pos, int64_t spe)
{
    shard *sh = &c->sh[k];
    memcpy(sh->idx, c->order + pos * c->batch + k * c->shard_batch, (size_t)c->shard_batch * sizeof *sh->idx);
    dlx_dataset_batch(&c->train, &c->tf, sh->idx, (int)c->shard_batch, sh->x->out.data, sh->y->out.data);
    /* small samples in random order are cache misses: start the next
     * step's slice on its way while this one computes */
    if (pos + 1 < spe)
        dlx_dataset_prefetch(&c->train, c->order + (pos + 1) * c->batch + k * c->shard_batch, (int)c->shard_batch);
    /* a micro-batch counter, so every shard draws its own dropout masks */
    const dlx_ctx ctx = {.training = true, .seed = m->seed, .step = (uint64_t)(m->step * c->n_shards + k),
                         .threads = c->op_threads};
    dlx_graph_forward(sh->g, &ctx);
    if (!c->grads_zero)
        memset(k == 0 ? m->params.grads : sh->grads, 0, (size_t)m->params.total * sizeof(float));
    dlx_graph_backward(sh->g, sh->loss, &ctx);
    sh->step_correct = 0;
    score_rows(sh->logits->out.data, sh->y->out.data, (int)c->shard_batch, c->num_classes, NULL, &sh->step_correct,
               sh->idx, NULL);
}

/* The batch gradient is the mean of the shards' (each is already a mean over
 * its micro-batch): summed in shard order, element by element, so the bits
 * depend neither on the threads nor on how [lo, hi) is cut. */
static void reduce_range(dlx_model *m, const clf *c, int64_t lo, int64_t hi)
{
    if (c->n_shards == 1)
        return;
    float *g = m->params.grads, inv = 1.0f / (float)c->n_shards;
    for (int k = 1; k < c->n_shards; k++) {
        const float *gk = c->sh[k].grads;
        if (k < c->n_shards - 1)
            for (int64_t i = lo; i < hi; i++)
                g[i] += gk[i];
        else /* the mean in the same pass as the last sum */
            for (int64_t i = lo; i < hi; i++)
                g[i] = (g[i] + gk[i]) * inv;
    }
}

/* The fused end of a step on one worker's slice: in chunks that stay in
 * cache, the shards' mean gradient, the update, and every shard's block
 * zeroed for the next step (one pass over memory instead of a memset, a sum,
 * a scale and an update each streaming the whole store: the MLP's 1.5 M
 * parameters are 6 MB per block). */
static void reduce_update_zero(dlx_model *m, const clf *c, const dlx_optim_consts *oc, int64_t lo, int64_t hi)
{
    enum { CHUNK = 4096 }; /* floats: 5 arrays of 16 KB */
    for (int64_t a = lo; a < hi; a += CHUNK) {
        int64_t b = a + CHUNK < hi ? a + CHUNK : hi;
        reduce_range(m, c, a, b);
        dlx_optim_apply(m->optim, oc, a, b);
        memset(m->params.grads + a, 0, (size_t)(b - a) * sizeof(float));
        for (int k = 1; k < c->n_shards; k++)
            memset(c->sh[k].grads + a, 0, (size_t)(b - a) * sizeof(float));
    }
}

/* Threads for a pass over every parameter: below 64k parameters the pass
 * takes less time than starting a team. */
static int update_threads(const dlx_model *m, int threads)
{
    return m->params.total >= 65536 ? threads : 1;
}

static void reduce_grads(dlx_model *m, clf *c)
{
    int64_t n = m->params.total;
    if (update_threads(m, c->workers) > 1) {
#pragma omp parallel for schedule(static) num_threads(c->workers)
        for (int64_t i0 = 0; i0 < n; i0 += 4096)
            reduce_range(m, c, i0, i0 + 4096 < n ? i0 + 4096 : n);
    } else {
        reduce_range(m, c, 0, n);
    }
}

/* Worker `id` of `count`: its slice of the parameter store, cut on 16-float
 * (cache line) boundaries so no two workers write the same line. */
static void param_slice(int64_t total, int id, int count, int64_t *lo, int64_t *hi)
{
    *lo = id == 0 ? 0 : (total * id / count) & ~(int64_t)15;
    *hi = id == count - 1 ? total : (total * (id + 1) / count) & ~(int64_t)15;
}

static int worker_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int worker_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* The body of a training step's parallel region, run by every worker (or by
 * the caller alone): the shards (unless already run), then each worker's
 * slice of the update. *loss gets the mean of the shards' losses. */
static void step_shards_update(dlx_model *m, clf *c, const dlx_optim_consts *oc, bool fused, int64_t pos,
                               int64_t spe, double *loss)
{
    if (c->op_threads <= 1) {
#pragma omp for schedule(static, 1)
        for (int k = 0; k < c->n_shards; k++)
            train_shard(m, c, k, pos, spe);
    }
    /* (after the loop's barrier, or the shard run before the region: every
     * shard's loss and gradient is in) */
    double l = 0.0;
    for (int k = 0; k < c->n_shards; k++)
        l += c->sh[k].loss->out.data[0];
    l /= c->n_shards;
    if (fused && isfinite(l)) {
        int64_t lo, hi;
        param_slice(m->params.total, worker_id(), worker_count(), &lo, &hi);
        reduce_update_zero(m, c, oc, lo, hi);
    }
    if (worker_id() == 0)
        *loss = l;
}

static int clf_train(dlx_model *m, dlx_err *err)
{
    clf *c = m->impl;
    int rc = 0;
    if (!c->train_loaded) {
        rc = load_split(c, c->dataset, "train", c->train_limit, &c->train, err);
        if (!rc) rc = check_compatible(c, &c->train, err);
        if (rc)
            return rc;
        c->train_loaded = true;
    }
    int64_t spe = c->train.n / c->batch;
    if (spe == 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "train.batch (%lld) is larger than the training set (%lld samples)",
                            (long long)c->batch, (long long)c->train.n);
    int64_t total = c->epochs * spe;
    if (!c->order && !(c->order = malloc((size_t)c->train.n * sizeof *c->order)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    char path[600];
    dlx_metrics *mx;
    rc = dlx_path_join(path, sizeof path, m->run_dir, "metrics.h5", err);
    if (!rc) rc = dlx_metrics_open(path, m->resumed, m->step, &mx, err);
    if (rc)
        return rc;
    if (m->step >= total)
        dlx_run_info(m, "already trained: step %lld of %lld", (long long)m->step, (long long)total);

    double *prof = NULL;
    if (m->profile && (prof = calloc(2 * (size_t)c->sh[0].g->n, sizeof *prof)))
        c->sh[0].g->prof = prof; /* shard 0 stands for all: they run the same graph */
    /* The running sums behind the logged averages live in m->state, so a
     * checkpoint carries them and a resumed run logs the same values. */
    enum { EPOCH_LOSS, LOG_LOSS, EPOCH_CORRECT, EPOCH_STEPS, LOG_STEPS, N_ACC };
    double *acc = m->state;
    if (!m->resumed || m->n_state != N_ACC)
        memset(m->state, 0, sizeof m->state);
    m->n_state = N_ACC;
    double t0 = now_s(), t_log = t0, t_other = 0.0;
    int64_t step0 = m->step, order_epoch = -1;
    while (m->step < total) {
        int64_t epoch = m->step / spe, pos = m->step % spe;
        if (epoch != order_epoch) {
            dlx_epoch_order(m->seed, epoch, c->order, (uint32_t)c->train.n);
            order_epoch = epoch;
        }
        /* One parallel region per step: each shard takes its slice of the
         * batch, runs forward and backward into its own gradient block and
         * scores its rows; then every worker sums the shards' gradients and
         * applies the update on its own slice of the parameters (elementwise:
         * the same bits for any number of workers). Clipping needs the whole
         * summed gradient first, so it takes the serial path after the region.
         * No update is applied when the loss is not finite. */
        double lr = dlx_optim_lr(&m->optim_cfg, m->step, spe, total);
        dlx_optim_consts oc;
        dlx_optim_prepare(m->optim, lr, &oc);
        const bool fused = !dlx_optim_clips(m->optim);
        double loss = 0.0;
        /* One shard with ops over every core: run it before the region, whose
         * team then only updates (every core for a large model; for a tiny
         * one, starting the team would cost more than the update). */
        int team = c->workers;
        if (c->op_threads > 1) {
            train_shard(m, c, 0, pos, spe);
            team = update_threads(m, c->op_threads);
        }
        /* one worker: no team at all (a one-thread region still cost a futex
         * call per step in libgomp; the worksharing loop below then runs
         * every iteration on this thread) */
        if (team > 1) {
#pragma omp parallel num_threads(team)
            step_shards_update(m, c, &oc, fused, pos, spe, &loss);
        } else {
            step_shards_update(m, c, &oc, fused, pos, spe, &loss);
        }
        if (!isfinite(loss)) {
            if (m->checkpoint_step >= 0)
                rc = dlx_err_setf(err, DLX_ENUM, DLX_NOLOC,
                                  "loss is %s at step %lld (epoch %lld); training stopped. The last good "
                                  "checkpoint, %s/checkpoint.h5 (step %lld), is intact; try a lower learning rate",
                                  isnan(loss) ? "NaN" : "infinite", (long long)m->step + 1, (long long)epoch + 1,
                                  m->run_dir, (long long)m->checkpoint_step);
            else
                rc = dlx_err_setf(err, DLX_ENUM, DLX_NOLOC,
                                  "loss is %s at step %lld (epoch %lld); training stopped before any checkpoint "
                                  "was written; try a lower learning rate",
                                  isnan(loss) ? "NaN" : "infinite", (long long)m->step + 1, (long long)epoch + 1);
            goto out;
        }
        c->grads_zero = fused; /* (the loss is finite here) */
        if (fused) {
            dlx_optim_commit(m->optim);
        } else {
            reduce_grads(m, c);
            dlx_optim_step(m->optim, lr);
        }
        m->step++;
        int64_t correct = 0;
        for (int k = 0; k < c->n_shards; k++)
            correct += c->sh[k].step_correct;
        acc[EPOCH_CORRECT] += (double)correct;
        acc[EPOCH_LOSS] += loss;
        acc[LOG_LOSS] += loss;
        acc[EPOCH_STEPS] += 1.0;
        acc[LOG_STEPS] += 1.0;
        if (m->step % c->log_every == 0 || m->step % spe == 0) {
            rc = dlx_metrics_append(mx, "train_loss", m->step, acc[LOG_LOSS] / acc[LOG_STEPS], err);
            if (!rc) rc = dlx_metrics_append(mx, "lr", m->step, lr, err);
            if (rc)
                goto out;
            acc[LOG_LOSS] = acc[LOG_STEPS] = 0.0;
        }
        double t = now_s();
        if (m->hooks.progress && (t - t_log > 0.25 || m->step % spe == 0)) {
            double sps = (double)(m->step - step0) / (t - t0);
            dlx_progress p = {.phase = "train", .epoch = epoch + 1, .epochs = c->epochs, .step = m->step,
                              .steps = total, .loss = acc[EPOCH_LOSS] / acc[EPOCH_STEPS], .steps_per_s = sps,
                              .images_per_s = sps * (double)c->batch,
                              .eta_s = sps > 0 ? (double)(total - m->step) / sps : 0.0};
            m->hooks.progress(m->hooks.user, &p);
            t_log = t;
        }
        if (m->step % spe == 0) {
            m->epoch = epoch + 1;
            bool eval = m->step == total || (c->eval_every && m->epoch % c->eval_every == 0);
            double t_eval = now_s();
            double train_loss = acc[EPOCH_LOSS] / acc[EPOCH_STEPS];
            double train_acc = acc[EPOCH_CORRECT] / (acc[EPOCH_STEPS] * (double)c->batch);
            /* the next epoch starts from zero, also in the checkpoint written now */
            acc[EPOCH_LOSS] = acc[EPOCH_CORRECT] = acc[EPOCH_STEPS] = 0.0;
            rc = end_of_epoch(m, c, mx, train_loss, train_acc, eval,
                              m->step == total || !c->save_at_end, err);
            t_other += now_s() - t_eval;
            if (rc)
                goto out;
            if (m->hooks.progress) {
                dlx_progress p = {.phase = "eval", .epoch = epoch + 1, .epochs = c->epochs, .step = m->step,
                                  .steps = total, .results = &m->results};
                m->hooks.progress(m->hooks.user, &p);
            }
        } else if (c->checkpoint_every && m->step % c->checkpoint_every == 0) {
            double t_ck = now_s();
            rc = dlx_metrics_flush(mx, err);
            if (!rc) rc = dlx_run_save_checkpoint(m, err);
            t_other += now_s() - t_ck;
            if (rc)
                goto out;
        }
        if (m->stop_at && m->step >= m->stop_at && m->step < total) {
            rc = dlx_metrics_flush(mx, err);
            if (!rc) rc = dlx_run_save_checkpoint(m, err);
            if (rc)
                goto out;
            dlx_run_info(m, "stopped at step %lld of %lld as asked; continue with --resume", (long long)m->step,
                         (long long)total);
            break;
        }
        if (m->hooks.stop && *m->hooks.stop) {
            *m->hooks.stop = 2;
            rc = dlx_metrics_flush(mx, err);
            if (!rc) rc = dlx_run_save_checkpoint(m, err);
            if (!rc)
                rc = dlx_err_setf(err, DLX_EINTR, DLX_NOLOC,
                                  "interrupted at step %lld of %lld; checkpoint saved in %s/checkpoint.h5; "
                                  "continue with --resume",
                                  (long long)m->step, (long long)total, m->run_dir);
            goto out;
        }
    }
    if (!m->results.n) { /* resumed at the end: evaluate once so results exist */
        double loss, acc;
        evaluate_on(m, c, &c->test, &loss, &acc);
        dlx_results_set(&m->results, "test_loss", loss);
        dlx_results_set(&m->results, "test_accuracy", acc);
        dlx_results_set(&m->results, "test_error", 1.0 - acc);
        dlx_results_set(&m->results, "step", (double)m->step);
    }
    double seconds = now_s() - t0;
    dlx_results_set(&m->results, "train_seconds", seconds);
    if (m->step > step0) { /* training steps only: evaluation and checkpoints excluded */
        dlx_results_set(&m->results, "step_seconds", seconds - t_other);
        dlx_results_set(&m->results, "images_per_second",
                        (double)((m->step - step0) * c->batch) / (seconds - t_other));
    }
    rc = write_pictures(m, c, err);
    if (prof)
        report_profile(m, c->sh[0].g, prof, m->step - step0);
out:
    if (prof) {
        c->sh[0].g->prof = NULL;
        free(prof);
    }
    {
        dlx_err e2;
        int rc2 = dlx_metrics_flush(mx, &e2);
        if (!rc && rc2) {
            rc = rc2;
            *err = e2;
        }
    }
    dlx_metrics_close(mx);
    return rc;
}

static int clf_gradcheck(dlx_model *m, const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err)
{
    clf *c = m->impl;
    enum { GC_BATCH = 2 };
    dlx_graph *g;
    dlx_node *x, *y, *logits, *loss;
    dlx_layers_out lo;
    int rc = build_graph(m, c, GC_BATCH, &g, &x, &y, &logits, &loss, &lo, err);
    if (rc)
        return rc;
    free(lo.info);
    rc = dlx_graph_compile(g, m->max_memory, err);
    if (!rc) {
        uint32_t idx[GC_BATCH] = {0, 1};
        for (int i = 0; i < GC_BATCH; i++)
            idx[i] = (uint32_t)(i % c->test.n);
        dlx_dataset_batch(&c->test, &c->tf, idx, GC_BATCH, x->out.data, y->out.data);
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

const dlx_family dlx_family_classifier = {
    .name = "classifier",
    .help = "convnets and MLPs with softmax cross-entropy on MNIST / Fashion-MNIST",
    .create = clf_create,
    .destroy = clf_destroy,
    .train = clf_train,
    .evaluate = clf_evaluate,
    .gradcheck = clf_gradcheck,
};
