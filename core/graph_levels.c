/* Multiscale clustering of points (contract in graph_levels.h). */
#include "graph_levels.h"

#include <stdlib.h>
#include <string.h>

typedef struct edge {
    double d2;
    int i, j;
} edge;

static int cmp_edge(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    if (x->d2 != y->d2)
        return x->d2 < y->d2 ? -1 : 1;
    if (x->i != y->i)
        return x->i < y->i ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static double dist2(const double *xy, int dim, int i, int j)
{
    double s = 0.0;
    for (int a = 0; a < dim; a++)
        s += (xy[dim * i + a] - xy[dim * j + a]) * (xy[dim * i + a] - xy[dim * j + a]);
    return s;
}

/* Level l + 1 from level l: the greedy matching, clusters numbered by their smallest member. */
static int coarsen(dlx_levels *lv, int l, dlx_err *err)
{
    const int n = lv->n[l], D = lv->dim;
    const double *xy = lv->xy[l];
    size_t ne = (size_t)n * (size_t)(n - 1) / 2;
    edge *e = malloc((ne ? ne : 1) * sizeof *e);
    int *mate = malloc((size_t)n * sizeof *mate), *parent = malloc((size_t)n * sizeof *parent);
    double *cxy = calloc((size_t)n * D, sizeof *cxy);
    if (!e || !mate || !parent || !cxy) {
        free(e), free(mate), free(parent), free(cxy);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory clustering %d points", n);
    }
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            e[k++] = (edge){dist2(xy, D, i, j), i, j};
    qsort(e, ne, sizeof *e, cmp_edge);
    for (int i = 0; i < n; i++)
        mate[i] = -1;
    for (size_t t = 0; t < ne; t++)
        if (mate[e[t].i] < 0 && mate[e[t].j] < 0) {
            mate[e[t].i] = e[t].j;
            mate[e[t].j] = e[t].i;
        }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (mate[i] >= 0 && mate[i] < i) { /* the pair's smaller member came first */
            parent[i] = parent[mate[i]];
            continue;
        }
        parent[i] = m;
        int j = mate[i] >= 0 ? mate[i] : i;
        for (int a = 0; a < D; a++)
            cxy[D * m + a] = 0.5 * (xy[D * i + a] + xy[D * j + a]);
        m++;
    }
    free(e);
    free(mate);
    lv->n[l + 1] = m;
    lv->xy[l + 1] = cxy;
    lv->parent[l + 1] = parent;
    lv->n_levels = l + 2;
    return 0;
}

int dlx_levels_build(const dlx_points *p, int levels, dlx_levels *out, dlx_err *err)
{
    memset(out, 0, sizeof *out);
    if (levels < 1 || levels > DLX_LEVELS_MAX || p->n < 1)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%d levels of %d points: give 1 to %d levels of at least 1",
                            levels, p->n, DLX_LEVELS_MAX);
    out->n[0] = p->n;
    out->dim = p->dim;
    if (!(out->xy[0] = malloc((size_t)p->n * p->dim * sizeof(double))))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    memcpy(out->xy[0], p->xy, (size_t)p->n * p->dim * sizeof(double));
    out->n_levels = 1;
    for (int l = 0; l + 1 < levels && out->n[l] > 1; l++) {
        int rc = coarsen(out, l, err);
        if (rc) {
            dlx_levels_free(out);
            return rc;
        }
    }
    return 0;
}

void dlx_levels_free(dlx_levels *lv)
{
    for (int l = 0; l < DLX_LEVELS_MAX; l++) {
        free(lv->xy[l]);
        free(lv->parent[l]);
    }
    memset(lv, 0, sizeof *lv);
}

int dlx_levels_find(const dlx_levels *lv, int n)
{
    for (int l = 0; l < lv->n_levels; l++)
        if (lv->n[l] == n)
            return l;
    return -1;
}

typedef struct near {
    double d2;
    int j;
} near;

static int cmp_near(const void *a, const void *b)
{
    const near *x = a, *y = b;
    if (x->d2 != y->d2)
        return x->d2 < y->d2 ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

int dlx_levels_neighbors(const dlx_levels *lv, int l, int k, float *nb, dlx_err *err)
{
    const int n = lv->n[l];
    if (k < 1 || k > n)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%d neighbours of %d points: give 1 to %d", k, n, n);
    near *row = malloc((size_t)n * sizeof *row);
    if (!row)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) /* itself at distance -1: always first */
            row[j] = (near){j == i ? -1.0 : dist2(lv->xy[l], lv->dim, i, j), j};
        qsort(row, (size_t)n, sizeof *row, cmp_near);
        for (int t = 0; t < k; t++)
            nb[(size_t)i * k + t] = (float)row[t].j;
    }
    free(row);
    return 0;
}

int dlx_levels_members(const dlx_levels *lv, int l, int up, float *mem, int *width, dlx_err *err)
{
    const int n = lv->n[l], m = lv->n[l + up];
    int *top = malloc((size_t)n * sizeof *top), *count = calloc((size_t)m, sizeof *count);
    if (!top || !count) {
        free(top);
        free(count);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        int c = i;
        for (int s = 1; s <= up; s++)
            c = lv->parent[l + s][c];
        top[i] = c;
        count[c]++;
    }
    int w = 0;
    for (int j = 0; j < m; j++)
        w = count[j] > w ? count[j] : w;
    *width = w;
    if (mem) {
        for (size_t t = 0; t < (size_t)m * w; t++)
            mem[t] = -1.0f;
        memset(count, 0, (size_t)m * sizeof *count);
        for (int i = 0; i < n; i++) /* increasing i: members in order */
            mem[(size_t)top[i] * w + count[top[i]]++] = (float)i;
    }
    free(top);
    free(count);
    return 0;
}
