/* Running a sweep (dlx_sweep_execute, see sweep.h): the runs of a shard not
 * yet in the table, in fork()ed single-threaded worker processes fed from a
 * pipe-based work queue, or in this process with one job. The parent alone
 * writes the table, after every finished run.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/data.h"
#include "sweep.h"
#include "sweep_eta.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- workers ------------------------------------------------------------- */

typedef struct msg {
    int64_t run;
    int32_t code;
    double row[DLX_SWEEP_MAX_COLS];
    dlx_err err;
} msg;

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* A worker: read run numbers until EOF, answer each with a msg. */
static void worker_loop(const dlx_sweep *s, int in, int out, const char *dir)
{
    int64_t run;
    while (read_all(in, &run, sizeof run) == 0) {
        msg *m = calloc(1, sizeof(*m));
        if (!m)
            break;
        m->run = run;
        m->code = dlx_sweep_run_one(s, run, dir, m->row, &m->err);
        int w = write_all(out, m, sizeof *m);
        free(m);
        if (w)
            break;
    }
}

static int make_dir(const char *d, dlx_err *err)
{
    char buf[600];
    snprintf(buf, sizeof buf, "%s", d);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) && errno != EEXIST)
                return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(d), "cannot create directory %s: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0777) && errno != EEXIST)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(d), "cannot create directory: %s", strerror(errno));
    return 0;
}

typedef struct pool {
    int n;
    pid_t pid[256];
    int cmd[256], res[256];
    int64_t busy[256]; /* run in flight, -1 idle */
    double t_start[256]; /* when it was handed its run */
} pool;

static void pool_close(pool *p)
{
    for (int k = 0; k < p->n; k++) {
        if (p->cmd[k] >= 0)
            close(p->cmd[k]);
        if (p->res[k] >= 0)
            close(p->res[k]);
        if (p->pid[k] > 0)
            waitpid(p->pid[k], NULL, 0);
    }
}

static int pool_start(pool *p, const dlx_sweep *s, const char *scratch, dlx_err *err)
{
    for (int k = 0; k < p->n; k++)
        p->cmd[k] = p->res[k] = -1;
    for (int k = 0; k < p->n; k++) {
        int a[2], b[2];
        if (pipe(a))
            return dlx_err_setf(err, DLX_EIO, DLX_NOLOC, "cannot create a pipe: %s", strerror(errno));
        if (pipe(b)) {
            close(a[0]);
            close(a[1]);
            return dlx_err_setf(err, DLX_EIO, DLX_NOLOC, "cannot create a pipe: %s", strerror(errno));
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return dlx_err_setf(err, DLX_EIO, DLX_NOLOC, "cannot fork worker %d: %s", k, strerror(errno));
        if (pid == 0) {
            /* the child keeps its own ends only */
            for (int j = 0; j < k; j++) {
                close(p->cmd[j]);
                close(p->res[j]);
            }
            close(a[1]);
            close(b[0]);
            signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
            char dir[700];
            snprintf(dir, sizeof dir, "%.600s/w%d", scratch, k);
            worker_loop(s, a[0], b[1], dir);
            _exit(0); /* worker process: no atexit handlers of the parent */
        }
        close(a[0]);
        close(b[1]);
        p->pid[k] = pid;
        p->cmd[k] = a[1];
        p->res[k] = b[0];
        p->busy[k] = -1;
    }
    return 0;
}

/* The table at out: read (it must hold this sweep's results) or created empty. */
static int open_table(const dlx_sweep *s, const char *out, dlx_sweep_table *t, dlx_err *err)
{
    int rc;
    if (access(out, F_OK) == 0) {
        if ((rc = dlx_sweep_table_read(out, t, err)))
            return rc;
        if (strcmp(t->spec_text, s->spec_text) != 0 || t->n_cols != s->n_cols) {
            dlx_sweep_table_free(t);
            return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(out),
                                "holds results of a different sweep (spec or base changed); delete it or choose "
                                "another --out");
        }
        return 0;
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s", out);
    char *sl = strrchr(dir, '/');
    if (sl && sl != dir) {
        *sl = '\0';
        if ((rc = make_dir(dir, err)))
            return rc;
    }
    if ((rc = dlx_sweep_table_init(t, s, err)))
        return rc;
    if ((rc = dlx_sweep_table_write(out, t, err)))
        dlx_sweep_table_free(t);
    return rc;
}

/* The run loop's queue: the runs to do in order, the workers (none with one job). */
typedef struct queue {
    const dlx_sweep *s;
    const dlx_sweep_opts *o;
    int64_t *todo, n_todo, next;
    int jobs, in_flight;
    pool p;
    char scratch[600];
    msg *m;       /* the last finished run */
    double run_s; /* its wall time */
    int worker;   /* the worker that ran it, -1 in this process */
    double t0;    /* when the runs began (the workers' start included) */
} queue;

static bool stopped(const queue *q)
{
    return q->o->stop && *q->o->stop;
}

/* hands worker k the next run */
static int dispatch(queue *q, int k, dlx_err *err)
{
    if (write_all(q->p.cmd[k], &q->todo[q->next], sizeof q->todo[q->next]))
        return dlx_err_setf(err, DLX_EIO, DLX_NOLOC, "worker %d is gone", k);
    q->p.busy[k] = q->todo[q->next++];
    q->p.t_start[k] = now_s();
    q->in_flight++;
    return 0;
}

/* The next finished run into q->m (its own error in m->code and m->err):
 * 0; 1 when none is coming (a stop, or no run in flight); or an error of
 * the queue itself. */
static int next_result(queue *q, dlx_err *err)
{
    msg *m = q->m;
    if (q->jobs == 1) {
        if (stopped(q))
            return 1;
        char dir[700];
        snprintf(dir, sizeof dir, "%.600s/w0", q->scratch);
        m->run = q->todo[q->next++];
        double t_run = now_s();
        m->code = dlx_sweep_run_one(q->s, m->run, dir, m->row, &m->err);
        q->run_s = now_s() - t_run;
        q->worker = -1;
        return 0;
    }
    pool *p = &q->p;
    for (;;) {
        if (q->in_flight == 0)
            return 1;
        struct pollfd pf[256];
        for (int k = 0; k < p->n; k++)
            pf[k] = (struct pollfd){.fd = p->busy[k] >= 0 ? p->res[k] : -1, .events = POLLIN};
        int pr = poll(pf, (nfds_t)p->n, -1);
        if (pr < 0 && errno == EINTR)
            continue;
        int k = 0;
        while (k < p->n && !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
            k++;
        if (pr < 0 || k == p->n)
            return dlx_err_setf(err, DLX_EIO, DLX_NOLOC, "waiting for workers: %s", strerror(errno));
        if (read_all(p->res[k], m, sizeof *m))
            return dlx_err_setf(err, DLX_EIO, DLX_NOLOC, "worker %d died during run %lld", k, (long long)p->busy[k]);
        p->busy[k] = -1;
        q->run_s = now_s() - p->t_start[k];
        q->in_flight--;
        q->worker = k;
        return 0;
    }
}

/* q's runs, each finished one added to the table and the table written; *done counts them. */
static int run_queue(queue *q, dlx_sweep_table *t, const char *out, int64_t skipped, int64_t *done, dlx_err *err)
{
    dlx_sweep_eta eta; /* reorders todo: one run of every group first */
    int rc = dlx_sweep_eta_init(&eta, q->s, q->todo, q->n_todo, err);
    if (rc)
        return rc;
    for (int k = 0; !rc && k < q->p.n && q->next < q->n_todo; k++)
        rc = dispatch(q, k, err);
    while (!rc && *done < q->n_todo) {
        if ((rc = next_result(q, err)))
            break;
        const msg *m = q->m;
        if (m->code) {
            *err = m->err;
            dlx_err_prefix(err, "run %lld", (long long)m->run);
            rc = m->code;
            break;
        }
        rc = dlx_sweep_table_add(t, m->run, m->row, err);
        if (!rc) rc = dlx_sweep_table_write(out, t, err);
        if (!rc && q->worker >= 0 && q->next < q->n_todo && !stopped(q)) /* the worker's next run */
            rc = dispatch(q, q->worker, err);
        ++*done;
        dlx_sweep_eta_done(&eta, m->run, q->run_s);
        if (!rc && q->o->on_run) {
            dlx_sweep_event e = {.run = m->run, .row = m->row, .done = *done, .todo = q->n_todo,
                                 .skipped = skipped, .elapsed_s = now_s() - q->t0};
            e.eta_s = dlx_sweep_eta_left(&eta, q->jobs, &e.untimed);
            q->o->on_run(q->o->user, &e);
        }
    }
    dlx_sweep_eta_free(&eta);
    return rc == 1 ? 0 : rc;
}

int dlx_sweep_execute(const dlx_sweep *s, const char *out, const dlx_sweep_opts *o, int64_t *n_done, dlx_err *err)
{
    *n_done = 0;
    dlx_sweep_table t;
    int rc = open_table(s, out, &t, err);
    if (rc)
        return rc;
    const int shard_n = o->shard_n > 0 ? o->shard_n : 1;
    queue q = {.s = s, .o = o, .todo = malloc((size_t)(s->n_runs / shard_n + 2) * sizeof *q.todo),
               .m = calloc(1, sizeof *q.m)};
    int64_t skipped = 0;
    if (!q.todo || !q.m)
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int64_t r = o->shard_i; !rc && r < s->n_runs; r += shard_n) {
        if (dlx_sweep_table_has(&t, r))
            skipped++;
        else
            q.todo[q.n_todo++] = r;
    }
    snprintf(q.scratch, sizeof q.scratch, "%s", o->scratch ? o->scratch : "/tmp");
    if (!rc) rc = make_dir(q.scratch, err);
    q.t0 = now_s();
    q.jobs = o->jobs < 1 ? 1 : o->jobs > 256 ? 256 : o->jobs;
    if (q.jobs > q.n_todo)
        q.jobs = q.n_todo > 0 ? (int)q.n_todo : 1;
    /* every run of a sweep reads the same data: each worker (forked after
     * this, so it inherits the setting) loads and resizes it once */
    dlx_dataset_cache_enable(true);
    if (!rc && q.jobs > 1) {
        q.p.n = q.jobs;
        rc = pool_start(&q.p, s, q.scratch, err);
    }
    if (!rc) rc = run_queue(&q, &t, out, skipped, n_done, err);
    if (!rc && *n_done < q.n_todo && stopped(&q))
        rc = dlx_err_setf(err, DLX_EINTR, DLX_FILELOC(out),
                          "interrupted after %lld of %lld runs; finished runs are saved; run the same command "
                          "again to resume",
                          (long long)*n_done, (long long)q.n_todo);
    pool_close(&q.p);
    dlx_dataset_cache_enable(false);
    free(q.m);
    free(q.todo);
    dlx_sweep_table_free(&t);
    return rc;
}
