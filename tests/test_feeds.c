/* The generated feeds of train/: the copy and adding tasks (train/sequence.h)
 * have the structure their papers define, are pure functions of (seed,
 * stream, draw, sample), and the trivial predictors' losses are the stated
 * baselines; label groups (train/images.h) pair samples of one class. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../train/images.h"
#include "../train/sequence.h"

START_TEST(copy_task_structure)
{
    dlx_seq s;
    ck_assert_int_eq(dlx_seq_init(&s, DLX_SEQ_COPY, 7, NULL), 0);
    ck_assert_int_eq(s.steps, 27);
    const int64_t n = 5, L = s.steps, C = DLX_COPY_CLASSES;
    float *x = malloc((size_t)(L * n * C) * sizeof *x), *y = malloc((size_t)(L * n) * sizeof *y);
    dlx_seq_fill(&s, 1, 17, 3, n, x, y);
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < L; t++) {
            const float *xt = x + (t * n + i) * C;
            int hot = -1, count = 0;
            for (int c = 0; c < C; c++)
                if (xt[c] != 0.0f) {
                    ck_assert(xt[c] == 1.0f);
                    hot = c, count++;
                }
            ck_assert_int_eq(count, 1); /* one-hot */
            if (t < 10)
                ck_assert(hot >= 1 && hot <= 8);
            else if (t == 7 + 9)
                ck_assert_int_eq(hot, 9); /* the delimiter */
            else
                ck_assert_int_eq(hot, 0);
            float want = 0.0f;
            if (t >= 17) /* recall what was shown at t - 17 */
                for (int c = 1; c <= 8; c++)
                    if (x[((t - 17) * n + i) * C + c] == 1.0f)
                        want = (float)c;
            ck_assert(y[t * n + i] == want);
        }
    ck_assert(fabs(dlx_seq_baseline(&s) - 10.0 * log(8.0) / 27.0) < 1e-12);
    free(x);
    free(y);
}
END_TEST

/* Each sequence's own delay D in 1..T: the delimiter at D + 9, the symbols
 * due at D + 10 .. D + 19, blanks elsewhere; D varies across sequences. */
START_TEST(variable_copy_structure)
{
    dlx_seq s;
    ck_assert_int_eq(dlx_seq_init(&s, DLX_SEQ_COPY_VARIABLE, 12, NULL), 0);
    ck_assert_int_eq(s.steps, 32);
    const int64_t n = 40, L = s.steps, C = DLX_COPY_CLASSES;
    float *x = malloc((size_t)(L * n * C) * sizeof *x), *y = malloc((size_t)(L * n) * sizeof *y);
    dlx_seq_fill(&s, 4, 17, 2, n, x, y);
    int seen[13] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t D = -1;
        for (int64_t t = 10; t < L; t++)
            if (x[(t * n + i) * C + 9] == 1.0f) {
                ck_assert_int_eq(D, -1); /* one delimiter */
                D = t - 9;
            }
        ck_assert(D >= 1 && D <= 12);
        seen[D]++;
        for (int64_t t = 0; t < L; t++) {
            float want = 0.0f;
            if (t >= D + 10 && t < D + 20)
                for (int c = 1; c <= 8; c++)
                    if (x[((t - D - 10) * n + i) * C + c] == 1.0f)
                        want = (float)c;
            if (t >= D + 10 && t < D + 20)
                ck_assert(want >= 1.0f);
            ck_assert(y[t * n + i] == want);
            if (t >= 10 && t != D + 9)
                ck_assert(x[(t * n + i) * C] == 1.0f); /* blank */
        }
    }
    int distinct = 0;
    for (int d = 1; d <= 12; d++)
        distinct += seen[d] > 0;
    ck_assert_int_ge(distinct, 6);
    ck_assert(fabs(dlx_seq_baseline(&s) - 10.0 * log(8.0) / 32.0) < 1e-12);
    /* a range of the draw is that part of the whole draw */
    float *xr = malloc((size_t)(L * 7 * C) * sizeof *xr), *yr = malloc((size_t)(L * 7) * sizeof *yr);
    dlx_seq_fill_range(&s, 4, 17, 2, 13, 7, xr, yr);
    for (int64_t t = 0; t < L; t++)
        for (int64_t i = 0; i < 7; i++) {
            ck_assert(yr[t * 7 + i] == y[t * n + 13 + i]);
            ck_assert(memcmp(xr + (t * 7 + i) * C, x + (t * n + 13 + i) * C, C * sizeof *x) == 0);
        }
    free(x);
    free(y);
    free(xr);
    free(yr);
}
END_TEST

START_TEST(adding_task_structure)
{
    dlx_seq s;
    ck_assert_int_eq(dlx_seq_init(&s, DLX_SEQ_ADDING, 50, NULL), 0);
    const int64_t n = 400, T = 50;
    float *x = malloc((size_t)(T * n * 2) * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    dlx_seq_fill(&s, 2, 18, 0, n, x, y);
    double mse = 0.0;
    for (int64_t i = 0; i < n; i++) {
        int first = 0, second = 0;
        double sum = 0.0;
        for (int64_t t = 0; t < T; t++) {
            const float *xt = x + (t * n + i) * 2;
            ck_assert(xt[0] >= 0.0f && xt[0] < 1.0f);
            ck_assert(xt[1] == 0.0f || xt[1] == 1.0f);
            if (xt[1] == 1.0f) {
                if (t < T / 2)
                    first++;
                else
                    second++;
                sum += xt[0];
            }
        }
        ck_assert(first == 1 && second == 1);
        ck_assert(y[i] == (float)sum);
        mse += (y[i] - 1.0) * (y[i] - 1.0);
    }
    mse /= (double)n; /* about 1/6 */
    ck_assert_msg(fabs(mse - dlx_seq_baseline(&s)) < 0.03, "mse of predicting 1: %g", mse);
    free(x);
    free(y);
}
END_TEST

/* Sample i depends on (seed, stream, draw, i) only: not on n, and another
 * draw or stream gives other data. */
START_TEST(sequence_counter_based)
{
    dlx_seq s;
    ck_assert_int_eq(dlx_seq_init(&s, DLX_SEQ_ADDING, 20, NULL), 0);
    float x3[20 * 3 * 2], y3[3], x5[20 * 5 * 2], y5[5], xd[20 * 3 * 2], yd[3];
    dlx_seq_fill(&s, 9, 18, 4, 3, x3, y3);
    dlx_seq_fill(&s, 9, 18, 4, 5, x5, y5);
    dlx_seq_fill(&s, 9, 18, 5, 3, xd, yd);
    for (int i = 0; i < 3; i++) {
        ck_assert(y3[i] == y5[i]);
        for (int t = 0; t < 20; t++)
            ck_assert(x3[(t * 3 + i) * 2] == x5[(t * 5 + i) * 2]);
    }
    ck_assert(memcmp(y3, yd, sizeof y3) != 0);
    ck_assert_int_eq(dlx_seq_init(&s, DLX_SEQ_ADDING, 1, NULL), DLX_EINVAL);
    ck_assert_int_eq(dlx_seq_init(&s, DLX_SEQ_COPY, 0, NULL), DLX_EINVAL);
}
END_TEST

/* 41 samples of 4 pixels: classes 0..3 ten each (label i % 4), class 4 one
 * (the last); pixel values = the sample's index. */
static void fake_images(dlx_images *im, uint8_t *pix, uint8_t *lab, uint32_t *order)
{
    memset(im, 0, sizeof *im);
    enum { N = 41 };
    for (int i = 0; i < N; i++) {
        lab[i] = (uint8_t)(i == N - 1 ? 4 : i % 4);
        for (int p = 0; p < 4; p++)
            pix[4 * i + p] = (uint8_t)i;
        order[i] = (uint32_t)((i * 7) % N); /* some epoch order */
    }
    im->train = (dlx_dataset){.n = N, .c = 1, .h = 2, .w = 2, .num_classes = 5, .images = pix, .labels = lab,
                              .borrowed = true};
    im->tf = (dlx_transform){.mean = 0.0f, .std = 1.0f};
    im->order = order;
    im->train_loaded = true;
}

START_TEST(label_groups)
{
    dlx_images im;
    uint8_t pix[41 * 4], lab[41];
    uint32_t order[41];
    fake_images(&im, pix, lab, order);
    ck_assert_int_eq(dlx_images_index_classes(&im, NULL), 0);
    for (int c = 0; c < 4; c++)
        ck_assert_int_eq(im.class_start[c + 1] - im.class_start[c], 10);
    ck_assert_int_eq(im.class_start[5] - im.class_start[4], 1);
    enum { B = 41 };
    uint32_t idx[B], idx2[B], again[B];
    float x[B * 4], y[B], y2[B];
    dlx_images_feed(&im, B, 0, 0, B, idx, x, y, NULL);
    dlx_images_feed_member(&im, B, 0, 0, B, 1, true, 5, 12, idx2, x, y2);
    int differs = 0;
    for (int r = 0; r < B; r++) {
        ck_assert(y2[r] == y[r]);                       /* the same class */
        ck_assert(fabsf(x[4 * r] - (float)idx2[r] / 255.0f) < 1e-6f); /* its image */
        if (lab[idx[r]] != 4)
            ck_assert(idx2[r] != idx[r]); /* another sample of it */
        else
            ck_assert(idx2[r] == idx[r]); /* the class of one */
    }
    /* rows fed in two halves draw the same partners (threads cut the batch) */
    dlx_images_feed_member(&im, B, 0, 0, 20, 1, true, 5, 12, again, x, y2);
    dlx_images_feed_member(&im, B, 0, 20, B - 20, 1, true, 5, 12, again + 20, x, y2);
    ck_assert(memcmp(idx2, again, sizeof again) == 0);
    /* another step or member draws others; any class spreads over classes */
    dlx_images_feed_member(&im, B, 0, 0, B, 2, false, 5, 12, again, x, y2);
    for (int r = 0; r < B; r++)
        differs += lab[again[r]] != lab[idx[r]];
    ck_assert_int_gt(differs, 10);
    im.order = NULL; /* (the caller's array) */
    dlx_images_free(&im);
}
END_TEST

Suite *feeds_suite(void)
{
    Suite *s = suite_create("feeds");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, copy_task_structure);
    tcase_add_test(tc, variable_copy_structure);
    tcase_add_test(tc, adding_task_structure);
    tcase_add_test(tc, sequence_counter_based);
    tcase_add_test(tc, label_groups);
    suite_add_tcase(s, tc);
    return s;
}
