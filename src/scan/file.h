/* Filing scans of signed forms into the archive by their QR codes (`archive file`): every page
 * of every scan is read, grouped by document and checked against the document's archive
 * record; a complete document is filed as one signed copy (a PDF of its pages in page order,
 * the scan's own image data) and checked for ink on its required signature lines; every other
 * page goes to the store's inbox with the reason. Nothing is printed: the caller gets rows. */
#ifndef CF_SCAN_FILE_H
#define CF_SCAN_FILE_H

#include "archive/archive.h"
#include "scan/scan.h"

/* A PDF of the given pages (pages[i] of sources[i], 0-based), one image per page, made from
 * the pages' own image data (JPEG, CCITT, Flate, JBIG2 as they are; anything else compressed
 * losslessly with zlib). Caller frees *out with cf_free. */
cf_status cf_scan_pdf_write(cf_scan_source *const *sources, const size_t *pages, size_t n,
                            unsigned char **out, size_t *len, cf_diag *diag);

typedef struct cf_scan_file_options {
    const char *document_id; /* --doc-id: every QR read must name this id; NULL: none */
    bool move;               /* remove a source file once everything from it is committed */
    const char *operator_name;
    cf_scan_decoder decoder;
    const char *const *names; /* [n] or NULL: what rows, the inbox and messages call paths[i]
                                 (an uploaded file's own name, not its temporary file) */
} cf_scan_file_options;

typedef enum cf_scan_outcome {
    CF_SCAN_OUTCOME_SIGNED,            /* a document filed, every required group signed */
    CF_SCAN_OUTCOME_SIGNATURE_MISSING, /* a document filed; reason names page and role */
    CF_SCAN_OUTCOME_INBOX,             /* a page put in the inbox; reason says why */
    CF_SCAN_OUTCOME_FAILED,            /* a file that could not be read; left where it is */
} cf_scan_outcome;

/* One line of the outcome: a filed document, or one page in the inbox. */
typedef struct cf_scan_file_row {
    cf_scan_outcome outcome;
    char document_id[CF_ARCHIVE_ID_MAX + 1]; /* "" when not known */
    char *source;                            /* owned; the scan file (inbox, failed) */
    unsigned page;                           /* 1-based page in source (inbox) */
    unsigned pages;                          /* pages filed (documents) */
    int version;                             /* signed copy version (documents) */
    bool already_filed;                      /* the same copy was filed before */
    char inbox_id[CF_ARCHIVE_INBOX_ID + 1];
    char *reason; /* owned; "" when none */
} cf_scan_file_row;

typedef struct cf_scan_file_result {
    cf_scan_file_row *rows;
    size_t count, cap;
    size_t pages_read;
    size_t moved; /* source files removed (--move) */
} cf_scan_file_result;

void cf_scan_file_result_cleanup(cf_scan_file_result *result);

/* Files the scans at paths (files; a folder means every file in it) into archive, adding a row
 * to *out (cleaned up by the caller, also after a failure) for every document filed and every
 * page put in the inbox. CF_OK when every page was filed; CF_ERR_DATA when anything went to the
 * inbox or a file could not be read (the rows say what; nothing is lost); CF_ERR_DATA with
 * nothing filed when options->document_id is given and a QR names another document; other
 * statuses when the store failed (what was committed before stays). */
cf_status cf_scan_file_paths(cf_archive *archive, const char *const *paths, size_t n,
                             const cf_scan_file_options *options, cf_scan_file_result *out,
                             cf_diag *diag);

/* Assigns inbox item (its id, or a longer start of its record's name) to page of document_id
 * by hand, checked like a QR: the id's check character, the document in the store, page within
 * its pages. When the document's pages are then all in the inbox, it is filed (a row in *out).
 * CF_ERR_NOINPUT for an unknown item, CF_ERR_DATA for a wrong id or page. */
cf_status cf_scan_inbox_assign(cf_archive *archive, const char *item, const char *document_id,
                               unsigned page, const char *operator_name, cf_scan_file_result *out,
                               cf_diag *diag);

#endif
