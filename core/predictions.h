/* A classifier's outputs on every sample of a split (dlx eval's error
 * analysis): logits, the predicted class (the first largest logit) and the
 * label, and their HDF5 file (`dlx eval --predictions FILE.h5`):
 *
 *   /logits      float32 [n, classes]
 *   /prediction  int32 [n]
 *   /label       int32 [n]
 *
 * each with a "description" attribute, and file attributes format
 * ("dlx-predictions"), checkpoint, data (--data NAME:SPLIT as given, or "test": the spec's test split), step and classes.
 * Written through core/h5write.h (a .tmp renamed into place).
 */
#ifndef DLX_PREDICTIONS_H
#define DLX_PREDICTIONS_H

#include <stdint.h>

#include "err.h"

typedef struct dlx_predictions {
    int64_t n;      /* samples */
    int k;          /* classes */
    float *logits;  /* n x k */
    int32_t *pred;  /* n */
    int32_t *label; /* n */
} dlx_predictions;

int dlx_predictions_alloc(dlx_predictions *p, int64_t n, int k, dlx_err *err);
void dlx_predictions_free(dlx_predictions *p);
/* The index of the first largest of k values (the classifier's answer). */
int dlx_argmax(const float *z, int k);
int dlx_predictions_write(const char *path, const dlx_predictions *p, const char *checkpoint, const char *data,
                          int64_t step, dlx_err *err);

#endif
