/* Bounded reading of HDF5 files: see h5read.h for what is checked and why. */
#include "h5read.h"
#include "infile.h"
#include "tensor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* deflate cannot compress by more than 1032:1; anything beyond is not real data */
#define MAX_COMPRESSION 1100
#define MAX_CHUNKS ((int64_t)1 << 24) /* chunks of one dataset a reader maps */

/* Every message is located at the file it is about. */
#define failf(r, err, code, ...) dlx_err_setf((err), (code), DLX_FILELOC((r)->path), __VA_ARGS__)

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *user)
{
    (void)n;
    if (e->desc && e->desc[0])
        snprintf(user, 160, "%s", e->desc);
    return 1; /* the first entry walking upward is where the error started */
}

const char *dlx_h5r_reason(char buf[160])
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, buf);
    return buf;
}

/* The latch of dlx_h5r.broken. The readers pass the reader as const (they
 * never change what it reads); no dlx_h5r is defined const, so this write
 * through it is defined. */
static void mark_broken(const dlx_h5r *r)
{
    dlx_h5r *w = (dlx_h5r *)r;
    if (!w->broken)
        dlx_h5r_reason(w->why);
    w->broken = true;
}

static int refuse_broken(const dlx_h5r *r, dlx_err *err, const char *what)
{
    return failf(r, err, DLX_EFORMAT, "cannot read %s: an earlier read of this file failed (%s): it is corrupt", what,
                 r->why[0] ? r->why : "truncated or corrupt");
}

/* "cannot read X: <HDF5's innermost reason>", or "(truncated or corrupt)". */
static int read_failed(const dlx_h5r *r, dlx_err *err, const char *what)
{
    if (r->broken)
        return refuse_broken(r, err, what);
    mark_broken(r);
    char why[160];
    dlx_h5r_reason(why);
    if (strstr(why, "Fletcher32") || strstr(why, "checksum"))
        return failf(r, err, DLX_EFORMAT, "%s fails its checksum (%s): the file is corrupt", what, why);
    return failf(r, err, DLX_EFORMAT, "cannot read %s (%s)", what, why[0] ? why : "truncated or corrupt");
}

hid_t dlx_h5r_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    /* no advisory lock (a notebook holding metrics.h5 must not fail training);
     * STRONG close releases every object on error paths */
    if (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 || H5Pset_file_locking(fapl, 0, 1) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

static int open_file(dlx_h5r *r, const char *path, bool probe, dlx_err *err)
{
    r->f = -1;
    r->path = path;
    r->broken = false;
    r->why[0] = '\0';
    /* the probe checks the file type first (never blocks on a FIFO) */
    int rc = probe ? dlx_h5r_probe(path, err) : dlx_infile_stat_regular(path, "HDF5 file", NULL, err);
    if (rc)
        return rc;
    if (H5Fis_hdf5(path) <= 0) {
        char why[160];
        dlx_h5r_reason(why);
        if (strstr(why, "unable to open") && access(path, R_OK) != 0)
            return failf(r, err, DLX_EIO, "cannot open: %s", strerror(errno));
        return failf(r, err, DLX_EFORMAT, "not an HDF5 file (or truncated)");
    }
    hid_t fapl = dlx_h5r_fapl();
    if (fapl < 0)
        return failf(r, err, DLX_ENOMEM, "cannot set up HDF5 file access");
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        char why[160];
        dlx_h5r_reason(why);
        /* HDF5_USE_FILE_LOCKING=TRUE in the environment overrides our fapl */
        if (strstr(why, "unable to lock"))
            return failf(r, err, DLX_EIO, "cannot open: %s", why);
        /* a good signature but a bad body: usually "truncated file: eof = ..." */
        return failf(r, err, DLX_EFORMAT, "not an HDF5 file (or truncated)");
    }
    r->f = f;
    return 0;
}

int dlx_h5r_open(dlx_h5r *r, const char *path, dlx_err *err) { return open_file(r, path, true, err); }

int dlx_h5r_open_own(dlx_h5r *r, const char *path, dlx_err *err) { return open_file(r, path, false, err); }

void dlx_h5r_close(dlx_h5r *r)
{
    if (r->f >= 0)
        H5Fclose(r->f);
    r->f = -1;
}

/* --- existence ------------------------------------------------------------------------------ */

/* Every link of an absolute path, in order: 1 when all exist and are hard
 * links, 0 when one is missing (or a prefix is not a group), -1 when one is
 * soft or external, or cannot be read (the reader is then broken). Each prefix is
 * checked before the next is looked up, so no soft or external link is ever
 * followed (an external link could name another file, or a FIFO). */
static int path_links(const dlx_h5r *r, const char *obj)
{
    if (r->broken)
        return -1; /* what the readers take for "there, but not readable" */
    size_t len = strlen(obj);
    if (len == 0 || obj[0] != '/')
        return 0;
    char *buf = malloc(len + 1);
    if (!buf)
        return 0;
    memcpy(buf, obj, len + 1);
    int state = 1;
    for (size_t i = 1; state == 1 && i <= len && len > 1; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char save = buf[i];
        buf[i] = '\0';
        H5L_info_t info;
        H5O_info_t oinfo;
        htri_t there = H5Lexists(r->f, buf, H5P_DEFAULT);
        if (there == 0)
            state = 0;
        else if (there < 0 || H5Lget_info(r->f, buf, &info, H5P_DEFAULT) < 0)
            state = -2;
        else if (info.type != H5L_TYPE_HARD)
            state = -1;
        else if (save == '/' && H5Oget_info_by_name2(r->f, buf, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
            state = -2;
        else if (save == '/' && oinfo.type != H5O_TYPE_GROUP)
            state = 0; /* nothing lies under a dataset (HDF5 would fail on the next link) */
        if (state == -2) {
            mark_broken(r);
            state = -1;
        }
        buf[i] = save;
    }
    free(buf);
    return state;
}

bool dlx_h5r_exists(const dlx_h5r *r, const char *obj) { return path_links(r, obj) != 0; }

/* The object type at an absolute path, or H5O_TYPE_UNKNOWN when any part of it
 * is missing or unreadable. */
static H5O_type_t type_at(const dlx_h5r *r, const char *obj)
{
    if (path_links(r, obj) != 1)
        return H5O_TYPE_UNKNOWN;
    H5O_info_t info;
    if (H5Oget_info_by_name2(r->f, obj, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        mark_broken(r);
        return H5O_TYPE_UNKNOWN;
    }
    return info.type;
}

bool dlx_h5r_is_dataset(const dlx_h5r *r, const char *obj) { return type_at(r, obj) == H5O_TYPE_DATASET; }
bool dlx_h5r_is_group(const dlx_h5r *r, const char *obj) { return type_at(r, obj) == H5O_TYPE_GROUP; }

/* --- attributes ------------------------------------------------------------------------------ */

bool dlx_h5r_has_attr(const dlx_h5r *r, const char *obj, const char *name)
{
    if (type_at(r, obj) == H5O_TYPE_UNKNOWN)
        return r->broken; /* absent, or there but unreadable: then the read says so */
    htri_t there = H5Aexists_by_name(r->f, obj, name, H5P_DEFAULT);
    if (there < 0)
        mark_broken(r);
    return there != 0;
}

typedef struct list_ctx {
    char (*names)[DLX_H5R_NAME_MAX];
    int max, n;
    int bad; /* 1: too many, 2: a name too long, 3: not a hard link */
} list_ctx;

static herr_t list_one(hid_t g, const char *name, const H5L_info_t *info, void *user)
{
    (void)g;
    list_ctx *c = user;
    if (info->type != H5L_TYPE_HARD)
        c->bad = 3;
    else if (c->n == c->max)
        c->bad = 1;
    else if (strlen(name) >= DLX_H5R_NAME_MAX)
        c->bad = 2;
    else
        snprintf(c->names[c->n++], DLX_H5R_NAME_MAX, "%s", name);
    return c->bad ? 1 : 0;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

int dlx_h5r_list(const dlx_h5r *r, const char *group, int max, char (*names)[DLX_H5R_NAME_MAX], int *n,
                 dlx_err *err)
{
    *n = 0;
    if (!dlx_h5r_is_group(r, group))
        return failf(r, err, DLX_EFORMAT, "%s is not a group", group);
    list_ctx c = {.names = names, .max = max};
    hsize_t idx = 0;
    /* HDF5's native order, sorted here: asked for name order, HDF5 1.10
     * builds a table of a dense group's links and double-frees it when one
     * is corrupt (tests/fuzz/hdf5_bugs/link_table_double_free) */
    herr_t st = H5Literate_by_name(r->f, group, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, list_one, &c, H5P_DEFAULT);
    if (c.bad == 1)
        return failf(r, err, DLX_EFORMAT, "%s has more than %d members", group, max);
    if (c.bad == 2)
        return failf(r, err, DLX_EFORMAT, "%s has a member whose name is longer than %d bytes", group,
                     DLX_H5R_NAME_MAX - 1);
    if (c.bad == 3)
        return failf(r, err, DLX_EFORMAT, "%s has a soft or external link; dlx reads only hard links", group);
    if (st < 0)
        return read_failed(r, err, group);
    qsort(names, (size_t)c.n, sizeof *names, by_name);
    *n = c.n;
    return 0;
}

/* --- shapes and types ----------------------------------------------------------------------- */

static int describe(const dlx_h5r *r, const char *what, hid_t space, hid_t type, dlx_h5r_info *info,
                    dlx_err *err)
{
    memset(info, 0, sizeof *info);
    if (space < 0 || type < 0)
        return read_failed(r, err, what);
    H5S_class_t sc = H5Sget_simple_extent_type(space);
    if (sc == H5S_NO_CLASS)
        return failf(r, err, DLX_EFORMAT, "%s has an unreadable shape", what);
    info->numel = 1;
    if (sc == H5S_NULL) {
        info->numel = 0;
    } else {
        int nd = H5Sget_simple_extent_ndims(space);
        if (nd < 0 || nd > H5S_MAX_RANK)
            return failf(r, err, DLX_EFORMAT, "%s has an unreadable shape", what);
        hsize_t dims[H5S_MAX_RANK];
        if (nd > 0 && H5Sget_simple_extent_dims(space, dims, NULL) != nd)
            return failf(r, err, DLX_EFORMAT, "%s has an unreadable shape", what);
        info->ndim = nd;
        for (int i = 0; i < nd; i++) {
            if (dims[i] > (hsize_t)INT64_MAX || !dlx_mul_i64(info->numel, (int64_t)dims[i], &info->numel))
                return failf(r, err, DLX_EFORMAT, "%s claims more than 2^63 elements", what);
            info->dims[i] = (int64_t)dims[i];
        }
    }
    info->cls = H5Tget_class(type);
    info->type_size = H5Tget_size(type);
    if (info->cls == H5T_NO_CLASS || info->type_size == 0)
        return failf(r, err, DLX_EFORMAT, "%s has an unreadable type", what);
    if (info->cls == H5T_INTEGER)
        info->is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (info->cls == H5T_STRING)
        info->vlen_str = H5Tis_variable_str(type) > 0;
    return 0;
}

int dlx_h5r_dataset_info(const dlx_h5r *r, hid_t d, const char *what, dlx_h5r_info *info, dlx_err *err)
{
    hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    int rc = describe(r, what, space, type, info, err);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static hid_t open_dataset(const dlx_h5r *r, const char *obj, dlx_err *err, int *rc)
{
    int links = path_links(r, obj);
    if (r->broken) {
        *rc = refuse_broken(r, err, obj);
        return -1;
    }
    if (links != 1) {
        *rc = links == 0 ? failf(r, err, DLX_EFORMAT, "no %s dataset", obj)
                         : failf(r, err, DLX_EFORMAT, "%s goes through a soft or external link: dlx reads only "
                                 "objects stored in the file", obj);
        return -1;
    }
    hid_t d = H5Dopen2(r->f, obj, H5P_DEFAULT); /* fails for a group, or a corrupt object header */
    *rc = d < 0 ? read_failed(r, err, obj) : 0;
    return d;
}

int dlx_h5r_info_of(const dlx_h5r *r, const char *obj, dlx_h5r_info *info, dlx_err *err)
{
    int rc;
    hid_t d = open_dataset(r, obj, err, &rc);
    if (rc)
        return rc;
    rc = dlx_h5r_dataset_info(r, d, obj, info, err);
    H5Dclose(d);
    return rc;
}

/* A number class with a size real numbers have: a corrupt header can declare an
 * element of gigabytes, and HDF5 would allocate its conversion buffer. */
static int check_number(const dlx_h5r *r, const char *what, const dlx_h5r_info *info, H5T_class_t cls,
                        dlx_err *err)
{
    if (info->cls != cls || info->type_size < 1 || info->type_size > 16)
        return failf(r, err, DLX_EFORMAT, "%s is not %s dataset", what,
                     cls == H5T_FLOAT ? "a floating-point" : "an integer");
    return 0;
}

/* A chunked layout of the dataset's own rank, chunks of at least one
 * element, and no more chunks than MAX_CHUNKS: HDF5 1.10 trusts a corrupt
 * chunk rank or size and maps the chunks it reads without end
 * (tests/fuzz/hdf5_bugs/chunk_map_runaway). */
static int check_chunks(const dlx_h5r *r, hid_t dcpl, const char *what, const dlx_h5r_info *info, dlx_err *err)
{
    hsize_t chunk[H5S_MAX_RANK];
    int rank = H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk);
    if (rank != info->ndim)
        return failf(r, err, DLX_EFORMAT, "%s has chunks of rank %d for data of rank %d (corrupt)", what, rank,
                     info->ndim);
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (chunk[i] < 1 || chunk[i] > (hsize_t)INT64_MAX)
            return failf(r, err, DLX_EFORMAT, "%s has a chunk dimension of %llu (corrupt)", what,
                         (unsigned long long)chunk[i]);
        int64_t per = info->dims[i] / (int64_t)chunk[i] + (info->dims[i] % (int64_t)chunk[i] != 0);
        if (!dlx_mul_i64(n, per, &n) || n > MAX_CHUNKS)
            return failf(r, err, DLX_EFORMAT, "%s is cut into more than %lld chunks (corrupt or crafted)", what,
                         (long long)MAX_CHUNKS);
    }
    return 0;
}

/* Only data stored in this file, through filters we know, and as much of it as
 * the file really holds (see h5read.h). */
static int check_stored(const dlx_h5r *r, hid_t d, const char *what, const dlx_h5r_info *info, dlx_err *err)
{
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0)
        return read_failed(r, err, what);
    int rc = 0;
    bool compressed = false;
    H5D_layout_t layout = H5Pget_layout(dcpl);
    if (layout != H5D_COMPACT && layout != H5D_CONTIGUOUS && layout != H5D_CHUNKED) {
        rc = failf(r, err, DLX_EFORMAT, "%s is a virtual dataset: dlx reads only data stored in the file", what);
        goto out_dcpl;
    }
    if (H5Pget_external_count(dcpl) != 0) {
        rc = failf(r, err, DLX_EFORMAT, "%s keeps its data in external files: dlx reads only data stored in the file",
                   what);
        goto out_dcpl;
    }
    if (layout == H5D_CHUNKED && (rc = check_chunks(r, dcpl, what, info, err)))
        goto out_dcpl;
    int nf = H5Pget_nfilters(dcpl);
    for (int i = 0; i < nf && !rc; i++) {
        unsigned flags = 0, conf = 0;
        size_t nvals = 0;
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nvals, NULL, 0, NULL, &conf);
        if (id == H5Z_FILTER_DEFLATE)
            compressed = true;
        else if (id != H5Z_FILTER_SHUFFLE && id != H5Z_FILTER_FLETCHER32)
            rc = failf(r, err, DLX_EFORMAT, "%s uses HDF5 filter %d; dlx reads only deflate, shuffle and Fletcher-32",
                       what, (int)id);
    }
    if (nf < 0)
        rc = read_failed(r, err, what);
    if (rc)
        goto out_dcpl;
    int64_t bytes;
    if (!dlx_mul_i64(info->numel, (int64_t)info->type_size, &bytes)) {
        rc = failf(r, err, DLX_EFORMAT, "%s claims more than 2^63 bytes", what);
        goto out_dcpl;
    }
    double stored = (double)H5Dget_storage_size(d);
    if ((double)bytes > stored * (compressed ? MAX_COMPRESSION : 1))
        rc = failf(r, err, DLX_EFORMAT, "%s claims %lld elements (%lld bytes) but the file holds %.0f bytes of it "
                   "(truncated or crafted)", what, (long long)info->numel, (long long)bytes, stored);
out_dcpl:
    H5Pclose(dcpl);
    return rc;
}

static bool same_shape(const dlx_h5r_info *info, int ndim, const int64_t *dims)
{
    if (ndim == 0) /* a scalar, or any one-element array */
        return info->numel == 1;
    if (info->ndim != ndim)
        return false;
    for (int i = 0; i < ndim; i++)
        if (info->dims[i] != dims[i])
            return false;
    return true;
}

static void shape_text(int ndim, const int64_t *dims, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
}

int dlx_h5r_read_exact(const dlx_h5r *r, const char *obj, H5T_class_t cls, hid_t mtype, int ndim,
                       const int64_t *dims, void *buf, dlx_err *err)
{
    int rc;
    hid_t d = open_dataset(r, obj, err, &rc);
    if (rc)
        return rc;
    dlx_h5r_info info;
    rc = dlx_h5r_dataset_info(r, d, obj, &info, err);
    if (!rc && !same_shape(&info, ndim, dims)) {
        char got[200], want[200];
        shape_text(info.ndim, info.dims, got, sizeof got);
        shape_text(ndim, dims, want, sizeof want);
        rc = ndim == 0 ? failf(r, err, DLX_EFORMAT, "%s has shape %s but one value is expected", obj, got)
                       : failf(r, err, DLX_EFORMAT, "%s has shape %s but the model expects %s", obj, got, want);
    }
    if (!rc)
        rc = check_number(r, obj, &info, cls, err);
    if (!rc)
        rc = check_stored(r, d, obj, &info, err);
    if (!rc && info.numel > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = read_failed(r, err, obj);
    H5Dclose(d);
    return rc;
}

int dlx_h5r_read_dataset_alloc(const dlx_h5r *r, hid_t d, const char *what, H5T_class_t cls, hid_t mtype,
                               int64_t max_elems, void **out, dlx_h5r_info *info, dlx_err *err)
{
    *out = NULL;
    int rc = dlx_h5r_dataset_info(r, d, what, info, err);
    if (!rc)
        rc = check_number(r, what, info, cls, err);
    if (!rc && info->numel > max_elems)
        rc = failf(r, err, DLX_EFORMAT, "%s has %lld elements, more than the %lld expected", what,
                   (long long)info->numel, (long long)max_elems);
    if (!rc)
        rc = check_stored(r, d, what, info, err);
    if (rc || info->numel == 0)
        return rc;
    int64_t bytes;
    size_t msize = H5Tget_size(mtype);
    if (!dlx_mul_i64(info->numel, (int64_t)msize, &bytes) || (uint64_t)bytes > SIZE_MAX)
        return failf(r, err, DLX_EFORMAT, "%s is too large to read", what);
    void *buf = malloc((size_t)bytes);
    if (!buf)
        return failf(r, err, DLX_ENOMEM, "out of memory reading %s (%lld bytes)", what, (long long)bytes);
    if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        return read_failed(r, err, what);
    }
    *out = buf;
    return 0;
}

int dlx_h5r_read_alloc(const dlx_h5r *r, const char *obj, H5T_class_t cls, hid_t mtype, int64_t max_elems,
                       void **out, dlx_h5r_info *info, dlx_err *err)
{
    int rc;
    *out = NULL;
    hid_t d = open_dataset(r, obj, err, &rc);
    if (rc)
        return rc;
    rc = dlx_h5r_read_dataset_alloc(r, d, obj, cls, mtype, max_elems, out, info, err);
    H5Dclose(d);
    return rc;
}

int dlx_h5r_read_i64(const dlx_h5r *r, const char *obj, int64_t *out, dlx_err *err)
{
    return dlx_h5r_read_exact(r, obj, H5T_INTEGER, H5T_NATIVE_INT64, 0, NULL, out, err);
}

int dlx_h5r_read_f64(const dlx_h5r *r, const char *obj, double *out, dlx_err *err)
{
    return dlx_h5r_read_exact(r, obj, H5T_FLOAT, H5T_NATIVE_DOUBLE, 0, NULL, out, err);
}

/* --- strings and attributes ----------------------------------------------------------------- */

/* One string element of an open dataset or attribute (raw bytes, no conversion). */
static int read_string_obj(const dlx_h5r *r, hid_t obj, bool attr, const char *what, size_t max_len, char **out,
                           dlx_err *err)
{
    *out = NULL;
    hid_t type = attr ? H5Aget_type(obj) : H5Dget_type(obj);
    hid_t space = attr ? H5Aget_space(obj) : H5Dget_space(obj), mtype = -1;
    dlx_h5r_info info;
    int rc = describe(r, what, space, type, &info, err);
    if (!rc && (info.cls != H5T_STRING || info.numel != 1))
        rc = failf(r, err, DLX_EFORMAT, "%s is not one string", what);
    if (!rc && !attr)
        rc = check_stored(r, obj, what, &info, err);
    if (rc)
        goto out;
    if (info.vlen_str) { /* dlx writes fixed strings: this is another tool's file */
        mtype = H5Tcopy(H5T_C_S1);
        if (mtype < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Tset_cset(mtype, H5Tget_cset(type)) < 0)
            rc = read_failed(r, err, what);
        else
            rc = dlx_h5r_read_vlen_str(r, obj, attr, mtype, max_len, what, out, err);
        goto out;
    }
    if (info.type_size > max_len) {
        rc = failf(r, err, DLX_EFORMAT, "%s is %zu bytes long, more than the %zu expected", what,
                   info.type_size, max_len);
        goto out;
    }
    char *buf = calloc(1, info.type_size + 1);
    if (!buf) {
        rc = failf(r, err, DLX_ENOMEM, "out of memory reading %s", what);
        goto out;
    }
    if ((attr ? H5Aread(obj, type, buf) : H5Dread(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)) < 0) {
        free(buf);
        rc = read_failed(r, err, what);
        goto out;
    }
    if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
        for (size_t i = strlen(buf); i > 0 && buf[i - 1] == ' '; i--)
            buf[i - 1] = '\0';
    *out = buf;
out:
    if (mtype >= 0)
        H5Tclose(mtype);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

int dlx_h5r_read_string(const dlx_h5r *r, const char *obj, size_t max_len, char **out, dlx_err *err)
{
    int rc;
    *out = NULL;
    hid_t d = open_dataset(r, obj, err, &rc);
    if (rc)
        return rc;
    rc = read_string_obj(r, d, false, obj, max_len, out, err);
    H5Dclose(d);
    return rc;
}

/* "attribute 'version' of /" */
static void attr_what(const char *obj, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "attribute '%s' of %s", name, obj);
}

static hid_t open_attr(const dlx_h5r *r, const char *obj, const char *name, const char *what, dlx_err *err,
                       int *rc)
{
    bool has = dlx_h5r_has_attr(r, obj, name);
    if (r->broken) {
        *rc = refuse_broken(r, err, what);
        return -1;
    }
    if (!has) {
        *rc = failf(r, err, DLX_EFORMAT, "no %s", what);
        return -1;
    }
    hid_t a = H5Aopen_by_name(r->f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    *rc = a < 0 ? read_failed(r, err, what) : 0;
    return a;
}

/* One number of class cls from attribute name of obj, read as mtype into out. */
static int attr_number(const dlx_h5r *r, const char *obj, const char *name, H5T_class_t cls, hid_t mtype, void *out,
                       dlx_err *err)
{
    char what[256];
    attr_what(obj, name, what, sizeof what);
    int rc;
    hid_t a = open_attr(r, obj, name, what, err, &rc);
    if (rc)
        return rc;
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    dlx_h5r_info info;
    rc = describe(r, what, space, type, &info, err);
    if (!rc && info.numel != 1)
        rc = failf(r, err, DLX_EFORMAT, "%s holds %lld values, not one", what, (long long)info.numel);
    if (!rc)
        rc = check_number(r, what, &info, cls, err);
    if (!rc && H5Aread(a, mtype, out) < 0)
        rc = read_failed(r, err, what);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    H5Aclose(a);
    return rc;
}

int dlx_h5r_attr_i64(const dlx_h5r *r, const char *obj, const char *name, int64_t *out, dlx_err *err)
{
    return attr_number(r, obj, name, H5T_INTEGER, H5T_NATIVE_INT64, out, err);
}

int dlx_h5r_attr_f64(const dlx_h5r *r, const char *obj, const char *name, double *out, dlx_err *err)
{
    return attr_number(r, obj, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, out, err);
}

int dlx_h5r_attr_string(const dlx_h5r *r, const char *obj, const char *name, size_t max_len, char **out,
                        dlx_err *err)
{
    char what[256];
    attr_what(obj, name, what, sizeof what);
    *out = NULL;
    int rc;
    hid_t a = open_attr(r, obj, name, what, err, &rc);
    if (rc)
        return rc;
    rc = read_string_obj(r, a, true, what, max_len, out, err);
    H5Aclose(a);
    return rc;
}
