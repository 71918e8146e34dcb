/* Field rules: NFC, trimming, and the checks of every value of a patient record. */
#include "data/field_rules.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "text/normalize.h"

#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LIST_MAX 8       /* characters named in one message */
#define QUOTE_MAX 40     /* bytes of a value quoted in a message */
#define MESSAGE_MAX 4096 /* bytes of one message */

/* What one call of cf_record_check works with. */
typedef struct check_ctx {
    const cf_form *form;
    cf_record *record;
    const cf_fontset *fonts;
    bool blank;
    cf_diag *diag;
    const char *file; /* CSV path or "command line" */
    long row;         /* CSV row, 0 for the command line */
    const char *noun; /* "column" (CSV) or "field" (command line) */
    cf_buf value;     /* the value being checked, NFC and trimmed */
    cf_buf canon;     /* a choice value as the form spells it */
    cf_buf text;      /* a message being put together */
    bool bad;         /* some problem was reported */
} check_ctx;

/* Reports a problem with field key. */
static void report(check_ctx *ctx, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(check_ctx *ctx, const char *key, const char *fmt, ...)
{
    char what[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cf_diag_error(ctx->diag, ctx->file, ctx->row, "%s %s: %s", ctx->noun, key, what);
    ctx->bad = true;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when a[0, len) equals the NUL-terminated b, ignoring ASCII case. */
static bool equal_nocase(const char *a, size_t len, const char *b)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] == '\0' || ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return b[len] == '\0';
}

static const cf_field *find_field(const cf_form *form, const char *key)
{
    for (size_t i = 0; i < form->n_fields; i++)
        if (form->fields[i].key && equal_nocase(key, strlen(key), form->fields[i].key))
            return &form->fields[i];
    return NULL;
}

/* Appends s[0, len) to out for quoting in a message: at most QUOTE_MAX bytes, hidden
 * characters as <U+XXXX> (the shared escaping of src/base/utf8.c). */
static void append_quoted(cf_buf *out, const char *s, size_t len)
{
    cf_utf8_quote(out, s, len, QUOTE_MAX);
}

/* Appends "U+XXXX (c)" for the character cp; a hidden character (a bidi override, a soft
 * hyphen ...) only as U+XXXX, never raw. */
static void append_code_point(cf_buf *out, uint32_t cp)
{
    char utf8[4];
    size_t n = cf_utf8_encode(cp, utf8);
    cf_buf_printf(out, "U+%04X", (unsigned)cp);
    if (n == 0 || cf_utf8_is_hidden(cp))
        return;
    cf_buf_append_str(out, " (");
    cf_buf_append(out, utf8, n);
    cf_buf_putc(out, ')');
}

static size_t space_prefix(const char *s, size_t len)
{
    return cf_utf8_space_prefix(s, len);
}

static size_t space_suffix(const char *s, size_t len)
{
    return cf_utf8_space_suffix(s, len);
}

/* Name of a default-ignorable character for messages, or NULL. */
static const char *ignorable_name(uint32_t cp)
{
    switch (cp) {
    case 0x00AD:
        return "soft hyphen";
    case 0x200B:
        return "zero width space";
    case 0x200C:
        return "zero width non-joiner";
    case 0x200D:
        return "zero width joiner";
    case 0x200E:
        return "left-to-right mark";
    case 0x200F:
        return "right-to-left mark";
    case 0x202A:
        return "left-to-right embedding";
    case 0x202B:
        return "right-to-left embedding";
    case 0x202C:
        return "pop directional formatting";
    case 0x202D:
        return "left-to-right override";
    case 0x202E:
        return "right-to-left override";
    case 0x2060:
        return "word joiner";
    case 0xFEFF:
        return "zero width no-break space (byte-order mark)";
    default:
        return NULL;
    }
}

/* Code points collected for one message, each once. */
typedef struct cp_list {
    uint32_t cps[LIST_MAX];
    unsigned char faces[LIST_MAX]; /* missing glyphs: bit 0 regular, bit 1 bold */
    size_t n, more;
} cp_list;

static void cp_list_add(cp_list *list, uint32_t cp, unsigned char faces)
{
    for (size_t i = 0; i < list->n; i++)
        if (list->cps[i] == cp)
            return;
    if (list->n == LIST_MAX) {
        list->more++;
        return;
    }
    list->cps[list->n] = cp;
    list->faces[list->n] = faces;
    list->n++;
}

/* Checks every character of s[0, len) (valid UTF-8): controls and, for printed values, glyphs
 * in both faces (characters beyond U+FFFF print when the faces have them). Returns false when a
 * control character was found (the value's type is then not checked any further). */
static bool check_characters(check_ctx *ctx, const cf_field *field, const char *s, size_t len,
                             bool printed)
{
    uint32_t control = 0;
    bool line_break = false;
    cp_list missing = {0}, ignorable = {0};
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        i += n ? n : 1;
        if (cf_text_is_control(cp)) {
            if (cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x85 ||
                cp == 0x2028 || cp == 0x2029)
                line_break = true;
            else if (control == 0)
                control = cp;
            continue;
        }
        if (cf_utf8_is_default_ignorable(cp)) {
            cp_list_add(&ignorable, cp, 0);
            continue;
        }
        if (printed && ctx->fonts) {
            unsigned char faces = 0;
            if (!cf_font_has(ctx->fonts->faces[CF_FONT_REGULAR], cp))
                faces |= 1;
            if (!cf_font_has(ctx->fonts->faces[CF_FONT_BOLD], cp))
                faces |= 2;
            if (faces)
                cp_list_add(&missing, cp, faces);
        }
    }

    if (line_break)
        report(ctx, field->key, "value contains a line break; %s must be a single line",
               field->label ? "label fields" : "values");
    if (control)
        report(ctx, field->key,
               "value contains the control character U+%04X%s, which cannot be printed",
               (unsigned)control, control == '\t' ? " (a tab)" : "");

    cf_buf *t = &ctx->text;
    if (ignorable.n > 0) {
        /* Invisible on screen, but a soft hyphen prints as a hyphen and a bidi override
         * reorders the name: never printed, never dropped silently. */
        cf_buf_reset(t);
        cf_buf_append_str(t, "value contains ");
        for (size_t i = 0; i < ignorable.n; i++) {
            if (i > 0)
                cf_buf_append_str(t, ", ");
            append_code_point(t, ignorable.cps[i]);
            const char *name = ignorable_name(ignorable.cps[i]);
            if (name)
                cf_buf_printf(t, " (%s)", name);
        }
        if (ignorable.more)
            cf_buf_printf(t, " and %zu more", ignorable.more);
        cf_buf_append_str(t, ", an invisible formatting character that must not be in a patient "
                             "value; retype the value without it");
        report(ctx, field->key, "%s",
               t->error ? "value contains an invisible formatting character" : t->data);
    }
    if (missing.n > 0) {
        cf_buf_reset(t);
        cf_buf_printf(t, "the %s font cannot print ", ctx->fonts->region ? ctx->fonts->region : "");
        for (size_t i = 0; i < missing.n; i++) {
            if (i > 0)
                cf_buf_append_str(t, ", ");
            append_code_point(t, missing.cps[i]);
            if (missing.faces[i] == 1)
                cf_buf_append_str(t, " (missing from the regular face)");
            else if (missing.faces[i] == 2)
                cf_buf_append_str(t, " (missing from the bold face)");
        }
        if (missing.more)
            cf_buf_printf(t, " and %zu more character%s", missing.more,
                          missing.more == 1 ? "" : "s");
        report(ctx, field->key, "%s",
               t->error ? "the font lacks characters of the value" : t->data);
    }
    return !line_break && control == 0 && ignorable.n == 0;
}

/* Appends the form's option keys, separated by ", ". */
static void append_option_keys(cf_buf *out, const cf_field *field)
{
    for (size_t i = 0; i < field->n_options; i++) {
        if (i > 0)
            cf_buf_append_str(out, ", ");
        cf_buf_append_str(out, field->options[i].key);
    }
}

/* Index of the option of field named s[0, len) (ignoring ASCII case), or n_options. */
static size_t find_option(const cf_field *field, const char *s, size_t len)
{
    for (size_t i = 0; i < field->n_options; i++)
        if (equal_nocase(s, len, field->options[i].key))
            return i;
    return field->n_options;
}

/* Checks a choice or multi-choice value s (NUL-terminated, trimmed) and puts the keys as the
 * form spells them, joined by ';', into ctx->canon. *ok is false when something is wrong
 * (reported). */
static cf_status check_choice(check_ctx *ctx, const cf_field *field, const char *s, bool *ok)
{
    bool multi = field->type == CF_FIELD_MULTI_CHOICE;
    size_t len = strlen(s);
    size_t n_items = 0;
    cf_buf *t = &ctx->text;
    *ok = true;
    cf_buf_reset(&ctx->canon);
    if (len == 0)
        return CF_OK;
    unsigned char *chosen = cf_calloc(field->n_options ? field->n_options : 1, 1);
    if (!chosen)
        return CF_ERR_NOMEM;

    for (size_t start = 0; start <= len;) {
        size_t end = start;
        while (end < len && s[end] != ';' && s[end] != ',')
            end++;
        size_t a = start + space_prefix(s + start, end - start);
        size_t b = end - space_suffix(s + a, end - a);
        n_items++;
        cf_buf_reset(t);
        if (a == b) {
            cf_buf_append_str(t, "empty choice in ");
            append_quoted(t, s, len);
            cf_buf_append_str(t, "; separate the choices with ; or , (valid: ");
            append_option_keys(t, field);
            cf_buf_putc(t, ')');
            report(ctx, field->key, "%s", t->error ? "empty choice" : t->data);
            *ok = false;
        } else {
            size_t o = find_option(field, s + a, b - a);
            if (o == field->n_options) {
                append_quoted(t, s + a, b - a);
                cf_buf_append_str(t, " is not one of the choices: ");
                append_option_keys(t, field);
                report(ctx, field->key, "%s", t->error ? "not one of the choices" : t->data);
                *ok = false;
            } else if (chosen[o]) {
                append_quoted(t, field->options[o].key, strlen(field->options[o].key));
                cf_buf_append_str(t, " is chosen twice");
                report(ctx, field->key, "%s", t->error ? "a choice is given twice" : t->data);
                *ok = false;
            } else {
                chosen[o] = 1;
                if (ctx->canon.len > 0)
                    cf_buf_putc(&ctx->canon, ';');
                cf_buf_append_str(&ctx->canon, field->options[o].key);
            }
        }
        start = end + 1;
    }
    cf_free(chosen);
    if (!multi && n_items > 1) {
        cf_buf_reset(t);
        append_quoted(t, s, len);
        cf_buf_append_str(t, " names more than one choice, but only one may be chosen: ");
        append_option_keys(t, field);
        report(ctx, field->key, "%s", t->error ? "only one choice may be given" : t->data);
        *ok = false;
    }
    return ctx->canon.error == CF_ERR_NOMEM ? CF_ERR_NOMEM : CF_OK;
}

/* True when s looks like a number that Excel turned into scientific notation
 * ("1.23457E+11"): the digits of the identifier are lost. */
static bool is_scientific(const char *s, size_t n)
{
    size_t i = 0;
    if (i == n || s[i] < '0' || s[i] > '9')
        return false;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i == n || (s[i] != 'E' && s[i] != 'e'))
        return false;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i == n)
        return false;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i == n;
}

/* Checks an identifier's shape: not Excel's scientific notation, and the form's pattern (a
 * POSIX extended regex matched against the whole value) when it declares one. */
static cf_status check_identifier(check_ctx *ctx, const cf_field *field, const char *s, size_t n)
{
    cf_buf *t = &ctx->text;
    if ((field->identifier || field->pattern) && is_scientific(s, n)) {
        cf_buf_reset(t);
        append_quoted(t, s, n);
        cf_buf_append_str(t, " is a number in scientific notation (as Excel shows long numbers), "
                             "so its digits are lost: in Excel, format the column as text, type "
                             "the numbers again and save the list again");
        report(ctx, field->key, "%s", t->error ? "a number in scientific notation" : t->data);
        return CF_OK;
    }
    if (!field->pattern)
        return CF_OK;
    /* Anchored: the whole value must match, whatever the pattern says. */
    cf_buf anchored;
    cf_buf_init(&anchored, (size_t)-1 / 2);
    cf_buf_printf(&anchored, "^(%s)$", field->pattern);
    if (anchored.error) {
        cf_buf_cleanup(&anchored);
        return CF_ERR_NOMEM;
    }
    regex_t re;
    int rc = regcomp(&re, anchored.data, REG_EXTENDED | REG_NOSUB);
    cf_buf_cleanup(&anchored);
    if (rc != 0) {
        report(ctx, field->key, "the form's pattern \"%s\" is not a valid regular expression",
               field->pattern);
        return CF_OK;
    }
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    if (!ok) {
        cf_buf_reset(t);
        append_quoted(t, s, n);
        cf_buf_printf(t, " does not have the form's shape for %s (pattern %s)",
                      field->caption ? field->caption : field->key, field->pattern);
        report(ctx, field->key, "%s", t->error ? "value does not match the pattern" : t->data);
    }
    return CF_OK;
}

/* Rewrites and checks the value of one field (value is the record's, valid until the record's
 * value for the field is set again). */
static cf_status check_value(check_ctx *ctx, const cf_field *field, const char *value)
{
    cf_status st = CF_OK;
    size_t len = strlen(value);
    size_t bad_at = cf_utf8_check(value, len);
    if (bad_at < len) {
        report(ctx, field->key, "value is not valid UTF-8 (byte 0x%02X at byte %zu)",
               (unsigned)(unsigned char)value[bad_at], bad_at + 1);
        return CF_OK;
    }

    /* An identifier is NFKC and upper case (so "ｈｎ１２３（９）" is "HN123(9)"); any other
     * value is NFC, keeping CJK compatibility ideographs as given (a name's characters are
     * never changed). NFC at most triples the length of UTF-8 text; NFKC and case mapping are
     * capped by the same generous limit. */
    cf_buf_reset(&ctx->value);
    ctx->value.limit = len < ((size_t)-1) / 64 ? 54 * len + 16 : (size_t)-1 / 2;
    size_t lead = space_prefix(value, len);
    size_t trail = space_suffix(value + lead, len - lead);
    if (field->identifier)
        st = cf_text_nfkc_upper(value + lead, len - lead - trail, &ctx->value);
    else
        st = cf_text_nfc_keep_ideographs(value + lead, len - lead - trail, &ctx->value);
    if (st == CF_ERR_NOMEM)
        return st;
    if (st != CF_OK || (len - lead - trail > 0 && !ctx->value.data)) {
        report(ctx, field->key, "value could not be normalised (%s)", cf_status_message(st));
        return CF_OK;
    }
    char empty[1] = "";
    char *s = ctx->value.data ? ctx->value.data : empty;
    size_t n = ctx->value.len;
    size_t start = space_prefix(s, n);
    size_t end = n - space_suffix(s + start, n - start);
    s += start;
    n = end - start;
    s[n] = '\0';
    if ((st = cf_record_set(ctx->record, field->key, s)) != CF_OK)
        return st;
    /* value is no longer valid from here on; s is the stored text. */

    bool printed = field->type == CF_FIELD_TEXT || field->type == CF_FIELD_DATE;
    if (!check_characters(ctx, field, s, n, printed))
        return CF_OK;

    if (n == 0) {
        if (field->required && !ctx->blank)
            report(ctx, field->key, "a value is required%s%s%s", field->caption ? " (" : "",
                   field->caption ? field->caption : "", field->caption ? ")" : "");
        return CF_OK;
    }
    cf_buf *t = &ctx->text;
    switch (field->type) {
    case CF_FIELD_TEXT:
        if ((st = check_identifier(ctx, field, s, n)) != CF_OK)
            return st;
        break;
    case CF_FIELD_DATE:
        if (!cf_date_is_valid(s)) {
            bool shaped = cf_date_has_shape(s);
            cf_buf_reset(t);
            append_quoted(t, s, n);
            if (shaped)
                cf_buf_append_str(t, " is not a real date");
            else
                cf_buf_append_str(t, " is not a date written YYYY-MM-DD, e.g. 2025-03-14 (if "
                                     "Excel changed the dates, format the column as text)");
            report(ctx, field->key, "%s", t->error ? "not a date" : t->data);
        }
        break;
    case CF_FIELD_CHOICE:
    case CF_FIELD_MULTI_CHOICE: {
        bool ok;
        if ((st = check_choice(ctx, field, s, &ok)) != CF_OK)
            return st;
        if (ok && (st = cf_record_set(ctx->record, field->key,
                                      ctx->canon.data ? ctx->canon.data : "")) != CF_OK)
            return st;
        break;
    }
    }
    return CF_OK;
}

/* Reports each key of the record that is not a field of the form. Extra entries (CSV columns
 * the form does not know, kept for file names and the manifest) are not fields: skipped. */
static void check_keys(check_ctx *ctx)
{
    cf_buf *t = &ctx->text;
    for (size_t i = 0; i < cf_record_size(ctx->record); i++) {
        const char *key = cf_record_key(ctx->record, i);
        if (cf_record_is_extra(ctx->record, i) || find_field(ctx->form, key))
            continue;
        cf_buf_reset(t);
        append_quoted(t, key, cf_utf8_check(key, strlen(key)));
        cf_buf_printf(t, " is not a field of %s; its fields are: ",
                      ctx->form->id ? ctx->form->id : "the form");
        for (size_t f = 0; f < ctx->form->n_fields; f++)
            cf_buf_printf(t, "%s%s", f ? ", " : "", ctx->form->fields[f].key);
        cf_diag_error(ctx->diag, ctx->file, ctx->row, "%s",
                      t->error ? "a value is given for a field the form does not have" : t->data);
        ctx->bad = true;
    }
}

cf_status cf_record_check(const cf_form *form, cf_record *record, const cf_fontset *fonts,
                          bool blank, cf_diag *diag)
{
    cf_status st = CF_OK;
    check_ctx ctx = {
        .form = form,
        .record = record,
        .fonts = fonts,
        .blank = blank,
        .diag = diag,
        .file = cf_record_source(record) ? cf_record_source(record) : "command line",
        .row = cf_record_source(record) ? cf_record_row(record) : 0,
        .noun = cf_record_source(record) ? "column" : "field",
    };
    cf_buf_init(&ctx.value, 0);
    cf_buf_init(&ctx.canon, (size_t)-1 / 2);
    cf_buf_init(&ctx.text, MESSAGE_MAX);

    if (!form || !record) {
        cf_diag_error(diag, ctx.file, ctx.row, "internal error: no form or record to check");
        st = CF_ERR_INTERNAL;
        goto done;
    }
    if (fonts && (!fonts->faces[CF_FONT_REGULAR] || !fonts->faces[CF_FONT_BOLD])) {
        cf_diag_error(diag, ctx.file, ctx.row, "internal error: the font set lacks a face");
        st = CF_ERR_INTERNAL;
        goto done;
    }
    check_keys(&ctx);
    for (size_t f = 0; f < form->n_fields; f++) {
        const cf_field *field = &form->fields[f];
        const char *value = cf_record_get(record, field->key);
        if (value) {
            if ((st = check_value(&ctx, field, value)) != CF_OK)
                goto done;
        } else if (field->required && !blank) {
            report(&ctx, field->key, "a value is required%s%s%s", field->caption ? " (" : "",
                   field->caption ? field->caption : "", field->caption ? ")" : "");
        }
    }
    if (ctx.bad)
        st = CF_ERR_DATA;

done:
    if (st == CF_ERR_NOMEM)
        cf_diag_error(diag, ctx.file, ctx.row, "out of memory checking the values");
    cf_buf_cleanup(&ctx.value);
    cf_buf_cleanup(&ctx.canon);
    cf_buf_cleanup(&ctx.text);
    return st;
}

cf_status cf_identifier_normalize(const char *value, char **out)
{
    *out = NULL;
    if (!value)
        return CF_ERR_INTERNAL;
    size_t len = strlen(value);
    if (cf_utf8_check(value, len) != len)
        return CF_ERR_DATA;
    size_t lead = space_prefix(value, len);
    size_t trail = space_suffix(value + lead, len - lead);
    cf_buf buf;
    cf_buf_init(&buf, (size_t)-1 / 2);
    cf_status st = cf_text_nfkc_upper(value + lead, len - lead - trail, &buf);
    if (st == CF_OK && !buf.data)
        st = cf_buf_append(&buf, "", 0);
    if (st != CF_OK) {
        cf_buf_cleanup(&buf);
        return st;
    }
    /* NFKC may turn an ideographic space into a plain one: trim again. */
    size_t a = space_prefix(buf.data, buf.len);
    size_t z = space_suffix(buf.data + a, buf.len - a);
    memmove(buf.data, buf.data + a, buf.len - a - z);
    buf.data[buf.len - a - z] = '\0';
    *out = buf.data;
    return CF_OK;
}
