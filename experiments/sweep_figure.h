/* Sweep figures for `dlx landscape` (experiments/sweep_figure.c): a data
 * file and a gnuplot script per figure of a sweep spec; the CLI runs gnuplot.
 */
#ifndef DLX_SWEEP_FIGURE_H
#define DLX_SWEEP_FIGURE_H

#include <stddef.h>

#include "../core/err.h"
#include "sweep.h"

/* Write figure f's data (<dir>/<stem>.dat) and gnuplot script (<dir>/<stem>.gp,
 * pngcairo, output <dir>/<out>); the caller runs gnuplot. `surface` needs a
 * base of family landscape with problem linear111. *script gets the .gp path. */
int dlx_sweep_figure_write(const dlx_sweep *s, const dlx_sweep_table *t, const dlx_sweep_figure *f,
                           const char *dir, char *script, size_t script_n, dlx_err *err);

#endif
