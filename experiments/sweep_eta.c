/* Sweep ETA by the cost of each group of runs (see sweep_eta.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_eta.h"

static bool is_seed_axis(const dlx_sweep_axis *a)
{
    return strcmp(a->key, "seed") == 0;
}

int64_t dlx_sweep_eta_group(const dlx_sweep_eta *e, int64_t run)
{
    if (e->n_groups == 1)
        return 0;
    int idx[DLX_SWEEP_MAX_AXES];
    dlx_sweep_point(e->s, run, idx);
    int64_t g = 0;
    for (int a = 0; a < e->s->n_axes; a++)
        if (!is_seed_axis(&e->s->axes[a]))
            g = g * e->s->axes[a].n + idx[a];
    return g;
}

int dlx_sweep_eta_init(dlx_sweep_eta *e, const dlx_sweep *s, int64_t *todo, int64_t n, dlx_err *err)
{
    memset(e, 0, sizeof *e);
    e->s = s;
    e->n_groups = 1;
    for (int a = 0; a < s->n_axes; a++)
        if (!is_seed_axis(&s->axes[a]) && e->n_groups <= DLX_SWEEP_ETA_MAX_GROUPS)
            e->n_groups *= s->axes[a].n;
    if (e->n_groups > DLX_SWEEP_ETA_MAX_GROUPS)
        e->n_groups = 1;
    e->sum_s = calloc((size_t)e->n_groups, sizeof *e->sum_s);
    e->n_done = calloc((size_t)e->n_groups, sizeof *e->n_done);
    e->n_left = calloc((size_t)e->n_groups, sizeof *e->n_left);
    int64_t *firsts = malloc((size_t)(n > 0 ? n : 1) * sizeof *firsts);
    if (!e->sum_s || !e->n_done || !e->n_left || !firsts) {
        free(firsts);
        dlx_sweep_eta_free(e);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    /* firsts: the first run of each group, in group order of appearance;
     * the rest keep their order behind them */
    int64_t n_first = 0, n_rest = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t g = dlx_sweep_eta_group(e, todo[i]);
        if (e->n_left[g]++ == 0)
            firsts[n_first++] = todo[i];
        else
            todo[n_rest++] = todo[i];
    }
    memmove(todo + n_first, todo, (size_t)n_rest * sizeof *todo);
    memcpy(todo, firsts, (size_t)n_first * sizeof *todo);
    free(firsts);
    return 0;
}

void dlx_sweep_eta_done(dlx_sweep_eta *e, int64_t run, double seconds)
{
    int64_t g = dlx_sweep_eta_group(e, run);
    e->sum_s[g] += seconds;
    e->n_done[g]++;
    e->n_left[g]--;
}

double dlx_sweep_eta_left(const dlx_sweep_eta *e, int jobs, int64_t *untimed)
{
    double left = 0.0;
    *untimed = 0;
    for (int64_t g = 0; g < e->n_groups; g++) {
        if (e->n_left[g] <= 0)
            continue;
        if (e->n_done[g] == 0)
            *untimed += e->n_left[g];
        else
            left += (double)e->n_left[g] * e->sum_s[g] / (double)e->n_done[g];
    }
    return left / (jobs > 1 ? jobs : 1);
}

void dlx_sweep_eta_free(dlx_sweep_eta *e)
{
    free(e->sum_s);
    free(e->n_done);
    free(e->n_left);
    e->sum_s = NULL;
    e->n_done = e->n_left = NULL;
}

void dlx_sweep_eta_text(double eta_s, int64_t untimed, char *buf, size_t n)
{
    long t = (long)(eta_s + 0.5);
    char when[32];
    if (t >= 3600)
        snprintf(when, sizeof when, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(when, sizeof when, "%ldm%02lds", t / 60, t % 60);
    if (untimed == 0)
        snprintf(buf, n, "ETA %s", when);
    else if (eta_s > 0)
        snprintf(buf, n, "ETA %s + %lld runs not yet timed", when, (long long)untimed);
    else
        snprintf(buf, n, "ETA -, %lld runs not yet timed", (long long)untimed);
}
