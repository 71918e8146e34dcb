/* Fuzz harness: bytes as a CSV file -> every row, read as UTF-8, as Big5-HKSCS and with
 * encoding detection, then mapped onto the fields of two test forms (the leaflet's three label
 * fields; the consent's date, text, choice and multi-choice fields) and checked by the field
 * rules (without fonts); a file name is made from each record's fields and extra columns. */
#include "fuzz.h"

#include "base/diag.h"
#include "data/csv.h"
#include "data/field_rules.h"
#include "data/file_name.h"
#include "data/record.h"
#include "form/form.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const form_names[] = {"sample-leaflet", "sample-consent"};
static cf_form *forms[2];

static void load_forms(void)
{
    const char *root = getenv("CF_SOURCE_DIR");
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/tests/data/form/%s.xml", root ? root : ".", form_names[i]);
        if (cf_form_load(path, NULL, &forms[i], NULL) != CF_OK) {
            fprintf(stderr, "fuzz_csv: cannot load %s (set CF_SOURCE_DIR)\n", path);
            abort();
        }
    }
}

/* Reads every row of data in one encoding; maps the header onto form and checks each record. */
static void read_rows(const uint8_t *data, size_t size, cf_csv_encoding encoding,
                      const cf_form *form)
{
    cf_diag *diag = cf_diag_new();
    cf_csv_reader *reader = NULL;
    cf_csv_map *map = NULL;
    const char *const *fields;
    size_t n;
    int rows = 0;
    if (cf_csv_reader_open_memory(data, size, "fuzz.csv", encoding, NULL, &reader, diag) == CF_OK) {
        while (cf_csv_next_row(reader, &fields, &n) == CF_OK && fields != NULL && rows++ < 1000) {
            if (map == NULL) {
                if (cf_csv_header_map(form, fields, n, "fuzz.csv", 1, &map, diag) != CF_OK)
                    break;
                continue;
            }
            cf_record *record = NULL;
            if (cf_csv_row_record(map, fields, n, cf_csv_row_number(reader), &record, diag) ==
                CF_OK) {
                (void)cf_record_check(form, record, NULL, false, diag);
                /* Placeholders looked up among hostile column names (extras included). */
                cf_buf name;
                cf_buf_init(&name, 4096);
                (void)cf_file_name_expand("{ward}-{Patient Name}-{row}.pdf", record, "f", "1",
                                          &name, diag);
                cf_buf_cleanup(&name);
            }
            cf_record_free(record);
        }
    }
    cf_csv_map_free(map);
    cf_csv_reader_close(reader);
    cf_diag_free(diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (forms[0] == NULL)
        load_forms();
    static const cf_csv_encoding encodings[] = {CF_CSV_ENCODING_UTF8, CF_CSV_ENCODING_BIG5_HKSCS,
                                                CF_CSV_ENCODING_BIG5, CF_CSV_ENCODING_UTF16,
                                                CF_CSV_ENCODING_AUTO};
    for (size_t e = 0; e < sizeof encodings / sizeof encodings[0]; e++)
        read_rows(data, size, encodings[e], forms[0]);
    /* The consent's typed fields, once (the encodings differ only before the fields). */
    read_rows(data, size, CF_CSV_ENCODING_AUTO, forms[1]);
    return 0;
}
