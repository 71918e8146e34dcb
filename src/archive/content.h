/* What a filed file really is (private to src/archive): a PDF is opened with its pages by
 * libqpdf (content_pdf.c, the only file that includes qpdf), an image is decoded in full by
 * the decoder of its kind that also reads scans (content_image.c calls src/scan/image_check.h:
 * libpng, libjpeg, libtiff). The first bytes alone (sniff.c) are not trusted: a 5-byte "%PDF-" or a
 * web page with a PDF header is not a signed form. */
#ifndef CF_ARCHIVE_CONTENT_H
#define CF_ARCHIVE_CONTENT_H

#include "base/hash.h"

#include <stdbool.h>
#include <stddef.h>

/* Opens data as a PDF with libqpdf. True when it opens and has at least one page; then
 * *pages gets their number and, when fingerprint is non-NULL, it gets the SHA-256 of the
 * pages' content streams (decoded, in page order), which is the same for a rewritten copy of
 * the same pages. False with a reason in why otherwise. */
bool cf_content_pdf_check(const unsigned char *data, size_t len, int *pages,
                          char fingerprint[CF_SHA256_HEX_SIZE], char *why, size_t why_size);

/* Decodes data in full as an image of type ("image/png", "image/jpeg", "image/tiff"). True
 * when every pixel decodes; false with a reason in why otherwise. */
bool cf_content_image_check(const char *type, const unsigned char *data, size_t len, char *why,
                            size_t why_size);

#endif
