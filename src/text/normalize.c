/* Unicode NFC through HarfBuzz's Unicode functions (canonical decomposition, combining classes,
 * canonical composition with the composition exclusions), and the character classes the
 * loader, the CSV field rules and the layout share. */
#include "text/normalize.h"

#include "base/alloc.h"
#include "base/utf8.h"

#include <hb.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <string.h>

/* Code points of one normalisation chunk, decomposed; grown as needed. */
typedef struct cp_buffer {
    uint32_t *cps;
    size_t len, cap;
    uint32_t *scratch; /* for the counting sort of long runs of combining marks */
    size_t scratch_cap;
} cp_buffer;

/* Runs of combining marks longer than this are sorted by counting instead of by insertion, so
 * that hostile input (thousands of marks in a row) stays linear. */
#define INSERTION_SORT_MAX 16

static cf_status buffer_push(cp_buffer *buf, uint32_t cp)
{
    if (buf->len == buf->cap) {
        uint32_t *grown = cf_grow_array(buf->cps, &buf->cap, buf->len + 1, sizeof *grown, 64);
        if (!grown)
            return CF_ERR_NOMEM;
        buf->cps = grown;
    }
    buf->cps[buf->len++] = cp;
    return CF_OK;
}

/* True for the CJK compatibility ideographs (U+F900..U+FAFF, U+2F800..U+2FA1F): what
 * Big5-HKSCS decodes some characters of names to. NFC would replace them by their unified
 * twins, another code point, so names keep them as given. */
static bool is_compat_ideograph(uint32_t cp)
{
    return (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Appends the full canonical decomposition of cp (Hangul syllables and singletons such as the
 * CJK compatibility ideographs included, unless keep_compat). Canonical decompositions nest at
 * most a few levels. */
static cf_status decompose_into(hb_unicode_funcs_t *ufuncs, uint32_t cp, cp_buffer *buf, int depth,
                                bool keep_compat)
{
    hb_codepoint_t a = 0, b = 0;
    if (depth < 8 && !(keep_compat && is_compat_ideograph(cp)) &&
        hb_unicode_decompose(ufuncs, cp, &a, &b)) {
        cf_status st = decompose_into(ufuncs, a, buf, depth + 1, keep_compat);
        if (st == CF_OK && b != 0)
            st = decompose_into(ufuncs, b, buf, depth + 1, keep_compat);
        return st;
    }
    return buffer_push(buf, cp);
}

/* Stable sort of cps[0..n) by combining class (all classes non-zero). */
static cf_status sort_marks(hb_unicode_funcs_t *ufuncs, cp_buffer *buf, uint32_t *cps, size_t n)
{
    if (n <= INSERTION_SORT_MAX) {
        for (size_t i = 1; i < n; i++) {
            uint32_t c = cps[i];
            unsigned cc = hb_unicode_combining_class(ufuncs, c);
            size_t j = i;
            while (j > 0 && hb_unicode_combining_class(ufuncs, cps[j - 1]) > cc) {
                cps[j] = cps[j - 1];
                j--;
            }
            cps[j] = c;
        }
        return CF_OK;
    }
    if (n > buf->scratch_cap) {
        uint32_t *grown = cf_realloc(buf->scratch, n * sizeof *grown);
        if (!grown)
            return CF_ERR_NOMEM;
        buf->scratch = grown;
        buf->scratch_cap = n;
    }
    size_t start[257] = {0};
    for (size_t i = 0; i < n; i++)
        start[hb_unicode_combining_class(ufuncs, cps[i]) + 1]++;
    for (size_t c = 1; c < 257; c++)
        start[c] += start[c - 1];
    for (size_t i = 0; i < n; i++)
        buf->scratch[start[hb_unicode_combining_class(ufuncs, cps[i])]++] = cps[i];
    memcpy(cps, buf->scratch, n * sizeof *cps);
    return CF_OK;
}

/* Canonical ordering: every maximal run of non-starters is sorted by combining class. */
static cf_status reorder(hb_unicode_funcs_t *ufuncs, cp_buffer *buf)
{
    size_t i = 0;
    while (i < buf->len) {
        if (hb_unicode_combining_class(ufuncs, buf->cps[i]) == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < buf->len && hb_unicode_combining_class(ufuncs, buf->cps[j]) != 0)
            j++;
        if (j - i > 1) {
            cf_status st = sort_marks(ufuncs, buf, buf->cps + i, j - i);
            if (st)
                return st;
        }
        i = j;
    }
    return CF_OK;
}

/* Canonical composition (UAX #15): each character is combined with the last starter when no
 * character between them blocks it. HarfBuzz's compose leaves out the composition exclusions. */
static void compose(hb_unicode_funcs_t *ufuncs, cp_buffer *buf)
{
    if (buf->len == 0)
        return;
    size_t out = 0;
    size_t starter = 0;
    bool have_starter = false;
    int last_cc = -1; /* class of the last kept character after the starter; -1: none yet */
    for (size_t i = 0; i < buf->len; i++) {
        uint32_t c = buf->cps[i];
        int cc = (int)hb_unicode_combining_class(ufuncs, c);
        hb_codepoint_t composed;
        if (have_starter && (last_cc == -1 || last_cc < cc) &&
            hb_unicode_compose(ufuncs, buf->cps[starter], c, &composed)) {
            buf->cps[starter] = composed;
            continue;
        }
        if (cc == 0) {
            starter = out;
            have_starter = true;
            last_cc = -1;
        } else {
            last_cc = cc;
        }
        buf->cps[out++] = c;
    }
    buf->len = out;
}

/* Normalises the chunk held in buf and appends it to out as UTF-8. */
static cf_status flush_chunk(hb_unicode_funcs_t *ufuncs, cp_buffer *buf, cf_buf *out)
{
    cf_status st = reorder(ufuncs, buf);
    if (st)
        return st;
    compose(ufuncs, buf);
    for (size_t i = 0; i < buf->len; i++) {
        char utf8[4];
        size_t n = cf_utf8_encode(buf->cps[i], utf8);
        if (n == 0)
            return CF_ERR_INTERNAL;
        st = cf_buf_append(out, utf8, n);
        if (st)
            return st;
    }
    buf->len = 0;
    return CF_OK;
}

/* True for characters that start a new normalisation chunk: starters that are never the second
 * half of a canonical composition, so nothing before them can reorder or compose with them.
 * ASCII/Latin below U+0300 and the CJK ideographs cover nearly all of our text. */
static bool is_chunk_boundary(uint32_t cp)
{
    return cp < 0x0300 || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF);
}

/* True when cp is unchanged by NFC and needs no chunk processing (no decomposition). */
static bool is_plain(uint32_t cp)
{
    return cp < 0x00C0 || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF);
}

/* NFC of s into out; keep_compat leaves CJK compatibility ideographs as they are. */
static cf_status nfc(const char *s, size_t len, cf_buf *out, bool keep_compat)
{
    if (len > 0 && cf_utf8_check(s, len) != len)
        return CF_ERR_DATA;
    if (out->error)
        return out->error;

    hb_unicode_funcs_t *ufuncs = hb_unicode_funcs_get_default();
    cp_buffer buf = {0};
    cf_status st = CF_OK;
    size_t out_len = out->len; /* on failure nothing stays appended */
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        if (is_chunk_boundary(cp) && buf.len > 0) {
            st = flush_chunk(ufuncs, &buf, out);
            if (st)
                goto cleanup;
        }
        if (buf.len == 0 && is_plain(cp)) {
            /* A plain character followed by a chunk boundary (ASCII, an ideograph or the end)
             * is copied as it is; one followed by anything else (a combining mark...) goes
             * through the full algorithm together with what follows. */
            uint32_t next = 0;
            size_t m = i + n < len ? cf_utf8_decode(s + i + n, len - i - n, &next) : 0;
            if (m == 0 || is_chunk_boundary(next)) {
                st = cf_buf_append(out, s + i, n);
                if (st)
                    goto cleanup;
                i += n;
                continue;
            }
        }
        st = decompose_into(ufuncs, cp, &buf, 0, keep_compat);
        if (st)
            goto cleanup;
        i += n;
    }
    if (buf.len > 0)
        st = flush_chunk(ufuncs, &buf, out);

cleanup:
    cf_free(buf.cps);
    cf_free(buf.scratch);
    if (st == CF_OK && out->error)
        st = out->error;
    if (st != CF_OK && out->data) {
        out->len = out_len;
        out->data[out_len] = '\0';
    }
    return st;
}

cf_status cf_text_nfc(const char *s, size_t len, cf_buf *out)
{
    return nfc(s, len, out, /*keep_compat*/ false);
}

cf_status cf_text_nfc_keep_ideographs(const char *s, size_t len, cf_buf *out)
{
    return nfc(s, len, out, /*keep_compat*/ true);
}

cf_status cf_text_nfkc_upper(const char *s, size_t len, cf_buf *out)
{
    if (len > 0 && cf_utf8_check(s, len) != len)
        return CF_ERR_DATA;
    if (out->error)
        return out->error;
    if (len > ((size_t)1 << 24))
        return CF_ERR_LIMIT;
    cf_status st = CF_ERR_NOMEM;
    UErrorCode err = U_ZERO_ERROR;
    UChar *src = NULL, *norm = NULL, *upper = NULL;
    char *utf8 = NULL;
    size_t out_len = out->len;
    /* UTF-8 takes at least as many bytes as UTF-16 has units; NFKC grows text at most 18 times
     * (U+FDFA), upper case at most 3 times. */
    int32_t cap = (int32_t)len + 1;
    src = cf_malloc((size_t)cap * sizeof *src);
    if (!src)
        goto done;
    int32_t n_src = 0;
    u_strFromUTF8(src, cap, &n_src, s, (int32_t)len, &err);
    if (U_FAILURE(err)) {
        st = CF_ERR_DATA;
        goto done;
    }
    const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&err);
    if (U_FAILURE(err)) {
        st = CF_ERR_INTERNAL;
        goto done;
    }
    int32_t norm_cap = 18 * n_src + 1;
    norm = cf_malloc((size_t)norm_cap * sizeof *norm);
    if (!norm)
        goto done;
    int32_t n_norm = unorm2_normalize(nfkc, src, n_src, norm, norm_cap, &err);
    int32_t upper_cap = 3 * n_norm + 1;
    upper = U_SUCCESS(err) ? cf_malloc((size_t)upper_cap * sizeof *upper) : NULL;
    if (U_FAILURE(err)) {
        st = CF_ERR_INTERNAL;
        goto done;
    }
    if (!upper)
        goto done;
    int32_t n_upper = u_strToUpper(upper, upper_cap, norm, n_norm, "", &err);
    if (U_FAILURE(err)) {
        st = CF_ERR_INTERNAL;
        goto done;
    }
    int32_t utf8_cap = 3 * n_upper + 1;
    utf8 = cf_malloc((size_t)utf8_cap);
    if (!utf8)
        goto done;
    int32_t n_utf8 = 0;
    u_strToUTF8(utf8, utf8_cap, &n_utf8, upper, n_upper, &err);
    if (U_FAILURE(err)) {
        st = CF_ERR_INTERNAL;
        goto done;
    }
    st = cf_buf_append(out, utf8, (size_t)n_utf8);

done:
    cf_free(src);
    cf_free(norm);
    cf_free(upper);
    cf_free(utf8);
    if (st != CF_OK && out->data) {
        out->len = out_len;
        out->data[out_len] = '\0';
    }
    return st;
}

bool cf_text_is_cjk(uint32_t cp)
{
    static const struct {
        uint32_t first, last;
    } ranges[] = {
        {0x1100, 0x11FF},   /* Hangul Jamo */
        {0x2E80, 0x2FDF},   /* CJK radicals supplement, Kangxi radicals */
        {0x2FF0, 0x2FFF},   /* ideographic description characters */
        {0x3000, 0x303F},   /* CJK symbols and punctuation */
        {0x3040, 0x30FF},   /* Hiragana, Katakana */
        {0x3100, 0x312F},   /* Bopomofo */
        {0x3130, 0x318F},   /* Hangul compatibility Jamo */
        {0x3190, 0x31FF},   /* Kanbun, Bopomofo extended, CJK strokes, Katakana extension */
        {0x3200, 0x33FF},   /* enclosed CJK letters, CJK compatibility */
        {0x3400, 0x4DBF},   /* CJK extension A */
        {0x4E00, 0x9FFF},   /* CJK unified ideographs */
        {0xA960, 0xA97F},   /* Hangul Jamo extended A */
        {0xAC00, 0xD7FF},   /* Hangul syllables, Jamo extended B */
        {0xF900, 0xFAFF},   /* CJK compatibility ideographs */
        {0xFE10, 0xFE1F},   /* vertical forms */
        {0xFE30, 0xFE4F},   /* CJK compatibility forms */
        {0xFF01, 0xFF60},   /* fullwidth ASCII variants and brackets */
        {0xFFE0, 0xFFE6},   /* fullwidth signs */
        {0x1B000, 0x1B16F}, /* kana supplement and extensions */
        {0x20000, 0x3FFFD}, /* supplementary and tertiary ideographic planes */
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i].first && cp <= ranges[i].last)
            return true;
    return false;
}

bool cf_text_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}
