/* Our QR codes: the payload parsed and checked, and the code found on a page image with
 * either decoder (qr_decoders.h). */
#include "scan/scan_internal.h"

#include <stdlib.h>
#include <string.h>

/* A decimal page number, 1..9999. */
static bool parse_number(const char *s, size_t len, unsigned *out)
{
    unsigned v = 0;
    if (len == 0 || len > 4 || s[0] == '0')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

cf_status cf_scan_payload_parse(const char *text, size_t len, cf_scan_payload *out)
{
    const char *end = text + len;
    const char *field[4];
    size_t flen[4];
    const char *p = text;
    memset(out, 0, sizeof *out);
    /* DOCID/PAGE/PAGES/FORM@VERSION: three slashes, the form part has none. */
    for (int i = 0; i < 4; i++) {
        const char *slash = i < 3 ? memchr(p, '/', (size_t)(end - p)) : NULL;
        field[i] = p;
        flen[i] = (size_t)((slash != NULL ? slash : end) - p);
        if (i < 3 && slash == NULL)
            return CF_ERR_DATA;
        p = slash != NULL ? slash + 1 : end;
    }
    if (memchr(field[3], '/', flen[3]) != NULL || memchr(text, '\0', len) != NULL)
        return CF_ERR_DATA;
    /* A blank form's mark exactly as printed, or the id exactly as printed (upper case, no
     * separators) with a matching check character. */
    char id[CF_DOCUMENT_ID_SIZE];
    if (flen[0] == strlen(CF_SCAN_BLANK_ID) &&
        memcmp(field[0], CF_SCAN_BLANK_ID, strlen(CF_SCAN_BLANK_ID)) == 0) {
        out->blank = true;
    } else {
        if (flen[0] != CF_DOCUMENT_ID_LEN)
            return CF_ERR_DATA;
        memcpy(id, field[0], CF_DOCUMENT_ID_LEN);
        id[CF_DOCUMENT_ID_LEN] = '\0';
        if (!cf_docid_normalize(id, out->document_id) || strcmp(id, out->document_id) != 0)
            return CF_ERR_DATA;
    }
    if (!parse_number(field[1], flen[1], &out->page) ||
        !parse_number(field[2], flen[2], &out->pages) || out->page > out->pages)
        return CF_ERR_DATA;
    const char *at = memchr(field[3], '@', flen[3]);
    if (at == NULL)
        return CF_ERR_DATA;
    size_t id_len = (size_t)(at - field[3]), v_len = flen[3] - id_len - 1;
    if (id_len == 0 || id_len >= sizeof out->form_id || v_len == 0 ||
        v_len >= sizeof out->version || memchr(at + 1, '@', v_len) != NULL)
        return CF_ERR_DATA;
    memcpy(out->form_id, field[3], id_len);
    memcpy(out->version, at + 1, v_len);
    if (out->blank)
        out->document_id[0] = '\0';
    return CF_OK;
}

typedef struct find_ctx {
    cf_scan_qr *out;
    bool found;
} find_ctx;

static bool on_found(void *ctx, const char *text, size_t len, const double corners[8])
{
    find_ctx *f = ctx;
    if (cf_scan_payload_parse(text, len, &f->out->payload) != CF_OK)
        return false; /* someone else's QR code: keep looking */
    for (int i = 0; i < 4; i++) {
        f->out->corners[i][0] = corners[2 * i];
        f->out->corners[i][1] = corners[2 * i + 1];
    }
    f->found = true;
    return true;
}

cf_status cf_scan_qr_find(const cf_scan_image *image, cf_scan_decoder decoder, cf_scan_qr *out)
{
    find_ctx ctx = {out, false};
    int rc;
    memset(out, 0, sizeof *out);
    if (image->pixels == NULL)
        return CF_ERR_DATA;
    if (decoder == CF_SCAN_DECODER_ZBAR)
        rc = cf_scan_zbar_find(image->pixels, image->width, image->height, on_found, &ctx);
    else
        rc = cf_scan_zxing_find(image->pixels, image->width, image->height, on_found, &ctx);
    if (rc != 0)
        return CF_ERR_INTERNAL;
    return ctx.found ? CF_OK : CF_ERR_DATA;
}
