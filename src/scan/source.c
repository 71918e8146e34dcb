/* Scan sources: a file's kind found from its first bytes, and its pages read through the
 * reader for that kind (pdf.c, tiff.c) or, for a PNG or JPEG file, as its one page. */
#include "scan/scan_internal.h"

#include "base/alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A single-image file is read whole; bigger than this it is not a scan. */
#define MAX_IMAGE_FILE (256u * 1024u * 1024u)

typedef enum source_kind { KIND_PDF, KIND_TIFF, KIND_PNG, KIND_JPEG } source_kind;

struct cf_scan_source {
    char *path;
    source_kind kind;
    size_t pages;
    const cf_scan_reader *reader; /* PDF and TIFF */
    void *impl;
    unsigned char *data; /* PNG and JPEG: the whole file */
    size_t len;
};

void cf_scan_image_cleanup(cf_scan_image *image)
{
    if (image == NULL)
        return;
    cf_free(image->pixels);
    image->pixels = NULL;
    image->width = image->height = 0;
}

void cf_scan_sink_why(const cf_scan_sink *sink, const char *fmt, ...)
{
    if (sink->why == NULL || sink->why_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sink->why, sink->why_size, fmt, ap);
    va_end(ap);
}

cf_status cf_scan_sink_start(const cf_scan_sink *sink, unsigned width, unsigned height)
{
    if (width == 0 || height == 0 || (unsigned long long)width * height > sink->max_pixels) {
        cf_scan_sink_why(sink, "its size (%u x %u pixels) is not that of a scan", width, height);
        return CF_ERR_LIMIT;
    }
    if (sink->image == NULL)
        return CF_OK;
    cf_status st = cf_scan_image_alloc(sink->image, width, height);
    if (st == CF_ERR_NOMEM)
        cf_scan_sink_why(sink, "out of memory");
    return st;
}

cf_status cf_scan_image_alloc(cf_scan_image *image, unsigned width, unsigned height)
{
    image->pixels = NULL;
    image->width = image->height = 0;
    if (width == 0 || height == 0 || (unsigned long long)width * height > CF_SCAN_MAX_PIXELS)
        return CF_ERR_LIMIT;
    image->pixels = cf_malloc((size_t)width * height);
    if (image->pixels == NULL)
        return CF_ERR_NOMEM;
    image->width = width;
    image->height = height;
    return CF_OK;
}

static cf_status read_whole(const char *path, unsigned char **data, size_t *len, cf_diag *diag)
{
    FILE *f = fopen(path, "rb");
    cf_status st = CF_OK;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL) {
        cf_diag_error(diag, path, 0, "cannot open the scan: %s", strerror(errno));
        return CF_ERR_NOINPUT;
    }
    for (;;) {
        unsigned char *grown = cf_grow_array(buf, &cap, n + 65536, 1, 65536);
        if (grown == NULL) {
            st = CF_ERR_NOMEM;
            break;
        }
        buf = grown;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                cf_diag_error(diag, path, 0, "cannot read the scan: %s", strerror(errno));
                st = CF_ERR_IO;
            }
            break;
        }
        if (n > MAX_IMAGE_FILE) {
            cf_diag_error(diag, path, 0, "an image file bigger than %u MB is not a scan",
                          MAX_IMAGE_FILE >> 20);
            st = CF_ERR_LIMIT;
            break;
        }
    }
    fclose(f);
    if (st != CF_OK) {
        cf_free(buf);
        return st;
    }
    *data = buf;
    *len = n;
    return CF_OK;
}

cf_status cf_scan_source_open(const char *path, cf_scan_source **out, cf_diag *diag)
{
    unsigned char head[8] = {0};
    cf_status st = CF_OK;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cf_diag_error(diag, path, 0, "cannot open the scan: %s", strerror(errno));
        return CF_ERR_NOINPUT;
    }
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    cf_scan_source *src = cf_calloc(1, sizeof *src);
    if (src == NULL || (src->path = cf_strdup(path)) == NULL) {
        cf_free(src);
        return CF_ERR_NOMEM;
    }
    if (n >= 5 && memcmp(head, "%PDF-", 5) == 0) {
        src->kind = KIND_PDF;
        st = cf_scan_pdf_open(path, &src->reader, &src->impl, &src->pages, diag);
    } else if (n >= 4 && (memcmp(head, "II*\0", 4) == 0 || memcmp(head, "MM\0*", 4) == 0)) {
        src->kind = KIND_TIFF;
        st = cf_scan_tiff_open(path, &src->reader, &src->impl, &src->pages, diag);
    } else if (n >= 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0) {
        src->kind = KIND_PNG;
        src->pages = 1;
        st = read_whole(path, &src->data, &src->len, diag);
    } else if (n >= 3 && memcmp(head, "\xff\xd8\xff", 3) == 0) {
        src->kind = KIND_JPEG;
        src->pages = 1;
        st = read_whole(path, &src->data, &src->len, diag);
    } else {
        cf_diag_error(diag, path, 0, "not a scan: neither PDF, TIFF, PNG nor JPEG");
        st = CF_ERR_DATA;
    }
    if (st != CF_OK) {
        cf_scan_source_free(src);
        return st;
    }
    *out = src;
    return CF_OK;
}

void cf_scan_source_free(cf_scan_source *source)
{
    if (source == NULL)
        return;
    if (source->reader != NULL && source->impl != NULL)
        source->reader->close(source->impl);
    cf_free(source->data);
    cf_free(source->path);
    cf_free(source);
}

size_t cf_scan_source_get_pages(const cf_scan_source *source)
{
    return source->pages;
}

const char *cf_scan_source_get_path(const cf_scan_source *source)
{
    return source->path;
}

static cf_status page_error(const cf_scan_source *source, size_t page, cf_status st, cf_diag *diag)
{
    if (st == CF_ERR_NOMEM)
        return st;
    cf_diag_error(diag, source->path, 0, "page %zu: cannot decode the page image (%s)", page + 1,
                  cf_status_message(st));
    return st == CF_ERR_LIMIT ? st : CF_ERR_DATA;
}

cf_status cf_scan_source_read_page(cf_scan_source *source, size_t page, cf_scan_image *out,
                                   cf_diag *diag)
{
    cf_status st;
    memset(out, 0, sizeof *out);
    if (page >= source->pages)
        return CF_ERR_USAGE;
    switch (source->kind) {
    case KIND_PDF:
    case KIND_TIFF:
        /* The reader names the page in its own messages. */
        return source->reader->read(source->impl, page, out, diag);
    case KIND_PNG:
        st = cf_scan_png_decode(source->data, source->len, out);
        break;
    case KIND_JPEG:
    default:
        st = cf_scan_jpeg_decode(source->data, source->len, out);
        break;
    }
    return st == CF_OK ? CF_OK : page_error(source, page, st, diag);
}

cf_status cf_scan_source_get_raw(cf_scan_source *source, size_t page, cf_scan_raw *out,
                                 cf_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (page >= source->pages)
        return CF_ERR_USAGE;
    if (source->reader != NULL)
        return source->reader->raw(source->impl, page, out, diag);
    out->encoding = CF_SCAN_ENC_OTHER;
    if (source->kind == KIND_JPEG) {
        cf_status st = cf_scan_jpeg_info(source->data, source->len, out);
        if (st != CF_OK)
            return page_error(source, page, st, diag);
        out->data = source->data;
        out->len = source->len;
    }
    return CF_OK;
}
