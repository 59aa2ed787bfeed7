/* Sweep figures: each writes a data file and a gnuplot script (pngcairo);
 * the CLI runs gnuplot. Library code writes files and never runs programs.
 *   histogram: column x, one overlaid histogram per value of `by`, common
 *              bins, optional shaded reference band (the spin-glass theory band)
 *   scatter:   x against y, one colour per value of `by`
 *   line:      the mean of y against x with +- one std error bars (over the
 *              runs that share x, e.g. the seeds), one line per value of `by`
 *   surface:   the 1-1-1 linear net's loss over (w1, w2) as a heat map of
 *              log10(loss + 1e-3), with the sweep's end points (w1, w2) on top
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/h5read.h"
#include "../models/landscape.h"
#include "model.h"
#include "sweep_figure.h"

#define MAX_GROUPS 64

static void stem_of(const char *out, char *stem, size_t n)
{
    snprintf(stem, n, "%s", out);
    char *dot = strrchr(stem, '.');
    if (dot && strcmp(dot, ".png") == 0)
        *dot = '\0';
}

static FILE *open_file(const char *dir, const char *stem, const char *ext, char *path, size_t n, dlx_err *err)
{
    snprintf(path, n, "%s/%s%s", dir, stem, ext);
    FILE *f = fopen(path, "w");
    if (!f)
        dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write");
    return f;
}

static int close_file(FILE *f, const char *path, dlx_err *err)
{
    if (ferror(f) | fclose(f))
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "write failed");
    return 0;
}

/* distinct values of column cb (sorted); one group when cb < 0 */
static int groups_of(const dlx_sweep_table *t, int cb, double *keys)
{
    dlx_sweep_group g[MAX_GROUPS];
    int ng = 0;
    dlx_err e;
    if (cb < 0)
        return keys[0] = 0, 1;
    if (dlx_sweep_summary(t, t->cols[cb], t->cols[cb], NULL, g, MAX_GROUPS, &ng, &e))
        return 0;
    for (int i = 0; i < ng; i++)
        keys[i] = g[i].keys[0];
    return ng;
}

static void header(FILE *f, const char *dir, const dlx_sweep_figure *fig)
{
    fprintf(f, "set terminal pngcairo size 900,600 enhanced font 'Sans,11'\nset output '%s/%s'\n", dir, fig->out);
    fprintf(f, "set key top right\nset grid\n");
}

static int histogram(const dlx_sweep_table *t, const dlx_sweep_figure *fig, const char *dir, const char *stem,
                     char *script, size_t script_n, dlx_err *err)
{
    int cx = dlx_sweep_table_col(t, fig->x), cb = fig->by[0] ? dlx_sweep_table_col(t, fig->by) : -1;
    double keys[MAX_GROUPS], lo = INFINITY, hi = -INFINITY;
    int ng = groups_of(t, cb, keys);
    size_t w = (size_t)t->n_cols;
    for (int64_t i = 0; i < t->n; i++) {
        double v = t->val[(size_t)i * w + (size_t)cx];
        if (isfinite(v)) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    if (!(lo <= hi))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "figure %s: column '%s' has no finite values yet", fig->out,
                            fig->x);
    if (fig->band[0] != fig->band[1]) { /* keep the band in view */
        lo = fig->band[0] < lo ? fig->band[0] : lo;
        hi = fig->band[1] > hi ? fig->band[1] : hi;
    }
    if (hi == lo)
        hi = lo + 1e-9;
    int nb = fig->bins;
    double bw = (hi - lo) / nb;
    double *cnt = calloc((size_t)nb * (size_t)ng, sizeof *cnt), *tot = calloc((size_t)ng, sizeof *tot);
    if (!cnt || !tot) {
        free(cnt);
        free(tot);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    for (int64_t i = 0; i < t->n; i++) {
        const double *row = t->val + (size_t)i * w;
        if (!isfinite(row[cx]))
            continue;
        int gi = 0;
        while (cb >= 0 && gi < ng && keys[gi] != row[cb])
            gi++;
        if (gi == ng)
            continue;
        int b = (int)((row[cx] - lo) / bw);
        b = b < 0 ? 0 : b >= nb ? nb - 1 : b;
        cnt[(size_t)b * (size_t)ng + (size_t)gi]++;
        tot[gi]++;
    }
    char dat[700];
    FILE *f = open_file(dir, stem, ".dat", dat, sizeof dat, err);
    int rc = f ? 0 : DLX_EIO;
    if (f) {
        fprintf(f, "%s", fig->x);
        for (int g = 0; g < ng; g++) {
            char key[48];
            dlx_sweep_table_value_text(t, cb, keys[g], key, sizeof key);
            if (cb >= 0)
                fprintf(f, " %s=%s", fig->by, key);
            else
                fprintf(f, " runs");
        }
        fprintf(f, "\n");
        for (int b = 0; b < nb; b++) {
            fprintf(f, "%.9g", lo + (b + 0.5) * bw);
            for (int g = 0; g < ng; g++)
                fprintf(f, " %.6g", tot[g] > 0 ? cnt[(size_t)b * (size_t)ng + (size_t)g] / tot[g] : 0.0);
            fprintf(f, "\n");
        }
        rc = close_file(f, dat, err);
    }
    free(cnt);
    free(tot);
    FILE *s = rc ? NULL : open_file(dir, stem, ".gp", script, script_n, err);
    if (!rc && !s)
        rc = DLX_EIO;
    if (s) {
        header(s, dir, fig);
        fprintf(s, "set title 'distribution of %s over %lld runs%s%s' noenhanced\n", fig->x, (long long)t->n,
                cb >= 0 ? ", by " : "", cb >= 0 ? fig->by : "");
        fprintf(s, "set xlabel '%s' noenhanced\nset ylabel 'fraction of runs'\n", fig->x);
        fprintf(s, "set style fill transparent solid 0.45 noborder\nset boxwidth %.9g absolute\n", bw);
        fprintf(s, "set key autotitle columnheader noenhanced\n");
        if (fig->band[0] != fig->band[1])
            fprintf(s,
                    "set object 1 rect from %.9g, graph 0 to %.9g, graph 1 fc rgb '#bbbbbb' fs solid 0.5 behind\n"
                    "set label 1 'reference band [%g, %g]' at %.9g, graph 0.97 left offset 0.5,0 front\n",
                    fig->band[0], fig->band[1], fig->band[0], fig->band[1], fig->band[1]);
        fprintf(s, "plot for [i=2:%d] '%s' using 1:i with boxes\n", ng + 1, dat);
        rc = close_file(s, script, err);
    }
    return rc;
}

static int scatter(const dlx_sweep_table *t, const dlx_sweep_figure *fig, const char *dir, const char *stem,
                   char *script, size_t script_n, dlx_err *err)
{
    int cx = dlx_sweep_table_col(t, fig->x), cy = dlx_sweep_table_col(t, fig->y);
    int cb = fig->by[0] ? dlx_sweep_table_col(t, fig->by) : -1;
    double keys[MAX_GROUPS];
    int ng = groups_of(t, cb, keys);
    size_t w = (size_t)t->n_cols;
    char dat[700];
    FILE *f = open_file(dir, stem, ".dat", dat, sizeof dat, err);
    if (!f)
        return DLX_EIO;
    for (int g = 0; g < ng; g++) {
        char key[48];
        dlx_sweep_table_value_text(t, cb, keys[g], key, sizeof key);
        fprintf(f, "# %s = %s\n", cb >= 0 ? fig->by : "all", key);
        for (int64_t i = 0; i < t->n; i++) {
            const double *row = t->val + (size_t)i * w;
            if (cb < 0 || row[cb] == keys[g])
                fprintf(f, "%.9g %.9g\n", row[cx], row[cy]);
        }
        fprintf(f, "\n\n");
    }
    int rc = close_file(f, dat, err);
    FILE *s = rc ? NULL : open_file(dir, stem, ".gp", script, script_n, err);
    if (!rc && !s)
        rc = DLX_EIO;
    if (s) {
        header(s, dir, fig);
        fprintf(s, "set title '%s against %s' noenhanced\nset xlabel '%s' noenhanced\nset ylabel '%s' noenhanced\n",
                fig->y, fig->x, fig->x, fig->y);
        fprintf(s, "titles = \"");
        for (int g = 0; g < ng; g++) {
            char key[48];
            dlx_sweep_table_value_text(t, cb, keys[g], key, sizeof key);
            fprintf(s, "%s%s", g ? " " : "", key);
        }
        fprintf(s, "\"\nplot for [i=0:%d] '%s' index i using 1:2 with points pt 7 ps 0.6 title '%s='.word(titles, i+1)\n",
                ng - 1, dat, cb >= 0 ? fig->by : "all");
        rc = close_file(s, script, err);
    }
    return rc;
}

static int line(const dlx_sweep_table *t, const dlx_sweep_figure *fig, const char *dir, const char *stem, char *script,
                size_t script_n, dlx_err *err)
{
    int cb = fig->by[0] ? dlx_sweep_table_col(t, fig->by) : -1, cx = dlx_sweep_table_col(t, fig->x);
    char by[2 * sizeof fig->by + 2];
    snprintf(by, sizeof by, "%s%s%s", cb >= 0 ? fig->by : "", cb >= 0 ? "," : "", fig->x);
    dlx_sweep_group *g = malloc(4096 * sizeof *g);
    int ng = 0;
    int rc = g ? dlx_sweep_summary(t, by, fig->y, NULL, g, 4096, &ng, err)
               : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    char dat[700];
    FILE *f = rc ? NULL : open_file(dir, stem, ".dat", dat, sizeof dat, err);
    if (!rc && !f)
        rc = DLX_EIO;
    /* one block per value of by (groups come sorted by (by, x)) */
    int blocks = 0;
    char titles[MAX_GROUPS][48];
    for (int k = 0; f && k < ng; k++) {
        bool first = k == 0 || (cb >= 0 && g[k].keys[0] != g[k - 1].keys[0]);
        if (first && blocks == MAX_GROUPS)
            break;
        if (first) {
            if (k)
                fprintf(f, "\n\n");
            dlx_sweep_table_value_text(t, cb, g[k].keys[0], titles[blocks], sizeof titles[0]);
            if (cb >= 0)
                fprintf(f, "# %s = %s: %s, mean, std, runs\n", fig->by, titles[blocks], fig->x);
            else
                fprintf(f, "# all runs: %s, mean, std, runs\n", fig->x);
            blocks++;
        }
        if (g[k].n > 0)
            fprintf(f, "%.9g %.9g %.9g %lld\n", g[k].keys[cb >= 0 ? 1 : 0], g[k].mean, g[k].n > 1 ? g[k].std : 0.0,
                    (long long)g[k].n);
    }
    free(g);
    if (f)
        rc = close_file(f, dat, err);
    FILE *s = rc ? NULL : open_file(dir, stem, ".gp", script, script_n, err);
    if (!rc && !s)
        rc = DLX_EIO;
    if (s) {
        header(s, dir, fig);
        fprintf(s, "set title '%s against %s: mean and std over the runs at each %s' noenhanced\n", fig->y, fig->x,
                fig->x);
        fprintf(s, "set xlabel '%s' noenhanced\nset ylabel '%s (mean +- std)' noenhanced\n", fig->x, fig->y);
        fprintf(s, "set offsets graph 0.05, graph 0.05, 0, 0\n");
        if (cx >= 0 && t->labels[cx]) { /* a text axis: its values' labels at their indexes */
            fprintf(s, "set xtics (");
            int n = 1;
            for (const char *p = t->labels[cx]; (p = strchr(p, '\n')); p++)
                n++;
            for (int i = 0; i < n && i < 256; i++) {
                char key[48];
                dlx_sweep_table_value_text(t, cx, (double)i, key, sizeof key);
                fprintf(s, "%s'%s' %d", i ? ", " : "", key, i);
            }
            fprintf(s, ")\n");
        }
        fprintf(s, "plot ");
        for (int b = 0; b < blocks; b++)
            fprintf(s, "%s'%s' index %d using 1:2:3 with yerrorlines lw 2 pt 7 title '%s%s%s' noenhanced", b ? ", " : "",
                    dat, b, cb >= 0 ? fig->by : "all runs", cb >= 0 ? " = " : "", cb >= 0 ? titles[b] : "");
        fprintf(s, "\n");
        rc = close_file(s, script, err);
    }
    return rc;
}

static int surface(const dlx_sweep *sw, const dlx_sweep_table *t, const dlx_sweep_figure *fig, const char *dir,
                   const char *stem, char *script, size_t script_n, dlx_err *err)
{
    dlx_spec *spec;
    int rc = dlx_spec_load_string(sw->base_text, sw->base_path, &spec, err);
    if (rc)
        return rc;
    dlx_model *m;
    rc = dlx_model_create(spec, "", NULL, &m, err);
    if (rc)
        return rc;
    double probe;
    rc = dlx_landscape_linear111_loss(m, 0, 0, &probe, err);
    char dat[700], pts[700];
    FILE *f = rc ? NULL : open_file(dir, stem, ".dat", dat, sizeof dat, err);
    if (!rc && !f)
        rc = DLX_EIO;
    if (f) {
        int n = fig->points;
        for (int i = 0; i < n; i++) {
            double w1 = -fig->range + 2.0 * fig->range * i / (n - 1);
            for (int j = 0; j < n; j++) {
                double w2 = -fig->range + 2.0 * fig->range * j / (n - 1), l;
                dlx_landscape_linear111_loss(m, w1, w2, &l, err);
                fprintf(f, "%.6g %.6g %.6g\n", w1, w2, log10(l + 1e-3));
            }
            fprintf(f, "\n");
        }
        rc = close_file(f, dat, err);
    }
    dlx_model_destroy(m);
    int c1 = dlx_sweep_table_col(t, "w1"), c2 = dlx_sweep_table_col(t, "w2");
    bool have_pts = c1 >= 0 && c2 >= 0 && t->n > 0;
    if (!rc && have_pts) {
        FILE *p = open_file(dir, stem, "_points.dat", pts, sizeof pts, err);
        if (!p)
            return DLX_EIO;
        for (int64_t i = 0; i < t->n; i++)
            fprintf(p, "%.9g %.9g\n", t->val[(size_t)i * (size_t)t->n_cols + (size_t)c1],
                    t->val[(size_t)i * (size_t)t->n_cols + (size_t)c2]);
        rc = close_file(p, pts, err);
    }
    FILE *s = rc ? NULL : open_file(dir, stem, ".gp", script, script_n, err);
    if (!rc && !s)
        rc = DLX_EIO;
    if (s) {
        fprintf(s, "set terminal pngcairo size 760,700 enhanced font 'Sans,11'\nset output '%s/%s'\n", dir, fig->out);
        fprintf(s, "set title '1-1-1 linear net: log_{10}(loss + 0.001) over (w_1, w_2)'\n");
        fprintf(s, "set xlabel 'w_1'\nset ylabel 'w_2'\nset size ratio -1\n");
        fprintf(s, "set xrange [%g:%g]\nset yrange [%g:%g]\n", -fig->range, fig->range, -fig->range, fig->range);
        fprintf(s, "set palette rgbformulae 33,13,10\nset cblabel 'log_{10}(loss + 0.001)'\n");
        fprintf(s, "set label 1 'saddle (0, 0)' at 0.08,0.12 front tc rgb 'white'\n");
        fprintf(s, "set key bottom left textcolor rgb 'white'\n");
        fprintf(s, "plot '%s' using 1:2:3 with image notitle", dat);
        if (have_pts)
            fprintf(s, ", '%s' using 1:2 with points pt 7 ps 1.0 lc rgb 'white' title 'GD end points'", pts);
        fprintf(s, ", '-' using 1:2 with points pt 6 ps 2.5 lw 2 lc rgb 'white' notitle\n0 0\ne\n");
        rc = close_file(s, script, err);
    }
    return rc;
}

int dlx_sweep_figure_write(const dlx_sweep *s, const dlx_sweep_table *t, const dlx_sweep_figure *f, const char *dir,
                           char *script, size_t script_n, dlx_err *err)
{
    char stem[200];
    stem_of(f->out, stem, sizeof stem);
    if (strcmp(f->type, "histogram") == 0)
        return histogram(t, f, dir, stem, script, script_n, err);
    if (strcmp(f->type, "scatter") == 0)
        return scatter(t, f, dir, stem, script, script_n, err);
    if (strcmp(f->type, "line") == 0)
        return line(t, f, dir, stem, script, script_n, err);
    return surface(s, t, f, dir, stem, script, script_n, err);
}

/* ---- dlx reproduce: the histograms of several sweep rows --------------- */

#define MAX_ROWS 8
#define REPRO_BINS 20

typedef struct row_hist {
    char label[128];
    int64_t index, runs, unscored;
    double *x; /* finite values */
    int64_t n;
} row_hist;

/* Row `name` of results.h5: when a sweep row, its table's column model.x. */
static int read_row(const dlx_h5r *r, const char *dir, const char *name, row_hist *h, char *xname, size_t xn,
                    bool *is_sweep, dlx_err *err)
{
    char obj[200], *text = NULL, *label = NULL;
    snprintf(obj, sizeof obj, "/rows/%s", name);
    *is_sweep = false;
    int rc = dlx_h5r_attr_string(r, obj, "spec_text", DLX_SPEC_TEXT_MAX, &text, err);
    if (!rc) rc = dlx_h5r_attr_i64(r, obj, "index", &h->index, err);
    if (!rc) rc = dlx_h5r_attr_string(r, obj, "label", 120, &label, err);
    dlx_spec *spec = NULL;
    if (!rc) rc = dlx_spec_load_string(text, obj, &spec, err);
    free(text);
    if (rc) {
        free(label);
        return rc;
    }
    snprintf(h->label, sizeof h->label, "%s", label);
    free(label);
    dlx_spec_node *kind = dlx_spec_path(spec, "model.kind"), *x = dlx_spec_path(spec, "model.x");
    dlx_spec_node *out = dlx_spec_path(spec, "model.out");
    *is_sweep = kind && kind->scalar && !strcmp(kind->scalar, "sweep") && x && x->scalar;
    if (!*is_sweep) {
        dlx_spec_destroy(spec);
        return 0;
    }
    char table[700];
    if (out && out->scalar)
        snprintf(table, sizeof table, "%s", out->scalar);
    else
        snprintf(table, sizeof table, "%.400s/%.200s/sweep.h5", dir, name);
    if (!xname[0])
        snprintf(xname, xn, "%s", x->scalar);
    else if (strcmp(xname, x->scalar) != 0)
        rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                          "figure: the sweep rows show different columns ('%s' and '%s'); one histogram needs one",
                          xname, x->scalar);
    dlx_sweep_table t;
    if (!rc) rc = dlx_sweep_table_read(table, &t, err);
    dlx_spec_destroy(spec);
    if (rc)
        return rc;
    int c = dlx_sweep_table_col(&t, xname);
    h->x = malloc((size_t)(t.n + 1) * sizeof *h->x);
    if (c < 0 || !h->x) {
        dlx_sweep_table_free(&t);
        return c < 0 ? dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(table), "has no column '%s'", xname)
                     : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    h->runs = t.n;
    for (int64_t i = 0; i < t.n; i++) {
        double v = t.val[(size_t)i * (size_t)t.n_cols + (size_t)c];
        if (isfinite(v))
            h->x[h->n++] = v;
        else
            h->unscored++;
    }
    dlx_sweep_table_free(&t);
    return 0;
}

/* The data and script of the overlaid histograms (% of each row's runs per bin). */
static int repro_write(const row_hist *h, int nr, const char *xname, const char *png, const char *script,
                       dlx_err *err)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < nr; k++)
        for (int64_t i = 0; i < h[k].n; i++) {
            lo = h[k].x[i] < lo ? h[k].x[i] : lo;
            hi = h[k].x[i] > hi ? h[k].x[i] : hi;
        }
    if (!(lo <= hi))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "figure: column '%s' has no finite values", xname);
    if (hi == lo)
        hi = lo + 1.0;
    double bw = (hi - lo) / REPRO_BINS;
    char dat[700];
    snprintf(dat, sizeof dat, "%s", png);
    char *dot = strrchr(dat, '.');
    snprintf(dot && !strcmp(dot, ".png") ? dot : dat + strlen(dat), 8, ".dat");
    FILE *f = fopen(dat, "w");
    if (!f)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dat), "cannot write");
    fprintf(f, "# %s, %% of each row's runs per bin\n", xname);
    for (int b = 0; b < REPRO_BINS; b++) {
        fprintf(f, "%.9g", lo + (b + 0.5) * bw);
        for (int k = 0; k < nr; k++) {
            int64_t n = 0;
            for (int64_t i = 0; i < h[k].n; i++) {
                int bi = (int)((h[k].x[i] - lo) / bw);
                n += (bi < 0 ? 0 : bi >= REPRO_BINS ? REPRO_BINS - 1 : bi) == b;
            }
            fprintf(f, " %.6g", h[k].runs ? 100.0 * (double)n / (double)h[k].runs : 0.0);
        }
        fprintf(f, "\n");
    }
    int rc = close_file(f, dat, err);
    FILE *s = rc ? NULL : fopen(script, "w");
    if (!rc && !s)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script), "cannot write");
    if (s) {
        fprintf(s, "set terminal pngcairo size 900,600 enhanced font 'Sans,11'\nset output '%s'\n", png);
        fprintf(s, "set key top left\nset grid\nset title 'distribution of %s over the runs of each sweep' noenhanced\n",
                xname);
        fprintf(s, "set xlabel '%s' noenhanced\nset ylabel '%% of runs'\nset yrange [0:*]\n", xname);
        fprintf(s, "set style fill transparent solid 0.45 noborder\nset boxwidth %.9g absolute\n", bw);
        fprintf(s, "plot ");
        for (int k = 0; k < nr; k++) {
            char extra[96] = "";
            if (h[k].unscored)
                snprintf(extra, sizeof extra, ", %lld without a score", (long long)h[k].unscored);
            fprintf(s, "%s'%s' using 1:%d with boxes title '%s (%lld runs%s)' noenhanced", k ? ", " : "", dat, k + 2,
                    h[k].label, (long long)h[k].runs, extra);
        }
        fprintf(s, "\n");
        rc = close_file(s, script, err);
    }
    return rc;
}

int dlx_sweep_repro_figure(const char *results_h5, const char *png, const char *script, dlx_err *err)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", results_h5);
    char *sl = strrchr(dir, '/');
    if (sl)
        *sl = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, results_h5, err);
    if (rc)
        return rc;
    char (*names)[DLX_H5R_NAME_MAX] = malloc(64 * sizeof *names);
    int n = 0, nr = 0;
    row_hist h[MAX_ROWS];
    memset(h, 0, sizeof h);
    char xname[48] = "";
    rc = names ? dlx_h5r_list(&r, "/rows", 64, names, &n, err) : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        bool is_sweep;
        if (nr == MAX_ROWS) {
            rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(results_h5), "figure: more than %d sweep rows", MAX_ROWS);
            break;
        }
        rc = read_row(&r, dir, names[i], &h[nr], xname, sizeof xname, &is_sweep, err);
        nr += !rc && is_sweep;
    }
    dlx_h5r_close(&r);
    free(names);
    for (int a = 0; a < nr; a++) /* in the table's row order */
        for (int b = a + 1; b < nr; b++)
            if (h[b].index < h[a].index) {
                row_hist t = h[a];
                h[a] = h[b];
                h[b] = t;
            }
    if (!rc && nr == 0)
        rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(results_h5), "figure: no row ran a sweep (model kind sweep)");
    if (!rc)
        rc = repro_write(h, nr, xname, png, script, err);
    for (int k = 0; k < MAX_ROWS; k++)
        free(h[k].x);
    return rc;
}
