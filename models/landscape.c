/* Family "landscape": toy loss surfaces of Choromanska et al. 2015.
 *
 * problem: linear111 -- the 1-1-1 linear network y = w1*w2*x with quadratic
 *   loss L = 1/(2n) sum (w1 w2 x - y)^2 on n points x ~ N(0,1), y = target*x
 *   (+ noise). With p = w1*w2, L = (p^2 Sxx - 2 p Sxy + Syy)/2: a saddle at
 *   the origin and two valleys of solutions w1*w2 = Sxy/Sxx (a hyperbola).
 *   Trained by plain gradient descent from w ~ U(-init_scale, init_scale).
 * problem: spin3 -- the spherical 3-spin glass on the sphere |w|^2 = L
 *   (L = lambda): H(w) = L^-1 sum_ijk X_ijk w_i w_j w_k, X ~ N(0,1) drawn
 *   from coupling_seed (one landscape for all runs), start uniform on the
 *   sphere from the run seed. Projected gradient descent: remove the radial
 *   part of the gradient, step with lr/(1 + t*decay), renormalise; stop when
 *   the tangential gradient norm < tol (as leventsagun/3-spin-glass-landscape).
 *   The gradient is 3 L^-1 S (w (x) w) with S the symmetrised couplings, one
 *   sgemv of L x L^2 per step.
 *
 * A whole sweep run as one model is not a problem of this family but the
 * family "sweep" (experiments/sweep_model.c): it runs the sweep engine of
 * experiments/, which sits above the families. The engine trains this
 * family's problems as sweep runs and calls its Hessian measure
 * (models/landscape_hessian.c, declared in models/landscape.h).
 *
 * The two toy descents here are no trainer runs (train/trainer.h):
 * linear111 steps two doubles along closed-form gradients of
 * the data's moments and stops when the gradient norm falls under tol, and
 * spin3 projects every step back onto the sphere. Neither is a graph with an
 * optimizer over a parameter store and epochs of batches; made into one,
 * every number of their tables (float32 parameters) would move.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "../core/rng.h"
#include "family.h"
#include "landscape.h"

enum { PROB_LINEAR111, PROB_SPIN3 };
enum { STREAM_DATA = DLX_STREAM_USER + 1, STREAM_START, STREAM_COUPLING };

typedef struct toy {
    int problem;
    /* linear111 */
    double sxx, sxy, syy, w1, w2, init_scale;
    /* spin3 */
    int64_t lambda;
    float *s;   /* symmetrised couplings, lambda^3 */
    float *w, *g, *ww;
    double energy, gnorm;
    /* training */
    double lr, decay, tol;
    int64_t max_steps;
} toy;

static const char *const k_problems[] = {"linear111", "spin3", NULL};
#define DOC_KIND {"kind", "string", "required", "landscape", "the family"}
#define DOC_PROBLEM {"problem", "string", "required", "linear111, spin3", "the toy loss surface"}
static const dlx_key_doc k_lin_keys[] = {
    DOC_KIND, DOC_PROBLEM,
    {"samples", "integer", "100", "1 to 10000000", "data points x ~ N(0, 1)"},
    {"target", "number", "1", "-1e6 to 1e6", "y = target x (+ noise)"},
    {"noise", "number", "0", "0 to 1e6", "std of the noise added to y"},
    {"init_scale", "number", "2", "0 to 1e6", "w1, w2 start uniform in [-init_scale, init_scale]"},
    {"data_seed", "integer", "1", "at least 0", "the seed of the data (the run seed picks the start)"},
    {NULL},
};
static const dlx_key_doc k_spin_keys[] = {
    DOC_KIND, DOC_PROBLEM,
    {"lambda", "integer", "required", "3 to 400", "the dimension L of the sphere |w|^2 = L"},
    {"coupling_seed", "integer", "1", "at least 0", "the seed of the couplings (one landscape for all runs)"},
    {NULL},
};
static const dlx_key_doc k_train_keys[] = {
    {"lr", "number", "0.05 (spin3: 0.25)", "1e-9 to 1000", "step size"},
    {"decay", "number", "0 (spin3: 0.0015)", "0 to 1000", "spin3: the step is lr / (1 + step decay) (linear111 steps with lr)"},
    {"tol", "number", "1e-06 (spin3: 0.01)", "0 to 1000", "stop when the gradient norm falls below it"},
    {"steps", "integer", "10000 (spin3: 100000)", "at least 1", "the most steps"},
    {NULL},
};

static const dlx_spec_section k_sections[] = {
    {"model.landscape.linear111", "model: with kind: landscape, problem: linear111: the 1-1-1 linear net y = w1 w2 x "
                                  "(no data: key)",
     k_lin_keys, NULL},
    {"model.landscape.spin3", "model: with kind: landscape, problem: spin3: the spherical 3-spin glass", k_spin_keys,
     NULL},
    {"train.landscape", "train: of a landscape problem: plain (projected) gradient descent", k_train_keys, NULL},
    {NULL},
};

static void toy_destroy(dlx_model *m)
{
    toy *t = m->impl;
    if (!t)
        return;
    free(t->s);
    free(t->w);
    free(t->g);
    free(t->ww);
    free(t);
    m->impl = NULL;
}

static int create_linear(dlx_model *m, toy *t, dlx_spec_node *model, dlx_err *err)
{
    int64_t n, data_seed;
    double target, noise;
    int rc = dlx_spec_check_doc(model, "model", k_lin_keys, err);
    if (!rc) rc = dlx_spec_int(model, "samples", false, 100, 1, 10000000, &n, err);
    if (!rc) rc = dlx_spec_float(model, "target", false, 1.0, -1e6, 1e6, &target, err);
    if (!rc) rc = dlx_spec_float(model, "noise", false, 0.0, 0.0, 1e6, &noise, err);
    if (!rc) rc = dlx_spec_float(model, "init_scale", false, 2.0, 0.0, 1e6, &t->init_scale, err);
    if (!rc) rc = dlx_spec_int(model, "data_seed", false, 1, 0, INT64_MAX, &data_seed, err);
    if (rc)
        return rc;
    dlx_rng r;
    dlx_rng_init(&r, (uint64_t)data_seed, STREAM_DATA);
    for (int64_t i = 0; i < n; i++) {
        double x = dlx_rng_normal(&r), y = target * x + noise * dlx_rng_normal(&r);
        t->sxx += x * x;
        t->sxy += x * y;
        t->syy += y * y;
    }
    t->sxx /= (double)n;
    t->sxy /= (double)n;
    t->syy /= (double)n;
    dlx_rng_init(&r, m->seed, STREAM_START);
    t->w1 = t->init_scale * (2.0 * dlx_rng_uniform(&r) - 1.0);
    t->w2 = t->init_scale * (2.0 * dlx_rng_uniform(&r) - 1.0);
    return 0;
}

static int create_spin(dlx_model *m, toy *t, dlx_spec_node *model, dlx_err *err)
{
    int64_t cseed;
    int rc = dlx_spec_check_doc(model, "model", k_spin_keys, err);
    if (!rc) rc = dlx_spec_int(model, "lambda", true, 0, 3, 400, &t->lambda, err);
    if (!rc) rc = dlx_spec_int(model, "coupling_seed", false, 1, 0, INT64_MAX, &cseed, err);
    if (rc)
        return rc;
    size_t L = (size_t)t->lambda, n3 = L * L * L;
    t->s = malloc(n3 * sizeof *t->s);
    t->w = malloc(L * sizeof *t->w);
    t->g = malloc(L * sizeof *t->g);
    t->ww = malloc(L * L * sizeof *t->ww);
    float *x = malloc(n3 * sizeof *x);
    if (!t->s || !t->w || !t->g || !t->ww || !x) {
        free(x);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "spin3: out of memory for %zu couplings", n3);
    }
    dlx_rng r;
    dlx_rng_init(&r, (uint64_t)cseed, STREAM_COUPLING);
    for (size_t i = 0; i < n3; i++)
        x[i] = dlx_rng_normal(&r);
#define X(i, j, k) x[((i) * L + (j)) * L + (k)]
    for (size_t i = 0; i < L; i++)
        for (size_t j = 0; j < L; j++)
            for (size_t k = 0; k < L; k++)
                t->s[(i * L + j) * L + k] =
                    (X(i, j, k) + X(i, k, j) + X(j, i, k) + X(j, k, i) + X(k, i, j) + X(k, j, i)) / 6.0f;
#undef X
    free(x);
    dlx_rng_init(&r, m->seed, STREAM_START);
    double nn = 0.0;
    for (size_t i = 0; i < L; i++) {
        t->w[i] = dlx_rng_normal(&r);
        nn += (double)t->w[i] * t->w[i];
    }
    float scale = (float)sqrt((double)L / nn);
    for (size_t i = 0; i < L; i++)
        t->w[i] *= scale;
    return 0;
}

static int toy_create(dlx_model *m, dlx_err *err)
{
    toy *t = calloc(1, sizeof(*t));
    if (!t)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = t;
    dlx_spec_node *root = dlx_spec_root(m->spec);
    dlx_spec_node *model = dlx_spec_get(root, "model");
    dlx_spec_node *train = dlx_spec_get(root, "train");
    dlx_spec_node *problem = dlx_spec_get(model, "problem");
    if (problem && problem->kind == DLX_SPEC_SCALAR && strcmp(problem->scalar, "sweep") == 0)
        return dlx_err_setf(err, DLX_EINVAL, problem->loc,
                            "model.problem: a whole sweep as one model is model kind 'sweep' "
                            "(model: {kind: sweep, sweep: SWEEP.yaml, ...}), not a landscape problem");
    int rc = dlx_spec_enum(model, "problem", true, k_problems, 0, &t->problem, err);
    if (!rc && dlx_spec_get(root, "data"))
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(root, "data")->loc,
                          "model kind 'landscape' makes its own data; remove the 'data' key");
    if (!rc && !train)
        rc = dlx_err_setf(err, DLX_EINVAL, root->loc, "missing required key 'train' (e.g. train: {lr: 0.1, steps: 1000})");
    if (!rc) rc = dlx_spec_expect_map(train, "train", err);
    if (!rc) rc = dlx_spec_check_doc(train, "train", k_train_keys, err);
    bool spin = t->problem == PROB_SPIN3;
    if (!rc) rc = dlx_spec_float(train, "lr", false, spin ? 0.25 : 0.05, 1e-9, 1e3, &t->lr, err);
    if (!rc) rc = dlx_spec_float(train, "decay", false, spin ? 0.0015 : 0.0, 0.0, 1e3, &t->decay, err);
    if (!rc) rc = dlx_spec_float(train, "tol", false, spin ? 0.01 : 1e-6, 0.0, 1e3, &t->tol, err);
    if (!rc) rc = dlx_spec_int(train, "steps", false, spin ? 100000 : 10000, 1, INT64_MAX, &t->max_steps, err);
    if (rc)
        return rc;
    return spin ? create_spin(m, t, model, err) : create_linear(m, t, model, err);
}

static double linear_loss(const toy *t, double w1, double w2)
{
    double p = w1 * w2;
    return 0.5 * (p * p * t->sxx - 2.0 * p * t->sxy + t->syy);
}

/* Energy and tangential gradient (into t->g) at t->w; returns |g_tan|. */
static double spin_grad(toy *t)
{
    int L = (int)t->lambda;
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++)
            t->ww[(int64_t)i * L + j] = t->w[i] * t->w[j];
    /* g_i = sum_jk S_ijk w_j w_k  (S is L x L^2 row-major) */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, L, L * L, 1.0f, t->s, L * L, t->ww, 1, 0.0f, t->g, 1);
    double e = 0.0, radial = 0.0;
    for (int i = 0; i < L; i++)
        e += (double)t->w[i] * t->g[i];
    t->energy = e / L; /* H(w) = L^-1 sum S w w w */
    for (int i = 0; i < L; i++) {
        t->g[i] *= 3.0f / (float)L;
        radial += (double)t->g[i] * t->w[i];
    }
    radial /= L; /* |w|^2 = L */
    double gn = 0.0;
    for (int i = 0; i < L; i++) {
        t->g[i] -= (float)(radial * t->w[i]);
        gn += (double)t->g[i] * t->g[i];
    }
    return sqrt(gn);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int toy_train(dlx_model *m, dlx_err *err)
{
    toy *t = m->impl;
    double t0 = now_s();
    /* closed-form descents, not trainer runs (see the top of this file) */
    if (t->problem == PROB_LINEAR111) {
        while (m->step < t->max_steps) {
            double p = t->w1 * t->w2, r = p * t->sxx - t->sxy; /* dL/dp */
            double g1 = r * t->w2, g2 = r * t->w1;
            if (sqrt(g1 * g1 + g2 * g2) < t->tol)
                break;
            t->w1 -= t->lr * g1;
            t->w2 -= t->lr * g2;
            m->step++;
            if (!isfinite(t->w1) || !isfinite(t->w2))
                return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "linear111: diverged at step %lld; lower train.lr",
                                    (long long)m->step);
        }
    } else {
        int L = (int)t->lambda;
        for (;;) {
            t->gnorm = spin_grad(t);
            if (t->gnorm < t->tol || m->step >= t->max_steps)
                break;
            float lr = (float)(t->lr / (1.0 + (double)m->step * t->decay));
            double nn = 0.0;
            for (int i = 0; i < L; i++) {
                t->w[i] -= lr * t->g[i];
                nn += (double)t->w[i] * t->w[i];
            }
            float scale = (float)sqrt((double)L / nn);
            for (int i = 0; i < L; i++)
                t->w[i] *= scale;
            m->step++;
            if (!isfinite(nn))
                return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "spin3: diverged at step %lld; lower train.lr",
                                    (long long)m->step);
        }
    }
    dlx_results *r = &m->results;
    memset(r, 0, sizeof *r);
    if (t->problem == PROB_LINEAR111) {
        dlx_results_set(r, "loss", linear_loss(t, t->w1, t->w2));
        dlx_results_set(r, "w1", t->w1);
        dlx_results_set(r, "w2", t->w2);
    } else {
        dlx_results_set(r, "energy", t->energy);
        dlx_results_set(r, "energy_per_n", t->energy / (double)t->lambda);
        dlx_results_set(r, "grad_norm", t->gnorm);
    }
    dlx_results_set(r, "steps", (double)m->step);
    dlx_results_set(r, "seconds", now_s() - t0);
    return 0;
}

static int toy_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    if (data)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "model kind 'landscape' has no datasets; drop --data");
    *res = m->results;
    return 0;
}

static int toy_gradcheck(dlx_model *m, const struct dlx_gradcheck_opts *o, struct dlx_gradcheck_report *rep,
                         dlx_err *err)
{
    (void)m;
    (void)o;
    (void)rep;
    return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                        "model kind 'landscape' has closed-form gradients and no graph to check");
}

int dlx_landscape_linear111_loss(const dlx_model *m, double w1, double w2, double *loss, dlx_err *err)
{
    const toy *t = m->impl;
    if (!m->family || strcmp(m->family->name, "landscape") != 0 || !t || t->problem != PROB_LINEAR111)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "a surface picture needs a base spec of model kind 'landscape' with problem linear111");
    *loss = linear_loss(t, w1, w2);
    return 0;
}

static const char *const k_sweep_measures[] = {"loss", "w1", "w2", "energy", "energy_per_n", "grad_norm", NULL};

const dlx_family dlx_family_landscape = {
    .name = "landscape",
    .help = "toy loss surfaces: the 1-1-1 linear net and the spherical 3-spin glass",
    .create = toy_create,
    .destroy = toy_destroy,
    .train = toy_train,
    .evaluate = toy_evaluate,
    .gradcheck = toy_gradcheck,
    .sweep_measures = k_sweep_measures,
    .spec_sections = k_sections,
};
