/* Unicode normalisation (NFC; NFKC for identifiers) and character classes used by the loader, the
 * CSV field rules and the layout. Uses HarfBuzz's Unicode functions (only src/text/ includes
 * HarfBuzz) and, for NFKC, ICU (only this file includes it). */
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

/* Like cf_text_nfc, except that CJK compatibility ideographs (U+F900..U+FAFF,
 * U+2F800..U+2FA1F) stay as they are: for names, whose characters are never changed (combining
 * sequences are still composed). */
cf_status cf_text_nfc_keep_ideographs(const char *s, size_t len, cf_buf *out);

/* Appends NFKC of the valid UTF-8 string s (len bytes), in upper case (Unicode full case
 * mapping, root locale), to out: the form identifiers are compared and printed in
 * ("ｈｎ１２（９）" -> "HN12(9)"). Uses ICU. CF_ERR_DATA when s is not valid UTF-8; nothing is
 * appended on failure. Thread-safe. */
cf_status cf_text_nfkc_upper(const char *s, size_t len, cf_buf *out);

/* True for CJK ideographs, kana, bopomofo, CJK punctuation and fullwidth forms: characters set
 * solid (no spaces between them) and between which a line may break. */
bool cf_text_is_cjk(uint32_t cp);
/* True for C0/C1 control characters and U+2028/U+2029 (tab, CR and LF included). */
bool cf_text_is_control(uint32_t cp);

#endif
