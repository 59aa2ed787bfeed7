/* The model record's shared helpers: results, progress lines, the run
 * directory and its lock. */
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/rundir.h"

void dlx_results_set(dlx_results *r, const char *name, double value)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0) {
            r->value[i] = value;
            return;
        }
    if (r->n == DLX_RESULTS_MAX)
        return;
    snprintf(r->name[r->n], sizeof r->name[r->n], "%s", name);
    r->value[r->n++] = value;
}

bool dlx_results_get(const dlx_results *r, const char *name, double *value)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0) {
            *value = r->value[i];
            return true;
        }
    return false;
}

void dlx_run_info(const dlx_model *m, const char *fmt, ...)
{
    if (!m->hooks.progress)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dlx_progress p = {.phase = "info", .message = line};
    m->hooks.progress(m->hooks.user, &p);
}

void dlx_run_network_table(const dlx_model *m, const char *name, const dlx_layers_out *net)
{
    char s[64];
    int64_t total = 0;
    dlx_run_info(m, "network %s:", name);
    for (int i = 0; i < net->n; i++) {
        const dlx_layer_info *l = &net->info[i];
        dlx_run_info(m, "  %-12s %-16s %-18s %10lld", l->name, l->type, dlx_shape_str(&l->out, s, sizeof s),
                     (long long)l->n_params);
        total += l->n_params;
    }
    dlx_run_info(m, "  %lld parameters", (long long)total);
}

int dlx_run_prepare_dir(const dlx_model *m, dlx_err *err) { return dlx_mkdirs(m->run_dir, err); }

int dlx_run_write_spec(const dlx_model *m, dlx_err *err)
{
    char path[DLX_RUNDIR_MAX + 32], tmp[DLX_RUNDIR_MAX + 40];
    int rc = dlx_path_join(path, sizeof path, m->run_dir, "spec.yaml", err);
    if (rc)
        return rc;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *text = dlx_spec_dump(m->spec);
    if (!text)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    FILE *f = fopen(tmp, "w");
    bool ok = f && fputs(text, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (f && fclose(f) != 0 && ok)
        ok = false, e = errno;
    if (ok && rename(tmp, path) != 0)
        ok = false, e = errno;
    free(text);
    if (!ok) {
        unlink(tmp);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write the resolved spec: %s", strerror(e));
    }
    return 0;
}

int dlx_run_lock(dlx_model *m, dlx_err *err)
{
    if (m->lock_fd >= 0)
        return 0;
    int rc = dlx_rundir_check(m->run_dir, "run directory", DLX_RUNDIR_MAX, err);
    if (!rc) rc = dlx_rundir_lock(m->run_dir, &m->lock_fd, err);
    return rc;
}
