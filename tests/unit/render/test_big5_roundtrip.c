/* The Big5-HKSCS round trip over the whole table: every two-byte sequence that glibc's
 * BIG5-HKSCS converter (the one the CSV reader uses) decodes, and whose characters both faces of
 * a region's font have, is written into a generated list; the list is read by the CSV reader,
 * every row is printed (regular and bold, HK and TW fonts: one big PDF per region) and the PDF
 * is read back with pdftotext, which must give every code point back, in order (characters
 * beyond U+FFFF and compatibility ideographs included). Also checks that the fonts cover the
 * table: all of it but the few characters Noto Sans CJK lacks (listed by fonts/build-fonts.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/utf8.h"
#include "data/csv.h"
#include "layout/display_list.h"
#include "render/render_pdf.h"
#include "text/font.h"

#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Characters of one list row and printed line: 40 ideographs are 400 pt at 10 pt. */
enum { PER_ROW = 40, LINES_PER_PAGE = 70 };
#define FONT_SIZE 10.0

/* One two-byte sequence of the table and what glibc decodes it to (one character, or one of
 * the four pairs that decode to a letter and a combining mark). */
typedef struct big5_char {
    unsigned char bytes[2];
    char utf8[12];
    unsigned char len;
} big5_char;

typedef struct table {
    big5_char *chars;
    size_t n;
} table;

/* Decodes the two bytes with cd (reset first, flushed after); false when glibc refuses them. */
static bool decode_pair(iconv_t cd, const unsigned char pair[2], big5_char *out)
{
    iconv(cd, NULL, NULL, NULL, NULL);
    char in_bytes[2] = {(char)pair[0], (char)pair[1]};
    char *in = in_bytes, *o = out->utf8;
    size_t in_left = 2, out_left = sizeof out->utf8 - 1;
    if (iconv(cd, &in, &in_left, &o, &out_left) == (size_t)-1 || in_left != 0 ||
        iconv(cd, NULL, NULL, &o, &out_left) == (size_t)-1)
        return false;
    out->len = (unsigned char)(o - out->utf8);
    out->utf8[out->len] = '\0';
    memcpy(out->bytes, pair, 2);
    return out->len > 0;
}

/* Every two-byte sequence glibc's BIG5-HKSCS decodes (lead 0x81-0xFE, trail 0x40-0x7E and
 * 0xA1-0xFE), in byte order. */
static table read_table(void)
{
    iconv_t cd = iconv_open("UTF-8", "BIG5-HKSCS");
    assert_true(cd != (iconv_t)-1);
    table t = {calloc(126 * 157, sizeof(big5_char)), 0};
    assert_non_null(t.chars);
    for (unsigned lead = 0x81; lead <= 0xFE; lead++)
        for (unsigned trail = 0x40; trail <= 0xFE; trail++) {
            if (trail > 0x7E && trail < 0xA1)
                continue;
            unsigned char pair[2] = {(unsigned char)lead, (unsigned char)trail};
            if (decode_pair(cd, pair, &t.chars[t.n]))
                t.n++;
        }
    iconv_close(cd);
    return t;
}

/* Stores the code points of the valid UTF-8 string s in out[0, max) and returns how many it
 * holds (possibly more than max). */
static size_t code_points(const char *s, size_t len, uint32_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = cf_utf8_decode(s + i, len - i, &cp);
        assert_true(k > 0);
        if (n < max)
            out[n] = cp;
        n++;
        i += k;
    }
    return n;
}

static bool in_both_faces(const cf_fontset *fonts, const big5_char *c)
{
    uint32_t cps[4];
    size_t n = code_points(c->utf8, c->len, cps, 4);
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
            if (!cf_font_has(fonts->faces[s], cps[i]))
                return false;
    return true;
}

/* The table as glibc decodes it: the figures the issue gives (1,713 characters beyond U+FFFF),
 * and every character in the bundled fonts but those Noto Sans CJK lacks. */
static void test_table_and_font_coverage(void **state)
{
    (void)state;
    table t = read_table();
    bool *seen = calloc(0x110000, sizeof *seen);
    assert_non_null(seen);
    size_t beyond = 0, compat = 0, distinct = 0;
    for (size_t i = 0; i < t.n; i++) {
        uint32_t cps[4];
        size_t n = code_points(t.chars[i].utf8, t.chars[i].len, cps, 4);
        for (size_t k = 0; k < n; k++) {
            if (seen[cps[k]])
                continue;
            seen[cps[k]] = true;
            distinct++;
            beyond += cps[k] > 0xFFFF;
            compat +=
                (cps[k] >= 0xF900 && cps[k] <= 0xFAFF) || (cps[k] >= 0x2F800 && cps[k] <= 0x2FA1F);
        }
    }
    print_message("glibc BIG5-HKSCS: %zu sequences, %zu characters, %zu beyond U+FFFF, %zu "
                  "compatibility ideographs\n",
                  t.n, distinct, beyond, compat);
    assert_int_equal(beyond, 1713);
    assert_true(compat > 0);
    /* Noto Sans CJK lacks a few IPA letters and symbols of the table (U+014B, U+0250 ...
     * U+02C6, U+203E, U+223C, U+2252): 12, each in every face. Nothing else may be missing, in
     * particular nothing beyond U+FFFF. */
    static const char *const regions[] = {"HK", "TW"};
    for (size_t r = 0; r < 2; r++) {
        const cf_fontset *fonts = NULL;
        assert_int_equal(cf_fontset_get(regions[r], &fonts, NULL), CF_OK);
        size_t missing = 0;
        for (uint32_t cp = 0; cp < 0x110000; cp++) {
            if (!seen[cp] || (cf_font_has(fonts->faces[CF_FONT_REGULAR], cp) &&
                              cf_font_has(fonts->faces[CF_FONT_BOLD], cp)))
                continue;
            if (cp > 0xFFFF || (cp >= 0x3400 && cp <= 0x9FFF))
                fail_msg("the %s fonts lack U+%04X, which Big5-HKSCS decodes to", regions[r],
                         (unsigned)cp);
            missing++;
        }
        assert_int_equal(missing, 12);
    }
    free(seen);
    free(t.chars);
}

/* The generated list: a header, then rows of PER_ROW sequences of chars (Big5-HKSCS bytes). */
static unsigned char *make_list(const big5_char *const *chars, size_t n, size_t *len)
{
    size_t cap = 16 + n * 2 + (n / PER_ROW + 1) * 2;
    unsigned char *csv = malloc(cap);
    assert_non_null(csv);
    size_t at = 0;
    memcpy(csv, "text\r\n", 6);
    at = 6;
    for (size_t i = 0; i < n; i++) {
        memcpy(csv + at, chars[i]->bytes, 2);
        at += 2;
        if ((i + 1) % PER_ROW == 0 || i + 1 == n) {
            memcpy(csv + at, "\r\n", 2);
            at += 2;
        }
    }
    assert_true(at <= cap);
    *len = at;
    return csv;
}

/* Runs cmd and returns its standard output (malloc'd, NUL-terminated); *status its exit. */
static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, len = 0, k;
    char *out = malloc(cap);
    assert_non_null(out);
    while ((k = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += k;
        if (cap - len - 1 == 0) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    *status = pclose(p);
    return out;
}

/* Compares the line pdftotext gave with the row printed; on a difference names the first
 * character that came back wrong, with its Big5-HKSCS bytes. The one character poppler changes
 * on purpose is the ideographic space U+3000 (Big5 A140), which it writes as a space: the PDF
 * maps it to U+3000 like any other. */
static void compare_line(const char *region, const char *style, size_t row, const char *got,
                         size_t got_len, const char *printed, const big5_char *const *chars,
                         size_t n_chars)
{
    char want[PER_ROW * 12 + 1];
    size_t len = 0;
    for (const char *c = printed; *c != '\0';) {
        if (strncmp(c, "\xE3\x80\x80", 3) == 0) {
            want[len++] = ' ';
            c += 3;
        } else {
            want[len++] = *c++;
        }
    }
    want[len] = '\0';
    if (got_len == len && memcmp(got, want, got_len) == 0)
        return;
    uint32_t g[PER_ROW * 4], w[PER_ROW * 4];
    size_t ng = code_points(got, got_len, g, PER_ROW * 4);
    size_t nw = code_points(want, strlen(want), w, PER_ROW * 4);
    size_t i = 0;
    while (i < ng && i < nw && i < PER_ROW * 4 && g[i] == w[i])
        i++;
    /* The sequence that character came from: count code points along the row's sequences
     * (the last row may hold fewer than PER_ROW). */
    size_t seq = 0, cps_before = 0;
    for (; seq + 1 < PER_ROW && row * PER_ROW + seq + 1 < n_chars; seq++) {
        uint32_t tmp[4];
        const big5_char *c = chars[row * PER_ROW + seq];
        size_t k = code_points(c->utf8, c->len, tmp, 4);
        if (cps_before + k > i)
            break;
        cps_before += k;
    }
    const big5_char *c = chars[row * PER_ROW + seq];
    if (i < ng)
        fail_msg("%s %s, row %zu: character %zu printed as U+%04X came back as U+%04X "
                 "(Big5-HKSCS %02X%02X)\nwanted: %s\ngot:    %.*s",
                 region, style, row + 2, i + 1, i < nw ? (unsigned)w[i] : 0u, (unsigned)g[i],
                 c->bytes[0], c->bytes[1], want, (int)got_len, got);
    fail_msg("%s %s, row %zu: pdftotext gave %zu characters of %zu (the next from Big5-HKSCS "
             "%02X%02X)\nwanted: %s\ngot:    %.*s",
             region, style, row + 2, ng, nw, c->bytes[0], c->bytes[1], want, (int)got_len, got);
}

/* The round trip for one region: list -> CSV reader -> PDF (every row in regular, then in
 * bold) -> pdftotext. */
static void round_trip(const char *region, const char *dir)
{
    const cf_fontset *fonts = NULL;
    assert_int_equal(cf_fontset_get(region, &fonts, NULL), CF_OK);
    table t = read_table();
    const big5_char **chars = calloc(t.n, sizeof *chars);
    assert_non_null(chars);
    size_t n = 0, beyond = 0;
    for (size_t i = 0; i < t.n; i++)
        if (in_both_faces(fonts, &t.chars[i])) {
            chars[n++] = &t.chars[i];
            beyond += (unsigned char)t.chars[i].utf8[0] >= 0xF0;
        }
    size_t rows = (n + PER_ROW - 1) / PER_ROW;

    /* The CSV reader decodes each row to what glibc gives for its sequences. */
    size_t csv_len = 0;
    unsigned char *csv = make_list(chars, n, &csv_len);
    cf_diag *diag = cf_diag_new();
    cf_csv_reader *reader = NULL;
    assert_int_equal(cf_csv_reader_open_memory(csv, csv_len, "big5-hkscs-table.csv",
                                               CF_CSV_ENCODING_BIG5_HKSCS, NULL, &reader, diag),
                     CF_OK);
    char **decoded = calloc(rows, sizeof *decoded);
    assert_non_null(decoded);
    const char *const *fields = NULL;
    size_t n_fields = 0;
    assert_int_equal(cf_csv_next_row(reader, &fields, &n_fields), CF_OK); /* header */
    for (size_t r = 0; r < rows; r++) {
        cf_status st = cf_csv_next_row(reader, &fields, &n_fields);
        if (st != CF_OK)
            cf_diag_print(diag, stderr);
        assert_int_equal(st, CF_OK);
        assert_non_null(fields);
        assert_int_equal(n_fields, 1);
        char want[PER_ROW * 12 + 1];
        size_t at = 0;
        for (size_t i = r * PER_ROW; i < n && i < (r + 1) * PER_ROW; i++) {
            memcpy(want + at, chars[i]->utf8, chars[i]->len);
            at += chars[i]->len;
        }
        want[at] = '\0';
        if (strcmp(fields[0], want) != 0)
            fail_msg("the CSV reader decodes row %zu as \"%s\", glibc as \"%s\"", r + 2, fields[0],
                     want);
        decoded[r] = strdup(fields[0]);
        assert_non_null(decoded[r]);
    }
    assert_int_equal(cf_csv_next_row(reader, &fields, &n_fields), CF_OK);
    assert_null(fields);
    cf_csv_reader_close(reader);

    /* One PDF: every row on its own line, first in the regular face, then in bold. */
    cf_display_list *list = cf_display_list_new(595.28, 841.89, fonts);
    assert_non_null(list);
    size_t page = 0, line = LINES_PER_PAGE;
    for (int style = 0; style < CF_FONT_STYLE_COUNT; style++)
        for (size_t r = 0; r < rows; r++) {
            if (line == LINES_PER_PAGE) {
                page = cf_display_list_add_page(list);
                line = 0;
            }
            cf_item text = {.kind = CF_ITEM_TEXT, .x = 40, .y = 800 - 11.0 * (double)line++};
            text.u.text.len = strlen(decoded[r]);
            text.u.text.utf8 = cf_display_list_strdup(list, decoded[r], text.u.text.len);
            assert_non_null(text.u.text.utf8);
            text.u.text.size = FONT_SIZE;
            text.u.text.style = (cf_font_style)style;
            assert_int_equal(cf_display_list_add_item(list, page, &text), CF_OK);
        }
    unsigned char *pdf = NULL;
    size_t pdf_len = 0;
    cf_status st = cf_render_pdf(list, &pdf, &pdf_len, diag);
    if (st != CF_OK)
        cf_diag_print(diag, stderr);
    assert_int_equal(st, CF_OK);
    char path[4200], cmd[8600];
    snprintf(path, sizeof path, "%s/big5-hkscs-%s.pdf", dir, region);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(pdf, 1, pdf_len, f), pdf_len);
    assert_int_equal(fclose(f), 0);
    print_message("%s: %zu sequences (%zu beyond U+FFFF) in %zu rows, printed twice: %zu pages, "
                  "%zu KB\n",
                  region, n, beyond, rows, page + 1, pdf_len / 1024);

    /* pdftotext in content order (-raw): one line per printed row, pages ending in \f; a
     * complaint on stderr fails the test too. */
    int status = 0;
    snprintf(cmd, sizeof cmd, "pdftotext -raw -enc UTF-8 '%s' - 2>&1", path);
    char *out = run(cmd, &status);
    assert_int_equal(status, 0);
    const char *p = out;
    for (int style = 0; style < CF_FONT_STYLE_COUNT; style++)
        for (size_t r = 0; r < rows; r++) {
            while (*p == '\f')
                p++;
            const char *end = strchr(p, '\n');
            if (end == NULL)
                fail_msg("%s: pdftotext stopped before row %zu", region, r + 2);
            compare_line(region, style ? "bold" : "regular", r, p, (size_t)(end - p), decoded[r],
                         chars, n);
            p = end + 1;
        }
    while (*p == '\f')
        p++;
    assert_string_equal(p, "");

    free(out);
    assert_int_equal(remove(path), 0);
    cf_free(pdf);
    cf_display_list_free(list);
    for (size_t r = 0; r < rows; r++)
        free(decoded[r]);
    free(decoded);
    cf_diag_free(diag);
    free(csv);
    free(chars);
    free(t.chars);
}

static void test_round_trip(void **state)
{
    (void)state;
    if (system("command -v pdftotext >/dev/null 2>&1") != 0) {
        print_message("pdftotext (poppler-utils) missing: round trip skipped\n");
        skip();
    }
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cf-big5-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    round_trip("HK", dir);
    round_trip("TW", dir);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_and_font_coverage),
        cmocka_unit_test(test_round_trip),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    cf_fontset_release_all();
    return failed;
}
