#include "base/diag.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#define DIAG_MAX_ENTRIES 100000 /* beyond this, messages are counted but not kept */

struct cf_diag {
    pthread_mutex_t lock;
    cf_diag_entry *entries;
    size_t size, cap;
    size_t errors;
    size_t dropped;
    FILE *echo;
};

cf_diag *cf_diag_new(void)
{
    cf_diag *diag = cf_calloc(1, sizeof *diag);
    if (!diag)
        return NULL;
    pthread_mutex_init(&diag->lock, NULL);
    return diag;
}

void cf_diag_clear(cf_diag *diag)
{
    if (!diag)
        return;
    pthread_mutex_lock(&diag->lock);
    for (size_t i = 0; i < diag->size; i++) {
        cf_free(diag->entries[i].file);
        cf_free(diag->entries[i].message);
    }
    diag->size = 0;
    diag->errors = 0;
    diag->dropped = 0;
    pthread_mutex_unlock(&diag->lock);
}

void cf_diag_free(cf_diag *diag)
{
    if (!diag)
        return;
    cf_diag_clear(diag);
    cf_free(diag->entries);
    pthread_mutex_destroy(&diag->lock);
    cf_free(diag);
}

void cf_diag_set_echo(cf_diag *diag, FILE *echo)
{
    if (diag)
        diag->echo = echo;
}

void cf_diag_format(const cf_diag_entry *entry, char *out, size_t out_size)
{
    size_t n = 0;
    int w = snprintf(out, out_size, "consentform: ");
    if (w > 0)
        n = (size_t)w;
    if (entry->file && n < out_size) {
        if (entry->line > 0 && entry->col > 0)
            w = snprintf(out + n, out_size - n, "%s:%ld:%ld: ", entry->file, entry->line,
                         entry->col);
        else if (entry->line > 0)
            w = snprintf(out + n, out_size - n, "%s:%ld: ", entry->file, entry->line);
        else
            w = snprintf(out + n, out_size - n, "%s: ", entry->file);
        if (w > 0)
            n += (size_t)w;
    }
    if (n < out_size)
        snprintf(out + n, out_size - n, "%s%s",
                 entry->severity == CF_DIAG_WARNING ? "warning: "
                 : entry->severity == CF_DIAG_NOTE  ? "note: "
                                                    : "",
                 entry->message);
}

/* Returns s with every hidden character (bidi overrides, controls other than LF and TAB,
 * invisible format characters) written as <U+XXXX> and bytes that are not UTF-8 as \xNN, so
 * that no value quoted in a message can reorder or hide part of the terminal line. Takes
 * ownership of s; NULL when out of memory. */
static char *escape_hidden(char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    bool clean = cf_utf8_check(s, len) == len;
    for (size_t i = 0; clean && i < len;) {
        uint32_t cp = 0;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        if (cf_utf8_is_hidden(cp) && cp != '\n' && cp != '\t')
            clean = false;
        i += n;
    }
    if (clean)
        return s;
    cf_buf out;
    cf_buf_init(&out, (size_t)-1 / 2);
    cf_utf8_escape(&out, s, len, 0, /*keep_lf_tab*/ true);
    cf_free(s);
    if (out.error) {
        cf_buf_cleanup(&out);
        return NULL;
    }
    return cf_buf_take(&out, NULL);
}

/* Appends an entry under the lock; takes ownership of message. */
static void diag_push(cf_diag *diag, cf_diag_severity severity, const char *file, long line,
                      long col, char *message)
{
    message = escape_hidden(message);
    char *file_copy = file ? escape_hidden(cf_strdup(file)) : NULL;
    pthread_mutex_lock(&diag->lock);
    if (severity == CF_DIAG_ERROR)
        diag->errors++;
    if (diag->size == diag->cap && diag->cap < DIAG_MAX_ENTRIES) {
        size_t cap = diag->cap ? diag->cap * 2 : 16;
        cf_diag_entry *grown = cf_realloc(diag->entries, cap * sizeof *grown);
        if (grown) {
            diag->entries = grown;
            diag->cap = cap;
        }
    }
    if (!message || diag->size == diag->cap) {
        diag->dropped++;
        cf_free(message);
        cf_free(file_copy);
        pthread_mutex_unlock(&diag->lock);
        return;
    }
    cf_diag_entry *e = &diag->entries[diag->size];
    e->severity = severity;
    e->file = file_copy;
    e->line = line;
    e->col = col;
    e->message = message;
    diag->size++;
    if (diag->echo) {
        char text[4096];
        cf_diag_format(e, text, sizeof text);
        fprintf(diag->echo, "%s\n", text);
        fflush(diag->echo);
    }
    pthread_mutex_unlock(&diag->lock);
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *s = cf_malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

void cf_diag_add(cf_diag *diag, cf_diag_severity severity, const char *file, long line, long col,
                 const char *fmt, ...)
{
    if (!diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *message = vformat(fmt, ap);
    va_end(ap);
    diag_push(diag, severity, file, line, col, message);
}

void cf_diag_vadd(cf_diag *diag, cf_diag_severity severity, const char *file, long line, long col,
                  const char *fmt, va_list ap)
{
    if (!diag)
        return;
    diag_push(diag, severity, file, line, col, vformat(fmt, ap));
}

void cf_diag_error(cf_diag *diag, const char *file, long line, const char *fmt, ...)
{
    if (!diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *message = vformat(fmt, ap);
    va_end(ap);
    diag_push(diag, CF_DIAG_ERROR, file, line, 0, message);
}

void cf_diag_warning(cf_diag *diag, const char *file, long line, const char *fmt, ...)
{
    if (!diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *message = vformat(fmt, ap);
    va_end(ap);
    diag_push(diag, CF_DIAG_WARNING, file, line, 0, message);
}

size_t cf_diag_size(const cf_diag *diag)
{
    return diag ? diag->size : 0;
}

size_t cf_diag_error_count(const cf_diag *diag)
{
    return diag ? diag->errors : 0;
}

const cf_diag_entry *cf_diag_get(const cf_diag *diag, size_t i)
{
    if (!diag || i >= diag->size)
        return NULL;
    return &diag->entries[i];
}

bool cf_diag_contains(const cf_diag *diag, const char *needle)
{
    char text[4096];
    for (size_t i = 0; diag && i < diag->size; i++) {
        cf_diag_format(&diag->entries[i], text, sizeof text);
        if (strstr(text, needle))
            return true;
    }
    return false;
}

void cf_diag_print(const cf_diag *diag, FILE *out)
{
    char text[4096];
    for (size_t i = 0; diag && i < diag->size; i++) {
        cf_diag_format(&diag->entries[i], text, sizeof text);
        fprintf(out, "%s\n", text);
    }
    if (diag && diag->dropped)
        fprintf(out, "consentform: %zu more messages not shown\n", diag->dropped);
}
