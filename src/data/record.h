/* A patient record: field key -> UTF-8 value, from command-line flags or one CSV row. */
#ifndef CF_RECORD_H
#define CF_RECORD_H

#include "base/status.h"

#include <stddef.h>

typedef struct cf_record cf_record;

/* New empty record; caller frees with cf_record_free. source (e.g. the CSV path or NULL for the
 * command line) and row (1-based CSV row, header = 1; 0 for none) are kept for messages. */
cf_record *cf_record_new(const char *source, long row);
void cf_record_free(cf_record *record);
/* Sets key (copied, matched case-insensitively) to value (copied as given). Replaces an earlier
 * value of the same key. */
cf_status cf_record_set(cf_record *record, const char *key, const char *value);
/* Value of key, or NULL when unset. Valid until the key is set again or the record is freed. */
const char *cf_record_get(const cf_record *record, const char *key);
size_t cf_record_size(const cf_record *record);
/* Key and value of entry i in insertion order; NULL past the end. */
const char *cf_record_key(const cf_record *record, size_t i);
const char *cf_record_value(const cf_record *record, size_t i);
const char *cf_record_source(const cf_record *record);
long cf_record_row(const cf_record *record);

#endif
