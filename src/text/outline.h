/* Glyph outlines through HarfBuzz, for backends that draw text as shapes (the SVG preview):
 * which glyph a character is drawn with, and that glyph's outline as SVG path data. */
#ifndef CF_OUTLINE_H
#define CF_OUTLINE_H

#include "base/status.h"
#include "text/font.h"

#include <stddef.h>
#include <stdint.h>

/* Glyph id the font draws cp with (the cmap's nominal glyph, as the PDF backend uses), 0 when
 * the font lacks cp. */
unsigned cf_font_glyph_of(const cf_font *font, uint32_t cp);
/* Number of glyphs of the font (glyph ids are below it). */
unsigned cf_font_glyph_total(const cf_font *font);
/* Units per em: outline coordinates divided by this are ems. */
unsigned cf_font_units_per_em(const cf_font *font);

/* The outline of glyph as SVG path data in font units, y upwards: each subpath an absolute
 * move (M) then relative lines, quadratic and cubic curves (l, q, c; a repeated letter left
 * out) and Z; whole numbers, e.g. "M201 519l0-33 158 0 0 33Z". An empty string for a glyph
 * with no outline (a space). Caller frees *d with cf_free. CF_ERR_NOMEM, or CF_ERR_LIMIT for
 * an outline over 4 MB. Thread-safe. */
cf_status cf_font_glyph_outline(const cf_font *font, unsigned glyph, char **d, size_t *len);

#endif
