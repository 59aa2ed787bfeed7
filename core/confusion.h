/* The confusion matrix of a classifier's predictions and what is read off
 * it: per-class accuracy and the most confused pairs; and its pictures: a
 * heat map drawn with libpng and the bitmap font (always), and the data and a
 * gnuplot script for the same figure (the CLI renders it over the libpng one
 * when gnuplot is installed; library code never runs gnuplot).
 */
#ifndef DLX_CONFUSION_H
#define DLX_CONFUSION_H

#include <stdint.h>

#include "err.h"

typedef struct dlx_confusion {
    int k;          /* classes */
    int64_t n;      /* samples counted */
    int64_t *count; /* k x k: count[true * k + predicted] */
} dlx_confusion;

typedef struct dlx_confused_pair {
    int truth, predicted;
    int64_t count;
} dlx_confused_pair;

/* Counts n (label, prediction) pairs; a label or prediction outside
 * 0..k-1 is DLX_EINVAL naming the sample. */
int dlx_confusion_build(const int32_t *label, const int32_t *pred, int64_t n, int k, dlx_confusion *c, dlx_err *err);
void dlx_confusion_free(dlx_confusion *c);
/* Samples of class cls, and the fraction of them predicted as cls (NaN for
 * a class without samples). */
int64_t dlx_confusion_class_total(const dlx_confusion *c, int cls);
double dlx_confusion_class_accuracy(const dlx_confusion *c, int cls);
/* Up to max off-diagonal cells with a count, largest first (ties: by true
 * class, then predicted class); returns how many. */
int dlx_confusion_top_pairs(const dlx_confusion *c, dlx_confused_pair *out, int max);
/* The heat map as a PNG: rows "true", columns "predicted", the class
 * indices on both axes, each cell's count in it, `title` above. */
int dlx_confusion_write_png(const dlx_confusion *c, const char *title, const char *png_path, dlx_err *err);
/* The matrix as data_path and a gnuplot script drawing the same figure into
 * png_path (pngcairo). */
int dlx_confusion_write_script(const dlx_confusion *c, const char *title, const char *png_path,
                               const char *data_path, const char *script_path, dlx_err *err);

#endif
