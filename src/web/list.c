/* Tomorrow's list in the browser: the CSV as exported is uploaded once and kept (under a random
 * token, in STORE/tmp) while the clerk looks at how its columns were matched (cf_csv_map_build,
 * editable with --map lines), the preflight of every row (cf_batch_run --check) and then prints
 * the good rows as one duplex job or downloads them as a ZIP (cf_batch_run, archived). */
#include "base/alloc.h"
#include "base/diag.h"
#include "batch/batch.h"
#include "data/csv.h"
#include "data/ward.h"
#include "render/document.h"
#include "web/web_internal.h"
#include "web/zip.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cf_web_list_page(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_list_upload(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_list_run(cf_web_server *s, cf_web_request *r, cf_web_response *out);

#define LIST_KEEP_SECONDS (2 * 60 * 60)

/* diag's messages as one text; the list's temporary path in them reads "list.csv" (the page
 * shows no path of the server). Caller frees. */
static char *diag_lines(const cf_diag *diag, const char *csv_path)
{
    cf_buf b;
    cf_buf_init(&b, 1 << 20);
    size_t plen = csv_path ? strlen(csv_path) : 0;
    for (size_t i = 0; diag && i < cf_diag_size(diag); i++) {
        char line[1024];
        cf_diag_format(cf_diag_get(diag, i), line, sizeof line);
        for (const char *p = line; *p;) {
            const char *at = plen ? strstr(p, csv_path) : NULL;
            if (at == NULL) {
                cf_buf_append_str(&b, p);
                break;
            }
            cf_buf_append(&b, p, (size_t)(at - p));
            cf_buf_append_str(&b, "list.csv");
            p = at + plen;
        }
        cf_buf_putc(&b, '\n');
    }
    char *text = cf_buf_take(&b, NULL);
    cf_buf_cleanup(&b);
    return text;
}

static const cf_web_form *form_by_id(const cf_web_server *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_forms; i++)
        if (strcmp(s->forms[i].form->id, id) == 0)
            return &s->forms[i];
    return NULL;
}

void cf_web_list_page(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    cf_buf *b = &out->body;
    cf_html_page_begin(b, r, "明日名單", "Tomorrow's list");
    cf_html_raw(b, "<form method=\"post\" action=\"/list/upload\" enctype=\"multipart/form-data\">"
                   "\n");
    cf_html_csrf(b, r);
    cf_html_raw(b, "<fieldset><legend>上載名單 <span class=\"en\">Upload the list</span>"
                   "</legend>\n<div class=\"field\"><label for=\"form\">表格 <span class=\"en\">"
                   "Form</span></label><select id=\"form\" name=\"form\" required>");
    for (size_t i = 0; i < s->n_forms; i++) {
        cf_html_raw(b, "<option value=\"");
        cf_html_text(b, s->forms[i].form->id);
        cf_html_raw(b, "\">");
        cf_html_text(b, s->forms[i].form->title);
        cf_html_raw(b, " (");
        cf_html_text(b, s->forms[i].form->id);
        cf_html_raw(b, ")</option>");
    }
    cf_html_raw(b, "</select></div>\n<div class=\"field\"><label for=\"csv\">CSV 檔案 "
                   "<span class=\"en\">CSV file (as exported, up to 20 MB)</span></label>"
                   "<input type=\"file\" id=\"csv\" name=\"csv\" accept=\".csv,.txt,text/csv\" "
                   "required></div>\n<p><button type=\"submit\">上載並檢查 Upload and check"
                   "</button></p></fieldset></form>\n");
    cf_html_page_end(b);
}

/* Keeps the upload as a list of the session's user; returns its entry (token set) or NULL. */
static const cf_web_list *keep_list(cf_web_server *s, const cf_web_request *r,
                                    const cf_web_upload *upload, const cf_web_form *form)
{
    size_t len = strlen(s->tmp_dir) + 20;
    char *path = cf_malloc(len);
    if (path == NULL)
        return NULL;
    snprintf(path, len, "%s/list-XXXXXX", s->tmp_dir);
    int fd = mkstemp(path);
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fd < 0 || rename(upload->path, path) != 0) {
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        cf_free(path);
        return NULL;
    }
    close(fd);
    unsigned char random[16];
    if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random) {
        unlink(path);
        cf_free(path);
        return NULL;
    }
    long long now = (long long)time(NULL);
    const cf_web_list *kept = NULL;
    pthread_mutex_lock(&s->lists_lock);
    /* The oldest entry (or one past its time) makes room. */
    size_t slot = 0;
    for (size_t i = 0; i < CF_WEB_LISTS_MAX; i++) {
        cf_web_list *l = &s->lists[i];
        if (l->csv_path != NULL && now - l->created > LIST_KEEP_SECONDS) {
            unlink(l->csv_path);
            cf_free(l->csv_path);
            l->csv_path = NULL;
        }
        if (l->csv_path == NULL ||
            (s->lists[slot].csv_path != NULL && l->created < s->lists[slot].created))
            slot = i;
    }
    cf_web_list *l = &s->lists[slot];
    if (l->csv_path != NULL) {
        unlink(l->csv_path);
        cf_free(l->csv_path);
    }
    for (size_t i = 0; i < sizeof random; i++)
        snprintf(l->token + 2 * i, 3, "%02x", random[i]);
    snprintf(l->user, sizeof l->user, "%s", r->session.user);
    l->csv_path = path;
    l->form = form;
    l->created = now;
    kept = l;
    pthread_mutex_unlock(&s->lists_lock);
    return kept;
}

/* Copies the list with token of this user (path and form) out of the table; false when there
 * is none (expired, another user's, never made). */
static bool find_list(cf_web_server *s, const cf_web_request *r, const char *token, char **csv_path,
                      const cf_web_form **form)
{
    bool found = false;
    if (token == NULL || strlen(token) != 32)
        return false;
    pthread_mutex_lock(&s->lists_lock);
    for (size_t i = 0; i < CF_WEB_LISTS_MAX; i++) {
        cf_web_list *l = &s->lists[i];
        if (l->csv_path != NULL && strcmp(l->token, token) == 0 &&
            strcmp(l->user, r->session.user) == 0) {
            *csv_path = cf_strdup(l->csv_path);
            *form = l->form;
            found = *csv_path != NULL;
        }
    }
    pthread_mutex_unlock(&s->lists_lock);
    return found;
}

/* The --map lines of the textarea "maps" as mappings (each line one COLUMN=FIELD). */
static cf_status mappings_from(cf_web_request *r, cf_csv_mappings **out, cf_diag *diag)
{
    *out = cf_csv_mappings_new();
    if (*out == NULL)
        return CF_ERR_NOMEM;
    const char *maps = cf_web_arg(r, "maps");
    if (maps == NULL)
        return CF_OK;
    char *copy = cf_strdup(maps);
    if (copy == NULL)
        return CF_ERR_NOMEM;
    cf_status st = CF_OK;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\r\n", &save); line && st == CF_OK;
         line = strtok_r(NULL, "\r\n", &save)) {
        if (strspn(line, " \t") == strlen(line))
            continue;
        st = cf_csv_mappings_add(*out, line, diag);
    }
    cf_free(copy);
    return st;
}

/* The column matching of the list's header: a table column -> field. */
static cf_status show_matching(cf_buf *b, const cf_form *form, const char *csv_path,
                               const cf_csv_mappings *mappings, cf_diag *diag)
{
    cf_csv_reader *reader = NULL;
    cf_csv_map *map = NULL;
    const char *const *header = NULL;
    size_t n = 0;
    cf_status st = cf_csv_reader_open(csv_path, CF_CSV_ENCODING_AUTO, NULL, &reader, diag);
    if (st == CF_OK)
        st = cf_csv_next_row(reader, &header, &n);
    if (st == CF_OK)
        st = cf_csv_map_build(form, mappings, header, n, "list", 1, &map, diag);
    if (st == CF_OK) {
        cf_html_raw(b, "<table>\n<caption>欄位配對 <span class=\"en\">How the columns were "
                       "matched</span></caption>\n<thead><tr><th scope=\"col\">欄 Column</th>"
                       "<th scope=\"col\">欄位 Field</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < cf_csv_map_columns(map); i++) {
            const char *key = cf_csv_map_get_key(map, i);
            cf_html_raw(b, "<tr><td>");
            cf_html_text(b, cf_csv_map_get_name(map, i));
            cf_html_raw(b, "</td><td>");
            if (key != NULL)
                cf_html_text(b, key);
            else if (i == cf_csv_map_ward_column(map))
                cf_html_raw(b, "ward <span class=\"en\">(病房，存檔用，不列印 the ward of each "
                               "row, kept in the archive, not printed)</span>");
            else
                cf_html_raw(b, "<span class=\"en\">(不用 extra column)</span>");
            cf_html_raw(b, "</td></tr>\n");
        }
        cf_html_raw(b, "</tbody></table>\n");
    }
    cf_csv_map_free(map);
    cf_csv_reader_close(reader);
    return st;
}

/* The preflight: cf_batch_run --check into a scratch folder, its manifest shown row by row. */
static cf_status show_preflight(cf_web_server *s, cf_buf *b, const cf_web_form *wf,
                                const char *csv_path, const cf_csv_mappings *mappings,
                                const char *operator_name, size_t *good, cf_diag *diag);

/* Runs the batch for the list; check_only for the preflight. out_dir is made by the caller. */
static cf_status run_batch(cf_web_server *s, const cf_web_form *wf, const char *csv_path,
                           const cf_csv_mappings *mappings, const char *out_dir,
                           const char *combined, const char *operator_name, const char *ward,
                           bool check_only, cf_batch_summary *summary, cf_diag *diag)
{
    const cf_fontset *fonts = NULL;
    cf_status st = cf_fontset_get(wf->form->region, &fonts, diag);
    if (st != CF_OK)
        return st;
    cf_batch_options o = {
        .form = wf->form,
        .form_path = wf->path,
        .fonts = fonts,
        .csv_path = csv_path,
        .encoding = CF_CSV_ENCODING_AUTO,
        .mappings = mappings,
        .out_dir = out_dir,
        /* The row first, so that the ZIP lists the files in the list's order. */
        .name_template = cf_form_get_field(wf->form, "hospital_no") ? "{row}-{hospital_no}.pdf"
                                                                    : "{row}-{form}.pdf",
        .combined = combined,
        .force = true,
        .check_only = check_only,
        .paper = CF_PAPER_A4,
        .jobs = 2,
        .archive = check_only ? NULL : s->archive,
        .archive_dir = s->store,
        .operator_name = operator_name,
        .ward = ward != NULL && ward[0] != '\0' ? ward : NULL,
        .created = cf_document_time(),
    };
    memset(summary, 0, sizeof *summary);
    return cf_batch_run(&o, summary, diag);
}

static cf_status show_preflight(cf_web_server *s, cf_buf *b, const cf_web_form *wf,
                                const char *csv_path, const cf_csv_mappings *mappings,
                                const char *operator_name, size_t *good, cf_diag *diag)
{
    char *dir = cf_web_temp_dir(s, "batch");
    if (dir == NULL)
        return CF_ERR_CANTCREAT;
    cf_batch_summary summary;
    cf_status st = run_batch(s, wf, csv_path, mappings, dir, NULL, operator_name, NULL,
                             /*check_only*/ true, &summary, diag);
    cf_csv_reader *reader = NULL;
    if (st == CF_OK) {
        char manifest[4300];
        snprintf(manifest, sizeof manifest, "%s/%s", dir, CF_BATCH_MANIFEST);
        st = cf_csv_reader_open(manifest, CF_CSV_ENCODING_UTF8, NULL, &reader, diag);
    }
    if (st == CF_OK) {
        *good = summary.printed;
        char line[256];
        snprintf(line, sizeof line,
                 "<p>%zu 行：<span class=\"good\">%zu 可列印 ok</span>，<span class=\"bad\">%zu "
                 "有問題 with a problem</span> <span class=\"en\">(%zu rows)</span></p>\n",
                 summary.rows, summary.printed, summary.failed, summary.rows);
        cf_html_raw(b, line);
        cf_html_raw(b, "<table>\n<caption>預檢 <span class=\"en\">Preflight, every row"
                       "</span></caption>\n");
        /* The manifest's columns a clerk needs before printing: the row, ok or what is
         * wrong, the label values and the list's own extra columns; not the file, hash and
         * page columns of a run. */
        static const char *const hidden[] = {"file",     "document_id", "sha256", "pages",
                                             "override", "form_sha256", "message"};
        bool show[256] = {false};
        size_t status_col = (size_t)-1, message_col = (size_t)-1;
        const char *const *fields = NULL;
        size_t n = 0;
        bool head = true;
        while (cf_csv_next_row(reader, &fields, &n) == CF_OK && fields != NULL) {
            if (head) {
                cf_html_raw(b, "<thead><tr>");
                for (size_t i = 0; i < n && i < 256; i++) {
                    show[i] = true;
                    for (size_t h = 0; h < sizeof hidden / sizeof *hidden; h++)
                        show[i] = show[i] && strcmp(fields[i], hidden[h]) != 0;
                    if (strcmp(fields[i], "status") == 0)
                        status_col = i;
                    if (strcmp(fields[i], "message") == 0)
                        message_col = i;
                    if (!show[i])
                        continue;
                    cf_html_raw(b, "<th scope=\"col\">");
                    cf_html_text(b, fields[i]);
                    cf_html_raw(b, "</th>");
                }
                cf_html_raw(b, "</tr></thead>\n<tbody>\n");
                head = false;
                continue;
            }
            cf_html_raw(b, "<tr>");
            for (size_t i = 0; i < n && i < 256; i++) {
                if (!show[i])
                    continue;
                cf_html_raw(b, "<td>");
                if (i == status_col && strcmp(fields[i], "ok") == 0) {
                    cf_html_raw(b, "<span class=\"good\">可列印 ok</span>");
                } else if (i == status_col) {
                    cf_html_raw(b, "<span class=\"bad\">有問題 ");
                    cf_html_text(b, fields[i]);
                    cf_html_raw(b, "</span>");
                    if (message_col < n) {
                        cf_html_raw(b, "<br>");
                        cf_html_text(b, fields[message_col]);
                    }
                } else {
                    cf_html_text(b, fields[i]);
                }
                cf_html_raw(b, "</td>");
            }
            cf_html_raw(b, "</tr>\n");
        }
        cf_html_raw(b, "</tbody></table>\n");
    }
    cf_csv_reader_close(reader);
    cf_web_remove_dir(dir);
    cf_free(dir);
    return st;
}

/* The page of a kept list: matching, preflight, and the two ways to print. */
static void list_view(cf_web_server *s, cf_web_request *r, cf_web_response *out, const char *token,
                      const cf_web_form *wf, const char *csv_path)
{
    cf_buf *b = &out->body;
    cf_diag *diag = cf_diag_new();
    cf_csv_mappings *mappings = NULL;
    cf_status st = diag ? mappings_from(r, &mappings, diag) : CF_ERR_NOMEM;
    cf_html_page_begin(b, r, "明日名單", "Tomorrow's list");
    cf_html_raw(b, "<p>");
    cf_html_text(b, wf->form->title);
    cf_html_raw(b, " <span class=\"en\">");
    cf_html_text(b, wf->form->id);
    cf_html_raw(b, "</span></p>\n");
    size_t good = 0;
    if (st == CF_OK)
        st = show_matching(b, wf->form, csv_path, mappings, diag);
    if (st == CF_OK)
        st = show_preflight(s, b, wf, csv_path, mappings, r->session.user, &good, diag);
    if (st != CF_OK || cf_diag_size(diag) > 0) {
        char *text = diag_lines(diag, csv_path);
        cf_html_raw(b, st != CF_OK ? "<div class=\"error\" role=\"alert\">"
                                   : "<div class=\"notice\">");
        cf_html_raw(b, "<pre>");
        cf_html_text(b, text);
        cf_html_raw(b, "</pre></div>\n");
        cf_free(text);
        if (st != CF_OK)
            out->status = MHD_HTTP_UNPROCESSABLE_CONTENT;
    }
    /* The matching can be changed with --map lines and checked again. */
    cf_html_raw(b, "<form method=\"post\" action=\"/list/run\">\n");
    cf_html_csrf(b, r);
    cf_html_raw(b, "<input type=\"hidden\" name=\"list\" value=\"");
    cf_html_text(b, token);
    cf_html_raw(b, "\">\n<fieldset><legend>更改配對 <span class=\"en\">Change the matching"
                   "</span></legend>\n<div class=\"field\"><label for=\"maps\">每行一個 欄=欄位 "
                   "<span class=\"en\">one COLUMN=field a line, as --map</span></label>"
                   "<textarea id=\"maps\" name=\"maps\" rows=\"3\" cols=\"40\">");
    cf_html_text(b, cf_web_arg(r, "maps"));
    cf_html_raw(b, "</textarea></div>\n</fieldset>\n<fieldset><legend>病房 <span class=\"en\">"
                   "Ward</span></legend>\n<div class=\"field\"><label for=\"ward\">名單的病房 "
                   "<span class=\"en\">Ward of the list (a ward column of the list wins; kept in "
                   "the archive, not printed)</span></label><input type=\"text\" id=\"ward\" "
                   "name=\"ward\" maxlength=\"32\" value=\"");
    cf_html_text(b, cf_web_arg(r, "ward") != NULL ? cf_web_arg(r, "ward") : r->session.ward);
    cf_html_raw(b, "\"></div>\n</fieldset>\n<div class=\"actions\">"
                   "<button type=\"submit\" name=\"action\" value=\"check\" class=\"secondary\">"
                   "再檢查 Check again</button>\n");
    if (st == CF_OK && good > 0) {
        if (s->printer != NULL)
            cf_html_raw(b, "<button type=\"submit\" name=\"action\" value=\"print\">列印可列印的行"
                           "（雙面，一個工作）Print the good rows (one duplex job)</button>\n");
        cf_html_raw(b, "<button type=\"submit\" name=\"action\" value=\"zip\">下載 ZIP "
                       "Download a ZIP of the PDFs</button>\n");
    }
    cf_html_raw(b, "</div>\n</form>\n");
    cf_html_page_end(b);
    cf_csv_mappings_free(mappings);
    cf_diag_free(diag);
}

void cf_web_list_upload(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const cf_web_form *wf = form_by_id(s, cf_web_arg(r, "form"));
    const cf_web_upload *csv = cf_web_file(r, "csv");
    if (wf == NULL || csv == NULL || csv->size == 0) {
        cf_html_error(out, r, MHD_HTTP_BAD_REQUEST, "請選擇表格及 CSV 檔案",
                      "Choose a form and a CSV file", NULL);
        return;
    }
    /* By content: text, not a PDF, image, archive or program (no NUL byte in the first block
     * unless it is UTF-16 with its byte-order mark). */
    unsigned char head[4096] = {0};
    ssize_t n = -1;
    int fd = open(csv->path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, head, sizeof head);
        close(fd);
    }
    bool utf16 =
        n >= 2 && ((head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF));
    if (n <= 0 || (!utf16 && memchr(head, 0, (size_t)n) != NULL)) {
        cf_html_error(out, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "這不是 CSV 檔案",
                      "This is not a CSV file (text)", NULL);
        return;
    }
    const cf_web_list *l = keep_list(s, r, csv, wf);
    if (l == NULL) {
        cf_html_error(out, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "未能保存名單",
                      "The list could not be kept", NULL);
        return;
    }
    char token[33];
    snprintf(token, sizeof token, "%s", l->token);
    char *path = NULL;
    const cf_web_form *form = NULL;
    if (!find_list(s, r, token, &path, &form)) {
        cf_html_error(out, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "未能保存名單",
                      "The list could not be kept", NULL);
        return;
    }
    list_view(s, r, out, token, form, path);
    cf_free(path);
}

/* The documents of a list run, each with a link to its record (and its PDF there). */
static void ids_table(cf_buf *b, char *const *ids, size_t n)
{
    cf_html_raw(b, "<table>\n<caption>已發出的文件 <span class=\"en\">Documents issued and "
                   "archived</span></caption>\n<thead><tr><th scope=\"col\">文件編號 Document"
                   "</th><th scope=\"col\">PDF</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        cf_html_raw(b, "<tr><td><a href=\"/doc?id=");
        cf_html_text(b, ids[i]);
        cf_html_raw(b, "\">");
        cf_html_text(b, ids[i]);
        cf_html_raw(b, "</a></td><td><a target=\"_blank\" rel=\"noopener\" href=\"/doc/pdf?id=");
        cf_html_text(b, ids[i]);
        cf_html_raw(b, "\">PDF</a></td></tr>\n");
    }
    cf_html_raw(b, "</tbody></table>\n");
}

/* Records a "downloaded" event for each document of the run in dir (its manifest's printed
 * rows), naming the run: the ZIP's name and the run's folder (a random name, no patient
 * value). */
static cf_status record_zip_downloads(cf_web_server *s, cf_web_request *r, const char *dir,
                                      const char *form_id, cf_diag *diag)
{
    char **ids = NULL;
    size_t n = 0;
    cf_status st = cf_batch_manifest_ids(dir, &ids, &n, diag);
    if (st == CF_OK && n > 0) {
        const char *base = strrchr(dir, '/');
        char run[200];
        snprintf(run, sizeof run, "%s-list.zip (%s)", form_id, base != NULL ? base + 1 : dir);
        st = cf_archive_record_downloads(s->archive, (const char *const *)ids, n,
                                         CF_ARCHIVE_DOWNLOAD_LIST_ZIP, 0, run, r->session.user,
                                         diag);
    }
    cf_batch_ids_free(ids, n);
    return st;
}

/* Sends the good rows: one combined duplex job, or a ZIP of the single PDFs. */
static void list_deliver(cf_web_server *s, cf_web_request *r, cf_web_response *out,
                         const cf_web_form *wf, const char *csv_path, bool print)
{
    cf_diag *diag = cf_diag_new();
    cf_csv_mappings *mappings = NULL;
    char *dir = cf_web_temp_dir(s, "batch");
    char combined[4300] = "", zip_path[4300] = "";
    cf_status st = diag && dir ? mappings_from(r, &mappings, diag) : CF_ERR_NOMEM;
    if (dir != NULL) {
        snprintf(combined, sizeof combined, "%s/combined.pdf", dir);
        snprintf(zip_path, sizeof zip_path, "%s.zip", dir);
    }
    char ward[CF_WARD_SIZE] = "";
    const char *why = NULL;
    if (st == CF_OK && cf_ward_clean(cf_web_arg(r, "ward"), ward, &why) != CF_OK) {
        cf_diag_error(diag, "病房 Ward", 0,
                      "the ward %s (at most %d characters, no control characters); nothing was "
                      "printed",
                      why, CF_WARD_MAX);
        st = CF_ERR_DATA;
    }
    cf_batch_summary summary = {0};
    if (st == CF_OK)
        st = run_batch(s, wf, csv_path, mappings, dir, print ? combined : NULL, r->session.user,
                       ward, /*check_only*/ false, &summary, diag);
    if (st == CF_OK && ward[0] != '\0')
        cf_auth_session_set_ward(s->auth, r->session_id, ward);
    /* The documents issued (and archived) by the run, for the print's archive events and the
     * page. */
    char **ids = NULL;
    size_t n_ids = 0;
    if (st == CF_OK && print)
        st = cf_batch_manifest_ids(dir, &ids, &n_ids, diag);
    cf_buf printed;
    cf_buf_init(&printed, 1 << 20);
    if (st == CF_OK && print) {
        char title[128];
        snprintf(title, sizeof title, "%s list (%zu)", wf->form->id, summary.printed);
        (void)cf_web_print(s, r, combined, title, (const char *const *)ids, n_ids, &printed);
    }
    if (st == CF_OK && !print)
        st = cf_zip_folder_pdfs(dir, zip_path, diag);
    /* Every document in the ZIP is downloaded by this user: recorded before it is sent. */
    if (st == CF_OK && !print)
        st = record_zip_downloads(s, r, dir, wf->form->id, diag);
    cf_web_remove_dir(dir);
    if (st != CF_OK) {
        char *text = diag_lines(diag, csv_path);
        cf_html_error(out, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "未能完成", "Not done", text);
        cf_free(text);
        unlink(zip_path);
    } else if (print) {
        cf_buf *b = &out->body;
        cf_html_page_begin(b, r, "列印名單", "Printing the list");
        char line[256];
        snprintf(line, sizeof line,
                 "<p class=\"good\" role=\"status\">%zu 份文件已發出並存檔 "
                 "<span class=\"en\">documents issued and archived</span></p>\n",
                 summary.printed);
        cf_html_raw(b, line);
        cf_buf_append(b, printed.data, printed.len);
        ids_table(b, ids, n_ids);
        cf_html_page_end(b);
    } else {
        out->content_type = "application/zip";
        out->file_path = cf_strdup(zip_path);
        out->remove_file = true;
        snprintf(out->disposition, sizeof out->disposition, "attachment; filename=\"%s-list.zip\"",
                 wf->form->id);
    }
    cf_buf_cleanup(&printed);
    cf_batch_ids_free(ids, n_ids);
    cf_free(dir);
    cf_csv_mappings_free(mappings);
    cf_diag_free(diag);
}

void cf_web_list_run(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const char *token = cf_web_arg(r, "list");
    const char *action = cf_web_arg(r, "action");
    char *path = NULL;
    const cf_web_form *wf = NULL;
    if (!find_list(s, r, token, &path, &wf)) {
        cf_html_error(out, r, MHD_HTTP_NOT_FOUND, "名單已過期，請重新上載",
                      "The list is gone (expired); upload it again", NULL);
        return;
    }
    if (action != NULL && strcmp(action, "zip") == 0)
        list_deliver(s, r, out, wf, path, false);
    else if (action != NULL && strcmp(action, "print") == 0 && s->printer != NULL)
        list_deliver(s, r, out, wf, path, true);
    else
        list_view(s, r, out, token, wf, path);
    cf_free(path);
}
