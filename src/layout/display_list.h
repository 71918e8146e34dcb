/* The display list: pages of positioned items, the only thing the PDF backend sees. Layout
 * decides every position; the backend only paints. Coordinates are PDF points with the origin
 * at the bottom-left corner of the page; text y is the baseline. All memory belongs to the
 * list's arena and is freed by cf_display_list_free. */
#ifndef CF_DISPLAY_LIST_H
#define CF_DISPLAY_LIST_H

#include "base/status.h"
#include "text/font.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cf_item_kind {
    CF_ITEM_TEXT,    /* a run of text in one font and size */
    CF_ITEM_LINE,    /* a straight stroked line */
    CF_ITEM_RECT,    /* a rectangle, stroked and/or filled */
    CF_ITEM_MODULES, /* a square matrix of dark/light modules (QR code), drawn as filled squares */
} cf_item_kind;

typedef struct cf_item {
    cf_item_kind kind;
    double x, y; /* TEXT: start of baseline; LINE: start; RECT/MODULES: bottom-left corner */
    union {
        struct {
            const char *utf8; /* NUL-terminated, valid UTF-8, every character in the font */
            size_t len;
            cf_font_style style;
            double size;         /* points */
            double char_spacing; /* extra space after each character (PDF Tc), points */
            double gray;         /* 0 = black */
        } text;
        struct {
            double x2, y2;
            double width; /* stroke width, points */
            double gray;
            bool dashed;
        } line;
        struct {
            double w, h;
            double stroke_width; /* 0 = not stroked */
            double fill_gray;    /* < 0 = not filled */
        } rect;
        struct {
            unsigned count;            /* modules per side */
            double module;             /* side of one module, points */
            const unsigned char *dark; /* count*count bytes, row-major from the top, 1 = dark */
        } modules;
    } u;
} cf_item;

typedef struct cf_page {
    cf_item *items;
    size_t n_items;
    /* The page's body laid out once for many patients (cf_layout_cache): items [0, n_shared)
     * are, item for item, the same on every page of this process with the same non-zero
     * shared_id (positions, strings, styles), so a backend may paint them once and reuse the
     * result. 0 / 0: nothing shared. */
    size_t n_shared;
    uint64_t shared_id;
} cf_page;

/* Document information written into the PDF. */
typedef struct cf_doc_info {
    const char *title;       /* form title */
    const char *subject;     /* "<form id> <version>" */
    const char *author;      /* may be NULL */
    const char *keywords;    /* may be NULL; the document id goes here */
    const char *document_id; /* may be NULL */
    long long created;       /* seconds since the epoch; < 0 = no date written */
} cf_doc_info;

typedef struct cf_display_list {
    double width, height;    /* page size, points */
    const cf_fontset *fonts; /* the faces text items refer to by style */
    cf_doc_info info;
    cf_page *pages;
    size_t n_pages;
    struct cf_display_list_internal *internal; /* arena and growth state; opaque */
} cf_display_list;

/* New empty list of pages width x height; caller frees with cf_display_list_free. */
cf_display_list *cf_display_list_new(double width, double height, const cf_fontset *fonts);
void cf_display_list_free(cf_display_list *list);
/* Copies s into the list's arena (valid until cf_display_list_free); NULL when out of memory. */
const char *cf_display_list_strdup(cf_display_list *list, const char *s, size_t len);
/* Appends a new empty page; returns its index or (size_t)-1 when out of memory. */
size_t cf_display_list_add_page(cf_display_list *list);
/* Appends a copy of item to page (strings and module arrays must already be in the arena). */
cf_status cf_display_list_add_item(cf_display_list *list, size_t page, const cf_item *item);
/* Appends copies of items[0..n) to page, their strings and module arrays copied into the list's
 * arena (the source may be freed afterwards). */
cf_status cf_display_list_copy_items(cf_display_list *list, size_t page, const cf_item *items,
                                     size_t n);
/* Stable text dump (one line per item, numbers with 2 decimals, locale-independent) for tests;
 * caller frees *out with cf_free. */
cf_status cf_display_list_dump(const cf_display_list *list, char **out, size_t *len);

#endif
