/* --resume: continue a run from its run directory's checkpoint. */
#ifndef DLX_RESUME_H
#define DLX_RESUME_H

#include <stdbool.h>

#include "../core/err.h"
#include "run.h"

/* --resume: load <run_dir>/checkpoint.h5 if it exists (*found says so).
 * Its /spec must equal the model's resolved spec, apart from name,
 * description, train.log_every, eval_every, checkpoint_every, save and
 * threads (with m->extend_from_epochs, its train.epochs raised to the
 * model's); else DLX_EINVAL naming the first differing key and both values. m->stop_at, when set, must lie after the checkpoint's step
 * (DLX_EINVAL). */
int dlx_run_resume(dlx_model *m, bool *found, dlx_err *err);

#endif
