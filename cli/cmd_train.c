/* dlx train SPEC [--set K=V]... [--out DIR] [--resume | --force | --extend-epochs N] [--dry-run]
 *           [--stop-at STEP] [--json] [--quiet] [--profile] [--threads N] [--max-memory SIZE] */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../models/family.h"
#include "../train/replace.h"
#include "../train/resume.h"
#include "cli.h"
#include "landscape_mpi.h"
#include "train_mpi.h"

static volatile sig_atomic_t g_stop, g_sig;
static unsigned g_deadline_s = 30;
static char g_deadline_msg[200];

/* First signal: ask the loop to checkpoint and stop, and start the deadline.
 * Second: leave now (from any thread, also inside a BLAS call). */
static void on_signal(int sig)
{
    if (g_stop)
        _exit(128 + sig);
    g_stop = 1;
    g_sig = sig;
    alarm(g_deadline_s);
}

/* The step did not end in time (a stuck library call, a huge step): leave,
 * keeping the last checkpoint. Once the loop has seen the flag (2) the
 * checkpoint is being written and may take its time. */
static void on_deadline(int sig)
{
    (void)sig;
    if (g_stop == 2)
        return;
    ssize_t w = write(2, g_deadline_msg, strlen(g_deadline_msg));
    (void)w;
    _exit(128 + g_sig);
}

static void install_signals(void)
{
    const char *d = getenv("DLX_STOP_DEADLINE");
    char *end;
    long v = d ? strtol(d, &end, 10) : 0;
    if (d && !*end && v >= 1 && v <= 86400)
        g_deadline_s = (unsigned)v;
    snprintf(g_deadline_msg, sizeof g_deadline_msg,
             "dlx: the training step did not end within %u s of the signal; exiting without a new "
             "checkpoint (the last one written is intact)\n", g_deadline_s);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_deadline;
    sigaction(SIGALRM, &sa, NULL);
}

/* "2G", "512M", "1000000" -> bytes; 0 on a bad value (also nan, inf and
 * anything over 2^60 bytes, which no machine has and size_t sums overflow). */
static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v <= 0)
        return 0;
    double mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1024.0, end++;
    else if (*end == 'M' || *end == 'm') mul = 1048576.0, end++;
    else if (*end == 'G' || *end == 'g') mul = 1073741824.0, end++;
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end || v * mul < 1 || v * mul > 1152921504606846976.0)
        return 0;
    return (size_t)(v * mul);
}

static size_t default_max_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && size > 0 ? (size_t)((double)pages * (double)size * 0.8) : 0;
}

static void default_run_dir(const dlx_spec *spec, const char *spec_path, char *out, size_t n)
{
    dlx_spec_node *name = dlx_spec_get(dlx_spec_root(spec), "name");
    if (name && name->kind == DLX_SPEC_SCALAR && name->scalar[0] && !strchr(name->scalar, '/')) {
        snprintf(out, n, "runs/%s", name->scalar);
        return;
    }
    const char *base = strrchr(spec_path, '/');
    base = base ? base + 1 : spec_path;
    char stem[DLX_PATH_COMPONENT_MAX + 1];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    /* "..yaml" must not make the run directory runs/. */
    snprintf(out, n, "runs/%s", strcmp(stem, ".") && strcmp(stem, "..") ? stem : "unnamed");
}

/* --extend-epochs N: the spec trains the checkpoint's train.epochs + N
 * (*from: the checkpoint's); the resume check then compares the rest. */
static int extend_spec(dlx_spec *spec, const char *run_dir, long long n, int64_t *from, dlx_err *err)
{
    int64_t step;
    int rc = dlx_run_checkpoint_epochs(run_dir, from, &step, err);
    if (rc) {
        dlx_err_prefix(err, "--extend-epochs");
        return rc;
    }
    char set[64];
    snprintf(set, sizeof set, "train.epochs=%lld", (long long)*from + n);
    return dlx_spec_set(spec, set, err);
}

/* --dry-run: the model is built (its layer table and memory plan printed);
 * time a few steps and write nothing. */
static int dry_run_model(dlx_model *m, dlx_err *err)
{
    if (!m->family->dry_run)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--dry-run: model.kind %s prepares its run (data, codes, or other runs) before any "
                            "training step, so it has no dry run; the spec itself is valid", m->family_name);
    int64_t n = 0;
    for (int i = 0; i < m->params.n; i++)
        n += m->params.items[i].t.numel;
    dlx_run_info(m, "parameters: %lld in %d tensors", (long long)n, m->params.n);
    int rc = m->family->train(m, err);
    if (!rc)
        dlx_run_info(m, "dry run: nothing was written (%s untouched)", m->run_dir);
    return rc;
}

/* *together: over MPI ranks, the run ended with an error that every rank
 * reached at the same step (no rank is left waiting) */
typedef struct train_args {
    const char *spec_path, *out_dir;
    const char *sets[64];
    int n_sets, threads;
    long long stop_at, extend;
    bool resume, json, quiet, profile, force, dry_run;
    size_t max_memory;
} train_args;

/* argv into *t; 0, or the usage error's exit status */
static int parse_args(int argc, char **argv, train_args *t)
{
    *t = (train_args){.max_memory = default_max_memory()};
    long long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        int set = cli_set_arg("train", argc, argv, &i, t->sets, &t->n_sets, 64);
        if (set == 2)
            return set;
        if (set == 1)
            continue;
        if (strcmp(a, "--out") == 0 && has_next) {
            t->out_dir = argv[++i];
        } else if (strcmp(a, "--stop-at") == 0 && has_next) {
            if (!cli_int_arg(argv[++i], 1, LLONG_MAX, &t->stop_at))
                return cli_usage_error("train", "--stop-at: expected a step number >= 1, got '%s'", argv[i]);
        } else if (strcmp(a, "--profile") == 0) {
            t->profile = true;
        } else if (strcmp(a, "--resume") == 0) {
            t->resume = true;
        } else if (strcmp(a, "--force") == 0) {
            t->force = true;
        } else if (strcmp(a, "--dry-run") == 0) {
            t->dry_run = true;
        } else if (strcmp(a, "--extend-epochs") == 0 && has_next) {
            if (!cli_int_arg(argv[++i], 1, 100000, &t->extend))
                return cli_usage_error("train", "--extend-epochs: expected a number of epochs from 1 to 100000, "
                                       "got '%s'", argv[i]);
        } else if (strcmp(a, "--json") == 0) {
            t->json = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            t->quiet = true;
        } else if (strcmp(a, "--threads") == 0 && has_next) {
            if (!cli_int_arg(argv[++i], 1, 1024, &v))
                return cli_usage_error("train", "--threads: expected a number from 1 to 1024, got '%s'", argv[i]);
            t->threads = (int)v;
        } else if (strcmp(a, "--max-memory") == 0 && has_next) {
            t->max_memory = parse_size(argv[++i]);
            if (!t->max_memory)
                return cli_usage_error("train", "--max-memory: expected a size from 1 byte to 2^60 bytes like 2G "
                                       "or 512M, got '%s'", argv[i]);
        } else if (a[0] == '-') {
            return cli_usage_error("train", "unknown or incomplete option '%s'", a);
        } else if (!t->spec_path) {
            t->spec_path = a;
        } else {
            return cli_usage_error("train", "more than one spec given ('%s' and '%s')", t->spec_path, a);
        }
    }
    if (!t->spec_path)
        return cli_usage_error("train", "missing SPEC (a YAML file, e.g. configs/lenet5.yaml)");
    if (t->force && (t->resume || t->extend))
        return cli_usage_error("train", "--force replaces the run that --%s would continue: give one of them",
                               t->resume ? "resume" : "extend-epochs");
    if (t->dry_run && (t->resume || t->extend || t->force || t->stop_at || t->profile))
        return cli_usage_error("train", "--dry-run writes nothing and takes no --resume, --extend-epochs, --force, "
                               "--stop-at or --profile");
    t->resume = t->resume || t->extend; /* --extend-epochs continues the run */
    return 0;
}

/* The run directory made ready for training: locked (one writer), a run
 * there continued (--resume) or replaced (--force), never overwritten
 * silently; the resolved spec written. Over MPI only the writer touches it,
 * every rank resumes. */
static int open_run(dlx_model *m, const train_args *t, bool writer, const char *ckpt, dlx_err *err)
{
    int rc = writer ? dlx_run_lock(m, err) : 0;
    if (!rc && writer && !t->resume && !t->force)
        rc = dlx_run_refuse_replace(m->run_dir, "continue it with --resume, replace it with --force, or train "
                                    "into another directory with --out DIR", err);
    if (!rc && writer && t->force)
        rc = dlx_run_discard(m->run_dir, err);
    if (!rc && t->resume) {
        bool found;
        rc = dlx_run_resume(m, &found, err);
        if (!rc && found)
            dlx_run_info(m, "resuming from %s at step %lld", ckpt, (long long)m->step);
        else if (!rc)
            dlx_run_info(m, "no checkpoint at %s: starting from step 0", ckpt);
    }
    if (!rc && writer) rc = dlx_run_write_spec(m, err);
    return rc;
}

static int train_cmd(int argc, char **argv, const dlx_dist *dist, bool *together)
{
    train_args t;
    int rc = parse_args(argc, argv, &t);
    if (rc)
        return rc;
    dlx_err err;
    dlx_err_clear(&err);
    /* over MPI ranks rank 0 alone reports, locks and writes the run directory */
    const bool writer = dlx_dist_writes(dist);
    const bool quiet = t.quiet || !writer, json = t.json && writer;
    if (t.out_dir && dlx_rundir_check(t.out_dir, "--out", DLX_RUNDIR_MAX, &err))
        return cli_fail(&err);
    dlx_spec *spec = NULL;
    if (cli_load_spec(t.spec_path, t.sets, t.n_sets, &spec, &err))
        return cli_fail(&err);
    char run_dir[DLX_RUNDIR_MAX + 1];
    if (t.out_dir)
        snprintf(run_dir, sizeof run_dir, "%s", t.out_dir);
    else
        default_run_dir(spec, t.spec_path, run_dir, sizeof run_dir);
    int64_t from_epochs = 0;
    if (t.extend && extend_spec(spec, run_dir, t.extend, &from_epochs, &err)) {
        dlx_spec_destroy(spec);
        return cli_fail(&err);
    }

    cli_progress prog;
    cli_progress_init(&prog, quiet);
    install_signals();
    const char *np = getenv("DLX_NO_PRUNE");
    dlx_hooks hooks = {.progress = cli_progress_hook, .user = &prog, .stop = &g_stop, .dry_run = t.dry_run,
                       .dist = dist && dist->size > 1 ? dist : NULL, .no_prune = np && !strcmp(np, "1")};
    dlx_model *m;
    /* threads and the memory limit must be known while the graph is built */
    rc = dlx_model_create_opts(spec, run_dir, &hooks, t.threads, t.max_memory, &m, &err);
    if (rc)
        return cli_fail(&err);
    snprintf(m->spec_path, sizeof m->spec_path, "%s", t.spec_path);
    m->stop_at = t.stop_at;
    m->profile = t.profile;
    m->extend_from_epochs = from_epochs;
    char ckpt[DLX_RUNDIR_MAX + 32];
    if (t.dry_run) {
        rc = dry_run_model(m, &err);
    } else {
        rc = dlx_path_join(ckpt, sizeof ckpt, m->run_dir, "checkpoint.h5", &err);
        if (!rc) rc = open_run(m, &t, writer, ckpt, &err);
        if (!rc) rc = m->family->train(m, &err);
    }
    cli_progress_end(&prog);
    if (!rc && !t.dry_run && m->figure_script[0] && !quiet)
        cli_run_gnuplot("train", m->figure_script, m->figure_png); /* (a failed drawing keeps the run) */
    if (!rc && !t.dry_run && writer) {
        if (!quiet && !json)
            fprintf(stderr, "checkpoint: %s\n", ckpt);
        cli_print_results(&m->results, json);
    }
    /* a stop signal or a NaN ends every rank at the same step: rank 0 says so */
    if (rc && dist && (err.code == DLX_EINTR || err.code == DLX_ENUM)) {
        *together = true;
        rc = writer ? cli_fail(&err) : dlx_err_exit_status(err.code);
    } else if (rc) {
        rc = cli_fail(&err);
    }
    dlx_model_destroy(m);
    return rc;
}

/* Under mpirun (a dlx built with MPI): every rank runs the command; a rank
 * that fails alone ends the job (the others would wait for it forever). */
int cmd_train(int argc, char **argv)
{
    bool together = false;
    if (!lmpi_launched())
        return train_cmd(argc, argv, NULL, &together);
    if (!cli_train_mpi_built())
        return cli_usage_error("train", "started by mpirun, but this dlx was built without MPI (install "
                               "libopenmpi-dev and rebuild)");
    dlx_dist dist;
    memset(&dist, 0, sizeof dist);
    dlx_err err;
    dlx_err_clear(&err);
    int code = cli_train_mpi_init(&argc, &argv, &dist, &err) ? cli_fail(&err)
                                                               : train_cmd(argc, argv, &dist, &together);
    cli_train_mpi_end(&dist, together ? 0 : code);
    return code;
}
