/* Hessian of a classifier's training loss at its current parameters.
 *
 * The loss is the mean softmax cross-entropy over the first `samples`
 * samples of the training split as the training read it (the family's
 * train/images reader: data.train_limit, data.resize once at load with its
 * rounding to grey levels, the normalisation and padding), on a graph built
 * here over the model's own parameter store from model.layers, so any
 * classifier spec works without the family exposing its graph.
 *
 * Hessian-vector products are exact (core/hvp.h: Pearlmutter's R-operator
 * through every op, in double), so no step is taken and no ReLU kink is
 * crossed; a graph with an op that has no R-operator is refused, naming it.
 * The dual runs in evaluation mode (its default context): dropout is the
 * identity and batch norm uses its running statistics, so H is that of the
 * deterministic loss at the end point.
 * method fd instead takes central differences (g(w + eps v) - g(w - eps v))
 * / 2 eps of the same double-precision gradients, a check of the exact
 * products. Up to exact_max parameters, H is built column by column (H e_j),
 * symmetrised and given to LAPACK dsyev (OpenBLAS ships LAPACK); above it,
 * Lanczos with full reorthogonalisation gives the extreme eigenvalues
 * (dstev on the tridiagonal matrix).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/graph.h"
#include "../core/hvp.h"
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
    dlx_hvp *hv;
    int64_t p;
    bool fd;
    double eps;
    double *w0, *g1, *g2; /* fd: the point and two gradients */
} hctx;

/* out = H v: exact, or the central difference of double gradients along v */
static void hvp(hctx *h, const double *v, double *out)
{
    if (!h->fd) {
        dlx_hvp_product(h->hv, v, out);
        return;
    }
    double *w = dlx_hvp_point(h->hv);
    for (int64_t i = 0; i < h->p; i++)
        w[i] = h->w0[i] + h->eps * v[i];
    dlx_hvp_gradient(h->hv, h->g1);
    w = dlx_hvp_point(h->hv);
    for (int64_t i = 0; i < h->p; i++)
        w[i] = h->w0[i] - h->eps * v[i];
    dlx_hvp_gradient(h->hv, h->g2);
    w = dlx_hvp_point(h->hv);
    memcpy(w, h->w0, (size_t)h->p * sizeof *w);
    for (int64_t i = 0; i < h->p; i++)
        out[i] = (h->g1[i] - h->g2[i]) / (2.0 * h->eps);
}

static int exact(hctx *h, double neg_tol, dlx_hessian_info *info, dlx_err *err)
{
    int64_t p = h->p;
    double *H = malloc((size_t)(p * p) * sizeof *H), *ev = malloc((size_t)p * sizeof *ev);
    double *e = calloc((size_t)p, sizeof *e);
    if (!H || !ev || !e) {
        free(H);
        free(ev);
        free(e);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for a %lld x %lld Hessian", (long long)p,
                            (long long)p);
    }
    for (int64_t j = 0; j < p; j++) { /* column j = H e_j */
        e[j] = 1.0;
        hvp(h, e, H + j * p);
        e[j] = 0.0;
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
    free(e);
    return rc;
}

static int lanczos(hctx *h, uint64_t seed, int k, double neg_tol, dlx_hessian_info *info, dlx_err *err)
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
    dlx_rng_init(&r, seed, DLX_STREAM_USER + 7);
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
        hvp(h, vj, wv);
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

/* The classifier's training split as training holds it (limit, resize once
 * at load: a resize per batch here would round differently), and the graph
 * of model.layers over the model's store on n of its samples, with the mean
 * softmax cross-entropy on top. */
static int build_loss(dlx_model *m, int64_t want, const dlx_images **im, dlx_graph **g, dlx_node **x, dlx_node **y,
                      dlx_node **loss, dlx_layers_out *lo, dlx_err *err)
{
    *g = NULL;
    if (strcmp(m->family->name, "classifier") != 0)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "the hessian measure needs a classifier base spec, not '%s'",
                            m->family->name);
    int rc = m->family->train_images(m, im, err);
    if (rc)
        return rc;
    dlx_spec_node *layers = dlx_spec_path(m->spec, "model.layers");
    int64_t n = want < (*im)->train.n ? want : (*im)->train.n;
    if (!(*g = dlx_graph_create(&m->params)))
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    *x = dlx_graph_input(*g, "input", dlx_shape_4d(n, (*im)->c, (*im)->h, (*im)->w), false, err);
    *y = *x ? dlx_graph_input(*g, "labels", dlx_shape_1d(n), false, err) : NULL;
    if (!*x || !*y)
        return err->code;
    rc = dlx_layers_build(*g, &m->params, layers, "", *x, lo, err);
    if (rc)
        return rc;
    dlx_node *in[2] = {lo->output, *y};
    *loss = dlx_graph_op(*g, &dlx_op_softmax_xent, "loss", in, 2, NULL, layers->loc, err);
    return *loss ? 0 : err->code;
}

int dlx_hessian_check(dlx_model *m, dlx_err *err)
{
    const dlx_images *im;
    dlx_graph *g;
    dlx_node *x = NULL, *y = NULL, *loss = NULL;
    dlx_layers_out lo = {0};
    int rc = build_loss(m, 1, &im, &g, &x, &y, &loss, &lo, err);
    const dlx_node *bad = rc ? NULL : dlx_hvp_unsupported(g, loss);
    if (bad)
        rc = dlx_err_setf(err, DLX_EINVAL, bad->loc,
                          "op '%s' (node '%s') has no R-operator, so the exact Hessian cannot be taken through it",
                          bad->op->name, bad->name);
    free(lo.info);
    dlx_graph_destroy(g);
    return rc;
}

int dlx_hessian_analyse(dlx_model *m, const dlx_hessian_opts *o, dlx_hessian_info *info, dlx_err *err)
{
    memset(info, 0, sizeof *info);
    const dlx_images *im;
    dlx_graph *g;
    dlx_node *x = NULL, *y = NULL, *loss = NULL;
    dlx_layers_out lo = {0};
    hctx h = {.p = m->params.total, .fd = o->method == DLX_HESSIAN_FD, .eps = o->eps};
    uint32_t *idx = NULL;
    int rc = build_loss(m, o->samples, &im, &g, &x, &y, &loss, &lo, err);
    if (!rc) rc = dlx_graph_compile(g, 0, err);
    if (rc)
        goto out_free;
    int64_t n = x->out.shape.d[0];
    idx = malloc((size_t)n * sizeof *idx);
    h.w0 = malloc((size_t)h.p * sizeof *h.w0);
    h.g1 = malloc((size_t)h.p * sizeof *h.g1);
    h.g2 = malloc((size_t)h.p * sizeof *h.g2);
    if (!idx || !h.w0 || !h.g1 || !h.g2) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out_free;
    }
    for (int64_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    dlx_dataset_batch(&im->train, &im->tf, idx, (int)n, x->out.data, y->out.data);
    rc = dlx_hvp_create(g, loss, &h.hv, err);
    if (rc)
        goto out_free;
    memcpy(h.w0, dlx_hvp_point(h.hv), (size_t)h.p * sizeof *h.w0);
    info->params = h.p;
    info->loss = dlx_hvp_gradient(h.hv, NULL);
    if (h.p <= o->exact_max)
        rc = exact(&h, o->neg_tol, info, err);
    else
        rc = lanczos(&h, m->seed, o->lanczos_steps, o->neg_tol, info, err);
out_free:
    dlx_hvp_destroy(h.hv);
    free(lo.info);
    dlx_graph_destroy(g);
    free(idx);
    free(h.w0);
    free(h.g1);
    free(h.g2);
    return rc;
}
