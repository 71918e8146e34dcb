/* PNG page images (libpng's simplified API): decoded to 8-bit grey, alpha on white. */
#include "scan/scan_internal.h"

#include <png.h>
#include <string.h>

cf_status cf_scan_png_decode(const unsigned char *data, size_t len, cf_scan_image *out)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    out->pixels = NULL;
    if (!png_image_begin_read_from_memory(&png, data, len))
        return CF_ERR_DATA;
    png.format = PNG_FORMAT_GRAY;
    cf_status st = cf_scan_image_alloc(out, png.width, png.height);
    if (st != CF_OK) {
        png_image_free(&png);
        return st;
    }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&png, &white, out->pixels, (png_int_32)out->width, NULL)) {
        png_image_free(&png);
        cf_scan_image_cleanup(out);
        return CF_ERR_DATA;
    }
    out->dpi = 0; /* the simplified API does not give pHYs; QR and signature checks need none */
    return CF_OK;
}
