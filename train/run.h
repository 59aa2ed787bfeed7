/* The model record every family and the training loop share: the model,
 * the results of an evaluation, progress hooks and the run directory.
 * Checkpoints are in train/checkpoint.h, --resume in train/resume.h, the
 * memory budget in train/budget.h; creating a model through the family
 * registry (and destroying it) in experiments/model.h. The family is opaque here:
 * the record keeps a pointer to it and its name, which checkpoints store.
 */
#ifndef DLX_RUN_H
#define DLX_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/h5io.h"
#include "../core/layers.h"
#include "../core/optim.h"
#include "../core/params.h"
#include "../core/rundir.h"
#include "../core/spec.h"
#include "plan.h"

struct dlx_family;
struct dlx_dist;

/* Named scalar results (final metrics), printed by the CLI as text or JSON. */
#define DLX_RESULTS_MAX 96 /* a sweep row's distribution statistics take ~40 */
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
    /* --dry-run: the memory plan is reported, the trainer times a few steps
     * and writes nothing (metrics, checkpoints, pictures) */
    bool dry_run;
    /* replicas spread over MPI ranks (train/dist.h); NULL: one process */
    const struct dlx_dist *dist;
    /* DLX_NO_PRUNE=1, for tests: every update runs the unpruned path
     * (dlx_graph.no_prune), whose bits the pruned one must give */
    bool no_prune;
} dlx_hooks;

typedef struct dlx_model {
    const struct dlx_family *family; /* opaque here (models/family.h) */
    const char *family_name;   /* the family's name: a checkpoint's "family" attribute */
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
    /* --extend-epochs: train.epochs of the checkpoint before it was raised
     * (0: not extended); resume compares the spec with that many more, and
     * the trainer says how the schedule changes */
    int64_t extend_from_epochs;
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
    /* a figure the family wrote the data and a gnuplot script for (empty:
     * none): the CLI renders the script into figure_png (library code never
     * runs gnuplot) */
    char figure_script[DLX_RUNDIR_MAX + 32], figure_png[DLX_RUNDIR_MAX + 32];
    void *impl;                /* the family's own state */
} dlx_model;

/* Send an "info" line to the hook. */
void dlx_run_info(const dlx_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "network NAME:", one info line per layer (name, type, output shape,
 * parameters) and the total: the layer table of one of a family's networks. */
void dlx_run_network_table(const dlx_model *m, const char *name, const dlx_layers_out *net);

/* Create the run directory (mkdir -p). */
int dlx_run_prepare_dir(const dlx_model *m, dlx_err *err);
/* The resolved spec (every --set applied) as run_dir/spec.yaml, written to a
 * .tmp and renamed into place. */
int dlx_run_write_spec(const dlx_model *m, dlx_err *err);
/* Create the run directory and take its lock (core/rundir.h) until
 * dlx_model_destroy (experiments/model.h): call it before writing anything there.
 * A directory in use by another dlx is DLX_EIO at once, naming its pid. */
int dlx_run_lock(dlx_model *m, dlx_err *err);

#endif
