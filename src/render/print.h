/* Sending a finished PDF to a print queue through CUPS (the only file that includes cups.h),
 * shared by `render --print` and `batch --print`. The server is the one libcups chooses:
 * $CUPS_SERVER, ~/.cups/client.conf, /etc/cups/client.conf, else the local scheduler. */
#ifndef CF_PRINT_H
#define CF_PRINT_H

#include "base/diag.h"
#include "base/status.h"
#include "layout/layout.h"

#include <stdbool.h>

typedef struct cf_print_request {
    const char *queue; /* CUPS queue name */
    const char *path;  /* the PDF, already written (and archived) */
    const char *title; /* job name; no patient values (the queue's job list is seen by others) */
    cf_paper paper;    /* media: A4 or Letter */
    bool duplex;       /* sides=two-sided-long-edge, else one-sided */
} cf_print_request;

/* Submits the file as one job (document-format application/pdf) and stores its job id in
 * *job_id. CF_ERR_IO with a message naming the queue and CUPS's reason when the server refuses
 * it or cannot be reached. A queue that is stopped takes the job and holds it: CF_OK with the job
 * id and a warning on diag that says so (the job prints once the queue is started again). */
cf_status cf_print_file(const cf_print_request *request, int *job_id, cf_diag *diag);

#endif
