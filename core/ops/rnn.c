/* rnn and lstm: a whole recurrent layer over a sequence as one op, forward
 * over time and backpropagation through time (BPTT). One op rather than L
 * copies of per-step ops: the transition weights are one input used at
 * every step, the input projection of all steps is one GEMM, and a graph of
 * a 1000-step sequence stays a handful of nodes.
 *
 * Inputs are time-major, as the sequence feeds give them (train/sequence.h):
 *   rnn   in: x (L, N, I), U (H, I), W (H, H), b (H); attr act (none, tanh, relu)
 *         h_t = act(U x_t + W h_{t-1} + b),  h_{-1} = 0        -> h (L, N, H)
 *   lstm  in: x (L, N, I), Wx (4H, I), Wh (4H, H), b (4H); attr forget_bias
 *         gates in PyTorch's order i, f, g, o:
 *         a_t = Wx x_t + Wh h_{t-1} + b  (+ forget_bias on the f block)
 *         i, f, o = sigmoid(a), g = tanh(a); c_t = f c_{t-1} + i g; h_t = o tanh(c_t)
 *         with h_{-1} = c_{-1} = 0                               -> h (L, N, H)
 *
 * BPTT, rnn (dA_t: the gradient of step t's pre-activation):
 *   dA_t = (dh_t + dA_{t+1} W) act'(h_t)     for t = L-1 .. 0
 *   dW += sum_{t>=1} dA_t^T h_{t-1},  dU += dA^T x,  db += sum dA,  dx += dA U
 * (one GEMM each over all steps, since the rows of step t are contiguous).
 * lstm the same with the gates' chain rule and a running dc.
 *
 * Memory (floats per step and sample, H hidden units): rnn keeps h (H) and,
 * when trained, dA (H) besides h's gradient in the graph (H): 3 H. lstm
 * keeps the activated gates (4H), c (H), h (H) and, trained, their
 * gradients dG (4H) and h's (H): 11 H, plus two (N, H) rows. dlx_rnn_bptt_floats
 * gives the figure the family checks against the memory limit. Both also keep
 * their weights transposed (G H (IN + H) floats) in the scratch.
 *
 * Every product but the input gradient goes through dlx_rec_gemm
 * (rnn_gemm.h): cblas_sgemm repacked the transition at each of the L steps.
 * Non-differentiable points: relu at 0.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "../vmath.h"
#include "ops.h"
#include "rnn_gemm.h"
#include "rnn_rop.h"

int64_t dlx_rnn_step_floats(bool lstm, int64_t H, bool train)
{
    return lstm ? (train ? 11 : 6) * H : (train ? 3 : 1) * H;
}

double dlx_rnn_bptt_floats(bool lstm, int64_t L, int64_t N, int64_t H, bool train)
{
    return (double)L * (double)N * (double)dlx_rnn_step_floats(lstm, H, train) + (lstm && train ? 2.0 * N * H : 0.0);
}

/* Shapes of x (L, N, I), Wx (G H, I), Wh (G H, H), b (G H); G = 1 or 4. */
static int rec_infer(dlx_node *n, int G, dlx_err *err)
{
    const dlx_shape *xs = &n->in[0]->out.shape, *wx = &n->in[1]->out.shape, *wh = &n->in[2]->out.shape,
                    *bs = &n->in[3]->out.shape;
    char b1[64], b2[64];
    if (xs->ndim != 3)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s expects x of shape (L, N, IN), got %s", n->op->name,
                            dlx_shape_str(xs, b1, sizeof b1));
    if (wh->ndim != 2 || wh->d[0] != G * wh->d[1] || wh->d[1] < 1)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s expects its transition of shape (%sH, H), got %s", n->op->name,
                            G == 4 ? "4" : "", dlx_shape_str(wh, b1, sizeof b1));
    const int64_t L = xs->d[0], N = xs->d[1], IN = xs->d[2], H = wh->d[1];
    if (wx->ndim != 2 || wx->d[0] != G * H || wx->d[1] != IN)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s expects its input weights of shape [%lld, %lld], got %s",
                            n->op->name, (long long)(G * H), (long long)IN, dlx_shape_str(wx, b2, sizeof b2));
    if (bs->ndim != 1 || bs->d[0] != G * H)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s expects a bias of shape [%lld], got %s", n->op->name,
                            (long long)(G * H), dlx_shape_str(bs, b1, sizeof b1));
    /* scratch per step and sample: rnn dA (trained); lstm G and c, then dG (trained);
     * then both weights transposed (G H x (IN + H)), which the forward multiplies by */
    const bool lstm = G == 4, train = n->needs_grad;
    int64_t rows, per = lstm ? (train ? 9 : 5) * H : (train ? H : 0), out, scratch, wt;
    if (!dlx_mul_i64(L, N, &rows) || !dlx_mul_i64(rows, H, &out) || !dlx_mul_i64(rows, per, &scratch) ||
        !dlx_add_i64(scratch, lstm && train ? 2 * N * H : 0, &scratch) || !dlx_mul_i64(G * H, H + IN, &wt) ||
        !dlx_add_i64(scratch, wt, &scratch) || scratch > DLX_NUMEL_MAX ||
        out > DLX_NUMEL_MAX || L > INT32_MAX || N * G * H > INT32_MAX)
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "%s too large: %lld steps of %lld x %lld hidden units would "
                            "exceed %s floats", n->op->name, (long long)L, (long long)N, (long long)H, DLX_NUMEL_MAX_STR);
    n->out.shape = (dlx_shape){.ndim = 3, .d = {L, N, H}};
    n->scratch_floats = (size_t)scratch;
    return 0;
}

static int rnn_infer(dlx_node *n, dlx_err *err)
{
    const dlx_rnn_attr *a = n->attr;
    if (!a || (a->act != DLX_ACT_NONE && a->act != DLX_ACT_TANH && a->act != DLX_ACT_RELU))
        return dlx_err_setf(err, DLX_EINVAL, n->loc, "rnn: the activation must be none, tanh or relu");
    return rec_infer(n, 1, err);
}

static int lstm_infer(dlx_node *n, dlx_err *err) { return rec_infer(n, 4, err); }

#define DIMS(n) const int L = (int)(n)->out.shape.d[0], N = (int)(n)->out.shape.d[1], H = (int)(n)->out.shape.d[2], \
                      IN = (int)(n)->in[0]->out.shape.d[2]

/* The transposed weights, the scratch's last G H (IN + H) floats: Wx^T (IN x G H),
 * then Wh^T (H x G H). */
static float *weights_t(dlx_node *n, int G)
{
    const int64_t H = n->out.shape.d[2], IN = n->in[0]->out.shape.d[2];
    return n->scratch + n->scratch_floats - (size_t)(G * H * (IN + H));
}

/* h (L N rows of G H) = b + x Wx^T for every step at once, and both weights
 * transposed into the scratch; returns Wh^T. */
static float *input_projection(dlx_node *n, int G, float *h, const float *b)
{
    DIMS(n);
    (void)L;
    const int GH = G * H, rows = L * N;
    const float *x = n->in[0]->out.data, *Wx = n->in[1]->out.data, *Wh = n->in[2]->out.data;
    float *Wxt = weights_t(n, G), *Wht = Wxt + (size_t)IN * GH;
    dlx_rec_transpose(GH, IN, Wx, Wxt);
    dlx_rec_transpose(GH, H, Wh, Wht);
    for (int r = 0; r < rows; r++) /* memmove: the lstm's b is h's last row */
        memmove(h + (size_t)r * GH, b, (size_t)GH * sizeof(float));
    dlx_rec_gemm(rows, GH, IN, x, IN, 1, Wxt, GH, h, GH);
    return Wht;
}

/* ---- rnn ---- */

static void rnn_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_rnn_attr *a = n->attr;
    DIMS(n);
    (void)IN;
    float *h = n->out.data, *Wt = input_projection(n, 1, h, n->in[3]->out.data);
    for (int t = 0; t < L; t++) {
        float *ht = h + (size_t)t * N * H;
        if (t > 0)
            dlx_rec_gemm(N, H, H, ht - (size_t)N * H, H, 1, Wt, H, ht, H);
        dlx_act_forward(a->act, 0.0f, ht, (int64_t)N * H);
    }
}

/* The weight gradients of a recurrent layer from dA (L N rows of GH):
 * dWh += dA[1:]^T h[:-1], dWx += dA^T x, db += column sums, dx += dA Wx. */
static void rec_param_grads(dlx_node *n, const float *dA, int G)
{
    DIMS(n);
    const int GH = G * H, rows = L * N;
    const float *x = n->in[0]->out.data, *Wx = n->in[1]->out.data, *h = n->out.data;
    float *dx = n->in[0]->out.grad, *dWx = n->in[1]->out.grad, *dWh = n->in[2]->out.grad, *db = n->in[3]->out.grad;
    if (dWh && L > 1) /* A = dA[1:]^T: element (i, k) at dA[(N + k) GH + i] */
        dlx_rec_gemm(GH, H, (L - 1) * N, dA + (size_t)N * GH, 1, GH, h, H, dWh, H);
    if (dWx) /* A = dA^T */
        dlx_rec_gemm(GH, IN, rows, dA, 1, GH, x, IN, dWx, IN);
    if (db)
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < GH; j++)
                db[j] += dA[(size_t)r * GH + j];
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, IN, GH, 1.0f, dA, GH, Wx, IN, 1.0f, dx, IN);
}

static void rnn_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_rnn_attr *a = n->attr;
    DIMS(n);
    (void)IN;
    const float *W = n->in[2]->out.data, *h = n->out.data, *dh = n->out.grad;
    float *dA = n->scratch;
    const size_t step = (size_t)N * H;
    memcpy(dA, dh, (size_t)L * step * sizeof(float));
    for (int t = L - 1; t >= 0; t--) {
        if (t < L - 1)
            dlx_rec_gemm(N, H, H, dA + (t + 1) * step, H, 1, W, H, dA + t * step, H);
        dlx_act_backward(a->act, 0.0f, h + t * step, dA + t * step, (int64_t)step);
    }
    rec_param_grads(n, dA, 1);
}

/* Naive forward in double: the loops of the formula. */
static double act_d(dlx_act a, double v) { return a == DLX_ACT_TANH ? tanh(v) : a == DLX_ACT_RELU ? (v > 0 ? v : 0) : v; }

static void rnn_reference(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_rnn_attr *a = n->attr;
    DIMS(n);
    const float *x = n->in[0]->out.data, *U = n->in[1]->out.data, *W = n->in[2]->out.data, *b = n->in[3]->out.data;
    float *h = n->out.data;
    for (int t = 0; t < L; t++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < H; j++) {
                double s = b[j];
                for (int k = 0; k < IN; k++)
                    s += (double)U[(size_t)j * IN + k] * x[((size_t)t * N + i) * IN + k];
                for (int k = 0; t > 0 && k < H; k++)
                    s += (double)W[(size_t)j * H + k] * h[((size_t)(t - 1) * N + i) * H + k];
                h[((size_t)t * N + i) * H + j] = (float)act_d(a->act, s);
            }
}

/* ---- lstm ---- */

/* One sample's cell at one step: g (4H pre-activations, activated in place),
 * c and h from the previous c (NULL at t = 0); and its gradient, dG (4H) of
 * the pre-activations from dh and the running dc (updated to the previous
 * step's). With AVX-512 16 units at a time, the last vector masked, with the
 * 16-lane sigmoid and tanh of core/vmath.h: GCC did not vectorise the scalar
 * loop, and a libm call per gate was over half of the copy task's lstm step. */
#if defined(__AVX512F__)
static void lstm_cell(int H, float *g, const float *cp, float *cc, float *hh)
{
    for (int j = 0; j < H; j += 16) {
        const __mmask16 m = (__mmask16)(H - j >= 16 ? 0xffff : (1u << (H - j)) - 1u);
        __m512 ig = dlx_sigmoid16(_mm512_maskz_loadu_ps(m, g + j));
        __m512 fg = dlx_sigmoid16(_mm512_maskz_loadu_ps(m, g + H + j));
        __m512 gg = dlx_tanh16(_mm512_maskz_loadu_ps(m, g + 2 * H + j));
        __m512 og = dlx_sigmoid16(_mm512_maskz_loadu_ps(m, g + 3 * H + j));
        _mm512_mask_storeu_ps(g + j, m, ig);
        _mm512_mask_storeu_ps(g + H + j, m, fg);
        _mm512_mask_storeu_ps(g + 2 * H + j, m, gg);
        _mm512_mask_storeu_ps(g + 3 * H + j, m, og);
        __m512 c = _mm512_mul_ps(ig, gg);
        if (cp)
            c = _mm512_fmadd_ps(fg, _mm512_maskz_loadu_ps(m, cp + j), c);
        _mm512_mask_storeu_ps(cc + j, m, c);
        _mm512_mask_storeu_ps(hh + j, m, _mm512_mul_ps(og, dlx_tanh16(c)));
    }
}

static void lstm_cell_grad(int H, const float *g, const float *cc, const float *cp, const float *dh, float *dc,
                           float *d)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int j = 0; j < H; j += 16) {
        const __mmask16 m = (__mmask16)(H - j >= 16 ? 0xffff : (1u << (H - j)) - 1u);
        __m512 ig = _mm512_maskz_loadu_ps(m, g + j), fg = _mm512_maskz_loadu_ps(m, g + H + j);
        __m512 gg = _mm512_maskz_loadu_ps(m, g + 2 * H + j), og = _mm512_maskz_loadu_ps(m, g + 3 * H + j);
        __m512 tc = dlx_tanh16(_mm512_maskz_loadu_ps(m, cc + j)), dhj = _mm512_maskz_loadu_ps(m, dh + j);
        /* dc_j = dc + dh o (1 - tc^2) */
        __m512 dcj = _mm512_fmadd_ps(_mm512_mul_ps(dhj, og), _mm512_fnmadd_ps(tc, tc, one),
                                     _mm512_maskz_loadu_ps(m, dc + j));
        _mm512_mask_storeu_ps(d + j, m, _mm512_mul_ps(_mm512_mul_ps(dcj, gg), _mm512_mul_ps(ig, _mm512_sub_ps(one, ig))));
        __m512 df = _mm512_setzero_ps();
        if (cp)
            df = _mm512_mul_ps(_mm512_mul_ps(dcj, _mm512_maskz_loadu_ps(m, cp + j)),
                               _mm512_mul_ps(fg, _mm512_sub_ps(one, fg)));
        _mm512_mask_storeu_ps(d + H + j, m, df);
        _mm512_mask_storeu_ps(d + 2 * H + j, m, _mm512_mul_ps(_mm512_mul_ps(dcj, ig), _mm512_fnmadd_ps(gg, gg, one)));
        _mm512_mask_storeu_ps(d + 3 * H + j, m,
                              _mm512_mul_ps(_mm512_mul_ps(dhj, tc), _mm512_mul_ps(og, _mm512_sub_ps(one, og))));
        _mm512_mask_storeu_ps(dc + j, m, _mm512_mul_ps(dcj, fg));
    }
}
#else
static void lstm_cell(int H, float *g, const float *cp, float *cc, float *hh)
{
    for (int j = 0; j < H; j++) {
        float ig = dlx_sigmoid(g[j]), fg = dlx_sigmoid(g[H + j]), gg = dlx_tanh(g[2 * H + j]);
        float og = dlx_sigmoid(g[3 * H + j]);
        g[j] = ig, g[H + j] = fg, g[2 * H + j] = gg, g[3 * H + j] = og;
        cc[j] = (cp ? fg * cp[j] : 0.0f) + ig * gg;
        hh[j] = og * dlx_tanh(cc[j]);
    }
}

static void lstm_cell_grad(int H, const float *g, const float *cc, const float *cp, const float *dh, float *dc,
                           float *d)
{
    for (int j = 0; j < H; j++) {
        float ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j], tc = dlx_tanh(cc[j]);
        float dcj = dc[j] + dh[j] * og * (1.0f - tc * tc);
        d[j] = dcj * gg * ig * (1.0f - ig);
        d[H + j] = cp ? dcj * cp[j] * fg * (1.0f - fg) : 0.0f;
        d[2 * H + j] = dcj * ig * (1.0f - gg * gg);
        d[3 * H + j] = dh[j] * tc * og * (1.0f - og);
        dc[j] = dcj * fg;
    }
}
#endif

/* Scratch: gates G (L N 4H, activated), c (L N H), then when trained dG (L N 4H) and two (N, H) rows. */
static void lstm_forward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_lstm_attr *a = n->attr;
    DIMS(n);
    (void)IN;
    const int G4 = 4 * H, rows = L * N;
    float *G = n->scratch, *c = G + (size_t)rows * G4, *h = n->out.data, *b = G + (size_t)rows * G4 - G4;
    /* the bias with the forget bias, parked in G's last row until the projection fills it */
    memcpy(b, n->in[3]->out.data, (size_t)G4 * sizeof(float));
    for (int j = 0; j < H; j++)
        b[H + j] += a->forget_bias;
    float *Wt = input_projection(n, 4, G, b);
    for (int t = 0; t < L; t++) {
        float *Gt = G + (size_t)t * N * G4, *ct = c + (size_t)t * N * H, *ht = h + (size_t)t * N * H;
        if (t > 0)
            dlx_rec_gemm(N, G4, H, ht - (size_t)N * H, H, 1, Wt, G4, Gt, G4);
        for (int i = 0; i < N; i++) {
            float *cc = ct + (size_t)i * H;
            lstm_cell(H, Gt + (size_t)i * G4, t > 0 ? cc - (size_t)N * H : NULL, cc, ht + (size_t)i * H);
        }
    }
}

static void lstm_backward(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    DIMS(n);
    (void)IN;
    const int G4 = 4 * H, rows = L * N;
    const float *Wh = n->in[2]->out.data, *dh_out = n->out.grad;
    const float *G = n->scratch, *c = G + (size_t)rows * G4;
    float *dG = (float *)c + (size_t)rows * H, *dh = dG + (size_t)rows * G4, *dc = dh + (size_t)N * H;
    memset(dc, 0, (size_t)N * H * sizeof(float));
    for (int t = L - 1; t >= 0; t--) {
        memcpy(dh, dh_out + (size_t)t * N * H, (size_t)N * H * sizeof(float));
        if (t < L - 1)
            dlx_rec_gemm(N, H, G4, dG + (size_t)(t + 1) * N * G4, G4, 1, Wh, H, dh, H);
        for (int i = 0; i < N; i++) {
            const float *cc = c + ((size_t)t * N + i) * H;
            lstm_cell_grad(H, G + ((size_t)t * N + i) * G4, cc, t > 0 ? cc - (size_t)N * H : NULL, dh + (size_t)i * H,
                           dc + (size_t)i * H, dG + ((size_t)t * N + i) * G4);
        }
    }
    rec_param_grads(n, dG, 4);
}

static double sigm_d(double v) { return 1.0 / (1.0 + exp(-v)); }

static void lstm_reference(dlx_node *n, const dlx_ctx *ctx)
{
    (void)ctx;
    const dlx_lstm_attr *a = n->attr;
    DIMS(n);
    const float *x = n->in[0]->out.data, *Wx = n->in[1]->out.data, *Wh = n->in[2]->out.data, *b = n->in[3]->out.data;
    float *h = n->out.data, *c = n->scratch + (size_t)L * N * 4 * H; /* the forward's c, written again */
    for (int t = 0; t < L; t++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < H; j++) {
                double s[4];
                for (int q = 0; q < 4; q++) {
                    int r = q * H + j;
                    s[q] = b[r] + (q == 1 ? a->forget_bias : 0.0);
                    for (int k = 0; k < IN; k++)
                        s[q] += (double)Wx[(size_t)r * IN + k] * x[((size_t)t * N + i) * IN + k];
                    for (int k = 0; t > 0 && k < H; k++)
                        s[q] += (double)Wh[(size_t)r * H + k] * h[((size_t)(t - 1) * N + i) * H + k];
                }
                double cp = t > 0 ? c[((size_t)(t - 1) * N + i) * H + j] : 0.0;
                double cc = sigm_d(s[1]) * cp + sigm_d(s[0]) * tanh(s[2]);
                c[((size_t)t * N + i) * H + j] = (float)cc;
                h[((size_t)t * N + i) * H + j] = (float)(sigm_d(s[3]) * tanh(cc));
            }
}

/* ---- gradient-check cases: 20+ unrolled steps, small N and H ---- */

#define REC_CASE(what_, op_attr, L_, N_, I_, GH, H_)                                                                       \
    {.what = what_, .attr = op_attr, .n_in = 4,                                                                        \
     .in = {{.role = DLX_EX_GRAD, .shape = DLX_SHAPE(L_, N_, I_)},                                                     \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(GH, I_)},                                                        \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(GH, H_), .lo = 0.05f, .hi = 0.35f},                               \
            {.role = DLX_EX_PARAM, .shape = DLX_SHAPE(GH)}}}

static const dlx_op_example k_rnn_examples[] = {
    REC_CASE("rnn tanh 24 steps", &(dlx_rnn_attr){DLX_ACT_TANH}, 24, 2, 3, 4, 4),
    REC_CASE("rnn linear 21 steps", &(dlx_rnn_attr){DLX_ACT_NONE}, 21, 2, 3, 4, 4),
    REC_CASE("rnn relu 20 steps", &(dlx_rnn_attr){DLX_ACT_RELU}, 20, 3, 2, 3, 3),
};

static const dlx_op_example k_lstm_examples[] = {
    REC_CASE("lstm 22 steps", &(dlx_lstm_attr){1.0f}, 22, 2, 3, 12, 3),
    REC_CASE("lstm 20 steps, no forget bias", &(dlx_lstm_attr){0.0f}, 20, 3, 2, 8, 2),
};

const dlx_op_vtbl dlx_op_rnn = {
    .name = "rnn",
    .n_in_min = 4,
    .n_in_max = 4,
    .attr_size = sizeof(dlx_rnn_attr),
    .infer = rnn_infer,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .examples = k_rnn_examples,
    .n_examples = (int)(sizeof k_rnn_examples / sizeof k_rnn_examples[0]),
    .fast_path = true,
    .reference = rnn_reference,
    .rop = &dlx_rnn_rop,
};

const dlx_op_vtbl dlx_op_lstm = {
    .name = "lstm",
    .n_in_min = 4,
    .n_in_max = 4,
    .attr_size = sizeof(dlx_lstm_attr),
    .infer = lstm_infer,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .examples = k_lstm_examples,
    .n_examples = (int)(sizeof k_lstm_examples / sizeof k_lstm_examples[0]),
    .fast_path = true,
    .reference = lstm_reference,
    .rop = &dlx_lstm_rop,
};
