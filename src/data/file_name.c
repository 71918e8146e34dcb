#include "data/file_name.h"

#include "base/utf8.h"

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

/* Finds the placeholder starting at template[i] == '{'; sets *key_len; false if unterminated. */
static bool placeholder(const char *t, size_t i, size_t *key_len)
{
    const char *close = strchr(t + i + 1, '}');
    if (!close)
        return false;
    *key_len = (size_t)(close - (t + i + 1));
    for (size_t k = 0; k < *key_len; k++) {
        char c = t[i + 1 + k];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return *key_len > 0;
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
                          "--name \"%s\": a placeholder is written {key} with a lower-case "
                          "field key, {form}, {version} or {row}",
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
    const char *source = cf_record_source(record);
    long row = cf_record_row(record);
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
        char key[64];
        if (key_len >= sizeof key) {
            cf_diag_error(diag, source, row, "file name placeholder is too long");
            return CF_ERR_DATA;
        }
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
            snprintf(number, sizeof number, "%ld", row);
            value = number;
        } else {
            value = cf_record_get(record, key);
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
