/* Shared between the layout files: the page geometry, the flow of units that pagination places,
 * and the text setter. Units hold items positioned relative to their own top edge. */
#ifndef CF_LAYOUT_INTERNAL_H
#define CF_LAYOUT_INTERNAL_H

#include "base/buf.h"
#include "layout/layout.h"

#define CF_MM (72.0 / 25.4)

/* Page geometry, in points. */
typedef struct cf_geometry {
    double width, height;
    double left, right;   /* x of the text column's edges */
    double top;           /* y of the top of the first thing on a page */
    double bottom;        /* y below which body text never goes (top of the footer) */
    double footer_bottom; /* bottom margin */
} cf_geometry;

/* How strongly a unit is tied to the next one. */
typedef enum cf_keep {
    CF_KEEP_NONE,
    CF_KEEP_SOFT, /* prefer the same page (a signing section) */
    CF_KEEP_HARD, /* never split here unless the chain is taller than a page */
} cf_keep;

/* Ruled frame around units (note boxes, table rows): vertical rules at xs, a top rule at the
 * unit that opens it, a bottom rule at the unit that closes it, and both at page breaks. */
typedef struct cf_frame {
    double xs[16];
    unsigned n_xs;
    double stroke;
} cf_frame;

/* A horizontal slice of the flow that is never split: one line of text, a table row line, a
 * signature row. */
typedef struct cf_unit {
    double height;
    double space_before; /* dropped at the top of a page */
    cf_keep keep;        /* tie to the next unit */
    size_t first_item, n_items;
    const cf_frame *frame; /* NULL when not framed */
    bool frame_open, frame_close;
    long header_first; /* table: first unit of the header to repeat on a new page; -1 = none */
    size_t header_count;
} cf_unit;

/* A relative item: y values are distances down from the top of the unit (RECT: to its bottom
 * edge; LINE: both ends). */
typedef struct cf_flow {
    cf_unit *units;
    size_t n_units, cap_units;
    cf_item *items;
    size_t n_items, cap_items;
    cf_frame **frames;
    size_t n_frames, cap_frames;
} cf_flow;

/* An unfilled field: no-break spaces (they never end a line, so the blank is never dropped at
 * a line end) drawn with a rule under them. */
#define CF_LAYOUT_BLANK                                                                            \
    "\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2" \
    "\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0" \
    "\xc2\xa0"

/* One styled piece of a paragraph being set. */
enum {
    CF_STYLE_REGULAR,
    CF_STYLE_BOLD,
    CF_STYLE_BLANK, /* an unfilled field: spaces drawn with an underline */
    CF_STYLE_BLANK_BOLD,
    CF_STYLE_COUNT
};

/* A record value the body's flow read (key and value copied; value NULL when unset). */
typedef struct cf_layout_read {
    char *key;
    char *value;
} cf_layout_read;

typedef struct cf_layout_reads {
    cf_layout_read *v;
    size_t n, cap;
    bool failed; /* out of memory while noting one: the body must not be kept */
} cf_layout_reads;

/* Everything one layout run needs. */
typedef struct cf_layout_ctx {
    const cf_form *form;
    const cf_record *record;
    const cf_fontset *fonts;
    const cf_layout_options *options;
    cf_display_list *list;
    cf_diag *diag;
    cf_geometry geo;
    cf_flow flow;
    cf_buf text;           /* paragraph being set */
    unsigned char *styles; /* per byte of text */
    size_t styles_cap;
    cf_status status;      /* first failure; sticky */
    double body_top_first; /* y where the body starts on page 1 */
    double body_top_other; /* y where the body starts on later pages */
    /* Furniture items kept in the flow's item array, relative to geo.top. */
    size_t page1_first, page1_count;   /* title block and label box */
    size_t header_first, header_count; /* later pages' header */
    double qr_size, qr_quiet;          /* barcode symbol side and quiet zone, points */
    double body_size;                  /* body text size, points (12, or less for max-pages) */
    cf_layout_reads *reads;            /* while a body is flowed for the cache: what it read */
} cf_layout_ctx;

/* The record's value for key (NULL without a record), noted in ctx->reads when set. Every
 * read of the record while the sections are flowed goes through here: the body cache is only
 * right if it sees them all. */
const char *cf_layout_record_get(cf_layout_ctx *ctx, const char *key);
void cf_layout_reads_cleanup(cf_layout_reads *reads);

/* The inputs of a body besides the record values it reads (layout_cache.c). */
typedef struct cf_body_key {
    const cf_form *form;
    const cf_fontset *fonts;
    cf_paper paper;
    bool blank;
    double body_size, top_first, top_other, bottom, left, right;
} cf_body_key;

typedef struct cf_body_entry cf_body_entry;
/* A body made for key whose every read gives the same value in record (which may be NULL),
 * with a reference the caller gives back with cf_layout_cache_release; NULL when none. */
cf_body_entry *cf_layout_cache_find(cf_layout_cache *cache, const cf_body_key *key,
                                    const cf_record *record);
void cf_layout_cache_release(cf_layout_cache *cache, cf_body_entry *entry);
/* The pages the body takes (before any padding page). */
size_t cf_body_entry_content_pages(const cf_body_entry *entry);
/* Appends the body's pages to the empty list and marks them shared (n_shared, shared_id). */
cf_status cf_body_entry_emit(const cf_body_entry *entry, cf_display_list *list);
/* Keeps a copy of list's pages (the body only: called before any furniture) made from key and
 * reads, and marks them shared. Out of memory only means nothing is kept. */
void cf_layout_cache_store(cf_layout_cache *cache, const cf_body_key *key,
                           const cf_layout_reads *reads, cf_display_list *list,
                           size_t content_pages);

/* Records a failure (first one wins) and returns it. */
cf_status cf_layout_fail(cf_layout_ctx *ctx, cf_status status);

const cf_font *cf_layout_face(const cf_layout_ctx *ctx, bool bold);

/* Text setting: the paragraph buffer is filled with cf_layout_text_* and then set. */
void cf_layout_text_reset(cf_layout_ctx *ctx);
void cf_layout_text_add(cf_layout_ctx *ctx, const char *s, size_t len, unsigned style);
/* Adds inline text (spans, with fields filled from the record or left as a ruled blank). */
void cf_layout_text_add_inline(cf_layout_ctx *ctx, const cf_text *text, bool bold);

typedef struct cf_set_options {
    double x, width; /* column */
    double size;     /* points */
    double pitch;    /* line pitch, points */
    bool justify;    /* CJK inter-character justification (last line left-aligned) */
    double gray;
    const char *lang;
} cf_set_options;

/* A set line: items to put in a unit, relative to the unit top. */
typedef struct cf_set_line {
    size_t first_item, n_items;
    bool forced;
} cf_set_line;

/* Breaks the paragraph buffer into lines and appends their items to the flow's item array;
 * lines[i] tells which. *lines is freed by the caller with cf_free. baseline is the distance
 * from the unit's top to the baseline. */
cf_status cf_layout_set(cf_layout_ctx *ctx, const cf_set_options *opt, double baseline,
                        cf_set_line **lines, size_t *n_lines);

/* Appends an item (relative coordinates) to the flow; returns its index or (size_t)-1. */
size_t cf_flow_add_item(cf_layout_ctx *ctx, const cf_item *item);
/* Appends a unit holding items [first, first+n); returns a pointer valid until the next unit. */
cf_unit *cf_flow_add_unit(cf_layout_ctx *ctx, double height, double space_before, size_t first,
                          size_t n);
cf_frame *cf_flow_new_frame(cf_layout_ctx *ctx);

/* Text item helper (string copied into the list's arena). */
size_t cf_layout_add_text(cf_layout_ctx *ctx, const char *s, size_t len, bool bold, double size,
                          double x, double dy, double gray);

/* Furniture (furniture.c): measures page 1's title block and label box and the later pages'
 * header, setting body_top_first / body_top_other. */
cf_status cf_layout_prepare_furniture(cf_layout_ctx *ctx);
/* Paints title, label box, header and footer onto every page of the list. */
cf_status cf_layout_paint_furniture(cf_layout_ctx *ctx);
/* Appends the padding page of a combined job: "此頁空白 This page is intentionally left blank"
 * across the middle; the header and footer come with cf_layout_paint_furniture. */
void cf_layout_add_blank_page(cf_layout_ctx *ctx);

/* The value printed for field f (choice keys become their option texts); NULL when unset. The
 * result is in the list's arena. Uses (and empties) the paragraph buffer. */
const char *cf_layout_field_value(cf_layout_ctx *ctx, const cf_field *f);
/* Writes YYYY-MM-DD as Chinese running text writes a date ("2026 年 12 月 1 日"); false (out
 * unspecified) when iso is not of that shape or out is too small. */
bool cf_layout_chinese_date(const char *iso, char *out, size_t size);

#endif
