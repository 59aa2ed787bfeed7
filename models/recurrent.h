/* The recurrent family (models/recurrent.c: RNNs and LSTMs on the copy,
 * variable-delay copy and adding tasks of Henaff, Szlam & LeCun 2016) and its
 * `dlx reproduce` figure (models/recurrent_figure.c). */
#ifndef DLX_RECURRENT_H
#define DLX_RECURRENT_H

#include "../core/err.h"

/* Test loss against updates from the rows of a reproduce results.h5 and
 * their run directories beside it: one panel per row `panel`, one curve per
 * `label` (mean and range over the rows that share both), the baseline as a
 * dashed line. Writes the data to script_path.dat and the gnuplot script to
 * script_path, which draws png. */
int dlx_recurrent_figure(const char *results_h5, const char *png, const char *script_path, dlx_err *err);

#endif
