/* spectral: a spectral convolution over the points of a graph (Bruna,
 * Zaremba, Szlam & LeCun 2014, section 3.2, eq. 3.2): per pair of input
 * feature map i and output map o a diagonal multiplier in the graph's
 * Fourier basis, the first d eigenvectors V of its Laplacian.
 *
 *   in:  x (N, ...) read as (N, C, P) (C = numel / (N P)), V (P, d) and
 *        K (d, q) buffer nodes, W (F, C, q), [b (F)]
 *   out: y (N, F, P):
 *        y[n, o] = act(b_o + V sum_i diag(m[o, i]) V^T x[n, i]),  m[o, i] = K W[o, i]
 *
 * K interpolates q learned values over the ordered spectrum ("smooth"
 * multipliers, O(1) parameters per filter; the layer builds it, linear or
 * cubic B-spline), or is the identity for free multipliers (q = d).
 * The forward is three products:
 *   X^ = x V          (N C, d)       M = W K^T  (F C, d)
 *   Z^[n, o] = sum_i M[o, i] * X^[n, i]  (element-wise in d)
 *   y = act(Z^ V^T + b)               (N F, P)
 * Backward, dZ = dy act'(y):
 *   db_o += sum dZ[., o, .];  dZ^ = dZ V  (N F, d)
 *   dM[o, i] = sum_n dZ^[n, o] * X^[n, i];  dW += dM K
 *   dX^[n, i] = sum_o M[o, i] * dZ^[n, o];  dx += dX^ V^T
 * V and K get no gradient (they are the graph's, not learned).
 * Scratch: X^, M, Z^ kept from forward for backward; dZ, dZ^, dX^, dM.
 * One thread: the products are small (a few M multiply-adds per image).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../laplacian.h"
#include "../layer_build.h"
#include "ops.h"

typedef struct sp_dims {
    int N, C, P, d, q, F;
} sp_dims;

static sp_dims dims_of(const dlx_node *n)
{
    sp_dims s;
    s.N = (int)n->in[0]->out.shape.d[0];
    s.P = (int)n->in[1]->out.shape.d[0];
    s.d = (int)n->in[1]->out.shape.d[1];
    s.q = (int)n->in[2]->out.shape.d[1];
    s.F = (int)n->in[3]->out.shape.d[0];
    s.C = (int)n->in[3]->out.shape.d[1];
    return s;
}

static int spectral_infer(dlx_node *n, dlx_err *err)
{
    char b0[64], b1[64];
    const dlx_shape *xs = &n->in[0]->out.shape, *vs = &n->in[1]->out.shape, *ks = &n->in[2]->out.shape;
    const dlx_shape *ws = &n->in[3]->out.shape;
    if (vs->ndim != 2 || ks->ndim != 2 || ws->ndim != 3)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected V (P, d), K (d, q) and W (F, C, q), got %s, %s and %s",
                            dlx_shape_str(vs, b0, sizeof b0), dlx_shape_str(ks, b1, sizeof b1),
                            dlx_shape_str(ws, (char[64]){0}, 64));
    const int64_t P = vs->d[0], d = vs->d[1], q = ks->d[1], F = ws->d[0], C = ws->d[1];
    if (ks->d[0] != d || ws->d[2] != q)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "K must be (%lld, q) and W (F, C, q) with its q, got %s and %s",
                            (long long)d, dlx_shape_str(ks, b0, sizeof b0), dlx_shape_str(ws, b1, sizeof b1));
    if (n->in[1]->kind != DLX_NODE_BUFFER || n->in[2]->kind != DLX_NODE_BUFFER)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "V and K must be buffer nodes (the graph's, never learned)");
    const int64_t N = xs->d[0], per = xs->ndim > 0 && N > 0 ? n->in[0]->out.numel / N : 0;
    if (xs->ndim < 2 || per != C * P)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "input %s: expected %lld features per sample (%lld maps on the graph's %lld points)",
                            dlx_shape_str(xs, b0, sizeof b0), (long long)(C * P), (long long)C, (long long)P);
    if (n->n_in == 5 && (n->in[4]->out.shape.ndim != 1 || n->in[4]->out.shape.d[0] != F))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "bias must be (%lld), got %s", (long long)F,
                            dlx_shape_str(&n->in[4]->out.shape, b0, sizeof b0));
    int64_t out;
    if (!dlx_mul_i64(N, F, &out) || !dlx_mul_i64(out, P, &out) || N > INT32_MAX || P > INT32_MAX)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "output (%lld, %lld, %lld) is too large", (long long)N,
                            (long long)F, (long long)P);
    n->out.shape = (dlx_shape){.ndim = 3, .d = {N, F, P}};
    /* X^, Z^ and dX^, dZ^ (N C d, N F d), M and dM (F C d), dZ (N F P) */
    n->scratch_floats = (size_t)(2 * N * C * d + 2 * N * F * d + 2 * F * C * d + N * F * P);
    return 0;
}

typedef struct sp_scratch {
    float *xh, *m, *zh, *dxh, *dzh, *dm, *dz;
} sp_scratch;

static sp_scratch scratch_of(const dlx_node *n, const sp_dims *s)
{
    sp_scratch t;
    const size_t ncd = (size_t)s->N * s->C * s->d, nfd = (size_t)s->N * s->F * s->d, fcd = (size_t)s->F * s->C * s->d;
    t.xh = n->scratch;
    t.m = t.xh + ncd;
    t.zh = t.m + fcd;
    t.dxh = t.zh + nfd;
    t.dzh = t.dxh + ncd;
    t.dm = t.dzh + nfd;
    t.dz = t.dm + fcd;
    return t;
}

static void spectral_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_spectral_attr *a = n->attr;
    const sp_dims s = dims_of(n);
    const sp_scratch t = scratch_of(n, &s);
    const float *x = n->in[0]->out.data, *V = n->in[1]->out.data, *K = n->in[2]->out.data, *W = n->in[3]->out.data;
    const float *b = n->n_in == 5 ? n->in[4]->out.data : NULL;
    float *y = n->out.data;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.N * s.C, s.d, s.P, 1.0f, x, s.P, V, s.d, 0.0f, t.xh,
                s.d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.F * s.C, s.d, s.q, 1.0f, W, s.q, K, s.q, 0.0f, t.m, s.d);
    for (int r = 0; r < s.N; r++)
        for (int o = 0; o < s.F; o++) {
            float *z = t.zh + ((size_t)r * s.F + o) * s.d;
            memset(z, 0, (size_t)s.d * sizeof *z);
            for (int i = 0; i < s.C; i++) {
                const float *xi = t.xh + ((size_t)r * s.C + i) * s.d, *mi = t.m + ((size_t)o * s.C + i) * s.d;
                for (int k = 0; k < s.d; k++)
                    z[k] += mi[k] * xi[k];
            }
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.N * s.F, s.P, s.d, 1.0f, t.zh, s.d, V, s.d, 0.0f, y, s.P);
    if (b)
        for (int r = 0; r < s.N * s.F; r++)
            for (int p = 0; p < s.P; p++)
                y[(size_t)r * s.P + p] += b[r % s.F];
    dlx_act_forward(a->act, a->alpha, y, (int64_t)s.N * s.F * s.P);
}

static void spectral_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_spectral_attr *a = n->attr;
    const sp_dims s = dims_of(n);
    const sp_scratch t = scratch_of(n, &s);
    const float *V = n->in[1]->out.data, *K = n->in[2]->out.data;
    float *dx = n->in[0]->out.grad, *dW = n->in[3]->out.grad, *db = n->n_in == 5 ? n->in[4]->out.grad : NULL;
    const size_t nfp = (size_t)s.N * s.F * s.P;
    memcpy(t.dz, n->out.grad, nfp * sizeof(float));
    dlx_act_backward(a->act, a->alpha, n->out.data, t.dz, (int64_t)nfp);
    if (db)
        for (size_t r = 0; r < (size_t)s.N * s.F; r++) {
            double sum = 0.0;
            for (int p = 0; p < s.P; p++)
                sum += t.dz[r * s.P + p];
            db[r % s.F] += (float)sum;
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.N * s.F, s.d, s.P, 1.0f, t.dz, s.P, V, s.d, 0.0f, t.dzh,
                s.d);
    if (dW) {
        memset(t.dm, 0, (size_t)s.F * s.C * s.d * sizeof(float));
        for (int r = 0; r < s.N; r++)
            for (int o = 0; o < s.F; o++) {
                const float *gz = t.dzh + ((size_t)r * s.F + o) * s.d;
                for (int i = 0; i < s.C; i++) {
                    const float *xi = t.xh + ((size_t)r * s.C + i) * s.d;
                    float *g = t.dm + ((size_t)o * s.C + i) * s.d;
                    for (int k = 0; k < s.d; k++)
                        g[k] += gz[k] * xi[k];
                }
            }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.F * s.C, s.q, s.d, 1.0f, t.dm, s.d, K, s.q, 1.0f, dW,
                    s.q);
    }
    if (dx) {
        for (int r = 0; r < s.N; r++)
            for (int i = 0; i < s.C; i++) {
                float *g = t.dxh + ((size_t)r * s.C + i) * s.d;
                memset(g, 0, (size_t)s.d * sizeof *g);
                for (int o = 0; o < s.F; o++) {
                    const float *gz = t.dzh + ((size_t)r * s.F + o) * s.d, *mi = t.m + ((size_t)o * s.C + i) * s.d;
                    for (int k = 0; k < s.d; k++)
                        g[k] += mi[k] * gz[k];
                }
            }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.N * s.C, s.P, s.d, 1.0f, t.dxh, s.d, V, s.d, 1.0f, dx,
                    s.P);
    }
}

/* The definition, in double: y[n, o, p] = b_o + sum_i sum_k V[p, k] m[o, i, k] sum_p' V[p', k] x[n, i, p'] */
static void spectral_reference(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_spectral_attr *a = n->attr;
    const sp_dims s = dims_of(n);
    const float *x = n->in[0]->out.data, *V = n->in[1]->out.data, *K = n->in[2]->out.data, *W = n->in[3]->out.data;
    const float *b = n->n_in == 5 ? n->in[4]->out.data : NULL;
    for (int r = 0; r < s.N; r++)
        for (int o = 0; o < s.F; o++)
            for (int p = 0; p < s.P; p++) {
                double y = b ? b[o] : 0.0;
                for (int i = 0; i < s.C; i++)
                    for (int k = 0; k < s.d; k++) {
                        double m = 0.0, xh = 0.0;
                        for (int j = 0; j < s.q; j++)
                            m += (double)K[k * s.q + j] * W[((size_t)o * s.C + i) * s.q + j];
                        for (int pp = 0; pp < s.P; pp++)
                            xh += (double)V[(size_t)pp * s.d + k] * x[((size_t)r * s.C + i) * s.P + pp];
                        y += V[(size_t)p * s.d + k] * m * xh;
                    }
                n->out.data[((size_t)r * s.F + o) * s.P + p] = (float)y;
            }
    dlx_act_forward(a->act, a->alpha, n->out.data, (int64_t)s.N * s.F * s.P);
}

/* ---- the interpolation kernel, the layer type and gradient-check cases ---- */

/* The cubic B-spline, support |u| < 2. */
static double bspline3(double u)
{
    u = fabs(u);
    return u < 1.0 ? 2.0 / 3.0 - u * u + 0.5 * u * u * u : u < 2.0 ? (2.0 - u) * (2.0 - u) * (2.0 - u) / 6.0 : 0.0;
}

void dlx_spectral_kernel(int d, int q, bool cubic, float *K)
{
    /* q knots spread evenly over the frequencies 0 .. d - 1 (one knot: a
     * constant); q = d with linear interpolation is the identity */
    const double h = q > 1 ? (double)(d - 1) / (q - 1) : 1.0;
    for (int k = 0; k < d; k++)
        for (int j = 0; j < q; j++) {
            double u = q > 1 ? (k - j * h) / h : 0.0;
            double v = cubic ? bspline3(u) : fabs(u) < 1.0 ? 1.0 - fabs(u) : 0.0;
            K[(size_t)k * q + j] = (float)v;
        }
}

static const char *const k_smooth[] = {"linear", "cubic", NULL};
static const char *const k_laplacians[] = {"normalized", "combinatorial", NULL};

/* The basis V (P, d) of the points' graph, computed by the first replica
 * that builds the layer; the others find the buffer. */
static int basis_node(dlx_layer_call *c, int d, dlx_node **node, dlx_err *err)
{
    const dlx_points *pts = c->g->points;
    if (dlx_layer_has_buffer(c, "basis"))
        return dlx_layer_buffer_data(c, "basis", dlx_shape_2d(pts->n, d), NULL, false, node, err);
    int64_t k;
    double sigma;
    int lap;
    int rc = dlx_spec_int(c->entry, "neighbors", false, 8, 1, pts->n - 1, &k, err);
    if (!rc) rc = dlx_spec_float(c->entry, "sigma", false, 0.0, 0.0, 1e9, &sigma, err);
    if (!rc) rc = dlx_spec_enum(c->entry, "laplacian", false, k_laplacians, 0, &lap, err);
    if (rc)
        return rc;
    float *v = malloc((size_t)pts->n * (size_t)d * sizeof *v);
    double *ev = malloc((size_t)d * sizeof *ev);
    if (!v || !ev)
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_laplacian_opts o = {.k = (int)k, .sigma = sigma, .normalized = lap == 0, .keep = d};
    if (!rc && (rc = dlx_laplacian_basis(pts, &o, v, ev, err)) == DLX_EINVAL) {
        char why[sizeof err->msg]; /* the message is rewritten with the layer's place */
        memcpy(why, err->msg, sizeof why);
        rc = dlx_layer_fail(c, err, "the graph of the %d points: %s", pts->n, why);
    }
    if (!rc) rc = dlx_layer_buffer_data(c, "basis", dlx_shape_2d(pts->n, d), v, false, node, err);
    free(v);
    free(ev);
    return rc;
}

static int build_spectral(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    const dlx_points *pts = c->g->points;
    if (!pts)
        return dlx_layer_fail(c, err, "spectral works on the points of subsampled or projected images: give "
                                      "data.subsample {points: P, seed: S} or data.sphere {points: P}");
    int64_t F, d, q;
    int smooth;
    bool bias;
    dlx_spectral_attr a = {0};
    int rc = dlx_spec_int(c->entry, "features", true, 0, 1, 1 << 16, &F, err);
    if (!rc) rc = dlx_spec_int(c->entry, "eigenvectors", false, pts->n, 1, pts->n, &d, err);
    if (!rc) rc = dlx_spec_int(c->entry, "q", false, d, 1, d, &q, err);
    if (!rc) rc = dlx_spec_enum(c->entry, "smooth", false, k_smooth, 1, &smooth, err);
    if (!rc) rc = dlx_spec_bool(c->entry, "bias", false, true, &bias, err);
    if (!rc) rc = dlx_layer_read_act(c, &a.act, &a.alpha, err);
    if (rc)
        return rc;
    const dlx_shape *xs = &c->in[0]->out.shape;
    const int64_t per = dlx_layer_features(c->in[0]);
    if (xs->ndim < 2 || xs->d[xs->ndim - 1] != pts->n) /* maps of the points: the points last */
        return dlx_layer_fail(c, err, "its input's last dimension (%lld) is not the %d points: a spectral layer "
                              "takes the input or a spectral layer's output", (long long)xs->d[xs->ndim - 1], pts->n);
    const int64_t C = per / pts->n;
    dlx_node *in[5] = {c->in[0]};
    rc = basis_node(c, (int)d, &in[1], err);
    if (rc)
        return rc;
    /* free multipliers (q = d) take the identity whatever smooth says */
    float *K = malloc((size_t)d * (size_t)q * sizeof *K);
    if (!K)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_spectral_kernel((int)d, (int)q, q < d && smooth == 1, K);
    rc = dlx_layer_buffer_data(c, "kernel", dlx_shape_2d(d, q), K, true, &in[2], err);
    free(K);
    dlx_init init;
    int def = a.act == DLX_ACT_RELU || a.act == DLX_ACT_LEAKY_RELU ? 1 : 0;
    if (!rc) rc = dlx_layer_read_init(c, def, C, F, &init, err);
    if (!rc) rc = dlx_layer_param(c, "weight", (dlx_shape){.ndim = 3, .d = {F, C, q}}, init, true, &in[3], err);
    if (!rc && bias) rc = dlx_layer_param(c, "bias", dlx_shape_1d(F), (dlx_init){.kind = DLX_INIT_ZERO}, false, &in[4], err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_spectral, in, bias ? 5 : 4, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"features", "integer", "required", "1 to 65536", "output feature maps F (each over the P points)"},
    {"eigenvectors", "integer", "the points P", "1 to P", "d, the Laplacian eigenvectors kept (lowest frequencies)"},
    {"q", "integer", "d", "1 to d", "multipliers per filter: d free ones, fewer interpolated over the spectrum"},
    {"smooth", "one of linear, cubic", "cubic", "linear, cubic", "the interpolation of q < d multipliers"},
    {"neighbors", "integer", "8", "1 to P - 1", "k of the points' k-nearest-neighbour graph"},
    {"sigma", "number", "0 (the mean distance to the k-th neighbour)", "0 to 1e9", "the Gaussian weights' width"},
    {"laplacian", "one of normalized, combinatorial", "normalized", "normalized, combinatorial", "the graph Laplacian"},
    DLX_LAYER_DOC_ACT,
    {"bias", "bool", "true", "", "a learned bias per output map"},
    DLX_LAYER_DOC_INIT,
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"spectral", k_keys,
     "spectral convolution on the points' graph (Bruna et al. 2014): features, eigenvectors (d), q (d: free "
     "multipliers; less: smooth, linear or cubic), neighbors, sigma, laplacian, activation",
     1, build_spectral},
};

/* ---- the R-operator (core/hvp.h), in double: with V and K constant, Z^ is
 * bilinear in X^ = x V and M = W K^T, y = act(Z^ V^T + b):
 *   R{X^} = R{x} V,  R{M} = R{W} K^T,  R{Z^} = B(R{X^}, M) + B(X^, R{M})
 *   R{dX^} = B_x^T(R{dZ^}, M) + B_x^T(dZ^, R{M}),  R{dx} += R{dX^} V^T
 *   R{dM} = B_m^T(R{dZ^}, X^) + B_m^T(dZ^, R{X^}),  R{dW} += R{dM} K
 * Scratch: dZ, R{dZ}, X^, R{X^}, M, R{M}, Z^, dZ^, R{dZ^}, dX^, dM. */

typedef struct sp_dual {
    double *dz, *rdz, *xh, *rxh, *m, *rm, *zh, *dzh, *rdzh, *gxh, *gm;
} sp_dual;

static sp_dual dual_of(const dlx_dual *out, const sp_dims *s)
{
    const int64_t nfp = out->numel, ncd = (int64_t)s->N * s->C * s->d, fcd = (int64_t)s->F * s->C * s->d,
                  nfd = (int64_t)s->N * s->F * s->d;
    sp_dual t;
    t.dz = out->scratch;
    t.rdz = t.dz + nfp;
    t.xh = t.rdz + nfp;
    t.rxh = t.xh + ncd;
    t.m = t.rxh + ncd;
    t.rm = t.m + fcd;
    t.zh = t.rm + fcd;
    t.dzh = t.zh + nfd;
    t.rdzh = t.dzh + nfd;
    t.gxh = t.rdzh + nfd;
    t.gm = t.gxh + ncd;
    return t;
}

static int64_t spectral_rop_scratch(const dlx_node *n)
{
    const sp_dims s = dims_of(n);
    const int64_t ncd = (int64_t)s.N * s.C * s.d, fcd = (int64_t)s.F * s.C * s.d, nfd = (int64_t)s.N * s.F * s.d;
    return 2 * n->out.numel + 3 * ncd + 3 * fcd + 3 * nfd;
}

/* Every term M[o,i,k] X^[r,i,k] of Z^[r,o,k]: zh += m xh (zh not NULL), and
 * its adjoints gxh += m dzh, gm += dzh xh (where not NULL). */
static void sp_pair(const sp_dims *s, const double *xh, const double *m, double *zh, const double *dzh, double *gxh,
                    double *gm)
{
    for (int r = 0; r < s->N; r++)
        for (int o = 0; o < s->F; o++)
            for (int i = 0; i < s->C; i++)
                for (int k = 0; k < s->d; k++) {
                    const int64_t z = ((int64_t)r * s->F + o) * s->d + k, x = ((int64_t)r * s->C + i) * s->d + k,
                                  w = ((int64_t)o * s->C + i) * s->d + k;
                    if (zh)
                        zh[z] += m[w] * xh[x];
                    if (gxh)
                        gxh[x] += m[w] * dzh[z];
                    if (gm)
                        gm[w] += dzh[z] * xh[x];
                }
}

/* y = Z^ V^T + b (b may be NULL) */
static void sp_out(const sp_dims *s, const double *zh, const double *V, const double *b, double *y)
{
    for (int64_t r = 0; r < (int64_t)s->N * s->F; r++)
        for (int p = 0; p < s->P; p++)
            y[r * s->P + p] = b ? b[r % s->F] : 0.0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->N * s->F, s->P, s->d, 1.0, zh, s->d, V, s->d, 1.0, y, s->P);
}

static void spectral_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_spectral_attr *a = n->attr;
    const sp_dims s = dims_of(n);
    const sp_dual t = dual_of(out, &s);
    const double *V = in[1]->v, *K = in[2]->v;
    const dlx_dual *x = in[0], *w = in[3], *b = n->n_in == 5 ? in[4] : NULL;
    const size_t nfd = (size_t)s.N * s.F * s.d;
    if (mode != DLX_ROP_TANGENT) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.N * s.C, s.d, s.P, 1.0, x->v, s.P, V, s.d, 0.0, t.xh, s.d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.F * s.C, s.d, s.q, 1.0, w->v, s.q, K, s.q, 0.0, t.m, s.d);
        memset(t.zh, 0, nfd * sizeof *t.zh);
        sp_pair(&s, t.xh, t.m, t.zh, NULL, NULL, NULL);
        sp_out(&s, t.zh, V, b ? b->v : NULL, out->v);
    }
    if (mode != DLX_ROP_VALUE) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.N * s.C, s.d, s.P, 1.0, x->r, s.P, V, s.d, 0.0, t.rxh, s.d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.F * s.C, s.d, s.q, 1.0, w->r, s.q, K, s.q, 0.0, t.rm, s.d);
        memset(t.zh, 0, nfd * sizeof *t.zh);
        sp_pair(&s, t.rxh, t.m, t.zh, NULL, NULL, NULL);
        sp_pair(&s, t.xh, t.rm, t.zh, NULL, NULL, NULL);
        sp_out(&s, t.zh, V, b ? b->r : NULL, out->r);
    }
    dlx_act_rop_forward(a->act, a->alpha, out, mode);
}

/* gx += gxh V^T and gW += gm K from the pair adjoints of dzh with (m, xh) */
static void sp_back(const sp_dims *s, const sp_dual *t, const double *V, const double *K, const double *m,
                    const double *xh, const double *dzh, double *gx, double *gw)
{
    const size_t ncd = (size_t)s->N * s->C * s->d, fcd = (size_t)s->F * s->C * s->d;
    memset(t->gxh, 0, ncd * sizeof *t->gxh);
    memset(t->gm, 0, fcd * sizeof *t->gm);
    sp_pair(s, xh, m, NULL, dzh, gx ? t->gxh : NULL, gw ? t->gm : NULL);
    if (gx)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->N * s->C, s->P, s->d, 1.0, t->gxh, s->d, V, s->d, 1.0,
                    gx, s->P);
    if (gw)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->F * s->C, s->q, s->d, 1.0, t->gm, s->d, K, s->q, 1.0,
                    gw, s->q);
}

static void spectral_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_spectral_attr *a = n->attr;
    const sp_dims s = dims_of(n);
    const sp_dual t = dual_of(out, &s);
    const double *V = in[1]->v, *K = in[2]->v;
    const dlx_dual *x = in[0], *w = in[3], *b = n->n_in == 5 ? in[4] : NULL;
    dlx_act_rop_backward(a->act, a->alpha, out, t.dz, t.rdz, mode);
    for (int64_t e = 0; b && b->g && e < out->numel; e++) {
        const int64_t o = (e / s.P) % s.F;
        if (mode != DLX_ROP_TANGENT)
            b->g[o] += t.dz[e];
        if (mode != DLX_ROP_VALUE)
            b->rg[o] += t.rdz[e];
    }
    if (mode != DLX_ROP_TANGENT) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.N * s.F, s.d, s.P, 1.0, t.dz, s.P, V, s.d, 0.0, t.dzh, s.d);
        sp_back(&s, &t, V, K, t.m, t.xh, t.dzh, x->g, w->g);
    }
    if (mode == DLX_ROP_VALUE)
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.N * s.F, s.d, s.P, 1.0, t.rdz, s.P, V, s.d, 0.0, t.rdzh, s.d);
    sp_back(&s, &t, V, K, t.m, t.xh, t.rdzh, x->rg, w->rg);
    sp_back(&s, &t, V, K, t.rm, NULL, t.dzh, x->rg, NULL);
    sp_back(&s, &t, V, K, NULL, t.rxh, t.dzh, NULL, w->rg);
}

static const dlx_op_rop k_rop = {spectral_rop_forward, spectral_rop_backward, spectral_rop_scratch};

/* x (N, C, P), V (P, d), K (d, q), W (F, C, q), [b (F)] */
#define SP_CASE(nm, act, N, C, P, d, q, F, nin)                                                                   \
    {.what = "spectral " nm, .attr = &(dlx_spectral_attr){act, 0.1f}, .n_in = nin,                                \
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(N, C, P)}, {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(P, d)}, \
            {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(d, q)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(F, C, q)},  \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(F)}}}
static const dlx_op_example k_examples[] = {
    SP_CASE("free, bias", DLX_ACT_NONE, 3, 2, 7, 5, 5, 3, 5),
    SP_CASE("smooth q 3, tanh", DLX_ACT_TANH, 2, 3, 6, 6, 3, 2, 5),
    SP_CASE("no bias, one map in", DLX_ACT_NONE, 2, 1, 8, 4, 2, 4, 4),
    SP_CASE("relu", DLX_ACT_RELU, 3, 2, 5, 5, 4, 2, 5),
};

const dlx_op_vtbl dlx_op_spectral = {
    .name = "spectral",
    .n_in_min = 4,
    .n_in_max = 5,
    .attr_size = sizeof(dlx_spectral_attr),
    .infer = spectral_infer,
    .forward = spectral_forward,
    .backward = spectral_backward,
    .fast_path = true,
    .reference = spectral_reference,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
