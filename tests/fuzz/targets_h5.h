/* The calls the fuzz harness makes on one input for the HDF5 readers other
 * than the checkpoint's (targets.h has spec, idx and h5 = checkpoint): every
 * reader of a file dlx may be handed, each in the order its caller uses it.
 *   metrics  metrics.h5: dlx_metrics_read of every series, dlx plot's reader,
 *            and dlx_metrics_open with resume (cuts series back), append, flush
 *   inspect  `dlx inspect`: checkpoint meta, then dlx_h5_walk (twice, as the CLI)
 *   sweep    landscape tables: dlx_sweep_table_read, dlx_sweep_table_merge
 *   figure   reproduce's results.h5: dlx_sparse_coding_figure and dlx_recurrent_figure (write a gnuplot
 *            script and its data next to tmp; gnuplot itself is never run)
 *   codes    sparse coding codes.h5: dlx_sc_read_codes on a 9x8 dictionary
 * fuzz_one() dispatches by target name, for the harness (fuzz.c, built with
 * -DFUZZ_TARGET='"name"') and tests/test_fuzz_regress.c alike. Same return
 * convention as targets.h: 0 fine, a positive number names a broken property.
 */
#ifndef DLX_FUZZ_TARGETS_H5_H
#define DLX_FUZZ_TARGETS_H5_H

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/plot.h"
#include "../../experiments/sweep.h"
#include "../../models/lista.h"
#include "../../models/lista_internal.h"
#include "../../models/recurrent.h"
#include "targets.h"

/* ---- metrics ---------------------------------------------------------------- */
typedef struct fuzz_names {
    char name[8][DLX_NAME_MAX];
    int n;
} fuzz_names;

static inline int fuzz_metrics_names_cb(const dlx_h5_entry *e, void *user)
{
    fuzz_names *l = user;
    if (strncmp(e->path, "/metrics/", 9) == 0 && !strchr(e->path + 9, '/') && l->n < 8 &&
        strlen(e->path + 9) < DLX_NAME_MAX)
        snprintf(l->name[l->n++], DLX_NAME_MAX, "%s", e->path + 9);
    return 0;
}

/* Read a series; with max_step >= 0 every step must be <= max_step (resume
 * kept only those) except a last, appended row when `appended`. Its value is
 * not compared: it went through the file's float type, which a corrupt file
 * may define with any layout. */
static inline int fuzz_metrics_check(const char *path, const char *name, int64_t max_step, bool appended)
{
    double *rows = NULL;
    int64_t n = -1;
    dlx_err err;
    dlx_err_clear(&err);
    int rc = dlx_metrics_read(path, name, &rows, &n, &err);
    if (!fuzz_err_ok(rc, &err))
        return 40;
    int bad = 0;
    if (rc == 0 && (n < 0 || (n > 0 && !rows)))
        bad = 41;
    else if (rc == 0 && n > 0) {
        volatile double last = rows[2 * n - 1]; /* the last row is really there */
        (void)last;
        int64_t kept = appended ? n - 1 : n;
        for (int64_t i = 0; max_step >= 0 && i < kept && !bad; i++)
            if (!(rows[2 * i] <= (double)max_step))
                bad = 42;
    } else if (rc == 0 && appended)
        bad = 43;
    free(rows);
    return bad;
}

static inline int fuzz_metrics_one(const uint8_t *data, size_t size, const char *tmp)
{
    if (fuzz_write_file(tmp, data, size))
        return 0;
    dlx_h5_quiet();
    dlx_err err;
    fuzz_names l = {.n = 0};
    dlx_err_clear(&err);
    int rc = dlx_h5_walk(tmp, fuzz_metrics_names_cb, &l, &err);
    if (!fuzz_err_ok(rc, &err))
        return 44;
    int bad = 0;
    for (int k = 0; k < l.n && !bad; k++)
        bad = fuzz_metrics_check(tmp, l.name[k], -1, false);
    if (!bad)
        bad = fuzz_metrics_check(tmp, "train_loss", -1, false);
    if (bad)
        return bad;

    /* dlx plot's reader: every series into a data file and a script */
    char png[4200], dat[4200], gp[4200];
    snprintf(png, sizeof png, "%s.png", tmp);
    snprintf(dat, sizeof dat, "%s.dat", tmp);
    snprintf(gp, sizeof gp, "%s.gp", tmp);
    dlx_err_clear(&err);
    const char *plot_files[1] = {tmp};
    rc = dlx_plot_metrics(plot_files, 1, NULL, png, dat, gp, &err);
    remove(dat);
    remove(gp);
    if (!fuzz_err_ok(rc, &err))
        return 45;

    /* resume at a step taken from the input: every series is cut back to it */
    int64_t resume = size ? data[size - 1] % 64 : 0;
    dlx_metrics *m = NULL;
    dlx_err_clear(&err);
    rc = dlx_metrics_open(tmp, true, resume, &m, &err);
    if (!fuzz_err_ok(rc, &err))
        return 46;
    if (rc)
        return 0;
    dlx_err_clear(&err);
    rc = dlx_metrics_append(m, "train_loss", resume + 1, 0.5, &err);
    if (!rc)
        rc = dlx_metrics_flush(m, &err);
    dlx_metrics_close(m);
    if (!fuzz_err_ok(rc, &err))
        return 47;
    l.n = 0;
    if (dlx_h5_walk(tmp, fuzz_metrics_names_cb, &l, &err) == 0)
        for (int k = 0; k < l.n && !bad; k++)
            if (strcmp(l.name[k], "train_loss") != 0) /* checked below, with its new row */
                bad = fuzz_metrics_check(tmp, l.name[k], resume, false);
    if (!bad && rc == 0)
        bad = fuzz_metrics_check(tmp, "train_loss", resume, true);
    return bad;
}

/* ---- inspect ---------------------------------------------------------------- */
static inline int fuzz_inspect_cb(const dlx_h5_entry *e, void *user)
{
    const char *file = user;
    if (!e->path || e->path[0] != '/' || e->ndim < 0 || e->ndim > (int)(sizeof e->dims / sizeof e->dims[0]) || !e->type)
        return 1;
    for (int i = 0; i < e->ndim; i++)
        if (e->dims[i] < 0)
            return 2;
    if (e->has_stats && !isnan(e->mean) && !(e->min <= e->max))
        return 3;
    /* a series is shown by its length and last row, as `dlx inspect` does */
    if (strncmp(e->path, "/metrics/", 9) == 0 && e->ndim == 2 && e->dims[1] == 2) {
        double *rows = NULL;
        int64_t n = 0;
        dlx_err err;
        dlx_err_clear(&err);
        int rc = dlx_metrics_read(file, e->path + 9, &rows, &n, &err);
        if (!fuzz_err_ok(rc, &err))
            return 4;
        if (rc == 0 && n > 0) {
            volatile double last = rows[2 * (n - 1)] + rows[2 * (n - 1) + 1];
            (void)last;
        }
        free(rows);
    }
    return 0;
}

static inline int fuzz_inspect_one(const uint8_t *data, size_t size, const char *tmp)
{
    if (fuzz_write_file(tmp, data, size))
        return 0;
    dlx_h5_quiet();
    dlx_err err;
    dlx_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    char family[64];
    dlx_err_clear(&err);
    int rc = dlx_ckpt_read_meta(tmp, &meta, family, sizeof family, &err);
    if (!fuzz_err_ok(rc, &err))
        return 50;
    if (rc == 0) {
        if (!meta.spec_text || !memchr(family, '\0', sizeof family))
            return 51;
        free((char *)meta.spec_text);
    }
    int64_t count = 0;
    dlx_err_clear(&err);
    rc = dlx_h5_walk(tmp, fuzz_h5_cb, &count, &err);
    if (rc > 0)
        return 52;
    if (!fuzz_err_ok(rc, &err))
        return 53;
    dlx_err_clear(&err);
    rc = dlx_h5_walk(tmp, fuzz_inspect_cb, (void *)tmp, &err);
    if (rc > 0)
        return 53 + rc; /* 54..57: the entry broke property rc of fuzz_inspect_cb */
    if (!fuzz_err_ok(rc, &err))
        return 58;
    return 0;
}

/* ---- sweep ------------------------------------------------------------------ */
static inline int fuzz_sweep_check(const dlx_sweep_table *t)
{
    if (t->n < 0 || t->n_cols < 0 || t->n_cols > DLX_SWEEP_MAX_COLS || !t->spec_text)
        return 61;
    if (t->n > 0 && (!t->run || !t->val))
        return 62;
    for (int64_t i = 1; i < t->n; i++)
        if (t->run[i] <= t->run[i - 1])
            return 63;
    volatile double sum = 0; /* every value is really there */
    for (int64_t i = 0; i < t->n * t->n_cols; i++)
        sum += t->val[i];
    (void)dlx_sweep_table_col(t, "seconds");
    return 0;
}

static inline int fuzz_sweep_one(const uint8_t *data, size_t size, const char *tmp)
{
    if (fuzz_write_file(tmp, data, size))
        return 0;
    dlx_h5_quiet();
    dlx_err err;
    dlx_sweep_table t;
    dlx_err_clear(&err);
    int rc = dlx_sweep_table_read(tmp, &t, &err);
    if (!fuzz_err_ok(rc, &err))
        return 60;
    int bad = 0;
    if (rc == 0) {
        bad = fuzz_sweep_check(&t);
        dlx_sweep_table_free(&t);
    }
    if (bad)
        return bad;
    /* a table merged with itself: every run is in both shards */
    const char *paths[2] = {tmp, tmp};
    dlx_err_clear(&err);
    int rc2 = dlx_sweep_table_merge(paths, 2, &t, &err);
    if (!fuzz_err_ok(rc2, &err))
        return 64;
    if (rc2 == 0) {
        bad = fuzz_sweep_check(&t);
        dlx_sweep_table_free(&t);
    }
    return bad;
}

/* ---- figure ----------------------------------------------------------------- */
static inline int fuzz_figure_one(const uint8_t *data, size_t size, const char *tmp)
{
    if (fuzz_write_file(tmp, data, size))
        return 0;
    dlx_h5_quiet();
    char png[4200], gp[4200], dat[4300];
    snprintf(png, sizeof png, "%s.png", tmp);
    snprintf(gp, sizeof gp, "%s.gp", tmp);
    snprintf(dat, sizeof dat, "%s.dat", gp); /* the data file the figure writes */
    dlx_err err;
    dlx_err_clear(&err);
    int rc = dlx_sparse_coding_figure(tmp, png, gp, &err);
    remove(gp);
    remove(dat);
    if (!fuzz_err_ok(rc, &err))
        return 70;
    dlx_err_clear(&err);
    rc = dlx_recurrent_figure(tmp, png, gp, &err);
    remove(gp);
    remove(dat);
    return fuzz_err_ok(rc, &err) ? 0 : 71;
}

/* ---- codes ------------------------------------------------------------------ */
#define FUZZ_CODES_N 9 /* 3x3 patches */
#define FUZZ_CODES_M 8 /* atoms */

static inline int fuzz_codes_check(const sc *c, bool train)
{
    if (c->nte < 0 || (c->nte > 0 && (!c->Xte || !c->Zte)))
        return 81;
    volatile float sum = 0; /* the last sample and code are really there */
    if (c->nte > 0)
        sum += c->Xte[c->nte * c->n - 1] + c->Zte[c->nte * c->m - 1];
    if (train) {
        if (c->ntr < 0 || (c->ntr > 0 && (!c->Xtr || !c->Ztr)))
            return 82;
        if (c->ntr > 0)
            sum += c->Xtr[c->ntr * c->n - 1] + c->Ztr[c->ntr * c->m - 1];
    }
    return 0;
}

static inline int fuzz_codes_one(const uint8_t *data, size_t size, const char *tmp)
{
    /* the reader takes a run directory: tmp is one, holding codes.h5 */
    char path[4200];
    snprintf(path, sizeof path, "%s/codes.h5", tmp);
    mkdir(tmp, 0777);
    if (fuzz_write_file(path, data, size))
        return 0;
    dlx_h5_quiet();
    dlx_model m;
    memset(&m, 0, sizeof m);
    dlx_params_init(&m.params);
    dlx_err err;
    dlx_err_clear(&err);
    int wd = dlx_params_declare(&m.params, "Wd", dlx_shape_2d(FUZZ_CODES_N, FUZZ_CODES_M),
                                (dlx_init){.kind = DLX_INIT_ZERO}, false, &err);
    if (wd < 0 || dlx_params_finalize(&m.params, &err)) {
        dlx_params_free(&m.params);
        return 0;
    }
    sc c;
    memset(&c, 0, sizeof c);
    c.n = FUZZ_CODES_N;
    c.m = FUZZ_CODES_M;
    c.wd = wd;
    int bad = 0;
    for (int train = 1; train >= 0 && !bad; train--) {
        dlx_err_clear(&err);
        int rc = dlx_sc_read_codes(&m, &c, tmp, train, &err);
        if (!fuzz_err_ok(rc, &err))
            bad = 80;
        else if (rc == 0)
            bad = fuzz_codes_check(&c, train);
    }
    free(c.Xtr);
    free(c.Ztr);
    free(c.Xte);
    free(c.Zte);
    dlx_params_free(&m.params);
    remove(path);
    rmdir(tmp);
    return bad;
}

/* ---- dispatch --------------------------------------------------------------- */
static const char *const fuzz_target_names[] = {"spec", "idx",    "h5",     "metrics", "inspect",
                                                "sweep", "figure", "codes", NULL};

/* -1: no such target. */
static inline int fuzz_one(const char *target, const uint8_t *data, size_t size, const char *tmp)
{
    if (!strcmp(target, "spec"))
        return fuzz_spec_one(data, size);
    if (!strcmp(target, "idx"))
        return fuzz_idx_one(data, size, tmp);
    if (!strcmp(target, "h5"))
        return fuzz_h5_one(data, size, tmp);
    if (!strcmp(target, "metrics"))
        return fuzz_metrics_one(data, size, tmp);
    if (!strcmp(target, "inspect"))
        return fuzz_inspect_one(data, size, tmp);
    if (!strcmp(target, "sweep"))
        return fuzz_sweep_one(data, size, tmp);
    if (!strcmp(target, "figure"))
        return fuzz_figure_one(data, size, tmp);
    if (!strcmp(target, "codes"))
        return fuzz_codes_one(data, size, tmp);
    return -1;
}

#endif
