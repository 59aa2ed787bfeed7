/* Checkpoints of a model's run: <run_dir>/checkpoint.h5 (format in
 * core/h5io.h). The family's name is stored as the "family" attribute and
 * checked on load. */
#ifndef DLX_CHECKPOINT_H
#define DLX_CHECKPOINT_H

#include <stdbool.h>

#include "../core/err.h"
#include "run.h"

/* Save params, buffers, every optimizer's slots and update count, the loop
 * state, step/epoch/rng and the resolved spec to <run_dir>/checkpoint.h5
 * atomically (format version 2, core/h5io.h). */
int dlx_run_save_checkpoint(dlx_model *m, dlx_err *err);
/* The same contents to <run_dir>/<file> (best.h5 of early stopping); the
 * last checkpoint (m->checkpoint_step) stays checkpoint.h5's. */
int dlx_run_save_checkpoint_as(dlx_model *m, const char *file, dlx_err *err);
/* Load params and buffers (and optimizer state, step, epoch and loop state
 * when with_optim) from path, format version 1 or 2, into a model already
 * built from the same spec. */
int dlx_run_load_checkpoint(dlx_model *m, const char *path, bool with_optim, dlx_err *err);

#endif
