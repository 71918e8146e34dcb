/* Helpers shared by the text tests: reading table files under tests/data/, decoding the escapes
 * used in them, and finding the bundled fonts. */
#ifndef CF_TEXT_TEST_UTIL_H
#define CF_TEXT_TEST_UTIL_H

#include "base/utf8.h"
#include "test_util.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails the running cmocka test (at the caller's line) unless |a - b| <= eps. Needs cmocka.h
 * included first. */
#define assert_near(a, b, eps)                                                               \
    do {                                                                                     \
        double assert_near_a = (a), assert_near_b = (b);                                     \
        if (!(fabs(assert_near_a - assert_near_b) <= (eps)))                                 \
            fail_msg("%s = %.9g, expected %s = %.9g", #a, assert_near_a, #b, assert_near_b); \
    } while (0)

/* Reads tests/data/<rel> whole (NUL-terminated, caller frees with free); NULL when missing. */
static inline char *text_test_read_data(const char *rel, size_t *len)
{
    char path[4096];
    test_source_path(path, sizeof path, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *data = malloc(cap);
    while (data) {
        size_t got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (cap - n - 1 == 0) {
            char *grown = realloc(data, cap * 2);
            if (!grown) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (data) {
        data[n] = '\0';
        *len = n;
    }
    return data;
}

/* Decodes a table field: \n, \t, \\ and \u{HEX} (any code point) are escapes, everything else
 * is literal UTF-8. Writes at most out_size - 1 bytes and a NUL; returns the length, or
 * (size_t)-1 for a malformed escape. */
static inline size_t text_test_unescape(const char *s, size_t n, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char piece[4];
        size_t piece_len = 1;
        piece[0] = s[i];
        if (s[i] == '\\' && i + 1 < n) {
            char e = s[++i];
            if (e == 'n') {
                piece[0] = '\n';
            } else if (e == 't') {
                piece[0] = '\t';
            } else if (e == '\\') {
                piece[0] = '\\';
            } else if (e == 'u' && i + 1 < n && s[i + 1] == '{') {
                uint32_t cp = 0;
                size_t j = i + 2, digits = 0;
                for (; j < n && s[j] != '}'; j++, digits++) {
                    char h = s[j];
                    uint32_t v = (h >= '0' && h <= '9')   ? (uint32_t)(h - '0')
                                 : (h >= 'a' && h <= 'f') ? (uint32_t)(h - 'a' + 10)
                                 : (h >= 'A' && h <= 'F') ? (uint32_t)(h - 'A' + 10)
                                                          : 99;
                    if (v == 99 || digits >= 6)
                        return (size_t)-1;
                    cp = cp * 16 + v;
                }
                if (j >= n || digits == 0)
                    return (size_t)-1;
                piece_len = cf_utf8_encode(cp, piece);
                if (piece_len == 0)
                    return (size_t)-1;
                i = j;
            } else {
                return (size_t)-1;
            }
        }
        if (o + piece_len >= out_size)
            return (size_t)-1;
        memcpy(out + o, piece, piece_len);
        o += piece_len;
    }
    out[o] = '\0';
    return o;
}

/* Splits the next line of a table file (comments '#' and blank lines skipped) into up to
 * max_fields TAB-separated fields. Returns the number of fields, 0 at the end. *pos advances;
 * *line_no is the 1-based number of the returned line. */
static inline size_t text_test_next_row(const char *data, size_t len, size_t *pos, long *line_no,
                                        const char **fields, size_t *field_lens,
                                        size_t max_fields)
{
    while (*pos < len) {
        size_t start = *pos;
        size_t end = start;
        while (end < len && data[end] != '\n')
            end++;
        *pos = end < len ? end + 1 : end;
        (*line_no)++;
        size_t line_end = end;
        if (line_end > start && data[line_end - 1] == '\r')
            line_end--;
        if (line_end == start || data[start] == '#')
            continue;
        size_t n = 0;
        size_t f = start;
        while (n < max_fields) {
            size_t g = f;
            while (g < line_end && data[g] != '\t')
                g++;
            fields[n] = data + f;
            field_lens[n] = g - f;
            n++;
            if (g >= line_end)
                break;
            f = g + 1;
        }
        return n;
    }
    return 0;
}

#endif
