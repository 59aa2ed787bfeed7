/* The energy family's pictures.
 *
 * After a run: <run>/energy.h5 holds E on a grid x grid lattice over the box
 * (/energy, row 0 at the top of the box, column 0 at its left), the box
 * (/box: x0 x1 y0 y1) and up to 500 held-out points (/points), with the
 * strategy, the data set and the AUC as attributes; <run>/energy.png draws
 * the surface with the points on top.
 *
 * For `dlx reproduce` (dlx_energy_figure): every row's energy.h5, read from
 * <results.h5's directory>/<row>/ through the bounded reader, one panel per
 * row, a line of panels per `panel` (the data set), a column per `label`
 * (the strategy). Colour is the energy's percentile among the grid's points
 * (0: the lowest energy in the box, 1: the highest), so surfaces whose
 * energies have different units share one scale, and it shows what the AUC
 * measures: the order of the energies. dlx draws that PNG itself (libpng),
 * each panel captioned "<strategy>: AUC <auc>", and writes a gnuplot script
 * (data beside it) that redraws it with axes, a colour box and titles, and
 * also draws each line of panels as <figure>_<panel>.png.
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/h5read.h"
#include "../core/h5write.h"
#include "../core/plot.h"
#include "../core/png.h"
#include "../core/rundir.h"
#include "../core/toy2d.h"
#include "energy_internal.h"
#include "repro_rows.h"

#define SURFACE_POINTS 500 /* held-out points drawn on a surface */
#define FIG_SIDE 64        /* lattice points per side in the figure (the grid is subsampled) */
#define FIG_GRID_MAX 1024

typedef struct panel {
    char row[64], label[64], panel[64];
    int side;
    float *rank;    /* side x side percentiles */
    float *pts;     /* np points */
    int np;
    double box[4], auc;
} panel;

/* The percentile of every value among all of them (ties: the mean rank), in [0, 1]. */
typedef struct ranked {
    float v;
    int i;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    float x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

static int percentiles(const float *e, int n, float *out)
{
    ranked *r = malloc((size_t)n * sizeof *r);
    if (!r)
        return -1;
    for (int i = 0; i < n; i++)
        r[i] = (ranked){e[i], i};
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && cmp_ranked(&r[i], &r[j]) == 0)
            j++;
        float p = n > 1 ? (float)(0.5 * (i + j - 1) / (double)(n - 1)) : 0.0f;
        for (int q = i; q < j; q++)
            out[r[q].i] = p;
        i = j;
    }
    free(r);
    return 0;
}

/* A dark-blue .. teal .. yellow colour of t in [0, 1] (viridis' ends and middle). */
static void colour_of(float t, float rgb[3])
{
    static const float stops[5][3] = {{0.27f, 0.00f, 0.33f}, {0.23f, 0.32f, 0.55f}, {0.13f, 0.57f, 0.55f},
                                      {0.37f, 0.79f, 0.38f}, {0.99f, 0.91f, 0.14f}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    float s = t * 4.0f;
    int k = s >= 4.0f ? 3 : (int)s;
    float f = s - (float)k;
    for (int c = 0; c < 3; c++)
        rgb[c] = stops[k][c] + f * (stops[k + 1][c] - stops[k][c]);
}

/* One panel as an RGB tile (planar, 3 x side x side, values in [0, 1]) with the
 * points as white dots. */
static void draw_tile(const panel *p, float *tile)
{
    const int s = p->side;
    for (int i = 0; i < s * s; i++) {
        float rgb[3];
        colour_of(p->rank[i], rgb);
        for (int c = 0; c < 3; c++)
            tile[(size_t)c * s * s + i] = rgb[c];
    }
    for (int k = 0; k < p->np; k++) {
        double fx = (p->pts[2 * k] - p->box[0]) / (p->box[1] - p->box[0]);
        double fy = (p->box[3] - p->pts[2 * k + 1]) / (p->box[3] - p->box[2]);
        int col = (int)(fx * s), row = (int)(fy * s);
        if (col < 0 || col >= s || row < 0 || row >= s)
            continue;
        for (int c = 0; c < 3; c++)
            tile[(size_t)c * s * s + (size_t)row * s + col] = 1.0f;
    }
}

static int write_h5(const char *path, const en *c, const float *E, double auc, dlx_err *err)
{
    const int64_t G = c->grid, np = c->test_samples < SURFACE_POINTS ? c->test_samples : SURFACE_POINTS;
    dlx_h5w w;
    int rc = dlx_h5w_create(&w, path, 16384 + 4 * (uint64_t)(G * G + 2 * np) + 32, err);
    if (rc)
        return rc;
    hsize_t dg[2] = {(hsize_t)G, (hsize_t)G}, db[1] = {4}, dp[2] = {(hsize_t)np, 2};
    int bad = 0;
    struct { const char *name; int rank; hsize_t *dims; hid_t ftype, mtype; const void *data; } sets[3] = {
        {"/energy", 2, dg, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, E},
        {"/box", 1, db, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, c->box},
        {"/points", 2, dp, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, c->test},
    };
    for (int i = 0; i < 3 && !bad; i++) {
        hid_t sp = H5Screate_simple(sets[i].rank, sets[i].dims, NULL);
        hid_t ds = sp < 0 ? -1 : H5Dcreate2(w.f, sets[i].name, sets[i].ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        bad = ds < 0 || H5Dwrite(ds, sets[i].mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, sets[i].data) < 0;
        if (ds >= 0)
            H5Dclose(ds);
        if (sp >= 0)
            H5Sclose(sp);
    }
    if (!bad) bad = dlx_h5w_attr_text(w.f, "strategy", dlx_energy_strategies[c->strategy]) < 0;
    if (!bad) bad = dlx_h5w_attr_text(w.f, "dataset", dlx_toy_names[c->toy]) < 0;
    if (!bad) bad = dlx_h5w_attr_f64(w.f, "auc", auc) < 0;
    if (bad) {
        dlx_h5w_abort(&w);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write the energy surface");
    }
    return dlx_h5w_commit(&w, err);
}

int dlx_en_write_surface(const dlx_model *m, const en *c, dlx_err *err)
{
    const int64_t G = c->grid;
    float *Y = malloc((size_t)G * G * 2 * sizeof *Y), *E = malloc((size_t)G * G * sizeof *E);
    float *tile = malloc((size_t)3 * G * G * sizeof *tile);
    panel p = {.side = (int)G, .pts = c->test, .np = (int)(c->test_samples < SURFACE_POINTS ? c->test_samples : SURFACE_POINTS)};
    p.rank = malloc((size_t)G * G * sizeof *p.rank);
    memcpy(p.box, c->box, sizeof p.box);
    char h5[DLX_RUNDIR_MAX + 32], png[DLX_RUNDIR_MAX + 32];
    int rc = Y && E && tile && p.rank ? 0 : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the surface");
    for (int64_t i = 0; !rc && i < G; i++) /* cell centres, row 0 at the top */
        for (int64_t j = 0; j < G; j++) {
            Y[2 * (i * G + j)] = (float)(c->box[0] + (c->box[1] - c->box[0]) * (j + 0.5) / G);
            Y[2 * (i * G + j) + 1] = (float)(c->box[3] - (c->box[3] - c->box[2]) * (i + 0.5) / G);
        }
    if (!rc) rc = dlx_en_energy(m, c, Y, G * G, E, err);
    double auc = NAN;
    dlx_results_get(&m->results, "auc", &auc);
    if (!rc) rc = dlx_path_join(h5, sizeof h5, m->run_dir, "energy.h5", err);
    if (!rc) rc = dlx_path_join(png, sizeof png, m->run_dir, "energy.png", err);
    if (!rc) rc = write_h5(h5, c, E, auc, err);
    if (!rc && percentiles(E, (int)(G * G), p.rank))
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    if (!rc) {
        draw_tile(&p, tile);
        char cap[96];
        snprintf(cap, sizeof cap, "%s on %s: AUC %.3f", dlx_energy_strategies[c->strategy], dlx_toy_names[c->toy], auc);
        const char *caps[1] = {cap};
        dlx_grid g = {.rows = 1, .cols = 1, .c = 3, .h = (int)G, .w = (int)G, .zoom = G < 256 ? 256 / (int)G : 1,
                      .lo = 0.0f, .hi = 1.0f, .border = 2, .captions = caps,
                      .title = "E percentile (dark: low)"};
        rc = dlx_png_write_grid(png, &g, tile, 1, err);
    }
    if (!rc)
        dlx_run_info(m, "wrote %s and %s (AUC %.4f)", h5, png, auc);
    free(Y);
    free(E);
    free(tile);
    free(p.rank);
    return rc;
}

/* ---- the reproduce figure ---- */

/* Row `name`'s surface from <dir>/<name>/energy.h5, subsampled to FIG_SIDE. */
static int read_panel(const char *dir, panel *p, dlx_err *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s/energy.h5", dir, p->row);
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, path, err);
    if (rc)
        return rc;
    float *E = NULL, *pts = NULL;
    dlx_h5r_info info;
    rc = dlx_h5r_info_of(&r, "/energy", &info, err);
    if (!rc && (info.ndim != 2 || info.dims[0] != info.dims[1] || info.dims[0] < FIG_SIDE || info.dims[0] > FIG_GRID_MAX ||
                info.dims[0] % FIG_SIDE))
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "/energy: expected a square grid of a multiple of %d "
                          "points per side, at most %d", FIG_SIDE, FIG_GRID_MAX);
    const int G = rc ? 0 : (int)info.dims[0];
    int64_t n_e = 0, n_p = 0;
    dlx_h5r_info ie = {0}, ip = {0};
    if (!rc) rc = dlx_h5r_read_alloc(&r, "/energy", H5T_FLOAT, H5T_NATIVE_FLOAT, (int64_t)G * G, (void **)&E, &ie, err);
    if (!rc) rc = dlx_h5r_read_exact(&r, "/box", H5T_FLOAT, H5T_NATIVE_DOUBLE, 1, (const int64_t[]){4}, p->box, err);
    if (!rc) rc = dlx_h5r_read_alloc(&r, "/points", H5T_FLOAT, H5T_NATIVE_FLOAT, 2 * SURFACE_POINTS, (void **)&pts, &ip, err);
    n_e = E ? ie.numel : 0;
    n_p = pts ? ip.numel : 0;
    if (!rc && dlx_h5r_has_attr(&r, "/", "auc"))
        rc = dlx_h5r_attr_f64(&r, "/", "auc", &p->auc, err);
    if (!rc && (n_e != (int64_t)G * G || n_p % 2 || !(p->box[1] > p->box[0]) || !(p->box[3] > p->box[2])))
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "/energy, /points or /box do not have the expected shapes");
    if (!rc) {
        const int step = G / FIG_SIDE;
        float *sub = malloc((size_t)FIG_SIDE * FIG_SIDE * sizeof *sub);
        p->rank = malloc((size_t)FIG_SIDE * FIG_SIDE * sizeof *p->rank);
        if (!sub || !p->rank) {
            free(sub);
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        } else {
            for (int i = 0; i < FIG_SIDE; i++)
                for (int j = 0; j < FIG_SIDE; j++)
                    sub[i * FIG_SIDE + j] = E[(size_t)(i * step + step / 2) * G + (size_t)(j * step + step / 2)];
            if (percentiles(sub, FIG_SIDE * FIG_SIDE, p->rank))
                rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
            free(sub);
            p->side = FIG_SIDE;
            p->pts = pts;
            p->np = (int)(n_p / 2);
            pts = NULL;
        }
    }
    free(E);
    free(pts);
    dlx_h5r_close(&r);
    return rc;
}

/* The index of s in list (appending it), at most max entries. */
static int index_of(char (*list)[64], int *n, int max, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(list[i], s))
            return i;
    if (*n >= max)
        return -1;
    snprintf(list[*n], 64, "%s", s);
    return (*n)++;
}

static void write_panel_data(FILE *fd, const panel *p)
{
    const int s = p->side;
    for (int i = 0; i < s; i++) {
        for (int j = 0; j < s; j++)
            fprintf(fd, "%g %g %.4f\n", p->box[0] + (p->box[1] - p->box[0]) * (j + 0.5) / s,
                    p->box[3] - (p->box[3] - p->box[2]) * (i + 0.5) / s, p->rank[i * s + j]);
        fprintf(fd, "\n");
    }
    fprintf(fd, "\n");
    for (int k = 0; k < p->np; k++)
        fprintf(fd, "%g %g\n", p->pts[2 * k], p->pts[2 * k + 1]);
    fprintf(fd, "\n\n");
}

/* One multiplot of the panels at[0..n) (index in the data file: 2 blocks each). */
static void script_plot(FILE *fs, const char *png, const panel *ps, const int *at, int n, int rows, int cols,
                        const char *dat)
{
    fprintf(fs, "set output ");
    dlx_gp_quoted(fs, png);
    fprintf(fs, "\nset terminal pngcairo size %d,%d enhanced font 'sans,9'\nset output ", 280 * cols + 60, 250 * rows + 40);
    dlx_gp_quoted(fs, png);
    fprintf(fs, "\nset multiplot layout %d,%d title 'energy surfaces: colour = percentile of E over the box (0 lowest), "
                "white = held-out data'\n", rows, cols);
    for (int q = 0; q < n; q++) {
        const panel *p = &ps[at[q]];
        fprintf(fs, "%s\n", q % cols == cols - 1 || q == n - 1 ? "set colorbox" : "unset colorbox");
        fprintf(fs, "set title '%s, %s: AUC %.3f'\n", p->label, p->panel, p->auc);
        fprintf(fs, "set xrange [%g:%g]\nset yrange [%g:%g]\n", p->box[0], p->box[1], p->box[2], p->box[3]);
        fprintf(fs, "plot ");
        dlx_gp_quoted(fs, dat);
        fprintf(fs, " index %d with image notitle, ", 2 * at[q]);
        dlx_gp_quoted(fs, dat);
        fprintf(fs, " index %d with points pt 7 ps 0.25 lc rgb 'white' notitle\n", 2 * at[q] + 1);
    }
    fprintf(fs, "unset multiplot\n");
}

static int draw_libpng(const char *png, const panel *ps, int n, const int *cell, int rows, int cols, dlx_err *err)
{
    const int s = FIG_SIDE, per = 3 * s * s;
    float *tiles = calloc((size_t)rows * cols * per, sizeof *tiles);
    char (*caps)[48] = calloc((size_t)rows * cols, sizeof *caps);
    const char **cp = calloc((size_t)rows * cols, sizeof *cp);
    int rc = tiles && caps && cp ? 0 : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the figure");
    for (int i = 0; !rc && i < rows * cols; i++)
        cp[i] = caps[i];
    for (int k = 0; !rc && k < n; k++) {
        draw_tile(&ps[k], tiles + (size_t)cell[k] * per);
        snprintf(caps[cell[k]], 48, "%.12s %.14s %.3f", ps[k].label, ps[k].panel, ps[k].auc);
    }
    if (!rc) {
        dlx_grid g = {.rows = rows, .cols = cols, .c = 3, .h = s, .w = s, .zoom = 3, .lo = 0.0f, .hi = 1.0f, .border = 4,
                      .captions = cp, .title = "energy percentile over the box (dark low), held-out data white; AUC"};
        rc = dlx_png_write_grid(png, &g, tiles, rows * cols, err);
    }
    free(tiles);
    free(caps);
    free(cp);
    return rc;
}

int dlx_energy_figure(const char *results_h5, const char *png, const char *script_path, dlx_err *err)
{
    char dir[1024], dat[1100];
    snprintf(dir, sizeof dir, "%s", results_h5);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(dat, sizeof dat, "%s.dat", script_path);
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, results_h5, err);
    if (rc)
        return rc;
    dlx_repro_names l = {0};
    panel *ps = calloc(DLX_REPRO_ROWS_MAX, sizeof *ps);
    int n = 0, cell[DLX_REPRO_ROWS_MAX], n_lab = 0, n_pan = 0;
    char labels[16][64], panels[8][64];
    rc = ps ? dlx_repro_rows_list(&r, "/rows", &l, err) : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    /* the rows in table order (their index attribute), so columns and lines follow the table */
    int64_t *order_of = calloc((size_t)(l.n ? l.n : 1), sizeof *order_of);
    int *by_index = calloc((size_t)(l.n ? l.n : 1), sizeof *by_index);
    if (!rc && (!order_of || !by_index))
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int i = 0; !rc && i < l.n; i++) {
        char obj[96];
        snprintf(obj, sizeof obj, "/rows/%s", l.names[i]);
        order_of[i] = i;
        if (dlx_h5r_has_attr(&r, obj, "index"))
            rc = dlx_h5r_attr_i64(&r, obj, "index", &order_of[i], err);
        int at = i;
        for (; at > 0 && order_of[by_index[at - 1]] > order_of[i]; at--)
            by_index[at] = by_index[at - 1];
        by_index[at] = i;
    }
    for (int q = 0; !rc && q < l.n; q++) {
        const int i = by_index[q];
        panel *p = &ps[n];
        char obj[96];
        snprintf(p->row, sizeof p->row, "%s", l.names[i]);
        snprintf(obj, sizeof obj, "/rows/%s", p->row);
        rc = dlx_repro_rows_label(&r, obj, "label", p->label, sizeof p->label, err);
        if (!rc) rc = dlx_repro_rows_label(&r, obj, "panel", p->panel, sizeof p->panel, err);
        if (rc || !p->label[0] || !p->panel[0])
            continue;
        int col = index_of(labels, &n_lab, 16, p->label), row = index_of(panels, &n_pan, 8, p->panel);
        if (col < 0 || row < 0)
            continue;
        p->auc = NAN;
        if (!(rc = read_panel(dir, p, err)))
            cell[n++] = row * 16 + col;
    }
    free(order_of);
    free(by_index);
    dlx_h5r_close(&r);
    if (!rc && !n)
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(results_h5), "no row with a label and a panel to draw");
    for (int k = 0; k < n; k++) /* cells of a rows x n_lab grid */
        cell[k] = (cell[k] / 16) * n_lab + cell[k] % 16;
    if (!rc) rc = draw_libpng(png, ps, n, cell, n_pan, n_lab, err);
    FILE *fd = rc ? NULL : fopen(dat, "w"), *fs = rc ? NULL : fopen(script_path, "w");
    if (!rc && (!fd || !fs))
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the figure script or its data");
    if (!rc) {
        for (int k = 0; k < n; k++)
            write_panel_data(fd, &ps[k]);
        fprintf(fs, "set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21918c', 0.75 '#5ec962', 1 '#fde725')\n"
                    "set cbrange [0:1]\nset cblabel 'percentile of E'\nset xlabel 'y_1'\nset ylabel 'y_2'\n"
                    "set size ratio -1\nset tics out\n");
        int all[DLX_REPRO_ROWS_MAX], order = 0;
        for (int c = 0; c < n_pan * n_lab; c++)
            for (int k = 0; k < n; k++)
                if (cell[k] == c)
                    all[order++] = k;
        script_plot(fs, png, ps, all, order, n_pan, n_lab, dat);
        char stem[1024];
        snprintf(stem, sizeof stem, "%s", png);
        char *dot = strrchr(stem, '.');
        if (dot && !strcmp(dot, ".png"))
            *dot = '\0';
        for (int row = 0; row < n_pan; row++) { /* each data set alone, panels on a near-square grid */
            int at[16], m = 0;
            for (int q = 0; q < order; q++)
                if (cell[all[q]] / n_lab == row)
                    at[m++] = all[q];
            char one[1200];
            snprintf(one, sizeof one, "%s_%s.png", stem, panels[row]);
            int cols = m > 4 ? 4 : m;
            script_plot(fs, one, ps, at, m, (m + cols - 1) / cols, cols, dat);
        }
    }
    if (fd && fclose(fd) && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dat), "cannot write the figure data");
    if (fs && fclose(fs) && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the figure script");
    for (int k = 0; k < DLX_REPRO_ROWS_MAX && ps; k++) {
        free(ps[k].rank);
        free(ps[k].pts);
    }
    free(ps);
    free(l.names);
    return rc;
}
