/* R-operators of rnn and lstm (core/ops/rnn_rop.h), in double, by their
 * definitions in core/ops/rnn.c, one (step, sample) at a time.
 *
 * Both share the affine step a = Wx x_t + Wh h_{t-1} + b (G H rows):
 *   R{a} = R{Wx} x_t + Wx R{x_t} + R{Wh} h_{t-1} + Wh R{h_{t-1}} + R{b}
 * and its adjoint, given dA = dL/da and R{dA}:
 *   dx_t += dA Wx,         R{dx_t} += R{dA} Wx + dA R{Wx}
 *   dWx  += dA^T x_t,      R{dWx}  += R{dA}^T x_t + dA^T R{x_t}      (Wh, h_{t-1} alike)
 *   db   += dA,            R{db}   += R{dA}
 *   e_{t-1} += dA Wh,      R{e_{t-1}} += R{dA} Wh + dA R{Wh}
 * where e_t = dL/dh_t + (what step t+1 sends back) is the total gradient at h_t.
 *
 * rnn: h = act(a); dA = e act'(a), R{dA} = R{e} act' + e act'' R{a} (act.c's
 * dlx_act_rop_backward, through h).
 * lstm: gates i, f, o = sigmoid, g = tanh of a's four blocks; c = f c' + i g,
 * tc = tanh(c), h = o tc; R{} of each by the product rule. Backward, with dcn
 * the gradient c_{t+1} sends back (dc_{t+1} f_{t+1}):
 *   do = e tc, dc = e o (1 - tc^2) + dcn, di = dc g, dg = dc i, df = dc c',
 *   dcn' = dc f;  dA = (di i (1 - i), df f (1 - f), dg (1 - g^2), do o (1 - o))
 * and the tangent of every line beside it (sigma' = s (1 - s) has tangent
 * (1 - 2 s) R{s}; tanh' = 1 - t^2 has -2 t R{t}).
 * Backward always runs values and tangents (the values are cheap next to
 * the tangents) and writes the inputs' g and rg as the mode asks.
 */
#include <string.h>
#include <math.h>

#include "ops.h"
#include "rnn_rop.h"

typedef struct rec_dims {
    int L, N, H, IN, GH;
} rec_dims;

static rec_dims rec_dims_of(const dlx_node *n, int G)
{
    rec_dims d = {(int)n->out.shape.d[0], (int)n->out.shape.d[1], (int)n->out.shape.d[2],
                  (int)n->in[0]->out.shape.d[2], 0};
    d.GH = G * d.H;
    return d;
}

/* a (values, with val) and ra (tangents, with tan) of step t, sample i;
 * h, rh: the output's values and tangents (step t - 1 read when t > 0). */
static void affine(const rec_dims *d, dlx_dual *const *in, const double *h, const double *rh, int t, int i, double *a,
                   double *ra, bool val, bool tan)
{
    const dlx_dual *x = in[0], *wx = in[1], *wh = in[2], *b = in[3];
    const size_t xo = ((size_t)t * d->N + i) * d->IN, ho = ((size_t)(t - 1) * d->N + i) * d->H;
    for (int r = 0; r < d->GH; r++) {
        const double *wxr = wx->v + (size_t)r * d->IN, *wxrr = wx->r + (size_t)r * d->IN;
        const double *whr = wh->v + (size_t)r * d->H, *whrr = wh->r + (size_t)r * d->H;
        double s = b->v[r], rs = b->r[r];
        for (int k = 0; k < d->IN; k++) {
            s += wxr[k] * x->v[xo + k];
            rs += wxrr[k] * x->v[xo + k] + wxr[k] * x->r[xo + k];
        }
        for (int k = 0; t > 0 && k < d->H; k++) {
            s += whr[k] * h[ho + k];
            rs += whrr[k] * h[ho + k] + whr[k] * rh[ho + k];
        }
        if (val)
            a[r] = s;
        if (tan)
            ra[r] = rs;
    }
}

/* The adjoint of affine() at step t, sample i, from dA and R{dA}: into the
 * inputs' gradients (as mode asks) and e, re (step t - 1's h, always). */
static void affine_adjoint(const rec_dims *d, dlx_dual *const *in, const dlx_dual *out, int t, int i, const double *dA,
                           const double *rdA, double *e, double *re, dlx_rop_mode mode)
{
    const dlx_dual *x = in[0], *wx = in[1], *wh = in[2], *b = in[3];
    const size_t xo = ((size_t)t * d->N + i) * d->IN, ho = ((size_t)(t - 1) * d->N + i) * d->H;
    const bool val = mode != DLX_ROP_TANGENT, tan = mode != DLX_ROP_VALUE;
    for (int r = 0; r < d->GH; r++) {
        const double g = dA[r], rg = rdA[r];
        const size_t wxo = (size_t)r * d->IN, who = (size_t)r * d->H;
        if (b->g && val)
            b->g[r] += g;
        if (b->g && tan)
            b->rg[r] += rg;
        for (int k = 0; k < d->IN; k++) {
            if (x->g && val)
                x->g[xo + k] += g * wx->v[wxo + k];
            if (x->g && tan)
                x->rg[xo + k] += rg * wx->v[wxo + k] + g * wx->r[wxo + k];
            if (wx->g && val)
                wx->g[wxo + k] += g * x->v[xo + k];
            if (wx->g && tan)
                wx->rg[wxo + k] += rg * x->v[xo + k] + g * x->r[xo + k];
        }
        for (int k = 0; t > 0 && k < d->H; k++) {
            e[k] += g * wh->v[who + k];
            re[k] += rg * wh->v[who + k] + g * wh->r[who + k];
            if (wh->g && val)
                wh->g[who + k] += g * out->v[ho + k];
            if (wh->g && tan)
                wh->rg[who + k] += rg * out->v[ho + k] + g * out->r[ho + k];
        }
    }
}

/* ---- rnn: scratch e, R{e}, the next step's e, R{e} (N H each), dA, R{dA} (H) ---- */

static int64_t rnn_rop_scratch(const dlx_node *n)
{
    const rec_dims d = rec_dims_of(n, 1);
    return 4 * (int64_t)d.N * d.H + 2 * d.H;
}

static void rnn_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_rnn_attr *a = n->attr;
    const rec_dims d = rec_dims_of(n, 1);
    for (int t = 0; t < d.L; t++)
        for (int i = 0; i < d.N; i++) {
            const size_t o = ((size_t)t * d.N + i) * d.H;
            affine(&d, in, out->v, out->r, t, i, out->v + o, out->r + o, mode != DLX_ROP_TANGENT,
                   mode != DLX_ROP_VALUE);
            dlx_dual step = {.numel = d.H, .v = out->v + o, .r = out->r + o};
            dlx_act_rop_forward(a->act, 0.0, &step, mode);
        }
}

static void rnn_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_rnn_attr *a = n->attr;
    const rec_dims d = rec_dims_of(n, 1);
    const size_t nh = (size_t)d.N * d.H;
    double *e = out->scratch, *re = e + nh, *en = re + nh, *ren = en + nh, *dA = ren + nh, *rdA = dA + d.H;
    memset(en, 0, 2 * nh * sizeof *en);
    for (int t = d.L - 1; t >= 0; t--) {
        for (size_t j = 0; j < nh; j++) {
            e[j] = out->g[t * nh + j] + en[j];
            re[j] = out->rg[t * nh + j] + ren[j];
            en[j] = ren[j] = 0.0;
        }
        for (int i = 0; i < d.N; i++) {
            const size_t o = ((size_t)t * d.N + i) * d.H;
            dlx_dual step = {.numel = d.H, .v = out->v + o, .r = out->r + o, .g = e + (size_t)i * d.H,
                             .rg = re + (size_t)i * d.H};
            dlx_act_rop_backward(a->act, 0.0, &step, dA, rdA, DLX_ROP_BOTH);
            affine_adjoint(&d, in, out, t, i, dA, rdA, en + (size_t)i * d.H, ren + (size_t)i * d.H, mode);
        }
    }
}

const dlx_op_rop dlx_rnn_rop = {rnn_rop_forward, rnn_rop_backward, rnn_rop_scratch};

/* ---- lstm: scratch gates (L N 4H) and c (L N H), values then tangents;
 * e, R{e}, next e, R{e}, dcn, R{dcn} (N H each); a, R{a}, dA, R{dA} (4H) ---- */

typedef struct lstm_mem {
    double *gv, *gr, *cv, *cr, *e, *re, *en, *ren, *dcn, *rdcn, *a, *ra, *dA, *rdA;
} lstm_mem;

static lstm_mem lstm_mem_of(const dlx_dual *out, const rec_dims *d)
{
    const size_t lnh = (size_t)d->L * d->N * d->H, nh = (size_t)d->N * d->H;
    lstm_mem m;
    m.gv = out->scratch;
    m.gr = m.gv + 4 * lnh;
    m.cv = m.gr + 4 * lnh;
    m.cr = m.cv + lnh;
    m.e = m.cr + lnh;
    m.re = m.e + nh;
    m.en = m.re + nh;
    m.ren = m.en + nh;
    m.dcn = m.ren + nh;
    m.rdcn = m.dcn + nh;
    m.a = m.rdcn + nh;
    m.ra = m.a + 4 * d->H;
    m.dA = m.ra + 4 * d->H;
    m.rdA = m.dA + 4 * d->H;
    return m;
}

static int64_t lstm_rop_scratch(const dlx_node *n)
{
    const rec_dims d = rec_dims_of(n, 4);
    return 10 * (int64_t)d.L * d.N * d.H + 6 * (int64_t)d.N * d.H + 16 * (int64_t)d.H;
}

static double sigm(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

static void lstm_rop_forward(const dlx_node *n, dlx_dual *const *in, dlx_dual *out, dlx_rop_mode mode)
{
    const dlx_lstm_attr *at = n->attr;
    const rec_dims d = rec_dims_of(n, 4);
    const lstm_mem m = lstm_mem_of(out, &d);
    const bool val = mode != DLX_ROP_TANGENT, tan = mode != DLX_ROP_VALUE;
    const int H = d.H;
    for (int t = 0; t < d.L; t++)
        for (int i = 0; i < d.N; i++) {
            const size_t s = (size_t)t * d.N + i, p = s - d.N; /* p: step t - 1, sample i */
            double *G = m.gv + s * 4 * H, *RG = m.gr + s * 4 * H;
            affine(&d, in, out->v, out->r, t, i, m.a, m.ra, val, tan);
            for (int j = 0; j < H; j++) {
                if (val) {
                    G[j] = sigm(m.a[j]);
                    G[H + j] = sigm(m.a[H + j] + at->forget_bias);
                    G[2 * H + j] = tanh(m.a[2 * H + j]);
                    G[3 * H + j] = sigm(m.a[3 * H + j]);
                }
                const double gi = G[j], gf = G[H + j], gg = G[2 * H + j], go = G[3 * H + j];
                const double cp = t > 0 ? m.cv[p * H + j] : 0.0, rcp = t > 0 ? m.cr[p * H + j] : 0.0;
                if (val)
                    m.cv[s * H + j] = gf * cp + gi * gg;
                const double tc = tanh(m.cv[s * H + j]);
                if (val)
                    out->v[s * H + j] = go * tc;
                if (!tan)
                    continue;
                RG[j] = gi * (1.0 - gi) * m.ra[j];
                RG[H + j] = gf * (1.0 - gf) * m.ra[H + j];
                RG[2 * H + j] = (1.0 - gg * gg) * m.ra[2 * H + j];
                RG[3 * H + j] = go * (1.0 - go) * m.ra[3 * H + j];
                m.cr[s * H + j] = RG[H + j] * cp + gf * rcp + RG[j] * gg + gi * RG[2 * H + j];
                out->r[s * H + j] = RG[3 * H + j] * tc + go * (1.0 - tc * tc) * m.cr[s * H + j];
            }
        }
}

/* step t, sample i: dA and R{dA} from e, R{e} and the carried dcn, R{dcn}
 * (which become step t - 1's) */
static void lstm_step_adjoint(const rec_dims *d, const lstm_mem *m, int t, int i, const double *e, const double *re,
                              double *dcn, double *rdcn)
{
    const int H = d->H;
    const size_t s = (size_t)t * d->N + i, p = s - d->N;
    const double *G = m->gv + s * 4 * H, *RG = m->gr + s * 4 * H;
    for (int j = 0; j < H; j++) {
        const double gi = G[j], gf = G[H + j], gg = G[2 * H + j], go = G[3 * H + j];
        const double ri = RG[j], rf = RG[H + j], rgg = RG[2 * H + j], ro = RG[3 * H + j];
        const double c = m->cv[s * H + j], rc = m->cr[s * H + j], tc = tanh(c), rtc = (1.0 - tc * tc) * rc;
        const double cp = t > 0 ? m->cv[p * H + j] : 0.0, rcp = t > 0 ? m->cr[p * H + j] : 0.0;
        const double dO = e[j] * tc, rdO = re[j] * tc + e[j] * rtc;
        const double dtc = e[j] * go, rdtc = re[j] * go + e[j] * ro;
        const double dc = dtc * (1.0 - tc * tc) + dcn[j], rdc = rdtc * (1.0 - tc * tc) - 2.0 * dtc * tc * rtc + rdcn[j];
        const double di = dc * gg, rdi = rdc * gg + dc * rgg;
        const double dg = dc * gi, rdg = rdc * gi + dc * ri;
        const double df = dc * cp, rdf = rdc * cp + dc * rcp;
        dcn[j] = dc * gf;
        rdcn[j] = rdc * gf + dc * rf;
        m->dA[j] = di * gi * (1.0 - gi);
        m->rdA[j] = rdi * gi * (1.0 - gi) + di * (1.0 - 2.0 * gi) * ri;
        m->dA[H + j] = df * gf * (1.0 - gf);
        m->rdA[H + j] = rdf * gf * (1.0 - gf) + df * (1.0 - 2.0 * gf) * rf;
        m->dA[2 * H + j] = dg * (1.0 - gg * gg);
        m->rdA[2 * H + j] = rdg * (1.0 - gg * gg) - 2.0 * dg * gg * rgg;
        m->dA[3 * H + j] = dO * go * (1.0 - go);
        m->rdA[3 * H + j] = rdO * go * (1.0 - go) + dO * (1.0 - 2.0 * go) * ro;
    }
}

static void lstm_rop_backward(const dlx_node *n, dlx_dual *const *in, const dlx_dual *out, dlx_rop_mode mode)
{
    const rec_dims d = rec_dims_of(n, 4);
    const lstm_mem m = lstm_mem_of(out, &d);
    const size_t nh = (size_t)d.N * d.H;
    memset(m.en, 0, 2 * nh * sizeof *m.en);
    memset(m.dcn, 0, 2 * nh * sizeof *m.dcn);
    for (int t = d.L - 1; t >= 0; t--) {
        for (size_t j = 0; j < nh; j++) {
            m.e[j] = out->g[t * nh + j] + m.en[j];
            m.re[j] = out->rg[t * nh + j] + m.ren[j];
            m.en[j] = m.ren[j] = 0.0;
        }
        for (int i = 0; i < d.N; i++) {
            const size_t r = (size_t)i * d.H;
            lstm_step_adjoint(&d, &m, t, i, m.e + r, m.re + r, m.dcn + r, m.rdcn + r);
            affine_adjoint(&d, in, out, t, i, m.dA, m.rdA, m.en + r, m.ren + r, mode);
        }
    }
}

const dlx_op_rop dlx_lstm_rop = {lstm_rop_forward, lstm_rop_backward, lstm_rop_scratch};
