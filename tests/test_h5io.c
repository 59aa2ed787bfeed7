/* Checkpoint files (core/h5io.h): the round trip of a small checkpoint
 * (dotted names, nested optimizer slots, a 4-d tensor, the loop state and
 * the optimizers' update counts), atomic writes through a .tmp file, every
 * way a file can be wrong (shape mismatch, missing array or file, truncated,
 * not HDF5, foreign HDF5), the walk over a file's datasets and reading a
 * string dataset or attribute. Metrics files are tested in
 * test_h5io_metrics.c; the temporary directory and the walk callback both
 * files use are in h5io_fixture.h. */
#include <check.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/h5io.h"
#include "h5io_fixture.h"

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
    const char *p = h5io_path("ckpt.h5");
    write_sample(p, 1234);
    ck_assert(!file_exists(h5io_path("ckpt.h5.tmp")));

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
    const char *p = h5io_path("e.h5");
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
    const char *p = h5io_path("state.h5");
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
    const char *p = h5io_path("big.h5");
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
    const char *p = h5io_path("ckpt.h5");
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
    const char *p = h5io_path("nope.h5");
    ck_assert_int_eq(dlx_ckpt_read_meta(p, &meta, family, sizeof family, &err), DLX_EIO);
    ck_assert_str_eq(err.file, p);
    ck_assert_str_eq(err.msg, "cannot open: No such file or directory");
    dlx_h5_array a = {.path = "/params/x", .shape = dlx_shape_1d(1), .data = (float[1]){0}};
    ck_assert_int_eq(dlx_ckpt_read_arrays(p, &a, 1, false, &err), DLX_EIO);
    ck_assert_str_eq(err.msg, "cannot open: No such file or directory");
    /* a directory is not a checkpoint either */
    ck_assert_int_eq(dlx_ckpt_read_meta(h5io_dir(), &meta, family, sizeof family, &err), DLX_EINVAL);
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
    const char *p = h5io_path("ckpt.h5");
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
    const char *p = h5io_path("notes.txt");
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
    const char *p = h5io_path("foreign.h5");
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
    const char *p = h5io_path("ckpt.h5"), *tmp = h5io_path("ckpt.h5.tmp");
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

START_TEST(test_walk_checkpoint)
{
    const char *p = h5io_path("ckpt.h5");
    write_sample(p, 9);
    h5io_seen s;
    memset(&s, 0, sizeof s);
    dlx_err err = {0};
    ck_assert_int_eq(dlx_h5_walk(p, h5io_seen_cb, &s, &err), 0);
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
    ck_assert_int_eq(dlx_h5_walk(p, h5io_seen_cb, &s, &err), 77);
    ck_assert_int_eq(s.n, 3);
}
END_TEST

START_TEST(test_read_string)
{
    const char *p = h5io_path("ckpt.h5");
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

Suite *h5io_suite(void)
{
    Suite *s = suite_create("h5io");
    TCase *c = tcase_create("checkpoint");
    tcase_add_checked_fixture(c, h5io_setup, h5io_teardown);
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
    return s;
}
