/* Static computation graph with reverse-mode differentiation.
 *
 * A graph is an array of nodes in build (topological) order. A node is an
 * input (data fed each step), a parameter (a view of a dlx_params entry) or an
 * op applied to earlier nodes. Build with dlx_graph_input/param/op, then
 * dlx_graph_compile plans one arena for every activation, gradient and op
 * scratch buffer and allocates it once: forward and backward never allocate.
 *
 * Backward accumulates (+=) into input gradients; dlx_graph_backward zeroes
 * activation gradients first, and the caller zeroes parameter gradients once
 * per step (dlx_params_zero_grad), so tied parameters and fan-out just work.
 */
#ifndef DLX_GRAPH_H
#define DLX_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "params.h"
#include "tensor.h"

#define DLX_MAX_INPUTS 8

typedef struct dlx_node dlx_node;

/* Per-call context for forward/backward. */
typedef struct dlx_ctx {
    bool training;    /* dropout active, batch statistics, ... */
    uint64_t seed;    /* run seed: dropout masks are f(seed, node, step, element) */
    uint64_t step;    /* step (micro-batch) counter, part of every random mask's counter */
    int threads;      /* threads an op may use for batch-level parallelism */
    /* Batch norm folds this forward's batch statistics into its running ones
     * (buffers): set for replica 0 of a training step only, so the running
     * statistics never depend on the thread count (see core/ops/batchnorm.c). */
    bool update_stats;
} dlx_ctx;

typedef struct dlx_layer_def dlx_layer_def;   /* core/layer_build.h */
typedef struct dlx_op_example dlx_op_example; /* core/ops/ops.h */
struct dlx_op_rop;                            /* core/hvp.h */

/* An op: one descriptor per op in core/ops/, listed in core/ops/registry.c.
 * All validation happens in infer(); forward/backward cannot fail. */
typedef struct dlx_op_vtbl {
    const char *name;
    int n_in_min, n_in_max;
    size_t attr_size; /* bytes of the op's attribute struct (see core/ops/ops.h) */
    /* true: the output is a view of input 0 (same data and gradient memory,
     * another shape); compile aliases them and the op's forward and backward
     * have nothing to do when they are aliased. */
    bool view;
    /* Set n->out.shape from the inputs' shapes and n->attr; set n->scratch_floats
     * to the scratch the op needs (saved for backward or workspace). */
    int (*infer)(dlx_node *n, dlx_err *err);
    void (*forward)(dlx_node *n, const dlx_ctx *ctx);
    /* Add d(loss)/d(input) into in[i]->grad where in[i]->grad != NULL. */
    void (*backward)(dlx_node *n, const dlx_ctx *ctx);
    /* The YAML layer types that build this op (none for an op only families
     * build, like a loss); the registry lists them to the spec reader. */
    const dlx_layer_def *layers;
    int n_layers;
    /* Gradient-check cases, run by tests/test_gradcheck.c (at least one). */
    const dlx_op_example *examples;
    int n_examples;
    /* An op with a fast path (BLAS, blocking, a special case) gives its naive
     * forward here; tests/test_gradcheck.c compares the two on the examples.
     * NULL with fast_path false: forward is itself the naive code. */
    bool fast_path;
    void (*reference)(dlx_node *n, const dlx_ctx *ctx);
    /* The R-operator (core/hvp.h): the op in double with directional
     * derivatives, for exact Hessian-vector products. NULL: none (the op is
     * listed in tests/test_rop.c, and the Hessian refuses a graph using it). */
    const struct dlx_op_rop *rop;
    /* The output depends on the ctx's seed and step (a random mask): a
     * forward that reuses values (dlx_graph_reuse_enable) always runs it. */
    bool random;
    /* An op whose training forward also writes state beside its output
     * (batch norm's running statistics) does that write alone here, from
     * what its last forward saved, when a forward reuses its output: the
     * state then moves as if the forward had run. NULL: no such state. */
    void (*restate)(dlx_node *n, const dlx_ctx *ctx);
} dlx_op_vtbl;

/* A buffer node is a view of a dlx_params buffer (batch norm's running
 * statistics): an op may read and update it, it never has a gradient. */
typedef enum dlx_node_kind { DLX_NODE_INPUT, DLX_NODE_PARAM, DLX_NODE_OP, DLX_NODE_BUFFER } dlx_node_kind;

struct dlx_node {
    dlx_node_kind kind;
    int id;
    char name[DLX_NAME_MAX];
    const dlx_op_vtbl *op;      /* DLX_NODE_OP only */
    dlx_node *in[DLX_MAX_INPUTS];
    int n_in;
    void *attr;                 /* copy of the op's attributes, owned by the graph */
    int param;                  /* DLX_NODE_PARAM, DLX_NODE_BUFFER: index in the store */
    dlx_tensor out;             /* value and gradient */
    float *scratch;             /* arena, scratch_floats long */
    size_t scratch_floats;
    bool needs_grad;            /* some parameter or grad-requiring input is upstream */
    dlx_loc loc;                /* spec location that made the node, for errors */
};

/* Coordinates of the features along an input's last axis (the pixel
 * locations of subsampled images, points on a sphere), for layers built on
 * their graph. */
typedef struct dlx_points {
    int n;            /* points */
    int dim;          /* 2 (the image plane) or 3 (the sphere) */
    const double *xy; /* dim n: point i at xy[dim i] */
} dlx_points;

typedef struct dlx_graph {
    dlx_node **nodes;
    int n, cap;
    dlx_params *params; /* borrowed; must outlive the graph */
    dlx_arena arena;
    size_t activation_bytes;
    bool compiled;
    bool inference; /* set before compile: no activation gradients, no backward */
    /* Set before compile to give parameter nodes a private gradient block (same
     * layout as params->grads) instead of the store's: a data-parallel shard
     * accumulates there and the caller sums the shards. NULL: the store's. */
    float *param_grads;
    /* When non-NULL (2 doubles per node, zeroed by the caller), forward and
     * backward add each op node's seconds to prof[2 id] and prof[2 id + 1]. */
    double *prof;
    /* When non-NULL, called after each op node's backward with its index: the
     * gradients of parameters used only by that node and later ones are then
     * final (an MPI rank starts summing them while earlier layers run). */
    void (*after_backward)(void *user, int node);
    void *after_backward_user;
    /* Tests only: a masked backward clears every activation gradient, not just
     * the ones it uses (the unpruned path, whose bits the pruned one must give). */
    bool no_prune;
    float **grad_of; /* each node's gradient as compiled (a masked backward hides some) */
    bool *active;    /* a masked backward's nodes to run */
    /* Reuse of values between the training forwards of one step
     * (dlx_graph_reuse_enable); NULL: every forward computes all it needs. */
    struct dlx_graph_reuse *reuse;
    /* Set by the family before its layers are built: the points of the
     * input's features (NULL: none), read by layers over the points' graph. */
    const dlx_points *points;
} dlx_graph;

/* Keeps a reference to params until dlx_graph_destroy. */
dlx_graph *dlx_graph_create(dlx_params *params);
void dlx_graph_destroy(dlx_graph *g);

/* Each returns the new node or NULL with err set. `name` may be NULL. */
dlx_node *dlx_graph_input(dlx_graph *g, const char *name, dlx_shape shape, bool needs_grad,
                          dlx_err *err);
dlx_node *dlx_graph_param(dlx_graph *g, int param_index, dlx_err *err);
dlx_node *dlx_graph_buffer(dlx_graph *g, int buffer_index, dlx_err *err);
/* Adds an op node; copies *attr (op->attr_size bytes); runs op->infer. On a
 * shape error the message names the node and loc. */
dlx_node *dlx_graph_op(dlx_graph *g, const dlx_op_vtbl *op, const char *name, dlx_node **inputs,
                       int n_in, const void *attr, dlx_loc loc, dlx_err *err);

/* Plan and allocate the arena (requires g->params finalized). Fails with
 * DLX_ENOMEM naming the figure when over max_bytes (0 = no limit). */
int dlx_graph_compile(dlx_graph *g, size_t max_bytes, dlx_err *err);

void dlx_graph_forward(dlx_graph *g, const dlx_ctx *ctx);
/* Forward of only the nodes `top` depends on (the other nodes' values are
 * left as they were): one loss of a graph that holds several. With reuse
 * enabled, only those whose value changed (see dlx_graph_reuse_enable). */
void dlx_graph_forward_to(dlx_graph *g, const dlx_node *top, const dlx_ctx *ctx);
/* Zero activation grads, seed d(loss)/d(loss) = 1 (loss must be 1 element),
 * and run backward in reverse build order. */
void dlx_graph_backward(dlx_graph *g, dlx_node *loss, const dlx_ctx *ctx);
/* Same from any node with a gradient, seeding its gradient with `seed`
 * (numel floats; NULL = all ones). Used by gradient checks. */
void dlx_graph_backward_from(dlx_graph *g, dlx_node *top, const float *seed, const dlx_ctx *ctx);

/* dlx_graph_backward for one parameter group: only parameters p with
 * param_on[p] get a gradient (the others' blocks are left untouched), and
 * only ops on a path from such a parameter to the loss run backward (a
 * discriminator's update never differentiates the generator's ops). NULL
 * param_on: every parameter, as dlx_graph_backward. */
void dlx_graph_backward_masked(dlx_graph *g, dlx_node *loss, const bool *param_on, const dlx_ctx *ctx);

/* Reuse between the forwards of a training step (several losses, each
 * forwarded by dlx_graph_forward_to): an op node is not run again when its
 * last value still holds, i.e. it was computed in training since
 * dlx_graph_reuse_forget, none of its inputs changed since (an input node
 * changes when a feed writes other bytes into it, a parameter node when
 * dlx_graph_params_changed names it, an op node when it runs), it draws no
 * random numbers (op->random) and it has not run backward since (a backward
 * may use its scratch as workspace). Its op's restate, if any, runs in its
 * place. The values, scratch and state are then those of a forward that ran
 * every node: the same bits. Allocates a copy of every input (to see what a
 * feed changed); fails only for memory. */
int dlx_graph_reuse_enable(dlx_graph *g, dlx_err *err);
/* The bytes dlx_graph_reuse_enable allocates for g (the memory budget counts them). */
size_t dlx_graph_reuse_bytes(const dlx_graph *g);
/* Every value is forgotten (the start of a step: parameters were loaded,
 * another forward ran). */
void dlx_graph_reuse_forget(dlx_graph *g);
/* The parameters p with param_on[p] (NULL: all) were updated. */
void dlx_graph_params_changed(dlx_graph *g, const bool *param_on);

dlx_node *dlx_graph_find(const dlx_graph *g, const char *name);

/* Bytes the graph would need in its arena; valid before compile. */
size_t dlx_graph_plan_bytes(const dlx_graph *g);

#endif
