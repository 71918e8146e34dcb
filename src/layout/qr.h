/* A page's QR code: libqrencode's symbol (8-bit mode, level M, the smallest version), with the
 * mask chosen here by libqrencode's own rules, bit-parallel (see qr.c). */
#ifndef CF_LAYOUT_QR_H
#define CF_LAYOUT_QR_H

#include "base/status.h"

#include <stddef.h>

/* Encodes content (NUL-terminated) into *dark: *width * *width bytes, row by row from the
 * top, 1 for a dark module and 0 for a light one (cf_free it). The modules are exactly those
 * of QRcode_encodeString8bit(content, 0, QR_ECLEVEL_M). CF_ERR_LIMIT: content does not fit
 * a symbol; CF_ERR_NOMEM. */
cf_status cf_qr_encode(const char *content, unsigned char **dark, size_t *width);

#endif
