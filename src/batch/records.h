/* The checked rows of a batch, kept compactly outside the heap: each row is appended once to an
 * unlinked temporary file (a fixed header plus its checked values), and only its offset stays in
 * memory (8 bytes a row). Every later pass (naming, printing, the combined job's two passes, the
 * manifest) reads the rows from here, never the list again, so what is printed is exactly what
 * was read and checked. Failure messages are interned (a bounded table of distinct texts). */
#ifndef CF_BATCH_RECORDS_H
#define CF_BATCH_RECORDS_H

#include "base/diag.h"
#include "base/hash.h"
#include "base/status.h"
#include "data/record.h"
#include "render/docid.h"

#include <stddef.h>
#include <stdint.h>

typedef enum cf_batch_state {
    CF_BATCH_ROW_READY,       /* checked and named: to be printed */
    CF_BATCH_ROW_EMPTY,       /* every cell empty (Excel's trailing ",,,"): skipped */
    CF_BATCH_ROW_FAILED,      /* a check or the printing failed; see message */
    CF_BATCH_ROW_PRINTED,     /* delivered (or, with --resume, already there and kept) */
    CF_BATCH_ROW_NOT_PRINTED, /* not reached: the batch was interrupted */
} cf_batch_state;

/* The fixed part of one row (updated in place as the batch goes on). */
typedef struct cf_batch_row {
    long row;          /* row number in the list (header = 1) */
    uint32_t body_len; /* bytes of values after the header */
    uint8_t state;     /* cf_batch_state */
    uint8_t status;    /* cf_status of a failure */
    uint8_t kept;      /* --resume: the file of an earlier run was kept */
    uint8_t checked;   /* --check: would be printed, was not */
    uint8_t overrides; /* --resume: CF_FORM_ALLOW_* a kept file was issued under */
    uint32_t pages;
    uint32_t message; /* 1-based index of the message (cf_batch_records_message); 0 = none */
    char document_id[CF_DOCUMENT_ID_SIZE];
    char sha256[CF_SHA256_HEX_SIZE];
} cf_batch_row;

typedef struct cf_batch_records cf_batch_records;

/* New empty store whose temporary file is made in dir (NULL: $TMPDIR or /tmp), readable by
 * this user only and unlinked at once. Caller frees with cf_batch_records_free. */
cf_status cf_batch_records_new(const char *dir, cf_batch_records **out, cf_diag *diag);
void cf_batch_records_free(cf_batch_records *records);

/* Appends a row and its record's entries (record may be NULL: no values). */
cf_status cf_batch_records_add(cf_batch_records *records, const cf_batch_row *row,
                               const cf_record *record);
/* Writes out the rows still buffered; call once every row was added, before threads share the
 * store. */
cf_status cf_batch_records_seal(cf_batch_records *records);
size_t cf_batch_records_count(const cf_batch_records *records);
/* Reads row i; with record non-NULL also its values as a new record (caller frees) whose source
 * is source. Thread-safe once every row was added. */
cf_status cf_batch_records_get(cf_batch_records *records, size_t i, cf_batch_row *row,
                               cf_record **record, const char *source);
/* Value of key in row i, copied into out (truncated to size); "" when unset. */
cf_status cf_batch_records_value(cf_batch_records *records, size_t i, const char *key, char *out,
                                 size_t size);
/* Rewrites the fixed part of row i (body_len is kept). Thread-safe for different rows. */
cf_status cf_batch_records_update(cf_batch_records *records, size_t i, const cf_batch_row *row);

/* Index (1-based) of message in the table, added when new. At most 4096 distinct texts are
 * kept; later new ones give the index of fallback (which is always kept). Thread-safe. */
uint32_t cf_batch_records_intern(cf_batch_records *records, const char *message,
                                 const char *fallback);
/* Message number index (1-based); "" for 0. Valid until cf_batch_records_free. */
const char *cf_batch_records_message(const cf_batch_records *records, uint32_t index);

/* Marks row i failed with status and message (interned) unless it already failed. */
cf_status cf_batch_records_fail(cf_batch_records *records, size_t i, cf_status status,
                                const char *message);

#endif
