#include "base/status.h"

#include <sysexits.h>

static const struct {
    const char *message;
    int exit_code;
} status_table[CF_STATUS_COUNT] = {
    [CF_OK] = {"success", EX_OK},
    [CF_ERR_USAGE] = {"usage error", EX_USAGE},
    [CF_ERR_DATA] = {"invalid data", EX_DATAERR},
    [CF_ERR_NOINPUT] = {"input not found", EX_NOINPUT},
    [CF_ERR_CANTCREAT] = {"output cannot be created", EX_CANTCREAT},
    [CF_ERR_EXISTS] = {"output already exists", EX_CANTCREAT},
    [CF_ERR_IO] = {"input/output error", EX_IOERR},
    [CF_ERR_NOMEM] = {"out of memory", EX_SOFTWARE},
    [CF_ERR_LIMIT] = {"size limit exceeded", EX_DATAERR},
    [CF_ERR_INTERNAL] = {"internal error", EX_SOFTWARE},
};

const char *cf_status_message(cf_status status)
{
    if ((unsigned)status >= CF_STATUS_COUNT)
        return "unknown status";
    return status_table[status].message;
}

int cf_status_exit_code(cf_status status)
{
    if ((unsigned)status >= CF_STATUS_COUNT)
        return EX_SOFTWARE;
    return status_table[status].exit_code;
}
