/* Files that come from outside (specs, data, HDF5 files): only regular files
 * are read. A FIFO without a writer would block open() forever and a device
 * such as /dev/zero never ends, so every reader checks the file type first
 * (after a non-blocking open, or a stat when a library opens by name) and
 * refuses anything else with one message: "PATH: cannot read WHAT: not a
 * regular file (a FIFO)", DLX_EINVAL (exit 2: the wrong kind of path given).
 */
#ifndef DLX_INFILE_H
#define DLX_INFILE_H

#include <sys/stat.h>

#include "err.h"

/* 0 when st describes a regular file, else DLX_EINVAL naming path, what it was
 * read as ("spec", "checkpoint") and what it is ("a FIFO", "a directory"). */
int dlx_infile_require_regular(const char *path, const char *what, const struct stat *st, dlx_err *err);

/* stat path and require a regular file: missing or unreadable is DLX_EIO
 * ("cannot open: No such file or directory"), anything else as above. st may
 * be NULL. */
int dlx_infile_stat_regular(const char *path, const char *what, struct stat *st, dlx_err *err);

#endif
