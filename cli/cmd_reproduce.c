/* dlx reproduce TABLE [--set KEY=VALUE]... [--out DIR] [--force | --resume] [--only ROW,...] [--threads N] [--quiet]
 *               [--figure-only] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../experiments/registry.h"
#include "../experiments/reproduce.h"
#include "../train/replace.h"
#include "cli.h"

static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

static void default_out(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[256];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    snprintf(out, n, "runs/repro/%s", stem);
}

/* The family writes the data and a gnuplot script; gnuplot draws it. */
static int draw_figure(const dlx_repro *r, const char *h5, const char *out_dir, dlx_err *err)
{
    if (!r->figure)
        return 0;
    const dlx_family *fam = dlx_family_find(r->family);
    char png[600], script[600];
    snprintf(png, sizeof png, "%s/%s", out_dir, r->figure);
    snprintf(script, sizeof script, "%s/figure.gp", out_dir);
    if (!fam->figure) {
        fprintf(stderr, "dlx reproduce: family %s draws no figure; skipping %s\n", r->family, png);
        return 0;
    }
    int rc = fam->figure(h5, png, script, err);
    if (rc)
        return rc;
    cli_run_gnuplot("reproduce", script, png); /* a failed drawing keeps the results */
    return 0;
}

/* A rerun into an --out that holds an earlier reproduce (its results.h5, or
 * a run in a row's directory about to be run) is refused unless --force,
 * which removes those rows' checkpoints and metrics first, or --resume (a
 * reproduce that was stopped: each row continues from its checkpoint, a
 * finished one is only evaluated again, a sweep row goes on from its table). */
static int guard_out(const dlx_repro *r, const char *only, const char *h5, bool force, bool resume, dlx_err *err)
{
    static const char ways[] =
        "continue a stopped reproduce with --resume, replace it with --force, or write elsewhere with --out DIR";
    if (resume)
        return 0;
    if (!force && access(h5, F_OK) == 0) /* a finished one: nothing to continue */
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s already holds results.h5 of an earlier dlx reproduce; %s",
                            r->out_dir, "replace it with --force, or write elsewhere with --out DIR");
    int rc = 0;
    for (int i = 0; i < r->n_rows && !rc; i++) {
        if (only && !in_list(only, r->rows[i].name))
            continue;
        char dir[DLX_RUNDIR_MAX + 1];
        rc = dlx_path_join(dir, sizeof dir, r->out_dir, r->rows[i].name, err);
        if (!rc) rc = force ? dlx_run_discard(dir, err) : dlx_run_refuse_replace(dir, ways, err);
    }
    return rc;
}

typedef struct repro_args {
    const char *table, *out, *only;
    int threads, n_sets;
    bool quiet, figure_only, force, resume;
    const char *sets[64];
} repro_args;

/* argv into *a; 0, or the usage error's exit status */
static int parse_args(int argc, char **argv, repro_args *a)
{
    *a = (repro_args){0};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        int set = cli_set_arg("reproduce", argc, argv, &i, a->sets, &a->n_sets, 64);
        if (set == 2)
            return set;
        if (set == 1)
            continue;
        if (!strcmp(o, "--force")) {
            a->force = true;
        } else if (!strcmp(o, "--resume")) {
            a->resume = true;
        } else if (!strcmp(o, "--out") && i + 1 < argc) {
            a->out = argv[++i];
        } else if (!strcmp(o, "--only") && i + 1 < argc) {
            a->only = argv[++i];
        } else if (!strcmp(o, "--threads") && i + 1 < argc) {
            long long v;
            if (!cli_int_arg(argv[++i], 1, 1024, &v))
                return cli_usage_error("reproduce", "--threads: expected a number from 1 to 1024, got '%s'", argv[i]);
            a->threads = (int)v;
        } else if (!strcmp(o, "--figure-only")) {
            a->figure_only = true;
        } else if (!strcmp(o, "--quiet") || !strcmp(o, "-q")) {
            a->quiet = true;
        } else if (o[0] == '-') {
            return cli_usage_error("reproduce", "unknown or incomplete option '%s'", o);
        } else if (!a->table) {
            a->table = o;
        } else {
            return cli_usage_error("reproduce", "more than one table spec given ('%s' and '%s')", a->table, o);
        }
    }
    if (!a->table)
        return cli_usage_error("reproduce", "missing TABLE (a table spec, e.g. configs/repro/lista.yaml)");
    return 0;
}

/* every name of the comma-separated list is a row of r: 0, or the usage error's exit status */
static int check_only(const dlx_repro *r, const char *only, const char *table)
{
    for (const char *p = only; p && *p;) {
        const char *comma = strchr(p, ',');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(comma ? comma - p : (long)strlen(p)), p);
        bool found = false;
        for (int i = 0; i < r->n_rows; i++)
            found |= !strcmp(r->rows[i].name, name);
        if (!found)
            return cli_usage_error("reproduce", "--only: no row named '%s' in %s", name, table);
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* The rows (those of --only), then results.h5, the table on stdout and the
 * figure; the first error in *err. */
static int run_rows(dlx_repro *r, const repro_args *a, const char *h5, const char *out_dir, dlx_err *err)
{
    cli_progress prog;
    cli_progress_init(&prog, a->quiet);
    dlx_hooks hooks = {.progress = cli_progress_hook, .user = &prog};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = 0, ran = 0;
    for (int i = 0; i < r->n_rows && !rc; i++) {
        if (a->only && !in_list(a->only, r->rows[i].name))
            continue;
        if (!a->quiet)
            fprintf(stderr, "== row %d/%d: %s (%s)\n", i + 1, r->n_rows, r->rows[i].name, r->rows[i].spec_path);
        rc = dlx_repro_run_row(r, i, &hooks, a->threads, err);
        cli_progress_end(&prog);
        if (!rc) {
            ran++;
            if (!a->quiet)
                fprintf(stderr, "   done in %.1f s\n", r->rows[i].seconds);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dlx_err werr;
    dlx_err_clear(&werr);
    if (ran && dlx_repro_write_h5(r, h5, &werr) && !rc)
        *err = werr, rc = werr.code;
    char *md = dlx_repro_markdown(r);
    if (md) {
        fputs(md, stdout);
        free(md);
    }
    double total = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("\n%d row(s) run in %.1f s; results in %s\n", ran, total, h5);
    if (!rc && ran)
        rc = draw_figure(r, h5, out_dir, err);
    return rc;
}

int cmd_reproduce(int argc, char **argv)
{
    repro_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    dlx_err err;
    dlx_err_clear(&err);
    if (a.out && dlx_rundir_check(a.out, "--out", DLX_RUNDIR_MAX - 2, &err)) /* room for <out>/<row> */
        return cli_fail(&err);
    char out_dir[DLX_RUNDIR_MAX + 1];
    if (a.out)
        snprintf(out_dir, sizeof out_dir, "%s", a.out);
    else
        default_out(a.table, out_dir, sizeof out_dir);
    dlx_repro *r;
    if (dlx_repro_load_set(a.table, out_dir, a.sets, a.n_sets, &r, &err))
        return cli_fail(&err);
    if ((rc = check_only(r, a.only, a.table))) {
        dlx_repro_destroy(r);
        return rc;
    }
    /* the rows' run directories and results.h5 have one writer: held until exit */
    int lock_fd = -1;
    char h5[DLX_RUNDIR_MAX + 32];
    snprintf(h5, sizeof h5, "%s/results.h5", out_dir); /* fits: out_dir is checked */
    rc = dlx_rundir_lock(out_dir, &lock_fd, &err);
    if (!rc && !a.figure_only) rc = guard_out(r, a.only, h5, a.force, a.resume, &err);
    r->resume = a.resume;
    if (!rc && a.figure_only) {
        rc = draw_figure(r, h5, out_dir, &err);
    } else if (!rc) {
        if (a.only && access(h5, F_OK) == 0) { /* the rows not run now keep their earlier results */
            bool keep[r->n_rows > 0 ? r->n_rows : 1];
            for (int i = 0; i < r->n_rows; i++)
                keep[i] = !in_list(a.only, r->rows[i].name);
            rc = dlx_repro_keep_earlier(r, keep, h5, &err);
        }
        if (!rc) rc = run_rows(r, &a, h5, out_dir, &err);
    }
    dlx_repro_destroy(r);
    dlx_lock_release(&lock_fd);
    return rc ? cli_fail(&err) : 0;
}
