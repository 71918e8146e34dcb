/* Tests of the identity check of one list (data/identity.h): issue 11.5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "data/identity.h"
#include "data_test_util.h"

#include <stdio.h>
#include <string.h>

typedef struct findings {
    char text[4096];
    size_t len;
} findings;

static void collect(void *ctx, long row, long other_row, cf_identity_clash clash)
{
    findings *f = ctx;
    int w = snprintf(f->text + f->len, sizeof f->text - f->len, "%ld%s%ld;", row,
                     clash == CF_IDENTITY_NAME_DIFFERS ? "!=" : "==", other_row);
    if (w > 0)
        f->len += (size_t)w;
}

/* Adds rows of "name|hospital_no|episode_no" from row 2 on; returns what finish reports as
 * "ROW!=OTHER;" (another name) and "ROW==OTHER;" (repeated). */
static void run_case(const char *const *rows, size_t n, const char *expected)
{
    cf_identity_check *check = cf_identity_check_new();
    assert_non_null(check);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", rows[i]);
        char *hn = strchr(buf, '|');
        assert_non_null(hn);
        *hn++ = '\0';
        char *episode = strchr(hn, '|');
        assert_non_null(episode);
        *episode++ = '\0';
        cf_record *r = cf_record_new("list.csv", (long)i + 2);
        assert_int_equal(cf_record_set(r, "patient_name", buf), CF_OK);
        assert_int_equal(cf_record_set(r, "hospital_no", hn), CF_OK);
        assert_int_equal(cf_record_set(r, "episode_no", episode), CF_OK);
        assert_int_equal(cf_identity_check_add(check, &data_test_form, r), CF_OK);
        cf_record_free(r);
    }
    findings f = {.len = 0};
    f.text[0] = '\0';
    assert_int_equal(cf_identity_check_finish(check, collect, &f), CF_OK);
    assert_string_equal(f.text, expected);
    cf_identity_check_free(check);
}

/* Issue 11.5: one hospital number with two names is an error for both rows; the same patient
 * twice is an error for the second row; the same patient with another episode is fine. */
static void test_clashes(void **state)
{
    (void)state;
    static const char *const distinct[] = {"陳大文|HN1|E1", "李小明|HN2|E1", "陳大文|HN3|E1"};
    run_case(distinct, 3, "");
    static const char *const two_names[] = {"陳大文|HN1|E1", "李小明|HN2|E1", "陳小文|HN1|E2"};
    run_case(two_names, 3, "2!=4;4!=2;");
    static const char *const repeated[] = {"陳大文|HN1|E1", "李小明|HN2|E1", "陳大文|HN1|E1",
                                           "陳大文|HN1|E1"};
    run_case(repeated, 4, "4==2;5==2;");
    static const char *const episodes[] = {"陳大文|HN1|E1", "陳大文|HN1|E2"};
    run_case(episodes, 2, "");
    static const char *const three[] = {"B|HN1|E1", "A|HN1|E1", "A|HN1|E1", "C|HN1|E1"};
    run_case(three, 4, "2!=3;3!=2;4!=2;5!=2;");
    static const char *const no_hn[] = {"A||E1", "B||E1"};
    run_case(no_hn, 2, "");
}

static void count_clash(void *ctx, long row, long other_row, cf_identity_clash clash)
{
    (void)row;
    (void)other_row;
    (void)clash;
    (*(size_t *)ctx)++;
}

/* Many rows of one hospital number take linear time, not quadratic. */
static void test_many_rows_one_number(void **state)
{
    (void)state;
    cf_identity_check *check = cf_identity_check_new();
    for (long i = 0; i < 200000; i++) {
        cf_record *r = cf_record_new("list.csv", i + 2);
        assert_int_equal(cf_record_set(r, "patient_name", i % 2 ? "A" : "B"), CF_OK);
        assert_int_equal(cf_record_set(r, "hospital_no", "HN1"), CF_OK);
        assert_int_equal(cf_identity_check_add(check, &data_test_form, r), CF_OK);
        cf_record_free(r);
    }
    size_t count = 0;
    assert_int_equal(cf_identity_check_finish(check, count_clash, &count), CF_OK);
    assert_int_equal(count, 200000);
    cf_identity_check_free(check);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clashes),
        cmocka_unit_test(test_many_rows_one_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
