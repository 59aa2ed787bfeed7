/* The disentangle family's parts (models/disentangle.c: spec, graphs,
 * training; disentangle_infer.c: the encoder and decoder at inference, the
 * transfer grids of `dlx sample`, rec_mse and swap_mse; disentangle_measure.c:
 * model.eval's classifier of transferred images and probes of s and z). */
#ifndef DLX_DISENTANGLE_INTERNAL_H
#define DLX_DISENTANGLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/graph.h"
#include "../core/layers.h"
#include "../core/rng.h"
#include "../train/images.h"
#include "../train/trainer.h"
#include "family.h"

/* The family's terms, by index in the plan's loss names. */
enum { DIS_LOSS_D, DIS_LOSS_G, DIS_LOSS_REC, DIS_LOSS_SWAP, DIS_LOSS_ADV, DIS_LOSS_KL, DIS_LOSS_D_REAL,
       DIS_LOSS_D_FAKE, DIS_N_BASE_TERMS, /* then, with networks.zdisc only: */
       DIS_LOSS_Z_CLS = DIS_N_BASE_TERMS, DIS_LOSS_Z_ADV, DIS_N_TERMS_MAX };
/* The networks, by index: the latent adversary zdisc is optional. */
enum { DIS_NET_ENC, DIS_NET_DEC, DIS_NET_DISC, DIS_NET_ZDISC, DIS_NETS };

/* Purposes of the family's random streams (low byte; the draw goes above). */
enum { DIS_STREAM_NOISE = DLX_STREAM_USER + 1, DIS_STREAM_PICK = DLX_STREAM_USER + 2,
       DIS_STREAM_PROBE = DLX_STREAM_USER + 3, DIS_STREAM_ZSAMPLE = DLX_STREAM_USER + 4 };

#define DIS_MEMBERS 3    /* a triplet: x1, x2 of one class, x3 of any */
#define DIS_INFER_N 100  /* images per pass of the inference graphs */

typedef struct dis_replica {
    dlx_node *x[DIS_MEMBERS], *eps[DIS_MEMBERS];
    dlx_node *cls[2];                /* one-hot class planes of x1's class and x3's (the adversary's condition) */
    dlx_node *lab[2];                /* with zdisc: x1's class and x3's as indices (N) */
    dlx_node *loss[DLX_LOSSES_MAX];  /* the terms, then train.losses */
    uint32_t *idx;
    float *labels[DIS_MEMBERS];
} dis_replica;

typedef struct dis {
    dlx_train_cfg tc;
    int64_t ns, nz;                         /* the code: specified s, unspecified z */
    double w_rec, w_swap, w_adv, w_kl;      /* g_loss's weights */
    bool zdisc;                             /* networks.zdisc given: the latent adversary on z's means */
    double w_zadv;                          /* its confusion term's weight in g_loss */
    bool zadv_given;                        /* model.weights.zadv was in the spec (at zadv_loc) */
    dlx_loc zadv_loc;
    int n_terms;                            /* DIS_N_BASE_TERMS, or DIS_N_TERMS_MAX with zdisc */
    int n_nets;                             /* 3, or 4 with zdisc */
    double real_target;                     /* the adversary's target for real images */
    dlx_images im;
    int c, h, w, classes;
    int64_t x_numel;
    int64_t shard_batch;
    dlx_replicas reps;
    dis_replica rep[DLX_REPLICAS_MAX];
    dlx_layers_out info[DIS_NETS];          /* enc, dec, disc (and zdisc) of replica 0 */
    /* inference (disentangle_infer.c): enc on DIS_INFER_N images, dec on DIS_INFER_N codes */
    dlx_graph *enc_g, *dec_g;
    dlx_node *enc_x, *enc_out, *dec_code, *dec_out;
    int64_t eval_samples;                   /* model.eval_samples: test images of the evaluation */
    const char *judge_path;                 /* model.eval.classifier (NULL: no transfer accuracy) */
    int64_t probe_train, probe_hidden;      /* model.eval's probes */
} dis;

/* disentangle.c */
dlx_spec_node *dlx_dis_layers(const dlx_model *m, const char *net);
/* net's layers on `in` with its prefix; group declared when the store is open */
int dlx_dis_build_net(dlx_model *m, dlx_graph *g, const char *net, dlx_node *in, dlx_layers_out *lo, dlx_node **out,
                      dlx_err *err);
/* dec's output viewed as images (N, C, H, W) */
dlx_node *dlx_dis_as_image(dlx_graph *g, const dis *c, dlx_node *y, dlx_err *err);

/* disentangle_infer.c */
int dlx_dis_build_infer(dlx_model *m, dis *c, dlx_err *err);
/* n images x (after the data's transform) -> s (n x ns), z's means (n x nz)
 * and, unless zlv is NULL, z's log-variances (n x nz) */
void dlx_dis_encode(const dlx_model *m, dis *c, const float *x, int64_t n, float *s, float *z, float *zlv);
/* n codes -> n images (the data's scale) */
void dlx_dis_decode(const dlx_model *m, dis *c, const float *s, const float *z, int64_t n, float *x);
int dlx_dis_transfer(dlx_model *m, const dlx_transfer_req *q, float *x, int *rows, int *cols, dlx_sample_shape *shape,
                     dlx_err *err);
int dlx_dis_eval(dlx_model *m, dis *c, dlx_results *res, dlx_err *err);

/* disentangle_measure.c: model.eval */
extern const dlx_key_doc dlx_dis_eval_keys[];
int dlx_dis_eval_read(dlx_spec_node *model, dis *c, dlx_err *err);
/* on the n test images of labels lab and codes s, z */
int dlx_dis_measure_transfer(dlx_model *m, dis *c, const float *lab, const float *s, const float *z, int64_t n,
                             dlx_results *res, dlx_err *err);
/* ... and z's log-variances zlv (for the probe of sampled z) */
int dlx_dis_measure_probes(dlx_model *m, dis *c, const float *lab, const float *s, const float *z, const float *zlv,
                           int64_t n, dlx_results *res, dlx_err *err);

#endif
