/* Field rules: the checks a patient record passes before anything is printed from it, whether
 * it comes from the command line (--patient-name, --set KEY=VALUE) or from a CSV row. */
#ifndef CF_FIELD_RULES_H
#define CF_FIELD_RULES_H

#include "base/diag.h"
#include "base/status.h"
#include "data/record.h"
#include "form/form.h"
#include "text/font.h"

#include <stdbool.h>

/* Checks record against form and rewrites its values into the form they are printed in.
 *
 * Every value of a field of form is made NFC and trimmed of surrounding spaces (U+0020 and
 * U+3000) and stored back. Then, for every field (all of them: every problem of the record is
 * reported, not just the first):
 * - a required field must have a non-empty value, unless blank;
 * - the value must be valid UTF-8, on a single line, with no control character (a line break or
 *   a tab is an error, never dropped);
 * - every character of a text or date value must be in both faces (regular and bold) of fonts;
 *   fonts NULL skips only this check (for callers that have no fonts to hand: the layout still
 *   refuses a missing glyph);
 * - a date is YYYY-MM-DD and a real calendar date;
 * - a choice holds one option key; a multi-choice holds option keys separated by ';' or ','
 *   (each valid, none twice). Keys match ignoring ASCII case; the stored value is the keys as
 *   the form spells them, joined by ';' ("" when none).
 * A key of the record that is not a field of form is an error: on the command line it is a typo
 * in --set. Extra entries (cf_record_set_extra: CSV columns the form does not know) are not
 * fields and are neither checked nor rewritten.
 *
 * An empty value after trimming means the field was left blank, the same as an unset field.
 * Messages name the source (the record's CSV path, or "command line"), the row of a CSV record,
 * the field ("column KEY" for a CSV, "field KEY" otherwise) and the problem. Returns CF_OK,
 * CF_ERR_DATA when something is wrong, or CF_ERR_NOMEM (values may then be half rewritten). */
cf_status cf_record_check(const cf_form *form, cf_record *record, const cf_fontset *fonts,
                          bool blank, cf_diag *diag);

/* True when value is a real date written YYYY-MM-DD (years 1000 to 9999). */
bool cf_date_is_valid(const char *value);

#endif
