#include "augment.h"

#include <math.h>
#include <string.h>

#include "rng.h"

bool dlx_augment_on(const dlx_augment *a)
{
    return a->shift > 0.0 || a->rotate > 0.0 || a->scale > 0.0 || a->alpha > 0.0;
}

dlx_warp dlx_warp_make(double tx, double ty, double degrees, double s)
{
    /* The image turned counterclockwise (as displayed, y down) by theta and
     * scaled by s moves offset p to s F p, F = [[c, s_], [-s_, c]]; the
     * output then reads the input at F^-1 (p - t) / s. Right angles are
     * snapped so that a quarter turn is an exact permutation. */
    double th = degrees * (M_PI / 180.0), co = cos(th), si = sin(th);
    if (fmod(degrees, 90.0) == 0.0) {
        co = round(co);
        si = round(si);
    }
    dlx_warp w;
    w.m[0][0] = co / s;
    w.m[0][1] = -si / s;
    w.m[1][0] = si / s;
    w.m[1][1] = co / s;
    w.b[0] = -(w.m[0][0] * tx + w.m[0][1] * ty);
    w.b[1] = -(w.m[1][0] * tx + w.m[1][1] * ty);
    return w;
}

static inline float pixel(const float *src, int h, int w, int64_t y, int64_t x, float fill)
{
    return y >= 0 && y < h && x >= 0 && x < w ? src[y * w + x] : fill;
}

void dlx_warp_bilinear(const float *src, int h, int w, const dlx_warp *wp, const float *dx, const float *dy,
                       float fill, float *dst)
{
    const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
    for (int r = 0; r < h; r++) {
        const double oy = r - cy;
        for (int c = 0; c < w; c++) {
            const double ox = c - cx;
            double sx = cx + (wp->m[0][0] * ox + wp->m[0][1] * oy + wp->b[0]);
            double sy = cy + (wp->m[1][0] * ox + wp->m[1][1] * oy + wp->b[1]);
            if (dx) {
                sx += dx[(int64_t)r * w + c];
                sy += dy[(int64_t)r * w + c];
            }
            float *out = dst + (int64_t)r * w + c;
            if (!(sx > -1.0 && sx < w && sy > -1.0 && sy < h)) { /* no neighbour inside (NaN too) */
                *out = fill;
                continue;
            }
            double fx0 = floor(sx), fy0 = floor(sy);
            int64_t x0 = (int64_t)fx0, y0 = (int64_t)fy0;
            float fx = (float)(sx - fx0), fy = (float)(sy - fy0);
            float top = (1.0f - fx) * pixel(src, h, w, y0, x0, fill) + fx * pixel(src, h, w, y0, x0 + 1, fill);
            float bot = (1.0f - fx) * pixel(src, h, w, y0 + 1, x0, fill) + fx * pixel(src, h, w, y0 + 1, x0 + 1, fill);
            *out = (1.0f - fy) * top + fy * bot;
        }
    }
}

void dlx_gauss_smooth(float *field, int h, int w, double sigma, double alpha, float *tmp)
{
    enum { RMAX = (int)(4 * DLX_AUGMENT_SIGMA_MAX) + 1 };
    int rad = (int)ceil(4.0 * sigma);
    if (rad > RMAX)
        rad = RMAX;
    float k[2 * RMAX + 1];
    double sum = 0.0;
    for (int i = -rad; i <= rad; i++)
        sum += exp(-0.5 * (double)i * i / (sigma * sigma));
    for (int i = -rad; i <= rad; i++)
        k[i + rad] = (float)(exp(-0.5 * (double)i * i / (sigma * sigma)) / sum);
    /* tap by tap over the pixels it reaches inside the plane: no test per
     * tap, and loops over contiguous floats that vectorise */
    for (int r = 0; r < h; r++) { /* along rows into tmp */
        const float *src = field + (int64_t)r * w;
        float *dst = tmp + (int64_t)r * w;
        for (int c = 0; c < w; c++)
            dst[c] = 0.0f;
        for (int i = -rad; i <= rad; i++) {
            const float ki = k[i + rad];
            for (int c = i < 0 ? -i : 0; c < (i > 0 ? w - i : w); c++)
                dst[c] += ki * src[c + i];
        }
    }
    const float a = (float)alpha;
    for (int r = 0; r < h; r++) { /* along columns back, a whole row at a time, scaled */
        float *dst = field + (int64_t)r * w;
        int lo = r - rad < 0 ? -r : -rad, hi = r + rad >= h ? h - 1 - r : rad;
        for (int c = 0; c < w; c++)
            dst[c] = 0.0f;
        for (int i = lo; i <= hi; i++) {
            const float ki = k[i + rad], *src = tmp + (int64_t)(r + i) * w;
            for (int c = 0; c < w; c++)
                dst[c] += ki * src[c];
        }
        for (int c = 0; c < w; c++)
            dst[c] *= a;
    }
}

size_t dlx_augment_scratch_floats(int h, int w)
{
    return 4 * (size_t)h * (size_t)w; /* a plane's copy, dx, dy, the smoothing's pass */
}

static double uniform(uint32_t u) { return (double)(u >> 8) * (1.0 / 16777216.0); }

static uint64_t augment_stream(int64_t epoch) { return DLX_STREAM_AUGMENT + ((uint64_t)epoch << 8); }

void dlx_augment_params(const dlx_augment *a, uint64_t seed, int64_t epoch, uint32_t sample, double *tx, double *ty,
                        double *degrees, double *s)
{
    uint32_t b[4];
    dlx_philox(seed, augment_stream(epoch), (uint64_t)sample << 32, b);
    *tx = a->shift * (2.0 * uniform(b[0]) - 1.0);
    *ty = a->shift * (2.0 * uniform(b[1]) - 1.0);
    *degrees = a->rotate * (2.0 * uniform(b[2]) - 1.0);
    *s = 1.0 + a->scale * (2.0 * uniform(b[3]) - 1.0);
}

/* The raw field: uniform in [-1, 1], dx then dy, 4 values per block after
 * the sample's affine block. */
static void elastic_raw(uint64_t seed, int64_t epoch, uint32_t sample, int64_t px, float *dx, float *dy)
{
    uint64_t base = ((uint64_t)sample << 32) + 1;
    for (int64_t i = 0; i < 2 * px; i += 4) {
        uint32_t b[4];
        dlx_philox(seed, augment_stream(epoch), base + (uint64_t)(i / 4), b);
        for (int j = 0; j < 4 && i + j < 2 * px; j++) {
            float v = (float)(2.0 * uniform(b[j]) - 1.0);
            if (i + j < px)
                dx[i + j] = v;
            else
                dy[i + j - px] = v;
        }
    }
}

void dlx_augment_sample(const dlx_augment *a, uint64_t seed, int64_t epoch, uint32_t sample, int c, int h, int w,
                        float fill, float *x, float *scratch)
{
    int64_t px = (int64_t)h * w;
    float *copy = scratch, *dx = NULL, *dy = NULL;
    double tx, ty, deg, s;
    dlx_augment_params(a, seed, epoch, sample, &tx, &ty, &deg, &s);
    dlx_warp wp = dlx_warp_make(tx, ty, deg, s);
    if (a->alpha > 0.0) {
        dx = scratch + px;
        dy = scratch + 2 * px;
        elastic_raw(seed, epoch, sample, px, dx, dy);
        dlx_gauss_smooth(dx, h, w, a->sigma, a->alpha, scratch + 3 * px);
        dlx_gauss_smooth(dy, h, w, a->sigma, a->alpha, scratch + 3 * px);
    }
    for (int ch = 0; ch < c; ch++) {
        float *plane = x + ch * px;
        memcpy(copy, plane, (size_t)px * sizeof *copy);
        dlx_warp_bilinear(copy, h, w, &wp, dx, dy, fill, plane);
    }
}
