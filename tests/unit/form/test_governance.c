/* Unit tests of the form's status at issue time (src/form/governance.c): the cases of
 * tests/data/form/status.tsv on the shipped nerve-root leaflet with its status and dates set
 * per case, the override names and their parsing, and the CONSENTFORM_TODAY test hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/diag.h"
#include "base/status.h"
#include "form/form.h"
#include "test_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "-" is NULL. */
static const char *or_null(const char *s)
{
    return strcmp(s, "-") == 0 ? NULL : s;
}

static unsigned overrides_of(const char *s, const char *file, int line)
{
    unsigned v = 0;
    if (strcmp(s, "-") != 0 && !cf_form_override_parse(s, &v))
        fail_msg("%s:%d: \"%s\" is no override", file, line);
    return v;
}

static void test_status_cases(void **state)
{
    (void)state;
    char path[4096];
    cf_diag *diag = cf_diag_new();
    cf_form *form = NULL;
    char *form_path = cf_form_resolve("nerve-root-injection", NULL, diag);
    assert_non_null(form_path);
    assert_int_equal(cf_form_load(form_path, NULL, &form, diag), CF_OK);
    const char *tsv = test_source_path(path, sizeof path, "tests/data/form/status.tsv");
    FILE *f = fopen(tsv, "r");
    assert_non_null(f);
    char line[1024];
    int number = 0, cases = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        number++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *col[8];
        int n = 0;
        for (char *save = NULL, *tok = strtok_r(line, "\t", &save); tok != NULL && n < 8;
             tok = strtok_r(NULL, "\t", &save))
            col[n++] = tok;
        if (n != 8)
            fail_msg("%s:%d: 8 columns expected, %d found", tsv, number, n);
        if (strcmp(col[0], "draft") == 0)
            form->state = CF_FORM_STATE_DRAFT;
        else if (strcmp(col[0], "approved") == 0)
            form->state = CF_FORM_STATE_APPROVED;
        else
            form->state = CF_FORM_STATE_RETIRED;
        form->effective_date = or_null(col[1]);
        form->review_date = or_null(col[2]);
        cf_diag_clear(diag);
        unsigned used = 99;
        cf_status st =
            cf_form_check_issuable(form, col[3], overrides_of(col[4], tsv, number), &used, diag);
        bool want_ok = strcmp(col[5], "ok") == 0;
        if ((st == CF_OK) != want_ok || (!want_ok && st != CF_ERR_DATA))
            fail_msg("%s:%d: status %s, expected %s", tsv, number, cf_status_message(st), col[5]);
        if (used != overrides_of(col[6], tsv, number))
            fail_msg("%s:%d: overrides \"%s\", expected %s", tsv, number,
                     cf_form_override_name(used), col[6]);
        if (strcmp(col[7], "-") != 0 && !cf_diag_contains(diag, col[7]))
            fail_msg("%s:%d: no \"%s\" in the messages", tsv, number, col[7]);
        if (want_ok && cf_diag_size(diag) != 0)
            fail_msg("%s:%d: an allowed issue reported something", tsv, number);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 10);
    cf_form_free(form);
    cf_free(form_path);
    cf_diag_free(diag);
}

static void test_override_names(void **state)
{
    (void)state;
    assert_string_equal(cf_form_override_name(0), "");
    assert_string_equal(cf_form_override_name(CF_FORM_ALLOW_DRAFT), "draft");
    assert_string_equal(cf_form_override_name(CF_FORM_ALLOW_EXPIRED), "expired");
    assert_string_equal(cf_form_override_name(CF_FORM_ALLOW_DRAFT | CF_FORM_ALLOW_EXPIRED),
                        "draft,expired");
    unsigned v = 7;
    assert_true(cf_form_override_parse("", &v));
    assert_int_equal(v, 0);
    assert_true(cf_form_override_parse("draft,expired", &v));
    assert_int_equal(v, CF_FORM_ALLOW_DRAFT | CF_FORM_ALLOW_EXPIRED);
    assert_false(cf_form_override_parse("expired,draft", &v));
    assert_false(cf_form_override_parse(NULL, &v));
    assert_string_equal(cf_form_state_name(CF_FORM_STATE_RETIRED), "retired");
}

static void test_today_hook(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    char today[CF_FORM_DATE_SIZE];
    setenv("CONSENTFORM_TODAY", "2031-02-28", 1);
    assert_int_equal(cf_form_today(today, diag), CF_OK);
    assert_string_equal(today, "2031-02-28");
    setenv("CONSENTFORM_TODAY", "2031-02-29", 1); /* no such day */
    assert_int_equal(cf_form_today(today, diag), CF_ERR_USAGE);
    assert_true(cf_diag_contains(diag, "YYYY-MM-DD"));
    unsetenv("CONSENTFORM_TODAY");
    assert_int_equal(cf_form_today(today, diag), CF_OK);
    assert_int_equal(strlen(today), 10);
    assert_true(today[4] == '-' && today[7] == '-');
    cf_diag_free(diag);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_cases),
        cmocka_unit_test(test_override_names),
        cmocka_unit_test(test_today_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
