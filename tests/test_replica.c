/* Replicas (train/replica.c): the fused reduce + update + zero gives the bits
 * of the plain path (whole-store reduce, then dlx_optim_step), for any number
 * of threads, and leaves every gradient block zeroed for the next step; a
 * memory limit refuses the run before the store is allocated. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "../core/ops/ops.h"
#include "../train/run.h"
#include "../train/replica.h"

enum { N_REP = 3, ROWS = 4, IN = 300, OUT = 256, STEPS = 3 }; /* 76,800 weights: the update takes a team */

typedef struct fixture {
    dlx_model m; /* only its memory limit */
    dlx_params p;
    dlx_optim *o;
    dlx_replicas rs;
    dlx_node *x[N_REP], *t[N_REP], *loss[N_REP];
    int64_t step;
} fixture;

/* Replica k: y = W x, loss mse against a target (dlx_replica_build_fn). */
static int build(void *user, int k, dlx_graph **out, dlx_err *err)
{
    fixture *f = user;
    int w = dlx_params_declare(&f->p, "w", dlx_shape_2d(OUT, IN), (dlx_init){.kind = DLX_INIT_UNIFORM, .a = 0.1f},
                               true, err);
    ck_assert_int_ge(w, 0);
    dlx_graph *g = dlx_graph_create(&f->p);
    f->x[k] = dlx_graph_input(g, "x", dlx_shape_2d(ROWS, IN), false, err);
    f->t[k] = dlx_graph_input(g, "t", dlx_shape_2d(ROWS, OUT), false, err);
    dlx_node *wn = dlx_graph_param(g, w, err);
    dlx_linear_attr la = {0};
    dlx_node *y = dlx_graph_op(g, &dlx_op_linear, "y", (dlx_node *[]){f->x[k], wn}, 2, &la, DLX_NOLOC, err);
    dlx_mse_attr ma = {0};
    f->loss[k] = dlx_graph_op(g, &dlx_op_mse, "loss", (dlx_node *[]){y, f->t[k]}, 2, &ma, DLX_NOLOC, err);
    ck_assert_ptr_nonnull(f->loss[k]);
    *out = g;
    return 0;
}

/* N_REP replicas on `threads` threads; clip > 0 takes the plain path. */
static void setup(fixture *f, int threads, double clip)
{
    memset(f, 0, sizeof *f);
    dlx_params_init(&f->p);
    dlx_replicas_init(&f->rs, &f->p, N_REP, threads);
    ck_assert_int_eq(f->rs.op_threads, 1);
    dlx_optim_cfg cfg = {.kind = DLX_OPTIM_SGD, .lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3,
                         .grad_clip = clip};
    f->m.plan.n_optims = 1;
    f->m.plan.optims[0].cfg = cfg;
    ck_assert_int_eq(dlx_replicas_build(&f->rs, &f->m, 0.0, build, f, NULL), 0);
    dlx_params_init_values(&f->p, 7, NULL);
    ck_assert_int_eq(dlx_optim_create(&cfg, &f->p, &f->o, NULL), 0);
    dlx_optim_set_threads(f->o, threads);
}

static void teardown(fixture *f)
{
    dlx_replicas_free(&f->rs);
    dlx_optim_destroy(f->o);
    dlx_params_free(&f->p);
}

/* Replica k's inputs: different data per replica and step. */
static void run_replica(void *user, int k)
{
    fixture *f = user;
    for (int64_t i = 0; i < f->x[k]->out.numel; i++)
        f->x[k]->out.data[i] = sinf(0.37f * (float)i + 1.3f * (float)k + 0.7f * (float)f->step);
    for (int64_t i = 0; i < f->t[k]->out.numel; i++)
        f->t[k]->out.data[i] = cosf(0.11f * (float)i - 0.9f * (float)k);
    dlx_replicas_forward_backward(&f->rs, k, f->loss[k], NULL, 1, f->step);
}

/* STEPS steps; the weights after them into w. */
static void train(int threads, double clip, float *w)
{
    fixture f;
    setup(&f, threads, clip);
    for (f.step = 0; f.step < STEPS; f.step++) {
        dlx_optim_consts oc;
        dlx_optim_prepare(f.o, 0.1, &oc);
        bool fused = !dlx_optim_clips(f.o);
        double loss = dlx_replicas_step(&f.rs, f.loss, f.o, fused ? &oc : NULL, run_replica, &f);
        ck_assert(isfinite(loss) && loss > 0);
        dlx_replicas_end_step(&f.rs, f.o, 0.1, fused);
        if (fused) { /* every block zeroed for the next step */
            for (int k = 0; k < N_REP; k++) {
                const float *g = k == 0 ? f.p.grads : f.rs.r[k].grads;
                for (int64_t i = 0; i < f.p.total; i++)
                    ck_assert_msg(g[i] == 0.0f, "block %d element %lld not zeroed", k, (long long)i);
            }
        }
    }
    memcpy(w, f.p.values, (size_t)f.p.total * sizeof *w);
    teardown(&f);
}

START_TEST(fused_update_matches_plain_path_for_any_thread_count)
{
    static float plain[OUT * IN], fused[OUT * IN], init[OUT * IN];
    /* a clip no gradient reaches: the plain path, with the same update */
    train(1, 1e30, plain);
    fixture f;
    setup(&f, 1, 0.0);
    memcpy(init, f.p.values, sizeof init);
    teardown(&f);
    ck_assert_msg(memcmp(plain, init, sizeof init) != 0, "training changed nothing");
    for (int threads = 1; threads <= N_REP + 1; threads++) {
        train(threads, 0.0, fused);
        ck_assert_msg(memcmp(plain, fused, sizeof plain) == 0, "%d threads: fused update differs", threads);
        train(threads, 1e30, fused);
        ck_assert_msg(memcmp(plain, fused, sizeof plain) == 0, "%d threads: plain update differs", threads);
    }
}
END_TEST

/* 3 replicas of 76,800 weights: parameters, 3 gradient blocks, a momentum
 * slot and 3 arenas are 2.5 MB; a 1 MB limit stops the run before the store
 * or an arena is allocated, 4 MB lets it through. */
START_TEST(memory_limit_refuses_before_allocating)
{
    fixture f;
    memset(&f, 0, sizeof f);
    f.m.max_memory = 1000000;
    dlx_params_init(&f.p);
    dlx_replicas_init(&f.rs, &f.p, N_REP, 1);
    dlx_optim_cfg cfg = {.kind = DLX_OPTIM_SGD, .lr = 0.1, .momentum = 0.9};
    f.m.plan.n_optims = 1;
    f.m.plan.optims[0].cfg = cfg;
    dlx_err err;
    dlx_err_clear(&err);
    ck_assert_int_eq(dlx_replicas_build(&f.rs, &f.m, 0.0, build, &f, &err), DLX_ENOMEM);
    ck_assert_msg(strstr(err.msg, "3 blocks") != NULL, "%s", err.msg);
    ck_assert(!f.p.final && f.p.values == NULL);
    for (int k = 0; k < N_REP; k++)
        ck_assert_ptr_null(f.rs.r[k].g);
    /* the same run under a limit it fits */
    f.m.max_memory = 4000000;
    dlx_params_free(&f.p);
    dlx_params_init(&f.p);
    ck_assert_int_eq(dlx_replicas_build(&f.rs, &f.m, 0.0, build, &f, &err), 0);
    ck_assert(f.p.final);
    for (int k = 0; k < N_REP; k++)
        ck_assert_ptr_nonnull(f.rs.r[k].g);
    dlx_replicas_free(&f.rs);
    dlx_params_free(&f.p);
}
END_TEST
/* Two networks, a -> b: y = B relu(A x), loss mse. A masked backward for
 * group "b" writes B's gradient (the bits of the full backward) and leaves
 * A's block untouched; for group "a" it writes A's and leaves B's. An
 * optimizer over group "b" changes only B, and clips by B's norm alone. */
START_TEST(masked_backward_and_group_optimizer)
{
    dlx_params p;
    dlx_params_init(&p);
    dlx_init ini = {.kind = DLX_INIT_UNIFORM, .a = 0.5f};
    ck_assert_int_eq(dlx_params_begin_group(&p, "a", NULL), 0);
    int a = dlx_params_declare(&p, "a.w", dlx_shape_2d(5, 4), ini, true, NULL);
    ck_assert_int_eq(dlx_params_begin_group(&p, "b", NULL), 0);
    int b = dlx_params_declare(&p, "b.w", dlx_shape_2d(3, 5), ini, true, NULL);
    ck_assert_int_eq(p.items[a].group, 1);
    ck_assert_int_eq(p.items[b].group, 2);
    dlx_graph *g = dlx_graph_create(&p);
    dlx_node *x = dlx_graph_input(g, "x", dlx_shape_2d(2, 4), false, NULL);
    dlx_node *t = dlx_graph_input(g, "t", dlx_shape_2d(2, 3), false, NULL);
    dlx_linear_attr relu = {.act = DLX_ACT_RELU}, none = {0};
    dlx_node *h = dlx_graph_op(g, &dlx_op_linear, "h", (dlx_node *[]){x, dlx_graph_param(g, a, NULL)}, 2, &relu,
                               DLX_NOLOC, NULL);
    dlx_node *y = dlx_graph_op(g, &dlx_op_linear, "y", (dlx_node *[]){h, dlx_graph_param(g, b, NULL)}, 2, &none,
                               DLX_NOLOC, NULL);
    dlx_mse_attr ma = {0};
    dlx_node *loss = dlx_graph_op(g, &dlx_op_mse, "loss", (dlx_node *[]){y, t}, 2, &ma, DLX_NOLOC, NULL);
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_eq(dlx_params_finalize(&p, NULL), 0);
    dlx_params_init_values(&p, 3, NULL);
    ck_assert_int_eq(dlx_graph_compile(g, 0, NULL), 0);
    for (int i = 0; i < 8; i++)
        x->out.data[i] = 0.3f * (float)(i - 3);
    for (int i = 0; i < 6; i++)
        t->out.data[i] = 0.1f * (float)i;
    const dlx_ctx ctx = {.training = true, .threads = 1};
    dlx_graph_forward(g, &ctx);
    const float want_loss = loss->out.data[0];
    memset(y->out.data, 0, 6 * sizeof(float));
    loss->out.data[0] = -1.0f;
    dlx_graph_forward_to(g, loss, &ctx); /* every node is an ancestor of the loss here */
    ck_assert(loss->out.data[0] == want_loss);
    dlx_graph_backward(g, loss, &ctx);
    float full[35];
    memcpy(full, p.grads, sizeof full);
    for (int grp = 1; grp <= 2; grp++) {
        bool on[2] = {grp == 1, grp == 2};
        dlx_params_zero_grad(&p);
        dlx_graph_backward_masked(g, loss, on, &ctx);
        const float *ga = p.items[a].t.grad, *gb = p.items[b].t.grad;
        for (int i = 0; i < 20; i++)
            ck_assert(grp == 1 ? ga[i] == full[i] : ga[i] == 0.0f);
        for (int i = 0; i < 15; i++)
            ck_assert(grp == 2 ? gb[i] == full[20 + i] : gb[i] == 0.0f);
    }
    /* the optimizer over group b */
    dlx_optim_cfg cfg = {.kind = DLX_OPTIM_SGD, .lr = 0.1, .grad_clip = 1e-3};
    bool member[2] = {false, true};
    dlx_optim *o;
    ck_assert_int_eq(dlx_optim_create_over(&cfg, &p, member, &o, NULL), 0);
    ck_assert(dlx_optim_has(o, b) && !dlx_optim_has(o, a));
    ck_assert_ptr_nonnull(dlx_optim_members(o));
    float before[35];
    memcpy(p.grads, full, sizeof full);
    memcpy(before, p.values, sizeof before);
    double norm = dlx_optim_step(o, 0.1), want = 0.0;
    for (int i = 20; i < 35; i++)
        want += (double)full[i] * full[i];
    ck_assert(fabs(norm - sqrt(want)) <= 1e-6 * sqrt(want));
    for (int i = 0; i < 20; i++)
        ck_assert(p.values[i] == before[i] && p.grads[i] == full[i]);
    int changed = 0;
    for (int i = 20; i < 35; i++)
        changed += p.values[i] != before[i];
    ck_assert_int_gt(changed, 0);
    dlx_optim_destroy(o);
    dlx_graph_destroy(g);
    dlx_params_free(&p);
}
END_TEST


/* A named group's initial values depend on (seed, group name, index in the
 * group) only: a network declared before it does not move them. Buffers
 * get their own block and their init value. */
START_TEST(group_init_streams_and_buffers)
{
    dlx_init ini = {.kind = DLX_INIT_NORMAL, .a = 1.0f};
    float alone[6], after[6];
    for (int pass = 0; pass < 2; pass++) {
        dlx_params p;
        dlx_params_init(&p);
        if (pass == 1) { /* another network first */
            ck_assert_int_eq(dlx_params_begin_group(&p, "disc", NULL), 0);
            ck_assert_int_ge(dlx_params_declare(&p, "disc.w", dlx_shape_2d(4, 4), ini, true, NULL), 0);
        }
        ck_assert_int_eq(dlx_params_begin_group(&p, "gen", NULL), 0);
        int g = dlx_params_declare(&p, "gen.w", dlx_shape_2d(2, 3), ini, true, NULL);
        ck_assert_int_eq(p.items[g].index_in_group, 0);
        int b = dlx_params_declare_buffer(&p, "gen.bn.mean", dlx_shape_1d(3), 0.25f, NULL);
        ck_assert_int_eq(b, 0);
        ck_assert_int_eq(dlx_params_declare_buffer(&p, "gen.bn.mean", dlx_shape_1d(3), 0.25f, NULL), 0);
        ck_assert_int_eq(dlx_params_declare_buffer(&p, "gen.bn.mean", dlx_shape_1d(4), 0.25f, NULL), DLX_EINVAL);
        ck_assert_int_eq(dlx_params_finalize(&p, NULL), 0);
        dlx_params_init_values(&p, 11, NULL);
        memcpy(pass ? after : alone, p.items[g].t.data, sizeof alone);
        for (int j = 0; j < 3; j++)
            ck_assert(p.buffers[0].t.data[j] == 0.25f);
        ck_assert(p.buffers[0].t.data < p.values || p.buffers[0].t.data >= p.values + p.total);
        ck_assert_int_eq(dlx_params_declare_buffer(&p, "late", dlx_shape_1d(1), 0.0f, NULL), DLX_EINVAL);
        dlx_params_free(&p);
    }
    ck_assert(memcmp(alone, after, sizeof alone) == 0);
}
END_TEST

Suite *replica_suite(void)
{
    Suite *s = suite_create("replica");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fused_update_matches_plain_path_for_any_thread_count);
    tcase_add_test(tc, memory_limit_refuses_before_allocating);
    tcase_add_test(tc, masked_backward_and_group_optimizer);
    tcase_add_test(tc, group_init_streams_and_buffers);
    suite_add_tcase(s, tc);
    return s;
}
