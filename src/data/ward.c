/* Checking a ward name (see ward.h). */
#include "data/ward.h"

#include "base/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The length of the white space at the start of s[0, len) (from the end when backwards). */
static size_t white_run(const char *s, size_t len, bool backwards)
{
    size_t done = 0;
    while (done < len) {
        if (!backwards) {
            uint32_t cp = 0;
            size_t k = cf_utf8_decode(s + done, len - done, &cp);
            if (k == 0 || !cf_utf8_is_white_space(cp))
                break;
            done += k;
        } else {
            /* Step back over one UTF-8 sequence: continuation bytes, then its lead. */
            size_t start = len - done;
            size_t k = 1;
            while (k < 4 && k < start && ((unsigned char)s[start - k] & 0xC0) == 0x80)
                k++;
            uint32_t cp = 0;
            if (cf_utf8_decode(s + start - k, k, &cp) != k || !cf_utf8_is_white_space(cp))
                break;
            done += k;
        }
    }
    return done;
}

cf_status cf_ward_clean(const char *value, char out[CF_WARD_SIZE], const char **why)
{
    out[0] = '\0';
    if (why != NULL)
        *why = NULL;
    if (value == NULL)
        return CF_OK;
    size_t len = strlen(value);
    const char *problem = NULL;
    if (cf_utf8_check(value, len) != len)
        problem = "is not UTF-8 text";
    size_t head = problem == NULL ? white_run(value, len, false) : 0;
    size_t tail = problem == NULL && head < len ? white_run(value + head, len - head, true) : 0;
    const char *s = value + head;
    size_t n = problem == NULL ? len - head - tail : 0;
    for (size_t i = 0; problem == NULL && i < n;) {
        uint32_t cp = 0;
        size_t k = cf_utf8_decode(s + i, n - i, &cp);
        if (k == 0)
            problem = "is not UTF-8 text";
        else if (cf_utf8_is_hidden(cp))
            problem = "holds a control character";
        i += k > 0 ? k : 1;
    }
    if (problem == NULL && cf_utf8_length(s, n) > CF_WARD_MAX)
        problem = "is longer than 32 characters";
    if (problem != NULL) {
        if (why != NULL)
            *why = problem;
        return CF_ERR_DATA;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return CF_OK;
}
