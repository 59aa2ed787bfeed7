/* contractive: the contracting auto-encoder's penalty, the squared Frobenius
 * norm of the encoder's Jacobian dh/dx, for a sigmoid encoder h =
 * sigmoid(W x + b), given its output h (N, H) and its weight W (H, I) as the
 * linear op stores it -> (1), the mean over the N samples:
 *
 *   loss = (1/N) sum_n sum_j (h_nj (1 - h_nj))^2 sum_i W_ji^2
 *   dh_nj = g (2/N) h_nj (1 - h_nj) (1 - 2 h_nj) sum_i W_ji^2
 *   dW_ji = g (2/N) W_ji sum_n (h_nj (1 - h_nj))^2
 *
 * (dh/dx = diag(h (1 - h)) W, Rifai et al. 2011.) h's gradient goes on
 * through the sigmoid of the layer that made it, so the graph differentiates
 * the penalty with respect to the pre-activation and b as well. Summed in
 * double. Saved for backward: nothing. Non-differentiable points: none.
 */
#include "ops.h"

static int contractive_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *h = &n->in[0]->out.shape, *w = &n->in[1]->out.shape;
    char b0[64], b1[64];
    if (h->ndim != 2 || w->ndim != 2 || h->d[1] != w->d[0] || h->d[0] < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "contractive: wants codes h (N, H) and the encoder's weight W (H, I), got %s and %s",
                            dlx_shape_str(h, b0, sizeof b0), dlx_shape_str(w, b1, sizeof b1));
    n->out.shape = dlx_shape_1d(1);
    return 0;
}

/* sum_i W_ji^2 of row j */
static double row_sq(const float *w, int64_t j, int64_t I)
{
    double s = 0.0;
    for (int64_t i = 0; i < I; i++)
        s += (double)w[j * I + i] * w[j * I + i];
    return s;
}

static void contractive_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *h = n->in[0]->out.data, *w = n->in[1]->out.data;
    const int64_t N = n->in[0]->out.shape.d[0], H = n->in[0]->out.shape.d[1], I = n->in[1]->out.shape.d[1];
    double total = 0.0;
    for (int64_t j = 0; j < H; j++) {
        double a2 = 0.0;
        for (int64_t s = 0; s < N; s++) {
            double a = (double)h[s * H + j] * (1.0 - h[s * H + j]);
            a2 += a * a;
        }
        total += a2 * row_sq(w, j, I);
    }
    n->out.data[0] = (float)(total / (double)N);
}

static void contractive_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const float *h = n->in[0]->out.data, *w = n->in[1]->out.data;
    float *dh = n->in[0]->out.grad, *dw = n->in[1]->out.grad;
    const int64_t N = n->in[0]->out.shape.d[0], H = n->in[0]->out.shape.d[1], I = n->in[1]->out.shape.d[1];
    const double g = 2.0 * (double)n->out.grad[0] / (double)N;
    for (int64_t j = 0; j < H; j++) {
        double sq = row_sq(w, j, I), a2 = 0.0;
        for (int64_t s = 0; s < N; s++) {
            double hv = h[s * H + j], a = hv * (1.0 - hv);
            a2 += a * a;
            if (dh)
                dh[s * H + j] += (float)(g * a * (1.0 - 2.0 * hv) * sq);
        }
        for (int64_t i = 0; dw && i < I; i++)
            dw[j * I + i] += (float)(g * a2 * w[j * I + i]);
    }
}

/* ---- the R-operator (core/hvp.h), in double; a = h (1 - h), A_j = sum_s
 * a_sj^2, S_j = sum_i W_ji^2, u = a (1 - 2h) (so that da = (1 - 2h) dh):
 *   R{A_j} = 2 sum_s u R{h},  R{S_j} = 2 sum_i W R{W}
 *   R{L} = (1/N) sum_j R{A_j} S_j + A_j R{S_j}
 *   R{dh} += (2/N) (R{g} u S + g ((1 - 2h)^2 - 2a) R{h} S + g u R{S})
 *   R{dW} += (2/N) (R{g} A W + g R{A} W + g A R{W}) ---- */

/* A_j, S_j and their tangents (R{A_j}, R{S_j}) for row j */
static void row_terms(const dlx_node *n, dlx_dual *const *in, int64_t j, double *A, double *S, double *rA, double *rS)
{
    const dlx_dual *h = in[0], *w = in[1];
    const int64_t N = n->in[0]->out.shape.d[0], H = n->in[0]->out.shape.d[1], I = n->in[1]->out.shape.d[1];
    *A = *S = *rA = *rS = 0.0;
    for (int64_t s = 0; s < N; s++) {
        const double hv = h->v[s * H + j], a = hv * (1.0 - hv);
        *A += a * a;
        *rA += 2.0 * a * (1.0 - 2.0 * hv) * h->r[s * H + j];
    }
    for (int64_t i = 0; i < I; i++) {
        *S += w->v[j * I + i] * w->v[j * I + i];
        *rS += 2.0 * w->v[j * I + i] * w->r[j * I + i];
    }
}

static void contractive_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t N = n->in[0]->out.shape.d[0], H = n->in[0]->out.shape.d[1];
    double total = 0.0, rtotal = 0.0;
    for (int64_t j = 0; j < H; j++) {
        double A, S, rA, rS;
        row_terms(n, in, j, &A, &S, &rA, &rS);
        total += A * S;
        rtotal += rA * S + A * rS;
    }
    if (mode != DLX_ROP_TANGENT)
        out->v[0] = total / (double)N;
    if (mode != DLX_ROP_VALUE)
        out->r[0] = rtotal / (double)N;
}

static void contractive_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *h = in[0], *w = in[1];
    const int64_t N = n->in[0]->out.shape.d[0], H = n->in[0]->out.shape.d[1], I = n->in[1]->out.shape.d[1];
    const double g = 2.0 * out->g[0] / (double)N, rg = 2.0 * out->rg[0] / (double)N;
    for (int64_t j = 0; j < H; j++) {
        double A, S, rA, rS;
        row_terms(n, in, j, &A, &S, &rA, &rS);
        for (int64_t s = 0; h->g && s < N; s++) {
            const int64_t e = s * H + j;
            const double hv = h->v[e], a = hv * (1.0 - hv), u = a * (1.0 - 2.0 * hv);
            if (mode != DLX_ROP_TANGENT)
                h->g[e] += g * u * S;
            if (mode != DLX_ROP_VALUE)
                h->rg[e] += rg * u * S + g * ((1.0 - 2.0 * hv) * (1.0 - 2.0 * hv) - 2.0 * a) * h->r[e] * S +
                            g * u * rS;
        }
        for (int64_t i = 0; w->g && i < I; i++) {
            const int64_t e = j * I + i;
            if (mode != DLX_ROP_TANGENT)
                w->g[e] += g * A * w->v[e];
            if (mode != DLX_ROP_VALUE)
                w->rg[e] += rg * A * w->v[e] + g * rA * w->v[e] + g * A * w->r[e];
        }
    }
}

static const dlx_op_rop k_rop = {contractive_rop_forward, contractive_rop_backward, NULL};

/* ---- gradient-check cases: codes in (0, 1) as a sigmoid gives them ---- */

static const dlx_op_example k_examples[] = {
    {.what = "contractive (N, H) x (H, I)", .attr = NULL, .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 5), .lo = 0.05f, .hi = 0.95f, .positive = true},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(5, 3)}}},
    {.what = "contractive, one sample", .attr = NULL, .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(1, 3), .lo = 0.1f, .hi = 0.9f, .positive = true},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3, 2)}}},
};

const dlx_op_vtbl dlx_op_contractive = {
    .name = "contractive",
    .n_in_min = 2,
    .n_in_max = 2,
    .attr_size = 0,
    .infer = contractive_infer,
    .forward = contractive_forward,
    .backward = contractive_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
