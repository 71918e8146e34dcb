/* Printing through libcups (see print.h). */
#include "render/print.h"

#include <cups/cups.h>
#include <stdio.h>
#include <string.h>

/* Whether queue is stopped (IPP printer-state 5), and its state message, else its state
 * reasons, into why. */
static bool queue_stopped(http_t *http, const char *queue, char *why, size_t size)
{
    ipp_t *request = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
    if (request == NULL)
        return false;
    char uri[HTTP_MAX_URI];
    httpAssembleURIf(HTTP_URI_CODING_ALL, uri, sizeof uri, "ipp", NULL, "localhost", ippPort(),
                     "/printers/%s", queue);
    ippAddString(request, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
    static const char *const wanted[] = {"printer-state", "printer-state-message",
                                         "printer-state-reasons"};
    ippAddStrings(request, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 3, NULL,
                  wanted);
    ipp_t *response = cupsDoRequest(http, request, "/"); /* frees request */
    ipp_attribute_t *state = ippFindAttribute(response, "printer-state", IPP_TAG_ENUM);
    bool stopped = state != NULL && ippGetInteger(state, 0) == IPP_PSTATE_STOPPED;
    if (stopped) {
        ipp_attribute_t *message =
            ippFindAttribute(response, "printer-state-message", IPP_TAG_TEXT);
        const char *text = message != NULL ? ippGetString(message, 0, NULL) : NULL;
        if (text == NULL || text[0] == '\0') {
            ipp_attribute_t *r =
                ippFindAttribute(response, "printer-state-reasons", IPP_TAG_KEYWORD);
            text = r != NULL ? ippGetString(r, 0, NULL) : NULL;
        }
        snprintf(why, size, "%s", text != NULL ? text : "");
    }
    ippDelete(response);
    return stopped;
}

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
    /* A stopped queue takes the job and holds it: the job is sent, but the person waiting at
     * the printer must be told, with the reason the queue gives (cupsdisable -r). */
    char reasons[256] = "";
    bool stopped = queue_stopped(http, request->queue, reasons, sizeof reasons);
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
    if (stopped)
        cf_diag_warning(diag, request->path, 0,
                        "print queue \"%s\" is stopped%s%s%s: job %d waits there and prints only "
                        "once the queue is started again (cupsenable %s)",
                        request->queue, reasons[0] ? " (" : "", reasons, reasons[0] ? ")" : "", id,
                        request->queue);
    return CF_OK;
}
