/* dlx sample CHECKPOINT --grid RxC --out FILE.png [--seed S] [--interpolate] [--transfer] [--zoom Z]
 *
 * The command draws the latent vectors (from the counter-based stream
 * DLX_STREAM_LATENT of the seed: the same seed, the same bits); the family's
 * sample callback (models/family.h) turns them into images. A family with a
 * split code (dlx_family.transfer: the disentangle family) draws its own
 * grids instead: --transfer (the default there) the swap grid, a row and a
 * column of source images around R x C decoded swaps, --interpolate the 2-D
 * interpolation between two images; the seed picks the images. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/h5io.h"
#include "../core/png.h"
#include "../core/rng.h"
#include "../experiments/registry.h"
#include "cli.h"

#define GRID_MAX 64

typedef struct sample_args {
    const char *ckpt, *out;
    int rows, cols, zoom;
    bool interpolate, transfer, has_seed;
    uint64_t seed;
} sample_args;

/* "RxC" with 1 <= R, C <= GRID_MAX. */
static bool parse_grid(const char *s, int *rows, int *cols)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    long r = strtol(s, &end, 10);
    if (*end != 'x' || end[1] < '0' || end[1] > '9')
        return false;
    long c = strtol(end + 1, &end, 10);
    if (*end || r < 1 || r > GRID_MAX || c < 1 || c > GRID_MAX)
        return false;
    *rows = (int)r, *cols = (int)c;
    return true;
}

/* 0, or the usage error's exit status (2, printed). */
static int parse_args(int argc, char **argv, sample_args *a)
{
    *a = (sample_args){.rows = 10, .cols = 10, .zoom = 2};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const bool has_next = i + 1 < argc;
        char *end;
        if (strcmp(s, "--grid") == 0 && has_next) {
            if (!parse_grid(argv[++i], &a->rows, &a->cols))
                return cli_usage_error("sample", "--grid: expected ROWSxCOLS with each from 1 to %d (e.g. 10x10), "
                                       "got '%s'", GRID_MAX, argv[i]);
        } else if (strcmp(s, "--out") == 0 && has_next) {
            a->out = argv[++i];
        } else if (strcmp(s, "--seed") == 0 && has_next) {
            const char *v = argv[++i];
            unsigned long long x = strtoull(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || x > INT64_MAX)
                return cli_usage_error("sample", "--seed: expected a number from 0 to %" PRId64 ", got '%s'",
                                       INT64_MAX, v);
            a->seed = x, a->has_seed = true;
        } else if (strcmp(s, "--zoom") == 0 && has_next) {
            long long z;
            if (!cli_int_arg(argv[++i], 1, 8, &z))
                return cli_usage_error("sample", "--zoom: expected a number from 1 to 8, got '%s'", argv[i]);
            a->zoom = (int)z;
        } else if (strcmp(s, "--interpolate") == 0) {
            a->interpolate = true;
        } else if (strcmp(s, "--transfer") == 0) {
            a->transfer = true;
        } else if (s[0] == '-') {
            return cli_usage_error("sample", "unknown or incomplete option '%s'", s);
        } else if (!a->ckpt) {
            a->ckpt = s;
        } else {
            return cli_usage_error("sample", "more than one checkpoint given ('%s' and '%s')", a->ckpt, s);
        }
    }
    if (!a->ckpt)
        return cli_usage_error("sample", "missing CHECKPOINT (e.g. runs/dcgan/checkpoint.h5)");
    if (!a->out)
        return cli_usage_error("sample", "missing --out FILE.png");
    if (a->transfer && a->interpolate)
        return cli_usage_error("sample", "--transfer and --interpolate draw different grids: give one");
    return 0;
}

/* The latent vectors, rows * cols of nz, into z (and 2 * nz more of scratch
 * after them): independent draws, or with --interpolate one pair (z_a, z_b)
 * per row and the row's cols points evenly along the segment from z_a to z_b
 * (both ends included). */
static void draw_latents(const sample_args *a, uint64_t seed, int64_t nz, float *z)
{
    const int64_t n = (int64_t)a->rows * a->cols;
    dlx_rng r;
    dlx_rng_init(&r, seed, DLX_STREAM_LATENT);
    if (!a->interpolate) {
        for (int64_t i = 0; i < n * nz; i++)
            z[i] = dlx_rng_normal(&r);
        return;
    }
    float *ab = z + n * nz;
    for (int row = 0; row < a->rows; row++) {
        for (int64_t i = 0; i < 2 * nz; i++)
            ab[i] = dlx_rng_normal(&r);
        for (int j = 0; j < a->cols; j++) {
            float t = a->cols > 1 ? (float)j / (float)(a->cols - 1) : 0.0f;
            float *out = z + ((int64_t)row * a->cols + j) * nz;
            for (int64_t i = 0; i < nz; i++)
                out[i] = (1.0f - t) * ab[i] + t * ab[nz + i]; /* exact at both ends */
        }
    }
}

/* A checkpoint whose family has no generator is refused before the model is
 * built (a classifier would load its data for nothing). */
static bool has_generator(const dlx_family *f) { return f->sample != NULL || f->transfer != NULL; }

static int check_family(const char *ckpt, dlx_err *err)
{
    char family[64], with[256];
    int rc = cli_checkpoint_family_can(ckpt, has_generator, family, sizeof family, with, sizeof with, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(ckpt),
                        "model kind '%s' has no generator: dlx sample draws from the generator of a %s checkpoint",
                        family, with);
}

static int write_samples(dlx_model *m, const sample_args *a, uint64_t seed, dlx_err *err)
{
    dlx_sample_shape sh;
    int rc = m->family->sample(m, NULL, 0, NULL, &sh, err);
    if (rc)
        return rc;
    const int64_t n = (int64_t)a->rows * a->cols, per = (int64_t)sh.c * sh.h * sh.w;
    float *z = malloc((size_t)((n + 2) * sh.nz) * sizeof *z), *x = malloc((size_t)(n * per) * sizeof *x);
    if (!z || !x)
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %" PRId64 " samples", n);
    if (!rc) {
        draw_latents(a, seed, sh.nz, z);
        rc = m->family->sample(m, z, n, x, &sh, err);
    }
    const dlx_grid g = {.rows = a->rows, .cols = a->cols, .c = sh.c, .h = sh.h, .w = sh.w, .zoom = a->zoom,
                        .lo = 0.0f, .hi = 1.0f};
    if (!rc) rc = dlx_png_write_grid(a->out, &g, x, (int)n, err);
    free(z);
    free(x);
    return rc;
}

/* The family's swap or interpolation grid (dlx_family.transfer). */
static int write_transfer(dlx_model *m, const sample_args *a, uint64_t seed, int *rows, int *cols, dlx_err *err)
{
    const dlx_transfer_req q = {.interpolate = a->interpolate, .rows = a->rows, .cols = a->cols, .seed = seed};
    dlx_sample_shape sh;
    int rc = m->family->transfer(m, &q, NULL, rows, cols, &sh, err);
    if (rc)
        return rc;
    const int64_t n = (int64_t)*rows * *cols, per = (int64_t)sh.c * sh.h * sh.w;
    float *x = malloc((size_t)(n * per) * sizeof *x);
    if (!x)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for %" PRId64 " images", n);
    rc = m->family->transfer(m, &q, x, rows, cols, &sh, err);
    const dlx_grid g = {.rows = *rows, .cols = *cols, .c = sh.c, .h = sh.h, .w = sh.w, .zoom = a->zoom,
                        .lo = 0.0f, .hi = 1.0f};
    if (!rc) rc = dlx_png_write_grid(a->out, &g, x, (int)n, err);
    free(x);
    return rc;
}

static int finish_transfer(dlx_model *m, const sample_args *a, uint64_t seed)
{
    dlx_err err;
    dlx_err_clear(&err);
    int rows, cols, rc = write_transfer(m, a, seed, &rows, &cols, &err);
    if (rc)
        rc = cli_fail(&err);
    else if (a->interpolate)
        printf("wrote %s: %dx%d decoded codes between two test images, s (identity) along each row, z (style) "
               "down each column (step %" PRId64 ", seed %" PRIu64 ")\n", a->out, rows, cols, m->step, seed);
    else
        printf("wrote %s: %dx%d tiles, the top row's identities in the left column's styles (step %" PRId64
               ", seed %" PRIu64 ")\n", a->out, rows, cols, m->step, seed);
    dlx_model_destroy(m);
    return rc;
}

/* --out replaces a PNG (a picture is redrawn at will) but never another
 * kind of file: `--out runs/x/checkpoint.h5` must not cost a run. */
static int check_out(const char *out, dlx_err *err)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (cli_may_replace(out, sig, sizeof sig))
        return 0;
    return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "--out %s: it exists and is not a PNG; dlx sample replaces only "
                        "a PNG: remove it or choose another file", out);
}

int cmd_sample(int argc, char **argv)
{
    sample_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    dlx_err err;
    dlx_err_clear(&err);
    dlx_model *m;
    if (check_out(a.out, &err) || check_family(a.ckpt, &err) || dlx_model_from_checkpoint(a.ckpt, NULL, &m, &err))
        return cli_fail(&err);
    const uint64_t seed = a.has_seed ? a.seed : m->seed;
    if (m->family->transfer)
        return finish_transfer(m, &a, seed);
    if (a.transfer) {
        dlx_err_setf(&err, DLX_EINVAL, DLX_FILELOC(a.ckpt),
                     "--transfer: model kind '%s' has no split code to swap (a disentangle checkpoint has)",
                     m->family->name);
        dlx_model_destroy(m);
        return cli_fail(&err);
    }
    rc = write_samples(m, &a, seed, &err);
    if (rc)
        rc = cli_fail(&err);
    else
        printf("wrote %s: %dx%d samples of the generator (step %" PRId64 ", seed %" PRIu64 ")%s\n", a.out, a.rows,
               a.cols, m->step, seed, a.interpolate ? ", each row along a line between two latent vectors" : "");
    dlx_model_destroy(m);
    return rc;
}
