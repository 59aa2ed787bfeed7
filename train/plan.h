/* The training plan: which optimizers a model has, over which parameter
 * groups, and the order of updates in a step.
 *
 * A spec names them under train:
 *   optimizers:
 *     d: {params: disc, type: adam, lr: 2.0e-4, beta1: 0.5, schedule: {...}}
 *     g: {params: gen,  type: adam, lr: 2.0e-4, beta1: 0.5}
 *   updates: [{loss: d_loss, optimizer: d}, {loss: g_loss, optimizer: g, repeat: 1}]
 * params: names one network or a list of them (core/params.h groups); left
 * out, every parameter. Each optimizer keeps its own schedule and update
 * count. updates: runs in order every step; repeat: k runs that update k
 * times on fresh feeds; each loss appears at most once. Left out, the order
 * is one update of the family's first loss by the first optimizer.
 *
 * A loss may be a weighted sum of the family's named terms, declared in the
 * spec and then named by updates like any loss:
 *   losses: {d_weighted: {d_real: 1.0, d_fake: 0.5}}
 * The family builds them into each replica's graph with dlx_plan_compose
 * (a weighted_sum node; weights of 1 give an add's bits).
 *
 * The older form, train.optimizer: {...} with train.schedule: {...}, is one
 * optimizer named "optimizer" over every parameter and one update of the
 * family's first loss: every existing spec runs unchanged.
 */
#ifndef DLX_PLAN_H
#define DLX_PLAN_H

#include <stdbool.h>

#include "../core/err.h"
#include "../core/graph.h"
#include "../core/optim.h"
#include "../core/params.h"
#include "../core/spec.h"
#include "../core/spec_doc.h"

#define DLX_OPTIMS_MAX 4
#define DLX_UPDATES_MAX 4
#define DLX_REPEAT_MAX 100
#define DLX_PLAN_NAME_MAX 32
#define DLX_TERMS_MAX 12     /* a family's named losses */
#define DLX_WEIGH_MAX 8      /* terms of one train.losses entry (weighted_sum's inputs) */
#define DLX_COMPOSITES_MAX 4 /* train.losses */
#define DLX_LOSSES_MAX (DLX_TERMS_MAX + DLX_COMPOSITES_MAX)

/* A loss of train.losses: a weighted sum of the family's terms. */
typedef struct dlx_plan_loss {
    char name[DLX_PLAN_NAME_MAX];
    int n_terms;
    int term[DLX_WEIGH_MAX];
    float weight[DLX_WEIGH_MAX];
} dlx_plan_loss;

typedef struct dlx_plan_optim {
    char name[DLX_PLAN_NAME_MAX];
    dlx_optim_cfg cfg;
    int n_groups; /* 0: every parameter */
    char groups[DLX_GROUPS_MAX][DLX_GROUP_NAME_MAX];
    dlx_loc loc;  /* its params: key, for an unknown network */
    dlx_optim *o; /* owned; set by dlx_plan_create */
} dlx_plan_optim;

typedef struct dlx_plan_update {
    int loss;   /* index in dlx_plan.loss_names */
    int optim;  /* index in dlx_plan.optims */
    int repeat; /* 1..DLX_REPEAT_MAX */
} dlx_plan_update;

typedef struct dlx_plan {
    int n_terms;      /* the family's losses */
    int n_composites; /* train.losses */
    dlx_plan_loss composites[DLX_COMPOSITES_MAX];
    /* every loss an update may name: the family's, then train.losses' */
    const char *loss_names[DLX_LOSSES_MAX + 1];
    int n_optims;
    dlx_plan_optim optims[DLX_OPTIMS_MAX];
    int n_updates;
    dlx_plan_update updates[DLX_UPDATES_MAX];
} dlx_plan;

/* Read the plan from the train: map (NULL: the defaults); losses are the
 * family's loss names (NULL-terminated, 1 to DLX_TERMS_MAX; they must
 * outlive the plan). composes: the family builds train.losses
 * (dlx_plan_compose); else train.losses is refused. Unknown keys,
 * optimizers or losses are DLX_EINVAL at their line. */
int dlx_plan_read(dlx_spec_node *train, const char *const *losses, bool composes, dlx_plan *p, dlx_err *err);
/* The reference of train.optimizers' entries and train.updates' (core/spec_doc.h). */
extern const dlx_spec_section dlx_plan_spec_sections[];
/* Build the losses of train.losses into g from the nodes of the family's
 * terms (terms[i]: loss_names[i]); out[j] gets loss n_terms + j. */
int dlx_plan_compose(const dlx_plan *p, dlx_graph *g, dlx_node *const *terms, dlx_node **out, dlx_err *err);
/* Parameter-sized blocks all the optimizers will allocate (memory budgets). */
int dlx_plan_slots(const dlx_plan *p);
/* Create every optimizer over its groups of the finalized store (a network
 * the store does not have is DLX_EINVAL at the spec's line), each updating
 * on `threads` threads. */
int dlx_plan_create(dlx_plan *p, dlx_params *params, int threads, dlx_err *err);
void dlx_plan_free(dlx_plan *p);
/* The index of the optimizer named name, or -1. */
int dlx_plan_find(const dlx_plan *p, const char *name);

#endif
