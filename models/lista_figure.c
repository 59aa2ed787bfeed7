/* The figure of a sparse-coding table for `dlx reproduce` (family sparse_coding):
 * prediction error against iterations, one log-log panel per dictionary size.
 * Library code: it writes the data and a gnuplot script; the CLI runs gnuplot. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/h5io.h"
#include "../core/spec.h"
#include "lista.h"


typedef struct fig_row { char name[64], label[64], panel[64]; int algo, m; } fig_row;

static herr_t collect_row(hid_t g, const char *name, const H5L_info_t *info, void *user)
{
    (void)info;
    fig_row **rows = user;
    (void)g;
    int n = 0;
    while ((*rows)[n].name[0])
        n++;
    if (n >= 63)
        return 0;
    snprintf((*rows)[n].name, sizeof (*rows)[n].name, "%s", name);
    return 0;
}

static void read_attr_str(hid_t obj, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    if (H5Aexists(obj, name) <= 0)
        return;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &s) >= 0 && s) {
            snprintf(out, n, "%s", s);
            H5free_memory(s);
        }
        H5Tclose(mt);
    } else {
        size_t sz = H5Tget_size(t);
        char *buf = calloc(1, sz + 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz);
        if (buf && H5Aread(a, mt, buf) >= 0)
            snprintf(out, n, "%s", buf);
        H5Tclose(mt);
        free(buf);
    }
    H5Tclose(t);
    H5Aclose(a);
}

static double read_scalar(hid_t g, const char *name)
{
    double v = NAN;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d >= 0) {
        if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
            v = NAN;
        H5Dclose(d);
    }
    return v;
}

/* One panel per dictionary size: prediction error against iterations, log-log.
 * LISTA at depth T sits at T + 1 (its cost in matrix products); CoD's x is the
 * number of coordinate updates divided by m (so one unit = one sweep's cost). */
int dlx_sparse_coding_figure(const char *results_h5, const char *png, const char *script_path, dlx_err *err)
{
    hid_t f = H5Fopen(results_h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(results_h5), "cannot open the results file");
    fig_row *rows = calloc(64, sizeof *rows);
    char dat[600];
    snprintf(dat, sizeof dat, "%s.dat", script_path);
    FILE *fd = fopen(dat, "w"), *fs = fopen(script_path, "w");
    int rc = 0;
    if (!rows || !fd || !fs) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the figure script or its data");
        goto out;
    }
    hid_t g = H5Gopen2(f, "/rows", H5P_DEFAULT);
    if (g < 0) {
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(results_h5), "/rows is missing");
        goto out;
    }
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_row, &rows);
    char panels[8][64];
    int n_panels = 0, block = 0;
    int blocks_of[8][64], n_blocks[8] = {0};
    char titles[64][80];
    int colour[64] = {0};
    for (int i = 0; rows[i].name[0]; i++) {
        hid_t rg = H5Gopen2(g, rows[i].name, H5P_DEFAULT);
        char spec_text[8192], algo[32] = "", label[64];
        read_attr_str(rg, "spec_text", spec_text, sizeof spec_text);
        read_attr_str(rg, "label", label, sizeof label);
        read_attr_str(rg, "panel", rows[i].panel, sizeof rows[i].panel);
        dlx_spec *sp = NULL;
        dlx_err e2;
        int m_atoms = 0;
        if (!dlx_spec_load_string(spec_text, rows[i].name, &sp, &e2)) {
            dlx_spec_node *a = dlx_spec_path(sp, "model.algorithm"), *mm = dlx_spec_path(sp, "model.atoms");
            if (a && a->scalar) snprintf(algo, sizeof algo, "%s", a->scalar);
            if (mm && mm->scalar) m_atoms = (int)strtol(mm->scalar, NULL, 10);
            dlx_spec_destroy(sp);
        }
        if (!rows[i].panel[0] || !algo[0]) {
            H5Gclose(rg);
            continue;
        }
        /* the err_T<k> datasets of this row, in increasing k */
        double xs[64], ys[64];
        int np = 0;
        fig_row *names = calloc(64, sizeof *names);
        if (names)
            H5Literate(rg, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_row, &names);
        int ks[64], nk = 0;
        for (int j = 0; names && names[j].name[0] && nk < 64; j++) {
            char *end;
            if (strncmp(names[j].name, "err_T", 5))
                continue;
            long k = strtol(names[j].name + 5, &end, 10);
            if (*end || end == names[j].name + 5)
                continue;
            int at = nk++;
            while (at > 0 && ks[at - 1] > k) {
                ks[at] = ks[at - 1];
                at--;
            }
            ks[at] = (int)k;
        }
        free(names);
        for (int j = 0; j < nk; j++) {
            int k = ks[j];
            char name[48];
            snprintf(name, sizeof name, "err_T%d", k);
            double y = read_scalar(rg, name);
            double x = !strcmp(algo, "lista") ? k + 1
                       : !strcmp(algo, "cod") || !strcmp(algo, "lcod") ? (double)k / (m_atoms > 0 ? m_atoms : 1) : k;
            xs[np] = x;
            ys[np++] = y;
        }
        H5Gclose(rg);
        if (!np)
            continue;
        int p;
        for (p = 0; p < n_panels && strcmp(panels[p], rows[i].panel); p++)
            ;
        if (p == n_panels && n_panels < 8)
            snprintf(panels[n_panels++], 64, "%s", rows[i].panel);
        if (p >= 8)
            continue;
        for (int j = 0; j < np; j++)
            fprintf(fd, "%g %g\n", xs[j], ys[j]);
        fprintf(fd, "\n\n");
        snprintf(titles[block], sizeof titles[block], "%s", label[0] ? label : algo);
        for (int a = 0; dlx_sparse_coding_algos[a]; a++) /* one colour per algorithm in every panel */
            if (!strcmp(dlx_sparse_coding_algos[a], algo))
                colour[block] = a + 1;
        blocks_of[p][n_blocks[p]++] = block++;
    }
    H5Gclose(g);
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
    H5Fclose(f);
    return rc;
}

