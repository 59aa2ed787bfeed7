/* Dense float32 tensors, up to 4 dimensions, row-major (NCHW for images).
 *
 * A dlx_tensor never owns its memory: `data` and `grad` point into an arena
 * (activations) or into the parameter store's block (parameters). Whoever
 * allocated the block frees it. `grad` is NULL where no gradient is needed.
 */
#ifndef DLX_TENSOR_H
#define DLX_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLX_MAX_DIM 4

typedef struct dlx_shape {
    int ndim;
    int64_t d[DLX_MAX_DIM];
} dlx_shape;

typedef struct dlx_tensor {
    dlx_shape shape;
    int64_t numel;
    float *data;
    float *grad;
} dlx_tensor;

dlx_shape dlx_shape_make(int ndim, const int64_t *dims);
dlx_shape dlx_shape_1d(int64_t a);
dlx_shape dlx_shape_2d(int64_t a, int64_t b);
dlx_shape dlx_shape_4d(int64_t n, int64_t c, int64_t h, int64_t w);
int64_t dlx_shape_numel(const dlx_shape *s);
bool dlx_shape_eq(const dlx_shape *a, const dlx_shape *b);
/* "[64, 6, 28, 28]" into buf; returns buf. */
char *dlx_shape_str(const dlx_shape *s, char *buf, size_t n);

/* A view of existing memory; grad may be NULL. */
dlx_tensor dlx_tensor_view(dlx_shape s, float *data, float *grad);

#endif
