/* Exact Hessian-vector products (core/hvp.h): the double-precision dual
 * of a compiled graph, run through the ops' rop hooks. */
#include <stdlib.h>
#include <string.h>

#include "hvp.h"

struct dlx_hvp {
    dlx_graph *g;
    dlx_node *loss;
    int64_t p;
    dlx_dual *d;  /* per node id */
    bool *live;   /* the loss depends on the node */
    double *w, *dir, *grad, *rgrad; /* p each: the point, the direction, dL/dw, H dir */
    double *mem;  /* every node's own buffers */
    bool fresh;   /* values and gradients are those of the point */
    dlx_ctx ctx;  /* what the ops see (training, seed, step) */
};

/* Marks the nodes `loss` depends on (build order is topological). */
static void mark_live(const dlx_graph *g, const dlx_node *loss, bool *live)
{
    memset(live, 0, (size_t)g->n * sizeof *live);
    live[loss->id] = true;
    for (int i = loss->id; i >= 0; i--)
        if (live[i])
            for (int k = 0; k < g->nodes[i]->n_in; k++)
                live[g->nodes[i]->in[k]->id] = true;
}

static const dlx_node *first_unsupported(const dlx_graph *g, const bool *live)
{
    for (int i = 0; i < g->n; i++) {
        const dlx_node *n = g->nodes[i];
        if (live[i] && n->kind == DLX_NODE_OP && !n->op->view && !n->op->rop)
            return n;
    }
    return NULL;
}

const dlx_node *dlx_hvp_unsupported(const dlx_graph *g, const dlx_node *loss)
{
    bool *live = malloc((size_t)g->n * sizeof *live);
    if (!live)
        return NULL;
    mark_live(g, loss, live);
    const dlx_node *n = first_unsupported(g, live);
    free(live);
    return n;
}

/* An op's scratch: its own figure, else twice its largest tensor, input or
 * output. */
static int64_t scratch_doubles(const dlx_node *n)
{
    if (n->op->rop && n->op->rop->scratch)
        return n->op->rop->scratch(n);
    int64_t m = n->out.numel;
    for (int k = 0; k < n->n_in; k++)
        m = n->in[k]->out.numel > m ? n->in[k]->out.numel : m;
    return 2 * m;
}

/* Doubles of node n's own buffers: v and r, g and rg with a gradient,
 * scratch for ops. */
static int64_t own_doubles(const dlx_node *n)
{
    if (n->kind == DLX_NODE_PARAM || (n->kind == DLX_NODE_OP && n->op->view))
        return 0;
    int64_t k = 2 * n->out.numel;
    if (n->kind == DLX_NODE_OP)
        k += (n->needs_grad ? 2 : 0) * n->out.numel + scratch_doubles(n);
    return k;
}

static void place(dlx_hvp *h)
{
    dlx_graph *g = h->g;
    dlx_params *P = g->params;
    double *at = h->mem;
    for (int i = 0; i < g->n; i++) {
        dlx_node *n = g->nodes[i];
        dlx_dual *d = &h->d[i];
        d->numel = n->out.numel;
        if (n->kind == DLX_NODE_PARAM) {
            int64_t off = P->items[n->param].t.data - P->values;
            *d = (dlx_dual){d->numel, h->w + off, h->dir + off, h->grad + off, h->rgrad + off, NULL, false, NULL};
            continue;
        }
        if (n->kind == DLX_NODE_OP && n->op->view) {
            dlx_dual a = h->d[n->in[0]->id];
            *d = (dlx_dual){d->numel, a.v, a.r, a.g, a.rg, NULL, a.constant, &h->ctx};
            continue;
        }
        d->v = at;
        d->r = at + d->numel;
        at += 2 * d->numel;
        if (n->kind != DLX_NODE_OP) { /* data and buffers: constants */
            d->constant = true;
            for (int64_t j = 0; j < d->numel; j++)
                d->v[j] = n->out.data[j];
            continue;
        }
        d->ctx = &h->ctx;
        if (n->needs_grad) {
            d->g = at;
            d->rg = at + d->numel;
            at += 2 * d->numel;
        }
        d->scratch = at;
        at += scratch_doubles(n);
    }
}

/* scalar: a loss for gradients and products; else any top, values only */
static int create(dlx_graph *g, dlx_node *loss, bool scalar, dlx_hvp **out, dlx_err *err)
{
    *out = NULL;
    if (!g->compiled || (scalar && (loss->out.numel != 1 || !loss->needs_grad)))
        return dlx_err_setf(err, DLX_EINVAL, loss->loc,
                            "Hessian-vector products need a compiled graph and a one-element loss that "
                            "depends on parameters ('%s')", loss->name);
    dlx_hvp *h = calloc(1, sizeof *h);
    if (!h)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    h->g = g;
    h->loss = loss;
    h->p = g->params->total;
    h->live = malloc((size_t)g->n * sizeof *h->live);
    h->d = calloc((size_t)g->n, sizeof *h->d);
    if (!h->live || !h->d) {
        dlx_hvp_destroy(h);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    mark_live(g, loss, h->live);
    const dlx_node *bad = first_unsupported(g, h->live);
    if (bad) {
        dlx_hvp_destroy(h);
        return dlx_err_setf(err, DLX_EINVAL, bad->loc,
                            "op '%s' (node '%s') has no R-operator, so the exact Hessian cannot be taken "
                            "through it", bad->op->name, bad->name);
    }
    int64_t total = 4 * h->p;
    for (int i = 0; i < g->n; i++)
        total += own_doubles(g->nodes[i]);
    h->mem = calloc((size_t)total, sizeof *h->mem);
    if (!h->mem) {
        dlx_hvp_destroy(h);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the Hessian's dual graph (%.1f MiB)",
                            (double)total * 8.0 / 1048576.0);
    }
    h->w = h->mem + (size_t)(total - 4 * h->p);
    h->dir = h->w + h->p;
    h->grad = h->dir + h->p;
    h->rgrad = h->grad + h->p;
    for (int64_t j = 0; j < h->p; j++)
        h->w[j] = g->params->values[j];
    place(h);
    *out = h;
    return 0;
}

int dlx_hvp_create(dlx_graph *g, dlx_node *loss, dlx_hvp **out, dlx_err *err)
{
    return create(g, loss, true, out, err);
}

int dlx_hvp_create_values(dlx_graph *g, dlx_node *top, dlx_hvp **out, dlx_err *err)
{
    return create(g, top, false, out, err);
}

void dlx_hvp_destroy(dlx_hvp *h)
{
    if (!h)
        return;
    free(h->mem);
    free(h->d);
    free(h->live);
    free(h);
}

void dlx_hvp_set_ctx(dlx_hvp *h, const dlx_ctx *ctx)
{
    h->ctx = *ctx;
    h->fresh = false;
}

int64_t dlx_hvp_size(const dlx_hvp *h)
{
    return h->p;
}

double *dlx_hvp_point(dlx_hvp *h)
{
    h->fresh = false;
    return h->w;
}

static void run_forward(dlx_hvp *h, dlx_rop_mode mode)
{
    dlx_graph *g = h->g;
    dlx_dual *in[DLX_MAX_INPUTS];
    for (int i = 0; i < g->n; i++) {
        dlx_node *n = g->nodes[i];
        if (!h->live[i] || n->kind != DLX_NODE_OP || n->op->view)
            continue;
        for (int k = 0; k < n->n_in; k++)
            in[k] = &h->d[n->in[k]->id];
        n->op->rop->forward(n, in, &h->d[i], mode);
    }
}

static void run(dlx_hvp *h, dlx_rop_mode mode)
{
    dlx_graph *g = h->g;
    dlx_dual *in[DLX_MAX_INPUTS];
    run_forward(h, mode);
    /* clear what backward accumulates: gradients (VALUE, BOTH), their tangents (BOTH, TANGENT) */
    for (int i = 0; i < g->n; i++) {
        dlx_dual *d = &h->d[i];
        if (g->nodes[i]->kind != DLX_NODE_OP || g->nodes[i]->op->view || !d->g)
            continue;
        if (mode != DLX_ROP_TANGENT)
            memset(d->g, 0, (size_t)d->numel * sizeof *d->g);
        if (mode != DLX_ROP_VALUE)
            memset(d->rg, 0, (size_t)d->numel * sizeof *d->rg);
    }
    if (mode != DLX_ROP_TANGENT)
        memset(h->grad, 0, (size_t)h->p * sizeof *h->grad);
    if (mode != DLX_ROP_VALUE)
        memset(h->rgrad, 0, (size_t)h->p * sizeof *h->rgrad);
    dlx_dual *top = &h->d[h->loss->id];
    if (mode != DLX_ROP_TANGENT)
        top->g[0] = 1.0; /* R{dL/dL} = 0: the seed does not move with w */
    for (int i = h->loss->id; i >= 0; i--) {
        dlx_node *n = g->nodes[i];
        if (!h->live[i] || n->kind != DLX_NODE_OP || n->op->view || !h->d[i].g)
            continue;
        for (int k = 0; k < n->n_in; k++)
            in[k] = &h->d[n->in[k]->id];
        n->op->rop->backward(n, in, &h->d[i], mode);
    }
    if (mode != DLX_ROP_TANGENT)
        h->fresh = true;
}

double *dlx_hvp_input(dlx_hvp *h, const dlx_node *n)
{
    if (n->id < 0 || n->id >= h->g->n || h->g->nodes[n->id] != n || n->kind != DLX_NODE_INPUT)
        return NULL;
    h->fresh = false;
    return h->d[n->id].v;
}

const double *dlx_hvp_values(dlx_hvp *h)
{
    run_forward(h, DLX_ROP_VALUE);
    h->fresh = false; /* values without gradients */
    return h->d[h->loss->id].v;
}

double dlx_hvp_gradient(dlx_hvp *h, double *grad)
{
    if (!h->fresh)
        run(h, DLX_ROP_VALUE);
    if (grad)
        memcpy(grad, h->grad, (size_t)h->p * sizeof *grad);
    return h->d[h->loss->id].v[0];
}

double dlx_hvp_product(dlx_hvp *h, const double *v, double *hv)
{
    memcpy(h->dir, v, (size_t)h->p * sizeof *v);
    run(h, h->fresh ? DLX_ROP_TANGENT : DLX_ROP_BOTH);
    h->fresh = true;
    memcpy(hv, h->rgrad, (size_t)h->p * sizeof *hv);
    return h->d[h->loss->id].r[0];
}
