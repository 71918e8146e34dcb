/* The streaming CSV reader: bytes are read a chunk at a time, decoded to UTF-8 (checked as they
 * come, or converted from Big5-HKSCS with iconv) and parsed by a byte-at-a-time state machine
 * that keeps only the current row. The only file that uses iconv. */
#include "data/csv.h"

#include "base/alloc.h"
#include "base/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the parser is within a row. */
typedef enum parse_state {
    ST_FIELD_START,  /* at the first byte of a field */
    ST_UNQUOTED,     /* inside a field that did not start with a quote */
    ST_QUOTED,       /* inside a quoted field */
    ST_QUOTED_QUOTE, /* just after a quote inside a quoted field: a doubled quote or the end */
} parse_state;

typedef enum fill_result {
    FILL_TEXT,    /* some decoded text is ready */
    FILL_EOF,     /* the input is used up */
    FILL_INVALID, /* the next bytes are not in the encoding */
} fill_result;

#define HEADER_NAME_MAX 40 /* longer header names are not quoted in messages */

struct cf_csv_reader {
    char *name;
    cf_diag *diag;
    cf_csv_encoding encoding; /* the one asked for */
    cf_csv_limits limits;

    /* Input: a descriptor or memory. */
    int fd;
    bool own_fd;
    bool from_memory;
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    bool eof;     /* nothing more to read */
    bool sniffed; /* the first bytes were checked for byte-order marks and spreadsheet files */

    /* Bytes read but not yet decoded: raw[raw_pos, raw_len). */
    unsigned char *raw;
    size_t raw_cap, raw_len, raw_pos;

    /* Big5-HKSCS only: the converter and its output buffer. */
    iconv_t cd;
    bool have_cd;
    char *conv;
    size_t conv_cap;

    /* With big5-hkscs: whether every byte so far could be UTF-8 (and some of it was more than
     * ASCII), to catch a UTF-8 file read as Big5, which would print wrong characters. */
    bool utf8_so_far, utf8_multibyte;
    unsigned utf8_need;
    unsigned char utf8_lo, utf8_hi;

    /* Decoded UTF-8 for the parser: text[text_pos, text_len). */
    const char *text;
    size_t text_len, text_pos;
    bool invalid;           /* decoding stopped at bytes not in the encoding */
    bool invalid_truncated; /* ... because the input ends inside a character */

    /* The row being read: each field NUL-terminated in row[]; starts[i] is field i's offset. */
    char *row;
    size_t row_cap, row_len, row_content;
    size_t *starts;
    const char **fields;
    size_t fields_cap, n_fields;
    parse_state state;
    bool in_row;     /* some byte of the current row has been seen */
    bool skip_lf;    /* the last line ended with CR: a LF right after belongs to it */
    bool quoted_cr;  /* the last byte inside quotes was a CR (a LF after it is the same line end) */
    long line;       /* line of the file the parser is on */
    long next_row;   /* row number the next row gets */
    long row_number; /* of the current or last returned row */
    long row_line;   /* line on which that row starts */
    long quote_line; /* line on which the open quoted field starts */
    bool any_row;

    /* The header row's names (for messages such as "column 3 (hospital_no)"). */
    char *header;
    size_t header_len;
    size_t *header_starts;
    size_t n_header;

    cf_status error; /* sticky */
};

void cf_csv_limits_init(cf_csv_limits *limits)
{
    limits->max_field = CF_CSV_DEFAULT_MAX_FIELD;
    limits->max_row = CF_CSV_DEFAULT_MAX_ROW;
    limits->max_columns = CF_CSV_DEFAULT_MAX_COLUMNS;
    limits->read_size = CF_CSV_DEFAULT_READ_SIZE;
}

static bool ascii_equal_nocase(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb - 'A' + 'a');
        if (ca != cb)
            return false;
        if (ca == '\0')
            return true;
    }
}

bool cf_csv_encoding_parse(const char *name, cf_csv_encoding *out)
{
    static const struct {
        const char *name;
        cf_csv_encoding encoding;
    } names[] = {
        {"auto", CF_CSV_ENCODING_AUTO},
        {"utf-8", CF_CSV_ENCODING_UTF8},
        {"utf8", CF_CSV_ENCODING_UTF8},
        {"big5-hkscs", CF_CSV_ENCODING_BIG5_HKSCS},
        {"big5hkscs", CF_CSV_ENCODING_BIG5_HKSCS},
        {"big5", CF_CSV_ENCODING_BIG5_HKSCS},
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++) {
        if (ascii_equal_nocase(name, names[i].name)) {
            *out = names[i].encoding;
            return true;
        }
    }
    return false;
}

const char *cf_csv_encoding_name(cf_csv_encoding encoding)
{
    switch (encoding) {
    case CF_CSV_ENCODING_AUTO:
        return "auto";
    case CF_CSV_ENCODING_UTF8:
        return "utf-8";
    case CF_CSV_ENCODING_BIG5_HKSCS:
        return "big5-hkscs";
    }
    return "auto";
}

/* ---- messages ---- */

/* Writes "column N" or "column N (name)" for 1-based column col into out. */
static void column_words(const cf_csv_reader *r, size_t col, char *out, size_t size)
{
    if (col >= 1 && col <= r->n_header && r->row_number > 1) {
        const char *name = r->header + r->header_starts[col - 1];
        size_t len = strlen(name);
        bool plain = len > 0 && len <= HEADER_NAME_MAX;
        for (size_t i = 0; plain && i < len; i++)
            if ((unsigned char)name[i] < 0x20 || name[i] == 0x7F)
                plain = false;
        if (plain && cf_utf8_check(name, len) == len) {
            snprintf(out, size, "column %zu (%s)", col, name);
            return;
        }
    }
    snprintf(out, size, "column %zu", col);
}

/* Reports an error about the current row (column col, 0 = none) and makes it stick. */
static cf_status row_error(cf_csv_reader *r, cf_status status, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static cf_status row_error(cf_csv_reader *r, cf_status status, size_t col, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);

    char column[96] = "", words[90];
    if (col > 0) {
        column_words(r, col, words, sizeof words);
        snprintf(column, sizeof column, "%s: ", words);
    }
    long row = r->in_row ? r->row_number : r->next_row;
    char where[64] = "";
    if (r->line != row)
        snprintf(where, sizeof where, " (line %ld of the file)", r->line);
    cf_diag_add(r->diag, CF_DIAG_ERROR, r->name, row, 0, "%s%s%s", column, what, where);
    r->error = status;
    return status;
}

/* Reports an error about the whole file and makes it stick. */
static cf_status file_error(cf_csv_reader *r, cf_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cf_status file_error(cf_csv_reader *r, cf_status status, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cf_diag_add(r->diag, CF_DIAG_ERROR, r->name, 0, 0, "%s", what);
    r->error = status;
    return status;
}

/* ---- input ---- */

/* Follows the bytes of a Big5-HKSCS file with a UTF-8 checker (see utf8_so_far). */
static void track_utf8(cf_csv_reader *r, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n && r->utf8_so_far; i++) {
        unsigned char b = p[i];
        if (r->utf8_need > 0) {
            if (b < r->utf8_lo || b > r->utf8_hi) {
                r->utf8_so_far = false;
                break;
            }
            r->utf8_lo = 0x80;
            r->utf8_hi = 0xBF;
            r->utf8_need--;
        } else if (b < 0x80) {
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            r->utf8_need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            r->utf8_need = 2;
            r->utf8_lo = b == 0xE0 ? 0xA0 : 0x80;
            r->utf8_hi = b == 0xED ? 0x9F : 0xBF;
            r->utf8_multibyte = true;
        } else if (b >= 0xF0 && b <= 0xF4) {
            r->utf8_need = 3;
            r->utf8_lo = b == 0xF0 ? 0x90 : 0x80;
            r->utf8_hi = b == 0xF4 ? 0x8F : 0xBF;
            r->utf8_multibyte = true;
        } else {
            r->utf8_so_far = false;
        }
    }
}

/* Reads up to read_size more bytes onto the end of raw; sets eof at the end of the input. */
static cf_status read_input(cf_csv_reader *r)
{
    size_t want = r->raw_cap - r->raw_len;
    if (want > r->limits.read_size)
        want = r->limits.read_size;
    if (want == 0)
        return CF_OK;
    size_t got = 0;
    if (r->from_memory) {
        got = r->mem_len - r->mem_pos;
        if (got > want)
            got = want;
        memcpy(r->raw + r->raw_len, r->mem + r->mem_pos, got);
        r->mem_pos += got;
    } else {
        for (;;) {
            ssize_t n = read(r->fd, r->raw + r->raw_len, want);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return file_error(r, CF_ERR_IO, "cannot read: %s", strerror(errno));
            got = (size_t)n;
            break;
        }
    }
    if (got == 0)
        r->eof = true;
    if (r->encoding == CF_CSV_ENCODING_BIG5_HKSCS)
        track_utf8(r, r->raw + r->raw_len, got);
    r->raw_len += got;
    return CF_OK;
}

/* Checks the first bytes: a UTF-8 byte-order mark is skipped; UTF-16 and spreadsheet files are
 * refused with a message saying how to save a CSV instead. */
static cf_status sniff(cf_csv_reader *r)
{
    const unsigned char *b = r->raw;
    size_t n = r->raw_len;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        if (r->encoding == CF_CSV_ENCODING_BIG5_HKSCS)
            return file_error(r, CF_ERR_DATA,
                              "the file starts with a UTF-8 byte-order mark, so it is UTF-8, not "
                              "Big5-HKSCS: run again with --encoding utf-8 (or auto)");
        r->raw_pos = 3;
        return CF_OK;
    }
    if (n >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF)))
        return file_error(r, CF_ERR_DATA,
                          "the file is UTF-16 (Excel's \"Unicode Text\"), which is not read: "
                          "in Excel, save it as \"CSV UTF-8 (Comma delimited)\"");
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4)
        return file_error(r, CF_ERR_DATA,
                          "this is a workbook (.xlsx) or another zip file, not a CSV file: in "
                          "Excel, save it as \"CSV UTF-8 (Comma delimited)\"");
    if (n >= 4 && b[0] == 0xD0 && b[1] == 0xCF && b[2] == 0x11 && b[3] == 0xE0)
        return file_error(r, CF_ERR_DATA,
                          "this is an old Excel workbook (.xls), not a CSV file: in Excel, save "
                          "it as \"CSV UTF-8 (Comma delimited)\"");
    return CF_OK;
}

/* True when p[0, n) (n < 4) is the start of a valid UTF-8 sequence that needs more bytes. */
static bool utf8_partial(const unsigned char *p, size_t n)
{
    unsigned char lead = p[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 3;
        lo = lead == 0xE0 ? 0xA0 : 0x80;
        hi = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 4;
        lo = lead == 0xF0 ? 0x90 : 0x80;
        hi = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
        return false;
    }
    if (n >= need)
        return false;
    for (size_t i = 1; i < n; i++) {
        if (p[i] < lo || p[i] > hi)
            return false;
        lo = 0x80;
        hi = 0xBF;
    }
    return true;
}

/* Notes that the bytes at raw_pos are not in the encoding (or, truncated, that the input ends
 * inside a character). The bytes stay at raw_pos for the message. */
static void mark_invalid(cf_csv_reader *r, bool truncated)
{
    r->invalid = true;
    r->invalid_truncated = truncated;
}

/* Decodes what raw holds into text, stopping before bytes that are not in the encoding (then
 * marked invalid) and before a character that needs more input (*partial). */
static cf_status decode(cf_csv_reader *r, bool *partial)
{
    unsigned char *in = r->raw + r->raw_pos;
    size_t in_len = r->raw_len - r->raw_pos;
    *partial = false;
    r->text_pos = 0;
    r->text_len = 0;
    if (in_len == 0)
        return CF_OK;

    if (r->encoding != CF_CSV_ENCODING_BIG5_HKSCS) {
        size_t valid = cf_utf8_check((const char *)in, in_len);
        if (valid < in_len) {
            if (in_len - valid < 4 && utf8_partial(in + valid, in_len - valid))
                *partial = true;
            else
                mark_invalid(r, /*truncated*/ false);
        }
        r->text = (const char *)in;
        r->text_len = valid;
        r->raw_pos += valid;
        return CF_OK;
    }

    char *src = (char *)in;
    size_t src_left = in_len;
    char *dst = r->conv;
    size_t dst_left = r->conv_cap;
    size_t rc = iconv(r->cd, &src, &src_left, &dst, &dst_left);
    if (rc == (size_t)-1) {
        int e = errno;
        if (e == EILSEQ)
            mark_invalid(r, /*truncated*/ false);
        else if (e == EINVAL)
            *partial = true;
        else if (e != E2BIG) /* E2BIG: the rest is converted on the next call */
            return file_error(r, CF_ERR_INTERNAL, "converting from Big5-HKSCS failed: %s",
                              strerror(e));
    }
    r->raw_pos += (size_t)(src - (char *)in);
    r->text = r->conv;
    r->text_len = (size_t)(dst - r->conv);
    return CF_OK;
}

/* Makes decoded text available: reads and decodes until there is some, the input ends, or the
 * next bytes are not in the encoding. Called only when the parser has used all the text. */
static cf_status fill(cf_csv_reader *r, fill_result *result)
{
    cf_status st = CF_OK;
    r->text_pos = r->text_len = 0;
    if (r->invalid) {
        *result = FILL_INVALID;
        return CF_OK;
    }
    if (!r->sniffed) {
        while (r->raw_len < 4 && !r->eof)
            if ((st = read_input(r)) != CF_OK)
                return st;
        if ((st = sniff(r)) != CF_OK)
            return st;
        r->sniffed = true;
    }
    for (;;) {
        bool partial;
        if ((st = decode(r, &partial)) != CF_OK)
            return st;
        if (r->text_len > 0) {
            *result = FILL_TEXT;
            return CF_OK;
        }
        if (r->invalid) {
            *result = FILL_INVALID;
            return CF_OK;
        }
        if (r->eof) {
            if (r->raw_pos < r->raw_len) {
                mark_invalid(r, /*truncated*/ true);
                *result = FILL_INVALID;
                return CF_OK;
            }
            if (r->have_cd) {
                /* Ends the conversion (a stateful converter may still owe characters). */
                char *dst = r->conv;
                size_t dst_left = r->conv_cap;
                iconv(r->cd, NULL, NULL, &dst, &dst_left);
                r->text = r->conv;
                r->text_len = (size_t)(dst - r->conv);
                if (r->text_len > 0) {
                    *result = FILL_TEXT;
                    return CF_OK;
                }
            }
            *result = FILL_EOF;
            return CF_OK;
        }
        /* Keep the undecoded bytes (part of a character) and read more after them. */
        memmove(r->raw, r->raw + r->raw_pos, r->raw_len - r->raw_pos);
        r->raw_len -= r->raw_pos;
        r->raw_pos = 0;
        if ((st = read_input(r)) != CF_OK)
            return st;
    }
}

/* Reports bytes that are not in the encoding, at the row and column where they are. The
 * message shows the first two bad bytes (all of them, up to 4, when the input ends inside a
 * character), whatever the read size. */
static cf_status decoding_error(cf_csv_reader *r)
{
    /* The parser has used all the text before the bad bytes: they can move to the front. */
    memmove(r->raw, r->raw + r->raw_pos, r->raw_len - r->raw_pos);
    r->raw_len -= r->raw_pos;
    r->raw_pos = 0;
    while (!r->invalid_truncated && r->raw_len < 2 && !r->eof)
        if (read_input(r) != CF_OK)
            return r->error;
    size_t shown = r->invalid_truncated ? 4 : 2;
    if (shown > r->raw_len)
        shown = r->raw_len;
    char bytes[32] = "";
    size_t used = 0;
    for (size_t i = 0; i < shown && used < sizeof bytes; i++) {
        int w = snprintf(bytes + used, sizeof bytes - used, "%s0x%02X", i ? " " : "", r->raw[i]);
        if (w > 0)
            used += (size_t)w;
    }
    size_t col = r->in_row ? r->n_fields : 1;
    if (r->encoding == CF_CSV_ENCODING_BIG5_HKSCS) {
        if (r->invalid_truncated)
            return row_error(r, CF_ERR_DATA, col,
                             "the file ends in the middle of a Big5-HKSCS character (%s)", bytes);
        return row_error(r, CF_ERR_DATA, col,
                         "the bytes %s are not a Big5-HKSCS character; check that the file is "
                         "Big5-HKSCS (a UTF-8 file needs --encoding auto)",
                         bytes);
    }
    const char *hint = "if the file comes from Excel on a Hong Kong or Taiwan Windows, it is "
                       "probably Big5: run again with --encoding big5-hkscs";
    if (r->invalid_truncated)
        return row_error(r, CF_ERR_DATA, col,
                         "the file ends in the middle of a UTF-8 character (%s); %s", bytes, hint);
    if (r->encoding == CF_CSV_ENCODING_AUTO)
        return row_error(r, CF_ERR_DATA, col, "the file is not UTF-8 (bytes %s); %s", bytes, hint);
    return row_error(r, CF_ERR_DATA, col,
                     "invalid UTF-8 (bytes %s) although --encoding utf-8 was given; %s", bytes,
                     hint);
}

/* ---- the row being built ---- */

/* Makes room in row[] for extra more bytes and a NUL. */
static cf_status row_reserve(cf_csv_reader *r, size_t extra)
{
    size_t need = r->row_len + extra + 1;
    if (need <= r->row_cap)
        return CF_OK;
    /* Content is capped by max_row and there is one NUL per field. */
    size_t most = r->limits.max_row + r->limits.max_columns + 1;
    size_t cap = r->row_cap ? r->row_cap : 256;
    while (cap < need)
        cap = cap > most / 2 ? most : cap * 2;
    if (cap > most)
        cap = most;
    if (cap < need)
        return row_error(r, CF_ERR_INTERNAL, 0, "row buffer cap miscomputed");
    char *grown = cf_realloc(r->row, cap);
    if (!grown)
        return row_error(r, CF_ERR_NOMEM, 0, "out of memory reading the row");
    r->row = grown;
    r->row_cap = cap;
    return CF_OK;
}

/* Starts a new field at the end of row[]. */
static cf_status begin_field(cf_csv_reader *r)
{
    if (r->n_fields == r->limits.max_columns)
        return row_error(r, CF_ERR_LIMIT, 0, "the row has more than %zu columns (the limit)",
                         r->limits.max_columns);
    if (r->n_fields == r->fields_cap) {
        size_t cap = r->fields_cap ? r->fields_cap * 2 : 16;
        if (cap > r->limits.max_columns)
            cap = r->limits.max_columns;
        size_t *starts = cf_realloc(r->starts, cap * sizeof *starts);
        if (!starts)
            return row_error(r, CF_ERR_NOMEM, 0, "out of memory reading the row");
        r->starts = starts;
        const char **fields = cf_realloc(r->fields, cap * sizeof *fields);
        if (!fields)
            return row_error(r, CF_ERR_NOMEM, 0, "out of memory reading the row");
        r->fields = fields;
        r->fields_cap = cap;
    }
    r->starts[r->n_fields++] = r->row_len;
    return CF_OK;
}

/* Appends n bytes to the current field, within the field and row caps. */
static cf_status append(cf_csv_reader *r, const char *p, size_t n)
{
    size_t field_len = r->row_len - r->starts[r->n_fields - 1];
    if (n > r->limits.max_field - field_len)
        return row_error(r, CF_ERR_LIMIT, r->n_fields,
                         "the field is longer than %zu bytes (the limit)", r->limits.max_field);
    if (n > r->limits.max_row - r->row_content)
        return row_error(r, CF_ERR_LIMIT, r->n_fields,
                         "the row is longer than %zu bytes (the limit)", r->limits.max_row);
    cf_status st = row_reserve(r, n);
    if (st)
        return st;
    memcpy(r->row + r->row_len, p, n);
    r->row_len += n;
    r->row_content += n;
    return CF_OK;
}

/* Ends the current field (NUL-terminates it). */
static cf_status end_field(cf_csv_reader *r)
{
    cf_status st = row_reserve(r, 0);
    if (st)
        return st;
    r->row[r->row_len++] = '\0';
    return CF_OK;
}

/* Keeps the header's names for messages about later rows. */
static cf_status keep_header(cf_csv_reader *r)
{
    r->header = cf_malloc(r->row_len);
    r->header_starts = cf_malloc(r->n_fields * sizeof *r->header_starts);
    if (!r->header || !r->header_starts)
        return row_error(r, CF_ERR_NOMEM, 0, "out of memory reading the header");
    memcpy(r->header, r->row, r->row_len);
    r->header_len = r->row_len;
    memcpy(r->header_starts, r->starts, r->n_fields * sizeof *r->header_starts);
    r->n_header = r->n_fields;
    return CF_OK;
}

/* Starts a row at the current line. */
static cf_status begin_row(cf_csv_reader *r)
{
    r->in_row = true;
    r->row_number = r->next_row++;
    r->row_line = r->line;
    r->row_len = 0;
    r->row_content = 0;
    r->n_fields = 0;
    r->state = ST_FIELD_START;
    return begin_field(r);
}

/* Parses text until the current row is complete (*done) or the text is used up. */
static cf_status parse_text(cf_csv_reader *r, bool *done)
{
    const char *text = r->text;
    size_t i = r->text_pos, n = r->text_len;
    cf_status st = CF_OK;
    *done = false;
    while (i < n && !*done) {
        char c = text[i];
        if (r->skip_lf) {
            r->skip_lf = false;
            if (c == '\n') {
                i++;
                continue;
            }
        }
        if (c == '\0') {
            r->text_pos = i;
            return row_error(r, CF_ERR_DATA, r->in_row ? r->n_fields : 1,
                             "the file holds a NUL byte, so it is not a text CSV file (UTF-16 or a "
                             "spreadsheet?): in Excel, save it as \"CSV UTF-8 (Comma delimited)\"");
        }
        if (!r->in_row) {
            if (c == '\r' || c == '\n') {
                /* An empty line between rows is skipped: Excel never writes one, but a file
                 * edited by hand often ends with or contains blank lines, and an empty line
                 * cannot be a patient (the form's label fields are required). It still counts
                 * as a row, as a spreadsheet shows it as one, so row numbers match what the
                 * nurse sees in Excel. */
                r->line++;
                r->next_row++;
                r->skip_lf = c == '\r';
                i++;
                continue;
            }
            if ((st = begin_row(r)) != CF_OK)
                return st;
        }
        switch (r->state) {
        case ST_FIELD_START:
            if (c == '"') {
                r->state = ST_QUOTED;
                r->quote_line = r->line;
                r->quoted_cr = false;
                i++;
                continue;
            }
            r->state = ST_UNQUOTED;
            /* Same byte again as part of an unquoted field. */
            continue;
        case ST_UNQUOTED: {
            size_t j = i;
            while (j < n && text[j] != ',' && text[j] != '"' && text[j] != '\r' &&
                   text[j] != '\n' && text[j] != '\0')
                j++;
            if (j > i && (st = append(r, text + i, j - i)) != CF_OK)
                return st;
            i = j;
            if (i == n || text[i] == '\0')
                continue;
            c = text[i];
            if (c == '"') {
                r->text_pos = i;
                return row_error(r, CF_ERR_DATA, r->n_fields,
                                 "a quote (\") inside a field that does not start with one; "
                                 "put the whole field in quotes and double the quote (\"\")");
            }
            break;
        }
        case ST_QUOTED: {
            size_t j = i;
            while (j < n && text[j] != '"' && text[j] != '\r' && text[j] != '\n' && text[j] != '\0')
                j++;
            if (j > i) {
                if ((st = append(r, text + i, j - i)) != CF_OK)
                    return st;
                r->quoted_cr = false;
            }
            i = j;
            if (i == n || text[i] == '\0')
                continue;
            c = text[i++];
            if (c == '"') {
                r->state = ST_QUOTED_QUOTE;
                r->quoted_cr = false;
                continue;
            }
            /* A line break inside quotes is part of the field. */
            if ((st = append(r, &c, 1)) != CF_OK)
                return st;
            if (c == '\r' || !r->quoted_cr)
                r->line++;
            r->quoted_cr = c == '\r';
            continue;
        }
        case ST_QUOTED_QUOTE:
            if (c == '"') {
                if ((st = append(r, &c, 1)) != CF_OK)
                    return st;
                r->state = ST_QUOTED;
                i++;
                continue;
            }
            if (c != ',' && c != '\r' && c != '\n') {
                r->text_pos = i;
                return row_error(r, CF_ERR_DATA, r->n_fields,
                                 "text after the closing quote of a quoted field; a quote inside "
                                 "a quoted field must be doubled (\"\")");
            }
            break;
        }
        /* Here c is a field separator or a line end outside quotes. */
        i++;
        if ((st = end_field(r)) != CF_OK)
            return st;
        if (c == ',') {
            r->state = ST_FIELD_START;
            if ((st = begin_field(r)) != CF_OK)
                return st;
            continue;
        }
        r->line++;
        r->skip_lf = c == '\r';
        *done = true;
    }
    r->text_pos = i;
    return CF_OK;
}

/* Reads one row into row[]; *end is set instead at the end of the input. */
static cf_status read_row(cf_csv_reader *r, bool *end)
{
    cf_status st = CF_OK;
    *end = false;
    r->in_row = false;
    for (;;) {
        if (r->text_pos == r->text_len) {
            fill_result result;
            if ((st = fill(r, &result)) != CF_OK)
                return st;
            if (result == FILL_INVALID)
                return decoding_error(r);
            if (result == FILL_EOF) {
                if (!r->in_row) {
                    *end = true;
                    return CF_OK;
                }
                if (r->state == ST_QUOTED)
                    return row_error(r, CF_ERR_DATA, r->n_fields,
                                     "the quoted field that starts on line %ld has no closing "
                                     "quote: the file ends inside it",
                                     r->quote_line);
                /* The last line has no line break. */
                return end_field(r);
            }
        }
        bool done;
        if ((st = parse_text(r, &done)) != CF_OK)
            return st;
        if (done)
            return CF_OK;
    }
}

cf_status cf_csv_next_row(cf_csv_reader *reader, const char *const **fields, size_t *n_fields)
{
    *fields = NULL;
    *n_fields = 0;
    if (!reader)
        return CF_ERR_INTERNAL;
    cf_csv_reader *r = reader;
    if (r->error)
        return r->error;
    bool end;
    cf_status st = read_row(r, &end);
    if (st) {
        r->error = st;
        return st;
    }
    if (end) {
        if (!r->any_row)
            return file_error(r, CF_ERR_DATA, "empty file: no header row");
        if (r->encoding == CF_CSV_ENCODING_BIG5_HKSCS && r->utf8_so_far && r->utf8_need == 0 &&
            r->utf8_multibyte)
            return file_error(r, CF_ERR_DATA,
                              "the file is UTF-8 text, not Big5-HKSCS: every byte of it is valid "
                              "UTF-8, which Big5 text practically never is, and read as "
                              "Big5-HKSCS it would print wrong characters; run again with "
                              "--encoding auto");
        return CF_OK;
    }
    if (!r->any_row) {
        r->any_row = true;
        if ((st = keep_header(r)) != CF_OK)
            return st;
    }
    for (size_t i = 0; i < r->n_fields; i++)
        r->fields[i] = r->row + r->starts[i];
    *fields = r->fields;
    *n_fields = r->n_fields;
    return CF_OK;
}

/* ---- opening and closing ---- */

static cf_status reader_new(const char *name, cf_csv_encoding encoding, const cf_csv_limits *limits,
                            cf_csv_reader **out, cf_diag *diag)
{
    cf_status st = CF_ERR_NOMEM;
    cf_csv_reader *r = cf_calloc(1, sizeof *r);
    if (!r)
        goto fail;
    r->fd = -1;
    r->diag = diag;
    r->encoding = encoding;
    r->line = 1;
    r->next_row = 1;
    r->utf8_so_far = true;
    if (limits)
        r->limits = *limits;
    else
        cf_csv_limits_init(&r->limits);
    r->name = cf_strdup(name ? name : "CSV");
    if (!r->name)
        goto fail;
    if (r->limits.max_field == 0 || r->limits.max_row == 0 || r->limits.max_columns == 0 ||
        r->limits.read_size == 0 || r->limits.read_size > ((size_t)1 << 30) ||
        r->limits.max_row > ((size_t)-1) / 4 || r->limits.max_columns > ((size_t)-1) / 64) {
        cf_diag_error(diag, r->name, 0, "invalid CSV limits (a cap of 0 or too large)");
        st = CF_ERR_INTERNAL;
        goto fail;
    }
    /* Room for one read plus the start of a character left over from the last one. */
    r->raw_cap = r->limits.read_size + 8;
    r->raw = cf_malloc(r->raw_cap);
    if (!r->raw)
        goto fail;
    if (encoding == CF_CSV_ENCODING_BIG5_HKSCS) {
        r->cd = iconv_open("UTF-8", "BIG5-HKSCS");
        if (r->cd == (iconv_t)-1) {
            cf_diag_error(diag, r->name, 0,
                          "this system cannot convert Big5-HKSCS (iconv: %s); save the file as "
                          "\"CSV UTF-8\" instead",
                          strerror(errno));
            st = CF_ERR_INTERNAL;
            goto fail;
        }
        r->have_cd = true;
        /* Big5-HKSCS takes at most 2 bytes for what UTF-8 writes in 4 (a non-BMP character or
         * a letter with a combining mark), and ASCII stays 1 byte. */
        r->conv_cap = 2 * r->raw_cap + 16;
        r->conv = cf_malloc(r->conv_cap);
        if (!r->conv)
            goto fail;
    }
    *out = r;
    return CF_OK;

fail:
    if (st == CF_ERR_NOMEM)
        cf_diag_error(diag, name, 0, "out of memory opening the CSV file");
    cf_csv_reader_close(r);
    return st;
}

cf_status cf_csv_reader_open(const char *path, cf_csv_encoding encoding,
                             const cf_csv_limits *limits, cf_csv_reader **out, cf_diag *diag)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cf_diag_error(diag, path, 0, "cannot open the CSV file: %s", strerror(errno));
        return CF_ERR_NOINPUT;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        cf_diag_error(diag, path, 0, "is a directory, not a CSV file");
        close(fd);
        return CF_ERR_NOINPUT;
    }
    cf_status st = cf_csv_reader_open_fd(fd, path, encoding, limits, out, diag);
    if (st) {
        close(fd);
        return st;
    }
    (*out)->own_fd = true;
    return CF_OK;
}

cf_status cf_csv_reader_open_fd(int fd, const char *name, cf_csv_encoding encoding,
                                const cf_csv_limits *limits, cf_csv_reader **out, cf_diag *diag)
{
    *out = NULL;
    cf_csv_reader *r = NULL;
    cf_status st = reader_new(name, encoding, limits, &r, diag);
    if (st)
        return st;
    r->fd = fd;
    *out = r;
    return CF_OK;
}

cf_status cf_csv_reader_open_memory(const void *data, size_t len, const char *name,
                                    cf_csv_encoding encoding, const cf_csv_limits *limits,
                                    cf_csv_reader **out, cf_diag *diag)
{
    *out = NULL;
    cf_csv_reader *r = NULL;
    cf_status st = reader_new(name, encoding, limits, &r, diag);
    if (st)
        return st;
    r->from_memory = true;
    r->mem = data;
    r->mem_len = data ? len : 0;
    *out = r;
    return CF_OK;
}

void cf_csv_reader_close(cf_csv_reader *reader)
{
    if (!reader)
        return;
    if (reader->own_fd && reader->fd >= 0)
        close(reader->fd);
    if (reader->have_cd)
        iconv_close(reader->cd);
    cf_free(reader->conv);
    cf_free(reader->raw);
    cf_free(reader->row);
    cf_free(reader->starts);
    cf_free(reader->fields);
    cf_free(reader->header);
    cf_free(reader->header_starts);
    cf_free(reader->name);
    cf_free(reader);
}

long cf_csv_row_number(const cf_csv_reader *reader)
{
    return reader ? reader->row_number : 0;
}

long cf_csv_line_number(const cf_csv_reader *reader)
{
    return reader ? reader->row_line : 0;
}

cf_csv_encoding cf_csv_reader_encoding(const cf_csv_reader *reader)
{
    if (!reader || reader->encoding == CF_CSV_ENCODING_AUTO)
        return CF_CSV_ENCODING_UTF8;
    return reader->encoding;
}

const char *cf_csv_reader_name(const cf_csv_reader *reader)
{
    return reader ? reader->name : NULL;
}

size_t cf_csv_reader_memory(const cf_csv_reader *reader)
{
    if (!reader)
        return 0;
    const cf_csv_reader *r = reader;
    return sizeof *r + strlen(r->name) + 1 + r->raw_cap + r->conv_cap + r->row_cap +
           r->fields_cap * (sizeof *r->starts + sizeof *r->fields) + r->header_len +
           r->n_header * sizeof *r->header_starts;
}
