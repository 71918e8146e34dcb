/* Streaming CSV reader (RFC 4180) for the patient lists nurses export from the hospital system,
 * usually through Excel: UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's
 * "Unicode Text"), Big5-HKSCS (Hong Kong) or Big5 (Taiwan's cp950); comma, tab or semicolon
 * between fields (sniffed from the header, or Excel's "sep=;" line); CRLF, LF or CR line ends. It
 * holds one row at a time, so memory stays bounded (by cf_csv_limits) whatever the number of rows;
 * every cap hit is CF_ERR_LIMIT with a message naming the row and column.
 *
 * Also here (src/data/csv_map.c): matching a CSV header to a form's fields, explicit column
 * mappings, and turning a row into a cf_record. */
#ifndef CF_CSV_H
#define CF_CSV_H

#include "base/diag.h"
#include "base/status.h"
#include "data/record.h"
#include "form/form.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum cf_csv_encoding {
    CF_CSV_ENCODING_AUTO,       /* detected: a UTF-16 byte-order mark; UTF-8; or, for a file
                                   that is not UTF-8 but decodes completely as Big5-HKSCS and
                                   holds no byte pair that Big5-HKSCS and Taiwan's cp950 read
                                   differently, Big5-HKSCS */
    CF_CSV_ENCODING_UTF8,       /* UTF-8, byte-order mark optional */
    CF_CSV_ENCODING_BIG5_HKSCS, /* Hong Kong's Big5 with the HKSCS supplement (iconv) */
    CF_CSV_ENCODING_BIG5,       /* Taiwan's Big5 (Microsoft cp950, iconv); a byte pair in
                                   cp950's user-defined areas (0x8140-0xA0FE, 0xC6A1-0xC8FE,
                                   0xFA40-0xFEFE, 造字) is an error, checked on the bytes */
    CF_CSV_ENCODING_UTF16,      /* UTF-16 with a byte-order mark (Excel's "Unicode Text") */
    CF_CSV_ENCODING_UTF16LE,    /* (reported) UTF-16 little-endian, from its byte-order mark */
    CF_CSV_ENCODING_UTF16BE,    /* (reported) UTF-16 big-endian, from its byte-order mark */
} cf_csv_encoding;

/* Parses "auto", "utf-8" (also "utf8"), "utf-16" (also "utf16"), "big5" (also "cp950": Taiwan)
 * or "big5-hkscs" (also "big5hkscs": Hong Kong), ignoring ASCII case. False for anything
 * else. Until 2026 "big5" meant Big5-HKSCS; it now means cp950. */
bool cf_csv_encoding_parse(const char *name, cf_csv_encoding *out);
/* "auto", "utf-8", "big5-hkscs", "big5", "utf-16", "utf-16le" or "utf-16be"; static
 * storage. */
const char *cf_csv_encoding_name(cf_csv_encoding encoding);

/* Parses a --delimiter value: "," or "comma", ";" or "semicolon", a tab character, "\t" or
 * "tab" give that character; "auto" gives 0 (sniffed from the header row). False for anything
 * else. */
bool cf_csv_delimiter_parse(const char *name, char *out);
/* "comma", "semicolon" or "tab" for a delimiter; "auto" for 0; static storage. */
const char *cf_csv_delimiter_name(char delimiter);

/* Number of byte pairs that Big5-HKSCS decodes and Taiwan's cp950 refuses or decodes to
 * something else (computed once from the two iconv converters; 0 when they are missing). With
 * --encoding auto, a Big5 file holding one of them needs --encoding big5-hkscs or big5. */
size_t cf_csv_big5_ambiguous_count(void);

/* Default caps. A field may hold a little over 1 MiB (so a 1 MB field is read); a row all its
 * fields together at most 4 MiB. */
#define CF_CSV_DEFAULT_MAX_FIELD (((size_t)1 << 20) + ((size_t)64 << 10))
#define CF_CSV_DEFAULT_MAX_ROW ((size_t)4 << 20)
#define CF_CSV_DEFAULT_MAX_COLUMNS ((size_t)256)
#define CF_CSV_DEFAULT_READ_SIZE ((size_t)64 << 10)

typedef struct cf_csv_limits {
    size_t max_field;   /* bytes of one field (UTF-8, after decoding); at least 1 */
    size_t max_row;     /* bytes of all the fields of one row together; at least 1 */
    size_t max_columns; /* fields in one row; at least 1 */
    size_t read_size;   /* bytes asked of each read(); tests use tiny ones to split characters
                           across reads. At least 1 */
} cf_csv_limits;

/* Fills limits with the defaults above. */
void cf_csv_limits_init(cf_csv_limits *limits);

typedef struct cf_csv_reader cf_csv_reader;

/* Opens path for reading (nothing is read yet). limits NULL = the defaults. CF_ERR_NOINPUT when
 * the file cannot be opened or is a directory. diag receives the messages of this call and of
 * every later cf_csv_next_row, so it must outlive the reader. Caller closes with
 * cf_csv_reader_close. */
cf_status cf_csv_reader_open(const char *path, cf_csv_encoding encoding,
                             const cf_csv_limits *limits, cf_csv_reader **out, cf_diag *diag);
/* Same over an open descriptor (a pipe is fine), which the reader does not close; name is used
 * in messages. */
cf_status cf_csv_reader_open_fd(int fd, const char *name, cf_csv_encoding encoding,
                                const cf_csv_limits *limits, cf_csv_reader **out, cf_diag *diag);
/* Same over len bytes of memory, which must stay valid until the reader is closed (tests and
 * fuzzing); name is used in messages. */
cf_status cf_csv_reader_open_memory(const void *data, size_t len, const char *name,
                                    cf_csv_encoding encoding, const cf_csv_limits *limits,
                                    cf_csv_reader **out, cf_diag *diag);
/* Forces the field delimiter (',', ';' or '\t'; 0 = sniff it) instead of sniffing it from the
 * header row: the candidate (comma, tab, semicolon) found most often outside quotes there, comma
 * when none is. Excel's "sep=X" first line sets it too (and is not a row). Call before the first
 * cf_csv_next_row; CF_ERR_INTERNAL after it or for another character. */
cf_status cf_csv_reader_set_delimiter(cf_csv_reader *reader, char delimiter);
/* Closes the file (when the reader opened it) and frees the reader. NULL is fine. */
void cf_csv_reader_close(cf_csv_reader *reader);

/* Reads the next row (the header is the first). On CF_OK, *fields points to *n_fields
 * NUL-terminated UTF-8 strings (n_fields >= 1), valid until the next call or close; at the end
 * of the input it returns CF_OK with *fields NULL and *n_fields 0. Empty lines between rows are
 * skipped. Errors: CF_ERR_DATA for bad CSV (a stray quote, text after a closing quote, an
 * unterminated quoted field, a NUL byte, bytes that are not in the encoding, an empty file),
 * CF_ERR_LIMIT for a cap, CF_ERR_IO, CF_ERR_NOMEM, each with a message naming the row (and
 * column). An error sticks: later calls return it again without a new message.
 * Some problems only show at the end: with big5-hkscs, a file whose every byte is valid UTF-8
 * (UTF-8 read as Big5 would print wrong characters, and some UTF-8 text is valid Big5) is
 * refused when the end is reached. So a caller reads every row before acting on any. */
cf_status cf_csv_next_row(cf_csv_reader *reader, const char *const **fields, size_t *n_fields);

/* Row number of the row last returned: 1-based, the header is row 1, and skipped empty lines
 * count, so it is the row number a spreadsheet shows. A quoted field with line breaks does not
 * make a row count twice. */
long cf_csv_row_number(const cf_csv_reader *reader);
/* Line of the file on which the row last returned starts (1-based); differs from the row
 * number after a quoted field that holds line breaks. */
long cf_csv_line_number(const cf_csv_reader *reader);
/* The encoding in use once the first row was read (for the summary): UTF-8, Big5-HKSCS, Big5
 * or UTF-16LE/BE, never AUTO or UTF16 (before the first row: UTF-8 for those). */
cf_csv_encoding cf_csv_reader_encoding(const cf_csv_reader *reader);
/* The field delimiter in use once the first row was read (',' before). */
char cf_csv_reader_delimiter(const cf_csv_reader *reader);
/* The name used in messages (the path); valid until close. */
const char *cf_csv_reader_name(const cf_csv_reader *reader);
/* Bytes of memory the reader holds now (buffers included): bounded by the limits, whatever the
 * input. For tests. */
size_t cf_csv_reader_memory(const cf_csv_reader *reader);

/* ---- Which column feeds which field ----
 *
 * A column feeds a field when its header name, folded (cf_text_fold_name: NFKC, case folding,
 * spaces, '_', '-' and '.' dropped), equals the folded key, caption or one of the declared
 * aliases of the field: "HN", "Hosp_No" and "住院號碼" all feed hospital_no when the form says
 * so. Explicit mappings settle what the names cannot: a --map COLUMN=FIELD argument, or a row
 * of a map file (a two-column CSV, COLUMN,FIELD, optionally headed "column,field", '#' rows are
 * comments) that a site keeps next to its exports (--map-file, $CONSENTFORM_MAP).
 *
 * A column that feeds no field and has a name is an extra column (Ward, Bed, DOB ...): kept
 * with each record (cf_record_set_extra) for --name templates and the manifest, never checked
 * as a field. */

/* Explicit column -> field mappings. */
typedef struct cf_csv_mappings cf_csv_mappings;

/* New empty set; caller frees with cf_csv_mappings_free. NULL when out of memory. */
cf_csv_mappings *cf_csv_mappings_new(void);
void cf_csv_mappings_free(cf_csv_mappings *mappings);
/* Number of mappings held. NULL is an empty set. */
size_t cf_csv_mappings_size(const cf_csv_mappings *mappings);
/* Adds one --map argument, "COLUMN=FIELD" (split at the last '='; both sides trimmed, neither
 * empty). A --map mapping is strict: cf_csv_map_build refuses it when the file has no such
 * column or the form no such field, and it wins over a map-file row for the same column.
 * CF_ERR_USAGE (message given) when arg is malformed, CF_ERR_NOMEM. */
cf_status cf_csv_mappings_add(cf_csv_mappings *mappings, const char *arg, cf_diag *diag);
/* Adds the rows of the map file at path (read like any list: UTF-8 or another encoding the
 * reader detects). Map-file rows are lenient: one whose column is not in a list, or whose field
 * the form lacks, is skipped (a site's file serves every form and export). CF_ERR_NOINPUT when
 * the file cannot be opened; CF_ERR_DATA for a row that is not two non-empty cells or a column
 * mapped twice in the file; messages name the file and row. */
cf_status cf_csv_mappings_load(cf_csv_mappings *mappings, const char *path, cf_diag *diag);

/* How the columns of a CSV feed the fields of a form. */
typedef struct cf_csv_map cf_csv_map;

/* Matches the header row against form's fields, explicit mappings (may be NULL) first, then by
 * the names the form gives its fields (see above). Every problem is reported (CF_ERR_DATA):
 * - two columns with the same folded name;
 * - a strict mapping naming a column the file lacks or a field the form lacks, and two mappings
 *   giving one field two columns;
 * - a column that two fields could claim ("could be hospital_no (by its alias) or ...");
 * - two columns that could both be one field (e.g. "Patient Name" and "中文姓名" both match
 *   patient_name): neither is used, the message says which --map settles it;
 * - a required field with no column: the message lists the columns, the closest one, and the
 *   --map "COLUMN=field" that would settle it.
 * A column with no name is a warning (its values are ignored). source (the CSV path) and row
 * (the header's row number) are used in messages. The map copies what it needs; caller frees
 * it with cf_csv_map_free. CF_ERR_NOMEM when out of memory. */
cf_status cf_csv_map_build(const cf_form *form, const cf_csv_mappings *mappings,
                           const char *const *header, size_t n_columns, const char *source,
                           long row, cf_csv_map **out, cf_diag *diag);
/* cf_csv_map_build without explicit mappings. */
cf_status cf_csv_header_map(const cf_form *form, const char *const *header, size_t n_columns,
                            const char *source, long row, cf_csv_map **out, cf_diag *diag);
void cf_csv_map_free(cf_csv_map *map);
/* Number of columns of the header. */
size_t cf_csv_map_columns(const cf_csv_map *map);
/* Field key that column i (0-based) feeds, or NULL for an extra or ignored column or i out of
 * range. */
const char *cf_csv_map_get_key(const cf_csv_map *map, size_t i);
/* Header name of column i as written (trimmed of surrounding spaces), or NULL out of range. */
const char *cf_csv_map_get_name(const cf_csv_map *map, size_t i);
/* Number of extra columns (named columns that feed no field), for the manifest. */
size_t cf_csv_map_n_extras(const cf_csv_map *map);
/* Header name of extra column j (0-based, in header order), or NULL out of range: the manifest
 * heading of that column. Valid until cf_csv_map_free. */
const char *cf_csv_map_get_extra(const cf_csv_map *map, size_t j);
/* The column (0-based) holding the ward (data/ward.h), or (size_t)-1 when none: a column named
 * ward, 病房, 病房 Ward or 病區 (folded as column names are) that feeds no field of the form,
 * or the one a mapping COLUMN=ward names. It is an extra column too. Two columns that could
 * both be the ward are an error of cf_csv_map_build. */
size_t cf_csv_map_ward_column(const cf_csv_map *map);
/* Index in the row (0-based) of extra column j, or (size_t)-1 out of range: a row that could
 * not become a record still has its cells. */
size_t cf_csv_map_extra_column(const cf_csv_map *map, size_t j);

/* Builds the record of one data row: every matched column's value under its field key
 * (cf_record_set_from_column, so the column's name is known too) and every extra column's value
 * as an extra entry (cf_record_set_extra), in header order, copied as they are (empty cells give
 * empty values); a column with no name is left out. A row with fewer or more fields than the header
 * is CF_ERR_DATA with a message naming the row and both counts. A header line among the rows is
 * CF_ERR_DATA too, naming the row: so is a ward cell that cf_ward_clean refuses (the record's
 * ward, cf_record_set_ward, is the cell trimmed; an empty cell sets none). A row whose identity
 * cell (one feeding a label field) holds, folded as column names are, the name of a column feeding
 * a label field or a key, caption or alias of a label field ("this row repeats the header line"
 * when every cell is its column's name, else the cell). Caller frees *out with cf_record_free. */
cf_status cf_csv_row_record(const cf_csv_map *map, const char *const *fields, size_t n_fields,
                            long row, cf_record **out, cf_diag *diag);

#endif
