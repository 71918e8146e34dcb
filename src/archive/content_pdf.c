/* A filed PDF opened with libqpdf (see content.h). */
#include "archive/content.h"

#include <qpdf/qpdf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES_MAX 10000 /* a signed consent form has a few pages; more is not a scan of one */

/* The first error qpdf has, into why. */
static void qpdf_reason(qpdf_data q, char *why, size_t why_size, const char *fallback)
{
    const char *text = NULL;
    if (qpdf_has_error(q)) {
        qpdf_error e = qpdf_get_error(q);
        text = qpdf_get_error_message_detail(q, e);
    }
    snprintf(why, why_size, "%s", text != NULL && text[0] != '\0' ? text : fallback);
}

bool cf_content_pdf_check(const unsigned char *data, size_t len, int *pages,
                          char fingerprint[CF_SHA256_HEX_SIZE], char *why, size_t why_size)
{
    *pages = 0;
    if (fingerprint != NULL)
        fingerprint[0] = '\0';
    if (data == NULL || len < 5 || memcmp(data, "%PDF-", 5) != 0) {
        snprintf(why, why_size, "it does not start like a PDF");
        return false;
    }
    if (len < 64) {
        snprintf(why, why_size, "it has only %zu bytes, too few for a PDF with a page", len);
        return false;
    }
    qpdf_data q = qpdf_init();
    if (q == NULL) {
        snprintf(why, why_size, "out of memory");
        return false;
    }
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    bool ok = false;
    /* Warnings (a damaged cross-reference table that qpdf rebuilt) are fine for a scan; errors
     * and a file without pages are not. */
    if (qpdf_read_memory(q, "scan", (const char *)data, (unsigned long long)len, NULL) &
        QPDF_ERRORS) {
        qpdf_reason(q, why, why_size, "it cannot be read as a PDF");
        goto done;
    }
    int n = qpdf_get_num_pages(q);
    if (n <= 0 || qpdf_has_error(q)) {
        qpdf_reason(q, why, why_size, "it has no pages");
        goto done;
    }
    if (n > PAGES_MAX) {
        snprintf(why, why_size, "it has %d pages (at most %d)", n, PAGES_MAX);
        goto done;
    }
    cf_sha256 h;
    cf_sha256_init(&h);
    for (int i = 0; i < n; i++) {
        qpdf_oh page = qpdf_get_page_n(q, (size_t)i);
        unsigned char *content = NULL;
        size_t content_len = 0;
        QPDF_ERROR_CODE rc = qpdf_oh_get_page_content_data(q, page, &content, &content_len);
        if ((rc & QPDF_ERRORS) || qpdf_has_error(q)) {
            free(content);
            qpdf_reason(q, why, why_size, "a page cannot be read");
            goto done;
        }
        /* Each page's length first, so that content moved between pages differs. */
        char prefix[32];
        int m = snprintf(prefix, sizeof prefix, "page %d %zu\n", i + 1, content_len);
        cf_sha256_update(&h, prefix, (size_t)m);
        if (content_len > 0)
            cf_sha256_update(&h, content, content_len);
        free(content);
        qpdf_oh_release_all(q);
    }
    unsigned char digest[CF_SHA256_SIZE];
    cf_sha256_final(&h, digest);
    if (fingerprint != NULL)
        cf_sha256_to_hex(digest, fingerprint);
    *pages = n;
    ok = true;
done:
    qpdf_cleanup(&q);
    return ok;
}
