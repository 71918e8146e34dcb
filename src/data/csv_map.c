/* Matching a CSV header to a form's fields (by key, caption, declared alias or an explicit
 * mapping), and building one record per data row, extra columns included. */
#include "data/csv.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "data/ward.h"
#include "text/fold.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME_IN_MESSAGE_MAX 40    /* longer column names are not quoted in messages */
#define COLUMN_LIST_MAX 300       /* bytes of the "its columns are ..." list in a message */
#define FOLDED_MAX 4096           /* bytes of a folded name */
#define DISTANCE_MAX_CHARS 64     /* names longer than this are not compared for "closest" */
#define WARD_CLAIM (SIZE_MAX - 2) /* claimed[c]: the column is the ward (kept as an extra too) */

/* The names of a ward column (folded before use), and the target of a --map COLUMN=ward. */
static const char *const ward_names[] = {"ward", "病房", "病房 Ward", "Ward 病房", "病區", "病区"};
#define WARD_KEY "ward"

/* ---- explicit mappings (--map, --map-file, $CONSENTFORM_MAP) ---- */

typedef struct mapping {
    char *column; /* as given */
    char *field;  /* as given */
    char *folded; /* column folded */
    char *origin; /* "--map" or "FILE:ROW", for messages */
    bool strict;  /* from --map: the column must exist and the field must be the form's */
} mapping;

struct cf_csv_mappings {
    mapping *items;
    size_t size, cap;
};

cf_csv_mappings *cf_csv_mappings_new(void)
{
    return cf_calloc(1, sizeof(cf_csv_mappings));
}

void cf_csv_mappings_free(cf_csv_mappings *mappings)
{
    if (!mappings)
        return;
    for (size_t i = 0; i < mappings->size; i++) {
        cf_free(mappings->items[i].column);
        cf_free(mappings->items[i].field);
        cf_free(mappings->items[i].folded);
        cf_free(mappings->items[i].origin);
    }
    cf_free(mappings->items);
    cf_free(mappings);
}

size_t cf_csv_mappings_size(const cf_csv_mappings *mappings)
{
    return mappings ? mappings->size : 0;
}

/* New string: s folded (cf_text_fold_name), or NULL (out of memory or not foldable). */
static char *fold(const char *s, cf_status *st)
{
    cf_buf out;
    cf_buf_init(&out, FOLDED_MAX);
    *st = cf_text_fold_name(s, strlen(s), &out);
    char *folded = NULL;
    if (*st == CF_OK) {
        folded = out.data ? cf_buf_take(&out, NULL) : cf_strdup("");
        if (!folded)
            *st = CF_ERR_NOMEM;
    }
    cf_buf_cleanup(&out);
    return folded;
}

/* New string: s[0, len) without surrounding white space. */
static char *trimmed(const char *s, size_t len)
{
    size_t start = cf_utf8_space_prefix(s, len);
    size_t end = len - cf_utf8_space_suffix(s + start, len - start);
    return cf_strndup(s + start, end - start);
}

/* Adds one mapping; the strings are copied (column and field trimmed). */
static cf_status add_mapping(cf_csv_mappings *m, const char *column, size_t column_len,
                             const char *field, const char *origin, bool strict)
{
    if (m->size == m->cap) {
        mapping *grown = cf_grow_array(m->items, &m->cap, m->size + 1, sizeof *grown, 8);
        if (!grown)
            return CF_ERR_NOMEM;
        m->items = grown;
    }
    mapping *it = &m->items[m->size];
    *it = (mapping){.strict = strict};
    cf_status st = CF_ERR_NOMEM;
    it->column = trimmed(column, column_len);
    it->field = trimmed(field, strlen(field));
    it->origin = cf_strdup(origin);
    if (it->column && it->field && it->origin)
        it->folded = fold(it->column, &st);
    if (!it->folded) {
        cf_free(it->column);
        cf_free(it->field);
        cf_free(it->origin);
        return st == CF_OK ? CF_ERR_NOMEM : st;
    }
    m->size++;
    return CF_OK;
}

cf_status cf_csv_mappings_add(cf_csv_mappings *mappings, const char *arg, cf_diag *diag)
{
    const char *eq = strrchr(arg, '=');
    cf_status st = CF_ERR_USAGE;
    if (!eq) {
        cf_diag_error(diag, NULL, 0,
                      "--map \"%s\" is written COLUMN=FIELD, e.g. --map \"HN=hospital_no\"", arg);
        return st;
    }
    st = add_mapping(mappings, arg, (size_t)(eq - arg), eq + 1, "--map", /*strict*/ true);
    if (st == CF_OK) {
        const mapping *it = &mappings->items[mappings->size - 1];
        if (it->folded[0] != '\0' && it->field[0] != '\0')
            return CF_OK;
        mappings->size--;
        cf_free(it->column);
        cf_free(it->field);
        cf_free(it->folded);
        cf_free(it->origin);
        st = CF_ERR_USAGE;
    }
    if (st == CF_ERR_NOMEM)
        cf_diag_error(diag, NULL, 0, "out of memory reading --map");
    else
        cf_diag_error(diag, NULL, 0,
                      "--map \"%s\" needs a column name and a field key, e.g. --map "
                      "\"HN=hospital_no\"",
                      arg);
    return st;
}

cf_status cf_csv_mappings_load(cf_csv_mappings *mappings, const char *path, cf_diag *diag)
{
    cf_csv_reader *reader = NULL;
    cf_buf origin;
    cf_buf_init(&origin, 4096);
    cf_status st = cf_csv_reader_open(path, CF_CSV_ENCODING_AUTO, NULL, &reader, diag);
    size_t first = mappings->size;
    bool header_done = false;
    while (st == CF_OK) {
        const char *const *fields;
        size_t n;
        if ((st = cf_csv_next_row(reader, &fields, &n)) != CF_OK || !fields)
            break;
        long row = cf_csv_row_number(reader);
        /* The file may start with a header "column,field"; a row whose first cell starts with
         * '#' is a comment. */
        bool header = !header_done && n == 2 && cf_text_same_name(fields[0], "column") &&
                      cf_text_same_name(fields[1], "field");
        header_done = true;
        if (header || fields[0][cf_utf8_space_prefix(fields[0], strlen(fields[0]))] == '#')
            continue;
        if (n != 2) {
            cf_diag_error(diag, path, row,
                          "a map file row holds two cells, the column name and the field key "
                          "(e.g. HN,hospital_no); this row has %zu",
                          n);
            st = CF_ERR_DATA;
            break;
        }
        cf_buf_reset(&origin);
        cf_buf_printf(&origin, "%s:%ld", path, row);
        if (origin.error) {
            st = origin.error;
            break;
        }
        st = add_mapping(mappings, fields[0], strlen(fields[0]), fields[1], origin.data,
                         /*strict*/ false);
        if (st == CF_ERR_DATA ||
            (st == CF_OK && (mappings->items[mappings->size - 1].folded[0] == '\0' ||
                             mappings->items[mappings->size - 1].field[0] == '\0'))) {
            cf_diag_error(diag, path, row,
                          "a map file row holds a column name and a field key, neither empty");
            st = CF_ERR_DATA;
            break;
        }
        if (st != CF_OK)
            break;
        /* The same column twice in one file: which field did the site mean? */
        const mapping *it = &mappings->items[mappings->size - 1];
        for (size_t i = first; i + 1 < mappings->size; i++) {
            if (strcmp(mappings->items[i].folded, it->folded) == 0) {
                cf_diag_error(diag, path, row, "column \"%s\" is mapped again (first at %s)",
                              it->column, mappings->items[i].origin);
                st = CF_ERR_DATA;
                break;
            }
        }
    }
    if (st == CF_ERR_NOMEM)
        cf_diag_error(diag, path, 0, "out of memory reading the map file");
    cf_csv_reader_close(reader);
    cf_buf_cleanup(&origin);
    return st;
}

/* ---- the column map ---- */

struct cf_csv_map {
    char *source;
    size_t n_columns;
    char **keys;    /* per column: the field key it feeds (owned), or NULL */
    char **names;   /* per column: its header name, trimmed (owned) */
    bool *extra;    /* per column: kept as an extra (a named column that feeds no field) */
    size_t *extras; /* the columns kept as extras, in header order */
    size_t n_extras;
    /* A header line among the data rows (two exports joined, a list pasted twice): */
    char **folded;      /* per column: its header name folded (owned) */
    bool *identity;     /* per column: it feeds a label field (the patient's identity) */
    char **field_names; /* every name (key, caption, alias) of every label field, folded */
    size_t n_field_names;
    size_t ward; /* the column holding the ward (data/ward.h), or SIZE_MAX */
};

void cf_csv_map_free(cf_csv_map *map)
{
    if (!map)
        return;
    for (size_t i = 0; i < map->n_columns; i++) {
        if (map->keys)
            cf_free(map->keys[i]);
        if (map->names)
            cf_free(map->names[i]);
    }
    for (size_t i = 0; map->folded && i < map->n_columns; i++)
        cf_free(map->folded[i]);
    for (size_t k = 0; k < map->n_field_names; k++)
        cf_free(map->field_names[k]);
    cf_free(map->keys);
    cf_free(map->names);
    cf_free(map->extra);
    cf_free(map->extras);
    cf_free(map->folded);
    cf_free(map->identity);
    cf_free(map->field_names);
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

const char *cf_csv_map_get_name(const cf_csv_map *map, size_t i)
{
    return map && i < map->n_columns ? map->names[i] : NULL;
}

size_t cf_csv_map_n_extras(const cf_csv_map *map)
{
    return map ? map->n_extras : 0;
}

const char *cf_csv_map_get_extra(const cf_csv_map *map, size_t j)
{
    return map && j < map->n_extras ? map->names[map->extras[j]] : NULL;
}

size_t cf_csv_map_ward_column(const cf_csv_map *map)
{
    return map ? map->ward : SIZE_MAX;
}

/* True when folded (a folded column name) is one of the names of a ward column. */
static bool is_ward_name(const char *folded)
{
    bool found = false;
    for (size_t i = 0; !found && i < sizeof ward_names / sizeof ward_names[0]; i++) {
        cf_status st;
        char *name = fold(ward_names[i], &st);
        found = name != NULL && strcmp(name, folded) == 0;
        cf_free(name);
    }
    return found;
}

/* True when a mapping's FIELD names the ward ("ward", any case). */
static bool is_ward_name_key(const char *field)
{
    cf_status st;
    char *folded = fold(field, &st);
    bool ward = folded != NULL && strcmp(folded, WARD_KEY) == 0;
    cf_free(folded);
    return ward;
}

size_t cf_csv_map_extra_column(const cf_csv_map *map, size_t j)
{
    return map && j < map->n_extras ? map->extras[j] : (size_t)-1;
}

/* True when name can be quoted in a message as it is: short, valid UTF-8, no control bytes. */
static bool printable_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > NAME_IN_MESSAGE_MAX || cf_utf8_check(name, len) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7F || name[i] == '"')
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

/* Appends how to settle a column's field: --map "NAME=key" (or a placeholder for a name that
 * cannot be quoted). */
static void append_map_hint(cf_buf *out, const char *name, const char *key)
{
    cf_buf_printf(out, "--map \"%s=%s\"", printable_name(name) ? name : "COLUMN", key);
}

/* Appends the list of the header's column names. */
static void append_columns(cf_buf *out, const char *const *header, size_t n_columns)
{
    for (size_t i = 0; i < n_columns; i++) {
        if (out->len > COLUMN_LIST_MAX) {
            cf_buf_append_str(out, ", …");
            break;
        }
        if (i > 0)
            cf_buf_append_str(out, ", ");
        if (printable_name(header[i]))
            cf_buf_append_str(out, header[i]);
        else
            cf_buf_printf(out, "(column %zu)", i + 1);
    }
}

/* One name of a field (its key, caption or an alias), folded. */
typedef struct field_name {
    size_t field;
    const char *how; /* "key", "caption" or "alias" */
    char *folded;    /* owned */
} field_name;

/* Folds every name of every field of form into *out (*n_out of them); caller frees each folded
 * name and the array. Names that fold to nothing are left out. */
static cf_status fold_field_names(const cf_form *form, field_name **out, size_t *n_out)
{
    size_t total = 0;
    for (size_t f = 0; f < form->n_fields; f++)
        total += 2 + form->fields[f].n_aliases;
    field_name *names = cf_calloc(total ? total : 1, sizeof *names);
    *out = names;
    *n_out = 0;
    if (!names)
        return CF_ERR_NOMEM;
    for (size_t f = 0; f < form->n_fields; f++) {
        const cf_field *field = &form->fields[f];
        for (size_t k = 0; k < 2 + field->n_aliases; k++) {
            const char *name = k == 0   ? field->key
                               : k == 1 ? field->caption
                                        : field->aliases[k - 2];
            if (!name)
                continue;
            cf_status st;
            char *folded = fold(name, &st);
            if (st == CF_ERR_NOMEM)
                return st;
            if (!folded || folded[0] == '\0') {
                cf_free(folded);
                continue;
            }
            names[*n_out] = (field_name){.field = f,
                                         .how = k == 0   ? "key"
                                                : k == 1 ? "caption"
                                                         : "alias",
                                         .folded = folded};
            (*n_out)++;
        }
    }
    return CF_OK;
}

/* Index of the field whose key folds to folded (a --map FIELD), or n_fields. */
static size_t field_by_key(const cf_form *form, const char *wanted, cf_buf *scratch)
{
    cf_status st;
    char *folded = fold(wanted, &st);
    size_t found = form->n_fields;
    for (size_t f = 0; folded && folded[0] && f < form->n_fields; f++) {
        cf_buf_reset(scratch);
        const char *key = form->fields[f].key;
        if (key && cf_text_fold_name(key, strlen(key), scratch) == CF_OK && scratch->data &&
            strcmp(scratch->data, folded) == 0) {
            found = f;
            break;
        }
    }
    cf_free(folded);
    return found;
}

/* Edit distance between a and b in code points (both at most DISTANCE_MAX_CHARS characters;
 * longer gives SIZE_MAX). */
static size_t distance(const char *a, const char *b)
{
    uint32_t ca[DISTANCE_MAX_CHARS], cb[DISTANCE_MAX_CHARS];
    size_t na = 0, nb = 0;
    for (size_t i = 0, len = strlen(a); i < len; na++) {
        if (na == DISTANCE_MAX_CHARS)
            return SIZE_MAX;
        size_t k = cf_utf8_decode(a + i, len - i, &ca[na]);
        i += k ? k : 1;
    }
    for (size_t i = 0, len = strlen(b); i < len; nb++) {
        if (nb == DISTANCE_MAX_CHARS)
            return SIZE_MAX;
        size_t k = cf_utf8_decode(b + i, len - i, &cb[nb]);
        i += k ? k : 1;
    }
    size_t row[DISTANCE_MAX_CHARS + 1];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (ca[i - 1] != cb[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* The column (among the unclaimed ones) whose folded name is closest to one of field f's
 * names, or n_columns when none is close (at most half the name edited, at least one edit). */
static size_t closest_column(size_t f, const field_name *names, size_t n_names, char *const *folded,
                             const size_t *claimed, size_t n_columns)
{
    size_t best = n_columns, best_d = SIZE_MAX;
    for (size_t k = 0; k < n_names; k++) {
        if (names[k].field != f)
            continue;
        size_t len = 0; /* in characters */
        for (const char *p = names[k].folded; *p; p++)
            len += ((unsigned char)*p & 0xC0) != 0x80;
        size_t limit = len / 2 > 1 ? len / 2 : 1;
        for (size_t c = 0; c < n_columns; c++) {
            if (claimed[c] != SIZE_MAX || folded[c][0] == '\0')
                continue;
            size_t d = distance(folded[c], names[k].folded);
            if (d <= limit && d < best_d) {
                best = c;
                best_d = d;
            }
        }
    }
    return best;
}

/* A column's folded name and its place, for finding names given twice. */
typedef struct column_name {
    const char *folded;
    size_t column; /* 0-based */
} column_name;

static int compare_names(const void *a, const void *b)
{
    const column_name *x = a, *y = b;
    int c = strcmp(x->folded, y->folded);
    if (c != 0)
        return c;
    return x->column < y->column ? -1 : x->column > y->column;
}
/* Reports one problem of the header: text's message, or a generic one when text ran out. */
static void report(cf_diag *diag, const char *source, long row, const cf_buf *text)
{
    cf_diag_error(diag, source, row, "%s",
                  text->error ? "the header cannot be matched to the form's fields" : text->data);
}

cf_status cf_csv_map_build(const cf_form *form, const cf_csv_mappings *mappings,
                           const char *const *header, size_t n_columns, const char *source,
                           long row, cf_csv_map **out, cf_diag *diag)
{
    cf_status st = CF_ERR_NOMEM;
    cf_csv_map *map = NULL;
    char **folded = NULL;        /* per column: its folded name */
    size_t *claimed = NULL;      /* per column: the field it feeds, or SIZE_MAX */
    size_t *field_column = NULL; /* per field: the column feeding it, or SIZE_MAX */
    bool *explicit_field = NULL; /* per field: claimed by a mapping */
    bool *by_map = NULL;         /* per field: claimed by a --map mapping */
    column_name *sorted = NULL;  /* the columns by folded name */
    field_name *names = NULL;    /* every name of every field, folded */
    size_t n_names = 0;
    size_t ward_column = SIZE_MAX; /* the column holding the ward */
    cf_buf text, scratch;
    cf_buf_init(&text, 4096);
    cf_buf_init(&scratch, FOLDED_MAX);
    bool bad = false;
    const char *form_id = form->id ? form->id : "the form";
    size_t n_fields = form->n_fields;
    size_t n_mappings = cf_csv_mappings_size(mappings);
    if (!source)
        source = "CSV";
    *out = NULL;

    map = cf_calloc(1, sizeof *map);
    if (!map)
        goto done;
    size_t nc = n_columns ? n_columns : 1;
    map->source = cf_strdup(source);
    map->keys = cf_calloc(nc, sizeof *map->keys);
    map->names = cf_calloc(nc, sizeof *map->names);
    map->extra = cf_calloc(nc, sizeof *map->extra);
    map->extras = cf_calloc(nc, sizeof *map->extras);
    folded = cf_calloc(nc, sizeof *folded);
    claimed = cf_calloc(nc, sizeof *claimed);
    field_column = cf_calloc(n_fields ? n_fields : 1, sizeof *field_column);
    explicit_field = cf_calloc(n_fields ? n_fields : 1, sizeof *explicit_field);
    by_map = cf_calloc(n_fields ? n_fields : 1, sizeof *by_map);
    sorted = cf_calloc(nc, sizeof *sorted);
    if (!map->source || !map->keys || !map->names || !map->extra || !map->extras || !folded ||
        !claimed || !field_column || !explicit_field || !by_map || !sorted)
        goto done;
    if (fold_field_names(form, &names, &n_names) != CF_OK)
        goto done;
    map->n_columns = n_columns;
    for (size_t f = 0; f < n_fields; f++)
        field_column[f] = SIZE_MAX;
    for (size_t i = 0; i < n_columns; i++) {
        claimed[i] = SIZE_MAX;
        map->names[i] = trimmed(header[i], strlen(header[i]));
        if (!map->names[i]) {
            st = CF_ERR_NOMEM;
            goto done;
        }
        folded[i] = fold(map->names[i], &st);
        if (st == CF_ERR_DATA || st == CF_ERR_LIMIT) {
            /* Not UTF-8 (cannot happen for the reader's rows) or absurdly long: a name that
             * matches nothing. */
            folded[i] = cf_strdup("");
            st = folded[i] ? CF_OK : CF_ERR_NOMEM;
        }
        if (!folded[i] || st != CF_OK)
            goto done;
    }
    st = CF_ERR_NOMEM;

    /* A name given twice is an error, whether or not it names a field: which column would
     * hold the value is anybody's guess. Sorting keeps this fast for any number of columns. */
    for (size_t i = 0; i < n_columns; i++)
        sorted[i] = (column_name){.folded = folded[i], .column = i};
    qsort(sorted, n_columns, sizeof *sorted, compare_names);
    for (size_t i = 1, run = 0; i < n_columns; i++) {
        if (strcmp(sorted[i].folded, sorted[run].folded) != 0)
            run = i;
        if (run == i || sorted[i].folded[0] == '\0')
            continue;
        size_t first = sorted[run].column, again = sorted[i].column;
        cf_buf_reset(&text);
        describe_column(&text, header[first], first);
        cf_buf_append_str(&text, " and ");
        describe_column(&text, header[again], again);
        cf_buf_append_str(&text, " have the same name; remove or rename one of them");
        report(diag, source, row, &text);
        bad = true;
        claimed[first] = claimed[again] = SIZE_MAX - 1; /* reported: they claim nothing */
    }

    /* Explicit mappings first: a --map entry wins over a map-file entry for the same column. */
    for (int strict = 1; strict >= 0; strict--) {
        for (size_t k = 0; k < n_mappings; k++) {
            const mapping *m = &mappings->items[k];
            if (m->strict != (strict == 1))
                continue;
            size_t c = 0;
            while (c < n_columns && strcmp(folded[c], m->folded) != 0)
                c++;
            if (c == n_columns) {
                if (m->strict) {
                    cf_buf_reset(&text);
                    cf_buf_printf(&text,
                                  "--map \"%s=%s\": the file has no column %s; its columns "
                                  "are: ",
                                  m->column, m->field, m->column);
                    append_columns(&text, header, n_columns);
                    report(diag, source, row, &text);
                    bad = true;
                }
                continue;
            }
            size_t f = field_by_key(form, m->field, &scratch);
            if (f == n_fields && is_ward_name_key(m->field)) {
                /* The ward is no field of the form: the column is the ward's. */
                if (claimed[c] != SIZE_MAX && claimed[c] != WARD_CLAIM && m->strict) {
                    cf_buf_reset(&text);
                    cf_buf_printf(&text, "--map \"%s=%s\": ", m->column, m->field);
                    describe_column(&text, header[c], c);
                    cf_buf_append_str(&text, " is already mapped to a field; map it once");
                    report(diag, source, row, &text);
                    bad = true;
                } else if (claimed[c] == SIZE_MAX && ward_column != SIZE_MAX && m->strict) {
                    cf_buf_reset(&text);
                    describe_column(&text, header[ward_column], ward_column);
                    cf_buf_append_str(&text, " and ");
                    describe_column(&text, header[c], c);
                    cf_buf_append_str(&text, " are both mapped to ward; map only one of them");
                    report(diag, source, row, &text);
                    bad = true;
                } else if (claimed[c] == SIZE_MAX && ward_column == SIZE_MAX) {
                    claimed[c] = WARD_CLAIM;
                    ward_column = c;
                }
                continue;
            }
            if (claimed[c] != SIZE_MAX) {
                /* Settled already: by an earlier --map (an error when it said another field),
                 * or, for a map-file row, by --map. */
                if (m->strict && claimed[c] < n_fields && claimed[c] != f) {
                    cf_buf_reset(&text);
                    cf_buf_printf(&text, "--map \"%s=%s\": ", m->column, m->field);
                    describe_column(&text, header[c], c);
                    cf_buf_printf(&text, " is already mapped to %s; map it once",
                                  form->fields[claimed[c]].key);
                    report(diag, source, row, &text);
                    bad = true;
                }
                continue;
            }
            if (!m->strict && f < n_fields && by_map[f])
                continue; /* --map gave this field another column: it wins over the file */
            if (f == n_fields) {
                if (!m->strict)
                    continue; /* a site's map file serves many forms */
                cf_buf_reset(&text);
                cf_buf_printf(&text,
                              "--map \"%s=%s\": %s has no field %s; its fields are: ", m->column,
                              m->field, form_id, m->field);
                for (size_t g = 0; g < n_fields; g++)
                    cf_buf_printf(&text, "%s%s", g ? ", " : "", form->fields[g].key);
                report(diag, source, row, &text);
                bad = true;
                continue;
            }
            if (field_column[f] != SIZE_MAX) {
                cf_buf_reset(&text);
                describe_column(&text, header[field_column[f]], field_column[f]);
                cf_buf_append_str(&text, " and ");
                describe_column(&text, header[c], c);
                cf_buf_printf(&text, " are both mapped to %s (%s %s); map only one of them",
                              form->fields[f].key, m->origin, m->column);
                report(diag, source, row, &text);
                bad = true;
                continue;
            }
            claimed[c] = f;
            field_column[f] = c;
            explicit_field[f] = true;
            by_map[f] = m->strict;
        }
    }

    /* Then every other column by the names the form gives its fields. A column that two fields
     * could claim is an error naming both. */
    size_t *candidate = claimed; /* same array: SIZE_MAX or the field a column matched */
    for (size_t c = 0; c < n_columns; c++) {
        if (claimed[c] != SIZE_MAX || folded[c][0] == '\0')
            continue;
        size_t found = SIZE_MAX;
        const char *found_how = NULL;
        for (size_t k = 0; k < n_names; k++) {
            size_t f = names[k].field;
            if (explicit_field[f] || f == found || strcmp(names[k].folded, folded[c]) != 0)
                continue;
            if (found == SIZE_MAX) {
                found = f;
                found_how = names[k].how;
                continue;
            }
            cf_buf_reset(&text);
            describe_column(&text, header[c], c);
            cf_buf_printf(&text, " could be %s (by its %s) or %s (by its %s); say which with ",
                          form->fields[found].key, found_how, form->fields[f].key, names[k].how);
            append_map_hint(&text, map->names[c], form->fields[found].key);
            report(diag, source, row, &text);
            bad = true;
            found = SIZE_MAX - 1; /* reported: claims nothing, and is no extra either */
            break;
        }
        if (found != SIZE_MAX)
            candidate[c] = found;
    }

    /* Two columns that claim one field: neither is used, the user says which. This is how a
     * list with both "Patient Name" and "中文姓名" is caught. */
    for (size_t f = 0; f < n_fields; f++) {
        if (explicit_field[f])
            continue;
        size_t first = SIZE_MAX;
        bool reported = false;
        for (size_t c = 0; c < n_columns; c++) {
            if (candidate[c] != f)
                continue;
            if (first == SIZE_MAX) {
                first = c;
                continue;
            }
            if (!reported) {
                cf_buf_reset(&text);
                describe_column(&text, header[first], first);
                cf_buf_append_str(&text, " and ");
                describe_column(&text, header[c], c);
                cf_buf_printf(&text, " could both be %s", form->fields[f].key);
                if (form->fields[f].caption)
                    cf_buf_printf(&text, " (%s)", form->fields[f].caption);
                cf_buf_append_str(&text, "; say which one holds it with ");
                append_map_hint(&text, map->names[first], form->fields[f].key);
                report(diag, source, row, &text);
                bad = true;
                reported = true;
            }
        }
        if (first != SIZE_MAX && !reported)
            field_column[f] = first;
        else if (reported)
            for (size_t c = 0; c < n_columns; c++)
                if (candidate[c] == f)
                    candidate[c] = SIZE_MAX - 1; /* claims nothing, kept out of the extras */
    }

    /* The ward, unless a mapping named its column: the one column left whose name is a
     * ward's (ward, 病房, 病區 ...); two such columns are an error, as for a field. */
    for (size_t c = 0; ward_column == SIZE_MAX && c < n_columns; c++) {
        if (claimed[c] != SIZE_MAX || folded[c][0] == '\0' || !is_ward_name(folded[c]))
            continue;
        size_t other = c + 1;
        while (other < n_columns && (claimed[other] != SIZE_MAX || !is_ward_name(folded[other])))
            other++;
        if (other < n_columns) {
            cf_buf_reset(&text);
            describe_column(&text, header[c], c);
            cf_buf_append_str(&text, " and ");
            describe_column(&text, header[other], other);
            cf_buf_append_str(&text, " could both be the ward; say which one holds it with ");
            append_map_hint(&text, map->names[c], WARD_KEY);
            report(diag, source, row, &text);
            bad = true;
            break;
        }
        claimed[c] = WARD_CLAIM;
        ward_column = c;
    }
    map->ward = ward_column;

    /* What each column becomes: a field, an extra (the ward's too), or (no name) ignored. */
    for (size_t c = 0; c < n_columns; c++) {
        if (claimed[c] == WARD_CLAIM) {
            map->extra[c] = true;
            map->extras[map->n_extras++] = c;
        } else if (claimed[c] < n_fields) {
            map->keys[c] = cf_strdup(form->fields[claimed[c]].key);
            if (!map->keys[c])
                goto done;
        } else if (claimed[c] == SIZE_MAX && folded[c][0] != '\0') {
            map->extra[c] = true;
            map->extras[map->n_extras++] = c;
        } else if (claimed[c] == SIZE_MAX) {
            cf_diag_warning(diag, source, row, "column %zu has no name; its values are ignored",
                            c + 1);
        }
    }

    for (size_t f = 0; f < n_fields; f++) {
        if (!form->fields[f].required || field_column[f] != SIZE_MAX)
            continue;
        /* A field that two columns could both be has been reported already. */
        bool contested = false;
        for (size_t k = 0; k < n_names && !contested; k++)
            for (size_t c = 0; c < n_columns && names[k].field == f && !contested; c++)
                contested = claimed[c] == SIZE_MAX - 1 && strcmp(names[k].folded, folded[c]) == 0;
        if (contested)
            continue;
        const char *key = form->fields[f].key;
        cf_buf_reset(&text);
        cf_buf_printf(&text, "%s needs a column %s", form_id, key);
        if (form->fields[f].caption)
            cf_buf_printf(&text, " (%s)", form->fields[f].caption);
        cf_buf_append_str(&text, ", which the file does not have; its columns are: ");
        append_columns(&text, header, n_columns);
        size_t near = closest_column(f, names, n_names, folded, claimed, n_columns);
        if (near < n_columns) {
            cf_buf_append_str(&text, "; the closest is ");
            describe_column(&text, header[near], near);
            cf_buf_append_str(&text, ": if it holds ");
            cf_buf_append_str(&text, key);
            cf_buf_append_str(&text, ", add ");
            append_map_hint(&text, map->names[near], key);
        } else {
            cf_buf_append_str(&text, "; name the column that holds it with ");
            append_map_hint(&text, "COLUMN", key);
        }
        report(diag, source, row, &text);
        bad = true;
    }

    /* What a header line among the rows would say: every column's folded name (the map keeps
     * them), and each label field's names, which an identity cell never holds. */
    map->folded = cf_calloc(nc, sizeof *map->folded);
    map->identity = cf_calloc(nc, sizeof *map->identity);
    map->field_names = cf_calloc(n_names ? n_names : 1, sizeof *map->field_names);
    if (!map->folded || !map->identity || !map->field_names)
        goto done;
    for (size_t c = 0; c < n_columns; c++) {
        map->folded[c] = folded[c];
        folded[c] = NULL;
        map->identity[c] = claimed[c] < n_fields && form->fields[claimed[c]].label;
    }
    for (size_t k = 0; k < n_names; k++) {
        if (!form->fields[names[k].field].label)
            continue;
        map->field_names[map->n_field_names++] = names[k].folded;
        names[k].folded = NULL;
    }

    if (text.error == CF_ERR_NOMEM)
        goto done;
    st = bad ? CF_ERR_DATA : CF_OK;

done:
    if (st == CF_ERR_NOMEM)
        cf_diag_error(diag, source, row, "out of memory reading the header");
    else if (st != CF_OK && st != CF_ERR_DATA)
        cf_diag_error(diag, source, row, "cannot match the header to the form's fields: %s",
                      cf_status_message(st));
    for (size_t i = 0; folded && i < n_columns; i++)
        cf_free(folded[i]);
    cf_free(folded);
    cf_free(claimed);
    cf_free(field_column);
    cf_free(explicit_field);
    cf_free(by_map);
    cf_free(sorted);
    for (size_t k = 0; names && k < n_names; k++)
        cf_free(names[k].folded);
    cf_free(names);
    cf_buf_cleanup(&text);
    cf_buf_cleanup(&scratch);
    if (st == CF_OK)
        *out = map;
    else
        cf_csv_map_free(map);
    return st;
}

cf_status cf_csv_header_map(const cf_form *form, const char *const *header, size_t n_columns,
                            const char *source, long row, cf_csv_map **out, cf_diag *diag)
{
    return cf_csv_map_build(form, NULL, header, n_columns, source, row, out, diag);
}

/* cf_text_fold_name of a cell made only of ASCII and CJK unified ideographs (the patients'
 * names and numbers of nearly every row), without ICU: NFKC_Casefold leaves these ideographs
 * as they are, composes nothing with them, and only lower-cases ASCII; the separators it drops
 * in ASCII are space, TAB, CR, LF, VT, FF, '_', '-' and '.'. False for any other character, or a
 * cell too long for out: then ICU folds it. */
static bool fold_plain(const char *cell, char *out, size_t size)
{
    size_t n = 0, len = strlen(cell);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = cf_utf8_decode(cell + i, len - i, &cp);
        if (k == 0)
            return false;
        bool ideograph = (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
                         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2EBEF) ||
                         (cp >= 0x30000 && cp <= 0x3134F);
        if (cp >= 0x80 && !ideograph)
            return false;
        if (n + k + 1 > size)
            return false;
        if (cp >= 0x80) {
            memcpy(out + n, cell + i, k);
            n += k;
        } else if (!strchr(" \t\r\n\v\f_-.", (int)cp) && cp != 0) {
            out[n++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
        }
        i += k;
    }
    out[n] = '\0';
    return true;
}

/* The folded cell: in plain (fold_plain) or else in out (ICU); NULL when it does not fold (not
 * UTF-8, too long). */
static const char *fold_cell(const char *cell, char plain[FOLDED_MAX], cf_buf *out)
{
    if (fold_plain(cell, plain, FOLDED_MAX))
        return plain;
    cf_buf_reset(out);
    return cf_text_fold_name(cell, strlen(cell), out) == CF_OK && out->data != NULL ? out->data
                                                                                    : NULL;
}

/* True when folded is a column name of the list feeding a label field or a name of a label
 * field of the form. */
static bool is_identity_name(const cf_csv_map *map, const char *folded)
{
    for (size_t c = 0; c < map->n_columns; c++)
        if (map->identity[c] && strcmp(map->folded[c], folded) == 0)
            return true;
    for (size_t k = 0; k < map->n_field_names; k++)
        if (strcmp(map->field_names[k], folded) == 0)
            return true;
    return false;
}

/* A header line among the data rows is no patient: a row whose identity cell holds a column
 * name or a label field's name is refused, saying whether the whole row repeats the header.
 * Only the identity cells are folded for every row; the rest only for a row already caught. */
static cf_status check_not_header(const cf_csv_map *map, const char *const *fields, long row,
                                  cf_diag *diag)
{
    cf_buf folded;
    cf_buf_init(&folded, FOLDED_MAX);
    char plain[FOLDED_MAX];
    size_t hit = SIZE_MAX;
    for (size_t c = 0; c < map->n_columns && hit == SIZE_MAX; c++) {
        if (!map->identity[c] || fields[c][0] == '\0' || strlen(fields[c]) > FOLDED_MAX / 4)
            continue;
        const char *f = fold_cell(fields[c], plain, &folded);
        if (f != NULL && f[0] != '\0' && is_identity_name(map, f))
            hit = c;
    }
    cf_status st = folded.error == CF_ERR_NOMEM ? CF_ERR_NOMEM : CF_OK;
    if (hit != SIZE_MAX) {
        bool whole = true;
        for (size_t c = 0; c < map->n_columns && whole; c++) {
            if (fields[c][0] == '\0')
                continue;
            const char *f = fold_cell(fields[c], plain, &folded);
            whole = f != NULL && strcmp(f, map->folded[c]) == 0;
        }
        if (whole)
            cf_diag_error(diag, map->source, row,
                          "this row repeats the header line (two lists joined, or a list pasted "
                          "twice?); it is not a patient and is not printed");
        else
            cf_diag_error(diag, map->source, row,
                          "the %s cell (column %zu, %s) holds \"%s\", the name of a column, not a "
                          "patient's; a header line among the rows? This row is not printed",
                          map->keys[hit], hit + 1, map->names[hit],
                          printable_name(fields[hit]) ? fields[hit] : "(a column name)");
        st = folded.error == CF_ERR_NOMEM ? CF_ERR_NOMEM : CF_ERR_DATA;
    }
    cf_buf_cleanup(&folded);
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
    st = check_not_header(map, fields, row, diag);
    if (st != CF_OK)
        goto done;
    record = cf_record_new(map->source, row);
    if (!record) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n_fields; i++) {
        if (map->keys[i])
            st = cf_record_set_from_column(record, map->keys[i], map->names[i], fields[i]);
        else if (map->extra[i])
            st = cf_record_set_extra(record, map->names[i], fields[i]);
        if (st != CF_OK)
            goto done;
    }
    if (map->ward < n_fields) {
        char ward[CF_WARD_SIZE];
        const char *why = NULL;
        if (cf_ward_clean(fields[map->ward], ward, &why) != CF_OK) {
            cf_diag_error(diag, map->source, row,
                          "the ward cell (column %zu, %s) %s; a ward has at most %d characters "
                          "and no control characters. This row is not printed",
                          map->ward + 1, map->names[map->ward], why, CF_WARD_MAX);
            st = CF_ERR_DATA;
            goto done;
        }
        st = cf_record_set_ward(record, ward);
        if (st != CF_OK)
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
