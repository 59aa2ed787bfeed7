/* metrics.h5: appendable (step, value, epoch, wall_s) series (see h5io.h). */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "h5io.h"
#include "h5io_internal.h"
#include "h5write.h"

#define METRICS_CHUNK_ROWS 1024
/* the columns of a row; older files hold the first two only */
#define METRICS_COLS 4
#define METRICS_OLD_COLS 2
#define METRICS_ROW_BYTES (METRICS_COLS * 8)

/* --- metrics ------------------------------------------------------------------------------- */

/* Rows appended since the last flush, per series. The file is opened only inside open and
 * flush, so between flushes it is closed, consistent and readable by anyone. */
typedef struct series {
    char name[DLX_NAME_MAX];
    double *rows; /* pending rows of METRICS_COLS */
    int64_t n, cap;
} series;

struct dlx_metrics {
    char *path;
    series *s;
    int n, cap;
    double epoch;  /* stamped on appended rows */
    double wall0;  /* wall_s at open: the largest kept row's on resume, else 0 */
    double t_open; /* monotonic clock at open */
};

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static series *find_series(dlx_metrics *m, const char *name, bool add)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->s[i].name, name) == 0)
            return &m->s[i];
    if (!add)
        return NULL;
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 8;
        series *s = realloc(m->s, (size_t)cap * sizeof(*s));
        if (!s)
            return NULL;
        m->s = s;
        m->cap = cap;
    }
    series *s = &m->s[m->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

/* The most rows a series may have when read (storage checks bound it too). */
#define METRICS_MAX_ROWS ((int64_t)1 << 28)
#define METRICS_MAX_SERIES 1024 /* what a resumed run carries over */

/* Open /metrics/<name> into *out and check it is float [n, 4] (or an older
 * file's [n, 2]); *rows gets n, *cols the columns. */
static int open_series(hid_t f, const char *file, const char *name, hid_t *out, int64_t *rows, int *cols,
                       dlx_err *err)
{
    char path[DLX_NAME_MAX + 16];
    snprintf(path, sizeof path, "/metrics/%s", name);
    dlx_h5r r = {.f = f, .path = file};
    if (!dlx_h5r_is_dataset(&r, path))
        return h5io_fail(err, DLX_EFORMAT, file, "no %s dataset", path);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0)
        return h5io_fail(err, DLX_EFORMAT, file, "cannot open %s", path);
    dlx_h5r_info info;
    int rc = dlx_h5r_dataset_info(&r, d, path, &info, err);
    if (!rc && (info.cls != H5T_FLOAT || info.type_size > 16 || info.ndim != 2 ||
                (info.dims[1] != METRICS_COLS && info.dims[1] != METRICS_OLD_COLS)))
        rc = h5io_fail(err, DLX_EFORMAT, file,
                       "%s is not a float [n, 4] series of (step, value, epoch, wall_s), nor an older [n, 2] one", path);
    if (!rc && info.dims[0] > METRICS_MAX_ROWS)
        rc = h5io_fail(err, DLX_EFORMAT, file, "%s claims %lld rows, more than the %lld a series may have", path,
                       (long long)info.dims[0], (long long)METRICS_MAX_ROWS);
    if (rc) {
        H5Dclose(d);
        return rc;
    }
    *rows = info.dims[0];
    *cols = (int)info.dims[1];
    *out = d;
    return 0;
}

/* All rows of an open series (malloc'd; NULL when empty), bounded by what the file holds. */
static int read_rows(hid_t f, const char *file, hid_t d, const char *name, double **out, dlx_err *err)
{
    char path[DLX_NAME_MAX + 16];
    snprintf(path, sizeof path, "/metrics/%s", name);
    dlx_h5r r = {.f = f, .path = file};
    dlx_h5r_info info;
    return dlx_h5r_read_dataset_alloc(&r, d, path, H5T_FLOAT, H5T_NATIVE_DOUBLE, METRICS_COLS * METRICS_MAX_ROWS,
                                      (void **)out, &info, err);
}

/* A pending row; the step as a double, as the file stores it. */
static int append_row(dlx_metrics *m, const char *name, const double row[METRICS_COLS], dlx_err *err)
{
    size_t len = strlen(name);
    if (len == 0 || len >= DLX_NAME_MAX || strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return h5io_fail(err, DLX_EINVAL, m->path,
                    "bad metric name '%s' (1 to %d characters, no '/')", name, DLX_NAME_MAX - 1);
    series *s = find_series(m, name, true);
    if (!s)
        return h5io_fail(err, DLX_ENOMEM, m->path, "out of memory");
    if (s->n == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 64;
        double *rows = realloc(s->rows, (size_t)cap * METRICS_COLS * sizeof(*rows));
        if (!rows)
            return h5io_fail(err, DLX_ENOMEM, m->path, "out of memory");
        s->rows = rows;
        s->cap = cap;
    }
    memcpy(s->rows + METRICS_COLS * s->n, row, METRICS_ROW_BYTES);
    s->n++;
    return 0;
}

/* The rows of every series of the file at path with step <= resume_step (up
 * to the first later row), appended to m as pending rows: a resumed run
 * writes a fresh file from them, so nothing of a hostile file's layout (a
 * chunk two datasets share, an odd float type) is carried into the file dlx
 * then appends to. */
static int load_kept_rows(dlx_metrics *m, const char *path, int64_t resume_step, dlx_err *err)
{
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, path, err);
    if (rc)
        return rc;
    char (*names)[DLX_H5R_NAME_MAX] = malloc(METRICS_MAX_SERIES * sizeof *names);
    int n_series = 0;
    if (!names) {
        rc = h5io_fail(err, DLX_ENOMEM, path, "out of memory");
        goto out;
    }
    if (!dlx_h5r_exists(&r, "/metrics"))
        goto out;
    if (!dlx_h5r_is_group(&r, "/metrics")) { /* e.g. an external link: never followed */
        rc = h5io_fail(err, DLX_EFORMAT, path, "/metrics is not a group stored in the file");
        goto out;
    }
    if ((rc = dlx_h5r_list(&r, "/metrics", METRICS_MAX_SERIES, names, &n_series, err)))
        goto out;
    for (int i = 0; i < n_series && !rc; i++) {
        int64_t n;
        int cols;
        double *rows = NULL;
        hid_t d;
        if (strlen(names[i]) >= DLX_NAME_MAX) {
            rc = h5io_fail(err, DLX_EFORMAT, path, "/metrics/%.40s...: a series name is shorter than %d bytes",
                           names[i], DLX_NAME_MAX);
            break;
        }
        rc = open_series(r.f, path, names[i], &d, &n, &cols, err);
        if (rc)
            break;
        rc = read_rows(r.f, path, d, names[i], &rows, err);
        H5Dclose(d);
        if (!rc && !find_series(m, names[i], true)) /* kept, if empty */
            rc = h5io_fail(err, DLX_ENOMEM, path, "out of memory");
        for (int64_t k = 0; !rc && k < n && rows[cols * k] <= (double)resume_step; k++) {
            const double *in = rows + cols * k; /* the file's step, as it is */
            double row[METRICS_COLS] = {in[0], in[1], NAN, NAN};
            if (cols == METRICS_COLS) {
                row[2] = in[2];
                row[3] = in[3];
                if (row[3] > m->wall0) /* NaN never is */
                    m->wall0 = row[3];
            }
            rc = append_row(m, names[i], row, err);
        }
        free(rows);
    }
out:
    free(names);
    dlx_h5r_close(&r);
    return rc;
}

/* Byte copy of src into dst (created or truncated). */
static int copy_file(const char *src, const char *dst, dlx_err *err)
{
    int in = open(src, O_RDONLY);
    if (in < 0)
        return h5io_fail(err, DLX_EIO, src, "cannot open: %s", strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        close(in);
        return h5io_fail(err, DLX_EIO, dst, "cannot create: %s", strerror(errno));
    }
    char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t got = read(in, buf, sizeof buf);
        if (got == 0)
            break;
        if (got < 0) {
            rc = h5io_fail(err, DLX_EIO, src, "cannot read: %s", strerror(errno));
            break;
        }
        for (ssize_t done = 0; done < got;) {
            ssize_t w = write(out, buf + done, (size_t)(got - done));
            if (w <= 0) {
                rc = h5io_fail(err, DLX_EIO, dst, "cannot write: %s", strerror(errno));
                break;
            }
            done += w;
        }
        if (rc)
            break;
    }
    close(in);
    if (close(out) != 0 && !rc)
        rc = h5io_fail(err, DLX_EIO, dst, "cannot write: %s", strerror(errno));
    if (rc)
        unlink(dst);
    return rc;
}

static int flush_series(hid_t f, const char *file, series *s, dlx_err *err);
static int create_series(hid_t f, const char *file, const char *path, dlx_err *err);

/* A fresh metrics file (dlx_h5w_create: the .tmp, its blocks reserved)
 * with an empty /metrics group and the pending rows of m (a resumed run's
 * kept rows) written into it. */
static int create_fresh(dlx_metrics *m, dlx_h5w *w, dlx_err *err)
{
    const char *path = m->path;
    uint64_t bytes = 65536;
    for (int i = 0; i < m->n; i++)
        bytes += 32768 + METRICS_ROW_BYTES * (uint64_t)m->s[i].n;
    int rc = dlx_h5w_create(w, path, bytes, err);
    if (rc)
        return rc;
    hid_t g = H5Gcreate2(w->f, "/metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        rc = h5io_fail(err, DLX_EIO, path, "cannot create /metrics");
    else
        H5Gclose(g);
    char obj[DLX_NAME_MAX + 16];
    for (int i = 0; i < m->n && !rc; i++) {
        snprintf(obj, sizeof obj, "/metrics/%s", m->s[i].name);
        rc = m->s[i].n > 0 ? flush_series(w->f, path, &m->s[i], err) : create_series(w->f, path, obj, err);
    }
    if (rc)
        dlx_h5w_abort(w);
    return rc;
}

static void metrics_free(dlx_metrics *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->s[i].rows);
    free(m->s);
    free(m->path);
    free(m);
}

int dlx_metrics_open(const char *path, bool resume, int64_t resume_step, dlx_metrics **out,
                     dlx_err *err)
{
    *out = NULL;
    dlx_metrics *m = calloc(1, sizeof(*m));
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return h5io_fail(err, DLX_ENOMEM, path, "out of memory");
    }
    m->epoch = NAN;
    /* every change goes to a new file renamed over the old one: a kill at
     * any moment leaves either the old or the new metrics.h5, never a torn one */
    dlx_h5w w;
    int rc = 0;
    if (resume && access(path, F_OK) == 0)
        rc = load_kept_rows(m, path, resume_step, err);
    if (!rc) rc = create_fresh(m, &w, err);
    if (!rc) rc = dlx_h5w_commit(&w, err);
    if (rc) {
        metrics_free(m);
        return rc;
    }
    m->t_open = monotonic_s();
    *out = m;
    return 0;
}

int dlx_metrics_append(dlx_metrics *m, const char *name, int64_t step, double value, dlx_err *err)
{
    if (!m)
        return 0;
    const double row[METRICS_COLS] = {(double)step, value, m->epoch, m->wall0 + (monotonic_s() - m->t_open)};
    return append_row(m, name, row, err);
}

bool dlx_metrics_is_series(const dlx_h5_entry *e)
{
    return strncmp(e->path, "/metrics/", 9) == 0 && e->ndim == 2 &&
           (e->dims[1] == METRICS_COLS || e->dims[1] == METRICS_OLD_COLS);
}

void dlx_metrics_set_epoch(dlx_metrics *m, double epoch)
{
    if (m)
        m->epoch = epoch;
}

static int create_series(hid_t f, const char *file, const char *path, dlx_err *err)
{
    hsize_t dims[2] = {0, METRICS_COLS}, maxdims[2] = {H5S_UNLIMITED, METRICS_COLS},
            chunk[2] = {METRICS_CHUNK_ROWS, METRICS_COLS};
    int rc = 0;
    hid_t space = H5Screate_simple(2, dims, maxdims), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 2, chunk) < 0)
        rc = h5io_fail(err, DLX_EIO, file, "cannot set up %s", path);
    else if ((d = H5Dcreate2(f, path, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0)
        rc = h5io_fail(err, DLX_EIO, file, "cannot create %s", path);
    /* what the columns are, for a reader who has only the file */
    else if (dlx_h5w_attr_text(d, "columns", "step, value, epoch, wall_s") ||
             dlx_h5w_attr_text(d, "units", "updates, (the series' own), epochs, seconds") ||
             dlx_h5w_attr_text(d, "step", "optimizer updates taken when the value was logged (an integer)") ||
             dlx_h5w_attr_text(d, "value", "the series' value: losses in the family's units, accuracies and "
                                           "errors as fractions in [0, 1]") ||
             dlx_h5w_attr_text(d, "epoch", "step / steps per epoch: 2.5 is halfway through the third epoch; "
                                           "NaN in rows kept from an older two-column file") ||
             dlx_h5w_attr_text(d, "wall_s", "wall-clock seconds of training when logged, continued across "
                                            "--resume; NaN in rows kept from an older two-column file"))
        rc = h5io_fail(err, DLX_EIO, file, "cannot write the attributes of %s", path);
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* Append the pending rows of one series at the end of its dataset. */
static int flush_series(hid_t f, const char *file, series *s, dlx_err *err)
{
    char path[DLX_NAME_MAX + 16];
    int rc = 0;
    int64_t rows;
    int cols;
    snprintf(path, sizeof path, "/metrics/%s", s->name);
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0 && (rc = create_series(f, file, path, err)))
        return rc;
    hid_t d;
    if ((rc = open_series(f, file, s->name, &d, &rows, &cols, err)))
        return rc;
    if (cols != METRICS_COLS) { /* open and resume rewrite a file, so this is someone else's */
        H5Dclose(d);
        return h5io_fail(err, DLX_EFORMAT, file, "%s has %d columns; dlx appends rows of %d", path, cols,
                         METRICS_COLS);
    }
    hsize_t dims[2] = {(hsize_t)(rows + s->n), METRICS_COLS}, start[2] = {(hsize_t)rows, 0},
            count[2] = {(hsize_t)s->n, METRICS_COLS};
    hid_t fspace = -1, mspace = -1;
    if (H5Dset_extent(d, dims) < 0) {
        rc = h5io_fail(err, DLX_EIO, file, "cannot extend %s", path);
        goto out_dset;
    }
    fspace = H5Dget_space(d);
    mspace = H5Screate_simple(2, count, NULL);
    if (fspace < 0 || mspace < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dwrite(d, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, s->rows) < 0)
        rc = h5io_fail(err, DLX_EIO, file, "cannot write %s", path);
    else
        s->n = 0;
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
out_dset:
    H5Dclose(d);
    return rc;
}

int dlx_metrics_flush(dlx_metrics *m, dlx_err *err)
{
    if (!m)
        return 0;
    bool pending = false;
    for (int i = 0; i < m->n; i++)
        pending |= m->s[i].n > 0;
    if (!pending)
        return 0;
    /* Append into a copy and rename it over the file, so that a kill in the
     * middle of a flush leaves the previous, complete metrics.h5 behind. The
     * file is small (rows of four doubles), so the copy costs little. */
    dlx_h5w w;
    int rc = h5io_tmp_name(&w, m->path, err);
    if (!rc)
        rc = copy_file(m->path, w.tmp, err);
    /* room for the new rows and a chunk per series, before HDF5 writes (h5io_space.c) */
    struct stat st;
    uint64_t more = 65536;
    for (int i = 0; i < m->n; i++)
        more += 32768 + METRICS_ROW_BYTES * (uint64_t)m->s[i].n;
    if (!rc && stat(w.tmp, &st) == 0 && (rc = h5io_reserve(w.tmp, m->path, (uint64_t)st.st_size + more, err)))
        unlink(w.tmp);
    if (rc)
        return rc;
    rc = h5io_open_file(w.tmp, true, &w.f, err);
    if (rc) {
        unlink(w.tmp);
        return rc;
    }
    if (H5Lexists(w.f, "/metrics", H5P_DEFAULT) <= 0) {
        hid_t g = H5Gcreate2(w.f, "/metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0)
            rc = h5io_fail(err, DLX_EIO, m->path, "cannot create /metrics");
        else
            H5Gclose(g);
    }
    for (int i = 0; i < m->n && !rc; i++)
        if (m->s[i].n > 0)
            rc = flush_series(w.f, m->path, &m->s[i], err);
    if (rc) {
        dlx_h5w_abort(&w);
        return rc;
    }
    return dlx_h5w_commit(&w, err);
}

void dlx_metrics_close(dlx_metrics *m)
{
    if (!m)
        return;
    dlx_metrics_flush(m, NULL); /* best effort: call flush first to see errors */
    metrics_free(m);
}

static int read_series(const char *path, const char *name, bool optional, double **rows, int64_t *n, dlx_err *err);

int dlx_metrics_read(const char *path, const char *name, double **rows, int64_t *n, dlx_err *err)
{
    return read_series(path, name, false, rows, n, err);
}

int dlx_metrics_read_opt(const char *path, const char *name, double **rows, int64_t *n, dlx_err *err)
{
    return read_series(path, name, true, rows, n, err);
}

static int read_series(const char *path, const char *name, bool optional, double **rows, int64_t *n, dlx_err *err)
{
    hid_t f;
    *rows = NULL;
    *n = 0;
    int rc = h5io_open_file(path, false, &f, err);
    if (rc)
        return rc;
    char obj[DLX_NAME_MAX + 16];
    snprintf(obj, sizeof obj, "/metrics/%s", name);
    dlx_h5r r = {.f = f, .path = path};
    if (strchr(name, '/') || !dlx_h5r_is_dataset(&r, obj)) {
        if (!optional || strchr(name, '/') || dlx_h5r_exists(&r, obj))
            rc = h5io_fail(err, DLX_EINVAL, path, "no metrics series '%s'", name);
        goto out_close_file;
    }
    int64_t count;
    int cols;
    hid_t d;
    rc = open_series(f, path, name, &d, &count, &cols, err);
    if (rc)
        goto out_close_file;
    rc = read_rows(f, path, d, name, rows, err);
    H5Dclose(d);
    /* callers get (step, value) pairs from either layout */
    for (int64_t k = 0; !rc && cols != 2 && k < count; k++) {
        (*rows)[2 * k] = (*rows)[cols * k];
        (*rows)[2 * k + 1] = (*rows)[cols * k + 1];
    }
    if (!rc)
        *n = count;
out_close_file:
    H5Fclose(f);
    return rc;
}
