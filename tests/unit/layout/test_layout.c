/* Unit tests of src/layout/layout.c: both shipped forms and the sample forms laid out for a
 * fixed patient, checked line by line (clreq line starts and ends, Latin words and numbers
 * with units kept whole, nothing outside the text column, the patient's identity on every
 * page), the label box (shrink, two lines, error), blank forms, hostile paragraphs and table
 * rows, and the display-list dump goldens (tests/golden/layout/; CF_REGENERATE=1 rewrites). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/diag.h"
#include "base/utf8.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "layout/layout.h"
#include "test_util.h"
#include "text/font.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#define NAME "\xe9\x99\xb3\xe5\xa4\xa7\xe6\x96\x87" /* 陳大文 */
#define HN "HN12345678(9)"
#define EP "HE1234567"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    if (data != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    if (data != NULL) {
        data[n] = '\0';
        *len = (size_t)n;
    }
    fclose(f);
    return data;
}

static cf_form *load(const char *rel)
{
    char path[4096];
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_form *form = NULL;
    cf_status st = cf_form_load(test_source_path(path, sizeof path, rel), NULL, &form, diag);
    cf_diag_free(diag);
    assert_int_equal(st, CF_OK);
    return form;
}

static cf_form *load_memory(const char *xml)
{
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_form *form = NULL;
    cf_status st = cf_form_load_memory(xml, strlen(xml), "memory.xml", NULL, &form, diag);
    cf_diag_free(diag);
    assert_int_equal(st, CF_OK);
    return form;
}

static const cf_fontset *fonts_for(const cf_form *form)
{
    const cf_fontset *fonts = NULL;
    assert_int_equal(cf_fontset_get(form->region, &fonts, NULL), CF_OK);
    return fonts;
}

static cf_record *patient(const char *name, const char *hn, const char *ep)
{
    cf_record *r = cf_record_new(NULL, 0);
    assert_non_null(r);
    assert_int_equal(cf_record_set(r, "patient_name", name), CF_OK);
    assert_int_equal(cf_record_set(r, "hospital_no", hn), CF_OK);
    if (ep != NULL)
        assert_int_equal(cf_record_set(r, "episode_no", ep), CF_OK);
    return r;
}

/* The patient of the shipped-form tests; with sets, the DPN consent's fill-in fields too. */
static cf_record *shipped_patient(bool sets)
{
    cf_record *r = patient(NAME, HN, sets ? NULL : EP);
    if (sets) { /* the Taiwan label: name, chart number, birth date */
        assert_int_equal(cf_record_set(r, "birth_date", "1950-03-02"), CF_OK);
        assert_int_equal(cf_record_set(r, "procedures", "d5w;prp"), CF_OK);
        assert_int_equal(cf_record_set(r, "side", "left"), CF_OK);
        assert_int_equal(cf_record_set(r, "procedure_date", "2026-12-01"), CF_OK);
    }
    return r;
}

static cf_status lay(const cf_form *form, cf_record *record, bool blank, cf_display_list **out,
                     cf_diag *diag)
{
    const cf_fontset *fonts = fonts_for(form);
    cf_layout_options o = {.paper = CF_PAPER_A4,
                           .blank = blank,
                           .document_id = "7K3QJ2M9XW4TB",
                           .created = 1767225600};
    if (record != NULL) {
        cf_status st = cf_record_check(form, record, fonts, blank, diag);
        if (st != CF_OK)
            return st;
    }
    return cf_layout(form, record, fonts, &o, out, diag);
}

/* ---- lines as printed ----------------------------------------------------------------- */

typedef struct line {
    double y, x0, x1;
    double size;
    char text[2048];
    size_t len;
} line;

typedef struct text_ref {
    const cf_item *item;
} text_ref;

static int by_position(const void *a, const void *b)
{
    const cf_item *p = ((const text_ref *)a)->item, *q = ((const text_ref *)b)->item;
    if (p->y > q->y + 0.01)
        return -1;
    if (p->y < q->y - 0.01)
        return 1;
    return p->x < q->x ? -1 : p->x > q->x;
}

static double item_width(const cf_display_list *list, const cf_item *it)
{
    const cf_font *f = list->fonts->faces[it->u.text.style];
    double w = cf_font_text_width(f, it->u.text.utf8, it->u.text.len, it->u.text.size);
    size_t n = cf_utf8_length(it->u.text.utf8, it->u.text.len);
    return w + it->u.text.char_spacing * (double)(n > 0 ? n - 1 : 0);
}

/* Groups a page's text items into visual lines: same baseline, touching in x. */
static size_t page_lines(const cf_display_list *list, size_t page, line *out, size_t max)
{
    const cf_page *pg = &list->pages[page];
    text_ref *refs = calloc(pg->n_items + 1, sizeof *refs);
    size_t n = 0, lines = 0;
    for (size_t i = 0; i < pg->n_items; i++)
        if (pg->items[i].kind == CF_ITEM_TEXT)
            refs[n++].item = &pg->items[i];
    qsort(refs, n, sizeof *refs, by_position);
    for (size_t i = 0; i < n && lines < max; i++) {
        const cf_item *it = refs[i].item;
        line *cur = lines > 0 ? &out[lines - 1] : NULL;
        bool join = cur != NULL && cur->y - it->y < 0.01 && cur->y - it->y > -0.01 &&
                    it->x - cur->x1 < it->u.text.size * 1.2;
        if (!join) {
            cur = &out[lines++];
            memset(cur, 0, sizeof *cur);
            cur->y = it->y;
            cur->x0 = it->x;
            cur->size = it->u.text.size;
        }
        if (cur->len + it->u.text.len + 1 < sizeof cur->text) {
            if (join && it->x - cur->x1 > it->u.text.size * 0.2)
                cur->text[cur->len++] = ' ';
            memcpy(cur->text + cur->len, it->u.text.utf8, it->u.text.len);
            cur->len += it->u.text.len;
            cur->text[cur->len] = '\0';
        }
        cur->x1 = it->x + item_width(list, it);
    }
    free(refs);
    return lines;
}

static uint32_t first_cp(const line *l)
{
    uint32_t cp = 0;
    cf_utf8_decode(l->text, l->len, &cp);
    return cp;
}

static uint32_t last_cp(const line *l)
{
    size_t i = l->len;
    while (i > 0 && ((unsigned char)l->text[i - 1] & 0xC0) == 0x80)
        i--;
    uint32_t cp = 0;
    if (i > 0)
        cf_utf8_decode(l->text + i - 1, l->len - (i - 1), &cp);
    return cp;
}

static bool in_list(uint32_t cp, const char *set)
{
    for (size_t i = 0; set[i] != '\0';) {
        uint32_t c = 0;
        size_t k = cf_utf8_decode(set + i, strlen(set + i), &c);
        if (k == 0)
            return false;
        if (c == cp)
            return true;
        i += k;
    }
    return false;
}

static const char no_start[] = "、，；：。！？」』）》〉】〕”’·‧～／,.;:!?)]%";
static const char no_end[] = "「『（《〈【〔“‘([";

static bool is_latin(uint32_t cp)
{
    return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
}

/* The trailing Latin word of a line / the leading one of the next. */
static void edge_word(const line *l, bool trailing, char *out, size_t size)
{
    size_t a = 0, b = l->len;
    if (trailing) {
        a = b;
        while (a > 0 && is_latin((unsigned char)l->text[a - 1]))
            a--;
    } else {
        b = 0;
        while (b < l->len && is_latin((unsigned char)l->text[b]))
            b++;
    }
    snprintf(out, size, "%.*s", (int)(b - a), l->text + a);
}

/* Checks every line of every page; returns the number of problems (printed). */
static size_t check_lines(const cf_display_list *list, const char *source, const char *id,
                          const char *const *must_have, size_t n_must)
{
    static line lines[400];
    size_t problems = 0;
    double right = list->width - 18 * 72.0 / 25.4;
    double left = 18 * 72.0 / 25.4;
    for (size_t p = 0; p < list->n_pages; p++) {
        size_t n = page_lines(list, p, lines, 400);
        char page_text[65536] = "";
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
            const line *l = &lines[i];
            if (used + l->len + 2 < sizeof page_text) {
                memcpy(page_text + used, l->text, l->len);
                used += l->len;
                page_text[used++] = '\n';
                page_text[used] = '\0';
            }
            if (l->x0 < left - 0.5 || l->x1 > right + 0.5) {
                print_error("%s page %zu: line outside the column (%.1f..%.1f): %s\n", id, p + 1,
                            l->x0, l->x1, l->text);
                problems++;
            }
            if (in_list(first_cp(l), no_start)) {
                print_error("%s page %zu: line starts with a prohibited character: %s\n", id, p + 1,
                            l->text);
                problems++;
            }
            if (in_list(last_cp(l), no_end)) {
                print_error("%s page %zu: line ends with a prohibited character: %s\n", id, p + 1,
                            l->text);
                problems++;
            }
            /* A Latin word or number at the end of a line followed by one at the start of the
             * next line of the same column must have been two words in the source. */
            if (i + 1 < n && is_latin(last_cp(l)) && is_latin(first_cp(&lines[i + 1])) &&
                lines[i + 1].x0 - l->x0 < 30 && l->x0 - lines[i + 1].x0 < 30 &&
                l->y - lines[i + 1].y < 30) {
                char a[256], b[256], joined[600];
                edge_word(l, true, a, sizeof a);
                edge_word(&lines[i + 1], false, b, sizeof b);
                snprintf(joined, sizeof joined, "%s%s", a, b);
                if (source != NULL && strstr(source, joined) != NULL) {
                    print_error("%s page %zu: word \"%s\" is split across lines\n", id, p + 1,
                                joined);
                    problems++;
                }
            }
        }
        for (size_t k = 0; k < n_must; k++)
            if (strstr(page_text, must_have[k]) == NULL) {
                print_error("%s page %zu: \"%s\" is missing from the page\n", id, p + 1,
                            must_have[k]);
                problems++;
            }
    }
    return problems;
}

static void check_form(const char *rel, const char *id, bool sets)
{
    char path[4096];
    size_t len = 0;
    char *source = read_all(test_source_path(path, sizeof path, rel), &len);
    if (source == NULL) {
        print_error("%s is missing\n", rel);
        fail();
    }
    cf_form *form = load(rel);
    cf_record *r = shipped_patient(sets);
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    assert_true(list->n_pages >= 1);
    /* Every page names the patient by the form's own label fields. */
    const char *must[] = {NAME, HN, sets ? "1950-03-02" : EP};
    assert_int_equal(check_lines(list, source, id, must, 3), 0);
    cf_display_list_free(list);
    cf_diag_free(diag);
    cf_record_free(r);
    cf_form_free(form);
    free(source);
}

static void test_shipped_nerve_root(void **state)
{
    (void)state;
    check_form("forms/nerve-root-injection.xml", "nerve-root-injection", false);
}

static void test_shipped_dpn(void **state)
{
    (void)state;
    check_form("forms/dpn-injection-consent.xml", "dpn-injection-consent", true);
}

static void test_sample_forms(void **state)
{
    (void)state;
    check_form("tests/data/form/sample-leaflet.xml", "sample-leaflet", false);
    char path[4096];
    size_t len = 0;
    char *source =
        read_all(test_source_path(path, sizeof path, "tests/data/form/sample-consent.xml"), &len);
    cf_form *form = load("tests/data/form/sample-consent.xml");
    cf_record *r = patient(NAME, HN, NULL);
    assert_int_equal(cf_record_set(r, "procedure_date", "2026-12-01"), CF_OK);
    assert_int_equal(cf_record_set(r, "side", "right"), CF_OK);
    assert_int_equal(cf_record_set(r, "procedures", "prp"), CF_OK);
    cf_display_list *list = NULL;
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    const char *must[] = {NAME, HN};
    assert_int_equal(check_lines(list, source, "sample-consent", must, 2), 0);
    /* The selected procedure's box is ticked, the others are not. */
    size_t ticked = 0, empty = 0;
    for (size_t p = 0; p < list->n_pages; p++)
        for (size_t i = 0; i < list->pages[p].n_items; i++) {
            const cf_item *it = &list->pages[p].items[i];
            if (it->kind != CF_ITEM_TEXT)
                continue;
            if (strcmp(it->u.text.utf8, "\xe2\x98\x91") == 0)
                ticked++;
            if (strcmp(it->u.text.utf8, "\xe2\x98\x90") == 0)
                empty++;
        }
    assert_int_equal(ticked, 2); /* prp, right */
    assert_int_equal(empty, 3);  /* dextrose, other, left */
    cf_display_list_free(list);
    cf_diag_free(diag);
    cf_record_free(r);
    cf_form_free(form);
    free(source);
}

/* ---- label box ---------------------------------------------------------------------------- */

static double label_value_size(const cf_display_list *list, const char *value)
{
    for (size_t i = 0; i < list->pages[0].n_items; i++) {
        const cf_item *it = &list->pages[0].items[i];
        if (it->kind == CF_ITEM_TEXT && it->u.text.style == CF_FONT_BOLD &&
            strstr(it->u.text.utf8, value) == it->u.text.utf8 && it->x > list->width / 2)
            return it->u.text.size;
    }
    return 0;
}

static void test_label_shrinks_wraps_then_fails(void **state)
{
    (void)state;
    cf_form *form = load("tests/data/form/sample-leaflet.xml");
    cf_diag *diag = cf_diag_new();
    cf_display_list *list = NULL;

    cf_record *r = patient(NAME, HN, EP);
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    assert_true(label_value_size(list, NAME) > 10.9);
    cf_display_list_free(list);
    cf_record_free(r);

    /* Longer than the value column at 11 pt: shrinks, still one line. */
    const char *longer = "CHAN Tai Man Peter Alexander Wong";
    r = patient(longer, HN, EP);
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    double size = label_value_size(list, longer);
    assert_true(size >= 8.0 && size < 11.0);
    cf_display_list_free(list);
    cf_record_free(r);

    /* Too long for one line at 8 pt: two lines, every word printed. */
    const char *two = "CHAN Tai Man Peter Alexander Wong Siu Ming Christopher Montgomery";
    r = patient(two, HN, EP);
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    size_t found = 0;
    for (size_t i = 0; i < list->pages[0].n_items; i++) {
        const cf_item *it = &list->pages[0].items[i];
        if (it->kind == CF_ITEM_TEXT && it->u.text.size < 8.01 &&
            it->u.text.style == CF_FONT_BOLD &&
            (strstr(it->u.text.utf8, "CHAN") != NULL ||
             strstr(it->u.text.utf8, "Montgomery") != NULL))
            found++;
    }
    assert_int_equal(found, 2);
    cf_display_list_free(list);
    cf_record_free(r);

    /* Three lines' worth: an error naming the field, no list. */
    char huge[600] = "";
    for (int i = 0; i < 12; i++)
        strcat(huge, "Alexandria ");
    strcat(huge, "Wong");
    r = patient(huge, HN, EP);
    list = NULL;
    assert_int_equal(lay(form, r, false, &list, diag), CF_ERR_DATA);
    assert_null(list);
    assert_true(cf_diag_contains(diag, "patient_name"));
    assert_true(cf_diag_contains(diag, "too long for the patient label box"));
    cf_record_free(r);
    cf_diag_free(diag);
    cf_form_free(form);
}

static void test_blank_form(void **state)
{
    (void)state;
    cf_form *form = load("tests/data/form/sample-consent.xml");
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, NULL, true, &list, diag), CF_OK);
    /* The label box is there (a stroked rectangle at the top right) with ruled lines. */
    bool box = false;
    size_t rules = 0;
    for (size_t i = 0; i < list->pages[0].n_items; i++) {
        const cf_item *it = &list->pages[0].items[i];
        if (it->kind == CF_ITEM_RECT && it->u.rect.stroke_width > 0 && it->x > list->width / 2 &&
            it->u.rect.h >= 35 * 72.0 / 25.4 - 0.1)
            box = true;
        if (it->kind == CF_ITEM_LINE && it->x > list->width / 2 && it->y > list->height - 200)
            rules++;
    }
    assert_true(box);
    assert_true(rules >= 3);
    /* No check box is ticked. */
    for (size_t p = 0; p < list->n_pages; p++)
        for (size_t i = 0; i < list->pages[p].n_items; i++) {
            const cf_item *it = &list->pages[p].items[i];
            if (it->kind == CF_ITEM_TEXT)
                assert_null(strstr(it->u.text.utf8, "\xe2\x98\x91"));
        }
    cf_display_list_free(list);
    cf_diag_free(diag);
    cf_form_free(form);
}

/* ---- what prints for whom -------------------------------------------------------------- */

/* True when some line of some page contains needle. */
static bool list_has_text(const cf_display_list *list, const char *needle)
{
    static line lines[512];
    for (size_t p = 0; p < list->n_pages; p++) {
        size_t n = page_lines(list, p, lines, 512);
        for (size_t i = 0; i < n; i++)
            if (strstr(lines[i].text, needle) != NULL)
                return true;
    }
    return false;
}

/* With procedures ticked, the risks, notes and instructions of the other procedures are left
 * out; a blank form prints them all, each marked （適用於：…）. */
static void test_applies_to_ticked_procedures(void **state)
{
    (void)state;
    cf_form *form = load("tests/data/form/sample-consent.xml");
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_record *r = patient(NAME, HN, NULL);
    assert_int_equal(cf_record_set(r, "procedure_date", "2026-12-01"), CF_OK);
    assert_int_equal(cf_record_set(r, "side", "right"), CF_OK);
    assert_int_equal(cf_record_set(r, "procedures", "prp"), CF_OK);
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    assert_true(list_has_text(list, "暫時性腫脹"));                   /* prp risk */
    assert_true(list_has_text(list, "抽血前一週避免服用消炎止痛藥")); /* prp instruction */
    assert_false(list_has_text(list, "頭暈"));                        /* dextrose risk */
    assert_false(list_has_text(list, "葡萄糖水注射後請測量血糖"));    /* dextrose note */
    assert_false(list_has_text(list, "不常見"));                      /* its band, now empty */
    assert_true(list_has_text(list, "注射部位疼痛"));                 /* applies to all */
    cf_display_list_free(list);
    cf_record_free(r);

    list = NULL;
    assert_int_equal(lay(form, NULL, true, &list, diag), CF_OK);
    assert_true(list_has_text(list, "頭暈（適用於：高濃度葡萄糖注射）"));
    assert_true(list_has_text(list, "葡萄糖水注射後請測量血糖"));
    assert_true(list_has_text(list, "（適用於：高濃度血小板血漿"));
    assert_true(list_has_text(list, "抽血前一週避免服用消炎止痛藥。（適用於："));
    cf_display_list_free(list);
    cf_diag_free(diag);
    cf_form_free(form);
}

/* Region wording: a Taiwan form approved says 已核准 (Hong Kong 已批核), dates in Chinese text
 * read 2024 年 3 月 1 日, and Chinese captions in the running header take a full-width colon. */
static void test_region_wording(void **state)
{
    (void)state;
    cf_form *form = load("tests/data/form/sample-consent.xml");
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_record *r = patient(NAME, HN, NULL);
    assert_int_equal(cf_record_set(r, "procedure_date", "2026-12-01"), CF_OK);
    assert_int_equal(cf_record_set(r, "side", "right"), CF_OK);
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    assert_true(list->n_pages >= 2);
    assert_true(list_has_text(list, "已核准 醫療品質委員會 2024 年 2 月 29 日"));
    assert_false(list_has_text(list, "已批核"));
    assert_true(list_has_text(list, "生效日期 2024 年 3 月 1 日"));
    assert_true(list_has_text(list, "2026 年 12 月 1 日"));
    assert_false(list_has_text(list, "2026-12-01"));
    assert_true(list_has_text(list, "病人姓名：" NAME));
    assert_false(list_has_text(list, "病人姓名: "));
    cf_display_list_free(list);
    cf_record_free(r);
    cf_form_free(form);

    /* The same form as a Hong Kong one says 已批核. */
    char path[4096];
    size_t len = 0;
    char *xml =
        read_all(test_source_path(path, sizeof path, "tests/data/form/sample-consent.xml"), &len);
    char *lang = strstr(xml, "zh-Hant-TW");
    assert_non_null(lang);
    memcpy(lang, "zh-Hant-HK", 10);
    form = load_memory(xml);
    list = NULL;
    assert_int_equal(lay(form, NULL, true, &list, diag), CF_OK);
    assert_true(list_has_text(list, "已批核 醫療品質委員會"));
    assert_false(list_has_text(list, "已核准"));
    cf_display_list_free(list);
    cf_form_free(form);
    cf_diag_free(diag);
    free(xml);
}

/* A band prints its numbers only when every risk in it cites a reference; a risk's own rate
 * only when it cites one. */
static void test_band_numbers_need_citations(void **state)
{
    (void)state;
    char path[4096];
    size_t len = 0;
    char *xml =
        read_all(test_source_path(path, sizeof path, "tests/data/form/sample-consent.xml"), &len);
    assert_non_null(xml);
    cf_form *form = load_memory(xml);
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, NULL, true, &list, diag), CF_OK);
    assert_true(list_has_text(list, "罕見（每 10,000 人有 1 至 10 人）"));
    assert_true(list_has_text(list, "感染（約 1/10,000）"));
    cf_display_list_free(list);
    cf_form_free(form);

    /* The rare risk loses its citation: neither its band's numbers nor its rate print. */
    char *cite = strstr(xml, " cites=\"twpmr2022\">感染");
    assert_non_null(cite);
    memset(cite, ' ', strlen(" cites=\"twpmr2022\""));
    form = load_memory(xml);
    list = NULL;
    assert_int_equal(lay(form, NULL, true, &list, diag), CF_OK);
    assert_false(list_has_text(list, "每 10,000 人有 1 至 10 人"));
    assert_false(list_has_text(list, "1/10,000"));
    assert_true(list_has_text(list, "罕見"));
    assert_true(list_has_text(list, "極罕見（每 10,000 人少於 1 人）"));
    cf_display_list_free(list);
    cf_form_free(form);
    cf_diag_free(diag);
    free(xml);
}

/* ---- hostile content ------------------------------------------------------------------- */

static char *form_with_body(const char *body)
{
    static const char head[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<form id=\"memory\" version=\"1\" kind=\"leaflet\" xml:lang=\"zh-Hant-HK\">\n"
        "<meta><status state=\"draft\"/><title>測試</title></meta>\n"
        "<label caption=\"Patient's Label\"><label-field key=\"patient_name\" caption=\"Patient "
        "Name\" required=\"true\"/>"
        "<label-field key=\"hospital_no\" caption=\"Hospital No\" required=\"true\"/>"
        "<label-field key=\"episode_no\" caption=\"Episode No\"/></label>\n"
        "<body><section id=\"a\" title=\"說明\">";
    static const char tail[] = "</section></body></form>\n";
    size_t n = strlen(head) + strlen(body) + strlen(tail) + 1;
    char *xml = malloc(n);
    snprintf(xml, n, "%s%s%s", head, body, tail);
    return xml;
}

/* A form of n paragraphs of 120 characters with <layout max-pages="max_pages"/>. */
static char *paged_form(size_t n, unsigned max_pages)
{
    size_t cap = n * 400 + 64;
    char *body = malloc(cap), *p = body;
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "<p>");
        for (size_t k = 0; k < 40; k++)
            p += sprintf(p, "說明文");
        p += sprintf(p, "</p>");
    }
    char *xml = form_with_body(body);
    free(body);
    char layout[64];
    snprintf(layout, sizeof layout, "<layout max-pages=\"%u\"/><body>", max_pages);
    char *at = strstr(xml, "<body>");
    size_t head = (size_t)(at - xml), len = strlen(xml);
    char *out = malloc(len + strlen(layout) + 1);
    memcpy(out, xml, head);
    strcpy(out + head, layout);
    strcat(out, at + strlen("<body>"));
    free(xml);
    return out;
}

/* Size of the first body text item under the first section heading (the body size used). */
static double body_text_size(const cf_display_list *list)
{
    for (size_t i = 0; i < list->pages[0].n_items; i++) {
        const cf_item *it = &list->pages[0].items[i];
        if (it->kind == CF_ITEM_TEXT && strncmp(it->u.text.utf8, "說明文", 9) == 0)
            return it->u.text.size;
    }
    return 0;
}

/* <layout max-pages>: the largest body size from 12 pt down to 10.5 pt in 0.5 pt steps that
 * fits; else 10.5 pt and a warning. The nerve-root leaflet fits one duplex sheet. */
static void test_max_pages(void **state)
{
    (void)state;
    cf_form *form = load("forms/nerve-root-injection.xml");
    assert_int_equal(form->max_pages, 2);
    cf_record *r = shipped_patient(false);
    cf_diag *diag = cf_diag_new();
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    assert_int_equal(list->n_pages, 2);
    assert_int_equal(cf_diag_size(diag), 0);
    cf_display_list_free(list);
    cf_record_free(r);
    cf_form_free(form);

    /* Paragraph by paragraph, the form stays at 12 pt while it fits one page, then steps
     * down 0.5 pt at a time, and after 10.5 pt spills over with a warning. */
    double last_size = 12.0;
    bool stepped = false, spilled = false;
    for (size_t n = 5; n < 40 && !spilled; n++) {
        char *xml = paged_form(n, 1);
        form = load_memory(xml);
        list = NULL;
        cf_diag_clear(diag);
        assert_int_equal(lay(form, NULL, true, &list, diag), CF_OK);
        double size = body_text_size(list);
        print_message("%zu paragraphs: %zu page(s) at %.1f pt\n", n, list->n_pages, size);
        if (list->n_pages == 1) {
            assert_int_equal(cf_diag_size(diag), 0);
            assert_true(size <= last_size);
            assert_true(size >= 10.5 && size * 2.0 == (double)(long)(size * 2.0)); /* 0.5 steps */
            stepped = stepped || size < 12.0;
        } else {
            assert_true(size == 10.5);
            assert_int_equal(cf_diag_size(diag), 1);
            assert_non_null(strstr(cf_diag_get(diag, 0)->message, "max-pages=\"1\""));
            spilled = true;
        }
        last_size = size;
        cf_display_list_free(list);
        cf_form_free(form);
        free(xml);
    }
    assert_true(stepped);
    assert_true(spilled);
    cf_diag_free(diag);
}

/* An apostrophe (’) between Latin letters is set with the ASCII apostrophe's width, not the
 * full width the Chinese fonts give it: a paragraph of "Patient’s" breaks and places its runs
 * exactly as the same paragraph with "Patient's". */
static void test_apostrophe_width(void **state)
{
    (void)state;
    cf_display_list *lists[2] = {NULL, NULL};
    cf_diag *diag = cf_diag_new();
    for (int v = 0; v < 2; v++) {
        char body[8192] = "<p xml:lang=\"en\">";
        for (int i = 0; i < 60; i++)
            strcat(body, v == 0 ? "Patient's file " : "Patient\u2019s file ");
        strcat(body, "</p>");
        char *xml = form_with_body(body);
        cf_form *form = load_memory(xml);
        assert_int_equal(lay(form, NULL, true, &lists[v], diag), CF_OK);
        cf_form_free(form);
        free(xml);
    }
    const cf_page *a = &lists[0]->pages[0], *b = &lists[1]->pages[0];
    assert_int_equal(a->n_items, b->n_items);
    size_t runs = 0;
    for (size_t i = 0; i < a->n_items; i++) {
        if (a->items[i].kind != CF_ITEM_TEXT || strstr(a->items[i].u.text.utf8, "Patient") == NULL)
            continue;
        runs++;
        assert_true(fabs(a->items[i].x - b->items[i].x) < 0.001);
        assert_true(fabs(a->items[i].y - b->items[i].y) < 0.001);
        assert_true(fabs(a->items[i].u.text.char_spacing - b->items[i].u.text.char_spacing) < 1e-6);
    }
    assert_true(runs >= 3); /* several lines */
    cf_display_list_free(lists[0]);
    cf_display_list_free(lists[1]);
    cf_diag_free(diag);
}

static void test_unbreakable_word_wraps_by_force(void **state)
{
    (void)state;
    size_t n = 50000;
    char *body = malloc(n + 16);
    memcpy(body, "<p>", 3);
    memset(body + 3, 'W', n);
    strcpy(body + 3 + n, "</p>");
    char *xml = form_with_body(body);
    cf_form *form = load_memory(xml);
    cf_record *r = patient(NAME, HN, EP);
    cf_diag *diag = cf_diag_new();
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    /* Every W is printed, in lines inside the column, over many pages. */
    size_t ws = 0;
    double right = list->width - 18 * 72.0 / 25.4 + 0.5;
    for (size_t p = 0; p < list->n_pages; p++)
        for (size_t i = 0; i < list->pages[p].n_items; i++) {
            const cf_item *it = &list->pages[p].items[i];
            if (it->kind != CF_ITEM_TEXT || it->u.text.utf8[0] != 'W')
                continue;
            ws += it->u.text.len;
            assert_true(it->x + item_width(list, it) <= right);
        }
    assert_int_equal(ws, n);
    assert_true(list->n_pages > 10);
    cf_display_list_free(list);
    cf_diag_free(diag);
    cf_record_free(r);
    cf_form_free(form);
    free(xml);
    free(body);
}

static void test_table_row_taller_than_a_page(void **state)
{
    (void)state;
    size_t reps = 1200;
    char *cell = malloc(reps * 15 + 1);
    cell[0] = '\0';
    for (size_t i = 0; i < reps; i++)
        strcat(cell, "說明文字。");
    size_t n = strlen(cell) * 2 + 400;
    char *body = malloc(n);
    snprintf(body, n,
             "<table><col width=\"1\"/><col width=\"3\"/><thead><row><cell>項目</cell>"
             "<cell>說明</cell></row></thead><row><cell>甲</cell><cell>%s</cell></row>"
             "<row><cell>乙</cell><cell>短</cell></row></table>",
             cell);
    char *xml = form_with_body(body);
    cf_form *form = load_memory(xml);
    cf_record *r = patient(NAME, HN, EP);
    cf_diag *diag = cf_diag_new();
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    assert_true(list->n_pages >= 3);
    /* The header row is repeated on every page the table continues on. */
    for (size_t p = 0; p < list->n_pages; p++) {
        bool header = false;
        for (size_t i = 0; i < list->pages[p].n_items; i++) {
            const cf_item *it = &list->pages[p].items[i];
            if (it->kind == CF_ITEM_TEXT && strcmp(it->u.text.utf8, "項目") == 0)
                header = true;
        }
        assert_true(header);
    }
    cf_display_list_free(list);
    cf_diag_free(diag);
    cf_record_free(r);
    cf_form_free(form);
    free(xml);
    free(body);
    free(cell);
}

/* ---- dump goldens ---------------------------------------------------------------------- */

static void check_golden(const char *rel_form, const char *golden_rel, bool sets)
{
    char path[4096], golden[4096];
    size_t len = 0;
    char *probe = read_all(test_source_path(path, sizeof path, rel_form), &len);
    if (probe == NULL) {
        print_error("%s is missing\n", rel_form);
        fail();
    }
    free(probe);
    cf_form *form = load(rel_form);
    cf_record *r = shipped_patient(sets);
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_display_list *list = NULL;
    assert_int_equal(lay(form, r, false, &list, diag), CF_OK);
    char *dump = NULL;
    size_t dump_len = 0;
    assert_int_equal(cf_display_list_dump(list, &dump, &dump_len), CF_OK);
    test_source_path(golden, sizeof golden, golden_rel);
    const char *regen = getenv("CF_REGENERATE");
    if (regen != NULL && strcmp(regen, "1") == 0) {
        FILE *f = fopen(golden, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(dump, 1, dump_len, f), dump_len);
        assert_int_equal(fclose(f), 0);
        print_message("rewrote %s\n", golden);
    } else {
        size_t want_len = 0;
        char *want = read_all(golden, &want_len);
        if (want == NULL) {
            print_error("%s is missing; run with CF_REGENERATE=1 to write it\n", golden);
            fail();
        }
        size_t i = 0, line_no = 1;
        while (i < want_len && i < dump_len && want[i] == dump[i]) {
            if (dump[i] == '\n')
                line_no++;
            i++;
        }
        if (want_len != dump_len || i < dump_len) {
            print_error("%s differs from the layout at line %zu (CF_REGENERATE=1 rewrites it "
                        "after review)\n",
                        golden, line_no);
            free(want);
            fail();
        }
        free(want);
    }
    cf_free(dump);
    cf_display_list_free(list);
    cf_diag_free(diag);
    cf_record_free(r);
    cf_form_free(form);
}

static void test_golden_nerve_root(void **state)
{
    (void)state;
    check_golden("forms/nerve-root-injection.xml", "tests/golden/layout/nerve-root-injection.dump",
                 false);
}

static void test_golden_dpn(void **state)
{
    (void)state;
    check_golden("forms/dpn-injection-consent.xml",
                 "tests/golden/layout/dpn-injection-consent.dump", true);
}

static int teardown_fonts(void **state)
{
    (void)state;
    cf_fontset_release_all();
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_shipped_nerve_root),
        cmocka_unit_test(test_shipped_dpn),
        cmocka_unit_test(test_applies_to_ticked_procedures),
        cmocka_unit_test(test_band_numbers_need_citations),
        cmocka_unit_test(test_region_wording),
        cmocka_unit_test(test_max_pages),
        cmocka_unit_test(test_apostrophe_width),
        cmocka_unit_test(test_sample_forms),
        cmocka_unit_test(test_label_shrinks_wraps_then_fails),
        cmocka_unit_test(test_blank_form),
        cmocka_unit_test(test_unbreakable_word_wraps_by_force),
        cmocka_unit_test(test_table_row_taller_than_a_page),
    };
    const struct CMUnitTest golden[] = {
        cmocka_unit_test(test_golden_nerve_root),
        cmocka_unit_test(test_golden_dpn),
    };
    if (argc > 1 && strcmp(argv[1], "golden") == 0)
        return cmocka_run_group_tests_name("layout golden", golden, NULL, teardown_fonts);
    return cmocka_run_group_tests_name("layout", all, NULL, teardown_fonts);
}
