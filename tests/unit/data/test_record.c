/* Tests of the patient record (data/record.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "data/record.h"
#include "data/ward.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void test_set_get(void **state)
{
    (void)state;
    cf_record *r = cf_record_new("patients.csv", 7);
    assert_non_null(r);
    assert_string_equal(cf_record_source(r), "patients.csv");
    assert_int_equal(cf_record_row(r), 7);
    assert_int_equal(cf_record_size(r), 0);
    assert_null(cf_record_get(r, "patient_name"));

    assert_int_equal(cf_record_set(r, "patient_name", "陳大文"), CF_OK);
    assert_int_equal(cf_record_set(r, "Hospital_No", "HN12345678(9)"), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", ""), CF_OK);
    assert_int_equal(cf_record_size(r), 3);
    /* Keys match ignoring ASCII case only. */
    assert_string_equal(cf_record_get(r, "PATIENT_NAME"), "陳大文");
    assert_string_equal(cf_record_get(r, "hospital_no"), "HN12345678(9)");
    assert_string_equal(cf_record_get(r, "episode_no"), "");
    assert_null(cf_record_get(r, "patient_nam"));
    assert_null(cf_record_get(r, "patient_name_"));
    assert_null(cf_record_get(r, "ｐatient_name"));

    /* Insertion order; the first spelling of a key is kept when it is set again. */
    assert_int_equal(cf_record_set(r, "HOSPITAL_NO", "HN2"), CF_OK);
    assert_int_equal(cf_record_size(r), 3);
    assert_string_equal(cf_record_key(r, 0), "patient_name");
    assert_string_equal(cf_record_key(r, 1), "Hospital_No");
    assert_string_equal(cf_record_value(r, 1), "HN2");
    assert_string_equal(cf_record_key(r, 2), "episode_no");
    assert_null(cf_record_key(r, 3));
    assert_null(cf_record_value(r, 3));
    cf_record_free(r);
}

static void test_values_are_copied(void **state)
{
    (void)state;
    cf_record *r = cf_record_new(NULL, 0);
    assert_non_null(r);
    assert_null(cf_record_source(r));
    assert_int_equal(cf_record_row(r), 0);
    char key[16] = "side", value[16] = "left";
    assert_int_equal(cf_record_set(r, key, value), CF_OK);
    memcpy(key, "xxxx", 5);
    memset(value, 'y', sizeof value - 1);
    assert_string_equal(cf_record_get(r, "side"), "left");
    assert_int_equal(cf_record_set(r, NULL, "x"), CF_ERR_INTERNAL);
    assert_int_equal(cf_record_set(r, "x", NULL), CF_ERR_INTERNAL);
    cf_record_free(r);
}

static void test_many_keys(void **state)
{
    (void)state;
    cf_record *r = cf_record_new("x.csv", 2);
    char key[32], value[32];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "key_%d", i);
        snprintf(value, sizeof value, "value %d", i);
        assert_int_equal(cf_record_set(r, key, value), CF_OK);
    }
    assert_int_equal(cf_record_size(r), 300);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "KEY_%d", i);
        snprintf(value, sizeof value, "value %d", i);
        assert_string_equal(cf_record_get(r, key), value);
    }
    cf_record_free(r);
    cf_record_free(NULL);
    assert_null(cf_record_get(NULL, "x"));
    assert_int_equal(cf_record_size(NULL), 0);
}

/* Extra entries (CSV columns that feed no field) live beside the fields: cf_record_get never
 * returns them, a field and an extra may share a name, and each entry knows its column. */
static void test_extras(void **state)
{
    (void)state;
    cf_record *r = cf_record_new("ward.csv", 2);
    assert_non_null(r);
    assert_int_equal(cf_record_set_extra(r, "Ward", "3A"), CF_OK);
    assert_int_equal(cf_record_set_extra(r, "patient_name", "CHAN TAI MAN"), CF_OK);
    assert_null(cf_record_get(r, "ward"));
    assert_null(cf_record_get(r, "patient_name"));
    assert_int_equal(cf_record_set_from_column(r, "patient_name", "中文姓名", "陳大文"), CF_OK);
    assert_string_equal(cf_record_get(r, "patient_name"), "陳大文");
    assert_int_equal(cf_record_set(r, "hospital_no", "HN1"), CF_OK);
    assert_int_equal(cf_record_size(r), 4);
    assert_true(cf_record_is_extra(r, 0));
    assert_true(cf_record_is_extra(r, 1));
    assert_false(cf_record_is_extra(r, 2));
    assert_false(cf_record_is_extra(r, 3));
    assert_false(cf_record_is_extra(r, 4));
    assert_string_equal(cf_record_key(r, 0), "Ward");
    assert_string_equal(cf_record_column(r, 0), "Ward");
    assert_string_equal(cf_record_column(r, 2), "中文姓名");
    assert_null(cf_record_column(r, 3));
    assert_null(cf_record_column(r, 4));
    /* Setting an extra again replaces it, in place, and leaves the field alone. */
    assert_int_equal(cf_record_set_extra(r, "PATIENT_NAME", "CHAN T M"), CF_OK);
    assert_int_equal(cf_record_size(r), 4);
    assert_string_equal(cf_record_value(r, 1), "CHAN T M");
    assert_string_equal(cf_record_get(r, "patient_name"), "陳大文");
    assert_false(cf_record_is_extra(NULL, 0));
    assert_null(cf_record_column(NULL, 0));
    cf_record_free(r);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    bool done = false;
    for (unsigned long fail_at = 1; fail_at < 50 && !done; fail_at++) {
        cf_alloc_fail_after(fail_at);
        cf_record *r = cf_record_new("patients.csv", 3);
        cf_status st = r ? CF_OK : CF_ERR_NOMEM;
        for (int i = 0; i < 20 && st == CF_OK; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i % 12);
            st = i % 3 ? cf_record_set(r, key, "value")
                       : cf_record_set_from_column(r, key, "Column", "value");
        }
        if (st == CF_OK)
            st = cf_record_set_extra(r, "Ward", "3A");
        cf_alloc_fail_after(0);
        if (st == CF_OK) {
            assert_int_equal(cf_record_size(r), 13);
            done = true;
        } else {
            assert_int_equal(st, CF_ERR_NOMEM);
        }
        cf_record_free(r);
    }
    assert_true(done);
}

/* A ward (issue 15.5): trimmed of Unicode white space; at most 32 characters (not bytes); no
 * control or invisible characters; not UTF-8 refused. */
static void test_ward_clean(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out; /* out NULL: refused */
        const char *why;
    } cases[] = {
        {NULL, "", NULL},
        {"", "", NULL},
        {"  \t ", "", NULL},
        {"7A", "7A", NULL},
        {"  7A \r\n", "7A", NULL},
        {"\xe3\x80\x80病房 5B\xc2\xa0", "病房 5B", NULL}, /* ideographic space, NBSP */
        {"12345678901234567890123456789012", "12345678901234567890123456789012", NULL},
        {"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二",
         "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二", NULL},
        {"123456789012345678901234567890123", NULL, "is longer than 32 characters"},
        {"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三", NULL,
         "is longer than 32 characters"},
        {"7\tA", NULL, "holds a control character"},
        {"7\nA", NULL, "holds a control character"},
        {"7\x7f", NULL, "holds a control character"},
        {"7\xe2\x80\xae", NULL, "holds a control character"}, /* right-to-left override */
        {"7\xff", NULL, "is not UTF-8 text"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[CF_WARD_SIZE] = "x";
        const char *why = NULL;
        cf_status st = cf_ward_clean(cases[i].in, out, &why);
        if (cases[i].out != NULL) {
            if (st != CF_OK || strcmp(out, cases[i].out) != 0)
                fail_msg("case %zu: status %d, \"%s\"", i, (int)st, out);
        } else if (st != CF_ERR_DATA || why == NULL || strcmp(why, cases[i].why) != 0 ||
                   out[0] != '\0') {
            fail_msg("case %zu: status %d, why %s", i, (int)st, why ? why : "(none)");
        }
    }
}

/* A record carries its ward beside its fields; "" clears it. */
static void test_record_ward(void **state)
{
    (void)state;
    cf_record *r = cf_record_new("list.csv", 2);
    assert_non_null(r);
    assert_null(cf_record_ward(r));
    assert_int_equal(cf_record_set_ward(r, "5B"), CF_OK);
    assert_string_equal(cf_record_ward(r), "5B");
    assert_int_equal(cf_record_size(r), 0); /* not a field nor an extra */
    assert_int_equal(cf_record_set_ward(r, ""), CF_OK);
    assert_null(cf_record_ward(r));
    assert_int_equal(cf_record_set_ward(r, "7A"), CF_OK);
    cf_record_free(r);
    assert_null(cf_record_ward(NULL));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get),
        cmocka_unit_test(test_values_are_copied),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_extras),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_ward_clean),
        cmocka_unit_test(test_record_ward),
    };
    return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
