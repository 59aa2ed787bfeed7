/* Checkpoint and metrics files: round trips, atomic writes, and every way a file can be wrong. */
#include <check.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/h5io.h"

static char g_dir[256];

static void setup(void)
{
    dlx_h5_quiet();
    snprintf(g_dir, sizeof g_dir, "/tmp/dlx_h5io_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void teardown(void)
{
    DIR *d = opendir(g_dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(g_dir);
}

static const char *tpath(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static const char *k_spec = "version: 1\nfamily: mlp\nlayers:\n  - {name: fc1, units: 4}\n";

/* A small checkpoint: dotted names, nested optimizer slots, a 4-d tensor. */
static float g_w[2 * 1 * 3 * 3], g_b[2], g_fc[3 * 4], g_m[2 * 1 * 3 * 3], g_xm[5];

static dlx_ckpt_meta sample_meta(int64_t step)
{
    dlx_ckpt_meta m = {.spec_text = k_spec, .family = "mlp", .step = step, .epoch = 3, .n_optims = 1,
                       .optim_name = {"optimizer"}, .optim_t = {step + 1}, .rng = {42, 7, 0xfedcba9876543210ull}};
    return m;
}

static int sample_arrays(dlx_h5_array *a)
{
    for (int i = 0; i < 18; i++) {
        g_w[i] = (float)i * 0.25f - 2.0f;
        g_m[i] = 1e-7f * (float)i;
    }
    g_b[0] = 0.5f;
    g_b[1] = -0.5f;
    for (int i = 0; i < 12; i++)
        g_fc[i] = (float)(i * i) / 7.0f;
    for (int i = 0; i < 5; i++)
        g_xm[i] = -(float)i;
    memset(a, 0, 5 * sizeof(*a));
    snprintf(a[0].path, sizeof a[0].path, "/params/conv1.weight");
    a[0].shape = dlx_shape_4d(2, 1, 3, 3);
    a[0].data = g_w;
    snprintf(a[1].path, sizeof a[1].path, "/params/conv1.bias");
    a[1].shape = dlx_shape_1d(2);
    a[1].data = g_b;
    snprintf(a[2].path, sizeof a[2].path, "/params/fc.weight");
    a[2].shape = dlx_shape_2d(3, 4);
    a[2].data = g_fc;
    snprintf(a[3].path, sizeof a[3].path, "/optim/optimizer/conv1.weight/m");
    a[3].shape = dlx_shape_4d(2, 1, 3, 3);
    a[3].data = g_m;
    snprintf(a[4].path, sizeof a[4].path, "/optim/optimizer/x/m");
    a[4].shape = dlx_shape_1d(5);
    a[4].data = g_xm;
    return 5;
}

static void write_sample(const char *path, int64_t step)
{
    dlx_h5_array a[5];
    int n = sample_arrays(a);
    dlx_ckpt_meta meta = sample_meta(step);
    dlx_err err = {0};
    int rc = dlx_ckpt_write(path, &meta, a, n, &err);
    ck_assert_msg(rc == 0, "write failed: %s", err.msg);
}

START_TEST(test_ckpt_round_trip)
{
    const char *p = tpath("ckpt.h5");
    write_sample(p, 1234);
    ck_assert(!file_exists(tpath("ckpt.h5.tmp")));

    dlx_ckpt_meta meta = {0};
    char family[32] = "xxxx";
    dlx_err err = {0};
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), 0);
    ck_assert_str_eq(meta.spec_text, k_spec);
    ck_assert_str_eq(family, "mlp");
    ck_assert_ptr_eq(meta.family, family);
    ck_assert_int_eq(meta.step, 1234);
    ck_assert_int_eq(meta.epoch, 3);
    ck_assert_int_eq(meta.version, 2);
    ck_assert_int_eq(meta.n_optims, 1);
    ck_assert_str_eq(meta.optim_name[0], "optimizer");
    ck_assert_int_eq(meta.optim_t[0], 1235);
    ck_assert(meta.rng[0] == 42 && meta.rng[1] == 7 && meta.rng[2] == 0xfedcba9876543210ull);
    free((char *)meta.spec_text);

    float w[18], b[2], fc[12], m[18], xm[5];
    dlx_h5_array a[5];
    int n = sample_arrays(a);
    a[0].data = w;
    a[1].data = b;
    a[2].data = fc;
    a[3].data = m;
    a[4].data = xm;
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, a, n, false, &err), 0);
    ck_assert(memcmp(w, g_w, sizeof w) == 0);
    ck_assert(memcmp(b, g_b, sizeof b) == 0);
    ck_assert(memcmp(fc, g_fc, sizeof fc) == 0);
    ck_assert(memcmp(m, g_m, sizeof m) == 0);
    ck_assert(memcmp(xm, g_xm, sizeof xm) == 0);
}
END_TEST

START_TEST(test_ckpt_empty_spec_and_family)
{
    const char *p = tpath("e.h5");
    dlx_ckpt_meta meta = {.spec_text = "", .family = NULL, .step = -5};
    dlx_err err = {0};
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, NULL, 0, &err), 0);
    dlx_ckpt_meta got = {0};
    char family[8] = "zz";
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &got, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/step is -5; a count of steps is never negative");
    meta.step = 5;
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, NULL, 0, &err), 0);
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &got, family, sizeof family, &err), 0);
    ck_assert_str_eq(got.spec_text, "");
    ck_assert_str_eq(family, "");
    ck_assert_int_eq(got.step, 5);
    free((char *)got.spec_text);
}
END_TEST

/* The loop state (/state/<name>) and every optimizer's update count
 * (/optim/<name>/t) round-trip exactly, read back in name order; without
 * state n_state is 0. */
START_TEST(test_ckpt_state)
{
    const char *p = tpath("state.h5");
    dlx_ckpt_meta meta = {.spec_text = "a: 1", .family = "classifier", .n_state = 5,
                          .state_name = {"e", "d.epoch_sum", "c", "b", "a"},
                          .state = {1.25, 0.1, 3e15 + 1, 937, 0.0},
                          .n_optims = 2, .optim_name = {"g", "d"}, .optim_t = {7, 9}};
    dlx_err err = {0};
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, NULL, 0, &err), 0);
    dlx_ckpt_meta got;
    memset(&got, 0xff, sizeof got);
    char family[32];
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &got, family, sizeof family, &err), 0);
    ck_assert_int_eq(got.n_state, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(got.state_name[i], meta.state_name[4 - i]);
        ck_assert(got.state[i] == meta.state[4 - i]);
    }
    ck_assert_int_eq(got.n_optims, 2);
    ck_assert_str_eq(got.optim_name[0], "d");
    ck_assert_int_eq(got.optim_t[0], 9);
    ck_assert_str_eq(got.optim_name[1], "g");
    ck_assert_int_eq(got.optim_t[1], 7);
    free((char *)got.spec_text);

    meta.n_state = 0;
    meta.n_optims = 0; /* a model that trains no optimizer */
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, NULL, 0, &err), 0);
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &got, family, sizeof family, &err), 0);
    ck_assert_int_eq(got.n_state, 0);
    ck_assert_int_eq(got.n_optims, 0);
    free((char *)got.spec_text);
}
END_TEST

START_TEST(test_ckpt_shape_mismatch)
{
    const char *p = tpath("big.h5");
    float *w = calloc(500 * 784, sizeof(*w));
    dlx_h5_array a = {.path = "/params/fc1.weight", .shape = dlx_shape_2d(500, 784), .data = w};
    dlx_ckpt_meta meta = sample_meta(1);
    dlx_err err = {0};
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, &a, 1, &err), 0);

    float *want = calloc(1000 * 784, sizeof(*want));
    a.shape = dlx_shape_2d(1000, 784);
    a.data = want;
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, &a, 1, false, &err), DLX_EFORMAT);
    ck_assert_int_eq(err.code, DLX_EFORMAT);
    ck_assert_str_eq(err.file, p);
    ck_assert_str_eq(err.msg,
                     "/params/fc1.weight has shape [500, 784] but the model expects [1000, 784]");
    char line[1024];
    dlx_err_format(&err, line, sizeof line);
    ck_assert(strstr(line, "big.h5: error: /params/fc1.weight has shape [500, 784]") != NULL);

    /* a different rank is also a mismatch, even with the same element count */
    a.shape = dlx_shape_1d(500 * 784);
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, &a, 1, true, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg,
                     "/params/fc1.weight has shape [500, 784] but the model expects [392000]");
    free(w);
    free(want);
}
END_TEST

START_TEST(test_ckpt_missing_array)
{
    const char *p = tpath("ckpt.h5");
    write_sample(p, 1);
    float got_b[2] = {9, 9}, extra[3] = {7, 7, 7};
    dlx_h5_array a[2] = {
        {.path = "/params/conv1.bias", .shape = dlx_shape_1d(2), .data = got_b},
        {.path = "/optim/optimizer/conv1.bias/v", .shape = dlx_shape_1d(3), .data = extra},
    };
    dlx_err err = {0};
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, a, 2, false, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/optim/optimizer/conv1.bias/v is missing from the checkpoint");
    ck_assert_str_eq(err.file, p);

    got_b[0] = got_b[1] = 9;
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, a, 2, true, &err), 0);
    ck_assert(got_b[0] == 0.5f && got_b[1] == -0.5f);
    ck_assert(extra[0] == 7 && extra[1] == 7 && extra[2] == 7);

    /* a group where a dataset is expected */
    dlx_h5_array g = {.path = "/optim/optimizer/x", .shape = dlx_shape_1d(5), .data = extra};
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, &g, 1, true, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "cannot read /optim/optimizer/x (not a dataset)");
}
END_TEST

START_TEST(test_ckpt_missing_file)
{
    dlx_ckpt_meta meta = {0};
    char family[16];
    dlx_err err = {0};
    const char *p = tpath("nope.h5");
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EIO);
    ck_assert_str_eq(err.file, p);
    ck_assert_str_eq(err.msg, "cannot open: No such file or directory");
    dlx_h5_array a = {.path = "/params/x", .shape = dlx_shape_1d(1), .data = (float[1]){0}};
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, &a, 1, false, &err), DLX_EIO);
    ck_assert_str_eq(err.msg, "cannot open: No such file or directory");
    /* a directory is not a checkpoint either */
    ck_assert_int_eq(dlx_ckpt_read_meta(g_dir, &meta, family, sizeof family, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "cannot read HDF5 file: not a regular file (a directory)");
}
END_TEST

static int count_cb(const dlx_h5_entry *e, void *user)
{
    (void)e;
    ++*(int *)user;
    return 0;
}

START_TEST(test_ckpt_truncated)
{
    const char *p = tpath("ckpt.h5");
    write_sample(p, 1);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(truncate(p, st.st_size / 2), 0);

    dlx_ckpt_meta meta = {0};
    char family[16];
    dlx_err err = {0};
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not an HDF5 file (or truncated)");
    ck_assert_str_eq(err.file, p);
    float w[18];
    dlx_h5_array a = {.path = "/params/conv1.weight", .shape = dlx_shape_4d(2, 1, 3, 3), .data = w};
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, &a, 1, false, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not an HDF5 file (or truncated)");
    int n = 0;
    ck_assert_int_eq(dlx_h5_walk(p, count_cb, &n, &err), DLX_EFORMAT);
    ck_assert_int_eq(n, 0);

    /* only the signature left */
    ck_assert_int_eq(truncate(p, 8), 0);
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not an HDF5 file (or truncated)");
    ck_assert_int_eq(truncate(p, 0), 0);
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not an HDF5 file (or truncated)");
}
END_TEST

START_TEST(test_ckpt_not_hdf5)
{
    const char *p = tpath("notes.txt");
    FILE *fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("this is a text file, not a checkpoint\n", fp);
    fclose(fp);
    dlx_ckpt_meta meta = {0};
    char family[16];
    dlx_err err = {0};
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not an HDF5 file (or truncated)");
    char *s = NULL;
    ck_assert_int_eq(dlx_h5_read_string(p, "/spec", &s, &err), DLX_EFORMAT);
    ck_assert_ptr_null(s);
}
END_TEST

/* A foreign HDF5 file: one dataset, optionally a format attribute. */
static void write_foreign(const char *path, const char *format, bool with_version, bool with_spec)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(f >= 0);
    hsize_t dims[1] = {4};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, "data", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int v[4] = {1, 2, 3, 4};
    ck_assert(H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    hid_t scalar = H5Screate(H5S_SCALAR);
    if (format) {
        /* variable-length, as h5py writes a Python str */
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        hid_t a = H5Acreate2(f, "format", t, scalar, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert(H5Awrite(a, t, &format) >= 0);
        H5Aclose(a);
        H5Tclose(t);
    }
    if (with_version) {
        int one = 1;
        hid_t a = H5Acreate2(f, "version", H5T_STD_I32LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert(H5Awrite(a, H5T_NATIVE_INT, &one) >= 0);
        H5Aclose(a);
    }
    if (with_spec) {
        const char *text = "variable: length\n";
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        hid_t ds = H5Dcreate2(f, "spec", t, scalar, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) >= 0);
        H5Dclose(ds);
        H5Tclose(t);
    }
    H5Sclose(scalar);
    H5Fclose(f);
}

START_TEST(test_ckpt_foreign_hdf5)
{
    const char *p = tpath("foreign.h5");
    dlx_ckpt_meta meta = {0};
    char family[16];
    dlx_err err = {0};

    write_foreign(p, NULL, false, false);
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not a dlx checkpoint (no 'format' attribute)");
    dlx_h5_array a = {.path = "/data", .shape = dlx_shape_1d(4), .data = (float[4]){0}};
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, &a, 1, false, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not a dlx checkpoint (no 'format' attribute)");

    write_foreign(p, "keras-model", true, true);
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not a dlx checkpoint (no 'format' attribute)");

    write_foreign(p, "dlx-checkpoint", true, false);
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "no /spec dataset");

    /* a variable-length /spec is accepted, but /step etc. are still required */
    write_foreign(p, "dlx-checkpoint", true, true);
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "no /step dataset");
    char *s = NULL;
    ck_assert_int_eq(dlx_h5_read_string(p, "/spec", &s, &err), 0);
    ck_assert_str_eq(s, "variable: length\n");
    free(s);
    ck_assert_int_eq(dlx_h5_read_string(p, "format", &s, &err), 0);
    ck_assert_str_eq(s, "dlx-checkpoint");
    free(s);
}
END_TEST

START_TEST(test_ckpt_atomic_write)
{
    const char *p = tpath("ckpt.h5"), *tmp = tpath("ckpt.h5.tmp");
    write_sample(p, 100);
    ck_assert(!file_exists(tmp));

    /* the same path twice makes HDF5 fail half-way through the write */
    float v[2] = {1, 2};
    dlx_h5_array a[2] = {
        {.path = "/params/a", .shape = dlx_shape_1d(2), .data = v},
        {.path = "/params/a", .shape = dlx_shape_1d(2), .data = v},
    };
    dlx_ckpt_meta meta = sample_meta(200);
    dlx_err err = {0};
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, a, 2, &err), DLX_EIO);
    ck_assert_str_eq(err.file, p);
    ck_assert_msg(strncmp(err.msg, "cannot write /params/a", 22) == 0, "msg: %s", err.msg);
    ck_assert(!file_exists(tmp));

    /* a path that is not absolute is refused before anything is renamed */
    dlx_h5_array rel = {.path = "params/b", .shape = dlx_shape_1d(2), .data = v};
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, &rel, 1, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "cannot write 'params/b': bad path, shape or data");
    ck_assert(!file_exists(tmp));

    dlx_ckpt_meta got = {0};
    char family[16];
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &got, family, sizeof family, &err), 0);
    ck_assert_int_eq(got.step, 100);
    free((char *)got.spec_text);

    /* a good write replaces it, and leaves no tmp behind */
    ck_assert_int_eq(dlx_ckpt_write(p, &meta, a, 1, &err), 0);
    ck_assert(!file_exists(tmp));
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &got, family, sizeof family, &err), 0);
    ck_assert_int_eq(got.step, 200);
    free((char *)got.spec_text);

    /* an unwritable directory is an I/O error naming the tmp file */
    ck_assert_int_eq(dlx_ckpt_write("/nonexistent-dir/ckpt.h5", &meta, a, 1, &err), DLX_EIO);
    ck_assert_str_eq(err.file, "/nonexistent-dir/ckpt.h5");
    const char *want = "cannot create /nonexistent-dir/ckpt.h5.tmp: ";
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "msg: %s", err.msg);
}
END_TEST

typedef struct seen {
    int n;
    char path[16][64];
    int ndim[16];
    int64_t dims[16][4];
    char type[16][16];
    dlx_h5_entry fc; /* /params/fc.weight */
    int stop_after;
} seen;

static int seen_cb(const dlx_h5_entry *e, void *user)
{
    seen *s = user;
    ck_assert_int_lt(s->n, 16);
    snprintf(s->path[s->n], sizeof s->path[s->n], "%s", e->path);
    s->ndim[s->n] = e->ndim;
    for (int i = 0; i < e->ndim && i < 4; i++)
        s->dims[s->n][i] = e->dims[i];
    snprintf(s->type[s->n], sizeof s->type[s->n], "%s", e->type);
    if (strcmp(e->path, "/params/fc.weight") == 0)
        s->fc = *e;
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 77 : 0;
}

START_TEST(test_walk_checkpoint)
{
    const char *p = tpath("ckpt.h5");
    write_sample(p, 9);
    seen s;
    memset(&s, 0, sizeof s);
    dlx_err err = {0};
    ck_assert_int_eq(dlx_h5_walk(p, seen_cb, &s, &err), 0);
    static const char *const want[] = {
        "/epoch", "/optim/optimizer/conv1.weight/m", "/optim/optimizer/t", "/optim/optimizer/x/m", "/params/conv1.bias",
        "/params/conv1.weight", "/params/fc.weight", "/rng", "/spec", "/step"};
    ck_assert_int_eq(s.n, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_str_eq(s.path[i], want[i]);
    ck_assert_int_eq(s.ndim[0], 0);
    ck_assert_str_eq(s.type[0], "int64");
    ck_assert_int_eq(s.ndim[1], 4);
    ck_assert(s.dims[1][0] == 2 && s.dims[1][1] == 1 && s.dims[1][2] == 3 && s.dims[1][3] == 3);
    ck_assert_str_eq(s.type[1], "float32");
    ck_assert_int_eq(s.ndim[7], 1);
    ck_assert_int_eq(s.dims[7][0], 3);
    ck_assert_str_eq(s.type[7], "uint64");
    ck_assert_str_eq(s.type[8], "string");
    ck_assert_int_eq(s.ndim[8], 0);
    ck_assert(s.fc.has_stats);
    ck_assert_int_eq(s.fc.ndim, 2);
    ck_assert(s.fc.dims[0] == 3 && s.fc.dims[1] == 4);
    /* fc = i*i/7 for i < 12: min 0, max 121/7, mean sum(i^2)/(7*12) = 506/84 */
    ck_assert_double_eq_tol(s.fc.min, 0.0, 1e-9);
    ck_assert_double_eq_tol(s.fc.max, (double)(121.0f / 7.0f), 1e-9);
    ck_assert_double_eq_tol(s.fc.mean, 506.0 / 84.0, 1e-5);

    /* the callback stops the walk, and its value comes back */
    memset(&s, 0, sizeof s);
    s.stop_after = 3;
    ck_assert_int_eq(dlx_h5_walk(p, seen_cb, &s, &err), 77);
    ck_assert_int_eq(s.n, 3);
}
END_TEST

START_TEST(test_read_string)
{
    const char *p = tpath("ckpt.h5");
    write_sample(p, 9);
    char *s = NULL;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_h5_read_string(p, "/spec", &s, &err), 0);
    ck_assert_str_eq(s, k_spec);
    free(s);
    ck_assert_int_eq(dlx_h5_read_string(p, "spec", &s, &err), 0);
    ck_assert_str_eq(s, k_spec);
    free(s);
    ck_assert_int_eq(dlx_h5_read_string(p, "family", &s, &err), 0);
    ck_assert_str_eq(s, "mlp");
    free(s);
    ck_assert_int_eq(dlx_h5_read_string(p, "format", &s, &err), 0);
    ck_assert_str_eq(s, "dlx-checkpoint");
    free(s);
    s = NULL;
    ck_assert_int_eq(dlx_h5_read_string(p, "/step", &s, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "/step is not one string");
    ck_assert_int_eq(dlx_h5_read_string(p, "/nothing/here", &s, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "no string dataset or root attribute '/nothing/here'");
    ck_assert_int_eq(dlx_h5_read_string(p, "version", &s, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "attribute 'version' of / is not one string");
    ck_assert_ptr_null(s);
}
END_TEST

static void expect_rows(const char *path, const char *name, const double *want, int64_t n)
{
    double *rows = NULL;
    int64_t got = -1;
    dlx_err err = {0};
    int rc = dlx_metrics_read(path, name, &rows, &got, &err);
    ck_assert_msg(rc == 0, "read %s: %s", name, err.msg);
    ck_assert_int_eq(got, n);
    for (int64_t i = 0; i < 2 * n; i++)
        ck_assert_msg(rows[i] == want[i], "%s[%lld] = %g, want %g", name, (long long)i, rows[i],
                      want[i]);
    free(rows);
}

START_TEST(test_metrics_round_trip)
{
    const char *p = tpath("metrics.h5");
    dlx_metrics *m = NULL;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_metrics_open(p, false, 0, &m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 1, 2.5, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 2, 2.25, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "val_acc", 2, 0.125, &err), 0);

    /* nothing is in the file before a flush */
    double *rows = NULL;
    int64_t n = -1;
    ck_assert_int_eq(dlx_metrics_read(p, "train_loss", &rows, &n, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "no metrics series 'train_loss'");

    ck_assert_int_eq(dlx_metrics_flush(m, &err), 0);
    expect_rows(p, "train_loss", (double[]){1, 2.5, 2, 2.25}, 2);
    expect_rows(p, "val_acc", (double[]){2, 0.125}, 1);

    /* a second flush appends; more than one chunk (1024 rows) */
    for (int i = 3; i < 3003; i++)
        ck_assert_int_eq(dlx_metrics_append(m, "train_loss", i, 1.0 / i, &err), 0);
    ck_assert_int_eq(dlx_metrics_flush(m, &err), 0);
    ck_assert_int_eq(dlx_metrics_flush(m, &err), 0); /* nothing pending: no change */
    ck_assert_int_eq(dlx_metrics_read(p, "train_loss", &rows, &n, &err), 0);
    ck_assert_int_eq(n, 3002);
    ck_assert(rows[0] == 1 && rows[1] == 2.5 && rows[3] == 2.25);
    for (int i = 3; i < 3003; i++)
        ck_assert(rows[2 * (i - 1)] == i && rows[2 * (i - 1) + 1] == 1.0 / i);
    free(rows);

    /* close flushes what is pending */
    ck_assert_int_eq(dlx_metrics_append(m, "val_acc", 3000, 0.875, &err), 0);
    dlx_metrics_close(m);
    expect_rows(p, "val_acc", (double[]){2, 0.125, 3000, 0.875}, 2);
    dlx_metrics_close(NULL);
}
END_TEST

START_TEST(test_metrics_bad_names)
{
    const char *p = tpath("metrics.h5");
    dlx_metrics *m = NULL;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_metrics_open(p, false, 0, &m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "a/b", 1, 1.0, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "bad metric name 'a/b' (1 to 95 characters, no '/')");
    ck_assert_int_eq(dlx_metrics_append(m, "", 1, 1.0, &err), DLX_EINVAL);
    dlx_metrics_close(m);

    double *rows = NULL;
    int64_t n = 0;
    ck_assert_int_eq(dlx_metrics_read(p, "../x", &rows, &n, &err), DLX_EINVAL);
    ck_assert_int_eq(dlx_metrics_read(tpath("none.h5"), "x", &rows, &n, &err), DLX_EIO);
    ck_assert_str_eq(err.msg, "cannot open: No such file or directory");
}
END_TEST

START_TEST(test_metrics_resume)
{
    const char *p = tpath("metrics.h5");
    dlx_metrics *m = NULL;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_metrics_open(p, false, 0, &m, &err), 0);
    for (int s = 1; s <= 10; s++)
        ck_assert_int_eq(dlx_metrics_append(m, "loss", s, 10.0 * s, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "val", 5, 0.5, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "val", 10, 1.0, &err), 0);
    ck_assert_int_eq(dlx_metrics_flush(m, &err), 0);
    dlx_metrics_close(m);

    /* the run died after step 10; the last checkpoint was at step 6 */
    ck_assert_int_eq(dlx_metrics_open(p, true, 6, &m, &err), 0);
    expect_rows(p, "loss", (double[]){1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60}, 6);
    expect_rows(p, "val", (double[]){5, 0.5}, 1);
    for (int s = 7; s <= 8; s++)
        ck_assert_int_eq(dlx_metrics_append(m, "loss", s, 10.0 * s + 1, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "lr", 8, 0.01, &err), 0);
    ck_assert_int_eq(dlx_metrics_flush(m, &err), 0);
    dlx_metrics_close(m);
    expect_rows(p, "loss",
                (double[]){1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60, 7, 71, 8, 81}, 8);
    expect_rows(p, "lr", (double[]){8, 0.01}, 1);

    /* resume from step 0 empties every series but keeps them */
    ck_assert_int_eq(dlx_metrics_open(p, true, 0, &m, &err), 0);
    dlx_metrics_close(m);
    double *rows = (double *)&err;
    int64_t n = -1;
    ck_assert_int_eq(dlx_metrics_read(p, "loss", &rows, &n, &err), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(rows);

    /* a fresh (non-resume) open truncates the file */
    ck_assert_int_eq(dlx_metrics_open(p, false, 0, &m, &err), 0);
    dlx_metrics_close(m);
    ck_assert_int_eq(dlx_metrics_read(p, "loss", &rows, &n, &err), DLX_EINVAL);

    /* resume with no file yet creates one */
    const char *q = tpath("new.h5");
    ck_assert_int_eq(dlx_metrics_open(q, true, 50, &m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "loss", 51, 1.5, &err), 0);
    ck_assert_int_eq(dlx_metrics_flush(m, &err), 0);
    dlx_metrics_close(m);
    expect_rows(q, "loss", (double[]){51, 1.5}, 1);

    /* resume on a file that is not HDF5 */
    const char *t = tpath("text.h5");
    FILE *fp = fopen(t, "w");
    fputs("hello\n", fp);
    fclose(fp);
    ck_assert_int_eq(dlx_metrics_open(t, true, 5, &m, &err), DLX_EFORMAT);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err.msg, "not an HDF5 file (or truncated)");
}
END_TEST

/* Every column of a series as the file holds it: *cols gets 4 (or 2). */
static double *raw_rows(const char *path, const char *name, int64_t *n, int *cols)
{
    char obj[128];
    snprintf(obj, sizeof obj, "/metrics/%s", name);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    hid_t d = H5Dopen2(f, obj, H5P_DEFAULT), sp = H5Dget_space(d);
    hsize_t dims[2];
    ck_assert_int_eq(H5Sget_simple_extent_dims(sp, dims, NULL), 2);
    double *rows = malloc((dims[0] ? dims[0] : 1) * dims[1] * sizeof *rows);
    ck_assert(dims[0] == 0 || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    *n = (int64_t)dims[0];
    *cols = (int)dims[1];
    return rows;
}

/* Rows carry (step, value, epoch, wall_s): the epoch last set, and wall-clock
 * seconds that never go back, also across a resume; an older two-column file
 * still reads and resumes (its rows get NaN epoch and wall time). */
START_TEST(test_metrics_columns)
{
    const char *p = tpath("metrics.h5");
    dlx_metrics *m = NULL;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_metrics_open(p, false, 0, &m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "loss", 1, 3.0, &err), 0); /* no epoch set yet */
    dlx_metrics_set_epoch(m, 0.5);
    ck_assert_int_eq(dlx_metrics_append(m, "loss", 2, 2.0, &err), 0);
    usleep(20000);
    dlx_metrics_set_epoch(m, 1.0);
    ck_assert_int_eq(dlx_metrics_append(m, "loss", 4, 1.0, &err), 0);
    dlx_metrics_close(m);
    int64_t n;
    int cols;
    double *r = raw_rows(p, "loss", &n, &cols);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(cols, 4);
    ck_assert(r[0] == 1 && r[1] == 3.0 && isnan(r[2]));
    ck_assert(r[4] == 2 && r[5] == 2.0 && r[6] == 0.5);
    ck_assert(r[8] == 4 && r[9] == 1.0 && r[10] == 1.0);
    ck_assert(r[3] >= 0 && r[7] >= r[3] && r[11] >= r[7] + 0.015 && r[11] < 10);
    double last_wall = r[11];
    free(r);
    expect_rows(p, "loss", (double[]){1, 3.0, 2, 2.0, 4, 1.0}, 3); /* readers get (step, value) */

    /* a resume continues the wall clock from the kept rows */
    ck_assert_int_eq(dlx_metrics_open(p, true, 4, &m, &err), 0);
    dlx_metrics_set_epoch(m, 1.5);
    ck_assert_int_eq(dlx_metrics_append(m, "loss", 6, 0.5, &err), 0);
    dlx_metrics_close(m);
    r = raw_rows(p, "loss", &n, &cols);
    ck_assert_int_eq(n, 4);
    ck_assert(r[11] == last_wall && r[12] == 6 && r[14] == 1.5 && r[15] >= last_wall);
    free(r);

    /* an older [n, 2] file: read as it is; resumed into four columns */
    char old[512];
    const char *src = getenv("DLX_SRC_DIR");
    snprintf(old, sizeof old, "%s/tests/data/hostile/metrics_ok.h5", src ? src : ".");
    ck_assert_int_eq(access(old, R_OK), 0);
    r = raw_rows(old, "train_loss", &n, &cols);
    ck_assert_int_eq(cols, 2);
    int64_t n_old = n;
    double first_step = r[0], first_value = r[1];
    free(r);
    double *pairs = NULL;
    int64_t got = 0;
    ck_assert_int_eq(dlx_metrics_read(old, "train_loss", &pairs, &got, &err), 0);
    ck_assert_int_eq(got, n_old);
    ck_assert(n_old > 0 && pairs[0] == first_step && pairs[1] == first_value);
    free(pairs);
    const char *q = tpath("old.h5");
    FILE *in = fopen(old, "rb"), *out = fopen(q, "wb");
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, k, out), k);
    fclose(in);
    fclose(out);
    ck_assert_int_eq(dlx_metrics_open(q, true, 1000000, &m, &err), 0);
    dlx_metrics_set_epoch(m, 9.0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 1000001, 0.25, &err), 0);
    dlx_metrics_close(m);
    r = raw_rows(q, "train_loss", &n, &cols);
    ck_assert_int_eq(cols, 4);
    ck_assert_int_eq(n, n_old + 1);
    ck_assert(r[0] == first_step && r[1] == first_value && isnan(r[2]) && isnan(r[3]));
    ck_assert(r[4 * n_old] == 1000001 && r[4 * n_old + 2] == 9.0 && r[4 * n_old + 3] >= 0);
    free(r);
}
END_TEST

/* Another process holding metrics.h5 open for reading (with HDF5's default file locking, as
 * h5py does) sees the rows of the last flush and does not make the next flush fail. */
START_TEST(test_metrics_readable_while_open)
{
    const char *p = tpath("metrics.h5");
    dlx_metrics *m = NULL;
    dlx_err err = {0};
    unsetenv("HDF5_USE_FILE_LOCKING"); /* it would override the writer's choice */
    ck_assert_int_eq(dlx_metrics_open(p, false, 0, &m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 1, 0.75, &err), 0);
    ck_assert_int_eq(dlx_metrics_flush(m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 2, 0.5, &err), 0);

    int ready[2], go[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int bad = 0;
        char c = 'r';
        hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t d = f >= 0 ? H5Dopen2(f, "/metrics/train_loss", H5P_DEFAULT) : -1;
        double row[4] = {0, 0, 0, 0}; /* step, value, epoch, wall_s */
        if (d < 0 || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, row) < 0 ||
            row[0] != 1 || row[1] != 0.75)
            bad = 1;
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
            bad = 1;
        if (d >= 0)
            H5Dclose(d);
        if (f >= 0)
            H5Fclose(f);
        _exit(bad);
    }
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    int rc = dlx_metrics_flush(m, &err); /* while the reader still holds the file */
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    int status = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(rc == 0, "flush while read: %s", err.msg);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    dlx_metrics_close(m);
    expect_rows(p, "train_loss", (double[]){1, 0.75, 2, 0.5}, 2);
}
END_TEST

START_TEST(test_walk_metrics)
{
    const char *p = tpath("metrics.h5");
    dlx_metrics *m = NULL;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_metrics_open(p, false, 0, &m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "val_acc", 1, 0.5, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 1, 2.0, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 3, 4.0, &err), 0);
    dlx_metrics_close(m);
    seen s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(dlx_h5_walk(p, seen_cb, &s, &err), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.path[0], "/metrics/train_loss");
    ck_assert_str_eq(s.path[1], "/metrics/val_acc");
    ck_assert_str_eq(s.type[0], "float64");
    ck_assert_int_eq(s.ndim[0], 2);
    ck_assert(s.dims[0][0] == 2 && s.dims[0][1] == 4); /* step, value, epoch, wall_s */
    ck_assert(s.dims[1][0] == 1 && s.dims[1][1] == 4);
}
END_TEST

Suite *h5io_suite(void)
{
    Suite *s = suite_create("h5io");
    TCase *c = tcase_create("checkpoint");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, test_ckpt_round_trip);
    tcase_add_test(c, test_ckpt_empty_spec_and_family);
    tcase_add_test(c, test_ckpt_state);
    tcase_add_test(c, test_ckpt_shape_mismatch);
    tcase_add_test(c, test_ckpt_missing_array);
    tcase_add_test(c, test_ckpt_missing_file);
    tcase_add_test(c, test_ckpt_truncated);
    tcase_add_test(c, test_ckpt_not_hdf5);
    tcase_add_test(c, test_ckpt_foreign_hdf5);
    tcase_add_test(c, test_ckpt_atomic_write);
    tcase_add_test(c, test_walk_checkpoint);
    tcase_add_test(c, test_read_string);
    suite_add_tcase(s, c);
    TCase *mt = tcase_create("metrics");
    tcase_add_checked_fixture(mt, setup, teardown);
    tcase_add_test(mt, test_metrics_round_trip);
    tcase_add_test(mt, test_metrics_bad_names);
    tcase_add_test(mt, test_metrics_resume);
    tcase_add_test(mt, test_metrics_columns);
    tcase_add_test(mt, test_metrics_readable_while_open);
    tcase_add_test(mt, test_walk_metrics);
    suite_add_tcase(s, mt);
    return s;
}
