/* Datasets: the registry, IDX loading (plain or gzip through zlib), the
 * per-batch uint8 -> float transform and the epoch order.
 *
 * Errors carry the file as their location, so a formatted error reads
 * "datasets/data/mnist/train-images-idx3-ubyte: error: truncated IDX file: ...".
 */
#include "data.h"
#include "infile.h"
#include "tensor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_BYTES ((uint64_t)1 << 31) /* refuse headers that declare 2 GiB or more */

static const dlx_dataset_info k_datasets[] = {
    {"mnist", "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
     "t10k-labels-idx1-ubyte", 10, "datasets/fetch mnist"},
    {"fashion-mnist", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10, "datasets/fetch fashion-mnist"},
};
#define N_DATASETS ((int)(sizeof k_datasets / sizeof k_datasets[0]))

const dlx_dataset_info *dlx_dataset_find(const char *name)
{
    for (int i = 0; name && i < N_DATASETS; i++)
        if (strcmp(k_datasets[i].name, name) == 0)
            return &k_datasets[i];
    return NULL;
}

const dlx_dataset_info *dlx_dataset_at(int i)
{
    return i >= 0 && i < N_DATASETS ? &k_datasets[i] : NULL;
}

const char *dlx_dataset_names(void)
{
    return "mnist, fashion-mnist";
}

void dlx_dataset_dir(const char *name, const char *dir, char *out, size_t n)
{
    const char *env = getenv("DLX_DATA_DIR");
    if (dir && dir[0])
        snprintf(out, n, "%s", dir);
    else if (env && env[0])
        snprintf(out, n, "%s/%s", env, name);
    else
        snprintf(out, n, "datasets/data/%s", name);
}

void dlx_dataset_free(dlx_dataset *d)
{
    if (!d)
        return;
    if (!d->borrowed) {
        free(d->images);
        free(d->labels);
    }
    d->borrowed = false;
    d->images = NULL;
    d->labels = NULL;
    d->n = 0;
}

/* ---- IDX reading ---------------------------------------------------------- */

typedef struct idx_file {
    const char *path;
    const char *hint; /* fetch command for "missing" messages, may be NULL */
    gzFile gz;
} idx_file;

static int idx_open(idx_file *f, dlx_err *err)
{
    /* O_NONBLOCK and a regular file only: a FIFO without a writer would block forever */
    int fd = open(f->path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (f->hint)
            return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(f->path),
                                "cannot open: %s; run `%s` to download it", strerror(e), f->hint);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(f->path), "cannot open: %s", strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || fcntl(fd, F_SETFL, 0) != 0) {
        int e = errno;
        close(fd);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(f->path), "cannot open: %s", strerror(e));
    }
    int rc = dlx_infile_require_regular(f->path, "data file", &st, err);
    if (rc) {
        close(fd);
        return rc;
    }
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(f->path), "cannot start zlib reader");
    }
    gzbuffer(f->gz, 1 << 17);
    return 0;
}

/* Read up to n bytes; *got says how many arrived. Returns an error only for
 * I/O failures and gzip corruption; a short read is left to the caller, which
 * knows what the header promised. gz_trunc is set when the gzip stream itself
 * ended early. */
static int idx_read(idx_file *f, void *buf, uint64_t n, uint64_t *got, int *gz_trunc,
                    dlx_err *err)
{
    uint8_t *p = buf;
    *got = 0;
    *gz_trunc = 0;
    while (*got < n) {
        uint64_t want = n - *got;
        unsigned chunk = want > (1u << 30) ? (1u << 30) : (unsigned)want;
        int r = gzread(f->gz, p + *got, chunk);
        int zerr = Z_OK;
        const char *zmsg = gzerror(f->gz, &zerr);
        if (zmsg[0] == '<' && strstr(zmsg, ": ")) /* drop gzdopen's "<fd:3>: " */
            zmsg = strstr(zmsg, ": ") + 2;
        if (r < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR)) {
            if (zerr == Z_ERRNO)
                return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(f->path), "read failed: %s",
                                    strerror(errno));
            return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(f->path),
                                "corrupt gzip data (%s); delete the file and fetch it again", zmsg);
        }
        if (zerr == Z_BUF_ERROR) /* "unexpected end of file" inside a gzip member */
            *gz_trunc = 1;
        if (r == 0)
            break;
        *got += (uint64_t)r;
    }
    return 0;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads the header and the first `keep` records of one IDX file (all of them
 * when keep is 0); *data malloc'd (kept * rows * cols bytes), *n_out the count
 * the header declares, *kept_out (unless NULL) the records read. */
static int idx_read_file(idx_file *f, bool images, uint64_t keep, int64_t *n_out, int64_t *kept_out, int *h_out,
                         int *w_out, uint8_t **data, dlx_err *err)
{
    uint8_t hdr[16];
    size_t hdr_len = images ? 16 : 8;
    uint32_t want_magic = images ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    uint64_t got;
    int gz_trunc;
    int rc = idx_open(f, err);
    if (rc)
        return rc;
    rc = idx_read(f, hdr, hdr_len, &got, &gz_trunc, err);
    if (rc)
        goto out_close;
    if (got >= 4 && be32(hdr) != want_magic) {
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(f->path),
                          "not an IDX %s file (magic 0x%08x, expected 0x%08x)",
                          images ? "image" : "label", be32(hdr), want_magic);
        goto out_close;
    }
    if (got < hdr_len) {
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(f->path),
                          "truncated IDX file: the %zu-byte header ends after %llu bytes%s", hdr_len,
                          (unsigned long long)got,
                          gz_trunc ? " (the gzip stream is cut short)" : "");
        goto out_close;
    }
    uint32_t n = be32(hdr + 4);
    uint32_t h = images ? be32(hdr + 8) : 1, w = images ? be32(hdr + 12) : 1;
    /* checked: a corrupt header's three sizes can multiply past 2^64 */
    int64_t body64 = 0;
    bool sizes_ok = n > 0 && h > 0 && w > 0 && h <= 65536 && w <= 65536 && dlx_mul_i64(n, h, &body64) &&
                    dlx_mul_i64(body64, w, &body64) && (uint64_t)body64 < IDX_MAX_BYTES;
    uint64_t body = (uint64_t)body64;
    if (!sizes_ok) {
        if (images)
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(f->path),
                              "IDX header declares %u images of %ux%u; expected counts > 0 and "
                              "under 2 GiB in total",
                              n, h, w);
        else
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(f->path),
                              "IDX header declares %u labels; expected a count > 0 and under 2^31",
                              n);
        goto out_close;
    }
    uint64_t kept = keep > 0 && keep < n ? keep : n, want = kept * h * w;
    /* a plain file shorter than its header says is refused before allocating
     * (a corrupt 16-byte header must not cost a 2 GiB allocation), also when
     * only its first records are wanted */
    struct stat st;
    uint64_t avail = body;
    if (gzdirect(f->gz) && stat(f->path, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size < hdr_len + body)
        avail = (uint64_t)st.st_size - hdr_len;
    uint8_t *buf = avail < body ? NULL : malloc(want);
    if (avail < body) {
        got = avail;
        gz_trunc = 0;
    } else if (!buf) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(f->path), "cannot allocate %llu bytes",
                          (unsigned long long)want);
        goto out_close;
    }
    if (buf) {
        rc = idx_read(f, buf, want, &got, &gz_trunc, err);
        if (!rc && got == want)
            got = body; /* the records after the kept ones are not read (a gzip file's may be short) */
    }
    if (!rc && got < body) {
        if (images)
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(f->path),
                              "truncated IDX file: header declares %u images of %ux%u (%llu bytes) "
                              "but the file ends after %llu bytes%s",
                              n, h, w, (unsigned long long)(body + hdr_len),
                              (unsigned long long)(got + hdr_len),
                              gz_trunc ? " (the gzip stream is cut short)" : "");
        else
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(f->path),
                              "truncated IDX file: header declares %u labels (%llu bytes) "
                              "but the file ends after %llu bytes%s",
                              n, (unsigned long long)(body + hdr_len),
                              (unsigned long long)(got + hdr_len),
                              gz_trunc ? " (the gzip stream is cut short)" : "");
    }
    if (rc) {
        free(buf);
        goto out_close;
    }
    *n_out = n;
    if (kept_out)
        *kept_out = (int64_t)kept;
    *h_out = (int)h;
    *w_out = (int)w;
    *data = buf;
out_close:
    gzclose_r(f->gz);
    f->gz = NULL;
    return rc;
}

static int idx_load_pair(const char *images_path, const char *labels_path, int num_classes, int64_t keep,
                         const char *hint, dlx_dataset *out, dlx_err *err)
{
    idx_file fi = {images_path, hint, NULL}, fl = {labels_path, hint, NULL};
    int64_t n_img = 0, n_lab = 0, kept = 0;
    int h = 0, w = 0, one;
    uint8_t *images = NULL, *labels = NULL;

    memset(out, 0, sizeof(*out));
    if (num_classes < 1 || num_classes > 256)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(labels_path),
                            "num_classes must be in 1..256, got %d", num_classes);
    int rc = idx_read_file(&fi, true, (uint64_t)keep, &n_img, &kept, &h, &w, &images, err);
    if (rc)
        return rc;
    rc = idx_read_file(&fl, false, (uint64_t)keep, &n_lab, NULL, &one, &one, &labels, err);
    if (rc)
        goto out_free_images;
    if (n_img != n_lab) {
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(labels_path),
                          "holds %lld labels but the image file %s holds %lld images; "
                          "the two files must come from the same split",
                          (long long)n_lab, images_path, (long long)n_img);
        goto out_free_labels;
    }
    for (int64_t i = 0; i < kept; i++) {
        if (labels[i] >= num_classes) {
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(labels_path),
                              "label %u at index %lld is out of range (expected 0..%d)", labels[i],
                              (long long)i, num_classes - 1);
            goto out_free_labels;
        }
    }
    out->n = kept;
    out->c = 1;
    out->h = h;
    out->w = w;
    out->num_classes = num_classes;
    out->images = images;
    out->labels = labels;
    return 0;
out_free_labels:
    free(labels);
out_free_images:
    free(images);
    return rc;
}

int dlx_idx_load(const char *images_path, const char *labels_path, int num_classes,
                 dlx_dataset *out, dlx_err *err)
{
    return idx_load_pair(images_path, labels_path, num_classes, 0, NULL, out, err);
}

int dlx_idx_load_first(const char *images_path, const char *labels_path, int num_classes, int64_t limit,
                       dlx_dataset *out, dlx_err *err)
{
    return idx_load_pair(images_path, labels_path, num_classes, limit, NULL, out, err);
}

/* dir/file, or dir/file with ".gz" added or removed when only that exists. */
static void resolve(const char *dir, const char *file, char *out, size_t n)
{
    size_t len = strlen(file);
    bool gz = len > 3 && strcmp(file + len - 3, ".gz") == 0;
    char alt[4096];
    snprintf(out, n, "%s/%s", dir, file);
    if (access(out, F_OK) == 0)
        return;
    if (gz)
        snprintf(alt, sizeof alt, "%s/%.*s", dir, (int)(len - 3), file);
    else
        snprintf(alt, sizeof alt, "%s/%s.gz", dir, file);
    if (access(alt, F_OK) == 0)
        snprintf(out, n, "%s", alt);
}

int dlx_dataset_load(const char *name, const char *split, const char *dir, dlx_dataset *out,
                     dlx_err *err)
{
    return dlx_dataset_load_first(name, split, dir, 0, out, err);
}

int dlx_dataset_load_first(const char *name, const char *split, const char *dir, int64_t limit,
                           dlx_dataset *out, dlx_err *err)
{
    memset(out, 0, sizeof(*out));
    const dlx_dataset_info *info = dlx_dataset_find(name);
    if (!info)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "unknown dataset '%s' (known: %s)",
                            name ? name : "(null)", dlx_dataset_names());
    bool train = split && strcmp(split, "train") == 0;
    if (!train && !(split && strcmp(split, "test") == 0))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "dataset '%s': unknown split '%s' (expected train or test)", name,
                            split ? split : "(null)");
    char d[4096], ip[4096 + 64], lp[4096 + 64];
    dlx_dataset_dir(name, dir, d, sizeof d);
    resolve(d, train ? info->train_images : info->test_images, ip, sizeof ip);
    resolve(d, train ? info->train_labels : info->test_labels, lp, sizeof lp);
    int rc = idx_load_pair(ip, lp, info->num_classes, limit, info->fetch_hint, out, err);
    if (rc)
        return rc;
    snprintf(out->name, sizeof out->name, "%s", info->name);
    snprintf(out->split, sizeof out->split, "%s", train ? "train" : "test");
    return 0;
}

int dlx_dataset_peek(const char *name, const char *split, const char *dir, int64_t *n, int *h, int *w,
                     char *path, size_t path_n, dlx_err *err)
{
    const dlx_dataset_info *info = dlx_dataset_find(name);
    if (!info || !split)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "unknown dataset '%s'", name ? name : "(null)");
    bool train = strcmp(split, "train") == 0;
    char d[4096];
    dlx_dataset_dir(name, dir, d, sizeof d);
    resolve(d, train ? info->train_images : info->test_images, path, path_n);
    idx_file f = {path, info->fetch_hint, NULL};
    uint8_t hdr[16];
    uint64_t got;
    int gz_trunc;
    int rc = idx_open(&f, err);
    if (rc)
        return rc;
    rc = idx_read(&f, hdr, sizeof hdr, &got, &gz_trunc, err);
    gzclose_r(f.gz);
    if (rc)
        return rc;
    if (got < sizeof hdr || be32(hdr) != IDX_MAGIC_IMAGES)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "not an IDX image file");
    *n = be32(hdr + 4);
    *h = (int)be32(hdr + 8);
    *w = (int)be32(hdr + 12);
    return 0;
}

int dlx_dataset_check_splits(const char *name, const char *dir, int64_t limit, bool resized, int64_t batch,
                             const char *batch_key, dlx_loc batch_loc, int64_t *train_n, int64_t *train_px,
                             dlx_err *err)
{
    char tr_path[4200], te_path[4200];
    int64_t tr_n, te_n;
    int tr_h, tr_w, te_h, te_w;
    dlx_err ignore;
    *train_n = *train_px = 0;
    if (dlx_dataset_peek(name, "train", dir, &tr_n, &tr_h, &tr_w, tr_path, sizeof tr_path, &ignore))
        return 0;
    bool cut = limit && limit < tr_n;
    *train_n = cut ? limit : tr_n;
    *train_px = (int64_t)tr_h * tr_w;
    if (batch > *train_n)
        return dlx_err_setf(err, DLX_EINVAL, batch_loc, "%s: %lld is larger than the training set: %lld samples (%s%s)",
                            batch_key, (long long)batch, (long long)*train_n, tr_path,
                            cut ? ", cut by data.train_limit" : "");
    if (resized || dlx_dataset_peek(name, "test", dir, &te_n, &te_h, &te_w, te_path, sizeof te_path, &ignore))
        return 0; /* a resize makes both the same size */
    if (tr_h != te_h || tr_w != te_w)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(tr_path),
                            "the training images are %dx%d, but the test images in %s are %dx%d; both "
                            "splits must have one size (or set data.resize)",
                            tr_h, tr_w, te_path, te_h, te_w);
    return 0;
}

/* ---- transform ------------------------------------------------------------- */

void dlx_transform_shape(const dlx_dataset *d, const dlx_transform *t, int *c, int *h, int *w)
{
    *c = d->c;
    *h = (t->resize_h > 0 ? t->resize_h : d->h) + 2 * t->pad;
    *w = (t->resize_w > 0 ? t->resize_w : d->w) + 2 * t->pad;
}

/* Bilinear resize of one uint8 plane into normalised floats, half-pixel
 * centres (align_corners = false): source coordinate (o + 0.5) * in/out - 0.5,
 * clamped to the edge. Torch7's image.scale('bilinear') aligns corners
 * instead; on 28 -> 32 the two differ by well under one grey level per pixel
 * on average, and this form does not shift the image by half a pixel.
 * Interpolation uses a + t*(b - a), so a constant image stays exactly constant. */
static void resize_plane(const uint8_t *src, int ih, int iw, float *dst, int oh, int ow,
                         int dst_stride, float scale, float bias)
{
    enum { CHUNK = 256 }; /* column tables for up to CHUNK output columns at a time */
    int cx0[CHUNK], cx1[CHUNK];
    float cwx[CHUNK];
    float ry = (float)ih / (float)oh, rx = (float)iw / (float)ow;
    for (int xs = 0; xs < ow; xs += CHUNK) {
        int nx = ow - xs < CHUNK ? ow - xs : CHUNK;
        for (int k = 0; k < nx; k++) {
            float sx = ((float)(xs + k) + 0.5f) * rx - 0.5f;
            if (sx < 0.0f)
                sx = 0.0f;
            int x0 = (int)sx;
            if (x0 > iw - 1)
                x0 = iw - 1;
            cx0[k] = x0;
            cx1[k] = x0 + 1 < iw ? x0 + 1 : iw - 1;
            cwx[k] = sx - (float)x0 > 1.0f ? 1.0f : sx - (float)x0;
        }
        for (int y = 0; y < oh; y++) {
            float sy = ((float)y + 0.5f) * ry - 0.5f;
            if (sy < 0.0f)
                sy = 0.0f;
            int y0 = (int)sy;
            if (y0 > ih - 1)
                y0 = ih - 1;
            int y1 = y0 + 1 < ih ? y0 + 1 : ih - 1;
            float wy = sy - (float)y0 > 1.0f ? 1.0f : sy - (float)y0;
            const uint8_t *r0 = src + (size_t)y0 * iw, *r1 = src + (size_t)y1 * iw;
            float *out = dst + (size_t)y * dst_stride + xs;
            for (int k = 0; k < nx; k++) {
                float a = r0[cx0[k]], b = r0[cx1[k]], c = r1[cx0[k]], e = r1[cx1[k]];
                float top = a + cwx[k] * (b - a), bot = c + cwx[k] * (e - c);
                out[k] = (top + wy * (bot - top)) * scale + bias;
            }
        }
    }
}

int dlx_dataset_resize(dlx_dataset *d, int oh, int ow, dlx_err *err)
{
    if (oh == d->h && ow == d->w)
        return 0;
    size_t plane = (size_t)oh * ow, n_planes = (size_t)d->n * d->c;
    uint8_t *out = malloc(n_planes * plane);
    float *tmp = malloc(plane * sizeof *tmp);
    if (!out || !tmp) {
        free(out);
        free(tmp);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory resizing %s:%s to %dx%d", d->name,
                            d->split, oh, ow);
    }
    for (size_t i = 0; i < n_planes; i++) {
        resize_plane(d->images + i * (size_t)d->h * d->w, d->h, d->w, tmp, oh, ow, ow, 1.0f, 0.0f);
        for (size_t k = 0; k < plane; k++) /* round to the nearest level; values stay in [0, 255] */
            out[i * plane + k] = (uint8_t)(tmp[k] + 0.5f);
    }
    free(tmp);
    free(d->images);
    d->images = out;
    d->h = oh;
    d->w = ow;
    return 0;
}

/* Every cache line of sample i (a sample rarely starts on a line boundary,
 * so a 100-byte one can span three) and its label. */
static inline void prefetch_sample(const dlx_dataset *d, uint32_t i, bool to_l1)
{
    size_t sample = (size_t)d->c * d->h * d->w;
    uintptr_t first = (uintptr_t)(d->images + (size_t)i * sample) & ~(uintptr_t)63;
    uintptr_t last = (uintptr_t)(d->images + (size_t)i * sample + sample - 1);
    for (uintptr_t a = first; a <= last; a += 64)
        if (to_l1)
            __builtin_prefetch((const void *)a, 0, 3);
        else
            __builtin_prefetch((const void *)a, 0, 2);
    __builtin_prefetch(d->labels + i, 0, 2);
}

void dlx_dataset_batch(const dlx_dataset *d, const dlx_transform *t, const uint32_t *idx,
                       int count, float *x, float *y)
{
    int oc, oh, ow;
    dlx_transform_shape(d, t, &oc, &oh, &ow);
    int ih = t->resize_h > 0 ? t->resize_h : d->h, iw = t->resize_w > 0 ? t->resize_w : d->w;
    bool resize = ih != d->h || iw != d->w;
    float std = t->std != 0.0f ? t->std : 1.0f;
    float scale = 1.0f / (255.0f * std), bias = -t->mean / std;
    size_t in_plane = (size_t)d->h * d->w, out_plane = (size_t)oh * ow;
    size_t in_sample = in_plane * d->c, out_sample = out_plane * oc;
    enum { AHEAD = 4 }; /* samples are scattered in memory: fetch a few ahead */
    for (int s = 0; s < count && s < AHEAD; s++)
        prefetch_sample(d, idx[s], true);
    for (int s = 0; s < count; s++) {
        if (s + AHEAD < count)
            prefetch_sample(d, idx[s + AHEAD], true);
        const uint8_t *src = d->images + (size_t)idx[s] * in_sample;
        float *dst = x + (size_t)s * out_sample;
        if (t->pad > 0)
            for (size_t i = 0; i < out_sample; i++)
                dst[i] = bias; /* padding looks like a 0 (background) pixel */
        for (int ch = 0; ch < d->c; ch++) {
            const uint8_t *sp = src + ch * in_plane;
            float *dp = dst + ch * out_plane + (size_t)t->pad * ow + t->pad;
            if (resize) {
                resize_plane(sp, d->h, d->w, dp, ih, iw, ow, scale, bias);
                continue;
            }
            if (ow == iw) /* no padding: one contiguous plane the compiler vectorises */
                for (size_t k = 0; k < in_plane; k++)
                    dp[k] = (float)sp[k] * scale + bias;
            else
                for (int r = 0; r < ih; r++)
                    for (int c = 0; c < iw; c++)
                        dp[(size_t)r * ow + c] = (float)sp[(size_t)r * iw + c] * scale + bias;
        }
        if (y)
            y[s] = (float)d->labels[idx[s]];
    }
}

void dlx_dataset_prefetch(const dlx_dataset *d, const uint32_t *idx, int count)
{
    for (int s = 0; s < count; s++) /* into L2: a step's work would evict them from L1 */
        prefetch_sample(d, idx[s], false);
}

void dlx_epoch_order(uint64_t seed, int64_t epoch, uint32_t *idx, uint32_t n)
{
    dlx_rng r;
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    dlx_rng_init(&r, seed, DLX_STREAM_SHUFFLE + ((uint64_t)epoch << 8));
    dlx_rng_shuffle(&r, idx, n);
}

/* ---- cache ------------------------------------------------------------------ */

typedef struct cache_entry {
    char dir[4096], split[16];
    int64_t limit;
    int resize_h, resize_w;
    dlx_dataset d; /* owned by the cache */
} cache_entry;

enum { CACHE_MAX = 4 }; /* a sweep uses one dataset's train and test splits */
static cache_entry g_cache[CACHE_MAX];
static int g_cache_n;
static bool g_cache_on;

void dlx_dataset_cache_enable(bool on)
{
    if (!on)
        for (int i = 0; i < g_cache_n; i++)
            dlx_dataset_free(&g_cache[i].d);
    if (!on)
        g_cache_n = 0;
    g_cache_on = on;
}

int dlx_dataset_load_cached(const char *name, const char *split, const char *dir, int64_t limit, int resize_h,
                            int resize_w, dlx_dataset *out, dlx_err *err)
{
    char d[4096];
    dlx_dataset_dir(name ? name : "", dir, d, sizeof d); /* the key: where the files are */
    if (g_cache_on && name && split)
        for (int i = 0; i < g_cache_n; i++) {
            const cache_entry *e = &g_cache[i];
            if (strcmp(e->dir, d) == 0 && strcmp(e->d.name, name) == 0 && strcmp(e->split, split) == 0 &&
                e->limit == limit && e->resize_h == resize_h && e->resize_w == resize_w) {
                *out = e->d;
                out->borrowed = true;
                return 0;
            }
        }
    int rc = dlx_dataset_load_first(name, split, dir, limit, out, err);
    if (!rc && resize_h > 0)
        rc = dlx_dataset_resize(out, resize_h, resize_w, err);
    if (rc) {
        dlx_dataset_free(out);
        return rc;
    }
    if (g_cache_on && name && split && g_cache_n < CACHE_MAX) {
        cache_entry *e = &g_cache[g_cache_n++];
        snprintf(e->dir, sizeof e->dir, "%s", d);
        snprintf(e->split, sizeof e->split, "%s", split);
        e->limit = limit;
        e->resize_h = resize_h;
        e->resize_w = resize_w;
        e->d = *out;
        out->borrowed = true;
    }
    return 0;
}
