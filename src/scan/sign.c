/* Signature areas: where a form's signature, date and time lines sit on an issued document's
 * pages (read from its display list), and whether a scanned page has ink above them. */
#include "scan/scan.h"

#include "base/alloc.h"

#include <math.h>
#include <string.h>

/* The area checked above a rule, in points: from just above the printed rule (its width and the
 * placement error of a page mapped from its QR stay below this) to below the baseline of the
 * row above (signature rows are 30 pt apart: src/layout/layout.c SIGN_ROW). */
#define AREA_ABOVE_RULE 4.0
#define AREA_HEIGHT 18.0
#define AREA_INSET 4.0
/* The width of the rules flow_sign_row draws. */
#define RULE_WIDTH 0.6
#define FULLWIDTH_COLON "\xef\xbc\x9a"

typedef struct expected_line {
    const char *caption;
    size_t block;
    cf_signer_role role;
    int line; /* a cf_sign_line, or -1 for a name, relationship or language line */
} expected_line;

/* The lines flow_signature draws for the form's signature blocks, in drawing order. */
static expected_line *expected_lines(const cf_form *form, size_t *n)
{
    size_t count = 0, cap = 0, block = 0;
    expected_line *lines = NULL;
    for (size_t s = 0; s < form->n_sections; s++) {
        const cf_section *section = &form->sections[s];
        for (size_t b = 0; b < section->n_blocks; b++) {
            const cf_block *blk = &section->blocks[b];
            if (blk->kind != CF_BLOCK_SIGNATURES)
                continue;
            for (size_t i = 0; i < blk->u.signatures.n_blocks; i++, block++) {
                const cf_signature_block *sb = &blk->u.signatures.blocks[i];
                const char *captions[6] = {sb->name_caption,     sb->relationship_caption,
                                           sb->language_caption, sb->signature_caption,
                                           sb->date_caption,     sb->time_caption};
                const int kinds[6] = {
                    -1, -1, -1, CF_SIGN_LINE_SIGNATURE, CF_SIGN_LINE_DATE, CF_SIGN_LINE_TIME};
                for (size_t c = 0; c < 6; c++) {
                    if (captions[c] == NULL)
                        continue;
                    expected_line *grown = cf_grow_array(lines, &cap, count + 1, sizeof *lines, 16);
                    if (grown == NULL) {
                        cf_free(lines);
                        return NULL;
                    }
                    lines = grown;
                    lines[count++] = (expected_line){captions[c], block, sb->role, kinds[c]};
                }
            }
        }
    }
    *n = count;
    if (lines == NULL)
        lines = cf_calloc(1, sizeof *lines); /* a form without signatures: an empty list */
    return lines;
}

/* True when text is caption followed by a full-width colon. */
static bool is_caption_of(const cf_item *text, const char *caption)
{
    size_t n = strlen(caption), c = strlen(FULLWIDTH_COLON);
    return text->u.text.len == n + c && memcmp(text->u.text.utf8, caption, n) == 0 &&
           memcmp(text->u.text.utf8 + n, FULLWIDTH_COLON, c) == 0;
}

static bool is_sign_rule(const cf_item *it)
{
    return it->kind == CF_ITEM_LINE && it->u.line.y2 == it->y && it->u.line.x2 > it->x &&
           fabs(it->u.line.width - RULE_WIDTH) < 1e-9 && !it->u.line.dashed;
}

cf_status cf_scan_areas_get(const cf_form *form, const cf_display_list *list, cf_sign_area **areas,
                            size_t *n_areas, cf_sign_qr_place **qr)
{
    cf_status st = CF_OK;
    size_t n_expected = 0, cursor = 0, count = 0, cap = 0;
    cf_sign_area *out = NULL;
    cf_sign_qr_place *places = NULL;
    expected_line *expected = expected_lines(form, &n_expected);
    *areas = NULL;
    *n_areas = 0;
    *qr = NULL;
    places = cf_calloc(list->n_pages > 0 ? list->n_pages : 1, sizeof *places);
    if (expected == NULL || places == NULL) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    for (size_t p = 0; p < list->n_pages; p++) {
        const cf_page *page = &list->pages[p];
        for (size_t i = 0; i < page->n_items; i++) {
            const cf_item *it = &page->items[i];
            if (it->kind == CF_ITEM_MODULES) {
                double side = it->u.modules.module * it->u.modules.count;
                places[p] = (cf_sign_qr_place){it->x, it->y, side};
                continue;
            }
            /* flow_sign_row draws each caption, then its rule. */
            if (cursor == n_expected || it->kind != CF_ITEM_TEXT || i + 1 == page->n_items ||
                !is_sign_rule(&page->items[i + 1]) || !is_caption_of(it, expected[cursor].caption))
                continue;
            const cf_item *rule = &page->items[i + 1];
            const expected_line *e = &expected[cursor++];
            if (e->line < 0)
                continue;
            cf_sign_area *grown = cf_grow_array(out, &cap, count + 1, sizeof *out, 8);
            if (grown == NULL) {
                st = CF_ERR_NOMEM;
                goto done;
            }
            out = grown;
            out[count++] = (cf_sign_area){
                .page = p,
                .role = e->role,
                .line = (cf_sign_line)e->line,
                .block = e->block,
                .x1 = rule->x + AREA_INSET,
                .y1 = rule->y + AREA_ABOVE_RULE,
                .x2 = rule->u.line.x2 - AREA_INSET,
                .y2 = rule->y + AREA_ABOVE_RULE + AREA_HEIGHT,
            };
        }
    }
    /* Every line the form declares must have been found, or the areas would be guessed. */
    if (cursor != n_expected)
        st = CF_ERR_DATA;
done:
    cf_free(expected);
    if (st != CF_OK) {
        cf_free(out);
        cf_free(places);
        return st;
    }
    *areas = out;
    *n_areas = count;
    *qr = places;
    return CF_OK;
}

/* Page points to image pixels. */
typedef struct page_map {
    double ox, oy;         /* image position of the page point (left, top) below */
    double left, top;      /* page point of the QR's top-left corner */
    double ux, uy, vx, vy; /* image step for one point right, one point down */
    /* Correction found from the printed rule: a turn by (cos, sin) about (cx, cy), then a
     * shift by (dx, dy). */
    double cx, cy, cos_a, sin_a, dx, dy;
} page_map;

static void map_point(const page_map *m, double px, double py, double *ix, double *iy)
{
    double a = px - m->left, b = m->top - py;
    double x = m->ox + m->ux * a + m->vx * b - m->cx, y = m->oy + m->uy * a + m->vy * b - m->cy;
    *ix = m->cx + m->cos_a * x - m->sin_a * y + m->dx;
    *iy = m->cy + m->sin_a * x + m->cos_a * y + m->dy;
}

static unsigned pixel_at(const cf_scan_image *image, double x, double y)
{
    if (x < 0 || y < 0 || x >= image->width || y >= image->height)
        return 255; /* off the scan: white */
    return image->pixels[(size_t)y * image->width + (size_t)x];
}

/* Darkness summed along the image segment (x0, y0)-(x1, y1), n samples. */
static double darkness(const cf_scan_image *image, double x0, double y0, double x1, double y1,
                       int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double t = (i + 0.5) / n;
        sum += 255 - pixel_at(image, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
    }
    return sum / n;
}

/* Where the QR puts the page is good near the QR and off by up to a few millimetres across the
 * page: a corner misplaced by one pixel turns the page by half a degree. The area's printed rule
 * is searched for near where the QR puts it (turned up to RULE_TURN degrees, moved up to
 * RULE_SEARCH points across) and the map corrected to put the rule where it is. */
#define RULE_SEARCH 14.0
#define RULE_TURN 2.0
#define RULE_SAMPLES 160

static void snap_to_rule(const cf_scan_image *image, page_map *m, const cf_sign_area *area)
{
    double rx0 = area->x1 - AREA_INSET, rx1 = area->x2 + AREA_INSET;
    double ry = area->y1 - AREA_ABOVE_RULE;
    double x0, y0, x1, y1, nx, ny;
    map_point(m, rx0, ry, &x0, &y0);
    map_point(m, rx1, ry, &x1, &y1);
    map_point(m, rx0, ry + 1, &nx, &ny); /* one point up */
    nx -= x0;
    ny -= y0;
    double scale = sqrt(nx * nx + ny * ny); /* pixels per point */
    if (!(scale > 0))
        return;
    nx /= scale;
    ny /= scale;
    double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    /* the middle 90% of the rule, as an offset from its centre */
    double hx = (x1 - x0) * 0.45, hy = (y1 - y0) * 0.45;
    double best = -1, best_t = 0, best_a = 0;
    int steps = (int)ceil(RULE_SEARCH * scale);
    int turns = (int)(RULE_TURN * 4); /* quarter degrees */
    for (int q = -turns; q <= turns; q++) {
        double deg = q * 0.25;
        double c = cos(deg * M_PI / 180), s = sin(deg * M_PI / 180);
        double ex = c * hx - s * hy, ey = s * hx + c * hy;
        for (int k = -steps; k <= steps; k++) {
            double px = cx + nx * k, py = cy + ny * k;
            double d = darkness(image, px - ex, py - ey, px + ex, py + ey, RULE_SAMPLES);
            if (d > best) {
                best = d;
                best_t = k;
                best_a = deg;
            }
        }
    }
    /* A rule is dark along most of its length; without one (a page too faint, or not ours)
     * the QR's placement stands. */
    if (best < 80)
        return;
    m->cx = cx;
    m->cy = cy;
    double c = cos(best_a * M_PI / 180), s = sin(best_a * M_PI / 180);
    /* compose with what the map already had (identity until now) */
    m->cos_a = c;
    m->sin_a = s;
    m->dx = nx * best_t;
    m->dy = ny * best_t;
}

double cf_scan_area_ink(const cf_scan_image *image, const cf_scan_qr *qr,
                        const cf_sign_qr_place *place, const cf_sign_area *area)
{
    if (place->side <= 0 || image->width == 0 || image->height == 0)
        return 0;
    /* Page points map to image pixels through the QR: its top-left corner is (x, y + side),
     * one side to the right is the top-right corner, one side down the bottom-left one. The
     * affine map carries the scan's position, scale, rotation and skew; the two other sides
     * are averaged in, which halves the error of one misplaced corner. */
    const double(*c)[2] = qr->corners;
    page_map m = {
        .ox = c[0][0],
        .oy = c[0][1],
        .left = place->x,
        .top = place->y + place->side,
        .ux = ((c[1][0] - c[0][0]) + (c[2][0] - c[3][0])) / 2 / place->side,
        .uy = ((c[1][1] - c[0][1]) + (c[2][1] - c[3][1])) / 2 / place->side,
        .vx = ((c[3][0] - c[0][0]) + (c[2][0] - c[1][0])) / 2 / place->side,
        .vy = ((c[3][1] - c[0][1]) + (c[2][1] - c[1][1])) / 2 / place->side,
        .cos_a = 1,
    };
    double scale = sqrt(m.ux * m.ux + m.uy * m.uy); /* pixels per point */
    if (!(scale > 0))
        return 0;
    snap_to_rule(image, &m, area);
    /* Sample the area on a grid of about one sample per pixel. */
    size_t nx = (size_t)ceil((area->x2 - area->x1) * scale);
    size_t ny = (size_t)ceil((area->y2 - area->y1) * scale);
    size_t dark = 0, total = 0;
    for (size_t j = 0; j < ny; j++) {
        double py = area->y1 + (area->y2 - area->y1) * ((double)j + 0.5) / (double)ny;
        for (size_t i = 0; i < nx; i++) {
            double px = area->x1 + (area->x2 - area->x1) * ((double)i + 0.5) / (double)nx;
            double ix, iy;
            map_point(&m, px, py, &ix, &iy);
            total++;
            dark += pixel_at(image, ix, iy) < 128;
        }
    }
    return total > 0 ? (double)dark / (double)total : 0;
}

bool cf_scan_area_check(const cf_scan_image *image, const cf_scan_qr *qr,
                        const cf_sign_qr_place *place, const cf_sign_area *area)
{
    return cf_scan_area_ink(image, qr, place, area) >= CF_SCAN_INK_SIGNED;
}
