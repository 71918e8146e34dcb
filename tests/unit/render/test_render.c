/* Unit tests of src/render: document ids (format, check character, typing mistakes), the PDF
 * backend on hand-built display lists (structure, reproducible bytes, locale independence,
 * combined and duplex page counts, fonts embedded as subsets, what qpdf, pdffonts and pdftotext
 * make of the output), the form preflight, and the allocation-failure sweep through loading a
 * form and rendering one PDF. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/diag.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "layout/display_list.h"
#include "render/docid.h"
#include "render/document.h"
#include "render/pdf_join.h"
#include "render/render_pdf.h"
#include "test_util.h"
#include "text/font.h"

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static const cf_fontset *fonts_hk(void)
{
    const cf_fontset *fonts = NULL;
    assert_int_equal(cf_fontset_get("HK", &fonts, NULL), CF_OK);
    return fonts;
}

static cf_form *load(const char *rel)
{
    char path[4096];
    cf_form *form = NULL;
    assert_int_equal(cf_form_load(test_source_path(path, sizeof path, rel), NULL, &form, NULL),
                     CF_OK);
    return form;
}

/* ---- document ids ---------------------------------------------------------------------- */

static void test_docid_format_and_check(void **state)
{
    (void)state;
    cf_form *form = load("tests/data/form/sample-leaflet.xml");
    cf_record *r = cf_record_new(NULL, 0);
    cf_record_set(r, "patient_name", "陳大文");
    cf_record_set(r, "hospital_no", "HN12345678(9)");
    char a[CF_DOCUMENT_ID_SIZE], b[CF_DOCUMENT_ID_SIZE], n[CF_DOCUMENT_ID_SIZE];
    cf_docid_make(form, r, 1767225600, 1, false, a);
    cf_docid_make(form, r, 1767225600, 1, false, b);
    assert_string_equal(a, b); /* reproducible */
    assert_int_equal(strlen(a), CF_DOCUMENT_ID_LEN);
    assert_int_equal(strspn(a, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), CF_DOCUMENT_ID_LEN);
    assert_true(cf_docid_normalize(a, n));
    assert_string_equal(a, n);
    cf_docid_make(form, r, 1767225600, 2, false, b);
    assert_string_not_equal(a, b); /* another sequence number */
    cf_docid_make(form, r, 1767225600, 1, true, b);
    assert_string_not_equal(a, b); /* random part */
    /* Typing: lower case, hyphens, O for 0 and I/L for 1 are accepted. */
    char typed[40];
    snprintf(typed, sizeof typed, "%.4s-%.4s-%.5s", a, a + 4, a + 8);
    for (char *p = typed; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    assert_true(cf_docid_normalize(typed, n));
    assert_string_equal(a, n);
    /* Every single-character mistake is caught by the check character. */
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    for (int pos = 0; pos < CF_DOCUMENT_ID_LEN; pos++)
        for (int k = 0; k < 32; k++) {
            char wrong[CF_DOCUMENT_ID_SIZE];
            memcpy(wrong, a, sizeof wrong);
            if (wrong[pos] == alphabet[k])
                continue;
            wrong[pos] = alphabet[k];
            assert_false(cf_docid_normalize(wrong, n));
        }
    assert_false(cf_docid_normalize("ABC", n));
    assert_false(cf_docid_normalize("UUUUUUUUUUUUU", n)); /* U is not in the alphabet */
    cf_record_free(r);
    cf_form_free(form);
}

/* ---- PDF backend ----------------------------------------------------------------------- */

static cf_display_list *sample_list(const cf_fontset *fonts, size_t pages)
{
    cf_display_list *list = cf_display_list_new(595.28, 841.89, fonts);
    assert_non_null(list);
    static unsigned char qr[21 * 21];
    for (size_t i = 0; i < sizeof qr; i++)
        qr[i] = (unsigned char)((i * 7 + i / 21) % 3 == 0);
    for (size_t p = 0; p < pages; p++) {
        assert_int_equal(cf_display_list_add_page(list), p);
        const char *t1 = cf_display_list_strdup(list, "神經根管注射 HN12345678(9)", 32);
        const char *t2 = cf_display_list_strdup(list, "病人須知", 12);
        cf_item text = {.kind = CF_ITEM_TEXT, .x = 51, .y = 780};
        text.u.text.utf8 = t1;
        text.u.text.len = strlen(t1);
        text.u.text.size = 12;
        text.u.text.char_spacing = 0.5;
        assert_int_equal(cf_display_list_add_item(list, p, &text), CF_OK);
        text.y = 760;
        text.u.text.utf8 = t2;
        text.u.text.len = strlen(t2);
        text.u.text.style = CF_FONT_BOLD;
        text.u.text.char_spacing = 0;
        text.u.text.gray = 0.3;
        assert_int_equal(cf_display_list_add_item(list, p, &text), CF_OK);
        cf_item line = {.kind = CF_ITEM_LINE, .x = 51, .y = 750};
        line.u.line.x2 = 540;
        line.u.line.y2 = 750;
        line.u.line.width = 0.6;
        line.u.line.dashed = true;
        assert_int_equal(cf_display_list_add_item(list, p, &line), CF_OK);
        cf_item rect = {.kind = CF_ITEM_RECT, .x = 300, .y = 600};
        rect.u.rect.w = 200;
        rect.u.rect.h = 100;
        rect.u.rect.stroke_width = 1;
        rect.u.rect.fill_gray = 0.9;
        assert_int_equal(cf_display_list_add_item(list, p, &rect), CF_OK);
        cf_item mods = {.kind = CF_ITEM_MODULES, .x = 480, .y = 30};
        mods.u.modules.count = 21;
        mods.u.modules.module = 2;
        mods.u.modules.dark = qr;
        assert_int_equal(cf_display_list_add_item(list, p, &mods), CF_OK);
    }
    list->info.title = "神經根管注射";
    list->info.subject = "nerve-root-injection 1.0";
    list->info.keywords = "7K3QJ2M9XW4TB";
    list->info.created = 1767225600;
    return list;
}

static size_t count_pages(const unsigned char *pdf, size_t len)
{
    size_t n = 0;
    static const char key[] = "/Type /Page";
    for (size_t i = 0; i + sizeof key < len; i++)
        if (memcmp(pdf + i, key, sizeof key - 1) == 0 && pdf[i + sizeof key - 1] != 's')
            n++;
    return n;
}

static bool contains(const unsigned char *pdf, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(pdf + i, needle, n) == 0)
            return true;
    return false;
}

static void test_render_structure_and_reproducible(void **state)
{
    (void)state;
    cf_display_list *list = sample_list(fonts_hk(), 2);
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    assert_int_equal(cf_render_pdf(list, &a, &alen, NULL), CF_OK);
    assert_true(alen > 1000);
    assert_memory_equal(a, "%PDF-1.", 7);
    assert_true(contains(a + alen - 8, 8, "%%EOF"));
    assert_int_equal(count_pages(a, alen), 2);
    /* Both faces embedded as subsets (a six-letter tag), no full font. */
    assert_true(contains(a, alen, "/BaseFont /CFSAAA+CFSansHK-Regular"));
    assert_true(contains(a, alen, "/BaseFont /CFSAAB+CFSansHK-Bold"));
    assert_true(contains(a, alen, "/FontFile2"));
    assert_true(alen < 60 * 1024);
    /* No clock in the output: same list, same bytes, whatever the locale. */
    assert_int_equal(cf_render_pdf(list, &b, &blen, NULL), CF_OK);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    cf_free(b);
    if (setlocale(LC_ALL, "de_DE.UTF-8") != NULL) {
        assert_int_equal(cf_render_pdf(list, &b, &blen, NULL), CF_OK);
        setlocale(LC_ALL, "C");
        assert_int_equal(alen, blen);
        assert_memory_equal(a, b, alen);
        cf_free(b);
    } else {
        print_message("de_DE.UTF-8 is not installed: locale check skipped\n");
    }
    cf_free(a);
    cf_display_list_free(list);
}

static void test_render_combined_duplex(void **state)
{
    (void)state;
    const cf_fontset *fonts = fonts_hk();
    cf_display_list *one = sample_list(fonts, 1), *two = sample_list(fonts, 2),
                    *three = sample_list(fonts, 3);
    const cf_display_list *lists[] = {one, two, three, one};
    unsigned char *pdf = NULL;
    size_t len = 0;
    assert_int_equal(cf_render_pdf_combined(lists, 4, false, &pdf, &len, NULL), CF_OK);
    assert_int_equal(count_pages(pdf, len), 7);
    cf_free(pdf);
    /* Duplex: 1 (+1 blank), 2, 3 (+1 blank), 1 -> every document starts on an odd page. */
    assert_int_equal(cf_render_pdf_combined(lists, 4, true, &pdf, &len, NULL), CF_OK);
    assert_int_equal(count_pages(pdf, len), 9);
    cf_free(pdf);
    cf_display_list_free(one);
    cf_display_list_free(two);
    cf_display_list_free(three);
}

static void test_render_refuses_mixed_fonts(void **state)
{
    (void)state;
    const cf_fontset *tw = NULL;
    assert_int_equal(cf_fontset_get("TW", &tw, NULL), CF_OK);
    cf_display_list *a = sample_list(fonts_hk(), 1), *b = sample_list(tw, 1);
    const cf_display_list *lists[] = {a, b};
    unsigned char *pdf = NULL;
    size_t len = 0;
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_render_pdf_combined(lists, 2, false, &pdf, &len, diag), CF_ERR_INTERNAL);
    assert_null(pdf);
    assert_true(cf_diag_contains(diag, "share one font set"));
    cf_diag_free(diag);
    cf_display_list_free(a);
    cf_display_list_free(b);
}

/* An empty text run draws nothing; in a style no other item uses it must not need a font. */
static void test_render_empty_text_in_unused_style(void **state)
{
    (void)state;
    cf_display_list *list = cf_display_list_new(595.28, 841.89, fonts_hk());
    assert_int_equal(cf_display_list_add_page(list), 0);
    cf_item text = {.kind = CF_ITEM_TEXT, .x = 51, .y = 780};
    text.u.text.utf8 = cf_display_list_strdup(list, "病人", 6);
    text.u.text.len = 6;
    text.u.text.size = 12;
    assert_int_equal(cf_display_list_add_item(list, 0, &text), CF_OK);
    text.u.text.utf8 = cf_display_list_strdup(list, "", 0);
    text.u.text.len = 0;
    text.u.text.style = CF_FONT_BOLD;
    assert_int_equal(cf_display_list_add_item(list, 0, &text), CF_OK);
    unsigned char *pdf = NULL;
    size_t len = 0;
    assert_int_equal(cf_render_pdf(list, &pdf, &len, NULL), CF_OK);
    assert_true(contains(pdf, len, "CFSansHK-Regular"));
    assert_false(contains(pdf, len, "CFSansHK-Bold")); /* nothing drawn in bold: not embedded */
    cf_free(pdf);
    cf_display_list_free(list);
}

/* ---- the PDF as other tools read it ---------------------------------------------------- */

static bool have_tool(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* Runs a shell command and returns its standard output (malloc'd, NUL-terminated). */
static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    *status = pclose(p);
    return out;
}

static void write_pdf(const char *path, const unsigned char *pdf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(pdf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* qpdf finds no fault, pdffonts lists only embedded subsets with ToUnicode maps, pdftotext
 * gives the text back exactly and without complaint, and a combined duplex print job has the
 * pages qpdf counts, its blank pages empty. */
static void test_render_read_by_other_tools(void **state)
{
    (void)state;
    if (!have_tool("qpdf") || !have_tool("pdffonts") || !have_tool("pdftotext")) {
        print_message("qpdf or poppler-utils missing: check skipped\n");
        skip();
    }
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cf-render-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    char path[4200], cmd[8600];
    snprintf(path, sizeof path, "%s/sample.pdf", dir);

    cf_display_list *list = sample_list(fonts_hk(), 2);
    unsigned char *pdf = NULL;
    size_t len = 0;
    assert_int_equal(cf_render_pdf(list, &pdf, &len, NULL), CF_OK);
    write_pdf(path, pdf, len);
    cf_free(pdf);

    int status = 0;
    snprintf(cmd, sizeof cmd, "qpdf --check '%s' 2>&1", path);
    char *out = run(cmd, &status);
    if (status != 0 || strstr(out, "No syntax or stream encoding errors") == NULL)
        fail_msg("qpdf --check:\n%s", out);
    free(out);

    /* pdffonts: name type encoding emb sub uni object ID; two faces, each "yes yes yes". */
    snprintf(cmd, sizeof cmd, "pdffonts '%s' 2>&1 | tail -n +3", path);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    size_t faces = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        faces++;
        /* The subset tag and the face's PostScript name, nothing appended. */
        if (strncmp(line, "CFSAAA+CFSansHK-Regular ", 24) != 0 &&
            strncmp(line, "CFSAAB+CFSansHK-Bold ", 21) != 0)
            fail_msg("unexpected font: %s", line);
        if (strstr(line, "CID TrueType") == NULL || strstr(line, " yes yes yes ") == NULL)
            fail_msg("font not an embedded subset with a ToUnicode map: %s", line);
    }
    assert_int_equal(faces, 2);
    free(out);

    /* 2>&1: a reader's complaint (such as libharu's own ToUnicode map drew) fails the test. */
    snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' - 2>&1", path);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    assert_string_equal(out, "神經根管注射 HN12345678(9)\n病人須知\n\n\f"
                             "神經根管注射 HN12345678(9)\n病人須知\n\n\f");
    free(out);

    /* Duplex: documents of 1, 2, 3 and 1 pages start on odd pages: 1+1, 2, 3+1, 1 = 9. */
    cf_display_list *one = sample_list(fonts_hk(), 1), *three = sample_list(fonts_hk(), 3);
    const cf_display_list *lists[] = {one, list, three, one};
    assert_int_equal(cf_render_pdf_combined(lists, 4, true, &pdf, &len, NULL), CF_OK);
    write_pdf(path, pdf, len);
    cf_free(pdf);
    snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1 && qpdf --show-npages '%s'", path,
             path);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    assert_string_equal(out, "9\n");
    free(out);
    /* The blank pages hold no text: pages 2 and 8 extract as nothing. */
    snprintf(cmd, sizeof cmd,
             "pdftotext -f 2 -l 2 -enc UTF-8 '%s' - && pdftotext -f 8 -l 8 -enc UTF-8 '%s' -", path,
             path);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    assert_string_equal(out, "\f\f");
    free(out);

    cf_display_list_free(one);
    cf_display_list_free(three);
    cf_display_list_free(list);
    assert_int_equal(remove(path), 0);
    assert_int_equal(remove(dir), 0);
}

/* ---- joining the parts of a print job ---- */

static cf_status sink_to_buf(void *ctx, const void *data, size_t len)
{
    return cf_buf_append(ctx, data, len);
}

/* One part: the given documents through one writer of the sets and info given. */
static unsigned char *make_part(const cf_display_list *const *lists, size_t n,
                                cf_codepoints *const sets[2], size_t pages_before, bool duplex,
                                size_t *len)
{
    cf_pdf_writer *w = NULL;
    assert_int_equal(cf_pdf_writer_new(lists[0]->fonts, (const cf_codepoints *const *)sets,
                                       &lists[0]->info, &w, NULL),
                     CF_OK);
    cf_pdf_writer_set_pages_before(w, pages_before);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cf_pdf_writer_add(w, lists[i], duplex), CF_OK);
    unsigned char *pdf = NULL;
    assert_int_equal(cf_pdf_writer_finish(w, &pdf, len), CF_OK);
    return pdf;
}

/* Parts of 2 + 1 and 3 pages joined (duplex: the second part starts with the blank back of
 * the first part's last sheet) give the pages of one writer making them all, fonts once, and
 * a file qpdf and pdftotext read; a part with other fonts or a damaged part is refused. */
static void test_pdf_join(void **state)
{
    (void)state;
    cf_display_list *one = sample_list(fonts_hk(), 1), *two = sample_list(fonts_hk(), 2),
                    *three = sample_list(fonts_hk(), 3);
    cf_codepoints *sets[2] = {cf_codepoints_new(), cf_codepoints_new()};
    const cf_display_list *all[] = {two, one, three};
    for (int i = 0; i < 3; i++)
        cf_display_list_codepoints(all[i], sets);
    size_t len1 = 0, len2 = 0, whole_len = 0;
    unsigned char *p1 = make_part(all, 2, sets, 0, true, &len1);
    unsigned char *p2 = make_part(all + 2, 1, sets, 3, true, &len2);
    unsigned char *whole = make_part(all, 3, sets, 0, true, &whole_len);
    /* 2, 1, then (part 2, after 3 pages) blank + 3 = 7, as one writer makes it. */
    assert_int_equal(count_pages(whole, whole_len), 7);

    cf_buf out;
    cf_buf_init(&out, (size_t)64 << 20);
    cf_pdf_join *j = cf_pdf_join_new(sink_to_buf, &out);
    assert_int_equal(cf_pdf_join_add(j, p1, len1, NULL), CF_OK);
    assert_int_equal(cf_pdf_join_add(j, p2, len2, NULL), CF_OK);
    assert_int_equal(cf_pdf_join_pages(j), 7);
    assert_int_equal(cf_pdf_join_finish(j, NULL), CF_OK);
    cf_pdf_join_free(j);
    assert_int_equal(count_pages((unsigned char *)out.data, out.len), 7);
    /* The fonts are written once: the same size as one writer's file. */
    assert_int_equal(out.len, whole_len);

    if (have_tool("qpdf") && have_tool("pdftotext")) {
        const char *tmp = getenv("TMPDIR");
        char path[1024], path2[1100], cmd[5000];
        snprintf(path, sizeof path, "%s/cf-join-%ld.pdf", tmp != NULL && *tmp ? tmp : "/tmp",
                 (long)getpid());
        snprintf(path2, sizeof path2, "%s.whole.pdf", path);
        write_pdf(path, (unsigned char *)out.data, out.len);
        write_pdf(path2, whole, whole_len);
        int status = 0;
        snprintf(cmd, sizeof cmd,
                 "qpdf --check '%s' >/dev/null 2>&1 && qpdf --show-npages '%s' && "
                 "pdftotext -enc UTF-8 '%s' - | cmp - <(pdftotext -enc UTF-8 '%s' -) && echo same",
                 path, path, path, path2);
        char wrapped[5100];
        snprintf(wrapped, sizeof wrapped, "bash -c \"%s\" 2>&1", cmd);
        char *res = run(wrapped, &status);
        if (status != 0 || strcmp(res, "7\nsame\n") != 0)
            fail_msg("joined file: %s", res);
        free(res);
        assert_int_equal(remove(path), 0);
        assert_int_equal(remove(path2), 0);
    }

    /* A part with other fonts (fewer characters) does not fit the first. */
    cf_codepoints *fewer[2] = {cf_codepoints_new(), cf_codepoints_new()};
    cf_display_list_codepoints(one, fewer);
    cf_codepoints_add(fewer[0], 0x4E00);
    size_t len3 = 0;
    unsigned char *p3 = make_part(all, 1, fewer, 0, false, &len3);
    cf_buf_reset(&out);
    j = cf_pdf_join_new(sink_to_buf, &out);
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_pdf_join_add(j, p1, len1, diag), CF_OK);
    assert_int_equal(cf_pdf_join_add(j, p3, len3, diag), CF_ERR_INTERNAL);
    assert_true(cf_diag_contains(diag, "other fonts"));
    cf_pdf_join_free(j);
    /* A damaged part (cut short) is refused, never copied. */
    j = cf_pdf_join_new(sink_to_buf, &out);
    assert_int_equal(cf_pdf_join_add(j, p1, len1 / 2, diag), CF_ERR_INTERNAL);
    assert_int_equal(cf_pdf_join_finish(j, diag), CF_ERR_INTERNAL);
    cf_pdf_join_free(j);
    static const unsigned char junk[] = "%PDF-1.3\nnot a pdf\nstartxref\n12\n%%EOF\n";
    j = cf_pdf_join_new(sink_to_buf, &out);
    assert_int_equal(cf_pdf_join_add(j, junk, sizeof junk - 1, diag), CF_ERR_INTERNAL);
    cf_pdf_join_free(j);

    cf_diag_free(diag);
    cf_buf_cleanup(&out);
    cf_free(p1);
    cf_free(p2);
    cf_free(p3);
    cf_free(whole);
    for (int i = 0; i < 2; i++) {
        cf_codepoints_free(sets[i]);
        cf_codepoints_free(fewer[i]);
    }
    cf_display_list_free(one);
    cf_display_list_free(two);
    cf_display_list_free(three);
}

/* ---- preflight and documents ----------------------------------------------------------- */

static void test_preflight_names_missing_characters(void **state)
{
    (void)state;
    static const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<form id=\"m\" version=\"1\" kind=\"leaflet\" xml:lang=\"zh-Hant-HK\">\n"
        "<meta><status state=\"draft\"/><title>測試</title></meta>\n"
        "<label caption=\"Label\"><label-field key=\"patient_name\" caption=\"Name\" "
        "required=\"true\"/></label>\n"
        "<body><section id=\"a\" title=\"說明\">\n"
        "<p>泰文\xe0\xb8\x81字</p>\n"
        "</section></body></form>\n";
    cf_form *form = NULL;
    assert_int_equal(cf_form_load_memory(xml, sizeof xml - 1, "thai.xml", NULL, &form, NULL),
                     CF_OK);
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_document_preflight(form, fonts_hk(), diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "thai.xml:6:"));
    assert_true(cf_diag_contains(diag, "U+0E01"));
    cf_diag_free(diag);
    cf_form_free(form);
}

static void test_document_render(void **state)
{
    (void)state;
    cf_form *form = load("tests/data/form/sample-leaflet.xml");
    const cf_fontset *fonts = fonts_hk();
    assert_int_equal(cf_document_preflight(form, fonts, NULL), CF_OK);
    cf_record *r = cf_record_new(NULL, 0);
    cf_record_set(r, "patient_name", "陳大文");
    cf_record_set(r, "hospital_no", "HN12345678(9)");
    assert_int_equal(cf_record_check(form, r, fonts, false, NULL), CF_OK);
    cf_document_options o = {
        .paper = CF_PAPER_A4, .created = 1767225600, .sequence = 7, .document_id = "7K3QJ2M9XW4TB"};
    cf_document doc;
    assert_int_equal(cf_document_render(form, r, fonts, &o, &doc, NULL), CF_OK);
    assert_string_equal(doc.document_id, "7K3QJ2M9XW4TB");
    assert_true(doc.pages >= 1);
    assert_int_equal(count_pages(doc.pdf, doc.pdf_len), doc.pages);
    /* Info strings are written as UTF-16BE with a byte-order mark. */
    char keywords[128] = "/Keywords <FEFF";
    for (const char *p = "7K3QJ2M9XW4TB"; *p; p++)
        snprintf(keywords + strlen(keywords), sizeof keywords - strlen(keywords), "00%02X",
                 (unsigned)*p);
    assert_true(contains(doc.pdf, doc.pdf_len, keywords));
    assert_true(contains(doc.pdf, doc.pdf_len, "/CreationDate (D:20260101000000Z"));
    assert_null(doc.list);
    cf_document_cleanup(&doc);
    cf_record_free(r);
    cf_form_free(form);
}

/* A batch run: base characters from the blank form, one glyph cache. The cache changes nothing
 * in the bytes (second document from a warm cache = from no cache), and the PDF is sound. */
static void test_document_font_base_and_cache(void **state)
{
    (void)state;
    cf_form *form = load("tests/data/form/sample-leaflet.xml");
    const cf_fontset *fonts = fonts_hk();
    cf_codepoints *base[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    assert_int_equal(cf_document_font_base(form, fonts, CF_PAPER_A4, base, NULL), CF_OK);
    assert_true(cf_codepoints_size(base[CF_FONT_REGULAR]) > 10);
    /* Letters and digits vary from document to document: never in the base. */
    for (uint32_t cp = CF_CODEPOINTS_START; cf_codepoints_next(base[CF_FONT_REGULAR], &cp);)
        assert_false(cp < 0x80 && isalnum((int)cp));

    static const char *const names[] = {"陳大文", "李志堃", "李志堃"};
    cf_glyph_cache *cache = cf_glyph_cache_new();
    assert_non_null(cache);
    cf_document docs[3];
    for (int i = 0; i < 3; i++) {
        cf_record *r = cf_record_new(NULL, 0);
        cf_record_set(r, "patient_name", names[i]);
        cf_record_set(r, "hospital_no", "HN12345678(9)");
        cf_render_options ro = {.base = {base[0], base[1]}, .glyph_cache = i < 2 ? cache : NULL};
        cf_document_options o = {.paper = CF_PAPER_A4,
                                 .created = 1767225600,
                                 .sequence = 7,
                                 .document_id = "7K3QJ2M9XW4TB",
                                 .render = &ro};
        assert_int_equal(cf_document_render(form, r, fonts, &o, &docs[i], NULL), CF_OK);
        cf_record_free(r);
    }
    assert_int_equal(docs[1].pdf_len, docs[2].pdf_len);
    assert_memory_equal(docs[1].pdf, docs[2].pdf, docs[1].pdf_len);
    assert_int_equal(count_pages(docs[0].pdf, docs[0].pdf_len), docs[0].pages);

    if (have_tool("qpdf") && have_tool("pdftotext")) {
        const char *tmp = getenv("TMPDIR");
        char path[4096], cmd[8400];
        snprintf(path, sizeof path, "%s/cf-render-cache-%ld.pdf",
                 tmp != NULL && *tmp ? tmp : "/tmp", (long)getpid());
        for (int i = 0; i < 2; i++) {
            write_pdf(path, docs[i].pdf, docs[i].pdf_len);
            int status = 0;
            snprintf(cmd, sizeof cmd, "qpdf --check '%s' 2>&1 && pdftotext -enc UTF-8 '%s' - 2>&1",
                     path, path);
            char *out = run(cmd, &status);
            if (status != 0 || strstr(out, "No syntax or stream encoding errors") == NULL ||
                strstr(out, names[i]) == NULL || strstr(out, "HN12345678(9)") == NULL)
                fail_msg("document %d:\n%s", i, out);
            free(out);
        }
        assert_int_equal(remove(path), 0);
    }
    for (int i = 0; i < 3; i++)
        cf_document_cleanup(&docs[i]);
    cf_glyph_cache_free(cache);
    cf_codepoints_free(base[0]);
    cf_codepoints_free(base[1]);
    cf_form_free(form);
}

/* Every allocation of loading a form and rendering it fails in turn: each time a clean error,
 * no crash, no leak (the sanitizer and valgrind runs check the leaks). */
static void test_allocation_failure_sweep(void **state)
{
    (void)state;
    char path[4096];
    test_source_path(path, sizeof path, "tests/data/form/sample-leaflet.xml");
    const cf_fontset *fonts = fonts_hk(); /* loaded once per process, before the sweep */
    unsigned long n = 1;
    for (;; n++) {
        cf_alloc_fail_after(n);
        cf_form *form = NULL;
        cf_record *r = NULL;
        cf_document doc = {0};
        cf_status st = cf_form_load(path, NULL, &form, NULL);
        if (st == CF_OK) {
            r = cf_record_new(NULL, 0);
            st = r != NULL ? CF_OK : CF_ERR_NOMEM;
        }
        if (st == CF_OK)
            st = cf_record_set(r, "patient_name", "陳大文");
        if (st == CF_OK)
            st = cf_record_set(r, "hospital_no", "HN12345678(9)");
        if (st == CF_OK)
            st = cf_record_check(form, r, fonts, false, NULL);
        if (st == CF_OK) {
            cf_document_options o = {.paper = CF_PAPER_A4, .created = 1767225600};
            st = cf_document_render(form, r, fonts, &o, &doc, NULL);
        }
        unsigned long used = cf_alloc_count();
        cf_alloc_fail_after(0);
        cf_document_cleanup(&doc);
        cf_record_free(r);
        cf_form_free(form);
        if (st == CF_OK)
            break;
        assert_true(st == CF_ERR_NOMEM || st == CF_ERR_INTERNAL || st == CF_ERR_LIMIT);
        (void)used;
        assert_true(n < 200000);
    }
    print_message("every one of %lu allocations failed in turn: clean errors\n", n - 1);
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
        cmocka_unit_test(test_docid_format_and_check),
        cmocka_unit_test(test_render_structure_and_reproducible),
        cmocka_unit_test(test_render_combined_duplex),
        cmocka_unit_test(test_render_refuses_mixed_fonts),
        cmocka_unit_test(test_render_empty_text_in_unused_style),
        cmocka_unit_test(test_render_read_by_other_tools),
        cmocka_unit_test(test_pdf_join),
        cmocka_unit_test(test_preflight_names_missing_characters),
        cmocka_unit_test(test_document_render),
        cmocka_unit_test(test_document_font_base_and_cache),
        cmocka_unit_test(test_allocation_failure_sweep),
    };
    return cmocka_run_group_tests_name("render", tests, NULL, teardown_fonts);
}
