/* consentform serve: the ward's web page over the same library as the command line. An HTTP
 * server (libmicrohttpd, a thread pool the size of the cores) that answers only requests whose
 * Host (and Origin, when sent) is its own, only to users who logged in (src/web/auth.h), with a
 * CSRF token on every POST; uploads are streamed to temporary files in STORE/tmp. */
#ifndef CF_WEB_SERVER_H
#define CF_WEB_SERVER_H

#include "base/diag.h"
#include "base/status.h"

#include <signal.h>

typedef struct cf_server_options {
    const char *store;     /* the archive store: documents, users (borrowed) */
    const char *forms_dir; /* --forms-dir, or NULL for the usual search */
    const char *listen;    /* "ADDR:PORT"; NULL: 127.0.0.1:8080; port 0 picks a free one */
    const char *printer;   /* CUPS queue, or NULL: PDFs open in the browser */
    const char *tls_cert;  /* PEM files; both or neither; required off loopback */
    const char *tls_key;
    unsigned timeout; /* seconds a connection may idle (slow clients); 0: 15 */
} cf_server_options;

/* Serves until SIGTERM or SIGINT (blocked in the calling thread while it runs), then stops
 * accepting, lets the requests in flight finish and returns CF_OK. The chosen port is printed
 * to stderr as "consentform: serving on http(s)://ADDR:PORT/". CF_ERR_USAGE for a listen address
 * off loopback without TLS, or a bad ADDR:PORT; other failures (store, port in use) with a
 * message in diag. */
cf_status cf_server_run(const cf_server_options *options, cf_diag *diag);

#endif
