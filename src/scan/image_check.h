/* Whether a file's bytes are a sound image: decoded in full by the program's one decoder of its
 * kind (src/scan: libpng, libjpeg-turbo, libtiff), a few rows at a time. The archive checks
 * every image filed as a signed copy with it. */
#ifndef CF_SCAN_IMAGE_CHECK_H
#define CF_SCAN_IMAGE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Decodes data in full as an image of type ("image/png", "image/jpeg", "image/tiff": every
 * page), refusing a picture of more than max_pixels and damaged data a decoder could paper
 * over (a JPEG's corrupt-data warning, a libtiff error). True when every pixel decodes; false
 * with the reason in why otherwise ("it is not a PNG image: ...", "its size (W x H pixels) is
 * not that of a scan", "its pixels cannot all be decoded: ...", ...). Safe from any thread. */
bool cf_scan_image_check(const char *type, const unsigned char *data, size_t len,
                         unsigned long long max_pixels, char *why, size_t why_size);

#endif
