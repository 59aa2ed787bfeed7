/* Early stopping on an evaluation metric (train.early_stopping):
 *
 *   train:
 *     early_stopping: {metric: val_loss, patience: 3, mode: min}
 *
 * At every evaluation the metric (a result the family's evaluation gives,
 * e.g. the classifier's val_loss) is compared with the best so far (lower
 * is better with mode min, the default, higher with max, the default for a
 * metric whose name ends in "accuracy"). Training stops after the first
 * evaluation that is `patience` epochs past the best one. The best value,
 * its epoch and step and whether the run has stopped are loop state, kept
 * in the checkpoint (/state/early_stopping.*), so a stopped and resumed run
 * stops at the same epoch as an uninterrupted one.
 */
#ifndef DLX_EARLY_STOP_H
#define DLX_EARLY_STOP_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/spec.h"
#include "../core/spec_doc.h"

typedef struct dlx_early_stop {
    const char *metric; /* NULL: off; borrowed from the spec */
    int64_t patience;   /* epochs after the best one that end the run */
    bool maximize;
    dlx_loc loc;        /* the metric's place in the spec */
} dlx_early_stop;

/* Its values in the loop's state (m->state), in this order. */
enum { DLX_ES_BEST, DLX_ES_BEST_EPOCH, DLX_ES_BEST_STEP, DLX_ES_STOPPED, DLX_ES_N };
extern const char *const dlx_early_stop_state_names[DLX_ES_N];
/* The keys of train.early_stopping and their reference (core/spec_doc.h). */
extern const dlx_key_doc dlx_early_stop_keys[];

/* Read train.early_stopping (absent: off); eval_every 0 (no evaluation
 * before the end) cannot stop early and is refused with it. */
int dlx_early_stop_read(dlx_spec_node *train, int64_t eval_every, dlx_early_stop *es, dlx_err *err);

/* The evaluation at the end of `epoch` (1-based) and `step` measured v:
 * state (DLX_ES_N values) updated; *improved when v is the new best (a
 * non-finite v never is). Returns whether training stops here. */
bool dlx_early_stop_update(const dlx_early_stop *es, double *state, double v, int64_t epoch, int64_t step,
                           bool *improved);

#endif
