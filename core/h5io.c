/* Checkpoints and metrics in HDF5. See h5io.h for the file layout. */
#include "h5io.h"
#include "h5io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_NAME "dlx-checkpoint"
#define FORMAT_VERSION 1

void dlx_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* --- small helpers -------------------------------------------------------------------------- */

/* Every message is located at the file it is about. */
int h5io_fail(dlx_err *err, int code, const char *path, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dlx_err_setf(err, code, DLX_FILELOC(path), "%s", msg);
}

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *user)
{
    (void)n;
    if (e->desc && e->desc[0])
        snprintf(user, 160, "%s", e->desc);
    return 1; /* the first entry walking upward is where the error started */
}

/* The innermost HDF5 error message, read right after a failing call (the next API call clears
 * the stack). Empty when HDF5 recorded nothing. */
const char *h5io_h5_reason(char buf[160])
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, buf);
    return buf;
}

/* Readers and the metrics writer do not take HDF5's advisory lock: a notebook holding
 * metrics.h5 open must not make training fail, and we never write a file a reader may hold
 * except between metrics flushes (see h5io.h). STRONG close releases everything on error paths. */
hid_t h5io_make_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    if (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 || H5Pset_file_locking(fapl, 0, 1) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

/* Open an existing file: missing/unreadable is DLX_EIO, anything HDF5 refuses is DLX_EFORMAT. */
int h5io_open_file(const char *path, bool rdwr, hid_t *out, dlx_err *err)
{
    int fd = open(path, rdwr ? O_RDWR : O_RDONLY);
    if (fd < 0)
        return h5io_fail(err, DLX_EIO, path, "cannot open: %s", strerror(errno));
    struct stat st;
    int st_rc = fstat(fd, &st);
    close(fd);
    if (st_rc != 0)
        return h5io_fail(err, DLX_EIO, path, "cannot open: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return h5io_fail(err, DLX_EIO, path, "cannot open: not a regular file");
    if (H5Fis_hdf5(path) <= 0)
        return h5io_fail(err, DLX_EFORMAT, path, "not an HDF5 file (or truncated)");
    hid_t fapl = h5io_make_fapl();
    if (fapl < 0)
        return h5io_fail(err, DLX_ENOMEM, path, "cannot set up HDF5 file access");
    hid_t f = H5Fopen(path, rdwr ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        char why[160];
        h5io_h5_reason(why);
        H5Pclose(fapl);
        /* HDF5_USE_FILE_LOCKING=TRUE in the environment overrides our fapl */
        if (strstr(why, "unable to lock"))
            return h5io_fail(err, DLX_EIO, path, "cannot open: %s", why);
        /* a good signature but a bad body: usually "truncated file: eof = ..." */
        return h5io_fail(err, DLX_EFORMAT, path, "not an HDF5 file (or truncated)");
    }
    H5Pclose(fapl);
    *out = f;
    return 0;
}

/* True if every component of an absolute path exists (H5Lexists wants the parents to exist). */
static bool path_exists(hid_t f, const char *path)
{
    char buf[512];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char save = buf[i];
        buf[i] = '\0';
        htri_t ok = H5Lexists(f, buf, H5P_DEFAULT);
        buf[i] = save;
        if (ok <= 0)
            return false;
    }
    return true;
}

bool h5io_is_dataset(hid_t f, const char *path)
{
    H5O_info_t info;
    if (!path_exists(f, path))
        return false;
    if (H5Oget_info_by_name2(f, path, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return false;
    return info.type == H5O_TYPE_DATASET;
}

/* --- writing ------------------------------------------------------------------------------- */

static int write_str_attr(hid_t obj, const char *name, const char *s)
{
    int rc = -1;
    hid_t type = H5Tcopy(H5T_C_S1), space = -1, attr = -1;
    size_t len = strlen(s);
    if (type < 0)
        return -1;
    /* fixed length, NUL-padded: what h5py writes for numpy bytes; h5dump shows it verbatim */
    if (H5Tset_size(type, len ? len : 1) < 0 || H5Tset_strpad(type, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(type, H5T_CSET_UTF8) < 0)
        goto out_type;
    space = H5Screate(H5S_SCALAR);
    if (space < 0)
        goto out_type;
    attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0)
        goto out_space;
    if (H5Awrite(attr, type, len ? s : "") >= 0)
        rc = 0;
    H5Aclose(attr);
out_space:
    H5Sclose(space);
out_type:
    H5Tclose(type);
    return rc;
}

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

/* One dataset; ndim 0 is a scalar. Parent groups are created on the way (lcpl). */
static int write_dataset(hid_t f, hid_t lcpl, const char *path, hid_t ftype, hid_t mtype, int ndim,
                         const hsize_t *dims, const void *buf)
{
    int rc = -1;
    hid_t space = ndim ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR), dset;
    if (space < 0)
        return -1;
    dset = H5Dcreate2(f, path, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (dset >= 0) {
        if (H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
            rc = 0;
        H5Dclose(dset);
    }
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
    if (write_str_attr(f, "format", FORMAT_NAME) < 0) {
        what = "attribute 'format'";
        goto out_fail;
    }
    if (write_int_attr(f, "version", FORMAT_VERSION) < 0) {
        what = "attribute 'version'";
        goto out_fail;
    }
    if (write_str_attr(f, "family", meta->family ? meta->family : "") < 0) {
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
        {"/optim/t", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &meta->optim_t},
        {"/rng", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, meta->rng},
    };
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        if (write_dataset(f, lcpl, scalars[i].path, scalars[i].ftype, scalars[i].mtype,
                          scalars[i].ndim, &three, scalars[i].buf) < 0) {
            what = scalars[i].path;
            goto out_fail;
        }
    }
    if (meta->n_state > 0) {
        hsize_t ns = (hsize_t)(meta->n_state < 8 ? meta->n_state : 8);
        if (write_dataset(f, lcpl, "/state", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &ns, meta->state) < 0) {
            what = "/state";
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
    h5io_h5_reason(why);
    rc = h5io_fail(err, DLX_EIO, path, "cannot write %s%s%s", what, why[0] ? ": " : "", why);
out_lcpl:
    if (lcpl >= 0)
        H5Pclose(lcpl);
    return rc;
}

int h5io_fsync_path(const char *p, int flags)
{
    int fd = open(p, flags);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* fsync the directory holding `path` so the rename itself is durable. */
int h5io_fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        return h5io_fsync_path(".", O_RDONLY | O_DIRECTORY);
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof dir)
        return -1;
    memcpy(dir, path, len);
    dir[len] = '\0';
    return h5io_fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

int dlx_ckpt_write(const char *path, const dlx_ckpt_meta *meta, const dlx_h5_array *arrays, int n,
                   dlx_err *err)
{
    char tmp[4096];
    int rc = 0;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return h5io_fail(err, DLX_EINVAL, path, "path too long");
    hid_t fapl = h5io_make_fapl();
    if (fapl < 0)
        return h5io_fail(err, DLX_ENOMEM, path, "cannot set up HDF5 file access");
    errno = 0;
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    int e = errno;
    H5Pclose(fapl);
    if (f < 0) { /* (a full disk: the file may exist, empty) */
        char why[160];
        h5io_h5_reason(why);
        unlink(tmp);
        return h5io_fail(err, DLX_EIO, path, "cannot create %s: %s", tmp,
                    e ? strerror(e) : why[0] ? why : "unknown error");
    }
    /* blocks first, so a full disk fails here and not inside HDF5 (h5io_space.c) */
    rc = h5io_reserve(tmp, path, h5io_ckpt_bytes(arrays, n, meta->spec_text ? strlen(meta->spec_text) : 0), err);
    if (!rc)
        rc = write_contents(f, path, meta, arrays, n, err);
    if (rc)
        goto out_close_file;
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) {
        rc = h5io_fail(err, DLX_EIO, path, "cannot flush %s", tmp);
        goto out_close_file;
    }
    herr_t closed = H5Fclose(f);
    f = -1;
    if (closed < 0) {
        h5io_note_close_failed();
        rc = h5io_fail(err, DLX_EIO, path, "cannot close %s", tmp);
        goto out_remove_tmp;
    }
    h5io_release_surplus(tmp);
    if (h5io_fsync_path(tmp, O_RDONLY) != 0) {
        rc = h5io_fail(err, DLX_EIO, path, "cannot fsync %s: %s", tmp, strerror(errno));
        goto out_remove_tmp;
    }
    if (rename(tmp, path) != 0) {
        rc = h5io_fail(err, DLX_EIO, path, "cannot rename %s over it: %s", tmp, strerror(errno));
        goto out_remove_tmp;
    }
    if (h5io_fsync_parent(path) != 0)
        return h5io_fail(err, DLX_EIO, path, "cannot fsync its directory: %s", strerror(errno));
    return 0;
out_close_file:
    if (f >= 0 && H5Fclose(f) < 0)
        h5io_note_close_failed();
out_remove_tmp:
    unlink(tmp);
    return rc;
}

/* --- reading ------------------------------------------------------------------------------- */

/* Read a one-element string attribute or dataset (fixed or variable length) as malloc'd text.
 * Returns 0, -1 when it is not a string, -2 on a read error, -3 out of memory. */
static int read_string_obj(hid_t obj, bool attr, char **out)
{
    int rc = -2;
    hid_t type = attr ? H5Aget_type(obj) : H5Dget_type(obj), space = -1, mtype = -1;
    if (type < 0)
        return -2;
    if (H5Tget_class(type) != H5T_STRING) {
        rc = -1;
        goto out_type;
    }
    space = attr ? H5Aget_space(obj) : H5Dget_space(obj);
    if (space < 0 || H5Sget_simple_extent_npoints(space) != 1) {
        rc = -1;
        goto out_space;
    }
    htri_t vlen = H5Tis_variable_str(type);
    if (vlen < 0)
        goto out_space;
    if (vlen) {
        char *p = NULL;
        mtype = H5Tcopy(H5T_C_S1);
        if (mtype < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mtype, H5Tget_cset(type)) < 0)
            goto out_space;
        herr_t r = attr ? H5Aread(obj, mtype, &p)
                        : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p);
        if (r < 0)
            goto out_space;
        *out = strdup(p ? p : "");
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &p);
        rc = *out ? 0 : -3;
    } else {
        size_t size = H5Tget_size(type);
        char *buf = calloc(1, size + 1);
        if (!buf) {
            rc = -3;
            goto out_space;
        }
        /* the file type is a fine memory type for strings: raw bytes, no conversion */
        herr_t r = attr ? H5Aread(obj, type, buf)
                        : H5Dread(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        if (r < 0) {
            free(buf);
            goto out_space;
        }
        if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
            for (size_t i = strlen(buf); i > 0 && buf[i - 1] == ' '; i--)
                buf[i - 1] = '\0';
        *out = buf;
        rc = 0;
    }
out_space:
    if (mtype >= 0)
        H5Tclose(mtype);
    if (space >= 0)
        H5Sclose(space);
out_type:
    H5Tclose(type);
    return rc;
}

int h5io_read_root_attr_string(hid_t f, const char *name, char **out)
{
    if (H5Aexists(f, name) <= 0)
        return -1;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a < 0)
        return -2;
    int rc = read_string_obj(a, true, out);
    H5Aclose(a);
    return rc;
}

/* A corrupt header can declare a number type of gigabytes per element, for
 * which HDF5 would allocate a conversion buffer of npoints times that: only
 * sizes real numbers have (1 to 16 bytes) are read. */
bool h5io_number_type_ok(hid_t type, H5T_class_t want)
{
    size_t size = H5Tget_size(type);
    return H5Tget_class(type) == want && size >= 1 && size <= 16;
}

/* Read a one-element integer dataset (any integer width converts). */
static int read_scalar(hid_t f, const char *path, hid_t mtype, void *out)
{
    if (!h5io_is_dataset(f, path))
        return -1;
    int rc = -2;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT), space = -1, type = -1;
    if (d < 0)
        return -2;
    space = H5Dget_space(d);
    type = H5Dget_type(d);
    if (space < 0 || type < 0)
        goto out_dset;
    if (!h5io_number_type_ok(type, H5T_INTEGER) || H5Sget_simple_extent_npoints(space) != 1) {
        rc = -1;
        goto out_dset;
    }
    if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0)
        rc = 0;
out_dset:
    h5io_close_dataset(d, type, space);
    return rc;
}

/* The optional /state vector (float64, at most max values): its length, or 0
 * when absent or unreadable (older checkpoints have none). */
static int read_state(hid_t f, double *out, int max)
{
    memset(out, 0, (size_t)max * sizeof *out);
    if (!h5io_is_dataset(f, "/state"))
        return 0;
    hid_t d = H5Dopen2(f, "/state", H5P_DEFAULT);
    if (d < 0)
        return 0;
    int n = 0;
    hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    hsize_t dims[1] = {0};
    if (space >= 0 && type >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
        h5io_number_type_ok(type, H5T_FLOAT)) {
        H5Sget_simple_extent_dims(space, dims, NULL);
        if (dims[0] >= 1 && dims[0] <= (hsize_t)max &&
            H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0)
            n = (int)dims[0];
    }
    h5io_close_dataset(d, type, space);
    if (!n)
        memset(out, 0, (size_t)max * sizeof *out);
    return n;
}

static int read_rng(hid_t f, uint64_t rng[3])
{
    if (!h5io_is_dataset(f, "/rng"))
        return -1;
    int rc = -2;
    hid_t d = H5Dopen2(f, "/rng", H5P_DEFAULT), space = -1, type = -1;
    if (d < 0)
        return -2;
    space = H5Dget_space(d);
    type = H5Dget_type(d);
    if (space < 0 || type < 0)
        goto out_dset;
    if (!h5io_number_type_ok(type, H5T_INTEGER) || H5Sget_simple_extent_npoints(space) != 3) {
        rc = -1;
        goto out_dset;
    }
    if (H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rng) >= 0)
        rc = 0;
out_dset:
    h5io_close_dataset(d, type, space);
    return rc;
}

int h5io_read_string_dataset(hid_t f, const char *path, char **out)
{
    if (!h5io_is_dataset(f, path))
        return -1;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0)
        return -2;
    int rc = read_string_obj(d, false, out);
    H5Dclose(d);
    return rc;
}

/* The checks every checkpoint reader starts with. */
static int check_dlx(hid_t f, const char *path, dlx_err *err)
{
    char *fmt = NULL;
    int r = h5io_read_root_attr_string(f, "format", &fmt);
    if (r == -3)
        return h5io_fail(err, DLX_ENOMEM, path, "out of memory");
    bool ok = r == 0 && strcmp(fmt, FORMAT_NAME) == 0;
    free(fmt);
    if (!ok)
        return h5io_fail(err, DLX_EFORMAT, path, "not a dlx checkpoint (no 'format' attribute)");
    int version = 0;
    hid_t a = H5Aexists(f, "version") > 0 ? H5Aopen(f, "version", H5P_DEFAULT) : -1;
    if (a < 0)
        return h5io_fail(err, DLX_EFORMAT, path, "dlx checkpoint without a 'version' attribute");
    hid_t type = H5Aget_type(a);
    bool is_int = type >= 0 && H5Tget_class(type) == H5T_INTEGER;
    if (type >= 0)
        H5Tclose(type);
    herr_t rr = is_int ? H5Aread(a, H5T_NATIVE_INT, &version) : -1;
    H5Aclose(a);
    if (rr < 0)
        return h5io_fail(err, DLX_EFORMAT, path, "unreadable 'version' attribute");
    if (version != FORMAT_VERSION)
        return h5io_fail(err, DLX_EFORMAT, path,
                    "checkpoint format version %d, but this dlx reads version %d", version,
                    FORMAT_VERSION);
    return 0;
}

int dlx_ckpt_read_meta(const char *path, dlx_ckpt_meta *meta, char *family, size_t family_n,
                       dlx_err *err)
{
    hid_t f;
    int rc = h5io_open_file(path, false, &f, err);
    if (rc)
        return rc;
    char *spec = NULL, *fam = NULL;
    rc = check_dlx(f, path, err);
    if (rc)
        goto out_close_file;
    int r = h5io_read_string_dataset(f, "/spec", &spec);
    if (r == -3) {
        rc = h5io_fail(err, DLX_ENOMEM, path, "out of memory reading /spec");
        goto out_close_file;
    }
    if (r != 0) {
        rc = h5io_fail(err, DLX_EFORMAT, path,
                  r == -1 ? "no /spec string dataset" : "cannot read /spec (truncated or corrupt)");
        goto out_close_file;
    }
    static const char *const names[] = {"/step", "/epoch", "/optim/t"};
    int64_t vals[3];
    for (int i = 0; i < 3; i++) {
        r = read_scalar(f, names[i], H5T_NATIVE_INT64, &vals[i]);
        if (r != 0) {
            rc = h5io_fail(err, DLX_EFORMAT, path,
                      r == -1 ? "no %s integer scalar" : "cannot read %s (truncated or corrupt)",
                      names[i]);
            goto out_free;
        }
    }
    uint64_t rng[3];
    r = read_rng(f, rng);
    if (r != 0) {
        rc = h5io_fail(err, DLX_EFORMAT, path,
                  r == -1 ? "no /rng dataset of 3 integers"
                          : "cannot read /rng (truncated or corrupt)");
        goto out_free;
    }
    r = h5io_read_root_attr_string(f, "family", &fam);
    if (r == -3 || r == -2) {
        rc = h5io_fail(err, r == -3 ? DLX_ENOMEM : DLX_EFORMAT, path, "cannot read attribute 'family'");
        goto out_free;
    }
    if (family && family_n)
        snprintf(family, family_n, "%s", fam ? fam : "");
    meta->family = family;
    meta->spec_text = spec;
    spec = NULL;
    meta->step = vals[0];
    meta->epoch = vals[1];
    meta->optim_t = vals[2];
    memcpy(meta->rng, rng, sizeof rng);
    meta->n_state = read_state(f, meta->state, 8);
out_free:
    free(fam);
    free(spec);
out_close_file:
    H5Fclose(f);
    return rc;
}

/* Read one array with the exact expected shape. Returns 1 when missing (caller decides). */
static int read_array(hid_t f, const char *path, dlx_h5_array *a, dlx_err *err)
{
    if (!path_exists(f, a->path))
        return 1;
    if (!h5io_is_dataset(f, a->path))
        return h5io_fail(err, DLX_EFORMAT, path, "%s is not a dataset", a->path);
    int rc = 0;
    hid_t d = H5Dopen2(f, a->path, H5P_DEFAULT), space = -1, type = -1;
    if (d < 0)
        return h5io_fail(err, DLX_EFORMAT, path, "cannot open %s", a->path);
    space = H5Dget_space(d);
    type = H5Dget_type(d);
    if (space < 0 || type < 0) {
        rc = h5io_fail(err, DLX_EFORMAT, path, "cannot read %s (truncated or corrupt)", a->path);
        goto out_dset;
    }
    int ndim = H5Sget_simple_extent_ndims(space);
    hsize_t dims[H5S_MAX_RANK];
    if (ndim < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        rc = h5io_fail(err, DLX_EFORMAT, path, "cannot read the shape of %s", a->path);
        goto out_dset;
    }
    bool same = ndim == a->shape.ndim;
    for (int i = 0; same && i < ndim; i++)
        same = (int64_t)dims[i] == a->shape.d[i];
    if (!same) {
        char got[160], want[96];
        size_t used = (size_t)snprintf(got, sizeof got, "[");
        for (int i = 0; i < ndim && used < sizeof got; i++)
            used += (size_t)snprintf(got + used, sizeof got - used, "%s%llu", i ? ", " : "",
                                     (unsigned long long)dims[i]);
        if (used < sizeof got)
            snprintf(got + used, sizeof got - used, "]");
        dlx_shape_str(&a->shape, want, sizeof want);
        rc = h5io_fail(err, DLX_EFORMAT, path, "%s has shape %s but the model expects %s", a->path, got,
                  want);
        goto out_dset;
    }
    if (!h5io_number_type_ok(type, H5T_FLOAT)) {
        rc = h5io_fail(err, DLX_EFORMAT, path, "%s is not a floating-point dataset", a->path);
        goto out_dset;
    }
    if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) < 0)
        rc = h5io_fail(err, DLX_EFORMAT, path, "cannot read %s (truncated or corrupt)", a->path);
out_dset:
    h5io_close_dataset(d, type, space);
    return rc;
}

int dlx_ckpt_read_arrays(const char *path, dlx_h5_array *arrays, int n, bool optional,
                         dlx_err *err)
{
    hid_t f;
    int rc = h5io_open_file(path, false, &f, err);
    if (rc)
        return rc;
    rc = check_dlx(f, path, err);
    for (int i = 0; !rc && i < n; i++) {
        rc = read_array(f, path, &arrays[i], err);
        if (rc == 1)
            rc = optional ? 0
                          : h5io_fail(err, DLX_EFORMAT, path, "%s is missing from the checkpoint",
                                 arrays[i].path);
    }
    H5Fclose(f);
    return rc;
}

