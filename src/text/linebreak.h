/* Line breaking for Traditional Chinese with Latin: libunibreak's UAX #14 opportunities, then
 * the clreq overrides (no line starts with 、，；：。！？ or a closing bracket/quote, none ends
 * with an opening one; numbers with units and ranges, identifiers such as HN12345678(9), —— and ……
 * stay whole), then greedy filling of lines of a given width. */
#ifndef CF_LINEBREAK_H
#define CF_LINEBREAK_H

#include "base/diag.h"
#include "base/status.h"
#include "text/font.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum cf_break {
    CF_BREAK_NO,      /* no break after this byte */
    CF_BREAK_ALLOWED, /* a line may end after this byte */
    CF_BREAK_MUST,    /* a line must end after this byte (a hard line break) */
} cf_break;

/* Fills breaks[0..len-1]: breaks[i] says whether a line may end after byte i (only the last
 * byte of a code point ever carries ALLOWED/MUST; breaks[len-1] is MUST). s must be valid UTF-8.
 * lang is the BCP 47 tag of the text ("zh-Hant-HK", "en"). */
/* True when cp is a right single quotation mark (’) used as an apostrophe between two Latin
 * letters ("Patient’s"). The fonts give it a full-width advance, right for Chinese text; as an
 * apostrophe it is set with the advance of the ASCII apostrophe instead. */
bool cf_text_is_apostrophe(uint32_t prev, uint32_t cp, uint32_t next);

cf_status cf_line_breaks(const char *s, size_t len, const char *lang, char *breaks);

/* A styled paragraph to wrap: the text and, per byte, the index of its style. */
typedef struct cf_wrap_style {
    const cf_font *font;
    double size; /* points */
} cf_wrap_style;

typedef struct cf_wrap_input {
    const char *text; /* UTF-8, valid */
    size_t len;
    const unsigned char *style; /* len entries: index into styles (same for a whole code point);
                                   NULL: every byte uses styles[0] */
    const cf_wrap_style *styles;
    size_t n_styles;
    const char *lang;
} cf_wrap_input;

typedef struct cf_wrap_line {
    size_t start, end; /* byte range of the line's visible text (spaces at the break excluded) */
    double width;      /* natural width of [start, end) in points */
    bool forced;       /* ended inside an unbreakable run wider than the line */
    bool last;         /* last line of the paragraph (or ends with a hard break) */
} cf_wrap_line;

/* Breaks the paragraph into lines no wider than width (points); a single run wider than the
 * line is broken by force between code points. *lines is freed by the caller with cf_free; an
 * empty paragraph gives no lines (*lines NULL). CF_ERR_DATA for invalid UTF-8, CF_ERR_INTERNAL
 * for a width that is not positive or a style index out of range, CF_ERR_NOMEM. Linear time. */
cf_status cf_wrap(const cf_wrap_input *in, double width, cf_wrap_line **lines, size_t *n_lines,
                  cf_diag *diag);

#endif
