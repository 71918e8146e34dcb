/* Printing through libcups (see print.h). */
#include "render/print.h"

#include <cups/cups.h>

cf_status cf_print_file(const cf_print_request *request, int *job_id, cf_diag *diag)
{
    *job_id = 0;
    /* An unreachable server and a queue it does not know are told apart, in plain words
     * (for both, CUPS itself reports "the printer or class does not exist"). */
    http_t *http = httpConnect2(cupsServer(), ippPort(), NULL, AF_UNSPEC, cupsEncryption(),
                                /*blocking*/ 1, /*msec*/ 10000, NULL);
    if (http == NULL) {
        cf_diag_error(diag, request->path, 0,
                      "written, but not printed: the print server %s:%d cannot be reached",
                      cupsServer(), ippPort());
        return CF_ERR_IO;
    }
    cups_dest_t *dest = cupsGetNamedDest(http, request->queue, NULL);
    if (dest == NULL) {
        cf_diag_error(diag, request->path, 0,
                      "written, but not printed: the print server %s:%d has no queue \"%s\" "
                      "(lpstat -p lists them)",
                      cupsServer(), ippPort(), request->queue);
        httpClose(http);
        return CF_ERR_IO;
    }
    cupsFreeDests(1, dest);
    cups_option_t *options = NULL;
    int n = 0;
    n = cupsAddOption("document-format", "application/pdf", n, &options);
    n = cupsAddOption("sides", request->duplex ? "two-sided-long-edge" : "one-sided", n, &options);
    n = cupsAddOption("media",
                      request->paper == CF_PAPER_LETTER ? "na_letter_8.5x11in" : "iso_a4_210x297mm",
                      n, &options);
    int id = cupsPrintFile2(http, request->queue, request->path, request->title, n, options);
    cupsFreeOptions(n, options);
    httpClose(http);
    if (id <= 0) {
        const char *why = cupsLastErrorString();
        cf_diag_error(diag, request->path, 0,
                      "written, but not printed: print queue \"%s\" on %s:%d: %s", request->queue,
                      cupsServer(), ippPort(), why != NULL && why[0] != '\0' ? why : "refused");
        return CF_ERR_IO;
    }
    *job_id = id;
    return CF_OK;
}
