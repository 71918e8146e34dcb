/* Name folding through ICU's NFKC_Casefold normaliser. */
#include "text/fold.h"

#include "base/alloc.h"
#include "base/utf8.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <stdint.h>
#include <string.h>

#define FOLD_INPUT_MAX 4096 /* bytes of a name; longer ones are no column name a person wrote */

/* True for the characters left out of a folded name: white space and the separators people
 * write between words of a column name. After NFKC, fullwidth forms are already ASCII. */
static bool dropped(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
           cp == '_' || cp == '-' || cp == '.' || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000 || cp == 0x2010 || cp == 0x2011 || cp == 0x2012 ||
           cp == 0x2013 || cp == 0x2014 || cp == 0x2212;
}

cf_status cf_text_fold_name(const char *s, size_t len, cf_buf *out)
{
    if (out->error)
        return out->error;
    if (len > FOLD_INPUT_MAX || (len > 0 && cf_utf8_check(s, len) != len))
        return CF_ERR_DATA;
    if (len == 0)
        return CF_OK;

    cf_status st = CF_ERR_NOMEM;
    UErrorCode err = U_ZERO_ERROR;
    /* At most one UTF-16 unit per byte of UTF-8; NFKC grows text by at most 18 times (U+FDFA);
     * should case folding need more, ICU reports the size and the text is folded again. */
    int32_t cap16 = (int32_t)len + 1, out_cap = (int32_t)len * 18 + 16;
    UChar *in16 = cf_malloc((size_t)cap16 * sizeof *in16);
    UChar *folded = cf_malloc((size_t)out_cap * sizeof *folded);
    if (!in16 || !folded)
        goto done;
    int32_t n16 = 0;
    u_strFromUTF8(in16, cap16, &n16, s, (int32_t)len, &err);
    const UNormalizer2 *nfkc_cf = U_SUCCESS(err) ? unorm2_getNFKCCasefoldInstance(&err) : NULL;
    int32_t n = nfkc_cf ? unorm2_normalize(nfkc_cf, in16, n16, folded, out_cap, &err) : 0;
    if (err == U_BUFFER_OVERFLOW_ERROR && n > out_cap) {
        /* More than the estimate: ICU said how much it needs. */
        UChar *grown = cf_realloc(folded, (size_t)n * sizeof *grown);
        if (!grown)
            goto done;
        folded = grown;
        out_cap = n;
        err = U_ZERO_ERROR;
        n = unorm2_normalize(nfkc_cf, in16, n16, folded, out_cap, &err);
    }
    if (U_FAILURE(err) || n < 0 || n > out_cap) {
        st = CF_ERR_INTERNAL;
        goto done;
    }
    size_t start = out->len;
    for (int32_t i = 0; i < n;) {
        uint32_t cp = folded[i++];
        if (cp >= 0xD800 && cp <= 0xDBFF && i < n && folded[i] >= 0xDC00 && folded[i] <= 0xDFFF)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (uint32_t)(folded[i++] - 0xDC00);
        if (dropped(cp))
            continue;
        char utf8[4];
        size_t k = cf_utf8_encode(cp, utf8);
        if (k == 0 || cf_buf_append(out, utf8, k) != CF_OK) {
            st = out->error ? out->error : CF_ERR_INTERNAL;
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
            goto done;
        }
    }
    st = CF_OK;

done:
    cf_free(in16);
    cf_free(folded);
    return st;
}

bool cf_text_same_name(const char *a, const char *b)
{
    cf_buf fa, fb;
    cf_buf_init(&fa, FOLD_INPUT_MAX * 4);
    cf_buf_init(&fb, FOLD_INPUT_MAX * 4);
    bool same = cf_text_fold_name(a, strlen(a), &fa) == CF_OK &&
                cf_text_fold_name(b, strlen(b), &fb) == CF_OK && fa.len > 0 && fa.len == fb.len &&
                memcmp(fa.data, fb.data, fa.len) == 0;
    cf_buf_cleanup(&fa);
    cf_buf_cleanup(&fb);
    return same;
}
