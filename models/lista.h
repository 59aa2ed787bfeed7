/* Private to the sparse_coding family (models/lista*.c). */
#ifndef DLX_LISTA_H
#define DLX_LISTA_H

#include "../core/err.h"

/* For `dlx reproduce`: from the results file of a sparse-coding table, write the
 * data and a gnuplot script that draws prediction error against iterations
 * (log-log, one panel per dictionary size) into png. */
int dlx_sparse_coding_figure(const char *results_h5, const char *png, const char *script_path, dlx_err *err);

/* Algorithm names, in the order of the figure's colours. */
extern const char *const dlx_sparse_coding_algos[];

#endif
