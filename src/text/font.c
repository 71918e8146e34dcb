/* Fonts through HarfBuzz: loading and checking a TrueType file, coverage and advances (from
 * tables filled on first use, lock-free: a BMP character costs one HarfBuzz lookup per process,
 * and a process that draws one document looks up its few hundred characters, not the 65,536 of
 * the BMP; characters beyond it are looked up each time), code point sets, and the process-wide
 * font sets per region. Subsetting is in subset.c. */
#include "text/font.h"

#include "base/alloc.h"
#include "base/paths.h"
#include "base/utf8.h"
#include "text/font_internal.h"
#include "text/font_testing.h"

#include <hb-ot.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Tables the PDF backend (libharu) and our own code read; a font without one is refused. */
static const struct {
    hb_tag_t tag;
    const char *name;
} required_tables[] = {
    {HB_TAG('h', 'e', 'a', 'd'), "head"}, {HB_TAG('h', 'h', 'e', 'a'), "hhea"},
    {HB_TAG('h', 'm', 't', 'x'), "hmtx"}, {HB_TAG('m', 'a', 'x', 'p'), "maxp"},
    {HB_TAG('c', 'm', 'a', 'p'), "cmap"}, {HB_TAG('g', 'l', 'y', 'f'), "glyf"},
    {HB_TAG('l', 'o', 'c', 'a'), "loca"}, {HB_TAG('n', 'a', 'm', 'e'), "name"},
    {HB_TAG('O', 'S', '/', '2'), "OS/2"},
};

/* Length of table tag in face (0 when absent). */
static unsigned table_length(hb_face_t *face, hb_tag_t tag)
{
    hb_blob_t *blob = hb_face_reference_table(face, tag);
    unsigned len = hb_blob_get_length(blob);
    hb_blob_destroy(blob);
    return len;
}

/* Checks the sfnt signature: a single TrueType font, not a collection or a CFF font. */
static cf_status check_signature(hb_blob_t *blob, const char *path, cf_diag *diag)
{
    unsigned len = 0;
    const unsigned char *data = (const unsigned char *)hb_blob_get_data(blob, &len);
    if (len < 12 || !data) {
        cf_diag_error(diag, path, 0, "this is not a font file (only %u bytes)", len);
        return CF_ERR_DATA;
    }
    if (memcmp(data, "\x00\x01\x00\x00", 4) == 0 || memcmp(data, "true", 4) == 0)
        return CF_OK;
    if (memcmp(data, "OTTO", 4) == 0)
        cf_diag_error(diag, path, 0,
                      "this is an OpenType font with PostScript (CFF) outlines; the PDF "
                      "writer needs TrueType (glyf) outlines");
    else if (memcmp(data, "ttcf", 4) == 0)
        cf_diag_error(diag, path, 0,
                      "this is a font collection (.ttc); a single TrueType font (.ttf) is "
                      "needed");
    else
        cf_diag_error(diag, path, 0, "this is not a TrueType font file");
    return CF_ERR_DATA;
}

/* Copies the name with id name_id (English if there is one) into out; false when absent. */
static bool read_name(hb_face_t *face, hb_ot_name_id_t name_id, char *out, unsigned size)
{
    unsigned len = size;
    unsigned got = hb_ot_name_get_utf8(face, name_id, hb_language_from_string("en", 2), &len, out);
    if (got == 0) {
        len = size;
        got = hb_ot_name_get_utf8(face, name_id, HB_LANGUAGE_INVALID, &len, out);
    }
    return got > 0 && out[0] != '\0';
}

unsigned cf_font_lookup_glyph(const cf_font *font, uint32_t cp)
{
    hb_codepoint_t g = 0;
    unsigned glyph = 0;
    /* U+FFFF is a noncharacter (and the end marker of format-4 cmaps): never mapped. */
    if (cp != 0xFFFF && cp <= 0x10FFFF && hb_font_get_nominal_glyph(font->hb, cp, &g) && g != 0 &&
        g < font->glyph_count)
        glyph = (unsigned)g;
    if (cp < CF_BMP_SIZE)
        atomic_store_explicit(&font->bmp_glyph[cp], (uint16_t)(glyph + 1), memory_order_relaxed);
    return glyph;
}

unsigned cf_font_lookup_advance(const cf_font *font, unsigned glyph)
{
    hb_position_t adv = hb_font_get_glyph_h_advance(font->hb, glyph);
    unsigned v = (unsigned)(adv < 0 ? 0 : adv > 0xFFFF ? 0xFFFF : adv);
    atomic_store_explicit(&font->advance[glyph], (uint32_t)v + 1, memory_order_relaxed);
    return v;
}

/* True when the cmap table has a Unicode subtable (platform 0, or Windows 3 with encoding 1
 * or 10): HarfBuzz maps characters through those only. */
static bool has_unicode_cmap(hb_face_t *face)
{
    hb_blob_t *blob = hb_face_reference_table(face, HB_TAG('c', 'm', 'a', 'p'));
    unsigned len = 0;
    const unsigned char *d = (const unsigned char *)hb_blob_get_data(blob, &len);
    bool found = false;
    unsigned n = d && len >= 4 ? cf_get16(d + 2) : 0;
    for (unsigned i = 0; i < n && 4 + 8 * (size_t)i + 8 <= len && !found; i++) {
        const unsigned char *rec = d + 4 + 8 * i;
        unsigned platform = cf_get16(rec), encoding = cf_get16(rec + 2);
        uint32_t offset = cf_get32(rec + 4);
        found =
            offset < len && (platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10)));
    }
    hb_blob_destroy(blob);
    return found;
}

static long to_thousandths(const cf_font *font, long units)
{
    double v = (double)units * 1000.0 / (double)font->upem;
    return (long)(v < 0 ? v - 0.5 : v + 0.5);
}

/* Fills font->description (the PDF font descriptor's values). */
static cf_status describe(cf_font *font, cf_diag *diag)
{
    cf_font_description *d = &font->description;
    if (!read_name(font->face, HB_OT_NAME_ID_POSTSCRIPT_NAME, font->postscript_name,
                   sizeof font->postscript_name)) {
        cf_diag_error(diag, font->path, 0, "the font has no PostScript name (name ID 6)");
        return CF_ERR_DATA;
    }
    /* A PDF name of printable ASCII without delimiters, as PostScript names are. */
    for (const char *c = font->postscript_name; *c; c++)
        if (*c <= ' ' || *c > '~' || strchr("()<>[]{}/%#", *c)) {
            cf_diag_error(diag, font->path, 0,
                          "the font's PostScript name \"%s\" has a character a PDF font name "
                          "cannot hold",
                          font->postscript_name);
            return CF_ERR_DATA;
        }
    d->postscript_name = font->postscript_name;

    hb_blob_t *head = hb_face_reference_table(font->face, HB_TAG('h', 'e', 'a', 'd'));
    unsigned head_len = 0;
    const unsigned char *h = (const unsigned char *)hb_blob_get_data(head, &head_len);
    if (!h || head_len < 54) {
        hb_blob_destroy(head);
        cf_diag_error(diag, font->path, 0, "the font's head table is cut short");
        return CF_ERR_DATA;
    }
    for (int i = 0; i < 4; i++)
        d->bbox[i] = to_thousandths(font, (int16_t)cf_get16(h + 36 + 2 * i));
    hb_blob_destroy(head);

    d->ascent = to_thousandths(font, font->ascender);
    d->descent = to_thousandths(font, font->descender);
    hb_position_t v = 0;
    d->cap_height = hb_ot_metrics_get_position(font->hb, HB_OT_METRICS_TAG_CAP_HEIGHT, &v) && v > 0
                        ? to_thousandths(font, v)
                        : d->ascent;
    v = 0;
    d->x_height = hb_ot_metrics_get_position(font->hb, HB_OT_METRICS_TAG_X_HEIGHT, &v) && v > 0
                      ? to_thousandths(font, v)
                      : 0;
    hb_blob_t *os2 = hb_face_reference_table(font->face, HB_TAG('O', 'S', '/', '2'));
    unsigned os2_len = 0;
    const unsigned char *o = (const unsigned char *)hb_blob_get_data(os2, &os2_len);
    d->weight = o && os2_len >= 6 ? cf_get16(o + 4) : 400;
    hb_blob_destroy(os2);
    if (d->weight < 1 || d->weight > 1000)
        d->weight = 400;
    /* PDF wants the dominant vertical stem width; fonts do not record it. The usual estimate
     * from the weight class: 10 at 50 rising to 230 at 950 (about 85 regular, 150 bold). */
    double w = ((double)d->weight - 50.0) / 900.0;
    d->stem_v = (long)(10.0 + 220.0 * w * w + 0.5);
    d->italic_angle = (double)hb_style_get_value(font->hb, HB_STYLE_TAG_SLANT_ANGLE);
    return CF_OK;
}

void cf_font_describe(const cf_font *font, cf_font_description *out)
{
    *out = font->description;
}

cf_status cf_font_load(const char *path, cf_font **out, cf_diag *diag)
{
    cf_status st = CF_OK;
    cf_font *font = NULL;
    *out = NULL;

    struct stat sb;
    if (stat(path, &sb) != 0) {
        char reason[128];
        if (strerror_r(errno, reason, sizeof reason) != 0)
            snprintf(reason, sizeof reason, "error %d", errno);
        cf_diag_error(diag, path, 0, "cannot open the font file: %s", reason);
        st = CF_ERR_NOINPUT;
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode)) {
        cf_diag_error(diag, path, 0, "the font path is not a regular file");
        st = CF_ERR_NOINPUT;
        goto cleanup;
    }

    font = cf_calloc(1, sizeof *font);
    if (!font || !(font->path = cf_strdup(path))) {
        cf_diag_error(diag, path, 0, "out of memory loading the font");
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    font->blob = hb_blob_create_from_file_or_fail(path);
    if (!font->blob) {
        cf_diag_error(diag, path, 0, "cannot read the font file");
        st = CF_ERR_NOINPUT;
        goto cleanup;
    }
    st = check_signature(font->blob, path, diag);
    if (st)
        goto cleanup;

    font->face = hb_face_create(font->blob, 0);
    font->glyph_count = hb_face_get_glyph_count(font->face);
    font->upem = hb_face_get_upem(font->face);
    for (size_t i = 0; i < sizeof required_tables / sizeof required_tables[0]; i++) {
        if (table_length(font->face, required_tables[i].tag) == 0) {
            cf_diag_error(diag, path, 0, "the font has no '%s' table%s", required_tables[i].name,
                          required_tables[i].tag == HB_TAG('g', 'l', 'y', 'f')
                              ? " (TrueType outlines are needed)"
                              : "");
            st = CF_ERR_DATA;
            goto cleanup;
        }
    }
    if (font->glyph_count < 2 || font->upem < 16 || font->upem > 16384) {
        cf_diag_error(diag, path, 0, "the font is damaged (%u glyphs, %u units per em)",
                      font->glyph_count, font->upem);
        st = CF_ERR_DATA;
        goto cleanup;
    }

    font->hb = hb_font_create(font->face);
    hb_font_set_scale(font->hb, (int)font->upem, (int)font->upem);
    hb_font_make_immutable(font->hb);

    font->bmp_glyph = cf_calloc(CF_BMP_SIZE, sizeof *font->bmp_glyph);
    font->advance = cf_calloc(font->glyph_count, sizeof *font->advance);
    font->outline_hash = cf_calloc(font->glyph_count, sizeof *font->outline_hash);
    if (!font->bmp_glyph || !font->advance || !font->outline_hash) {
        cf_diag_error(diag, path, 0, "out of memory loading the font");
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    if (!has_unicode_cmap(font->face)) {
        cf_diag_error(diag, path, 0, "the font maps no Unicode character (no usable cmap)");
        st = CF_ERR_DATA;
        goto cleanup;
    }

    hb_font_extents_t extents;
    memset(&extents, 0, sizeof extents);
    hb_font_get_h_extents(font->hb, &extents);
    font->ascender = extents.ascender;
    font->descender = extents.descender;
    if (font->ascender <= 0 || font->descender > 0) {
        cf_diag_error(diag, path, 0, "the font has no usable ascender/descender (%d, %d)",
                      (int)font->ascender, (int)font->descender);
        st = CF_ERR_DATA;
        goto cleanup;
    }
    if (!read_name(font->face, HB_OT_NAME_ID_TYPOGRAPHIC_FAMILY, font->family,
                   sizeof font->family) &&
        !read_name(font->face, HB_OT_NAME_ID_FONT_FAMILY, font->family, sizeof font->family)) {
        cf_diag_error(diag, path, 0, "the font has no family name");
        st = CF_ERR_DATA;
        goto cleanup;
    }

    st = describe(font, diag);
    if (st)
        goto cleanup;

    *out = font;
    font = NULL;

cleanup:
    cf_font_free(font);
    return st;
}

void cf_font_free(cf_font *font)
{
    if (!font)
        return;
    hb_font_destroy(font->hb);
    hb_face_destroy(font->face);
    hb_blob_destroy(font->blob);
    cf_free((void *)(uintptr_t)font->bmp_glyph);
    cf_free((void *)(uintptr_t)font->advance);
    cf_free((void *)(uintptr_t)font->outline_hash);
    cf_free(font->path);
    cf_free(font);
}

bool cf_font_has(const cf_font *font, uint32_t cp)
{
    return cf_font_glyph(font, cp) != 0;
}

uint32_t cf_font_first_missing(const cf_font *font, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return 0;
        if (!cf_font_has(font, cp))
            return cp;
        i += n;
    }
    return 0;
}

double cf_font_advance(const cf_font *font, uint32_t cp, double size)
{
    unsigned glyph = cf_font_glyph(font, cp);
    if (glyph == 0)
        return 0.0;
    return (double)cf_font_glyph_advance(font, glyph) * size / (double)font->upem;
}

double cf_font_text_width(const cf_font *font, const char *s, size_t len, double size)
{
    /* Integer font units are summed exactly and scaled once. */
    unsigned long long units = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            i++;
            continue;
        }
        unsigned glyph = cf_font_glyph(font, cp);
        if (glyph != 0)
            units += cf_font_glyph_advance(font, glyph);
        i += n;
    }
    return (double)units * size / (double)font->upem;
}

double cf_font_ascent(const cf_font *font, double size)
{
    return (double)font->ascender * size / (double)font->upem;
}

double cf_font_descent(const cf_font *font, double size)
{
    return (double)font->descender * size / (double)font->upem;
}

const char *cf_font_family(const cf_font *font)
{
    return font->family;
}

bool cf_font_glyph_extents(const cf_font *font, uint32_t cp, long extents[4])
{
    unsigned glyph = cf_font_glyph(font, cp);
    hb_glyph_extents_t ext;
    if (glyph == 0 || !hb_font_get_glyph_extents(font->hb, glyph, &ext))
        return false;
    extents[0] = ext.x_bearing;
    extents[1] = ext.y_bearing;
    extents[2] = ext.width;
    extents[3] = ext.height;
    return true;
}

unsigned cf_font_units_per_em(const cf_font *font)
{
    return font->upem;
}

/* ---- code point sets ---- */

cf_codepoints *cf_codepoints_new(void)
{
    cf_codepoints *set = cf_calloc(1, sizeof *set);
    if (!set)
        return NULL;
    set->set = hb_set_create();
    if (!hb_set_allocation_successful(set->set)) {
        cf_codepoints_free(set);
        return NULL;
    }
    return set;
}

void cf_codepoints_free(cf_codepoints *set)
{
    if (!set)
        return;
    hb_set_destroy(set->set);
    cf_free(set->seen);
    cf_free(set);
}

static void add_codepoint(cf_codepoints *set, uint32_t cp)
{
    if (set->seen != NULL && cp < 0x10000) {
        uint64_t bit = UINT64_C(1) << (cp & 63);
        if (set->seen[cp >> 6] & bit)
            return;
        set->seen[cp >> 6] |= bit;
    }
    hb_set_add(set->set, cp);
}

void cf_codepoints_add_utf8(cf_codepoints *set, const char *s, size_t len)
{
    if (set->seen == NULL && len > 0 && (set->seen = cf_calloc(0x10000 / 64, sizeof(uint64_t)))) {
        /* The filter starts with what the set already has. */
        for (hb_codepoint_t c = HB_SET_VALUE_INVALID; hb_set_next(set->set, &c) && c < 0x10000;)
            set->seen[c >> 6] |= UINT64_C(1) << (c & 63);
    }
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            i++;
            continue;
        }
        add_codepoint(set, cp);
        i += n;
    }
}

void cf_codepoints_add(cf_codepoints *set, uint32_t cp)
{
    add_codepoint(set, cp);
}

size_t cf_codepoints_size(const cf_codepoints *set)
{
    return hb_set_get_population(set->set);
}

bool cf_codepoints_next(const cf_codepoints *set, uint32_t *cp)
{
    hb_codepoint_t c = *cp == CF_CODEPOINTS_START ? HB_SET_VALUE_INVALID : *cp;
    if (!hb_set_next(set->set, &c))
        return false;
    *cp = c;
    return true;
}

/* ---- process-wide font sets ---- */

/* One region's faces, file names cfsans-<tag>-<style>.ttf. */
typedef struct region_fonts {
    const char *region;
    const char *file_tag;
    cf_font *faces[CF_FONT_STYLE_COUNT];
    cf_fontset set;
    bool loaded;
} region_fonts;

static const char *const style_file_names[CF_FONT_STYLE_COUNT] = {"regular", "bold"};

static pthread_mutex_t fontset_lock = PTHREAD_MUTEX_INITIALIZER;
static region_fonts fontsets[] = {
    {.region = "HK", .file_tag = "hk"},
    {.region = "TW", .file_tag = "tw"},
};

/* Finds file_name in the font directories, in order: $CONSENTFORM_FONTS, then the installed
 * data directory (the source tree instead for a binary run from its build tree). On success path
 * holds the first existing file. */
static cf_status find_font_file(const char *file_name, char *path, size_t path_size, cf_diag *diag)
{
    const char *env = getenv("CONSENTFORM_FONTS");
    /* The program's own fonts: installed, or the source tree's for a build-tree binary only. */
    char own[PATH_MAX];
    snprintf(own, sizeof own, "%s/fonts", cf_paths_data_dir());
    const char *candidates[2] = {env && env[0] != '\0' ? env : NULL, own};
    const char *dirs[2];
    size_t n_dirs = 0;
    for (size_t c = 0; c < 2; c++) {
        bool seen = !candidates[c];
        /* dirs[0..n_dirs) are set: the loop never reads past them. */
        for (size_t d = 0; d < n_dirs && !seen; d++)
            /* cppcheck-suppress uninitvar */
            seen = strcmp(dirs[d], candidates[c]) == 0;
        if (!seen)
            dirs[n_dirs++] = candidates[c];
    }

    char tried[2 * (PATH_MAX + 24)];
    size_t tried_len = 0;
    tried[0] = '\0';
    for (size_t i = 0; i < n_dirs; i++) {
        int w = snprintf(path, path_size, "%s/%s", dirs[i], file_name);
        if (w < 0 || (size_t)w >= path_size) {
            cf_diag_error(diag, NULL, 0, "font directory path too long: %s", dirs[i]);
            return CF_ERR_NOINPUT;
        }
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            return CF_OK;
        w = snprintf(tried + tried_len, sizeof tried - tried_len, "%s%s%s", i ? ", " : "", path,
                     dirs[i] == candidates[0] ? " ($CONSENTFORM_FONTS)" : "");
        if (w > 0 && (size_t)w < sizeof tried - tried_len)
            tried_len += (size_t)w;
    }
    cf_diag_error(diag, NULL, 0,
                  "font file %s not found; looked for %s (set CONSENTFORM_FONTS to the folder "
                  "that holds the fonts)",
                  file_name, tried);
    return CF_ERR_NOINPUT;
}

/* Loads both faces of one region (caller holds fontset_lock). */
static cf_status load_region(region_fonts *rf, cf_diag *diag)
{
    cf_status st = CF_OK;
    cf_font *faces[CF_FONT_STYLE_COUNT] = {NULL};
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        char file_name[64];
        char path[PATH_MAX];
        snprintf(file_name, sizeof file_name, "cfsans-%s-%s.ttf", rf->file_tag,
                 style_file_names[s]);
        st = find_font_file(file_name, path, sizeof path, diag);
        if (st)
            goto cleanup;
        st = cf_font_load(path, &faces[s], diag);
        if (st)
            goto cleanup;
    }
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        rf->faces[s] = faces[s];
        rf->set.faces[s] = faces[s];
        faces[s] = NULL;
    }
    rf->set.region = rf->region;
    rf->loaded = true;

cleanup:
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
        cf_font_free(faces[s]);
    return st;
}

cf_status cf_fontset_get(const char *region, const cf_fontset **out, cf_diag *diag)
{
    *out = NULL;
    region_fonts *rf = NULL;
    for (size_t i = 0; region && i < sizeof fontsets / sizeof fontsets[0]; i++)
        if (strcmp(region, fontsets[i].region) == 0)
            rf = &fontsets[i];
    if (!rf) {
        cf_diag_error(diag, NULL, 0, "no fonts for region \"%s\" (known regions: HK, TW)",
                      region ? region : "(none)");
        return CF_ERR_DATA;
    }
    pthread_mutex_lock(&fontset_lock);
    cf_status st = rf->loaded ? CF_OK : load_region(rf, diag);
    if (st == CF_OK)
        *out = &rf->set;
    pthread_mutex_unlock(&fontset_lock);
    return st;
}

void cf_fontset_release_all(void)
{
    pthread_mutex_lock(&fontset_lock);
    for (size_t i = 0; i < sizeof fontsets / sizeof fontsets[0]; i++) {
        region_fonts *rf = &fontsets[i];
        for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
            cf_font_free(rf->faces[s]);
            rf->faces[s] = NULL;
            rf->set.faces[s] = NULL;
        }
        rf->loaded = false;
    }
    pthread_mutex_unlock(&fontset_lock);
}
