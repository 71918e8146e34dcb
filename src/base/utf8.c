#include "base/utf8.h"

size_t cf_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len == 0)
        return 0;
    unsigned char b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t n;
    uint32_t c, min;
    if ((b & 0xE0) == 0xC0) {
        n = 2;
        c = b & 0x1Fu;
        min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
        n = 3;
        c = b & 0x0Fu;
        min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
        n = 4;
        c = b & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

size_t cf_utf8_check(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

size_t cf_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp <= 0x10FFFF) {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
    }
    return 0;
}

size_t cf_utf8_length(const char *s, size_t len)
{
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

bool cf_utf8_is_white_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

bool cf_utf8_is_default_ignorable(uint32_t cp)
{
    static const struct {
        uint32_t first, last;
    } ranges[] = {
        {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x061C, 0x061C}, {0x115F, 0x1160},
        {0x180B, 0x180E},   {0x200B, 0x200F},   {0x202A, 0x202E}, {0x2060, 0x206F},
        {0x3164, 0x3164},   {0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0}, {0xFFF0, 0xFFF8},
        {0x1BCA0, 0x1BCA3}, {0xE0000, 0xE00FF},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i].first && cp <= ranges[i].last)
            return true;
    return false;
}

bool cf_utf8_is_hidden(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           cf_utf8_is_default_ignorable(cp);
}

void cf_utf8_escape(cf_buf *out, const char *s, size_t len, size_t max, bool keep_lf_tab)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        if (max > 0 && i + (n ? n : 1) > max) {
            cf_buf_append_str(out, "…");
            return;
        }
        if (n == 0) {
            cf_buf_printf(out, "\\x%02X", (unsigned)(unsigned char)s[i]);
            i++;
            continue;
        }
        if (cf_utf8_is_hidden(cp) && !(keep_lf_tab && (cp == '\n' || cp == '\t')))
            cf_buf_printf(out, "<U+%04X>", (unsigned)cp);
        else
            cf_buf_append(out, s + i, n);
        i += n;
    }
}

void cf_utf8_quote(cf_buf *out, const char *s, size_t len, size_t max)
{
    cf_buf_putc(out, '"');
    cf_utf8_escape(out, s, len, max, /*keep_lf_tab*/ false);
    cf_buf_putc(out, '"');
}

/* White_Space but not a control: a tab or line break in a value is reported, never trimmed. */
static bool is_trimmed_space(uint32_t cp)
{
    return cf_utf8_is_white_space(cp) && cp >= 0x20 && cp != 0x85;
}

size_t cf_utf8_space_prefix(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t n = cf_utf8_decode(s + i, len - i, &cp);
        if (n == 0 || !is_trimmed_space(cp))
            break;
        i += n;
    }
    return i;
}

size_t cf_utf8_space_suffix(const char *s, size_t len)
{
    size_t end = len;
    while (end > 0) {
        /* Back up to the start of the last character. */
        size_t start = end - 1;
        while (start > 0 && end - start < 4 && ((unsigned char)s[start] & 0xC0) == 0x80)
            start--;
        uint32_t cp = 0;
        size_t n = cf_utf8_decode(s + start, end - start, &cp);
        if (n != end - start || !is_trimmed_space(cp))
            break;
        end = start;
    }
    return len - end;
}
