/* Scoring generated images with a classifier that dlx trained: the
 * inception score, the modified score I' and I'^2, and the Fréchet distance
 * between the classifier's penultimate features of the samples and of the
 * classifier's test split (the pure scores are core/scores.h).
 *
 * Why here in models/: the GAN family (models/) calls it, and a family may
 * include only models/ and the layers below, never experiments/, and may
 * not create a model. So the scorer does not go through experiments/model.h:
 * it reads the checkpoint's stored spec (core/h5io.h), checks its family
 * attribute is "classifier", reads its data: map with the classifier's own
 * reader (train/images.h: dataset, dir, mean, std, pad, resize) and builds
 * the graph of model.layers with the same builder the classifier family
 * uses (core/layers.h), over a parameter store of its own that it fills
 * from /params and /buffers. It runs that graph in inference mode (dropout
 * off, batch norm on its running statistics), a fixed batch at a time.
 *
 * What the caller passes: n images as floats, (n, c, h, w) row-major, in
 * pixel scale [0, 1] (0 = the black background of MNIST, 1 = white), i.e.
 * the stored byte / 255 before any normalisation; a generator trained on
 * data normalised to [-1, 1] (tanh) passes (g + 1) / 2. The scorer applies
 * the classifier spec's normalisation (x - data.mean) / data.std and, for
 * images of the unpadded size, its data.pad (with the background value, as
 * training did). Sizes accepted: the classifier's input size (after
 * data.resize and data.pad), or that size less the padding (for MNIST
 * without data.resize: 1 x 28 x 28). Anything else is DLX_EINVAL naming the
 * checkpoint and both sizes. (Resizing a generated image is not done here:
 * a classifier trained with data.resize scores images of the resized size.)
 *
 * The features are the input of the last linear layer on the path that
 * produces the logits (walking back from the logits through each op's first
 * input): LeNet-5's 84 F6 units, an MLP's last hidden layer; a classifier
 * whose logits come from no linear layer is refused (DLX_EINVAL).
 *
 * The reference statistics (mean and covariance of the test split's
 * features, the first ref_limit samples; 0 = all) are computed on the first
 * dlx_clf_scorer_score or dlx_clf_scorer_reference call and kept: the
 * test split is read as the classifier's evaluation reads it (data.resize
 * once at load, normalisation and padding per batch), from data.dir, else
 * $DLX_DATA_DIR/<dataset>, else datasets/data/<dataset>. Opening reads only
 * the test split's header (the image size); a missing data file is DLX_EIO
 * naming it.
 *
 * A GAN evaluating its samples (e.g. with a `score: {classifier: PATH}` of
 * its spec; the caller owns the option):
 *
 *   dlx_clf_scorer *s;                      // once, at create or first eval
 *   int rc = dlx_clf_scorer_open(path, 0, &s, err);
 *   dlx_clf_scorer_info in;  dlx_clf_scorer_get_info(s, &in);
 *   // generate n (e.g. 10000) images of in.c x in.h x in.w (or the padded
 *   // in.in_h x in.in_w), pixels in [0, 1], into float imgs[n * c * h * w]
 *   dlx_sample_scores sc;
 *   rc = dlx_clf_scorer_score(s, imgs, n, in.c, in.h, in.w, &sc, err);
 *   // sc.inc.is, sc.inc.iprime, sc.inc.iprime_sq, sc.fid
 *   dlx_clf_scorer_close(s);                // at destroy
 *
 * or, once only, dlx_score_samples(path, imgs, n, c, h, w, 0, &sc, err).
 * A flat (n, 784) generator output is the same memory as (n, 1, 28, 28).
 * What to expect (tests/test_sample_score.c, configs/lenet5.yaml trained
 * one epoch, 97.7 % test accuracy, against the 10,000 test digits): 1,000
 * real test digits IS 9.04, I' 8.72, FD 2.39 (all 10,000: IS 9.20, FD 0);
 * 1,000 images of uniform noise IS 1.07, I' 0.07, FD 213; the even and the
 * odd test digits FD 0.70 from each other. Scores from another classifier
 * are not comparable: name the classifier with the numbers.
 * The scorer is not thread-safe (one graph); nothing here prints or exits.
 */
#ifndef DLX_CLASSIFIER_SCORE_H
#define DLX_CLASSIFIER_SCORE_H

#include <stdint.h>

#include "../core/err.h"
#include "../core/scores.h"

typedef struct dlx_clf_scorer dlx_clf_scorer;

typedef struct dlx_clf_scorer_info {
    const char *dataset;     /* the classifier's data.dataset ("mnist"), owned by the scorer */
    int c, h, w;             /* unpadded image size accepted (the dataset's, or data.resize) */
    int in_c, in_h, in_w;    /* the classifier's input (with data.pad), also accepted */
    int classes;             /* K: columns of the probabilities */
    int64_t features;        /* D: columns of the features */
    float mean, std;         /* data.mean, data.std the scorer applies */
} dlx_clf_scorer_info;

typedef struct dlx_sample_scores {
    dlx_inception inc; /* is, kl, iprime, iprime_sq over the n samples */
    double fid;        /* Fréchet distance, samples' features vs the test split's */
    int64_t n, n_ref;  /* samples scored; test samples behind the reference */
} dlx_sample_scores;

/* Open the classifier checkpoint at path. DLX_EIO naming the file when it is
 * missing; DLX_EFORMAT when it is no dlx checkpoint, of another family, or
 * its arrays do not fit the stored spec's layers; ref_limit (>= 0) caps the
 * test samples of the reference statistics (0: all). */
int dlx_clf_scorer_open(const char *path, int64_t ref_limit, dlx_clf_scorer **out, dlx_err *err);
void dlx_clf_scorer_get_info(const dlx_clf_scorer *s, dlx_clf_scorer_info *info);

/* Classify n >= 1 images (layout above): into probs (n x K, may be NULL)
 * p(y|x), softmax of the logits in double; into logp (n x K, may be NULL)
 * log p(y|x); into features (n x D floats, may be NULL) the penultimate
 * features. */
int dlx_clf_scorer_run(dlx_clf_scorer *s, const float *images, int64_t n, int c, int h, int w, double *probs,
                       double *logp, float *features, dlx_err *err);

/* The same over samples [first, first + n) of the classifier's test split,
 * read as the classifier's evaluation reads it (labels into labels, n
 * floats, may be NULL); first + n must not pass the split's end (with
 * ref_limit). */
int dlx_clf_scorer_run_test(dlx_clf_scorer *s, int64_t first, int64_t n, double *logp, float *features,
                            float *labels, dlx_err *err);
/* Samples the test split holds (after ref_limit); loads it on first use. */
int dlx_clf_scorer_test_size(dlx_clf_scorer *s, int64_t *n, dlx_err *err);

/* The reference statistics (computed once); borrowed, valid until close. */
int dlx_clf_scorer_reference(dlx_clf_scorer *s, const dlx_moments **ref, dlx_err *err);

/* Every score of n >= 2 generated images against the reference. */
int dlx_clf_scorer_score(dlx_clf_scorer *s, const float *images, int64_t n, int c, int h, int w,
                         dlx_sample_scores *out, dlx_err *err);
void dlx_clf_scorer_close(dlx_clf_scorer *s);

/* open + score + close, for a single evaluation. */
int dlx_score_samples(const char *classifier_path, const float *images, int64_t n, int c, int h, int w,
                      int64_t ref_limit, dlx_sample_scores *out, dlx_err *err);

#endif
