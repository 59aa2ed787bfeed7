/* Private to core/h5io*.c and core/h5write.c: helpers shared by checkpoints
 * (h5io.c), the generic walk (h5io_walk.c), metrics (h5io_metrics.c) and the
 * atomic writer (h5write.c). Not a public API. */
#ifndef DLX_H5IO_INTERNAL_H
#define DLX_H5IO_INTERNAL_H

#include <hdf5.h>
#include <stdbool.h>

#include "h5io.h"
#include "h5read.h"
#include "h5write.h"

/* Every message is located at the file it is about. */
#define h5io_fail(err, code, path, ...) dlx_err_setf((err), (code), DLX_FILELOC(path), __VA_ARGS__)
/* Set w up for "<path>.tmp" (w->f = -1), checking the length: for metrics,
 * which opens a copy there itself and then commits it with dlx_h5w_commit. */
int h5io_tmp_name(dlx_h5w *w, const char *path, dlx_err *err);
/* Open for reading (as dlx_h5r_open) or, with rdwr, for writing a copy. */
int h5io_open_file(const char *path, bool rdwr, hid_t *out, dlx_err *err);

/* Disk space (h5io_space.c): reserve `bytes` for `file` (a full disk or the
 * `ulimit -f` limit fails here, naming path, before HDF5 writes), give back
 * what HDF5 left unused, the size of a checkpoint, and a flag for an
 * H5Fclose that failed (its id is then unsafe for HDF5's exit handler). */
int h5io_reserve(const char *file, const char *path, uint64_t bytes, dlx_err *err);
void h5io_release_surplus(const char *file);
uint64_t h5io_ckpt_bytes(const dlx_h5_array *arrays, int n, size_t spec_len);
void h5io_note_close_failed(void);

#endif
