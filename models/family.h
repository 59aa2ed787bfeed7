/* Model families: the contract of one family (models/<family>.c, or
 * experiments/sweep_model.c for the sweep family, which runs the sweep engine
 * of experiments/), picked by `model.kind` in the spec through the registry
 * (experiments/registry.h). The CLI knows no family by name.
 *
 * A family builds its graphs, declares its losses, feeds and measures, and
 * evaluates; it trains through the loop of train/trainer.h (the classifier
 * and sparse coding's encoders do, and so does each run of a landscape
 * sweep, which trains a classifier; the landscape family's toy problems are
 * hand-written descents outside it, models/landscape.c says why) and
 * shares the run machinery of train/ with every other family: the model
 * record, results and progress reports (train/run.h), checkpoints
 * (train/checkpoint.h), resume (train/resume.h) and the memory budget
 * (train/budget.h). Models are created through the registry by
 * experiments/model.h; no family in models/ creates another model.
 */
#ifndef DLX_FAMILY_H
#define DLX_FAMILY_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/spec.h"
#include "../core/spec_doc.h"
#include "../train/run.h"

struct dlx_gradcheck_opts;
struct dlx_gradcheck_report;
struct dlx_images;
struct dlx_predictions;

/* What a family's generator takes and gives (dlx_family.sample). */
typedef struct dlx_sample_shape {
    int64_t nz;  /* one latent vector's size */
    int c, h, w; /* one image's shape */
} dlx_sample_shape;

/* A grid of `dlx sample --transfer` or `--interpolate` (dlx_family.transfer). */
typedef struct dlx_transfer_req {
    bool interpolate; /* false: the swap grid; true: the 2-D interpolation between two images */
    int rows, cols;   /* the grid's decoded cells (the swap grid adds a row and a column of sources) */
    uint64_t seed;    /* picks the source images */
} dlx_transfer_req;

typedef struct dlx_family {
    const char *name;
    const char *help;
    /* Its train goes straight to dlx_trainer_run, writing nothing before:
     * `dlx train --dry-run` can time its steps (train/trainer.h). */
    bool dry_run;
    /* Validate the spec, load data, build graphs and parameters into m
     * (m->spec, m->run_dir, m->seed are set by the caller). */
    int (*create)(dlx_model *m, dlx_err *err);
    void (*destroy)(dlx_model *m);
    /* Train from m->step to the end of the spec, calling the run hooks. */
    int (*train)(dlx_model *m, dlx_err *err);
    /* Evaluate on `data` ("mnist:test"; NULL = the spec's test split) and
     * fill results. */
    int (*evaluate)(dlx_model *m, const char *data, dlx_results *res, dlx_err *err);
    /* Finite-difference check of the built graph's gradients on a small real
     * batch (see core/gradcheck.h); fills a report. NULL: the family has no
     * graph to check (dlx gradcheck says so). */
    int (*gradcheck)(dlx_model *m, const struct dlx_gradcheck_opts *o,
                     struct dlx_gradcheck_report *rep, dlx_err *err);
    /* Optional (NULL: the family draws no figure). For `dlx reproduce`: read the
     * results file it wrote (layout in experiments/reproduce.h), write the data and a
     * gnuplot script to script_path that draws the paper's figure into png.
     * Library code never runs gnuplot; the CLI does. */
    int (*figure)(const char *results_h5, const char *png, const char *script_path, dlx_err *err);
    /* Optional (NULL: the family trains on no labelled images). The data:
     * reader training reads from (train/images.h), its training split
     * loaded, for a measure that must see the very inputs training saw (the
     * landscape sweep's Hessian). */
    int (*train_images)(dlx_model *m, const struct dlx_images **im, dlx_err *err);
    /* Optional (NULL: the family has no generator). For `dlx sample`, which
     * draws the latent vectors: with z NULL, only *shape; else the generator
     * on n latent vectors z (n x shape->nz) into x (n images of c*h*w, planar),
     * pixel values in [0, 1] whatever the data's range. */
    int (*sample)(dlx_model *m, const float *z, int64_t n, float *x, dlx_sample_shape *shape, dlx_err *err);
    /* Optional (NULL: the family has no split code). For `dlx sample
     * --transfer / --interpolate`: with x NULL only *shape and the tiles of
     * the grid (*rows x *cols); else the tiles, pixels in [0, 1], into x. */
    int (*transfer)(dlx_model *m, const dlx_transfer_req *q, float *x, int *rows, int *cols, dlx_sample_shape *shape,
                    dlx_err *err);
    /* Optional (NULL: the family does not classify). `evaluate`, which also
     * fills *p (core/predictions.h; the caller frees it) with every sample's
     * logits, predicted class and label, for `dlx eval`'s error analysis. */
    int (*classify)(dlx_model *m, const char *data, dlx_results *res, struct dlx_predictions *p, dlx_err *err);
    /* Optional (NULL: no ONNX export). For `dlx export --onnx`: the network
     * from its input to its output, at inference, as an ONNX model at path
     * (core/onnx.h); checkpoint names the source in the model's doc string. */
    int (*export_onnx)(dlx_model *m, const char *path, const char *checkpoint, dlx_err *err);
    /* Optional (NULL: the family cannot be swept). What a run of this family
     * gives a sweep (experiments/sweep.h) as measures: names of results it
     * puts into m->results while training (NULL-terminated); "hessian" is the
     * sweep's Hessian measure (four columns), for a family with train_images.
     * The sweep adds steps, seconds and diverged for every family. */
    const char *const *sweep_measures;
    /* A measure train_<r> is result <r> of evaluate on the training split at
     * the end point (the classifier's loss there), not the epoch's average. */
    bool sweep_train_split;
    /* The reference of the maps the family reads itself (model.<name> and
     * its parts, its own data: or train:), ending in {NULL}; each section's
     * table sits beside the parser of its map (core/spec_doc.h). */
    const dlx_spec_section *spec_sections;
} dlx_family;

#endif
