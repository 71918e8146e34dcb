/* Private hooks of src/text/ for its tests and benchmarks: the subsetter with a choice of cmap
 * (to compare the compact cmap with HarfBuzz's own) and glyph extents. No HarfBuzz types here,
 * so tests can include it; nothing outside src/text/ and tests/ should. */
#ifndef CF_FONT_TESTING_H
#define CF_FONT_TESTING_H

#include "text/font.h"

typedef enum cf_subset_cmap {
    CF_SUBSET_CMAP_COMPACT,  /* few format-4 segments (what cf_font_subset makes) */
    CF_SUBSET_CMAP_HARFBUZZ, /* the cmap hb-subset writes: one segment per run of characters */
} cf_subset_cmap;

/* cf_font_subset with the cmap chosen by cmap; same ownership and checks. */
cf_status cf_font_subset_with(const cf_font *font, const cf_codepoints *set, cf_subset_cmap cmap,
                              unsigned char **data, size_t *len, cf_diag *diag);

/* Ink box of cp's glyph in font units: x bearing, y bearing, width, height (HarfBuzz's glyph
 * extents). False when the font lacks cp. */
bool cf_font_glyph_extents(const cf_font *font, uint32_t cp, long extents[4]);

/* The font's units per em. */
unsigned cf_font_units_per_em(const cf_font *font);

#endif
