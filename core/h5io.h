/* Checkpoints and metrics in HDF5, plain to read from h5py, h5dump, MATLAB.
 *
 * checkpoint.h5 (format version 2):
 *   /spec              string: the full resolved spec (YAML text)
 *   /step, /epoch      int64 scalars
 *   /params/<name>     float32 dataset with the parameter's shape
 *   /buffers/<name>    float32: non-trainable state (batch-norm statistics)
 *   /optim/<optimizer>/t               int64: its update count (Adam bias correction)
 *   /optim/<optimizer>/<param>/<slot>  float32, the parameter's shape ("momentum", "m", "v")
 *   /rng               uint64 [3]: seed, data-order epoch, counter
 *   /state/<name>      float64 scalars: the training loop's running sums
 *   attributes on /: format = "dlx-checkpoint", version = 2, family
 * Version 1 (dlx before the named optimizers) had one optimizer,
 * /optim/<param>/<slot> and /optim/t, and /state as one float64 vector; it
 * still loads: its optimizer is the model's only one, its state is read in
 * order.
 * A checkpoint is written to "<path>.tmp", flushed, fsync'd and renamed over
 * <path>, so a crash never leaves a half-written checkpoint.
 *
 * metrics.h5:
 *   /metrics/<name>    float64 [n, 4] extendible: rows of (step, value, epoch,
 *                      wall_s); attributes columns, units, and one per column
 *                      saying what it is. Older files hold [n, 2]
 *                      (step, value); both are read.
 *   flushed by dlx_metrics_flush (by the trainer: every epoch end and at least
 *   every 10 s).
 * Appended rows stay in memory until a flush. dlx_metrics_open and
 * dlx_metrics_flush change a copy ("<path>.tmp": open, extend, write, close,
 * fsync) and rename it over the file, so the file itself is never open for
 * writing: h5py or h5dump can read it while training runs, and after a crash
 * or kill at any moment every row up to the last completed flush is there
 * (rows appended after it are lost). Neither the
 * metrics writer nor any reader here takes HDF5's file lock, so a reader
 * holding the file open never makes training fail.
 *
 * HDF5's own error printing is switched off; every failure becomes a dlx_err
 * whose file is the HDF5 file and whose message names the object, e.g.
 *   file "runs/x/checkpoint.h5", msg "/params/fc1.weight has shape [500, 784]
 *   but the model expects [1000, 784]".
 */
#ifndef DLX_H5IO_H
#define DLX_H5IO_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "params.h"

/* The longest /spec text a checkpoint may hold (a resolved spec is a few KiB). */
#define DLX_SPEC_TEXT_MAX ((size_t)16 << 20)

/* Call once before any other h5io call (turns off HDF5's stderr printing). */
void dlx_h5_quiet(void);
/* True once an H5Fclose failed (disk full): HDF5 1.10 then crashes in its
 * exit handler, so the CLI leaves with _exit. */
bool dlx_h5_close_failed(void);

/* One named float array to write or read (parameters and optimizer slots). */
typedef struct dlx_h5_array {
    char path[192];      /* "/params/conv1.weight" or "/optim/conv1.weight/m" */
    dlx_shape shape;
    float *data;
} dlx_h5_array;

#define DLX_CKPT_OPTIMS_MAX 4
#define DLX_CKPT_STATE_MAX 32
#define DLX_CKPT_NAME_MAX 48

typedef struct dlx_ckpt_meta {
    const char *spec_text; /* writing: borrowed; reading: malloc'd, caller frees */
    const char *family;
    int version;           /* read: 1 or 2; written: always 2 */
    int64_t step, epoch;
    uint64_t rng[3];
    /* The optimizers' update counts (/optim/<name>/t); version 1 reads as
     * one optimizer named "". */
    int n_optims;
    char optim_name[DLX_CKPT_OPTIMS_MAX][DLX_CKPT_NAME_MAX];
    int64_t optim_t[DLX_CKPT_OPTIMS_MAX];
    /* The loop's named state (/state/<name>, in ascending name order when
     * read); version 1's vector reads with empty names, in order. */
    int n_state;
    char state_name[DLX_CKPT_STATE_MAX][DLX_CKPT_NAME_MAX];
    double state[DLX_CKPT_STATE_MAX];
} dlx_ckpt_meta;

/* Write meta, every array, atomically (tmp + fsync + rename). */
int dlx_ckpt_write(const char *path, const dlx_ckpt_meta *meta, const dlx_h5_array *arrays, int n,
                   dlx_err *err);

/* Open and check it is a dlx checkpoint; read meta (spec_text malloc'd). A
 * missing file is DLX_EIO; not HDF5, truncated, or missing /spec is DLX_EFORMAT. */
int dlx_ckpt_read_meta(const char *path, dlx_ckpt_meta *meta, char *family, size_t family_n,
                       dlx_err *err);

/* Read arrays into the given buffers; each must exist with exactly that shape
 * (else DLX_EFORMAT naming the path and both shapes). Missing arrays are
 * errors unless `optional` is true (then they are left untouched). */
int dlx_ckpt_read_arrays(const char *path, dlx_h5_array *arrays, int n, bool optional,
                         dlx_err *err);

/* For `dlx inspect`: visit every dataset (hard links, depth first, names in
 * ascending order) with its path, shape, type and, for integer or float
 * datasets of at most 10M elements, min/max/mean (a NaN makes the mean NaN).
 * Works on any HDF5 file. cb returns nonzero to stop; walk then returns that
 * value. e->path is valid only during the callback. */
typedef struct dlx_h5_entry {
    const char *path;
    int ndim;
    int64_t dims[32];   /* every rank HDF5 allows (H5S_MAX_RANK) */
    const char *type;   /* "float32", "float64", "int64", "string", ... */
    bool has_stats;
    double min, max, mean;
} dlx_h5_entry;
int dlx_h5_walk(const char *path, int (*cb)(const dlx_h5_entry *e, void *user), void *user,
                dlx_err *err);
/* Whether a walked entry is a metrics series: /metrics/<name> of shape
 * [n, 4], or an older file's [n, 2]. */
bool dlx_metrics_is_series(const dlx_h5_entry *e);
/* Read a string dataset ("/spec"; fixed or variable length) or, when no such
 * dataset exists, a root attribute ("format", "family") as malloc'd text. */
int dlx_h5_read_string(const char *file, const char *obj, char **out, dlx_err *err);

/* Metrics: an open metrics file with appendable series. */
typedef struct dlx_metrics dlx_metrics;
/* Create (truncate) or, with resume, open and keep existing rows with step <=
 * resume_step, so a resumed run continues each series without duplicates (a
 * missing file is created). */
int dlx_metrics_open(const char *path, bool resume, int64_t resume_step, dlx_metrics **out,
                     dlx_err *err);
/* A row of series `name`: (step, value), stamped with the epoch last set by
 * dlx_metrics_set_epoch (NaN before) and the wall-clock seconds of training
 * (from dlx_metrics_open, continued from the largest kept row's on resume).
 * Append, set_epoch and flush do nothing with m NULL (a process that writes
 * no file: an MPI rank other than 0). */
int dlx_metrics_append(dlx_metrics *m, const char *name, int64_t step, double value,
                       dlx_err *err);
/* The epoch later rows carry: fractional, steps done / steps per epoch. */
void dlx_metrics_set_epoch(dlx_metrics *m, double epoch);
int dlx_metrics_flush(dlx_metrics *m, dlx_err *err);
/* Flushes what is still pending (best effort: call flush first to see errors)
 * and frees m. NULL is a no-op. */
void dlx_metrics_close(dlx_metrics *m);
/* Read a whole series (malloc'd rows of step,value - the first two columns,
 * for both layouts; *n rows; *rows is NULL when there are none). A series
 * that does not exist is DLX_EINVAL. */
int dlx_metrics_read(const char *path, const char *name, double **rows, int64_t *n, dlx_err *err);
/* The same, but a series the file does not hold gives 0 rows and 0 (an
 * object of that name that is not a series is still an error). */
int dlx_metrics_read_opt(const char *path, const char *name, double **rows, int64_t *n, dlx_err *err);

#endif
