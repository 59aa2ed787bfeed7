/* filters.png of a classifier on subsampled images (data.subsample): its
 * first layer drawn back on the pixel grid, each point's value at its pixel
 * and 0 (white) elsewhere. A first linear layer: its units' input weights.
 * A first spectral layer: each filter's response to an impulse at the point
 * nearest the image centre, h = V diag(K w[o, i]) V^T e_c, the spatial
 * filter the learned multipliers make on the graph (localised when they
 * are smooth over the spectrum, Bruna et al. 2014, section 3.2).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/png.h"
#include "classifier_internal.h"

#define MAX_SHOWN 100

static const dlx_buffer *find_buffer(const dlx_params *p, const char *layer, const char *suffix)
{
    char name[DLX_NAME_MAX * 2];
    snprintf(name, sizeof name, "%.*s.%s", (int)strcspn(layer, "."), layer, suffix);
    for (int i = 0; i < p->n_buffers; i++)
        if (!strcmp(p->buffers[i].name, name))
            return &p->buffers[i];
    return NULL;
}

/* The point nearest the middle of the image. */
static int centre_point(const dlx_images *im)
{
    double cx = (im->src_w - 1) / 2.0, cy = (im->src_h - 1) / 2.0, best = INFINITY;
    int c = 0;
    for (int i = 0; i < im->sub_points; i++) {
        double dx = im->xy[2 * i] - cx, dy = im->xy[2 * i + 1] - cy;
        if (dx * dx + dy * dy < best) {
            best = dx * dx + dy * dy;
            c = i;
        }
    }
    return c;
}

/* Tile t's point values (P) onto the grid. */
static void to_grid(const dlx_images *im, const float *v, float *tile)
{
    memset(tile, 0, (size_t)im->src_h * im->src_w * sizeof *tile);
    for (int i = 0; i < im->sub_points; i++)
        tile[im->locations[i]] = v[i];
}

/* Impulse responses of the spectral layer whose weight is w (F, C, q). */
static void spectral_tiles(const dlx_images *im, const dlx_param *w, const dlx_buffer *V, const dlx_buffer *K,
                           int shown, float *tiles, double *mult, float *h)
{
    const int P = im->sub_points, d = (int)V->t.shape.d[1], q = (int)K->t.shape.d[1], C = (int)w->t.shape.d[1];
    const int c = centre_point(im);
    for (int t = 0; t < shown; t++) {
        const float *wt = w->t.data + (size_t)t * q; /* filter (o, i) = row t of the (F C, q) view */
        for (int k = 0; k < d; k++) {
            double s = 0.0;
            for (int j = 0; j < q; j++)
                s += (double)K->t.data[(size_t)k * q + j] * wt[j];
            mult[k] = s * V->t.data[(size_t)c * d + k];
        }
        for (int p = 0; p < P; p++) {
            double s = 0.0;
            for (int k = 0; k < d; k++)
                s += V->t.data[(size_t)p * d + k] * mult[k];
            h[p] = (float)s;
        }
        to_grid(im, h, tiles + (size_t)t * im->src_h * im->src_w);
    }
    (void)C;
}

int clf_write_point_filters(dlx_model *m, clf *c, const char *path, dlx_err *err)
{
    const dlx_images *im = &c->im;
    const dlx_param *w = &m->params.items[0];
    const dlx_buffer *V = find_buffer(&m->params, w->name, "basis"), *K = find_buffer(&m->params, w->name, "kernel");
    const int64_t *d = w->t.shape.d;
    bool spectral = V && K && w->t.shape.ndim == 3;
    bool units = !spectral && w->t.shape.ndim == 2 && d[1] == im->sub_points;
    if (!spectral && !units)
        return 0; /* nothing drawn on the points */
    int64_t n = spectral ? d[0] * d[1] : d[0];
    int shown = n < MAX_SHOWN ? (int)n : MAX_SHOWN;
    size_t px = (size_t)im->src_h * im->src_w;
    float *tiles = malloc((size_t)shown * px * sizeof *tiles), *h = malloc((size_t)im->sub_points * sizeof *h);
    double *mult = spectral ? malloc((size_t)V->t.shape.d[1] * sizeof *mult) : NULL;
    int rc = 0;
    if (!tiles || !h || (spectral && !mult))
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory drawing filters.png");
    if (!rc && spectral)
        spectral_tiles(im, w, V, K, shown, tiles, mult, h);
    for (int t = 0; !rc && units && t < shown; t++)
        to_grid(im, w->t.data + (size_t)t * im->sub_points, tiles + (size_t)t * px);
    if (!rc) rc = dlx_png_write_units(path, tiles, shown, 1, im->src_h, im->src_w, err);
    if (!rc && spectral)
        dlx_run_info(m, "wrote %s (%s: %d of %lld filters as impulse responses on the %d points)", path, w->name,
                     shown, (long long)n, im->sub_points);
    else if (!rc)
        dlx_run_info(m, "wrote %s (%s: %d of %lld units on the %d points)", path, w->name, shown, (long long)n,
                     im->sub_points);
    free(tiles);
    free(h);
    free(mult);
    return rc;
}
