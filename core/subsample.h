/* Images reduced to a fixed set of pixel locations (Bruna et al. 2014's
 * "subsampled MNIST": 400 random pixels, so that only the graph of the points
 * is left of the grid).
 *
 * The locations are a pure function of (seed, points, image size): the same
 * for the training and the test split, and for a model rebuilt from its
 * checkpoint. They are sorted (row-major pixel index), so a feature vector
 * reads the image top to bottom. A reduced dataset is 1 x 1 x P per sample,
 * channel 0 of each location. The coordinates of location i are its pixel's
 * (column, row) in pixels, the input of a graph built on the points
 * (core/graph_laplacian.h).
 */
#ifndef DLX_SUBSAMPLE_H
#define DLX_SUBSAMPLE_H

#include <stdint.h>

#include "data.h"
#include "err.h"

/* points distinct pixel indices of an h x w image, drawn from `seed`
 * (partial Fisher-Yates over stream DLX_STREAM_SUBSAMPLE), sorted, into loc.
 * points outside [1, h w] is DLX_EINVAL. */
int dlx_subsample_locations(uint64_t seed, int h, int w, int points, uint32_t *loc, dlx_err *err);
/* Keep channel 0 of the pixels loc[0..points) of every image of d (h x w
 * images): d becomes 1 x 1 x points and owns its buffers. */
int dlx_subsample_dataset(dlx_dataset *d, const uint32_t *loc, int points, dlx_err *err);
/* The (column, row) of each location of an image w pixels wide: xy[2 i], xy[2 i + 1]. */
void dlx_subsample_coords(const uint32_t *loc, int points, int w, double *xy);

#endif
