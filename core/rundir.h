/* Run directories and the names that become paths.
 *
 * One writer per directory: dlx_rundir_lock() takes an exclusive, non-blocking
 * flock(2) on DIR/.lock (and writes the holder's pid into it) and keeps it
 * until dlx_lock_release(); the kernel drops it when the process dies, so a
 * kill -9 leaves no stale lock. A second writer gets DLX_EIO at once:
 *   runs/x is in use by another dlx (pid 1234); wait for it or choose another --out
 *
 * Paths never get cut: a run directory longer than DLX_RUNDIR_MAX (every file
 * path in it is formed in buffers sized for that) or with a component over
 * NAME_MAX is DLX_EINVAL, and dlx_path_join() fails instead of truncating.
 *
 * Names that become path components (a spec's `name:`, which picks
 * runs/<name>; layer names, which name /params/<name>.weight in HDF5) must be
 * non-empty, hold no '/' or control character, and not be "." or "..";
 * dlx_name_check() says so at the value's line:col.
 */
#ifndef DLX_RUNDIR_H
#define DLX_RUNDIR_H

#include <stddef.h>

#include "err.h"
#include "spec.h"

#define DLX_RUNDIR_MAX 511       /* characters in a run directory path */
#define DLX_PATH_COMPONENT_MAX 255 /* NAME_MAX: characters in one path component */

/* DLX_EINVAL unless `dir` is non-empty, at most `max` characters long and
 * has no component over DLX_PATH_COMPONENT_MAX; `what` starts the message
 * ("--out"). */
int dlx_rundir_check(const char *dir, const char *what, size_t max, dlx_err *err);

/* mkdir -p. */
int dlx_mkdirs(const char *dir, dlx_err *err);

/* buf = dir "/" name; DLX_EINVAL naming the limit when it does not fit. */
int dlx_path_join(char *buf, size_t n, const char *dir, const char *name, dlx_err *err);

/* Create `dir` (mkdir -p) and lock DIR/.lock; *fd gets the lock (-1 on failure). */
int dlx_rundir_lock(const char *dir, int *fd, dlx_err *err);
/* Lock the file `lock_path` itself (created if absent); `what` names the
 * thing in use in the message ("runs/x/sweep.h5"). */
int dlx_lock_file(const char *lock_path, const char *what, int *fd, dlx_err *err);
/* Lock FILE.lock beside `file` (a table several commands may fill), creating
 * the file's directory first; the message names `file`. */
int dlx_lock_beside(const char *file, int *fd, dlx_err *err);
/* Close the lock (fd may be -1); *fd becomes -1. */
void dlx_lock_release(int *fd);

/* A name that becomes one path component: `v` must be a non-empty string of
 * at most `max` characters, without '/' or control characters, not "." or
 * "..". `kind` names it ("layer name"), `why` says where it goes ("it names
 * /params/<name>.* in checkpoint.h5"). DLX_EINVAL at v's line:col. */
int dlx_name_check(const dlx_spec_node *v, const char *kind, size_t max, const char *why, dlx_err *err);

#endif
