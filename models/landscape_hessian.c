/* Hessian of a classifier's training loss at its current parameters.
 *
 * The loss is the mean softmax cross-entropy over the first `samples`
 * samples of the training split as the training read it (the family's
 * train/images reader: data.train_limit, data.resize once at load, the
 * normalisation and padding), on a graph built here over the model's own
 * parameter store from model.layers, so any classifier spec works without
 * the family exposing its graph. Column j of H is the central
 * difference (g(w + eps e_j) - g(w - eps e_j)) / 2eps of backprop gradients;
 * H is symmetrised and its eigenvalues come from LAPACK dsyev (OpenBLAS ships
 * LAPACK). Above exact_max parameters, Lanczos with full reorthogonalisation
 * on the same finite-difference Hessian-vector products gives the extreme
 * eigenvalues (dstev on the tridiagonal matrix).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/graph.h"
#include "../core/layers.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"
#include "../train/images.h"
#include "family.h"
#include "landscape.h"

/* LAPACK (Fortran) as exported by OpenBLAS; no LAPACKE needed. */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                   double *work, const int *lwork, int *info);
extern void dstev_(const char *jobz, const int *n, double *d, double *e, double *z, const int *ldz, double *work,
                   int *info);

int dlx_sym_eigvals(double *a, int n, double *w, dlx_err *err)
{
    int lwork = -1, info = 0;
    double q;
    dsyev_("N", "U", &n, a, &n, w, &q, &lwork, &info);
    lwork = info == 0 ? (int)q : 3 * n;
    double *work = malloc((size_t)(lwork > 1 ? lwork : 1) * sizeof *work);
    if (!work)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the eigensolver");
    dsyev_("N", "U", &n, a, &n, w, work, &lwork, &info);
    free(work);
    if (info != 0)
        return dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "dsyev failed (info %d): the Hessian has NaN entries or did not converge",
                            info);
    return 0;
}

typedef struct hctx {
    dlx_model *m;
    dlx_graph *g;
    dlx_node *loss;
    dlx_ctx ctx;
    int64_t p;
    double *g1, *g2;
} hctx;

static void grad_at(hctx *h, double *out)
{
    dlx_params_zero_grad(&h->m->params);
    dlx_graph_forward(h->g, &h->ctx);
    dlx_graph_backward(h->g, h->loss, &h->ctx);
    for (int64_t i = 0; i < h->p; i++)
        out[i] = h->m->params.grads[i];
}

/* Hv by central differences along v (|v| = 1). */
static void hvp(hctx *h, const double *v, double eps, double *out)
{
    float *w = h->m->params.values;
    float *save = malloc((size_t)h->p * sizeof *save);
    if (!save) {
        for (int64_t i = 0; i < h->p; i++)
            out[i] = NAN;
        return;
    }
    memcpy(save, w, (size_t)h->p * sizeof *save);
    for (int64_t i = 0; i < h->p; i++)
        w[i] = (float)(save[i] + eps * v[i]);
    grad_at(h, h->g1);
    for (int64_t i = 0; i < h->p; i++)
        w[i] = (float)(save[i] - eps * v[i]);
    grad_at(h, h->g2);
    memcpy(w, save, (size_t)h->p * sizeof *save);
    free(save);
    for (int64_t i = 0; i < h->p; i++)
        out[i] = (h->g1[i] - h->g2[i]) / (2.0 * eps);
}

static int exact(hctx *h, double eps, double neg_tol, dlx_hessian_info *info, dlx_err *err)
{
    int64_t p = h->p;
    double *H = malloc((size_t)(p * p) * sizeof *H), *ev = malloc((size_t)p * sizeof *ev);
    if (!H || !ev) {
        free(H);
        free(ev);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for a %lld x %lld Hessian", (long long)p,
                            (long long)p);
    }
    float *w = h->m->params.values;
    for (int64_t j = 0; j < p; j++) {
        float keep = w[j];
        w[j] = (float)(keep + eps);
        double up = w[j];
        grad_at(h, h->g1);
        w[j] = (float)(keep - eps);
        double dn = w[j];
        grad_at(h, h->g2);
        w[j] = keep;
        for (int64_t i = 0; i < p; i++) /* divide by the step actually taken in float */
            H[j * p + i] = (h->g1[i] - h->g2[i]) / (up - dn);
    }
    for (int64_t i = 0; i < p; i++)
        for (int64_t j = i + 1; j < p; j++)
            H[i * p + j] = H[j * p + i] = 0.5 * (H[i * p + j] + H[j * p + i]);
    int rc = dlx_sym_eigvals(H, (int)p, ev, err);
    if (!rc) {
        info->exact = true;
        info->eig_min = ev[0];
        info->eig_max = ev[p - 1];
        info->index = 0;
        for (int64_t i = 0; i < p; i++)
            info->index += ev[i] < -neg_tol;
    }
    free(H);
    free(ev);
    return rc;
}

static int lanczos(hctx *h, double eps, int k, double neg_tol, dlx_hessian_info *info, dlx_err *err)
{
    int64_t p = h->p;
    if (k > p)
        k = (int)p;
    double *V = malloc((size_t)(k + 1) * (size_t)p * sizeof *V), *wv = malloc((size_t)p * sizeof *wv);
    double *a = calloc((size_t)k, sizeof *a), *b = calloc((size_t)k + 1, sizeof *b);
    double *work = calloc(2 * (size_t)k + 2, sizeof *work);
    int rc = 0;
    if (!V || !wv || !a || !b || !work) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for Lanczos");
        goto out_free;
    }
    dlx_rng r;
    dlx_rng_init(&r, h->m->seed, DLX_STREAM_USER + 7);
    double nn = 0;
    for (int64_t i = 0; i < p; i++) {
        V[i] = dlx_rng_normal(&r);
        nn += V[i] * V[i];
    }
    for (int64_t i = 0; i < p; i++)
        V[i] /= sqrt(nn);
    int m = k;
    for (int j = 0; j < k; j++) {
        double *vj = V + (size_t)j * (size_t)p;
        hvp(h, vj, eps, wv);
        double al = 0;
        for (int64_t i = 0; i < p; i++)
            al += wv[i] * vj[i];
        a[j] = al;
        for (int pass = 0; pass < 2; pass++) /* full reorthogonalisation, twice */
            for (int q = 0; q <= j; q++) {
                double *vq = V + (size_t)q * (size_t)p, d = 0;
                for (int64_t i = 0; i < p; i++)
                    d += wv[i] * vq[i];
                for (int64_t i = 0; i < p; i++)
                    wv[i] -= d * vq[i];
            }
        double be = 0;
        for (int64_t i = 0; i < p; i++)
            be += wv[i] * wv[i];
        be = sqrt(be);
        b[j] = be;
        if (be < 1e-12 || j == k - 1) {
            m = j + 1;
            break;
        }
        double *vn = V + (size_t)(j + 1) * (size_t)p;
        for (int64_t i = 0; i < p; i++)
            vn[i] = wv[i] / be;
    }
    int info_l = 0, ldz = 1;
    dstev_("N", &m, a, b, NULL, &ldz, work, &info_l);
    if (info_l != 0) {
        rc = dlx_err_setf(err, DLX_ENUM, DLX_NOLOC, "dstev failed (info %d) in Lanczos", info_l);
        goto out_free;
    }
    info->exact = false;
    info->eig_min = a[0];
    info->eig_max = a[m - 1];
    info->index = 0;
    for (int i = 0; i < m; i++)
        info->index += a[i] < -neg_tol;
out_free:
    free(V);
    free(wv);
    free(a);
    free(b);
    free(work);
    return rc;
}

int dlx_hessian_analyse(dlx_model *m, int samples, double eps, int exact_max, int lanczos_steps, double neg_tol,
                        dlx_hessian_info *info, dlx_err *err)
{
    memset(info, 0, sizeof *info);
    if (strcmp(m->family->name, "classifier") != 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "the hessian measure needs a classifier base spec, not '%s'",
                            m->family->name);
    /* the training split as training holds it (limit, resize once at load):
     * a resize per batch here would round differently */
    const dlx_images *im;
    int rc = m->family->train_images(m, &im, err);
    if (rc)
        return rc;
    dlx_spec_node *layers = dlx_spec_path(m->spec, "model.layers");
    int64_t n = samples < im->train.n ? samples : im->train.n;
    hctx h = {.m = m, .ctx = {.training = true, .seed = m->seed, .step = 0, .threads = 1}, .p = m->params.total};
    dlx_layers_out lo = {0};
    h.g = dlx_graph_create(&m->params);
    uint32_t *idx = malloc((size_t)n * sizeof *idx);
    h.g1 = malloc((size_t)h.p * sizeof *h.g1);
    h.g2 = malloc((size_t)h.p * sizeof *h.g2);
    if (!h.g || !idx || !h.g1 || !h.g2) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out_free;
    }
    dlx_node *x = dlx_graph_input(h.g, "input", dlx_shape_4d(n, im->c, im->h, im->w), false, err);
    dlx_node *y = x ? dlx_graph_input(h.g, "labels", dlx_shape_1d(n), false, err) : NULL;
    if (!x || !y) {
        rc = err->code;
        goto out_free;
    }
    rc = dlx_layers_build(h.g, &m->params, layers, "", x, &lo, err);
    if (rc)
        goto out_free;
    dlx_node *in[2] = {lo.output, y};
    h.loss = dlx_graph_op(h.g, &dlx_op_softmax_xent, "loss", in, 2, NULL, layers->loc, err);
    if (!h.loss) {
        rc = err->code;
        goto out_free;
    }
    rc = dlx_graph_compile(h.g, 0, err);
    if (rc)
        goto out_free;
    for (int64_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    dlx_dataset_batch(&im->train, &im->tf, idx, (int)n, x->out.data, y->out.data);
    info->params = h.p;
    if (h.p <= exact_max)
        rc = exact(&h, eps, neg_tol, info, err);
    else
        rc = lanczos(&h, eps, lanczos_steps, neg_tol, info, err);
    dlx_params_zero_grad(&m->params);
out_free:
    free(lo.info);
    dlx_graph_destroy(h.g);
    free(idx);
    free(h.g1);
    free(h.g2);
    return rc;
}
