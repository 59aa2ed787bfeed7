/* The training loop, once for the families that train by gradient.
 *
 * Per step, for each update of the update order (train/plan.h), repeat
 * times: the learning rate from its optimizer's schedule, then every replica
 * (train/replica.h) fed by the family, forward, backward from the update's
 * loss for the optimizer's parameters only, scored by the family, the
 * ordered reduce and that optimizer's update. Around it: the NaN/Inf guard
 * (names the loss and the step, and the last good checkpoint, which stays
 * intact), train_<loss> and lr_<optimizer> metrics every log_every steps
 * (plain "lr" with one optimizer), progress with ETA, the family's
 * evaluation at the end of an epoch (every eval_every epochs and after the
 * last), checkpoints (checkpoint_every steps, each epoch or only at the end:
 * save), --stop-at, the stop flag of a signal handler, --profile, and the
 * running sums in m->state, so a checkpoint carries them and a resumed run
 * logs the values of an uninterrupted one.
 *
 * The family builds the replicas and names, per loss, its node in each
 * replica (dlx_train_family.loss); it provides the data order, the feeds, the
 * per-step measures (summed over the epoch), the evaluation and an
 * end-of-training hook.
 *
 * m->state (checkpointed as /state/<name>): per update "<loss>.epoch_sum"
 * and "<loss>.log_sum", per measure "<measure>.epoch_sum", then
 * "epoch_steps" and "log_steps", and with train.early_stopping its four
 * values (train/early_stop.h). A version-1 checkpoint's unnamed vector
 * had that order for its one update.
 *
 * Early stopping: after each evaluation the metric is compared with the
 * best so far; a new best writes best.h5 beside checkpoint.h5 (the same
 * contents: parameters, step, epoch, state with early_stopping.best), and
 * `patience` epochs past the best the run checkpoints and ends as if at its
 * last step (the family's finish runs). A resumed run that had stopped
 * trains no further.
 */
#ifndef DLX_TRAINER_H
#define DLX_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/graph.h"
#include "../core/optim.h"
#include "../core/spec.h"
#include "../core/spec_doc.h"
#include "early_stop.h"
#include "run.h"
#include "plan.h"
#include "replica.h"

/* The train: map, read by dlx_train_cfg_read: the loop's keys and the
 * replicas' (shards, threads); the plan's (optimizers, updates, and the
 * older optimizer and schedule) go to the model's dlx_plan. */
typedef struct dlx_train_cfg {
    int64_t epochs, batch;
    int64_t checkpoint_every; /* steps; 0 = none between epochs */
    int64_t log_every;        /* steps between train_<loss> and lr rows */
    int64_t eval_every;       /* epochs; 0 = only after the last */
    bool save_at_end;         /* save: end (one checkpoint after the last step) rather than epoch */
    int threads;              /* 0 = not given */
    int shards;               /* replicas: micro-batches per batch (they divide it) */
    dlx_early_stop early;     /* train.early_stopping (metric NULL: off) */
} dlx_train_cfg;

/* A family's defaults for the keys a spec may leave out. */
typedef struct dlx_train_defaults {
    int64_t batch;
    int shards;    /* 0: 2 for an even batch, else 1 */
    bool composes; /* the family builds train.losses (dlx_plan_compose) */
} dlx_train_defaults;

/* Read and check the spec's train: map (root: the spec's root) with the
 * family's defaults def and loss names (NULL-terminated; the first is the
 * default update's); the optimizers and update order go to plan. */
int dlx_train_cfg_read(dlx_spec_node *root, const dlx_train_defaults *def, const char *const *losses,
                       dlx_train_cfg *cfg, dlx_plan *plan, dlx_err *err);
/* The reference of that map (core/spec_doc.h). */
extern const dlx_spec_section dlx_train_spec_sections[];

/* One entry of the update order: a loss and the optimizer it drives. */
typedef struct dlx_update {
    const char *loss_name;            /* "loss": metric train_<loss_name>, named by the NaN guard */
    dlx_node *loss[DLX_REPLICAS_MAX]; /* the loss node of each replica's graph */
    dlx_optim *optim;                 /* over its parameter group */
    const char *optim_name;           /* its lr metric: lr_<name> (lr with one optimizer) */
    const dlx_optim_cfg *cfg;         /* its learning-rate schedule */
    int repeat;                       /* runs per step, each on fresh feeds */
} dlx_update;

#define DLX_MEASURES_MAX 5

/* A per-step measure: its epoch value is the sum of the steps' values over
 * (steps * per_step), e.g. right answers over the samples seen. */
typedef struct dlx_measure {
    const char *name; /* "train_accuracy" */
    double per_step;  /* the batch size for a per-sample rate; 1 for a mean per step */
} dlx_measure;

/* What a family gives the loop. `user` is passed back to every callback. */
typedef struct dlx_train_family {
    void *user;
    /* Loss l (an index in the plan's loss_names: the family's terms, then
     * train.losses) in replica k's graph. */
    dlx_node *(*loss)(void *user, int l, int k);
    int64_t samples; /* training samples; an epoch is samples / batch steps */
    /* Before the first step of `epoch` (0-based) that this run does: its data order. */
    void (*begin_epoch)(void *user, int64_t epoch);
    /* Fill replica k's inputs for run `rep` (0-based, < repeat) of update u
     * at step `pos` of the epoch; m->step is the global step. Runs on a
     * worker thread: touch only what belongs to replica k. */
    void (*feed)(void *user, int u, int rep, int k, int64_t pos);
    /* After replica k's backward: its values of this step's measures (NULL
     * when there are none). Runs on a worker thread like feed. */
    void (*measure)(void *user, int u, int k, double *values);
    int n_measures;
    dlx_measure measures[DLX_MEASURES_MAX];
    /* Add the test metrics to r (after the last epoch, every eval_every
     * epochs, and once when a resumed run is already at its end). */
    int (*evaluate)(void *user, dlx_results *r, dlx_err *err);
    /* Optional. After each run of update u (its update applied): whether
     * training has gone wrong in a way a finite loss does not show (a GAN's
     * generator collapsed onto one sample); if so, `why` says how, and the
     * run stops like the NaN guard: the step named, no checkpoint written,
     * the last good one intact. */
    bool (*diverged)(void *user, int u, char *why, size_t why_size);
    /* After the last step (not after a stop or an error): pictures and the like. */
    int (*finish)(void *user, dlx_err *err);
} dlx_train_family;

typedef struct dlx_trainer {
    dlx_train_cfg cfg;
    dlx_replicas *replicas;
    const dlx_plan *plan; /* the model's optimizers (created) and update order */
    dlx_train_family fam;
    /* set by dlx_trainer_run from plan and fam.loss */
    int n_updates;
    dlx_update updates[DLX_UPDATES_MAX];
} dlx_trainer;

/* Train m from m->step to the end of cfg.epochs (or m->stop_at), writing
 * metrics.h5 and checkpoints to m->run_dir, calling m->hooks. Sets
 * m->results: the last epoch's metrics, then train_seconds, and for a run
 * that took steps step_seconds and images_per_second (evaluation and
 * checkpoints excluded). A stop flag ends with DLX_EINTR after a checkpoint;
 * a non-finite loss with DLX_ENUM, before its update is applied. Over MPI
 * ranks (m->hooks.dist, train/dist.h) also comm_seconds: this rank's time in
 * the step's exchanges (the reduce, broadcasts, the loss gather), waits for
 * slower ranks included.
 * With m->hooks.dry_run it writes nothing: it takes DLX_DRY_RUN_WARMUP
 * untimed steps, then at most DLX_DRY_RUN_STEPS timed ones (fewer when the
 * run is shorter), and reports the mean time per step as an "info" line. */
#define DLX_DRY_RUN_WARMUP 1
#define DLX_DRY_RUN_STEPS 5
int dlx_trainer_run(dlx_model *m, dlx_trainer *t, dlx_err *err);

#endif
