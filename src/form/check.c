/* Semantic checks of a built form (FORMAT.md "Semantic checks"): what the schema cannot say. */
#include "form/form_internal.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/date.h"
#include "text/fold.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_MAX_ERRORS 50 /* messages beyond this are counted, not shown */

typedef struct checker {
    const cf_form *form;
    const struct cf_form_internal *internal;
    const char *file;
    cf_diag *diag;
    size_t errors;
    cf_status fatal;         /* CF_ERR_NOMEM */
    const cf_field **by_key; /* fields sorted by key, for look-ups */
    size_t n_by_key;
    const char **options; /* option keys of every choice field, sorted */
    size_t n_options;
} checker;

static void check_error(checker *c, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check_error(checker *c, long line, const char *fmt, ...)
{
    if (c->errors > CHECK_MAX_ERRORS)
        return;
    if (c->errors == CHECK_MAX_ERRORS) {
        cf_diag_add(c->diag, CF_DIAG_NOTE, c->file, 0, 0,
                    "more than %d problems; only the first are shown", CHECK_MAX_ERRORS);
        c->errors++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    cf_diag_vadd(c->diag, CF_DIAG_ERROR, c->file, line, 0, fmt, ap);
    va_end(ap);
    c->errors++;
}

static void out_of_memory(checker *c)
{
    if (!c->fatal)
        cf_diag_error(c->diag, c->file, 0, "out of memory while checking the form");
    c->fatal = CF_ERR_NOMEM;
}

/* ---------------------------------------------------------------------------------------- */
/* Uniqueness: sort (key, line) pairs and compare neighbours                                 */
/* ---------------------------------------------------------------------------------------- */

typedef struct keyed {
    const char *key;
    long line;
} keyed;

static int compare_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int d = strcmp(x->key, y->key);
    if (d)
        return d;
    return (x->line > y->line) - (x->line < y->line);
}

/* Reports every key given more than once; what names it ("field key", "section id", ...). */
static void check_unique(checker *c, keyed *items, size_t n, const char *what, const char *hint)
{
    if (n < 2)
        return;
    qsort(items, n, sizeof *items, compare_keyed);
    size_t first = 0;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(items[i].key, items[first].key) != 0) {
            first = i;
            continue;
        }
        check_error(c, items[i].line, "%s \"%s\" is used twice (first on line %ld)%s", what,
                    items[i].key, items[first].line, hint);
    }
}

static void check_unique_keys(checker *c)
{
    const cf_form *form = c->form;
    keyed *items = cf_calloc(form->n_fields ? form->n_fields : 1, sizeof *items);
    if (!items) {
        out_of_memory(c);
        return;
    }
    for (size_t i = 0; i < form->n_fields; i++)
        items[i] = (keyed){form->fields[i].key, form->fields[i].line};
    check_unique(c, items, form->n_fields, "field key",
                 "; keys are unique across label fields and fields");
    cf_free(items);

    size_t n_ids = 0;
    for (size_t i = 0; i < form->n_sections; i++)
        n_ids += form->sections[i].id != NULL;
    items = cf_calloc(n_ids ? n_ids : 1, sizeof *items);
    if (!items) {
        out_of_memory(c);
        return;
    }
    n_ids = 0;
    for (size_t i = 0; i < form->n_sections; i++)
        if (form->sections[i].id)
            items[n_ids++] = (keyed){form->sections[i].id, form->sections[i].line};
    check_unique(c, items, n_ids, "section id", "");
    cf_free(items);
}

/* One name by which a CSV column finds a field, folded as the column matching folds it. */
typedef struct column_name {
    char *folded; /* owned */
    const char *name, *how;
    size_t field;
} column_name;

static int compare_column_names(const void *a, const void *b)
{
    const column_name *x = a, *y = b;
    int d = strcmp(x->folded, y->folded);
    if (d)
        return d;
    return (x->field > y->field) - (x->field < y->field);
}

/* A name (key, caption or alias, compared as CSV columns are: NFKC, case folding, no spaces,
 * '_', '-' or '.') given to two fields: a column so named could be either, so every list that
 * has it would be refused. */
static void check_column_names(checker *c)
{
    const cf_form *form = c->form;
    size_t total = 0, n = 0;
    for (size_t f = 0; f < form->n_fields; f++)
        total += 2 + form->fields[f].n_aliases;
    column_name *names = cf_calloc(total ? total : 1, sizeof *names);
    if (!names) {
        out_of_memory(c);
        return;
    }
    cf_buf folded;
    cf_buf_init(&folded, 1u << 16);
    for (size_t f = 0; f < form->n_fields && !c->fatal; f++) {
        const cf_field *field = &form->fields[f];
        for (size_t k = 0; k < 2 + field->n_aliases; k++) {
            const char *name = k == 0   ? field->key
                               : k == 1 ? field->caption
                                        : field->aliases[k - 2];
            if (!name)
                continue;
            cf_buf_reset(&folded);
            cf_status st = cf_text_fold_name(name, strlen(name), &folded);
            if (st == CF_ERR_NOMEM) {
                out_of_memory(c);
                break;
            }
            if (st != CF_OK || !folded.data || folded.len == 0)
                continue;
            names[n] = (column_name){.folded = cf_strdup(folded.data),
                                     .name = name,
                                     .how = k == 0   ? "key"
                                            : k == 1 ? "caption"
                                                     : "alias",
                                     .field = f};
            if (!names[n].folded) {
                out_of_memory(c);
                break;
            }
            n++;
        }
    }
    if (!c->fatal) {
        qsort(names, n, sizeof *names, compare_column_names);
        for (size_t i = 1, first = 0; i < n; i++) {
            if (strcmp(names[i].folded, names[first].folded) != 0) {
                first = i;
                continue;
            }
            /* The same field, or a key given twice (check_unique_keys reports that). */
            if (names[i].field == names[first].field ||
                (strcmp(names[i].how, "key") == 0 && strcmp(names[first].how, "key") == 0 &&
                 strcmp(names[i].name, names[first].name) == 0))
                continue;
            const cf_field *a = &form->fields[names[first].field];
            const cf_field *b = &form->fields[names[i].field];
            check_error(c, b->line,
                        "the %s \"%s\" of field %s is also the %s \"%s\" of field %s (line "
                        "%ld); a CSV column so named could be either: give each name to one "
                        "field",
                        names[i].how, names[i].name, b->key ? b->key : "?", names[first].how,
                        names[first].name, a->key ? a->key : "?", a->line);
        }
    }
    for (size_t i = 0; i < n; i++)
        cf_free(names[i].folded);
    cf_free(names);
    cf_buf_cleanup(&folded);
}

/* ---------------------------------------------------------------------------------------- */
/* Fields and options                                                                        */
/* ---------------------------------------------------------------------------------------- */

static bool is_choice(const cf_field *f)
{
    return f->type == CF_FIELD_CHOICE || f->type == CF_FIELD_MULTI_CHOICE;
}

static const char *type_name(cf_field_type type)
{
    switch (type) {
    case CF_FIELD_TEXT:
        return "text";
    case CF_FIELD_DATE:
        return "date";
    case CF_FIELD_CHOICE:
        return "choice";
    case CF_FIELD_MULTI_CHOICE:
        return "multi-choice";
    }
    return "?";
}

static void check_options(checker *c)
{
    const cf_form *form = c->form;
    for (size_t i = 0; i < form->n_fields && !c->fatal; i++) {
        const cf_field *f = &form->fields[i];
        if (!is_choice(f)) {
            if (f->n_options)
                check_error(c, f->line,
                            "field \"%s\" is of type %s and cannot have options; only choice and "
                            "multi-choice fields do",
                            f->key, type_name(f->type));
            continue;
        }
        if (f->n_options < 2)
            check_error(c, f->line, "field \"%s\" has %zu option%s; a %s field needs at least two",
                        f->key, f->n_options, f->n_options == 1 ? "" : "s", type_name(f->type));
        keyed *items = cf_calloc(f->n_options ? f->n_options : 1, sizeof *items);
        if (!items) {
            out_of_memory(c);
            return;
        }
        for (size_t k = 0; k < f->n_options; k++)
            items[k] = (keyed){f->options[k].key, f->options[k].text->line};
        check_unique(c, items, f->n_options, "option key",
                     "; option keys are unique within a field");
        cf_free(items);
    }
}

static int compare_field_keys(const void *a, const void *b)
{
    const cf_field *x = *(const cf_field *const *)a, *y = *(const cf_field *const *)b;
    return strcmp(x->key, y->key);
}

static int compare_key_to_field(const void *key, const void *elem)
{
    const cf_field *f = *(const cf_field *const *)elem;
    return strcmp(key, f->key);
}

/* Field by key through the sorted index (the form may be hostile and large). */
static const cf_field *find_field(const checker *c, const char *key)
{
    if (!c->n_by_key)
        return NULL;
    const cf_field *const *hit =
        bsearch(key, c->by_key, c->n_by_key, sizeof *c->by_key, compare_key_to_field);
    return hit ? *hit : NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* References from text, check boxes and risks                                               */
/* ---------------------------------------------------------------------------------------- */

static void check_text(checker *c, const cf_text *text)
{
    if (!text)
        return;
    for (size_t i = 0; i < text->n_spans; i++) {
        const cf_span *span = &text->spans[i];
        if (span->kind == CF_SPAN_FIELD && !find_field(c, span->field))
            check_error(c, text->line,
                        "<field ref=\"%s\"/> names no declared field; declare it in <label> or "
                        "<fields>",
                        span->field);
    }
}

static void check_texts(checker *c, const cf_text *const *texts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_text(c, texts[i]);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int compare_key_to_string(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

/* True when key is an option of some choice or multi-choice field. */
static bool is_procedure_option(const checker *c, const char *key)
{
    return c->n_options &&
           bsearch(key, c->options, c->n_options, sizeof *c->options, compare_key_to_string);
}

static void check_block_references(checker *c, const cf_block *block)
{
    switch (block->kind) {
    case CF_BLOCK_HEADING:
    case CF_BLOCK_PARAGRAPH:
        check_text(c, block->u.text);
        break;
    case CF_BLOCK_BULLETS:
    case CF_BLOCK_NUMBERED:
    case CF_BLOCK_DECLARATIONS:
    case CF_BLOCK_REFERENCES:
        check_texts(c, block->u.list.items, block->u.list.n_items);
        break;
    case CF_BLOCK_TABLE:
        if (block->u.table.header)
            check_texts(c, block->u.table.header, block->u.table.n_columns);
        for (size_t r = 0; r < block->u.table.n_rows; r++)
            check_texts(c, block->u.table.rows[r], block->u.table.n_columns);
        break;
    case CF_BLOCK_CHECKBOXES: {
        const char *key = block->u.checkboxes.field;
        const cf_field *f = key ? find_field(c, key) : NULL;
        if (!key)
            ; /* a structural error, reported by the loader */
        else if (!f)
            check_error(c, block->line,
                        "checkboxes field=\"%s\" names no declared field; declare it in "
                        "<fields> as a choice or multi-choice field",
                        key);
        else if (!is_choice(f))
            check_error(c, block->line,
                        "checkboxes field=\"%s\" names a %s field; check boxes need a choice or "
                        "multi-choice field",
                        key, type_name(f->type));
        check_text(c, block->u.checkboxes.prompt);
        break;
    }
    case CF_BLOCK_NOTE:
        check_texts(c, block->u.note.paragraphs, block->u.note.n_paragraphs);
        if (block->u.note.applies_to && !is_procedure_option(c, block->u.note.applies_to))
            check_error(c, block->line,
                        "note applies-to=\"%s\" names no option of a choice or multi-choice "
                        "field",
                        block->u.note.applies_to);
        break;
    case CF_BLOCK_RISKS:
        for (size_t i = 0; i < block->u.risks.n_risks; i++) {
            const cf_risk *risk = &block->u.risks.risks[i];
            check_text(c, risk->text);
            if (risk->applies_to && !is_procedure_option(c, risk->applies_to))
                check_error(c, risk->line,
                            "risk applies-to=\"%s\" names no option of a choice or "
                            "multi-choice field",
                            risk->applies_to);
            for (size_t k = 0; k < risk->n_cites; k++)
                if (!cf_form_risk_is_sourced(c->form,
                                             &(cf_risk){.cites = &risk->cites[k], .n_cites = 1}))
                    check_error(c, risk->line,
                                "risk cites \"%s\", which is not the id of a <ref> in the "
                                "form's references; write <ref id=\"%s\">…</ref> there or "
                                "correct the id",
                                risk->cites[k], risk->cites[k]);
            if (risk->rate && !cf_form_risk_is_sourced(c->form, risk))
                cf_diag_warning(c->diag, c->file, risk->line,
                                "risk gives rate=\"%s\" but cites no reference; the rate will "
                                "not be printed (add cites=\"…\" naming the source)",
                                risk->rate);
        }
        break;
    case CF_BLOCK_INSTRUCTIONS:
        check_texts(c, block->u.instructions.items, block->u.instructions.n_items);
        for (size_t i = 0; block->u.instructions.applies_to && i < block->u.instructions.n_items;
             i++) {
            const char *key = block->u.instructions.applies_to[i];
            if (key && !is_procedure_option(c, key))
                check_error(c, block->u.instructions.items[i]->line,
                            "instruction applies-to=\"%s\" names no option of a choice or "
                            "multi-choice field",
                            key);
        }
        break;
    case CF_BLOCK_SIGNATURES:
        for (size_t i = 0; i < block->u.signatures.n_blocks; i++)
            check_text(c, block->u.signatures.blocks[i].statement);
        break;
    }
}

static void check_references(checker *c)
{
    const cf_form *form = c->form;
    c->by_key = cf_calloc(form->n_fields ? form->n_fields : 1, sizeof *c->by_key);
    if (!c->by_key) {
        out_of_memory(c);
        return;
    }
    for (size_t i = 0; i < form->n_fields; i++)
        c->by_key[i] = &form->fields[i];
    c->n_by_key = form->n_fields;
    qsort(c->by_key, c->n_by_key, sizeof *c->by_key, compare_field_keys);

    size_t n_options = 0;
    for (size_t i = 0; i < form->n_fields; i++)
        if (is_choice(&form->fields[i]))
            n_options += form->fields[i].n_options;
    c->options = cf_calloc(n_options ? n_options : 1, sizeof *c->options);
    if (!c->options) {
        out_of_memory(c);
        return;
    }
    for (size_t i = 0; i < form->n_fields; i++)
        if (is_choice(&form->fields[i]))
            for (size_t k = 0; k < form->fields[i].n_options; k++)
                c->options[c->n_options++] = form->fields[i].options[k].key;
    qsort(c->options, c->n_options, sizeof *c->options, compare_strings);

    for (size_t i = 0; i < form->n_fields; i++)
        for (size_t k = 0; k < form->fields[i].n_options; k++)
            check_text(c, form->fields[i].options[k].text);
    for (size_t s = 0; s < form->n_sections; s++)
        for (size_t b = 0; b < form->sections[s].n_blocks; b++)
            check_block_references(c, &form->sections[s].blocks[b]);
}

/* ---------------------------------------------------------------------------------------- */
/* Bands, sections, signatures, consent requirements, metadata                               */
/* ---------------------------------------------------------------------------------------- */

static void check_bands(checker *c)
{
    const cf_form *form = c->form;
    long first_use[CF_FREQ_COUNT] = {0};
    for (size_t s = 0; s < form->n_sections; s++) {
        for (size_t b = 0; b < form->sections[s].n_blocks; b++) {
            const cf_block *block = &form->sections[s].blocks[b];
            if (block->kind != CF_BLOCK_RISKS)
                continue;
            for (size_t i = 0; i < block->u.risks.n_risks; i++) {
                const cf_risk *risk = &block->u.risks.risks[i];
                if (!first_use[risk->frequency])
                    first_use[risk->frequency] = risk->line;
            }
        }
    }
    for (int f = 0; f < CF_FREQ_COUNT; f++) {
        if (!first_use[f])
            continue;
        const char *name = cf_frequency_name((cf_frequency)f);
        if (!form->bands[f].caption)
            check_error(c, first_use[f],
                        "risk has frequency \"%s\" but <risk-bands> gives no caption for it; "
                        "add <band frequency=\"%s\" caption=\"…\"/>",
                        name, name);
        else if (form->show_band_meaning && !form->bands[f].meaning)
            cf_diag_warning(c->diag, c->file, c->internal->band_lines[f],
                            "band \"%s\" has no meaning although show-meaning is true; "
                            "nothing will be printed beside its caption",
                            name);
        else if (form->show_band_meaning && f != CF_FREQ_UNKNOWN &&
                 !cf_form_band_is_sourced(form, (cf_frequency)f))
            cf_diag_warning(c->diag, c->file, c->internal->band_lines[f],
                            "band \"%s\" asks to print its numbers (\"%s\") but a risk of it "
                            "(first on line %ld) cites no reference of the form; the numbers "
                            "will not be printed (add cites=\"…\" to every risk of the band, "
                            "or drop the meaning)",
                            name, form->bands[f].meaning, first_use[f]);
    }
}

/* Reference ids are unique within the form. */
static void check_reference_ids(checker *c)
{
    const cf_form *form = c->form;
    size_t n = 0;
    for (size_t s = 0; s < form->n_sections; s++)
        for (size_t b = 0; b < form->sections[s].n_blocks; b++)
            if (form->sections[s].blocks[b].kind == CF_BLOCK_REFERENCES)
                n += form->sections[s].blocks[b].u.list.n_items;
    keyed *items = cf_calloc(n ? n : 1, sizeof *items);
    if (!items) {
        out_of_memory(c);
        return;
    }
    n = 0;
    for (size_t s = 0; s < form->n_sections; s++)
        for (size_t b = 0; b < form->sections[s].n_blocks; b++) {
            const cf_block *block = &form->sections[s].blocks[b];
            if (block->kind != CF_BLOCK_REFERENCES || !block->u.list.ids)
                continue;
            for (size_t i = 0; i < block->u.list.n_items; i++)
                if (block->u.list.ids[i])
                    items[n++] = (keyed){block->u.list.ids[i], block->u.list.items[i]->line};
        }
    check_unique(c, items, n, "reference id", "");
    cf_free(items);
}

static void check_sections(checker *c)
{
    const cf_form *form = c->form;
    static const char *const role_names[] = {"body", "disclaimer", "references", "signing"};
    long first[4] = {0};
    for (size_t s = 0; s < form->n_sections; s++) {
        const cf_section *section = &form->sections[s];
        unsigned role = (unsigned)section->role;
        if (role == CF_SECTION_BODY || role >= 4)
            continue;
        if (first[role])
            check_error(c, section->line,
                        "a second section with role=\"%s\" (the first is on line %ld); a form "
                        "has one at most",
                        role_names[role], first[role]);
        else
            first[role] = section->line;
    }
}

static void check_signature(checker *c, const cf_signature_block *sig)
{
    if (sig->role == CF_ROLE_GUARDIAN && !sig->relationship_caption)
        check_error(c, sig->line,
                    "a guardian signature needs relationship=\"…\" (the caption of the line for "
                    "the guardian's relationship to the patient)");
    if (sig->role != CF_ROLE_GUARDIAN && sig->relationship_caption)
        check_error(c, sig->line,
                    "relationship=\"…\" is only for a guardian signature (role=\"guardian\")");
    if (sig->role == CF_ROLE_INTERPRETER && !sig->language_caption)
        check_error(c, sig->line,
                    "an interpreter signature needs language=\"…\" (the caption of the line for "
                    "the language interpreted)");
    if (sig->role != CF_ROLE_INTERPRETER && sig->language_caption)
        check_error(c, sig->line,
                    "language=\"…\" is only for an interpreter signature (role=\"interpreter\")");
}

static void check_signers_and_consent(checker *c)
{
    const cf_form *form = c->form;
    bool has_risk = false, has_alternatives = false, has_declarations = false;
    bool has_patient = false;
    for (size_t s = 0; s < form->n_sections; s++) {
        const cf_section *section = &form->sections[s];
        if (section->id && strcmp(section->id, "alternatives") == 0)
            has_alternatives = true;
        for (size_t b = 0; b < section->n_blocks; b++) {
            const cf_block *block = &section->blocks[b];
            if (block->kind == CF_BLOCK_RISKS && block->u.risks.n_risks)
                has_risk = true;
            else if (block->kind == CF_BLOCK_DECLARATIONS && block->u.list.n_items)
                has_declarations = true;
            else if (block->kind == CF_BLOCK_SIGNATURES) {
                for (size_t i = 0; i < block->u.signatures.n_blocks; i++) {
                    const cf_signature_block *sig = &block->u.signatures.blocks[i];
                    check_signature(c, sig);
                    has_patient = has_patient || sig->role == CF_ROLE_PATIENT;
                }
            }
        }
    }
    if (form->kind != CF_FORM_KIND_CONSENT)
        return;
    long line = c->internal->form_line;
    if (!has_risk)
        check_error(c, line, "a consent form needs at least one <risk> (inside <risks>)");
    if (!has_alternatives)
        check_error(c, line,
                    "a consent form needs a section on the alternatives: <section "
                    "id=\"alternatives\">");
    if (!has_declarations)
        check_error(c, line,
                    "a consent form needs <declarations> (the statements the signer affirms)");
    if (!has_patient)
        check_error(c, line,
                    "a consent form needs a patient signature: <signature "
                    "role=\"patient\" …/>");
}

static void check_metadata(checker *c, bool from_file)
{
    const cf_form *form = c->form;
    const struct cf_form_internal *in = c->internal;
    if (form->state == CF_FORM_STATE_APPROVED && !in->status_bad) {
        if (!form->approved_by)
            check_error(c, in->status_line,
                        "an approved form needs by=\"…\" on <status> (who approved it)");
        if (!form->approved_date)
            check_error(c, in->status_line,
                        "an approved form needs date=\"YYYY-MM-DD\" on <status> (when it was "
                        "approved)");
        else if (!cf_date_is_valid(form->approved_date))
            check_error(c, in->status_line, "status date \"%s\" is not a real calendar date",
                        form->approved_date);
    }
    if (form->effective_date && !cf_date_is_valid(form->effective_date))
        check_error(c, in->effective_line, "effective date \"%s\" is not a real calendar date",
                    form->effective_date);
    if (form->review_date && !cf_date_is_valid(form->review_date))
        check_error(c, in->review_line, "review-by date \"%s\" is not a real calendar date",
                    form->review_date);
    if (form->effective_date && form->review_date && cf_date_is_valid(form->effective_date) &&
        cf_date_is_valid(form->review_date) &&
        strcmp(form->review_date, form->effective_date) < 0)
        check_error(c, in->review_line,
                    "review-by date %s comes before the effective date %s; a form is reviewed "
                    "after it takes effect (correct one of the dates)",
                    form->review_date, form->effective_date);
    /* An approval cannot have happened after today: a future date is a typing error or a
     * form marked approved before the committee met. */
    char today[CF_FORM_DATE_SIZE];
    if (form->approved_date && cf_date_is_valid(form->approved_date)) {
        if (cf_form_today(today, c->diag) != CF_OK)
            c->errors++;
        else if (strcmp(form->approved_date, today) > 0)
            check_error(c, in->status_line,
                        "status date %s is in the future (today is %s); write the date the "
                        "committee approved the form, or keep it state=\"draft\" until then",
                        form->approved_date, today);
    }

    if (from_file && form->id) {
        const char *base = strrchr(c->file, '/');
        base = base ? base + 1 : c->file;
        size_t id_len = strlen(form->id);
        bool matches = strncmp(base, form->id, id_len) == 0 && strcmp(base + id_len, ".xml") == 0;
        if (!matches)
            check_error(c, in->form_line,
                        "form id \"%s\" does not match the file name \"%s\"; the file must be "
                        "named %s.xml",
                        form->id, base, form->id);
    }
}

cf_status cf_form_check(const cf_form *form, const char *file, bool from_file, cf_diag *diag)
{
    checker c = {.form = form, .internal = form->internal, .file = file, .diag = diag};
    check_metadata(&c, from_file);
    check_unique_keys(&c);
    check_column_names(&c);
    check_options(&c);
    check_references(&c);
    check_bands(&c);
    check_reference_ids(&c);
    check_sections(&c);
    check_signers_and_consent(&c);
    cf_free(c.by_key);
    cf_free(c.options);
    if (c.fatal)
        return c.fatal;
    return c.errors ? CF_ERR_DATA : CF_OK;
}
