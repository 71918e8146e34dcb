/* Helpers shared by the data tests: a small form built by hand (the loader is not needed), and
 * reading files under tests/data/. */
#ifndef CF_DATA_TEST_UTIL_H
#define CF_DATA_TEST_UTIL_H

#include "form/form.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

static const cf_option data_test_side_options[] = {
    {.key = "left"},
    {.key = "right"},
    {.key = "both"},
};

static const cf_option data_test_procedure_options[] = {
    {.key = "prp"},
    {.key = "dextrose"},
    {.key = "botox"},
    {.key = "other", .other = true},
};

/* The aliases the shipped forms declare for their label fields. */
static const char *const data_test_name_aliases[] = {"Name", "Chinese Name", "中文姓名", "姓名"};
static const char *const data_test_hn_aliases[] = {"HN", "Hosp No", "Hospital Number", "住院號碼",
                                                   "病歷號碼"};
static const char *const data_test_episode_aliases[] = {"Case No", "Episode", "Episode Number",
                                                        "Adm No"};
/* An alias of a fill-in field that is also the caption of another field: a column named so
 * could be either. */
static const char *const data_test_doctor_aliases[] = {"Doctor", "部位"};

/* Label fields patient_name, hospital_no, episode_no (required, with the shipped forms'
 * aliases), then side (choice), procedure_date (date), procedures (multi-choice) and
 * doctor_name (text), none required. */
static const cf_field data_test_fields[] = {
    {.key = "patient_name",
     .caption = "Patient Name",
     .aliases = data_test_name_aliases,
     .n_aliases = 4,
     .type = CF_FIELD_TEXT,
     .required = true,
     .label = true,
     .line = 3},
    {.key = "hospital_no",
     .identifier = true,
     .caption = "Hospital No",
     .aliases = data_test_hn_aliases,
     .n_aliases = 5,
     .type = CF_FIELD_TEXT,
     .required = true,
     .label = true,
     .line = 4},
    {.key = "episode_no",
     .identifier = true,
     .caption = "Episode No",
     .aliases = data_test_episode_aliases,
     .n_aliases = 4,
     .type = CF_FIELD_TEXT,
     .required = true,
     .label = true,
     .line = 5},
    {.key = "side",
     .caption = "部位",
     .type = CF_FIELD_CHOICE,
     .options = data_test_side_options,
     .n_options = 3,
     .line = 7},
    {.key = "procedure_date", .caption = "治療日期", .type = CF_FIELD_DATE, .line = 8},
    {.key = "procedures",
     .caption = "治療項目",
     .type = CF_FIELD_MULTI_CHOICE,
     .options = data_test_procedure_options,
     .n_options = 4,
     .line = 9},
    {.key = "doctor_name",
     .caption = "主診醫生",
     .aliases = data_test_doctor_aliases,
     .n_aliases = 2,
     .type = CF_FIELD_TEXT,
     .line = 10},
};

static const cf_form data_test_form = {
    .path = "test-form.xml",
    .id = "test-form",
    .version = "1.0",
    .kind = CF_FORM_KIND_CONSENT,
    .lang = "zh-Hant-HK",
    .region = "HK",
    .title = "測試表格",
    .label_caption = "Patient's Label",
    .fields = data_test_fields,
    .n_fields = sizeof data_test_fields / sizeof data_test_fields[0],
    .n_label_fields = 3,
};

/* Reads the file at path whole (NUL-terminated; caller frees with free); NULL when missing. */
static inline char *data_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *data = malloc(cap);
    while (data) {
        if (cap - n < 2) {
            char *grown = realloc(data, cap * 2);
            if (!grown) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            cap *= 2;
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    if (data) {
        data[n] = '\0';
        *len = n;
    }
    return data;
}

#endif
