/* The energy-based GAN's losses (Zhao, Mathieu & LeCun 2017): the
 * discriminator is an auto-encoder and its energy is the reconstruction
 * error,
 *
 *   E(x)   = (1/N) sum_i 1/2 |Dec(Enc(x_i)) - x_i|^2   (half the squared L2
 *            norm per sample, the mean over the batch: mse's half_sum)
 *   d_real = E(x),  d_fake = E(G(z))
 *   d_loss = d_real + [margin - d_fake]^+
 *   g_loss = d_fake + pt_weight * pt,  pt = f_PT of the codes of G(z)
 *
 * The squared norm rather than the paper's |.|: its gradient stays finite at
 * a perfect reconstruction, and half its sum over a 28x28 image in [-1, 1]
 * is at the scale of the paper's margin of 10 (about 0.16 RMS per pixel).
 * Trained with the plain norm instead (configs/ebgan.yaml, same steps), the
 * samples came out blurrier and speckled.
 * G(z) gets gradients both as the auto-encoder's input and as its target,
 * so the error is built from sub, mul and sum (mse gives its target none).
 */
#include "../core/ops/ops.h"
#include "gan_internal.h"

/* (1/N) sum 1/2 |rec - x|^2 over the batch, both (N, ...) of one shape. */
static dlx_node *energy(dlx_graph *g, const char *name, dlx_node *rec, dlx_node *x, dlx_err *err)
{
    dlx_node *in[2] = {rec, x};
    dlx_node *d = dlx_graph_op(g, &dlx_op_sub, NULL, in, 2, NULL, DLX_NOLOC, err);
    dlx_node *sq[2] = {d, d};
    dlx_node *d2 = d ? dlx_graph_op(g, &dlx_op_mul, NULL, sq, 2, NULL, DLX_NOLOC, err) : NULL;
    dlx_reduce_attr all = {.all = true};
    dlx_node *s = d2 ? dlx_graph_op(g, &dlx_op_sum, NULL, &d2, 1, &all, DLX_NOLOC, err) : NULL;
    dlx_scale_attr half = {.scale = 0.5f / (float)x->out.shape.d[0], .shift = 0.0f};
    return s ? dlx_graph_op(g, &dlx_op_scale, name, &s, 1, &half, DLX_NOLOC, err) : NULL;
}

int dlx_gan_ebgan_losses(dlx_graph *g, const gan *c, dlx_node *x, dlx_node *rec_real, dlx_node *fake,
                         dlx_node *rec_fake, dlx_node *code, dlx_node **loss, dlx_err *err)
{
    dlx_node *real = energy(g, "d_real", rec_real, x, err);
    dlx_node *gen = real ? energy(g, "d_fake", rec_fake, fake, err) : NULL;
    if (!gen)
        return err->code;
    /* the hinge [m - E(G(z))]^+ as relu(-E + m) */
    dlx_scale_attr flip = {.scale = -1.0f, .shift = (float)c->margin};
    dlx_node *gap = dlx_graph_op(g, &dlx_op_scale, NULL, &gen, 1, &flip, DLX_NOLOC, err);
    dlx_act_attr relu = {.act = DLX_ACT_RELU};
    dlx_node *hinge = gap ? dlx_graph_op(g, &dlx_op_act, "d_hinge", &gap, 1, &relu, DLX_NOLOC, err) : NULL;
    dlx_node *sum[2] = {real, hinge};
    dlx_node *d_loss = hinge ? dlx_graph_op(g, &dlx_op_add, "d_loss", sum, 2, NULL, DLX_NOLOC, err) : NULL;
    if (!d_loss)
        return err->code;
    dlx_node *pt = NULL, *g_loss;
    if (code && !(pt = dlx_graph_op(g, &dlx_op_pulling_away, "pt", &code, 1, NULL, DLX_NOLOC, err)))
        return err->code;
    if (pt) {
        dlx_weighted_sum_attr w = {.w = {1.0f, (float)c->pt_weight}};
        dlx_node *terms[2] = {gen, pt};
        g_loss = dlx_graph_op(g, &dlx_op_weighted_sum, "g_loss", terms, 2, &w, DLX_NOLOC, err);
    } else {
        dlx_scale_attr one = {.scale = 1.0f, .shift = 0.0f}; /* its own node, named g_loss */
        g_loss = dlx_graph_op(g, &dlx_op_scale, "g_loss", &gen, 1, &one, DLX_NOLOC, err);
    }
    if (!g_loss)
        return err->code;
    loss[GAN_LOSS_D] = d_loss;
    loss[GAN_LOSS_G] = g_loss;
    loss[GAN_LOSS_D_REAL] = real;
    loss[GAN_LOSS_D_FAKE] = gen;
    if (pt)
        loss[GAN_LOSS_PT] = pt;
    return 0;
}
