/* Toy 2-D data sources for energy-based learning: points on a manifold of
 * the plane, as in the energy-based learning slides (the parabola
 * y2 = y1^2, a spiral, a ring, a mixture of Gaussians), and points drawn
 * uniformly over the box that holds each manifold (the "non-data" of the
 * energy evaluation).
 *
 * Every point is a pure function of (seed, stream, index): point i is drawn
 * from its own counter block of the counter-based generator (core/rng.h),
 * so any range of points, on any thread, in any order, is the same numbers.
 * Points are written as (x, y) float pairs.
 */
#ifndef DLX_TOY2D_H
#define DLX_TOY2D_H

#include <stdint.h>

typedef enum dlx_toy_kind {
    DLX_TOY_PARABOLA = 0, /* y1 ~ U(-1, 1), y2 = y1^2 */
    DLX_TOY_SPIRAL,       /* r = 0.15 + t, angle 3 pi t, t ~ U(0, 1) (one and a half turns) */
    DLX_TOY_RING,         /* radius 1, angle ~ U(0, 2 pi) */
    DLX_TOY_GAUSSIANS,    /* 4 Gaussians of std 0.12 at (+-0.7, +-0.7) */
    DLX_TOY_COUNT
} dlx_toy_kind;

/* The dataset names ("toy_parabola", ...), NULL-terminated, in kind order. */
extern const char *const dlx_toy_names[];

/* The kind of a dataset name, or -1 for a name that is not a toy set. */
int dlx_toy_find(const char *name);

/* The box drawn in pictures and sampled for non-data: x in [box[0], box[1]],
 * y in [box[2], box[3]]; it holds the manifold with a margin. */
void dlx_toy_box(dlx_toy_kind kind, double box[4]);

/* Points first .. first + n - 1 of the manifold, each moved by isotropic
 * Gaussian noise of standard deviation `noise` (the Gaussians' own spread
 * comes on top), into xy (2 n floats). */
void dlx_toy_fill(dlx_toy_kind kind, double noise, uint64_t seed, uint64_t stream, int64_t first, int64_t n,
                  float *xy);

/* Points first .. first + n - 1 uniform over the box, into xy (2 n floats). */
void dlx_toy_uniform(const double box[4], uint64_t seed, uint64_t stream, int64_t first, int64_t n, float *xy);

#endif
