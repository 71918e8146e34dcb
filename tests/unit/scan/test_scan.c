/* Unit tests of src/scan/: the QR payload (table of good and bad texts), grouping (table of
 * synthetic stacks), signature areas read from laid-out forms, a blank form's QR read back from
 * its print at 150 dpi (and the image check of each kind on it), bad input files, and the
 * generated test set (tests/scan/make_scans.sh, made on first use into the build folder): the
 * shuffled 30-document stack at 200 dpi JPEG-in-PDF and at 300 dpi CCITT G4 (TIFF, and the
 * same in a PDF) read page by page; every QR but the blotted one decoded, 0 pages to a wrong
 * document, missing pages found, the slipped-in page under its own document, and ink found
 * exactly on the lines that were signed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "archive/content.h"
#include "base/alloc.h"
#include "base/diag.h"
#include "base/hash.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "layout/layout.h"
#include "render/document.h"
#include "scan/file.h"
#include "scan/image_check.h"
#include "scan/scan.h"
#include "test_util.h"
#include "text/font.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the generated test set ---- */

#define MAX_SHEETS 200
#define MAX_DOCS 40
#define MAX_AREAS 600

typedef struct truth_sheet {
    char id[CF_DOCUMENT_ID_SIZE];
    unsigned page;
    bool blotted;
} truth_sheet;

typedef struct truth_doc {
    char id[CF_DOCUMENT_ID_SIZE];
    unsigned pages;
    int index;
} truth_doc;

typedef struct truth_area {
    char id[CF_DOCUMENT_ID_SIZE];
    unsigned page;
    cf_sign_area area;
    bool signed_;
} truth_area;

typedef struct truth {
    truth_sheet sheets[MAX_SHEETS];
    size_t n_sheets;
    truth_doc docs[MAX_DOCS];
    size_t n_docs;
    struct {
        char id[CF_DOCUMENT_ID_SIZE];
        unsigned page;
    } missing[8];
    size_t n_missing;
    truth_area areas[MAX_AREAS];
    size_t n_areas;
    struct {
        char id[CF_DOCUMENT_ID_SIZE];
        unsigned page;
        cf_sign_qr_place place;
    } qr[MAX_DOCS * 5];
    size_t n_qr;
} truth;

static truth the_truth;
static char scans_dir[1024];

/* Makes the test set when it is missing or out of date (the script writes it whole or not at
 * all), then reads truth.tsv. */
static int setup_scans(void **state)
{
    (void)state;
    const char *build = getenv("CF_BUILD_DIR");
    char path[1200], cmd[4096], src[1024];
    struct stat st;
    snprintf(scans_dir, sizeof scans_dir, "%s/scans", build != NULL ? build : ".");
    snprintf(path, sizeof path, "%s/truth.tsv", scans_dir);
    /* The script makes the set again when its inputs changed, and does nothing otherwise. */
    snprintf(cmd, sizeof cmd, "%s '%s' '%s'",
             test_source_path(src, sizeof src, "tests/scan/make_scans.sh"),
             build != NULL ? build : ".", scans_dir);
    if (system(cmd) != 0 || stat(path, &st) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[512], kind[16], id[32];
    truth *t = &the_truth;
    memset(t, 0, sizeof *t);
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "%15s %31s", kind, id) != 2 || strlen(id) >= CF_DOCUMENT_ID_SIZE)
            continue;
        if (strcmp(kind, "doc") == 0 && t->n_docs < MAX_DOCS) {
            truth_doc *d = &t->docs[t->n_docs++];
            sscanf(line, "doc %13s %u %*s %d", d->id, &d->pages, &d->index);
        } else if (strcmp(kind, "sheet") == 0) {
            size_t k;
            int blotted;
            char sid[32];
            if (sscanf(line, "sheet %zu %31s", &k, sid) == 2 && k < MAX_SHEETS) {
                truth_sheet *s = &t->sheets[k];
                sscanf(line, "sheet %*u %13s %u %d", s->id, &s->page, &blotted);
                s->blotted = blotted != 0;
                if (k + 1 > t->n_sheets)
                    t->n_sheets = k + 1;
            }
        } else if (strcmp(kind, "missing") == 0 && t->n_missing < 8) {
            sscanf(line, "missing %13s %u", t->missing[t->n_missing].id,
                   &t->missing[t->n_missing].page);
            t->n_missing++;
        } else if (strcmp(kind, "area") == 0 && t->n_areas < MAX_AREAS) {
            truth_area *a = &t->areas[t->n_areas++];
            int role, kind_of_line, s;
            sscanf(line, "area %13s %u %d %d %lf %lf %lf %lf %d", a->id, &a->page, &role,
                   &kind_of_line, &a->area.x1, &a->area.y1, &a->area.x2, &a->area.y2, &s);
            a->area.page = a->page - 1;
            a->area.role = (cf_signer_role)role;
            a->area.line = (cf_sign_line)kind_of_line;
            a->signed_ = s != 0;
        } else if (strcmp(kind, "qr") == 0 && t->n_qr < MAX_DOCS * 5) {
            sscanf(line, "qr %13s %u %lf %lf %lf", t->qr[t->n_qr].id, &t->qr[t->n_qr].page,
                   &t->qr[t->n_qr].place.x, &t->qr[t->n_qr].place.y, &t->qr[t->n_qr].place.side);
            t->n_qr++;
        }
    }
    fclose(f);
    return t->n_sheets > 0 && t->n_docs == 31 ? 0 : -1;
}

static const truth_doc *truth_doc_of(const char *id)
{
    for (size_t i = 0; i < the_truth.n_docs; i++)
        if (strcmp(the_truth.docs[i].id, id) == 0)
            return &the_truth.docs[i];
    return NULL;
}

static const cf_sign_qr_place *truth_qr(const char *id, unsigned page)
{
    for (size_t i = 0; i < the_truth.n_qr; i++)
        if (strcmp(the_truth.qr[i].id, id) == 0 && the_truth.qr[i].page == page)
            return &the_truth.qr[i].place;
    return NULL;
}

static void scan_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", scans_dir, name);
}

typedef struct ink_range {
    double min_signed, max_unsigned;
    size_t checked;
} ink_range;

/* Reads every page of the stack in file, checks QR against the truth, the signatures, and the
 * grouping. Not strict: pages whose QR is not read are passed over and not grouped (a decoder
 * that misses some pages still places every page it reads and its signature lines). */
static void check_stack(const char *name, cf_scan_decoder decoder, bool strict, ink_range *ink)
{
    size_t read = 0;
    char path[1200];
    cf_diag *diag = cf_diag_new();
    cf_scan_source *src = NULL;
    scan_path(path, sizeof path, name);
    assert_int_equal(cf_scan_source_open(path, &src, diag), CF_OK);
    size_t n = cf_scan_source_get_pages(src);
    assert_int_equal(n, the_truth.n_sheets);
    cf_scan_page *pages = calloc(n, sizeof *pages);
    assert_non_null(pages);
    for (size_t k = 0; k < n; k++) {
        const truth_sheet *ts = &the_truth.sheets[k];
        cf_scan_image image = {0};
        cf_scan_qr qr;
        assert_int_equal(cf_scan_page_read(src, k, decoder, &pages[k], &qr, &image, diag), CF_OK);
        assert_int_equal(pages[k].source_page, k + 1);
        cf_status st = pages[k].decoded ? CF_OK : CF_ERR_DATA;
        if (!strict && st != CF_OK) {
            cf_scan_image_cleanup(&image);
            continue;
        }
        read += st == CF_OK;
        if (ts->blotted) {
            assert_int_equal(st, CF_ERR_DATA);
        } else {
            if (st != CF_OK)
                fail_msg("%s sheet %zu (%s page %u): no QR read", name, k, ts->id, ts->page);
            assert_string_equal(qr.payload.document_id, ts->id);
            assert_int_equal(qr.payload.page, ts->page);
            const truth_doc *td = truth_doc_of(ts->id);
            if (td == NULL)
                fail_msg("%s is not in truth.tsv", ts->id);
            else
                assert_int_equal(qr.payload.pages, td->pages);
            /* Every signature line of the page: ink exactly where a pen went. */
            const cf_sign_qr_place *place = truth_qr(ts->id, ts->page);
            assert_non_null(place);
            for (size_t a = 0; a < the_truth.n_areas; a++) {
                const truth_area *ta = &the_truth.areas[a];
                if (strcmp(ta->id, ts->id) != 0 || ta->page != ts->page)
                    continue;
                double share = cf_scan_area_ink(&image, &qr, place, &ta->area);
                ink->checked++;
                if (ta->signed_ && share < ink->min_signed)
                    ink->min_signed = share;
                if (!ta->signed_ && share > ink->max_unsigned)
                    ink->max_unsigned = share;
                if (cf_scan_area_check(&image, &qr, place, &ta->area) != ta->signed_)
                    fail_msg("%s sheet %zu: %s page %u role %d line %d: ink %.4f but %s", name, k,
                             ts->id, ts->page, (int)ta->area.role, (int)ta->area.line, share,
                             ta->signed_ ? "signed" : "not signed");
            }
        }
        cf_scan_image_cleanup(&image);
    }
    if (!strict) {
        fprintf(stderr, "%s: %zu of %zu QR codes read\n", name, read, n);
        assert_true(read > n / 2);
        cf_scan_source_free(src);
        free(pages);
        cf_diag_free(diag);
        return;
    }

    cf_scan_report *report = NULL;
    assert_int_equal(cf_scan_group(pages, n, &report), CF_OK);
    /* 30 documents and the slipped-in one. */
    assert_int_equal(report->n_docs, 31);
    size_t complete = 0;
    for (size_t d = 0; d < report->n_docs; d++) {
        const cf_scan_doc *doc = &report->docs[d];
        const truth_doc *td = truth_doc_of(doc->document_id);
        if (td == NULL) {
            fail_msg("%s: document %s is not in the stack", name, doc->document_id);
            return;
        }
        assert_int_equal(doc->pages, td->pages);
        /* 0 pages to a wrong document: every page placed is that document's page. */
        bool all = true;
        for (unsigned p = 0; p < doc->pages; p++) {
            size_t i = doc->page_index[p];
            if (i == (size_t)-1) {
                all = false;
                continue;
            }
            assert_string_equal(the_truth.sheets[i].id, doc->document_id);
            assert_int_equal(the_truth.sheets[i].page, p + 1);
        }
        assert_int_equal(doc->complete, all);
        complete += doc->complete;
        if (td->index == 31) {
            /* the other patient's page: under its own document, which is incomplete */
            assert_false(doc->complete);
            assert_int_not_equal(doc->page_index[1], (size_t)-1);
        }
    }
    size_t undecodable = 0, missing = 0;
    for (size_t i = 0; i < report->n_problems; i++) {
        const cf_scan_problem *pr = &report->problems[i];
        if (pr->kind == CF_SCAN_UNDECODABLE) {
            undecodable++;
            assert_true(the_truth.sheets[pr->page].blotted);
            assert_string_equal(pages[pr->page].source, path);
            assert_int_equal(pages[pr->page].source_page, pr->page + 1);
        } else if (pr->kind == CF_SCAN_MISSING_PAGE) {
            missing++;
            bool known = false;
            for (size_t m = 0; m < the_truth.n_missing; m++)
                known |= strcmp(the_truth.missing[m].id, pr->document_id) == 0 &&
                         the_truth.missing[m].page == pr->page_no;
            for (size_t k = 0; k < n; k++)
                known |= the_truth.sheets[k].blotted &&
                         strcmp(the_truth.sheets[k].id, pr->document_id) == 0 &&
                         the_truth.sheets[k].page == pr->page_no;
            const truth_doc *td = truth_doc_of(pr->document_id);
            known |= td != NULL && td->index == 31 && pr->page_no != 2;
            if (!known)
                fail_msg("%s: page %u of %s reported missing", name, pr->page_no, pr->document_id);
        } else {
            fail_msg("%s: unexpected problem %s", name, cf_scan_problem_name(pr->kind));
        }
    }
    assert_int_equal(undecodable, 1);
    /* Complete: 30 less the ones with a page left out and the one with its QR blotted. */
    assert_int_equal(complete, 30 - the_truth.n_missing - 1);
    /* those left out, the blotted one, and document 31's pages other than the slipped-in one */
    const truth_doc *other = NULL;
    for (size_t d = 0; d < the_truth.n_docs; d++)
        if (the_truth.docs[d].index == 31)
            other = &the_truth.docs[d];
    assert_non_null(other);
    unsigned other_pages = other != NULL ? other->pages : 0;
    assert_int_equal(missing, the_truth.n_missing + 1 + (other_pages - 1));
    cf_scan_report_free(report);
    cf_scan_source_free(src);
    free(pages);
    cf_diag_free(diag);
}

static void report_ink(const char *what, const ink_range *ink)
{
    /* The threshold CF_SCAN_INK_SIGNED sits between these (README "Reading scans"). */
    fprintf(stderr, "%s: %zu lines; ink on signed lines >= %.4f, on empty lines <= %.4f\n", what,
            ink->checked, ink->min_signed, ink->max_unsigned);
}

static void test_stack_200_jpeg_pdf(void **state)
{
    (void)state;
    ink_range ink = {1, 0, 0};
    check_stack("stack-200-jpeg.pdf", CF_SCAN_DECODER_DEFAULT, /*strict*/ true, &ink);
    report_ink("200 dpi JPEG", &ink);
    assert_true(ink.checked > 100);
}

static void test_stack_300_g4_tiff(void **state)
{
    (void)state;
    ink_range ink = {1, 0, 0};
    check_stack("stack-300-g4.tif", CF_SCAN_DECODER_DEFAULT, /*strict*/ true, &ink);
    report_ink("300 dpi G4", &ink);
    assert_true(ink.checked > 100);
}

/* zbar reads fewer pages (README), but gives the QR's corners in the same order: every page
 * it reads is placed right and its signature lines are found. */
static void test_stack_zbar(void **state)
{
    (void)state;
    ink_range ink = {1, 0, 0};
    check_stack("stack-200-jpeg.pdf", CF_SCAN_DECODER_ZBAR, /*strict*/ false, &ink);
    report_ink("200 dpi JPEG, zbar", &ink);
    assert_true(ink.checked > 50);
}

/* The CCITT data inside a PDF decodes to the same pixels as from the TIFF it came from. */
static void test_ccitt_pdf_matches_tiff(void **state)
{
    (void)state;
    char tif[1200], pdf[1200];
    cf_diag *diag = cf_diag_new();
    cf_scan_source *a = NULL, *b = NULL;
    scan_path(tif, sizeof tif, "stack-300-g4.tif");
    scan_path(pdf, sizeof pdf, "stack-300-g4.pdf");
    assert_int_equal(cf_scan_source_open(tif, &a, diag), CF_OK);
    assert_int_equal(cf_scan_source_open(pdf, &b, diag), CF_OK);
    assert_int_equal(cf_scan_source_get_pages(a), cf_scan_source_get_pages(b));
    for (size_t k = 0; k < 6; k++) {
        cf_scan_image ia, ib;
        cf_scan_raw raw;
        assert_int_equal(cf_scan_source_read_page(a, k, &ia, diag), CF_OK);
        assert_int_equal(cf_scan_source_read_page(b, k, &ib, diag), CF_OK);
        assert_int_equal(ia.width, ib.width);
        assert_int_equal(ia.height, ib.height);
        assert_memory_equal(ia.pixels, ib.pixels, (size_t)ia.width * ia.height);
        cf_scan_image_cleanup(&ia);
        cf_scan_image_cleanup(&ib);
        /* Both give the G4 data as the scanner wrote it, for a signed copy. */
        assert_int_equal(cf_scan_source_get_raw(a, k, &raw, diag), CF_OK);
        assert_int_equal(raw.encoding, CF_SCAN_ENC_CCITT);
        assert_true(raw.ccitt_k < 0);
        assert_true(raw.len > 1000);
        assert_int_equal(cf_scan_source_get_raw(b, k, &raw, diag), CF_OK);
        assert_int_equal(raw.encoding, CF_SCAN_ENC_CCITT);
    }
    cf_scan_source_free(a);
    cf_scan_source_free(b);
    cf_diag_free(diag);
}

/* A lone JPEG or PNG file is one page; a JPEG page of a PDF is given back as it is. */
static void test_single_files_and_raw(void **state)
{
    (void)state;
    const char *names[] = {"stack-page.jpg", "stack-page.png"};
    cf_diag *diag = cf_diag_new();
    for (size_t i = 0; i < 2; i++) {
        char path[1200];
        cf_scan_source *src = NULL;
        cf_scan_image image;
        cf_scan_qr qr;
        scan_path(path, sizeof path, names[i]);
        assert_int_equal(cf_scan_source_open(path, &src, diag), CF_OK);
        assert_int_equal(cf_scan_source_get_pages(src), 1);
        assert_int_equal(cf_scan_source_read_page(src, 0, &image, diag), CF_OK);
        assert_int_equal(cf_scan_qr_find(&image, CF_SCAN_DECODER_DEFAULT, &qr), CF_OK);
        assert_string_equal(qr.payload.document_id, the_truth.sheets[0].id);
        cf_scan_image_cleanup(&image);
        cf_scan_source_free(src);
    }
    char path[1200];
    cf_scan_source *src = NULL;
    cf_scan_raw raw;
    scan_path(path, sizeof path, "stack-200-jpeg.pdf");
    assert_int_equal(cf_scan_source_open(path, &src, diag), CF_OK);
    assert_int_equal(cf_scan_source_get_raw(src, 3, &raw, diag), CF_OK);
    assert_int_equal(raw.encoding, CF_SCAN_ENC_JPEG);
    assert_int_equal(raw.components, 1);
    assert_true(raw.len > 1000 && raw.data[0] == 0xff && raw.data[1] == 0xd8);
    cf_scan_source_free(src);
    cf_diag_free(diag);
}

/* The signed copy's PDF (cf_scan_pdf_write) carries each page's own image data: read back, the
 * pages come in the order asked, with the same encoded bytes (JPEG, CCITT G4) or, for a PNG
 * (re-encoded with Flate), the same pixels. */
static void test_pdf_write_keeps_image_data(void **state)
{
    (void)state;
    const char *names[] = {"stack-200-jpeg.pdf", "stack-300-g4.tif", "stack-page.png"};
    const size_t order[] = {5, 0, 2};
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    for (size_t f = 0; f < 3; f++) {
        char path[1200], out[1300];
        scan_path(path, sizeof path, names[f]);
        cf_scan_source *src = NULL;
        assert_int_equal(cf_scan_source_open(path, &src, diag), CF_OK);
        size_t n = f < 2 ? 3 : 1;
        cf_scan_source *srcs[3] = {src, src, src};
        size_t pages[3];
        for (size_t i = 0; i < n; i++)
            pages[i] = f < 2 ? order[i] : 0;
        unsigned char *pdf = NULL;
        size_t len = 0;
        assert_int_equal(cf_scan_pdf_write(srcs, pages, n, &pdf, &len, diag), CF_OK);
        snprintf(out, sizeof out, "%s/pdf-write-%zu.pdf", scans_dir, f);
        FILE *fp = fopen(out, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(pdf, 1, len, fp), len);
        fclose(fp);
        cf_free(pdf);
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", out);
        assert_int_equal(system(cmd), 0);
        cf_scan_source *back = NULL;
        assert_int_equal(cf_scan_source_open(out, &back, diag), CF_OK);
        assert_int_equal(cf_scan_source_get_pages(back), n);
        for (size_t i = 0; i < n; i++) {
            cf_scan_raw a, b;
            assert_int_equal(cf_scan_source_get_raw(src, pages[i], &a, diag), CF_OK);
            cf_scan_encoding enc = a.encoding;
            unsigned char *copy = cf_malloc(a.len + 1);
            assert_non_null(copy);
            if (a.len > 0) /* CF_SCAN_ENC_OTHER has no data of its own (data NULL) */
                memcpy(copy, a.data, a.len);
            size_t alen = a.len;
            assert_int_equal(cf_scan_source_get_raw(back, i, &b, diag), CF_OK);
            if (enc == CF_SCAN_ENC_OTHER) {
                assert_int_equal(b.encoding, CF_SCAN_ENC_FLATE);
                cf_scan_image x, y;
                assert_int_equal(cf_scan_source_read_page(src, pages[i], &x, diag), CF_OK);
                /* A fresh handle: the pixels, not the data cf_scan_source_get_raw returned. */
                cf_scan_source *again = NULL;
                assert_int_equal(cf_scan_source_open(out, &again, diag), CF_OK);
                assert_int_equal(cf_scan_source_read_page(again, i, &y, diag), CF_OK);
                cf_scan_source_free(again);
                assert_int_equal(x.width, y.width);
                assert_int_equal(x.height, y.height);
                assert_memory_equal(x.pixels, y.pixels, (size_t)x.width * x.height);
                cf_scan_image_cleanup(&x);
                cf_scan_image_cleanup(&y);
            } else {
                assert_int_equal(b.encoding, enc);
                assert_int_equal(b.len, alen);
                assert_memory_equal(b.data, copy, alen);
            }
            cf_free(copy);
            /* Page order kept: the QR of the page read back is the page asked for. */
            cf_scan_page pg;
            cf_scan_qr qr;
            assert_int_equal(
                cf_scan_page_read(back, i, CF_SCAN_DECODER_DEFAULT, &pg, &qr, NULL, diag), CF_OK);
            if (pg.decoded && f < 2) {
                size_t sheet = pages[i];
                assert_string_equal(pg.payload.document_id, the_truth.sheets[sheet].id);
            }
        }
        cf_scan_source_free(back);
        cf_scan_source_free(src);
        remove(out);
    }
    cf_diag_free(diag);
}

/* ---- payload ---- */

static void test_payload(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"FKAWQ7PT5Y944/1/3/nerve-root-injection@1.0", true},
        {"FKAWQ7PT5Y944/3/3/nerve-root-injection@1.0", true},
        {"FKAWQ7PT5Y945/1/3/nerve-root-injection@1.0", false}, /* check character */
        {"fkawq7pt5y944/1/3/nerve-root-injection@1.0", false}, /* not as printed */
        {"FKAWQ7PT5Y94/1/3/nerve-root-injection@1.0", false},
        {"FKAWQ7PT5Y944/4/3/nerve-root-injection@1.0", false},
        {"FKAWQ7PT5Y944/0/3/nerve-root-injection@1.0", false},
        {"FKAWQ7PT5Y944/01/3/nerve-root-injection@1.0", false},
        {"FKAWQ7PT5Y944/1/3/nerve-root-injection", false},
        {"FKAWQ7PT5Y944/1/3/a/b@1.0", false},
        {"FKAWQ7PT5Y944/1/3/@1.0", false},
        {"FKAWQ7PT5Y944/1/3/x@", false},
        {"FKAWQ7PT5Y944/1/3/x@1@2", false},
        {"FKAWQ7PT5Y944/1", false},
        {"BLANK/1/3/nerve-root-injection@1.0", true}, /* a blank form's page */
        {"BLANK/4/3/nerve-root-injection@1.0", false},
        {"BLANK/1/3/nerve-root-injection", false},
        {"blank/1/3/nerve-root-injection@1.0", false},
        {"BLANKX/1/3/nerve-root-injection@1.0", false},
        {"BLAN/1/3/nerve-root-injection@1.0", false},
        {"/1/3/nerve-root-injection@1.0", false},
        {"https://example.org/", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_scan_payload p;
        cf_status st = cf_scan_payload_parse(cases[i].text, strlen(cases[i].text), &p);
        if ((st == CF_OK) != cases[i].ok)
            fail_msg("payload \"%s\": %s", cases[i].text, cf_status_message(st));
    }
    cf_scan_payload p;
    assert_int_equal(cf_scan_payload_parse(cases[1].text, strlen(cases[1].text), &p), CF_OK);
    assert_string_equal(p.document_id, "FKAWQ7PT5Y944");
    assert_int_equal(p.page, 3);
    assert_int_equal(p.pages, 3);
    assert_string_equal(p.form_id, "nerve-root-injection");
    assert_string_equal(p.version, "1.0");
    assert_false(p.blank);
    /* a blank form's page: no document id, never taken for a document */
    const char *blank = "BLANK/2/3/dpn-injection-consent@1.1";
    assert_int_equal(cf_scan_payload_parse(blank, strlen(blank), &p), CF_OK);
    assert_true(p.blank);
    assert_string_equal(p.document_id, "");
    assert_int_equal(p.page, 2);
    assert_int_equal(p.pages, 3);
    assert_string_equal(p.form_id, "dpn-injection-consent");
    assert_string_equal(p.version, "1.1");
    /* a NUL inside the text is not ours */
    assert_int_equal(cf_scan_payload_parse("FKAWQ7PT5Y944/1/3/a@1\0x", 23, &p), CF_ERR_DATA);
}

/* ---- grouping, on synthetic pages ---- */

#define ID_A "FKAWQ7PT5Y944"
#define ID_B "3TQ6QH1NWR1P4"

static cf_scan_page page_of(const char *id, unsigned page, unsigned pages, const char *form,
                            unsigned char digest)
{
    cf_scan_page p = {.source = "stack.pdf", .decoded = id != NULL};
    if (id != NULL) {
        char text[128];
        snprintf(text, sizeof text, "%s/%u/%u/%s", id, page, pages, form);
        assert_int_equal(cf_scan_payload_parse(text, strlen(text), &p.payload), CF_OK);
    }
    memset(p.digest, digest, sizeof p.digest);
    return p;
}

static void test_group(void **state)
{
    (void)state;
    cf_scan_page pages[] = {
        page_of(ID_A, 2, 3, "f@1", 1),
        page_of(ID_B, 1, 2, "f@1", 2),
        page_of(NULL, 0, 0, NULL, 3),
        page_of(ID_A, 1, 3, "f@1", 4),
        page_of(ID_A, 2, 3, "f@1", 1), /* the same scan again: harmless */
        page_of(ID_A, 3, 3, "f@1", 5),
        page_of(ID_B, 1, 2, "f@1", 6),    /* a different scan of B's page 1 */
        page_of(ID_B, 2, 3, "f@1", 7),    /* B's page 2 says 3 pages */
        page_of("BLANK", 2, 2, "f@1", 8), /* a blank form's page 2: no document's */
        page_of("BLANK", 2, 2, "f@1", 8), /* copied twice: still no document's */
    };
    size_t n = sizeof pages / sizeof pages[0];
    for (size_t i = 0; i < n; i++)
        pages[i].source_page = i + 1;
    cf_scan_report *r = NULL;
    assert_int_equal(cf_scan_group(pages, n, &r), CF_OK);
    assert_int_equal(r->n_docs, 2);
    assert_string_equal(r->docs[0].document_id, ID_A);
    assert_true(r->docs[0].complete);
    assert_int_equal(r->docs[0].page_index[0], 3);
    assert_int_equal(r->docs[0].page_index[1], 0);
    assert_int_equal(r->docs[0].page_index[2], 5);
    assert_false(r->docs[0].conflicting);
    assert_false(r->docs[1].complete);
    assert_true(r->docs[1].conflicting);
    static const struct {
        cf_scan_problem_kind kind;
        size_t page;
        unsigned page_no;
    } want[] = {
        {CF_SCAN_UNDECODABLE, 2, 0},  {CF_SCAN_DUPLICATE, 6, 1},
        {CF_SCAN_INCONSISTENT, 7, 2}, {CF_SCAN_BLANK_FORM, 8, 2},
        {CF_SCAN_BLANK_FORM, 9, 2},   {CF_SCAN_MISSING_PAGE, (size_t)-1, 2},
    };
    size_t n_want = sizeof want / sizeof want[0];
    assert_int_equal(r->n_problems, n_want);
    for (size_t i = 0; i < n_want; i++) {
        assert_int_equal(r->problems[i].kind, want[i].kind);
        assert_int_equal(r->problems[i].page, want[i].page);
        assert_int_equal(r->problems[i].page_no, want[i].page_no);
        if (want[i].kind == CF_SCAN_BLANK_FORM)
            assert_string_equal(r->problems[i].document_id, "");
    }
    assert_string_equal(cf_scan_problem_name(CF_SCAN_MISSING_PAGE), "missing-page");
    assert_string_equal(cf_scan_problem_name(CF_SCAN_BLANK_FORM), "blank-form");
    cf_scan_report_free(r);
    /* nothing in, nothing out */
    assert_int_equal(cf_scan_group(pages, 0, &r), CF_OK);
    assert_int_equal(r->n_docs, 0);
    assert_int_equal(r->n_problems, 0);
    cf_scan_report_free(r);
}

/* ---- signature areas from the display list ---- */

static void areas_of(const char *form_rel, const char *const *kv, size_t n_kv, size_t want_areas,
                     size_t want_patient)
{
    char path[1200];
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_form *form = NULL;
    const cf_fontset *fonts = NULL;
    cf_display_list *list = NULL;
    cf_record *record = cf_record_new(NULL, 0);
    assert_int_equal(cf_form_load(test_source_path(path, sizeof path, form_rel), NULL, &form, diag),
                     CF_OK);
    for (size_t i = 0; i < n_kv; i += 2)
        assert_int_equal(cf_record_set(record, kv[i], kv[i + 1]), CF_OK);
    assert_int_equal(cf_fontset_get(form->region, &fonts, diag), CF_OK);
    assert_int_equal(cf_record_check(form, record, fonts, false, diag), CF_OK);
    cf_layout_options options = {.document_id = "FKAWQ7PT5Y944", .created = -1};
    assert_int_equal(cf_layout(form, record, fonts, &options, &list, diag), CF_OK);
    cf_sign_area *areas = NULL;
    cf_sign_qr_place *qr = NULL;
    size_t n = 0;
    assert_int_equal(cf_scan_areas_get(form, list, &areas, &n, &qr), CF_OK);
    assert_int_equal(n, want_areas);
    size_t patient = 0;
    for (size_t i = 0; i < n; i++) {
        patient += areas[i].role == CF_ROLE_PATIENT;
        assert_true(areas[i].x1 < areas[i].x2 && areas[i].y1 < areas[i].y2);
        assert_true(areas[i].page < list->n_pages);
        /* Above the footer's QR, inside the page. */
        assert_true(areas[i].y1 > qr[areas[i].page].y + qr[areas[i].page].side);
        assert_true(areas[i].x2 < list->width);
    }
    assert_int_equal(patient, want_patient);
    for (size_t p = 0; p < list->n_pages; p++)
        assert_true(qr[p].side > 40 && qr[p].side < 45); /* 15 mm */
    cf_free(areas);
    cf_free(qr);

    /* A list that does not show the form's lines (another form's, or a cut one) is refused:
     * the areas are never guessed. */
    cf_display_list *empty = cf_display_list_new(list->width, list->height, NULL);
    assert_non_null(empty);
    assert_int_not_equal(cf_display_list_add_page(empty), (size_t)-1);
    assert_int_equal(cf_scan_areas_get(form, empty, &areas, &n, &qr), CF_ERR_DATA);
    assert_null(areas);
    cf_display_list_free(empty);
    cf_display_list_free(list);
    cf_record_free(record);
    cf_form_free(form);
    cf_diag_free(diag);
}

static void test_areas(void **state)
{
    (void)state;
    const char *const hk[] = {"patient_name",  "CHAN Tai Man", "hospital_no",
                              "HN12345678(9)", "episode_no",   "HE1234567"};
    /* the leaflet: the patient's signature and date */
    areas_of("forms/nerve-root-injection.xml", hk, 6, 2, 2);
    const char *const tw[] = {"patient_name",   "CHAN Tai Man", "hospital_no", "HN12345678(9)",
                              "birth_date",     "1950-03-04",   "doctor_name", "LEE Ka Wai",
                              "procedure_date", "2026-01-20"};
    /* the DPN consent 1.1: signature, date and time for the patient, the representative, the
     * interpreter, the doctor and the witness */
    areas_of("forms/dpn-injection-consent.xml", tw, 10, 15, 3);
    cf_fontset_release_all();
}

/* ---- a blank form's QR, read back from its print ---- */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    unsigned char *data = malloc((size_t)n);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* The one decoder of each kind serves the scan reader and the archive's check
 * (scan/image_check.h): the page as an RGB TIFF in tiles (libtiff's RGBA reader, a band at a
 * time, top row first) still shows its QR; PNG, JPEG and TIFF pass the check whole and fail it
 * cut short, with the archive's messages. */
static void check_image_kinds(const char *dir, const char *png, cf_diag *diag)
{
    char cmd[8192], tif[1200], jpg[1200];
    snprintf(tif, sizeof tif, "%s/page.tif", dir);
    snprintf(jpg, sizeof jpg, "%s/page.jpg", dir);
    snprintf(cmd, sizeof cmd,
             "convert '%s' -type TrueColor -compress lzw -define tiff:tile-geometry=256x256 '%s' "
             "&& convert '%s' -quality 80 '%s'",
             png, tif, png, jpg);
    assert_int_equal(system(cmd), 0);
    cf_scan_source *src = NULL;
    cf_scan_image image;
    cf_scan_qr qr;
    assert_int_equal(cf_scan_source_open(tif, &src, diag), CF_OK);
    assert_int_equal(cf_scan_source_read_page(src, 0, &image, diag), CF_OK);
    assert_int_equal(cf_scan_qr_find(&image, CF_SCAN_DECODER_DEFAULT, &qr), CF_OK);
    assert_true(qr.payload.blank);
    assert_int_equal(qr.payload.page, 1);
    /* upright: the QR sits in the bottom right corner */
    assert_true(qr.corners[0][1] > image.height / 2.0 && qr.corners[0][0] > image.width / 2.0);
    cf_scan_image_cleanup(&image);
    cf_scan_source_free(src);
    static const struct {
        const char *type;
        int file;     /* 0 png, 1 jpg, 2 tif */
        size_t keep;  /* bytes kept; 0 = all */
        size_t spoil; /* bytes 100.. overwritten with 0xff */
        bool ok;
        const char *why;
    } cases[] = {
        {"image/png", 0, 0, 0, true, ""},
        {"image/jpeg", 1, 0, 0, true, ""},
        {"image/tiff", 2, 0, 0, true, ""},
        {"image/png", 0, 100, 0, false, "its pixels cannot be decoded: "},
        {"image/png", 0, 4, 0, false, "it is not a PNG image: "},
        {"image/jpeg", 1, 2000, 0, false, "its pixels cannot all be decoded: "},
        {"image/jpeg", 1, 2, 0, false, "it is not a JPEG image that decodes: "},
        {"image/tiff", 2, 12, 0, false, "it is not a TIFF image: "},
        {"image/tiff", 2, 0, 4000, false, "its pixels cannot all be decoded: "},
        {"image/gif", 0, 0, 0, false, "it is not an image of a known kind"},
        {"image/png", 0, 0, 0, false, "its size (1241 x 1754 pixels) is not that of a scan"},
    };
    const char *paths[] = {png, jpg, tif};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        unsigned char *data = read_file(paths[cases[i].file], &len);
        char why[512] = "";
        if (cases[i].keep != 0 && cases[i].keep < len)
            len = cases[i].keep;
        if (cases[i].spoil != 0 && 100 + cases[i].spoil < len)
            memset(data + 100, 0xff, cases[i].spoil);
        /* the last case: a picture bigger than allowed */
        unsigned long long max = i + 1 == sizeof cases / sizeof cases[0] ? 1000000 : 64u << 20;
        bool ok = cf_scan_image_check(cases[i].type, data, len, max, why, sizeof why);
        if (ok != cases[i].ok || strncmp(why, cases[i].why, strlen(cases[i].why)) != 0)
            fail_msg("case %zu (%s, %zu bytes): %s \"%s\"", i, cases[i].type, len,
                     ok ? "accepted" : "refused", why);
        free(data);
    }
    /* A TIFF read as a scan in the same process leaves the archive's check as strict as before:
     * libtiff's error handlers are the program's one set (the scan reader used to put in its
     * own, after which the check no longer heard of damaged TIFF data). */
    snprintf(cmd, sizeof cmd, "convert '%s' -compress Fax '%s'", png, tif);
    assert_int_equal(system(cmd), 0);
    size_t len = 0;
    unsigned char *data = read_file(tif, &len);
    for (size_t i = 400; i < len && i < 4400; i += 97)
        data[i] ^= 0x5a;
    char why[512] = "";
    assert_false(cf_content_image_check("image/tiff", data, len, why, sizeof why));
    assert_int_equal(cf_scan_source_open(tif, &src, diag), CF_OK);
    assert_int_equal(cf_scan_source_read_page(src, 0, &image, diag), CF_OK);
    cf_scan_image_cleanup(&image);
    cf_scan_source_free(src);
    assert_false(cf_content_image_check("image/tiff", data, len, why, sizeof why));
    free(data);
    assert_int_equal(remove(tif), 0);
    assert_int_equal(remove(jpg), 0);
}

/* render --blank: the PDF rasterised at 150 dpi (pdftoppm, as a scanner would see the paper)
 * gives back on every page the blank payload, with either decoder, and no document id. */
static void test_blank_form_qr(void **state)
{
    (void)state;
    char path[1200], dir[1100], cmd[4096];
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_form *form = NULL;
    const cf_fontset *fonts = NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/cf-blank-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(
        cf_form_load(test_source_path(path, sizeof path, "forms/dpn-injection-consent.xml"), NULL,
                     &form, diag),
        CF_OK);
    assert_int_equal(cf_fontset_get(form->region, &fonts, diag), CF_OK);
    cf_document_options options = {.blank = true, .created = 0};
    cf_document doc;
    assert_int_equal(cf_document_render(form, NULL, fonts, &options, &doc, diag), CF_OK);
    assert_string_equal(doc.document_id, "");
    assert_true(doc.pages >= 2);
    snprintf(path, sizeof path, "%s/blank.pdf", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(doc.pdf, 1, doc.pdf_len, f), doc.pdf_len);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "pdftoppm -r 150 -gray -png '%s/blank.pdf' '%s/page'", dir, dir);
    assert_int_equal(system(cmd), 0);
    for (size_t page = 1; page <= doc.pages; page++) {
        for (int d = 0; d < CF_SCAN_DECODER_COUNT; d++) {
            cf_scan_source *src = NULL;
            cf_scan_image image;
            cf_scan_qr qr;
            /* pdftoppm numbers pages with as many digits as the last page needs */
            snprintf(path, sizeof path, "%s/page-%0*zu.png", dir, doc.pages >= 10 ? 2 : 1, page);
            assert_int_equal(cf_scan_source_open(path, &src, diag), CF_OK);
            assert_int_equal(cf_scan_source_read_page(src, 0, &image, diag), CF_OK);
            assert_true(image.width > 1200 && image.width < 1300); /* A4 at 150 dpi */
            assert_int_equal(cf_scan_qr_find(&image, (cf_scan_decoder)d, &qr), CF_OK);
            assert_true(qr.payload.blank);
            assert_string_equal(qr.payload.document_id, "");
            assert_int_equal(qr.payload.page, page);
            assert_int_equal(qr.payload.pages, doc.pages);
            assert_string_equal(qr.payload.form_id, form->id);
            assert_string_equal(qr.payload.version, form->version);
            cf_scan_image_cleanup(&image);
            cf_scan_source_free(src);
        }
        snprintf(path, sizeof path, "%s/page-%0*zu.png", dir, doc.pages >= 10 ? 2 : 1, page);
        if (page == 1)
            check_image_kinds(dir, path, diag);
        assert_int_equal(remove(path), 0);
    }
    snprintf(path, sizeof path, "%s/blank.pdf", dir);
    assert_int_equal(remove(path), 0);
    assert_int_equal(rmdir(dir), 0);
    cf_document_cleanup(&doc);
    cf_form_free(form);
    cf_fontset_release_all();
    cf_diag_free(diag);
}

/* ---- bad input ---- */

static void test_bad_files(void **state)
{
    (void)state;
    char path[1200];
    cf_diag *diag = cf_diag_new();
    cf_scan_source *src = NULL;
    assert_int_equal(cf_scan_source_open("/nonexistent/scan.pdf", &src, diag), CF_ERR_NOINPUT);
    assert_true(cf_diag_contains(diag, "/nonexistent/scan.pdf"));
    cf_diag_clear(diag);
    /* not a scan at all */
    assert_int_equal(
        cf_scan_source_open(test_source_path(path, sizeof path, "forms/nerve-root-injection.xml"),
                            &src, diag),
        CF_ERR_DATA);
    assert_true(cf_diag_contains(diag, "not a scan"));
    cf_diag_clear(diag);
    /* an issued PDF (an electronic copy, no scanned image): its pages are not scans */
    snprintf(path, sizeof path, "%s/doc-electronic.pdf", scans_dir);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' render nerve-root-injection --allow-draft -o '%s' --force --patient-name 'CHAN "
             "Tai Man' "
             "--hospital-no 'HN12345678(9)' --episode-no HE1234567 2>/dev/null",
             getenv("CF_BINARY"), path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cf_scan_source_open(path, &src, diag), CF_OK);
    assert_int_equal(cf_scan_source_get_pages(src), 2);
    cf_scan_image image;
    assert_int_equal(cf_scan_source_read_page(src, 1, &image, diag), CF_ERR_DATA);
    assert_null(image.pixels);
    assert_true(cf_diag_contains(diag, "page 2: no scanned image"));
    cf_scan_source_free(src);
    /* One page that is not a scan, in the middle of a stack, never stops the stack: the pages
     * after it read as before. */
    char stack[1200], mixed[1200];
    scan_path(stack, sizeof stack, "stack-200-jpeg.pdf");
    scan_path(mixed, sizeof mixed, "mixed.pdf");
    snprintf(cmd, sizeof cmd, "qpdf --empty --pages '%s' 1-2 '%s' 1 '%s' 3 -- '%s'", stack, path,
             stack, mixed);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cf_scan_source_open(mixed, &src, diag), CF_OK);
    assert_int_equal(cf_scan_source_get_pages(src), 4);
    for (size_t k = 0; k < 4; k++) {
        cf_scan_qr qr;
        cf_status st = cf_scan_source_read_page(src, k, &image, diag);
        if (k == 2) {
            assert_int_equal(st, CF_ERR_DATA);
            assert_true(cf_diag_contains(diag, "page 3: no scanned image"));
            continue;
        }
        assert_int_equal(st, CF_OK);
        assert_int_equal(cf_scan_qr_find(&image, CF_SCAN_DECODER_DEFAULT, &qr), CF_OK);
        assert_string_equal(qr.payload.document_id, the_truth.sheets[k == 3 ? 2 : k].id);
        cf_scan_image_cleanup(&image);
    }
    cf_scan_source_free(src);
    /* a truncated JPEG is a bad page, not a crash */
    char jpg[1200];
    scan_path(jpg, sizeof jpg, "stack-page.jpg");
    snprintf(path, sizeof path, "%s/truncated.jpg", scans_dir);
    snprintf(cmd, sizeof cmd, "head -c 2000 '%s' > '%s'", jpg, path);
    assert_int_equal(system(cmd), 0);
    cf_diag_clear(diag);
    if (cf_scan_source_open(path, &src, diag) == CF_OK) {
        cf_status st = cf_scan_source_read_page(src, 0, &image, diag);
        if (st == CF_OK) {
            /* libjpeg fills a short file with grey: no QR on it */
            cf_scan_qr qr;
            assert_int_equal(cf_scan_qr_find(&image, CF_SCAN_DECODER_DEFAULT, &qr), CF_ERR_DATA);
            cf_scan_image_cleanup(&image);
        }
        cf_scan_source_free(src);
    }
    cf_diag_free(diag);
}

/* No argument: the tests that need no test set (suite unit, also run under valgrind);
 * "set": the test-set tests (suite scan: minutes to make the set, then ~100 pages per stack). */
int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_payload),
        cmocka_unit_test(test_group),
        cmocka_unit_test(test_areas),
        cmocka_unit_test(test_blank_form_qr),
    };
    const struct CMUnitTest set[] = {
        cmocka_unit_test(test_stack_200_jpeg_pdf),
        cmocka_unit_test(test_stack_300_g4_tiff),
        cmocka_unit_test(test_stack_zbar),
        cmocka_unit_test(test_ccitt_pdf_matches_tiff),
        cmocka_unit_test(test_single_files_and_raw),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_pdf_write_keeps_image_data),
    };
    if (argc > 1 && strcmp(argv[1], "set") == 0)
        return cmocka_run_group_tests_name("scan test set", set, setup_scans, NULL);
    return cmocka_run_group_tests_name("scan", unit, NULL, NULL);
}
