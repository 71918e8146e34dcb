/* Diagnostics sink: collects human-readable messages with their location.
 * Status codes are for programs (status.h); this is for people. Thread-safe. */
#ifndef CF_DIAG_H
#define CF_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>

typedef enum cf_diag_severity {
    CF_DIAG_ERROR,
    CF_DIAG_WARNING,
    CF_DIAG_NOTE,
} cf_diag_severity;

typedef struct cf_diag_entry {
    cf_diag_severity severity;
    char *file;    /* may be NULL */
    long line;     /* 1-based line (or CSV row); 0 = none */
    long col;      /* 1-based column; 0 = none */
    char *message; /* plain words, no trailing newline */
} cf_diag_entry;

typedef struct cf_diag cf_diag;

/* New empty sink; caller frees with cf_diag_free. NULL when out of memory. */
cf_diag *cf_diag_new(void);
void cf_diag_free(cf_diag *diag);

/* When echo is non-NULL, every entry is also printed there as it is added. */
void cf_diag_set_echo(cf_diag *diag, FILE *echo);

/* Adds a message. diag may be NULL (message dropped). file may be NULL. */
void cf_diag_add(cf_diag *diag, cf_diag_severity severity, const char *file, long line, long col,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The same with a va_list: for a module's own reporting helper (which adds its cap or
 * context) so that every message is still formatted here, once. */
void cf_diag_vadd(cf_diag *diag, cf_diag_severity severity, const char *file, long line, long col,
                  const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
/* Shorthands for CF_DIAG_ERROR / CF_DIAG_WARNING. */
void cf_diag_error(cf_diag *diag, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cf_diag_warning(cf_diag *diag, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

size_t cf_diag_size(const cf_diag *diag);
size_t cf_diag_error_count(const cf_diag *diag);
/* Entry i (0-based), valid until the next cf_diag_add or cf_diag_free. */
const cf_diag_entry *cf_diag_get(const cf_diag *diag, size_t i);
/* True when some entry's formatted line contains needle (for tests). */
bool cf_diag_contains(const cf_diag *diag, const char *needle);

/* Formats one entry as "consentform: FILE:LINE:COL: [warning: ]message" into out. */
void cf_diag_format(const cf_diag_entry *entry, char *out, size_t out_size);
/* Prints every entry, one per line, to out. */
void cf_diag_print(const cf_diag *diag, FILE *out);
/* Removes all entries. */
void cf_diag_clear(cf_diag *diag);

#endif
