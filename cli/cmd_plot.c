/* dlx plot METRICS.h5... [--out PNG] [--series a,b,...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/plot.h"
#include "cli.h"

#define MAX_FILES 16

int cmd_plot(int argc, char **argv)
{
    const char *paths[MAX_FILES], *out = NULL;
    int n_files = 0;
    char *series = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--series") == 0 && i + 1 < argc)
            series = argv[++i];
        else if (argv[i][0] == '-')
            return cli_usage_error("plot", "unknown or incomplete option '%s'", argv[i]);
        else if (n_files < MAX_FILES)
            paths[n_files++] = argv[i];
        else
            return cli_usage_error("plot", "more than %d metrics files given", MAX_FILES);
    }
    if (n_files == 0)
        return cli_usage_error("plot", "missing METRICS.h5 (e.g. runs/lenet5/metrics.h5)");
    char png[600], dat[620], gp[620];
    if (out) {
        if (strlen(out) >= sizeof png)
            return cli_usage_error("plot", "--out path longer than %zu characters", sizeof png - 1);
        snprintf(png, sizeof png, "%s", out);
    } else if (n_files > 1) {
        snprintf(png, sizeof png, "compare.png"); /* several runs: no one file names the picture */
    } else {
        if (strlen(paths[0]) + 4 >= sizeof png)
            return cli_usage_error("plot", "METRICS path longer than %zu characters: give --out", sizeof png - 5);
        snprintf(png, sizeof png, "%s", paths[0]);
        char *dot = strrchr(png, '.');
        if (dot && !strchr(dot, '/'))
            *dot = '\0';
        strncat(png, ".png", sizeof png - strlen(png) - 1);
    }
    snprintf(dat, sizeof dat, "%s.dat", png);
    snprintf(gp, sizeof gp, "%s.gp", png);
    const char *names[65];
    int n = 0;
    char *copy = series ? strdup(series) : NULL;
    for (char *tok = copy ? strtok(copy, ",") : NULL; tok && n < 64; tok = strtok(NULL, ","))
        names[n++] = tok;
    names[n] = NULL;
    dlx_err err;
    dlx_err_clear(&err);
    int rc = dlx_plot_metrics(paths, n_files, copy ? names : NULL, png, dat, gp, &err);
    free(copy);
    if (rc)
        return cli_fail(&err);
    return cli_run_gnuplot("plot", gp, png);
}
