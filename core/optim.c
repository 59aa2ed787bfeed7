/* Optimizers (SGD, Adam, RMSprop) and learning-rate schedules.
 *
 * The updates follow PyTorch 1.13's single-tensor code paths operation by
 * operation, in float32 with float32 hyperparameters, so that a run can be
 * compared with a PyTorch run step for step:
 *   sgd:     d = g + wd*w; v = mu*v + d; d = nesterov ? d + mu*v : v; w += -lr*d
 *   adam:    d = g + wd*w; m = b1*m + (1-b1)*d; v = b2*v + (1-b2)*d*d;
 *            w += -(lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   rmsprop: d = g + wd*w; s = a*s + (1-a)*d*d; q = sqrt(s) + eps;
 *            mu > 0 ? (b = mu*b + d/q, w += -lr*b) : w += -lr*d/q
 * (PyTorch seeds the momentum buffer with d on the first step; mu*0 + d is
 * the same value, so zeroed slots need no special first step.)
 *
 * (addcmul/addcdiv evaluate self + value * a * b and self + value * a / b
 * left to right; the loops below keep that order.)
 *
 * Every update is a plain float loop over a contiguous range of the store's
 * blocks. Without weight decay the range is the whole block; with it, the
 * store is cut into runs of neighbouring parameters that agree on `decay`.
 */
#include "optim.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 2
#define PI 3.14159265358979323846

typedef struct run {
    int64_t off, n;
    bool decay;
} run;

struct dlx_optim {
    dlx_optim_cfg cfg;
    dlx_params *params;
    int n_slots;
    const char *slot_names[MAX_SLOTS];
    float *slots[MAX_SLOTS];
    run *runs;
    int n_runs;
    bool *member;  /* per parameter: updated by this optimizer */
    bool all;      /* every parameter of the store */
    int64_t lo, hi; /* the elements its runs span */
    int64_t t;
    int threads; /* for the elementwise update; 1 unless set */
};

/* ---- spec ---------------------------------------------------------------- */

static const char *const k_optim_types[] = {"sgd", "adam", "rmsprop", NULL};
/* Each type's keys (its table is the list its map may hold). */
#define DOC_TYPE {"type", "string", "sgd", "sgd, adam, rmsprop", "the optimizer"}
#define DOC_LR {"lr", "number", "0.01", "> 0 and <= 10", "learning rate (the schedule's peak)"}
#define DOC_COMMON                                                                                          \
    {"weight_decay", "number", "0", "0 to 1", "L2 penalty added to the gradient of decayed parameters (weights)"}, \
    {"grad_clip", "number", "0", "0 to 1e9", "clip the gradient's global L2 norm to this (0: off)"}
#define DOC_EPS {"eps", "number", "1e-08", "0 to 1", "added to the denominator"}
static const dlx_key_doc k_sgd_keys[] = {
    DOC_TYPE, DOC_LR,
    {"momentum", "number", "0", ">= 0 and < 1", "momentum (PyTorch's form: v = mu v + g)"},
    {"nesterov", "bool", "false", "needs momentum > 0", "Nesterov momentum"},
    DOC_COMMON, {NULL},
};
static const dlx_key_doc k_adam_keys[] = {
    DOC_TYPE, DOC_LR,
    {"beta1", "number", "0.9", ">= 0 and < 1", "decay of the first moment"},
    {"beta2", "number", "0.999", ">= 0 and < 1", "decay of the second moment"},
    DOC_EPS, DOC_COMMON, {NULL},
};
static const dlx_key_doc k_rmsprop_keys[] = {
    DOC_TYPE, DOC_LR,
    {"alpha", "number", "0.99", ">= 0 and < 1", "decay of the squared-gradient average (PyTorch's name)"},
    {"momentum", "number", "0", ">= 0 and < 1", "momentum on the step"},
    DOC_EPS, DOC_COMMON, {NULL},
};
static const dlx_key_doc *const k_optim_keys[] = {k_sgd_keys, k_adam_keys, k_rmsprop_keys};

static const char *const k_sched_types[] = {"constant", "step", "cosine", "inverse_time", NULL};
#define DOC_SCHED_TYPE {"type", "string", "constant", "constant, step, cosine, inverse_time", "the schedule"}
#define DOC_WARMUP                                                                                          \
    {"warmup_steps", "integer", "0", "0 to 1000000000", "the rate rises linearly from lr/warmup_steps over these steps"}
static const dlx_key_doc k_constant_keys[] = {DOC_SCHED_TYPE, DOC_WARMUP, {NULL}};
static const dlx_key_doc k_step_keys[] = {
    DOC_SCHED_TYPE,
    {"gamma", "number", "0.1", "> 0 and <= 1", "the factor applied every step_epochs epochs"},
    {"step_epochs", "integer", "10", "1 to 1000000000", "epochs between two decays"},
    DOC_WARMUP, {NULL},
};
static const dlx_key_doc k_cosine_keys[] = {
    DOC_SCHED_TYPE,
    {"lr_min", "number", "0", "0 to 10, at most the optimizer's lr", "the rate at the last step"},
    DOC_WARMUP, {NULL},
};
static const dlx_key_doc k_inverse_keys[] = {
    DOC_SCHED_TYPE,
    {"decay_steps", "integer", "required", "1 to 1000000000", "T: the rate is lr / (1 + t / T) at update t (from 0)"},
    DOC_WARMUP, {NULL},
};
static const dlx_key_doc *const k_sched_keys[] = {k_constant_keys, k_step_keys, k_cosine_keys, k_inverse_keys};

const dlx_spec_section dlx_optim_spec_sections[] = {
    {"optimizer.sgd", "train.optimizer (or an entry of train.optimizers) with type: sgd (the default)", k_sgd_keys, NULL},
    {"optimizer.adam", "train.optimizer (or an entry of train.optimizers) with type: adam", k_adam_keys, NULL},
    {"optimizer.rmsprop", "train.optimizer (or an entry of train.optimizers) with type: rmsprop", k_rmsprop_keys, NULL},
    {"schedule.constant", "train.schedule (or an optimizer's schedule:) with type: constant (the default): lr throughout",
     k_constant_keys, NULL},
    {"schedule.step", "train.schedule (or an optimizer's schedule:) with type: step: lr gamma^floor(epoch / step_epochs)",
     k_step_keys, NULL},
    {"schedule.cosine",
     "train.schedule (or an optimizer's schedule:) with type: cosine: lr_min + (lr - lr_min)(1 + cos(pi t / T)) / 2 "
     "over the run's T steps",
     k_cosine_keys, NULL},
    {"schedule.inverse_time",
     "train.schedule (or an optimizer's schedule:) with type: inverse_time: lr / (1 + t / decay_steps), Torch7 "
     "optim.sgd's learningRateDecay",
     k_inverse_keys, NULL},
    {NULL},
};
static const char *const k_sched_what[] = {"constant schedule", "step schedule",
                                           "cosine schedule", "inverse_time schedule"};

/* The getters check closed ranges; lr > 0 and momentum/betas < 1 need an
 * open end, so the whole range is checked here, in the getters' style. The
 * updates compute in float32: a nonzero value that is 0 or subnormal
 * there (lr: 1e-320 trained with lr 0) or an open bound below 1 that rounds
 * to 1 (beta2: 0.9999999999 makes 1 - beta2 zero) is refused at its line. */
static int check_float32(dlx_spec_node *map, const char *key, double max, bool open_hi, double x, dlx_err *err)
{
    const dlx_spec_node *v = dlx_spec_get(map, key);
    if (!v)
        return 0;
    if (x != 0 && fabs((double)(float)x) < FLT_MIN)
        return dlx_err_setf(err, DLX_EINVAL, v->loc,
                            "%s: %s is below the smallest normal float32 (%g) that the optimizer computes "
                            "in; use a value of at least %g", v->path, v->scalar ? v->scalar : "",
                            (double)FLT_MIN, (double)FLT_MIN);
    if (open_hi && (double)(float)x >= max)
        return dlx_err_setf(err, DLX_EINVAL, v->loc,
                            "%s: %s rounds to %g in float32, which the optimizer computes in; it must stay "
                            "less than %g", v->path, v->scalar ? v->scalar : "", (double)(float)x, max);
    return 0;
}

static int get_float(dlx_spec_node *map, const char *key, double def, double min, double max,
                     bool open_lo, bool open_hi, double *out, dlx_err *err)
{
    if (!open_lo && !open_hi) {
        int rc = dlx_spec_float(map, key, false, def, min, max, out, err);
        return rc ? rc : check_float32(map, key, max, false, *out, err);
    }
    int rc = dlx_spec_float(map, key, false, def, -DBL_MAX, DBL_MAX, out, err);
    if (rc)
        return rc;
    bool lo_ok = open_lo ? *out > min : *out >= min;
    bool hi_ok = open_hi ? *out < max : *out <= max;
    if (!lo_ok || !hi_ok) {
        const dlx_spec_node *v = dlx_spec_get(map, key);
        return dlx_err_setf(err, DLX_EINVAL, v->loc, "%s: must be %s %g and %s %g, got %s", v->path,
                            open_lo ? "greater than" : "at least", min,
                            open_hi ? "less than" : "at most", max, v->scalar ? v->scalar : "");
    }
    return check_float32(map, key, max, open_hi, *out, err);
}

static void cfg_defaults(dlx_optim_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = DLX_OPTIM_SGD;
    cfg->lr = 0.01;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->sched = DLX_SCHED_CONSTANT;
    cfg->gamma = 0.1;
    cfg->step_epochs = 10;
}

/* extra: the tables of further keys the map may hold (NULL-terminated, or NULL). */
static int parse_optimizer(dlx_spec_node *m, const dlx_key_doc *const *extra, dlx_optim_cfg *cfg, dlx_err *err)
{
    int kind = 0, rc;
    rc = dlx_spec_enum(m, "type", false, k_optim_types, DLX_OPTIM_SGD, &kind, err);
    if (rc)
        return rc;
    cfg->kind = (dlx_optim_kind)kind;
    const dlx_key_doc *tables[4] = {k_optim_keys[kind]};
    for (int n = 1; extra && extra[n - 1] && n < 3; n++)
        tables[n] = extra[n - 1];
    rc = dlx_spec_check_docs(m, k_optim_types[kind], tables, err);
    if (rc)
        return rc;
    if ((rc = get_float(m, "lr", 0.01, 0, 10, true, false, &cfg->lr, err)))
        return rc;
    if (cfg->kind == DLX_OPTIM_SGD || cfg->kind == DLX_OPTIM_RMSPROP) {
        if ((rc = get_float(m, "momentum", 0, 0, 1, false, true, &cfg->momentum, err)))
            return rc;
    }
    if (cfg->kind == DLX_OPTIM_SGD) {
        if ((rc = dlx_spec_bool(m, "nesterov", false, false, &cfg->nesterov, err)))
            return rc;
        if (cfg->nesterov && cfg->momentum <= 0) {
            const dlx_spec_node *v = dlx_spec_get(m, "nesterov");
            return dlx_err_setf(err, DLX_EINVAL, v->loc,
                                "%s: Nesterov momentum needs momentum greater than 0", v->path);
        }
    }
    if (cfg->kind == DLX_OPTIM_ADAM) {
        if ((rc = get_float(m, "beta1", 0.9, 0, 1, false, true, &cfg->beta1, err)) ||
            (rc = get_float(m, "beta2", 0.999, 0, 1, false, true, &cfg->beta2, err)))
            return rc;
    }
    if (cfg->kind == DLX_OPTIM_RMSPROP) {
        /* PyTorch's name and default for the squared-gradient decay */
        if ((rc = get_float(m, "alpha", 0.99, 0, 1, false, true, &cfg->beta2, err)))
            return rc;
    }
    if (cfg->kind != DLX_OPTIM_SGD) {
        if ((rc = get_float(m, "eps", 1e-8, 0, 1, false, false, &cfg->eps, err)))
            return rc;
    }
    if ((rc = get_float(m, "weight_decay", 0, 0, 1, false, false, &cfg->weight_decay, err)) ||
        (rc = get_float(m, "grad_clip", 0, 0, 1e9, false, false, &cfg->grad_clip, err)))
        return rc;
    return 0;
}

static int parse_schedule(dlx_spec_node *m, dlx_optim_cfg *cfg, dlx_err *err)
{
    int kind = 0, rc;
    rc = dlx_spec_enum(m, "type", false, k_sched_types, DLX_SCHED_CONSTANT, &kind, err);
    if (rc)
        return rc;
    cfg->sched = (dlx_sched_kind)kind;
    rc = dlx_spec_check_doc(m, k_sched_what[kind], k_sched_keys[kind], err);
    if (rc)
        return rc;
    if (cfg->sched == DLX_SCHED_STEP) {
        if ((rc = get_float(m, "gamma", 0.1, 0, 1, true, false, &cfg->gamma, err)) ||
            (rc = dlx_spec_int(m, "step_epochs", false, 10, 1, 1000000000, &cfg->step_epochs,
                               err)))
            return rc;
    }
    if (cfg->sched == DLX_SCHED_COSINE) {
        if ((rc = get_float(m, "lr_min", 0, 0, 10, false, false, &cfg->lr_min, err)))
            return rc;
        if (cfg->lr_min > cfg->lr) {
            const dlx_spec_node *v = dlx_spec_get(m, "lr_min");
            return dlx_err_setf(err, DLX_EINVAL, v->loc,
                                "%s: must not exceed the optimizer's lr (%g), got %s", v->path,
                                cfg->lr, v->scalar ? v->scalar : "");
        }
    }
    if (cfg->sched == DLX_SCHED_INVERSE &&
        (rc = dlx_spec_int(m, "decay_steps", true, 0, 1, 1000000000, &cfg->decay_steps, err)))
        return rc;
    return dlx_spec_int(m, "warmup_steps", false, 0, 0, 1000000000, &cfg->warmup_steps, err);
}

int dlx_optim_cfg_from_spec(dlx_spec_node *train, dlx_optim_cfg *cfg, dlx_err *err)
{
    cfg_defaults(cfg);
    if (!train)
        return 0;
    int rc = dlx_spec_expect_map(train, "train", err);
    if (rc)
        return rc;
    dlx_spec_node *opt = dlx_spec_get(train, "optimizer");
    if (opt) {
        if ((rc = dlx_spec_expect_map(opt, "optimizer", err)) ||
            (rc = parse_optimizer(opt, NULL, cfg, err)))
            return rc;
    }
    dlx_spec_node *sched = dlx_spec_get(train, "schedule");
    if (sched) {
        if ((rc = dlx_spec_expect_map(sched, "schedule", err)) ||
            (rc = parse_schedule(sched, cfg, err)))
            return rc;
    }
    return 0;
}

int dlx_optim_cfg_from_map(dlx_spec_node *opt, const dlx_key_doc *extra, dlx_optim_cfg *cfg, dlx_err *err)
{
    cfg_defaults(cfg);
    const dlx_key_doc *const keys[] = {extra, NULL};
    int rc = parse_optimizer(opt, keys, cfg, err);
    dlx_spec_node *sched = rc ? NULL : dlx_spec_get(opt, "schedule");
    if (sched && !(rc = dlx_spec_expect_map(sched, "schedule", err)))
        rc = parse_schedule(sched, cfg, err);
    return rc;
}

/* ---- schedules ------------------------------------------------------------ */

double dlx_optim_lr(const dlx_optim_cfg *cfg, int64_t step, int64_t steps_per_epoch,
                    int64_t total_steps)
{
    double lr = cfg->lr;
    if (step < 0)
        step = 0;
    switch (cfg->sched) {
    case DLX_SCHED_CONSTANT: break;
    case DLX_SCHED_STEP: {
        int64_t epoch = step / (steps_per_epoch > 0 ? steps_per_epoch : 1);
        int64_t every = cfg->step_epochs > 0 ? cfg->step_epochs : 1;
        lr *= pow(cfg->gamma, (double)(epoch / every));
        break;
    }
    case DLX_SCHED_COSINE:
        if (total_steps > 0) {
            double t = (double)(step < total_steps ? step : total_steps);
            lr = cfg->lr_min +
                 (cfg->lr - cfg->lr_min) * (1.0 + cos(PI * t / (double)total_steps)) / 2.0;
        }
        break;
    case DLX_SCHED_INVERSE:
        lr /= 1.0 + (double)step / (double)(cfg->decay_steps > 0 ? cfg->decay_steps : 1);
        break;
    }
    if (step < cfg->warmup_steps)
        lr *= (double)(step + 1) / (double)cfg->warmup_steps;
    return lr;
}

/* ---- create / destroy ------------------------------------------------------ */

int dlx_optim_cfg_slots(const dlx_optim_cfg *cfg)
{
    switch (cfg->kind) {
    case DLX_OPTIM_SGD: return cfg->momentum > 0;
    case DLX_OPTIM_ADAM: return 2;
    case DLX_OPTIM_RMSPROP: return 1 + (cfg->momentum > 0);
    }
    return 0;
}

static int add_slot(dlx_optim *o, const char *name, dlx_err *err)
{
    int64_t total = o->params->total;
    float *b = calloc((size_t)(total ? total : 1), sizeof *b); /* its span faulted in at create */
    if (!b)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC,
                            "cannot allocate %.1f MiB for optimizer slot '%s'",
                            (double)total * sizeof(float) / (1024.0 * 1024.0), name);
    o->slot_names[o->n_slots] = name;
    o->slots[o->n_slots++] = b;
    return 0;
}

/* Runs of neighbouring member parameters with the same `decay`, in block
 * order (one run over the whole store when every parameter is a member and
 * none decays). */
static int build_runs(dlx_optim *o, dlx_err *err)
{
    const dlx_params *p = o->params;
    o->runs = calloc((size_t)(p->n ? p->n : 1), sizeof *o->runs);
    if (!o->runs)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory creating the optimizer");
    if (o->cfg.weight_decay == 0 && o->all) {
        o->runs[0] = (run){0, p->total, false};
        o->n_runs = 1;
    } else {
        for (int i = 0; i < p->n; i++) {
            const dlx_param *q = &p->items[i];
            if (!o->member[i])
                continue;
            int64_t off = q->t.data - p->values;
            bool decay = o->cfg.weight_decay != 0 && q->decay;
            run *last = o->n_runs ? &o->runs[o->n_runs - 1] : NULL;
            if (last && last->decay == decay && last->off + last->n == off)
                last->n += q->t.numel;
            else
                o->runs[o->n_runs++] = (run){off, q->t.numel, decay};
        }
    }
    o->lo = o->n_runs ? o->runs[0].off : 0;
    o->hi = o->n_runs ? o->runs[o->n_runs - 1].off + o->runs[o->n_runs - 1].n : 0;
    return 0;
}

int dlx_optim_create(const dlx_optim_cfg *cfg, dlx_params *params, dlx_optim **out, dlx_err *err)
{
    return dlx_optim_create_over(cfg, params, NULL, out, err);
}

int dlx_optim_create_over(const dlx_optim_cfg *cfg, dlx_params *params, const bool *member, dlx_optim **out,
                          dlx_err *err)
{
    *out = NULL;
    if (!params->final)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "optimizer: the parameter store is not finalized");
    if (cfg->nesterov && (cfg->kind != DLX_OPTIM_SGD || cfg->momentum <= 0))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "optimizer: Nesterov momentum needs sgd with momentum greater than 0");
    dlx_optim *o = calloc(1, sizeof(*o));
    if (!o)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory creating the optimizer");
    o->cfg = *cfg;
    o->params = params;
    o->threads = 1;
    o->member = calloc((size_t)(params->n ? params->n : 1), sizeof *o->member);
    int rc = o->member ? 0 : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory creating the optimizer");
    if (rc)
        goto out_destroy;
    o->all = true;
    for (int i = 0; i < params->n; i++) {
        o->member[i] = !member || member[i];
        o->all = o->all && o->member[i];
    }
    switch (cfg->kind) {
    case DLX_OPTIM_SGD:
        if (cfg->momentum > 0)
            rc = add_slot(o, "momentum", err);
        break;
    case DLX_OPTIM_ADAM:
        if (!(rc = add_slot(o, "m", err)))
            rc = add_slot(o, "v", err);
        break;
    case DLX_OPTIM_RMSPROP:
        rc = add_slot(o, "square_avg", err);
        if (!rc && cfg->momentum > 0)
            rc = add_slot(o, "momentum", err);
        break;
    }
    if (!rc)
        rc = build_runs(o, err);
    if (rc)
        goto out_destroy;
    for (int s = 0; s < o->n_slots; s++) /* the span its updates read and write (tensor.h) */
        dlx_fault_in(o->slots[s] + o->lo, o->hi - o->lo);
    *out = o;
    return 0;
out_destroy:
    dlx_optim_destroy(o);
    return rc;
}

void dlx_optim_destroy(dlx_optim *o)
{
    if (!o)
        return;
    for (int s = 0; s < o->n_slots; s++)
        free(o->slots[s]);
    free(o->runs);
    free(o->member);
    free(o);
}

/* ---- updates --------------------------------------------------------------- */

static void sgd_plain(float *restrict w, const float *restrict g, int64_t n, float nlr, float wd)
{
    for (int64_t i = 0; i < n; i++)
        w[i] = w[i] + nlr * (g[i] + wd * w[i]);
}

static void sgd_momentum(float *restrict w, const float *restrict g, float *restrict v, int64_t n,
                         float nlr, float wd, float mu, bool nesterov)
{
    if (nesterov) {
        for (int64_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            v[i] = v[i] * mu + d;
            w[i] = w[i] + nlr * (d + mu * v[i]);
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            v[i] = v[i] * mu + (g[i] + wd * w[i]);
            w[i] = w[i] + nlr * v[i];
        }
    }
}

/* sqrtf vectorises only where the build passes -fno-math-errno. */
static void adam(float *restrict w, const float *restrict g, float *restrict m, float *restrict v,
                 int64_t n, float wd, float b1, float omb1, float b2, float omb2, float bc2_sqrt,
                 float eps, float nstep)
{
    for (int64_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        m[i] = m[i] * b1 + omb1 * d;
        v[i] = v[i] * b2 + omb2 * d * d;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        w[i] = w[i] + nstep * m[i] / denom;
    }
}

static void rmsprop(float *restrict w, const float *restrict g, float *restrict s, int64_t n,
                    float nlr, float wd, float alpha, float oma, float eps)
{
    for (int64_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        s[i] = s[i] * alpha + oma * d * d;
        w[i] = w[i] + nlr * d / (sqrtf(s[i]) + eps);
    }
}

static void rmsprop_momentum(float *restrict w, const float *restrict g, float *restrict s,
                             float *restrict b, int64_t n, float nlr, float wd, float alpha,
                             float oma, float eps, float mu)
{
    for (int64_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        s[i] = s[i] * alpha + oma * d * d;
        b[i] = b[i] * mu + d / (sqrtf(s[i]) + eps);
        w[i] = w[i] + nlr * b[i];
    }
}

static double grad_norm(const float *g, int64_t n)
{
    /* four partial sums: shorter dependency chain, same result for any build */
    double s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            s[k] += (double)g[i + k] * (double)g[i + k];
    for (; i < n; i++)
        s[0] += (double)g[i] * (double)g[i];
    return sqrt((s[0] + s[1]) + (s[2] + s[3]));
}

/* The constants of update t + 1 (Python floats in PyTorch: 1 - beta is
 * computed in double, then rounded). */
void dlx_optim_prepare(const dlx_optim *o, double lr, dlx_optim_consts *k)
{
    const dlx_optim_cfg *c = &o->cfg;
    double t = (double)(o->t + 1);
    k->nlr = (float)-lr;
    k->b1 = (float)c->beta1, k->omb1 = (float)(1.0 - c->beta1);
    k->b2 = (float)c->beta2, k->omb2 = (float)(1.0 - c->beta2);
    k->eps = (float)c->eps, k->mu = (float)c->momentum;
    k->bc2_sqrt = (float)sqrt(1.0 - pow(c->beta2, t));
    k->nstep = (float)-(lr / (1.0 - pow(c->beta1, t)));
}

/* Elements [lo, hi) of the store: each run (a parameter) clipped to the range. */
void dlx_optim_apply(const dlx_optim *o, const dlx_optim_consts *k, int64_t lo, int64_t hi)
{
    const dlx_optim_cfg *c = &o->cfg;
    float *w = o->params->values, *g = o->params->grads;
    for (int r = 0; r < o->n_runs; r++) {
        const run *u = &o->runs[r];
        int64_t a = u->off > lo ? u->off : lo, b = u->off + u->n < hi ? u->off + u->n : hi;
        if (a >= b)
            continue;
        int64_t n = b - a;
        float wd = u->decay ? (float)c->weight_decay : 0.0f;
        float *wr = w + a, *gr = g + a;
        float *s0 = o->n_slots > 0 ? o->slots[0] + a : NULL;
        float *s1 = o->n_slots > 1 ? o->slots[1] + a : NULL;
        switch (c->kind) {
        case DLX_OPTIM_SGD:
            if (s0)
                sgd_momentum(wr, gr, s0, n, k->nlr, wd, k->mu, c->nesterov);
            else
                sgd_plain(wr, gr, n, k->nlr, wd);
            break;
        case DLX_OPTIM_ADAM:
            adam(wr, gr, s0, s1, n, wd, k->b1, k->omb1, k->b2, k->omb2, k->bc2_sqrt, k->eps, k->nstep);
            break;
        case DLX_OPTIM_RMSPROP:
            if (s1)
                rmsprop_momentum(wr, gr, s0, s1, n, k->nlr, wd, k->b2, k->omb2, k->eps, k->mu);
            else
                rmsprop(wr, gr, s0, n, k->nlr, wd, k->b2, k->omb2, k->eps);
            break;
        }
    }
}

void dlx_optim_commit(dlx_optim *o) { o->t++; }

/* torch.nn.utils.clip_grad_norm_ over the gradient of the optimizer's
 * parameters; -1 when off. */
static double clip_gradient(dlx_optim *o)
{
    const dlx_optim_cfg *c = &o->cfg;
    dlx_params *p = o->params;
    float *g = p->grads;
    if (!(c->grad_clip > 0))
        return -1.0;
    double norm;
    if (o->all) {
        norm = grad_norm(g, p->total);
    } else {
        double s = 0.0;
        for (int r = 0; r < o->n_runs; r++) {
            double n = grad_norm(g + o->runs[r].off, o->runs[r].n);
            s += n * n;
        }
        norm = sqrt(s);
    }
    double coef = c->grad_clip / (norm + 1e-6);
    if (coef < 1.0) {
        float fc = (float)coef;
        for (int r = 0; r < o->n_runs; r++)
            for (int64_t i = o->runs[r].off; i < o->runs[r].off + o->runs[r].n; i++)
                g[i] *= fc;
    }
    return norm;
}

bool dlx_optim_clips(const dlx_optim *o) { return o->cfg.grad_clip > 0; }

double dlx_optim_step(dlx_optim *o, double lr)
{
    /* the norm costs a pass over every gradient: only when clipping needs it */
    double norm = clip_gradient(o);
    dlx_optim_consts k;
    dlx_optim_prepare(o, lr, &k);
    /* Every update is elementwise, so pieces of CHUNK elements can run on
     * o->threads threads with results independent of the thread count. */
    enum { CHUNK = 1 << 16 };
    int64_t total = o->params->total, pieces = (total + CHUNK - 1) / CHUNK;
    /* a few thousand parameters update in less time than waking a thread
     * (and no region at all then: even a one-thread one costs a futex call) */
    if (o->threads > 1 && total >= 16384) {
#pragma omp parallel for schedule(static) num_threads(o->threads)
        for (int64_t i = 0; i < pieces; i++)
            dlx_optim_apply(o, &k, i * CHUNK, (i + 1) * CHUNK < total ? (i + 1) * CHUNK : total);
    } else {
        dlx_optim_apply(o, &k, 0, total);
    }
    dlx_optim_commit(o);
    return norm;
}

/* ---- state ----------------------------------------------------------------- */

int dlx_optim_n_slots(const dlx_optim *o) { return o->n_slots; }

const char *dlx_optim_slot_name(const dlx_optim *o, int slot)
{
    return slot >= 0 && slot < o->n_slots ? o->slot_names[slot] : NULL;
}

bool dlx_optim_has(const dlx_optim *o, int param)
{
    return param >= 0 && param < o->params->n && o->member[param];
}

const bool *dlx_optim_members(const dlx_optim *o) { return o->all ? NULL : o->member; }

void dlx_optim_span(const dlx_optim *o, int64_t *lo, int64_t *hi)
{
    *lo = o->lo;
    *hi = o->hi;
}

float *dlx_optim_slot(dlx_optim *o, int slot, int param)
{
    if (slot < 0 || slot >= o->n_slots || !dlx_optim_has(o, param))
        return NULL;
    return o->slots[slot] + (o->params->items[param].t.data - o->params->values);
}

int64_t dlx_optim_t(const dlx_optim *o) { return o->t; }

void dlx_optim_set_threads(dlx_optim *o, int threads) { o->threads = threads > 0 ? threads : 1; }

void dlx_optim_set_t(dlx_optim *o, int64_t t) { o->t = t; }
