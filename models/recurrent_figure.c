/* The figure of a recurrent table for `dlx reproduce` (family recurrent): test
 * loss against updates, one panel per task (a row's `panel`), one curve per
 * cell (a row's `label`: the mean over the rows that share panel and label,
 * i.e. the seeds, with their range as a band), the memoryless baseline as a
 * dashed line. The curves come from each row's metrics.h5 (<out>/<row>/), read
 * through the bounded metrics reader; the baseline from results.h5.
 * Library code: it writes the data and a gnuplot script; the CLI runs gnuplot. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/h5io.h"
#include "../core/h5read.h"
#include "../core/rundir.h"
#include "recurrent.h"
#include "repro_rows.h"

#define MAX_PANELS 8
#define MAX_POINTS 4096 /* evaluations per curve drawn */

typedef struct curve_row {
    char name[64], label[64], panel[64];
    int64_t index; /* position in the table */
    double baseline;
    double *xy; /* (step, test_loss) rows from metrics.h5 */
    int64_t n;
} curve_row;

/* The directory holding results_h5 (its row runs are beside it). */
static void results_dir(const char *results_h5, char *dir, size_t n)
{
    snprintf(dir, n, "%s", results_h5);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, n, ".");
}

/* One row: label, panel and baseline from results.h5, test_loss from its
 * metrics.h5. A row without a panel, a baseline or a metrics file is left out
 * (n = 0): a table may hold rows this figure does not draw. */
static int read_row(const dlx_h5r *r, const char *dir, curve_row *row, dlx_err *err)
{
    char obj[80], base[112];
    snprintf(obj, sizeof obj, "/rows/%s", row->name);
    int rc = dlx_repro_rows_label(r, obj, "label", row->label, sizeof row->label, err);
    if (!rc)
        rc = dlx_repro_rows_label(r, obj, "panel", row->panel, sizeof row->panel, err);
    if (!rc && dlx_h5r_has_attr(r, obj, "index"))
        rc = dlx_h5r_attr_i64(r, obj, "index", &row->index, err);
    if (rc || !row->panel[0])
        return rc;
    if (!row->label[0])
        snprintf(row->label, sizeof row->label, "%s", row->name);
    snprintf(base, sizeof base, "%s/baseline", obj);
    if (!dlx_h5r_exists(r, base))
        return 0;
    if ((rc = dlx_h5r_read_f64(r, base, &row->baseline, err)))
        return rc;
    char run[DLX_RUNDIR_MAX + 1], metrics[DLX_RUNDIR_MAX + 1];
    if (dlx_path_join(run, sizeof run, dir, row->name, err) || dlx_path_join(metrics, sizeof metrics, run, "metrics.h5", err))
        return err->code;
    FILE *f = fopen(metrics, "rb");
    if (!f)
        return 0;
    fclose(f);
    rc = dlx_metrics_read_opt(metrics, "test_loss", &row->xy, &row->n, err);
    if (!rc && row->n > MAX_POINTS)
        row->n = MAX_POINTS;
    return rc;
}

/* Rows of one (panel, label): the mean of test_loss over them at each step
 * of the first, with the smallest and largest value; one data block. */
static void write_group(FILE *fd, const curve_row *rows, int n_rows, int first)
{
    const curve_row *a = &rows[first];
    for (int64_t j = 0; j < a->n; j++) {
        double step = a->xy[2 * j], sum = 0.0, lo = INFINITY, hi = -INFINITY;
        int k = 0;
        for (int i = first; i < n_rows; i++) {
            const curve_row *b = &rows[i];
            if (!b->n || strcmp(b->panel, a->panel) || strcmp(b->label, a->label))
                continue;
            for (int64_t q = 0; q < b->n; q++)
                if (b->xy[2 * q] == step) {
                    double v = b->xy[2 * q + 1];
                    sum += v;
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                    k++;
                    break;
                }
        }
        if (k && isfinite(sum))
            fprintf(fd, "%.17g %.9g %.9g %.9g\n", step, sum / k, lo, hi);
    }
    fprintf(fd, "\n\n");
}

static int seeds_of(const curve_row *rows, int n_rows, int first)
{
    int k = 0;
    for (int i = first; i < n_rows; i++)
        k += rows[i].n && !strcmp(rows[i].panel, rows[first].panel) && !strcmp(rows[i].label, rows[first].label);
    return k;
}

/* The data blocks (one per panel and label, in table order) and the script. */
static void write_figure(FILE *fd, FILE *fs, const char *dat, const char *png, const curve_row *rows, int n_rows)
{
    char panels[MAX_PANELS][64], labels[DLX_REPRO_ROWS_MAX][64];
    double baseline[MAX_PANELS];
    int n_panels = 0, n_labels = 0, n_blocks = 0;
    int block_panel[DLX_REPRO_ROWS_MAX], block_label[DLX_REPRO_ROWS_MAX], block_seeds[DLX_REPRO_ROWS_MAX];
    for (int i = 0; i < n_rows; i++) {
        const curve_row *row = &rows[i];
        if (!row->n)
            continue;
        int p = 0, l = 0, seen = 0;
        for (; p < n_panels && strcmp(panels[p], row->panel); p++)
            ;
        for (; l < n_labels && strcmp(labels[l], row->label); l++)
            ;
        for (int j = 0; j < i; j++)
            seen |= rows[j].n && !strcmp(rows[j].panel, row->panel) && !strcmp(rows[j].label, row->label);
        if (seen || (p == n_panels && n_panels == MAX_PANELS))
            continue;
        if (p == n_panels) {
            snprintf(panels[n_panels], 64, "%s", row->panel);
            baseline[n_panels++] = row->baseline;
        }
        if (l == n_labels)
            snprintf(labels[n_labels++], 64, "%s", row->label);
        write_group(fd, rows, n_rows, i);
        block_panel[n_blocks] = p;
        block_label[n_blocks] = l;
        block_seeds[n_blocks++] = seeds_of(rows, n_rows, i);
    }
    int cols = n_panels < 2 ? 1 : 2, lines = (n_panels + 1) / 2 > 0 ? (n_panels + 1) / 2 : 1;
    double x0 = INFINITY, x1 = -INFINITY; /* one evaluation only: gnuplot needs a range around it */
    for (int i = 0; i < n_rows; i++)
        for (int64_t j = 0; j < rows[i].n; j++) {
            x0 = fmin(x0, rows[i].xy[2 * j]);
            x1 = fmax(x1, rows[i].xy[2 * j]);
        }
    fprintf(fs, "set terminal pngcairo size %d,%d enhanced font 'sans,10'\nset output '%s'\n", 560 * cols, 500 * lines,
            png);
    /* the legend under each panel: the curves fill the plot's corners */
    fprintf(fs, "set logscale y\nset format y '10^{%%L}'\nset grid\nset key below left Left reverse\nset xlabel 'updates'\n"
                "set ylabel 'test loss'\nset style fill transparent solid 0.18 noborder\n"
                "set multiplot layout %d,%d\n",
            lines, cols);
    if (x0 == x1 && isfinite(x0))
        fprintf(fs, "set xrange [%.17g:%.17g]\n", x0 - 1, x0 + 1);
    for (int p = 0; p < n_panels; p++) {
        fprintf(fs, "set title '%s'\nplot ", panels[p]);
        bool first = true;
        for (int b = 0; b < n_blocks; b++) {
            if (block_panel[b] != p)
                continue;
            int lc = block_label[b] + 1;
            fprintf(fs, "%s'%s' index %d using 1:3:4 with filledcurves lc %d notitle, "
                        "'%s' index %d using 1:2 with lines lw 2 lc %d title '%s (%d seed%s)'",
                    first ? "" : ", ", dat, b, lc, dat, b, lc, labels[block_label[b]], block_seeds[b],
                    block_seeds[b] == 1 ? "" : "s");
            first = false;
        }
        fprintf(fs, "%s%.9g with lines dt 2 lw 2 lc rgb 'black' title 'memoryless baseline'\n", first ? "" : ", ",
                baseline[p]);
    }
    fprintf(fs, "unset multiplot\n");
}

static int by_index(const void *a, const void *b)
{
    int64_t x = ((const curve_row *)a)->index, y = ((const curve_row *)b)->index;
    return (x > y) - (x < y);
}

int dlx_recurrent_figure(const char *results_h5, const char *png, const char *script_path, dlx_err *err)
{
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, results_h5, err);
    if (rc)
        return rc;
    char dir[DLX_RUNDIR_MAX + 1], dat[600];
    results_dir(results_h5, dir, sizeof dir);
    snprintf(dat, sizeof dat, "%s.dat", script_path);
    curve_row *rows = calloc(DLX_REPRO_ROWS_MAX, sizeof *rows);
    dlx_repro_names l = {0};
    FILE *fd = NULL, *fs = NULL;
    if (!rows) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out;
    }
    if (!dlx_h5r_is_group(&r, "/rows")) {
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(results_h5), "/rows is missing");
        goto out;
    }
    if ((rc = dlx_repro_rows_list(&r, "/rows", &l, err)))
        goto out;
    for (int i = 0; i < l.n && !rc; i++) {
        snprintf(rows[i].name, sizeof rows[i].name, "%s", l.names[i]);
        rc = read_row(&r, dir, &rows[i], err);
    }
    if (rc)
        goto out;
    qsort(rows, (size_t)l.n, sizeof *rows, by_index);
    fd = fopen(dat, "w");
    fs = fopen(script_path, "w");
    if (!fd || !fs) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the figure script or its data");
        goto out;
    }
    write_figure(fd, fs, dat, png, rows, l.n);
out:
    if (fd && fclose(fd) && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dat), "cannot write the figure data");
    if (fs && fclose(fs) && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the figure script");
    for (int i = 0; rows && i < DLX_REPRO_ROWS_MAX; i++)
        free(rows[i].xy);
    free(rows);
    free(l.names);
    dlx_h5r_close(&r);
    return rc;
}
