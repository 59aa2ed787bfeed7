/* The MPI transport of train/dist.h (compiled only with MPI). */
#include "train_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

/* An MPI call's failure as a dlx error: what this rank did, with which rank
 * (-1: all of them). */
static int mpi_fail(int code, const dlx_dist *d, const char *what, int peer, dlx_err *err)
{
    char text[MPI_MAX_ERROR_STRING], with[32] = "every rank";
    int len = 0;
    MPI_Error_string(code, text, &len);
    if (peer >= 0)
        snprintf(with, sizeof with, "rank %d", peer);
    return dlx_err_setf(err, DLX_EIO, DLX_NOLOC, "MPI rank %d: %s (with %s) failed: %s; a rank may have died",
                        d->rank, what, with, text);
}

/* MPI counts are int: messages go in pieces of at most 2^30 floats */
#define PIECE ((int64_t)1 << 30)
static int piece(int64_t n, int64_t a) { return (int)(n - a < PIECE ? n - a : PIECE); }

static int mpi_send(const dlx_dist *d, int to, const float *x, int64_t n, dlx_err *err)
{
    for (int64_t a = 0; a < n; a += PIECE) {
        int rc = MPI_Send(x + a, piece(n, a), MPI_FLOAT, to, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, d, "sending the partial gradient", to, err);
    }
    return 0;
}

static int mpi_recv(const dlx_dist *d, int from, float *x, int64_t n, dlx_err *err)
{
    for (int64_t a = 0; a < n; a += PIECE) {
        int rc = MPI_Recv(x + a, piece(n, a), MPI_FLOAT, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, d, "receiving the partial gradient", from, err);
    }
    return 0;
}

static int mpi_bcast(const dlx_dist *d, int root, float *x, int64_t n, dlx_err *err)
{
    for (int64_t a = 0; a < n; a += PIECE) {
        int rc = MPI_Bcast(x + a, piece(n, a), MPI_FLOAT, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, d, "receiving the broadcast", root, err);
    }
    return 0;
}

static int mpi_allgather(const dlx_dist *d, double *x, int width, const int *row0, dlx_err *err)
{
    int counts[DLX_DIST_RANKS_MAX], displs[DLX_DIST_RANKS_MAX];
    for (int q = 0; q < d->size; q++) {
        counts[q] = (row0[q + 1] - row0[q]) * width;
        displs[q] = row0[q] * width;
    }
    int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x, counts, displs, MPI_DOUBLE, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(rc, d, "gathering the step's losses", -1, err);
}

int cli_train_mpi_init(int *argc, char ***argv, dlx_dist *d, dlx_err *err)
{
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    d->send = mpi_send;
    d->recv = mpi_recv;
    d->bcast = mpi_bcast;
    d->allgather = mpi_allgather;
    /* DLX_MPI_OVERLAP=1: the chain inside backward, with one shard a rank;
     * off by default, since it was measured slower here (docs/mpi.md) */
    const char *ov = getenv("DLX_MPI_OVERLAP");
    d->overlap = ov && !strcmp(ov, "1");
    if (d->size > DLX_DIST_RANKS_MAX)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%d MPI ranks: dlx train runs at most %d (one shard each)",
                            d->size, DLX_DIST_RANKS_MAX);
    return 0;
}

void cli_train_mpi_end(dlx_dist *d, int rc)
{
    (void)d; /* (the transport keeps nothing of its own) */
    if (rc)
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
}
