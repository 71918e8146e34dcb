/* Form diff: both models flattened into statements (a sentence of a paragraph, a list item, a
 * risk, a signature block, ...) per part of the form, the statement lists aligned by longest
 * common subsequence, removed and added statements of the same kind paired as "changed" when
 * they share most of their characters, and changed characters marked when written out. */
#include "form/diff.h"

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DIFF_ARENA_CAP (64u << 20)
#define DIFF_MAX_STATEMENTS 20000 /* per part; beyond this the forms are not compared */
#define DIFF_MAX_CHARS 4000 /* longer statements are shown whole, not character by character */
#define DIFF_OUT_LIMIT (64u << 20)

/* One statement: what kind of thing it is and its text, as the form says it. */
typedef struct statement {
    const char *what; /* "paragraph", "risk", ... */
    const char *text;
    int band; /* a risk's frequency; -1 for everything else */
} statement;

typedef struct part {
    statement *items;
    size_t n, cap;
} part;

typedef struct differ {
    cf_arena *arena;
    cf_form_change *changes;
    size_t n_changes, cap_changes;
    cf_buf scratch;
    cf_status status;
} differ;

static void fail(differ *d, cf_status st)
{
    if (d->status == CF_OK)
        d->status = st;
}

static const char *keep(differ *d, const char *s)
{
    if (s == NULL || d->status != CF_OK)
        return NULL;
    char *copy = cf_arena_strdup(d->arena, s);
    if (copy == NULL)
        fail(d, CF_ERR_NOMEM);
    return copy;
}

static void add_change(differ *d, cf_change_kind kind, const char *where, const char *what,
                       const char *old_text, const char *new_text)
{
    if (d->status != CF_OK)
        return;
    if (d->n_changes == d->cap_changes) {
        cf_form_change *grown =
            cf_grow_array(d->changes, &d->cap_changes, d->n_changes + 1, sizeof *grown, 64);
        if (grown == NULL) {
            fail(d, CF_ERR_NOMEM);
            return;
        }
        d->changes = grown;
    }
    d->changes[d->n_changes++] =
        (cf_form_change){kind, keep(d, where), keep(d, what), keep(d, old_text), keep(d, new_text)};
}

/* ---- flattening ---------------------------------------------------------------------- */

static void push(differ *d, part *p, const char *what, const char *text, int band)
{
    if (d->status != CF_OK)
        return;
    if (p->n == DIFF_MAX_STATEMENTS) {
        fail(d, CF_ERR_LIMIT);
        return;
    }
    if (p->n == p->cap) {
        statement *grown = cf_grow_array(p->items, &p->cap, p->n + 1, sizeof *grown, 64);
        if (grown == NULL) {
            fail(d, CF_ERR_NOMEM);
            return;
        }
        p->items = grown;
    }
    p->items[p->n++] = (statement){keep(d, what), keep(d, text), band};
}

/* The text as the form says it: bold as **…**, a field as [key]. */
static const char *text_of(differ *d, const cf_text *t)
{
    cf_buf_reset(&d->scratch);
    for (size_t i = 0; t != NULL && i < t->n_spans; i++) {
        const cf_span *s = &t->spans[i];
        if (s->bold)
            cf_buf_append_str(&d->scratch, "**");
        if (s->kind == CF_SPAN_FIELD)
            cf_buf_printf(&d->scratch, "[%s]", s->field);
        else
            cf_buf_append_str(&d->scratch, s->text);
        if (s->bold)
            cf_buf_append_str(&d->scratch, "**");
    }
    if (t != NULL && t->lang != NULL)
        cf_buf_printf(&d->scratch, " (xml:lang=%s)", t->lang);
    if (d->scratch.error) {
        fail(d, d->scratch.error);
        return "";
    }
    const char *out = keep(d, d->scratch.data != NULL ? d->scratch.data : "");
    return out != NULL ? out : "";
}

/* Pushes text sentence by sentence (a sentence ends after 。！？), so that a changed sentence
 * of a long paragraph is shown alone. */
static void push_sentences(differ *d, part *p, const char *what, const char *text)
{
    size_t start = 0, len = strlen(text);
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = cf_utf8_decode(text + i, len - i, &cp);
        i += k > 0 ? k : 1;
        bool end = cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F;
        if (end && i < len) {
            char *piece = cf_arena_strndup(d->arena, text + start, i - start);
            if (piece == NULL) {
                fail(d, CF_ERR_NOMEM);
                return;
            }
            push(d, p, what, piece, -1);
            start = i;
        }
    }
    if (start < len || len == 0)
        push(d, p, what, text + start, -1);
}

static const char *printf_kept(differ *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *printf_kept(differ *d, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return keep(d, text);
}

static const char *or_none(const char *s)
{
    return s != NULL ? s : "(none)";
}

static void flatten_signature(differ *d, part *p, const cf_signature_block *s)
{
    static const char *const roles[] = {"patient", "doctor", "witness", "guardian", "interpreter"};
    const char *what = printf_kept(d, "signature block (%s)", roles[s->role]);
    cf_buf_reset(&d->scratch);
    cf_buf_printf(&d->scratch, "%s — name: %s; sign: %s; date: %s; time: %s", s->caption,
                  or_none(s->name_caption), or_none(s->signature_caption), or_none(s->date_caption),
                  or_none(s->time_caption));
    if (s->relationship_caption != NULL)
        cf_buf_printf(&d->scratch, "; relationship: %s", s->relationship_caption);
    if (s->language_caption != NULL)
        cf_buf_printf(&d->scratch, "; language: %s", s->language_caption);
    /* Which signatures a signed copy needs is part of what the committee approves. */
    if (s->required != NULL)
        cf_buf_printf(&d->scratch, "; required: %s", s->required);
    push(d, p, what, keep(d, d->scratch.data != NULL ? d->scratch.data : ""), -1);
    if (s->statement != NULL)
        push(d, p, printf_kept(d, "statement (%s)", roles[s->role]), text_of(d, s->statement), -1);
}

static void flatten_block(differ *d, part *p, const cf_block *b)
{
    switch (b->kind) {
    case CF_BLOCK_HEADING:
        push(d, p, "heading", text_of(d, b->u.text), -1);
        break;
    case CF_BLOCK_PARAGRAPH:
        push_sentences(d, p, "paragraph", text_of(d, b->u.text));
        break;
    case CF_BLOCK_BULLETS:
    case CF_BLOCK_NUMBERED:
        for (size_t i = 0; i < b->u.list.n_items; i++)
            push_sentences(d, p, "list item", text_of(d, b->u.list.items[i]));
        break;
    case CF_BLOCK_DECLARATIONS:
        for (size_t i = 0; i < b->u.list.n_items; i++)
            push(d, p, "declaration", text_of(d, b->u.list.items[i]), -1);
        break;
    case CF_BLOCK_REFERENCES:
        for (size_t i = 0; i < b->u.list.n_items; i++) {
            const char *id = b->u.list.ids != NULL ? b->u.list.ids[i] : NULL;
            push(d, p, id != NULL ? printf_kept(d, "reference %s", id) : "reference",
                 text_of(d, b->u.list.items[i]), -1);
        }
        break;
    case CF_BLOCK_TABLE:
        for (size_t r = 0; r < b->u.table.n_rows + 1; r++) {
            const cf_text *const *cells = r == 0 ? b->u.table.header : b->u.table.rows[r - 1];
            if (cells == NULL)
                continue;
            cf_buf row;
            cf_buf_init(&row, 1u << 20);
            for (size_t c = 0; c < b->u.table.n_columns; c++)
                cf_buf_printf(&row, "%s%s", c ? " | " : "", text_of(d, cells[c]));
            push(d, p, r == 0 ? "table header" : "table row", row.data != NULL ? row.data : "", -1);
            cf_buf_cleanup(&row);
        }
        break;
    case CF_BLOCK_CHECKBOXES:
        push(d, p, printf_kept(d, "check boxes for %s", b->u.checkboxes.field),
             b->u.checkboxes.prompt != NULL ? text_of(d, b->u.checkboxes.prompt) : "", -1);
        break;
    case CF_BLOCK_NOTE: {
        const char *what =
            printf_kept(d, "%s title%s%s", b->u.note.kind == CF_NOTE_WARNING ? "warning" : "note",
                        b->u.note.applies_to != NULL ? ", applies to " : "",
                        b->u.note.applies_to != NULL ? b->u.note.applies_to : "");
        push(d, p, what, or_none(b->u.note.title), -1);
        for (size_t i = 0; i < b->u.note.n_paragraphs; i++)
            push_sentences(d, p, "note text", text_of(d, b->u.note.paragraphs[i]));
        break;
    }
    case CF_BLOCK_RISKS:
        for (size_t i = 0; i < b->u.risks.n_risks; i++) {
            const cf_risk *r = &b->u.risks.risks[i];
            cf_buf_reset(&d->scratch);
            cf_buf_append_str(&d->scratch, "risk");
            if (r->applies_to != NULL)
                cf_buf_printf(&d->scratch, ", applies to %s", r->applies_to);
            if (r->rate != NULL)
                cf_buf_printf(&d->scratch, ", rate %s", r->rate);
            for (size_t k = 0; k < r->n_cites; k++)
                cf_buf_printf(&d->scratch, "%s%s", k ? " " : ", cites ", r->cites[k]);
            const char *what = keep(d, d->scratch.data != NULL ? d->scratch.data : "risk");
            push(d, p, what, text_of(d, r->text), (int)r->frequency);
        }
        break;
    case CF_BLOCK_INSTRUCTIONS:
        for (size_t i = 0; i < b->u.instructions.n_items; i++) {
            const char *key =
                b->u.instructions.applies_to != NULL ? b->u.instructions.applies_to[i] : NULL;
            const char *when = b->u.instructions.when == CF_WHEN_AFTER ? "after" : "before";
            push(d, p,
                 key != NULL ? printf_kept(d, "instruction (%s, applies to %s)", when, key)
                             : printf_kept(d, "instruction (%s)", when),
                 text_of(d, b->u.instructions.items[i]), -1);
        }
        break;
    case CF_BLOCK_SIGNATURES:
        for (size_t i = 0; i < b->u.signatures.n_blocks; i++)
            flatten_signature(d, p, &b->u.signatures.blocks[i]);
        break;
    }
}

/* ---- alignment ------------------------------------------------------------------------- */

static bool same_statement(const statement *a, const statement *b)
{
    return strcmp(a->what, b->what) == 0 && strcmp(a->text, b->text) == 0;
}

/* Code points of s into a new array; *n set. NULL when out of memory. */
static uint32_t *code_points(const char *s, size_t *n)
{
    size_t len = strlen(s);
    uint32_t *cps = cf_malloc((len + 1) * sizeof *cps);
    if (cps == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        size_t used = cf_utf8_decode(s + i, len - i, &cps[k]);
        i += used > 0 ? used : 1;
        k++;
    }
    *n = k;
    return cps;
}

/* LCS table of a[0..n) and b[0..m) (as (n+1)*(m+1) counts, from the ends); NULL on failure. */
static uint32_t *lcs_table(size_t n, size_t m, const void *a, const void *b,
                           bool (*equal)(const void *, const void *, size_t, size_t))
{
    uint32_t *t = cf_calloc((n + 1) * (m + 1), sizeof *t);
    if (t == NULL)
        return NULL;
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;) {
            uint32_t *cell = &t[i * (m + 1) + j];
            if (equal(a, b, i, j))
                *cell = t[(i + 1) * (m + 1) + j + 1] + 1;
            else {
                uint32_t down = t[(i + 1) * (m + 1) + j], right = t[i * (m + 1) + j + 1];
                *cell = down > right ? down : right;
            }
        }
    return t;
}

static bool cps_equal(const void *a, const void *b, size_t i, size_t j)
{
    return ((const uint32_t *)a)[i] == ((const uint32_t *)b)[j];
}

static bool statements_equal(const void *a, const void *b, size_t i, size_t j)
{
    return same_statement(&((const statement *)a)[i], &((const statement *)b)[j]);
}

/* How alike two texts are: 2 * common characters / all characters, 0..1. */
static double likeness(const char *a, const char *b)
{
    size_t n = 0, m = 0;
    uint32_t *x = code_points(a, &n), *y = code_points(b, &m);
    double result = 0;
    if (x != NULL && y != NULL && n + m > 0 && n <= DIFF_MAX_CHARS && m <= DIFF_MAX_CHARS) {
        uint32_t *t = lcs_table(n, m, x, y, cps_equal);
        if (t != NULL)
            result = 2.0 * (double)t[0] / (double)(n + m);
        cf_free(t);
    }
    cf_free(x);
    cf_free(y);
    return result;
}

static const char *band_name(const cf_form *form, int band)
{
    const char *name = cf_frequency_name((cf_frequency)band);
    const char *caption = form->bands[band].caption;
    return caption != NULL ? caption : name;
}

/* Reports a run of removed old statements and added new ones: pairs of the same kind that are
 * alike become "changed", the rest removed or added. */
/* How many statements of olds[0..n) are of kind what. */
static size_t count_kind(const statement *items, size_t n, const char *what)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += strcmp(items[i].what, what) == 0;
    return count;
}

/* What a statement is, as reported: a risk names its band. */
static const char *what_of(differ *d, const statement *s, const cf_form *form)
{
    if (s->band < 0)
        return s->what;
    return printf_kept(d, "%s (%s)", s->what, band_name(form, s->band));
}

static void report_run(differ *d, const char *where, const statement *olds, size_t n_old,
                       const statement *news, size_t n_new, const cf_form *old_form,
                       const cf_form *new_form)
{
    bool *paired_new = cf_calloc(n_new + 1, sizeof *paired_new);
    size_t *match = cf_calloc(n_old + 1, sizeof *match);
    if (paired_new == NULL || match == NULL) {
        cf_free(paired_new);
        cf_free(match);
        {
            fail(d, CF_ERR_NOMEM);
            return;
        }
    }
    for (size_t i = 0; i < n_old; i++) {
        match[i] = (size_t)-1;
        double best = 0.5;
        for (size_t j = 0; j < n_new; j++) {
            if (paired_new[j] || (olds[i].band < 0) != (news[j].band < 0))
                continue;
            double like = likeness(olds[i].text, news[j].text);
            if (strcmp(olds[i].what, news[j].what) != 0)
                like -= 0.1; /* an attribute changed as well: prefer an exact kind */
            else if (count_kind(olds, n_old, olds[i].what) == 1 &&
                     count_kind(news, n_new, news[j].what) == 1 && olds[i].band < 0)
                like = 1.0; /* the one value of a named setting (a caption, a band, ...) */
            if (like > best) {
                best = like;
                match[i] = j;
            }
        }
        if (match[i] != (size_t)-1)
            paired_new[match[i]] = true;
    }
    /* In the new form's order: each new statement (changed or added), removed ones where they
     * stood. */
    size_t i = 0;
    for (size_t j = 0; j <= n_new; j++) {
        for (; i < n_old && (match[i] == (size_t)-1 || j == n_new || match[i] <= j); i++) {
            if (match[i] == (size_t)-1)
                add_change(d, CF_CHANGE_REMOVED, where, what_of(d, &olds[i], old_form),
                           olds[i].text, NULL);
        }
        if (j == n_new)
            break;
        size_t from = (size_t)-1;
        for (size_t k = 0; k < n_old; k++)
            if (match[k] == j)
                from = k;
        if (from == (size_t)-1) {
            add_change(d, CF_CHANGE_ADDED, where, what_of(d, &news[j], new_form), NULL,
                       news[j].text);
        } else {
            const char *was = what_of(d, &olds[from], old_form);
            const char *now = what_of(d, &news[j], new_form);
            const char *what = was != NULL && now != NULL && strcmp(was, now) != 0
                                   ? printf_kept(d, "%s → %s", was, now)
                                   : now;
            add_change(d, CF_CHANGE_CHANGED, where, what, olds[from].text, news[j].text);
        }
    }
    cf_free(paired_new);
    cf_free(match);
}

static void compare_parts(differ *d, const char *where, const part *a, const part *b,
                          const cf_form *old_form, const cf_form *new_form)
{
    uint32_t *t = lcs_table(a->n, b->n, a->items, b->items, statements_equal);
    if (t == NULL) {
        fail(d, CF_ERR_NOMEM);
        return;
    }
    size_t i = 0, j = 0, run_i = 0, run_j = 0;
    size_t m = b->n + 1;
    while (d->status == CF_OK && (i < a->n || j < b->n)) {
        if (i < a->n && j < b->n && same_statement(&a->items[i], &b->items[j])) {
            report_run(d, where, a->items + run_i, i - run_i, b->items + run_j, j - run_j, old_form,
                       new_form);
            if (a->items[i].band != b->items[j].band)
                add_change(d, CF_CHANGE_MOVED, where, printf_kept(d, "risk: %s", b->items[j].text),
                           band_name(old_form, a->items[i].band),
                           band_name(new_form, b->items[j].band));
            i++;
            j++;
            run_i = i;
            run_j = j;
        } else if (j < b->n && (i == a->n || t[i * m + j + 1] >= t[(i + 1) * m + j])) {
            j++;
        } else {
            i++;
        }
    }
    report_run(d, where, a->items + run_i, a->n - run_i, b->items + run_j, b->n - run_j, old_form,
               new_form);
    cf_free(t);
}

static void part_free(part *p)
{
    cf_free(p->items);
    *p = (part){0};
}

/* ---- the parts of a form ----------------------------------------------------------------- */

static void flatten_meta(differ *d, part *p, const cf_form *f)
{
    push(d, p, "version", f->version, -1);
    push(d, p, "kind", f->kind == CF_FORM_KIND_CONSENT ? "consent" : "leaflet", -1);
    push(d, p, "language", f->lang, -1);
    push(d, p, "title", f->title, -1);
    push(d, p, "subtitle", or_none(f->subtitle), -1);
    push(d, p, "source", or_none(f->source), -1);
    push(d, p, "status",
         f->state == CF_FORM_STATE_APPROVED
             ? printf_kept(d, "approved by %s on %s", or_none(f->approved_by),
                           or_none(f->approved_date))
             : cf_form_state_name(f->state),
         -1);
    push(d, p, "effective", or_none(f->effective_date), -1);
    push(d, p, "review-by", or_none(f->review_date), -1);
}

static const char *field_type_name(cf_field_type type)
{
    static const char *const names[] = {"text", "date", "choice", "multi-choice"};
    return names[type];
}

static void flatten_fields(differ *d, part *p, const cf_form *f, bool label)
{
    if (label)
        push(d, p, "caption", or_none(f->label_caption), -1);
    for (size_t i = 0; i < f->n_fields; i++) {
        const cf_field *field = &f->fields[i];
        if (field->label != label)
            continue;
        const char *what = printf_kept(d, "%s %s", label ? "label field" : "field", field->key);
        push(d, p, what,
             printf_kept(d, "%s (%s%s)", field->caption, field_type_name(field->type),
                         field->required ? ", required" : ""),
             -1);
        for (size_t k = 0; k < field->n_options; k++) {
            const cf_option *o = &field->options[k];
            push(d, p,
                 printf_kept(d, "option %s/%s%s", field->key, o->key, o->other ? " (other)" : ""),
                 text_of(d, o->text), -1);
        }
    }
}

static void flatten_bands(differ *d, part *p, const cf_form *f)
{
    push(d, p, "show-meaning", f->show_band_meaning ? "true" : "false", -1);
    for (int b = 0; b < CF_FREQ_COUNT; b++) {
        if (f->bands[b].caption == NULL)
            continue;
        push(d, p, printf_kept(d, "band %s", cf_frequency_name((cf_frequency)b)),
             f->bands[b].meaning != NULL
                 ? printf_kept(d, "%s (meaning: %s)", f->bands[b].caption, f->bands[b].meaning)
                 : f->bands[b].caption,
             -1);
    }
}

static void flatten_section(differ *d, part *p, const cf_section *s)
{
    for (size_t i = 0; i < s->n_blocks; i++)
        flatten_block(d, p, &s->blocks[i]);
}

static const char *section_name(differ *d, const cf_section *s, size_t index)
{
    static const char *const roles[] = {"body", "disclaimer", "references", "signing"};
    if (s->id != NULL)
        return printf_kept(d, "section %s", s->id);
    if (s->role != CF_SECTION_BODY)
        return printf_kept(d, "section (%s)", roles[s->role]);
    return printf_kept(d, "section %zu", index + 1);
}

/* The old section that new section s continues: same id, else same role when not a body
 * section, else same title. */
static const cf_section *find_section(const cf_form *old_form, const cf_section *s,
                                      const bool *used, size_t *index)
{
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < old_form->n_sections; i++) {
            const cf_section *o = &old_form->sections[i];
            if (used[i])
                continue;
            bool same = pass == 0   ? (s->id != NULL && o->id != NULL && strcmp(s->id, o->id) == 0)
                        : pass == 1 ? (s->role != CF_SECTION_BODY && s->role == o->role)
                                    : (s->title != NULL && o->title != NULL &&
                                       strcmp(s->title, o->title) == 0);
            if (same) {
                *index = i;
                return o;
            }
        }
    return NULL;
}

static void compare_flat(differ *d, const char *where, const cf_form *a, const cf_form *b,
                         void (*flatten)(differ *, part *, const cf_form *))
{
    part pa = {0}, pb = {0};
    flatten(d, &pa, a);
    flatten(d, &pb, b);
    if (d->status == CF_OK)
        compare_parts(d, where, &pa, &pb, a, b);
    part_free(&pa);
    part_free(&pb);
}

static void flatten_label(differ *d, part *p, const cf_form *f)
{
    flatten_fields(d, p, f, true);
}

static void flatten_fill_fields(differ *d, part *p, const cf_form *f)
{
    flatten_fields(d, p, f, false);
}

static void flatten_layout(differ *d, part *p, const cf_form *f)
{
    if (f->max_pages != 0)
        push(d, p, "max-pages", printf_kept(d, "%u", f->max_pages), -1);
}

static void compare_sections(differ *d, const cf_form *a, const cf_form *b)
{
    bool *used = cf_calloc(a->n_sections + 1, sizeof *used);
    if (used == NULL) {
        fail(d, CF_ERR_NOMEM);
        return;
    }
    for (size_t s = 0; s < b->n_sections && d->status == CF_OK; s++) {
        const cf_section *ns = &b->sections[s];
        size_t index = 0;
        const cf_section *os = find_section(a, ns, used, &index);
        const char *where = printf_kept(d, "%s: %s", section_name(d, ns, s), or_none(ns->title));
        part pa = {0}, pb = {0};
        if (os != NULL) {
            used[index] = true;
            if ((os->title == NULL) != (ns->title == NULL) ||
                (os->title != NULL && strcmp(os->title, ns->title) != 0))
                add_change(d, CF_CHANGE_CHANGED, where, "section title", or_none(os->title),
                           or_none(ns->title));
            flatten_section(d, &pa, os);
        } else {
            add_change(d, CF_CHANGE_ADDED, where, "section", NULL, or_none(ns->title));
        }
        flatten_section(d, &pb, ns);
        if (d->status == CF_OK)
            compare_parts(d, where, &pa, &pb, a, b);
        part_free(&pa);
        part_free(&pb);
    }
    for (size_t s = 0; s < a->n_sections && d->status == CF_OK; s++) {
        if (used[s])
            continue;
        const cf_section *os = &a->sections[s];
        const char *where = printf_kept(d, "%s: %s", section_name(d, os, s), or_none(os->title));
        part pa = {0}, pb = {0};
        add_change(d, CF_CHANGE_REMOVED, where, "section", or_none(os->title), NULL);
        flatten_section(d, &pa, os);
        if (d->status == CF_OK)
            compare_parts(d, where, &pa, &pb, a, b);
        part_free(&pa);
    }
    cf_free(used);
}

cf_status cf_form_diff_new(const cf_form *old_form, const cf_form *new_form, cf_form_diff **out)
{
    *out = NULL;
    differ d = {.arena = cf_arena_new(DIFF_ARENA_CAP)};
    cf_buf_init(&d.scratch, 1u << 20);
    cf_form_diff *diff = d.arena != NULL ? cf_arena_calloc(d.arena, 1, sizeof *diff) : NULL;
    if (diff == NULL) {
        d.status = CF_ERR_NOMEM;
        goto done;
    }
    compare_flat(&d, "meta", old_form, new_form, flatten_meta);
    compare_flat(&d, "label", old_form, new_form, flatten_label);
    compare_flat(&d, "fields", old_form, new_form, flatten_fill_fields);
    compare_flat(&d, "risk bands", old_form, new_form, flatten_bands);
    compare_flat(&d, "layout", old_form, new_form, flatten_layout);
    compare_sections(&d, old_form, new_form);
    if (d.status == CF_OK && cf_arena_over_cap(d.arena))
        d.status = CF_ERR_LIMIT;
    if (d.status == CF_OK && d.n_changes > 0) {
        cf_form_change *copy = cf_arena_calloc(d.arena, d.n_changes, sizeof *copy);
        if (copy == NULL)
            d.status = CF_ERR_NOMEM;
        else
            memcpy(copy, d.changes, d.n_changes * sizeof *copy);
        diff->changes = copy;
    }
    diff->n_changes = d.n_changes;
    diff->arena = d.arena;
done:
    cf_free(d.changes);
    cf_buf_cleanup(&d.scratch);
    if (d.status != CF_OK) {
        cf_arena_free(d.arena);
        return d.status;
    }
    *out = diff;
    return CF_OK;
}

void cf_form_diff_free(cf_form_diff *diff)
{
    if (diff != NULL)
        cf_arena_free(diff->arena); /* the diff lives in its own arena */
}

/* ---- writing ------------------------------------------------------------------------------ */

static void put_escaped(cf_buf *out, const char *s, size_t len, bool html)
{
    if (!html) {
        cf_buf_append(out, s, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&':
            cf_buf_append_str(out, "&amp;");
            break;
        case '<':
            cf_buf_append_str(out, "&lt;");
            break;
        case '>':
            cf_buf_append_str(out, "&gt;");
            break;
        case '"':
            cf_buf_append_str(out, "&quot;");
            break;
        default:
            cf_buf_putc(out, s[i]);
        }
    }
}

static void put_str(cf_buf *out, const char *s, bool html)
{
    put_escaped(out, s, strlen(s), html);
}

/* Writes new_text with the characters that differ from old_text marked: [-gone-]{+new+} in
 * text, <del>/<ins> in HTML. */
static void put_marked(cf_buf *out, const char *old_text, const char *new_text, bool html)
{
    size_t n = 0, m = 0;
    uint32_t *a = code_points(old_text, &n), *b = code_points(new_text, &m);
    uint32_t *t = a != NULL && b != NULL && n <= DIFF_MAX_CHARS && m <= DIFF_MAX_CHARS
                      ? lcs_table(n, m, a, b, cps_equal)
                      : NULL;
    /* Texts with little in common read better replaced whole than letter by letter. */
    if (t == NULL || 4 * (size_t)t[0] < n + m) {
        cf_buf_append_str(out, html ? "<del>" : "[-");
        put_str(out, old_text, html);
        cf_buf_append_str(out, html ? "</del><ins>" : "-]{+");
        put_str(out, new_text, html);
        cf_buf_append_str(out, html ? "</ins>" : "+}");
    } else {
        static const char *const open[2][2] = {{"[-", "{+"}, {"<del>", "<ins>"}};
        static const char *const close[2][2] = {{"-]", "+}"}, {"</del>", "</ins>"}};
        int state = -1; /* -1 common, 0 deleting, 1 inserting */
        size_t i = 0, j = 0;
        while (i < n || j < m) {
            int next;
            uint32_t cp;
            if (i < n && j < m && a[i] == b[j]) {
                next = -1;
                cp = a[i++];
                j++;
            } else if (i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1])) {
                next = 0; /* what went comes before what came */
                cp = a[i++];
            } else {
                next = 1;
                cp = b[j++];
            }
            if (next != state) {
                if (state >= 0)
                    cf_buf_append_str(out, close[html][state]);
                if (next >= 0)
                    cf_buf_append_str(out, open[html][next]);
                state = next;
            }
            char utf8[4];
            size_t k = cf_utf8_encode(cp, utf8);
            put_escaped(out, utf8, k, html);
        }
        if (state >= 0)
            cf_buf_append_str(out, close[html][state]);
    }
    cf_free(t);
    cf_free(a);
    cf_free(b);
}

static void put_form_line(cf_buf *out, const char *mark, const cf_form *f, bool html)
{
    if (html) {
        cf_buf_append_str(out, "<p class=\"form\">");
        put_str(out, mark, true);
        cf_buf_append_str(out, " ");
    } else {
        cf_buf_printf(out, "%s ", mark);
    }
    put_str(out, f->id, html);
    cf_buf_printf(out, " %s ", f->version);
    put_str(out, f->path != NULL ? f->path : "", html);
    cf_buf_append_str(out, html ? "</p>\n" : "\n");
}

cf_status cf_form_diff_format(const cf_form_diff *diff, const cf_form *old_form,
                              const cf_form *new_form, cf_diff_format format, char **out,
                              size_t *len)
{
    *out = NULL;
    bool html = format == CF_DIFF_HTML;
    cf_buf b;
    cf_buf_init(&b, DIFF_OUT_LIMIT);
    if (html) {
        cf_buf_append_str(&b, "<!DOCTYPE html>\n<html lang=\"");
        put_str(&b, new_form->lang, true);
        cf_buf_append_str(&b, "\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
        put_str(&b, new_form->id, true);
        cf_buf_printf(&b, " %s / %s</title>\n", old_form->version, new_form->version);
        cf_buf_append_str(&b,
                          "<style>\nbody { font-family: sans-serif; margin: 2em; }\n"
                          "table { border-collapse: collapse; width: 100%; }\n"
                          "td, th { border: 1px solid #999; padding: 0.3em; vertical-align: top; "
                          "text-align: left; }\n"
                          "del { background: #fdd; text-decoration: line-through; }\n"
                          "ins { background: #dfd; text-decoration: underline; }\n"
                          "tr { page-break-inside: avoid; }\n</style>\n</head>\n<body>\n<h1>");
        put_str(&b, new_form->title, true);
        cf_buf_append_str(&b, "</h1>\n");
    }
    put_form_line(&b, html ? "Old:" : "---", old_form, html);
    put_form_line(&b, html ? "New:" : "+++", new_form, html);
    if (diff->n_changes == 0)
        cf_buf_append_str(&b,
                          html ? "<p>The forms say the same.</p>\n" : "The forms say the same.\n");
    const char *where = NULL;
    for (size_t i = 0; i < diff->n_changes; i++) {
        const cf_form_change *c = &diff->changes[i];
        if (where == NULL || strcmp(where, c->where) != 0) {
            if (html) {
                cf_buf_append_str(&b, where != NULL ? "</table>\n<h2>" : "<h2>");
                put_str(&b, c->where, true);
                cf_buf_append_str(&b, "</h2>\n<table>\n<tr><th></th><th>what</th><th>text"
                                      "</th></tr>\n");
            } else {
                cf_buf_printf(&b, "\n== %s\n", c->where);
            }
            where = c->where;
        }
        static const char *const marks[] = {"+", "-", "~", ">"};
        static const char *const words[] = {"added", "removed", "changed", "moved band"};
        if (html) {
            cf_buf_printf(&b, "<tr><td>%s</td><td>", words[c->kind]);
            put_str(&b, c->what, true);
            cf_buf_append_str(&b, "</td><td>");
        } else {
            cf_buf_printf(&b, "%s %s: ", marks[c->kind], c->what);
        }
        switch (c->kind) {
        case CF_CHANGE_ADDED:
            if (html)
                cf_buf_append_str(&b, "<ins>");
            put_str(&b, c->new_text, html);
            if (html)
                cf_buf_append_str(&b, "</ins>");
            break;
        case CF_CHANGE_REMOVED:
            if (html)
                cf_buf_append_str(&b, "<del>");
            put_str(&b, c->old_text, html);
            if (html)
                cf_buf_append_str(&b, "</del>");
            break;
        case CF_CHANGE_CHANGED:
            put_marked(&b, c->old_text, c->new_text, html);
            break;
        case CF_CHANGE_MOVED:
            put_str(&b, c->old_text, html);
            cf_buf_append_str(&b, html ? " &#8594; " : " → ");
            put_str(&b, c->new_text, html);
            break;
        }
        cf_buf_append_str(&b, html ? "</td></tr>\n" : "\n");
    }
    if (html)
        cf_buf_append_str(&b,
                          where != NULL ? "</table>\n</body>\n</html>\n" : "</body>\n</html>\n");
    if (b.error) {
        cf_status st = b.error;
        cf_buf_cleanup(&b);
        return st;
    }
    *out = cf_buf_take(&b, len);
    if (*out == NULL) {
        cf_buf_cleanup(&b);
        return CF_ERR_NOMEM;
    }
    return CF_OK;
}
