/* The archive of issued and signed copies: STORE/index.sqlite (SQLite, WAL, synchronous=FULL,
 * schema versioned in PRAGMA user_version and migrated on open) and STORE/objects/ab/cdef...,
 * files named by their SHA-256 and made read-only. Nothing is ever overwritten or deleted: a
 * document's history is an append-only list of events.
 *
 * Crash safety: an object is written (temporary file, fsync, link into place, directory fsync)
 * before the index row that names it is committed, so a crash leaves at most an object nobody
 * refers to, which `verify` reports as a note. Privacy: the store folder and its files are
 * owner-only; file names inside the store never contain patient values.
 *
 * One cf_archive may be shared by the threads of a batch: calls are serialised by a mutex. */
#ifndef CF_ARCHIVE_H
#define CF_ARCHIVE_H

#include "base/diag.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CF_ARCHIVE_SCAN_MAX ((size_t)50 * 1024 * 1024)

typedef struct cf_archive cf_archive;

/* A label field of a document (key as in the form, e.g. "hospital_no"). */
typedef struct cf_archive_label {
    const char *key;
    const char *value;
} cf_archive_label;

/* Creates an empty store in dir (created 0700 when missing; an existing folder must be empty).
 * CF_ERR_EXISTS when dir already holds a store. */
cf_status cf_archive_init(const char *dir, cf_diag *diag);

/* Opens the store in dir, migrating an older schema. CF_ERR_NOINPUT when dir is not a store,
 * CF_ERR_DATA when it was made by a newer version. read_only opens it without writing. */
cf_status cf_archive_open(const char *dir, bool read_only, cf_archive **out, cf_diag *diag);
void cf_archive_close(cf_archive *archive);

/* Registers an issued document: stores the PDF exactly as printed and records the document and
 * an "issued" event. Registering the same id twice with the same PDF is a no-op (a re-run);
 * with a different PDF it is CF_ERR_EXISTS. */
cf_status cf_archive_register_issued(cf_archive *archive, const char *document_id,
                                     const char *form_id, const char *form_version,
                                     const cf_archive_label *labels, size_t n_labels,
                                     const unsigned char *pdf, size_t len, long long issued_at,
                                     const char *operator_name, cf_diag *diag);

/* Files a signed copy (PDF, PNG, JPEG or TIFF, recognised by its first bytes, at most
 * CF_ARCHIVE_SCAN_MAX bytes) for document_id. A second scan is a new version; *version gets
 * its number (1 for the first). An unknown id is CF_ERR_DATA unless labels are given
 * (unregistered: the document is recorded from them, with form_id). */
cf_status cf_archive_add_scan(cf_archive *archive, const char *document_id,
                              const unsigned char *data, size_t len, long long at,
                              const char *operator_name, const char *form_id,
                              const cf_archive_label *labels, size_t n_labels, int *version,
                              cf_diag *diag);

/* Records that document_id is void, with the reason. */
cf_status cf_archive_void(cf_archive *archive, const char *document_id, const char *reason,
                          long long at, const char *operator_name, cf_diag *diag);

/* Media type of a scan from its first bytes ("application/pdf", "image/png", "image/jpeg",
 * "image/tiff"), or NULL when it is none of them. */
const char *cf_archive_sniff(const unsigned char *data, size_t len);

typedef struct cf_archive_filter {
    const char *hospital_no; /* NULL: any */
    const char *form_id;     /* NULL: any */
    bool unsigned_only;      /* issued, not void, and no signed copy yet */
} cf_archive_filter;

/* One line per matching document (id, form@version, issued at, status, hospital no, name);
 * *count gets the number of lines. */
cf_status cf_archive_list(cf_archive *archive, const cf_archive_filter *filter, FILE *out,
                          size_t *count, cf_diag *diag);
/* A document's record and its history. CF_ERR_NOINPUT for an unknown id. */
cf_status cf_archive_show(cf_archive *archive, const char *document_id, FILE *out,
                          cf_diag *diag);
/* Writes the issued PDF, every signed copy and record.json into dir (created when missing;
 * existing files are not overwritten unless force). */
cf_status cf_archive_export(cf_archive *archive, const char *document_id, const char *dir,
                            bool force, cf_diag *diag);
/* Re-hashes every object and checks the index against the objects; each problem is printed
 * to out naming the object. *problems gets their number (0 = the store is sound). With
 * record, a "verified" event is appended for every document whose files all check out. */
cf_status cf_archive_verify(cf_archive *archive, FILE *out, bool record, long long at,
                            const char *operator_name, size_t *problems, cf_diag *diag);

#endif
