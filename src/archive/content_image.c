/* A filed image decoded in full (see content.h) by the program's one decoder of its kind, the
 * one that reads scans (src/scan/image_check.h): a few rows at a time, so a large scan needs
 * little memory. */
#include "archive/content.h"

#include "scan/image_check.h"

/* A4 at 600 dpi is 35 M; bounds the memory of one decode. */
#define PIXELS_MAX ((unsigned long long)64 * 1024 * 1024)

bool cf_content_image_check(const char *type, const unsigned char *data, size_t len, char *why,
                            size_t why_size)
{
    return cf_scan_image_check(type, data, len, PIXELS_MAX, why, why_size);
}
