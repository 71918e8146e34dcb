/* One issued document (see document.h). */
#include "render/document.h"

#include "base/alloc.h"
#include "base/utf8.h"
#include "render/render_pdf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long cf_document_time(void)
{
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    if (epoch != NULL && epoch[0] != '\0') {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(epoch, &end, 10);
        if (errno == 0 && end != NULL && *end == '\0' && v >= 0)
            return v;
    }
    return (long long)time(NULL);
}

bool cf_document_reproducible(void)
{
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    return epoch != NULL && epoch[0] != '\0';
}

void cf_document_cleanup(cf_document *doc)
{
    if (doc == NULL)
        return;
    cf_free(doc->pdf);
    cf_display_list_free(doc->list);
    doc->pdf = NULL;
    doc->list = NULL;
}

cf_status cf_document_layout(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                             const cf_document_options *options,
                             char document_id[CF_DOCUMENT_ID_SIZE], cf_display_list **out,
                             cf_diag *diag)
{
    *out = NULL;
    if (options->document_id != NULL) {
        if (options->document_id != document_id)
            snprintf(document_id, CF_DOCUMENT_ID_SIZE, "%s", options->document_id);
    } else if (options->blank) {
        document_id[0] = '\0'; /* a blank form is never issued: no id */
    } else {
        cf_docid_make(form, record, options->created, options->sequence,
                      options->unique_id || !cf_document_reproducible(), document_id);
    }
    cf_layout_options lo = {
        .paper = options->paper,
        .blank = options->blank,
        .document_id = document_id[0] != '\0' ? document_id : NULL,
        .created = options->created,
        .characters_only = options->characters_only,
        .pad_to_even = options->pad_to_even,
        .cache = options->layout_cache,
    };
    cf_display_list *list = NULL;
    cf_status st = cf_layout(form, options->blank ? NULL : record, fonts, &lo, &list, diag);
    if (st != CF_OK)
        return st;
    char subject[256];
    snprintf(subject, sizeof subject, "%s %s", form->id, form->version);
    list->info.title = cf_display_list_strdup(list, form->title, strlen(form->title));
    list->info.subject = cf_display_list_strdup(list, subject, strlen(subject));
    /* Keywords: the document id (a blank form says "blank": it has none), then the fingerprint
     * of the form text it was printed from. */
    char fingerprint[CF_SHA256_HEX_SIZE];
    if (options->form_sha256 != NULL)
        snprintf(fingerprint, sizeof fingerprint, "%s", options->form_sha256);
    else if (cf_form_fingerprint(form, fingerprint) != CF_OK) {
        cf_display_list_free(list);
        return CF_ERR_NOMEM;
    }
    char keywords[CF_DOCUMENT_ID_SIZE + CF_SHA256_HEX_SIZE + 16];
    snprintf(keywords, sizeof keywords, "%s form-sha256=%s",
             document_id[0] != '\0' ? document_id : "blank", fingerprint);
    list->info.keywords = cf_display_list_strdup(list, keywords, strlen(keywords));
    list->info.document_id = document_id[0] != '\0'
                                 ? cf_display_list_strdup(list, document_id, strlen(document_id))
                                 : NULL;
    list->info.author = form->source != NULL
                            ? cf_display_list_strdup(list, form->source, strlen(form->source))
                            : NULL;
    list->info.created = options->created;
    if (list->info.title == NULL || list->info.subject == NULL || list->info.keywords == NULL ||
        (document_id[0] != '\0' && list->info.document_id == NULL) ||
        (form->source != NULL && list->info.author == NULL)) {
        cf_display_list_free(list);
        return CF_ERR_NOMEM;
    }
    *out = list;
    return CF_OK;
}

cf_status cf_document_render(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                             const cf_document_options *options, cf_document *doc, cf_diag *diag)
{
    memset(doc, 0, sizeof *doc);
    cf_display_list *list = NULL;
    cf_status st = cf_document_layout(form, record, fonts, options, doc->document_id, &list, diag);
    if (st != CF_OK)
        return st;
    st = cf_render_pdf_with(list, options->render, &doc->pdf, &doc->pdf_len, diag);
    doc->pages = list->n_pages;
    if (st == CF_OK && options->keep_list)
        doc->list = list;
    else
        cf_display_list_free(list);
    if (st != CF_OK)
        cf_document_cleanup(doc);
    return st;
}

cf_status cf_document_font_base(const cf_form *form, const cf_fontset *fonts, cf_paper paper,
                                cf_codepoints *const sets[CF_FONT_STYLE_COUNT], cf_diag *diag)
{
    cf_document_options options = {
        .paper = paper,
        .blank = true,
        .created = 0,
        .document_id = "0000000000000",
        .characters_only = true,
    };
    char id[CF_DOCUMENT_ID_SIZE];
    cf_display_list *list = NULL;
    cf_status st = cf_document_layout(form, NULL, fonts, &options, id, &list, diag);
    if (st != CF_OK)
        return st;
    cf_codepoints *all[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    if (all[0] == NULL || all[1] == NULL) {
        st = CF_ERR_NOMEM;
    } else {
        cf_display_list_codepoints(list, all);
        for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
            for (uint32_t cp = CF_CODEPOINTS_START; cf_codepoints_next(all[s], &cp);) {
                bool varies = (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') ||
                              (cp >= 'a' && cp <= 'z');
                if (!varies)
                    cf_codepoints_add(sets[s], cp);
            }
    }
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
        cf_codepoints_free(all[s]);
    cf_display_list_free(list);
    return st;
}

/* ---- preflight ------------------------------------------------------------------------ */

typedef struct preflight {
    const cf_form *form;
    const cf_fontset *fonts;
    cf_diag *diag;
    size_t errors;
} preflight;

static void check_string(preflight *p, const char *s, long line)
{
    if (s == NULL)
        return;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = cf_utf8_decode(s + i, len - i, &cp);
        if (k == 0) {
            cf_diag_error(p->diag, p->form->path, line, "text is not valid UTF-8");
            p->errors++;
            return;
        }
        for (int f = 0; f < CF_FONT_STYLE_COUNT; f++) {
            if (cf_font_has(p->fonts->faces[f], cp))
                continue;
            if (p->errors < 50)
                cf_diag_error(p->diag, p->form->path, line,
                              "character U+%04X (\"%.*s\") is not in the font %s; it cannot be "
                              "printed",
                              (unsigned)cp, (int)k, s + i, cf_font_family(p->fonts->faces[f]));
            p->errors++;
            break;
        }
        i += k;
    }
}

static void check_text(preflight *p, const cf_text *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_spans; i++)
        if (t->spans[i].kind == CF_SPAN_TEXT)
            check_string(p, t->spans[i].text, t->line);
}

static void check_texts(preflight *p, const cf_text *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_text(p, items[i]);
}

static void check_block(preflight *p, const cf_block *b)
{
    switch (b->kind) {
    case CF_BLOCK_HEADING:
    case CF_BLOCK_PARAGRAPH:
        check_text(p, b->u.text);
        break;
    case CF_BLOCK_BULLETS:
    case CF_BLOCK_NUMBERED:
    case CF_BLOCK_DECLARATIONS:
    case CF_BLOCK_REFERENCES:
        check_texts(p, b->u.list.items, b->u.list.n_items);
        break;
    case CF_BLOCK_TABLE:
        if (b->u.table.header != NULL)
            check_texts(p, b->u.table.header, b->u.table.n_columns);
        for (size_t r = 0; r < b->u.table.n_rows; r++)
            check_texts(p, b->u.table.rows[r], b->u.table.n_columns);
        break;
    case CF_BLOCK_CHECKBOXES:
        check_text(p, b->u.checkboxes.prompt);
        break;
    case CF_BLOCK_NOTE:
        check_string(p, b->u.note.title, b->line);
        check_texts(p, b->u.note.paragraphs, b->u.note.n_paragraphs);
        break;
    case CF_BLOCK_RISKS:
        for (size_t i = 0; i < b->u.risks.n_risks; i++) {
            check_text(p, b->u.risks.risks[i].text);
            check_string(p, b->u.risks.risks[i].rate, b->u.risks.risks[i].line);
        }
        break;
    case CF_BLOCK_INSTRUCTIONS:
        check_texts(p, b->u.instructions.items, b->u.instructions.n_items);
        break;
    case CF_BLOCK_SIGNATURES:
        for (size_t i = 0; i < b->u.signatures.n_blocks; i++) {
            const cf_signature_block *s = &b->u.signatures.blocks[i];
            const char *captions[] = {s->caption,         s->name_caption, s->signature_caption,
                                      s->date_caption,    s->time_caption, s->relationship_caption,
                                      s->language_caption};
            for (size_t k = 0; k < sizeof captions / sizeof captions[0]; k++)
                check_string(p, captions[k], s->line);
            check_text(p, s->statement);
        }
        break;
    }
}

cf_status cf_document_preflight(const cf_form *form, const cf_fontset *fonts, cf_diag *diag)
{
    preflight p = {.form = form, .fonts = fonts, .diag = diag};
    check_string(&p, form->title, 0);
    check_string(&p, form->subtitle, 0);
    check_string(&p, form->source, 0);
    check_string(&p, form->label_caption, 0);
    check_string(&p, form->approved_by, 0);
    for (size_t i = 0; i < form->n_fields; i++) {
        const cf_field *f = &form->fields[i];
        check_string(&p, f->caption, f->line);
        for (size_t k = 0; k < f->n_options; k++)
            check_text(&p, f->options[k].text);
    }
    for (int b = 0; b < CF_FREQ_COUNT; b++) {
        check_string(&p, form->bands[b].caption, 0);
        check_string(&p, form->bands[b].meaning, 0);
    }
    for (size_t s = 0; s < form->n_sections; s++) {
        check_string(&p, form->sections[s].title, form->sections[s].line);
        for (size_t b = 0; b < form->sections[s].n_blocks; b++)
            check_block(&p, &form->sections[s].blocks[b]);
    }
    if (p.errors > 50)
        cf_diag_error(diag, form->path, 0, "%zu characters in all cannot be printed", p.errors);
    return p.errors > 0 ? CF_ERR_DATA : CF_OK;
}
