/* Layout: the form's blocks become a flow of units (lines, table row lines, signature rows)
 * tied together where clreq-style pagination rules ask; pagination places them on pages; the
 * page furniture (title, label box, header, footer, barcode) is painted around them. */
#include "layout/layout.h"

#include "base/alloc.h"
#include "layout/layout_internal.h"

#include <string.h>

/* Body text: 12 pt with a 1.5 line pitch, for elderly readers; a form that must fit
 * <layout max-pages> goes down to 10.5 pt in 0.5 pt steps. */
#define BODY_DEFAULT 12.0
#define BODY_FLOOR 10.5
#define BODY_STEP 0.5
#define SECTION_SIZE 14.0
#define SECTION_PITCH 21.0
#define SMALL_SIZE 10.0
#define SMALL_PITCH 15.0
#define BLOCK_GAP 5.0
#define SECTION_GAP 11.0
#define ITEM_GAP 1.0
#define CELL_PAD 4.0
#define NOTE_PAD 7.0
#define SIGN_ROW 30.0

/* Line pitch of body text: 1.5 times its size. */
static double body_pitch(const cf_layout_ctx *ctx)
{
    return ctx->body_size * 1.5;
}

/* Distance from the top of a line box of pitch to the baseline of text at size. */
static double baseline_in(const cf_layout_ctx *ctx, double size, double pitch)
{
    const cf_font *f = cf_layout_face(ctx, false);
    double asc = cf_font_ascent(f, size), desc = cf_font_descent(f, size);
    return (pitch - (asc - desc)) / 2.0 + asc;
}

static void shift_items(cf_layout_ctx *ctx, const cf_unit *u, double dy)
{
    for (size_t i = u->first_item; i < u->first_item + u->n_items; i++) {
        cf_item *it = &ctx->flow.items[i];
        it->y += dy;
        if (it->kind == CF_ITEM_LINE)
            it->u.line.y2 += dy;
    }
}

/* Puts item under everything else of unit k by re-appending the unit's items after it. */
static void unit_underlay(cf_layout_ctx *ctx, size_t k, const cf_item *item)
{
    size_t first = cf_flow_add_item(ctx, item);
    if (first == (size_t)-1)
        return;
    cf_unit u = ctx->flow.units[k];
    for (size_t i = 0; i < u.n_items; i++)
        if (cf_flow_add_item(ctx, &ctx->flow.items[u.first_item + i]) == (size_t)-1)
            return;
    ctx->flow.units[k].first_item = first;
    ctx->flow.units[k].n_items = u.n_items + 1;
}

/* Sets the paragraph buffer as lines at x..x+width and appends one unit per line; the first
 * unit also takes the items from lead_item on (a list marker). Orphans and widows are avoided
 * by tying the first two and the last two lines. Returns the index of the first unit, or
 * (size_t)-1 when nothing was added. */
static size_t flow_paragraph(cf_layout_ctx *ctx, const cf_set_options *opt, double space_before,
                             size_t lead_item)
{
    cf_set_line *lines = NULL;
    size_t n = 0;
    double base = baseline_in(ctx, opt->size, opt->pitch);
    if (cf_layout_set(ctx, opt, base, &lines, &n) != CF_OK || n == 0) {
        cf_free(lines);
        return (size_t)-1;
    }
    size_t first_unit = ctx->flow.n_units;
    for (size_t i = 0; i < n; i++) {
        size_t first = lines[i].first_item, count = lines[i].n_items;
        if (i == 0 && lead_item != (size_t)-1) {
            count += first - lead_item;
            first = lead_item;
        }
        cf_unit *u = cf_flow_add_unit(ctx, opt->pitch, i == 0 ? space_before : 0, first, count);
        if (u == NULL)
            break;
        if (n >= 2 && (i == 0 || i == n - 2))
            u->keep = CF_KEEP_HARD;
    }
    cf_free(lines);
    return ctx->status == CF_OK ? first_unit : (size_t)-1;
}

static cf_set_options body_options(const cf_layout_ctx *ctx, double indent)
{
    cf_set_options o = {
        .x = ctx->geo.left + indent,
        .width = ctx->geo.right - ctx->geo.left - indent,
        .size = ctx->body_size,
        .pitch = body_pitch(ctx),
        .justify = true,
    };
    return o;
}

static void tie_range(cf_layout_ctx *ctx, size_t from, size_t to, cf_keep keep)
{
    for (size_t i = from; i < to && i < ctx->flow.n_units; i++)
        if (ctx->flow.units[i].keep < keep)
            ctx->flow.units[i].keep = keep;
}

static size_t flow_text(cf_layout_ctx *ctx, const cf_text *text, bool bold, double indent,
                        double space_before)
{
    cf_layout_text_reset(ctx);
    cf_layout_text_add_inline(ctx, text, bold);
    cf_set_options o = body_options(ctx, indent);
    o.lang = text != NULL ? text->lang : NULL;
    return flow_paragraph(ctx, &o, space_before, (size_t)-1);
}

/* One list item: marker at x + indent, text with a hanging indent. */
static size_t flow_item(cf_layout_ctx *ctx, const char *marker, double indent, double hang,
                        const cf_text *text, double space_before, const cf_set_options *base)
{
    cf_set_options o = base != NULL ? *base : body_options(ctx, indent + hang);
    if (base != NULL) {
        o.x += indent + hang;
        o.width -= indent + hang;
    }
    size_t lead = cf_layout_add_text(ctx, marker, strlen(marker), false, o.size, o.x - hang,
                                     baseline_in(ctx, o.size, o.pitch), 0);
    if (lead == (size_t)-1)
        return (size_t)-1;
    cf_layout_text_reset(ctx);
    cf_layout_text_add_inline(ctx, text, false);
    o.lang = text != NULL ? text->lang : NULL;
    return flow_paragraph(ctx, &o, space_before, lead);
}

static void flow_list(cf_layout_ctx *ctx, const cf_text *const *items, size_t n, bool numbered,
                      unsigned start, double space_before, const cf_set_options *base)
{
    double size = base != NULL ? base->size : ctx->body_size;
    for (size_t i = 0; i < n && ctx->status == CF_OK; i++) {
        char marker[24];
        if (numbered)
            snprintf(marker, sizeof marker, "%u.", start + (unsigned)i);
        else
            snprintf(marker, sizeof marker, "\xe2\x80\xa2"); /* • */
        flow_item(ctx, marker, 0, numbered ? size * 2.0 : size * 1.5, items[i],
                  i == 0 ? space_before : ITEM_GAP, base);
    }
}

static const cf_option *find_option_anywhere(const cf_form *form, const char *key)
{
    for (size_t i = 0; i < form->n_fields; i++)
        for (size_t j = 0; j < form->fields[i].n_options; j++)
            if (strcmp(form->fields[i].options[j].key, key) == 0)
                return &form->fields[i].options[j];
    return NULL;
}

static bool option_selected(const char *value, const char *key)
{
    if (value == NULL)
        return false;
    size_t klen = strlen(key);
    for (const char *p = value; *p != '\0';) {
        size_t n = strcspn(p, ";");
        if (n == klen && memcmp(p, key, n) == 0)
            return true;
        p += n;
        if (*p == ';')
            p++;
    }
    return false;
}

/* False when applies_to names a procedure option of a field that has ticked options and that
 * option is not among them: the text belongs to a procedure this patient does not have. A
 * blank form, or one whose procedures are not ticked, prints everything. */
static bool applies(cf_layout_ctx *ctx, const char *applies_to)
{
    if (applies_to == NULL || ctx->record == NULL || ctx->options->blank)
        return true;
    for (size_t i = 0; i < ctx->form->n_fields; i++) {
        const cf_field *f = &ctx->form->fields[i];
        for (size_t j = 0; j < f->n_options; j++) {
            if (strcmp(f->options[j].key, applies_to) != 0)
                continue;
            const char *value = cf_layout_record_get(ctx, f->key);
            return value == NULL || value[0] == '\0' || option_selected(value, applies_to);
        }
    }
    return true;
}

/* Appends "（適用於：<option>）" for text that applies to one procedure only. */
static void add_applies_note(cf_layout_ctx *ctx, const char *applies_to)
{
    const cf_option *op = applies_to != NULL ? find_option_anywhere(ctx->form, applies_to) : NULL;
    if (op == NULL)
        return;
    static const char open[] = "\xef\xbc\x88\xe9\x81\xa9\xe7\x94\xa8\xe6\x96\xbc"
                               "\xef\xbc\x9a"; /* （適用於： */
    cf_layout_text_add(ctx, open, strlen(open), CF_STYLE_REGULAR);
    cf_layout_text_add_inline(ctx, op->text, false);
    cf_layout_text_add(ctx, "\xef\xbc\x89", 3, CF_STYLE_REGULAR); /* ） */
}

static void flow_checkboxes(cf_layout_ctx *ctx, const cf_block *b)
{
    const cf_field *f = cf_form_get_field(ctx->form, b->u.checkboxes.field);
    if (f == NULL)
        return;
    double gap = BLOCK_GAP;
    size_t first_unit = ctx->flow.n_units;
    if (b->u.checkboxes.prompt != NULL) {
        flow_text(ctx, b->u.checkboxes.prompt, false, 0, gap);
        gap = ITEM_GAP;
    }
    const char *value =
        (ctx->record != NULL && !ctx->options->blank) ? cf_layout_record_get(ctx, f->key) : NULL;
    for (size_t i = 0; i < f->n_options && ctx->status == CF_OK; i++) {
        const cf_option *o = &f->options[i];
        bool on = option_selected(value, o->key);
        cf_set_options so = body_options(ctx, ctx->body_size * 1.5);
        size_t lead =
            cf_layout_add_text(ctx, on ? "\xe2\x98\x91" : "\xe2\x98\x90", 3, false, ctx->body_size,
                               ctx->geo.left, baseline_in(ctx, ctx->body_size, body_pitch(ctx)), 0);
        if (lead == (size_t)-1)
            return;
        cf_layout_text_reset(ctx);
        cf_layout_text_add_inline(ctx, o->text, false);
        if (o->other) {
            cf_layout_text_add(ctx, "\xef\xbc\x9a", 3, CF_STYLE_REGULAR); /* ： */
            cf_layout_text_add(ctx, CF_LAYOUT_BLANK, strlen(CF_LAYOUT_BLANK), CF_STYLE_BLANK);
        }
        so.lang = o->text != NULL ? o->text->lang : NULL;
        flow_paragraph(ctx, &so, gap, lead);
        gap = ITEM_GAP;
    }
    /* A short group of boxes stays together. */
    if (f->n_options <= 6 && ctx->flow.n_units > first_unit)
        tie_range(ctx, first_unit, ctx->flow.n_units - 1, CF_KEEP_HARD);
}

/* Note box: framed, with a light fill for a warning. */
static void flow_note(cf_layout_ctx *ctx, const cf_note *note)
{
    bool warning = note->kind == CF_NOTE_WARNING;
    cf_frame *frame = cf_flow_new_frame(ctx);
    if (frame == NULL)
        return;
    frame->xs[0] = ctx->geo.left;
    frame->xs[1] = ctx->geo.right;
    frame->n_xs = 2;
    frame->stroke = warning ? 1.2 : 0.6;
    size_t first_unit = ctx->flow.n_units;
    cf_set_options o = body_options(ctx, NOTE_PAD);
    o.width -= NOTE_PAD;
    if (note->title != NULL || note->applies_to != NULL) {
        cf_layout_text_reset(ctx);
        if (note->title != NULL)
            cf_layout_text_add(ctx, note->title, strlen(note->title), CF_STYLE_BOLD);
        add_applies_note(ctx, note->applies_to);
        size_t u = flow_paragraph(ctx, &o, 0, (size_t)-1);
        if (u != (size_t)-1)
            tie_range(ctx, u, ctx->flow.n_units, CF_KEEP_HARD);
    }
    for (size_t i = 0; i < note->n_paragraphs && ctx->status == CF_OK; i++) {
        cf_layout_text_reset(ctx);
        cf_layout_text_add_inline(ctx, note->paragraphs[i], false);
        o.lang = note->paragraphs[i]->lang;
        flow_paragraph(ctx, &o, i == 0 ? 0 : ITEM_GAP, (size_t)-1);
    }
    if (ctx->status != CF_OK || ctx->flow.n_units == first_unit)
        return;
    size_t last = ctx->flow.n_units - 1;
    for (size_t k = first_unit; k <= last; k++) {
        cf_unit *u = &ctx->flow.units[k];
        /* Gaps inside the box belong to the box (they are drawn, not dropped). */
        if (k > first_unit && u->space_before > 0) {
            shift_items(ctx, u, u->space_before);
            u->height += u->space_before;
            u->space_before = 0;
        }
        if (k == first_unit) {
            shift_items(ctx, u, NOTE_PAD);
            u->height += NOTE_PAD;
            u->space_before = BLOCK_GAP + 2;
            u->frame_open = true;
        }
        if (k == last) {
            u->height += NOTE_PAD;
            u->frame_close = true;
        }
        u->frame = frame;
    }
    if (warning)
        for (size_t k = first_unit; k <= last && ctx->status == CF_OK; k++) {
            cf_item fill = {
                .kind = CF_ITEM_RECT, .x = ctx->geo.left, .y = ctx->flow.units[k].height};
            fill.u.rect.w = ctx->geo.right - ctx->geo.left;
            fill.u.rect.h = ctx->flow.units[k].height;
            fill.u.rect.fill_gray = 0.93;
            unit_underlay(ctx, k, &fill);
        }
    /* A short note stays in one piece. */
    if (last - first_unit < 12)
        tie_range(ctx, first_unit, last, CF_KEEP_HARD);
}

/* A table row: each cell set in its column; one unit per line index across the cells. */
static void flow_row(cf_layout_ctx *ctx, const cf_frame *frame, const cf_text *const *cells,
                     size_t n_cols, bool header, double size, double pitch)
{
    cf_set_line *lines[16] = {0};
    size_t n_lines[16] = {0};
    size_t rows = 1;
    double base = baseline_in(ctx, size, pitch) + CELL_PAD;
    for (size_t c = 0; c < n_cols && c < 16; c++) {
        cf_layout_text_reset(ctx);
        cf_layout_text_add_inline(ctx, cells[c], header);
        cf_set_options o = {.x = frame->xs[c] + CELL_PAD,
                            .width = frame->xs[c + 1] - frame->xs[c] - 2 * CELL_PAD,
                            .size = size,
                            .pitch = pitch,
                            .justify = false, /* narrow cells: ragged right reads better */
                            .lang = cells[c] != NULL ? cells[c]->lang : NULL};
        if (o.width < size) {
            cf_diag_error(ctx->diag, ctx->form->path, 0, "a table column is too narrow to print");
            cf_layout_fail(ctx, CF_ERR_DATA);
        }
        if (cf_layout_set(ctx, &o, base, &lines[c], &n_lines[c]) != CF_OK)
            break;
        if (n_lines[c] > rows)
            rows = n_lines[c];
    }
    size_t first_unit = ctx->flow.n_units;
    for (size_t r = 0; r < rows && ctx->status == CF_OK; r++) {
        double h = pitch + (r == 0 ? CELL_PAD : 0) + (r == rows - 1 ? CELL_PAD : 0);
        size_t first = ctx->flow.n_items;
        if (header) {
            cf_item fill = {.kind = CF_ITEM_RECT, .x = frame->xs[0], .y = h};
            fill.u.rect.w = frame->xs[n_cols] - frame->xs[0];
            fill.u.rect.h = h;
            fill.u.rect.fill_gray = 0.9;
            cf_flow_add_item(ctx, &fill);
        }
        for (size_t c = 0; c < n_cols && c < 16; c++) {
            if (r >= n_lines[c])
                continue;
            for (size_t i = 0; i < lines[c][r].n_items; i++) {
                cf_item it = ctx->flow.items[lines[c][r].first_item + i];
                if (r > 0) { /* the line's baseline was set for the first line box */
                    it.y -= CELL_PAD;
                    if (it.kind == CF_ITEM_LINE)
                        it.u.line.y2 -= CELL_PAD;
                }
                cf_flow_add_item(ctx, &it);
            }
        }
        cf_unit *u = cf_flow_add_unit(ctx, h, 0, first, ctx->flow.n_items - first);
        if (u == NULL)
            break;
        u->frame = frame;
        u->frame_open = r == 0;
        if (r + 1 < rows)
            u->keep = CF_KEEP_HARD;
    }
    (void)first_unit;
    for (size_t c = 0; c < n_cols && c < 16; c++)
        cf_free(lines[c]);
}

static void flow_table(cf_layout_ctx *ctx, const cf_table *t)
{
    if (t->n_columns == 0 || t->n_columns > 15) {
        cf_diag_error(ctx->diag, ctx->form->path, 0,
                      "a table has %zu columns; 1 to 15 can be printed", t->n_columns);
        cf_layout_fail(ctx, CF_ERR_DATA);
        return;
    }
    cf_frame *frame = cf_flow_new_frame(ctx);
    if (frame == NULL)
        return;
    double width = ctx->geo.right - ctx->geo.left, x = ctx->geo.left;
    frame->n_xs = (unsigned)t->n_columns + 1;
    frame->stroke = 0.6;
    frame->xs[0] = x;
    for (size_t c = 0; c < t->n_columns; c++) {
        x += width * t->widths[c];
        frame->xs[c + 1] = x;
    }
    frame->xs[t->n_columns] = ctx->geo.right;
    double size = 11.0, pitch = 16.5;
    size_t header_first = ctx->flow.n_units, header_count = 0;
    if (t->header != NULL) {
        flow_row(ctx, frame, t->header, t->n_columns, true, size, pitch);
        header_count = ctx->flow.n_units - header_first;
        tie_range(ctx, header_first, ctx->flow.n_units, CF_KEEP_HARD);
    }
    size_t body_first = ctx->flow.n_units;
    for (size_t r = 0; r < t->n_rows && ctx->status == CF_OK; r++)
        flow_row(ctx, frame, t->rows[r], t->n_columns, false, size, pitch);
    if (ctx->status != CF_OK || ctx->flow.n_units == header_first)
        return;
    ctx->flow.units[header_first].space_before = BLOCK_GAP + 2;
    ctx->flow.units[ctx->flow.n_units - 1].frame_close = true;
    if (header_count > 0)
        for (size_t k = body_first; k < ctx->flow.n_units; k++) {
            ctx->flow.units[k].header_first = (long)header_first;
            ctx->flow.units[k].header_count = header_count;
        }
}

static void flow_risks(cf_layout_ctx *ctx, const cf_risks *risks)
{
    double gap = BLOCK_GAP;
    for (int band = 0; band < CF_FREQ_COUNT && ctx->status == CF_OK; band++) {
        size_t count = 0;
        for (size_t i = 0; i < risks->n_risks; i++)
            if ((int)risks->risks[i].frequency == band && applies(ctx, risks->risks[i].applies_to))
                count++;
        if (count == 0)
            continue;
        const cf_band *bd = &ctx->form->bands[band];
        size_t caption_unit = ctx->flow.n_units;
        cf_layout_text_reset(ctx);
        const char *caption =
            bd->caption != NULL ? bd->caption : cf_frequency_name((cf_frequency)band);
        cf_layout_text_add(ctx, caption, strlen(caption), CF_STYLE_BOLD);
        /* Numbers only where every risk of the band cites a source. */
        const char *meaning = cf_form_band_meaning(ctx->form, (cf_frequency)band);
        if (meaning != NULL) {
            cf_layout_text_add(ctx, "\xef\xbc\x88", 3, CF_STYLE_REGULAR); /* （ */
            cf_layout_text_add(ctx, meaning, strlen(meaning), CF_STYLE_REGULAR);
            cf_layout_text_add(ctx, "\xef\xbc\x89", 3, CF_STYLE_REGULAR); /* ） */
        }
        cf_set_options o = body_options(ctx, 0);
        flow_paragraph(ctx, &o, gap + 2, (size_t)-1);
        gap = BLOCK_GAP;
        size_t item_no = 0, keep_until = ctx->flow.n_units;
        for (size_t i = 0; i < risks->n_risks && ctx->status == CF_OK; i++) {
            const cf_risk *r = &risks->risks[i];
            if ((int)r->frequency != band || !applies(ctx, r->applies_to))
                continue;
            cf_set_options io = body_options(ctx, ctx->body_size * 1.5);
            size_t lead =
                cf_layout_add_text(ctx, "\xe2\x80\xa2", 3, false, ctx->body_size, ctx->geo.left,
                                   baseline_in(ctx, ctx->body_size, body_pitch(ctx)), 0);
            if (lead == (size_t)-1)
                return;
            cf_layout_text_reset(ctx);
            cf_layout_text_add_inline(ctx, r->text, false);
            if (r->rate != NULL && cf_form_risk_is_sourced(ctx->form, r)) {
                cf_layout_text_add(ctx, "\xef\xbc\x88", 3, CF_STYLE_REGULAR);
                cf_layout_text_add(ctx, r->rate, strlen(r->rate), CF_STYLE_REGULAR);
                cf_layout_text_add(ctx, "\xef\xbc\x89", 3, CF_STYLE_REGULAR);
            }
            add_applies_note(ctx, r->applies_to);
            io.lang = r->text != NULL ? r->text->lang : NULL;
            flow_paragraph(ctx, &io, ITEM_GAP, lead);
            if (++item_no <= 2)
                keep_until = ctx->flow.n_units;
        }
        /* The caption stays with the group's first two items. */
        if (keep_until > caption_unit + 1)
            tie_range(ctx, caption_unit, keep_until - 1, CF_KEEP_HARD);
    }
}

/* Instructions as bullets, without those for procedures the patient does not have. */
static void flow_instructions(cf_layout_ctx *ctx, const cf_instructions *in)
{
    double gap = BLOCK_GAP;
    for (size_t i = 0; i < in->n_items && ctx->status == CF_OK; i++) {
        const char *key = in->applies_to != NULL ? in->applies_to[i] : NULL;
        if (!applies(ctx, key))
            continue;
        cf_set_options o = body_options(ctx, ctx->body_size * 1.5);
        size_t lead = cf_layout_add_text(ctx, "\xe2\x80\xa2", 3, false, o.size, ctx->geo.left,
                                         baseline_in(ctx, o.size, o.pitch), 0); /* • */
        if (lead == (size_t)-1)
            return;
        cf_layout_text_reset(ctx);
        cf_layout_text_add_inline(ctx, in->items[i], false);
        add_applies_note(ctx, key);
        o.lang = in->items[i] != NULL ? in->items[i]->lang : NULL;
        flow_paragraph(ctx, &o, gap, lead);
        gap = ITEM_GAP;
    }
}

/* A row of "caption：________" cells across the column. */
static void flow_sign_row(cf_layout_ctx *ctx, const char *const *captions, size_t n,
                          double space_before)
{
    double width = ctx->geo.right - ctx->geo.left;
    double cell = width / (double)n;
    double base = SIGN_ROW - 6.0;
    size_t first = ctx->flow.n_items;
    for (size_t i = 0; i < n && ctx->status == CF_OK; i++) {
        double x = ctx->geo.left + cell * (double)i;
        cf_layout_text_reset(ctx);
        cf_layout_text_add(ctx, captions[i], strlen(captions[i]), CF_STYLE_REGULAR);
        cf_layout_text_add(ctx, "\xef\xbc\x9a", 3, CF_STYLE_REGULAR);
        double tw = cf_font_text_width(cf_layout_face(ctx, false), ctx->text.data, ctx->text.len,
                                       ctx->body_size);
        if (cf_layout_add_text(ctx, ctx->text.data, ctx->text.len, false, ctx->body_size, x, base,
                               0) == (size_t)-1)
            return;
        double x1 = x + tw + 2, x2 = x + cell - 12;
        if (x2 - x1 < 36) {
            cf_diag_error(ctx->diag, ctx->form->path, 0,
                          "signature caption \"%s\" is too long for its line", captions[i]);
            cf_layout_fail(ctx, CF_ERR_DATA);
            return;
        }
        cf_item rule = {.kind = CF_ITEM_LINE, .x = x1, .y = base + 2};
        rule.u.line.x2 = x2;
        rule.u.line.y2 = base + 2;
        rule.u.line.width = 0.6;
        cf_flow_add_item(ctx, &rule);
    }
    cf_unit *u = cf_flow_add_unit(ctx, SIGN_ROW, space_before, first, ctx->flow.n_items - first);
    if (u != NULL)
        u->keep = CF_KEEP_HARD;
}

static void flow_signature(cf_layout_ctx *ctx, const cf_signature_block *s)
{
    size_t first_unit = ctx->flow.n_units;
    /* A block whose only line is captioned like the block itself (a leaflet's "病人簽署：____")
     * needs no heading. */
    bool heading = s->signature_caption == NULL || strcmp(s->caption, s->signature_caption) != 0 ||
                   s->name_caption != NULL || s->statement != NULL;
    if (heading) {
        cf_layout_text_reset(ctx);
        cf_layout_text_add(ctx, s->caption, strlen(s->caption), CF_STYLE_BOLD);
        cf_set_options o = body_options(ctx, 0);
        o.justify = false;
        flow_paragraph(ctx, &o, BLOCK_GAP + 8, (size_t)-1);
    }
    if (s->statement != NULL)
        flow_text(ctx, s->statement, false, 0, 2);
    const char *row[3];
    size_t n = 0;
    if (s->name_caption != NULL)
        row[n++] = s->name_caption;
    if (s->relationship_caption != NULL)
        row[n++] = s->relationship_caption;
    if (s->language_caption != NULL)
        row[n++] = s->language_caption;
    if (n > 0)
        flow_sign_row(ctx, row, n, 0);
    n = 0;
    if (s->signature_caption != NULL)
        row[n++] = s->signature_caption;
    if (s->date_caption != NULL)
        row[n++] = s->date_caption;
    if (s->time_caption != NULL)
        row[n++] = s->time_caption;
    if (n > 0)
        flow_sign_row(ctx, row, n, heading ? 0 : BLOCK_GAP + 8);
    /* A signature block never splits. */
    if (ctx->flow.n_units > first_unit) {
        tie_range(ctx, first_unit, ctx->flow.n_units - 1, CF_KEEP_HARD);
        ctx->flow.units[ctx->flow.n_units - 1].keep = CF_KEEP_NONE;
    }
}

static void flow_block(cf_layout_ctx *ctx, const cf_block *b, bool first_in_section)
{
    double gap = first_in_section ? 4 : BLOCK_GAP;
    size_t first_unit = ctx->flow.n_units;
    switch (b->kind) {
    case CF_BLOCK_HEADING: {
        size_t u = flow_text(ctx, b->u.text, true, 0, first_in_section ? 4 : BLOCK_GAP + 4);
        if (u != (size_t)-1)
            tie_range(ctx, u, ctx->flow.n_units, CF_KEEP_HARD); /* never ends a page */
        break;
    }
    case CF_BLOCK_PARAGRAPH:
        flow_text(ctx, b->u.text, false, 0, gap);
        break;
    case CF_BLOCK_BULLETS:
        flow_list(ctx, b->u.list.items, b->u.list.n_items, false, 1, gap, NULL);
        break;
    case CF_BLOCK_NUMBERED:
        flow_list(ctx, b->u.list.items, b->u.list.n_items, true, b->u.list.start, gap, NULL);
        break;
    case CF_BLOCK_DECLARATIONS:
        flow_list(ctx, b->u.list.items, b->u.list.n_items, true, b->u.list.start, gap, NULL);
        /* A declaration never splits: the whole list stays together when it fits a page. */
        if (ctx->flow.n_units > first_unit)
            tie_range(ctx, first_unit, ctx->flow.n_units - 1, CF_KEEP_HARD);
        break;
    case CF_BLOCK_REFERENCES: {
        cf_set_options o = body_options(ctx, 0);
        o.size = SMALL_SIZE;
        o.pitch = SMALL_PITCH;
        o.justify = false;
        flow_list(ctx, b->u.list.items, b->u.list.n_items, true, 1, gap, &o);
        break;
    }
    case CF_BLOCK_TABLE:
        flow_table(ctx, &b->u.table);
        break;
    case CF_BLOCK_CHECKBOXES:
        flow_checkboxes(ctx, b);
        break;
    case CF_BLOCK_NOTE:
        if (applies(ctx, b->u.note.applies_to))
            flow_note(ctx, &b->u.note);
        break;
    case CF_BLOCK_RISKS:
        flow_risks(ctx, &b->u.risks);
        break;
    case CF_BLOCK_INSTRUCTIONS:
        flow_instructions(ctx, &b->u.instructions);
        break;
    case CF_BLOCK_SIGNATURES:
        for (size_t i = 0; i < b->u.signatures.n_blocks && ctx->status == CF_OK; i++)
            flow_signature(ctx, &b->u.signatures.blocks[i]);
        break;
    }
}

static void flow_section(cf_layout_ctx *ctx, const cf_section *s)
{
    size_t first_unit = ctx->flow.n_units;
    if (s->title != NULL) {
        cf_layout_text_reset(ctx);
        cf_layout_text_add(ctx, s->title, strlen(s->title), CF_STYLE_BOLD);
        cf_set_options o = body_options(ctx, 0);
        o.size = SECTION_SIZE;
        o.pitch = SECTION_PITCH;
        o.justify = false;
        size_t u = flow_paragraph(ctx, &o, SECTION_GAP, (size_t)-1);
        if (u != (size_t)-1)
            tie_range(ctx, u, ctx->flow.n_units, CF_KEEP_HARD);
    }
    for (size_t i = 0; i < s->n_blocks && ctx->status == CF_OK; i++) {
        size_t before = ctx->flow.n_units;
        flow_block(ctx, &s->blocks[i], i == 0);
        /* A heading's last line stays with what follows it. */
        if (i > 0 && s->blocks[i - 1].kind == CF_BLOCK_HEADING && before > 0)
            tie_range(ctx, before - 1, before, CF_KEEP_HARD);
    }
    /* Declarations and signatures on one page when they fit. */
    if (s->role == CF_SECTION_SIGNING && ctx->flow.n_units > first_unit)
        tie_range(ctx, first_unit, ctx->flow.n_units - 1, CF_KEEP_SOFT);
}

/* ---- pagination ----------------------------------------------------------------------- */

typedef struct placement {
    size_t unit;
    size_t page;
    double top;
} placement;

typedef struct pager {
    cf_layout_ctx *ctx;
    placement *places;
    size_t n_places, cap_places;
    size_t page;
    double y;
    bool page_empty;
} pager;

static double page_top(const pager *p, size_t page)
{
    return page == 0 ? p->ctx->body_top_first : p->ctx->body_top_other;
}

static bool place(pager *p, size_t unit)
{
    if (p->n_places == p->cap_places) {
        placement *grown =
            cf_grow_array(p->places, &p->cap_places, p->n_places + 1, sizeof *grown, 256);
        if (grown == NULL)
            return cf_layout_fail(p->ctx, CF_ERR_NOMEM), false;
        p->places = grown;
    }
    const cf_unit *u = &p->ctx->flow.units[unit];
    double top = p->page_empty ? p->y : p->y - u->space_before;
    p->places[p->n_places++] = (placement){unit, p->page, top};
    p->y = top - u->height;
    p->page_empty = false;
    return true;
}

static double header_height(const pager *p, size_t unit)
{
    const cf_unit *u = &p->ctx->flow.units[unit];
    double h = 0;
    if (u->header_first < 0 || (size_t)u->header_first + u->header_count > unit)
        return 0;
    for (size_t k = 0; k < u->header_count; k++)
        h += p->ctx->flow.units[(size_t)u->header_first + k].height;
    return h;
}

static bool new_page(pager *p, size_t next_unit)
{
    p->page++;
    p->y = page_top(p, p->page);
    p->page_empty = true;
    const cf_unit *u = &p->ctx->flow.units[next_unit];
    if (header_height(p, next_unit) > 0)
        for (size_t k = 0; k < u->header_count; k++)
            if (!place(p, (size_t)u->header_first + k))
                return false;
    return true;
}

/* Height of units [a, b] placed from the top of the current position. */
static double chain_height(const pager *p, size_t a, size_t b, bool at_top)
{
    double h = 0;
    for (size_t k = a; k <= b; k++) {
        const cf_unit *u = &p->ctx->flow.units[k];
        h += u->height + ((k == a && at_top) ? 0 : u->space_before);
    }
    return h;
}

static size_t chain_end(const pager *p, size_t a, cf_keep level)
{
    size_t b = a;
    while (b + 1 < p->ctx->flow.n_units && p->ctx->flow.units[b].keep >= level)
        b++;
    return b;
}

static bool paginate(pager *p)
{
    cf_layout_ctx *ctx = p->ctx;
    double bottom = ctx->geo.bottom;
    p->page = 0;
    p->y = page_top(p, 0);
    p->page_empty = true;
    size_t i = 0, n = ctx->flow.n_units;
    while (i < n && ctx->status == CF_OK) {
        size_t b = (size_t)-1;
        for (cf_keep level = CF_KEEP_SOFT; level <= CF_KEEP_HARD; level++) {
            size_t e = chain_end(p, i, level);
            double fresh = page_top(p, p->page + 1) - bottom - header_height(p, i);
            if (p->y - chain_height(p, i, e, p->page_empty) >= bottom - 0.01) {
                b = e;
                break;
            }
            if (chain_height(p, i, e, true) <= fresh + 0.01) {
                if (!p->page_empty && !new_page(p, i))
                    return false;
                b = e;
                break;
            }
        }
        if (b == (size_t)-1) {
            /* Taller than a page even when only hard ties count: fill pages unit by unit. */
            const cf_unit *u = &ctx->flow.units[i];
            if (!p->page_empty && p->y - u->space_before - u->height < bottom - 0.01 &&
                !new_page(p, i))
                return false;
            if (!place(p, i))
                return false;
            i++;
            continue;
        }
        for (size_t k = i; k <= b; k++)
            if (!place(p, k))
                return false;
        i = b + 1;
    }
    return ctx->status == CF_OK;
}

static void add_abs_item(cf_layout_ctx *ctx, size_t page, const cf_item *rel, double top)
{
    cf_item it = *rel;
    it.y = top - rel->y;
    if (it.kind == CF_ITEM_LINE)
        it.u.line.y2 = top - rel->u.line.y2;
    cf_status st = cf_display_list_add_item(ctx->list, page, &it);
    if (st != CF_OK)
        cf_layout_fail(ctx, st);
}

static void add_rule(cf_layout_ctx *ctx, size_t page, double x1, double y1, double x2, double y2,
                     double width)
{
    cf_item it = {.kind = CF_ITEM_LINE, .x = x1, .y = y1};
    it.u.line.x2 = x2;
    it.u.line.y2 = y2;
    it.u.line.width = width;
    cf_status st = cf_display_list_add_item(ctx->list, page, &it);
    if (st != CF_OK)
        cf_layout_fail(ctx, st);
}

static void emit_pages(cf_layout_ctx *ctx, const pager *p)
{
    size_t pages = p->n_places > 0 ? p->places[p->n_places - 1].page + 1 : 1;
    for (size_t k = 0; k < pages; k++)
        if (cf_display_list_add_page(ctx->list) == (size_t)-1) {
            cf_layout_fail(ctx, CF_ERR_NOMEM);
            return;
        }
    for (size_t k = 0; k < p->n_places && ctx->status == CF_OK; k++) {
        const placement *pl = &p->places[k];
        const cf_unit *u = &ctx->flow.units[pl->unit];
        for (size_t i = 0; i < u->n_items; i++)
            add_abs_item(ctx, pl->page, &ctx->flow.items[u->first_item + i], pl->top);
        if (u->frame == NULL)
            continue;
        const cf_frame *f = u->frame;
        double bottom = pl->top - u->height;
        for (unsigned x = 0; x < f->n_xs; x++)
            add_rule(ctx, pl->page, f->xs[x], pl->top, f->xs[x], bottom, f->stroke);
        bool first_here = k == 0 || p->places[k - 1].page != pl->page ||
                          ctx->flow.units[p->places[k - 1].unit].frame != f;
        bool last_here = k + 1 == p->n_places || p->places[k + 1].page != pl->page ||
                         ctx->flow.units[p->places[k + 1].unit].frame != f;
        if (u->frame_open || first_here)
            add_rule(ctx, pl->page, f->xs[0], pl->top, f->xs[f->n_xs - 1], pl->top, f->stroke);
        if (u->frame_close || last_here)
            add_rule(ctx, pl->page, f->xs[0], bottom, f->xs[f->n_xs - 1], bottom, f->stroke);
    }
}

static void geometry(cf_paper paper, cf_geometry *g)
{
    if (paper == CF_PAPER_LETTER) {
        g->width = 612.0;
        g->height = 792.0;
    } else {
        g->width = 595.28;
        g->height = 841.89;
    }
    g->left = 18 * CF_MM;
    g->right = g->width - 18 * CF_MM;
    g->top = g->height - 12 * CF_MM;
    g->footer_bottom = 9 * CF_MM;
    g->bottom = g->footer_bottom; /* furniture raises it above the footer */
}

static void flow_free(cf_flow *fl)
{
    for (size_t i = 0; i < fl->n_frames; i++)
        cf_free(fl->frames[i]);
    cf_free(fl->frames);
    cf_free(fl->units);
    cf_free(fl->items);
}

/* Lays out the form once with body text at body_size; *content_pages gets the page count
 * before any padding page (cf_layout_options.pad_to_even). With may_shrink, a form taking more
 * than its max-pages is returned without furniture (the caller tries a smaller size: no QR
 * code is made for a list that is thrown away). */
static cf_status lay_out(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                         const cf_layout_options *options, double body_size, bool may_shrink,
                         cf_display_list **out, size_t *content_pages, cf_diag *diag)
{
    *out = NULL;
    cf_layout_ctx ctx = {
        .form = form,
        .record = record,
        .fonts = fonts,
        .options = options,
        .diag = diag,
        .body_size = body_size,
    };
    geometry(options->paper, &ctx.geo);
    cf_buf_init(&ctx.text, 1u << 20);
    ctx.list = cf_display_list_new(ctx.geo.width, ctx.geo.height, fonts);
    if (ctx.list == NULL) {
        cf_buf_cleanup(&ctx.text);
        return CF_ERR_NOMEM;
    }
    pager pg = {.ctx = &ctx};
    cf_layout_reads reads = {0};
    if (cf_layout_prepare_furniture(&ctx) == CF_OK) {
        /* The body: from the cache when one was made with the same inputs, else flowed and
         * paginated (and kept). The furniture decides where it starts, so it comes first. */
        cf_body_key key = {
            .form = form,
            .fonts = fonts,
            .paper = options->paper,
            .blank = options->blank,
            .body_size = body_size,
            .top_first = ctx.body_top_first,
            .top_other = ctx.body_top_other,
            .bottom = ctx.geo.bottom,
            .left = ctx.geo.left,
            .right = ctx.geo.right,
        };
        cf_body_entry *hit =
            options->cache != NULL
                ? cf_layout_cache_find(options->cache, &key, options->blank ? NULL : record)
                : NULL;
        if (hit != NULL) {
            *content_pages = cf_body_entry_content_pages(hit);
            if (!(may_shrink && *content_pages > form->max_pages))
                cf_layout_fail(&ctx, cf_body_entry_emit(hit, ctx.list));
            cf_layout_cache_release(options->cache, hit);
        } else {
            if (options->cache != NULL)
                ctx.reads = &reads;
            for (size_t i = 0; i < form->n_sections && ctx.status == CF_OK; i++)
                flow_section(&ctx, &form->sections[i]);
            ctx.reads = NULL;
            if (ctx.status == CF_OK && paginate(&pg))
                emit_pages(&ctx, &pg);
            if (ctx.status == CF_OK)
                *content_pages = ctx.list->n_pages;
            if (ctx.status == CF_OK && options->cache != NULL)
                cf_layout_cache_store(options->cache, &key, &reads, ctx.list, *content_pages);
        }
        bool thrown_away = may_shrink && *content_pages > form->max_pages;
        if (ctx.status == CF_OK && !thrown_away && options->pad_to_even &&
            ctx.list->n_pages % 2 == 1)
            cf_layout_add_blank_page(&ctx);
        if (ctx.status == CF_OK && !thrown_away)
            cf_layout_paint_furniture(&ctx);
    }
    cf_layout_reads_cleanup(&reads);
    cf_free(pg.places);
    flow_free(&ctx.flow);
    cf_free(ctx.styles);
    cf_buf_cleanup(&ctx.text);
    if (ctx.status != CF_OK) {
        cf_display_list_free(ctx.list);
        return ctx.status;
    }
    *out = ctx.list;
    return CF_OK;
}

cf_status cf_layout(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                    const cf_layout_options *options, cf_display_list **out, cf_diag *diag)
{
    *out = NULL;
    if (form == NULL || fonts == NULL || options == NULL || fonts->faces[CF_FONT_REGULAR] == NULL ||
        fonts->faces[CF_FONT_BOLD] == NULL)
        return CF_ERR_INTERNAL;
    if (record == NULL && !options->blank) {
        cf_diag_error(diag, form->path, 0, "no patient record given for a labelled form");
        return CF_ERR_INTERNAL;
    }
    /* <layout max-pages>: the largest body size, from the form's own down to the floor, at
     * which the form fits; otherwise the floor, with a warning. The patient's values count
     * (a long name can take a line more), so this is decided per document. */
    double size = BODY_DEFAULT;
    for (;;) {
        cf_display_list *list = NULL;
        size_t pages = 0; /* the form's own pages: a padding page does not count */
        bool last = form->max_pages == 0 || size - BODY_STEP < BODY_FLOOR - 0.001;
        cf_status st = lay_out(form, record, fonts, options, size, !last, &list, &pages, diag);
        if (st != CF_OK)
            return st;
        if (last || pages <= form->max_pages) {
            if (form->max_pages != 0 && pages > form->max_pages)
                cf_diag_warning(diag, form->path, 0,
                                "the form takes %zu pages even with %.1f pt body text; its "
                                "<layout max-pages=\"%u\"> asks for at most %u (shorten the "
                                "text or raise max-pages)",
                                pages, size, form->max_pages, form->max_pages);
            *out = list;
            return CF_OK;
        }
        cf_display_list_free(list);
        size -= BODY_STEP;
    }
}
