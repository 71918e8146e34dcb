/* The checked rows of a batch in an unlinked temporary file (see records.h). */
#include "batch/records.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define FLUSH_AT ((size_t)256 << 10)
#define MAX_MESSAGES 4096
#define MESSAGE_SLOTS 8192 /* a power of two, at least twice MAX_MESSAGES */

struct cf_batch_records {
    int fd;
    uint64_t *offsets; /* of each row's header */
    size_t n, cap;
    cf_buf pending;   /* bytes appended but not yet written, from offset flushed */
    uint64_t flushed; /* bytes in the file */
    pthread_mutex_t lock;
    char *messages[MAX_MESSAGES + 1];
    uint32_t n_messages;
    uint32_t slots[MESSAGE_SLOTS]; /* message hash set: 1-based indexes, 0 = free */
};

cf_status cf_batch_records_new(const char *dir, cf_batch_records **out, cf_diag *diag)
{
    *out = NULL;
    if (dir == NULL) {
        dir = getenv("TMPDIR");
        if (dir == NULL || dir[0] == '\0')
            dir = "/tmp";
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/consentform-batch.XXXXXX", dir);
    cf_batch_records *rs = cf_calloc(1, sizeof *rs);
    if (rs == NULL)
        return CF_ERR_NOMEM;
    /* mkstemp makes the file rw------- whatever the umask; it is gone from the folder at once. */
    rs->fd = mkstemp(path);
    if (rs->fd < 0) {
        cf_diag_error(diag, dir, 0, "cannot make a temporary file for the checked rows: %s",
                      strerror(errno));
        cf_free(rs);
        return CF_ERR_CANTCREAT;
    }
    unlink(path);
    cf_buf_init(&rs->pending, (size_t)64 << 20);
    pthread_mutex_init(&rs->lock, NULL);
    *out = rs;
    return CF_OK;
}

void cf_batch_records_free(cf_batch_records *rs)
{
    if (rs == NULL)
        return;
    if (rs->fd >= 0)
        close(rs->fd);
    for (uint32_t i = 1; i <= rs->n_messages; i++)
        cf_free(rs->messages[i]);
    cf_free(rs->offsets);
    cf_buf_cleanup(&rs->pending);
    pthread_mutex_destroy(&rs->lock);
    cf_free(rs);
}

static cf_status flush(cf_batch_records *rs)
{
    size_t done = 0;
    while (done < rs->pending.len) {
        ssize_t n = pwrite(rs->fd, rs->pending.data + done, rs->pending.len - done,
                           (off_t)(rs->flushed + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CF_ERR_IO;
        done += (size_t)n;
    }
    rs->flushed += done;
    cf_buf_reset(&rs->pending);
    return CF_OK;
}

/* Reads len bytes at off, from the file or from the bytes not yet written. */
static cf_status read_at(cf_batch_records *rs, uint64_t off, void *dst, size_t len)
{
    if (off >= rs->flushed) {
        if (off - rs->flushed + len > rs->pending.len)
            return CF_ERR_INTERNAL;
        memcpy(dst, rs->pending.data + (off - rs->flushed), len);
        return CF_OK;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(rs->fd, (char *)dst + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CF_ERR_IO;
        done += (size_t)n;
    }
    return CF_OK;
}

cf_status cf_batch_records_add(cf_batch_records *rs, const cf_batch_row *row,
                               const cf_record *record)
{
    if (rs->n == rs->cap) {
        uint64_t *grown = cf_grow_array(rs->offsets, &rs->cap, rs->n + 1, sizeof *grown, 1024);
        if (grown == NULL)
            return CF_ERR_NOMEM;
        rs->offsets = grown;
    }
    if (rs->pending.len >= FLUSH_AT) {
        cf_status st = flush(rs);
        if (st != CF_OK)
            return st;
    }
    uint64_t at = rs->flushed + rs->pending.len;
    cf_batch_row head = *row;
    size_t n = record != NULL ? cf_record_size(record) : 0;
    size_t start = rs->pending.len;
    cf_buf_append(&rs->pending, &head, sizeof head);
    const char *ward = cf_record_ward(record);
    uint32_t count = (uint32_t)n + (ward != NULL ? 1 : 0);
    cf_buf_append(&rs->pending, &count, sizeof count);
    if (ward != NULL) {
        /* The record's ward (a list's ward column): kind 'w', an empty key, the ward. */
        cf_buf_append(&rs->pending, "w", 2);
        cf_buf_append(&rs->pending, ward, strlen(ward) + 1);
    }
    for (size_t i = 0; i < n; i++) {
        /* Each entry: its kind ('x' an extra column, 'c' a field read from a named column,
         * 'f' a field), the key, the column name for 'c', then the value. */
        const char *k = cf_record_key(record, i), *v = cf_record_value(record, i);
        const char *column = cf_record_column(record, i);
        bool extra = cf_record_is_extra(record, i);
        char kind = extra ? 'x' : column != NULL ? 'c' : 'f';
        cf_buf_append(&rs->pending, &kind, 1);
        cf_buf_append(&rs->pending, k, strlen(k) + 1);
        if (kind == 'c')
            cf_buf_append(&rs->pending, column, strlen(column) + 1);
        cf_buf_append(&rs->pending, v != NULL ? v : "", v != NULL ? strlen(v) + 1 : 1);
    }
    if (rs->pending.error)
        return rs->pending.error;
    head.body_len = (uint32_t)(rs->pending.len - start - sizeof head);
    memcpy(rs->pending.data + start, &head, sizeof head);
    rs->offsets[rs->n++] = at;
    return CF_OK;
}

cf_status cf_batch_records_seal(cf_batch_records *rs)
{
    return flush(rs);
}

size_t cf_batch_records_count(const cf_batch_records *rs)
{
    return rs->n;
}

/* Reads row i's header and body (caller frees *body). */
static cf_status read_row(cf_batch_records *rs, size_t i, cf_batch_row *row, char **body)
{
    if (i >= rs->n)
        return CF_ERR_INTERNAL;
    cf_status st = read_at(rs, rs->offsets[i], row, sizeof *row);
    if (st != CF_OK || body == NULL)
        return st;
    *body = cf_malloc((size_t)row->body_len + 1);
    if (*body == NULL)
        return CF_ERR_NOMEM;
    st = read_at(rs, rs->offsets[i] + sizeof *row, *body, row->body_len);
    (*body)[row->body_len] = '\0';
    if (st != CF_OK || row->body_len < sizeof(uint32_t)) {
        cf_free(*body);
        *body = NULL;
        return st != CF_OK ? st : CF_ERR_INTERNAL;
    }
    return CF_OK;
}

cf_status cf_batch_records_get(cf_batch_records *rs, size_t i, cf_batch_row *row,
                               cf_record **record, const char *source)
{
    char *body = NULL;
    cf_status st = read_row(rs, i, row, record != NULL ? &body : NULL);
    if (st != CF_OK || record == NULL)
        return st;
    *record = cf_record_new(source, row->row);
    if (*record == NULL) {
        cf_free(body);
        return CF_ERR_NOMEM;
    }
    uint32_t count;
    memcpy(&count, body, sizeof count);
    const char *p = body + sizeof count, *end = body + row->body_len;
    for (uint32_t k = 0; k < count && p < end && st == CF_OK; k++) {
        char kind = *p++;
        const char *key = p, *column = NULL;
        p += strlen(p) + 1;
        if (kind == 'c' && p < end) {
            column = p;
            p += strlen(p) + 1;
        }
        if (p >= end + 1)
            break;
        const char *value = p;
        p += strlen(p) + 1;
        if (kind == 'w')
            st = cf_record_set_ward(*record, value);
        else if (kind == 'x')
            st = cf_record_set_extra(*record, key, value);
        else if (column != NULL)
            st = cf_record_set_from_column(*record, key, column, value);
        else
            st = cf_record_set(*record, key, value);
    }
    cf_free(body);
    if (st != CF_OK) {
        cf_record_free(*record);
        *record = NULL;
    }
    return st;
}

cf_status cf_batch_records_value(cf_batch_records *rs, size_t i, const char *key, char *out,
                                 size_t size)
{
    cf_record *record = NULL;
    cf_batch_row row;
    out[0] = '\0';
    cf_status st = cf_batch_records_get(rs, i, &row, &record, NULL);
    if (st == CF_OK) {
        const char *v = cf_record_get(record, key);
        snprintf(out, size, "%s", v != NULL ? v : "");
    }
    cf_record_free(record);
    return st;
}

cf_status cf_batch_records_update(cf_batch_records *rs, size_t i, const cf_batch_row *row)
{
    if (i >= rs->n)
        return CF_ERR_INTERNAL;
    cf_batch_row head = *row, old;
    cf_status st = read_at(rs, rs->offsets[i], &old, sizeof old);
    if (st != CF_OK)
        return st;
    head.body_len = old.body_len;
    uint64_t off = rs->offsets[i];
    if (off >= rs->flushed) {
        memcpy(rs->pending.data + (off - rs->flushed), &head, sizeof head);
        return CF_OK;
    }
    ssize_t n = pwrite(rs->fd, &head, sizeof head, (off_t)off);
    return n == (ssize_t)sizeof head ? CF_OK : CF_ERR_IO;
}

static uint32_t hash_text(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Looks message up, adding it when allowed; 0 when absent and not added. */
static uint32_t intern(cf_batch_records *rs, const char *message, bool add)
{
    uint32_t j = hash_text(message) & (MESSAGE_SLOTS - 1);
    while (rs->slots[j] != 0) {
        if (strcmp(rs->messages[rs->slots[j]], message) == 0)
            return rs->slots[j];
        j = (j + 1) & (MESSAGE_SLOTS - 1);
    }
    if (!add || rs->n_messages >= MAX_MESSAGES)
        return 0;
    char *copy = cf_strdup(message);
    if (copy == NULL)
        return 0;
    rs->messages[++rs->n_messages] = copy;
    rs->slots[j] = rs->n_messages;
    return rs->n_messages;
}

uint32_t cf_batch_records_intern(cf_batch_records *rs, const char *message, const char *fallback)
{
    pthread_mutex_lock(&rs->lock);
    uint32_t index = intern(rs, message, rs->n_messages < MAX_MESSAGES - 64);
    if (index == 0)
        index = intern(rs, fallback, true);
    pthread_mutex_unlock(&rs->lock);
    return index;
}

const char *cf_batch_records_message(const cf_batch_records *rs, uint32_t index)
{
    return index >= 1 && index <= rs->n_messages ? rs->messages[index] : "";
}

cf_status cf_batch_records_fail(cf_batch_records *rs, size_t i, cf_status status,
                                const char *message)
{
    cf_batch_row row;
    cf_status st = cf_batch_records_get(rs, i, &row, NULL, NULL);
    if (st != CF_OK || row.state == CF_BATCH_ROW_FAILED)
        return st;
    row.state = CF_BATCH_ROW_FAILED;
    row.status = (uint8_t)status;
    row.message = cf_batch_records_intern(rs, message, cf_status_message(status));
    return cf_batch_records_update(rs, i, &row);
}
