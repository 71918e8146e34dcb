/* Tests of src/text/font.c on the bundled fonts (found through CONSENTFORM_FONTS): loading and
 * its errors, coverage, advances, metrics, code point sets and the font-set cache. */
#include "base/alloc.h"
#include "base/diag.h"
#include "text/font.h"
#include "text_test_util.h"

#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

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

/* The path of the bundled HK regular face (for a font of the test's own, loaded afresh). */
static void hk_regular_path(char *path, size_t size)
{
    const char *dir = getenv("CONSENTFORM_FONTS");
    assert_non_null(dir);
    snprintf(path, size, "%s/cfsans-hk-regular.ttf", dir);
}

/* Writes len bytes to a new temporary file; returns its path in path. */
static void write_temp(char *path, size_t size, const void *data, size_t len)
{
    snprintf(path, size, "/tmp/cf-test-font-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void test_fontset_regions(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    const cf_fontset *hk = NULL, *hk2 = NULL, *tw = NULL;
    assert_int_equal(cf_fontset_get("HK", &hk, diag), CF_OK);
    assert_int_equal(cf_fontset_get("HK", &hk2, diag), CF_OK);
    assert_int_equal(cf_fontset_get("TW", &tw, diag), CF_OK);
    assert_ptr_equal(hk, hk2); /* cached */
    assert_string_equal(hk->region, "HK");
    assert_string_equal(tw->region, "TW");
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        assert_non_null(hk->faces[s]);
        assert_non_null(tw->faces[s]);
        assert_true(strlen(cf_font_family(hk->faces[s])) > 0);
    }
    assert_ptr_not_equal(hk->faces[CF_FONT_REGULAR], hk->faces[CF_FONT_BOLD]);
    assert_ptr_not_equal(hk->faces[CF_FONT_REGULAR], tw->faces[CF_FONT_REGULAR]);

    const cf_fontset *none = NULL;
    assert_int_equal(cf_fontset_get("XX", &none, diag), CF_ERR_DATA);
    assert_null(none);
    assert_true(cf_diag_contains(diag, "\"XX\""));
    assert_int_equal(cf_fontset_get(NULL, &none, diag), CF_ERR_DATA);
    cf_diag_free(diag);
}

/* $CONSENTFORM_FONTS is looked at first: a broken font there is reported by its path, not
 * silently replaced by the one in the source tree. */
static void test_fontset_env_first(void **state)
{
    (void)state;
    char dir[] = "/tmp/cf-test-fonts-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/cfsans-hk-regular.ttf", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("this is not a font, it is a test of the font lookup order", f);
    fclose(f);

    const char *saved = getenv("CONSENTFORM_FONTS");
    char *saved_copy = saved ? strdup(saved) : NULL;
    cf_fontset_release_all();
    setenv("CONSENTFORM_FONTS", dir, 1);
    cf_diag *diag = cf_diag_new();
    const cf_fontset *set = NULL;
    assert_int_equal(cf_fontset_get("HK", &set, diag), CF_ERR_DATA);
    assert_null(set);
    assert_true(cf_diag_contains(diag, path));
    assert_true(cf_diag_contains(diag, "not a TrueType font"));

    /* A failed load is not cached: with the variable restored, it loads. */
    if (saved_copy)
        setenv("CONSENTFORM_FONTS", saved_copy, 1);
    else
        unsetenv("CONSENTFORM_FONTS");
    cf_diag_clear(diag);
    assert_int_equal(cf_fontset_get("HK", &set, diag), CF_OK);
    assert_non_null(set);
    cf_diag_free(diag);
    free(saved_copy);
    unlink(path);
    rmdir(dir);
}

static void test_load_errors(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_font *font = (cf_font *)1;

    assert_int_equal(cf_font_load("/nonexistent/cf-font.ttf", &font, diag), CF_ERR_NOINPUT);
    assert_null(font);
    assert_true(cf_diag_contains(diag, "/nonexistent/cf-font.ttf"));

    char path[64];
    write_temp(path, sizeof path, "OTTO\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    assert_int_equal(cf_font_load(path, &font, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "PostScript (CFF)"));
    unlink(path);

    write_temp(path, sizeof path, "ttcf\0\1\0\0\0\0\0\0\0\0\0\0", 16);
    assert_int_equal(cf_font_load(path, &font, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "font collection"));
    unlink(path);

    write_temp(path, sizeof path, "", 0);
    assert_int_equal(cf_font_load(path, &font, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "not a font file"));
    unlink(path);

    /* A TrueType header with no tables at all. */
    write_temp(path, sizeof path, "\0\1\0\0\0\0\0\0\0\0\0\0", 12);
    assert_int_equal(cf_font_load(path, &font, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "table"));
    unlink(path);

    assert_int_equal(cf_font_load("/tmp", &font, diag), CF_ERR_NOINPUT);
    assert_null(font);
    cf_font_free(NULL);
    cf_diag_free(diag);
}

static void test_coverage(void **state)
{
    (void)state;
    const cf_font *font = hk_regular();
    /* Hong Kong names and place characters, and the ballot boxes of the check boxes. */
    static const char *const covered[] = {"堃", "喆", "燊", "淼", "峯", "邨", "☐", "☑",
                                          "陳", "大", "文", "，", "「", "」", "–", "—"};
    for (size_t i = 0; i < sizeof covered / sizeof covered[0]; i++) {
        uint32_t cp = 0;
        assert_true(cf_utf8_decode(covered[i], strlen(covered[i]), &cp) > 0);
        if (!cf_font_has(font, cp))
            fail_msg("font lacks %s (U+%04X)", covered[i], (unsigned)cp);
        assert_int_equal(cf_font_first_missing(font, covered[i], strlen(covered[i])), 0);
    }
    for (uint32_t cp = 0x20; cp < 0x7F; cp++)
        assert_true(cf_font_has(font, cp));
    /* Beyond the BMP: the HKSCS characters (Extension B, a compatibility ideograph), asked
     * twice (they are not cached as BMP characters are); not the rest of the plane. */
    static const uint32_t hkscs_beyond_bmp[] = {0x20779, 0x20021, 0x2A6A9, 0x2F825};
    for (int twice = 0; twice < 2; twice++)
        for (size_t i = 0; i < sizeof hkscs_beyond_bmp / sizeof hkscs_beyond_bmp[0]; i++)
            if (!cf_font_has(font, hkscs_beyond_bmp[i]))
                fail_msg("font lacks U+%05X", (unsigned)hkscs_beyond_bmp[i]);
    assert_false(cf_font_has(font, 0x20000)); /* in Noto, but not a Big5-HKSCS character */
    assert_false(cf_font_has(font, 0x1F600)); /* an emoji */
    assert_false(cf_font_has(font, 0x10FFFF));
    assert_false(cf_font_has(font, 0x110000));
    assert_false(cf_font_has(font, 0xFFFFFFFF));
    assert_false(cf_font_has(font, 0xFFFF));
    assert_false(cf_font_has(font, 0));

    const char *name = "李𠝹明";
    assert_int_equal(cf_font_first_missing(font, name, strlen(name)), 0);
    const char *emoji = "陳大文\U0001F600";
    assert_int_equal(cf_font_first_missing(font, emoji, strlen(emoji)), 0x1F600);
    assert_int_equal(cf_font_first_missing(font, "陳大文", strlen("陳大文")), 0);
    assert_int_equal(cf_font_first_missing(font, "", 0), 0);
    /* invalid UTF-8 reports nothing (callers check validity first) */
    assert_int_equal(cf_font_first_missing(font, "\xFF", 1), 0);
}

static void test_advances(void **state)
{
    (void)state;
    const cf_fontset *set = NULL;
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_fontset_get("HK", &set, diag), CF_OK);
    cf_diag_free(diag);
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        const cf_font *font = set->faces[s];
        /* an ideograph is one em */
        assert_near(cf_font_advance(font, 0x4E2D, 12.0), 12.0, 1e-9);
        assert_near(cf_font_advance(font, 0x9673, 10.5), 10.5, 1e-9);
        assert_near(cf_font_advance(font, 0x3002, 12.0), 12.0, 1e-9); /* 。 */
        /* tabular digits */
        double zero = cf_font_advance(font, '0', 12.0);
        assert_true(zero > 3.0 && zero < 9.0);
        for (uint32_t d = '1'; d <= '9'; d++)
            assert_near(cf_font_advance(font, d, 12.0), zero, 1e-9);
        /* proportional Latin: i narrower than M */
        assert_true(cf_font_advance(font, 'i', 12.0) < cf_font_advance(font, 'M', 12.0));
        /* beyond the BMP: an ideograph too; missing: 0 */
        assert_near(cf_font_advance(font, 0x20779, 12.0), 12.0, 1e-9);
        assert_near(cf_font_advance(font, 0x1F600, 12.0), 0.0, 0.0);
        /* widths are sums of advances, and scale with the size */
        const char *text = "HN12345678(9) 陳大文";
        double sum = 0;
        size_t i = 0;
        while (i < strlen(text)) {
            uint32_t cp;
            i += cf_utf8_decode(text + i, strlen(text) - i, &cp);
            sum += cf_font_advance(font, cp, 12.0);
        }
        assert_near(cf_font_text_width(font, text, strlen(text), 12.0), sum, 1e-9);
        assert_near(cf_font_text_width(font, text, strlen(text), 24.0), 2 * sum, 1e-9);
        assert_near(cf_font_text_width(font, "", 0, 12.0), 0.0, 0.0);
        /* metrics */
        double ascent = cf_font_ascent(font, 12.0), descent = cf_font_descent(font, 12.0);
        assert_true(ascent > 6.0 && ascent < 18.0);
        assert_true(descent < 0.0 && descent > -8.0);
        assert_near(cf_font_ascent(font, 24.0), 2 * ascent, 1e-9);
    }
    /* regular and bold differ in Latin widths or at least are separate faces */
    assert_ptr_not_equal(set->faces[CF_FONT_REGULAR], set->faces[CF_FONT_BOLD]);
}

/* What the PDF font descriptor gets: the bundled faces' names and metrics, in 1/1000 em. */
static void test_describe(void **state)
{
    (void)state;
    const cf_fontset *set = NULL;
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_fontset_get("HK", &set, diag), CF_OK);
    cf_diag_free(diag);
    static const char *const names[CF_FONT_STYLE_COUNT] = {"CFSansHK-Regular", "CFSansHK-Bold"};
    static const unsigned weights[CF_FONT_STYLE_COUNT] = {400, 700};
    long stems[CF_FONT_STYLE_COUNT];
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++) {
        cf_font_description d;
        cf_font_describe(set->faces[s], &d);
        assert_string_equal(d.postscript_name, names[s]);
        /* The box holds an ideograph (one em wide, from the descent to above the ascent). */
        assert_true(d.bbox[0] <= 0 && d.bbox[2] >= 1000);
        assert_true(d.bbox[1] < 0 && d.bbox[3] > 800);
        assert_int_equal(d.ascent, lround(cf_font_ascent(set->faces[s], 1000.0)));
        assert_int_equal(d.descent, lround(cf_font_descent(set->faces[s], 1000.0)));
        assert_true(d.cap_height > 500 && d.cap_height < 900);
        assert_true(d.x_height == 0 || (d.x_height > 300 && d.x_height < d.cap_height));
        assert_int_equal(d.weight, weights[s]);
        assert_near(d.italic_angle, 0.0, 0.0);
        stems[s] = d.stem_v;
        assert_true(stems[s] > 10 && stems[s] < 230);
    }
    assert_true(stems[CF_FONT_REGULAR] < stems[CF_FONT_BOLD]);
}

/* Coverage and advances are looked up on first use, from several threads at once: every
 * thread sees what one thread alone sees. */
typedef struct lookup_job {
    const cf_font *font;
    uint32_t first;
    unsigned char has[0x10000];
    double advance[0x10000];
} lookup_job;

static void *lookup_thread(void *arg)
{
    lookup_job *job = arg;
    for (uint32_t i = 0; i < 0x10000; i++) {
        uint32_t cp = (job->first + i) & 0xFFFF; /* each thread starts elsewhere */
        job->has[cp] = cf_font_has(job->font, cp);
        job->advance[cp] = cf_font_advance(job->font, cp, 1000.0);
    }
    return NULL;
}

static void test_lookups_on_first_use(void **state)
{
    (void)state;
    char path[4096];
    hk_regular_path(path, sizeof path);
    cf_diag *diag = cf_diag_new();
    cf_font *fresh = NULL; /* nothing looked up yet */
    assert_int_equal(cf_font_load(path, &fresh, diag), CF_OK);
    cf_diag_free(diag);
    enum { THREADS = 3 };
    lookup_job *jobs = calloc(THREADS, sizeof *jobs);
    assert_non_null(jobs);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t].font = fresh;
        jobs[t].first = (uint32_t)t * 0x5555u;
        assert_int_equal(pthread_create(&threads[t], NULL, lookup_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    /* Against the font set's face (the same file, filled by other tests) and each other. */
    const cf_font *other = hk_regular();
    size_t mapped = 0;
    for (uint32_t cp = 0; cp < 0x10000; cp++) {
        for (int t = 1; t < THREADS; t++) {
            assert_int_equal(jobs[t].has[cp], jobs[0].has[cp]);
            assert_true(jobs[t].advance[cp] == jobs[0].advance[cp]);
        }
        assert_int_equal(jobs[0].has[cp], cf_font_has(other, cp));
        assert_true(jobs[0].advance[cp] == cf_font_advance(other, cp, 1000.0));
        mapped += jobs[0].has[cp];
    }
    /* Big5 + HKSCS + Latin and punctuation; U+FFFF never. */
    assert_true(mapped > 18000);
    assert_false(cf_font_has(fresh, 0xFFFF));
    assert_true(cf_font_has(fresh, 0x9673) && !cf_font_has(fresh, 0x0E01));
    free(jobs);
    cf_font_free(fresh);
}

static void test_codepoints(void **state)
{
    (void)state;
    cf_codepoints *set = cf_codepoints_new();
    assert_non_null(set);
    assert_int_equal(cf_codepoints_size(set), 0);
    cf_codepoints_add_utf8(set, "陳大文陳", strlen("陳大文陳"));
    assert_int_equal(cf_codepoints_size(set), 3);
    cf_codepoints_add_utf8(set,
                           "a\xFF"
                           "b",
                           3); /* the invalid byte is skipped */
    assert_int_equal(cf_codepoints_size(set), 5);
    cf_codepoints_add(set, 'a');
    cf_codepoints_add(set, 0x20779);
    assert_int_equal(cf_codepoints_size(set), 6);
    cf_codepoints_free(set);
    cf_codepoints_free(NULL);
}

/* Loading a font fails cleanly (no leak, no crash) whichever allocation fails. */
static void test_load_allocation_failure(void **state)
{
    (void)state;
    char path[4096];
    hk_regular_path(path, sizeof path);
    cf_diag *diag = cf_diag_new();
    bool loaded = false;
    for (unsigned long n = 1; n < 20 && !loaded; n++) {
        cf_font *font = NULL;
        cf_alloc_fail_after(n);
        cf_status st = cf_font_load(path, &font, NULL);
        cf_alloc_fail_after(0);
        if (st == CF_OK) {
            loaded = true;
            assert_non_null(font);
            cf_font_free(font);
        } else {
            assert_int_equal(st, CF_ERR_NOMEM);
            assert_null(font);
        }
    }
    assert_true(loaded);
    cf_diag_free(diag);
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
        cmocka_unit_test(test_fontset_regions),
        cmocka_unit_test(test_fontset_env_first),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_advances),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_lookups_on_first_use),
        cmocka_unit_test(test_codepoints),
        cmocka_unit_test(test_load_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
