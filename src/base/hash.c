#include "base/hash.h"

#include <nettle/sha2.h>

_Static_assert(sizeof(struct sha256_ctx) <= sizeof(((cf_sha256 *)0)->state),
               "cf_sha256 too small for nettle's sha256_ctx");

void cf_sha256_init(cf_sha256 *ctx)
{
    sha256_init((struct sha256_ctx *)(void *)ctx->state);
}

void cf_sha256_update(cf_sha256 *ctx, const void *data, size_t len)
{
    sha256_update((struct sha256_ctx *)(void *)ctx->state, len, data);
}

void cf_sha256_final(cf_sha256 *ctx, unsigned char digest[CF_SHA256_SIZE])
{
    sha256_digest((struct sha256_ctx *)(void *)ctx->state, CF_SHA256_SIZE, digest);
}

void cf_sha256_to_hex(const unsigned char digest[CF_SHA256_SIZE], char hex[CF_SHA256_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < CF_SHA256_SIZE; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

void cf_sha256_hex(const void *data, size_t len, char hex[CF_SHA256_HEX_SIZE])
{
    cf_sha256 ctx;
    unsigned char digest[CF_SHA256_SIZE];
    cf_sha256_init(&ctx);
    cf_sha256_update(&ctx, data, len);
    cf_sha256_final(&ctx, digest);
    cf_sha256_to_hex(digest, hex);
}
