/* The display list (see display_list.h): pages of items in an arena, and a stable dump. */
#include "layout/display_list.h"

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* A document's list is small (a few thousand items); the cap only stops runaway input. */
#define LIST_ARENA_CAP ((size_t)256 * 1024 * 1024)

typedef struct page_state {
    size_t cap;
} page_state;

struct cf_display_list_internal {
    cf_arena *arena;
    size_t cap_pages;
    page_state *state; /* one per page: capacity of its item array */
};

cf_display_list *cf_display_list_new(double width, double height, const cf_fontset *fonts)
{
    cf_display_list *list = cf_calloc(1, sizeof *list);
    if (list == NULL)
        return NULL;
    list->internal = cf_calloc(1, sizeof *list->internal);
    if (list->internal == NULL || (list->internal->arena = cf_arena_new(LIST_ARENA_CAP)) == NULL) {
        cf_free(list->internal);
        cf_free(list);
        return NULL;
    }
    list->width = width;
    list->height = height;
    list->fonts = fonts;
    list->info.created = -1;
    return list;
}

void cf_display_list_free(cf_display_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->n_pages; i++)
        cf_free(list->pages[i].items);
    cf_free(list->pages);
    cf_free(list->internal->state);
    cf_arena_free(list->internal->arena);
    cf_free(list->internal);
    cf_free(list);
}

const char *cf_display_list_strdup(cf_display_list *list, const char *s, size_t len)
{
    char *copy = cf_arena_alloc(list->internal->arena, len + 1);
    if (copy == NULL)
        return NULL;
    if (len > 0)
        memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

size_t cf_display_list_add_page(cf_display_list *list)
{
    struct cf_display_list_internal *in = list->internal;
    if (list->n_pages == in->cap_pages) {
        /* Two arrays of one length: the first grows on a copy of the count. */
        size_t cap = in->cap_pages;
        cf_page *pages = cf_grow_array(list->pages, &cap, list->n_pages + 1, sizeof *pages, 4);
        if (pages == NULL)
            return (size_t)-1;
        list->pages = pages;
        page_state *state =
            cf_grow_array(in->state, &in->cap_pages, list->n_pages + 1, sizeof *state, 4);
        if (state == NULL)
            return (size_t)-1;
        in->state = state;
    }
    list->pages[list->n_pages] = (cf_page){NULL, 0, 0, 0};
    in->state[list->n_pages].cap = 0;
    return list->n_pages++;
}

cf_status cf_display_list_add_item(cf_display_list *list, size_t page, const cf_item *item)
{
    if (page >= list->n_pages)
        return CF_ERR_INTERNAL;
    cf_page *pg = &list->pages[page];
    page_state *st = &list->internal->state[page];
    if (pg->n_items == st->cap) {
        cf_item *items = cf_grow_array(pg->items, &st->cap, pg->n_items + 1, sizeof *items, 64);
        if (items == NULL)
            return CF_ERR_NOMEM;
        pg->items = items;
    }
    pg->items[pg->n_items++] = *item;
    return CF_OK;
}

cf_status cf_display_list_copy_items(cf_display_list *list, size_t page, const cf_item *items,
                                     size_t n)
{
    if (page >= list->n_pages)
        return CF_ERR_INTERNAL;
    cf_page *pg = &list->pages[page];
    page_state *st = &list->internal->state[page];
    if (pg->n_items + n > st->cap) {
        cf_item *grown = cf_grow_array(pg->items, &st->cap, pg->n_items + n, sizeof *grown, 64);
        if (grown == NULL)
            return CF_ERR_NOMEM;
        pg->items = grown;
    }
    for (size_t i = 0; i < n; i++) {
        cf_item it = items[i];
        if (it.kind == CF_ITEM_TEXT) {
            it.u.text.utf8 = cf_display_list_strdup(list, it.u.text.utf8, it.u.text.len);
            if (it.u.text.utf8 == NULL)
                return CF_ERR_NOMEM;
        } else if (it.kind == CF_ITEM_MODULES) {
            size_t bytes = (size_t)it.u.modules.count * it.u.modules.count;
            const char *dark = cf_display_list_strdup(list, (const char *)it.u.modules.dark, bytes);
            if (dark == NULL)
                return CF_ERR_NOMEM;
            it.u.modules.dark = (const unsigned char *)dark;
        }
        pg->items[pg->n_items++] = it;
    }
    return CF_OK;
}

/* ---- dump ----------------------------------------------------------------------------- */

/* A number with two decimals, written without the C library (no locale can change it). */
static void put_number(cf_buf *out, double v)
{
    if (!isfinite(v)) {
        cf_buf_append_str(out, "nan");
        return;
    }
    if (fabs(v) >= 1e15) { /* llround would overflow; no page is this large */
        cf_buf_append_str(out, v < 0 ? "-huge" : "huge");
        return;
    }
    long long cents = llround(v * 100.0);
    char digits[32];
    size_t n = 0;
    bool negative = cents < 0;
    unsigned long long a =
        negative ? (unsigned long long)(-(cents + 1)) + 1u : (unsigned long long)cents;
    do {
        digits[n++] = (char)('0' + (int)(a % 10u));
        a /= 10u;
        if (n == 2)
            digits[n++] = '.';
    } while (a > 0 || n < 4);
    if (negative)
        cf_buf_putc(out, '-');
    while (n > 0)
        cf_buf_putc(out, digits[--n]);
}

static void put_field(cf_buf *out, const char *name, double v)
{
    cf_buf_putc(out, ' ');
    if (name != NULL) {
        cf_buf_append_str(out, name);
        cf_buf_putc(out, '=');
    }
    put_number(out, v);
}

/* The text in double quotes; quote, backslash and ASCII control bytes escaped (\xNN) so that
 * each item stays on one line of the dump whatever the text holds. */
static void put_quoted(cf_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    cf_buf_append_str(out, " \"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            cf_buf_append(out, esc, sizeof esc);
            continue;
        }
        if (c == '"' || c == '\\')
            cf_buf_putc(out, '\\');
        cf_buf_putc(out, s[i]);
    }
    cf_buf_putc(out, '"');
}

cf_status cf_display_list_dump(const cf_display_list *list, char **out, size_t *len)
{
    cf_buf b;
    cf_buf_init(&b, (size_t)64 * 1024 * 1024);
    cf_buf_append_str(&b, "size");
    put_field(&b, NULL, list->width);
    put_field(&b, NULL, list->height);
    cf_buf_printf(&b, " pages %zu\n", list->n_pages);
    for (size_t p = 0; p < list->n_pages; p++) {
        cf_buf_printf(&b, "page %zu\n", p + 1);
        for (size_t i = 0; i < list->pages[p].n_items; i++) {
            const cf_item *it = &list->pages[p].items[i];
            switch (it->kind) {
            case CF_ITEM_TEXT:
                cf_buf_append_str(&b, it->u.text.style == CF_FONT_BOLD ? "text B" : "text R");
                put_field(&b, NULL, it->x);
                put_field(&b, NULL, it->y);
                put_field(&b, "size", it->u.text.size);
                if (it->u.text.char_spacing != 0)
                    put_field(&b, "tc", it->u.text.char_spacing);
                if (it->u.text.gray != 0)
                    put_field(&b, "gray", it->u.text.gray);
                put_quoted(&b, it->u.text.utf8, it->u.text.len);
                break;
            case CF_ITEM_LINE:
                cf_buf_append_str(&b, it->u.line.dashed ? "line dashed" : "line");
                put_field(&b, NULL, it->x);
                put_field(&b, NULL, it->y);
                put_field(&b, NULL, it->u.line.x2);
                put_field(&b, NULL, it->u.line.y2);
                put_field(&b, "w", it->u.line.width);
                if (it->u.line.gray != 0)
                    put_field(&b, "gray", it->u.line.gray);
                break;
            case CF_ITEM_RECT:
                cf_buf_append_str(&b, "rect");
                put_field(&b, NULL, it->x);
                put_field(&b, NULL, it->y);
                put_field(&b, NULL, it->u.rect.w);
                put_field(&b, NULL, it->u.rect.h);
                if (it->u.rect.stroke_width > 0)
                    put_field(&b, "stroke", it->u.rect.stroke_width);
                if (it->u.rect.fill_gray >= 0)
                    put_field(&b, "fill", it->u.rect.fill_gray);
                break;
            case CF_ITEM_MODULES: {
                /* The pattern as a count of dark modules and an FNV-1a hash. */
                uint32_t h = 2166136261u;
                size_t dark = 0, n = (size_t)it->u.modules.count * it->u.modules.count;
                for (size_t k = 0; k < n; k++) {
                    h = (h ^ it->u.modules.dark[k]) * 16777619u;
                    dark += it->u.modules.dark[k] != 0;
                }
                cf_buf_append_str(&b, "modules");
                put_field(&b, NULL, it->x);
                put_field(&b, NULL, it->y);
                cf_buf_printf(&b, " count=%u", it->u.modules.count);
                put_field(&b, "module", it->u.modules.module);
                cf_buf_printf(&b, " dark=%zu hash=%08x", dark, (unsigned)h);
                break;
            }
            }
            cf_buf_putc(&b, '\n');
        }
    }
    if (b.error != CF_OK) {
        cf_status st = b.error;
        cf_buf_cleanup(&b);
        return st;
    }
    *out = cf_buf_take(&b, len);
    if (*out == NULL) {
        /* An empty dump still needs a string. */
        *out = cf_strdup("");
        *len = 0;
        return *out != NULL ? CF_OK : CF_ERR_NOMEM;
    }
    return CF_OK;
}
