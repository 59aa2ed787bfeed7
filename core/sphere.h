/* MNIST on the sphere (Bruna, Zaremba, Szlam & LeCun 2014, section 5.2,
 * scaled down): digits projected onto P points of the unit sphere, each
 * sample under its own random rotation, so that only the graph of the
 * points is left of the grid and the digit's place and orientation vary.
 *
 * Points: the Fibonacci lattice, z_i = 1 - (2 i + 1) / P, longitude i times
 * the golden angle: near-uniform, a function of P alone.
 * Projection: a sample's rotation R maps the sphere to the digit's frame;
 * point p sees u = R^T p and, when u_z > 0, the image at the gnomonic
 * coordinates (u_x / u_z, u_y / u_z) / tan(field / 2), [-1, 1] spanning the
 * image (bilinear, 0 outside), else 0. field is the angle the image spans
 * seen from the centre.
 * Rotations, drawn per (seed, split, sample index) (stream
 * DLX_STREAM_SPHERE): none (the identity), partial (about a uniform axis by
 * an angle uniform in [0, angle]) or full (uniform over SO(3): a uniform
 * unit quaternion).
 * Digit 9 is left out (9 classes): under rotation a 6 and a 9 are one shape.
 */
#ifndef DLX_SPHERE_H
#define DLX_SPHERE_H

#include <stdint.h>

#include "data.h"
#include "err.h"

typedef enum dlx_sphere_rotation { DLX_SPHERE_NONE = 0, DLX_SPHERE_PARTIAL, DLX_SPHERE_FULL } dlx_sphere_rotation;

typedef struct dlx_sphere_opts {
    int points;
    dlx_sphere_rotation rotation;
    double angle_deg; /* partial: the largest angle */
    double field_deg; /* the angle the image spans, in (0, 180) */
    uint64_t seed;
} dlx_sphere_opts;

/* The P lattice points (3 P doubles). */
void dlx_sphere_points(int points, double *xyz);
/* Sample `index` of `split`'s rotation (row-major 3 x 3). */
void dlx_sphere_rotation_of(const dlx_sphere_opts *o, const char *split, int64_t index, double *r);
/* d (h x w images, channel 0) projected onto the points, digit 9 dropped:
 * d becomes 1 x 1 x P per sample, 9 classes, and owns its buffers. */
int dlx_sphere_dataset(dlx_dataset *d, const dlx_sphere_opts *o, const double *xyz, dlx_err *err);

#endif
