/* The calls each fuzz harness makes on one input, shared by the libFuzzer
 * harnesses (fuzz_*.c) and the regression suite (tests/test_fuzz_regress.c),
 * so a crash input replays through exactly the same code in a normal build.
 *
 * Each function returns 0 when every call behaved: success, or an error that
 * came back as a negative DLX_E* code with a message. It returns a positive
 * number naming the broken property otherwise (the harnesses trap on it).
 * `tmp` is a scratch file path the function may overwrite.
 */
#ifndef DLX_FUZZ_TARGETS_H
#define DLX_FUZZ_TARGETS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/data.h"
#include "../../core/h5io.h"
#include "../../core/spec.h"

/* An error must carry a DLX_E* code and a message. */
static inline int fuzz_err_ok(int rc, const dlx_err *err)
{
    if (rc == 0)
        return 1;
    return rc >= DLX_EINTR && rc < 0 && err->code == rc && err->msg[0] != '\0';
}

static inline int fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    int rc = fclose(f);
    return (w == size && rc == 0) ? 0 : -1;
}

/* ---- spec ------------------------------------------------------------------
 * Input: spec text, optionally followed by a NUL byte and a --set assignment. */
static inline int fuzz_spec_getters(dlx_spec *s)
{
    dlx_err err;
    dlx_spec_node *root = dlx_spec_root(s);
    int64_t i64, list[8];
    int n, idx;
    double d;
    bool b;
    const char *str;
    static const char *const choices[] = {"sgd", "adam", "rmsprop", NULL};
    static const char *const keys[] = {"version", "name", "seed", "model", "data", "train", NULL};
    int rc;
#define FUZZ_CHECK(call) do { dlx_err_clear(&err); rc = (call); if (!fuzz_err_ok(rc, &err)) return 10; } while (0)
    FUZZ_CHECK(dlx_spec_check_keys(root, "spec", keys, &err));
    FUZZ_CHECK(dlx_spec_int(root, "seed", false, 1, 0, INT64_MAX, &i64, &err));
    FUZZ_CHECK(dlx_spec_str(root, "name", false, "fuzz", &str, &err));
    FUZZ_CHECK(dlx_spec_float(root, "version", false, 1.0, -1e9, 1e9, &d, &err));
    dlx_spec_node *train = dlx_spec_get(root, "train");
    if (train && train->kind == DLX_SPEC_MAP) {
        FUZZ_CHECK(dlx_spec_int(train, "epochs", false, 1, 1, 100000, &i64, &err));
        FUZZ_CHECK(dlx_spec_bool(train, "shuffle", false, true, &b, &err));
        dlx_spec_node *opt = dlx_spec_get(train, "optimizer");
        if (opt && opt->kind == DLX_SPEC_MAP)
            FUZZ_CHECK(dlx_spec_enum(opt, "type", false, choices, 0, &idx, &err));
    }
    dlx_spec_node *layers = dlx_spec_path(s, "model.layers");
    if (layers) {
        FUZZ_CHECK(dlx_spec_expect_seq(layers, "model.layers", &err));
        for (int k = 0; rc == 0 && k < layers->n && k < 16; k++) {
            dlx_spec_node *l = layers->items[k];
            if (l->kind != DLX_SPEC_MAP) {
                FUZZ_CHECK(dlx_spec_node_int(l, 0, 100, &i64, &err));
                FUZZ_CHECK(dlx_spec_node_str(l, &str, &err));
                continue;
            }
            FUZZ_CHECK(dlx_spec_int_list(l, "kernel", false, 1, 64, list, 8, &n, &err));
            FUZZ_CHECK(dlx_spec_str(l, "type", false, NULL, &str, &err));
            if (str)
                (void)dlx_closest(str, choices);
        }
    }
    (void)dlx_spec_path(s, "train.optimizer.lr");
    (void)dlx_spec_path(s, "model.layers.0.units");
#undef FUZZ_CHECK
    return 0;
}

static inline int fuzz_spec_one(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t tlen = strlen(text);
    const char *assign = tlen < size ? text + tlen + 1 : "train.optimizer.lr=0.5";

    dlx_err err;
    dlx_err_clear(&err);
    dlx_spec *s = NULL, *s2 = NULL, *s3 = NULL;
    char *dump = NULL, *dump2 = NULL, *dump3 = NULL;
    int bad = 0;
    int rc = dlx_spec_load_string(text, "fuzz.yaml", &s, &err);
    if (!fuzz_err_ok(rc, &err)) { bad = 1; goto out; }
    if (rc)
        goto out;
    dump = dlx_spec_dump(s);
    if (!dump) { bad = 2; goto out; }
    /* the dump re-parses, and to the same tree (whose dump is the same text) */
    dlx_err_clear(&err);
    if (dlx_spec_load_string(dump, "dump.yaml", &s2, &err)) { bad = 3; goto out; }
    dump2 = dlx_spec_dump(s2);
    if (!dump2 || strcmp(dump, dump2) != 0) { bad = 4; goto out; }
    if ((bad = fuzz_spec_getters(s2)))
        goto out;
    dlx_err_clear(&err);
    rc = dlx_spec_set(s2, assign, &err);
    if (!fuzz_err_ok(rc, &err)) { bad = 5; goto out; }
    /* after getters (defaults inserted) and a set, the dump still round-trips */
    dump3 = dlx_spec_dump(s2);
    dlx_err_clear(&err);
    if (!dump3 || dlx_spec_load_string(dump3, "dump3.yaml", &s3, &err)) { bad = 6; goto out; }
out:
    free(dump3);
    free(dump2);
    free(dump);
    dlx_spec_destroy(s3);
    dlx_spec_destroy(s2);
    dlx_spec_destroy(s);
    free(text);
    return bad;
}

/* ---- idx -------------------------------------------------------------------
 * Input: one file's bytes, loaded as the image file and as the label file of a
 * pair whose other half is a valid file (written next to tmp). */
static inline int fuzz_idx_write_valid(const char *path, int images, uint32_t n)
{
    size_t hdr = images ? 16 : 8;
    uint8_t *buf = calloc(1, hdr + n);
    if (!buf)
        return -1;
    uint32_t words[4] = {images ? 0x803u : 0x801u, n, 1, 1};
    for (int k = 0; k < (images ? 4 : 2); k++)
        for (int j = 0; j < 4; j++)
            buf[k * 4 + j] = (uint8_t)(words[k] >> (24 - 8 * j));
    int rc = fuzz_write_file(path, buf, hdr + n);
    free(buf);
    return rc;
}

static inline int fuzz_idx_pair(const char *img, const char *lab, int64_t limit)
{
    dlx_dataset d;
    dlx_err err;
    dlx_err_clear(&err);
    int rc = dlx_idx_load_first(img, lab, 10, limit, &d, &err);
    if (!fuzz_err_ok(rc, &err))
        return 20;
    if (rc == 0) {
        int64_t sum = 0;
        for (int64_t i = 0; i < d.n; i++) /* touch every label and the last pixel row */
            sum += d.labels[i] >= 10 ? 1000 : 0;
        sum += d.images[d.n * d.c * d.h * d.w - 1];
        dlx_dataset_free(&d);
        if (sum >= 1000)
            return 21;
    }
    return 0;
}

static inline int fuzz_idx_one(const uint8_t *data, size_t size, const char *tmp)
{
    char img1[4096], lab1[4096], imgn[4096];
    snprintf(img1, sizeof img1, "%s.img1", tmp);
    snprintf(lab1, sizeof lab1, "%s.lab1", tmp);
    snprintf(imgn, sizeof imgn, "%s.imgn", tmp);
    if (fuzz_write_file(tmp, data, size) || fuzz_idx_write_valid(img1, 1, 1) ||
        fuzz_idx_write_valid(lab1, 0, 1))
        return 0;
    int bad = fuzz_idx_pair(tmp, lab1, 0);
    if (!bad)
        bad = fuzz_idx_pair(img1, tmp, 0);
    /* a label file with a plausible header: pair it with that many images,
     * all of them and (data.train_limit) only the first one or two */
    if (!bad && size >= 8 && data[0] == 0 && data[1] == 0 && data[2] == 8 && data[3] == 1) {
        uint32_t n = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
        if (n > 0 && n <= 65536 && fuzz_idx_write_valid(imgn, 1, n) == 0) {
            bad = fuzz_idx_pair(imgn, tmp, 0);
            if (!bad)
                bad = fuzz_idx_pair(imgn, tmp, 1 + (int64_t)(size % 2));
        }
        remove(imgn);
    }
    if (!bad)
        bad = fuzz_idx_pair(tmp, lab1, 1);
    remove(img1);
    remove(lab1);
    return bad;
}

/* ---- h5 --------------------------------------------------------------------
 * Input: one file's bytes, read as a checkpoint, walked, read as metrics. */
static inline int fuzz_h5_cb(const dlx_h5_entry *e, void *user)
{
    int64_t *count = user;
    if (!e->path || e->ndim < 0 || e->ndim > (int)(sizeof e->dims / sizeof e->dims[0]) || !e->type)
        return 1;
    ++*count;
    return 0;
}

static inline int fuzz_h5_one(const uint8_t *data, size_t size, const char *tmp)
{
    if (fuzz_write_file(tmp, data, size))
        return 0;
    dlx_err err;
    int rc, bad = 0;
    dlx_h5_quiet();

    dlx_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    char family[64];
    dlx_err_clear(&err);
    rc = dlx_ckpt_read_meta(tmp, &meta, family, sizeof family, &err);
    if (!fuzz_err_ok(rc, &err))
        return 30;
    if (rc == 0) {
        if (!meta.spec_text)
            return 31;
        free((char *)meta.spec_text);
    }

    int64_t count = 0;
    dlx_err_clear(&err);
    rc = dlx_h5_walk(tmp, fuzz_h5_cb, &count, &err);
    if (rc > 0)
        return 32; /* the callback saw a malformed entry */
    if (!fuzz_err_ok(rc, &err))
        return 33;

    char *str = NULL;
    dlx_err_clear(&err);
    rc = dlx_h5_read_string(tmp, "/spec", &str, &err);
    if (!fuzz_err_ok(rc, &err))
        return 34;
    free(str);

    float buf[16];
    dlx_h5_array arr = {.path = "/params/w", .data = buf};
    arr.shape = dlx_shape_2d(4, 4);
    dlx_err_clear(&err);
    rc = dlx_ckpt_read_arrays(tmp, &arr, 1, true, &err);
    if (!fuzz_err_ok(rc, &err))
        return 35;

    static const char *const series[] = {"train_loss", "test_accuracy"};
    for (int k = 0; k < 2 && !bad; k++) {
        double *rows = NULL;
        int64_t n = -1;
        dlx_err_clear(&err);
        rc = dlx_metrics_read(tmp, series[k], &rows, &n, &err);
        if (!fuzz_err_ok(rc, &err))
            bad = 36;
        else if (rc == 0 && (n < 0 || (n > 0 && !rows)))
            bad = 37;
        else if (rc == 0 && n > 0) {
            volatile double last = rows[2 * n - 1]; /* the last row is really there */
            (void)last;
        }
        free(rows);
    }
    return bad;
}

#endif
