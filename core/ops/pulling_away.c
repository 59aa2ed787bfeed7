/* pulling_away: the pulling-away term of EBGAN-PT (Zhao, Mathieu & LeCun
 * 2017), a repelling regulariser on the codes of a generated batch.
 *
 *   in: S (N, ...) flattened to (N, K), N >= 2 -> (1)
 *   u_i = s_i / |s_i|,  c_ij = u_i . u_j
 *   f = 1 / (N (N - 1)) sum_{i != j} c_ij^2
 *
 * Backward: df/du_i = 4 / (N (N - 1)) sum_{j != i} c_ij u_j (c_ij appears as
 * (i, j) and (j, i)); ds_i = (g_i - u_i (u_i . g_i)) / |s_i|. Sums in double.
 * Saved for backward: u (N K) and |s_i| (N), in scratch (and a row of c).
 * Non-differentiable points: a zero code (its norm is floored at 1e-12).
 */
#include <math.h>

#include "ops.h"

static int pt_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *s = &n->in[0]->out.shape;
    if (s->ndim < 2 || s->d[0] < 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "pulling_away takes codes (N, K) of N >= 2 samples");
    n->out.shape = dlx_shape_1d(1);
    n->scratch_floats = (size_t)dlx_shape_numel(s) + 2 * (size_t)s->d[0];
    return 0;
}

static void pt_dims(const dlx_node *n, int64_t *N, int64_t *K)
{
    *N = n->in[0]->out.shape.d[0];
    *K = n->in[0]->out.numel / *N;
}

static double dot(const float *a, const float *b, int64_t k)
{
    double s = 0.0;
    for (int64_t i = 0; i < k; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

static void pt_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    int64_t N, K;
    pt_dims(n, &N, &K);
    const float *s = n->in[0]->out.data;
    float *u = n->scratch, *r = n->scratch + N * K;
    for (int64_t i = 0; i < N; i++) {
        double norm = fmax(sqrt(dot(s + i * K, s + i * K, K)), 1e-12);
        r[i] = (float)norm;
        for (int64_t k = 0; k < K; k++)
            u[i * K + k] = (float)(s[i * K + k] / norm);
    }
    double f = 0.0;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++)
            if (j != i) {
                double c = dot(u + i * K, u + j * K, K);
                f += c * c;
            }
    n->out.data[0] = (float)(f / ((double)N * (double)(N - 1)));
}

static void pt_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *ds = n->in[0]->out.grad;
    if (!ds)
        return;
    int64_t N, K;
    pt_dims(n, &N, &K);
    const float *u = n->scratch, *r = n->scratch + N * K;
    const double scale = 4.0 * (double)n->out.grad[0] / ((double)N * (double)(N - 1));
    float *c = n->scratch + N * K + N; /* row i of c, zero on the diagonal */
    for (int64_t i = 0; i < N; i++) {
        const float *ui = u + i * K;
        for (int64_t j = 0; j < N; j++)
            c[j] = j == i ? 0.0f : (float)dot(ui, u + j * K, K);
        double gu = 0.0; /* u_i . g_i */
        for (int64_t k = 0; k < K; k++) {
            double g = 0.0;
            for (int64_t j = 0; j < N; j++)
                g += (double)c[j] * u[j * K + k];
            gu += g * ui[k];
        }
        for (int64_t k = 0; k < K; k++) {
            double g = 0.0;
            for (int64_t j = 0; j < N; j++)
                g += (double)c[j] * u[j * K + k];
            ds[i * K + k] += (float)(scale * (g - ui[k] * gu) / r[i]);
        }
    }
}

static const dlx_op_example k_examples[] = {
    {.what = "pulling_away of 4 codes of 3", .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 3)}}},
    {.what = "pulling_away of 2 codes (N, 2, 2)", .n_in = 1,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 2, 2)}}},
    {.what = "pulling_away of 5 positive codes of 6", .n_in = 1,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(5, 6), .lo = 0.1f, .hi = 1.0f, .positive = true}}},
};

const dlx_op_vtbl dlx_op_pulling_away = {
    .name = "pulling_away",
    .n_in_min = 1,
    .n_in_max = 1,
    .infer = pt_infer,
    .forward = pt_forward,
    .backward = pt_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
};
