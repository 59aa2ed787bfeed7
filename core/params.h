/* The named parameter store.
 *
 * Every trainable tensor has a unique name ("conv1.weight"). Graphs refer to
 * parameters by index; two graph nodes naming the same parameter share its
 * value and gradient (tied weights) and their gradients add up, because every
 * backward accumulates. After all parameters are declared, dlx_params_finalize
 * collates values into one block and gradients into another, so zeroing, the
 * optimizer step and the checkpoint are each one loop.
 */
#ifndef DLX_PARAMS_H
#define DLX_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "tensor.h"

#define DLX_NAME_MAX 96

typedef enum dlx_init_kind {
    DLX_INIT_ZERO,
    DLX_INIT_CONST,        /* a */
    DLX_INIT_UNIFORM,      /* U(-a, a) */
    DLX_INIT_NORMAL,       /* N(0, a^2) */
    DLX_INIT_XAVIER,       /* U(-s, s), s = sqrt(6 / (fan_in + fan_out)) */
    DLX_INIT_KAIMING,      /* N(0, 2 / fan_in) (He et al. 2015, for ReLU) */
    DLX_INIT_LECUN,        /* U(-s, s), s = sqrt(3 / fan_in) (LeCun et al. 1998) */
    DLX_INIT_TORCH,        /* U(-s, s), s = 1 / sqrt(fan_in) (Torch7 default reset) */
} dlx_init_kind;

typedef struct dlx_init {
    dlx_init_kind kind;
    float a;
    int64_t fan_in, fan_out;
} dlx_init;

typedef struct dlx_param {
    char name[DLX_NAME_MAX];
    dlx_tensor t;       /* data/grad point into the store's blocks after finalize */
    dlx_init init;
    bool decay;         /* weight decay applies (weights yes, biases no) */
    int n_uses;         /* graph nodes that use it; >1 means tied */
} dlx_param;

typedef struct dlx_params {
    dlx_param *items;
    int n, cap;
    float *values, *grads; /* one block each, set by finalize */
    int64_t total;         /* floats in each block */
    bool final;
} dlx_params;

void dlx_params_init(dlx_params *p);
void dlx_params_free(dlx_params *p);

/* Declare a parameter, or return the existing one of that name if the shape
 * matches (tying). A shape mismatch with an existing name is DLX_EINVAL.
 * Returns the index (>= 0) or a negative error. After finalize only existing
 * names can be declared (a second graph, e.g. a smaller batch, over the same store). */
int dlx_params_declare(dlx_params *p, const char *name, dlx_shape shape, dlx_init init, bool decay,
                       dlx_err *err);

int dlx_params_find(const dlx_params *p, const char *name); /* index or -1 */

/* Allocate the value and gradient blocks (zeroed). */
int dlx_params_finalize(dlx_params *p, dlx_err *err);

/* Draw every parameter's initial values; parameter i uses stream
 * DLX_STREAM_INIT + ((i+1) << 8) of `seed`, so values depend only on (seed, i). */
void dlx_params_init_values(dlx_params *p, uint64_t seed);

void dlx_params_zero_grad(dlx_params *p);

/* true if every value is finite; else sets *bad to the first bad index. */
bool dlx_params_all_finite(const dlx_params *p, int *bad);

#endif
