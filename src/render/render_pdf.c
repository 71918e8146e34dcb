/* PDF backend: paints display lists with libharu 2.3.0. The only file that includes hpdf.h.
 *
 * Fonts: for each document the characters drawn in each style are collected, the face is cut
 * down to them with HarfBuzz (cf_font_subset_ordered: small glyph ids, compact cmap) and that small
 * TrueType font is handed to libharu from memory. libharu 2.3.0 has no public call for that, so
 * the font definition is built with the functions its own HPDF_LoadTTFontFromFile uses, which
 * the library exports (hpdf_fontdef.h, hpdf_streams.h, hpdf_doc.h). Nothing is written to disk.
 * libharu's /ToUnicode map for such a font is not one (see fix_to_unicode); we rewrite it.
 *
 * Speed: libharu would copy the font once more at save time (its own subsetting, pointless on a
 * subset) and deflate it, the 128 KB CIDToGIDMap and the pages at zlib's default level. Instead
 * the font's descriptor is made right after loading (describe_font), and the font streams
 * (FontFile2, CIDToGIDMap, ToUnicode) and page contents are deflated here at
 * CF_PDF_DEFLATE_LEVEL and handed to libharu as finished FlateDecode data (put_deflated). The
 * subset is ordered (cf_font_subset_ordered) so that the glyphs of a run's base characters are
 * one block of bytes, compressed on its own and reused from document to document
 * (deflate_font, cf_glyph_cache): in a batch most of a font is compressed once.
 *
 * Output depends only on the display lists: no clock, no random id, and libharu writes numbers
 * with its own formatting (no locale). One HPDF_Doc per call: safe on several threads. */
#include "render/render_pdf.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "cf_config.h"

#include <hpdf.h>
#include <hpdf_doc.h>
#include <hpdf_fontdef.h>
#include <hpdf_pages.h>
#include <hpdf_streams.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* zlib level of the font streams: measured on a 150 KB subset, level 1 deflates in half the
 * time of level 6 for about 5% more bytes. */
#define CF_PDF_DEFLATE_LEVEL 1

typedef struct hpdf_error {
    HPDF_STATUS code, detail;
    bool nomem;
} hpdf_error;

static void on_error(HPDF_STATUS code, HPDF_STATUS detail, void *user)
{
    hpdf_error *e = user;
    if (e->code == 0) {
        e->code = code;
        e->detail = detail;
    }
    if (code == HPDF_FAILD_TO_ALLOC_MEM)
        e->nomem = true;
}

typedef struct renderer {
    HPDF_Doc pdf;
    hpdf_error error;
    HPDF_Font fonts[CF_FONT_STYLE_COUNT];
    const cf_render_options *options; /* may be NULL */
    cf_diag *diag;
} renderer;

/* The CIDToGIDMap is compressed in chunks of this many bytes (2048 CIDs), each on its own, so
 * that only the chunks holding a document's own characters are compressed per document. */
#define MAP_CHUNK 4096u
#define MAP_BYTES (0xFFFFu * 2)
#define MAP_CHUNKS ((MAP_BYTES + MAP_CHUNK - 1) / MAP_CHUNK)

typedef struct compressed_piece {
    unsigned char *raw, *z;
    size_t raw_len, z_len;
} compressed_piece;

/* Per style, the compressed glyph records of the last document's base characters and the
 * compressed chunks of its CIDToGIDMap. */
struct cf_glyph_cache {
    compressed_piece glyphs[CF_FONT_STYLE_COUNT];
    compressed_piece map[CF_FONT_STYLE_COUNT][MAP_CHUNKS];
};

cf_glyph_cache *cf_glyph_cache_new(void)
{
    return cf_calloc(1, sizeof(cf_glyph_cache));
}

void cf_glyph_cache_free(cf_glyph_cache *cache)
{
    if (cache == NULL)
        return;
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        cf_free(cache->glyphs[s].raw);
        cf_free(cache->glyphs[s].z);
        for (size_t c = 0; c < MAP_CHUNKS; c++) {
            cf_free(cache->map[s][c].raw);
            cf_free(cache->map[s][c].z);
        }
    }
    cf_free(cache);
}

static cf_status fail(renderer *r, const char *what)
{
    HPDF_STATUS code = r->error.code, detail = r->error.detail;
    if (code == 0 && r->pdf != NULL) {
        /* libharu's internal functions (font loading) record an error without calling the
         * handler; the document still has it. */
        code = HPDF_GetError(r->pdf);
        detail = HPDF_GetErrorDetail(r->pdf);
    }
    if (r->error.nomem || code == HPDF_FAILD_TO_ALLOC_MEM)
        return CF_ERR_NOMEM;
    cf_diag_error(r->diag, NULL, 0, "the PDF writer failed %s (libharu error 0x%04X, detail %u)",
                  what, (unsigned)code, (unsigned)detail);
    return CF_ERR_INTERNAL;
}

/* libharu writes a stream's /Filter from its filter flags, and drops the key when there are
 * none; a stream that holds data deflated by us has no flags and names its filter here. */
static HPDF_STATUS write_flate_filter(HPDF_Dict dict, HPDF_Stream stream)
{
    (void)dict;
    return HPDF_Stream_WriteStr(stream, "/Filter /FlateDecode\012");
}

/* zlib stream header: deflate, 32 KB window, fastest level. */
static const unsigned char zlib_header[2] = {0x78, 0x01};

/* Appends data (len bytes) to b as raw deflate blocks from a fresh compressor, ending with a
 * sync flush (more blocks may follow) or, with last, the final block. Pieces made so can be
 * joined: none refers to bytes of another. */
static cf_status raw_deflate_with(cf_buf *b, const unsigned char *data, size_t len, bool last,
                                  int window_bits, int mem_level, int strategy)
{
    if (len > 0x7FFFFFFF)
        return CF_ERR_LIMIT;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int zst =
        deflateInit2(&zs, CF_PDF_DEFLATE_LEVEL, Z_DEFLATED, -window_bits, mem_level, strategy);
    if (zst != Z_OK)
        return zst == Z_MEM_ERROR ? CF_ERR_NOMEM : CF_ERR_INTERNAL;
    size_t room = deflateBound(&zs, (uLong)len) + 16;
    cf_status st = cf_buf_reserve(b, room);
    if (st == CF_OK) {
        zs.next_in = (Bytef *)(uintptr_t)data;
        zs.avail_in = (uInt)len;
        zs.next_out = (Bytef *)b->data + b->len;
        zs.avail_out = (uInt)room;
        zst = deflate(&zs, last ? Z_FINISH : Z_SYNC_FLUSH);
        if ((last && zst != Z_STREAM_END) || (!last && zst != Z_OK) || zs.avail_in != 0)
            st = CF_ERR_INTERNAL;
        else
            b->len += zs.total_out;
        b->data[b->len] = '\0';
    }
    deflateEnd(&zs);
    return st;
}

static cf_status raw_deflate(cf_buf *b, const unsigned char *data, size_t len, bool last)
{
    return raw_deflate_with(b, data, len, last, 15, 8, Z_DEFAULT_STRATEGY);
}

/* Appends to out the raw deflate blocks (sync-flushed) of data, from piece when it holds the
 * same bytes, else compressed now and kept in piece (when not NULL). */
static cf_status deflate_piece(cf_buf *out, const unsigned char *data, size_t len,
                               compressed_piece *piece, int window_bits, int mem_level,
                               int strategy)
{
    if (piece != NULL && piece->raw != NULL && piece->raw_len == len &&
        memcmp(piece->raw, data, len) == 0)
        return cf_buf_append(out, piece->z, piece->z_len);
    size_t before = out->len;
    cf_status st = raw_deflate_with(out, data, len, false, window_bits, mem_level, strategy);
    if (st == CF_OK && piece != NULL) {
        /* Kept only when memory allows; the bytes written are the same either way. */
        unsigned char *raw = cf_malloc(len ? len : 1), *z = cf_malloc(out->len - before);
        if (raw != NULL && z != NULL) {
            memcpy(raw, data, len);
            memcpy(z, out->data + before, out->len - before);
            cf_free(piece->raw);
            cf_free(piece->z);
            *piece = (compressed_piece){raw, z, len, out->len - before};
        } else {
            cf_free(raw);
            cf_free(z);
        }
    }
    return st;
}

/* Appends the Adler-32 of all data (len bytes), which ends a zlib stream. */
static cf_status append_adler(cf_buf *out, const unsigned char *data, size_t len)
{
    uLong adler = adler32_z(adler32(0L, Z_NULL, 0), data, len);
    unsigned char tail[4] = {(unsigned char)(adler >> 24), (unsigned char)(adler >> 16),
                             (unsigned char)(adler >> 8), (unsigned char)adler};
    return cf_buf_append(out, tail, 4);
}

/* Appends the end of a zlib stream of pieces: an empty final block and the Adler-32. */
static cf_status zlib_finish(cf_buf *out, const unsigned char *data, size_t len)
{
    cf_status st = raw_deflate(out, NULL, 0, true);
    return st != CF_OK ? st : append_adler(out, data, len);
}

/* The zlib stream of a font file laid out as cf_font_subset_ordered says: the part before the
 * glyph records, the records of the base characters (taken compressed from cache when the same
 * bytes were compressed for an earlier document), and the rest are compressed separately and
 * joined. The bytes depend only on the font file and its layout, never on the cache. */
static cf_status deflate_font(renderer *r, int style, const unsigned char *data, size_t len,
                              const cf_subset_layout *layout, cf_buf *out)
{
    size_t a = layout->glyf_offset, n = layout->base_len;
    if (a > len || n > len - a)
        return CF_ERR_INTERNAL;
    cf_glyph_cache *cache = r->options != NULL ? r->options->glyph_cache : NULL;
    cf_status st = cf_buf_append(out, zlib_header, 2);
    if (st == CF_OK)
        st = raw_deflate(out, data, a, false);
    if (st == CF_OK && n > 0)
        st = deflate_piece(out, data + a, n, cache ? &cache->glyphs[style] : NULL, 15, 8,
                           Z_DEFAULT_STRATEGY);
    if (st == CF_OK)
        st = raw_deflate(out, data + a + n, len - a - n, false);
    if (st == CF_OK)
        st = zlib_finish(out, data, len);
    return st;
}

/* Puts already deflated data into the stream object dict, marked FlateDecode. */
static cf_status put_compressed(renderer *r, HPDF_Dict dict, const void *z, size_t z_len,
                                const char *what)
{
    if (dict == NULL || dict->stream == NULL || dict->write_fn != NULL || z_len > 0x7FFFFFFF) {
        cf_diag_error(r->diag, NULL, 0, "the PDF writer cannot replace %s", what);
        return CF_ERR_INTERNAL;
    }
    HPDF_MemStream_FreeData(dict->stream);
    if (HPDF_Stream_Write(dict->stream, z, (HPDF_UINT)z_len) != HPDF_OK)
        return fail(r, what);
    dict->filter = HPDF_STREAM_FILTER_NONE;
    dict->write_fn = write_flate_filter;
    return CF_OK;
}

/* Replaces the contents of the stream object dict by data (len bytes) deflated in one piece,
 * marked as FlateDecode data that libharu writes as it is. */
static cf_status put_deflated(renderer *r, HPDF_Dict dict, const void *data, size_t len,
                              const char *what)
{
    cf_buf z;
    cf_buf_init(&z, (size_t)1 << 30);
    cf_status st = cf_buf_append(&z, zlib_header, 2);
    if (st == CF_OK)
        st = raw_deflate(&z, data, len, true);
    if (st == CF_OK)
        st = append_adler(&z, data, len);
    if (st == CF_OK)
        st = put_compressed(r, dict, z.data, z.len, what);
    else if (st != CF_ERR_NOMEM)
        cf_diag_error(r->diag, NULL, 0, "zlib failed to compress %s", what);
    cf_buf_cleanup(&z);
    return st;
}

/* Deflates the contents libharu put in the stream object dict, in place. */
static cf_status deflate_in_place(renderer *r, HPDF_Dict dict, const char *what)
{
    if (dict == NULL || dict->stream == NULL) {
        cf_diag_error(r->diag, NULL, 0, "the PDF writer found no %s", what);
        return CF_ERR_INTERNAL;
    }
    HPDF_UINT32 size = HPDF_Stream_Size(dict->stream);
    unsigned char *raw = cf_malloc(size > 0 ? size : 1);
    if (raw == NULL)
        return CF_ERR_NOMEM;
    HPDF_UINT got = size;
    if (HPDF_Stream_Seek(dict->stream, 0, HPDF_SEEK_SET) != HPDF_OK ||
        (size > 0 && HPDF_Stream_Read(dict->stream, raw, &got) != HPDF_OK) || got != size) {
        cf_free(raw);
        return fail(r, what);
    }
    cf_status st = put_deflated(r, dict, raw, size, what);
    cf_free(raw);
    return st;
}

/* Writes one bfrange line: codes first..last map to the same UTF-16 values. */
static void put_range(cf_buf *b, unsigned first, unsigned last)
{
    cf_buf_printf(b, "<%04X> <%04X> <%04X>\n", first, last, first);
}

/* libharu 2.3.0 gives a font with its UTF-8 encoder the encoding CMap (a CID map with
 * begincidrange) as /ToUnicode. That is not a ToUnicode map: poppler warns about it on every
 * read and readers may extract no text. The codes libharu writes are the characters' BMP code
 * points, so the right map is the identity over the characters of set that the subset holds
 * (those libharu's CIDToGIDMap maps too); it replaces the stream's contents in place. */
static cf_status fix_to_unicode(renderer *r, HPDF_Font font, HPDF_FontDef def,
                                const cf_codepoints *set)
{
    HPDF_Dict cmap = HPDF_Dict_GetItem(font, "ToUnicode", HPDF_OCLASS_DICT);
    if (cmap == NULL || cmap->stream == NULL)
        return fail(r, "to find a font's ToUnicode map");
    cf_buf b;
    cf_buf_init(&b, (size_t)4 * 1024 * 1024);
    cf_buf_append_str(&b, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                          "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> "
                          "def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                          "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    /* Runs of mapped code points within one high byte (a bfrange may not cross one), at most
     * 100 to a block as the CMap format asks. libharu draws BMP characters only (its CIDs are
     * 16 bits; preflight refuses the rest); surrogate codes never map. */
    enum { PER_BLOCK = 100 };
    unsigned ranges[PER_BLOCK][2];
    size_t n = 0;
    for (uint32_t cp = CF_CODEPOINTS_START; cf_codepoints_next(set, &cp) && cp < 0xFFFF;) {
        if ((cp >= 0xD800 && cp <= 0xDFFF) || HPDF_TTFontDef_GetGlyphid(def, (HPDF_UINT16)cp) == 0)
            continue;
        if (n > 0 && ranges[n - 1][1] + 1 == cp && (cp & 0xFF) != 0) {
            ranges[n - 1][1] = cp;
            continue;
        }
        if (n == PER_BLOCK) {
            cf_buf_printf(&b, "%zu beginbfrange\n", n);
            for (size_t i = 0; i < n; i++)
                put_range(&b, ranges[i][0], ranges[i][1]);
            cf_buf_append_str(&b, "endbfrange\n");
            n = 0;
        }
        ranges[n][0] = ranges[n][1] = cp;
        n++;
    }
    if (n > 0) {
        cf_buf_printf(&b, "%zu beginbfrange\n", n);
        for (size_t i = 0; i < n; i++)
            put_range(&b, ranges[i][0], ranges[i][1]);
        cf_buf_append_str(&b, "endbfrange\n");
    }
    cf_buf_append_str(&b, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    if (b.error != CF_OK) {
        cf_status st = b.error;
        cf_buf_cleanup(&b);
        return st;
    }
    /* A ToUnicode stream carries no CMap keys of its own (those named the encoding CMap). */
    static const char *const keys[] = {"Type", "CMapName", "CIDSystemInfo", "WMode"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        HPDF_Dict_RemoveElement(cmap, keys[k]);
    cf_status st = put_deflated(r, cmap, b.data, b.len, "a font's ToUnicode map");
    cf_buf_cleanup(&b);
    return st;
}

/* libharu's CIDToGIDMap for a UTF-8 font: 2 bytes (big-endian glyph id) for each CID, which is
 * the BMP code point, for CIDs 0..U+FFFE. The subset maps exactly the characters of set that
 * the font has (checked when it is made), so the map is built from set, and the 128 KB of
 * mostly zeros compressed here, chunk by chunk, instead of reading back and deflating
 * libharu's. */
static cf_status put_cid_to_gid_map(renderer *r, int style, HPDF_Dict map, HPDF_FontDef def,
                                    const cf_codepoints *set)
{
    if (map == NULL || map->stream == NULL || HPDF_Stream_Size(map->stream) != MAP_BYTES) {
        cf_diag_error(r->diag, NULL, 0, "the PDF writer found an unexpected CIDToGIDMap");
        return CF_ERR_INTERNAL;
    }
    unsigned char *bytes = cf_calloc(MAP_BYTES, 1);
    if (bytes == NULL)
        return CF_ERR_NOMEM;
    for (uint32_t cp = CF_CODEPOINTS_START; cf_codepoints_next(set, &cp) && cp < 0xFFFF;) {
        HPDF_UINT16 gid = HPDF_TTFontDef_GetGlyphid(def, (HPDF_UINT16)cp);
        bytes[cp * 2] = (unsigned char)(gid >> 8);
        bytes[cp * 2 + 1] = (unsigned char)gid;
    }
    /* Mostly zeros: run-length matching only, in small chunks (little memory to set up). */
    cf_glyph_cache *cache = r->options != NULL ? r->options->glyph_cache : NULL;
    cf_buf z;
    cf_buf_init(&z, (size_t)1 << 24);
    cf_status st = cf_buf_append(&z, zlib_header, 2);
    for (size_t c = 0; c < MAP_CHUNKS && st == CF_OK; c++) {
        size_t at = c * MAP_CHUNK, n = MAP_BYTES - at < MAP_CHUNK ? MAP_BYTES - at : MAP_CHUNK;
        st = deflate_piece(&z, bytes + at, n, cache ? &cache->map[style][c] : NULL, 12, 1, Z_RLE);
    }
    if (st == CF_OK)
        st = zlib_finish(&z, bytes, MAP_BYTES);
    if (st == CF_OK)
        st = put_compressed(r, map, z.data, z.len, "a font's CIDToGIDMap");
    cf_buf_cleanup(&z);
    cf_free(bytes);
    return st;
}

/* libharu makes a font's descriptor at save time (its before-write function), copying the
 * font file once more (its own subsetting, pointless on a subset) and deflating it at zlib's
 * default level. It is made here instead, with the same entries; *out is the empty FontFile2
 * stream object for the caller to fill. */
static cf_status describe_font(renderer *r, HPDF_Font font, HPDF_FontDef def, size_t len,
                               HPDF_Dict *out)
{
    *out = NULL;
    HPDF_Doc pdf = r->pdf;
    HPDF_FontAttr attr = font->attr;
    HPDF_TTFontDefAttr def_attr = def->attr;
    if (font->before_write_fn == NULL || attr == NULL || attr->map_stream == NULL ||
        attr->descendant_font == NULL || def->descriptor != NULL)
        return fail(r, "to find a font's parts");
    HPDF_Dict file = HPDF_DictStream_New(pdf->mmgr, attr->xref);
    if (file == NULL)
        return fail(r, "to describe a font");
    HPDF_Dict desc = HPDF_Dict_New(pdf->mmgr);
    if (desc == NULL || HPDF_Xref_Add(attr->xref, desc) != HPDF_OK) /* frees desc on failure */
        return fail(r, "to describe a font");
    HPDF_STATUS ret = HPDF_OK;
    ret += HPDF_Dict_AddName(desc, "Type", "FontDescriptor");
    ret += HPDF_Dict_AddName(desc, "FontName", def_attr->base_font);
    ret += HPDF_Dict_AddNumber(desc, "Flags", (HPDF_INT32)def->flags);
    ret += HPDF_Dict_Add(desc, "FontBBox", HPDF_Box_Array_New(pdf->mmgr, def->font_bbox));
    ret += HPDF_Dict_AddNumber(desc, "ItalicAngle", def->italic_angle);
    ret += HPDF_Dict_AddNumber(desc, "Ascent", def->ascent);
    ret += HPDF_Dict_AddNumber(desc, "Descent", def->descent);
    ret += HPDF_Dict_AddNumber(desc, "StemV", def->stemv);
    ret += HPDF_Dict_AddNumber(desc, "XHeight", def->x_height);
    ret += HPDF_Dict_Add(desc, "FontFile2", file);
    ret += HPDF_Dict_AddNumber(file, "Length1", (HPDF_INT32)len);
    ret += HPDF_Dict_AddNumber(file, "Length2", 0);
    ret += HPDF_Dict_AddNumber(file, "Length3", 0);
    if (ret != HPDF_OK)
        return fail(r, "to describe a font");
    def->descriptor = desc;
    ret += HPDF_Dict_AddName(font, "BaseFont", def_attr->base_font);
    ret += HPDF_Dict_AddName(attr->descendant_font, "BaseFont", def_attr->base_font);
    ret += HPDF_Dict_Add(attr->descendant_font, "FontDescriptor", desc);
    if (ret != HPDF_OK)
        return fail(r, "to describe a font");
    font->before_write_fn = NULL;
    /* The font dictionary's filter would be copied onto its streams by that function; ours
     * are deflated by us. */
    font->filter = HPDF_STREAM_FILTER_NONE;
    *out = file;
    return CF_OK;
}

/* Hands one subset font (of the characters in set, laid out as layout says) to libharu, with
 * a proper ToUnicode map. */
static cf_status load_font(renderer *r, int style, const unsigned char *data, size_t len,
                           const cf_subset_layout *layout, const char *tag,
                           const cf_codepoints *set, HPDF_Font *out)
{
    HPDF_Doc pdf = r->pdf;
    HPDF_Stream stream = HPDF_MemStream_New(pdf->mmgr, 0x4000);
    if (stream == NULL)
        return fail(r, "to load a font");
    if (HPDF_Stream_Write(stream, data, (HPDF_UINT)len) != HPDF_OK) {
        HPDF_Stream_Free(stream);
        return fail(r, "to load a font");
    }
    /* The definition owns the stream from here on, also when loading fails. */
    HPDF_FontDef def = HPDF_TTFontDef_Load(pdf->mmgr, stream, HPDF_TRUE);
    if (def == NULL)
        return fail(r, "to load a font");
    /* The subset tag makes the name unique in this document (and marks the font a subset). */
    HPDF_TTFontDef_SetTagName(def, (char *)(uintptr_t)tag);
    if (HPDF_Doc_RegisterFontDef(pdf, def) != HPDF_OK) /* frees def on failure */
        return fail(r, "to register a font");
    HPDF_Font font = HPDF_GetFont(pdf, def->base_font, "UTF-8");
    if (font == NULL)
        return fail(r, "to load a font");
    *out = font;
    /* The font file: the subset, compressed in parts (deflate_font). */
    HPDF_FontAttr attr = font->attr;
    HPDF_Dict file = NULL;
    cf_status st = describe_font(r, font, def, len, &file);
    if (st != CF_OK)
        return st;
    cf_buf z;
    cf_buf_init(&z, (size_t)1 << 30);
    st = deflate_font(r, style, data, len, layout, &z);
    if (st == CF_OK)
        st = put_compressed(r, file, z.data, z.len, "a font file");
    cf_buf_cleanup(&z);
    if (st == CF_OK)
        st = put_cid_to_gid_map(r, style, attr->map_stream, def, set);
    if (st == CF_OK)
        st = fix_to_unicode(r, font, def, set);
    return st;
}

void cf_display_list_codepoints(const cf_display_list *list,
                                cf_codepoints *const sets[CF_FONT_STYLE_COUNT])
{
    for (size_t p = 0; p < list->n_pages; p++)
        for (size_t i = 0; i < list->pages[p].n_items; i++) {
            const cf_item *it = &list->pages[p].items[i];
            if (it->kind == CF_ITEM_TEXT && it->u.text.style < CF_FONT_STYLE_COUNT)
                cf_codepoints_add_utf8(sets[it->u.text.style], it->u.text.utf8, it->u.text.len);
        }
}

/* Subsets each face to its set and loads it into the document. */
static cf_status load_fonts(renderer *r, const cf_fontset *fonts,
                            const cf_codepoints *const sets[CF_FONT_STYLE_COUNT])
{
    static const char *const tags[CF_FONT_STYLE_COUNT] = {"CFSAAA", "CFSAAB"};
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        if (cf_codepoints_size(sets[s]) == 0)
            continue; /* style not used: nothing to embed */
        unsigned char *data = NULL;
        size_t len = 0;
        cf_subset_layout layout;
        const cf_codepoints *base = r->options != NULL ? r->options->base[s] : NULL;
        cf_status st =
            cf_font_subset_ordered(fonts->faces[s], sets[s], base, &data, &len, &layout, r->diag);
        if (st != CF_OK)
            return st;
        st = load_font(r, s, data, len, &layout, tags[s], sets[s], &r->fonts[s]);
        cf_free(data);
        if (st != CF_OK)
            return st;
    }
    return CF_OK;
}

/* Dark modules as filled rectangles, one per horizontal run, in a single path. */
static void paint_modules(HPDF_Page page, const cf_item *it)
{
    unsigned n = it->u.modules.count;
    double m = it->u.modules.module;
    HPDF_Page_SetGrayFill(page, 0);
    for (unsigned row = 0; row < n; row++) {
        double y = it->y + (double)(n - 1 - row) * m;
        for (unsigned col = 0; col < n;) {
            if (!it->u.modules.dark[(size_t)row * n + col]) {
                col++;
                continue;
            }
            unsigned end = col;
            while (end < n && it->u.modules.dark[(size_t)row * n + end])
                end++;
            HPDF_Page_Rectangle(page, (HPDF_REAL)(it->x + (double)col * m), (HPDF_REAL)y,
                                (HPDF_REAL)((double)(end - col) * m), (HPDF_REAL)m);
            col = end;
        }
    }
    HPDF_Page_Fill(page);
}

static cf_status paint_page(renderer *r, const cf_display_list *list, const cf_page *pg)
{
    HPDF_Page page = HPDF_AddPage(r->pdf);
    if (page == NULL)
        return fail(r, "to add a page");
    HPDF_Page_SetWidth(page, (HPDF_REAL)list->width);
    HPDF_Page_SetHeight(page, (HPDF_REAL)list->height);
    bool in_text = false;
    int cur_style = -1;
    double cur_size = -1, cur_tc = 0, cur_gray = 0;
    for (size_t i = 0; i < pg->n_items; i++) {
        const cf_item *it = &pg->items[i];
        if (it->kind != CF_ITEM_TEXT && in_text) {
            HPDF_Page_EndText(page);
            in_text = false;
        }
        switch (it->kind) {
        case CF_ITEM_TEXT: {
            int style = (int)it->u.text.style;
            if (it->u.text.len == 0)
                break; /* draws nothing; its style may have no font in this document */
            if (style < 0 || style >= CF_FONT_STYLE_COUNT || r->fonts[style] == NULL) {
                cf_diag_error(r->diag, NULL, 0,
                              "the PDF writer has no font for a text run in style %d", style);
                return CF_ERR_INTERNAL;
            }
            if (!in_text) {
                HPDF_Page_BeginText(page);
                in_text = true;
                cur_style = -1;
                cur_tc = 0;
                cur_gray = 0;
                HPDF_Page_SetGrayFill(page, 0);
            }
            if (style != cur_style || it->u.text.size != cur_size) {
                HPDF_Page_SetFontAndSize(page, r->fonts[style], (HPDF_REAL)it->u.text.size);
                cur_style = style;
                cur_size = it->u.text.size;
            }
            if (it->u.text.char_spacing != cur_tc) {
                HPDF_Page_SetCharSpace(page, (HPDF_REAL)it->u.text.char_spacing);
                cur_tc = it->u.text.char_spacing;
            }
            if (it->u.text.gray != cur_gray) {
                HPDF_Page_SetGrayFill(page, (HPDF_REAL)it->u.text.gray);
                cur_gray = it->u.text.gray;
            }
            HPDF_Page_TextOut(page, (HPDF_REAL)it->x, (HPDF_REAL)it->y, it->u.text.utf8);
            break;
        }
        case CF_ITEM_LINE:
            HPDF_Page_SetLineWidth(page, (HPDF_REAL)it->u.line.width);
            HPDF_Page_SetGrayStroke(page, (HPDF_REAL)it->u.line.gray);
            if (it->u.line.dashed) {
                static const HPDF_UINT16 dash[] = {3, 2};
                HPDF_Page_SetDash(page, dash, 2, 0);
            }
            HPDF_Page_MoveTo(page, (HPDF_REAL)it->x, (HPDF_REAL)it->y);
            HPDF_Page_LineTo(page, (HPDF_REAL)it->u.line.x2, (HPDF_REAL)it->u.line.y2);
            HPDF_Page_Stroke(page);
            if (it->u.line.dashed)
                HPDF_Page_SetDash(page, NULL, 0, 0);
            break;
        case CF_ITEM_RECT: {
            bool filled = it->u.rect.fill_gray >= 0, stroked = it->u.rect.stroke_width > 0;
            if (!filled && !stroked)
                break;
            if (filled)
                HPDF_Page_SetGrayFill(page, (HPDF_REAL)it->u.rect.fill_gray);
            if (stroked) {
                HPDF_Page_SetLineWidth(page, (HPDF_REAL)it->u.rect.stroke_width);
                HPDF_Page_SetGrayStroke(page, 0);
            }
            HPDF_Page_Rectangle(page, (HPDF_REAL)it->x, (HPDF_REAL)it->y, (HPDF_REAL)it->u.rect.w,
                                (HPDF_REAL)it->u.rect.h);
            if (filled && stroked)
                HPDF_Page_FillStroke(page);
            else if (filled)
                HPDF_Page_Fill(page);
            else
                HPDF_Page_Stroke(page);
            break;
        }
        case CF_ITEM_MODULES:
            paint_modules(page, it);
            break;
        }
        if (r->error.code != 0)
            return fail(r, "while drawing a page");
    }
    if (in_text)
        HPDF_Page_EndText(page);
    if (r->error.code != 0)
        return fail(r, "while drawing a page");
    /* The page is complete: its contents are deflated now rather than by libharu. */
    HPDF_PageAttr attr = page->attr;
    return deflate_in_place(r, attr != NULL ? attr->contents : NULL, "a page's contents");
}

static void set_info(renderer *r, const cf_doc_info *info)
{
    char creator[64];
    snprintf(creator, sizeof creator, "consentform %s", CF_VERSION);
    HPDF_SetInfoAttr(r->pdf, HPDF_INFO_CREATOR, creator);
    HPDF_SetInfoAttr(r->pdf, HPDF_INFO_PRODUCER, creator);
    if (info->title != NULL)
        HPDF_SetInfoAttr(r->pdf, HPDF_INFO_TITLE, info->title);
    if (info->subject != NULL)
        HPDF_SetInfoAttr(r->pdf, HPDF_INFO_SUBJECT, info->subject);
    if (info->author != NULL)
        HPDF_SetInfoAttr(r->pdf, HPDF_INFO_AUTHOR, info->author);
    if (info->keywords != NULL)
        HPDF_SetInfoAttr(r->pdf, HPDF_INFO_KEYWORDS, info->keywords);
    if (info->created >= 0) {
        time_t t = (time_t)info->created;
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL) {
            HPDF_Date d = {.year = tm.tm_year + 1900,
                           .month = tm.tm_mon + 1,
                           .day = tm.tm_mday,
                           .hour = tm.tm_hour,
                           .minutes = tm.tm_min,
                           .seconds = tm.tm_sec,
                           .ind = 'Z'};
            HPDF_SetInfoDateAttr(r->pdf, HPDF_INFO_CREATION_DATE, d);
        }
    }
}

static cf_status save(renderer *r, unsigned char **out, size_t *out_len)
{
    if (HPDF_SaveToStream(r->pdf) != HPDF_OK)
        return fail(r, "to write the PDF");
    HPDF_UINT32 size = HPDF_GetStreamSize(r->pdf);
    unsigned char *data = cf_malloc(size > 0 ? size : 1);
    if (data == NULL)
        return CF_ERR_NOMEM;
    HPDF_ResetStream(r->pdf);
    size_t done = 0;
    while (done < size) {
        HPDF_UINT32 chunk = (HPDF_UINT32)(size - done);
        HPDF_STATUS st = HPDF_ReadFromStream(r->pdf, data + done, &chunk);
        done += chunk;
        if (st == HPDF_STREAM_EOF || chunk == 0)
            break;
        if (st != HPDF_OK) {
            cf_free(data);
            return fail(r, "to read the PDF back");
        }
    }
    if (done != size) {
        cf_free(data);
        return fail(r, "to read the whole PDF back");
    }
    *out = data;
    *out_len = done;
    return CF_OK;
}

struct cf_pdf_writer {
    renderer r;
    const cf_fontset *fonts;
    size_t pages;
    size_t pages_before; /* pages of the print job before this writer's (duplex parity) */
};

void cf_pdf_writer_set_pages_before(cf_pdf_writer *w, size_t pages)
{
    w->pages_before = pages;
}

void cf_pdf_writer_free(cf_pdf_writer *w)
{
    if (w == NULL)
        return;
    if (w->r.pdf != NULL)
        HPDF_Free(w->r.pdf);
    cf_free(w);
}

cf_status cf_pdf_writer_new(const cf_fontset *fonts,
                            const cf_codepoints *const sets[CF_FONT_STYLE_COUNT],
                            const cf_doc_info *info, cf_pdf_writer **out, cf_diag *diag)
{
    return cf_pdf_writer_new_with(fonts, sets, info, NULL, out, diag);
}

cf_status cf_pdf_writer_new_with(const cf_fontset *fonts,
                                 const cf_codepoints *const sets[CF_FONT_STYLE_COUNT],
                                 const cf_doc_info *info, const cf_render_options *options,
                                 cf_pdf_writer **out, cf_diag *diag)
{
    *out = NULL;
    if (fonts == NULL)
        return CF_ERR_INTERNAL;
    cf_pdf_writer *w = cf_calloc(1, sizeof *w);
    if (w == NULL)
        return CF_ERR_NOMEM;
    w->fonts = fonts;
    w->r.diag = diag;
    w->r.options = options;
    /* The error record lives in the writer, whose address does not change. */
    /* libharu keeps its own allocator: routed through cf_malloc, the allocation-failure sweep
     * showed that libharu 2.3.0 crashes on a failed allocation while saving (HPDF_Name_New),
     * which we cannot fix from outside. */
    w->r.pdf = HPDF_New(on_error, &w->r.error);
    if (w->r.pdf == NULL) {
        cf_free(w);
        return CF_ERR_NOMEM;
    }
    cf_status st = CF_OK;
    HPDF_SetCompressionMode(w->r.pdf, HPDF_COMP_ALL);
    HPDF_UseUTFEncodings(w->r.pdf);
    HPDF_SetCurrentEncoder(w->r.pdf, "UTF-8");
    if (w->r.error.code != 0)
        st = fail(&w->r, "to start a document");
    if (st == CF_OK)
        st = load_fonts(&w->r, fonts, sets);
    if (st == CF_OK && info != NULL)
        set_info(&w->r, info);
    if (st == CF_OK && w->r.error.code != 0)
        st = fail(&w->r, "to set the document information");
    if (st != CF_OK) {
        cf_pdf_writer_free(w);
        return st;
    }
    *out = w;
    return CF_OK;
}

cf_status cf_pdf_writer_add(cf_pdf_writer *w, const cf_display_list *list, bool duplex)
{
    if (list->fonts != w->fonts) {
        cf_diag_error(w->r.diag, NULL, 0, "documents of one PDF must share one font set");
        return CF_ERR_INTERNAL;
    }
    if (duplex && (w->pages_before + w->pages) % 2 == 1) {
        /* The back of the previous patient's last sheet stays empty. */
        HPDF_Page blank = HPDF_AddPage(w->r.pdf);
        if (blank == NULL)
            return fail(&w->r, "to add a page");
        HPDF_Page_SetWidth(blank, (HPDF_REAL)list->width);
        HPDF_Page_SetHeight(blank, (HPDF_REAL)list->height);
        w->pages++;
    }
    for (size_t p = 0; p < list->n_pages; p++) {
        cf_status st = paint_page(&w->r, list, &list->pages[p]);
        if (st != CF_OK)
            return st;
        w->pages++;
    }
    return CF_OK;
}

size_t cf_pdf_writer_pages(const cf_pdf_writer *w)
{
    return w->pages;
}

cf_status cf_pdf_writer_finish(cf_pdf_writer *w, unsigned char **pdf, size_t *len)
{
    *pdf = NULL;
    *len = 0;
    cf_status st = CF_OK;
    if (w->r.error.code != 0)
        st = fail(&w->r, "while building the document");
    if (st == CF_OK)
        st = save(&w->r, pdf, len);
    cf_pdf_writer_free(w);
    return st;
}

static cf_status render_lists(const cf_display_list *const *lists, size_t n, bool duplex,
                              const cf_render_options *options, unsigned char **pdf, size_t *len,
                              cf_diag *diag)
{
    *pdf = NULL;
    *len = 0;
    if (n == 0 || lists == NULL || lists[0] == NULL || lists[0]->fonts == NULL)
        return CF_ERR_INTERNAL;
    cf_codepoints *sets[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    cf_status st = sets[0] != NULL && sets[1] != NULL ? CF_OK : CF_ERR_NOMEM;
    for (size_t d = 0; d < n && st == CF_OK; d++)
        cf_display_list_codepoints(lists[d], sets);
    cf_pdf_writer *w = NULL;
    if (st == CF_OK)
        st = cf_pdf_writer_new_with(lists[0]->fonts, (const cf_codepoints *const *)sets,
                                    &lists[0]->info, options, &w, diag);
    for (size_t d = 0; d < n && st == CF_OK; d++)
        st = cf_pdf_writer_add(w, lists[d], duplex);
    if (st == CF_OK)
        st = cf_pdf_writer_finish(w, pdf, len);
    else
        cf_pdf_writer_free(w);
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
        cf_codepoints_free(sets[s]);
    return st;
}

cf_status cf_render_pdf_combined(const cf_display_list *const *lists, size_t n, bool duplex,
                                 unsigned char **pdf, size_t *len, cf_diag *diag)
{
    return render_lists(lists, n, duplex, NULL, pdf, len, diag);
}

cf_status cf_render_pdf(const cf_display_list *list, unsigned char **pdf, size_t *len,
                        cf_diag *diag)
{
    return cf_render_pdf_with(list, NULL, pdf, len, diag);
}

cf_status cf_render_pdf_with(const cf_display_list *list, const cf_render_options *options,
                             unsigned char **pdf, size_t *len, cf_diag *diag)
{
    const cf_display_list *one[1] = {list};
    return render_lists(one, 1, false, options, pdf, len, diag);
}
