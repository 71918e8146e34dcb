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

/* Renders several documents into one PDF, in order, with the document info of the first. With
 * duplex, each document starts on an odd page (a blank page is inserted when needed). */
cf_status cf_render_pdf_combined(const cf_display_list *const *lists, size_t n, bool duplex,
                                 unsigned char **pdf, size_t *len, cf_diag *diag);

#endif
