/* Sweep figures: each writes a data file and a gnuplot script (pngcairo);
 * the CLI runs gnuplot. Library code writes files and never runs programs.
 *   histogram: column x, one overlaid histogram per value of `by`, common
 *              bins, optional shaded reference band (the spin-glass theory band)
 *   scatter:   x against y, one colour per value of `by`
 *   surface:   the 1-1-1 linear net's loss over (w1, w2) as a heat map of
 *              log10(loss + 1e-3), with the sweep's end points (w1, w2) on top
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        keys[i] = g[i].key;
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
    return surface(s, t, f, dir, stem, script, script_n, err);
}
