/* HTML of `consentform serve`: the one escaper every value passes through, and the page shell
 * (web/layout.html: @TITLE@, @NAV@ and @BODY@ are filled here). */
#include "web/web_internal.h"

#include <microhttpd.h>
#include <string.h>

void cf_html_text(cf_buf *b, const char *s)
{
    if (s == NULL)
        return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *entity = NULL;
        switch (*p) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            continue;
        }
        cf_buf_append(b, run, (size_t)(p - run));
        cf_buf_append_str(b, entity);
        run = p + 1;
    }
    cf_buf_append_str(b, run);
}

void cf_html_raw(cf_buf *b, const char *s)
{
    cf_buf_append_str(b, s);
}

void cf_html_csrf(cf_buf *b, const cf_web_request *r)
{
    cf_html_raw(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
    cf_html_text(b, r->has_session ? r->session.csrf : "");
    cf_html_raw(b, "\">\n");
}

static const char *role_name(cf_role role)
{
    switch (role) {
    case CF_ROLE_ADMIN:
        return "管理員 admin";
    case CF_ROLE_CLERK:
        return "文員 clerk";
    case CF_ROLE_NURSE:
        return "護士 nurse";
    }
    return "";
}

static void nav(cf_buf *b, const cf_web_request *r)
{
    if (r == NULL || !r->has_session)
        return;
    cf_html_raw(b, "<nav aria-label=\"主選單 Main\"><ul>"
                   "<li><a href=\"/\">表格 Forms</a></li>");
    if (r->session.role >= CF_ROLE_CLERK)
        cf_html_raw(b, "<li><a href=\"/list\">明日名單 Tomorrow's list</a></li>"
                       "<li><a href=\"/scans\">歸檔掃描 File scans</a></li>");
    cf_html_raw(b, "<li><a href=\"/find\">尋找 Find</a></li>"
                   "<li><a href=\"/unsigned\">未簽署 Still unsigned</a></li>"
                   "</ul></nav>\n<p class=\"who\">");
    cf_html_text(b, r->session.user);
    cf_html_raw(b, " · ");
    cf_html_raw(b, role_name(r->session.role));
    cf_html_raw(b, "</p>\n<form method=\"post\" action=\"/logout\">");
    cf_html_csrf(b, r);
    cf_html_raw(b, "<button type=\"submit\" class=\"secondary\">登出 Log out</button></form>\n");
}

/* The layout split at its markers: the text before @TITLE@, between, ... */
static void layout_part(cf_buf *b, const cf_web_request *r, const char *title, bool head)
{
    const cf_web_asset *layout = cf_web_asset_get("layout.html");
    if (layout == NULL)
        return;
    const char *text = (const char *)layout->data;
    const char *body = strstr(text, "@BODY@");
    if (body == NULL)
        return;
    if (!head) {
        cf_buf_append_str(b, body + 6);
        return;
    }
    const char *p = text;
    while (p < body) {
        const char *at = strchr(p, '@');
        if (at == NULL || at >= body) {
            cf_buf_append(b, p, (size_t)(body - p));
            break;
        }
        cf_buf_append(b, p, (size_t)(at - p));
        if (strncmp(at, "@TITLE@", 7) == 0) {
            cf_html_text(b, title);
            p = at + 7;
        } else if (strncmp(at, "@NAV@", 5) == 0) {
            nav(b, r);
            p = at + 5;
        } else {
            cf_buf_putc(b, '@');
            p = at + 1;
        }
    }
}

void cf_html_page_begin(cf_buf *b, const cf_web_request *r, const char *title_zh,
                        const char *title_en)
{
    char title[256];
    snprintf(title, sizeof title, "%s %s", title_zh, title_en);
    layout_part(b, r, title, true);
}

void cf_html_page_end(cf_buf *b)
{
    layout_part(b, NULL, NULL, false);
}

void cf_html_error(cf_web_response *out, const cf_web_request *r, unsigned status, const char *zh,
                   const char *en, const char *detail)
{
    out->status = status;
    out->content_type = "text/html; charset=utf-8";
    cf_buf_reset(&out->body);
    cf_html_page_begin(&out->body, r, zh, en);
    cf_html_raw(&out->body, "<p class=\"error\" role=\"alert\">");
    cf_html_text(&out->body, zh);
    cf_html_raw(&out->body, " <span class=\"en\">");
    cf_html_text(&out->body, en);
    cf_html_raw(&out->body, "</span></p>\n");
    if (detail != NULL && detail[0] != '\0') {
        cf_html_raw(&out->body, "<pre>");
        cf_html_text(&out->body, detail);
        cf_html_raw(&out->body, "</pre>\n");
    }
    if (status == MHD_HTTP_UNAUTHORIZED)
        cf_html_raw(&out->body, "<p><a href=\"/login\">登入 Log in</a></p>\n");
    cf_html_page_end(&out->body);
}
