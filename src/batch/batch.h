/* The batch engine: a patient list printed as one labelled PDF per row (and optionally one
 * combined print job), with DIR/manifest.csv listing every row.
 *
 * The list is read ONCE: each row is checked (cf_record_check) and its checked values kept in a
 * compact store (records.h); naming, printing, the combined job and the manifest all work from
 * those records, so a list replaced or rewritten while the batch runs cannot change what is
 * printed. Memory does not grow with the rows beyond 8 bytes a row plus two hash tables of 4
 * bytes a slot (file names, hospital numbers); the manifest is streamed.
 *
 * Before the first write every output path is checked against every other and against the
 * inputs (form, list, store), by device and inode where the file exists; symbolic links and
 * anything but a regular file are never replaced. Documents are issued by cf_issue_document
 * (render/issue.h), so with an archive a PDF reaches its name only after its record is
 * committed. The engine never prints: messages go to the caller's cf_diag, progress to a
 * callback, and the counts come back in a cf_batch_summary. */
#ifndef CF_BATCH_H
#define CF_BATCH_H

#include "archive/archive.h"
#include "base/diag.h"
#include "base/status.h"
#include "data/csv.h"
#include "form/form.h"
#include "layout/layout.h"
#include "text/font.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define CF_BATCH_MANIFEST "manifest.csv"
/* The sidecar of the manifest: which list (SHA-256) and form (id@version) it describes, as a
 * two-row CSV, read by --resume. */
#define CF_BATCH_MANIFEST_SOURCE "manifest-source.csv"

typedef struct cf_batch_options {
    const cf_form *form;      /* loaded and preflighted */
    const char *form_path;    /* input: never an output */
    const cf_fontset *fonts;  /* the form's fonts */
    const char *csv_path;     /* the list */
    cf_csv_encoding encoding; /* --encoding */
    char delimiter;           /* --delimiter: ',', ';' or '\t'; 0 = found in the header row */
    /* --map / --map-file: columns the form's keys, captions and aliases do not settle; may be
     * NULL. Borrowed for the run. */
    const cf_csv_mappings *mappings;
    const char *out_dir;       /* created (0755 at most) when missing */
    const char *name_template; /* NULL: built from the form's label fields */
    const char *combined;      /* NULL: no combined print job */
    bool only_combined;        /* no per-row PDFs, only the combined job */
    bool simplex;              /* combined: no padding of patients to an even page count */
    bool force;                /* replace existing regular files */
    bool check_only;           /* --check: everything but the PDFs; the manifest is written */
    bool resume;               /* continue from DIR/manifest.csv of an interrupted run */
    cf_paper paper;
    long jobs;                 /* threads, 1 to 64 */
    cf_archive *archive;       /* NULL: not archived */
    const char *archive_dir;   /* the store's folder (an input) */
    const char *operator_name; /* for the archive */
    const char *ward;          /* --ward: the ward of every row (cf_ward_clean; NULL: none); a
                                  row's own ward column wins */
    long long created;         /* cf_document_time() */
    unsigned allow;            /* CF_FORM_ALLOW_*: --allow-draft, --allow-expired */
    const char *today;         /* YYYY-MM-DD the form's status is judged on, for every row;
                                  NULL: cf_form_today() once at the start */
    /* Polled before each row is taken; non-zero stops the batch (the signal number, e.g.
     * SIGINT). Rows in flight are finished; the rest are "not-printed". May be NULL. */
    const volatile sig_atomic_t *stop;
    /* Called (under a lock, from any worker) after each printed or failed row. May be NULL. */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
} cf_batch_options;

typedef struct cf_batch_summary {
    size_t rows;           /* data rows of the list */
    size_t printed;        /* PDFs delivered in this run (or, with --check, rows that would be) */
    size_t kept;           /* --resume: earlier files kept */
    size_t failed;         /* rows with a problem */
    size_t empty;          /* empty rows skipped */
    size_t not_printed;    /* not reached because of stop */
    size_t pages;          /* pages of the printed rows */
    int stopped_by;        /* *stop's value when the batch stopped early, else 0 */
    cf_status rows_status; /* worst status of a failed row (CF_OK when none) */
    cf_csv_encoding encoding; /* the encoding the list was read in (auto resolved) */
    char delimiter;           /* the delimiter the list was read with */
    unsigned overrides;       /* CF_FORM_ALLOW_* the run's documents were issued under */
} cf_batch_summary;

/* Runs the batch. Returns CF_OK when the list was read, the outputs could be written and the
 * manifest is in place (rows may still have failed: see summary->failed and rows_status);
 * otherwise the status that stopped it, and then nothing was written unless the failure came
 * after the first PDF (the manifest is still written when possible). */
cf_status cf_batch_run(const cf_batch_options *options, cf_batch_summary *summary, cf_diag *diag);

/* The document ids of the rows a finished run delivered (status "ok" in out_dir's manifest:
 * the documents of its combined print job, in the list's order), into *ids (caller frees with
 * cf_batch_ids_free; nothing to free after a failure). */
cf_status cf_batch_manifest_ids(const char *out_dir, char ***ids, size_t *n, cf_diag *diag);
void cf_batch_ids_free(char **ids, size_t n);

#endif
