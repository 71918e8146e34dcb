/* Matching a CSV header to a form's fields, and building one record per data row. */
#include "data/csv.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME_IN_MESSAGE_MAX 40 /* longer column names are not quoted in messages */
#define COLUMN_LIST_MAX 300    /* bytes of the "its columns are ..." list in a message */

struct cf_csv_map {
    char *source;
    size_t n_columns;
    char **keys; /* per column: the field key it feeds (owned), or NULL */
};

/* A column's name reduced for comparison (trimmed, ASCII lower-cased) and its place. */
typedef struct column_name {
    const char *name;
    size_t column; /* 0-based */
} column_name;

void cf_csv_map_free(cf_csv_map *map)
{
    if (!map)
        return;
    for (size_t i = 0; map->keys && i < map->n_columns; i++)
        cf_free(map->keys[i]);
    cf_free(map->keys);
    cf_free(map->source);
    cf_free(map);
}

size_t cf_csv_map_columns(const cf_csv_map *map)
{
    return map ? map->n_columns : 0;
}

const char *cf_csv_map_get_key(const cf_csv_map *map, size_t i)
{
    return map && i < map->n_columns ? map->keys[i] : NULL;
}

/* Length of the white space (space, tab, U+3000) at the start of s[0, len). */
static size_t space_prefix(const char *s, size_t len)
{
    size_t i = 0;
    for (;;) {
        if (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        else if (len - i >= 3 && memcmp(s + i, "\xE3\x80\x80", 3) == 0)
            i += 3;
        else
            return i;
    }
}

/* Length of the white space at the end of s[0, len). */
static size_t space_suffix(const char *s, size_t len)
{
    size_t n = 0;
    for (;;) {
        if (n < len && (s[len - n - 1] == ' ' || s[len - n - 1] == '\t'))
            n++;
        else if (len - n >= 3 && memcmp(s + len - n - 3, "\xE3\x80\x80", 3) == 0)
            n += 3;
        else
            return n;
    }
}

/* New string: name trimmed of surrounding white space, ASCII letters lower-cased. */
static char *reduce_name(const char *name)
{
    size_t len = strlen(name);
    size_t start = space_prefix(name, len);
    size_t end = len - space_suffix(name + start, len - start);
    char *out = cf_strndup(name + start, end - start);
    for (size_t i = 0; out && out[i]; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    return out;
}

/* True when name can be quoted in a message as it is: short, valid UTF-8, no control bytes. */
static bool printable_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > NAME_IN_MESSAGE_MAX || cf_utf8_check(name, len) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7F)
            return false;
    return true;
}

/* Appends "column N" or "column N (name)" to out. */
static void describe_column(cf_buf *out, const char *name, size_t column)
{
    if (printable_name(name))
        cf_buf_printf(out, "column %zu (%s)", column + 1, name);
    else
        cf_buf_printf(out, "column %zu", column + 1);
}

static int compare_names(const void *a, const void *b)
{
    const column_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->column < y->column ? -1 : x->column > y->column;
}

/* Index of the form field whose key is name (already lower-case), or n_fields. */
static size_t find_field(const cf_form *form, const char *name)
{
    for (size_t i = 0; i < form->n_fields; i++)
        if (form->fields[i].key && strcmp(form->fields[i].key, name) == 0)
            return i;
    return form->n_fields;
}

/* A field key that name means with its spaces written as '_' ("Patient Name" -> patient_name),
 * or NULL. */
static const char *near_key(const cf_form *form, const char *reduced)
{
    size_t len = strlen(reduced);
    if (len == 0 || len > 64)
        return NULL;
    char guess[65];
    for (size_t i = 0; i <= len; i++)
        guess[i] = reduced[i] == ' ' || reduced[i] == '-' ? '_' : reduced[i];
    size_t f = find_field(form, guess);
    return f < form->n_fields ? form->fields[f].key : NULL;
}

cf_status cf_csv_header_map(const cf_form *form, const char *const *header, size_t n_columns,
                            const char *source, long row, cf_csv_map **out, cf_diag *diag)
{
    cf_status st = CF_ERR_NOMEM;
    cf_csv_map *map = NULL;
    char **reduced = NULL;       /* per column: its reduced name */
    column_name *names = NULL;   /* the same, to be sorted */
    size_t *field_column = NULL; /* per form field: 1 + the column feeding it, 0 = none */
    cf_buf text;
    cf_buf_init(&text, 4096);
    bool bad = false;
    const char *form_id = form->id ? form->id : "the form";
    *out = NULL;

    map = cf_calloc(1, sizeof *map);
    if (!map)
        goto done;
    map->source = cf_strdup(source ? source : "CSV");
    map->keys = cf_calloc(n_columns ? n_columns : 1, sizeof *map->keys);
    reduced = cf_calloc(n_columns ? n_columns : 1, sizeof *reduced);
    names = cf_calloc(n_columns ? n_columns : 1, sizeof *names);
    field_column = cf_calloc(form->n_fields ? form->n_fields : 1, sizeof *field_column);
    if (!map->source || !map->keys || !reduced || !names || !field_column)
        goto done;
    map->n_columns = n_columns;
    for (size_t i = 0; i < n_columns; i++) {
        reduced[i] = reduce_name(header[i]);
        if (!reduced[i])
            goto done;
        names[i].name = reduced[i];
        names[i].column = i;
    }

    /* A name given twice is an error, whether or not it names a field: which column would
     * hold the value is anybody's guess. Sorting keeps this fast for any number of columns. */
    qsort(names, n_columns, sizeof *names, compare_names);
    for (size_t i = 1, run = 0; i < n_columns; i++) {
        if (strcmp(names[i].name, names[run].name) != 0)
            run = i;
        if (run == i || names[i].name[0] == '\0')
            continue;
        size_t first = names[run].column, again = names[i].column;
        cf_buf_reset(&text);
        describe_column(&text, header[first], first);
        cf_buf_printf(&text, " and column %zu have the same name; remove or rename one of them",
                      again + 1);
        if (!text.error)
            cf_diag_error(diag, map->source, row, "%s", text.data);
        bad = true;
    }

    for (size_t column = 0; column < n_columns; column++) {
        size_t f = find_field(form, reduced[column]);
        if (f < form->n_fields) {
            if (field_column[f] == 0) {
                field_column[f] = column + 1;
                map->keys[column] = cf_strdup(form->fields[f].key);
                if (!map->keys[column])
                    goto done;
            }
            continue;
        }
        cf_buf_reset(&text);
        if (reduced[column][0] == '\0') {
            cf_buf_printf(&text, "column %zu has no name; its values are ignored", column + 1);
        } else {
            describe_column(&text, header[column], column);
            cf_buf_printf(&text, " is not a field of %s; its values are ignored", form_id);
            const char *near = near_key(form, reduced[column]);
            if (near)
                cf_buf_printf(&text, " (did you mean %s?)", near);
        }
        if (!text.error)
            cf_diag_warning(diag, map->source, row, "%s", text.data);
    }

    for (size_t f = 0; f < form->n_fields; f++) {
        if (!form->fields[f].required || field_column[f] != 0)
            continue;
        cf_buf_reset(&text);
        cf_buf_printf(&text, "%s needs a column %s", form_id, form->fields[f].key);
        if (form->fields[f].caption)
            cf_buf_printf(&text, " (%s)", form->fields[f].caption);
        cf_buf_append_str(&text, ", which the file does not have; its columns are: ");
        for (size_t i = 0; i < n_columns; i++) {
            if (text.len > COLUMN_LIST_MAX) {
                cf_buf_append_str(&text, ", …");
                break;
            }
            if (i > 0)
                cf_buf_append_str(&text, ", ");
            if (printable_name(header[i]))
                cf_buf_append_str(&text, header[i]);
            else
                cf_buf_printf(&text, "(column %zu)", i + 1);
        }
        if (!text.error)
            cf_diag_error(diag, map->source, row, "%s", text.data);
        bad = true;
    }

    if (text.error == CF_ERR_NOMEM)
        goto done;
    st = bad ? CF_ERR_DATA : CF_OK;

done:
    if (st == CF_ERR_NOMEM)
        cf_diag_error(diag, source, row, "out of memory reading the header");
    for (size_t i = 0; reduced && i < n_columns; i++)
        cf_free(reduced[i]);
    cf_free(reduced);
    cf_free(names);
    cf_free(field_column);
    cf_buf_cleanup(&text);
    if (st == CF_OK)
        *out = map;
    else
        cf_csv_map_free(map);
    return st;
}

cf_status cf_csv_row_record(const cf_csv_map *map, const char *const *fields, size_t n_fields,
                            long row, cf_record **out, cf_diag *diag)
{
    cf_status st = CF_OK;
    cf_record *record = NULL;
    *out = NULL;
    if (n_fields != map->n_columns) {
        cf_diag_error(diag, map->source, row,
                      "the row has %zu field%s but the header has %zu column%s (a missing or "
                      "extra comma, or a value with a comma that is not in quotes?)",
                      n_fields, n_fields == 1 ? "" : "s", map->n_columns,
                      map->n_columns == 1 ? "" : "s");
        st = CF_ERR_DATA;
        goto done;
    }
    record = cf_record_new(map->source, row);
    if (!record) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n_fields; i++) {
        if (!map->keys[i])
            continue;
        if ((st = cf_record_set(record, map->keys[i], fields[i])) != CF_OK)
            goto done;
    }

done:
    if (st == CF_ERR_NOMEM)
        cf_diag_error(diag, map->source, row, "out of memory reading the row");
    else if (st != CF_OK && st != CF_ERR_DATA)
        cf_diag_error(diag, map->source, row, "cannot keep the row: %s", cf_status_message(st));
    if (st == CF_OK)
        *out = record;
    else
        cf_record_free(record);
    return st;
}
