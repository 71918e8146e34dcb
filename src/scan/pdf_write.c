/* A PDF of scanned pages made from their own image data (file.h): one image per page, drawn
 * over the whole page; JPEG, CCITT, Flate and JBIG2 data are embedded as they are, anything
 * else is decoded to grey and compressed with zlib (lossless). No dates, no ids: the same pages
 * always give the same bytes, so filing a stack again changes nothing. */
#include "scan/file.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define PDF_MAX ((size_t)1 << 31)

typedef struct writer {
    cf_buf out;
    size_t *offsets; /* [object number] */
    size_t n_objects, cap;
    cf_status st;
} writer;

/* Starts object number n (numbers are given in order). */
static void begin_object(writer *w, size_t n)
{
    size_t *grown = cf_grow_array(w->offsets, &w->cap, n + 1, sizeof *grown, 64);
    if (grown == NULL) {
        w->st = CF_ERR_NOMEM;
        return;
    }
    w->offsets = grown;
    w->offsets[n] = w->out.len;
    if (n + 1 > w->n_objects)
        w->n_objects = n + 1;
    if (w->st == CF_OK)
        w->st = cf_buf_printf(&w->out, "%zu 0 obj\n", n);
}

static void put(writer *w, const char *s)
{
    if (w->st == CF_OK)
        w->st = cf_buf_append_str(&w->out, s);
}

static void put_bytes(writer *w, const void *data, size_t len)
{
    if (w->st == CF_OK)
        w->st = cf_buf_append(&w->out, data, len);
}

/* A stream object's data and end. */
static void put_stream(writer *w, const void *data, size_t len)
{
    put(w, "stream\n");
    put_bytes(w, data, len);
    put(w, "\nendstream\nendobj\n");
}

/* "%.2f" without the locale's decimal comma, into s (48 bytes). */
static void number_text(double v, char *s)
{
    long long c = (long long)(v * 100.0 + (v < 0 ? -0.5 : 0.5));
    long long m = c < 0 ? -c : c;
    snprintf(s, 48, "%s%lld.%02lld", c < 0 ? "-" : "", m / 100, m % 100);
}

static const char *color_space(unsigned components)
{
    return components == 4 ? "/DeviceCMYK" : components == 3 ? "/DeviceRGB" : "/DeviceGray";
}

/* The image dictionary's filter part and the data to embed for raw; *owned (freed by the
 * caller) holds re-encoded data. */
static cf_status image_data(cf_scan_source *source, size_t page, const cf_scan_raw *raw,
                            cf_buf *dict, unsigned char **owned, const unsigned char **data,
                            size_t *len, unsigned *width, unsigned *height, cf_diag *diag)
{
    *owned = NULL;
    *data = raw->data;
    *len = raw->len;
    *width = raw->width;
    *height = raw->height;
    cf_status st = CF_OK;
    switch (raw->encoding) {
    case CF_SCAN_ENC_JPEG:
        st = cf_buf_printf(dict, "/ColorSpace %s /BitsPerComponent 8 /Filter /DCTDecode%s",
                           color_space(raw->components),
                           raw->invert && raw->components == 4 ? " /Decode [1 0 1 0 1 0 1 0]"
                           : raw->invert                       ? " /Decode [1 0]"
                                                               : "");
        break;
    case CF_SCAN_ENC_CCITT:
        st = cf_buf_printf(dict,
                           "/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode "
                           "/DecodeParms << /K %d /Columns %u /Rows %u /BlackIs1 %s%s >>%s",
                           raw->ccitt_k, raw->width, raw->height,
                           raw->ccitt_black_is_1 ? "true" : "false",
                           raw->ccitt_byte_align ? " /EncodedByteAlign true" : "",
                           raw->invert ? " /Decode [1 0]" : "");
        break;
    case CF_SCAN_ENC_FLATE:
        st = cf_buf_printf(dict, "/ColorSpace %s /BitsPerComponent %u /Filter /FlateDecode%s",
                           color_space(raw->components), raw->bits,
                           raw->invert ? " /Decode [1 0]" : "");
        break;
    case CF_SCAN_ENC_JBIG2:
        st = cf_buf_printf(dict,
                           "/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode%s",
                           raw->invert ? " /Decode [1 0]" : "");
        break;
    case CF_SCAN_ENC_OTHER: {
        /* Decoded to grey and compressed without loss. */
        cf_scan_image img = {0};
        st = cf_scan_source_read_page(source, page, &img, diag);
        if (st != CF_OK)
            return st;
        size_t n = (size_t)img.width * img.height;
        uLongf cap = compressBound((uLong)n);
        *owned = cf_malloc(cap);
        if (*owned == NULL || compress2(*owned, &cap, img.pixels, (uLong)n, 6) != Z_OK) {
            cf_scan_image_cleanup(&img);
            return CF_ERR_NOMEM;
        }
        *data = *owned;
        *len = cap;
        *width = img.width;
        *height = img.height;
        cf_scan_image_cleanup(&img);
        st =
            cf_buf_printf(dict, "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode");
        break;
    }
    }
    return st;
}

cf_status cf_scan_pdf_write(cf_scan_source *const *sources, const size_t *pages, size_t n,
                            unsigned char **out, size_t *out_len, cf_diag *diag)
{
    *out = NULL;
    *out_len = 0;
    writer w = {.st = CF_OK};
    cf_buf_init(&w.out, PDF_MAX);
    cf_buf dict;
    cf_buf_init(&dict, 4096);
    /* Objects: 1 catalog, 2 pages, then per page: page, contents, image, (JBIG2 globals). */
    size_t *kids = cf_calloc(n > 0 ? n : 1, sizeof *kids);
    if (kids == NULL)
        w.st = CF_ERR_NOMEM;
    put(&w, "%PDF-1.5\n%\xe2\xe3\xcf\xd3\n");
    size_t next = 3;
    for (size_t i = 0; w.st == CF_OK && i < n; i++) {
        cf_scan_raw raw;
        cf_status st = cf_scan_source_get_raw(sources[i], pages[i], &raw, diag);
        if (st != CF_OK) {
            w.st = st;
            break;
        }
        unsigned char *owned = NULL;
        const unsigned char *data = NULL;
        size_t len = 0;
        unsigned width = 0, height = 0;
        cf_buf_reset(&dict);
        w.st = image_data(sources[i], pages[i], &raw, &dict, &owned, &data, &len, &width, &height,
                          diag);
        double dpi = raw.dpi > 1 ? raw.dpi : 200.0;
        double pw = width * 72.0 / dpi, ph = height * 72.0 / dpi;
        size_t page_obj = next++, contents = next++, image = next++;
        size_t globals =
            raw.encoding == CF_SCAN_ENC_JBIG2 && raw.jbig2_globals != NULL ? next++ : 0;
        kids[i] = page_obj;
        char pws[48], phs[48], content[160];
        number_text(pw, pws);
        number_text(ph, phs);
        begin_object(&w, page_obj);
        if (w.st == CF_OK)
            w.st = cf_buf_printf(&w.out,
                                 "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources "
                                 "<< /XObject << /Im0 %zu 0 R >> >> /Contents %zu 0 R >>\nendobj\n",
                                 pws, phs, image, contents);
        snprintf(content, sizeof content, "q %s 0 0 %s 0 0 cm /Im0 Do Q\n", pws, phs);
        begin_object(&w, contents);
        if (w.st == CF_OK)
            w.st = cf_buf_printf(&w.out, "<< /Length %zu >>\n", strlen(content));
        put_stream(&w, content, strlen(content));
        begin_object(&w, image);
        if (w.st == CF_OK)
            w.st =
                cf_buf_printf(&w.out, "<< /Type /XObject /Subtype /Image /Width %u /Height %u %.*s",
                              width, height, (int)dict.len, dict.data != NULL ? dict.data : "");
        if (w.st == CF_OK && globals != 0)
            w.st = cf_buf_printf(&w.out, " /DecodeParms << /JBIG2Globals %zu 0 R >>", globals);
        if (w.st == CF_OK)
            w.st = cf_buf_printf(&w.out, " /Length %zu >>\n", len);
        put_stream(&w, data, len);
        if (globals != 0) {
            begin_object(&w, globals);
            if (w.st == CF_OK)
                w.st = cf_buf_printf(&w.out, "<< /Length %zu >>\n", raw.jbig2_globals_len);
            put_stream(&w, raw.jbig2_globals, raw.jbig2_globals_len);
        }
        cf_free(owned);
    }
    begin_object(&w, 1);
    put(&w, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    begin_object(&w, 2);
    put(&w, "<< /Type /Pages /Kids [");
    for (size_t i = 0; w.st == CF_OK && kids != NULL && i < n; i++)
        w.st = cf_buf_printf(&w.out, "%s%zu 0 R", i ? " " : "", kids[i]);
    if (w.st == CF_OK)
        w.st = cf_buf_printf(&w.out, "] /Count %zu >>\nendobj\n", n);
    size_t xref = w.out.len;
    if (w.st == CF_OK)
        w.st = cf_buf_printf(&w.out, "xref\n0 %zu\n0000000000 65535 f \n", w.n_objects);
    for (size_t i = 1; w.st == CF_OK && i < w.n_objects; i++)
        w.st = cf_buf_printf(&w.out, "%010zu 00000 n \n", w.offsets[i]);
    if (w.st == CF_OK)
        w.st =
            cf_buf_printf(&w.out, "trailer\n<< /Size %zu /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
                          w.n_objects, xref);
    cf_status st = w.st;
    if (st == CF_OK)
        *out = (unsigned char *)cf_buf_take(&w.out, out_len);
    cf_buf_cleanup(&w.out);
    cf_buf_cleanup(&dict);
    cf_free(w.offsets);
    cf_free(kids);
    return st;
}
