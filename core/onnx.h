/* ONNX export of a built graph: the nodes the output depends on, with the
 * parameters and buffers (batch norm's running statistics) as initializers,
 * written as an ONNX model (IR version 7, opset 13) through the wire-format
 * encoder of core/protobuf.h, so dlx needs no protobuf library.
 *
 * The model takes raw pixels: its input `input` is float32 (N, C, H, W) in
 * [0, 1] (a byte / 255, after data.resize), and its first nodes do what dlx's
 * data feed does before the net (core/data.c): pad with a 0 pixel, subtract
 * data.mean, divide by data.std. Its output `logits` is the output node's
 * value, (N, ...) with the batch dimension symbolic ("N").
 *
 * Ops are mapped at inference (dropout and stop_gradient are the identity,
 * batch norm uses its running statistics); a fused activation becomes a node
 * of its own. An op without a mapping is an error (DLX_EINVAL) at its layer's
 * spec location that names the layer, its op and what is supported
 * (dlx_onnx_supported).
 */
#ifndef DLX_ONNX_H
#define DLX_ONNX_H

#include "err.h"
#include "graph.h"
#include "protobuf.h"

/* What the data feed does to a raw image before the net's input node. */
typedef struct dlx_onnx_input {
    float mean, std; /* x = (pixel - mean) / std; std 0 is taken as 1, as the feed does */
    int pad;         /* pixels added on each side, with the value of a 0 pixel */
} dlx_onnx_input;

/* Names for the model: graph name (e.g. the spec's name) and doc strings. */
typedef struct dlx_onnx_meta {
    const char *graph_name;
    const char *doc;        /* the model's doc_string (where it came from) */
} dlx_onnx_meta;

/* The ONNX model of `output` over `input` (an input node of g, whose value is
 * the normalised, padded image) into out (initialised by the caller). */
int dlx_onnx_encode(const dlx_graph *g, const dlx_node *input, const dlx_node *output, const dlx_onnx_input *prep,
                    const dlx_onnx_meta *meta, dlx_pb *out, dlx_err *err);
/* The same written to path: a temporary file beside it, fsync'd and renamed
 * into place. */
int dlx_onnx_write(const char *path, const dlx_graph *g, const dlx_node *input, const dlx_node *output,
                   const dlx_onnx_input *prep, const dlx_onnx_meta *meta, dlx_err *err);
/* The layer types that export, for messages and help: "linear, conv2d, ..." */
const char *dlx_onnx_supported(void);

#endif
