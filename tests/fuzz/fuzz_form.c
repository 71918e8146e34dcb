/* Fuzz harness: bytes as a form file -> load, RELAX NG validation, semantic checks, and (when
 * the form loads) the model dump. Any crash, leak or sanitizer report is a bug. */
#include "fuzz.h"

#include "base/alloc.h"
#include "base/diag.h"
#include "form/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_diag *diag = cf_diag_new();
    cf_form *form = NULL;
    if (cf_form_load_memory((const char *)data, size, "fuzz.xml", NULL, &form, diag) == CF_OK) {
        char *dump = NULL;
        size_t len = 0;
        if (cf_form_dump(form, &dump, &len) == CF_OK)
            cf_free(dump);
    }
    cf_form_free(form);
    cf_diag_free(diag);
    return 0;
}
