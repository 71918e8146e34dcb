/* JBIG2 page images of scanner PDFs (jbig2dec): an embedded stream and its globals. */
#include "scan/scan_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <jbig2.h>

static void on_error(void *data, const char *msg, Jbig2Severity severity, uint32_t seg_idx)
{
    (void)data;
    (void)msg;
    (void)severity;
    (void)seg_idx; /* a damaged page is judged by whether its QR reads */
}

cf_status cf_scan_jbig2_decode(const cf_scan_raw *raw, cf_scan_image *out)
{
    Jbig2GlobalCtx *globals = NULL;
    Jbig2Ctx *ctx = NULL;
    Jbig2Image *page = NULL;
    cf_status st = CF_ERR_DATA;
    out->pixels = NULL;
    if (raw->jbig2_globals != NULL) {
        Jbig2Ctx *g = jbig2_ctx_new(NULL, JBIG2_OPTIONS_EMBEDDED, NULL, on_error, NULL);
        if (g == NULL)
            return CF_ERR_NOMEM;
        if (jbig2_data_in(g, raw->jbig2_globals, raw->jbig2_globals_len) < 0) {
            jbig2_ctx_free(g);
            return CF_ERR_DATA;
        }
        globals = jbig2_make_global_ctx(g); /* takes over g */
    }
    ctx = jbig2_ctx_new(NULL, JBIG2_OPTIONS_EMBEDDED, globals, on_error, NULL);
    if (ctx == NULL) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    if (jbig2_data_in(ctx, raw->data, raw->len) < 0 || jbig2_complete_page(ctx) < 0)
        goto done;
    page = jbig2_page_out(ctx);
    if (page == NULL)
        goto done;
    st = cf_scan_image_alloc(out, page->width, page->height);
    if (st != CF_OK)
        goto done;
    /* JBIG2 bits: 1 = black. */
    for (uint32_t y = 0; y < page->height; y++) {
        const unsigned char *bits = page->data + (size_t)y * page->stride;
        unsigned char *row = out->pixels + (size_t)y * page->width;
        for (uint32_t x = 0; x < page->width; x++)
            row[x] = (((unsigned)bits[x >> 3] >> (7u - (x & 7u))) & 1u) ? 0 : 255;
    }
done:
    if (page != NULL)
        jbig2_release_page(ctx, page);
    if (ctx != NULL)
        jbig2_ctx_free(ctx);
    if (globals != NULL)
        jbig2_global_ctx_free(globals);
    return st;
}
