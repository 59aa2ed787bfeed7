/* Optimizers and schedules: updates against hand-derived values and against
 * a double-precision reference written from PyTorch's documented algorithms;
 * schedules at chosen steps; gradient clipping; spec parsing. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/optim.h"

#define PI 3.14159265358979323846
#define N 7 /* w[3] (decay), b[2] (no decay), u[2] (decay) */

static const bool k_decay[N] = {true, true, true, false, false, true, true};
static const double k_w0[N] = {1.0, -0.5, 2.0, 0.25, -1.5, 0.75, -2.0};
/* loss = sum a/2 w^2 + c w, so g = a w + c changes from step to step */
static const double k_a[N] = {1.0, 2.0, 0.5, 3.0, 1.0, 1.5, 0.25};
static const double k_c[N] = {0.1, -0.2, 0.3, 0.0, 0.5, -0.4, 0.2};

static void make_store(dlx_params *p)
{
    dlx_init z = {DLX_INIT_ZERO, 0, 0, 0};
    dlx_params_init(p);
    ck_assert_int_eq(dlx_params_declare(p, "w", dlx_shape_1d(3), z, true, NULL), 0);
    ck_assert_int_eq(dlx_params_declare(p, "b", dlx_shape_1d(2), z, false, NULL), 1);
    ck_assert_int_eq(dlx_params_declare(p, "u", dlx_shape_1d(2), z, true, NULL), 2);
    ck_assert_int_eq(dlx_params_finalize(p, NULL), 0);
    ck_assert_int_eq(p->total, N);
    for (int i = 0; i < N; i++)
        p->values[i] = (float)k_w0[i];
}

static void set_grads(dlx_params *p)
{
    for (int i = 0; i < N; i++)
        p->grads[i] = (float)(k_a[i] * p->values[i] + k_c[i]);
}

static dlx_optim_cfg base_cfg(dlx_optim_kind kind, double lr)
{
    dlx_optim_cfg c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.lr = lr;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.sched = DLX_SCHED_CONSTANT;
    c.gamma = 0.1;
    c.step_epochs = 10;
    return c;
}

/* Double-precision reference, written from the algorithms in PyTorch's docs. */
static void reference(const dlx_optim_cfg *c, int steps, double *w)
{
    double s0[N] = {0}, s1[N] = {0};
    for (int i = 0; i < N; i++)
        w[i] = k_w0[i];
    for (int t = 1; t <= steps; t++) {
        for (int i = 0; i < N; i++) {
            double g = k_a[i] * w[i] + k_c[i];
            double d = g + (k_decay[i] ? c->weight_decay : 0.0) * w[i];
            switch (c->kind) {
            case DLX_OPTIM_SGD:
                if (c->momentum > 0) {
                    s0[i] = t == 1 ? d : c->momentum * s0[i] + d;
                    d = c->nesterov ? d + c->momentum * s0[i] : s0[i];
                }
                w[i] -= c->lr * d;
                break;
            case DLX_OPTIM_ADAM: {
                s0[i] = c->beta1 * s0[i] + (1 - c->beta1) * d;
                s1[i] = c->beta2 * s1[i] + (1 - c->beta2) * d * d;
                double mhat = s0[i] / (1 - pow(c->beta1, t));
                double vhat = s1[i] / (1 - pow(c->beta2, t));
                w[i] -= c->lr * mhat / (sqrt(vhat) + c->eps);
                break;
            }
            case DLX_OPTIM_RMSPROP:
                s0[i] = c->beta2 * s0[i] + (1 - c->beta2) * d * d;
                if (c->momentum > 0) {
                    s1[i] = c->momentum * s1[i] + d / (sqrt(s0[i]) + c->eps);
                    w[i] -= c->lr * s1[i];
                } else {
                    w[i] -= c->lr * d / (sqrt(s0[i]) + c->eps);
                }
                break;
            }
        }
    }
}

static void check_against_reference(const dlx_optim_cfg *c, int n_slots)
{
    dlx_params p;
    dlx_optim *o = NULL;
    dlx_err err;
    double ref[N];
    make_store(&p);
    ck_assert_int_eq(dlx_optim_create(c, &p, &o, &err), 0);
    ck_assert_int_eq(dlx_optim_n_slots(o), n_slots);
    for (int t = 1; t <= 6; t++) {
        set_grads(&p);
        double g2 = 0;
        for (int i = 0; i < N; i++)
            g2 += (double)p.grads[i] * p.grads[i];
        /* the norm is computed (and returned) only when clipping is on */
        ck_assert_double_eq_tol(dlx_optim_step(o, c->lr), c->grad_clip > 0 ? sqrt(g2) : -1.0, 1e-12);
        ck_assert_int_eq(dlx_optim_t(o), t);
        reference(c, t, ref);
        for (int i = 0; i < N; i++)
            ck_assert_msg(fabs(p.values[i] - ref[i]) <= 2e-6 * (1 + fabs(ref[i])),
                          "step %d, element %d: got %.9g, reference %.9g", t, i, p.values[i],
                          ref[i]);
    }
    dlx_optim_destroy(o);
    dlx_params_free(&p);
}

/* ---- hand-derived values ---------------------------------------------------- */

/* One parameter w = 1 with a constant gradient g, several steps. */
static void run_scalar(const dlx_optim_cfg *c, float g, int steps, float *out)
{
    dlx_params p;
    dlx_optim *o = NULL;
    dlx_init z = {DLX_INIT_ZERO, 0, 0, 0};
    dlx_params_init(&p);
    ck_assert_int_eq(dlx_params_declare(&p, "w", dlx_shape_1d(1), z, true, NULL), 0);
    ck_assert_int_eq(dlx_params_finalize(&p, NULL), 0);
    p.values[0] = 1.0f;
    ck_assert_int_eq(dlx_optim_create(c, &p, &o, NULL), 0);
    for (int t = 0; t < steps; t++) {
        p.grads[0] = g;
        dlx_optim_step(o, c->lr);
        out[t] = p.values[0];
    }
    dlx_optim_destroy(o);
    dlx_params_free(&p);
}

START_TEST(sgd_momentum_by_hand)
{
    /* v: 1, 1.9, 2.71; w: 1 - 0.1 v cumulative */
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_SGD, 0.1);
    c.momentum = 0.9;
    float w[3];
    run_scalar(&c, 1.0f, 3, w);
    ck_assert_float_eq_tol(w[0], 0.9f, 1e-6f);
    ck_assert_float_eq_tol(w[1], 0.71f, 1e-6f);
    ck_assert_float_eq_tol(w[2], 0.439f, 1e-6f);
    /* Nesterov: d + mu v = 1.9, then 1 + 0.9 * 1.9 = 2.71 */
    c.nesterov = true;
    run_scalar(&c, 1.0f, 2, w);
    ck_assert_float_eq_tol(w[0], 0.81f, 1e-6f);
    ck_assert_float_eq_tol(w[1], 0.539f, 1e-6f);
    /* plain SGD with weight decay 0.5: w -= 0.1 (1 + 0.5 w): 0.85, 0.7075 */
    c.nesterov = false;
    c.momentum = 0;
    c.weight_decay = 0.5;
    run_scalar(&c, 1.0f, 2, w);
    ck_assert_float_eq_tol(w[0], 0.85f, 1e-6f);
    ck_assert_float_eq_tol(w[1], 0.7075f, 1e-6f);
}
END_TEST

START_TEST(adam_rmsprop_by_hand)
{
    /* Adam's first step is lr * g / (|g| + eps'): w = 1 - 0.1 = 0.9; the
     * second, with the same gradient, is again lr: 0.8 */
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_ADAM, 0.1);
    float w[2];
    run_scalar(&c, 0.5f, 2, w);
    ck_assert_float_eq_tol(w[0], 0.9f, 1e-6f);
    ck_assert_float_eq_tol(w[1], 0.8f, 1e-6f);
    /* RMSprop alpha 0.99: s = 0.01 * 0.25, sqrt(s) = 0.05, w = 1 - 0.01 * 0.5 / 0.05 */
    c = base_cfg(DLX_OPTIM_RMSPROP, 0.01);
    c.beta2 = 0.99;
    run_scalar(&c, 0.5f, 1, w);
    ck_assert_float_eq_tol(w[0], 0.9f, 1e-6f);
}
END_TEST

/* ---- against the double reference ------------------------------------------- */

START_TEST(sgd_reference)
{
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_SGD, 0.05);
    check_against_reference(&c, 0);
    c.weight_decay = 0.1;
    check_against_reference(&c, 0);
    c.momentum = 0.9;
    check_against_reference(&c, 1);
    c.nesterov = true;
    check_against_reference(&c, 1);
    c.weight_decay = 0;
    check_against_reference(&c, 1);
}
END_TEST

START_TEST(adam_reference)
{
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_ADAM, 0.01);
    check_against_reference(&c, 2);
    c.weight_decay = 0.1;
    c.beta1 = 0.5;
    c.beta2 = 0.9;
    c.eps = 1e-3;
    check_against_reference(&c, 2);
}
END_TEST

START_TEST(rmsprop_reference)
{
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_RMSPROP, 0.01);
    c.beta2 = 0.99;
    check_against_reference(&c, 1);
    c.weight_decay = 0.1;
    c.eps = 1e-2;
    check_against_reference(&c, 1);
    c.momentum = 0.8;
    check_against_reference(&c, 2);
}
END_TEST

/* ---- slots, state, errors ---------------------------------------------------- */

START_TEST(slots_and_state)
{
    dlx_params p;
    dlx_optim *o = NULL;
    make_store(&p);
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_ADAM, 0.01);
    ck_assert_int_eq(dlx_optim_create(&c, &p, &o, NULL), 0);
    ck_assert_int_eq(dlx_optim_n_slots(o), 2);
    ck_assert_str_eq(dlx_optim_slot_name(o, 0), "m");
    ck_assert_str_eq(dlx_optim_slot_name(o, 1), "v");
    ck_assert_ptr_null(dlx_optim_slot_name(o, 2));
    float *m0 = dlx_optim_slot(o, 0, 0);
    ck_assert_ptr_eq(dlx_optim_slot(o, 0, 1), m0 + 3);
    ck_assert_ptr_eq(dlx_optim_slot(o, 0, 2), m0 + 5);
    ck_assert_ptr_ne(dlx_optim_slot(o, 1, 0), m0);
    ck_assert_ptr_null(dlx_optim_slot(o, 2, 0));
    ck_assert_ptr_null(dlx_optim_slot(o, 0, 3));
    for (int i = 0; i < N; i++)
        ck_assert_float_eq(m0[i], 0.0f);
    /* m after one step is (1 - b1) g, at the parameter's offset */
    set_grads(&p);
    float g3 = p.grads[3];
    dlx_optim_step(o, c.lr);
    ck_assert_float_eq_tol(dlx_optim_slot(o, 0, 1)[0], 0.1f * g3, 1e-7f);
    ck_assert_int_eq(dlx_optim_t(o), 1);
    dlx_optim_set_t(o, 41);
    ck_assert_int_eq(dlx_optim_t(o), 41);
    dlx_optim_destroy(o);

    c = base_cfg(DLX_OPTIM_RMSPROP, 0.01);
    c.momentum = 0.5;
    ck_assert_int_eq(dlx_optim_create(&c, &p, &o, NULL), 0);
    ck_assert_int_eq(dlx_optim_n_slots(o), 2);
    ck_assert_str_eq(dlx_optim_slot_name(o, 0), "square_avg");
    ck_assert_str_eq(dlx_optim_slot_name(o, 1), "momentum");
    dlx_optim_destroy(o);
    c = base_cfg(DLX_OPTIM_SGD, 0.01);
    c.momentum = 0.5;
    ck_assert_int_eq(dlx_optim_create(&c, &p, &o, NULL), 0);
    ck_assert_int_eq(dlx_optim_n_slots(o), 1);
    ck_assert_str_eq(dlx_optim_slot_name(o, 0), "momentum");
    dlx_optim_destroy(o);
    dlx_optim_destroy(NULL);
    dlx_params_free(&p);
}
END_TEST

START_TEST(create_errors)
{
    dlx_params p;
    dlx_optim *o = (dlx_optim *)&p;
    dlx_err err;
    dlx_init z = {DLX_INIT_ZERO, 0, 0, 0};
    dlx_params_init(&p);
    ck_assert_int_eq(dlx_params_declare(&p, "w", dlx_shape_1d(2), z, true, NULL), 0);
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_SGD, 0.1);
    ck_assert_int_eq(dlx_optim_create(&c, &p, &o, &err), DLX_EINVAL);
    ck_assert_ptr_null(o);
    ck_assert_str_eq(err.msg, "optimizer: the parameter store is not finalized");
    ck_assert_int_eq(dlx_params_finalize(&p, NULL), 0);
    c.nesterov = true;
    ck_assert_int_eq(dlx_optim_create(&c, &p, &o, &err), DLX_EINVAL);
    ck_assert_str_eq(err.msg,
                     "optimizer: Nesterov momentum needs sgd with momentum greater than 0");
    dlx_params_free(&p);
}
END_TEST

START_TEST(grad_clipping)
{
    dlx_params p;
    dlx_optim *o = NULL;
    make_store(&p);
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_SGD, 1.0);
    c.grad_clip = 1.0;
    ck_assert_int_eq(dlx_optim_create(&c, &p, &o, NULL), 0);
    /* norm 5 (3-4-0 in w, 0 elsewhere) is scaled to 1 */
    memset(p.grads, 0, N * sizeof(float));
    p.grads[0] = 3.0f;
    p.grads[1] = 4.0f;
    ck_assert_double_eq_tol(dlx_optim_step(o, 1.0), 5.0, 1e-12);
    double k = 1.0 / (5.0 + 1e-6);
    ck_assert_float_eq_tol(p.grads[0], (float)(3.0 * k), 1e-7f);
    ck_assert_float_eq_tol(p.values[0], (float)(1.0 - 3.0 * k), 1e-6f);
    ck_assert_float_eq_tol(p.values[1], (float)(-0.5 - 4.0 * k), 1e-6f);
    ck_assert_float_eq(p.values[2], 2.0f);
    /* below the threshold nothing is scaled */
    memset(p.grads, 0, N * sizeof(float));
    p.grads[4] = 0.3f;
    p.grads[6] = -0.4f;
    ck_assert_double_eq_tol(dlx_optim_step(o, 0.5), 0.5, 1e-7);
    ck_assert_float_eq(p.grads[4], 0.3f);
    ck_assert_float_eq(p.grads[6], -0.4f);
    ck_assert_float_eq_tol(p.values[4], -1.5f - 0.15f, 1e-6f);
    ck_assert_float_eq_tol(p.values[6], -2.0f + 0.2f, 1e-6f);
    dlx_optim_destroy(o);
    dlx_params_free(&p);
}
END_TEST

/* ---- schedules ----------------------------------------------------------------- */

START_TEST(schedules)
{
    dlx_optim_cfg c = base_cfg(DLX_OPTIM_SGD, 0.1);
    ck_assert_double_eq(dlx_optim_lr(&c, 0, 100, 5000), 0.1);
    ck_assert_double_eq(dlx_optim_lr(&c, 4999, 100, 5000), 0.1);

    c.sched = DLX_SCHED_STEP; /* gamma 0.1 every 10 epochs of 100 steps */
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 0, 100, 5000), 0.1, 1e-15);
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 999, 100, 5000), 0.1, 1e-15);   /* epoch 9 */
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 1000, 100, 5000), 0.01, 1e-15); /* epoch 10 */
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 2550, 100, 5000), 0.001, 1e-15); /* epoch 25 */
    c.step_epochs = 3;
    c.gamma = 0.5;
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 899, 100, 5000), 0.025, 1e-15); /* epoch 8 */

    c = base_cfg(DLX_OPTIM_SGD, 0.1);
    c.sched = DLX_SCHED_COSINE;
    c.lr_min = 0.01;
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 0, 10, 100), 0.1, 1e-15);
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 50, 10, 100), 0.055, 1e-15);
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 99, 10, 100),
                            0.01 + 0.09 * (1 + cos(PI * 0.99)) / 2, 1e-15);
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 25, 10, 100), 0.01 + 0.045 * (1 + sqrt(0.5)),
                            1e-15);

    /* inverse_time, as Torch7's optim.sgd with learningRateDecay = 1/60000:
     * the first update at lr, the 60001st at lr / 2, epoch e of 60000 steps
     * starting at lr / (1 + e) */
    {
        dlx_optim_cfg iv = base_cfg(DLX_OPTIM_SGD, 0.01);
        iv.sched = DLX_SCHED_INVERSE;
        iv.decay_steps = 60000;
        ck_assert_double_eq(dlx_optim_lr(&iv, 0, 60000, 6000000), 0.01);
        ck_assert_double_eq_tol(dlx_optim_lr(&iv, 60000, 60000, 6000000), 0.005, 1e-17);
        ck_assert_double_eq_tol(dlx_optim_lr(&iv, 99 * 60000, 60000, 6000000), 0.0001, 1e-17);
        ck_assert_double_eq_tol(dlx_optim_lr(&iv, 12345, 60000, 6000000), 0.01 / (1.0 + 12345.0 / 60000.0), 1e-17);
        ck_assert(dlx_optim_lr(&iv, 12346, 60000, 6000000) < dlx_optim_lr(&iv, 12345, 60000, 6000000));
    }

    /* linear warmup over 10 steps: (step + 1) / 10 of the scheduled rate */
    c.warmup_steps = 10;
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 0, 10, 100),
                            0.1 * (0.01 + 0.09 * (1 + cos(PI * 0.0)) / 2), 1e-15);
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 4, 10, 100),
                            0.5 * (0.01 + 0.09 * (1 + cos(PI * 0.04)) / 2), 1e-15);
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 10, 10, 100),
                            0.01 + 0.09 * (1 + cos(PI * 0.1)) / 2, 1e-15);
    c.sched = DLX_SCHED_CONSTANT;
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 0, 10, 100), 0.01, 1e-15);
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 9, 10, 100), 0.1, 1e-15);
    ck_assert_double_eq_tol(dlx_optim_lr(&c, 10, 10, 100), 0.1, 1e-15);
}
END_TEST

/* ---- spec ------------------------------------------------------------------------ */

/* Parses `text`, reads its train: map; the formatted error goes to msg and
 * the resolved spec to *dump (when dump is not NULL). */
static int parse(const char *text, dlx_optim_cfg *cfg, char *msg, size_t n, char **dump)
{
    dlx_spec *s = NULL;
    dlx_err err;
    dlx_err_clear(&err);
    ck_assert_int_eq(dlx_spec_load_string(text, "t.yaml", &s, &err), 0);
    int rc = dlx_optim_cfg_from_spec(dlx_spec_get(dlx_spec_root(s), "train"), cfg, &err);
    if (rc) {
        ck_assert_int_eq(err.code, rc);
        dlx_err_format(&err, msg, n);
    }
    if (dump)
        *dump = dlx_spec_dump(s);
    dlx_spec_destroy(s);
    return rc;
}

static void expect_error(const char *text, const char *want)
{
    dlx_optim_cfg cfg;
    char msg[1024];
    ck_assert_int_eq(parse(text, &cfg, msg, sizeof msg, NULL), DLX_EINVAL);
    ck_assert_str_eq(msg, want);
}

START_TEST(spec_defaults)
{
    dlx_optim_cfg cfg;
    char msg[1024], *dump = NULL;
    ck_assert_int_eq(dlx_optim_cfg_from_spec(NULL, &cfg, NULL), 0);
    ck_assert_int_eq(cfg.kind, DLX_OPTIM_SGD);
    ck_assert_double_eq(cfg.lr, 0.01);
    ck_assert_double_eq(cfg.momentum, 0);
    ck_assert(!cfg.nesterov);
    ck_assert_double_eq(cfg.beta1, 0.9);
    ck_assert_double_eq(cfg.beta2, 0.999);
    ck_assert_double_eq(cfg.eps, 1e-8);
    ck_assert_double_eq(cfg.grad_clip, 0);
    ck_assert_int_eq(cfg.sched, DLX_SCHED_CONSTANT);
    ck_assert_double_eq(cfg.gamma, 0.1);
    ck_assert_int_eq(cfg.step_epochs, 10);
    ck_assert_int_eq(cfg.warmup_steps, 0);

    ck_assert_int_eq(parse("train:\n"
                           "  epochs: 3\n"
                           "  optimizer:\n"
                           "    lr: 0.1\n"
                           "  schedule:\n"
                           "    type: step\n",
                           &cfg, msg, sizeof msg, &dump),
                     0);
    ck_assert_int_eq(cfg.kind, DLX_OPTIM_SGD);
    ck_assert_double_eq(cfg.lr, 0.1);
    ck_assert_int_eq(cfg.sched, DLX_SCHED_STEP);
    ck_assert_str_eq(dump, "train:\n"
                           "  epochs: 3\n"
                           "  optimizer:\n"
                           "    lr: 0.1\n"
                           "    type: sgd\n"
                           "    momentum: 0\n"
                           "    nesterov: false\n"
                           "    weight_decay: 0\n"
                           "    grad_clip: 0\n"
                           "  schedule:\n"
                           "    type: step\n"
                           "    gamma: 0.1\n"
                           "    step_epochs: 10\n"
                           "    warmup_steps: 0\n");
    free(dump);

    /* only the chosen type's keys are filled in */
    ck_assert_int_eq(parse("train:\n"
                           "  optimizer: {type: adam, beta2: 0.99}\n"
                           "  schedule: {type: cosine, lr_min: 0.001, warmup_steps: 100}\n",
                           &cfg, msg, sizeof msg, &dump),
                     0);
    ck_assert_int_eq(cfg.kind, DLX_OPTIM_ADAM);
    ck_assert_double_eq(cfg.lr, 0.01);
    ck_assert_double_eq(cfg.beta2, 0.99);
    ck_assert_int_eq(cfg.sched, DLX_SCHED_COSINE);
    ck_assert_double_eq(cfg.lr_min, 0.001);
    ck_assert_int_eq(cfg.warmup_steps, 100);
    ck_assert_str_eq(dump, "train:\n"
                           "  optimizer:\n"
                           "    type: adam\n"
                           "    beta2: 0.99\n"
                           "    lr: 0.01\n"
                           "    beta1: 0.9\n"
                           "    eps: 1e-08\n"
                           "    weight_decay: 0\n"
                           "    grad_clip: 0\n"
                           "  schedule:\n"
                           "    type: cosine\n"
                           "    lr_min: 0.001\n"
                           "    warmup_steps: 100\n");
    free(dump);

    /* rmsprop's decay is PyTorch's alpha (default 0.99), kept in beta2;
     * an empty optimizer: becomes a map of defaults */
    ck_assert_int_eq(parse("train:\n"
                           "  optimizer: {type: rmsprop, momentum: 0.5, alpha: 0.9}\n",
                           &cfg, msg, sizeof msg, NULL),
                     0);
    ck_assert_int_eq(cfg.kind, DLX_OPTIM_RMSPROP);
    ck_assert_double_eq(cfg.beta2, 0.9);
    ck_assert_double_eq(cfg.momentum, 0.5);
    ck_assert_int_eq(parse("train:\n  optimizer:\n  schedule: ~\n", &cfg, msg, sizeof msg, &dump),
                     0);
    ck_assert_str_eq(dump, "train:\n"
                           "  optimizer:\n"
                           "    type: sgd\n"
                           "    lr: 0.01\n"
                           "    momentum: 0\n"
                           "    nesterov: false\n"
                           "    weight_decay: 0\n"
                           "    grad_clip: 0\n"
                           "  schedule:\n"
                           "    type: constant\n"
                           "    warmup_steps: 0\n");
    free(dump);
    ck_assert_int_eq(parse("train:\n"
                           "  optimizer: {momentum: 0.9, nesterov: true, weight_decay: 5e-4}\n",
                           &cfg, msg, sizeof msg, NULL),
                     0);
    ck_assert(cfg.nesterov);
    ck_assert_double_eq(cfg.momentum, 0.9);
    ck_assert_double_eq(cfg.weight_decay, 5e-4);
}
END_TEST

START_TEST(spec_errors)
{
    expect_error("train:\n  optimizer:\n    type: adm\n",
                 "t.yaml:3:11: error: train.optimizer.type: unknown value 'adm'; did you mean "
                 "'adam'? (one of: sgd, adam, rmsprop)");
    expect_error("train:\n  optimizer:\n    momentum: 0\n    nesterov: true\n",
                 "t.yaml:4:15: error: train.optimizer.nesterov: Nesterov momentum needs momentum "
                 "greater than 0");
    expect_error("train:\n  optimizer:\n    nesterov: yes\n",
                 "t.yaml:3:15: error: train.optimizer.nesterov: Nesterov momentum needs momentum "
                 "greater than 0");
    expect_error("train:\n  optimizer: {lr: 0}\n",
                 "t.yaml:2:19: error: train.optimizer.lr: must be greater than 0 and at most 10, "
                 "got 0");
    expect_error("train:\n  optimizer: {lr: 20}\n",
                 "t.yaml:2:19: error: train.optimizer.lr: must be greater than 0 and at most 10, "
                 "got 20");
    expect_error("train:\n  optimizer: {lr: fast}\n",
                 "t.yaml:2:19: error: train.optimizer.lr: expected a number, got 'fast'");
    expect_error("train:\n  optimizer: {momentum: 1}\n",
                 "t.yaml:2:25: error: train.optimizer.momentum: must be at least 0 and less than "
                 "1, got 1");
    expect_error("train:\n  optimizer: {type: adam, beta2: 1.0}\n",
                 "t.yaml:2:34: error: train.optimizer.beta2: must be at least 0 and less than 1, "
                 "got 1.0");
    expect_error("train:\n  optimizer: {weight_decay: 2}\n",
                 "t.yaml:2:29: error: train.optimizer.weight_decay: must be between 0 and 1, "
                 "got 2");
    /* keys of another optimizer are rejected */
    expect_error("train:\n  optimizer:\n    type: adam\n    nesterov: true\n",
                 "t.yaml:4:5: error: train.optimizer: 'nesterov' is not a key of adam (allowed: "
                 "type, lr, beta1, beta2, eps, weight_decay, grad_clip)");
    expect_error("train:\n  optimizer: {momentun: 0.9}\n",
                 "t.yaml:2:15: error: train.optimizer: 'momentun' is not a key of sgd; did you "
                 "mean 'momentum'?");
    expect_error("train:\n  optimizer: {type: rmsprop, beta2: 0.9}\n",
                 "t.yaml:2:30: error: train.optimizer: 'beta2' is not a key of rmsprop (allowed: "
                 "type, lr, alpha, momentum, eps, weight_decay, grad_clip)");
    expect_error("train:\n  optimizer: adam\n",
                 "t.yaml:2:14: error: train.optimizer: optimizer must be a mapping, got 'adam'");
    /* schedules */
    expect_error("train:\n  schedule: {type: cosin}\n",
                 "t.yaml:2:20: error: train.schedule.type: unknown value 'cosin'; did you mean "
                 "'cosine'? (one of: constant, step, cosine, inverse_time)");
    expect_error("train:\n  schedule: {type: cosine, gamma: 0.5}\n",
                 "t.yaml:2:28: error: train.schedule: 'gamma' is not a key of cosine schedule "
                 "(allowed: type, lr_min, warmup_steps)");
    expect_error("train:\n  schedule: {type: step, step_epochs: 0}\n",
                 "t.yaml:2:39: error: train.schedule.step_epochs: must be between 1 and "
                 "1000000000, got 0");
    expect_error("train:\n  schedule: {type: inverse_time}\n",
                 "t.yaml:2:13: error: train.schedule: missing required key 'decay_steps'");
    expect_error("train:\n  schedule: {type: inverse_time, decay_steps: 0}\n",
                 "t.yaml:2:47: error: train.schedule.decay_steps: must be between 1 and 1000000000, got 0");
    expect_error("train:\n  schedule: {type: step, gamma: 0}\n",
                 "t.yaml:2:33: error: train.schedule.gamma: must be greater than 0 and at most 1, "
                 "got 0");
    expect_error("train:\n  optimizer: {lr: 0.1}\n  schedule: {type: cosine, lr_min: 0.5}\n",
                 "t.yaml:3:36: error: train.schedule.lr_min: must not exceed the optimizer's lr "
                 "(0.1), got 0.5");
    expect_error("train:\n  schedule: {warmup_steps: -1}\n",
                 "t.yaml:2:28: error: train.schedule.warmup_steps: must be between 0 and "
                 "1000000000, got -1");
}
END_TEST

Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("optim");
    tcase_add_test(tc, sgd_momentum_by_hand);
    tcase_add_test(tc, adam_rmsprop_by_hand);
    tcase_add_test(tc, sgd_reference);
    tcase_add_test(tc, adam_reference);
    tcase_add_test(tc, rmsprop_reference);
    tcase_add_test(tc, slots_and_state);
    tcase_add_test(tc, create_errors);
    tcase_add_test(tc, grad_clipping);
    tcase_add_test(tc, schedules);
    tcase_add_test(tc, spec_defaults);
    tcase_add_test(tc, spec_errors);
    suite_add_tcase(s, tc);
    return s;
}
