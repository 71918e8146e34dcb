/* Unit tests of the shared bodies' content streams (cf_body_streams, render_pdf.c): hand-built
 * display lists whose pages have a body (items [0, n_shared) with a shared_id), rendered with
 * the run's fonts and a body cache, against the same lists painted whole. The body's stream is
 * the same bytes in two patients' PDFs and one object in a combined PDF (also when joined from
 * parts made by several writers, cf_pdf_join); a body with a
 * character of the patient's own font is painted whole; qpdf finds no fault, and pdftotext and
 * pdftoppm (100 dpi) give the same text and pixels for both paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "layout/display_list.h"
#include "render/pdf_join.h"
#include "render/render_pdf.h"
#include "text/font.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cf_fontset *fonts_hk(void)
{
    const cf_fontset *fonts = NULL;
    assert_int_equal(cf_fontset_get("HK", &fonts, NULL), CF_OK);
    return fonts;
}

/* The form's own text: what the run's fonts are made of. */
static const char BODY_REGULAR[] = "神經根管注射同意書：本人明白手術風險。";
static const char BODY_BOLD[] = "病人須知";

static void add_text(cf_display_list *list, size_t page, const char *s, cf_font_style style,
                     double x, double y, double tc, double gray)
{
    cf_item it = {.kind = CF_ITEM_TEXT, .x = x, .y = y};
    it.u.text.utf8 = cf_display_list_strdup(list, s, strlen(s));
    assert_non_null(it.u.text.utf8);
    it.u.text.len = strlen(s);
    it.u.text.style = style;
    it.u.text.size = 12;
    it.u.text.char_spacing = tc;
    it.u.text.gray = gray;
    assert_int_equal(cf_display_list_add_item(list, page, &it), CF_OK);
}

static void add_line(cf_display_list *list, size_t page, double y, bool dashed)
{
    cf_item it = {.kind = CF_ITEM_LINE, .x = 51, .y = y};
    it.u.line.x2 = 540;
    it.u.line.y2 = y;
    it.u.line.width = 0.6;
    it.u.line.dashed = dashed;
    assert_int_equal(cf_display_list_add_item(list, page, &it), CF_OK);
}

static void add_rect(cf_display_list *list, size_t page, double y, double fill)
{
    cf_item it = {.kind = CF_ITEM_RECT, .x = 60, .y = y};
    it.u.rect.w = 200;
    it.u.rect.h = 40;
    it.u.rect.stroke_width = 1.5;
    it.u.rect.fill_gray = fill;
    assert_int_equal(cf_display_list_add_item(list, page, &it), CF_OK);
}

/* Two pages for patient name: page 1's body (id 11) in the run's characters only, ending with
 * spaced text (Tc) and a thick grey rectangle whose state must not reach the patient's items;
 * page 2's body (id 12, or 13 with name_in_body) with the patient's name inside when
 * name_in_body (characters only that patient's own font has). shared: the ids are set;
 * otherwise 0 (painted whole). */
static cf_display_list *patient_list(const char *name, const char *hn, bool shared,
                                     bool name_in_body)
{
    cf_display_list *list = cf_display_list_new(595.28, 841.89, fonts_hk());
    assert_non_null(list);
    static unsigned char qr[21 * 21];
    for (size_t i = 0; i < sizeof qr; i++)
        qr[i] = (unsigned char)((i * 5 + i / 21) % 3 == 0);
    for (size_t p = 0; p < 2; p++) {
        assert_int_equal(cf_display_list_add_page(list), p);
        add_text(list, p, BODY_BOLD, CF_FONT_BOLD, 51, 800 - 10 * (double)p, 0, 0.3);
        add_text(list, p, BODY_REGULAR, CF_FONT_REGULAR, 51, 780, 0, 0);
        add_line(list, p, 770, true);
        if (p == 1 && name_in_body)
            add_text(list, p, name, CF_FONT_REGULAR, 51, 750, 0, 0);
        add_text(list, p, BODY_REGULAR, CF_FONT_REGULAR, 51, 730, 0.75, 0);
        add_text(list, p, "Consent 2026", CF_FONT_REGULAR, 51, 700, 0.5, 0.2);
        add_rect(list, p, 640, 0.85);
        size_t body = list->pages[p].n_items;
        /* The patient's own items: no spacing, black, thin lines. */
        add_text(list, p, name, CF_FONT_REGULAR, 300, 600, 0, 0);
        add_text(list, p, hn, CF_FONT_BOLD, 300, 580, 0, 0);
        add_rect(list, p, 500, -1);
        add_line(list, p, 480, false);
        cf_item mods = {.kind = CF_ITEM_MODULES, .x = 480, .y = 30};
        mods.u.modules.count = 21;
        mods.u.modules.module = 2;
        mods.u.modules.dark = qr;
        assert_int_equal(cf_display_list_add_item(list, p, &mods), CF_OK);
        if (shared) {
            list->pages[p].n_shared = body;
            list->pages[p].shared_id = p == 0 ? 11 : name_in_body ? 13 : 12;
        }
    }
    list->info.title = "神經根管注射";
    list->info.subject = "nerve-root-injection 1.0";
    list->info.keywords = "7K3QJ2M9XW4TB";
    list->info.created = 1767225600;
    return list;
}

static cf_pdf_fonts *run_fonts(void)
{
    cf_codepoints *sets[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    assert_non_null(sets[0]);
    assert_non_null(sets[1]);
    cf_codepoints_add_utf8(sets[CF_FONT_REGULAR], BODY_REGULAR, strlen(BODY_REGULAR));
    cf_codepoints_add_utf8(sets[CF_FONT_REGULAR], " ", 1);
    cf_codepoints_add_utf8(sets[CF_FONT_BOLD], BODY_BOLD, strlen(BODY_BOLD));
    cf_pdf_fonts *pf = NULL;
    assert_int_equal(cf_pdf_fonts_new(fonts_hk(), (const cf_codepoints *const *)sets, &pf, NULL),
                     CF_OK);
    cf_codepoints_free(sets[0]);
    cf_codepoints_free(sets[1]);
    return pf;
}

typedef struct pdf_bytes {
    unsigned char *data;
    size_t len;
} pdf_bytes;

static pdf_bytes render(const cf_display_list *list, const cf_render_options *o)
{
    pdf_bytes b = {0};
    assert_int_equal(cf_render_pdf_with(list, o, &b.data, &b.len, NULL), CF_OK);
    return b;
}

static pdf_bytes render_combined(const cf_display_list *const *lists, size_t n,
                                 const cf_render_options *o)
{
    cf_codepoints *sets[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    for (size_t i = 0; i < n; i++)
        cf_display_list_codepoints(lists[i], sets);
    cf_pdf_writer *w = NULL;
    assert_int_equal(cf_pdf_writer_new_with(lists[0]->fonts, (const cf_codepoints *const *)sets,
                                            &lists[0]->info, o, &w, NULL),
                     CF_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cf_pdf_writer_add(w, lists[i], false), CF_OK);
    pdf_bytes b = {0};
    assert_int_equal(cf_pdf_writer_finish(w, &b.data, &b.len), CF_OK);
    cf_codepoints_free(sets[0]);
    cf_codepoints_free(sets[1]);
    return b;
}

static const unsigned char *find(const pdf_bytes *b, size_t from, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = from; i + n <= b->len; i++)
        if (memcmp(b->data + i, needle, n) == 0)
            return b->data + i;
    return NULL;
}

static size_t count(const pdf_bytes *b, const char *needle)
{
    size_t n = 0;
    for (const unsigned char *p = find(b, 0, needle); p != NULL;
         p = find(b, (size_t)(p - b->data) + 1, needle))
        n++;
    return n;
}

/* The object number of the first stream of the k-th page whose /Contents is an array; 0 when
 * there is no such page. */
static long body_ref(const pdf_bytes *b, size_t k)
{
    const unsigned char *p = find(b, 0, "/Contents [");
    for (size_t i = 0; i < k && p != NULL; i++)
        p = find(b, (size_t)(p - b->data) + 1, "/Contents [");
    if (p == NULL)
        return 0;
    return strtol((const char *)p + strlen("/Contents ["), NULL, 10);
}

/* The whole text of object id (dictionary and stream), copied; caller frees. */
static char *object_text(const pdf_bytes *b, long id, size_t *len)
{
    char head[32];
    snprintf(head, sizeof head, "\n%ld 0 obj", id);
    const unsigned char *start = find(b, 0, head);
    assert_non_null(start);
    const unsigned char *end = find(b, (size_t)(start - b->data), "endobj");
    assert_non_null(end);
    *len = (size_t)(end - start) - strlen(head);
    char *out = malloc(*len + 1);
    assert_non_null(out);
    memcpy(out, start + strlen(head), *len);
    out[*len] = '\0';
    return out;
}

static bool have_tools(void)
{
    return system("command -v qpdf >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 && "
                  "command -v pdftoppm >/dev/null 2>&1") == 0;
}

static void write_file(const char *dir, const char *name, const pdf_bytes *b)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    assert_int_equal(fclose(f), 0);
}

/* qpdf --check passes on both, and their text (pdftotext) and pixels at 100 dpi (pdftoppm) are
 * the same. */
static void same_pages(const char *dir, const pdf_bytes *cached, const pdf_bytes *whole)
{
    write_file(dir, "cached.pdf", cached);
    write_file(dir, "whole.pdf", whole);
    char cmd[12000];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && qpdf --check cached.pdf >/dev/null && qpdf --check whole.pdf >/dev/null "
             "&& pdftotext -enc UTF-8 cached.pdf c.txt && pdftotext -enc UTF-8 whole.pdf w.txt "
             "&& cmp -s c.txt w.txt && pdftoppm -r 100 -gray cached.pdf c && "
             "pdftoppm -r 100 -gray whole.pdf w && cmp -s c-1.pgm w-1.pgm && "
             "cmp -s c-2.pgm w-2.pgm && grep -q '陳大文' c.txt",
             dir);
    if (system(cmd) != 0)
        fail_msg("the cached and whole pages differ (or qpdf complains): %s", dir);
}

static void test_body_shared_between_documents(void **state)
{
    (void)state;
    cf_pdf_fonts *pf = run_fonts();
    cf_body_streams *cache = cf_body_streams_new();
    assert_non_null(cache);
    cf_render_options with = {.run_fonts = pf, .body_streams = cache};
    cf_render_options without = {.run_fonts = pf};
    cf_display_list *a = patient_list("陳大文", "HN12345678(9)", true, false);
    cf_display_list *b = patient_list("李小龍", "HN87654321(0)", true, false);
    cf_display_list *a_whole = patient_list("陳大文", "HN12345678(9)", false, false);
    pdf_bytes pa = render(a, &with), pb = render(b, &with);
    pdf_bytes pw = render(a_whole, &with), pn = render(a, &without);
    /* Both pages of both patients show a body stream; the body was painted once per id. */
    size_t reused = 0, whole = 0;
    cf_body_streams_stats(cache, &reused, &whole);
    assert_int_equal(reused, 4);
    assert_int_equal(whole, 0);
    assert_int_equal(count(&pa, "/Contents ["), 2);
    assert_int_equal(count(&pb, "/Contents ["), 2);
    assert_int_equal(count(&pw, "/Contents ["), 0);
    assert_int_equal(count(&pn, "/Contents ["), 0);
    /* The body streams: the same bytes in both documents, written as they are (FlateDecode,
     * the run fonts' names), not compressed twice. */
    for (size_t k = 0; k < 2; k++) {
        size_t la = 0, lb = 0;
        char *oa = object_text(&pa, body_ref(&pa, k), &la);
        char *ob = object_text(&pb, body_ref(&pb, k), &lb);
        const char *sa = strstr(oa, "stream\r\n"), *sb = strstr(ob, "stream\r\n");
        assert_non_null(sa);
        assert_non_null(sb);
        assert_int_equal(la - (size_t)(sa - oa), lb - (size_t)(sb - ob));
        assert_memory_equal(sa, sb, la - (size_t)(sa - oa));
        assert_non_null(strstr(oa, "/Filter /FlateDecode"));
        assert_null(strstr(strstr(oa, "/Filter") + 7, "/Filter"));
        free(oa);
        free(ob);
    }
    assert_non_null(find(&pa, 0, "/Fr "));
    assert_non_null(find(&pa, 0, "/Fb "));
    /* Without run fonts' codes or without a cache: painted whole, as before. */
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cf-body-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    if (have_tools())
        same_pages(dir, &pa, &pw);
    else
        print_message("qpdf or poppler-utils missing: page comparison skipped\n");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    cf_free(pa.data);
    cf_free(pb.data);
    cf_free(pw.data);
    cf_free(pn.data);
    cf_display_list_free(a);
    cf_display_list_free(b);
    cf_display_list_free(a_whole);
    cf_body_streams_free(cache);
    cf_pdf_fonts_free(pf);
}

/* A body that draws a character of the patient's own font (a value set inline in the text,
 * outside the run's characters) is painted whole on its page; the other page still shares. */
static void test_body_with_patient_character_not_shared(void **state)
{
    (void)state;
    cf_pdf_fonts *pf = run_fonts();
    cf_body_streams *cache = cf_body_streams_new();
    assert_non_null(cache);
    cf_render_options with = {.run_fonts = pf, .body_streams = cache};
    cf_display_list *a = patient_list("陳大文", "HN12345678(9)", true, true);
    cf_display_list *a_whole = patient_list("陳大文", "HN12345678(9)", false, true);
    pdf_bytes pa = render(a, &with), pw = render(a_whole, &with);
    size_t reused = 0, whole = 0;
    cf_body_streams_stats(cache, &reused, &whole);
    assert_int_equal(reused, 1);
    assert_int_equal(whole, 1);
    assert_int_equal(count(&pa, "/Contents ["), 1);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cf-body-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    if (have_tools())
        same_pages(dir, &pa, &pw);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    cf_free(pa.data);
    cf_free(pw.data);
    cf_display_list_free(a);
    cf_display_list_free(a_whole);
    cf_body_streams_free(cache);
    cf_pdf_fonts_free(pf);
}

/* In one PDF of many patients (cf_pdf_writer) each body is one object, referenced by every
 * page that shows it; text and pixels are those of the same patients painted whole. */
static void test_combined_one_object_per_body(void **state)
{
    (void)state;
    cf_pdf_fonts *pf = run_fonts();
    cf_body_streams *cache = cf_body_streams_new();
    assert_non_null(cache);
    cf_render_options with = {.run_fonts = pf, .body_streams = cache};
    static const char *const names[3] = {"陳大文", "李小龍", "Wong Siu Ming"};
    cf_display_list *lists[3], *wholes[3];
    for (size_t i = 0; i < 3; i++) {
        lists[i] = patient_list(names[i], "HN12345678(9)", true, false);
        wholes[i] = patient_list(names[i], "HN12345678(9)", false, false);
    }
    pdf_bytes pc = render_combined((const cf_display_list *const *)lists, 3, &with);
    pdf_bytes pw = render_combined((const cf_display_list *const *)wholes, 3, &with);
    assert_int_equal(count(&pc, "/Contents ["), 6);
    for (size_t k = 0; k < 6; k++)
        assert_int_equal(body_ref(&pc, k), body_ref(&pc, k % 2));
    assert_true(body_ref(&pc, 0) != body_ref(&pc, 1));
    assert_true(pc.len < pw.len);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cf-body-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    if (have_tools()) {
        same_pages(dir, &pc, &pw);
        char cmd[8500];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && pdftoppm -r 100 -gray cached.pdf c && pdftoppm -r 100 -gray "
                 "whole.pdf w && for p in 3 4 5 6; do cmp -s c-$p.pgm w-$p.pgm || exit 1; done",
                 dir);
        assert_int_equal(system(cmd), 0);
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    cf_free(pc.data);
    cf_free(pw.data);
    for (size_t i = 0; i < 3; i++) {
        cf_display_list_free(lists[i]);
        cf_display_list_free(wholes[i]);
    }
    cf_body_streams_free(cache);
    cf_pdf_fonts_free(pf);
}

static cf_status sink_to_buf(void *ctx, const void *data, size_t len)
{
    return cf_buf_append(ctx, data, len);
}

/* Writers' parts of a print job joined (cf_pdf_join, as a batch's --combined makes them on
 * several threads): each body is one object for the whole job, and the text and pixels are
 * those of the same parts painted whole. */
static void test_join_one_object_per_body(void **state)
{
    (void)state;
    cf_pdf_fonts *pf = run_fonts();
    cf_body_streams *cache = cf_body_streams_new();
    assert_non_null(cache);
    cf_render_options with = {.run_fonts = pf, .body_streams = cache};
    static const char *const names[4] = {"陳大文", "李小龍", "Wong Siu Ming", "何家燊"};
    cf_display_list *lists[4], *wholes[4];
    for (size_t i = 0; i < 4; i++) {
        lists[i] = patient_list(names[i], "HN12345678(9)", true, false);
        wholes[i] = patient_list(names[i], "HN12345678(9)", false, false);
    }
    /* The job's characters, for every part's writer. */
    cf_codepoints *sets[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    for (size_t i = 0; i < 4; i++)
        cf_display_list_codepoints(lists[i], sets);
    pdf_bytes joined[2];
    for (int v = 0; v < 2; v++) {
        cf_display_list **from = v == 0 ? lists : wholes;
        cf_buf out;
        cf_buf_init(&out, (size_t)64 << 20);
        cf_pdf_join *j = cf_pdf_join_new(sink_to_buf, &out);
        assert_non_null(j);
        for (size_t part = 0; part < 2; part++) {
            cf_pdf_writer *w = NULL;
            assert_int_equal(cf_pdf_writer_new_with(fonts_hk(), (const cf_codepoints *const *)sets,
                                                    &lists[0]->info, &with, &w, NULL),
                             CF_OK);
            for (size_t k = 0; k < 2; k++)
                assert_int_equal(cf_pdf_writer_add(w, from[part * 2 + k], false), CF_OK);
            pdf_bytes b = {0};
            assert_int_equal(cf_pdf_writer_finish(w, &b.data, &b.len), CF_OK);
            assert_int_equal(cf_pdf_join_add(j, b.data, b.len, NULL), CF_OK);
            cf_free(b.data);
        }
        assert_int_equal(cf_pdf_join_finish(j, NULL), CF_OK);
        cf_pdf_join_free(j);
        joined[v] = (pdf_bytes){(unsigned char *)out.data, out.len};
    }
    assert_int_equal(count(&joined[0], "/Contents ["), 8);
    for (size_t k = 0; k < 8; k++)
        assert_int_equal(body_ref(&joined[0], k), body_ref(&joined[0], k % 2));
    assert_true(body_ref(&joined[0], 0) != body_ref(&joined[0], 1));
    /* Two body objects in the file (the whole pages have none), not one per part. */
    assert_int_equal(count(&joined[0], "/Filter /FlateDecode\n>>\nstream"),
                     count(&joined[1], "/Filter /FlateDecode\n>>\nstream") + 2);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cf-body-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    if (have_tools()) {
        same_pages(dir, &joined[0], &joined[1]);
        char cmd[8500];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && for p in 3 4 5 6 7 8; do cmp -s c-$p.pgm w-$p.pgm || exit 1; done",
                 dir);
        assert_int_equal(system(cmd), 0);
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    for (int v = 0; v < 2; v++)
        cf_free(joined[v].data);
    for (size_t i = 0; i < 4; i++) {
        cf_display_list_free(lists[i]);
        cf_display_list_free(wholes[i]);
    }
    cf_codepoints_free(sets[0]);
    cf_codepoints_free(sets[1]);
    cf_body_streams_free(cache);
    cf_pdf_fonts_free(pf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_shared_between_documents),
        cmocka_unit_test(test_body_with_patient_character_not_shared),
        cmocka_unit_test(test_combined_one_object_per_body),
        cmocka_unit_test(test_join_one_object_per_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
