/* The gan family's ring of Gaussians: data: {dataset: ring, modes, radius,
 * std, samples, test_samples}, its points, the mode count of the
 * evaluation and samples.png (with a gnuplot version). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/png.h"
#include "gan_internal.h"

const dlx_key_doc dlx_gan_ring_keys[] = {
    {"dataset", "string", "ring", "ring, or an image dataset (dlx spec data)", "the data"},
    {"modes", "integer", "8", "1 to 64", "Gaussians on the circle"},
    {"radius", "number", "2", "0.01 to 1000", "the circle's radius"},
    {"std", "number", "0.02", "0.0001 to 100", "each Gaussian's standard deviation"},
    {"samples", "integer", "25600", "1 to 1000000000", "training points per epoch"},
    {"test_samples", "integer", "2500", "1 to 1000000", "generated points scored at each evaluation"},
    {NULL},
};

/* d: the data: map (a map, its dataset ring or left out). */
int dlx_gan_ring_read(dlx_spec_node *d, gan *c, dlx_err *err)
{
    int rc = dlx_spec_check_doc(d, "data", dlx_gan_ring_keys, err);
    if (!rc) rc = dlx_spec_int(d, "modes", false, 8, 1, 64, &c->modes, err);
    if (!rc) rc = dlx_spec_float(d, "radius", false, 2.0, 0.01, 1000.0, &c->radius, err);
    if (!rc) rc = dlx_spec_float(d, "std", false, 0.02, 1e-4, 100.0, &c->std, err);
    if (!rc) rc = dlx_spec_int(d, "samples", false, 25600, 1, 1000000000, &c->samples, err);
    if (!rc) rc = dlx_spec_int(d, "test_samples", false, 2500, 1, 1000000, &c->test_samples, err);
    return rc;
}

static void mode_center(const gan *c, int64_t j, double *cx, double *cy)
{
    double a = 2.0 * M_PI * (double)j / (double)c->modes;
    *cx = c->radius * cos(a);
    *cy = c->radius * sin(a);
}

/* n points of the ring mixture. */
void dlx_gan_ring_fill(const gan *c, float *x, int64_t n, uint64_t seed, uint64_t stream)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, stream);
    for (int64_t i = 0; i < n; i++) {
        double cx, cy;
        mode_center(c, dlx_rng_below(&r, (uint32_t)c->modes), &cx, &cy);
        x[2 * i] = (float)(cx + c->std * dlx_rng_normal(&r));
        x[2 * i + 1] = (float)(cy + c->std * dlx_rng_normal(&r));
    }
}

void dlx_gan_ring_score(const gan *c, const float *pts, int64_t n, dlx_results *res)
{
    int64_t *per_mode = calloc((size_t)c->modes, sizeof *per_mode), good = 0;
    if (!per_mode)
        return;
    for (int64_t i = 0; i < n; i++) {
        double best = INFINITY;
        int64_t at = 0;
        for (int64_t j = 0; j < c->modes; j++) {
            double cx, cy;
            mode_center(c, j, &cx, &cy);
            double d = hypot(pts[2 * i] - cx, pts[2 * i + 1] - cy);
            if (d < best)
                best = d, at = j;
        }
        if (best <= 3.0 * c->std) {
            good++;
            per_mode[at]++;
        }
    }
    int64_t covered = 0;
    for (int64_t j = 0; j < c->modes; j++)
        covered += 4 * per_mode[j] * c->modes >= n; /* a quarter of a fair share */
    dlx_results_set(res, "modes", (double)covered);
    dlx_results_set(res, "high_quality", (double)good / (double)n);
    free(per_mode);
}

/* samples.png: the test points (dark) over the modes' 3-std discs (red). */
static int write_samples(dlx_model *m, gan *c, dlx_err *err)
{
    enum { W = 480 };
    uint8_t *px = malloc((size_t)W * W * 3);
    if (!px)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory");
    memset(px, 255, (size_t)W * W * 3);
    const double half = 1.5 * c->radius + 4.0 * c->std, scale = (W - 1) / (2.0 * half);
    for (int64_t j = 0; j < c->modes; j++) {
        double cx, cy, rr = fmax(3.0 * c->std * scale, 3.0);
        mode_center(c, j, &cx, &cy);
        double px0 = (cx + half) * scale, py0 = (half - cy) * scale;
        for (int y = (int)(py0 - rr); y <= (int)(py0 + rr); y++)
            for (int x = (int)(px0 - rr); x <= (int)(px0 + rr); x++)
                if (x >= 0 && x < W && y >= 0 && y < W && hypot(x - px0, y - py0) <= rr) {
                    uint8_t *p = px + 3 * ((size_t)y * W + x);
                    p[0] = 255, p[1] = 190, p[2] = 190;
                }
    }
    /* (the points of the evaluation after the last step: it always runs) */
    const float *pts = c->eval_out->out.data;
    for (int64_t i = 0; i < c->test_samples; i++) {
        int x = (int)lround((pts[2 * i] + half) * scale), y = (int)lround((half - pts[2 * i + 1]) * scale);
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++)
                if (x + dx >= 0 && x + dx < W && y + dy >= 0 && y + dy < W)
                    memset(px + 3 * ((size_t)(y + dy) * W + x + dx), 30, 3);
    }
    char path[DLX_RUNDIR_MAX + 32];
    int rc = dlx_path_join(path, sizeof path, m->run_dir, "samples.png", err);
    if (!rc) rc = dlx_png_write(path, px, W, W, 3, err);
    free(px);
    if (!rc)
        dlx_run_info(m, "wrote %s (%lld generated points over the %lld modes)", path, (long long)c->test_samples,
                     (long long)c->modes);
    return rc;
}

/* samples.dat, modes.dat and samples.gp: the same picture with labelled
 * axes and a legend, which the CLI renders over samples.png when gnuplot
 * is installed. */
static int write_samples_plot(dlx_model *m, gan *c, dlx_err *err)
{
    char dat[DLX_RUNDIR_MAX + 32], modes[DLX_RUNDIR_MAX + 32];
    int rc = dlx_path_join(dat, sizeof dat, m->run_dir, "samples.dat", err);
    if (!rc) rc = dlx_path_join(modes, sizeof modes, m->run_dir, "modes.dat", err);
    if (!rc) rc = dlx_path_join(m->figure_script, sizeof m->figure_script, m->run_dir, "samples.gp", err);
    if (!rc) rc = dlx_path_join(m->figure_png, sizeof m->figure_png, m->run_dir, "samples.png", err);
    if (rc)
        return rc;
    if (strchr(m->run_dir, '\'') || strchr(m->run_dir, '\n')) { /* it goes between quotes in the script */
        m->figure_script[0] = '\0';
        return 0;
    }
    FILE *fd = fopen(dat, "w"), *fm = fopen(modes, "w"), *fs = fopen(m->figure_script, "w");
    if (fd)
        for (int64_t i = 0; i < c->test_samples; i++)
            fprintf(fd, "%.6g %.6g\n", c->eval_out->out.data[2 * i], c->eval_out->out.data[2 * i + 1]);
    if (fm)
        for (int64_t j = 0; j < c->modes; j++) {
            double cx, cy;
            mode_center(c, j, &cx, &cy);
            fprintf(fm, "%.6g %.6g %.6g\n", cx, cy, 3.0 * c->std);
        }
    double mo = 0, hq = 0, half = 1.5 * c->radius + 4.0 * c->std;
    dlx_results_get(&m->results, "modes", &mo);
    dlx_results_get(&m->results, "high_quality", &hq);
    if (fs)
        fprintf(fs,
                "set terminal pngcairo size 640,640 noenhanced font 'sans,10'\nset output '%s'\n"
                "set title 'GAN samples at step %lld: %g of %lld modes covered, %.1f %% within 3 std of a mode'\n"
                "set xlabel 'x1'\nset ylabel 'x2'\nset size square\nset key top right opaque\nset grid\n"
                "set xrange [%g:%g]\nset yrange [%g:%g]\n"
                "plot '%s' using 1:2:3 with circles lc rgb '#d03030' fill solid 0.5 noborder "
                "title 'modes (discs of 3 std)', '%s' using 1:2 with points pt 7 ps 0.25 lc rgb '#202020' "
                "title 'generated (%lld points)'\n",
                m->figure_png, (long long)m->step, mo, (long long)c->modes, 100.0 * hq, -half, half, -half, half, modes,
                dat, (long long)c->test_samples);
    bool ok = fd && fm && fs;
    if (fd && fclose(fd) != 0) ok = false;
    if (fm && fclose(fm) != 0) ok = false;
    if (fs && fclose(fs) != 0) ok = false;
    if (!ok) {
        m->figure_script[0] = '\0';
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(m->figure_script), "cannot write the samples plot's files");
    }
    return 0;
}

int dlx_gan_ring_finish(dlx_model *m, gan *c, dlx_err *err)
{
    int rc = write_samples(m, c, err);
    if (!rc) rc = write_samples_plot(m, c, err);
    return rc;
}
