/* MNIST on the sphere (contract in sphere.h). */
#include "sphere.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

void dlx_sphere_points(int points, double *xyz)
{
    const double golden = M_PI * (3.0 - sqrt(5.0));
    for (int i = 0; i < points; i++) {
        double z = 1.0 - (2.0 * i + 1.0) / points, r = sqrt(1.0 - z * z), phi = golden * i;
        xyz[3 * i] = r * cos(phi);
        xyz[3 * i + 1] = r * sin(phi);
        xyz[3 * i + 2] = z;
    }
}

/* The rotation of the unit quaternion (w, x, y, z). */
static void from_quaternion(double w, double x, double y, double z, double *r)
{
    r[0] = 1 - 2 * (y * y + z * z), r[1] = 2 * (x * y - w * z), r[2] = 2 * (x * z + w * y);
    r[3] = 2 * (x * y + w * z), r[4] = 1 - 2 * (x * x + z * z), r[5] = 2 * (y * z - w * x);
    r[6] = 2 * (x * z - w * y), r[7] = 2 * (y * z + w * x), r[8] = 1 - 2 * (x * x + y * y);
}

void dlx_sphere_rotation_of(const dlx_sphere_opts *o, const char *split, int64_t index, double *r)
{
    dlx_rng g;
    dlx_rng_init(&g, o->seed, DLX_STREAM_SPHERE + ((uint64_t)(strcmp(split, "train") != 0) << 8));
    g.counter = (uint64_t)index << 4; /* 16 blocks per sample */
    if (o->rotation == DLX_SPHERE_FULL) { /* Shoemake's uniform quaternion */
        double u1 = dlx_rng_uniform(&g), u2 = 2 * M_PI * dlx_rng_uniform(&g), u3 = 2 * M_PI * dlx_rng_uniform(&g);
        from_quaternion(sqrt(u1) * cos(u3), sqrt(1 - u1) * sin(u2), sqrt(1 - u1) * cos(u2), sqrt(u1) * sin(u3), r);
    } else if (o->rotation == DLX_SPHERE_PARTIAL) {
        double a[3], n = 0.0;
        for (int k = 0; k < 3; k++) {
            a[k] = dlx_rng_normal(&g);
            n += a[k] * a[k];
        }
        n = n > 0.0 ? sqrt(n) : 1.0;
        double half = 0.5 * dlx_rng_uniform(&g) * o->angle_deg * M_PI / 180.0, s = sin(half) / n;
        from_quaternion(cos(half), a[0] * s, a[1] * s, a[2] * s, r);
    } else {
        from_quaternion(1.0, 0.0, 0.0, 0.0, r);
    }
}

/* Bilinear value of the h x w image at (col, row), 0 outside. */
static double sample(const uint8_t *img, int h, int w, double col, double row)
{
    double c0 = floor(col), r0 = floor(row), fc = col - c0, fr = row - r0, v = 0.0;
    for (int dr = 0; dr < 2; dr++)
        for (int dc = 0; dc < 2; dc++) {
            int rr = (int)r0 + dr, cc = (int)c0 + dc;
            if (rr >= 0 && rr < h && cc >= 0 && cc < w)
                v += (dr ? fr : 1 - fr) * (dc ? fc : 1 - fc) * img[rr * w + cc];
        }
    return v;
}

int dlx_sphere_dataset(dlx_dataset *d, const dlx_sphere_opts *o, const double *xyz, dlx_err *err)
{
    const int P = o->points, h = d->h, w = d->w;
    const size_t sample_px = (size_t)d->c * h * w;
    int64_t kept = 0;
    for (int64_t i = 0; i < d->n; i++)
        kept += d->labels[i] != 9;
    uint8_t *img = malloc((size_t)(kept ? kept : 1) * (size_t)P), *lab = malloc((size_t)(kept ? kept : 1));
    if (!img || !lab) {
        free(img);
        free(lab);
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory projecting %s:%s onto the sphere", d->name,
                            d->split);
    }
    const double t = tan(0.5 * o->field_deg * M_PI / 180.0);
    int64_t k = 0;
    for (int64_t i = 0; i < d->n; i++) {
        if (d->labels[i] == 9)
            continue;
        double r[9];
        dlx_sphere_rotation_of(o, d->split, i, r);
        const uint8_t *src = d->images + (size_t)i * sample_px;
        for (int j = 0; j < P; j++) {
            const double *p = xyz + 3 * j;
            /* u = R^T p: the point in the digit's frame */
            double ux = r[0] * p[0] + r[3] * p[1] + r[6] * p[2], uy = r[1] * p[0] + r[4] * p[1] + r[7] * p[2];
            double uz = r[2] * p[0] + r[5] * p[1] + r[8] * p[2], v = 0.0;
            if (uz > 1e-9) {
                double X = ux / uz / t, Y = uy / uz / t; /* [-1, 1] spans the image */
                v = sample(src, h, w, 0.5 * (X + 1.0) * w - 0.5, 0.5 * (Y + 1.0) * h - 0.5);
            }
            img[(size_t)k * P + j] = (uint8_t)(v + 0.5);
        }
        lab[k++] = d->labels[i];
    }
    if (!d->borrowed) {
        free(d->images);
        free(d->labels);
    }
    d->borrowed = false;
    d->images = img;
    d->labels = lab;
    d->n = kept;
    d->c = 1;
    d->h = 1;
    d->w = P;
    d->num_classes = 9;
    return 0;
}
