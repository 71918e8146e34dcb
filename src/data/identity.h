/* One list, one identity per hospital number: finds, among the checked records of a list, a
 * hospital number given with two different names (an error for every row involved) and the
 * same patient twice (every label field equal: an error for the later rows). It keeps 20 bytes
 * of hashes per row, never the values, so a list of a million rows costs about 20 MB. */
#ifndef CF_IDENTITY_H
#define CF_IDENTITY_H

#include "base/status.h"
#include "data/record.h"
#include "form/form.h"

typedef enum cf_identity_clash {
    CF_IDENTITY_NAME_DIFFERS, /* the row's hospital number has another name in other_row */
    CF_IDENTITY_REPEATED,     /* the row repeats the patient of other_row (an earlier row) */
} cf_identity_clash;

/* Called once per row in trouble, in ascending row order. */
typedef void (*cf_identity_report)(void *ctx, long row, long other_row, cf_identity_clash clash);

typedef struct cf_identity_check cf_identity_check;

/* New empty check; caller frees with cf_identity_check_free. NULL when out of memory. */
cf_identity_check *cf_identity_check_new(void);
void cf_identity_check_free(cf_identity_check *check);

/* Notes the identity of record (checked by cf_record_check, so its values are normalised):
 * its hospital_no, its patient_name and all its label fields, at the record's row. A record
 * without a hospital number is not noted. CF_ERR_NOMEM or CF_OK. */
cf_status cf_identity_check_add(cf_identity_check *check, const cf_form *form,
                                const cf_record *record);

/* After the last row: calls report for every row in trouble. Two different values are taken
 * as equal only when their 64-bit (hospital number) or 32-bit (name, identity) FNV-1a hashes
 * collide. CF_ERR_NOMEM or CF_OK. */
cf_status cf_identity_check_finish(cf_identity_check *check, cf_identity_report report, void *ctx);

#endif
