/* The YAML face of an op: what the layer builder in an op's file gets and may
 * call. core/layers.c walks a `layers:` list, finds each entry's `type:` among
 * the layer types of the op registry (dlx_op_vtbl.layers), checks its keys,
 * resolves its name and inputs into a dlx_layer_call, and calls the type's
 * build, which reads its keys, declares its parameters and adds its op.
 *
 * Adding an op a spec can use: its file in core/ops/ with a dlx_layer_def
 * whose build uses these helpers, and one line in core/ops/registry.c. A
 * type's keys are a dlx_key_doc table (core/spec_doc.h) beside its builder:
 * the keys the layer accepts and their reference (`dlx spec layer.<type>`).
 */
#ifndef DLX_LAYER_BUILD_H
#define DLX_LAYER_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "graph.h"
#include "params.h"
#include "spec.h"
#include "spec_doc.h"

typedef struct dlx_layer_call {
    dlx_graph *g;
    dlx_params *params;
    const char *prefix;              /* of parameter names ("gen." in a GAN's generator) */
    dlx_spec_node *entry;            /* the layer's map in the spec */
    dlx_node *in[DLX_MAX_INPUTS];    /* its inputs, resolved (the previous layer by default) */
    int n_in;
    char name[DLX_NAME_MAX];         /* the node's name */
    char param_name[DLX_NAME_MAX];   /* its parameters' name: its own, or share:'s */
    int64_t n_params;                /* parameters it declared, for the architecture table */
    int n_own;                       /* of them, under its own name although it shares */
} dlx_layer_call;

typedef int (*dlx_layer_build_fn)(dlx_layer_call *c, dlx_node **out, dlx_err *err);

struct dlx_layer_def {
    const char *type;        /* the YAML `type:` */
    const dlx_key_doc *keys; /* its own keys, ending in {NULL} (type, name, inputs, share are everyone's) */
    const char *help;        /* one line: what it computes and its main keys */
    int n_in_max;            /* inputs it takes: 1, or up to DLX_MAX_INPUTS */
    dlx_layer_build_fn build;
};

/* Parameter <name>.<suffix> (its own or the shared layer's) as a graph node;
 * an error names the layer's spec location. */
int dlx_layer_param(dlx_layer_call *c, const char *suffix, dlx_shape shape, dlx_init init, bool decay,
                    dlx_node **node, dlx_err *err);
/* The same under the layer's own name even when it shares another's
 * parameters (a transposed tied weight's own bias). */
int dlx_layer_param_own(dlx_layer_call *c, const char *suffix, dlx_shape shape, dlx_init init, bool decay,
                        dlx_node **node, dlx_err *err);
/* Buffer <name>.<suffix> (saved in checkpoints under /buffers/, no gradient),
 * every element set to init, as a graph node. */
int dlx_layer_buffer(dlx_layer_call *c, const char *suffix, dlx_shape shape, float init, dlx_node **node,
                     dlx_err *err);
/* Buffer <name>.<suffix> whose initial values are data (numel floats),
 * computed by the layer from the spec (a graph's eigenbasis, neighbour
 * indices); data may be NULL when dlx_layer_has_buffer says it exists
 * (another replica made it). must_match: a checkpoint must hold exactly
 * these values (dlx_params_check_buffers). */
int dlx_layer_buffer_data(dlx_layer_call *c, const char *suffix, dlx_shape shape, const float *data,
                          bool must_match, dlx_node **node, dlx_err *err);
bool dlx_layer_has_buffer(const dlx_layer_call *c, const char *suffix);
/* The layer's op node on in[0..n_in), named c->name, at the entry's location. */
int dlx_layer_op(dlx_layer_call *c, const dlx_op_vtbl *op, dlx_node **in, int n_in, const void *attr,
                 dlx_node **out, dlx_err *err);

/* The init: and init_scale: keys. def is the default's index in
 * dlx_layer_init_names (0 xavier, 1 kaiming, ...). */
extern const char *const dlx_layer_init_names[];
/* The rows of the keys these readers read, for the types' tables. */
#define DLX_LAYER_DOC_ACT                                                                                  \
    {"activation", "string", "none", "none, relu, tanh, sigmoid, leaky_relu, lecun_tanh",                \
     "applied to the output"},                                                                            \
    {"alpha", "number", "0.01", "0 to 1", "leaky_relu's slope for x < 0"}
#define DLX_LAYER_DOC_INIT                                                                                 \
    {"init", "string", "kaiming after relu or leaky_relu, else xavier",                                   \
     "xavier, kaiming, lecun, torch, normal, uniform, orthogonal, identity",                             \
     "how the weights start (biases start at 0, or as the weights for torch)"},                           \
    {"init_scale", "number", "0.01 (1 for orthogonal and identity)", "0 to 100",                          \
     "std of normal, bound of uniform, gain of orthogonal and identity"}
int dlx_layer_read_init(const dlx_layer_call *c, int def, int64_t fan_in, int64_t fan_out, dlx_init *init,
                        dlx_err *err);
/* A bias's initialisation given its weight's: zero, or the weight's when it
 * is Torch7's reset (which resets biases like weights). */
dlx_init dlx_layer_bias_init(const dlx_init *weight);
/* key: n or [h, w] (n means n x n), each in [min, 4096]; def when absent. */
int dlx_layer_read_pair(const dlx_layer_call *c, const char *key, bool required, int64_t def, int64_t min, int *h,
                        int *w, dlx_err *err);
/* "<path>: <type> needs at least min inputs: give them with inputs: [a, b]" */
int dlx_layer_need_inputs(const dlx_layer_call *c, int min, dlx_err *err);
/* DLX_EINVAL at the layer's location, the message prefixed by the layer's path. */
int dlx_layer_fail(const dlx_layer_call *c, dlx_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The number of features per sample of x: numel / N (1 for a 1-d x). */
int64_t dlx_layer_features(const dlx_node *x);

#endif
