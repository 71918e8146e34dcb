/* Form status at issue time: whether a form may reach a patient today, and which overrides
 * (draft, expired) the issue depends on. The one check that render, batch and every later
 * issuer share (see form.h). */
#include "form/form.h"
#include "base/date.h"
#include "form/form_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

cf_status cf_form_today(char out[CF_FORM_DATE_SIZE], cf_diag *diag)
{
    /* A test hook, so tests can stand on a fixed day; it is not SOURCE_DATE_EPOCH, which only
     * makes output bytes reproducible and must not make an expired form printable. */
    const char *hook = getenv("CONSENTFORM_TODAY");
    if (hook != NULL && hook[0] != '\0') {
        if (!cf_date_is_valid(hook)) {
            cf_diag_error(diag, "CONSENTFORM_TODAY", 0,
                          "\"%.40s\" is not a date; the test hook is written YYYY-MM-DD", hook);
            out[0] = '\0';
            return CF_ERR_USAGE;
        }
        memcpy(out, hook, CF_FORM_DATE_SIZE);
        return CF_OK;
    }
    time_t now = time(NULL);
    struct tm local;
    if (localtime_r(&now, &local) == NULL ||
        strftime(out, CF_FORM_DATE_SIZE, "%Y-%m-%d", &local) != CF_FORM_DATE_SIZE - 1) {
        cf_diag_error(diag, "clock", 0, "cannot tell today's date");
        out[0] = '\0';
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

cf_status cf_form_check_issuable(const cf_form *form, const char *today, unsigned allowed,
                                 unsigned *used, cf_diag *diag)
{
    const struct cf_form_internal *in = form->internal;
    const char *file = form->path != NULL ? form->path : "form";
    const char *id = form->id != NULL ? form->id : "?";
    const char *version = form->version != NULL ? form->version : "?";
    unsigned needed = 0;
    bool refused = false;
    if (form->state == CF_FORM_STATE_RETIRED) {
        cf_diag_error(diag, file, in != NULL ? in->status_line : 0,
                      "the form %s %s is retired and is not issued any more; use the form that "
                      "replaced it",
                      id, version);
        refused = true;
    }
    if (form->effective_date != NULL && strcmp(form->effective_date, today) > 0) {
        cf_diag_error(diag, file, in != NULL ? in->effective_line : 0,
                      "the form %s %s takes effect on %s and is not issued before that day "
                      "(today is %s)",
                      id, version, form->effective_date, today);
        refused = true;
    }
    if (form->review_date != NULL && strcmp(form->review_date, today) < 0) {
        needed |= CF_FORM_ALLOW_EXPIRED;
        if (!(allowed & CF_FORM_ALLOW_EXPIRED)) {
            cf_diag_error(diag, file, in != NULL ? in->review_line : 0,
                          "the form %s %s was due for review by %s (today is %s); have it "
                          "reviewed, or issue it anyway with --allow-expired (recorded with "
                          "each document)",
                          id, version, form->review_date, today);
            refused = true;
        }
    }
    if (form->state == CF_FORM_STATE_DRAFT) {
        needed |= CF_FORM_ALLOW_DRAFT;
        if (!(allowed & CF_FORM_ALLOW_DRAFT)) {
            cf_diag_error(diag, file, in != NULL ? in->status_line : 0,
                          "the form %s %s is a draft, not approved; issue it for trial with "
                          "--allow-draft (its pages say DRAFT and the override is recorded "
                          "with each document)",
                          id, version);
            refused = true;
        }
    }
    if (used != NULL)
        *used = refused ? 0 : needed;
    return refused ? CF_ERR_DATA : CF_OK;
}

const char *cf_form_override_name(unsigned overrides)
{
    switch (overrides & (CF_FORM_ALLOW_DRAFT | CF_FORM_ALLOW_EXPIRED)) {
    case CF_FORM_ALLOW_DRAFT:
        return "draft";
    case CF_FORM_ALLOW_EXPIRED:
        return "expired";
    case CF_FORM_ALLOW_DRAFT | CF_FORM_ALLOW_EXPIRED:
        return "draft,expired";
    default:
        return "";
    }
}

bool cf_form_override_parse(const char *name, unsigned *overrides)
{
    static const unsigned all[] = {0, CF_FORM_ALLOW_DRAFT, CF_FORM_ALLOW_EXPIRED,
                                   CF_FORM_ALLOW_DRAFT | CF_FORM_ALLOW_EXPIRED};
    for (size_t i = 0; name != NULL && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, cf_form_override_name(all[i])) == 0) {
            *overrides = all[i];
            return true;
        }
    return false;
}
