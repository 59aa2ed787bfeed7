/* Writing an HDF5 file atomically: the one way dlx writes every HDF5 file
 * (checkpoint.h5, metrics.h5, sweep tables, codes.h5, results.h5, predictions).
 *
 *   dlx_h5w w;
 *   if ((rc = dlx_h5w_create(&w, path, bytes, err))) return rc;
 *   ... write into w.f; on an error: dlx_h5w_abort(&w) ...
 *   return dlx_h5w_commit(&w, err);
 *
 * Contract:
 * - Everything is written to "<path>.tmp", which is renamed over <path> only
 *   once it is complete and fsync'd (then the directory is fsync'd), so a
 *   crash or kill at any moment leaves the previous <path> or the new one.
 * - create reserves `reserve_bytes` (an estimate the caller makes: the data it
 *   is about to write plus some KiB of headers) before HDF5 writes anything,
 *   so a full disk or a `ulimit -f` limit is a clean DLX_EIO naming <path>
 *   and the errno ("No space left on device", "File too large"), never a
 *   crash inside HDF5 (see h5io_space.c).
 * - No HDF5 file lock is taken (it fails on NFS and Lustre), and the file
 *   uses the 1.10 format: checksummed superblock and object headers.
 * - A failed H5Fclose is recorded for dlx_h5_close_failed() (the CLI then
 *   leaves with _exit).
 * - On any failure of create or commit, and on abort, the .tmp file is
 *   closed and removed and <path> is left as it was; only a failed fsync of
 *   the directory, after the rename, is reported with the new <path> in
 *   place. Every message names <path>.
 * - create writes the provenance attributes (core/provenance.h: dlx version
 *   and commit, date, host, command line) on the root group.
 * - path is borrowed: it must stay valid until commit or abort.
 */
#ifndef DLX_H5WRITE_H
#define DLX_H5WRITE_H

#include <hdf5.h>
#include <stdint.h>

#include "err.h"

typedef struct dlx_h5w {
    hid_t f;          /* the open .tmp file: write into it */
    const char *path; /* the file it becomes */
    char tmp[4096];
} dlx_h5w;

int dlx_h5w_create(dlx_h5w *w, const char *path, uint64_t reserve_bytes, dlx_err *err);
/* Flush, close, fsync, rename over path, fsync the directory. */
int dlx_h5w_commit(dlx_h5w *w, dlx_err *err);
/* Close and remove the .tmp file (after an error while writing). */
void dlx_h5w_abort(dlx_h5w *w);

/* Scalar attributes of an object in a file being written, the one way dlx
 * writes them: text as fixed-length UTF-8, NUL-padded (what h5py writes for
 * numpy bytes; h5dump shows it verbatim; NULL is ""), int64, float64. 0, or
 * -1 on an HDF5 failure (the caller names the file). */
int dlx_h5w_attr_text(hid_t obj, const char *name, const char *value);
int dlx_h5w_attr_i64(hid_t obj, const char *name, int64_t v);
int dlx_h5w_attr_f64(hid_t obj, const char *name, double v);

#endif
