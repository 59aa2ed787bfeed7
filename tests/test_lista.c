/* Sparse coding: the shrink op, batched ISTA / FISTA / CoD (core/sparse.h),
 * the unrolled LISTA graph, and dlx reproduce's table machinery driven through
 * the sparse_coding family on a tiny PNG folder.
 */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/gradcheck.h"
#include "../core/ops/linear_small.h"
#include "../core/ops/ops.h"
#include "../core/png.h"
#include "../core/rng.h"
#include "../core/sparse.h"
#include "../experiments/registry.h"
#include "../experiments/reproduce.h"

/* A random problem: Wd (n x m) unit-norm columns, X (N x n) = Wd z + noise, z sparse. */
static void make_problem(int n, int m, int N, uint64_t seed, float *Wd, float *X)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, DLX_STREAM_USER);
    for (int i = 0; i < n * m; i++)
        Wd[i] = dlx_rng_normal(&r);
    for (int j = 0; j < m; j++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += (double)Wd[i * m + j] * Wd[i * m + j];
        for (int i = 0; i < n; i++)
            Wd[i * m + j] /= (float)sqrt(s);
    }
    for (int k = 0; k < N; k++)
        for (int i = 0; i < n; i++) {
            double v = 0.1 * dlx_rng_normal(&r);
            for (int j = 0; j < m; j += 5) /* every 5th atom active */
                v += (double)Wd[i * m + j] * (j % 2 ? 1.5 : -2.0) * (k % 3 + 1) / 3.0;
            X[k * n + i] = (float)v;
        }
}

START_TEST(test_shrink_values)
{
    dlx_params P;
    dlx_params_init(&P);
    dlx_err err;
    dlx_graph *g = dlx_graph_create(&P);
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_2d(2, 3), true, &err);
    int ti = dlx_params_declare(&P, "theta", dlx_shape_1d(3), (dlx_init){.kind = DLX_INIT_ZERO}, false, &err);
    dlx_node *th = dlx_graph_param(g, ti, &err);
    dlx_node *y = dlx_graph_op(g, &dlx_op_shrink, "y", (dlx_node *[]){x, th}, 2, NULL, DLX_NOLOC, &err);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
    ck_assert_int_eq(dlx_graph_compile(g, 0, &err), 0);
    const float xv[6] = {1.5f, -0.25f, 0.5f, -2.0f, 0.25f, -0.5f}, tv[3] = {0.5f, 0.25f, 1.0f};
    memcpy(x->out.data, xv, sizeof xv);
    memcpy(th->out.data, tv, sizeof tv);
    const dlx_ctx ctx = {.training = true};
    dlx_graph_forward(g, &ctx);
    const float want[6] = {1.0f, 0.0f, 0.0f, -1.5f, 0.0f, 0.0f};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(y->out.data[i], want[i]);
    /* backward with dy = 1: dx = mask, dtheta = -sum sign(x) over survivors */
    dlx_params_zero_grad(&P);
    const float ones[6] = {1, 1, 1, 1, 1, 1};
    dlx_graph_backward_from(g, y, ones, &ctx);
    const float dx[6] = {1, 0, 0, 1, 0, 0};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(x->out.grad[i], dx[i]);
    ck_assert_float_eq(th->out.grad[0], 0.0f); /* -1 (x=1.5) + 1 (x=-2) */
    ck_assert_float_eq(th->out.grad[1], 0.0f);
    ck_assert_float_eq(th->out.grad[2], 0.0f);
    dlx_graph_destroy(g);
    dlx_params_free(&P);
}
END_TEST

START_TEST(test_shrink_shape_error)
{
    dlx_params P;
    dlx_params_init(&P);
    dlx_err err;
    dlx_err_clear(&err);
    dlx_graph *g = dlx_graph_create(&P);
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_2d(2, 3), true, &err);
    int ti = dlx_params_declare(&P, "theta", dlx_shape_1d(4), (dlx_init){.kind = DLX_INIT_ZERO}, false, &err);
    dlx_node *th = dlx_graph_param(g, ti, &err);
    dlx_node *y = dlx_graph_op(g, &dlx_op_shrink, "y", (dlx_node *[]){x, th}, 2, NULL, DLX_NOLOC, &err);
    ck_assert_ptr_null(y);
    ck_assert_int_eq(err.code, DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "expected a threshold of shape [3] for input [2, 3], got [4]") != NULL, "%s", err.msg);
    dlx_graph_destroy(g);
    dlx_params_free(&P);
}
END_TEST

/* A reserved workspace and a dictionary swapped in place give the same bits
 * as fresh solver state: what dictionary learning relies on to allocate
 * nothing per step. Calls larger than the workspace still work. */
START_TEST(test_solver_workspace_and_new_dictionary)
{
    enum { n = 20, m = 30, N = 40 };
    float *Wd1 = malloc(n * m * sizeof(float)), *Wd2 = malloc(n * m * sizeof(float));
    float *X = malloc(N * n * sizeof(float)), *X2 = malloc(N * n * sizeof(float));
    float *Za = malloc(N * m * sizeof(float)), *Zb = malloc(N * m * sizeof(float));
    make_problem(n, m, N, 7, Wd1, X);
    make_problem(n, m, N, 8, Wd2, X2);
    dlx_err err;
    dlx_sparse fresh, reused;
    ck_assert_int_eq(dlx_sparse_init(&reused, Wd1, n, m, 0.3f, &err), 0);
    ck_assert_int_eq(dlx_sparse_reserve(&reused, N / 2, &err), 0);
    ck_assert_int_eq(dlx_sparse_set_dictionary(&reused, Wd2, &err), 0);
    ck_assert_int_eq(dlx_sparse_init(&fresh, Wd2, n, m, 0.3f, &err), 0);
    ck_assert_float_eq(reused.L, fresh.L);
    for (int a = 0; a < 3; a++) {
        for (int rows = N / 2; rows <= N; rows += N / 2) { /* within, then beyond the workspace */
            dlx_sparse_opts o1 = {.max_iters = a == DLX_SPARSE_COD ? 200 : 50}, o2 = o1;
            ck_assert_int_eq(dlx_sparse_solve(&fresh, (dlx_sparse_algo)a, X, rows, Za, &o1, &err), 0);
            ck_assert_int_eq(dlx_sparse_solve(&reused, (dlx_sparse_algo)a, X, rows, Zb, &o2, &err), 0);
            ck_assert_mem_eq(Za, Zb, (size_t)rows * m * sizeof(float));
            ck_assert_double_eq(dlx_sparse_energy(&fresh, X, Za, rows, NULL),
                                dlx_sparse_energy(&reused, X, Zb, rows, NULL));
        }
    }
    memset(Wd2, 0, n * m * sizeof(float));
    ck_assert_int_eq(dlx_sparse_set_dictionary(&reused, Wd2, &err), DLX_EINVAL);
    dlx_sparse_free(&fresh);
    dlx_sparse_free(&reused);
    free(Wd1);
    free(Wd2);
    free(X);
    free(X2);
    free(Za);
    free(Zb);
}
END_TEST

/* ISTA, FISTA and CoD reach one energy within 1e-4 relative; FISTA is faster than ISTA. */
START_TEST(test_exact_solvers_agree)
{
    enum { n = 20, m = 30, N = 40, K = 3000 };
    float *Wd = malloc(n * m * sizeof(float)), *X = malloc(N * n * sizeof(float)), *Z = malloc(N * m * sizeof(float));
    double *e[3];
    make_problem(n, m, N, 7, Wd, X);
    dlx_sparse sp;
    dlx_err err;
    ck_assert_int_eq(dlx_sparse_init(&sp, Wd, n, m, 0.3f, &err), 0);
    double final[3];
    for (int a = 0; a < 3; a++) {
        e[a] = malloc(K * m * sizeof(double));
        dlx_sparse_opts o = {.max_iters = a == DLX_SPARSE_COD ? K * m : K, .energy = e[a]};
        ck_assert_int_eq(dlx_sparse_solve(&sp, (dlx_sparse_algo)a, X, N, Z, &o, &err), 0);
        final[a] = dlx_sparse_energy(&sp, X, Z, N, NULL);
        /* the trace ends at the energy of the returned codes */
        if (a != DLX_SPARSE_COD)
            ck_assert_double_eq_tol(e[a][o.max_iters - 1], final[a], 1e-9 * final[a]);
    }
    double best = fmin(final[0], fmin(final[1], final[2]));
    for (int a = 0; a < 3; a++)
        ck_assert_msg((final[a] - best) / best < 1e-4, "solver %d: energy %.8g, best %.8g", a, final[a], best);
    /* iterations to come within 1e-4 of the best */
    int hit[2] = {-1, -1};
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < K && hit[a] < 0; k++)
            if (e[a][k] - best <= 1e-4 * best)
                hit[a] = k + 1;
    ck_assert_int_gt(hit[1], 0);
    ck_assert_int_gt(hit[0], 0);
    ck_assert_msg(hit[1] * 2 < hit[0], "FISTA %d iterations, ISTA %d", hit[1], hit[0]);
    for (int a = 0; a < 3; a++)
        free(e[a]);
    dlx_sparse_free(&sp);
    free(Wd);
    free(X);
    free(Z);
}
END_TEST

START_TEST(test_solver_tolerance_and_records)
{
    enum { n = 10, m = 12, N = 5 };
    float Wd[n * m], X[N * n], Z[N * m], r2[N * m], r5[N * m], ref[N * m];
    make_problem(n, m, N, 3, Wd, X);
    dlx_sparse sp;
    dlx_err err;
    ck_assert_int_eq(dlx_sparse_init(&sp, Wd, n, m, 0.2f, &err), 0);
    int at[2] = {2, 5};
    float *rec[2] = {r2, r5};
    dlx_sparse_opts o = {.max_iters = 5, .record_at = at, .n_record = 2, .record = rec};
    ck_assert_int_eq(dlx_sparse_solve(&sp, DLX_SPARSE_FISTA, X, N, Z, &o, &err), 0);
    ck_assert_int_eq(memcmp(r5, Z, sizeof Z), 0);
    dlx_sparse_opts o2 = {.max_iters = 2};
    ck_assert_int_eq(dlx_sparse_solve(&sp, DLX_SPARSE_FISTA, X, N, ref, &o2, &err), 0);
    ck_assert_int_eq(memcmp(r2, ref, sizeof ref), 0);
    dlx_sparse_opts o3 = {.max_iters = 100000, .tol = 1e-5};
    ck_assert_int_eq(dlx_sparse_solve(&sp, DLX_SPARSE_ISTA, X, N, Z, &o3, &err), 0);
    ck_assert_int_lt(o3.iters_done, 100000);
    ck_assert_int_gt(o3.iters_done, 2);
    int bad[2] = {5, 2};
    dlx_sparse_opts o4 = {.max_iters = 5, .record_at = bad, .n_record = 2, .record = rec};
    ck_assert_int_eq(dlx_sparse_solve(&sp, DLX_SPARSE_ISTA, X, N, Z, &o4, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "sparse coding: record_at must be ascending");
    dlx_sparse_free(&sp);
}
END_TEST

/* ISTA and FISTA give the same bits on 1, 2 and 3 workers: 150 rows are three
 * blocks, the last one short; with a tolerance stop, energies and records, and
 * without any (each block then runs alone). */
START_TEST(test_solver_threads_bitwise)
{
    enum { n = 30, m = 40, N = 150, K = 500 };
    float *Wd = malloc(n * m * sizeof(float)), *X = malloc(N * n * sizeof(float));
    float *Z[3], *rec[3];
    double *e[3];
    make_problem(n, m, N, 11, Wd, X);
    dlx_sparse sp;
    dlx_err err;
    ck_assert_int_eq(dlx_sparse_init(&sp, Wd, n, m, 0.2f, &err), 0);
    int at[1] = {7};
    for (int a = 0; a < 2; a++)
        for (int tol = 0; tol < 2; tol++) {
            int done[3];
            for (int w = 0; w < 3; w++) {
                Z[w] = malloc(N * m * sizeof(float));
                rec[w] = malloc(N * m * sizeof(float));
                e[w] = malloc(K * sizeof(double));
                dlx_sparse_opts o = {.max_iters = K, .tol = tol ? 1e-3 : 0.0, .energy = e[w], .record_at = at,
                                     .n_record = 1, .record = &rec[w], .threads = w + 1};
                ck_assert_int_eq(dlx_sparse_solve(&sp, (dlx_sparse_algo)a, X, N, Z[w], &o, &err), 0);
                done[w] = o.iters_done;
            }
            if (tol)
                ck_assert_int_lt(done[0], K);
            else /* no hooks, no tolerance: blocks run all their iterations alone; same bits */
                for (int w = 0; w < 3; w++) {
                    float *Zp = malloc(N * m * sizeof(float));
                    dlx_sparse_opts plain = {.max_iters = K, .threads = w + 1};
                    ck_assert_int_eq(dlx_sparse_solve(&sp, (dlx_sparse_algo)a, X, N, Zp, &plain, &err), 0);
                    ck_assert_int_eq(plain.iters_done, K);
                    ck_assert_int_eq(memcmp(Zp, Z[0], N * m * sizeof(float)), 0);
                    free(Zp);
                }
            for (int w = 1; w < 3; w++) {
                ck_assert_int_eq(done[w], done[0]);
                ck_assert_int_eq(memcmp(Z[w], Z[0], N * m * sizeof(float)), 0);
                ck_assert_int_eq(memcmp(rec[w], rec[0], N * m * sizeof(float)), 0);
                ck_assert_int_eq(memcmp(e[w], e[0], K * sizeof(double)), 0);
            }
            for (int w = 0; w < 3; w++) {
                free(Z[w]);
                free(rec[w]);
                free(e[w]);
            }
        }
    dlx_sparse_free(&sp);
    free(Wd);
    free(X);
}
END_TEST

/* The LISTA graph as models/lista.c builds it. */
typedef struct lista_g {
    dlx_params P;
    dlx_graph *g;
    dlx_node *x, *zs, *z, *loss;
    int we, s, th;
} lista_g;

static void lista_build(lista_g *L, int N, int n, int m, int T)
{
    dlx_err err;
    memset(L, 0, sizeof *L);
    dlx_params_init(&L->P);
    dlx_init zero = {.kind = DLX_INIT_ZERO};
    L->we = dlx_params_declare(&L->P, "We", dlx_shape_2d(m, n), zero, false, &err);
    L->s = dlx_params_declare(&L->P, "S", dlx_shape_2d(m, m), zero, false, &err);
    L->th = dlx_params_declare(&L->P, "theta", dlx_shape_1d(m), zero, false, &err);
    L->g = dlx_graph_create(&L->P);
    dlx_linear_attr lin = {.act = DLX_ACT_NONE};
    dlx_mse_attr mse = {.mode = DLX_MSE_HALF_SUM};
    L->x = dlx_graph_input(L->g, "X", dlx_shape_2d(N, n), false, &err);
    L->zs = dlx_graph_input(L->g, "Zstar", dlx_shape_2d(N, m), false, &err);
    dlx_node *we = dlx_graph_param(L->g, L->we, &err), *s = dlx_graph_param(L->g, L->s, &err),
             *th = dlx_graph_param(L->g, L->th, &err);
    dlx_node *b = dlx_graph_op(L->g, &dlx_op_linear, "B", (dlx_node *[]){L->x, we}, 2, &lin, DLX_NOLOC, &err);
    dlx_node *z = dlx_graph_op(L->g, &dlx_op_shrink, "Z0", (dlx_node *[]){b, th}, 2, NULL, DLX_NOLOC, &err);
    for (int t = 0; t < T; t++) {
        dlx_node *sz = dlx_graph_op(L->g, &dlx_op_linear, NULL, (dlx_node *[]){z, s}, 2, &lin, DLX_NOLOC, &err);
        dlx_node *c = dlx_graph_op(L->g, &dlx_op_add, NULL, (dlx_node *[]){b, sz}, 2, NULL, DLX_NOLOC, &err);
        z = dlx_graph_op(L->g, &dlx_op_shrink, NULL, (dlx_node *[]){c, th}, 2, NULL, DLX_NOLOC, &err);
        ck_assert_ptr_nonnull(z);
    }
    L->z = z;
    L->loss = dlx_graph_op(L->g, &dlx_op_mse, "loss", (dlx_node *[]){z, L->zs}, 2, &mse, DLX_NOLOC, &err);
    ck_assert_ptr_nonnull(L->loss);
    ck_assert_int_eq(dlx_params_finalize(&L->P, &err), 0);
    ck_assert_int_eq(dlx_graph_compile(L->g, 0, &err), 0);
    /* tied: one S node, read by the T unrolled steps */
    ck_assert_int_eq(L->P.items[L->s].n_uses, 1);
    int readers = 0;
    for (int i = 0; i < L->g->n; i++)
        for (int k = 0; k < L->g->nodes[i]->n_in; k++)
            readers += L->g->nodes[i]->in[k] == s;
    ck_assert_int_eq(readers, T);
}

static void lista_free(lista_g *L)
{
    dlx_graph_destroy(L->g);
    dlx_params_free(&L->P);
}

/* Untrained LISTA (We = Wd^T/L, S = I - Wd^T Wd/L, theta = alpha/L) at depth
 * T = ISTA's iterate T+1, bit for bit, for T = 0..4 on N samples (ISTA on
 * `threads` workers). */
static void check_lista_is_ista(int n, int m, int N, int threads)
{
    float *Wd = malloc(sizeof(float) * n * m), *X = malloc(sizeof(float) * N * n), *Z = malloc(sizeof(float) * N * m);
    make_problem(n, m, N, 11, Wd, X);
    dlx_sparse sp;
    dlx_err err;
    ck_assert_int_eq(dlx_sparse_init(&sp, Wd, n, m, 0.25f, &err), 0);
    for (int T = 0; T <= 4; T++) {
        lista_g L;
        lista_build(&L, N, n, m, T);
        memcpy(L.P.items[L.we].t.data, sp.We, sizeof(float) * m * n);
        memcpy(L.P.items[L.s].t.data, sp.S, sizeof(float) * m * m);
        memcpy(L.P.items[L.th].t.data, sp.theta, sizeof(float) * m);
        memcpy(L.x->out.data, X, sizeof(float) * N * n);
        const dlx_ctx ctx = {.training = false};
        dlx_graph_forward(L.g, &ctx);
        dlx_sparse_opts o = {.max_iters = T + 1, .threads = threads};
        ck_assert_int_eq(dlx_sparse_solve(&sp, DLX_SPARSE_ISTA, X, N, Z, &o, &err), 0);
        int nonzero = 0;
        for (int i = 0; i < N * m; i++)
            nonzero += Z[i] != 0.0f;
        ck_assert_int_gt(nonzero, 0);
        ck_assert_msg(memcmp(L.z->out.data, Z, sizeof(float) * N * m) == 0,
                      "n %d, m %d, N %d, T = %d: LISTA differs from ISTA", n, m, N, T);
        lista_free(&L);
    }
    dlx_sparse_free(&sp);
    free(Wd);
    free(X);
    free(Z);
}

/* ISTA computes each product with the linear op's kernel choice for the
 * batch (core/sparse.c), so the bits agree on builds with the small kernel
 * (AVX-512) and without it (BLAS on both sides). */
START_TEST(test_lista_init_is_ista)
{
    /* one row block; both products small: the kernel where the build has it */
    check_lista_is_ista(16, 24, 9, 1);
    /* B = X We^T (12 long rows of 144) goes to BLAS, Z S^T to the kernel */
    ck_assert(!dlx_linear_small_use(9, 12, 144));
    check_lista_is_ista(144, 12, 9, 1);
    /* 130 rows are row blocks of 64, 64 and 2 in the solver, on 2 workers:
     * the kernel's choice is made on the whole batch, as the op makes it
     * (the rule alone would send the 2-row block to BLAS, which sums the 4
     * tail columns of m = 28 in another order: this case then fails).
     * Without the kernel both sides are BLAS, whose bits may depend on the
     * row count (OpenBLAS's Haswell kernels: they do), so only builds with
     * it check. */
    if (dlx_linear_small_use(130, 28, 16) && dlx_linear_small_use(130, 28, 28)) {
        ck_assert(!dlx_linear_small_use(2, 28, 28));
        check_lista_is_ista(16, 28, 130, 2);
    }
}
END_TEST

/* Gradients of the whole unrolled graph (tied We, S, theta) against finite differences. */
START_TEST(test_lista_gradcheck)
{
    enum { n = 8, m = 10, N = 3, T = 3 };
    float Wd[n * m], X[N * n];
    make_problem(n, m, N, 5, Wd, X);
    dlx_sparse sp;
    dlx_err err;
    ck_assert_int_eq(dlx_sparse_init(&sp, Wd, n, m, 0.1f, &err), 0);
    lista_g L;
    lista_build(&L, N, n, m, T);
    memcpy(L.P.items[L.we].t.data, sp.We, sizeof(float) * m * n);
    memcpy(L.P.items[L.s].t.data, sp.S, sizeof(float) * m * m);
    memcpy(L.P.items[L.th].t.data, sp.theta, sizeof(float) * m);
    memcpy(L.x->out.data, X, sizeof X);
    for (int i = 0; i < N * m; i++)
        L.zs->out.data[i] = 0.2f * (float)((i % 5) - 2);
    dlx_gradcheck_opts o = dlx_gradcheck_defaults();
    dlx_gradcheck_report rep;
    const dlx_ctx ctx = {.training = true};
    ck_assert_int_eq(dlx_gradcheck_graph(L.g, L.loss, &ctx, &o, &rep, &err), 0);
    ck_assert_int_gt(rep.checked, 20);
    ck_assert_msg(rep.failed == 0, "%d of %d failed, worst %s", rep.failed, rep.checked, rep.worst);
    ck_assert_msg(rep.max_rel_err < 1e-2, "relative error %g, worst %s", rep.max_rel_err, rep.worst);
    /* S is tied across the T steps: its gradient is not zero */
    double gs = 0.0;
    for (int i = 0; i < m * m; i++)
        gs += fabs(L.P.items[L.s].t.grad[i]);
    ck_assert(gs > 0.0);
    lista_free(&L);
    dlx_sparse_free(&sp);
}
END_TEST

/* The lcod op at CoD's values (We = Wd^T, S = I - Wd^T Wd, theta = alpha) gives CoD's output after T updates. */
START_TEST(test_lcod_init_is_cod)
{
    enum { n = 12, m = 16, N = 6 };
    float Wd[n * m], X[N * n], Z[N * m];
    make_problem(n, m, N, 21, Wd, X);
    dlx_sparse sp;
    dlx_err err;
    ck_assert_int_eq(dlx_sparse_init(&sp, Wd, n, m, 0.3f, &err), 0);
    for (int T = 1; T <= 40; T += 13) {
        dlx_params P;
        dlx_params_init(&P);
        dlx_init zero = {.kind = DLX_INIT_ZERO};
        int iw = dlx_params_declare(&P, "We", dlx_shape_2d(m, n), zero, false, &err);
        int is = dlx_params_declare(&P, "S", dlx_shape_2d(m, m), zero, false, &err);
        int it = dlx_params_declare(&P, "theta", dlx_shape_1d(m), zero, false, &err);
        dlx_graph *g = dlx_graph_create(&P);
        dlx_node *x = dlx_graph_input(g, "X", dlx_shape_2d(N, n), false, &err);
        dlx_lcod_attr a = {.steps = T};
        dlx_node *in[4] = {x, dlx_graph_param(g, iw, &err), dlx_graph_param(g, is, &err), dlx_graph_param(g, it, &err)};
        dlx_node *z = dlx_graph_op(g, &dlx_op_lcod, "Z", in, 4, &a, DLX_NOLOC, &err);
        ck_assert_ptr_nonnull(z);
        ck_assert_int_eq(dlx_params_finalize(&P, &err), 0);
        ck_assert_int_eq(dlx_graph_compile(g, 0, &err), 0);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++)
                P.items[iw].t.data[i * n + j] = Wd[j * m + i];
            for (int j = 0; j < m; j++)
                P.items[is].t.data[i * m + j] = (i == j ? 1.0f : 0.0f) - sp.G[i * m + j];
            P.items[it].t.data[i] = 0.3f;
        }
        memcpy(x->out.data, X, sizeof X);
        dlx_graph_forward(g, &(dlx_ctx){.training = false});
        dlx_sparse_opts o = {.max_iters = T};
        ck_assert_int_eq(dlx_sparse_solve(&sp, DLX_SPARSE_COD, X, N, Z, &o, &err), 0);
        for (int i = 0; i < N * m; i++)
            ck_assert_msg(fabsf(z->out.data[i] - Z[i]) <= 1e-4f * (1.0f + fabsf(Z[i])), "T=%d i=%d: lcod %g, CoD %g", T,
                          i, (double)z->out.data[i], (double)Z[i]);
        dlx_graph_destroy(g);
        dlx_params_free(&P);
    }
    dlx_sparse_free(&sp);
}
END_TEST

/* ---- dlx reproduce through the sparse_coding family ---- */

static char g_dir[256];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void make_tiny_world(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/dlx_test_lista_%d", (int)getpid());
    char p[512];
    mkdir(g_dir, 0777);
    snprintf(p, sizeof p, "%s/img", g_dir);
    mkdir(p, 0777);
    dlx_rng r;
    dlx_rng_init(&r, 3, DLX_STREAM_USER);
    uint8_t px[40 * 30];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 40 * 30; i++)
            px[i] = (uint8_t)((i % 40) * 5 + (int)(40 * dlx_rng_uniform(&r)) + k * 20);
        dlx_err err;
        snprintf(p, sizeof p, "%s/img/im%d.png", g_dir, k);
        ck_assert_int_eq(dlx_png_write(p, px, 40, 30, 1, &err), 0);
    }
    snprintf(p, sizeof p, "%s/base.yaml", g_dir);
    char spec[1024];
    snprintf(spec, sizeof spec,
             "version: 1\nseed: 2\nmodel:\n  kind: sparse_coding\n  algorithm: fista\n  atoms: 8\n  alpha: 0.5\n"
             "  T: [1, 5]\n  dictionary: {steps: 3, batch: 16, infer_iters: 10}\n  optimal: {max_iters: 300, tol: 1.0e-6}\n"
             "data: {dataset: patches, dir: %s/img, patch: 3, train: 64, test: 16}\n",
             g_dir);
    write_file(p, spec);
    snprintf(p, sizeof p, "%s/lista.yaml", g_dir);
    write_file(p, "version: 1\nseed: 2\nmodel:\n  kind: sparse_coding\n  algorithm: lista\n  atoms: 8\n  alpha: 0.5\n"
                  "  T: [1]\ndata: {dataset: patches, patch: 3}\n"
                  "train: {epochs: 2, batch: 16, optimizer: {type: sgd, lr: 0.01}}\n");
    snprintf(p, sizeof p, "%s/table.yaml", g_dir);
    snprintf(spec, sizeof spec,
             "paper: Tiny table\nfamily: sparse_coding\nfigure: fig.png\nrows:\n"
             "  - name: dict\n    spec: %s/base.yaml\n    panel: small\n    label: FISTA\n"
             "    metrics: {err_T1: n/a, err_T5: 0.5}\n"
             "  - name: lista\n    spec: %s/lista.yaml\n    set: [\"model.dictionary.from={out}/dict\"]\n    panel: small\n"
             "    metrics: {err_T1: n/a, nonsense: n/a}\n",
             g_dir, g_dir);
    write_file(p, spec);
}

static void remove_tree(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_reproduce_rows)
{
    make_tiny_world();
    char table[512], out[512], h5[600], md_line[256];
    snprintf(table, sizeof table, "%s/table.yaml", g_dir);
    snprintf(out, sizeof out, "%s/out", g_dir);
    dlx_repro *r;
    dlx_err err;
    dlx_err_clear(&err);
    ck_assert_msg(dlx_repro_load(table, out, &r, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(r->n_rows, 2);
    ck_assert_str_eq(r->rows[1].sets[0], "model.dictionary.from={out}/dict");
    for (int i = 0; i < 2; i++)
        ck_assert_msg(dlx_repro_run_row(r, i, NULL, 1, &err) == 0, "row %d: %s", i, err.msg);
    ck_assert(r->rows[0].metrics[0].ours_set);
    ck_assert(r->rows[0].metrics[0].ours > r->rows[0].metrics[1].ours); /* FISTA improves from T=1 to T=5 */
    ck_assert(r->rows[1].metrics[0].ours_set);
    ck_assert(!r->rows[1].metrics[1].ours_set);
    snprintf(h5, sizeof h5, "%s/results.h5", out);
    ck_assert_msg(dlx_repro_write_h5(r, h5, &err) == 0, "%s", err.msg);
    char *md = dlx_repro_markdown(r);
    ck_assert_ptr_nonnull(md);
    ck_assert(strncmp(md, "Tiny table\n\n| row | metric | paper | ours |\n| --- | --- | --- | --- |\n", 68) == 0);
    snprintf(md_line, sizeof md_line, "| dict | err_T5 | 0.5 | %.4g |\n", r->rows[0].metrics[1].ours);
    ck_assert_msg(strstr(md, md_line) != NULL, "%s", md);
    ck_assert(strstr(md, "| lista | nonsense | n/a | missing |\n") != NULL);
    free(md);
    /* results.h5: a float64 per result, the paper's text as an attribute */
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    hid_t d = H5Dopen2(f, "/rows/dict/err_T5", H5P_DEFAULT);
    ck_assert(d >= 0);
    double v = 0;
    ck_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0);
    ck_assert_double_eq(v, r->rows[0].metrics[1].ours);
    ck_assert(H5Aexists(d, "paper") > 0);
    H5Dclose(d);
    H5Fclose(f);
    /* the family's figure script */
    char png[600], gp[600];
    snprintf(png, sizeof png, "%s/fig.png", out);
    snprintf(gp, sizeof gp, "%s/fig.gp", out);
    const dlx_family *fam = dlx_family_find("sparse_coding");
    ck_assert(fam->figure != NULL);
    ck_assert_msg(fam->figure(h5, png, gp, &err) == 0, "%s", err.msg);
    FILE *fs = fopen(gp, "r");
    ck_assert_ptr_nonnull(fs);
    char text[4096];
    size_t got = fread(text, 1, sizeof text - 1, fs);
    text[got] = '\0';
    fclose(fs);
    ck_assert_msg(strstr(text, "set logscale xy") && strstr(text, "set title 'small'") &&
                      strstr(text, "title 'FISTA'") && strstr(text, "title 'lista'"),
                  "%s", text);
    dlx_repro_destroy(r);
    remove_tree();
}
END_TEST

START_TEST(test_reproduce_spec_errors)
{
    make_tiny_world();
    char p[512];
    dlx_repro *r;
    dlx_err err;
    snprintf(p, sizeof p, "%s/dup.yaml", g_dir);
    write_file(p, "paper: X\nrows:\n  - {name: a, spec: s.yaml}\n  - {name: a, spec: t.yaml}\n");
    ck_assert_int_eq(dlx_repro_load(p, "/tmp/none", &r, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg, "rows[1]: the name 'a' is already used by rows[0]");
    ck_assert_int_eq(err.line, 4);
    write_file(p, "paper: X\nrows:\n  - {name: a, spec: s.yaml, metric: {x: 1}}\n");
    ck_assert_int_eq(dlx_repro_load(p, "/tmp/none", &r, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "'metric' is not a key of rows[0]; did you mean 'metrics'?") != NULL, "%s", err.msg);
    write_file(p, "paper: X\nfamily: sparse_codin\nrows:\n  - {name: a, spec: s.yaml}\n");
    ck_assert_int_eq(dlx_repro_load(p, "/tmp/none", &r, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "family: unknown model kind 'sparse_codin'") != NULL, "%s", err.msg);
    write_file(p, "paper: X\nrows:\n  - {name: 'a b', spec: s.yaml}\n");
    ck_assert_int_eq(dlx_repro_load(p, "/tmp/none", &r, &err), DLX_EINVAL);
    ck_assert_msg(strstr(err.msg, "expected letters, digits, '_', '-' or '.' (at most 63), got 'a b'") != NULL, "%s",
                  err.msg);
    /* a row whose base spec is missing fails with the row's name in front */
    write_file(p, "paper: X\nrows:\n  - {name: a, spec: /nonexistent/s.yaml}\n");
    ck_assert_int_eq(dlx_repro_load(p, "/tmp/none", &r, &err), 0);
    ck_assert_int_eq(dlx_repro_run_row(r, 0, NULL, 1, &err), DLX_EIO);
    ck_assert_msg(strncmp(err.msg, "row 'a': ", 9) == 0, "%s", err.msg);
    dlx_repro_destroy(r);
    /* a sparse_coding spec pointing at a run without codes.h5 */
    snprintf(p, sizeof p, "%s/t2.yaml", g_dir);
    char t[1024];
    snprintf(t, sizeof t, "paper: X\nrows:\n  - {name: l, spec: %s/lista.yaml, set: [\"model.dictionary.from={out}/nowhere\"]}\n",
             g_dir);
    write_file(p, t);
    char out[512];
    snprintf(out, sizeof out, "%s/out2", g_dir);
    ck_assert_int_eq(dlx_repro_load(p, out, &r, &err), 0);
    ck_assert_int_eq(dlx_repro_run_row(r, 0, NULL, 1, &err), DLX_EIO);
    ck_assert_msg(strstr(err.msg, "no codes file: model.dictionary.from must name the run directory") != NULL, "%s",
                  err.msg);
    dlx_repro_destroy(r);
    remove_tree();
}
END_TEST

Suite *lista_suite(void)
{
    Suite *s = suite_create("lista");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shrink_values);
    tcase_add_test(tc, test_shrink_shape_error);
    tcase_add_test(tc, test_exact_solvers_agree);
    tcase_add_test(tc, test_solver_workspace_and_new_dictionary);
    tcase_add_test(tc, test_solver_tolerance_and_records);
    tcase_add_test(tc, test_solver_threads_bitwise);
    tcase_add_test(tc, test_lista_init_is_ista);
    tcase_add_test(tc, test_lista_gradcheck);
    tcase_add_test(tc, test_lcod_init_is_cod);
    tcase_add_test(tc, test_reproduce_rows);
    tcase_add_test(tc, test_reproduce_spec_errors);
    suite_add_tcase(s, tc);
    return s;
}
