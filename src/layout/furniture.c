/* Page furniture: page 1's title block and patient label box, the later pages' header with the
 * patient's identity, and every page's footer (form id, version, status, document id, page n of
 * N) with a QR code holding "document id/page/pages/form id@version" ("BLANK" in the id's place
 * on a blank form). */
#include "base/alloc.h"
#include "layout/layout_internal.h"
#include "layout/qr.h"

#include <stdio.h>
#include <string.h>

#define LABEL_WIDTH (80 * CF_MM)
#define LABEL_MIN_HEIGHT (35 * CF_MM) /* a hospital gum label fits inside */
#define LABEL_PAD 6.0
#define LABEL_CAPTION_SIZE 8.0
#define LABEL_VALUE_MAX 11.0
#define LABEL_VALUE_MIN 8.0
#define LABEL_BLANK_ROW 26.0
#define TITLE_SIZE 18.0
#define TITLE_PITCH 24.0
#define FOOTER_SIZE 8.0
#define FOOTER_PITCH 11.0
#define QR_SIDE (15 * CF_MM)

static double base_for(const cf_layout_ctx *ctx, double size, double pitch)
{
    const cf_font *f = cf_layout_face(ctx, false);
    double asc = cf_font_ascent(f, size), desc = cf_font_descent(f, size);
    return (pitch - (asc - desc)) / 2.0 + asc;
}

/* Sets the paragraph buffer at x..x+width, lines from dy down; returns the height used. Items
 * stay in the flow's item array (furniture ranges). */
static double set_block(cf_layout_ctx *ctx, double x, double width, double size, double pitch,
                        double dy, double gray, size_t *n_lines_out, bool *forced_out)
{
    cf_set_options o = {.x = x, .width = width, .size = size, .pitch = pitch, .gray = gray};
    cf_set_line *lines = NULL;
    size_t n = 0;
    size_t first_item = ctx->flow.n_items;
    if (cf_layout_set(ctx, &o, base_for(ctx, size, pitch), &lines, &n) != CF_OK)
        return 0;
    bool forced = false;
    for (size_t i = 0; i < n; i++) {
        forced = forced || lines[i].forced;
        for (size_t k = lines[i].first_item; k < lines[i].first_item + lines[i].n_items; k++) {
            cf_item *it = &ctx->flow.items[k];
            double shift = dy + pitch * (double)i;
            it->y += shift;
            if (it->kind == CF_ITEM_LINE)
                it->u.line.y2 += shift;
        }
    }
    (void)first_item;
    cf_free(lines);
    if (n_lines_out != NULL)
        *n_lines_out = n;
    if (forced_out != NULL)
        *forced_out = forced;
    return pitch * (double)n;
}

static void rel_line(cf_layout_ctx *ctx, double x1, double y1, double x2, double y2, double w,
                     double gray)
{
    cf_item it = {.kind = CF_ITEM_LINE, .x = x1, .y = y1};
    it.u.line.x2 = x2;
    it.u.line.y2 = y2;
    it.u.line.width = w;
    it.u.line.gray = gray;
    cf_flow_add_item(ctx, &it);
}

/* One label row: caption at left, the value in bold from 11 pt down to 8 pt, then on two lines
 * at 8 pt, else an error. Returns the row height. */
static double label_row(cf_layout_ctx *ctx, const cf_field *f, double x, double cap_w, double val_w,
                        double dy)
{
    const char *value = ctx->options->blank ? NULL : cf_layout_field_value(ctx, f);
    cf_layout_text_reset(ctx);
    cf_layout_text_add(ctx, f->caption, strlen(f->caption), CF_STYLE_REGULAR);
    size_t cap_lines = 0;
    double cap_h = set_block(ctx, x, cap_w - 4, LABEL_CAPTION_SIZE, LABEL_CAPTION_SIZE * 1.3,
                             dy + 3, 0.3, &cap_lines, NULL) +
                   3;
    if (value == NULL) {
        if (!ctx->options->blank) {
            /* An optional field left empty: a line to write on. */
            rel_line(ctx, x + cap_w, dy + 14, x + cap_w + val_w, dy + 14, 0.5, 0.4);
            return cap_h > 18 ? cap_h : 18;
        }
        rel_line(ctx, x + cap_w, dy + LABEL_BLANK_ROW - 5, x + cap_w + val_w,
                 dy + LABEL_BLANK_ROW - 5, 0.5, 0.4);
        return cap_h > LABEL_BLANK_ROW ? cap_h : LABEL_BLANK_ROW;
    }
    size_t len = strlen(value);
    const cf_font *bold = cf_layout_face(ctx, true);
    for (int step = 0; LABEL_VALUE_MAX - 0.5 * step >= LABEL_VALUE_MIN - 0.01; step++) {
        double size = LABEL_VALUE_MAX - 0.5 * step;
        if (cf_font_text_width(bold, value, len, size) <= val_w) {
            cf_layout_text_reset(ctx);
            cf_layout_text_add(ctx, value, len, CF_STYLE_BOLD);
            double h = set_block(ctx, x + cap_w, val_w + 1, size, size * 1.4, dy, 0, NULL, NULL);
            return h > cap_h ? h : cap_h;
        }
    }
    cf_layout_text_reset(ctx);
    cf_layout_text_add(ctx, value, len, CF_STYLE_BOLD);
    size_t n = 0;
    bool forced = false;
    size_t mark = ctx->flow.n_items;
    double h = set_block(ctx, x + cap_w, val_w, LABEL_VALUE_MIN, LABEL_VALUE_MIN * 1.3, dy, 0, &n,
                         &forced);
    if (ctx->status != CF_OK)
        return 0;
    if (n > 2 || forced) {
        ctx->flow.n_items = mark;
        cf_diag_error(ctx->diag,
                      cf_record_source(ctx->record) != NULL ? cf_record_source(ctx->record)
                                                            : "command line",
                      cf_record_row(ctx->record),
                      "%s (field %s) is too long for the patient label box: it does not fit on "
                      "two lines of %.0f pt at %.0f pt; shorten it",
                      f->caption, f->key, val_w, LABEL_VALUE_MIN);
        cf_layout_fail(ctx, CF_ERR_DATA);
        return 0;
    }
    return h > cap_h ? h : cap_h;
}

static void prepare_page1(cf_layout_ctx *ctx)
{
    const cf_form *form = ctx->form;
    const cf_geometry *g = &ctx->geo;
    ctx->page1_first = ctx->flow.n_items;
    double box_x = g->right - LABEL_WIDTH;
    /* Label box. */
    const char *caption = form->label_caption != NULL ? form->label_caption : "Patient's Label";
    cf_layout_text_reset(ctx);
    cf_layout_text_add(ctx, caption, strlen(caption), CF_STYLE_REGULAR);
    set_block(ctx, box_x, LABEL_WIDTH, LABEL_CAPTION_SIZE, 11, 0, 0.3, NULL, NULL);
    double box_top = 12;
    double cap_w = 0;
    const cf_font *regular = cf_layout_face(ctx, false);
    for (size_t i = 0; i < form->n_label_fields; i++) {
        const char *c = form->fields[i].caption;
        double w = cf_font_text_width(regular, c, strlen(c), LABEL_CAPTION_SIZE) + 8;
        if (w > cap_w)
            cap_w = w;
    }
    if (cap_w > LABEL_WIDTH * 0.4)
        cap_w = LABEL_WIDTH * 0.4;
    double inner_x = box_x + LABEL_PAD;
    double val_w = LABEL_WIDTH - 2 * LABEL_PAD - cap_w;
    double y = box_top + LABEL_PAD;
    size_t box_rect = ctx->flow.n_items;
    cf_item rect = {.kind = CF_ITEM_RECT, .x = box_x};
    rect.u.rect.w = LABEL_WIDTH;
    rect.u.rect.stroke_width = 1.0;
    rect.u.rect.fill_gray = -1;
    cf_flow_add_item(ctx, &rect);
    for (size_t i = 0; i < form->n_label_fields && ctx->status == CF_OK; i++)
        y += label_row(ctx, &form->fields[i], inner_x, cap_w, val_w, y) + 4;
    double box_h = y - 4 + LABEL_PAD - box_top;
    if (box_h < LABEL_MIN_HEIGHT)
        box_h = LABEL_MIN_HEIGHT;
    if (ctx->status != CF_OK)
        return;
    ctx->flow.items[box_rect].y = box_top + box_h;
    ctx->flow.items[box_rect].u.rect.h = box_h;
    double box_bottom = box_top + box_h;

    /* Title block, left of the label box. */
    double tw = box_x - g->left - 14;
    cf_layout_text_reset(ctx);
    cf_layout_text_add(ctx, form->title, strlen(form->title), CF_STYLE_BOLD);
    double ty = set_block(ctx, g->left, tw, TITLE_SIZE, TITLE_PITCH, 0, 0, NULL, NULL);
    if (form->subtitle != NULL) {
        cf_layout_text_reset(ctx);
        cf_layout_text_add(ctx, form->subtitle, strlen(form->subtitle), CF_STYLE_REGULAR);
        ty += set_block(ctx, g->left, tw, 12, 17, ty + 2, 0, NULL, NULL) + 2;
    }
    char meta[512];
    int m = snprintf(meta, sizeof meta, "%s%s%s %s", form->source != NULL ? form->source : "",
                     form->source != NULL ? "\xe3\x80\x80" : "", "\xe7\x89\x88\xe6\x9c\xac",
                     form->version); /* 版本 */
    char effective[64];
    if (form->effective_date != NULL && m > 0 && (size_t)m < sizeof meta)
        snprintf(meta + m, sizeof meta - (size_t)m,
                 "\xe3\x80\x80\xe7\x94\x9f\xe6\x95\x88\xe6\x97\xa5"
                 "\xe6\x9c\x9f %s",
                 cf_layout_chinese_date(form->effective_date, effective, sizeof effective)
                     ? effective
                     : form->effective_date); /* 生效日期 */
    cf_layout_text_reset(ctx);
    cf_layout_text_add(ctx, meta, strlen(meta), CF_STYLE_REGULAR);
    ty += set_block(ctx, g->left, tw, 9, 13, ty + 4, 0.3, NULL, NULL) + 4;
    if (form->state == CF_FORM_STATE_DRAFT) {
        /* Hong Kong forms say 未經批核, Taiwan forms 未經核准 ("not approved"). */
        static const char draft_hk[] = "\xe8\x8d\x89\xe7\xa8\xbf DRAFT\xe3\x80\x80"
                                       "\xe6\x9c\xaa\xe7\xb6\x93\xe6\x89\xb9\xe6\xa0\xb8";
        static const char draft_tw[] = "\xe8\x8d\x89\xe7\xa8\xbf DRAFT\xe3\x80\x80"
                                       "\xe6\x9c\xaa\xe7\xb6\x93\xe6\xa0\xb8\xe5\x87\x86";
        const char *draft = strcmp(form->region, "TW") == 0 ? draft_tw : draft_hk;
        cf_layout_text_reset(ctx);
        cf_layout_text_add(ctx, draft, strlen(draft), CF_STYLE_BOLD);
        ty += set_block(ctx, g->left, tw, 10, 14, ty + 4, 0.25, NULL, NULL) + 4;
    }
    ctx->page1_count = ctx->flow.n_items - ctx->page1_first;
    double used = ty > box_bottom ? ty : box_bottom;
    ctx->body_top_first = g->top - used - 6;
}

/* True when the last character of s is ASCII (a Latin caption such as "Hospital No"). */
static bool ends_in_ascii(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && (unsigned char)s[n - 1] < 0x80;
}

/* Later pages: the patient's identity (every label field, in full) above a rule. */
static void prepare_header(cf_layout_ctx *ctx)
{
    const cf_form *form = ctx->form;
    const cf_geometry *g = &ctx->geo;
    ctx->header_first = ctx->flow.n_items;
    double h = 0;
    const char *values[64];
    size_t n = form->n_label_fields < 64 ? form->n_label_fields : 64;
    for (size_t i = 0; i < n; i++)
        values[i] = cf_layout_field_value(ctx, &form->fields[i]);
    cf_layout_text_reset(ctx);
    for (size_t i = 0; i < n; i++) {
        const cf_field *f = &form->fields[i];
        if (i > 0)
            cf_layout_text_add(ctx, "\xe3\x80\x80\xe3\x80\x80", 6, CF_STYLE_REGULAR);
        cf_layout_text_add(ctx, f->caption, strlen(f->caption), CF_STYLE_REGULAR);
        /* A Chinese caption takes a full-width colon (姓名：陳大文), a Latin one ": ". */
        if (ends_in_ascii(f->caption))
            cf_layout_text_add(ctx, ": ", 2, CF_STYLE_REGULAR);
        else
            cf_layout_text_add(ctx, "\xef\xbc\x9a", 3, CF_STYLE_REGULAR); /* ： */
        if (values[i] != NULL)
            cf_layout_text_add(ctx, values[i], strlen(values[i]), CF_STYLE_BOLD);
        else
            cf_layout_text_add(ctx, CF_LAYOUT_BLANK, strlen(CF_LAYOUT_BLANK), CF_STYLE_BLANK);
    }
    h += set_block(ctx, g->left, g->right - g->left, 10, 14, h, 0, NULL, NULL);
    rel_line(ctx, g->left, h + 3, g->right, h + 3, 0.5, 0.5);
    ctx->header_count = ctx->flow.n_items - ctx->header_first;
    ctx->body_top_other = g->top - h - 10;
}

cf_status cf_layout_prepare_furniture(cf_layout_ctx *ctx)
{
    ctx->qr_size = QR_SIDE;
    ctx->qr_quiet = QR_SIDE / 29.0 * 4.0;
    ctx->geo.bottom = ctx->geo.footer_bottom + ctx->qr_size + ctx->qr_quiet + 4;
    prepare_page1(ctx);
    if (ctx->status == CF_OK)
        prepare_header(ctx);
    return ctx->status;
}

static void copy_range(cf_layout_ctx *ctx, size_t page, size_t first, size_t count, double top)
{
    for (size_t i = first; i < first + count && ctx->status == CF_OK; i++) {
        cf_item it = ctx->flow.items[i];
        it.y = top - it.y;
        if (it.kind == CF_ITEM_LINE)
            it.u.line.y2 = top - it.u.line.y2;
        cf_status st = cf_display_list_add_item(ctx->list, page, &it);
        if (st != CF_OK)
            cf_layout_fail(ctx, st);
    }
}

static void add_abs_text(cf_layout_ctx *ctx, size_t page, const char *s, bool bold, double size,
                         double x, double y)
{
    size_t idx = cf_layout_add_text(ctx, s, strlen(s), bold, size, x, y, 0);
    if (idx == (size_t)-1)
        return;
    cf_item it = ctx->flow.items[idx];
    ctx->flow.n_items--; /* used only as a template */
    cf_status st = cf_display_list_add_item(ctx->list, page, &it);
    if (st != CF_OK)
        cf_layout_fail(ctx, st);
}

static void paint_qr(cf_layout_ctx *ctx, size_t page, size_t pages)
{
    const cf_form *form = ctx->form;
    if (ctx->options->characters_only)
        return;
    /* A blank form has no document id: its code says "BLANK" in the id's place (never an id:
     * src/scan/qr.c), so that its scans are known as a blank form's and assigned by hand. */
    const char *id = ctx->options->blank ? "BLANK" : ctx->options->document_id;
    if (id == NULL)
        return;
    char content[256];
    snprintf(content, sizeof content, "%s/%zu/%zu/%s@%s", id, page + 1, pages, form->id,
             form->version);
    unsigned char *dark = NULL;
    size_t count = 0;
    cf_status st = cf_qr_encode(content, &dark, &count);
    if (st != CF_OK) {
        if (st != CF_ERR_NOMEM)
            cf_diag_error(ctx->diag, NULL, 0,
                          "cannot make the page's QR code (%zu bytes of content)", strlen(content));
        cf_layout_fail(ctx, st == CF_ERR_NOMEM ? st : CF_ERR_INTERNAL);
        return;
    }
    const char *copy = cf_display_list_strdup(ctx->list, (const char *)dark, count * count);
    cf_free(dark);
    if (copy == NULL) {
        cf_layout_fail(ctx, CF_ERR_NOMEM);
        return;
    }
    /* The symbol fills the reserved square; its quiet zone (at least 4 modules for every
     * version this content needs) is kept free around it by the page geometry. */
    double module = ctx->qr_size / (double)count;
    cf_item it = {
        .kind = CF_ITEM_MODULES, .x = ctx->geo.right - ctx->qr_size, .y = ctx->geo.footer_bottom};
    it.u.modules.count = (unsigned)count;
    it.u.modules.module = module;
    it.u.modules.dark = (const unsigned char *)copy;
    st = cf_display_list_add_item(ctx->list, page, &it);
    if (st != CF_OK)
        cf_layout_fail(ctx, st);
}

static void paint_footer(cf_layout_ctx *ctx, size_t page, size_t pages)
{
    const cf_form *form = ctx->form;
    const cf_geometry *g = &ctx->geo;
    char line[512];
    double y = g->footer_bottom + 2;
    snprintf(line, sizeof line,
             "\xe7\xac\xac %zu \xe9\xa0\x81\xef\xbc\x8c\xe5\x85\xb1 %zu \xe9\xa0\x81\xe3\x80\x80"
             "Page %zu of %zu",
             page + 1, pages, page + 1, pages); /* 第 n 頁，共 N 頁 */
    add_abs_text(ctx, page, line, true, 9, g->left, y);
    y += FOOTER_PITCH + 1;
    if (ctx->options->blank && !ctx->options->characters_only) {
        /* The same paper for every patient: no document id, and the line says why. */
        add_abs_text(ctx, page,
                     "\xe7\xa9\xba\xe7\x99\xbd\xe8\xa1\xa8\xe6\xa0\xbc Blank form, "
                     "no document ID", /* 空白表格 */
                     false, FOOTER_SIZE, g->left, y);
    } else if (ctx->options->document_id != NULL) {
        snprintf(line, sizeof line,
                 "\xe6\x96\x87\xe4\xbb\xb6\xe7\xb7\xa8\xe8\x99\x9f Document ID %s",
                 ctx->options->document_id); /* 文件編號 */
        add_abs_text(ctx, page, line, false, FOOTER_SIZE, g->left, y);
    }
    y += FOOTER_PITCH;
    /* Taiwan says 已核准 ("approved"), Hong Kong 已批核; the date as Chinese text writes it. */
    const char *approved = strcmp(form->region, "TW") == 0
                               ? "\xe5\xb7\xb2\xe6\xa0\xb8\xe5\x87\x86"  /* 已核准 */
                               : "\xe5\xb7\xb2\xe6\x89\xb9\xe6\xa0\xb8"; /* 已批核 */
    char date[64];
    if (form->state == CF_FORM_STATE_DRAFT)
        snprintf(line, sizeof line, "%s  \xe7\x89\x88\xe6\x9c\xac %s  ", form->id, form->version);
    else
        snprintf(line, sizeof line, "%s  \xe7\x89\x88\xe6\x9c\xac %s  %s %s %s", form->id,
                 form->version, approved, form->approved_by != NULL ? form->approved_by : "",
                 cf_layout_chinese_date(form->approved_date, date, sizeof date)
                     ? date
                     : (form->approved_date != NULL ? form->approved_date : "")); /* 版本 */
    add_abs_text(ctx, page, line, false, FOOTER_SIZE, g->left, y);
    if (form->state == CF_FORM_STATE_DRAFT) {
        double w = cf_font_text_width(cf_layout_face(ctx, false), line, strlen(line), FOOTER_SIZE);
        add_abs_text(ctx, page, "\xe8\x8d\x89\xe7\xa8\xbf DRAFT", true, 10, g->left + w, y);
    }
    paint_qr(ctx, page, pages);
}

void cf_layout_add_blank_page(cf_layout_ctx *ctx)
{
    static const char text[] = "\xe6\xad\xa4\xe9\xa0\x81\xe7\xa9\xba\xe7\x99\xbd This page is "
                               "intentionally left blank"; /* 此頁空白 */
    size_t page = cf_display_list_add_page(ctx->list);
    if (page == (size_t)-1) {
        cf_layout_fail(ctx, CF_ERR_NOMEM);
        return;
    }
    const cf_geometry *g = &ctx->geo;
    double size = 12;
    double w = cf_font_text_width(cf_layout_face(ctx, false), text, strlen(text), size);
    add_abs_text(ctx, page, text, false, size, (g->left + g->right - w) / 2, g->height / 2);
}

cf_status cf_layout_paint_furniture(cf_layout_ctx *ctx)
{
    size_t pages = ctx->list->n_pages;
    for (size_t p = 0; p < pages && ctx->status == CF_OK; p++) {
        if (p == 0)
            copy_range(ctx, p, ctx->page1_first, ctx->page1_count, ctx->geo.top);
        else
            copy_range(ctx, p, ctx->header_first, ctx->header_count, ctx->geo.top);
        paint_footer(ctx, p, pages);
    }
    return ctx->status;
}
