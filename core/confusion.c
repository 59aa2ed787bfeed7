/* Confusion matrices and their pictures (core/confusion.h). */
#include "confusion.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "font.h"
#include "plot.h"
#include "png.h"

int dlx_confusion_build(const int32_t *label, const int32_t *pred, int64_t n, int k, dlx_confusion *c, dlx_err *err)
{
    memset(c, 0, sizeof *c);
    if (k < 1 || k > 4096)
        return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC, "a confusion matrix of %d classes (expected 1 to 4096)", k);
    c->count = calloc((size_t)k * (size_t)k, sizeof *c->count);
    if (!c->count)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory for a %dx%d confusion matrix", k, k);
    c->k = k;
    for (int64_t i = 0; i < n; i++) {
        if (label[i] < 0 || label[i] >= k || pred[i] < 0 || pred[i] >= k) {
            int32_t l = label[i], p = pred[i];
            dlx_confusion_free(c);
            return dlx_err_setf(err, DLX_EINVAL, DLX_NOLOC,
                                "sample %lld has label %d and prediction %d (expected classes 0 to %d)",
                                (long long)i, (int)l, (int)p, k - 1);
        }
        c->count[(int64_t)label[i] * k + pred[i]]++;
    }
    c->n = n;
    return 0;
}

void dlx_confusion_free(dlx_confusion *c)
{
    free(c->count);
    memset(c, 0, sizeof *c);
}

int64_t dlx_confusion_class_total(const dlx_confusion *c, int cls)
{
    int64_t t = 0;
    for (int j = 0; j < c->k; j++)
        t += c->count[(int64_t)cls * c->k + j];
    return t;
}

double dlx_confusion_class_accuracy(const dlx_confusion *c, int cls)
{
    int64_t t = dlx_confusion_class_total(c, cls);
    return t ? (double)c->count[(int64_t)cls * c->k + cls] / (double)t : NAN;
}

/* Larger count first, then smaller true class, then smaller prediction. */
static int before(const dlx_confused_pair *a, const dlx_confused_pair *b)
{
    if (a->count != b->count)
        return a->count > b->count;
    if (a->truth != b->truth)
        return a->truth < b->truth;
    return a->predicted < b->predicted;
}

int dlx_confusion_top_pairs(const dlx_confusion *c, dlx_confused_pair *out, int max)
{
    int n = 0;
    for (int t = 0; t < c->k; t++)
        for (int p = 0; p < c->k; p++) {
            dlx_confused_pair x = {t, p, c->count[(int64_t)t * c->k + p]};
            if (t == p || x.count == 0 || max < 1 || (n == max && !before(&x, &out[n - 1])))
                continue;
            int i = n < max ? n++ : max - 1; /* insertion into the sorted list */
            while (i > 0 && before(&x, &out[i - 1])) {
                out[i] = out[i - 1];
                i--;
            }
            out[i] = x;
        }
    return n;
}

/* White through blue: the colour of a cell at fraction f of the largest count. */
static void heat(double f, uint8_t rgb[3])
{
    f = f < 0 ? 0 : f > 1 ? 1 : sqrt(f); /* sqrt: small off-diagonal counts stay visible */
    rgb[0] = (uint8_t)(255 - f * (255 - 8));
    rgb[1] = (uint8_t)(255 - f * (255 - 48));
    rgb[2] = (uint8_t)(255 - f * (255 - 107));
}

static void fill(uint8_t *img, int W, int x0, int y0, int w, int h, const uint8_t rgb[3])
{
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            memcpy(img + ((size_t)y * W + x) * 3, rgb, 3);
}

int dlx_confusion_write_png(const dlx_confusion *c, const char *title, const char *png_path, dlx_err *err)
{
    const int k = c->k, cell = k <= 16 ? 44 : k <= 40 ? 24 : 12, s = 2; /* s: scale of the labels */
    char buf[32];
    snprintf(buf, sizeof buf, "%d", k - 1);
    int label_w = dlx_font_width(buf, s), line = dlx_font_height(s);
    int left = 8 + line + 8 + label_w + 8, top = 8 + dlx_font_height(1) + 10;
    int W = left + k * cell + 12, title_w = 16 + dlx_font_width(title, 1);
    W = W > title_w ? W : title_w;
    int H = top + k * cell + 6 + line + 8 + line + 8;
    uint8_t *img = malloc((size_t)W * H * 3);
    if (!img)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(png_path), "cannot allocate a %dx%d image", W, H);
    memset(img, 255, (size_t)W * H * 3);
    const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255}, grid[3] = {200, 200, 200};
    dlx_font_draw(img, W, H, 3, 8, 8, title, 1, black);
    int64_t mx = 1;
    for (int64_t i = 0; i < (int64_t)k * k; i++)
        mx = c->count[i] > mx ? c->count[i] : mx;
    for (int t = 0; t < k; t++)
        for (int p = 0; p < k; p++) {
            int64_t v = c->count[(int64_t)t * k + p];
            uint8_t rgb[3];
            heat((double)v / (double)mx, rgb);
            int x = left + p * cell, y = top + t * cell;
            fill(img, W, x, y, cell, cell, grid);
            fill(img, W, x + 1, y + 1, cell - 1, cell - 1, rgb);
            snprintf(buf, sizeof buf, "%lld", (long long)v);
            int tw = dlx_font_width(buf, 1);
            if (tw <= cell - 3) /* counts that do not fit are left to the colour */
                dlx_font_draw(img, W, H, 3, x + (cell - tw) / 2 + 1, y + (cell - 7) / 2 + 1, buf, 1,
                              (double)v / (double)mx > 0.35 ? white : black);
        }
    int step = cell >= 24 ? 1 : 5; /* a label every `step` classes where cells are small */
    for (int i = 0; i < k; i += step) {
        snprintf(buf, sizeof buf, "%d", i);
        int tw = dlx_font_width(buf, s);
        dlx_font_draw(img, W, H, 3, left - 8 - tw, top + i * cell + (cell - line) / 2, buf, s, black);
        dlx_font_draw(img, W, H, 3, left + i * cell + (cell - tw) / 2, top + k * cell + 6, buf, s, black);
    }
    dlx_font_draw(img, W, H, 3, left + (k * cell - dlx_font_width("predicted", s)) / 2, top + k * cell + 14 + line,
                  "predicted", s, black);
    dlx_font_draw_up(img, W, H, 3, 8, top + (k * cell + dlx_font_width("true", s)) / 2, "true", s, black);
    int rc = dlx_png_write(png_path, img, W, H, 3, err);
    free(img);
    return rc;
}

int dlx_confusion_write_script(const dlx_confusion *c, const char *title, const char *png_path,
                               const char *data_path, const char *script_path, dlx_err *err)
{
    FILE *fd = fopen(data_path, "w");
    if (!fd)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(data_path), "cannot write the matrix: %s", strerror(errno));
    fprintf(fd, "# confusion matrix: row = true class, column = predicted class\n");
    for (int t = 0; t < c->k; t++)
        for (int p = 0; p < c->k; p++)
            fprintf(fd, "%lld%c", (long long)c->count[(int64_t)t * c->k + p], p + 1 < c->k ? ' ' : '\n');
    if (fclose(fd))
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(data_path), "cannot write the matrix: %s", strerror(errno));
    FILE *fs = fopen(script_path, "w");
    if (!fs)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the gnuplot script: %s",
                            strerror(errno));
    int side = 160 + 36 * c->k;
    side = side < 480 ? 480 : side > 1600 ? 1600 : side;
    fprintf(fs, "# gnuplot script written by dlx (the confusion matrix)\n");
    fprintf(fs, "set terminal pngcairo size %d,%d noenhanced font 'sans,10'\nset output ", side + 60, side);
    dlx_gp_quoted(fs, png_path);
    fprintf(fs, "\nset title ");
    dlx_gp_quoted(fs, title);
    fprintf(fs, "\nset xlabel 'predicted'\nset ylabel 'true'\nset size ratio -1\nunset key\nunset colorbox\n"
                "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n"
                "set xtics 0,%d out nomirror\nset ytics 0,%d out nomirror\n"
                "set palette defined (0 'white', 1 '#4a90d9')\n" /* light enough for black counts */
                "plot ",
            c->k - 1, c->k - 1, c->k > 40 ? 5 : 1, c->k > 40 ? 5 : 1);
    dlx_gp_quoted(fs, data_path);
    /* sqrt: small off-diagonal counts stay visible */
    fprintf(fs, " matrix using 1:2:(sqrt($3)) with image, '' matrix using 1:2:(sprintf('%%d', $3)) with labels "
                "font ',%d'\n",
            c->k > 16 ? 7 : 10);
    if (fclose(fs))
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(script_path), "cannot write the gnuplot script: %s",
                            strerror(errno));
    return 0;
}
