/* Private to src/text/: the bodies of cf_font and cf_codepoints, shared by font.c (loading,
 * metrics, font sets) and subset.c (per-document subsets). Includes HarfBuzz, so it must not be
 * included outside src/text/. */
#ifndef CF_FONT_INTERNAL_H
#define CF_FONT_INTERNAL_H

#include "text/font.h"

#include <hb.h>

#include <stdatomic.h>
#include <stdint.h>

#define CF_BMP_SIZE 0x10000u

struct cf_font {
    hb_blob_t *blob; /* the mapped file */
    hb_face_t *face;
    hb_font_t *hb; /* scale = units_per_em, immutable after load */
    char *path;    /* for messages; owned */
    unsigned upem;
    unsigned glyph_count;
    hb_position_t ascender;  /* font units, positive */
    hb_position_t descender; /* font units, negative */
    uint16_t *bmp_glyph; /* CF_BMP_SIZE entries: nominal glyph of each BMP code point, 0 = none */
    uint16_t *advance;   /* glyph_count entries: horizontal advance in font units */
    /* glyph_count entries: hash of each glyph's outline, filled on first use by the subset
     * check (0 = not computed yet); threads may fill the same entry, with the same value. */
    _Atomic uint64_t *outline_hash;
    char family[128];
};

struct cf_codepoints {
    hb_set_t *set;
};

/* Nominal glyph of cp in font, 0 when the font lacks it (always 0 above U+FFFF). */
static inline unsigned cf_font_glyph(const cf_font *font, uint32_t cp)
{
    return cp < CF_BMP_SIZE ? font->bmp_glyph[cp] : 0;
}

#endif
