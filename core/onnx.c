/* ONNX export (core/onnx.h): the model and graph messages, initializers, the
 * walk over the nodes the output depends on, and the file. Field numbers are
 * those of onnx/onnx.proto (ONNX 1.8+). The ops' mappings are
 * core/onnx_ops.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.h"
#include "onnx_internal.h"

#ifndef DLX_VERSION
#define DLX_VERSION "unknown"
#endif

/* onnx.proto field numbers */
enum {
    MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3, MODEL_DOC = 6, MODEL_GRAPH = 7,
    MODEL_OPSET = 8,
    OPSET_DOMAIN = 1, OPSET_VERSION = 2,
    GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INIT = 5, GRAPH_DOC = 10, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12,
    NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTR = 5,
    ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_INTS = 8, ATTR_TYPE = 20,
    TENSOR_DIMS = 1, TENSOR_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW = 9,
    VALUE_NAME = 1, VALUE_TYPE = 2, VALUE_DOC = 3,
    TYPE_TENSOR = 1, TT_ELEM = 1, TT_SHAPE = 2,
    SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2,
};
/* AttributeProto.AttributeType */
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS_T = 7 };

#define ONNX_IR_VERSION 7 /* ONNX 1.8, the IR of opset 13 */
#define ONNX_OPSET 13

/* ---- nodes, attributes, initializers (core/onnx_internal.h) ---- */

size_t onnx_node_begin(onnx_ctx *x, const char *op_type, const char *const *in, int n_in, const char *out)
{
    size_t mark = dlx_pb_begin(&x->nodes, GRAPH_NODE);
    for (int i = 0; i < n_in; i++)
        dlx_pb_string(&x->nodes, NODE_INPUT, in[i]);
    dlx_pb_string(&x->nodes, NODE_OUTPUT, out);
    dlx_pb_string(&x->nodes, NODE_NAME, out); /* values are unique, so are the nodes' names */
    dlx_pb_string(&x->nodes, NODE_OP_TYPE, op_type);
    return mark;
}

void onnx_node_end(onnx_ctx *x, size_t mark)
{
    dlx_pb_end(&x->nodes, mark);
}

void onnx_node1(onnx_ctx *x, const char *op_type, const char *in, const char *out)
{
    onnx_node_end(x, onnx_node_begin(x, op_type, &in, 1, out));
}

void onnx_node2(onnx_ctx *x, const char *op_type, const char *a, const char *b, const char *out)
{
    const char *in[2] = {a, b};
    onnx_node_end(x, onnx_node_begin(x, op_type, in, 2, out));
}

static size_t attr_begin(onnx_ctx *x, const char *name, int type)
{
    size_t m = dlx_pb_begin(&x->nodes, NODE_ATTR);
    dlx_pb_string(&x->nodes, ATTR_NAME, name);
    dlx_pb_varint(&x->nodes, ATTR_TYPE, (uint64_t)type);
    return m;
}

void onnx_attr_int(onnx_ctx *x, const char *name, int64_t v)
{
    size_t m = attr_begin(x, name, ATTR_INT);
    dlx_pb_int64(&x->nodes, ATTR_I, v);
    dlx_pb_end(&x->nodes, m);
}

void onnx_attr_float(onnx_ctx *x, const char *name, float v)
{
    size_t m = attr_begin(x, name, ATTR_FLOAT);
    dlx_pb_float(&x->nodes, ATTR_F, v);
    dlx_pb_end(&x->nodes, m);
}

void onnx_attr_ints(onnx_ctx *x, const char *name, const int64_t *v, int n)
{
    size_t m = attr_begin(x, name, ATTR_INTS_T);
    dlx_pb_packed_int64(&x->nodes, ATTR_INTS, v, n);
    dlx_pb_end(&x->nodes, m);
}

void onnx_attr_string(onnx_ctx *x, const char *name, const char *s)
{
    size_t m = attr_begin(x, name, ATTR_STRING);
    dlx_pb_string(&x->nodes, ATTR_S, s);
    dlx_pb_end(&x->nodes, m);
}

static size_t init_begin(onnx_ctx *x, const char *name, const int64_t *dims, int ndim, int type)
{
    size_t m = dlx_pb_begin(&x->inits, GRAPH_INIT);
    if (ndim > 0)
        dlx_pb_packed_int64(&x->inits, TENSOR_DIMS, dims, ndim);
    dlx_pb_varint(&x->inits, TENSOR_TYPE, (uint64_t)type);
    dlx_pb_string(&x->inits, TENSOR_NAME, name);
    return m;
}

static int64_t numel_of(const int64_t *dims, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    return n;
}

void onnx_init_floats(onnx_ctx *x, const char *name, const int64_t *dims, int ndim, const float *v)
{
    size_t m = init_begin(x, name, dims, ndim, ONNX_FLOAT);
    dlx_pb_floats_le(&x->inits, TENSOR_RAW, v, numel_of(dims, ndim));
    dlx_pb_end(&x->inits, m);
}

void onnx_init_int64s(onnx_ctx *x, const char *name, const int64_t *dims, int ndim, const int64_t *v)
{
    size_t m = init_begin(x, name, dims, ndim, ONNX_INT64);
    int64_t n = numel_of(dims, ndim);
    uint8_t raw[8 * 8]; /* int64 constants here are shapes and indices: a few */
    DLX_ASSERT(n <= 8);
    for (int64_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            raw[i * 8 + b] = (uint8_t)((uint64_t)v[i] >> (8 * b));
    dlx_pb_bytes(&x->inits, TENSOR_RAW, raw, (size_t)n * 8);
    dlx_pb_end(&x->inits, m);
}

/* ---- the graph ---- */

/* A ValueInfoProto: float32 of shape s, its dimension 0 the symbol "N". */
static void value_info(dlx_pb *b, int field, const char *name, const dlx_shape *s, const char *doc)
{
    size_t m = dlx_pb_begin(b, field);
    dlx_pb_string(b, VALUE_NAME, name);
    size_t t = dlx_pb_begin(b, VALUE_TYPE);
    size_t tt = dlx_pb_begin(b, TYPE_TENSOR);
    dlx_pb_varint(b, TT_ELEM, ONNX_FLOAT);
    size_t sh = dlx_pb_begin(b, TT_SHAPE);
    for (int i = 0; i < s->ndim; i++) {
        size_t d = dlx_pb_begin(b, SHAPE_DIM);
        if (i == 0)
            dlx_pb_string(b, DIM_PARAM, "N");
        else
            dlx_pb_int64(b, DIM_VALUE, s->d[i]);
        dlx_pb_end(b, d);
    }
    dlx_pb_end(b, sh);
    dlx_pb_end(b, tt);
    dlx_pb_end(b, t);
    if (doc)
        dlx_pb_string(b, VALUE_DOC, doc);
    dlx_pb_end(b, m);
}

/* The raw image `input` -> pad -> (x - mean) / std, the value of the input node. */
static void emit_prep(onnx_ctx *x, const dlx_onnx_input *p, const char *out)
{
    const char *v = "input";
    if (p->pad > 0) {
        const int64_t pads[8] = {0, 0, p->pad, p->pad, 0, 0, p->pad, p->pad}, dims[1] = {8};
        const float zero = 0.0f;
        onnx_init_int64s(x, "input.pads", dims, 1, pads);
        onnx_init_floats(x, "input.pad_value", NULL, 0, &zero);
        const char *in[3] = {v, "input.pads", "input.pad_value"};
        onnx_node_end(x, onnx_node_begin(x, "Pad", in, 3, "input.padded"));
        v = "input.padded";
    }
    const float mean = p->mean, std = p->std != 0.0f ? p->std : 1.0f;
    onnx_init_floats(x, "data.mean", NULL, 0, &mean);
    onnx_init_floats(x, "data.std", NULL, 0, &std);
    onnx_node2(x, "Sub", v, "data.mean", "input.centered");
    onnx_node2(x, "Div", "input.centered", "data.std", out);
}

/* Every node `output` depends on, into need[] (by node id). */
static void mark_needed(const dlx_graph *g, const dlx_node *output, bool *need)
{
    need[output->id] = true;
    for (int i = output->id; i >= 0; i--) {
        const dlx_node *n = g->nodes[i];
        if (need[i])
            for (int k = 0; k < n->n_in; k++)
                need[n->in[k]->id] = true;
    }
}

/* Node i's value name: its own name; the graph's input and output take the
 * names the model gives them, and no other value may take those. */
static void name_value(const dlx_graph *g, const dlx_node *input, const dlx_node *output, int i, char *v)
{
    const dlx_node *n = g->nodes[i];
    if (n == output)
        snprintf(v, ONNX_NAME_MAX, "logits");
    else if (n == input)
        snprintf(v, ONNX_NAME_MAX, "input.normalized");
    else if (!strcmp(n->name, "logits") || !strncmp(n->name, "input", 5) || !strncmp(n->name, "data.", 5))
        snprintf(v, ONNX_NAME_MAX, "%s.value", n->name);
    else
        snprintf(v, ONNX_NAME_MAX, "%s", n->name);
}

/* A parameter's or buffer's values as an initializer (once per store entry). */
static void emit_stored(onnx_ctx *x, const dlx_node *n, const char *name, bool *done)
{
    const dlx_params *p = x->g->params;
    int k = n->param + (n->kind == DLX_NODE_BUFFER ? p->n : 0);
    if (done[k])
        return;
    done[k] = true;
    const dlx_tensor *t = n->kind == DLX_NODE_BUFFER ? &p->buffers[n->param].t : &p->items[n->param].t;
    onnx_init_floats(x, name, t->shape.d, t->shape.ndim, t->data);
}

/* Node n's ONNX nodes, n an op the output needs. */
static int emit_op(onnx_ctx *x, const dlx_node *n, char (*value)[ONNX_NAME_MAX], dlx_err *err)
{
    onnx_emit_fn fn = onnx_emitter(n->op->name);
    if (!fn)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "layer '%s' (op %s) has no ONNX export; the layer types that export are: %s", n->name,
                            n->op->name, onnx_supported_types());
    const char *in[DLX_MAX_INPUTS];
    for (int k = 0; k < n->n_in; k++)
        in[k] = value[n->in[k]->id];
    return fn(x, n, in, value[n->id], err);
}

static int emit_graph(onnx_ctx *x, const dlx_node *input, const dlx_node *output, const dlx_onnx_input *prep,
                      char (*value)[ONNX_NAME_MAX], bool *need, bool *done, dlx_err *err)
{
    const dlx_graph *g = x->g;
    mark_needed(g, output, need);
    if (!need[input->id])
        return dlx_err_setf(err, DLX_EINVAL, output->loc, "the output '%s' does not depend on the input",
                            output->name);
    for (int i = 0; i < g->n; i++)
        name_value(g, input, output, i, value[i]);
    int rc = 0;
    for (int i = 0; i < g->n && !rc; i++) {
        const dlx_node *n = g->nodes[i];
        if (!need[i])
            continue;
        if (n == input)
            emit_prep(x, prep, value[i]);
        else if (n->kind == DLX_NODE_INPUT)
            rc = dlx_err_setf(err, DLX_EINVAL, output->loc,
                              "the output depends on the input '%s', which an ONNX model of one input cannot feed",
                              n->name);
        else if (n->kind == DLX_NODE_PARAM || n->kind == DLX_NODE_BUFFER)
            emit_stored(x, n, value[i], done);
        else
            rc = emit_op(x, n, value, err);
    }
    return rc;
}

/* The GraphProto, in b. */
static int encode_graph(const dlx_graph *g, const dlx_node *input, const dlx_node *output,
                        const dlx_onnx_input *prep, const dlx_onnx_meta *meta, dlx_pb *b, dlx_err *err)
{
    onnx_ctx x = {.g = g};
    dlx_pb_init(&x.nodes);
    dlx_pb_init(&x.inits);
    char(*value)[ONNX_NAME_MAX] = calloc((size_t)g->n, sizeof *value);
    bool *need = calloc((size_t)g->n, sizeof *need);
    bool *done = calloc((size_t)(g->params->n + g->params->n_buffers + 1), sizeof *done);
    int rc = !value || !need || !done ? dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory") : 0;
    if (!rc) rc = emit_graph(&x, input, output, prep, value, need, done, err);
    if (!rc) {
        dlx_pb_string(b, GRAPH_NAME, meta && meta->graph_name ? meta->graph_name : "dlx");
        dlx_pb_raw(b, x.nodes.data, x.nodes.len);
        dlx_pb_raw(b, x.inits.data, x.inits.len);
        /* the raw image: the input node's shape less the padding */
        dlx_shape s = input->out.shape;
        if (s.ndim == 4)
            s.d[2] -= 2 * prep->pad, s.d[3] -= 2 * prep->pad;
        value_info(b, GRAPH_INPUT, "input", &s,
                   "pixels in [0, 1] (a byte / 255), channels first; the model pads and normalises them");
        value_info(b, GRAPH_OUTPUT, "logits", &output->out.shape, "the net's output, before any softmax");
        dlx_pb_string(b, GRAPH_DOC, "exported by dlx");
        rc = dlx_pb_check(&x.nodes, "the ONNX nodes", err);
        if (!rc) rc = dlx_pb_check(&x.inits, "the ONNX initializers", err);
    }
    free(value);
    free(need);
    free(done);
    dlx_pb_free(&x.nodes);
    dlx_pb_free(&x.inits);
    return rc;
}

int dlx_onnx_encode(const dlx_graph *g, const dlx_node *input, const dlx_node *output, const dlx_onnx_input *prep,
                    const dlx_onnx_meta *meta, dlx_pb *out, dlx_err *err)
{
    if (input->kind != DLX_NODE_INPUT)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "ONNX export: '%s' is not an input node", input->name);
    if (prep->pad > 0 && input->out.shape.ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "ONNX export: padding needs an image input (N, C, H, W)");
    dlx_pb_int64(out, MODEL_IR_VERSION, ONNX_IR_VERSION);
    size_t op = dlx_pb_begin(out, MODEL_OPSET);
    dlx_pb_string(out, OPSET_DOMAIN, "");
    dlx_pb_int64(out, OPSET_VERSION, ONNX_OPSET);
    dlx_pb_end(out, op);
    dlx_pb_string(out, MODEL_PRODUCER_NAME, "dlx");
    dlx_pb_string(out, MODEL_PRODUCER_VERSION, DLX_VERSION);
    if (meta && meta->doc)
        dlx_pb_string(out, MODEL_DOC, meta->doc);
    size_t gm = dlx_pb_begin(out, MODEL_GRAPH);
    int rc = encode_graph(g, input, output, prep, meta, out, err);
    dlx_pb_end(out, gm);
    if (!rc) rc = dlx_pb_check(out, "the ONNX model", err);
    /* protobuf's parsers refuse messages of 2 GiB and more */
    if (!rc && out->len >= (size_t)INT32_MAX)
        rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "the ONNX model would take %zu bytes; protobuf allows under 2 GiB",
                          out->len);
    return rc;
}

const char *dlx_onnx_supported(void)
{
    return onnx_supported_types();
}

/* ---- the file ---- */

static mode_t current_umask(void)
{
    mode_t m = umask(022);
    umask(m);
    return m;
}

/* bytes to fd, all of them */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int write_file(const char *path, const dlx_pb *b, dlx_err *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(path), "out of memory");
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int rc = 0, fd = mkstemp(tmp);
    if (fd < 0) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    /* mkstemp makes it 0600; the model follows the umask like every other file */
    if (fchmod(fd, 0666 & ~current_umask()) != 0 || write_all(fd, b->data, b->len) != 0 || fsync(fd) != 0)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot rename %s into place: %s", tmp, strerror(errno));
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int dlx_onnx_write(const char *path, const dlx_graph *g, const dlx_node *input, const dlx_node *output,
                   const dlx_onnx_input *prep, const dlx_onnx_meta *meta, dlx_err *err)
{
    dlx_pb b;
    dlx_pb_init(&b);
    int rc = dlx_onnx_encode(g, input, output, prep, meta, &b, err);
    if (!rc)
        rc = write_file(path, &b, err);
    dlx_pb_free(&b);
    return rc;
}
