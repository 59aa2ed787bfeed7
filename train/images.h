/* Labelled images: the `data:` map of a family that trains on an image
 * dataset of core/data.c (MNIST, Fashion-MNIST), its two splits, and the
 * NAME:SPLIT of `dlx eval --data`.
 *
 *   data: {dataset, dir, mean, std, pad, resize: [h, w], train_limit, test_limit}
 *
 * A split keeps its first *_limit samples (0: all) and is resized once at
 * load (from the dataset cache when a sweep turned it on), so batches only
 * normalise and pad (tf). The test split is loaded when the model is built
 * (it tells the input shape and the classes), the training split when
 * training starts. Every split is checked against that shape and class count.
 *
 * Training reads the training split in a new order each epoch, a function of
 * (seed, epoch) only, so a resumed run reads the same batches.
 */
#ifndef DLX_IMAGES_H
#define DLX_IMAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/data.h"
#include "../core/err.h"
#include "../core/spec.h"

typedef struct dlx_images {
    const char *dataset, *dir; /* borrowed from the spec */
    dlx_transform tf;
    int resize_h, resize_w; /* data.resize; 0 = none */
    int64_t train_limit, test_limit;
    dlx_dataset train, test;
    bool train_loaded;
    uint32_t *order;  /* the training split's order in the current epoch */
    int64_t train_n;  /* samples training will hold (from the file's header; 0: unknown) */
    int64_t train_px; /* pixels of one training image as stored in its file */
    int c, h, w;      /* one input after tf */
    int num_classes;
} dlx_images;

/* Read and check the spec's data: map (root: the spec's root). */
int dlx_images_read_spec(dlx_spec_node *root, dlx_images *im, dlx_err *err);
/* Before anything big is allocated: the batch against the training set and
 * the two splits' image sizes (batch_key and batch_loc for messages); then
 * load the test split and take the input shape and classes from it. */
int dlx_images_open(dlx_images *im, int64_t batch, const char *batch_key, dlx_loc batch_loc, dlx_err *err);
/* Load the training split (once). */
int dlx_images_load_train(dlx_images *im, dlx_err *err);
/* The order of `epoch` (0-based) for the feeds that follow. */
void dlx_images_epoch(dlx_images *im, uint64_t seed, int64_t epoch);
/* Rows [first, first + rows) of batch `pos` of the epoch (batches of
 * `batch` samples in its order): their sample indices into idx, the images
 * (after tf) into x and the labels into y. The same rows of the next batch
 * are fetched into the cache on the way. Thread-safe for disjoint rows. */
void dlx_images_feed(const dlx_images *im, int64_t batch, int64_t pos, int64_t first, int rows, uint32_t *idx,
                     float *x, float *y);
/* Load all of split "NAME:SPLIT" (or "NAME": its test split) into *d, which
 * the caller frees with dlx_dataset_free (also after a failure). */
int dlx_images_load_named(const dlx_images *im, const char *data, dlx_dataset *d, dlx_err *err);
/* Bytes the splits will hold (for train/budget.h): the test split, the
 * training split and a 4-byte data order per training sample; a resize
 * also holds the training images as read while it runs. */
double dlx_images_bytes(const dlx_images *im);
/* Samples idx[0..n) of split d as loaded (after data.resize, without
 * normalisation), 10 per row, as a PNG grid. */
int dlx_images_write_grid(const dlx_dataset *d, const uint32_t *idx, int n, const char *path, dlx_err *err);
void dlx_images_free(dlx_images *im);

#endif
