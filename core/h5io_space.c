/* Disk space for the HDF5 writers, reserved before HDF5 writes anything.
 *
 * HDF5 1.10 cannot take a failed write well: when the flush inside H5Fclose
 * fails (disk full, file-size limit), the file id is left pointing at freed
 * memory and the library crashes at exit when it closes its ids. So the
 * writers reserve the blocks the file will need first: a full disk or a
 * `ulimit -f` is then a plain errno from our own call, named in the message,
 * and HDF5's writes land in blocks that are already there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5io_internal.h"

static bool g_close_failed;

static const char *size_str(double b, char *buf, size_t n)
{
    if (b < 1048576.0)
        snprintf(buf, n, "%.0f KiB", b / 1024.0);
    else
        snprintf(buf, n, "%.1f MiB", b / 1048576.0);
    return buf;
}

void h5io_note_close_failed(void) { g_close_failed = true; }

bool dlx_h5_close_failed(void) { return g_close_failed; }

uint64_t h5io_ckpt_bytes(const dlx_h5_array *arrays, int n, size_t spec_len)
{
    /* data, plus about 1.6 KiB of headers per dataset measured: 4 KiB each,
     * twice the spec (its own dataset) and 64 KiB for the rest */
    uint64_t bytes = 65536 + 2 * (uint64_t)spec_len + 4096 * (uint64_t)(n + 8);
    for (int i = 0; i < n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < arrays[i].shape.ndim; d++)
            numel *= (uint64_t)arrays[i].shape.d[d];
        bytes += 4 * numel;
    }
    return bytes;
}

int h5io_reserve(const char *file, const char *path, uint64_t bytes, dlx_err *err)
{
    char a[32], b[32];
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && bytes > rl.rlim_cur)
        return h5io_fail(err, DLX_EIO, path, "cannot write %s: %s (it needs about %s; the file-size limit, "
                         "ulimit -f, is %s)", file, strerror(EFBIG), size_str((double)bytes, a, sizeof a),
                         size_str((double)rl.rlim_cur, b, sizeof b));
    int fd = open(file, O_WRONLY);
    if (fd < 0)
        return h5io_fail(err, DLX_EIO, path, "cannot open %s: %s", file, strerror(errno));
    /* KEEP_SIZE: HDF5 sees the file as it left it and may grow it into the
     * reserved blocks */
    int rc = 0;
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes) != 0 && errno != EOPNOTSUPP && errno != ENOSYS &&
        errno != EINVAL)
        rc = h5io_fail(err, DLX_EIO, path, "cannot write %s: %s (it needs about %s)", file, strerror(errno),
                       size_str((double)bytes, a, sizeof a));
    close(fd);
    return rc;
}

void h5io_release_surplus(const char *file)
{
    int fd = open(file, O_WRONLY);
    if (fd < 0)
        return;
    struct stat st;
    /* best effort: the blocks past the end that HDF5 did not use */
    if (fstat(fd, &st) == 0) {
        off_t from = (st.st_size + 4095) & ~(off_t)4095;
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, (off_t)1 << 40);
    }
    close(fd);
}
