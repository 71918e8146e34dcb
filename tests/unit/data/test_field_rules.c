/* Tests of the field rules (data/field_rules.h) on a form built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/diag.h"
#include "base/utf8.h"
#include "data/field_rules.h"
#include "data_test_util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A record of the test form from "patients.csv" row 7 with good values; caller frees. */
static cf_record *good_record(void)
{
    cf_record *r = cf_record_new("patients.csv", 7);
    assert_non_null(r);
    assert_int_equal(cf_record_set(r, "patient_name", "陳大文"), CF_OK);
    assert_int_equal(cf_record_set(r, "hospital_no", "HN12345678(9)"), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", "HE1234567"), CF_OK);
    return r;
}

/* Checks record with no fonts; returns the status and leaves the messages in diag. */
static cf_status check(cf_record *record, bool blank, cf_diag *diag)
{
    return cf_record_check(&data_test_form, record, NULL, blank, diag);
}

/* Fails (at the caller's line) unless diag holds a message containing needle. */
#define assert_message(diag, needle)                                                               \
    do {                                                                                           \
        if (!cf_diag_contains((diag), (needle))) {                                                 \
            cf_diag_print((diag), stderr);                                                         \
            fail_msg("no message containing: %s", (needle));                                       \
        }                                                                                          \
    } while (0)

static void test_good_record(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_record *r = good_record();
    assert_int_equal(cf_record_set(r, "side", " Left "), CF_OK);
    assert_int_equal(cf_record_set(r, "procedure_date", "2024-02-29"), CF_OK);
    assert_int_equal(cf_record_set(r, "procedures", "PRP , botox,other"), CF_OK);
    assert_int_equal(cf_record_set(r, "doctor_name", "Dr. WONG Ka Ming 黃家明"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_OK);
    assert_int_equal(cf_diag_size(diag), 0);
    /* Choice values as the form spells the keys; multi-choice joined by ';'. */
    assert_string_equal(cf_record_get(r, "side"), "left");
    assert_string_equal(cf_record_get(r, "procedures"), "prp;botox;other");
    assert_string_equal(cf_record_get(r, "procedure_date"), "2024-02-29");
    assert_string_equal(cf_record_get(r, "doctor_name"), "Dr. WONG Ka Ming 黃家明");
    /* Checking again changes nothing. */
    assert_int_equal(check(r, false, diag), CF_OK);
    assert_string_equal(cf_record_get(r, "procedures"), "prp;botox;other");
    cf_record_free(r);
    cf_diag_free(diag);
}

static void test_nfc_and_trim(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_record *r = good_record();
    /* U+F900 (a CJK compatibility ideograph, what Big5-HKSCS decodes some characters to)
     * stays as given, although NFC would make it U+8C48; e + U+0301 is é. Spaces and U+3000
     * around a value go; inside it they stay. */
    assert_int_equal(cf_record_set(r, "patient_name", "\u3000 黃\u3000麗珍  \u3000"), CF_OK);
    assert_int_equal(cf_record_set(r, "doctor_name", " \uF900 Rene\u0301 "), CF_OK);
    assert_int_equal(cf_record_set(r, "hospital_no", "HN1 "), CF_OK);
    assert_int_equal(check(r, false, diag), CF_OK);
    assert_string_equal(cf_record_get(r, "patient_name"), "黃\u3000麗珍");
    assert_string_equal(cf_record_get(r, "doctor_name"), "\uF900 Ren\u00E9");
    assert_string_equal(cf_record_get(r, "hospital_no"), "HN1");
    cf_record_free(r);
    cf_diag_free(diag);
}

static void test_line_breaks_and_controls(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *message;
    } cases[] = {
        {"hospital_no", "HN1\nHN2",
         "patients.csv:7: column hospital_no: value contains a line break; label fields must be "
         "a single line"},
        {"hospital_no", "HN1\r\n",
         "patients.csv:7: column hospital_no: value contains a line break; label fields must be "
         "a single line"},
        {"patient_name", "陳\u2028大文", "column patient_name: value contains a line break"},
        {"patient_name", "陳\xC2\x85大文", "column patient_name: value contains a line break"},
        {"doctor_name", "Dr\nWong",
         "column doctor_name: value contains a line break; values must be a single line"},
        {"episode_no", "HE1\t",
         "column episode_no: value contains the control character U+0009 (a tab), which cannot "
         "be printed"},
        {"patient_name", "\x07陳",
         "column patient_name: value contains the control character "
         "U+0007"},
        {"patient_name", "陳\xC2\x9F",
         "column patient_name: value contains the control character "
         "U+009F"},
        {"side", "left\n", "column side: value contains a line break"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, cases[i].key, cases[i].value), CF_OK);
        assert_int_equal(check(r, false, diag), CF_ERR_DATA);
        assert_message(diag, cases[i].message);
        assert_int_equal(cf_diag_error_count(diag), 1);
        cf_record_free(r);
        cf_diag_free(diag);
    }
}

static void test_beyond_bmp_and_bad_utf8(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    /* Characters beyond U+FFFF are not refused as such (the fonts decide: test_project_fonts). */
    cf_record *r = good_record();
    assert_int_equal(cf_record_set(r, "patient_name", "李\U00020779\U00020779明\U0002000B"), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", "HE\U00020779"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_OK);
    assert_int_equal(cf_diag_size(diag), 0);
    assert_string_equal(cf_record_get(r, "patient_name"), "李\U00020779\U00020779明\U0002000B");
    cf_record_free(r);
    cf_diag_clear(diag);

    /* From the command line (no source): "command line" and "field". */
    r = cf_record_new(NULL, 0);
    assert_int_equal(cf_record_set(r, "patient_name", "\xB3\xAF\xA4\x6A"), CF_OK);
    assert_int_equal(cf_record_set(r, "hospital_no", "HN1"), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", "HE\xE9\x99"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_ERR_DATA);
    assert_message(diag, "consentform: command line: field patient_name: value is not valid UTF-8 "
                         "(byte 0xB3 at byte 1)");
    assert_message(diag, "command line: field episode_no: value is not valid UTF-8 (byte 0xE9 at "
                         "byte 3)");
    assert_int_equal(cf_diag_error_count(diag), 2);
    cf_record_free(r);
    cf_diag_free(diag);
}

static void test_required(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_record *r = cf_record_new("patients.csv", 9);
    assert_int_equal(cf_record_set(r, "patient_name", " \u3000 "), CF_OK);
    assert_int_equal(cf_record_set(r, "hospital_no", ""), CF_OK);
    /* episode_no not set at all; side (not required) empty. */
    assert_int_equal(cf_record_set(r, "side", ""), CF_OK);
    assert_int_equal(check(r, false, diag), CF_ERR_DATA);
    assert_message(diag, "patients.csv:9: column patient_name: a value is required (Patient Name)");
    assert_message(diag, "patients.csv:9: column hospital_no: a value is required (Hospital No)");
    assert_message(diag, "patients.csv:9: column episode_no: a value is required (Episode No)");
    assert_int_equal(cf_diag_error_count(diag), 3);
    assert_string_equal(cf_record_get(r, "patient_name"), "");
    assert_string_equal(cf_record_get(r, "side"), "");
    cf_diag_clear(diag);
    /* A blank form needs no values. */
    assert_int_equal(check(r, true, diag), CF_OK);
    assert_int_equal(cf_diag_size(diag), 0);
    cf_record_free(r);
    cf_diag_free(diag);
}

static void test_choices(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *stored, *message;
    } cases[] = {
        {"side", "RIGHT", "right", NULL},
        {"side", "", "", NULL},
        {"side", "middle", NULL,
         "column side: \"middle\" is not one of the choices: left, right, both"},
        {"side", "left;right", NULL,
         "column side: \"left;right\" names more than one choice, but only one may be chosen: "
         "left, right, both"},
        {"side", "左側", NULL,
         "column side: \"左側\" is not one of the choices: left, right, both"},
        {"procedures", "dextrose", "dextrose", NULL},
        {"procedures", " botox ; PRP ", "botox;prp", NULL},
        {"procedures", "prp,dextrose,botox,other", "prp;dextrose;botox;other", NULL},
        {"procedures", "prp;;botox", NULL,
         "column procedures: empty choice in \"prp;;botox\"; separate the choices with ; or , "
         "(valid: prp, dextrose, botox, other)"},
        {"procedures", "prp;", NULL, "column procedures: empty choice in \"prp;\""},
        {"procedures", "prp;PRP", NULL, "column procedures: \"prp\" is chosen twice"},
        {"procedures", "prp;steroid", NULL,
         "column procedures: \"steroid\" is not one of the choices: prp, dextrose, botox, other"},
        {"procedures", "prp；botox", NULL,
         "column procedures: \"prp；botox\" is not one of the choices"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, cases[i].key, cases[i].value), CF_OK);
        cf_status st = check(r, false, diag);
        if (cases[i].message) {
            assert_int_equal(st, CF_ERR_DATA);
            assert_message(diag, cases[i].message);
        } else {
            if (st != CF_OK)
                cf_diag_print(diag, stderr);
            assert_int_equal(st, CF_OK);
            assert_string_equal(cf_record_get(r, cases[i].key), cases[i].stored);
        }
        cf_record_free(r);
        cf_diag_free(diag);
    }
}

static void test_dates(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool valid;
        const char *message;
    } cases[] = {
        {"2025-03-14", true, NULL},
        {"2024-02-29", true, NULL},
        {"2000-02-29", true, NULL},
        {"2025-12-31", true, NULL},
        {" 2025-01-01 ", true, NULL}, /* trimmed first */
        {"2023-02-29", false, "column procedure_date: \"2023-02-29\" is not a real date"},
        {"1900-02-29", false, "is not a real date"},
        {"2025-04-31", false, "is not a real date"},
        {"2025-13-01", false, "is not a real date"},
        {"2025-00-10", false, "is not a real date"},
        {"2025-01-00", false, "is not a real date"},
        {"0999-01-01", false, "is not a real date"},
        {"14/03/2025", false,
         "column procedure_date: \"14/03/2025\" is not a date written YYYY-MM-DD, e.g. "
         "2025-03-14 (if Excel changed the dates, format the column as text)"},
        {"2025-3-14", false, "is not a date written YYYY-MM-DD"},
        {"2025/03/14", false, "is not a date written YYYY-MM-DD"},
        {"２０２５-03-14", false, "is not a date written YYYY-MM-DD"},
        {"2025-03-14T10:00", false, "is not a date written YYYY-MM-DD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, "procedure_date", cases[i].value), CF_OK);
        cf_status st = check(r, false, diag);
        if (cases[i].valid) {
            assert_int_equal(st, CF_OK);
            assert_true(cf_date_is_valid(cf_record_get(r, "procedure_date")));
        } else {
            assert_int_equal(st, CF_ERR_DATA);
            assert_message(diag, cases[i].message);
            assert_false(cf_date_is_valid(cases[i].value));
        }
        cf_record_free(r);
        cf_diag_free(diag);
    }
    assert_false(cf_date_is_valid(NULL));
    assert_false(cf_date_is_valid(""));
}

static void test_unknown_key(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_record *r = cf_record_new(NULL, 0);
    assert_int_equal(cf_record_set(r, "patient_name", "陳大文"), CF_OK);
    assert_int_equal(cf_record_set(r, "hospital_no", "HN1"), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", "HE1"), CF_OK);
    assert_int_equal(cf_record_set(r, "procedure_dat", "2025-01-01"), CF_OK);
    /* Keys are matched ignoring case, as everywhere. */
    assert_int_equal(cf_record_set(r, "SIDE", "left"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_ERR_DATA);
    assert_message(diag,
                   "consentform: command line: \"procedure_dat\" is not a field of test-form; "
                   "its fields are: patient_name, hospital_no, episode_no, side, "
                   "procedure_date, procedures, doctor_name");
    assert_int_equal(cf_diag_error_count(diag), 1);
    assert_string_equal(cf_record_get(r, "side"), "left");
    cf_record_free(r);
    cf_diag_free(diag);
}

/* Extra CSV columns (Ward, DOB, even one spelt like a field key after --map took the field
 * from another column) are not fields: no error, not rewritten, and never seen as the field. */
static void test_extra_columns(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_record *r = cf_record_new("ward.csv", 2);
    assert_int_equal(cf_record_set_extra(r, "Ward", " 3A "), CF_OK);
    assert_int_equal(cf_record_set_from_column(r, "patient_name", "中文姓名", " 陳大文 "), CF_OK);
    assert_int_equal(cf_record_set_extra(r, "patient_name", "CHAN TAI MAN\n"), CF_OK);
    assert_int_equal(cf_record_set(r, "hospital_no", "HN1"), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", "HE1"), CF_OK);
    assert_int_equal(cf_record_set_extra(r, "DOB", "not a date"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_OK);
    assert_int_equal(cf_diag_size(diag), 0);
    assert_string_equal(cf_record_get(r, "patient_name"), "陳大文");
    assert_string_equal(cf_record_value(r, 0), " 3A ");
    assert_string_equal(cf_record_value(r, 2), "CHAN TAI MAN\n");
    cf_record_free(r);
    cf_diag_free(diag);
}

/* Every problem of a row is reported, not just the first. */
static void test_all_problems_reported(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_record *r = cf_record_new("patients.csv", 12);
    assert_int_equal(cf_record_set(r, "patient_name", "陳\n大文"), CF_OK);
    assert_int_equal(cf_record_set(r, "hospital_no", ""), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", "HE\t1"), CF_OK);
    assert_int_equal(cf_record_set(r, "side", "up"), CF_OK);
    assert_int_equal(cf_record_set(r, "procedure_date", "2025-02-30"), CF_OK);
    assert_int_equal(cf_record_set(r, "procedures", "prp;prp"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_ERR_DATA);
    assert_int_equal(cf_diag_error_count(diag), 6);
    static const char *const expected[] = {
        "patients.csv:12: column patient_name: value contains a line break",
        "patients.csv:12: column hospital_no: a value is required",
        "patients.csv:12: column episode_no: value contains the control character U+0009",
        "patients.csv:12: column side: \"up\" is not one of the choices",
        "patients.csv:12: column procedure_date: \"2025-02-30\" is not a real date",
        "patients.csv:12: column procedures: \"prp\" is chosen twice",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        assert_message(diag, expected[i]);
    cf_record_free(r);
    cf_diag_free(diag);
}

/* Quoted values in messages are cut short and show control characters by code. */
static void test_long_value_quoted_short(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_record *r = good_record();
    char value[2000];
    memset(value, 'x', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    assert_int_equal(cf_record_set(r, "side", value), CF_OK);
    assert_int_equal(check(r, false, diag), CF_ERR_DATA);
    assert_message(diag,
                   "column side: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\" is not one of");
    cf_record_free(r);
    cf_diag_free(diag);
}

static bool file_exists(const char *rel)
{
    char path[4096];
    return access(test_source_path(path, sizeof path, rel), R_OK) == 0;
}

/* The bundled Hong Kong fonts print the HKSCS names and refuse what they lack. */
static void test_project_fonts(void **state)
{
    (void)state;
    if (!file_exists("fonts/cfsans-hk-regular.ttf") || !file_exists("fonts/cfsans-hk-bold.ttf")) {
        print_message("fonts/cfsans-hk-*.ttf not built yet: the glyph checks with the project "
                      "fonts are skipped\n");
        skip();
    }
    cf_diag *diag = cf_diag_new();
    const cf_fontset *fonts = NULL;
    assert_int_equal(cf_fontset_get("HK", &fonts, diag), CF_OK);
    static const char *const names[] = {
        "李志堃",        "張喆",   "何家燊",       "劉淼",
        "鄭峯",          "林美邨", "黃\u3000麗珍", "CHAN, Tai Man 陳大文",
        "李\U00020779明" /* HKSCS, beyond U+FFFF */};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, "patient_name", names[i]), CF_OK);
        cf_status st = cf_record_check(&data_test_form, r, fonts, false, diag);
        if (st != CF_OK)
            cf_diag_print(diag, stderr);
        assert_int_equal(st, CF_OK);
        cf_record_free(r);
    }
    /* Devanagari is in no Chinese font. */
    cf_record *r = good_record();
    assert_int_equal(cf_record_set(r, "patient_name", "陳\u0915"), CF_OK);
    assert_int_equal(cf_record_check(&data_test_form, r, fonts, false, diag), CF_ERR_DATA);
    assert_message(diag, "patients.csv:7: column patient_name: the HK font cannot print U+0915 "
                         "(\u0915)");
    cf_record_free(r);
    /* Beyond U+FFFF: an ideograph of Extension B outside HKSCS, and an emoji, are named. */
    cf_diag_clear(diag);
    r = good_record();
    assert_int_equal(cf_record_set(r, "patient_name", "李\U00020779\U0002000B明\U0001F600"), CF_OK);
    assert_int_equal(cf_record_check(&data_test_form, r, fonts, false, diag), CF_ERR_DATA);
    assert_message(diag, "patients.csv:7: column patient_name: the HK font cannot print U+2000B "
                         "(\U0002000B), U+1F600 (\U0001F600)");
    assert_int_equal(cf_diag_error_count(diag), 1);
    cf_record_free(r);
    cf_fontset_release_all();
    cf_diag_free(diag);
}

/* A character must be in both faces: DejaVu Sans (when installed) has U+F000 in its regular
 * face only and no Chinese at all; the message says which face lacks what. */
static void test_both_faces(void **state)
{
    (void)state;
    const char *regular_path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    const char *bold_path = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
    if (access(regular_path, R_OK) != 0 || access(bold_path, R_OK) != 0) {
        print_message("%s or %s not installed: skipped\n", regular_path, bold_path);
        skip();
    }
    cf_diag *diag = cf_diag_new();
    cf_font *regular = NULL, *bold = NULL;
    assert_int_equal(cf_font_load(regular_path, &regular, diag), CF_OK);
    assert_int_equal(cf_font_load(bold_path, &bold, diag), CF_OK);
    cf_fontset fonts = {.region = "TEST", .faces = {regular, bold}};
    assert_true(cf_font_has(regular, 0xF000));
    assert_false(cf_font_has(bold, 0xF000));

    cf_record *r = good_record();
    assert_int_equal(cf_record_set(r, "patient_name", "CHAN Tai Man"), CF_OK);
    cf_status st = cf_record_check(&data_test_form, r, &fonts, false, diag);
    if (st != CF_OK)
        cf_diag_print(diag, stderr);
    assert_int_equal(st, CF_OK);
    assert_int_equal(cf_record_set(r, "patient_name", "CHAN \uF000 陳大文 陳"), CF_OK);
    assert_int_equal(cf_record_set(r, "doctor_name", "\u9673"), CF_OK);
    /* Choice keys are not printed, so they are not looked up in the fonts. */
    assert_int_equal(cf_record_set(r, "side", "left"), CF_OK);
    assert_int_equal(cf_record_check(&data_test_form, r, &fonts, false, diag), CF_ERR_DATA);
    assert_message(diag, "patients.csv:7: column patient_name: the TEST font cannot print U+F000 "
                         "(\uF000) (missing from the bold face), U+9673 (陳), U+5927 (大), U+6587 "
                         "(文)");
    assert_message(diag, "column doctor_name: the TEST font cannot print U+9673 (陳)");
    assert_int_equal(cf_diag_error_count(diag), 2);
    cf_record_free(r);
    cf_font_free(regular);
    cf_font_free(bold);
    cf_diag_free(diag);
}

/* True when s holds the UTF-8 bytes of cp. */
static bool holds_raw(const char *s, uint32_t cp)
{
    char utf8[5] = {0};
    size_t n = cf_utf8_encode(cp, utf8);
    return n > 0 && strstr(s, utf8) != NULL;
}

/* Issue 11.2: a name or hospital number made only of Unicode spaces is missing, not an empty
 * label; spaces of every kind around a value are trimmed. */
static void test_blank_identity(void **state)
{
    (void)state;
    static const char *const blanks[] = {
        "\u00A0",        "\u00A0\u00A0", "\u2002", "\u2003",       "\u2009",
        "\u3000 \u00A0", "\u202F",       "\u205F", "\u2000\u200A", "\u1680",
    };
    for (size_t i = 0; i < sizeof blanks / sizeof blanks[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, "patient_name", blanks[i]), CF_OK);
        assert_int_equal(cf_record_set(r, "hospital_no", blanks[i]), CF_OK);
        assert_int_equal(check(r, false, diag), CF_ERR_DATA);
        assert_message(diag, "column patient_name: a value is required");
        assert_message(diag, "column hospital_no: a value is required");
        cf_record_free(r);
        cf_diag_free(diag);
    }
    cf_diag *diag = cf_diag_new();
    cf_record *r = good_record();
    assert_int_equal(cf_record_set(r, "patient_name", "\u2003陳大文\u00A0\u2009"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_OK);
    assert_string_equal(cf_record_get(r, "patient_name"), "陳大文");
    cf_record_free(r);
    cf_diag_free(diag);
}

/* Issue 11.2: a default-ignorable character in a patient value is an error naming it as
 * U+XXXX; the message never holds the character itself. */
static void test_default_ignorable(void **state)
{
    (void)state;
    static const uint32_t cps[] = {0x00AD, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F,
                                   0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060,
                                   0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char c[5] = {0}, value[64], needle[64];
        cf_utf8_encode(cps[i], c);
        snprintf(value, sizeof value, "陳%s大文", c);
        for (int k = 0; k < 2; k++) {
            const char *key = k ? "hospital_no" : "patient_name";
            cf_diag *diag = cf_diag_new();
            cf_record *r = good_record();
            assert_int_equal(cf_record_set(r, key, value), CF_OK);
            assert_int_equal(check(r, false, diag), CF_ERR_DATA);
            snprintf(needle, sizeof needle, "column %s: value contains U+%04X", key,
                     (unsigned)cps[i]);
            assert_message(diag, needle);
            for (size_t m = 0; m < cf_diag_size(diag); m++) {
                char line[4096];
                cf_diag_format(cf_diag_get(diag, m), line, sizeof line);
                assert_false(holds_raw(line, cps[i]));
            }
            cf_record_free(r);
            cf_diag_free(diag);
        }
    }
}

/* Issue 11.5: identifiers are NFKC, upper case and trimmed; a name keeps its characters
 * (a CJK compatibility ideograph is not replaced by its unified twin). */
static void test_identifiers_normalised(void **state)
{
    (void)state;
    static const struct {
        const char *given, *stored;
    } cases[] = {
        {"ＨＮ１２３４５６７８（９）", "HN12345678(9)"},
        {"hn12345678(9)", "HN12345678(9)"},
        {"\u3000 hn12345678(9)\u00A0", "HN12345678(9)"},
        {"ｈｎ１２３４５６７８（Ａ）", "HN12345678(A)"},
        {"HN12345678(9)", "HN12345678(9)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, "hospital_no", cases[i].given), CF_OK);
        assert_int_equal(cf_record_set(r, "episode_no", cases[i].given), CF_OK);
        assert_int_equal(cf_record_set(r, "patient_name", "李\uF907明 ＡＢ"), CF_OK);
        assert_int_equal(check(r, false, diag), CF_OK);
        assert_string_equal(cf_record_get(r, "hospital_no"), cases[i].stored);
        assert_string_equal(cf_record_get(r, "episode_no"), cases[i].stored);
        assert_string_equal(cf_record_get(r, "patient_name"), "李\uF907明 ＡＢ");
        cf_record_free(r);
        cf_diag_free(diag);

        char *norm = NULL;
        assert_int_equal(cf_identifier_normalize(cases[i].given, &norm), CF_OK);
        assert_string_equal(norm, cases[i].stored);
        cf_free(norm);
    }
    char *norm = NULL;
    assert_int_equal(cf_identifier_normalize("\u3000\u00A0", &norm), CF_OK);
    assert_string_equal(norm, "");
    cf_free(norm);
    assert_int_equal(cf_identifier_normalize("\xE9", &norm), CF_ERR_DATA);
    assert_null(norm);
}

/* Issue 11.5: Excel's scientific notation in an identifier loses digits: an error with the
 * hint to format the column as text. */
static void test_scientific_notation(void **state)
{
    (void)state;
    static const char *const bad[] = {"1.23457E+11", "1.23457e+11", "1E+05", "９.８７Ｅ＋１０",
                                      "4.5E-3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, "hospital_no", bad[i]), CF_OK);
        assert_int_equal(check(r, false, diag), CF_ERR_DATA);
        assert_message(diag, "column hospital_no:");
        assert_message(diag, "format the column as text");
        cf_record_free(r);
        cf_diag_free(diag);
    }
    /* Plain numbers and letters with E are fine; a name is not an identifier. */
    cf_diag *diag = cf_diag_new();
    cf_record *r = good_record();
    assert_int_equal(cf_record_set(r, "hospital_no", "123457000000"), CF_OK);
    assert_int_equal(cf_record_set(r, "episode_no", "E1234"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_OK);
    cf_record_free(r);
    cf_diag_free(diag);
}

/* Issue 11.5: a label field's pattern is matched against the whole normalised value. */
static void test_pattern(void **state)
{
    (void)state;
    cf_field fields[sizeof data_test_fields / sizeof data_test_fields[0]];
    memcpy(fields, data_test_fields, sizeof fields);
    fields[1].pattern = "HN[0-9]{8}\\([0-9A]\\)";
    cf_form form = data_test_form;
    form.fields = fields;
    static const struct {
        const char *value;
        bool ok;
    } cases[] = {
        {"HN12345678(9)", true},
        {"hn12345678(a)", true},
        {"ＨＮ１２３４５６７８（９）", true},
        {"HN1234567(9)", false},
        {"xHN12345678(9)", false},
        {"HN12345678(9)x", false},
        {"HN12345678(9)\u00A0", true},
        {"HN12345678", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, "hospital_no", cases[i].value), CF_OK);
        cf_status st = cf_record_check(&form, r, NULL, false, diag);
        if (cases[i].ok) {
            assert_int_equal(st, CF_OK);
        } else {
            assert_int_equal(st, CF_ERR_DATA);
            assert_message(diag, "does not have the form's shape for Hospital No (pattern "
                                 "HN[0-9]{8}\\([0-9A]\\))");
        }
        cf_record_free(r);
        cf_diag_free(diag);
    }
}

/* Issue 11.2: a value quoted in a message shows hidden characters as U+XXXX, never raw. */
static void test_quoted_values_escaped(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_record *r = good_record();
    assert_int_equal(cf_record_set(r, "side", "le\u202Eft"), CF_OK);
    assert_int_equal(cf_record_set(r, "procedure_date", "2024\u200B-01-01"), CF_OK);
    assert_int_equal(cf_record_set(r, "ward\u202E", "x"), CF_OK);
    assert_int_equal(check(r, false, diag), CF_ERR_DATA);
    assert_message(diag, "\"ward<U+202E>\" is not a field");
    assert_message(diag, "value contains U+202E (right-to-left override)");
    assert_message(diag, "value contains U+200B (zero width space)");
    for (size_t m = 0; m < cf_diag_size(diag); m++) {
        char line[4096];
        cf_diag_format(cf_diag_get(diag, m), line, sizeof line);
        assert_false(holds_raw(line, 0x202E));
        assert_false(holds_raw(line, 0x200B));
    }
    cf_record_free(r);
    cf_diag_free(diag);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    bool done = false;
    for (unsigned long fail_at = 1; fail_at < 300 && !done; fail_at++) {
        cf_diag *diag = cf_diag_new();
        cf_record *r = good_record();
        assert_int_equal(cf_record_set(r, "patient_name", " \uF900陳 "), CF_OK);
        assert_int_equal(cf_record_set(r, "procedures", "botox,prp"), CF_OK);
        assert_int_equal(cf_record_set(r, "side", "x"), CF_OK);
        cf_alloc_fail_after(fail_at);
        cf_status st = check(r, false, diag);
        cf_alloc_fail_after(0);
        if (st == CF_ERR_DATA) {
            assert_string_equal(cf_record_get(r, "procedures"), "botox;prp");
            assert_string_equal(cf_record_get(r, "patient_name"), "\uF900陳");
            done = true;
        } else {
            assert_int_equal(st, CF_ERR_NOMEM);
        }
        cf_record_free(r);
        cf_diag_free(diag);
    }
    assert_true(done);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_record),
        cmocka_unit_test(test_nfc_and_trim),
        cmocka_unit_test(test_line_breaks_and_controls),
        cmocka_unit_test(test_beyond_bmp_and_bad_utf8),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_choices),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_extra_columns),
        cmocka_unit_test(test_all_problems_reported),
        cmocka_unit_test(test_long_value_quoted_short),
        cmocka_unit_test(test_project_fonts),
        cmocka_unit_test(test_both_faces),
        cmocka_unit_test(test_blank_identity),
        cmocka_unit_test(test_default_ignorable),
        cmocka_unit_test(test_identifiers_normalised),
        cmocka_unit_test(test_scientific_notation),
        cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_quoted_values_escaped),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests_name("field_rules", tests, NULL, NULL);
}
