/* Joins PDFs made by cf_pdf_writer into one, written out as it goes, so that a print job of any
 * length needs the memory of one part only. The parts must come from writers given the same
 * fonts, character sets and document information: their fonts and document information are
 * then the same objects, byte for byte (checked), and are written once; each part's pages are
 * renumbered after the previous part's. Only libharu's own output layout is read (classic
 * cross-reference table, one object after another), never a PDF from elsewhere. */
#ifndef CF_PDF_JOIN_H
#define CF_PDF_JOIN_H

#include "base/diag.h"
#include "base/status.h"

#include <stddef.h>

/* Receives the joined PDF's bytes, in order. */
typedef cf_status (*cf_pdf_sink)(void *ctx, const void *data, size_t len);

typedef struct cf_pdf_join cf_pdf_join;

cf_pdf_join *cf_pdf_join_new(cf_pdf_sink sink, void *ctx);
/* Appends the pages of pdf (len bytes); the first part also gives the shared objects. A part
 * that does not fit (other fonts, a layout it does not know) is CF_ERR_INTERNAL. */
cf_status cf_pdf_join_add(cf_pdf_join *join, const unsigned char *pdf, size_t len, cf_diag *diag);
/* Writes the page tree, catalogue, cross-reference table and trailer. */
cf_status cf_pdf_join_finish(cf_pdf_join *join, cf_diag *diag);
/* Pages joined so far. */
size_t cf_pdf_join_pages(const cf_pdf_join *join);
void cf_pdf_join_free(cf_pdf_join *join);

#endif
