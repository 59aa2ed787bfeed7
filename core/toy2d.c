/* Toy 2-D data sources (core/toy2d.h): each point from its own Philox block,
 * so a point depends on (seed, stream, index) alone. */
#include "toy2d.h"

#include <math.h>
#include <string.h>

#include "rng.h"

const char *const dlx_toy_names[] = {"toy_parabola", "toy_spiral", "toy_ring", "toy_gaussians", NULL};

int dlx_toy_find(const char *name)
{
    for (int k = 0; name && dlx_toy_names[k]; k++)
        if (!strcmp(name, dlx_toy_names[k]))
            return k;
    return -1;
}

void dlx_toy_box(dlx_toy_kind kind, double box[4])
{
    static const double k_boxes[DLX_TOY_COUNT][4] = {
        {-1.5, 1.5, -0.5, 1.5}, /* parabola: y2 in [0, 1] */
        {-1.5, 1.5, -1.5, 1.5},
        {-1.5, 1.5, -1.5, 1.5},
        {-1.5, 1.5, -1.5, 1.5},
    };
    memcpy(box, k_boxes[kind < DLX_TOY_COUNT ? kind : 0], 4 * sizeof *box);
}

/* 24-bit uniforms in [0, 1) and a Box-Muller pair from one 128-bit block. */
static double unit(uint32_t u) { return (double)(u >> 8) * (1.0 / 16777216.0); }

static void normal_pair(const uint32_t b[4], double *z0, double *z1)
{
    double u1 = 1.0 - unit(b[2]), u2 = unit(b[3]); /* u1 in (0, 1]: log is finite */
    double r = sqrt(-2.0 * log(u1));
    *z0 = r * cos(2.0 * M_PI * u2);
    *z1 = r * sin(2.0 * M_PI * u2);
}

void dlx_toy_fill(dlx_toy_kind kind, double noise, uint64_t seed, uint64_t stream, int64_t first, int64_t n,
                  float *xy)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t b[4];
        dlx_philox(seed, stream, (uint64_t)(first + i), b);
        double t = unit(b[0]), x = 0.0, y = 0.0, z0, z1;
        normal_pair(b, &z0, &z1);
        switch (kind) {
        case DLX_TOY_SPIRAL: {
            double r = 0.15 + t, a = 3.0 * M_PI * t;
            x = r * cos(a), y = r * sin(a);
            break;
        }
        case DLX_TOY_RING:
            x = cos(2.0 * M_PI * t), y = sin(2.0 * M_PI * t);
            break;
        case DLX_TOY_GAUSSIANS: {
            int c = (int)(b[1] & 3u);
            x = (c & 1 ? 0.7 : -0.7) + 0.12 * z0;
            y = (c & 2 ? 0.7 : -0.7) + 0.12 * z1;
            dlx_philox(seed, stream ^ 0x5a5a5a5aull, (uint64_t)(first + i), b); /* fresh noise for `noise` */
            normal_pair(b, &z0, &z1);
            break;
        }
        default: /* parabola */
            x = 2.0 * t - 1.0, y = x * x;
            break;
        }
        xy[2 * i] = (float)(x + noise * z0);
        xy[2 * i + 1] = (float)(y + noise * z1);
    }
}

void dlx_toy_uniform(const double box[4], uint64_t seed, uint64_t stream, int64_t first, int64_t n, float *xy)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t b[4];
        dlx_philox(seed, stream, (uint64_t)(first + i), b);
        xy[2 * i] = (float)(box[0] + (box[1] - box[0]) * unit(b[0]));
        xy[2 * i + 1] = (float)(box[2] + (box[3] - box[2]) * unit(b[1]));
    }
}
