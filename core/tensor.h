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

/* Checked size arithmetic for every product or sum of sizes that come from a
 * spec or a file: each returns false (leaving *out alone) when the exact
 * result does not fit, so a product that wraps around to a plausible count
 * is refused instead of believed. */
bool dlx_mul_i64(int64_t a, int64_t b, int64_t *out);
bool dlx_add_i64(int64_t a, int64_t b, int64_t *out);
/* count * elem_size bytes as a size_t (count >= 0). */
bool dlx_bytes(int64_t count, size_t elem_size, size_t *out);
/* a + b, or SIZE_MAX when that overflows: byte totals (graph planning) stay
 * comparable with a limit and then fail to allocate. */
size_t dlx_add_size_sat(size_t a, size_t b);
/* Writes a zero to every page of the zeroed p[0, n): for buffers that the
 * steps read before they write (gradients accumulated with +=, the
 * optimizer's moments). calloc's pages of a large block are the kernel's
 * shared zero page until written; the first step's read-then-write of each
 * then faulted, copied it and flushed the TLB of every core running the
 * process (about 9,000 faults in EBGAN's first step). Only the part a run
 * uses: an optimizer's moments span the whole store, its updates only its
 * own parameters. */
void dlx_fault_in(float *p, int64_t n);
/* n zeroed floats (at least one), every page written (dlx_fault_in), or NULL. */
float *dlx_zeroed_floats(int64_t n);

/* The most elements a tensor may have: 2^48 (1 PiB of floats), far above any
 * real model, low enough that a few such byte counts still add up in int64. */
#define DLX_NUMEL_MAX (INT64_C(1) << 48)
#define DLX_NUMEL_MAX_STR "2^48"

dlx_shape dlx_shape_make(int ndim, const int64_t *dims);
dlx_shape dlx_shape_1d(int64_t a);
dlx_shape dlx_shape_2d(int64_t a, int64_t b);
dlx_shape dlx_shape_4d(int64_t n, int64_t c, int64_t h, int64_t w);
/* The element count; only for shapes already checked (a graph's node, a
 * declared parameter): it does not check for overflow. */
int64_t dlx_shape_numel(const dlx_shape *s);
/* The element count, or -1 when a dimension is negative, the ndim is out of
 * range or the count exceeds DLX_NUMEL_MAX. */
int64_t dlx_shape_numel_checked(const dlx_shape *s);
bool dlx_shape_eq(const dlx_shape *a, const dlx_shape *b);
/* "[64, 6, 28, 28]" into buf; returns buf. */
char *dlx_shape_str(const dlx_shape *s, char *buf, size_t n);

/* A view of existing memory; grad may be NULL. */
dlx_tensor dlx_tensor_view(dlx_shape s, float *data, float *grad);

#endif
