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
 * may still be read by others). Products go to cblas_sgemm (beta = 1 for the
 * gradients: backward accumulates), large ones in column blocks over the
 * op's threads, small ones forward to linear_small.c.
 * Non-differentiable points: those of the activation (relu/leaky_relu at Z = 0).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "conv_gemm.h"
#include "linear_small.h"
#include "../layer_build.h"
#include "ops.h"

extern const dlx_op_vtbl dlx_op_transpose; /* a transposed tied weight (core/ops/transpose.c) */

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__AVX512F__)
/* the first r lanes (all 16 for r >= 16) */
static inline __mmask16 lanes(int r)
{
    return (__mmask16)(r >= 16 ? 0xffffu : (1u << r) - 1u);
}
#endif

/* y[i][j] = relu(y[i][j] + b[j]) over N rows of width W, ld apart. Rows of a
 * small layer (25 units) are not a multiple of the vector width: masked
 * vectors instead of a scalar tail per row. Same bits either way (one add and
 * one max each). */
static void rows_bias_relu(float *y, int ld, const float *b, int N, int W)
{
#if defined(__AVX512F__)
    const __m512 zero = _mm512_setzero_ps();
    for (int i = 0; i < N; i++) {
        float *yr = y + (size_t)i * ld;
        for (int j = 0; j < W; j += 16) {
            __mmask16 k = lanes(W - j);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, yr + j), _mm512_maskz_loadu_ps(k, b + j));
            _mm512_mask_storeu_ps(yr + j, k, _mm512_max_ps(v, zero)); /* NaN -> 0, as v > 0 ? v : 0 */
        }
    }
#else
    for (int i = 0; i < N; i++) {
        float *yr = y + (size_t)i * ld;
        for (int j = 0; j < W; j++) {
            float v = yr[j] + b[j];
            yr[j] = v > 0.0f ? v : 0.0f;
        }
    }
#endif
}

/* t = y > 0 ? g : 0 (the ReLU mask) and, with db, db[j] += sum_i t[i][j]
 * in row order (the same bits on both paths); N rows of width W, ld apart */
static void rows_relu_grad(const float *y, const float *g, float *t, int ld, float *db, int N, int W)
{
#if defined(__AVX512F__)
    /* a column block at a time, its db slice in a register (a masked store
     * followed by a load of the same db slice would wait for the store) */
    const __m512 zero = _mm512_setzero_ps();
    for (int j = 0; j < W; j += 16) {
        __mmask16 k = lanes(W - j);
        __m512 acc = db ? _mm512_maskz_loadu_ps(k, db + j) : zero;
        for (int i = 0; i < N; i++) {
            size_t o = (size_t)i * ld + j;
            __mmask16 pos = _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, y + o), zero, _CMP_GT_OQ);
            __m512 tv = _mm512_maskz_loadu_ps(pos, g + o);
            _mm512_mask_storeu_ps(t + o, k, tv);
            acc = _mm512_add_ps(acc, tv);
        }
        if (db)
            _mm512_mask_storeu_ps(db + j, k, acc);
    }
#elif defined(__AVX2__)
    /* as above, 8 columns at a time; the last W % 8 one by one (AMD's masked
     * loads and stores are slow); each db[j] gets its rows in order either way */
    const __m256 zero = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= W; j += 8) {
        __m256 acc = db ? _mm256_loadu_ps(db + j) : zero;
        for (int i = 0; i < N; i++) {
            size_t o = (size_t)i * ld + j;
            __m256 pos = _mm256_cmp_ps(_mm256_loadu_ps(y + o), zero, _CMP_GT_OQ);
            __m256 tv = _mm256_and_ps(pos, _mm256_loadu_ps(g + o));
            _mm256_storeu_ps(t + o, tv);
            acc = _mm256_add_ps(acc, tv);
        }
        if (db)
            _mm256_storeu_ps(db + j, acc);
    }
    for (; j < W; j++) {
        float acc = db ? db[j] : 0.0f;
        for (int i = 0; i < N; i++) {
            size_t o = (size_t)i * ld + j;
            t[o] = y[o] > 0.0f ? g[o] : 0.0f;
            acc += t[o];
        }
        if (db)
            db[j] = acc;
    }
#else
    for (int i = 0; i < N; i++) {
        const float *yr = y + (size_t)i * ld, *gr = g + (size_t)i * ld;
        float *tr = t + (size_t)i * ld;
        for (int j = 0; j < W; j++)
            tr[j] = yr[j] > 0.0f ? gr[j] : 0.0f;
        if (db)
            for (int j = 0; j < W; j++)
                db[j] += tr[j];
    }
#endif
}

/* Large products are cut into column blocks that the op's threads share
 * (ctx->threads: one shard whose ops use every core, instead of one shard per
 * core each packing the whole weight matrix for half the rows). The blocks
 * are a function of the shape alone, so the bits do not depend on the thread
 * count: a power of two up to 8 (2, 4 or 8 threads share them evenly), each
 * at least 64 columns, for products of at least 2^21 multiply-adds. */
static int col_blocks(int N, int cols, int K)
{
    if ((double)N * cols * K < (double)(1 << 21))
        return 1;
    int nb = 1;
    while (nb < 8 && cols / (2 * nb) >= 64)
        nb *= 2;
    return nb;
}

/* Columns [*lo, *hi) of block i of nb, cut at the 16-float boundary nearest
 * to an even split (rounding down left 112 of 250 columns to the first of two
 * threads). */
static int col_cut(int cols, int nb, int i)
{
    return i == 0 ? 0 : i == nb ? cols : (int)(((int64_t)cols * i / nb + 8) & ~15);
}

static void col_range(int cols, int nb, int i, int *lo, int *hi)
{
    *lo = col_cut(cols, nb, i);
    *hi = col_cut(cols, nb, i + 1);
}

static int op_threads(const dlx_ctx *ctx, int blocks)
{
    int t = ctx && ctx->threads > 1 ? ctx->threads : 1;
    return t < blocks ? t : blocks;
}

/* Forward of a few rows (a GAN's shard of 32 or 64) through a large layer:
 * Y^T = W X^T with conv_gemm.h's kernel (X transposed into scratch first),
 * which reads W where it lies: 82-84 GFLOP/s a core against OpenBLAS's
 * 69-71 for 32 x 512 x 784 (it packs W on every call). Rows a multiple of
 * 8, at most 64; X^T (K x N) within L2. */
static bool forward_cg(int N, int M, int K)
{
    (void)M;
    return N % 8 == 0 && N <= 64 && (double)N * K <= 65536 && dlx_cg_use(N, K);
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
    size_t small_floats = dlx_linear_small_use((int)N, (int)M, (int)K) ? dlx_linear_small_scratch((int)M, (int)K)
                          : forward_cg((int)N, (int)M, (int)K) ? (size_t)(N * K) /* x^T */
                                                                : 0;
    n->scratch_floats = dz_floats > small_floats ? dz_floats : small_floats;
    return 0;
}

/* Bias and activation on output columns [j0, j0 + W) of N rows of M. */
static void bias_act_block(const dlx_linear_attr *a, float *y, const float *b, int N, int M, int j0, int W)
{
    if (b && a->act == DLX_ACT_RELU) {
        rows_bias_relu(y + j0, M, b + j0, N, W);
        return;
    }
    for (int i = 0; i < N; i++) {
        float *yr = y + (size_t)i * M + j0;
        if (b)
            for (int j = 0; j < W; j++)
                yr[j] += b[j0 + j];
        dlx_act_forward(a->act, a->alpha, yr, W);
    }
}

/* (xt: X^T for forward_cg's products, else NULL) */
static void forward_block(const dlx_linear_attr *a, const float *x, const float *xt, const float *w, const float *b,
                          float *y, int N, int M, int K, int nb, int i)
{
    int j0, j1;
    col_range(M, nb, i, &j0, &j1);
    if (xt) /* Y^T rows j0..j1 = W rows j0..j1 X^T, stored transposed into Y */
        dlx_cg_run(&(dlx_cg){.rows = j1 - j0, .cols = N, .T = K, .a = w + (size_t)j0 * K, .sar = K,
                             .sat = 1, .b = xt, .ldb = N, .c = y + j0, .ldc = M, .store = DLX_CG_STORE_T});
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, j1 - j0, K, 1.0f, x, K, w + (size_t)j0 * K, K,
                    0.0f, y + j0, M);
    bias_act_block(a, y, b, N, M, j0, j1 - j0);
}

static void linear_forward(dlx_node *n, const dlx_ctx *ctx)
{
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
    /* one GEMM per column block, its bias and activation right after it
     * while the block is in cache */
    const int nb = col_blocks(N, M, K), threads = op_threads(ctx, nb);
    float *xt = NULL;
    if (forward_cg(N, M, K)) {
        xt = n->scratch;
        dlx_cg_transpose(N, K, x, xt);
    }
    if (threads > 1) {
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int i = 0; i < nb; i++)
            forward_block(a, x, xt, w, b, y, N, M, K, nb, i);
    } else {
        for (int i = 0; i < nb; i++)
            forward_block(a, x, xt, w, b, y, N, M, K, nb, i);
    }
}

/* dZ, db and dW for column block i of M */
static void dz_dw_block(const dlx_node *n, const float *dz, int N, int M, int K, int nb, int i)
{
    const dlx_linear_attr *a = n->attr;
    const float *x = n->in[0]->out.data, *g = n->out.grad, *y = n->out.data;
    float *dw = n->in[1]->out.grad, *db = n->n_in == 3 ? n->in[2]->out.grad : NULL;
    int j0, j1;
    col_range(M, nb, i, &j0, &j1);
    const int W = j1 - j0;
    if (a->act == DLX_ACT_RELU) { /* mask and bias gradient in one pass */
        rows_relu_grad(y + j0, g + j0, n->scratch + j0, M, db ? db + j0 : NULL, N, W);
    } else {
        if (a->act != DLX_ACT_NONE)
            for (int r = 0; r < N; r++) {
                size_t o = (size_t)r * M + j0;
                memcpy(n->scratch + o, g + o, (size_t)W * sizeof(float));
                dlx_act_backward(a->act, a->alpha, y + o, n->scratch + o, W);
            }
        if (db)
            for (int r = 0; r < N; r++)
                for (int j = j0; j < j1; j++)
                    db[j] += dz[(size_t)r * M + j];
    }
    if (dw && dlx_linear_small_dw_use(N, M, K))
        dlx_linear_small_dw(N, W, K, dz + j0, M, x, dw + (size_t)j0 * K);
    else if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, W, K, N, 1.0f, dz + j0, M, x, K, 1.0f,
                    dw + (size_t)j0 * K, K);
}

/* dX for column block i of K */
static void dx_block(const dlx_node *n, const float *dz, int N, int M, int K, int nb, int i)
{
    const float *w = n->in[1]->out.data;
    float *dx = n->in[0]->out.grad;
    int k0, k1;
    col_range(K, nb, i, &k0, &k1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, k1 - k0, M, 1.0f, dz, M, w + k0, K, 1.0f, dx + k0,
                K);
}

static void linear_backward(dlx_node *n, const dlx_ctx *ctx)
{
    const dlx_linear_attr *a = n->attr;
    const bool has_dx = n->in[0]->out.grad != NULL;
    const int N = (int)n->out.shape.d[0], M = (int)n->out.shape.d[1];
    const int K = (int)n->in[1]->out.shape.d[1];
    /* dZ in scratch unless there is no activation (then dZ = dY) */
    const float *dz = a->act == DLX_ACT_NONE ? n->out.grad : n->scratch;
    /* dZ, db and dW over column blocks of M; then dX over column blocks of K
     * (it needs every column of dZ) */
    const int nbm = col_blocks(N, M, K), nbk = has_dx ? col_blocks(N, K, M) : 0;
    const int threads = op_threads(ctx, nbm > nbk ? nbm : nbk);
    if (threads > 1) {
#pragma omp parallel num_threads(threads)
        {
#pragma omp for schedule(static)
            for (int i = 0; i < nbm; i++)
                dz_dw_block(n, dz, N, M, K, nbm, i);
#pragma omp for schedule(static)
            for (int i = 0; i < nbk; i++)
                dx_block(n, dz, N, M, K, nbk, i);
        }
    } else {
        for (int i = 0; i < nbm; i++)
            dz_dw_block(n, dz, N, M, K, nbm, i);
        for (int i = 0; i < nbk; i++)
            dx_block(n, dz, N, M, K, nbk, i);
    }
}

/* ---- the R-operator (core/hvp.h), in double ----
 *   R{Z} = R{X} W^T + X R{W}^T + R{b},  R{Y} = act'(Z) R{Z}
 *   R{dX} += R{dZ} W + dZ R{W},  R{dW} += R{dZ}^T X + dZ^T R{X},  R{db} += colsum R{dZ}
 * with dZ and R{dZ} kept in the node's scratch. */

static void linear_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_linear_attr *a = n->attr;
    const int N = (int)n->out.shape.d[0], M = (int)n->out.shape.d[1], K = (int)n->in[1]->out.shape.d[1];
    const dlx_dual *x = in[0], *w = in[1], *b = n->n_in == 3 ? in[2] : NULL;
    if (mode != DLX_ROP_TANGENT) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < M; j++)
                out->v[(size_t)i * M + j] = b ? b->v[j] : 0.0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, K, 1.0, x->v, K, w->v, K, 1.0, out->v, M);
    }
    if (mode != DLX_ROP_VALUE) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < M; j++)
                out->r[(size_t)i * M + j] = b && !b->constant ? b->r[j] : 0.0;
        if (!w->constant)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, K, 1.0, x->v, K, w->r, K, 1.0, out->r, M);
        if (!x->constant)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, K, 1.0, x->r, K, w->v, K, 1.0, out->r, M);
    }
    dlx_act_rop_forward(a->act, a->alpha, out, mode);
}

static void linear_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_linear_attr *a = n->attr;
    const int N = (int)n->out.shape.d[0], M = (int)n->out.shape.d[1], K = (int)n->in[1]->out.shape.d[1];
    const dlx_dual *x = in[0], *w = in[1], *b = n->n_in == 3 ? in[2] : NULL;
    double *dz = out->scratch, *rdz = out->scratch + out->numel;
    dlx_act_rop_backward(a->act, a->alpha, out, dz, rdz, mode);
    if (mode != DLX_ROP_TANGENT) {
        if (x->g)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, K, M, 1.0, dz, M, w->v, K, 1.0, x->g, K);
        if (w->g)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, N, 1.0, dz, M, x->v, K, 1.0, w->g, K);
        if (b && b->g)
            for (int i = 0; i < N; i++)
                for (int j = 0; j < M; j++)
                    b->g[j] += dz[(size_t)i * M + j];
    }
    if (mode == DLX_ROP_VALUE)
        return;
    if (x->rg) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, K, M, 1.0, rdz, M, w->v, K, 1.0, x->rg, K);
        if (!w->constant)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, K, M, 1.0, dz, M, w->r, K, 1.0, x->rg, K);
    }
    if (w->rg) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, N, 1.0, rdz, M, x->v, K, 1.0, w->rg, K);
        if (!x->constant)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, N, 1.0, dz, M, x->r, K, 1.0, w->rg, K);
    }
    if (b && b->rg)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < M; j++)
                b->rg[j] += rdz[(size_t)i * M + j];
}

static const dlx_op_rop k_rop = {linear_rop_forward, linear_rop_backward, NULL};

/* ---- naive reference, layer type and gradient-check cases ---- */

/* y = act(x W^T + b) by the definition, in double: the check of the BLAS and
 * small-kernel paths */
static void linear_reference(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_linear_attr *a = n->attr;
    const float *x = n->in[0]->out.data, *w = n->in[1]->out.data;
    const float *b = n->n_in == 3 ? n->in[2]->out.data : NULL;
    const int64_t N = n->out.shape.d[0], M = n->out.shape.d[1], K = n->in[1]->out.shape.d[1];
    for (int64_t r = 0; r < N; r++)
        for (int64_t j = 0; j < M; j++) {
            double s = b ? b[j] : 0.0;
            for (int64_t k = 0; k < K; k++)
                s += (double)x[r * K + k] * w[j * K + k];
            n->out.data[r * M + j] = (float)s;
        }
    dlx_act_forward(a->act, a->alpha, n->out.data, N * M);
}

static int build_linear(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    int64_t units;
    bool bias;
    dlx_linear_attr a = {0};
    dlx_init init;
    int rc = dlx_spec_int(c->entry, "units", true, 0, 1, 1 << 24, &units, err);
    if (!rc) rc = dlx_spec_bool(c->entry, "bias", false, true, &bias, err);
    if (!rc) rc = dlx_layer_read_act(c, &a.act, &a.alpha, err);
    int64_t k = dlx_layer_features(c->in[0]);
    int def = a.act == DLX_ACT_RELU || a.act == DLX_ACT_LEAKY_RELU ? 1 : 0;
    if (!rc) rc = dlx_layer_read_init(c, def, k, units, &init, err);
    bool transpose;
    if (!rc) rc = dlx_spec_bool(c->entry, "transpose", false, false, &transpose, err);
    if (!rc && transpose && !strcmp(c->param_name, c->name))
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(c->entry, "transpose")->loc,
                          "%s: transpose: true uses another layer's weight, transposed: name it with share: LAYER",
                          c->entry->path);
    dlx_node *in[3] = {c->in[0]};
    if (!rc && transpose) {
        /* the shared layer's (k, units) weight, transposed into this layer's
         * (units, k); the bias is this layer's own */
        dlx_node *w;
        rc = dlx_layer_param(c, "weight", dlx_shape_2d(k, units), init, true, &w, err);
        char name[DLX_NAME_MAX + 8]; /* layer names are shorter than DLX_NAME_MAX - 4 */
        snprintf(name, sizeof name, "%s.wT", c->name);
        if (!rc && !(in[1] = dlx_graph_op(c->g, &dlx_op_transpose, name, &w, 1, NULL, c->entry->loc, err)))
            rc = err->code;
        if (!rc && bias)
            rc = dlx_layer_param_own(c, "bias", dlx_shape_1d(units), dlx_layer_bias_init(&init), false, &in[2], err);
    } else if (!rc) {
        rc = dlx_layer_param(c, "weight", dlx_shape_2d(units, k), init, true, &in[1], err);
        if (!rc && bias)
            rc = dlx_layer_param(c, "bias", dlx_shape_1d(units), dlx_layer_bias_init(&init), false, &in[2], err);
    }
    return rc ? rc : dlx_layer_op(c, &dlx_op_linear, in, bias ? 3 : 2, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"units", "integer", "required", "1 to 16777216", "output features"},
    DLX_LAYER_DOC_ACT,
    {"bias", "bool", "true", "", "add a learned bias"},
    DLX_LAYER_DOC_INIT,
    {"transpose", "bool", "false", "true only with share: LAYER", "use LAYER's weight transposed (a tied auto-encoder's decoder); the bias is this layer's own"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"linear", k_keys, "fully connected: units, activation, bias, init; transpose: true with share: LAYER uses that layer's weight transposed", 1, build_linear},
};

/* every activation, with and without bias; x is 4-d to check the flattening to (N, K) */
#define LIN_CASE(act, nm)                                                                                       \
    {.what = "linear " nm, .attr = &(dlx_linear_attr){act, 0.1f}, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 2, 2)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 8)}}}, \
    {.what = "linear+bias " nm, .attr = &(dlx_linear_attr){act, 0.1f}, .n_in = 3,                                                       .in = \
     {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 2, 2, 2)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4, 8)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(4)}}}
static const dlx_op_example k_examples[] = {
    LIN_CASE(DLX_ACT_NONE, "none"),       LIN_CASE(DLX_ACT_RELU, "relu"),
    LIN_CASE(DLX_ACT_TANH, "tanh"),       LIN_CASE(DLX_ACT_SIGMOID, "sigmoid"),
    LIN_CASE(DLX_ACT_LEAKY_RELU, "leaky"), LIN_CASE(DLX_ACT_LECUN_TANH, "lecun_tanh"),
    /* the register-blocked small kernel (the cases above take BLAS: N < 4) */
    {.what = "linear+bias small kernel relu", .attr = &(dlx_linear_attr){DLX_ACT_RELU, 0}, .n_in = 3,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(6, 20)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(17, 20)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(17)}}},
    {.what = "linear small kernel tanh", .attr = &(dlx_linear_attr){DLX_ACT_TANH, 0}, .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(6, 20)}, {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(17, 20)}}},
};

const dlx_op_vtbl dlx_op_linear = {
    .name = "linear",
    .n_in_min = 2,
    .n_in_max = 3,
    .attr_size = sizeof(dlx_linear_attr),
    .infer = linear_infer,
    .forward = linear_forward,
    .backward = linear_backward,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .fast_path = true,
    .reference = linear_reference,
    .rop = &k_rop,
};
