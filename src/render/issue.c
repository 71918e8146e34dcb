/* Issuing one document (see issue.h). */
#include "render/issue.h"

#include "base/alloc.h"
#include "base/file.h"
#include "form/content_model.h"
#include "scan/scan.h"

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

/* The required="GROUP" of signature block number block (form order, as cf_scan_areas_get
 * counts them); NULL when the block is optional. */
static const char *block_group(const cf_form *form, size_t block)
{
    size_t k = 0;
    for (size_t s = 0; s < form->n_sections; s++) {
        const cf_section *section = &form->sections[s];
        for (size_t b = 0; b < section->n_blocks; b++) {
            const cf_block *blk = &section->blocks[b];
            if (blk->kind != CF_BLOCK_SIGNATURES)
                continue;
            for (size_t i = 0; i < blk->u.signatures.n_blocks; i++, k++)
                if (k == block)
                    return blk->u.signatures.blocks[i].required;
        }
    }
    return NULL;
}

/* Adds group to the sorted set of layout's groups. */
static void add_group(cf_archive_scan_layout *layout, const char *group)
{
    size_t i = 0;
    while (i < layout->n_groups && strcmp(layout->groups[i], group) < 0)
        i++;
    if (i < layout->n_groups && strcmp(layout->groups[i], group) == 0)
        return;
    memmove(&layout->groups[i + 1], &layout->groups[i],
            (layout->n_groups - i) * sizeof layout->groups[0]);
    snprintf(layout->groups[i], CF_ARCHIVE_GROUP_MAX, "%s", group);
    layout->n_groups++;
}

/* Where a scan of the document will be checked for signatures: the QR square of every page and
 * the lines of the form's required signature blocks, from the document's display list. */
static cf_status scan_layout_of(const cf_form *form, const cf_display_list *list,
                                cf_archive_scan_layout *layout, cf_diag *diag)
{
    static const char *const line_names[] = {"signature", "date", "time"};
    memset(layout, 0, sizeof *layout);
    cf_sign_area *areas = NULL;
    cf_sign_qr_place *qr = NULL;
    size_t n = 0;
    cf_status st = cf_scan_areas_get(form, list, &areas, &n, &qr);
    if (st != CF_OK) {
        cf_diag_error(diag, form->id, 0,
                      "the signature lines of the laid-out document could not be found");
        return st;
    }
    layout->pages = (unsigned)list->n_pages;
    layout->qr = cf_calloc(list->n_pages > 0 ? list->n_pages : 1, sizeof *layout->qr);
    layout->lines = cf_calloc(n > 0 ? n : 1, sizeof *layout->lines);
    layout->groups = cf_calloc(n > 0 ? n : 1, sizeof *layout->groups);
    if (layout->qr == NULL || layout->lines == NULL || layout->groups == NULL) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    for (size_t p = 0; p < list->n_pages; p++)
        layout->qr[p] = (cf_archive_page_qr){qr[p].x, qr[p].y, qr[p].side};
    for (size_t i = 0; i < n; i++) {
        const char *group = block_group(form, areas[i].block);
        if (group == NULL || strlen(group) >= CF_ARCHIVE_GROUP_MAX)
            continue;
        cf_archive_sign_line *l = &layout->lines[layout->n_lines++];
        l->page = (unsigned)areas[i].page + 1;
        snprintf(l->role, sizeof l->role, "%s", cf_model_role_values[areas[i].role]);
        snprintf(l->group, sizeof l->group, "%s", group);
        snprintf(l->line, sizeof l->line, "%s", line_names[areas[i].line]);
        l->block = (unsigned)areas[i].block;
        l->x1 = areas[i].x1;
        l->y1 = areas[i].y1;
        l->x2 = areas[i].x2;
        l->y2 = areas[i].y2;
        add_group(layout, group);
    }
done:
    cf_free(areas);
    cf_free(qr);
    if (st != CF_OK)
        cf_archive_scan_layout_cleanup(layout);
    return st;
}

/* The archive record of the document: its label fields as printed, the overrides of the
 * form's status it was issued under, and where its scan will be checked for signatures. */
static cf_status register_document(const cf_form *form, const cf_record *record,
                                   const cf_issue_options *o, const cf_document *doc,
                                   unsigned overrides, const char *form_sha256, cf_diag *diag)
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
    cf_archive_scan_layout layout = {0};
    cf_status st = doc->list != NULL ? scan_layout_of(form, doc->list, &layout, diag) : CF_OK;
    /* The ward: the record's own (a list's ward column), else the issuer's. */
    const char *ward = cf_record_ward(record) != NULL ? cf_record_ward(record) : o->ward;
    /* Archive events carry the real clock; SOURCE_DATE_EPOCH is for the PDF bytes only. */
    if (st == CF_OK)
        st = cf_archive_register_issued_layout(
            o->archive, doc->document_id, form->id, form->version, form_sha256, labels, n, doc->pdf,
            doc->pdf_len, &layout, ward, (long long)time(NULL), o->operator_name, diag);
    cf_archive_scan_layout_cleanup(&layout);
    return st;
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

/* The form's fingerprint: the issuer's, or computed. */
static cf_status fingerprint_of(const cf_form *form, const cf_issue_options *o,
                                char hex[CF_SHA256_HEX_SIZE])
{
    if (o->form_sha256 == NULL)
        return cf_form_fingerprint(form, hex);
    snprintf(hex, CF_SHA256_HEX_SIZE, "%s", o->form_sha256);
    return CF_OK;
}

/* Refuses a form whose id@version the store registered with another text. */
static cf_status check_form_text(const cf_form *form, const cf_issue_options *o, cf_diag *diag)
{
    char mine[CF_SHA256_HEX_SIZE], registered[CF_SHA256_HEX_SIZE] = "";
    char first[CF_ARCHIVE_ID_MAX + 1] = "";
    cf_status st = fingerprint_of(form, o, mine);
    if (st == CF_OK)
        st = cf_archive_form_fingerprint(o->archive, form->id, form->version, registered, first,
                                         diag);
    if (st != CF_OK || registered[0] == '\0' || strcmp(registered, mine) == 0)
        return st;
    cf_diag_error(diag, form->path, 0,
                  "the text of %s %s changed: raise its version (its fingerprint is now "
                  "%.12s…; the archive holds %s as %.12s…, first issued in document %s); nothing "
                  "was printed",
                  form->id, form->version, mine, form->version, registered, first);
    cf_diag_add(diag, CF_DIAG_NOTE, form->path, 0, 0,
                "fingerprints in full: this text form-sha256=%s, the archive's form-sha256=%s",
                mine, registered);
    return CF_ERR_DATA;
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
    cf_status st = cf_form_check_issuable(form, day, options->allow, overrides, diag);
    if (st == CF_OK && options->archive != NULL && !options->document.blank)
        st = check_form_text(form, options, diag);
    return st;
}

cf_status cf_issue_document(const cf_form *form, const cf_record *record, const cf_fontset *fonts,
                            const cf_issue_options *options, cf_issue_result *result, cf_diag *diag)
{
    memset(result, 0, sizeof *result);
    cf_document doc = {0};
    cf_atomic_file *file = NULL;
    cf_document_options dopt = options->document;
    if (options->archive != NULL && !dopt.blank) {
        dopt.unique_id = true;
        dopt.keep_list = true; /* for the signature lines the archive record keeps */
    }
    cf_issue_options checked = *options;
    cf_status st = fingerprint_of(form, options, result->form_sha256);
    checked.form_sha256 = result->form_sha256;
    dopt.form_sha256 = result->form_sha256;
    if (st == CF_OK)
        st = cf_issue_check_form(form, &checked, &result->overrides, diag);
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
        st = register_document(form, record, options, &doc, result->overrides, result->form_sha256,
                               diag);
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
