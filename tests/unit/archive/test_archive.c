/* Unit tests of src/archive: a store's life (init, open, register, scans as versions,
 * unregistered scans, void, list, show, export, verify), its refusals (second init, not a store,
 * newer schema, read-only, bad ids, unknown ids, non-scan files, a different PDF under an id
 * already issued), sniffing, permissions, a flipped byte found by verify, and registration
 * from two threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "archive/archive.h"
#include "base/alloc.h"
#include "base/diag.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/cf-archive-test-XXXXXX");
    return mkdtemp(root) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' && rm -rf '%s'", root, root);
    return system(cmd) == 0 ? 0 : -1;
}

static char *store_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", root, name);
    return path;
}

static const unsigned char pdf_a[] = "%PDF-1.4\nfirst issued document\n%%EOF\n";
static const unsigned char pdf_b[] = "%PDF-1.4\nanother document\n%%EOF\n";
static const unsigned char png[] = "\x89PNG\r\n\x1a\n....scan....";
static const cf_archive_label labels[] = {
    {"patient_name", "陳大文"}, {"hospital_no", "HN12345678(9)"}, {"episode_no", "HE1234567"}};

static cf_archive *fresh(const char *name)
{
    char *dir = store_path(name);
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    return a;
}

static void test_sniff(void **state)
{
    (void)state;
    assert_string_equal(cf_archive_sniff(pdf_a, sizeof pdf_a), "application/pdf");
    assert_string_equal(cf_archive_sniff(png, sizeof png), "image/png");
    assert_string_equal(cf_archive_sniff((const unsigned char *)"\xff\xd8\xff\xe0", 4),
                        "image/jpeg");
    assert_string_equal(cf_archive_sniff((const unsigned char *)"II*\0", 4), "image/tiff");
    assert_string_equal(cf_archive_sniff((const unsigned char *)"MM\0*", 4), "image/tiff");
    assert_null(cf_archive_sniff((const unsigned char *)"GIF89a", 6));
    assert_null(cf_archive_sniff((const unsigned char *)"%PD", 3));
    assert_null(cf_archive_sniff(NULL, 0));
}

static void test_init_open_and_permissions(void **state)
{
    (void)state;
    char *dir = store_path("s1");
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_archive_init(dir, diag), CF_OK);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char path[600];
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A second init changes nothing. */
    assert_int_equal(cf_archive_init(dir, diag), CF_ERR_EXISTS);
    assert_true(cf_diag_contains(diag, "already an archive store"));
    /* A folder that is not a store. */
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(root, false, &a, diag), CF_ERR_NOINPUT);
    assert_null(a);
    assert_true(cf_diag_contains(diag, "archive init"));
    cf_diag_free(diag);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char *dir = store_path("s2");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cf_diag *diag = cf_diag_new();
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "newer consentform"));
    cf_diag_free(diag);
}

static void test_life_of_a_document(void **state)
{
    (void)state;
    cf_archive *a = fresh("s3");
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_archive_register_issued(a, "P0MQ7266T32TK", "nerve-root-injection", "1.0",
                                                labels, 3, pdf_a, sizeof pdf_a, 1767225600,
                                                "nurse", diag),
                     CF_OK);
    /* The same PDF again is a re-run; another PDF under the same id is refused. */
    assert_int_equal(cf_archive_register_issued(a, "P0MQ7266T32TK", "nerve-root-injection", "1.0",
                                                labels, 3, pdf_a, sizeof pdf_a, 1767225600,
                                                "nurse", diag),
                     CF_OK);
    assert_int_equal(cf_archive_register_issued(a, "P0MQ7266T32TK", "nerve-root-injection", "1.0",
                                                labels, 3, pdf_b, sizeof pdf_b, 1767225600,
                                                "nurse", diag),
                     CF_ERR_EXISTS);
    assert_int_equal(cf_archive_register_issued(a, "bad id!", "f", "1", labels, 3, pdf_b,
                                                sizeof pdf_b, 0, "nurse", diag),
                     CF_ERR_DATA);
    int version = 0;
    assert_int_equal(cf_archive_add_scan(a, "P0MQ7266T32TK", png, sizeof png, 1767300000, "ward",
                                         NULL, NULL, 0, &version, diag),
                     CF_OK);
    assert_int_equal(version, 1);
    assert_int_equal(cf_archive_add_scan(a, "P0MQ7266T32TK", pdf_b, sizeof pdf_b, 1767300100,
                                         "ward", NULL, NULL, 0, &version, diag),
                     CF_OK);
    assert_int_equal(version, 2);
    /* Not a scan; an unknown id; the same id filed unregistered with label values. */
    assert_int_equal(cf_archive_add_scan(a, "P0MQ7266T32TK", (const unsigned char *)"hello", 5, 0,
                                         "ward", NULL, NULL, 0, &version, diag),
                     CF_ERR_DATA);
    assert_int_equal(cf_archive_add_scan(a, "0000000000000", png, sizeof png, 0, "ward", NULL,
                                         NULL, 0, &version, diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "never issued from this store"));
    assert_int_equal(cf_archive_add_scan(a, "0000000000000", png, sizeof png, 0, "ward", "old-form",
                                         labels, 3, &version, diag),
                     CF_OK);
    assert_int_equal(version, 1);
    /* A second issued document, then voided: neither it nor the signed one is "unsigned". */
    assert_int_equal(cf_archive_register_issued(a, "1FMRZJE5VE4MW", "nerve-root-injection", "1.0",
                                                labels, 3, pdf_b, sizeof pdf_b, 1767225600,
                                                "nurse", diag),
                     CF_OK);
    assert_int_equal(cf_archive_register_issued(a, "5JBNR0BKTJB0C", "dpn-injection-consent", "1.0",
                                                labels, 3, pdf_a, sizeof pdf_a, 1767225600,
                                                "nurse", diag),
                     CF_OK);
    assert_int_equal(cf_archive_void(a, "1FMRZJE5VE4MW", "printed for the wrong side", 1767300200,
                                     "ward", diag),
                     CF_OK);
    assert_int_equal(cf_archive_void(a, "1FMRZJE5VE4MW", "", 0, "ward", diag), CF_ERR_DATA);

    char *text = NULL;
    size_t len = 0, count = 0;
    FILE *out = open_memstream(&text, &len);
    cf_archive_filter unsigned_only = {.unsigned_only = true};
    assert_int_equal(cf_archive_list(a, &unsigned_only, out, &count, diag), CF_OK);
    fclose(out);
    assert_int_equal(count, 1);
    assert_non_null(strstr(text, "5JBNR0BKTJB0C"));
    free(text);
    cf_archive_filter by_form = {.form_id = "nerve-root-injection"};
    out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_list(a, &by_form, out, &count, diag), CF_OK);
    fclose(out);
    assert_int_equal(count, 2);
    assert_non_null(strstr(text, "signed(2)"));
    assert_non_null(strstr(text, "void"));
    free(text);
    out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_show(a, "P0MQ7266T32TK", out, diag), CF_OK);
    fclose(out);
    assert_non_null(strstr(text, "issued"));
    assert_non_null(strstr(text, "version 2"));
    free(text);

    /* Export: the exact bytes back, and a record. */
    char *dir = store_path("export");
    assert_int_equal(cf_archive_export(a, "P0MQ7266T32TK", dir, false, diag), CF_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/signed-1.png", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/record.json", dir);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(cf_archive_export(a, "P0MQ7266T32TK", dir, false, diag), CF_ERR_EXISTS);

    size_t problems = 99;
    out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_verify(a, out, true, 1767400000, "auditor", &problems, diag),
                     CF_OK);
    fclose(out);
    assert_int_equal(problems, 0);
    free(text);
    cf_archive_close(a);
    cf_diag_free(diag);
}

static void test_verify_finds_a_flipped_byte(void **state)
{
    (void)state;
    cf_archive *a = fresh("s4");
    assert_int_equal(cf_archive_register_issued(a, "P0MQ7266T32TK", "f", "1", labels, 3, pdf_a,
                                                sizeof pdf_a, 0, "nurse", NULL),
                     CF_OK);
    cf_archive_close(a);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "f=$(find '%s/s4/objects' -type f) && chmod u+w \"$f\" && printf X | dd of=\"$f\" "
             "bs=1 seek=3 conv=notrunc 2>/dev/null",
             root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cf_archive_open(store_path("s4"), true, &a, NULL), CF_OK);
    char *text = NULL;
    size_t len = 0, problems = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_verify(a, out, false, 0, "x", &problems, NULL), CF_OK);
    fclose(out);
    assert_int_equal(problems, 1);
    assert_non_null(strstr(text, "content changed"));
    assert_non_null(strstr(text, "objects/"));
    free(text);
    cf_archive_close(a);
}

static void test_read_only_store(void **state)
{
    (void)state;
    cf_archive *a = fresh("s5");
    cf_archive_close(a);
    assert_int_equal(cf_archive_open(store_path("s5"), true, &a, NULL), CF_OK);
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_archive_register_issued(a, "P0MQ7266T32TK", "f", "1", labels, 3, pdf_a,
                                                sizeof pdf_a, 0, "nurse", diag),
                     CF_ERR_CANTCREAT);
    assert_true(cf_diag_contains(diag, "read-only"));
    size_t problems = 1;
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(cf_archive_verify(a, out, false, 0, "x", &problems, diag), CF_OK);
    fclose(out);
    assert_int_equal(problems, 0);
    cf_archive_close(a);
    cf_diag_free(diag);
}

typedef struct thread_job {
    cf_archive *a;
    int first;
    cf_status status;
} thread_job;

static void *register_many(void *arg)
{
    thread_job *job = arg;
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    for (int i = 0; i < 25 && job->status == CF_OK; i++) {
        char id[14], pdf[64];
        int n = job->first + i;
        snprintf(id, sizeof id, "THREAD%c%c%c0000", alphabet[n / 32 % 32], alphabet[n % 32], 'X');
        int len = snprintf(pdf, sizeof pdf, "%%PDF-1.4 document %d", n);
        job->status = cf_archive_register_issued(job->a, id, "f", "1", labels, 3,
                                                 (const unsigned char *)pdf, (size_t)len, n,
                                                 "nurse", NULL);
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    cf_archive *a = fresh("s6");
    thread_job jobs[2] = {{a, 0, CF_OK}, {a, 100, CF_OK}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, register_many, &jobs[1]), 0);
    register_many(&jobs[0]);
    pthread_join(t, NULL);
    assert_int_equal(jobs[0].status, CF_OK);
    assert_int_equal(jobs[1].status, CF_OK);
    size_t count = 0;
    FILE *out = fopen("/dev/null", "w");
    cf_archive_filter all = {0};
    assert_int_equal(cf_archive_list(a, &all, out, &count, NULL), CF_OK);
    fclose(out);
    assert_int_equal(count, 50);
    cf_archive_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_init_open_and_permissions),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_life_of_a_document),
        cmocka_unit_test(test_verify_finds_a_flipped_byte),
        cmocka_unit_test(test_read_only_store),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests_name("archive", tests, setup, teardown);
}
