/* The disentangle family's measures of model.eval (dlx train's evaluations
 * and dlx eval):
 *
 *   model.eval: {classifier: PATH, probe_train: 10000, probe_hidden: 256}
 *
 * With a classifier (a checkpoint of the classifier family, e.g.
 * configs/lenet5.yaml trained; its path relative to the working directory)
 * the first model.eval_samples test images are each transferred: x_i's s with
 * the z of another test image x_j of another class (j drawn from the
 * stream DIS_STREAM_PROBE), and the classifier reads the decoded image
 * (pixels in [0, 1], the data's padding cropped when the classifier takes
 * the unpadded size):
 *   transfer_accuracy        its class is x_i's: the identity followed s
 *   transfer_style_accuracy  its class is x_j's: class leaked through z
 *   recon_accuracy           the classifier on the plain reconstructions
 * Probes (core/probe.h: random ReLU features and ridge regression, in
 * closed form) fit on the codes of the first probe_train training images
 * and scored on those of the test images: s_probe_accuracy, z_probe_accuracy
 * (z: its mean) and z_sample_probe_accuracy (z drawn as training draws it,
 * mean + exp(log-variance / 2) eps, eps from the stream DIS_STREAM_ZSAMPLE:
 * what the decoder is given). Chance is 1 / K; z near chance means the
 * class is out of z.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/probe.h"
#include "classifier_score.h"
#include "disentangle_internal.h"

const dlx_key_doc dlx_dis_eval_keys[] = {
    {"classifier", "string", "- (no transfer accuracy)", "a classifier checkpoint of the data's image size",
     "the judge of transferred images"},
    {"probe_train", "integer", "10000", "0 to 1e6 (0: no probes)", "training images whose codes fit the s and z probes"},
    {"probe_hidden", "integer", "256", "0 to 4096", "random ReLU units of the probes (0: a linear probe)"},
    {NULL},
};

int dlx_dis_eval_read(dlx_spec_node *model, dis *c, dlx_err *err)
{
    dlx_spec_node *e = dlx_spec_get(model, "eval");
    c->probe_train = 10000, c->probe_hidden = 256;
    if (!e)
        return 0; /* read only when given: older checkpoints' specs stay as they are */
    int rc = dlx_spec_expect_map(e, "model.eval", err);
    if (!rc) rc = dlx_spec_check_doc(e, "model.eval", dlx_dis_eval_keys, err);
    if (!rc) rc = dlx_spec_str(e, "classifier", false, NULL, &c->judge_path, err);
    if (!rc) rc = dlx_spec_int(e, "probe_train", false, 10000, 0, 1000000, &c->probe_train, err);
    if (!rc) rc = dlx_spec_int(e, "probe_hidden", false, 256, 0, 4096, &c->probe_hidden, err);
    return rc;
}

/* The classifier's image: ours as it is, or with the data's padding cropped. */
static int judge_size(const dis *c, const dlx_clf_scorer_info *in, int *crop, dlx_err *err)
{
    *crop = 0;
    if ((in->c == c->c && in->h == c->h && in->w == c->w) || (in->in_c == c->c && in->in_h == c->h && in->in_w == c->w))
        return 0;
    const int p = c->im.tf.pad;
    if (in->c == c->c && in->h == c->h - 2 * p && in->w == c->w - 2 * p) {
        *crop = p;
        return 0;
    }
    return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                        "model.eval.classifier %s takes %dx%dx%d images; this model decodes %dx%dx%d (%dx%dx%d "
                        "without the data's padding)", c->judge_path, in->c, in->h, in->w, c->c, c->h, c->w, c->c,
                        c->h - 2 * p, c->w - 2 * p);
}

/* The accuracies of the classifier on n decoded images (data scale) against the labels a and b (b may be NULL). */
static int judge(dis *c, dlx_clf_scorer *s, const float *y, int64_t n, const float *a, const float *b, double *acc_a,
                 double *acc_b, dlx_err *err)
{
    dlx_clf_scorer_info in;
    dlx_clf_scorer_get_info(s, &in);
    int crop;
    int rc = judge_size(c, &in, &crop, err);
    if (rc)
        return rc;
    const int h = c->h - 2 * crop, w = c->w - 2 * crop;
    const int64_t per = (int64_t)c->c * h * w;
    float *px = malloc((size_t)(n * per) * sizeof *px);
    double *probs = malloc((size_t)n * in.classes * sizeof *probs);
    if (!px || !probs) {
        free(px), free(probs);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    for (int64_t i = 0; i < n; i++)
        for (int ch = 0; ch < c->c; ch++)
            for (int r = 0; r < h; r++)
                for (int q = 0; q < w; q++) {
                    float v = y[((i * c->c + ch) * c->h + r + crop) * c->w + q + crop] * c->im.tf.std + c->im.tf.mean;
                    px[((i * c->c + ch) * h + r) * w + q] = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
                }
    rc = dlx_clf_scorer_run(s, px, n, c->c, h, w, probs, NULL, NULL, err);
    int64_t ra = 0, rb = 0;
    for (int64_t i = 0; i < n && !rc; i++) {
        int best = 0;
        for (int k = 1; k < in.classes; k++)
            if (probs[i * in.classes + k] > probs[i * in.classes + best])
                best = k;
        ra += best == (int)a[i];
        rb += b && best == (int)b[i];
    }
    *acc_a = (double)ra / (double)n;
    if (b)
        *acc_b = (double)rb / (double)n;
    free(px), free(probs);
    return rc;
}

/* Another image of the n with another class than i's (i itself when there is none). */
static int64_t other_class(const float *lab, int64_t n, int64_t i, dlx_rng *r)
{
    for (int tries = 0; tries < 1000; tries++) {
        int64_t j = (int64_t)(dlx_rng_u64(r) % (uint64_t)n);
        if (lab[j] != lab[i])
            return j;
    }
    return i;
}

int dlx_dis_measure_transfer(dlx_model *m, dis *c, const float *lab, const float *s, const float *z, int64_t n,
                             dlx_results *res, dlx_err *err)
{
    dlx_clf_scorer *sc = NULL;
    int rc = dlx_clf_scorer_open(c->judge_path, 0, &sc, err);
    if (rc)
        return rc;
    float *zj = malloc((size_t)n * c->nz * sizeof *zj), *labj = malloc((size_t)n * sizeof *labj),
          *y = malloc((size_t)(n * c->x_numel) * sizeof *y);
    if (!zj || !labj || !y) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out;
    }
    dlx_rng r;
    dlx_rng_init(&r, m->seed, DIS_STREAM_PROBE);
    for (int64_t i = 0; i < n; i++) {
        const int64_t j = other_class(lab, n, i, &r);
        memcpy(zj + i * c->nz, z + j * c->nz, (size_t)c->nz * sizeof *zj);
        labj[i] = lab[j];
    }
    double a = 0.0, b = 0.0;
    dlx_dis_decode(m, c, s, zj, n, y);
    rc = judge(c, sc, y, n, lab, labj, &a, &b, err);
    if (!rc) {
        dlx_results_set(res, "transfer_accuracy", a);
        dlx_results_set(res, "transfer_style_accuracy", b);
        dlx_dis_decode(m, c, s, z, n, y);
        rc = judge(c, sc, y, n, lab, NULL, &a, NULL, err);
    }
    if (!rc)
        dlx_results_set(res, "recon_accuracy", a);
out:
    free(zj), free(labj), free(y);
    dlx_clf_scorer_close(sc);
    return rc;
}

/* zs = z + exp(zlv / 2) eps for n codes of nz, eps ~ N(0, 1) from r */
static void sample_z(const float *z, const float *zlv, int64_t n, int64_t nz, dlx_rng *r, float *zs)
{
    for (int64_t i = 0; i < n * nz; i++)
        zs[i] = z[i] + expf(0.5f * zlv[i]) * dlx_rng_normal(r);
}

int dlx_dis_measure_probes(dlx_model *m, dis *c, const float *lab, const float *s, const float *z, const float *zlv,
                           int64_t n, dlx_results *res, dlx_err *err)
{
    int rc = dlx_images_load_train(&c->im, err);
    if (rc)
        return rc;
    const int64_t nt = c->probe_train < c->im.train.n ? c->probe_train : c->im.train.n, per = c->x_numel;
    float *x = malloc((size_t)(DIS_INFER_N * per) * sizeof *x), *lt = malloc((size_t)nt * sizeof *lt),
          *st = malloc((size_t)nt * c->ns * sizeof *st), *zt = malloc((size_t)nt * c->nz * sizeof *zt),
          *lvt = malloc((size_t)nt * c->nz * sizeof *lvt), *zst = malloc((size_t)nt * c->nz * sizeof *zst),
          *zs = malloc((size_t)n * c->nz * sizeof *zs);
    uint32_t idx[DIS_INFER_N];
    if (!x || !lt || !st || !zt || !lvt || !zst || !zs) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out;
    }
    for (int64_t at = 0; at < nt; at += DIS_INFER_N) {
        const int k = (int)(nt - at < DIS_INFER_N ? nt - at : DIS_INFER_N);
        for (int i = 0; i < k; i++)
            idx[i] = (uint32_t)(at + i);
        dlx_dataset_batch(&c->im.train, &c->im.tf, idx, k, x, lt + at);
        dlx_dis_encode(m, c, x, k, st + at * c->ns, zt + at * c->nz, lvt + at * c->nz);
    }
    double a;
    const dlx_probe_data s_tr = {st, lt, nt}, s_te = {s, lab, n}, z_tr = {zt, lt, nt}, z_te = {z, lab, n};
    rc = dlx_probe_accuracy(&s_tr, &s_te, (int)c->ns, c->classes, (int)c->probe_hidden, m->seed, &a, err);
    if (!rc) {
        dlx_results_set(res, "s_probe_accuracy", a);
        rc = dlx_probe_accuracy(&z_tr, &z_te, (int)c->nz, c->classes, (int)c->probe_hidden, m->seed, &a, err);
    }
    if (!rc) {
        dlx_results_set(res, "z_probe_accuracy", a);
        dlx_rng r;
        dlx_rng_init(&r, m->seed, DIS_STREAM_ZSAMPLE);
        sample_z(zt, lvt, nt, c->nz, &r, zst);
        sample_z(z, zlv, n, c->nz, &r, zs);
        const dlx_probe_data zs_tr = {zst, lt, nt}, zs_te = {zs, lab, n};
        rc = dlx_probe_accuracy(&zs_tr, &zs_te, (int)c->nz, c->classes, (int)c->probe_hidden, m->seed, &a, err);
    }
    if (!rc)
        dlx_results_set(res, "z_sample_probe_accuracy", a);
out:
    free(x), free(lt), free(st), free(zt), free(lvt), free(zst), free(zs);
    return rc;
}
