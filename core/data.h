/* Datasets: images kept as uint8 in memory, converted to float per batch.
 *
 * IDX files (MNIST, Fashion-MNIST) are read plain or gzip-compressed (zlib
 * reads either). A dataset name maps to a directory and file names through a
 * registry; the directory is `dir` from the spec, else $DLX_DATA_DIR/<name>,
 * else datasets/data/<name> relative to the working directory.
 * Every failure names the file and what was wrong (missing: how to fetch it).
 */
#ifndef DLX_DATA_H
#define DLX_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "rng.h"

typedef struct dlx_dataset {
    char name[64];        /* "mnist" */
    char split[16];       /* "train" or "test" */
    int64_t n;            /* samples */
    int c, h, w;          /* per-sample shape */
    int num_classes;
    uint8_t *images;      /* n * c * h * w, owned unless borrowed */
    uint8_t *labels;      /* n, owned unless borrowed */
    bool borrowed;        /* the buffers belong to the dataset cache: free leaves them */
} dlx_dataset;

/* How uint8 pixels become floats: x = (p / 255 - mean) / std, then optional
 * zero padding to out_h x out_w (centred), e.g. MNIST 28x28 -> 32x32. */
typedef struct dlx_transform {
    float mean, std;
    int pad;              /* pixels of padding on each side */
    int resize_h, resize_w; /* 0 = no resize; else bilinear resize before padding */
} dlx_transform;

/* Registry of known datasets: name, the four file names, classes, where to fetch. */
typedef struct dlx_dataset_info {
    const char *name;
    const char *train_images, *train_labels, *test_images, *test_labels;
    int num_classes;
    const char *fetch_hint; /* "datasets/fetch mnist" */
} dlx_dataset_info;

const dlx_dataset_info *dlx_dataset_find(const char *name);
const dlx_dataset_info *dlx_dataset_at(int i); /* iterate until NULL */
/* "mnist, fashion-mnist" for messages. */
const char *dlx_dataset_names(void);

/* Directory the files of `name` are read from, given the spec's `dir` (may be NULL). */
void dlx_dataset_dir(const char *name, const char *dir, char *out, size_t n);

/* Load a split ("train" or "test") of a registered dataset. */
int dlx_dataset_load(const char *name, const char *split, const char *dir, dlx_dataset *out,
                     dlx_err *err);
/* The same, reading only the first `limit` samples (all when limit is 0):
 * data.train_limit costs the memory of the samples it keeps. A plain file is
 * still checked against its declared size; records after the limit are not read. */
int dlx_dataset_load_first(const char *name, const char *split, const char *dir, int64_t limit,
                           dlx_dataset *out, dlx_err *err);
/* Load one IDX image file and one IDX label file (plain or .gz). Checks magic
 * numbers, dimensions, the byte count against the header (truncation), that
 * image and label counts agree, and that labels are < num_classes. */
int dlx_idx_load(const char *images_path, const char *labels_path, int num_classes,
                 dlx_dataset *out, dlx_err *err);
/* The same, reading only the first `limit` records (all when 0). */
int dlx_idx_load_first(const char *images_path, const char *labels_path, int num_classes, int64_t limit,
                       dlx_dataset *out, dlx_err *err);
void dlx_dataset_free(dlx_dataset *d);
/* The image file's header of a split, without reading its images: the
 * samples it declares, their size, and the file's path (for checks that
 * should come before loading). */
int dlx_dataset_peek(const char *name, const char *split, const char *dir, int64_t *n, int *h, int *w,
                     char *path, size_t path_n, dlx_err *err);
/* Checks from the headers, before loading: a batch over the training set
 * (after `limit`) is DLX_EINVAL at batch_loc naming batch_key, the image file
 * and both counts; train and test images of different sizes (unless
 * `resized`) are DLX_EFORMAT naming both files and sizes. *train_n and
 * *train_px get the samples training will hold and the pixels of one image
 * (0 when the headers cannot be read: the loaders report that). */
int dlx_dataset_check_splits(const char *name, const char *dir, int64_t limit, bool resized, int64_t batch,
                             const char *batch_key, dlx_loc batch_loc, int64_t *train_n, int64_t *train_px,
                             dlx_err *err);

/* An opt-in, process-wide cache of loaded splits (after the limit and the
 * resize), for a process that trains many models on the same data: a
 * landscape sweep's workers load MNIST once instead of once per run. While it
 * is on, dlx_dataset_load_cached hands out borrowed views (read-only; freeing
 * one frees nothing); turning it off frees what it holds. Not thread-safe:
 * one loading thread per process. */
void dlx_dataset_cache_enable(bool on);
/* dlx_dataset_load_first, then dlx_dataset_resize to resize_h x resize_w
 * (0 = keep the size); from the cache when it is on. */
int dlx_dataset_load_cached(const char *name, const char *split, const char *dir, int64_t limit, int resize_h,
                            int resize_w, dlx_dataset *out, dlx_err *err);

/* Resize every image once (bilinear, as dlx_dataset_batch does, rounded to
 * the nearest uint8 level), so that batches need no resampling: the images
 * stay uint8 in memory and a per-step resize no longer costs anything. */
int dlx_dataset_resize(dlx_dataset *d, int h, int w, dlx_err *err);

/* Output shape of one transformed sample. */
void dlx_transform_shape(const dlx_dataset *d, const dlx_transform *t, int *c, int *h, int *w);

/* Write samples idx[0..count) as floats into x (count * c*h*w of the
 * transformed shape) and their labels as floats into y (count; may be NULL). */
void dlx_dataset_batch(const dlx_dataset *d, const dlx_transform *t, const uint32_t *idx,
                       int count, float *x, float *y);

/* Ask the cache for samples idx[0..count) ahead of their batch (a hint only). */
void dlx_dataset_prefetch(const dlx_dataset *d, const uint32_t *idx, int count);

/* The data order of one epoch: a pure function of (seed, epoch). */
void dlx_epoch_order(uint64_t seed, int64_t epoch, uint32_t *idx, uint32_t n);

#endif
