/* The streaming CSV reader: bytes are read a chunk at a time, decoded to UTF-8 (checked as they
 * come, or converted from Big5-HKSCS, Big5 (cp950) or UTF-16 with iconv) and parsed by a
 * byte-at-a-time state machine that keeps only the current row. The only file that uses iconv.
 *
 * With --encoding auto, a regular file (or memory) that is not UTF-8 is scanned once before it
 * is read, to see whether it is Big5-HKSCS; the rows are still read once, and the same checks
 * are made again on the bytes as they are read (a file changed in between is refused, never
 * misread). */
#include "data/csv.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <pthread.h>
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

/* Why decoding stopped. */
typedef enum invalid_kind {
    INVALID_BYTES,     /* bytes that are not in the encoding */
    INVALID_UDA,       /* big5: a pair in cp950's user-defined areas (造字) */
    INVALID_AMBIGUOUS, /* auto-detected Big5-HKSCS: a pair that cp950 reads differently */
} invalid_kind;

#define HEADER_NAME_MAX 40 /* longer header names are not quoted in messages */
#define SCAN_CHUNK ((size_t)64 << 10)
#define HEAD_MAX ((size_t)64 << 10) /* decoded bytes gathered to find sep= and the delimiter */

struct cf_csv_reader {
    char *name;
    cf_diag *diag;
    cf_csv_encoding asked;    /* the one asked for */
    cf_csv_encoding encoding; /* the one asked for; after sniff(), the one in use */
    bool detected_big5;       /* auto chose Big5-HKSCS: ambiguous pairs are refused */
    bool auto_scanned;        /* auto: the whole input was scanned before reading */
    bool not_utf8_no_big5;    /* auto: the scan found the file neither UTF-8 nor Big5-HKSCS */
    cf_csv_limits limits;
    char delimiter;    /* 0 until known */
    bool head_done;    /* the first line(s) were gathered for sep= and the delimiter */
    cf_buf head;       /* decoded text of the first line(s), served before the rest */
    bool head_serving; /* text points into head */

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

    /* Encodings other than UTF-8: the converter and its output buffer. */
    iconv_t cd;
    bool have_cd;
    char *conv;
    size_t conv_cap;

    /* With big5 or big5-hkscs: whether every byte so far could be UTF-8 (and some of it was
     * more than ASCII), to catch a UTF-8 file read as Big5, which would print wrong characters.
     * utf8_multibyte also notes UTF-8 beyond ASCII in a UTF-8 list read from a pipe. */
    bool utf8_so_far, utf8_multibyte;
    unsigned utf8_need;
    unsigned char utf8_lo, utf8_hi;

    /* Decoded UTF-8 for the parser: text[text_pos, text_len). */
    const char *text;
    size_t text_len, text_pos;
    bool invalid; /* decoding stopped at bytes not in the encoding */
    invalid_kind invalid_why;
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

/* True when a[0, n) equals b[0, n), ignoring ASCII case. */
static bool ascii_equal_nocase_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[i];
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb - 'A' + 'a');
        if (ca != cb)
            return false;
    }
    return true;
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
        {"big5", CF_CSV_ENCODING_BIG5},
        {"cp950", CF_CSV_ENCODING_BIG5},
        {"utf-16", CF_CSV_ENCODING_UTF16},
        {"utf16", CF_CSV_ENCODING_UTF16},
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
    case CF_CSV_ENCODING_BIG5:
        return "big5";
    case CF_CSV_ENCODING_UTF16:
        return "utf-16";
    case CF_CSV_ENCODING_UTF16LE:
        return "utf-16le";
    case CF_CSV_ENCODING_UTF16BE:
        return "utf-16be";
    }
    return "auto";
}

bool cf_csv_delimiter_parse(const char *name, char *out)
{
    static const struct {
        const char *name;
        char delimiter;
    } names[] = {
        {",", ','},   {"comma", ','}, {";", ';'},    {"semicolon", ';'},
        {"\t", '\t'}, {"\\t", '\t'},  {"tab", '\t'}, {"auto", 0},
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++) {
        if (ascii_equal_nocase(name, names[i].name)) {
            *out = names[i].delimiter;
            return true;
        }
    }
    return false;
}

const char *cf_csv_delimiter_name(char delimiter)
{
    switch (delimiter) {
    case ',':
        return "comma";
    case ';':
        return "semicolon";
    case '\t':
        return "tab";
    default:
        return "auto";
    }
}

/* Display name of an encoding in messages. */
static const char *encoding_words(cf_csv_encoding encoding)
{
    switch (encoding) {
    case CF_CSV_ENCODING_BIG5_HKSCS:
        return "Big5-HKSCS";
    case CF_CSV_ENCODING_BIG5:
        return "Big5 (cp950)";
    case CF_CSV_ENCODING_UTF16:
    case CF_CSV_ENCODING_UTF16LE:
    case CF_CSV_ENCODING_UTF16BE:
        return "UTF-16";
    default:
        return "UTF-8";
    }
}

static bool is_big5(cf_csv_encoding encoding)
{
    return encoding == CF_CSV_ENCODING_BIG5 || encoding == CF_CSV_ENCODING_BIG5_HKSCS;
}

/* ---- Big5: the byte pairs that need care ---- */

/* True for a pair in cp950's user-defined areas (造字): 0x8140-0xA0FE, 0xC6A1-0xC8FE,
 * 0xFA40-0xFEFE. glibc's CP950 maps some of them to private-use characters, so the bytes are
 * checked here rather than trusting iconv to refuse them. */
static bool big5_user_defined(unsigned char lead, unsigned char trail)
{
    unsigned pair = (unsigned)lead << 8 | trail;
    return (pair >= 0x8140 && pair <= 0xA0FE) || (pair >= 0xC6A1 && pair <= 0xC8FE) ||
           (pair >= 0xFA40 && pair <= 0xFEFE);
}

/* Bit per byte pair (lead 0x80-0xFF, any trail): Big5-HKSCS decodes the pair, and cp950
 * refuses it or decodes it to something else. Computed once from the two converters. */
static unsigned char ambiguous_pairs[128 * 256 / 8];
static size_t ambiguous_count;
static bool ambiguous_ready;
static pthread_once_t ambiguous_once = PTHREAD_ONCE_INIT;

/* Decodes one pair with cd into out (UTF-8); returns the length, 0 when cd refuses it. */
static size_t decode_pair(iconv_t cd, unsigned char lead, unsigned char trail, char *out,
                          size_t cap)
{
    char in[2] = {(char)lead, (char)trail};
    char *src = in, *dst = out;
    size_t src_left = 2, dst_left = cap;
    iconv(cd, NULL, NULL, NULL, NULL);
    size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
    if (rc == (size_t)-1 || src_left != 0)
        return 0;
    /* Flushes a character the converter may hold back (HKSCS's combining pairs). */
    iconv(cd, NULL, NULL, &dst, &dst_left);
    return (size_t)(dst - out);
}

static void build_ambiguous_pairs(void)
{
    iconv_t hk = iconv_open("UTF-8", "BIG5-HKSCS");
    iconv_t tw = iconv_open("UTF-8", "CP950");
    if (hk == (iconv_t)-1 || tw == (iconv_t)-1)
        goto done;
    for (unsigned lead = 0x81; lead <= 0xFE; lead++) {
        for (unsigned trail = 0x40; trail <= 0xFE; trail++) {
            char a[32], b[32];
            size_t na = decode_pair(hk, (unsigned char)lead, (unsigned char)trail, a, sizeof a);
            if (na == 0)
                continue;
            size_t nb = decode_pair(tw, (unsigned char)lead, (unsigned char)trail, b, sizeof b);
            if (nb != na || memcmp(a, b, na) != 0) {
                unsigned bit = (lead - 0x80) * 256 + trail;
                ambiguous_pairs[bit / 8] |= (unsigned char)(1u << (bit % 8));
                ambiguous_count++;
            }
        }
    }
    ambiguous_ready = true;
done:
    if (hk != (iconv_t)-1)
        iconv_close(hk);
    if (tw != (iconv_t)-1)
        iconv_close(tw);
}

/* True when Big5-HKSCS and cp950 read the pair differently (or the table could not be built:
 * then every pair above ASCII counts, so nothing is guessed). */
static bool big5_ambiguous(unsigned char lead, unsigned char trail)
{
    pthread_once(&ambiguous_once, build_ambiguous_pairs);
    if (!ambiguous_ready)
        return true;
    unsigned bit = (unsigned)(lead - 0x80) * 256 + trail;
    return (ambiguous_pairs[bit / 8] >> (bit % 8)) & 1;
}

size_t cf_csv_big5_ambiguous_count(void)
{
    pthread_once(&ambiguous_once, build_ambiguous_pairs);
    return ambiguous_ready ? ambiguous_count : 0;
}

/* ---- messages ---- */

/* Writes "column N" or "column N (name)" for 1-based column col into out. */
static void column_words(const cf_csv_reader *r, size_t col, char *out, size_t size)
{
    long row = r->in_row ? r->row_number : r->next_row;
    if (col >= 1 && col <= r->n_header && row > 1) {
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
    if (is_big5(r->encoding))
        track_utf8(r, r->raw + r->raw_len, got);
    r->raw_len += got;
    return CF_OK;
}

/* Opens the converter from the encoding named from (iconv's name) and its output buffer. */
static cf_status open_converter(cf_csv_reader *r, const char *from)
{
    r->cd = iconv_open("UTF-8", from);
    if (r->cd == (iconv_t)-1)
        return file_error(r, CF_ERR_INTERNAL,
                          "this system cannot convert %s (iconv: %s); save the file as \"CSV "
                          "UTF-8\" instead",
                          encoding_words(r->encoding), strerror(errno));
    r->have_cd = true;
    /* Big5 takes at most 2 bytes for what UTF-8 writes in 4 (a non-BMP character or a letter
     * with a combining mark), UTF-16 2 for 3 and 4 for 4, and ASCII stays 1 byte. */
    r->conv_cap = 2 * r->raw_cap + 16;
    r->conv = cf_malloc(r->conv_cap);
    if (!r->conv)
        return file_error(r, CF_ERR_NOMEM, "out of memory opening the CSV file");
    return CF_OK;
}

/* What the scan of a whole input before reading found (--encoding auto). */
typedef struct auto_scan {
    unsigned need; /* UTF-8: continuation bytes still expected */
    unsigned char lo, hi;
    size_t multi;   /* valid UTF-8 sequences of 2 to 4 bytes */
    size_t invalid; /* bytes that are not UTF-8 */
    iconv_t cd;     /* Big5-HKSCS pass */
    bool big5_ok;
    char carry[8]; /* bytes of a Big5 character split between chunks */
    size_t n_carry;
    char *out;
} auto_scan;

/* UTF-8 pass: counts valid multi-byte sequences and bytes that are not UTF-8. */
static void scan_utf8(auto_scan *a, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = p[i];
        if (a->need > 0) {
            if (b >= a->lo && b <= a->hi) {
                a->lo = 0x80;
                a->hi = 0xBF;
                if (--a->need == 0)
                    a->multi++;
                continue;
            }
            a->need = 0;
            a->invalid++;
            /* b starts afresh below. */
        }
        if (b < 0x80)
            continue;
        a->lo = 0x80;
        a->hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
            a->need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            a->need = 2;
            a->lo = b == 0xE0 ? 0xA0 : 0x80;
            a->hi = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            a->need = 3;
            a->lo = b == 0xF0 ? 0x90 : 0x80;
            a->hi = b == 0xF4 ? 0x8F : 0xBF;
        } else {
            a->invalid++;
        }
    }
}

/* Big5-HKSCS pass: whether every byte converts. */
static void scan_big5(auto_scan *a, const unsigned char *p, size_t n)
{
    while (a->big5_ok && n > 0) {
        char in[SCAN_CHUNK / 4 + 8];
        size_t take = n < SCAN_CHUNK / 4 ? n : SCAN_CHUNK / 4;
        memcpy(in, a->carry, a->n_carry);
        memcpy(in + a->n_carry, p, take);
        p += take;
        n -= take;
        char *src = in, *dst = a->out;
        size_t src_left = a->n_carry + take, dst_left = SCAN_CHUNK;
        a->n_carry = 0;
        size_t rc = iconv(a->cd, &src, &src_left, &dst, &dst_left);
        if (rc == (size_t)-1 && errno == EINVAL && src_left < sizeof a->carry) {
            memcpy(a->carry, src, src_left);
            a->n_carry = src_left;
        } else if (rc == (size_t)-1) {
            a->big5_ok = false;
        }
    }
}

/* Calls pass over every byte of the input, from the start, without moving the reader: raw's
 * bytes, then the rest of the memory or (a regular file) of the file, read with pread. *ok is
 * false when the input cannot be scanned (a pipe). */
static cf_status scan_input(cf_csv_reader *r, auto_scan *a,
                            void (*pass)(auto_scan *, const unsigned char *, size_t), bool *ok)
{
    *ok = true;
    if (r->from_memory) {
        pass(a, r->raw, r->raw_len);
        pass(a, r->mem + r->mem_pos, r->mem_len - r->mem_pos);
        return CF_OK;
    }
    struct stat sb;
    off_t at = lseek(r->fd, 0, SEEK_CUR);
    if (fstat(r->fd, &sb) != 0 || !S_ISREG(sb.st_mode) || at < 0) {
        *ok = false;
        return CF_OK;
    }
    unsigned char *chunk = cf_malloc(SCAN_CHUNK);
    if (!chunk)
        return file_error(r, CF_ERR_NOMEM, "out of memory reading the CSV file");
    pass(a, r->raw, r->raw_len);
    for (;;) {
        ssize_t got = pread(r->fd, chunk, SCAN_CHUNK, at);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            cf_free(chunk);
            return file_error(r, CF_ERR_IO, "cannot read: %s", strerror(errno));
        }
        if (got == 0)
            break;
        pass(a, chunk, (size_t)got);
        at += got;
    }
    cf_free(chunk);
    return CF_OK;
}

/* --encoding auto without a byte-order mark: UTF-8, unless the whole input is not UTF-8 (and
 * not mostly UTF-8 with a stray byte) but decodes completely as Big5-HKSCS. */
static cf_status choose_encoding(cf_csv_reader *r)
{
    auto_scan a = {.big5_ok = true, .cd = (iconv_t)-1};
    bool ok;
    r->encoding = CF_CSV_ENCODING_UTF8;
    cf_status st = scan_input(r, &a, scan_utf8, &ok);
    if (st || !ok)
        return st;
    r->auto_scanned = true;
    if (a.need > 0)
        a.invalid++;
    if (a.invalid == 0)
        return CF_OK;
    r->not_utf8_no_big5 = true;
    /* A UTF-8 file with a stray byte (a Windows-1252 é) is UTF-8 with an error, not Big5:
     * Big5 text has far more bytes that are not UTF-8 than sequences that are. */
    if (a.multi >= a.invalid)
        return CF_OK;
    a.cd = iconv_open("UTF-8", "BIG5-HKSCS");
    a.out = cf_malloc(SCAN_CHUNK);
    if (a.cd == (iconv_t)-1 || !a.out) {
        if (a.cd != (iconv_t)-1)
            iconv_close(a.cd);
        cf_free(a.out);
        return CF_OK;
    }
    st = scan_input(r, &a, scan_big5, &ok);
    if (a.n_carry > 0)
        a.big5_ok = false;
    iconv_close(a.cd);
    cf_free(a.out);
    if (st == CF_OK && ok && a.big5_ok) {
        r->encoding = CF_CSV_ENCODING_BIG5_HKSCS;
        r->detected_big5 = true;
        r->not_utf8_no_big5 = false;
    }
    return st;
}

/* Checks the first bytes: a UTF-8 byte-order mark is skipped, a UTF-16 one chooses UTF-16;
 * spreadsheet files are refused with a message saying how to save a CSV instead. Then, for
 * --encoding auto, chooses the encoding, and opens the converter when one is needed. */
static cf_status sniff(cf_csv_reader *r)
{
    const unsigned char *b = r->raw;
    size_t n = r->raw_len;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        if (r->encoding != CF_CSV_ENCODING_AUTO && r->encoding != CF_CSV_ENCODING_UTF8)
            return file_error(r, CF_ERR_DATA,
                              "the file starts with a UTF-8 byte-order mark, so it is UTF-8, not "
                              "%s: run again with --encoding utf-8 (or auto)",
                              encoding_words(r->encoding));
        r->encoding = CF_CSV_ENCODING_UTF8;
        r->raw_pos = 3;
        return CF_OK;
    }
    if (n >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))) {
        if (r->encoding != CF_CSV_ENCODING_AUTO && r->encoding != CF_CSV_ENCODING_UTF16)
            return file_error(r, CF_ERR_DATA,
                              "the file starts with a UTF-16 byte-order mark (Excel's \"Unicode "
                              "Text\"), so it is UTF-16, not %s: run again with --encoding auto",
                              encoding_words(r->encoding));
        bool little = b[0] == 0xFF;
        r->encoding = little ? CF_CSV_ENCODING_UTF16LE : CF_CSV_ENCODING_UTF16BE;
        r->raw_pos = 2;
        return open_converter(r, little ? "UTF-16LE" : "UTF-16BE");
    }
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4)
        return file_error(r, CF_ERR_DATA,
                          "this is a workbook (.xlsx) or another zip file, not a CSV file: in "
                          "Excel, save it as \"CSV UTF-8 (Comma delimited)\"");
    if (n >= 4 && b[0] == 0xD0 && b[1] == 0xCF && b[2] == 0x11 && b[3] == 0xE0)
        return file_error(r, CF_ERR_DATA,
                          "this is an old Excel workbook (.xls), not a CSV file: in Excel, save "
                          "it as \"CSV UTF-8 (Comma delimited)\"");
    if (r->encoding == CF_CSV_ENCODING_UTF16)
        return file_error(r, CF_ERR_DATA,
                          "--encoding utf-16 was given, but the file does not start with a UTF-16 "
                          "byte-order mark: run again with --encoding auto");
    if (r->encoding == CF_CSV_ENCODING_AUTO) {
        cf_status st = choose_encoding(r);
        if (st)
            return st;
    }
    if (r->encoding == CF_CSV_ENCODING_BIG5_HKSCS)
        return open_converter(r, "BIG5-HKSCS");
    if (r->encoding == CF_CSV_ENCODING_BIG5)
        return open_converter(r, "CP950");
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
    r->invalid_why = INVALID_BYTES;
}

/* Big5: the offset in in[0, len) (which starts at a character) of the first pair that must not
 * be read (a user-defined pair under big5, an ambiguous one under auto-detected Big5-HKSCS), or
 * of a lead byte that ends the input (*incomplete: its pair is checked once the next byte has
 * been read), or len. */
static size_t big5_first_refused(const cf_csv_reader *r, const unsigned char *in, size_t len,
                                 bool *incomplete)
{
    *incomplete = false;
    if (r->encoding != CF_CSV_ENCODING_BIG5 && !r->detected_big5)
        return len;
    size_t i = 0;
    while (i < len) {
        unsigned char c = in[i];
        if (c < 0x81 || c == 0xFF) {
            i++;
            continue;
        }
        if (i + 1 >= len) {
            *incomplete = true;
            return i;
        }
        bool refused = r->encoding == CF_CSV_ENCODING_BIG5 ? big5_user_defined(c, in[i + 1])
                                                           : big5_ambiguous(c, in[i + 1]);
        if (refused)
            return i;
        i += 2;
    }
    return len;
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

    if (!r->have_cd) {
        size_t valid = cf_utf8_check((const char *)in, in_len);
        if (valid < in_len) {
            if (in_len - valid < 4 && utf8_partial(in + valid, in_len - valid))
                *partial = true;
            else
                mark_invalid(r, /*truncated*/ false);
        }
        /* Unscanned input (a pipe): note whether it held UTF-8 beyond ASCII before any bad
         * byte, which makes it a UTF-8 list with a stray byte rather than Big5. */
        for (size_t i = 0; !r->auto_scanned && !r->utf8_multibyte && i < valid; i++)
            if (in[i] >= 0x80)
                r->utf8_multibyte = true;
        r->text = (const char *)in;
        r->text_len = valid;
        r->raw_pos += valid;
        return CF_OK;
    }

    /* A refused Big5 pair is checked on the bytes: iconv converts only what comes before it
     * (or before a lead byte whose pair is not read yet: it is checked on the next call). */
    bool incomplete;
    size_t refused = big5_first_refused(r, in, in_len, &incomplete);
    if (refused == 0 && incomplete) {
        *partial = true;
        return CF_OK;
    }
    char *src = (char *)in;
    size_t src_left = refused;
    char *dst = r->conv;
    size_t dst_left = r->conv_cap;
    size_t rc = refused > 0 ? iconv(r->cd, &src, &src_left, &dst, &dst_left) : 0;
    if (rc == (size_t)-1) {
        int e = errno;
        if (e == EILSEQ)
            mark_invalid(r, /*truncated*/ false);
        else if (e == EINVAL)
            *partial = true;
        else if (e != E2BIG) /* E2BIG: the rest is converted on the next call */
            return file_error(r, CF_ERR_INTERNAL, "converting from %s failed: %s",
                              encoding_words(r->encoding), strerror(e));
    } else if (refused < in_len && src_left == 0 && !incomplete) {
        mark_invalid(r, /*truncated*/ false);
        r->invalid_why = r->encoding == CF_CSV_ENCODING_BIG5 ? INVALID_UDA : INVALID_AMBIGUOUS;
    }
    r->raw_pos += (size_t)(src - (char *)in);
    r->text = r->conv;
    r->text_len = (size_t)(dst - r->conv);
    return CF_OK;
}

/* Makes decoded text available: reads and decodes until there is some, the input ends, or the
 * next bytes are not in the encoding. */
static cf_status fill_raw(cf_csv_reader *r, fill_result *result)
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

/* True when head[from, len) holds a line end outside quotes; *end is its offset. */
static bool head_line_end(const cf_buf *head, size_t from, size_t *end)
{
    bool quoted = false;
    for (size_t i = from; head->data && i < head->len; i++) {
        char c = head->data[i];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && (c == '\r' || c == '\n')) {
            *end = i;
            return true;
        }
    }
    return false;
}

/* The delimiter of the header line head[from, ...): the candidate found most often outside
 * quotes (comma first on a tie), comma when there is none. */
static char sniff_delimiter(const cf_buf *head, size_t from)
{
    static const char candidates[] = {',', '\t', ';'};
    size_t counts[3] = {0, 0, 0};
    bool quoted = false;
    for (size_t i = from; head->data && i < head->len; i++) {
        char c = head->data[i];
        if (c == '"')
            quoted = !quoted;
        if (quoted)
            continue;
        if (c == '\r' || c == '\n')
            break;
        for (size_t k = 0; k < 3; k++)
            if (c == candidates[k])
                counts[k]++;
    }
    size_t best = 0;
    for (size_t k = 1; k < 3; k++)
        if (counts[k] > counts[best])
            best = k;
    return candidates[best];
}

/* Decodes the first line (and the header after a "sep=" line) into head, so that Excel's
 * "sep=;" line is honoured and the delimiter sniffed before the parser sees a byte. Sets the
 * delimiter and *start, where the rows begin in head. */
static cf_status gather_head(cf_csv_reader *r, size_t *start)
{
    *start = 0;
    /* No cap of its own: it holds less than HEAD_MAX plus one decoded chunk. */
    cf_buf_init(&r->head, (size_t)-1 / 2);
    size_t end = 0;
    for (;;) {
        fill_result result;
        cf_status st = fill_raw(r, &result);
        if (st)
            return st;
        if (result != FILL_TEXT)
            break;
        if (cf_buf_append(&r->head, r->text, r->text_len) != CF_OK)
            return file_error(r, CF_ERR_NOMEM, "out of memory reading the CSV file");
        /* The start of a long header is enough to sniff the delimiter from. */
        if (head_line_end(&r->head, 0, &end) || r->head.len >= HEAD_MAX)
            break;
    }
    const char *h = r->head.data ? r->head.data : "";
    size_t len = r->head.len;
    /* Excel's first line "sep=X" names the delimiter; it is not a row of the list. */
    bool at_end = r->eof && r->raw_pos == r->raw_len;
    if (len >= 5 && ascii_equal_nocase_n(h, "sep=", 4) &&
        (h[4] == ',' || h[4] == ';' || h[4] == '\t') &&
        (len == 5 ? at_end : (h[5] == '\r' || h[5] == '\n'))) {
        if (!r->delimiter)
            r->delimiter = h[4];
        *start = 5;
        if (len > 5) {
            *start = 6;
            if (h[5] == '\r') {
                if (len > 6 && h[6] == '\n')
                    *start = 7;
                else if (len == 6)
                    r->skip_lf = true;
            }
        }
        r->line++;
    }
    if (!r->delimiter)
        r->delimiter = sniff_delimiter(&r->head, *start);
    return CF_OK;
}

/* Makes decoded text available (see fill_raw); the first time, the head of the input. Called
 * only when the parser has used all the text. */
static cf_status fill(cf_csv_reader *r, fill_result *result)
{
    if (r->head_serving) {
        r->head_serving = false;
        cf_buf_cleanup(&r->head);
    }
    if (r->head_done)
        return fill_raw(r, result);
    r->head_done = true;
    size_t start = 0;
    cf_status st = gather_head(r, &start);
    if (st)
        return st;
    if (r->head.len > start) {
        r->text = r->head.data;
        r->text_pos = start;
        r->text_len = r->head.len;
        r->head_serving = true;
        *result = FILL_TEXT;
        return CF_OK;
    }
    cf_buf_cleanup(&r->head);
    return fill_raw(r, result);
}

/* Reports bytes that are not in the encoding, at the row and column where they are. The
 * message shows the first two bad bytes (all of them, up to 4, when the input ends inside a
 * character; the one byte for UTF-8), whatever the read size. */
static cf_status decoding_error(cf_csv_reader *r)
{
    /* The parser has used all the text before the bad bytes: they can move to the front. */
    memmove(r->raw, r->raw + r->raw_pos, r->raw_len - r->raw_pos);
    r->raw_len -= r->raw_pos;
    r->raw_pos = 0;
    while (!r->invalid_truncated && r->raw_len < 2 && !r->eof)
        if (read_input(r) != CF_OK)
            return r->error;
    bool utf8 = !r->have_cd;
    size_t shown = r->invalid_truncated ? 4 : utf8 ? 1 : 2;
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
    const char *enc = encoding_words(r->encoding);
    if (r->invalid_why == INVALID_UDA)
        return row_error(r, CF_ERR_DATA, col,
                         "the bytes %s are in Big5's user-defined area (造字, a character made "
                         "up on one computer that no font or other computer shares), which is "
                         "never printed: type the name with standard characters in the hospital "
                         "system, or, if the list is from Hong Kong, run again with --encoding "
                         "big5-hkscs",
                         bytes);
    if (r->invalid_why == INVALID_AMBIGUOUS)
        return row_error(r, CF_ERR_DATA, col,
                         "the file is Big5, but the bytes %s are one character in Hong Kong's "
                         "Big5-HKSCS and another (or a user-defined 造字) in Taiwan's Big5, so "
                         "the list cannot be read without knowing where it comes from: run "
                         "again with --encoding big5-hkscs for a Hong Kong list or --encoding "
                         "big5 for a Taiwan list",
                         bytes);
    if (!utf8) {
        if (r->invalid_truncated)
            return row_error(r, CF_ERR_DATA, col,
                             "the file ends in the middle of a %s character (%s)", enc, bytes);
        if (r->encoding == CF_CSV_ENCODING_UTF16LE || r->encoding == CF_CSV_ENCODING_UTF16BE)
            return row_error(r, CF_ERR_DATA, col, "the bytes %s are not UTF-16 text", bytes);
        return row_error(r, CF_ERR_DATA, col,
                         "the bytes %s are not a %s character; check that the file is %s (a "
                         "UTF-8 file needs --encoding auto)",
                         bytes, enc, enc);
    }
    if (r->invalid_truncated)
        return row_error(r, CF_ERR_DATA, col,
                         "the file ends in the middle of a UTF-8 character (%s)", bytes);
    if (r->asked == CF_CSV_ENCODING_UTF8)
        return row_error(r, CF_ERR_DATA, col, "byte %s is not UTF-8 (--encoding utf-8 was given)",
                         bytes);
    if (!r->auto_scanned && !r->utf8_multibyte)
        return row_error(r, CF_ERR_DATA, col,
                         "byte %s is not UTF-8 (the list comes from a pipe, so it could not be "
                         "checked whether the whole list is Big5: if it is, give --encoding "
                         "big5-hkscs or --encoding big5)",
                         bytes);
    return row_error(r, CF_ERR_DATA, col, "byte %s is not UTF-8", bytes);
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
            while (j < n && text[j] != r->delimiter && text[j] != '"' && text[j] != '\r' &&
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
            if (c != r->delimiter && c != '\r' && c != '\n') {
                r->text_pos = i;
                return row_error(r, CF_ERR_DATA, r->n_fields,
                                 "text after the closing quote of a quoted field; a quote inside "
                                 "a quoted field must be doubled (\"\")");
            }
            break;
        }
        /* Here c is the delimiter or a line end outside quotes. */
        i++;
        if ((st = end_field(r)) != CF_OK)
            return st;
        if (c == r->delimiter) {
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
        if (is_big5(r->encoding) && !r->detected_big5 && r->utf8_so_far && r->utf8_need == 0 &&
            r->utf8_multibyte)
            return file_error(r, CF_ERR_DATA,
                              "the file is UTF-8 text, not %s: every byte of it is valid UTF-8, "
                              "which Big5 text practically never is, and read as Big5 it would "
                              "print wrong characters; run again with --encoding auto",
                              encoding_words(r->encoding));
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
    r->asked = encoding;
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
    cf_buf_cleanup(&reader->head);
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
    if (!reader || reader->encoding == CF_CSV_ENCODING_AUTO ||
        reader->encoding == CF_CSV_ENCODING_UTF16)
        return CF_CSV_ENCODING_UTF8;
    return reader->encoding;
}

char cf_csv_reader_delimiter(const cf_csv_reader *reader)
{
    return reader && reader->delimiter ? reader->delimiter : ',';
}

cf_status cf_csv_reader_set_delimiter(cf_csv_reader *reader, char delimiter)
{
    if (!reader || reader->head_done ||
        (delimiter != 0 && delimiter != ',' && delimiter != ';' && delimiter != '\t'))
        return CF_ERR_INTERNAL;
    reader->delimiter = delimiter;
    return CF_OK;
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
    return sizeof *r + strlen(r->name) + 1 + r->raw_cap + r->conv_cap + r->head.cap + r->row_cap +
           r->fields_cap * (sizeof *r->starts + sizeof *r->fields) + r->header_len +
           r->n_header * sizeof *r->header_starts;
}
