/* The gan family on images: the feed's buffers, the evaluation's sample
 * grid and diversity, and the collapse test (dlx_train_family.diverged). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/png.h"
#include "gan_internal.h"

int dlx_gan_images_feed_alloc(gan *c, dlx_err *err)
{
    for (int k = 0; k < c->tc.shards; k++) {
        c->rep[k].idx = malloc((size_t)c->shard_batch * sizeof *c->rep[k].idx);
        c->rep[k].labels = malloc((size_t)c->shard_batch * sizeof *c->rep[k].labels);
        if (!c->rep[k].idx || !c->rep[k].labels)
            return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    }
    return 0;
}

/* The mean over the values of a sample of their std over the n samples x
 * (n >= 2): 0 when every sample is the same. In double, in a fixed order. */
static double sample_std(const float *x, int64_t n, int64_t per)
{
    double total = 0.0;
    for (int64_t j = 0; j < per; j++) {
        double s = 0.0, s2 = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double v = x[i * per + j];
            s += v;
            s2 += v * v;
        }
        double mean = s / (double)n;
        total += sqrt(fmax(s2 / (double)n - mean * mean, 0.0));
    }
    return total / (double)per;
}

void dlx_gan_images_score(const gan *c, const float *x, int64_t n, dlx_results *res)
{
    dlx_results_set(res, "sample_std", sample_std(x, n, c->x_numel));
}

/* samples_epoch<k>.png and samples.png: the evaluation's samples, 10 x 10,
 * pixels mapped back to [0, 1] through the data's transform. */
int dlx_gan_images_grid(dlx_model *m, gan *c, dlx_err *err)
{
    const dlx_transform *tf = &c->im.tf;
    const float lo = (0.0f - tf->mean) / tf->std, hi = (1.0f - tf->mean) / tf->std;
    const dlx_grid grid = {.rows = GAN_GRID, .cols = GAN_GRID, .c = (int)c->x_dim[0], .h = (int)c->x_dim[1],
                           .w = (int)c->x_dim[2], .zoom = 2, .lo = lo, .hi = hi};
    char name[64], path[DLX_RUNDIR_MAX + 64];
    snprintf(name, sizeof name, "samples_epoch%lld.png", (long long)m->epoch);
    const char *names[2] = {name, "samples.png"};
    for (int i = 0; i < 2; i++) {
        int rc = dlx_path_join(path, sizeof path, m->run_dir, names[i], err);
        if (!rc) rc = dlx_png_write_grid(path, &grid, c->eval_out->out.data, (int)c->test_samples, err);
        if (rc)
            return rc;
    }
    dlx_run_info(m, "wrote %s/%s (%d samples of G under fixed noise)", m->run_dir, name, GAN_GRID * GAN_GRID);
    return 0;
}

/* Whether top depends on `on` (a walk of the inputs; each node once). */
static bool depends(const dlx_node *top, const dlx_node *on, bool *seen)
{
    if (top == on)
        return true;
    if (seen[top->id])
        return false;
    seen[top->id] = true;
    for (int i = 0; i < top->n_in; i++)
        if (depends(top->in[i], on, seen))
            return true;
    return false;
}

bool dlx_gan_depends(const dlx_graph *g, const dlx_node *top, const dlx_node *on)
{
    bool *seen = calloc((size_t)g->n, sizeof *seen);
    bool d = seen && top && depends(top, on, seen);
    free(seen);
    return d;
}

/* The mean over the replicas of loss l's value (over MPI ranks, over this
 * rank's: the trainer stops when every rank's test says so). */
static double replica_mean(const gan *c, int l)
{
    double s = 0.0;
    for (int k = c->reps.first; k < c->reps.first + c->reps.count; k++)
        s += c->rep[k].loss[l]->out.data[0];
    return s / c->reps.count;
}

/* EBGAN's discriminator stuck at the margin: after D's update, both energies
 * D(x) and D(G(z)) below 1 % of m (d_loss = D(x) + [m - D(G(z))]^+ is then m
 * within 1 %: D reconstructs fakes as well as data and gives G no signal),
 * for model.stuck_steps D updates in a row (counted from the start or the
 * resume of the run). */
static bool stuck_at_margin(const dlx_model *m, gan *c, int u, char *why, size_t why_size)
{
    if (c->loss != GAN_LOSS_EBGAN || c->stuck_steps <= 0 || m->plan.updates[u].loss != GAN_LOSS_D)
        return false;
    const double real = replica_mean(c, GAN_LOSS_D_REAL), fake = replica_mean(c, GAN_LOSS_D_FAKE);
    const double tol = 0.01 * c->margin;
    c->stuck_run = real < tol && fake < tol ? c->stuck_run + 1 : 0;
    if (c->stuck_run < c->stuck_steps)
        return false;
    snprintf(why, why_size,
             "the discriminator is stuck at the margin: d_loss within 1 %% of model.margin %g for %lld D updates "
             "in a row (model.stuck_steps), its energies D(x) %.3g and D(G(z)) %.3g both near 0",
             c->margin, (long long)c->stuck_run, real, fake);
    return true;
}

/* The generator collapsed: after an update whose loss sees G(z), the mean
 * per-value std of every replica's generated batch is below
 * model.collapse_std (the replicas are the batch's fixed parts: any thread
 * count gives the same answer). Or, for EBGAN, D is stuck at the margin. */
bool dlx_gan_diverged(void *user, int u, char *why, size_t why_size)
{
    const dlx_model *m = user;
    gan *c = m->impl;
    if (stuck_at_margin(m, c, u, why, why_size))
        return true;
    if (c->collapse_std <= 0.0 || c->shard_batch < 2 || !c->uses_fake[m->plan.updates[u].loss])
        return false;
    double worst = 0.0;
    for (int k = c->reps.first; k < c->reps.first + c->reps.count; k++) { /* (this rank's, as above) */
        double s = sample_std(c->rep[k].fake->out.data, c->shard_batch, c->x_numel);
        if (s >= c->collapse_std)
            return false;
        worst = fmax(worst, s);
    }
    snprintf(why, why_size,
             "the generator collapsed: its samples are all alike (mean per-value std %.3g over each batch, "
             "below model.collapse_std %g)", worst, c->collapse_std);
    return true;
}
