/* The archive's check of a filed image, by the decoders that read scans (see image_check.h). */
#include "scan/image_check.h"

#include "scan/scan_internal.h"

#include <stdio.h>
#include <string.h>

bool cf_scan_image_check(const char *type, const unsigned char *data, size_t len,
                         unsigned long long max_pixels, char *why, size_t why_size)
{
    cf_scan_sink sink = {
        .image = NULL, .max_pixels = max_pixels, .strict = true, .why = why, .why_size = why_size};
    if (type != NULL && strcmp(type, "image/png") == 0)
        return cf_scan_png_read(data, len, &sink) == CF_OK;
    if (type != NULL && strcmp(type, "image/jpeg") == 0)
        return cf_scan_jpeg_read(data, len, &sink) == CF_OK;
    if (type != NULL && strcmp(type, "image/tiff") == 0)
        return cf_scan_tiff_check(data, len, &sink) == CF_OK;
    cf_scan_sink_why(&sink, "it is not an image of a known kind");
    return false;
}
