/* Status codes returned by every fallible function, and the exit status each maps to. */
#ifndef CF_STATUS_H
#define CF_STATUS_H

typedef enum cf_status {
    CF_OK = 0,
    CF_ERR_USAGE,     /* bad command line */
    CF_ERR_DATA,      /* invalid form, CSV, patient value, missing glyph */
    CF_ERR_NOINPUT,   /* input file not found or unreadable */
    CF_ERR_CANTCREAT, /* output cannot be created */
    CF_ERR_EXISTS,    /* output exists and --force was not given */
    CF_ERR_IO,        /* read/write failure */
    CF_ERR_NOMEM,     /* allocation failed */
    CF_ERR_LIMIT,     /* a size or count cap was hit */
    CF_ERR_INTERNAL,  /* a bug or a library failure we cannot explain */
    CF_STATUS_COUNT
} cf_status;

/* Short English description of a status; never NULL, static storage. */
const char *cf_status_message(cf_status status);

/* Process exit status (sysexits.h) for a status. */
int cf_status_exit_code(cf_status status);

#endif
