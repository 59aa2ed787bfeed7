/* linear: fully connected layer with bias and a fused activation.
 *
 *   in:  x (N, ...) read as X (N, K), K = product of the trailing dims
 *        W (M, K), optional b (M)
 *   out: Y (N, M),  Z = X W^T + b,  Y = act(Z)
 *
 *   dZ  = dY * act'(Y)        (into scratch, N*M floats, only with an activation)
 *   dX += dZ W                (N, K)
 *   dW += dZ^T X              (M, K)
 *   db += sum over rows of dZ (M)
 *
 * Saved for backward: nothing beyond X, W and Y themselves; the scratch is
 * a workspace so that out.grad is never modified (a fan-out node's gradient
 * may still be read by others). Every product is one cblas_sgemm; the
 * gradient ones use beta = 1 because backward accumulates.
 * Non-differentiable points: those of the activation (relu/leaky_relu at Z = 0).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "linear_small.h"
#include "ops.h"

#if defined(__AVX512F__)
#include <immintrin.h>
/* the first r lanes (all 16 for r >= 16) */
static inline __mmask16 lanes(int r)
{
    return (__mmask16)(r >= 16 ? 0xffffu : (1u << r) - 1u);
}
#endif

/* y[i][j] = relu(y[i][j] + b[j]) over N rows of M. Rows of a small layer (25
 * units) are not a multiple of the vector width: masked vectors instead of a
 * scalar tail per row. Same bits either way (one add and one max each). */
static void rows_bias_relu(float *y, const float *b, int N, int M)
{
#if defined(__AVX512F__)
    const __m512 zero = _mm512_setzero_ps();
    for (int i = 0; i < N; i++) {
        float *yr = y + (size_t)i * M;
        for (int j = 0; j < M; j += 16) {
            __mmask16 k = lanes(M - j);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, yr + j), _mm512_maskz_loadu_ps(k, b + j));
            _mm512_mask_storeu_ps(yr + j, k, _mm512_max_ps(v, zero)); /* NaN -> 0, as v > 0 ? v : 0 */
        }
    }
#else
    for (int i = 0; i < N; i++) {
        float *yr = y + (size_t)i * M;
        for (int j = 0; j < M; j++) {
            float v = yr[j] + b[j];
            yr[j] = v > 0.0f ? v : 0.0f;
        }
    }
#endif
}

/* t = y > 0 ? g : 0 (the ReLU mask) and, with db, db[j] += sum_i t[i][j]
 * in row order (the same bits on both paths) */
static void rows_relu_grad(const float *y, const float *g, float *t, float *db, int N, int M)
{
#if defined(__AVX512F__)
    /* a column block at a time, its db slice in a register (a masked store
     * followed by a load of the same db slice would wait for the store) */
    const __m512 zero = _mm512_setzero_ps();
    for (int j = 0; j < M; j += 16) {
        __mmask16 k = lanes(M - j);
        __m512 acc = db ? _mm512_maskz_loadu_ps(k, db + j) : zero;
        for (int i = 0; i < N; i++) {
            size_t o = (size_t)i * M + j;
            __mmask16 pos = _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, y + o), zero, _CMP_GT_OQ);
            __m512 tv = _mm512_maskz_loadu_ps(pos, g + o);
            _mm512_mask_storeu_ps(t + o, k, tv);
            acc = _mm512_add_ps(acc, tv);
        }
        if (db)
            _mm512_mask_storeu_ps(db + j, k, acc);
    }
#else
    for (int i = 0; i < N; i++) {
        const float *yr = y + (size_t)i * M, *gr = g + (size_t)i * M;
        float *tr = t + (size_t)i * M;
        for (int j = 0; j < M; j++)
            tr[j] = yr[j] > 0.0f ? gr[j] : 0.0f;
        if (db)
            for (int j = 0; j < M; j++)
                db[j] += tr[j];
    }
#endif
}

static int linear_infer(dlx_node *n, dlx_err *err)
{
    const dlx_linear_attr *a = n->attr;
    const dlx_shape *xs = &n->in[0]->out.shape, *ws = &n->in[1]->out.shape;
    char buf[64];
    if ((int)a->act < DLX_ACT_NONE || (int)a->act > DLX_ACT_LECUN_TANH)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "unknown activation %d (known: %s)",
                            (int)a->act, dlx_act_names());
    if (a->act == DLX_ACT_LEAKY_RELU && !(a->alpha >= 0.0f && isfinite(a->alpha)))
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "leaky_relu alpha must be finite and >= 0, got %g", (double)a->alpha);
    if (xs->ndim < 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "expected an input of 2 or more dims (N, features...), got %s",
                            dlx_shape_str(xs, buf, sizeof buf));
    int64_t N = xs->d[0], K = 1;
    for (int i = 1; i < xs->ndim; i++)
        K *= xs->d[i];
    if (ws->ndim != 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a 2-d weight (M, K), got %s",
                            dlx_shape_str(ws, buf, sizeof buf));
    if (ws->d[1] != K)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "weight %s expects %lld input features, the input has %lld",
                            dlx_shape_str(ws, buf, sizeof buf), (long long)ws->d[1], (long long)K);
    int64_t M = ws->d[0];
    if (n->n_in == 3) {
        const dlx_shape *bs = &n->in[2]->out.shape;
        if (bs->ndim != 1 || bs->d[0] != M)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected a bias of shape [%lld], got %s",
                                (long long)M, dlx_shape_str(bs, buf, sizeof buf));
    }
    if (N <= 0 || M <= 0 || K <= 0)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "empty input or weight (N=%lld, M=%lld, K=%lld)",
                            (long long)N, (long long)M, (long long)K);
    if (N > INT32_MAX || M > INT32_MAX || K > INT32_MAX)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "dimensions too large for BLAS");
    n->out.shape = dlx_shape_2d(N, M);
    /* backward's dZ, and forward's transposed weights on the small path (the
     * two are never live at once) */
    size_t dz_floats = a->act != DLX_ACT_NONE && n->needs_grad ? (size_t)(N * M) : 0;
    size_t small_floats = dlx_linear_small_use((int)N, (int)M, (int)K) ? dlx_linear_small_scratch((int)M, (int)K) : 0;
    n->scratch_floats = dz_floats > small_floats ? dz_floats : small_floats;
    return 0;
}

static void linear_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_linear_attr *a = n->attr;
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    float *y = n->out.data;
    const int N = (int)n->out.shape.d[0], M = (int)n->out.shape.d[1];
    const int K = (int)n->in[1]->out.shape.d[1];
    const float *b = n->n_in == 3 ? n->in[2]->out.data : NULL;
    if (dlx_linear_small_use(N, M, K)) { /* bias and ReLU in the kernel's registers */
        bool relu = a->act == DLX_ACT_RELU;
        dlx_linear_small_forward(N, M, K, x, w, b, relu, y, n->scratch);
        if (!relu)
            dlx_act_forward(a->act, a->alpha, y, (int64_t)N * M);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, K, 1.0f, x, K, w, K, 0.0f, y, M);
    /* bias and activation in one pass over Z (relu, the common case, fused;
     * a per-row bias copy before the GEMM cost more than the GEMM on tiny layers) */
    if (b && a->act == DLX_ACT_RELU) {
        rows_bias_relu(y, b, N, M);
        return;
    }
    if (b)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < M; j++)
                y[(size_t)i * M + j] += b[j];
    dlx_act_forward(a->act, a->alpha, y, (int64_t)N * M);
}

static void linear_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_linear_attr *a = n->attr;
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    float *dx = n->in[0]->out.grad, *dw = n->in[1]->out.grad;
    float *db = n->n_in == 3 ? n->in[2]->out.grad : NULL;
    const int N = (int)n->out.shape.d[0], M = (int)n->out.shape.d[1];
    const int K = (int)n->in[1]->out.shape.d[1];
    const float *dz = n->out.grad;
    if (a->act == DLX_ACT_RELU) { /* mask and bias gradient in one pass */
        rows_relu_grad(n->out.data, n->out.grad, n->scratch, db, N, M);
        dz = n->scratch;
        db = NULL; /* done */
    } else if (a->act != DLX_ACT_NONE) {
        memcpy(n->scratch, n->out.grad, (size_t)N * M * sizeof(float));
        dlx_act_backward(a->act, a->alpha, n->out.data, n->scratch, (int64_t)N * M);
        dz = n->scratch;
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, K, M, 1.0f, dz, M, w, K, 1.0f,
                    dx, K);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, N, 1.0f, dz, M, x, K, 1.0f, dw,
                    K);
    if (db)
        for (int i = 0; i < N; i++) {
            const float *row = dz + (size_t)i * M;
            for (int j = 0; j < M; j++)
                db[j] += row[j];
        }
}

const dlx_op_vtbl dlx_op_linear = {
    .name = "linear",
    .n_in_min = 2,
    .n_in_max = 3,
    .attr_size = sizeof(dlx_linear_attr),
    .infer = linear_infer,
    .forward = linear_forward,
    .backward = linear_backward,
};
