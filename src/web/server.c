/* The HTTP side of `consentform serve`: libmicrohttpd (the only file that includes it), the
 * checks every request passes before a page sees it (Host and Origin, session, role, CSRF token,
 * upload caps), the security headers of every response, the access log and the shutdown.
 *
 * A request goes: first call (headers only) -> checks, or an early answer; then the body, fed
 * to MHD's post processor, whose fields are kept (capped) and whose files are streamed to
 * STORE/tmp/up-XXXXXX; then the last call runs the route's handler and queues its response.
 * No part of a request ever names a file: routes and static files are looked up in tables. */
#include "web/server.h"

#include "archive/archive.h"
#include "base/alloc.h"
#include "base/file.h"
#include "base/utf8.h"
#include "web/web_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SESSION_COOKIE "cf_session"
#define POST_BUFFER 16384

/* What one connection's request carries between the calls of the access handler. */
typedef struct request_state {
    cf_web_server *server;
    cf_web_request req;
    const cf_web_route *route;
    const char *pattern; /* for the log: the route's path, the static prefix or "-" */
    struct MHD_PostProcessor *post;
    struct timespec start;
    unsigned status; /* answered with */
    bool answered;   /* a response was queued */
    bool too_large;  /* an upload passed its cap */
    bool malformed;  /* the body could not be read as a form */
} request_state;

/* ---- helpers for the pages ---- */

const char *cf_web_arg(cf_web_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_fields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    if (r->connection != NULL)
        return MHD_lookup_connection_value(r->connection, MHD_GET_ARGUMENT_KIND, name);
    return NULL;
}

const cf_web_upload *cf_web_file(const cf_web_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_uploads; i++)
        if (strcmp(r->uploads[i].field, name) == 0)
            return &r->uploads[i];
    return NULL;
}

void cf_web_redirect(cf_web_response *out, const char *path)
{
    out->status = MHD_HTTP_SEE_OTHER;
    snprintf(out->location, sizeof out->location, "%s", path);
}

const cf_web_asset *cf_web_asset_get(const char *name)
{
    for (size_t i = 0; i < cf_web_n_assets; i++)
        if (strcmp(cf_web_assets[i].name, name) == 0)
            return &cf_web_assets[i];
    return NULL;
}

/* ---- requests ---- */

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1000.0 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static const char *content_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL)
        return "application/octet-stream";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    return "application/octet-stream";
}

/* Adds the headers every response carries. */
static void add_common_headers(struct MHD_Response *response, bool cacheable)
{
    MHD_add_response_header(response, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                            "base-uri 'none'");
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(response, "X-Frame-Options", "DENY");
    MHD_add_response_header(response, "Cache-Control",
                            cacheable ? "private, max-age=300" : "no-store");
}

/* Queues out on the connection; frees what out owns. */
static enum MHD_Result send_response(request_state *st, cf_web_response *out)
{
    struct MHD_Response *response = NULL;
    if (out->file_path != NULL) {
        int fd = open(out->file_path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
            response = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
            if (response == NULL)
                close(fd);
        } else if (fd >= 0) {
            close(fd);
        }
        if (out->remove_file)
            unlink(out->file_path);
        if (response == NULL) {
            out->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            out->content_type = "text/plain; charset=utf-8";
            cf_buf_reset(&out->body);
            cf_buf_append_str(&out->body, "the file could not be read\n");
        }
    }
    if (response == NULL) {
        size_t len = 0;
        char *data = cf_buf_take(&out->body, &len);
        if (data == NULL) {
            static char empty[1];
            response = MHD_create_response_from_buffer(0, empty, MHD_RESPMEM_PERSISTENT);
        } else {
            response = MHD_create_response_from_buffer_with_free_callback(len, data, cf_free);
            if (response == NULL)
                cf_free(data);
        }
    }
    cf_free(out->file_path);
    out->file_path = NULL;
    cf_buf_cleanup(&out->body);
    if (response == NULL)
        return MHD_NO;
    add_common_headers(response, out->cacheable);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            out->content_type ? out->content_type : "text/html; charset=utf-8");
    if (out->location[0] != '\0')
        MHD_add_response_header(response, MHD_HTTP_HEADER_LOCATION, out->location);
    if (out->set_cookie[0] != '\0')
        MHD_add_response_header(response, MHD_HTTP_HEADER_SET_COOKIE, out->set_cookie);
    if (out->disposition[0] != '\0')
        MHD_add_response_header(response, "Content-Disposition", out->disposition);
    unsigned status = out->status ? out->status : MHD_HTTP_OK;
    enum MHD_Result ret = MHD_queue_response(st->req.connection, status, response);
    MHD_destroy_response(response);
    st->status = status;
    st->answered = true;
    return ret;
}

/* A short answer before or instead of the page: an HTML error page, or a redirect. */
static enum MHD_Result answer(request_state *st, unsigned status, const char *zh, const char *en)
{
    cf_web_response out = {0};
    cf_buf_init(&out.body, 1 << 20);
    if (status == MHD_HTTP_SEE_OTHER)
        cf_web_redirect(&out, "/login");
    else
        cf_html_error(&out, &st->req, status, zh, en, NULL);
    return send_response(st, &out);
}

/* True when value is host, or alt when alt is set (ASCII case-insensitive). */
static bool is_own(const char *value, const char *own, const char *alt)
{
    return value != NULL &&
           (strcasecmp(value, own) == 0 || (alt[0] && strcasecmp(value, alt) == 0));
}

static bool is_hex64(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static void field_free(cf_web_field *f)
{
    cf_free(f->name);
    cf_free(f->value);
}

/* Appends data to the field name (a new one when name is not the last field). */
static bool keep_field(cf_web_request *r, const char *name, const char *data, size_t size,
                       uint64_t off)
{
    if (r->fields_bytes + size + strlen(name) > CF_WEB_FIELDS_BYTES)
        return false;
    cf_web_field *f = NULL;
    if (off > 0 && r->n_fields > 0 && strcmp(r->fields[r->n_fields - 1].name, name) == 0) {
        f = &r->fields[r->n_fields - 1];
        size_t old = strlen(f->value);
        char *grown = cf_realloc(f->value, old + size + 1);
        if (grown == NULL)
            return false;
        memcpy(grown + old, data, size);
        grown[old + size] = '\0';
        f->value = grown;
    } else {
        if (r->n_fields == CF_WEB_FIELDS_MAX)
            return false;
        f = &r->fields[r->n_fields];
        f->name = cf_strdup(name);
        f->value = cf_strndup(data ? data : "", size);
        if (f->name == NULL || f->value == NULL) {
            field_free(f);
            return false;
        }
        r->n_fields++;
    }
    r->fields_bytes += size + strlen(name);
    /* A NUL inside a value would cut it short unseen: refuse the form. */
    return memchr(data ? data : "", '\0', size) == NULL;
}

/* The browser's name of an uploaded file, for people to read in results and the inbox (never
 * a path: the file is kept under a name of the server's own): its last path component, at
 * most 120 bytes of valid UTF-8 without control characters; NULL when nothing is left. */
static char *upload_display_name(const char *filename)
{
    if (filename == NULL)
        return NULL;
    const char *base = filename;
    for (const char *p = filename; *p != '\0'; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t len = strlen(base);
    if (len == 0 || len > 120 || cf_utf8_check(base, len) != len)
        return NULL;
    char *out = cf_malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)base[i] >= 0x20 && base[i] != 0x7f)
            out[n++] = base[i];
    out[n] = '\0';
    if (n == 0) {
        cf_free(out);
        return NULL;
    }
    return out;
}

/* Streams a file part to its temporary file. */
static bool keep_file(request_state *st, const char *name, const char *filename, const char *data,
                      size_t size, uint64_t off)
{
    cf_web_request *r = &st->req;
    if (st->route == NULL || st->route->upload_cap == 0)
        return false; /* no files on this route */
    if (off == 0) {
        if (r->upload_fd >= 0) {
            close(r->upload_fd);
            r->upload_fd = -1;
        }
        if (r->n_uploads == CF_WEB_UPLOADS_MAX)
            return false;
        size_t len = strlen(st->server->tmp_dir) + 16;
        char *path = cf_malloc(len);
        char *field = cf_strdup(name);
        if (path == NULL || field == NULL) {
            cf_free(path);
            cf_free(field);
            return false;
        }
        snprintf(path, len, "%s/up-XXXXXX", st->server->tmp_dir);
        int fd = mkstemp(path);
        if (fd >= 0)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (fd < 0) {
            cf_free(path);
            cf_free(field);
            return false;
        }
        r->uploads[r->n_uploads++] = (cf_web_upload){
            .path = path, .field = field, .name = upload_display_name(filename), .size = 0};
        r->upload_fd = fd;
    }
    if (r->upload_fd < 0 || r->n_uploads == 0)
        return false;
    if (r->upload_bytes + size > r->upload_cap) {
        st->too_large = true;
        return false;
    }
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = write(r->upload_fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        left -= (size_t)n;
    }
    r->upload_bytes += size;
    r->uploads[r->n_uploads - 1].size += size;
    return true;
}

static enum MHD_Result post_iterator(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *filename, const char *content_type,
                                     const char *transfer_encoding, const char *data, uint64_t off,
                                     size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    request_state *st = cls;
    if (key == NULL)
        return MHD_NO;
    bool ok = filename != NULL ? keep_file(st, key, filename, data, size, off)
                               : keep_field(&st->req, key, data, size, off);
    if (!ok && !st->too_large)
        st->malformed = true;
    return ok ? MHD_YES : MHD_NO;
}

/* The route for method and path; *path_known says whether another method has it. */
static const cf_web_route *find_route(const char *method, const char *path, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < cf_web_n_routes; i++) {
        if (strcmp(cf_web_routes[i].path, path) != 0)
            continue;
        *path_known = true;
        if (strcmp(cf_web_routes[i].method, method) == 0)
            return &cf_web_routes[i];
    }
    return NULL;
}

/* The client's address as text, for the lockout of an address. */
static void peer_of(struct MHD_Connection *connection, char *out, size_t size)
{
    snprintf(out, size, "unknown");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/* The first call of a request: everything that needs only the headers. Returns true when the
 * request may go on (its body is read next); otherwise an answer was queued (or failed). */
static bool check_headers(request_state *st, enum MHD_Result *ret)
{
    cf_web_server *s = st->server;
    cf_web_request *r = &st->req;
    struct MHD_Connection *c = r->connection;
    *ret = MHD_YES;
    /* DNS rebinding and cross-site requests: only our own name, only our own pages. */
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *fetch_site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    /* Under Referrer-Policy: no-referrer a browser sends "Origin: null" with its form posts;
     * that is our own page only when the browser also says the request is same-origin (or a
     * typed URL: "none"). A browser that says cross-site or same-site is refused whatever
     * the Origin says. */
    bool origin_ok = origin == NULL || is_own(origin, s->origin, s->alt_origin) ||
                     (strcmp(origin, "null") == 0 && fetch_site != NULL &&
                      (strcmp(fetch_site, "same-origin") == 0 || strcmp(fetch_site, "none") == 0));
    if (fetch_site != NULL && strcmp(fetch_site, "same-origin") != 0 &&
        strcmp(fetch_site, "none") != 0)
        origin_ok = false;
    if (!is_own(host, s->host, s->alt_host) || !origin_ok) {
        *ret = answer(st, MHD_HTTP_FORBIDDEN, "拒絕：來源不符", "Refused: foreign Host or Origin");
        return false;
    }
    if (strncmp(r->path, "/static/", 8) == 0 && strcmp(r->method, "GET") == 0) {
        st->pattern = "/static/*";
        const cf_web_asset *asset = cf_web_asset_get(r->path + 8);
        cf_web_response out = {0};
        cf_buf_init(&out.body, CF_WEB_CSV_MAX);
        if (asset == NULL) {
            cf_html_error(&out, r, MHD_HTTP_NOT_FOUND, "找不到", "Not found", NULL);
        } else {
            out.content_type = content_type_of(asset->name);
            out.cacheable = true;
            cf_buf_append(&out.body, asset->data, asset->len);
        }
        *ret = send_response(st, &out);
        return false;
    }
    bool path_known = false;
    st->route = find_route(r->method, r->path, &path_known);
    if (st->route == NULL) {
        if (path_known)
            *ret = answer(st, MHD_HTTP_METHOD_NOT_ALLOWED, "不接受此方法", "Method not allowed");
        else
            *ret = answer(st, MHD_HTTP_NOT_FOUND, "找不到此頁", "Not found");
        return false;
    }
    st->pattern = st->route->path;
    const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
    if (is_hex64(sid) && cf_auth_session_get(s->auth, sid, time(NULL), &r->session)) {
        r->has_session = true;
        snprintf(r->session_id, sizeof r->session_id, "%s", sid);
    }
    if (st->route->min_role >= 0) {
        if (!r->has_session) {
            if (strcmp(r->method, "GET") == 0)
                *ret = answer(st, MHD_HTTP_SEE_OTHER, NULL, NULL);
            else
                *ret = answer(st, MHD_HTTP_UNAUTHORIZED, "請先登入", "Please log in");
            return false;
        }
        if ((int)r->session.role < st->route->min_role) {
            *ret = answer(st, MHD_HTTP_FORBIDDEN, "你的角色不可使用此頁",
                          "Your role may not use this page");
            return false;
        }
    }
    if (strcmp(r->method, "POST") == 0) {
        r->upload_cap = st->route->upload_cap;
        const char *length =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length != NULL &&
            strtoull(length, NULL, 10) > r->upload_cap + CF_WEB_FIELDS_BYTES + 64 * 1024) {
            *ret = answer(st, MHD_HTTP_CONTENT_TOO_LARGE, "上載太大", "Upload too large");
            return false;
        }
        st->post = MHD_create_post_processor(c, POST_BUFFER, post_iterator, st);
        if (st->post == NULL) {
            *ret = answer(st, MHD_HTTP_BAD_REQUEST, "表單無法讀取", "The form could not be read");
            return false;
        }
    }
    return true;
}

/* The last call: the body is in; CSRF, then the page. */
static enum MHD_Result run_handler(request_state *st)
{
    cf_web_request *r = &st->req;
    if (r->upload_fd >= 0) {
        close(r->upload_fd);
        r->upload_fd = -1;
    }
    if (st->post != NULL) {
        if (MHD_destroy_post_processor(st->post) == MHD_NO && !st->too_large)
            st->malformed = true;
        st->post = NULL;
    }
    if (st->too_large)
        return answer(st, MHD_HTTP_CONTENT_TOO_LARGE, "上載太大", "Upload too large");
    if (st->malformed)
        return answer(st, MHD_HTTP_BAD_REQUEST, "表單無法讀取", "The form could not be read");
    if (strcmp(r->method, "POST") == 0 && st->route->min_role >= 0 &&
        !cf_auth_csrf_ok(&r->session, cf_web_arg(r, "csrf")))
        return answer(st, MHD_HTTP_FORBIDDEN, "表單已過期，請重新載入頁面",
                      "The form has expired (CSRF token); reload the page");
    cf_web_response out = {0};
    cf_buf_init(&out.body, (size_t)64 * 1024 * 1024);
    st->route->handler(st->server, r, &out);
    return send_response(st, &out);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    request_state *st = *con_cls;
    if (st == NULL) {
        st = cf_calloc(1, sizeof *st);
        if (st == NULL)
            return MHD_NO;
        *con_cls = st;
        clock_gettime(CLOCK_MONOTONIC, &st->start);
        st->server = cls;
        st->pattern = "-";
        st->req.method = method;
        st->req.path = url;
        st->req.connection = connection;
        st->req.upload_fd = -1;
        peer_of(connection, st->req.peer, sizeof st->req.peer);
        enum MHD_Result ret = MHD_YES;
        check_headers(st, &ret);
        return ret;
    }
    if (st->answered) { /* refused early: the rest of the body is dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (st->post != NULL && !st->too_large && !st->malformed &&
            MHD_post_process(st->post, upload_data, *upload_data_size) == MHD_NO && !st->too_large)
            st->malformed = true;
        *upload_data_size = 0;
        if (st->too_large) /* answer now; MHD closes the connection after it */
            return answer(st, MHD_HTTP_CONTENT_TOO_LARGE, "上載太大", "Upload too large");
        return MHD_YES;
    }
    return run_handler(st);
}

/* The end of a request: one access-log line (no patient value: the route's pattern, never the
 * URL or its query), then the request's temporary files go. */
static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)connection;
    request_state *st = *con_cls;
    if (st == NULL)
        return;
    cf_web_request *r = &st->req;
    fprintf(stderr, "%s %s %u %.1fms %s%s\n", r->method, st->pattern, st->answered ? st->status : 0,
            elapsed_ms(&st->start), r->has_session ? r->session.user : "-",
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (cut off)");
    if (st->post != NULL)
        MHD_destroy_post_processor(st->post);
    if (r->upload_fd >= 0)
        close(r->upload_fd);
    for (size_t i = 0; i < r->n_uploads; i++) {
        unlink(r->uploads[i].path);
        cf_free(r->uploads[i].path);
        cf_free(r->uploads[i].field);
        cf_free(r->uploads[i].name);
    }
    for (size_t i = 0; i < r->n_fields; i++)
        field_free(&r->fields[i]);
    cf_free(st);
    *con_cls = NULL;
}

/* ---- start and stop ---- */

typedef struct listen_address {
    struct sockaddr_storage addr;
    socklen_t len;
    bool ipv6;
    bool loopback;
    char text[256]; /* as written in the Host header, without the port */
    unsigned port;
} listen_address;

/* Parses ADDR:PORT (IPv4, or [IPv6]:PORT). */
static bool parse_listen(const char *spec, listen_address *out)
{
    memset(out, 0, sizeof *out);
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon == spec || colon[1] == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port > 65535 || !isdigit((unsigned char)colon[1]))
        return false;
    size_t alen = (size_t)(colon - spec);
    if (alen >= sizeof out->text)
        return false;
    memcpy(out->text, spec, alen);
    out->port = (unsigned)port;
    if (out->text[0] == '[') {
        if (alen < 3 || out->text[alen - 1] != ']')
            return false;
        char inner[256];
        memcpy(inner, out->text + 1, alen - 2);
        inner[alen - 2] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&out->addr;
        if (inet_pton(AF_INET6, inner, &a6->sin6_addr) != 1)
            return false;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        out->len = sizeof *a6;
        out->ipv6 = true;
        out->loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
        return true;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&out->addr;
    if (inet_pton(AF_INET, out->text, &a4->sin_addr) != 1)
        return false;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    out->len = sizeof *a4;
    out->loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    return true;
}

/* Loads every form of the search folders once (the first folder that has an id wins). */
static cf_status load_forms(cf_web_server *s, const char *forms_dir, cf_diag *diag)
{
    cf_forms_dir dirs[CF_FORMS_DIRS_MAX];
    size_t n_dirs = cf_form_search_dirs(forms_dir, dirs);
    size_t cap = 0;
    for (size_t d = 0; d < n_dirs; d++) {
        DIR *dir = opendir(dirs[d].path);
        if (dir == NULL)
            continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".xml") != 0)
                continue;
            size_t plen = strlen(dirs[d].path) + len + 2;
            char *path = cf_malloc(plen);
            if (path == NULL)
                break;
            snprintf(path, plen, "%s/%s", dirs[d].path, e->d_name);
            cf_form *form = NULL;
            cf_diag *quiet = cf_diag_new();
            if (quiet == NULL || cf_form_load(path, NULL, &form, quiet) != CF_OK) {
                cf_diag_warning(diag, path, 0,
                                "not offered: the form does not load (consentform "
                                "validate says why)");
                cf_free(path);
                cf_diag_free(quiet);
                continue;
            }
            cf_diag_free(quiet);
            bool dup = false;
            for (size_t i = 0; i < s->n_forms; i++)
                dup = dup || strcmp(s->forms[i].form->id, form->id) == 0;
            cf_web_form *grown =
                dup ? NULL : cf_grow_array(s->forms, &cap, s->n_forms + 1, sizeof *s->forms, 8);
            if (grown == NULL) {
                cf_form_free(form);
                cf_free(path);
                continue;
            }
            s->forms = grown;
            s->forms[s->n_forms++] = (cf_web_form){.form = form, .path = path};
        }
        closedir(dir);
    }
    if (s->n_forms == 0) {
        cf_diag_error(diag, forms_dir ? forms_dir : "forms", 0, "no form to offer");
        return CF_ERR_NOINPUT;
    }
    return CF_OK;
}

static void server_cleanup(cf_web_server *s)
{
    for (size_t i = 0; i < s->n_forms; i++) {
        cf_form_free(s->forms[i].form);
        cf_free(s->forms[i].path);
    }
    cf_free(s->forms);
    for (size_t i = 0; i < CF_WEB_LISTS_MAX; i++) {
        if (s->lists[i].csv_path != NULL) {
            unlink(s->lists[i].csv_path);
            cf_free(s->lists[i].csv_path);
        }
    }
    cf_archive_close(s->archive);
    cf_auth_close(s->auth);
    pthread_mutex_destroy(&s->lists_lock);
    cf_web_form_states_free(s);
    pthread_mutex_destroy(&s->states_lock);
    if (s->glyph_cache_key_made)
        pthread_key_delete(s->glyph_cache_key); /* the pool's threads ended: theirs are freed */
}

static cf_status read_pem(const char *path, char **out, cf_diag *diag)
{
    size_t len = 0;
    return cf_file_read(path, 1 << 20, out, &len, diag);
}

cf_status cf_server_run(const cf_server_options *options, cf_diag *diag)
{
    listen_address la;
    const char *listen_spec = options->listen ? options->listen : "127.0.0.1:8080";
    if (!parse_listen(listen_spec, &la)) {
        cf_diag_error(diag, NULL, 0, "--listen \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:8080)",
                      listen_spec);
        return CF_ERR_USAGE;
    }
    bool tls = options->tls_cert != NULL || options->tls_key != NULL;
    if (tls && (options->tls_cert == NULL || options->tls_key == NULL)) {
        cf_diag_error(diag, NULL, 0, "TLS needs both --tls-cert and --tls-key");
        return CF_ERR_USAGE;
    }
    if (!la.loopback && !tls) {
        cf_diag_error(diag, NULL, 0,
                      "--listen %s is reachable from the network: give --tls-cert and --tls-key "
                      "(patient data is never sent in clear off this machine)",
                      listen_spec);
        return CF_ERR_USAGE;
    }
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        cf_diag_error(diag, NULL, 0, "this libmicrohttpd has no TLS support");
        return CF_ERR_USAGE;
    }

    cf_web_server s = {.store = options->store, .printer = options->printer, .tls = tls};
    pthread_mutex_init(&s.lists_lock, NULL);
    pthread_mutex_init(&s.states_lock, NULL);
    char *cert = NULL, *key = NULL;
    struct MHD_Daemon *daemon = NULL;
    cf_status st = cf_archive_open(options->store, false, &s.archive, diag);
    if (st == CF_OK)
        st = cf_auth_open(options->store, &s.auth, diag);
    if (st == CF_OK) {
        snprintf(s.tmp_dir, sizeof s.tmp_dir, "%s/tmp", options->store);
        if (mkdir(s.tmp_dir, 0700) != 0 && errno != EEXIST) {
            cf_diag_error(diag, s.tmp_dir, 0, "cannot be created: %s", strerror(errno));
            st = CF_ERR_CANTCREAT;
        }
    }
    if (st == CF_OK)
        st = load_forms(&s, options->forms_dir, diag);
    if (st == CF_OK && (st = cf_web_glyph_caches_init(&s)) == CF_OK)
        s.glyph_cache_key_made = true;
    if (st == CF_OK && tls)
        st = read_pem(options->tls_cert, &cert, diag);
    if (st == CF_OK && tls)
        st = read_pem(options->tls_key, &key, diag);
    if (st != CF_OK)
        goto cleanup;

    /* The signals are taken by this thread alone (sigwait below): the pool's threads, started
     * now, inherit the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cores < 1 ? 1u : cores > 64 ? 64u : (unsigned)cores;
    unsigned timeout = options->timeout ? options->timeout : 15;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_AUTO;
    if (la.ipv6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_options[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    daemon = MHD_start_daemon(
        flags, (uint16_t)la.port, NULL, NULL, access_handler, &s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&la.addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_LIMIT, 512u,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, 128u, MHD_OPTION_NOTIFY_COMPLETED, request_completed,
        NULL, MHD_OPTION_ARRAY, tls ? tls_options : tls_options + 2, MHD_OPTION_END);
    if (daemon == NULL) {
        cf_diag_error(diag, NULL, 0, "cannot listen on %s (in use, or not an address here)",
                      listen_spec);
        st = CF_ERR_IO;
        goto cleanup;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info != NULL ? info->port : la.port;
    snprintf(s.host, sizeof s.host, "%s:%u", la.text, port);
    snprintf(s.origin, sizeof s.origin, "%s://%s", tls ? "https" : "http", s.host);
    if (la.loopback && !la.ipv6) {
        snprintf(s.alt_host, sizeof s.alt_host, "localhost:%u", port);
        snprintf(s.alt_origin, sizeof s.alt_origin, "%s://%s", tls ? "https" : "http", s.alt_host);
    }
    fprintf(stderr, "consentform: serving on %s/ (%u threads, %zu forms%s%s)\n", s.origin, threads,
            s.n_forms, s.printer ? ", printer " : "", s.printer ? s.printer : "");
    fflush(stderr);

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0)
        ;
    fprintf(stderr, "consentform: %s: finishing the requests in flight\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    /* Stop accepting, let the connections in flight finish (at most 25 s, within the unit's 30),
     * then stop. */
    MHD_socket listener = MHD_quiesce_daemon(daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    for (int i = 0; i < 250; i++) {
        const union MHD_DaemonInfo *count =
            MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (count == NULL || count->num_connections == 0)
            break;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    MHD_stop_daemon(daemon);
    fprintf(stderr, "consentform: stopped\n");

cleanup:
    if (key != NULL) {
        memset(key, 0, strlen(key));
        cf_free(key);
    }
    cf_free(cert);
    server_cleanup(&s);
    return st;
}
