/* What changed between two versions of a form, statement by statement, for the clinician who
 * approves the new one: works on the loaded models (cf_form), so re-indenting the XML, the
 * order of attributes and comments never count as a change. */
#ifndef CF_FORM_DIFF_H
#define CF_FORM_DIFF_H

#include "base/status.h"
#include "form/form.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum cf_change_kind {
    CF_CHANGE_ADDED,   /* only in the new form: new_text */
    CF_CHANGE_REMOVED, /* only in the old form: old_text */
    CF_CHANGE_CHANGED, /* the same statement reworded: old_text and new_text */
    CF_CHANGE_MOVED,   /* a risk in another frequency band: old_text / new_text are the bands */
} cf_change_kind;

typedef struct cf_form_change {
    cf_change_kind kind;
    const char
        *where; /* "meta", "label", "fields", "risk bands", "layout" or "section <id>: <title>" */
    const char *what;     /* "title", "paragraph", "risk (common)", "field fee", ... */
    const char *old_text; /* NULL for CF_CHANGE_ADDED */
    const char *new_text; /* NULL for CF_CHANGE_REMOVED */
} cf_form_change;

/* The changes from old_form to new_form, in the order of the new form. Owned by the diff;
 * caller frees with cf_form_diff_free. */
typedef struct cf_form_diff {
    const cf_form_change *changes;
    size_t n_changes;
    struct cf_arena *arena; /* opaque */
} cf_form_diff;

/* Compares the two forms. CF_ERR_NOMEM (or CF_ERR_LIMIT for forms too large to compare) on
 * failure with *out = NULL. Caller frees *out with cf_form_diff_free. */
cf_status cf_form_diff_new(const cf_form *old_form, const cf_form *new_form, cf_form_diff **out);
void cf_form_diff_free(cf_form_diff *diff);

typedef enum cf_diff_format {
    CF_DIFF_TEXT, /* for the terminal: "+ ", "- ", "~ " lines, [-removed-]{+added+} marks */
    CF_DIFF_HTML, /* a page the committee can print: <del> and <ins> */
} cf_diff_format;

/* Writes the diff as a report naming both forms; caller frees *out with cf_free. */
cf_status cf_form_diff_format(const cf_form_diff *diff, const cf_form *old_form,
                              const cf_form *new_form, cf_diff_format format, char **out,
                              size_t *len);

#endif
