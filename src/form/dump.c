/* A stable text dump of the form model, one item per line, for golden tests and debugging.
 *
 * Strings are quoted ("..." with \" and \\ escaped) or (none). Inline text is written as
 * "@LINE [lang]: text" ([lang] only when the text has its own language; "@LINE (empty)" for no
 * text), with **bold** marking, {field:key} for field spans and \*, \{ and \\ escaping those
 * characters when they are literal. The file is given by its last path component only, so
 * that the dump does not depend on where the tree lives. Numbers are printed with integer
 * arithmetic: the locale never changes the output. */
#include "form/form.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <string.h>

#define DUMP_LIMIT (64u * 1024u * 1024u)

static void indent(cf_buf *out, int depth)
{
    for (int i = 0; i < depth; i++)
        cf_buf_append(out, "  ", 2);
}

/* "s" with quotes and backslashes escaped, or (none). */
static void put_quoted(cf_buf *out, const char *s)
{
    if (!s) {
        cf_buf_append_str(out, "(none)");
        return;
    }
    cf_buf_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            cf_buf_putc(out, '\\');
        cf_buf_putc(out, *s);
    }
    cf_buf_putc(out, '"');
}

/* "name value" on its own line; value quoted. */
static void put_string_line(cf_buf *out, int depth, const char *name, const char *value)
{
    indent(out, depth);
    cf_buf_printf(out, "%s ", name);
    put_quoted(out, value);
    cf_buf_putc(out, '\n');
}

static void put_word_line(cf_buf *out, int depth, const char *name, const char *value)
{
    indent(out, depth);
    cf_buf_printf(out, "%s %s\n", name, value ? value : "(none)");
}

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

/* Literal text with the dump's markup characters escaped. */
static void put_escaped(cf_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '*' || *s == '{' || *s == '\\')
            cf_buf_putc(out, '\\');
        cf_buf_putc(out, *s);
    }
}

/* "what @LINE [lang]: spans" (or "what @LINE (empty)"), then a newline. */
static void put_text_line(cf_buf *out, int depth, const char *what, const cf_text *text)
{
    indent(out, depth);
    if (!text) {
        cf_buf_printf(out, "%s (none)\n", what);
        return;
    }
    cf_buf_printf(out, "%s @%ld", what, text->line);
    if (text->lang)
        cf_buf_printf(out, " [%s]", text->lang);
    if (text->n_spans == 0) {
        cf_buf_append_str(out, " (empty)\n");
        return;
    }
    cf_buf_append_str(out, ": ");
    for (size_t i = 0; i < text->n_spans; i++) {
        const cf_span *span = &text->spans[i];
        if (span->bold)
            cf_buf_append_str(out, "**");
        if (span->kind == CF_SPAN_FIELD)
            cf_buf_printf(out, "{field:%s}", span->field ? span->field : "?");
        else
            put_escaped(out, span->text ? span->text : "");
        if (span->bold)
            cf_buf_append_str(out, "**");
    }
    cf_buf_putc(out, '\n');
}

static void put_texts(cf_buf *out, int depth, const char *what, const cf_text *const *texts,
                      size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_text_line(out, depth, what, texts[i]);
}

/* Items with an optional word each (a reference's id, an instruction's applies-to), written as
 * "what word=value" before the item's text line when set. */
static void put_tagged_texts(cf_buf *out, int depth, const char *what, const char *tag,
                             const cf_text *const *texts, const char *const *tags, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tags && tags[i]) {
            indent(out, depth);
            cf_buf_printf(out, "%s %s=%s\n", what, tag, tags[i]);
        }
        put_text_line(out, depth, what, texts[i]);
    }
}

/* A relative width in [0, 1] with four decimals, by integer rounding. */
static void put_width(cf_buf *out, double width)
{
    if (!(width >= 0.0))
        width = 0.0;
    unsigned long scaled = (unsigned long)(width * 10000.0 + 0.5);
    cf_buf_printf(out, "%lu.%04lu", scaled / 10000u, scaled % 10000u);
}

static const char *field_type_name(cf_field_type type)
{
    static const char *const names[] = {"text", "date", "choice", "multi-choice"};
    return (unsigned)type < 4 ? names[type] : "?";
}

static const char *role_name(cf_signer_role role)
{
    static const char *const names[] = {"patient", "doctor", "witness", "guardian", "interpreter"};
    return (unsigned)role < 5 ? names[role] : "?";
}

static const char *section_role_name(cf_section_role role)
{
    static const char *const names[] = {"body", "disclaimer", "references", "signing"};
    return (unsigned)role < 4 ? names[role] : "?";
}

static void dump_field(cf_buf *out, const cf_field *f)
{
    indent(out, 2);
    cf_buf_printf(out, "field %s @%ld\n", f->key ? f->key : "?", f->line);
    put_word_line(out, 3, "type", field_type_name(f->type));
    put_string_line(out, 3, "caption", f->caption);
    for (size_t k = 0; k < f->n_aliases; k++)
        put_string_line(out, 3, "alias", f->aliases[k]);
    put_word_line(out, 3, "required", yes_no(f->required));
    put_word_line(out, 3, "label", yes_no(f->label));
    if (f->pattern)
        put_string_line(out, 3, "pattern", f->pattern);
    for (size_t k = 0; k < f->n_options; k++) {
        const cf_option *o = &f->options[k];
        indent(out, 3);
        cf_buf_printf(out, "option %s other=%s\n", o->key ? o->key : "?", yes_no(o->other));
        put_text_line(out, 4, "text", o->text);
    }
}

static void dump_table(cf_buf *out, int depth, const cf_table *t)
{
    indent(out, depth);
    cf_buf_printf(out, "widths");
    for (size_t i = 0; i < t->n_columns; i++) {
        cf_buf_putc(out, ' ');
        put_width(out, t->widths ? t->widths[i] : 0.0);
    }
    cf_buf_putc(out, '\n');
    if (t->header) {
        indent(out, depth);
        cf_buf_append_str(out, "header\n");
        put_texts(out, depth + 1, "cell", t->header, t->n_columns);
    } else {
        put_word_line(out, depth, "header", NULL);
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        indent(out, depth);
        cf_buf_printf(out, "row %zu\n", r + 1);
        put_texts(out, depth + 1, "cell", t->rows[r], t->n_columns);
    }
}

static void dump_signature(cf_buf *out, int depth, const cf_signature_block *s)
{
    indent(out, depth);
    cf_buf_printf(out, "signature %s @%ld\n", role_name(s->role), s->line);
    put_string_line(out, depth + 1, "caption", s->caption);
    put_string_line(out, depth + 1, "name", s->name_caption);
    put_string_line(out, depth + 1, "sign", s->signature_caption);
    put_string_line(out, depth + 1, "date", s->date_caption);
    put_string_line(out, depth + 1, "time", s->time_caption);
    put_string_line(out, depth + 1, "relationship", s->relationship_caption);
    put_string_line(out, depth + 1, "language", s->language_caption);
    put_string_line(out, depth + 1, "required", s->required);
    put_text_line(out, depth + 1, "statement", s->statement);
}

static void dump_block(cf_buf *out, int depth, const cf_block *b)
{
    if (b->kind == CF_BLOCK_HEADING || b->kind == CF_BLOCK_PARAGRAPH) {
        put_text_line(out, depth, b->kind == CF_BLOCK_HEADING ? "heading" : "paragraph", b->u.text);
        return;
    }
    indent(out, depth);
    switch (b->kind) {
    case CF_BLOCK_HEADING:
    case CF_BLOCK_PARAGRAPH:
        return; /* written above */
    case CF_BLOCK_BULLETS:
        cf_buf_printf(out, "bullets @%ld\n", b->line);
        put_texts(out, depth + 1, "item", b->u.list.items, b->u.list.n_items);
        return;
    case CF_BLOCK_NUMBERED:
    case CF_BLOCK_DECLARATIONS:
        cf_buf_printf(out, "%s @%ld start=%u\n",
                      b->kind == CF_BLOCK_NUMBERED ? "numbered" : "declarations", b->line,
                      b->u.list.start);
        put_texts(out, depth + 1, "item", b->u.list.items, b->u.list.n_items);
        return;
    case CF_BLOCK_REFERENCES:
        cf_buf_printf(out, "references @%ld\n", b->line);
        put_tagged_texts(out, depth + 1, "ref", "id", b->u.list.items, b->u.list.ids,
                         b->u.list.n_items);
        return;
    case CF_BLOCK_TABLE:
        cf_buf_printf(out, "table @%ld columns=%zu rows=%zu\n", b->line, b->u.table.n_columns,
                      b->u.table.n_rows);
        dump_table(out, depth + 1, &b->u.table);
        return;
    case CF_BLOCK_CHECKBOXES:
        cf_buf_printf(out, "checkboxes @%ld field=%s\n", b->line,
                      b->u.checkboxes.field ? b->u.checkboxes.field : "?");
        put_text_line(out, depth + 1, "prompt", b->u.checkboxes.prompt);
        return;
    case CF_BLOCK_NOTE:
        cf_buf_printf(out, "note @%ld kind=%s title=", b->line,
                      b->u.note.kind == CF_NOTE_WARNING ? "warning" : "info");
        put_quoted(out, b->u.note.title);
        if (b->u.note.applies_to)
            cf_buf_printf(out, " applies-to=%s", b->u.note.applies_to);
        cf_buf_putc(out, '\n');
        put_texts(out, depth + 1, "paragraph", b->u.note.paragraphs, b->u.note.n_paragraphs);
        return;
    case CF_BLOCK_RISKS:
        cf_buf_printf(out, "risks @%ld\n", b->line);
        for (size_t i = 0; i < b->u.risks.n_risks; i++) {
            const cf_risk *r = &b->u.risks.risks[i];
            const char *freq = cf_frequency_name(r->frequency);
            indent(out, depth + 1);
            cf_buf_printf(out, "risk %s @%ld rate=", freq ? freq : "?", r->line);
            put_quoted(out, r->rate);
            cf_buf_printf(out, " applies-to=%s", r->applies_to ? r->applies_to : "(none)");
            for (size_t k = 0; k < r->n_cites; k++)
                cf_buf_printf(out, "%s%s", k ? "," : " cites=", r->cites[k]);
            cf_buf_putc(out, '\n');
            put_text_line(out, depth + 2, "text", r->text);
        }
        return;
    case CF_BLOCK_INSTRUCTIONS:
        cf_buf_printf(out, "instructions @%ld when=%s\n", b->line,
                      b->u.instructions.when == CF_WHEN_AFTER ? "after" : "before");
        put_tagged_texts(out, depth + 1, "item", "applies-to", b->u.instructions.items,
                         b->u.instructions.applies_to, b->u.instructions.n_items);
        return;
    case CF_BLOCK_SIGNATURES:
        cf_buf_printf(out, "signatures @%ld\n", b->line);
        for (size_t i = 0; i < b->u.signatures.n_blocks; i++)
            dump_signature(out, depth + 1, &b->u.signatures.blocks[i]);
        return;
    }
    cf_buf_printf(out, "block ? @%ld\n", b->line);
}

static void dump_section(cf_buf *out, size_t index, const cf_section *s)
{
    indent(out, 2);
    cf_buf_printf(out, "section %zu @%ld\n", index, s->line);
    put_word_line(out, 3, "role", section_role_name(s->role));
    put_word_line(out, 3, "id", s->id);
    put_string_line(out, 3, "title", s->title);
    for (size_t i = 0; i < s->n_blocks; i++)
        dump_block(out, 3, &s->blocks[i]);
}

cf_status cf_form_dump(const cf_form *form, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    cf_buf buf;
    cf_buf_init(&buf, DUMP_LIMIT);
    const char *base = form->path ? strrchr(form->path, '/') : NULL;
    base = base ? base + 1 : form->path;

    cf_buf_printf(&buf, "form %s\n", form->id ? form->id : "?");
    put_string_line(&buf, 1, "file", base);
    put_word_line(&buf, 1, "version", form->version);
    put_word_line(&buf, 1, "kind", form->kind == CF_FORM_KIND_CONSENT ? "consent" : "leaflet");
    put_word_line(&buf, 1, "lang", form->lang);
    put_word_line(&buf, 1, "region", form->region);
    put_word_line(&buf, 1, "state", cf_form_state_name(form->state));
    put_string_line(&buf, 1, "approved-by", form->approved_by);
    put_word_line(&buf, 1, "approved-date", form->approved_date);
    put_string_line(&buf, 1, "title", form->title);
    put_string_line(&buf, 1, "subtitle", form->subtitle);
    put_string_line(&buf, 1, "source", form->source);
    put_word_line(&buf, 1, "effective", form->effective_date);
    put_word_line(&buf, 1, "review-by", form->review_date);
    put_string_line(&buf, 1, "label-caption", form->label_caption);

    cf_buf_printf(&buf, "  fields %zu label=%zu\n", form->n_fields, form->n_label_fields);
    for (size_t i = 0; i < form->n_fields; i++)
        dump_field(&buf, &form->fields[i]);

    cf_buf_printf(&buf, "  bands show-meaning=%s\n", yes_no(form->show_band_meaning));
    for (int f = 0; f < CF_FREQ_COUNT; f++) {
        indent(&buf, 2);
        cf_buf_printf(&buf, "%s caption=", cf_frequency_name((cf_frequency)f));
        put_quoted(&buf, form->bands[f].caption);
        cf_buf_append_str(&buf, " meaning=");
        put_quoted(&buf, form->bands[f].meaning);
        cf_buf_putc(&buf, '\n');
    }

    if (form->max_pages)
        cf_buf_printf(&buf, "  layout max-pages=%u\n", form->max_pages);
    cf_buf_printf(&buf, "  sections %zu\n", form->n_sections);
    for (size_t i = 0; i < form->n_sections; i++)
        dump_section(&buf, i + 1, &form->sections[i]);

    if (buf.error) {
        cf_status st = buf.error;
        cf_buf_cleanup(&buf);
        return st;
    }
    *out = cf_buf_take(&buf, len);
    if (!*out) {
        /* An empty dump is impossible (the first line is always written); treat as memory. */
        cf_buf_cleanup(&buf);
        return CF_ERR_NOMEM;
    }
    return CF_OK;
}
