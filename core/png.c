/* PNG image grids and raw images through libpng.
 *
 * libpng reports errors by longjmp; every libpng call sits behind
 * setjmp(png_jmpbuf) in a small static function, and the error text is
 * captured (never printed) and turned into a dlx_err naming the file.
 * Writes go to "<path>.tmp.XXXXXX" and are renamed over `path`, so a reader
 * never sees half a file.
 */
#include "png.h"

#include "font.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#ifndef PNG_LIBPNG_VER_STRING /* core/ on the include path shadows libpng's png.h */
#include <libpng16/png.h>
#endif
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GRID_BORDER 128          /* mid grey between tiles and in blank tiles */
#define PNG_MAX_BYTES ((size_t)1 << 31)

typedef struct png_ctx {
    char msg[256];               /* last libpng error */
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    if (c)
        snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* library code never prints */
    (void)msg;
}

/* ---- writing --------------------------------------------------------------- */

static int encode(FILE *fp, png_bytep *rows, int w, int h, int c, png_ctx *ctx)
{
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    if (!png) {
        snprintf(ctx->msg, sizeof ctx->msg, "cannot start libpng writer");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(ctx->msg, sizeof ctx->msg, "cannot start libpng writer");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, types[c], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/* The process's umask. umask(2) can only read it by setting it, so it is set
 * back at once; no other thread creates files while dlx writes a picture. */
static mode_t current_umask(void)
{
    mode_t m = umask(077);
    umask(m);
    return m;
}

int dlx_png_write(const char *path, const uint8_t *pixels, int w, int h, int c, dlx_err *err)
{
    if (w < 1 || h < 1 || (c != 1 && c != 3 && c != 4) ||
        (size_t)w * (size_t)h * (size_t)c >= PNG_MAX_BYTES)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(path),
                            "cannot write a %dx%d image with %d channels (expected w, h >= 1, "
                            "c = 1, 3 or 4, under 2 GiB)",
                            w, h, c);
    int rc = 0;
    png_ctx ctx = {{0}};
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    png_bytep *rows = malloc((size_t)h * sizeof(*rows));
    if (!tmp || !rows) {
        rc = dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(path), "out of memory");
        goto out_free;
    }
    for (int y = 0; y < h; y++)
        rows[y] = (png_bytep)(pixels + (size_t)y * w * c);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot create %s: %s", tmp,
                          strerror(errno));
        goto out_free;
    }
    /* mkstemp makes it 0600; the picture follows the umask like every other file */
    if (fchmod(fd, 0666 & ~current_umask()) != 0) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot set the mode of %s: %s", tmp,
                          strerror(errno));
        close(fd);
        goto out_unlink;
    }
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot open %s: %s", tmp,
                          strerror(errno));
        close(fd);
        goto out_unlink;
    }
    if (encode(fp, rows, w, h, c, &ctx)) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write PNG: %s", ctx.msg);
        fclose(fp);
        goto out_unlink;
    }
    if (fflush(fp) != 0 || ferror(fp)) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write PNG: %s",
                          strerror(errno));
        fclose(fp);
        goto out_unlink;
    }
    if (fclose(fp) != 0) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot write PNG: %s",
                          strerror(errno));
        goto out_unlink;
    }
    if (rename(tmp, path) != 0) {
        rc = dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot rename %s into place: %s", tmp,
                          strerror(errno));
        goto out_unlink;
    }
    goto out_free;
out_unlink:
    unlink(tmp);
out_free:
    free(rows);
    free(tmp);
    return rc;
}

static uint8_t to_byte(float v, float lo, float scale)
{
    float s = (v - lo) * scale;
    if (!(s > 0.0f)) /* also catches NaN */
        return 0;
    if (s >= 255.0f)
        return 255;
    return (uint8_t)(s + 0.5f);
}

/* The range a tile is mapped over: the grid's, its own min..max, or
 * symmetric around 0. */
static void tile_range(const dlx_grid *g, const float *src, size_t n, float *lo, float *hi)
{
    *lo = g->lo;
    *hi = g->hi;
    if (g->lo != g->hi)
        return;
    float mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (src[i] < mn)
            mn = src[i];
        if (src[i] > mx)
            mx = src[i];
    }
    if (g->symmetric) {
        float a = fmaxf(fabsf(mn), fabsf(mx));
        mn = -a;
        mx = a;
    }
    *lo = mn;
    *hi = mx;
}

#define CAPTION_BAND 11 /* a 7-pixel line of the bitmap font with 2 pixels above and below */
#define CAPTION_BG 32
#define DIVERGING_BORDER 48 /* dark grey: apart from every colour of the scale */

/* v on [lo, lo + 255 / scale] as blue (lo) - white (middle) - red (top). */
static void diverging_rgb(float v, float lo, float scale, uint8_t rgb[3])
{
    float t = (v - lo) * scale / 127.5f - 1.0f; /* -1..1 */
    t = !(t > -1.0f) ? -1.0f : t > 1.0f ? 1.0f : t;
    uint8_t fade = (uint8_t)(255.0f * (1.0f - fabsf(t)) + 0.5f);
    rgb[0] = t < 0 ? fade : 255;
    rgb[1] = fade;
    rgb[2] = t < 0 ? 255 : fade;
}

/* One tile, scaled by zoom, with its top-left pixel at (ox, oy); oc is the
 * image's channel count (3 for a diverging grid of grey tiles). */
static void draw_tile(uint8_t *img, size_t W, int oc, const dlx_grid *g, const float *src, size_t ox, size_t oy)
{
    size_t plane = (size_t)g->h * g->w;
    float lo, hi;
    tile_range(g, src, plane * g->c, &lo, &hi);
    /* a constant tile (or one with no finite values) shows as mid grey */
    bool flat = !(hi > lo) || !isfinite(hi - lo);
    float scale = flat ? 0.0f : 255.0f / (hi - lo);
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++)
            for (int ch = 0; ch < g->c; ch++) {
                float v = src[ch * plane + (size_t)y * g->w + x];
                uint8_t b = flat ? GRID_BORDER : to_byte(v, lo, scale), px[3] = {b, b, b};
                if (oc != g->c && !flat)
                    diverging_rgb(v, lo, scale, px);
                for (int zy = 0; zy < g->zoom; zy++) {
                    uint8_t *row = img + ((oy + (size_t)y * g->zoom + zy) * W + ox) * oc;
                    for (int zx = 0; zx < g->zoom; zx++)
                        for (int o = 0; o < (oc != g->c ? oc : 1); o++)
                            row[((size_t)x * g->zoom + zx) * oc + ch + o] = px[o];
                }
            }
}

int dlx_png_write_grid(const char *path, const dlx_grid *g, const float *tiles, int count,
                       dlx_err *err)
{
    if (g->rows < 1 || g->cols < 1 || (g->c != 1 && g->c != 3) || g->h < 1 || g->w < 1 ||
        g->zoom < 1 || count < 0 || count > g->rows * g->cols || g->border < 0 || g->border > 64)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(path),
                            "bad image grid: %dx%d tiles of %dx%dx%d, zoom %d, %d images "
                            "(expected c = 1 or 3, sizes >= 1, images <= rows * cols)",
                            g->rows, g->cols, g->c, g->h, g->w, g->zoom, count);
    size_t b = g->border ? (size_t)g->border : 1, cap = g->captions ? CAPTION_BAND : 0;
    size_t title = g->title ? CAPTION_BAND + 2 : 0;
    size_t th = (size_t)g->h * g->zoom, tw = (size_t)g->w * g->zoom;
    size_t H = title + (size_t)g->rows * (th + cap + b) + b, W = (size_t)g->cols * (tw + b) + b;
    if (H > 1000000 || W > 1000000 || H * W * g->c >= PNG_MAX_BYTES)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(path),
                            "image grid of %zux%zu pixels is too large", W, H);
    int oc = g->diverging && g->c == 1 ? 3 : g->c;
    uint8_t *img = malloc(H * W * oc);
    if (!img)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(path),
                            "cannot allocate a %zux%zu image", W, H);
    memset(img, oc != g->c ? DIVERGING_BORDER : GRID_BORDER, H * W * oc);
    const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
    if (title) {
        memset(img, 255, title * W * oc);
        dlx_font_draw(img, (int)W, (int)H, oc, 3, 3, g->title, 1, black);
    }
    size_t tile = (size_t)g->h * g->w * g->c;
    for (int t = 0; t < count; t++) {
        size_t oy = title + (size_t)(t / g->cols) * (th + cap + b) + b, ox = (size_t)(t % g->cols) * (tw + b) + b;
        draw_tile(img, W, oc, g, tiles + (size_t)t * tile, ox, oy);
        if (cap && g->captions[t]) {
            for (size_t y = oy + th; y < oy + th + cap; y++)
                memset(img + (y * W + ox) * oc, CAPTION_BG, tw * oc);
            int tx = (int)ox + ((int)tw - dlx_font_width(g->captions[t], 1)) / 2;
            dlx_font_draw(img, (int)W, (int)H, oc, tx < (int)ox ? (int)ox : tx, (int)(oy + th + 2),
                          g->captions[t], 1, white);
        }
    }
    int rc = dlx_png_write(path, img, (int)W, (int)H, oc, err);
    free(img);
    return rc;
}

/* Columns of a near-square grid of n tiles. */
static int square_cols(int n)
{
    int cols = 1;
    while (cols * cols < n)
        cols++;
    return cols;
}

int dlx_png_write_filters(const char *path, const float *w, int f, int c, int kh, int kw, dlx_err *err)
{
    dlx_grid grid = {.c = 1, .h = kh, .w = kw, .lo = 0, .hi = 0, .border = 2, .symmetric = true, .diverging = true};
    int tiles = f * c;
    if (c == 3) { /* colour filters: one RGB tile each */
        grid.c = 3;
        tiles = f;
        grid.cols = square_cols(f);
    } else if (c > 1 && c <= 16) {
        grid.cols = c; /* a filter per row, its input channels side by side */
    } else {
        grid.cols = square_cols(tiles);
    }
    grid.rows = (tiles + grid.cols - 1) / grid.cols;
    int side = kh > kw ? kh : kw;
    grid.zoom = side < 48 ? (48 + side - 1) / side : 1;
    return dlx_png_write_grid(path, &grid, w, tiles, err);
}

int dlx_png_write_units(const char *path, const float *w, int units, int c, int h, int ww, dlx_err *err)
{
    dlx_grid grid = {.c = c == 3 ? 3 : 1, .h = h, .w = ww, .lo = 0, .hi = 0, .border = 2, .symmetric = true,
                     .diverging = true};
    if (c != 1 && c != 3)
        return dlx_err_setf(err, DLX_EINVAL, DLX_FILELOC(path),
                            "cannot draw units over %d input channels (expected 1 or 3)", c);
    grid.cols = square_cols(units);
    grid.rows = (units + grid.cols - 1) / grid.cols;
    int side = h > ww ? h : ww;
    grid.zoom = side < 48 ? (48 + side - 1) / side : 1;
    return dlx_png_write_grid(path, &grid, w, units, err);
}

/* ---- reading --------------------------------------------------------------- */

typedef struct png_rd {
    png_ctx ctx;
    uint8_t *pix;
    png_bytep *rows;
    png_uint_32 w, h;
    int c;
    int bad_size;
    int oom;
} png_rd;

static int decode(FILE *fp, png_rd *r)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r->ctx, on_error, on_warning);
    if (!png) {
        snprintf(r->ctx.msg, sizeof r->ctx.msg, "cannot start libpng reader");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(r->ctx.msg, sizeof r->ctx.msg, "cannot start libpng reader");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_init_io(png, fp);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    int type = png_get_color_type(png, info);
    png_set_expand(png);   /* palette -> RGB, grey < 8 bit -> 8 bit, tRNS -> alpha */
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    r->w = png_get_image_width(png, info);
    r->h = png_get_image_height(png, info);
    r->c = (type & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)r->w * r->c || (size_t)r->w * r->h * r->c >= PNG_MAX_BYTES) {
        r->bad_size = 1;
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    r->pix = malloc((size_t)r->w * r->h * r->c);
    r->rows = malloc((size_t)r->h * sizeof(*r->rows));
    if (!r->pix || !r->rows) {
        r->oom = 1;
        png_error(png, "out of memory");
    }
    for (png_uint_32 y = 0; y < r->h; y++)
        r->rows[y] = r->pix + (size_t)y * rowbytes;
    png_read_image(png, r->rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

int dlx_png_read(const char *path, uint8_t **pixels, int *w, int *h, int *c, dlx_err *err)
{
    *pixels = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dlx_err_setf(err, DLX_EIO, DLX_FILELOC(path), "cannot open: %s", strerror(errno));
    int rc = 0;
    uint8_t sig[8];
    size_t got = fread(sig, 1, sizeof sig, fp);
    if (got != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                          "not a PNG file (the 8-byte PNG signature is missing)");
        goto out_close;
    }
    png_rd r = {.c = 0};
    if (decode(fp, &r)) {
        if (r.oom)
            rc = dlx_err_setf(err, DLX_ENOMEM, DLX_FILELOC(path),
                              "cannot allocate a %ux%u image", (unsigned)r.w, (unsigned)r.h);
        else if (r.bad_size)
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                              "unsupported PNG layout (%ux%u pixels)", (unsigned)r.w,
                              (unsigned)r.h);
        else
            rc = dlx_err_setf(err, DLX_EFORMAT, DLX_FILELOC(path),
                              "truncated or corrupt PNG: %s", r.ctx.msg);
        free(r.pix);
        free(r.rows);
        goto out_close;
    }
    free(r.rows);
    *pixels = r.pix;
    *w = (int)r.w;
    *h = (int)r.h;
    *c = r.c;
out_close:
    fclose(fp);
    return rc;
}
