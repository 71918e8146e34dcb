/* The ward a document was issued for (e.g. "7A", "病房 5B"): recorded with the document in the
 * archive so that a ward can print its "still unsigned" list. It is not printed on the form and
 * is not patient identity. Given by `render --ward`, `batch --ward` (the whole list), a list's
 * ward column (per row), or the web print page. */
#ifndef CF_WARD_H
#define CF_WARD_H

#include "base/status.h"

#include <stddef.h>

#define CF_WARD_MAX 32                     /* characters of a ward, after trimming */
#define CF_WARD_SIZE (CF_WARD_MAX * 4 + 1) /* bytes of the longest one, with its NUL */

/* value trimmed of white space (Unicode White_Space: spaces, tabs, NBSP, U+3000 ...) into out;
 * "" when value is NULL or only white space (no ward). CF_ERR_DATA, *why (may be NULL) set to
 * a static phrase ("is longer than 32 characters", "holds a control character", "is not UTF-8
 * text"), when the ward cannot be kept: out is "" then. */
cf_status cf_ward_clean(const char *value, char out[CF_WARD_SIZE], const char **why);

#endif
