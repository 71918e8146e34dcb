/* Tests of batch file names (data/file_name.h): placeholders for fields, for any column of the
 * list (extra columns included) by the same folding as column matching, and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/diag.h"
#include "data/file_name.h"

#include <string.h>

/* A row of a list with header Ward,Bed,HN,Patient Name,DOB,病房 as cf_csv_row_record builds it,
 * plus episode_no given without a column. */
static cf_record *ward_record(void)
{
    cf_record *r = cf_record_new("ward.csv", 5);
    assert_non_null(r);
    assert_int_equal(cf_record_set_extra(r, "Ward", "3A"), CF_OK);
    assert_int_equal(cf_record_set_extra(r, "Bed", "12"), CF_OK);
    assert_int_equal(cf_record_set_from_column(r, "hospital_no", "HN", "HN1"), CF_OK);
    assert_int_equal(cf_record_set_from_column(r, "patient_name", "Patient Name", "陳大文"), CF_OK);
    assert_int_equal(cf_record_set_extra(r, "DOB", ""), CF_OK);
    assert_int_equal(cf_record_set_extra(r, "病房", "東翼"), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", "E1"), CF_OK);
    return r;
}

static void test_expand(void **state)
{
    (void)state;
    static const struct {
        const char *name_template;
        const char *expected; /* file name, or the start of the error message */
    } cases[] = {
        {"{ward}-{bed}-{hn}.pdf", "3A-12-HN1.pdf"},
        {"{Ward}_{BED}.pdf", "3A_12.pdf"},
        {"{hospital_no}_{episode_no}_{form}.pdf", "HN1_E1_f.pdf"},
        {"{病房}-{row}.pdf", "東翼-5.pdf"},
        {"{Patient Name}.pdf", "陳大文.pdf"},
        {"{patient-name}_{HOSPITAL NO}.pdf", "陳大文_HN1.pdf"},
        {"{ｗａｒｄ}.pdf", "3A.pdf"},
        {"{dob}.pdf", "ERROR the file name needs a value for dob, and this row has none"},
        {"{room}.pdf",
         "ERROR the file name has {room}, which is neither a field of the form nor a column"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_record *r = ward_record();
        cf_diag *diag = cf_diag_new();
        cf_buf out;
        cf_buf_init(&out, 4096);
        assert_int_equal(cf_file_name_check_template(cases[i].name_template, diag), CF_OK);
        cf_status st = cf_file_name_expand(cases[i].name_template, r, "f", "1.0", &out, diag);
        const char *want = cases[i].expected;
        if (strncmp(want, "ERROR ", 6) == 0) {
            if (st != CF_ERR_DATA || cf_diag_size(diag) != 1 ||
                strncmp(cf_diag_get(diag, 0)->message, want + 6, strlen(want + 6)) != 0)
                fail_msg("%s: status %d, %s", cases[i].name_template, (int)st,
                         cf_diag_size(diag) ? cf_diag_get(diag, 0)->message : "no message");
            assert_int_equal(cf_diag_get(diag, 0)->line, 5);
        } else if (st != CF_OK || strcmp(out.data, want) != 0) {
            fail_msg("%s: status %d, got \"%s\", expected \"%s\"", cases[i].name_template, (int)st,
                     out.data ? out.data : "", want);
        }
        cf_buf_cleanup(&out);
        cf_diag_free(diag);
        cf_record_free(r);
    }
}

/* {row} padded to the width of the last row number, so that the files sort in list order. */
static void test_row_padding(void **state)
{
    (void)state;
    static const struct {
        long row, last_row;
        const char *expected;
    } cases[] = {
        {5, 0, "5-HN1.pdf"},       {5, 9, "5-HN1.pdf"},          {5, 10, "05-HN1.pdf"},
        {5, 1200, "0005-HN1.pdf"}, {1200, 1200, "1200-HN1.pdf"}, {5, -1, "5-HN1.pdf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_record *r = cf_record_new("ward.csv", cases[i].row);
        assert_int_equal(cf_record_set(r, "hospital_no", "HN1"), CF_OK);
        cf_diag *diag = cf_diag_new();
        cf_buf out;
        cf_buf_init(&out, 4096);
        assert_int_equal(
            cf_file_name_expand_rows("{row}-{hn}.pdf", r, "f", "1", cases[i].last_row, &out, diag),
            CF_ERR_DATA); /* {hn}: no column HN in this record */
        cf_buf_reset(&out);
        assert_int_equal(cf_file_name_expand_rows("{row}-{hospital_no}.pdf", r, "f", "1",
                                                  cases[i].last_row, &out, diag),
                         CF_OK);
        if (strcmp(out.data, cases[i].expected) != 0)
            fail_msg("row %ld of %ld: got %s, expected %s", cases[i].row, cases[i].last_row,
                     out.data, cases[i].expected);
        cf_buf_cleanup(&out);
        cf_diag_free(diag);
        cf_record_free(r);
    }
}

static void test_check_template(void **state)
{
    (void)state;
    static const struct {
        const char *name_template;
        cf_status status;
    } cases[] = {
        {"{ward}-{bed}-{hn}.pdf", CF_OK}, {"{病房}_{Patient Name}.pdf", CF_OK},
        {"{}.pdf", CF_ERR_USAGE},         {"{a{b}.pdf", CF_ERR_USAGE},
        {"{a\tb}.pdf", CF_ERR_USAGE},     {"{a\xFF}.pdf", CF_ERR_USAGE},
        {"{ward/bed}.pdf", CF_ERR_USAGE}, {"{ward}", CF_ERR_USAGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_status st = cf_file_name_check_template(cases[i].name_template, diag);
        if (st != cases[i].status)
            fail_msg("%s: status %d, expected %d", cases[i].name_template, (int)st,
                     (int)cases[i].status);
        assert_int_equal(cf_diag_error_count(diag), st == CF_OK ? 0 : 1);
        cf_diag_free(diag);
    }
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_row_padding),
        cmocka_unit_test(test_check_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
