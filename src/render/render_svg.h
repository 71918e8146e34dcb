/* SVG backend: paints a display list as one SVG file per page, for previews in a browser.
 * Text is drawn as glyph outlines read from the fonts with HarfBuzz, so a viewer needs no font:
 * each outline is read once per document and defined once in each page's <defs> (as a <path>
 * in font units), and every glyph drawn is a <use> of it. A page file is complete on its own
 * (no reference to another file), so a browser shows it from an <img> element too. Shares
 * nothing with the PDF backend but the display list. */
#ifndef CF_RENDER_SVG_H
#define CF_RENDER_SVG_H

#include "base/diag.h"
#include "base/status.h"
#include "layout/display_list.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cf_svg_pages {
    char **svg;  /* n page documents, NUL-terminated UTF-8; owned */
    size_t *len; /* their lengths */
    size_t n;
} cf_svg_pages;

/* Paints every page of list; release *out with cf_svg_pages_cleanup (also after a failure). */
cf_status cf_render_svg(const cf_display_list *list, cf_svg_pages *out, cf_diag *diag);
void cf_svg_pages_cleanup(cf_svg_pages *pages);

/* Where page (0-based) of a document written to target goes: when target is a folder (an
 * existing one, or a name ending in '/'), TARGET/page-1.svg, TARGET/page-2.svg, ...; otherwise
 * target is a prefix: TARGET-1.svg, TARGET-2.svg, ... (a final ".svg" of target is dropped, so
 * "leaflet.svg" gives leaflet-1.svg). Caller frees with cf_free; NULL when out of memory. */
char *cf_svg_page_path(const char *target, size_t page);

/* Writes the pages to their paths (cf_svg_page_path), each atomically. Without force, nothing
 * is written when any of them exists (CF_ERR_EXISTS). A folder target ending in '/' is
 * created when missing (not its parents). On failure the pages already written by this call
 * are removed again. */
cf_status cf_svg_pages_write(const cf_svg_pages *pages, const char *target, bool force,
                             cf_diag *diag);

#endif
