/* Field rules: the checks a patient record passes before anything is printed from it, whether
 * it comes from the command line (--patient-name, --set KEY=VALUE) or from a CSV row. */
#ifndef CF_FIELD_RULES_H
#define CF_FIELD_RULES_H

#include "base/date.h" /* cf_date_is_valid, which the date fields use */
#include "base/diag.h"
#include "base/status.h"
#include "data/record.h"
#include "form/form.h"
#include "text/font.h"

#include <stdbool.h>

/* Checks record against form and rewrites its values into the form they are printed in.
 *
 * Every value of a field of form is trimmed of surrounding White_Space (NBSP, EN/EM/thin
 * spaces, U+3000 ... but not tabs or line breaks, which are errors) and stored back in the form
 * it is printed in: an identifier field (cf_field.identifier: hospital, episode, chart numbers)
 * NFKC and upper case; any other value NFC with CJK compatibility ideographs kept as given.
 * Then, for every field (all of them: every problem of the record is reported, not just the
 * first):
 * - a required field must have a non-empty value, unless blank (a value of spaces only is
 *   empty);
 * - the value must be valid UTF-8, on a single line, with no control character (a line break or
 *   a tab is an error, never dropped), no default-ignorable character (soft hyphen, zero-width
 *   and bidi formatting characters, U+FEFF: an error naming it as U+XXXX, never printed or
 *   dropped);
 * - an identifier must not be in Excel's scientific notation (1.23457E+11), and must match the
 *   field's pattern (anchored) when the form declares one;
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

/* Normalises an identifier (hospital, episode, chart number) the way cf_record_check stores
 * it: trimmed of White_Space, NFKC, upper case ("ｈｎ１２３４５６７８（９）" and
 * " hn12345678(9) " -> "HN12345678(9)"). For searching the archive with what a user typed.
 * On CF_OK *out is the new string (caller frees with cf_free); CF_ERR_DATA when value is not
 * UTF-8; CF_ERR_NOMEM. */
cf_status cf_identifier_normalize(const char *value, char **out);

#endif
