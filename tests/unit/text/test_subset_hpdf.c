/* libharu 2.3.0 loads our per-document subsets through its own loader: HPDF_LoadTTFontFromFile,
 * HPDF_GetFont with the UTF-8 encoder, text drawn and saved, every character's advance as we
 * measure it, and (when pdftotext is installed) the text extracted back unchanged. Also
 * measures HPDF_GetFont on the compact cmap against HarfBuzz's own cmap. src/render/ makes its
 * font objects itself now; this keeps the subsets usable by a TrueType reader other than
 * HarfBuzz. The only test besides src/render/'s that includes hpdf.h. */
#include "base/alloc.h"
#include "base/diag.h"
#include "text/font.h"
#include "text/font_testing.h"
#include "text_test_util.h"

#include <hpdf.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct hpdf_errors {
    int count;
    unsigned long last;
} hpdf_errors;

static void on_hpdf_error(HPDF_STATUS error, HPDF_STATUS detail, void *user)
{
    hpdf_errors *errors = user;
    errors->count++;
    errors->last = (unsigned long)error;
    fprintf(stderr, "libharu error 0x%04lX (detail %lu)\n", (unsigned long)error,
            (unsigned long)detail);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const cf_font *hk_regular(void)
{
    cf_diag *diag = cf_diag_new();
    const cf_fontset *set = NULL;
    cf_status st = cf_fontset_get("HK", &set, diag);
    if (st != CF_OK)
        cf_diag_print(diag, stderr);
    cf_diag_free(diag);
    assert_int_equal(st, CF_OK);
    return set->faces[CF_FONT_REGULAR];
}

/* Reads the leaflet's text without its comment lines and newlines. */
static char *leaflet_text(void)
{
    size_t len = 0;
    char *data = text_test_read_data("tests/data/text/leaflet-2page.txt", &len);
    assert_non_null(data);
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && data[end] != '\n')
            end++;
        if (data[i] != '#') {
            memmove(data + o, data + i, end - i);
            o += end - i;
        }
        i = end + 1;
    }
    data[o] = '\0';
    return data;
}

typedef struct pdf_result {
    double load_ms, get_font_ms;
} pdf_result;

/* Subsets font for text (compact or HarfBuzz cmap), makes a one-page PDF with text at 12 pt
 * through libharu, checks it, and returns libharu's font timings (best of rounds). */
static pdf_result make_pdf(const cf_font *font, const char *text, cf_subset_cmap cmap,
                           const char *pdf_path, int rounds)
{
    cf_codepoints *set = cf_codepoints_new();
    cf_codepoints_add_utf8(set, text, strlen(text));
    cf_diag *diag = cf_diag_new();
    unsigned char *data = NULL;
    size_t len = 0;
    cf_status st = cf_font_subset_with(font, set, cmap, &data, &len, diag);
    if (st != CF_OK)
        cf_diag_print(diag, stderr);
    assert_int_equal(st, CF_OK);
    char font_path[] = "/tmp/cf-test-hpdf-font-XXXXXX";
    int fd = mkstemp(font_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);

    pdf_result best = {1e9, 1e9};
    for (int round = 0; round < rounds; round++) {
        hpdf_errors errors = {0, 0};
        HPDF_Doc pdf = HPDF_New(on_hpdf_error, &errors);
        assert_non_null(pdf);
        assert_int_equal(HPDF_UseUTFEncodings(pdf), HPDF_OK);
        HPDF_SetCompressionMode(pdf, HPDF_COMP_ALL);
        double t0 = now_ms();
        const char *name = HPDF_LoadTTFontFromFile(pdf, font_path, HPDF_TRUE);
        double t1 = now_ms();
        assert_non_null(name);
        HPDF_Font hfont = HPDF_GetFont(pdf, name, "UTF-8");
        double t2 = now_ms();
        assert_non_null(hfont);
        if (t1 - t0 < best.load_ms)
            best.load_ms = t1 - t0;
        if (t2 - t1 < best.get_font_ms)
            best.get_font_ms = t2 - t1;

        if (round == 0) {
            /* libharu's width of each character is the advance we measure (ideographs, Latin,
             * punctuation: a character mapped to the wrong glyph shows here). */
            size_t i = 0, n = strlen(text);
            while (i < n) {
                uint32_t cp;
                size_t used = cf_utf8_decode(text + i, n - i, &cp);
                assert_true(used > 0);
                if (cf_font_has(font, cp)) {
                    char one[8];
                    memcpy(one, text + i, used);
                    one[used] = '\0';
                    HPDF_TextWidth tw = HPDF_Font_TextWidth(hfont, (const HPDF_BYTE *)one,
                                                            (HPDF_UINT)used);
                    double ours = cf_font_advance(font, cp, 1000.0);
                    if (fabs((double)tw.width - ours) > 1.0)
                        fail_msg("libharu width of U+%04X is %u, ours %.1f", (unsigned)cp,
                                 (unsigned)tw.width, ours);
                }
                i += used;
            }
            HPDF_Page page = HPDF_AddPage(pdf);
            HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
            HPDF_Page_BeginText(page);
            HPDF_Page_SetFontAndSize(page, hfont, 12);
            HPDF_Page_TextOut(page, 40, 800, text);
            HPDF_Page_EndText(page);
            assert_int_equal(HPDF_SaveToFile(pdf, pdf_path), HPDF_OK);
        }
        HPDF_Free(pdf);
        assert_int_equal(errors.count, 0);
    }
    unlink(font_path);
    cf_free(data);
    cf_diag_free(diag);
    cf_codepoints_free(set);
    return best;
}

/* pdftotext gives the text back (when poppler-utils is installed). */
static void assert_extracts(const char *pdf_path, const char *text)
{
    if (access("/usr/bin/pdftotext", X_OK) != 0) {
        printf("pdftotext not installed: extraction not checked\n");
        return;
    }
    char command[512];
    snprintf(command, sizeof command, "/usr/bin/pdftotext -q -enc UTF-8 '%s' - 2>/dev/null",
             pdf_path);
    FILE *p = popen(command, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    pclose(p);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\f' || out[n - 1] == ' '))
        out[--n] = '\0';
    assert_string_equal(out, text);
}

static void test_hpdf_label(void **state)
{
    (void)state;
    const cf_font *font = hk_regular();
    const char *text = "神經根管注射 陳大文 HN12345678(9) 肉毒桿菌素：約 2–4 週見效。☐☑";
    char pdf_path[64];
    snprintf(pdf_path, sizeof pdf_path, "/tmp/cf-test-subset-%d.pdf", (int)getpid());
    make_pdf(font, text, CF_SUBSET_CMAP_COMPACT, pdf_path, 1);
    assert_extracts(pdf_path, text);
    unlink(pdf_path);
}

/* The leaflet: both cmaps work; the compact one makes HPDF_GetFont several times faster. */
static void test_hpdf_leaflet_timing(void **state)
{
    (void)state;
    const cf_font *font = hk_regular();
    char *text = leaflet_text();
    char pdf_path[64];
    snprintf(pdf_path, sizeof pdf_path, "/tmp/cf-test-subset-%d.pdf", (int)getpid());
    pdf_result compact = make_pdf(font, text, CF_SUBSET_CMAP_COMPACT, pdf_path, 5);
    pdf_result plain = make_pdf(font, text, CF_SUBSET_CMAP_HARFBUZZ, pdf_path, 5);
    printf("libharu on the leaflet subset (best of 5): compact cmap load %.2f ms + GetFont %.2f ms; "
           "hb-subset cmap load %.2f ms + GetFont %.2f ms\n",
           compact.load_ms, compact.get_font_ms, plain.load_ms, plain.get_font_ms);
    unlink(pdf_path);
    free(text);
}

static int teardown(void **state)
{
    (void)state;
    cf_fontset_release_all();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hpdf_label),
        cmocka_unit_test(test_hpdf_leaflet_timing),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
