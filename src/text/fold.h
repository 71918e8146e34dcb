/* Folding names for comparison: how a CSV column, a form field's key, caption or alias, a --map
 * argument and a --name placeholder are matched ("Patient Name", "patient_name", "ＰＡＴＩＥＮＴ
 * ＮＡＭＥ" and "Patient-Name" are one name). Uses ICU (only src/text/fold.c includes it). */
#ifndef CF_FOLD_H
#define CF_FOLD_H

#include "base/buf.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>

/* Appends the folded form of the UTF-8 string s (len bytes) to out: NFKC with full case folding
 * (ICU's NFKC_Casefold, which also drops default-ignorable characters such as U+FEFF), then every
 * white space character, '_', '-' and '.' removed. CF_ERR_DATA when s is not valid UTF-8;
 * otherwise out's sticky error (CF_ERR_NOMEM / CF_ERR_LIMIT) or CF_ERR_INTERNAL when ICU fails.
 * On failure nothing is appended. Thread-safe. */
cf_status cf_text_fold_name(const char *s, size_t len, cf_buf *out);

/* True when the folded forms of a and b (NUL-terminated UTF-8) are equal and not empty. False
 * too when either cannot be folded. */
bool cf_text_same_name(const char *a, const char *b);

#endif
