/* The sweep machinery of dlx landscape (experiments/sweep.h,
 * experiments/sweep_eta.h, models/landscape.h): the sweep table (rows kept
 * sorted, its HDF5 round trip), shards and their merge, loading a sweep spec
 * and the errors of a bad one, the summaries (Pearson with its bootstrap
 * interval, group statistics), the symmetric eigensolver, and the ETA of a
 * sweep whose groups differ in cost. The landscape and sweep families, which
 * train, are tested in test_landscape_family.c. Fixtures live in
 * tests/data/landscape/, found from $DLX_SRC_DIR (default: the current
 * directory). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/data.h"
#include "../core/h5io.h"
#include "../core/rng.h"
#include "../models/family.h"
#include "../models/landscape.h"
#include "../experiments/model.h"
#include "../experiments/sweep.h"
#include "../experiments/sweep_eta.h"

static const char *src_dir(void)
{
    const char *s = getenv("DLX_SRC_DIR");
    return s ? s : ".";
}

static void data_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/tests/data/landscape/%s", src_dir(), name);
}

/* a table with columns a, b, seconds and given spec text */
static void make_table(dlx_sweep_table *t, const char *spec)
{
    memset(t, 0, sizeof *t);
    t->n_cols = 3;
    strcpy(t->cols[0], "a");
    strcpy(t->cols[1], "b");
    strcpy(t->cols[2], "seconds");
    t->n_runs = 10;
    t->spec_text = strdup(spec);
}

START_TEST(test_table_add_sorted)
{
    dlx_sweep_table t;
    dlx_err err;
    make_table(&t, "x");
    int64_t order[] = {5, 1, 9, 3};
    for (int i = 0; i < 4; i++) {
        double row[3] = {(double)order[i], order[i] * 0.5, 1.0};
        ck_assert_int_eq(dlx_sweep_table_add(&t, order[i], row, &err), 0);
    }
    ck_assert_int_eq(t.n, 4);
    int64_t want[] = {1, 3, 5, 9};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(t.run[i], want[i]);
        ck_assert(t.val[i * 3] == (double)want[i]);
    }
    double row[3] = {42, 43, 44};
    ck_assert_int_eq(dlx_sweep_table_add(&t, 3, row, &err), 0); /* replaces */
    ck_assert_int_eq(t.n, 4);
    ck_assert(t.val[1 * 3 + 1] == 43.0);
    ck_assert(dlx_sweep_table_has(&t, 9));
    ck_assert(!dlx_sweep_table_has(&t, 2));
    ck_assert_int_eq(dlx_sweep_table_col(&t, "b"), 1);
    ck_assert_int_eq(dlx_sweep_table_col(&t, "zz"), -1);
    dlx_sweep_table_free(&t);
}
END_TEST

START_TEST(test_table_roundtrip)
{
    dlx_sweep_table t, r;
    dlx_err err;
    dlx_h5_quiet();
    make_table(&t, "sweep: {}\n");
    double rows[3][3] = {{0.1, 1e-300, 2}, {NAN, -3.25, 4}, {1.0 / 3.0, 7, 8}};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(dlx_sweep_table_add(&t, i * 2, rows[i], &err), 0);
    char path[] = "/tmp/dlx-test-table-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ck_assert_int_eq(dlx_sweep_table_write(path, &t, &err), 0);
    ck_assert_int_eq(dlx_sweep_table_read(path, &r, &err), 0);
    ck_assert_int_eq(r.n, 3);
    ck_assert_int_eq(r.n_cols, 3);
    ck_assert_int_eq(r.n_runs, 10);
    ck_assert_str_eq(r.cols[2], "seconds");
    ck_assert_str_eq(r.spec_text, "sweep: {}\n");
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r.run[i], i * 2);
        for (int c = 0; c < 3; c++)
            ck_assert(memcmp(&r.val[i * 3 + c], &rows[i][c], sizeof(double)) == 0);
    }
    dlx_sweep_table_free(&r);
    /* not a table */
    FILE *f = fopen(path, "w");
    fputs("hello", f);
    fclose(f);
    ck_assert_int_eq(dlx_sweep_table_read(path, &r, &err), DLX_EFORMAT);
    ck_assert_str_eq(err.msg, "not an HDF5 file (or truncated)");
    unlink(path);
    ck_assert_int_eq(dlx_sweep_table_read(path, &r, &err), DLX_EIO);
    dlx_sweep_table_free(&t);
}
END_TEST

START_TEST(test_merge)
{
    dlx_sweep_table a, b, c, m;
    dlx_err err;
    make_table(&a, "s");
    make_table(&b, "s");
    make_table(&c, "other");
    double r0[3] = {1, 2, 0.5}, r1[3] = {3, 4, 0.7}, r1b[3] = {3, 4, 99.0};
    dlx_sweep_table_add(&a, 0, r0, &err);
    dlx_sweep_table_add(&a, 1, r1, &err);
    dlx_sweep_table_add(&b, 1, r1b, &err); /* same run, other wall time: fine */
    double r2[3] = {5, 6, 0.1};
    dlx_sweep_table_add(&b, 2, r2, &err);
    char pa[] = "/tmp/dlx-merge-a-XXXXXX", pb[] = "/tmp/dlx-merge-b-XXXXXX", pc[] = "/tmp/dlx-merge-c-XXXXXX";
    close(mkstemp(pa));
    close(mkstemp(pb));
    close(mkstemp(pc));
    ck_assert_int_eq(dlx_sweep_table_write(pa, &a, &err), 0);
    ck_assert_int_eq(dlx_sweep_table_write(pb, &b, &err), 0);
    const char *files[] = {pb, pa};
    ck_assert_int_eq(dlx_sweep_table_merge(files, 2, &m, &err), 0);
    ck_assert_int_eq(m.n, 3);
    ck_assert_int_eq(m.run[0], 0);
    ck_assert_int_eq(m.run[2], 2);
    ck_assert(m.val[2 * 3 + 1] == 6.0);
    dlx_sweep_table_free(&m);
    /* a conflicting value */
    double bad[3] = {3, 4.5, 0.7};
    dlx_sweep_table_add(&a, 1, bad, &err);
    ck_assert_int_eq(dlx_sweep_table_write(pa, &a, &err), 0);
    ck_assert_int_eq(dlx_sweep_table_merge(files, 2, &m, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "run 1 is also in an earlier file with a different b (4.5 vs 4)");
    ck_assert_str_eq(err.file, pa);
    /* a different sweep */
    dlx_sweep_table_write(pc, &c, &err);
    const char *files2[] = {pb, pc};
    ck_assert_int_eq(dlx_sweep_table_merge(files2, 2, &m, &err), DLX_EINVAL);
    ck_assert(strstr(err.msg, "is from a different sweep than") != NULL);
    ck_assert_int_eq(dlx_sweep_table_merge(files2, 0, &m, &err), DLX_EINVAL);
    unlink(pa);
    unlink(pb);
    unlink(pc);
    dlx_sweep_table_free(&a);
    dlx_sweep_table_free(&b);
    dlx_sweep_table_free(&c);
}
END_TEST

START_TEST(test_shard_parse)
{
    int i, n;
    dlx_err err;
    ck_assert_int_eq(dlx_sweep_parse_shard("3/8", &i, &n, &err), 0);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(n, 8);
    const char *bad[] = {"8/8", "-1/2", "1/0", "1", "a/2", "1/2x", ""};
    for (int k = 0; k < 7; k++) {
        ck_assert_int_eq(dlx_sweep_parse_shard(bad[k], &i, &n, &err), DLX_EINVAL);
        ck_assert(strstr(err.msg, "--shard: expected I/N with 0 <= I < N") != NULL);
    }
}
END_TEST

START_TEST(test_sweep_load)
{
    char p[1024];
    dlx_sweep *s;
    dlx_err err;
    data_path(p, sizeof p, "sweep.yaml");
    ck_assert_int_eq(dlx_sweep_load(p, "/tmp/x.h5", &s, &err), 0);
    ck_assert_int_eq(s->n_runs, 8);
    ck_assert_int_eq(s->n_axes, 2);
    ck_assert_str_eq(s->family, "classifier");
    ck_assert_str_eq(s->out, "/tmp/x.h5");
    ck_assert_int_eq(s->n_cols, 7);
    ck_assert_str_eq(s->cols[0], "hidden");
    ck_assert_str_eq(s->cols[2], "train_loss");
    ck_assert_str_eq(s->cols[6], "seconds");
    int idx[DLX_SWEEP_MAX_AXES];
    dlx_sweep_point(s, 6, idx); /* last axis fastest: hidden[1], seed[2] */
    ck_assert_int_eq(idx[0], 1);
    ck_assert_int_eq(idx[1], 2);
    ck_assert(s->axes[0].num[1] == 8.0);
    ck_assert(s->axes[1].num[2] == 3.0);
    dlx_spec *rs;
    ck_assert_int_eq(dlx_sweep_run_spec(s, 6, &rs, &err), 0);
    ck_assert_str_eq(dlx_spec_path(rs, "model.layers.1.units")->scalar, "8");
    ck_assert_str_eq(dlx_spec_path(rs, "seed")->scalar, "3");
    dlx_spec_destroy(rs);
    dlx_sweep_destroy(s);
    /* hessian expands to 4 columns */
    data_path(p, sizeof p, "hessian.yaml");
    ck_assert_int_eq(dlx_sweep_load(p, NULL, &s, &err), 0);
    ck_assert_int_eq(s->n_cols, 6);
    ck_assert_str_eq(s->cols[2], "params");
    ck_assert_str_eq(s->cols[5], "eig_max");
    ck_assert_int_eq(s->hess_samples, 100);
    ck_assert_str_eq(s->out, "runs/ls-test-hessian/sweep.h5");
    dlx_sweep_destroy(s);
}
END_TEST

START_TEST(test_sweep_bad)
{
    static const struct {
        const char *file;
        int line, col;
        const char *msg;
    } k[] = {
        {"bad_empty_axis.yaml", 5, 57, "sweep.axes[0] (hidden): the axis is empty; give at least one value"},
        {"bad_range.yaml", 5, 38, "sweep.axes[0] (seed): the axis is empty; give at least one value"},
        {"bad_measure.yaml", 6, 25,
         "sweep.measures[1]: unknown measure 'tset_error' for model kind classifier; did you mean 'test_error'? "
         "(one of: train_loss, train_error, test_loss, test_error, hessian, steps, seconds, diverged)"},
        {"bad_key.yaml", 5, 27, NULL},
        {"bad_base.yaml", 3, 9, NULL},
    };
    for (int i = 0; i < 5; i++) {
        char p[1024];
        dlx_sweep *s = (dlx_sweep *)1;
        dlx_err err;
        data_path(p, sizeof p, k[i].file);
        ck_assert_int_eq(dlx_sweep_load(p, NULL, &s, &err), DLX_EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(err.line, k[i].line);
        ck_assert_int_eq(err.col, k[i].col);
        if (k[i].msg)
            ck_assert_str_eq(err.msg, k[i].msg);
    }
    char p[1024], want[1200];
    dlx_sweep *s;
    dlx_err err;
    data_path(p, sizeof p, "bad_base.yaml");
    dlx_sweep_load(p, NULL, &s, &err);
    data_path(p, sizeof p, "no_such_base.yaml");
    snprintf(want, sizeof want,
             "sweep.base: the base spec '%s' cannot be read: cannot open spec: No such file or directory", p);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(test_summary_pearson)
{
    double x[] = {1, 2, 3, 4}, y[] = {2, 4, 6, 8}, z[] = {4, 3, 2, 1}, w[] = {1, 3, 2, 4};
    ck_assert(fabs(dlx_pearson(x, y, 4) - 1.0) < 1e-15);
    ck_assert(fabs(dlx_pearson(x, z, 4) + 1.0) < 1e-15);
    ck_assert(fabs(dlx_pearson(x, w, 4) - 0.8) < 1e-15);
    ck_assert(isnan(dlx_pearson(x, y, 1)));
    /* the bootstrap interval: a perfect line stays at 1; two draws of
     * independent noise (n = 200) give an interval about 2 x 1.96/sqrt(n)
     * wide around their sample correlation; the same seed, the same bits */
    double lo, hi, lo2, hi2;
    ck_assert_int_eq(dlx_pearson_ci(x, y, 4, 500, 1, &lo, &hi), 0);
    ck_assert(fabs(lo - 1.0) < 1e-12 && fabs(hi - 1.0) < 1e-12);
    ck_assert_int_eq(dlx_pearson_ci(x, y, 2, 500, 1, &lo, &hi), 0);
    ck_assert(isnan(lo) && isnan(hi));
    {
        double u[200], v[200];
        dlx_rng r;
        dlx_rng_init(&r, 9, 2);
        for (int i = 0; i < 200; i++)
            u[i] = dlx_rng_normal(&r), v[i] = dlx_rng_normal(&r);
        double rho = dlx_pearson(u, v, 200);
        ck_assert_int_eq(dlx_pearson_ci(u, v, 200, 2000, 3, &lo, &hi), 0);
        ck_assert_msg(lo < rho && rho < hi && hi - lo > 0.2 && hi - lo < 0.36, "rho %g in [%g, %g]", rho, lo, hi);
        ck_assert_int_eq(dlx_pearson_ci(u, v, 200, 2000, 3, &lo2, &hi2), 0);
        ck_assert(lo == lo2 && hi == hi2);
        for (int i = 0; i < 200; i++) /* strongly correlated: a narrow interval near 0.89 */
            v[i] = u[i] + 0.5 * v[i];
        ck_assert_int_eq(dlx_pearson_ci(u, v, 200, 2000, 3, &lo, &hi), 0);
        ck_assert_msg(lo > 0.8 && hi < 0.95 && lo < dlx_pearson(u, v, 200), "[%g, %g]", lo, hi);
    }
    dlx_sweep_table t;
    dlx_err err;
    make_table(&t, "s");
    /* group a=1: b = 1, 3 ; group a=2: b = 10, 20, 30 */
    double rows[5][3] = {{1, 1, 0}, {2, 10, 0}, {1, 3, 0}, {2, 20, 1}, {2, 30, 2}};
    for (int i = 0; i < 5; i++)
        dlx_sweep_table_add(&t, i, rows[i], &err);
    dlx_sweep_group g[4];
    int ng;
    ck_assert_int_eq(dlx_sweep_summary(&t, "a", "b", "seconds", g, 4, &ng, &err), 0);
    ck_assert_int_eq(ng, 2);
    ck_assert(g[0].keys[0] == 1 && g[0].n == 2 && g[0].mean == 2.0 && fabs(g[0].std - sqrt(2.0)) < 1e-15);
    ck_assert(g[1].keys[0] == 2 && g[1].n == 3 && g[1].mean == 20.0 && g[1].std == 10.0);
    ck_assert(g[1].min == 10 && g[1].max == 30);
    ck_assert(fabs(g[1].pearson - 1.0) < 1e-15);
    ck_assert(isnan(g[0].pearson)); /* seconds constant in group 1 */
    ck_assert_int_eq(dlx_sweep_summary(&t, "a", "nope", NULL, g, 4, &ng, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "summary: no column 'nope'");
    /* by two columns: (a, seconds) = (1,0) (2,0) (2,1) (2,2), in that order */
    ck_assert_int_eq(dlx_sweep_summary(&t, "a,seconds", "b", NULL, g, 4, &ng, &err), 0);
    ck_assert_int_eq(ng, 4);
    ck_assert(g[0].keys[0] == 1 && g[0].keys[1] == 0 && g[0].n == 2 && g[0].mean == 2.0);
    ck_assert(g[1].keys[0] == 2 && g[1].keys[1] == 0 && g[1].n == 1 && g[1].mean == 10.0 && isnan(g[1].std));
    ck_assert(g[2].keys[0] == 2 && g[2].keys[1] == 1 && g[2].mean == 20.0);
    ck_assert(g[3].keys[0] == 2 && g[3].keys[1] == 2 && g[3].mean == 30.0);
    /* no by: one group of every row */
    ck_assert_int_eq(dlx_sweep_summary(&t, "", "b", NULL, g, 4, &ng, &err), 0);
    ck_assert(ng == 1 && g[0].n == 5 && g[0].mean == 64.0 / 5);
    ck_assert_int_eq(dlx_sweep_summary(&t, "a,zz", "b", NULL, g, 4, &ng, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "summary: no column 'zz'");
    ck_assert_int_eq(dlx_sweep_summary(&t, "a,,b", "b", NULL, g, 4, &ng, &err), DLX_EINVAL);
    ck_assert_int_eq(dlx_sweep_summary(&t, "a,b,a,b,a", "b", NULL, g, 4, &ng, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "summary: at most 4 columns to group by, got 'a,b,a,b,a'");
    dlx_sweep_table_free(&t);
}
END_TEST

START_TEST(test_eigvals)
{
    double a[9] = {2, 1, 0, 1, 2, 0, 0, 0, -5};
    double w[3];
    dlx_err err;
    ck_assert_int_eq(dlx_sym_eigvals(a, 3, w, &err), 0);
    ck_assert(fabs(w[0] + 5) < 1e-12 && fabs(w[1] - 1) < 1e-12 && fabs(w[2] - 3) < 1e-12);
}
END_TEST

/* The ETA of a sweep whose groups differ a hundredfold in cost: one run of
 * each group runs first, and the estimate weighs each group's runs left by
 * that group's own time, not by the mean over every run. */
START_TEST(test_sweep_eta_by_group)
{
    static dlx_sweep s; /* hidden [10, 500] x lr [a, b] x seed [1..4]: 16 runs, 4 groups */
    memset(&s, 0, sizeof s);
    s.n_axes = 3;
    snprintf(s.axes[0].key, sizeof s.axes[0].key, "model.layers.1.units");
    s.axes[0].n = 2;
    snprintf(s.axes[1].key, sizeof s.axes[1].key, "train.optimizer.lr");
    s.axes[1].n = 2;
    snprintf(s.axes[2].key, sizeof s.axes[2].key, "seed");
    s.axes[2].n = 4;
    s.n_runs = 16;
    int64_t todo[16];
    for (int i = 0; i < 16; i++)
        todo[i] = i;
    dlx_sweep_eta e;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_sweep_eta_init(&e, &s, todo + 1, 15, &err), 0); /* resumed: run 0 was done */
    /* the first run of each group leads: groups (0,0) (0,1) (1,0) (1,1) */
    ck_assert_int_eq(e.n_groups, 4);
    ck_assert(todo[1] == 1 && todo[2] == 4 && todo[3] == 8 && todo[4] == 12);
    ck_assert(todo[5] == 2 && todo[6] == 3 && todo[7] == 5); /* then the rest in order */
    int64_t untimed;
    ck_assert(dlx_sweep_eta_left(&e, 1, &untimed) == 0.0);
    ck_assert_int_eq(untimed, 15);
    /* the two small-net groups take 1 s a run, the two large ones 100 s */
    dlx_sweep_eta_done(&e, 1, 1.0);
    dlx_sweep_eta_done(&e, 4, 1.0);
    double left = dlx_sweep_eta_left(&e, 1, &untimed);
    ck_assert_int_eq(untimed, 8); /* the large groups: 4 + 4 runs */
    ck_assert(fabs(left - 5.0) < 1e-12);  /* 2 + 3 small runs left */
    dlx_sweep_eta_done(&e, 8, 100.0);
    dlx_sweep_eta_done(&e, 12, 100.0);
    left = dlx_sweep_eta_left(&e, 1, &untimed);
    ck_assert_int_eq(untimed, 0);
    ck_assert(fabs(left - (5.0 + 6 * 100.0)) < 1e-9); /* 3 + 3 large runs left */
    ck_assert(fabs(dlx_sweep_eta_left(&e, 2, &untimed) - left / 2) < 1e-9);
    char buf[96];
    dlx_sweep_eta_text(left, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "ETA 10m05s");
    dlx_sweep_eta_text(5.0, 8, buf, sizeof buf);
    ck_assert_str_eq(buf, "ETA 0m05s + 8 runs not yet timed");
    dlx_sweep_eta_free(&e);
}
END_TEST

Suite *landscape_suite(void)
{
    Suite *s = suite_create("landscape");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_table_add_sorted);
    tcase_add_test(tc, test_table_roundtrip);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_shard_parse);
    tcase_add_test(tc, test_sweep_load);
    tcase_add_test(tc, test_sweep_bad);
    tcase_add_test(tc, test_summary_pearson);
    tcase_add_test(tc, test_eigvals);
    tcase_add_test(tc, test_sweep_eta_by_group);
    suite_add_tcase(s, tc);
    return s;
}
