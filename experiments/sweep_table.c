/* The sweep table: rows of (run, columns) in memory and in HDF5 (layout in
 * sweep.h), shard parsing and merging. The file is rewritten whole and
 * atomically after each run: tables hold thousands of rows at most, and a
 * kill at any moment then leaves the previous complete table.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "../core/h5io.h"
#include "../core/h5read.h"
#include "../core/h5write.h"
#include "sweep.h"

int dlx_sweep_table_init(dlx_sweep_table *t, const dlx_sweep *s, dlx_err *err)
{
    memset(t, 0, sizeof *t);
    t->n_cols = s->n_cols;
    memcpy(t->cols, s->cols, sizeof t->cols);
    t->n_runs = s->n_runs;
    t->spec_text = strdup(s->spec_text);
    if (!t->spec_text)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int k = 0; k < s->n_axes; k++) {
        const dlx_sweep_axis *a = &s->axes[k];
        t->axis[k] = true;
        if (!a->is_text)
            continue;
        size_t len = 1;
        for (int i = 0; i < a->n; i++)
            len += strlen(a->text[i]) + 1;
        if (!(t->labels[k] = malloc(len))) {
            dlx_sweep_table_free(t);
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        }
        t->labels[k][0] = '\0';
        for (int i = 0; i < a->n; i++)
            strcat(strcat(t->labels[k], i ? "\n" : ""), a->text[i]);
    }
    return 0;
}

void dlx_sweep_table_free(dlx_sweep_table *t)
{
    free(t->run);
    free(t->val);
    free(t->spec_text);
    for (int c = 0; c < DLX_SWEEP_MAX_COLS; c++)
        free(t->labels[c]);
    memset(t, 0, sizeof *t);
}

void dlx_sweep_table_value_text(const dlx_sweep_table *t, int c, double v, char *buf, size_t n)
{
    const char *p = c >= 0 && c < t->n_cols ? t->labels[c] : NULL;
    for (int64_t i = 0; p && v >= 0 && v == floor(v); i++) {
        const char *nl = strchr(p, '\n');
        if (i == (int64_t)v) {
            snprintf(buf, n, "%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
            /* the labels come from the file and end up in gnuplot scripts:
             * no quote, backquote, backslash or control character */
            for (char *q = buf; *q; q++)
                if (*q == '\'' || *q == '"' || *q == '`' || *q == '\\' || (unsigned char)*q < 32)
                    *q = '_';
            return;
        }
        p = nl ? nl + 1 : NULL;
    }
    snprintf(buf, n, "%g", v);
}

static int64_t find_pos(const dlx_sweep_table *t, int64_t run)
{
    int64_t lo = 0, hi = t->n; /* first row with run >= `run` */
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (t->run[mid] < run)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool dlx_sweep_table_has(const dlx_sweep_table *t, int64_t run)
{
    int64_t p = find_pos(t, run);
    return p < t->n && t->run[p] == run;
}

int dlx_sweep_table_col(const dlx_sweep_table *t, const char *name)
{
    for (int i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i], name) == 0)
            return i;
    return -1;
}

int dlx_sweep_table_add(dlx_sweep_table *t, int64_t run, const double *row, dlx_err *err)
{
    int64_t p = find_pos(t, run);
    size_t w = (size_t)t->n_cols;
    if (p < t->n && t->run[p] == run) {
        memcpy(t->val + (size_t)p * w, row, w * sizeof *row);
        return 0;
    }
    if (t->n == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 64;
        int64_t *r = realloc(t->run, (size_t)cap * sizeof *r);
        if (r)
            t->run = r;
        double *v = r ? realloc(t->val, (size_t)cap * w * sizeof *v + 1) : NULL;
        if (!v)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory growing the sweep table");
        t->val = v;
        t->cap = cap;
    }
    memmove(t->run + p + 1, t->run + p, (size_t)(t->n - p) * sizeof *t->run);
    memmove(t->val + (size_t)(p + 1) * w, t->val + (size_t)p * w, (size_t)(t->n - p) * w * sizeof *t->val);
    t->run[p] = run;
    memcpy(t->val + (size_t)p * w, row, w * sizeof *row);
    t->n++;
    return 0;
}

static int h5fail(dlx_err *err, int code, const char *path, const char *what)
{
    return dlx_err_setf(err, code, DLX_FILELOC(path), "%s", what);
}

static int write_1d(hid_t g, const char *name, hid_t type, int64_t n, const void *data)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(g, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d < 0 || (n > 0 && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) ? -1 : 0;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(space);
    return rc;
}

/* Column `name` of group g is an axis (attribute axis = 1), with labels when a text axis. */
static int write_attrs(hid_t g, const char *name, const char *labels)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    int rc = dlx_h5w_attr_i64(d, "axis", 1);
    if (!rc && labels)
        rc = dlx_h5w_attr_text(d, "labels", labels);
    H5Dclose(d);
    return rc;
}

/* Everything that goes into the table file f; -1 on any HDF5 failure. */
static int write_contents(hid_t f, const dlx_sweep_table *t)
{
    int rc = dlx_h5w_attr_text(f, "format", "dlx-sweep");
    char cols[DLX_SWEEP_MAX_COLS * 49] = "";
    for (int c = 0; c < t->n_cols; c++)
        snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s%s", c ? "," : "", t->cols[c]);
    if (!rc) rc = dlx_h5w_attr_text(f, "columns", cols);
    if (!rc) rc = dlx_h5w_attr_i64(f, "runs", t->n_runs);
    if (!rc) {
        hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
        H5Tset_size(type, strlen(t->spec_text) + 1);
        hid_t d = H5Dcreate2(f, "spec", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        rc = d < 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->spec_text) < 0 ? -1 : 0;
        if (d >= 0)
            H5Dclose(d);
        H5Sclose(space);
        H5Tclose(type);
    }
    hid_t g = rc ? -1 : H5Gcreate2(f, "table", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        rc = -1;
    if (!rc) rc = write_1d(g, "run", H5T_NATIVE_INT64, t->n, t->run);
    double *col = malloc((size_t)(t->n ? t->n : 1) * sizeof *col);
    if (!col)
        rc = -1;
    for (int c = 0; c < t->n_cols && !rc; c++) {
        for (int64_t i = 0; i < t->n; i++)
            col[i] = t->val[(size_t)i * (size_t)t->n_cols + (size_t)c];
        rc = write_1d(g, t->cols[c], H5T_NATIVE_DOUBLE, t->n, col);
        if (!rc && t->axis[c]) /* which columns are axes, and a text axis's values */
            rc = write_attrs(g, t->cols[c], t->labels[c]);
    }
    free(col);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

int dlx_sweep_table_write(const char *path, const dlx_sweep_table *t, dlx_err *err)
{
    /* the run indices and columns, the spec, and about 2 KiB of headers per
     * dataset and 16 KiB for the rest (a 4-column table of 2 rows takes 2 KiB) */
    uint64_t bytes = 16384 + strlen(t->spec_text) + (uint64_t)(t->n_cols + 2) * (2048 + 8 * (uint64_t)t->n);
    for (int c = 0; c < t->n_cols; c++)
        bytes += t->labels[c] ? 512 + strlen(t->labels[c]) : 0;
    dlx_h5w w;
    int rc = dlx_h5w_create(&w, path, bytes, err);
    if (rc)
        return rc;
    if (write_contents(w.f, t)) {
        char why[160];
        dlx_h5r_reason(why);
        dlx_h5w_abort(&w);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write the sweep table%s%s", why[0] ? ": " : "",
                            why);
    }
    return dlx_h5w_commit(&w, err);
}

/* The most runs a sweep may have (experiments/sweep.c refuses larger sweeps). */
#define SWEEP_MAX_RUNS 100000000

/* The header: format, columns (each a known-length name), total runs, spec. */
static int read_header(const dlx_h5r *r, dlx_sweep_table *t, dlx_err *err)
{
    char *fmt = NULL, *cols = NULL;
    dlx_err ignored;
    int rc = 0;
    if (dlx_h5r_attr_string(r, "/", "format", 31, &fmt, &ignored) || strcmp(fmt, "dlx-sweep") != 0) {
        free(fmt);
        return h5fail(err, DLX_EFORMAT, r->path, "not a dlx sweep table (no format = \"dlx-sweep\" attribute)");
    }
    free(fmt);
    rc = dlx_h5r_attr_string(r, "/", "columns", DLX_SWEEP_MAX_COLS * 48, &cols, err);
    if (!rc)
        rc = dlx_h5r_attr_i64(r, "/", "runs", &t->n_runs, err);
    if (!rc && (t->n_runs < 0 || t->n_runs > SWEEP_MAX_RUNS))
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "attribute 'runs' is %lld, not 0 to %d",
                          (long long)t->n_runs, SWEEP_MAX_RUNS);
    for (char *save = NULL, *tok = rc ? NULL : strtok_r(cols, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (t->n_cols == DLX_SWEEP_MAX_COLS || strlen(tok) >= sizeof t->cols[0]) {
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path),
                              "attribute 'columns': at most %d names of at most %zu characters", DLX_SWEEP_MAX_COLS,
                              sizeof t->cols[0] - 1);
            break;
        }
        snprintf(t->cols[t->n_cols++], sizeof t->cols[0], "%s", tok);
    }
    free(cols);
    if (!rc)
        rc = dlx_h5r_read_string(r, "/spec", DLX_SPEC_TEXT_MAX, &t->spec_text, err);
    return rc;
}

/* /table/run (strictly increasing run indices below n_runs) and one column per name. */
static int read_rows(const dlx_h5r *r, dlx_sweep_table *t, dlx_err *err)
{
    dlx_h5r_info info;
    int64_t *run = NULL;
    int rc = dlx_h5r_read_alloc(r, "/table/run", H5T_INTEGER, H5T_NATIVE_INT64, t->n_runs, (void **)&run, &info, err);
    if (!rc && info.ndim != 1)
        rc = h5fail(err, DLX_EFORMAT, r->path, "/table/run is not a vector");
    int64_t n = rc ? 0 : info.numel;
    for (int64_t i = 0; !rc && i < n; i++)
        if (run[i] < 0 || run[i] >= t->n_runs || (i > 0 && run[i] <= run[i - 1]))
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path),
                              "/table/run is not strictly increasing in [0, %lld)", (long long)t->n_runs);
    double *col = rc ? NULL : malloc((size_t)(n ? n : 1) * sizeof *col);
    t->val = rc ? NULL : malloc((size_t)(n ? n : 1) * (size_t)t->n_cols * sizeof *t->val);
    if (!rc && (!col || !t->val))
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(r->path), "out of memory reading the table");
    for (int c = 0; c < t->n_cols && !rc; c++) {
        char obj[64];
        snprintf(obj, sizeof obj, "/table/%s", t->cols[c]);
        rc = dlx_h5r_read_exact(r, obj, H5T_FLOAT, H5T_NATIVE_DOUBLE, 1, &n, col, err);
        if (!rc && dlx_h5r_has_attr(r, obj, "axis")) { /* tables before text axes have neither */
            int64_t one;
            rc = dlx_h5r_attr_i64(r, obj, "axis", &one, err);
            t->axis[c] = !rc && one == 1;
        }
        if (!rc && dlx_h5r_has_attr(r, obj, "labels"))
            rc = dlx_h5r_attr_string(r, obj, "labels", 1 << 20, &t->labels[c], err);
        for (int64_t i = 0; !rc && i < n; i++)
            t->val[(size_t)i * (size_t)t->n_cols + (size_t)c] = col[i];
    }
    free(col);
    if (rc) {
        free(run);
        return rc;
    }
    t->run = run;
    t->n = t->cap = n;
    return 0;
}

int dlx_sweep_table_read(const char *path, dlx_sweep_table *t, dlx_err *err)
{
    memset(t, 0, sizeof *t);
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, path, err);
    if (rc)
        return rc;
    rc = read_header(&r, t, err);
    if (!rc)
        rc = read_rows(&r, t, err);
    dlx_h5r_close(&r);
    if (rc)
        dlx_sweep_table_free(t);
    return rc;
}

int dlx_sweep_parse_shard(const char *text, int *i, int *n, dlx_err *err)
{
    char *end;
    errno = 0;
    long a = strtol(text, &end, 10);
    if (end == text || *end != '/' || errno)
        goto bad;
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (end == p || *end || errno || b < 1 || b > 1000000 || a < 0 || a >= b)
        goto bad;
    *i = (int)a;
    *n = (int)b;
    return 0;
bad:
    return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--shard: expected I/N with 0 <= I < N (e.g. 0/4), got '%s'",
                        text);
}

int dlx_sweep_table_merge(const char *const *paths, int n, dlx_sweep_table *out, dlx_err *err)
{
    memset(out, 0, sizeof *out);
    if (n < 1)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--merge: no shard files given");
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        dlx_sweep_table t;
        rc = dlx_sweep_table_read(paths[k], &t, err);
        if (rc)
            break;
        if (k == 0) {
            *out = t;
            continue;
        }
        bool same = t.n_cols == out->n_cols && t.n_runs == out->n_runs && strcmp(t.spec_text, out->spec_text) == 0;
        for (int c = 0; same && c < t.n_cols; c++)
            same = strcmp(t.cols[c], out->cols[c]) == 0;
        if (!same)
            rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(paths[k]),
                              "is from a different sweep than %s (spec or columns differ); cannot merge", paths[0]);
        int secs = dlx_sweep_table_col(out, "seconds");
        for (int64_t i = 0; i < t.n && !rc; i++) {
            const double *row = t.val + (size_t)i * (size_t)t.n_cols;
            int64_t p = find_pos(out, t.run[i]);
            if (p < out->n && out->run[p] == t.run[i]) {
                const double *have = out->val + (size_t)p * (size_t)out->n_cols;
                for (int c = 0; c < t.n_cols && !rc; c++)
                    if (c != secs && memcmp(&have[c], &row[c], sizeof(double)) != 0 && !(isnan(have[c]) && isnan(row[c])))
                        rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(paths[k]),
                                          "run %lld is also in an earlier file with a different %s (%.17g vs %.17g)",
                                          (long long)t.run[i], t.cols[c], row[c], have[c]);
                continue;
            }
            rc = dlx_sweep_table_add(out, t.run[i], row, err);
        }
        dlx_sweep_table_free(&t);
    }
    if (rc)
        dlx_sweep_table_free(out);
    return rc;
}
