/* Tests of src/text/normalize.c: NFC (table-driven from tests/data/text/nfc.txt) and the
 * character classes; and of src/text/fold.c: name folding (tests/data/text/fold.txt). */
#include "base/alloc.h"
#include "base/buf.h"
#include "text/fold.h"
#include "text/normalize.h"
#include "text_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define LIMIT (1u << 20)

/* Every row of nfc.txt: the NFC of the input is the expected text; NFC of the expected text is
 * itself (idempotence). */
static void test_nfc_table(void **state)
{
    (void)state;
    size_t len = 0;
    char *data = text_test_read_data("tests/data/text/nfc.txt", &len);
    assert_non_null(data);
    size_t pos = 0, rows = 0, failures = 0;
    long line = 0;
    const char *fields[2];
    size_t lens[2];
    while (text_test_next_row(data, len, &pos, &line, fields, lens, 2)) {
        char input[1024], expected[1024];
        size_t in_len = text_test_unescape(fields[0], lens[0], input, sizeof input);
        size_t ex_len = text_test_unescape(fields[1], lens[1], expected, sizeof expected);
        if (in_len == (size_t)-1 || ex_len == (size_t)-1) {
            fprintf(stderr, "nfc.txt:%ld: malformed row\n", line);
            failures++;
            continue;
        }
        for (int pass = 0; pass < 2; pass++) {
            const char *src = pass == 0 ? input : expected;
            size_t src_len = pass == 0 ? in_len : ex_len;
            cf_buf out;
            cf_buf_init(&out, LIMIT);
            cf_status st = cf_text_nfc(src, src_len, &out);
            const char *got = out.data ? out.data : "";
            if (st != CF_OK || out.len != ex_len || memcmp(got, expected, ex_len) != 0) {
                fprintf(stderr, "nfc.txt:%ld: %s: status %d, got \"%s\", expected \"%s\"\n",
                        line, pass == 0 ? "input" : "expected (idempotence)", (int)st, got,
                        expected);
                failures++;
            }
            cf_buf_cleanup(&out);
        }
        rows++;
    }
    free(data);
    assert_true(rows >= 30);
    assert_int_equal(failures, 0);
}

/* Every row of fold.txt: the folded input is the expected text, and folding is idempotent. */
static void test_fold_table(void **state)
{
    (void)state;
    size_t len = 0;
    char *data = text_test_read_data("tests/data/text/fold.txt", &len);
    assert_non_null(data);
    size_t pos = 0, rows = 0, failures = 0;
    long line = 0;
    const char *fields[2];
    size_t lens[2];
    while (text_test_next_row(data, len, &pos, &line, fields, lens, 2)) {
        char input[1024], expected[1024];
        size_t in_len = text_test_unescape(fields[0], lens[0], input, sizeof input);
        size_t ex_len = text_test_unescape(fields[1], lens[1], expected, sizeof expected);
        if (in_len == (size_t)-1 || ex_len == (size_t)-1) {
            fprintf(stderr, "fold.txt:%ld: malformed row\n", line);
            failures++;
            continue;
        }
        for (int pass = 0; pass < 2; pass++) {
            const char *src = pass == 0 ? input : expected;
            size_t src_len = pass == 0 ? in_len : ex_len;
            cf_buf out;
            cf_buf_init(&out, LIMIT);
            cf_status st = cf_text_fold_name(src, src_len, &out);
            const char *got = out.data ? out.data : "";
            if (st != CF_OK || out.len != ex_len || memcmp(got, expected, ex_len) != 0) {
                fprintf(stderr, "fold.txt:%ld: %s: status %d, got \"%s\", expected \"%s\"\n", line,
                        pass == 0 ? "input" : "expected (idempotence)", (int)st, got, expected);
                failures++;
            }
            cf_buf_cleanup(&out);
        }
        rows++;
    }
    free(data);
    assert_true(rows >= 15);
    assert_int_equal(failures, 0);
}

/* Folding refuses bad UTF-8 and appends nothing then; cf_text_same_name never matches empty. */
static void test_fold_errors(void **state)
{
    (void)state;
    cf_buf out;
    cf_buf_init(&out, LIMIT);
    assert_int_equal(cf_buf_append_str(&out, "x"), CF_OK);
    assert_int_equal(cf_text_fold_name("a\xFF", 2, &out), CF_ERR_DATA);
    assert_int_equal(out.len, 1);
    assert_int_equal(cf_text_fold_name("A_B", 3, &out), CF_OK);
    assert_string_equal(out.data, "xab");
    cf_buf_cleanup(&out);
    /* A cap too small for the result: the buffer's error, nothing appended. */
    cf_buf_init(&out, 3);
    assert_int_equal(cf_text_fold_name("Ward Name", 9, &out), CF_ERR_LIMIT);
    assert_int_equal(out.len, 0);
    cf_buf_cleanup(&out);
    assert_true(cf_text_same_name("Hosp No", "hosp_no"));
    assert_true(cf_text_same_name("ＨＮ", "hn"));
    assert_false(cf_text_same_name("HN", "HN1"));
    assert_false(cf_text_same_name("_", "-"));
    assert_false(cf_text_same_name("a\xFF", "a\xFF"));
}

static void test_nfc_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xC3",             /* truncated */
        "abc\xFF",          /* never valid */
        "\xC0\xAF",         /* overlong '/' */
        "\xED\xA0\x80",     /* surrogate */
        "\xF4\x90\x80\x80", /* above U+10FFFF */
        "\xE7\xA5",         /* truncated ideograph */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cf_buf out;
        cf_buf_init(&out, LIMIT);
        assert_int_equal(cf_text_nfc(bad[i], strlen(bad[i]), &out), CF_ERR_DATA);
        assert_int_equal(out.len, 0);
        cf_buf_cleanup(&out);
    }
}

/* Output is appended, and the buffer's cap is honoured. */
static void test_nfc_append_and_limit(void **state)
{
    (void)state;
    cf_buf out;
    cf_buf_init(&out, 8);
    assert_int_equal(cf_text_nfc("ab", 2, &out), CF_OK);
    assert_int_equal(cf_text_nfc("e\xCC\x81", 3, &out), CF_OK); /* é: 2 bytes */
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "ab\xC3\xA9", 4);
    assert_int_equal(cf_text_nfc("神經根", strlen("神經根"), &out), CF_ERR_LIMIT);
    assert_int_equal(out.len, 4); /* nothing of the failed call stays */
    assert_memory_equal(out.data, "ab\xC3\xA9", 5);
    /* the error sticks */
    assert_int_equal(cf_text_nfc("x", 1, &out), CF_ERR_LIMIT);
    cf_buf_cleanup(&out);
}

/* A long run of combining marks in mixed classes is put in canonical order (the counting-sort
 * path) and stays linear. */
static void test_nfc_long_mark_run(void **state)
{
    (void)state;
    enum { MARKS = 20000 };
    char *in = malloc(1 + 2 * MARKS);
    assert_non_null(in);
    in[0] = 'a';
    /* alternate U+0301 (class 230) and U+0316 (class 220) */
    for (size_t i = 0; i < MARKS; i++) {
        in[1 + 2 * i] = '\xCC';
        in[2 + 2 * i] = (i % 2) ? '\x96' : '\x81';
    }
    cf_buf out;
    cf_buf_init(&out, LIMIT);
    assert_int_equal(cf_text_nfc(in, 1 + 2 * MARKS, &out), CF_OK);
    /* a + all U+0316 first (stable), then U+0301s; the first U+0301 composes with a: á */
    assert_memory_equal(out.data, "\xC3\xA1", 2);
    size_t pos = 2;
    for (size_t i = 0; i < MARKS / 2; i++, pos += 2)
        assert_memory_equal(out.data + pos, "\xCC\x96", 2);
    for (size_t i = 0; i + 1 < MARKS / 2; i++, pos += 2)
        assert_memory_equal(out.data + pos, "\xCC\x81", 2);
    assert_int_equal(pos, out.len);
    cf_buf_cleanup(&out);
    free(in);
}

/* Allocation failure inside normalisation is reported, not crashed on. */
static void test_nfc_allocation_failure(void **state)
{
    (void)state;
    const char *s = "cafe\xCC\x81 \xEF\xA4\x87"; /* café + U+F907 */
    for (unsigned long fail = 1; fail <= 6; fail++) {
        cf_buf out;
        cf_buf_init(&out, LIMIT);
        cf_alloc_fail_after(fail);
        cf_status st = cf_text_nfc(s, strlen(s), &out);
        cf_alloc_fail_after(0);
        assert_true(st == CF_OK || st == CF_ERR_NOMEM);
        if (st == CF_OK)
            assert_string_equal(out.data, "caf\xC3\xA9 \xE9\xBE\x9C");
        else
            assert_int_equal(out.len, 0);
        cf_buf_cleanup(&out);
    }
}

static void test_is_cjk(void **state)
{
    (void)state;
    static const uint32_t yes[] = {0x4E2D /* 中 */,   0x5803 /* 堃 */, 0x300C /* 「 */,
                                   0x3002 /* 。 */,   0xFF0C /* ， */, 0xFF10 /* ０ */,
                                   0x3105 /* ㄅ */,   0x3042 /* あ */, 0xF907,
                                   0x20779 /* 𠝹 */, 0x3400,         0xAC00};
    static const uint32_t no[] = {'A', '1', ' ', 0xE9, 0x2013 /* – */, 0x2014, 0x00B7,
                                  0x0301, 0x2610 /* ☐ */, 0xFF61 /* halfwidth ｡ */};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(cf_text_is_cjk(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(cf_text_is_cjk(no[i]));
}

static void test_is_control(void **state)
{
    (void)state;
    static const uint32_t yes[] = {0x00, '\t', '\n', '\r', 0x1B, 0x7F, 0x85, 0x9F, 0x2028, 0x2029};
    static const uint32_t no[] = {' ', 'A', 0xA0, 0x3000, 0x200B, 0x4E2D, 0xFEFF};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(cf_text_is_control(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(cf_text_is_control(no[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nfc_table),
        cmocka_unit_test(test_nfc_invalid_utf8),
        cmocka_unit_test(test_fold_table),
        cmocka_unit_test(test_fold_errors),
        cmocka_unit_test(test_nfc_append_and_limit),
        cmocka_unit_test(test_nfc_long_mark_run),
        cmocka_unit_test(test_nfc_allocation_failure),
        cmocka_unit_test(test_is_cjk),
        cmocka_unit_test(test_is_control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
