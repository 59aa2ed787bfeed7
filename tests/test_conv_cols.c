/* core/ops/conv_cols.[ch], the receptive-field columns of conv2d and
 * conv_transpose2d: im2col equals its definition exactly and writes nothing
 * outside its columns of a wider matrix (row stride ld > L); col2im adds in
 * the definition's order (the same bits); the stride-2 vector path over rows
 * longer than one vector. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ops/conv_cols.h"
#include "../core/rng.h"

typedef struct cols_case {
    int C, H, W, KH, KW, SH, SW, PH, PW;
} cols_case;

static const cols_case k_cases[] = {
    {2, 6, 7, 3, 3, 1, 1, 1, 1},          /* stride 1, the scalar path */
    {3, 32, 32, 4, 4, 2, 2, 1, 1},        /* DCGAN's first conv: 16 columns a row */
    {1, 9, 75, 3, 4, 2, 2, 0, 1},         /* stride 2, rows of 37 columns: three vector steps */
    {2, 8, 70, 2, 5, 1, 2, 3, 2},         /* padding beyond the kernel's reach: empty rows and edges */
    {2, 7, 11, 3, 2, 3, 3, 1, 1},         /* stride 3, the scalar path */
    {1, 5, 34, 5, 1, 2, 2, 2, 0},         /* kernel 5x1 */
    {2, 9, 13, 3, 5, 2, 2, 1, 2},         /* stride 2, rows of at most 32: col2im row by row */
    {2, 6, 31, 2, 8, 2, 2, 0, 3},         /* the same with 8 kernel columns, odd row length */
    {4, 16, 16, 4, 4, 2, 2, 1, 1},        /* DCGAN's second conv: rows of 16, 8 columns (AVX2 rows) */
    {4, 8, 8, 4, 4, 2, 2, 1, 1},          /* its third: rows of 8, 4 columns */
    {2, 24, 24, 3, 3, 2, 2, 1, 1},        /* rows of 24, 12 columns */
    {2, 16, 16, 5, 5, 2, 2, 2, 2},        /* offsets -2 to 2 */
    {1, 10, 16, 3, 8, 2, 2, 1, 7},        /* offsets -7 to 0: shifts of up to 4 lanes, 12 columns */
};

static dlx_conv_cols geom_of(const cols_case *k)
{
    dlx_conv_cols g = {k->C, k->H, k->W, k->KH, k->KW, k->SH, k->SW, k->PH, k->PW, 0, 0};
    g.OH = (k->H + 2 * k->PH - k->KH) / k->SH + 1;
    g.OW = (k->W + 2 * k->PW - k->KW) / k->SW + 1;
    return g;
}

static void fill(float *x, size_t n, uint64_t seed)
{
    dlx_rng r;
    dlx_rng_init(&r, seed, DLX_STREAM_USER);
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * dlx_rng_uniform(&r) - 1.0f;
}

/* img value read by row (c, p, q), column (i, j), 0 outside the image */
static float field(const dlx_conv_cols *g, const float *img, int c, int p, int q, int i, int j)
{
    int h = i * g->SH - g->PH + p, w = j * g->SW - g->PW + q;
    return h >= 0 && h < g->H && w >= 0 && w < g->W ? img[((size_t)c * g->H + h) * g->W + w] : 0.0f;
}

/* Two images at columns 0 and L of a matrix with rows ld = 2 L + 5 apart. */
START_TEST(test_im2col_definition)
{
    cols_case k = k_cases[_i];
    dlx_conv_cols g = geom_of(&k);
    const size_t L = (size_t)g.OH * g.OW, rows = (size_t)g.C * g.KH * g.KW, ld = 2 * L + 5;
    const size_t isz = (size_t)g.C * g.H * g.W;
    float *img = malloc(2 * isz * sizeof *img), *col = malloc(rows * ld * sizeof *col);
    ck_assert(img && col);
    fill(img, 2 * isz, 7 + (uint64_t)_i);
    for (size_t t = 0; t < rows * ld; t++)
        col[t] = NAN; /* every column of both images must be written, the gap never */
    for (int n = 0; n < 2; n++)
        dlx_conv_im2col(&g, img + n * isz, col + n * L, ld);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < g.C; c++)
            for (int p = 0; p < g.KH; p++)
                for (int q = 0; q < g.KW; q++)
                    for (int i = 0; i < g.OH; i++)
                        for (int j = 0; j < g.OW; j++) {
                            size_t r = ((size_t)c * g.KH + p) * g.KW + q;
                            float got = col[r * ld + n * L + (size_t)i * g.OW + j];
                            float want = field(&g, img + n * isz, c, p, q, i, j);
                            ck_assert_msg(got == want, "case %d image %d row %zu (%d, %d): %g, expected %g", _i, n,
                                          r, i, j, (double)got, (double)want);
                        }
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 2 * L; t < ld; t++)
            ck_assert_msg(isnan(col[r * ld + t]), "case %d: row %zu column %zu beyond the images written", _i, r, t);
    free(img);
    free(col);
}
END_TEST

/* col2im adds every entry in the order of the definition's loops: the same
 * floats as the naive scatter, bit for bit (the stride-2 vector path too). */
START_TEST(test_col2im_definition)
{
    cols_case k = k_cases[_i];
    dlx_conv_cols g = geom_of(&k);
    const size_t L = (size_t)g.OH * g.OW, rows = (size_t)g.C * g.KH * g.KW, ld = L + 3;
    const size_t isz = (size_t)g.C * g.H * g.W;
    float *col = malloc(rows * ld * sizeof *col), *got = malloc(isz * sizeof *got), *want = malloc(isz * sizeof *want);
    ck_assert(col && got && want);
    fill(col, rows * ld, 40 + (uint64_t)_i);
    fill(got, isz, 80 + (uint64_t)_i);
    memcpy(want, got, isz * sizeof *got);
    dlx_conv_col2im(&g, col, ld, got);
    for (int c = 0; c < g.C; c++)
        for (int p = 0; p < g.KH; p++)
            for (int q = 0; q < g.KW; q++)
                for (int i = 0; i < g.OH; i++)
                    for (int j = 0; j < g.OW; j++) {
                        int h = i * g.SH - g.PH + p, w = j * g.SW - g.PW + q;
                        if (h >= 0 && h < g.H && w >= 0 && w < g.W)
                            want[((size_t)c * g.H + h) * g.W + w] +=
                                col[(((size_t)c * g.KH + p) * g.KW + q) * ld + (size_t)i * g.OW + j];
                    }
    for (size_t t = 0; t < isz; t++)
        ck_assert_msg(memcmp(&got[t], &want[t], sizeof(float)) == 0, "case %d: element %zu: %.9g, expected %.9g", _i,
                      t, (double)got[t], (double)want[t]);
    free(col);
    free(got);
    free(want);
}
END_TEST

Suite *conv_cols_suite(void)
{
    Suite *s = suite_create("conv_cols");
    TCase *tc = tcase_create("conv_cols");
    tcase_add_loop_test(tc, test_im2col_definition, 0, (int)(sizeof k_cases / sizeof k_cases[0]));
    tcase_add_loop_test(tc, test_col2im_definition, 0, (int)(sizeof k_cases / sizeof k_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
