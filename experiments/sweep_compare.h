/* Several sweep tables side by side (`dlx landscape --compare`): per table
 * and per group of a column (hidden), the runs, the mean and spread of the
 * test loss, and Pearson(train loss, test loss) with its 95 % bootstrap
 * interval; and one figure of both against the group's value, a line per
 * table. Written for comparing training protocols of one sweep (the
 * official code's batch-1 SGD against ours), whatever made the tables:
 * one machine, shards, MPI ranks.
 */
#ifndef DLX_SWEEP_COMPARE_H
#define DLX_SWEEP_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

typedef struct dlx_sweep_cmp_row {
    char label[64];  /* the table's sweep name */
    double key;      /* the group's value of the by column */
    int64_t n;       /* runs with both losses finite */
    double mean, std; /* of test_loss */
    double rho, rho_lo, rho_hi; /* Pearson(test, train) and its 95 % bootstrap interval */
} dlx_sweep_cmp_row;

/* Reads every table (each needs columns by, train_loss and test_loss) and
 * fills rows, table by table, groups in increasing order. DLX_EINVAL naming
 * a table without a column, DLX_EIO for an unreadable one. */
int dlx_sweep_compare(const char *const *tables, int n_tables, const char *by, dlx_sweep_cmp_row *rows, int max_rows,
                      int *n_rows, dlx_err *err);

/* The figure's data (png with .dat) and gnuplot script (script): left,
 * Pearson(train, test) against the by column with the bootstrap intervals as
 * error bars; right, the test loss's std over the runs; one line per table,
 * x on a log scale. The caller runs gnuplot. */
int dlx_sweep_compare_figure(const dlx_sweep_cmp_row *rows, int n_rows, const char *by, const char *png,
                             const char *script, dlx_err *err);

#endif
