/* Fonts through HarfBuzz: coverage, advances, metrics, and per-document subsets for the PDF.
 * A cf_font is parsed once per process and is immutable: every function here is safe to call
 * from several threads at once on the same font. */
#ifndef CF_FONT_H
#define CF_FONT_H

#include "base/diag.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cf_font cf_font;

typedef enum cf_font_style { CF_FONT_REGULAR, CF_FONT_BOLD, CF_FONT_STYLE_COUNT } cf_font_style;

/* The faces used for one region ("HK" or "TW"). */
typedef struct cf_fontset {
    const char *region;
    const cf_font *faces[CF_FONT_STYLE_COUNT];
} cf_fontset;

/* Loads a TrueType (glyf) font file; caller frees with cf_font_free. CF_ERR_NOINPUT when the
 * file cannot be read, CF_ERR_DATA when it is not a single TrueType font with the tables the PDF
 * writer needs (a CFF font or a .ttc collection is refused with a message saying so). */
cf_status cf_font_load(const char *path, cf_font **out, cf_diag *diag);
void cf_font_free(cf_font *font);

/* The process-wide font set for region "HK" or "TW" (fonts/cfsans-<hk|tw>-<regular|bold>.ttf),
 * loaded on first use and kept until exit (cf_fontset_release_all frees them, for leak checks).
 * Thread-safe. Fonts are looked up in $CONSENTFORM_FONTS, then the installed data directory (the
 * source tree's fonts/ instead for a binary run from its build tree: cf_paths_data_dir). */
cf_status cf_fontset_get(const char *region, const cf_fontset **out, cf_diag *diag);
void cf_fontset_release_all(void);

/* True when the font maps cp to a real glyph (beyond U+FFFF too; never U+FFFF itself). */
bool cf_font_has(const cf_font *font, uint32_t cp);
/* First code point of the UTF-8 string s that the font lacks, or 0 when it has them all
 * (also 0 for invalid UTF-8: check validity first). */
uint32_t cf_font_first_missing(const cf_font *font, const char *s, size_t len);

/* Advance of cp at size points, in points (hmtx; no kerning). 0 for a missing glyph. */
double cf_font_advance(const cf_font *font, uint32_t cp, double size);
/* Sum of advances of a UTF-8 string. */
double cf_font_text_width(const cf_font *font, const char *s, size_t len, double size);
/* Ascent (positive) and descent (negative) at size points, from the font's hhea/OS2. */
double cf_font_ascent(const cf_font *font, double size);
double cf_font_descent(const cf_font *font, double size);
/* Family name from the name table (typographic family, else family); owned by the font. */
const char *cf_font_family(const cf_font *font);

/* What a PDF font descriptor says of a face; lengths in 1/1000 em. */
typedef struct cf_font_description {
    const char *postscript_name; /* name ID 6, printable ASCII only; owned by the font */
    long bbox[4];                /* head: xMin, yMin, xMax, yMax */
    long ascent, descent;        /* as cf_font_ascent/cf_font_descent */
    long cap_height;             /* OS/2 sCapHeight, else the ascent */
    long x_height;               /* OS/2 sxHeight, 0 when the font does not say */
    long stem_v;                 /* estimated from the weight class */
    unsigned weight;             /* OS/2 usWeightClass */
    double italic_angle;         /* degrees, counter-clockwise from vertical */
} cf_font_description;
void cf_font_describe(const cf_font *font, cf_font_description *out);

/* Set of code points (a document's characters). */
typedef struct cf_codepoints cf_codepoints;
cf_codepoints *cf_codepoints_new(void);
void cf_codepoints_free(cf_codepoints *set);
/* Adds every code point of a valid UTF-8 string. */
void cf_codepoints_add_utf8(cf_codepoints *set, const char *s, size_t len);
void cf_codepoints_add(cf_codepoints *set, uint32_t cp);
size_t cf_codepoints_size(const cf_codepoints *set);
/* Steps through set in increasing order: start with *cp = CF_CODEPOINTS_START; each call
 * stores the next code point and returns true, or returns false after the last. */
#define CF_CODEPOINTS_START UINT32_MAX
bool cf_codepoints_next(const cf_codepoints *set, uint32_t *cp);

/* Builds a small TrueType font holding just the glyphs of set (plus .notdef), with glyph ids
 * renumbered small and a compact cmap, ready to be embedded; *data is freed by the caller with
 * cf_free. Characters of set the font lacks are left out. The result is checked against the
 * font (every character drawn the same, nothing else mapped) before it is returned; a failed
 * check is CF_ERR_INTERNAL. Thread-safe. */
cf_status cf_font_subset(const cf_font *font, const cf_codepoints *set, unsigned char **data,
                         size_t *len, cf_diag *diag);

/* Where the glyph records of an ordered subset lie: the glyf table is the end of the file, from
 * glyf_offset; its first base_len bytes are the records of .notdef and of the characters of
 * base, and are the same bytes for every set that holds base (so a caller can compress them
 * once for many documents). base_len = 0 (and glyf_offset = the length) when the subset could
 * not be ordered so. */
typedef struct cf_subset_layout {
    size_t glyf_offset;
    size_t base_len;
    /* The n characters the subset maps, in increasing order, and the glyph id each has in it
     * (cps[i] -> glyphs[i]); owned, freed by cf_subset_layout_cleanup. */
    uint32_t *cps;
    uint16_t *glyphs;
    size_t n;
} cf_subset_layout;

/* cf_font_subset with the glyphs of base (may be NULL) first, glyf last, long loca offsets,
 * one full metric per glyph and a post table without glyph names; same checks. *layout is
 * filled also when the call fails (empty then); release it with cf_subset_layout_cleanup. */
cf_status cf_font_subset_ordered(const cf_font *font, const cf_codepoints *set,
                                 const cf_codepoints *base, unsigned char **data, size_t *len,
                                 cf_subset_layout *layout, cf_diag *diag);
void cf_subset_layout_cleanup(cf_subset_layout *layout);
#endif
