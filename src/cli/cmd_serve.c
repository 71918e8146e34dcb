/* consentform serve: the ward's web page (src/web/server.h). */
#include "cli/cli.h"

#include "base/diag.h"
#include "web/server.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

const char cf_usage_serve[] =
    "usage: consentform serve --store STORE [options]\n"
    "\n"
    "Serves the ward's web page: print a labelled form, run tomorrow's list, find a document,\n"
    "list what is still unsigned. Every user logs in (consentform user add STORE NAME --role\n"
    "nurse|clerk|admin); every document issued goes into STORE.\n"
    "\n"
    "      --store STORE        the archive store (documents and users)\n"
    "      --forms-dir DIR      look for forms in DIR first\n"
    "      --listen ADDR:PORT   where to listen (default 127.0.0.1:8080; port 0 picks a free\n"
    "                           port, printed on stderr); an address other than loopback\n"
    "                           needs --tls-cert and --tls-key\n"
    "      --printer QUEUE      send issued documents to this CUPS queue (duplex) instead of\n"
    "                           opening the PDF in the browser\n"
    "      --tls-cert FILE      PEM certificate (with --tls-key): serve HTTPS\n"
    "      --tls-key FILE       PEM private key\n"
    "      --timeout SECONDS    close a connection idle this long (default 15)\n"
    "\n"
    "SIGTERM or SIGINT stops it after the requests in flight. The access log (stderr) has one\n"
    "line a request: method, route, status, time and user; never a patient value.\n"
    "Exit status: 0 stopped, 64 usage (also: off loopback without TLS), 66 store or forms not\n"
    "found, 74 cannot listen.\n";

enum { OPT_STORE = 256, OPT_FORMS_DIR, OPT_LISTEN, OPT_PRINTER, OPT_CERT, OPT_KEY, OPT_TIMEOUT };

int cf_cmd_serve(int argc, char **argv)
{
    static const struct option options[] = {
        {"store", required_argument, NULL, OPT_STORE},
        {"forms-dir", required_argument, NULL, OPT_FORMS_DIR},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"printer", required_argument, NULL, OPT_PRINTER},
        {"tls-cert", required_argument, NULL, OPT_CERT},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cf_server_options o = {0};
    int c;
    optind = 1;
    while ((c = cf_cli_getopt(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case OPT_STORE:
            o.store = optarg;
            break;
        case OPT_FORMS_DIR:
            o.forms_dir = optarg;
            break;
        case OPT_LISTEN:
            o.listen = optarg;
            break;
        case OPT_PRINTER:
            o.printer = optarg;
            break;
        case OPT_CERT:
            o.tls_cert = optarg;
            break;
        case OPT_KEY:
            o.tls_key = optarg;
            break;
        case OPT_TIMEOUT: {
            char *end = NULL;
            long t = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || t < 1 || t > 3600)
                return cf_cli_usage_error(
                    cf_usage_serve, "serve: --timeout is 1 to 3600 seconds, not \"%s\"", optarg);
            o.timeout = (unsigned)t;
            break;
        }
        case 'h':
            fputs(cf_usage_serve, stdout);
            return EX_OK;
        default:
            return cf_cli_usage_error(cf_usage_serve,
                                      "serve: unknown option or missing value "
                                      "in \"%s\"",
                                      argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cf_cli_usage_error(cf_usage_serve, "serve: unexpected argument \"%s\"",
                                  argv[optind]);
    if (o.store == NULL)
        return cf_cli_usage_error(cf_usage_serve, "serve: name the store with --store STORE");
    cf_diag *diag = cf_diag_new();
    if (diag == NULL)
        return EX_SOFTWARE;
    cf_diag_set_echo(diag, stderr);
    cf_status st = cf_server_run(&o, diag);
    cf_diag_free(diag);
    return cf_status_exit_code(st);
}
