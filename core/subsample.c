/* Subsampled images (contract in subsample.h). */
#include "subsample.h"

#include <stdlib.h>
#include <string.h>

#include "rng.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int dlx_subsample_locations(uint64_t seed, int h, int w, int points, uint32_t *loc, dlx_err *err)
{
    uint32_t n = (uint32_t)h * (uint32_t)w;
    if (points < 1 || (uint32_t)points > n)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "cannot keep %d of the %u pixels of a %dx%d image", points, n,
                            h, w);
    uint32_t *all = malloc((size_t)n * sizeof *all);
    if (!all)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory drawing %d pixel locations", points);
    for (uint32_t i = 0; i < n; i++)
        all[i] = i;
    dlx_rng r;
    dlx_rng_init(&r, seed, DLX_STREAM_SUBSAMPLE);
    for (int i = 0; i < points; i++) { /* the first `points` of a random permutation */
        uint32_t j = (uint32_t)i + dlx_rng_below(&r, n - (uint32_t)i);
        uint32_t t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    memcpy(loc, all, (size_t)points * sizeof *loc);
    free(all);
    qsort(loc, (size_t)points, sizeof *loc, cmp_u32);
    return 0;
}

int dlx_subsample_dataset(dlx_dataset *d, const uint32_t *loc, int points, dlx_err *err)
{
    size_t px = (size_t)d->h * d->w, sample = (size_t)d->c * px;
    uint8_t *img = malloc((size_t)(d->n ? d->n : 1) * (size_t)points);
    uint8_t *lab = d->borrowed ? malloc((size_t)(d->n ? d->n : 1)) : d->labels;
    if (!img || !lab) {
        free(img);
        if (d->borrowed)
            free(lab);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory subsampling %s:%s", d->name, d->split);
    }
    for (int64_t i = 0; i < d->n; i++)
        for (int k = 0; k < points; k++)
            img[i * points + k] = d->images[(size_t)i * sample + loc[k]];
    if (d->borrowed) { /* the cache's buffers stay the cache's */
        memcpy(lab, d->labels, (size_t)d->n);
        d->borrowed = false;
    } else {
        free(d->images);
    }
    d->images = img;
    d->labels = lab;
    d->c = 1;
    d->h = 1;
    d->w = points;
    return 0;
}

void dlx_subsample_coords(const uint32_t *loc, int points, int w, double *xy)
{
    for (int i = 0; i < points; i++) {
        xy[2 * i] = (double)(loc[i] % (uint32_t)w);
        xy[2 * i + 1] = (double)(loc[i] / (uint32_t)w);
    }
}
