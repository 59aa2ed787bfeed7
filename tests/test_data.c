/* Tests for core/data.c: the registry, IDX loading (plain and gzip) with its
 * error messages, the batch transform and the epoch order. Small IDX files are
 * written into a fresh temporary directory per test. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/data.h"
#include "tmpdir.h"

static char g_dir[256];

static void tmp_setup(void) { tmpdir_make(g_dir, sizeof g_dir, "dlx_test_data"); }
static void tmp_teardown(void) { tmpdir_remove(g_dir); }
static const char *tpath(const char *name) { return tmpdir_path(g_dir, name); }

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* Writes an IDX file: magic, dims, then `ndata` bytes of data; only the first
 * `keep` bytes of the whole thing when keep >= 0 (to fake truncation). */
static void write_idx(const char *path, int gz, uint32_t magic, const uint32_t *dims, int ndim,
                      const uint8_t *data, size_t ndata, long keep)
{
    size_t hl = 4 + 4 * (size_t)ndim, total = hl + ndata;
    uint8_t *buf = malloc(total);
    ck_assert_ptr_nonnull(buf);
    put32(buf, magic);
    for (int i = 0; i < ndim; i++)
        put32(buf + 4 + 4 * i, dims[i]);
    if (ndata)
        memcpy(buf + hl, data, ndata);
    if (keep >= 0 && (size_t)keep < total)
        total = (size_t)keep;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(gzwrite(f, buf, (unsigned)total), (int)total);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(buf, 1, total, f), total);
        ck_assert_int_eq(fclose(f), 0);
    }
    free(buf);
}

static void write_images(const char *path, int gz, uint32_t n, uint32_t h, uint32_t w,
                         const uint8_t *px)
{
    uint32_t dims[3] = {n, h, w};
    write_idx(path, gz, 0x803, dims, 3, px, (size_t)n * h * w, -1);
}

static void write_labels(const char *path, int gz, uint32_t n, const uint8_t *lab)
{
    uint32_t dims[1] = {n};
    write_idx(path, gz, 0x801, dims, 1, lab, n, -1);
}

static const uint8_t k_px[3 * 2 * 3] = {0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 255, 254, 253, 128, 127, 0};
static const uint8_t k_lab[3] = {7, 0, 9};

static void check_small(const dlx_dataset *d)
{
    ck_assert_int_eq(d->n, 3);
    ck_assert_int_eq(d->c, 1);
    ck_assert_int_eq(d->h, 2);
    ck_assert_int_eq(d->w, 3);
    ck_assert_int_eq(d->num_classes, 10);
    ck_assert_mem_eq(d->images, k_px, sizeof k_px);
    ck_assert_mem_eq(d->labels, k_lab, sizeof k_lab);
}

static void formatted(const dlx_err *e, char *buf, size_t n)
{
    dlx_err_format(e, buf, n);
}

START_TEST(test_registry)
{
    const dlx_dataset_info *m = dlx_dataset_find("mnist");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->train_images, "train-images-idx3-ubyte");
    ck_assert_str_eq(m->test_labels, "t10k-labels-idx1-ubyte");
    ck_assert_int_eq(m->num_classes, 10);
    ck_assert_str_eq(m->fetch_hint, "datasets/fetch mnist");
    const dlx_dataset_info *f = dlx_dataset_find("fashion-mnist");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->train_labels, "train-labels-idx1-ubyte.gz");
    ck_assert_str_eq(f->test_images, "t10k-images-idx3-ubyte.gz");
    ck_assert_str_eq(f->fetch_hint, "datasets/fetch fashion-mnist");
    ck_assert_ptr_null(dlx_dataset_find("cifar10"));
    ck_assert_ptr_null(dlx_dataset_find(NULL));
    int n = 0;
    while (dlx_dataset_at(n))
        n++;
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_null(dlx_dataset_at(-1));
    ck_assert_str_eq(dlx_dataset_names(), "mnist, fashion-mnist");
}
END_TEST

START_TEST(test_dataset_dir)
{
    char out[256];
    unsetenv("DLX_DATA_DIR");
    dlx_dataset_dir("mnist", NULL, out, sizeof out);
    ck_assert_str_eq(out, "datasets/data/mnist");
    dlx_dataset_dir("mnist", "/x/y", out, sizeof out);
    ck_assert_str_eq(out, "/x/y");
    setenv("DLX_DATA_DIR", "/data", 1);
    dlx_dataset_dir("fashion-mnist", NULL, out, sizeof out);
    ck_assert_str_eq(out, "/data/fashion-mnist");
    dlx_dataset_dir("fashion-mnist", "here", out, sizeof out);
    ck_assert_str_eq(out, "here");
    unsetenv("DLX_DATA_DIR");
}
END_TEST

START_TEST(test_load_plain_and_gzip)
{
    dlx_dataset d;
    dlx_err e = {0};
    write_images(tpath("i"), 0, 3, 2, 3, k_px);
    write_labels(tpath("l"), 0, 3, k_lab);
    ck_assert_int_eq(dlx_idx_load(tpath("i"), tpath("l"), 10, &d, &e), 0);
    check_small(&d);
    dlx_dataset_free(&d);
    ck_assert_ptr_null(d.images);

    write_images(tpath("i.gz"), 1, 3, 2, 3, k_px);
    write_labels(tpath("l.gz"), 1, 3, k_lab);
    ck_assert_int_eq(dlx_idx_load(tpath("i.gz"), tpath("l.gz"), 10, &d, &e), 0);
    check_small(&d);
    dlx_dataset_free(&d);
    dlx_dataset_free(NULL);
}
END_TEST

/* data.train_limit reads only the records it keeps: plain and gzip, a limit
 * over the count keeps all, and a plain file cut short after the kept records
 * is still refused (its size is checked against the header). */
START_TEST(test_load_first)
{
    dlx_dataset d;
    dlx_err e = {0};
    char msg[512];
    for (int gz = 0; gz < 2; gz++) {
        write_images(tpath(gz ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte"), gz, 3, 2, 3, k_px);
        write_labels(tpath("train-labels-idx1-ubyte"), 0, 3, k_lab);
        ck_assert_int_eq(dlx_dataset_load_first("mnist", "train", g_dir, 2, &d, &e), 0);
        ck_assert_int_eq(d.n, 2);
        ck_assert_mem_eq(d.images, k_px, 2 * 6);
        ck_assert_mem_eq(d.labels, k_lab, 2);
        dlx_dataset_free(&d);
        ck_assert_int_eq(dlx_dataset_load_first("mnist", "train", g_dir, 10, &d, &e), 0);
        check_small(&d);
        dlx_dataset_free(&d);
        if (gz)
            ck_assert_int_eq(unlink(tpath("train-images-idx3-ubyte.gz")), 0);
    }
    /* the header declares 3 images, the file holds 2 and a half: refused even for a limit of 1 */
    uint32_t dims[3] = {3, 2, 3};
    write_idx(tpath("train-images-idx3-ubyte"), 0, 0x803, dims, 3, k_px, 15, -1);
    ck_assert_int_eq(dlx_dataset_load_first("mnist", "train", g_dir, 1, &d, &e), DLX_EFORMAT);
    formatted(&e, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "truncated IDX file") != NULL, "%s", msg);
}
END_TEST

/* The sweep cache: a second load is the same buffers, borrowed (freeing it
 * frees nothing); other keys load anew; off, loads own their buffers again. */
START_TEST(test_dataset_cache)
{
    dlx_dataset a, b, c;
    dlx_err e = {0};
    write_images(tpath("train-images-idx3-ubyte"), 0, 3, 2, 3, k_px);
    write_labels(tpath("train-labels-idx1-ubyte"), 0, 3, k_lab);
    dlx_dataset_cache_enable(true);
    ck_assert_int_eq(dlx_dataset_load_cached("mnist", "train", g_dir, 0, 0, 0, &a, &e), 0);
    ck_assert(a.borrowed);
    check_small(&a);
    ck_assert_int_eq(dlx_dataset_load_cached("mnist", "train", g_dir, 0, 0, 0, &b, &e), 0);
    ck_assert_ptr_eq(a.images, b.images);
    dlx_dataset_free(&b);
    ck_assert_ptr_null(b.images);
    check_small(&a); /* still there */
    ck_assert_int_eq(dlx_dataset_load_cached("mnist", "train", g_dir, 2, 0, 0, &c, &e), 0);
    ck_assert_ptr_ne(c.images, a.images);
    ck_assert_int_eq(c.n, 2);
    dlx_dataset_free(&c);
    dlx_dataset_free(&a);
    dlx_dataset_cache_enable(false);
    ck_assert_int_eq(dlx_dataset_load_cached("mnist", "train", g_dir, 0, 0, 0, &a, &e), 0);
    ck_assert(!a.borrowed);
    check_small(&a);
    dlx_dataset_free(&a);
}
END_TEST

/* mnist is registered plain and fashion-mnist gzipped; each loads the other form too. */
START_TEST(test_load_by_name_either_suffix)
{
    dlx_dataset d;
    dlx_err e = {0};
    write_images(tpath("train-images-idx3-ubyte.gz"), 1, 3, 2, 3, k_px);
    write_labels(tpath("train-labels-idx1-ubyte"), 0, 3, k_lab);
    ck_assert_int_eq(dlx_dataset_load("mnist", "train", g_dir, &d, &e), 0);
    check_small(&d);
    ck_assert_str_eq(d.name, "mnist");
    ck_assert_str_eq(d.split, "train");
    dlx_dataset_free(&d);

    write_images(tpath("t10k-images-idx3-ubyte"), 0, 3, 2, 3, k_px);
    write_labels(tpath("t10k-labels-idx1-ubyte.gz"), 1, 3, k_lab);
    ck_assert_int_eq(dlx_dataset_load("fashion-mnist", "test", g_dir, &d, &e), 0);
    check_small(&d);
    ck_assert_str_eq(d.name, "fashion-mnist");
    ck_assert_str_eq(d.split, "test");
    dlx_dataset_free(&d);

    /* DLX_DATA_DIR/<name> when no dir is given */
    ck_assert_int_eq(mkdir(tpath("mnist"), 0700), 0);
    write_images(tpath("mnist/t10k-images-idx3-ubyte"), 0, 3, 2, 3, k_px);
    write_labels(tpath("mnist/t10k-labels-idx1-ubyte"), 0, 3, k_lab);
    setenv("DLX_DATA_DIR", g_dir, 1);
    ck_assert_int_eq(dlx_dataset_load("mnist", "test", NULL, &d, &e), 0);
    unsetenv("DLX_DATA_DIR");
    check_small(&d);
    dlx_dataset_free(&d);
}
END_TEST

START_TEST(test_unknown_name_and_split)
{
    dlx_dataset d;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_dataset_load("cifar10", "train", g_dir, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(e.msg, "unknown dataset 'cifar10' (known: mnist, fashion-mnist)");
    ck_assert_int_eq(dlx_dataset_load("mnist", "valid", g_dir, &d, &e), DLX_EINVAL);
    ck_assert_str_eq(e.msg, "dataset 'mnist': unknown split 'valid' (expected train or test)");
    ck_assert_ptr_null(d.images);
}
END_TEST

START_TEST(test_truncated)
{
    dlx_dataset d;
    dlx_err e = {0};
    char buf[1024], want[1024];
    uint8_t *px = calloc(2000, 1);
    uint32_t dims[3] = {60000, 28, 28};
    write_idx(tpath("i"), 0, 0x803, dims, 3, px, 2000, 1234);
    write_labels(tpath("l"), 0, 3, k_lab);
    ck_assert_int_eq(dlx_idx_load(tpath("i"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_int_eq(e.code, DLX_EFORMAT);
    formatted(&e, buf, sizeof buf);
    snprintf(want, sizeof want,
             "%s: error: truncated IDX file: header declares 60000 images of 28x28 (47040016 "
             "bytes) but the file ends after 1234 bytes",
             tpath("i"));
    ck_assert_str_eq(buf, want);
    ck_assert_ptr_null(d.images);

    /* gzip: same figure (in decompressed bytes) */
    write_idx(tpath("i.gz"), 1, 0x803, dims, 3, px, 2000, 1234);
    ck_assert_int_eq(dlx_idx_load(tpath("i.gz"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "but the file ends after 1234 bytes"));
    ck_assert_str_eq(e.file, tpath("i.gz"));

    /* a gzip stream cut in the middle */
    write_images(tpath("j.gz"), 1, 3, 2, 3, k_px);
    ck_assert_int_eq(truncate(tpath("j.gz"), 25), 0);
    ck_assert_int_eq(dlx_idx_load(tpath("j.gz"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "truncated IDX file"));
    ck_assert_ptr_nonnull(strstr(e.msg, "the gzip stream is cut short"));

    /* header itself cut short */
    write_idx(tpath("k"), 0, 0x803, dims, 3, NULL, 0, 10);
    ck_assert_int_eq(dlx_idx_load(tpath("k"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_str_eq(e.msg, "truncated IDX file: the 16-byte header ends after 10 bytes");

    /* labels truncated */
    uint32_t ld[1] = {5};
    write_images(tpath("i5"), 0, 3, 2, 3, k_px);
    write_idx(tpath("l5"), 0, 0x801, ld, 1, k_lab, 3, -1);
    ck_assert_int_eq(dlx_idx_load(tpath("i5"), tpath("l5"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_str_eq(e.msg, "truncated IDX file: header declares 5 labels (13 bytes) but the "
                            "file ends after 11 bytes");
    ck_assert_str_eq(e.file, tpath("l5"));
    free(px);
}
END_TEST

START_TEST(test_bad_magic_and_dims)
{
    dlx_dataset d;
    dlx_err e = {0};
    char buf[1024], want[1024];
    /* label file given as the image file */
    write_labels(tpath("l"), 0, 3, k_lab);
    ck_assert_int_eq(dlx_idx_load(tpath("l"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    formatted(&e, buf, sizeof buf);
    snprintf(want, sizeof want,
             "%s: error: not an IDX image file (magic 0x00000801, expected 0x00000803)", tpath("l"));
    ck_assert_str_eq(buf, want);

    write_images(tpath("i"), 0, 3, 2, 3, k_px);
    ck_assert_int_eq(dlx_idx_load(tpath("i"), tpath("i"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_str_eq(e.msg, "not an IDX label file (magic 0x00000803, expected 0x00000801)");

    /* a text file */
    FILE *f = fopen(tpath("t"), "w");
    fputs("hello world, this is not IDX\n", f);
    fclose(f);
    ck_assert_int_eq(dlx_idx_load(tpath("t"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_str_eq(e.msg, "not an IDX image file (magic 0x68656c6c, expected 0x00000803)");

    /* zero and huge dimensions */
    uint32_t z[3] = {3, 0, 3};
    write_idx(tpath("z"), 0, 0x803, z, 3, k_px, sizeof k_px, -1);
    ck_assert_int_eq(dlx_idx_load(tpath("z"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_str_eq(e.msg, "IDX header declares 3 images of 0x3; expected counts > 0 and under "
                            "2 GiB in total");
    uint32_t big[3] = {4000000, 28, 28};
    write_idx(tpath("b"), 0, 0x803, big, 3, k_px, sizeof k_px, -1);
    ck_assert_int_eq(dlx_idx_load(tpath("b"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "4000000 images of 28x28"));
    ck_assert_ptr_null(d.images);
}
END_TEST

START_TEST(test_label_range_and_count)
{
    dlx_dataset d;
    dlx_err e = {0};
    char want[1024];
    const uint8_t bad[3] = {1, 9, 10};
    write_images(tpath("i"), 0, 3, 2, 3, k_px);
    write_labels(tpath("l"), 0, 3, bad);
    ck_assert_int_eq(dlx_idx_load(tpath("i"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_str_eq(e.msg, "label 10 at index 2 is out of range (expected 0..9)");
    ck_assert_str_eq(e.file, tpath("l"));
    ck_assert_ptr_null(d.images);
    /* the same labels are fine with 11 classes */
    ck_assert_int_eq(dlx_idx_load(tpath("i"), tpath("l"), 11, &d, &e), 0);
    ck_assert_int_eq(d.num_classes, 11);
    dlx_dataset_free(&d);

    const uint8_t four[4] = {0, 1, 2, 3};
    write_labels(tpath("l4"), 0, 4, four);
    ck_assert_int_eq(dlx_idx_load(tpath("i"), tpath("l4"), 10, &d, &e), DLX_EFORMAT);
    snprintf(want, sizeof want,
             "holds 4 labels but the image file %s holds 3 images; the two files must come from "
             "the same split",
             tpath("i"));
    ck_assert_str_eq(e.msg, want);
    ck_assert_str_eq(e.file, tpath("l4"));
}
END_TEST

START_TEST(test_missing_file)
{
    dlx_dataset d;
    dlx_err e = {0};
    char buf[1024], want[1024];
    write_labels(tpath("l"), 0, 3, k_lab);
    ck_assert_int_eq(dlx_idx_load(tpath("nope"), tpath("l"), 10, &d, &e), DLX_EIO);
    formatted(&e, buf, sizeof buf);
    snprintf(want, sizeof want, "%s: error: cannot open: No such file or directory", tpath("nope"));
    ck_assert_str_eq(buf, want);

    ck_assert_int_eq(dlx_dataset_load("mnist", "train", g_dir, &d, &e), DLX_EIO);
    formatted(&e, buf, sizeof buf);
    snprintf(want, sizeof want,
             "%s: error: cannot open: No such file or directory; run `datasets/fetch mnist` to "
             "download it",
             tpath("train-images-idx3-ubyte"));
    ck_assert_str_eq(buf, want);

    write_images(tpath("t10k-images-idx3-ubyte.gz"), 1, 3, 2, 3, k_px);
    ck_assert_int_eq(dlx_dataset_load("fashion-mnist", "test", g_dir, &d, &e), DLX_EIO);
    ck_assert_str_eq(e.file, tpath("t10k-labels-idx1-ubyte.gz"));
    ck_assert_str_eq(e.msg, "cannot open: No such file or directory; run `datasets/fetch "
                            "fashion-mnist` to download it");
}
END_TEST

START_TEST(test_corrupt_gzip)
{
    dlx_dataset d;
    dlx_err e = {0};
    uint8_t px[600];
    for (int i = 0; i < 600; i++)
        px[i] = (uint8_t)(i * 37 + i / 7);
    write_images(tpath("i.gz"), 1, 6, 10, 10, px);
    write_labels(tpath("l"), 0, 3, k_lab);
    /* flip bytes in the deflate data (past the 10-byte gzip header) */
    FILE *f = fopen(tpath("i.gz"), "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    ck_assert_int_gt(len, 40);
    for (long off = 12; off < len - 8; off += 3) {
        fseek(f, off, SEEK_SET);
        int c = fgetc(f);
        fseek(f, off, SEEK_SET);
        fputc(c ^ 0x5a, f);
    }
    fclose(f);
    ck_assert_int_eq(dlx_idx_load(tpath("i.gz"), tpath("l"), 10, &d, &e), DLX_EFORMAT);
    ck_assert_str_eq(e.file, tpath("i.gz"));
    ck_assert_msg(strncmp(e.msg, "corrupt gzip data (", 19) == 0, "got: %s", e.msg);
    ck_assert_ptr_nonnull(strstr(e.msg, "); delete the file and fetch it again"));
    ck_assert_ptr_null(d.images);
}
END_TEST

/* One 1x2x3 dataset built in memory. */
static dlx_dataset mem_dataset(uint8_t *px, uint8_t *lab, int n, int h, int w)
{
    dlx_dataset d = {.n = n, .c = 1, .h = h, .w = w, .num_classes = 10, .images = px, .labels = lab};
    return d;
}

START_TEST(test_transform_normalise_and_pad)
{
    uint8_t px[12] = {0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6};
    uint8_t lab[2] = {4, 8};
    dlx_dataset d = mem_dataset(px, lab, 2, 2, 3);
    dlx_transform t = {.mean = 0.5f, .std = 0.25f, .pad = 0};
    int c, h, w;
    dlx_transform_shape(&d, &t, &c, &h, &w);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(h, 2);
    ck_assert_int_eq(w, 3);
    float x[2 * 6 * 7], y[2];
    uint32_t idx[2] = {0, 1};
    dlx_dataset_batch(&d, &t, idx, 1, x, y);
    const float want[6] = {-2.0f, 2.0f, -1.2f, -0.4f, 0.4f, 1.2f};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(x[i], want[i], 1e-6);
    ck_assert_float_eq(y[0], 4.0f);

    /* padding 2: 6x7, border = normalised 0 pixel, image in the middle */
    t.pad = 2;
    dlx_transform_shape(&d, &t, &c, &h, &w);
    ck_assert_int_eq(h, 6);
    ck_assert_int_eq(w, 7);
    idx[0] = 1;
    idx[1] = 0;
    dlx_dataset_batch(&d, &t, idx, 2, x, y);
    ck_assert_float_eq(y[0], 8.0f);
    ck_assert_float_eq(y[1], 4.0f);
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < 6; r++)
            for (int q = 0; q < 7; q++) {
                float v = x[s * 42 + r * 7 + q];
                if (r >= 2 && r < 4 && q >= 2 && q < 5) {
                    int p = s == 0 ? px[6 + (r - 2) * 3 + (q - 2)] : px[(r - 2) * 3 + (q - 2)];
                    ck_assert_float_eq_tol(v, ((float)p / 255.0f - 0.5f) / 0.25f, 1e-5);
                } else {
                    ck_assert_float_eq_tol(v, -2.0f, 1e-6);
                }
            }
    /* y may be NULL */
    dlx_dataset_batch(&d, &t, idx, 1, x, NULL);
    ck_assert_float_eq_tol(x[2 * 7 + 2], (1.0f / 255.0f - 0.5f) / 0.25f, 1e-6);
}
END_TEST

START_TEST(test_resize_constant)
{
    uint8_t px[28 * 28];
    memset(px, 77, sizeof px);
    uint8_t lab[1] = {0};
    dlx_dataset d = mem_dataset(px, lab, 1, 28, 28);
    dlx_transform t = {.mean = 0.1307f, .std = 0.3081f, .pad = 1, .resize_h = 10, .resize_w = 10};
    int c, h, w;
    dlx_transform_shape(&d, &t, &c, &h, &w);
    ck_assert_int_eq(h, 12);
    ck_assert_int_eq(w, 12);
    float x[144];
    uint32_t idx[1] = {0};
    dlx_dataset_batch(&d, &t, idx, 1, x, NULL);
    float inner = x[13], pad = -0.1307f / 0.3081f;
    ck_assert_float_eq_tol(inner, (77.0f / 255.0f - 0.1307f) / 0.3081f, 1e-5);
    for (int r = 0; r < 12; r++)
        for (int q = 0; q < 12; q++) {
            bool border = r == 0 || q == 0 || r == 11 || q == 11;
            if (border)
                ck_assert_float_eq_tol(x[r * 12 + q], pad, 1e-6);
            else
                ck_assert_float_eq(x[r * 12 + q], inner); /* exactly constant */
        }
    /* upscale 28 -> 32 stays constant too */
    t.resize_h = t.resize_w = 32;
    t.pad = 0;
    float big[32 * 32];
    dlx_dataset_batch(&d, &t, idx, 1, big, NULL);
    for (int i = 0; i < 32 * 32; i++)
        ck_assert_float_eq(big[i], inner);
}
END_TEST

/* Bilinear reproduces an affine image exactly (no clamping away from the
 * edges): p = 3x + 5y sampled at the half-pixel-centre source coordinates. */
START_TEST(test_resize_pattern_28_to_10)
{
    uint8_t px[28 * 28];
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            px[y * 28 + x] = (uint8_t)(3 * x + 5 * y);
    uint8_t lab[1] = {0};
    dlx_dataset d = mem_dataset(px, lab, 1, 28, 28);
    dlx_transform t = {.mean = 0.0f, .std = 1.0f, .resize_h = 10, .resize_w = 10};
    float x[100];
    uint32_t idx[1] = {0};
    dlx_dataset_batch(&d, &t, idx, 1, x, NULL);
    for (int y = 0; y < 10; y++)
        for (int q = 0; q < 10; q++) {
            double sy = (y + 0.5) * 2.8 - 0.5, sx = (q + 0.5) * 2.8 - 0.5;
            ck_assert_float_eq_tol(x[y * 10 + q], (3 * sx + 5 * sy) / 255.0, 2e-5);
        }
    /* corner values by hand: (0.9, 0.9) -> 7.2, (26.1, 26.1) -> 208.8 */
    ck_assert_float_eq_tol(x[0] * 255.0f, 7.2f, 1e-3);
    ck_assert_float_eq_tol(x[99] * 255.0f, 208.8f, 1e-3);

    /* 10 x 300: wider than one column-table chunk, clamped at both edges */
    t.resize_w = 300;
    float *wide = malloc(10 * 300 * sizeof(*wide));
    dlx_dataset_batch(&d, &t, idx, 1, wide, NULL);
    for (int y = 0; y < 10; y++)
        for (int q = 0; q < 300; q++) {
            double sy = (y + 0.5) * 2.8 - 0.5, sx = (q + 0.5) * (28.0 / 300.0) - 0.5;
            sx = sx < 0 ? 0 : sx > 27 ? 27 : sx;
            ck_assert_float_eq_tol(wide[y * 300 + q], (3 * sx + 5 * sy) / 255.0, 2e-5);
        }
    free(wide);
}
END_TEST

/* Upscaling clamps at the edges: 2x2 -> 4x4. */
START_TEST(test_resize_upscale_edges)
{
    uint8_t px[4] = {0, 100, 200, 255};
    uint8_t lab[1] = {0};
    dlx_dataset d = mem_dataset(px, lab, 1, 2, 2);
    dlx_transform t = {.mean = 0.0f, .std = 1.0f, .resize_h = 4, .resize_w = 4};
    float x[16];
    uint32_t idx[1] = {0};
    dlx_dataset_batch(&d, &t, idx, 1, x, NULL);
    const float want[16] = {0,   25,      75,      100,     /* source y 0 (clamped) */
                            50,  72.1875, 116.5625, 138.75, /* y 0.25 */
                            150, 166.5625, 199.6875, 216.25, /* y 0.75 */
                            200, 213.75,  241.25,  255};     /* y 1 (clamped) */
    for (int i = 0; i < 16; i++)
        ck_assert_float_eq_tol(x[i] * 255.0f, want[i], 1e-3);
}
END_TEST

START_TEST(test_epoch_order)
{
    enum { N = 1000 };
    uint32_t *a = malloc(N * sizeof(*a)), *b = malloc(N * sizeof(*b));
    uint8_t seen[N] = {0};
    dlx_epoch_order(42, 0, a, N);
    for (int i = 0; i < N; i++) {
        ck_assert_uint_lt(a[i], N);
        ck_assert_int_eq(seen[a[i]], 0);
        seen[a[i]] = 1;
    }
    int fixed = 0;
    for (int i = 0; i < N; i++)
        fixed += a[i] == (uint32_t)i;
    ck_assert_int_lt(fixed, 20); /* a real shuffle, not the identity */
    dlx_epoch_order(42, 0, b, N);
    ck_assert_mem_eq(a, b, N * sizeof(*a));
    dlx_epoch_order(42, 1, b, N);
    ck_assert_int_ne(memcmp(a, b, N * sizeof(*a)), 0);
    dlx_epoch_order(43, 0, b, N);
    ck_assert_int_ne(memcmp(a, b, N * sizeof(*a)), 0);
    /* same stream layout as documented: DLX_STREAM_SHUFFLE + (epoch << 8) */
    dlx_rng r;
    for (int i = 0; i < N; i++)
        b[i] = (uint32_t)i;
    dlx_rng_init(&r, 42, DLX_STREAM_SHUFFLE + ((uint64_t)5 << 8));
    dlx_rng_shuffle(&r, b, N);
    dlx_epoch_order(42, 5, a, N);
    ck_assert_mem_eq(a, b, N * sizeof(*a));
    dlx_epoch_order(1, 0, a, 1);
    ck_assert_uint_eq(a[0], 0);
    free(a);
    free(b);
}
END_TEST

/* Real MNIST, when datasets/fetch has been run: the known label counts. */
START_TEST(test_real_mnist)
{
    const char *src = getenv("DLX_SRC_DIR");
    char dir[1024], probe[1200];
    snprintf(dir, sizeof dir, "%s/datasets/data/mnist", src && src[0] ? src : ".");
    snprintf(probe, sizeof probe, "%s/train-labels-idx1-ubyte", dir);
    if (access(probe, R_OK) != 0) {
        snprintf(probe, sizeof probe, "%s/train-labels-idx1-ubyte.gz", dir);
        if (access(probe, R_OK) != 0)
            return; /* not fetched here */
    }
    dlx_dataset d;
    dlx_err e = {0};
    int rc = dlx_dataset_load("mnist", "train", dir, &d, &e);
    ck_assert_msg(rc == 0, "%s: %s", e.file, e.msg);
    ck_assert_int_eq(d.n, 60000);
    ck_assert_int_eq(d.h, 28);
    ck_assert_int_eq(d.w, 28);
    const int train[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    int cnt[10] = {0};
    for (int64_t i = 0; i < d.n; i++)
        cnt[d.labels[i]]++;
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(cnt[k], train[k]);
    dlx_dataset_free(&d);
    rc = dlx_dataset_load("mnist", "test", dir, &d, &e);
    ck_assert_msg(rc == 0, "%s: %s", e.file, e.msg);
    const int test[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    memset(cnt, 0, sizeof cnt);
    for (int64_t i = 0; i < d.n; i++)
        cnt[d.labels[i]]++;
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(cnt[k], test[k]);
    dlx_dataset_free(&d);
}
END_TEST

Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_dataset_dir);
    tcase_add_test(tc, test_load_plain_and_gzip);
    tcase_add_test(tc, test_load_by_name_either_suffix);
    tcase_add_test(tc, test_load_first);
    tcase_add_test(tc, test_dataset_cache);
    tcase_add_test(tc, test_unknown_name_and_split);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_bad_magic_and_dims);
    tcase_add_test(tc, test_label_range_and_count);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_corrupt_gzip);
    tcase_add_test(tc, test_transform_normalise_and_pad);
    tcase_add_test(tc, test_resize_constant);
    tcase_add_test(tc, test_resize_pattern_28_to_10);
    tcase_add_test(tc, test_resize_upscale_edges);
    tcase_add_test(tc, test_epoch_order);
    tcase_add_test(tc, test_real_mnist);
    suite_add_tcase(s, tc);
    return s;
}
