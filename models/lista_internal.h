/* Shared by the sparse_coding family's files (models/lista.c, lista_data.c,
 * lista_train.c): the run's state, the data/codes functions and the trained
 * encoders. Private to models/. */
#ifndef DLX_LISTA_INTERNAL_H
#define DLX_LISTA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/graph.h"
#include "../core/rng.h"
#include "../train/trainer.h"
#include "family.h"

#define MAX_T 12
#define STREAM_DICT (DLX_STREAM_USER + 0)
#define STREAM_PATCH_TRAIN (DLX_STREAM_USER + 1)
#define STREAM_PATCH_TEST (DLX_STREAM_USER + 2)
#define STREAM_DICT_BATCH (DLX_STREAM_USER + 3)

enum { ALG_ISTA, ALG_FISTA, ALG_COD, ALG_LISTA, ALG_LCOD };
#define LEARNED(c) ((c)->algo == ALG_LISTA || (c)->algo == ALG_LCOD)
enum { DS_PATCHES, DS_MNIST }; /* data.dataset, in the order of k_datasets */

/* One trained encoder, at depth T: its parameters, and its code output in
 * replica 0's graph (what evaluation reads). */
typedef struct encoder {
    int T;
    int we, s, th; /* param indices */
    dlx_node *z;
} encoder;

typedef struct sc {
    int algo, n, m;
    double alpha;
    int64_t Ts[MAX_T];
    int nT;
    const char *from;
    int64_t dict_steps, dict_batch, dict_iters;
    int dict_init; /* 0: Gaussian atoms; 1: random training samples */
    double dict_lr;
    int64_t opt_iters, conv_iters;
    double opt_tol;
    int dataset;
    const char *dir;
    int64_t patch, n_train, n_test;
    dlx_train_cfg tc; /* train: of lista / lcod */
    int64_t shard_batch;
    int wd; /* param index of Wd */
    encoder enc[MAX_T];
    /* lista / lcod: one graph per replica holding every encoder over one X and Z* */
    dlx_replicas reps;
    dlx_node *x[DLX_REPLICAS_MAX], *zs[DLX_REPLICAS_MAX], *loss[DLX_REPLICAS_MAX];
    float *Xtr, *Ztr, *Xte, *Zte;
    int64_t ntr, nte;
    bool codes_ready;
    uint32_t *order;
} sc;

/* The samples of data.dataset into c->Xtr / c->Xte (c->ntr, c->nte rows of c->n). */
int dlx_sc_load_data(dlx_model *m, sc *c, dlx_err *err);
/* <run>/codes.h5: Wd, the samples and their optimal codes. */
int dlx_sc_write_codes(const dlx_model *m, const sc *c, dlx_err *err);
/* Wd (and, with want_train, the training samples and codes; always the test
 * ones) from DIR/codes.h5 of another run or this one. */
int dlx_sc_read_codes(dlx_model *m, sc *c, const char *dir, bool want_train, dlx_err *err);

/* The solvers the energy family's predictive sparse decomposition reuses
 * (models/energy_psd.c) on an sc of its own (algo, n, m, alpha, wd, the
 * dict_* settings, Xtr/ntr, opt_*, enc/nT): the dictionary Wd learned by
 * FISTA inference alternating with a step on Wd and unit columns; FISTA's
 * optimal codes of N rows of X into Z; the encoders set to ISTA's values
 * (LCoD: CoD's) for Wd. */
int dlx_sc_learn_dictionary(dlx_model *m, sc *c, dlx_err *err);
int dlx_sc_optimal_codes(const dlx_model *m, const sc *c, const float *X, int64_t N, float *Z, int *iters, dlx_err *err);
int dlx_sc_init_encoders(dlx_model *m, sc *c, dlx_err *err);

/* Add encoder e (depth e->T) to g over inputs x (rows of n) and zs (rows of
 * m), declaring its We, S and theta on first use: *z its code, *loss
 * HALF_SUM mse(Z, Z*). */
int dlx_sc_add_encoder(dlx_model *m, const sc *c, dlx_graph *g, encoder *e, dlx_node *x, dlx_node *zs, dlx_node **z,
                       dlx_node **loss, dlx_err *err);
/* Build the replicas of every encoder (c->tc read, Wd declared), counting
 * the run's memory first; finalizes the parameter store. */
int dlx_sc_build_replicas(dlx_model *m, sc *c, dlx_err *err);
/* Mean over N rows of ||a - b||^2 (rows of m), summed in double. */
double dlx_sc_sq_err(const float *a, const float *b, int64_t N, int m);
/* energy_star, err_T<k> and gap_T<k> of every encoder on the test samples
 * (their Z* ready) into res. */
int dlx_sc_eval_encoders(const dlx_model *m, sc *c, dlx_results *res, dlx_err *err);
/* Train the encoders from m->step through train/trainer.h (codes ready,
 * encoders started or resumed, optimizer made). */
int dlx_sc_train_encoders(dlx_model *m, sc *c, dlx_err *err);
/* <run>/atoms.png: the dictionary's columns as tiles. */
int dlx_sc_write_atoms(const dlx_model *m, const sc *c, dlx_err *err);

#endif
