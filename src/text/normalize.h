/* Unicode normalisation (NFC) and character classes used by the loader, the CSV field rules and
 * the layout. Uses HarfBuzz's Unicode functions (only src/text/ includes HarfBuzz). */
#ifndef CF_NORMALIZE_H
#define CF_NORMALIZE_H

#include "base/buf.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Appends the NFC form of the valid UTF-8 string s (len bytes) to out. CF_ERR_DATA when s is not
 * valid UTF-8; out's sticky error (CF_ERR_LIMIT / CF_ERR_NOMEM) otherwise. On failure nothing
 * is appended. Thread-safe. */
cf_status cf_text_nfc(const char *s, size_t len, cf_buf *out);

/* True for CJK ideographs, kana, bopomofo, CJK punctuation and fullwidth forms: characters set
 * solid (no spaces between them) and between which a line may break. */
bool cf_text_is_cjk(uint32_t cp);
/* True for C0/C1 control characters and U+2028/U+2029 (tab, CR and LF included). */
bool cf_text_is_control(uint32_t cp);

#endif
