/* A first read of an HDF5 file in a child process (see dlx_h5r_probe in
 * h5read.h): HDF5 1.10 itself crashes or loops on some corrupt metadata
 * (tests/fuzz/hdf5_bugs/), which dlx cannot fix, so the child touches every
 * object a reader could (links, object headers, attributes, dataset layouts
 * and data) and the parent refuses the file if the child dies. */
#include "h5read.h"
#include "infile.h"
#include "tensor.h"

#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* the child reads at most this much data per dataset or attribute */
#define PROBE_READ_MAX ((int64_t)256 << 20)

/* Set in the child when it ran out of its memory budget (limit_memory): by
 * its HDF5 error handler when a failing call's stack holds an allocation
 * failure (H5E_RESOURCE), or when a read's own buffer cannot be had. The
 * file must not then pass for readable: the parent would do that read. */
static bool g_child_oom;

/* A buffer for every element of space in a memory type of `size` bytes, or
 * NULL when there is none or it would pass PROBE_READ_MAX. */
static void *probe_buf(hid_t space, size_t size)
{
    hssize_t n = H5Sget_simple_extent_npoints(space);
    int64_t total;
    if (n <= 0 || size == 0 || !dlx_mul_i64((int64_t)n, (int64_t)size, &total) || total > PROBE_READ_MAX)
        return NULL;
    void *buf = malloc((size_t)total);
    if (!buf)
        g_child_oom = true;
    return buf;
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
    else if (vlen && (mtype = H5Tcopy(H5T_C_S1)) >= 0) {
        /* in the file's character set, as dlx_h5r_read_string asks: with
         * another one HDF5 refuses the conversion before it reads the heap */
        H5Tset_size(mtype, H5T_VARIABLE);
        H5Tset_cset(mtype, H5Tget_cset(type));
    }
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
        H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, probe_attr, NULL);
        if (oi.type == H5O_TYPE_DATASET)
            probe_dataset(o);
    }
    H5Oclose(o);
    return 0;
}

/* Present only under a sanitizer (weak: NULL otherwise). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* The start of every child that reads for the parent. */
/* What a child may allocate beyond what it inherited: the largest read it
 * makes (PROBE_READ_MAX) twice over, plus HDF5's own metadata and caches. */
#define CHILD_MEMORY_BUDGET ((int64_t)1 << 30)

/* HDF5 can also allocate without end on a corrupt file (a count it trusts,
 * taken in small pieces: gigabytes before the alarm rings): cap the child's
 * address space at what it has now plus the budget, so malloc fails and the
 * read ends in an error. */
static void limit_memory(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0;
    int got = f ? fscanf(f, "%ld", &pages) : 0;
    if (f)
        fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    if (got != 1 || pages <= 0 || page <= 0)
        return;
    struct rlimit rl;
    rlim_t want = (rlim_t)pages * (rlim_t)page + (rlim_t)CHILD_MEMORY_BUDGET;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > want)) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_AS, &rl);
    }
}

enum { CHILD_OUT_OF_MEMORY = 5 }; /* the child's exit status when HDF5 ran out of the budget */

static herr_t note_resource(unsigned n, const H5E_error2_t *e, void *user)
{
    (void)n;
    (void)user;
    if (e->maj_num == H5E_RESOURCE || e->min_num == H5E_CANTALLOC || e->min_num == H5E_NOSPACE)
        g_child_oom = true;
    return 0;
}

static herr_t on_child_error(hid_t stack, void *user)
{
    (void)user;
    if (errno == ENOMEM) /* a failed malloc, whatever HDF5 made of it */
        g_child_oom = true;
    H5Ewalk2(stack, H5E_WALK_DOWNWARD, note_resource, NULL);
    return 0;
}

/* The child's end: out of its memory budget, or done. */
static void child_exit(void) { _exit(g_child_oom ? CHILD_OUT_OF_MEMORY : 0); }

static void child_setup(unsigned seconds)
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
    limit_memory();
    H5Eset_auto2(H5E_DEFAULT, on_child_error, NULL);
}

static void probe_child(const char *path, unsigned seconds)
{
    child_setup(seconds);
    hid_t fapl = dlx_h5r_fapl();
    hid_t f = fapl >= 0 ? H5Fopen(path, H5F_ACC_RDONLY, fapl) : -1;
    if (f >= 0) {
        /* in native order, as the readers list (dlx_h5r_list) */
        H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, probe_attr, NULL);
        H5Lvisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, probe_link, NULL);
        H5Fclose(f);
    }
    child_exit(); /* never HDF5's exit handlers, never the parent's atexit */
}

static bool g_probe = true;

void dlx_h5r_set_probe(bool on) { g_probe = on; }

/* A read for the parent: run(user) in a child, whose output the parent
 * takes from fd (when fd is not NULL: the read end of a pipe, read to its
 * end by on_output before the wait). */
typedef struct child_job {
    void (*run)(void *user, int out_fd); /* in the child; never returns */
    void *user;
    int (*on_output)(void *user, int in_fd); /* in the parent; 0 or -1 */
} child_job;

typedef struct probe_args {
    const char *path;
    unsigned seconds;
} probe_args;

static void probe_job(void *user, int out_fd)
{
    (void)out_fd;
    const probe_args *a = user;
    probe_child(a->path, a->seconds);
}

static int run_job(const char *path, const child_job *job, int *status, dlx_err *err)
{
    int fds[2] = {-1, -1};
    if (job->on_output && pipe(fds) != 0)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot make a pipe: %s", strerror(errno));
    /* an inherited SIG_IGN for SIGCHLD would reap the child before waitpid */
    struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, &old);
    pid_t pid = fork();
    if (pid == 0) {
        if (fds[0] >= 0)
            close(fds[0]);
        job->run(job->user, fds[1]);
    }
    if (fds[1] >= 0)
        close(fds[1]);
    int rc = 0;
    if (pid < 0)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot start a process to read it: %s", strerror(errno));
    if (pid > 0 && job->on_output)
        job->on_output(job->user, fds[0]); /* (a short read is judged with the child's status) */
    if (fds[0] >= 0)
        close(fds[0]);
    if (pid > 0)
        while (waitpid(pid, status, 0) < 0)
            if (errno != EINTR) {
                rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot wait for the process reading it: %s",
                                  strerror(errno));
                break;
            }
    sigaction(SIGCHLD, &old, NULL);
    return rc;
}

/* What a reading child's exit says: 0, or an error naming what it read. */
static int child_verdict(const char *path, const char *what, int status, unsigned seconds, dlx_err *err)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_OUT_OF_MEMORY)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                            "HDF5 asked for more than %lld MiB reading %s: the file is corrupt",
                            (long long)(CHILD_MEMORY_BUDGET >> 20), what);
    if (WIFEXITED(status)) /* a sanitizer's report (tests' ASan build) */
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                            "HDF5 failed reading %s (status %d): the file is corrupt", what, WEXITSTATUS(status));
    int sig = WTERMSIG(status);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGKILL || sig == SIGHUP)
        return dlx_err_setf(err, DLX_EINTR, DLX_FILELOC(path), "interrupted while reading (signal %d)", sig);
    if (sig == SIGALRM)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                            "HDF5 did not finish reading %s in %u s: the file is corrupt", what, seconds);
    return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                        "HDF5 crashed (signal %d, %s) reading %s: the file is corrupt", sig, strsignal(sig), what);
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
    probe_args a = {path, seconds};
    child_job job = {.run = probe_job, .user = &a};
    if ((rc = run_job(path, &job, &status, err)))
        return rc;
    return child_verdict(path, "it", status, seconds, err);
}

/* ---- a variable-length string, read in a child ---------------------------- */

typedef struct vlen_job {
    hid_t obj, mtype;
    bool attr;
    size_t max_len;
    char *text; /* the parent's copy */
    bool too_long;
} vlen_job;

static int write_all(int fd, const void *buf, size_t n)
{
    for (const char *p = buf; n > 0;) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    for (char *p = buf; n > 0;) {
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p += got, n -= (size_t)got;
    }
    return 0;
}

enum { VLEN_SECONDS = 10, VLEN_READ_FAILED = 3 };

static void vlen_run(void *user, int fd)
{
    child_setup(VLEN_SECONDS);
    vlen_job *j = user;
    char *p = NULL;
    herr_t st = j->attr ? H5Aread(j->obj, j->mtype, &p) : H5Dread(j->obj, j->mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p);
    if (st < 0)
        _exit(VLEN_READ_FAILED);
    uint64_t len = p ? strnlen(p, j->max_len + 1) : 0;
    if (write_all(fd, &len, sizeof len) || (len <= j->max_len && len && write_all(fd, p, (size_t)len)))
        _exit(4);
    _exit(0);
}

static int vlen_output(void *user, int fd)
{
    vlen_job *j = user;
    uint64_t len;
    if (read_all(fd, &len, sizeof len))
        return -1;
    if (len > j->max_len) {
        j->too_long = true;
        return 0;
    }
    if (!(j->text = calloc(1, (size_t)len + 1)) || read_all(fd, j->text, (size_t)len)) {
        free(j->text);
        j->text = NULL;
        return -1;
    }
    return 0;
}

/* The same read without a child, for the fuzz harnesses only (probe off):
 * they look for crashes, and tests/fuzz/probe.c replays each one the way
 * dlx itself reads the file, with the child. */
static int vlen_in_process(const dlx_h5r *r, hid_t obj, bool attr, hid_t mtype, size_t max_len, const char *what,
                           char **out, dlx_err *err)
{
    char *p = NULL;
    herr_t st = attr ? H5Aread(obj, mtype, &p) : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p);
    if (st < 0 || !p) {
        if (p)
            H5free_memory(p);
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "cannot read %s (truncated or corrupt)", what);
    }
    size_t len = strnlen(p, max_len + 1);
    char *copy = len <= max_len ? malloc(len + 1) : NULL;
    if (copy) {
        memcpy(copy, p, len);
        copy[len] = '\0';
    }
    H5free_memory(p);
    if (len > max_len)
        return dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "%s is longer than %zu bytes", what, max_len);
    if (!copy)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(r->path), "out of memory reading %s", what);
    *out = copy;
    return 0;
}

int dlx_h5r_read_vlen_str(const dlx_h5r *r, hid_t obj, bool attr, hid_t mtype, size_t max_len, const char *what,
                          char **out, dlx_err *err)
{
    *out = NULL;
    if (!g_probe) /* the fuzz harnesses: in-process, at full speed */
        return vlen_in_process(r, obj, attr, mtype, max_len, what, out, err);
    vlen_job j = {.obj = obj, .mtype = mtype, .attr = attr, .max_len = max_len};
    child_job job = {.run = vlen_run, .user = &j, .on_output = vlen_output};
    int status;
    int rc = run_job(r->path, &job, &status, err);
    if (!rc && WIFEXITED(status) && WEXITSTATUS(status) == VLEN_READ_FAILED)
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "cannot read %s (truncated or corrupt)", what);
    else if (!rc)
        rc = child_verdict(r->path, what, status, VLEN_SECONDS, err);
    if (!rc && j.too_long)
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "%s is longer than %zu bytes", what, max_len);
    else if (!rc && !j.text)
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(r->path), "cannot read %s (truncated or corrupt)", what);
    if (rc)
        free(j.text);
    else
        *out = j.text;
    return rc;
}
