/* The gan family's sample-quality scores (model.score, images only):
 *
 *   model:
 *     score:
 *       classifier: runs/lenet5/checkpoint.h5  # a classifier dlx trained (relative to the working directory)
 *       samples: 1000                          # scored at every evaluation
 *       final_samples: 10000                   # at the last evaluation of training, and by dlx eval
 *
 * Every evaluation generates `samples` images from a fixed noise stream and
 * logs the classifier's inception_score, iprime (I'), iprime_sq and frechet
 * (the Fréchet distance of its penultimate features to its test split's;
 * models/classifier_score.h); the last one of training and `dlx eval` also
 * score final_samples images as final_inception_score, final_iprime,
 * final_iprime_sq and final_frechet (and final_score_samples).
 *
 * The noise: sample i's z is drawn from stream (GAN_STREAM_SCORE, block
 * i / GAN_SCORE_BLOCK), so the first `samples` images of the final set are
 * the per-evaluation ones, and neither the generation batch nor the thread
 * count changes a sample; the scores are functions of the parameters alone,
 * so a resumed run logs those of an uninterrupted one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gan_internal.h"

#define GAN_SCORE_BLOCK 100 /* samples per noise stream */
#define GAN_SCORE_BATCH 200 /* G's batch when generating (a multiple of the block) */

const dlx_key_doc dlx_gan_score_keys[] = {
    {"classifier", "string", "required", "a classifier's checkpoint.h5 (same image size)", "the scoring classifier"},
    {"samples", "integer", "1000", "2 to 1000000", "samples scored at each evaluation"},
    {"final_samples", "integer", "10000", "2 to 1000000", "samples scored after the last epoch"},
    {NULL},
};

int dlx_gan_score_read(dlx_spec_node *model, gan *c, dlx_err *err)
{
    dlx_spec_node *s = dlx_spec_get(model, "score");
    if (!s)
        return 0;
    if (c->data != GAN_DATA_IMAGES)
        return dlx_err_setf(err, DLX_EINVAL, s->loc,
                            "model.score: scores images with a classifier; this gan's data is the ring");
    int rc = dlx_spec_expect_map(s, "model.score", err);
    if (!rc) rc = dlx_spec_check_doc(s, "model.score", dlx_gan_score_keys, err);
    if (!rc) rc = dlx_spec_str(s, "classifier", true, NULL, &c->score_path, err);
    if (!rc) rc = dlx_spec_int(s, "samples", false, 1000, 2, 1000000, &c->score_samples, err);
    if (!rc) rc = dlx_spec_int(s, "final_samples", false, 10000, 2, 1000000, &c->score_final, err);
    if (rc)
        return rc;
    c->score_loc = dlx_spec_get(s, "classifier")->loc;
    if (!c->score_path[0])
        return dlx_err_setf(err, DLX_EINVAL, c->score_loc,
                            "model.score.classifier: give the path of a classifier's checkpoint.h5");
    return 0;
}

/* The classifier (its image size must be the data's) and G at the generation batch. */
int dlx_gan_score_open(dlx_model *m, gan *c, dlx_err *err)
{
    int rc = dlx_clf_scorer_open(c->score_path, 0, &c->scorer, err);
    if (rc) {
        dlx_err_prefix(err, "model.score.classifier");
        return rc;
    }
    dlx_clf_scorer_info in;
    dlx_clf_scorer_get_info(c->scorer, &in);
    const int64_t xc = c->x_dim[0], xh = c->x_dim[1], xw = c->x_dim[2];
    if (!(xc == in.c && xh == in.h && xw == in.w) && !(xc == in.in_c && xh == in.in_h && xw == in.in_w))
        return dlx_err_setf(err, DLX_EINVAL, c->score_loc,
                            "model.score.classifier: %s takes %dx%dx%d images (or %dx%dx%d padded); this gan's "
                            "are %lldx%lldx%lld (give the gan's data the classifier's pad and resize)",
                            c->score_path, in.c, in.h, in.w, in.in_c, in.in_h, in.in_w, (long long)xc,
                            (long long)xh, (long long)xw);
    int64_t most = c->score_final > c->score_samples ? c->score_final : c->score_samples;
    c->score_x = malloc((size_t)(most * c->x_numel) * sizeof *c->score_x);
    if (!c->score_x)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    return dlx_gan_build_sampler(m, GAN_SCORE_BATCH, &c->score_g, &c->score_z, &c->score_out, err);
}

/* n images of G into c->score_x in pixel scale [0, 1] (the data's transform
 * undone, clamped, as the sample grid shows them). */
static void generate(const dlx_model *m, gan *c, int64_t n)
{
    const dlx_ctx ctx = {.training = false, .seed = m->seed, .threads = dlx_replicas_threads(m->threads)};
    const float mean = c->im.tf.mean, std = c->im.tf.std;
    float *z = c->score_z->out.data;
    for (int64_t first = 0; first < n; first += GAN_SCORE_BATCH) {
        for (int b = 0; b < GAN_SCORE_BATCH / GAN_SCORE_BLOCK; b++) {
            uint64_t block = (uint64_t)(first / GAN_SCORE_BLOCK + b);
            dlx_gan_fill_normal(z + (int64_t)b * GAN_SCORE_BLOCK * c->nz, GAN_SCORE_BLOCK * c->nz, m->seed,
                                (uint64_t)GAN_STREAM_SCORE + (block << 8));
        }
        dlx_graph_forward(c->score_g, &ctx);
        int64_t k = n - first < GAN_SCORE_BATCH ? n - first : GAN_SCORE_BATCH;
        const float *g = c->score_out->out.data;
        float *x = c->score_x + first * c->x_numel;
        for (int64_t i = 0; i < k * c->x_numel; i++) {
            float p = g[i] * std + mean;
            x[i] = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p;
        }
    }
}

static int score_n(dlx_model *m, gan *c, int64_t n, const char *prefix, dlx_results *res, dlx_err *err)
{
    generate(m, c, n);
    dlx_sample_scores sc;
    int rc = dlx_clf_scorer_score(c->scorer, c->score_x, n, (int)c->x_dim[0], (int)c->x_dim[1], (int)c->x_dim[2],
                                  &sc, err);
    if (rc) {
        dlx_err_prefix(err, "model.score");
        return rc;
    }
    const char *names[4] = {"inception_score", "iprime", "iprime_sq", "frechet"};
    const double values[4] = {sc.inc.is, sc.inc.iprime, sc.inc.iprime_sq, sc.fid};
    char name[48];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, names[i]);
        dlx_results_set(res, name, values[i]);
    }
    return 0;
}

int dlx_gan_score_eval(dlx_model *m, gan *c, bool final, dlx_results *res, dlx_err *err)
{
    int rc = score_n(m, c, c->score_samples, "", res, err);
    if (!rc && final) {
        rc = score_n(m, c, c->score_final, "final_", res, err);
        dlx_results_set(res, "final_score_samples", (double)c->score_final);
    }
    return rc;
}

void dlx_gan_score_free(gan *c)
{
    dlx_clf_scorer_close(c->scorer);
    dlx_graph_destroy(c->score_g);
    free(c->score_x);
    c->scorer = NULL, c->score_g = NULL, c->score_x = NULL;
}
