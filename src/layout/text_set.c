/* Setting a paragraph: the paragraph buffer (UTF-8 plus a style per byte) is broken into lines
 * by cf_wrap and each line becomes text items. CJK lines other than the last are justified by
 * spacing between characters; the space never goes inside a run of Latin letters or digits. */
#include "layout/layout_internal.h"

#include "base/alloc.h"
#include "base/utf8.h"
#include "text/linebreak.h"

#include <stdio.h>
#include <string.h>

/* Longest stretch between two characters, as a share of the font size; a line that would need
 * more (very few gaps, e.g. mostly Latin) is left partly ragged. */
#define CF_MAX_STRETCH 0.35

cf_status cf_layout_fail(cf_layout_ctx *ctx, cf_status status)
{
    if (ctx->status == CF_OK)
        ctx->status = status;
    return ctx->status;
}

const cf_font *cf_layout_face(const cf_layout_ctx *ctx, bool bold)
{
    return ctx->fonts->faces[bold ? CF_FONT_BOLD : CF_FONT_REGULAR];
}

void cf_layout_text_reset(cf_layout_ctx *ctx)
{
    cf_buf_reset(&ctx->text);
}

void cf_layout_text_add(cf_layout_ctx *ctx, const char *s, size_t len, unsigned style)
{
    size_t old = ctx->text.len;
    if (len == 0)
        return;
    if (cf_buf_append(&ctx->text, s, len) != CF_OK) {
        cf_layout_fail(ctx, ctx->text.error);
        return;
    }
    if (ctx->styles_cap < ctx->text.len) {
        size_t cap = ctx->text.len * 2;
        unsigned char *grown = cf_realloc(ctx->styles, cap);
        if (grown == NULL) {
            cf_layout_fail(ctx, CF_ERR_NOMEM);
            ctx->text.len = old;
            return;
        }
        ctx->styles = grown;
        ctx->styles_cap = cap;
    }
    memset(ctx->styles + old, (int)style, len);
}

static const cf_option *find_option(const cf_field *f, const char *key, size_t len)
{
    for (size_t i = 0; i < f->n_options; i++)
        if (strlen(f->options[i].key) == len && memcmp(f->options[i].key, key, len) == 0)
            return &f->options[i];
    return NULL;
}

static void add_plain_text(cf_layout_ctx *ctx, const cf_text *text, unsigned style)
{
    for (size_t i = 0; i < text->n_spans; i++)
        if (text->spans[i].kind == CF_SPAN_TEXT)
            cf_layout_text_add(ctx, text->spans[i].text, strlen(text->spans[i].text), style);
}

bool cf_layout_chinese_date(const char *iso, char *out, size_t size)
{
    if (iso == NULL || strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (iso[i] < '0' || iso[i] > '9'))
            return false;
    int month = (iso[5] - '0') * 10 + (iso[6] - '0');
    int day = (iso[8] - '0') * 10 + (iso[9] - '0');
    int n = snprintf(out, size, "%.4s \xe5\xb9\xb4 %d \xe6\x9c\x88 %d \xe6\x97\xa5", iso, month,
                     day); /* 年 月 日 */
    return n > 0 && (size_t)n < size;
}

/* Adds the printed form of field f: its value (a date as 2026 年 12 月 1 日 in Chinese text),
 * option texts for a choice, or a ruled blank. */
static void add_field(cf_layout_ctx *ctx, const cf_field *f, bool bold, bool chinese)
{
    const char *value =
        (ctx->record != NULL && !ctx->options->blank) ? cf_layout_record_get(ctx, f->key) : NULL;
    if (value == NULL || value[0] == '\0') {
        cf_layout_text_add(ctx, CF_LAYOUT_BLANK, strlen(CF_LAYOUT_BLANK),
                           bold ? CF_STYLE_BLANK_BOLD : CF_STYLE_BLANK);
        return;
    }
    unsigned style = bold ? CF_STYLE_BOLD : CF_STYLE_REGULAR;
    char date[64];
    if (f->type == CF_FIELD_DATE && chinese && cf_layout_chinese_date(value, date, sizeof date)) {
        cf_layout_text_add(ctx, date, strlen(date), style);
        return;
    }
    if (f->type != CF_FIELD_CHOICE && f->type != CF_FIELD_MULTI_CHOICE) {
        cf_layout_text_add(ctx, value, strlen(value), style);
        return;
    }
    /* Option keys separated by ';' (the field rules normalised them). */
    bool first = true;
    for (const char *p = value; *p != '\0';) {
        size_t n = strcspn(p, ";");
        const cf_option *o = find_option(f, p, n);
        if (o != NULL) {
            if (!first)
                cf_layout_text_add(ctx, "\xe3\x80\x81", 3, style); /* 、 */
            add_plain_text(ctx, o->text, style);
            first = false;
        }
        p += n;
        if (*p == ';')
            p++;
    }
}

void cf_layout_text_add_inline(cf_layout_ctx *ctx, const cf_text *text, bool bold)
{
    if (text == NULL)
        return;
    for (size_t i = 0; i < text->n_spans; i++) {
        const cf_span *sp = &text->spans[i];
        bool b = bold || sp->bold;
        if (sp->kind == CF_SPAN_TEXT) {
            cf_layout_text_add(ctx, sp->text, strlen(sp->text),
                               b ? CF_STYLE_BOLD : CF_STYLE_REGULAR);
        } else {
            const cf_field *f = cf_form_get_field(ctx->form, sp->field);
            if (f != NULL)
                add_field(ctx, f, b, text->lang == NULL || strncmp(text->lang, "zh", 2) == 0);
        }
    }
}

const char *cf_layout_field_value(cf_layout_ctx *ctx, const cf_field *f)
{
    if (ctx->record == NULL || ctx->options->blank)
        return NULL;
    const char *value = cf_layout_record_get(ctx, f->key);
    if (value == NULL || value[0] == '\0')
        return NULL;
    if (f->type != CF_FIELD_CHOICE && f->type != CF_FIELD_MULTI_CHOICE)
        return value;
    cf_layout_text_reset(ctx);
    add_field(ctx, f, false, false);
    const char *out = cf_display_list_strdup(
        ctx->list, ctx->text.data != NULL ? ctx->text.data : "", ctx->text.len);
    cf_layout_text_reset(ctx);
    if (out == NULL)
        cf_layout_fail(ctx, CF_ERR_NOMEM);
    return out;
}

/* ---- items ---------------------------------------------------------------------------- */

size_t cf_flow_add_item(cf_layout_ctx *ctx, const cf_item *item)
{
    cf_flow *fl = &ctx->flow;
    if (fl->n_items == fl->cap_items) {
        cf_item *grown =
            cf_grow_array(fl->items, &fl->cap_items, fl->n_items + 1, sizeof *grown, 256);
        if (grown == NULL) {
            cf_layout_fail(ctx, CF_ERR_NOMEM);
            return (size_t)-1;
        }
        fl->items = grown;
    }
    fl->items[fl->n_items] = *item;
    return fl->n_items++;
}

cf_unit *cf_flow_add_unit(cf_layout_ctx *ctx, double height, double space_before, size_t first,
                          size_t n)
{
    cf_flow *fl = &ctx->flow;
    if (fl->n_units == fl->cap_units) {
        cf_unit *grown =
            cf_grow_array(fl->units, &fl->cap_units, fl->n_units + 1, sizeof *grown, 128);
        if (grown == NULL) {
            cf_layout_fail(ctx, CF_ERR_NOMEM);
            return NULL;
        }
        fl->units = grown;
    }
    cf_unit *u = &fl->units[fl->n_units++];
    memset(u, 0, sizeof *u);
    u->height = height;
    u->space_before = space_before;
    u->first_item = first;
    u->n_items = n;
    u->header_first = -1;
    return u;
}

cf_frame *cf_flow_new_frame(cf_layout_ctx *ctx)
{
    cf_flow *fl = &ctx->flow;
    if (fl->n_frames == fl->cap_frames) {
        cf_frame **grown =
            cf_grow_array(fl->frames, &fl->cap_frames, fl->n_frames + 1, sizeof *grown, 16);
        if (grown == NULL) {
            cf_layout_fail(ctx, CF_ERR_NOMEM);
            return NULL;
        }
        fl->frames = grown;
    }
    cf_frame *f = cf_calloc(1, sizeof *f);
    if (f == NULL) {
        cf_layout_fail(ctx, CF_ERR_NOMEM);
        return NULL;
    }
    fl->frames[fl->n_frames++] = f;
    return f;
}

/* Checks that the font has every character of s; an error names the first missing one. */
static bool check_glyphs(cf_layout_ctx *ctx, const cf_font *font, const char *s, size_t len)
{
    uint32_t missing = cf_font_first_missing(font, s, len);
    if (missing == 0)
        return true;
    cf_diag_error(ctx->diag, ctx->form->path, 0,
                  "character U+%04X (\"%.*s\") is not in the font %s; it cannot be printed",
                  (unsigned)missing, (int)len > 40 ? 40 : (int)len, s, cf_font_family(font));
    cf_layout_fail(ctx, CF_ERR_DATA);
    return false;
}

size_t cf_layout_add_text(cf_layout_ctx *ctx, const char *s, size_t len, bool bold, double size,
                          double x, double dy, double gray)
{
    const cf_font *font = cf_layout_face(ctx, bold);
    if (len == 0 || !check_glyphs(ctx, font, s, len))
        return (size_t)-1;
    const char *copy = cf_display_list_strdup(ctx->list, s, len);
    if (copy == NULL) {
        cf_layout_fail(ctx, CF_ERR_NOMEM);
        return (size_t)-1;
    }
    cf_item it = {.kind = CF_ITEM_TEXT, .x = x, .y = dy};
    it.u.text.utf8 = copy;
    it.u.text.len = len;
    it.u.text.style = bold ? CF_FONT_BOLD : CF_FONT_REGULAR;
    it.u.text.size = size;
    it.u.text.gray = gray;
    return cf_flow_add_item(ctx, &it);
}

/* ---- lines ---------------------------------------------------------------------------- */

/* Characters set on the ideographic grid: the gaps beside them may stretch. */
static bool is_wide(uint32_t cp)
{
    return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
           (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x3400 && cp <= 0x4DBF) || cp == 0x2610 ||
           cp == 0x2611;
}

typedef struct glyph_pos {
    size_t start, end; /* bytes */
    uint32_t cp;
    unsigned style;
    double advance;
} glyph_pos;

static bool is_bold_style(unsigned style)
{
    return style == CF_STYLE_BOLD || style == CF_STYLE_BLANK_BOLD;
}

static bool is_blank_style(unsigned style)
{
    return style == CF_STYLE_BLANK || style == CF_STYLE_BLANK_BOLD;
}

/* Emits the items of one line [start, end) at x, spreading extra space over its stretchable
 * gaps when justify. Returns false on failure (status set). */
static bool emit_line(cf_layout_ctx *ctx, const cf_set_options *opt, double baseline, size_t start,
                      size_t end, bool justify, glyph_pos **scratch, size_t *scratch_cap)
{
    const char *text = ctx->text.data;
    size_t n = 0;
    double natural = 0;
    for (size_t i = start; i < end;) {
        uint32_t cp = 0;
        size_t k = cf_utf8_decode(text + i, end - i, &cp);
        if (k == 0)
            return cf_layout_fail(ctx, CF_ERR_INTERNAL), false;
        if (n == *scratch_cap) {
            glyph_pos *grown = cf_grow_array(*scratch, scratch_cap, n + 1, sizeof *grown, 128);
            if (grown == NULL)
                return cf_layout_fail(ctx, CF_ERR_NOMEM), false;
            *scratch = grown;
        }
        glyph_pos *g = &(*scratch)[n++];
        g->start = i;
        g->end = i + k;
        g->cp = cp;
        g->style = ctx->styles[i];
        g->advance = cf_font_advance(cf_layout_face(ctx, is_bold_style(g->style)), cp, opt->size);
        natural += g->advance;
        i += k;
    }
    glyph_pos *gs = *scratch;
    for (size_t i = 1; i + 1 < n; i++)
        if (cf_text_is_apostrophe(gs[i - 1].cp, gs[i].cp, gs[i + 1].cp)) {
            double narrow =
                cf_font_advance(cf_layout_face(ctx, is_bold_style(gs[i].style)), '\'', opt->size);
            natural -= gs[i].advance - narrow;
            gs[i].advance = narrow; /* the PDF writer moves what follows back as much */
        }
    /* Gap i lies after glyph i. */
    size_t stretchable = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (is_wide(gs[i].cp) || is_wide(gs[i + 1].cp) || gs[i].cp == ' ' || gs[i + 1].cp == ' ')
            stretchable++;
    double extra = 0;
    if (justify && stretchable > 0 && natural < opt->width) {
        extra = (opt->width - natural) / (double)stretchable;
        if (extra > CF_MAX_STRETCH * opt->size)
            extra = CF_MAX_STRETCH * opt->size;
    }
    double x = opt->x;
    size_t a = 0;
    while (a < n) {
        /* A run: same style, and every inner gap of the same kind. */
        size_t b = a;
        int kind = -1;
        while (b + 1 < n && gs[b + 1].style == gs[a].style) {
            bool s = is_wide(gs[b].cp) || is_wide(gs[b + 1].cp) || gs[b].cp == ' ' ||
                     gs[b + 1].cp == ' ';
            /* Without justification every gap is natural: one run per style. */
            if (extra > 0 && kind >= 0 && (int)s != kind)
                break;
            kind = extra > 0 ? (int)s : 0;
            b++;
        }
        /* Leading and trailing spaces of a run are drawn as advance only. */
        double width = 0;
        size_t inner = 0;
        for (size_t i = a; i <= b; i++)
            width += gs[i].advance;
        if (kind == 1)
            inner = b - a;
        bool bold = is_bold_style(gs[a].style);
        size_t idx = cf_layout_add_text(ctx, text + gs[a].start, gs[b].end - gs[a].start, bold,
                                        opt->size, x, baseline, opt->gray);
        if (idx == (size_t)-1)
            return false;
        ctx->flow.items[idx].u.text.char_spacing = kind == 1 ? extra : 0;
        double run_width = width + (double)inner * extra;
        if (is_blank_style(gs[a].style)) {
            cf_item rule = {.kind = CF_ITEM_LINE, .x = x, .y = baseline + opt->size * 0.15};
            rule.u.line.x2 = x + run_width;
            rule.u.line.y2 = rule.y;
            rule.u.line.width = 0.6;
            if (cf_flow_add_item(ctx, &rule) == (size_t)-1)
                return false;
        }
        x += run_width;
        if (b + 1 < n) {
            bool s = is_wide(gs[b].cp) || is_wide(gs[b + 1].cp) || gs[b].cp == ' ' ||
                     gs[b + 1].cp == ' ';
            if (s)
                x += extra;
        }
        a = b + 1;
    }
    return true;
}

cf_status cf_layout_set(cf_layout_ctx *ctx, const cf_set_options *opt, double baseline,
                        cf_set_line **lines_out, size_t *n_out)
{
    *lines_out = NULL;
    *n_out = 0;
    if (ctx->status != CF_OK)
        return ctx->status;
    if (ctx->text.len == 0)
        return CF_OK;
    cf_wrap_style styles[CF_STYLE_COUNT];
    for (unsigned s = 0; s < CF_STYLE_COUNT; s++) {
        styles[s].font = cf_layout_face(ctx, is_bold_style(s));
        styles[s].size = opt->size;
    }
    cf_wrap_input in = {
        .text = ctx->text.data,
        .len = ctx->text.len,
        .style = ctx->styles,
        .styles = styles,
        .n_styles = CF_STYLE_COUNT,
        .lang = opt->lang != NULL ? opt->lang : ctx->form->lang,
    };
    cf_wrap_line *wl = NULL;
    size_t n = 0;
    cf_status st = cf_wrap(&in, opt->width, &wl, &n, ctx->diag);
    if (st != CF_OK)
        return cf_layout_fail(ctx, st);
    cf_set_line *lines = n > 0 ? cf_calloc(n, sizeof *lines) : NULL;
    if (n > 0 && lines == NULL) {
        cf_free(wl);
        return cf_layout_fail(ctx, CF_ERR_NOMEM);
    }
    glyph_pos *scratch = NULL;
    size_t scratch_cap = 0;
    for (size_t i = 0; i < n; i++) {
        lines[i].first_item = ctx->flow.n_items;
        lines[i].forced = wl[i].forced;
        bool justify = opt->justify && !wl[i].last && !wl[i].forced;
        if (wl[i].end > wl[i].start &&
            !emit_line(ctx, opt, baseline, wl[i].start, wl[i].end, justify, &scratch, &scratch_cap))
            break;
        lines[i].n_items = ctx->flow.n_items - lines[i].first_item;
    }
    cf_free(scratch);
    cf_free(wl);
    if (ctx->status != CF_OK) {
        cf_free(lines);
        return ctx->status;
    }
    *lines_out = lines;
    *n_out = n;
    return CF_OK;
}
