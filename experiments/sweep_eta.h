/* How long the rest of a sweep will take, by cost rather than by count.
 *
 * Runs of one sweep can differ in cost a hundredfold (a 10-unit net against
 * a 500-unit one), so "runs left x mean seconds per run" is wrong whenever
 * the finished runs were the cheap ones. Runs that share every axis value
 * but the seed (a group) cost the same, so each run left is predicted by the
 * mean time of the finished runs of its group. The run order puts the first
 * run of every group first, so every group is timed early; until then the
 * runs of untimed groups are counted, not guessed.
 *
 * Usage: dlx_sweep_eta_init over the runs to do (it reorders them), then
 * dlx_sweep_eta_done as each finishes and dlx_sweep_eta_left for the
 * estimate; dlx_sweep_eta_free at the end.
 */
#ifndef DLX_SWEEP_ETA_H
#define DLX_SWEEP_ETA_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "sweep.h"

/* more groups than this: every run is one group (the mean over all runs) */
#define DLX_SWEEP_ETA_MAX_GROUPS (1 << 20)

typedef struct dlx_sweep_eta {
    const dlx_sweep *s;
    int64_t n_groups;
    double *sum_s;     /* per group: seconds of its finished runs */
    int64_t *n_done;   /* per group: its finished runs */
    int64_t *n_left;   /* per group: its runs not finished */
} dlx_sweep_eta;

/* The group of run r: its axis value indexes but the seed's, as one number. */
int64_t dlx_sweep_eta_group(const dlx_sweep_eta *e, int64_t run);
/* Count the runs todo[0..n) per group and reorder todo: the first run of
 * each group in group order, then the others in their order. */
int dlx_sweep_eta_init(dlx_sweep_eta *e, const dlx_sweep *s, int64_t *todo, int64_t n, dlx_err *err);
void dlx_sweep_eta_done(dlx_sweep_eta *e, int64_t run, double seconds);
/* Seconds left with `jobs` runs side by side, from the timed groups' runs;
 * *untimed gets the runs left in groups with no finished run. */
double dlx_sweep_eta_left(const dlx_sweep_eta *e, int jobs, int64_t *untimed);
void dlx_sweep_eta_free(dlx_sweep_eta *e);
/* "ETA 3m20s", "ETA 3m20s + 12 runs not yet timed", or "ETA -" (none timed). */
void dlx_sweep_eta_text(double eta_s, int64_t untimed, char *buf, size_t n);

#endif
