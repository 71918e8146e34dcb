#include "data/file_name.h"

#include "base/utf8.h"
#include "text/fold.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* True for code points kept as they are in a file name. */
static bool safe_code_point(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
               cp == '-' || cp == '_' || cp == '.' || cp == '(' || cp == ')' || cp == '+' ||
               cp == '@';
    if (cp < 0xA0 || cp == 0x2028 || cp == 0x2029 || (cp >= 0xFFF0 && cp <= 0xFFFF))
        return false; /* C1 controls, separators, specials */
    if (cf_utf8_is_white_space(cp) || cf_utf8_is_hidden(cp))
        return false; /* spaces, bidi overrides and other invisible formatting characters */
    if (cp >= 0xFF01 && cp <= 0xFF0F)
        return false; /* fullwidth punctuation such as ／ and ． */
    return true;
}

void cf_file_name_append_safe(cf_buf *out, const char *value)
{
    size_t len = strlen(value);
    size_t i = 0;
    bool last_underscore = out->len > 0 && out->data[out->len - 1] == '_';
    while (i < len) {
        uint32_t cp;
        size_t n = cf_utf8_decode(value + i, len - i, &cp);
        bool keep = n > 0 && safe_code_point(cp);
        if (keep && out->len == 0 && (cp == '.' || cp == '-'))
            keep = false;
        /* ".." anywhere is reduced, so a value can never name a parent directory. */
        if (keep && cp == '.' && out->len > 0 && out->data[out->len - 1] == '.')
            keep = false;
        if (keep) {
            cf_buf_append(out, value + i, n);
            last_underscore = cp == '_';
        } else if (!last_underscore) {
            cf_buf_putc(out, '_');
            last_underscore = true;
        }
        i += n ? n : 1;
    }
}

#define PLACEHOLDER_MAX 255 /* bytes of the name inside {} */

/* Finds the placeholder starting at t[i] == '{': a name of any characters but braces, slashes
 * and control characters, not empty (a field key or a column name such as "ward" or "病房").
 * Sets *key_len; false when it is unterminated or malformed. */
static bool placeholder(const char *t, size_t i, size_t *key_len)
{
    const char *close = strchr(t + i + 1, '}');
    if (!close)
        return false;
    *key_len = (size_t)(close - (t + i + 1));
    for (size_t k = 0; k < *key_len; k++) {
        unsigned char c = (unsigned char)t[i + 1 + k];
        if (c < 0x20 || c == 0x7F || c == '{' || c == '/' || c == '\\')
            return false;
    }
    return *key_len > 0 && *key_len <= PLACEHOLDER_MAX &&
           cf_utf8_check(t + i + 1, *key_len) == *key_len;
}

/* Value that placeholder name stands for in record: the field of that key, else the entry
 * (field or extra column) whose column name or key has the same folded name ("{hn}" for a
 * column "HN", "{ward}" for "Ward"). *found says whether anything matched; the value may be
 * empty. */
static const char *lookup(const cf_record *record, const char *name, bool *found)
{
    const char *value = cf_record_get(record, name);
    *found = value != NULL;
    for (size_t i = 0; !*found && i < cf_record_size(record); i++) {
        const char *column = cf_record_column(record, i);
        if ((column && cf_text_same_name(name, column)) ||
            (!cf_record_is_extra(record, i) && cf_text_same_name(name, cf_record_key(record, i)))) {
            value = cf_record_value(record, i);
            *found = true;
        }
    }
    return value;
}

cf_status cf_file_name_check_template(const char *t, cf_diag *diag)
{
    size_t len = strlen(t);
    if (strchr(t, '/') || strchr(t, '\\')) {
        cf_diag_error(diag, NULL, 0, "--name \"%s\" must be a file name, not a path", t);
        return CF_ERR_USAGE;
    }
    if (len < 5 || strcmp(t + len - 4, ".pdf") != 0) {
        cf_diag_error(diag, NULL, 0, "--name \"%s\" must end in .pdf", t);
        return CF_ERR_USAGE;
    }
    for (size_t i = 0; i < len; i++) {
        size_t key_len;
        if (t[i] == '}') {
            cf_diag_error(diag, NULL, 0, "--name \"%s\": '}' without '{'", t);
            return CF_ERR_USAGE;
        }
        if (t[i] != '{')
            continue;
        if (!placeholder(t, i, &key_len)) {
            cf_diag_error(diag, NULL, 0,
                          "--name \"%s\": a placeholder is written {name} with a field key "
                          "or a column name of the list (no braces or slashes in it), {form}, "
                          "{version} or {row}",
                          t);
            return CF_ERR_USAGE;
        }
        i += key_len + 1;
    }
    return CF_OK;
}

cf_status cf_file_name_expand(const char *t, const cf_record *record, const char *form_id,
                              const char *version, cf_buf *out, cf_diag *diag)
{
    return cf_file_name_expand_rows(t, record, form_id, version, /*last_row*/ 0, out, diag);
}

cf_status cf_file_name_expand_rows(const char *t, const cf_record *record, const char *form_id,
                                   const char *version, long last_row, cf_buf *out, cf_diag *diag)
{
    const char *source = cf_record_source(record);
    long row = cf_record_row(record);
    int row_width = 0; /* digits of last_row: {row} is padded to it so names sort by row */
    for (long n = last_row; n > 0; n /= 10)
        row_width++;
    cf_buf_reset(out);
    size_t len = strlen(t);
    for (size_t i = 0; i < len; i++) {
        size_t key_len;
        if (t[i] != '{' || !placeholder(t, i, &key_len)) {
            /* A literal run up to the next '{', kept whole so UTF-8 stays intact. */
            size_t end = i + 1;
            while (end < len && t[end] != '{')
                end++;
            char literal[CF_FILE_NAME_MAX + 1];
            size_t n = end - i < CF_FILE_NAME_MAX ? end - i : CF_FILE_NAME_MAX;
            memcpy(literal, t + i, n);
            literal[n] = '\0';
            cf_file_name_append_safe(out, literal);
            i = end - 1;
            continue;
        }
        char key[PLACEHOLDER_MAX + 1];
        memcpy(key, t + i + 1, key_len);
        key[key_len] = '\0';
        i += key_len + 1;
        char number[32];
        const char *value;
        if (strcmp(key, "form") == 0) {
            value = form_id;
        } else if (strcmp(key, "version") == 0) {
            value = version;
        } else if (strcmp(key, "row") == 0) {
            snprintf(number, sizeof number, "%0*ld", row_width, row);
            value = number;
        } else {
            bool found;
            value = lookup(record, key, &found);
            if (!found) {
                cf_diag_error(diag, source, row,
                              "the file name has {%s}, which is neither a field of the form nor "
                              "a column of the list",
                              key);
                return CF_ERR_DATA;
            }
            if (!value || !*value) {
                cf_diag_error(diag, source, row,
                              "the file name needs a value for %s, and this row has none", key);
                return CF_ERR_DATA;
            }
        }
        cf_file_name_append_safe(out, value);
    }
    if (out->error)
        return out->error;
    if (out->len > CF_FILE_NAME_MAX) {
        cf_diag_error(diag, source, row, "the file name would be longer than %d bytes",
                      CF_FILE_NAME_MAX);
        return CF_ERR_DATA;
    }
    if (out->len <= 4 || strcmp(out->data, ".pdf") == 0) {
        cf_diag_error(diag, source, row, "the file name would be empty");
        return CF_ERR_DATA;
    }
    return CF_OK;
}

cf_status cf_file_name_default(const char *const *label_keys, size_t n_label_keys, cf_buf *out)
{
    cf_buf_reset(out);
    for (size_t i = 0; i < n_label_keys; i++) {
        if (strcmp(label_keys[i], "patient_name") == 0)
            continue;
        cf_buf_printf(out, "{%s}_", label_keys[i]);
    }
    cf_buf_append_str(out, "{form}.pdf");
    return out->error;
}
