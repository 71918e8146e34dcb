/* UTF-8 decoding and checks (strict: no overlongs, no surrogates, nothing above U+10FFFF). */
#ifndef CF_UTF8_H
#define CF_UTF8_H

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

#endif
