/* Listing any HDF5 file (dlx inspect): datasets, shapes, types, statistics. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5io.h"
#include "h5io_internal.h"

#define STATS_MAX_ELEMS 10000000 /* larger datasets are listed without statistics */
_Static_assert(sizeof(((dlx_h5_entry *)0)->dims) / sizeof(int64_t) == H5S_MAX_RANK, "entry dims hold every HDF5 rank");

/* --- generic walk -------------------------------------------------------------------------- */

typedef struct walk_ctx {
    const char *file;
    hid_t f;
    int (*cb)(const dlx_h5_entry *e, void *user);
    void *user;
    dlx_err *err;
    int rc; /* our error, or the callback's nonzero */
    char **names; /* the datasets found, relative to the root */
    int n, cap;
    bool hdf5_failed; /* an HDF5 call of the listing failed (h5read.h) */
} walk_ctx;

#define WALK_MAX_DATASETS (1 << 20)

static const char *type_name(hid_t type)
{
    size_t size = H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_FLOAT:
        return size == 2 ? "float16" : size == 4 ? "float32" : size == 8 ? "float64" : "float";
    case H5T_INTEGER: {
        bool sgn = H5Tget_sign(type) == H5T_SGN_2;
        switch (size) {
        case 1: return sgn ? "int8" : "uint8";
        case 2: return sgn ? "int16" : "uint16";
        case 4: return sgn ? "int32" : "uint32";
        case 8: return sgn ? "int64" : "uint64";
        default: return sgn ? "int" : "uint";
        }
    }
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "vlen";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_REFERENCE: return "reference";
    default: return "other";
    }
}

/* min/max/mean in double; NaN makes the mean NaN and is skipped by min/max. */
static void stats_of(const double *buf, int64_t npoints, dlx_h5_entry *e)
{
    double lo = buf[0], hi = buf[0], sum = 0;
    for (int64_t i = 0; i < npoints; i++) {
        double v = buf[i];
        if (v < lo || lo != lo)
            lo = v;
        if (v > hi || hi != hi)
            hi = v;
        sum += v;
    }
    e->min = lo;
    e->max = hi;
    e->mean = sum / (double)npoints;
    e->has_stats = true;
}

/* The first pass: the relative paths of every dataset reached by a hard link. */
static herr_t collect_cb(hid_t g, const char *name, const H5L_info_t *linfo, void *user)
{
    walk_ctx *w = user;
    H5O_info_t oinfo;
    if (linfo->type != H5L_TYPE_HARD)
        return 0; /* soft/external links are not followed */
    if (H5Oget_info_by_name2(g, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        w->hdf5_failed = true;
        w->rc = h5io_fail(w->err, DLX_EFORMAT, w->file, "cannot read object /%s", name);
        return -1;
    }
    if (oinfo.type != H5O_TYPE_DATASET)
        return 0;
    if (w->n == WALK_MAX_DATASETS) {
        w->rc = h5io_fail(w->err, DLX_EFORMAT, w->file, "holds more than %d datasets", WALK_MAX_DATASETS);
        return -1;
    }
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        char **p = realloc(w->names, (size_t)cap * sizeof *p);
        if (!p) {
            w->rc = h5io_fail(w->err, DLX_ENOMEM, w->file, "out of memory");
            return -1;
        }
        w->names = p;
        w->cap = cap;
    }
    if (!(w->names[w->n] = strdup(name))) {
        w->rc = h5io_fail(w->err, DLX_ENOMEM, w->file, "out of memory");
        return -1;
    }
    w->n++;
    return 0;
}

/* Paths in the order of a depth-first walk by name: '/' sorts before every
 * other byte, so a group's members come right after it ("a/x" before "a-b"). */
static int by_walk_order(const void *pa, const void *pb)
{
    const unsigned char *a = *(const unsigned char *const *)pa, *b = *(const unsigned char *const *)pb;
    for (; *a && *a == *b; a++, b++)
        ;
    int ca = *a == '/' ? 1 : *a ? *a + 1 : 0, cb = *b == '/' ? 1 : *b ? *b + 1 : 0;
    return ca - cb;
}

/* The second pass: one dataset's entry, to the callback. */
static int visit_dataset(walk_ctx *w, hid_t g, const char *name)
{
    size_t len = strlen(name);
    char *full = malloc(len + 2);
    if (!full) {
        w->rc = h5io_fail(w->err, DLX_ENOMEM, w->file, "out of memory");
        return -1;
    }
    full[0] = '/';
    memcpy(full + 1, name, len + 1);
    dlx_h5_entry e;
    memset(&e, 0, sizeof e);
    e.path = full;
    int rc = 0;
    dlx_h5r r = {.f = w->f, .path = w->file};
    dlx_h5r_info info;
    double *buf = NULL;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT), type = -1;
    if (d < 0) {
        w->rc = h5io_fail(w->err, DLX_EFORMAT, w->file, "cannot open %s", full);
        free(full);
        return -1;
    }
    if ((w->rc = dlx_h5r_dataset_info(&r, d, full, &info, w->err)) || (type = H5Dget_type(d)) < 0) {
        if (!w->rc)
            w->rc = h5io_fail(w->err, DLX_EFORMAT, w->file, "cannot read the type of %s", full);
        rc = -1;
        goto out_dset;
    }
    e.ndim = info.ndim;
    memcpy(e.dims, info.dims, sizeof e.dims);
    e.type = type_name(type);
    if ((info.cls == H5T_FLOAT || info.cls == H5T_INTEGER) && info.type_size <= 16 && info.numel > 0 &&
        info.numel <= STATS_MAX_ELEMS) {
        if ((w->rc = dlx_h5r_read_dataset_alloc(&r, d, full, info.cls, H5T_NATIVE_DOUBLE, STATS_MAX_ELEMS,
                                                (void **)&buf, &info, w->err))) {
            rc = -1;
            goto out_dset;
        }
        stats_of(buf, info.numel, &e);
    }
    int stop = w->cb(&e, w->user);
    if (stop) {
        w->rc = stop;
        rc = 1;
    }
out_dset:
    free(buf);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(d);
    free(full);
    return rc;
}

int dlx_h5_walk(const char *path, int (*cb)(const dlx_h5_entry *e, void *user), void *user,
                dlx_err *err)
{
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, path, err);
    if (rc)
        return rc;
    walk_ctx w = {.file = path, .f = r.f, .cb = cb, .user = user, .err = err, .rc = 0};
    /* collected in native order and sorted here: asked for name order,
     * HDF5 1.10 builds a table of a group's links and may double-free it
     * (tests/fuzz/hdf5_bugs/link_table_double_free) */
    herr_t hr = H5Lvisit(r.f, H5_INDEX_NAME, H5_ITER_NATIVE, collect_cb, &w);
    if (hr < 0 && w.rc == 0) {
        w.hdf5_failed = true;
        w.rc = h5io_fail(err, DLX_EFORMAT, path, "cannot list the objects (truncated or corrupt)");
    }
    /* what could be listed is shown before a listing error is reported; if
     * HDF5 itself failed, its cache may hold a half-read object header
     * (h5read.h), so the datasets are read through the file opened afresh */
    int list_rc = w.rc == DLX_EFORMAT ? w.rc : 0;
    dlx_err list_err = *err;
    if (list_rc)
        w.rc = 0;
    if (!w.rc && w.n > 1)
        qsort(w.names, (size_t)w.n, sizeof *w.names, by_walk_order);
    int n_visit = w.n;
    if (w.hdf5_failed && w.n > 0) {
        dlx_h5r_close(&r);
        dlx_err reopen_err;
        if (dlx_h5r_open_own(&r, path, &reopen_err))
            n_visit = 0;
        w.f = r.f;
    }
    for (int i = 0; i < n_visit && !w.rc; i++)
        visit_dataset(&w, r.f, w.names[i]);
    if (!w.rc && list_rc) {
        *err = list_err;
        w.rc = list_rc;
    }
    for (int i = 0; i < w.n; i++)
        free(w.names[i]);
    free(w.names);
    dlx_h5r_close(&r);
    return w.rc;
}

int dlx_h5_read_string(const char *file, const char *obj, char **out, dlx_err *err)
{
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, file, err);
    if (rc)
        return rc;
    size_t len = strlen(obj);
    char *path = malloc(len + 2);
    if (!path) {
        dlx_h5r_close(&r);
        return h5io_fail(err, DLX_ENOMEM, file, "out of memory");
    }
    snprintf(path, len + 2, "%s%s", obj[0] == '/' ? "" : "/", obj);
    if (dlx_h5r_is_dataset(&r, path))
        rc = dlx_h5r_read_string(&r, path, DLX_SPEC_TEXT_MAX, out, err);
    else if (path[1] && !strchr(path + 1, '/') && dlx_h5r_has_attr(&r, "/", path + 1))
        rc = dlx_h5r_attr_string(&r, "/", path + 1, DLX_SPEC_TEXT_MAX, out, err);
    else
        rc = h5io_fail(err, DLX_EFORMAT, file, "no string dataset or root attribute '%s'", obj);
    free(path);
    dlx_h5r_close(&r);
    return rc;
}
