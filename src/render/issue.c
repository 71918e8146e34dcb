/* Issuing one document (see issue.h). */
#include "render/issue.h"

#include "base/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Writes all of data to fd; false (errno set) on failure. */
static bool write_all(int fd, const unsigned char *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

/* The archive record of the document: its label fields as printed, and the overrides of the
 * form's status it was issued under. */
static cf_status register_document(const cf_form *form, const cf_record *record,
                                   const cf_issue_options *o, const cf_document *doc,
                                   unsigned overrides, cf_diag *diag)
{
    cf_archive_label labels[64]; /* the store's limit */
    size_t n = 0;
    for (size_t i = 0; record != NULL && i < form->n_label_fields && n < 63; i++) {
        const char *v = cf_record_get(record, form->fields[i].key);
        if (v != NULL && !o->document.blank)
            labels[n++] = (cf_archive_label){form->fields[i].key, v};
    }
    /* Until the store has a column of its own, an override travels as a label whose key no
     * form field can have (keys start with a letter). */
    if (overrides != 0)
        labels[n++] = (cf_archive_label){"_override", cf_form_override_name(overrides)};
    /* Archive events carry the real clock; SOURCE_DATE_EPOCH is for the PDF bytes only. */
    return cf_archive_register_issued(o->archive, doc->document_id, form->id, form->version, labels,
                                      n, doc->pdf, doc->pdf_len, (long long)time(NULL),
                                      o->operator_name, diag);
}

/* Records in the archive that the registered document never reached its destination. */
static void void_undelivered(const cf_issue_options *o, const char *document_id, const char *why,
                             cf_issue_result *result, cf_diag *diag)
{
    char reason[512];
    snprintf(reason, sizeof reason, "not delivered: %s", why);
    if (cf_archive_void(o->archive, document_id, reason, (long long)time(NULL), o->operator_name,
                        diag) == CF_OK)
        result->voided = true;
    else
        cf_diag_error(diag, o->path != NULL ? o->path : "output", 0,
                      "document %s is in the archive but was not delivered, and could not be "
                      "marked so; void it with `consentform archive void`",
                      document_id);
}

void cf_issue_undelivered(const cf_issue_options *options, const char *document_id, const char *why,
                          cf_issue_result *result, cf_diag *diag)
{
    void_undelivered(options, document_id, why, result, diag);
}

cf_status cf_issue_check_form(const cf_form *form, const cf_issue_options *options,
                              unsigned *overrides, cf_diag *diag)
{
    char today[CF_FORM_DATE_SIZE];
    const char *day = options->today;
    if (day == NULL) {
        cf_status st = cf_form_today(today, diag);
        if (st != CF_OK)
            return st;
        day = today;
    }
    return cf_form_check_issuable(form, day, options->allow, overrides, diag);
}

cf_status cf_issue_document(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                            const cf_issue_options *options, cf_issue_result *result, cf_diag *diag)
{
    memset(result, 0, sizeof *result);
    cf_document doc = {0};
    cf_atomic_file *file = NULL;
    cf_document_options dopt = options->document;
    if (options->archive != NULL && !dopt.blank)
        dopt.unique_id = true;
    cf_status st = cf_issue_check_form(form, options, &result->overrides, diag);
    if (st == CF_OK)
        st = cf_document_render(form, record, fonts, &dopt, &doc, diag);
    if (st != CF_OK)
        goto done;
    memcpy(result->document_id, doc.document_id, sizeof result->document_id);
    result->pages = doc.pages;
    result->bytes = doc.pdf_len;
    cf_sha256_hex(doc.pdf, doc.pdf_len, result->sha256);
    if (options->no_delivery)
        goto done;
    /* The PDF waits under a temporary name while the archive record is committed. */
    if (options->path != NULL) {
        st = cf_atomic_file_open(options->path, options->force, &file, diag);
        if (st != CF_OK)
            goto done;
        if (cf_atomic_file_write(file, doc.pdf, doc.pdf_len) != CF_OK) {
            /* The commit reports the sticky write error and removes the temporary file. */
            st = cf_atomic_file_commit(file, diag);
            file = NULL;
            goto done;
        }
    }
    if (options->archive != NULL && !dopt.blank) {
        st = register_document(form, record, options, &doc, result->overrides, diag);
        if (st != CF_OK) {
            cf_diag_error(diag, options->path != NULL ? options->path : "output", 0,
                          "not written: the archive did not take the document");
            goto done;
        }
        result->archived = true;
    }
    if (options->path != NULL && options->in_run && options->deliver != NULL) {
        /* The record is committed; the file gets its name from the caller's writer. */
        options->deliver(options->deliver_ctx, file, result);
        file = NULL;
    } else if (options->path != NULL) {
        cf_status (*commit)(cf_atomic_file *, cf_diag *) =
            options->in_run ? cf_atomic_file_commit_in_run : cf_atomic_file_commit;
        st = commit(file, diag);
        file = NULL;
        if (st != CF_OK && result->archived)
            void_undelivered(options, doc.document_id, "the PDF could not be written to its file",
                             result, diag);
    } else if (!write_all(options->fd, doc.pdf, doc.pdf_len)) {
        int e = errno;
        cf_diag_error(diag, "stdout", 0, "cannot write the PDF: %s", strerror(e ? e : EIO));
        st = CF_ERR_IO;
        if (result->archived)
            void_undelivered(options, doc.document_id, "the PDF could not be written out", result,
                             diag);
    }
done:
    cf_atomic_file_abort(file);
    cf_document_cleanup(&doc);
    return st;
}
