#include "images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/png.h"
#include "../core/rng.h"
#include "../core/subsample.h"

/* data: of labelled images (one row per key, beside its getter below) */
static const dlx_key_doc k_data_keys[] = {
    {"dataset", "string", "required", "mnist, fashion-mnist", "the labelled images"},
    {"dir", "string", "$DLX_DATA_DIR/<dataset>, else datasets/data/<dataset>", "a directory", "where its files are"},
    {"mean", "number", "0", "-1000 to 1000", "subtracted from each pixel in [0, 1]"},
    {"std", "number", "1", "1e-06 to 1000", "the pixel minus mean is divided by it"},
    {"pad", "integer", "0", "0 to 64", "zeros added around each image"},
    {"resize", "integer or [h, w]", "-", "1 to 4096", "resize the images once at load (bilinear)"},
    {"range", "[lo, hi]", "-", "integers -1000 to 1000, lo < hi; not with mean or std",
     "map pixels [0, 1] to [lo, hi] (a tanh generator's [-1, 1])"},
    {"train_limit", "integer", "0", "at least 0", "use the first N training images (0: all)"},
    {"test_limit", "integer", "0", "at least 0", "use the first N test images (0: all)"},
    {"subsample", "map", "-", "dlx spec data.subsample; not with pad or sphere",
     "keep P random pixel locations of every image (inputs 1 x 1 x P): a graph of points"},
    {"sphere", "map", "-", "dlx spec data.sphere; not with pad or subsample",
     "project every digit onto P points of the unit sphere (digit 9 left out: 9 classes)"},
    {NULL},
};
static const dlx_key_doc k_subsample_keys[] = {
    {"points", "integer", "required", "1 to 16777216, at most the pixels", "P, the locations kept"},
    {"seed", "integer", "the spec's seed", "at least 0", "draws the locations (the same for every split)"},
    {NULL},
};
static const char *const k_rotations[] = {"none", "partial", "full", NULL};
static const dlx_key_doc k_sphere_keys[] = {
    {"points", "integer", "required", "4 to 65536", "P, points on the unit sphere (Fibonacci lattice)"},
    {"rotation", "one of none, partial, full", "none", "none, partial, full", "each sample's random rotation"},
    {"angle", "number", "45", "0 to 180", "degrees: partial's largest rotation"},
    {"field", "number", "90", "1 to 179", "degrees: the angle the image spans on the sphere"},
    {"seed", "integer", "the spec's seed", "at least 0", "draws the rotations"},
    {NULL},
};

/* data: keys read only by a family that trains a classifier (train_keys) */
static const dlx_key_doc k_data_train_keys[] = {
    {"augment", "map", "-", "dlx spec data.augment", "random distortions of the training images (off when absent)"},
    {"validation", "integer", "-", "0 up to the training images less one batch",
     "hold out the last N training images: val_loss, val_accuracy, val_error at each evaluation"},
    {NULL},
};
static const dlx_key_doc k_augment_keys[] = {
    {"shift", "number", "0", "0 to 64", "pixels: the shift in x and in y, uniform in [-shift, shift]"},
    {"rotate", "number", "0", "0 to 180", "degrees: the angle, uniform in [-rotate, rotate]"},
    {"scale", "number", "0", "0 to 0.9", "the size factor, uniform in [1 - scale, 1 + scale]"},
    {"elastic", "map", "-", "dlx spec data.augment.elastic", "an elastic distortion (Simard et al. 2003)"},
    {NULL},
};
static const dlx_key_doc k_elastic_keys[] = {
    {"alpha", "number", "required", "0 to 1000", "the smoothed displacement field's scale, pixels"},
    {"sigma", "number", "required", "0.1 to 32", "the std of the Gaussian that smooths the field, pixels"},
    {NULL},
};

const dlx_spec_section dlx_images_spec_sections[] = {
    {"data", "data: of the classifier, of a gan on images and of landscape sweeps over classifiers: a labelled image "
             "dataset (the classifier also takes the keys of data.classifier)",
     k_data_keys, NULL},
    {"data.classifier", "data: the keys only the classifier family reads, besides those of data", k_data_train_keys,
     NULL},
    {"data.augment", "data.augment of the classifier: distortions of the training images, drawn per (seed, epoch, "
                     "sample)", k_augment_keys, NULL},
    {"data.augment.elastic", "data.augment.elastic: Simard et al. 2003's elastic distortion", k_elastic_keys, NULL},
    {"data.subsample", "data.subsample: images reduced to random pixel locations (Bruna et al. 2014)", k_subsample_keys,
     NULL},
    {"data.sphere", "data.sphere: MNIST projected onto the sphere under random rotations", k_sphere_keys, NULL},
    {NULL},
};

static int unknown_dataset(dlx_spec_node *data, const char *name, dlx_err *err)
{
    const char *names[16];
    int k = 0;
    for (const dlx_dataset_info *d; k < 15 && (d = dlx_dataset_at(k)); k++)
        names[k] = d->name;
    names[k] = NULL;
    const char *near = dlx_closest(name, names);
    return dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(data, "dataset")->loc,
                        "data.dataset: unknown dataset '%s'%s%s%s (one of: %s)", name, near ? "; did you mean '" : "",
                        near ? near : "", near ? "'?" : "", dlx_dataset_names());
}

/* data.range: [lo, hi] maps a pixel p in [0, 1] to lo + (hi - lo) p (a
 * tanh generator's [-1, 1]): the same transform as mean -lo / (hi - lo),
 * std 1 / (hi - lo); given with mean or std it would contradict them. */
static int read_range(dlx_spec_node *data, double *mean, double *std, dlx_err *err)
{
    dlx_spec_node *r = dlx_spec_get(data, "range");
    if (!r)
        return 0;
    int64_t lh[2];
    int n = 0;
    int rc = dlx_spec_int_list(data, "range", false, -1000, 1000, lh, 2, &n, err);
    if (!rc && (n != 2 || lh[0] >= lh[1]))
        rc = dlx_err_setf(err, DLX_EINVAL, r->loc, "data.range: give [lo, hi] with lo < hi, e.g. [-1, 1]");
    if (!rc && (dlx_spec_get(data, "mean") || dlx_spec_get(data, "std")))
        rc = dlx_err_setf(err, DLX_EINVAL, r->loc, "data.range: give either range or mean and std, not both");
    if (rc)
        return rc;
    *std = 1.0 / (double)(lh[1] - lh[0]);
    *mean = -(double)lh[0] * *std;
    return 0;
}

/* data.augment: {shift, rotate, scale, elastic: {alpha, sigma}}, each part
 * off unless given. */
static int read_augment(dlx_spec_node *data, dlx_augment *a, dlx_err *err)
{
    memset(a, 0, sizeof *a);
    dlx_spec_node *n = dlx_spec_get(data, "augment");
    if (!n)
        return 0;
    int rc = dlx_spec_expect_map(n, "data.augment", err);
    if (!rc) rc = dlx_spec_check_doc(n, "data.augment", k_augment_keys, err);
    if (!rc) rc = dlx_spec_float(n, "shift", false, 0.0, 0.0, 64.0, &a->shift, err);
    if (!rc) rc = dlx_spec_float(n, "rotate", false, 0.0, 0.0, 180.0, &a->rotate, err);
    if (!rc) rc = dlx_spec_float(n, "scale", false, 0.0, 0.0, 0.9, &a->scale, err);
    dlx_spec_node *e = rc ? NULL : dlx_spec_get(n, "elastic");
    if (e) {
        rc = dlx_spec_expect_map(e, "data.augment.elastic", err);
        if (!rc) rc = dlx_spec_check_doc(e, "data.augment.elastic", k_elastic_keys, err);
        if (!rc) rc = dlx_spec_float(e, "alpha", true, 0.0, 0.0, 1000.0, &a->alpha, err);
        if (!rc) rc = dlx_spec_float(e, "sigma", true, 0.0, 0.1, DLX_AUGMENT_SIGMA_MAX, &a->sigma, err);
    }
    return rc;
}

static int read_spec_seed(dlx_spec_node *root, uint64_t seed_value, dlx_images *im, bool train_keys, dlx_err *err);

/* data.sphere: {points, rotation, angle, field, seed}. */
static int read_sphere(dlx_spec_node *data, uint64_t seed, dlx_images *im, dlx_err *err)
{
    dlx_spec_node *s = dlx_spec_get(data, "sphere");
    if (!s)
        return 0;
    int64_t points, sd;
    int rot;
    double angle, field;
    int rc = dlx_spec_expect_map(s, "data.sphere", err);
    if (!rc) rc = dlx_spec_check_doc(s, "data.sphere", k_sphere_keys, err);
    if (!rc) rc = dlx_spec_int(s, "points", true, 0, 4, 1 << 16, &points, err);
    if (!rc) rc = dlx_spec_enum(s, "rotation", false, k_rotations, 0, &rot, err);
    if (!rc) rc = dlx_spec_float(s, "angle", false, 45.0, 0.0, 180.0, &angle, err);
    if (!rc) rc = dlx_spec_float(s, "field", false, 90.0, 1.0, 179.0, &field, err);
    if (!rc) rc = dlx_spec_int(s, "seed", false, (int64_t)(seed & INT64_MAX), 0, INT64_MAX, &sd, err);
    if (!rc && dlx_spec_get(data, "subsample"))
        rc = dlx_err_setf(err, DLX_EINVAL, s->loc, "data.sphere: give either sphere or subsample, not both");
    if (rc)
        return rc;
    im->sphere = (dlx_sphere_opts){.points = (int)points, .rotation = (dlx_sphere_rotation)rot, .angle_deg = angle,
                                   .field_deg = field, .seed = (uint64_t)sd};
    im->sphere_loc = s->loc;
    return 0;
}

/* data.subsample: {points: P, seed: S}; S defaults to the spec's seed. */
static int read_subsample(dlx_spec_node *data, uint64_t seed, dlx_images *im, dlx_err *err)
{
    dlx_spec_node *s = dlx_spec_get(data, "subsample");
    if (!s)
        return 0;
    int64_t points;
    int rc = dlx_spec_expect_map(s, "data.subsample", err);
    if (!rc) rc = dlx_spec_check_doc(s, "data.subsample", k_subsample_keys, err);
    if (!rc) rc = dlx_spec_int(s, "points", true, 0, 1, 1 << 24, &points, err);
    if (!rc) rc = dlx_spec_int(s, "seed", false, (int64_t)(seed & INT64_MAX), 0, INT64_MAX, &im->sub_seed, err);
    if (rc)
        return rc;
    im->sub_points = (int)points;
    im->sub_loc = dlx_spec_get(s, "points")->loc;
    return 0;
}

int dlx_images_read_spec(dlx_spec_node *root, dlx_images *im, bool train_keys, dlx_err *err)
{
    dlx_spec_node *seed = dlx_spec_get(root, "seed");
    int64_t v = 0;
    if (seed && dlx_spec_int(root, "seed", false, 0, INT64_MIN, INT64_MAX, &v, err))
        return err->code;
    return read_spec_seed(root, (uint64_t)v, im, train_keys, err);
}

static int read_spec_seed(dlx_spec_node *root, uint64_t seed_value, dlx_images *im, bool train_keys, dlx_err *err)
{
    dlx_spec_node *data = dlx_spec_get(root, "data");
    if (!data)
        return dlx_err_setf(err, DLX_EINVAL, root->loc, "missing required key 'data' (e.g. data: {dataset: mnist})");
    int rc = dlx_spec_expect_map(data, "data", err);
    if (!rc) {
        const dlx_key_doc *const both[] = {k_data_keys, k_data_train_keys, NULL}, *const one[] = {k_data_keys, NULL};
        rc = dlx_spec_check_docs(data, "data", train_keys ? both : one, err);
    }
    if (!rc) rc = dlx_spec_str(data, "dataset", true, NULL, &im->dataset, err);
    if (!rc && !dlx_dataset_find(im->dataset))
        rc = unknown_dataset(data, im->dataset, err);
    double mean = 0.0, std = 1.0;
    int64_t pad, resize[2];
    int n_resize = 0;
    if (!rc) rc = dlx_spec_str(data, "dir", false, NULL, &im->dir, err);
    bool range = dlx_spec_get(data, "range") != NULL;
    if (!rc && range) rc = read_range(data, &mean, &std, err);
    if (!rc && !range) rc = dlx_spec_float(data, "mean", false, 0.0, -1e3, 1e3, &mean, err);
    if (!rc && !range) rc = dlx_spec_float(data, "std", false, 1.0, 1e-6, 1e3, &std, err);
    if (!rc) rc = dlx_spec_int(data, "pad", false, 0, 0, 64, &pad, err);
    if (!rc) rc = dlx_spec_int_list(data, "resize", false, 1, 4096, resize, 2, &n_resize, err);
    if (!rc && n_resize == 1)
        resize[1] = resize[0];
    if (!rc) rc = dlx_spec_int(data, "train_limit", false, 0, 0, INT64_MAX, &im->train_limit, err);
    if (!rc) rc = dlx_spec_int(data, "test_limit", false, 0, 0, INT64_MAX, &im->test_limit, err);
    /* read only where given: a default would enter the resolved spec, and
     * checkpoints of runs before the key would no longer resume */
    if (!rc && dlx_spec_get(data, "validation"))
        rc = dlx_spec_int(data, "validation", false, 0, 0, INT64_MAX, &im->validation, err);
    if (!rc) rc = read_augment(data, &im->aug, err);
    if (!rc) rc = read_subsample(data, seed_value, im, err);
    if (!rc) rc = read_sphere(data, seed_value, im, err);
    if (!rc && (im->sub_points || im->sphere.points) && pad)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(data, "pad")->loc,
                          "data.pad: subsampled or projected images have no grid to pad; drop pad");
    if (rc)
        return rc;
    dlx_spec_node *v = dlx_spec_get(data, "validation");
    im->validation_loc = v ? v->loc : data->loc;
    im->tf = (dlx_transform){.mean = (float)mean, .std = (float)std, .pad = (int)pad};
    im->resize_h = n_resize ? (int)resize[0] : 0;
    im->resize_w = n_resize ? (int)resize[1] : 0;
    return 0;
}

static int load_split(const dlx_images *im, const char *name, const char *split, int64_t limit, dlx_dataset *d,
                      dlx_err *err)
{
    int rc = dlx_dataset_load_cached(name, split, im->dir, limit, im->resize_h, im->resize_w, d, err);
    if (!rc && im->sphere_xyz)
        return dlx_sphere_dataset(d, &im->sphere, im->sphere_xyz, err);
    if (rc || !im->locations)
        return rc;
    if (d->h != im->src_h || d->w != im->src_w)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "dataset %s:%s has %dx%d images, but data.subsample's locations are in %dx%d ones", name,
                            split, d->h, d->w, im->src_h, im->src_w);
    return dlx_subsample_dataset(d, im->locations, im->sub_points, err);
}

int dlx_images_declare_locations(const dlx_images *im, dlx_params *params, dlx_err *err)
{
    if (im->sphere_xyz) {
        const int P = im->sphere.points;
        float *v = malloc((size_t)P * 3 * sizeof *v);
        if (!v)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        for (int i = 0; i < 3 * P; i++)
            v[i] = (float)im->sphere_xyz[i];
        int rc = dlx_params_declare_buffer_data(params, "data.sphere.points", dlx_shape_2d(P, 3), v, true, err);
        free(v);
        return rc < 0 ? rc : 0;
    }
    if (!im->locations)
        return 0;
    float *v = malloc((size_t)im->sub_points * sizeof *v);
    if (!v)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    for (int i = 0; i < im->sub_points; i++)
        v[i] = (float)im->locations[i]; /* exact below 2^24 pixels */
    int rc = dlx_params_declare_buffer_data(params, "data.subsample.locations", dlx_shape_1d(im->sub_points), v, true,
                                            err);
    free(v);
    return rc < 0 ? rc : 0;
}

/* The sphere's points and the test split projected onto them. */
static int open_sphere(dlx_images *im, dlx_err *err)
{
    if (im->test.c != 1 && im->test.c != 3)
        return dlx_err_setf(err, DLX_EINVAL, im->sphere_loc, "data.sphere: %s has %d channels", im->dataset,
                            im->test.c);
    if (!(im->sphere_xyz = malloc((size_t)im->sphere.points * 3 * sizeof *im->sphere_xyz)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_sphere_points(im->sphere.points, im->sphere_xyz);
    im->points = (dlx_points){.n = im->sphere.points, .dim = 3, .xy = im->sphere_xyz};
    return dlx_sphere_dataset(&im->test, &im->sphere, im->sphere_xyz, err);
}

/* The locations in the test split's images (as loaded), and the test split reduced to them. */
static int open_subsample(dlx_images *im, dlx_err *err)
{
    dlx_dataset *d = &im->test;
    int64_t px = (int64_t)d->h * d->w;
    if (im->sub_points > px)
        return dlx_err_setf(err, DLX_EINVAL, im->sub_loc, "data.subsample.points: %d, but %s has %lld pixels per image",
                            im->sub_points, im->dataset, (long long)px);
    im->locations = malloc((size_t)im->sub_points * sizeof *im->locations);
    im->xy = malloc((size_t)im->sub_points * 2 * sizeof *im->xy);
    if (!im->locations || !im->xy)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    int rc = dlx_subsample_locations((uint64_t)im->sub_seed, d->h, d->w, im->sub_points, im->locations, err);
    if (rc)
        return rc;
    im->src_h = d->h;
    im->src_w = d->w;
    dlx_subsample_coords(im->locations, im->sub_points, d->w, im->xy);
    im->points = (dlx_points){.n = im->sub_points, .dim = 2, .xy = im->xy};
    return dlx_subsample_dataset(d, im->locations, im->sub_points, err);
}

static int check_compatible(const dlx_images *im, const dlx_dataset *d, dlx_err *err)
{
    int ch, h, w;
    dlx_transform_shape(d, &im->tf, &ch, &h, &w);
    if (ch != im->c || h != im->h || w != im->w || d->num_classes != im->num_classes)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "dataset %s:%s has %dx%dx%d inputs and %d classes, but the model takes %dx%dx%d and %d",
                            d->name, d->split, ch, h, w, d->num_classes, im->c, im->h, im->w, im->num_classes);
    return 0;
}

int dlx_images_open(dlx_images *im, int64_t batch, const char *batch_key, dlx_loc batch_loc, dlx_err *err)
{
    int rc = dlx_dataset_check_splits(im->dataset, im->dir, im->train_limit, im->resize_h > 0, batch, batch_key,
                                      batch_loc, &im->train_n, &im->train_px, err);
    /* the samples that stay for training once the validation split is out */
    if (!rc && im->validation && im->train_n && im->validation >= im->train_n)
        rc = dlx_err_setf(err, DLX_EINVAL, im->validation_loc,
                          "data.validation: holding out %lld of the %lld training samples leaves none to train on",
                          (long long)im->validation, (long long)im->train_n);
    else if (!rc && im->validation && im->train_n && batch > im->train_n - im->validation)
        rc = dlx_err_setf(err, DLX_EINVAL, batch_loc,
                          "%s: %lld is larger than the %lld training samples left after data.validation holds out %lld",
                          batch_key, (long long)batch, (long long)(im->train_n - im->validation),
                          (long long)im->validation);
    if (!rc) rc = load_split(im, im->dataset, "test", im->test_limit, &im->test, err);
    if (!rc && im->sub_points) rc = open_subsample(im, err);
    if (!rc && im->sphere.points) rc = open_sphere(im, err);
    if (rc)
        return rc;
    im->num_classes = im->test.num_classes;
    dlx_transform_shape(&im->test, &im->tf, &im->c, &im->h, &im->w);
    return 0;
}

int dlx_images_load_train(dlx_images *im, dlx_err *err)
{
    if (im->train_loaded)
        return 0;
    int rc = load_split(im, im->dataset, "train", im->train_limit, &im->train, err);
    if (!rc) rc = check_compatible(im, &im->train, err);
    if (!rc && im->validation >= im->train.n)
        rc = dlx_err_setf(err, DLX_EINVAL, im->validation_loc,
                          "data.validation: holding out %lld of the %lld training samples leaves none to train on",
                          (long long)im->validation, (long long)im->train.n);
    if (!rc && im->validation) { /* the tail, a view: the training split's buffers hold it */
        int64_t keep = im->train.n - im->validation;
        size_t px = (size_t)im->train.c * (size_t)im->train.h * (size_t)im->train.w;
        im->val = im->train;
        im->val.images += (size_t)keep * px;
        im->val.labels += keep;
        im->val.n = im->validation;
        im->val.borrowed = true;
        snprintf(im->val.split, sizeof im->val.split, "validation");
        im->train.n = keep;
    }
    if (!rc && !(im->order = malloc((size_t)im->train.n * sizeof *im->order)))
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    im->train_loaded = !rc;
    return rc;
}

void dlx_images_epoch(dlx_images *im, uint64_t seed, int64_t epoch)
{
    dlx_epoch_order(seed, epoch, im->order, (uint32_t)im->train.n);
    im->aug_seed = seed;
    im->aug_epoch = epoch;
}

size_t dlx_images_scratch_floats(const dlx_images *im)
{
    return dlx_augment_on(&im->aug) ? dlx_augment_scratch_floats(im->h, im->w) : 0;
}

void dlx_images_augment(const dlx_images *im, uint64_t seed, int64_t epoch, const uint32_t *idx, int n, float *x,
                        float *scratch)
{
    /* a background pixel, 0, after tf: what padding and the outside read */
    float std = im->tf.std != 0.0f ? im->tf.std : 1.0f, fill = -im->tf.mean / std;
    size_t per = (size_t)im->c * (size_t)im->h * (size_t)im->w;
    for (int s = 0; s < n; s++)
        dlx_augment_sample(&im->aug, seed, epoch, idx[s], im->c, im->h, im->w, fill, x + s * per, scratch);
}

void dlx_images_feed(const dlx_images *im, int64_t batch, int64_t pos, int64_t first, int rows, uint32_t *idx,
                     float *x, float *y, float *scratch)
{
    const uint32_t *src = im->order + pos * batch + first;
    memcpy(idx, src, (size_t)rows * sizeof *idx);
    dlx_dataset_batch(&im->train, &im->tf, idx, rows, x, y);
    if (dlx_augment_on(&im->aug)) {
        DLX_ASSERT(scratch != NULL);
        dlx_images_augment(im, im->aug_seed, im->aug_epoch, idx, rows, x, scratch);
    }
    /* small samples in random order are cache misses: start the next
     * batch's rows on their way while this one computes */
    if (pos + 1 < im->train.n / batch)
        dlx_dataset_prefetch(&im->train, src + batch, rows);
}

int dlx_images_index_classes(dlx_images *im, dlx_err *err)
{
    if (im->by_class)
        return 0;
    const dlx_dataset *d = &im->train;
    int k = d->num_classes;
    im->class_start = calloc((size_t)k + 2, sizeof *im->class_start);
    im->by_class = malloc((size_t)(d->n ? d->n : 1) * sizeof *im->by_class);
    if (!im->class_start || !im->by_class) {
        free(im->class_start);
        free(im->by_class);
        im->class_start = NULL;
        im->by_class = NULL;
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory indexing the classes");
    }
    for (int64_t i = 0; i < d->n; i++) /* labels were checked < num_classes at load */
        im->class_start[d->labels[i] + 1]++;
    for (int c = 0; c < k; c++)
        im->class_start[c + 1] += im->class_start[c];
    int64_t *next = calloc((size_t)k + 1, sizeof *next);
    if (!next)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory indexing the classes");
    memcpy(next, im->class_start, (size_t)k * sizeof *next);
    for (int64_t i = 0; i < d->n; i++)
        im->by_class[next[d->labels[i]]++] = (uint32_t)i;
    free(next);
    return 0;
}

void dlx_images_feed_member(const dlx_images *im, int64_t batch, int64_t pos, int64_t first, int rows, int member,
                            bool same_class, uint64_t seed, int64_t step, uint32_t *idx, float *x, float *y)
{
    DLX_ASSERT(member >= 1 && im->by_class);
    const uint32_t *anchor = im->order + pos * batch + first;
    for (int r = 0; r < rows; r++) {
        dlx_rng g;
        dlx_rng_init(&g, seed, DLX_STREAM_SAMPLE + (((uint64_t)step * 16 + (uint64_t)member) << 8));
        g.counter = (uint64_t)(first + r) << 4; /* 16 blocks per row of the batch */
        if (!same_class) {
            idx[r] = dlx_rng_below(&g, (uint32_t)im->train.n);
            continue;
        }
        int c = im->train.labels[anchor[r]];
        int64_t lo = im->class_start[c], n = im->class_start[c + 1] - lo;
        if (n <= 1) {
            idx[r] = anchor[r];
            continue;
        }
        /* another sample of the class: one of the n - 1 others */
        int64_t j = (int64_t)dlx_rng_below(&g, (uint32_t)(n - 1));
        uint32_t pick = im->by_class[lo + j];
        idx[r] = pick == anchor[r] ? im->by_class[lo + n - 1] : pick;
    }
    dlx_dataset_batch(&im->train, &im->tf, idx, rows, x, y);
}

int dlx_images_load_named(const dlx_images *im, const char *data, dlx_dataset *d, dlx_err *err)
{
    char name[64], split[16] = "test";
    const char *colon = strchr(data, ':');
    size_t len = colon ? (size_t)(colon - data) : strlen(data);
    if (len >= sizeof name || (colon && strlen(colon + 1) >= sizeof split))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--data: expected NAME:SPLIT, e.g. mnist:test, got '%s'", data);
    memcpy(name, data, len);
    name[len] = '\0';
    if (colon)
        snprintf(split, sizeof split, "%s", colon + 1);
    if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--data: unknown split '%s' (train or test)", split);
    if (!dlx_dataset_find(name))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--data: unknown dataset '%s' (one of: %s)", name,
                            dlx_dataset_names());
    int rc = load_split(im, name, split, 0, d, err);
    if (!rc) rc = check_compatible(im, d, err);
    return rc;
}

double dlx_images_bytes(const dlx_images *im)
{
    double px = (double)im->test.c * im->test.h * im->test.w;
    double b = (double)im->test.n * (px + 1) + (double)im->train_n * (px + 1 + 4);
    if (im->resize_h)
        b += (double)im->train_n * (double)im->train_px;
    return b;
}

int dlx_images_write_grid(const dlx_dataset *d, const uint32_t *idx, int n, const char *const *captions,
                          const char *title, const char *path, dlx_err *err)
{
    dlx_transform plain = {.mean = 0.0f, .std = 1.0f};
    int tc, th, tw;
    dlx_transform_shape(d, &plain, &tc, &th, &tw);
    float *tiles = malloc((size_t)n * (size_t)(tc * th * tw) * sizeof(float));
    if (!tiles)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_dataset_batch(d, &plain, idx, n, tiles, NULL);
    dlx_grid grid = {.rows = (n + 9) / 10, .cols = 10, .c = tc, .h = th, .w = tw, .zoom = th < 28 ? 56 / th : 2,
                     .lo = 0.0f, .hi = 1.0f, .captions = captions, .title = title};
    int rc = dlx_png_write_grid(path, &grid, tiles, n, err);
    free(tiles);
    return rc;
}

void dlx_images_free(dlx_images *im)
{
    dlx_dataset_free(&im->val);
    dlx_dataset_free(&im->train);
    dlx_dataset_free(&im->test);
    free(im->order);
    free(im->by_class);
    free(im->class_start);
    free(im->locations);
    free(im->xy);
    free(im->sphere_xyz);
    im->sphere_xyz = NULL;
    im->locations = NULL;
    im->xy = NULL;
    im->order = NULL;
    im->by_class = NULL;
    im->class_start = NULL;
    im->train_loaded = false;
}
