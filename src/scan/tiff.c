/* TIFF scans (libtiff): every directory of the file is a page; bilevel and 8-bit grey pages are
 * read directly, anything else through libtiff's RGBA reader. Also decodes the CCITT data of a
 * PDF image by wrapping it as a one-strip TIFF in memory, and checks every page of a TIFF in
 * memory for the archive. The one file of the program that includes libtiff. */
#include "scan/scan_internal.h"

#include "base/alloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>

typedef struct tiff_file {
    char *path;
    TIFF *tif;
    unsigned char *strip; /* raw strip of the last cf_scan_source_get_raw */
} tiff_file;

/* libtiff reports through process-wide handlers: errors are counted, and the first one kept,
 * per thread; nothing is printed (our messages are made by the callers). */
static _Thread_local int tiff_errors;
static _Thread_local char tiff_message[200];

static void on_error(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    if (tiff_errors++ == 0)
        vsnprintf(tiff_message, sizeof tiff_message, fmt, ap);
}

static void on_warning(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    (void)fmt;
    (void)ap;
}

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static void set_handlers(void)
{
    TIFFSetErrorHandler(on_error);
    TIFFSetWarningHandler(on_warning);
}

/* Installs the handlers (once) and clears this thread's error count. */
static void errors_reset(void)
{
    pthread_once(&handlers_once, set_handlers);
    tiff_errors = 0;
    tiff_message[0] = '\0';
}

/* Bits of a 1-bit row to grey: black_bit is the bit value printed black. */
static void expand_bits(const unsigned char *bits, unsigned char *row, unsigned width,
                        unsigned black_bit)
{
    for (unsigned x = 0; x < width; x++) {
        unsigned bit = ((unsigned)bits[x >> 3] >> (7u - (x & 7u))) & 1u;
        row[x] = bit == black_bit ? 0 : 255;
    }
}

/* A bilevel or 8-bit grey page, a row at a time. */
static cf_status read_direct(TIFF *tif, const cf_scan_sink *sink, uint32_t width, uint32_t height,
                             uint16_t bps, bool white_is_0)
{
    cf_status st = CF_OK;
    tmsize_t size = TIFFScanlineSize(tif);
    unsigned char *line = size > 0 ? cf_malloc((size_t)size) : NULL;
    if (line == NULL) {
        cf_scan_sink_why(sink, "out of memory");
        return CF_ERR_NOMEM;
    }
    cf_scan_image *out = sink->image;
    for (uint32_t y = 0; y < height && st == CF_OK; y++) {
        if (TIFFReadScanline(tif, line, y, 0) < 0 || (sink->strict && tiff_errors > 0)) {
            if (tiff_message[0] != '\0')
                cf_scan_sink_why(sink, "its pixels cannot all be decoded: %s", tiff_message);
            else
                cf_scan_sink_why(sink, "its pixels cannot all be decoded: row %u of %u is damaged",
                                 (unsigned)y + 1, (unsigned)height);
            st = CF_ERR_DATA;
        } else if (out == NULL) {
            continue;
        } else if (bps == 1) {
            expand_bits(line, out->pixels + (size_t)y * width, width, white_is_0 ? 1u : 0u);
        } else {
            unsigned char *row = out->pixels + (size_t)y * width;
            for (uint32_t x = 0; x < width; x++)
                row[x] = white_is_0 ? (unsigned char)(255 - line[x]) : line[x];
        }
    }
    cf_free(line);
    return st;
}

/* Any other page, through libtiff's RGBA reader, a band of rows at a time. */
static cf_status read_rgba(TIFF *tif, const cf_scan_sink *sink)
{
    TIFFRGBAImage img;
    char emsg[1024] = "";
    if (!TIFFRGBAImageOK(tif, emsg) || !TIFFRGBAImageBegin(&img, tif, 0, emsg)) {
        cf_scan_sink_why(sink, "it is not a TIFF image that decodes: %s", emsg);
        return CF_ERR_DATA;
    }
    cf_status st = cf_scan_sink_start(sink, img.width, img.height);
    const uint32_t band = 64;
    uint32_t *rows = st == CF_OK ? cf_malloc((size_t)img.width * band * sizeof *rows) : NULL;
    if (st == CF_OK && rows == NULL) {
        cf_scan_sink_why(sink, "out of memory");
        st = CF_ERR_NOMEM;
    }
    img.req_orientation = ORIENTATION_TOPLEFT;
    for (uint32_t y = 0; st == CF_OK && y < img.height; y += band) {
        uint32_t h = img.height - y < band ? img.height - y : band;
        img.row_offset = (int)y;
        img.col_offset = 0;
        if (!TIFFRGBAImageGet(&img, rows, img.width, h) || (sink->strict && tiff_errors > 0)) {
            cf_scan_sink_why(sink, "its pixels cannot all be decoded: %s", tiff_message);
            st = CF_ERR_DATA;
            break;
        }
        if (sink->image == NULL)
            continue;
        unsigned char *out = sink->image->pixels + (size_t)y * img.width;
        for (size_t i = 0; i < (size_t)img.width * h; i++) {
            uint32_t p = rows[i];
            out[i] =
                (unsigned char)((TIFFGetR(p) * 77u + TIFFGetG(p) * 150u + TIFFGetB(p) * 29u) >> 8);
        }
    }
    TIFFRGBAImageEnd(&img);
    cf_free(rows);
    if (st != CF_OK)
        cf_scan_image_cleanup(sink->image);
    return st;
}

/* Reads the current directory of tif into sink. */
static cf_status read_directory(TIFF *tif, const cf_scan_sink *sink)
{
    uint32_t width = 0, height = 0;
    uint16_t bps = 1, spp = 1, photometric = PHOTOMETRIC_MINISWHITE, unit = RESUNIT_INCH;
    float xres = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    double dpi = 0;
    if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres)) {
        TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
        dpi = unit == RESUNIT_CENTIMETER ? (double)xres * 2.54
              : unit == RESUNIT_INCH     ? (double)xres
                                         : 0;
    }
    bool direct = spp == 1 && (bps == 1 || bps == 8) && !TIFFIsTiled(tif) &&
                  (photometric == PHOTOMETRIC_MINISWHITE || photometric == PHOTOMETRIC_MINISBLACK);
    cf_status st = CF_OK;
    if (!direct) {
        st = read_rgba(tif, sink);
    } else {
        st = cf_scan_sink_start(sink, width, height);
        if (st == CF_OK)
            st = read_direct(tif, sink, width, height, bps, photometric == PHOTOMETRIC_MINISWHITE);
        if (st != CF_OK)
            cf_scan_image_cleanup(sink->image);
    }
    if (st == CF_OK && sink->image != NULL)
        sink->image->dpi = dpi;
    return st;
}

static void tiff_close(void *impl)
{
    tiff_file *file = impl;
    if (file == NULL)
        return;
    if (file->tif != NULL)
        TIFFClose(file->tif);
    cf_free(file->strip);
    cf_free(file->path);
    cf_free(file);
}

static cf_status select_page(tiff_file *file, size_t page, cf_diag *diag)
{
    if (page > 65535 || !TIFFSetDirectory(file->tif, (tdir_t)page)) {
        cf_diag_error(diag, file->path, 0, "page %zu: cannot read the TIFF directory", page + 1);
        return CF_ERR_DATA;
    }
    return CF_OK;
}

static cf_status tiff_read(void *impl, size_t page, cf_scan_image *image, cf_diag *diag)
{
    tiff_file *file = impl;
    cf_status st = select_page(file, page, diag);
    cf_scan_sink sink = {.image = image, .max_pixels = CF_SCAN_MAX_PIXELS};
    image->pixels = NULL;
    errors_reset();
    if (st == CF_OK)
        st = read_directory(file->tif, &sink);
    if (st != CF_OK && st != CF_ERR_NOMEM)
        cf_diag_error(diag, file->path, 0, "page %zu: cannot decode the page image (%s)", page + 1,
                      cf_status_message(st));
    return st;
}

/* A one-strip CCITT or JPEG page can go into a PDF as it is; anything else is re-encoded. */
static cf_status tiff_raw(void *impl, size_t page, cf_scan_raw *raw, cf_diag *diag)
{
    tiff_file *file = impl;
    TIFF *tif = file->tif;
    cf_status st = select_page(file, page, diag);
    if (st != CF_OK)
        return st;
    uint32_t width = 0, height = 0, t4 = 0;
    uint16_t compression = 1, photometric = PHOTOMETRIC_MINISWHITE, fill = FILLORDER_MSB2LSB;
    uint16_t unit = RESUNIT_INCH;
    float xres = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetFieldDefaulted(tif, TIFFTAG_FILLORDER, &fill);
    raw->encoding = CF_SCAN_ENC_OTHER;
    raw->width = width;
    raw->height = height;
    raw->components = 1;
    raw->bits = 1;
    if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres)) {
        TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
        raw->dpi = unit == RESUNIT_CENTIMETER ? (double)xres * 2.54
                   : unit == RESUNIT_INCH     ? (double)xres
                                              : 0;
    }
    bool ccitt = compression == COMPRESSION_CCITTFAX4 || compression == COMPRESSION_CCITTFAX3;
    if (!ccitt || TIFFNumberOfStrips(tif) != 1 || TIFFIsTiled(tif) || fill != FILLORDER_MSB2LSB)
        return CF_OK;
    uint64_t *counts = NULL;
    if (!TIFFGetField(tif, TIFFTAG_STRIPBYTECOUNTS, &counts) || counts == NULL || counts[0] == 0 ||
        counts[0] > CF_SCAN_MAX_PIXELS)
        return CF_OK;
    cf_free(file->strip);
    file->strip = cf_malloc((size_t)counts[0]);
    if (file->strip == NULL)
        return CF_ERR_NOMEM;
    tmsize_t got = TIFFReadRawStrip(tif, 0, file->strip, (tmsize_t)counts[0]);
    if (got <= 0)
        return CF_OK;
    if (compression == COMPRESSION_CCITTFAX3) {
        TIFFGetField(tif, TIFFTAG_GROUP3OPTIONS, &t4);
        raw->ccitt_k = (t4 & GROUP3OPT_2DENCODING) ? 2 : 0; /* K > 0: rows mix 1-D and 2-D */
        raw->ccitt_byte_align = (t4 & GROUP3OPT_FILLBITS) != 0;
    } else {
        raw->ccitt_k = -1;
    }
    raw->encoding = CF_SCAN_ENC_CCITT;
    /* libtiff's fax codec writes coded black runs as 1 bits whatever the photometric; a
     * MinIsWhite page shows them black, as PDF does without BlackIs1. */
    raw->ccitt_black_is_1 = photometric == PHOTOMETRIC_MINISBLACK;
    raw->data = file->strip;
    raw->len = (size_t)got;
    return CF_OK;
}

static const cf_scan_reader tiff_reader = {tiff_close, tiff_raw, tiff_read};

cf_status cf_scan_tiff_open(const char *path, const cf_scan_reader **reader, void **impl,
                            size_t *pages, cf_diag *diag)
{
    errors_reset();
    tiff_file *file = cf_calloc(1, sizeof *file);
    if (file == NULL || (file->path = cf_strdup(path)) == NULL) {
        cf_free(file);
        return CF_ERR_NOMEM;
    }
    file->tif = TIFFOpen(path, "r");
    if (file->tif == NULL) {
        cf_diag_error(diag, path, 0, "not a readable TIFF file");
        tiff_close(file);
        return CF_ERR_DATA;
    }
    *pages = TIFFNumberOfDirectories(file->tif);
    *reader = &tiff_reader;
    *impl = file;
    return CF_OK;
}

/* ---- CCITT data of a PDF image, wrapped as a TIFF in memory ---- */

typedef struct memory_tiff {
    const unsigned char *data;
    size_t len, pos;
} memory_tiff;

static tmsize_t mem_read(thandle_t h, void *buf, tmsize_t size)
{
    memory_tiff *m = h;
    size_t n = (size_t)size;
    if (m->pos >= m->len)
        return 0;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (tmsize_t)n;
}

static tmsize_t mem_write(thandle_t h, void *buf, tmsize_t size)
{
    (void)h;
    (void)buf;
    (void)size;
    return -1;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    memory_tiff *m = h;
    unsigned long long base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
    unsigned long long to = base + off;
    if (to > m->len)
        return (toff_t)-1;
    m->pos = (size_t)to;
    return (toff_t)to;
}

static int mem_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t mem_size(thandle_t h)
{
    return (toff_t)((memory_tiff *)h)->len;
}

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, unsigned long v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

cf_status cf_scan_ccitt_decode(const cf_scan_raw *raw, cf_scan_image *out)
{
    enum { N_TAGS = 9, HEADER = 8, IFD = 2 + N_TAGS * 12 + 4 };
    out->pixels = NULL;
    if (raw->width == 0 || raw->height == 0 || raw->len > 0xffffffffu - HEADER - IFD)
        return CF_ERR_DATA;
    errors_reset();
    unsigned char *d = cf_malloc(HEADER + IFD + raw->len);
    memory_tiff m = {d, HEADER + IFD + raw->len, 0};
    if (d == NULL)
        return CF_ERR_NOMEM;
    /* Little-endian header, one directory, then the strip. */
    d[0] = 'I';
    d[1] = 'I';
    put16(d + 2, 42);
    put32(d + 4, HEADER);
    unsigned char *e = d + HEADER;
    put16(e, N_TAGS);
    unsigned long t4 = (raw->ccitt_k > 0 ? GROUP3OPT_2DENCODING : 0) |
                       (raw->ccitt_byte_align ? GROUP3OPT_FILLBITS : 0);
    const unsigned long tags[N_TAGS][3] = {
        /* tag, type (3 short, 4 long), value */
        {TIFFTAG_IMAGEWIDTH, 4, raw->width},
        {TIFFTAG_IMAGELENGTH, 4, raw->height},
        {TIFFTAG_BITSPERSAMPLE, 3, 1},
        {TIFFTAG_COMPRESSION, 3, raw->ccitt_k < 0 ? COMPRESSION_CCITTFAX4 : COMPRESSION_CCITTFAX3},
        /* In the decoded bits 1 is a black run; MinIsWhite says so. */
        {TIFFTAG_PHOTOMETRIC, 3, PHOTOMETRIC_MINISWHITE},
        {TIFFTAG_STRIPOFFSETS, 4, HEADER + IFD},
        {TIFFTAG_ROWSPERSTRIP, 4, raw->height},
        {TIFFTAG_STRIPBYTECOUNTS, 4, (unsigned long)raw->len},
        {raw->ccitt_k < 0 ? TIFFTAG_GROUP4OPTIONS : TIFFTAG_GROUP3OPTIONS, 4,
         raw->ccitt_k < 0 ? 0 : t4},
    };
    for (int i = 0; i < N_TAGS; i++) {
        unsigned char *t = e + 2 + 12 * i;
        put16(t, (unsigned)tags[i][0]);
        put16(t + 2, (unsigned)tags[i][1]);
        put32(t + 4, 1);
        put32(t + 8, 0);
        if (tags[i][1] == 3)
            put16(t + 8, (unsigned)tags[i][2]);
        else
            put32(t + 8, tags[i][2]);
    }
    put32(e + 2 + 12 * N_TAGS, 0);
    memcpy(d + HEADER + IFD, raw->data, raw->len);
    cf_status st = CF_ERR_DATA;
    TIFF *tif = TIFFClientOpen("ccitt", "rm", &m, mem_read, mem_write, mem_seek, mem_close,
                               mem_size, NULL, NULL);
    if (tif != NULL) {
        cf_scan_sink sink = {.image = out, .max_pixels = CF_SCAN_MAX_PIXELS};
        st = read_directory(tif, &sink);
        TIFFClose(tif);
    }
    cf_free(d);
    return st;
}

/* ---- a TIFF file in memory, every page checked ---- */

cf_status cf_scan_tiff_check(const unsigned char *data, size_t len, const cf_scan_sink *sink)
{
    errors_reset();
    memory_tiff m = {data, len, 0};
    TIFF *tif = TIFFClientOpen("scan", "rm", &m, mem_read, mem_write, mem_seek, mem_close, mem_size,
                               NULL, NULL);
    if (tif == NULL) {
        cf_scan_sink_why(sink, "it is not a TIFF image: %s", tiff_message);
        return CF_ERR_DATA;
    }
    cf_status st = CF_OK;
    do
        st = read_directory(tif, sink);
    while (st == CF_OK && TIFFReadDirectory(tif));
    if (st == CF_OK && tiff_errors > 0) {
        cf_scan_sink_why(sink, "it is damaged: %s", tiff_message);
        st = CF_ERR_DATA;
    }
    TIFFClose(tif);
    return st;
}
