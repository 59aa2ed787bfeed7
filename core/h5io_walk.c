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

/* --- generic walk -------------------------------------------------------------------------- */

typedef struct walk_ctx {
    const char *file;
    int (*cb)(const dlx_h5_entry *e, void *user);
    void *user;
    dlx_err *err;
    int rc; /* our error, or the callback's nonzero */
} walk_ctx;

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
static int dataset_stats(hid_t d, int64_t npoints, dlx_h5_entry *e)
{
    double *buf = malloc((size_t)npoints * sizeof(*buf));
    if (!buf)
        return -3;
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        return -2;
    }
    double lo = buf[0], hi = buf[0], sum = 0;
    for (int64_t i = 0; i < npoints; i++) {
        double v = buf[i];
        if (v < lo || lo != lo)
            lo = v;
        if (v > hi || hi != hi)
            hi = v;
        sum += v;
    }
    free(buf);
    e->min = lo;
    e->max = hi;
    e->mean = sum / (double)npoints;
    e->has_stats = true;
    return 0;
}

static herr_t walk_cb(hid_t g, const char *name, const H5L_info_t *linfo, void *user)
{
    walk_ctx *w = user;
    H5O_info_t oinfo;
    if (linfo->type != H5L_TYPE_HARD)
        return 0; /* soft/external links are not followed */
    if (H5Oget_info_by_name2(g, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        w->rc = h5io_fail(w->err, DLX_EFORMAT, w->file, "cannot read object /%s", name);
        return -1;
    }
    if (oinfo.type != H5O_TYPE_DATASET)
        return 0;
    char full[1024];
    snprintf(full, sizeof full, "/%s", name);
    dlx_h5_entry e;
    memset(&e, 0, sizeof e);
    e.path = full;
    int rc = 0;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT), space = -1, type = -1;
    if (d < 0) {
        w->rc = h5io_fail(w->err, DLX_EFORMAT, w->file, "cannot open %s", full);
        return -1;
    }
    space = H5Dget_space(d);
    type = H5Dget_type(d);
    int ndim = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t dims[H5S_MAX_RANK];
    if (type < 0 || ndim < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        w->rc = h5io_fail(w->err, DLX_EFORMAT, w->file, "cannot read the shape of %s", full);
        rc = -1;
        goto out_dset;
    }
    e.ndim = ndim;
    for (int i = 0; i < ndim && i < 8; i++)
        e.dims[i] = (int64_t)dims[i];
    e.type = type_name(type);
    H5T_class_t cls = H5Tget_class(type);
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    if ((cls == H5T_FLOAT || cls == H5T_INTEGER) && h5io_number_type_ok(type, cls) && npoints > 0 &&
        npoints <= STATS_MAX_ELEMS) {
        int r = dataset_stats(d, (int64_t)npoints, &e);
        if (r) {
            w->rc = r == -3 ? h5io_fail(w->err, DLX_ENOMEM, w->file, "out of memory reading %s", full)
                            : h5io_fail(w->err, DLX_EFORMAT, w->file,
                                   "cannot read %s (truncated or corrupt)", full);
            rc = -1;
            goto out_dset;
        }
    }
    int stop = w->cb(&e, w->user);
    if (stop) {
        w->rc = stop;
        rc = 1;
    }
out_dset:
    h5io_close_dataset(d, type, space);
    return rc;
}

int dlx_h5_walk(const char *path, int (*cb)(const dlx_h5_entry *e, void *user), void *user,
                dlx_err *err)
{
    hid_t f;
    int rc = h5io_open_file(path, false, &f, err);
    if (rc)
        return rc;
    walk_ctx w = {.file = path, .cb = cb, .user = user, .err = err, .rc = 0};
    herr_t r = H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, walk_cb, &w);
    if (r < 0 && w.rc == 0)
        w.rc = h5io_fail(err, DLX_EFORMAT, path, "cannot list the objects (truncated or corrupt)");
    H5Fclose(f);
    return w.rc;
}

int dlx_h5_read_string(const char *file, const char *obj, char **out, dlx_err *err)
{
    hid_t f;
    int rc = h5io_open_file(file, false, &f, err);
    if (rc)
        return rc;
    char path[512];
    snprintf(path, sizeof path, "%s%s", obj[0] == '/' ? "" : "/", obj);
    int r;
    if (h5io_is_dataset(f, path)) {
        r = h5io_read_string_dataset(f, path, out);
    } else if (strchr(path + 1, '/') == NULL && path[1]) {
        r = h5io_read_root_attr_string(f, path + 1, out);
        if (r == -1 && H5Aexists(f, path + 1) <= 0)
            r = -4;
    } else {
        r = -4;
    }
    if (r == -4)
        rc = h5io_fail(err, DLX_EFORMAT, file, "no string dataset or root attribute '%s'", obj);
    else if (r == -1)
        rc = h5io_fail(err, DLX_EFORMAT, file, "'%s' is not a string", obj);
    else if (r == -2)
        rc = h5io_fail(err, DLX_EFORMAT, file, "cannot read '%s' (truncated or corrupt)", obj);
    else if (r == -3)
        rc = h5io_fail(err, DLX_ENOMEM, file, "out of memory reading '%s'", obj);
    H5Fclose(f);
    return rc;
}

