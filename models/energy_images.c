/* The energy family on images (data.dataset: mnist | fashion-mnist): the
 * pixels / 255 of the first data.samples training and data.test_samples
 * test images, flattened. The non-data of the evaluation are images of
 * uniform noise in [0, 1] (`auc`) and the test digits with their pixels
 * shuffled, each by its own permutation (`auc_shuffled`: the same pixel
 * values, no strokes), and with data.versus another set's test images
 * (`auc_versus`: Fashion-MNIST against a model of digits). After training, filters.png (the first layer's
 * units, PCA's directions or K-means' centres as images) and recon.png (10
 * test digits above their reconstructions) replace the 2-D surface. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/data.h"
#include "../core/png.h"
#include "../core/rundir.h"
#include "energy_internal.h"

#define RECON_SHOWN 10

static int load_split(const en *c, const char *set, const char *dir, const char *split, int64_t n, float *out,
                      dlx_err *err)
{
    dlx_dataset d = {0};
    int rc = dlx_dataset_load_first(set, split, dir, n, &d, err);
    if (!rc && (d.n < n || (int64_t)d.c * d.h * d.w != c->d))
        rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "%s:%s holds %lld images of %d x %d x %d; the energy family "
                          "wants %lld of %lld pixels (data.samples, data.test_samples)", set, split,
                          (long long)d.n, d.c, d.h, d.w, (long long)n, (long long)c->d);
    for (int64_t i = 0; !rc && i < n * c->d; i++)
        out[i] = (float)d.images[i] / 255.0f;
    dlx_dataset_free(&d);
    return rc;
}

int dlx_en_images_load(const dlx_model *m, en *c, dlx_err *err)
{
    c->shuffled = malloc((size_t)c->test_samples * c->d * sizeof(float));
    if (!c->shuffled)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the shuffled digits");
    int rc = load_split(c, c->image_set, c->dir, "train", c->samples, c->train, err);
    if (!rc) rc = load_split(c, c->image_set, c->dir, "test", c->test_samples, c->test, err);
    if (!rc && c->versus_set) {
        if (!(c->versus = malloc((size_t)c->test_samples * c->d * sizeof(float))))
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        rc = load_split(c, c->versus_set, c->versus_dir, "test", c->test_samples, c->versus, err);
    }
    if (rc)
        return rc;
    dlx_en_fill_uniform(m, c, EN_STREAM_BOX, 0, c->test_samples, c->uniform);
    uint32_t *perm = malloc((size_t)c->d * sizeof *perm);
    if (!perm)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int64_t i = 0; i < c->test_samples; i++) {
        dlx_rng r;
        dlx_rng_init(&r, m->seed, EN_STREAM_SHUFFLE + ((uint64_t)i << 8));
        for (int64_t a = 0; a < c->d; a++)
            perm[a] = (uint32_t)a;
        dlx_rng_shuffle(&r, perm, (uint32_t)c->d);
        for (int64_t a = 0; a < c->d; a++)
            c->shuffled[i * c->d + a] = c->test[i * c->d + perm[a]];
    }
    free(perm);
    return 0;
}

/* The rows shown as images: the first layer's units, PCA's directions or the centres. */
static const float *filters_of(const dlx_model *m, const en *c, int *rows)
{
    const char *name = c->strategy == S_PCA ? "pca.W" : c->strategy == S_KMEANS ? "kmeans.C"
                     : c->strategy == S_NCE ? "net.1.W" : "enc.W";
    int i = dlx_params_find(&m->params, name);
    if (i < 0)
        return NULL;
    *rows = (int)m->params.items[i].t.shape.d[0];
    return m->params.items[i].t.data;
}

int dlx_en_write_images(const dlx_model *m, const en *c, dlx_err *err)
{
    char path[DLX_RUNDIR_MAX + 32];
    int rows = 0, rc = 0;
    const float *w = filters_of(m, c, &rows);
    if (w && !(rc = dlx_path_join(path, sizeof path, m->run_dir, "filters.png", err))) {
        if (c->strategy == S_KMEANS) { /* centres are images: grey, each over its own range */
            int cols = 10;
            dlx_grid g = {.rows = (rows + cols - 1) / cols, .cols = cols, .c = 1, .h = 28, .w = 28, .zoom = 2};
            rc = dlx_png_write_grid(path, &g, w, rows, err);
        } else {
            rc = dlx_png_write_units(path, w, rows > 100 ? 100 : rows, 1, 28, 28, err);
        }
    }
    if (rc || c->strategy == S_NCE)
        return rc;
    /* 10 test digits above their reconstructions */
    float *tiles = malloc((size_t)2 * RECON_SHOWN * c->d * sizeof *tiles);
    if (!tiles)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    memcpy(tiles, c->test, (size_t)RECON_SHOWN * c->d * sizeof *tiles);
    rc = dlx_en_reconstruct(m, c, c->test, RECON_SHOWN, tiles + RECON_SHOWN * c->d, err);
    if (!rc) rc = dlx_path_join(path, sizeof path, m->run_dir, "recon.png", err);
    if (!rc) {
        dlx_grid g = {.rows = 2, .cols = RECON_SHOWN, .c = 1, .h = 28, .w = 28, .zoom = 2, .lo = 0.0f, .hi = 1.0f,
                      .title = "test digits (top) and their reconstructions"};
        rc = dlx_png_write_grid(path, &g, tiles, 2 * RECON_SHOWN, err);
    }
    free(tiles);
    if (!rc)
        dlx_run_info(m, "wrote filters.png and recon.png in %s", m->run_dir);
    return rc;
}
