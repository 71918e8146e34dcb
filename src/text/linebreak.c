/* Line breaking for Traditional Chinese with Latin. libunibreak finds the UAX #14 break
 * opportunities; the rules in break_rules[] below then take away the ones that clreq (W3C
 * "Requirements for Chinese Text Layout") and our forms forbid; cf_wrap fills lines greedily.
 * The only file that includes libunibreak. */
#include "text/linebreak.h"

#include "base/alloc.h"
#include "base/utf8.h"

#include <hb.h>
#include <linebreak.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- character classes ---- */

static int compare_cp(const void *key, const void *elem)
{
    uint32_t a = *(const uint32_t *)key, b = *(const uint32_t *)elem;
    return a < b ? -1 : a > b;
}

#define IN_SET(set, cp)                                                                            \
    (bsearch(&(cp), (set), sizeof(set) / sizeof((set)[0]), sizeof((set)[0]), compare_cp) != NULL)

/* No line starts with these (clreq: closing brackets and quotes, pause and stop marks, the
 * interpunct, the connector ～ and the fullwidth solidus), nor with their half-width
 * counterparts. Sorted. */
static const uint32_t no_line_start[] = {
    0x0021, /* ! */ 0x0029,  /* ) */ 0x002C,  /* , */ 0x002E,  /* . */
    0x003A, /* : */ 0x003B,  /* ; */ 0x003F,  /* ? */ 0x005D,  /* ] */
    0x007D, /* } */ 0x00B7,  /* · */ 0x2019,  /* ’ */ 0x201D,  /* ” */
    0x2027, /* ‧ */ 0x3001,  /* 、 */ 0x3002, /* 。 */ 0x3009, /* 〉 */
    0x300B, /* 》 */ 0x300D, /* 」 */ 0x300F, /* 』 */ 0x3011, /* 】 */
    0x3015, /* 〕 */ 0x3017, /* 〗 */ 0x3019, /* 〙 */ 0x301B, /* 〛 */
    0x301C, /* 〜 */ 0x30FB, /* ・ */ 0xFE50, /* ﹐ */ 0xFE51, /* ﹑ */
    0xFE52, /* ﹒ */ 0xFE54, /* ﹔ */ 0xFE55, /* ﹕ */ 0xFE56, /* ﹖ */
    0xFE57, /* ﹗ */ 0xFE5A, /* ﹚ */ 0xFE5C, /* ﹜ */ 0xFE5E, /* ﹞ */
    0xFF01, /* ！ */ 0xFF09, /* ） */ 0xFF0C, /* ， */ 0xFF0E, /* ． */
    0xFF0F, /* ／ */ 0xFF1A, /* ： */ 0xFF1B, /* ； */ 0xFF1F, /* ？ */
    0xFF3D, /* ］ */ 0xFF5D, /* ｝ */ 0xFF5E, /* ～ */ 0xFF60, /* ｠ */
    0xFF61, /* ｡ */ 0xFF63,  /* ｣ */ 0xFF64,                   /* ､ */
};

/* No line ends with these (clreq: opening brackets and quotes). Sorted. */
static const uint32_t no_line_end[] = {
    0x0028, /* ( */ 0x005B,  /* [ */ 0x007B,  /* { */ 0x2018,  /* ‘ */
    0x201C, /* “ */ 0x3008,  /* 〈 */ 0x300A, /* 《 */ 0x300C, /* 「 */
    0x300E, /* 『 */ 0x3010, /* 【 */ 0x3014, /* 〔 */ 0x3016, /* 〖 */
    0x3018, /* 〘 */ 0x301A, /* 〚 */ 0xFE59, /* ﹙ */ 0xFE5B, /* ﹛ */
    0xFE5D, /* ﹝ */ 0xFF08, /* （ */ 0xFF3B, /* ［ */ 0xFF5B, /* ｛ */
    0xFF5F, /* ｟ */ 0xFF62,                                   /* ｢ */
};

/* Marks written doubled that must not be split (clreq: —— and ……). Sorted. */
static const uint32_t inseparable[] = {
    0x2014, /* — */ 0x2015, /* ― */ 0x2026, /* … */ 0x22EF, /* ⋯ */
    0x2E3A, /* ⸺ */ 0x2E3B,                                 /* ⸻ */
};

/* Dashes and tildes that join the two numbers of a range (2–4, 1-3, 2～3). Sorted. */
static const uint32_t range_marks[] = {
    0x002D, /* - */ 0x007E, /* ~ */ 0x2010, /* ‐ */ 0x2011,  /* ‑ */
    0x2012, /* ‒ */ 0x2013, /* – */ 0x301C, /* 〜 */ 0xFF0D, /* － */
    0xFF5E,                                                  /* ～ */
};

/* Symbols that are units on their own after a number (5%, 37 °C, 10 µg). Sorted. */
static const uint32_t unit_symbols[] = {
    0x0025, /* % */ 0x00B0, /* ° */ 0x00B5, /* µ */ 0x03BC, /* μ */
    0x2030, /* ‰ */ 0x2032, /* ′ */ 0x2033, /* ″ */ 0x2103, /* ℃ */
    0x2109, /* ℉ */ 0x2126, /* Ω */ 0x212B, /* Å */ 0xFF05, /* ％ */
};

/* Chinese units of more than one character; a break inside them after a number is forbidden
 * (3 個月, 2 小時). A single ideograph after a number is bound to it by rule_number_unit. */
static const uint32_t multi_char_units[][4] = {
    {0x500B, 0x6708},         /* 個月 */
    {0x500B, 0x661F, 0x671F}, /* 個星期 */
    {0x500B, 0x5C0F, 0x6642}, /* 個小時 */
    {0x500B, 0x79AE, 0x62DC}, /* 個禮拜 */
    {0x5C0F, 0x6642},         /* 小時 */
    {0x5206, 0x9418},         /* 分鐘 */
    {0x661F, 0x671F},         /* 星期 */
    {0x79AE, 0x62DC},         /* 禮拜 */
    {0x6BEB, 0x514B},         /* 毫克 */
    {0x6BEB, 0x5347},         /* 毫升 */
    {0x6BEB, 0x7C73},         /* 毫米 */
    {0x5FAE, 0x514B},         /* 微克 */
    {0x516C, 0x65A4},         /* 公斤 */
    {0x516C, 0x514B},         /* 公克 */
    {0x516C, 0x5206},         /* 公分 */
    {0x516C, 0x5347},         /* 公升 */
    {0x5398, 0x7C73},         /* 厘米 */
    {0x91D0, 0x7C73},         /* 釐米 */
    {0x9031, 0x6B72},         /* 週歲 */
};

static bool is_digit(uint32_t cp)
{
    return (cp >= '0' && cp <= '9') || (cp >= 0xFF10 && cp <= 0xFF19);
}

static bool is_ideograph(uint32_t cp)
{
    return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

static bool is_latin_letter(uint32_t cp)
{
    return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
           (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7);
}

/* Spaces a line may end with; they are not drawn at a line's end (cf_wrap). */
static bool is_space(uint32_t cp)
{
    return cp == 0x20 || cp == 0x09 || cp == 0x3000 || cp == 0x2002 || cp == 0x2003 || cp == 0x2009;
}

/* Spaces that may sit between a number and its unit. */
static bool is_number_space(uint32_t cp)
{
    return cp == 0x20 || cp == 0xA0 || cp == 0x2009 || cp == 0x202F;
}

/* Characters of Latin words, numbers and identifiers: printable ASCII but the space, and the
 * Latin-1 and Latin Extended letters and signs. */
static bool is_latin_token(uint32_t cp)
{
    return (cp > 0x20 && cp < 0x7F) || (cp >= 0xA1 && cp <= 0x24F && cp != 0xAD);
}

static bool is_unit_start(uint32_t cp)
{
    return is_ideograph(cp) || is_latin_letter(cp) || IN_SET(unit_symbols, cp);
}

/* ---- the override rules ---- */

/* What a rule sees: the code points of the paragraph and, for the boundary after cp[i], the
 * index of the last non-space code point at or before i (SIZE_MAX when there is none). */
typedef struct break_context {
    const uint32_t *cp;
    size_t n;
    size_t last_visible;
} break_context;

/* Longest run of digits and separators still taken for a number; keeps the rules O(1). */
#define NUMBER_MAX_LEN 32

static bool is_number_part(uint32_t cp)
{
    return is_digit(cp) || cp == '.' || cp == ',' || cp == ':' || cp == '/' ||
           IN_SET(range_marks, cp);
}

/* cp[j] ends a number: a digit ending a run of digits and separators (1,000.5  2–4  1/2) that
 * is not the tail of a Latin word or identifier (HN12345678, a=1 are not numbers here). */
static bool is_number_end(const break_context *c, size_t j)
{
    if (!is_digit(c->cp[j]))
        return false;
    size_t k = j, steps = 0;
    while (k > 0 && steps < NUMBER_MAX_LEN && is_number_part(c->cp[k - 1])) {
        k--;
        steps++;
    }
    if (steps == NUMBER_MAX_LEN)
        return false;
    return k == 0 || !is_latin_token(c->cp[k - 1]) || c->cp[k - 1] == '(' || c->cp[k - 1] == '[';
}

/* A number ends right before index k (optionally followed by one space). */
static bool number_before(const break_context *c, size_t k)
{
    if (k >= 1 && is_number_end(c, k - 1))
        return true;
    return k >= 2 && is_number_space(c->cp[k - 1]) && is_number_end(c, k - 2);
}

/* Each rule says whether it forbids the break after cp[i] (i + 1 < n). */
typedef bool (*break_rule_fn)(const break_context *c, size_t i);

/* 、，。」 etc. never start a line. */
static bool rule_closing_mark(const break_context *c, size_t i)
{
    return IN_SET(no_line_start, c->cp[i + 1]);
}

/* 「（“ etc. never end a line, even with spaces after them. */
static bool rule_opening_mark(const break_context *c, size_t i)
{
    (void)i; /* the mark before any spaces at the break counts: c->last_visible */
    return c->last_visible != SIZE_MAX && IN_SET(no_line_end, c->cp[c->last_visible]);
}

/* —— and …… stay whole. */
static bool rule_inseparable(const break_context *c, size_t i)
{
    return c->cp[i] == c->cp[i + 1] && IN_SET(inseparable, c->cp[i]);
}

/* 2–4, 1-3, 2～3: no break on either side of the dash between two numbers. */
static bool rule_number_range(const break_context *c, size_t i)
{
    const uint32_t *cp = c->cp;
    if (is_digit(cp[i]) && IN_SET(range_marks, cp[i + 1]) && i + 2 < c->n && is_digit(cp[i + 2]))
        return true;
    return IN_SET(range_marks, cp[i]) && i >= 1 && is_digit(cp[i - 1]) && is_digit(cp[i + 1]);
}

/* 75 mg, 50 U, 5%, 3 個月, 2–4 週: a number stays with the unit or measure word after it,
 * with or without a space between them, and multi-character units stay whole. */
static bool rule_number_unit(const break_context *c, size_t i)
{
    const uint32_t *cp = c->cp;
    if (is_unit_start(cp[i + 1]) && number_before(c, i + 1))
        return true;
    /* Is the boundary inside a multi-character unit that follows a number? */
    for (size_t u = 0; u < sizeof multi_char_units / sizeof multi_char_units[0]; u++) {
        const uint32_t *unit = multi_char_units[u];
        size_t len = 0;
        while (len < 4 && unit[len])
            len++;
        for (size_t j = 0; j + 1 < len && j <= i; j++) {
            size_t k = i - j; /* where the unit would start */
            if (k + len > c->n)
                continue;
            size_t m = 0;
            while (m < len && cp[k + m] == unit[m])
                m++;
            /* The unit first: it is a cheap comparison, the number a scan backwards. */
            if (m == len && number_before(c, k))
                return true;
        }
    }
    return false;
}

/* Latin words, numbers and identifiers (HN12345678(9), A-123/45, mg/kg, 1,000.5) stay whole. */
static bool rule_latin_token(const break_context *c, size_t i)
{
    return is_latin_token(c->cp[i]) && is_latin_token(c->cp[i + 1]);
}

/* 和/或: no break right after a slash that stands between two non-space characters. */
static bool rule_slash(const break_context *c, size_t i)
{
    const uint32_t *cp = c->cp;
    return (cp[i] == '/' || cp[i] == 0xFF0F) && i >= 1 && !is_space(cp[i - 1]) &&
           !is_space(cp[i + 1]) && !is_number_space(cp[i + 1]);
}

/* The overrides, applied to every break opportunity libunibreak allows (hard breaks are never
 * touched). Any rule that matches takes the opportunity away. */
static const struct {
    const char *name;
    break_rule_fn forbids;
} break_rules[] = {
    {"no line starts with a closing bracket, quote or pause/stop mark", rule_closing_mark},
    {"no line ends with an opening bracket or quote", rule_opening_mark},
    {"—— and …… are never split", rule_inseparable},
    {"a range of numbers (2–4) is never split", rule_number_range},
    {"a number is never split from its unit (75 mg, 5%, 3 個月)", rule_number_unit},
    {"Latin words, numbers and identifiers (HN12345678(9)) are never split", rule_latin_token},
    {"no break right after a slash between two characters (和/或)", rule_slash},
};

/* ---- break opportunities ---- */

static pthread_once_t unibreak_once = PTHREAD_ONCE_INIT;

static void unibreak_init(void)
{
    init_linebreak();
}

bool cf_text_is_apostrophe(uint32_t prev, uint32_t cp, uint32_t next)
{
    return cp == 0x2019 && is_latin_letter(prev) && is_latin_letter(next);
}

cf_status cf_line_breaks(const char *s, size_t len, const char *lang, char *breaks)
{
    if (len == 0)
        return CF_OK;
    if (cf_utf8_check(s, len) != len)
        return CF_ERR_DATA;
    pthread_once(&unibreak_once, unibreak_init);
    set_linebreaks_utf8((const utf8_t *)s, len, lang, breaks);

    size_t n = cf_utf8_length(s, len);
    uint32_t *cps = cf_malloc(n * sizeof *cps);
    size_t *last_byte = cf_malloc(n * sizeof *last_byte);
    if (!cps || !last_byte) {
        cf_free(cps);
        cf_free(last_byte);
        return CF_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < len; k++) {
        size_t used = cf_utf8_decode(s + i, len - i, &cps[k]);
        i += used;
        last_byte[k] = i - 1;
    }

    /* libunibreak's codes to ours. */
    for (size_t i = 0; i < len; i++) {
        char b = breaks[i];
        breaks[i] = (char)(b == LINEBREAK_MUSTBREAK    ? CF_BREAK_MUST
                           : b == LINEBREAK_ALLOWBREAK ? CF_BREAK_ALLOWED
                                                       : CF_BREAK_NO);
    }

    break_context ctx = {cps, n, SIZE_MAX};
    for (size_t i = 0; i + 1 < n; i++) {
        if (!is_space(cps[i]))
            ctx.last_visible = i;
        char *b = &breaks[last_byte[i]];
        if (*b != CF_BREAK_ALLOWED)
            continue;
        for (size_t r = 0; r < sizeof break_rules / sizeof break_rules[0]; r++) {
            if (break_rules[r].forbids(&ctx, i)) {
                *b = CF_BREAK_NO;
                break;
            }
        }
    }
    breaks[len - 1] = CF_BREAK_MUST;

    cf_free(cps);
    cf_free(last_byte);
    return CF_OK;
}

/* ---- filling lines ---- */

/* Widths within this of the line width still fit (rounding of sums of advances). */
#define WIDTH_EPSILON 1e-6

/* How far a forced break may move back to keep a closing mark or a combining mark from
 * starting the next line. */
#define FORCED_BACKOFF_MAX 4

/* Characters that hang at a line's end: not counted and not drawn there. */
static bool is_hanging(uint32_t cp)
{
    return is_space(cp) || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

/* Characters that must not begin a line even after a forced break, when avoidable. */
static bool bad_forced_start(hb_unicode_funcs_t *ufuncs, uint32_t cp)
{
    if (IN_SET(no_line_start, cp) || cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F) ||
        (cp >= 0xE0100 && cp <= 0xE01EF))
        return true;
    hb_unicode_general_category_t gc = hb_unicode_general_category(ufuncs, cp);
    return gc == HB_UNICODE_GENERAL_CATEGORY_NON_SPACING_MARK ||
           gc == HB_UNICODE_GENERAL_CATEGORY_SPACING_MARK ||
           gc == HB_UNICODE_GENERAL_CATEGORY_ENCLOSING_MARK;
}

/* The lines being built. */
typedef struct line_list {
    cf_wrap_line *lines;
    size_t n, cap;
} line_list;

static cf_status add_line(line_list *list, size_t start, size_t end, double width, bool forced,
                          bool last, cf_diag *diag)
{
    if (list->n == list->cap) {
        cf_wrap_line *grown =
            cf_grow_array(list->lines, &list->cap, list->n + 1, sizeof *grown, 16);
        if (!grown) {
            cf_diag_error(diag, NULL, 0, "out of memory wrapping a paragraph into %zu lines",
                          list->n + 1);
            return CF_ERR_NOMEM;
        }
        list->lines = grown;
    }
    list->lines[list->n++] = (cf_wrap_line){start, end, width, forced, last};
    return CF_OK;
}

cf_status cf_wrap(const cf_wrap_input *in, double width, cf_wrap_line **lines, size_t *n_lines,
                  cf_diag *diag)
{
    cf_status st = CF_OK;
    char *breaks = NULL;
    uint32_t *cps = NULL;
    size_t *off = NULL; /* byte offset of each code point, and len at [n] */
    double *cum = NULL; /* advance of all code points before each one, [n] = total */
    line_list list = {0};
    *lines = NULL;
    *n_lines = 0;

    if (!(width > 0.0) || !isfinite(width)) {
        cf_diag_error(diag, NULL, 0, "cannot wrap text into a line %g points wide", width);
        st = CF_ERR_INTERNAL;
        goto cleanup;
    }
    if (in->len == 0)
        goto cleanup;
    if (cf_utf8_check(in->text, in->len) != in->len) {
        cf_diag_error(diag, NULL, 0, "text to wrap is not valid UTF-8 (byte %zu)",
                      cf_utf8_check(in->text, in->len) + 1);
        st = CF_ERR_DATA;
        goto cleanup;
    }

    size_t len = in->len;
    size_t n = cf_utf8_length(in->text, len);
    breaks = cf_malloc(len);
    cps = cf_malloc(n * sizeof *cps);
    off = cf_malloc((n + 1) * sizeof *off);
    cum = cf_malloc((n + 1) * sizeof *cum);
    if (!breaks || !cps || !off || !cum) {
        cf_diag_error(diag, NULL, 0, "out of memory wrapping a paragraph of %zu bytes", len);
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    st = cf_line_breaks(in->text, len, in->lang, breaks);
    if (st) {
        cf_diag_error(diag, NULL, 0, "%s while finding line breaks", cf_status_message(st));
        goto cleanup;
    }

    cum[0] = 0.0;
    size_t i = 0;
    for (size_t k = 0; k < n; k++) {
        off[k] = i;
        size_t used = cf_utf8_decode(in->text + i, len - i, &cps[k]);
        size_t style = in->style ? in->style[i] : 0;
        if (style >= in->n_styles || !in->styles[style].font) {
            cf_diag_error(diag, NULL, 0, "text style %zu used at byte %zu is not defined", style,
                          i);
            st = CF_ERR_INTERNAL;
            goto cleanup;
        }
        double adv = cps[k] < 0x20 || (cps[k] >= 0x7F && cps[k] <= 0x9F)
                         ? 0.0
                         : cf_font_advance(in->styles[style].font, cps[k], in->styles[style].size);
        cum[k + 1] = cum[k] + adv;
        i += used;
    }
    off[n] = len;
    /* An apostrophe between Latin letters takes the ASCII apostrophe's width (as layout sets it).
     */
    for (size_t k = 1; k + 1 < n; k++) {
        if (!cf_text_is_apostrophe(cps[k - 1], cps[k], cps[k + 1]))
            continue;
        size_t style = in->style ? in->style[off[k]] : 0;
        double narrow = cf_font_advance(in->styles[style].font, '\'', in->styles[style].size);
        double delta = (cum[k + 1] - cum[k]) - narrow;
        for (size_t j = k + 1; j <= n; j++)
            cum[j] -= delta;
    }

    hb_unicode_funcs_t *ufuncs = hb_unicode_funcs_get_default();
    size_t line_start = 0;
    size_t vis_end = 0;      /* after the last visible code point of the current line */
    size_t last_visible = 0; /* after the last visible code point seen so far */
    bool have_best = false;  /* a break opportunity on the current line */
    size_t best_next = 0, best_vis_end = 0;
    size_t k = 0;
    while (k < n) {
        if (!is_hanging(cps[k])) {
            if (k > line_start && cum[k + 1] - cum[line_start] > width + WIDTH_EPSILON) {
                size_t cut, end;
                bool forced = !have_best;
                if (have_best) {
                    cut = best_next;
                    end = best_vis_end;
                } else {
                    /* One unbreakable run wider than the line: break it between code points,
                     * stepping back a little so a closing mark or a combining mark does not
                     * start the next line. */
                    cut = k;
                    size_t back = cut;
                    while (back > line_start + 1 && cut - back < FORCED_BACKOFF_MAX &&
                           bad_forced_start(ufuncs, cps[back]))
                        back--;
                    if (!bad_forced_start(ufuncs, cps[back]))
                        cut = back;
                    end = cut;
                    while (end > line_start && is_hanging(cps[end - 1]))
                        end--;
                }
                st = add_line(&list, off[line_start], off[end], cum[end] - cum[line_start], forced,
                              /*last*/ false, diag);
                if (st)
                    goto cleanup;
                line_start = cut;
                while (line_start < k && is_hanging(cps[line_start]))
                    line_start++;
                vis_end = last_visible > line_start ? last_visible : line_start;
                have_best = false;
                continue; /* measure cps[k] again on the new line */
            }
            vis_end = k + 1;
            last_visible = k + 1;
        }
        char b = breaks[off[k + 1] - 1];
        if (b == CF_BREAK_MUST) {
            st = add_line(&list, off[line_start], off[vis_end], cum[vis_end] - cum[line_start],
                          /*forced*/ false, /*last*/ true, diag);
            if (st)
                goto cleanup;
            line_start = vis_end = last_visible = k + 1;
            have_best = false;
        } else if (b == CF_BREAK_ALLOWED) {
            have_best = true;
            best_next = k + 1;
            best_vis_end = vis_end;
        }
        k++;
    }
    *lines = list.lines;
    *n_lines = list.n;
    list.lines = NULL;

cleanup:
    cf_free(list.lines);
    cf_free(breaks);
    cf_free(cps);
    cf_free(off);
    cf_free(cum);
    return st;
}
