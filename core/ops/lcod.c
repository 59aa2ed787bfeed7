/* lcod: learned coordinate descent (Gregor & LeCun 2010, LCoD), T unrolled
 * coordinate updates as one op (expressing the per-sample argmax and the
 * single-column update with generic ops would need gather/scatter ops that
 * the engine does not have).
 *
 *   in:  X (N, n), We (m, n), S (m, m), theta (m);  attr: steps T >= 1
 *   out: Z (N, m)
 *   B = X We^T; Z = 0; T times, per sample:
 *       Zbar = h_theta(B); k = argmax_j |Z_j - Zbar_j| (first on ties);
 *       d = Zbar_k - Z_k;  B += S[:, k] d;  Z_k = Zbar_k
 *   out = h_theta(B)          (h = sign(v) max(|v| - theta, 0))
 * With We = Wd^T, S = I - Wd^T Wd, theta = alpha it is CoD (core/sparse.h).
 *
 * Backward treats the chosen k as constant (piecewise-linear function) and
 * runs the steps in reverse with dB (the gradient of B) and dZ:
 *   dB = dOut h'(B_T);  for t = T..1 with (k, b = B_{t-1,k}, d):
 *     dd = S[:, k] . dB;  dS[:, k] += dB d;  g = dZ_k + dd;  dZ_k = -dd;
 *     if |b| > theta_k: dB_k += g, dtheta_k -= g sign(b)
 *   dWe += dB^T X,  dX += dB We   (dB = dB_0, one GEMM each over the batch)
 * Saved for backward (scratch): B_T (N m), per step and sample (k, b, d)
 * (3 T N), dB_0 (N m) and a dZ row (m).
 * Non-differentiable points: |B| = theta and ties of the argmax.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops.h"

static int lcod_infer(dlx_node *n, dlx_err *err)
{
    const dlx_lcod_attr *a = n->attr;
    const dlx_shape *xs = &n->in[0]->out.shape, *ws = &n->in[1]->out.shape, *ss = &n->in[2]->out.shape,
                    *ts = &n->in[3]->out.shape;
    char b1[64], b2[64];
    if (!a || a->steps < 1 || a->steps > 1000000)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "lcod needs 1 to 1000000 steps, got %d", a ? a->steps : 0);
    if (xs->ndim != 2 || ws->ndim != 2 || ws->d[1] != xs->d[1])
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected X (N, n) and We (m, n), got %s and %s",
                            dlx_shape_str(xs, b1, sizeof b1), dlx_shape_str(ws, b2, sizeof b2));
    int64_t m = ws->d[0];
    if (ss->ndim != 2 || ss->d[0] != m || ss->d[1] != m)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected S of shape [%lld, %lld], got %s", (long long)m,
                            (long long)m, dlx_shape_str(ss, b1, sizeof b1));
    if (ts->ndim != 1 || ts->d[0] != m)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected theta of shape [%lld], got %s", (long long)m,
                            dlx_shape_str(ts, b1, sizeof b1));
    int64_t N = xs->d[0], nm, sn, total;
    /* checked: N and m come from different tensors, and their product from nowhere checked */
    if (!dlx_mul_i64(N, m, &nm) || !dlx_mul_i64(3 * (int64_t)a->steps, N, &sn) || !dlx_add_i64(nm, sn, &total) ||
        (n->needs_grad && (!dlx_add_i64(total, nm, &total) || !dlx_add_i64(total, m, &total))) ||
        total > DLX_NUMEL_MAX)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "too large: the workspace for N=%lld, m=%lld and %d steps "
                            "would exceed %s floats", (long long)N, (long long)m, a->steps, DLX_NUMEL_MAX_STR);
    n->out.shape = dlx_shape_2d(N, m);
    n->scratch_floats = (size_t)total;
    return 0;
}

static inline float soft(float v, float t) { return v > t ? v - t : (v < -t ? v + t : 0.0f); }

static void lcod_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_lcod_attr *a = n->attr;
    const float *X = n->in[0]->out.data, *We = n->in[1]->out.data, *S = n->in[2]->out.data, *th = n->in[3]->out.data;
    const int N = (int)n->out.shape.d[0], m = (int)n->out.shape.d[1], nn = (int)n->in[0]->out.shape.d[1], T = a->steps;
    float *Bs = n->scratch, *rec = n->scratch + (size_t)N * m, *Z = n->out.data;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, m, nn, 1.0f, X, nn, We, nn, 0.0f, Bs, m);
    memset(Z, 0, (size_t)N * m * sizeof(float));
    for (int i = 0; i < N; i++) {
        float *b = Bs + (size_t)i * m, *z = Z + (size_t)i * m;
        for (int t = 0; t < T; t++) {
            int k = 0;
            float best = -1.0f;
            for (int j = 0; j < m; j++) {
                float dv = fabsf(z[j] - soft(b[j], th[j]));
                if (dv > best) {
                    best = dv;
                    k = j;
                }
            }
            float zb = soft(b[k], th[k]), d = zb - z[k];
            float *r = rec + ((size_t)t * N + i) * 3;
            r[0] = (float)k;
            r[1] = b[k];
            r[2] = d;
            for (int j = 0; j < m; j++)
                b[j] += S[(size_t)j * m + k] * d;
            z[k] = zb;
        }
        for (int j = 0; j < m; j++)
            z[j] = soft(b[j], th[j]);
    }
}

static void lcod_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_lcod_attr *a = n->attr;
    const float *X = n->in[0]->out.data, *We = n->in[1]->out.data, *S = n->in[2]->out.data, *th = n->in[3]->out.data;
    float *dX = n->in[0]->out.grad, *dWe = n->in[1]->out.grad, *dS = n->in[2]->out.grad, *dth = n->in[3]->out.grad;
    const int N = (int)n->out.shape.d[0], m = (int)n->out.shape.d[1], nn = (int)n->in[0]->out.shape.d[1], T = a->steps;
    const float *Bs = n->scratch, *rec = n->scratch + (size_t)N * m, *dOut = n->out.grad;
    float *dB0 = n->scratch + (size_t)N * m + 3 * (size_t)T * N, *dZ = dB0 + (size_t)N * m;
    for (int i = 0; i < N; i++) {
        const float *b = Bs + (size_t)i * m, *go = dOut + (size_t)i * m;
        float *dB = dB0 + (size_t)i * m;
        for (int j = 0; j < m; j++) {
            bool on = b[j] > th[j] || b[j] < -th[j];
            dB[j] = on ? go[j] : 0.0f;
            if (on && dth)
                dth[j] -= b[j] > 0 ? go[j] : -go[j];
            dZ[j] = 0.0f;
        }
        for (int t = T - 1; t >= 0; t--) {
            const float *r = rec + ((size_t)t * N + i) * 3;
            int k = (int)r[0];
            float bk = r[1], d = r[2], dd = 0.0f;
            for (int j = 0; j < m; j++)
                dd += S[(size_t)j * m + k] * dB[j];
            if (dS)
                for (int j = 0; j < m; j++)
                    dS[(size_t)j * m + k] += dB[j] * d;
            float g = dZ[k] + dd;
            dZ[k] = -dd;
            if (bk > th[k] || bk < -th[k]) {
                dB[k] += g;
                if (dth)
                    dth[k] -= bk > 0 ? g : -g;
            }
        }
    }
    if (dWe)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, nn, N, 1.0f, dB0, m, X, nn, 1.0f, dWe, nn);
    if (dX)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nn, m, 1.0f, dB0, m, We, nn, 1.0f, dX, nn);
}

/* ---- the R-operator (core/hvp.h), in double, with the chosen k of each
 * step constant (piecewise linear, as backward); on = |b| > theta, s = sign(b) ----
 * forward:  R{B} = R{X} We^T + X R{We}^T;  per step R{Zbar_k} = on (R{B_k} - s R{theta_k}),
 *           R{d} = R{Zbar_k} - R{Z_k},  R{B} += R{S}[:, k] d + S[:, k] R{d},  R{Z_k} = R{Zbar_k}
 * backward: backward's recursion is linear in (dB, dZ) with coefficients S
 *           and d, so its tangent runs beside it: R{dd} = R{S}[:, k] . dB + S[:, k] . R{dB},
 *           R{dS}[:, k] += R{dB} d + dB R{d}, and the rest as backward with R{} on
 *           every adjoint; then R{dWe} += R{dB}^T X + dB^T R{X}, R{dX} += R{dB} We + dB R{We}.
 * Scratch: B_T, R{B_T}, dB_0, R{dB_0} (N m each), per step and sample (k, b, d, R{d})
 * (4 T N), and rows Z, R{Z} or dZ, R{dZ} (m each). */

static int64_t lcod_rop_scratch(const dlx_node *n)
{
    const dlx_lcod_attr *a = n->attr;
    const int64_t N = n->out.shape.d[0], m = n->out.shape.d[1];
    return 4 * N * m + 4 * (int64_t)a->steps * N + 2 * m;
}

static double soft64(double v, double t)
{
    return v > t ? v - t : (v < -t ? v + t : 0.0);
}

static int side64(double v, double t)
{
    return v > t ? 1 : v < -t ? -1 : 0;
}

/* the value recursion of sample i: B (row b) to B_T, the steps' (k, b, d) */
static void lcod_rop_values(const dlx_dual *S, const dlx_dual *th, int m, int T, int N, int i, double *b, double *z,
                            double *rec)
{
    for (int j = 0; j < m; j++)
        z[j] = 0.0;
    for (int t = 0; t < T; t++) {
        int k = 0;
        double best = -1.0;
        for (int j = 0; j < m; j++) {
            double dv = fabs(z[j] - soft64(b[j], th->v[j]));
            if (dv > best)
                best = dv, k = j;
        }
        double zb = soft64(b[k], th->v[k]), d = zb - z[k];
        double *r = rec + ((size_t)t * N + i) * 4;
        r[0] = k, r[1] = b[k], r[2] = d;
        for (int j = 0; j < m; j++)
            b[j] += S->v[(size_t)j * m + k] * d;
        z[k] = zb;
    }
}

/* the tangent recursion of sample i from R{B_0} (row rb) with the saved steps */
static void lcod_rop_tangents(const dlx_dual *S, const dlx_dual *th, int m, int T, int N, int i, double *rb, double *rz,
                              double *rec)
{
    for (int j = 0; j < m; j++)
        rz[j] = 0.0;
    for (int t = 0; t < T; t++) {
        double *r = rec + ((size_t)t * N + i) * 4;
        const int k = (int)r[0], sg = side64(r[1], th->v[k]);
        const double rzb = sg ? rb[k] - sg * th->r[k] : 0.0, rd = rzb - rz[k];
        r[3] = rd;
        for (int j = 0; j < m; j++)
            rb[j] += S->r[(size_t)j * m + k] * r[2] + S->v[(size_t)j * m + k] * rd;
        rz[k] = rzb;
    }
}

static void lcod_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_lcod_attr *a = n->attr;
    const dlx_dual *X = in[0], *We = in[1], *S = in[2], *th = in[3];
    const int N = (int)n->out.shape.d[0], m = (int)n->out.shape.d[1], nn = (int)n->in[0]->out.shape.d[1], T = a->steps;
    double *B = out->scratch, *RB = B + (size_t)N * m, *rec = RB + 2 * (size_t)N * m + (size_t)N * m,
           *z = rec + 4 * (size_t)T * N, *rz = z + m;
    if (mode != DLX_ROP_TANGENT) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, m, nn, 1.0, X->v, nn, We->v, nn, 0.0, B, m);
        for (int i = 0; i < N; i++) {
            lcod_rop_values(S, th, m, T, N, i, B + (size_t)i * m, z, rec);
            for (int j = 0; j < m; j++)
                out->v[(size_t)i * m + j] = soft64(B[(size_t)i * m + j], th->v[j]);
        }
    }
    if (mode == DLX_ROP_VALUE)
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, m, nn, 1.0, X->r, nn, We->v, nn, 0.0, RB, m);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, m, nn, 1.0, X->v, nn, We->r, nn, 1.0, RB, m);
    for (int i = 0; i < N; i++) {
        lcod_rop_tangents(S, th, m, T, N, i, RB + (size_t)i * m, rz, rec);
        for (int j = 0; j < m; j++) {
            const size_t e = (size_t)i * m + j;
            const int sg = side64(B[e], th->v[j]);
            out->r[e] = sg ? RB[e] - sg * th->r[j] : 0.0;
        }
    }
}

/* backward's recursion of sample i and its tangent, into rows dB, rdB */
static void lcod_rop_adjoint(const dlx_dual *S, const dlx_dual *th, int m, int T, int N, int i, const double *rec,
                             double *dB, double *rdB, double *dZ, double *rdZ, dlx_rop_mode mode)
{
    for (int j = 0; j < m; j++)
        dZ[j] = rdZ[j] = 0.0;
    for (int t = T - 1; t >= 0; t--) {
        const double *r = rec + ((size_t)t * N + i) * 4;
        const int k = (int)r[0], sg = side64(r[1], th->v[k]);
        const double d = r[2], rd = r[3];
        double dd = 0.0, rdd = 0.0;
        for (int j = 0; j < m; j++) {
            dd += S->v[(size_t)j * m + k] * dB[j];
            rdd += S->r[(size_t)j * m + k] * dB[j] + S->v[(size_t)j * m + k] * rdB[j];
        }
        for (int j = 0; S->g && j < m; j++) {
            if (mode != DLX_ROP_TANGENT)
                S->g[(size_t)j * m + k] += dB[j] * d;
            if (mode != DLX_ROP_VALUE)
                S->rg[(size_t)j * m + k] += rdB[j] * d + dB[j] * rd;
        }
        const double g = dZ[k] + dd, rg = rdZ[k] + rdd;
        dZ[k] = -dd, rdZ[k] = -rdd;
        if (!sg)
            continue;
        dB[k] += g, rdB[k] += rg;
        if (th->g && mode != DLX_ROP_TANGENT)
            th->g[k] -= sg * g;
        if (th->g && mode != DLX_ROP_VALUE)
            th->rg[k] -= sg * rg;
    }
}

static void lcod_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_lcod_attr *a = n->attr;
    const dlx_dual *X = in[0], *We = in[1], *S = in[2], *th = in[3];
    const int N = (int)n->out.shape.d[0], m = (int)n->out.shape.d[1], nn = (int)n->in[0]->out.shape.d[1], T = a->steps;
    const double *B = out->scratch;
    double *dB = out->scratch + 2 * (size_t)N * m, *rdB = dB + (size_t)N * m, *rec = rdB + (size_t)N * m,
           *dZ = rec + 4 * (size_t)T * N, *rdZ = dZ + m;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < m; j++) {
            const size_t e = (size_t)i * m + j;
            const int sg = side64(B[e], th->v[j]);
            dB[e] = sg ? out->g[e] : 0.0;
            rdB[e] = sg ? out->rg[e] : 0.0;
            if (sg && th->g && mode != DLX_ROP_TANGENT)
                th->g[j] -= sg * out->g[e];
            if (sg && th->g && mode != DLX_ROP_VALUE)
                th->rg[j] -= sg * out->rg[e];
        }
        lcod_rop_adjoint(S, th, m, T, N, i, rec, dB + (size_t)i * m, rdB + (size_t)i * m, dZ, rdZ, mode);
    }
    if (mode != DLX_ROP_TANGENT) {
        if (We->g)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, nn, N, 1.0, dB, m, X->v, nn, 1.0, We->g, nn);
        if (X->g)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nn, m, 1.0, dB, m, We->v, nn, 1.0, X->g, nn);
    }
    if (mode == DLX_ROP_VALUE)
        return;
    if (We->rg) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, nn, N, 1.0, rdB, m, X->v, nn, 1.0, We->rg, nn);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, nn, N, 1.0, dB, m, X->r, nn, 1.0, We->rg, nn);
    }
    if (X->rg) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nn, m, 1.0, rdB, m, We->v, nn, 1.0, X->rg, nn);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nn, m, 1.0, dB, m, We->r, nn, 1.0, X->rg, nn);
    }
}

static const dlx_op_rop k_rop = {lcod_rop_forward, lcod_rop_backward, lcod_rop_scratch};

/* ---- gradient-check cases ---- */

/* S small (near I - We We^T of a small dictionary), theta 0.1 */
static const dlx_op_example k_examples[] = {
    {.what = "lcod 1 step", .attr = &(dlx_lcod_attr){1}, .n_in = 4,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 4), .lo = 0.025f, .hi = 0.3f},
      {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4), .lo = 0.1f, .hi = 0.1f, .positive = true}}},
    {.what = "lcod 4 steps", .attr = &(dlx_lcod_attr){4}, .n_in = 4,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 5)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 4), .lo = 0.025f, .hi = 0.3f},
      {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4), .lo = 0.1f, .hi = 0.1f, .positive = true}}},
};

const dlx_op_vtbl dlx_op_lcod = {
    .name = "lcod",
    .n_in_min = 4,
    .n_in_max = 4,
    .attr_size = sizeof(dlx_lcod_attr),
    .infer = lcod_infer,
    .forward = lcod_forward,
    .backward = lcod_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
