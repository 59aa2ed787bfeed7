/* A first read of an HDF5 file in a child process (see dlx_h5r_probe in
 * h5read.h): HDF5 1.10 itself crashes or loops on some corrupt metadata
 * (tests/fuzz/hdf5_bugs/), which dlx cannot fix, so the child touches every
 * object a reader could (links, object headers, attributes, dataset layouts
 * and data) and the parent refuses the file if the child dies. */
#include "h5read.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* the child reads at most this much data per dataset or attribute */
#define PROBE_READ_MAX ((int64_t)256 << 20)

static void *probe_buf(hid_t space, hid_t type, size_t *bytes)
{
    hssize_t n = H5Sget_simple_extent_npoints(space);
    size_t size = H5Tget_size(type);
    int64_t total;
    *bytes = 0;
    if (n <= 0 || size == 0 || size > 4096 || !dlx_h5r_mul((int64_t)n, (int64_t)size, &total) ||
        total > PROBE_READ_MAX)
        return NULL;
    *bytes = (size_t)total;
    return malloc((size_t)total);
}

static herr_t probe_attr(hid_t obj, const char *name, const H5A_info_t *info, void *user)
{
    (void)info;
    (void)user;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return 0;
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    size_t bytes;
    void *buf = type >= 0 && space >= 0 && H5Tget_class(type) != H5T_VLEN && !H5Tis_variable_str(type)
                    ? probe_buf(space, type, &bytes)
                    : NULL;
    if (buf)
        H5Aread(a, type, buf);
    free(buf);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    H5Aclose(a);
    return 0;
}

static void probe_dataset(hid_t d)
{
    hid_t type = H5Dget_type(d), space = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
    if (dcpl >= 0) {
        H5Pget_layout(dcpl);
        H5Pget_nfilters(dcpl);
        H5Pget_external_count(dcpl);
        H5Pclose(dcpl);
    }
    H5Dget_storage_size(d);
    size_t bytes;
    /* numbers only: the readers convert nothing else, and a vlen needs its heap */
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    void *buf = (cls == H5T_INTEGER || cls == H5T_FLOAT || (cls == H5T_STRING && !H5Tis_variable_str(type))) &&
                        space >= 0
                    ? probe_buf(space, type, &bytes)
                    : NULL;
    if (buf)
        H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    free(buf);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
}

static herr_t probe_link(hid_t g, const char *name, const H5L_info_t *info, void *user)
{
    (void)user;
    if (info->type != H5L_TYPE_HARD)
        return 0; /* the readers follow hard links only (dlx_h5r_exists) */
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0)
        return 0;
    H5O_info_t oi;
    if (H5Oget_info2(o, &oi, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS) >= 0) {
        H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, probe_attr, NULL);
        if (oi.type == H5O_TYPE_DATASET)
            probe_dataset(o);
    }
    H5Oclose(o);
    return 0;
}

/* Present only under a sanitizer (weak: NULL otherwise). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void probe_child(const char *path, unsigned seconds)
{
    /* a sanitizer's report in the child must not run the parent's death
     * callback (libFuzzer's would record the parent's input as a crash): the
     * parent turns the child's death into an error itself */
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(NULL);
    alarm(seconds); /* a corrupt file can also make HDF5 loop */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = dlx_h5r_fapl();
    hid_t f = fapl >= 0 ? H5Fopen(path, H5F_ACC_RDONLY, fapl) : -1;
    if (f >= 0) {
        H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, NULL, probe_attr, NULL);
        H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, probe_link, NULL);
        H5Fclose(f);
    }
    _exit(0); /* never HDF5's exit handlers, never the parent's atexit */
}

static bool g_probe = true;

void dlx_h5r_set_probe(bool on) { g_probe = on; }

int dlx_h5r_probe(const char *path, dlx_err *err)
{
    if (!g_probe)
        return 0;
    struct stat st;
    /* a second per 64 MiB on top of 10 s: the child may read the whole file */
    unsigned seconds = 10 + (stat(path, &st) == 0 ? (unsigned)(st.st_size >> 26) : 0);
    pid_t pid = fork();
    if (pid < 0)
        return 0; /* no process to spare: the readers' own checks still hold */
    if (pid == 0)
        probe_child(path, seconds);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status)) /* a sanitizer's report (tests' ASan build) */
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                            "HDF5 failed reading it (status %d): the file is corrupt", WEXITSTATUS(status));
    int sig = WTERMSIG(status);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGKILL || sig == SIGHUP)
        return dlx_err_setf(err, DLX_EINTR, DLX_FILELOC(path), "interrupted while reading (signal %d)", sig);
    if (sig == SIGALRM)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                            "HDF5 did not finish reading it in %u s: the file is corrupt", seconds);
    return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                        "HDF5 crashed (signal %d, %s) reading it: the file is corrupt", sig, strsignal(sig));
}
