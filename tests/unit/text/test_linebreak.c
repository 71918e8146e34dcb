/* Tests of src/text/linebreak.c: the clreq cases of the tables in tests/data/linebreak/ (wrapped in the
 * bundled HK regular face at 12 pt), break opportunities, styles, hard breaks, pathological
 * input and failures. */
#include "base/alloc.h"
#include "base/diag.h"
#include "text/font.h"
#include "text/linebreak.h"
#include "text_test_util.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#define LANG "zh-Hant-HK"

static const cf_fontset *hk_fonts(void)
{
    cf_diag *diag = cf_diag_new();
    const cf_fontset *set = NULL;
    cf_status st = cf_fontset_get("HK", &set, diag);
    if (st != CF_OK)
        cf_diag_print(diag, stderr);
    cf_diag_free(diag);
    assert_int_equal(st, CF_OK);
    return set;
}

/* clreq's marks, written out independently of the implementation's tables. */
static const char *const closing_marks[] = {"、", "，", "；", "：", "。", "！", "？", "」", "』",
                                            "）", "》", "〉", "】", "〕", "”", "’", "·", "‧",
                                            "～", "／", ",", ".", ";", ":", "!", "?", ")", "]",
                                            "}"};
static const char *const opening_marks[] = {"「", "『", "（", "《", "〈", "【", "〔", "“", "‘",
                                            "(", "[", "{"};

static bool starts_with_any(const char *s, size_t len, const char *const *marks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t m = strlen(marks[i]);
        if (m <= len && memcmp(s, marks[i], m) == 0)
            return true;
    }
    return false;
}

static bool ends_with_any(const char *s, size_t len, const char *const *marks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t m = strlen(marks[i]);
        if (m <= len && memcmp(s + len - m, marks[i], m) == 0)
            return true;
    }
    return false;
}

static bool only_spaces(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* Checks what every wrap result must satisfy; returns the number of violations (printed with
 * where: file and line of the case). */
static int check_invariants(const char *where, const char *text, size_t len, double width,
                            const cf_wrap_line *lines, size_t n_lines)
{
    int bad = 0;
    size_t prev_end = 0;
    bool prev_forced = false;
    for (size_t i = 0; i < n_lines; i++) {
        const cf_wrap_line *l = &lines[i];
        const char *s = text + l->start;
        size_t n = l->end - l->start;
        if (l->start < prev_end || l->end < l->start || l->end > len ||
            !only_spaces(text + prev_end, l->start - prev_end)) {
            fprintf(stderr, "%s: line %zu [%zu, %zu) does not follow the previous one\n", where,
                    i + 1, l->start, l->end);
            bad++;
        }
        if (!l->forced && l->width > width + 1e-6 && cf_utf8_length(s, n) > 1) {
            fprintf(stderr, "%s: line %zu is %.2f pt wide in %.2f pt\n", where, i + 1, l->width,
                    width);
            bad++;
        }
        if (!prev_forced && starts_with_any(s, n, closing_marks, sizeof closing_marks /
                                                                     sizeof closing_marks[0])) {
            fprintf(stderr, "%s: line %zu starts with a closing mark\n", where, i + 1);
            bad++;
        }
        if (!l->forced && !l->last &&
            ends_with_any(s, n, opening_marks, sizeof opening_marks / sizeof opening_marks[0])) {
            fprintf(stderr, "%s: line %zu ends with an opening mark\n", where, i + 1);
            bad++;
        }
        prev_end = l->end;
        prev_forced = l->forced;
    }
    if (n_lines == 0 || !lines[n_lines - 1].last || !only_spaces(text + prev_end, len - prev_end)) {
        fprintf(stderr, "%s: the last line does not end the paragraph\n", where);
        bad++;
    }
    return bad;
}

/* Parses a width such as "96" or "37.5" the same way in every locale; -1 when malformed. */
static double parse_width(const char *s)
{
    double value = 0, scale = 0;
    size_t digits = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (scale > 0) {
                value += (*s - '0') * scale;
                scale /= 10;
            } else {
                value = value * 10 + (*s - '0');
            }
            digits++;
        } else if (*s == '.' && scale == 0) {
            scale = 0.1;
        } else {
            return -1;
        }
    }
    return digits > 0 ? value : -1;
}

/* Runs every case of one table file; returns the number of cases and adds failures. */
static size_t run_table(const char *rel, const cf_font *font, size_t *failures)
{
    size_t len = 0;
    char *data = text_test_read_data(rel, &len);
    assert_non_null(data);
    size_t pos = 0, cases = 0;
    long line = 0;
    const char *fields[3];
    size_t lens[3];
    size_t n_fields;
    cf_diag *diag = cf_diag_new();
    while ((n_fields = text_test_next_row(data, len, &pos, &line, fields, lens, 3)) > 0) {
        char where[600];
        snprintf(where, sizeof where, "%s:%ld", rel, line);
        char width_text[32];
        char input[2048];
        size_t in_len = n_fields == 3 ? text_test_unescape(fields[1], lens[1], input, sizeof input)
                                      : (size_t)-1;
        if (in_len == (size_t)-1 || lens[0] >= sizeof width_text) {
            fprintf(stderr, "%s: malformed case\n", where);
            (*failures)++;
            continue;
        }
        memcpy(width_text, fields[0], lens[0]);
        width_text[lens[0]] = '\0';
        double width = parse_width(width_text);
        if (width < 0) {
            fprintf(stderr, "%s: bad width \"%s\"\n", where, width_text);
            (*failures)++;
            continue;
        }
        cf_wrap_style style = {font, 12.0};
        cf_wrap_input in = {input, in_len, NULL, &style, 1, LANG};
        cf_wrap_line *lines = NULL;
        size_t n_lines = 0;
        cf_status st = cf_wrap(&in, width, &lines, &n_lines, diag);
        if (st != CF_OK) {
            fprintf(stderr, "%s: cf_wrap failed (%s)\n", where, cf_status_message(st));
            (*failures)++;
            continue;
        }
        char got[4096];
        size_t g = 0;
        for (size_t i = 0; i < n_lines && g + 8 < sizeof got; i++) {
            size_t n = lines[i].end - lines[i].start;
            if (i > 0) {
                memcpy(got + g, " | ", 3);
                g += 3;
            }
            if (g + n >= sizeof got)
                break;
            memcpy(got + g, input + lines[i].start, n);
            g += n;
        }
        got[g] = '\0';
        if (g != lens[2] || memcmp(got, fields[2], g) != 0) {
            fprintf(stderr, "%s: got      \"%s\"\n%*s  expected \"%.*s\"\n", where, got,
                    (int)strlen(where), "", (int)lens[2], fields[2]);
            (*failures)++;
        }
        if (check_invariants(where, input, in_len, width, lines, n_lines) > 0)
            (*failures)++;
        cf_free(lines);
        cases++;
    }
    cf_diag_free(diag);
    free(data);
    return cases;
}

/* Every .txt table in tests/data/linebreak/. */
static void test_linebreak_tables(void **state)
{
    (void)state;
    const cf_font *font = hk_fonts()->faces[CF_FONT_REGULAR];
    char dir_path[4096];
    test_source_path(dir_path, sizeof dir_path, "tests/data/linebreak");
    DIR *dir = opendir(dir_path);
    assert_non_null(dir);
    size_t cases = 0, failures = 0, files = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 5 || strcmp(entry->d_name + n - 4, ".txt") != 0)
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "tests/data/linebreak/%s", entry->d_name);
        cases += run_table(rel, font, &failures);
        files++;
    }
    closedir(dir);
    printf("%zu line-breaking cases in %zu files, %zu failed\n", cases, files, failures);
    assert_true(cases >= 40);
    assert_int_equal(failures, 0);
}

/* Only the last byte of a code point carries a break; the last byte is a hard break. */
static void test_breaks_per_byte(void **state)
{
    (void)state;
    const char *s = "陳大文 HN1";
    size_t len = strlen(s);
    char breaks[64];
    assert_int_equal(cf_line_breaks(s, len, LANG, breaks), CF_OK);
    for (size_t i = 0; i < len; i++) {
        bool last_of_cp = i + 1 == len || ((unsigned char)s[i + 1] & 0xC0) != 0x80;
        if (!last_of_cp)
            assert_int_equal(breaks[i], CF_BREAK_NO);
    }
    assert_int_equal(breaks[len - 1], CF_BREAK_MUST);
    assert_int_equal(breaks[2], CF_BREAK_ALLOWED);  /* 陳| */
    assert_int_equal(breaks[5], CF_BREAK_ALLOWED);  /* 大| */
    assert_int_equal(breaks[8], CF_BREAK_NO);       /* 文 before the space */
    assert_int_equal(breaks[9], CF_BREAK_ALLOWED);  /* after the space */
    assert_int_equal(breaks[10], CF_BREAK_NO);      /* H|N */
    assert_int_equal(breaks[11], CF_BREAK_NO);      /* N|1 */

    /* hard breaks inside the text */
    const char *lines = "一\n二\r\n三";
    len = strlen(lines);
    assert_int_equal(cf_line_breaks(lines, len, LANG, breaks), CF_OK);
    assert_int_equal(breaks[3], CF_BREAK_MUST);  /* after \n */
    assert_int_equal(breaks[7], CF_BREAK_NO);    /* between \r and \n */
    assert_int_equal(breaks[8], CF_BREAK_MUST);  /* after \r\n */

    assert_int_equal(cf_line_breaks("", 0, LANG, breaks), CF_OK);
    assert_int_equal(cf_line_breaks("a\xFF", 2, LANG, breaks), CF_ERR_DATA);
    assert_int_equal(cf_line_breaks("ab", 2, NULL, breaks), CF_OK);
    assert_int_equal(breaks[1], CF_BREAK_MUST);
}

/* A 50,000-character unbreakable word is broken by force, quickly, into full lines. */
static void test_long_unbreakable_word(void **state)
{
    (void)state;
    const cf_font *font = hk_fonts()->faces[CF_FONT_REGULAR];
    enum { N = 50000 };
    char *text = malloc(N + 1);
    assert_non_null(text);
    for (size_t i = 0; i < N; i++)
        text[i] = (char)('a' + i % 26);
    text[N] = '\0';
    cf_wrap_style style = {font, 12.0};
    cf_wrap_input in = {text, N, NULL, &style, 1, "en"};
    cf_wrap_line *lines = NULL;
    size_t n_lines = 0;
    clock_t t0 = clock();
    assert_int_equal(cf_wrap(&in, 100.0, &lines, &n_lines, NULL), CF_OK);
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("50,000-character word: %zu lines in %.1f ms\n", n_lines, seconds * 1e3);
    assert_true(n_lines > N / 20);
    size_t covered = 0;
    for (size_t i = 0; i < n_lines; i++) {
        assert_int_equal(lines[i].start, covered);
        covered = lines[i].end;
        assert_true(lines[i].width <= 100.0 + 1e-6);
        if (i + 1 < n_lines) {
            assert_true(lines[i].forced);
            /* full: the next letter would not have fitted */
            assert_true(lines[i].width + cf_font_advance(font, (uint32_t)text[covered], 12.0) >
                        100.0);
        }
    }
    assert_int_equal(covered, N);
    assert_true(lines[n_lines - 1].last);
    check_invariants("50k word", text, N, 100.0, lines, n_lines);
    cf_free(lines);

    /* the same length of ideographs (breakable everywhere) and of spaces */
    char *cjk = malloc(3 * N + 1);
    assert_non_null(cjk);
    for (size_t i = 0; i < N; i++)
        memcpy(cjk + 3 * i, "字", 3);
    cf_wrap_input in2 = {cjk, 3 * N, NULL, &style, 1, LANG};
    assert_int_equal(cf_wrap(&in2, 100.0, &lines, &n_lines, NULL), CF_OK);
    assert_int_equal(n_lines, (N + 7) / 8); /* 8 ideographs of 12 pt per 100 pt line */
    assert_false(lines[0].forced);
    cf_free(lines);
    memset(text, ' ', N);
    cf_wrap_input in3 = {text, N, NULL, &style, 1, LANG};
    assert_int_equal(cf_wrap(&in3, 100.0, &lines, &n_lines, NULL), CF_OK);
    assert_true(n_lines >= 1);
    cf_free(lines);
    free(cjk);
    free(text);
}

/* Each code point is measured in its own style: bold runs and a larger size. */
static void test_styles(void **state)
{
    (void)state;
    const cf_fontset *fonts = hk_fonts();
    const char *text = "病人須知 Patient Information";
    size_t len = strlen(text);
    cf_wrap_style styles[2] = {{fonts->faces[CF_FONT_REGULAR], 12.0},
                               {fonts->faces[CF_FONT_BOLD], 18.0}};
    unsigned char *style = calloc(len, 1);
    assert_non_null(style);
    memset(style, 1, strlen("病人須知")); /* the Chinese title in bold 18 pt */
    cf_wrap_input in = {text, len, style, styles, 2, LANG};
    cf_wrap_line *lines = NULL;
    size_t n_lines = 0;
    assert_int_equal(cf_wrap(&in, 1000.0, &lines, &n_lines, NULL), CF_OK);
    assert_int_equal(n_lines, 1);
    double expected = 4 * 18.0 + cf_font_text_width(fonts->faces[CF_FONT_REGULAR], text + 12,
                                                     len - 12, 12.0);
    assert_near(lines[0].width, expected, 1e-9);
    cf_free(lines);

    /* 72 pt: the bold title (4 x 18 pt) fills the first line exactly */
    assert_int_equal(cf_wrap(&in, 72.0, &lines, &n_lines, NULL), CF_OK);
    assert_true(n_lines >= 2);
    assert_int_equal(lines[0].end, 12);
    assert_near(lines[0].width, 72.0, 1e-9);
    cf_free(lines);
    free(style);
}

static void test_wrap_errors(void **state)
{
    (void)state;
    const cf_font *font = hk_fonts()->faces[CF_FONT_REGULAR];
    cf_diag *diag = cf_diag_new();
    cf_wrap_style style = {font, 12.0};
    cf_wrap_line *lines = (cf_wrap_line *)1;
    size_t n_lines = 99;

    cf_wrap_input empty = {"", 0, NULL, &style, 1, LANG};
    assert_int_equal(cf_wrap(&empty, 100.0, &lines, &n_lines, diag), CF_OK);
    assert_null(lines);
    assert_int_equal(n_lines, 0);

    cf_wrap_input bad_utf8 = {"ab\xC3", 3, NULL, &style, 1, LANG};
    assert_int_equal(cf_wrap(&bad_utf8, 100.0, &lines, &n_lines, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "UTF-8"));

    unsigned char styles[2] = {0, 3};
    cf_wrap_input bad_style = {"ab", 2, styles, &style, 1, LANG};
    assert_int_equal(cf_wrap(&bad_style, 100.0, &lines, &n_lines, diag), CF_ERR_INTERNAL);
    assert_true(cf_diag_contains(diag, "style 3"));

    cf_wrap_input ok = {"ab", 2, NULL, &style, 1, LANG};
    assert_int_equal(cf_wrap(&ok, 0.0, &lines, &n_lines, diag), CF_ERR_INTERNAL);
    assert_int_equal(cf_wrap(&ok, -5.0, &lines, &n_lines, diag), CF_ERR_INTERNAL);
    assert_int_equal(cf_wrap(&ok, NAN, &lines, &n_lines, diag), CF_ERR_INTERNAL);
    assert_null(lines);
    cf_diag_free(diag);
}

/* Every allocation failure is reported as CF_ERR_NOMEM with nothing leaked. */
static void test_wrap_allocation_failure(void **state)
{
    (void)state;
    const cf_font *font = hk_fonts()->faces[CF_FONT_REGULAR];
    const char *text = "注射局部麻醉藥和/或類固醇後，會於入針處貼上膠貼。注射過程需時數分鐘。";
    cf_wrap_style style = {font, 12.0};
    cf_wrap_input in = {text, strlen(text), NULL, &style, 1, LANG};
    bool done = false;
    for (unsigned long n = 1; n < 20 && !done; n++) {
        cf_wrap_line *lines = NULL;
        size_t n_lines = 0;
        cf_alloc_fail_after(n);
        cf_status st = cf_wrap(&in, 30.0, &lines, &n_lines, NULL);
        cf_alloc_fail_after(0);
        if (st == CF_OK) {
            done = true;
            assert_true(n_lines > 16);
            cf_free(lines);
        } else {
            assert_int_equal(st, CF_ERR_NOMEM);
            assert_null(lines);
        }
    }
    assert_true(done);
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
        cmocka_unit_test(test_linebreak_tables),
        cmocka_unit_test(test_breaks_per_byte),
        cmocka_unit_test(test_long_unbreakable_word),
        cmocka_unit_test(test_styles),
        cmocka_unit_test(test_wrap_errors),
        cmocka_unit_test(test_wrap_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
