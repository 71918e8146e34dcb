/* One issued document: a form laid out for one patient record, given a document id, and
 * rendered to PDF bytes. Also the form-level preflight (every character of the form's own text
 * is in the font) that runs once before any page is drawn. */
#ifndef CF_DOCUMENT_H
#define CF_DOCUMENT_H

#include "base/diag.h"
#include "base/status.h"
#include "data/record.h"
#include "form/form.h"
#include "layout/display_list.h"
#include "layout/layout.h"
#include "render/docid.h"
#include "render/render_pdf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cf_document_options {
    cf_paper paper;
    bool blank;              /* empty label box; record may be NULL */
    long long created;       /* issue time, seconds since the epoch (cf_document_time) */
    unsigned long sequence;  /* separates documents issued at the same second (e.g. CSV row) */
    bool keep_list;          /* keep the display list in the result */
    const char *document_id; /* NULL: made from the inputs (cf_docid_make); else used as is */
    const cf_render_options *render; /* font base and glyph cache for runs; may be NULL */
    bool characters_only;    /* cf_document_layout only for the characters drawn: no QR codes */
    bool unique_id;          /* the id keeps its random part even under SOURCE_DATE_EPOCH (an
                                archived document: two issues never share an id) */
    bool pad_to_even;        /* an odd page count gets a 此頁空白 page (combined print jobs) */
    const char *form_sha256; /* the form's fingerprint (cf_form_fingerprint) for the PDF's
                                Keywords; NULL: computed here */
    cf_layout_cache *layout_cache; /* bodies reused between documents; NULL: none */
} cf_document_options;

typedef struct cf_document {
    unsigned char *pdf; /* owned */
    size_t pdf_len;
    size_t pages;
    char document_id[CF_DOCUMENT_ID_SIZE]; /* "" for a blank form */
    cf_display_list *list;                 /* only with keep_list; owned */
} cf_document;

/* Lays out and renders form for record (already checked with cf_record_check). On failure
 * *doc holds nothing to free, but cf_document_cleanup is always safe. */
cf_status cf_document_render(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                             const cf_document_options *options, cf_document *doc, cf_diag *diag);
void cf_document_cleanup(cf_document *doc);

/* Only the layout step of cf_document_render: the display list with its document information
 * (title, subject, keywords = "DOCUMENT-ID form-sha256=FINGERPRINT", "blank form-sha256=..."
 * for a blank form, creation date), for a combined PDF. document_id receives the id used (""
 * for a blank form without options->document_id: never issued, no id). Caller frees *out
 * with cf_display_list_free. */
cf_status cf_document_layout(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                             const cf_document_options *options,
                             char document_id[CF_DOCUMENT_ID_SIZE], cf_display_list **out,
                             cf_diag *diag);

/* The characters, per style, that every document of form draws whatever the patient: those of
 * the form laid out with a blank label, less the ASCII letters and digits (document ids, page
 * numbers and hospital numbers make those vary). The base for cf_render_options: a batch's
 * documents then share the compressed glyphs of these. sets[] must be empty sets. */
cf_status cf_document_font_base(const cf_form *form, const cf_fontset *fonts, cf_paper paper,
                                cf_codepoints *const sets[CF_FONT_STYLE_COUNT], cf_diag *diag);

/* Issue time: $SOURCE_DATE_EPOCH when set (reproducible output), otherwise now. */
long long cf_document_time(void);
/* True when $SOURCE_DATE_EPOCH is set: ids and PDFs then depend only on the inputs. */
bool cf_document_reproducible(void);

/* Checks that every character of the form's own text is in both faces of fonts; each missing
 * character is reported as "FILE:LINE: character U+XXXX ..." and gives CF_ERR_DATA. */
cf_status cf_document_preflight(const cf_form *form, const cf_fontset *fonts, cf_diag *diag);

#endif
