/* Growable byte buffer with a size cap and a sticky error: after the first failure every
 * append is a no-op and cf_buf_status reports the failure. data is always NUL-terminated. */
#ifndef CF_BUF_H
#define CF_BUF_H

#include "base/status.h"

#include <stddef.h>

typedef struct cf_buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;   /* bytes used, not counting the terminating NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* maximum len; an append past it fails with CF_ERR_LIMIT */
    cf_status error;
} cf_buf;

/* Embedded init; release with cf_buf_cleanup. */
void cf_buf_init(cf_buf *buf, size_t limit);
void cf_buf_cleanup(cf_buf *buf);
/* Empties the buffer (keeps its memory) and clears the sticky error. */
void cf_buf_reset(cf_buf *buf);

cf_status cf_buf_append(cf_buf *buf, const void *data, size_t len);
cf_status cf_buf_append_str(cf_buf *buf, const char *s);
cf_status cf_buf_putc(cf_buf *buf, char c);
cf_status cf_buf_printf(cf_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for extra more bytes (plus the NUL) after len, for a caller that writes them
 * itself, then adds to len and keeps data NUL-terminated. */
cf_status cf_buf_reserve(cf_buf *buf, size_t extra);
/* Gives the caller the data (free with cf_free) and leaves the buffer empty. */
char *cf_buf_take(cf_buf *buf, size_t *len);

#endif
