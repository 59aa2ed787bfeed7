/* A run directory that holds a run (a checkpoint.h5 or metrics.h5 that dlx
 * wrote) is never overwritten silently: a command that would write a new run
 * there refuses unless told to replace it (--force), so a finished run is not
 * lost to a rerun with the same spec or --out. */
#ifndef DLX_REPLACE_H
#define DLX_REPLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

/* What `dir` holds: *holds is false when it has neither checkpoint.h5 nor
 * metrics.h5; else `what` says what, e.g. "checkpoint.h5 at step 937,
 * epoch 1 of 10, and metrics.h5" (a checkpoint that does not load is
 * described as such, never an error). */
int dlx_run_describe(const char *dir, bool *holds, char *what, size_t n, dlx_err *err);

/* DLX_EINVAL when `dir` holds a run: "<dir> already holds a run (<what>);
 * <ways>", `ways` naming how to go on ("continue it with --resume, ..."). */
int dlx_run_refuse_replace(const char *dir, const char *ways, dlx_err *err);

/* --force: remove dir's checkpoint.h5 and metrics.h5 (absent is fine), so a
 * replaced run never mixes with the old one's files. */
int dlx_run_discard(const char *dir, dlx_err *err);

/* train.epochs and the step of <dir>/checkpoint.h5's run (from its /spec):
 * DLX_EINVAL when there is no checkpoint, DLX_EFORMAT when it is corrupt. */
int dlx_run_checkpoint_epochs(const char *dir, int64_t *epochs, int64_t *step, dlx_err *err);

#endif
