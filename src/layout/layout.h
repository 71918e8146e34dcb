/* Layout: a form plus a patient record becomes a display list (measured with HarfBuzz advances,
 * lines broken per clreq, paginated, with page furniture). Never calls libharu. */
#ifndef CF_LAYOUT_H
#define CF_LAYOUT_H

#include "base/diag.h"
#include "base/status.h"
#include "data/record.h"
#include "form/form.h"
#include "layout/display_list.h"

#include <stdbool.h>

typedef enum cf_paper {
    CF_PAPER_A4,     /* 595.28 x 841.89 pt */
    CF_PAPER_LETTER, /* 612 x 792 pt */
} cf_paper;

/* Bodies laid out once for many patients: what pagination made of the form's sections for one
 * set of inputs the body depends on (body size, label box height, the record values the text
 * shows or filters on: ticked procedures, inline fields), kept for the next document with the
 * same inputs. A document laid out through a cache is item for item the one a fresh layout
 * makes; its pages carry n_shared / shared_id. Safe to share between threads. */
typedef struct cf_layout_cache cf_layout_cache;
cf_layout_cache *cf_layout_cache_new(void);
void cf_layout_cache_free(cf_layout_cache *cache);
/* How many layouts found their body in the cache (hits) and how many laid it out (misses). */
void cf_layout_cache_stats(cf_layout_cache *cache, size_t *hits, size_t *misses);
/* True unless $CONSENTFORM_NO_BODY_CACHE is set to a non-empty value: then no body is reused
 * (the uncached path, for comparisons and A/B measurements). */
bool cf_layout_cache_enabled(void);

typedef struct cf_layout_options {
    cf_paper paper;
    bool blank;              /* empty label box at gum-label size, no patient values, no
                                document id: the footer says "Blank form" and the QR code
                                "BLANK/page/pages/form@version" (unless characters_only) */
    const char *document_id; /* printed in every footer (not on a blank form); NULL = none */
    long long created;       /* for the PDF info; < 0 = none */
    bool characters_only;    /* the list is only read for its characters: no QR codes */
    bool pad_to_even;        /* an odd page count gets one more page that carries the patient
                                header and footer and says 此頁空白 This page is intentionally
                                left blank, so a double-sided sheet never holds two patients */
    cf_layout_cache *cache;  /* NULL: every body laid out afresh */
} cf_layout_options;

/* Lays out form for record (record may be NULL with blank). Errors (a label value too long for
 * the label box even at the smallest size, ...) go to diag with CF_ERR_DATA. Caller frees *out
 * with cf_display_list_free. */
cf_status cf_layout(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                    const cf_layout_options *options, cf_display_list **out, cf_diag *diag);

#endif
