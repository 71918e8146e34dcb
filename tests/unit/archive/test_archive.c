/* Unit tests of src/archive: a store's life (init, open, migrate, register, scans as versions,
 * the same scan twice, unregistered scans, void, list, show, export, verify), its refusals
 * (second init, not a store, newer schema, bad ids and labels, unknown ids, non-scan files, a
 * different PDF under an id already issued), privacy (modes 0700/0600/0400, no patient value in
 * names or messages), what verify finds (a flipped byte, a missing object, an object nobody
 * names, a stray file), a store on read-only media, threads, and an allocation-failure sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h> /* before jpeglib.h */

#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>

#include "archive/archive.h"
#include "base/alloc.h"
#include "base/diag.h"
#include "base/file.h"
#include "base/hash.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[256];

static void make_fixtures(void);

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/cf-archive-test-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    make_fixtures();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' && rm -rf '%s'", root, root);
    return system(cmd) == 0 ? 0 : -1;
}

/* root/name, in one of a few rotating static buffers. */
static char *path_in(const char *name)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", root, name);
    return p;
}

/* Runs a shell command made from fmt; it must succeed. */
static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    assert_int_equal(system(cmd), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Test files made at start (make_fixtures): real PDFs (one page of text), a PNG, a JPEG and a
 * TIFF that decode, so that the store's content checks accept them. */
typedef struct blob {
    unsigned char *data;
    size_t len;
} blob;
static blob pdf_a, pdf_b, pdf_scan, png, jpeg, tiff;

/* A one-page PDF showing text, with a correct cross-reference table. */
static blob make_pdf(const char *text)
{
    char content[300];
    int clen = snprintf(content, sizeof content, "BT /F1 18 Tf 72 720 Td (%s) Tj ET", text);
    char objs[5][400];
    snprintf(objs[0], sizeof objs[0], "<< /Type /Catalog /Pages 2 0 R >>");
    snprintf(objs[1], sizeof objs[1], "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    snprintf(objs[2], sizeof objs[2],
             "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
             "/Resources << /Font << /F1 5 0 R >> >> >>");
    snprintf(objs[3], sizeof objs[3], "<< /Length %d >>\nstream\n%s\nendstream", clen, content);
    snprintf(objs[4], sizeof objs[4], "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    long offsets[5];
    fprintf(f, "%%PDF-1.4\n");
    for (int i = 0; i < 5; i++) {
        offsets[i] = ftell(f);
        fprintf(f, "%d 0 obj\n%s\nendobj\n", i + 1, objs[i]);
    }
    long xref = ftell(f);
    fprintf(f, "xref\n0 6\n0000000000 65535 f \n");
    for (int i = 0; i < 5; i++)
        fprintf(f, "%010ld 00000 n \n", offsets[i]);
    fprintf(f, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", xref);
    fclose(f);
    return (blob){(unsigned char *)buf, size};
}

static blob make_png(unsigned shade)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = 16;
    image.height = 16;
    image.format = PNG_FORMAT_GRAY;
    unsigned char pixels[256];
    memset(pixels, (int)shade, sizeof pixels);
    png_alloc_size_t size = 0;
    assert_true(png_image_write_to_memory(&image, NULL, &size, 0, pixels, 0, NULL));
    unsigned char *data = malloc(size);
    assert_true(png_image_write_to_memory(&image, data, &size, 0, pixels, 0, NULL));
    return (blob){data, size};
}

static blob make_jpeg(void)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *data = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &data, &size);
    c.image_width = 16;
    c.image_height = 16;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[16];
    memset(row, 200, sizeof row);
    JSAMPROW rows[1] = {row};
    while (c.next_scanline < c.image_height)
        jpeg_write_scanlines(&c, rows, 1);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return (blob){data, size};
}

static blob make_tiff(const char *path)
{
    TIFF *t = TIFFOpen(path, "w");
    assert_non_null(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 16);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 16);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    unsigned char row[16];
    memset(row, 90, sizeof row);
    for (uint32_t y = 0; y < 16; y++)
        TIFFWriteScanline(t, row, y, 0);
    TIFFClose(t);
    blob b = {0};
    char *data = NULL;
    assert_int_equal(cf_file_read(path, 1 << 20, &data, &b.len, NULL), CF_OK);
    b.data = malloc(b.len);
    memcpy(b.data, data, b.len);
    cf_free(data);
    return b;
}

/* The bytes of b followed by a line more (after a PNG's end, or a PDF comment after %%EOF):
 * another file that still decodes. Caller frees data. */
static blob variant(blob b, int n)
{
    blob v = {malloc(b.len + 32), 0};
    memcpy(v.data, b.data, b.len);
    v.len = b.len + (size_t)snprintf((char *)v.data + b.len, 32, "%% variant %d\n", n);
    return v;
}

static void make_fixtures(void)
{
    pdf_a = make_pdf("first issued document");
    pdf_b = make_pdf("another document");
    pdf_scan = make_pdf("signed by the patient");
    png = make_png(128);
    jpeg = make_jpeg();
    char path[300];
    snprintf(path, sizeof path, "%s/fixture.tif", root);
    tiff = make_tiff(path);
}
static const cf_archive_label labels[] = {
    {"patient_name", "陳大文"}, {"hospital_no", "HN12345678(9)"}, {"episode_no", "HE1234567"}};
#define ID_A "P0MQ7266T32TK"
#define ID_B "1FMRZJE5VE4MW"
#define ID_C "5JBNR0BKTJB0C"

static cf_archive *fresh(const char *name)
{
    char *dir = path_in(name);
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    return a;
}

static cf_status issue(cf_archive *a, const char *id, const unsigned char *pdf, size_t len,
                       cf_diag *diag)
{
    return cf_archive_register_issued(a, id, "nerve-root-injection", "1.0", /*form_sha256*/ NULL,
                                      labels, 3, pdf, len, 1767225600, "nurse", diag);
}

typedef struct verify_result {
    cf_status status;
    size_t problems;
    char *text; /* what verify printed; free() */
} verify_result;

static verify_result verify(cf_archive *a)
{
    verify_result r = {0};
    size_t len = 0;
    FILE *out = open_memstream(&r.text, &len);
    r.status = cf_archive_verify(a, out, false, 0, "auditor", &r.problems, NULL);
    fclose(out);
    return r;
}

/* Verifies the store in dir from a fresh read-only handle. */
static verify_result verify_dir(const char *dir)
{
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, true, &a, NULL), CF_OK);
    verify_result r = verify(a);
    cf_archive_close(a);
    return r;
}

/* More problems than any store of these tests has: no upper bound for assert_verify_reports. */
#define MANY SIZE_MAX

/* Asserts that verify returned CF_OK with least to most problems and printed each text of the
 * NULL-terminated list texts; frees r.text. A failure shows what verify printed and points at
 * the caller's file and line. */
static void verify_reports_at(verify_result r, size_t least, size_t most, const char *const *texts,
                              const char *src, int src_line)
{
    bool as_expected = r.status == CF_OK && r.problems >= least && r.problems <= most;
    for (size_t i = 0; texts[i] != NULL; i++)
        if (strstr(r.text, texts[i]) == NULL) {
            print_error("verify did not print \"%s\"\n", texts[i]);
            as_expected = false;
        }
    if (!as_expected) {
        char expected[80];
        if (most == MANY)
            snprintf(expected, sizeof expected, "at least %zu", least);
        else
            snprintf(expected, sizeof expected, "%zu to %zu", least, most);
        print_error("verify: status %d, %zu problems (expected CF_OK, %s); it printed:\n%s",
                    (int)r.status, r.problems, expected, r.text);
        free(r.text);
        _fail(src, src_line);
    }
    free(r.text);
}
/* assert_verify_reports(verify_dir(dir), 1, MANY, "text", ...); at least one text. */
#define assert_verify_reports(result, least, most, ...)                                            \
    verify_reports_at(result, least, most, (const char *const[]){__VA_ARGS__, NULL}, __FILE__,     \
                      __LINE__)
/* No problem (notes allowed). */
#define assert_verify_clean(result)                                                                \
    verify_reports_at(result, 0, 0, (const char *const[]){NULL}, __FILE__, __LINE__)

/* Runs sql on the index of the store in dir with a connection of its own, behind the store's
 * back (as someone with the sqlite3 tool would: the index's append-only triggers refuse an
 * UPDATE or DELETE unless sql drops them first); returns SQLite's result, its message in
 * error. */
static int edit_index(const char *dir, const char *sql, char error[200])
{
    char path[600];
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
    snprintf(error, 200, "%s", message != NULL ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
    return rc;
}

/* The first column of the first row sql gives on the index of the store in dir (a connection of
 * its own); the test fails when sql gives no row. */
static long long index_value(const char *dir, const char *sql)
{
    char path[600];
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long value = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return value;
}

/* Asserts that sql, run on the index of the store in dir (edit_index), changes it. */
static void tamper_index_at(const char *dir, const char *sql, const char *src, int src_line)
{
    char error[200];
    if (edit_index(dir, sql, error) == SQLITE_OK)
        return;
    print_error("the index of %s refused \"%s\": %s\n", dir, sql, error);
    _fail(src, src_line);
}
#define tamper_index(dir, sql) tamper_index_at(dir, sql, __FILE__, __LINE__)

/* Asserts that the index of the store in dir refuses sql by a trigger of its own (a
 * constraint, not a mistake in sql). */
static void index_refuses_at(const char *dir, const char *sql, const char *src, int src_line)
{
    char error[200];
    int rc = edit_index(dir, sql, error);
    if (rc == SQLITE_CONSTRAINT)
        return;
    print_error("the index of %s took \"%s\" (SQLite result %d: %s)\n", dir, sql, rc, error);
    _fail(src, src_line);
}
#define assert_index_refuses(dir, sql) index_refuses_at(dir, sql, __FILE__, __LINE__)

static size_t count_list(cf_archive *a, cf_archive_filter f, char **text)
{
    char *buf = NULL;
    size_t len = 0, count = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(cf_archive_list(a, &f, out, &count, NULL), CF_OK);
    fclose(out);
    if (text != NULL)
        *text = buf;
    else
        free(buf);
    return count;
}

static void test_sniff(void **state)
{
    (void)state;
    assert_string_equal(cf_archive_sniff(pdf_a.data, pdf_a.len), "application/pdf");
    assert_string_equal(cf_archive_sniff(png.data, png.len), "image/png");
    assert_string_equal(cf_archive_sniff(jpeg.data, 4), "image/jpeg");
    assert_string_equal(cf_archive_sniff((const unsigned char *)"II*\0", 4), "image/tiff");
    assert_string_equal(cf_archive_sniff((const unsigned char *)"MM\0*", 4), "image/tiff");
    assert_null(cf_archive_sniff((const unsigned char *)"GIF89a", 6));
    assert_null(cf_archive_sniff((const unsigned char *)"%PD", 3));
    assert_null(cf_archive_sniff((const unsigned char *)"\x89PNG\r\n\x1a", 7));
    assert_null(cf_archive_sniff((const unsigned char *)"\xff\xd8", 2));
    assert_null(cf_archive_sniff(png.data, 0));
    assert_null(cf_archive_sniff(NULL, 0));
}

static void test_init_open_and_permissions(void **state)
{
    (void)state;
    char *dir = path_in("s1");
    cf_diag *diag = cf_diag_new();
    mode_t old_mask = umask(0); /* the store must not depend on the caller's umask */
    assert_int_equal(cf_archive_init(dir, diag), CF_OK);
    umask(old_mask);
    assert_int_equal(mode_of(dir), 0700);
    char path[600];
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    assert_int_equal(mode_of(path), 0600);
    snprintf(path, sizeof path, "%s/objects", dir);
    assert_int_equal(mode_of(path), 0700);
    /* A second init changes nothing. */
    assert_int_equal(cf_archive_init(dir, diag), CF_ERR_EXISTS);
    assert_true(cf_diag_contains(diag, "already an archive store"));
    /* A folder that is not a store; a folder with other files in it. */
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(root, false, &a, diag), CF_ERR_NOINPUT);
    assert_null(a);
    assert_true(cf_diag_contains(diag, "archive init"));
    run("mkdir '%s/busy' && touch '%s/busy/notes.txt'", root, root);
    assert_int_equal(cf_archive_init(path_in("busy"), diag), CF_ERR_EXISTS);
    assert_true(cf_diag_contains(diag, "not empty"));

    /* Objects are 0400 in 0700 folders, the WAL files 0600, whatever the umask. */
    umask(0);
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(pdf_a.data, pdf_a.len, hex);
    snprintf(path, sizeof path, "%s/objects/%.2s", dir, hex);
    assert_int_equal(mode_of(path), 0700);
    snprintf(path, sizeof path, "%s/objects/%.2s/%s", dir, hex, hex + 2);
    assert_int_equal(mode_of(path), 0400);
    snprintf(path, sizeof path, "%s/index.sqlite-wal", dir);
    assert_int_equal(mode_of(path), 0600);
    snprintf(path, sizeof path, "%s/index.sqlite-shm", dir);
    assert_int_equal(mode_of(path), 0600);
    umask(old_mask);
    cf_archive_close(a);
    /* No patient value in any name inside the store. */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "find '%s' | grep -q 'HN123\\|HE123\\|陳'", dir);
    assert_int_not_equal(system(cmd), 0);
    cf_diag_free(diag);
}

/* An init cut off after creating the index but before its schema: init again finishes it. No
 * other open ever makes an index afresh (a zero-byte index is what a failed copy or restore
 * leaves): it says how to restore it. Also an init cut off even earlier. */
static void test_migrate_on_open(void **state)
{
    (void)state;
    char *dir = path_in("s2");
    run("mkdir -m 700 '%s' && mkdir -m 700 '%s/objects' && : > '%s/index.sqlite'", dir, dir, dir);
    cf_diag *diag = cf_diag_new();
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, true, &a, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "rebuild-index"));
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "from the latest backup"));
    /* init again (the objects folder is empty) finishes it. */
    assert_int_equal(cf_archive_init(dir, diag), CF_OK);
    assert_true(cf_diag_contains(diag, "finished making this store"));
    assert_int_equal(cf_archive_init(dir, diag), CF_ERR_EXISTS);
    run("mkdir -m 700 '%s/s2c' && mkdir -m 700 '%s/s2c/objects' && : > '%s/s2c/index.sqlite'", root,
        root, root);
    assert_int_equal(cf_archive_open(path_in("s2c"), false, &a, diag), CF_ERR_DATA);
    assert_null(a);
    /* The index file was left as it was: empty. */
    struct stat sb;
    assert_int_equal(stat(path_in("s2c/index.sqlite"), &sb), 0);
    assert_int_equal(sb.st_size, 0);
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    cf_archive_close(a);
    assert_int_equal(index_value(dir, "PRAGMA user_version"), 6);
    /* The index refuses changes at the SQL level too: no row is updated or deleted. */
    assert_index_refuses(dir, "UPDATE documents SET hospital_no = 'HN0'");
    assert_index_refuses(dir, "UPDATE files SET size = 1");
    assert_index_refuses(dir, "DELETE FROM events");
    assert_index_refuses(dir, "UPDATE events SET operator = 'x'");
    assert_verify_clean(verify_dir(dir));

    /* Cut off before the index existed: an empty objects folder is no obstacle to init. */
    run("mkdir -m 700 '%s/s2b' && mkdir -m 700 '%s/s2b/objects'", root, root);
    assert_int_equal(cf_archive_init(path_in("s2b"), diag), CF_OK);
    cf_diag_free(diag);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char *dir = path_in("s3");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    tamper_index(dir, "PRAGMA user_version = 99");
    cf_diag *diag = cf_diag_new();
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "newer consentform"));
    /* Nor does a store that lost its objects folder open. */
    run("rmdir '%s/objects'", dir);
    assert_int_equal(cf_archive_init(path_in("s3b"), NULL), CF_OK);
    run("rmdir '%s/objects'", path_in("s3b"));
    assert_int_equal(cf_archive_open(path_in("s3b"), true, &a, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "lost its objects folder"));
    cf_diag_free(diag);
}

static void test_life_of_a_document(void **state)
{
    (void)state;
    cf_archive *a = fresh("s4");
    cf_diag *diag = cf_diag_new();
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    /* The same PDF again is a second issue (an event); another PDF under the id is refused. */
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_b.data, pdf_b.len, diag), CF_ERR_EXISTS);
    assert_true(cf_diag_contains(diag, "already registered with another PDF"));
    assert_int_equal(issue(a, "bad id!", pdf_b.data, pdf_b.len, diag), CF_ERR_DATA);
    assert_int_equal(
        issue(a, "P0MQ7266T32TKP0MQ7266T32TKP0MQ7266T32TK", pdf_b.data, pdf_b.len, diag),
        CF_ERR_DATA);
    assert_int_equal(issue(a, "p0mq7266t32tk", pdf_b.data, pdf_b.len, diag), CF_ERR_DATA);
    assert_int_equal(issue(a, ID_B, png.data, png.len, diag), CF_ERR_DATA); /* not a PDF */

    int version = 0;
    bool again = true;
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 1767300000, "ward", NULL, NULL,
                                         0, &version, &again, diag),
                     CF_OK);
    assert_int_equal(version, 1);
    assert_false(again);
    assert_int_equal(cf_archive_add_scan(a, ID_A, jpeg.data, jpeg.len, 1767300100, "ward", NULL,
                                         NULL, 0, &version, &again, diag),
                     CF_OK);
    assert_int_equal(version, 2);
    /* The first scan once more: nothing new, its version reported. */
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 1767300200, "ward", NULL, NULL,
                                         0, &version, &again, diag),
                     CF_OK);
    assert_int_equal(version, 1);
    assert_true(again);
    /* Not a scan; too big; an unknown id; the same id filed unregistered with label values. */
    assert_int_equal(cf_archive_add_scan(a, ID_A, (const unsigned char *)"hello", 5, 0, "ward",
                                         NULL, NULL, 0, &version, NULL, diag),
                     CF_ERR_DATA);
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, CF_ARCHIVE_SCAN_MAX + 1, 0, "ward",
                                         NULL, NULL, 0, &version, NULL, diag),
                     CF_ERR_LIMIT);
    assert_int_equal(cf_archive_add_scan(a, "0000000000000", png.data, png.len, 0, "ward", NULL,
                                         NULL, 0, &version, NULL, diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "never issued from this store"));
    assert_int_equal(cf_archive_add_scan(a, "0000000000000", png.data, png.len, 0, "ward",
                                         "old-form", labels, 3, &version, NULL, diag),
                     CF_OK);
    assert_int_equal(version, 1);
    /* An issued id cannot be registered after a scan was filed for it unregistered. */
    assert_int_equal(issue(a, "0000000000000", pdf_b.data, pdf_b.len, diag), CF_ERR_EXISTS);
    assert_true(cf_diag_contains(diag, "not issued here"));
    /* A second issued document, then voided: neither it nor the signed one is "unsigned". */
    assert_int_equal(issue(a, ID_B, pdf_b.data, pdf_b.len, diag), CF_OK);
    assert_int_equal(cf_archive_register_issued(a, ID_C, "dpn-injection-consent", "1.0",
                                                /*form_sha256*/ NULL, labels, 3, pdf_a.data,
                                                pdf_a.len, 1767225600, "nurse", diag),
                     CF_OK);
    assert_int_equal(
        cf_archive_void(a, ID_B, "printed for the wrong side", 1767300200, "ward", diag), CF_OK);
    assert_int_equal(cf_archive_void(a, ID_B, "", 0, "ward", diag), CF_ERR_DATA);
    assert_int_equal(cf_archive_void(a, "0000000000001", "x", 0, "ward", diag), CF_ERR_NOINPUT);

    char *text = NULL;
    assert_int_equal(count_list(a, (cf_archive_filter){.unsigned_only = true}, &text), 1);
    assert_non_null(strstr(text, ID_C));
    free(text);
    assert_int_equal(count_list(a, (cf_archive_filter){.form_id = "nerve-root-injection"}, &text),
                     2);
    assert_non_null(strstr(text, "signed(2)"));
    assert_non_null(strstr(text, "void"));
    free(text);
    assert_int_equal(count_list(a, (cf_archive_filter){.hospital_no = "HN12345678(9)"}, NULL), 4);
    assert_int_equal(count_list(a, (cf_archive_filter){.hospital_no = "HN0"}, NULL), 0);

    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_show(a, ID_A, out, diag), CF_OK);
    fclose(out);
    assert_non_null(strstr(text, "issued"));
    /* Both issues are in the history, at the real time, not SOURCE_DATE_EPOCH's 2026-01-01. */
    char *second = strstr(text, "  issued ");
    assert_non_null(second);
    assert_non_null(strstr(second + 1, "  issued "));
    assert_null(strstr(text, "2026-01-01"));
    assert_non_null(strstr(text, "version 2"));
    assert_null(strstr(text, "version 3"));
    free(text);
    out = fopen("/dev/null", "w");
    assert_int_equal(cf_archive_show(a, "0000000000001", out, diag), CF_ERR_NOINPUT);
    assert_int_equal(cf_archive_show(a, "../x", out, diag), CF_ERR_DATA);
    fclose(out);

    /* Export: the exact bytes back, and a record. */
    char *dir = path_in("export");
    assert_int_equal(cf_archive_export(a, ID_A, dir, false, diag), CF_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/issued.pdf", dir);
    char *bytes = NULL;
    size_t n_bytes = 0;
    assert_int_equal(cf_file_read(path, 1000, &bytes, &n_bytes, NULL), CF_OK);
    assert_int_equal(n_bytes, pdf_a.len);
    assert_memory_equal(bytes, pdf_a.data, pdf_a.len);
    cf_free(bytes);
    snprintf(path, sizeof path, "%s/signed-1.png", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/signed-2.jpg", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/record.json", dir);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(cf_archive_export(a, ID_A, dir, false, diag), CF_ERR_EXISTS);
    assert_int_equal(cf_archive_export(a, ID_A, dir, true, diag), CF_OK);

    size_t problems = 99;
    out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_verify(a, out, true, 1767400000, "auditor", &problems, diag),
                     CF_OK);
    fclose(out);
    assert_int_equal(problems, 0);
    assert_non_null(strstr(text, "0 problems, 0 notes"));
    free(text);
    out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_show(a, ID_C, out, diag), CF_OK);
    fclose(out);
    assert_non_null(strstr(text, "verified"));
    free(text);
    cf_archive_close(a);
    cf_diag_free(diag);
}

/* Values that are not plain text are refused, and no message quotes a patient value. */
static void test_labels_checked_and_kept_private(void **state)
{
    (void)state;
    cf_archive *a = fresh("s5");
    cf_diag *diag = cf_diag_new();
    const cf_archive_label bad_utf8[] = {{"patient_name", "\xe9\x99"}, {"hospital_no", "HN7"}};
    const cf_archive_label control[] = {{"patient_name", "陳大文\n"}, {"hospital_no", "HN7"}};
    const cf_archive_label no_key[] = {{"", "陳大文"}};
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", /*form_sha256*/ NULL, bad_utf8,
                                                2, pdf_a.data, pdf_a.len, 0, "nurse", diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "label field patient_name"));
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", /*form_sha256*/ NULL, control, 2,
                                                pdf_a.data, pdf_a.len, 0, "nurse", diag),
                     CF_ERR_DATA);
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", /*form_sha256*/ NULL, no_key, 1,
                                                pdf_a.data, pdf_a.len, 0, "nurse", diag),
                     CF_ERR_DATA);
    assert_int_equal(cf_archive_register_issued(a, ID_A, "", "1", /*form_sha256*/ NULL, labels, 3,
                                                pdf_a.data, pdf_a.len, 0, "nurse", diag),
                     CF_ERR_DATA);
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", /*form_sha256*/ NULL, labels, 3,
                                                pdf_a.data, pdf_a.len, 0, "", diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "operator name is missing"));
    /* Refusals and warnings of a registered document. */
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_b.data, pdf_b.len, diag), CF_ERR_EXISTS);
    int version = 0;
    /* Unregistered onto an id the store has: another form, or other label values, are
     * refused (naming the fields, not the values); the same values are filed. */
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "ward", "f", labels, 3,
                                         &version, NULL, diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "differ from the stored ones (form)"));
    const cf_archive_label other[] = {
        {"patient_name", "李小明"}, {"hospital_no", "HN12345678(9)"}, {"episode_no", "HE1234567"}};
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "ward",
                                         "nerve-root-injection", other, 3, &version, NULL, diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "(patient_name)"));
    const cf_archive_label blank[] = {{"patient_name", "\xc2\xa0\xe3\x80\x80 "},
                                      {"hospital_no", "HN12345678(9)"}};
    assert_int_equal(cf_archive_add_scan(a, "0000000000000", png.data, png.len, 0, "ward", "f",
                                         blank, 2, &version, NULL, diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "label field patient_name is empty"));
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "ward",
                                         "nerve-root-injection", labels, 3, &version, NULL, diag),
                     CF_OK);
    for (size_t i = 0; i < cf_diag_size(diag); i++) {
        const cf_diag_entry *e = cf_diag_get(diag, i);
        assert_null(strstr(e->message, "陳"));
        assert_null(strstr(e->message, "HN12345678"));
        assert_null(strstr(e->message, "HE1234567"));
    }
    /* The refused second PDF left no object behind: verify has nothing to note. */
    assert_verify_reports(verify(a), 0, 0, "0 notes");
    cf_archive_close(a);
    cf_diag_free(diag);
}

/* The object of pdf_a in store dir, as verify names it and as a path. */
static void object_of(const char *dir, const unsigned char *data, size_t len, char name[80],
                      char path[700])
{
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(data, len, hex);
    snprintf(name, 80, "objects/%.2s/%s", hex, hex + 2);
    snprintf(path, 700, "%s/%s", dir, name);
}

static void test_verify_findings(void **state)
{
    (void)state;
    cf_archive *a = fresh("s6");
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    assert_int_equal(issue(a, ID_B, pdf_b.data, pdf_b.len, NULL), CF_OK);
    cf_archive_close(a);
    char *dir = path_in("s6");
    char name_a[80], path_a[700], name_b[80], path_b[700], cmd[4096];
    object_of(dir, pdf_a.data, pdf_a.len, name_a, path_a);
    object_of(dir, pdf_b.data, pdf_b.len, name_b, path_b);
    assert_verify_clean(verify_dir(dir));

    /* A flipped byte: named, a problem. */
    snprintf(cmd, sizeof cmd,
             "chmod u+w '%s' && printf X | dd of='%s' bs=1 seek=3 conv=notrunc 2>/dev/null && "
             "chmod 400 '%s'",
             path_a, path_a, path_a);
    assert_int_equal(system(cmd), 0);
    char expect[200];
    snprintf(expect, sizeof expect, "%s: content changed", name_a);
    assert_verify_reports(verify_dir(dir), 1, 1, expect);
    /* Export refuses the changed object. */
    assert_int_equal(cf_archive_open(dir, true, &a, NULL), CF_OK);
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_archive_export(a, ID_A, path_in("export6"), false, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "has changed since it was stored"));
    cf_diag_free(diag);
    cf_archive_close(a);

    /* A missing object, a stray file, an object nobody names, a leftover temporary file. */
    snprintf(cmd, sizeof cmd,
             "rm -f '%s' && touch '%s/objects/README' && mkdir -p '%s/objects/ee' && "
             "printf 'x' > '%s/objects/ee/%062d' && touch '%s/objects/ee/.new-AbCdEf'",
             path_b, dir, dir, dir, 0, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(expect, sizeof expect, "%s: missing", name_b);
    assert_verify_reports(verify_dir(dir), 3, 3, expect,
                          "objects/README: not an object of this store", "note: not in the index",
                          ".new-AbCdEf: note: left over");
}

/* An object nobody names (an add killed between object and row) is a note, not a problem; an
 * object someone made writable is a note too. */
static void test_unreferenced_object_is_a_note(void **state)
{
    (void)state;
    cf_archive *a = fresh("s7");
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    cf_archive_close(a);
    char *dir = path_in("s7");
    char name[80], path[700], cmd[4096];
    object_of(dir, pdf_a.data, pdf_a.len, name, path);
    /* What a killed add leaves: the object of a scan, no row. */
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(png.data, png.len, hex);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/objects/%.2s' && printf 'whatever' > '%s/objects/%.2s/%s'", dir, hex,
             dir, hex, hex + 2);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "chmod 644 '%s'", path);
    assert_int_equal(system(cmd), 0);
    assert_verify_reports(verify_dir(dir), 0, 0, "not in the index", "writable", "2 notes");
}

/* A store opened read-only refuses changes with a clear message. */
static void test_store_opened_read_only(void **state)
{
    (void)state;
    cf_archive *a = fresh("s8");
    cf_archive_close(a);
    assert_int_equal(cf_archive_open(path_in("s8"), true, &a, NULL), CF_OK);
    cf_diag *diag = cf_diag_new();
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_ERR_CANTCREAT);
    assert_true(cf_diag_contains(diag, "read-only"));
    size_t problems = 1;
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(cf_archive_verify(a, out, true, 0, "x", &problems, diag), CF_ERR_CANTCREAT);
    fclose(out);
    assert_verify_clean(verify(a));
    cf_archive_close(a);
    cf_diag_free(diag);
}

/* What the child of test_store_on_read_only_media checks, as an exit status bit mask. */
static int read_only_child(const char *dir)
{
    int failed = 0;
    cf_diag *diag = cf_diag_new();
    cf_archive *a = NULL;
    /* Opening it to change it fails up front, naming the store. */
    if (cf_archive_open(dir, false, &a, diag) != CF_ERR_CANTCREAT || a != NULL)
        failed |= 1;
    if (!cf_diag_contains(diag, dir) || !cf_diag_contains(diag, "cannot write to the archive"))
        failed |= 2;
    /* Reading it works: list, show and verify. */
    if (cf_archive_open(dir, true, &a, diag) != CF_OK) {
        cf_diag_print(diag, stderr);
        failed |= 4;
    } else {
        cf_archive_filter all = {0};
        size_t count = 0;
        FILE *out = fopen("/dev/null", "w");
        if (cf_archive_list(a, &all, out, &count, diag) != CF_OK || count != 2)
            failed |= 8;
        if (cf_archive_show(a, ID_A, out, diag) != CF_OK)
            failed |= 8;
        size_t problems = 9;
        if (cf_archive_verify(a, out, false, 0, "x", &problems, diag) != CF_OK || problems != 0)
            failed |= 16;
        int version = 0;
        if (cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "ward", NULL, NULL, 0, &version,
                                NULL, diag) != CF_ERR_CANTCREAT)
            failed |= 32;
        fclose(out);
        cf_archive_close(a);
    }
    cf_diag_free(diag);
    return failed;
}

/* A store on read-only media (or one this user may only read): every change is refused before
 * anything is written, reading still works, and the store is unchanged afterwards. Run in a
 * child process; as root (who may write anything) the child becomes nobody. */
static void test_store_on_read_only_media(void **state)
{
    (void)state;
    char *dir = path_in("ro/s9");
    run("mkdir -m 755 '%s/ro'", root);
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    assert_int_equal(issue(a, ID_B, pdf_b.data, pdf_b.len, NULL), CF_OK);
    cf_archive_close(a);
    bool root_user = geteuid() == 0;
    if (root_user) {
        chmod(root, 0755);
        run("chown -R 65534 '%s'", dir);
    }
    run("find '%s' -type d -exec chmod 500 {} + && find '%s' -type f -exec chmod 400 {} +", dir,
        dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (root_user && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(100);
        _exit(read_only_child(dir));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (root_user) {
        chmod(root, 0700);
        run("chown -R 0 '%s'", dir);
    }
    run("find '%s' -type d -exec chmod 700 {} + && chmod 600 '%s/index.sqlite'", dir, dir);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 100)
        skip(); /* could not drop root's privileges */
    assert_int_equal(WEXITSTATUS(status), 0);
    /* Nothing was left behind: no temporary files, no notes; 2 PDFs, their 2 document records
     * and 2 event records. */
    assert_verify_reports(verify_dir(dir), 0, 0, "6 objects checked: 0 problems, 0 notes");
}

typedef struct thread_job {
    cf_archive *a;
    int first;
    cf_status status;
} thread_job;

/* Issues 25 documents and files a scan (and the same scan again) for each. */
static void *issue_and_file(void *arg)
{
    thread_job *job = arg;
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    for (int i = 0; i < 25 && job->status == CF_OK; i++) {
        char id[14], pdf[64];
        int n = job->first + i;
        snprintf(id, sizeof id, "THREAD%c%c%c0000", alphabet[n / 32 % 32], alphabet[n % 32], 'X');
        int len = snprintf(pdf, sizeof pdf, "%%PDF-1.4 document %d", n);
        job->status =
            cf_archive_register_issued(job->a, id, "f", "1", /*form_sha256*/ NULL, labels, 3,
                                       (const unsigned char *)pdf, (size_t)len, n, "nurse", NULL);
        blob scan = variant(png, n % 7);
        for (int k = 0; k < 2 && job->status == CF_OK; k++) {
            int version = 0;
            job->status = cf_archive_add_scan(job->a, id, scan.data, scan.len, n, "ward", NULL,
                                              NULL, 0, &version, NULL, NULL);
            if (version != 1)
                job->status = CF_ERR_INTERNAL;
        }
        free(scan.data);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    cf_archive *a = fresh("s10");
    thread_job jobs[4] = {{a, 0, CF_OK}, {a, 100, CF_OK}, {a, 200, CF_OK}, {a, 300, CF_OK}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, issue_and_file, &jobs[i + 1]), 0);
    issue_and_file(&jobs[0]);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(jobs[i].status, CF_OK);
    assert_int_equal(count_list(a, (cf_archive_filter){0}, NULL), 100);
    assert_int_equal(count_list(a, (cf_archive_filter){.unsigned_only = true}, NULL), 0);
    /* 100 PDFs, 7 scans, 100 document records, 200 event records (a scan filed again adds
     * no event). */
    assert_verify_reports(verify(a), 0, 0, "407 objects checked: 0 problems, 0 notes");
    cf_archive_close(a);
}

/* Every allocation of open, register, add, list and close failing in turn: a clean error or
 * success each time, nothing leaked (valgrind), and the store sound afterwards. */
static void test_allocation_failures(void **state)
{
    (void)state;
    char *dir = path_in("s11");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    bool completed = false;
    for (unsigned long n = 1; n < 3000 && !completed; n++) {
        char id[14];
        snprintf(id, sizeof id, "ALLOC%04lu0000", n);
        cf_archive *a = NULL;
        cf_alloc_fail_after(n);
        cf_status st = cf_archive_open(dir, false, &a, NULL);
        if (st == CF_OK)
            st = issue(a, id, pdf_a.data, pdf_a.len, NULL);
        int version = 0;
        if (st == CF_OK)
            st = cf_archive_add_scan(a, id, png.data, png.len, 0, "ward", NULL, NULL, 0, &version,
                                     NULL, NULL);
        if (st == CF_OK) {
            size_t count = 0;
            FILE *out = fopen("/dev/null", "w");
            /* No row matches: the store grows by a document each round, and reading the label
             * values of every row would add allocations as fast as n grows. */
            cf_archive_filter all = {.form_id = "no-such-form"};
            st = cf_archive_list(a, &all, out, &count, NULL);
            fclose(out);
        }
        cf_archive_close(a);
        completed = cf_alloc_fail_after(0) < n && st == CF_OK;
        assert_true(st == CF_OK || st == CF_ERR_NOMEM);
    }
    assert_true(completed);
    assert_verify_clean(verify_dir(dir));
}

/* What show prints for id, from a fresh read-only handle (free()). */
static char *show_dir(const char *dir, const char *id)
{
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, true, &a, NULL), CF_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_show(a, id, out, NULL), CF_OK);
    fclose(out);
    cf_archive_close(a);
    return text;
}

/* A store of three documents with scans, a void and a verification. */
static void populate(const char *dir)
{
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    const cf_archive_label other[] = {{"patient_name", "李小明"}, {"hospital_no", "HN22222222(2)"}};
    assert_int_equal(cf_archive_register_issued(a, ID_B, "nerve-root-injection", "1.0",
                                                /*form_sha256*/ NULL, other, 2, pdf_b.data,
                                                pdf_b.len, 0, "nurse", NULL),
                     CF_OK);
    int version = 0;
    assert_int_equal(cf_archive_add_scan(a, ID_A, pdf_scan.data, pdf_scan.len, 0, "ward", NULL,
                                         NULL, 0, &version, NULL, NULL),
                     CF_OK);
    assert_int_equal(cf_archive_add_scan(a, ID_A, jpeg.data, jpeg.len, 0, "ward", NULL, NULL, 0,
                                         &version, NULL, NULL),
                     CF_OK);
    assert_int_equal(cf_archive_add_scan(a, ID_C, tiff.data, tiff.len, 0, "ward", "old-form",
                                         labels, 3, &version, NULL, NULL),
                     CF_OK);
    assert_int_equal(cf_archive_void(a, ID_B, "wrong side", 0, "ward", NULL), CF_OK);
    size_t problems = 0;
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(cf_archive_verify(a, out, true, 0, "auditor", &problems, NULL), CF_OK);
    fclose(out);
    assert_int_equal(problems, 0);
    cf_archive_close(a);
}

/* Issue 11 item 12: a zero-byte index (a failed copy or restore) is never made afresh by an
 * open, every object stays, and rebuild-index restores every document and event from the
 * record objects. A missing index and one of another store are refused the same way. */
static void test_lost_index_rebuilt(void **state)
{
    (void)state;
    char *dir = path_in("lost");
    populate(dir);
    const char *ids[] = {ID_A, ID_B, ID_C};
    char *before[3];
    for (int i = 0; i < 3; i++)
        before[i] = show_dir(dir, ids[i]);
    run("cd '%s' && find objects -type f | sort > ../lost.objects && : > index.sqlite && "
        "rm -f index.sqlite-wal index.sqlite-shm",
        dir);
    cf_diag *diag = cf_diag_new();
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_ERR_DATA);
    assert_int_equal(cf_archive_open(dir, true, &a, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "from the latest backup of this store"));
    assert_int_equal(cf_archive_init(dir, diag), CF_ERR_DATA);
    /* Nothing was touched: the index is still empty, every object is there. */
    run("test ! -s '%s/index.sqlite' && cd '%s' && find objects -type f | sort | "
        "cmp -s - ../lost.objects",
        dir, dir);

    char *text = NULL;
    size_t len = 0, documents = 0, events = 0, problems = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(
        cf_archive_rebuild_index(dir, false, out, &documents, &events, &problems, diag), CF_OK);
    fclose(out);
    assert_int_equal(documents, 3);
    assert_int_equal(events, 9); /* 2 issued, 3 scans, 1 void, 3 verified */
    assert_int_equal(problems, 0);
    free(text);
    for (int i = 0; i < 3; i++) {
        char *after = show_dir(dir, ids[i]);
        assert_string_equal(after, before[i]);
        free(after);
        free(before[i]);
    }
    assert_verify_clean(verify_dir(dir));
    /* The empty index was kept aside, not deleted; a sound index is replaced only on request. */
    run("ls '%s' | grep -q '^index.sqlite.replaced-'", dir);
    out = fopen("/dev/null", "w");
    assert_int_equal(
        cf_archive_rebuild_index(dir, false, out, &documents, &events, &problems, diag),
        CF_ERR_EXISTS);
    assert_int_equal(cf_archive_rebuild_index(dir, true, out, &documents, &events, &problems, diag),
                     CF_OK);
    fclose(out);
    assert_int_equal(events, 9);

    /* A missing index, and an index of another store. */
    run("mv '%s/index.sqlite' '%s/../lost.index'", dir, dir);
    assert_int_equal(cf_archive_open(dir, true, &a, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "is missing"));
    char *other = path_in("other");
    assert_int_equal(cf_archive_init(other, NULL), CF_OK);
    run("cp '%s/index.sqlite' '%s/index.sqlite'", other, dir);
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "belongs to another store"));
    run("mv '%s/../lost.index' '%s/index.sqlite'", dir, dir);
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_OK);
    cf_archive_close(a);
    cf_diag_free(diag);
}

/* Issue 11 item 13: rows edited behind the store's back (triggers dropped, as anyone with the
 * sqlite3 tool can), a changed record object and a removed event are each found by verify,
 * which names the document and the patient. */
static void test_edited_index_found(void **state)
{
    (void)state;
    char *dir = path_in("edited");
    populate(dir);
    run("cp -a '%s' '%s.1' && cp -a '%s' '%s.2' && cp -a '%s' '%s.3'", dir, dir, dir, dir, dir,
        dir);
    /* UPDATE is refused by trigger. */
    assert_index_refuses(dir, "UPDATE documents SET labels = '{}' WHERE id = '" ID_A "'");
    /* 1. The document moved to another patient. */
    char d1[600];
    snprintf(d1, sizeof d1, "%s.1", dir);
    tamper_index(d1, "DROP TRIGGER documents_no_update;"
                     "UPDATE documents SET labels = '{\"hospital_no\":"
                     "\"HN22222222(2)\",\"patient_name\":\"李小明\"}', "
                     "hospital_no = 'HN22222222(2)' WHERE id = '" ID_A "'");
    assert_verify_reports(verify_dir(d1), 1, MANY, "document " ID_A " (patient 李小明",
                          "says document " ID_A " (patient 陳大文, hospital no HN12345678(9))");
    /* 2. An event's operator changed, and an event removed from the middle of the chain. */
    char d2[600];
    snprintf(d2, sizeof d2, "%s.2", dir);
    tamper_index(d2, "DROP TRIGGER events_append_only_update;"
                     "DROP TRIGGER events_append_only_delete;"
                     "UPDATE events SET operator = 'someone' WHERE seq = 3;"
                     "DELETE FROM events WHERE seq = 5");
    assert_verify_reports(verify_dir(d2), 2, MANY,
                          "event 3 (signed-copy-added) was edited in the index", "breaks the chain",
                          "(patient 陳大文, hospital no HN12345678(9))");
    /* 3. A document's record object rewritten: its content no longer matches its name. */
    char d3[600], name[80], path[700];
    snprintf(d3, sizeof d3, "%s.3", dir);
    object_of(d3, pdf_b.data, pdf_b.len, name, path);
    run("chmod u+w '%s' && printf x | dd of='%s' bs=1 seek=100 conv=notrunc 2>/dev/null", path,
        path);
    assert_verify_reports(verify_dir(d3), 1, MANY, "content changed",
                          "document " ID_B " (patient 李小明, hospital no HN22222222(2))");
}

/* Issue 11 item 14: the genuine bytes of a damaged object, added again, repair it. */
static void test_damaged_object_repaired(void **state)
{
    (void)state;
    cf_archive *a = fresh("repair");
    char *dir = path_in("repair");
    cf_diag *diag = cf_diag_new();
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    int version = 0;
    bool again = false;
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "ward", NULL, NULL, 0,
                                         &version, &again, diag),
                     CF_OK);
    char name[80], path[700];
    object_of(dir, png.data, png.len, name, path);
    run("chmod u+w '%s' && printf x | dd of='%s' bs=1 seek=20 conv=notrunc 2>/dev/null", path,
        path);
    char expect[200];
    snprintf(expect, sizeof expect, "%s: content changed", name);
    assert_verify_reports(verify(a), 1, 1, expect);
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "ward", NULL, NULL, 0,
                                         &version, &again, diag),
                     CF_OK);
    assert_true(again);
    assert_int_equal(version, 1);
    assert_true(cf_diag_contains(diag, "has been repaired"));
    assert_verify_clean(verify(a));
    assert_int_equal(mode_of(path), 0400);
    /* The damaged copy is kept, not deleted. */
    run("ls '%s/damaged' | grep -q .", dir);
    /* The issued PDF, registered again (a second issue), is repaired the same way. */
    object_of(dir, pdf_a.data, pdf_a.len, name, path);
    run("chmod u+w '%s' && : > '%s'", path, path);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    assert_verify_clean(verify(a));
    cf_archive_close(a);
    cf_diag_free(diag);
}

/* Issue 11 item 15: a filed file must be what it claims, and never the unsigned copy. */
static void test_scan_must_parse(void **state)
{
    (void)state;
    cf_archive *a = fresh("parse");
    cf_diag *diag = cf_diag_new();
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    static const char html[] = "%PDF-1.4\n<html><body>Consent form</body></html>\n";
    blob truncated_png = {png.data, png.len - 20};
    blob truncated_jpeg = {jpeg.data, jpeg.len / 2};
    blob truncated_tiff = {tiff.data, 12};
    blob rewritten = variant(pdf_a, 1); /* other bytes, the same pages */
    struct {
        const unsigned char *data;
        size_t len;
        const char *message;
    } refused[] = {
        {(const unsigned char *)"%PDF-", 5, "claims to be a PDF"},
        {(const unsigned char *)html, sizeof html - 1, "claims to be a PDF"},
        {truncated_png.data, truncated_png.len, "claims to be image/png"},
        {truncated_jpeg.data, truncated_jpeg.len, "claims to be image/jpeg"},
        {truncated_tiff.data, truncated_tiff.len, "claims to be image/tiff"},
        {pdf_a.data, pdf_a.len, "this is the unsigned copy that was printed"},
        {rewritten.data, rewritten.len, "this is the unsigned copy that was printed"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        cf_diag *d = cf_diag_new();
        int version = 0;
        assert_int_equal(cf_archive_add_scan(a, ID_A, refused[i].data, refused[i].len, 0, "ward",
                                             NULL, NULL, 0, &version, NULL, d),
                         CF_ERR_DATA);
        if (!cf_diag_contains(d, refused[i].message))
            fail_msg("case %zu: no \"%s\"", i, refused[i].message);
        cf_diag_free(d);
    }
    free(rewritten.data);
    /* Nothing was filed; real files of each kind are. */
    assert_int_equal(count_list(a, (cf_archive_filter){.unsigned_only = true}, NULL), 1);
    blob good[] = {pdf_scan, png, jpeg, tiff};
    for (size_t i = 0; i < 4; i++) {
        int version = 0;
        assert_int_equal(cf_archive_add_scan(a, ID_A, good[i].data, good[i].len, 0, "ward", NULL,
                                             NULL, 0, &version, NULL, diag),
                         CF_OK);
        assert_int_equal(version, (int)i + 1);
    }
    cf_archive_close(a);
    cf_diag_free(diag);
}

/* Issue 11 item 16: SOURCE_DATE_EPOCH never dates the archive. */
static void test_real_clock(void **state)
{
    (void)state;
    setenv("SOURCE_DATE_EPOCH", "1000000000", 1);
    cf_archive *a = fresh("clock");
    long long before = (long long)time(NULL);
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", /*form_sha256*/ NULL, labels, 3,
                                                pdf_a.data, pdf_a.len, 1000000000, "nurse", NULL),
                     CF_OK);
    assert_int_equal(cf_archive_void(a, ID_A, "test", 1000000000, "nurse", NULL), CF_OK);
    cf_archive_close(a);
    unsetenv("SOURCE_DATE_EPOCH");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE at < %lld", before);
    assert_int_equal(index_value(path_in("clock"), sql), 0); /* no event dated before the call */
    assert_true(index_value(path_in("clock"), "SELECT issued_at FROM documents") >= before);
}

/* Schema 1 stores (no record objects) are migrated: a record for every row, the events
 * chained, and verify finds the store sound. */
static void test_schema_1_migrated(void **state)
{
    (void)state;
    char *dir = path_in("v1");
    run("mkdir -m 700 '%s' '%s/objects'", dir, dir);
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(pdf_a.data, pdf_a.len, hex);
    char sql[4000];
    snprintf(sql, sizeof sql,
             "CREATE TABLE files (hash TEXT PRIMARY KEY, size INTEGER NOT NULL,"
             " media_type TEXT NOT NULL, added_at INTEGER NOT NULL);"
             "CREATE TABLE documents (id TEXT PRIMARY KEY, form_id TEXT NOT NULL,"
             " form_version TEXT NOT NULL, labels TEXT NOT NULL, hospital_no TEXT,"
             " issued_at INTEGER, issued_hash TEXT REFERENCES files(hash),"
             " registered INTEGER NOT NULL);"
             "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
             " document_id TEXT NOT NULL REFERENCES documents(id), kind TEXT NOT NULL,"
             " at INTEGER NOT NULL, operator TEXT NOT NULL, file_hash TEXT REFERENCES files(hash),"
             " version INTEGER, reason TEXT);"
             "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
             "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
             "INSERT INTO files VALUES ('%s', %zu, 'application/pdf', 1700000000);"
             "INSERT INTO documents VALUES ('" ID_A "', 'f', '1', "
             "'{\"patient_name\": \"陳大文\", \"hospital_no\": \"HN12345678(9)\"}', "
             "'HN12345678(9)', 1700000000, '%s', 1);"
             "INSERT INTO events(document_id, kind, at, operator, file_hash) VALUES"
             " ('" ID_A "', 'issued', 1700000000, 'nurse', '%s'),"
             " ('" ID_A "', 'verified', 1700000100, 'auditor', NULL);"
             "PRAGMA user_version = 1;",
             hex, pdf_a.len, hex, hex);
    tamper_index(dir, sql); /* makes the index */
    char name[80], object[700];
    object_of(dir, pdf_a.data, pdf_a.len, name, object);
    run("mkdir -p \"$(dirname '%s')\"", object);
    FILE *f = fopen(object, "wb");
    assert_non_null(f);
    fwrite(pdf_a.data, 1, pdf_a.len, f);
    fclose(f);
    chmod(object, 0400);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    cf_archive_close(a);
    /* The PDF, a document record and two event records. */
    assert_verify_reports(verify_dir(dir), 0, 0, "4 objects checked: 0 problems");
    /* And the records alone rebuild it, as it was after the migration. */
    char *migrated = show_dir(dir, ID_A);
    run("rm -f '%s/index.sqlite'*", dir);
    size_t documents = 0, events = 0, problems = 0;
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(
        cf_archive_rebuild_index(dir, false, out, &documents, &events, &problems, NULL), CF_OK);
    fclose(out);
    assert_int_equal(documents, 1);
    assert_int_equal(events, 2);
    char *text = show_dir(dir, ID_A);
    assert_non_null(strstr(text, "verified          by auditor"));
    assert_string_equal(text, migrated);
    free(text);
    free(migrated);
}

#define FP_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define FP_2 "2222222222222222222222222222222222222222222222222222222222222222"

/* Issue 13.2: the registry of form texts. The first document of a form id@version registers
 * its fingerprint; another text under the same id@version is refused with nothing written;
 * show prints the fingerprint; rebuild-index restores the registry from the document records
 * and verify finds a registry edited by hand. */
static void test_form_registry(void **state)
{
    (void)state;
    char *dir = path_in("registry");
    cf_archive *a = fresh("registry");
    cf_diag *diag = cf_diag_new();
    char hex[CF_SHA256_HEX_SIZE], first[CF_ARCHIVE_ID_MAX + 1];
    assert_int_equal(cf_archive_form_fingerprint(a, "f", "1", hex, first, diag), CF_OK);
    assert_string_equal(hex, "");
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", FP_1, labels, 3, pdf_a.data,
                                                pdf_a.len, 0, "nurse", diag),
                     CF_OK);
    assert_int_equal(cf_archive_form_fingerprint(a, "f", "1", hex, first, diag), CF_OK);
    assert_string_equal(hex, FP_1);
    assert_string_equal(first, ID_A);
    /* The same document printed again is a second issue, as before. */
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", FP_1, labels, 3, pdf_a.data,
                                                pdf_a.len, 0, "nurse", diag),
                     CF_OK);
    /* Another text under f 1: refused, and not even the PDF object is written. */
    run("cd '%s' && find objects -type f | sort > ../registry.objects", dir);
    assert_int_equal(cf_archive_register_issued(a, ID_B, "f", "1", FP_2, labels, 3, pdf_b.data,
                                                pdf_b.len, 0, "nurse", diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "the text of f 1 changed: raise its version"));
    assert_true(cf_diag_contains(diag, "222222222222…"));
    assert_true(cf_diag_contains(diag, "111111111111…"));
    run("cd '%s' && find objects -type f | sort | cmp -s - ../registry.objects", dir);
    /* A raised version, a document without a fingerprint and a malformed one. */
    assert_int_equal(cf_archive_register_issued(a, ID_B, "f", "2", FP_2, labels, 3, pdf_b.data,
                                                pdf_b.len, 0, "nurse", diag),
                     CF_OK);
    assert_int_equal(cf_archive_register_issued(a, ID_C, "f", "1", NULL, labels, 3, pdf_scan.data,
                                                pdf_scan.len, 0, "nurse", diag),
                     CF_OK);
    assert_int_equal(cf_archive_register_issued(a, "X1", "f", "1", "ABC", labels, 3, pdf_a.data,
                                                pdf_a.len, 0, "nurse", diag),
                     CF_ERR_DATA);
    cf_archive_close(a);

    char *show_a = show_dir(dir, ID_A);
    assert_non_null(strstr(show_a, "  form_sha256 " FP_1 "\n"));
    char *show_c = show_dir(dir, ID_C);
    assert_null(strstr(show_c, "form_sha256"));
    free(show_c);
    assert_verify_clean(verify_dir(dir));

    /* The index lost: the registry comes back from the document records. */
    run("rm -f '%s/index.sqlite'*", dir);
    size_t documents = 0, events = 0, problems = 0;
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(
        cf_archive_rebuild_index(dir, false, out, &documents, &events, &problems, diag), CF_OK);
    fclose(out);
    assert_int_equal(documents, 3);
    assert_int_equal(problems, 0);
    assert_int_equal(cf_archive_open(dir, false, &a, diag), CF_OK);
    assert_int_equal(cf_archive_form_fingerprint(a, "f", "1", hex, first, diag), CF_OK);
    assert_string_equal(hex, FP_1);
    assert_string_equal(first, ID_A);
    assert_int_equal(cf_archive_form_fingerprint(a, "f", "2", hex, first, diag), CF_OK);
    assert_string_equal(hex, FP_2);
    assert_int_equal(cf_archive_register_issued(a, "Y1", "f", "1", FP_2, labels, 3, pdf_b.data,
                                                pdf_b.len, 0, "nurse", diag),
                     CF_ERR_DATA);
    cf_archive_close(a);
    char *again = show_dir(dir, ID_A);
    assert_string_equal(again, show_a);
    free(again);
    free(show_a);
    assert_verify_clean(verify_dir(dir));

    /* The registry refuses changes at the SQL level. */
    assert_index_refuses(dir, "DELETE FROM forms");
    assert_index_refuses(dir, "UPDATE forms SET form_sha256 = '" FP_2 "'");
    /* Edited by hand (triggers dropped): a registry row removed, one made up, one changed. */
    tamper_index(dir, "DROP TRIGGER forms_keep; DROP TRIGGER forms_no_update;"
                      "DELETE FROM forms WHERE form_version = '2';"
                      "INSERT INTO forms VALUES ('g', '1', '" FP_1 "', '" ID_A "');");
    assert_verify_reports(verify_dir(dir), 2, 2,
                          "its form f 2 (fingerprint 222222222222…) is missing from the registry "
                          "of form texts",
                          "registry of form texts: g 1 is registered");
    tamper_index(dir, "UPDATE forms SET form_sha256 = '" FP_2 "' WHERE "
                      "form_id = 'f' AND form_version = '1'");
    assert_verify_reports(verify_dir(dir), 3, MANY, "two texts under one version");
    cf_diag_free(diag);
}

/* The store returns rows (the CLI prints them): filters by part of the patient's name, hospital
 * number, form, state and date of issue. */
static void test_query_filters(void **state)
{
    (void)state;
    char *dir = path_in("query");
    populate(dir); /* A: signed, B: void, C: filed unregistered */
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, true, &a, NULL), CF_OK);
    struct {
        cf_archive_filter filter;
        size_t count;
        const char *first;
    } cases[] = {
        {{0}, 3, ID_A},
        {{.patient_name = "小明"}, 1, ID_B},
        {{.patient_name = "大"}, 2, ID_A},
        {{.hospital_no = "HN22222222(2)"}, 1, ID_B},
        {{.form_id = "old-form"}, 1, ID_C},
        {{.state = CF_ARCHIVE_STATE_SIGNED}, 2, ID_A},
        {{.state = CF_ARCHIVE_STATE_VOID}, 1, ID_B},
        {{.state = CF_ARCHIVE_STATE_ISSUED}, 1, ID_A},
        {{.state = CF_ARCHIVE_STATE_SIGNATURE_MISSING}, 0, NULL},
        {{.issued_from = (long long)time(NULL) - 3600}, 2, ID_A}, /* C was not issued here */
        {{.issued_before = 1000000000}, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_archive_rows rows;
        assert_int_equal(cf_archive_query(a, &cases[i].filter, &rows, NULL), CF_OK);
        if (rows.count != cases[i].count)
            fail_msg("case %zu: %zu rows, not %zu", i, rows.count, cases[i].count);
        if (cases[i].first != NULL) {
            bool found = false;
            for (size_t k = 0; k < rows.count; k++)
                found = found || strcmp(rows.rows[k].id, cases[i].first) == 0;
            if (!found)
                fail_msg("case %zu: %s not among the rows", i, cases[i].first);
        }
        cf_archive_rows_cleanup(&rows);
    }
    cf_archive_rows rows;
    assert_int_equal(cf_archive_query(a, &(cf_archive_filter){.patient_name = "李"}, &rows, NULL),
                     CF_OK);
    assert_int_equal(rows.count, 1);
    assert_string_equal(rows.rows[0].hospital_no, "HN22222222(2)");
    assert_string_equal(rows.rows[0].form_version, "1.0");
    assert_true(rows.rows[0].voided);
    assert_int_equal(cf_archive_row_state(&rows.rows[0]), CF_ARCHIVE_STATE_VOID);
    cf_archive_rows_cleanup(&rows);
    cf_archive_close(a);
}

/* A store shared by a group: setgid 2770 folders, index 0660, objects 0440, whatever the
 * umask; verify has nothing to note. */
static void test_group_store(void **state)
{
    (void)state;
    char *dir = path_in("group");
    mode_t old_mask = umask(077);
    assert_int_equal(cf_archive_init_group(dir, (long)getegid(), NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    int version = 0;
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "ward", NULL, NULL, 0,
                                         &version, NULL, NULL),
                     CF_OK);
    umask(old_mask);
    assert_int_equal(mode_of(dir), 02770);
    assert_int_equal(mode_of(path_in("group/objects")), 02770);
    assert_int_equal(mode_of(path_in("group/index.sqlite")), 0660);
    assert_int_equal(mode_of(path_in("group/store-id")), 0440);
    char name[80], path[700];
    object_of(dir, png.data, png.len, name, path);
    assert_int_equal(mode_of(path), 0440);
    *strrchr(path, '/') = '\0';
    assert_int_equal(mode_of(path), 02770);
    assert_verify_reports(verify(a), 0, 0, "0 notes");
    cf_archive_close(a);
}

/* "unknown" (what a tool without a user name would record) is not an operator. */
static void test_unknown_operator_refused(void **state)
{
    (void)state;
    cf_archive *a = fresh("operator");
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", /*form_sha256*/ NULL, labels, 3,
                                                pdf_a.data, pdf_a.len, 0, "unknown", diag),
                     CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "operator"));
    assert_int_equal(cf_archive_register_issued(a, ID_A, "f", "1", /*form_sha256*/ NULL, labels, 3,
                                                pdf_a.data, pdf_a.len, 0, "Unknown", diag),
                     CF_ERR_DATA);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, diag), CF_OK);
    assert_int_equal(cf_archive_void(a, ID_A, "x", 0, "unknown", diag), CF_ERR_DATA);
    cf_archive_close(a);
    cf_diag_free(diag);
}

/* Rebuilds the index of dir from its objects (force), expecting no problem. */
static void rebuild(const char *dir)
{
    char *text = NULL;
    size_t len = 0, documents = 0, events = 0, problems = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(cf_archive_rebuild_index(dir, true, out, &documents, &events, &problems, NULL),
                     CF_OK);
    fclose(out);
    if (problems != 0)
        fail_msg("rebuild-index: %s", text);
    free(text);
}

/* The record of an issued document keeps where its scan is checked (issue 14); the index
 * rebuilt from the objects gives it back. */
static void test_scan_layout_kept(void **state)
{
    (void)state;
    char *dir = path_in("layout");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    cf_archive_page_qr qr[2] = {{501.74, 25.51, 42.52}, {501.74, 25.51, 42.52}};
    cf_archive_sign_line lines[3] = {
        {2, "patient", "consenter", "signature", 0, 93.02, 535.87, 199.43, 553.87},
        {2, "guardian", "consenter", "date", 1, 257.43, 424.87, 363.85, 442.87},
        {2, "doctor", "doctor", "signature", 3, 93.02, 202.87, 199.43, 220.87},
    };
    char groups[2][CF_ARCHIVE_GROUP_MAX] = {"consenter", "doctor"};
    cf_archive_scan_layout layout = {2, qr, lines, 3, groups, 2};
    assert_int_equal(cf_archive_register_issued_layout(a, ID_A, "dpn-injection-consent", "1.1",
                                                       /*form_sha256*/ NULL, labels, 3, pdf_a.data,
                                                       pdf_a.len, &layout, /*ward*/ NULL, 0,
                                                       "nurse", NULL),
                     CF_OK);
    assert_int_equal(issue(a, ID_B, pdf_b.data, pdf_b.len, NULL), CF_OK);
    cf_archive_close(a);
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            rebuild(dir);
        assert_int_equal(cf_archive_open(dir, true, &a, NULL), CF_OK);
        cf_archive_issued got;
        assert_int_equal(cf_archive_issued_get(a, ID_A, &got, NULL), CF_OK);
        assert_string_equal(got.form_id, "dpn-injection-consent");
        assert_string_equal(got.form_version, "1.1");
        assert_true(got.registered);
        assert_int_equal(got.layout.pages, 2);
        assert_int_equal(got.layout.n_lines, 3);
        assert_int_equal(got.layout.n_groups, 2);
        assert_string_equal(got.layout.groups[1], "doctor");
        for (size_t i = 0; i < 3; i++) {
            const cf_archive_sign_line *g = &got.layout.lines[i], *w = &lines[i];
            assert_int_equal(g->page, w->page);
            assert_string_equal(g->role, w->role);
            assert_string_equal(g->group, w->group);
            assert_string_equal(g->line, w->line);
            assert_int_equal(g->block, w->block);
            assert_true(fabs(g->x1 - w->x1) < 0.006 && fabs(g->y2 - w->y2) < 0.006);
        }
        assert_true(fabs(got.layout.qr[1].side - 42.52) < 0.006);
        cf_archive_issued_cleanup(&got);
        /* A document issued without a layout has none; an unknown one is not there. */
        assert_int_equal(cf_archive_issued_get(a, ID_B, &got, NULL), CF_OK);
        assert_int_equal(got.layout.pages, 0);
        cf_archive_issued_cleanup(&got);
        assert_int_equal(cf_archive_issued_get(a, ID_C, &got, NULL), CF_ERR_NOINPUT);
        cf_archive_issued_cleanup(&got);
        cf_archive_close(a);
    }
}

/* The inbox: items kept as objects, the same page not kept twice, assigned and filed items,
 * verify and rebuild-index. */
static void test_inbox(void **state)
{
    (void)state;
    char *dir = path_in("inbox");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    char one[CF_ARCHIVE_INBOX_ID + 1], two[CF_ARCHIVE_INBOX_ID + 1], again[CF_ARCHIVE_INBOX_ID + 1];
    assert_int_equal(cf_archive_inbox_add(a, pdf_scan.data, pdf_scan.len, "stack.pdf", 7,
                                          "no QR code of ours could be read on the page", NULL,
                                          "clerk", one, NULL),
                     CF_OK);
    assert_int_equal(cf_archive_inbox_add(a, pdf_b.data, pdf_b.len, "stack.pdf", 9,
                                          "document P0MQ7266T32TK: page 1 of 2 missing",
                                          ID_A "/2/2/nerve-root-injection@1.0", "clerk", two, NULL),
                     CF_OK);
    assert_int_equal(cf_archive_inbox_add(a, pdf_scan.data, pdf_scan.len, "stack.pdf", 7,
                                          "no QR code of ours could be read on the page", NULL,
                                          "clerk", again, NULL),
                     CF_OK);
    assert_string_equal(again, one); /* the same page again: nothing new */
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_archive_inbox_add(a, pdf_scan.data, pdf_scan.len, "stack.pdf", 7, "x", NULL,
                                          "unknown", again, diag),
                     CF_ERR_DATA);
    cf_diag_free(diag);
    cf_archive_inbox inbox;
    assert_int_equal(cf_archive_inbox_list(a, &inbox, NULL), CF_OK);
    assert_int_equal(inbox.count, 2);
    const cf_archive_inbox_item *first =
        strcmp(inbox.items[0].id, one) == 0 ? &inbox.items[0] : &inbox.items[1];
    const cf_archive_inbox_item *second =
        first == &inbox.items[0] ? &inbox.items[1] : &inbox.items[0];
    assert_string_equal(first->source, "stack.pdf");
    assert_int_equal(first->page, 7);
    assert_string_equal(first->payload, "");
    assert_string_equal(second->payload, ID_A "/2/2/nerve-root-injection@1.0");
    char rec1[65], rec2[65];
    snprintf(rec1, sizeof rec1, "%s", first->record);
    snprintf(rec2, sizeof rec2, "%s", second->record);
    cf_archive_inbox_cleanup(&inbox);
    /* Assigned by hand: still listed, with the assignment; filed: gone. */
    assert_int_equal(cf_archive_inbox_mark(a, rec1, ID_A, 1, false, "clerk", NULL), CF_OK);
    assert_int_equal(cf_archive_inbox_mark(a, rec2, ID_A, 2, true, "clerk", NULL), CF_OK);
    assert_int_equal(cf_archive_inbox_list(a, &inbox, NULL), CF_OK);
    assert_int_equal(inbox.count, 1);
    assert_string_equal(inbox.items[0].assigned_id, ID_A);
    assert_int_equal(inbox.items[0].assigned_page, 1);
    cf_archive_inbox_cleanup(&inbox);
    assert_verify_clean(verify(a));
    cf_archive_close(a);
    /* Rebuilt from the objects: the same inbox. */
    rebuild(dir);
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(cf_archive_inbox_list(a, &inbox, NULL), CF_OK);
    assert_int_equal(inbox.count, 1);
    assert_string_equal(inbox.items[0].record, rec1);
    assert_string_equal(inbox.items[0].assigned_id, ID_A);
    cf_archive_inbox_cleanup(&inbox);
    cf_archive_close(a);
    /* An inbox row edited by hand is found. */
    assert_index_refuses(dir, "UPDATE inbox SET page = 8");
    tamper_index(dir, "DROP TRIGGER inbox_no_update; UPDATE inbox SET page = 8");
    assert_verify_reports(verify_dir(dir), 1, MANY, "the index differs from its record object");
}

/* A copy filed without a required signature is signature-missing with its reason until a later
 * copy is filed. */
static void test_signature_missing(void **state)
{
    (void)state;
    char *dir = path_in("missing");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    int version = 0;
    assert_int_equal(cf_archive_add_scan(a, ID_A, pdf_scan.data, pdf_scan.len, 0, "clerk", NULL,
                                         NULL, 0, &version, NULL, NULL),
                     CF_OK);
    assert_int_equal(cf_archive_signature_missing(a, ID_A,
                                                  "patient not signed (page 2 patient "
                                                  "signature empty)",
                                                  "clerk", NULL),
                     CF_OK);
    for (int round = 0; round < 2; round++) {
        cf_archive_rows rows;
        cf_archive_filter f = {.unsigned_only = true};
        assert_int_equal(cf_archive_query(a, &f, &rows, NULL), CF_OK);
        assert_int_equal(rows.count, round == 0 ? 1 : 0);
        if (round == 0) {
            assert_int_equal(cf_archive_row_state(&rows.rows[0]),
                             CF_ARCHIVE_STATE_SIGNATURE_MISSING);
            assert_string_equal(rows.rows[0].missing_reason,
                                "patient not signed (page 2 patient signature empty)");
            cf_archive_issued got;
            assert_int_equal(cf_archive_issued_get(a, ID_A, &got, NULL), CF_OK);
            assert_true(got.signature_missing);
            cf_archive_issued_cleanup(&got);
            /* A later copy, signed. */
            assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "clerk", NULL, NULL,
                                                 0, &version, NULL, NULL),
                             CF_OK);
        }
        cf_archive_rows_cleanup(&rows);
    }
    assert_verify_clean(verify(a));
    cf_archive_close(a);
}

/* Issues id with ward (NULL: none) into a. */
static cf_status issue_ward(cf_archive *a, const char *id, const blob *pdf, const char *ward,
                            cf_diag *diag)
{
    return cf_archive_register_issued_layout(a, id, "nerve-root-injection", "1.0",
                                             /*form_sha256*/ NULL, labels, 3, pdf->data, pdf->len,
                                             /*layout*/ NULL, ward, 0, "nurse", diag);
}

static size_t count_ward(cf_archive *a, const char *ward)
{
    cf_archive_rows rows;
    assert_int_equal(cf_archive_query(a, &(cf_archive_filter){.ward = ward}, &rows, NULL), CF_OK);
    size_t n = rows.count;
    cf_archive_rows_cleanup(&rows);
    return n;
}

/* The ward of a document (issue 15.5): kept in its record and row, shown, filtered on, listed,
 * checked by verify and restored by rebuild-index; a ward that cannot be kept is refused with
 * nothing written. */
static void test_ward_kept(void **state)
{
    (void)state;
    char *dir = path_in("ward");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    static const char *const refused[] = {
        " 7A", "7A ", "7\nA", "7\tA", "123456789012345678901234567890123", "\xe7\x97\x85\xff",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        cf_diag *diag = cf_diag_new();
        if (issue_ward(a, ID_A, &pdf_a, refused[i], diag) != CF_ERR_DATA)
            fail_msg("ward %zu was kept", i);
        cf_diag_free(diag);
    }
    assert_int_equal(count_ward(a, NULL), 0); /* nothing written */
    /* 32 characters, Chinese ones too, are fine. */
    assert_int_equal(issue_ward(a, ID_A, &pdf_a, "病房 7A", NULL), CF_OK);
    assert_int_equal(issue_ward(a, ID_B, &pdf_b, NULL, NULL), CF_OK);
    assert_int_equal(issue_ward(a, ID_C, &pdf_scan,
                                "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二",
                                NULL),
                     CF_OK);
    assert_int_equal(count_ward(a, "病房 7A"), 1);
    assert_int_equal(count_ward(a, "7A"), 0);
    cf_archive_rows rows;
    assert_int_equal(cf_archive_query(a, &(cf_archive_filter){0}, &rows, NULL), CF_OK);
    assert_int_equal(rows.count, 3);
    for (size_t i = 0; i < rows.count; i++)
        if (strcmp(rows.rows[i].id, ID_B) == 0)
            assert_string_equal(rows.rows[i].ward, "");
        else if (strcmp(rows.rows[i].id, ID_A) == 0)
            assert_string_equal(rows.rows[i].ward, "病房 7A");
    cf_archive_rows_cleanup(&rows);
    cf_archive_wards wards;
    assert_int_equal(cf_archive_ward_list(a, 0, 0, &wards, NULL), CF_OK);
    assert_int_equal(wards.count, 2);
    assert_string_equal(wards.names[1], "病房 7A");
    cf_archive_wards_cleanup(&wards);
    assert_int_equal(cf_archive_ward_list(a, 0, 1000, &wards, NULL), CF_OK);
    assert_int_equal(wards.count, 0);
    cf_archive_wards_cleanup(&wards);
    char *text = NULL;
    assert_int_equal(count_list(a, (cf_archive_filter){.ward = "病房 7A"}, &text), 1);
    assert_non_null(strstr(text, "病房 7A"));
    free(text);
    /* The same document issued again keeps its first ward. */
    assert_int_equal(issue_ward(a, ID_A, &pdf_a, "8B", NULL), CF_OK);
    assert_int_equal(count_ward(a, "8B"), 0);
    cf_archive_close(a);
    char *shown_a = show_dir(dir, ID_A), *shown_b = show_dir(dir, ID_B);
    assert_non_null(strstr(shown_a, "\n  ward      病房 7A\n"));
    assert_non_null(strstr(shown_b, "\n  ward      —\n"));
    assert_verify_clean(verify_dir(dir));
    rebuild(dir);
    char *again = show_dir(dir, ID_A);
    assert_string_equal(again, shown_a);
    free(again);
    assert_int_equal(cf_archive_open(dir, true, &a, NULL), CF_OK);
    assert_int_equal(count_ward(a, "病房 7A"), 1);
    cf_archive_close(a);
    free(shown_a);
    free(shown_b);
    /* A ward edited in the index is found. */
    tamper_index(dir, "DROP TRIGGER documents_no_update; UPDATE documents SET ward = '9C' WHERE "
                      "id = '" ID_A "'");
    assert_verify_reports(verify_dir(dir), 1, MANY, "its ward do not match");
}

/* Downloads are archive events (issue 15.8): one "downloaded" event per document with the
 * user, the object sent and what it was; all or none; verify accepts them and rebuild-index
 * restores them. */
static void test_downloads_recorded(void **state)
{
    (void)state;
    char *dir = path_in("downloads");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    assert_int_equal(issue(a, ID_B, pdf_b.data, pdf_b.len, NULL), CF_OK);
    int version = 0;
    assert_int_equal(cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "clerk", NULL, NULL, 0,
                                         &version, NULL, NULL),
                     CF_OK);
    const char *a_only[] = {ID_A}, *both[] = {ID_A, ID_B}, *with_unknown[] = {ID_B, ID_C};
    assert_int_equal(cf_archive_record_downloads(a, a_only, 1, CF_ARCHIVE_DOWNLOAD_ISSUED, 0, NULL,
                                                 "ward-nurse", NULL),
                     CF_OK);
    assert_int_equal(cf_archive_record_downloads(a, a_only, 1, CF_ARCHIVE_DOWNLOAD_SIGNED, 1, NULL,
                                                 "ward-nurse", NULL),
                     CF_OK);
    assert_int_equal(cf_archive_record_downloads(a, both, 2, CF_ARCHIVE_DOWNLOAD_LIST_ZIP, 0,
                                                 "run-1234", "clerk", NULL),
                     CF_OK);
    struct {
        const char *const *ids;
        size_t n;
        cf_archive_download what;
        int version;
        const char *run, *op;
        cf_status want;
    } refused[] = {
        {a_only, 1, CF_ARCHIVE_DOWNLOAD_SIGNED, 2, NULL, "nurse", CF_ERR_NOINPUT},
        {a_only, 1, CF_ARCHIVE_DOWNLOAD_SIGNED, 0, NULL, "nurse", CF_ERR_DATA},
        {with_unknown, 2, CF_ARCHIVE_DOWNLOAD_LIST_ZIP, 0, "run-9", "clerk", CF_ERR_NOINPUT},
        {a_only, 1, CF_ARCHIVE_DOWNLOAD_LIST_ZIP, 0, NULL, "clerk", CF_ERR_DATA},
        {a_only, 1, CF_ARCHIVE_DOWNLOAD_ISSUED, 0, NULL, "unknown", CF_ERR_DATA},
        {a_only, 0, CF_ARCHIVE_DOWNLOAD_ISSUED, 0, NULL, "nurse", CF_ERR_DATA},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        cf_diag *diag = cf_diag_new();
        cf_status st =
            cf_archive_record_downloads(a, refused[i].ids, refused[i].n, refused[i].what,
                                        refused[i].version, refused[i].run, refused[i].op, diag);
        if (st != refused[i].want)
            fail_msg("case %zu: status %d", i, (int)st);
        cf_diag_free(diag);
    }
    cf_archive_close(a);
    char *shown_a = show_dir(dir, ID_A), *shown_b = show_dir(dir, ID_B);
    assert_non_null(strstr(shown_a, "downloaded        by ward-nurse  sha256"));
    assert_non_null(strstr(shown_a, "reason: issued PDF\n"));
    assert_non_null(strstr(shown_a, "by ward-nurse  version 1  sha256"));
    assert_non_null(strstr(shown_a, "reason: signed copy version 1\n"));
    assert_non_null(strstr(shown_b, "downloaded        by clerk"));
    assert_non_null(strstr(shown_b, "reason: issued PDF in list ZIP run-1234 (2 documents)"));
    assert_null(strstr(shown_b, "run-9")); /* the refused ZIP wrote nothing */
    assert_verify_clean(verify_dir(dir));
    rebuild(dir);
    char *again = show_dir(dir, ID_A);
    assert_string_equal(again, shown_a);
    free(again);
    /* The refused ZIP (its second id unknown) left no record object behind either: the index
     * made again from the objects has no event of it. */
    again = show_dir(dir, ID_B);
    assert_string_equal(again, shown_b);
    free(again);
    free(shown_a);
    free(shown_b);
    assert_verify_clean(verify_dir(dir));
}

/* A store of schema 4 (documents, scans, a void, a verification and inbox items, as the
 * previous release left it) is migrated in place to 5: nothing lost, old documents have no
 * ward, new ones do, downloads are recorded, verify is clean and rebuild-index gives the
 * same. */
static void test_schema_4_migrated(void **state)
{
    (void)state;
    char *dir = path_in("v4");
    populate(dir);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    char item[CF_ARCHIVE_INBOX_ID + 1];
    assert_int_equal(cf_archive_inbox_add(a, jpeg.data, jpeg.len, "stack.pdf", 3,
                                          "no QR code of ours could be read on the page", NULL,
                                          "clerk", item, NULL),
                     CF_OK);
    cf_archive_close(a);
    char *before = show_dir(dir, ID_A);
    /* Back to schema 4: the events table with 4's kinds, no ward column. */
    tamper_index(dir, "BEGIN;"
                      "CREATE TABLE events3 (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                      "  document_id TEXT NOT NULL REFERENCES documents(id),"
                      "  kind TEXT NOT NULL CHECK (kind IN ('issued', 'signed-copy-added', "
                      "'verified', 'voided', 'signature-missing', 'inbox-assigned', "
                      "'inbox-filed')),"
                      "  at INTEGER NOT NULL, operator TEXT NOT NULL,"
                      "  file_hash TEXT REFERENCES files(hash), version INTEGER, reason TEXT,"
                      "  record_hash TEXT REFERENCES files(hash), prev_hash TEXT);"
                      "INSERT INTO events3 SELECT * FROM events;"
                      "DROP TABLE events;"
                      "ALTER TABLE events3 RENAME TO events;"
                      "CREATE INDEX events_document ON events(document_id);"
                      "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
                      "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
                      "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events"
                      "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
                      "DROP INDEX documents_ward;"
                      "ALTER TABLE documents DROP COLUMN ward;"
                      "PRAGMA user_version = 4;"
                      "COMMIT;");
    /* Read-only, it asks for the update; for writing, it is made. */
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_archive_open(dir, true, &a, diag), CF_ERR_DATA);
    cf_diag_free(diag);
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(count_ward(a, NULL), 3);
    cf_archive_inbox inbox;
    assert_int_equal(cf_archive_inbox_list(a, &inbox, NULL), CF_OK);
    assert_int_equal(inbox.count, 1);
    assert_string_equal(inbox.items[0].id, item);
    cf_archive_inbox_cleanup(&inbox);
    /* New documents have wards, downloads are events. */
    assert_int_equal(cf_archive_register_issued_layout(a, "NEW-1", "nerve-root-injection", "1.0",
                                                       NULL, labels, 3, tiff.data, tiff.len, NULL,
                                                       "5B", 0, "nurse", NULL),
                     CF_ERR_DATA); /* not a PDF */
    blob pdf_new = make_pdf("a document after the update");
    assert_int_equal(cf_archive_register_issued_layout(a, "NEW-1", "nerve-root-injection", "1.0",
                                                       NULL, labels, 3, pdf_new.data, pdf_new.len,
                                                       NULL, "5B", 0, "nurse", NULL),
                     CF_OK);
    free(pdf_new.data);
    const char *ids[] = {ID_A, "NEW-1"};
    assert_int_equal(cf_archive_record_downloads(a, ids, 2, CF_ARCHIVE_DOWNLOAD_LIST_ZIP, 0,
                                                 "run-after", "clerk", NULL),
                     CF_OK);
    assert_int_equal(count_ward(a, "5B"), 1);
    cf_archive_close(a);
    char *after = show_dir(dir, ID_A);
    /* The old history is all there, with the ward line and the download added. */
    assert_non_null(strstr(after, "\n  ward      —\n"));
    assert_non_null(strstr(after, "reason: issued PDF in list ZIP run-after"));
    char *history = strstr(before, "history\n");
    assert_non_null(history);
    assert_non_null(strstr(after, history));
    assert_verify_clean(verify_dir(dir));
    rebuild(dir);
    char *rebuilt = show_dir(dir, ID_A);
    assert_string_equal(rebuilt, after);
    free(rebuilt);
    char *rebuilt_new = show_dir(dir, "NEW-1");
    assert_non_null(strstr(rebuilt_new, "\n  ward      5B\n"));
    free(rebuilt_new);
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(cf_archive_inbox_list(a, &inbox, NULL), CF_OK);
    assert_int_equal(inbox.count, 1);
    cf_archive_inbox_cleanup(&inbox);
    cf_archive_close(a);
    assert_verify_clean(verify_dir(dir));
    free(before);
    free(after);
}

/* Issue 15: a print job is an event of each document it holds (sent-to-printer, with the
 * queue, the job and the operator), all or none; verify and rebuild-index keep them. */
static void test_sent_to_printer(void **state)
{
    (void)state;
    char *dir = path_in("printed");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    assert_int_equal(issue(a, ID_B, pdf_b.data, pdf_b.len, NULL), CF_OK);
    const char *both[] = {ID_A, ID_B};
    assert_int_equal(cf_archive_sent_to_printer(a, both, 2, "ward-3", 12, "wong.clerk", NULL),
                     CF_OK);
    /* An unknown id among them: nothing recorded for the others either. */
    cf_diag *diag = cf_diag_new();
    const char *bad[] = {ID_A, "0000000000001"};
    assert_int_equal(cf_archive_sent_to_printer(a, bad, 2, "ward-3", 13, "wong.clerk", diag),
                     CF_ERR_NOINPUT);
    cf_diag_free(diag);
    assert_int_equal(cf_archive_sent_to_printer(a, both, 0, "ward-3", 14, "wong.clerk", NULL),
                     CF_OK);
    assert_int_equal(cf_archive_sent_to_printer(a, both, 1, "", 15, "wong.clerk", NULL),
                     CF_ERR_DATA);
    cf_archive_close(a);
    char *text = show_dir(dir, ID_B);
    assert_non_null(strstr(text, "sent-to-printer"));
    assert_non_null(strstr(text, "by wong.clerk"));
    assert_non_null(strstr(text, "print queue ward-3 job 12"));
    assert_null(strstr(text, "job 13"));
    free(text);
    text = show_dir(dir, ID_A);
    assert_non_null(strstr(text, "print queue ward-3 job 12"));
    assert_null(strstr(text, "job 13"));
    assert_null(strstr(text, "job 14"));
    free(text);
    assert_verify_clean(verify_dir(dir));
    char *before = show_dir(dir, ID_A);
    run("rm -f '%s/index.sqlite'*", dir);
    size_t documents = 0, events = 0, problems = 0;
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(
        cf_archive_rebuild_index(dir, false, out, &documents, &events, &problems, NULL), CF_OK);
    fclose(out);
    assert_int_equal(documents, 2);
    assert_int_equal(events, 4);
    text = show_dir(dir, ID_A);
    assert_string_equal(text, before);
    free(text);
    free(before);
}

/* Runs sql on the index of the store in dir through a connection of its own (the store's
 * handle, if open, sees the change at its next statement). */
static void index_exec(const char *dir, const char *sql)
{
    char path[600];
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK)
        fail_msg("%s: %s", sql, error != NULL ? error : "?");
    sqlite3_close(db);
}

/* A fault at COMMIT: a row that a trigger adds breaks a deferred foreign key, which SQLite
 * checks only when the change commits (after the change has written its record objects). */
#define FAIL_AT_COMMIT(table, when)                                                                \
    "CREATE TABLE injected (x TEXT REFERENCES files(hash) DEFERRABLE INITIALLY DEFERRED);"         \
    "CREATE TRIGGER injected AFTER INSERT ON " table " WHEN " when                                 \
    " BEGIN INSERT INTO injected VALUES ('no such file'); END;"
/* A fault at one row (as a full disk or an I/O error there would be). */
#define FAIL_AT_ROW(table, when)                                                                   \
    "CREATE TABLE injected (x TEXT);"                                                              \
    "CREATE TRIGGER injected BEFORE INSERT ON " table " WHEN " when                                \
    " BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
#define NO_FAULT "DROP TRIGGER injected; DROP TABLE injected;"

/* The changes of test_rolled_back_changes, each to be refused by an injected fault. */
static cf_status download_both(cf_archive *a)
{
    const char *both[] = {ID_A, ID_B};
    return cf_archive_record_downloads(a, both, 2, CF_ARCHIVE_DOWNLOAD_LIST_ZIP, 0, "run-7",
                                       "clerk", NULL);
}

static cf_status download_issued_a(cf_archive *a)
{
    const char *a_only[] = {ID_A};
    return cf_archive_record_downloads(a, a_only, 1, CF_ARCHIVE_DOWNLOAD_ISSUED, 0, NULL,
                                       "ward-nurse", NULL);
}

static cf_status print_both(cf_archive *a)
{
    const char *both[] = {ID_A, ID_B};
    return cf_archive_sent_to_printer(a, both, 2, "ward-3", 99, "wong.clerk", NULL);
}

static cf_status issue_c(cf_archive *a)
{
    return issue(a, ID_C, pdf_scan.data, pdf_scan.len, NULL);
}

static cf_status scan_a(cf_archive *a)
{
    int version = 0;
    return cf_archive_add_scan(a, ID_A, png.data, png.len, 0, "clerk", NULL, NULL, 0, &version,
                               NULL, NULL);
}

static cf_status scan_unregistered_c(cf_archive *a)
{
    int version = 0;
    return cf_archive_add_scan(a, ID_C, tiff.data, tiff.len, 0, "ward", "old-form", labels, 3,
                               &version, NULL, NULL);
}

static cf_status inbox_page(cf_archive *a)
{
    char id[CF_ARCHIVE_INBOX_ID + 1];
    return cf_archive_inbox_add(a, pdf_scan.data, pdf_scan.len, "scan-0042.pdf", 3,
                                "no QR code found", NULL, "clerk", id, NULL);
}

static cf_status void_b(cf_archive *a)
{
    return cf_archive_void(a, ID_B, "wrong side", 0, "ward", NULL);
}

static cf_status verify_recorded(cf_archive *a)
{
    size_t problems = 0;
    FILE *out = fopen("/dev/null", "w");
    cf_status st = cf_archive_verify(a, out, true, 0, "auditor", &problems, NULL);
    fclose(out);
    return st;
}

/* The first record object (JSON) among the objects verify's text notes as not in the index,
 * or NULL: the PDF and scan objects of a refused change may stay (no record names them, so
 * rebuild-index restores nothing of them), its record objects must not. */
static const char *unreferenced_record(const char *dir, const char *verify_text)
{
    static char found[200];
    for (const char *p = strstr(verify_text, "objects/"); p != NULL;
         p = strstr(p + 1, "objects/")) {
        const char *end = strstr(p, ": note: not in the index");
        if (end == NULL || memchr(p, '\n', (size_t)(end - p)) != NULL)
            continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%.*s", dir, (int)(end - p), p);
        FILE *f = fopen(path, "rb");
        int first = f != NULL ? fgetc(f) : EOF;
        if (f != NULL)
            fclose(f);
        if (first == '{') {
            snprintf(found, sizeof found, "%.*s", (int)(end - p), p);
            return found;
        }
    }
    return NULL;
}

/* How many files are under dir/sub (0 when it is missing). */
static size_t count_files(const char *dir, const char *sub)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "find '%s/%s' -type f 2>/dev/null | wc -l", dir, sub);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long n = 0;
    assert_int_equal(fscanf(p, "%lu", &n), 1);
    pclose(p);
    return (size_t)n;
}

/* A change refused after it has made its record objects (a fault at a row or at COMMIT) leaves
 * no record object behind: the index made again from the objects has none of its events or
 * documents, every committed event is there in its place (a refused change of two events
 * used to win the chain over a committed change after it), and verify finds nothing to note.
 * Its objects are kept aside in rolled-back/. */
static void test_rolled_back_changes(void **state)
{
    (void)state;
    char *dir = path_in("rolled-back");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    assert_int_equal(issue(a, ID_B, pdf_b.data, pdf_b.len, NULL), CF_OK);
    assert_int_equal(download_issued_a(a), CF_OK);
    const struct {
        const char *what, *fault;
        cf_status (*change)(cf_archive *a);
    } refused[] = {
        {"list ZIP download, COMMIT fails", FAIL_AT_COMMIT("events", "NEW.kind = 'downloaded'"),
         download_both},
        {"download, COMMIT fails", FAIL_AT_COMMIT("events", "NEW.kind = 'downloaded'"),
         download_issued_a},
        {"print job, the second row fails",
         FAIL_AT_ROW("events", "NEW.kind = 'sent-to-printer' AND NEW.document_id = '" ID_B "'"),
         print_both},
        {"print job, COMMIT fails", FAIL_AT_COMMIT("events", "NEW.kind = 'sent-to-printer'"),
         print_both},
        {"issue, COMMIT fails", FAIL_AT_COMMIT("documents", "NEW.id = '" ID_C "'"), issue_c},
        {"issue, its event fails", FAIL_AT_ROW("events", "NEW.document_id = '" ID_C "'"), issue_c},
        {"signed copy, COMMIT fails", FAIL_AT_COMMIT("events", "NEW.kind = 'signed-copy-added'"),
         scan_a},
        {"unregistered scan, COMMIT fails", FAIL_AT_COMMIT("documents", "NEW.id = '" ID_C "'"),
         scan_unregistered_c},
        {"inbox item, COMMIT fails", FAIL_AT_COMMIT("inbox", "1"), inbox_page},
        {"void, COMMIT fails", FAIL_AT_COMMIT("events", "NEW.kind = 'voided'"), void_b},
        {"verify --record, the second row fails",
         FAIL_AT_ROW("events", "NEW.kind = 'verified' AND NEW.document_id = '" ID_B "'"),
         verify_recorded},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        index_exec(dir, refused[i].fault);
        cf_status st = refused[i].change(a);
        index_exec(dir, NO_FAULT);
        if (st == CF_OK)
            fail_msg("%s: was not refused", refused[i].what);
        verify_result v = verify_dir(dir);
        const char *left = unreferenced_record(dir, v.text);
        if (v.problems != 0 || left != NULL)
            fail_msg("%s: a record object was left in %s:\n%s", refused[i].what,
                     left != NULL ? left : "?", v.text);
        free(v.text);
    }
    assert_true(count_files(dir, "rolled-back") > 0);
    assert_int_equal(count_files(dir, "pending-records"), 1);
    /* A change committed after them: its event is the chain's head. */
    assert_int_equal(cf_archive_signature_missing(a, ID_A, "no witness", "clerk", NULL), CF_OK);
    cf_archive_close(a);
    char *before_a = show_dir(dir, ID_A), *before_b = show_dir(dir, ID_B);
    assert_null(strstr(before_a, "run-7"));
    assert_null(strstr(before_a, "job 99"));
    assert_non_null(strstr(before_a, "signature-missing"));
    rebuild(dir);
    char *after_a = show_dir(dir, ID_A), *after_b = show_dir(dir, ID_B);
    assert_string_equal(after_a, before_a);
    assert_string_equal(after_b, before_b);
    free(before_a);
    free(before_b);
    free(after_a);
    free(after_b);
    assert_int_equal(cf_archive_open(dir, true, &a, NULL), CF_OK);
    cf_diag *diag = cf_diag_new();
    FILE *out = fopen("/dev/null", "w");
    assert_int_not_equal(cf_archive_show(a, ID_C, out, diag), CF_OK);
    fclose(out);
    cf_diag_free(diag);
    cf_archive_inbox inbox;
    assert_int_equal(cf_archive_inbox_list(a, &inbox, NULL), CF_OK);
    assert_int_equal(inbox.count, 0);
    cf_archive_inbox_cleanup(&inbox);
    cf_archive_close(a);
    verify_result v = verify_dir(dir);
    if (v.problems != 0 || unreferenced_record(dir, v.text) != NULL)
        fail_msg("%s", v.text);
    free(v.text);
}

/* A change cut off between its record objects and its COMMIT (here: a failed COMMIT whose
 * objects cannot be moved aside, because rolled-back/ cannot be made; a crash leaves the same)
 * leaves pending-records listing them. verify notes it; rebuild-index restores none of them
 * and says so; the next change settles the list (the objects not committed go to
 * rolled-back/), and from then on the store rebuilds clean, without the cut-off events. */
static void test_cut_off_change_settled(void **state)
{
    (void)state;
    char *dir = path_in("cut-off");
    assert_int_equal(cf_archive_init(dir, NULL), CF_OK);
    cf_archive *a = NULL;
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(issue(a, ID_A, pdf_a.data, pdf_a.len, NULL), CF_OK);
    assert_int_equal(issue(a, ID_B, pdf_b.data, pdf_b.len, NULL), CF_OK);
    run("touch '%s/rolled-back'", dir);
    index_exec(dir, FAIL_AT_COMMIT("events", "NEW.kind = 'downloaded'"));
    assert_int_not_equal(download_both(a), CF_OK);
    index_exec(dir, NO_FAULT);
    cf_archive_close(a);
    char *shown = show_dir(dir, ID_A);
    assert_null(strstr(shown, "downloaded"));
    verify_result v = verify_dir(dir);
    assert_int_equal(v.problems, 0);
    assert_non_null(strstr(v.text, "pending-records: note:"));
    assert_non_null(unreferenced_record(dir, v.text)); /* the two events' records */
    free(v.text);

    /* The index lost now: the listed records are not restored, and each is reported. */
    run("cp -a '%s' '%s.copy'", dir, dir);
    char copy[600];
    snprintf(copy, sizeof copy, "%s.copy", dir);
    char *text = NULL;
    size_t len = 0, documents = 0, events = 0, problems = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(
        cf_archive_rebuild_index(copy, true, out, &documents, &events, &problems, NULL), CF_OK);
    fclose(out);
    assert_int_equal(documents, 2);
    assert_int_equal(events, 2);
    assert_int_equal(problems, 2);
    assert_non_null(strstr(text, "a crash cut off"));
    free(text);
    char *rebuilt = show_dir(copy, ID_A);
    assert_string_equal(rebuilt, shown);
    free(rebuilt);

    /* No change while the list cannot be settled. */
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    cf_diag *diag = cf_diag_new();
    assert_int_not_equal(cf_archive_signature_missing(a, ID_A, "no witness", "clerk", diag), CF_OK);
    assert_true(cf_diag_contains(diag, "pending-records"));
    cf_diag_free(diag);
    /* A crash between a COMMIT and the list's emptying leaves committed objects on it: the
     * settling keeps those (the files rows name them). */
    char committed[100] = "";
    {
        char path[600];
        snprintf(path, sizeof path, "%s/index.sqlite", dir);
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT record_hash FROM events ORDER BY seq DESC "
                                            "LIMIT 1",
                                            -1, &s, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        snprintf(committed, sizeof committed, "%s", (const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        sqlite3_close(db);
    }
    run("cd '%s' && { echo %s; awk '/^end /{exit} {print}' pending-records; } >names && "
        "{ cat names; echo \"end $(sha256sum <names | cut -c1-64)\"; } >list && "
        "mv list pending-records && rm names",
        dir, committed);
    /* Once it can, the next change settles it first. */
    run("rm '%s/rolled-back'", dir);
    assert_int_equal(cf_archive_signature_missing(a, ID_A, "no witness", "clerk", NULL), CF_OK);
    cf_archive_close(a);
    assert_int_equal(count_files(dir, "rolled-back"), 2);
    run("test -f '%s/objects/%.2s/%s'", dir, committed, committed + 2);
    v = verify_dir(dir);
    if (v.problems != 0 || unreferenced_record(dir, v.text) != NULL ||
        strstr(v.text, "pending-records") != NULL)
        fail_msg("%s", v.text);
    free(v.text);
    free(shown);
    shown = show_dir(dir, ID_A);
    rebuild(dir);
    rebuilt = show_dir(dir, ID_A);
    assert_string_equal(rebuilt, shown);
    assert_null(strstr(rebuilt, "downloaded"));
    assert_non_null(strstr(rebuilt, "signature-missing"));
    free(rebuilt);
    free(shown);
    /* A list cut off while it was written (its end line wrong) lists nothing: none of its
     * objects was written yet. rebuild-index and the next change leave the store whole. */
    run("cd '%s' && printf '%%s\\nend %%064d\\n' %s 0 >pending-records", dir, committed);
    v = verify_dir(dir);
    assert_null(strstr(v.text, "pending-records"));
    free(v.text);
    shown = show_dir(dir, ID_A);
    rebuild(dir);
    assert_int_equal(cf_archive_open(dir, false, &a, NULL), CF_OK);
    assert_int_equal(cf_archive_void(a, ID_B, "wrong side", 0, "ward", NULL), CF_OK);
    cf_archive_close(a);
    run("test -f '%s/objects/%.2s/%s'", dir, committed, committed + 2);
    rebuilt = show_dir(dir, ID_A);
    assert_string_equal(rebuilt, shown);
    free(rebuilt);
    free(shown);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_init_open_and_permissions),
        cmocka_unit_test(test_migrate_on_open),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_life_of_a_document),
        cmocka_unit_test(test_labels_checked_and_kept_private),
        cmocka_unit_test(test_verify_findings),
        cmocka_unit_test(test_unreferenced_object_is_a_note),
        cmocka_unit_test(test_store_opened_read_only),
        cmocka_unit_test(test_store_on_read_only_media),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_lost_index_rebuilt),
        cmocka_unit_test(test_edited_index_found),
        cmocka_unit_test(test_damaged_object_repaired),
        cmocka_unit_test(test_scan_must_parse),
        cmocka_unit_test(test_real_clock),
        cmocka_unit_test(test_schema_1_migrated),
        cmocka_unit_test(test_query_filters),
        cmocka_unit_test(test_form_registry),
        cmocka_unit_test(test_group_store),
        cmocka_unit_test(test_unknown_operator_refused),
        cmocka_unit_test(test_scan_layout_kept),
        cmocka_unit_test(test_inbox),
        cmocka_unit_test(test_signature_missing),
        cmocka_unit_test(test_ward_kept),
        cmocka_unit_test(test_downloads_recorded),
        cmocka_unit_test(test_schema_4_migrated),
        cmocka_unit_test(test_sent_to_printer),
        cmocka_unit_test(test_rolled_back_changes),
        cmocka_unit_test(test_cut_off_change_settled),
    };
    return cmocka_run_group_tests_name("archive", tests, setup, teardown);
}
