/* Labelled images: the `data:` map of a family that trains on an image
 * dataset of core/data.c (MNIST, Fashion-MNIST), its two splits, and the
 * NAME:SPLIT of `dlx eval --data`.
 *
 *   data: {dataset, dir, mean, std, pad, resize: [h, w], range: [lo, hi], train_limit, test_limit,
 *          subsample: {points: P, seed: S},
 *          sphere: {points: P, rotation: none | partial | full, angle: A, field: F, seed: S}}
 *   and, where the family asks for them (the classifier): augment: {shift,
 *   rotate, scale, elastic: {alpha, sigma}}, validation: N
 *
 * subsample keeps P pixel locations of every image (core/subsample.h), drawn
 * from S (default: the spec's seed) once the test split tells the image
 * size (after resize), the same for every split: inputs become 1 x 1 x P,
 * and `points` holds their coordinates for layers built on the points'
 * graph (core/ops/spectral.c). No pad with it.
 *
 * sphere projects every digit onto P points of the unit sphere under its
 * own random rotation (core/sphere.h; angle: partial's largest, degrees,
 * default 45; field: the angle the image spans, default 90; seed: default
 * the spec's), digit 9 left out: inputs 1 x 1 x P, 9 classes, `points` the
 * points in space. Neither pad nor subsample with it.
 *
 * range (integers; instead of mean and std) maps pixels to [lo, hi]: [-1, 1]
 * for a tanh generator; padding takes the value of a 0 pixel, lo.
 *
 * A split keeps its first *_limit samples (0: all) and is resized once at
 * load (from the dataset cache when a sweep turned it on), so batches only
 * normalise and pad (tf). The test split is loaded when the model is built
 * (it tells the input shape and the classes), the training split when
 * training starts. Every split is checked against that shape and class count.
 *
 * Training reads the training split in a new order each epoch, a function of
 * (seed, epoch) only, so a resumed run reads the same batches.
 *
 * data.validation: N holds the last N samples of the training split (after
 * train_limit) out as the validation split `val`: training never reads
 * them, so an epoch has floor((n - N) / batch) steps.
 *
 * data.augment distorts the training images the feed gives (core/augment.h),
 * each by the parameters of (seed, epoch, sample index); evaluation, the
 * validation split and group members stay as they are.
 *
 * Groups (pairs, triplets) for families that compare samples (the
 * disentangling model's pairs of one class and a third of any): member 0 of
 * a group is the sample the epoch order gives; every other member is drawn,
 * uniformly among the training samples of member 0's class (another sample
 * when the class has one) or among all, by a pure function of (seed, step,
 * member, row), so a resumed run and any thread count draw the same.
 */
#ifndef DLX_IMAGES_H
#define DLX_IMAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/augment.h"
#include "../core/data.h"
#include "../core/err.h"
#include "../core/graph.h"
#include "../core/sphere.h"
#include "../core/spec.h"
#include "../core/spec_doc.h"

typedef struct dlx_images {
    const char *dataset, *dir; /* borrowed from the spec */
    dlx_transform tf;
    int resize_h, resize_w; /* data.resize; 0 = none */
    int64_t train_limit, test_limit;
    int64_t validation;      /* data.validation: the training split's last samples held out */
    dlx_loc validation_loc;  /* for messages */
    dlx_augment aug;         /* data.augment (all 0: off) */
    uint64_t aug_seed;       /* the run's seed and the epoch of the order (dlx_images_epoch) */
    int64_t aug_epoch;
    dlx_dataset train, test;
    dlx_dataset val;         /* a view of the training split's held-out tail (n 0: none) */
    bool train_loaded;
    uint32_t *order;  /* the training split's order in the current epoch */
    int64_t train_n;  /* samples training will hold (from the file's header; 0: unknown) */
    int64_t train_px; /* pixels of one training image as stored in its file */
    int c, h, w;      /* one input after tf */
    int num_classes;
    uint32_t *by_class;   /* training samples sorted by class (dlx_images_index_classes) */
    int64_t *class_start; /* [num_classes + 1]: class k is by_class[class_start[k] .. class_start[k + 1]) */
    /* data.subsample (sub_points 0: none) */
    int sub_points;
    int64_t sub_seed;
    dlx_loc sub_loc;
    int src_h, src_w;     /* the image size the locations are in */
    uint32_t *locations;  /* sub_points pixel indices, after dlx_images_open */
    double *xy;           /* their (column, row) coordinates */
    dlx_points points;    /* {sub_points, 2, xy}, or the sphere's {P, 3, sphere_xyz}; n 0: neither */
    /* data.sphere (sphere.points 0: none) */
    dlx_sphere_opts sphere;
    dlx_loc sphere_loc;
    double *sphere_xyz;   /* its points, after dlx_images_open */
} dlx_images;

/* Read and check the spec's data: map (root: the spec's root, whose seed
 * is data.subsample's default); with train_keys data.augment and
 * data.validation too, which are otherwise unknown keys. */
int dlx_images_read_spec(dlx_spec_node *root, dlx_images *im, bool train_keys, dlx_err *err);
/* The reference of data: for images (core/spec_doc.h). */
extern const dlx_spec_section dlx_images_spec_sections[];
/* data.subsample's locations as a buffer of the store ("data.subsample.locations",
 * saved with checkpoints, checked on load), or data.sphere's points
 * ("data.sphere.points", 3 per point); nothing without either. */
int dlx_images_declare_locations(const dlx_images *im, dlx_params *params, dlx_err *err);
/* Before anything big is allocated: the batch against the training set and
 * the two splits' image sizes (batch_key and batch_loc for messages); then
 * load the test split and take the input shape and classes from it. */
int dlx_images_open(dlx_images *im, int64_t batch, const char *batch_key, dlx_loc batch_loc, dlx_err *err);
/* Load the training split (once), holding out the validation split. */
int dlx_images_load_train(dlx_images *im, dlx_err *err);
/* The order of `epoch` (0-based) for the feeds that follow (and the
 * epoch and seed of their augmentation). */
void dlx_images_epoch(dlx_images *im, uint64_t seed, int64_t epoch);
/* Rows [first, first + rows) of batch `pos` of the epoch (batches of
 * `batch` samples in its order): their sample indices into idx, the images
 * (after tf) into x and the labels into y. The same rows of the next batch
 * are fetched into the cache on the way. With data.augment each image is
 * distorted, using scratch (dlx_images_scratch_floats; NULL without
 * augmentation). Thread-safe for disjoint rows and scratch. */
void dlx_images_feed(const dlx_images *im, int64_t batch, int64_t pos, int64_t first, int rows, uint32_t *idx,
                     float *x, float *y, float *scratch);
/* Floats of scratch one feed needs (0 without data.augment). */
size_t dlx_images_scratch_floats(const dlx_images *im);
/* Distort the n images at x (after tf) as the training feed does samples
 * idx[0..n) of `epoch`. */
void dlx_images_augment(const dlx_images *im, uint64_t seed, int64_t epoch, const uint32_t *idx, int n, float *x,
                        float *scratch);
/* After dlx_images_load_train: the per-class index that group members of
 * one class are drawn from (once). */
int dlx_images_index_classes(dlx_images *im, dlx_err *err);
/* Member `member` (>= 1) of the groups whose member 0 are rows [first,
 * first + rows) of batch `pos` (as dlx_images_feed gives them) at global
 * step `step`: of member 0's class when same_class, else of any class. Its
 * sample indices into idx, images into x, labels into y. Thread-safe for
 * disjoint rows. */
void dlx_images_feed_member(const dlx_images *im, int64_t batch, int64_t pos, int64_t first, int rows, int member,
                            bool same_class, uint64_t seed, int64_t step, uint32_t *idx, float *x, float *y);
/* Load all of split "NAME:SPLIT" (or "NAME": its test split) into *d, which
 * the caller frees with dlx_dataset_free (also after a failure). */
int dlx_images_load_named(const dlx_images *im, const char *data, dlx_dataset *d, dlx_err *err);
/* Bytes the splits will hold (for train/budget.h): the test split, the
 * training split and a 4-byte data order per training sample; a resize
 * also holds the training images as read while it runs. */
double dlx_images_bytes(const dlx_images *im);
/* Samples idx[0..n) of split d as loaded (after data.resize, without
 * normalisation), 10 per row, as a PNG grid; captions (NULL, or one text per
 * sample) under the images and a title line (NULL: none) above them. */
int dlx_images_write_grid(const dlx_dataset *d, const uint32_t *idx, int n, const char *const *captions,
                          const char *title, const char *path, dlx_err *err);
void dlx_images_free(dlx_images *im);

#endif
