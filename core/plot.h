/* Plots of metric series with gnuplot: dlx writes the data and a script;
 * the CLI runs gnuplot (pngcairo) on it, or says how to when it is missing.
 * Library code only writes files.
 */
#ifndef DLX_PLOT_H
#define DLX_PLOT_H

#include <stdio.h>

#include "err.h"

/* From one or more metrics.h5 files (/metrics/<name> rows of step, value),
 * write data_path and a gnuplot script that draws png_path: one panel per
 * kind of series (losses; errors; accuracies; learning rate; anything else),
 * each run's series overlaid, its y axis labelled with the metrics it
 * shows. With several files each run has its colour and the legend names
 * the runs (the directory each file is in); a one-point series is drawn as
 * a point; a log scale is used only where every value is positive.
 * `only` (NULL-terminated, or NULL for all) picks series by name; a name that
 * is in none of the files is DLX_EINVAL listing the ones that are. */
int dlx_plot_metrics(const char *const *metrics_paths, int n_files, const char *const *only, const char *png_path,
                     const char *data_path, const char *script_path, dlx_err *err);

/* The name a run's metrics file stands for in a legend: the name of the
 * directory the file is in ("runs/lenet5/metrics.h5" -> "lenet5"). */
void dlx_plot_run_name(const char *metrics_path, char *out, size_t n);

/* s as a gnuplot single-quoted string: ' doubled, control bytes as '?', so
 * nothing read from a file or a path can end the string. */
void dlx_gp_quoted(FILE *f, const char *s);

#endif
