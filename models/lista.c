/* Family "sparse_coding": Gregor & LeCun 2010, "Learning Fast Approximations
 * of Sparse Coding". Energy E(z) = 0.5 ||x - Wd z||^2 + alpha ||z||_1.
 *
 * One run, in train():
 *   1. the dictionary Wd (n x m, unit-norm columns): read from another run
 *      (model.dictionary.from: DIR holding codes.h5), learned by alternating
 *      FISTA inference and a gradient step on Wd (then the columns are
 *      renormalised), or, with dictionary.steps = 0, random unit-norm atoms;
 *   2. the optimal codes Z* of the train and test samples, by FISTA run to
 *      model.optimal.tol (or .max_iters);
 *   3. for algorithm lista (lcod): one encoder per depth T in model.T, trained
 *      by backprop through the unrolled graph (below) against Z*, all depths
 *      on the same batches, through train/trainer.h (models/lista_train.c),
 *      which also resumes them (steps 1 and 2 are then read back from
 *      codes.h5); for ista / fista / cod nothing is trained.
 *      LCoD is one op (core/ops/lcod.c) over its T coordinate updates, started
 *      at CoD's values (We = Wd^T, S = I - Wd^T Wd, theta = alpha).
 * evaluate() reports, per T in model.T, the code prediction error
 * err_T<k> = mean over test samples of ||Z_pred - Z*||^2 and the energy gap
 * gap_T<k> = mean E(Z_pred) - E(Z*); for the exact algorithms also the
 * iterations needed to come within 1e-4 (relative) of E(Z*) and the samples/s
 * of inference with max(T) iterations.
 *
 * The LISTA graph at depth T (tied We, S, theta: one param node each, used by
 * every step, so their gradients add):
 *   B = linear(X; We), Z = shrink(B, theta), T times Z = shrink(B + linear(Z; S), theta),
 *   loss = mse HALF_SUM(Z, Z*).
 * Started at We = Wd^T / L, S = I - Wd^T Wd / L, theta = alpha / L, it computes
 * exactly ISTA's iterate T + 1 (core/sparse.h: ISTA's products take the
 * linear op's kernel choice; bit for bit within the scope stated there), which
 * a test checks.
 * Cost: LISTA at depth T = ISTA/FISTA at T + 1 iterations (one m x n product,
 * then T m x m products), which is how the figure places it.
 *
 * Data: `patches` (10x10 patches cut from the PNG photographs in data.dir at
 * seeded random places, grey, each patch centred and divided by its standard
 * deviation; near-flat patches with std < 0.02 of the pixel range are redrawn)
 * or `mnist` (pixels / 255, flattened).
 * Files: <run>/checkpoint.h5 (Wd and the encoders), <run>/codes.h5 (Wd, the
 * samples and their Z*: /X_train /Z_train /X_test /Z_test /Wd), <run>/atoms.png.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/gradcheck.h"
#include "../core/graph.h"
#include "../core/rng.h"
#include "../core/sparse.h"
#include "../train/budget.h"
#include "../train/checkpoint.h"
#include "../train/dist.h"
#include "family.h"
#include "lista.h"
#include "lista_internal.h"

const char *const dlx_sparse_coding_algos[] = {"ista", "fista", "cod", "lista", "lcod", NULL};
static const char *const k_datasets[] = {"patches", "mnist", NULL};
static const char *const k_sc_losses[] = {"loss", NULL}; /* the encoders' (metric train_loss) */


static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- spec ---- */

/* The reference of each map read below and the keys it may hold. */
static const dlx_key_doc k_model_keys[] = {
    {"kind", "string", "required", "sparse_coding", "the family"},
    {"algorithm", "string", "required", "ista, fista, cod, lista, lcod", "the encoder (lista, lcod: trained)"},
    {"atoms", "integer", "required", "1 to 100000", "dictionary columns m (the code's length)"},
    {"alpha", "number", "0.5", "0 to 1e6", "the L1 weight of E(z) = 0.5 |x - Wd z|^2 + alpha |z|_1"},
    {"T", "integer or list of integers", "required", "ascending, up to 12; lista: 0 to 100; others: at least 1",
     "the iterations (depths) evaluated; lista, lcod: one encoder per depth"},
    {"dictionary", "map", "-", "dlx spec model.sparse_coding.dictionary", "where Wd comes from"},
    {"optimal", "map", "-", "dlx spec model.sparse_coding.optimal", "how the optimal codes Z* are found (FISTA)"},
    {"converge", "map", "-", "dlx spec model.sparse_coding.converge", "the exact solvers' convergence measure"},
    {NULL},
};
static const dlx_key_doc k_dict_keys[] = {
    {"from", "string", "-", "a run directory holding codes.h5", "read Wd from another run"},
    {"init", "string", "random", "random, samples", "the atoms to start from: random unit-norm, or training samples"},
    {"steps", "integer", "0", "0 to 10000000", "learning steps (0: the start is the dictionary)"},
    {"batch", "integer", "256", "1 to 65536", "samples per learning step"},
    {"lr", "number", "0.1", "0 to 1e6", "the learning step on Wd"},
    {"infer_iters", "integer", "50", "1 to 100000", "FISTA iterations of each step's inference"},
    {NULL},
};
static const char *const k_dict_inits[] = {"random", "samples", NULL};
static const dlx_key_doc k_opt_keys[] = {
    {"max_iters", "integer", "5000", "1 to 10000000", "the most FISTA iterations"},
    {"tol", "number", "1e-06", "0 to 1", "stop once max |Z_k - Z_{k-1}| over a batch falls below it (0: never)"},
    {NULL},
};
static const dlx_key_doc k_conv_keys[] = {
    {"max_iters", "integer", "0", "0 to 10000000", "exact solvers: iterations to record the energy over (iters_to_1e-4; 0: off)"},
    {NULL},
};
static const dlx_key_doc k_data_keys[] = {
    {"dataset", "string", "required", "patches, mnist", "patches of the photographs in dir, or MNIST's pixels"},
    {"dir", "string", "patches: $DLX_DATA_DIR/natural-images, else datasets/data/natural-images; mnist: as data.dir", "a directory",
     "where the images are"},
    {"patch", "integer", "10", "2 to 64", "patches: the side of a patch"},
    {"train", "integer", "10000", "0 to 10000000 (lista, lcod: at least 1)", "training samples"},
    {"test", "integer", "1000", "1 to 1000000", "test samples"},
    {NULL},
};
/* train: of the exact solvers, which train nothing */
static const dlx_key_doc k_exact_train_keys[] = {
    {"threads", "integer", "0", "0 to 1024", "worker threads (0: as --threads gives)"},
    {NULL},
};

static const dlx_spec_section k_sections[] = {
    {"model.sparse_coding", "model: with kind: sparse_coding (Gregor & LeCun 2010); train: of lista, lcod as dlx spec "
                            "train (batch 100, shards 1)",
     k_model_keys, NULL},
    {"model.sparse_coding.dictionary", "model.dictionary of sparse_coding: the dictionary Wd", k_dict_keys, NULL},
    {"model.sparse_coding.optimal", "model.optimal of sparse_coding: the optimal codes Z*", k_opt_keys, NULL},
    {"model.sparse_coding.converge", "model.converge of sparse_coding", k_conv_keys, NULL},
    {"data.sparse_coding", "data: of sparse_coding", k_data_keys, NULL},
    {"train.sparse_coding", "train: of sparse_coding with ista, fista or cod (optional)", k_exact_train_keys, NULL},
    {NULL},
};

static int get_map(dlx_spec_node *parent, const char *key, const char *what, dlx_spec_node **out, dlx_err *err)
{
    *out = dlx_spec_get(parent, key);
    if (!*out)
        return 0;
    return dlx_spec_expect_map(*out, what, err);
}

static int read_spec(dlx_model *m, sc *c, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(m->spec), *model = dlx_spec_get(root, "model");
    dlx_spec_node *dict = NULL, *opt = NULL, *conv = NULL, *data = dlx_spec_get(root, "data"),
                  *train = dlx_spec_get(root, "train");
    int64_t atoms, threads = 0;
    int rc = dlx_spec_check_doc(model, "model", k_model_keys, err);
    if (!rc) rc = dlx_spec_enum(model, "algorithm", true, dlx_sparse_coding_algos, 0, &c->algo, err);
    if (!rc) rc = dlx_spec_int(model, "atoms", true, 0, 1, 100000, &atoms, err);
    if (!rc) rc = dlx_spec_float(model, "alpha", false, 0.5, 0.0, 1e6, &c->alpha, err);
    if (!rc) rc = dlx_spec_int_list(model, "T", true, 0, 1000000, c->Ts, MAX_T, &c->nT, err);
    for (int i = 1; !rc && i < c->nT; i++)
        if (c->Ts[i] <= c->Ts[i - 1])
            rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(model, "T")->loc,
                              "model.T: expected ascending numbers of iterations, got %lld after %lld",
                              (long long)c->Ts[i], (long long)c->Ts[i - 1]);
    if (!rc && c->algo == ALG_LISTA && c->Ts[c->nT - 1] > 100)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(model, "T")->loc,
                          "model.T: a LISTA encoder is unrolled at most 100 times, got %lld", (long long)c->Ts[c->nT - 1]);
    if (!rc && c->algo != ALG_LISTA && c->Ts[0] < 1)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(model, "T")->loc,
                          "model.T: %s needs at least 1 iteration, got 0", dlx_sparse_coding_algos[c->algo]);
    if (!rc) rc = get_map(model, "dictionary", "model.dictionary", &dict, err);
    if (!rc && dict) rc = dlx_spec_check_doc(dict, "model.dictionary", k_dict_keys, err);
    if (!rc) rc = dlx_spec_str(dict, "from", false, NULL, &c->from, err);
    if (!rc) rc = dlx_spec_enum(dict, "init", false, k_dict_inits, 0, &c->dict_init, err);
    if (!rc) rc = dlx_spec_int(dict, "steps", false, 0, 0, 10000000, &c->dict_steps, err);
    if (!rc) rc = dlx_spec_int(dict, "batch", false, 256, 1, 65536, &c->dict_batch, err);
    if (!rc) rc = dlx_spec_float(dict, "lr", false, 0.1, 0.0, 1e6, &c->dict_lr, err);
    if (!rc) rc = dlx_spec_int(dict, "infer_iters", false, 50, 1, 100000, &c->dict_iters, err);
    if (c->from && !c->from[0])
        c->from = NULL;
    if (!rc) rc = get_map(model, "optimal", "model.optimal", &opt, err);
    if (!rc && opt) rc = dlx_spec_check_doc(opt, "model.optimal", k_opt_keys, err);
    if (!rc) rc = dlx_spec_int(opt, "max_iters", false, 5000, 1, 10000000, &c->opt_iters, err);
    if (!rc) rc = dlx_spec_float(opt, "tol", false, 1e-6, 0.0, 1.0, &c->opt_tol, err);
    if (!rc) rc = get_map(model, "converge", "model.converge", &conv, err);
    if (!rc && conv) rc = dlx_spec_check_doc(conv, "model.converge", k_conv_keys, err);
    if (!rc) rc = dlx_spec_int(conv, "max_iters", false, 0, 0, 10000000, &c->conv_iters, err);
    if (!rc && !data)
        rc = dlx_err_setf(err, DLX_EINVAL, root->loc, "missing required key 'data' (e.g. data: {dataset: patches})");
    if (!rc) rc = dlx_spec_expect_map(data, "data", err);
    if (!rc) rc = dlx_spec_check_doc(data, "data", k_data_keys, err);
    if (!rc) rc = dlx_spec_enum(data, "dataset", true, k_datasets, 0, &c->dataset, err);
    if (!rc) rc = dlx_spec_str(data, "dir", false, NULL, &c->dir, err);
    if (!rc) rc = dlx_spec_int(data, "patch", false, 10, 2, 64, &c->patch, err);
    if (!rc) rc = dlx_spec_int(data, "train", false, 10000, 0, 10000000, &c->n_train, err);
    if (!rc) rc = dlx_spec_int(data, "test", false, 1000, 1, 1000000, &c->n_test, err);
    if (!rc && LEARNED(c) && c->n_train < 1)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(data, "train")->loc,
                          "data.train: %s needs training samples, got 0", dlx_sparse_coding_algos[c->algo]);
    if (!rc && LEARNED(c)) {
        /* one replica unless train.shards says otherwise: the whole batch in one graph */
        rc = dlx_train_cfg_read(root, &(dlx_train_defaults){.batch = 100, .shards = 1}, k_sc_losses, &c->tc, &m->plan,
                                err);
        threads = c->tc.threads;
    } else if (!rc && train) {
        rc = dlx_spec_expect_map(train, "train", err);
        if (!rc) rc = dlx_spec_check_doc(train, "train", k_exact_train_keys, err);
        if (!rc) rc = dlx_spec_int(train, "threads", false, 0, 0, 1024, &threads, err);
    }
    if (!m->threads)
        m->threads = (int)threads;
    c->m = (int)atoms;
    c->n = c->dataset == 0 ? (int)(c->patch * c->patch) : 784;
    return rc;
}

/* ---- dictionary and optimal codes ---- */

static void normalize_columns(float *wd, int n, int m)
{
    for (int j = 0; j < m; j++) {
        double s = 0.0;
        for (int i = 0; i < n; i++)
            s += (double)wd[(size_t)i * m + j] * wd[(size_t)i * m + j];
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (int i = 0; i < n; i++)
            wd[(size_t)i * m + j] *= inv;
    }
}

static void random_dictionary(float *wd, int n, int m, uint64_t seed)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, STREAM_DICT);
    for (int64_t i = 0; i < (int64_t)n * m; i++)
        wd[i] = dlx_rng_normal(&r);
    normalize_columns(wd, n, m);
}

/* Alternate FISTA inference on a random batch and a gradient step on Wd.
 * init: samples starts from random training samples (atoms that begin as
 * noise may never be used at a large alpha and stay noise). */
/* Workers for the ISTA/FISTA solvers: --threads, else every core (the
 * solver's result does not depend on it). */
static int solver_threads(const dlx_model *m)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return m->threads > 0 ? m->threads : (int)(cores > 0 ? cores : 1);
}

int dlx_sc_learn_dictionary(dlx_model *m, sc *c, dlx_err *err)
{
    float *wd = m->params.items[c->wd].t.data;
    const int n = c->n, k = c->m, B = (int)c->dict_batch;
    if (c->dict_init == 1) {
        dlx_rng ri;
        dlx_rng_init(&ri, m->seed, STREAM_DICT);
        for (int j = 0; j < k; j++) {
            const float *x = c->Xtr + (size_t)dlx_rng_below(&ri, (uint32_t)c->ntr) * n;
            for (int i = 0; i < n; i++)
                wd[(size_t)i * k + j] = x[i] + 0.01f * dlx_rng_normal(&ri);
        }
        normalize_columns(wd, n, k);
    }
    float *X = malloc((size_t)B * n * sizeof(float)), *Z = malloc((size_t)B * k * sizeof(float));
    float *R = malloc((size_t)B * n * sizeof(float));
    dlx_sparse sp = {0}; /* its buffers and workspace reused at every step: no allocation in the loop */
    int rc = 0;
    if (!X || !Z || !R) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out_free;
    }
    if ((rc = dlx_sparse_init(&sp, wd, n, k, (float)c->alpha, err)) || (rc = dlx_sparse_reserve(&sp, B, err)))
        goto out_free;
    dlx_rng r;
    dlx_rng_init(&r, m->seed, STREAM_DICT_BATCH);
    double t0 = now_s(), t_log = t0, e_sum = 0.0;
    int64_t since = 0; /* steps in e_sum: the mean energy since the last report */
    for (int64_t step = 0; step < c->dict_steps; step++) {
        for (int i = 0; i < B; i++)
            memcpy(X + (size_t)i * n, c->Xtr + (size_t)dlx_rng_below(&r, (uint32_t)c->ntr) * n, (size_t)n * sizeof(float));
        if (step > 0 && (rc = dlx_sparse_set_dictionary(&sp, wd, err)))
            goto out_free;
        dlx_sparse_opts o = {.max_iters = (int)c->dict_iters, .threads = solver_threads(m)};
        if ((rc = dlx_sparse_solve(&sp, DLX_SPARSE_FISTA, X, B, Z, &o, err)))
            goto out_free;
        e_sum += dlx_sparse_energy(&sp, X, Z, B, NULL);
        since++;
        /* R = X - Z Wd^T; Wd += lr / B * R^T Z; then unit columns */
        memcpy(R, X, (size_t)B * n * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, n, k, -1.0f, Z, k, wd, k, 1.0f, R, n);
        float lr = (float)(c->dict_lr / (1.0 + (double)step / (0.5 * (double)c->dict_steps)));
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, B, lr / (float)B, R, n, Z, k, 1.0f, wd, k);
        normalize_columns(wd, n, k);
        double t = now_s();
        if (t - t_log > 5.0 || step + 1 == c->dict_steps) {
            dlx_run_info(m, "dictionary step %lld/%lld: mean energy %.4f since the last line (%.1f s)", (long long)step + 1,
                         (long long)c->dict_steps, e_sum / (double)since, t - t0);
            t_log = t;
            e_sum = 0.0;
            since = 0;
        }
    }
out_free:
    dlx_sparse_free(&sp);
    free(X);
    free(Z);
    free(R);
    return rc;
}

int dlx_sc_optimal_codes(const dlx_model *m, const sc *c, const float *X, int64_t N, float *Z, int *iters, dlx_err *err)
{
    dlx_sparse sp;
    int rc = dlx_sparse_init(&sp, m->params.items[c->wd].t.data, c->n, c->m, (float)c->alpha, err);
    if (rc)
        return rc;
    dlx_sparse_opts o = {.max_iters = (int)c->opt_iters, .tol = c->opt_tol, .threads = solver_threads(m)};
    rc = dlx_sparse_solve(&sp, DLX_SPARSE_FISTA, X, (int)N, Z, &o, err);
    *iters = o.iters_done;
    dlx_sparse_free(&sp);
    return rc;
}

/* ---- encoders (their graphs and training: lista_train.c) ---- */

/* LISTA: We = Wd^T / L, S = I - Wd^T Wd / L, theta = alpha / L (ISTA);
 * LCoD: We = Wd^T, S = I - Wd^T Wd, theta = alpha (CoD). */
int dlx_sc_init_encoders(dlx_model *m, sc *c, dlx_err *err)
{
    dlx_sparse sp;
    int rc = dlx_sparse_init(&sp, m->params.items[c->wd].t.data, c->n, c->m, (float)c->alpha, err);
    if (rc)
        return rc;
    for (int i = 0; LEARNED(c) && i < c->nT; i++) {
        encoder *e = &c->enc[i];
        float *we = m->params.items[e->we].t.data, *s = m->params.items[e->s].t.data, *th = m->params.items[e->th].t.data;
        memcpy(we, sp.We, (size_t)c->m * c->n * sizeof(float));
        memcpy(s, sp.S, (size_t)c->m * c->m * sizeof(float));
        memcpy(th, sp.theta, (size_t)c->m * sizeof(float));
        if (c->algo == ALG_LCOD) {
            for (int64_t k = 0; k < (int64_t)c->m * c->n; k++)
                we[k] *= sp.L;
            for (int i = 0; i < c->m; i++)
                for (int j = 0; j < c->m; j++)
                    s[(size_t)i * c->m + j] = (i == j ? 1.0f : 0.0f) - sp.G[(size_t)i * c->m + j];
            for (int j = 0; j < c->m; j++)
                th[j] = (float)c->alpha;
        }
    }
    dlx_sparse_free(&sp);
    return 0;
}

static void sc_destroy(dlx_model *m)
{
    sc *c = m->impl;
    if (!c)
        return;
    dlx_replicas_free(&c->reps);
    free(c->Xtr);
    free(c->Ztr);
    free(c->Xte);
    free(c->Zte);
    free(c->order);
    free(c);
    m->impl = NULL;
}

/* An exact algorithm's memory, counted before it is allocated
 * (train/budget.h): Wd, no graph; the samples are loaded and the exact
 * codes Z* will take as many rows of m floats. (The trained encoders count
 * theirs in dlx_sc_build_replicas.) */
static int check_budget(dlx_model *m, sc *c, dlx_err *err)
{
    int64_t n = 0;
    for (int i = 0; i < m->params.n; i++)
        n += m->params.items[i].t.numel;
    dlx_budget b;
    memset(&b, 0, sizeof b);
    dlx_budget_params(&b, n, 1, 0);
    b.data = 4.0 * (double)(c->ntr + c->nte) * (double)(c->n + c->m);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    b.blas_threads = m->threads > 0 ? m->threads : (int)(cores > 0 ? cores : 1);
    return dlx_budget_check(m, &b, err);
}

static int sc_create(dlx_model *m, dlx_err *err)
{
    sc *c = calloc(1, sizeof(*c));
    if (!c)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = c;
    int rc = read_spec(m, c, err);
    if (!rc && !c->from)
        rc = dlx_sc_load_data(m, c, err);
    if (rc)
        return rc;
    c->wd = dlx_params_declare(&m->params, "Wd", dlx_shape_2d(c->n, c->m), (dlx_init){.kind = DLX_INIT_ZERO}, false, err);
    if (c->wd < 0)
        return c->wd;
    for (int i = 0; LEARNED(c) && i < c->nT; i++)
        c->enc[i].T = (int)c->Ts[i];
    if (LEARNED(c)) {
        rc = dlx_sc_build_replicas(m, c, err);
    } else {
        rc = check_budget(m, c, err);
        if (!rc) rc = dlx_params_finalize(&m->params, err);
    }
    if (rc)
        return rc;
    random_dictionary(m->params.items[c->wd].t.data, c->n, c->m, m->seed);
    rc = dlx_sc_init_encoders(m, c, err);
    if (!rc && LEARNED(c))
        rc = dlx_plan_create(&m->plan, &m->params, dlx_replicas_threads(m->threads), err);
    if (!rc)
        dlx_run_info(m, "sparse coding: %s, %s, n = %d, m = %d atoms, alpha = %g", dlx_sparse_coding_algos[c->algo],
                     k_datasets[c->dataset], c->n, c->m, c->alpha);
    return rc;
}

/* ---- evaluation ---- */

static int ensure_test_codes(dlx_model *m, sc *c, dlx_err *err)
{
    if (c->codes_ready)
        return 0;
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/codes.h5", m->run_dir);
    if (c->from)
        return dlx_sc_read_codes(m, c, c->from, LEARNED(c), err);
    if (!stat(path, &st)) {
        /* keep the checkpoint's Wd: read_codes overwrites it with the same values */
        return dlx_sc_read_codes(m, c, m->run_dir, false, err);
    }
    free(c->Zte);
    c->Zte = malloc((size_t)c->nte * c->m * sizeof(float));
    if (!c->Zte)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    int iters;
    int rc = dlx_sc_optimal_codes(m, c, c->Xte, c->nte, c->Zte, &iters, err);
    if (!rc)
        c->codes_ready = true;
    return rc;
}

/* The test metrics of the trained encoders (lista_train.c) or of the exact
 * algorithm: prediction error and energy gap at every T, the samples/s of
 * inference with max(T) iterations and the iterations to 1e-4 of E(Z*). */
static int evaluate_all(dlx_model *m, sc *c, dlx_results *res, dlx_err *err)
{
    int rc = ensure_test_codes(m, c, err);
    if (rc)
        return rc;
    memset(res, 0, sizeof *res);
    if (LEARNED(c)) {
        rc = dlx_sc_eval_encoders(m, c, res, err);
        dlx_results_set(res, "samples", (double)c->nte);
        dlx_results_set(res, "step", (double)m->step);
        return rc;
    }
    const int64_t N = c->nte;
    const size_t len = (size_t)N * c->m;
    dlx_sparse sp;
    rc = dlx_sparse_init(&sp, m->params.items[c->wd].t.data, c->n, c->m, (float)c->alpha, err);
    if (rc)
        return rc;
    float *Z = malloc(len * sizeof(float));
    float *rec[MAX_T] = {0};
    double *energy = NULL;
    int rec_at[MAX_T];
    if (!Z) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out_free;
    }
    double e_star = dlx_sparse_energy(&sp, c->Xte, c->Zte, (int)N, NULL);
    dlx_results_set(res, "energy_star", e_star);
    dlx_sparse_algo a = c->algo == ALG_ISTA ? DLX_SPARSE_ISTA : c->algo == ALG_FISTA ? DLX_SPARSE_FISTA : DLX_SPARSE_COD;
    for (int i = 0; i < c->nT; i++) {
        rec_at[i] = (int)c->Ts[i];
        if (!(rec[i] = malloc(len * sizeof(float)))) {
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
            goto out_free;
        }
    }
    int maxT = (int)c->Ts[c->nT - 1];
    dlx_sparse_opts o = {.max_iters = maxT, .record_at = rec_at, .n_record = c->nT, .record = rec,
                         .threads = solver_threads(m)};
    rc = dlx_sparse_solve(&sp, a, c->Xte, (int)N, Z, &o, err);
    if (rc)
        goto out_free;
    for (int i = 0; i < c->nT; i++) {
        char name[48];
        snprintf(name, sizeof name, "err_T%d", rec_at[i]);
        dlx_results_set(res, name, dlx_sc_sq_err(rec[i], c->Zte, N, c->m));
        snprintf(name, sizeof name, "gap_T%d", rec_at[i]);
        dlx_results_set(res, name, dlx_sparse_energy(&sp, c->Xte, rec[i], (int)N, NULL) - e_star);
    }
    /* timing: max(T) iterations, nothing recorded */
    dlx_sparse_opts plain = {.max_iters = maxT, .threads = solver_threads(m)};
    double t0 = now_s();
    rc = dlx_sparse_solve(&sp, a, c->Xte, (int)N, Z, &plain, err);
    double dt = now_s() - t0;
    if (rc)
        goto out_free;
    dlx_results_set(res, "infer_seconds", dt);
    dlx_results_set(res, "infer_samples_per_s", (double)N / dt);
    if (c->conv_iters > 0) {
        int K = (int)c->conv_iters;
        energy = malloc((size_t)K * sizeof *energy);
        if (!energy) {
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
            goto out_free;
        }
        dlx_sparse_opts co = {.max_iters = K, .energy = energy, .threads = solver_threads(m)};
        rc = dlx_sparse_solve(&sp, a, c->Xte, (int)N, Z, &co, err);
        if (rc)
            goto out_free;
        int hit = -1;
        for (int k = 0; k < K && hit < 0; k++)
            if (energy[k] - e_star <= 1e-4 * fabs(e_star))
                hit = k + 1;
        dlx_results_set(res, "iters_to_1e-4", hit);
        dlx_results_set(res, "energy_final", energy[K - 1]);
        dlx_results_set(res, "rel_gap_final", (energy[K - 1] - e_star) / fabs(e_star));
    }
    dlx_results_set(res, "samples", (double)N);
    dlx_results_set(res, "step", (double)m->step);
out_free:
    dlx_sparse_free(&sp);
    free(Z);
    free(energy);
    for (int i = 0; i < MAX_T; i++)
        free(rec[i]);
    return rc;
}

static int sc_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    if (data && strcmp(data, "test") != 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--data: sparse_coding evaluates on its own test samples (the spec's data.test); "
                            "change the spec to use others, got '%s'", data);
    return evaluate_all(m, m->impl, res, err);
}

/* ---- training ---- */

/* A fresh run's dictionary and optimal codes: from model.dictionary.from,
 * or learned (or random) here, Z* by FISTA, written to <run>/codes.h5. */
static int prepare_codes(dlx_model *m, sc *c, dlx_err *err)
{
    double t0 = now_s();
    int rc = 0;
    if (c->from) {
        rc = dlx_sc_read_codes(m, c, c->from, LEARNED(c), err);
        if (!rc)
            dlx_run_info(m, "dictionary, %lld train and %lld test samples with their optimal codes from %s/codes.h5",
                         (long long)c->ntr, (long long)c->nte, c->from);
        return rc;
    }
    if (c->dict_steps > 0) {
        if (c->ntr < 1)
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "model.dictionary.steps > 0 needs training samples (data.train)");
        rc = dlx_sc_learn_dictionary(m, c, err);
    }
    int it_tr = 0, it_te = 0;
    if (!rc && (LEARNED(c) || (c->dict_steps > 0 && c->ntr))) {
        if (!(c->Ztr = malloc((size_t)c->ntr * c->m * sizeof(float))))
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        rc = dlx_sc_optimal_codes(m, c, c->Xtr, c->ntr, c->Ztr, &it_tr, err);
    }
    if (!rc && !(c->Zte = malloc((size_t)c->nte * c->m * sizeof(float))))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    if (!rc) rc = dlx_sc_optimal_codes(m, c, c->Xte, c->nte, c->Zte, &it_te, err);
    if (!rc) {
        c->codes_ready = true;
        dlx_run_info(m, "optimal codes by FISTA: %d iterations (train), %d (test), tol %g, %.1f s", it_tr, it_te,
                     c->opt_tol, now_s() - t0);
    }
    if (!rc && dlx_dist_writes(m->hooks.dist)) /* over MPI ranks, rank 0 writes them */
        rc = dlx_run_prepare_dir(m, err);
    if (!rc && dlx_dist_writes(m->hooks.dist))
        rc = dlx_sc_write_codes(m, c, err);
    return rc;
}

/* A resumed run's samples and Z*: the codes.h5 it trained on (of
 * model.dictionary.from, or the one it wrote), with Wd as checkpointed. */
static int reload_codes(dlx_model *m, sc *c, dlx_err *err)
{
    float *wd = m->params.items[c->wd].t.data, *saved = malloc((size_t)c->n * c->m * sizeof(float));
    if (!saved)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    memcpy(saved, wd, (size_t)c->n * c->m * sizeof(float));
    int rc = dlx_sc_read_codes(m, c, c->from ? c->from : m->run_dir, true, err);
    memcpy(wd, saved, (size_t)c->n * c->m * sizeof(float));
    free(saved);
    return rc;
}

/* lista / lcod train through the shared loop (lista_train.c), which also
 * resumes them; the exact algorithms train nothing: they write their
 * checkpoint and atoms and evaluate. */
static int sc_train(dlx_model *m, dlx_err *err)
{
    sc *c = m->impl;
    if (m->resumed && !LEARNED(c))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "--resume: %s trains nothing (only lista and lcod take training steps); start the run again",
                            dlx_sparse_coding_algos[c->algo]);
    if (m->resumed) {
        int rc = reload_codes(m, c, err);
        return rc ? rc : dlx_sc_train_encoders(m, c, err);
    }
    double t0 = now_s();
    int rc = prepare_codes(m, c, err);
    if (!rc) rc = dlx_sc_init_encoders(m, c, err);
    if (LEARNED(c))
        return rc ? rc : dlx_sc_train_encoders(m, c, err);
    if (!rc) rc = dlx_run_save_checkpoint(m, err);
    if (!rc) rc = dlx_sc_write_atoms(m, c, err);
    if (!rc) rc = evaluate_all(m, c, &m->results, err);
    if (!rc)
        dlx_results_set(&m->results, "train_seconds", now_s() - t0);
    return rc;
}

static int sc_gradcheck(dlx_model *m, const dlx_gradcheck_opts *o, dlx_gradcheck_report *rep, dlx_err *err)
{
    if (o->loss && strcmp(o->loss, "loss") != 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--loss: this family has one loss, 'loss', not '%s'", o->loss);
    sc *c = m->impl;
    if (!LEARNED(c))
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "gradcheck: algorithm %s has no trained graph (only lista and lcod have)",
                            dlx_sparse_coding_algos[c->algo]);
    encoder e = {.T = c->enc[0].T};
    int rc = ensure_test_codes(m, c, err); /* the test samples (from model.dictionary.from, or data) */
    if (!rc && c->nte < 2)
        rc = dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "gradcheck: needs 2 test samples, have %lld", (long long)c->nte);
    if (!rc && m->step == 0)
        rc = dlx_sc_init_encoders(m, c, err); /* untrained: check at the ISTA / CoD starting point */
    if (rc)
        return rc;
    dlx_graph *g = dlx_graph_create(&m->params);
    if (!g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    dlx_node *x = dlx_graph_input(g, "X", dlx_shape_2d(2, c->n), false, err);
    dlx_node *zs = dlx_graph_input(g, "Zstar", dlx_shape_2d(2, c->m), false, err);
    dlx_node *z, *loss;
    rc = x && zs ? 0 : err->code ? err->code : DLX_ENOMEM;
    if (!rc) rc = dlx_sc_add_encoder(m, c, g, &e, x, zs, &z, &loss, err);
    if (!rc) rc = dlx_graph_compile(g, m->max_memory, err);
    if (!rc) {
        memcpy(x->out.data, c->Xte, (size_t)2 * c->n * sizeof(float));
        /* a target away from the codes, so the loss gradient is not tiny */
        for (int64_t i = 0; i < 2 * c->m; i++)
            zs->out.data[i] = 0.1f * (float)((i % 7) - 3);
        const dlx_ctx ctx = {.training = true, .seed = m->seed, .threads = m->threads};
        rc = dlx_gradcheck_graph(g, loss, &ctx, o, rep, err);
    }
    dlx_graph_destroy(g);
    return rc;
}

const dlx_family dlx_family_sparse_coding = {
    .name = "sparse_coding",
    .help = "sparse coding (Gregor & LeCun 2010): dictionary learning, ISTA, FISTA, CoD, LISTA, LCoD",
    .create = sc_create,
    .destroy = sc_destroy,
    .train = sc_train,
    .evaluate = sc_evaluate,
    .gradcheck = sc_gradcheck,
    .figure = dlx_sparse_coding_figure,
    .spec_sections = k_sections,
};
