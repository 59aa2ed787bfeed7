/* Sweep table, shards and merge, sweep-spec checks, summaries, the
 * eigensolver, the Hessian's inputs and the toy landscape family
 * (experiments/sweep.h, models/landscape.h). */
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

static dlx_model *model_from_text(const char *text)
{
    dlx_spec *spec;
    dlx_err err;
    ck_assert_int_eq(dlx_spec_load_string(text, "toy.yaml", &spec, &err), 0);
    dlx_model *m;
    int rc = dlx_model_create(spec, "", NULL, &m, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    return m;
}

START_TEST(test_linear111)
{
    dlx_model *m = model_from_text("version: 1\nseed: 3\nmodel: {kind: landscape, problem: linear111, target: 2.0}\n"
                       "train: {lr: 0.05, steps: 20000, tol: 1.0e-9}\n");
    dlx_err err;
    double l0;
    ck_assert_int_eq(dlx_landscape_linear111_loss(m, 0, 0, &l0, &err), 0);
    ck_assert_int_eq(m->family->train(m, &err), 0);
    double w1, w2, loss;
    ck_assert(dlx_results_get(&m->results, "w1", &w1));
    ck_assert(dlx_results_get(&m->results, "w2", &w2));
    ck_assert(dlx_results_get(&m->results, "loss", &loss));
    ck_assert(fabs(w1 * w2 - 2.0) < 1e-6); /* in a valley */
    ck_assert(loss < 1e-10);
    /* the origin is a saddle: loss there is Syy/2 = 4 * Sxx/2 > 0, and higher than in a valley */
    ck_assert(l0 > 1.0);
    dlx_model_destroy(m);
}
END_TEST

START_TEST(test_spin3)
{
    dlx_model *m = model_from_text("version: 1\nseed: 2\nmodel: {kind: landscape, problem: spin3, lambda: 20}\ntrain: {}\n");
    dlx_err err;
    ck_assert_int_eq(m->family->train(m, &err), 0);
    double e, en, g;
    ck_assert(dlx_results_get(&m->results, "energy", &e));
    ck_assert(dlx_results_get(&m->results, "energy_per_n", &en));
    ck_assert(dlx_results_get(&m->results, "grad_norm", &g));
    ck_assert(fabs(e / 20.0 - en) < 1e-12);
    ck_assert_msg(en < -1.2 && en > -2.0, "energy per n %g", en);
    ck_assert(g < 0.01);
    double l;
    ck_assert_int_eq(dlx_landscape_linear111_loss(m, 0, 0, &l, &err), DLX_EINVAL);
    dlx_model_destroy(m);
    /* bad spec: lambda missing */
    dlx_spec *spec;
    ck_assert_int_eq(dlx_spec_load_string("version: 1\nmodel: {kind: landscape, problem: spin3}\ntrain: {}\n",
                                          "t.yaml", &spec, &err), 0);
    ck_assert_int_eq(dlx_model_create(spec, "", NULL, &m, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "model: missing required key 'lambda'");
}
END_TEST

/* Family sweep (experiments/sweep_model.c): a whole sweep of a linear111
 * base run as one model gives the group statistics of a column; the old
 * spelling `kind: landscape, problem: sweep` is refused with the new one. */
START_TEST(test_sweep_family)
{
    char dir[] = "/tmp/dlx_test_sweepfam.XXXXXX", path[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nmodel: {kind: landscape, problem: linear111, target: 2.0}\n"
          "train: {lr: 0.05, steps: 20000, tol: 1.0e-9}\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sweep.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n  axes: [{name: seed, key: seed, range: [1, 3]}]\n"
          "  measures: [loss, w1, w2]\n", f);
    fclose(f);
    snprintf(text, sizeof text, "version: 1\nmodel: {kind: sweep, sweep: %s, out: %s/t.h5, x: w1, y: w2}\n", path,
             dir);
    dlx_model *m = model_from_text(text);
    dlx_err err;
    ck_assert_msg(m->family->train(m, &err) == 0, "%s", err.msg);
    double runs, mean, sd, r;
    ck_assert(dlx_results_get(&m->results, "runs", &runs));
    ck_assert(dlx_results_get(&m->results, "w1_mean", &mean));
    ck_assert(dlx_results_get(&m->results, "w1_std", &sd));
    ck_assert(dlx_results_get(&m->results, "pearson", &r));
    ck_assert(runs == 3.0);
    ck_assert(isfinite(mean) && sd >= 0.0 && fabs(r) <= 1.0 + 1e-12);
    dlx_model_destroy(m);
    dlx_sweep_table t;
    snprintf(path, sizeof path, "%s/t.h5", dir);
    ck_assert_int_eq(dlx_sweep_table_read(path, &t, &err), 0);
    ck_assert_int_eq(t.n, 3);
    dlx_sweep_table_free(&t);
    /* the old spelling, and a landscape key in the new family */
    dlx_spec *spec;
    ck_assert_int_eq(dlx_spec_load_string("version: 1\nmodel: {kind: landscape, problem: sweep, sweep: s.yaml}\n",
                                          "t.yaml", &spec, &err), 0);
    ck_assert_int_eq(dlx_model_create(spec, "", NULL, &m, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "model kind 'sweep'"), "%s", err.msg);
    snprintf(text, sizeof text, "version: 1\nmodel: {kind: sweep, problem: sweep, sweep: %s/sweep.yaml, x: w1}\n", dir);
    ck_assert_int_eq(dlx_spec_load_string(text, "t.yaml", &spec, &err), 0);
    ck_assert_int_eq(dlx_model_create(spec, "", NULL, &m, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "'problem' is not a key of model"), "%s", err.msg);
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(text), 0);
}
END_TEST

/* A text axis (values that are not numbers) stores each value's index, with
 * the labels and the axis mark as attributes that a read brings back, and
 * the sweep family names its groups by label. */
START_TEST(test_text_axis)
{
    char dir[] = "/tmp/dlx_test_textaxis.XXXXXX", path[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nname: base\nmodel: {kind: landscape, problem: linear111, target: 2.0}\n"
          "train: {lr: 0.05, steps: 200, tol: 1.0e-9}\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sweep.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n"
          "  axes: [{name: tag, key: name, values: [alpha, beta]}, {name: seed, key: seed, range: [1, 2]}]\n"
          "  measures: [loss, w1]\n", f);
    fclose(f);
    snprintf(text, sizeof text, "version: 1\nmodel: {kind: sweep, sweep: %s, out: %s/t.h5, by: tag, x: w1}\n", path,
             dir);
    dlx_model *m = model_from_text(text);
    dlx_err err;
    ck_assert_msg(m->family->train(m, &err) == 0, "%s", err.msg);
    double mean;
    ck_assert(dlx_results_get(&m->results, "w1_mean_tagalpha", &mean) && isfinite(mean));
    ck_assert(dlx_results_get(&m->results, "w1_mean_tagbeta", &mean) && isfinite(mean));
    dlx_model_destroy(m);
    dlx_sweep_table t;
    snprintf(path, sizeof path, "%s/t.h5", dir);
    ck_assert_int_eq(dlx_sweep_table_read(path, &t, &err), 0);
    ck_assert_int_eq(t.n, 4);
    ck_assert(t.axis[0] && t.axis[1] && !t.axis[2] && !t.axis[3]);
    ck_assert_ptr_nonnull(t.labels[0]);
    ck_assert_str_eq(t.labels[0], "alpha\nbeta");
    ck_assert_ptr_null(t.labels[1]); /* seeds are numbers */
    const double want[4] = {0, 0, 1, 1}, seeds[4] = {1, 2, 1, 2};
    for (int i = 0; i < 4; i++) {
        ck_assert(t.val[i * t.n_cols] == want[i]);
        ck_assert(t.val[i * t.n_cols + 1] == seeds[i]);
        ck_assert(isfinite(t.val[i * t.n_cols + 2]));
    }
    char key[48];
    dlx_sweep_table_value_text(&t, 0, 1.0, key, sizeof key);
    ck_assert_str_eq(key, "beta");
    dlx_sweep_table_value_text(&t, 0, 2.0, key, sizeof key); /* no such label: the number */
    ck_assert_str_eq(key, "2");
    dlx_sweep_table_value_text(&t, 1, 2.0, key, sizeof key);
    ck_assert_str_eq(key, "2");
    /* a crafted label cannot break out of a gnuplot string */
    free(t.labels[0]);
    t.labels[0] = strdup("a\nb'\"`x\\y\tz");
    dlx_sweep_table_value_text(&t, 0, 1.0, key, sizeof key);
    ck_assert_str_eq(key, "b___x_y_z");
    dlx_sweep_table_free(&t);
    /* key: [a, b] sets one value into both keys; each must be in the base */
    snprintf(path, sizeof path, "%s/sweep2.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n"
          "  axes: [{name: both, key: [model.target, train.lr], values: [0.25, 0.5]}]\n  measures: [loss]\n", f);
    fclose(f);
    dlx_sweep *s;
    ck_assert_msg(dlx_sweep_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    dlx_spec *rs;
    ck_assert_int_eq(dlx_sweep_run_spec(s, 1, &rs, &err), 0);
    ck_assert_str_eq(dlx_spec_path(rs, "model.target")->scalar, "0.5");
    ck_assert_str_eq(dlx_spec_path(rs, "train.lr")->scalar, "0.5");
    dlx_spec_destroy(rs);
    dlx_sweep_destroy(s);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n"
          "  axes: [{name: both, key: [model.target, train.lrr], values: [0.25]}]\n  measures: [loss]\n", f);
    fclose(f);
    ck_assert_int_eq(dlx_sweep_load(path, NULL, &s, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "'train.lrr' is not a key of the base spec"), "%s", err.msg);
    ck_assert_int_eq(err.line, 4);
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(text), 0);
}
END_TEST

/* The sweep family's distribution over a finished table: quantiles over the
 * finite values, % of all runs above thresholds, collapsed runs (diverged or
 * under the bound or NaN); model.set reaches the base of every run. */
START_TEST(test_sweep_distribution)
{
    char dir[] = "/tmp/dlx_test_sweepdist.XXXXXX", path[256], table[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nmodel: {kind: landscape, problem: linear111, target: 2.0}\n"
          "train: {lr: 0.05, steps: 20, tol: 1.0e-9}\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sweep.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n  axes: [{name: seed, key: seed, range: [1, 5]}]\n"
          "  measures: [loss, diverged]\n", f);
    fclose(f);
    /* the finished table, written beforehand: the family only reads it */
    const char *sets[] = {"model.target=3.0"};
    dlx_sweep *s;
    dlx_err err;
    ck_assert_msg(dlx_sweep_load_with(path, NULL, sets, 1, &s, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(s->base_text, "target: 3.0") != NULL, "%s", s->base_text);
    dlx_sweep_table t;
    ck_assert_int_eq(dlx_sweep_table_init(&t, s, &err), 0);
    const double loss[5] = {4, 1, NAN, 3, 2}, div[5] = {0, 0, 1, 0, 0};
    for (int i = 0; i < 5; i++) {
        double row[3] = {i + 1, loss[i], div[i]};
        ck_assert_int_eq(dlx_sweep_table_add(&t, i, row, &err), 0);
    }
    snprintf(table, sizeof table, "%s/t.h5", dir);
    ck_assert_int_eq(dlx_sweep_table_write(table, &t, &err), 0);
    dlx_sweep_table_free(&t);
    dlx_sweep_destroy(s);
    snprintf(text, sizeof text,
             "version: 1\nmodel: {kind: sweep, sweep: %s, out: %s, x: loss, set: [model.target=3.0],\n"
             "  stats: [loss], above: {loss: [2, 3.5]}, collapsed: {column: loss, below: 1.5}}\n", path, table);
    dlx_model *m = model_from_text(text);
    ck_assert_msg(m->family->train(m, &err) == 0, "%s", err.msg);
    static const struct {
        const char *name;
        double v;
    } want[] = {{"loss_min", 1},       {"loss_q25", 1.75},          {"loss_median", 2.5},       {"loss_q75", 3.25},
                {"loss_max", 4},       {"loss_mean", 2.5},          {"loss_scored", 4},         {"loss_pct_above2", 40},
                {"loss_pct_above3.5", 20}, {"collapsed_runs", 2},   {"collapsed_pct", 40},      {"runs", 5}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double v = NAN;
        ck_assert_msg(dlx_results_get(&m->results, want[i].name, &v), "no %s", want[i].name);
        ck_assert_msg(fabs(v - want[i].v) < 1e-12, "%s = %g, want %g", want[i].name, v, want[i].v);
    }
    dlx_model_destroy(m);
    /* without the setting the base differs from the table's: refused */
    snprintf(text, sizeof text, "version: 1\nmodel: {kind: sweep, sweep: %s, out: %s, x: loss}\n", path, table);
    m = model_from_text(text);
    ck_assert_int_eq(m->family->train(m, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "holds results of a different sweep"), "%s", err.msg);
    dlx_model_destroy(m);
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(text), 0);
}
END_TEST

/* A family declares its sweep measures (the gan's scores and losses); with
 * the diverged measure a run stopped by the family's divergence test is
 * kept (diverged = 1, its model evaluated as it stands), without it the
 * sweep fails on that run. */
START_TEST(test_gan_measures_and_diverged)
{
    char dir[] = "/tmp/dlx_test_gansweep.XXXXXX", path[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nseed: 1\nmodel:\n  kind: gan\n  collapse_std: 0\n  noise: {dim: 2}\n  networks:\n"
          "    gen: {layers: [{type: linear, units: 16, activation: relu}, {type: linear, units: 2}]}\n"
          "    disc: {layers: [{type: linear, units: 16, activation: relu}, {type: linear, units: 1}]}\n"
          "data: {dataset: ring, modes: 8, radius: 2.0, std: 0.05, samples: 640, test_samples: 200}\n"
          "train:\n  epochs: 1\n  batch: 64\n  optimizers:\n"
          "    d: {params: disc, type: adam, lr: 3.0e-4}\n    g: {params: gen, type: adam, lr: 3.0e-4}\n"
          "  updates: [{loss: d_loss, optimizer: d}, {loss: g_loss, optimizer: g}]\n", f);
    fclose(f);
    for (int with = 0; with < 2; with++) {
        snprintf(path, sizeof path, "%s/sweep%d.yaml", dir, with);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "version: 1\nsweep:\n  base: base.yaml\n"
                   "  axes: [{name: collapse, key: model.collapse_std, values: [0, 1000]}]\n"
                   "  measures: [modes, train_d_loss, final_iprime, steps%s]\n", with ? ", diverged" : "");
        fclose(f);
        dlx_sweep *s;
        dlx_err err;
        ck_assert_msg(dlx_sweep_load(path, NULL, &s, &err) == 0, "%s", err.msg);
        double row[DLX_SWEEP_MAX_COLS];
        char rd[300];
        snprintf(rd, sizeof rd, "%s/run", dir);
        ck_assert_msg(dlx_sweep_run_one(s, 0, rd, row, &err) == 0, "%s", err.msg);
        ck_assert(row[0] == 0.0 && isfinite(row[1]) && isfinite(row[2]));
        ck_assert(isnan(row[3])); /* a ring has no model.score */
        ck_assert(row[4] == 10.0);
        if (with)
            ck_assert(row[5] == 0.0);
        int rc = dlx_sweep_run_one(s, 1, rd, row, &err);
        if (!with) {
            ck_assert_int_eq(rc, DLX_ENUM);
            ck_assert_msg(strstr(err.msg, "the generator collapsed"), "%s", err.msg);
        } else {
            ck_assert_msg(rc == 0, "%s", err.msg);
            ck_assert(row[5] == 1.0);
            ck_assert(row[4] < 10.0);
            ck_assert(isfinite(row[1])); /* the stopped generator, evaluated */
            ck_assert(isnan(row[2]));    /* no epoch finished */
        }
        dlx_sweep_destroy(s);
    }
    /* an unknown measure lists the gan's */
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version: 1\nsweep:\n  base: base.yaml\n  axes: [{name: seed, key: seed, values: [1]}]\n"
          "  measures: [final_iprim]\n", f);
    fclose(f);
    dlx_sweep *s;
    dlx_err err;
    ck_assert_int_eq(dlx_sweep_load(path, NULL, &s, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "unknown measure 'final_iprim' for model kind gan; did you mean 'final_iprime'?"),
                  "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "final_inception_score") && strstr(err.msg, "diverged"), "%s", err.msg);
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(text), 0);
}
END_TEST

/* One split of a dataset named mnist, as IDX files in dir. */
static void write_split(const char *dir, bool train, const dlx_dataset *d)
{
    const dlx_dataset_info *inf = dlx_dataset_find("mnist");
    uint32_t dims[3] = {(uint32_t)d->n, (uint32_t)d->h, (uint32_t)d->w};
    const char *names[2] = {train ? inf->train_images : inf->test_images, train ? inf->train_labels : inf->test_labels};
    for (int f = 0; f < 2; f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        FILE *out = fopen(path, "wb");
        ck_assert_ptr_nonnull(out);
        int ndim = f ? 1 : 3;
        uint32_t magic = f ? 0x801 : 0x803;
        for (int i = -1; i < ndim; i++) { /* big-endian magic, then the dims */
            uint32_t v = i < 0 ? magic : dims[i];
            uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
            ck_assert_uint_eq(fwrite(be, 1, 4, out), 4);
        }
        size_t n = f ? (size_t)d->n : (size_t)d->n * (size_t)d->h * (size_t)d->w;
        ck_assert_uint_eq(fwrite(f ? d->labels : d->images, 1, n, out), n);
        ck_assert_int_eq(fclose(out), 0);
    }
}

static void remove_splits(const char *dir)
{
    const dlx_dataset_info *inf = dlx_dataset_find("mnist");
    const char *names[4] = {inf->train_images, inf->train_labels, inf->test_images, inf->test_labels};
    for (int f = 0; f < 4; f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        unlink(path);
    }
    rmdir(dir);
}

/* The Hessian is taken on the training split as training holds it: a spec
 * that keeps 20 of 30 8x8 images and resizes them to 5x5 at load gives the
 * bits of one whose files hold those 20 resized images. A resize per batch
 * (no rounding to uint8) or samples past the limit would not. */
START_TEST(test_hessian_training_inputs)
{
    char dir[2][64] = {"/tmp/dlx_test_hess_a.XXXXXX", "/tmp/dlx_test_hess_b.XXXXXX"};
    for (int k = 0; k < 2; k++)
        ck_assert_ptr_nonnull(mkdtemp(dir[k]));
    uint8_t px[30 * 64], lab[30];
    dlx_rng r;
    dlx_rng_init(&r, 5, 1);
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(255.0f * dlx_rng_uniform(&r));
    for (int i = 0; i < 30; i++)
        lab[i] = (uint8_t)(i % 10);
    dlx_dataset raw = {.n = 30, .c = 1, .h = 8, .w = 8, .num_classes = 10, .images = px, .labels = lab};
    write_split(dir[0], true, &raw);
    raw.n = 10;
    write_split(dir[0], false, &raw);
    dlx_dataset tr, te;
    dlx_err err;
    ck_assert_int_eq(dlx_dataset_load_cached("mnist", "train", dir[0], 20, 5, 5, &tr, &err), 0);
    ck_assert_int_eq(dlx_dataset_load_cached("mnist", "test", dir[0], 0, 5, 5, &te, &err), 0);
    write_split(dir[1], true, &tr);
    write_split(dir[1], false, &te);
    dlx_dataset_free(&tr);
    dlx_dataset_free(&te);
    dlx_hessian_info h[2];
    for (int k = 0; k < 2; k++) {
        char text[512];
        snprintf(text, sizeof text,
                 "version: 1\nseed: 4\nmodel: {kind: classifier, layers: [{type: flatten}, {type: linear, units: 10}]}\n"
                 "data: {dataset: mnist, dir: %s%s}\ntrain: {epochs: 1, batch: 10}\n",
                 dir[k], k ? "" : ", resize: [5, 5], train_limit: 20");
        dlx_model *m = model_from_text(text);
        int rc = dlx_hessian_analyse(m, &(dlx_hessian_opts){50, DLX_HESSIAN_ROP, 1e-5, 3000, 40, 1e-3}, &h[k], &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        dlx_model_destroy(m);
    }
    for (int k = 0; k < 2; k++)
        remove_splits(dir[k]);
    ck_assert_int_eq(h[0].params, 5 * 5 * 10 + 10);
    ck_assert(h[0].exact && h[0].eig_max > 0.0);
    ck_assert_int_eq(h[0].index, h[1].index);
    ck_assert_msg(h[0].eig_min == h[1].eig_min && h[0].eig_max == h[1].eig_max, "eigenvalues %.17g %.17g vs %.17g %.17g",
                  h[0].eig_min, h[0].eig_max, h[1].eig_min, h[1].eig_max);
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
    tcase_add_test(tc, test_linear111);
    tcase_add_test(tc, test_spin3);
    tcase_add_test(tc, test_sweep_family);
    tcase_add_test(tc, test_text_axis);
    tcase_add_test(tc, test_gan_measures_and_diverged);
    tcase_add_test(tc, test_sweep_distribution);
    tcase_add_test(tc, test_hessian_training_inputs);
    tcase_add_test(tc, test_sweep_eta_by_group);
    suite_add_tcase(s, tc);
    return s;
}
