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
};
