/* Checkpoints and metrics in HDF5. See h5io.h for the file layout. */
#include "h5io.h"
#include "h5io_internal.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "dlx-checkpoint"
#define FORMAT_VERSION 2 /* written; version 1 still reads */

void dlx_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* --- small helpers -------------------------------------------------------------------------- */

/* Open an existing file for reading (as dlx_h5r_open) or, with rdwr, a copy
 * this process made for changing it (the metrics copy: checked as
 * dlx_h5r_open_own, then opened read-write). */
int h5io_open_file(const char *path, bool rdwr, hid_t *out, dlx_err *err)
{
    dlx_h5r r;
    int rc = rdwr ? dlx_h5r_open_own(&r, path, err) : dlx_h5r_open(&r, path, err);
    if (rc || !rdwr) {
        *out = r.f;
        return rc;
    }
    dlx_h5r_close(&r);
    hid_t fapl = dlx_h5r_fapl();
    if (fapl < 0)
        return h5io_fail(err, DLX_ENOMEM, path, "cannot set up HDF5 file access");
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        char why[160];
        dlx_h5r_reason(why);
        return h5io_fail(err, DLX_EIO, path, "cannot open for writing: %s", why[0] ? why : "unknown error");
    }
    *out = f;
    return 0;
}

/* --- writing ------------------------------------------------------------------------------- */

static int write_int_attr(hid_t obj, const char *name, int v)
{
    int rc = -1;
    hid_t space = H5Screate(H5S_SCALAR), attr;
    if (space < 0)
        return -1;
    attr = H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0) {
        if (H5Awrite(attr, H5T_NATIVE_INT, &v) >= 0)
            rc = 0;
        H5Aclose(attr);
    }
    H5Sclose(space);
    return rc;
}

/* Every dataset of a checkpoint is covered by a checksum: data of at most
 * COMPACT_MAX bytes is stored inside its object header (compact layout), which
 * HDF5 checksums in the file format the writer asks for (core/h5write.c);
 * larger data is one chunk (or chunks of at most 1 GiB) with HDF5's Fletcher-32
 * filter, which every HDF5 reader (h5py, h5dump) verifies. */
#define COMPACT_MAX 4096
#define CHUNK_MAX ((hsize_t)1 << 30)
/* a scalar (the /spec text) cannot be chunked; one of over 60 KB (a layout
 * message holds at most 64 KiB) is stored contiguous, without a checksum */
#define SCALAR_COMPACT_MAX 60000

static hid_t checked_dcpl(int ndim, const hsize_t *dims, size_t elem)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return -1;
    hsize_t bytes = elem;
    for (int i = 0; i < ndim; i++)
        bytes *= dims[i];
    herr_t ok = 0;
    if (bytes <= COMPACT_MAX || (ndim == 0 && bytes <= SCALAR_COMPACT_MAX)) {
        ok = H5Pset_layout(dcpl, H5D_COMPACT);
    } else if (ndim > 0) {
        hsize_t chunk[DLX_MAX_DIM];
        memcpy(chunk, dims, (size_t)ndim * sizeof *chunk);
        /* a chunk must stay under 4 GiB: cut the first axis */
        hsize_t row = bytes / dims[0];
        if (bytes > CHUNK_MAX)
            chunk[0] = CHUNK_MAX / row > 0 ? CHUNK_MAX / row : 1;
        ok = H5Pset_chunk(dcpl, ndim, chunk) < 0 ? -1 : H5Pset_fletcher32(dcpl);
    }
    if (ok < 0) {
        H5Pclose(dcpl);
        return -1;
    }
    return dcpl;
}

/* One dataset; ndim 0 is a scalar. Parent groups are created on the way (lcpl). */
static int write_dataset(hid_t f, hid_t lcpl, const char *path, hid_t ftype, hid_t mtype, int ndim,
                         const hsize_t *dims, const void *buf)
{
    int rc = -1;
    hid_t space = ndim ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR), dset;
    if (space < 0)
        return -1;
    hid_t dcpl = checked_dcpl(ndim, dims, H5Tget_size(ftype));
    if (dcpl < 0)
        goto out_space;
    dset = H5Dcreate2(f, path, ftype, space, lcpl, dcpl, H5P_DEFAULT);
    if (dset >= 0) {
        if (H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
            rc = 0;
        H5Dclose(dset);
    }
    H5Pclose(dcpl);
out_space:
    H5Sclose(space);
    return rc;
}

static int write_str_dataset(hid_t f, const char *path, const char *s)
{
    int rc = -1;
    size_t len = strlen(s);
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0)
        return -1;
    if (H5Tset_size(type, len ? len : 1) >= 0 && H5Tset_strpad(type, H5T_STR_NULLPAD) >= 0 &&
        H5Tset_cset(type, H5T_CSET_UTF8) >= 0)
        rc = write_dataset(f, H5P_DEFAULT, path, type, type, 0, NULL, len ? s : "");
    H5Tclose(type);
    return rc;
}

/* Everything that goes into the file; returns 0 or fills err naming the object. */
static int write_contents(hid_t f, const char *path, const dlx_ckpt_meta *meta,
                          const dlx_h5_array *arrays, int n, dlx_err *err)
{
    char why[160];
    const char *what = NULL;
    int rc = 0;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        what = "link property list";
        goto out_fail;
    }
    if (dlx_h5w_attr_text(f, "format", FORMAT_NAME) < 0) {
        what = "attribute 'format'";
        goto out_fail;
    }
    if (write_int_attr(f, "version", FORMAT_VERSION) < 0) {
        what = "attribute 'version'";
        goto out_fail;
    }
    if (dlx_h5w_attr_text(f, "family", meta->family ? meta->family : "") < 0) {
        what = "attribute 'family'";
        goto out_fail;
    }
    if (write_str_dataset(f, "/spec", meta->spec_text ? meta->spec_text : "") < 0) {
        what = "/spec";
        goto out_fail;
    }
    hsize_t three = 3;
    const struct {
        const char *path;
        hid_t ftype, mtype;
        int ndim;
        const void *buf;
    } scalars[] = {
        {"/step", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &meta->step},
        {"/epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &meta->epoch},
        {"/rng", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, meta->rng},
    };
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        if (write_dataset(f, lcpl, scalars[i].path, scalars[i].ftype, scalars[i].mtype,
                          scalars[i].ndim, &three, scalars[i].buf) < 0) {
            what = scalars[i].path;
            goto out_fail;
        }
    }
    char obj[128];
    for (int i = 0; i < meta->n_optims && i < DLX_CKPT_OPTIMS_MAX; i++) {
        snprintf(obj, sizeof obj, "/optim/%s/t", meta->optim_name[i]);
        if (write_dataset(f, lcpl, obj, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &meta->optim_t[i]) < 0) {
            what = obj;
            goto out_fail;
        }
    }
    for (int i = 0; i < meta->n_state && i < DLX_CKPT_STATE_MAX; i++) {
        snprintf(obj, sizeof obj, "/state/%s", meta->state_name[i]);
        if (write_dataset(f, lcpl, obj, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &meta->state[i]) < 0) {
            what = obj;
            goto out_fail;
        }
    }
    for (int i = 0; i < n; i++) {
        const dlx_h5_array *a = &arrays[i];
        hsize_t dims[DLX_MAX_DIM];
        if (a->path[0] != '/' || a->shape.ndim < 0 || a->shape.ndim > DLX_MAX_DIM || !a->data) {
            rc = h5io_fail(err, DLX_EINVAL, path, "cannot write '%s': bad path, shape or data", a->path);
            goto out_lcpl;
        }
        for (int d = 0; d < a->shape.ndim; d++)
            dims[d] = (hsize_t)a->shape.d[d];
        if (write_dataset(f, lcpl, a->path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, a->shape.ndim, dims,
                          a->data) < 0) {
            what = a->path;
            goto out_fail;
        }
    }
    goto out_lcpl;
out_fail:
    dlx_h5r_reason(why);
    rc = h5io_fail(err, DLX_EIO, path, "cannot write %s%s%s", what, why[0] ? ": " : "", why);
out_lcpl:
    if (lcpl >= 0)
        H5Pclose(lcpl);
    return rc;
}

int dlx_ckpt_write(const char *path, const dlx_ckpt_meta *meta, const dlx_h5_array *arrays, int n,
                   dlx_err *err)
{
    dlx_h5w w;
    uint64_t bytes = h5io_ckpt_bytes(arrays, n, meta->spec_text ? strlen(meta->spec_text) : 0);
    int rc = dlx_h5w_create(&w, path, bytes, err);
    if (rc)
        return rc;
    rc = write_contents(w.f, path, meta, arrays, n, err);
    if (rc) {
        dlx_h5w_abort(&w);
        return rc;
    }
    return dlx_h5w_commit(&w, err);
}

/* --- reading (through the bounded layer of h5read.h) --------------------------------------- */

/* The checks every checkpoint reader starts with; *version gets 1 or 2. */
static int check_dlx(const dlx_h5r *r, int *version, dlx_err *err)
{
    char *fmt = NULL;
    dlx_err ignored;
    int rc = dlx_h5r_attr_string(r, "/", "format", 64, &fmt, &ignored);
    bool ok = rc == 0 && strcmp(fmt, FORMAT_NAME) == 0;
    free(fmt);
    if (!ok)
        return rc == DLX_ENOMEM ? h5io_fail(err, rc, r->path, "out of memory")
                                : h5io_fail(err, DLX_EFORMAT, r->path, "not a dlx checkpoint (no 'format' attribute)");
    int64_t v = 0;
    if (!dlx_h5r_has_attr(r, "/", "version"))
        return h5io_fail(err, DLX_EFORMAT, r->path, "dlx checkpoint without a 'version' attribute");
    if ((rc = dlx_h5r_attr_i64(r, "/", "version", &v, err)))
        return rc;
    if (v != 1 && v != FORMAT_VERSION)
        return h5io_fail(err, DLX_EFORMAT, r->path,
                         "checkpoint format version %lld, but this dlx reads versions 1 and %d",
                         (long long)v, FORMAT_VERSION);
    *version = (int)v;
    return 0;
}

/* Version 1: /optim/t (one optimizer, named "") and the optional /state vector. */
static int read_v1_loop(const dlx_h5r *r, dlx_ckpt_meta *meta, dlx_err *err)
{
    meta->n_optims = 1;
    int rc = dlx_h5r_read_i64(r, "/optim/t", &meta->optim_t[0], err);
    if (rc || !dlx_h5r_exists(r, "/state"))
        return rc; /* older checkpoints have no state */
    double *v;
    dlx_h5r_info info;
    rc = dlx_h5r_read_alloc(r, "/state", H5T_FLOAT, H5T_NATIVE_DOUBLE, DLX_CKPT_STATE_MAX, (void **)&v, &info, err);
    if (rc)
        return rc;
    if (info.ndim != 1) {
        free(v);
        return h5io_fail(err, DLX_EFORMAT, r->path, "/state is not a vector of at most %d numbers",
                         DLX_CKPT_STATE_MAX);
    }
    if (v)
        memcpy(meta->state, v, (size_t)info.numel * sizeof *v);
    free(v);
    meta->n_state = (int)info.numel;
    return 0;
}

/* Version 2: /optim/<name>/t for every optimizer group, /state/<name>. */
static int read_v2_loop(const dlx_h5r *r, dlx_ckpt_meta *meta, dlx_err *err)
{
    char names[DLX_CKPT_STATE_MAX][DLX_H5R_NAME_MAX], obj[DLX_H5R_NAME_MAX + 16];
    int n = 0, rc = 0;
    if (dlx_h5r_exists(r, "/optim"))
        rc = dlx_h5r_list(r, "/optim", DLX_CKPT_OPTIMS_MAX, names, &n, err);
    for (int i = 0; i < n && !rc; i++) {
        if (strlen(names[i]) >= DLX_CKPT_NAME_MAX)
            return h5io_fail(err, DLX_EFORMAT, r->path, "/optim/%.60s...: optimizer name too long", names[i]);
        snprintf(meta->optim_name[i], DLX_CKPT_NAME_MAX, "%s", names[i]);
        snprintf(obj, sizeof obj, "/optim/%s/t", names[i]);
        rc = dlx_h5r_read_i64(r, obj, &meta->optim_t[i], err);
        if (!rc && meta->optim_t[i] < 0)
            rc = h5io_fail(err, DLX_EFORMAT, r->path, "%s is %lld; a count of updates is never negative", obj,
                           (long long)meta->optim_t[i]);
    }
    meta->n_optims = n;
    n = 0;
    if (!rc && dlx_h5r_exists(r, "/state"))
        rc = dlx_h5r_list(r, "/state", DLX_CKPT_STATE_MAX, names, &n, err);
    for (int i = 0; i < n && !rc; i++) {
        if (strlen(names[i]) >= DLX_CKPT_NAME_MAX)
            return h5io_fail(err, DLX_EFORMAT, r->path, "/state/%.60s...: name too long", names[i]);
        snprintf(meta->state_name[i], DLX_CKPT_NAME_MAX, "%s", names[i]);
        snprintf(obj, sizeof obj, "/state/%s", names[i]);
        rc = dlx_h5r_read_f64(r, obj, &meta->state[i], err);
    }
    meta->n_state = rc ? 0 : n;
    return rc;
}

int dlx_ckpt_read_meta(const char *path, dlx_ckpt_meta *meta, char *family, size_t family_n,
                       dlx_err *err)
{
    memset(meta, 0, sizeof *meta);
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, path, err);
    if (rc)
        return rc;
    char *spec = NULL, *fam = NULL;
    int version = 0;
    rc = check_dlx(&r, &version, err);
    if (!rc)
        rc = dlx_h5r_read_string(&r, "/spec", DLX_SPEC_TEXT_MAX, &spec, err);
    static const char *const names[] = {"/step", "/epoch"};
    int64_t vals[2];
    for (int i = 0; i < 2 && !rc; i++) {
        rc = dlx_h5r_read_i64(&r, names[i], &vals[i], err);
        if (!rc && vals[i] < 0)
            rc = h5io_fail(err, DLX_EFORMAT, path, "%s is %lld; a count of steps is never negative", names[i],
                           (long long)vals[i]);
    }
    uint64_t rng[3];
    const int64_t three = 3;
    if (!rc)
        rc = dlx_h5r_read_exact(&r, "/rng", H5T_INTEGER, H5T_NATIVE_UINT64, 1, &three, rng, err);
    if (!rc && dlx_h5r_has_attr(&r, "/", "family")) /* present, or unreadable: read it */
        rc = dlx_h5r_attr_string(&r, "/", "family", 63, &fam, err);
    if (!rc)
        rc = version == 1 ? read_v1_loop(&r, meta, err) : read_v2_loop(&r, meta, err);
    if (!rc && version == 1 && meta->optim_t[0] < 0)
        rc = h5io_fail(err, DLX_EFORMAT, path, "/optim/t is %lld; a count of steps is never negative",
                       (long long)meta->optim_t[0]);
    if (rc)
        goto out_free;
    if (family && family_n)
        snprintf(family, family_n, "%s", fam ? fam : "");
    meta->version = version;
    meta->family = family;
    meta->spec_text = spec;
    spec = NULL;
    meta->step = vals[0];
    meta->epoch = vals[1];
    memcpy(meta->rng, rng, sizeof rng);
out_free:
    free(fam);
    free(spec);
    dlx_h5r_close(&r);
    return rc;
}

/* Read one array with the exact expected shape; its values must be finite (a
 * checkpoint is only ever written after a finite step). Returns 1 when missing. */
static int read_array(const dlx_h5r *r, dlx_h5_array *a, dlx_err *err)
{
    if (!dlx_h5r_exists(r, a->path))
        return 1;
    int64_t numel = 1;
    for (int i = 0; i < a->shape.ndim; i++)
        numel *= a->shape.d[i];
    int rc = dlx_h5r_read_exact(r, a->path, H5T_FLOAT, H5T_NATIVE_FLOAT, a->shape.ndim, a->shape.d, a->data, err);
    for (int64_t i = 0; !rc && i < numel; i++)
        if (!isfinite(a->data[i]))
            rc = h5io_fail(err, DLX_EFORMAT, r->path, "%s holds %s at element %lld: not a usable checkpoint",
                           a->path, isnan(a->data[i]) ? "NaN" : "an infinite value", (long long)i);
    return rc;
}

int dlx_ckpt_read_arrays(const char *path, dlx_h5_array *arrays, int n, bool optional,
                         dlx_err *err)
{
    dlx_h5r r;
    int rc = dlx_h5r_open(&r, path, err);
    if (rc)
        return rc;
    int version;
    rc = check_dlx(&r, &version, err);
    for (int i = 0; !rc && i < n; i++) {
        rc = read_array(&r, &arrays[i], err);
        if (rc == 1)
            rc = optional ? 0
                          : h5io_fail(err, DLX_EFORMAT, path, "%s is missing from the checkpoint",
                                 arrays[i].path);
    }
    dlx_h5r_close(&r);
    return rc;
}
