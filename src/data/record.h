/* A patient record: field key -> UTF-8 value, from command-line flags or one CSV row. */
#ifndef CF_RECORD_H
#define CF_RECORD_H

#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cf_record cf_record;

/* New empty record; caller frees with cf_record_free. source (e.g. the CSV path or NULL for the
 * command line) and row (1-based CSV row, header = 1; 0 for none) are kept for messages. */
cf_record *cf_record_new(const char *source, long row);
void cf_record_free(cf_record *record);
/* Sets field key (copied, matched case-insensitively) to value (copied as given). Replaces an
 * earlier value of the same key. */
cf_status cf_record_set(cf_record *record, const char *key, const char *value);
/* Same, and remembers the CSV column the value came from (its header name as written, copied),
 * so that a --name placeholder may name the column ("{hn}" for hospital_no read from "HN"). */
cf_status cf_record_set_from_column(cf_record *record, const char *key, const char *column,
                                    const char *value);
/* Keeps the value of a CSV column that feeds no field of the form (Ward, Bed, DOB ...) under the
 * column's header name (copied): an extra entry, not a field. cf_record_get never returns
 * extras and cf_record_check does not check them; they are there for file names and the
 * manifest. Replaces an earlier extra of the same name. */
cf_status cf_record_set_extra(cf_record *record, const char *column, const char *value);
/* Value of field key, or NULL when unset (extras are not looked at). Valid until the key is set
 * again or the record is freed. */
const char *cf_record_get(const cf_record *record, const char *key);
/* Number of entries, fields and extras together. */
size_t cf_record_size(const cf_record *record);
/* Key and value of entry i in insertion order; NULL past the end. The key of an extra entry is
 * its column's header name. */
const char *cf_record_key(const cf_record *record, size_t i);
const char *cf_record_value(const cf_record *record, size_t i);
/* True when entry i is an extra column (cf_record_set_extra), false for a field or past the end. */
bool cf_record_is_extra(const cf_record *record, size_t i);
/* Header name of the CSV column entry i was read from; NULL for a value not read from a column
 * (the command line) or past the end. */
const char *cf_record_column(const cf_record *record, size_t i);
const char *cf_record_source(const cf_record *record);
/* The ward the document of this record is issued for (data/ward.h), set from a list's ward
 * column: value copied as given (the caller checked it with cf_ward_clean); "" or NULL clears
 * it. cf_record_ward returns NULL when none is set. Not a field: never printed, never checked. */
cf_status cf_record_set_ward(cf_record *record, const char *ward);
const char *cf_record_ward(const cf_record *record);
long cf_record_row(const cf_record *record);

#endif
