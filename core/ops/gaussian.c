/* A diagonal Gaussian code, as a variational auto-encoder's encoder gives it:
 * h (N, 2Z) holds the mean mu = h[:, :Z] and the log-variance lv = h[:, Z:].
 *
 *   reparam    in: h (N, 2Z), eps (N, Z) -> z (N, Z)
 *              z = mu + exp(lv / 2) eps      (the reparameterisation trick:
 *              eps ~ N(0, 1) is data the caller draws, so z is a
 *              differentiable function of h)
 *              dmu += dz;  dlv += dz eps exp(lv / 2) / 2;  eps gets none
 *   kl_normal  in: h (N, 2Z) -> (1)
 *              KL(N(mu, e^lv) || N(0, 1)) summed over the Z units, the mean
 *              over the N samples: (1/N) sum 0.5 (mu^2 + e^lv - 1 - lv)
 *              dmu += g mu / N;  dlv += g 0.5 (e^lv - 1) / N
 *
 * Sums in double. Saved for backward: nothing (recomputed from h and eps).
 * Non-differentiable points: none. A log-variance so large that e^lv
 * overflows gives an infinite loss, which the trainer's NaN guard stops on.
 */
#include <math.h>

#include "ops.h"

static int check_code(const dlx_node *n, const dlx_shape *h, dlx_err *err)
{
    char b[64];
    if (h->ndim != 2 || h->d[1] < 2 || h->d[1] % 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc,
                            "%s: the code must be (N, 2Z), the means then the log-variances, got %s", n->op->name,
                            dlx_shape_str(h, b, sizeof b));
    return 0;
}

static int reparam_infer(dlx_node *n, dlx_err *err)
{
    const dlx_shape *h = &n->in[0]->out.shape, *e = &n->in[1]->out.shape;
    int rc = check_code(n, h, err);
    if (rc)
        return rc;
    if (e->ndim != 2 || e->d[0] != h->d[0] || e->d[1] != h->d[1] / 2) {
        char b0[64], b1[64];
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "reparam: the noise must be (N, Z) = (%lld, %lld) for a code %s, got %s",
                            (long long)h->d[0], (long long)(h->d[1] / 2), dlx_shape_str(h, b0, sizeof b0),
                            dlx_shape_str(e, b1, sizeof b1));
    }
    n->out.shape = *e;
    return 0;
}

static void reparam_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const int64_t N = n->out.shape.d[0], Z = n->out.shape.d[1];
    const float *h = n->in[0]->out.data, *eps = n->in[1]->out.data;
    float *z = n->out.data;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < Z; j++)
            z[i * Z + j] = h[i * 2 * Z + j] + expf(0.5f * h[i * 2 * Z + Z + j]) * eps[i * Z + j];
}

static void reparam_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dh = n->in[0]->out.grad;
    if (!dh)
        return;
    const int64_t N = n->out.shape.d[0], Z = n->out.shape.d[1];
    const float *h = n->in[0]->out.data, *eps = n->in[1]->out.data, *dz = n->out.grad;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < Z; j++) {
            const float g = dz[i * Z + j];
            dh[i * 2 * Z + j] += g;
            dh[i * 2 * Z + Z + j] += g * eps[i * Z + j] * 0.5f * expf(0.5f * h[i * 2 * Z + Z + j]);
        }
}

static int kl_infer(dlx_node *n, dlx_err *err)
{
    int rc = check_code(n, &n->in[0]->out.shape, err);
    if (!rc)
        n->out.shape = dlx_shape_1d(1);
    return rc;
}

static void kl_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_shape *s = &n->in[0]->out.shape;
    const int64_t N = s->d[0], Z = s->d[1] / 2;
    const float *h = n->in[0]->out.data;
    double sum = 0.0;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < Z; j++) {
            const double mu = h[i * 2 * Z + j], lv = h[i * 2 * Z + Z + j];
            sum += 0.5 * (mu * mu + exp(lv) - 1.0 - lv);
        }
    n->out.data[0] = (float)(sum / (double)N);
}

static void kl_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    float *dh = n->in[0]->out.grad;
    if (!dh)
        return;
    const dlx_shape *s = &n->in[0]->out.shape;
    const int64_t N = s->d[0], Z = s->d[1] / 2;
    const float *h = n->in[0]->out.data;
    const float g = n->out.grad[0] / (float)N;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < Z; j++) {
            dh[i * 2 * Z + j] += g * h[i * 2 * Z + j];
            dh[i * 2 * Z + Z + j] += g * 0.5f * (expf(h[i * 2 * Z + Z + j]) - 1.0f);
        }
}

/* ---- the R-operators (core/hvp.h), in double; e = exp(lv / 2) ----
 * reparam:   R{z} = R{mu} + e eps R{lv} / 2 + e R{eps}
 *            R{dmu} += R{dz};  R{dlv} += (R{dz} eps + dz R{eps} + dz eps R{lv} / 2) e / 2
 * kl_normal: R{L} = (1/N) sum mu R{mu} + (e^lv - 1) R{lv} / 2
 *            R{dmu} += (R{g} mu + g R{mu}) / N
 *            R{dlv} += (R{g} (e^lv - 1) + g e^lv R{lv}) / (2 N)
 * (eps gets no gradient, as in backward). */

static void reparam_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t N = n->out.shape.d[0], Z = n->out.shape.d[1];
    const dlx_dual *h = in[0], *eps = in[1];
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < Z; j++) {
            const int64_t m = i * 2 * Z + j, l = m + Z, o = i * Z + j;
            const double e = exp(0.5 * h->v[l]);
            if (mode != DLX_ROP_TANGENT)
                out->v[o] = h->v[m] + e * eps->v[o];
            if (mode != DLX_ROP_VALUE)
                out->r[o] = h->r[m] + e * (0.5 * eps->v[o] * h->r[l] + eps->r[o]);
        }
}

static void reparam_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *h = in[0], *eps = in[1];
    if (!h->g)
        return;
    const int64_t N = n->out.shape.d[0], Z = n->out.shape.d[1];
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < Z; j++) {
            const int64_t m = i * 2 * Z + j, l = m + Z, o = i * Z + j;
            const double e = exp(0.5 * h->v[l]), dz = out->g[o];
            if (mode != DLX_ROP_TANGENT) {
                h->g[m] += dz;
                h->g[l] += dz * eps->v[o] * 0.5 * e;
            }
            if (mode != DLX_ROP_VALUE) {
                h->rg[m] += out->rg[o];
                h->rg[l] += (out->rg[o] * eps->v[o] + dz * eps->r[o] + dz * eps->v[o] * 0.5 * h->r[l]) * 0.5 * e;
            }
        }
}

static void kl_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const int64_t N = n->in[0]->out.shape.d[0], Z = n->in[0]->out.shape.d[1] / 2;
    const dlx_dual *h = in[0];
    double sum = 0.0, rsum = 0.0;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < Z; j++) {
            const double mu = h->v[i * 2 * Z + j], lv = h->v[i * 2 * Z + Z + j];
            sum += 0.5 * (mu * mu + exp(lv) - 1.0 - lv);
            rsum += mu * h->r[i * 2 * Z + j] + 0.5 * (exp(lv) - 1.0) * h->r[i * 2 * Z + Z + j];
        }
    if (mode != DLX_ROP_TANGENT)
        out->v[0] = sum / (double)N;
    if (mode != DLX_ROP_VALUE)
        out->r[0] = rsum / (double)N;
}

static void kl_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_dual *h = in[0];
    if (!h->g)
        return;
    const int64_t N = n->in[0]->out.shape.d[0], Z = n->in[0]->out.shape.d[1] / 2;
    const double g = out->g[0] / (double)N, rg = out->rg[0] / (double)N;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < Z; j++) {
            const int64_t m = i * 2 * Z + j, l = m + Z;
            const double el = exp(h->v[l]);
            if (mode != DLX_ROP_TANGENT) {
                h->g[m] += g * h->v[m];
                h->g[l] += g * 0.5 * (el - 1.0);
            }
            if (mode != DLX_ROP_VALUE) {
                h->rg[m] += rg * h->v[m] + g * h->r[m];
                h->rg[l] += 0.5 * (rg * (el - 1.0) + g * el * h->r[l]);
            }
        }
}

static const dlx_op_rop k_reparam_rop = {reparam_rop_forward, reparam_rop_backward, NULL};
static const dlx_op_rop k_kl_rop = {kl_rop_forward, kl_rop_backward, NULL};

/* ---- gradient-check cases ---- */

static const dlx_op_example k_reparam_examples[] = {
    {.what = "reparam 3x(2x4)", .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 8), .lo = 0.05f, .hi = 1.5f},
            {.role = DLX_EX_DATA, .shape = DLX_SHAPE(3, 4), .lo = 0.1f, .hi = 2.0f}}},
    {.what = "reparam 1x(2x1)", .n_in = 2,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(1, 2)}, {.role = DLX_EX_DATA, .shape = DLX_SHAPE(1, 1)}}},
};

static const dlx_op_example k_kl_examples[] = {
    {.what = "kl_normal 4x(2x3)", .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(4, 6), .lo = 0.05f, .hi = 2.0f}}},
    {.what = "kl_normal 2x(2x5)", .n_in = 1, .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(2, 10)}}},
};

const dlx_op_vtbl dlx_op_reparam = {
    .name = "reparam",
    .n_in_min = 2,
    .n_in_max = 2,
    .infer = reparam_infer,
    .forward = reparam_forward,
    .backward = reparam_backward,
    .examples = k_reparam_examples,
    .n_examples = (int)(sizeof k_reparam_examples / sizeof k_reparam_examples[0]),
    .rop = &k_reparam_rop,
};

const dlx_op_vtbl dlx_op_kl_normal = {
    .name = "kl_normal",
    .n_in_min = 1,
    .n_in_max = 1,
    .infer = kl_infer,
    .forward = kl_forward,
    .backward = kl_backward,
    .examples = k_kl_examples,
    .n_examples = (int)(sizeof k_kl_examples / sizeof k_kl_examples[0]),
    .rop = &k_kl_rop,
};
