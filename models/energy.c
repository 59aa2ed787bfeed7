/* Family "energy": energy-based unsupervised learning, the strategies of
 * the energy-based learning slides side by side on the same data. Each
 * strategy defines an energy E(y), low on the data, and a rule that makes
 * it higher elsewhere:
 *
 *   pca     the low-energy volume is a k-dimensional subspace:
 *           E = ||(y - mu) - W^T W (y - mu)||^2          (closed form)
 *   kmeans  it is k points: E = min_j ||y - c_j||^2      (Lloyd)
 *   gmm     maximum likelihood, normalised by construction:
 *           E = -log sum_j pi_j N(y; mu_j, Sigma_j)       (EM)
 *   ae      an auto-encoder y -> h = sigmoid(W1 y + b1) -> W1^T h + b2 with
 *           E = ||dec(enc(y)) - y||^2 and nothing but the reconstruction:
 *           with enough units it can reconstruct everything (flat energy)
 *   dae     the same, trained to reconstruct y from y + N(0, corrupt^2):
 *           denoising (its reconstruction field is the score of the
 *           smoothed density, as denoising score matching)
 *   sae     the same plus weight * mean |h|: a sparse code limits the
 *           low-energy volume
 *   cae     the same plus weight * ||dh/dy||_F^2 (core/ops/contractive.c):
 *           a contracting encoder
 *   nce     an energy net y -> tanh -> tanh -> s(y), E = -s(y), trained
 *           as a logistic classifier of data against uniform points over
 *           the box (noise-contrastive estimation: pushes energy up on
 *           chosen points)
 *   cd      the same energy net trained by contrastive divergence: pull E
 *           down on the data, up on negative samples reached from each data
 *           point by cd_steps Langevin steps down the energy (CD-k), with
 *           weight * mean E^2 keeping the energies bounded
 *   psd     predictive sparse decomposition: a dictionary, a LISTA encoder F
 *           trained to predict the optimal sparse codes, and
 *           E = 1/2 ||u - Wd F(u)||^2 + weight |F(u)|_1 of u = (y1, y2, 1)
 *           (models/energy_psd.c, on the sparse-coding family's solvers)
 * The closed-form fits are in the family (models/energy_fit.c); the four
 * auto-encoders, nce, cd and psd's encoder train through the one trainer (models/energy_net.c).
 * Every strategy's parameters go to checkpoint.h5 the same way, and every
 * one is scored by the same evaluation: the area under the ROC curve of E
 * between held-out data points and points drawn uniformly over the box
 * (`auc`), with the mean energies of both. After training, energy.h5 holds
 * E on a grid over the box and energy.png draws it; `dlx reproduce`'s figure
 * puts those surfaces side by side (models/energy_figure.c).
 *
 *   model: {kind: energy, strategy: ..., components, iters, reg, hidden, corrupt, weight, grid}
 *   data: {dataset: toy_parabola | toy_spiral | toy_ring | toy_gaussians, samples, test_samples, noise}
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/toy2d.h"
#include "../train/checkpoint.h"
#include "energy.h"
#include "energy_internal.h"

const char *const dlx_energy_strategies[] = {"pca", "kmeans", "gmm", "ae", "dae", "sae", "cae", "nce", "cd", "psd", NULL};
static const char *const k_losses[] = {"loss", NULL};
/* data.dataset: the toy sets (in dlx_toy_kind order), then the image sets */
static const char *const k_data_names[] = {"toy_parabola", "toy_spiral", "toy_ring", "toy_gaussians", "mnist",
                                           "fashion-mnist", NULL};

static const dlx_key_doc k_model_keys[] = {
    {"kind", "string", "required", "energy", "the family"},
    {"strategy", "string", "required", "pca, kmeans, gmm, ae, dae, sae, cae, nce, cd, psd", "how the energy is made high away from the data"},
    {"components", "integer", "1 (pca), 16 (kmeans, psd), 8 (gmm)", "1 to 1024 (pca: below the data's dimension)",
     "principal directions kept, centres, mixture components, or psd's atoms"},
    {"iters", "integer", "100", "1 to 100000", "Lloyd or EM iterations (kmeans, gmm; gmm starts at kmeans' centres); psd: dictionary steps"},
    {"depth", "integer", "3", "0 to 100", "psd: steps of the LISTA encoder"},
    {"reg", "number", "0.001", "1e-09 to 100", "gmm: added to every covariance's diagonal"},
    {"hidden", "integer", "64", "1 to 65536", "hidden units of the auto-encoders and of each of nce's two layers"},
    {"corrupt", "number", "0.1", "0 to 100", "dae: standard deviation of the Gaussian corruption"},
    {"weight", "number", "0.1", "0 to 1000000", "sae: weight of mean |h|; cae: of ||dh/dy||_F^2; cd: of mean E^2 (data and samples); psd: alpha of the L1 penalty"},
    {"cd_steps", "integer", "20", "1 to 10000", "cd: Langevin steps from each data point to its negative sample"},
    {"cd_step", "number", "0.01", "0 to 100", "cd: each step moves y by cd_step * (-dE/dy)"},
    {"cd_noise", "number", "0.02", "0 to 100", "cd: plus Gaussian noise of this standard deviation"},
    {"grid", "integer", "128", "8 to 1024", "points per side of the energy surface in energy.h5 and energy.png"},
    {NULL},
};
static const dlx_key_doc k_data_keys[] = {
    {"dataset", "string", "required", "toy_parabola, toy_spiral, toy_ring, toy_gaussians, mnist, fashion-mnist",
     "the 2-D data (core/toy2d.h), or images (pca, kmeans, ae, dae, sae, cae, nce)"},
    {"samples", "integer", "2000", "16 to 10000000", "training points (images: the first of the training split)"},
    {"test_samples", "integer", "2000", "16 to 10000000", "held-out points (images: the first test images), and as many uniform points, for the AUC"},
    {"noise", "number", "0.02", "0 to 10", "toy sets: standard deviation of the Gaussian noise on every point"},
    {"dir", "string", "-", "a directory", "images: where the IDX files are (default as dlx spec data)"},
    {"versus", "string", "-", "mnist, fashion-mnist", "images: the first test_samples test images of this set are non-data too (auc_versus)"},
    {"versus_dir", "string", "-", "a directory", "where versus' IDX files are (default as dlx spec data)"},
    {NULL},
};
static const dlx_spec_section k_sections[] = {
    {"model.energy", "model: with kind: energy: an energy E(y) learned by one of the strategies (train: as dlx spec "
                     "train, batch 100, for ae, dae, sae, cae, nce, cd and psd; none for pca, kmeans, gmm)",
     k_model_keys, NULL},
    {"data.energy", "data: of the energy family: a toy 2-D data set", k_data_keys, NULL},
    {NULL},
};

static int read_data(dlx_spec_node *root, en *c, dlx_err *err)
{
    dlx_spec_node *data = dlx_spec_get(root, "data");
    int rc = dlx_spec_expect_map(data, "data", err);
    if (!rc) rc = dlx_spec_check_doc(data, "data (energy)", k_data_keys, err);
    int which = 0;
    if (!rc) rc = dlx_spec_enum(data, "dataset", true, k_data_names, -1, &which, err);
    c->images = which >= DLX_TOY_COUNT;
    c->toy = c->images ? -1 : which;
    c->image_set = k_data_names[which < 0 ? 0 : which];
    if (!rc) rc = dlx_spec_str(data, "dir", false, NULL, &c->dir, err);
    int vs = -1;
    if (!rc) rc = dlx_spec_enum(data, "versus", false, k_data_names + DLX_TOY_COUNT, -1, &vs, err);
    c->versus_set = vs >= 0 ? k_data_names[DLX_TOY_COUNT + vs] : NULL;
    if (!rc) rc = dlx_spec_str(data, "versus_dir", false, NULL, &c->versus_dir, err);
    if (!rc && vs >= 0 && which < DLX_TOY_COUNT)
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(data, "versus")->loc,
                          "data.versus: another image set is non-data for images only, not for %s", k_data_names[which]);
    if (!rc) rc = dlx_spec_int(data, "samples", false, 2000, 16, 10000000, &c->samples, err);
    if (!rc) rc = dlx_spec_int(data, "test_samples", false, 2000, 16, 10000000, &c->test_samples, err);
    if (!rc) rc = dlx_spec_float(data, "noise", false, 0.02, 0.0, 10.0, &c->noise, err);
    c->d = c->images ? 28 * 28 : 2;
    return rc;
}

static int read_spec(dlx_model *m, en *c, dlx_err *err)
{
    dlx_spec_node *root = dlx_spec_root(m->spec), *model = dlx_spec_get(root, "model");
    int rc = dlx_spec_check_doc(model, "model (energy)", k_model_keys, err), s = 0;
    if (!rc) rc = dlx_spec_enum(model, "strategy", true, dlx_energy_strategies, -1, &s, err);
    c->strategy = (en_strategy)s;
    if (!rc) rc = read_data(root, c, err);
    if (!rc && c->images && (c->strategy == S_GMM || c->strategy == S_CD || c->strategy == S_PSD))
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(model, "strategy")->loc,
                          "model.strategy: %s runs on the toy 2-D sets only; on %s: pca, kmeans, ae, dae, sae, cae, nce",
                          dlx_energy_strategies[c->strategy], c->image_set);
    int64_t def_k = c->strategy == S_PCA ? 1 : c->strategy == S_KMEANS || c->strategy == S_PSD ? 16 : 8;
    int64_t max_k = c->strategy == S_PCA ? c->d - 1 : 1024;
    if (!rc) rc = dlx_spec_int(model, "components", false, def_k, 1, max_k, &c->components, err);
    if (!rc) rc = dlx_spec_int(model, "iters", false, 100, 1, 100000, &c->iters, err);
    if (!rc) rc = dlx_spec_float(model, "reg", false, 1e-3, 1e-9, 100.0, &c->reg, err);
    if (!rc) rc = dlx_spec_int(model, "hidden", false, 64, 1, 65536, &c->hidden, err);
    if (!rc) rc = dlx_spec_float(model, "corrupt", false, 0.1, 0.0, 100.0, &c->corrupt, err);
    if (!rc) rc = dlx_spec_float(model, "weight", false, 0.1, 0.0, 1e6, &c->weight, err);
    if (!rc) rc = dlx_spec_int(model, "depth", false, 3, 0, 100, &c->depth, err);
    if (!rc) rc = dlx_spec_int(model, "cd_steps", false, 20, 1, 10000, &c->cd_steps, err);
    if (!rc) rc = dlx_spec_float(model, "cd_step", false, 0.01, 0.0, 100.0, &c->cd_step, err);
    if (!rc) rc = dlx_spec_float(model, "cd_noise", false, 0.02, 0.0, 100.0, &c->cd_noise, err);
    if (!rc) rc = dlx_spec_int(model, "grid", false, 128, 8, 1024, &c->grid, err);
    if (!rc && c->components > c->samples && (c->strategy == S_KMEANS || c->strategy == S_GMM))
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(model, "components")->loc,
                          "model.components: %lld centres need at least as many training points (data.samples is %lld)",
                          (long long)c->components, (long long)c->samples);
    if (!rc && en_is_trained(c))
        rc = dlx_train_cfg_read(root, &(dlx_train_defaults){.batch = 100, .shards = 1}, k_losses, &c->tc, &m->plan, err);
    else if (!rc && dlx_spec_get(root, "train"))
        rc = dlx_err_setf(err, DLX_EINVAL, dlx_spec_get(root, "train")->loc,
                          "train: strategy %s is fitted in closed form and trains nothing; remove train:",
                          dlx_energy_strategies[c->strategy]);
    return rc;
}

static int make_points(const dlx_model *m, en *c, dlx_err *err)
{
    c->train = malloc((size_t)c->samples * c->d * sizeof(float));
    c->test = malloc((size_t)c->test_samples * c->d * sizeof(float));
    c->uniform = malloc((size_t)c->test_samples * c->d * sizeof(float));
    if (!c->train || !c->test || !c->uniform)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %lld + 2 x %lld points",
                            (long long)c->samples, (long long)c->test_samples);
    if (c->images)
        return dlx_en_images_load(m, c, err);
    dlx_toy_box((dlx_toy_kind)c->toy, c->box);
    dlx_toy_fill((dlx_toy_kind)c->toy, c->noise, m->seed, EN_STREAM_TRAIN, 0, c->samples, c->train);
    dlx_toy_fill((dlx_toy_kind)c->toy, c->noise, m->seed, EN_STREAM_TEST, 0, c->test_samples, c->test);
    dlx_toy_uniform(c->box, m->seed, EN_STREAM_BOX, 0, c->test_samples, c->uniform);
    return 0;
}

void dlx_en_fill_uniform(const dlx_model *m, const en *c, uint64_t stream, int64_t first, int64_t n, float *out)
{
    if (!c->images) {
        dlx_toy_uniform(c->box, m->seed, stream, first, n, out);
        return;
    }
    for (int64_t i = 0; i < n; i++) /* pixel a of point i from 32 bits of block (first + i) * d / 4 + a / 4 */
        for (int64_t a = 0; a < c->d; a += 4) {
            uint32_t b[4];
            dlx_philox(m->seed, stream, (uint64_t)((first + i) * ((c->d + 3) / 4) + a / 4), b);
            for (int64_t q = 0; q < 4 && a + q < c->d; q++)
                out[i * c->d + a + q] = (float)(b[q] >> 8) * (1.0f / 16777216.0f);
        }
}

typedef struct fitted_param {
    const char *name;
    dlx_shape shape;
} fitted_param;

/* The closed-form strategies' parameters, so that a checkpoint holds them. */
static int declare_fitted(dlx_model *m, en *c, dlx_err *err)
{
    const int64_t k = c->components, d = c->d;
    const dlx_init zero = {.kind = DLX_INIT_ZERO};
    fitted_param want[3];
    int n = 0;
    if (c->strategy == S_PCA) {
        want[n++] = (fitted_param){"pca.mu", dlx_shape_1d(d)};
        want[n++] = (fitted_param){"pca.W", dlx_shape_2d(k, d)};
    } else if (c->strategy == S_KMEANS) {
        want[n++] = (fitted_param){"kmeans.C", dlx_shape_2d(k, d)};
    } else {
        want[n++] = (fitted_param){"gmm.pi", dlx_shape_1d(k)};
        want[n++] = (fitted_param){"gmm.mu", dlx_shape_2d(k, d)};
        want[n++] = (fitted_param){"gmm.cov", (dlx_shape){.ndim = 3, .d = {k, d, d}}};
    }
    for (int i = 0; i < n; i++)
        if ((c->p[i] = dlx_params_declare(&m->params, want[i].name, want[i].shape, zero, false, err)) < 0)
            return c->p[i];
    int rc = dlx_params_finalize(&m->params, err);
    return rc ? rc : dlx_params_init_values(&m->params, m->seed, err);
}

static float *pdata(const dlx_model *m, const en *c, int i) { return m->params.items[c->p[i]].t.data; }

static void en_destroy(dlx_model *m)
{
    en *c = m->impl;
    if (!c)
        return;
    dlx_replicas_free(&c->reps);
    for (int k = 0; k < DLX_REPLICAS_MAX; k++)
        free(c->rep[k].scratch);
    free(c->train);
    free(c->test);
    free(c->uniform);
    free(c->shuffled);
    free(c->versus);
    free(c->order);
    dlx_en_psd_free(c);
    free(c);
    m->impl = NULL;
}

static int en_create(dlx_model *m, dlx_err *err)
{
    en *c = calloc(1, sizeof *c);
    if (!c)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    m->impl = c;
    int rc = read_spec(m, c, err);
    if (!rc) rc = make_points(m, c, err);
    if (!rc && c->strategy == S_PSD)
        rc = dlx_en_psd_setup(m, c, err);
    if (!rc) rc = en_is_trained(c) ? dlx_en_build_replicas(m, c, err) : declare_fitted(m, c, err);
    if (!rc)
        dlx_run_info(m, "energy: %s on %s (%lld points, noise %g), %lld parameters", dlx_energy_strategies[c->strategy],
                     c->image_set, (long long)c->samples, c->images ? 0.0 : c->noise, (long long)m->params.total);
    return rc;
}

/* PCA, K-means or EM on the training points, into the parameters. */
static int fit_closed_form(dlx_model *m, en *c, dlx_err *err)
{
    const int d = (int)c->d, k = (int)c->components;
    if (c->strategy == S_PCA) {
        double var[8];
        int rc = dlx_energy_pca_fit(c->train, c->samples, d, k, pdata(m, c, 0), pdata(m, c, 1), k <= 8 ? var : NULL, err);
        if (!rc && k <= 8)
            dlx_results_set(&m->results, "pca_variance", var[0]);
        return rc;
    }
    float *C = c->strategy == S_KMEANS ? pdata(m, c, 0) : pdata(m, c, 1);
    int ran = 0;
    dlx_energy_kmeans_init(c->train, c->samples, d, k, m->seed, C);
    int rc = dlx_energy_kmeans_fit(c->train, c->samples, d, k, (int)c->iters, C, &ran, err);
    if (!rc)
        dlx_results_set(&m->results, "kmeans_iters", ran);
    if (!rc && c->strategy == S_GMM) {
        double ll = 0.0;
        rc = dlx_energy_gmm_fit(c->train, c->samples, d, k, (int)c->iters, c->reg, pdata(m, c, 0), pdata(m, c, 1),
                                pdata(m, c, 2), &ll, err);
        if (!rc)
            dlx_results_set(&m->results, "train_loglik", ll);
    }
    return rc;
}

int dlx_en_energy(const dlx_model *m, const en *c, const float *Y, int64_t n, float *E, dlx_err *err)
{
    const int d = (int)c->d, k = (int)c->components;
    switch (c->strategy) {
    case S_PCA: dlx_energy_pca(pdata(m, c, 0), pdata(m, c, 1), d, k, Y, n, E); return 0;
    case S_KMEANS: dlx_energy_kmeans(pdata(m, c, 0), d, k, Y, n, E); return 0;
    case S_GMM: return dlx_energy_gmm(pdata(m, c, 0), pdata(m, c, 1), pdata(m, c, 2), d, k, Y, n, E, err);
    default: return dlx_en_net_energy(m, c, Y, n, E, err);
    }
}

static double mean_of(const float *e, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += e[i];
    return s / (double)n;
}

int dlx_en_evaluate(const dlx_model *m, const en *c, dlx_results *res, dlx_err *err)
{
    const int64_t n = c->test_samples;
    float *ed = malloc((size_t)n * sizeof *ed), *eu = malloc((size_t)n * sizeof *eu);
    double auc = 0.0;
    int rc = ed && eu ? 0 : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the energies");
    if (!rc) rc = dlx_en_energy(m, c, c->test, n, ed, err);
    if (!rc) rc = dlx_en_energy(m, c, c->uniform, n, eu, err);
    if (!rc) rc = dlx_energy_auc(ed, n, eu, n, &auc, err);
    if (!rc && c->images) { /* the shuffled digits, into eu once the uniform ones are scored */
        double auc_sh = 0.0;
        rc = dlx_en_energy(m, c, c->shuffled, n, eu + 0, err);
        if (!rc) rc = dlx_energy_auc(ed, n, eu, n, &auc_sh, err);
        if (!rc) dlx_results_set(res, "auc_shuffled", auc_sh);
        if (!rc && c->versus) {
            rc = dlx_en_energy(m, c, c->versus, n, eu, err);
            if (!rc) rc = dlx_energy_auc(ed, n, eu, n, &auc_sh, err);
            if (!rc) dlx_results_set(res, "auc_versus", auc_sh);
        }
        if (!rc) rc = dlx_en_energy(m, c, c->uniform, n, eu, err);
    }
    if (!rc) {
        dlx_results_set(res, "auc", auc);
        dlx_results_set(res, "energy_data", mean_of(ed, n));
        dlx_results_set(res, "energy_uniform", mean_of(eu, n));
    }
    free(ed);
    free(eu);
    return rc;
}

int dlx_en_write_pictures(const dlx_model *m, const en *c, dlx_err *err)
{
    return c->images ? dlx_en_write_images(m, c, err) : dlx_en_write_surface(m, c, err);
}

int dlx_en_reconstruct(const dlx_model *m, const en *c, const float *Y, int64_t n, float *out, dlx_err *err)
{
    const int64_t d = c->d, k = c->components;
    if (c->strategy == S_PCA || c->strategy == S_KMEANS) {
        const float *P = pdata(m, c, c->strategy == S_PCA ? 1 : 0), *mu = pdata(m, c, 0);
        for (int64_t i = 0; i < n; i++) {
            const float *y = Y + i * d;
            float *o = out + i * d;
            if (c->strategy == S_KMEANS) {
                int64_t arg = 0;
                double best = 1e300;
                for (int64_t j = 0; j < k; j++) {
                    double s = 0.0;
                    for (int64_t a = 0; a < d; a++)
                        s += ((double)y[a] - P[j * d + a]) * ((double)y[a] - P[j * d + a]);
                    if (s < best)
                        best = s, arg = j;
                }
                memcpy(o, P + arg * d, (size_t)d * sizeof *o);
                continue;
            }
            for (int64_t a = 0; a < d; a++)
                o[a] = mu[a];
            for (int64_t j = 0; j < k; j++) {
                double cj = 0.0;
                for (int64_t a = 0; a < d; a++)
                    cj += (double)P[j * d + a] * ((double)y[a] - mu[a]);
                for (int64_t a = 0; a < d; a++)
                    o[a] += (float)(cj * P[j * d + a]);
            }
        }
        return 0;
    }
    if (c->strategy < S_AE || c->strategy > S_CAE)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "strategy %s reconstructs nothing", dlx_energy_strategies[c->strategy]);
    dlx_en_net_reconstruct(m, c, Y, n, out);
    return 0;
}

static int en_train(dlx_model *m, dlx_err *err)
{
    en *c = m->impl;
    if (en_is_trained(c))
        return dlx_en_train_net(m, c, err); /* its finish writes the surface */
    int rc = fit_closed_form(m, c, err);
    if (!rc) rc = dlx_en_evaluate(m, c, &m->results, err);
    if (!rc) rc = dlx_run_save_checkpoint(m, err);
    if (!rc) rc = dlx_en_write_pictures(m, c, err);
    return rc;
}

static int en_evaluate(dlx_model *m, const char *data, dlx_results *res, dlx_err *err)
{
    if (data)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--data: the energy family evaluates on its held-out "
                            "points and uniform points over the box (data.dataset), not on '%s'", data);
    memset(res, 0, sizeof *res);
    dlx_results_set(res, "step", (double)m->step);
    return dlx_en_evaluate(m, m->impl, res, err);
}

const dlx_family dlx_family_energy = {
    .name = "energy",
    .help = "energy-based unsupervised learning on toy 2-D data: PCA, K-means, a Gaussian mixture, plain, denoising, "
            "sparse and contracting auto-encoders, noise-contrastive estimation, contrastive divergence, predictive sparse decomposition; AUC of the energy, data vs uniform",
    .create = en_create,
    .destroy = en_destroy,
    .train = en_train,
    .evaluate = en_evaluate,
    .figure = dlx_energy_figure,
    .spec_sections = k_sections,
};
