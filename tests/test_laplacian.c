/* core/laplacian.h and core/subsample.h: the k-nearest-neighbour graph of
 * points, its Laplacians against closed forms (a ring), the eigenbasis
 * (orthonormal, L v = lambda v, ascending, signs fixed), and pixel locations. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/graph_levels.h"
#include "../core/laplacian.h"
#include "../core/ops/ops.h"
#include "../core/sphere.h"
#include "../core/subsample.h"

/* n points evenly on a circle: with k = 2 each is joined to its two
 * neighbours by the same weight, the cycle graph C_n, whose normalised
 * Laplacian has the eigenvalues 1 - cos(2 pi j / n). */
static void ring(int n, double *xy)
{
    for (int i = 0; i < n; i++) {
        xy[2 * i] = cos(2 * M_PI * i / n);
        xy[2 * i + 1] = sin(2 * M_PI * i / n);
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(test_ring_weights)
{
    enum { N = 12 };
    double xy[2 * N], w[N * N], sigma;
    ring(N, xy);
    dlx_points p = {N, 2, xy};
    dlx_err err = {0};
    ck_assert_int_eq(dlx_knn_weights(&p, 2, 0.0, w, &sigma, &err), 0);
    double chord = 2 * sin(M_PI / N), e = exp(-1.0); /* sigma = the neighbour distance: weight e^-1 */
    ck_assert_double_eq_tol(sigma, chord, 1e-12);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            int dist = abs(i - j) < N - abs(i - j) ? abs(i - j) : N - abs(i - j);
            ck_assert_double_eq_tol(w[i * N + j], dist == 1 ? e : 0.0, 1e-12);
        }
    double l[N * N];
    ck_assert_int_eq(dlx_laplacian(w, N, false, l, &err), 0);
    ck_assert_double_eq_tol(l[0], 2 * e, 1e-12);
    ck_assert_double_eq_tol(l[1], -e, 1e-12);
    ck_assert_int_eq(dlx_laplacian(w, N, true, l, &err), 0);
    ck_assert_double_eq_tol(l[0], 1.0, 1e-12);
    ck_assert_double_eq_tol(l[1], -0.5, 1e-12);
    /* a width given is used as given */
    ck_assert_int_eq(dlx_knn_weights(&p, 2, 2.0, w, &sigma, &err), 0);
    ck_assert_double_eq_tol(w[1], exp(-chord * chord / 4.0), 1e-12);
    /* k out of range */
    ck_assert_int_eq(dlx_knn_weights(&p, N, 0.0, w, &sigma, &err), DLX_EINVAL);
    ck_assert_int_eq(dlx_knn_weights(&p, 0, 0.0, w, &sigma, &err), DLX_EINVAL);
}
END_TEST

START_TEST(test_ring_basis)
{
    enum { N = 16, D = 7 };
    double xy[2 * N], ev[D], want[N];
    float v[N * D];
    ring(N, xy);
    dlx_points p = {N, 2, xy};
    dlx_err err = {0};
    for (int normalized = 0; normalized < 2; normalized++) {
        dlx_laplacian_opts o = {.k = 2, .sigma = 0.0, .normalized = normalized, .keep = D};
        ck_assert_int_eq(dlx_laplacian_basis(&p, &o, v, ev, &err), 0);
        double scale = normalized ? 1.0 : 2 * exp(-1.0); /* D - W = 2 w (I - P) for the cycle */
        for (int j = 0; j < N; j++)
            want[j] = scale * (1 - cos(2 * M_PI * j / N));
        qsort(want, N, sizeof *want, cmp_d);
        for (int j = 0; j < D; j++)
            ck_assert_double_eq_tol(ev[j], want[j], 1e-10);
        /* orthonormal columns (in float) */
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) {
                double s = 0.0;
                for (int i = 0; i < N; i++)
                    s += (double)v[i * D + a] * v[i * D + b];
                ck_assert_double_eq_tol(s, a == b ? 1.0 : 0.0, 1e-6);
            }
        /* the first is constant (positive by the sign rule) */
        for (int i = 0; i < N; i++)
            ck_assert_double_eq_tol(v[i * D], 1.0 / sqrt(N), 1e-6);
    }
}
END_TEST

/* Random points: L v = lambda v for the kept vectors, the largest
 * component of each positive, the same bits on a second call. */
START_TEST(test_random_points)
{
    enum { N = 40, D = 10 };
    double xy[2 * N], w[N * N], l[N * N], sigma, ev[D], ev2[D];
    float v[N * D], v2[N * D];
    for (int i = 0; i < 2 * N; i++)
        xy[i] = (double)((i * 7919 + 13) % 97);
    dlx_points p = {N, 2, xy};
    dlx_err err = {0};
    dlx_laplacian_opts o = {.k = 5, .sigma = 0.0, .normalized = true, .keep = D};
    ck_assert_int_eq(dlx_laplacian_basis(&p, &o, v, ev, &err), 0);
    ck_assert_int_eq(dlx_laplacian_basis(&p, &o, v2, ev2, &err), 0);
    ck_assert_int_eq(memcmp(v, v2, sizeof v), 0);
    ck_assert_int_eq(dlx_knn_weights(&p, 5, 0.0, w, &sigma, &err), 0);
    ck_assert_int_eq(dlx_laplacian(w, N, true, l, &err), 0);
    for (int j = 0; j < D; j++) {
        if (j)
            ck_assert(ev[j] >= ev[j - 1]);
        int big = 0;
        for (int i = 0; i < N; i++) {
            double lv = 0.0;
            for (int t = 0; t < N; t++)
                lv += l[i * N + t] * v[t * D + j];
            ck_assert_double_eq_tol(lv, ev[j] * v[i * D + j], 1e-5);
            if (fabsf(v[i * D + j]) > fabsf(v[big * D + j]))
                big = i;
        }
        ck_assert(v[big * D + j] > 0.0f);
    }
    ck_assert_double_eq_tol(ev[0], 0.0, 1e-10);
    o.keep = N + 1;
    ck_assert_int_eq(dlx_laplacian_basis(&p, &o, v, ev, &err), DLX_EINVAL);
}
END_TEST

/* The interpolation kernel: linear with q = d is the identity; rows of the
 * linear one sum to 1; the cubic B-spline's values at and between knots. */
START_TEST(test_spectral_kernel)
{
    enum { D = 9 };
    float k[D * D];
    dlx_spectral_kernel(D, D, false, k);
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            ck_assert_float_eq(k[i * D + j], i == j ? 1.0f : 0.0f);
    dlx_spectral_kernel(D, 3, false, k); /* knots at 0, 4, 8 */
    for (int i = 0; i < D; i++)
        ck_assert_float_eq_tol(k[i * 3] + k[i * 3 + 1] + k[i * 3 + 2], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(k[2 * 3], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(k[2 * 3 + 1], 0.5f, 1e-6f);
    dlx_spectral_kernel(D, 3, true, k);
    ck_assert_float_eq_tol(k[4 * 3 + 1], 2.0f / 3.0f, 1e-6f); /* at its knot */
    ck_assert_float_eq_tol(k[4 * 3], 1.0f / 6.0f, 1e-6f);     /* one knot away */
    ck_assert_float_eq_tol(k[2 * 3], 23.0f / 48.0f, 1e-6f);   /* half a knot: 2/3 - 1/4 + 1/16 */
}
END_TEST

START_TEST(test_locations)
{
    uint32_t a[50], b[50], c[50];
    dlx_err err = {0};
    ck_assert_int_eq(dlx_subsample_locations(7, 28, 28, 50, a, &err), 0);
    ck_assert_int_eq(dlx_subsample_locations(7, 28, 28, 50, b, &err), 0);
    ck_assert_int_eq(dlx_subsample_locations(8, 28, 28, 50, c, &err), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
    for (int i = 0; i < 50; i++) {
        ck_assert_uint_lt(a[i], 784);
        if (i)
            ck_assert_uint_lt(a[i - 1], a[i]); /* sorted, distinct */
    }
    uint32_t all[16];
    ck_assert_int_eq(dlx_subsample_locations(1, 4, 4, 16, all, &err), 0);
    for (uint32_t i = 0; i < 16; i++)
        ck_assert_uint_eq(all[i], i);
    ck_assert_int_eq(dlx_subsample_locations(1, 4, 4, 17, all, &err), DLX_EINVAL);
    double xy[2];
    dlx_subsample_coords((uint32_t[]){30}, 1, 28, xy);
    ck_assert_double_eq(xy[0], 2.0);
    ck_assert_double_eq(xy[1], 1.0);
    /* a dataset reduced to the locations */
    uint8_t img[2 * 16], lab[2] = {3, 4};
    for (int i = 0; i < 32; i++)
        img[i] = (uint8_t)i;
    dlx_dataset d = {.n = 2, .c = 1, .h = 4, .w = 4, .num_classes = 10, .labels = lab, .images = img, .borrowed = true};
    ck_assert_int_eq(dlx_subsample_dataset(&d, (uint32_t[]){1, 5, 15}, 3, &err), 0);
    ck_assert_int_eq(d.w * d.h * d.c, 3);
    ck_assert_uint_eq(d.images[0], 1);
    ck_assert_uint_eq(d.images[2], 15);
    ck_assert_uint_eq(d.images[4], 21);
    ck_assert_uint_eq(d.labels[1], 4);
    ck_assert_ptr_ne(d.labels, lab); /* a borrowed dataset's buffers stay its owner's */
    dlx_dataset_free(&d);
}
END_TEST

/* Points on a line at 0, 1, 3, 4, 10, 11, 30: the matching pairs the close
 * ones, the last stays alone; the next level pairs the pairs. */
START_TEST(test_levels)
{
    double xy[14] = {0, 0, 1, 0, 3, 0, 4, 0, 10, 0, 11, 0, 30, 0};
    dlx_points p = {7, 2, xy};
    dlx_levels lv;
    dlx_err err = {0};
    ck_assert_int_eq(dlx_levels_build(&p, DLX_LEVELS_MAX, &lv, &err), 0);
    ck_assert_int_eq(lv.n_levels, 4); /* 7, 4, 2, 1 */
    ck_assert_int_eq(lv.n[1], 4);
    ck_assert_int_eq(lv.n[2], 2);
    ck_assert_int_eq(lv.n[3], 1);
    const int parent1[7] = {0, 0, 1, 1, 2, 2, 3};
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(lv.parent[1][i], parent1[i]);
    ck_assert_double_eq(lv.xy[1][2 * 1], 3.5);  /* the pair (3, 4) */
    ck_assert_double_eq(lv.xy[1][2 * 3], 30.0); /* alone */
    /* level 2: (0.5, 3.5) are closest, then (10.5, 30) */
    ck_assert_int_eq(lv.parent[2][0], 0);
    ck_assert_int_eq(lv.parent[2][1], 0);
    ck_assert_int_eq(lv.parent[2][2], 1);
    ck_assert_int_eq(lv.parent[2][3], 1);
    ck_assert_int_eq(dlx_levels_find(&lv, 4), 1);
    ck_assert_int_eq(dlx_levels_find(&lv, 5), -1);
    /* members of level 2's clusters at level 0 */
    float mem[2 * 4];
    int w;
    ck_assert_int_eq(dlx_levels_members(&lv, 0, 2, NULL, &w, &err), 0);
    ck_assert_int_eq(w, 4);
    ck_assert_int_eq(dlx_levels_members(&lv, 0, 2, mem, &w, &err), 0);
    const float want[8] = {0, 1, 2, 3, 4, 5, 6, -1};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(mem[i], want[i]);
    /* neighbours: itself first, then by distance */
    float nb[7 * 3];
    ck_assert_int_eq(dlx_levels_neighbors(&lv, 0, 3, nb, &err), 0);
    ck_assert_float_eq(nb[2 * 3], 2);
    ck_assert_float_eq(nb[2 * 3 + 1], 3);
    ck_assert_float_eq(nb[2 * 3 + 2], 1);
    ck_assert_float_eq(nb[6 * 3 + 1], 5);
    ck_assert_int_eq(dlx_levels_neighbors(&lv, 0, 8, nb, &err), DLX_EINVAL);
    dlx_levels_free(&lv);
    /* 400 points: ceil(n / 2) at every level */
    double many[800];
    for (int i = 0; i < 400; i++) {
        many[2 * i] = (i * 37) % 28;
        many[2 * i + 1] = (i * 11 + i / 28) % 28;
    }
    ck_assert_int_eq(dlx_levels_build(&(dlx_points){400, 2, many}, 4, &lv, &err), 0);
    ck_assert_int_eq(lv.n[1], 200);
    ck_assert_int_eq(lv.n[2], 100);
    ck_assert_int_eq(lv.n[3], 50);
    dlx_levels_free(&lv);
}
END_TEST

/* data.sphere: unit points; rotations orthonormal with determinant 1, the
 * identity for none, at most `angle` for partial, a function of (seed,
 * split, index); a projection drops the 9s and sees the image's centre
 * from the pole. */
START_TEST(test_sphere)
{
    enum { P = 50 };
    double xyz[3 * P];
    dlx_sphere_points(P, xyz);
    for (int i = 0; i < P; i++)
        ck_assert_double_eq_tol(xyz[3 * i] * xyz[3 * i] + xyz[3 * i + 1] * xyz[3 * i + 1] + xyz[3 * i + 2] * xyz[3 * i + 2],
                                1.0, 1e-12);
    dlx_sphere_opts o = {.points = P, .rotation = DLX_SPHERE_FULL, .angle_deg = 30, .field_deg = 90, .seed = 4};
    double r[9], r2[9];
    for (int kind = 0; kind < 3; kind++) {
        o.rotation = (dlx_sphere_rotation)kind;
        for (int64_t i = 0; i < 20; i++) {
            dlx_sphere_rotation_of(&o, "train", i, r);
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) {
                    double s = 0.0;
                    for (int k = 0; k < 3; k++)
                        s += r[3 * a + k] * r[3 * b + k];
                    ck_assert_double_eq_tol(s, a == b ? 1.0 : 0.0, 1e-12);
                }
            double det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) +
                         r[2] * (r[3] * r[7] - r[4] * r[6]);
            ck_assert_double_eq_tol(det, 1.0, 1e-12);
            double angle = acos(fmax(-1.0, fmin(1.0, (r[0] + r[4] + r[8] - 1) / 2))) * 180 / M_PI;
            if (kind == DLX_SPHERE_NONE)
                ck_assert_double_eq_tol(angle, 0.0, 1e-6);
            if (kind == DLX_SPHERE_PARTIAL)
                ck_assert(angle <= 30.0 + 1e-9);
            dlx_sphere_rotation_of(&o, "train", i, r2);
            ck_assert_int_eq(memcmp(r, r2, sizeof r), 0);
            dlx_sphere_rotation_of(&o, "test", i, r2);
            if (kind != DLX_SPHERE_NONE)
                ck_assert_int_ne(memcmp(r, r2, sizeof r), 0);
        }
    }
    /* the north pole (0, 0, 1) sees the image's centre, unrotated */
    double pole[3] = {0, 0, 1};
    uint8_t img[3 * 16], lab[3] = {9, 2, 5};
    memset(img, 0, sizeof img);
    for (int s = 0; s < 3; s++)
        for (int px = 5; px <= 10; px += 5) /* pixels (1,1) and (2,2) around the centre (1.5, 1.5) */
            img[s * 16 + px] = (uint8_t)(40 * (s + 1));
    dlx_dataset d = {.n = 3, .c = 1, .h = 4, .w = 4, .num_classes = 10, .images = img, .labels = lab, .borrowed = true};
    snprintf(d.split, sizeof d.split, "test");
    o = (dlx_sphere_opts){.points = 1, .rotation = DLX_SPHERE_NONE, .field_deg = 90, .seed = 1};
    dlx_err err = {0};
    ck_assert_int_eq(dlx_sphere_dataset(&d, &o, pole, &err), 0);
    ck_assert_int_eq(d.n, 2); /* the 9 is gone */
    ck_assert_int_eq(d.num_classes, 9);
    ck_assert_int_eq(d.w, 1);
    ck_assert_uint_eq(d.labels[0], 2);
    ck_assert_uint_eq(d.images[0], 40); /* the mean of the 4 centre pixels: 2 of them 80 */
    ck_assert_uint_eq(d.images[1], 60);
    dlx_dataset_free(&d);
}
END_TEST

Suite *laplacian_suite(void)
{
    Suite *s = suite_create("laplacian");
    TCase *tc = tcase_create("laplacian");
    tcase_add_test(tc, test_ring_weights);
    tcase_add_test(tc, test_ring_basis);
    tcase_add_test(tc, test_random_points);
    tcase_add_test(tc, test_spectral_kernel);
    tcase_add_test(tc, test_locations);
    tcase_add_test(tc, test_levels);
    tcase_add_test(tc, test_sphere);
    suite_add_tcase(s, tc);
    return s;
}
