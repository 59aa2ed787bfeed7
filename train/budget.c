#include "budget.h"

#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/resource.h>

static const char *fmt_bytes(double b, char *buf, size_t n)
{
    if (b >= 1073741824.0)
        snprintf(buf, n, "%.1f GiB", b / 1073741824.0);
    else
        snprintf(buf, n, "%.1f MiB", b / 1048576.0);
    return buf;
}

void dlx_budget_params(dlx_budget *b, int64_t n_params, int grad_blocks, int optim_slots)
{
    double p = 4.0 * (double)n_params;
    b->grad_blocks = grad_blocks;
    b->optim_slots = optim_slots;
    b->params = p;
    b->grads = p * grad_blocks;
    b->optim = p * b->optim_slots;
}

double dlx_budget_total(const dlx_budget *b)
{
    return b->params + b->grads + b->optim + b->activations + b->data;
}

/* This process's mapped address space now (VmSize), 0 when unknown. */
static double vm_size_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%llu", &pages) != 1)
        pages = 0;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return (double)pages * (double)(page > 0 ? page : 4096);
}

static void breakdown(const dlx_budget *b, char *out, size_t n)
{
    char a[5][32];
    snprintf(out, n,
             "parameters %s, gradients %s (%d block%s), optimizer state %s (%d slot%s), activations %s "
             "(%d graph%s), data %s",
             fmt_bytes(b->params, a[0], 32), fmt_bytes(b->grads, a[1], 32), b->grad_blocks,
             b->grad_blocks == 1 ? "" : "s", fmt_bytes(b->optim, a[2], 32), b->optim_slots,
             b->optim_slots == 1 ? "" : "s", fmt_bytes(b->activations, a[3], 32), b->graphs,
             b->graphs == 1 ? "" : "s", fmt_bytes(b->data, a[4], 32));
}

int dlx_budget_check(const dlx_model *m, const dlx_budget *b, dlx_err *err)
{
    double total = dlx_budget_total(b);
    char parts[400], t[32], l[32];
    if (m->hooks.dry_run) {
        breakdown(b, parts, sizeof parts);
        dlx_run_info(m, "memory planned: %s (%s)", fmt_bytes(total, t, sizeof t), parts);
    }
    if (m->max_memory && total > (double)m->max_memory) {
        breakdown(b, parts, sizeof parts);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC,
                            "the run needs %s: %s; over the limit of %s (--max-memory; the default is 80 %% "
                            "of physical memory)",
                            fmt_bytes(total, t, sizeof t), parts, fmt_bytes((double)m->max_memory, l, sizeof l));
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    /* what is mapped now (libraries, the test split), the run's blocks, and
     * OpenBLAS's buffers, which it would wait for forever */
    int threads = b->blas_threads > 0 ? b->blas_threads : 1;
    double now = vm_size_now(), blas = DLX_BLAS_BUFFER_BYTES * threads;
    /* and per thread its 8 MiB stack and first allocations (glibc's 64 MiB
     * arena falls back to the main one when it does not fit), measured */
    double need = now + total + blas + 16777216.0 * (threads + 1);
    if (need <= (double)rl.rlim_cur)
        return 0;
    breakdown(b, parts, sizeof parts);
    char c[32], o[32], lim[32];
    return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC,
                        "the run needs %s of address space: %s mapped now, %s for the run (%s), %s for "
                        "OpenBLAS's buffers (%d thread%s of 128 MiB) and 16 MiB per thread; over the address-space limit of %s "
                        "(ulimit -v)",
                        fmt_bytes(need, t, sizeof t), fmt_bytes(now, c, sizeof c), fmt_bytes(total, o, sizeof o),
                        parts, fmt_bytes(blas, l, sizeof l), threads, threads == 1 ? "" : "s",
                        fmt_bytes((double)rl.rlim_cur, lim, sizeof lim));
}
