/* Replays every fuzz input kept in the tree (tests/fuzz/regress/<target>/:
 * inputs that once crashed or misbehaved in dlx; tests/fuzz/corpus/<target>/:
 * the seeds and hand-made hostile files; not tests/fuzz/hdf5_bugs/, which
 * break HDF5 itself, nor tests/fuzz/pending/, which still break dlx) through
 * the same calls as the libFuzzer harness (fuzz_one in tests/fuzz/targets_h5.h),
 * in the normal build. Each input runs in its own child process, so a crash
 * names the file; a broken property (an error without a DLX_E* code and a
 * message, a dump that does not re-parse) is reported by number. Leaks are
 * the fuzzers' job (children leave with _exit, so LeakSanitizer stays quiet).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/h5read.h"
#include "fuzz/targets_h5.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif

Suite *fuzz_regress_suite(void);

#if defined(ASAN_BUILD)
/* A hostile file may name 2^60 rows; dlx asks malloc for them and must get
 * NULL back (DLX_ENOMEM), as it does outside ASan, rather than ASan's abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#endif

static const char *src_dir(void)
{
    const char *s = getenv("DLX_SRC_DIR");
    return s && s[0] ? s : ".";
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (len < cap)
            break;
        uint8_t *nb = realloc(buf, cap *= 2);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    fclose(f);
    *n = len;
    return buf;
}

/* Runs one input in a child; returns the number of inputs run (0 when the
 * directory does not exist and `required` is false). */
static int replay_dir_opt(const char *target, const char *kind, bool required)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", src_dir(), kind, target);
    DIR *d = opendir(dir);
    if (!d && !required && errno == ENOENT)
        return 0;
    ck_assert_msg(d != NULL, "cannot open %s: %s (set DLX_SRC_DIR)", dir, strerror(errno));
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t n = 0;
        uint8_t *data = slurp(path, &n);
        ck_assert_msg(data != NULL, "cannot read %s", path);
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_msg(pid >= 0, "fork failed");
        if (pid == 0) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "/tmp/dlx_regress_%s_%d", target, (int)getpid());
            int bad = fuzz_one(target, data, n, tmp);
            remove(tmp);
            _exit(bad < 0 ? 99 : bad);
        }
        int st = 0;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        free(data);
        ck_assert_msg(!WIFSIGNALED(st), "%s: crashed with signal %d (%s)", path, WTERMSIG(st),
                      strsignal(WTERMSIG(st)));
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "%s: property %d of fuzz_%s_one broken (see tests/fuzz/targets.h)", path,
                      WEXITSTATUS(st), target);
        count++;
    }
    closedir(d);
    return count;
}

static int replay_dir(const char *target, const char *kind)
{
    return replay_dir_opt(target, kind, true);
}

START_TEST(test_spec_inputs)
{
    ck_assert_int_ge(replay_dir("spec", "regress"), 1);
    ck_assert_int_ge(replay_dir("spec", "corpus"), 4);
}
END_TEST

START_TEST(test_idx_inputs)
{
    ck_assert_int_ge(replay_dir("idx", "regress"), 1);
    ck_assert_int_ge(replay_dir("idx", "corpus"), 4);
}
END_TEST

START_TEST(test_h5_inputs)
{
    replay_dir("h5", "regress");
    ck_assert_int_ge(replay_dir("h5", "corpus"), 2);
}
END_TEST

/* The readers of metrics.h5, `dlx inspect`, sweep tables, results.h5 and
 * codes.h5: seeds written by dlx (tests/fuzz/make_seeds.sh) and hostile files
 * (tests/fuzz/make_hostile.py). */
START_TEST(test_h5_reader_inputs)
{
    static const char *const targets[] = {"metrics", "inspect", "sweep", "figure", "codes"};
    for (int k = 0; k < 5; k++) {
        replay_dir_opt(targets[k], "regress", false);
        ck_assert_int_ge(replay_dir(targets[k], "corpus"), 2);
    }
}
END_TEST

/* Found by fuzz_spec: a --set key with bytes that are not UTF-8 went into the
 * tree, and the dumped spec (stored in every checkpoint) no longer parsed. */
START_TEST(test_set_key_must_be_text)
{
    dlx_spec *s;
    dlx_err err;
    dlx_err_clear(&err);
    ck_assert_int_eq(dlx_spec_load_string("train: {epochs: 1}\n", "t.yaml", &s, &err), 0);
    ck_assert_int_eq(dlx_spec_set(s, "train.\xff\xfe=3", &err), DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "the key must be UTF-8 text without control characters"));
    dlx_err_clear(&err);
    ck_assert_int_eq(dlx_spec_set(s, "train.a\x01=3", &err), DLX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "the key must be UTF-8 text"));
    dlx_err_clear(&err);
    /* non-ASCII text is fine, and the dump re-parses */
    ck_assert_int_eq(dlx_spec_set(s, "train.\xc3\xa9t\xc3\xa9=3", &err), 0);
    char *dump = dlx_spec_dump(s);
    dlx_spec *s2;
    ck_assert_int_eq(dlx_spec_load_string(dump, "dump.yaml", &s2, &err), 0);
    ck_assert_str_eq(dlx_spec_path(s2, "train.\xc3\xa9t\xc3\xa9")->scalar, "3");
    free(dump);
    dlx_spec_destroy(s2);
    dlx_spec_destroy(s);
}
END_TEST

/* Found by long.sh figure: in these results.h5 files the object header of
 * /rows/dict cannot be read, but after one failed read HDF5 1.10 keeps half of
 * it in its cache, and the next call on it succeeded and then crashed walking
 * its attributes (in the ASan build; the plain build happened to survive). The
 * first failure now latches the reader: what follows is refused, untouched. */
START_TEST(test_failed_header_latches_reader)
{
    static const char *const names[] = {"crash_failed_header_then_attr_walk", "crash_failed_header_then_attr_copy"};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the refusals below are expected */
    for (int k = 0; k < 2; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/regress/figure/%s", src_dir(), names[k]);
        dlx_h5r r;
        dlx_err err;
        dlx_err_clear(&err);
        ck_assert_int_eq(dlx_h5r_open(&r, path, &err), 0);
        ck_assert(!r.broken);
        ck_assert(dlx_h5r_is_group(&r, "/rows"));
        ck_assert(!r.broken);
        ck_assert(!dlx_h5r_is_group(&r, "/rows/dict")); /* its header fails */
        ck_assert(r.broken);
        ck_assert(dlx_h5r_has_attr(&r, "/rows/dict", "label")); /* "unreadable": the read says so */
        char *label = NULL;
        ck_assert_int_eq(dlx_h5r_attr_string(&r, "/rows/dict", "label", 63, &label, &err), DLX_EFORMAT);
        ck_assert_ptr_null(label);
        ck_assert_msg(strstr(err.msg, "attribute 'label' of /rows/dict: an earlier read of this file failed"),
                      "%s", err.msg);
        ck_assert_ptr_nonnull(strstr(err.file, names[k]));
        int64_t v;
        ck_assert_int_eq(dlx_h5r_read_i64(&r, "/rows/dict/err_T1", &v, &err), DLX_EFORMAT);
        ck_assert_ptr_nonnull(strstr(err.msg, "an earlier read of this file failed"));
        dlx_h5r_close(&r);
    }
}
END_TEST

/* Found by fuzz_idx (as a slowdown): a 16-byte file whose header declares
 * 1 GB of images was answered by allocating 1 GB before finding the file
 * short. Under a 256 MiB address-space limit it must still be "truncated". */
START_TEST(test_idx_short_file_no_big_alloc)
{
    char path[1024], labels[1100];
    snprintf(path, sizeof path, "%s/tests/fuzz/regress/idx/header_declares_1gb", src_dir());
    snprintf(labels, sizeof labels, "/tmp/dlx_regress_labels_%d", (int)getpid());
    ck_assert_int_eq(fuzz_idx_write_valid(labels, 0, 1), 0);
#if !defined(ASAN_BUILD) /* ASan's shadow memory needs a big address space */
    struct rlimit rl = {256u << 20, 256u << 20};
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
    dlx_dataset ds;
    dlx_err err;
    dlx_err_clear(&err);
    int rc = dlx_idx_load(path, labels, 10, &ds, &err);
    remove(labels);
    ck_assert_int_eq(rc, DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "truncated IDX file: header declares 100000 images of 100x100 "
                              "(1000000016 bytes) but the file ends after 16 bytes");
}
END_TEST

/* Found by fuzz_h5: a corrupt header gave /params/linear1.weight a float type
 * of 4294967292 bytes per element, and HDF5 allocated a 4 GB conversion
 * buffer to compute `dlx inspect` statistics. Now such a dataset is listed
 * without statistics and loading it as a parameter is a format error. */
struct seen {
    bool weight, weight_stats;
};

static int seen_cb(const dlx_h5_entry *e, void *user)
{
    struct seen *s = user;
    if (!strcmp(e->path, "/params/linear1.weight")) {
        s->weight = true;
        s->weight_stats = e->has_stats;
    }
    return 0;
}

START_TEST(test_h5_absurd_type_size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/regress/h5/type_size_4gb", src_dir());
#if !defined(ASAN_BUILD)
    struct rlimit rl = {1024u << 20, 1024u << 20};
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
    dlx_h5_quiet();
    struct seen seen = {false, false};
    dlx_err err;
    dlx_err_clear(&err);
    /* as dlx reads it: the probe's child finds HDF5 asking for gigabytes */
    int rc = dlx_h5_walk(path, seen_cb, &seen, &err);
    ck_assert_int_eq(rc, DLX_EFORMAT);
    ck_assert_msg(strstr(err.msg, "HDF5 asked for more than"), "%s", err.msg);
    ck_assert(!seen.weight);
    /* the readers themselves, as the fuzzers call them (no probe): the walk
     * lists what it can and sizes no buffer from the absurd type */
    dlx_h5r_set_probe(false);
    dlx_err_clear(&err);
    rc = dlx_h5_walk(path, seen_cb, &seen, &err);
    ck_assert_int_eq(rc, DLX_EFORMAT); /* the file is corrupt further on */
    ck_assert_msg(seen.weight, "walk stopped at the bad dataset: %s", err.msg);
    ck_assert(!seen.weight_stats);
    float buf[2 * 784];
    dlx_h5_array a = {.path = "/params/linear1.weight", .data = buf};
    a.shape = dlx_shape_2d(2, 784);
    dlx_err_clear(&err);
    ck_assert_int_eq(dlx_ckpt_read_arrays(path, &a, 1, false, &err), DLX_EFORMAT);
    dlx_h5r_set_probe(true);
    ck_assert_str_eq(err.msg, "/params/linear1.weight is not a floating-point dataset");
}
END_TEST

Suite *fuzz_regress_suite(void)
{
    Suite *s = suite_create("fuzz_regress");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_spec_inputs);
    tcase_add_test(tc, test_idx_inputs);
    tcase_add_test(tc, test_h5_inputs);
    tcase_add_test(tc, test_h5_reader_inputs);
    tcase_add_test(tc, test_set_key_must_be_text);
    tcase_add_test(tc, test_idx_short_file_no_big_alloc);
    tcase_add_test(tc, test_h5_absurd_type_size);
    tcase_add_test(tc, test_failed_header_latches_reader);
    suite_add_tcase(s, tc);
    return s;
}
