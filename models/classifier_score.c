/* A dlx classifier checkpoint as a scorer of generated images (contract
 * and the reasons it lives in models/ in classifier_score.h). */
#include "classifier_score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/data.h"
#include "../core/graph.h"
#include "../core/h5io.h"
#include "../core/layers.h"
#include "../core/ops/ops.h"
#include "../core/spec.h"
#include "../train/images.h"

/* Rows per forward pass: LeNet-5 at 250 holds a few MiB of activations. */
enum { SCORER_BATCH = 250 };

struct dlx_clf_scorer {
    char path[1024];     /* the checkpoint, for messages */
    dlx_spec *spec;      /* the stored spec: im's strings point into it */
    dlx_images im;       /* data: (dataset, dir, tf, resize); im.test is the reference split once loaded */
    int64_t ref_limit;
    bool test_loaded;
    int c, h, w;         /* unpadded size */
    int in_c, in_h, in_w;
    int classes;
    int64_t feat_dim;
    dlx_params params;
    dlx_graph *g;
    dlx_node *x, *logits, *feats;
    double *row;         /* one row of log p when the caller wants p alone */
    uint32_t idx[SCORER_BATCH];
    dlx_moments ref;
    bool have_ref;
};

static int read_classifier_spec(dlx_clf_scorer *s, const char *spec_text, const char *family, dlx_err *err)
{
    char name[1100];
    snprintf(name, sizeof name, "%s:/spec", s->path); /* a location for messages */
    int rc = dlx_spec_load_string(spec_text, name, &s->spec, err);
    if (rc)
        return rc;
    dlx_spec_node *root = dlx_spec_root(s->spec), *model = dlx_spec_get(root, "model");
    dlx_spec_node *kind = model ? dlx_spec_get(model, "kind") : NULL;
    const char *k = family[0] ? family : kind && kind->kind == DLX_SPEC_SCALAR ? kind->scalar : "classifier";
    if (strcmp(k, "classifier") != 0)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(s->path),
                            "a checkpoint of model kind '%s', not a classifier: sample scores need a classifier "
                            "that dlx trained on the images' dataset", k);
    if (!model || model->kind != DLX_SPEC_MAP || !dlx_spec_get(model, "layers"))
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(s->path), "the stored spec has no model.layers");
    return dlx_images_read_spec(root, &s->im, true, err);
}

/* Image sizes from the test split's header and the spec's resize and pad. */
static int read_sizes(dlx_clf_scorer *s, dlx_err *err)
{
    int64_t n;
    int h, w;
    char file[4096];
    int rc = dlx_dataset_peek(s->im.dataset, "test", s->im.dir, &n, &h, &w, file, sizeof file, err);
    if (rc)
        return rc;
    s->c = 1; /* IDX images are one plane */
    s->h = s->im.resize_h > 0 ? s->im.resize_h : h;
    s->w = s->im.resize_w > 0 ? s->im.resize_w : w;
    s->in_c = s->c;
    s->in_h = s->h + 2 * s->im.tf.pad;
    s->in_w = s->w + 2 * s->im.tf.pad;
    s->classes = dlx_dataset_find(s->im.dataset)->num_classes;
    if (!(s->row = malloc((size_t)s->classes * sizeof *s->row)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    return 0;
}

/* The input of the last linear op on the logits' first-input path. */
static dlx_node *find_features(dlx_node *logits)
{
    for (dlx_node *n = logits; n && n->kind == DLX_NODE_OP && n->n_in > 0; n = n->in[0])
        if (n->op == &dlx_op_linear)
            return n->in[0];
    return NULL;
}

static int load_arrays(dlx_clf_scorer *s, dlx_err *err)
{
    dlx_params *p = &s->params;
    int n = p->n + p->n_buffers;
    dlx_h5_array *a = calloc((size_t)(n ? n : 1), sizeof *a);
    if (!a)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int i = 0; i < p->n; i++) {
        snprintf(a[i].path, sizeof a[i].path, "/params/%s", p->items[i].name);
        a[i].shape = p->items[i].t.shape;
        a[i].data = p->items[i].t.data;
    }
    for (int i = 0; i < p->n_buffers; i++) {
        dlx_h5_array *b = &a[p->n + i];
        snprintf(b->path, sizeof b->path, "/buffers/%s", p->buffers[i].name);
        b->shape = p->buffers[i].t.shape;
        b->data = p->buffers[i].t.data;
    }
    int rc = dlx_ckpt_read_arrays(s->path, a, n, false, err);
    free(a);
    return rc;
}

static int build(dlx_clf_scorer *s, dlx_err *err)
{
    dlx_spec_node *layers = dlx_spec_get(dlx_spec_get(dlx_spec_root(s->spec), "model"), "layers");
    if (!(s->g = dlx_graph_create(&s->params)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    s->g->inference = true;
    s->x = dlx_graph_input(s->g, "input", dlx_shape_4d(SCORER_BATCH, s->in_c, s->in_h, s->in_w), false, err);
    if (!s->x)
        return err->code;
    dlx_layers_out lo = {0};
    int rc = dlx_layers_build(s->g, &s->params, layers, "", s->x, &lo, err);
    free(lo.info);
    if (rc)
        return rc;
    s->logits = lo.output;
    if (s->logits->out.numel != (int64_t)SCORER_BATCH * s->classes)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(s->path),
                            "the classifier gives %lld outputs per sample, but %s has %d classes",
                            (long long)(s->logits->out.numel / SCORER_BATCH), s->im.dataset, s->classes);
    if (!(s->feats = find_features(s->logits)))
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(s->path),
                            "no linear layer produces the classifier's logits: its penultimate features are "
                            "the input of that layer");
    s->feat_dim = s->feats->out.numel / SCORER_BATCH;
    rc = dlx_params_finalize(&s->params, err);
    if (!rc) rc = dlx_graph_compile(s->g, 0, err);
    if (!rc) rc = load_arrays(s, err);
    return rc;
}

int dlx_clf_scorer_open(const char *path, int64_t ref_limit, dlx_clf_scorer **out, dlx_err *err)
{
    *out = NULL;
    if (!path || ref_limit < 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "classifier scorer: no checkpoint path, or a negative limit");
    dlx_clf_scorer *s = calloc(1, sizeof *s);
    if (!s)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    if (strlen(path) >= sizeof s->path) {
        free(s);
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "classifier checkpoint path longer than %zu bytes",
                            sizeof s->path - 1);
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    s->ref_limit = ref_limit;
    dlx_params_init(&s->params);
    dlx_ckpt_meta meta;
    char family[64];
    int rc = dlx_ckpt_read_meta(path, &meta, family, sizeof family, err);
    if (!rc) {
        rc = read_classifier_spec(s, meta.spec_text, family, err);
        free((char *)meta.spec_text);
    }
    if (!rc) rc = read_sizes(s, err);
    if (!rc) rc = build(s, err);
    if (rc) {
        dlx_clf_scorer_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dlx_clf_scorer_get_info(const dlx_clf_scorer *s, dlx_clf_scorer_info *info)
{
    *info = (dlx_clf_scorer_info){.dataset = s->im.dataset, .c = s->c, .h = s->h, .w = s->w, .in_c = s->in_c,
                                  .in_h = s->in_h, .in_w = s->in_w, .classes = s->classes, .features = s->feat_dim,
                                  .mean = s->im.tf.mean, .std = s->im.tf.std};
}

/* The batch's rows [0, rows) out of the graph into rows [at, at + rows) of
 * log p, p and the features. */
static void take_outputs(const dlx_clf_scorer *s, int64_t at, int rows, double *probs, double *logp, float *features)
{
    int k = s->classes;
    for (int i = 0; i < rows && (probs || logp); i++) {
        double *lp = logp ? logp + (at + i) * k : s->row;
        dlx_log_softmax_rows(s->logits->out.data + (int64_t)i * k, 1, k, lp);
        for (int j = 0; probs && j < k; j++)
            probs[(at + i) * k + j] = exp(lp[j]);
    }
    if (features)
        memcpy(features + at * s->feat_dim, s->feats->out.data, (size_t)rows * (size_t)s->feat_dim * sizeof *features);
}

static const dlx_ctx k_infer = {.training = false, .threads = 1};

int dlx_clf_scorer_run(dlx_clf_scorer *s, const float *images, int64_t n, int c, int h, int w, double *probs,
                       double *logp, float *features, dlx_err *err)
{
    bool full = c == s->in_c && h == s->in_h && w == s->in_w, bare = c == s->c && h == s->h && w == s->w;
    if (!full && !bare)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(s->path),
                            "the classifier takes %dx%dx%d images (or %dx%dx%d, padded by data.pad), got %dx%dx%d",
                            s->c, s->h, s->w, s->in_c, s->in_h, s->in_w, c, h, w);
    if (n < 1 || !images)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "classifier scorer: %lld images", (long long)n);
    int pad = full ? 0 : s->im.tf.pad;
    float inv = 1.0f / s->im.tf.std, bias = -s->im.tf.mean / s->im.tf.std;
    size_t in_plane = (size_t)h * w, out_plane = (size_t)s->in_h * s->in_w;
    float *x = s->x->out.data;
    for (int64_t at = 0; at < n; at += SCORER_BATCH) {
        int rows = (int)(n - at < SCORER_BATCH ? n - at : SCORER_BATCH);
        for (int i = 0; i < SCORER_BATCH; i++) { /* a short last batch repeats its first image */
            const float *src = images + (size_t)(at + (i < rows ? i : 0)) * c * in_plane;
            float *dst = x + (size_t)i * s->in_c * out_plane;
            for (size_t q = 0; pad && q < (size_t)s->in_c * out_plane; q++)
                dst[q] = bias; /* the padding is background, as the dataset pipeline pads */
            for (int ch = 0; ch < c; ch++)
                for (int r = 0; r < h; r++)
                    for (int col = 0; col < w; col++)
                        dst[ch * out_plane + (size_t)(r + pad) * s->in_w + col + pad] =
                            (src[ch * in_plane + (size_t)r * w + col] - s->im.tf.mean) * inv;
        }
        dlx_graph_forward(s->g, &k_infer);
        take_outputs(s, at, rows, probs, logp, features);
    }
    return 0;
}

static int load_test(dlx_clf_scorer *s, dlx_err *err)
{
    if (s->test_loaded)
        return 0;
    int rc = dlx_dataset_load_cached(s->im.dataset, "test", s->im.dir, s->ref_limit, s->im.resize_h, s->im.resize_w,
                                     &s->im.test, err);
    if (rc)
        return rc;
    int c, h, w;
    dlx_transform_shape(&s->im.test, &s->im.tf, &c, &h, &w);
    if (c != s->in_c || h != s->in_h || w != s->in_w || s->im.test.n < 1)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_NOLOC, "%s:test gives %lld inputs of %dx%dx%d, the classifier takes %dx%dx%d",
                            s->im.dataset, (long long)s->im.test.n, c, h, w, s->in_c, s->in_h, s->in_w);
    s->test_loaded = true;
    return 0;
}

int dlx_clf_scorer_test_size(dlx_clf_scorer *s, int64_t *n, dlx_err *err)
{
    int rc = load_test(s, err);
    *n = rc ? 0 : s->im.test.n;
    return rc;
}

int dlx_clf_scorer_run_test(dlx_clf_scorer *s, int64_t first, int64_t n, double *logp, float *features,
                            float *labels, dlx_err *err)
{
    int rc = load_test(s, err);
    if (rc)
        return rc;
    if (first < 0 || n < 1 || n > s->im.test.n - first)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "samples [%lld, %lld) of %s:test, which holds %lld",
                            (long long)first, (long long)(first + n), s->im.dataset, (long long)s->im.test.n);
    float y[SCORER_BATCH];
    for (int64_t at = 0; at < n; at += SCORER_BATCH) {
        int rows = (int)(n - at < SCORER_BATCH ? n - at : SCORER_BATCH);
        for (int i = 0; i < SCORER_BATCH; i++)
            s->idx[i] = (uint32_t)(first + at + (i < rows ? i : 0));
        dlx_dataset_batch(&s->im.test, &s->im.tf, s->idx, SCORER_BATCH, s->x->out.data, y);
        dlx_graph_forward(s->g, &k_infer);
        take_outputs(s, at, rows, NULL, logp, features);
        if (labels)
            memcpy(labels + at, y, (size_t)rows * sizeof *labels);
    }
    return 0;
}

int dlx_clf_scorer_reference(dlx_clf_scorer *s, const dlx_moments **ref, dlx_err *err)
{
    *ref = NULL;
    if (!s->have_ref) {
        int64_t n;
        int rc = dlx_clf_scorer_test_size(s, &n, err);
        if (rc)
            return rc;
        float *f = malloc((size_t)n * (size_t)s->feat_dim * sizeof *f);
        if (!f)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %lld x %lld test features",
                                (long long)n, (long long)s->feat_dim);
        rc = dlx_clf_scorer_run_test(s, 0, n, NULL, f, NULL, err);
        if (!rc) rc = dlx_moments_compute(f, n, s->feat_dim, &s->ref, err);
        free(f);
        if (rc)
            return rc;
        s->have_ref = true;
    }
    *ref = &s->ref;
    return 0;
}

int dlx_clf_scorer_score(dlx_clf_scorer *s, const float *images, int64_t n, int c, int h, int w,
                         dlx_sample_scores *out, dlx_err *err)
{
    memset(out, 0, sizeof *out);
    if (n < 2 || n > INT64_MAX / 8 / (s->feat_dim > s->classes ? s->feat_dim : s->classes))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "sample scores need at least 2 images, got %lld", (long long)n);
    const dlx_moments *ref;
    int rc = dlx_clf_scorer_reference(s, &ref, err);
    if (rc)
        return rc;
    double *logp = malloc((size_t)n * (size_t)s->classes * sizeof *logp);
    float *f = malloc((size_t)n * (size_t)s->feat_dim * sizeof *f);
    dlx_moments mo = {0};
    if (!logp || !f)
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory scoring %lld samples", (long long)n);
    if (!rc) rc = dlx_clf_scorer_run(s, images, n, c, h, w, NULL, logp, f, err);
    if (!rc) rc = dlx_inception_scores(logp, n, s->classes, &out->inc, err);
    if (!rc) rc = dlx_moments_compute(f, n, s->feat_dim, &mo, err);
    if (!rc) rc = dlx_frechet_distance(&mo, ref, &out->fid, err);
    out->n = n;
    out->n_ref = ref->n;
    dlx_moments_free(&mo);
    free(logp);
    free(f);
    return rc;
}

void dlx_clf_scorer_close(dlx_clf_scorer *s)
{
    if (!s)
        return;
    dlx_graph_destroy(s->g);
    dlx_params_free(&s->params);
    dlx_images_free(&s->im);
    dlx_moments_free(&s->ref);
    dlx_spec_destroy(s->spec);
    free(s->row);
    free(s);
}

int dlx_score_samples(const char *classifier_path, const float *images, int64_t n, int c, int h, int w,
                      int64_t ref_limit, dlx_sample_scores *out, dlx_err *err)
{
    dlx_clf_scorer *s;
    memset(out, 0, sizeof *out);
    int rc = dlx_clf_scorer_open(classifier_path, ref_limit, &s, err);
    if (rc)
        return rc;
    rc = dlx_clf_scorer_score(s, images, n, c, h, w, out, err);
    dlx_clf_scorer_close(s);
    return rc;
}
