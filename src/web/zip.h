/* A small ZIP writer (PKWARE APPNOTE 6.3, no ZIP64): each entry deflated with zlib, or stored
 * when deflating would not make it smaller. Used for the list's "download a ZIP". */
#ifndef CF_WEB_ZIP_H
#define CF_WEB_ZIP_H

#include "base/diag.h"
#include "base/status.h"

#include <stddef.h>

#define CF_ZIP_ENTRIES_MAX 65535
#define CF_ZIP_ENTRY_MAX ((size_t)1 << 30) /* bytes of one entry */

typedef struct cf_zip cf_zip;

/* Creates path (replacing nothing: CF_ERR_EXISTS when it is there); caller finishes with
 * cf_zip_close, which frees the writer in every case. */
cf_status cf_zip_open(const char *path, cf_zip **out, cf_diag *diag);
/* Adds an entry name (relative, no "..", no leading '/': CF_ERR_DATA) with len bytes of data,
 * dated time (seconds since 1970, kept in the entry as local DOS time). */
cf_status cf_zip_add(cf_zip *zip, const char *name, const void *data, size_t len, long long time,
                     cf_diag *diag);
/* Writes the central directory and closes the file; on any earlier failure (or this one) the
 * file is removed and the first failure returned. */
cf_status cf_zip_close(cf_zip *zip, cf_diag *diag);

/* Zips every .pdf and the manifest.csv of dir (not its subfolders), sorted by name, into
 * zip_path. */
cf_status cf_zip_folder_pdfs(const char *dir, const char *zip_path, cf_diag *diag);

#endif
