#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int dlx_rundir_check(const char *dir, const char *what, size_t max, dlx_err *err)
{
    size_t len = strlen(dir);
    if (len == 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s: the directory path is empty", what);
    if (len > max)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "%s: the path is %zu characters long; the limit is %zu (%.40s...)", what, len, max, dir);
    for (const char *p = dir; *p;) {
        size_t n = strcspn(p, "/");
        if (n > DLX_PATH_COMPONENT_MAX)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                                "%s: a part of the path is %zu characters long; the limit is %d (%.40s...)", what,
                                n, DLX_PATH_COMPONENT_MAX, p);
        p += n;
        p += *p == '/';
    }
    return 0;
}

int dlx_path_join(char *buf, size_t n, const char *dir, const char *name, dlx_err *err)
{
    int len = snprintf(buf, n, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= n)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(dir), "the path of %s in it is %d characters long; the limit is %zu",
                            name, len, n - 1);
    return 0;
}

int dlx_mkdirs(const char *dir, dlx_err *err)
{
    size_t len = strlen(dir);
    char *buf = malloc(len + 1);
    if (!buf)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    memcpy(buf, dir, len + 1);
    int rc = 0;
    for (char *p = buf + 1; *p && !rc; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST)
            rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dir), "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (!rc && mkdir(buf, 0777) && errno != EEXIST)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(dir), "cannot create directory: %s", strerror(errno));
    free(buf);
    return rc;
}

/* The holder's pid as written into the lock file, 0 when unknown. */
static long lock_holder(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    char *end;
    long pid = strtol(text, &end, 10);
    return end != text && pid > 0 ? pid : 0;
}

int dlx_lock_file(const char *lock_path, const char *what, int *fd, dlx_err *err)
{
    *fd = -1;
    int f = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (f < 0)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(lock_path), "cannot open the lock file: %s", strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = e == EWOULDBLOCK ? lock_holder(f) : 0;
        close(f);
        if (e != EWOULDBLOCK)
            return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(lock_path), "cannot lock: %s", strerror(e));
        char who[48] = "";
        if (pid)
            snprintf(who, sizeof who, " (pid %ld)", pid);
        return dlx_err_setf(err, DLX_EIO, DLX_NOLOC,
                            "%s is in use by another dlx%s; wait for it or choose another --out", what, who);
    }
    /* the pid is for the message above only: the flock is the lock */
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, text, (size_t)n, 0) != n) {
        int e = errno;
        close(f);
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(lock_path), "cannot write the lock file: %s", strerror(e));
    }
    *fd = f;
    return 0;
}

int dlx_rundir_lock(const char *dir, int *fd, dlx_err *err)
{
    *fd = -1;
    int rc = dlx_mkdirs(dir, err);
    if (rc)
        return rc;
    size_t n = strlen(dir) + sizeof "/.lock";
    char *path = malloc(n);
    if (!path)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    snprintf(path, n, "%s/.lock", dir);
    rc = dlx_lock_file(path, dir, fd, err);
    free(path);
    return rc;
}

int dlx_lock_beside(const char *file, int *fd, dlx_err *err)
{
    *fd = -1;
    size_t n = strlen(file) + sizeof ".lock";
    char *path = malloc(n);
    if (!path)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    memcpy(path, file, n - sizeof ".lock");
    path[n - sizeof ".lock"] = '\0';
    char *sl = strrchr(path, '/');
    int rc = 0;
    if (sl && sl != path) { /* the directory first */
        *sl = '\0';
        rc = dlx_mkdirs(path, err);
    }
    snprintf(path, n, "%s.lock", file);
    if (!rc) rc = dlx_lock_file(path, file, fd, err);
    free(path);
    return rc;
}

void dlx_lock_release(int *fd)
{
    if (*fd >= 0)
        close(*fd); /* closing the last descriptor drops the flock */
    *fd = -1;
}

int dlx_name_check(const dlx_spec_node *v, const char *kind, size_t max, const char *why, dlx_err *err)
{
    const char *s;
    int rc = dlx_spec_node_str(v, &s, err);
    if (rc)
        return rc;
    size_t len = strlen(s);
    const char *bad = NULL;
    if (len == 0)
        bad = "cannot be empty";
    else if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        bad = "cannot be '.' or '..'";
    else if (strchr(s, '/'))
        bad = "cannot contain '/'";
    if (bad)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: a %s %s (%s), got '%.60s'", v->path, kind, bad, why, s);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) /* not echoed: it would garble the message */
            return dlx_err_setf(err, DLX_EINVAL, v->loc,
                                "%s: a %s cannot contain control characters (%s); character %d is 0x%02x",
                                v->path, kind, why, (int)(p - s) + 1, (unsigned char)*p);
    if (len > max)
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: the %s is %zu characters long; the limit is %zu", v->path,
                            kind, len, max);
    return 0;
}
