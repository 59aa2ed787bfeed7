/* Optimizers and learning-rate schedules.
 *
 * An optimizer updates every parameter of a dlx_params store from its
 * gradient. Its state (slots such as momentum buffers or Adam moments) lives
 * in one block per slot, parallel to the store's value block, and is exposed
 * by name so checkpoints can save and restore it exactly.
 *
 *   sgd:  v = mu * v + (g + wd * w);  w -= lr * (nesterov ? g' + mu * v : v)
 *         (PyTorch's formulation; wd only on parameters with decay = true)
 *   adam: Kingma & Ba 2015 with bias correction; wd is L2 added to the gradient
 *   rmsprop: s = a * s + (1 - a) * g'^2; w -= lr * g' / (sqrt(s) + eps), with
 *         optional momentum on that step (PyTorch's non-centered RMSprop)
 * Every update follows PyTorch 1.13's order of float32 operations.
 *
 * Spec keys: the tables of core/optim.c (dlx_optim_spec_sections, `dlx spec
 * optimizer`, `dlx spec schedule`): per type, sgd, adam and rmsprop (alpha
 * kept in cfg.beta2); keys of another type are errors. Schedules: constant,
 * step, cosine and inverse_time, each with warmup_steps.
 *
 * Schedules give the learning rate for a global step:
 *   constant; step (lr * gamma^floor(epoch / step_epochs)); cosine
 *   (lr_min + (lr - lr_min) * (1 + cos(pi * t / T)) / 2 over all steps);
 *   inverse_time (lr / (1 + t / decay_steps): Torch7's optim.sgd with
 *   learningRateDecay = 1 / decay_steps, t the updates before this one), each
 *   with an optional linear warmup over warmup_steps.
 */
#ifndef DLX_OPTIM_H
#define DLX_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "params.h"
#include "spec.h"
#include "spec_doc.h"

typedef enum dlx_optim_kind { DLX_OPTIM_SGD, DLX_OPTIM_ADAM, DLX_OPTIM_RMSPROP } dlx_optim_kind;
typedef enum dlx_sched_kind { DLX_SCHED_CONSTANT, DLX_SCHED_STEP, DLX_SCHED_COSINE, DLX_SCHED_INVERSE } dlx_sched_kind;

typedef struct dlx_optim_cfg {
    dlx_optim_kind kind;
    double lr;
    double momentum;       /* sgd */
    bool nesterov;         /* sgd */
    double weight_decay;
    double beta1, beta2, eps; /* adam; rmsprop uses beta2 as its decay (alpha) */
    double grad_clip;      /* global L2 norm clip; 0 = off */
    dlx_sched_kind sched;
    double gamma;          /* step schedule */
    int64_t step_epochs;   /* step schedule */
    double lr_min;         /* cosine */
    int64_t decay_steps;   /* inverse_time */
    int64_t warmup_steps;
} dlx_optim_cfg;

typedef struct dlx_optim dlx_optim;

/* Read `optimizer:` and `schedule:` maps (either may be absent: sgd lr 0.01,
 * constant). Keys checked, defaults inserted, ranges validated. */
int dlx_optim_cfg_from_spec(dlx_spec_node *train, dlx_optim_cfg *cfg, dlx_err *err);
/* Read one optimizer map (train.optimizers.<name>); extra: the table of its
 * further keys (or NULL): the caller reads them, but a `schedule:` there
 * (when extra lists it) is read here, as the optimizer's own schedule. */
int dlx_optim_cfg_from_map(dlx_spec_node *opt, const dlx_key_doc *extra, dlx_optim_cfg *cfg, dlx_err *err);
/* The reference of the optimizer and schedule maps (optimizer.<type>,
 * schedule.<type>), ending in {NULL}. */
extern const dlx_spec_section dlx_optim_spec_sections[];

/* Parameter-sized blocks the optimizer of cfg will allocate (momentum; Adam
 * m and v; RMSprop square_avg and momentum), for memory budgets. */
int dlx_optim_cfg_slots(const dlx_optim_cfg *cfg);

/* params must be finalized. Over every parameter of the store. */
int dlx_optim_create(const dlx_optim_cfg *cfg, dlx_params *params, dlx_optim **out, dlx_err *err);
/* Over the parameters i with member[i] (a parameter group; NULL = every
 * parameter): only they are updated, clipped and given slots. */
int dlx_optim_create_over(const dlx_optim_cfg *cfg, dlx_params *params, const bool *member, dlx_optim **out,
                          dlx_err *err);
/* Whether parameter i is updated by o. */
bool dlx_optim_has(const dlx_optim *o, int param);
/* Per parameter, whether o updates it; NULL when o updates every parameter. */
const bool *dlx_optim_members(const dlx_optim *o);
/* The elements [lo, hi) of the store that o's parameters span. */
void dlx_optim_span(const dlx_optim *o, int64_t *lo, int64_t *hi);
void dlx_optim_destroy(dlx_optim *o);

/* Learning rate at global step `step` (0-based) of a run of total_steps, with
 * steps_per_epoch for the step schedule. */
double dlx_optim_lr(const dlx_optim_cfg *cfg, int64_t step, int64_t steps_per_epoch,
                    int64_t total_steps);

/* One update with learning rate lr. Returns the gradient norm before
 * clipping when grad_clip is on (-1 otherwise: the norm is not computed). */
double dlx_optim_step(dlx_optim *o, double lr);

/* dlx_optim_step in parts, for a caller that spreads the update over its own
 * threads (the classifier's workers, inside the region that ran the shards):
 * clips (whether clipping is on: it needs the whole summed gradient, so such
 * a caller uses dlx_optim_step instead), prepare (the constants of the next
 * update, read-only), apply (elements [lo, hi) of the store, any split gives
 * the same bits), commit (counts the update). */
typedef struct dlx_optim_consts {
    float nlr, b1, omb1, b2, omb2, eps, mu, bc2_sqrt, nstep;
} dlx_optim_consts;
bool dlx_optim_clips(const dlx_optim *o);
void dlx_optim_prepare(const dlx_optim *o, double lr, dlx_optim_consts *k);
void dlx_optim_apply(const dlx_optim *o, const dlx_optim_consts *k, int64_t lo, int64_t hi);
void dlx_optim_commit(dlx_optim *o);

/* State for checkpoints: slot names ("momentum"; "m", "v"; "square_avg",
 * "momentum"), and the slot's block for parameter i (same shape as the
 * parameter); NULL for a slot out of range or a parameter o does not update. */
int dlx_optim_n_slots(const dlx_optim *o);
const char *dlx_optim_slot_name(const dlx_optim *o, int slot);
float *dlx_optim_slot(dlx_optim *o, int slot, int param);
int64_t dlx_optim_t(const dlx_optim *o); /* updates done (Adam bias correction) */
void dlx_optim_set_t(dlx_optim *o, int64_t t);
/* Threads for the update (elementwise, so the result does not depend on it). */
void dlx_optim_set_threads(dlx_optim *o, int threads);

#endif
