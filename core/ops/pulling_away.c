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

/* ---- the R-operator (core/hvp.h), in double; n_i = |s_i|, c0 = 1 / (N (N - 1)) ----
 *   R{n_i} = u_i . R{s_i},  R{u_i} = (R{s_i} - u_i R{n_i}) / n_i
 *   R{c_ij} = R{u_i} . u_j + u_i . R{u_j},  R{f} = 2 c0 sum_{i != j} c_ij R{c_ij}
 *   G_i = 4 c0 g sum_{j != i} c_ij u_j,  ds_i = (G_i - u_i (u_i . G_i)) / n_i
 *   R{G_i} = 4 c0 (R{g} sum c_ij u_j + g sum R{c_ij} u_j + c_ij R{u_j})
 *   R{ds_i} = (R{G_i} - R{u_i} (u_i . G_i) - u_i (R{u_i} . G_i + u_i . R{G_i})) / n_i - ds_i R{n_i} / n_i
 * Scratch: u, R{u}, G, R{G} (N K each), n, R{n} (N), c, R{c} (N N). */

typedef struct pt_dual {
    double *u, *ru, *G, *rG, *nrm, *rnrm, *c, *rc;
} pt_dual;

static pt_dual pt_dual_of(const dlx_dual *out, int64_t N, int64_t K)
{
    pt_dual t;
    t.u = out->scratch;
    t.ru = t.u + N * K;
    t.G = t.ru + N * K;
    t.rG = t.G + N * K;
    t.nrm = t.rG + N * K;
    t.rnrm = t.nrm + N;
    t.c = t.rnrm + N;
    t.rc = t.c + N * N;
    return t;
}

static int64_t pt_rop_scratch(const dlx_node *n)
{
    int64_t N, K;
    pt_dims(n, &N, &K);
    return 4 * N * K + 2 * N + 2 * N * N;
}

static double ddot(const double *a, const double *b, int64_t k)
{
    double s = 0.0;
    for (int64_t i = 0; i < k; i++)
        s += a[i] * b[i];
    return s;
}

static void pt_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    int64_t N, K;
    pt_dims(n, &N, &K);
    const pt_dual t = pt_dual_of(out, N, K);
    const double *sv = in[0]->v, *sr = in[0]->r, c0 = 1.0 / ((double)N * (double)(N - 1));
    if (mode != DLX_ROP_TANGENT) {
        double f = 0.0;
        for (int64_t i = 0; i < N; i++) {
            t.nrm[i] = fmax(sqrt(ddot(sv + i * K, sv + i * K, K)), 1e-12);
            for (int64_t k = 0; k < K; k++)
                t.u[i * K + k] = sv[i * K + k] / t.nrm[i];
        }
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < N; j++) {
                t.c[i * N + j] = i == j ? 0.0 : ddot(t.u + i * K, t.u + j * K, K);
                f += t.c[i * N + j] * t.c[i * N + j];
            }
        out->v[0] = c0 * f;
    }
    if (mode == DLX_ROP_VALUE)
        return;
    double rf = 0.0;
    for (int64_t i = 0; i < N; i++) {
        t.rnrm[i] = ddot(t.u + i * K, sr + i * K, K);
        for (int64_t k = 0; k < K; k++)
            t.ru[i * K + k] = (sr[i * K + k] - t.u[i * K + k] * t.rnrm[i]) / t.nrm[i];
    }
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++) {
            t.rc[i * N + j] = i == j ? 0.0 : ddot(t.ru + i * K, t.u + j * K, K) + ddot(t.u + i * K, t.ru + j * K, K);
            rf += 2.0 * t.c[i * N + j] * t.rc[i * N + j];
        }
    out->r[0] = c0 * rf;
}

static void pt_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    if (!in[0]->g)
        return;
    int64_t N, K;
    pt_dims(n, &N, &K);
    const pt_dual t = pt_dual_of(out, N, K);
    const double c4 = 4.0 / ((double)N * (double)(N - 1)), g = out->g[0], rg = out->rg[0];
    for (int64_t i = 0; i < N; i++) {
        double *G = t.G + i * K, *rG = t.rG + i * K;
        for (int64_t k = 0; k < K; k++)
            G[k] = rG[k] = 0.0;
        for (int64_t j = 0; j < N; j++) {
            const double c = t.c[i * N + j], rc = t.rc[i * N + j];
            for (int64_t k = 0; k < K; k++) {
                G[k] += c4 * g * c * t.u[j * K + k];
                rG[k] += c4 * (rg * c * t.u[j * K + k] + g * (rc * t.u[j * K + k] + c * t.ru[j * K + k]));
            }
        }
        const double *u = t.u + i * K, *ru = t.ru + i * K, ni = t.nrm[i];
        const double uG = ddot(u, G, K), ruG = ddot(ru, G, K), urG = ddot(u, rG, K);
        for (int64_t k = 0; k < K; k++) {
            const double ds = (G[k] - u[k] * uG) / ni;
            if (mode != DLX_ROP_TANGENT)
                in[0]->g[i * K + k] += ds;
            if (mode != DLX_ROP_VALUE)
                in[0]->rg[i * K + k] += (rG[k] - ru[k] * uG - u[k] * (ruG + urG)) / ni - ds * t.rnrm[i] / ni;
        }
    }
}

static const dlx_op_rop k_rop = {pt_rop_forward, pt_rop_backward, pt_rop_scratch};

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
    .rop = &k_rop,
};
