/* Metric curves of one or more runs as gnuplot data and script (core/plot.h). */
#include "plot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"

#define MAX_SERIES 64
#define MAX_FILES 16

typedef struct series_list {
    char name[MAX_SERIES][96];
    int n;
} series_list;

static int collect(const dlx_h5_entry *e, void *user)
{
    series_list *l = user;
    if (dlx_metrics_is_series(e) && l->n < MAX_SERIES)
        snprintf(l->name[l->n++], sizeof l->name[0], "%s", e->path + 9);
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

enum { N_PANELS = 5 };

/* 0 losses, 1 errors, 2 accuracies, 3 learning rates, 4 the rest */
static int panel_of(const char *name)
{
    if (strstr(name, "loss") || strstr(name, "energy") || strcmp(name, "baseline") == 0) /* a loss to beat */
        return 0;
    if (ends_with(name, "error"))
        return 1;
    if (ends_with(name, "accuracy"))
        return 2;
    if (strcmp(name, "lr") == 0 || strncmp(name, "lr_", 3) == 0)
        return 3;
    return 4;
}

static const char *const k_titles[N_PANELS] = {"loss", "error", "accuracy", "learning rate", "other"};
static const bool k_log[N_PANELS] = {true, true, false, true, false};

void dlx_gp_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("''", f);
        else
            fputc((unsigned char)*s < 32 ? '?' : *s, f);
    }
    fputc('\'', f);
}

void dlx_plot_run_name(const char *metrics_path, char *out, size_t n)
{
    char buf[PATH_MAX];
    const char *p = realpath(metrics_path, buf) ? buf : metrics_path;
    const char *slash = strrchr(p, '/');
    if (!slash) { /* a relative name realpath could not resolve: the file's own name */
        snprintf(out, n, "%s", p);
        return;
    }
    const char *end = slash, *start = slash;
    while (start > p && start[-1] != '/')
        start--;
    if (start == end) /* a file in / */
        snprintf(out, n, "%s", slash + 1);
    else
        snprintf(out, n, "%.*s", (int)(end - start), start);
}

/* One plotted line: a file's series. */
typedef struct line {
    int file, panel, metric; /* metric: index into the panel's metric names */
    int block;               /* gnuplot index in the data file */
    int64_t points;
    char name[96];
} line;

typedef struct panel {
    bool used, positive; /* positive: every value > 0 (a log scale can show it) */
    double xlo, xhi, ylo, yhi;
    char metric[MAX_SERIES][96];
    int n_metrics;
} panel;

typedef struct plot {
    line lines[MAX_FILES * MAX_SERIES];
    int n_lines;
    panel panels[N_PANELS];
    char run[MAX_FILES][256];
    int n_files;
} plot;

static int metric_index(panel *p, const char *name)
{
    for (int i = 0; i < p->n_metrics; i++)
        if (strcmp(p->metric[i], name) == 0)
            return i;
    snprintf(p->metric[p->n_metrics], sizeof p->metric[0], "%s", name);
    return p->n_metrics++;
}

/* Series `name` of file f into the data file as block `pl->n_lines`; the
 * panel's and the x axis's ranges grow to hold it. */
static int add_series(plot *pl, FILE *fd, const char *path, int f, const char *name, dlx_err *err)
{
    double *rows = NULL;
    int64_t n = 0;
    int rc = dlx_metrics_read(path, name, &rows, &n, err);
    if (rc)
        return rc;
    line *l = &pl->lines[pl->n_lines];
    l->file = f;
    l->panel = panel_of(name);
    l->block = pl->n_lines++;
    l->points = 0;
    snprintf(l->name, sizeof l->name, "%s", name);
    panel *p = &pl->panels[l->panel];
    if (!p->used) {
        p->used = p->positive = true;
        p->xlo = p->ylo = INFINITY;
        p->xhi = p->yhi = -INFINITY;
    }
    l->metric = metric_index(p, name);
    if (pl->n_files == 1)
        fprintf(fd, "# %s\n", name);
    else
        fprintf(fd, "# %s: %s\n", pl->run[f], name);
    for (int64_t r = 0; r < n; r++) {
        double x = rows[2 * r], y = rows[2 * r + 1];
        if (!isfinite(x) || !isfinite(y))
            continue; /* gnuplot would warn; the curve has a gap */
        fprintf(fd, "%.17g %.17g\n", x, y);
        l->points++;
        p->xlo = fmin(p->xlo, x);
        p->xhi = fmax(p->xhi, x);
        p->ylo = fmin(p->ylo, y);
        p->yhi = fmax(p->yhi, y);
        p->positive = p->positive && y > 0;
    }
    fprintf(fd, "\n\n"); /* gnuplot: a new index */
    free(rows);
    return 0;
}

/* Ranges gnuplot cannot make from one value (a one-point series or a flat
 * line: "empty range" warnings): set around the value. */
static void write_range(FILE *fs, const char *axis, double lo, double hi, bool log)
{
    if (!(lo <= hi))
        fprintf(fs, "set %srange [*:*]\n", axis);
    else if (lo < hi)
        fprintf(fs, "set %srange [*:*]\n", axis);
    else if (log)
        fprintf(fs, "set %srange [%.17g:%.17g]\n", axis, lo / 2, lo * 2);
    else {
        double d = lo != 0 ? fabs(lo) * 0.1 : 1.0;
        fprintf(fs, "set %srange [%.17g:%.17g]\n", axis, lo - d, lo + d);
    }
}

static void write_panel(FILE *fs, const plot *pl, int p, int n_files, const char *data_path)
{
    const panel *pa = &pl->panels[p];
    bool log = k_log[p] && pa->positive;
    fprintf(fs, "set title '%s'\n%s\nset ylabel ", k_titles[p], log ? "set logscale y" : "unset logscale y");
    char ylabel[512] = "";
    size_t used = 0;
    for (int i = 0; i < pa->n_metrics && used < sizeof ylabel; i++)
        used += (size_t)snprintf(ylabel + used, sizeof ylabel - used, "%s%s", i ? ", " : "", pa->metric[i]);
    dlx_gp_quoted(fs, ylabel);
    fprintf(fs, "\n");
    write_range(fs, "x", pa->xlo, pa->xhi, false);
    write_range(fs, "y", pa->ylo, pa->yhi, log);
    fprintf(fs, "plot ");
    bool first = true;
    for (int i = 0; i < pl->n_lines; i++) {
        const line *l = &pl->lines[i];
        if (l->panel != p || l->points == 0)
            continue;
        char title[400];
        if (n_files == 1)
            snprintf(title, sizeof title, "%s", l->name);
        else if (pa->n_metrics == 1) /* the y label names the metric: the legend names the run */
            snprintf(title, sizeof title, "%s", pl->run[l->file]);
        else
            snprintf(title, sizeof title, "%s: %s", pl->run[l->file], l->name);
        fprintf(fs, "%s", first ? "" : ", \\\n     ");
        dlx_gp_quoted(fs, data_path);
        /* several runs: a colour per run, a dash pattern per metric */
        int colour = n_files == 1 ? l->metric + 1 : l->file + 1, dash = n_files == 1 ? 1 : l->metric + 1;
        static const int k_point[5] = {7, 5, 9, 11, 13}; /* one-point series: a shape per metric */
        if (l->points == 1)
            fprintf(fs, " index %d with points pt %d ps 1.5 lc %d title ", l->block, k_point[l->metric % 5], colour);
        else
            fprintf(fs, " index %d with linespoints pt 7 ps 0.4 lw 2 lc %d dt %d title ", l->block, colour, dash);
        dlx_gp_quoted(fs, title);
        first = false;
    }
    fprintf(fs, "\n");
}

/* The names of `only` that no file has: DLX_EINVAL listing those it has. */
static int check_only(const series_list *all, int n_files, const char *const *only, const char *const *paths,
                      dlx_err *err)
{
    for (int k = 0; only && only[k]; k++) {
        bool found = false;
        for (int f = 0; f < n_files && !found; f++)
            for (int i = 0; i < all[f].n && !found; i++)
                found = strcmp(all[f].name[i], only[k]) == 0;
        if (found)
            continue;
        char list[1024] = "";
        size_t used = 0;
        for (int i = 0; i < all[0].n && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", all[0].name[i]);
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(paths[0]), "no series named '%s' (the file has: %s)",
                            only[k], list);
    }
    return 0;
}

static bool wanted(const char *const *only, const char *name)
{
    for (int k = 0; only && only[k]; k++)
        if (strcmp(only[k], name) == 0)
            return true;
    return only == NULL;
}

static int write_script(const plot *pl, int n_files, const char *const *paths, const char *png_path,
                        const char *data_path, const char *script_path, dlx_err *err)
{
    int panels = 0;
    for (int p = 0; p < N_PANELS; p++)
        panels += pl->panels[p].used;
    FILE *fs = fopen(script_path, "w");
    if (!fs)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the gnuplot script: %s",
                            strerror(errno));
    fprintf(fs, "# gnuplot script written by dlx plot; run: gnuplot %s\n", script_path);
    fprintf(fs, "set terminal pngcairo size %d,440 noenhanced font 'sans,10'\nset output ", 440 * panels);
    dlx_gp_quoted(fs, png_path);
    char title[1024];
    if (n_files == 1)
        snprintf(title, sizeof title, "%s", paths[0]);
    else {
        size_t used = (size_t)snprintf(title, sizeof title, "%d runs:", n_files);
        for (int f = 0; f < n_files && used < sizeof title; f++)
            used += (size_t)snprintf(title + used, sizeof title - used, " %s", pl->run[f]);
    }
    fprintf(fs, "\nset multiplot layout 1,%d title ", panels);
    dlx_gp_quoted(fs, title);
    fprintf(fs, "\nset grid\nset key outside bottom center horizontal\nset format x '%%g'\nset format y '%%g'\nset xlabel 'step'\n"
                "set autoscale xfix\nset offsets graph 0.02, graph 0.02, 0, 0\n"); /* points at the ends stay whole */
    for (int p = 0; p < N_PANELS; p++)
        if (pl->panels[p].used)
            write_panel(fs, pl, p, n_files, data_path);
    fprintf(fs, "unset multiplot\n");
    if (fclose(fs))
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the gnuplot script: %s",
                            strerror(errno));
    return 0;
}

int dlx_plot_metrics(const char *const *metrics_paths, int n_files, const char *const *only, const char *png_path,
                     const char *data_path, const char *script_path, dlx_err *err)
{
    if (n_files < 1 || n_files > MAX_FILES)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%d metrics files to plot (expected 1 to %d)", n_files,
                            MAX_FILES);
    plot *pl = calloc(1, sizeof *pl);
    series_list *all = calloc(MAX_FILES, sizeof *all);
    if (!pl || !all) {
        free(pl);
        free(all);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    int rc = 0;
    pl->n_files = n_files;
    for (int f = 0; f < n_files && !rc; f++) {
        rc = dlx_h5_walk(metrics_paths[f], collect, &all[f], err);
        if (!rc && all[f].n == 0)
            rc = dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(metrics_paths[f]), "no /metrics/<name> series to plot");
        dlx_plot_run_name(metrics_paths[f], pl->run[f], sizeof pl->run[f]);
    }
    for (int f = 0; f < n_files && !rc; f++) /* two runs of one name: their paths tell them apart */
        for (int g = 0; g < f; g++)
            if (strcmp(pl->run[f], pl->run[g]) == 0) {
                snprintf(pl->run[f], sizeof pl->run[f], "%s", metrics_paths[f]);
                snprintf(pl->run[g], sizeof pl->run[g], "%s", metrics_paths[g]);
            }
    if (!rc) rc = check_only(all, n_files, only, metrics_paths, err);
    FILE *fd = rc ? NULL : fopen(data_path, "w");
    if (!rc && !fd)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(data_path), "cannot write plot data: %s", strerror(errno));
    for (int f = 0; f < n_files && !rc; f++)
        for (int i = 0; i < all[f].n && !rc; i++)
            if (wanted(only, all[f].name[i]))
                rc = add_series(pl, fd, metrics_paths[f], f, all[f].name[i], err);
    if (fd && fclose(fd) && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(data_path), "cannot write plot data: %s", strerror(errno));
    if (!rc) rc = write_script(pl, n_files, metrics_paths, png_path, data_path, script_path, err);
    free(pl);
    free(all);
    return rc;
}
