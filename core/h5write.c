/* Writing an HDF5 file atomically; see h5write.h. */
#include "h5write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "h5io_internal.h"
#include "provenance.h"

int h5io_tmp_name(dlx_h5w *w, const char *path, dlx_err *err)
{
    w->f = -1;
    w->path = path;
    if ((size_t)snprintf(w->tmp, sizeof w->tmp, "%s.tmp", path) >= sizeof w->tmp)
        return h5io_fail(err, DLX_EINVAL, path, "path too long");
    return 0;
}

static int fsync_path(const char *p, int flags)
{
    int fd = open(p, flags);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* fsync the directory holding `path` so the rename itself is durable. */
static int fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        return fsync_path(".", O_RDONLY | O_DIRECTORY);
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof dir)
        return -1;
    memcpy(dir, path, len);
    dir[len] = '\0';
    return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

int dlx_h5w_create(dlx_h5w *w, const char *path, uint64_t reserve_bytes, dlx_err *err)
{
    int rc = h5io_tmp_name(w, path, err);
    if (rc)
        return rc;
    hid_t fapl = dlx_h5r_fapl();
    /* the 1.10 file format: checksummed superblock and object headers, and a
     * one-chunk dataset's chunk address and filter mask in its (checksummed)
     * layout message; 1.8's chunk B-tree has no checksum, so a flipped bit
     * there went unnoticed (tests/test_h5read.c flips every byte) */
    if (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_LATEST) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return h5io_fail(err, DLX_ENOMEM, path, "cannot set up HDF5 file access");
    }
    errno = 0;
    w->f = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    int e = errno;
    H5Pclose(fapl);
    if (w->f < 0) { /* (a full disk: the file may exist, empty) */
        char why[160];
        dlx_h5r_reason(why);
        unlink(w->tmp);
        return h5io_fail(err, DLX_EIO, path, "cannot create %s: %s", w->tmp,
                         e ? strerror(e) : why[0] ? why : "unknown error");
    }
    /* blocks first, so a full disk fails here and not inside HDF5 (h5io_space.c) */
    rc = h5io_reserve(w->tmp, path, reserve_bytes, err);
    if (!rc && dlx_provenance_write(w->f))
        rc = h5io_fail(err, DLX_EIO, path, "cannot write its provenance attributes into %s", w->tmp);
    if (rc)
        dlx_h5w_abort(w);
    return rc;
}

void dlx_h5w_abort(dlx_h5w *w)
{
    if (w->f >= 0 && H5Fclose(w->f) < 0)
        h5io_note_close_failed();
    w->f = -1;
    unlink(w->tmp);
}

int dlx_h5w_commit(dlx_h5w *w, dlx_err *err)
{
    int rc = 0;
    if (H5Fflush(w->f, H5F_SCOPE_GLOBAL) < 0) {
        rc = h5io_fail(err, DLX_EIO, w->path, "cannot flush %s", w->tmp);
        dlx_h5w_abort(w);
        return rc;
    }
    herr_t closed = H5Fclose(w->f);
    w->f = -1;
    if (closed < 0) {
        h5io_note_close_failed();
        rc = h5io_fail(err, DLX_EIO, w->path, "cannot close %s", w->tmp);
    }
    if (!rc) {
        h5io_release_surplus(w->tmp);
        if (fsync_path(w->tmp, O_RDONLY) != 0)
            rc = h5io_fail(err, DLX_EIO, w->path, "cannot fsync %s: %s", w->tmp, strerror(errno));
    }
    if (!rc && rename(w->tmp, w->path) != 0)
        rc = h5io_fail(err, DLX_EIO, w->path, "cannot rename %s over it: %s", w->tmp, strerror(errno));
    if (rc) {
        unlink(w->tmp);
        return rc;
    }
    if (fsync_parent(w->path) != 0)
        return h5io_fail(err, DLX_EIO, w->path, "cannot fsync its directory: %s", strerror(errno));
    return 0;
}

int dlx_h5w_attr_text(hid_t obj, const char *name, const char *value)
{
    int rc = -1;
    const char *s = value ? value : "";
    size_t len = strlen(s);
    hid_t type = H5Tcopy(H5T_C_S1), space = -1, attr = -1;
    if (type < 0)
        return -1;
    if (H5Tset_size(type, len ? len : 1) < 0 || H5Tset_strpad(type, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(type, H5T_CSET_UTF8) < 0)
        goto out_type;
    space = H5Screate(H5S_SCALAR);
    if (space < 0)
        goto out_type;
    attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0) {
        if (H5Awrite(attr, type, len ? s : "") >= 0)
            rc = 0;
        H5Aclose(attr);
    }
    H5Sclose(space);
out_type:
    H5Tclose(type);
    return rc;
}

/* A scalar attribute stored as file_type from *v in mem_type. */
static int attr_scalar(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *v)
{
    int rc = -1;
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0)
        return -1;
    hid_t attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0) {
        if (H5Awrite(attr, mem_type, v) >= 0)
            rc = 0;
        H5Aclose(attr);
    }
    H5Sclose(space);
    return rc;
}

int dlx_h5w_attr_i64(hid_t obj, const char *name, int64_t v)
{
    return attr_scalar(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

int dlx_h5w_attr_f64(hid_t obj, const char *name, double v)
{
    return attr_scalar(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}
