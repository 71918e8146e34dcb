/* cmocka tests of src/batch/: the compact row store, and the engine run through its library
 * interface: a list rewritten while the batch prints is never read again (issue 11 item 1), the
 * manifest's cells are guarded and streamed, outputs are checked before the first write, --check
 * writes no PDF, and a stop request leaves not-printed rows. Also the CSV cell writer. */
#include "base/alloc.h"
#include "base/buf.h"
#include "base/diag.h"
#include "batch/batch.h"
#include "batch/records.h"
#include "data/csv_write.h"
#include "render/document.h"
#include "test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- the CSV cell writer ------------------------------------------------------------------ */

static void test_csv_write_cell(void **state)
{
    (void)state;
    static const struct {
        const char *value, *cell;
    } cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"=1+2", "'=1+2"},
        {"+1", "'+1"},
        {"-1", "'-1"},
        {"@SUM(A1)", "'@SUM(A1)"},
        {"\tx", "'\tx"},
        {"\rx", "\"'\rx\""},
        {"=HYPERLINK(\"a\",\"b\")", "\"'=HYPERLINK(\"\"a\"\",\"\"b\"\")\""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"陳大文", "陳大文"},
        {"x=1", "x=1"},
    };
    cf_buf out;
    cf_buf_init(&out, 4096);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_buf_reset(&out);
        cf_csv_write_cell(&out, cases[i].value);
        assert_string_equal(out.data != NULL ? out.data : "", cases[i].cell);
    }
    const char *row[] = {"1", "=x", NULL};
    cf_buf_reset(&out);
    cf_csv_write_row(&out, row, 3);
    assert_string_equal(out.data, "1,'=x,\r\n");
    cf_buf_cleanup(&out);
}

/* ---- the row store ---------------------------------------------------------------------- */

static void test_records_round_trip(void **state)
{
    (void)state;
    cf_batch_records *rs = NULL;
    cf_diag *diag = cf_diag_new();
    assert_int_equal(cf_batch_records_new(NULL, &rs, diag), CF_OK);
    /* Enough rows to pass the write-out threshold several times. */
    for (long i = 0; i < 20000; i++) {
        cf_record *r = cf_record_new("list.csv", i + 2);
        char v[64];
        snprintf(v, sizeof v, "HN%08ld", i);
        assert_int_equal(cf_record_set(r, "hospital_no", v), CF_OK);
        assert_int_equal(cf_record_set(r, "patient_name", i % 2 ? "陳大文" : ""), CF_OK);
        cf_batch_row row = {.row = i + 2,
                            .state = i % 3 == 0 ? CF_BATCH_ROW_EMPTY : CF_BATCH_ROW_READY};
        assert_int_equal(cf_batch_records_add(rs, &row, i % 5 == 0 ? NULL : r), CF_OK);
        cf_record_free(r);
    }
    assert_int_equal(cf_batch_records_seal(rs), CF_OK);
    assert_int_equal(cf_batch_records_count(rs), 20000);
    for (size_t i = 0; i < 20000; i += 997) {
        cf_batch_row row;
        cf_record *r = NULL;
        assert_int_equal(cf_batch_records_get(rs, i, &row, &r, "list.csv"), CF_OK);
        assert_int_equal(row.row, (long)i + 2);
        assert_int_equal(row.state, i % 3 == 0 ? CF_BATCH_ROW_EMPTY : CF_BATCH_ROW_READY);
        if (i % 5 == 0) {
            assert_int_equal(cf_record_size(r), 0);
        } else {
            char v[64];
            snprintf(v, sizeof v, "HN%08zu", i);
            assert_string_equal(cf_record_get(r, "hospital_no"), v);
            assert_string_equal(cf_record_get(r, "patient_name"), i % 2 ? "陳大文" : "");
            assert_int_equal(cf_record_row(r), (long)i + 2);
        }
        cf_record_free(r);
        /* In-place updates keep the values. */
        row.state = CF_BATCH_ROW_PRINTED;
        row.pages = 3;
        memcpy(row.document_id, "7K3QJ2M9XW4TB", 14);
        assert_int_equal(cf_batch_records_update(rs, i, &row), CF_OK);
        cf_batch_row again;
        char value[64];
        assert_int_equal(cf_batch_records_get(rs, i, &again, NULL, NULL), CF_OK);
        assert_int_equal(again.state, CF_BATCH_ROW_PRINTED);
        assert_int_equal(again.pages, 3);
        assert_string_equal(again.document_id, "7K3QJ2M9XW4TB");
        assert_int_equal(cf_batch_records_value(rs, i, "hospital_no", value, sizeof value), CF_OK);
        if (i % 5 != 0)
            assert_memory_equal(value, "HN", 2);
    }
    /* A failure keeps its first message. */
    assert_int_equal(cf_batch_records_fail(rs, 1, CF_ERR_DATA, "first"), CF_OK);
    assert_int_equal(cf_batch_records_fail(rs, 1, CF_ERR_IO, "second"), CF_OK);
    cf_batch_row row;
    assert_int_equal(cf_batch_records_get(rs, 1, &row, NULL, NULL), CF_OK);
    assert_int_equal(row.state, CF_BATCH_ROW_FAILED);
    assert_int_equal(row.status, CF_ERR_DATA);
    assert_string_equal(cf_batch_records_message(rs, row.message), "first");
    cf_batch_records_free(rs);
    cf_diag_free(diag);
}

static void test_records_messages_bounded(void **state)
{
    (void)state;
    cf_batch_records *rs = NULL;
    assert_int_equal(cf_batch_records_new(NULL, &rs, NULL), CF_OK);
    uint32_t a = cf_batch_records_intern(rs, "same", "fallback");
    assert_int_equal(cf_batch_records_intern(rs, "same", "fallback"), a);
    uint32_t last = 0;
    for (int i = 0; i < 10000; i++) {
        char m[64];
        snprintf(m, sizeof m, "message %d", i);
        last = cf_batch_records_intern(rs, m, "fallback");
        assert_true(last > 0);
    }
    /* Past the cap, new texts give the fallback. */
    assert_string_equal(cf_batch_records_message(rs, last), "fallback");
    assert_string_equal(cf_batch_records_message(rs, 0), "");
    cf_batch_records_free(rs);
}

/* ---- the engine ------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[256];
    char csv[300];
    char out[300];
    cf_form *form;
    char *form_path;
    const cf_fontset *fonts;
    cf_diag *diag;
} fixture;

static const char list_a[] = "patient_name,hospital_no,episode_no\r\n"
                             "陳大文,HN10000001(1),E1\r\n"
                             "=李小明,HN10000002(2),E2\r\n"
                             "張美玲,HN10000003(3),E3\r\n";
static const char list_b[] = "patient_name,hospital_no,episode_no\r\n"
                             "王五,HN90000001(1),E1\r\n"
                             "趙六,HN90000002(2),E2\r\n"
                             "孫七,HN90000003(3),E3\r\n";

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "%s/cf-batch-test.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->csv, sizeof fx->csv, "%s/list.csv", fx->dir);
    snprintf(fx->out, sizeof fx->out, "%s/out", fx->dir);
    write_text(fx->csv, list_a);
    fx->diag = cf_diag_new();
    fx->form_path = cf_form_resolve("nerve-root-injection", NULL, fx->diag);
    assert_non_null(fx->form_path);
    assert_int_equal(cf_form_load(fx->form_path, NULL, &fx->form, fx->diag), CF_OK);
    assert_int_equal(cf_fontset_get(fx->form->region, &fx->fonts, fx->diag), CF_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    cf_form_free(fx->form);
    cf_free(fx->form_path);
    cf_diag_free(fx->diag);
    free(fx);
    return 0;
}

static cf_batch_options options_for(const fixture *fx)
{
    return (cf_batch_options){
        .form = fx->form,
        .form_path = fx->form_path,
        .fonts = fx->fonts,
        .csv_path = fx->csv,
        .encoding = CF_CSV_ENCODING_AUTO,
        .out_dir = fx->out,
        .paper = CF_PAPER_A4,
        .jobs = 2,
        .created = 1767225600,
        .allow = CF_FORM_ALLOW_DRAFT, /* the shipped forms are drafts */
        .today = "2026-12-01",
    };
}

/* The hook between passes: at the first printed row, the list is rewritten in place with
 * other patients (same size and row count). */
static void rewrite_list(void *ctx, size_t done, size_t total)
{
    (void)total;
    const fixture *fx = ctx;
    if (done == 1)
        write_text(fx->csv, list_b);
}

static void test_batch_reads_the_list_once(void **state)
{
    fixture *fx = *state;
    cf_batch_options o = options_for(fx);
    char combined[320];
    snprintf(combined, sizeof combined, "%s/all.pdf", fx->dir);
    o.combined = combined;
    o.jobs = 1;
    o.progress = rewrite_list;
    o.progress_ctx = fx;
    cf_batch_summary sum;
    assert_int_equal(cf_batch_run(&o, &sum, fx->diag), CF_OK);
    assert_int_equal(sum.rows, 3);
    assert_int_equal(sum.printed, 3);
    assert_int_equal(sum.failed, 0);
    char path[400];
    snprintf(path, sizeof path, "%s/manifest.csv", fx->out);
    const char *m = read_text(path);
    assert_non_null(m);
    assert_non_null(strstr(m, "row,status,file,document_id,sha256,pages,message,patient_name,"
                              "hospital_no,override,form_sha256\r\n"));
    /* The rows as read once, whatever the file says now; the = cell is guarded; each row
     * says it was printed from a draft, and from which text of the form. */
    char fingerprint[CF_SHA256_HEX_SIZE], want[256];
    assert_int_equal(cf_form_fingerprint(o.form, fingerprint), CF_OK);
    snprintf(want, sizeof want, ",陳大文,HN10000001(1),draft,%s\r\n", fingerprint);
    assert_non_null(strstr(m, want));
    snprintf(want, sizeof want, ",'=李小明,HN10000002(2),draft,%s\r\n", fingerprint);
    assert_non_null(strstr(m, want));
    assert_non_null(strstr(m, "HN10000003(3)_E3_nerve-root-injection.pdf"));
    assert_null(strstr(m, "HN9000000"));
    snprintf(path, sizeof path, "%s/HN10000002(2)_E2_nerve-root-injection.pdf", fx->out);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(stat(combined, &st), 0);
    snprintf(path, sizeof path, "%s/manifest-source.csv", fx->out);
    m = read_text(path);
    assert_non_null(m);
    assert_non_null(strstr(m, "list,list_sha256,form,rows,form_sha256\r\n"));
    assert_non_null(strstr(m, "nerve-root-injection@"));
    snprintf(want, sizeof want, ",3,%s\r\n", fingerprint);
    assert_non_null(strstr(m, want));
}

static void test_batch_combined_over_row_file(void **state)
{
    fixture *fx = *state;
    cf_batch_options o = options_for(fx);
    char combined[400];
    snprintf(combined, sizeof combined, "%s/HN10000001(1)_E1_nerve-root-injection.pdf", fx->out);
    o.combined = combined;
    cf_batch_summary sum;
    assert_int_equal(cf_batch_run(&o, &sum, fx->diag), CF_ERR_CANTCREAT);
    assert_true(cf_diag_contains(fx->diag, "also the file of row 2"));
    struct stat st;
    assert_int_not_equal(stat(fx->out, &st), 0); /* nothing written, not even the folder */
}

static void test_batch_check_only(void **state)
{
    fixture *fx = *state;
    cf_batch_options o = options_for(fx);
    o.check_only = true;
    o.name_template = "{row}_{form}.pdf";
    cf_batch_summary sum;
    assert_int_equal(cf_batch_run(&o, &sum, fx->diag), CF_OK);
    assert_int_equal(sum.printed, 3);
    assert_int_equal(sum.pages, 0);
    char path[400];
    snprintf(path, sizeof path, "%s/manifest.csv", fx->out);
    const char *m = read_text(path);
    assert_non_null(strstr(m, "\r\n2,ok,2_nerve-root-injection.pdf,,,,checked; not printed"));
    snprintf(path, sizeof path, "%s/2_nerve-root-injection.pdf", fx->out);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
}

/* A draft without CF_FORM_ALLOW_DRAFT is refused before anything is written, naming the
 * option; so is a retired form whatever is allowed. */
static void test_batch_refuses_form_status(void **state)
{
    fixture *fx = *state;
    cf_batch_options o = options_for(fx);
    o.allow = CF_FORM_ALLOW_EXPIRED;
    cf_batch_summary sum;
    assert_int_equal(cf_batch_run(&o, &sum, fx->diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(fx->diag, "--allow-draft"));
    struct stat st;
    assert_int_not_equal(stat(fx->out, &st), 0); /* nothing written, not even the folder */
    fx->form->state = CF_FORM_STATE_RETIRED;
    o.allow = CF_FORM_ALLOW_DRAFT | CF_FORM_ALLOW_EXPIRED;
    o.check_only = true;
    assert_int_equal(cf_batch_run(&o, &sum, fx->diag), CF_ERR_DATA);
    assert_true(cf_diag_contains(fx->diag, "is retired"));
    assert_int_not_equal(stat(fx->out, &st), 0);
}

static void test_batch_stop(void **state)
{
    fixture *fx = *state;
    static volatile sig_atomic_t stop = SIGINT; /* stopped before the first row */
    cf_batch_options o = options_for(fx);
    o.stop = &stop;
    cf_batch_summary sum;
    assert_int_equal(cf_batch_run(&o, &sum, fx->diag), CF_OK);
    assert_int_equal(sum.stopped_by, SIGINT);
    assert_int_equal(sum.not_printed, 3);
    char path[400];
    snprintf(path, sizeof path, "%s/manifest.csv", fx->out);
    const char *m = read_text(path);
    assert_non_null(strstr(m, "\r\n4,not-printed,,,,,interrupted,"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_write_cell),
        cmocka_unit_test(test_records_round_trip),
        cmocka_unit_test(test_records_messages_bounded),
        cmocka_unit_test_setup_teardown(test_batch_reads_the_list_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_combined_over_row_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_check_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_refuses_form_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
