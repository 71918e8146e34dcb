/* Unit tests of src/base: UTF-8, buffers, arenas, diagnostics, files, hashing, allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/suggest.h"
#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/status.h"
#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_utf8_decode(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t used;
        uint32_t cp;
    } cases[] = {
        {"A", 1, 0x41},
        {"\xC3\xA9", 2, 0xE9},
        {"\xE9\x99\xB3", 3, 0x9673},      /* 陳 */
        {"\xF0\xA0\x9D\xB9", 4, 0x20779}, /* 𠝹 */
        {"\xC0\xAF", 0, 0},               /* overlong '/' */
        {"\xE0\x80\xAF", 0, 0},           /* overlong */
        {"\xED\xA0\x80", 0, 0},           /* surrogate */
        {"\xF4\x90\x80\x80", 0, 0},       /* above U+10FFFF */
        {"\xE9\x99", 0, 0},               /* truncated */
        {"\x80", 0, 0},                   /* lone continuation */
        {"\xFF", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0;
        size_t n = cf_utf8_decode(cases[i].bytes, strlen(cases[i].bytes), &cp);
        assert_int_equal(n, cases[i].used);
        if (n)
            assert_int_equal(cp, cases[i].cp);
    }
    const char mixed[] = "ok\xE9\x99\xB3\xFFzz";
    assert_int_equal(cf_utf8_check(mixed, strlen(mixed)), 5);
    assert_int_equal(cf_utf8_length("陳大文 A", strlen("陳大文 A")), 5);
    char out[4];
    assert_int_equal(cf_utf8_encode(0x20779, out), 4);
    assert_memory_equal(out, "\xF0\xA0\x9D\xB9", 4);
    assert_int_equal(cf_utf8_encode(0xD800, out), 0);
}

static void test_buf_limit_is_sticky(void **state)
{
    (void)state;
    cf_buf buf;
    cf_buf_init(&buf, 8);
    assert_int_equal(cf_buf_append_str(&buf, "12345"), CF_OK);
    assert_int_equal(cf_buf_printf(&buf, "%d", 678), CF_OK);
    assert_string_equal(buf.data, "12345678");
    assert_int_equal(cf_buf_putc(&buf, '9'), CF_ERR_LIMIT);
    /* The first error sticks even for an append that would fit. */
    assert_int_equal(cf_buf_append(&buf, "", 0), CF_ERR_LIMIT);
    assert_int_equal(buf.len, 8);
    cf_buf_reset(&buf);
    assert_int_equal(cf_buf_append_str(&buf, "ab"), CF_OK);
    size_t len;
    char *taken = cf_buf_take(&buf, &len);
    assert_string_equal(taken, "ab");
    assert_int_equal(len, 2);
    assert_null(buf.data);
    cf_free(taken);
    cf_buf_cleanup(&buf);
}

static void test_arena_cap(void **state)
{
    (void)state;
    cf_arena *arena = cf_arena_new(256 * 1024);
    assert_non_null(arena);
    char *s = cf_arena_strdup(arena, "神經根管注射");
    assert_string_equal(s, "神經根管注射");
    assert_int_equal((uintptr_t)s % 16, 0);
    void *big = cf_arena_alloc(arena, 150 * 1024);
    assert_non_null(big);
    assert_false(cf_arena_over_cap(arena));
    assert_null(cf_arena_alloc(arena, 100 * 1024));
    assert_true(cf_arena_over_cap(arena));
    assert_null(cf_arena_calloc(arena, SIZE_MAX / 2, 4));
    cf_arena_free(arena);
    cf_arena_free(NULL);
}

static void test_diag_format(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_diag_error(diag, "forms/x.xml", 41, "risk has frequency \"%s\"", "often");
    cf_diag_add(diag, CF_DIAG_WARNING, "p.csv", 7, 3, "unknown column %s", "ward");
    cf_diag_add(diag, CF_DIAG_ERROR, NULL, 0, 0, "plain");
    assert_int_equal(cf_diag_size(diag), 3);
    assert_int_equal(cf_diag_error_count(diag), 2);
    char line[256];
    cf_diag_format(cf_diag_get(diag, 0), line, sizeof line);
    assert_string_equal(line, "consentform: forms/x.xml:41: risk has frequency \"often\"");
    cf_diag_format(cf_diag_get(diag, 1), line, sizeof line);
    assert_string_equal(line, "consentform: p.csv:7:3: warning: unknown column ward");
    cf_diag_format(cf_diag_get(diag, 2), line, sizeof line);
    assert_string_equal(line, "consentform: plain");
    assert_true(cf_diag_contains(diag, "x.xml:41"));
    assert_false(cf_diag_contains(diag, "x.xml:42"));
    assert_null(cf_diag_get(diag, 3));
    cf_diag_clear(diag);
    assert_int_equal(cf_diag_size(diag), 0);
    cf_diag_free(diag);
    cf_diag_error(NULL, "x", 1, "dropped");
}

/* A fresh empty directory under /tmp; caller removes it. */
static void make_temp_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/cf-test-base-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static size_t count_entries(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long n = 0;
    assert_int_equal(fscanf(p, "%lu", &n), 1);
    pclose(p);
    return (size_t)n;
}

static void remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_atomic_write(void **state)
{
    (void)state;
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.pdf", dir);
    cf_diag *diag = cf_diag_new();

    assert_int_equal(cf_file_write_atomic(path, "first", 5, false, diag), CF_OK);
    /* Without force an existing file stays as it was. */
    assert_int_equal(cf_file_write_atomic(path, "second", 6, false, diag), CF_ERR_EXISTS);
    assert_true(cf_diag_contains(diag, "already exists"));
    char *data;
    size_t len;
    assert_int_equal(cf_file_read(path, 100, &data, &len, diag), CF_OK);
    assert_string_equal(data, "first");
    cf_free(data);
    /* With force it is replaced. */
    assert_int_equal(cf_file_write_atomic(path, "second", 6, true, diag), CF_OK);
    assert_int_equal(cf_file_read(path, 100, &data, &len, diag), CF_OK);
    assert_string_equal(data, "second");
    cf_free(data);
    /* A write failure leaves neither the target nor a temporary file. */
    char path2[128];
    snprintf(path2, sizeof path2, "%s/b.pdf", dir);
    cf_atomic_file_fail_after(3);
    assert_int_equal(cf_file_write_atomic(path2, "0123456789", 10, false, diag), CF_ERR_IO);
    cf_atomic_file_fail_after(0);
    assert_int_equal(access(path2, F_OK), -1);
    assert_int_equal(count_entries(dir), 1);
    /* An abort leaves nothing. */
    cf_atomic_file *f;
    assert_int_equal(cf_atomic_file_open(path2, false, &f, diag), CF_OK);
    assert_int_equal(cf_atomic_file_write(f, "x", 1), CF_OK);
    cf_atomic_file_abort(f);
    assert_int_equal(count_entries(dir), 1);
    /* A missing directory is "cannot create". */
    char path3[160];
    snprintf(path3, sizeof path3, "%s/missing/c.pdf", dir);
    assert_int_equal(cf_file_write_atomic(path3, "x", 1, false, diag), CF_ERR_CANTCREAT);

    /* Files of a run: same guarantees, the directory synced once at the end. */
    char path4[128];
    snprintf(path4, sizeof path4, "%s/c.pdf", dir);
    assert_int_equal(cf_file_write_atomic_in_run(path4, "third", 5, false, diag), CF_OK);
    assert_int_equal(cf_file_write_atomic_in_run(path4, "again", 5, false, diag), CF_ERR_EXISTS);
    cf_atomic_file_fail_after(2);
    assert_int_equal(cf_file_write_atomic_in_run(path2, "0123", 4, false, diag), CF_ERR_IO);
    cf_atomic_file_fail_after(0);
    assert_int_equal(count_entries(dir), 2);
    assert_int_equal(cf_file_read(path4, 100, &data, &len, diag), CF_OK);
    assert_string_equal(data, "third");
    cf_free(data);
    assert_int_equal(cf_file_sync_dir(dir, diag), CF_OK);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    cf_diag_clear(diag);
    assert_int_equal(cf_file_sync_dir(missing, diag), CF_ERR_IO);
    assert_true(cf_diag_contains(diag, "missing"));
    cf_diag_free(diag);
    remove_dir(dir);
}

static void test_file_read_limits(void **state)
{
    (void)state;
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/f.txt", dir);
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_file_write_atomic(path, "0123456789", 10, false, diag), CF_OK);
    char *data;
    size_t len;
    assert_int_equal(cf_file_read(path, 10, &data, &len, diag), CF_OK);
    assert_int_equal(len, 10);
    cf_free(data);
    assert_int_equal(cf_file_read(path, 9, &data, &len, diag), CF_ERR_LIMIT);
    assert_null(data);
    assert_true(cf_diag_contains(diag, "larger than the limit"));
    assert_int_equal(cf_file_read("/nonexistent/x", 9, &data, &len, diag), CF_ERR_NOINPUT);
    assert_int_equal(cf_file_read(dir, 9, &data, &len, diag), CF_ERR_NOINPUT);
    cf_diag_free(diag);
    remove_dir(dir);
}

static void test_sha256(void **state)
{
    (void)state;
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cf_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_alloc_failure_injection(void **state)
{
    (void)state;
    cf_alloc_fail_after(2);
    void *a = cf_malloc(8);
    void *b = cf_malloc(8);
    cf_alloc_fail_after(0);
    assert_non_null(a);
    assert_null(b);
    cf_free(a);
    /* Every allocation count of a diag sink fails cleanly. */
    for (unsigned long n = 1; n < 8; n++) {
        cf_alloc_fail_after(n);
        cf_diag *diag = cf_diag_new();
        cf_diag_error(diag, "f", 1, "message %lu", n);
        cf_diag_free(diag);
        cf_alloc_fail_after(0);
    }
}

/* cf_grow_array: doubling from first (or from the capacity), at least the need, nothing done
 * when there is room, and on failure (memory or size) the array and its capacity unchanged. */
static void test_grow_array(void **state)
{
    (void)state;
    size_t cap = 0;
    int *a = cf_grow_array(NULL, &cap, 1, sizeof *a, 16);
    assert_non_null(a);
    assert_int_equal(cap, 16);
    for (int i = 0; i < 16; i++)
        a[i] = i;
    assert_ptr_equal(cf_grow_array(a, &cap, 16, sizeof *a, 16), a); /* room already */
    assert_int_equal(cap, 16);
    a = cf_grow_array(a, &cap, 17, sizeof *a, 16);
    assert_non_null(a);
    assert_int_equal(cap, 32);
    a = cf_grow_array(a, &cap, 100, sizeof *a, 16); /* doubles until it holds the need */
    assert_non_null(a);
    assert_int_equal(cap, 128);
    for (int i = 0; i < 16; i++)
        assert_int_equal(a[i], i); /* contents kept */

    /* A failed allocation: NULL, the array still the caller's, the capacity as it was. */
    cf_alloc_fail_after(1);
    assert_null(cf_grow_array(a, &cap, 129, sizeof *a, 16));
    cf_alloc_fail_after(0);
    assert_int_equal(cap, 128);
    assert_int_equal(a[15], 15);
    /* A size that does not fit in size_t. */
    assert_null(cf_grow_array(a, &cap, SIZE_MAX / 2, sizeof *a, 16));
    assert_int_equal(cap, 128);
    cf_free(a);

    /* first 0 starts from one element. */
    cap = 0;
    char *c = cf_grow_array(NULL, &cap, 3, 1, 0);
    assert_non_null(c);
    assert_int_equal(cap, 4);
    cf_free(c);
}

static void test_status_table(void **state)
{
    (void)state;
    assert_int_equal(cf_status_exit_code(CF_OK), 0);
    assert_int_equal(cf_status_exit_code(CF_ERR_USAGE), 64);
    assert_int_equal(cf_status_exit_code(CF_ERR_DATA), 65);
    assert_int_equal(cf_status_exit_code(CF_ERR_NOINPUT), 66);
    assert_int_equal(cf_status_exit_code(CF_ERR_CANTCREAT), 73);
    assert_int_equal(cf_status_exit_code(CF_ERR_EXISTS), 73);
    assert_int_equal(cf_status_exit_code(CF_ERR_IO), 74);
    assert_int_equal(cf_status_exit_code(CF_ERR_INTERNAL), 70);
    for (int s = 0; s < CF_STATUS_COUNT; s++)
        assert_non_null(cf_status_message((cf_status)s));
    assert_string_equal(cf_status_message(CF_STATUS_COUNT), "unknown status");
}

/* Issue 11.2: hidden characters are written as <U+XXXX> in every message and file name; LF
 * and TAB of a message stay; bytes that are not UTF-8 show as \xNN; visible text is kept. */
static void test_escape_hidden(void **state)
{
    (void)state;
    cf_buf b;
    cf_buf_init(&b, 4096);
    cf_utf8_quote(&b, "a\u202Eb\u00ADc\x01\xE9 陳", strlen("a\u202Eb\u00ADc\x01\xE9 陳"), 0);
    assert_string_equal(b.data, "\"a<U+202E>b<U+00AD>c<U+0001>\\xE9 陳\"");
    cf_buf_reset(&b);
    cf_utf8_escape(&b, "陳大文陳大文", strlen("陳大文陳大文"), 7, false);
    assert_string_equal(b.data, "陳大…");
    cf_buf_cleanup(&b);

    cf_diag *diag = cf_diag_new();
    cf_diag_error(diag, "list\u202E.csv", 3, "value \"x\u2066y\" bad\tnext\nline\u200B");
    const cf_diag_entry *e = cf_diag_get(diag, 0);
    assert_string_equal(e->file, "list<U+202E>.csv");
    assert_string_equal(e->message, "value \"x<U+2066>y\" bad\tnext\nline<U+200B>");
    cf_diag_free(diag);

    /* White_Space: the spaces a name may hide behind; a tab is never trimmed. */
    static const uint32_t spaces[] = {0x20,   0xA0,   0x1680, 0x2000, 0x2003,
                                      0x2009, 0x200A, 0x202F, 0x205F, 0x3000};
    for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
        assert_true(cf_utf8_is_white_space(spaces[i]));
    assert_false(cf_utf8_is_white_space(0x200B));
    const char *v = "\u3000\u00A0陳 大文\u2009 ";
    size_t len = strlen(v), a = cf_utf8_space_prefix(v, len);
    size_t z = cf_utf8_space_suffix(v + a, len - a);
    assert_int_equal(a, 5);
    assert_int_equal(z, 4);
    assert_int_equal(cf_utf8_space_prefix("\t x", 3), 0);
    assert_int_equal(cf_utf8_space_suffix("x \t", 3), 0);
}

/* Edit distance and suggestions: each row is typed, candidates, expected suggestion. */
static void test_suggest(void **state)
{
    (void)state;
    assert_int_equal(cf_edit_distance("", ""), 0);
    assert_int_equal(cf_edit_distance("render", "render"), 0);
    assert_int_equal(cf_edit_distance("rendr", "render"), 1);
    assert_int_equal(cf_edit_distance("valdiate", "validate"), 1); /* a swap counts 1 */
    assert_int_equal(cf_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(cf_edit_distance("", "list"), 4);
    static const char *const commands[] = {"list",  "validate", "render",
                                           "batch", "archive",  "help"};
    static const struct {
        const char *typed, *expected;
    } cases[] = {
        {"ren", "render"},       {"rendr", "render"},   {"lsit", "list"}, {"bacth", "batch"},
        {"valdate", "validate"}, {"archiv", "archive"}, {"xyz", NULL},    {"r", "render"},
        {"helpme", "help"},      {"list", NULL},        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_suggestion s;
        cf_suggestion_init(&s, cases[i].typed);
        for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
            cf_suggestion_add(&s, commands[c]);
        const char *best = cf_suggestion_get_best(&s);
        if (cases[i].expected == NULL) {
            if (best != NULL)
                fail_msg("\"%s\": suggested \"%s\", expected nothing", cases[i].typed, best);
        } else if (best == NULL || strcmp(best, cases[i].expected) != 0) {
            fail_msg("\"%s\": suggested \"%s\", expected \"%s\"", cases[i].typed,
                     best ? best : "(nothing)", cases[i].expected);
        }
    }
    /* An abbreviation wins over a near miss: --pat means --patient-name, not --path. */
    cf_suggestion s;
    cf_suggestion_init(&s, "pat");
    cf_suggestion_add(&s, "pan");
    cf_suggestion_add(&s, "patient-name");
    assert_string_equal(cf_suggestion_get_best(&s), "patient-name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decode),   cmocka_unit_test(test_buf_limit_is_sticky),
        cmocka_unit_test(test_arena_cap),     cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_atomic_write),  cmocka_unit_test(test_file_read_limits),
        cmocka_unit_test(test_sha256),        cmocka_unit_test(test_alloc_failure_injection),
        cmocka_unit_test(test_grow_array),    cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_escape_hidden), cmocka_unit_test(test_suggest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
