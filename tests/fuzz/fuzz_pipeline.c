/* Fuzz harness: the whole pipeline. The input is a form and one patient's label values,
 * separated by a NUL byte: "FORM XML \0 name \0 hospital no \0 episode no". The form is
 * loaded and preflighted, the record checked, laid out and rendered to PDF bytes in memory:
 * alone, and as a batch renders it (with a glyph cache, which must not change a byte). */
#include "fuzz.h"

#include "base/alloc.h"
#include "base/diag.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "render/document.h"
#include "render/render_pdf.h"
#include "text/font.h"

#include <string.h>

static const char *next_part(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t *start = *p;
    const uint8_t *nul = memchr(start, 0, (size_t)(end - start));
    *len = (size_t)((nul != NULL ? nul : end) - start);
    *p = nul != NULL ? nul + 1 : end;
    return (const char *)start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    size_t form_len = 0;
    const char *xml = next_part(&p, end, &form_len);
    static const char *const keys[] = {"patient_name", "hospital_no", "episode_no"};
    cf_record *record = cf_record_new(NULL, 0);
    for (size_t k = 0; k < 3 && record != NULL; k++) {
        size_t len = 0;
        const char *value = next_part(&p, end, &len);
        char *copy = cf_strndup(value, len);
        if (copy != NULL)
            (void)cf_record_set(record, keys[k], copy);
        cf_free(copy);
    }
    cf_diag *diag = cf_diag_new();
    cf_form *form = NULL;
    const cf_fontset *fonts = NULL;
    cf_document doc = {0};
    if (record != NULL &&
        cf_form_load_memory(xml, form_len, "fuzz.xml", NULL, &form, diag) == CF_OK &&
        cf_fontset_get(form->region, &fonts, diag) == CF_OK &&
        cf_document_preflight(form, fonts, diag) == CF_OK &&
        cf_record_check(form, record, fonts, false, diag) == CF_OK) {
        cf_document_options o = {
            .paper = CF_PAPER_A4, .created = 1767225600, .document_id = "0000000000000"};
        /* As a batch makes it: base characters of the blank form and a glyph cache, warmed by
         * a first document. The second document must be the same bytes as without the cache. */
        cf_codepoints *base[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
        cf_glyph_cache *cache = cf_glyph_cache_new();
        if (base[0] != NULL && base[1] != NULL && cache != NULL &&
            cf_document_font_base(form, fonts, CF_PAPER_A4, base, diag) == CF_OK) {
            cf_render_options warm = {.base = {base[0], base[1]}, .glyph_cache = cache};
            cf_render_options cold = {.base = {base[0], base[1]}, .glyph_cache = NULL};
            cf_document first = {0}, second = {0}, plain = {0};
            o.render = &warm;
            cf_status a = cf_document_render(form, record, fonts, &o, &first, diag);
            cf_status b = cf_document_render(form, record, fonts, &o, &second, diag);
            o.render = &cold;
            cf_status c = cf_document_render(form, record, fonts, &o, &plain, diag);
            if (a != c || b != c ||
                (c == CF_OK && (second.pdf_len != plain.pdf_len ||
                                memcmp(second.pdf, plain.pdf, plain.pdf_len) != 0)))
                __builtin_trap(); /* the cache changed the output */
            cf_document_cleanup(&first);
            cf_document_cleanup(&second);
            cf_document_cleanup(&plain);
            o.render = NULL;
        }
        cf_glyph_cache_free(cache);
        cf_codepoints_free(base[0]);
        cf_codepoints_free(base[1]);
        (void)cf_document_render(form, record, fonts, &o, &doc, diag);
    }
    cf_document_cleanup(&doc);
    cf_form_free(form);
    cf_record_free(record);
    cf_diag_free(diag);
    return 0;
}
