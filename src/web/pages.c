/* The pages of `consentform serve` and the route table. Every page is a thin view over the
 * library: forms (form.h), the issue path (render/issue.h), the SVG backend, printing, the
 * batch engine and archive queries. Values reach HTML only through cf_html_text. */
#include "base/alloc.h"
#include "base/date.h"
#include "base/diag.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "data/ward.h"
#include "render/document.h"
#include "render/issue.h"
#include "render/print.h"
#include "render/render_svg.h"
#include "text/font.h"
#include "web/web_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- shared bits ---- */

/* diag's messages as one text, for the page (they name fields and rows, as on the command
 * line). Caller frees. */
static char *diag_text(const cf_diag *diag)
{
    cf_buf b;
    cf_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < cf_diag_size(diag); i++) {
        char line[1024];
        cf_diag_format(cf_diag_get(diag, i), line, sizeof line);
        cf_buf_append_str(&b, line);
        cf_buf_putc(&b, '\n');
    }
    char *text = cf_buf_take(&b, NULL);
    cf_buf_cleanup(&b);
    return text;
}

static void error_with_diag(cf_web_response *out, const cf_web_request *r, unsigned status,
                            const char *zh, const char *en, const cf_diag *diag)
{
    char *text = diag ? diag_text(diag) : NULL;
    cf_html_error(out, r, status, zh, en, text);
    cf_free(text);
}

/* The form with id, among those the server offers (never a path from the request). */
static const cf_web_form *find_form(const cf_web_server *s, const char *id)
{
    if (id == NULL)
        return NULL;
    for (size_t i = 0; i < s->n_forms; i++)
        if (strcmp(s->forms[i].form->id, id) == 0)
            return &s->forms[i];
    return NULL;
}

/* True when a document id has the archive's shape: [0-9A-Z-]{1,32}. */
static bool is_document_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > CF_ARCHIVE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isdigit((unsigned char)id[i]) || (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-'))
            return false;
    return true;
}

/* The text of a cf_text, fields as a blank line. */
static void text_plain(cf_buf *b, const cf_text *t)
{
    for (size_t i = 0; t && i < t->n_spans; i++)
        cf_html_text(b, t->spans[i].kind == CF_SPAN_TEXT ? t->spans[i].text : "____");
}

/* Whether a form can be issued today without an override, and the override it needs. */
static unsigned form_needs(const cf_form *form, bool *refused)
{
    cf_diag *quiet = cf_diag_new();
    unsigned used = 0;
    *refused = false;
    if (quiet == NULL)
        return 0;
    cf_issue_options o = {.allow = CF_FORM_ALLOW_DRAFT | CF_FORM_ALLOW_EXPIRED};
    if (cf_issue_check_form(form, &o, &used, quiet) != CF_OK)
        *refused = true;
    cf_diag_free(quiet);
    return used;
}

/* ---- the ward ---- */

/* The ward the request gives (field "ward"), trimmed, into out ("" for none). CF_ERR_DATA with
 * a message naming the input when it cannot be kept (too long, control characters). */
static cf_status request_ward(cf_web_request *r, char out[CF_WARD_SIZE], cf_diag *diag)
{
    const char *why = NULL;
    if (cf_ward_clean(cf_web_arg(r, "ward"), out, &why) == CF_OK)
        return CF_OK;
    cf_diag_error(diag, "病房 Ward", 0,
                  "the ward %s (at most %d characters, no control characters)", why, CF_WARD_MAX);
    return CF_ERR_DATA;
}

/* The 病房 Ward input of a print page: the request's value, else the session's last ward; a
 * list of the wards the store has seen to choose from. */
static void ward_input(cf_buf *b, cf_web_server *s, cf_web_request *r)
{
    const char *value = cf_web_arg(r, "ward");
    if (value == NULL)
        value = r->session.ward;
    cf_html_raw(b, "<div class=\"field\"><label for=\"ward\">病房 <span class=\"en\">Ward "
                   "(kept in the archive, not printed)</span></label><input type=\"text\" "
                   "id=\"ward\" name=\"ward\" maxlength=\"32\" list=\"wards\" "
                   "autocomplete=\"off\" value=\"");
    cf_html_text(b, value);
    cf_html_raw(b, "\"><datalist id=\"wards\">");
    cf_archive_wards wards = {0};
    if (cf_archive_ward_list(s->archive, 0, 0, &wards, NULL) == CF_OK)
        for (size_t i = 0; i < wards.count; i++) {
            cf_html_raw(b, "<option value=\"");
            cf_html_text(b, wards.names[i]);
            cf_html_raw(b, "\">");
        }
    cf_archive_wards_cleanup(&wards);
    cf_html_raw(b, "</datalist></div>\n");
}

/* ---- login ---- */

static void login_form(cf_buf *b, const char *message)
{
    if (message != NULL) {
        cf_html_raw(b, "<p class=\"error\" role=\"alert\">");
        cf_html_text(b, message);
        cf_html_raw(b, "</p>\n");
    }
    cf_html_raw(b,
                "<form method=\"post\" action=\"/login\">\n<fieldset><legend>登入 Log in</legend>\n"
                "<div class=\"field\"><label for=\"name\">用戶名稱 <span class=\"en\">User "
                "name</span></label><input type=\"text\" id=\"name\" name=\"name\" "
                "autocomplete=\"username\" required autofocus></div>\n"
                "<div class=\"field\"><label for=\"password\">密碼 <span class=\"en\">"
                "Password</span></label><input type=\"password\" id=\"password\" "
                "name=\"password\" autocomplete=\"current-password\" required></div>\n"
                "<p><button type=\"submit\">登入 Log in</button></p>\n</fieldset></form>\n");
}

static void login_page(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    (void)s;
    cf_html_page_begin(&out->body, r, "登入", "Log in");
    login_form(&out->body, NULL);
    cf_html_page_end(&out->body);
}

static void login_post(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const char *name = cf_web_arg(r, "name");
    const char *password = cf_web_arg(r, "password");
    char sid[CF_AUTH_TOKEN_HEX] = "";
    cf_session session;
    cf_login_result result =
        name && password && name[0] && strlen(name) < 64
            ? cf_auth_login(s->auth, name, password, r->peer, time(NULL), sid, &session)
            : CF_LOGIN_BAD;
    if (result == CF_LOGIN_OK) {
        snprintf(out->set_cookie, sizeof out->set_cookie,
                 "cf_session=%s; Path=/; HttpOnly; Secure; SameSite=Strict", sid);
        cf_web_redirect(out, "/");
        return;
    }
    const char *message = result == CF_LOGIN_LOCKED
                              ? "帳戶或地址已鎖定 15 分鐘。Locked for 15 minutes after 5 failed "
                                "log-ins."
                          : result == CF_LOGIN_DISABLED
                              ? "帳戶已停用。This account is disabled."
                              : "用戶名稱或密碼不正確。Wrong user name or password.";
    out->status = result == CF_LOGIN_LOCKED ? MHD_HTTP_TOO_MANY_REQUESTS : MHD_HTTP_UNAUTHORIZED;
    cf_html_page_begin(&out->body, r, "登入", "Log in");
    login_form(&out->body, message);
    cf_html_page_end(&out->body);
}

static void logout_post(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    cf_auth_logout(s->auth, r->session_id);
    snprintf(out->set_cookie, sizeof out->set_cookie,
             "cf_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    cf_web_redirect(out, "/login");
}

/* ---- forms ---- */

static void forms_page(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    cf_buf *b = &out->body;
    cf_html_page_begin(b, r, "表格", "Forms");
    cf_html_raw(b, "<table>\n<caption class=\"en\">選擇要列印的表格 Choose a form to print"
                   "</caption>\n<thead><tr><th scope=\"col\">表格 Form</th><th scope=\"col\">"
                   "版本 Version</th><th scope=\"col\">狀態 Status</th><th scope=\"col\">"
                   "列印 Print</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < s->n_forms; i++) {
        const cf_form *f = s->forms[i].form;
        bool refused = false;
        unsigned needs = form_needs(f, &refused);
        cf_html_raw(b, "<tr><td>");
        cf_html_text(b, f->title);
        cf_html_raw(b, "<br><span class=\"en\">");
        cf_html_text(b, f->id);
        cf_html_raw(b, "</span></td><td>");
        cf_html_text(b, f->version);
        cf_html_raw(b, "</td><td>");
        if (refused)
            cf_html_raw(b, "<span class=\"bad\">不可發出 not issuable</span>");
        else if (needs != 0) {
            cf_html_raw(b, "<span class=\"warn\">");
            cf_html_raw(b, (needs & CF_FORM_ALLOW_DRAFT) ? "草稿 draft " : "");
            cf_html_raw(b, (needs & CF_FORM_ALLOW_EXPIRED) ? "已過期 expired " : "");
            cf_html_raw(b, "— 只限管理員 admin only</span>");
        } else
            cf_html_raw(b, "<span class=\"good\">生效 in force</span>");
        cf_html_raw(b, "</td><td>");
        if (!refused && (needs == 0 || r->session.role == CF_ROLE_ADMIN)) {
            cf_html_raw(b, "<a class=\"button\" href=\"/form?id=");
            cf_html_text(b, f->id);
            cf_html_raw(b, "\">列印 Print<span class=\"skip\"> ");
            cf_html_text(b, f->id);
            cf_html_raw(b, "</span></a>");
        }
        cf_html_raw(b, "</td></tr>\n");
    }
    cf_html_raw(b, "</tbody></table>\n");
    cf_html_page_end(b);
}

/* The value the request gives for field (multi-choice: every checked option, joined by ';'). */
static char *field_value(cf_web_request *r, const cf_field *field)
{
    char name[128];
    snprintf(name, sizeof name, "f_%s", field->key);
    cf_buf b;
    cf_buf_init(&b, CF_WEB_FIELDS_BYTES);
    for (size_t i = 0; i < r->n_fields; i++) {
        if (strcmp(r->fields[i].name, name) != 0 || r->fields[i].value[0] == '\0')
            continue;
        if (b.len > 0)
            cf_buf_putc(&b, ';');
        cf_buf_append_str(&b, r->fields[i].value);
        if (field->type != CF_FIELD_MULTI_CHOICE)
            break;
    }
    char *value = cf_buf_take(&b, NULL);
    cf_buf_cleanup(&b);
    return value; /* NULL when nothing was given */
}

/* The record of the form's fields from the request; the values are checked by the library
 * (cf_record_check), not here. */
static cf_record *record_from_request(cf_web_request *r, const cf_form *form)
{
    cf_record *record = cf_record_new("form", 0);
    if (record == NULL)
        return NULL;
    for (size_t i = 0; i < form->n_fields; i++) {
        char *value = field_value(r, &form->fields[i]);
        if (value != NULL && cf_record_set(record, form->fields[i].key, value) != CF_OK) {
            cf_free(value);
            cf_record_free(record);
            return NULL;
        }
        cf_free(value);
    }
    return record;
}

/* The inputs of one field, prefilled with value (may be NULL). */
static void field_input(cf_buf *b, const cf_field *f, const char *value)
{
    char id[128];
    snprintf(id, sizeof id, "f_%s", f->key);
    if (f->type == CF_FIELD_CHOICE || f->type == CF_FIELD_MULTI_CHOICE) {
        bool multi = f->type == CF_FIELD_MULTI_CHOICE;
        cf_html_raw(b, "<fieldset class=\"choices\"><legend>");
        cf_html_text(b, f->caption);
        cf_html_raw(b, multi ? " <span class=\"en\">(可選多項 any)</span>"
                             : " <span class=\"en\">(選一項 one)</span>");
        cf_html_raw(b, "</legend>\n");
        if (!multi && !f->required) {
            cf_html_raw(b, "<label><input type=\"radio\" name=\"");
            cf_html_text(b, id);
            cf_html_raw(b, "\" value=\"\"");
            cf_html_raw(b, value == NULL || value[0] == '\0' ? " checked" : "");
            cf_html_raw(b, "> 不適用 <span class=\"en\">none</span></label>\n");
        }
        for (size_t o = 0; o < f->n_options; o++) {
            const char *key = f->options[o].key;
            bool on = false;
            if (value != NULL) {
                size_t klen = strlen(key);
                for (const char *p = value; *p;) {
                    const char *end = strchr(p, ';');
                    size_t len = end ? (size_t)(end - p) : strlen(p);
                    on = on || (len == klen && strncmp(p, key, klen) == 0);
                    p += len + (end ? 1 : 0);
                }
            }
            cf_html_raw(b, multi ? "<label><input type=\"checkbox\" name=\""
                                 : "<label><input type=\"radio\" name=\"");
            cf_html_text(b, id);
            cf_html_raw(b, "\" value=\"");
            cf_html_text(b, key);
            cf_html_raw(b, "\"");
            cf_html_raw(b, on ? " checked" : "");
            cf_html_raw(b, f->required && !multi && o == 0 ? " required" : "");
            cf_html_raw(b, "> ");
            text_plain(b, f->options[o].text);
            cf_html_raw(b, "</label>\n");
        }
        cf_html_raw(b, "</fieldset>\n");
        return;
    }
    cf_html_raw(b, "<div class=\"field\"><label for=\"");
    cf_html_text(b, id);
    cf_html_raw(b, "\">");
    cf_html_text(b, f->caption);
    cf_html_raw(b, f->required ? " <span class=\"en\">(必填 required)</span>" : "");
    cf_html_raw(b, "</label><input id=\"");
    cf_html_text(b, id);
    cf_html_raw(b, "\" name=\"");
    cf_html_text(b, id);
    cf_html_raw(b, f->type == CF_FIELD_DATE ? "\" type=\"date\"" : "\" type=\"text\"");
    /* Label fields may come from a barcode scanner: Enter moves on (web/app.js). */
    cf_html_raw(b, f->label ? " data-scan autocomplete=\"off\"" : "");
    cf_html_raw(b, f->required ? " required" : "");
    cf_html_raw(b, " value=\"");
    cf_html_text(b, value);
    cf_html_raw(b, "\"></div>\n");
}

/* The form's inputs: label fields, then its own fields. values: a request to prefill from. */
static void form_inputs(cf_buf *b, const cf_form *form, cf_web_request *values)
{
    cf_html_raw(b, "<fieldset><legend>病人標籤 <span class=\"en\">Patient label</span></legend>\n");
    for (size_t i = 0; i < form->n_fields; i++) {
        if (i == form->n_label_fields)
            cf_html_raw(b, "</fieldset>\n<fieldset><legend>表格內容 <span class=\"en\">"
                           "Fields of the form</span></legend>\n");
        char *value = values ? field_value(values, &form->fields[i]) : NULL;
        field_input(b, &form->fields[i], value);
        cf_free(value);
    }
    cf_html_raw(b, "</fieldset>\n");
}

static void form_header(cf_buf *b, const cf_form *form, const char *action, const cf_web_request *r)
{
    cf_html_raw(b, "<p>");
    cf_html_text(b, form->title);
    cf_html_raw(b, " <span class=\"en\">");
    cf_html_text(b, form->id);
    cf_html_raw(b, " v");
    cf_html_text(b, form->version);
    cf_html_raw(b, "</span></p>\n<form method=\"post\" action=\"");
    cf_html_raw(b, action);
    cf_html_raw(b, "\">\n");
    cf_html_csrf(b, r);
    cf_html_raw(b, "<input type=\"hidden\" name=\"form\" value=\"");
    cf_html_text(b, form->id);
    cf_html_raw(b, "\">\n");
}

/* The override a request asks for and may have: admins only, and only when ticked. */
static unsigned request_allow(const cf_web_request *r, cf_web_request *args)
{
    const char *o = cf_web_arg(args, "override");
    if (r->session.role != CF_ROLE_ADMIN || o == NULL || strcmp(o, "yes") != 0)
        return 0;
    return CF_FORM_ALLOW_DRAFT | CF_FORM_ALLOW_EXPIRED;
}

static void override_box(cf_buf *b, const cf_form *form, const cf_web_request *r, bool checked)
{
    bool refused = false;
    unsigned needs = form_needs(form, &refused);
    if (needs == 0 || r->session.role != CF_ROLE_ADMIN)
        return;
    cf_html_raw(b, "<p class=\"notice\"><label><input type=\"checkbox\" name=\"override\" "
                   "value=\"yes\"");
    cf_html_raw(b, checked ? " checked" : "");
    cf_html_raw(b, "> 此表格為");
    cf_html_raw(b, (needs & CF_FORM_ALLOW_DRAFT) ? "草稿" : "");
    cf_html_raw(b, (needs & CF_FORM_ALLOW_EXPIRED) ? "已過期" : "");
    cf_html_raw(b, "；我以管理員身分發出，記錄在檔案中。 <span class=\"en\">This form is ");
    cf_html_raw(b, cf_form_override_name(needs));
    cf_html_raw(b, "; I issue it as admin, recorded in the archive.</span></label></p>\n");
}

static void form_page(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const cf_web_form *wf = find_form(s, cf_web_arg(r, "id"));
    if (wf == NULL) {
        cf_html_error(out, r, MHD_HTTP_NOT_FOUND, "沒有此表格", "No such form", NULL);
        return;
    }
    cf_buf *b = &out->body;
    cf_html_page_begin(b, r, "列印表格", "Print a form");
    form_header(b, wf->form, "/preview", r);
    override_box(b, wf->form, r, false);
    ward_input(b, s, r);
    form_inputs(b, wf->form, NULL);
    cf_html_raw(b, "<div class=\"actions\"><button type=\"submit\">預覽 Preview</button></div>\n"
                   "</form>\n");
    cf_html_page_end(b);
}

/* Back from the preview to the form, with the values kept. */
static void edit_post(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const cf_web_form *wf = find_form(s, cf_web_arg(r, "form"));
    if (wf == NULL) {
        cf_html_error(out, r, MHD_HTTP_NOT_FOUND, "沒有此表格", "No such form", NULL);
        return;
    }
    cf_buf *b = &out->body;
    cf_html_page_begin(b, r, "列印表格", "Print a form");
    form_header(b, wf->form, "/preview", r);
    override_box(b, wf->form, r, cf_web_arg(r, "override") != NULL);
    ward_input(b, s, r);
    form_inputs(b, wf->form, r);
    cf_html_raw(b, "<div class=\"actions\"><button type=\"submit\">預覽 Preview</button></div>\n"
                   "</form>\n");
    cf_html_page_end(b);
}

/* The checks before a preview or an issue: the form's status (with the admin's override), the
 * fonts, the values. */
static cf_status prepare(const cf_form *form, cf_record *record, unsigned allow,
                         const cf_fontset **fonts, cf_diag *diag)
{
    cf_issue_options o = {.allow = allow};
    cf_status st = cf_issue_check_form(form, &o, NULL, diag);
    if (st == CF_OK)
        st = cf_fontset_get(form->region, fonts, diag);
    if (st == CF_OK)
        st = cf_document_preflight(form, *fonts, diag);
    if (st == CF_OK)
        st = cf_record_check(form, record, *fonts, /*blank*/ false, diag);
    return st;
}

/* The values of the form again as hidden inputs (the preview's issue button sends them). */
static void hidden_values(cf_buf *b, cf_web_request *r, const cf_form *form)
{
    for (size_t i = 0; i < r->n_fields; i++) {
        const char *name = r->fields[i].name;
        if (strncmp(name, "f_", 2) != 0 || cf_form_get_field(form, name + 2) == NULL)
            continue;
        cf_html_raw(b, "<input type=\"hidden\" name=\"");
        cf_html_text(b, name);
        cf_html_raw(b, "\" value=\"");
        cf_html_text(b, r->fields[i].value);
        cf_html_raw(b, "\">\n");
    }
    if (cf_web_arg(r, "override") != NULL)
        cf_html_raw(b, "<input type=\"hidden\" name=\"override\" value=\"yes\">\n");
    if (cf_web_arg(r, "ward") != NULL) {
        cf_html_raw(b, "<input type=\"hidden\" name=\"ward\" value=\"");
        cf_html_text(b, cf_web_arg(r, "ward"));
        cf_html_raw(b, "\">\n");
    }
}

static void preview_post(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const cf_web_form *wf = find_form(s, cf_web_arg(r, "form"));
    if (wf == NULL) {
        cf_html_error(out, r, MHD_HTTP_NOT_FOUND, "沒有此表格", "No such form", NULL);
        return;
    }
    const cf_form *form = wf->form;
    cf_diag *diag = cf_diag_new();
    cf_record *record = record_from_request(r, form);
    const cf_fontset *fonts = NULL;
    cf_display_list *list = NULL;
    cf_svg_pages pages = {0};
    char document_id[CF_DOCUMENT_ID_SIZE] = "";
    char ward[CF_WARD_SIZE] = "";
    cf_status st = diag && record ? request_ward(r, ward, diag) : CF_ERR_NOMEM;
    if (st == CF_OK)
        st = prepare(form, record, request_allow(r, r), &fonts, diag);
    /* The bodies this process keeps for the form (the preview is laid out as the issue is). */
    char fingerprint[CF_SHA256_HEX_SIZE] = "";
    const cf_web_form_state *fs = NULL;
    if (st == CF_OK && cf_form_fingerprint(form, fingerprint) == CF_OK)
        fs = cf_web_form_state_get(s, form, fonts, fingerprint);
    cf_document_options options = {.paper = CF_PAPER_A4,
                                   .created = cf_document_time(),
                                   .form_sha256 = fingerprint[0] != '\0' ? fingerprint : NULL,
                                   .layout_cache = fs != NULL ? fs->layout_cache : NULL};
    if (st == CF_OK)
        st = cf_document_layout(form, record, fonts, &options, document_id, &list, diag);
    if (st == CF_OK)
        st = cf_render_svg(list, &pages, diag);
    cf_buf *b = &out->body;
    if (st != CF_OK) {
        /* Back to the form with the values kept and what is wrong above it. */
        out->status = MHD_HTTP_UNPROCESSABLE_CONTENT;
        cf_html_page_begin(b, r, "列印表格", "Print a form");
        char *text = diag ? diag_text(diag) : NULL;
        cf_html_raw(b, "<div class=\"error\" role=\"alert\"><p>請更正 Please correct:</p><pre>");
        cf_html_text(b, text);
        cf_html_raw(b, "</pre></div>\n");
        cf_free(text);
        form_header(b, form, "/preview", r);
        override_box(b, form, r, cf_web_arg(r, "override") != NULL);
        ward_input(b, s, r);
        form_inputs(b, form, r);
        cf_html_raw(b, "<div class=\"actions\"><button type=\"submit\">預覽 Preview</button>"
                       "</div>\n</form>\n");
        cf_html_page_end(b);
    } else {
        cf_html_page_begin(b, r, "預覽", "Preview");
        cf_html_raw(b, "<p>");
        char count[64];
        snprintf(count, sizeof count, "%zu 頁 <span class=\"en\">page%s</span>", pages.n,
                 pages.n == 1 ? "" : "s");
        cf_html_raw(b, count);
        cf_html_raw(b, "</p>\n");
        form_header(b, form, "/issue", r);
        hidden_values(b, r, form);
        cf_html_raw(b, "<div class=\"actions\"><button type=\"submit\">");
        cf_html_raw(b, s->printer ? "發出並列印 Issue and print (duplex)"
                                  : "發出並開啟 PDF Issue and open the PDF");
        cf_html_raw(b, "</button> <button type=\"submit\" class=\"secondary\" formaction=\"/edit\">"
                       "修改 Edit</button></div>\n</form>\n<div class=\"preview\">\n");
        for (size_t i = 0; i < pages.n; i++) {
            char caption[96];
            snprintf(caption, sizeof caption, "<figure role=\"img\" aria-label=\"page %zu\">",
                     i + 1);
            cf_html_raw(b, caption);
            /* The page's own SVG element (our own markup from the display list, every text
             * drawn as outlines), without its XML declaration. */
            const char *svg = strstr(pages.svg[i], "<svg");
            cf_html_raw(b, svg ? svg : "");
            snprintf(caption, sizeof caption,
                     "<figcaption>第 %zu 頁 page %zu</figcaption>"
                     "</figure>\n",
                     i + 1, i + 1);
            cf_html_raw(b, caption);
        }
        cf_html_raw(b, "</div>\n");
        cf_html_page_end(b);
    }
    cf_svg_pages_cleanup(&pages);
    cf_display_list_free(list);
    cf_record_free(record);
    cf_diag_free(diag);
}

/* A new private folder in STORE/tmp; caller removes it. */
char *cf_web_temp_dir(const cf_web_server *s, const char *prefix)
{
    size_t len = strlen(s->tmp_dir) + strlen(prefix) + 16;
    char *dir = cf_malloc(len);
    if (dir == NULL)
        return NULL;
    snprintf(dir, len, "%s/%s-XXXXXX", s->tmp_dir, prefix);
    if (mkdtemp(dir) == NULL) {
        cf_free(dir);
        return NULL;
    }
    return dir;
}

/* Removes dir and the files in it (one level: the folders made by cf_web_temp_dir). */
void cf_web_remove_dir(const char *dir)
{
    if (dir == NULL)
        return;
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[4352];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The messages [from, to) of diag without their file (the page shows no path of the server),
 * one a line. */
static void diag_messages(cf_buf *b, const cf_diag *diag, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < cf_diag_size(diag); i++) {
        cf_html_text(b, cf_diag_get(diag, i)->message);
        cf_html_raw(b, "\n");
    }
}

int cf_web_print(cf_web_server *s, const cf_web_request *r, const char *path, const char *title,
                 const char *const *ids, size_t n, cf_buf *b)
{
    cf_diag *diag = cf_diag_new();
    if (diag == NULL) {
        cf_html_raw(b, "<div class=\"error\" role=\"alert\" id=\"print-result\"><p>未能列印 "
                       "<span class=\"en\">Not printed (out of memory); the documents are "
                       "issued and archived</span></p></div>\n");
        return 0;
    }
    int job = 0;
    cf_print_request request = {
        .queue = s->printer, .path = path, .title = title, .paper = CF_PAPER_A4, .duplex = true};
    cf_status st = cf_print_file(&request, &job, diag);
    size_t printed_mark = cf_diag_size(diag);
    char line[512];
    if (st != CF_OK) {
        cf_html_raw(b, "<div class=\"error\" role=\"alert\" id=\"print-result\"><p><strong>"
                       "未能列印</strong> <span class=\"en\">Not printed</span> (");
        cf_html_text(b, s->printer);
        cf_html_raw(b, n == 1
                           ? ")。文件已發出並存檔，沒有遺失：可開啟 PDF 由瀏覽器列印，或稍後再試。"
                             "<span class=\"en\">The document is issued and archived, nothing "
                             "is lost: open the PDF to print it from the browser, or try again "
                             "later.</span></p><pre>"
                           : ")。所有文件已發出並存檔，沒有遺失：可逐份開啟 PDF 由瀏覽器列印。"
                             "<span class=\"en\">Every document is issued and archived, "
                             "nothing is lost: open each PDF to print it from the browser."
                             "</span></p><pre>");
        diag_messages(b, diag, 0, (size_t)-1);
        cf_html_raw(b, "</pre></div>\n");
        cf_diag_free(diag);
        return 0;
    }
    /* The store records who sent which documents to which queue. */
    cf_status event_st =
        cf_archive_sent_to_printer(s->archive, ids, n, s->printer, job, r->session.user, diag);
    cf_html_raw(b, "<p class=\"good\" role=\"status\" id=\"print-result\">已送往打印機 ");
    cf_html_text(b, s->printer);
    snprintf(line, sizeof line,
             "（雙面）：打印工作 <strong id=\"print-job\">%d</strong> <span class=\"en\">Sent to "
             "printer ",
             job);
    cf_html_raw(b, line);
    cf_html_text(b, s->printer);
    snprintf(line, sizeof line, " (duplex) as print job %d</span></p>\n", job);
    cf_html_raw(b, line);
    if (printed_mark > 0) {
        /* A stopped queue holds the job. */
        cf_html_raw(b, "<div class=\"notice\" role=\"alert\"><p>打印機暫停，工作正在等候 "
                       "<span class=\"en\">The printer is stopped: the job waits</span></p><pre>");
        diag_messages(b, diag, 0, printed_mark);
        cf_html_raw(b, "</pre></div>\n");
    }
    if (event_st != CF_OK) {
        cf_html_raw(b, "<div class=\"error\" role=\"alert\"><p>列印未能記錄在檔案中 "
                       "<span class=\"en\">The print could not be recorded in the archive"
                       "</span></p><pre>");
        diag_messages(b, diag, printed_mark, (size_t)-1);
        cf_html_raw(b, "</pre></div>\n");
    }
    cf_diag_free(diag);
    return job;
}

static void issue_post(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const cf_web_form *wf = find_form(s, cf_web_arg(r, "form"));
    if (wf == NULL) {
        cf_html_error(out, r, MHD_HTTP_NOT_FOUND, "沒有此表格", "No such form", NULL);
        return;
    }
    const cf_form *form = wf->form;
    cf_diag *diag = cf_diag_new();
    cf_record *record = record_from_request(r, form);
    const cf_fontset *fonts = NULL;
    unsigned allow = request_allow(r, r);
    char ward[CF_WARD_SIZE] = "";
    cf_status st = diag && record ? request_ward(r, ward, diag) : CF_ERR_NOMEM;
    if (st == CF_OK)
        st = prepare(form, record, allow, &fonts, diag);
    /* For the printer the PDF is written (and archived first) to a file CUPS is given; for the
     * browser the archive's copy is the delivery (the new tab fetches it through /doc/pdf), so
     * the issue path writes its bytes to /dev/null: no second file, no second fsync. */
    char *dir = NULL;
    char path[4200] = "";
    int sink = -1;
    if (st == CF_OK && s->printer != NULL) {
        dir = cf_web_temp_dir(s, "issue");
        if (dir == NULL)
            st = CF_ERR_CANTCREAT;
        else
            snprintf(path, sizeof path, "%s/document.pdf", dir);
    } else if (st == CF_OK) {
        sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (sink < 0)
            st = CF_ERR_IO;
    }
    /* The form's fonts and bodies as this process keeps them (made on its first issue), and
     * this thread's glyph cache: the same text and pixels as a document made alone. */
    char fingerprint[CF_SHA256_HEX_SIZE] = "";
    const cf_web_form_state *fs = NULL;
    if (st == CF_OK && cf_form_fingerprint(form, fingerprint) == CF_OK)
        fs = cf_web_form_state_get(s, form, fonts, fingerprint);
    cf_render_options render = {.glyph_cache = cf_web_glyph_cache(s)};
    if (fs != NULL && fs->run_fonts != NULL) {
        render.run_fonts = fs->run_fonts;
        for (int f = 0; f < CF_FONT_STYLE_COUNT; f++)
            render.base[f] = fs->base[f];
    }
    cf_issue_options options = {
        .document = {.paper = CF_PAPER_A4,
                     .created = cf_document_time(),
                     .render = &render,
                     .layout_cache = fs != NULL ? fs->layout_cache : NULL},
        .form_sha256 = fingerprint[0] != '\0' ? fingerprint : NULL,
        .archive = s->archive,
        .operator_name = r->session.user,
        .ward = ward[0] != '\0' ? ward : NULL,
        .path = dir != NULL ? path : NULL,
        .fd = sink,
        .allow = allow,
    };
    cf_issue_result result = {0};
    if (st == CF_OK)
        st = cf_issue_document(form, record, fonts, &options, &result, diag);
    /* The next print page of this session offers the same ward. */
    if (st == CF_OK && ward[0] != '\0')
        cf_auth_session_set_ward(s->auth, r->session_id, ward);
    /* What the printer did, for the page (the document is issued and archived either way). */
    cf_buf printed;
    cf_buf_init(&printed, 1 << 20);
    if (st == CF_OK && s->printer != NULL) {
        char title[128];
        snprintf(title, sizeof title, "%s %s", form->id, result.document_id);
        const char *id = result.document_id;
        (void)cf_web_print(s, r, path, title, &id, 1, &printed);
    }
    if (sink >= 0)
        close(sink);
    cf_web_remove_dir(dir);
    cf_free(dir);
    if (st != CF_OK) {
        error_with_diag(out, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "未能發出", "Not issued", diag);
    } else {
        cf_buf *b = &out->body;
        cf_html_page_begin(b, r, "已發出", "Issued");
        cf_html_raw(b, "<p class=\"good\" role=\"status\">已發出並存檔 <span class=\"en\">Issued "
                       "and archived</span>: <strong>");
        cf_html_text(b, result.document_id);
        cf_html_raw(b, "</strong></p>\n");
        if (result.overrides != 0) {
            cf_html_raw(b, "<p class=\"warn\">覆蓋 Override: ");
            cf_html_text(b, cf_form_override_name(result.overrides));
            cf_html_raw(b, "</p>\n");
        }
        if (printed.len > 0)
            cf_buf_append(b, printed.data, printed.len);
        cf_html_raw(b, "<div class=\"actions\"><a class=\"button\" target=\"_blank\" "
                       "rel=\"noopener\" href=\"/doc/pdf?id=");
        cf_html_text(b, result.document_id);
        cf_html_raw(b, "\">開啟 PDF Open the PDF</a> <a class=\"button secondary\" "
                       "href=\"/doc?id=");
        cf_html_text(b, result.document_id);
        cf_html_raw(b, "\">文件紀錄 Document record</a> <a class=\"button secondary\" "
                       "href=\"/form?id=");
        cf_html_text(b, form->id);
        cf_html_raw(b, "\">再列印一份 Print another</a></div>\n");
        cf_html_page_end(b);
    }
    cf_buf_cleanup(&printed);
    cf_record_free(record);
    cf_diag_free(diag);
}

/* ---- documents ---- */

/* Sends one stored file of document id: the issued PDF (version 0) or signed copy version N.
 * The archive's own export gives it (checked against its hash), and the download is recorded
 * as an archive event with the user BEFORE the first byte is sent: no event, no bytes. */
static void send_document_file(cf_web_server *s, cf_web_request *r, cf_web_response *out,
                               const char *id, int version)
{
    static const struct {
        const char *ext, *type;
    } kinds[] = {{"pdf", "application/pdf"},
                 {"png", "image/png"},
                 {"jpg", "image/jpeg"},
                 {"tif", "image/tiff"}};
    cf_diag *diag = cf_diag_new();
    char *dir = cf_web_temp_dir(s, "export");
    cf_status st = diag && dir ? CF_OK : CF_ERR_NOMEM;
    char sub[4200] = "";
    if (st == CF_OK) {
        snprintf(sub, sizeof sub, "%s/d", dir);
        st = cf_archive_export(s->archive, id, sub, false, diag);
    }
    char *keep = NULL;
    size_t kind = 0;
    if (st == CF_OK) {
        /* The file moves beside the export folder, which then goes. */
        char from[4300] = "";
        for (kind = 0; kind < sizeof kinds / sizeof kinds[0]; kind++) {
            if (version == 0 && kind == 0)
                snprintf(from, sizeof from, "%s/issued.pdf", sub);
            else if (version > 0)
                snprintf(from, sizeof from, "%s/signed-%d.%s", sub, version, kinds[kind].ext);
            else
                break;
            if (access(from, F_OK) == 0)
                break;
        }
        size_t len = strlen(dir) + 8;
        keep = kind < sizeof kinds / sizeof kinds[0] ? cf_malloc(len) : NULL;
        if (keep != NULL) {
            snprintf(keep, len, "%s.%s", dir, kinds[kind].ext);
            if (rename(from, keep) != 0) {
                cf_free(keep);
                keep = NULL;
            }
        }
        if (keep == NULL)
            st = CF_ERR_NOINPUT;
    }
    cf_web_remove_dir(sub);
    cf_web_remove_dir(dir);
    cf_free(dir);
    if (st == CF_OK) {
        const char *ids[] = {id};
        st = cf_archive_record_downloads(s->archive, ids, 1,
                                         version > 0 ? CF_ARCHIVE_DOWNLOAD_SIGNED
                                                     : CF_ARCHIVE_DOWNLOAD_ISSUED,
                                         version, NULL, r->session.user, diag);
    }
    if (st != CF_OK) {
        if (keep != NULL)
            unlink(keep);
        error_with_diag(out, r,
                        st == CF_ERR_NOINPUT ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR,
                        "找不到文件", "Document not available", diag);
    } else {
        out->content_type = kinds[kind].type;
        out->file_path = keep;
        keep = NULL;
        out->remove_file = true;
        if (version > 0)
            snprintf(out->disposition, sizeof out->disposition,
                     "inline; filename=\"%s-signed-%d.%s\"", id, version, kinds[kind].ext);
        else
            snprintf(out->disposition, sizeof out->disposition, "inline; filename=\"%s.pdf\"", id);
    }
    cf_free(keep);
    cf_diag_free(diag);
}

static void doc_pdf(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const char *id = cf_web_arg(r, "id");
    if (!is_document_id(id)) {
        cf_html_error(out, r, MHD_HTTP_BAD_REQUEST, "文件編號不正確", "Not a document id", NULL);
        return;
    }
    send_document_file(s, r, out, id, 0);
}

/* A signed copy of a document: /doc/signed?id=ID&v=N. */
static void doc_signed(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const char *id = cf_web_arg(r, "id"), *v = cf_web_arg(r, "v");
    char *end = NULL;
    long version = v != NULL ? strtol(v, &end, 10) : 0;
    if (!is_document_id(id) || v == NULL || end == v || *end != '\0' || version < 1 ||
        version > 100000) {
        cf_html_error(out, r, MHD_HTTP_BAD_REQUEST, "文件編號或版本不正確",
                      "Not a document id and signed version", NULL);
        return;
    }
    send_document_file(s, r, out, id, (int)version);
}

static void doc_page(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    const char *id = cf_web_arg(r, "id");
    if (!is_document_id(id)) {
        cf_html_error(out, r, MHD_HTTP_BAD_REQUEST, "文件編號不正確", "Not a document id", NULL);
        return;
    }
    cf_diag *diag = cf_diag_new();
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    cf_status st = diag && mem ? cf_archive_show(s->archive, id, mem, diag) : CF_ERR_NOMEM;
    if (mem != NULL)
        fclose(mem);
    if (st != CF_OK) {
        error_with_diag(out, r,
                        st == CF_ERR_NOINPUT ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR,
                        "找不到文件", "No such document", diag);
    } else {
        cf_buf *b = &out->body;
        cf_html_page_begin(b, r, "文件", "Document");
        cf_html_raw(b, "<p><strong>");
        cf_html_text(b, id);
        cf_html_raw(b, "</strong></p>\n<div class=\"actions\"><a class=\"button\" "
                       "target=\"_blank\" rel=\"noopener\" href=\"/doc/pdf?id=");
        cf_html_text(b, id);
        cf_html_raw(b, "\">已發出的 PDF Issued PDF</a>");
        cf_archive_issued issued;
        if (cf_archive_issued_get(s->archive, id, &issued, NULL) == CF_OK)
            for (int v = 1; v <= issued.signed_copies; v++) {
                char link[160];
                snprintf(link, sizeof link,
                         " <a class=\"button secondary\" target=\"_blank\" rel=\"noopener\" "
                         "href=\"/doc/signed?id=%s&amp;v=%d\">已簽署 第 %d 版 Signed version "
                         "%d</a>",
                         id, v, v, v);
                cf_html_raw(b, link);
            }
        cf_archive_issued_cleanup(&issued);
        cf_html_raw(b, "</div>\n"
                       "<h2>紀錄及歷史 <span class=\"en\">Record, signed versions and "
                       "history</span></h2>\n<pre>");
        cf_html_text(b, text);
        cf_html_raw(b, "</pre>\n");
        cf_html_page_end(b);
    }
    free(text);
    cf_diag_free(diag);
}

/* Seconds since 1970 of local midnight starting YYYY-MM-DD (plus days); 0 when s is not one. */
static long long day_start(const char *s, int days)
{
    /* The project's one date validator, then the fields at their fixed places. */
    if (s == NULL || !cf_date_is_valid(s))
        return 0;
    int y = (int)strtol(s, NULL, 10), m = (int)strtol(s + 5, NULL, 10),
        d = (int)strtol(s + 8, NULL, 10);
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + days, .tm_isdst = -1};
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? 0 : (long long)t;
}

static const char *state_label(cf_archive_state state)
{
    switch (state) {
    case CF_ARCHIVE_STATE_SIGNED:
        return "<span class=\"good\">已簽署 signed</span>";
    case CF_ARCHIVE_STATE_SIGNATURE_MISSING:
        return "<span class=\"warn\">未簽署 unsigned</span>";
    case CF_ARCHIVE_STATE_VOID:
        return "<span class=\"bad\">作廢 void</span>";
    case CF_ARCHIVE_STATE_ISSUED:
    case CF_ARCHIVE_STATE_ANY:
        break;
    }
    return "已存檔 filed";
}

static void rows_table(cf_buf *b, const cf_archive_rows *rows, bool links)
{
    cf_html_raw(b, "<table>\n<thead><tr><th scope=\"col\">文件編號 Document</th>"
                   "<th scope=\"col\">病人 Patient</th><th scope=\"col\">醫院編號 Hospital no."
                   "</th><th scope=\"col\">病房 Ward</th><th scope=\"col\">表格 Form</th>"
                   "<th scope=\"col\">發出 Issued</th>"
                   "<th scope=\"col\">狀態 Status</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < rows->count; i++) {
        const cf_archive_row *row = &rows->rows[i];
        cf_html_raw(b, "<tr><td>");
        if (links) {
            cf_html_raw(b, "<a href=\"/doc?id=");
            cf_html_text(b, row->id);
            cf_html_raw(b, "\">");
        }
        cf_html_text(b, row->id);
        cf_html_raw(b, links ? "</a></td><td>" : "</td><td>");
        cf_html_text(b, row->patient_name);
        cf_html_raw(b, "</td><td>");
        cf_html_text(b, row->hospital_no);
        cf_html_raw(b, "</td><td>");
        cf_html_text(b, row->ward[0] != '\0' ? row->ward : "—");
        cf_html_raw(b, "</td><td>");
        cf_html_text(b, row->form_id);
        cf_html_raw(b, " ");
        cf_html_text(b, row->form_version);
        cf_html_raw(b, "</td><td>");
        if (row->issued_at >= 0) {
            char when[32];
            time_t t = (time_t)row->issued_at;
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
            cf_html_text(b, when);
        }
        cf_html_raw(b, "</td><td>");
        cf_html_raw(b, state_label(cf_archive_row_state(row)));
        cf_html_raw(b, "</td></tr>\n");
    }
    cf_html_raw(b, "</tbody></table>\n");
}

/* A text input of a search form, prefilled with the query's value. */
static void search_input(cf_buf *b, cf_web_request *r, const char *name, const char *type,
                         const char *zh, const char *en)
{
    cf_html_raw(b, "<div class=\"field\"><label for=\"q_");
    cf_html_raw(b, name);
    cf_html_raw(b, "\">");
    cf_html_raw(b, zh);
    cf_html_raw(b, " <span class=\"en\">");
    cf_html_raw(b, en);
    cf_html_raw(b, "</span></label><input type=\"");
    cf_html_raw(b, type);
    cf_html_raw(b, "\" id=\"q_");
    cf_html_raw(b, name);
    cf_html_raw(b, "\" name=\"");
    cf_html_raw(b, name);
    cf_html_raw(b, "\" value=\"");
    cf_html_text(b, cf_web_arg(r, name));
    cf_html_raw(b, "\"></div>\n");
}

static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static void find_page(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    cf_buf *b = &out->body;
    const char *status = cf_web_arg(r, "status");
    /* A hospital number as the archive keeps it (NFKC, upper case), whatever was typed. */
    char *hn = NULL;
    if (nonempty(cf_web_arg(r, "hn")) && cf_identifier_normalize(cf_web_arg(r, "hn"), &hn) != CF_OK)
        hn = NULL;
    cf_archive_filter filter = {
        .patient_name = nonempty(cf_web_arg(r, "name")),
        .hospital_no = nonempty(hn),
        .form_id = nonempty(cf_web_arg(r, "form")),
        .issued_from = day_start(cf_web_arg(r, "from"), 0),
        .issued_before = day_start(cf_web_arg(r, "to"), 1),
    };
    if (status != NULL && strcmp(status, "unsigned") == 0)
        filter.state = CF_ARCHIVE_STATE_SIGNATURE_MISSING;
    else if (status != NULL && strcmp(status, "signed") == 0)
        filter.state = CF_ARCHIVE_STATE_SIGNED;
    else if (status != NULL && strcmp(status, "void") == 0)
        filter.state = CF_ARCHIVE_STATE_VOID;
    cf_html_page_begin(b, r, "尋找文件", "Find a document");
    cf_html_raw(b, "<form method=\"get\" action=\"/find\" class=\"filter\"><fieldset><legend>"
                   "搜尋 <span class=\"en\">Search</span></legend>\n");
    search_input(b, r, "name", "search", "病人姓名", "Patient name");
    search_input(b, r, "hn", "search", "醫院編號", "Hospital number");
    cf_html_raw(b, "<div class=\"field\"><label for=\"q_form\">表格 <span class=\"en\">Form"
                   "</span></label><select id=\"q_form\" name=\"form\"><option value=\"\">"
                   "全部 any</option>");
    for (size_t i = 0; i < s->n_forms; i++) {
        const char *fid = s->forms[i].form->id;
        cf_html_raw(b, "<option value=\"");
        cf_html_text(b, fid);
        cf_html_raw(b, filter.form_id && strcmp(filter.form_id, fid) == 0 ? "\" selected>" : "\">");
        cf_html_text(b, fid);
        cf_html_raw(b, "</option>");
    }
    cf_html_raw(b, "</select></div>\n<div class=\"field\"><label for=\"q_status\">狀態 "
                   "<span class=\"en\">Status</span></label><select id=\"q_status\" "
                   "name=\"status\">");
    static const char *const states[][2] = {{"", "全部 any"},
                                            {"unsigned", "未簽署 unsigned"},
                                            {"signed", "已簽署 signed"},
                                            {"void", "作廢 void"}};
    for (size_t i = 0; i < 4; i++) {
        cf_html_raw(b, "<option value=\"");
        cf_html_raw(b, states[i][0]);
        cf_html_raw(b, status && strcmp(status, states[i][0]) == 0 ? "\" selected>" : "\">");
        cf_html_raw(b, states[i][1]);
        cf_html_raw(b, "</option>");
    }
    cf_html_raw(b, "</select></div>\n");
    search_input(b, r, "from", "date", "由", "Issued from");
    search_input(b, r, "to", "date", "至", "Issued to");
    cf_html_raw(b, "<p><button type=\"submit\">搜尋 Search</button></p></fieldset></form>\n");
    bool asked = filter.patient_name || filter.hospital_no || filter.form_id || filter.state ||
                 filter.issued_from || filter.issued_before;
    if (asked) {
        cf_archive_rows rows = {0};
        cf_diag *diag = cf_diag_new();
        cf_status st = diag ? cf_archive_query(s->archive, &filter, &rows, diag) : CF_ERR_NOMEM;
        if (st == CF_OK) {
            char count[96];
            snprintf(count, sizeof count,
                     "<h2>%zu 份文件 <span class=\"en\">documents</span>"
                     "</h2>\n",
                     rows.count);
            cf_html_raw(b, count);
            rows_table(b, &rows, true);
        } else {
            cf_html_raw(b, "<p class=\"error\">搜尋失敗 The search failed.</p>");
        }
        cf_archive_rows_cleanup(&rows);
        cf_diag_free(diag);
    }
    cf_free(hn);
    cf_html_page_end(b);
}

static int by_hospital_no(const void *a, const void *b)
{
    const cf_archive_row *x = a, *y = b;
    int c = strcmp(x->hospital_no, y->hospital_no);
    return c != 0 ? c : strcmp(x->id, y->id);
}

/* The documents of a day still waiting for a signature, to print for a ward round: all of
 * them, or those of one ward (the wards seen that day are offered). Printed, the page shows
 * only the heading (ward and date) and the table. */
static void unsigned_page(cf_web_server *s, cf_web_request *r, cf_web_response *out)
{
    cf_buf *b = &out->body;
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    const char *day = nonempty(cf_web_arg(r, "date")) ? cf_web_arg(r, "date") : today;
    long long from = day_start(day, 0), before = day_start(day, 1);
    char ward[CF_WARD_SIZE] = "";
    const char *why = NULL;
    bool ward_ok = cf_ward_clean(cf_web_arg(r, "ward"), ward, &why) == CF_OK;
    cf_html_page_begin(b, r, "未簽署文件", "Still unsigned");
    cf_html_raw(b, "<form method=\"get\" action=\"/unsigned\" class=\"filter\"><fieldset>"
                   "<legend>日期及病房 <span class=\"en\">Day issued and ward</span></legend>\n");
    search_input(b, r, "date", "date", "發出日期", "Issued on");
    cf_html_raw(b, "<div class=\"field\"><label for=\"q_ward\">病房 <span class=\"en\">Ward"
                   "</span></label><select id=\"q_ward\" name=\"ward\"><option value=\"\">全部 "
                   "all</option>");
    cf_archive_wards wards = {0};
    if (from != 0 && cf_archive_ward_list(s->archive, from, before, &wards, NULL) == CF_OK)
        for (size_t i = 0; i < wards.count; i++) {
            cf_html_raw(b, "<option value=\"");
            cf_html_text(b, wards.names[i]);
            cf_html_raw(b, strcmp(wards.names[i], ward) == 0 ? "\" selected>" : "\">");
            cf_html_text(b, wards.names[i]);
            cf_html_raw(b, "</option>");
        }
    cf_archive_wards_cleanup(&wards);
    cf_html_raw(b, "</select></div>\n<p><button type=\"submit\">顯示 Show</button></p></fieldset>"
                   "</form>\n");
    if (from == 0 || !ward_ok) {
        cf_html_raw(b, "<p class=\"error\" role=\"alert\">");
        if (from == 0) {
            cf_html_raw(b, "日期不正確 Not a date (YYYY-MM-DD).");
        } else {
            cf_html_raw(b, "病房不正確 Not a ward: the ward ");
            cf_html_text(b, why);
            cf_html_raw(b, ".");
        }
        cf_html_raw(b, "</p>");
        out->status = MHD_HTTP_BAD_REQUEST;
        cf_html_page_end(b);
        return;
    }
    cf_archive_filter filter = {.unsigned_only = true,
                                .state = CF_ARCHIVE_STATE_SIGNATURE_MISSING,
                                .issued_from = from,
                                .issued_before = before,
                                .ward = ward[0] != '\0' ? ward : NULL};
    cf_archive_rows rows = {0};
    cf_diag *diag = cf_diag_new();
    cf_status st = diag ? cf_archive_query(s->archive, &filter, &rows, diag) : CF_ERR_NOMEM;
    cf_html_raw(b, "<section class=\"printable\">\n<h2>");
    if (ward[0] != '\0') {
        cf_html_raw(b, "病房 <span class=\"en\">Ward</span> ");
        cf_html_text(b, ward);
    } else {
        cf_html_raw(b, "全部病房 <span class=\"en\">All wards</span>");
    }
    cf_html_raw(b, " · ");
    cf_html_text(b, day);
    char count[96];
    snprintf(count, sizeof count, "：%zu 份未簽署 <span class=\"en\">unsigned</span></h2>\n",
             st == CF_OK ? rows.count : 0);
    cf_html_raw(b, count);
    /* A ward round goes patient by patient: by hospital number. */
    if (st == CF_OK && rows.count > 1)
        qsort(rows.rows, rows.count, sizeof *rows.rows, by_hospital_no);
    if (st == CF_OK)
        rows_table(b, &rows, true);
    cf_html_raw(b, "</section>\n<div class=\"actions\"><button type=\"button\" data-print>"
                   "列印此清單 Print this list</button></div>\n");
    cf_archive_rows_cleanup(&rows);
    cf_diag_free(diag);
    cf_html_page_end(b);
}

/* ---- the route table ---- */

void cf_web_list_page(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_list_upload(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_list_run(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_scans_page(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_scans_upload(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_scans_assign(cf_web_server *s, cf_web_request *r, cf_web_response *out);
void cf_web_scans_item(cf_web_server *s, cf_web_request *r, cf_web_response *out);

const cf_web_route cf_web_routes[] = {
    {"GET", "/login", login_page, -1, 0},
    {"POST", "/login", login_post, -1, 0},
    {"POST", "/logout", logout_post, CF_ROLE_NURSE, 0},
    {"GET", "/", forms_page, CF_ROLE_NURSE, 0},
    {"GET", "/form", form_page, CF_ROLE_NURSE, 0},
    {"POST", "/preview", preview_post, CF_ROLE_NURSE, 0},
    {"POST", "/edit", edit_post, CF_ROLE_NURSE, 0},
    {"POST", "/issue", issue_post, CF_ROLE_NURSE, 0},
    {"GET", "/list", cf_web_list_page, CF_ROLE_CLERK, 0},
    {"POST", "/list/upload", cf_web_list_upload, CF_ROLE_CLERK, CF_WEB_CSV_MAX},
    {"POST", "/list/run", cf_web_list_run, CF_ROLE_CLERK, 0},
    {"GET", "/find", find_page, CF_ROLE_NURSE, 0},
    {"GET", "/doc", doc_page, CF_ROLE_NURSE, 0},
    {"GET", "/doc/pdf", doc_pdf, CF_ROLE_NURSE, 0},
    {"GET", "/doc/signed", doc_signed, CF_ROLE_NURSE, 0},
    {"GET", "/unsigned", unsigned_page, CF_ROLE_NURSE, 0},
    {"GET", "/scans", cf_web_scans_page, CF_ROLE_CLERK, 0},
    {"POST", "/scans/upload", cf_web_scans_upload, CF_ROLE_CLERK, CF_WEB_SCANS_MAX},
    {"POST", "/scans/assign", cf_web_scans_assign, CF_ROLE_CLERK, 0},
    {"GET", "/scans/item", cf_web_scans_item, CF_ROLE_CLERK, 0},
};
const size_t cf_web_n_routes = sizeof cf_web_routes / sizeof cf_web_routes[0];
