#include "base/buf.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cf_buf_init(cf_buf *buf, size_t limit)
{
    memset(buf, 0, sizeof *buf);
    buf->limit = limit;
}

void cf_buf_cleanup(cf_buf *buf)
{
    if (!buf)
        return;
    cf_free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

void cf_buf_reset(cf_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
    buf->error = CF_OK;
}

/* Makes room for extra more bytes plus the NUL. */
cf_status cf_buf_reserve(cf_buf *buf, size_t extra)
{
    if (buf->error)
        return buf->error;
    if (extra > buf->limit || buf->len > buf->limit - extra)
        return buf->error = CF_ERR_LIMIT;
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap)
        return CF_OK;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *grown = cf_realloc(buf->data, cap);
    if (!grown)
        return buf->error = CF_ERR_NOMEM;
    buf->data = grown;
    buf->cap = cap;
    return CF_OK;
}

cf_status cf_buf_append(cf_buf *buf, const void *data, size_t len)
{
    cf_status st = cf_buf_reserve(buf, len);
    if (st)
        return st;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0'; /* NOLINT(clang-analyzer-core.NullDereference): reserved above */
    return CF_OK;
}

cf_status cf_buf_append_str(cf_buf *buf, const char *s)
{
    return cf_buf_append(buf, s, strlen(s));
}

cf_status cf_buf_putc(cf_buf *buf, char c)
{
    return cf_buf_append(buf, &c, 1);
}

cf_status cf_buf_printf(cf_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return buf->error ? buf->error : (buf->error = CF_ERR_INTERNAL);
    cf_status st = cf_buf_reserve(buf, (size_t)n);
    if (st)
        return st;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return CF_OK;
}

char *cf_buf_take(cf_buf *buf, size_t *len)
{
    if (!buf->data && cf_buf_append(buf, "", 0) != CF_OK)
        return NULL;
    char *data = buf->data;
    if (len)
        *len = buf->len;
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return data;
}
