/* The gan family's parts (models/gan.c: spec, graphs, training; gan_ring.c:
 * the ring of Gaussians; gan_images.c: MNIST-like images, sample grids and
 * the collapse test; gan_ebgan.c: the energy-based losses; gan_sample.c:
 * the generator for `dlx sample`). */
#ifndef DLX_GAN_INTERNAL_H
#define DLX_GAN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/graph.h"
#include "../core/layers.h"
#include "../core/rng.h"
#include "classifier_score.h"
#include "../train/images.h"
#include "../train/trainer.h"

/* The family's terms, by index in the plan's loss names (pt: ebgan with a code layer). */
enum { GAN_LOSS_D, GAN_LOSS_G, GAN_LOSS_D_REAL, GAN_LOSS_D_FAKE, GAN_LOSS_PT };

/* Purposes of the family's random streams (low byte; the draw goes above). */
enum { GAN_STREAM_NOISE = DLX_STREAM_USER + 1, GAN_STREAM_REAL = DLX_STREAM_USER + 2, GAN_STREAM_TEST = DLX_STREAM_USER + 3,
       GAN_STREAM_SCORE = DLX_STREAM_USER + 4 };

typedef enum { GAN_DATA_RING, GAN_DATA_IMAGES } gan_data;
typedef enum { GAN_LOSS_BCE, GAN_LOSS_EBGAN } gan_loss_kind;

#define GAN_GRID 10 /* samples per row and column of an image grid */

typedef struct gan_replica {
    dlx_node *z, *x;
    dlx_node *fake;                 /* G(z) in the data's shape, as D sees it */
    dlx_node *loss[DLX_LOSSES_MAX]; /* the terms, then train.losses */
    uint32_t *idx;                  /* image rows of the feed */
    float *labels;
} gan_replica;

typedef struct gan {
    dlx_train_cfg tc;
    int64_t nz;
    gan_data data;
    int64_t modes, samples, test_samples; /* ring; test_samples: the evaluation's G batch */
    double radius, std;
    dlx_images im;                        /* images */
    int64_t x_dim[3];                     /* one sample: (2) or (c, h, w) */
    int x_ndim;
    int64_t x_numel;
    gan_loss_kind loss;
    double margin, pt_weight, collapse_std;
    int64_t stuck_steps, stuck_run; /* ebgan: D updates stuck at the margin that stop it; so far in a row */
    const char *code_layer; /* ebgan: the disc layer whose output is the code (NULL: no pt) */
    dlx_loc code_loc;
    int n_terms;
    int64_t shard_batch;
    bool uses_fake[DLX_LOSSES_MAX]; /* loss l depends on G(z) (the collapse test reads it) */
    dlx_replicas reps;
    gan_replica rep[DLX_REPLICAS_MAX];
    dlx_layers_out gen_info, disc_info; /* replica 0's, for the layer table */
    dlx_graph *eval_g;                  /* G alone at test_samples, inference */
    dlx_node *eval_z, *eval_out;
    /* model.score (gan_score.c): NULL path = no scores */
    const char *score_path;
    dlx_loc score_loc;
    int64_t score_samples, score_final; /* per evaluation; the last and dlx eval */
    dlx_clf_scorer *scorer;
    dlx_graph *score_g; /* G alone at GAN_SCORE_BATCH, inference */
    dlx_node *score_z, *score_out;
    float *score_x; /* score_final images in pixel scale */
} gan;

/* gan.c */
uint64_t dlx_gan_draw_stream(int purpose, int64_t step, int u, int rep, int k);
void dlx_gan_fill_normal(float *z, int64_t n, uint64_t seed, uint64_t stream);
dlx_shape dlx_gan_x_shape(const gan *c, int64_t batch);
int dlx_gan_build_sampler(dlx_model *m, int64_t n, dlx_graph **g, dlx_node **z, dlx_node **out, dlx_err *err);

/* gan_score.c: model.score, the sample-quality scores of a classifier */
int dlx_gan_score_read(dlx_spec_node *model, gan *c, dlx_err *err);
/* model.score's keys (the reference and the check, core/spec_doc.h) */
extern const dlx_key_doc dlx_gan_score_keys[];
int dlx_gan_score_open(dlx_model *m, gan *c, dlx_err *err);
int dlx_gan_score_eval(dlx_model *m, gan *c, bool final, dlx_results *res, dlx_err *err);
void dlx_gan_score_free(gan *c);

/* gan_ring.c */
int dlx_gan_ring_read(dlx_spec_node *d, gan *c, dlx_err *err);
/* data:'s keys for the ring (the reference and the check) */
extern const dlx_key_doc dlx_gan_ring_keys[];
void dlx_gan_ring_fill(const gan *c, float *x, int64_t n, uint64_t seed, uint64_t stream);
void dlx_gan_ring_score(const gan *c, const float *pts, int64_t n, dlx_results *res);
int dlx_gan_ring_finish(dlx_model *m, gan *c, dlx_err *err);

/* gan_images.c */
int dlx_gan_images_feed_alloc(gan *c, dlx_err *err);
void dlx_gan_images_score(const gan *c, const float *x, int64_t n, dlx_results *res);
int dlx_gan_images_grid(dlx_model *m, gan *c, dlx_err *err);
bool dlx_gan_diverged(void *user, int u, char *why, size_t why_size);
bool dlx_gan_depends(const dlx_graph *g, const dlx_node *top, const dlx_node *on);

/* gan_sample.c: dlx_family.sample (images only) */
struct dlx_sample_shape;
int dlx_gan_sample(dlx_model *m, const float *z, int64_t n, float *x, struct dlx_sample_shape *shape, dlx_err *err);

/* gan_ebgan.c: the terms into loss[] from D's reconstructions of x and G(z)
 * and (NULL without a code layer) the codes of G(z). */
int dlx_gan_ebgan_losses(dlx_graph *g, const gan *c, dlx_node *x, dlx_node *rec_real, dlx_node *fake,
                         dlx_node *rec_fake, dlx_node *code, dlx_node **loss, dlx_err *err);

#endif
