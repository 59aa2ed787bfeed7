/* Image augmentation for training: one affine warp (a shift, a rotation and
 * a scaling about the image's centre) and an elastic distortion (Simard et
 * al. 2003: a displacement field of uniform values in [-1, 1] per pixel and
 * direction, smoothed by a Gaussian of std sigma, scaled by alpha), both
 * resampled in one pass with bilinear interpolation.
 *
 * Each sample's parameters are a pure function of (seed, epoch, sample
 * index) through the counter-based generator (stream DLX_STREAM_AUGMENT +
 * epoch << 8; the affine values are block sample << 32, the elastic field
 * the blocks after it), so a resumed run, any thread count and any
 * train.shards see the same distorted images.
 *
 * Coordinates: x to the right (columns), y down (rows), pixel centres at
 * integers, the centre of an h x w plane at ((w - 1) / 2, (h - 1) / 2).
 * Output pixel p takes the input at centre + M (p - centre) + b (+ the
 * elastic displacement at p); a point outside the plane reads `fill`.
 */
#ifndef DLX_AUGMENT_H
#define DLX_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* data.augment: every part 0 (off) unless given. */
typedef struct dlx_augment {
    double shift;  /* pixels: the shift in x and in y uniform in [-shift, shift] */
    double rotate; /* degrees: the angle uniform in [-rotate, rotate], counterclockwise as displayed */
    double scale;  /* fraction: the size factor uniform in [1 - scale, 1 + scale] */
    double alpha;  /* elastic: the smoothed field's scale in pixels (0: no elastic distortion) */
    double sigma;  /* elastic: the smoothing Gaussian's std in pixels */
} dlx_augment;

/* The largest sigma accepted: its kernel's radius is 4 sigma. */
#define DLX_AUGMENT_SIGMA_MAX 32.0

/* Where each output pixel reads the input (see above). */
typedef struct dlx_warp {
    double m[2][2]; /* rows: x, y; columns: the output offset's x, y */
    double b[2];
} dlx_warp;

bool dlx_augment_on(const dlx_augment *a);

/* The warp that moves the image by (tx, ty) pixels after rotating it by
 * `degrees` counterclockwise and scaling it by s about its centre. */
dlx_warp dlx_warp_make(double tx, double ty, double degrees, double s);

/* dst (h x w) = src resampled through wp plus, when dx is not NULL, the
 * displacement (dx, dy) at each output pixel; bilinear, `fill` outside.
 * The identity warp gives src back exactly, and so does an integer shift
 * on the pixels it keeps. */
void dlx_warp_bilinear(const float *src, int h, int w, const dlx_warp *wp, const float *dx, const float *dy,
                       float fill, float *dst);

/* Smooth field (h x w) in place with the normalised Gaussian of std sigma
 * (radius ceil(4 sigma), zero outside the plane), separably through tmp (h
 * x w), then scale it by alpha. */
void dlx_gauss_smooth(float *field, int h, int w, double sigma, double alpha, float *tmp);

/* Floats of scratch dlx_augment_sample needs for an h x w plane. */
size_t dlx_augment_scratch_floats(int h, int w);

/* The parameters of sample `sample` in `epoch`: shift (tx, ty), angle in
 * degrees and scale. */
void dlx_augment_params(const dlx_augment *a, uint64_t seed, int64_t epoch, uint32_t sample, double *tx, double *ty,
                        double *degrees, double *s);

/* Distort the c planes of h x w at x in place as sample `sample` of
 * `epoch` (fill: the value of a background pixel). */
void dlx_augment_sample(const dlx_augment *a, uint64_t seed, int64_t epoch, uint32_t sample, int c, int h, int w,
                        float fill, float *x, float *scratch);

#endif
