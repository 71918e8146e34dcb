/* Writing CSV cells for the files the tool writes (the batch manifest and its sidecar): RFC 4180
 * quoting, and a guard against formula injection, so that a spreadsheet never runs a cell. */
#ifndef CF_CSV_WRITE_H
#define CF_CSV_WRITE_H

#include "base/buf.h"

#include <stdbool.h>

/* True when a spreadsheet would read value as a formula or control: it starts with '=', '+',
 * '-', '@', a TAB or a CR (OWASP's list). */
bool cf_csv_cell_is_risky(const char *value);

/* Appends value (NULL = empty) to out as one CSV cell: a risky value gets a leading '\'', and
 * the cell is quoted when it holds ',', '"', CR or LF (quotes doubled). */
void cf_csv_write_cell(cf_buf *out, const char *value);

/* Appends n cells separated by commas and the CRLF row end. */
void cf_csv_write_row(cf_buf *out, const char *const *cells, size_t n);

#endif
