/* graph_local and graph_maxpool: the locally connected network on a graph
 * of Bruna, Zaremba, Szlam & LeCun 2014 (section 2.2, "LRF" rows of Table
 * 1): units with their own weights over a neighbourhood of their point, and
 * max pooling over the clusters of a multiscale clustering of the points
 * (core/graph_levels.h).
 *
 * An input x (N, ..., P) is C = numel / (N P) maps over P points, P its last
 * dimension (1 x 1 x P subsampled images, or an earlier layer's (N, C, P)).
 *
 * graph_local   in: x, nb (Q, k) buffer of point indices, W (F, Q, C, k), [b (F, Q)]
 *               out: (N, F, Q), y[n, o, j] = act(b[o, j] + sum_i sum_t W[o, j, i, t] x[n, i, nb[j, t]])
 *   backward, dZ = dy act'(y):  db[o, j] += sum_n dZ[n, o, j]
 *               dW[o, j, i, t] += sum_n dZ[n, o, j] x[n, i, nb[j, t]]
 *               dx[n, i, nb[j, t]] += sum_o dZ[n, o, j] W[o, j, i, t]
 * graph_maxpool in: x, mem (Q, m) buffer of cluster members (-1 after the last)
 *               out: (N, C, Q), y[n, c, j] = max over cluster j's members p of x[n, c, p]
 *               (0 for a cluster without members); backward routes dy to the
 *               first largest member, saved in scratch.
 * Indices come from the layers (graph_levels.h) and are checked there; the
 * ops clamp them into [0, P) so that no buffer can make them read outside x.
 * Both are their own naive definition (no fast path). One thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../graph_levels.h"
#include "../layer_build.h"
#include "ops.h"

static int64_t points_of(const dlx_node *x)
{
    return x->out.shape.d[x->out.shape.ndim - 1];
}

static int index_at(float v, int64_t P)
{
    int64_t p = (int64_t)v;
    return (int)(p < 0 ? 0 : p >= P ? P - 1 : p);
}

static int local_infer(dlx_node *n, dlx_err *err)
{
    char b0[64], b1[64];
    const dlx_node *x = n->in[0];
    const dlx_shape *nb = &n->in[1]->out.shape, *ws = &n->in[2]->out.shape;
    if (x->out.shape.ndim < 2 || nb->ndim != 2 || ws->ndim != 4)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected x (N, ..., P), nb (Q, k) and W (F, Q, C, k), got %s, %s",
                            dlx_shape_str(&x->out.shape, b0, sizeof b0), dlx_shape_str(ws, b1, sizeof b1));
    const int64_t N = x->out.shape.d[0], P = points_of(x), Q = nb->d[0], k = nb->d[1], F = ws->d[0], C = ws->d[2];
    if (ws->d[1] != Q || ws->d[3] != k || N < 1 || P < 1 || x->out.numel != N * C * P)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "W %s must be (F, %lld, C, %lld) for nb %s, with C maps of x %s",
                            dlx_shape_str(ws, b0, sizeof b0), (long long)Q, (long long)k,
                            dlx_shape_str(nb, b1, sizeof b1), dlx_shape_str(&x->out.shape, (char[64]){0}, 64));
    if (n->in[1]->kind != DLX_NODE_BUFFER)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "nb must be a buffer node (the graph's, never learned)");
    if (n->n_in == 4 && (n->in[3]->out.shape.ndim != 2 || n->in[3]->out.shape.d[0] != F || n->in[3]->out.shape.d[1] != Q))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "bias must be (%lld, %lld), got %s", (long long)F, (long long)Q,
                            dlx_shape_str(&n->in[3]->out.shape, b0, sizeof b0));
    int64_t out;
    if (!dlx_mul_i64(N, F, &out) || !dlx_mul_i64(out, Q, &out))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "the output is too large");
    n->out.shape = (dlx_shape){.ndim = 3, .d = {N, F, Q}};
    n->scratch_floats = (size_t)out; /* dZ */
    return 0;
}

typedef struct lc_dims {
    int64_t N, C, P, Q, k, F;
} lc_dims;

static lc_dims local_dims(const dlx_node *n)
{
    const int64_t *ws = n->in[2]->out.shape.d;
    return (lc_dims){.N = n->out.shape.d[0], .C = ws[2], .P = points_of(n->in[0]), .Q = ws[1], .k = ws[3], .F = ws[0]};
}

static void local_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_graph_local_attr *a = n->attr;
    const lc_dims s = local_dims(n);
    const float *x = n->in[0]->out.data, *nb = n->in[1]->out.data, *W = n->in[2]->out.data;
    const float *b = n->n_in == 4 ? n->in[3]->out.data : NULL;
    for (int64_t r = 0; r < s.N; r++)
        for (int64_t o = 0; o < s.F; o++)
            for (int64_t j = 0; j < s.Q; j++) {
                double y = b ? b[o * s.Q + j] : 0.0;
                const float *w = W + (o * s.Q + j) * s.C * s.k;
                for (int64_t i = 0; i < s.C; i++) {
                    const float *xi = x + (r * s.C + i) * s.P;
                    for (int64_t t = 0; t < s.k; t++)
                        y += (double)w[i * s.k + t] * xi[index_at(nb[j * s.k + t], s.P)];
                }
                n->out.data[(r * s.F + o) * s.Q + j] = (float)y;
            }
    dlx_act_forward(a->act, a->alpha, n->out.data, s.N * s.F * s.Q);
}

static void local_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_graph_local_attr *a = n->attr;
    const lc_dims s = local_dims(n);
    const float *x = n->in[0]->out.data, *nb = n->in[1]->out.data, *W = n->in[2]->out.data;
    float *dx = n->in[0]->out.grad, *dW = n->in[2]->out.grad, *db = n->n_in == 4 ? n->in[3]->out.grad : NULL;
    float *dz = n->scratch;
    memcpy(dz, n->out.grad, (size_t)(s.N * s.F * s.Q) * sizeof *dz);
    dlx_act_backward(a->act, a->alpha, n->out.data, dz, s.N * s.F * s.Q);
    for (int64_t r = 0; r < s.N; r++)
        for (int64_t o = 0; o < s.F; o++)
            for (int64_t j = 0; j < s.Q; j++) {
                const float g = dz[(r * s.F + o) * s.Q + j];
                if (db)
                    db[o * s.Q + j] += g;
                const size_t wo = (size_t)((o * s.Q + j) * s.C * s.k);
                for (int64_t i = 0; i < s.C; i++)
                    for (int64_t t = 0; t < s.k; t++) {
                        const int64_t p = (r * s.C + i) * s.P + index_at(nb[j * s.k + t], s.P);
                        if (dW)
                            dW[wo + i * s.k + t] += g * x[p];
                        if (dx)
                            dx[p] += g * W[wo + i * s.k + t];
                    }
            }
}

static int pool_infer(dlx_node *n, dlx_err *err)
{
    char b0[64], b1[64];
    const dlx_node *x = n->in[0];
    const dlx_shape *ms = &n->in[1]->out.shape;
    if (x->out.shape.ndim < 2 || ms->ndim != 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected x (N, ..., P) and mem (Q, m), got %s and %s",
                            dlx_shape_str(&x->out.shape, b0, sizeof b0), dlx_shape_str(ms, b1, sizeof b1));
    if (n->in[1]->kind != DLX_NODE_BUFFER)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "mem must be a buffer node (the graph's clusters)");
    const int64_t N = x->out.shape.d[0], P = points_of(x), Q = ms->d[0];
    const int64_t C = N > 0 && P > 0 ? x->out.numel / (N * P) : 0;
    int64_t out;
    if (C < 1 || !dlx_mul_i64(N * C, Q, &out))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "input %s: empty or too large",
                            dlx_shape_str(&x->out.shape, b0, sizeof b0));
    n->out.shape = (dlx_shape){.ndim = 3, .d = {N, C, Q}};
    n->scratch_floats = (size_t)out; /* the member each output took, -1 for none */
    return 0;
}

static void pool_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const int64_t N = n->out.shape.d[0], C = n->out.shape.d[1], Q = n->out.shape.d[2], P = points_of(n->in[0]);
    const int64_t m = n->in[1]->out.shape.d[1];
    const float *x = n->in[0]->out.data, *mem = n->in[1]->out.data;
    for (int64_t r = 0; r < N * C; r++)
        for (int64_t j = 0; j < Q; j++) {
            float best = 0.0f;
            int arg = -1;
            for (int64_t t = 0; t < m && mem[j * m + t] >= 0.0f; t++) {
                int p = index_at(mem[j * m + t], P);
                if (arg < 0 || x[r * P + p] > best) {
                    best = x[r * P + p];
                    arg = p;
                }
            }
            n->out.data[r * Q + j] = best;
            n->scratch[r * Q + j] = (float)arg;
        }
}

static void pool_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const int64_t N = n->out.shape.d[0], C = n->out.shape.d[1], Q = n->out.shape.d[2], P = points_of(n->in[0]);
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    for (int64_t r = 0; r < N * C; r++)
        for (int64_t j = 0; j < Q; j++) {
            int arg = (int)n->scratch[r * Q + j];
            if (arg >= 0)
                dx[r * P + arg] += n->out.grad[r * Q + j];
        }
}

/* ---- the R-operators (core/hvp.h), in double ----
 * graph_local is bilinear in (x, W) plus b, as conv2d (conv2d.c's scheme):
 *   R{Z} = L(R{x}, W) + L(x, R{W}) + R{b},  R{y} = act'(Z) R{Z}
 *   R{dx} += L_x^T(R{dZ}, W) + L_x^T(dZ, R{W}),  R{dW} += L_W^T(R{dZ}, x) + L_W^T(dZ, R{x})
 * graph_maxpool is piecewise linear: y = x[argmax], R{y} = R{x}[argmax],
 * gradients routed to the argmax (saved in scratch as in forward). */

/* Every term W[o,j,i,t] x[r,i,nb[j,t]] of Z[r,o,j]: z += W x (z not NULL),
 * and its adjoints gx += W dz, gw += dz x (where not NULL). */
static void local_loop(const lc_dims *s, const double *nb, const double *x, const double *w, double *z,
                       const double *dz, double *gx, double *gw)
{
    for (int64_t r = 0; r < s->N; r++)
        for (int64_t o = 0; o < s->F; o++)
            for (int64_t j = 0; j < s->Q; j++) {
                const int64_t e = (r * s->F + o) * s->Q + j, wo = (o * s->Q + j) * s->C * s->k;
                double acc = 0.0;
                for (int64_t i = 0; i < s->C; i++)
                    for (int64_t t = 0; t < s->k; t++) {
                        const int64_t p = (r * s->C + i) * s->P + index_at((float)nb[j * s->k + t], s->P);
                        const int64_t wi = wo + i * s->k + t;
                        if (z)
                            acc += w[wi] * x[p];
                        if (gx)
                            gx[p] += w[wi] * dz[e];
                        if (gw)
                            gw[wi] += dz[e] * x[p];
                    }
                if (z)
                    z[e] += acc;
            }
}

static void local_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_graph_local_attr *a = n->attr;
    const lc_dims s = local_dims(n);
    const dlx_dual *x = in[0], *nb = in[1], *w = in[2], *b = n->n_in == 4 ? in[3] : NULL;
    for (int64_t e = 0; e < out->numel; e++) {
        const int64_t oj = e % (s.F * s.Q);
        if (mode != DLX_ROP_TANGENT)
            out->v[e] = b ? b->v[oj] : 0.0;
        if (mode != DLX_ROP_VALUE)
            out->r[e] = b ? b->r[oj] : 0.0;
    }
    if (mode != DLX_ROP_TANGENT)
        local_loop(&s, nb->v, x->v, w->v, out->v, NULL, NULL, NULL);
    if (mode != DLX_ROP_VALUE) {
        local_loop(&s, nb->v, x->r, w->v, out->r, NULL, NULL, NULL);
        local_loop(&s, nb->v, x->v, w->r, out->r, NULL, NULL, NULL);
    }
    dlx_act_rop_forward(a->act, a->alpha, out, mode);
}

static void local_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_graph_local_attr *a = n->attr;
    const lc_dims s = local_dims(n);
    const dlx_dual *x = in[0], *nb = in[1], *w = in[2], *b = n->n_in == 4 ? in[3] : NULL;
    double *dz = out->scratch, *rdz = out->scratch + out->numel;
    dlx_act_rop_backward(a->act, a->alpha, out, dz, rdz, mode);
    for (int64_t e = 0; b && b->g && e < out->numel; e++) {
        const int64_t oj = e % (s.F * s.Q);
        if (mode != DLX_ROP_TANGENT)
            b->g[oj] += dz[e];
        if (mode != DLX_ROP_VALUE)
            b->rg[oj] += rdz[e];
    }
    if (mode != DLX_ROP_TANGENT)
        local_loop(&s, nb->v, x->v, w->v, NULL, dz, x->g, w->g);
    if (mode == DLX_ROP_VALUE)
        return;
    local_loop(&s, nb->v, x->v, w->v, NULL, rdz, x->rg, w->rg);
    if (x->rg)
        local_loop(&s, nb->v, NULL, w->r, NULL, dz, x->rg, NULL);
    if (w->rg)
        local_loop(&s, nb->v, x->r, NULL, NULL, dz, NULL, w->rg);
}

static void pool_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t N = n->out.shape.d[0], C = n->out.shape.d[1], Q = n->out.shape.d[2], P = points_of(n->in[0]);
    const int64_t m = n->in[1]->out.shape.d[1];
    const double *x = in[0]->v, *mem = in[1]->v;
    double *arg = out->scratch; /* the member each output took, -1 for none */
    for (int64_t r = 0; r < N * C; r++)
        for (int64_t j = 0; j < Q; j++) {
            const int64_t e = r * Q + j;
            if (mode != DLX_ROP_TANGENT) {
                int best = -1;
                for (int64_t t = 0; t < m && mem[j * m + t] >= 0.0; t++) {
                    int p = index_at((float)mem[j * m + t], P);
                    if (best < 0 || x[r * P + p] > x[r * P + best])
                        best = p;
                }
                arg[e] = best;
                out->v[e] = best >= 0 ? x[r * P + best] : 0.0;
            }
            if (mode != DLX_ROP_VALUE)
                out->r[e] = arg[e] >= 0.0 ? in[0]->r[r * P + (int64_t)arg[e]] : 0.0;
        }
}

static void pool_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t N = n->out.shape.d[0], C = n->out.shape.d[1], Q = n->out.shape.d[2], P = points_of(n->in[0]);
    const double *arg = out->scratch;
    if (!in[0]->g)
        return;
    for (int64_t r = 0; r < N * C; r++)
        for (int64_t j = 0; j < Q; j++) {
            const int64_t e = r * Q + j;
            if (arg[e] < 0.0)
                continue;
            if (mode != DLX_ROP_TANGENT)
                in[0]->g[r * P + (int64_t)arg[e]] += out->g[e];
            if (mode != DLX_ROP_VALUE)
                in[0]->rg[r * P + (int64_t)arg[e]] += out->rg[e];
        }
}

static const dlx_op_rop k_local_rop = {local_rop_forward, local_rop_backward, NULL};
static const dlx_op_rop k_pool_rop = {pool_rop_forward, pool_rop_backward, NULL};

/* ---- layer types and gradient-check cases ---- */

/* The clustering of the graph's points and the level of the input (its
 * last dimension's point count), with the maps it holds. */
static int input_level(dlx_layer_call *c, dlx_levels *lv, int *level, int64_t *maps, dlx_err *err)
{
    const dlx_points *pts = c->g->points;
    if (!pts)
        return dlx_layer_fail(c, err, "this layer works on the points of subsampled or projected images: give "
                                      "data.subsample {points: P, seed: S} or data.sphere {points: P}");
    int rc = dlx_levels_build(pts, DLX_LEVELS_MAX, lv, err);
    if (rc)
        return rc;
    const int64_t P = points_of(c->in[0]);
    *level = P <= pts->n ? dlx_levels_find(lv, (int)P) : -1;
    if (*level < 0) {
        char counts[160] = "";
        for (int l = 0; l < lv->n_levels; l++)
            snprintf(counts + strlen(counts), sizeof counts - strlen(counts), "%s%d", l ? ", " : "", lv->n[l]);
        dlx_levels_free(lv);
        return dlx_layer_fail(c, err, "its input's last dimension (%lld) is no level of the points' clustering "
                              "(%s points); a graph layer takes the input or another graph layer's output",
                              (long long)P, counts);
    }
    *maps = dlx_layer_features(c->in[0]) / P;
    return 0;
}

static int build_local(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    dlx_levels lv;
    int level;
    int64_t C, F, k;
    bool bias;
    dlx_graph_local_attr a = {0};
    int rc = input_level(c, &lv, &level, &C, err);
    if (rc)
        return rc;
    const int Q = lv.n[level];
    rc = dlx_spec_int(c->entry, "features", true, 0, 1, 1 << 16, &F, err);
    if (!rc) rc = dlx_spec_int(c->entry, "neighbors", false, Q < 9 ? Q : 9, 1, Q, &k, err);
    if (!rc) rc = dlx_spec_bool(c->entry, "bias", false, true, &bias, err);
    if (!rc) rc = dlx_layer_read_act(c, &a.act, &a.alpha, err);
    float *nb = NULL;
    if (!rc && !dlx_layer_has_buffer(c, "neighbors")) {
        if (!(nb = malloc((size_t)Q * (size_t)k * sizeof *nb)))
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        if (!rc) rc = dlx_levels_neighbors(&lv, level, (int)k, nb, err);
    }
    dlx_levels_free(&lv);
    dlx_node *in[4] = {c->in[0]};
    if (!rc) rc = dlx_layer_buffer_data(c, "neighbors", dlx_shape_2d(Q, k), nb, true, &in[1], err);
    free(nb);
    dlx_init init;
    int def = a.act == DLX_ACT_RELU || a.act == DLX_ACT_LEAKY_RELU ? 1 : 0;
    if (!rc) rc = dlx_layer_read_init(c, def, C * k, F, &init, err);
    if (!rc) rc = dlx_layer_param(c, "weight", (dlx_shape){.ndim = 4, .d = {F, Q, C, k}}, init, true, &in[2], err);
    if (!rc && bias) rc = dlx_layer_param(c, "bias", dlx_shape_2d(F, Q), (dlx_init){.kind = DLX_INIT_ZERO}, false, &in[3], err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_graph_local, in, bias ? 4 : 3, &a, out, err);
}

static int build_pool(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    dlx_levels lv;
    int level, width;
    int64_t C, up;
    int rc = input_level(c, &lv, &level, &C, err);
    if (rc)
        return rc;
    rc = dlx_spec_int(c->entry, "levels", false, 1, 1, lv.n_levels - 1 - level, &up, err);
    float *mem = NULL;
    if (!rc) rc = dlx_levels_members(&lv, level, (int)up, NULL, &width, err);
    const int Q = rc ? 0 : lv.n[level + up];
    if (!rc && !dlx_layer_has_buffer(c, "members")) {
        if (!(mem = malloc((size_t)Q * (size_t)width * sizeof *mem)))
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        if (!rc) rc = dlx_levels_members(&lv, level, (int)up, mem, &width, err);
    }
    dlx_levels_free(&lv);
    dlx_node *in[2] = {c->in[0]};
    if (!rc) rc = dlx_layer_buffer_data(c, "members", dlx_shape_2d(Q, width), mem, true, &in[1], err);
    free(mem);
    return rc ? rc : dlx_layer_op(c, &dlx_op_graph_maxpool, in, 2, NULL, out, err);
}

static const dlx_key_doc k_local_keys[] = {
    {"features", "integer", "required", "1 to 65536", "output features per point (or cluster)"},
    {"neighbors", "integer", "9 (at most the points)", "1 to the points of its level",
     "k nearest neighbours (itself included) each output sees"},
    DLX_LAYER_DOC_ACT,
    {"bias", "bool", "true", "", "a learned bias per output feature and point"},
    DLX_LAYER_DOC_INIT,
    {NULL},
};
static const dlx_layer_def k_local_layers[] = {
    {"graph_local", k_local_keys,
     "locally connected layer on the points' graph (Bruna et al. 2014's LRF): features, neighbors (k nearest, "
     "itself included), activation",
     1, build_local},
};
static const dlx_key_doc k_pool_keys[] = {
    {"levels", "integer", "1", "1 to the levels above its input's", "clustering levels to go up (1: pairs of points)"},
    {NULL},
};
static const dlx_layer_def k_pool_layers[] = {
    {"graph_maxpool", k_pool_keys,
     "max over the clusters of the points' multiscale clustering: levels (1: pairs, about P/2 clusters; 2: P/4)", 1,
     build_pool},
};

/* x (N, C, P), nb (Q, k) indices in [0, P), W (F, Q, C, k), [b (F, Q)] */
#define LC_CASE(nm, act, N, C, P, Q, k, F, nin)                                                                   \
    {.what = "graph_local " nm, .attr = &(dlx_graph_local_attr){act, 0.1f}, .n_in = nin,                          \
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(N, C, P)},                                                   \
            {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(Q, k), .lo = 0.0f, .hi = P - 0.01f, .positive = true},     \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(F, Q, C, k)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(F, Q)}}}
static const dlx_op_example k_local_examples[] = {
    LC_CASE("bias", DLX_ACT_NONE, 2, 2, 6, 6, 3, 3, 4),
    LC_CASE("tanh, fewer outputs", DLX_ACT_TANH, 3, 1, 7, 4, 2, 2, 4),
    LC_CASE("no bias, relu", DLX_ACT_RELU, 2, 3, 5, 5, 4, 2, 3),
};
/* members: about half negative (a cluster's list ends at its first one) */
static const dlx_op_example k_pool_examples[] = {
    {.what = "graph_maxpool", .n_in = 2, .spaced = true,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 3, 8)},
            {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(5, 3), .lo = 0.0f, .hi = 7.99f}}},
    {.what = "graph_maxpool 1-map input", .n_in = 2, .spaced = true,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 1, 1, 9)},
            {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(4, 4), .lo = 0.0f, .hi = 8.99f, .positive = true}}},
};

const dlx_op_vtbl dlx_op_graph_local = {
    .name = "graph_local",
    .n_in_min = 3,
    .n_in_max = 4,
    .attr_size = sizeof(dlx_graph_local_attr),
    .infer = local_infer,
    .forward = local_forward,
    .backward = local_backward,
    .layers = k_local_layers,
    .n_layers = (int)(sizeof k_local_layers / sizeof k_local_layers[0]),
    .examples = k_local_examples,
    .n_examples = (int)(sizeof k_local_examples / sizeof k_local_examples[0]),
    .rop = &k_local_rop,
};

const dlx_op_vtbl dlx_op_graph_maxpool = {
    .name = "graph_maxpool",
    .n_in_min = 2,
    .n_in_max = 2,
    .infer = pool_infer,
    .forward = pool_forward,
    .backward = pool_backward,
    .layers = k_pool_layers,
    .n_layers = (int)(sizeof k_pool_layers / sizeof k_pool_layers[0]),
    .examples = k_pool_examples,
    .n_examples = (int)(sizeof k_pool_examples / sizeof k_pool_examples[0]),
    .rop = &k_pool_rop,
};
