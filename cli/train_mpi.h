/* `mpirun -np N dlx train`: the MPI transport of train/dist.h. Built only
 * when meson finds MPI (DLX_HAVE_MPI, cli/train_mpi.c); without it the
 * stubs say so, and cmd_train.c carries no #ifdef. */
#ifndef DLX_TRAIN_MPI_H
#define DLX_TRAIN_MPI_H

#include <stdbool.h>

#include "../core/err.h"
#include "../train/dist.h"

#ifdef DLX_HAVE_MPI
static inline bool cli_train_mpi_built(void) { return true; }
/* MPI_Init (the main thread alone calls MPI) and d's rank, size and
 * functions; errors of MPI calls are returned, naming the rank they
 * concern, rather than aborting. */
int cli_train_mpi_init(int *argc, char ***argv, dlx_dist *d, dlx_err *err);
/* After the run: MPI_Finalize, or, when this rank failed alone (rc != 0),
 * end the job (MPI_Abort), since the other ranks would wait for it forever. */
void cli_train_mpi_end(dlx_dist *d, int rc);
#else
static inline bool cli_train_mpi_built(void) { return false; }
static inline int cli_train_mpi_init(int *argc, char ***argv, dlx_dist *d, dlx_err *err)
{
    (void)argc;
    (void)argv;
    (void)d;
    return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "this dlx was built without MPI");
}
static inline void cli_train_mpi_end(dlx_dist *d, int rc)
{
    (void)d;
    (void)rc;
}
#endif

#endif
