/* Unit tests of src/layout/display_list.c: pages and items are copied in, strings live in the
 * list's arena, arrays grow, the dump is a stable golden string (two decimals, no locale), and
 * every allocation can fail cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "layout/display_list.h"
#include "test_util.h"

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cf_item text_item(double x, double y, const char *utf8, cf_font_style style, double size)
{
    cf_item it = {.kind = CF_ITEM_TEXT, .x = x, .y = y};
    it.u.text.utf8 = utf8;
    it.u.text.len = strlen(utf8);
    it.u.text.style = style;
    it.u.text.size = size;
    return it;
}

static const char *dup(cf_display_list *list, const char *s)
{
    const char *copy = cf_display_list_strdup(list, s, strlen(s));
    assert_non_null(copy);
    return copy;
}

static void test_new_add_and_strdup(void **state)
{
    (void)state;
    cf_display_list *list = cf_display_list_new(595.28, 841.89, NULL);
    assert_non_null(list);
    assert_true(list->width == 595.28 && list->height == 841.89);
    assert_int_equal(list->n_pages, 0);
    assert_true(list->info.created < 0); /* no date unless layout sets one */
    cf_item probe = text_item(0, 0, "", CF_FONT_REGULAR, 10);
    assert_int_equal(cf_display_list_add_item(list, 0, &probe), CF_ERR_INTERNAL); /* no page */

    assert_int_equal(cf_display_list_add_page(list), 0);
    assert_int_equal(cf_display_list_add_page(list), 1);
    assert_int_equal(list->n_pages, 2);

    /* strdup copies exactly len bytes (the source need not end there) and terminates. */
    char source[] = "陳大文 HN12345678(9) tail";
    const char *copy = cf_display_list_strdup(list, source, strlen("陳大文 HN12345678(9)"));
    assert_non_null(copy);
    memset(source, 'x', sizeof source - 1);
    assert_string_equal(copy, "陳大文 HN12345678(9)");
    const char *empty = cf_display_list_strdup(list, NULL, 0);
    assert_non_null(empty);
    assert_string_equal(empty, "");

    /* add_item copies the item: changing the caller's struct afterwards changes nothing. */
    cf_item it = text_item(51, 780, copy, CF_FONT_BOLD, 12);
    assert_int_equal(cf_display_list_add_item(list, 1, &it), CF_OK);
    it.x = 0;
    it.u.text.size = 99;
    assert_int_equal(list->pages[0].n_items, 0);
    assert_int_equal(list->pages[1].n_items, 1);
    const cf_item *got = &list->pages[1].items[0];
    assert_int_equal(got->kind, CF_ITEM_TEXT);
    assert_true(got->x == 51 && got->y == 780 && got->u.text.size == 12);
    assert_int_equal(got->u.text.style, CF_FONT_BOLD);
    assert_ptr_equal(got->u.text.utf8, copy);
    assert_int_equal(cf_display_list_add_item(list, 2, &it), CF_ERR_INTERNAL);
    cf_display_list_free(list);
    cf_display_list_free(NULL); /* accepted */
}

/* A list with every kind of item and the awkward numbers: rounding, negatives, -0.004, control
 * characters and quotes in text, an empty last page. */
static cf_display_list *golden_list(void)
{
    static const unsigned char dark[3 * 3] = {1, 1, 1, 0, 1, 0, 1, 0, 1};
    cf_display_list *list = cf_display_list_new(595.275591, 841.889764, NULL);
    assert_non_null(list);
    assert_int_equal(cf_display_list_add_page(list), 0);
    cf_item t = text_item(51.024, 790, dup(list, "病人須知 A\"b\\c"), CF_FONT_REGULAR, 12);
    t.u.text.char_spacing = 0.456;
    assert_int_equal(cf_display_list_add_item(list, 0, &t), CF_OK);
    t = text_item(-3.5, -0.004, dup(list, "第 1 頁\t\x7f"), CF_FONT_BOLD, 8.5);
    t.u.text.gray = 0.3;
    assert_int_equal(cf_display_list_add_item(list, 0, &t), CF_OK);
    cf_item l = {.kind = CF_ITEM_LINE, .x = 51.02, .y = 750};
    l.u.line.x2 = 544.25;
    l.u.line.y2 = 750;
    l.u.line.width = 0.6;
    assert_int_equal(cf_display_list_add_item(list, 0, &l), CF_OK);
    l.u.line.dashed = true;
    l.u.line.gray = 0.5;
    assert_int_equal(cf_display_list_add_item(list, 0, &l), CF_OK);
    assert_int_equal(cf_display_list_add_page(list), 1);
    cf_item r = {.kind = CF_ITEM_RECT, .x = 300, .y = 600};
    r.u.rect.w = 200.125;
    r.u.rect.h = 100;
    r.u.rect.stroke_width = 1;
    r.u.rect.fill_gray = -1;
    assert_int_equal(cf_display_list_add_item(list, 1, &r), CF_OK);
    r.u.rect.stroke_width = 0;
    r.u.rect.fill_gray = 0.9;
    assert_int_equal(cf_display_list_add_item(list, 1, &r), CF_OK);
    cf_item m = {.kind = CF_ITEM_MODULES, .x = 480, .y = 30};
    m.u.modules.count = 3;
    m.u.modules.module = 1.5;
    m.u.modules.dark = dark;
    assert_int_equal(cf_display_list_add_item(list, 1, &m), CF_OK);
    assert_int_equal(cf_display_list_add_page(list), 2); /* an empty page */
    return list;
}

static const char golden_dump[] =
    "size 595.28 841.89 pages 3\n"
    "page 1\n"
    "text R 51.02 790.00 size=12.00 tc=0.46 \"病人須知 A\\\"b\\\\c\"\n"
    "text B -3.50 0.00 size=8.50 gray=0.30 \"第 1 頁\\x09\\x7F\"\n"
    "line 51.02 750.00 544.25 750.00 w=0.60\n"
    "line dashed 51.02 750.00 544.25 750.00 w=0.60 gray=0.50\n"
    "page 2\n"
    "rect 300.00 600.00 200.13 100.00 stroke=1.00\n"
    "rect 300.00 600.00 200.13 100.00 fill=0.90\n"
    "modules 480.00 30.00 count=3 module=1.50 dark=6 hash=%08x\n"
    "page 3\n";

/* The dump of golden_list, with the modules hash computed here (FNV-1a over the bytes). */
static void expected_dump(char *out, size_t size)
{
    static const unsigned char dark[9] = {1, 1, 1, 0, 1, 0, 1, 0, 1};
    uint32_t h = 2166136261u;
    for (size_t k = 0; k < sizeof dark; k++)
        h = (h ^ dark[k]) * 16777619u;
    snprintf(out, size, golden_dump, (unsigned)h);
}

static void check_dump(const cf_display_list *list)
{
    char want[2048];
    expected_dump(want, sizeof want);
    char *got = NULL;
    size_t len = 0;
    assert_int_equal(cf_display_list_dump(list, &got, &len), CF_OK);
    assert_int_equal(len, strlen(got));
    assert_string_equal(got, want);
    cf_free(got);
}

static void test_dump_golden(void **state)
{
    (void)state;
    cf_display_list *list = golden_list();
    check_dump(list);
    cf_display_list_free(list);

    cf_display_list *none = cf_display_list_new(612, 792, NULL);
    char *got = NULL;
    size_t len = 1;
    assert_int_equal(cf_display_list_dump(none, &got, &len), CF_OK);
    assert_string_equal(got, "size 612.00 792.00 pages 0\n");
    cf_free(got);
    cf_display_list_free(none);
}

/* A decimal-comma locale changes nothing in the dump. */
static void test_dump_locale_independent(void **state)
{
    (void)state;
    if (setlocale(LC_ALL, "de_DE.UTF-8") == NULL) {
        print_message("de_DE.UTF-8 is not installed: locale check skipped\n");
        skip();
    }
    cf_display_list *list = golden_list();
    check_dump(list);
    setlocale(LC_ALL, "C");
    cf_display_list_free(list);
}

/* Thousands of pages and items: the arrays grow and keep what they held. */
static void test_growth(void **state)
{
    (void)state;
    cf_display_list *list = cf_display_list_new(595.28, 841.89, NULL);
    enum { PAGES = 1000, ITEMS = 20000 };
    for (size_t p = 0; p < PAGES; p++) {
        assert_int_equal(cf_display_list_add_page(list), p);
        cf_item l = {.kind = CF_ITEM_LINE, .x = (double)p};
        assert_int_equal(cf_display_list_add_item(list, p, &l), CF_OK);
    }
    char label[32];
    for (size_t i = 0; i < ITEMS; i++) {
        snprintf(label, sizeof label, "%zu", i);
        cf_item t = text_item((double)i, 0, dup(list, label), CF_FONT_REGULAR, 10);
        assert_int_equal(cf_display_list_add_item(list, 500, &t), CF_OK);
    }
    assert_int_equal(list->n_pages, PAGES);
    for (size_t p = 0; p < PAGES; p++) {
        assert_true(list->pages[p].items[0].x == (double)p);
        assert_int_equal(list->pages[p].n_items, p == 500 ? ITEMS + 1 : 1);
    }
    for (size_t i = 0; i < ITEMS; i++) {
        snprintf(label, sizeof label, "%zu", i);
        assert_string_equal(list->pages[500].items[i + 1].u.text.utf8, label);
    }
    char *dump = NULL;
    size_t len = 0;
    assert_int_equal(cf_display_list_dump(list, &dump, &len), CF_OK);
    assert_non_null(strstr(dump, "page 1000\nline 999.00 0.00 0.00 0.00 w=0.00\n"));
    cf_free(dump);
    cf_display_list_free(list);
}

/* Builds a three-page list and dumps it, stopping at the first failure; returns that status. */
static cf_status build_and_dump(void)
{
    cf_status st = CF_OK;
    cf_display_list *list = cf_display_list_new(595.28, 841.89, NULL);
    if (list == NULL)
        return CF_ERR_NOMEM;
    for (size_t p = 0; p < 3 && st == CF_OK; p++) {
        if (cf_display_list_add_page(list) != p) {
            st = CF_ERR_NOMEM;
            break;
        }
        /* Enough items to make every page's array grow twice. */
        for (size_t i = 0; i < 200 && st == CF_OK; i++) {
            const char *s = cf_display_list_strdup(list, "病人須知", 12);
            if (s == NULL) {
                st = CF_ERR_NOMEM;
                break;
            }
            cf_item t = text_item((double)i, (double)p, s, CF_FONT_REGULAR, 10);
            st = cf_display_list_add_item(list, p, &t);
        }
    }
    char *dump = NULL;
    size_t len = 0;
    if (st == CF_OK)
        st = cf_display_list_dump(list, &dump, &len);
    if (st == CF_OK)
        assert_non_null(strstr(dump, "page 3\n"));
    cf_free(dump);
    cf_display_list_free(list);
    return st;
}

/* Every allocation fails in turn: each time a clean CF_ERR_NOMEM, nothing leaks (valgrind and
 * the sanitizer build check that). */
static void test_allocation_failure_sweep(void **state)
{
    (void)state;
    unsigned long n = 1;
    for (;; n++) {
        cf_alloc_fail_after(n);
        cf_status st = build_and_dump();
        cf_alloc_fail_after(0);
        if (st == CF_OK)
            break;
        assert_int_equal(st, CF_ERR_NOMEM);
        assert_true(n < 10000);
    }
    assert_true(n > 5); /* the sweep did reach the growth paths */
    print_message("every one of %lu allocations failed in turn: clean errors\n", n - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_add_and_strdup),       cmocka_unit_test(test_dump_golden),
        cmocka_unit_test(test_dump_locale_independent),  cmocka_unit_test(test_growth),
        cmocka_unit_test(test_allocation_failure_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
