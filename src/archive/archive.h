/* The archive of issued and signed copies: STORE/index.sqlite (SQLite, WAL, synchronous=FULL,
 * foreign keys on, schema versioned in PRAGMA user_version and migrated on open) and
 * STORE/objects/ab/cdef..., files named by their SHA-256 and made read-only. Nothing is ever
 * overwritten or deleted: a document's history is an append-only list of events (issued,
 * signed-copy-added, verified, voided with a reason, downloaded, sent-to-printer ...), each with
 * its time and operator.
 *
 * Tamper evidence: every document row and every event is also written as an immutable JSON
 * record object (content-addressed like the PDFs), and each event record names the record of
 * the event before it, so the events form a hash chain. `verify` compares every row with its
 * record and checks the chain; UPDATE and DELETE are refused by triggers. The objects alone are
 * enough to recover every document and event (cf_archive_rebuild_index). A missing, empty or
 * foreign index (the store id in the index must match STORE/store-id) is never made afresh:
 * only init on an empty folder creates an index.
 *
 * Time: every event is dated by the real clock, whatever SOURCE_DATE_EPOCH says (that fixes
 * the PDF bytes only); the `at`/`issued_at` arguments below are not used for that.
 *
 * Crash safety: an object is written (temporary file, fsync, link into place, folder fsync)
 * before the index row that names it is committed, so a crash leaves at most an object nobody
 * refers to, which `verify` reports as a note. Privacy: the store folder is 0700, the index
 * 0600, objects 0400; file names inside the store are hashes, never patient values, and no
 * message of this module quotes a patient value (label fields are named by their key).
 *
 * Threads: one cf_archive may be shared by the threads of a batch. It holds one SQLite
 * connection, used under a mutex; object files are written outside it, so the threads' fsyncs
 * overlap and only the short index transactions queue. Several processes may use one store at
 * once (SQLite's locking; a writer waits up to 10 s for another).
 *
 * Strings passed in are borrowed for the call; nothing returned needs freeing except the
 * cf_archive itself (cf_archive_close). */
#ifndef CF_ARCHIVE_H
#define CF_ARCHIVE_H

#include "base/diag.h"
#include "base/hash.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CF_ARCHIVE_SCAN_MAX ((size_t)50 * 1024 * 1024) /* bytes of one signed copy */
#define CF_ARCHIVE_ID_MAX 32 /* characters of a document id: 0-9, A-Z and '-' */

typedef struct cf_archive cf_archive;

/* A label field of a document (key as in the form, e.g. "hospital_no"). */
typedef struct cf_archive_label {
    const char *key;
    const char *value;
} cf_archive_label;

/* Creates an empty store in dir (created 0700 when missing; an existing folder must be empty).
 * CF_ERR_EXISTS when dir already holds a store (an init that was cut off is completed by the
 * next open, which migrates the empty index). */
cf_status cf_archive_init(const char *dir, cf_diag *diag);
/* cf_archive_init for a store shared by the group gid (-1: none, as cf_archive_init): folders
 * setgid 2770 in that group, the index (and its -wal/-shm) 0660, objects 0440, whatever the
 * umask. Later writes keep those modes (they follow the objects folder's setgid bit). */
cf_status cf_archive_init_group(const char *dir, long gid, cf_diag *diag);

/* Opens the store in dir, migrating an older schema; caller closes with cf_archive_close.
 * CF_ERR_NOINPUT when dir is not a store, CF_ERR_DATA when it was made by a newer version, has
 * lost its objects folder, or its index is missing, empty (0 bytes, schema 0), damaged or from
 * another store (the message says how to restore it from a backup or rebuild it). Without read_only
 * the store must be writable by this user (CF_ERR_CANTCREAT, naming what is not, before anything is
 * done). With read_only nothing is written, and a store on read-only media or in a folder this user
 * cannot write can be read. */
cf_status cf_archive_open(const char *dir, bool read_only, cf_archive **out, cf_diag *diag);
void cf_archive_close(cf_archive *archive);

/* Registers an issued document: stores the PDF exactly as printed and records the document
 * (form id and version, the form's fingerprint, the label fields as JSON, the time of issue from
 * the real clock, the PDF's hash) and an "issued" event by operator_name. form_sha256 (64
 * lower-case hex digits; NULL or "": not known) is the form's fingerprint: the first document
 * of a form id@version registers it, and a new document whose form id@version is registered
 * with another fingerprint is CF_ERR_DATA ("the text of ID VERSION changed: raise its
 * version"), nothing written. Registering the same id again with the
 * same PDF is a second issue (printed again): another "issued" event is recorded, and a damaged
 * stored copy is repaired. With a different PDF it is CF_ERR_EXISTS and nothing is written.
 * CF_ERR_DATA for an id that is not [0-9A-Z-]{1,32}, labels that are not plain UTF-8 text
 * (at most 64 of them, values at most 1024 bytes), or bytes that are not a PDF. */
cf_status cf_archive_register_issued(cf_archive *archive, const char *document_id,
                                     const char *form_id, const char *form_version,
                                     const char *form_sha256, const cf_archive_label *labels,
                                     size_t n_labels, const unsigned char *pdf, size_t len,
                                     long long issued_at, const char *operator_name, cf_diag *diag);

/* The registry of form texts: the fingerprint (cf_form_fingerprint) form_id@version was first
 * issued with into hex, and that document's id into first_document; both "" when the store has
 * not issued the form id@version with a fingerprint yet. */
cf_status cf_archive_form_fingerprint(cf_archive *archive, const char *form_id,
                                      const char *form_version, char hex[CF_SHA256_HEX_SIZE],
                                      char first_document[CF_ARCHIVE_ID_MAX + 1], cf_diag *diag);

/* Where a scan of an issued document is checked for signatures: per page, the QR square and
 * the space above the signature and date (and time) lines of the form's required signature
 * blocks, in PDF points (origin bottom-left), from the document's display list at issue time.
 * Kept in the document's record object ("scan_layout"), so rebuild-index restores it. */
#define CF_ARCHIVE_GROUP_MAX 32 /* bytes of a group name, with its NUL */
typedef struct cf_archive_sign_line {
    unsigned page;                    /* 1-based */
    char role[16];                    /* the block's role: "patient", "guardian", "doctor", ... */
    char group[CF_ARCHIVE_GROUP_MAX]; /* the block's required="GROUP" */
    char line[12];                    /* "signature", "date" or "time" */
    unsigned block;                   /* the signature block (form order): alternatives differ */
    double x1, y1, x2, y2;            /* x1 < x2, y1 < y2 */
} cf_archive_sign_line;

typedef struct cf_archive_page_qr {
    double x, y, side; /* bottom-left corner and side; side 0: the page has no QR */
} cf_archive_page_qr;

typedef struct cf_archive_scan_layout {
    unsigned pages;
    cf_archive_page_qr *qr;      /* [pages]; owned */
    cf_archive_sign_line *lines; /* owned */
    size_t n_lines;
    char (*groups)[CF_ARCHIVE_GROUP_MAX]; /* the form's required groups, sorted; owned */
    size_t n_groups;
} cf_archive_scan_layout;

void cf_archive_scan_layout_cleanup(cf_archive_scan_layout *layout);

/* cf_archive_register_issued that also keeps layout (may be NULL: none) and the ward it is
 * issued for (data/ward.h; NULL or "": none) in the document's record and index row. The ward
 * must be as cf_ward_clean leaves it (trimmed, at most 32 characters, no control characters),
 * else CF_ERR_DATA. A second issue of the same id keeps the first record (the same PDF, the
 * same lines, the same ward). */
cf_status cf_archive_register_issued_layout(cf_archive *archive, const char *document_id,
                                            const char *form_id, const char *form_version,
                                            const char *form_sha256, const cf_archive_label *labels,
                                            size_t n_labels, const unsigned char *pdf, size_t len,
                                            const cf_archive_scan_layout *layout, const char *ward,
                                            long long issued_at, const char *operator_name,
                                            cf_diag *diag);

/* What the filing of a scan needs to know of a document. */
typedef struct cf_archive_issued {
    char form_id[128], form_version[64];
    bool registered; /* issued from this store */
    bool voided;
    int signed_copies;
    bool signature_missing;        /* the last signed copy lacks a required signature */
    cf_archive_scan_layout layout; /* pages 0 when the record keeps none */
} cf_archive_issued;

/* The document id as the index and its record object hold it, into *out (caller cleans up with
 * cf_archive_issued_cleanup, also after a failure). CF_ERR_NOINPUT for an unknown id. */
cf_status cf_archive_issued_get(cf_archive *archive, const char *document_id,
                                cf_archive_issued *out, cf_diag *diag);
void cf_archive_issued_cleanup(cf_archive_issued *issued);

/* Files a signed copy (at most CF_ARCHIVE_SCAN_MAX bytes, else CF_ERR_LIMIT) for document_id.
 * It must be what it claims: a PDF that libqpdf opens with its pages, or a PNG, JPEG or TIFF
 * whose every pixel decodes (CF_ERR_DATA otherwise). The issued PDF itself, or a PDF with the
 * same page content, is refused ("this is the unsigned copy that was printed"). A second scan
 * is a new version; *version gets its number (1 for the first). The very same bytes filed
 * again change no record: *version gets the earlier version and *already_filed (may be NULL)
 * true, and if the stored copy was damaged it is repaired from these bytes (a note says so).
 * An unknown id is CF_ERR_DATA unless labels is non-NULL (unregistered: the document is
 * recorded from the labels and form_id, marked as not issued here); every label value must
 * then have a visible character. For a known id, labels given must equal the stored values
 * and form_id the stored form (CF_ERR_DATA naming the fields that differ). */
cf_status cf_archive_add_scan(cf_archive *archive, const char *document_id,
                              const unsigned char *data, size_t len, long long at,
                              const char *operator_name, const char *form_id,
                              const cf_archive_label *labels, size_t n_labels, int *version,
                              bool *already_filed, cf_diag *diag);

/* ---- the inbox: scanned pages that could not be filed ----
 * An item is a page object (a one-page PDF of the scan's own image data) and a record object
 * (source file, page, reason, the QR text if one was read), with a row in the index; verify
 * checks them and rebuild-index restores them. Items are never removed: an item is assigned
 * by hand (event "inbox-assigned" on the document) and leaves the list when its document is
 * filed (event "inbox-filed"); both events name the item's record in their reason
 * ("inbox HEX page N"). */
#define CF_ARCHIVE_INBOX_ID 12 /* hex digits of an item id: the start of its record's name */

typedef struct cf_archive_inbox_item {
    char id[CF_ARCHIVE_INBOX_ID + 1];
    char record[65];    /* its record object */
    char file_hash[65]; /* its page object */
    char *source;       /* the scan file it came from */
    unsigned page;      /* 1-based page in that file */
    char *reason;
    char *payload; /* the QR text read; "" when none */
    long long at;
    char assigned_id[CF_ARCHIVE_ID_MAX + 1]; /* assigned by hand: document and page; "" / 0 */
    unsigned assigned_page;
} cf_archive_inbox_item;

typedef struct cf_archive_inbox {
    cf_archive_inbox_item *items;
    size_t count;
    size_t cap; /* private */
} cf_archive_inbox;

/* Adds a page to the inbox (page_pdf: the page as a one-page PDF) unless an open item holds
 * the same page bytes already (then nothing is written); *id gets the item's id. */
cf_status cf_archive_inbox_add(cf_archive *archive, const unsigned char *page_pdf, size_t len,
                               const char *source, unsigned page, const char *reason,
                               const char *payload, const char *operator_name,
                               char id[CF_ARCHIVE_INBOX_ID + 1], cf_diag *diag);
/* The open items (not filed), oldest first, into *out (caller frees with
 * cf_archive_inbox_cleanup, also after a failure). */
cf_status cf_archive_inbox_list(cf_archive *archive, cf_archive_inbox *out, cf_diag *diag);
void cf_archive_inbox_cleanup(cf_archive_inbox *inbox);
/* Records that the item whose record is item_record was assigned by hand to page of
 * document_id (filed false) or filed in its signed copy (filed true). */
cf_status cf_archive_inbox_mark(cf_archive *archive, const char *item_record,
                                const char *document_id, unsigned page, bool filed,
                                const char *operator_name, cf_diag *diag);
/* Records that the signed copy just filed for document_id lacks a required signature (reason
 * says which page and role); `archive list --unsigned` shows it until a later copy is filed. */
cf_status cf_archive_signature_missing(cf_archive *archive, const char *document_id,
                                       const char *reason, const char *operator_name,
                                       cf_diag *diag);
/* The path of the object hex in the store (for reading a page object back). */
void cf_archive_object_path(const cf_archive *archive, const char *hex, char *out, size_t size);

/* Records that the documents ids[0..n) were sent to print queue as job (one job for them all:
 * a list's combined print) by operator_name: a "sent-to-printer" event on each, whose reason
 * is "print queue QUEUE job N", all in one transaction (none recorded when one id is unknown:
 * CF_ERR_NOINPUT). Sent is not printed: the event says the queue took the job. */
cf_status cf_archive_sent_to_printer(cf_archive *archive, const char *const *ids, size_t n,
                                     const char *queue, int job, const char *operator_name,
                                     cf_diag *diag);

/* Records that document_id is void, with the reason (an event; nothing is removed).
 * CF_ERR_NOINPUT for an unknown id. */
cf_status cf_archive_void(cf_archive *archive, const char *document_id, const char *reason,
                          long long at, const char *operator_name, cf_diag *diag);

/* Media type of a scan from its first bytes ("application/pdf", "image/png", "image/jpeg",
 * "image/tiff"; static strings), or NULL when it is none of them. Any bytes are safe (fuzzed). */
const char *cf_archive_sniff(const unsigned char *data, size_t len);

/* What a document's history says of it now. */
typedef enum cf_archive_state {
    CF_ARCHIVE_STATE_ANY = 0,           /* a filter that takes every state */
    CF_ARCHIVE_STATE_ISSUED,            /* issued here, not void (signed or not) */
    CF_ARCHIVE_STATE_SIGNED,            /* not void, at least one signed copy filed */
    CF_ARCHIVE_STATE_SIGNATURE_MISSING, /* issued here, not void, no signed copy yet, or the
                                           last one filed lacks a required signature */
    CF_ARCHIVE_STATE_VOID,              /* voided */
} cf_archive_state;

typedef struct cf_archive_filter {
    const char *hospital_no;  /* NULL: any */
    const char *form_id;      /* NULL: any */
    bool unsigned_only;       /* issued, not void, and no signed copy yet (= SIGNATURE_MISSING) */
    const char *patient_name; /* NULL: any; else a part of the name (bytes, case as given) */
    cf_archive_state state;   /* CF_ARCHIVE_STATE_ANY: any */
    long long issued_from;    /* issued at or after (seconds since 1970); 0: no bound */
    long long issued_before;  /* issued before; 0: no bound */
    const char *ward;         /* NULL: any; else the ward issued for, exactly */
} cf_archive_filter;

/* One document as a query returns it. Strings are owned by the cf_archive_rows. */
typedef struct cf_archive_row {
    char id[CF_ARCHIVE_ID_MAX + 1];
    char *form_id, *form_version;     /* form_version "" when not known (filed unregistered) */
    char *patient_name, *hospital_no; /* "" when the document has none */
    long long issued_at;              /* -1 when not issued from this store */
    int signed_copies;
    bool voided;
    bool signature_missing; /* the last signed copy filed lacks a required signature */
    char *missing_reason;   /* what it lacks ("page 2: patient (consenter) not signed"); "" */
    char *ward;             /* the ward it was issued for; "" when none (issued before schema 5,
                               or no ward given) */
} cf_archive_row;

typedef struct cf_archive_rows {
    cf_archive_row *rows;
    size_t count;
    size_t cap; /* private */
} cf_archive_rows;

/* The documents that match filter, oldest first, into *rows (caller frees with
 * cf_archive_rows_cleanup, also after a failure). The rows hold patient values: they are for the
 * person who asked. */
cf_status cf_archive_query(cf_archive *archive, const cf_archive_filter *filter,
                           cf_archive_rows *rows, cf_diag *diag);
void cf_archive_rows_cleanup(cf_archive_rows *rows);
/* The state of a row (SIGNED, SIGNATURE_MISSING, VOID; a document filed unregistered and not
 * signed is ISSUED). */
cf_archive_state cf_archive_row_state(const cf_archive_row *row);

/* cf_archive_query, printed: one line per matching document to out (id, form@version, issued
 * at in UTC, status: unsigned, signed(N) or void, ward or "—", hospital no, patient name); *count
 * gets the number of lines. Kept for callers of the first interface; the CLI prints its own table.
 */
cf_status cf_archive_list(cf_archive *archive, const cf_archive_filter *filter, FILE *out,
                          size_t *count, cf_diag *diag);
/* The wards of the documents issued in [issued_from, issued_before) (seconds since 1970; 0: no
 * bound), sorted, each once, into *out (caller frees with cf_archive_wards_cleanup, also after a
 * failure). For a page's ward choices: a ward is no patient value. */
typedef struct cf_archive_wards {
    char **names;
    size_t count;
} cf_archive_wards;
cf_status cf_archive_ward_list(cf_archive *archive, long long issued_from, long long issued_before,
                               cf_archive_wards *out, cf_diag *diag);
void cf_archive_wards_cleanup(cf_archive_wards *wards);

/* What a download handed out. */
typedef enum cf_archive_download {
    CF_ARCHIVE_DOWNLOAD_ISSUED,   /* the issued PDF */
    CF_ARCHIVE_DOWNLOAD_SIGNED,   /* signed copy number `version` */
    CF_ARCHIVE_DOWNLOAD_LIST_ZIP, /* the issued PDF, inside the ZIP of a list run */
} cf_archive_download;

/* Records that operator_name was handed documents: one "downloaded" event for each of the n ids
 * (one transaction: all or none), naming the object sent (its sha256; for SIGNED also the
 * version) and saying in its reason what it was: "issued PDF", "signed copy version N" or
 * "issued PDF in list ZIP RUN (N documents)". Call it before the first byte is sent: when it
 * fails, send nothing. run (LIST_ZIP; NULL otherwise) names the run for the auditor (a file name
 * or token, never a patient value; at most 200 bytes of text). CF_ERR_NOINPUT for an unknown id
 * or a signed version never filed, CF_ERR_DATA for a document with no issued PDF in this store
 * (ISSUED, LIST_ZIP) or n 0. */
cf_status cf_archive_record_downloads(cf_archive *archive, const char *const *document_ids,
                                      size_t n, cf_archive_download what, int version,
                                      const char *run, const char *operator_name, cf_diag *diag);

/* A document's record and its history. CF_ERR_NOINPUT for an unknown id. */
cf_status cf_archive_show(cf_archive *archive, const char *document_id, FILE *out, cf_diag *diag);
/* Writes the issued PDF (issued.pdf), every signed copy (signed-N.pdf|png|jpg|tif) and
 * record.json (the document and its events) into dir (created 0700 when missing; existing files
 * are not overwritten unless force). An object whose bytes changed is CF_ERR_DATA, not
 * exported. */
cf_status cf_archive_export(cf_archive *archive, const char *document_id, const char *dir,
                            bool force, cf_diag *diag);
/* Checks the index (SQLite integrity_check), re-hashes every object, checks that every hash the
 * index names is there with its recorded size and that every file under objects/ is recorded,
 * compares every document and event row with its record object, checks the chain of events
 * and the registry of form texts against the documents' fingerprints. Each finding is printed to
 * out as one line naming the object, and the document and patient it concerns ("document ID
 * (patient NAME, hospital no HN): ..."), then a summary. Objects nobody refers to, leftovers of
 * interrupted writes, writable objects and a store others may read are notes; everything else is a
 * problem. *problems gets their number (0 = the store is sound). With record (and no problem), a
 * "verified" event is appended for every document; that needs the store open for writing. */
cf_status cf_archive_verify(cf_archive *archive, FILE *out, bool record, long long at,
                            const char *operator_name, size_t *problems, cf_diag *diag);

/* Rebuilds dir/index.sqlite from the record objects: the longest hash chain of event records
 * from the first event, the documents they name and the files those name, and the registry of
 * form texts from the documents' fingerprints (the first document of a form id@version). The index
 * found there (if any) is kept beside it as index.sqlite.replaced-TIME, never deleted; a sound
 * index of this store is replaced only with force (CF_ERR_EXISTS otherwise). Run it while nothing
 * else uses the store. Findings (damaged or missing objects, records of changes cut off before
 * their commit) go to out as lines, then a summary; *documents and *events get what was
 * restored, *problems the number of problems found. */
cf_status cf_archive_rebuild_index(const char *dir, bool force, FILE *out, size_t *documents,
                                   size_t *events, size_t *problems, cf_diag *diag);

#endif
