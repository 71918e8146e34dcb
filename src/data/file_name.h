/* Output file names for batch printing: a template such as "{hospital_no}_{episode_no}_{form}.pdf"
 * filled with a record's values, each value reduced to characters that are safe in a file name
 * on Linux, macOS and Windows shares (never '/', '\\', "..", control characters or a leading dot).
 */
#ifndef CF_FILE_NAME_H
#define CF_FILE_NAME_H

#include "base/buf.h"
#include "base/diag.h"
#include "base/status.h"
#include "data/record.h"

#include <stddef.h>

#define CF_FILE_NAME_DEFAULT "{hospital_no}_{episode_no}_{form}.pdf"
#define CF_FILE_NAME_MAX 200 /* bytes, well under the usual 255 */

/* Checks a --name template: placeholders are {form}, {version}, {row}, a field key or the name
 * of any column of the list ({ward}, {hn}, {病房}: any characters but braces, slashes and
 * control characters); the template must be a plain file name (no '/' or '\\') ending in
 * ".pdf". Messages name the problem; CF_ERR_USAGE when it is wrong. */
cf_status cf_file_name_check_template(const char *name_template, cf_diag *diag);

/* Appends the file name for record to out (reset first). A placeholder is replaced by the value
 * of the record's field with that key, else of the entry (field or extra column, see
 * cf_record_set_extra) whose CSV column name matches it after folding (cf_text_fold_name: "{hn}"
 * is the column "HN", "{ward}" the column "Ward"). A placeholder that matches nothing, or a
 * value that is empty, is CF_ERR_DATA with a message for the record's row; a name that would be
 * empty after reduction, too long, or "." / ".." is CF_ERR_DATA too. */
cf_status cf_file_name_expand(const char *name_template, const cf_record *record,
                              const char *form_id, const char *version, cf_buf *out, cf_diag *diag);

/* Appends to out (reset first) the default template of a form whose label fields are
 * label_keys: every label key but patient_name (never put a name in a file name), in order,
 * then {form}: "{hospital_no}_{episode_no}_{form}.pdf" for the HK forms. */
cf_status cf_file_name_default(const char *const *label_keys, size_t n_label_keys, cf_buf *out);

/* cf_file_name_expand with {row} zero-padded to the number of digits of last_row (the row number of the
 * list's last row), so that the files sort in list order: row 7 of 1,200 is "0007". last_row 0
 * or less: no padding (cf_file_name_expand). */
cf_status cf_file_name_expand_rows(const char *name_template, const cf_record *record,
                                   const char *form_id, const char *version, long last_row,
                                   cf_buf *out, cf_diag *diag);

/* Appends value reduced to safe characters to out: letters and digits of any script, '-', '_',
 * '.', '(', ')', '+' and '@' are kept; white space becomes '_'; anything else becomes '_';
 * runs of '_' collapse and a leading '.' or '-' becomes '_'. */
void cf_file_name_append_safe(cf_buf *out, const char *value);

#endif
