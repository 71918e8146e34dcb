/* A filed image decoded in full by its decoder (see content.h): libpng, libjpeg, libtiff. Each
 * decodes a few rows at a time into a small buffer, so a large scan needs little memory. */
#include "archive/content.h"

#include "base/alloc.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <png.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <tiffio.h>

#define PIXELS_MAX                                                                                 \
    ((unsigned long long)64 * 1024 *                                                               \
     1024) /* A4 at 600 dpi is 35 M; bounds the memory of one decode */

/* ---- PNG ---- */

static bool png_check(const unsigned char *data, size_t len, char *why, size_t why_size)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, len)) {
        snprintf(why, why_size, "it is not a PNG image: %s", image.message);
        png_image_free(&image);
        return false;
    }
    if (image.width == 0 || image.height == 0 ||
        (unsigned long long)image.width * image.height > PIXELS_MAX) {
        snprintf(why, why_size, "its size (%u x %u pixels) is not that of a scan", image.width,
                 image.height);
        png_image_free(&image);
        return false;
    }
    /* One byte a pixel (grey) is enough to know that every pixel decodes. */
    image.format = PNG_FORMAT_GRAY;
    size_t size = PNG_IMAGE_SIZE(image);
    void *pixels = cf_malloc(size);
    if (pixels == NULL) {
        snprintf(why, why_size, "out of memory");
        png_image_free(&image);
        return false;
    }
    bool ok = png_image_finish_read(&image, NULL, pixels, 0, NULL) != 0;
    if (!ok)
        snprintf(why, why_size, "its pixels cannot be decoded: %s", image.message);
    png_image_free(&image);
    cf_free(pixels);
    return ok;
}

/* ---- JPEG ---- */

typedef struct jpeg_failure {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void jpeg_fail(j_common_ptr cinfo)
{
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    f->base.format_message(cinfo, f->message);
    longjmp(f->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level)
{
    /* A corrupt-data warning (level -1) is a failure: the scan would show grey blocks. */
    if (level < 0) {
        jpeg_failure *f = (jpeg_failure *)cinfo->err;
        if (f->base.num_warnings++ == 0)
            f->base.format_message(cinfo, f->message);
    }
}

static bool jpeg_check(const unsigned char *data, size_t len, char *why, size_t why_size)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_failure err;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = jpeg_fail;
    err.base.emit_message = jpeg_quiet;
    JSAMPARRAY row = NULL;
    /* volatile: read after a longjmp. */
    volatile bool ok = false;
    if (setjmp(err.jump) != 0) {
        snprintf(why, why_size, "it is not a JPEG image that decodes: %s", err.message);
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    (void)jpeg_read_header(&cinfo, TRUE);
    if ((unsigned long long)cinfo.image_width * cinfo.image_height > PIXELS_MAX) {
        snprintf(why, why_size, "its size (%u x %u pixels) is not that of a scan",
                 (unsigned)cinfo.image_width, (unsigned)cinfo.image_height);
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    jpeg_start_decompress(&cinfo);
    row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE,
                                     cinfo.output_width * (JDIMENSION)cinfo.output_components, 1);
    while (cinfo.output_scanline < cinfo.output_height)
        (void)jpeg_read_scanlines(&cinfo, row, 1);
    jpeg_finish_decompress(&cinfo);
    ok = err.base.num_warnings == 0;
    if (!ok)
        snprintf(why, why_size, "its pixels cannot all be decoded: %s", err.message);
    jpeg_destroy_decompress(&cinfo);
    return ok;
}

/* ---- TIFF ---- */

typedef struct memory_file {
    const unsigned char *data;
    size_t len, pos;
} memory_file;

static tmsize_t tiff_read(thandle_t h, void *buf, tmsize_t size)
{
    memory_file *m = h;
    size_t n = size > 0 ? (size_t)size : 0;
    if (m->pos >= m->len)
        return 0;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (tmsize_t)n;
}

static tmsize_t tiff_write(thandle_t h, void *buf, tmsize_t size)
{
    (void)h;
    (void)buf;
    (void)size;
    return -1;
}

static toff_t tiff_seek(thandle_t h, toff_t off, int whence)
{
    memory_file *m = h;
    unsigned long long base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
    unsigned long long to = base + off;
    if (to > m->len)
        return (toff_t)-1;
    m->pos = (size_t)to;
    return to;
}

static int tiff_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t tiff_size(thandle_t h)
{
    return ((memory_file *)h)->len;
}

static int tiff_map(thandle_t h, void **base, toff_t *size)
{
    (void)h;
    (void)base;
    (void)size;
    return 0;
}

static void tiff_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

/* libtiff reports through process-wide handlers: errors are counted per thread instead. */
static _Thread_local int tiff_errors;
static _Thread_local char tiff_message[200];

static void tiff_error(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    if (tiff_errors++ == 0)
        vsnprintf(tiff_message, sizeof tiff_message, fmt, ap);
}

static void tiff_warning(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    (void)fmt;
    (void)ap;
}

static pthread_once_t tiff_once = PTHREAD_ONCE_INIT;

static void tiff_handlers(void)
{
    TIFFSetErrorHandler(tiff_error);
    TIFFSetWarningHandler(tiff_warning);
}

static bool tiff_check(const unsigned char *data, size_t len, char *why, size_t why_size)
{
    pthread_once(&tiff_once, tiff_handlers);
    tiff_errors = 0;
    tiff_message[0] = '\0';
    memory_file m = {data, len, 0};
    TIFF *t = TIFFClientOpen("scan", "rm", &m, tiff_read, tiff_write, tiff_seek, tiff_close,
                             tiff_size, tiff_map, tiff_unmap);
    if (t == NULL) {
        snprintf(why, why_size, "it is not a TIFF image: %s", tiff_message);
        return false;
    }
    bool ok = true;
    uint32_t *rows = NULL;
    do {
        TIFFRGBAImage img;
        char emsg[1024] = "";
        if (!TIFFRGBAImageOK(t, emsg) || !TIFFRGBAImageBegin(&img, t, 0, emsg)) {
            snprintf(why, why_size, "it is not a TIFF image that decodes: %s", emsg);
            ok = false;
            break;
        }
        if (img.width == 0 || img.height == 0 ||
            (unsigned long long)img.width * img.height > PIXELS_MAX) {
            snprintf(why, why_size, "its size (%u x %u pixels) is not that of a scan",
                     (unsigned)img.width, (unsigned)img.height);
            TIFFRGBAImageEnd(&img);
            ok = false;
            break;
        }
        /* A band of rows at a time. */
        const uint32_t band = 64;
        rows = cf_malloc((size_t)img.width * band * sizeof *rows);
        for (uint32_t y = 0; ok && rows != NULL && y < img.height; y += band) {
            uint32_t h = img.height - y < band ? img.height - y : band;
            img.row_offset = (int)y;
            img.col_offset = 0;
            if (!TIFFRGBAImageGet(&img, rows, img.width, h) || tiff_errors > 0)
                ok = false;
        }
        TIFFRGBAImageEnd(&img);
        if (rows == NULL) {
            snprintf(why, why_size, "out of memory");
            ok = false;
        } else if (!ok) {
            snprintf(why, why_size, "its pixels cannot all be decoded: %s", tiff_message);
        }
        cf_free(rows);
        rows = NULL;
    } while (ok && TIFFReadDirectory(t));
    if (ok && tiff_errors > 0) {
        snprintf(why, why_size, "it is damaged: %s", tiff_message);
        ok = false;
    }
    TIFFClose(t);
    return ok;
}

bool cf_content_image_check(const char *type, const unsigned char *data, size_t len, char *why,
                            size_t why_size)
{
    if (type != NULL && strcmp(type, "image/png") == 0)
        return png_check(data, len, why, why_size);
    if (type != NULL && strcmp(type, "image/jpeg") == 0)
        return jpeg_check(data, len, why, why_size);
    if (type != NULL && strcmp(type, "image/tiff") == 0)
        return tiff_check(data, len, why, why_size);
    snprintf(why, why_size, "it is not an image of a known kind");
    return false;
}
