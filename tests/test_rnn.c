/* The recurrent ops (core/ops/rnn.c) against the naive reference of BPTT:
 * the same recurrence unrolled into per-step graph ops (linear, add,
 * activations, slice, mul) whose transition weights are one parameter used
 * by every step's node, so the graph's accumulation of tied gradients does
 * the backpropagation through time. Outputs and every gradient must agree.
 * Also the transitions' initialisations: orthogonal and Henaff's rotations
 * are orthogonal, the rotations block diagonal. And the ops' product
 * (core/ops/rnn_gemm.c) against the loops of its formula in double. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/graph.h"
#include "../core/ops/ops.h"
#include "../core/ops/rnn_gemm.h"
#include "../core/rng.h"

enum { L = 12, N = 3, IN = 4, H = 5 };

typedef struct pair {
    dlx_params p;
    int wx, wh, b;
    dlx_graph *whole, *unrolled;
    dlx_node *x, *h;              /* whole: x (L, N, IN), h (L, N, H) */
    dlx_node *xs[L], *hs[L];      /* unrolled: per step */
} pair;

static dlx_node *op(dlx_graph *g, const dlx_op_vtbl *o, dlx_node **in, int n, const void *attr)
{
    dlx_node *r = dlx_graph_op(g, o, NULL, in, n, attr, DLX_NOLOC, NULL);
    ck_assert_ptr_nonnull(r);
    return r;
}

static dlx_node *slice(dlx_graph *g, dlx_node *a, int q)
{
    return op(g, &dlx_op_slice, &a, 1, &(dlx_slice_attr){1, q * H, H});
}

static dlx_node *act(dlx_graph *g, dlx_node *a, dlx_act k) { return op(g, &dlx_op_act, &a, 1, &(dlx_act_attr){k, 0}); }

/* Step t of the unrolled net: pre-activation Wx x_t + b (+ Wh h_{t-1}). */
static dlx_node *pre(pair *P, int t, dlx_node *hprev)
{
    dlx_graph *g = P->unrolled;
    dlx_linear_attr lin = {.act = DLX_ACT_NONE};
    dlx_node *a = op(g, &dlx_op_linear, (dlx_node *[]){P->xs[t], dlx_graph_param(g, P->wx, NULL), dlx_graph_param(g, P->b, NULL)}, 3, &lin);
    if (!hprev)
        return a;
    dlx_node *r = op(g, &dlx_op_linear, (dlx_node *[]){hprev, dlx_graph_param(g, P->wh, NULL)}, 2, &lin);
    return op(g, &dlx_op_add, (dlx_node *[]){a, r}, 2, NULL);
}

static void build(pair *P, bool lstm, dlx_act a)
{
    const int G = lstm ? 4 : 1;
    dlx_params_init(&P->p);
    P->wx = dlx_params_declare(&P->p, "wx", dlx_shape_2d(G * H, IN), (dlx_init){0}, true, NULL);
    P->wh = dlx_params_declare(&P->p, "wh", dlx_shape_2d(G * H, H), (dlx_init){0}, true, NULL);
    P->b = dlx_params_declare(&P->p, "b", dlx_shape_1d(G * H), (dlx_init){0}, false, NULL);
    ck_assert_int_eq(dlx_params_finalize(&P->p, NULL), 0);
    dlx_rng r;
    dlx_rng_init(&r, 7, 1);
    for (int64_t i = 0; i < P->p.total; i++)
        P->p.values[i] = 0.5f * (2.0f * dlx_rng_uniform(&r) - 1.0f);

    dlx_graph *g = P->whole = dlx_graph_create(&P->p);
    P->x = dlx_graph_input(g, "x", (dlx_shape){.ndim = 3, .d = {L, N, IN}}, true, NULL);
    dlx_node *in[] = {P->x, dlx_graph_param(g, P->wx, NULL), dlx_graph_param(g, P->wh, NULL), dlx_graph_param(g, P->b, NULL)};
    P->h = lstm ? op(g, &dlx_op_lstm, in, 4, &(dlx_lstm_attr){0.0f}) : op(g, &dlx_op_rnn, in, 4, &(dlx_rnn_attr){a});

    g = P->unrolled = dlx_graph_create(&P->p);
    dlx_node *h = NULL, *c = NULL;
    for (int t = 0; t < L; t++) {
        P->xs[t] = dlx_graph_input(g, NULL, dlx_shape_2d(N, IN), true, NULL);
        dlx_node *z = pre(P, t, h);
        if (!lstm) {
            h = act(g, z, a);
        } else {
            dlx_node *i = act(g, slice(g, z, 0), DLX_ACT_SIGMOID), *f = act(g, slice(g, z, 1), DLX_ACT_SIGMOID);
            dlx_node *gg = act(g, slice(g, z, 2), DLX_ACT_TANH), *o = act(g, slice(g, z, 3), DLX_ACT_SIGMOID);
            dlx_node *ig = op(g, &dlx_op_mul, (dlx_node *[]){i, gg}, 2, NULL);
            c = c ? op(g, &dlx_op_add, (dlx_node *[]){op(g, &dlx_op_mul, (dlx_node *[]){f, c}, 2, NULL), ig}, 2, NULL) : ig;
            h = op(g, &dlx_op_mul, (dlx_node *[]){o, act(g, c, DLX_ACT_TANH)}, 2, NULL);
        }
        P->hs[t] = h;
    }
    ck_assert_int_eq(dlx_graph_compile(P->whole, 0, NULL), 0);
    ck_assert_int_eq(dlx_graph_compile(P->unrolled, 0, NULL), 0);
}

/* Forward both, backward from sum_t <s_t, h_t> (s random), compare h, dx and every parameter's gradient. */
static void compare(bool lstm, dlx_act a)
{
    pair P;
    build(&P, lstm, a);
    dlx_rng r;
    dlx_rng_init(&r, 11, 2);
    const int step = N * H, xstep = N * IN;
    for (int i = 0; i < L * xstep; i++)
        P.x->out.data[i] = 2.0f * dlx_rng_uniform(&r) - 1.0f;
    for (int t = 0; t < L; t++)
        memcpy(P.xs[t]->out.data, P.x->out.data + t * xstep, xstep * sizeof(float));
    float *seed = malloc(L * step * sizeof(float));
    for (int i = 0; i < L * step; i++)
        seed[i] = 2.0f * dlx_rng_uniform(&r) - 1.0f;
    const dlx_ctx ctx = {.training = true, .threads = 1};
    dlx_graph_forward(P.whole, &ctx);
    dlx_graph_forward(P.unrolled, &ctx);
    for (int t = 0; t < L; t++)
        for (int i = 0; i < step; i++)
            ck_assert_msg(fabsf(P.h->out.data[t * step + i] - P.hs[t]->out.data[i]) < 1e-5f, "h at step %d", t);

    dlx_params_zero_grad(&P.p);
    dlx_graph_backward_from(P.whole, P.h, seed, &ctx);
    float *g_whole = malloc(P.p.total * sizeof(float));
    memcpy(g_whole, P.p.grads, P.p.total * sizeof(float));
    /* the unrolled net: one backward per step's output, accumulating as one loss would */
    dlx_params_zero_grad(&P.p);
    float *dx = calloc(L * xstep, sizeof(float));
    for (int t = 0; t < L; t++) {
        dlx_graph_backward_from(P.unrolled, P.hs[t], seed + t * step, &ctx);
        for (int u = 0; u <= t; u++)
            for (int i = 0; i < xstep; i++)
                dx[u * xstep + i] += P.xs[u]->out.grad[i];
    }
    double worst = 0.0;
    for (int64_t i = 0; i < P.p.total; i++) {
        double e = fabs((double)g_whole[i] - P.p.grads[i]) / (1e-3 + fabs((double)P.p.grads[i]));
        worst = e > worst ? e : worst;
    }
    ck_assert_msg(worst < 1e-3, "%s: parameter gradients differ by %g (relative)", lstm ? "lstm" : "rnn", worst);
    for (int i = 0; i < L * xstep; i++)
        ck_assert_msg(fabs((double)P.x->out.grad[i] - dx[i]) < 1e-4 * (1.0 + fabs(dx[i])), "dx[%d]: %g vs %g", i,
                      P.x->out.grad[i], dx[i]);
    /* the transition's gradient is not trivially zero */
    double norm = 0.0;
    for (int64_t i = 0; i < H * H; i++)
        norm += fabs(P.p.grads[(lstm ? 4 : 1) * H * IN + i]);
    ck_assert(norm > 1e-3);
    free(seed);
    free(g_whole);
    free(dx);
    dlx_graph_destroy(P.whole);
    dlx_graph_destroy(P.unrolled);
    dlx_params_free(&P.p);
}

START_TEST(rnn_bptt_matches_unrolled)
{
    compare(false, DLX_ACT_TANH);
    compare(false, DLX_ACT_NONE);
    compare(false, DLX_ACT_RELU);
}
END_TEST

START_TEST(lstm_bptt_matches_unrolled) { compare(true, DLX_ACT_NONE); }
END_TEST

/* W W^T = I for orthogonal and rotation inits; the rotation is 2x2 blocks. */
START_TEST(orthogonal_transitions)
{
    const int n = 7;
    dlx_init kinds[] = {{.kind = DLX_INIT_ORTHOGONAL, .a = 1.0f}, {.kind = DLX_INIT_ROTATION, .a = 1.0f}};
    for (int k = 0; k < 2; k++) {
        dlx_params p;
        dlx_params_init(&p);
        ck_assert_int_ge(dlx_params_declare(&p, "w", dlx_shape_2d(n, n), kinds[k], true, NULL), 0);
        ck_assert_int_eq(dlx_params_finalize(&p, NULL), 0);
        ck_assert_int_eq(dlx_params_init_values(&p, 3, NULL), 0);
        const float *w = p.values;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0.0;
                for (int q = 0; q < n; q++)
                    s += (double)w[i * n + q] * w[j * n + q];
                ck_assert_msg(fabs(s - (i == j)) < 1e-5, "init %d: (W W^T)[%d][%d] = %g", k, i, j, s);
                if (k == 1 && i / 2 != j / 2)
                    ck_assert(w[i * n + j] == 0.0f);
            }
        if (k == 1) { /* a rotation, not the identity: some angle is far from 0 */
            ck_assert(w[0] == w[n + 1] && w[1] == -w[n]);
            ck_assert(fabsf(w[0]) < 0.99f || fabsf(w[2 * n + 2]) < 0.99f || fabsf(w[4 * n + 4]) < 0.99f);
            ck_assert(w[(n - 1) * n + n - 1] == 1.0f); /* odd size: the last plane is left alone */
        }
        dlx_params_free(&p);
    }
}
END_TEST

/* dlx_rec_gemm: C += A B against double loops, for shapes around its blocks
 * (12 rows, 16 and 32 columns, slices of 128 k) and both layouts of A; a row's bits do not
 * depend on how many rows are multiplied with it. */
START_TEST(rec_gemm_matches_loops)
{
    const int Ns[] = {1, 5, 12, 13, 20, 25}, Ms[] = {1, 7, 16, 17, 32, 33, 128}, Ks[] = {1, 3, 128, 300};
    dlx_rng r;
    dlx_rng_init(&r, 5, 3);
    enum { SZ = 302 * 131 }; /* the largest of A, B and C with their strides */
    float *a = malloc(SZ * sizeof(float)), *b = malloc(SZ * sizeof(float));
    float *c0 = malloc(SZ * sizeof(float)), *c = malloc(SZ * sizeof(float)), *c1 = malloc(128 * sizeof(float));
    for (int i = 0; i < SZ; i++)
        a[i] = 2.0f * dlx_rng_uniform(&r) - 1.0f, b[i] = 2.0f * dlx_rng_uniform(&r) - 1.0f,
        c0[i] = 2.0f * dlx_rng_uniform(&r) - 1.0f;
    for (int ni = 0; ni < 6; ni++)
        for (int mi = 0; mi < 7; mi++)
            for (int ki = 0; ki < 4; ki++)
                for (int tr = 0; tr < 2; tr++) {
                    const int N = Ns[ni], M = Ms[mi], K = Ks[ki], ldc = M + 3, ldb = M + 1;
                    /* A row-major (N x K, row stride K + 2) or transposed (K x N, row stride N + 1) */
                    const ptrdiff_t ars = tr ? 1 : K + 2, aks = tr ? N + 1 : 1;
                    memcpy(c, c0, SZ * sizeof(float));
                    dlx_rec_gemm(N, M, K, a, ars, aks, b, ldb, c, ldc);
                    for (int i = 0; i < N; i++)
                        for (int j = 0; j < M; j++) {
                            double s = c0[i * ldc + j], mag = fabs(s);
                            for (int k = 0; k < K; k++) {
                                double t = (double)a[i * ars + k * aks] * b[k * ldb + j];
                                s += t, mag += fabs(t);
                            }
                            ck_assert_msg(fabs(c[i * ldc + j] - s) <= 1e-6 * mag + 1e-7, "N %d M %d K %d tr %d: "
                                          "C[%d][%d] %g, want %g", N, M, K, tr, i, j, c[i * ldc + j], s);
                        }
                    for (int j = M; j < ldc; j++) /* columns past M untouched */
                        ck_assert(c[(N - 1) * ldc + j] == c0[(N - 1) * ldc + j]);
#if defined(__AVX512F__) /* the kernel's promise; BLAS (the fallback) takes another path for one row */
                    /* the last row alone gives the same bits */
                    memcpy(c1, c0 + (N - 1) * ldc, M * sizeof(float));
                    dlx_rec_gemm(1, M, K, a + (N - 1) * ars, ars, aks, b, ldb, c1, M);
                    ck_assert(memcmp(c1, c + (N - 1) * ldc, M * sizeof(float)) == 0);
#endif
                }
    float *t = malloc(13 * 37 * sizeof(float));
    dlx_rec_transpose(37, 13, b, t);
    for (int i = 0; i < 37; i++)
        for (int j = 0; j < 13; j++)
            ck_assert(t[j * 37 + i] == b[i * 13 + j]);
    free(t);
    free(a), free(b), free(c0), free(c), free(c1);
}
END_TEST

Suite *rnn_suite(void)
{
    Suite *s = suite_create("rnn");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, rnn_bptt_matches_unrolled);
    tcase_add_test(tc, lstm_bptt_matches_unrolled);
    tcase_add_test(tc, orthogonal_transitions);
    tcase_add_test(tc, rec_gemm_matches_loops);
    suite_add_tcase(s, tc);
    return s;
}
