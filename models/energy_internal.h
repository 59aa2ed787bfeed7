/* The energy family's state, shared by its files: models/energy.c (spec,
 * data, closed-form fits, evaluation, checkpoint), models/energy_net.c (the
 * trained strategies' graphs and the trainer's callbacks) and
 * models/energy_figure.c (the energy surfaces as pictures). */
#ifndef DLX_ENERGY_INTERNAL_H
#define DLX_ENERGY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/graph.h"
#include "../core/rng.h"
#include "../train/trainer.h"
#include "family.h"

typedef enum en_strategy { S_PCA, S_KMEANS, S_GMM, S_AE, S_DAE, S_SAE, S_CAE, S_NCE, S_CD, S_PSD, S_COUNT } en_strategy;
extern const char *const dlx_energy_strategies[]; /* spec names, in en_strategy order */

/* Streams of the counter-based generator (core/rng.h) */
enum {
    EN_STREAM_TRAIN = DLX_STREAM_USER + 41, /* training points */
    EN_STREAM_TEST = DLX_STREAM_USER + 42,  /* held-out points */
    EN_STREAM_BOX = DLX_STREAM_USER + 43,   /* uniform points of the AUC */
    EN_STREAM_CORRUPT = DLX_STREAM_USER + 44, /* the denoising auto-encoder's noise */
    EN_STREAM_NCE = DLX_STREAM_USER + 45,   /* noise-contrastive estimation's noise points */
    EN_STREAM_CD = DLX_STREAM_USER + 46,    /* contrastive divergence's Langevin noise */
    EN_STREAM_SHUFFLE = DLX_STREAM_USER + 47, /* images: the pixel permutation of test digit i (+ i << 8) */
};

typedef struct en_replica {
    dlx_node *x;     /* (n, d) the points */
    dlx_node *in;    /* (n, d) the encoder's input: corrupted points (dae), uniform noise points (nce),
                      * negative samples (cd) */
    dlx_node *zero;  /* (n, hidden) zeros: the sparse penalty's target */
    dlx_node *out;   /* auto-encoders: the reconstruction of x; nce: the score of x (minus its energy) */
    dlx_node *zs;    /* psd: (n, atoms) the optimal codes the encoder learns to predict */
    dlx_node *loss;
    float *scratch;  /* cd: the Langevin sampler's (2 hidden floats), so a step allocates nothing */
} en_replica;

typedef struct en {
    en_strategy strategy;
    int toy;                       /* dlx_toy_kind; -1 for images */
    bool images;                   /* data.dataset is mnist or fashion-mnist: d = 784 */
    const char *image_set, *dir;   /* images: the dataset and data.dir (NULL: the default place) */
    float *shuffled;               /* images: the test digits, pixels shuffled (test_samples) */
    const char *versus_set, *versus_dir; /* images: data.versus, data.versus_dir (NULL: none) */
    float *versus;                 /* its first test_samples test images */
    int64_t d;                     /* 2 */
    int64_t samples, test_samples, components, iters, hidden, grid;
    double noise, reg, corrupt, weight;
    int64_t cd_steps;              /* cd: Langevin steps from the data to the negative samples */
    double cd_step, cd_noise;      /* cd: y += cd_step * ds/dy + cd_noise * N(0, 1) per step */
    int64_t depth;                 /* psd: the LISTA encoder's steps */
    struct sc *psd;                /* psd: the sparse-coding family's settings and encoder (lista_internal.h) */
    float *lifted, *zstar;         /* psd: the training points as (y1, y2, 1) and their optimal codes */
    int net_p[6];                  /* cd: net.{1,2,3}.{W,b} in the store, read by the Langevin sampler */
    double box[4];
    float *train, *test, *uniform; /* samples, test_samples, test_samples points */
    int p[6];                      /* closed-form parameters' indices in the store */
    /* trained strategies */
    dlx_train_cfg tc;
    dlx_replicas reps;
    en_replica rep[DLX_REPLICAS_MAX];
    int64_t shard_batch;
    uint32_t *order;
} en;

static inline bool en_is_trained(const en *c) { return c->strategy >= S_AE; }

/* models/energy_net.c */
int dlx_en_build_replicas(dlx_model *m, en *c, dlx_err *err);
int dlx_en_train_net(dlx_model *m, en *c, dlx_err *err);
/* E(y) of n points through replica 0's graph. */
int dlx_en_net_energy(const dlx_model *m, const en *c, const float *Y, int64_t n, float *E, dlx_err *err);
/* The auto-encoders' output for n points, through replica 0's graph. */
void dlx_en_net_reconstruct(const dlx_model *m, const en *c, const float *Y, int64_t n, float *out);

/* models/energy_psd.c: predictive sparse decomposition on points lifted to (y1, y2, 1) */
#define PSD_DIM 3
void dlx_en_lift(const float *y, int64_t n, float *u);
/* Before the replicas: its settings, the lifted points, Wd declared. */
int dlx_en_psd_setup(dlx_model *m, en *c, dlx_err *err);
void dlx_en_psd_free(en *c);
/* Replica r's encoder over r->in (lifted points) and its loss against r->zs. */
int dlx_en_psd_graph(dlx_model *m, en *c, dlx_graph *g, en_replica *r, int64_t n, dlx_err *err);
/* Before the loop: the dictionary and the encoder's start (a fresh run), the optimal codes. */
int dlx_en_psd_prepare(dlx_model *m, en *c, dlx_err *err);
void dlx_en_psd_feed(const en *c, const en_replica *r, const uint32_t *rows, int64_t n);
/* E of n lifted points U with codes Z. */
int dlx_en_psd_energy(const dlx_model *m, const en *c, const float *U, const float *Z, int64_t n, float *E,
                      dlx_err *err);

/* models/energy_images.c: the image data, and filters.png / recon.png */
int dlx_en_images_load(const dlx_model *m, en *c, dlx_err *err);
int dlx_en_write_images(const dlx_model *m, const en *c, dlx_err *err);

/* models/energy.c: n points uniform over the box (toy) or [0, 1]^d (images),
 * point i from (seed, stream, first + i). */
void dlx_en_fill_uniform(const dlx_model *m, const en *c, uint64_t stream, int64_t first, int64_t n, float *out);
/* The reconstruction of n points (pca: the projection, kmeans: the nearest
 * centre, the auto-encoders: their output). */
int dlx_en_reconstruct(const dlx_model *m, const en *c, const float *Y, int64_t n, float *out, dlx_err *err);
/* After training: the surface (toy) or the filters and reconstructions (images). */
int dlx_en_write_pictures(const dlx_model *m, const en *c, dlx_err *err);
/* models/energy.c: E(y) of n points, whatever the strategy. */
int dlx_en_energy(const dlx_model *m, const en *c, const float *Y, int64_t n, float *E, dlx_err *err);
/* The evaluation: auc, energy_data, energy_uniform into res. */
int dlx_en_evaluate(const dlx_model *m, const en *c, dlx_results *res, dlx_err *err);
/* <run>/energy.h5 (the energy on a grid x grid lattice over the box, the box,
 * the held-out points) and <run>/energy.png. */
int dlx_en_write_surface(const dlx_model *m, const en *c, dlx_err *err);

/* models/energy_figure.c: the figure of a `dlx reproduce` table (dlx_family.figure). */
int dlx_energy_figure(const char *results_h5, const char *png, const char *script_path, dlx_err *err);

#endif
