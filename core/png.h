/* Image grids written with libpng.
 *
 * Tiles are float images (c = 1 grey or c = 3 RGB, planar CHW), laid out in a
 * rows x cols grid with a grey border, each tile scaled up by `zoom`
 * (nearest neighbour). Each tile is mapped to 0..255 either over a fixed
 * range [lo, hi] or, when lo == hi, over its own min..max, or over
 * [-max|v|, max|v|] when `symmetric` (weights: 0 is mid grey, or white on
 * the blue-white-red scale of `diverging`). A grid may
 * carry a caption under each tile and a title line above it, drawn with the
 * bitmap font of core/font.h.
 */
#ifndef DLX_PNG_H
#define DLX_PNG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

typedef struct dlx_grid {
    int rows, cols;
    int c, h, w;          /* tile shape */
    int zoom;             /* >= 1 */
    float lo, hi;         /* value range; lo == hi: per-tile min..max */
    int border;           /* pixels between tiles; 0 = 1 */
    bool symmetric;       /* with lo == hi: per tile [-max|v|, max|v|] */
    bool diverging;       /* c = 1 tiles in colour: blue (low), white (middle), red
                           * (high), on a dark border; the PNG is RGB */
    const char *const *captions; /* NULL, or one text per image, drawn under it */
    const char *title;    /* NULL, or a line above the grid */
} dlx_grid;

/* tiles: count * c*h*w floats; count <= rows * cols (the rest stay blank). */
int dlx_png_write_grid(const char *path, const dlx_grid *g, const float *tiles, int count,
                       dlx_err *err);
/* The filters of a convolution weight (f, c, kh, kw), each scaled up to at
 * least 48 pixels and normalised symmetrically around 0 (blue negative,
 * white 0, red positive; RGB tiles for c = 3),
 * else one tile per (filter, input channel), a row per filter for 2..16
 * input channels and a near-square grid otherwise, with a 2-pixel border. */
int dlx_png_write_filters(const char *path, const float *w, int f, int c, int kh, int kw, dlx_err *err);
/* The first `units` rows of a linear weight (units, c*h*w) as c x h x w
 * images on a near-square grid, each normalised symmetrically around 0 (the
 * units' input templates of an MLP), coloured as the filters. */
int dlx_png_write_units(const char *path, const float *w, int units, int c, int h, int ww, dlx_err *err);
/* Raw 8-bit image (c = 1, 3 or 4 interleaved). */
int dlx_png_write(const char *path, const uint8_t *pixels, int w, int h, int c, dlx_err *err);
/* Read a PNG as 8-bit grey (c = 1) or RGB (c = 3); *pixels malloc'd. */
int dlx_png_read(const char *path, uint8_t **pixels, int *w, int *h, int *c, dlx_err *err);

#endif
