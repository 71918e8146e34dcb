/* Document ids: 12 Crockford base32 characters and a check character (Luhn mod 32, from the
 * same alphabet), e.g. "7K3QJ2M9XW4TB". Derived from the form id and version, the field values,
 * the issue time and a sequence number, plus a random part unless the output must be
 * reproducible (SOURCE_DATE_EPOCH) and is not archived: an archived document always gets the
 * random part (cf_document_options.unique_id), so two issues never share an id or a QR code. */
#ifndef CF_DOCID_H
#define CF_DOCID_H

#include "data/record.h"
#include "form/form.h"

#include <stdbool.h>

#define CF_DOCUMENT_ID_LEN 13
#define CF_DOCUMENT_ID_SIZE (CF_DOCUMENT_ID_LEN + 1)

/* Makes the id of one issued document. record may be NULL (a blank form). With random false the
 * id depends only on the arguments. */
void cf_docid_make(const cf_form *form, const cf_record *record, long long issued,
                   unsigned long sequence, bool random, char out[CF_DOCUMENT_ID_SIZE]);

/* Normalises an id as typed by a person (case, hyphens and spaces ignored; O read as 0, I and L
 * as 1) into out; false when it is not 13 valid characters with a matching check character. */
bool cf_docid_normalize(const char *typed, char out[CF_DOCUMENT_ID_SIZE]);

#endif
