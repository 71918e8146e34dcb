/* A page's QR code (see qr.h).
 *
 * libqrencode makes the symbol and chooses its mask: for each of the eight masks it builds the
 * masked symbol and scores it byte by byte (runs of one colour, 2x2 blocks, finder-like
 * patterns, the share of dark modules). That search is most of the time a code costs, and a
 * batch makes one code per page. Here libqrencode makes the symbol with mask 0 only; the
 * modules are unmasked again, and the eight candidates are scored with one 64-bit word per
 * row and per column, by the very rules and weights libqrencode 4.1 uses (JIS X 0510:2004
 * 8.8.2, with its reading of the finder-like pattern), so that the mask chosen, and every
 * module, are the ones QRcode_encodeString8bit gives. tests/unit/layout/test_qr.c compares
 * the two over many contents and sees every mask chosen.
 *
 * Symbols wider than 64 modules (version 12 and up: a page's code is version 3 or 4), or a
 * libqrencode without QRcode_encodeMask, take libqrencode's own search. */
#include "layout/qr.h"

#include "base/alloc.h"
#include "cf_config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <qrencode.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if CF_HAVE_QR_ENCODE_MASK
/* Exported by libqrencode, declared in its internal qrencode_inner.h: the symbol with mask
 * (0 to 7), or with its own choice for -1. */
QRcode *QRcode_encodeMask(QRinput *input, int mask);
#endif

/* libqrencode's module bytes: bit 0 dark; bit 7 a function module (finder, timing, format...),
 * which masks leave alone. */
#define MODULE_DARK 0x01
#define MODULE_FUNCTION 0x80

/* The penalty weights (JIS X 0510:2004 8.8.2, as in libqrencode). */
enum { PENALTY_N1 = 3, PENALTY_N2 = 3, PENALTY_N3 = 40, PENALTY_N4 = 10 };

/* The modules of code as 0/1 bytes in a new array. */
static cf_status copy_modules(const QRcode *code, unsigned char **dark, size_t *width)
{
    size_t w = (size_t)code->width;
    unsigned char *out = cf_malloc(w * w);
    if (out == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < w * w; i++)
        out[i] = code->data[i] & MODULE_DARK;
    *dark = out;
    *width = w;
    return CF_OK;
}

/* libqrencode's own search: its symbol for content. */
static cf_status library_symbol(const char *content, unsigned char **dark, size_t *width)
{
    errno = 0;
    QRcode *code = QRcode_encodeString8bit(content, 0, QR_ECLEVEL_M);
    if (code == NULL)
        return errno == ENOMEM ? CF_ERR_NOMEM : CF_ERR_LIMIT;
    cf_status st = copy_modules(code, dark, width);
    QRcode_free(code);
    return st;
}

#if CF_HAVE_QR_ENCODE_MASK

#define QR_MAX_WIDTH 64
#define MASKS 8

/* pattern[m][y] bit x: mask m inverts module (x, y) (its condition is 0). */
static uint64_t pattern[MASKS][QR_MAX_WIDTH];
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static int mask_condition(int m, int x, int y)
{
    switch (m) {
    case 0:
        return (x + y) & 1;
    case 1:
        return y & 1;
    case 2:
        return x % 3;
    case 3:
        return (x + y) % 3;
    case 4:
        return ((y / 2) + (x / 3)) & 1;
    case 5:
        return ((x * y) & 1) + (x * y) % 3;
    case 6:
        return (((x * y) & 1) + (x * y) % 3) & 1;
    default:
        return (((x * y) % 3) + ((x + y) & 1)) & 1;
    }
}

static void make_patterns(void)
{
    for (int m = 0; m < MASKS; m++)
        for (int y = 0; y < QR_MAX_WIDTH; y++)
            for (int x = 0; x < QR_MAX_WIDTH; x++)
                if (mask_condition(m, x, y) == 0)
                    pattern[m][y] |= UINT64_C(1) << x;
}

/* The 15 bits of the format information for level M and mask m: BCH(15,5), then XOR 0x5412. */
static unsigned format_bits(int m)
{
    unsigned data = (0u << 3) | (unsigned)m; /* level M is 00 */
    unsigned v = data << 10;
    for (int i = 14; i >= 10; i--)
        if (v & (1u << i))
            v ^= 0x537u << (i - 10);
    return ((data << 10) | v) ^ 0x5412u;
}

static void put_module(uint64_t *rows, int x, int y, unsigned dark)
{
    if (x < 0 || x >= QR_MAX_WIDTH || y < 0 || y >= QR_MAX_WIDTH)
        return; /* cannot happen: symbols are 21 modules wide or more */
    if (dark)
        rows[y] |= UINT64_C(1) << x;
    else
        rows[y] &= ~(UINT64_C(1) << x);
}

/* Writes the format information of mask m where libqrencode writes it, least significant bit
 * first: along row 8 from the right and down column 8, then up column 8 from the bottom and
 * along row 8 to the left. */
static void put_format(uint64_t *rows, int w, int m)
{
    unsigned f = format_bits(m);
    for (int i = 0; i < 8; i++, f >>= 1) {
        put_module(rows, w - 1 - i, 8, f & 1);
        put_module(rows, 8, i < 6 ? i : i + 1, f & 1);
    }
    for (int i = 0; i < 7; i++, f >>= 1) {
        put_module(rows, 8, w - 7 + i, f & 1);
        put_module(rows, i == 0 ? 7 : 6 - i, 8, f & 1);
    }
}

/* The run lengths of a line of w modules, alternating colours, light first: a line that starts
 * dark gets -1 as its first (light) run, as in libqrencode. Returns the number of runs. */
static int line_runs(uint64_t line, int w, int *run)
{
    int n = 0, start = 0;
    if (line & 1)
        run[n++] = -1;
    uint64_t edges = (line ^ (line >> 1)) & ((UINT64_C(1) << (w - 1)) - 1);
    while (edges != 0) {
        int i = __builtin_ctzll(edges);
        run[n++] = i + 1 - start;
        start = i + 1;
        edges &= edges - 1;
    }
    run[n++] = w - start;
    return n;
}

/* Rule 1 (runs of five or more of one colour) and rule 3 (a dark 1:1:3:1:1 pattern with a light
 * run of four at one side, or at the symbol's edge) on one line's runs, read as libqrencode
 * reads them. */
static int line_penalty(const int *run, int n)
{
    int p = 0;
    for (int i = 0; i < n; i++) {
        if (run[i] >= 5)
            p += PENALTY_N1 + (run[i] - 5);
        if ((i & 1) && i >= 3 && i < n - 2 && run[i] % 3 == 0) {
            int f = run[i] / 3;
            if (run[i - 2] == f && run[i - 1] == f && run[i + 1] == f && run[i + 2] == f &&
                (i == 3 || run[i - 3] >= 4 * f || i + 4 >= n || run[i + 3] >= 4 * f))
                p += PENALTY_N3;
        }
    }
    return p;
}

/* The penalty of a masked symbol of width w (rows[y] bit x dark). */
static int symbol_penalty(const uint64_t *rows, int w)
{
    uint64_t cols[QR_MAX_WIDTH] = {0};
    int dark = 0, p = 0, run[QR_MAX_WIDTH + 2];
    uint64_t inner = (UINT64_C(1) << (w - 1)) - 1; /* block corners x = 0 .. w-2 */
    for (int y = 0; y < w; y++) {
        uint64_t r = rows[y];
        dark += __builtin_popcountll(r);
        if (y > 0) { /* 2x2 blocks of one colour with rows y-1, y and columns x, x+1 */
            uint64_t a = rows[y - 1], same = ~(a ^ r) & ~(r ^ (r >> 1)) & ~(a ^ (a >> 1));
            p += PENALTY_N2 * __builtin_popcountll(same & inner);
        }
        p += line_penalty(run, line_runs(r, w, run));
        for (uint64_t b = r; b != 0; b &= b - 1)
            cols[__builtin_ctzll(b)] |= UINT64_C(1) << y;
    }
    for (int x = 0; x < w; x++)
        p += line_penalty(run, line_runs(cols[x], w, run));
    /* Rule 4 as libqrencode rounds it: the dark share in whole percent, 10 per 5 % from 50. */
    int w2 = w * w, ratio = (200 * dark + w2) / w2 / 2;
    return p + (abs(ratio - 50) / 5) * PENALTY_N4;
}

/* The symbol of code (made with mask 0) with the mask libqrencode's search would choose. */
static cf_status choose_mask(const QRcode *code, unsigned char **dark, size_t *width)
{
    int w = code->width;
    uint64_t base[QR_MAX_WIDTH] = {0}, data[QR_MAX_WIDTH] = {0}, rows[QR_MAX_WIDTH] = {0};
    uint64_t best_rows[QR_MAX_WIDTH] = {0};
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++) {
            unsigned char b = code->data[y * w + x];
            if (b & MODULE_DARK)
                base[y] |= UINT64_C(1) << x;
            if (!(b & MODULE_FUNCTION))
                data[y] |= UINT64_C(1) << x;
        }
    for (int y = 0; y < w; y++)
        base[y] ^= pattern[0][y] & data[y]; /* unmasked */
    int best = -1, best_penalty = 0;
    for (int m = 0; m < MASKS; m++) {
        for (int y = 0; y < w; y++)
            rows[y] = base[y] ^ (pattern[m][y] & data[y]);
        put_format(rows, w, m);
        int penalty = symbol_penalty(rows, w);
        if (best < 0 || penalty < best_penalty) { /* the first of equals, as libqrencode */
            best = m;
            best_penalty = penalty;
            memcpy(best_rows, rows, (size_t)w * sizeof rows[0]);
        }
    }
    size_t n = (size_t)w;
    unsigned char *out = cf_malloc(n * n);
    if (out == NULL)
        return CF_ERR_NOMEM;
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            out[y * w + x] = (unsigned char)((best_rows[y] >> x) & 1);
    *dark = out;
    *width = n;
    return CF_OK;
}

#endif

cf_status cf_qr_encode(const char *content, unsigned char **dark, size_t *width)
{
    *dark = NULL;
    *width = 0;
#if CF_HAVE_QR_ENCODE_MASK
    pthread_once(&pattern_once, make_patterns);
    QRinput *input = QRinput_new2(0, QR_ECLEVEL_M);
    if (input == NULL)
        return CF_ERR_NOMEM;
    errno = 0;
    if (QRinput_append(input, QR_MODE_8, (int)strlen(content), (const unsigned char *)content) <
        0) {
        cf_status st = errno == ENOMEM ? CF_ERR_NOMEM : CF_ERR_LIMIT;
        QRinput_free(input);
        return st;
    }
    errno = 0;
    QRcode *code = QRcode_encodeMask(input, 0);
    QRinput_free(input);
    if (code == NULL)
        return errno == ENOMEM ? CF_ERR_NOMEM : CF_ERR_LIMIT;
    bool narrow = code->width <= QR_MAX_WIDTH;
    cf_status st = narrow ? choose_mask(code, dark, width) : CF_OK;
    QRcode_free(code);
    return narrow ? st : library_symbol(content, dark, width);
#else
    return library_symbol(content, dark, width);
#endif
}
