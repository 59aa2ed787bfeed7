/* Metrics files (core/h5io.h): the round trip of appended series, names
 * that are refused, resuming at the last checkpoint's step (the rows after it dropped), the
 * columns each row carries (step, value, epoch, wall-clock seconds), another
 * process reading metrics.h5 while the trainer holds it open, and the walk
 * over a metrics file. Checkpoint files are tested in test_h5io.c; the
 * temporary directory and the walk callback both files use are in
 * h5io_fixture.h. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/h5io.h"
#include "h5io_fixture.h"

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
    const char *p = h5io_path("metrics.h5");
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
    const char *p = h5io_path("metrics.h5");
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
    ck_assert_int_eq(dlx_metrics_read(h5io_path("none.h5"), "x", &rows, &n, &err), DLX_EIO);
    ck_assert_str_eq(err.msg, "cannot open: No such file or directory");
}
END_TEST

START_TEST(test_metrics_resume)
{
    const char *p = h5io_path("metrics.h5");
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
    const char *q = h5io_path("new.h5");
    ck_assert_int_eq(dlx_metrics_open(q, true, 50, &m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "loss", 51, 1.5, &err), 0);
    ck_assert_int_eq(dlx_metrics_flush(m, &err), 0);
    dlx_metrics_close(m);
    expect_rows(q, "loss", (double[]){51, 1.5}, 1);

    /* resume on a file that is not HDF5 */
    const char *t = h5io_path("text.h5");
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
    const char *p = h5io_path("metrics.h5");
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
    const char *q = h5io_path("old.h5");
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
    const char *p = h5io_path("metrics.h5");
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
    const char *p = h5io_path("metrics.h5");
    dlx_metrics *m = NULL;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_metrics_open(p, false, 0, &m, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "val_acc", 1, 0.5, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 1, 2.0, &err), 0);
    ck_assert_int_eq(dlx_metrics_append(m, "train_loss", 3, 4.0, &err), 0);
    dlx_metrics_close(m);
    h5io_seen s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(dlx_h5_walk(p, h5io_seen_cb, &s, &err), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.path[0], "/metrics/train_loss");
    ck_assert_str_eq(s.path[1], "/metrics/val_acc");
    ck_assert_str_eq(s.type[0], "float64");
    ck_assert_int_eq(s.ndim[0], 2);
    ck_assert(s.dims[0][0] == 2 && s.dims[0][1] == 4); /* step, value, epoch, wall_s */
    ck_assert(s.dims[1][0] == 1 && s.dims[1][1] == 4);
}
END_TEST

Suite *h5io_metrics_suite(void)
{
    Suite *s = suite_create("h5io_metrics");
    TCase *mt = tcase_create("metrics");
    tcase_add_checked_fixture(mt, h5io_setup, h5io_teardown);
    tcase_add_test(mt, test_metrics_round_trip);
    tcase_add_test(mt, test_metrics_bad_names);
    tcase_add_test(mt, test_metrics_resume);
    tcase_add_test(mt, test_metrics_columns);
    tcase_add_test(mt, test_metrics_readable_while_open);
    tcase_add_test(mt, test_walk_metrics);
    suite_add_tcase(s, mt);
    return s;
}
