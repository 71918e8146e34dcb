/* Reading a batch's manifest back (see batch.h: cf_batch_manifest_ids). */
#include "base/alloc.h"
#include "batch/batch.h"
#include "data/csv.h"

#include <stdio.h>
#include <string.h>

cf_status cf_batch_manifest_ids(const char *out_dir, char ***ids, size_t *n, cf_diag *diag)
{
    *ids = NULL;
    *n = 0;
    size_t len = strlen(out_dir) + sizeof CF_BATCH_MANIFEST + 2;
    char *manifest = cf_malloc(len);
    if (manifest == NULL)
        return CF_ERR_NOMEM;
    snprintf(manifest, len, "%s/%s", out_dir, CF_BATCH_MANIFEST);
    cf_csv_reader *reader = NULL;
    cf_status st = cf_csv_reader_open(manifest, CF_CSV_ENCODING_UTF8, NULL, &reader, diag);
    size_t status_col = (size_t)-1, id_col = (size_t)-1, cap = 0;
    const char *const *fields = NULL;
    size_t nf = 0;
    for (bool head = true; st == CF_OK; head = false) {
        st = cf_csv_next_row(reader, &fields, &nf);
        if (st != CF_OK || fields == NULL)
            break;
        for (size_t i = 0; head && i < nf; i++) {
            if (strcmp(fields[i], "status") == 0)
                status_col = i;
            if (strcmp(fields[i], "document_id") == 0)
                id_col = i;
        }
        if (head && (status_col >= nf || id_col >= nf)) {
            cf_diag_error(diag, manifest, 1, "has no status and document_id columns");
            st = CF_ERR_DATA;
            break;
        }
        if (head || status_col >= nf || id_col >= nf || strcmp(fields[status_col], "ok") != 0 ||
            fields[id_col][0] == '\0')
            continue;
        char **grown = cf_grow_array(*ids, &cap, *n + 1, sizeof **ids, 32);
        char *id = grown != NULL ? cf_strdup(fields[id_col]) : NULL;
        if (grown != NULL)
            *ids = grown;
        if (id == NULL) {
            st = CF_ERR_NOMEM;
            break;
        }
        (*ids)[(*n)++] = id;
    }
    cf_csv_reader_close(reader);
    cf_free(manifest);
    if (st != CF_OK) {
        cf_batch_ids_free(*ids, *n);
        *ids = NULL;
        *n = 0;
    }
    return st;
}

void cf_batch_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; ids != NULL && i < n; i++)
        cf_free(ids[i]);
    cf_free(ids);
}
