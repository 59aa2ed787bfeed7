/* Paper tables: `dlx reproduce SPEC` runs the rows of a table spec through the
 * family registry and puts our numbers beside the paper's. Any family works;
 * nothing here knows a family by name.
 *
 * Table spec (YAML):
 *   paper: "Gregor & LeCun 2010, Learning Fast Approximations of Sparse Coding"
 *   family: sparse_coding     # optional: the family whose `figure` draws the figure
 *   figure: lista.png         # optional: file name of the figure inside the out dir
 *   rows:
 *     - name: fista_m100      # [A-Za-z0-9_.-]+, unique; the run goes to <out>/<name>
 *       spec: ../sparse_coding/fista.yaml   # a base spec, relative to this file
 *       set: [model.atoms=100, "model.dictionary.from={out}/dict_m100"]
 *                             # inline settings (as --set); "{out}" becomes the out dir
 *       label: FISTA          # optional: series name in the figure (default: the name)
 *       panel: "m = 100"      # optional: figure panel
 *       metrics:              # optional: results to record and print; a value is the
 *         err_T1: n/a         #   paper's number, or text ("n/a", "~10x fewer"); a row
 *         err_T10: 0.25       #   without metrics is run but not printed
 * Rows run in order (a row may use an earlier row's run directory). A row whose
 * loss turns NaN or infinite is a row of the table: its results are
 * diverged = 1 and diverged_at (the step), its metrics print "diverged", and
 * the next row runs.
 *
 * Each row: load the base spec, apply the settings, dlx_model_create_opts, the
 * family's train (which evaluates into m->results) and, when a metric is not
 * in m->results, the family's evaluate.
 *
 * results.h5 written by dlx_repro_write_h5:
 *   attributes on /: format = "dlx-reproduce", paper, table (the spec's file name)
 *   /rows/<name>/             one group per row, attributes spec (base spec path),
 *                             spec_text (the resolved spec the row ran), label, panel,
 *                             seconds (float64), index (int64: position in the table)
 *   /rows/<name>/<result>     float64 scalar for EVERY result the row produced,
 *                             with attribute paper (text) when the table names it
 */
#ifndef DLX_REPRODUCE_H
#define DLX_REPRODUCE_H

#include <stdbool.h>

#include "../core/err.h"
#include "../core/spec.h"
#include "../core/spec_doc.h"
#include "../train/run.h"

#define DLX_REPRO_MAX_SETS 32
#define DLX_REPRO_MAX_METRICS 32

typedef struct dlx_repro_metric {
    char name[48];
    char paper[96];  /* as written in the table spec */
    bool ours_set;
    double ours;
} dlx_repro_metric;

typedef struct dlx_repro_row {
    char name[64];
    char spec_path[512];    /* resolved by the one path rule (dlx_spec_file_path) */
    const char *sets[DLX_REPRO_MAX_SETS];
    int n_sets;
    const char *label, *panel; /* may be NULL */
    dlx_repro_metric metrics[DLX_REPRO_MAX_METRICS];
    int n_metrics;
    dlx_loc loc;
    /* after dlx_repro_run_row */
    bool done;
    bool diverged;   /* its loss turned NaN or infinite (DLX_ENUM): a row of its own,
                      * with results diverged = 1 and diverged_at (the step) */
    double seconds;
    dlx_results results;
    char *spec_text; /* the resolved spec, malloc'd */
} dlx_repro_row;

typedef struct dlx_repro {
    dlx_spec *spec;        /* owned */
    const char *paper, *family, *figure;
    char out_dir[512];
    bool resume;           /* each row continues from its run's checkpoint, if any (a
                            * finished row is evaluated again, not retrained) */
    dlx_repro_row *rows;
    int n_rows;
} dlx_repro;

/* Parse and check a table spec (unknown keys, missing names, duplicate row
 * names are DLX_EINVAL with line:col). out_dir receives the runs and results.h5. */
int dlx_repro_load(const char *path, const char *out_dir, dlx_repro **out, dlx_err *err);
/* The reference of a table spec's maps (core/spec_doc.h), ending in {NULL}. */
extern const dlx_spec_section dlx_repro_spec_sections[];
/* The same with --set assignments applied to the table spec first. */
int dlx_repro_load_set(const char *path, const char *out_dir, const char *const *sets, int n_sets, dlx_repro **out,
                       dlx_err *err);
void dlx_repro_destroy(dlx_repro *r);

/* Run row i (see above). threads: worker threads (0 = default). */
int dlx_repro_run_row(dlx_repro *r, int i, const dlx_hooks *hooks, int threads, dlx_err *err);

/* Write <path> (layout above) for the rows done so far. */
int dlx_repro_write_h5(const dlx_repro *r, const char *path, dlx_err *err);
/* Rows i with keep[i] (those a reproduce with --only does not run) take their
 * results, resolved spec and time from an earlier results.h5 at path, when
 * it holds them, so that the one written next still holds every row. */
int dlx_repro_keep_earlier(dlx_repro *r, const bool *keep, const char *path, dlx_err *err);

/* The Markdown table: | row | metric | paper | ours |; malloc'd text. */
char *dlx_repro_markdown(const dlx_repro *r);

#endif
