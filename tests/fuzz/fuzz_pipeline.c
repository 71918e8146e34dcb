/* Fuzz harness: the whole pipeline. The input is a form and one patient's label values,
 * separated by a NUL byte: "FORM XML \0 name \0 hospital no \0 episode no". The form is
 * loaded and preflighted, the record checked, laid out and rendered to PDF bytes in memory. */
#include "fuzz.h"

#include "base/alloc.h"
#include "base/diag.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "render/document.h"
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
        cf_document_options o = {.paper = CF_PAPER_A4, .created = 1767225600,
                                 .document_id = "0000000000000"};
        (void)cf_document_render(form, record, fonts, &o, &doc, diag);
    }
    cf_document_cleanup(&doc);
    cf_form_free(form);
    cf_record_free(record);
    cf_diag_free(diag);
    return 0;
}
