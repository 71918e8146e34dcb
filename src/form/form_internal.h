/* Private to src/form/: the form's arena and the source lines the public model has no room for,
 * the inline-text normaliser shared by the loader, and the semantic checks. */
#ifndef CF_FORM_INTERNAL_H
#define CF_FORM_INTERNAL_H

#include "base/arena.h"
#include "base/diag.h"
#include "base/status.h"
#include "form/form.h"

#include <stdbool.h>
#include <stddef.h>

/* Owned by the form; lives in its own arena (freed with it by cf_form_free). */
struct cf_form_internal {
    cf_arena *arena;
    long form_line;   /* <form> */
    long status_line; /* <status> */
    bool status_bad;  /* the loader reported an attribute of <status>: its checks are done */
    long effective_line;
    long review_line;
    long bands_line;                /* <risk-bands>; 0 when the form has none */
    long band_lines[CF_FREQ_COUNT]; /* <band> of each frequency; 0 when not declared */
};

/* One piece of raw inline content as it appears in the XML: text (not yet normalised) or a
 * field reference. */
typedef struct cf_inline_piece {
    const char *text; /* raw UTF-8 text, len bytes; NULL for a field reference */
    size_t len;
    const char *field; /* field key for a field reference (already in the arena); else NULL */
    bool bold;
} cf_inline_piece;

/* Normalises raw inline pieces into spans in arena (FORMAT.md "Inline content"): runs of XML
 * whitespace become one space, a run holding a line break between two CJK characters is
 * removed, both ends are trimmed, adjacent pieces of the same style merge, every text is NFC.
 * A control character is CF_ERR_DATA with "FILE:LINE: <element> contains ..." in diag (element
 * names what holds the text). *spans stays valid until the arena is freed; *n_spans may be 0. */
cf_status cf_form_text_spans(cf_arena *arena, const cf_inline_piece *pieces, size_t n_pieces,
                             const char *file, long line, const char *element, cf_diag *diag,
                             const cf_span **spans, size_t *n_spans);

/* The same normalisation for plain text (an attribute value or a text-only element): *out is
 * an arena string, "" when nothing but whitespace was given. */
cf_status cf_form_text_plain(cf_arena *arena, const char *raw, size_t len, const char *file,
                             long line, const char *element, cf_diag *diag, const char **out);

/* Semantic checks of FORMAT.md on a built form (unique ids and keys, references, bands, what a
 * consent needs, signer lines, calendar dates, the id matching the file name when from_file).
 * Messages go to diag as "FILE:LINE: ..."; CF_ERR_DATA when any error was found. */
cf_status cf_form_check(const cf_form *form, const char *file, bool from_file, cf_diag *diag);

#endif
