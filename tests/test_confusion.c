/* Tests for core/confusion.c (counts, per-class accuracy, the most confused
 * pairs, the heat map and the gnuplot script) and core/predictions.c (the
 * HDF5 file of per-sample outputs, read back with the HDF5 API). */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/confusion.h"
#include "../core/png.h"
#include "../core/predictions.h"

/* 3 classes: labels and predictions of 12 samples. */
static const int32_t k_label[12] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2};
static const int32_t k_pred[12] = {0, 0, 1, 2, 1, 0, 0, 2, 2, 2, 1, 1};

START_TEST(test_counts_and_class_accuracy)
{
    dlx_confusion c;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_confusion_build(k_label, k_pred, 12, 4, &c, &e), 0);
    const int64_t want[16] = {2, 1, 1, 0, 2, 1, 2, 0, 0, 2, 1, 0, 0, 0, 0, 0};
    ck_assert_int_eq(c.n, 12);
    ck_assert_int_eq(c.k, 4);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(c.count[i], want[i]);
    ck_assert_int_eq(dlx_confusion_class_total(&c, 1), 5);
    ck_assert_double_eq_tol(dlx_confusion_class_accuracy(&c, 0), 0.5, 1e-15);
    ck_assert_double_eq_tol(dlx_confusion_class_accuracy(&c, 1), 0.2, 1e-15);
    ck_assert_double_eq_tol(dlx_confusion_class_accuracy(&c, 2), 1.0 / 3.0, 1e-15);
    ck_assert(isnan(dlx_confusion_class_accuracy(&c, 3))); /* no samples of class 3 */
    dlx_confusion_free(&c);
}
END_TEST

START_TEST(test_top_pairs_order)
{
    dlx_confusion c;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_confusion_build(k_label, k_pred, 12, 3, &c, &e), 0);
    dlx_confused_pair top[5];
    /* 1->0: 2, 1->2: 2, 2->1: 2, then 0->1: 1, 0->2: 1 (ties: true class, then predicted) */
    ck_assert_int_eq(dlx_confusion_top_pairs(&c, top, 5), 5);
    const int want[5][3] = {{1, 0, 2}, {1, 2, 2}, {2, 1, 2}, {0, 1, 1}, {0, 2, 1}};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(top[i].truth, want[i][0]);
        ck_assert_int_eq(top[i].predicted, want[i][1]);
        ck_assert_int_eq(top[i].count, want[i][2]);
    }
    ck_assert_int_eq(dlx_confusion_top_pairs(&c, top, 2), 2);
    ck_assert_int_eq(top[1].truth, 1);
    ck_assert_int_eq(top[1].predicted, 2);
    dlx_confusion_free(&c);
    /* all right: no pair */
    ck_assert_int_eq(dlx_confusion_build(k_label, k_label, 12, 3, &c, &e), 0);
    ck_assert_int_eq(dlx_confusion_top_pairs(&c, top, 5), 0);
    dlx_confusion_free(&c);
}
END_TEST

START_TEST(test_out_of_range)
{
    dlx_confusion c;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_confusion_build(k_label, k_pred, 12, 2, &c, &e), DLX_EINVAL);
    ck_assert_str_eq(e.msg, "sample 3 has label 0 and prediction 2 (expected classes 0 to 1)");
    ck_assert_ptr_null(c.count);
}
END_TEST

/* The heat map: RGB, the largest count in the darkest colour, a black
 * label; the script: axes, quoting, the data. */
START_TEST(test_pictures)
{
    char dir[] = "/tmp/dlx_test_confusion.XXXXXX", png[128], dat[128], gp[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(png, sizeof png, "%s/c.png", dir);
    snprintf(dat, sizeof dat, "%s/c.png.dat", dir);
    snprintf(gp, sizeof gp, "%s/c.png.gp", dir);
    dlx_confusion c;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_confusion_build(k_label, k_pred, 12, 3, &c, &e), 0);
    ck_assert_int_eq(dlx_confusion_write_png(&c, "it's a title", png, &e), 0);
    uint8_t *px;
    int w, h, ch;
    ck_assert_int_eq(dlx_png_read(png, &px, &w, &h, &ch, &e), 0);
    ck_assert_int_eq(ch, 3);
    ck_assert_int_gt(w, 3 * 44);
    ck_assert_int_gt(h, 3 * 44);
    long darkest = 0, black = 0;
    for (long i = 0; i < (long)w * h; i++) {
        const uint8_t *p = px + i * 3;
        darkest += p[0] == 8 && p[1] == 48 && p[2] == 107;
        black += p[0] == 0 && p[1] == 0 && p[2] == 0;
    }
    /* four cells hold the largest count, 2: each 43x43 less its count's white text */
    ck_assert_int_gt(darkest, 4 * 43 * 43 - 4 * 60);
    ck_assert_int_lt(darkest, 4 * 43 * 43);
    ck_assert_int_gt(black, 200);
    free(px);
    ck_assert_int_eq(dlx_confusion_write_script(&c, "it's a title", png, dat, gp, &e), 0);
    char buf[4096] = "";
    FILE *f = fopen(gp, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "set xlabel 'predicted'"));
    ck_assert_ptr_nonnull(strstr(buf, "set ylabel 'true'"));
    ck_assert_ptr_nonnull(strstr(buf, "set title 'it''s a title'"));
    ck_assert_ptr_nonnull(strstr(buf, "with labels"));
    f = fopen(dat, "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "\n2 1 1\n2 1 2\n0 2 1\n"));
    dlx_confusion_free(&c);
    unlink(png);
    unlink(dat);
    unlink(gp);
    rmdir(dir);
}
END_TEST

static void read_attr_str(hid_t obj, const char *name, char *out, size_t n)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    hid_t t = H5Aget_type(a);
    ck_assert_uint_lt(H5Tget_size(t), n);
    memset(out, 0, n);
    ck_assert_int_ge(H5Aread(a, t, out), 0);
    H5Tclose(t);
    H5Aclose(a);
}

START_TEST(test_predictions_file)
{
    char dir[] = "/tmp/dlx_test_pred.XXXXXX", path[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.h5", dir);
    dlx_predictions p;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_predictions_alloc(&p, 4, 3, &e), 0);
    for (int i = 0; i < 12; i++)
        p.logits[i] = (float)((i * 5) % 7) - 0.5f;
    for (int i = 0; i < 4; i++) {
        p.pred[i] = dlx_argmax(p.logits + 3 * i, 3);
        p.label[i] = i % 3;
    }
    const float tie[3] = {1, 2, 2};
    ck_assert_int_eq(dlx_argmax(tie, 3), 1); /* the first largest */
    ck_assert_int_eq(dlx_predictions_write(path, &p, "runs/x/checkpoint.h5", "mnist:test", 125, &e), 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    char s[512];
    read_attr_str(f, "format", s, sizeof s);
    ck_assert_str_eq(s, "dlx-predictions");
    read_attr_str(f, "data", s, sizeof s);
    ck_assert_str_eq(s, "mnist:test");
    hid_t d = H5Dopen2(f, "logits", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2];
    ck_assert_int_eq(H5Sget_simple_extent_dims(sp, dims, NULL), 2);
    ck_assert_int_eq(dims[0], 4);
    ck_assert_int_eq(dims[1], 3);
    hid_t t = H5Dget_type(d);
    ck_assert_int_eq(H5Tget_class(t), H5T_FLOAT);
    ck_assert_int_eq(H5Tget_size(t), 4);
    float back[12];
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back), 0);
    ck_assert_mem_eq(back, p.logits, sizeof back);
    read_attr_str(d, "description", s, sizeof s);
    ck_assert_ptr_nonnull(strstr(s, "[samples, classes]"));
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    const char *names[2] = {"prediction", "label"};
    const int32_t *want[2] = {p.pred, p.label};
    for (int k = 0; k < 2; k++) {
        d = H5Dopen2(f, names[k], H5P_DEFAULT);
        t = H5Dget_type(d);
        ck_assert_int_eq(H5Tget_class(t), H5T_INTEGER);
        int32_t ib[4];
        ck_assert_int_ge(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, ib), 0);
        ck_assert_mem_eq(ib, want[k], sizeof ib);
        read_attr_str(d, "description", s, sizeof s);
        ck_assert_int_gt((int)strlen(s), 20);
        H5Tclose(t);
        H5Dclose(d);
    }
    H5Fclose(f);
    dlx_predictions_free(&p);
    unlink(path);
    rmdir(dir);
}
END_TEST

Suite *confusion_suite(void)
{
    Suite *s = suite_create("confusion");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_counts_and_class_accuracy);
    tcase_add_test(tc, test_top_pairs_order);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_pictures);
    tcase_add_test(tc, test_predictions_file);
    suite_add_tcase(s, tc);
    return s;
}
