/* sample_norm: the mean over the batch of each sample's Euclidean norm (an
 * EBGAN's energy |Dec(Enc(x)) - x| of a reconstruction error).
 *
 *   in: x (N, ...) flattened to (N, K) -> (1)
 *   y = (1/N) sum_i |x_i|,  |x_i| = sqrt(sum_k x_ik^2), in double
 *
 * Backward: dx_i = dy x_i / (N |x_i|). Saved for backward: the norms (N).
 * Non-differentiable points: x_i = 0 (the norm is floored at 1e-12 there,
 * which gives a zero gradient).
 */
#include <math.h>

#include "ops.h"

static int sn_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *s = &n->in[0]->out.shape;
    if (s->ndim < 1 || s->d[0] < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "sample_norm takes a batch (N, ...) of N >= 1 samples");
    n->out.shape = dlx_shape_1d(1);
    n->scratch_floats = (size_t)s->d[0];
    return 0;
}

static void sn_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const int64_t N = n->in[0]->out.shape.d[0], K = n->in[0]->out.numel / N;
    const float *x = n->in[0]->out.data;
    double total = 0.0;
    for (int64_t i = 0; i < N; i++) {
        double s = 0.0;
        for (int64_t k = 0; k < K; k++)
            s += (double)x[i * K + k] * (double)x[i * K + k];
        double norm = fmax(sqrt(s), 1e-12);
        n->scratch[i] = (float)norm;
        total += norm;
    }
    n->out.data[0] = (float)(total / (double)N);
}

static void sn_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dx = n->in[0]->out.grad;
    if (!dx)
        return;
    const int64_t N = n->in[0]->out.shape.d[0], K = n->in[0]->out.numel / N;
    const float *x = n->in[0]->out.data;
    const double g = (double)n->out.grad[0] / (double)N;
    for (int64_t i = 0; i < N; i++) {
        const double f = g / (double)n->scratch[i];
        for (int64_t k = 0; k < K; k++)
            dx[i * K + k] += (float)(f * x[i * K + k]);
    }
}

static const dlx_op_example k_examples[] = {
    {.what = "sample_norm of 3 rows of 4", .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 4)}}},
    {.what = "sample_norm of images (2, 1, 3, 3)", .n_in = 1,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 1, 3, 3)}}},
};

const dlx_op_vtbl dlx_op_sample_norm = {
    .name = "sample_norm",
    .n_in_min = 1,
    .n_in_max = 1,
    .infer = sn_infer,
    .forward = sn_forward,
    .backward = sn_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
};
