/* The energy family's predictive sparse decomposition (strategy psd,
 * Kavukcuoglu, Ranzato & LeCun 2008), on the sparse-coding family's solvers
 * (models/lista_internal.h, core/sparse.h): the dictionary is learned as that
 * family learns it (FISTA inference alternating with a step on Wd, unit
 * columns), the optimal codes Z* by FISTA, and the encoder is its LISTA
 * encoder of model.depth steps, started at ISTA's values and trained through
 * the one trainer to predict Z*. The energy of y is the sparse-coding energy
 * of the encoder's code:
 *
 *   E(y) = 1/2 ||u - Wd F(u)||^2 + weight ||F(u)||_1,   u = (y1, y2, 1)
 *
 * The points are lifted by a constant coordinate so that atoms are points of
 * the plane (a one-atom code reaches only the ray through its atom, which
 * meets the plane u3 = 1 at one point) and two-atom codes are lines through
 * two of them: the low-energy set is pieces of lines through the atoms, its
 * volume limited by the sparsity penalty, not the whole plane through the
 * origin that a plain 2-D dictionary would span. */
#include <stdlib.h>
#include <string.h>

#include "../core/sparse.h"
#include "energy_internal.h"
#include "lista_internal.h"

#define LIFT 1.0f

void dlx_en_lift(const float *y, int64_t n, float *u)
{
    for (int64_t i = 0; i < n; i++) {
        u[3 * i] = y[2 * i];
        u[3 * i + 1] = y[2 * i + 1];
        u[3 * i + 2] = LIFT;
    }
}

int dlx_en_psd_setup(dlx_model *m, en *c, dlx_err *err)
{
    sc *s = calloc(1, sizeof *s);
    c->lifted = malloc((size_t)c->samples * PSD_DIM * sizeof *c->lifted);
    c->zstar = malloc((size_t)c->samples * c->components * sizeof *c->zstar);
    c->psd = s;
    if (!s || !c->lifted || !c->zstar)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for the sparse codes");
    dlx_en_lift(c->train, c->samples, c->lifted);
    *s = (sc){.algo = ALG_LISTA, .n = PSD_DIM, .m = (int)c->components, .alpha = c->weight, .nT = 1,
              .dict_steps = c->iters, .dict_batch = 100, .dict_iters = 100, .dict_init = 1, .dict_lr = 0.1,
              .opt_iters = 1000, .opt_tol = 1e-6, .Xtr = c->lifted, .ntr = c->samples};
    s->enc[0].T = (int)c->depth;
    s->wd = dlx_params_declare(&m->params, "psd.Wd", dlx_shape_2d(PSD_DIM, c->components),
                               (dlx_init){.kind = DLX_INIT_ZERO}, false, err);
    return s->wd < 0 ? s->wd : 0;
}

void dlx_en_psd_free(en *c)
{
    free(c->psd);
    free(c->lifted);
    free(c->zstar);
}

int dlx_en_psd_graph(dlx_model *m, en *c, dlx_graph *g, en_replica *r, int64_t n, dlx_err *err)
{
    r->zs = dlx_graph_input(g, "Zstar", dlx_shape_2d(n, c->components), false, err);
    if (!r->zs)
        return err->code ? err->code : DLX_ENOMEM;
    return dlx_sc_add_encoder(m, c->psd, g, &c->psd->enc[0], r->in, r->zs, &r->out, &r->loss, err);
}

int dlx_en_psd_prepare(dlx_model *m, en *c, dlx_err *err)
{
    int rc = 0, iters = 0;
    if (m->step == 0) { /* a fresh run: the dictionary, then the encoder at ISTA's values */
        rc = dlx_sc_learn_dictionary(m, c->psd, err);
        if (!rc) rc = dlx_sc_init_encoders(m, c->psd, err);
    }
    if (!rc) rc = dlx_sc_optimal_codes(m, c->psd, c->lifted, c->samples, c->zstar, &iters, err);
    if (!rc)
        dlx_run_info(m, "psd: %lld atoms, optimal codes of %lld points in %d FISTA iterations", (long long)c->components,
                     (long long)c->samples, iters);
    return rc;
}

void dlx_en_psd_feed(const en *c, const en_replica *r, const uint32_t *rows, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        memcpy(r->in->out.data + i * PSD_DIM, c->lifted + (size_t)rows[i] * PSD_DIM, PSD_DIM * sizeof(float));
        memcpy(r->zs->out.data + i * c->components, c->zstar + (size_t)rows[i] * c->components,
               (size_t)c->components * sizeof(float));
    }
}

int dlx_en_psd_energy(const dlx_model *m, const en *c, const float *U, const float *Z, int64_t n, float *E,
                      dlx_err *err)
{
    dlx_sparse sp;
    double *per = malloc((size_t)(n ? n : 1) * sizeof *per);
    int rc = per ? dlx_sparse_init(&sp, m->params.items[c->psd->wd].t.data, PSD_DIM, (int)c->components,
                                   (float)c->weight, err)
                 : dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    if (!rc) {
        dlx_sparse_energy(&sp, U, Z, (int)n, per);
        for (int64_t i = 0; i < n; i++)
            E[i] = (float)per[i];
        dlx_sparse_free(&sp);
    }
    free(per);
    return rc;
}
