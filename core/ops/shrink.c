/* shrink: soft thresholding with a learned threshold per feature (LISTA).
 *
 *   in:  x (N, M) (or (N, ...) read as (N, M), M = product of the trailing dims),
 *        theta (M)
 *   out: y (N, M),  y = sign(x) * max(|x| - theta, 0)
 *
 *   dx     += dy                  where |x| > theta, else 0
 *   dtheta += -sum_n sign(x) dy   over the rows where |x| > theta
 *
 * Saved for backward: nothing (x and theta are read again). A negative theta
 * is allowed (it widens instead of shrinking); the mask is |x| > theta either way.
 * Non-differentiable points: |x| = theta (the gradcheck kinks).
 */
#include "ops.h"

static int shrink_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *xs = &n->in[0]->out.shape, *ts = &n->in[1]->out.shape;
    char a[64], b[64];
    if (xs->ndim < 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected an input of 2 or more dims (N, features...), got %s",
                            dlx_shape_str(xs, a, sizeof a));
    int64_t M = xs->d[0] > 0 ? dlx_shape_numel(xs) / xs->d[0] : 0;
    if (ts->ndim != 1 || ts->d[0] != M)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a threshold of shape [%lld] for input %s, got %s",
                            (long long)M, dlx_shape_str(xs, a, sizeof a), dlx_shape_str(ts, b, sizeof b));
    n->out.shape = *xs;
    return 0;
}

static void shrink_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *x = n->in[0]->out.data, *th = n->in[1]->out.data;
    float *y = n->out.data;
    const int64_t M = n->in[1]->out.shape.d[0], N = n->out.numel / M;
    /* max(v - t, 0) + min(v + t, 0): branch-free (code signs are random) and
     * equal, bit for bit, to v > t ? v - t : v < -t ? v + t : 0 */
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * M;
        float *yr = y + i * M;
        for (int64_t j = 0; j < M; j++) {
            float a = xr[j] - th[j], b = xr[j] + th[j];
            yr[j] = (a > 0.0f ? a : 0.0f) + (b < 0.0f ? b : 0.0f);
        }
    }
}

static void shrink_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *x = n->in[0]->out.data, *th = n->in[1]->out.data, *dy = n->out.grad;
    float *dx = n->in[0]->out.grad, *dth = n->in[1]->out.grad;
    const int64_t M = n->in[1]->out.shape.d[0], N = n->out.numel / M;
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * M, *gr = dy + i * M;
        for (int64_t j = 0; j < M; j++) {
            float v = xr[j], t = th[j];
            if (v > t) {
                if (dx) dx[i * M + j] += gr[j];
                if (dth) dth[j] -= gr[j];
            } else if (v < -t) {
                if (dx) dx[i * M + j] += gr[j];
                if (dth) dth[j] += gr[j];
            }
        }
    }
}

/* ---- the R-operator (core/hvp.h): piecewise linear, no curvature off the
 * kinks |x| = theta. With the mask s = sign(x) where |x| > theta, else 0:
 *   R{y} = s (s R{x} - R{theta}) = [on] (R{x} - s R{theta})
 *   R{dx} += [on] R{dy},  R{dtheta} -= s R{dy} ---- */

static int on_side(double x, double t)
{
    return x > t ? 1 : x < -t ? -1 : 0;
}

static void shrink_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t M = n->in[1]->out.shape.d[0], N = out->numel / M;
    const dlx_dual *x = in[0], *th = in[1];
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < M; j++) {
            const int64_t e = i * M + j;
            const int s = on_side(x->v[e], th->v[j]);
            if (mode != DLX_ROP_TANGENT)
                out->v[e] = s ? x->v[e] - s * th->v[j] : 0.0;
            if (mode != DLX_ROP_VALUE)
                out->r[e] = s ? x->r[e] - s * th->r[j] : 0.0;
        }
}

static void shrink_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t M = n->in[1]->out.shape.d[0], N = out->numel / M;
    const dlx_dual *x = in[0], *th = in[1];
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < M; j++) {
            const int64_t e = i * M + j;
            const int s = on_side(x->v[e], th->v[j]);
            if (!s)
                continue;
            if (mode != DLX_ROP_TANGENT) {
                if (x->g) x->g[e] += out->g[e];
                if (th->g) th->g[j] -= s * out->g[e];
            }
            if (mode != DLX_ROP_VALUE) {
                if (x->rg) x->rg[e] += out->rg[e];
                if (th->rg) th->rg[j] -= s * out->rg[e];
            }
        }
}

static const dlx_op_rop k_rop = {shrink_rop_forward, shrink_rop_backward, NULL};

/* ---- gradient-check cases ---- */

/* thresholds around the inputs' magnitudes: the mask has zeros and survivors */
static const dlx_op_example k_examples[] = {
    {.what = "shrink", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(5, 6)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(6), .lo = 0.1f, .hi = 0.5f, .positive = true}}},
};

const dlx_op_vtbl dlx_op_shrink = {
    .name = "shrink",
    .n_in_min = 2,
    .n_in_max = 2,
    .attr_size = 0,
    .infer = shrink_infer,
    .forward = shrink_forward,
    .backward = shrink_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
