#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "dist.h"

/* The update order of t->plan, each loss's node per replica from the family. */
static void set_updates(dlx_trainer *t)
{
    const dlx_plan *plan = t->plan;
    t->n_updates = plan->n_updates;
    for (int u = 0; u < plan->n_updates; u++) {
        const dlx_plan_update *pu = &plan->updates[u];
        const dlx_plan_optim *o = &plan->optims[pu->optim];
        dlx_update *up = &t->updates[u];
        up->loss_name = plan->loss_names[pu->loss];
        for (int k = 0; k < t->replicas->n; k++) {
            up->loss[k] = t->fam.loss(t->fam.user, pu->loss, k);
            DLX_ASSERT(up->loss[k] != NULL);
        }
        up->optim = o->o;
        up->optim_name = plan->n_optims > 1 ? o->name : NULL;
        up->cfg = &o->cfg;
        up->repeat = pu->repeat;
    }
}

/* One replica's measures, on its own cache lines (written by its worker). */
typedef struct measure_slot {
    double v[DLX_MEASURES_MAX];
    char pad[64];
} measure_slot;

/* The state of one dlx_trainer_run. */
typedef struct run {
    dlx_model *m;
    dlx_trainer *t;
    dlx_metrics *mx;
    int64_t spe, total, step0;
    double t0, t_log, t_other; /* t_other: evaluation, checkpoints, metrics flushes */
    double t_flush;            /* the last metrics flush */
    double *acc;               /* m->state, laid out as in trainer.h */
    int u, rep;                /* the update being run, and which of its repeats */
    int64_t draw;              /* forward passes before this one: random masks' counter */
    int draws_per_step;        /* the sum of the updates' repeats */
    int64_t pos;               /* the step's position in its epoch */
    bool stopped_early;        /* train.early_stopping ended the run at this epoch */
    bool stop_agreed;          /* over MPI ranks: some rank saw the stop flag this step */
    double t_comm;             /* over MPI ranks: seconds in the step's exchanges */
    measure_slot meas[DLX_REPLICAS_MAX];
} run;

_Static_assert(2 * DLX_UPDATES_MAX + DLX_MEASURES_MAX + 2 + DLX_ES_N <= DLX_CKPT_STATE_MAX,
               "the loop's running sums must fit in dlx_model.state");

static int acc_epoch_loss(int u) { return 2 * u; }
static int acc_log_loss(int u) { return 2 * u + 1; }
static int acc_measure(const run *r, int i) { return 2 * r->t->n_updates + i; }
static int acc_epoch_steps(const run *r) { return 2 * r->t->n_updates + r->t->fam.n_measures; }
static int acc_log_steps(const run *r) { return acc_epoch_steps(r) + 1; }
static int acc_early(const run *r) { return acc_log_steps(r) + 1; } /* DLX_ES_N values */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Replica k's share of update r->u (dlx_replica_run_fn). */
static void run_replica(void *user, int k)
{
    run *r = user;
    const dlx_train_family *f = &r->t->fam;
    const dlx_update *up = &r->t->updates[r->u];
    f->feed(f->user, r->u, r->rep, k, r->pos);
    dlx_replicas_forward_backward(r->t->replicas, k, up->loss[k], dlx_optim_members(up->optim), r->m->seed, r->draw);
    if (f->measure)
        f->measure(f->user, r->u, k, r->meas[k].v);
}

static int not_finite(const run *r, const dlx_update *up, double loss, int64_t epoch, dlx_err *err)
{
    const dlx_model *m = r->m;
    const char *what = isnan(loss) ? "NaN" : "infinite";
    if (m->checkpoint_step >= 0)
        return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC,
                            "%s is %s at step %lld (epoch %lld); training stopped. The last good "
                            "checkpoint, %s/checkpoint.h5 (step %lld), is intact; try a lower learning rate",
                            up->loss_name, what, (long long)m->step + 1, (long long)epoch + 1, m->run_dir,
                            (long long)m->checkpoint_step);
    return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC,
                        "%s is %s at step %lld (epoch %lld); training stopped before any checkpoint "
                        "was written; try a lower learning rate",
                        up->loss_name, what, (long long)m->step + 1, (long long)epoch + 1);
}

/* The family's divergence test said why (fam.diverged): as not_finite. */
static int diverged(const run *r, const char *why, int64_t epoch, dlx_err *err)
{
    const dlx_model *m = r->m;
    if (m->checkpoint_step >= 0)
        return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC,
                            "training diverged at step %lld (epoch %lld): %s; training stopped. The last good "
                            "checkpoint, %s/checkpoint.h5 (step %lld), is intact",
                            (long long)m->step + 1, (long long)epoch + 1, why, m->run_dir,
                            (long long)m->checkpoint_step);
    return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC,
                        "training diverged at step %lld (epoch %lld): %s; training stopped before any checkpoint "
                        "was written",
                        (long long)m->step + 1, (long long)epoch + 1, why);
}

/* run_update over MPI ranks (train/dist.h): this rank's replicas, then
 * every replica's loss, measures and its rank's flags to every rank (the
 * mean loss summed in replica order as in one process), the chained reduce
 * and the optimizer on every rank. The flags: the stop flag (some rank saw
 * it: every rank stops) and the family's divergence test on this rank's
 * replicas, taken before the update from the forward pass's values (every
 * rank saw it: the run diverged). */
static int run_update_dist(run *r, int u, int64_t epoch, double lr, double *loss, char *why, size_t why_size,
                           bool *diverged, dlx_err *err)
{
    dlx_trainer *t = r->t;
    dlx_replicas *rs = t->replicas;
    const dlx_dist *d = rs->dist;
    const dlx_update *up = &t->updates[u];
    const int nm = t->fam.n_measures, w = 2 + nm;
    r->u = u;
    int64_t a, b;
    dlx_optim_span(up->optim, &a, &b);
    /* with one shard a rank, the chain runs inside backward (train/dist.h) */
    const bool overlap = rs->n > 1 && dlx_dist_overlap_begin(rs, a, b, dlx_optim_members(up->optim) != NULL, err);
    dlx_replicas_step(rs, up->loss, up->optim, NULL, run_replica, r);
    if (overlap) /* (the chunks passed inside backward count as compute) */
        rs->r[rs->first].g->after_backward = NULL;
    r->draw++;
    double x[DLX_REPLICAS_MAX * (2 + DLX_MEASURES_MAX)];
    int row0[DLX_REPLICAS_MAX + 1], count;
    for (int q = 0; q <= d->size; q++)
        dlx_dist_block(rs->n, q, d->size, &row0[q], &count);
    const bool stop = r->m->hooks.stop && *r->m->hooks.stop;
    const bool div = t->fam.diverged && t->fam.diverged(t->fam.user, u, why, why_size);
    for (int k = rs->first; k < rs->first + rs->count; k++) {
        x[k * w] = up->loss[k]->out.data[0];
        x[k * w + 1] = stop + 2 * div;
        for (int i = 0; i < nm; i++)
            x[k * w + 2 + i] = r->meas[k].v[i];
    }
    double t0 = now_s();
    int rc = d->allgather(d, x, w, row0, err);
    r->t_comm += now_s() - t0;
    if (rc)
        return rc;
    double l = 0.0;
    *diverged = true;
    for (int k = 0; k < rs->n; k++) {
        l += x[k * w];
        r->stop_agreed = r->stop_agreed || ((int)x[k * w + 1] & 1);
        *diverged = *diverged && ((int)x[k * w + 1] & 2);
        for (int i = 0; i < nm; i++)
            r->meas[k].v[i] = x[k * w + 2 + i];
    }
    *loss = l / rs->n;
    if (!isfinite(*loss))
        return not_finite(r, up, *loss, epoch, err);
    t0 = now_s();
    if (overlap)
        rc = dlx_dist_overlap_end(rs, err);
    else if (rs->n > 1)
        rc = dlx_dist_reduce(rs, a, b, err);
    if (rc)
        return rc;
    r->t_comm += now_s() - t0;
    rs->grads_zero = false; /* (the next forward_backward clears its block) */
    dlx_optim_step(up->optim, lr);
    t0 = now_s();
    rc = dlx_dist_sync_buffers(d, rs->params, err);
    r->t_comm += now_s() - t0;
    return rc;
}

/* One run of update u: each replica's forward and backward from its loss
 * in one parallel region with the reduce and the update (elementwise on
 * each worker's slice: the same bits for any number of workers). Clipping
 * needs the whole summed gradient first, so it takes the unfused path after
 * the region. No update is applied for a loss that is not finite. */
static int run_update(run *r, int u, int64_t epoch, double lr, double *loss, dlx_err *err)
{
    dlx_trainer *t = r->t;
    const dlx_update *up = &t->updates[u];
    dlx_optim_consts oc;
    dlx_optim_prepare(up->optim, lr, &oc);
    const bool fused = !dlx_optim_clips(up->optim);
    r->u = u;
    int rc = 0;
    char why[256];
    bool div = false;
    if (t->replicas->dist) {
        rc = run_update_dist(r, u, epoch, lr, loss, why, sizeof why, &div, err);
    } else {
        *loss = dlx_replicas_step(t->replicas, up->loss, up->optim, fused ? &oc : NULL, run_replica, r);
        r->draw++;
        if (!isfinite(*loss))
            return not_finite(r, up, *loss, epoch, err);
        dlx_replicas_end_step(t->replicas, up->optim, lr, fused);
    }
    if (rc)
        return rc;
    if (!t->replicas->dist)
        div = t->fam.diverged && t->fam.diverged(t->fam.user, u, why, sizeof why);
    if (div)
        return diverged(r, why, epoch, err);
    for (int i = 0; i < t->fam.n_measures; i++) {
        double s = 0.0;
        for (int k = 0; k < t->replicas->n; k++)
            s += r->meas[k].v[i];
        r->acc[acc_measure(r, i)] += s;
    }
    return 0;
}

/* Every update of one step, in order, each repeat times; adds the step's
 * losses (the mean over repeats) and measures to the running sums. */
static int take_step(run *r, int64_t epoch, double *lr, dlx_err *err)
{
    dlx_model *m = r->m;
    dlx_trainer *t = r->t;
    double loss[DLX_UPDATES_MAX];
    dlx_replicas *rs = t->replicas;
    r->pos = m->step % r->spe;
    r->draw = m->step * r->draws_per_step;
    /* values are reused only between the updates of one step */
    for (int k = 0; k < rs->n; k++)
        dlx_graph_reuse_forget(rs->r[k].g);
    for (int u = 0; u < t->n_updates; u++) {
        const dlx_update *up = &t->updates[u];
        lr[u] = dlx_optim_lr(up->cfg, m->step, r->spe, r->total);
        loss[u] = 0.0;
        for (r->rep = 0; r->rep < up->repeat; r->rep++) {
            double l;
            int rc = run_update(r, u, epoch, lr[u], &l, err);
            if (rc)
                return rc;
            for (int k = 0; k < rs->n; k++)
                dlx_graph_params_changed(rs->r[k].g, dlx_optim_members(up->optim));
            loss[u] += l;
        }
        loss[u] /= up->repeat;
    }
    m->step++;
    for (int u = 0; u < t->n_updates; u++) {
        r->acc[acc_epoch_loss(u)] += loss[u];
        r->acc[acc_log_loss(u)] += loss[u];
    }
    r->acc[acc_epoch_steps(r)] += 1.0;
    r->acc[acc_log_steps(r)] += 1.0;
    return 0;
}

/* train_<loss> averaged since the last row, and the learning rate. */
static int log_losses(run *r, const double *lr, dlx_err *err)
{
    int rc = 0;
    char name[64];
    dlx_metrics_set_epoch(r->mx, (double)r->m->step / (double)r->spe);
    for (int u = 0; u < r->t->n_updates && !rc; u++) {
        snprintf(name, sizeof name, "train_%s", r->t->updates[u].loss_name);
        rc = dlx_metrics_append(r->mx, name, r->m->step, r->acc[acc_log_loss(u)] / r->acc[acc_log_steps(r)], err);
        const char *on = r->t->updates[u].optim_name;
        bool first = true; /* an optimizer's lr once, at its first update */
        for (int v = 0; v < u; v++)
            first = first && r->t->updates[v].optim != r->t->updates[u].optim;
        if (on)
            snprintf(name, sizeof name, "lr_%s", on);
        if (!rc && first) rc = dlx_metrics_append(r->mx, on ? name : "lr", r->m->step, lr[u], err);
        r->acc[acc_log_loss(u)] = 0.0;
    }
    r->acc[acc_log_steps(r)] = 0.0;
    return rc;
}

/* Whether a result is logged as its own metric at the end of an epoch: the
 * losses already are, every log_every steps; epoch and step are row keys. */
static bool epoch_metric(const run *r, const char *name)
{
    if (!strcmp(name, "epoch") || !strcmp(name, "step"))
        return false;
    for (int u = 0; u < r->t->n_updates; u++)
        if (!strncmp(name, "train_", 6) && !strcmp(name + 6, r->t->updates[u].loss_name))
            return false;
    return true;
}

/* train.early_stopping after an evaluation: the metric against the best so
 * far; a new best goes to best.h5, and patience epochs past it the run
 * stops (r->stopped_early). */
static int early_stop(run *r, dlx_err *err)
{
    dlx_model *m = r->m;
    const dlx_early_stop *es = &r->t->cfg.early;
    double v;
    if (!dlx_results_get(&m->results, es->metric, &v)) {
        char names[512] = "";
        for (int i = 0; i < m->results.n; i++)
            if (strcmp(m->results.name[i], "epoch") && strcmp(m->results.name[i], "step"))
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "",
                         m->results.name[i]);
        return dlx_err_setf(err, DLX_EINVAL, es->loc,
                            "train.early_stopping.metric: the evaluation gives no '%s' (it gives: %s)", es->metric,
                            names);
    }
    bool improved;
    double *state = r->acc + acc_early(r);
    r->stopped_early = dlx_early_stop_update(es, state, v, m->epoch, m->step, &improved);
    if (m->step >= r->total) { /* the last epoch ends the run anyway: --extend-epochs may go on */
        r->stopped_early = false;
        state[DLX_ES_STOPPED] = 0.0;
    }
    return improved ? dlx_run_save_checkpoint_as(m, "best.h5", err) : 0;
}

/* The epoch just ended: m->results (its losses and measures, then the
 * family's test metrics when eval), their metrics, and a checkpoint when
 * save. The epoch's sums restart from zero, also in that checkpoint. */
static int end_of_epoch(run *r, bool eval, bool save, dlx_err *err)
{
    dlx_model *m = r->m;
    const dlx_trainer *t = r->t;
    double *acc = r->acc, steps = acc[acc_epoch_steps(r)];
    dlx_results *res = &m->results;
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "epoch", (double)m->epoch);
    dlx_results_set(res, "step", (double)m->step);
    char name[64];
    for (int u = 0; u < t->n_updates; u++) {
        snprintf(name, sizeof name, "train_%s", t->updates[u].loss_name);
        dlx_results_set(res, name, acc[acc_epoch_loss(u)] / steps);
        acc[acc_epoch_loss(u)] = 0.0;
    }
    for (int i = 0; i < t->fam.n_measures; i++) {
        const dlx_measure *me = &t->fam.measures[i];
        dlx_results_set(res, me->name, acc[acc_measure(r, i)] / (steps * me->per_step));
        acc[acc_measure(r, i)] = 0.0;
    }
    acc[acc_epoch_steps(r)] = 0.0;
    int rc = 0;
    if (eval && t->fam.evaluate)
        rc = t->fam.evaluate(t->fam.user, res, err);
    if (!rc && eval && t->cfg.early.metric)
        rc = early_stop(r, err);
    save = save || r->stopped_early;
    dlx_metrics_set_epoch(r->mx, (double)m->step / (double)r->spe);
    for (int i = 0; i < res->n && !rc; i++)
        if (epoch_metric(r, res->name[i]))
            rc = dlx_metrics_append(r->mx, res->name[i], m->step, res->value[i], err);
    if (!rc) rc = dlx_metrics_flush(r->mx, err);
    if (!rc && save) rc = dlx_run_save_checkpoint(m, err);
    return rc;
}

/* metrics.h5 is rewritten (atomically) at every epoch's end and at least
 * every DLX_METRICS_FLUSH_S seconds in between, so that a reader sees the
 * rows of a long epoch while it runs; rows are the same whenever flushed. */
#define DLX_METRICS_FLUSH_S 10.0
static int flush_now_and_then(run *r, dlx_err *err)
{
    double t = now_s();
    if (t - r->t_flush < DLX_METRICS_FLUSH_S)
        return 0;
    int rc = dlx_metrics_flush(r->mx, err);
    r->t_flush = now_s();
    r->t_other += r->t_flush - t;
    return rc;
}

static void report_progress(run *r, int64_t epoch)
{
    dlx_model *m = r->m;
    double t = now_s();
    if (!m->hooks.progress || !(t - r->t_log > 0.25 || m->step % r->spe == 0))
        return;
    double sps = (double)(m->step - r->step0) / (t - r->t0);
    dlx_progress p = {.phase = "train", .epoch = epoch + 1, .epochs = r->t->cfg.epochs, .step = m->step,
                      .steps = r->total, .loss = r->acc[acc_epoch_loss(0)] / r->acc[acc_epoch_steps(r)],
                      .steps_per_s = sps, .images_per_s = sps * (double)r->t->cfg.batch,
                      .eta_s = sps > 0 ? (double)(r->total - m->step) / sps : 0.0};
    m->hooks.progress(m->hooks.user, &p);
    r->t_log = t;
}

static int save(run *r, dlx_err *err)
{
    int rc = dlx_metrics_flush(r->mx, err);
    if (!rc) rc = dlx_run_save_checkpoint(r->m, err);
    return rc;
}

/* After step m->step of `epoch`: the epoch's end or a checkpoint_every
 * checkpoint, then --stop-at (*stop: leave the loop) and the stop flag
 * (DLX_EINTR once the checkpoint is written). */
static int after_step(run *r, int64_t epoch, bool *stop, dlx_err *err)
{
    dlx_model *m = r->m;
    const dlx_train_cfg *cfg = &r->t->cfg;
    int rc = 0;
    double t_other = now_s();
    if (m->step % r->spe == 0) {
        m->epoch = epoch + 1;
        bool eval = m->step == r->total || (cfg->eval_every && m->epoch % cfg->eval_every == 0);
        rc = end_of_epoch(r, eval, m->step == r->total || !cfg->save_at_end, err);
        r->t_other += now_s() - t_other;
        if (!rc && m->hooks.progress) {
            dlx_progress p = {.phase = "eval", .epoch = epoch + 1, .epochs = cfg->epochs, .step = m->step,
                              .steps = r->total, .results = &m->results};
            m->hooks.progress(m->hooks.user, &p);
        }
    } else if (cfg->checkpoint_every && m->step % cfg->checkpoint_every == 0) {
        rc = save(r, err);
        r->t_other += now_s() - t_other;
    }
    if (rc)
        return rc;
    if (r->stopped_early) {
        const double *es = r->acc + acc_early(r);
        dlx_run_info(m, "early stopping after epoch %lld: %s has not improved on %.6g (epoch %lld) for %lld epochs; "
                     "best.h5 holds epoch %lld", (long long)m->epoch, r->t->cfg.early.metric, es[DLX_ES_BEST],
                     (long long)es[DLX_ES_BEST_EPOCH], (long long)(m->epoch - (int64_t)es[DLX_ES_BEST_EPOCH]),
                     (long long)es[DLX_ES_BEST_EPOCH]);
        *stop = true;
        return 0;
    }
    if (m->stop_at && m->step >= m->stop_at && m->step < r->total) {
        rc = save(r, err);
        if (!rc)
            dlx_run_info(m, "stopped at step %lld of %lld as asked; continue with --resume", (long long)m->step,
                         (long long)r->total);
        *stop = true;
        return rc;
    }
    /* over MPI ranks every rank stops at the step where one saw the flag */
    bool flagged = r->t->replicas->dist ? r->stop_agreed : m->hooks.stop && *m->hooks.stop;
    if (flagged && m->hooks.stop) {
        *m->hooks.stop = 2; /* seen: the deadline stands down while the checkpoint is written */
        rc = save(r, err);
        if (!rc)
            rc = dlx_err_setf(err, DLX_EINTR, DLX_NOLOC,
                              "interrupted at step %lld of %lld; checkpoint saved in %s/checkpoint.h5; "
                              "continue with --resume",
                              (long long)m->step, (long long)r->total, m->run_dir);
    }
    return rc;
}

/* Per-op forward/backward milliseconds per step, slowest first (--profile). */
static void report_profile(const dlx_model *m, const dlx_graph *g, const double *prof, int64_t steps)
{
    double total = 0.0;
    for (int i = 0; i < g->n; i++)
        total += prof[2 * i] + prof[2 * i + 1];
    if (steps <= 0 || total <= 0.0)
        return;
    dlx_run_info(m, "profile of shard 0, per step (training; evaluation excluded):");
    dlx_run_info(m, "  %-14s %-12s %9s %9s %6s", "node", "op", "fwd ms", "bwd ms", "share");
    bool done[4096] = {false};
    for (int r = 0; r < g->n && r < 4096; r++) {
        int best = -1;
        for (int i = 0; i < g->n && i < 4096; i++)
            if (!done[i] && g->nodes[i]->kind == DLX_NODE_OP &&
                (best < 0 || prof[2 * i] + prof[2 * i + 1] > prof[2 * best] + prof[2 * best + 1]))
                best = i;
        if (best < 0)
            break;
        done[best] = true;
        const dlx_node *n = g->nodes[best];
        dlx_run_info(m, "  %-14s %-12s %9.3f %9.3f %5.1f%%", n->name, n->op->name, 1e3 * prof[2 * best] / (double)steps,
                     1e3 * prof[2 * best + 1] / (double)steps,
                     100.0 * (prof[2 * best] + prof[2 * best + 1]) / total);
    }
    dlx_run_info(m, "  total %.3f ms per step in ops", 1e3 * total / (double)steps);
}

/* After the last step: results of a run resumed at its end, the timings, the
 * family's end-of-training hook. */
static int finish(run *r, dlx_err *err)
{
    dlx_model *m = r->m;
    const dlx_train_family *f = &r->t->fam;
    int rc = 0;
    if (!m->results.n && f->evaluate) /* resumed at the end: evaluate once so results exist */
        rc = f->evaluate(f->user, &m->results, err);
    /* the step it stopped at (--stop-at), not the last epoch's end */
    dlx_results_set(&m->results, "step", (double)m->step);
    double seconds = now_s() - r->t0;
    dlx_results_set(&m->results, "train_seconds", seconds);
    const double *es = r->acc + acc_early(r);
    if (r->t->cfg.early.metric && es[DLX_ES_BEST_EPOCH] > 0) {
        char name[48];
        snprintf(name, sizeof name, "best_%.40s", r->t->cfg.early.metric);
        dlx_results_set(&m->results, name, es[DLX_ES_BEST]);
        dlx_results_set(&m->results, "best_epoch", es[DLX_ES_BEST_EPOCH]);
        dlx_results_set(&m->results, "best_step", es[DLX_ES_BEST_STEP]);
    }
    if (m->step > r->step0) { /* training steps only: evaluation and checkpoints excluded */
        dlx_results_set(&m->results, "step_seconds", seconds - r->t_other);
        dlx_results_set(&m->results, "images_per_second",
                        (double)((m->step - r->step0) * r->t->cfg.batch) / (seconds - r->t_other));
        if (m->hooks.dist) /* rank 0's time in the reduce, broadcasts and exchanges, waits included */
            dlx_results_set(&m->results, "comm_seconds", r->t_comm);
    }
    if (!rc && f->finish && dlx_dist_writes(m->hooks.dist)) /* pictures: one writer */
        rc = f->finish(f->user, err);
    return rc;
}

/* Name the running sums (trainer.h) in m->state; a resumed run takes each
 * value by name from the checkpoint's, or in order from a version-1
 * checkpoint's unnamed vector of the same length. */
static int init_state(run *r, dlx_err *err)
{
    dlx_model *m = r->m;
    const dlx_trainer *t = r->t;
    char names[DLX_CKPT_STATE_MAX][DLX_CKPT_NAME_MAX];
    int n = acc_log_steps(r) + 1;
    for (int u = 0; u < t->n_updates; u++) {
        snprintf(names[acc_epoch_loss(u)], DLX_CKPT_NAME_MAX, "%.36s.epoch_sum", t->updates[u].loss_name);
        snprintf(names[acc_log_loss(u)], DLX_CKPT_NAME_MAX, "%.36s.log_sum", t->updates[u].loss_name);
    }
    for (int i = 0; i < t->fam.n_measures; i++)
        snprintf(names[acc_measure(r, i)], DLX_CKPT_NAME_MAX, "%.36s.epoch_sum", t->fam.measures[i].name);
    snprintf(names[acc_epoch_steps(r)], DLX_CKPT_NAME_MAX, "epoch_steps");
    snprintf(names[acc_log_steps(r)], DLX_CKPT_NAME_MAX, "log_steps");
    if (t->cfg.early.metric) {
        for (int i = 0; i < DLX_ES_N; i++)
            snprintf(names[acc_early(r) + i], DLX_CKPT_NAME_MAX, "%s", dlx_early_stop_state_names[i]);
        n += DLX_ES_N;
    }
    double vals[DLX_CKPT_STATE_MAX] = {0};
    bool positional = m->resumed && m->n_state == n && !m->state_name[0][0];
    for (int i = 0; i < n && m->resumed; i++) {
        int j = positional ? i : -1;
        for (int k = 0; k < m->n_state && j < 0; k++)
            if (!strcmp(m->state_name[k], names[i]))
                j = k;
        if (j < 0 && m->n_state > 0) /* a checkpoint with state must have all of it */
            return dlx_err_setf(err, DLX_EFORMAT, DLX_NOLOC,
                                "%s/checkpoint.h5 has no /state/%s that the loop needs to resume", m->run_dir,
                                names[i]);
        vals[i] = j >= 0 ? m->state[j] : 0.0;
    }
    memset(m->state, 0, sizeof m->state);
    memset(m->state_name, 0, sizeof m->state_name);
    memcpy(m->state, vals, sizeof vals);
    memcpy(m->state_name, names, (size_t)n * sizeof names[0]);
    m->n_state = n;
    r->acc = m->state;
    r->draws_per_step = 0;
    for (int u = 0; u < t->n_updates; u++)
        r->draws_per_step += t->updates[u].repeat;
    return 0;
}

/* --extend-epochs: one line per optimizer on what the longer run does to
 * its learning rate at the step training continues from. */
static void report_extension(const run *r)
{
    static const char *const k_sched[] = {"constant", "step", "cosine", "inverse_time"};
    const dlx_model *m = r->m;
    const dlx_plan *plan = r->t->plan;
    int64_t from = m->extend_from_epochs, to = r->t->cfg.epochs;
    for (int i = 0; i < plan->n_optims; i++) {
        const dlx_optim_cfg *c = &plan->optims[i].cfg;
        char lr[80] = "lr";
        if (plan->n_optims > 1)
            snprintf(lr, sizeof lr, "lr_%s", plan->optims[i].name);
        double was = dlx_optim_lr(c, m->step, r->spe, from * r->spe), now = dlx_optim_lr(c, m->step, r->spe, r->total);
        if (c->sched == DLX_SCHED_COSINE)
            dlx_run_info(m, "train.epochs %lld -> %lld: the cosine schedule now spans %lld epochs; %s at the resume "
                         "step %lld changes from %.3g to %.3g", (long long)from, (long long)to, (long long)to, lr,
                         (long long)m->step, was, now);
        else
            dlx_run_info(m, "train.epochs %lld -> %lld: the %s schedule does not depend on train.epochs; %s at the "
                         "resume step %lld stays %.3g", (long long)from, (long long)to, k_sched[c->sched], lr,
                         (long long)m->step, now);
    }
}

static int check_trainer(dlx_trainer *t, int64_t spe, dlx_err *err)
{
    DLX_ASSERT(t->plan && t->fam.loss && t->replicas);
    set_updates(t);
    DLX_ASSERT(t->n_updates >= 1 && t->n_updates <= DLX_UPDATES_MAX && t->replicas && t->fam.feed);
    for (int u = 0; u < t->n_updates; u++)
        DLX_ASSERT(t->updates[u].optim && t->updates[u].repeat >= 1);
    DLX_ASSERT(t->fam.n_measures >= 0 && t->fam.n_measures <= DLX_MEASURES_MAX);
    if (spe == 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "train.batch (%lld) is larger than the training set (%lld samples)",
                            (long long)t->cfg.batch, (long long)t->fam.samples);
    return 0;
}

/* The loop from m->step. *done: it ended at the last step or at --stop-at
 * (not at the stop flag or an error). */
static int loop(run *r, bool *done, dlx_err *err)
{
    dlx_model *m = r->m;
    dlx_trainer *t = r->t;
    int64_t order_epoch = -1;
    double lr[DLX_UPDATES_MAX];
    *done = false;
    if (t->cfg.early.metric && r->acc[acc_early(r) + DLX_ES_STOPPED] != 0.0) {
        dlx_run_info(m, "already stopped early after epoch %lld (train.early_stopping); best.h5 holds epoch %lld",
                     (long long)m->epoch, (long long)r->acc[acc_early(r) + DLX_ES_BEST_EPOCH]);
        *done = true;
        return 0;
    }
    while (m->step < r->total) {
        int64_t epoch = m->step / r->spe;
        if (epoch != order_epoch) {
            if (t->fam.begin_epoch)
                t->fam.begin_epoch(t->fam.user, epoch);
            order_epoch = epoch;
        }
        int rc = take_step(r, epoch, lr, err);
        if (!rc && (m->step % t->cfg.log_every == 0 || m->step % r->spe == 0))
            rc = log_losses(r, lr, err);
        if (!rc)
            rc = flush_now_and_then(r, err);
        if (rc)
            return rc;
        report_progress(r, epoch);
        bool stop = false;
        rc = after_step(r, epoch, &stop, err);
        if (rc)
            return rc;
        if (stop)
            break;
    }
    *done = true;
    return 0;
}

/* --dry-run: a warm-up step, then the timed ones; no metrics, checkpoint,
 * evaluation or pictures. */
static int dry_run(run *r, dlx_err *err)
{
    dlx_model *m = r->m;
    double lr[DLX_UPDATES_MAX], t0 = 0.0;
    int64_t timed = 0;
    for (int64_t i = 0; i < DLX_DRY_RUN_WARMUP + DLX_DRY_RUN_STEPS && m->step < r->total; i++) {
        if (i == DLX_DRY_RUN_WARMUP)
            t0 = now_s();
        if (m->step % r->spe == 0 && r->t->fam.begin_epoch)
            r->t->fam.begin_epoch(r->t->fam.user, m->step / r->spe);
        int rc = take_step(r, m->step / r->spe, lr, err);
        if (rc)
            return rc;
        timed += i >= DLX_DRY_RUN_WARMUP;
    }
    if (timed)
        dlx_run_info(m, "time per training step: %.2f ms (mean of %lld steps after %d warm-up; batch %lld, %lld "
                     "steps an epoch, %lld in all)", 1e3 * (now_s() - t0) / (double)timed, (long long)timed,
                     DLX_DRY_RUN_WARMUP, (long long)r->t->cfg.batch, (long long)r->spe, (long long)r->total);
    else
        dlx_run_info(m, "time per training step: not measured (the run has only %lld step%s)", (long long)r->total,
                     r->total == 1 ? "" : "s");
    return 0;
}

int dlx_trainer_run(dlx_model *m, dlx_trainer *t, dlx_err *err)
{
    run r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.t = t;
    r.spe = t->fam.samples / t->cfg.batch;
    r.total = t->cfg.epochs * r.spe;
    char path[600];
    int rc = check_trainer(t, r.spe, err);
    if (!rc) rc = init_state(&r, err);
    /* several updates a step: what one computed and the next needs unchanged is reused */
    for (int k = 0; k < t->replicas->n && !rc; k++) {
        dlx_graph *g = t->replicas->r[k].g;
        g->no_prune = m->hooks.no_prune;
        if (t->n_updates > 1 && !g->no_prune && !g->reuse)
            rc = dlx_graph_reuse_enable(g, err);
    }
    if (!rc && m->hooks.dry_run)
        return dry_run(&r, err);
    if (!rc) rc = dlx_path_join(path, sizeof path, m->run_dir, "metrics.h5", err);
    if (!rc && dlx_dist_writes(m->hooks.dist)) /* else r.mx stays NULL: no file */
        rc = dlx_metrics_open(path, m->resumed, m->step, &r.mx, err);
    if (rc)
        return rc;
    if (m->extend_from_epochs && m->resumed)
        report_extension(&r);
    if (m->step >= r.total)
        dlx_run_info(m, "already trained: step %lld of %lld", (long long)m->step, (long long)r.total);
    dlx_graph *g0 = t->replicas->r[0].g;
    double *prof = NULL;
    if (m->profile && (prof = calloc(2 * (size_t)g0->n, sizeof *prof)))
        g0->prof = prof; /* replica 0 stands for all: they run the same graph */
    r.t0 = r.t_log = r.t_flush = now_s();
    r.step0 = m->step;
    bool done;
    rc = loop(&r, &done, err);
    if (!rc && done) {
        rc = finish(&r, err);
        if (prof)
            report_profile(m, g0, prof, m->step - r.step0);
    }
    if (prof) {
        g0->prof = NULL;
        free(prof);
    }
    dlx_err e2;
    int rc2 = dlx_metrics_flush(r.mx, &e2);
    if (!rc && rc2) {
        rc = rc2;
        *err = e2;
    }
    dlx_metrics_close(r.mx);
    return rc;
}
