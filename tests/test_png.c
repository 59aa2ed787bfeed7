/* Tests for core/png.c: grid layout, value mapping, round trips through the
 * reader (grey, RGB, alpha, palette, 16-bit) and errors on foreign or
 * truncated files. */
#include <check.h>
#include <dirent.h>
#include <png.h>
#ifndef PNG_LIBPNG_VER_STRING /* core/ on the include path shadows libpng's png.h */
#include <libpng16/png.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/font.h"
#include "../core/png.h"
#include "tmpdir.h"

static char g_dir[256];

static void tmp_setup(void) { tmpdir_make(g_dir, sizeof g_dir, "dlx_test_png"); }
static void tmp_teardown(void) { tmpdir_remove(g_dir); }
static const char *tpath(const char *name) { return tmpdir_path(g_dir, name); }

static int count_files(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* 2 rows x 3 cols of 2x2 grey tiles, zoom 2, fixed range [0, 1]; 5 tiles. */
START_TEST(test_grid_grey_layout)
{
    dlx_grid g = {.rows = 2, .cols = 3, .c = 1, .h = 2, .w = 2, .zoom = 2, .lo = 0.0f, .hi = 1.0f};
    float tiles[5 * 4];
    for (int t = 0; t < 5; t++) {
        tiles[t * 4 + 0] = 0.0f;
        tiles[t * 4 + 1] = 1.0f;
        tiles[t * 4 + 2] = 0.5f;
        tiles[t * 4 + 3] = (float)t / 4.0f;
    }
    tiles[4 * 4 + 0] = -3.0f; /* clamps to 0 */
    tiles[4 * 4 + 1] = 7.0f;  /* clamps to 255 */
    dlx_err e = {0};
    ck_assert_int_eq(dlx_png_write_grid(tpath("g.png"), &g, tiles, 5, &e), 0);
    ck_assert_int_eq(count_files(), 1); /* no temp file left behind */

    uint8_t *px = NULL;
    int w = 0, h = 0, c = 0;
    ck_assert_int_eq(dlx_png_read(tpath("g.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(w, 3 * 4 + 4);
    ck_assert_int_eq(h, 2 * 4 + 3);
    ck_assert_int_eq(c, 1);
#define P(x, y) px[(y) * w + (x)]
    /* borders */
    for (int x = 0; x < w; x++) {
        ck_assert_int_eq(P(x, 0), 128);
        ck_assert_int_eq(P(x, 5), 128);
        ck_assert_int_eq(P(x, 10), 128);
    }
    for (int y = 0; y < h; y++) {
        ck_assert_int_eq(P(0, y), 128);
        ck_assert_int_eq(P(5, y), 128);
        ck_assert_int_eq(P(10, y), 128);
        ck_assert_int_eq(P(15, y), 128);
    }
    /* tile 0 at (1,1): each source pixel is a 2x2 block */
    for (int zy = 0; zy < 2; zy++)
        for (int zx = 0; zx < 2; zx++) {
            ck_assert_int_eq(P(1 + zx, 1 + zy), 0);
            ck_assert_int_eq(P(3 + zx, 1 + zy), 255);
            ck_assert_int_eq(P(1 + zx, 3 + zy), 128); /* 0.5 * 255 = 127.5 rounds up */
            ck_assert_int_eq(P(3 + zx, 3 + zy), 0);
        }
    /* tile 2 at (11,1): last pixel 2/4 -> 128; tile 3 at (1,6): 0.75 -> 191 */
    ck_assert_int_eq(P(13, 3), 128);
    ck_assert_int_eq(P(4, 9), 191);
    /* tile 4 at (6,6): clamped */
    ck_assert_int_eq(P(6, 6), 0);
    ck_assert_int_eq(P(8, 6), 255);
    ck_assert_int_eq(P(9, 9), 255);
    /* tile 5 is blank: grey */
    ck_assert_int_eq(P(11, 6), 128);
    ck_assert_int_eq(P(14, 9), 128);
#undef P
    free(px);
}
END_TEST

/* lo == hi: each tile is stretched over its own min..max; constant -> grey. */
START_TEST(test_grid_per_tile_range)
{
    dlx_grid g = {.rows = 1, .cols = 3, .c = 1, .h = 1, .w = 3, .zoom = 1, .lo = 0, .hi = 0};
    const float tiles[9] = {-2, 0, 2, 10, 15, 20, 4, 4, 4};
    dlx_err e = {0};
    ck_assert_int_eq(dlx_png_write_grid(tpath("f.png"), &g, tiles, 3, &e), 0);
    uint8_t *px;
    int w, h, c;
    ck_assert_int_eq(dlx_png_read(tpath("f.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(w, 13);
    ck_assert_int_eq(h, 3);
    const uint8_t row[13] = {128, 0, 128, 255, 128, 0, 128, 255, 128, 128, 128, 128, 128};
    ck_assert_mem_eq(px + 13, row, 13);
    free(px);
}
END_TEST

/* RGB tiles are planar CHW in, interleaved out. */
START_TEST(test_grid_rgb)
{
    dlx_grid g = {.rows = 1, .cols = 1, .c = 3, .h = 1, .w = 2, .zoom = 3, .lo = -1, .hi = 1};
    const float tiles[6] = {1, -1, /* R */ -1, 0, /* G */ 0.5f, 1 /* B */};
    dlx_err e = {0};
    ck_assert_int_eq(dlx_png_write_grid(tpath("c.png"), &g, tiles, 1, &e), 0);
    uint8_t *px;
    int w, h, c;
    ck_assert_int_eq(dlx_png_read(tpath("c.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(w, 8);
    ck_assert_int_eq(h, 5);
    ck_assert_int_eq(c, 3);
    const uint8_t left[3] = {255, 0, 191}, right[3] = {0, 128, 255}, grey[3] = {128, 128, 128};
    ck_assert_mem_eq(px + (2 * 8 + 1) * 3, left, 3);
    ck_assert_mem_eq(px + (3 * 8 + 3) * 3, left, 3);
    ck_assert_mem_eq(px + (1 * 8 + 4) * 3, right, 3);
    ck_assert_mem_eq(px + (3 * 8 + 6) * 3, right, 3);
    ck_assert_mem_eq(px + (0 * 8 + 4) * 3, grey, 3);
    ck_assert_mem_eq(px + (2 * 8 + 7) * 3, grey, 3);
    free(px);
}
END_TEST

START_TEST(test_grid_bad_args)
{
    dlx_grid g = {.rows = 1, .cols = 2, .c = 2, .h = 2, .w = 2, .zoom = 1};
    float t[8] = {0};
    dlx_err e = {0};
    ck_assert_int_eq(dlx_png_write_grid(tpath("x.png"), &g, t, 1, &e), DLX_EINVAL);
    ck_assert_str_eq(e.file, tpath("x.png"));
    g.c = 1;
    ck_assert_int_eq(dlx_png_write_grid(tpath("x.png"), &g, t, 3, &e), DLX_EINVAL);
    ck_assert_str_eq(e.msg, "bad image grid: 1x2 tiles of 1x2x2, zoom 1, 3 images (expected c = 1 "
                            "or 3, sizes >= 1, images <= rows * cols)");
    ck_assert_int_eq(count_files(), 0);
}
END_TEST

/* RGBA in -> RGB out (alpha dropped); overwriting an existing file works. */
START_TEST(test_raw_rgba_roundtrip)
{
    uint8_t src[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        src[i] = (uint8_t)(i * 10);
    dlx_err e = {0};
    ck_assert_int_eq(dlx_png_write(tpath("r.png"), src, 3, 2, 4, &e), 0);
    ck_assert_int_eq(dlx_png_write(tpath("r.png"), src, 3, 2, 4, &e), 0);
    ck_assert_int_eq(count_files(), 1);
    uint8_t *px;
    int w, h, c;
    ck_assert_int_eq(dlx_png_read(tpath("r.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(w, 3);
    ck_assert_int_eq(h, 2);
    ck_assert_int_eq(c, 3);
    for (int i = 0; i < 6; i++)
        ck_assert_mem_eq(px + i * 3, src + i * 4, 3);
    free(px);
    ck_assert_int_eq(dlx_png_write(tpath("r.png"), src, 3, 2, 2, &e), DLX_EINVAL);
}
END_TEST

/* Writes a PNG with libpng directly, for formats dlx never writes. */
static void write_raw(const char *path, int w, int h, int depth, int type, const uint8_t *data,
                      int rowbytes, const png_color *pal, int npal)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert_int_eq(setjmp(png_jmpbuf(png)), 0);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal)
        png_set_PLTE(png, info, pal, npal);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, data + y * rowbytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

START_TEST(test_read_palette_16bit_grey_alpha)
{
    uint8_t *px;
    int w, h, c;
    dlx_err e = {0};
    /* palette, 4 bit: indices 0 1 / 2 1 */
    const png_color pal[3] = {{10, 20, 30}, {200, 100, 0}, {1, 2, 3}};
    const uint8_t idx[2] = {0x01, 0x21};
    write_raw(tpath("p.png"), 2, 2, 4, PNG_COLOR_TYPE_PALETTE, idx, 1, pal, 3);
    ck_assert_int_eq(dlx_png_read(tpath("p.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(c, 3);
    const uint8_t want[12] = {10, 20, 30, 200, 100, 0, 1, 2, 3, 200, 100, 0};
    ck_assert_mem_eq(px, want, 12);
    free(px);

    /* 16-bit grey (big endian): high byte kept */
    const uint8_t g16[4] = {0x12, 0x34, 0xfe, 0xdc};
    write_raw(tpath("g16.png"), 2, 1, 16, PNG_COLOR_TYPE_GRAY, g16, 4, NULL, 0);
    ck_assert_int_eq(dlx_png_read(tpath("g16.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(w, 2);
    ck_assert_int_eq(px[0], 0x12);
    ck_assert_int_eq(px[1], 0xfe);
    free(px);

    /* grey + alpha -> grey */
    const uint8_t ga[4] = {77, 0, 99, 255};
    write_raw(tpath("ga.png"), 2, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, ga, 4, NULL, 0);
    ck_assert_int_eq(dlx_png_read(tpath("ga.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(px[0], 77);
    ck_assert_int_eq(px[1], 99);
    free(px);

    /* 1-bit grey expands to 0 / 255 */
    const uint8_t g1[1] = {0xa0};
    write_raw(tpath("g1.png"), 3, 1, 1, PNG_COLOR_TYPE_GRAY, g1, 1, NULL, 0);
    ck_assert_int_eq(dlx_png_read(tpath("g1.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(px[0], 255);
    ck_assert_int_eq(px[1], 0);
    ck_assert_int_eq(px[2], 255);
    free(px);
}
END_TEST

START_TEST(test_read_errors)
{
    uint8_t *px = (uint8_t *)1;
    int w, h, c;
    dlx_err e = {0};
    char buf[1024], want[1024];
    ck_assert_int_eq(dlx_png_read(tpath("none.png"), &px, &w, &h, &c, &e), DLX_EIO);
    ck_assert_ptr_null(px);
    dlx_err_format(&e, buf, sizeof buf);
    snprintf(want, sizeof want, "%s: error: cannot open: No such file or directory",
             tpath("none.png"));
    ck_assert_str_eq(buf, want);

    FILE *f = fopen(tpath("t.png"), "w");
    fputs("P5\n2 2\n255\nabcd", f);
    fclose(f);
    ck_assert_int_eq(dlx_png_read(tpath("t.png"), &px, &w, &h, &c, &e), DLX_EFORMAT);
    ck_assert_str_eq(e.file, tpath("t.png"));
    ck_assert_str_eq(e.msg, "not a PNG file (the 8-byte PNG signature is missing)");
    f = fopen(tpath("empty.png"), "w");
    fclose(f);
    ck_assert_int_eq(dlx_png_read(tpath("empty.png"), &px, &w, &h, &c, &e), DLX_EFORMAT);

    /* a real PNG cut at several lengths: an error every time, never a crash */
    uint8_t img[40 * 30];
    for (int i = 0; i < 40 * 30; i++)
        img[i] = (uint8_t)(i * 7 + i / 13);
    ck_assert_int_eq(dlx_png_write(tpath("full.png"), img, 40, 30, 1, &e), 0);
    f = fopen(tpath("full.png"), "rb");
    uint8_t data[8192];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    ck_assert_uint_gt(n, 100);
    const size_t cuts[] = {8, 12, 20, 33, 40, 60, n / 2, n - 13};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        f = fopen(tpath("cut.png"), "wb");
        fwrite(data, 1, cuts[k], f);
        fclose(f);
        px = (uint8_t *)1;
        memset(&e, 0, sizeof e);
        ck_assert_int_eq(dlx_png_read(tpath("cut.png"), &px, &w, &h, &c, &e), DLX_EFORMAT);
        ck_assert_ptr_null(px);
        ck_assert_str_eq(e.file, tpath("cut.png"));
        ck_assert_ptr_nonnull(strstr(e.msg, "truncated or corrupt PNG: "));
    }
    /* a flipped byte in the image data fails its CRC */
    data[n - 20] ^= 0xff;
    f = fopen(tpath("crc.png"), "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    ck_assert_int_eq(dlx_png_read(tpath("crc.png"), &px, &w, &h, &c, &e), DLX_EFORMAT);
}
END_TEST

START_TEST(test_write_unwritable)
{
    uint8_t img[4] = {0};
    dlx_err e = {0};
    const char *p = "/nonexistent_dir_dlx/x.png";
    ck_assert_int_eq(dlx_png_write(p, img, 2, 2, 1, &e), DLX_EIO);
    ck_assert_str_eq(e.file, p);
    ck_assert_ptr_nonnull(strstr(e.msg, "No such file or directory"));
}
END_TEST

/* The bitmap font: glyph shapes, widths, and what draw writes where. */
START_TEST(test_font_glyphs_and_draw)
{
    /* '1': the middle column of rows 1..5, a foot of 3 */
    ck_assert_int_eq(dlx_font_pixel('1', 2, 0), 1);
    ck_assert_int_eq(dlx_font_pixel('1', 0, 0), 0);
    ck_assert_int_eq(dlx_font_pixel('1', 1, 6) + dlx_font_pixel('1', 2, 6) + dlx_font_pixel('1', 3, 6), 3);
    /* '-' is row 3 only; '>' points right at row 3 */
    for (int x = 0; x < 5; x++) {
        ck_assert_int_eq(dlx_font_pixel('-', x, 3), 1);
        ck_assert_int_eq(dlx_font_pixel('-', x, 2), 0);
    }
    ck_assert_int_eq(dlx_font_pixel('>', 4, 3), 1);
    ck_assert_int_eq(dlx_font_pixel('>', 0, 3), 0);
    /* a byte without a glyph draws as '?'; a space is blank */
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 5; x++) {
            ck_assert_int_eq(dlx_font_pixel('\x01', x, y), dlx_font_pixel('?', x, y));
            ck_assert_int_eq(dlx_font_pixel('~', x, y), dlx_font_pixel('?', x, y));
            ck_assert_int_eq(dlx_font_pixel(' ', x, y), 0);
        }
    ck_assert_int_eq(dlx_font_width("4 -> 9", 1), 6 * 6 - 1);
    ck_assert_int_eq(dlx_font_width("ab", 2), 22);
    ck_assert_int_eq(dlx_font_width("", 3), 0);
    ck_assert_int_eq(dlx_font_height(2), 14);

    /* "4 -> 9" at (1, 2), scale 2, into a grey image: every set pixel is a glyph pixel */
    enum { W = 80, H = 20 };
    uint8_t img[W * H];
    memset(img, 9, sizeof img);
    const uint8_t ink = 200;
    const char *text = "4 -> 9";
    dlx_font_draw(img, W, H, 1, 1, 2, text, 2, &ink);
    int set = 0, want = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int gx = (x - 1) / 2, gy = (y - 2) / 2, i = gx / 6;
            int on = x >= 1 && y >= 2 && gy < 7 && i < 6 && gx % 6 < 5 && dlx_font_pixel(text[i], gx % 6, gy);
            ck_assert_int_eq(img[y * W + x], on ? ink : 9);
            set += img[y * W + x] == ink;
            want += on;
        }
    ck_assert_int_gt(set, 40);
    ck_assert_int_eq(set, want);
    /* turned text: glyph row 0 at the left, the first character at the bottom */
    memset(img, 0, sizeof img);
    dlx_font_draw_up(img, W, H, 1, 3, 15, "1", 1, &ink);
    for (int gy = 0; gy < 7; gy++)
        for (int gx = 0; gx < 5; gx++)
            ck_assert_int_eq(img[(15 - 1 - gx) * W + 3 + gy], dlx_font_pixel('1', gx, gy) ? ink : 0);
    /* drawing off the image's edges is clipped, never written outside */
    uint8_t small[4 * 4 + 8];
    memset(small, 0, sizeof small);
    dlx_font_draw(small, 4, 4, 1, -3, -3, "WWW", 3, &ink);
    for (int i = 16; i < 24; i++)
        ck_assert_int_eq(small[i], 0);
}
END_TEST

/* symmetric: each tile over [-max|v|, max|v|]; diverging: blue-white-red
 * on a dark border, RGB out. */
START_TEST(test_grid_symmetric_diverging)
{
    dlx_grid g = {.rows = 1, .cols = 1, .c = 1, .h = 1, .w = 3, .zoom = 1, .symmetric = true};
    const float t[3] = {-1, 0, 2};
    dlx_err e = {0};
    ck_assert_int_eq(dlx_png_write_grid(tpath("s.png"), &g, t, 1, &e), 0);
    uint8_t *px;
    int w, h, c;
    ck_assert_int_eq(dlx_png_read(tpath("s.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(px[w + 1], 64); /* (-1 + 2) / 4 * 255 = 63.75 */
    ck_assert_int_eq(px[w + 2], 128);
    ck_assert_int_eq(px[w + 3], 255);
    free(px);
    g.diverging = true;
    g.border = 2;
    ck_assert_int_eq(dlx_png_write_grid(tpath("d.png"), &g, t, 1, &e), 0);
    ck_assert_int_eq(dlx_png_read(tpath("d.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(c, 3);
    ck_assert_int_eq(w, 3 + 4);
    ck_assert_int_eq(h, 1 + 4);
    const uint8_t border[3] = {48, 48, 48}, white[3] = {255, 255, 255}, red[3] = {255, 0, 0};
    ck_assert_mem_eq(px, border, 3);
    ck_assert_mem_eq(px + (2 * w + 1) * 3, border, 3);
    ck_assert_mem_eq(px + (2 * w + 3) * 3, white, 3);
    ck_assert_mem_eq(px + (2 * w + 4) * 3, red, 3);
    const uint8_t *neg = px + (2 * w + 2) * 3; /* -1: half way to blue */
    ck_assert_int_eq(neg[2], 255);
    ck_assert_int_eq(neg[0], 128);
    ck_assert_int_eq(neg[1], 128);
    free(px);
}
END_TEST

/* A title line and a caption band under each tile, in the bitmap font. */
START_TEST(test_grid_captions_title)
{
    dlx_grid g = {.rows = 1, .cols = 2, .c = 1, .h = 4, .w = 4, .zoom = 10, .lo = 0, .hi = 1};
    const char *caps[2] = {"4 -> 9", "1 -> 7"};
    g.captions = caps;
    g.title = "2 of 5 misclassified shown";
    float t[32] = {0};
    dlx_err e = {0};
    ck_assert_int_eq(dlx_png_write_grid(tpath("t.png"), &g, t, 2, &e), 0);
    uint8_t *px;
    int w, h, c;
    ck_assert_int_eq(dlx_png_read(tpath("t.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(w, 2 * 41 + 1);
    ck_assert_int_eq(h, 13 + 40 + 11 + 2); /* title band, tile, caption band, 2 borders */
    int title_ink = 0, cap_ink = 0;
    for (int y = 0; y < 13; y++)
        for (int x = 0; x < w; x++)
            title_ink += px[y * w + x] == 0;
    /* caption of tile 0: rows 13 + 1 + 40 .. + 11, x 1..40, white on 32 */
    for (int y = 54; y < 65; y++)
        for (int x = 1; x < 41; x++) {
            uint8_t v = px[y * w + x];
            ck_assert(v == 32 || v == 255);
            cap_ink += v == 255;
        }
    int want = 0;
    for (int i = 0; caps[0][i]; i++)
        for (int gy = 0; gy < 7; gy++)
            for (int gx = 0; gx < 5; gx++)
                want += dlx_font_pixel(caps[0][i], gx, gy);
    ck_assert_int_eq(cap_ink, want);
    ck_assert_int_gt(title_ink, 100);
    free(px);
    /* the mode any new file gets (umask), not mkstemp's 0600 */
    mode_t mask = umask(022);
    ck_assert_int_eq(dlx_png_write_grid(tpath("m.png"), &g, t, 2, &e), 0);
    umask(mask);
    struct stat st;
    ck_assert_int_eq(stat(tpath("m.png"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
}
END_TEST

/* filters: a near-square grid, each kernel at least 48 pixels; units: the
 * rows of a linear weight as images. */
START_TEST(test_filters_and_units_layout)
{
    float wts[16 * 9];
    for (int i = 0; i < 16 * 9; i++)
        wts[i] = (float)(i % 7) - 3.0f;
    dlx_err e = {0};
    ck_assert_int_eq(dlx_png_write_filters(tpath("k.png"), wts, 16, 1, 3, 3, &e), 0);
    uint8_t *px;
    int w, h, c;
    ck_assert_int_eq(dlx_png_read(tpath("k.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(w, 4 * (48 + 2) + 2);
    ck_assert_int_eq(h, 4 * (48 + 2) + 2);
    ck_assert_int_eq(c, 3);
    free(px);
    /* 8 filters over 4 input channels: a row per filter */
    float w4[8 * 4 * 25] = {0};
    ck_assert_int_eq(dlx_png_write_filters(tpath("k4.png"), w4, 8, 4, 5, 5, &e), 0);
    ck_assert_int_eq(dlx_png_read(tpath("k4.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(w, 4 * (50 + 2) + 2);
    ck_assert_int_eq(h, 8 * (50 + 2) + 2);
    free(px);
    float *u = calloc(30 * 784, sizeof *u);
    ck_assert_int_eq(dlx_png_write_units(tpath("u.png"), u, 30, 1, 28, 28, &e), 0);
    ck_assert_int_eq(dlx_png_read(tpath("u.png"), &px, &w, &h, &c, &e), 0);
    ck_assert_int_eq(w, 6 * (56 + 2) + 2);
    ck_assert_int_eq(h, 5 * (56 + 2) + 2);
    free(px);
    ck_assert_int_eq(dlx_png_write_units(tpath("u2.png"), u, 30, 2, 28, 14, &e), DLX_EINVAL);
    free(u);
}
END_TEST

Suite *png_suite(void)
{
    Suite *s = suite_create("png");
    TCase *tc = tcase_create("png");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_grid_grey_layout);
    tcase_add_test(tc, test_grid_per_tile_range);
    tcase_add_test(tc, test_grid_rgb);
    tcase_add_test(tc, test_grid_bad_args);
    tcase_add_test(tc, test_raw_rgba_roundtrip);
    tcase_add_test(tc, test_read_palette_16bit_grey_alpha);
    tcase_add_test(tc, test_read_errors);
    tcase_add_test(tc, test_write_unwritable);
    tcase_add_test(tc, test_font_glyphs_and_draw);
    tcase_add_test(tc, test_grid_symmetric_diverging);
    tcase_add_test(tc, test_grid_captions_title);
    tcase_add_test(tc, test_filters_and_units_layout);
    suite_add_tcase(s, tc);
    return s;
}
