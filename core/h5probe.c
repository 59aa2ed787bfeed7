/* A first read of an HDF5 file in a child process (see dlx_h5r_probe in
 * h5read.h): HDF5 1.10 itself crashes or loops on some corrupt metadata
 * (tests/fuzz/hdf5_bugs/), which dlx cannot fix, so the child touches every
 * object a reader could (links, object headers, attributes, dataset layouts
 * and data) and the parent refuses the file if the child dies. */
#include "h5read.h"
#include "infile.h"
#include "tensor.h"

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

/* A buffer for every element of space in a memory type of `size` bytes, or
 * NULL when there is none or it would pass PROBE_READ_MAX. */
static void *probe_buf(hid_t space, size_t size)
{
    hssize_t n = H5Sget_simple_extent_npoints(space);
    int64_t total;
    if (n <= 0 || size == 0 || !dlx_mul_i64((int64_t)n, (int64_t)size, &total) || total > PROBE_READ_MAX)
        return NULL;
    return malloc((size_t)total);
}

/* Read an attribute or dataset the way the readers do: numbers converted to
 * double, fixed strings as raw bytes, variable strings through HDF5's heap. */
static void probe_read(hid_t obj, bool attr)
{
    hid_t type = attr ? H5Aget_type(obj) : H5Dget_type(obj);
    hid_t space = attr ? H5Aget_space(obj) : H5Dget_space(obj), mtype = -1;
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    bool vlen = cls == H5T_STRING && H5Tis_variable_str(type) > 0;
    if (cls == H5T_INTEGER || cls == H5T_FLOAT)
        mtype = H5Tcopy(H5T_NATIVE_DOUBLE);
    else if (vlen && (mtype = H5Tcopy(H5T_C_S1)) >= 0)
        H5Tset_size(mtype, H5T_VARIABLE);
    else if (cls == H5T_STRING)
        mtype = H5Tcopy(type);
    void *buf = mtype >= 0 && space >= 0 ? probe_buf(space, H5Tget_size(mtype)) : NULL;
    if (buf && (attr ? H5Aread(obj, mtype, buf) : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)) >= 0 &&
        vlen)
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buf);
    free(buf);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
}

static herr_t probe_attr(hid_t obj, const char *name, const H5A_info_t *info, void *user)
{
    (void)info;
    (void)user;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0) {
        probe_read(a, true);
        H5Aclose(a);
    }
    return 0;
}

static void probe_dataset(hid_t d)
{
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl >= 0) {
        H5Pget_layout(dcpl);
        H5Pget_nfilters(dcpl);
        H5Pget_external_count(dcpl);
        H5Pclose(dcpl);
    }
    H5Dget_storage_size(d);
    probe_read(d, false);
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
    /* none of the parent's handlers (train's stop flag and deadline): the
     * child dies of what it gets, and the parent says why */
    static const int sigs[] = {SIGALRM, SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};
    sigset_t all;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
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

static int run_child(const char *path, unsigned seconds, int *status, dlx_err *err)
{
    /* an inherited SIG_IGN for SIGCHLD would reap the child before waitpid */
    struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, &old);
    pid_t pid = fork();
    if (pid == 0)
        probe_child(path, seconds);
    int rc = 0;
    if (pid < 0)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot start a process to read it: %s", strerror(errno));
    else
        while (waitpid(pid, status, 0) < 0)
            if (errno != EINTR) {
                rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot wait for the process reading it: %s",
                                  strerror(errno));
                break;
            }
    sigaction(SIGCHLD, &old, NULL);
    return rc;
}

int dlx_h5r_probe(const char *path, dlx_err *err)
{
    struct stat st;
    int rc = dlx_infile_stat_regular(path, "HDF5 file", &st, err);
    if (rc || !g_probe)
        return rc;
    /* a second per 64 MiB on top of 10 s: the child may read the whole file */
    unsigned seconds = 10 + (unsigned)(st.st_size >> 26);
    int status;
    if ((rc = run_child(path, seconds, &status, err)))
        return rc;
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
