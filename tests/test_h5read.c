/* The bounded HDF5 reading layer (core/h5read.h) and checkpoint checksums. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/h5io.h"
#include "../core/h5read.h"

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "/tmp/dlx_test_h5read_%d_%s", (int)getpid(), name);
    return buf[k];
}

static const char *hostile(const char *name)
{
    static char buf[512];
    const char *src = getenv("DLX_SRC_DIR");
    snprintf(buf, sizeof buf, "%s/tests/data/hostile/%s", src ? src : ".", name);
    return buf;
}

enum { W_ROWS = 20, W_COLS = 64, B_N = 7 };
static float g_w[W_ROWS * W_COLS], g_b[B_N], g_m[W_ROWS * W_COLS];

/* A checkpoint with a chunked (Fletcher-32) weight and optimizer slot, a compact bias, and every scalar. */
static void write_ckpt(const char *p)
{
    for (int i = 0; i < W_ROWS * W_COLS; i++) {
        g_w[i] = sinf((float)i);
        g_m[i] = cosf((float)i) * 1e-3f;
    }
    for (int i = 0; i < B_N; i++)
        g_b[i] = (float)i - 3.0f;
    dlx_h5_array a[3] = {
        {"/params/fc.weight", {2, {W_ROWS, W_COLS}}, g_w},
        {"/params/fc.bias", {1, {B_N}}, g_b},
        {"/optim/sgd/fc.weight/m", {2, {W_ROWS, W_COLS}}, g_m},
    };
    dlx_ckpt_meta meta = {.spec_text = "version: 1\nseed: 3\n", .family = "classifier", .step = 12, .epoch = 3,
                          .n_optims = 1, .optim_name = {"sgd"}, .optim_t = {12}, .rng = {3, 3, 12}, .n_state = 2,
                          .state_name = {"a", "b"}, .state = {1.5, 2.5}};
    dlx_err err;
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, a, 3, &err), 0);
}

/* 0: loaded and equal to what write_ckpt wrote; 1: refused with a message; 2: loaded but different. */
static int load_and_compare(const char *p)
{
    static float w[W_ROWS * W_COLS], b[B_N], m[W_ROWS * W_COLS];
    dlx_h5_array a[3] = {
        {"/params/fc.weight", {2, {W_ROWS, W_COLS}}, w},
        {"/params/fc.bias", {1, {B_N}}, b},
        {"/optim/sgd/fc.weight/m", {2, {W_ROWS, W_COLS}}, m},
    };
    dlx_ckpt_meta meta;
    char family[32];
    dlx_err err;
    dlx_err_clear(&err);
    int rc = dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err);
    if (rc) {
        ck_assert_msg(err.msg[0] && rc < 0, "an error without a message");
        return 1;
    }
    bool same = strcmp(meta.spec_text, "version: 1\nseed: 3\n") == 0 && strcmp(family, "classifier") == 0 &&
                meta.step == 12 && meta.epoch == 3 && meta.n_optims == 1 && meta.optim_t[0] == 12 && meta.rng[0] == 3 && meta.rng[1] == 3 &&
                meta.rng[2] == 12 && meta.n_state == 2 && meta.state[0] == 1.5 && meta.state[1] == 2.5 &&
                !strcmp(meta.state_name[1], "b");
    free((char *)meta.spec_text);
    rc = dlx_ckpt_read_arrays(p, a, 3, false, &err);
    if (rc) {
        ck_assert_msg(err.msg[0] && rc < 0, "an error without a message");
        return 1;
    }
    same = same && !memcmp(w, g_w, sizeof w) && !memcmp(b, g_b, sizeof b) && !memcmp(m, g_m, sizeof m);
    return same ? 0 : 2;
}

/* Present only in an AddressSanitizer build. */
extern void __asan_init(void) __attribute__((weak));

/* Every byte of a checkpoint flipped in turn (one bit each): loading it either
 * fails with a message or gives exactly the values written (an unused byte).
 * Never different values silently: data, object headers and superblock are
 * all under a checksum. */
START_TEST(test_bitflips_never_load_silently)
{
    const char *p = tpath("flip_src.h5"), *q = tpath("flip.h5");
    dlx_h5_quiet();
    /* The checksums are under test here. The plain build flips every byte
     * without the probe child (HDF5 survives every flip in-process there); an
     * ASan build stops on HDF5's own over-reads, so it loads through the probe,
     * as dlx does, but flips every 61st byte (a fork costs ~40 ms under ASan). */
    bool asan = __asan_init != NULL;
    long stride = asan ? 61 : 1;
    dlx_h5r_set_probe(asan);
    write_ckpt(p);
    ck_assert_int_eq(load_and_compare(p), 0);
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    ck_assert_int_eq(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    int counts[3] = {0};
    long first_silent = -1;
    for (long i = 0; i < size; i += stride) {
        bytes[i] ^= (unsigned char)(1u << (i % 8));
        f = fopen(q, "wb");
        ck_assert_int_eq(fwrite(bytes, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        bytes[i] ^= (unsigned char)(1u << (i % 8));
        int r = load_and_compare(q);
        counts[r]++;
        if (r == 2 && first_silent < 0)
            first_silent = i;
    }
    free(bytes);
    dlx_h5r_set_probe(true);
    if (getenv("DLX_TEST_VERBOSE"))
        fprintf(stderr, "bit flips: %ld bytes, %d refused, %d harmless, %d silent\n", size, counts[1], counts[0],
                counts[2]);
    unlink(p);
    unlink(q);
    ck_assert_msg(counts[2] == 0, "%d of %ld flipped bytes loaded different values silently (first at offset %ld)",
                  counts[2], size, first_silent);
    /* the parameters alone are 10 KB: most flips must be caught, not land in unused bytes */
    ck_assert_msg(counts[1] > size / stride / 2, "only %d of %ld flips were refused", counts[1], size / stride);
}
END_TEST

/* The hostile fixtures through the library calls, with their exact messages. */
START_TEST(test_hostile_checkpoints)
{
    static const struct { const char *file, *msg; } cases[] = {
        {"ckpt_version_array.h5", "attribute 'version' of / holds 1000 values, not one"},
        {"ckpt_step_negative.h5", "/step is -5; a count of steps is never negative"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dlx_ckpt_meta meta;
        char family[32];
        dlx_err err;
        ck_assert_int_eq(dlx_ckpt_read_meta(hostile(cases[i].file), &meta, family, sizeof family, &err), DLX_EFORMAT);
        ck_assert_str_eq(err.msg, cases[i].msg);
        ck_assert_str_eq(err.file, hostile(cases[i].file));
    }
}
END_TEST

START_TEST(test_hostile_metrics)
{
    double *rows = (double *)1;
    int64_t n = 7;
    dlx_err err;
    ck_assert_int_eq(dlx_metrics_read(hostile("metrics_rows_2e26.h5"), "train_loss", &rows, &n, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/metrics/train_loss claims 134217728 elements (1073741824 bytes) but the file holds 0 "
                              "bytes of it (truncated or crafted)");
    ck_assert_ptr_null(rows);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(dlx_metrics_read(hostile("metrics_rows_2e60.h5"), "train_loss", &rows, &n, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/metrics/train_loss claims 1152921504606846976 rows, more than the 268435456 a series "
                              "may have");
    ck_assert_int_eq(dlx_metrics_read(hostile("metrics_ok.h5"), "train_loss", &rows, &n, &err), 0);
    ck_assert_int_gt(n, 0);
    free(rows);
}
END_TEST

/* Shapes, one-element attributes and string lengths through dlx_h5r directly. */
START_TEST(test_h5r_bounds)
{
    const char *p = tpath("bounds.h5");
    write_ckpt(p);
    dlx_h5r r;
    dlx_err err;
    ck_assert_int_eq(dlx_h5r_open(&r, p, &err), 0);
    float w[W_ROWS * W_COLS];
    int64_t wrong[2] = {W_ROWS, W_COLS + 1}, right[2] = {W_ROWS, W_COLS};
    ck_assert_int_eq(dlx_h5r_read_exact(&r, "/params/fc.weight", H5T_FLOAT, H5T_NATIVE_FLOAT, 2, wrong, w, &err),
                     DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/params/fc.weight has shape [20, 64] but the model expects [20, 65]");
    ck_assert_int_eq(dlx_h5r_read_exact(&r, "/params/fc.weight", H5T_INTEGER, H5T_NATIVE_INT, 2, right, w, &err),
                     DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/params/fc.weight is not an integer dataset");
    void *buf;
    dlx_h5r_info info;
    ck_assert_int_eq(dlx_h5r_read_alloc(&r, "/params/fc.weight", H5T_FLOAT, H5T_NATIVE_FLOAT, 100, &buf, &info, &err),
                     DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/params/fc.weight has 1280 elements, more than the 100 expected");
    int64_t v;
    ck_assert_int_eq(dlx_h5r_read_i64(&r, "/rng", &v, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/rng has shape [3] but one value is expected");
    ck_assert_int_eq(dlx_h5r_read_i64(&r, "/step", &v, &err), 0);
    ck_assert_int_eq(v, 12);
    char *s;
    ck_assert_int_eq(dlx_h5r_read_string(&r, "/spec", 5, &s, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/spec is 19 bytes long, more than the 5 expected");
    ck_assert_int_eq(dlx_h5r_attr_string(&r, "/", "family", 63, &s, &err), 0);
    ck_assert_str_eq(s, "classifier");
    free(s);
    ck_assert_int_eq(dlx_h5r_attr_i64(&r, "/", "nothing", &v, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "no attribute 'nothing' of /");
    ck_assert(!dlx_h5r_is_dataset(&r, "/params/no/such/thing"));
    ck_assert(dlx_h5r_is_group(&r, "/params"));
    /* a path under a dataset is absent, not a failure that would latch the
     * reader (HDF5's H5Lexists fails on it) */
    ck_assert(!dlx_h5r_exists(&r, "/step/under"));
    ck_assert(!dlx_h5r_has_attr(&r, "/step/under", "x"));
    ck_assert(!dlx_h5r_is_dataset(&r, "/params/fc.weight/x"));
    ck_assert(!r.broken);
    ck_assert_int_eq(dlx_h5r_read_i64(&r, "/step", &v, &err), 0);
    dlx_h5r_close(&r);
    unlink(p);
}
END_TEST

Suite *h5read_suite(void)
{
    Suite *s = suite_create("h5read");
    TCase *c = tcase_create("h5read");
    tcase_set_timeout(c, 240);
    tcase_add_test(c, test_bitflips_never_load_silently);
    tcase_add_test(c, test_hostile_checkpoints);
    tcase_add_test(c, test_hostile_metrics);
    tcase_add_test(c, test_h5r_bounds);
    suite_add_tcase(s, c);
    return s;
}
