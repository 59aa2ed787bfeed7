#include "plot.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"

#define MAX_SERIES 64

typedef struct series_list {
    char name[MAX_SERIES][96];
    int n;
} series_list;

static int collect(const dlx_h5_entry *e, void *user)
{
    series_list *l = user;
    if (strncmp(e->path, "/metrics/", 9) == 0 && e->ndim == 2 && e->dims[1] == 2 && l->n < MAX_SERIES)
        snprintf(l->name[l->n++], sizeof l->name[0], "%s", e->path + 9);
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

enum { N_PANELS = 5 };

/* 0 losses, 1 errors, 2 accuracies, 3 learning rate, 4 the rest */
static int panel_of(const char *name)
{
    if (strstr(name, "loss") || strstr(name, "energy") || strcmp(name, "baseline") == 0) /* a loss to beat */
        return 0;
    if (ends_with(name, "error"))
        return 1;
    if (ends_with(name, "accuracy"))
        return 2;
    if (strcmp(name, "lr") == 0)
        return 3;
    return 4;
}

static const char *const k_titles[N_PANELS] = {"loss", "error", "accuracy", "learning rate", "other"};
static const bool k_log[N_PANELS] = {true, true, false, true, false};

int dlx_plot_metrics(const char *metrics_path, const char *const *only, const char *png_path,
                     const char *data_path, const char *script_path, dlx_err *err)
{
    series_list all = {.n = 0};
    int rc = dlx_h5_walk(metrics_path, collect, &all, err);
    if (rc)
        return rc;
    if (all.n == 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(metrics_path), "no /metrics/<name> series to plot");
    bool use[MAX_SERIES] = {false};
    for (int i = 0; i < all.n; i++)
        use[i] = only == NULL;
    for (int k = 0; only && only[k]; k++) {
        int found = -1;
        for (int i = 0; i < all.n; i++)
            if (strcmp(all.name[i], only[k]) == 0)
                found = i;
        if (found < 0) {
            char list[1024] = "";
            size_t used = 0;
            for (int i = 0; i < all.n && used < sizeof list; i++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", all.name[i]);
            return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(metrics_path), "no series named '%s' (the file has: %s)",
                                only[k], list);
        }
        use[found] = true;
    }

    FILE *fd = fopen(data_path, "w");
    if (!fd)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(data_path), "cannot write plot data: %s", strerror(errno));
    int block[MAX_SERIES], n_blocks = 0;
    bool panel_used[N_PANELS] = {false};
    for (int i = 0; i < all.n && !rc; i++) {
        if (!use[i])
            continue;
        double *rows = NULL;
        int64_t n = 0;
        rc = dlx_metrics_read(metrics_path, all.name[i], &rows, &n, err);
        if (rc)
            break;
        fprintf(fd, "# %s\n", all.name[i]);
        for (int64_t r = 0; r < n; r++)
            fprintf(fd, "%.17g %.17g\n", rows[2 * r], rows[2 * r + 1]);
        fprintf(fd, "\n\n"); /* gnuplot: a new index */
        free(rows);
        block[i] = n_blocks++;
        panel_used[panel_of(all.name[i])] = true;
    }
    if (fclose(fd) && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(data_path), "cannot write plot data: %s", strerror(errno));
    if (rc)
        return rc;

    int panels = 0;
    for (int p = 0; p < N_PANELS; p++)
        panels += panel_used[p];
    FILE *fs = fopen(script_path, "w");
    if (!fs)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the gnuplot script: %s",
                            strerror(errno));
    fprintf(fs, "# gnuplot script written by dlx plot; run: gnuplot %s\n", script_path);
    fprintf(fs, "set terminal pngcairo size %d,420 noenhanced font 'sans,10'\nset output '%s'\n", 420 * panels, png_path);
    fprintf(fs, "set multiplot layout 1,%d title '%s'\nset grid\nset key outside bottom center horizontal\n"
                "set format x '%%.0s%%c'\n"
                "set xlabel 'step'\n",
            panels, metrics_path);
    for (int p = 0; p < N_PANELS; p++) {
        if (!panel_used[p])
            continue;
        fprintf(fs, "set title '%s'\n%s\nplot ", k_titles[p], k_log[p] ? "set logscale y" : "unset logscale y");
        bool first = true;
        for (int i = 0; i < all.n; i++)
            if (use[i] && panel_of(all.name[i]) == p) {
                fprintf(fs, "%s'%s' index %d with linespoints pt 7 ps 0.4 lw 2 title '%s'", first ? "" : ", ",
                        data_path, block[i], all.name[i]);
                first = false;
            }
        fprintf(fs, "\n");
    }
    fprintf(fs, "unset multiplot\n");
    if (fclose(fs))
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the gnuplot script: %s",
                            strerror(errno));
    return 0;
}
