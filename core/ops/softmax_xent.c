/* softmax_xent: loss = (1/N) sum_n -log softmax(z_n)[y_n].
 *
 * Shapes: logits z (N, K) or (N, K, 1, 1), labels y (N) holding class indices
 * as floats -> (1). Computed stably: log-sum-exp after subtracting the row
 * maximum, the loss total in double. A label that is not an integer in
 * [0, K) makes the loss NaN (forward cannot fail; the training loop stops on
 * a NaN loss) and that sample gets no gradient. A NaN logit makes the loss
 * NaN too.
 * Saved for backward: the probabilities p = softmax(z), N*K floats in scratch
 * (followed by N row maxima and N row sums, used within forward).
 * dz = g * (p - onehot(y)) / N; the labels get no gradient.
 * Non-differentiable points: none.
 */
#include <math.h>

#include "../vmath.h"
#include "avx2_lanes.h"
#include "ops.h"

static int softmax_xent_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *z = &n->in[0]->out.shape, *y = &n->in[1]->out.shape;
    char a[64], b[64];
    bool ok = z->ndim == 2 || (z->ndim == 4 && z->d[2] == 1 && z->d[3] == 1);
    if (!ok)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "logits must have shape [N, K] or [N, K, 1, 1], got %s",
                            dlx_shape_str(z, a, sizeof a));
    if (y->ndim != 1 || y->d[0] != z->d[0])
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "labels must have shape [%lld] (one class index per sample), got %s",
                            (long long)z->d[0], dlx_shape_str(y, b, sizeof b));
    n->out.shape = dlx_shape_1d(1);
    /* p, then the row maxima and the row sums */
    n->scratch_floats = (size_t)dlx_shape_numel(z) + 2 * (size_t)z->d[0];
    return 0;
}

/* The class index in label, or -1 if it is not an integer in [0, k). */
static int64_t label_index(float label, int64_t k)
{
    if (!(label >= 0.0f && label < (float)k) || label != floorf(label))
        return -1;
    return (int64_t)label;
}

/* Rows of at most 16 classes (MNIST's 10) are one masked vector each: max,
 * exp, sum and scale without a scalar tail per row. The sum is in float here
 * (a tree of at most 16 terms in [0, 1], one of them 1). */
static bool softmax_rows16(const float *z, float *p, float *row_max, float *sums, int64_t bn, int64_t k)
{
#if defined(__AVX512F__)
    if (k > 16)
        return false;
    const __mmask16 km = (__mmask16)(k == 16 ? 0xffffu : (1u << k) - 1u);
    const __m512 minus_inf = _mm512_set1_ps(-__builtin_inff());
    for (int64_t s = 0; s < bn; s++) {
        __m512 v = _mm512_mask_loadu_ps(minus_inf, km, z + s * k);
        float mx = _mm512_reduce_max_ps(v);
        __m512 e = dlx_exp_nonpos16(_mm512_sub_ps(v, _mm512_set1_ps(mx))); /* masked lanes: 0 */
        float sum = _mm512_reduce_add_ps(e);
        _mm512_mask_storeu_ps(p + s * k, km, _mm512_mul_ps(e, _mm512_set1_ps(1.0f / sum)));
        row_max[s] = mx;
        sums[s] = sum;
    }
    return true;
#elif defined(__AVX2__) && defined(__FMA__)
    /* two vectors of 8 per row: the same operations as the AVX-512 path,
     * the max and the sum in the order of GCC's _mm512_reduce_max_ps and
     * _mm512_reduce_add_ps, so the same bits */
    if (k > 16)
        return false;
    const __m256 minus_inf = _mm256_set1_ps(-__builtin_inff());
    const __m256i ma = dlx_first8((int)k), mb = dlx_first8((int)k - 8);
    for (int64_t s = 0; s < bn; s++) {
        const float *zr = z + s * k;
        /* AMD's masked loads and stores cost about as much as the rest of
         * the row: while 16 floats from the row's start stay inside the
         * block, plain ones (the lanes past k come from the next row, set to
         * -inf here, and their stores are overwritten by the next row's) */
        const bool inside = s * k + 16 <= bn * k;
        __m256 a = inside ? _mm256_loadu_ps(zr) : _mm256_maskload_ps(zr, ma);
        __m256 b = inside ? _mm256_loadu_ps(zr + 8) : _mm256_maskload_ps(zr + 8, mb);
        a = _mm256_blendv_ps(minus_inf, a, _mm256_castsi256_ps(ma));
        b = _mm256_blendv_ps(minus_inf, b, _mm256_castsi256_ps(mb));
        __m256 m8 = _mm256_max_ps(b, a);
        __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m8, 1), _mm256_castps256_ps128(m8));
        __m128 m2 = _mm_max_ps(m4, _mm_shuffle_ps(m4, m4, _MM_SHUFFLE(1, 0, 3, 2)));
        __m128 m1 = _mm_max_ps(m2, _mm_shuffle_ps(m2, m2, _MM_SHUFFLE(0, 1, 0, 1)));
        float mx = _mm_cvtss_f32(m1);
        __m256 vmx = _mm256_set1_ps(mx);
        __m256 ea = dlx_exp_nonpos8(_mm256_sub_ps(a, vmx)), eb = dlx_exp_nonpos8(_mm256_sub_ps(b, vmx));
        __m256 s8 = _mm256_add_ps(eb, ea);
        __m128 s4 = _mm_add_ps(_mm256_extractf128_ps(s8, 1), _mm256_castps256_ps128(s8));
        __m128 s2 = _mm_add_ps(s4, _mm_shuffle_ps(s4, s4, _MM_SHUFFLE(1, 0, 3, 2)));
        float sum = _mm_cvtss_f32(s2) + _mm_cvtss_f32(_mm_shuffle_ps(s2, s2, _MM_SHUFFLE(1, 1, 1, 1)));
        __m256 inv = _mm256_set1_ps(1.0f / sum);
        if (inside) {
            _mm256_storeu_ps(p + s * k, _mm256_mul_ps(ea, inv));
            _mm256_storeu_ps(p + s * k + 8, _mm256_mul_ps(eb, inv));
        } else {
            _mm256_maskstore_ps(p + s * k, ma, _mm256_mul_ps(ea, inv));
            _mm256_maskstore_ps(p + s * k + 8, mb, _mm256_mul_ps(eb, inv));
        }
        row_max[s] = mx;
        sums[s] = sum;
    }
    return true;
#else
    (void)z, (void)p, (void)row_max, (void)sums, (void)bn, (void)k;
    return false;
#endif
}

static void softmax_xent_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_shape *zs = &n->in[0]->out.shape;
    int64_t bn = zs->d[0], k = zs->d[1];
    const float *z = n->in[0]->out.data, *y = n->in[1]->out.data;
    float *p = n->scratch, *row_max = n->scratch + bn * k, *sums = row_max + bn;
    if (!softmax_rows16(z, p, row_max, sums, bn, k)) {
        /* shift each row by its maximum, then one vectorised exp over the
         * whole block (arguments <= 0, so no overflow; core/vmath.h) */
        for (int64_t s = 0; s < bn; s++) {
            const float *zr = z + s * k;
            float *pr = p + s * k;
            float mx = zr[0];
            for (int64_t j = 1; j < k; j++)
                mx = zr[j] > mx ? zr[j] : mx;
            for (int64_t j = 0; j < k; j++)
                pr[j] = zr[j] - mx;
            row_max[s] = mx;
        }
        dlx_exp_nonpos_array(p, p, bn * k);
        for (int64_t s = 0; s < bn; s++) {
            float *pr = p + s * k;
            double sum = 0.0; /* in double: K may be large */
            for (int64_t j = 0; j < k; j++)
                sum += pr[j];
            float inv = (float)(1.0 / sum);
            for (int64_t j = 0; j < k; j++)
                pr[j] *= inv;
            sums[s] = (float)sum;
        }
    }
    /* the log of each row's sum (in [1, K]) in one vectorised pass; the loss
     * total in double */
    dlx_log_pos_array(sums, sums, bn);
    double total = 0.0;
    for (int64_t s = 0; s < bn; s++) {
        int64_t c = label_index(y[s], k);
        total += c < 0 ? NAN : (double)sums[s] - ((double)z[s * k + c] - (double)row_max[s]);
    }
    n->out.data[0] = (float)(total / (double)bn);
}

static void softmax_xent_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dz = n->in[0]->out.grad;
    if (!dz)
        return;
    const dlx_shape *zs = &n->in[0]->out.shape;
    int64_t bn = zs->d[0], k = zs->d[1];
    const float *y = n->in[1]->out.data, *p = n->scratch;
    float g = n->out.grad[0] / (float)bn;
#if defined(__AVX512F__)
    if (k <= 16) { /* one masked vector per row, as in forward */
        const __mmask16 km = (__mmask16)(k == 16 ? 0xffffu : (1u << k) - 1u);
        const __m512 gv = _mm512_set1_ps(g);
        for (int64_t s = 0; s < bn; s++) {
            int64_t c = label_index(y[s], k);
            if (c < 0)
                continue;
            __m512 d = _mm512_maskz_loadu_ps(km, dz + s * k);
            d = _mm512_fmadd_ps(gv, _mm512_maskz_loadu_ps(km, p + s * k), d);
            /* the one-hot term in the register: a scalar update after a masked
             * store would wait for the store */
            d = _mm512_mask_sub_ps(d, (__mmask16)(1u << c), d, gv);
            _mm512_mask_storeu_ps(dz + s * k, km, d);
        }
        return;
    }
#endif
    for (int64_t s = 0; s < bn; s++) {
        int64_t c = label_index(y[s], k);
        if (c < 0)
            continue;
        for (int64_t j = 0; j < k; j++) /* no branch in the loop: the one-hot term after it */
            dz[s * k + j] += g * p[s * k + j];
        dz[s * k + c] -= g;
    }
}

/* ---- gradient-check cases ---- */

static const dlx_op_example k_examples[] = {
    {.what = "softmax_xent (N, K)", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 5)}, {.role = DLX_EX_LABELS, .shape = DLX_SHAPE(4)}}, .classes = 5},
    {.what = "softmax_xent (N, K, 1, 1)", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 5, 1, 1)}, {.role = DLX_EX_LABELS, .shape = DLX_SHAPE(4)}}, .classes = 5},
    {.what = "softmax_xent large logits", .attr = NULL, .n_in = 2, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 6), .lo = 2.0f, .hi = 9.0f}, {.role = DLX_EX_LABELS, .shape = DLX_SHAPE(3)}}, .classes = 6},
};

/* ---- the R-operator (core/hvp.h), in double ----
 *   R{loss} = (1/N) sum_n (p_n . R{z_n} - R{z_n}[y_n])
 *   dz_n += g/N (p_n - e_y),  R{dz_n} += R{g}/N (p_n - e_y) + g/N p_n * (R{z_n} - p_n . R{z_n})
 * p = softmax(z) is kept in the node's scratch by a VALUE or BOTH pass. */

static void xent_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t N = n->in[0]->out.shape.d[0], k = n->in[0]->out.shape.d[1];
    double loss = 0.0, rloss = 0.0;
    for (int64_t s = 0; s < N; s++) {
        const double *z = in[0]->v + s * k;
        double *p = out->scratch + s * k;
        int64_t c = label_index((float)in[1]->v[s], k);
        if (mode != DLX_ROP_TANGENT) {
            double mx = z[0], sum = 0.0;
            for (int64_t j = 1; j < k; j++)
                mx = z[j] > mx ? z[j] : mx;
            for (int64_t j = 0; j < k; j++)
                sum += p[j] = exp(z[j] - mx);
            for (int64_t j = 0; j < k; j++)
                p[j] /= sum;
            loss += c < 0 ? NAN : mx + log(sum) - z[c];
        }
        if (mode != DLX_ROP_VALUE && c >= 0 && !in[0]->constant) {
            const double *rz = in[0]->r + s * k;
            double pr = 0.0;
            for (int64_t j = 0; j < k; j++)
                pr += p[j] * rz[j];
            rloss += pr - rz[c];
        }
    }
    if (mode != DLX_ROP_TANGENT)
        out->v[0] = loss / (double)N;
    if (mode != DLX_ROP_VALUE)
        out->r[0] = rloss / (double)N;
}

static void xent_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    if (!in[0]->g)
        return;
    const int64_t N = n->in[0]->out.shape.d[0], k = n->in[0]->out.shape.d[1];
    const double g = out->g[0] / (double)N, rg = out->rg[0] / (double)N;
    for (int64_t s = 0; s < N; s++) {
        int64_t c = label_index((float)in[1]->v[s], k);
        if (c < 0)
            continue;
        const double *p = out->scratch + s * k;
        if (mode != DLX_ROP_TANGENT) {
            double *dz = in[0]->g + s * k;
            for (int64_t j = 0; j < k; j++)
                dz[j] += g * (p[j] - (j == c));
        }
        if (mode == DLX_ROP_VALUE)
            continue;
        double *rdz = in[0]->rg + s * k;
        const double *rz = in[0]->r + s * k;
        double pr = 0.0;
        for (int64_t j = 0; j < k; j++)
            pr += p[j] * rz[j];
        for (int64_t j = 0; j < k; j++)
            rdz[j] += rg * (p[j] - (j == c)) + g * p[j] * (rz[j] - pr);
    }
}

static const dlx_op_rop k_rop = {xent_rop_forward, xent_rop_backward, NULL};

const dlx_op_vtbl dlx_op_softmax_xent = {
    .name = "softmax_xent",
    .n_in_min = 2,
    .n_in_max = 2,
    .attr_size = 0,
    .infer = softmax_xent_infer,
    .forward = softmax_xent_forward,
    .backward = softmax_xent_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
