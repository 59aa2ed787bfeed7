/* softmax_xent: loss = (1/N) sum_n -log softmax(z_n)[y_n].
 *
 * Shapes: logits z (N, K) or (N, K, 1, 1), labels y (N) holding class indices
 * as floats -> (1). Computed stably in double: log-sum-exp after subtracting
 * the row maximum. A label that is not an integer in [0, K) makes the loss NaN
 * (forward cannot fail; the training loop stops on a NaN loss) and that
 * sample gets no gradient.
 * Saved for backward: the probabilities p = softmax(z), N*K floats in scratch
 * (followed by N row maxima, used within forward).
 * dz = g * (p - onehot(y)) / N; the labels get no gradient.
 * Non-differentiable points: none.
 */
#include <math.h>

#include "../vmath.h"
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
    n->scratch_floats = (size_t)dlx_shape_numel(z) + (size_t)z->d[0]; /* p, then the row maxima */
    return 0;
}

/* The class index in label, or -1 if it is not an integer in [0, k). */
static int64_t label_index(float label, int64_t k)
{
    if (!(label >= 0.0f && label < (float)k) || label != floorf(label))
        return -1;
    return (int64_t)label;
}

static void softmax_xent_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_shape *zs = &n->in[0]->out.shape;
    int64_t bn = zs->d[0], k = zs->d[1];
    const float *z = n->in[0]->out.data, *y = n->in[1]->out.data;
    float *p = n->scratch, *row_max = n->scratch + bn * k;
    /* shift each row by its maximum, then one vectorised exp over the whole
     * block (arguments <= 0, so no overflow; core/vmath.h) */
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
    double total = 0.0;
    for (int64_t s = 0; s < bn; s++) {
        const float *zr = z + s * k;
        float *pr = p + s * k;
        /* the sum in double, its log in float (sum is in [1, K]); the loss
         * total in double */
        double sum = 0.0;
        for (int64_t j = 0; j < k; j++)
            sum += pr[j];
        double lse = (double)logf((float)sum);
        float inv = (float)(1.0 / sum);
        for (int64_t j = 0; j < k; j++)
            pr[j] *= inv;
        int64_t c = label_index(y[s], k);
        total += c < 0 ? NAN : lse - ((double)zr[c] - (double)row_max[s]);
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
    for (int64_t s = 0; s < bn; s++) {
        int64_t c = label_index(y[s], k);
        if (c < 0)
            continue;
        for (int64_t j = 0; j < k; j++) /* no branch in the loop: the one-hot term after it */
            dz[s * k + j] += g * p[s * k + j];
        dz[s * k + c] -= g;
    }
}

const dlx_op_vtbl dlx_op_softmax_xent = {
    .name = "softmax_xent",
    .n_in_min = 2,
    .n_in_max = 2,
    .attr_size = 0,
    .infer = softmax_xent_infer,
    .forward = softmax_xent_forward,
    .backward = softmax_xent_backward,
};
