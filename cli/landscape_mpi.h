/* Optional MPI for `dlx landscape`: real calls when dlx is built with MPI
 * (meson finds dependency('mpi') and defines DLX_HAVE_MPI), stubs otherwise,
 * so cmd_landscape.c carries no #ifdef. */
#ifndef DLX_LANDSCAPE_MPI_H
#define DLX_LANDSCAPE_MPI_H

#include <stdbool.h>
#include <stdlib.h>

/* true when this process was started by mpirun/srun (whatever the build) */
static inline bool lmpi_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") ||
           getenv("MPI_LOCALNRANKS");
}

#ifdef DLX_HAVE_MPI
#include <mpi.h>
static inline bool lmpi_built(void) { return true; }
static inline void lmpi_init(int *argc, char ***argv, int *rank, int *size)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
}
/* every rank's status in, the worst (most negative) out */
static inline int lmpi_min(int v)
{
    int out = v;
    MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return out;
}
static inline void lmpi_bcast_int(int *v) { MPI_Bcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD); }
static inline void lmpi_finalize(void) { MPI_Finalize(); }
#else
static inline bool lmpi_built(void) { return false; }
static inline void lmpi_init(int *argc, char ***argv, int *rank, int *size)
{
    (void)argc;
    (void)argv;
    *rank = 0;
    *size = 1;
}
static inline int lmpi_min(int v) { return v; }
static inline void lmpi_bcast_int(int *v) { (void)v; }
static inline void lmpi_finalize(void) {}
#endif

#endif
