/* The named parameter store.
 *
 * Every trainable tensor has a unique name ("conv1.weight"). Graphs refer to
 * parameters by index; two graph nodes naming the same parameter share its
 * value and gradient (tied weights) and their gradients add up, because every
 * backward accumulates. After all parameters are declared, dlx_params_finalize
 * collates values into one block and gradients into another, so zeroing, the
 * optimizer step and the checkpoint are each one loop.
 *
 * Networks: a model with several networks (a generator and a discriminator)
 * declares each one's parameters after dlx_params_begin_group(name); they
 * carry the name as prefix ("gen.linear1.weight"), form that group (an
 * optimizer's `params:` names groups) and are initialised from streams of
 * (group, index within the group), so adding a network never moves another
 * network's initial values. Parameters declared before any group belong to
 * group 0, the unnamed whole-model group, initialised by store index as
 * always.
 *
 * Buffers: non-trainable tensors saved with checkpoints (batch-norm running
 * statistics), in their own block; never optimized, never given a gradient.
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
    DLX_INIT_ORTHOGONAL,   /* a * Q of a Gaussian matrix's QR over the (dim 0, rest) view, PyTorch's
                            * orthogonal_ (Saxe et al. 2014): rows or columns orthonormal */
    DLX_INIT_IDENTITY,     /* a on the diagonal of the (dim 0, rest) view, 0 elsewhere (Le et al. 2015) */
    DLX_INIT_ROTATION,     /* a times a block diagonal of 2x2 rotations by angles from U(-pi, pi) (a 1 last for an
                            * odd size) of a square matrix: exp of a block-diagonal skew-symmetric matrix
                            * (Henaff, Szlam & LeCun 2016) */
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
    int group;          /* index in dlx_params.group_name (0: the unnamed group) */
    int index_in_group; /* picks its initialisation stream in a named group */
} dlx_param;

#define DLX_GROUPS_MAX 8
#define DLX_GROUP_NAME_MAX 32
#define DLX_BUFFERS_MAX 64

/* A non-trainable tensor saved in checkpoints as /buffers/<name>. */
typedef struct dlx_buffer {
    char name[DLX_NAME_MAX];
    dlx_tensor t;  /* data points into the buffer block after finalize; no grad */
    float init;    /* every element's initial value (when init_data is NULL) */
    float *init_data; /* owned: its initial values, when made from data (a graph's eigenbasis) */
    bool must_match;  /* a checkpoint's values must equal init_data exactly (sample locations) */
} dlx_buffer;

typedef struct dlx_params {
    dlx_param *items;
    int n, cap;
    float *values, *grads; /* one block each, set by finalize */
    int64_t total;         /* floats in each block */
    bool final;
    int n_groups;          /* 1 + the named groups begun */
    int group;             /* the group new parameters join */
    char group_name[DLX_GROUPS_MAX][DLX_GROUP_NAME_MAX]; /* [0] = "" */
    dlx_buffer buffers[DLX_BUFFERS_MAX];
    int n_buffers;
    float *buffer_values;  /* one block for every buffer, set by finalize */
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

/* Parameters declared from now on belong to the named group (a network),
 * created on first use; "" returns to group 0. Before finalize only. */
int dlx_params_begin_group(dlx_params *p, const char *name, dlx_err *err);
/* Index of the named group, or -1. */
int dlx_params_group_find(const dlx_params *p, const char *name);

/* Declare a buffer (or return the existing one of that name and shape):
 * index >= 0 or a negative error. Before finalize only, like new parameters. */
int dlx_params_declare_buffer(dlx_params *p, const char *name, dlx_shape shape, float init, dlx_err *err);

/* The same for a buffer whose initial values are data (numel floats, copied):
 * what the model computes from its spec (a graph's eigenvectors, pixel
 * locations), saved with checkpoints. With must_match, loading a checkpoint
 * whose values differ is refused (dlx_params_check_buffers). An existing
 * buffer of that name and shape is returned as it is. */
int dlx_params_declare_buffer_data(dlx_params *p, const char *name, dlx_shape shape, const float *data,
                                   bool must_match, dlx_err *err);
/* After values were loaded into the buffers: each must_match buffer equals
 * its init_data, else DLX_EFORMAT naming it and the first difference (where
 * names the file for the message). */
int dlx_params_check_buffers(const dlx_params *p, const char *where, dlx_err *err);

/* Allocate the value and gradient blocks (zeroed). */
int dlx_params_finalize(dlx_params *p, dlx_err *err);

/* Draw every parameter's initial values and set every buffer to its init.
 * Parameter i of group 0 uses stream DLX_STREAM_INIT + ((i+1) << 8) of
 * `seed`; parameter j of named group G uses a stream of (G's name, j), so
 * values depend only on (seed, group name, j). DLX_ENOMEM when an
 * orthogonal initialisation cannot get its workspace. */
int dlx_params_init_values(dlx_params *p, uint64_t seed, dlx_err *err);

void dlx_params_zero_grad(dlx_params *p);

/* true if every value is finite; else sets *bad to the first bad index. */
bool dlx_params_all_finite(const dlx_params *p, int *bad);

#endif
