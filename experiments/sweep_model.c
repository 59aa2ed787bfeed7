/* Family "sweep": a whole sweep spec (experiments/sweep.h) run as one model,
 * so that `dlx reproduce` can put a sweep's statistics beside a paper's
 * numbers (configs/repro/choromanska2015.yaml) and `dlx train` can run one:
 *
 *   model: {kind: sweep, sweep: SWEEP.yaml, jobs: 2, out: TABLE.h5,
 *           by: COLUMNS, x: COLUMN, y: COLUMN}
 *
 * Training runs (or resumes) the sweep with `jobs` workers into `out`
 * (default RUN_DIR/sweep.h5), then puts per-group statistics of column x,
 * grouped by the columns of `by` ("hidden" or "hidden,lr"; "" = all runs in
 * one group), into the results: <x>_mean_<group>, <x>_std_<group> and, with
 * y, pearson_<group> and its 95 % bootstrap interval pearson_lo_<group>,
 * pearson_hi_<group>, where <group> is each column and its value
 * ("hidden25", "hidden25_lr0.01"; without by: <x>_mean, <x>_std, pearson); and `runs` and
 * `seconds_per_run`. Optional keys for a distribution over every run:
 *   set: [KEY=VALUE, ...]       applied to the base spec of every run
 *                               (dlx_sweep_load_with), e.g. a path made by
 *                               an earlier row of a reproduce table
 *   stats: [COLUMN, ...]        <c>_min, _q25, _median, _q75, _max, _mean
 *                               over the runs with a finite value, <c>_scored
 *   above: {COLUMN: [t, ...]}   <c>_pct_above<t>: % of all runs with c > t
 *   collapsed: {column: C, below: v}   collapsed_runs and collapsed_pct: runs
 *                               with diverged = 1, or C below v or NaN
 * The figure (`dlx reproduce`'s, dlx_sweep_repro_figure) overlays the
 * histograms of column x of every sweep row of the table.
 *
 * It is a family defined in experiments/ rather than in models/ because it
 * runs the sweep engine, which creates a model per run through the registry
 * (experiments/model.h): families in models/ never create models. The
 * sweep's runs train through the shared loop (train/trainer.h) as their own
 * families do; this model has no graph and no checkpoint of its own, the
 * table is its state.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rundir.h"
#include "../models/family.h"
#include "sweep.h"
#include "sweep_eta.h"
#include "sweep_figure.h"

#define MAX_SETS 16
#define MAX_STATS 8
#define MAX_ABOVE 8

typedef struct sweep_model {
    char sweep_path[512];
    const char *sweep_out, *by, *x, *y;
    int64_t jobs;
    const char *sets[MAX_SETS];
    int n_sets;
    const char *stats[MAX_STATS];
    int n_stats;
    const char *above_col[MAX_STATS];
    double above[MAX_STATS][MAX_ABOVE];
    int n_above_cols, n_above[MAX_STATS];
    const char *collapsed_col; /* NULL: no collapse count */
    double collapsed_below;
} sweep_model;

static const dlx_key_doc k_keys[] = {
    {"kind", "string", "required", "sweep", "the family"},
    {"sweep", "string", "required", "a sweep spec (relative to this file; dlx spec sweep)", "the sweep to run"},
    {"jobs", "integer", "1", "1 to 256", "worker processes"},
    {"out", "string", "RUN_DIR/sweep.h5", "a path", "the sweep's table"},
    {"by", "string", "\"\" (all runs in one group)", "columns joined by commas (hidden,lr)",
     "group the statistics of x by these columns"},
    {"x", "string", "required", "a column of the table", "the column whose per-group mean and std are results"},
    {"y", "string", "\"\" (none)", "a column of the table",
     "with it, pearson_<group>: the correlation of x and y, and pearson_lo_<group>, pearson_hi_<group>: its 95 % "
     "bootstrap interval"},
    {"set", "list of strings", "-", "up to 16 KEY=VALUE", "settings applied to the base spec of every run"},
    {"stats", "list of strings", "-", "up to 8 columns", "<c>_min, _q25, _median, _q75, _max, _mean, _scored over the runs"},
    {"above", "map of column: [t, ...]", "-", "up to 8 columns of 1 to 8 thresholds", "<c>_pct_above<t>: % of runs with c > t"},
    {"collapsed", "map", "-", "dlx spec model.sweep.collapsed", "count the runs that collapsed"},
    {NULL},
};
static const dlx_key_doc k_collapsed_keys[] = {
    {"column", "string", "required", "a column of the table", "the column to test"},
    {"below", "number", "required", "", "a run with column below this (or NaN, or diverged) collapsed"},
    {NULL},
};

static const dlx_spec_section k_sections[] = {
    {"model.sweep", "model: with kind: sweep: a whole sweep spec run as one model (dlx train, dlx reproduce rows)",
     k_keys, NULL},
    {"model.sweep.collapsed", "model.collapsed of a sweep model: collapsed_runs and collapsed_pct", k_collapsed_keys,
     NULL},
    {NULL},
};

static int need_column(const dlx_sweep *sw, const dlx_spec_node *at, const char *col, dlx_err *err)
{
    for (int c = 0; c < sw->n_cols; c++)
        if (strcmp(sw->cols[c], col) == 0)
            return 0;
    return dlx_err_setf(err, DLX_EINVAL, at->loc, "%s: '%s' is not a column of the sweep %s", at->path, col,
                        sw->path);
}

static int read_str_list(dlx_spec_node *model, const char *key, const char **out, int max, int *n, dlx_err *err)
{
    dlx_spec_node *l = dlx_spec_get(model, key);
    *n = 0;
    if (!l)
        return 0;
    int rc = dlx_spec_expect_seq(l, key, err);
    if (!rc && l->n > max)
        rc = dlx_err_setf(err, DLX_EINVAL, l->loc, "%s: at most %d entries", l->path, max);
    for (int i = 0; !rc && i < l->n; i++)
        rc = dlx_spec_node_str(l->items[i], &out[(*n)++], err);
    return rc;
}

/* stats:, above: and collapsed: (columns checked against the sweep). */
static int read_distribution(sweep_model *t, dlx_spec_node *model, const dlx_sweep *sw, dlx_err *err)
{
    int rc = read_str_list(model, "stats", t->stats, MAX_STATS, &t->n_stats, err);
    for (int i = 0; !rc && i < t->n_stats; i++)
        rc = need_column(sw, dlx_spec_get(model, "stats")->items[i], t->stats[i], err);
    dlx_spec_node *ab = dlx_spec_get(model, "above");
    if (!rc && ab) rc = dlx_spec_expect_map(ab, "model.above", err);
    if (!rc && ab && ab->n > MAX_STATS)
        rc = dlx_err_setf(err, DLX_EINVAL, ab->loc, "%s: at most %d columns", ab->path, MAX_STATS);
    for (int i = 0; !rc && ab && i < ab->n; i++) {
        dlx_spec_node *l = ab->items[i];
        t->above_col[i] = ab->keys[i];
        rc = need_column(sw, l, ab->keys[i], err);
        if (!rc) rc = dlx_spec_expect_seq(l, "a threshold list", err);
        if (!rc && (l->n < 1 || l->n > MAX_ABOVE))
            rc = dlx_err_setf(err, DLX_EINVAL, l->loc, "%s: give 1 to %d thresholds", l->path, MAX_ABOVE);
        for (int j = 0; !rc && j < l->n; j++) {
            char *end;
            const char *v = l->items[j]->scalar ? l->items[j]->scalar : "";
            t->above[i][j] = strtod(v, &end);
            if (end == v || *end)
                rc = dlx_err_setf(err, DLX_EINVAL, l->items[j]->loc, "%s: expected a number, got '%s'",
                                  l->items[j]->path, v);
        }
        t->n_above[i] = rc ? 0 : l->n;
        t->n_above_cols = i + 1;
    }
    dlx_spec_node *co = dlx_spec_get(model, "collapsed");
    if (!rc && co) rc = dlx_spec_expect_map(co, "model.collapsed", err);
    if (!rc && co) rc = dlx_spec_check_doc(co, "model.collapsed", k_collapsed_keys, err);
    if (!rc && co) rc = dlx_spec_str(co, "column", true, NULL, &t->collapsed_col, err);
    if (!rc && co) rc = dlx_spec_float(co, "below", true, 0.0, -1e300, 1e300, &t->collapsed_below, err);
    if (!rc && co) rc = need_column(sw, dlx_spec_get(co, "column"), t->collapsed_col, err);
    return rc;
}

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
    int rc = dlx_spec_check_doc(model, "model", k_keys, err);
    if (!rc) rc = dlx_spec_file_path(model, "sweep", t->sweep_path, sizeof t->sweep_path, err);
    if (!rc) rc = dlx_spec_int(model, "jobs", false, 1, 1, 256, &t->jobs, err);
    if (!rc) rc = dlx_spec_str(model, "out", false, NULL, &t->sweep_out, err);
    if (!rc) rc = dlx_spec_str(model, "by", false, "", &t->by, err);
    if (!rc) rc = dlx_spec_str(model, "x", true, NULL, &t->x, err);
    if (!rc) rc = dlx_spec_str(model, "y", false, "", &t->y, err);
    if (!rc) rc = read_str_list(model, "set", t->sets, MAX_SETS, &t->n_sets, err);
    dlx_sweep *sw = NULL;
    if (!rc) rc = dlx_sweep_load_with(t->sweep_path, NULL, t->sets, t->n_sets, &sw, err); /* check it now, run it in train */
    if (!rc) rc = read_distribution(t, model, sw, err);
    dlx_sweep_destroy(sw);
    return rc;
}

static void on_sweep_run(void *user, const dlx_sweep_event *e)
{
    const dlx_model *m = user;
    char eta[96];
    dlx_sweep_eta_text(e->eta_s, e->untimed, eta, sizeof eta);
    dlx_run_info(m, "sweep run %lld done (%lld/%lld), %.1f runs/min, %s", (long long)e->run,
                 (long long)(e->done + e->skipped), (long long)(e->todo + e->skipped),
                 e->elapsed_s > 0 ? 60.0 * (double)e->done / e->elapsed_s : 0.0, eta);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of n sorted values (linear between neighbours). */
static double quantile(const double *v, int64_t n, double q)
{
    double p = q * (double)(n - 1);
    int64_t i = (int64_t)p;
    return i + 1 < n ? v[i] + (p - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* stats:, above: and collapsed: over every run of the table. */
static void put_distribution(dlx_results *r, const sweep_model *t, const dlx_sweep_table *tb)
{
    size_t w = (size_t)tb->n_cols;
    double *v = malloc((size_t)(tb->n + 1) * sizeof *v);
    if (!v)
        return;
    char name[96];
    for (int i = 0; i < t->n_stats; i++) {
        int c = dlx_sweep_table_col(tb, t->stats[i]);
        int64_t n = 0;
        double sum = 0.0;
        for (int64_t k = 0; c >= 0 && k < tb->n; k++)
            if (isfinite(tb->val[(size_t)k * w + (size_t)c]))
                sum += v[n++] = tb->val[(size_t)k * w + (size_t)c];
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        static const char *const names[] = {"min", "q25", "median", "q75", "max"};
        for (int q = 0; q < 5; q++) {
            snprintf(name, sizeof name, "%s_%s", t->stats[i], names[q]);
            dlx_results_set(r, name, n ? quantile(v, n, 0.25 * q) : NAN);
        }
        snprintf(name, sizeof name, "%s_mean", t->stats[i]);
        dlx_results_set(r, name, n ? sum / (double)n : NAN);
        snprintf(name, sizeof name, "%s_scored", t->stats[i]);
        dlx_results_set(r, name, (double)n);
    }
    for (int i = 0; i < t->n_above_cols; i++) {
        int c = dlx_sweep_table_col(tb, t->above_col[i]);
        for (int j = 0; j < t->n_above[i]; j++) {
            int64_t n = 0;
            for (int64_t k = 0; c >= 0 && k < tb->n; k++)
                n += tb->val[(size_t)k * w + (size_t)c] > t->above[i][j]; /* NaN is not above */
            snprintf(name, sizeof name, "%s_pct_above%g", t->above_col[i], t->above[i][j]);
            dlx_results_set(r, name, tb->n ? 100.0 * (double)n / (double)tb->n : NAN);
        }
    }
    if (t->collapsed_col) {
        int c = dlx_sweep_table_col(tb, t->collapsed_col), d = dlx_sweep_table_col(tb, "diverged");
        int64_t n = 0;
        for (int64_t k = 0; c >= 0 && k < tb->n; k++) {
            const double *row = tb->val + (size_t)k * w;
            n += (d >= 0 && row[d] == 1.0) || !(row[c] >= t->collapsed_below);
        }
        dlx_results_set(r, "collapsed_runs", (double)n);
        dlx_results_set(r, "collapsed_pct", tb->n ? 100.0 * (double)n / (double)tb->n : NAN);
    }
    free(v);
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
    int cb[DLX_SWEEP_BY_MAX], nb = 0;
    if (!rc) rc = dlx_sweep_by_cols(tb, t->by, cb, &nb, err);
    for (int k = 0; !rc && k < ng; k++) {
        /* the group's name: each by column and its value ("hidden25_lr0.01"),
         * a text axis's value by its label */
        char group[128] = "", name[192], key[48];
        for (int j = 0; j < nb; j++) {
            dlx_sweep_table_value_text(tb, cb[j], g[k].keys[j], key, sizeof key);
            size_t len = strlen(group);
            snprintf(group + len, sizeof group - len, "%s%s%s", j ? "_" : "", tb->cols[cb[j]], key);
        }
        const char *sep = group[0] ? "_" : "";
        snprintf(name, sizeof name, "%s_mean%s%s", t->x, sep, group);
        dlx_results_set(r, name, g[k].mean);
        snprintf(name, sizeof name, "%s_std%s%s", t->x, sep, group);
        dlx_results_set(r, name, g[k].std);
        if (t->y[0]) {
            snprintf(name, sizeof name, "pearson%s%s", sep, group);
            dlx_results_set(r, name, g[k].pearson);
            snprintf(name, sizeof name, "pearson_lo%s%s", sep, group);
            dlx_results_set(r, name, g[k].pearson_lo);
            snprintf(name, sizeof name, "pearson_hi%s%s", sep, group);
            dlx_results_set(r, name, g[k].pearson_hi);
        }
    }
    if (rc)
        return rc;
    put_distribution(r, t, tb);
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
    rc = dlx_sweep_load_with(t->sweep_path, out, t->sets, t->n_sets, &sw, err);
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
    .figure = dlx_sweep_repro_figure,
    .spec_sections = k_sections,
};
