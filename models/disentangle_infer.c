/* The disentangle family after training: the encoder and the decoder on
 * their own inference graphs (batch norm on its running statistics, z taken
 * as its mean), the grids of `dlx sample --transfer / --interpolate`
 * (dlx_family.transfer) and the evaluation's measures.
 *
 * The swap grid (--transfer, R x C cells): the top row holds C test images
 * that give the identity (column j: a digit of class j mod K), the left
 * column R test images that give the style, and cell (i, j) is dec(s of
 * column j's image, z of row i's image). The interpolation grid
 * (--interpolate): two test images a and b of different classes; cell
 * (i, j) is dec(s_a + (s_b - s_a) j / (C - 1), z_a + (z_b - z_a) i / (R - 1)),
 * so the identity changes along the rows and the style down the columns;
 * the top-left cell is a's reconstruction, the bottom-right b's. The images
 * are picked from the seed's stream DIS_STREAM_PICK: a seed names its grid.
 *
 * Measures (every evaluation, on the test split's first model.eval_samples
 * images): rec_mse, the mean squared error per pixel of dec(s_i, z_i)
 * against x_i (in the data's range), and swap_mse, of dec(s_j, z_i) against
 * x_i where j is the next image of x_i's class.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ops/ops.h"
#include "disentangle_internal.h"

int dlx_dis_build_infer(dlx_model *m, dis *c, dlx_err *err)
{
    dlx_layers_out lo = {0};
    c->enc_g = dlx_graph_create(&m->params);
    c->dec_g = dlx_graph_create(&m->params);
    if (!c->enc_g || !c->dec_g)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    c->enc_g->inference = c->dec_g->inference = true;
    c->enc_x = dlx_graph_input(c->enc_g, "x", dlx_shape_4d(DIS_INFER_N, c->c, c->h, c->w), false, err);
    int rc = c->enc_x ? dlx_dis_build_net(m, c->enc_g, "enc", c->enc_x, &lo, &c->enc_out, err) : err->code;
    free(lo.info);
    lo = (dlx_layers_out){0};
    if (!rc) rc = dlx_graph_compile(c->enc_g, 0, err);
    if (!rc)
        c->dec_code = dlx_graph_input(c->dec_g, "code", dlx_shape_2d(DIS_INFER_N, c->ns + c->nz), false, err);
    if (!rc && !c->dec_code)
        rc = err->code;
    dlx_node *y = NULL;
    if (!rc) rc = dlx_dis_build_net(m, c->dec_g, "dec", c->dec_code, &lo, &y, err);
    free(lo.info);
    if (!rc && !(c->dec_out = dlx_dis_as_image(c->dec_g, c, y, err)))
        rc = err->code;
    if (!rc) rc = dlx_graph_compile(c->dec_g, 0, err);
    return rc;
}

static dlx_ctx infer_ctx(const dlx_model *m)
{
    return (dlx_ctx){.training = false, .seed = m->seed, .threads = dlx_replicas_threads(m->threads)};
}

void dlx_dis_encode(const dlx_model *m, dis *c, const float *x, int64_t n, float *s, float *z, float *zlv)
{
    const dlx_ctx ctx = infer_ctx(m);
    const int64_t per = c->x_numel, code = c->ns + 2 * c->nz;
    for (int64_t at = 0; at < n; at += DIS_INFER_N) {
        const int64_t k = n - at < DIS_INFER_N ? n - at : DIS_INFER_N;
        float *in = c->enc_x->out.data;
        memcpy(in, x + at * per, (size_t)(k * per) * sizeof *in);
        memset(in + k * per, 0, (size_t)((DIS_INFER_N - k) * per) * sizeof *in);
        dlx_graph_forward(c->enc_g, &ctx);
        const float *e = c->enc_out->out.data;
        for (int64_t i = 0; i < k; i++) {
            memcpy(s + (at + i) * c->ns, e + i * code, (size_t)c->ns * sizeof *s);
            memcpy(z + (at + i) * c->nz, e + i * code + c->ns, (size_t)c->nz * sizeof *z); /* the mean */
            if (zlv)
                memcpy(zlv + (at + i) * c->nz, e + i * code + c->ns + c->nz, (size_t)c->nz * sizeof *zlv);
        }
    }
}

void dlx_dis_decode(const dlx_model *m, dis *c, const float *s, const float *z, int64_t n, float *x)
{
    const dlx_ctx ctx = infer_ctx(m);
    const int64_t per = c->x_numel, code = c->ns + c->nz;
    for (int64_t at = 0; at < n; at += DIS_INFER_N) {
        const int64_t k = n - at < DIS_INFER_N ? n - at : DIS_INFER_N;
        float *in = c->dec_code->out.data;
        memset(in, 0, (size_t)(DIS_INFER_N * code) * sizeof *in);
        for (int64_t i = 0; i < k; i++) {
            memcpy(in + i * code, s + (at + i) * c->ns, (size_t)c->ns * sizeof *in);
            memcpy(in + i * code + c->ns, z + (at + i) * c->nz, (size_t)c->nz * sizeof *in);
        }
        dlx_graph_forward(c->dec_g, &ctx);
        memcpy(x + at * per, c->dec_out->out.data, (size_t)(k * per) * sizeof *x);
    }
}

/* The data's transform undone into [0, 1] (clipped, as the training grids do). */
static void to_pixels(const dis *c, const float *y, int64_t n, float *out)
{
    for (int64_t i = 0; i < n; i++) {
        float v = y[i] * c->im.tf.std + c->im.tf.mean;
        out[i] = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
    }
}

/* A test image of class k (any class when k < 0), drawn from r. */
static uint32_t pick(const dis *c, dlx_rng *r, int k)
{
    const dlx_dataset *d = &c->im.test;
    for (int tries = 0; tries < 1000000; tries++) {
        uint32_t i = (uint32_t)(dlx_rng_u64(r) % (uint64_t)d->n);
        if (k < 0 || d->labels[i] == k)
            return i;
    }
    return 0; /* a class the test split lacks: any image */
}

static int transfer_grid(dlx_model *m, dis *c, const dlx_transfer_req *q, float *x, dlx_err *err)
{
    const int R = q->rows, C = q->cols;
    const int64_t per = c->x_numel, n_src = R + C;
    float *img = malloc((size_t)(n_src * per) * sizeof *img), *s = malloc((size_t)n_src * c->ns * sizeof *s),
          *z = malloc((size_t)n_src * c->nz * sizeof *z), *cs = malloc((size_t)R * C * c->ns * sizeof *cs),
          *cz = malloc((size_t)R * C * c->nz * sizeof *cz), *out = malloc((size_t)R * C * per * sizeof *out);
    uint32_t *idx = malloc((size_t)n_src * sizeof *idx);
    int rc = 0;
    if (!img || !s || !z || !cs || !cz || !out || !idx) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out;
    }
    dlx_rng r;
    dlx_rng_init(&r, q->seed, DIS_STREAM_PICK);
    for (int j = 0; j < C; j++) /* identities: classes in order */
        idx[j] = pick(c, &r, j % c->classes);
    for (int i = 0; i < R; i++) /* styles: any class */
        idx[C + i] = pick(c, &r, -1);
    dlx_dataset_batch(&c->im.test, &c->im.tf, idx, (int)n_src, img, NULL);
    dlx_dis_encode(m, c, img, n_src, s, z, NULL);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            memcpy(cs + ((int64_t)i * C + j) * c->ns, s + (int64_t)j * c->ns, (size_t)c->ns * sizeof *cs);
            memcpy(cz + ((int64_t)i * C + j) * c->nz, z + (int64_t)(C + i) * c->nz, (size_t)c->nz * sizeof *cz);
        }
    dlx_dis_decode(m, c, cs, cz, (int64_t)R * C, out);
    /* tiles (R + 1) x (C + 1): the corner blank, sources along the top and left */
    memset(x, 0, (size_t)(per * (R + 1) * (C + 1)) * sizeof *x);
    for (int j = 0; j < C; j++)
        to_pixels(c, img + (int64_t)j * per, per, x + (int64_t)(1 + j) * per);
    for (int i = 0; i < R; i++) {
        float *row = x + (int64_t)(i + 1) * (C + 1) * per;
        to_pixels(c, img + (int64_t)(C + i) * per, per, row);
        to_pixels(c, out + (int64_t)i * C * per, (int64_t)C * per, row + per);
    }
out:
    free(img), free(s), free(z), free(cs), free(cz), free(out), free(idx);
    return rc;
}

static void lerp(const float *a, const float *b, int64_t n, float t, float *out)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = (1.0f - t) * a[i] + t * b[i];
}

static int interpolate_grid(dlx_model *m, dis *c, const dlx_transfer_req *q, float *x, dlx_err *err)
{
    const int R = q->rows, C = q->cols;
    const int64_t per = c->x_numel, n = (int64_t)R * C;
    float *img = malloc((size_t)(2 * per) * sizeof *img), *s = malloc((size_t)(2 * c->ns) * sizeof *s),
          *z = malloc((size_t)(2 * c->nz) * sizeof *z), *cs = malloc((size_t)n * c->ns * sizeof *cs),
          *cz = malloc((size_t)n * c->nz * sizeof *cz), *out = malloc((size_t)n * per * sizeof *out);
    int rc = 0;
    if (!img || !s || !z || !cs || !cz || !out) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out;
    }
    /* a, then b of another class */
    dlx_rng r;
    dlx_rng_init(&r, q->seed, DIS_STREAM_PICK + (1u << 8));
    uint32_t idx[2];
    idx[0] = pick(c, &r, -1);
    const int ka = c->im.test.labels[idx[0]];
    idx[1] = pick(c, &r, c->classes > 1 ? (ka + 1 + (int)dlx_rng_below(&r, (uint32_t)(c->classes - 1))) % c->classes : -1);
    dlx_dataset_batch(&c->im.test, &c->im.tf, idx, 2, img, NULL);
    dlx_dis_encode(m, c, img, 2, s, z, NULL);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            const float ti = R > 1 ? (float)i / (float)(R - 1) : 0.0f, tj = C > 1 ? (float)j / (float)(C - 1) : 0.0f;
            lerp(s, s + c->ns, c->ns, tj, cs + ((int64_t)i * C + j) * c->ns);
            lerp(z, z + c->nz, c->nz, ti, cz + ((int64_t)i * C + j) * c->nz);
        }
    dlx_dis_decode(m, c, cs, cz, n, out);
    to_pixels(c, out, n * per, x);
out:
    free(img), free(s), free(z), free(cs), free(cz), free(out);
    return rc;
}

int dlx_dis_transfer(dlx_model *m, const dlx_transfer_req *q, float *x, int *rows, int *cols, dlx_sample_shape *shape,
                     dlx_err *err)
{
    dis *c = m->impl;
    shape->nz = c->nz;
    shape->c = c->c, shape->h = c->h, shape->w = c->w;
    *rows = q->interpolate ? q->rows : q->rows + 1;
    *cols = q->interpolate ? q->cols : q->cols + 1;
    if (!x)
        return 0;
    return q->interpolate ? interpolate_grid(m, c, q, x, err) : transfer_grid(m, c, q, x, err);
}

static double mse(const float *a, const float *b, int64_t n)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double d = (double)a[i] - (double)b[i];
        sum += d * d;
    }
    return sum / (double)n;
}

int dlx_dis_eval(dlx_model *m, dis *c, dlx_results *res, dlx_err *err)
{
    const int64_t n = c->eval_samples < c->im.test.n ? c->eval_samples : c->im.test.n;
    const int64_t per = c->x_numel;
    float *x = malloc((size_t)(n * per) * sizeof *x), *y = malloc((size_t)(n * per) * sizeof *y),
          *lab = malloc((size_t)n * sizeof *lab), *s = malloc((size_t)n * c->ns * sizeof *s),
          *z = malloc((size_t)n * c->nz * sizeof *z), *s2 = malloc((size_t)n * c->ns * sizeof *s2),
          *zlv = malloc((size_t)n * c->nz * sizeof *zlv);
    uint32_t *idx = malloc((size_t)n * sizeof *idx);
    int rc = 0;
    if (!x || !y || !lab || !s || !z || !s2 || !zlv || !idx) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
        goto out;
    }
    for (int64_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    dlx_dataset_batch(&c->im.test, &c->im.tf, idx, (int)n, x, lab);
    dlx_dis_encode(m, c, x, n, s, z, zlv);
    dlx_dis_decode(m, c, s, z, n, y);
    dlx_results_set(res, "rec_mse", mse(x, y, n * per));
    /* s of the next image of the same class (itself when it is its class's only one) */
    for (int64_t i = 0; i < n; i++) {
        int64_t j = (i + 1) % n;
        while (j != i && lab[j] != lab[i])
            j = (j + 1) % n;
        memcpy(s2 + i * c->ns, s + j * c->ns, (size_t)c->ns * sizeof *s2);
    }
    dlx_dis_decode(m, c, s2, z, n, y);
    dlx_results_set(res, "swap_mse", mse(x, y, n * per));
    if (c->probe_train > 0) rc = dlx_dis_measure_probes(m, c, lab, s, z, zlv, n, res, err);
    if (!rc && c->judge_path) rc = dlx_dis_measure_transfer(m, c, lab, s, z, n, res, err);
out:
    free(x), free(y), free(lab), free(s), free(z), free(s2), free(zlv), free(idx);
    return rc;
}
