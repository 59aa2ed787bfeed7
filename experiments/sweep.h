/* Loss-surface sweeps (Choromanska et al. 2015), run by `dlx landscape` and
 * by the sweep family (experiments/sweep_model.c, `model: {kind: sweep}`):
 * many trainings of one base spec from random initial points, with some spec
 * keys swept over axes.
 *
 * A sweep spec is a YAML file with a top-level `sweep:` map:
 *   sweep:
 *     base: mnist10_mlp.yaml          # a model spec, relative to this file
 *     axes:                           # the runs are the Cartesian product
 *       - {name: hidden, key: model.layers.1.units, values: [25, 100, 500]}
 *       - {name: seed, key: seed, range: [1, 100]}
 *       - {name: lr, key: [train.optimizers.d.lr, train.optimizers.g.lr], values: [0.01, 0.001]}
 *     measures: [train_loss, test_loss, test_error, steps, seconds, hessian]
 *                                     # the base family's sweep_measures (models/family.h)
 *                                     # + steps, seconds, diverged for any family
 *     out: sweep.h5                    # relative to the working directory
 *     hessian: {samples: 1000, eps: 1e-5, exact_max: 3000, lanczos_steps: 40}
 *     figures: [...]                   # see dlx_sweep_figure
 * Run i is a pure function of (base spec, axis values): axis values are put
 * into a fresh copy of the base with dlx_spec_set, the model is created through
 * the family registry and trained single-threaded, so run order, --jobs and
 * sharding never change a row (except the wall-time column `seconds`).
 *
 * The table (HDF5, one row per finished run, rows sorted by run index):
 *   /table/run          int64 [n]   run index in 0..runs-1
 *   /table/<column>     float64 [n] one per axis, then one per measure column;
 *                       an axis column has attribute axis = 1, and a text axis
 *                       (a value that is not a number: [adam, sgd]) holds the
 *                       index of its value and attribute labels, the values
 *                       in order, one per line
 *   /spec               string      the sweep spec text, then "---", "# base" and the
 *                                   base spec text (ASCII, NUL-terminated)
 *   attributes on /: format "dlx-sweep", runs (total), columns (comma list)
 * It is rewritten atomically (tmp + fsync + rename) after every finished run,
 * so a killed sweep loses at most the runs in flight and resumes from it.
 *
 * The engine sits in experiments/, above the families: it creates each run's
 * model through the registry (experiments/model.h) and calls the landscape
 * family's Hessian measure (models/landscape.h). Family "landscape"
 * (models/landscape.c) holds the toy problems: the 1-1-1 linear net
 * Y = w1*w2*X with quadratic loss, and the spherical 3-spin glass minimised
 * by projected gradient descent. Family "sweep" (experiments/sweep_model.c)
 * runs a whole sweep through this engine as one model, for `dlx reproduce`.
 * Sweep figures (the runner's pictures) are in experiments/sweep_figure.h.
 *
 * A run stopped by a non-finite loss or the family's divergence test fails
 * the sweep, unless `diverged` is a measure: then the run is a row with
 * diverged = 1 and the other measures from the family's evaluate of the model
 * as it stood (NaN where that fails too).
 *
 * Errors as everywhere: negative DLX_E* with a located dlx_err; a bad sweep
 * spec (empty axis, unknown measure, missing base) is DLX_EINVAL.
 */
#ifndef DLX_SWEEP_H
#define DLX_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/spec.h"
#include "../core/spec_doc.h"

#define DLX_SWEEP_MAX_AXES 8
#define DLX_SWEEP_MAX_COLS 32
#define DLX_SWEEP_MAX_FIGS 8
#define DLX_SWEEP_AXIS_KEYS 4

typedef struct dlx_sweep_axis {
    char name[48];   /* column name */
    char key[160];   /* spec key given to dlx_spec_set ("seed", "model.layers.1.units"): keys[0] */
    int n_keys;      /* key: [a, b] sets the value into every key listed */
    char keys[DLX_SWEEP_AXIS_KEYS][160];
    int n;
    char **text;     /* each value as YAML flow text */
    double *num;     /* each value as a number (NaN when not numeric) */
    bool is_text;    /* some value is not a number: the column holds value indexes */
} dlx_sweep_axis;

typedef struct dlx_sweep_figure {
    char type[16];        /* histogram | scatter | surface */
    char out[160];        /* file name, in the figure directory */
    char x[48], y[48];    /* histogram: x = column; scatter: x vs y */
    char by[48];          /* group column ("" = none) */
    double band[2];       /* histogram: shaded reference band (both 0 = none) */
    int bins;             /* histogram bins */
    double range;         /* surface: half-width of the (w1, w2) square */
    int points;           /* surface: grid points per side */
} dlx_sweep_figure;

typedef struct dlx_sweep {
    char path[512];       /* the sweep spec file */
    char base_path[512];  /* the base model spec file */
    char *base_text;      /* base spec text, re-parsed for each run */
    char *spec_text;      /* the sweep spec as stored in the table */
    char family[48];      /* model.kind of the base */
    char out[512];
    int n_axes;
    dlx_sweep_axis axes[DLX_SWEEP_MAX_AXES];
    int n_measures;
    char measures[DLX_SWEEP_MAX_COLS][48];
    int n_cols;           /* axes then measure columns ("hessian" expands to 4) */
    char cols[DLX_SWEEP_MAX_COLS][48];
    int64_t n_runs;
    int hess_samples, hess_exact_max, hess_lanczos, hess_method;
    double hess_eps, hess_neg_tol;
    int n_figs;
    dlx_sweep_figure figs[DLX_SWEEP_MAX_FIGS];
} dlx_sweep;

/* Parse and check a sweep spec: every axis non-empty, every measure known for
 * the base's family, the base spec present, parseable and accepting every
 * axis value (the model is not built). `out_override` (may be NULL) replaces
 * sweep.out. */
int dlx_sweep_load(const char *path, const char *out_override, dlx_sweep **out, dlx_err *err);
/* The same with --set assignments applied to the sweep spec before it is
 * read (so the table stores the sweep as changed). */
int dlx_sweep_load_set(const char *path, const char *out_override, const char *const *sets, int n_sets,
                       dlx_sweep **out, dlx_err *err);
/* The same with settings KEY=VALUE (as --set) applied to the base spec
 * before the axes, so every run has them; they are part of the base text
 * stored in the table, so a resume with other settings is refused. */
/* The reference of a sweep spec's maps (core/spec_doc.h), ending in {NULL}. */
extern const dlx_spec_section dlx_sweep_spec_sections[];

int dlx_sweep_load_with(const char *path, const char *out_override, const char *const *sets, int n_sets,
                        dlx_sweep **out, dlx_err *err);
void dlx_sweep_destroy(dlx_sweep *s);
/* The axis value indexes of run i (last axis fastest). */
void dlx_sweep_point(const dlx_sweep *s, int64_t run, int *idx);
/* The base spec with run i's axis values applied (caller destroys). */
int dlx_sweep_run_spec(const dlx_sweep *s, int64_t run, dlx_spec **out, dlx_err *err);
/* Train run i in this process (BLAS single-threaded) in scratch directory
 * run_dir and fill row[0..n_cols). */
int dlx_sweep_run_one(const dlx_sweep *s, int64_t run, const char *run_dir, double *row, dlx_err *err);

/* The table in memory. */
typedef struct dlx_sweep_table {
    int n_cols;
    char cols[DLX_SWEEP_MAX_COLS][48];
    bool axis[DLX_SWEEP_MAX_COLS];     /* the column is an axis */
    char *labels[DLX_SWEEP_MAX_COLS];  /* a text axis's values, one per line (owned); NULL otherwise */
    int64_t n, cap;
    int64_t *run;         /* n */
    double *val;          /* n * n_cols, row-major */
    int64_t n_runs;       /* total runs of the sweep */
    char *spec_text;      /* owned */
} dlx_sweep_table;
int dlx_sweep_table_init(dlx_sweep_table *t, const dlx_sweep *s, dlx_err *err);
void dlx_sweep_table_free(dlx_sweep_table *t);
/* Insert a row keeping rows sorted by run; a run already present is replaced. */
int dlx_sweep_table_add(dlx_sweep_table *t, int64_t run, const double *row, dlx_err *err);
bool dlx_sweep_table_has(const dlx_sweep_table *t, int64_t run);
int dlx_sweep_table_col(const dlx_sweep_table *t, const char *name); /* index or -1 */
/* Value v of column c as text: a text axis's label (quotes, backquotes,
 * backslashes and control characters as '_': it may reach a gnuplot script),
 * else "%g". */
void dlx_sweep_table_value_text(const dlx_sweep_table *t, int c, double v, char *buf, size_t n);
int dlx_sweep_table_write(const char *path, const dlx_sweep_table *t, dlx_err *err);
/* Read a table file. A missing file is DLX_EIO; not a sweep table DLX_EFORMAT. */
int dlx_sweep_table_read(const char *path, dlx_sweep_table *t, dlx_err *err);
/* Join shard tables: same spec text and columns required (else DLX_EINVAL
 * naming the file); a run in two shards must have equal rows apart from
 * the column `seconds`. */
int dlx_sweep_table_merge(const char *const *paths, int n, dlx_sweep_table *out, dlx_err *err);

/* Parse "i/n" (0 <= i < n). */
int dlx_sweep_parse_shard(const char *text, int *i, int *n, dlx_err *err);

/* Running a sweep. */
typedef struct dlx_sweep_event {
    int64_t run;          /* the run that finished */
    const double *row;
    int64_t done, todo;   /* finished in this invocation, of todo */
    int64_t skipped;      /* already in the table when the sweep started */
    double elapsed_s;
    double eta_s;         /* seconds left, by each group's cost (sweep_eta.h) */
    int64_t untimed;      /* runs left in groups with no finished run, not in eta_s */
} dlx_sweep_event;
typedef struct dlx_sweep_opts {
    int jobs;             /* worker processes (>= 1) */
    int shard_i, shard_n; /* this process runs runs r with r % shard_n == shard_i */
    const char *scratch;  /* scratch run directories go under it */
    void (*on_run)(void *user, const dlx_sweep_event *e);
    void *user;
    volatile int *stop;   /* set by a signal handler: finish no new runs */
} dlx_sweep_opts;
/* Run every run of this shard not yet in `out` (resuming), writing the table
 * after each; n_done gets the runs finished now. Workers are fork()ed. */
int dlx_sweep_execute(const dlx_sweep *s, const char *out, const dlx_sweep_opts *o, int64_t *n_done,
                      dlx_err *err);

/* Summary of column x grouped by the columns listed in by ("hidden" or
 * "hidden,lr": one group per distinct combination, sorted; NULL or "" = one
 * group of every row): mean, std (n-1), min, max and the Pearson correlation
 * of (x, y) per group (NaN when y is NULL). */
#define DLX_SWEEP_BY_MAX 4 /* columns a summary groups by */
typedef struct dlx_sweep_group {
    double keys[DLX_SWEEP_BY_MAX]; /* the group's value of each `by` column */
    int64_t n;
    double mean, std, min, max, pearson;
    double pearson_lo, pearson_hi; /* 95 % percentile bootstrap interval of pearson */
} dlx_sweep_group;
int dlx_sweep_summary(const dlx_sweep_table *t, const char *by, const char *x, const char *y,
                      dlx_sweep_group *g, int max_groups, int *n_groups, dlx_err *err);
double dlx_pearson(const double *x, const double *y, int64_t n);
/* The 95 % percentile bootstrap interval of dlx_pearson(x, y, n): the 2.5th
 * and 97.5th percentiles over `resamples` resamples of the n pairs with
 * replacement, drawn from the counter-based generator of seed (the same
 * table gives the same interval). NaN with n < 3. -1 when out of memory. */
#define DLX_BOOTSTRAP_RESAMPLES 2000
int dlx_pearson_ci(const double *x, const double *y, int64_t n, int resamples, uint64_t seed, double *lo,
                   double *hi);
/* The columns of a `by` list ("a,b"): their indexes into cols (at most
 * DLX_SWEEP_BY_MAX), *n their count (0 for NULL or ""); DLX_EINVAL naming a
 * column the table lacks. */
int dlx_sweep_by_cols(const dlx_sweep_table *t, const char *by, int *cols, int *n, dlx_err *err);

#endif
