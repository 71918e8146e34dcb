/* The SVG backend (see render_svg.h). Coordinates of the display list have their origin at the
 * bottom-left of the page; SVG's is at the top-left, so every y becomes height - y here. */
#include "render/render_svg.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/utf8.h"
#include "text/outline.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A page of SVG may not grow beyond this. */
#define PAGE_LIMIT ((size_t)64 << 20)

/* Per style: each glyph's outline, read once per document, and the page whose <defs> holds it
 * already (page index + 1; 0 = none yet). */
typedef struct glyph_table {
    const cf_font *font;
    unsigned total;
    char **outline;     /* total entries; NULL = not read yet */
    size_t *defined_on; /* total entries */
    double unit;        /* 1 / units per em */
} glyph_table;

typedef struct painter {
    const cf_display_list *list;
    glyph_table glyphs[CF_FONT_STYLE_COUNT];
    cf_buf defs, body;
    cf_diag *diag;
} painter;

/* Appends v rounded to places decimals (at most 10), trailing zeros dropped, '.' as the
 * decimal point whatever the locale. */
static void put_number_places(cf_buf *b, double v, int places)
{
    double scale = 1;
    for (int i = 0; i < places; i++)
        scale *= 10;
    double r = round(v * scale);
    if (!(fabs(r) < 9e18))
        r = 0; /* never from a real display list */
    long long n = (long long)r;
    unsigned long long a = (unsigned long long)(n < 0 ? -n : n);
    unsigned long long s = (unsigned long long)scale;
    unsigned long long whole = a / s, frac = a % s;
    cf_buf_printf(b, "%s%llu", n < 0 ? "-" : "", whole);
    if (frac == 0)
        return;
    int digits = places;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    cf_buf_printf(b, ".%0*llu", digits, frac);
}

static void put_number(cf_buf *b, double v)
{
    put_number_places(b, v, 2);
}

/* Appends a gray level (0 = black, 1 = white) as an sRGB colour. */
static void put_gray(cf_buf *b, double gray)
{
    double g = gray < 0 ? 0 : gray > 1 ? 1 : gray;
    unsigned v = (unsigned)lround(g * 255.0);
    cf_buf_printf(b, "#%02x%02x%02x", v, v, v);
}

/* Appends s with the characters XML gives a meaning escaped. */
static void put_escaped(cf_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            cf_buf_append_str(b, "&amp;");
            break;
        case '<':
            cf_buf_append_str(b, "&lt;");
            break;
        case '>':
            cf_buf_append_str(b, "&gt;");
            break;
        case '"':
            cf_buf_append_str(b, "&quot;");
            break;
        default:
            cf_buf_putc(b, *s);
            break;
        }
    }
}

static void glyph_table_cleanup(glyph_table *t)
{
    if (t->outline != NULL)
        for (unsigned g = 0; g < t->total; g++)
            cf_free(t->outline[g]);
    cf_free(t->outline);
    cf_free(t->defined_on);
    memset(t, 0, sizeof *t);
}

/* The table of style, made on first use. */
static cf_status glyph_table_get(painter *p, int style, glyph_table **out)
{
    glyph_table *t = &p->glyphs[style];
    if (t->font == NULL) {
        const cf_font *font = p->list->fonts != NULL ? p->list->fonts->faces[style] : NULL;
        if (font == NULL) {
            cf_diag_error(p->diag, NULL, 0, "the SVG writer has no font for a text run in style %d",
                          style);
            return CF_ERR_INTERNAL;
        }
        t->total = cf_font_glyph_total(font);
        t->outline = cf_calloc(t->total, sizeof *t->outline);
        t->defined_on = cf_calloc(t->total, sizeof *t->defined_on);
        if (t->outline == NULL || t->defined_on == NULL) {
            glyph_table_cleanup(t);
            return CF_ERR_NOMEM;
        }
        t->unit = 1.0 / (double)cf_font_units_per_em(font);
        t->font = font;
    }
    *out = t;
    return CF_OK;
}

/* Draws one glyph at (x, baseline) in SVG coordinates: defines its outline in this page's
 * <defs> the first time the page uses it, then a <use> of it. A glyph without an outline (a
 * space) draws nothing. */
static cf_status draw_glyph(painter *p, glyph_table *t, int style, unsigned glyph, size_t page,
                            double x, double baseline, double size, double gray)
{
    if (t->outline[glyph] == NULL) {
        size_t len;
        cf_status st = cf_font_glyph_outline(t->font, glyph, &t->outline[glyph], &len);
        if (st != CF_OK)
            return st;
    }
    if (t->outline[glyph][0] == '\0')
        return CF_OK;
    char id = style == CF_FONT_BOLD ? 'b' : 'r';
    if (t->defined_on[glyph] != page + 1) {
        t->defined_on[glyph] = page + 1;
        cf_buf_printf(&p->defs, "<path id=\"%c%u\" transform=\"scale(", id, glyph);
        put_number_places(&p->defs, t->unit, 10);
        cf_buf_putc(&p->defs, ' ');
        put_number_places(&p->defs, -t->unit, 10);
        cf_buf_append_str(&p->defs, ")\" d=\"");
        /* The outline starts with a space before its first operator's numbers only. */
        cf_buf_append_str(&p->defs, t->outline[glyph]);
        cf_buf_append_str(&p->defs, "\"/>\n");
    }
    cf_buf_printf(&p->body, "<use xlink:href=\"#%c%u\" transform=\"matrix(", id, glyph);
    put_number_places(&p->body, size, 3);
    cf_buf_append_str(&p->body, " 0 0 ");
    put_number_places(&p->body, size, 3);
    cf_buf_putc(&p->body, ' ');
    put_number(&p->body, x);
    cf_buf_putc(&p->body, ' ');
    put_number(&p->body, baseline);
    cf_buf_append_str(&p->body, ")\"");
    if (gray > 0) {
        cf_buf_append_str(&p->body, " fill=\"");
        put_gray(&p->body, gray);
        cf_buf_putc(&p->body, '"');
    }
    cf_buf_append_str(&p->body, "/>\n");
    return CF_OK;
}

/* A text run: its characters one after the other along the baseline, each advanced by its
 * width (no kerning) plus the run's character spacing, as the PDF backend places them. */
static cf_status paint_text(painter *p, size_t page, const cf_item *it)
{
    int style = (int)it->u.text.style;
    if (it->u.text.len == 0)
        return CF_OK;
    if (style < 0 || style >= CF_FONT_STYLE_COUNT) {
        cf_diag_error(p->diag, NULL, 0, "the SVG writer met a text run in style %d", style);
        return CF_ERR_INTERNAL;
    }
    glyph_table *t;
    cf_status st = glyph_table_get(p, style, &t);
    if (st != CF_OK)
        return st;
    double x = it->x, baseline = p->list->height - it->y, size = it->u.text.size;
    const char *s = it->u.text.utf8;
    size_t len = it->u.text.len;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = cf_utf8_decode(s + i, len - i, &cp);
        unsigned glyph = k > 0 ? cf_font_glyph_of(t->font, cp) : 0;
        if (k == 0 || glyph == 0 || glyph >= t->total) {
            /* Layout checked every character against the font: this is a bug, never a blank. */
            cf_diag_error(p->diag, NULL, 0, "the SVG writer has no glyph for U+%04X in a text run",
                          (unsigned)cp);
            return CF_ERR_INTERNAL;
        }
        st = draw_glyph(p, t, style, glyph, page, x, baseline, size, it->u.text.gray);
        if (st != CF_OK)
            return st;
        x += cf_font_advance(t->font, cp, size) + it->u.text.char_spacing;
        i += k;
    }
    return CF_OK;
}

static void paint_line(painter *p, const cf_item *it)
{
    cf_buf *b = &p->body;
    double h = p->list->height;
    cf_buf_append_str(b, "<line x1=\"");
    put_number(b, it->x);
    cf_buf_append_str(b, "\" y1=\"");
    put_number(b, h - it->y);
    cf_buf_append_str(b, "\" x2=\"");
    put_number(b, it->u.line.x2);
    cf_buf_append_str(b, "\" y2=\"");
    put_number(b, h - it->u.line.y2);
    cf_buf_append_str(b, "\" stroke=\"");
    put_gray(b, it->u.line.gray);
    cf_buf_append_str(b, "\" stroke-width=\"");
    put_number(b, it->u.line.width);
    cf_buf_putc(b, '"');
    if (it->u.line.dashed)
        cf_buf_append_str(b, " stroke-dasharray=\"3 2\"");
    cf_buf_append_str(b, "/>\n");
}

static void paint_rect(painter *p, const cf_item *it)
{
    bool filled = it->u.rect.fill_gray >= 0, stroked = it->u.rect.stroke_width > 0;
    if (!filled && !stroked)
        return;
    cf_buf *b = &p->body;
    cf_buf_append_str(b, "<rect x=\"");
    put_number(b, it->x);
    cf_buf_append_str(b, "\" y=\"");
    put_number(b, p->list->height - (it->y + it->u.rect.h));
    cf_buf_append_str(b, "\" width=\"");
    put_number(b, it->u.rect.w);
    cf_buf_append_str(b, "\" height=\"");
    put_number(b, it->u.rect.h);
    cf_buf_append_str(b, "\" fill=\"");
    if (filled)
        put_gray(b, it->u.rect.fill_gray);
    else
        cf_buf_append_str(b, "none");
    cf_buf_putc(b, '"');
    if (stroked) {
        cf_buf_append_str(b, " stroke=\"#000000\" stroke-width=\"");
        put_number(b, it->u.rect.stroke_width);
        cf_buf_putc(b, '"');
    }
    cf_buf_append_str(b, "/>\n");
}

/* A QR code: one path of the dark runs of each row, filled black. */
static void paint_modules(painter *p, const cf_item *it)
{
    cf_buf *b = &p->body;
    unsigned n = it->u.modules.count;
    double m = it->u.modules.module;
    cf_buf_append_str(b, "<path fill=\"#000000\" shape-rendering=\"crispEdges\" d=\"");
    for (unsigned row = 0; row < n; row++) {
        double top = p->list->height - (it->y + (double)(n - row) * m);
        for (unsigned col = 0; col < n;) {
            if (!it->u.modules.dark[(size_t)row * n + col]) {
                col++;
                continue;
            }
            unsigned end = col;
            while (end < n && it->u.modules.dark[(size_t)row * n + end])
                end++;
            cf_buf_putc(b, 'M');
            put_number(b, it->x + (double)col * m);
            cf_buf_putc(b, ' ');
            put_number(b, top);
            cf_buf_putc(b, 'h');
            put_number(b, (double)(end - col) * m);
            cf_buf_putc(b, 'v');
            put_number(b, m);
            cf_buf_putc(b, 'h');
            put_number(b, -(double)(end - col) * m);
            cf_buf_putc(b, 'Z');
            col = end;
        }
    }
    cf_buf_append_str(b, "\"/>\n");
}

/* Paints page index page into *svg (caller frees with cf_free). */
static cf_status paint_page(painter *p, size_t page, char **svg, size_t *len)
{
    const cf_display_list *list = p->list;
    const cf_page *pg = &list->pages[page];
    cf_buf_reset(&p->defs);
    cf_buf_reset(&p->body);
    for (size_t i = 0; i < pg->n_items; i++) {
        const cf_item *it = &pg->items[i];
        cf_status st = CF_OK;
        switch (it->kind) {
        case CF_ITEM_TEXT:
            st = paint_text(p, page, it);
            break;
        case CF_ITEM_LINE:
            paint_line(p, it);
            break;
        case CF_ITEM_RECT:
            paint_rect(p, it);
            break;
        case CF_ITEM_MODULES:
            paint_modules(p, it);
            break;
        }
        if (st != CF_OK)
            return st;
    }
    cf_buf out;
    cf_buf_init(&out, PAGE_LIMIT);
    cf_buf_append_str(&out,
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" width=\"");
    put_number(&out, list->width);
    cf_buf_append_str(&out, "pt\" height=\"");
    put_number(&out, list->height);
    cf_buf_append_str(&out, "pt\" viewBox=\"0 0 ");
    put_number(&out, list->width);
    cf_buf_putc(&out, ' ');
    put_number(&out, list->height);
    cf_buf_append_str(&out, "\">\n<title>");
    if (list->info.title != NULL) {
        put_escaped(&out, list->info.title);
        cf_buf_append_str(&out, " ");
    }
    cf_buf_printf(&out, "(page %zu of %zu)</title>\n<defs>\n", page + 1, list->n_pages);
    cf_buf_append(&out, p->defs.data, p->defs.len);
    /* White paper under everything, as a PDF viewer shows it. */
    cf_buf_append_str(&out, "</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    cf_buf_append(&out, p->body.data, p->body.len);
    cf_buf_append_str(&out, "</svg>\n");
    cf_status st = p->defs.error != CF_OK   ? p->defs.error
                   : p->body.error != CF_OK ? p->body.error
                                            : out.error;
    if (st != CF_OK) {
        cf_buf_cleanup(&out);
        if (st == CF_ERR_LIMIT)
            cf_diag_error(p->diag, NULL, 0, "page %zu of the SVG preview is over %zu MB", page + 1,
                          PAGE_LIMIT >> 20);
        return st;
    }
    *svg = cf_buf_take(&out, len);
    return *svg != NULL ? CF_OK : CF_ERR_NOMEM;
}

cf_status cf_render_svg(const cf_display_list *list, cf_svg_pages *out, cf_diag *diag)
{
    memset(out, 0, sizeof *out);
    painter p = {.list = list, .diag = diag};
    cf_buf_init(&p.defs, PAGE_LIMIT);
    cf_buf_init(&p.body, PAGE_LIMIT);
    cf_status st = CF_OK;
    if (list->n_pages > 0) {
        out->svg = cf_calloc(list->n_pages, sizeof *out->svg);
        out->len = cf_calloc(list->n_pages, sizeof *out->len);
        if (out->svg == NULL || out->len == NULL)
            st = CF_ERR_NOMEM;
    }
    for (size_t i = 0; st == CF_OK && i < list->n_pages; i++) {
        st = paint_page(&p, i, &out->svg[i], &out->len[i]);
        if (st == CF_OK)
            out->n = i + 1;
    }
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
        glyph_table_cleanup(&p.glyphs[s]);
    cf_buf_cleanup(&p.defs);
    cf_buf_cleanup(&p.body);
    if (st == CF_ERR_NOMEM)
        cf_diag_error(diag, NULL, 0, "out of memory while drawing the SVG preview");
    return st;
}

void cf_svg_pages_cleanup(cf_svg_pages *pages)
{
    if (pages == NULL)
        return;
    if (pages->svg != NULL)
        for (size_t i = 0; i < pages->n; i++)
            cf_free(pages->svg[i]);
    cf_free(pages->svg);
    cf_free(pages->len);
    memset(pages, 0, sizeof *pages);
}

/* True when target names a folder: it ends in '/' or is an existing folder. */
static bool is_folder_target(const char *target)
{
    size_t n = strlen(target);
    struct stat st;
    return (n > 0 && target[n - 1] == '/') || (stat(target, &st) == 0 && S_ISDIR(st.st_mode));
}

char *cf_svg_page_path(const char *target, size_t page)
{
    cf_buf b;
    cf_buf_init(&b, (size_t)1 << 16);
    size_t n = strlen(target);
    if (is_folder_target(target)) {
        cf_buf_append_str(&b, target);
        if (n == 0 || target[n - 1] != '/')
            cf_buf_putc(&b, '/');
        cf_buf_printf(&b, "page-%zu.svg", page + 1);
    } else {
        if (n > 4 && strcmp(target + n - 4, ".svg") == 0)
            n -= 4;
        cf_buf_append(&b, target, n);
        cf_buf_printf(&b, "-%zu.svg", page + 1);
    }
    if (b.error != CF_OK) {
        cf_buf_cleanup(&b);
        return NULL;
    }
    size_t len;
    return cf_buf_take(&b, &len);
}

/* The folder the page files go into, for its fsync; caller frees. */
static char *target_folder(const char *target, const char *first_page)
{
    (void)target;
    const char *slash = strrchr(first_page, '/');
    if (slash == NULL)
        return cf_strdup(".");
    if (slash == first_page)
        return cf_strdup("/");
    return cf_strndup(first_page, (size_t)(slash - first_page));
}

cf_status cf_svg_pages_write(const cf_svg_pages *pages, const char *target, bool force,
                             cf_diag *diag)
{
    cf_status st = CF_OK;
    size_t written = 0;
    char *folder = NULL;
    char **paths = pages->n > 0 ? cf_calloc(pages->n, sizeof *paths) : NULL;
    if (pages->n == 0) {
        cf_diag_error(diag, target, 0, "the document has no pages to write");
        return CF_ERR_INTERNAL;
    }
    if (paths == NULL)
        return CF_ERR_NOMEM;
    size_t n = strlen(target);
    if (n > 0 && target[n - 1] == '/') {
        st = cf_file_make_dir(target, diag);
        if (st != CF_OK)
            goto out;
    }
    for (size_t i = 0; i < pages->n; i++) {
        paths[i] = cf_svg_page_path(target, i);
        if (paths[i] == NULL) {
            st = CF_ERR_NOMEM;
            goto out;
        }
        /* Checked for every page before the first is written: all or nothing. */
        struct stat sb;
        if (!force && lstat(paths[i], &sb) == 0) {
            cf_diag_error(diag, paths[i], 0, "exists; not overwritten (use --force)");
            st = CF_ERR_EXISTS;
            goto out;
        }
    }
    for (size_t i = 0; i < pages->n; i++) {
        st = cf_file_write_atomic_in_run(paths[i], pages->svg[i], pages->len[i], force, diag);
        if (st != CF_OK)
            goto out;
        written = i + 1;
    }
    folder = target_folder(target, paths[0]);
    st = folder != NULL ? cf_file_sync_dir(folder, diag) : CF_ERR_NOMEM;
out:
    if (st != CF_OK)
        for (size_t i = 0; i < written; i++)
            unlink(paths[i]);
    for (size_t i = 0; i < pages->n; i++)
        cf_free(paths[i]);
    cf_free(paths);
    cf_free(folder);
    return st;
}
