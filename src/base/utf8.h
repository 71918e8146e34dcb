/* UTF-8 decoding and checks (strict: no overlongs, no surrogates, nothing above U+10FFFF). */
#ifndef CF_UTF8_H
#define CF_UTF8_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s (len bytes available) into *cp. Returns the number of bytes
 * used (1-4), or 0 when the bytes there are not valid UTF-8 (or len is 0). */
size_t cf_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Returns the offset of the first invalid byte, or len when all of s is valid UTF-8. */
size_t cf_utf8_check(const char *s, size_t len);

/* Writes cp as UTF-8 into out; returns the byte count (1-4), 0 for an invalid code point. */
size_t cf_utf8_encode(uint32_t cp, char out[4]);

/* Number of code points in a valid UTF-8 string of len bytes. */
size_t cf_utf8_length(const char *s, size_t len);

/* True for the characters of Unicode's White_Space property (TAB..CR, space, U+0085, NBSP,
 * U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). */
bool cf_utf8_is_white_space(uint32_t cp);

/* True for the invisible default-ignorable characters that must never hide in a patient value:
 * soft hyphen U+00AD, U+034F, U+061C, U+115F, U+1160, U+180B..U+180E, U+200B..U+200F,
 * U+202A..U+202E, U+2060..U+206F, U+3164, U+FEFF, U+FFA0, U+E0000..U+E0FFF. Variation
 * selectors (U+FE00..U+FE0F, U+E0100..) are not in the list: they choose an ideograph's glyph. */
bool cf_utf8_is_default_ignorable(uint32_t cp);

/* True for characters that are never written raw into a message: C0 and C1 controls, DEL,
 * U+2028/U+2029 and the default-ignorable ones above (bidi overrides reorder a terminal line). */
bool cf_utf8_is_hidden(uint32_t cp);

/* Appends s[0, len) to out for a message: each hidden character (cf_utf8_is_hidden) as
 * "<U+XXXX>", each byte that is not UTF-8 as "\xNN", everything else as it is. keep_lf_tab:
 * LF and TAB stay raw (for whole messages that are laid out with them). At most max bytes of s
 * are shown (cut between characters, then "…"); max 0 means no cap. The one place where values
 * quoted in messages are escaped: field rules, the CSV reader and the diagnostics sink use it. */
void cf_utf8_escape(cf_buf *out, const char *s, size_t len, size_t max, bool keep_lf_tab);

/* Like cf_utf8_escape, between double quotes. */
void cf_utf8_quote(cf_buf *out, const char *s, size_t len, size_t max);

/* Number of bytes of s[0, len) (valid UTF-8) taken by leading White_Space characters other
 * than controls (a tab or a line break in a value is an error, never trimmed away). */
size_t cf_utf8_space_prefix(const char *s, size_t len);
/* The same at the end of s. */
size_t cf_utf8_space_suffix(const char *s, size_t len);

#endif
