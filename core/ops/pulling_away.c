/* pulling_away: the pulling-away term of EBGAN-PT (Zhao, Mathieu & LeCun
 * 2017), a repelling regulariser on the codes of a generated batch.
 *
 *   in: S (N, ...) flattened to (N, K), N >= 2 -> (1)
 *   u_i = s_i / |s_i|,  c_ij = u_i . u_j
 *   f = 1 / (N (N - 1)) sum_{i != j} c_ij^2
 *
 * Backward: df/du_i = 4 / (N (N - 1)) sum_{j != i} c_ij u_j (c_ij appears as
 * (i, j) and (j, i)); ds_i = (g_i - u_i (u_i . g_i)) / |s_i|. The cosines and
 * c u are GEMMs (float), the norms, f and u_i . g_i sums in double.
 * Saved for backward: u (N K), |s_i| (N) and c (N N), in scratch.
 * Non-differentiable points: a zero code (its norm is floored at 1e-12).
 */
#include <cblas.h>
#include <math.h>

#include "ops.h"

static int pt_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *s = &n->in[0]->out.shape;
    if (s->ndim < 2 || s->d[0] < 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "pulling_away takes codes (N, K) of N >= 2 samples");
    n->out.shape = dlx_shape_1d(1);
    /* u (N K), |s_i| (N), c (N N), the backward's c u (N K) */
    const int64_t N = s->d[0], K = dlx_shape_numel(s) / N;
    n->scratch_floats = (size_t)(2 * N * K + N + N * N);
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

/* u_i = s_i / |s_i| into u, |s_i| into r */
static void pt_normalise(const float *s, int64_t N, int64_t K, float *u, float *r)
{
    for (int64_t i = 0; i < N; i++) {
        double norm = fmax(sqrt(dot(s + i * K, s + i * K, K)), 1e-12);
        r[i] = (float)norm;
        const float inv = (float)(1.0 / norm);
        for (int64_t k = 0; k < K; k++)
            u[i * K + k] = s[i * K + k] * inv;
    }
}

/* Fast path: the cosines c = u u^T by one GEMM (kept, with a zero diagonal,
 * for backward), the sum of their squares in double. */
static void pt_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    int64_t N, K;
    pt_dims(n, &N, &K);
    float *u = n->scratch, *r = u + N * K, *c = r + N;
    pt_normalise(n->in[0]->out.data, N, K, u, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)N, (int)K, 1.0f, u, (int)K, u, (int)K, 0.0f, c,
                (int)N);
    double f = 0.0;
    for (int64_t i = 0; i < N; i++) {
        c[i * N + i] = 0.0f;
        for (int64_t j = 0; j < N; j++)
            f += (double)c[i * N + j] * c[i * N + j];
    }
    n->out.data[0] = (float)(f / ((double)N * (double)(N - 1)));
}

/* g = c u (one GEMM), then ds_i += scale (g_i - u_i (u_i . g_i)) / |s_i|. */
static void pt_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *ds = n->in[0]->out.grad;
    if (!ds)
        return;
    int64_t N, K;
    pt_dims(n, &N, &K);
    const float *u = n->scratch, *r = u + N * K, *c = r + N;
    float *g = n->scratch + N * K + N + N * N;
    const double scale = 4.0 * (double)n->out.grad[0] / ((double)N * (double)(N - 1));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)K, (int)N, 1.0f, c, (int)N, u, (int)K, 0.0f, g,
                (int)K);
    for (int64_t i = 0; i < N; i++) {
        const float *ui = u + i * K, *gi = g + i * K;
        const double gu = dot(ui, gi, K);
        const float a = (float)(scale / r[i]), b = (float)(scale * gu / r[i]);
        for (int64_t k = 0; k < K; k++)
            ds[i * K + k] += a * gi[k] - b * ui[k];
    }
}

/* The naive reference: every cosine as a double dot product. */
static void pt_reference(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    int64_t N, K;
    pt_dims(n, &N, &K);
    const float *s = n->in[0]->out.data;
    double f = 0.0;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++)
            if (j != i) {
                double ni = fmax(sqrt(dot(s + i * K, s + i * K, K)), 1e-12);
                double nj = fmax(sqrt(dot(s + j * K, s + j * K, K)), 1e-12);
                double cij = dot(s + i * K, s + j * K, K) / (ni * nj);
                f += cij * cij;
            }
    n->out.data[0] = (float)(f / ((double)N * (double)(N - 1)));
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
    .fast_path = true,
    .reference = pt_reference,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
};
