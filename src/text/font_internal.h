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
    /* Filled on first use, so that a process drawing one document looks up only its own
     * characters; threads may fill the same entry, with the same value. CF_BMP_SIZE entries:
     * 1 + the nominal glyph of each BMP code point (1 = none), 0 = not looked up yet. Code
     * points beyond the BMP (a few thousand Hong Kong name characters, rare in a document) are
     * looked up in the font's format 12 cmap each time. */
    _Atomic uint16_t *bmp_glyph;
    /* glyph_count entries, likewise: 1 + the horizontal advance in font units, 0 = not yet. */
    _Atomic uint32_t *advance;
    /* glyph_count entries: hash of each glyph's outline, filled on first use by the subset
     * check (0 = not computed yet); threads may fill the same entry, with the same value. */
    _Atomic uint64_t *outline_hash;
    char family[128];
    char postscript_name[64];
    cf_font_description description;
};

struct cf_codepoints {
    hb_set_t *set;
    /* The BMP code points added so far, a bit each: a filter in front of hb_set_add, which a
     * page's thousands of repeated characters would otherwise each pay for. NULL until the
     * first cf_codepoints_add_utf8 (and when there was no memory for it). */
    uint64_t *seen;
};

/* Big-endian fields of font tables. */
static inline uint16_t cf_get16(const unsigned char *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t cf_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The slow paths of the two below: look up in the font and fill the entry (for a BMP code
 * point; one beyond the BMP is looked up only). */
unsigned cf_font_lookup_glyph(const cf_font *font, uint32_t cp);
unsigned cf_font_lookup_advance(const cf_font *font, unsigned glyph);

/* Nominal glyph of cp in font, 0 when the font lacks it. */
static inline unsigned cf_font_glyph(const cf_font *font, uint32_t cp)
{
    if (cp >= CF_BMP_SIZE)
        return cf_font_lookup_glyph(font, cp);
    unsigned v = atomic_load_explicit(&font->bmp_glyph[cp], memory_order_relaxed);
    return v != 0 ? v - 1 : cf_font_lookup_glyph(font, cp);
}

/* Horizontal advance of glyph (< glyph_count) in font units. */
static inline unsigned cf_font_glyph_advance(const cf_font *font, unsigned glyph)
{
    uint32_t v = atomic_load_explicit(&font->advance[glyph], memory_order_relaxed);
    return v != 0 ? v - 1 : cf_font_lookup_advance(font, glyph);
}

#endif
