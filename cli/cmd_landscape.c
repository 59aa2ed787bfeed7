/* dlx landscape: run a loss-surface sweep (experiments/sweep.h), resume it,
 * split it (--shard, MPI ranks), merge shards, summarise and draw figures. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../experiments/sweep_compare.h"
#include "../experiments/sweep_figure.h"
#include "../experiments/sweep.h"
#include "../experiments/sweep_eta.h"
#include "cli.h"
#include "landscape_mpi.h"

static volatile int g_stop;

static void on_signal(int sig)
{
    g_stop = 1;
    signal(sig, SIG_DFL); /* a second signal kills */
}

typedef struct progress {
    const dlx_sweep *s;
    bool quiet;
    int rank;
    double elapsed;
} progress;

static void on_run(void *user, const dlx_sweep_event *e)
{
    progress *p = user;
    p->elapsed = e->elapsed_s;
    if (p->quiet)
        return;
    char line[1024];
    char who[32] = "";
    if (p->rank >= 0)
        snprintf(who, sizeof who, "[rank %d] ", p->rank);
    int n = snprintf(line, sizeof line, "%srun %lld (%lld/%lld):", who, (long long)e->run,
                     (long long)(e->done + e->skipped), (long long)(e->todo + e->skipped));
    for (int c = 0; c < p->s->n_cols && n < (int)sizeof line - 64; c++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %s=%.6g", p->s->cols[c], e->row[c]);
    double rpm = e->elapsed_s > 0 ? 60.0 * (double)e->done / e->elapsed_s : 0.0;
    char eta[96];
    dlx_sweep_eta_text(e->eta_s, e->untimed, eta, sizeof eta);
    printf("%s  [%.1f runs/min, %s]\n", line, rpm, eta);
    fflush(stdout);
}

static void dir_of(const char *path, char *dir, size_t n)
{
    snprintf(dir, n, "%s", path);
    char *sl = strrchr(dir, '/');
    if (sl)
        *sl = '\0';
    else
        snprintf(dir, n, ".");
}

/* The default grouping: every axis but those that set the seed (replicates,
 * pooled); "" when that leaves none. */
static void default_by(const dlx_sweep *s, char *by, size_t n)
{
    by[0] = '\0';
    int k = 0;
    for (int i = 0; i < s->n_axes && k < DLX_SWEEP_BY_MAX; i++) {
        if (!strcmp(s->axes[i].key, "seed"))
            continue;
        size_t len = strlen(by);
        snprintf(by + len, n - len, "%s%s", k++ ? "," : "", s->axes[i].name);
    }
}

/* Per group of the by columns: mean, std, min, max of every measure, and for
 * test_loss the Pearson correlation with train_loss. 2 when by names a column
 * the table lacks. */
static int print_summary(const dlx_sweep *s, const dlx_sweep_table *t, const char *by_opt)
{
    char by[DLX_SWEEP_BY_MAX * 48 + 8];
    if (by_opt)
        snprintf(by, sizeof by, "%s", by_opt);
    else
        default_by(s, by, sizeof by);
    int cb[DLX_SWEEP_BY_MAX], nb = 0;
    dlx_err err;
    if (dlx_sweep_by_cols(t, by, cb, &nb, &err))
        return cli_usage_error("landscape", "--by: %s (columns: the sweep's axes and measures)", err.msg);
    bool has_train = dlx_sweep_table_col(t, "train_loss") >= 0;
    printf("\n%lld of %lld runs in %s%s%s\n", (long long)t->n, (long long)t->n_runs, s->out, nb ? ", grouped by " : "",
           by);
    for (int c = s->n_axes; c < t->n_cols; c++) {
        if (strcmp(t->cols[c], "seconds") == 0 || strcmp(t->cols[c], "params") == 0)
            continue;
        dlx_sweep_group g[256];
        int ng = 0;
        bool pear = has_train && strcmp(t->cols[c], "test_loss") == 0;
        if (dlx_sweep_summary(t, by, t->cols[c], pear ? "train_loss" : NULL, g, 256, &ng, &err))
            continue;
        printf("%-14s", t->cols[c]);
        for (int j = 0; j < nb; j++)
            printf(" %10s", t->cols[cb[j]]);
        printf(" %6s %12s %12s %12s %12s%s\n", "runs", "mean", "std", "min", "max", pear ? "  pearson(test,train)  95% bootstrap CI" : "");
        for (int k = 0; k < ng; k++) {
            printf("%-14s", "");
            for (int j = 0; j < nb; j++) {
                char key[32];
                dlx_sweep_table_value_text(t, cb[j], g[k].keys[j], key, sizeof key);
                printf(" %10s", key);
            }
            printf(" %6lld %12.6g %12.6g %12.6g %12.6g", (long long)g[k].n, g[k].mean, g[k].std, g[k].min, g[k].max);
            if (pear)
                printf("  %8.4f             [%.3f, %.3f]", g[k].pearson, g[k].pearson_lo, g[k].pearson_hi);
            printf("\n");
        }
    }
    int sc = dlx_sweep_table_col(t, "seconds");
    if (sc >= 0 && t->n > 0) {
        double tot = 0;
        for (int64_t i = 0; i < t->n; i++)
            tot += t->val[(size_t)i * (size_t)t->n_cols + (size_t)sc];
        printf("cost: %.2f s per run on average (one core), %.1f core-minutes in all\n", tot / (double)t->n,
               tot / 60.0);
    }
    return 0;
}

static int draw_figures(const dlx_sweep *s, const dlx_sweep_table *t)
{
    char dir[512];
    dir_of(s->out, dir, sizeof dir);
    for (int i = 0; i < s->n_figs; i++) {
        char script[700], png[1100];
        dlx_err err;
        int rc = dlx_sweep_figure_write(s, t, &s->figs[i], dir, script, sizeof script, &err);
        if (rc)
            return cli_fail(&err);
        snprintf(png, sizeof png, "%s/%s", dir, s->figs[i].out);
        if ((rc = cli_run_gnuplot("landscape", script, png)))
            return rc;
    }
    return 0;
}

static int merge(const char *out, char **files, int n, bool quiet)
{
    dlx_sweep_table t;
    dlx_err err;
    int lock_fd;
    int rc = dlx_lock_beside(out, &lock_fd, &err); /* not while a sweep fills it */
    if (rc)
        return cli_fail(&err);
    rc = dlx_sweep_table_merge((const char *const *)files, n, &t, &err);
    if (!rc) rc = dlx_sweep_table_write(out, &t, &err);
    dlx_lock_release(&lock_fd);
    if (rc) {
        dlx_sweep_table_free(&t);
        return cli_fail(&err);
    }
    if (!quiet)
        printf("merged %d file(s) into %s: %lld of %lld runs\n", n, out, (long long)t.n, (long long)t.n_runs);
    dlx_sweep_table_free(&t);
    return 0;
}

static int make_dirs_for(const char *path)
{
    char buf[800];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return 0;
}

/* --compare FIG.png TABLE.h5...: per table and group, the runs, test-loss
 * mean and std, Pearson(test, train) and its bootstrap interval; the figure
 * of both against the group's value. */
static int compare(const char *png, char **tables, int n, const char *by_opt, bool no_figures)
{
    const char *by = by_opt ? by_opt : "hidden";
    dlx_sweep_cmp_row rows[256];
    int nr = 0;
    dlx_err err;
    int rc = dlx_sweep_compare((const char *const *)tables, n, by, rows, 256, &nr, &err);
    if (rc)
        return cli_fail(&err);
    printf("%-28s %10s %6s %12s %12s %9s  %s\n", "sweep", by, "runs", "test_mean", "test_std", "pearson",
           "95% bootstrap CI");
    for (int i = 0; i < nr; i++)
        printf("%-28s %10.6g %6lld %12.6g %12.6g %9.4f  [%.3f, %.3f]\n", rows[i].label, rows[i].key,
               (long long)rows[i].n, rows[i].mean, rows[i].std, rows[i].rho, rows[i].rho_lo, rows[i].rho_hi);
    if (no_figures)
        return 0;
    char script[700];
    snprintf(script, sizeof script, "%s", png);
    char *dot = strrchr(script, '.');
    snprintf(dot && !strcmp(dot, ".png") ? dot : script + strlen(script), 8, ".gp");
    if ((rc = dlx_sweep_compare_figure(rows, nr, by, png, script, &err)))
        return cli_fail(&err);
    return cli_run_gnuplot("landscape", script, png);
}

typedef struct land_args {
    const char *spec, *out, *shard, *merge_out, *by, *compare_out;
    char *merge_in[256];
    int n_merge, jobs;
    bool quiet, no_figures, summary_only;
    const char *sets[64];
    int n_sets;
} land_args;

/* argv into *a; 0, or the usage error's exit status */
static int parse_args(int argc, char **argv, land_args *a)
{
    *a = (land_args){.jobs = 1};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        int set = cli_set_arg("landscape", argc, argv, &i, a->sets, &a->n_sets, 64);
        if (set == 2)
            return set;
        if (set == 1)
            continue;
        if (strcmp(o, "--jobs") == 0 && i + 1 < argc) {
            long long v;
            if (!cli_int_arg(argv[++i], 1, 256, &v))
                return cli_usage_error("landscape", "--jobs: expected an integer from 1 to 256, got '%s'", argv[i]);
            a->jobs = (int)v;
        } else if (strcmp(o, "--shard") == 0 && i + 1 < argc) {
            a->shard = argv[++i];
        } else if (strcmp(o, "--out") == 0 && i + 1 < argc) {
            a->out = argv[++i];
        } else if ((strcmp(o, "--merge") == 0 || strcmp(o, "--compare") == 0) && i + 1 < argc) {
            *(o[2] == 'm' ? &a->merge_out : &a->compare_out) = argv[++i];
            while (i + 1 < argc && argv[i + 1][0] != '-' && a->n_merge < 256)
                a->merge_in[a->n_merge++] = argv[++i];
        } else if (strcmp(o, "--quiet") == 0) {
            a->quiet = true;
        } else if (strcmp(o, "--no-figures") == 0) {
            a->no_figures = true;
        } else if (strcmp(o, "--summary") == 0) {
            a->summary_only = true;
        } else if (strcmp(o, "--by") == 0 && i + 1 < argc) {
            a->by = argv[++i];
        } else if (o[0] == '-') {
            return cli_usage_error("landscape", "unknown option '%s'", o);
        } else if (!a->spec) {
            a->spec = o;
        } else {
            return cli_usage_error("landscape", "unexpected argument '%s'", o);
        }
    }
    return 0;
}

/* where this process runs and writes: a shard of the sweep, or all of it */
typedef struct land_place {
    bool mpi;
    int rank, size, shard_i, shard_n;
    char run_out[700];
} land_place;

/* Runs this process's part of the sweep into p->run_out (an MPI rank's
 * shard file, merged into the table by rank 0 when every rank succeeded);
 * the exit status. */
static int run_part(dlx_sweep *s, const land_args *a, const land_place *p)
{
    dlx_err err;
    int status = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    char scratch[700];
    snprintf(scratch, sizeof scratch, "%.600s.scratch.%ld", p->run_out, (long)getpid());
    progress pr = {.s = s, .quiet = a->quiet, .rank = p->mpi ? p->rank : -1};
    dlx_sweep_opts o = {.jobs = a->jobs, .shard_i = p->shard_i, .shard_n = p->shard_n, .scratch = scratch,
                        .on_run = on_run, .user = &pr, .stop = &g_stop};
    if (!a->quiet && p->rank == 0)
        printf("sweep %s: %lld runs (%d axes) into %s, %d job(s)%s%s\n", a->spec, (long long)s->n_runs, s->n_axes,
               p->mpi ? s->out : p->run_out, a->jobs, p->mpi ? " per MPI rank" : a->shard ? ", shard " : "",
               a->shard ? a->shard : "");
    int64_t done = 0;
    int rc = dlx_sweep_execute(s, p->run_out, &o, &done, &err);
    if (!a->quiet && done > 0)
        printf("%s%lld runs in %.1f s: %.2f runs/minute with %d job(s)\n", p->mpi ? "[rank] " : "", (long long)done,
               pr.elapsed, 60.0 * (double)done / pr.elapsed, a->jobs);
    char rm[800];
    snprintf(rm, sizeof rm, "rm -rf '%s'", scratch);
    if (system(rm) != 0 && !a->quiet)
        fprintf(stderr, "dlx landscape: could not remove %s\n", scratch);
    if (rc)
        status = cli_fail(&err);
    if (!p->mpi)
        return status;
    int worst = lmpi_min(rc);
    if (worst && !rc)
        status = 1;
    if (!worst && p->rank == 0) {
        char *files[64];
        char names[64][700];
        int n = p->size < 64 ? p->size : 64;
        for (int r = 0; r < n; r++) {
            snprintf(names[r], sizeof names[r], "%s.shards/rank%dof%d.h5", s->out, r, p->size);
            files[r] = names[r];
        }
        status = merge(s->out, files, n, a->quiet);
    }
    return status;
}

/* The table's summary (printed unless --quiet, or with --by) and figures. */
static int summarize(const dlx_sweep *s, const land_args *a, const land_place *p)
{
    dlx_err err;
    dlx_sweep_table t;
    if (dlx_sweep_table_read(a->summary_only && a->shard ? p->run_out : s->out, &t, &err))
        return cli_fail(&err);
    int status = 0;
    if (!a->quiet || a->by)
        status = print_summary(s, &t, a->by);
    if (!status && !a->no_figures && t.n == t.n_runs)
        status = draw_figures(s, &t);
    dlx_sweep_table_free(&t);
    return status;
}

/* The sweep of a spec: loaded, checked, placed (shard or MPI rank), run and summarised. */
static int sweep_spec(const land_args *a, int *argc, char ***argv)
{
    land_place p = {.size = 1, .shard_n = 1};
    dlx_err err;
    if (a->shard && dlx_sweep_parse_shard(a->shard, &p.shard_i, &p.shard_n, &err))
        return cli_fail(&err);
    p.mpi = lmpi_launched();
    if (p.mpi && !lmpi_built())
        return cli_usage_error("landscape", "started by mpirun, but this dlx was built without MPI "
                                            "(install libopenmpi-dev and rebuild), or use --shard I/N");
    if (p.mpi && a->shard)
        return cli_usage_error("landscape", "--shard and mpirun do not mix: each rank takes shard RANK/SIZE");
    if (p.mpi)
        lmpi_init(argc, argv, &p.rank, &p.size);

    dlx_sweep *s = NULL;
    /* the table's scratch run directories (<table>.scratch.<pid>/w<k>) must fit too */
    const size_t out_max = DLX_RUNDIR_MAX - 64;
    int rc = a->out ? dlx_rundir_check(a->out, "--out", out_max, &err) : 0;
    if (!rc) rc = dlx_sweep_load_set(a->spec, a->out, a->sets, a->n_sets, &s, &err);
    if (!rc && !a->out) rc = dlx_rundir_check(s->out, "sweep.out", out_max, &err);
    if (p.mpi)
        rc = lmpi_min(rc);
    if (rc) {
        rc = p.rank == 0 ? cli_fail(&err) : dlx_err_exit_status(rc);
        if (p.mpi)
            lmpi_finalize();
        dlx_sweep_destroy(s);
        return rc;
    }
    snprintf(p.run_out, sizeof p.run_out, "%s", s->out);
    if (p.mpi) {
        p.shard_i = p.rank;
        p.shard_n = p.size;
        snprintf(p.run_out, sizeof p.run_out, "%s.shards/rank%dof%d.h5", s->out, p.rank, p.size);
        make_dirs_for(p.run_out);
    } else if (a->shard && !a->out) { /* default shard file next to the full table */
        snprintf(p.run_out, sizeof p.run_out, "%s.shard%dof%d.h5", s->out, p.shard_i, p.shard_n);
    }
    int status = 0, lock_fd = -1;
    if (!a->summary_only) {
        int lrc = dlx_lock_beside(p.run_out, &lock_fd, &err); /* one writer per table: TABLE.lock */
        if (lrc)
            status = cli_fail(&err);
        if (p.mpi && lmpi_min(lrc) && !lrc)
            status = 1; /* another rank's table is in use: it says so */
        if (!status)
            status = run_part(s, a, &p);
    }
    if (!status && p.rank == 0 && !(a->shard && !a->summary_only))
        status = summarize(s, a, &p);
    dlx_sweep_destroy(s);
    dlx_lock_release(&lock_fd);
    if (p.mpi)
        lmpi_finalize();
    return status;
}

int cmd_landscape(int argc, char **argv)
{
    land_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    if (a.compare_out) {
        if (a.merge_out || a.spec || a.n_merge == 0 || a.n_sets)
            return cli_usage_error("landscape", "--compare FIG.png TABLE.h5... takes sweep tables, not a spec, "
                                                "--merge or --set");
        return compare(a.compare_out, a.merge_in, a.n_merge, a.by, a.no_figures);
    }
    if (a.merge_out) {
        if (a.spec || a.n_merge == 0 || a.n_sets)
            return cli_usage_error("landscape", "--merge OUT.h5 SHARD.h5... takes shard files, not a spec or --set");
        return merge(a.merge_out, a.merge_in, a.n_merge, a.quiet);
    }
    if (!a.spec)
        return cli_usage_error("landscape", "missing SPEC");
    return sweep_spec(&a, &argc, &argv);
}
