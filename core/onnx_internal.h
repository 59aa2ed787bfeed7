/* Between core/onnx.c (the model, the graph walk, initializers, the file)
 * and core/onnx_ops.c (one emitter per dlx op). Not a public header. */
#ifndef DLX_ONNX_INTERNAL_H
#define DLX_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "protobuf.h"

/* a value name: a node's name and a suffix (".pre", ".flat", ...) */
#define ONNX_NAME_MAX (DLX_NAME_MAX + 32)

/* ONNX TensorProto.DataType */
enum { ONNX_FLOAT = 1, ONNX_INT64 = 7 };

typedef struct onnx_ctx {
    const dlx_graph *g;
    dlx_pb nodes; /* GraphProto.node entries, tags included */
    dlx_pb inits; /* GraphProto.initializer entries */
} onnx_ctx;

/* A NodeProto named after its (first) output: inputs, outputs, op type; its
 * attributes follow (onnx_attr_*) until onnx_node_end. An input name ""
 * is an optional input left out. */
size_t onnx_node_begin(onnx_ctx *x, const char *op_type, const char *const *in, int n_in, const char *out);
void onnx_node_end(onnx_ctx *x, size_t mark);
/* A node of one or two inputs and no attributes. */
void onnx_node1(onnx_ctx *x, const char *op_type, const char *in, const char *out);
void onnx_node2(onnx_ctx *x, const char *op_type, const char *a, const char *b, const char *out);
void onnx_attr_int(onnx_ctx *x, const char *name, int64_t v);
void onnx_attr_float(onnx_ctx *x, const char *name, float v);
void onnx_attr_ints(onnx_ctx *x, const char *name, const int64_t *v, int n);
void onnx_attr_string(onnx_ctx *x, const char *name, const char *s);
/* Initializers (constants): float32 or int64 tensors of dims[0..ndim) (ndim 0: a scalar). */
void onnx_init_floats(onnx_ctx *x, const char *name, const int64_t *dims, int ndim, const float *v);
void onnx_init_int64s(onnx_ctx *x, const char *name, const int64_t *dims, int ndim, const int64_t *v);

/* An op's nodes: n's inputs are the values in[0..n->n_in), its result goes
 * to the value `out`. Names of values of its own: n->name plus a suffix. */
typedef int (*onnx_emit_fn)(onnx_ctx *x, const dlx_node *n, const char *const *in, const char *out, dlx_err *err);
/* The emitter of the dlx op of that name; NULL: no export. */
onnx_emit_fn onnx_emitter(const char *op_name);
/* "linear, conv2d, ..." */
const char *onnx_supported_types(void);

#endif
