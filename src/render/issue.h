/* Issuing a document: the one path by which a labelled form reaches paper, shared by `render`
 * and `batch`. Layout and PDF (cf_document_render), then, with an archive, the archive record
 * committed BEFORE the PDF reaches its final name or a descriptor (standard output piped to a
 * printer), then the delivery: an atomic write (temporary file, fsync, link or rename) or a
 * write to the descriptor. A delivery that fails after the record was committed is recorded in
 * the archive as a void with the reason "not delivered: ...", so the archive never claims a
 * document was handed out when it was not. With an archive, the document id always keeps its
 * random part (two issues never share an id, whatever SOURCE_DATE_EPOCH says). Before any of
 * it, the form's status is checked (retired, not yet effective, expired, draft) and, with an
 * archive, its text: the form's fingerprint (cf_form_fingerprint) must be the one the store's
 * registry holds for its id@version, if any. The fingerprint goes into the PDF's Keywords and
 * the archive record. */
#ifndef CF_ISSUE_H
#define CF_ISSUE_H

#include "archive/archive.h"
#include "base/diag.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/status.h"
#include "data/record.h"
#include "form/form.h"
#include "render/document.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cf_issue_result cf_issue_result;

/* Takes over a PDF written in full to its temporary file (not yet synced) once the archive
 * holds its record, so that rendering need not wait for the disk: it must commit file
 * (cf_atomic_file_commit_in_run; e.g. on a writer thread: the record stays committed before
 * the PDF has its final name) and, when that fails and result->archived, call
 * cf_issue_undelivered. result is complete; it and file outlive the call only as copies. */
typedef void (*cf_issue_deliver_fn)(void *ctx, cf_atomic_file *file, const cf_issue_result *result);

typedef struct cf_issue_options {
    cf_document_options document; /* paper, created, sequence, render options, ... */
    cf_archive *archive;          /* NULL: not archived */
    const char *operator_name;    /* for the archive */
    const char *ward;             /* the ward issued for, checked with cf_ward_clean (NULL:
                                     none); a record's own ward (cf_record_ward) wins */
    const char *path;             /* final file; NULL: write to fd */
    int fd;                       /* with path NULL: e.g. STDOUT_FILENO; not closed */
    bool force;                   /* replace an existing regular file at path */
    bool in_run;                  /* one of many files of a folder: the caller fsyncs it */
    bool no_delivery;             /* lay out and render only (batch --check): nothing written,
                                     nothing archived */
    unsigned allow;               /* CF_FORM_ALLOW_*: overrides the issuer gave (--allow-draft,
                                     --allow-expired) */
    const char *today;            /* YYYY-MM-DD the form's status is judged on (one day for a
                                     whole batch); NULL: cf_form_today() */
    const char *form_sha256;      /* the form's fingerprint, computed once by an issuer of many
                                     documents; NULL: computed for each call */
    cf_issue_deliver_fn deliver;  /* with path and in_run: commits the file; NULL: done here */
    void *deliver_ctx;
} cf_issue_options;

struct cf_issue_result {
    char document_id[CF_DOCUMENT_ID_SIZE];
    char sha256[CF_SHA256_HEX_SIZE];      /* of the PDF delivered */
    char form_sha256[CF_SHA256_HEX_SIZE]; /* the form's fingerprint */
    size_t pages;
    size_t bytes;
    bool archived;      /* the archive holds the record */
    bool voided;        /* ... marked "not delivered" after a failed delivery */
    unsigned overrides; /* CF_FORM_ALLOW_* the issue depended on, recorded with the document */
};

/* The form gate of the issue path: its status (cf_form_check_issuable on options->today, or
 * today), then, with options->archive (and not a blank document), its text: a form id@version
 * the store's registry holds with another fingerprint is refused ("FORM: the text of ID
 * VERSION changed: raise its version", both fingerprints named, then in full in a note).
 * Called by cf_issue_document before anything is drawn, and by issuers of many documents
 * (batch, its combined job) once before the first. *overrides (may be NULL) receives the
 * overrides the issue depends on. Refusals are reported to diag (CF_ERR_DATA). */
cf_status cf_issue_check_form(const cf_form *form, const cf_issue_options *options,
                              unsigned *overrides, cf_diag *diag);

/* Issues form for record (already checked with cf_record_check; NULL only with a blank
 * document), once cf_issue_check_form allows it; an override it depends on is recorded in the
 * archive record as the label "_override" ("draft", "expired" or "draft,expired"). On failure
 * nothing exists at path that did not before, and *result says whether an archive record was made
 * (then voided). Messages go to diag. */
cf_status cf_issue_document(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                            const cf_issue_options *options, cf_issue_result *result,
                            cf_diag *diag);

/* After a delivery handed to options->deliver failed: marks document_id in options->archive
 * (with options->operator_name) as not delivered because of why, and sets result->voided; says
 * so on diag (naming options->path) when it cannot. */
void cf_issue_undelivered(const cf_issue_options *options, const char *document_id, const char *why,
                          cf_issue_result *result, cf_diag *diag);

#endif
