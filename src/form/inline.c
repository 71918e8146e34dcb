/* Inline text of a form: whitespace normalisation, NFC, control characters, span merging. */
#include "form/form_internal.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "text/normalize.h"

#include <stdint.h>
#include <string.h>

/* Scratch text is capped well above anything a 2 MiB form can hold. */
#define TEXT_SCRATCH_LIMIT (8u * 1024u * 1024u)

/* A span being built: a byte range of the scratch buffer, or a field reference. */
typedef struct pending_span {
    const char *field;
    bool bold;
    size_t start, len;
} pending_span;

typedef struct span_builder {
    cf_buf text; /* normalised (not yet NFC) text of every text span, back to back */
    pending_span *spans;
    size_t n_spans, cap;
    cf_status status;
} span_builder;

static bool is_xml_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r';
}

/* Makes room for one more span; false (status set) when out of memory. */
static bool reserve_span(span_builder *sb)
{
    if (sb->n_spans < sb->cap)
        return true;
    pending_span *grown = cf_grow_array(sb->spans, &sb->cap, sb->n_spans + 1, sizeof *grown, 8);
    if (!grown) {
        sb->status = CF_ERR_NOMEM;
        return false;
    }
    sb->spans = grown;
    return true;
}

/* Appends text in the given style, extending the last span when it is text of the same style:
 * the scratch buffer is filled in order, so that span always ends where the buffer does. */
static void emit_text(span_builder *sb, const char *s, size_t len, bool bold)
{
    if (sb->status)
        return;
    pending_span *last = sb->n_spans ? &sb->spans[sb->n_spans - 1] : NULL;
    if (!last || last->field || last->bold != bold) {
        if (!reserve_span(sb))
            return;
        last = &sb->spans[sb->n_spans++]; /* reserve_span made room: spans is not NULL */
        last->field = NULL;               /* NOLINT(clang-analyzer-core.NullDereference) */
        last->bold = bold;
        last->start = sb->text.len;
        last->len = 0;
    }
    cf_status st = cf_buf_append(&sb->text, s, len);
    if (st) {
        sb->status = st;
        return;
    }
    last->len += len;
}

static void emit_field(span_builder *sb, const char *field, bool bold)
{
    if (sb->status || !reserve_span(sb))
        return;
    pending_span *span = &sb->spans[sb->n_spans++];
    span->field = field;
    span->bold = bold;
    span->start = sb->text.len;
    span->len = 0;
}

/* Whitespace rule of FORMAT.md over the whole run of pieces (a whitespace run may cross from
 * one piece into the next, e.g. "文字\n<b>粗體</b>"). */
static void normalise_pieces(span_builder *sb, const cf_inline_piece *pieces, size_t n)
{
    bool pending = false;    /* a whitespace run is waiting to be written or dropped */
    bool pending_nl = false; /* ... and it holds a line break */
    bool pending_bold = false;
    bool have_prev = false; /* something was written before the run (else: leading, trimmed) */
    uint32_t prev = 0;      /* last written code point; 0 after a field reference */

    for (size_t i = 0; i < n && !sb->status; i++) {
        const cf_inline_piece *piece = &pieces[i];
        if (!piece->text) {
            if (pending && have_prev)
                emit_text(sb, " ", 1, pending_bold);
            pending = false;
            emit_field(sb, piece->field, piece->bold);
            have_prev = true;
            prev = 0;
            continue;
        }
        size_t pos = 0;
        while (pos < piece->len && !sb->status) {
            uint32_t cp;
            size_t used = cf_utf8_decode(piece->text + pos, piece->len - pos, &cp);
            if (used == 0) {
                /* libxml2 hands over valid UTF-8 only; anything else is a bug upstream. */
                sb->status = CF_ERR_INTERNAL;
                return;
            }
            if (is_xml_space(cp)) {
                /* The one space a run becomes is bold only when all of the run is: a space
                 * at the edge of a <b> belongs to the plain text around it. */
                if (!pending) {
                    pending = true;
                    pending_nl = false;
                    pending_bold = piece->bold;
                } else {
                    pending_bold = pending_bold && piece->bold;
                }
                if (cp == '\n' || cp == '\r')
                    pending_nl = true;
            } else {
                if (pending && have_prev &&
                    !(pending_nl && cf_text_is_cjk(prev) && cf_text_is_cjk(cp)))
                    emit_text(sb, " ", 1, pending_bold);
                pending = false;
                emit_text(sb, piece->text + pos, used, piece->bold);
                have_prev = true;
                prev = cp;
            }
            pos += used;
        }
    }
    /* A trailing run is dropped: text is trimmed at both ends. */
}

/* First control character in valid UTF-8 s, or 0. */
static uint32_t first_control(const char *s, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        uint32_t cp;
        size_t used = cf_utf8_decode(s + pos, len - pos, &cp);
        if (used == 0)
            return 0xFFFD;
        if (cf_text_is_control(cp))
            return cp;
        pos += used;
    }
    return 0;
}

cf_status cf_form_text_spans(cf_arena *arena, const cf_inline_piece *pieces, size_t n_pieces,
                             const char *file, long line, const char *element, cf_diag *diag,
                             const cf_span **spans, size_t *n_spans)
{
    *spans = NULL;
    *n_spans = 0;
    span_builder sb = {.status = CF_OK};
    cf_buf_init(&sb.text, TEXT_SCRATCH_LIMIT);
    cf_buf nfc;
    cf_buf_init(&nfc, TEXT_SCRATCH_LIMIT);
    cf_span *out = NULL;

    normalise_pieces(&sb, pieces, n_pieces);
    if (sb.status)
        goto done;
    if (sb.n_spans) {
        out = cf_arena_calloc(arena, sb.n_spans, sizeof *out);
        if (!out) {
            sb.status = cf_arena_over_cap(arena) ? CF_ERR_LIMIT : CF_ERR_NOMEM;
            goto done;
        }
    }
    for (size_t i = 0; i < sb.n_spans; i++) {
        const pending_span *ps = &sb.spans[i];
        out[i].bold = ps->bold;
        if (ps->field) {
            out[i].kind = CF_SPAN_FIELD;
            out[i].field = ps->field;
            continue;
        }
        cf_buf_reset(&nfc);
        cf_status st = cf_text_nfc(sb.text.data + ps->start, ps->len, &nfc);
        if (st) {
            sb.status = st == CF_ERR_DATA ? CF_ERR_INTERNAL : st;
            goto done;
        }
        uint32_t bad = first_control(nfc.data ? nfc.data : "", nfc.len);
        if (bad) {
            cf_diag_error(diag, file, line,
                          "<%s> contains the control character U+%04X, which a form may not "
                          "hold; remove it",
                          element, (unsigned)bad);
            sb.status = CF_ERR_DATA;
            goto done;
        }
        out[i].kind = CF_SPAN_TEXT;
        out[i].text = cf_arena_strndup(arena, nfc.data ? nfc.data : "", nfc.len);
        if (!out[i].text) {
            sb.status = cf_arena_over_cap(arena) ? CF_ERR_LIMIT : CF_ERR_NOMEM;
            goto done;
        }
    }
    *spans = out;
    *n_spans = sb.n_spans;

done:
    if (sb.status == CF_ERR_NOMEM)
        cf_diag_error(diag, file, line, "out of memory while reading the text of <%s>", element);
    else if (sb.status == CF_ERR_LIMIT)
        cf_diag_error(diag, file, line,
                      "the text of <%s> takes the form past its size limit; split the form",
                      element);
    else if (sb.status == CF_ERR_INTERNAL)
        cf_diag_error(diag, file, line, "internal error: the text of <%s> is not valid UTF-8",
                      element);
    cf_buf_cleanup(&nfc);
    cf_buf_cleanup(&sb.text);
    cf_free(sb.spans);
    return sb.status;
}

cf_status cf_form_text_plain(cf_arena *arena, const char *raw, size_t len, const char *file,
                             long line, const char *element, cf_diag *diag, const char **out)
{
    *out = NULL;
    cf_inline_piece piece = {.text = raw, .len = len};
    const cf_span *spans;
    size_t n_spans;
    cf_status st =
        cf_form_text_spans(arena, &piece, 1, file, line, element, diag, &spans, &n_spans);
    if (st)
        return st;
    *out = n_spans ? spans[0].text : "";
    return CF_OK;
}
