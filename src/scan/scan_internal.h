/* Shared between the files of src/scan/: each file wraps one third-party library. */
#ifndef CF_SCAN_INTERNAL_H
#define CF_SCAN_INTERNAL_H

#include "scan/scan.h"
#include "scan/qr_decoders.h"

/* Page images bigger than this (pixels) are refused: 600 dpi A3 is 70 Mpx. */
#define CF_SCAN_MAX_PIXELS (100u * 1000u * 1000u)

/* Allocates image->pixels for width x height (CF_ERR_LIMIT when too big). */
cf_status cf_scan_image_alloc(cf_scan_image *image, unsigned width, unsigned height);

/* What a decoder (png.c, jpeg.c, tiff.c) does with a picture: decode it into image (8-bit grey,
 * for reading a scan), or, with image NULL, only decode every pixel to find whether the data is
 * sound (the archive's check of a filed image, image_check.h), a few rows at a time. */
typedef struct cf_scan_sink {
    cf_scan_image *image;          /* NULL: check only */
    unsigned long long max_pixels; /* a bigger picture is CF_ERR_LIMIT */
    bool strict;                   /* damaged data that the decoder can paper over (a JPEG's
                                      corrupt-data warning, a libtiff error) fails the decode */
    char *why;                     /* the reason of a failure for a person; may be NULL */
    size_t why_size;
} cf_scan_sink;

/* Sets the reason of a failure (when the sink wants one). */
void cf_scan_sink_why(const cf_scan_sink *sink, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A picture of width x height begins: refuses an empty or too big one (CF_ERR_LIMIT, "its size
 * (W x H pixels) is not that of a scan"), allocates sink->image when there is one. */
cf_status cf_scan_sink_start(const cf_scan_sink *sink, unsigned width, unsigned height);

/* png.c (libpng): a whole PNG file into sink. */
cf_status cf_scan_png_read(const unsigned char *data, size_t len, const cf_scan_sink *sink);
/* jpeg.c (libjpeg-turbo): a whole JPEG file into sink (grey; a CMYK JPEG only checked). */
cf_status cf_scan_jpeg_read(const unsigned char *data, size_t len, const cf_scan_sink *sink);
/* tiff.c (libtiff): every page of a TIFF file in memory through sink (check only: image NULL). */
cf_status cf_scan_tiff_check(const unsigned char *data, size_t len, const cf_scan_sink *sink);

/* jpeg.c (libjpeg-turbo): a whole JPEG file to grey. */
cf_status cf_scan_jpeg_decode(const unsigned char *data, size_t len, cf_scan_image *out);
/* jpeg.c: a JPEG file's size, components and resolution into raw (encoding JPEG). */
cf_status cf_scan_jpeg_info(const unsigned char *data, size_t len, cf_scan_raw *raw);
/* png.c (libpng): a whole PNG file to grey. */
cf_status cf_scan_png_decode(const unsigned char *data, size_t len, cf_scan_image *out);
/* tiff.c (libtiff): CCITT fax data of raw (width, height, K, BlackIs1) to grey. */
cf_status cf_scan_ccitt_decode(const cf_scan_raw *raw, cf_scan_image *out);
/* jbig2.c (jbig2dec): an embedded JBIG2 stream (with its globals) to grey. */
cf_status cf_scan_jbig2_decode(const cf_scan_raw *raw, cf_scan_image *out);

/* One kind of scan file: pdf.c (libqpdf, zlib) and tiff.c (libtiff). */
typedef struct cf_scan_reader {
    void (*close)(void *impl);
    /* Fills raw with the page's encoded data (owned by impl until the next call), or decodes
     * the page directly into image when raw is NULL and the page is not copyable. */
    cf_status (*raw)(void *impl, size_t page, cf_scan_raw *raw, cf_diag *diag);
    cf_status (*read)(void *impl, size_t page, cf_scan_image *image, cf_diag *diag);
} cf_scan_reader;

cf_status cf_scan_pdf_open(const char *path, const cf_scan_reader **reader, void **impl,
                           size_t *pages, cf_diag *diag);
cf_status cf_scan_tiff_open(const char *path, const cf_scan_reader **reader, void **impl,
                            size_t *pages, cf_diag *diag);

#endif
