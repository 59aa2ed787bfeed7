/* The training loop, once for the families that train by gradient.
 *
 * Per step, for each update of the update order: the learning rate from the
 * update's schedule and its optimizer's constants, then every replica
 * (train/replica.h) fed by the family, forward, backward from the update's
 * loss and scored by the family, the ordered reduce and the optimizer. Around
 * it: the NaN/Inf guard (names the loss and the step, and the last good
 * checkpoint, which stays intact), train_<loss> and lr metrics every
 * log_every steps, progress with ETA, the family's evaluation at the end of
 * an epoch (every eval_every epochs and after the last), checkpoints
 * (checkpoint_every steps, each epoch or only at the end: save), --stop-at,
 * the stop flag of a signal handler, --profile, and the running sums in
 * m->state, so a checkpoint carries them and a resumed run logs the values
 * of an uninterrupted one.
 *
 * The family builds the replicas and names, per update, the loss node of
 * each replica and the optimizer; it provides the data order, the feeds,
 * the per-step measures (summed over the epoch), the evaluation and an
 * end-of-training hook. Today the update order has one entry (one loss, the
 * model's optimizer over every parameter); several named losses and
 * optimizers over parameter groups come with checkpoints that hold one
 * optimizer state per update.
 *
 * m->state layout (checkpointed as /state): per update its epoch and log
 * loss sums, then each measure's epoch sum, then the epoch and log step
 * counts (one update and train_accuracy: epoch loss, log loss, right
 * answers, epoch steps, log steps).
 */
#ifndef DLX_TRAINER_H
#define DLX_TRAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/graph.h"
#include "../core/optim.h"
#include "../core/spec.h"
#include "../models/run.h"
#include "replica.h"

/* The train: map, read by dlx_train_cfg_read: the loop's keys, the
 * replicas' (shards, threads) and the optimizer's (optimizer, schedule). */
typedef struct dlx_train_cfg {
    int64_t epochs, batch;
    int64_t checkpoint_every; /* steps; 0 = none between epochs */
    int64_t log_every;        /* steps between train_<loss> and lr rows */
    int64_t eval_every;       /* epochs; 0 = only after the last */
    bool save_at_end;         /* save: end (one checkpoint after the last step) rather than epoch */
    int threads;              /* 0 = not given */
    int shards;               /* replicas: micro-batches per batch (they divide it) */
} dlx_train_cfg;

/* A family's defaults for the keys a spec may leave out. */
typedef struct dlx_train_defaults {
    int64_t batch;
    int shards; /* 0: 2 for an even batch, else 1 */
} dlx_train_defaults;

/* Read and check the spec's train: map (root: the spec's root) with the
 * family's defaults def; the optimizer and its schedule go to optim
 * (core/optim.h). */
int dlx_train_cfg_read(dlx_spec_node *root, const dlx_train_defaults *def, dlx_train_cfg *cfg, dlx_optim_cfg *optim,
                       dlx_err *err);

/* One entry of the update order: a loss and the optimizer it drives. */
typedef struct dlx_update {
    const char *loss_name;            /* "loss": metric train_<loss_name>, named by the NaN guard */
    dlx_node *loss[DLX_REPLICAS_MAX]; /* the loss node of each replica's graph */
    dlx_optim *optim;                 /* over every parameter of the replicas' store */
    const dlx_optim_cfg *cfg;         /* its learning-rate schedule */
} dlx_update;

#define DLX_UPDATES_MAX 1
#define DLX_MEASURES_MAX 4

/* A per-step measure: its epoch value is the sum of the steps' values over
 * (steps * per_step), e.g. right answers over the samples seen. */
typedef struct dlx_measure {
    const char *name; /* "train_accuracy" */
    double per_step;  /* the batch size for a per-sample rate; 1 for a mean per step */
} dlx_measure;

/* What a family gives the loop. `user` is passed back to every callback. */
typedef struct dlx_train_family {
    void *user;
    int64_t samples; /* training samples; an epoch is samples / batch steps */
    /* Before the first step of `epoch` (0-based) that this run does: its data order. */
    void (*begin_epoch)(void *user, int64_t epoch);
    /* Fill replica k's inputs for update u at step `pos` of the epoch. Runs
     * on a worker thread: touch only what belongs to replica k. */
    void (*feed)(void *user, int u, int k, int64_t pos);
    /* After replica k's backward: its values of this step's measures (NULL
     * when there are none). Runs on a worker thread like feed. */
    void (*measure)(void *user, int u, int k, double *values);
    int n_measures;
    dlx_measure measures[DLX_MEASURES_MAX];
    /* Add the test metrics to r (after the last epoch, every eval_every
     * epochs, and once when a resumed run is already at its end). */
    int (*evaluate)(void *user, dlx_results *r, dlx_err *err);
    /* After the last step (not after a stop or an error): pictures and the like. */
    int (*finish)(void *user, dlx_err *err);
} dlx_train_family;

typedef struct dlx_trainer {
    dlx_train_cfg cfg;
    dlx_replicas *replicas;
    int n_updates; /* 1 .. DLX_UPDATES_MAX */
    dlx_update updates[DLX_UPDATES_MAX];
    dlx_train_family fam;
} dlx_trainer;

/* Train m from m->step to the end of cfg.epochs (or m->stop_at), writing
 * metrics.h5 and checkpoints to m->run_dir, calling m->hooks. Sets
 * m->results: the last epoch's metrics, then train_seconds, and for a run
 * that took steps step_seconds and images_per_second (evaluation and
 * checkpoints excluded). A stop flag ends with DLX_EINTR after a checkpoint;
 * a non-finite loss with DLX_ENUM, before its update is applied. */
int dlx_trainer_run(dlx_model *m, dlx_trainer *t, dlx_err *err);

#endif
