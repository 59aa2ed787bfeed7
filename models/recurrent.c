/* Family "recurrent": recurrent nets on the long-memory tasks of Henaff,
 * Szlam & LeCun 2016 ("Recurrent Orthogonal Networks and Long-Memory
 * Tasks"): copy, variable-delay copy and adding (train/sequence.h).
 *
 *   model: {kind: recurrent,
 *           task: {name: copy | copy_variable | adding, T, samples, test_samples},
 *           cell: {type: rnn, activation: none | tanh | relu, hidden,
 *                  init: orthogonal | identity | henaff | normal, init_scale}
 *              or {type: lstm, hidden, forget_bias}}
 *
 * The recurrence is one op over the whole sequence (core/ops/rnn.c: the
 * transition weights are one parameter used at every step, BPTT inside the
 * op); the readout y_t = V h_t + c is a linear layer over every step (copy:
 * softmax cross-entropy averaged over the T + 20 steps) or over the last
 * step (adding: mean squared error). Sequences come from the counter-based
 * generator keyed by (step, repeat) and the sample's index in the batch, so
 * a resumed run, any thread count and any train.shards see the same data.
 * Each evaluation logs test_loss on fixed test sequences beside the
 * memoryless baseline (metric `baseline`) and, for copy, recall_accuracy:
 * the share of the 10 recalled symbols predicted right.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gradcheck.h"
#include "../core/h5io.h"
#include "../core/ops/ops.h"
#include "../core/rundir.h"
#include "../core/rng.h"
#include "../train/sequence.h"
#include "../train/trainer.h"
#include "family.h"
#include "recurrent.h"

enum { REC_STREAM_TRAIN = DLX_STREAM_USER + 1, REC_STREAM_TEST = DLX_STREAM_USER + 2 };

typedef enum { INIT_ORTHOGONAL, INIT_IDENTITY, INIT_HENAFF, INIT_NORMAL } rec_init;

typedef struct rec_replica {
    dlx_node *x, *y;
    dlx_node *out;  /* copy: logits (L n, C); adding: predictions (n, 1) */
    dlx_node *loss;
} rec_replica;

typedef struct rec {
    dlx_train_cfg tc;
    dlx_seq seq;
    bool lstm;
    dlx_act act;
    rec_init init;
    int task;   /* index in k_tasks */
    int64_t hidden, samples, test_samples, shard_batch;
    double init_scale, forget_bias;
    dlx_replicas reps;
    rec_replica rep[DLX_REPLICAS_MAX];
} rec;

static const dlx_key_doc k_model_keys[] = {
    {"kind", "string", "required", "recurrent", "the family"},
    {"task", "map", "required", "dlx spec model.recurrent.task", "the generated sequence task"},
    {"cell", "map", "required", "dlx spec model.recurrent.cell.rnn or .lstm", "the recurrent layer"},
    {NULL},
};
static const dlx_key_doc k_task_keys[] = {
    {"name", "string", "required", "copy, copy_variable, adding", "the task"},
    {"T", "integer", "required", "1 to 100000 (adding: 2 to 100000)", "the delay (copy) or the sequence length (adding)"},
    {"samples", "integer", "10000", "1 to 1000000000", "training sequences per epoch"},
    {"test_samples", "integer", "500", "1 to 1000000", "fixed test sequences of each evaluation"},
    {NULL},
};
static const char *const k_tasks[] = {"copy", "copy_variable", "adding", NULL};
static const dlx_seq_task k_task_kinds[] = {DLX_SEQ_COPY, DLX_SEQ_COPY_VARIABLE, DLX_SEQ_ADDING};
static const char *const k_cells[] = {"rnn", "lstm", NULL};
#define DOC_CELL_TYPE {"type", "string", "required", "rnn, lstm", "the cell"}
#define DOC_HIDDEN {"hidden", "integer", "128", "1 to 65536", "hidden units"}
static const dlx_key_doc k_rnn_keys[] = {
    DOC_CELL_TYPE,
    {"activation", "string", "tanh", "none, tanh, relu", "h_t = act(W h_{t-1} + U x_t + b)"},
    DOC_HIDDEN,
    {"init", "string", "orthogonal", "orthogonal, identity, henaff, normal", "the transition matrix W's start"},
    {"init_scale", "number", "1", "1e-06 to 100", "its gain (normal: std init_scale / sqrt(hidden))"},
    {NULL},
};
static const dlx_key_doc k_lstm_keys[] = {
    DOC_CELL_TYPE, DOC_HIDDEN,
    {"forget_bias", "number", "1", "-100 to 100", "the forget gate's starting bias"},
    {NULL},
};

static const dlx_spec_section k_sections[] = {
    {"model.recurrent", "model: with kind: recurrent: an rnn or lstm on a generated sequence task (it reads no data:; train: "
                        "as dlx spec train, batch 20)",
     k_model_keys, NULL},
    {"model.recurrent.task", "model.task of recurrent", k_task_keys, NULL},
    {"model.recurrent.cell.rnn", "model.cell of recurrent with type: rnn", k_rnn_keys, NULL},
    {"model.recurrent.cell.lstm", "model.cell of recurrent with type: lstm", k_lstm_keys, NULL},
    {NULL},
};
static const char *const k_acts[] = {"none", "tanh", "relu", NULL};
static const dlx_act k_act_kinds[] = {DLX_ACT_NONE, DLX_ACT_TANH, DLX_ACT_RELU};
static const char *const k_inits[] = {"orthogonal", "identity", "henaff", "normal", NULL};
static const char *const k_losses[] = {"loss", NULL};

static int node_failed(dlx_err *err) { return err->code ? err->code : DLX_ENOMEM; }

static bool is_copy(const rec *c) { return c->seq.task != DLX_SEQ_ADDING; }

static int read_task(dlx_spec_node *model, rec *c, dlx_err *err)
{
    dlx_spec_node *task = dlx_spec_get(model, "task");
    int rc = dlx_spec_expect_map(task, "model.task", err), kind = 0;
    int64_t T;
    if (!rc) rc = dlx_spec_check_doc(task, "model.task", k_task_keys, err);
    if (!rc) rc = dlx_spec_enum(task, "name", true, k_tasks, -1, &kind, err);
    /* the shortest task: copy needs one step of delay, adding one step in each half */
    if (!rc) rc = dlx_spec_int(task, "T", true, 0, k_task_kinds[kind] == DLX_SEQ_ADDING ? 2 : 1, 100000, &T, err);
    if (!rc) rc = dlx_spec_int(task, "samples", false, 10000, 1, 1000000000, &c->samples, err);
    if (!rc) rc = dlx_spec_int(task, "test_samples", false, 500, 1, 1000000, &c->test_samples, err);
    if (!rc) rc = dlx_seq_init(&c->seq, k_task_kinds[kind], T, err);
    c->task = kind;
    return rc;
}

static int read_cell(dlx_spec_node *model, rec *c, dlx_err *err)
{
    dlx_spec_node *cell = dlx_spec_get(model, "cell");
    int rc = dlx_spec_expect_map(cell, "model.cell", err), type = 0, act = 1, init = 0;
    if (!rc) rc = dlx_spec_enum(cell, "type", true, k_cells, -1, &type, err);
    c->lstm = type == 1;
    if (!rc) rc = dlx_spec_check_doc(cell, c->lstm ? "model.cell (lstm)" : "model.cell (rnn)",
                                     c->lstm ? k_lstm_keys : k_rnn_keys, err);
    if (!rc) rc = dlx_spec_int(cell, "hidden", false, 128, 1, 65536, &c->hidden, err);
    if (!rc && c->lstm)
        rc = dlx_spec_float(cell, "forget_bias", false, 1.0, -100.0, 100.0, &c->forget_bias, err);
    if (!rc && !c->lstm) {
        rc = dlx_spec_enum(cell, "activation", false, k_acts, 1, &act, err);
        if (!rc) rc = dlx_spec_enum(cell, "init", false, k_inits, 0, &init, err);
        if (!rc) rc = dlx_spec_float(cell, "init_scale", false, 1.0, 1e-6, 100.0, &c->init_scale, err);
        c->act = k_act_kinds[act];
        c->init = (rec_init)init;
    }
    return rc;
}

/* BPTT keeps every step's state: refuse, at task.T, a sequence whose
 * recurrent layer alone would not fit the memory limit. */
static int check_bptt_memory(const dlx_model *m, const rec *c, dlx_err *err)
{
    double bytes = 4.0 * dlx_rnn_bptt_floats(c->lstm, c->seq.steps, c->tc.batch, c->hidden, true);
    if (!m->max_memory || bytes <= (double)m->max_memory)
        return 0;
    dlx_spec_node *T = dlx_spec_path(m->spec, "model.task.T");
    return dlx_err_setf(err, DLX_EINVAL, T ? T->loc : DLX_NOLOC,
                        "model.task.T: a sequence of %lld steps needs %.0f bytes (%.1f MiB) for backpropagation "
                        "through time (%lld floats per step and sample for %s of %lld units, batch %lld), over the "
                        "memory limit of %zu bytes (--max-memory): shorten T, the batch or the hidden layer",
                        (long long)c->seq.steps, bytes, bytes / 1048576.0,
                        (long long)dlx_rnn_step_floats(c->lstm, c->hidden, true), c->lstm ? "an lstm" : "an rnn",
                        (long long)c->hidden, (long long)c->tc.batch, m->max_memory);
}

static int read_spec(dlx_model *m, rec *c, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(m->spec), *model = dlx_spec_get(root, "model");
    int rc = dlx_spec_check_doc(model, "model (recurrent)", k_model_keys, err);
    if (!rc) rc = read_task(model, c, err);
    if (!rc) rc = read_cell(model, c, err);
    if (!rc) rc = dlx_train_cfg_read(root, &(dlx_train_defaults){.batch = 20}, k_losses, &c->tc,
                                     &m->plan, err);
    if (!rc) rc = check_bptt_memory(m, c, err);
    return rc;
}

/* The transition's initialisation: orthogonal and identity scaled by
 * init_scale, Henaff's rotations, or N(0, init_scale^2 / hidden). */
static dlx_init transition_init(const rec *c)
{
    const float a = (float)c->init_scale;
    switch (c->init) {
    case INIT_IDENTITY: return (dlx_init){.kind = DLX_INIT_IDENTITY, .a = a};
    case INIT_HENAFF: return (dlx_init){.kind = DLX_INIT_ROTATION, .a = a};
    case INIT_NORMAL: return (dlx_init){.kind = DLX_INIT_NORMAL, .a = a / sqrtf((float)c->hidden)};
    case INIT_ORTHOGONAL: break;
    }
    return (dlx_init){.kind = DLX_INIT_ORTHOGONAL, .a = a};
}

static dlx_node *param(dlx_model *m, dlx_graph *g, const char *name, dlx_shape s, dlx_init init, dlx_err *err)
{
    int i = dlx_params_declare(&m->params, name, s, init, init.kind != DLX_INIT_ZERO, err);
    return i < 0 ? NULL : dlx_graph_param(g, i, err);
}

/* The recurrent layer over x (L, n, I): h (L, n, H). */
static dlx_node *cell_ops(dlx_model *m, const rec *c, dlx_graph *g, dlx_node *x, dlx_err *err)
{
    const int64_t H = c->hidden, G = c->lstm ? 4 : 1, I = c->seq.in_dim;
    const dlx_init zero = {.kind = DLX_INIT_ZERO};
    /* PyTorch's reset for the lstm (U(-1/sqrt(H), 1/sqrt(H))); Xavier for the rnn's input weights */
    const dlx_init in_init = c->lstm ? (dlx_init){.kind = DLX_INIT_TORCH, .fan_in = H}
                                     : (dlx_init){.kind = DLX_INIT_XAVIER, .fan_in = I, .fan_out = H};
    const dlx_init tr_init = c->lstm ? (dlx_init){.kind = DLX_INIT_TORCH, .fan_in = H} : transition_init(c);
    dlx_node *wx = param(m, g, c->lstm ? "cell.Wx" : "cell.U", dlx_shape_2d(G * H, I), in_init, err);
    dlx_node *wh = wx ? param(m, g, c->lstm ? "cell.Wh" : "cell.W", dlx_shape_2d(G * H, H), tr_init, err) : NULL;
    dlx_node *b = wh ? param(m, g, "cell.b", dlx_shape_1d(G * H), zero, err) : NULL;
    if (!b)
        return NULL;
    dlx_node *in[] = {x, wx, wh, b};
    if (c->lstm)
        return dlx_graph_op(g, &dlx_op_lstm, "h", in, 4, &(dlx_lstm_attr){(float)c->forget_bias}, DLX_NOLOC, err);
    return dlx_graph_op(g, &dlx_op_rnn, "h", in, 4, &(dlx_rnn_attr){c->act}, DLX_NOLOC, err);
}

/* The readout y = V h + c of every step (copy) or of the last (adding). */
static dlx_node *readout(dlx_model *m, const rec *c, dlx_graph *g, dlx_node *h, int64_t n, dlx_err *err)
{
    const int64_t L = c->seq.steps, H = c->hidden, out = is_copy(c) ? DLX_COPY_CLASSES : 1;
    dlx_node *v = param(m, g, "out.V", dlx_shape_2d(out, H), (dlx_init){.kind = DLX_INIT_XAVIER, .fan_in = H, .fan_out = out}, err);
    dlx_node *bias = v ? param(m, g, "out.c", dlx_shape_1d(out), (dlx_init){.kind = DLX_INIT_ZERO}, err) : NULL;
    if (!bias)
        return NULL;
    dlx_node *rows;
    if (is_copy(c)) {
        rows = dlx_graph_op(g, &dlx_op_reshape, "h_rows", &h, 1, &(dlx_reshape_attr){2, {L * n, H}}, DLX_NOLOC, err);
    } else { /* the last step: the tail of h seen as one row */
        dlx_node *flat = dlx_graph_op(g, &dlx_op_reshape, NULL, &h, 1, &(dlx_reshape_attr){2, {1, L * n * H}}, DLX_NOLOC, err);
        dlx_node *last = flat ? dlx_graph_op(g, &dlx_op_slice, NULL, &flat, 1,
                                             &(dlx_slice_attr){1, (L - 1) * n * H, n * H}, DLX_NOLOC, err) : NULL;
        rows = last ? dlx_graph_op(g, &dlx_op_reshape, "h_last", &last, 1, &(dlx_reshape_attr){2, {n, H}}, DLX_NOLOC, err)
                    : NULL;
    }
    return rows ? dlx_graph_op(g, &dlx_op_linear, "y", (dlx_node *[]){rows, v, bias}, 3,
                               &(dlx_linear_attr){.act = DLX_ACT_NONE}, DLX_NOLOC, err) : NULL;
}

/* The graph of n sequences: inputs x, y; the net; the loss. */
static int build_graph(dlx_model *m, int64_t n, dlx_graph **gout, rec_replica *r, dlx_err *err)
{
    const rec *c = m->impl;
    const int64_t L = c->seq.steps;
    dlx_graph *g = dlx_graph_create(&m->params);
    if (!g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    r->x = dlx_graph_input(g, "x", (dlx_shape){.ndim = 3, .d = {L, n, c->seq.in_dim}}, false, err);
    r->y = r->x ? dlx_graph_input(g, "y", dlx_shape_1d(is_copy(c) ? L * n : n), false, err) : NULL;
    dlx_node *h = r->y ? cell_ops(m, c, g, r->x, err) : NULL;
    r->out = h ? readout(m, c, g, h, n, err) : NULL;
    if (r->out && is_copy(c))
        r->loss = dlx_graph_op(g, &dlx_op_softmax_xent, "loss", (dlx_node *[]){r->out, r->y}, 2, NULL, DLX_NOLOC, err);
    else if (r->out)
        r->loss = dlx_graph_op(g, &dlx_op_mse, "loss", (dlx_node *[]){r->out, r->y}, 2,
                               &(dlx_mse_attr){.mode = DLX_MSE_MEAN}, DLX_NOLOC, err);
    if (!r->out || !r->loss) {
        dlx_graph_destroy(g);
        return node_failed(err);
    }
    *gout = g;
    return 0;
}

static int build_replica(void *user, int k, dlx_graph **g, dlx_err *err)
{
    dlx_model *m = user;
    rec *c = m->impl;
    return build_graph(m, c->shard_batch, g, &c->rep[k], err);
}

static void rec_destroy(dlx_model *m)
{
    rec *c = m->impl;
    if (!c)
        return;
    dlx_replicas_free(&c->reps);
    free(c);
    m->impl = NULL;
}

static int rec_create(dlx_model *m, dlx_err *err)
{
    rec *c = calloc(1, sizeof *c);
    if (!c)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = c;
    int rc = read_spec(m, c, err);
    if (rc)
        return rc;
    c->shard_batch = c->tc.batch / c->tc.shards;
    int threads = dlx_replicas_threads(m->threads);
    dlx_replicas_init(&c->reps, &m->params, c->tc.shards, threads);
    rc = dlx_replicas_build(&c->reps, m, 0.0, build_replica, m, err);
    if (!rc) rc = dlx_params_init_values(&m->params, m->seed, err);
    if (!rc) rc = dlx_plan_create(&m->plan, &m->params, threads, err);
    if (!rc) {
        char cell[96];
        if (c->lstm)
            snprintf(cell, sizeof cell, "lstm of %lld units", (long long)c->hidden);
        else
            snprintf(cell, sizeof cell, "%s rnn of %lld units, W init %s x %g",
                     c->act == DLX_ACT_NONE ? "linear" : dlx_act_name(c->act), (long long)c->hidden, k_inits[c->init],
                     c->init_scale);
        dlx_run_info(m, "recurrent: %s T=%lld (%lld steps), %s, %lld parameters; memoryless baseline %.4f",
                     k_tasks[c->task], (long long)c->seq.T, (long long)c->seq.steps, cell, (long long)m->params.total,
                     dlx_seq_baseline(&c->seq));
    }
    return rc;
}

/* ---- the trainer's callbacks ---- */

/* Replica k's part of the batch: samples k n .. of the draw (step, repeat). */
static void rec_feed(void *user, int u, int rep, int k, int64_t pos)
{
    (void)u, (void)pos;
    const dlx_model *m = user;
    const rec *c = m->impl;
    const rec_replica *r = &c->rep[k];
    uint64_t draw = (uint64_t)m->step * DLX_REPEAT_MAX + (uint64_t)rep;
    dlx_seq_fill_range(&c->seq, m->seed, REC_STREAM_TRAIN, draw, k * c->shard_batch, c->shard_batch, r->x->out.data,
                       r->y->out.data);
}

static dlx_node *rec_loss(void *user, int l, int k)
{
    (void)l;
    const dlx_model *m = user;
    return ((const rec *)m->impl)->rep[k].loss;
}

/* Add chunk i's loss (summed over its first `rows` sequences) and right recalls to the sums. */
static void score_chunk(const rec *c, const rec_replica *r, int64_t n, int64_t rows, double *loss, double *right,
                        double *due)
{
    const float *o = r->out->out.data, *y = r->y->out.data;
    if (!is_copy(c)) {
        for (int64_t i = 0; i < rows; i++)
            *loss += ((double)o[i] - y[i]) * ((double)o[i] - y[i]);
        return;
    }
    const int C = DLX_COPY_CLASSES;
    for (int64_t t = 0; t < c->seq.steps; t++)
        for (int64_t i = 0; i < rows; i++) {
            const float *z = o + (t * n + i) * C;
            int want = (int)y[t * n + i], best = 0;
            double mx = z[0], s = 0.0;
            for (int j = 1; j < C; j++)
                if (z[j] > mx)
                    mx = z[j], best = j;
            for (int j = 0; j < C; j++)
                s += exp((double)z[j] - mx);
            *loss += mx + log(s) - z[want];
            if (want != 0) {
                *due += 1.0;
                *right += best == want;
            }
        }
}

/* test_loss (per step for copy, per sequence for adding) on the fixed test
 * sequences through replica 0's graph, the baseline beside it. */
static int eval_test(dlx_model *m, dlx_results *res)
{
    rec *c = m->impl;
    const rec_replica *r = &c->rep[0];
    const int64_t n = c->shard_batch;
    const dlx_ctx ctx = {.training = false, .seed = m->seed, .threads = c->reps.op_threads};
    double loss = 0.0, right = 0.0, due = 0.0;
    for (int64_t s = 0; s < c->test_samples; s += n) {
        dlx_seq_fill_range(&c->seq, m->seed, REC_STREAM_TEST, 0, s, n, r->x->out.data, r->y->out.data);
        dlx_graph_forward_to(c->reps.r[0].g, r->out, &ctx);
        score_chunk(c, r, n, c->test_samples - s < n ? c->test_samples - s : n, &loss, &right, &due);
    }
    double per = is_copy(c) ? (double)c->test_samples * (double)c->seq.steps : (double)c->test_samples;
    dlx_results_set(res, "test_loss", loss / per);
    dlx_results_set(res, "baseline", dlx_seq_baseline(&c->seq));
    if (is_copy(c))
        dlx_results_set(res, "recall_accuracy", due > 0 ? right / due : 0.0);
    return 0;
}

static int rec_eval_cb(void *user, dlx_results *res, dlx_err *err)
{
    (void)err;
    return eval_test(user, res);
}

/* Where the run's test loss first went below the memoryless baseline and
 * below half of it (the first evaluation's step; NaN when it never did), read
 * back from metrics.h5 so that a resumed run counts its earlier evaluations. */
static int add_crossings(dlx_model *m, dlx_err *err)
{
    const rec *c = m->impl;
    char path[DLX_RUNDIR_MAX + 1];
    double *xy = NULL, base = dlx_seq_baseline(&c->seq), below = NAN, half = NAN;
    int64_t n = 0;
    int rc = dlx_path_join(path, sizeof path, m->run_dir, "metrics.h5", err);
    if (!rc) rc = dlx_metrics_read_opt(path, "test_loss", &xy, &n, err);
    for (int64_t i = 0; !rc && i < n; i++) {
        if (isnan(below) && xy[2 * i + 1] < base)
            below = xy[2 * i];
        if (isnan(half) && xy[2 * i + 1] < base / 2)
            half = xy[2 * i];
    }
    free(xy);
    if (!rc) {
        dlx_results_set(&m->results, "below_baseline_at", below);
        dlx_results_set(&m->results, "below_half_baseline_at", half);
    }
    return rc;
}

static int rec_train(dlx_model *m, dlx_err *err)
{
    rec *c = m->impl;
    dlx_trainer t = {
        .cfg = c->tc,
        .replicas = &c->reps,
        .plan = &m->plan,
        .fam = {.user = m, .loss = rec_loss, .samples = c->samples, .feed = rec_feed, .evaluate = rec_eval_cb},
    };
    int rc = dlx_trainer_run(m, &t, err);
    if (!rc && !m->hooks.dry_run)
        rc = add_crossings(m, err);
    return rc;
}

static int rec_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    if (data)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--data: the recurrent family evaluates on its generated "
                            "test sequences (model.task), not on '%s'", data);
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "step", (double)m->step);
    return eval_test(m, res);
}

/* The loss's gradient on 2 test sequences of the spec's length. */
static int rec_gradcheck(dlx_model *m, const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err)
{
    if (o->loss && strcmp(o->loss, "loss") != 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--loss: this family has one loss, 'loss', not '%s'", o->loss);
    rec *c = m->impl;
    dlx_graph *g = NULL;
    rec_replica r = {0};
    int rc = build_graph(m, 2, &g, &r, err);
    if (!rc) rc = dlx_graph_compile(g, m->max_memory, err);
    if (!rc) {
        dlx_seq_fill_range(&c->seq, m->seed, REC_STREAM_TEST, 0, 0, 2, r.x->out.data, r.y->out.data);
        const dlx_ctx ctx = {.training = true, .seed = m->seed, .threads = 1};
        rc = dlx_gradcheck_graph(g, r.loss, &ctx, o, rep, err);
    }
    dlx_graph_destroy(g);
    return rc;
}

const dlx_family dlx_family_recurrent = {
    .name = "recurrent",
    .help = "recurrent nets (rnn with orthogonal, identity, Henaff or Gaussian transitions; lstm) on the copy, "
            "variable-delay copy and adding tasks (Henaff, Szlam & LeCun 2016)",
    .create = rec_create,
    .destroy = rec_destroy,
    .train = rec_train,
    .evaluate = rec_evaluate,
    .gradcheck = rec_gradcheck,
    .figure = dlx_recurrent_figure,
    .spec_sections = k_sections,
};
