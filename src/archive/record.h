/* The JSON of an archive store (private to src/archive; the only file that includes jansson.h
 * is record.c): the immutable record objects that stand beside every index row, the label
 * fields kept in the index, and `archive export`'s record.json.
 *
 * A record object is compact JSON with sorted keys, so the same record always gives the same
 * bytes and so the same object name. A document record holds what its index row holds; an
 * event record holds its row, the name of its document's record and the name of the event
 * record before it ("prev", absent for the first event of a store): the events form a hash
 * chain, and the objects alone are enough to rebuild the index (`archive rebuild-index`). */
#ifndef CF_ARCHIVE_RECORD_H
#define CF_ARCHIVE_RECORD_H

#include "archive/archive.h"
#include "base/hash.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>

#define CF_RECORD_MEDIA_TYPE "application/vnd.consentform.record+json"
#define CF_RECORD_MAX ((size_t)1 << 20) /* bytes of one record object */

/* A document as its record object holds it. Strings are owned (cf_record_document_cleanup). */
typedef struct cf_record_document {
    char *id, *form_id, *form_version;
    char *labels;                         /* canonical JSON object of the label fields */
    long long issued_at;                  /* -1 when not issued from this store */
    char issued_hash[CF_SHA256_HEX_SIZE]; /* "" when none */
    char form_sha256[CF_SHA256_HEX_SIZE]; /* the form's fingerprint; "" when not known */
    bool registered;
    char *scan_layout; /* canonical JSON object (cf_record_scan_layout_write); NULL when none */
    char *ward;        /* the ward it was issued for (schema 5); NULL when none */
} cf_record_document;

/* An event as its record object holds it. Strings are owned (cf_record_event_cleanup). */
typedef struct cf_record_event {
    long long seq;
    char *document_id, *kind, *operator_name;
    char *reason; /* NULL when none */
    long long at;
    char file_hash[CF_SHA256_HEX_SIZE];       /* "" when none */
    int version;                              /* 0 when none */
    char document_record[CF_SHA256_HEX_SIZE]; /* the document's record object */
    char prev[CF_SHA256_HEX_SIZE];            /* the event record before; "" for the first */
} cf_record_event;

/* An inbox item (a scanned page that could not be filed) as its record object holds it.
 * Strings are owned (cf_record_inbox_cleanup). */
typedef struct cf_record_inbox {
    char *source, *reason, *operator_name;
    char *payload; /* the QR text read; NULL when none */
    unsigned page; /* 1-based, in source */
    long long at;
    char file_hash[CF_SHA256_HEX_SIZE]; /* the page object */
} cf_record_inbox;

void cf_record_inbox_cleanup(cf_record_inbox *i);
char *cf_record_inbox_write(const cf_record_inbox *i, size_t *len);
cf_status cf_record_inbox_read(const char *json, size_t len, cf_record_inbox *i);

void cf_record_document_cleanup(cf_record_document *d);
void cf_record_event_cleanup(cf_record_event *e);

/* The record object's bytes (caller frees with cf_free); NULL when out of memory. */
char *cf_record_document_write(const cf_record_document *d, size_t *len);
char *cf_record_event_write(const cf_record_event *e, size_t *len);

/* Which record json is: 'd' (document), 'e' (event), 'i' (inbox item) or 0 (not a record of ours).
 */
char cf_record_kind(const char *json, size_t len);
/* Parses a record object into *d / *e (cleaned up by the caller even on failure). CF_ERR_DATA
 * when the bytes are not such a record. */
cf_status cf_record_document_read(const char *json, size_t len, cf_record_document *d);
cf_status cf_record_event_read(const char *json, size_t len, cf_record_event *e);

/* The canonical JSON object of label fields (caller frees with cf_free); NULL when out of
 * memory. */
char *cf_record_labels_write(const cf_archive_label *labels, size_t n);
/* labels_json in canonical form (sorted keys, compact; caller frees with cf_free); NULL when it
 * is not a JSON object or out of memory. */
char *cf_record_labels_canonical(const char *labels_json);
/* The value of key in a labels JSON object into out ("" when absent or not text). */
void cf_record_labels_get(const char *labels_json, const char *key, char *out, size_t size);
/* True when two labels JSON objects hold the same fields and values. */
bool cf_record_labels_equal(const char *a, const char *b);

/* The canonical JSON object of a scan layout (caller frees with cf_free); NULL when out of
 * memory. Positions are kept in hundredths of a point, as integers: the same layout always
 * gives the same bytes. */
char *cf_record_scan_layout_write(const cf_archive_scan_layout *layout);
/* Parses a scan layout JSON object into *out (caller cleans up with
 * cf_archive_scan_layout_cleanup, also after a failure). CF_ERR_DATA when it is not one. */
cf_status cf_record_scan_layout_read(const char *json, cf_archive_scan_layout *out);

/* record.json of `archive export`, built up a piece at a time. */
typedef struct cf_record_export cf_record_export;
cf_record_export *cf_record_export_new(const cf_record_document *d);
/* file: the exported file's name for an event that filed one (else NULL). */
void cf_record_export_event(cf_record_export *x, const cf_record_event *e, const char *file);
/* Pretty-printed JSON (caller frees with cf_free); NULL when out of memory. Frees x. */
char *cf_record_export_finish(cf_record_export *x, size_t *len);
void cf_record_export_free(cf_record_export *x);

#endif
