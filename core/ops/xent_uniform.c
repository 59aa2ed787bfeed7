/* xent_uniform: the cross-entropy of softmax(z) against the uniform
 * distribution over the K classes, the "confusion" loss with which an
 * encoder hides a label from a latent adversary (Tzeng et al. 2015, domain
 * confusion; Lample et al. 2017, Fader networks): it is smallest, log K,
 * when every class is equally likely.
 *
 *   in: logits z (N, K) or (N, K, 1, 1) -> (1)
 *   loss = (1/N) sum_n (logsumexp(z_n) - (1/K) sum_k z_nk)
 *        = (1/N) sum_n -(1/K) sum_k log softmax(z_n)_k
 * Computed stably (each row shifted by its maximum), sums in double.
 * Backward: dz_n += g/N (p_n - 1/K), p = softmax(z).
 * Saved for backward: p (N K) in scratch.
 * Non-differentiable points: none.
 */
#include <math.h>

#include "ops.h"

static int xu_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *z = &n->in[0]->out.shape;
    char a[64];
    if (!(z->ndim == 2 || (z->ndim == 4 && z->d[2] == 1 && z->d[3] == 1)))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "xent_uniform takes logits [N, K] or [N, K, 1, 1], got %s",
                            dlx_shape_str(z, a, sizeof a));
    n->out.shape = dlx_shape_1d(1);
    n->scratch_floats = (size_t)dlx_shape_numel(z);
    return 0;
}

/* One row: p = softmax(z) into p; returns logsumexp(z) - mean(z). */
static double xu_row(const float *z, float *p, int64_t k)
{
    double mx = z[0], sum = 0.0, mean = 0.0;
    for (int64_t j = 1; j < k; j++)
        mx = z[j] > mx ? z[j] : mx;
    for (int64_t j = 0; j < k; j++) {
        double e = exp((double)z[j] - mx);
        p[j] = (float)e;
        sum += e;
        mean += z[j];
    }
    for (int64_t j = 0; j < k; j++)
        p[j] = (float)(p[j] / sum);
    return mx + log(sum) - mean / (double)k;
}

static void xu_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const int64_t N = n->in[0]->out.shape.d[0], k = n->in[0]->out.shape.d[1];
    double total = 0.0;
    for (int64_t s = 0; s < N; s++)
        total += xu_row(n->in[0]->out.data + s * k, n->scratch + s * k, k);
    n->out.data[0] = (float)(total / (double)N);
}

static void xu_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dz = n->in[0]->out.grad;
    if (!dz)
        return;
    const int64_t N = n->in[0]->out.shape.d[0], k = n->in[0]->out.shape.d[1];
    const float g = n->out.grad[0] / (float)N, u = 1.0f / (float)k;
    for (int64_t i = 0; i < N * k; i++)
        dz[i] += g * (n->scratch[i] - u);
}

/* ---- the R-operator (core/hvp.h), in double ----
 *   R{loss} = (1/N) sum_n (p_n . R{z_n} - mean(R{z_n}))
 *   R{dz_n} += R{g}/N (p_n - 1/K) + g/N p_n * (R{z_n} - p_n . R{z_n})
 * p is kept in the dual's scratch by a VALUE or BOTH pass. */
static void xu_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t N = n->in[0]->out.shape.d[0], k = n->in[0]->out.shape.d[1];
    double loss = 0.0, rloss = 0.0;
    for (int64_t s = 0; s < N; s++) {
        const double *z = in[0]->v + s * k;
        double *p = out->scratch + s * k;
        if (mode != DLX_ROP_TANGENT) {
            double mx = z[0], sum = 0.0, mean = 0.0;
            for (int64_t j = 1; j < k; j++)
                mx = z[j] > mx ? z[j] : mx;
            for (int64_t j = 0; j < k; j++) {
                sum += p[j] = exp(z[j] - mx);
                mean += z[j];
            }
            for (int64_t j = 0; j < k; j++)
                p[j] /= sum;
            loss += mx + log(sum) - mean / (double)k;
        }
        if (mode != DLX_ROP_VALUE && !in[0]->constant) {
            const double *rz = in[0]->r + s * k;
            for (int64_t j = 0; j < k; j++)
                rloss += (p[j] - 1.0 / (double)k) * rz[j];
        }
    }
    if (mode != DLX_ROP_TANGENT)
        out->v[0] = loss / (double)N;
    if (mode != DLX_ROP_VALUE)
        out->r[0] = rloss / (double)N;
}

static void xu_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    if (!in[0]->g)
        return;
    const int64_t N = n->in[0]->out.shape.d[0], k = n->in[0]->out.shape.d[1];
    const double g = out->g[0] / (double)N, rg = out->rg[0] / (double)N, u = 1.0 / (double)k;
    for (int64_t s = 0; s < N; s++) {
        const double *p = out->scratch + s * k;
        if (mode != DLX_ROP_TANGENT)
            for (int64_t j = 0; j < k; j++)
                in[0]->g[s * k + j] += g * (p[j] - u);
        if (mode == DLX_ROP_VALUE)
            continue;
        const double *rz = in[0]->r + s * k;
        double pr = 0.0;
        for (int64_t j = 0; j < k; j++)
            pr += p[j] * rz[j];
        for (int64_t j = 0; j < k; j++)
            in[0]->rg[s * k + j] += rg * (p[j] - u) + g * p[j] * (rz[j] - pr);
    }
}

static const dlx_op_rop k_rop = {xu_rop_forward, xu_rop_backward, NULL};

static const dlx_op_example k_examples[] = {
    {.what = "xent_uniform (N, K)", .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 5)}}},
    {.what = "xent_uniform (N, K, 1, 1)", .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 10, 1, 1)}}},
    {.what = "xent_uniform large logits", .n_in = 1,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 6), .lo = 2.0f, .hi = 9.0f}}},
};

const dlx_op_vtbl dlx_op_xent_uniform = {
    .name = "xent_uniform",
    .n_in_min = 1,
    .n_in_max = 1,
    .infer = xu_infer,
    .forward = xu_forward,
    .backward = xu_backward,
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
