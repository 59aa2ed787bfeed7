/* Shared by the sparse_coding family's files (models/lista.c, lista_data.c):
 * the run's state and the data/codes functions. Private to models/. */
#ifndef DLX_LISTA_INTERNAL_H
#define DLX_LISTA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/graph.h"
#include "../core/rng.h"
#include "family.h"

#define MAX_T 12
#define STREAM_DICT (DLX_STREAM_USER + 0)
#define STREAM_PATCH_TRAIN (DLX_STREAM_USER + 1)
#define STREAM_PATCH_TEST (DLX_STREAM_USER + 2)
#define STREAM_DICT_BATCH (DLX_STREAM_USER + 3)

enum { ALG_ISTA, ALG_FISTA, ALG_COD, ALG_LISTA, ALG_LCOD };
#define LEARNED(c) ((c)->algo == ALG_LISTA || (c)->algo == ALG_LCOD)
enum { DS_PATCHES, DS_MNIST }; /* data.dataset, in the order of k_datasets */

typedef struct encoder {
    int T;
    int we, s, th; /* param indices */
    dlx_graph *g;
    dlx_node *x, *zs, *z, *loss;
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
    int64_t epochs, batch;
    int wd; /* param index of Wd */
    encoder enc[MAX_T];
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

#endif
