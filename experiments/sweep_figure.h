/* Sweep figures for `dlx landscape` (experiments/sweep_figure.c): a data
 * file and a gnuplot script per figure of a sweep spec; the CLI runs gnuplot.
 * And the histograms of a `dlx reproduce` table's sweep rows.
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

/* The figure of a `dlx reproduce` table (the sweep family's figure): the
 * histograms of column model.x of every row that ran a sweep (model kind
 * sweep; its table model.out, else <results dir>/<row>/sweep.h5), overlaid on
 * common bins, as % of each row's runs, labelled by the rows' labels; runs
 * without a finite value are counted in the legend. */
int dlx_sweep_repro_figure(const char *results_h5, const char *png, const char *script, dlx_err *err);

#endif
