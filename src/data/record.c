#include "data/record.h"

#include "base/alloc.h"

#include <stdbool.h>
#include <string.h>

/* One key and its value, both in a single allocation: "key\0value\0". */
typedef struct record_entry {
    char *text;
    size_t key_len;
} record_entry;

struct cf_record {
    char *source; /* NULL: the command line */
    long row;
    record_entry *entries;
    size_t size, cap;
};

cf_record *cf_record_new(const char *source, long row)
{
    cf_record *record = cf_calloc(1, sizeof *record);
    if (!record)
        goto fail;
    record->row = row;
    if (source) {
        record->source = cf_strdup(source);
        if (!record->source)
            goto fail;
    }
    return record;

fail:
    cf_record_free(record);
    return NULL;
}

void cf_record_free(cf_record *record)
{
    if (!record)
        return;
    for (size_t i = 0; i < record->size; i++)
        cf_free(record->entries[i].text);
    cf_free(record->entries);
    cf_free(record->source);
    cf_free(record);
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* True when the first len bytes of a equal the NUL-terminated b, ignoring ASCII case. */
static bool key_equal(const char *a, size_t len, const char *b)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char cb = (unsigned char)b[i];
        if (cb == '\0' || ascii_lower((unsigned char)a[i]) != ascii_lower(cb))
            return false;
    }
    return b[len] == '\0';
}

static record_entry *find_entry(const cf_record *record, const char *key)
{
    for (size_t i = 0; i < record->size; i++)
        if (key_equal(record->entries[i].text, record->entries[i].key_len, key))
            return &record->entries[i];
    return NULL;
}

cf_status cf_record_set(cf_record *record, const char *key, const char *value)
{
    if (!record || !key || !value)
        return CF_ERR_INTERNAL;
    size_t key_len = strlen(key);
    size_t value_len = strlen(value);
    if (key_len > ((size_t)-1) / 2 || value_len > ((size_t)-1) / 2)
        return CF_ERR_LIMIT;
    char *text = cf_malloc(key_len + value_len + 2);
    if (!text)
        return CF_ERR_NOMEM;
    memcpy(text, key, key_len + 1);
    memcpy(text + key_len + 1, value, value_len + 1);

    /* Replacing keeps the entry's place (and the spelling of the key first given). */
    record_entry *entry = find_entry(record, key);
    if (entry) {
        memcpy(text, entry->text, key_len);
        cf_free(entry->text);
        entry->text = text;
        return CF_OK;
    }
    if (record->size == record->cap) {
        record_entry *grown =
            cf_grow_array(record->entries, &record->cap, record->size + 1, sizeof *grown, 8);
        if (!grown) {
            cf_free(text);
            return CF_ERR_NOMEM;
        }
        record->entries = grown;
    }
    record->entries[record->size].text = text;
    record->entries[record->size].key_len = key_len;
    record->size++;
    return CF_OK;
}

const char *cf_record_get(const cf_record *record, const char *key)
{
    if (!record || !key)
        return NULL;
    const record_entry *entry = find_entry(record, key);
    return entry ? entry->text + entry->key_len + 1 : NULL;
}

size_t cf_record_size(const cf_record *record)
{
    return record ? record->size : 0;
}

const char *cf_record_key(const cf_record *record, size_t i)
{
    if (!record || i >= record->size)
        return NULL;
    return record->entries[i].text;
}

const char *cf_record_value(const cf_record *record, size_t i)
{
    if (!record || i >= record->size)
        return NULL;
    return record->entries[i].text + record->entries[i].key_len + 1;
}

const char *cf_record_source(const cf_record *record)
{
    return record ? record->source : NULL;
}

long cf_record_row(const cf_record *record)
{
    return record ? record->row : 0;
}
