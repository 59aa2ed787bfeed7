/* A small built-in bitmap font (5x7 glyphs on a 6x8 cell) for text in PNGs
 * that dlx draws itself with libpng (captions, axis labels, counts), where
 * gnuplot may be missing. ASCII 32..126: digits, both cases of letters and
 * the punctuation of labels ("4 -> 9", "true", "12%"); any other byte draws
 * as '?'. Text is drawn into 8-bit images of c interleaved channels and is
 * clipped at the image's edges.
 */
#ifndef DLX_FONT_H
#define DLX_FONT_H

#include <stdint.h>

#define DLX_FONT_GLYPH_W 5
#define DLX_FONT_GLYPH_H 7
#define DLX_FONT_ADVANCE 6 /* one glyph and one blank column */

/* Width in pixels of text drawn at `scale` (each glyph pixel scale x scale),
 * without the trailing blank column. */
int dlx_font_width(const char *text, int scale);
/* Height in pixels of a line at scale. */
int dlx_font_height(int scale);
/* Text with its top-left corner at (x, y), left to right. */
void dlx_font_draw(uint8_t *img, int w, int h, int c, int x, int y, const char *text, int scale,
                   const uint8_t *color);
/* Text turned 90 degrees counter-clockwise (read bottom to top, as a y-axis
 * label), its bottom-left corner at (x, y). */
void dlx_font_draw_up(uint8_t *img, int w, int h, int c, int x, int y, const char *text, int scale,
                      const uint8_t *color);
/* 1 when glyph pixel (gx, gy) of ch is set (for tests). */
int dlx_font_pixel(char ch, int gx, int gy);

#endif
