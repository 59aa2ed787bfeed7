/* batchnorm: batch normalisation (Ioffe & Szegedy 2015), PyTorch's BatchNorm1d/2d.
 *
 *   in:  x (N, C) or (N, C, ...) (C channels, S = product of the trailing dims),
 *        gamma (C), beta (C), running_mean (C) and running_var (C), the last
 *        two buffer nodes (no gradient)
 *   out: y, the shape of x:  y = gamma_c (x - mu_c) / sqrt(var_c + eps) + beta_c
 *
 * Training (ctx->training): mu_c and var_c are the batch mean and biased
 * variance of channel c over its M = N S values (sums in double, two passes).
 * With ctx->update_stats, the running statistics follow PyTorch:
 *   running_mean = (1 - momentum) running_mean + momentum mu
 *   running_var  = (1 - momentum) running_var  + momentum var M / (M - 1)
 * (the unbiased variance; for M = 1 the biased one, 0, where PyTorch refuses).
 * Evaluation: mu, var are the running statistics; the op is affine in x.
 * Replicas: the trainer (train/replica.c) splits a batch into train.shards
 * micro-batches, each normalised by its own statistics; only replica 0 has
 * update_stats, so the running statistics are replica 0's micro-batch's,
 * whatever the thread count (as DataParallel keeps device 0's buffers).
 *
 * Backward, xh = (x - mu) istd, istd = 1 / sqrt(var + eps), sums over the
 * channel's M values in double:
 *   dgamma_c += sum dy xh,  dbeta_c += sum dy
 *   training:   dx += gamma istd (dy - sum dy / M - xh sum(dy xh) / M)
 *   evaluation: dx += gamma istd dy
 * Saved for backward: mu_c and istd_c (scratch, 2 C floats); after them, in
 * training, mu_c and the unbiased variance as doubles (4 C floats), from
 * which restate folds the same batch into the running statistics again
 * when a forward reuses the output (core/graph.h: dlx_graph_reuse_enable).
 * Non-differentiable points: none (eps > 0). Channels are independent: over
 * the op's threads, each channel's arithmetic is the same on any count.
 */
#include <math.h>
#include <string.h>

#include "../layer_build.h"
#include "ops.h"

/* Elements from which forward and backward share the channels among the
 * op's threads (below it, starting them costs more than they save). */
#define BN_PARALLEL_MIN (1 << 15)

typedef struct bn_dims {
    int64_t N, C, S, M; /* batch, channels, values per (sample, channel), N S */
} bn_dims;

static bn_dims dims_of(const dlx_node *n)
{
    const dlx_shape *s = &n->in[0]->out.shape;
    bn_dims d = {.N = s->d[0], .C = s->d[1], .S = 1};
    for (int i = 2; i < s->ndim; i++)
        d.S *= s->d[i];
    d.M = d.N * d.S;
    return d;
}

static int batchnorm_infer(dlx_node *n, dlx_err *err)
{
    const dlx_batchnorm_attr *a = n->attr;
    const dlx_shape *xs = &n->in[0]->out.shape;
    char buf[64];
    if (!(a->eps > 0.0f && isfinite(a->eps)))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "eps must be finite and > 0, got %g", (double)a->eps);
    if (!(a->momentum >= 0.0f && a->momentum <= 1.0f))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "momentum must be in [0, 1], got %g", (double)a->momentum);
    if (xs->ndim < 2)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "expected an input (N, C) or (N, C, H, W), got %s",
                            dlx_shape_str(xs, buf, sizeof buf));
    int64_t C = xs->d[1], M = xs->d[0];
    for (int i = 2; i < xs->ndim; i++)
        if (!dlx_mul_i64(M, xs->d[i], &M))
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "input %s is too large", dlx_shape_str(xs, buf, sizeof buf));
    if (C <= 0 || M <= 0)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "empty input %s", dlx_shape_str(xs, buf, sizeof buf));
    static const char *const what[] = {"gamma", "beta", "running_mean", "running_var"};
    for (int i = 1; i < 5; i++) {
        const dlx_shape *s = &n->in[i]->out.shape;
        if (s->ndim != 1 || s->d[0] != C)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s must have shape [%lld] (the channels), got %s",
                                what[i - 1], (long long)C, dlx_shape_str(s, buf, sizeof buf));
    }
    /* the running statistics are state the op writes: a buffer, never data */
    for (int i = 3; i < 5; i++)
        if (n->in[i]->kind != DLX_NODE_BUFFER)
            return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s must be a buffer node (dlx_graph_buffer)", what[i - 1]);
    n->out.shape = *xs;
    int64_t sf;
    if (!dlx_mul_i64(C, 6, &sf))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "too many channels (%lld)", (long long)C);
    n->scratch_floats = (size_t)sf;
    return 0;
}

static int bn_threads(const dlx_node *n, const dlx_ctx *ctx, int64_t C)
{
    int t = ctx && ctx->threads > 1 ? ctx->threads : 1;
    if (n->out.numel < BN_PARALLEL_MIN)
        return 1;
    return t < C ? t : (int)C;
}

/* Sums over one row of a channel in double, in 8 running sums combined at
 * the end: a fixed order (the same bits on any thread count) that the
 * compiler can vectorise, unlike one chain of dependent adds. */
#define BN_LANES 8

static double combine(const double *a)
{
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* sum x */
static double row_sum(const float *x, int64_t n)
{
    double a[BN_LANES] = {0};
    int64_t j = 0;
    for (; j + BN_LANES <= n; j += BN_LANES)
        for (int k = 0; k < BN_LANES; k++)
            a[k] += x[j + k];
    for (; j < n; j++)
        a[j % BN_LANES] += x[j];
    return combine(a);
}

/* sum (x - mu)^2 */
static double row_sumsq(const float *x, int64_t n, double mu)
{
    double a[BN_LANES] = {0};
    int64_t j = 0;
    for (; j + BN_LANES <= n; j += BN_LANES)
        for (int k = 0; k < BN_LANES; k++) {
            double t = (double)x[j + k] - mu;
            a[k] += t * t;
        }
    for (; j < n; j++) {
        double t = (double)x[j] - mu;
        a[j % BN_LANES] += t * t;
    }
    return combine(a);
}

/* sum dy and sum dy (x - mu) */
static void row_grad_sums(const float *dy, const float *x, int64_t n, double mu, double *sdy, double *sdyx)
{
    double a[BN_LANES] = {0}, b[BN_LANES] = {0};
    int64_t j = 0;
    for (; j + BN_LANES <= n; j += BN_LANES)
        for (int k = 0; k < BN_LANES; k++) {
            a[k] += dy[j + k];
            b[k] += (double)dy[j + k] * ((double)x[j + k] - mu);
        }
    for (; j < n; j++) {
        a[j % BN_LANES] += dy[j];
        b[j % BN_LANES] += (double)dy[j] * ((double)x[j] - mu);
    }
    *sdy += combine(a);
    *sdyx += combine(b);
}

/* The same sums over channel c's M values: its N rows of S, or, for an
 * (N, C) input, N values C apart (rows of 1 would spend more on the running
 * sums than on the values). */
static double chan_sum(const float *x, const bn_dims *d, int64_t c)
{
    double s = 0.0;
    if (d->S == 1)
        for (int64_t i = 0; i < d->N; i++)
            s += x[i * d->C + c];
    else
        for (int64_t i = 0; i < d->N; i++)
            s += row_sum(x + (i * d->C + c) * d->S, d->S);
    return s;
}

static double chan_sumsq(const float *x, const bn_dims *d, int64_t c, double mu)
{
    double s = 0.0;
    if (d->S == 1)
        for (int64_t i = 0; i < d->N; i++) {
            double t = (double)x[i * d->C + c] - mu;
            s += t * t;
        }
    else
        for (int64_t i = 0; i < d->N; i++)
            s += row_sumsq(x + (i * d->C + c) * d->S, d->S, mu);
    return s;
}

static void chan_grad_sums(const float *dy, const float *x, const bn_dims *d, int64_t c, double mu, double *sdy,
                           double *sdyx)
{
    if (d->S == 1)
        for (int64_t i = 0; i < d->N; i++) {
            const int64_t o = i * d->C + c;
            *sdy += dy[o];
            *sdyx += (double)dy[o] * ((double)x[o] - mu);
        }
    else
        for (int64_t i = 0; i < d->N; i++) {
            const int64_t o = (i * d->C + c) * d->S;
            row_grad_sums(dy + o, x + o, d->S, mu, sdy, sdyx);
        }
}

/* The running statistics of channel c take in a batch's mean and unbiased
 * variance; one copy of the code (not inlined) for the forward and restate,
 * so both round alike. */
__attribute__((noinline)) static void fold_running(float *rmean, float *rvar, double m, double mu, double unbiased)
{
    *rmean = (float)((1.0 - m) * *rmean + m * mu);
    *rvar = (float)((1.0 - m) * *rvar + m * unbiased);
}

/* Channel c's statistics from its batch sum of squares ss about mu (training;
 * with update_stats also the running statistics) or the running ones (eval):
 * saves mu and istd for backward, gives y = (x - mu) k + b as floats. */
static void channel_stats(dlx_node *n, const dlx_ctx *ctx, const bn_dims *d, int64_t c, double mu, double ss,
                          float *muf, float *kf, float *bf)
{
    const dlx_batchnorm_attr *a = n->attr;
    float *rmean = n->in[3]->out.data, *rvar = n->in[4]->out.data;
    double var;
    if (ctx->training) {
        var = ss / (double)d->M;
        const double unbiased = d->M > 1 ? ss / (double)(d->M - 1) : var, keep[2] = {mu, unbiased};
        memcpy(n->scratch + 2 * d->C + 4 * c, keep, sizeof keep); /* (doubles at any float offset) */
        if (ctx->update_stats)
            fold_running(&rmean[c], &rvar[c], a->momentum, mu, unbiased);
    } else {
        mu = rmean[c];
        var = rvar[c];
    }
    double istd = 1.0 / sqrt(var + (double)a->eps);
    n->scratch[c] = (float)mu;
    n->scratch[d->C + c] = (float)istd;
    /* y = (x - mu) k + beta, k = gamma istd. Not PyTorch's k x + (beta - k mu):
     * x - mu is exact for x near mu, where k x and k mu would cancel (a batch of
     * mean 100 and std 0.01 would lose 3 digits of y). */
    *muf = (float)mu;
    *kf = (float)(n->in[1]->out.data[c] * istd);
    *bf = n->in[2]->out.data[c];
}

/* Channel c: its statistics, the output. */
static void forward_channel(dlx_node *n, const dlx_ctx *ctx, const bn_dims *d, int64_t c)
{
    const float *x = n->in[0]->out.data;
    float *y = n->out.data;
    double mu = 0.0, ss = 0.0;
    if (ctx->training) { /* two passes: no cancellation in E[x^2] - E[x]^2 */
        mu = chan_sum(x, d, c) / (double)d->M;
        ss = chan_sumsq(x, d, c, mu);
    }
    float muf, kf, bf;
    channel_stats(n, ctx, d, c, mu, ss, &muf, &kf, &bf);
    for (int64_t i = 0; i < d->N; i++) {
        const float *xr = x + (i * d->C + c) * d->S;
        float *yr = y + (i * d->C + c) * d->S;
        for (int64_t j = 0; j < d->S; j++)
            yr[j] = (xr[j] - muf) * kf + bf;
    }
}

/* An (N, C) input (S = 1) is done a block of BN_BLOCK channels at a time,
 * row by row: each channel's sums still run over i = 0..N-1 in order (the
 * same bits as forward_channel), but the loads are contiguous and the adds
 * of the block's channels vectorise (a channel's values are C apart). */
#define BN_BLOCK 128

static void forward_block(dlx_node *n, const dlx_ctx *ctx, const bn_dims *d, int64_t c0, int64_t cb)
{
    const int64_t N = d->N, C = d->C;
    const float *x = n->in[0]->out.data + c0;
    float *y = n->out.data + c0;
    double mu[BN_BLOCK], ss[BN_BLOCK];
    float muf[BN_BLOCK], kf[BN_BLOCK], bf[BN_BLOCK];
    for (int64_t j = 0; j < cb; j++)
        mu[j] = ss[j] = 0.0;
    if (ctx->training) {
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < cb; j++)
                mu[j] += x[i * C + j];
        for (int64_t j = 0; j < cb; j++)
            mu[j] /= (double)d->M;
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < cb; j++) {
                double t = (double)x[i * C + j] - mu[j];
                ss[j] += t * t;
            }
    }
    for (int64_t j = 0; j < cb; j++)
        channel_stats(n, ctx, d, c0 + j, mu[j], ss[j], &muf[j], &kf[j], &bf[j]);
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < cb; j++)
            y[i * C + j] = (x[i * C + j] - muf[j]) * kf[j] + bf[j];
}

/* Thread t's channels: whole blocks, so a block never straddles threads. */
static void thread_range(const bn_dims *d, int t, int threads, int64_t *c0, int64_t *c1)
{
    const int64_t unit = d->S == 1 ? BN_BLOCK : 1, units = (d->C + unit - 1) / unit;
    int64_t u0 = units * t / threads, u1 = units * (t + 1) / threads;
    *c0 = u0 * unit < d->C ? u0 * unit : d->C;
    *c1 = u1 * unit < d->C ? u1 * unit : d->C;
}

static void backward_channel(dlx_node *n, const dlx_ctx *ctx, const bn_dims *d, int64_t c)
{
    const float *x = n->in[0]->out.data, *gamma = n->in[1]->out.data, *dy = n->out.grad;
    float *dx = n->in[0]->out.grad, *dgamma = n->in[1]->out.grad, *dbeta = n->in[2]->out.grad;
    const float muf = n->scratch[c];
    const double mu = muf, istd = n->scratch[d->C + c];
    double sdy = 0.0, sdyx = 0.0;
    chan_grad_sums(dy, x, d, c, mu, &sdy, &sdyx);
    const double sdyxh = sdyx * istd; /* sum dy xh */
    if (dgamma)
        dgamma[c] += (float)sdyxh;
    if (dbeta)
        dbeta[c] += (float)sdy;
    if (!dx)
        return;
    /* dx = k (dy - mean dy) - k istd mean(dy xh) (x - mu), k = gamma istd;
     * training only: in eval the statistics are constants */
    const double k = gamma[c] * istd, inv_m = 1.0 / (double)d->M;
    const float kf = (float)k;
    const float mdy = ctx->training ? (float)(sdy * inv_m) : 0.0f;
    const float cx = ctx->training ? (float)(k * istd * sdyxh * inv_m) : 0.0f;
    for (int64_t i = 0; i < d->N; i++) {
        const int64_t o = (i * d->C + c) * d->S;
        for (int64_t j = 0; j < d->S; j++)
            dx[o + j] += kf * (dy[o + j] - mdy) - cx * (x[o + j] - muf);
    }
}

/* backward_channel for a block of an (N, C) input, row by row (same bits). */
static void backward_block(dlx_node *n, const dlx_ctx *ctx, const bn_dims *d, int64_t c0, int64_t cb)
{
    const int64_t N = d->N, C = d->C;
    const float *x = n->in[0]->out.data + c0, *gamma = n->in[1]->out.data, *dy = n->out.grad + c0;
    float *dx = n->in[0]->out.grad, *dgamma = n->in[1]->out.grad, *dbeta = n->in[2]->out.grad;
    double mu[BN_BLOCK], sdy[BN_BLOCK], sdyx[BN_BLOCK];
    float muf[BN_BLOCK], kf[BN_BLOCK], mdy[BN_BLOCK], cx[BN_BLOCK];
    for (int64_t j = 0; j < cb; j++) {
        muf[j] = n->scratch[c0 + j];
        mu[j] = muf[j];
        sdy[j] = sdyx[j] = 0.0;
    }
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < cb; j++) {
            const float g = dy[i * C + j];
            sdy[j] += g;
            sdyx[j] += (double)g * ((double)x[i * C + j] - mu[j]);
        }
    const double inv_m = 1.0 / (double)d->M;
    for (int64_t j = 0; j < cb; j++) {
        const int64_t c = c0 + j;
        const double istd = n->scratch[C + c], sdyxh = sdyx[j] * istd, k = gamma[c] * istd;
        if (dgamma)
            dgamma[c] += (float)sdyxh;
        if (dbeta)
            dbeta[c] += (float)sdy[j];
        kf[j] = (float)k;
        mdy[j] = ctx->training ? (float)(sdy[j] * inv_m) : 0.0f;
        cx[j] = ctx->training ? (float)(k * istd * sdyxh * inv_m) : 0.0f;
    }
    if (!dx)
        return;
    dx += c0;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < cb; j++)
            dx[i * C + j] += kf[j] * (dy[i * C + j] - mdy[j]) - cx[j] * (x[i * C + j] - muf[j]);
}

/* Channels [c0, c1) of the op, forward or backward, by channel or by block
 * (S = 1). */
static void run_range(dlx_node *n, const dlx_ctx *ctx, const bn_dims *d, int64_t c0, int64_t c1, bool backward)
{
    if (d->S == 1)
        for (int64_t c = c0; c < c1; c += BN_BLOCK) {
            const int64_t cb = c1 - c < BN_BLOCK ? c1 - c : BN_BLOCK;
            if (backward)
                backward_block(n, ctx, d, c, cb);
            else
                forward_block(n, ctx, d, c, cb);
        }
    else
        for (int64_t c = c0; c < c1; c++) {
            if (backward)
                backward_channel(n, ctx, d, c);
            else
                forward_channel(n, ctx, d, c);
        }
}

static void run_channels(dlx_node *n, const dlx_ctx *ctx, bool backward)
{
    const bn_dims d = dims_of(n);
    const int threads = bn_threads(n, ctx, d.C);
    if (threads > 1) {
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int t = 0; t < threads; t++) {
            int64_t c0, c1;
            thread_range(&d, t, threads, &c0, &c1);
            run_range(n, ctx, &d, c0, c1, backward);
        }
    } else {
        run_range(n, ctx, &d, 0, d.C, backward);
    }
}

static void batchnorm_forward(dlx_node *n, const dlx_ctx *ctx)
{
    run_channels(n, ctx, false);
}

static void batchnorm_backward(dlx_node *n, const dlx_ctx *ctx)
{
    run_channels(n, ctx, true);
}

/* The running statistics as the last training forward moved them, again. */
static void batchnorm_restate(dlx_node *n, const dlx_ctx *ctx)
{
    if (!ctx->training || !ctx->update_stats)
        return;
    const dlx_batchnorm_attr *a = n->attr;
    const int64_t C = n->in[0]->out.shape.d[1];
    float *rmean = n->in[3]->out.data, *rvar = n->in[4]->out.data;
    for (int64_t c = 0; c < C; c++) {
        double keep[2];
        memcpy(keep, n->scratch + 2 * C + 4 * c, sizeof keep);
        fold_running(&rmean[c], &rvar[c], a->momentum, keep[0], keep[1]);
    }
}

/* The naive reference: every channel by itself (strided for (N, C)). */
static void batchnorm_reference(dlx_node *n, const dlx_ctx *ctx)
{
    const bn_dims d = dims_of(n);
    for (int64_t c = 0; c < d.C; c++)
        forward_channel(n, ctx, &d, c);
}

/* ---- the R-operator (core/hvp.h), in double, per channel; xh = (x - mu)
 * istd, dxh = gamma dy, means over the channel's M values ----
 * training (mu, var the batch's, functions of x):
 *   R{mu} = mean R{x},  R{var} = 2 mean (x - mu) R{x},  R{istd} = -istd^3 R{var} / 2
 *   R{xh} = (R{x} - R{mu}) istd + (x - mu) R{istd}
 *   dx = istd (dxh - A - xh B),  A = mean dxh,  B = mean dxh xh
 *   R{dx} = R{istd} (dxh - A - xh B) + istd (R{dxh} - R{A} - R{xh} B - xh R{B})
 * evaluation (the running statistics, constants): R{mu} = R{istd} = 0,
 *   A = B = 0: dx = istd dxh, R{dx} = istd R{dxh}
 * both: R{y} = R{gamma} xh + gamma R{xh} + R{beta};  R{dxh} = gamma R{dy} + R{gamma} dy
 *   R{dgamma} += sum R{dy} xh + dy R{xh},  R{dbeta} += sum R{dy}
 * Scratch: mu, istd, R{mu}, R{istd} per channel (the mode is the dual's
 * context's, as the float forward's). */

static int64_t bn_rop_scratch(const dlx_node *n)
{
    return 4 * n->in[0]->out.shape.d[1];
}

/* Channel c's element k (0 <= k < M) in the tensor */
static int64_t bn_at(const bn_dims *d, int64_t c, int64_t k)
{
    return ((k / d->S) * d->C + c) * d->S + k % d->S;
}

typedef struct bn_chan {
    double mu, istd, rmu, ristd;
} bn_chan;

/* Channel c's statistics: mu and istd when mode computes values (else those
 * kept), their tangents when it computes tangents; kept in scratch. */
static bn_chan bn_rop_stats(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, const bn_dims *d, int64_t c,
                            dlx_rop_mode mode)
{
    const dlx_batchnorm_attr *a = n->attr;
    const bool train = out->ctx->training;
    const dlx_dual *x = in[0];
    double *keep = out->scratch;
    bn_chan s = {keep[c], keep[d->C + c], 0.0, 0.0};
    if (mode != DLX_ROP_TANGENT) {
        double var;
        if (train) {
            s.mu = 0.0;
            for (int64_t k = 0; k < d->M; k++)
                s.mu += x->v[bn_at(d, c, k)];
            s.mu /= (double)d->M;
            double ss = 0.0;
            for (int64_t k = 0; k < d->M; k++) {
                const double t = x->v[bn_at(d, c, k)] - s.mu;
                ss += t * t;
            }
            var = ss / (double)d->M;
        } else {
            s.mu = in[3]->v[c];
            var = in[4]->v[c];
        }
        s.istd = 1.0 / sqrt(var + (double)a->eps);
        keep[c] = s.mu;
        keep[d->C + c] = s.istd;
    }
    if (mode != DLX_ROP_VALUE && train) {
        double rv = 0.0;
        for (int64_t k = 0; k < d->M; k++) {
            const int64_t e = bn_at(d, c, k);
            s.rmu += x->r[e];
            rv += (x->v[e] - s.mu) * x->r[e];
        }
        s.rmu /= (double)d->M;
        s.ristd = -0.5 * s.istd * s.istd * s.istd * (2.0 * rv / (double)d->M);
    }
    keep[2 * d->C + c] = s.rmu;
    keep[3 * d->C + c] = s.ristd;
    return s;
}

static void bn_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const bn_dims d = dims_of(n);
    const dlx_dual *x = in[0], *gamma = in[1], *beta = in[2];
    for (int64_t c = 0; c < d.C; c++) {
        const bn_chan s = bn_rop_stats(n, in, out, &d, c, mode);
        for (int64_t k = 0; k < d.M; k++) {
            const int64_t e = bn_at(&d, c, k);
            const double xh = (x->v[e] - s.mu) * s.istd;
            if (mode != DLX_ROP_TANGENT)
                out->v[e] = gamma->v[c] * xh + beta->v[c];
            if (mode != DLX_ROP_VALUE) {
                const double rxh = (x->r[e] - s.rmu) * s.istd + (x->v[e] - s.mu) * s.ristd;
                out->r[e] = gamma->r[c] * xh + gamma->v[c] * rxh + beta->r[c];
            }
        }
    }
}

static void bn_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const bn_dims d = dims_of(n);
    const dlx_dual *x = in[0], *gamma = in[1], *beta = in[2];
    const bool train = out->ctx->training;
    const double *keep = out->scratch;
    for (int64_t c = 0; c < d.C; c++) {
        const bn_chan s = {keep[c], keep[d.C + c], keep[2 * d.C + c], keep[3 * d.C + c]};
        const double gm = gamma->v[c], rgm = gamma->r[c];
        double A = 0.0, B = 0.0, rA = 0.0, rB = 0.0, sg = 0.0, srg = 0.0, gg = 0.0, rgg = 0.0;
        for (int64_t k = 0; k < d.M; k++) {
            const int64_t e = bn_at(&d, c, k);
            const double xh = (x->v[e] - s.mu) * s.istd, rxh = (x->r[e] - s.rmu) * s.istd + (x->v[e] - s.mu) * s.ristd;
            const double dxh = gm * out->g[e], rdxh = gm * out->rg[e] + rgm * out->g[e];
            A += dxh, B += dxh * xh, rA += rdxh, rB += rdxh * xh + dxh * rxh;
            sg += out->g[e], srg += out->rg[e];
            gg += out->g[e] * xh, rgg += out->rg[e] * xh + out->g[e] * rxh;
        }
        const double im = 1.0 / (double)d.M;
        A *= im, B *= im, rA *= im, rB *= im;
        if (!train)
            A = B = rA = rB = 0.0;
        if (mode != DLX_ROP_TANGENT) {
            if (gamma->g) gamma->g[c] += gg;
            if (beta->g) beta->g[c] += sg;
        }
        if (mode != DLX_ROP_VALUE) {
            if (gamma->rg) gamma->rg[c] += rgg;
            if (beta->rg) beta->rg[c] += srg;
        }
        for (int64_t k = 0; x->g && k < d.M; k++) {
            const int64_t e = bn_at(&d, c, k);
            const double xh = (x->v[e] - s.mu) * s.istd, rxh = (x->r[e] - s.rmu) * s.istd + (x->v[e] - s.mu) * s.ristd;
            const double dxh = gm * out->g[e], rdxh = gm * out->rg[e] + rgm * out->g[e];
            if (mode != DLX_ROP_TANGENT)
                x->g[e] += s.istd * (dxh - A - xh * B);
            if (mode != DLX_ROP_VALUE)
                x->rg[e] += s.ristd * (dxh - A - xh * B) + s.istd * (rdxh - rA - rxh * B - xh * rB);
        }
    }
}

static const dlx_op_rop k_rop = {bn_rop_forward, bn_rop_backward, bn_rop_scratch};

/* ---- layer type and gradient-check cases ---- */

static int build_batchnorm(dlx_layer_call *c, dlx_node **out, dlx_err *err)
{
    double eps, momentum;
    int rc = dlx_spec_float(c->entry, "eps", false, 1e-5, 1e-12, 1.0, &eps, err);
    if (!rc) rc = dlx_spec_float(c->entry, "momentum", false, 0.1, 0.0, 1.0, &momentum, err);
    if (rc)
        return rc;
    const dlx_shape *xs = &c->in[0]->out.shape;
    if (xs->ndim < 2)
        return dlx_layer_fail(c, err, "batchnorm needs an input (N, C) or (N, C, H, W), got %d dimension(s)",
                              xs->ndim);
    const dlx_shape ch = dlx_shape_1d(xs->d[1]);
    dlx_batchnorm_attr a = {.eps = (float)eps, .momentum = (float)momentum};
    dlx_node *in[5] = {c->in[0]};
    /* PyTorch's names; no weight decay on the scale and shift */
    rc = dlx_layer_param(c, "weight", ch, (dlx_init){.kind = DLX_INIT_CONST, .a = 1.0f}, false, &in[1], err);
    if (!rc) rc = dlx_layer_param(c, "bias", ch, (dlx_init){.kind = DLX_INIT_ZERO}, false, &in[2], err);
    if (!rc) rc = dlx_layer_buffer(c, "running_mean", ch, 0.0f, &in[3], err);
    if (!rc) rc = dlx_layer_buffer(c, "running_var", ch, 1.0f, &in[4], err);
    return rc ? rc : dlx_layer_op(c, &dlx_op_batchnorm, in, 5, &a, out, err);
}

static const dlx_key_doc k_keys[] = {
    {"eps", "number", "1e-05", "1e-12 to 1", "added to the variance before the square root"},
    {"momentum", "number", "0.1", "0 to 1", "weight of a batch's statistics in the running ones"},
    {NULL},
};
static const dlx_layer_def k_layers[] = {
    {"batchnorm", k_keys, "normalise each channel (batch statistics in training, running ones in eval): eps, momentum",
     1, build_batchnorm},
};

/* x, gamma, beta, running_mean, running_var (positive, away from 0) */
#define BN_CASE(nm, train, ...)                                                                                  \
    {.what = "batchnorm " nm, .attr = &(dlx_batchnorm_attr){.eps = 1e-5f, .momentum = 0.1f}, .n_in = 5,       \
     .training = train,                                                                                        \
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(__VA_ARGS__)},                                            \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3), .lo = 0.5f, .hi = 1.5f},                             \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(3)},                                                     \
            {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(3)},                                                    \
            {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(3), .lo = 0.5f, .hi = 1.5f, .positive = true}}}
static const dlx_op_example k_examples[] = {
    BN_CASE("training (4,3)", true, 4, 3),
    BN_CASE("training (2,3,3,2)", true, 2, 3, 3, 2),
    BN_CASE("eval (4,3)", false, 4, 3),
    BN_CASE("eval (2,3,3,2)", false, 2, 3, 3, 2),
    /* more channels than a block: the blocked (N, C) path's second block */
    {.what = "batchnorm training (3,130)", .attr = &(dlx_batchnorm_attr){.eps = 1e-5f, .momentum = 0.1f}, .n_in = 5,
     .training = true,
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(3, 130)},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(130), .lo = 0.5f, .hi = 1.5f},
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(130)},
            {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(130)},
            {.role = DLX_EX_BUFFER, .shape = DLX_SHAPE(130), .lo = 0.5f, .hi = 1.5f, .positive = true}}},
};

const dlx_op_vtbl dlx_op_batchnorm = {
    .name = "batchnorm",
    .n_in_min = 5,
    .n_in_max = 5,
    .attr_size = sizeof(dlx_batchnorm_attr),
    .infer = batchnorm_infer,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .restate = batchnorm_restate,
    .fast_path = true,
    .reference = batchnorm_reference,
    .layers = k_layers,
    .n_layers = (int)(sizeof k_layers / sizeof k_layers[0]),
    .examples = k_examples,
    .n_examples = (int)(sizeof k_examples / sizeof k_examples[0]),
    .rop = &k_rop,
};
