/* PDF backend: paints display lists with libharu (the only file that includes hpdf.h). Fonts
 * are embedded as per-document subsets; output is byte-identical for the same display lists. */
#ifndef CF_RENDER_PDF_H
#define CF_RENDER_PDF_H

#include "base/diag.h"
#include "base/status.h"
#include "layout/display_list.h"

#include <stdbool.h>
#include <stddef.h>

/* Renders one document (all pages of list) to PDF bytes; caller frees *pdf with cf_free. */
cf_status cf_render_pdf(const cf_display_list *list, unsigned char **pdf, size_t *len,
                        cf_diag *diag);

/* Compressed glyph records kept from one document to the next: documents of one form share
 * most glyphs, and compressing them is most of the cost of a PDF. Not thread-safe: one cache
 * per thread. A cache changes the speed, never the bytes written. */
typedef struct cf_glyph_cache cf_glyph_cache;
cf_glyph_cache *cf_glyph_cache_new(void);
void cf_glyph_cache_free(cf_glyph_cache *cache);

/* Fonts made once for a run of documents (a batch): per style, a subset of the face holding the
 * characters every document of the run draws plus the ASCII letters and digits, subset,
 * checked, compressed and described once. A document embeds it as it is (the same bytes and
 * character ids in every document of the run) and puts the few characters its own values add
 * into a second, small subset font of its own. Immutable once made: shared by every thread. */
typedef struct cf_pdf_fonts cf_pdf_fonts;
/* sets[s]: the run's characters in style s (cf_document_font_base); [0-9A-Za-z] are added.
 * Caller frees *out with cf_pdf_fonts_free. */
cf_status cf_pdf_fonts_new(const cf_fontset *fonts,
                           const cf_codepoints *const sets[CF_FONT_STYLE_COUNT], cf_pdf_fonts **out,
                           cf_diag *diag);
void cf_pdf_fonts_free(cf_pdf_fonts *fonts);
/* True unless $CONSENTFORM_NO_BATCH_FONTS is set to a non-empty value: then runs make every
 * document's fonts on their own (the uncached path, for comparisons and A/B measurements). */
bool cf_pdf_fonts_enabled(void);

/* The content of shared page bodies made once for a run of documents (see cf_page.n_shared):
 * per (shared_id, run fonts), the body's items painted into a content stream of their own and
 * compressed once; each later page with that body puts the same bytes first in its /Contents
 * and paints only its own items after them. A body is shared only when every character it
 * draws is in the run's fonts (the same codes in every document); otherwise its pages are
 * painted whole. Thread-safe: one per run, used by every worker. Changes the bytes written,
 * never what a page shows. */
typedef struct cf_body_streams cf_body_streams;
/* NULL when out of memory (documents are then painted whole). */
cf_body_streams *cf_body_streams_new(void);
void cf_body_streams_free(cf_body_streams *cache);
/* Pages painted with a kept body stream (*reused, the first painting included) and bodies
 * found not shareable (*whole). */
void cf_body_streams_stats(cf_body_streams *cache, size_t *reused, size_t *whole);

typedef struct cf_render_options {
    /* Per style, the characters most documents of a run draw (cf_document_font_base), whose
     * glyphs go first in the embedded subset and are compressed apart; NULL: none. The
     * same list and base give the same bytes. Not used with run_fonts. */
    const cf_codepoints *base[CF_FONT_STYLE_COUNT];
    cf_glyph_cache *glyph_cache; /* may be NULL */
    /* The run's fonts (made from the same font set as the lists'); NULL: a subset per
     * document. The same list and run fonts give the same bytes. A document refers to their
     * compressed bytes until it is saved (they are not copied): they must outlive every
     * document and cf_pdf_writer made with them. */
    const cf_pdf_fonts *run_fonts;
    /* Shared bodies' content streams (only with run_fonts); NULL: every page painted whole.
     * Like run_fonts, referred to until each document is saved: freed after the last. */
    cf_body_streams *body_streams;
} cf_render_options;

/* cf_render_pdf with options (may be NULL). */
cf_status cf_render_pdf_with(const cf_display_list *list, const cf_render_options *options,
                             unsigned char **pdf, size_t *len, cf_diag *diag);

/* Renders several documents into one PDF, in order, with the document info of the first. With
 * duplex, each document starts on an odd page (a blank page is inserted when needed). */
cf_status cf_render_pdf_combined(const cf_display_list *const *lists, size_t n, bool duplex,
                                 unsigned char **pdf, size_t *len, cf_diag *diag);

/* Streaming writer for one PDF holding many documents (a batch's combined print job) without
 * keeping their display lists: the characters every document will draw are collected first
 * (cf_display_list_codepoints, typically from a first layout pass), then each document's list
 * is painted as soon as it is laid out. All lists must use fonts. */
typedef struct cf_pdf_writer cf_pdf_writer;

/* Adds every character list draws, per style, to sets[CF_FONT_REGULAR] / sets[CF_FONT_BOLD]. */
void cf_display_list_codepoints(const cf_display_list *list,
                                cf_codepoints *const sets[CF_FONT_STYLE_COUNT]);

cf_status cf_pdf_writer_new(const cf_fontset *fonts,
                            const cf_codepoints *const sets[CF_FONT_STYLE_COUNT],
                            const cf_doc_info *info, cf_pdf_writer **out, cf_diag *diag);
/* cf_pdf_writer_new with render options (may be NULL; kept by reference). */
cf_status cf_pdf_writer_new_with(const cf_fontset *fonts,
                                 const cf_codepoints *const sets[CF_FONT_STYLE_COUNT],
                                 const cf_doc_info *info, const cf_render_options *options,
                                 cf_pdf_writer **out, cf_diag *diag);
/* Paints all pages of list; with duplex, first pads to an odd page. Every character list draws
 * must be in the sets given to cf_pdf_writer_new (lay out the same inputs in both passes). */
cf_status cf_pdf_writer_add(cf_pdf_writer *writer, const cf_display_list *list, bool duplex);
size_t cf_pdf_writer_pages(const cf_pdf_writer *writer);
/* For a writer that makes one part of a longer print job (see pdf_join.h): the pages before it,
 * so that with duplex each document still starts on an odd page of the whole job. */
void cf_pdf_writer_set_pages_before(cf_pdf_writer *writer, size_t pages);
/* Produces the PDF bytes (caller frees *pdf with cf_free) and frees the writer. */
cf_status cf_pdf_writer_finish(cf_pdf_writer *writer, unsigned char **pdf, size_t *len);
/* Frees a writer that will not be finished. */
void cf_pdf_writer_free(cf_pdf_writer *writer);

#endif
