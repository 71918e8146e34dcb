/* Tests of src/text/subset.c: per-document subsets of the bundled HK font parse, carry a
 * compact cmap (few segments), map each requested character to a glyph with the same advance
 * and ink box as the full font and nothing else, have correct sfnt checksums, and can be made
 * from several threads at once. */
#include "base/alloc.h"
#include "base/diag.h"
#include "text/font.h"
#include "text/font_testing.h"
#include "text_test_util.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const label_text = "神經根管注射 陳大文 HN12345678(9)";

static const cf_font *hk_font(cf_font_style style)
{
    cf_diag *diag = cf_diag_new();
    const cf_fontset *set = NULL;
    cf_status st = cf_fontset_get("HK", &set, diag);
    if (st != CF_OK)
        cf_diag_print(diag, stderr);
    cf_diag_free(diag);
    assert_int_equal(st, CF_OK);
    return set->faces[style];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Finds table tag in the sfnt data; returns its offset and length through the pointers. */
static bool find_table(const unsigned char *data, size_t len, const char *tag, size_t *offset,
                       size_t *length)
{
    if (len < 12)
        return false;
    size_t n = be16(data + 4);
    for (size_t i = 0; i < n && 12 + 16 * (i + 1) <= len; i++) {
        const unsigned char *rec = data + 12 + 16 * i;
        if (memcmp(rec, tag, 4) == 0) {
            *offset = be32(rec + 8);
            *length = be32(rec + 12);
            return *offset <= len && *length <= len - *offset;
        }
    }
    return false;
}

/* Number of segments of the (3,1) format-4 cmap subtable, 0 when there is none. */
static size_t cmap_segments(const unsigned char *data, size_t len)
{
    size_t off, tlen;
    if (!find_table(data, len, "cmap", &off, &tlen))
        return 0;
    const unsigned char *cmap = data + off;
    size_t n = be16(cmap + 2);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *rec = cmap + 4 + 8 * i;
        size_t sub = be32(rec + 4);
        if (be16(rec) == 3 && be16(rec + 2) == 1 && sub + 8 <= tlen && be16(cmap + sub) == 4)
            return be16(cmap + sub + 6) / 2;
    }
    return 0;
}

/* Number of groups of the (3,10) format-12 cmap subtable, 0 when there is none. */
static size_t cmap_format12_groups(const unsigned char *data, size_t len)
{
    size_t off, tlen;
    if (!find_table(data, len, "cmap", &off, &tlen))
        return 0;
    const unsigned char *cmap = data + off;
    size_t n = be16(cmap + 2);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *rec = cmap + 4 + 8 * i;
        size_t sub = be32(rec + 4);
        if (be16(rec) == 3 && be16(rec + 2) == 10 && sub + 16 <= tlen && be16(cmap + sub) == 12) {
            size_t groups = be32(cmap + sub + 12);
            assert_int_equal(be32(cmap + sub + 4), 16 + 12 * groups);
            assert_true(sub + 16 + 12 * groups <= tlen);
            return groups;
        }
    }
    return 0;
}

/* The sfnt checksums: each table's, and the whole file's with head.checkSumAdjustment. */
static void assert_checksums(const unsigned char *data, size_t len)
{
    assert_int_equal(len % 4, 0);
    size_t n = be16(data + 4);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *rec = data + 12 + 16 * i;
        size_t off = be32(rec + 8), tlen = be32(rec + 12);
        assert_int_equal(off % 4, 0);
        assert_true(off + ((tlen + 3) & ~(size_t)3) <= len);
        uint32_t sum = 0;
        for (size_t j = 0; j < tlen; j += 4) {
            unsigned char word[4] = {0, 0, 0, 0};
            memcpy(word, data + off + j, tlen - j < 4 ? tlen - j : 4);
            /* head's checkSumAdjustment counts as 0 in head's own checksum */
            if (memcmp(rec, "head", 4) == 0 && j == 8)
                memset(word, 0, 4);
            sum += be32(word);
        }
        if (sum != be32(rec + 4))
            fail_msg("checksum of table %.4s is %08X, directory says %08X", (const char *)rec,
                     (unsigned)sum, (unsigned)be32(rec + 4));
    }
    uint32_t total = 0;
    for (size_t j = 0; j < len; j += 4)
        total += be32(data + j);
    assert_int_equal(total, 0xB1B0AFBAu);
}

/* Loads the subset back through cf_font_load (which checks it is a TrueType font with the
 * tables libharu needs). Caller frees with cf_font_free. */
static cf_font *load_subset(const unsigned char *data, size_t len)
{
    char path[] = "/tmp/cf-test-subset-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    cf_diag *diag = cf_diag_new();
    cf_font *font = NULL;
    cf_status st = cf_font_load(path, &font, diag);
    if (st != CF_OK)
        cf_diag_print(diag, stderr);
    assert_int_equal(st, CF_OK);
    cf_diag_free(diag);
    unlink(path);
    return font;
}

/* Code points assert_subset_matches looks at: planes 0 to 2 (BMP, SMP, the ideographs of SIP). */
#define CHECKED_PLANES_END 0x30000u

/* Checks sub against full for the characters of text: same advances and extents for those
 * the full font has, and no other character of planes 0 to 2 mapped. */
static void assert_subset_matches(const cf_font *full, const cf_font *sub, const char *text,
                                  size_t text_len)
{
    size_t expected = 0;
    assert_int_equal(cf_font_units_per_em(sub), cf_font_units_per_em(full));
    bool *wanted = calloc(CHECKED_PLANES_END, sizeof *wanted);
    assert_non_null(wanted);
    size_t i = 0;
    while (i < text_len) {
        uint32_t cp;
        size_t n = cf_utf8_decode(text + i, text_len - i, &cp);
        assert_true(n > 0);
        i += n;
        if (cp < CHECKED_PLANES_END && cf_font_has(full, cp) && !wanted[cp]) {
            wanted[cp] = true;
            expected++;
        }
    }
    size_t mapped = 0;
    for (uint32_t cp = 0; cp < CHECKED_PLANES_END; cp++) {
        bool has = cf_font_has(sub, cp);
        if (has != wanted[cp])
            fail_msg("U+%04X is %s the subset", (unsigned)cp, has ? "wrongly in" : "missing from");
        if (!has)
            continue;
        mapped++;
        if (cf_font_advance(sub, cp, 1000.0) != cf_font_advance(full, cp, 1000.0))
            fail_msg("U+%04X advance differs", (unsigned)cp);
        long a[4], b[4];
        assert_true(cf_font_glyph_extents(sub, cp, a));
        assert_true(cf_font_glyph_extents(full, cp, b));
        if (memcmp(a, b, sizeof a) != 0)
            fail_msg("U+%04X extents differ: %ld %ld %ld %ld vs %ld %ld %ld %ld", (unsigned)cp,
                     a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
    }
    assert_int_equal(mapped, expected);
    free(wanted);
}

static void test_subset_label(void **state)
{
    (void)state;
    const cf_font *full = hk_font(CF_FONT_REGULAR);
    cf_codepoints *set = cf_codepoints_new();
    cf_codepoints_add_utf8(set, label_text, strlen(label_text));
    cf_diag *diag = cf_diag_new();
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(cf_font_subset(full, set, &data, &len, diag), CF_OK);
    assert_non_null(data);
    assert_true(len > 100 && len < 64 * 1024);
    size_t segments = cmap_segments(data, len);
    assert_true(segments >= 2 && segments <= 10);
    assert_checksums(data, len);
    cf_font *sub = load_subset(data, len);
    assert_subset_matches(full, sub, label_text, strlen(label_text));
    cf_font_free(sub);

    /* HarfBuzz's own cmap has one segment per run of characters: many more. */
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(
        cf_font_subset_with(full, set, CF_SUBSET_CMAP_HARFBUZZ, &plain, &plain_len, diag), CF_OK);
    assert_true(cmap_segments(plain, plain_len) > segments);
    sub = load_subset(plain, plain_len);
    assert_subset_matches(full, sub, label_text, strlen(label_text));
    cf_font_free(sub);

    cf_free(plain);
    cf_free(data);
    cf_diag_free(diag);
    cf_codepoints_free(set);
}

/* An ordered subset: glyph records of the base characters first, the same bytes whatever else
 * the document draws; the glyf table last; still a correct font drawing every character as the
 * full font does. */
static void test_subset_ordered(void **state)
{
    (void)state;
    const cf_font *full = hk_font(CF_FONT_REGULAR);
    static const char *const base_text = "神經根管注射，病人簽署。";
    static const char *const docs[] = {"陳大文 HN1(2)", "李志堃 張喆"};
    cf_codepoints *base = cf_codepoints_new();
    cf_codepoints_add_utf8(base, base_text, strlen(base_text));
    cf_diag *diag = cf_diag_new();
    unsigned char *data[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    cf_subset_layout layout[2];
    for (int d = 0; d < 2; d++) {
        cf_codepoints *set = cf_codepoints_new();
        cf_codepoints_add_utf8(set, base_text, strlen(base_text));
        cf_codepoints_add_utf8(set, docs[d], strlen(docs[d]));
        assert_int_equal(
            cf_font_subset_ordered(full, set, base, &data[d], &len[d], &layout[d], diag), CF_OK);
        assert_checksums(data[d], len[d]);
        size_t glyf_offset = 0, glyf_len = 0;
        assert_true(find_table(data[d], len[d], "glyf", &glyf_offset, &glyf_len));
        assert_int_equal(glyf_offset, layout[d].glyf_offset);
        assert_true(glyf_offset + glyf_len + 3 >= len[d]); /* glyf is the end of the file */
        assert_true(layout[d].base_len > 0 && layout[d].base_len < glyf_len);
        /* The map of characters to glyph ids: every character of the set, in order; the base
         * characters' glyphs first (right after .notdef), the others after them. */
        assert_int_equal(layout[d].n, cf_codepoints_size(set));
        size_t n_base = cf_codepoints_size(base);
        for (size_t i = 0; i < layout[d].n; i++) {
            if (i > 0)
                assert_true(layout[d].cps[i] > layout[d].cps[i - 1]);
            bool in_base = false;
            for (uint32_t cp = CF_CODEPOINTS_START; cf_codepoints_next(base, &cp);)
                in_base |= cp == layout[d].cps[i];
            assert_true(layout[d].glyphs[i] >= 1);
            if (in_base)
                assert_true(layout[d].glyphs[i] <= n_base);
            else
                assert_true(layout[d].glyphs[i] > n_base);
        }
        char all[256];
        snprintf(all, sizeof all, "%s%s", base_text, docs[d]);
        cf_font *sub = load_subset(data[d], len[d]);
        assert_subset_matches(full, sub, all, strlen(all));
        cf_font_free(sub);
        cf_codepoints_free(set);
    }
    /* Base glyphs only: each record padded to 4 bytes, the same bytes in both documents; the
     * documents' own glyphs come after. */
    assert_int_equal(layout[0].base_len % 4, 0);
    assert_int_equal(layout[0].base_len, layout[1].base_len);
    assert_memory_equal(data[0] + layout[0].glyf_offset, data[1] + layout[1].glyf_offset,
                        layout[0].base_len);
    assert_memory_not_equal(data[0] + layout[0].glyf_offset + layout[0].base_len,
                            data[1] + layout[1].glyf_offset + layout[1].base_len, 16);

    /* No base: only .notdef comes first. */
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    cf_subset_layout plain_layout;
    cf_codepoints *set = cf_codepoints_new();
    cf_codepoints_add_utf8(set, docs[0], strlen(docs[0]));
    assert_int_equal(
        cf_font_subset_ordered(full, set, NULL, &plain, &plain_len, &plain_layout, diag), CF_OK);
    assert_true(plain_layout.base_len > 0 && plain_layout.base_len < layout[0].base_len);
    cf_font *sub = load_subset(plain, plain_len);
    assert_subset_matches(full, sub, docs[0], strlen(docs[0]));
    cf_font_free(sub);

    cf_codepoints_free(set);
    cf_free(plain);
    cf_free(data[0]);
    cf_free(data[1]);
    cf_subset_layout_cleanup(&plain_layout);
    cf_subset_layout_cleanup(&layout[0]);
    cf_subset_layout_cleanup(&layout[1]);
    assert_null(layout[0].cps);
    cf_diag_free(diag);
    cf_codepoints_free(base);
}

/* A typical 2-page leaflet's characters in the bold face; also reports the figures. */
static void test_subset_leaflet(void **state)
{
    (void)state;
    size_t text_len = 0;
    char *text = text_test_read_data("tests/data/text/leaflet-2page.txt", &text_len);
    assert_non_null(text);
    const cf_font *full = hk_font(CF_FONT_BOLD);
    cf_codepoints *set = cf_codepoints_new();
    cf_codepoints_add_utf8(set, text, text_len);
    cf_diag *diag = cf_diag_new();
    unsigned char *data = NULL;
    size_t len = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cf_font_subset(full, set, &data, &len, diag), CF_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    size_t segments = cmap_segments(data, len);
    printf("leaflet: %zu code points -> subset %zu bytes, %zu cmap segments, %.2f ms\n",
           cf_codepoints_size(set), len, segments,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    assert_true(segments <= 12);
    assert_checksums(data, len);
    cf_font *sub = load_subset(data, len);
    assert_subset_matches(full, sub, text, text_len);
    cf_font_free(sub);
    cf_free(data);
    cf_diag_free(diag);
    cf_codepoints_free(set);
    free(text);
}

/* Characters the font lacks (an emoji, controls) are left out; an empty set gives a font with
 * .notdef only. */
static void test_subset_missing_and_empty(void **state)
{
    (void)state;
    const cf_font *full = hk_font(CF_FONT_REGULAR);
    cf_diag *diag = cf_diag_new();
    cf_codepoints *set = cf_codepoints_new();
    const char *text = "陳\U0001F600\x01 A";
    cf_codepoints_add_utf8(set, text, strlen(text));
    cf_codepoints_add(set, 0xFFFF);
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(cf_font_subset(full, set, &data, &len, diag), CF_OK);
    cf_font *sub = load_subset(data, len);
    assert_subset_matches(full, sub, text, strlen(text));
    cf_font_free(sub);
    cf_free(data);
    cf_codepoints_free(set);

    set = cf_codepoints_new();
    assert_int_equal(cf_font_subset(full, set, &data, &len, diag), CF_OK);
    assert_checksums(data, len);
    assert_int_equal(cmap_segments(data, len), 1); /* the closing 0xFFFF segment */
    assert_int_equal(cmap_format12_groups(data, len), 0);
    cf_free(data);
    cf_codepoints_free(set);
    cf_diag_free(diag);
}

/* Characters beyond U+FFFF (HKSCS names: Extension B, a compatibility ideograph of the
 * supplement): the subset maps them through a format-12 subtable beside the format-4 one, in the
 * plain and the ordered subsetter; a document without them gets no format-12 subtable; a
 * subset of such characters alone works too. */
static void test_subset_beyond_bmp(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "李\U00020779明 陳大文",                    /* one beyond the BMP */
        "\U00020021\U0002A6A9\U0002F825\U00020779", /* only beyond it */
        "陳大文",                                   /* none */
    };
    static const size_t groups[] = {7, 4, 0};
    cf_diag *diag = cf_diag_new();
    for (int style = 0; style < CF_FONT_STYLE_COUNT; style++) {
        const cf_font *full = hk_font((cf_font_style)style);
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
            cf_codepoints *set = cf_codepoints_new();
            cf_codepoints_add_utf8(set, texts[t], strlen(texts[t]));
            unsigned char *data = NULL;
            size_t len = 0;
            assert_int_equal(cf_font_subset(full, set, &data, &len, diag), CF_OK);
            assert_checksums(data, len);
            assert_int_equal(cmap_format12_groups(data, len), groups[t]);
            assert_true(cmap_segments(data, len) >= 1);
            cf_font *sub = load_subset(data, len);
            assert_subset_matches(full, sub, texts[t], strlen(texts[t]));
            cf_font_free(sub);
            cf_free(data);

            cf_subset_layout layout;
            assert_int_equal(cf_font_subset_ordered(full, set, NULL, &data, &len, &layout, diag),
                             CF_OK);
            assert_checksums(data, len);
            assert_int_equal(cmap_format12_groups(data, len), groups[t]);
            assert_int_equal(layout.n, cf_codepoints_size(set));
            uint32_t cp = CF_CODEPOINTS_START;
            for (size_t i = 0; i < layout.n; i++) {
                assert_true(cf_codepoints_next(set, &cp));
                assert_int_equal(layout.cps[i], cp);
                assert_true(layout.glyphs[i] >= 1);
            }
            sub = load_subset(data, len);
            assert_subset_matches(full, sub, texts[t], strlen(texts[t]));
            cf_font_free(sub);
            cf_free(data);
            cf_subset_layout_cleanup(&layout);
            cf_codepoints_free(set);
        }
    }
    cf_diag_free(diag);
}

/* Thousands of scattered ideographs: segments are merged within the 64 KiB subtable limit and
 * every mapping stays right. */
static void test_subset_dense(void **state)
{
    (void)state;
    const cf_font *full = hk_font(CF_FONT_REGULAR);
    cf_codepoints *set = cf_codepoints_new();
    char *text = malloc(4 * 0x6000 + 1);
    assert_non_null(text);
    size_t text_len = 0;
    /* Every fifth code point: about 4,500 characters. (Every third one, over 7,000 isolated
     * characters, is more than HarfBuzz 6 can write into a format-4 cmap: it then fails with a
     * clear error, which no real document comes near.) */
    for (uint32_t cp = 0x3000; cp < 0xA000; cp += 5) {
        if (!cf_font_has(full, cp))
            continue;
        text_len += cf_utf8_encode(cp, text + text_len);
        cf_codepoints_add(set, cp);
    }
    text[text_len] = '\0';
    assert_true(cf_codepoints_size(set) > 3000);
    cf_diag *diag = cf_diag_new();
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(cf_font_subset(full, set, &data, &len, diag), CF_OK);
    assert_true(cmap_segments(data, len) <= 10);
    assert_checksums(data, len);
    cf_font *sub = load_subset(data, len);
    assert_subset_matches(full, sub, text, text_len);
    cf_font_free(sub);
    cf_free(data);
    cf_diag_free(diag);
    cf_codepoints_free(set);
    free(text);
}

/* Every allocation failure is reported as CF_ERR_NOMEM with nothing leaked. */
/* A font whose cmap has no Unicode subtable (here: a subset with its records relabelled
 * Macintosh Roman) maps no character through HarfBuzz, and is refused when loaded. */
static void test_load_without_unicode_cmap(void **state)
{
    (void)state;
    cf_codepoints *set = cf_codepoints_new();
    cf_codepoints_add_utf8(set, label_text, strlen(label_text));
    unsigned char *data = NULL;
    size_t len = 0;
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_font_subset(hk_font(CF_FONT_REGULAR), set, &data, &len, diag), CF_OK);
    size_t off, tlen;
    assert_true(find_table(data, len, "cmap", &off, &tlen));
    size_t n = be16(data + off + 2);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char *rec = data + off + 4 + 8 * i;
        rec[0] = 0, rec[1] = 1, rec[2] = 0, rec[3] = 0; /* platform 1, encoding 0 */
    }
    char path[] = "/tmp/cf-test-subset-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    cf_font *font = (cf_font *)1;
    assert_int_equal(cf_font_load(path, &font, diag), CF_ERR_DATA);
    assert_null(font);
    assert_true(cf_diag_contains(diag, "maps no Unicode character"));
    assert_true(cf_diag_contains(diag, path));
    unlink(path);
    cf_diag_free(diag);
    cf_free(data);
    cf_codepoints_free(set);
}

static void test_subset_allocation_failure(void **state)
{
    (void)state;
    const cf_font *full = hk_font(CF_FONT_REGULAR);
    cf_codepoints *set = cf_codepoints_new();
    cf_codepoints_add_utf8(set, label_text, strlen(label_text));
    bool done = false;
    for (unsigned long n = 1; n < 30 && !done; n++) {
        unsigned char *data = NULL;
        size_t len = 0;
        cf_alloc_fail_after(n);
        cf_status st = cf_font_subset(full, set, &data, &len, NULL);
        cf_alloc_fail_after(0);
        if (st == CF_OK) {
            done = true;
            cf_free(data);
        } else {
            assert_int_equal(st, CF_ERR_NOMEM);
            assert_null(data);
        }
    }
    assert_true(done);
    cf_codepoints_free(set);
}

/* Two threads measure and subset with the same font at once; results equal the
 * single-threaded ones. */
typedef struct thread_job {
    const cf_font *font;
    const char *text;
    const unsigned char *expected;
    size_t expected_len;
    double expected_width;
    int failures;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    cf_codepoints *set = cf_codepoints_new();
    cf_codepoints_add_utf8(set, job->text, strlen(job->text));
    for (int round = 0; round < 8; round++) {
        for (int k = 0; k < 50; k++)
            if (cf_font_text_width(job->font, job->text, strlen(job->text), 12.0) !=
                job->expected_width)
                job->failures++;
        unsigned char *data = NULL;
        size_t len = 0;
        if (cf_font_subset(job->font, set, &data, &len, NULL) != CF_OK ||
            len != job->expected_len || memcmp(data, job->expected, len) != 0)
            job->failures++;
        cf_free(data);
    }
    cf_codepoints_free(set);
    return NULL;
}

static void test_subset_threads(void **state)
{
    (void)state;
    const cf_font *full = hk_font(CF_FONT_REGULAR);
    const char *texts[2] = {label_text, "肉毒桿菌素：約 2–4 週見效。注射局部麻醉藥和/或類固醇後"};
    thread_job jobs[2];
    unsigned char *expected[2];
    for (int t = 0; t < 2; t++) {
        cf_codepoints *set = cf_codepoints_new();
        cf_codepoints_add_utf8(set, texts[t], strlen(texts[t]));
        size_t len = 0;
        assert_int_equal(cf_font_subset(full, set, &expected[t], &len, NULL), CF_OK);
        cf_codepoints_free(set);
        jobs[t] = (thread_job){full,
                               texts[t],
                               expected[t],
                               len,
                               cf_font_text_width(full, texts[t], strlen(texts[t]), 12.0),
                               0};
    }
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, thread_main, &jobs[t]), 0);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(jobs[t].failures, 0);
        cf_free(expected[t]);
    }
}

/* Two threads asking for the font sets at once get the same, fully loaded sets. */
static void *fontset_thread(void *arg)
{
    const cf_fontset **out = arg;
    cf_fontset_get("TW", out, NULL);
    return NULL;
}

static void test_fontset_threads(void **state)
{
    (void)state;
    cf_fontset_release_all();
    const cf_fontset *sets[2] = {NULL, NULL};
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, fontset_thread, &sets[t]), 0);
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    assert_non_null(sets[0]);
    assert_ptr_equal(sets[0], sets[1]);
    assert_non_null(sets[0]->faces[CF_FONT_BOLD]);
    assert_true(cf_font_has(sets[0]->faces[CF_FONT_BOLD], 0x9673));
}

static int teardown(void **state)
{
    (void)state;
    cf_fontset_release_all();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subset_label),
        cmocka_unit_test(test_subset_ordered),
        cmocka_unit_test(test_subset_leaflet),
        cmocka_unit_test(test_subset_missing_and_empty),
        cmocka_unit_test(test_subset_beyond_bmp),
        cmocka_unit_test(test_subset_dense),
        cmocka_unit_test(test_subset_allocation_failure),
        cmocka_unit_test(test_subset_threads),
        cmocka_unit_test(test_fontset_threads),
        cmocka_unit_test(test_load_without_unicode_cmap),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
