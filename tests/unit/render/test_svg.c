/* Unit tests of the SVG backend (src/render/render_svg.c) on a hand-built display list: each
 * page is well-formed XML (parsed with libxml2), every glyph drawn is one <use> of an outline
 * defined once in that page's <defs>, positions are flipped to SVG's top-left origin with '.'
 * decimals under a decimal-comma locale, and page files are named and written all or nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/diag.h"
#include "layout/display_list.h"
#include "render/render_svg.h"
#include "text/font.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const cf_fontset *fonts_hk(void)
{
    const cf_fontset *fonts = NULL;
    assert_int_equal(cf_fontset_get("HK", &fonts, NULL), CF_OK);
    return fonts;
}

static void add_text(cf_display_list *list, size_t page, const char *s, double x, double y,
                     cf_font_style style, double gray)
{
    cf_item text = {.kind = CF_ITEM_TEXT, .x = x, .y = y};
    text.u.text.utf8 = cf_display_list_strdup(list, s, strlen(s));
    text.u.text.len = strlen(s);
    text.u.text.style = style;
    text.u.text.size = 12;
    text.u.text.gray = gray;
    assert_int_equal(cf_display_list_add_item(list, page, &text), CF_OK);
}

/* Page 1: "同意同意 AB" regular, "同" bold and gray, a dashed rule, a box, a QR code;
 * page 2: "同" regular. */
static cf_display_list *sample_list(void)
{
    cf_display_list *list = cf_display_list_new(595.28, 841.89, fonts_hk());
    assert_non_null(list);
    static const unsigned char qr[4] = {1, 0, 1, 1};
    assert_int_equal(cf_display_list_add_page(list), 0);
    add_text(list, 0, "同意同意 AB", 51, 780, CF_FONT_REGULAR, 0);
    add_text(list, 0, "同", 51, 760, CF_FONT_BOLD, 0.3);
    cf_item line = {.kind = CF_ITEM_LINE, .x = 51, .y = 750};
    line.u.line.x2 = 540;
    line.u.line.y2 = 750;
    line.u.line.width = 0.6;
    line.u.line.dashed = true;
    assert_int_equal(cf_display_list_add_item(list, 0, &line), CF_OK);
    cf_item rect = {.kind = CF_ITEM_RECT, .x = 300, .y = 600};
    rect.u.rect.w = 200;
    rect.u.rect.h = 80.5;
    rect.u.rect.stroke_width = 1;
    rect.u.rect.fill_gray = -1;
    assert_int_equal(cf_display_list_add_item(list, 0, &rect), CF_OK);
    cf_item modules = {.kind = CF_ITEM_MODULES, .x = 500, .y = 40};
    modules.u.modules.count = 2;
    modules.u.modules.module = 2.5;
    modules.u.modules.dark = qr;
    assert_int_equal(cf_display_list_add_item(list, 0, &modules), CF_OK);
    assert_int_equal(cf_display_list_add_page(list), 1);
    add_text(list, 1, "同", 51, 780, CF_FONT_REGULAR, 0);
    return list;
}

static int count_nodes(xmlXPathContextPtr ctx, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    assert_non_null(o);
    int n = o->nodesetval != NULL ? o->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(o);
    return n;
}

/* Parses page as XML (failing the test when it is not well-formed) and checks its glyphs:
 * `uses` <use> elements, `defs` outlines, every id defined once, every <use> naming one. */
static void check_page(const char *svg, size_t len, int uses, int defs)
{
    xmlDocPtr doc = xmlReadMemory(svg, (int)len, "page.svg", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, (const xmlChar *)"s", (const xmlChar *)"http://www.w3.org/2000/svg");
    xmlXPathRegisterNs(ctx, (const xmlChar *)"x", (const xmlChar *)"http://www.w3.org/1999/xlink");
    assert_int_equal(count_nodes(ctx, "/s:svg"), 1);
    /* Outlines: absolute moves, relative segments, whole numbers (cf_font_glyph_outline). */
    assert_int_equal(count_nodes(ctx,
                                 "//s:defs/s:path[translate(@d, 'MlqcZ0123456789 -', '') != '' or "
                                 "not(starts-with(@d, 'M'))]"),
                     0);
    assert_int_equal(count_nodes(ctx, "//s:use"), uses);
    assert_int_equal(count_nodes(ctx, "/s:svg/s:defs/s:path[@id]"), defs);
    assert_int_equal(count_nodes(ctx, "//*[@id]"), defs);
    /* Each outline is defined once and used at least once; each <use> names a definition. */
    assert_int_equal(count_nodes(ctx, "//s:defs/s:path[@id = preceding-sibling::s:path/@id]"), 0);
    assert_int_equal(count_nodes(ctx, "//s:use[not(substring(@x:href, 2) = //s:defs/s:path/@id)]"),
                     0);
    assert_int_equal(count_nodes(ctx, "//s:defs/s:path[not(concat('#', @id) = //s:use/@x:href)]"),
                     0);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
}

static void test_svg_structure(void **state)
{
    (void)state;
    /* Numbers must not follow a decimal-comma locale (skipped silently when not installed). */
    setlocale(LC_NUMERIC, "de_DE.UTF-8");
    cf_display_list *list = sample_list();
    cf_svg_pages pages;
    assert_int_equal(cf_render_svg(list, &pages, NULL), CF_OK);
    assert_int_equal(pages.n, 2);
    /* 同意同意 AB: six glyphs drawn (the space draws nothing) from four outlines, plus the
     * bold 同, an outline of its own. */
    check_page(pages.svg[0], pages.len[0], 7, 5);
    check_page(pages.svg[1], pages.len[1], 1, 1);
    const char *p0 = pages.svg[0];
    /* The first glyph: 12 pt at x 51 on the baseline 841.89 - 780 from the top. */
    assert_non_null(strstr(p0, "transform=\"matrix(12 0 0 12 51 61.89)\""));
    assert_non_null(strstr(p0, "fill=\"#4d4d4d\"")); /* gray 0.3 */
    assert_non_null(strstr(p0, "<rect x=\"300\" y=\"161.39\" width=\"200\" height=\"80.5\" "
                               "fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"/>"));
    assert_non_null(strstr(p0, "<line x1=\"51\" y1=\"91.89\" x2=\"540\" y2=\"91.89\" "
                               "stroke=\"#000000\" stroke-width=\"0.6\" "
                               "stroke-dasharray=\"3 2\"/>"));
    /* The QR code's dark modules: top row one module, bottom row two. */
    assert_non_null(strstr(p0, "d=\"M500 796.89h2.5v2.5h-2.5ZM500 799.39h5v2.5h-5Z\""));
    assert_null(strstr(p0, ","));
    assert_non_null(strstr(p0, "<title>(page 1 of 2)</title>"));
    /* The same outline text on both pages: read once, defined in each page. */
    const char *def = strstr(pages.svg[1], "<path id=\"r");
    assert_non_null(def);
    const char *end = strchr(def, '>');
    assert_non_null(end);
    char one[4096];
    size_t n = (size_t)(end - def) + 1;
    assert_true(n < sizeof one);
    memcpy(one, def, n);
    one[n] = '\0';
    assert_non_null(strstr(p0, one));
    cf_svg_pages_cleanup(&pages);
    cf_svg_pages_cleanup(&pages); /* twice is harmless */
    cf_display_list_free(list);
    setlocale(LC_NUMERIC, "C");
}

/* A character the font lacks never becomes a blank: it is an internal error. */
static void test_svg_refuses_missing_glyph(void **state)
{
    (void)state;
    cf_display_list *list = cf_display_list_new(595.28, 841.89, fonts_hk());
    assert_int_equal(cf_display_list_add_page(list), 0);
    add_text(list, 0, "同\xF0\x9F\x98\x80", 51, 780, CF_FONT_REGULAR, 0); /* U+1F600 */
    cf_diag *diag = cf_diag_new();
    cf_svg_pages pages;
    assert_int_equal(cf_render_svg(list, &pages, diag), CF_ERR_INTERNAL);
    assert_int_equal(pages.n, 0);
    cf_svg_pages_cleanup(&pages);
    cf_diag_free(diag);
    cf_display_list_free(list);
}

static void assert_path(const char *target, size_t page, const char *want)
{
    char *got = cf_svg_page_path(target, page);
    assert_non_null(got);
    assert_string_equal(got, want);
    cf_free(got);
}

static void test_svg_page_paths(void **state)
{
    (void)state;
    char dir[] = "/tmp/cf-svg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char want[64];
    assert_path("out/", 0, "out/page-1.svg");
    assert_path("out/", 11, "out/page-12.svg");
    assert_path("leaflet", 1, "leaflet-2.svg");
    assert_path("x/leaflet.svg", 0, "x/leaflet-1.svg");
    snprintf(want, sizeof want, "%s/page-3.svg", dir);
    assert_path(dir, 2, want); /* an existing folder without the '/' */
    rmdir(dir);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* All pages or none: an existing page file stops the write before the first page. */
static void test_svg_write_all_or_nothing(void **state)
{
    (void)state;
    char dir[] = "/tmp/cf-svg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char prefix[64], p1[80], p2[80], sub[80], s1[96];
    snprintf(prefix, sizeof prefix, "%s/leaflet", dir);
    snprintf(p1, sizeof p1, "%s/leaflet-1.svg", dir);
    snprintf(p2, sizeof p2, "%s/leaflet-2.svg", dir);
    snprintf(sub, sizeof sub, "%s/preview/", dir);
    snprintf(s1, sizeof s1, "%s/preview/page-1.svg", dir);
    cf_display_list *list = sample_list();
    cf_svg_pages pages;
    assert_int_equal(cf_render_svg(list, &pages, NULL), CF_OK);
    cf_diag *diag = cf_diag_new();

    FILE *f = fopen(p2, "w");
    assert_non_null(f);
    fputs("older", f);
    fclose(f);
    assert_int_equal(cf_svg_pages_write(&pages, prefix, false, diag), CF_ERR_EXISTS);
    assert_false(exists(p1));
    assert_int_equal(cf_svg_pages_write(&pages, prefix, true, diag), CF_OK);
    assert_true(exists(p1));
    struct stat st;
    assert_int_equal(stat(p2, &st), 0);
    assert_int_equal((size_t)st.st_size, pages.len[1]);

    assert_int_equal(cf_svg_pages_write(&pages, sub, false, diag), CF_OK);
    assert_true(exists(s1));
    char rm[128];
    snprintf(rm, sizeof rm, "rm -r '%s'", dir);
    assert_int_equal(system(rm), 0);
    cf_diag_free(diag);
    cf_svg_pages_cleanup(&pages);
    cf_display_list_free(list);
}

static int teardown_fonts(void **state)
{
    (void)state;
    cf_fontset_release_all();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_structure),
        cmocka_unit_test(test_svg_refuses_missing_glyph),
        cmocka_unit_test(test_svg_page_paths),
        cmocka_unit_test(test_svg_write_all_or_nothing),
    };
    return cmocka_run_group_tests_name("render_svg", tests, NULL, teardown_fonts);
}
