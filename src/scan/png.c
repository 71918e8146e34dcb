/* PNG images (libpng's simplified API): decoded to 8-bit grey, alpha on white; the one PNG
 * decoder of the program (a scan's page, and the archive's check of a filed PNG). */
#include "scan/scan_internal.h"

#include "base/alloc.h"

#include <png.h>
#include <string.h>

cf_status cf_scan_png_read(const unsigned char *data, size_t len, const cf_scan_sink *sink)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (sink->image != NULL)
        sink->image->pixels = NULL;
    if (!png_image_begin_read_from_memory(&png, data, len)) {
        cf_scan_sink_why(sink, "it is not a PNG image: %s", png.message);
        png_image_free(&png);
        return CF_ERR_DATA;
    }
    cf_status st = cf_scan_sink_start(sink, png.width, png.height);
    if (st != CF_OK) {
        png_image_free(&png);
        return st;
    }
    /* One byte a pixel (grey) is what a scan needs, and enough to know that every pixel
     * decodes; the simplified API decodes the whole picture at once. */
    png.format = PNG_FORMAT_GRAY;
    unsigned char *pixels =
        sink->image != NULL ? sink->image->pixels : cf_malloc((size_t)png.width * png.height);
    if (pixels == NULL) {
        cf_scan_sink_why(sink, "out of memory");
        png_image_free(&png);
        return CF_ERR_NOMEM;
    }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&png, &white, pixels, (png_int_32)png.width, NULL)) {
        cf_scan_sink_why(sink, "its pixels cannot be decoded: %s", png.message);
        st = CF_ERR_DATA;
    }
    png_image_free(&png);
    if (sink->image == NULL)
        cf_free(pixels);
    else if (st != CF_OK)
        cf_scan_image_cleanup(sink->image);
    else
        sink->image->dpi = 0; /* the simplified API gives no pHYs; QR and ink checks need none */
    return st;
}

cf_status cf_scan_png_decode(const unsigned char *data, size_t len, cf_scan_image *out)
{
    cf_scan_sink sink = {.image = out, .max_pixels = CF_SCAN_MAX_PIXELS};
    return cf_scan_png_read(data, len, &sink);
}
