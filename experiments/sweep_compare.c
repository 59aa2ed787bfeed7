/* Sweep tables side by side (experiments/sweep_compare.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"
#include "sweep_compare.h"

/* The sweep's name (the first top-level `name:` of the text the table
 * stores: the sweep spec, then its base's documents), else the file name. */
static void table_label(const dlx_sweep_table *t, const char *path, char *label, size_t n)
{
    const char *base = strrchr(path, '/');
    snprintf(label, n, "%s", base ? base + 1 : path);
    for (const char *p = t->spec_text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, "---", 3) == 0)
            break;
        if (strncmp(p, "name:", 5) == 0) {
            p += 5;
            while (*p == ' ' || *p == '"' || *p == '\'')
                p++;
            size_t len = strcspn(p, "\"'\n #");
            snprintf(label, n, "%.*s", (int)len, p);
            break;
        }
    }
}

int dlx_sweep_compare(const char *const *tables, int n_tables, const char *by, dlx_sweep_cmp_row *rows, int max_rows,
                      int *n_rows, dlx_err *err)
{
    *n_rows = 0;
    for (int k = 0; k < n_tables; k++) {
        dlx_sweep_table t;
        memset(&t, 0, sizeof t);
        int rc = dlx_sweep_table_read(tables[k], &t, err);
        if (rc)
            return rc;
        const char *need[] = {by, "train_loss", "test_loss"};
        for (int i = 0; !rc && i < 3; i++)
            if (dlx_sweep_table_col(&t, need[i]) < 0)
                rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(tables[k]), "has no column '%s' (a comparison needs "
                                  "%s, train_loss and test_loss)", need[i], by);
        dlx_sweep_group g[64];
        int ng = 0;
        if (!rc) rc = dlx_sweep_summary(&t, by, "test_loss", "train_loss", g, 64, &ng, err);
        char label[64];
        table_label(&t, tables[k], label, sizeof label);
        for (int i = 0; !rc && i < ng; i++) {
            if (*n_rows == max_rows) {
                rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "compare: more than %d groups in all", max_rows);
                break;
            }
            dlx_sweep_cmp_row *r = &rows[(*n_rows)++];
            snprintf(r->label, sizeof r->label, "%s", label);
            r->key = g[i].keys[0];
            r->n = g[i].n;
            r->mean = g[i].mean;
            r->std = g[i].std;
            r->rho = g[i].pearson;
            r->rho_lo = g[i].pearson_lo;
            r->rho_hi = g[i].pearson_hi;
        }
        dlx_sweep_table_free(&t);
        if (rc)
            return rc;
    }
    if (*n_rows == 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(tables[0]), "compare: no finished runs in the tables");
    return 0;
}

int dlx_sweep_compare_figure(const dlx_sweep_cmp_row *rows, int n_rows, const char *by, const char *png,
                             const char *script, dlx_err *err)
{
    char dat[700];
    snprintf(dat, sizeof dat, "%s", png);
    char *dot = strrchr(dat, '.');
    snprintf(dot && !strcmp(dot, ".png") ? dot : dat + strlen(dat), 8, ".dat");
    FILE *f = fopen(dat, "w");
    if (!f)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dat), "cannot write");
    /* one gnuplot data block per table, two blank lines apart (index k) */
    int blocks = 0;
    const char *labels[32];
    for (int i = 0; i < n_rows; i++) {
        if (i == 0 || strcmp(rows[i].label, rows[i - 1].label)) {
            if (blocks == 32)
                break;
            fprintf(f, "%s# %s: %s runs test_loss_mean test_loss_std rho rho_lo rho_hi\n", i ? "\n\n" : "",
                    rows[i].label, by);
            labels[blocks++] = rows[i].label;
        }
        fprintf(f, "%.9g %lld %.9g %.9g %.9g %.9g %.9g\n", rows[i].key, (long long)rows[i].n, rows[i].mean,
                rows[i].std, rows[i].rho, rows[i].rho_lo, rows[i].rho_hi);
    }
    if (ferror(f) | fclose(f))
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dat), "write failed");
    FILE *s = fopen(script, "w");
    if (!s)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script), "cannot write");
    fprintf(s, "set terminal pngcairo size 1200,540 enhanced font 'Sans,11'\nset output '%s'\n", png);
    fprintf(s, "set multiplot layout 1,2\nset grid\nset logscale x\nset key below\n");
    fprintf(s, "set xlabel '%s' noenhanced\nset offsets graph 0.05, graph 0.05, 0, 0\n", by);
    fprintf(s, "set title 'Pearson(train loss, test loss) with 95%% bootstrap interval'\n");
    fprintf(s, "set ylabel 'Pearson correlation'\nset yrange [*:1]\nplot ");
    for (int k = 0; k < blocks; k++) /* shift the tables apart a little on x so the bars do not overlap */
        fprintf(s, "%s'%s' index %d using ($1*%.3f):5:6:7 with yerrorlines lw 2 pt 7 title '%s' noenhanced",
                k ? ", " : "", dat, k, 1.0 + 0.04 * (k - 0.5 * (blocks - 1)), labels[k]);
    fprintf(s, "\nset title 'spread of the final test loss over the runs'\nset ylabel 'std of test loss (NLL)'\n");
    fprintf(s, "set yrange [0:*]\nplot ");
    for (int k = 0; k < blocks; k++)
        fprintf(s, "%s'%s' index %d using 1:4 with linespoints lw 2 pt 7 title '%s' noenhanced", k ? ", " : "", dat, k,
                labels[k]);
    fprintf(s, "\nunset multiplot\n");
    if (ferror(s) | fclose(s))
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script), "write failed");
    return 0;
}
