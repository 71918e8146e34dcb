/* Unit tests of src/layout/qr.c: the symbol made with our mask choice is, module for module,
 * the one libqrencode's own search gives (QRcode_encodeString8bit, level M), over thousands of
 * contents of every length a page's code has and beyond (versions 1 to 13, the wide ones going
 * libqrencode's way), with every one of the eight masks chosen along the way; too much content
 * is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "layout/qr.h"
#include "test_util.h"

#include <qrencode.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The mask a symbol (0/1 modules) says it has: its format information, read back from row 8
 * (bits 0-7 from the right) and column 8 (bits 8-14 from the bottom). */
static int symbol_mask(const unsigned char *dark, size_t w)
{
    unsigned f = 0;
    for (size_t i = 0; i < 8; i++)
        f |= (unsigned)dark[8 * w + (w - 1 - i)] << i;
    for (size_t i = 0; i < 7; i++)
        f |= (unsigned)dark[(w - 7 + i) * w + 8] << (8 + i);
    f ^= 0x5412u;
    assert_int_equal((f >> 13) & 3, 0); /* level M */
    return (int)((f >> 10) & 7);
}

/* Checks that content gives libqrencode's symbol; returns its mask. */
static int check_same(const char *content)
{
    unsigned char *dark = NULL;
    size_t w = 0;
    assert_int_equal(cf_qr_encode(content, &dark, &w), CF_OK);
    QRcode *ref = QRcode_encodeString8bit(content, 0, QR_ECLEVEL_M);
    assert_non_null(ref);
    assert_int_equal(w, (size_t)ref->width);
    for (size_t i = 0; i < w * w; i++)
        if (dark[i] != (ref->data[i] & 1))
            fail_msg("module (%zu, %zu) of a %zu-wide symbol differs for \"%s\"", i % w, i / w, w,
                     content);
    int mask = symbol_mask(dark, w);
    QRcode_free(ref);
    cf_free(dark);
    return mask;
}

static uint64_t rng_state = 0x243F6A8885A308D3u;

static uint32_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Page codes as a batch makes them: a document id, the page, the form and its version. */
static void test_page_contents(void **state)
{
    (void)state;
    static const char *const forms[] = {"nerve-root-injection@2024-01", "dpn-injection-consent@3",
                                        "x@1"};
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    int seen[8] = {0};
    for (int n = 0; n < 4000; n++) {
        char id[32], content[128];
        for (int i = 0; i < 26; i++)
            id[i] = i == 8 || i == 17 ? '-' : alphabet[next_random() % 32];
        id[26] = '\0';
        int pages = 1 + (int)(next_random() % 12);
        snprintf(content, sizeof content, "%s/%d/%d/%s", n % 50 == 0 ? "BLANK" : id,
                 1 + (int)(next_random() % (unsigned)pages), pages, forms[n % 3]);
        seen[check_same(content)]++;
    }
    for (int m = 0; m < 8; m++)
        if (seen[m] == 0)
            fail_msg("mask %d was never chosen: the comparison does not cover it", m);
}

/* Any bytes (but NUL), 1 to 300 long: versions 1 to 13, the last ones wider than 64 modules. */
static void test_random_contents(void **state)
{
    (void)state;
    int seen[8] = {0};
    size_t widest = 0;
    char content[301];
    for (int n = 0; n < 3000; n++) {
        size_t len = 1 + next_random() % (n % 10 == 0 ? 300 : 120);
        for (size_t i = 0; i < len; i++)
            content[i] = (char)(1 + next_random() % 255);
        content[len] = '\0';
        seen[check_same(content)]++;
        QRcode *ref = QRcode_encodeString8bit(content, 0, QR_ECLEVEL_M);
        assert_non_null(ref);
        if ((size_t)ref->width > widest)
            widest = (size_t)ref->width;
        QRcode_free(ref);
    }
    for (int m = 0; m < 8; m++)
        assert_true(seen[m] > 0);
    assert_true(widest > 64);
}

/* Lines of one colour, long runs and repeated patterns score the rules at their edges. */
static void test_patterned_contents(void **state)
{
    (void)state;
    char content[200];
    for (int c = 1; c < 256; c += 7)
        for (size_t len = 1; len < 120; len += 13) {
            memset(content, c, len);
            content[len] = '\0';
            (void)check_same(content);
        }
}

static void test_too_long(void **state)
{
    (void)state;
    size_t len = 3000; /* more than version 40-M holds in 8-bit mode (2,331 bytes) */
    char *content = malloc(len + 1);
    assert_non_null(content);
    memset(content, 'A', len);
    content[len] = '\0';
    unsigned char sentinel = 1, *dark = &sentinel;
    size_t w = 9;
    assert_int_equal(cf_qr_encode(content, &dark, &w), CF_ERR_LIMIT);
    assert_null(dark);
    assert_int_equal(w, 0);
    free(content);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_contents),
        cmocka_unit_test(test_random_contents),
        cmocka_unit_test(test_patterned_contents),
        cmocka_unit_test(test_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
