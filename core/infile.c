/* Only regular files are read: see infile.h. */
#include "infile.h"

#include <errno.h>
#include <string.h>

int dlx_infile_require_regular(const char *path, const char *what, const struct stat *st, dlx_err *err)
{
    if (S_ISREG(st->st_mode))
        return 0;
    const char *kind = S_ISDIR(st->st_mode)                              ? "a directory"
                       : S_ISFIFO(st->st_mode)                           ? "a FIFO"
                       : S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)    ? "a device"
                                                                         : "a socket or other special file";
    return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(path), "cannot read %s: not a regular file (%s)", what, kind);
}

int dlx_infile_stat_regular(const char *path, const char *what, struct stat *st, dlx_err *err)
{
    struct stat own;
    if (!st)
        st = &own;
    /* stat, not open: opening a FIFO without a writer would block forever */
    if (stat(path, st) != 0)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot open: %s", strerror(errno));
    return dlx_infile_require_regular(path, what, st, err);
}
