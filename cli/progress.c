/* Progress on stderr: one live line on a terminal, a plain line per epoch otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void cli_progress_init(cli_progress *p, bool quiet)
{
    p->tty = isatty(STDERR_FILENO);
    p->quiet = quiet;
    p->line_open = false;
    p->t_line = -1.0;
    const char *env = getenv("DLX_PROGRESS_INTERVAL");
    char *end = NULL;
    double v = env ? strtod(env, &end) : 0.0;
    p->interval = env && end != env && *end == '\0' && v > 0 ? v : CLI_PROGRESS_LOG_S;
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void close_line(cli_progress *p)
{
    if (p->line_open) {
        fputc('\n', stderr);
        p->line_open = false;
    }
}

static void fmt_eta(double s, char *buf, size_t n)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

void cli_progress_hook(void *user, const dlx_progress *p)
{
    cli_progress *c = user;
    if (c->quiet)
        return;
    if (p->phase[0] == 'i') { /* info */
        close_line(c);
        fprintf(stderr, "%s\n", p->message);
        return;
    }
    if (p->phase[0] == 't') { /* train */
        double now = monotonic_s();
        if (!c->tty) { /* plain logs: one line per epoch (from "eval") and one per interval */
            if (c->t_line < 0)
                c->t_line = now;
            if (now - c->t_line < c->interval)
                return;
            c->t_line = now;
        }
        char eta[32];
        fmt_eta(p->eta_s, eta, sizeof eta);
        fprintf(stderr, "%sepoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f img/s  ETA %s%s", c->tty ? "\r" : "",
                (long long)p->epoch, (long long)p->epochs, (long long)p->step, (long long)p->steps, p->loss,
                p->images_per_s, eta, c->tty ? "   " : "\n");
        fflush(stderr);
        c->line_open = c->tty;
        return;
    }
    if (p->phase[0] == 'e' && p->results) { /* eval at epoch end */
        close_line(c);
        double ta = 0, vl = 0, va = 0;
        fprintf(stderr, "epoch %lld/%lld  step %lld  train", (long long)p->epoch, (long long)p->epochs,
                (long long)p->step);
        /* every named loss: "train loss 0.1234", or "train d_loss 1.29 g_loss 0.78" */
        for (int i = 0; i < p->results->n; i++) {
            const char *n = p->results->name[i];
            size_t len = strlen(n);
            if (!strncmp(n, "train_", 6) && len >= 10 && !strcmp(n + len - 4, "loss"))
                fprintf(stderr, " %s %.4f", n + 6, p->results->value[i]);
        }
        if (dlx_results_get(p->results, "train_accuracy", &ta))
            fprintf(stderr, " acc %.4f", ta);
        if (dlx_results_get(p->results, "val_loss", &vl) && dlx_results_get(p->results, "val_accuracy", &va))
            fprintf(stderr, "  val loss %.4f acc %.4f", vl, va);
        if (dlx_results_get(p->results, "test_loss", &vl) && dlx_results_get(p->results, "test_accuracy", &va))
            fprintf(stderr, "  test loss %.4f acc %.4f", vl, va);
        /* a family without a test loss: its prediction errors (sparse coding's
         * err_T<k>), a GAN's mode coverage */
        for (int i = 0; i < p->results->n; i++)
            if (!strncmp(p->results->name[i], "err_", 4) || !strcmp(p->results->name[i], "modes") ||
                !strcmp(p->results->name[i], "high_quality"))
                fprintf(stderr, "  %s %.4g", p->results->name[i], p->results->value[i]);
        fputc('\n', stderr);
    }
}

void cli_progress_end(cli_progress *p) { close_line(p); }

void cli_print_result_fields(const dlx_results *r)
{
    for (int i = 0; i < r->n; i++) {
        /* JSON has no NaN or infinity: such a value (a measure that never
         * happened, a diverged loss) is null */
        if (isfinite(r->value[i]))
            printf("%s\"%s\":%.10g", i ? "," : "", r->name[i], r->value[i]);
        else
            printf("%s\"%s\":null", i ? "," : "", r->name[i]);
    }
}

void cli_print_results(const dlx_results *r, bool json)
{
    if (json) {
        printf("{");
        cli_print_result_fields(r);
        printf("}\n");
        return;
    }
    for (int i = 0; i < r->n; i++)
        printf("%-16s %.6g\n", r->name[i], r->value[i]);
}
