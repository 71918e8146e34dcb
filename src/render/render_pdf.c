/* PDF backend: paints display lists with libharu 2.3.0. The only file that includes hpdf.h.
 *
 * Fonts: for each document the characters drawn in each style are collected, the face is cut
 * down to them with HarfBuzz (cf_font_subset_ordered), and the font objects are made here from
 * libharu's exported object functions (hpdf_objects.h, hpdf_doc.h, hpdf_streams.h): a Type0
 * font with Identity-H encoding whose CIDs number the subset's characters (cid_of), with its
 * CIDFontType2 (widths, CIDToGIDMap), descriptor, FontFile2 and ToUnicode map (load_font).
 * libharu's own route (HPDF_LoadTTFontFromFile, HPDF_GetFont with its UTF-8 encoder) parses the
 * font again, looks up every BMP code point, writes a 128 KB CIDToGIDMap and a ToUnicode map
 * that is not one, and copies the font once more at save time: half of a document's time. Text
 * is written as those CIDs (show_text); libharu still writes the page, graphics state and
 * document structure.
 *
 * Speed: the font streams and page contents are deflated here at CF_PDF_DEFLATE_LEVEL and
 * handed to libharu as finished FlateDecode data (put_deflated). The subset is ordered
 * (cf_font_subset_ordered) so that the glyphs of a run's base characters are one block of
 * bytes, compressed on its own and reused from document to document (deflate_font,
 * cf_glyph_cache): in a batch most of a font is compressed once.
 *
 * Bodies: with the run's fonts and a cf_body_streams, a page whose first items are a body laid
 * out once for many patients (cf_page.n_shared, shared_id) has two content streams: the body,
 * painted once per run between q and Q with the run fonts under fixed names (/Fr, /Fb) and
 * kept compressed, then the page's own items from the initial graphics state (put_body). A
 * document (or a combined print job) holds one object per body, referenced by its pages.
 *
 * Output depends only on the display lists: no clock, no random id, and numbers are written
 * without the locale (put_number; libharu's own formatting). One HPDF_Doc per call: safe on
 * several threads. */
#include "render/render_pdf.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "text/linebreak.h"
#include "cf_config.h"

#include <hpdf.h>
#include <hpdf_doc.h>
#include <hpdf_pages.h>
#include <hpdf_streams.h>
#include <libdeflate.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* Compression level (zlib's and libdeflate's): the fastest. With libdeflate, level 1 compresses
 * a 200 KB font subset in 1.3 ms to 117.7 KB, level 6 in 2.3 ms to 112.9 KB. */
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
    const cf_font *faces[CF_FONT_STYLE_COUNT];     /* the fonts' faces, for advances */
    cf_subset_layout layouts[CF_FONT_STYLE_COUNT]; /* of each font's subset: its characters */
    /* The characters of fonts[s]: &layouts[s], or the run's (cf_pdf_fonts); NULL: none. */
    const cf_subset_layout *primary[CF_FONT_STYLE_COUNT];
    /* With run fonts, the document's own characters beyond them: a second font per style. */
    HPDF_Font extra[CF_FONT_STYLE_COUNT];
    cf_subset_layout extra_layouts[CF_FONT_STYLE_COUNT];
    /* This document's stream objects of shared bodies (options->body_streams), by id: one
     * object however many of its pages show the body. */
    struct doc_body *bodies;
    size_t n_bodies, cap_bodies;
    HPDF_Font cur_font; /* in the text object being written; NULL: none set yet */
    double cur_size;
    cf_buf text;                            /* a text run's operators */
    struct libdeflate_compressor *deflater; /* see deflater() */
    const cf_render_options *options;       /* may be NULL */
    size_t held;                            /* bytes of stream data in held streams */
    cf_diag *diag;
} renderer;

typedef struct compressed_piece {
    unsigned char *raw, *z;
    size_t raw_len, z_len;
} compressed_piece;

/* Per style, the compressed glyph records of the last document's base characters; and the
 * thread's libdeflate compressor, kept from document to document (it is large: made anew for
 * each, its memory is fresh pages every time). */
struct cf_glyph_cache {
    compressed_piece glyphs[CF_FONT_STYLE_COUNT];
    struct libdeflate_compressor *deflater;
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
    }
    libdeflate_free_compressor(cache->deflater);
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

/* Appends data (len bytes) to b as raw deflate blocks from a fresh zlib compressor, ending with
 * a sync flush: more blocks may follow, and none refers to bytes of another piece, so pieces
 * made so can be joined (and one kept to be reused, deflate_piece). */
static cf_status raw_deflate_piece(cf_buf *b, const unsigned char *data, size_t len)
{
    if (len > 0x7FFFFFFF)
        return CF_ERR_LIMIT;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int zst = deflateInit2(&zs, CF_PDF_DEFLATE_LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    if (zst != Z_OK)
        return zst == Z_MEM_ERROR ? CF_ERR_NOMEM : CF_ERR_INTERNAL;
    size_t room = deflateBound(&zs, (uLong)len) + 16;
    cf_status st = cf_buf_reserve(b, room);
    if (st == CF_OK) {
        zs.next_in = (Bytef *)(uintptr_t)data;
        zs.avail_in = (uInt)len;
        zs.next_out = (Bytef *)b->data + b->len;
        zs.avail_out = (uInt)room;
        zst = deflate(&zs, Z_SYNC_FLUSH);
        if (zst != Z_OK || zs.avail_in != 0)
            st = CF_ERR_INTERNAL;
        else
            b->len += zs.total_out;
        b->data[b->len] = '\0';
    }
    deflateEnd(&zs);
    return st;
}

/* The libdeflate compressor: the thread's (in its glyph cache) or the document's, made on first
 * use. libdeflate compresses a whole
 * buffer at once about twice as fast as zlib at its fastest level, into fewer bytes (a 200 KB
 * font subset: 1.3 ms and 117.7 KB against 2.9 ms and 120.5 KB); it cannot end a piece
 * without ending the stream, so it makes the last piece of a joined stream (deflate_font) or
 * a whole stream (put_deflated). */
static void use_our_allocator(void)
{
    libdeflate_set_memory_allocator(cf_malloc, cf_free);
}

static struct libdeflate_compressor *deflater(renderer *r)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, use_our_allocator);
    cf_glyph_cache *cache = r->options != NULL ? r->options->glyph_cache : NULL;
    struct libdeflate_compressor **c = cache != NULL ? &cache->deflater : &r->deflater;
    if (*c == NULL)
        *c = libdeflate_alloc_compressor(CF_PDF_DEFLATE_LEVEL);
    return *c;
}

/* Appends data as raw deflate blocks ending with the final block (libdeflate compressor c). */
static cf_status raw_deflate_with(struct libdeflate_compressor *c, cf_buf *b,
                                  const unsigned char *data, size_t len)
{
    if (c == NULL)
        return CF_ERR_NOMEM;
    size_t room = libdeflate_deflate_compress_bound(c, len);
    cf_status st = cf_buf_reserve(b, room + 1);
    if (st != CF_OK)
        return st;
    size_t n = libdeflate_deflate_compress(c, data, len, b->data + b->len, room);
    if (n == 0)
        return CF_ERR_INTERNAL; /* cannot happen with the bound's room */
    b->len += n;
    b->data[b->len] = '\0';
    return CF_OK;
}

static cf_status raw_deflate_last(renderer *r, cf_buf *b, const unsigned char *data, size_t len)
{
    return raw_deflate_with(deflater(r), b, data, len);
}

/* Appends to out the raw deflate blocks (sync-flushed) of data, from piece when it holds the
 * same bytes, else compressed now and kept in piece (when not NULL). */
static cf_status deflate_piece(cf_buf *out, const unsigned char *data, size_t len,
                               compressed_piece *piece)
{
    if (piece != NULL && piece->raw != NULL && piece->raw_len == len &&
        memcmp(piece->raw, data, len) == 0)
        return cf_buf_append(out, piece->z, piece->z_len);
    size_t before = out->len;
    cf_status st = raw_deflate_piece(out, data, len);
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

/* Appends a whole zlib stream of data (len bytes) made by the libdeflate compressor c. */
static cf_status zlib_with(struct libdeflate_compressor *c, const void *data, size_t len,
                           cf_buf *out)
{
    cf_status st = cf_buf_append(out, zlib_header, 2);
    if (st == CF_OK)
        st = raw_deflate_with(c, out, data, len);
    if (st == CF_OK)
        st = append_adler(out, data, len);
    return st;
}

/* The zlib stream of a font file laid out as cf_font_subset_ordered says: the part before the
 * glyph records and the records of the base characters (taken compressed from cache when the
 * same bytes were compressed for an earlier document) as sync-flushed zlib pieces, then the
 * rest, most of the file in a single document, by libdeflate; joined. The bytes depend only on
 * the font file and its layout, never on the cache. A file ordered without base characters
 * is one libdeflate stream. */
static cf_status deflate_font(renderer *r, int style, const unsigned char *data, size_t len,
                              const cf_subset_layout *layout, bool has_base, cf_buf *out)
{
    size_t a = layout->glyf_offset, n = layout->base_len;
    if (a > len || n > len - a)
        return CF_ERR_INTERNAL;
    cf_glyph_cache *cache = r->options != NULL ? r->options->glyph_cache : NULL;
    /* Without base characters (a document's characters beyond the run's fonts: its base
     * records are .notdef's alone) nothing is reused: one piece, without zlib's set-up of some
     * hundred kilobytes for the first. Whether a cache is there never changes the bytes. */
    if (!has_base || n == 0)
        return zlib_with(deflater(r), data, len, out);
    cf_status st = cf_buf_append(out, zlib_header, 2);
    if (st == CF_OK)
        st = raw_deflate_piece(out, data, a);
    if (st == CF_OK && n > 0)
        st = deflate_piece(out, data + a, n, cache ? &cache->glyphs[style] : NULL);
    if (st == CF_OK)
        st = raw_deflate_last(r, out, data + a + n, len - a - n);
    if (st == CF_OK)
        st = append_adler(out, data, len);
    return st;
}

/* ---- stream data handed to libharu without copies ---- */

/* The data of a stream object, read by libharu through callbacks when it saves the document.
 * What is written into a libharu memory stream is copied byte by byte (HPDF_MemCpy) on the
 * way in and again on the way out; read from here it costs one memcpy per 4 KB piece. */
typedef struct held_bytes {
    const unsigned char *data;
    unsigned char *owned; /* data, when the stream owns it (freed with the stream); or NULL */
    size_t len, pos;
} held_bytes;

static HPDF_STATUS held_read(HPDF_Stream s, HPDF_BYTE *ptr, HPDF_UINT *size)
{
    held_bytes *h = s->attr;
    size_t n = h->len - h->pos;
    if (n > *size)
        n = *size;
    if (n > 0)
        memcpy(ptr, h->data + h->pos, n);
    h->pos += n;
    *size = (HPDF_UINT)n;
    return h->pos == h->len ? HPDF_STREAM_EOF : HPDF_OK;
}

static HPDF_STATUS held_seek(HPDF_Stream s, HPDF_INT pos, HPDF_WhenceMode mode)
{
    held_bytes *h = s->attr;
    long long from = mode == HPDF_SEEK_CUR   ? (long long)h->pos
                     : mode == HPDF_SEEK_END ? (long long)h->len
                                             : 0;
    long long to = from + pos;
    if (to < 0 || to > (long long)h->len)
        return HPDF_SetError(s->error, HPDF_STREAM_EOF, 0);
    h->pos = (size_t)to;
    return HPDF_OK;
}

static HPDF_INT32 held_tell(HPDF_Stream s)
{
    const held_bytes *h = s->attr;
    return (HPDF_INT32)h->pos;
}

static HPDF_UINT32 held_size(HPDF_Stream s)
{
    const held_bytes *h = s->attr;
    return (HPDF_UINT32)h->len;
}

static void held_free(HPDF_Stream s)
{
    held_bytes *h = s->attr;
    if (h != NULL)
        cf_free(h->owned);
    cf_free(h);
    s->attr = NULL;
}

/* Makes z (z_len bytes, already deflated) the data of the stream object dict, marked
 * FlateDecode. owned is z when the stream takes it (freed with the document, and here on
 * failure), or NULL when z outlives the document: the run's fonts and kept bodies do. */
static cf_status put_compressed(renderer *r, HPDF_Dict dict, const unsigned char *z, size_t z_len,
                                unsigned char *owned, const char *what)
{
    if (dict == NULL || dict->stream == NULL || dict->write_fn != NULL || z_len > 0x7FFFFFFF) {
        cf_free(owned);
        cf_diag_error(r->diag, NULL, 0, "the PDF writer cannot replace %s", what);
        return CF_ERR_INTERNAL;
    }
    held_bytes *h = cf_calloc(1, sizeof *h);
    if (h == NULL) {
        cf_free(owned);
        return CF_ERR_NOMEM;
    }
    *h = (held_bytes){.data = z, .owned = owned, .len = z_len};
    HPDF_Stream s =
        HPDF_CallbackReader_New(dict->mmgr, held_read, held_seek, held_tell, held_size, h);
    if (s == NULL) {
        cf_free(owned);
        cf_free(h);
        return fail(r, what);
    }
    s->free_fn = held_free;
    HPDF_Stream_Free(dict->stream);
    dict->stream = s;
    dict->filter = HPDF_STREAM_FILTER_NONE;
    dict->write_fn = write_flate_filter;
    r->held += z_len;
    return CF_OK;
}

/* Replaces the contents of the stream object dict by data (len bytes) deflated in one piece
 * (libdeflate), marked as FlateDecode data that libharu writes as it is. */
static cf_status put_deflated(renderer *r, HPDF_Dict dict, const void *data, size_t len,
                              const char *what)
{
    cf_buf z;
    cf_buf_init(&z, (size_t)1 << 30);
    cf_status st = zlib_with(deflater(r), data, len, &z);
    if (st == CF_OK) {
        size_t z_len = 0;
        unsigned char *taken = (unsigned char *)cf_buf_take(&z, &z_len);
        st = put_compressed(r, dict, taken, z_len, taken, what);
    } else if (st != CF_ERR_NOMEM) {
        cf_diag_error(r->diag, NULL, 0, "the PDF writer failed to compress %s", what);
    }
    cf_buf_cleanup(&z);
    return st;
}

/* The contents of libharu's memory stream s in one piece (*raw, cf_free it): read from its
 * list of equal buffers (the last one filled w_pos bytes) with memcpy, where
 * HPDF_Stream_Read copies byte by byte. */
static cf_status mem_stream_bytes(renderer *r, HPDF_Stream s, unsigned char **raw, size_t *len,
                                  const char *what)
{
    HPDF_UINT32 size = HPDF_Stream_Size(s);
    unsigned char *data = cf_malloc(size > 0 ? size : 1);
    if (data == NULL)
        return CF_ERR_NOMEM;
    HPDF_MemStreamAttr m = s->type == HPDF_STREAM_MEMORY ? s->attr : NULL;
    size_t count = m != NULL && m->buf != NULL ? m->buf->count : 0, total = 0;
    for (size_t i = 0; i < count; i++)
        total += i + 1 < count ? m->buf_siz : m->w_pos;
    if (m != NULL && total == size) {
        size_t at = 0;
        for (size_t i = 0; i < count; i++) {
            size_t n = i + 1 < count ? m->buf_siz : m->w_pos;
            memcpy(data + at, HPDF_List_ItemAt(m->buf, (HPDF_UINT)i), n);
            at += n;
        }
    } else {
        HPDF_UINT got = size;
        if (HPDF_Stream_Seek(s, 0, HPDF_SEEK_SET) != HPDF_OK ||
            (size > 0 && HPDF_Stream_Read(s, data, &got) != HPDF_OK) || got != size) {
            cf_free(data);
            return fail(r, what);
        }
    }
    *raw = data;
    *len = size;
    return CF_OK;
}

/* Deflates the contents libharu put in the page's contents object, and makes the page write
 * nothing more there (an operator after this is an error, not a corrupt stream). */
static cf_status deflate_page_contents(renderer *r, HPDF_Page page, const char *what)
{
    HPDF_PageAttr attr = page->attr;
    HPDF_Dict dict = attr != NULL ? attr->contents : NULL;
    if (dict == NULL || dict->stream == NULL || dict->stream != attr->stream) {
        cf_diag_error(r->diag, NULL, 0, "the PDF writer found no %s", what);
        return CF_ERR_INTERNAL;
    }
    size_t size = 0;
    unsigned char *raw = NULL;
    cf_status st = mem_stream_bytes(r, dict->stream, &raw, &size, what);
    if (st != CF_OK)
        return st;
    st = put_deflated(r, dict, raw, size, what);
    cf_free(raw);
    attr->stream = dict->stream;
    return st;
}

/* A new indirect object (a dictionary) of the document; NULL when libharu failed. */
static HPDF_Dict new_object(renderer *r)
{
    HPDF_Dict d = HPDF_Dict_New(r->pdf->mmgr);
    if (d == NULL || HPDF_Xref_Add(r->pdf->xref, d) != HPDF_OK) /* frees d on failure */
        return NULL;
    return d;
}

/* A new indirect stream object; NULL when libharu failed. */
static HPDF_Dict new_stream(renderer *r)
{
    return HPDF_DictStream_New(r->pdf->mmgr, r->pdf->xref);
}

/* Appends v to b as a PDF number with at most places (1..6) decimals: no exponent, '.'
 * whatever the locale, no trailing zeros. Written by hand: it runs for every coordinate. */
static void put_number_places(cf_buf *b, double v, int places)
{
    long long scale = 1;
    for (int i = 0; i < places; i++)
        scale *= 10;
    /* Past 2^53 / 10^6 a double has no fraction left to print; no page coordinate gets near. */
    if (!(v > -9e9 && v < 9e9))
        v = 0;
    long long t = llround(v * (double)scale);
    char digits[48];
    int n = 0;
    if (t < 0) {
        digits[n++] = '-';
        t = -t;
    }
    long long whole = t / scale, frac = t % scale;
    char rev[24];
    int k = 0;
    do {
        rev[k++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole > 0);
    while (k > 0)
        digits[n++] = rev[--k];
    if (frac != 0) {
        digits[n++] = '.';
        for (long long d = scale / 10; d > 0; d /= 10)
            digits[n++] = (char)('0' + frac / d % 10);
        while (digits[n - 1] == '0')
            n--;
    }
    cf_buf_append(b, digits, (size_t)n);
}

/* Coordinates: 1/1000 pt (0.35 um) is finer than any printer. */
static void put_number(cf_buf *b, double v)
{
    put_number_places(b, v, 3);
}

static const char hex_digits[] = "0123456789ABCDEF";

/* Appends <XXXX> for a 16-bit code. */
static void put_code(cf_buf *b, unsigned code)
{
    char t[6] = {'<',
                 hex_digits[code >> 12 & 15],
                 hex_digits[code >> 8 & 15],
                 hex_digits[code >> 4 & 15],
                 hex_digits[code & 15],
                 '>'};
    cf_buf_append(b, t, sizeof t);
}

/* The UTF-16 code units of cp (one, or a surrogate pair above U+FFFF); returns how many. */
static unsigned utf16_units(uint32_t cp, unsigned units[2])
{
    if (cp < 0x10000) {
        units[0] = cp;
        return 1;
    }
    units[0] = 0xD800 + ((cp - 0x10000) >> 10);
    units[1] = 0xDC00 + ((cp - 0x10000) & 0x3FF);
    return 2;
}

/* Appends <XXXX> or <XXXXXXXX>: cp in UTF-16BE. */
static void put_utf16(cf_buf *b, uint32_t cp)
{
    unsigned units[2];
    unsigned n = utf16_units(cp, units);
    cf_buf_putc(b, '<');
    for (unsigned k = 0; k < n; k++) {
        char t[4] = {hex_digits[units[k] >> 12 & 15], hex_digits[units[k] >> 8 & 15],
                     hex_digits[units[k] >> 4 & 15], hex_digits[units[k] & 15]};
        cf_buf_append(b, t, sizeof t);
    }
    cf_buf_putc(b, '>');
}

/* The codes of our fonts: with Identity-H, a 2-byte code is a CID, and the CID of the i-th
 * character of the subset (in code point order) is i + 1; CID 0 is .notdef. Each character has
 * its own CID even when two share a glyph, so the ToUnicode map is exact. */
static unsigned cid_of(const cf_subset_layout *l, uint32_t cp)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->cps[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->n && l->cps[lo] == cp ? (unsigned)lo + 1 : 0;
}

/* The ToUnicode map: CID i + 1 to the i-th character, one bfchar line each, at most 100 to a
 * block as the format asks. Ranges (bfrange) would be shorter, but Ghostscript 10.0 maps the
 * codes of a range after its first to wrong characters (the leaflet's 、 and 。 extracted as
 * "1" and "2"); single codes every reader maps alike. */
static cf_status to_unicode_text(const cf_subset_layout *l, cf_buf *b)
{
    enum { PER_BLOCK = 100 };
    cf_buf_append_str(b, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                         "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> "
                         "def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                         "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    for (size_t i = 0; i < l->n; i += PER_BLOCK) {
        size_t k = l->n - i < PER_BLOCK ? l->n - i : PER_BLOCK;
        cf_buf_printf(b, "%zu beginbfchar\n", k);
        for (size_t j = i; j < i + k; j++) {
            put_code(b, (unsigned)j + 1);
            cf_buf_putc(b, ' ');
            put_utf16(b, l->cps[j]);
            cf_buf_putc(b, '\n');
        }
        cf_buf_append_str(b, "endbfchar\n");
    }
    cf_buf_append_str(b, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    return b->error;
}

/* The CIDToGIDMap: 2 bytes (big-endian glyph id) per CID; caller frees *map with cf_free. */
static cf_status cid_to_gid_map(const cf_subset_layout *l, unsigned char **map, size_t *size)
{
    *size = (l->n + 1) * 2;
    *map = cf_calloc(*size, 1);
    if (*map == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < l->n; i++) {
        (*map)[(i + 1) * 2] = (unsigned char)(l->glyphs[i] >> 8);
        (*map)[(i + 1) * 2 + 1] = (unsigned char)l->glyphs[i];
    }
    return CF_OK;
}

static int compare_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Everything a font's objects hold that does not depend on the document: made per document,
 * or once per run (cf_pdf_fonts). */
typedef struct font_parts {
    const cf_subset_layout *layout;     /* its characters and glyphs */
    size_t file_len;                    /* of the font file (Length1) */
    long *widths;                       /* per character of layout, in 1/1000 em; owned */
    long dw;                            /* the most common width: the default (/DW) */
    cf_buf file_z, to_unicode_z, map_z; /* the FontFile2, ToUnicode, CIDToGIDMap, deflated */
} font_parts;

static void font_parts_cleanup(font_parts *p)
{
    cf_free(p->widths);
    p->widths = NULL;
    cf_buf_cleanup(&p->file_z);
    cf_buf_cleanup(&p->to_unicode_z);
    cf_buf_cleanup(&p->map_z);
}

/* The widths of l's characters from the face's advances (those the subset check found the
 * subset to have), and the most common one (1000 in a Chinese text). */
static cf_status font_widths(const cf_font *face, const cf_subset_layout *l, font_parts *p)
{
    size_t n = l->n;
    p->widths = cf_malloc((n ? n : 1) * sizeof *p->widths);
    long *sorted = cf_malloc((n ? n : 1) * sizeof *sorted);
    if (p->widths == NULL || sorted == NULL) {
        cf_free(sorted);
        return CF_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        p->widths[i] = lround(cf_font_advance(face, l->cps[i], 1000.0));
    p->dw = 1000;
    memcpy(sorted, p->widths, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_long);
    for (size_t i = 0, best = 0; i < n;) {
        size_t end = i;
        while (end < n && sorted[end] == sorted[i])
            end++;
        if (end - i > best) {
            best = end - i;
            p->dw = sorted[i];
        }
        i = end;
    }
    cf_free(sorted);
    return CF_OK;
}

/* Makes the parts of the font file data (len bytes, laid out as layout says) of face. With r,
 * the file is deflated by deflate_font (the glyph cache of r's options, when the subset was
 * ordered with base characters: has_base), the rest by r's compressor; without, everything
 * whole by the compressor c. */
static cf_status make_parts(renderer *r, struct libdeflate_compressor *c, int style,
                            const cf_font *face, const unsigned char *data, size_t len,
                            const cf_subset_layout *layout, bool has_base, font_parts *p)
{
    memset(p, 0, sizeof *p);
    p->layout = layout;
    p->file_len = len;
    cf_buf_init(&p->file_z, (size_t)1 << 30);
    cf_buf_init(&p->to_unicode_z, (size_t)1 << 30);
    cf_buf_init(&p->map_z, (size_t)1 << 30);
    if (r != NULL)
        c = deflater(r);
    cf_status st = font_widths(face, layout, p);
    if (st == CF_OK)
        st = r != NULL ? deflate_font(r, style, data, len, layout, has_base, &p->file_z)
                       : zlib_with(c, data, len, &p->file_z);
    cf_buf text;
    cf_buf_init(&text, (size_t)4 * 1024 * 1024);
    if (st == CF_OK)
        st = to_unicode_text(layout, &text);
    if (st == CF_OK)
        st = zlib_with(c, text.data, text.len, &p->to_unicode_z);
    cf_buf_cleanup(&text);
    unsigned char *map = NULL;
    size_t map_len = 0;
    if (st == CF_OK)
        st = cid_to_gid_map(layout, &map, &map_len);
    if (st == CF_OK)
        st = zlib_with(c, map, map_len, &p->map_z);
    cf_free(map);
    return st;
}

/* The /DW and /W entries: the most common width as the default, the others in runs of
 * consecutive CIDs. */
static cf_status put_widths(renderer *r, HPDF_Dict cid_font, const font_parts *p)
{
    size_t n = p->layout->n;
    const long *width = p->widths;
    long dw = p->dw;
    HPDF_STATUS ret = HPDF_Dict_AddNumber(cid_font, "DW", (HPDF_INT32)dw);
    HPDF_Array w_array = HPDF_Array_New(r->pdf->mmgr);
    if (w_array == NULL || HPDF_Dict_Add(cid_font, "W", w_array) != HPDF_OK)
        return fail(r, "to describe a font's widths");
    for (size_t i = 0; i < n && ret == HPDF_OK;) {
        if (width[i] == dw) {
            i++;
            continue;
        }
        HPDF_Array run = HPDF_Array_New(r->pdf->mmgr);
        if (run == NULL)
            break;
        ret += HPDF_Array_AddNumber(w_array, (HPDF_INT32)(i + 1));
        ret += HPDF_Array_Add(w_array, run);
        for (; ret == HPDF_OK && i < n && width[i] != dw; i++)
            ret += HPDF_Array_AddNumber(run, (HPDF_INT32)width[i]);
    }
    return ret == HPDF_OK && r->error.code == 0 ? CF_OK : fail(r, "to describe a font's widths");
}

/* Frees what a font object of ours holds besides its entries. */
static void free_font_attr(HPDF_Dict obj)
{
    if (obj->attr != NULL)
        HPDF_FreeMem(obj->mmgr, obj->attr);
    obj->attr = NULL;
}

/* Makes the deflated data b the data of the stream object dict: taken from give (the same
 * buffer) when given, else borrowed. */
static cf_status put_part(renderer *r, HPDF_Dict dict, const cf_buf *b, cf_buf *give,
                          const char *what)
{
    if (give == NULL)
        return put_compressed(r, dict, (const unsigned char *)b->data, b->len, NULL, what);
    size_t len = 0;
    unsigned char *data = (unsigned char *)cf_buf_take(give, &len);
    return put_compressed(r, dict, data, len, data, what);
}

/* The objects of one embedded subset, made here rather than by libharu's HPDF_GetFont (which
 * looks up all 65,536 BMP code points to build a width array and a 128 KB CIDToGIDMap, a fifth
 * of a document's time): a Type0 font with Identity-H encoding and our CIDs (cid_of), its
 * CIDFontType2 with their widths and glyphs, a font descriptor, the FontFile2 (the subset,
 * compressed by make_parts) and a ToUnicode map. *out is the Type0 font, which libharu
 * accepts for HPDF_Page_SetFontAndSize (a dictionary of the font class with font attributes).
 * give is parts when the document takes their compressed data (parts made for it alone), or
 * NULL when parts outlive the document (the run's fonts). */
static cf_status load_font(renderer *r, const cf_font *face, const font_parts *parts,
                           font_parts *give, const char *tag, HPDF_Font *out)
{
    HPDF_MMgr mmgr = r->pdf->mmgr;
    cf_font_description fd;
    cf_font_describe(face, &fd);
    char base_font[HPDF_LIMIT_MAX_NAME_LEN + 1];
    int name_len = snprintf(base_font, sizeof base_font, "%s+%s", tag, fd.postscript_name);
    if (name_len < 0 || (size_t)name_len >= sizeof base_font) {
        cf_diag_error(r->diag, NULL, 0, "the font name %s is too long for a PDF",
                      fd.postscript_name);
        return CF_ERR_DATA;
    }

    HPDF_Dict font = new_object(r);
    if (font == NULL)
        return fail(r, "to make a font");
    HPDF_FontAttr attr = HPDF_GetMem(mmgr, sizeof(HPDF_FontAttr_Rec));
    if (attr == NULL)
        return fail(r, "to make a font");
    memset(attr, 0, sizeof *attr);
    attr->type = HPDF_FONT_TYPE0_TT;
    attr->writing_mode = HPDF_WMODE_HORIZONTAL;
    attr->xref = r->pdf->xref;
    font->attr = attr;
    font->free_fn = free_font_attr;
    font->header.obj_class |= HPDF_OSUBCLASS_FONT;

    HPDF_Dict cid_font = new_object(r), desc = new_object(r), file = new_stream(r),
              to_unicode = new_stream(r), cid_to_gid = new_stream(r);
    HPDF_Array descendants = HPDF_Array_New(mmgr), bbox = HPDF_Array_New(mmgr);
    HPDF_Dict system_info = HPDF_Dict_New(mmgr);
    if (cid_font == NULL || desc == NULL || file == NULL || to_unicode == NULL ||
        cid_to_gid == NULL || descendants == NULL || bbox == NULL || system_info == NULL) {
        /* Those not yet in the document are freed here; the others go with it. */
        if (descendants != NULL)
            HPDF_Array_Free(descendants);
        if (bbox != NULL)
            HPDF_Array_Free(bbox);
        if (system_info != NULL)
            HPDF_Dict_Free(system_info);
        return fail(r, "to make a font");
    }
    attr->descendant_font = cid_font;
    attr->cmap_stream = to_unicode;

    HPDF_STATUS ret = HPDF_OK;
    ret += HPDF_Dict_AddName(font, "Type", "Font");
    ret += HPDF_Dict_AddName(font, "Subtype", "Type0");
    ret += HPDF_Dict_AddName(font, "BaseFont", base_font);
    ret += HPDF_Dict_AddName(font, "Encoding", "Identity-H");
    ret += HPDF_Array_Add(descendants, cid_font);
    ret += HPDF_Dict_Add(font, "DescendantFonts", descendants);
    ret += HPDF_Dict_Add(font, "ToUnicode", to_unicode);

    ret += HPDF_Dict_AddName(cid_font, "Type", "Font");
    ret += HPDF_Dict_AddName(cid_font, "Subtype", "CIDFontType2");
    ret += HPDF_Dict_AddName(cid_font, "BaseFont", base_font);
    ret += HPDF_Dict_Add(system_info, "Registry", HPDF_String_New(mmgr, "Adobe", NULL));
    ret += HPDF_Dict_Add(system_info, "Ordering", HPDF_String_New(mmgr, "Identity", NULL));
    ret += HPDF_Dict_AddNumber(system_info, "Supplement", 0);
    ret += HPDF_Dict_Add(cid_font, "CIDSystemInfo", system_info);
    ret += HPDF_Dict_Add(cid_font, "FontDescriptor", desc);
    ret += HPDF_Dict_Add(cid_font, "CIDToGIDMap", cid_to_gid);

    ret += HPDF_Dict_AddName(desc, "Type", "FontDescriptor");
    ret += HPDF_Dict_AddName(desc, "FontName", base_font);
    ret += HPDF_Dict_AddNumber(desc, "Flags", 32); /* nonsymbolic */
    for (int i = 0; i < 4; i++)
        ret += HPDF_Array_AddNumber(bbox, (HPDF_INT32)fd.bbox[i]);
    ret += HPDF_Dict_Add(desc, "FontBBox", bbox);
    ret += HPDF_Dict_AddReal(desc, "ItalicAngle", (HPDF_REAL)fd.italic_angle);
    ret += HPDF_Dict_AddNumber(desc, "Ascent", (HPDF_INT32)fd.ascent);
    ret += HPDF_Dict_AddNumber(desc, "Descent", (HPDF_INT32)fd.descent);
    ret += HPDF_Dict_AddNumber(desc, "CapHeight", (HPDF_INT32)fd.cap_height);
    if (fd.x_height > 0)
        ret += HPDF_Dict_AddNumber(desc, "XHeight", (HPDF_INT32)fd.x_height);
    ret += HPDF_Dict_AddNumber(desc, "StemV", (HPDF_INT32)fd.stem_v);
    ret += HPDF_Dict_AddNumber(desc, "FontWeight", (HPDF_INT32)fd.weight);
    ret += HPDF_Dict_Add(desc, "FontFile2", file);
    ret += HPDF_Dict_AddNumber(file, "Length1", (HPDF_INT32)parts->file_len);
    if (ret != HPDF_OK)
        return fail(r, "to make a font");

    cf_status st = put_widths(r, cid_font, parts);
    if (st == CF_OK)
        st = put_part(r, file, &parts->file_z, give != NULL ? &give->file_z : NULL, "a font file");
    if (st == CF_OK)
        st = put_part(r, cid_to_gid, &parts->map_z, give != NULL ? &give->map_z : NULL,
                      "a font's CIDToGIDMap");
    if (st == CF_OK)
        st = put_part(r, to_unicode, &parts->to_unicode_z,
                      give != NULL ? &give->to_unicode_z : NULL, "a font's ToUnicode map");
    if (st == CF_OK)
        *out = font;
    return st;
}

/* Subsets face to set (ordered with base first, may be NULL), stores the subset's characters
 * in *layout and loads the font into the document as *out. */
static cf_status load_subset(renderer *r, int style, const cf_font *face, const cf_codepoints *set,
                             const cf_codepoints *base, cf_subset_layout *layout, const char *tag,
                             HPDF_Font *out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    cf_status st = cf_font_subset_ordered(face, set, base, &data, &len, layout, r->diag);
    if (st != CF_OK)
        return st;
    font_parts parts;
    st = make_parts(r, NULL, style, face, data, len, layout, base != NULL, &parts);
    cf_free(data);
    if (st == CF_OK)
        st = load_font(r, face, &parts, &parts, tag, out);
    else if (st != CF_ERR_NOMEM)
        cf_diag_error(r->diag, NULL, 0, "the PDF writer failed to compress a font");
    font_parts_cleanup(&parts);
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

/* ---- fonts made once per run ---- */

struct cf_pdf_fonts {
    const cf_fontset *fonts;
    bool present[CF_FONT_STYLE_COUNT];
    cf_subset_layout layouts[CF_FONT_STYLE_COUNT];
    font_parts parts[CF_FONT_STYLE_COUNT];
};

/* Compression of the run's fonts: made once, so the smallest output is worth its time
 * (libdeflate level 9 against 1: about 4 % smaller, some milliseconds once per run). */
#define CF_PDF_RUN_FONT_LEVEL 12

bool cf_pdf_fonts_enabled(void)
{
    const char *off = getenv("CONSENTFORM_NO_BATCH_FONTS");
    return off == NULL || off[0] == '\0';
}

void cf_pdf_fonts_free(cf_pdf_fonts *pf)
{
    if (pf == NULL)
        return;
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        font_parts_cleanup(&pf->parts[s]);
        cf_subset_layout_cleanup(&pf->layouts[s]);
    }
    cf_free(pf);
}

cf_status cf_pdf_fonts_new(const cf_fontset *fonts,
                           const cf_codepoints *const sets[CF_FONT_STYLE_COUNT], cf_pdf_fonts **out,
                           cf_diag *diag)
{
    *out = NULL;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, use_our_allocator);
    cf_pdf_fonts *pf = cf_calloc(1, sizeof *pf);
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(CF_PDF_RUN_FONT_LEVEL);
    if (pf == NULL || c == NULL) {
        cf_free(pf);
        libdeflate_free_compressor(c);
        return CF_ERR_NOMEM;
    }
    pf->fonts = fonts;
    cf_status st = CF_OK;
    for (int s = 0; s < CF_FONT_STYLE_COUNT && st == CF_OK; s++) {
        cf_codepoints *set = cf_codepoints_new();
        if (set == NULL) {
            st = CF_ERR_NOMEM;
            break;
        }
        for (uint32_t cp = CF_CODEPOINTS_START; cf_codepoints_next(sets[s], &cp);)
            cf_codepoints_add(set, cp);
        /* Hospital numbers, episode numbers, document ids and page numbers. */
        static const char *const ranges[] = {"09", "AZ", "az"};
        for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++)
            for (uint32_t cp = (uint32_t)ranges[k][0]; cp <= (uint32_t)ranges[k][1]; cp++)
                if (cf_font_has(fonts->faces[s], cp))
                    cf_codepoints_add(set, cp);
        unsigned char *data = NULL;
        size_t len = 0;
        st = cf_font_subset_ordered(fonts->faces[s], set, NULL, &data, &len, &pf->layouts[s], diag);
        if (st == CF_OK)
            st = make_parts(NULL, c, s, fonts->faces[s], data, len, &pf->layouts[s], false,
                            &pf->parts[s]);
        pf->present[s] = st == CF_OK && pf->layouts[s].n > 0;
        cf_free(data);
        cf_codepoints_free(set);
    }
    libdeflate_free_compressor(c);
    if (st != CF_OK) {
        cf_pdf_fonts_free(pf);
        return st;
    }
    *out = pf;
    return CF_OK;
}

/* The font of the document that has cp in style, and its code there (*cid); NULL when none. */
static HPDF_Font glyph_font(const renderer *r, int style, uint32_t cp, unsigned *cid)
{
    *cid = r->primary[style] != NULL ? cid_of(r->primary[style], cp) : 0;
    if (*cid != 0)
        return r->fonts[style];
    if (r->extra[style] != NULL && (*cid = cid_of(&r->extra_layouts[style], cp)) != 0)
        return r->extra[style];
    return NULL;
}

/* Loads each style's fonts for the characters sets[s]: the run's font and a font of the
 * characters beyond it (with run fonts), or a subset of the face to them. */
static cf_status load_fonts(renderer *r, const cf_fontset *fonts,
                            const cf_codepoints *const sets[CF_FONT_STYLE_COUNT])
{
    static const char *const tags[CF_FONT_STYLE_COUNT] = {"CFSAAA", "CFSAAB"};
    static const char *const extra_tags[CF_FONT_STYLE_COUNT] = {"CFSAAC", "CFSAAD"};
    const cf_pdf_fonts *run = r->options != NULL ? r->options->run_fonts : NULL;
    if (run != NULL && run->fonts != fonts) {
        cf_diag_error(r->diag, NULL, 0, "the run's fonts are of another font set");
        return CF_ERR_INTERNAL;
    }
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        r->faces[s] = fonts->faces[s];
        if (cf_codepoints_size(sets[s]) == 0)
            continue; /* style not used: nothing to embed */
        if (run == NULL || !run->present[s]) {
            const cf_codepoints *base = r->options != NULL ? r->options->base[s] : NULL;
            cf_status st = load_subset(r, s, fonts->faces[s], sets[s], base, &r->layouts[s],
                                       tags[s], &r->fonts[s]);
            if (st != CF_OK)
                return st;
            r->primary[s] = &r->layouts[s];
            continue;
        }
        cf_codepoints *extra = cf_codepoints_new();
        if (extra == NULL)
            return CF_ERR_NOMEM;
        bool uses_run = false;
        for (uint32_t cp = CF_CODEPOINTS_START; cf_codepoints_next(sets[s], &cp);) {
            if (cid_of(&run->layouts[s], cp) != 0)
                uses_run = true;
            else
                cf_codepoints_add(extra, cp);
        }
        cf_status st = CF_OK;
        if (uses_run) {
            st = load_font(r, fonts->faces[s], &run->parts[s], NULL, tags[s], &r->fonts[s]);
            r->primary[s] = &run->layouts[s];
        }
        if (st == CF_OK && cf_codepoints_size(extra) > 0)
            st = load_subset(r, s, fonts->faces[s], extra, NULL, &r->extra_layouts[s],
                             extra_tags[s], &r->extra[s]);
        cf_codepoints_free(extra);
        if (st != CF_OK)
            return st;
    }
    return CF_OK;
}

/* Appends the operators in r->text to the page's contents. Operators we write ourselves
 * (text, text state, the QR code's rectangles) skip libharu's per-operator formatting, which
 * clears a 512-byte buffer byte by byte for each one. */
static cf_status write_ops(renderer *r, HPDF_Page page)
{
    cf_buf *b = &r->text;
    if (b->error != CF_OK)
        return b->error;
    HPDF_PageAttr attr = page->attr;
    if (HPDF_Stream_Write(attr->stream, (const HPDF_BYTE *)b->data, (HPDF_UINT)b->len) != HPDF_OK)
        return fail(r, "to write a page");
    return CF_OK;
}

/* The modules as one image mask (1 bit per module, rows padded to a byte, no interpolation)
 * scaled to the symbol's square: 120 bytes for a version-3 symbol, where a path of its runs
 * takes 6.6 KB of a 12 KB page stream. With /Decode [1 0] a set bit (a dark module) paints. */
static cf_status paint_modules(renderer *r, HPDF_Page page, const cf_item *it)
{
    unsigned n = it->u.modules.count;
    double m = it->u.modules.module;
    cf_buf *b = &r->text;
    cf_buf_reset(b);
    if (n == 0)
        return CF_OK;
    cf_buf_append_str(b, "q 0 g\n");
    put_number(b, (double)n * m);
    cf_buf_append_str(b, " 0 0 ");
    put_number(b, (double)n * m);
    cf_buf_putc(b, ' ');
    put_number(b, it->x);
    cf_buf_putc(b, ' ');
    put_number(b, it->y);
    cf_buf_printf(b, " cm\nBI /W %u /H %u /IM true /BPC 1 /D [1 0] /I false ID ", n, n);
    size_t row_bytes = (n + 7) / 8;
    for (unsigned row = 0; row < n; row++) {
        const unsigned char *dark = it->u.modules.dark + (size_t)row * n;
        for (size_t k = 0; k < row_bytes; k++) {
            unsigned byte = 0;
            for (unsigned bit = 0; bit < 8; bit++) {
                size_t col = k * 8 + bit;
                if (col < n && dark[col])
                    byte |= 0x80u >> bit;
            }
            cf_buf_putc(b, (char)byte);
        }
    }
    cf_buf_append_str(b, "\nEI Q\n");
    return write_ops(r, page);
}

/* Writes the operators that show a text item: its position as an absolute text matrix, then
 * its characters as the font's codes (cid_of). A character the subset lacks cannot happen (the
 * sets come from the same display lists); if it did, that is an error, never a blank. */
static cf_status show_text(renderer *r, HPDF_Page page, int style, const cf_item *it)
{
    cf_buf *b = &r->text; /* may hold text state operators already */
    cf_buf_append_str(b, "1 0 0 1 ");
    put_number(b, it->x);
    cf_buf_putc(b, ' ');
    put_number(b, it->y);
    cf_buf_append_str(b, " Tm\n");
    const char *s = it->u.text.utf8;
    size_t len = it->u.text.len;
    /* An apostrophe (’) between Latin letters is set narrower than its full-width glyph
     * (cf_text_is_apostrophe): a TJ displacement after it moves the rest of the run back. */
    bool adjusted = false;
    uint32_t prev = 0, cp = 0, next = 0;
    for (size_t i = 0; i < len && !adjusted;) {
        size_t k = cf_utf8_decode(s + i, len - i, &cp);
        i += k > 0 ? k : 1;
        if (cp == 0x2019 && i < len && cf_utf8_decode(s + i, len - i, &next) > 0 &&
            cf_text_is_apostrophe(prev, cp, next))
            adjusted = true;
        prev = cp;
    }
    if (adjusted) {
        /* Text extraction reads the glyph's full width as overlapping what follows; the run's
         * own text given as ActualText keeps "Patient’s" one word. */
        cf_buf_append_str(b, "/Span <</ActualText <FEFF");
        for (size_t i = 0; i < len;) {
            size_t k = cf_utf8_decode(s + i, len - i, &cp);
            i += k > 0 ? k : 1;
            unsigned units[2];
            unsigned n = utf16_units(cp, units);
            for (unsigned u = 0; u < n; u++) {
                char hex[4] = {hex_digits[units[u] >> 12 & 15], hex_digits[units[u] >> 8 & 15],
                               hex_digits[units[u] >> 4 & 15], hex_digits[units[u] & 15]};
                cf_buf_append(b, hex, sizeof hex);
            }
        }
        cf_buf_append_str(b, ">>> BDC\n");
    }
    cf_buf_append_str(b, adjusted ? "[<" : "<");
    prev = 0;
    for (size_t i = 0; i < len;) {
        size_t k = cf_utf8_decode(s + i, len - i, &cp);
        unsigned cid = 0;
        HPDF_Font font = k > 0 ? glyph_font(r, style, cp, &cid) : NULL;
        if (font == NULL) {
            cf_diag_error(r->diag, NULL, 0,
                          k > 0 ? "the PDF writer has no glyph for U+%04X in the document's font"
                                : "the PDF writer was given invalid UTF-8 (byte 0x%02X)",
                          k > 0 ? (unsigned)cp : (unsigned)(unsigned char)s[i]);
            return CF_ERR_INTERNAL;
        }
        if (font != r->cur_font) {
            /* A character of the document's own font within a run of the run's font, or the
             * other way: the string so far is shown, and the next is in the other font. The
             * text position moves on with each string shown. */
            cf_buf_append_str(b, adjusted ? "> ] TJ\n" : "> Tj\n");
            cf_status st = write_ops(r, page);
            if (st != CF_OK)
                return st;
            HPDF_Page_SetFontAndSize(page, font, (HPDF_REAL)it->u.text.size);
            r->cur_font = font;
            cf_buf_reset(b);
            cf_buf_append_str(b, adjusted ? "[<" : "<");
        }
        char code[4] = {hex_digits[cid >> 12 & 15], hex_digits[cid >> 8 & 15],
                        hex_digits[cid >> 4 & 15], hex_digits[cid & 15]};
        cf_buf_append(b, code, sizeof code);
        i += k;
        if (adjusted && cp == 0x2019 && i < len && cf_utf8_decode(s + i, len - i, &next) > 0 &&
            cf_text_is_apostrophe(prev, cp, next)) {
            /* In thousandths of an em: the full advance less the ASCII apostrophe's. */
            double back = cf_font_advance(r->faces[style], cp, 1000.0) -
                          cf_font_advance(r->faces[style], '\'', 1000.0);
            cf_buf_append_str(b, "> ");
            put_number(b, back);
            cf_buf_append_str(b, " <");
        }
        prev = cp;
    }
    cf_buf_append_str(b, adjusted ? "> ] TJ\nEMC\n" : "> Tj\n");
    return write_ops(r, page);
}

/* Paints items [from, to) of pg, starting from the initial graphics state (as a page's first
 * content stream does, or one after a body stream that restores it). */
static cf_status paint_items(renderer *r, HPDF_Page page, const cf_page *pg, size_t from, size_t to)
{
    bool in_text = false;
    /* Character spacing is text state, which outlives a text object: kept across them. */
    double cur_tc = 0, cur_gray = 0;
    r->cur_size = -1;
    r->cur_font = NULL;
    for (size_t i = from; i < to; i++) {
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
            if (style < 0 || style >= CF_FONT_STYLE_COUNT ||
                (r->fonts[style] == NULL && r->extra[style] == NULL)) {
                cf_diag_error(r->diag, NULL, 0,
                              "the PDF writer has no font for a text run in style %d", style);
                return CF_ERR_INTERNAL;
            }
            if (!in_text) {
                HPDF_Page_BeginText(page);
                in_text = true;
                r->cur_font = NULL;
                cur_gray = 0;
                HPDF_Page_SetGrayFill(page, 0);
            }
            /* The font of the run's first character (show_text changes it when a later
             * character is in the other font of the style). */
            uint32_t first = 0;
            unsigned cid = 0;
            HPDF_Font font = cf_utf8_decode(it->u.text.utf8, it->u.text.len, &first) > 0
                                 ? glyph_font(r, style, first, &cid)
                                 : NULL;
            if (font != NULL && (font != r->cur_font || it->u.text.size != r->cur_size)) {
                HPDF_Page_SetFontAndSize(page, font, (HPDF_REAL)it->u.text.size);
                r->cur_font = font;
                r->cur_size = it->u.text.size;
            }
            cf_buf_reset(&r->text);
            if (it->u.text.char_spacing != cur_tc) {
                /* Added after every character of a justified line: finer, so that the
                 * line still ends on the margin. */
                put_number_places(&r->text, it->u.text.char_spacing, 5);
                cf_buf_append_str(&r->text, " Tc\n");
                cur_tc = it->u.text.char_spacing;
            }
            if (it->u.text.gray != cur_gray) {
                put_number(&r->text, it->u.text.gray);
                cf_buf_append_str(&r->text, " g\n");
                cur_gray = it->u.text.gray;
            }
            cf_status st = show_text(r, page, style, it);
            if (st != CF_OK)
                return st;
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
        case CF_ITEM_MODULES: {
            cf_status st = paint_modules(r, page, it);
            if (st != CF_OK)
                return st;
            break;
        }
        }
        if (r->error.code != 0)
            return fail(r, "while drawing a page");
    }
    if (in_text)
        HPDF_Page_EndText(page);
    r->cur_font = NULL;
    if (r->error.code != 0)
        return fail(r, "while drawing a page");
    return CF_OK;
}

/* ---- shared bodies' content streams ---- */

/* One body's content stream, kept for the run: immutable once in the cache. */
typedef struct body_stream {
    uint64_t id;
    const cf_pdf_fonts *fonts;
    unsigned styles;  /* bit s: the body draws style s (in the run's font of s) */
    unsigned char *z; /* the zlib stream of the contents */
    size_t z_len;
} body_stream;

/* Bodies kept at most, in compressed bytes: past it a new body is painted for each document
 * (the same bytes, made again). A leaflet's body pages are some kilobytes each. */
#define CF_BODY_STREAMS_MAX_BYTES ((size_t)64 * 1024 * 1024)

/* An open-addressing table of the kept bodies (slots a power of two, at most half used). */
struct cf_body_streams {
    pthread_mutex_t lock;
    body_stream **slots;
    size_t n_slots, used, bytes;
    size_t reused, whole;
};

cf_body_streams *cf_body_streams_new(void)
{
    cf_body_streams *c = cf_calloc(1, sizeof *c);
    if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0) {
        cf_free(c);
        return NULL;
    }
    return c;
}

void cf_body_streams_free(cf_body_streams *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i] != NULL) {
            cf_free(c->slots[i]->z);
            cf_free(c->slots[i]);
        }
    cf_free(c->slots);
    pthread_mutex_destroy(&c->lock);
    cf_free(c);
}

void cf_body_streams_stats(cf_body_streams *c, size_t *reused, size_t *whole)
{
    pthread_mutex_lock(&c->lock);
    *reused = c->reused;
    *whole = c->whole;
    pthread_mutex_unlock(&c->lock);
}

static size_t body_slot(const cf_body_streams *c, uint64_t id, const cf_pdf_fonts *fonts)
{
    uint64_t h = (id ^ (uint64_t)(uintptr_t)fonts) * UINT64_C(0x9E3779B97F4A7C15);
    size_t mask = c->n_slots - 1, i = (size_t)(h >> 32) & mask;
    while (c->slots[i] != NULL && (c->slots[i]->id != id || c->slots[i]->fonts != fonts))
        i = (i + 1) & mask;
    return i;
}

/* The kept body (id, fonts), or NULL. Only bodies whose characters are all in the run's fonts
 * are kept (body_shareable). */
static const body_stream *body_find(cf_body_streams *c, uint64_t id, const cf_pdf_fonts *fonts)
{
    const body_stream *b = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->n_slots > 0)
        b = c->slots[body_slot(c, id, fonts)];
    pthread_mutex_unlock(&c->lock);
    return b;
}

/* Keeps *b (taking it) unless another thread kept the same body first (the same bytes: then
 * that one is used and *b freed) or the cache is full (*b stays the caller's). Returns the
 * body to use, and sets *b to NULL when it was taken. */
static const body_stream *body_keep(cf_body_streams *c, body_stream **b)
{
    body_stream *nb = *b;
    const body_stream *use = nb;
    pthread_mutex_lock(&c->lock);
    if (c->n_slots > 0 && c->slots[body_slot(c, nb->id, nb->fonts)] != NULL) {
        use = c->slots[body_slot(c, nb->id, nb->fonts)];
        cf_free(nb->z);
        cf_free(nb);
        *b = NULL;
    } else if (c->bytes + nb->z_len <= CF_BODY_STREAMS_MAX_BYTES) {
        if ((c->used + 1) * 2 > c->n_slots) {
            size_t n = c->n_slots ? c->n_slots * 2 : 64;
            body_stream **grown = cf_calloc(n, sizeof *grown);
            if (grown != NULL) {
                body_stream **old = c->slots;
                size_t n_old = c->n_slots;
                c->slots = grown;
                c->n_slots = n;
                for (size_t i = 0; i < n_old; i++)
                    if (old[i] != NULL)
                        c->slots[body_slot(c, old[i]->id, old[i]->fonts)] = old[i];
                cf_free(old);
            }
        }
        if ((c->used + 1) * 2 <= c->n_slots) {
            c->slots[body_slot(c, nb->id, nb->fonts)] = nb;
            c->used++;
            c->bytes += nb->z_len;
            *b = NULL;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return use;
}

/* A document's stream object of one body. */
typedef struct doc_body {
    uint64_t id;
    HPDF_Dict stream;
    unsigned styles;
} doc_body;

/* The run fonts' resource names in a page that shows a body stream: the same in every
 * document, and never one libharu gives (F1, F2, ...). */
static const char *const body_font_names[CF_FONT_STYLE_COUNT] = {"Fr", "Fb"};

/* Whether every character of items [0, n_shared) of pg is in the run's fonts of this document
 * (the same codes in every document of the run); *styles gets the styles the items draw. */
static bool body_shareable(const renderer *r, const cf_pdf_fonts *run, const cf_page *pg,
                           unsigned *styles)
{
    *styles = 0;
    for (size_t i = 0; i < pg->n_shared; i++) {
        const cf_item *it = &pg->items[i];
        if (it->kind != CF_ITEM_TEXT || it->u.text.len == 0)
            continue;
        int style = (int)it->u.text.style;
        if (style < 0 || style >= CF_FONT_STYLE_COUNT || r->fonts[style] == NULL ||
            r->primary[style] != &run->layouts[style])
            return false;
        const char *s = it->u.text.utf8;
        size_t len = it->u.text.len;
        for (size_t k = 0; k < len;) {
            uint32_t cp = 0;
            size_t n = cf_utf8_decode(s + k, len - k, &cp);
            if (n == 0 || cid_of(&run->layouts[style], cp) == 0)
                return false;
            k += n;
        }
        *styles |= 1u << style;
    }
    return true;
}

/* Names the run's fonts of styles in the page's font resources as body_font_names says, before
 * anything else is drawn on it (libharu then finds them there for the page's own items too). */
static cf_status name_body_fonts(renderer *r, HPDF_Page page, unsigned styles)
{
    HPDF_PageAttr attr = page->attr;
    if (attr->fonts == NULL) {
        HPDF_Dict resources = HPDF_Dict_GetItem(page, "Resources", HPDF_OCLASS_DICT);
        HPDF_Dict fonts = resources != NULL ? HPDF_Dict_New(page->mmgr) : NULL;
        if (fonts == NULL || HPDF_Dict_Add(resources, "Font", fonts) != HPDF_OK)
            return fail(r, "to name a page's fonts");
        attr->fonts = fonts;
    }
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
        if ((styles & 1u << s) != 0 &&
            HPDF_Dict_Add(attr->fonts, body_font_names[s], r->fonts[s]) != HPDF_OK)
            return fail(r, "to name a page's fonts");
    return CF_OK;
}

/* Paints items [0, n_shared) of pg on the empty page between q and Q, takes what was written
 * out of the page's contents (left empty) and returns it as a new body in *out. */
static cf_status make_body(renderer *r, HPDF_Page page, const cf_page *pg, uint64_t id,
                           const cf_pdf_fonts *run, unsigned styles, body_stream **out)
{
    *out = NULL;
    HPDF_PageAttr attr = page->attr;
    HPDF_Page_GSave(page);
    cf_status st = r->error.code != 0 ? fail(r, "while drawing a page") : CF_OK;
    if (st == CF_OK)
        st = paint_items(r, page, pg, 0, pg->n_shared);
    if (st != CF_OK)
        return st;
    HPDF_Page_GRestore(page);
    if (r->error.code != 0)
        return fail(r, "while drawing a page");
    size_t size = 0;
    unsigned char *raw = NULL;
    st = mem_stream_bytes(r, attr->stream, &raw, &size, "to read a page's body back");
    if (st != CF_OK)
        return st;
    HPDF_MemStream_FreeData(attr->stream);
    cf_buf z;
    cf_buf_init(&z, (size_t)1 << 30);
    st = zlib_with(deflater(r), raw, size, &z);
    cf_free(raw);
    body_stream *b = st == CF_OK ? cf_calloc(1, sizeof *b) : NULL;
    if (st == CF_OK && b == NULL)
        st = CF_ERR_NOMEM;
    if (st == CF_OK) {
        *b = (body_stream){
            .id = id, .fonts = run, .styles = styles, .z = (unsigned char *)z.data, .z_len = z.len};
        z.data = NULL; /* now the body's */
        *out = b;
    }
    cf_buf_cleanup(&z);
    return st;
}

/* This document's stream object of the body of pg (items [0, n_shared), all in the run's
 * fonts of styles, named on the page): made from the kept bytes (kept, may be NULL), or
 * painted now on the empty page (and kept for the next documents). */
static cf_status body_object(renderer *r, HPDF_Page page, const cf_page *pg,
                             const body_stream *kept, unsigned styles, HPDF_Dict *out)
{
    const cf_render_options *o = r->options;
    body_stream *made = NULL;
    const body_stream *b = kept;
    if (b == NULL) {
        cf_status st = make_body(r, page, pg, pg->shared_id, o->run_fonts, styles, &made);
        if (st != CF_OK)
            return st;
        b = body_keep(o->body_streams, &made);
    }
    /* A kept body outlives the document; one not kept (the cache is full) is its own. */
    const unsigned char *z = b->z;
    size_t z_len = b->z_len;
    unsigned char *own = made != NULL ? made->z : NULL;
    if (made != NULL) { /* then b is made */
        made->z = NULL;
        cf_free(made);
    }
    HPDF_Dict stream = new_stream(r);
    cf_status st = stream != NULL ? put_compressed(r, stream, z, z_len, own, "a page's body")
                                  : fail(r, "to make a page's body");
    if (stream == NULL)
        cf_free(own);
    if (st == CF_OK && r->n_bodies == r->cap_bodies) {
        doc_body *grown =
            cf_grow_array(r->bodies, &r->cap_bodies, r->n_bodies + 1, sizeof *grown, 16);
        if (grown == NULL)
            st = CF_ERR_NOMEM;
        else
            r->bodies = grown;
    }
    if (st == CF_OK) {
        r->bodies[r->n_bodies++] = (doc_body){pg->shared_id, stream, styles};
        *out = stream;
    }
    return st;
}

/* Whether this document draws styles with the run's fonts (the codes of a kept body). */
static bool run_fonts_drawn(const renderer *r, const cf_pdf_fonts *run, unsigned styles)
{
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
        if ((styles & 1u << s) != 0 && (r->fonts[s] == NULL || r->primary[s] != &run->layouts[s]))
            return false;
    return true;
}

/* When pg's body (items [0, n_shared)) can be shared, makes the page's /Contents the body's
 * stream (one object per document, body_object) followed by the page's own, and sets *shared:
 * the caller then paints only the items after the body. Otherwise leaves the page alone. */
static cf_status put_body(renderer *r, HPDF_Page page, const cf_page *pg, bool *shared)
{
    *shared = false;
    const cf_render_options *o = r->options;
    if (o == NULL || o->body_streams == NULL || o->run_fonts == NULL || pg->shared_id == 0 ||
        pg->n_shared == 0 || pg->n_shared > pg->n_items)
        return CF_OK;
    cf_body_streams *c = o->body_streams;
    HPDF_Dict stream = NULL;
    unsigned styles = 0;
    for (size_t i = 0; i < r->n_bodies && stream == NULL; i++)
        if (r->bodies[i].id == pg->shared_id) {
            stream = r->bodies[i].stream;
            styles = r->bodies[i].styles;
        }
    const body_stream *kept = stream == NULL ? body_find(c, pg->shared_id, o->run_fonts) : NULL;
    if (kept != NULL)
        styles = kept->styles;
    /* A body made before has the same characters: only the fonts are checked. Otherwise every
     * character is (a body with a patient's own characters is painted whole). */
    bool shareable = stream != NULL || kept != NULL ? run_fonts_drawn(r, o->run_fonts, styles)
                                                    : body_shareable(r, o->run_fonts, pg, &styles);
    pthread_mutex_lock(&c->lock);
    c->reused += shareable;
    c->whole += !shareable;
    pthread_mutex_unlock(&c->lock);
    if (!shareable)
        return CF_OK;
    cf_status st = name_body_fonts(r, page, styles);
    if (st == CF_OK && stream == NULL)
        st = body_object(r, page, pg, kept, styles, &stream);
    if (st != CF_OK)
        return st;
    HPDF_PageAttr attr = page->attr;
    HPDF_Array contents = HPDF_Array_New(page->mmgr);
    if (contents == NULL || HPDF_Array_Add(contents, stream) != HPDF_OK ||
        HPDF_Array_Add(contents, attr->contents) != HPDF_OK ||
        HPDF_Dict_Add(page, "Contents", contents) != HPDF_OK)
        return fail(r, "to list a page's contents");
    *shared = true;
    return CF_OK;
}

static cf_status paint_page(renderer *r, const cf_display_list *list, const cf_page *pg)
{
    HPDF_Page page = HPDF_AddPage(r->pdf);
    if (page == NULL)
        return fail(r, "to add a page");
    HPDF_Page_SetWidth(page, (HPDF_REAL)list->width);
    HPDF_Page_SetHeight(page, (HPDF_REAL)list->height);
    bool shared = false;
    cf_status st = put_body(r, page, pg, &shared);
    if (st == CF_OK)
        st = paint_items(r, page, pg, shared ? pg->n_shared : 0, pg->n_items);
    if (st != CF_OK)
        return st;
    /* The page is complete: its contents are deflated now rather than by libharu. */
    return deflate_page_contents(r, page, "a page's contents");
}

/* Sets an entry of the document information dictionary to a text string: UTF-16BE with a
 * byte order mark, as PDF text strings outside PDFDocEncoding are written. */
static void set_info_text(renderer *r, HPDF_InfoType type, const char *key, const char *value)
{
    if (r->pdf->info == NULL) /* libharu makes the dictionary on first use */
        HPDF_SetInfoAttr(r->pdf, type, "");
    if (r->pdf->info == NULL)
        return; /* the error is recorded */
    cf_buf b;
    cf_buf_init(&b, (size_t)1 << 20);
    cf_buf_append(&b, "\xFE\xFF", 2);
    size_t len = strlen(value);
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = cf_utf8_decode(value + i, len - i, &cp);
        if (k == 0) {
            cp = 0xFFFD; /* never happens: the values were checked as UTF-8 */
            k = 1;
        }
        unsigned units[2];
        unsigned n = utf16_units(cp, units);
        for (unsigned u = 0; u < n; u++) {
            unsigned char be[2] = {(unsigned char)(units[u] >> 8), (unsigned char)units[u]};
            cf_buf_append(&b, be, 2);
        }
        i += k;
    }
    if (b.error == CF_OK)
        HPDF_Dict_Add(r->pdf->info, key,
                      HPDF_Binary_New(r->pdf->mmgr, (HPDF_BYTE *)b.data, (HPDF_UINT)b.len));
    else
        r->error.nomem = b.error == CF_ERR_NOMEM;
    cf_buf_cleanup(&b);
}

static void set_info(renderer *r, const cf_doc_info *info)
{
    char creator[64];
    snprintf(creator, sizeof creator, "consentform %s", CF_VERSION);
    set_info_text(r, HPDF_INFO_PRODUCER, "Producer", creator);
    set_info_text(r, HPDF_INFO_CREATOR, "Creator", creator);
    if (info->title != NULL)
        set_info_text(r, HPDF_INFO_TITLE, "Title", info->title);
    if (info->subject != NULL)
        set_info_text(r, HPDF_INFO_SUBJECT, "Subject", info->subject);
    if (info->author != NULL)
        set_info_text(r, HPDF_INFO_AUTHOR, "Author", info->author);
    if (info->keywords != NULL)
        set_info_text(r, HPDF_INFO_KEYWORDS, "Keywords", info->keywords);
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

/* libharu's output while it saves a document: appended to a cf_buf (at), which
 * HPDF_SaveToStream would otherwise put in a memory stream byte by byte, to be read back out
 * of it byte by byte. */
static HPDF_STATUS saved_write(HPDF_Stream s, const HPDF_BYTE *ptr, HPDF_UINT size)
{
    cf_buf *b = s->attr;
    if (b == NULL || cf_buf_append(b, ptr, size) != CF_OK)
        return HPDF_SetError(s->error, HPDF_FAILD_TO_ALLOC_MEM, 0);
    return HPDF_OK;
}

static cf_status save(renderer *r, unsigned char **out, size_t *out_len)
{
    cf_buf b;
    cf_buf_init(&b, UINT32_MAX);
    /* Room for the held streams and the objects around them, to grow seldom. */
    if (cf_buf_reserve(&b, r->held + 32 * 1024) != CF_OK) {
        cf_buf_cleanup(&b);
        return CF_ERR_NOMEM;
    }
    b.len = 0;
    if (r->pdf->stream != NULL)
        HPDF_Stream_Free(r->pdf->stream);
    r->pdf->stream = HPDF_CallbackWriter_New(r->pdf->mmgr, saved_write, &b);
    HPDF_STATUS hs = r->pdf->stream != NULL ? HPDF_SaveToStream(r->pdf) : HPDF_FAILD_TO_ALLOC_MEM;
    if (r->pdf->stream != NULL)
        r->pdf->stream->attr = NULL; /* b is gone after this */
    if (b.error != CF_OK) {
        cf_status st = b.error;
        cf_buf_cleanup(&b);
        return st == CF_ERR_NOMEM ? CF_ERR_NOMEM : fail(r, "to write the PDF (it is too large)");
    }
    if (hs != HPDF_OK || r->error.code != 0) {
        cf_buf_cleanup(&b);
        return fail(r, "to write the PDF");
    }
    size_t len = 0;
    *out = (unsigned char *)cf_buf_take(&b, &len);
    *out_len = len;
    return *out != NULL ? CF_OK : CF_ERR_NOMEM;
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
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        cf_subset_layout_cleanup(&w->r.layouts[s]);
        cf_subset_layout_cleanup(&w->r.extra_layouts[s]);
    }
    cf_buf_cleanup(&w->r.text);
    cf_free(w->r.bodies);
    libdeflate_free_compressor(w->r.deflater);
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
    cf_buf_init(&w->r.text, (size_t)1 << 24);
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
