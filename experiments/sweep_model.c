/* Family "sweep": a whole sweep spec (experiments/sweep.h) run as one model,
 * so that `dlx reproduce` can put a sweep's statistics beside a paper's
 * numbers (configs/repro/choromanska2015.yaml) and `dlx train` can run one:
 *
 *   model: {kind: sweep, sweep: SWEEP.yaml, jobs: 2, out: TABLE.h5,
 *           by: COLUMN, x: COLUMN, y: COLUMN}
 *
 * Training runs (or resumes) the sweep with `jobs` workers into `out`
 * (default RUN_DIR/sweep.h5), then puts per-group statistics of column x,
 * grouped by column `by`, into the results: <x>_mean_<by><key>,
 * <x>_std_<by><key> and, with y, pearson_<by><key>; and `runs` and
 * `seconds_per_run`.
 *
 * It is a family defined in experiments/ rather than in models/ because it
 * runs the sweep engine, which creates a model per run through the registry
 * (experiments/model.h): families in models/ never create models. The
 * sweep's runs train through the shared loop (train/trainer.h) as their own
 * families do; this model has no graph and no checkpoint of its own, the
 * table is its state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rundir.h"
#include "../models/family.h"
#include "sweep.h"

typedef struct sweep_model {
    const char *sweep_path, *sweep_out, *by, *x, *y;
    int64_t jobs;
} sweep_model;

static const char *const k_keys[] = {"kind", "sweep", "jobs", "out", "by", "x", "y", NULL};

static void sm_destroy(dlx_model *m)
{
    free(m->impl);
    m->impl = NULL;
}

static int sm_create(dlx_model *m, dlx_err *err)
{
    sweep_model *t = calloc(1, sizeof(*t));
    if (!t)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = t;
    dlx_spec_node *model = dlx_spec_get(dlx_spec_root(m->spec), "model");
    int rc = dlx_spec_check_keys(model, "model", k_keys, err);
    if (!rc) rc = dlx_spec_str(model, "sweep", true, NULL, &t->sweep_path, err);
    if (!rc) rc = dlx_spec_int(model, "jobs", false, 1, 1, 256, &t->jobs, err);
    if (!rc) rc = dlx_spec_str(model, "out", false, NULL, &t->sweep_out, err);
    if (!rc) rc = dlx_spec_str(model, "by", false, "", &t->by, err);
    if (!rc) rc = dlx_spec_str(model, "x", true, NULL, &t->x, err);
    if (!rc) rc = dlx_spec_str(model, "y", false, "", &t->y, err);
    dlx_sweep *sw = NULL;
    if (!rc) rc = dlx_sweep_load(t->sweep_path, NULL, &sw, err); /* check it now, run it in train */
    dlx_sweep_destroy(sw);
    return rc;
}

static void on_sweep_run(void *user, const dlx_sweep_event *e)
{
    const dlx_model *m = user;
    dlx_run_info(m, "sweep run %lld done (%lld/%lld), %.1f runs/min", (long long)e->run,
                 (long long)(e->done + e->skipped), (long long)(e->todo + e->skipped),
                 e->elapsed_s > 0 ? 60.0 * (double)e->done / e->elapsed_s : 0.0);
}

/* The results from the finished table: per-group statistics of column x,
 * the number of runs and the mean wall time of a run. */
static int put_results(dlx_model *m, const sweep_model *t, const dlx_sweep_table *tb, dlx_err *err)
{
    dlx_sweep_group g[16];
    int ng = 0;
    int rc = dlx_sweep_summary(tb, t->by, t->x, t->y[0] ? t->y : NULL, g, 16, &ng, err);
    dlx_results *r = &m->results;
    memset(r, 0, sizeof *r);
    int cb = t->by[0] ? dlx_sweep_table_col(tb, t->by) : -1;
    for (int k = 0; !rc && k < ng; k++) {
        char name[64], key[48]; /* a text axis's group is named by its label */
        dlx_sweep_table_value_text(tb, cb, g[k].key, key, sizeof key);
        snprintf(name, sizeof name, "%s_mean_%s%s", t->x, t->by, key);
        dlx_results_set(r, name, g[k].mean);
        snprintf(name, sizeof name, "%s_std_%s%s", t->x, t->by, key);
        dlx_results_set(r, name, g[k].std);
        if (t->y[0]) {
            snprintf(name, sizeof name, "pearson_%s%s", t->by, key);
            dlx_results_set(r, name, g[k].pearson);
        }
    }
    if (rc)
        return rc;
    dlx_results_set(r, "runs", (double)tb->n);
    int sc = dlx_sweep_table_col(tb, "seconds");
    double tot = 0;
    for (int64_t i = 0; sc >= 0 && i < tb->n; i++)
        tot += tb->val[(size_t)i * (size_t)tb->n_cols + (size_t)sc];
    if (sc >= 0 && tb->n)
        dlx_results_set(r, "seconds_per_run", tot / (double)tb->n);
    return 0;
}

/* Run (or resume) the whole sweep, then put its statistics into the results. */
static int sm_train(dlx_model *m, dlx_err *err)
{
    const sweep_model *t = m->impl;
    char out[600];
    int rc = 0;
    if (t->sweep_out)
        rc = dlx_rundir_check(t->sweep_out, "model.out", DLX_RUNDIR_MAX - 64, err); /* + .scratch/w<k> */
    if (rc)
        return rc;
    if (t->sweep_out)
        snprintf(out, sizeof out, "%s", t->sweep_out);
    else
        snprintf(out, sizeof out, "%s/sweep.h5", m->run_dir[0] ? m->run_dir : ".");
    /* the table has one writer, whether dlx landscape or this run fills it (TABLE.lock, as there) */
    int lock_fd;
    dlx_sweep *sw;
    rc = dlx_sweep_load(t->sweep_path, out, &sw, err);
    if (rc)
        return rc;
    if ((rc = dlx_lock_beside(out, &lock_fd, err))) {
        dlx_sweep_destroy(sw);
        return rc;
    }
    char scratch[700];
    snprintf(scratch, sizeof scratch, "%.600s.scratch", out);
    dlx_sweep_opts o = {.jobs = (int)t->jobs, .shard_i = 0, .shard_n = 1, .scratch = scratch,
                        .on_run = on_sweep_run, .user = m};
    int64_t done;
    rc = dlx_sweep_execute(sw, out, &o, &done, err);
    dlx_sweep_table tb;
    memset(&tb, 0, sizeof tb);
    if (!rc) rc = dlx_sweep_table_read(out, &tb, err);
    if (!rc) rc = put_results(m, t, &tb, err);
    if (!rc)
        dlx_run_info(m, "sweep table: %s (%lld runs)", out, (long long)tb.n);
    dlx_sweep_table_free(&tb);
    dlx_sweep_destroy(sw);
    dlx_lock_release(&lock_fd);
    return rc;
}

static int sm_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    if (data)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "model kind 'sweep' has no datasets; drop --data");
    *res = m->results;
    return 0;
}

static int sm_gradcheck(dlx_model *m, const struct dlx_gradcheck_opts *o, struct dlx_gradcheck_report *rep,
                        dlx_err *err)
{
    (void)m;
    (void)o;
    (void)rep;
    return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                        "model kind 'sweep' runs a whole sweep and has no graph to check; "
                        "check its base spec instead");
}

const dlx_family dlx_family_sweep = {
    .name = "sweep",
    .help = "a whole loss-surface sweep run as one model: per-group statistics of a column, for dlx reproduce",
    .create = sm_create,
    .destroy = sm_destroy,
    .train = sm_train,
    .evaluate = sm_evaluate,
    .gradcheck = sm_gradcheck,
};
