/* Filing signed scans in the browser: a clerk uploads the scanned stacks (many files at once,
 * at most 200 MB a request), each file checked by its first bytes, then filed by
 * cf_scan_file_paths exactly as `archive file` does; the page shows every filed document
 * (signed, or signature missing) and every page that went to the inbox. An inbox page is
 * opened in a new tab (its one-page PDF) and resolved by typing its document id and page
 * (cf_scan_inbox_assign). */
#include "archive/archive.h"
#include "base/alloc.h"
#include "base/diag.h"
#include "scan/file.h"
#include "web/web_internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cf_web_scans_page(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_scans_upload(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_scans_assign(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_scans_item(cf_web_server *s, cf_web_request *r, cf_web_response *out);

static char *diag_text(const cf_diag *diag)
{
    cf_buf b;
    cf_buf_init(&b, 1 << 20);
    for (size_t i = 0; diag && i < cf_diag_size(diag); i++) {
        char line[1024];
        cf_diag_format(cf_diag_get(diag, i), line, sizeof line);
        cf_buf_append_str(&b, line);
        cf_buf_putc(&b, '\n');
    }
    char *text = cf_buf_take(&b, NULL);
    cf_buf_cleanup(&b);
    return text;
}

static bool is_hex(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* The open inbox items, each with a link to its page and the form that resolves it. */
static void inbox_table(cf_web_server *s, cf_web_request *r, cf_buf *b)
{
    cf_archive_inbox inbox = {0};
    cf_diag *diag = cf_diag_new();
    cf_status st = diag ? cf_archive_inbox_list(s->archive, &inbox, diag) : CF_ERR_NOMEM;
    char line[160];
    snprintf(line, sizeof line, "<h2>收件匣 <span class=\"en\">Inbox</span>：%zu</h2>\n",
             st == CF_OK ? inbox.count : 0);
    cf_html_raw(b, line);
    if (st == CF_OK && inbox.count > 0) {
        cf_html_raw(b, "<table>\n<thead><tr><th scope=\"col\">項目 Item</th><th scope=\"col\">"
                       "來源 Source</th><th scope=\"col\">原因 Reason</th><th scope=\"col\">"
                       "頁面 Page image</th><th scope=\"col\">"
                       "歸檔到 File as</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < inbox.count; i++) {
            const cf_archive_inbox_item *item = &inbox.items[i];
            cf_html_raw(b, "<tr><td>");
            cf_html_text(b, item->id);
            cf_html_raw(b, "</td><td>");
            cf_html_text(b, item->source);
            snprintf(line, sizeof line, "<br>第 %u 頁 <span class=\"en\">page %u</span>",
                     item->page, item->page);
            cf_html_raw(b, line);
            cf_html_raw(b, "</td><td>");
            cf_html_text(b, item->reason);
            if (item->assigned_id[0] != '\0') {
                snprintf(line, sizeof line,
                         "<br><span class=\"en\">已指定 assigned: %s p. %u</span>",
                         item->assigned_id, item->assigned_page);
                cf_html_raw(b, line);
            }
            cf_html_raw(b, "</td><td><a target=\"_blank\" rel=\"noopener\" href=\"/scans/item?id=");
            cf_html_text(b, item->id);
            cf_html_raw(b, "\">開啟頁面 Open the page</a></td><td>"
                           "<form method=\"post\" action=\"/scans/assign\">");
            cf_html_csrf(b, r);
            cf_html_raw(b, "<input type=\"hidden\" name=\"item\" value=\"");
            cf_html_text(b, item->id);
            cf_html_raw(b, "\"><label>文件編號 <span class=\"en\">Document id</span> "
                           "<input type=\"text\" name=\"doc\" required size=\"14\" "
                           "autocomplete=\"off\"></label> <label>頁 <span class=\"en\">Page</span> "
                           "<input type=\"number\" name=\"page\" min=\"1\" max=\"99\" required "
                           "class=\"page-no\"></label> <button type=\"submit\">歸檔 File"
                           "</button></form></td></tr>\n");
        }
        cf_html_raw(b, "</tbody></table>\n");
    }
    cf_archive_inbox_cleanup(&inbox);
    cf_diag_free(diag);
}

/* The rows of a filing: what was filed, signature missing, inbox. */
static void result_table(cf_buf *b, const cf_scan_file_result *result)
{
    cf_html_raw(b, "<table>\n<caption>歸檔結果 <span class=\"en\">Filing result</span></caption>\n"
                   "<thead><tr><th scope=\"col\">結果 Outcome</th><th scope=\"col\">文件 Document"
                   "</th><th scope=\"col\">頁數 Pages</th><th scope=\"col\">說明 Reason</th>"
                   "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < result->count; i++) {
        const cf_scan_file_row *row = &result->rows[i];
        cf_html_raw(b, "<tr><td>");
        switch (row->outcome) {
        case CF_SCAN_OUTCOME_SIGNED:
            cf_html_raw(b, "<span class=\"good\">已歸檔 filed, signed</span>");
            break;
        case CF_SCAN_OUTCOME_SIGNATURE_MISSING:
            cf_html_raw(b, "<span class=\"warn\">欠簽署 signature missing</span>");
            break;
        case CF_SCAN_OUTCOME_INBOX:
            cf_html_raw(b, "<span class=\"bad\">收件匣 inbox</span>");
            break;
        case CF_SCAN_OUTCOME_FAILED:
            cf_html_raw(b, "<span class=\"bad\">無法讀取 unreadable</span>");
            break;
        }
        cf_html_raw(b, "</td><td>");
        if (row->document_id[0] != '\0') {
            cf_html_raw(b, "<a href=\"/doc?id=");
            cf_html_text(b, row->document_id);
            cf_html_raw(b, "\">");
            cf_html_text(b, row->document_id);
            cf_html_raw(b, "</a>");
        }
        char n[64];
        snprintf(n, sizeof n, "</td><td>%u</td><td>",
                 row->outcome == CF_SCAN_OUTCOME_INBOX ? 1u : row->pages);
        cf_html_raw(b, n);
        if (row->source != NULL && row->source[0] != '\0' &&
            (row->outcome == CF_SCAN_OUTCOME_INBOX || row->outcome == CF_SCAN_OUTCOME_FAILED)) {
            cf_html_text(b, row->source);
            if (row->page > 0) {
                snprintf(n, sizeof n, " 第 %u 頁 <span class=\"en\">page %u</span>", row->page,
                         row->page);
                cf_html_raw(b, n);
            }
            cf_html_raw(b, "：");
        }
        cf_html_text(b, row->reason);
        if (row->already_filed)
            cf_html_raw(b, " <span class=\"en\">(已歸檔過 filed before)</span>");
        cf_html_raw(b, "</td></tr>\n");
    }
    cf_html_raw(b, "</tbody></table>\n");
}

void cf_web_scans_page(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    cf_buf *b = &out->body;
    cf_html_page_begin(b, r, "歸檔已簽文件", "File signed scans");
    cf_html_raw(b, "<form method=\"post\" action=\"/scans/upload\" enctype=\"multipart/form-data\">"
                   "\n");
    cf_html_csrf(b, r);
    cf_html_raw(b, "<fieldset><legend>上載掃描 <span class=\"en\">Upload scans</span></legend>\n"
                   "<div class=\"field\"><label for=\"scans\">掃描檔案 <span class=\"en\">Scans: "
                   "PDF, TIFF, JPEG, PNG; many at once, up to 200 MB</span></label>"
                   "<input type=\"file\" id=\"scans\" name=\"scans\" multiple required "
                   "accept=\".pdf,.tif,.tiff,.jpg,.jpeg,.png\"></div>\n<p><button type=\"submit\">"
                   "上載並歸檔 Upload and file</button></p></fieldset></form>\n");
    inbox_table(s, r, b);
    cf_html_page_end(b);
}

void cf_web_scans_upload(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    /* Every file must be a scan by its first bytes before anything is filed. */
    const char *paths[CF_WEB_UPLOADS_MAX];
    const char *names[CF_WEB_UPLOADS_MAX];
    char fallback[CF_WEB_UPLOADS_MAX][32];
    size_t n = 0;
    for (size_t i = 0; i < r->n_uploads; i++) {
        if (strcmp(r->uploads[i].field, "scans") != 0 || r->uploads[i].size == 0)
            continue;
        unsigned char head[16] = {0};
        ssize_t got = -1;
        int fd = open(r->uploads[i].path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            got = read(fd, head, sizeof head);
            close(fd);
        }
        if (got <= 0 || cf_archive_sniff(head, (size_t)got) == NULL) {
            char which[96];
            snprintf(which, sizeof which, "file %zu of the upload", n + 1);
            cf_html_error(out, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                          "這不是掃描檔（PDF、TIFF、JPEG、PNG）",
                          "Not a scan (PDF, TIFF, JPEG or PNG); nothing was filed", which);
            return;
        }
        snprintf(fallback[n], sizeof fallback[n], "upload file %zu", n + 1);
        names[n] = r->uploads[i].name != NULL ? r->uploads[i].name : fallback[n];
        paths[n++] = r->uploads[i].path;
    }
    if (n == 0) {
        cf_html_error(out, r, MHD_HTTP_BAD_REQUEST, "請選擇掃描檔案", "Choose the scans", NULL);
        return;
    }
    cf_diag *diag = cf_diag_new();
    cf_scan_file_result result = {0};
    cf_scan_file_options options = {
        .operator_name = r->session.user, .decoder = CF_SCAN_DECODER_DEFAULT, .names = names};
    cf_status st =
        diag ? cf_scan_file_paths(s->archive, paths, n, &options, &result, diag) : CF_ERR_NOMEM;
    cf_buf *b = &out->body;
    cf_html_page_begin(b, r, "歸檔已簽文件", "File signed scans");
    char line[200];
    snprintf(line, sizeof line,
             "<p>%zu 個檔案，%zu 頁 <span class=\"en\">files, pages read</span>"
             "</p>\n",
             n, result.pages_read);
    cf_html_raw(b, line);
    result_table(b, &result);
    /* CF_ERR_DATA is the normal "something went to the inbox"; anything else failed. */
    if (st != CF_OK && st != CF_ERR_DATA) {
        char *text = diag_text(diag);
        cf_html_raw(b, "<div class=\"error\" role=\"alert\"><pre>");
        cf_html_text(b, text);
        cf_html_raw(b, "</pre></div>\n");
        cf_free(text);
        out->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    inbox_table(s, r, b);
    cf_html_page_end(b);
    cf_scan_file_result_cleanup(&result);
    cf_diag_free(diag);
}

void cf_web_scans_assign(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const char *item = cf_web_arg(r, "item");
    const char *doc = cf_web_arg(r, "doc");
    const char *page_text = cf_web_arg(r, "page");
    char *end = NULL;
    long page = page_text ? strtol(page_text, &end, 10) : 0;
    if (!is_hex(item, CF_ARCHIVE_INBOX_ID) || doc == NULL || doc[0] == '\0' ||
        strlen(doc) > CF_ARCHIVE_ID_MAX || page < 1 || page > 9999 || end == NULL || *end) {
        cf_html_error(out, r, MHD_HTTP_BAD_REQUEST, "請填寫文件編號及頁數",
                      "Give the document id and the page", NULL);
        return;
    }
    /* The id as printed under the QR code, typed in any case. */
    char id[CF_ARCHIVE_ID_MAX + 1];
    size_t k = 0;
    for (const char *p = doc; *p && k < CF_ARCHIVE_ID_MAX; p++)
        if (!isspace((unsigned char)*p))
            id[k++] = (char)toupper((unsigned char)*p);
    id[k] = '\0';
    cf_diag *diag = cf_diag_new();
    cf_scan_file_result result = {0};
    cf_status st = diag ? cf_scan_inbox_assign(s->archive, item, id, (unsigned)page,
                                               r->session.user, &result, diag)
                        : CF_ERR_NOMEM;
    if (st != CF_OK) {
        char *text = diag_text(diag);
        cf_html_error(out, r,
                      st == CF_ERR_NOINPUT ? MHD_HTTP_NOT_FOUND : MHD_HTTP_UNPROCESSABLE_CONTENT,
                      "未能歸檔此頁", "The page was not filed", text);
        cf_free(text);
    } else {
        cf_buf *b = &out->body;
        cf_html_page_begin(b, r, "歸檔已簽文件", "File signed scans");
        cf_html_raw(b, "<p class=\"good\" role=\"status\">已指定 <span class=\"en\">Assigned"
                       "</span>: ");
        cf_html_text(b, id);
        char line[64];
        snprintf(line, sizeof line, " p. %ld</p>\n", page);
        cf_html_raw(b, line);
        if (result.count > 0)
            result_table(b, &result);
        inbox_table(s, r, b);
        cf_html_page_end(b);
    }
    cf_scan_file_result_cleanup(&result);
    cf_diag_free(diag);
}

/* An inbox item's page (a one-page PDF), for the clerk to read its id off the paper. */
void cf_web_scans_item(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const char *id = cf_web_arg(r, "id");
    if (!is_hex(id, CF_ARCHIVE_INBOX_ID)) {
        cf_html_error(out, r, MHD_HTTP_BAD_REQUEST, "項目編號不正確", "Not an inbox item", NULL);
        return;
    }
    cf_archive_inbox inbox = {0};
    cf_diag *diag = cf_diag_new();
    cf_status st = diag ? cf_archive_inbox_list(s->archive, &inbox, diag) : CF_ERR_NOMEM;
    char path[4400] = "";
    for (size_t i = 0; st == CF_OK && i < inbox.count; i++)
        if (strcmp(inbox.items[i].id, id) == 0)
            cf_archive_object_path(s->archive, inbox.items[i].file_hash, path, sizeof path);
    cf_archive_inbox_cleanup(&inbox);
    cf_diag_free(diag);
    if (path[0] == '\0') {
        cf_html_error(out, r, MHD_HTTP_NOT_FOUND, "收件匣沒有此項目", "No such inbox item", NULL);
        return;
    }
    out->content_type = "application/pdf";
    out->file_path = cf_strdup(path);
    out->remove_file = false;
    snprintf(out->disposition, sizeof out->disposition, "inline; filename=\"inbox-%s.pdf\"", id);
}
