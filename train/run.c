/* The model record's shared helpers: results, progress lines, the run
 * directory and its lock. */
#include "run.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

int dlx_run_prepare_dir(const dlx_model *m, dlx_err *err) { return dlx_mkdirs(m->run_dir, err); }

int dlx_run_lock(dlx_model *m, dlx_err *err)
{
    if (m->lock_fd >= 0)
        return 0;
    int rc = dlx_rundir_check(m->run_dir, "run directory", DLX_RUNDIR_MAX, err);
    if (!rc) rc = dlx_rundir_lock(m->run_dir, &m->lock_fd, err);
    return rc;
}
