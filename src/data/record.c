#include "data/record.h"

#include "base/alloc.h"

#include <stdbool.h>
#include <string.h>

/* One key and its value, both in a single allocation: "key\0value\0". */
typedef struct record_entry {
    char *text;
    size_t key_len;
    char *column; /* header name of the CSV column it came from, or NULL; owned */
    bool extra;   /* a column that is no field of the form */
} record_entry;

struct cf_record {
    char *source; /* NULL: the command line */
    long row;
    char *ward; /* NULL: none */
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
    for (size_t i = 0; i < record->size; i++) {
        cf_free(record->entries[i].text);
        cf_free(record->entries[i].column);
    }
    cf_free(record->entries);
    cf_free(record->source);
    cf_free(record->ward);
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

/* The field (extra false) or extra entry (extra true) named key, or NULL. */
static record_entry *find_entry(const cf_record *record, const char *key, bool extra)
{
    for (size_t i = 0; i < record->size; i++)
        if (record->entries[i].extra == extra &&
            key_equal(record->entries[i].text, record->entries[i].key_len, key))
            return &record->entries[i];
    return NULL;
}

/* Sets the field or extra entry key to value; column (NULL for none) is copied into it. */
static cf_status set_entry(cf_record *record, const char *key, const char *column,
                           const char *value, bool extra)
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
    char *column_copy = NULL;
    if (column && !(column_copy = cf_strdup(column))) {
        cf_free(text);
        return CF_ERR_NOMEM;
    }

    /* Replacing keeps the entry's place (and the spelling of the key first given). */
    record_entry *entry = find_entry(record, key, extra);
    if (entry) {
        memcpy(text, entry->text, key_len);
        cf_free(entry->text);
        entry->text = text;
        if (column_copy) {
            cf_free(entry->column);
            entry->column = column_copy;
        }
        return CF_OK;
    }
    if (record->size == record->cap) {
        record_entry *grown =
            cf_grow_array(record->entries, &record->cap, record->size + 1, sizeof *grown, 8);
        if (!grown) {
            cf_free(text);
            cf_free(column_copy);
            return CF_ERR_NOMEM;
        }
        record->entries = grown;
    }
    record->entries[record->size] =
        (record_entry){.text = text, .key_len = key_len, .column = column_copy, .extra = extra};
    record->size++;
    return CF_OK;
}

cf_status cf_record_set(cf_record *record, const char *key, const char *value)
{
    return set_entry(record, key, NULL, value, /*extra*/ false);
}

cf_status cf_record_set_from_column(cf_record *record, const char *key, const char *column,
                                    const char *value)
{
    return set_entry(record, key, column, value, /*extra*/ false);
}

cf_status cf_record_set_extra(cf_record *record, const char *column, const char *value)
{
    return set_entry(record, column, column, value, /*extra*/ true);
}

const char *cf_record_get(const cf_record *record, const char *key)
{
    if (!record || !key)
        return NULL;
    const record_entry *entry = find_entry(record, key, /*extra*/ false);
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

bool cf_record_is_extra(const cf_record *record, size_t i)
{
    return record && i < record->size && record->entries[i].extra;
}

const char *cf_record_column(const cf_record *record, size_t i)
{
    return record && i < record->size ? record->entries[i].column : NULL;
}

cf_status cf_record_set_ward(cf_record *record, const char *ward)
{
    char *copy = NULL;
    if (ward != NULL && ward[0] != '\0' && (copy = cf_strdup(ward)) == NULL)
        return CF_ERR_NOMEM;
    cf_free(record->ward);
    record->ward = copy;
    return CF_OK;
}

const char *cf_record_ward(const cf_record *record)
{
    return record != NULL ? record->ward : NULL;
}
