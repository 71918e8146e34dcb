/* SHA-256 (through nettle; only this file's .c includes it). */
#ifndef CF_HASH_H
#define CF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CF_SHA256_SIZE 32
#define CF_SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */

typedef struct cf_sha256 {
    _Alignas(16) unsigned char state[128]; /* nettle's sha256_ctx fits; checked in hash.c */
} cf_sha256;

void cf_sha256_init(cf_sha256 *ctx);
void cf_sha256_update(cf_sha256 *ctx, const void *data, size_t len);
void cf_sha256_final(cf_sha256 *ctx, unsigned char digest[CF_SHA256_SIZE]);
/* One-shot digest of data as 64 lower-case hex digits. */
void cf_sha256_hex(const void *data, size_t len, char hex[CF_SHA256_HEX_SIZE]);
/* Lower-case hex of a digest. */
void cf_sha256_to_hex(const unsigned char digest[CF_SHA256_SIZE], char hex[CF_SHA256_HEX_SIZE]);

#endif
