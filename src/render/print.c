/* Printing through libcups (see print.h). */
#include "render/print.h"

#include <cups/cups.h>

cf_status cf_print_file(const cf_print_request *request, int *job_id, cf_diag *diag)
{
    *job_id = 0;
    cups_option_t *options = NULL;
    int n = 0;
    n = cupsAddOption("document-format", "application/pdf", n, &options);
    n = cupsAddOption("sides", request->duplex ? "two-sided-long-edge" : "one-sided", n, &options);
    n = cupsAddOption("media",
                      request->paper == CF_PAPER_LETTER ? "na_letter_8.5x11in" : "iso_a4_210x297mm",
                      n, &options);
    int id = cupsPrintFile2(CUPS_HTTP_DEFAULT, request->queue, request->path, request->title, n,
                            options);
    cupsFreeOptions(n, options);
    if (id <= 0) {
        const char *why = cupsLastErrorString();
        cf_diag_error(diag, request->path, 0,
                      "written, but not printed: print queue \"%s\" on %s: %s", request->queue,
                      cupsServer(), why != NULL && why[0] != '\0' ? why : "refused");
        return CF_ERR_IO;
    }
    *job_id = id;
    return CF_OK;
}
