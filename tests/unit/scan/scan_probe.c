/* scan_probe: the scan library from the command line, for tests/scan/make_scans.sh and
 * bench/scan.sh.
 *   scan_probe areas FORM.xml [KEY=VALUE]...
 *       lays out FORM for the record as `consentform render` does (SOURCE_DATE_EPOCH) and
 *       prints "id DOCID PAGES", "qr PAGE X Y SIDE" and "area PAGE ROLE LINE X1 Y1 X2 Y2"
 *       (points, pages 1-based, role and line as numbers of cf_signer_role / cf_sign_line)
 *   scan_probe issue STORE OUT.pdf FORM.xml [KEY=VALUE]...
 *       issues FORM into the archive STORE through the one issue path, with the document id
 *       `consentform render` gives it without an archive (SOURCE_DATE_EPOCH), so that the test
 *       set's scans name documents of the store; prints "id DOCID PAGES"
 *   scan_probe decode [--jobs N] zbar|zxing FILE...
 *       reads every page of every FILE (N threads, each its own share of the pages), hashes
 *       it and finds its QR; prints "FILE PAGE DOCID/PAGE/PAGES" (BLANK for a blank form's id) or
 * "FILE PAGE -" (no QR of ours) in page order, then a summary line with the timings on stderr */
#include "base/alloc.h"
#include "base/diag.h"
#include "base/hash.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "archive/archive.h"
#include "render/document.h"
#include "render/issue.h"
#include "scan/scan.h"
#include "text/font.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int areas(int argc, char **argv)
{
    cf_diag *diag = cf_diag_new();
    cf_record *record = cf_record_new(NULL, 0);
    cf_form *form = NULL;
    const cf_fontset *fonts = NULL;
    cf_display_list *list = NULL;
    cf_sign_area *found = NULL;
    cf_sign_qr_place *qr = NULL;
    size_t n = 0;
    char id[CF_DOCUMENT_ID_SIZE];
    cf_status st = diag != NULL && record != NULL ? CF_OK : CF_ERR_NOMEM;
    if (st == CF_OK) {
        cf_diag_set_echo(diag, stderr);
        st = cf_form_load(argv[0], NULL, &form, diag);
    }
    for (int i = 1; i < argc && st == CF_OK; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "scan_probe: %s: not KEY=VALUE\n", argv[i]);
            st = CF_ERR_USAGE;
            break;
        }
        *eq = '\0';
        st = cf_record_set(record, argv[i], eq + 1);
    }
    if (st == CF_OK)
        st = cf_fontset_get(form->region, &fonts, diag);
    if (st == CF_OK)
        st = cf_record_check(form, record, fonts, false, diag);
    if (st == CF_OK) {
        cf_document_options options = {.created = cf_document_time(), .sequence = 0};
        st = cf_document_layout(form, record, fonts, &options, id, &list, diag);
    }
    if (st == CF_OK)
        st = cf_scan_areas_get(form, list, &found, &n, &qr);
    if (st == CF_OK) {
        printf("id %s %zu\n", id, list->n_pages);
        for (size_t p = 0; p < list->n_pages; p++)
            printf("qr %zu %.2f %.2f %.2f\n", p + 1, qr[p].x, qr[p].y, qr[p].side);
        for (size_t i = 0; i < n; i++)
            printf("area %zu %d %d %.2f %.2f %.2f %.2f\n", found[i].page + 1, (int)found[i].role,
                   (int)found[i].line, found[i].x1, found[i].y1, found[i].x2, found[i].y2);
    } else {
        fprintf(stderr, "scan_probe: areas: %s\n", cf_status_message(st));
    }
    cf_free(found);
    cf_free(qr);
    cf_display_list_free(list);
    cf_form_free(form);
    cf_record_free(record);
    cf_diag_free(diag);
    cf_fontset_release_all();
    return st == CF_OK ? 0 : 1;
}

static double clock_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_of(CLOCK_MONOTONIC);
}

/* CPU time of the calling thread: figures that hold on a machine other work keeps busy. */
static double cpu_now(void)
{
    return clock_of(CLOCK_THREAD_CPUTIME_ID);
}

/* One thread's share of a file: pages first, first + step, ... each with its own source. */
typedef struct decode_job {
    const char *path;
    cf_scan_decoder decoder;
    size_t first, step, pages;
    char (*results)[64]; /* per page: "DOCID/PAGE/PAGES" or "-" */
    double t_read, t_qr;
    int rc;
} decode_job;

static void *decode_pages(void *arg)
{
    decode_job *job = arg;
    cf_diag *diag = cf_diag_new();
    cf_scan_source *src = NULL;
    if (diag == NULL || cf_scan_source_open(job->path, &src, diag) != CF_OK) {
        job->rc = 1;
        cf_diag_free(diag);
        return NULL;
    }
    for (size_t p = job->first; p < job->pages; p += job->step) {
        cf_scan_image image = {0};
        cf_scan_qr qr;
        unsigned char digest[CF_SHA256_SIZE];
        double t0 = cpu_now();
        cf_status st = cf_scan_source_read_page(src, p, &image, diag);
        double t1 = cpu_now();
        if (st == CF_OK) {
            /* what the filing command does with each page: its digest and its QR */
            cf_sha256 h;
            cf_sha256_init(&h);
            cf_sha256_update(&h, image.pixels, (size_t)image.width * image.height);
            cf_sha256_final(&h, digest);
            st = cf_scan_qr_find(&image, job->decoder, &qr);
        }
        job->t_read += t1 - t0;
        job->t_qr += cpu_now() - t1;
        if (st == CF_OK)
            snprintf(job->results[p], sizeof job->results[p], "%s/%u/%u",
                     qr.payload.blank ? CF_SCAN_BLANK_ID : qr.payload.document_id, qr.payload.page,
                     qr.payload.pages);
        else
            snprintf(job->results[p], sizeof job->results[p], "-");
        cf_scan_image_cleanup(&image);
    }
    cf_scan_source_free(src);
    cf_diag_free(diag);
    return NULL;
}

static int decode(int argc, char **argv)
{
    size_t jobs = 1;
    if (argc >= 2 && strcmp(argv[0], "--jobs") == 0) {
        jobs = (size_t)atoi(argv[1]);
        argc -= 2;
        argv += 2;
        if (jobs < 1 || jobs > 64 || argc < 1) {
            fprintf(stderr, "scan_probe: --jobs takes 1 to 64\n");
            return 2;
        }
    }
    cf_scan_decoder decoder;
    if (strcmp(argv[0], "zbar") == 0)
        decoder = CF_SCAN_DECODER_ZBAR;
    else if (strcmp(argv[0], "zxing") == 0)
        decoder = CF_SCAN_DECODER_ZXING;
    else {
        fprintf(stderr, "scan_probe: unknown decoder %s\n", argv[0]);
        return 2;
    }
    size_t pages = 0, found = 0;
    double t_read = 0, t_qr = 0, start = now();
    int rc = 0;
    for (int f = 1; f < argc; f++) {
        cf_diag *diag = cf_diag_new();
        cf_scan_source *src = NULL;
        if (diag == NULL)
            return 1;
        cf_diag_set_echo(diag, stderr);
        cf_status st = cf_scan_source_open(argv[f], &src, diag);
        size_t n = st == CF_OK ? cf_scan_source_get_pages(src) : 0;
        cf_scan_source_free(src);
        cf_diag_free(diag);
        if (st != CF_OK) {
            rc = 1;
            continue;
        }
        char(*results)[64] = calloc(n > 0 ? n : 1, sizeof *results);
        decode_job *job = calloc(jobs, sizeof *job);
        pthread_t *threads = calloc(jobs, sizeof *threads);
        if (results == NULL || job == NULL || threads == NULL)
            return 1;
        for (size_t t = 0; t < jobs; t++) {
            job[t] = (decode_job){argv[f], decoder, t, jobs, n, results, 0, 0, 0};
            if (pthread_create(&threads[t], NULL, decode_pages, &job[t]) != 0)
                return 1;
        }
        for (size_t t = 0; t < jobs; t++) {
            pthread_join(threads[t], NULL);
            t_read += job[t].t_read;
            t_qr += job[t].t_qr;
            rc |= job[t].rc;
        }
        for (size_t p = 0; p < n; p++) {
            printf("%s %zu %s\n", argv[f], p + 1, results[p]);
            found += strcmp(results[p], "-") != 0;
        }
        pages += n;
        free(results);
        free(job);
        free(threads);
    }
    double total = now() - start;
    fprintf(stderr,
            "scan_probe: %s: %zu of %zu pages decoded; %.2f s, %.1f pages/s; per page %.1f ms "
            "reading, %.1f ms QR (CPU time)\n",
            argv[0], found, pages, total, total > 0 ? (double)pages / total : 0,
            pages > 0 ? t_read * 1000 / (double)pages : 0,
            pages > 0 ? t_qr * 1000 / (double)pages : 0);
    return rc;
}

static int issue(int argc, char **argv)
{
    cf_diag *diag = cf_diag_new();
    cf_record *record = cf_record_new(NULL, 0);
    cf_form *form = NULL;
    const cf_fontset *fonts = NULL;
    cf_display_list *list = NULL;
    cf_archive *archive = NULL;
    char id[CF_DOCUMENT_ID_SIZE];
    cf_status st = diag != NULL && record != NULL ? CF_OK : CF_ERR_NOMEM;
    if (st == CF_OK) {
        cf_diag_set_echo(diag, stderr);
        st = cf_form_load(argv[2], NULL, &form, diag);
    }
    for (int i = 3; i < argc && st == CF_OK; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "scan_probe: %s: not KEY=VALUE\n", argv[i]);
            st = CF_ERR_USAGE;
            break;
        }
        *eq = '\0';
        st = cf_record_set(record, argv[i], eq + 1);
    }
    if (st == CF_OK)
        st = cf_fontset_get(form->region, &fonts, diag);
    if (st == CF_OK)
        st = cf_record_check(form, record, fonts, false, diag);
    cf_document_options options = {.created = cf_document_time(), .sequence = 0};
    if (st == CF_OK)
        st = cf_document_layout(form, record, fonts, &options, id, &list, diag);
    if (st == CF_OK)
        st = cf_archive_open(argv[0], false, &archive, diag);
    cf_issue_result result;
    if (st == CF_OK) {
        cf_issue_options o = {.document = options,
                              .archive = archive,
                              .operator_name = "make_scans",
                              .path = argv[1],
                              .force = true,
                              .allow = CF_FORM_ALLOW_DRAFT};
        o.document.document_id = id;
        st = cf_issue_document(form, record, fonts, &o, &result, diag);
    }
    if (st == CF_OK)
        printf("id %s %zu\n", result.document_id, result.pages);
    else
        fprintf(stderr, "scan_probe: issue: %s\n", cf_status_message(st));
    cf_archive_close(archive);
    cf_display_list_free(list);
    cf_form_free(form);
    cf_record_free(record);
    cf_diag_free(diag);
    cf_fontset_release_all();
    return st == CF_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "issue") == 0)
        return issue(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "areas") == 0)
        return areas(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "decode") == 0)
        return decode(argc - 2, argv + 2);
    fprintf(stderr, "usage: scan_probe areas FORM.xml [KEY=VALUE]...\n"
                    "       scan_probe decode [--jobs N] zbar|zxing FILE...\n");
    return 2;
}
