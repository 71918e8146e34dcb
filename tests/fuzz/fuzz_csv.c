/* Fuzz harness: bytes as a CSV file -> every row, read as UTF-8, as Big5-HKSCS and with
 * encoding detection, then mapped onto the sample leaflet's fields and checked by the field
 * rules (without fonts). */
#include "fuzz.h"

#include "base/diag.h"
#include "data/csv.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"

#include <stdio.h>
#include <stdlib.h>

static cf_form *form;

static void load_form(void)
{
    const char *root = getenv("CF_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/form/sample-leaflet.xml", root ? root : ".");
    (void)cf_form_load(path, NULL, &form, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (form == NULL)
        load_form();
    static const cf_csv_encoding encodings[] = {CF_CSV_ENCODING_UTF8, CF_CSV_ENCODING_BIG5_HKSCS,
                                                CF_CSV_ENCODING_AUTO};
    for (size_t e = 0; e < sizeof encodings / sizeof encodings[0]; e++) {
        cf_diag *diag = cf_diag_new();
        cf_csv_reader *reader = NULL;
        cf_csv_map *map = NULL;
        if (cf_csv_reader_open_memory(data, size, "fuzz.csv", encodings[e], NULL, &reader, diag) !=
            CF_OK) {
            cf_diag_free(diag);
            continue;
        }
        const char *const *fields;
        size_t n;
        int rows = 0;
        while (cf_csv_next_row(reader, &fields, &n) == CF_OK && fields != NULL && rows++ < 1000) {
            if (map == NULL) {
                if (form == NULL || cf_csv_header_map(form, fields, n, "fuzz.csv", 1, &map, diag) !=
                                        CF_OK)
                    break;
                continue;
            }
            cf_record *record = NULL;
            if (cf_csv_row_record(map, fields, n, cf_csv_row_number(reader), &record, diag) ==
                CF_OK)
                (void)cf_record_check(form, record, NULL, false, diag);
            cf_record_free(record);
        }
        cf_csv_map_free(map);
        cf_csv_reader_close(reader);
        cf_diag_free(diag);
    }
    return 0;
}
