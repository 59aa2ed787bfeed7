/* Plots of metric series with gnuplot: dlx writes the data and a script;
 * the CLI runs gnuplot (pngcairo) on it, or says how to when it is missing.
 * Library code only writes files.
 */
#ifndef DLX_PLOT_H
#define DLX_PLOT_H

#include "err.h"

/* From metrics.h5 (/metrics/<name> rows of step, value), write data_path and
 * a gnuplot script that draws png_path: one panel per kind of series (losses
 * on a log scale; accuracies and errors; learning rate; anything else).
 * `only` (NULL-terminated, or NULL for all) picks series by name; a name that
 * is not in the file is DLX_EINVAL listing the ones that are. */
int dlx_plot_metrics(const char *metrics_path, const char *const *only, const char *png_path,
                     const char *data_path, const char *script_path, dlx_err *err);

#endif
