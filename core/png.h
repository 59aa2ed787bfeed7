/* Image grids written with libpng.
 *
 * Tiles are float images (c = 1 grey or c = 3 RGB, planar CHW), laid out in a
 * rows x cols grid with a 1-pixel border, each tile scaled up by `zoom`.
 * Each tile is mapped to 0..255 either over a fixed range [lo, hi] or, when
 * lo == hi, over its own min..max (for filters).
 */
#ifndef DLX_PNG_H
#define DLX_PNG_H

#include <stdint.h>

#include "err.h"

typedef struct dlx_grid {
    int rows, cols;
    int c, h, w;          /* tile shape */
    int zoom;             /* >= 1 */
    float lo, hi;         /* value range; lo == hi: per-tile min..max */
} dlx_grid;

/* tiles: count * c*h*w floats; count <= rows * cols (the rest stay blank). */
int dlx_png_write_grid(const char *path, const dlx_grid *g, const float *tiles, int count,
                       dlx_err *err);
/* The filters of a convolution weight (f, c, kh, kw): one tile per (filter,
 * input channel), at most 8 per row, each over its own range, about 64
 * pixels high. */
int dlx_png_write_filters(const char *path, const float *w, int f, int c, int kh, int kw, dlx_err *err);
/* Raw 8-bit image (c = 1, 3 or 4 interleaved). */
int dlx_png_write(const char *path, const uint8_t *pixels, int w, int h, int c, dlx_err *err);
/* Read a PNG as 8-bit grey (c = 1) or RGB (c = 3); *pixels malloc'd. */
int dlx_png_read(const char *path, uint8_t **pixels, int *w, int *h, int *c, dlx_err *err);

#endif
