/* Exact Hessian-vector products of a graph's loss, in double precision
 * (Pearlmutter 1994, "Fast exact multiplication by the Hessian").
 *
 * For a direction v over the parameter store, the R-operator R{f} =
 * d/dt f(w + t v) at t = 0 is carried through the graph twice: a forward
 * pass of the directional derivatives of every node's value (R{y}) and a
 * backward pass of the directional derivatives of every gradient (R{dL/dy}).
 * The parameters' R{dL/dw} is then H v, exact up to double round-off: no
 * step, no kink crossed. Every node carries a dlx_dual in double; the float
 * graph only supplies the structure, the inputs' values and the parameters.
 *
 * An op takes part through its optional dlx_op_vtbl.rop hooks (a view op,
 * reshape/flatten, needs none: it aliases its input). Each hook runs in one
 * of three modes: VALUE (values, then gradients: the loss and dL/dw), BOTH
 * (values and tangents), TANGENT (tangents only, reading the values and
 * gradients of the last VALUE or BOTH call). Per op, tests/test_rop.c checks
 * the gradient against central differences of the double loss and H v
 * against central differences of the double gradient.
 *
 * The dual runs in a context as the float graph's forward does (training,
 * seed, step; dlx_hvp_set_ctx, default evaluation): in training a dropout
 * op applies the very mask of the float forward at that step, batch norm
 * differentiates through its batch statistics. An op without hooks makes
 * dlx_hvp_create fail naming the op.
 */
#ifndef DLX_HVP_H
#define DLX_HVP_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "graph.h"

/* A node's value, its directional derivative, the loss's gradient with
 * respect to it and that gradient's directional derivative, numel each. g
 * and rg are NULL for a node that gets no gradient (data, labels). scratch:
 * the op node's own, twice the numel of its largest input or output, kept
 * between calls.
 * constant: data or a buffer, whose r is all zeros (an op may skip it).
 * ctx: op nodes only, the pass's context (dlx_hvp_set_ctx), as the float
 * forward's: dropout's mask and batch norm's mode come from it. */
typedef struct dlx_dual {
    int64_t numel;
    double *v, *r, *g, *rg;
    double *scratch;
    bool constant;
    const dlx_ctx *ctx;
} dlx_dual;

typedef enum dlx_rop_mode { DLX_ROP_VALUE, DLX_ROP_BOTH, DLX_ROP_TANGENT } dlx_rop_mode;

/* forward: out from in (values and/or tangents); backward: add into in[i]->g
 * and in[i]->rg (where not NULL) from out's g and rg. Attributes and shapes
 * from the float node n. Neither may fail. */
typedef struct dlx_op_rop {
    void (*forward)(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode);
    void (*backward)(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode);
    /* Doubles of scratch the hooks need (kept between calls), when more
     * than the default, twice the op's largest input or output. NULL: the
     * default. */
    int64_t (*scratch)(const dlx_node *n);
} dlx_op_rop;

typedef struct dlx_hvp dlx_hvp;

/* Over compiled graph g and scalar loss node: every op the loss depends on
 * must have rop hooks (or be a view), else DLX_EINVAL naming the op and node.
 * Reads the inputs' and buffers' current float values (fill them first) and
 * the store's parameters as the point. */
int dlx_hvp_create(dlx_graph *g, dlx_node *loss, dlx_hvp **out, dlx_err *err);
void dlx_hvp_destroy(dlx_hvp *h);
/* For values only (the double-precision function of dlx gradcheck): the
 * dual of any node `top` with a value, of any size; dlx_hvp_values is then
 * the only evaluation allowed (no gradient, no product). */
int dlx_hvp_create_values(dlx_graph *g, dlx_node *top, dlx_hvp **out, dlx_err *err);
/* The context the dual's ops run in (copied; training, seed and step as the
 * float forward's): the next call recomputes values. Default: evaluation,
 * seed 0, step 0. */
void dlx_hvp_set_ctx(dlx_hvp *h, const dlx_ctx *ctx);
/* The first op the loss depends on that has no hooks, or NULL. */
const dlx_node *dlx_hvp_unsupported(const dlx_graph *g, const dlx_node *loss);

int64_t dlx_hvp_size(const dlx_hvp *h);
/* The point, params->total doubles; write to move it (the next call
 * recomputes values). */
double *dlx_hvp_point(dlx_hvp *h);
/* An input node's values in the dual (the float ones, copied at create),
 * to move it as a point's coordinates (the next call recomputes values);
 * NULL if n is not an input of the graph. */
double *dlx_hvp_input(dlx_hvp *h, const dlx_node *n);
/* The forward pass alone at the point: top's values (top->out.numel). */
const double *dlx_hvp_values(dlx_hvp *h);
/* The loss at the point and, into grad (may be NULL), its gradient. */
double dlx_hvp_gradient(dlx_hvp *h, double *grad);
/* hv = H v at the point; returns R{L} = dL/dw . v, the forward pass's
 * directional derivative of the loss. */
double dlx_hvp_product(dlx_hvp *h, const double *v, double *hv);

#endif
