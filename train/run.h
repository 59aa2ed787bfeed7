/* The machinery every model family shares: the model record, the results of
 * an evaluation, progress hooks, checkpoints and metrics for a run directory.
 */
#ifndef DLX_RUN_H
#define DLX_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/h5io.h"
#include "../core/optim.h"
#include "../core/params.h"
#include "../core/rundir.h"
#include "../core/spec.h"
#include "plan.h"

struct dlx_family;

/* Named scalar results (final metrics), printed by the CLI as text or JSON. */
#define DLX_RESULTS_MAX 32
typedef struct dlx_results {
    int n;
    char name[DLX_RESULTS_MAX][48];
    double value[DLX_RESULTS_MAX];
} dlx_results;
void dlx_results_set(dlx_results *r, const char *name, double value);
bool dlx_results_get(const dlx_results *r, const char *name, double *value);

/* A progress report, passed to the CLI's hook (library code never prints). */
typedef struct dlx_progress {
    const char *phase;     /* "train", "eval", "checkpoint", "info" */
    int64_t epoch, epochs; /* 1-based epoch being run, of epochs */
    int64_t step, steps;   /* global step done, of total */
    double loss;           /* running mean train loss this epoch */
    double steps_per_s, images_per_s;
    double eta_s;
    const dlx_results *results; /* end-of-epoch metrics, or NULL */
    const char *message;   /* "info": a line to show (layer table, file written) */
} dlx_progress;

typedef struct dlx_hooks {
    void (*progress)(void *user, const dlx_progress *p);
    void *user;
    /* set by a signal handler: checkpoint and stop; the family sets it to 2
     * when it has seen it (the step is done), so a deadline can stand down */
    volatile sig_atomic_t *stop;
} dlx_hooks;

typedef struct dlx_model {
    const struct dlx_family *family;
    dlx_spec *spec;            /* owned */
    char run_dir[DLX_RUNDIR_MAX + 1]; /* where checkpoint.h5 and metrics.h5 go */
    int lock_fd;               /* the run directory's lock (dlx_run_lock); -1 none */
    uint64_t seed;
    dlx_params params;
    dlx_plan plan;             /* optimizers and update order; no optimizer created for
                                * families that do not train by gradient */
    int64_t step, epoch;       /* done so far */
    int64_t checkpoint_step;   /* step of the last checkpoint written or loaded; -1 none */
    int64_t stop_at;           /* checkpoint and stop after this global step; 0 = run to the end */
    bool profile;              /* time every op and report the table at the end */
    /* the training loop's named running sums, saved with checkpoints
     * (/state/<name>); a version-1 checkpoint loads them unnamed, in order */
    double state[DLX_CKPT_STATE_MAX];
    char state_name[DLX_CKPT_STATE_MAX][DLX_CKPT_NAME_MAX];
    int n_state;
    int threads;
    size_t max_memory;         /* bytes; 0 = no limit */
    dlx_hooks hooks;
    bool resumed;
    char spec_path[512];       /* the spec file given to `dlx train`, for messages */
    dlx_results results;       /* the latest evaluation (end of each epoch) */
    void *impl;                /* the family's own state */
} dlx_model;

/* Send an "info" line to the hook. */
void dlx_run_info(const dlx_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Save params, buffers, every optimizer's slots and update count, the loop
 * state, step/epoch/rng and the resolved spec to <run_dir>/checkpoint.h5
 * atomically (format version 2, core/h5io.h). */
int dlx_run_save_checkpoint(dlx_model *m, dlx_err *err);
/* Load params and buffers (and optimizer state, step, epoch and loop state
 * when with_optim) from path, format version 1 or 2, into a model already
 * built from the same spec. */
int dlx_run_load_checkpoint(dlx_model *m, const char *path, bool with_optim, dlx_err *err);

/* Create a model from a spec: read seed, model.kind, find the family, create.
 * Takes ownership of spec (also on failure). */
int dlx_model_create(dlx_spec *spec, const char *run_dir, const dlx_hooks *hooks, dlx_model **out,
                     dlx_err *err);
/* The same with worker threads (0 = spec or default) and an activation-memory
 * limit in bytes (0 = none), both needed while the graph is built. */
int dlx_model_create_opts(dlx_spec *spec, const char *run_dir, const dlx_hooks *hooks, int threads,
                          size_t max_memory, dlx_model **out, dlx_err *err);
/* Create the run directory (mkdir -p). */
int dlx_run_prepare_dir(const dlx_model *m, dlx_err *err);
/* Create the run directory and take its lock (core/rundir.h) until
 * dlx_model_destroy: call it before writing anything there. A directory in
 * use by another dlx is DLX_EIO at once, naming its pid. */
int dlx_run_lock(dlx_model *m, dlx_err *err);
/* --resume: load <run_dir>/checkpoint.h5 if it exists (*found says so).
 * Its /spec must equal the model's resolved spec, apart from name,
 * description, train.epochs, log_every, eval_every, checkpoint_every, save
 * and threads; else DLX_EINVAL naming the first differing key and both
 * values. m->stop_at, when set, must lie after the checkpoint's step
 * (DLX_EINVAL). */
int dlx_run_resume(dlx_model *m, bool *found, dlx_err *err);
/* Create a model from a checkpoint's stored spec and load its parameters. */
int dlx_model_from_checkpoint(const char *path, const dlx_hooks *hooks, dlx_model **out,
                              dlx_err *err);
void dlx_model_destroy(dlx_model *m);

#endif
