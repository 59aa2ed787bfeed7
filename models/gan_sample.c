/* The gan family's generator for `dlx sample` (dlx_family.sample): G on
 * latent vectors the caller chose, through the evaluation's inference graph
 * (batch norm on its running statistics, so a sample does not depend on the
 * others of its batch), pixels mapped back to [0, 1]. */
#include <math.h>
#include <string.h>

#include "family.h"
#include "gan_internal.h"

int dlx_gan_sample(dlx_model *m, const float *z, int64_t n, float *x, dlx_sample_shape *shape, dlx_err *err)
{
    gan *c = m->impl;
    if (c->data != GAN_DATA_IMAGES)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                            "this gan generates points of the plane (data.dataset: ring), not images: its "
                            "samples.png shows them over the modes");
    shape->nz = c->nz;
    shape->c = (int)c->x_dim[0], shape->h = (int)c->x_dim[1], shape->w = (int)c->x_dim[2];
    if (!z)
        return 0;
    /* eval_g holds test_samples latent rows: n goes through it in slices, the
     * last one padded with zeros */
    const int64_t slice = c->test_samples, nz = c->nz, per = c->x_numel;
    const dlx_transform *tf = &c->im.tf;
    const dlx_ctx ctx = {.training = false, .seed = m->seed, .threads = dlx_replicas_threads(m->threads)};
    float *zin = c->eval_z->out.data;
    for (int64_t at = 0; at < n; at += slice) {
        int64_t k = n - at < slice ? n - at : slice;
        memcpy(zin, z + at * nz, (size_t)(k * nz) * sizeof *zin);
        memset(zin + k * nz, 0, (size_t)((slice - k) * nz) * sizeof *zin);
        dlx_graph_forward(c->eval_g, &ctx);
        const float *y = c->eval_out->out.data;
        /* the data's transform undone (v * std + mean is the pixel in [0, 1]);
         * a value outside (or NaN) is clipped, as the training grids do */
        for (int64_t i = 0; i < k * per; i++) {
            float v = y[i] * tf->std + tf->mean;
            x[at * per + i] = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
        }
    }
    return 0;
}
