/* What the server (server.c) and its pages (pages.c, list.c) share: the request as a handler
 * sees it, the response it fills, the route table. */
#ifndef CF_WEB_INTERNAL_H
#define CF_WEB_INTERNAL_H

#include "archive/archive.h"
#include "base/buf.h"
#include "base/hash.h"
#include "form/form.h"
#include "layout/layout.h"
#include "render/render_pdf.h"
#include "text/font.h"
#include "web/auth.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define CF_WEB_FIELDS_MAX 128           /* form fields of one POST */
#define CF_WEB_FIELDS_BYTES (64 * 1024) /* their total size */
#define CF_WEB_CSV_MAX ((size_t)20 * 1024 * 1024)
#define CF_WEB_SCANS_MAX ((size_t)200 * 1024 * 1024)
#define CF_WEB_LISTS_MAX 32  /* uploaded lists kept between the pages of the list flow */
#define CF_WEB_STATES_MAX 64 /* forms whose fonts and bodies a serve process keeps */

/* A form the server offers: loaded once at start. */
typedef struct cf_web_form {
    cf_form *form;
    char *path;
} cf_web_form;

/* An uploaded patient list waiting for its print (kept under a random token). */
typedef struct cf_web_list {
    char token[33];
    char user[64];
    char *csv_path; /* in STORE/tmp, removed with the entry */
    const cf_web_form *form;
    long long created;
} cf_web_list;

/* What a serve process makes once per form and keeps for its life (issue 17: fonts subset,
 * checked and compressed once per form): the fonts every document of the form embeds
 * (cf_pdf_fonts made from cf_document_font_base's sets, as a batch makes them) and a body cache
 * (cf_layout_cache). Keyed by the form's id, version and fingerprint (cf_form_fingerprint) and
 * the font set, so a changed form text never meets the state of the old one. Made on first
 * use (form_state.c), immutable after (the body cache is thread-safe), freed with the server. */
typedef struct cf_web_form_state {
    char form_id[128];
    char form_version[64];
    char fingerprint[CF_SHA256_HEX_SIZE];
    const cf_fontset *fonts;
    cf_codepoints *base[CF_FONT_STYLE_COUNT];
    cf_pdf_fonts *run_fonts;       /* NULL: $CONSENTFORM_NO_BATCH_FONTS (a subset per document) */
    cf_layout_cache *layout_cache; /* NULL: $CONSENTFORM_NO_BODY_CACHE */
} cf_web_form_state;

typedef struct cf_web_server {
    const char *store;
    const char *printer;
    char tmp_dir[4096];
    cf_auth *auth;
    cf_archive *archive;
    cf_web_form *forms;
    size_t n_forms;
    char host[300];     /* Host the server answers to: ADDR:PORT */
    char alt_host[300]; /* "localhost:PORT" on 127.0.0.1, else "" */
    char origin[320];   /* scheme://host */
    char alt_origin[320];
    bool tls;
    pthread_mutex_t lists_lock;
    cf_web_list lists[CF_WEB_LISTS_MAX];
    pthread_mutex_t states_lock;
    cf_web_form_state *states[CF_WEB_STATES_MAX];
    size_t n_states;
    pthread_key_t glyph_cache_key; /* each pool thread's cf_glyph_cache (not thread-safe) */
    bool glyph_cache_key_made;
} cf_web_server;

/* One field of a submitted form (urlencoded or multipart without a file). */
typedef struct cf_web_field {
    char *name;
    char *value;
} cf_web_field;

/* A file part of a multipart POST, streamed to a temporary file. */
typedef struct cf_web_upload {
    char *path; /* STORE/tmp/up-XXXXXX; removed when the request ends */
    char *field;
    char *name; /* the browser's file name, safe to show (never used as a path); may be NULL */
    size_t size;
} cf_web_upload;

#define CF_WEB_UPLOADS_MAX 64

typedef struct cf_web_request {
    const char *method;
    const char *path;
    struct MHD_Connection *connection;
    bool has_session;
    cf_session session;
    char session_id[CF_AUTH_TOKEN_HEX];
    char peer[64];
    cf_web_field fields[CF_WEB_FIELDS_MAX];
    size_t n_fields;
    size_t fields_bytes;
    cf_web_upload uploads[CF_WEB_UPLOADS_MAX];
    size_t n_uploads;
    size_t upload_bytes;
    size_t upload_cap;
    int upload_fd; /* the file being written, -1 when none */
} cf_web_request;

typedef struct cf_web_response {
    unsigned status;
    const char *content_type; /* static */
    cf_buf body;
    char *file_path; /* send this file instead of body, then remove it when remove_file */
    bool remove_file;
    char location[512]; /* redirect target (a path of this server) */
    char set_cookie[256];
    char disposition[160]; /* Content-Disposition */
    bool cacheable;        /* static assets only; everything else is no-store */
} cf_web_response;

typedef void (*cf_web_handler)(cf_web_server *s, cf_web_request *r, cf_web_response *out);

typedef struct cf_web_route {
    const char *method;
    const char *path;
    cf_web_handler handler;
    int min_role;      /* cf_role, or -1: no login needed */
    size_t upload_cap; /* multipart file bytes allowed; 0: no files */
} cf_web_route;

extern const cf_web_route cf_web_routes[];
extern const size_t cf_web_n_routes;

/* ---- helpers (server.c) ---- */
/* A GET query argument or POST field; NULL when absent. */
const char *cf_web_arg(cf_web_request *r, const char *name);
/* The upload of field name (the first), or NULL. */
const cf_web_upload *cf_web_file(const cf_web_request *r, const char *name);
/* A redirect (303) to a path of this server. */
void cf_web_redirect(cf_web_response *out, const char *path);

/* ---- HTML (html.c): the one escaper and the page shell ---- */
void cf_html_text(cf_buf *b, const char *s); /* s escaped for text and quoted attributes */
void cf_html_raw(cf_buf *b, const char *s);  /* markup of our own */
void cf_html_page_begin(cf_buf *b, const cf_web_request *r, const char *title_zh,
                        const char *title_en);
void cf_html_page_end(cf_buf *b);
/* A hidden input with the session's CSRF token, for every POST form. */
void cf_html_csrf(cf_buf *b, const cf_web_request *r);
/* An error page with status: the message in both languages, then diag's messages. */
void cf_html_error(cf_web_response *out, const cf_web_request *r, unsigned status, const char *zh,
                   const char *en, const char *detail);

/* ---- embedded files of web/ (generated) ---- */
typedef struct cf_web_asset {
    const char *name;
    const unsigned char *data;
    size_t len;
} cf_web_asset;
extern const cf_web_asset cf_web_assets[];
extern const size_t cf_web_n_assets;
const cf_web_asset *cf_web_asset_get(const char *name);

/* Sends the PDF at path (its documents ids[0..n) already issued and archived) to the server's
 * printer as one duplex A4 job, records a sent-to-printer event with the session's user on each
 * of ids, and writes what happened to b for the page (pages.c): the job id (id="print-job"), a
 * stopped queue that holds the job, or why nothing was printed, saying that the documents stay
 * issued and archived. Messages name no path of the server. Returns the job id; 0: not sent. */
int cf_web_print(cf_web_server *s, const cf_web_request *r, const char *path, const char *title,
                 const char *const *ids, size_t n, cf_buf *b);

/* ---- per-form state and per-thread caches (form_state.c) ---- */
/* The state of form with fonts for its fingerprint (64 hex digits), made on first use; NULL
 * when it cannot be made or the table is full: the document is then made without it (the same
 * text and pixels). */
const cf_web_form_state *cf_web_form_state_get(cf_web_server *s, const cf_form *form,
                                               const cf_fontset *fonts, const char *fingerprint);
/* Frees every state (the server's end), saying on stderr what each body cache saved. */
void cf_web_form_states_free(cf_web_server *s);
/* Makes the key of the threads' glyph caches (once, before the pool starts). */
cf_status cf_web_glyph_caches_init(cf_web_server *s);
/* The calling thread's glyph cache, made on first use, freed when the thread ends; NULL when it
 * cannot be made. */
cf_glyph_cache *cf_web_glyph_cache(cf_web_server *s);

/* A new private folder STORE/tmp/PREFIX-XXXXXX (pages.c); NULL when it cannot be made. Caller
 * removes it with cf_web_remove_dir and frees the name with cf_free. */
char *cf_web_temp_dir(const cf_web_server *s, const char *prefix);
/* Removes dir and the files in it (one level: the folders cf_web_temp_dir makes). */
void cf_web_remove_dir(const char *dir);

#endif
