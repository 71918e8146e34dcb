/* The two QR decoders behind one C interface: qr_zbar.c (libzbar) and qr_zxing.cpp
 * (zxing-cpp, C++). Plain C types only, so that the C++ file can include it. */
#ifndef CF_SCAN_QR_DECODERS_H
#define CF_SCAN_QR_DECODERS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called for every QR text found on a page, with its corners in pixels as printed: top-left,
 * top-right, bottom-right, bottom-left, as x, y pairs. Returns true to stop looking. */
typedef bool (*cf_scan_qr_found)(void *ctx, const char *text, size_t len, const double corners[8]);

/* Looks for QR codes on an 8-bit grey image (width x height, rows packed). Returns 0 when the
 * decoder ran (whether or not it found anything), -1 when it failed (memory, library error). */
int cf_scan_zbar_find(const unsigned char *pixels, unsigned width, unsigned height,
                      cf_scan_qr_found found, void *ctx);
int cf_scan_zxing_find(const unsigned char *pixels, unsigned width, unsigned height,
                       cf_scan_qr_found found, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
