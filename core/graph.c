#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the monotonic clock (vDSO, ~20 ns a read): the thread CPU-time clock is a
 * system call that cost more than a tiny layer's forward pass and inflated
 * small nets' profiles; run profiles on an otherwise idle machine */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* What reuse between forwards keeps (dlx_graph_reuse_enable). */
typedef struct dlx_graph_reuse {
    uint64_t *ver;  /* per node: bumped whenever its value may have changed */
    uint64_t *seen; /* per node, DLX_MAX_INPUTS: its inputs' ver when it last ran */
    bool *valid;    /* per node: its value is its last training forward's (an input's: snap holds it) */
    float **snap;   /* per input node: its bytes when a forward last read it */
} dlx_graph_reuse;

static void reuse_free(dlx_graph_reuse *r, int n)
{
    if (!r)
        return;
    for (int i = 0; r->snap && i < n; i++)
        free(r->snap[i]);
    free(r->snap);
    free(r->ver);
    free(r->seen);
    free(r->valid);
    free(r);
}

dlx_graph *dlx_graph_create(dlx_params *params)
{
    dlx_graph *g = calloc(1, sizeof(*g));
    if (g)
        g->params = params;
    return g;
}

void dlx_graph_destroy(dlx_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n; i++) {
        free(g->nodes[i]->attr);
        free(g->nodes[i]);
    }
    free(g->nodes);
    free(g->grad_of);
    free(g->active);
    reuse_free(g->reuse, g->n);
    dlx_arena_free(&g->arena);
    free(g);
}

static dlx_node *new_node(dlx_graph *g, dlx_node_kind kind, const char *name, dlx_err *err)
{
    DLX_ASSERT(!g->compiled);
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 32;
        dlx_node **nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory building the graph");
            return NULL;
        }
        g->nodes = nodes;
        g->cap = cap;
    }
    dlx_node *n = calloc(1, sizeof(*n));
    if (!n) {
        dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory building the graph");
        return NULL;
    }
    n->kind = kind;
    n->id = g->n;
    n->param = -1;
    if (name)
        snprintf(n->name, sizeof n->name, "%s", name);
    else
        snprintf(n->name, sizeof n->name, "node%d", g->n);
    g->nodes[g->n++] = n;
    return n;
}

dlx_node *dlx_graph_input(dlx_graph *g, const char *name, dlx_shape shape, bool needs_grad,
                          dlx_err *err)
{
    if (dlx_shape_numel_checked(&shape) < 0) {
        char buf[96];
        dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "input '%s': shape %s has a negative size or more than %s elements",
                     name ? name : "?", dlx_shape_str(&shape, buf, sizeof buf), DLX_NUMEL_MAX_STR);
        return NULL;
    }
    dlx_node *n = new_node(g, DLX_NODE_INPUT, name, err);
    if (!n)
        return NULL;
    n->out = dlx_tensor_view(shape, NULL, NULL);
    n->needs_grad = needs_grad;
    return n;
}

dlx_node *dlx_graph_param(dlx_graph *g, int param_index, dlx_err *err)
{
    DLX_ASSERT(param_index >= 0 && param_index < g->params->n);
    const dlx_param *p = &g->params->items[param_index];
    dlx_node *n = new_node(g, DLX_NODE_PARAM, p->name, err);
    if (!n)
        return NULL;
    n->param = param_index;
    n->out = dlx_tensor_view(p->t.shape, NULL, NULL); /* bound at compile */
    n->needs_grad = true;
    return n;
}

dlx_node *dlx_graph_buffer(dlx_graph *g, int buffer_index, dlx_err *err)
{
    DLX_ASSERT(buffer_index >= 0 && buffer_index < g->params->n_buffers);
    const dlx_buffer *b = &g->params->buffers[buffer_index];
    dlx_node *n = new_node(g, DLX_NODE_BUFFER, b->name, err);
    if (!n)
        return NULL;
    n->param = buffer_index;
    n->out = dlx_tensor_view(b->t.shape, NULL, NULL); /* bound at compile */
    return n;
}

/* The graph's last node is the failed one: drop it so the graph stays valid. */
static void drop_last(dlx_graph *g)
{
    dlx_node *n = g->nodes[--g->n];
    free(n->attr);
    free(n);
}

dlx_node *dlx_graph_op(dlx_graph *g, const dlx_op_vtbl *op, const char *name, dlx_node **inputs,
                       int n_in, const void *attr, dlx_loc loc, dlx_err *err)
{
    if (n_in < op->n_in_min || n_in > op->n_in_max || n_in > DLX_MAX_INPUTS) {
        dlx_err_setf(err, DLX_EINVAL, loc, "%s '%s' takes %d to %d inputs, got %d", op->name,
                     name ? name : "?", op->n_in_min, op->n_in_max, n_in);
        return NULL;
    }
    dlx_node *n = new_node(g, DLX_NODE_OP, name, err);
    if (!n)
        return NULL;
    n->op = op;
    n->loc = loc;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        n->in[i] = inputs[i];
        n->needs_grad = n->needs_grad || inputs[i]->needs_grad;
    }
    if (op->attr_size) {
        n->attr = calloc(1, op->attr_size);
        if (!n->attr) {
            drop_last(g);
            dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory building the graph");
            return NULL;
        }
        if (attr)
            memcpy(n->attr, attr, op->attr_size);
    }
    dlx_err e2;
    dlx_err_clear(&e2);
    int rc = op->infer(n, &e2);
    char buf[96];
    if (!rc && dlx_shape_numel_checked(&n->out.shape) < 0) /* the op's sizes multiplied past int64 */
        rc = dlx_err_setf(&e2, DLX_EINVAL, loc, "the output shape %s has more than %s elements",
                          dlx_shape_str(&n->out.shape, buf, sizeof buf), DLX_NUMEL_MAX_STR);
    if (!rc && n->scratch_floats > (size_t)DLX_NUMEL_MAX)
        rc = dlx_err_setf(&e2, DLX_EINVAL, loc, "its workspace would have more than %s floats", DLX_NUMEL_MAX_STR);
    if (rc) {
        /* Say which node and where, and what came in. */
        char shapes[256] = "";
        size_t used = 0;
        for (int i = 0; i < n_in && used < sizeof shapes; i++)
            used += (size_t)snprintf(shapes + used, sizeof shapes - used, "%s%s", i ? " and " : "",
                                     dlx_shape_str(&inputs[i]->out.shape, buf, sizeof buf));
        dlx_err_setf(err, rc, loc, "%s '%s': %s (input shape %s)", op->name, n->name, e2.msg,
                     shapes);
        drop_last(g);
        return NULL;
    }
    n->out.numel = dlx_shape_numel(&n->out.shape);
    return n;
}

dlx_node *dlx_graph_find(const dlx_graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->nodes[i]->name, name) == 0)
            return g->nodes[i];
    return NULL;
}

/* Arena layout: [all activation grads][all values][all scratch]. Grads come
 * first and contiguous so one memset clears them every step. */
static bool is_view(const dlx_node *n) { return n->kind == DLX_NODE_OP && n->op->view; }

static size_t grad_bytes(const dlx_graph *g, const dlx_node *n)
{
    bool has = n->kind != DLX_NODE_PARAM && n->kind != DLX_NODE_BUFFER && !is_view(n) && n->needs_grad &&
               !g->inference;
    return has ? dlx_arena_round((size_t)n->out.numel * 4) : 0;
}

static size_t value_bytes(const dlx_node *n)
{
    return n->kind != DLX_NODE_PARAM && n->kind != DLX_NODE_BUFFER && !is_view(n)
               ? dlx_arena_round((size_t)n->out.numel * 4)
               : 0;
}

/* Saturates at SIZE_MAX (then no limit is met and no arena fits); every
 * node's numel and scratch is at most DLX_NUMEL_MAX, so each term fits. */
size_t dlx_graph_plan_bytes(const dlx_graph *g)
{
    size_t total = 0;
    for (int i = 0; i < g->n; i++) {
        const dlx_node *n = g->nodes[i];
        total = dlx_add_size_sat(total, grad_bytes(g, n));
        total = dlx_add_size_sat(total, value_bytes(n));
        total = dlx_add_size_sat(total, dlx_arena_round(n->scratch_floats * 4));
    }
    return total;
}

int dlx_graph_compile(dlx_graph *g, size_t max_bytes, dlx_err *err)
{
    DLX_ASSERT(!g->compiled);
    DLX_ASSERT(g->params->final);
    size_t need = dlx_graph_plan_bytes(g);
    if (need == SIZE_MAX)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "the graph's activations would need more bytes than a size_t holds");
    if (max_bytes && need > max_bytes)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC,
                            "the graph needs %.1f MiB of activations, over the limit of %.1f MiB",
                            (double)need / 1048576.0, (double)max_bytes / 1048576.0);
    int rc = dlx_arena_init(&g->arena, need, err);
    if (rc)
        return rc;
    for (int i = 0; i < g->n; i++) {
        dlx_node *n = g->nodes[i];
        if (grad_bytes(g, n))
            n->out.grad = dlx_arena_alloc(&g->arena, (size_t)n->out.numel * 4);
    }
    g->activation_bytes = g->arena.used; /* the grad region */
    for (int i = 0; i < g->n; i++) {
        dlx_node *n = g->nodes[i];
        if (n->kind == DLX_NODE_PARAM) {
            const dlx_param *p = &g->params->items[n->param];
            n->out.data = p->t.data;
            n->out.grad = g->param_grads ? g->param_grads + (p->t.grad - g->params->grads) : p->t.grad;
        } else if (n->kind == DLX_NODE_BUFFER) {
            n->out.data = g->params->buffers[n->param].t.data;
        } else if (is_view(n)) { /* input 0 comes earlier, so it is bound already */
            n->out.data = n->in[0]->out.data;
            n->out.grad = n->needs_grad && !g->inference ? n->in[0]->out.grad : NULL;
        } else {
            n->out.data = dlx_arena_alloc(&g->arena, (size_t)n->out.numel * 4);
        }
        if (n->scratch_floats)
            n->scratch = dlx_arena_alloc(&g->arena, n->scratch_floats * 4);
        DLX_ASSERT(n->out.data != NULL);
    }
    g->grad_of = calloc((size_t)g->n + 1, sizeof *g->grad_of);
    g->active = calloc((size_t)g->n + 1, sizeof *g->active);
    if (!g->grad_of || !g->active)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory compiling the graph");
    for (int i = 0; i < g->n; i++)
        g->grad_of[i] = g->nodes[i]->out.grad;
    g->compiled = true;
    return 0;
}

/* Op node i's forward, timed into g->prof when profiling. */
static void forward_node(dlx_graph *g, dlx_node *n, const dlx_ctx *ctx)
{
    if (!g->prof) {
        n->op->forward(n, ctx);
        return;
    }
    double t = now_s();
    n->op->forward(n, ctx);
    g->prof[2 * n->id] += now_s() - t;
}

/* Forward of the op nodes up to `last` (those with need[i] when need is given). */
static void run_forward(dlx_graph *g, int last, const bool *need, const dlx_ctx *ctx)
{
    for (int i = 0; i <= last; i++) {
        dlx_node *n = g->nodes[i];
        if (n->kind == DLX_NODE_OP && (!need || need[i]))
            forward_node(g, n, ctx);
    }
}

void dlx_graph_forward(dlx_graph *g, const dlx_ctx *ctx)
{
    DLX_ASSERT(g->compiled);
    run_forward(g, g->n - 1, NULL, ctx);
    dlx_graph_reuse_forget(g); /* (not a forward that keeps track) */
}

/* ---- reuse between the forwards of a step ---- */

int dlx_graph_reuse_enable(dlx_graph *g, dlx_err *err)
{
    DLX_ASSERT(g->compiled && !g->reuse);
    const size_t n = (size_t)g->n + 1;
    dlx_graph_reuse *r = calloc(1, sizeof *r);
    bool ok = r && (r->ver = calloc(n, sizeof *r->ver)) && (r->seen = calloc(n * DLX_MAX_INPUTS, sizeof *r->seen)) &&
              (r->valid = calloc(n, sizeof *r->valid)) && (r->snap = calloc(n, sizeof *r->snap));
    for (int i = 0; ok && i < g->n; i++)
        if (g->nodes[i]->kind == DLX_NODE_INPUT)
            ok = (r->snap[i] = malloc((size_t)g->nodes[i]->out.numel * sizeof(float) + 1)) != NULL;
    if (!ok) {
        reuse_free(r, g->n);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory keeping the graph's inputs");
    }
    g->reuse = r;
    return 0;
}

size_t dlx_graph_reuse_bytes(const dlx_graph *g)
{
    const size_t n = (size_t)g->n + 1;
    const dlx_graph_reuse *r = NULL;
    size_t total = sizeof *r + n * (sizeof *r->ver + DLX_MAX_INPUTS * sizeof *r->seen + sizeof *r->valid +
                                     sizeof *r->snap);
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i]->kind == DLX_NODE_INPUT)
            total = dlx_add_size_sat(total, (size_t)g->nodes[i]->out.numel * sizeof(float) + 1);
    return total;
}

void dlx_graph_reuse_forget(dlx_graph *g)
{
    if (g->reuse)
        memset(g->reuse->valid, 0, (size_t)g->n * sizeof *g->reuse->valid);
}

void dlx_graph_params_changed(dlx_graph *g, const bool *param_on)
{
    for (int i = 0; g->reuse && i < g->n; i++) {
        const dlx_node *n = g->nodes[i];
        if (n->kind == DLX_NODE_PARAM && (!param_on || param_on[n->param]))
            g->reuse->ver[i]++;
    }
}

/* run_forward keeping track: an input node's bytes against its copy, an op
 * node run only when its value no longer holds (dlx_graph_reuse_enable). */
static void run_forward_reusing(dlx_graph *g, int last, const bool *need, const dlx_ctx *ctx)
{
    dlx_graph_reuse *r = g->reuse;
    for (int i = 0; i <= last; i++) {
        dlx_node *n = g->nodes[i];
        if (!need[i])
            continue;
        if (n->kind == DLX_NODE_INPUT) {
            const size_t bytes = (size_t)n->out.numel * sizeof(float);
            if (!r->valid[i] || memcmp(r->snap[i], n->out.data, bytes)) {
                memcpy(r->snap[i], n->out.data, bytes);
                r->ver[i]++;
                r->valid[i] = true;
            }
            continue;
        }
        if (n->kind != DLX_NODE_OP)
            continue;
        uint64_t *seen = r->seen + (size_t)i * DLX_MAX_INPUTS;
        bool holds = r->valid[i] && !n->op->random;
        for (int j = 0; j < n->n_in && holds; j++)
            holds = seen[j] == r->ver[n->in[j]->id];
        if (holds) {
            if (n->op->restate)
                n->op->restate(n, ctx);
            continue;
        }
        forward_node(g, n, ctx);
        r->ver[i]++;
        r->valid[i] = true;
        for (int j = 0; j < n->n_in; j++)
            seen[j] = r->ver[n->in[j]->id];
    }
}

void dlx_graph_forward_to(dlx_graph *g, const dlx_node *top, const dlx_ctx *ctx)
{
    DLX_ASSERT(g->compiled);
    bool *need = g->active; /* (free until the backward that follows marks it again) */
    memset(need, 0, (size_t)g->n * sizeof *need);
    need[top->id] = true;
    for (int i = top->id; i >= 0; i--)
        for (int j = 0; need[i] && j < g->nodes[i]->n_in; j++)
            need[g->nodes[i]->in[j]->id] = true;
    if (g->reuse && ctx->training && !g->no_prune) {
        run_forward_reusing(g, top->id, need, ctx);
    } else {
        run_forward(g, top->id, need, ctx);
        dlx_graph_reuse_forget(g);
    }
}

/* Backward of every op node from top down to the first (only those with
 * active[i] when active is given), each timed into g->prof when profiling. */
static void run_backward(dlx_graph *g, int top, const bool *active, const dlx_ctx *ctx)
{
    for (int i = top; i >= 0; i--) {
        dlx_node *n = g->nodes[i];
        if (n->kind != DLX_NODE_OP || !n->needs_grad || (active && !active[i]))
            continue;
        if (g->reuse && !is_view(n)) /* its scratch may now be backward's workspace */
            g->reuse->valid[i] = false;
        if (!g->prof) {
            n->op->backward(n, ctx);
        } else {
            double t = now_s();
            n->op->backward(n, ctx);
            g->prof[2 * i + 1] += now_s() - t;
        }
        if (g->after_backward)
            g->after_backward(g->after_backward_user, i);
    }
}

void dlx_graph_backward_from(dlx_graph *g, dlx_node *top, const float *seed, const dlx_ctx *ctx)
{
    DLX_ASSERT(g->compiled && !g->inference);
    DLX_ASSERT(top->out.grad != NULL);
    /* the activation-grad region is the start of the arena */
    memset(g->arena.base, 0, g->activation_bytes);
    if (seed)
        memcpy(top->out.grad, seed, (size_t)top->out.numel * sizeof(float));
    else
        for (int64_t i = 0; i < top->out.numel; i++)
            top->out.grad[i] = 1.0f;
    run_backward(g, top->id, NULL, ctx);
}

void dlx_graph_backward(dlx_graph *g, dlx_node *loss, const dlx_ctx *ctx)
{
    DLX_ASSERT(loss->out.numel == 1);
    dlx_graph_backward_from(g, loss, NULL, ctx);
}

/* g->active[i]: node i lies on a path from a live parameter (or an input
 * that wants its gradient) to the loss. */
static void mark_active(dlx_graph *g, const dlx_node *loss, const bool *param_on)
{
    bool *a = g->active;
    for (int i = 0; i <= loss->id; i++) { /* reaches a live leaf */
        const dlx_node *n = g->nodes[i];
        a[i] = n->kind == DLX_NODE_PARAM ? param_on[n->param] : n->kind == DLX_NODE_INPUT && n->needs_grad;
        for (int j = 0; j < n->n_in && !a[i]; j++)
            a[i] = a[n->in[j]->id];
    }
    /* ... and is an ancestor of the loss: walk down from it; a node's
     * gradient pointer is given back only by an active consumer (all are
     * restored from grad_of after the backward) */
    for (int i = 0; i < loss->id; i++)
        g->nodes[i]->out.grad = NULL;
    g->nodes[loss->id]->out.grad = g->grad_of[loss->id];
    for (int i = loss->id; i >= 0; i--) {
        dlx_node *n = g->nodes[i];
        if (!n->out.grad || !a[i]) { /* not an ancestor of the loss on a live path */
            a[i] = false;
            n->out.grad = NULL;
            continue;
        }
        if (n->kind == DLX_NODE_OP)
            for (int j = 0; j < n->n_in; j++)
                if (a[n->in[j]->id])
                    n->in[j]->out.grad = g->grad_of[n->in[j]->id];
    }
}

void dlx_graph_backward_masked(dlx_graph *g, dlx_node *loss, const bool *param_on, const dlx_ctx *ctx)
{
    DLX_ASSERT(g->compiled && !g->inference && loss->out.numel == 1 && loss->out.grad);
    if (!param_on) {
        dlx_graph_backward_from(g, loss, NULL, ctx);
        return;
    }
    mark_active(g, loss, param_on);
    if (g->no_prune) {
        memset(g->arena.base, 0, g->activation_bytes);
    } else { /* only the gradients this backward reads or adds into (views share their input's) */
        for (int i = 0; i <= loss->id; i++) {
            const dlx_node *n = g->nodes[i];
            if (g->active[i] && n->out.grad && n->kind != DLX_NODE_PARAM && !is_view(n))
                memset(n->out.grad, 0, (size_t)n->out.numel * sizeof(float));
        }
    }
    loss->out.grad[0] = 1.0f;
    run_backward(g, loss->id, g->active, ctx);
    for (int i = 0; i <= loss->id; i++)
        g->nodes[i]->out.grad = g->grad_of[i];
}
