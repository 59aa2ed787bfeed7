#include "gradcheck.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvp.h"
#include "rng.h"

/* Separate streams of opts.seed for r, coordinates and directions. */
enum { STREAM_R = 1, STREAM_COORDS = 2, STREAM_DIR = 3 };

dlx_gradcheck_opts dlx_gradcheck_defaults(void)
{
    return (dlx_gradcheck_opts){.eps = 1e-3, .rtol = 1e-2, .atol = 1e-4, .max_coords = 64, .seed = 1,
                                .precision = DLX_GRADCHECK_DOUBLE};
}

void dlx_gradcheck_merge(dlx_gradcheck_report *rep, const char *name, const dlx_gradcheck_report *one)
{
    rep->checked += one->checked;
    rep->failed += one->failed;
    rep->skipped += one->skipped;
    if (one->max_rel_err >= rep->max_rel_err) {
        rep->max_rel_err = one->max_rel_err;
        snprintf(rep->worst, sizeof rep->worst, "%s: %.140s", name, one->worst);
    }
    if (one->kink[0] && !rep->kink[0])
        snprintf(rep->kink, sizeof rep->kink, "%s: %.140s", name, one->kink);
}

/* One tensor under check. */
typedef struct target {
    const char *name;
    const dlx_shape *shape;
    int64_t numel;
    float *data, *grad;
    const dlx_node *node; /* an input's node; NULL for a parameter */
    double *dv;           /* double path: its values in the dual */
} target;

typedef struct checker {
    dlx_graph *g;
    dlx_node *top;
    const dlx_ctx *ctx;
    const dlx_gradcheck_opts *o;
    dlx_gradcheck_report *rep;
    const float *r;
    double f0, fscale;   /* f at the unperturbed point, sum |r_i top_i| */
    double roundoff;     /* round-off allowance of the comparison in progress */
    double worst_ratio;  /* of |a - n| to its tolerance */
    double worst_kink;   /* the largest |sp - sm| of a skipped coordinate */
    dlx_hvp *dual;       /* the double path's function; NULL: float */
    double ulp;          /* the machine epsilon of f */
} checker;

static double eval_f(checker *c, double *scale)
{
    const double *yd = NULL;
    const float *y = c->top->out.data;
    if (c->dual)
        yd = dlx_hvp_values(c->dual);
    else
        dlx_graph_forward(c->g, c->ctx);
    double f = 0.0, s = 0.0;
    for (int64_t i = 0; i < c->top->out.numel; i++) {
        double t = (double)c->r[i] * (yd ? yd[i] : (double)y[i]);
        f += t;
        s += fabs(t);
    }
    if (scale)
        *scale = s;
    return f;
}

/* Coordinate j of t at value x: the float engine's tensor, or the dual's. */
static void set_coord(checker *c, const target *t, int64_t j, double x)
{
    if (c->dual)
        t->dv[j] = x;
    else
        t->data[j] = (float)x;
}

/* The step taken from x by about +h (sign 1) or -h (sign -1): exact in
 * double, rounded to the float grid in float. */
static double step_from(const checker *c, double x, double h, int sign)
{
    if (c->dual)
        return h;
    return sign > 0 ? (double)(float)(x + h) - x : x - (double)(float)(x - h);
}

static double tolerance(const checker *c, double a, double n)
{
    return c->o->atol + c->o->rtol * fmax(fabs(a), fabs(n)) + c->roundoff;
}

/* What round-off of f alone can put into a central difference over a total
 * step `span`: a few ulps (float32's or double's) of f's terms, divided by
 * the step. Without it a float32 loss near 2.3 (ulp 2.4e-7) could never
 * match a gradient of 1e-3 to 1e-4 with eps = 1e-3. */
static double roundoff(const checker *c, double span)
{
    return 4.0 * c->ulp * c->fscale / span;
}

/* One-sided slopes sp, sm that disagree beyond the tolerance (twice, since
 * the central difference is their mean) plus round-off of f over the step. */
static bool on_kink(const checker *c, double sp, double sm, double step)
{
    double noise = 16.0 * c->ulp * c->fscale / step;
    return fabs(sp - sm) > 2.0 * tolerance(c, sp, sm) + noise;
}

/* "at [i, j]" for element j of t (row-major), or the random direction (j < 0) */
static void where_of(const target *t, int64_t j, char *where, size_t size)
{
    if (j < 0) {
        snprintf(where, size, "along a random direction");
        return;
    }
    int64_t idx[DLX_MAX_DIM], rest = j;
    for (int d = t->shape->ndim - 1; d >= 0; d--) {
        idx[d] = rest % t->shape->d[d];
        rest /= t->shape->d[d];
    }
    size_t used = (size_t)snprintf(where, size, "at [");
    for (int d = 0; d < t->shape->ndim && used < size; d++)
        used += (size_t)snprintf(where + used, size - used, "%s%lld", d ? ", " : "", (long long)idx[d]);
    if (used < size)
        snprintf(where + used, size - used, "]");
}

/* Compare and record; returns true when the pair passed. */
static bool compare(checker *c, const target *t, int64_t j, double a, double n)
{
    double err = fabs(a - n), tol = tolerance(c, a, n);
    bool ok = err <= tol;
    c->rep->checked++;
    if (!ok)
        c->rep->failed++;
    double ratio = tol > 0.0 ? err / tol : (err > 0.0 ? INFINITY : 0.0);
    if (isnan(ratio))
        ratio = INFINITY;
    if (ratio > c->worst_ratio) {
        c->worst_ratio = ratio;
        char where[48];
        where_of(t, j, where, sizeof where);
        snprintf(c->rep->worst, sizeof c->rep->worst, "'%.60s' %.40s: analytic %.6g, numeric %.6g",
                 t->name, where, a, n);
    }
    return ok;
}

/* A coordinate (or the direction) skipped on a kink, with its one-sided
 * slopes: counted, and named when its slopes disagree most so far. */
static void skip_kink(checker *c, const target *t, int64_t j, double sp, double sm)
{
    c->rep->skipped++;
    if (fabs(sp - sm) <= c->worst_kink)
        return;
    c->worst_kink = fabs(sp - sm);
    char where[48];
    where_of(t, j, where, sizeof where);
    snprintf(c->rep->kink, sizeof c->rep->kink, "'%.60s' %.40s: one-sided differences %.6g and %.6g", t->name,
             where, sp, sm);
}

/* Pick k distinct coordinates of [0, numel) (all when numel <= k). */
static int64_t pick_coords(int64_t numel, int k, dlx_rng *rng, int64_t *out)
{
    if (numel <= k) {
        for (int64_t i = 0; i < numel; i++)
            out[i] = i;
        return numel;
    }
    int64_t m = 0;
    while (m < k) {
        int64_t j = (int64_t)(dlx_rng_u64(rng) % (uint64_t)numel);
        bool seen = false;
        for (int64_t q = 0; q < m && !seen; q++)
            seen = out[q] == j;
        if (!seen)
            out[m++] = j;
    }
    return m;
}

/* The central difference of f along coordinate j of t (value x) with a
 * step about h; false with the one-sided slopes in *sp, *sm when they
 * disagree (a kink, or curvature). */
static bool central(checker *c, const target *t, int64_t j, double x, double h, double *n, double *sp, double *sm)
{
    double hp = step_from(c, x, h, 1), hm = step_from(c, x, h, -1);
    set_coord(c, t, j, x + hp);
    double fp = eval_f(c, NULL);
    set_coord(c, t, j, x - hm);
    double fm = eval_f(c, NULL);
    set_coord(c, t, j, x);
    *sp = (fp - c->f0) / hp;
    *sm = (c->f0 - fm) / hm;
    *n = (fp - fm) / (hp + hm);
    c->roundoff = roundoff(c, hp + hm);
    return !on_kink(c, *sp, *sm, fmin(hp, hm));
}

/* The double path's second look at a coordinate whose slopes disagreed at
 * step h by d: at h / 8 they agree (the kink lay beyond h / 8) or disagree
 * by at most d / 4 (curvature, which shrinks with the step): *n is the
 * central difference there; else the point is on a kink (false). */
static bool second_look(checker *c, const target *t, int64_t j, double x, double h, double d, double *n)
{
    double sp, sm;
    if (central(c, t, j, x, h / 8.0, n, &sp, &sm))
        return true;
    return fabs(sp - sm) <= 0.25 * d;
}

static void check_coords(checker *c, const target *t, const float *a, int64_t *coords,
                         int tensor_index)
{
    dlx_rng rng;
    dlx_rng_init(&rng, c->o->seed, ((uint64_t)STREAM_COORDS << 32) + (uint64_t)tensor_index);
    int64_t k = pick_coords(t->numel, c->o->max_coords, &rng, coords);
    double diff2 = 0.0, a2 = 0.0, n2 = 0.0;
    int64_t used = 0;
    for (int64_t q = 0; q < k; q++) {
        int64_t j = coords[q];
        double x = c->dual ? t->dv[j] : (double)t->data[j];
        double h = c->o->eps * fmax(1.0, fabs(x)), n, sp, sm;
        bool ok = central(c, t, j, x, h, &n, &sp, &sm);
        if (!ok && c->dual)
            ok = second_look(c, t, j, x, h, fabs(sp - sm), &n);
        if (!ok) {
            skip_kink(c, t, j, sp, sm);
            c->roundoff = 0.0;
            continue;
        }
        double an = (double)a[j];
        compare(c, t, j, an, n);
        c->roundoff = 0.0;
        diff2 += (an - n) * (an - n);
        a2 += an * an;
        n2 += n * n;
        used++;
    }
    if (used) {
        double tiny = c->o->atol * sqrt((double)used);
        double rel = sqrt(diff2) / fmax(fmax(sqrt(a2), sqrt(n2)), tiny);
        if (!(rel <= c->rep->max_rel_err))
            c->rep->max_rel_err = rel;
    }
}

/* The difference of f along the steps scale d+ and -scale d- from saved,
 * per unit length: *n central, *sp, *sm one-sided; false when they
 * disagree. len, lenp, lenm: the lengths of d+ + d-, d+ and d-. */
static bool dir_diff(checker *c, const target *t, const float *saved, const double *dplus, const double *dminus,
                     double scale, const double len[3], double *n, double *sp, double *sm)
{
    for (int64_t i = 0; i < t->numel; i++)
        set_coord(c, t, i, (double)saved[i] + scale * dplus[i]);
    double fp = eval_f(c, NULL);
    for (int64_t i = 0; i < t->numel; i++)
        set_coord(c, t, i, (double)saved[i] - scale * dminus[i]);
    double fm = eval_f(c, NULL);
    for (int64_t i = 0; i < t->numel; i++)
        set_coord(c, t, i, (double)saved[i]);
    *sp = (fp - c->f0) / (scale * len[1]);
    *sm = (c->f0 - fm) / (scale * len[2]);
    *n = (fp - fm) / (scale * len[0]);
    c->roundoff = roundoff(c, scale * len[0]);
    return !on_kink(c, *sp, *sm, 0.5 * scale * len[0]);
}

/* Directional derivative along a random v over every element:
 * f(x + d+) - f(x - d-) against a . (d+ + d-), both per unit length (with
 * the double path's second look at an eighth of the steps, as for a
 * coordinate). */
static void check_direction(checker *c, const target *t, const float *a, float *saved,
                            double *dplus, double *dminus, int tensor_index)
{
    dlx_rng rng;
    dlx_rng_init(&rng, c->o->seed, ((uint64_t)STREAM_DIR << 32) + (uint64_t)tensor_index);
    memcpy(saved, t->data, (size_t)t->numel * sizeof(float));
    double len2 = 0.0, lenp2 = 0.0, lenm2 = 0.0, an = 0.0, a2 = 0.0;
    for (int64_t i = 0; i < t->numel; i++) {
        double v = 2.0 * (double)dlx_rng_uniform(&rng) - 1.0;
        double x = saved[i], h = c->o->eps * fmax(1.0, fabs(x)) * v;
        dplus[i] = step_from(c, x, h, 1);
        dminus[i] = step_from(c, x, h, -1);
        double s = dplus[i] + dminus[i];
        len2 += s * s;
        lenp2 += dplus[i] * dplus[i];
        lenm2 += dminus[i] * dminus[i];
        an += (double)a[i] * s;
        a2 += (double)a[i] * a[i];
    }
    const double len[3] = {sqrt(len2), sqrt(lenp2), sqrt(lenm2)};
    if (len[0] == 0.0)
        return;
    double n, sp, sm, n8, sp8, sm8;
    bool ok = dir_diff(c, t, saved, dplus, dminus, 1.0, len, &n, &sp, &sm);
    if (!ok && c->dual) {
        ok = dir_diff(c, t, saved, dplus, dminus, 0.125, len, &n8, &sp8, &sm8) ||
             fabs(sp8 - sm8) <= 0.25 * fabs(sp - sm);
        n = n8;
    }
    if (!ok) {
        skip_kink(c, t, -1, sp, sm);
        c->roundoff = 0.0;
        return;
    }
    an /= len[0];
    compare(c, t, -1, an, n);
    c->roundoff = 0.0;
    double rel = fabs(an - n) / fmax(fmax(sqrt(a2), fabs(n)), c->o->atol);
    if (!(rel <= c->rep->max_rel_err))
        c->rep->max_rel_err = rel;
}

static int validate(const dlx_graph *g, const dlx_node *top, const dlx_gradcheck_opts *o,
                    const dlx_gradcheck_report *rep, dlx_err *err)
{
    if (!g || !g->compiled)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "gradcheck: the graph must be compiled before it is checked");
    if (!rep)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "gradcheck: no report to fill");
    if (!top || top->id < 0 || top->id >= g->n || g->nodes[top->id] != top)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "gradcheck: the top node is not a node of this graph");
    if (!top->out.grad)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "gradcheck: node '%s' has no gradient: no parameter or input with "
                            "needs_grad is upstream of it",
                            top->name);
    if (!(o->eps > 0.0 && o->eps < 1.0) || !(o->rtol >= 0.0) || !(o->atol >= 0.0) ||
        o->max_coords < 1)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "gradcheck: options need 0 < eps < 1, rtol >= 0, atol >= 0 and "
                            "max_coords >= 1 (got eps %g, rtol %g, atol %g, max_coords %d)",
                            o->eps, o->rtol, o->atol, o->max_coords);
    return 0;
}

/* The tensors to check: each parameter the graph uses once, then each input
 * with a gradient. Returns their count. */
static int collect(dlx_graph *g, target *ts)
{
    int m = 0;
    for (int i = 0; i < g->n; i++) {
        dlx_node *n = g->nodes[i];
        if (n->kind == DLX_NODE_PARAM) {
            bool seen = false;
            for (int k = 0; k < i && !seen; k++)
                seen = g->nodes[k]->kind == DLX_NODE_PARAM && g->nodes[k]->param == n->param;
            if (seen)
                continue;
            dlx_param *p = &g->params->items[n->param];
            ts[m++] = (target){p->name, &p->t.shape, p->t.numel, p->t.data, p->t.grad, NULL, NULL};
        } else if (n->kind == DLX_NODE_INPUT && n->out.grad) {
            ts[m++] = (target){n->name, &n->out.shape, n->out.numel, n->out.data, n->out.grad, n, NULL};
        }
    }
    return m;
}

/* The double path: f through the graph's dual at the same point and
 * context, each target's values in it, f0 and its scale again. */
static int use_dual(checker *c, target *ts, int nt, dlx_err *err)
{
    int rc = dlx_hvp_create_values(c->g, c->top, &c->dual, err);
    if (rc)
        return rc;
    dlx_hvp_set_ctx(c->dual, c->ctx);
    double *w = dlx_hvp_point(c->dual);
    for (int i = 0; i < nt; i++)
        ts[i].dv = ts[i].node ? dlx_hvp_input(c->dual, ts[i].node) : w + (ts[i].data - c->g->params->values);
    c->ulp = DBL_EPSILON;
    c->f0 = eval_f(c, &c->fscale);
    return 0;
}

int dlx_gradcheck_graph(dlx_graph *g, dlx_node *top, const dlx_ctx *ctx,
                        const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err)
{
    dlx_gradcheck_opts defaults = dlx_gradcheck_defaults();
    static const dlx_ctx inference = {0};
    if (!o)
        o = &defaults;
    if (!ctx)
        ctx = &inference;
    int rc = validate(g, top, o, rep, err);
    if (rc)
        return rc;
    memset(rep, 0, sizeof *rep);

    target *ts = calloc((size_t)g->n, sizeof(*ts));
    if (!ts)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "gradcheck: out of memory");
    int nt = collect(g, ts);
    if (nt == 0) {
        rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                          "gradcheck: the graph has no parameter and no input with needs_grad");
        goto out_free_targets;
    }
    int64_t maxn = top->out.numel, total = 0;
    for (int i = 0; i < nt; i++) {
        if (ts[i].numel > maxn)
            maxn = ts[i].numel;
        total += ts[i].numel;
    }
    /* one block: r, saved values, analytic grads (floats); directions, coords */
    float *r = malloc((size_t)(top->out.numel + maxn + total) * sizeof(float));
    double *dirs = malloc((size_t)(2 * maxn) * sizeof(double));
    int64_t *coords = malloc((size_t)o->max_coords * sizeof(int64_t));
    if (!r || !dirs || !coords) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "gradcheck: out of memory");
        goto out_free_buffers;
    }
    float *saved = r + top->out.numel, *analytic = saved + maxn;

    if (top->out.numel == 1) {
        r[0] = 1.0f;
    } else {
        dlx_rng rng;
        dlx_rng_init(&rng, o->seed, (uint64_t)STREAM_R << 32);
        for (int64_t i = 0; i < top->out.numel; i++)
            r[i] = 2.0f * dlx_rng_uniform(&rng) - 1.0f;
    }

    /* analytic gradient: parameter grads accumulate, so clear the ones used here */
    for (int i = 0; i < nt; i++)
        if (ts[i].grad)
            memset(ts[i].grad, 0, (size_t)ts[i].numel * sizeof(float));
    checker c = {.g = g, .top = top, .ctx = ctx, .o = o, .rep = rep, .r = r, .worst_ratio = -1.0,
                 .ulp = FLT_EPSILON};
    c.f0 = eval_f(&c, &c.fscale);
    dlx_graph_backward_from(g, top, top->out.numel == 1 ? NULL : r, ctx);
    float *a = analytic;
    for (int i = 0; i < nt; i++) {
        memcpy(a, ts[i].grad, (size_t)ts[i].numel * sizeof(float));
        a += ts[i].numel;
    }
    if (o->precision == DLX_GRADCHECK_DOUBLE) {
        rc = use_dual(&c, ts, nt, err);
        if (rc)
            goto out_free_buffers;
    }

    a = analytic;
    for (int i = 0; i < nt; i++) {
        check_coords(&c, &ts[i], a, coords, i);
        check_direction(&c, &ts[i], a, saved, dirs, dirs + maxn, i);
        a += ts[i].numel;
    }
    dlx_graph_forward(g, ctx); /* leave the graph's values at the unperturbed point */
    dlx_hvp_destroy(c.dual);

out_free_buffers:
    free(coords);
    free(dirs);
    free(r);
out_free_targets:
    free(ts);
    return rc;
}
