/* core/augment.h against naive references: the identity warp, integer
 * shifts and quarter turns give exact permutations of the pixels, a general
 * warp matches a double-precision bilinear resampling through the inverse
 * of the forward map, the Gaussian smoothing matches a direct 2-D
 * convolution, and the per-sample parameters are a pure function of (seed,
 * epoch, sample) within their ranges. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/augment.h"
#include "../core/rng.h"

static void random_plane(float *x, int n, uint64_t seed)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, 99);
    for (int i = 0; i < n; i++)
        x[i] = dlx_rng_uniform(&r) * 2.0f - 0.5f;
}

START_TEST(identity_is_exact)
{
    enum { H = 5, W = 7 };
    float src[H * W], dst[H * W];
    random_plane(src, H * W, 1);
    dlx_warp wp = dlx_warp_make(0.0, 0.0, 0.0, 1.0);
    dlx_warp_bilinear(src, H, W, &wp, NULL, NULL, -3.0f, dst);
    ck_assert(memcmp(src, dst, sizeof src) == 0);
    float zero[H * W] = {0};
    dlx_warp_bilinear(src, H, W, &wp, zero, zero, -3.0f, dst); /* a zero displacement field too */
    ck_assert(memcmp(src, dst, sizeof src) == 0);
}
END_TEST

/* A shift by (tx, ty) whole pixels: dst(r, c) = src(r - ty, c - tx), the fill outside. */
START_TEST(integer_shift_moves_pixels)
{
    enum { H = 6, W = 5 };
    float src[H * W], dst[H * W];
    random_plane(src, H * W, 2);
    const int shifts[][2] = {{2, -1}, {-3, 0}, {0, 4}, {1, 1}};
    for (int k = 0; k < 4; k++) {
        int tx = shifts[k][0], ty = shifts[k][1];
        dlx_warp wp = dlx_warp_make(tx, ty, 0.0, 1.0);
        dlx_warp_bilinear(src, H, W, &wp, NULL, NULL, 7.0f, dst);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                int sr = r - ty, sc = c - tx;
                float want = sr >= 0 && sr < H && sc >= 0 && sc < W ? src[sr * W + sc] : 7.0f;
                ck_assert_msg(dst[r * W + c] == want, "shift (%d, %d) at (%d, %d): %g, want %g", tx, ty, r, c,
                              dst[r * W + c], want);
            }
    }
}
END_TEST

/* Counterclockwise quarter turns as numpy's rot90: dst[r][c] = src[c][n-1-r]. */
START_TEST(quarter_turns_permute)
{
    for (int n = 3; n <= 6; n++) {
        float src[36], dst[36], want[36];
        random_plane(src, n * n, (uint64_t)n);
        for (int turns = 1; turns <= 3; turns++) {
            memcpy(want, src, sizeof want);
            for (int t = 0; t < turns; t++) {
                float tmp[36];
                for (int r = 0; r < n; r++)
                    for (int c = 0; c < n; c++)
                        tmp[r * n + c] = want[c * n + (n - 1 - r)];
                memcpy(want, tmp, sizeof tmp);
            }
            dlx_warp wp = dlx_warp_make(0.0, 0.0, 90.0 * turns, 1.0);
            dlx_warp_bilinear(src, n, n, &wp, NULL, NULL, 0.0f, dst);
            for (int i = 0; i < n * n; i++)
                ck_assert_msg(dst[i] == want[i], "n %d, %d quarter turns, pixel %d: %g, want %g", n, turns, i, dst[i],
                              want[i]);
        }
    }
}
END_TEST

/* Half a pixel to the right: each pixel the mean of its neighbours. */
START_TEST(half_pixel_shift_averages)
{
    enum { H = 2, W = 4 };
    const float src[H * W] = {0, 1, 3, 7, 2, 2, 4, 8};
    float dst[H * W];
    dlx_warp wp = dlx_warp_make(0.5, 0.0, 0.0, 1.0);
    dlx_warp_bilinear(src, H, W, &wp, NULL, NULL, -2.0f, dst);
    const float want[H * W] = {-1, 0.5f, 2, 5, 0, 2, 3, 6};
    for (int i = 0; i < H * W; i++)
        ck_assert_msg(fabsf(dst[i] - want[i]) < 1e-6f, "pixel %d: %g, want %g", i, dst[i], want[i]);
}
END_TEST

/* The naive reference: the forward map p' = s R p + t (R the
 * counterclockwise turn as displayed, y down) inverted by the 2x2 formula,
 * then bilinear in double with `fill` outside. */
static double ref_pixel(const float *src, int h, int w, double y, double x, double fill)
{
    int x0 = (int)floor(x), y0 = (int)floor(y);
    double fx = x - x0, fy = y - y0, v = 0.0;
    for (int dy = 0; dy <= 1; dy++)
        for (int dx = 0; dx <= 1; dx++) {
            int yy = y0 + dy, xx = x0 + dx;
            double p = yy >= 0 && yy < h && xx >= 0 && xx < w ? src[yy * w + xx] : fill;
            v += p * (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
        }
    return v;
}

START_TEST(general_warp_matches_reference)
{
    enum { H = 9, W = 11 };
    float src[H * W], dst[H * W], dx[H * W], dy[H * W];
    random_plane(src, H * W, 3);
    dlx_rng g;
    dlx_rng_init(&g, 5, 7);
    for (int trial = 0; trial < 20; trial++) {
        double tx = 4 * dlx_rng_uniform(&g) - 2, ty = 4 * dlx_rng_uniform(&g) - 2;
        double deg = 60 * dlx_rng_uniform(&g) - 30, s = 0.7 + 0.6 * dlx_rng_uniform(&g);
        bool field = trial % 2;
        for (int i = 0; i < H * W; i++) {
            dx[i] = 2 * dlx_rng_uniform(&g) - 1;
            dy[i] = 2 * dlx_rng_uniform(&g) - 1;
        }
        dlx_warp wp = dlx_warp_make(tx, ty, deg, s);
        dlx_warp_bilinear(src, H, W, &wp, field ? dx : NULL, field ? dy : NULL, -0.25f, dst);
        double th = deg * M_PI / 180.0;
        double a = s * cos(th), b = s * sin(th), c = -s * sin(th), d = s * cos(th); /* [[a, b], [c, d]] */
        double det = a * d - b * c, cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
        for (int r = 0; r < H; r++)
            for (int col = 0; col < W; col++) {
                double u = col - cx - tx, v = r - cy - ty;
                double sx = cx + (d * u - b * v) / det, sy = cy + (-c * u + a * v) / det;
                if (field) {
                    sx += dx[r * W + col];
                    sy += dy[r * W + col];
                }
                double want = ref_pixel(src, H, W, sy, sx, -0.25);
                ck_assert_msg(fabs(dst[r * W + col] - want) < 2e-5, "trial %d (%d, %d): %g, want %g", trial, r, col,
                              dst[r * W + col], want);
            }
    }
}
END_TEST

/* Separable smoothing == the direct 2-D convolution with the normalised
 * Gaussian (radius ceil(4 sigma), zero outside), times alpha. */
START_TEST(smoothing_matches_direct_convolution)
{
    enum { H = 13, W = 10 };
    const double sigmas[] = {0.7, 1.5, 4.0};
    for (int k = 0; k < 3; k++) {
        double sigma = sigmas[k], alpha = 3.5;
        float f[H * W], orig[H * W], tmp[H * W];
        random_plane(orig, H * W, 10 + (uint64_t)k);
        memcpy(f, orig, sizeof f);
        dlx_gauss_smooth(f, H, W, sigma, alpha, tmp);
        int rad = (int)ceil(4 * sigma);
        double z = 0.0;
        for (int i = -rad; i <= rad; i++)
            z += exp(-0.5 * i * i / (sigma * sigma));
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                double want = 0.0;
                for (int i = -rad; i <= rad; i++)
                    for (int j = -rad; j <= rad; j++)
                        if (r + i >= 0 && r + i < H && c + j >= 0 && c + j < W)
                            want += orig[(r + i) * W + c + j] * exp(-0.5 * (i * i + j * j) / (sigma * sigma)) / (z * z);
                want *= alpha;
                ck_assert_msg(fabs(f[r * W + c] - want) < 1e-5, "sigma %g (%d, %d): %g, want %g", sigma, r, c,
                              f[r * W + c], want);
            }
    }
}
END_TEST

START_TEST(sample_params_pure_and_in_range)
{
    const dlx_augment a = {.shift = 2.0, .rotate = 15.0, .scale = 0.1};
    double lo[4] = {1e9, 1e9, 1e9, 1e9}, hi[4] = {-1e9, -1e9, -1e9, -1e9};
    for (uint32_t i = 0; i < 2000; i++) {
        double p[4], q[4];
        dlx_augment_params(&a, 3, 4, i, &p[0], &p[1], &p[2], &p[3]);
        dlx_augment_params(&a, 3, 4, i, &q[0], &q[1], &q[2], &q[3]);
        ck_assert(memcmp(p, q, sizeof p) == 0);
        for (int j = 0; j < 4; j++) {
            lo[j] = fmin(lo[j], p[j]);
            hi[j] = fmax(hi[j], p[j]);
        }
    }
    const double want_lo[4] = {-2, -2, -15, 0.9}, want_hi[4] = {2, 2, 15, 1.1};
    for (int j = 0; j < 4; j++) { /* within the range, and close to both ends over 2000 draws */
        ck_assert(lo[j] >= want_lo[j] && hi[j] <= want_hi[j]);
        double span = want_hi[j] - want_lo[j];
        ck_assert(lo[j] < want_lo[j] + 0.01 * span && hi[j] > want_hi[j] - 0.01 * span);
    }
    double p[4], q[4];
    dlx_augment_params(&a, 3, 4, 17, &p[0], &p[1], &p[2], &p[3]);
    dlx_augment_params(&a, 3, 5, 17, &q[0], &q[1], &q[2], &q[3]);
    ck_assert(p[0] != q[0] && p[2] != q[2]); /* another epoch, another warp */
}
END_TEST

/* The whole distortion of a sample: the same bits for the same (seed,
 * epoch, sample), different for another sample; elastic alone moves pixels
 * and keeps a constant image constant away from the border. */
START_TEST(sample_is_pure)
{
    enum { C = 2, H = 12, W = 12 };
    const dlx_augment a = {.shift = 1.5, .rotate = 10.0, .scale = 0.1, .alpha = 8.0, .sigma = 3.0};
    float x0[C * H * W], x1[C * H * W], x2[C * H * W], scratch[4 * H * W];
    random_plane(x0, C * H * W, 4);
    memcpy(x1, x0, sizeof x0);
    memcpy(x2, x0, sizeof x0);
    dlx_augment_sample(&a, 9, 2, 31, C, H, W, 0.0f, x1, scratch);
    memset(scratch, 0x7f, sizeof scratch); /* nothing of the last call's scratch is read */
    dlx_augment_sample(&a, 9, 2, 31, C, H, W, 0.0f, x2, scratch);
    ck_assert(memcmp(x1, x2, sizeof x1) == 0);
    ck_assert(memcmp(x1, x0, sizeof x1) != 0);
    memcpy(x2, x0, sizeof x0);
    dlx_augment_sample(&a, 9, 2, 32, C, H, W, 0.0f, x2, scratch);
    ck_assert(memcmp(x1, x2, sizeof x1) != 0);
    const dlx_augment e = {.alpha = 1.0, .sigma = 2.0};
    float flat[H * W];
    for (int i = 0; i < H * W; i++)
        flat[i] = 0.75f;
    dlx_augment_sample(&e, 1, 0, 0, 1, H, W, 0.75f, flat, scratch);
    for (int i = 0; i < H * W; i++)
        ck_assert(fabsf(flat[i] - 0.75f) < 1e-6f);
}
END_TEST

Suite *augment_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, identity_is_exact);
    tcase_add_test(tc, integer_shift_moves_pixels);
    tcase_add_test(tc, quarter_turns_permute);
    tcase_add_test(tc, half_pixel_shift_averages);
    tcase_add_test(tc, general_warp_matches_reference);
    tcase_add_test(tc, smoothing_matches_direct_convolution);
    tcase_add_test(tc, sample_params_pure_and_in_range);
    tcase_add_test(tc, sample_is_pure);
    suite_add_tcase(s, tc);
    return s;
}
