/* The figure of a sparse-coding table for `dlx reproduce` (family sparse_coding):
 * prediction error against iterations, one log-log panel per dictionary size.
 * Library code: it writes the data and a gnuplot script; the CLI runs gnuplot. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/h5io.h"
#include "../core/h5read.h"
#include "../core/spec.h"
#include "lista.h"
#include "repro_rows.h"


#define MAX_ROWS DLX_REPRO_ROWS_MAX
#define MAX_POINTS 64

typedef struct fig_row {
    char name[64], label[64], panel[64], algo[32];
    int m;
    int np;
    double xs[MAX_POINTS], ys[MAX_POINTS];
} fig_row;

/* A row's algorithm and atoms (from its spec) and its err_T<k> points in
 * increasing k. Rows without a panel or an algorithm are left with np = 0. */
static int read_row(const dlx_h5r *r, fig_row *row, dlx_err *err)
{
    char obj[80], *spec_text = NULL;
    snprintf(obj, sizeof obj, "/rows/%s", row->name);
    int rc = dlx_repro_rows_label(r, obj, "label", row->label, sizeof row->label, err);
    if (!rc)
        rc = dlx_repro_rows_label(r, obj, "panel", row->panel, sizeof row->panel, err);
    if (!rc && dlx_h5r_has_attr(r, obj, "spec_text"))
        rc = dlx_h5r_attr_string(r, obj, "spec_text", DLX_SPEC_TEXT_MAX, &spec_text, err);
    if (rc)
        return rc;
    dlx_spec *sp = NULL;
    dlx_err ignored;
    if (spec_text && !dlx_spec_load_string(spec_text, row->name, &sp, &ignored)) {
        dlx_spec_node *a = dlx_spec_path(sp, "model.algorithm"), *mm = dlx_spec_path(sp, "model.atoms");
        for (int k = 0; a && a->scalar && dlx_sparse_coding_algos[k]; k++) /* a known name only */
            if (!strcmp(a->scalar, dlx_sparse_coding_algos[k]))
                snprintf(row->algo, sizeof row->algo, "%s", a->scalar);
        if (mm && mm->scalar)
            row->m = (int)strtol(mm->scalar, NULL, 10);
        dlx_spec_destroy(sp);
    }
    free(spec_text);
    if (!row->panel[0] || !row->algo[0])
        return 0;
    dlx_repro_names l;
    if ((rc = dlx_repro_rows_list(r, obj, &l, err))) {
        free(l.names);
        return rc;
    }
    int ks[MAX_POINTS], nk = 0;
    for (int j = 0; j < l.n && nk < MAX_POINTS; j++) {
        char *end;
        if (strncmp(l.names[j], "err_T", 5))
            continue;
        long k = strtol(l.names[j] + 5, &end, 10);
        if (*end || end == l.names[j] + 5 || k < 0 || k > 1000000)
            continue;
        int at = nk++;
        for (; at > 0 && ks[at - 1] > k; at--)
            ks[at] = ks[at - 1];
        ks[at] = (int)k;
    }
    free(l.names);
    bool lista = !strcmp(row->algo, "lista"), cod = !strcmp(row->algo, "cod") || !strcmp(row->algo, "lcod");
    for (int j = 0; j < nk && !rc; j++) {
        char name[112];
        snprintf(name, sizeof name, "%s/err_T%d", obj, ks[j]);
        rc = dlx_h5r_read_f64(r, name, &row->ys[j], err);
        row->xs[j] = lista ? ks[j] + 1 : cod ? (double)ks[j] / (row->m > 0 ? row->m : 1) : ks[j];
    }
    row->np = rc ? 0 : nk;
    return rc;
}

/* One panel per dictionary size: prediction error against iterations, log-log.
 * LISTA at depth T sits at T + 1 (its cost in matrix products); CoD's x is the
 * number of coordinate updates divided by m (so one unit = one sweep's cost). */
int dlx_sparse_coding_figure(const char *results_h5, const char *png, const char *script_path, dlx_err *err)
{
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, results_h5, err);
    if (rc)
        return rc;
    fig_row *rows = calloc(MAX_ROWS, sizeof *rows);
    char dat[600];
    snprintf(dat, sizeof dat, "%s.dat", script_path);
    FILE *fd = NULL, *fs = NULL;
    dlx_repro_names l = {0};
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
        rc = read_row(&r, &rows[i], err);
    }
    if (rc)
        goto out;
    fd = fopen(dat, "w");
    fs = fopen(script_path, "w");
    if (!fd || !fs) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the figure script or its data");
        goto out;
    }
    char panels[8][64];
    int n_panels = 0, block = 0;
    int blocks_of[8][MAX_ROWS], n_blocks[8] = {0};
    char titles[MAX_ROWS][80];
    int colour[MAX_ROWS] = {0};
    for (int i = 0; i < l.n; i++) {
        const fig_row *row = &rows[i];
        if (!row->np)
            continue;
        int p;
        for (p = 0; p < n_panels && strcmp(panels[p], row->panel); p++)
            ;
        if (p == n_panels && n_panels < 8)
            snprintf(panels[n_panels++], 64, "%s", row->panel);
        if (p >= 8)
            continue;
        for (int j = 0; j < row->np; j++)
            fprintf(fd, "%g %g\n", row->xs[j], row->ys[j]);
        fprintf(fd, "\n\n");
        snprintf(titles[block], sizeof titles[block], "%s", row->label[0] ? row->label : row->algo);
        for (int a = 0; dlx_sparse_coding_algos[a]; a++) /* one colour per algorithm in every panel */
            if (!strcmp(dlx_sparse_coding_algos[a], row->algo))
                colour[block] = a + 1;
        blocks_of[p][n_blocks[p]++] = block++;
    }
    fprintf(fs, "set terminal pngcairo size %d,480 enhanced font 'sans,10'\nset output '%s'\n", 520 * (n_panels ? n_panels : 1), png);
    fprintf(fs, "set logscale xy\nset format y '10^{%%L}'\nset format x '%%g'\nset grid\nset key top right\nset xlabel 'iterations (LISTA: T+1 layers; CoD: coordinate updates / m)'\n"
                "set ylabel 'prediction error ||Z - Z*||^2'\nset multiplot layout 1,%d\n", n_panels ? n_panels : 1);
    for (int p = 0; p < n_panels; p++) {
        fprintf(fs, "set title '%s'\nplot ", panels[p]);
        for (int j = 0; j < n_blocks[p]; j++)
            fprintf(fs, "%s'%s' index %d with linespoints lw 2 lt %d title '%s'", j ? ", " : "", dat, blocks_of[p][j],
                    colour[blocks_of[p][j]], titles[blocks_of[p][j]]);
        fprintf(fs, "\n");
    }
    fprintf(fs, "unset multiplot\n");
out:
    if (fd && fclose(fd) && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dat), "cannot write the figure data");
    if (fs && fclose(fs) && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the figure script");
    free(rows);
    free(l.names);
    dlx_h5r_close(&r);
    return rc;
}

