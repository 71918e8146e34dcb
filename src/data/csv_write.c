/* CSV cells for the files the tool writes (see csv_write.h). */
#include "data/csv_write.h"

#include <string.h>

bool cf_csv_cell_is_risky(const char *value)
{
    return value != NULL && value[0] != '\0' && strchr("=+-@\t\r", value[0]) != NULL;
}

void cf_csv_write_cell(cf_buf *out, const char *value)
{
    if (value == NULL)
        value = "";
    bool risky = cf_csv_cell_is_risky(value);
    if (strpbrk(value, ",\"\r\n") == NULL) {
        if (risky)
            cf_buf_putc(out, '\'');
        cf_buf_append_str(out, value);
        return;
    }
    cf_buf_putc(out, '"');
    if (risky)
        cf_buf_putc(out, '\'');
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"')
            cf_buf_putc(out, '"');
        cf_buf_putc(out, *p);
    }
    cf_buf_putc(out, '"');
}

void cf_csv_write_row(cf_buf *out, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            cf_buf_putc(out, ',');
        cf_csv_write_cell(out, cells[i]);
    }
    cf_buf_append_str(out, "\r\n");
}
