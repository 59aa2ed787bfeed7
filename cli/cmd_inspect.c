/* dlx inspect FILE.h5 [--spec] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/h5io.h"
#include "cli.h"

static int ignore_entry(const dlx_h5_entry *e, void *user)
{
    (void)e;
    (void)user;
    return 0;
}

typedef struct inspect_ctx {
    const char *file;
    dlx_err err;
} inspect_ctx;

/* A metric series: its length and last (step, value) row, not column stats.
 * 1 when printed, 0 when e is not a series, negative on a read error. */
static int print_series(inspect_ctx *c, const dlx_h5_entry *e)
{
    if (!dlx_metrics_is_series(e))
        return 0;
    double *rows = NULL;
    int64_t n = 0;
    int rc = dlx_metrics_read(c->file, e->path + 9, &rows, &n, &c->err);
    if (rc)
        return rc;
    if (n > 0)
        printf("  %-40s %6" PRId64 " rows, last: step %.0f value %.6g\n", e->path, n, rows[2 * (n - 1)],
               rows[2 * (n - 1) + 1]);
    else
        printf("  %-40s empty\n", e->path);
    free(rows);
    return 1;
}

static int print_entry(const dlx_h5_entry *e, void *user)
{
    int rc = print_series(user, e);
    if (rc)
        return rc < 0 ? rc : 0;
    char dims[512] = "scalar";
    size_t used = 0;
    if (e->ndim > 0) {
        used += (size_t)snprintf(dims, sizeof dims, "[");
        for (int i = 0; i < e->ndim && used < sizeof dims; i++)
            used += (size_t)snprintf(dims + used, sizeof dims - used, "%s%" PRId64, i ? ", " : "", e->dims[i]);
        if (used < sizeof dims)
            snprintf(dims + used, sizeof dims - used, "]");
    }
    if (e->has_stats)
        printf("  %-40s %-8s %-18s min %-11.4g max %-11.4g mean %.4g\n", e->path, e->type, dims, e->min, e->max,
               e->mean);
    else
        printf("  %-40s %-8s %s\n", e->path, e->type, dims);
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    bool show_spec = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--spec") == 0)
            show_spec = true;
        else if (argv[i][0] == '-')
            return cli_usage_error("inspect", "unknown option '%s'", argv[i]);
        else if (!path)
            path = argv[i];
        else
            return cli_usage_error("inspect", "more than one file given");
    }
    if (!path)
        return cli_usage_error("inspect", "missing FILE.h5");
    dlx_err err;
    dlx_err_clear(&err);
    dlx_ckpt_meta meta;
    char family[64];
    if (dlx_ckpt_read_meta(path, &meta, family, sizeof family, &err) == 0) {
        printf("%s: dlx checkpoint\n  format version: %d\n  model kind: %s\n  step: %" PRId64 "\n  epoch: %" PRId64
               "\n  seed: %" PRIu64 "\n",
               path, meta.version, family, meta.step, meta.epoch, meta.rng[0]);
        for (int i = 0; i < meta.n_optims; i++)
            printf("  optimizer %s: %" PRId64 " updates\n", meta.optim_name[i][0] ? meta.optim_name[i] : "(the only one)",
                   meta.optim_t[i]);
        if (show_spec)
            printf("spec:\n%s\n", meta.spec_text);
        free((char *)meta.spec_text);
    } else if (err.code == DLX_EIO) {
        return cli_fail(&err);
    } else {
        /* not a checkpoint: any readable HDF5 file (metrics.h5) is still listed;
         * one that says it is a dlx checkpoint is listed with the reason */
        char *fmt = NULL;
        dlx_err ignored;
        if (dlx_h5_read_string(path, "format", &fmt, &ignored) == 0 && strcmp(fmt, "dlx-checkpoint") == 0)
            fprintf(stderr, "dlx: %s: note: not read as a dlx checkpoint: %s\n", path, err.msg);
        free(fmt);
        dlx_err_clear(&err);
        if (dlx_h5_walk(path, ignore_entry, NULL, &err))
            return cli_fail(&err);
        printf("%s:\n", path);
    }
    printf("datasets:\n");
    inspect_ctx c = {.file = path};
    dlx_err_clear(&c.err);
    int rc = dlx_h5_walk(path, print_entry, &c, &err);
    if (rc)
        return cli_fail(rc < 0 && c.err.code ? &c.err : &err);
    return 0;
}
