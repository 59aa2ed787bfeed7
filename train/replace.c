/* Refusing to overwrite a run directory that holds a run; --force. */
#include "replace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/h5io.h"
#include "../core/rundir.h"
#include "../core/spec.h"

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* The train.epochs of a checkpoint's /spec text; 0 when it has none. */
static int spec_epochs(const char *text, const char *path, int64_t *epochs, dlx_err *err)
{
    dlx_spec *s;
    *epochs = 0;
    int rc = dlx_spec_load_string(text, path, &s, err);
    if (rc)
        return err ? (err->code = DLX_EFORMAT) : DLX_EFORMAT; /* a bad file: exit 1 */
    dlx_spec_node *e = dlx_spec_path(s, "train.epochs");
    char *end;
    long long v = e && e->kind == DLX_SPEC_SCALAR ? strtoll(e->scalar, &end, 10) : 0;
    if (e && e->kind == DLX_SPEC_SCALAR && !*end && v > 0)
        *epochs = v;
    dlx_spec_destroy(s);
    return 0;
}

int dlx_run_checkpoint_epochs(const char *dir, int64_t *epochs, int64_t *step, dlx_err *err)
{
    char path[DLX_RUNDIR_MAX + 32];
    int rc = dlx_path_join(path, sizeof path, dir, "checkpoint.h5", err);
    if (rc)
        return rc;
    if (!exists(path))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s has no checkpoint.h5 to continue", dir);
    dlx_ckpt_meta meta;
    char family[64];
    rc = dlx_ckpt_read_meta(path, &meta, family, sizeof family, err);
    if (rc)
        return rc;
    rc = spec_epochs(meta.spec_text, path, epochs, err);
    free((char *)meta.spec_text);
    *step = meta.step;
    if (!rc && *epochs <= 0)
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path), "its /spec has no train.epochs");
    return rc;
}

int dlx_run_describe(const char *dir, bool *holds, char *what, size_t n, dlx_err *err)
{
    char ckpt[DLX_RUNDIR_MAX + 32], metrics[DLX_RUNDIR_MAX + 32];
    int rc = dlx_path_join(ckpt, sizeof ckpt, dir, "checkpoint.h5", err);
    if (!rc) rc = dlx_path_join(metrics, sizeof metrics, dir, "metrics.h5", err);
    if (rc)
        return rc;
    bool has_ckpt = exists(ckpt), has_metrics = exists(metrics);
    *holds = has_ckpt || has_metrics;
    what[0] = '\0';
    if (!has_ckpt) {
        snprintf(what, n, "metrics.h5, no checkpoint");
        return 0;
    }
    dlx_ckpt_meta meta;
    char family[64];
    dlx_err e2;
    if (dlx_ckpt_read_meta(ckpt, &meta, family, sizeof family, &e2)) {
        snprintf(what, n, "a checkpoint.h5 that does not load%s", has_metrics ? ", and metrics.h5" : "");
        return 0;
    }
    int64_t epochs = 0;
    spec_epochs(meta.spec_text, ckpt, &epochs, &e2);
    free((char *)meta.spec_text);
    char of[32] = "";
    if (epochs > 0)
        snprintf(of, sizeof of, " of %lld", (long long)epochs);
    snprintf(what, n, "checkpoint.h5 at step %lld, epoch %lld%s%s", (long long)meta.step, (long long)meta.epoch, of,
             has_metrics ? ", and metrics.h5" : "");
    return 0;
}

int dlx_run_refuse_replace(const char *dir, const char *ways, dlx_err *err)
{
    bool holds;
    char what[256];
    int rc = dlx_run_describe(dir, &holds, what, sizeof what, err);
    if (rc || !holds)
        return rc;
    return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s already holds a run (%s); %s", dir, what, ways);
}

int dlx_run_discard(const char *dir, dlx_err *err)
{
    static const char *const files[] = {"checkpoint.h5", "metrics.h5", "best.h5"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[DLX_RUNDIR_MAX + 32];
        int rc = dlx_path_join(path, sizeof path, dir, files[i], err);
        if (rc)
            return rc;
        if (unlink(path) != 0 && errno != ENOENT)
            return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot remove it to replace the run (--force): %s",
                                strerror(errno));
    }
    return 0;
}
