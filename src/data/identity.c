/* Identity clashes within one list, found by sorting hashes once every row was read. */
#include "data/identity.h"

#include "base/alloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One row: 20 bytes. */
typedef struct identity_entry {
    uint32_t hn_hi, hn_lo; /* 64-bit hash of the hospital number */
    uint32_t name;         /* hash of the name */
    uint32_t identity;     /* hash of every label field */
    uint32_t row;
} identity_entry;

struct cf_identity_check {
    identity_entry *entries;
    size_t size, cap;
};

typedef struct identity_finding {
    long row, other_row;
    cf_identity_clash clash;
} identity_finding;

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv_add(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}

static uint32_t fold(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32));
}

cf_identity_check *cf_identity_check_new(void)
{
    return cf_calloc(1, sizeof(cf_identity_check));
}

void cf_identity_check_free(cf_identity_check *check)
{
    if (!check)
        return;
    cf_free(check->entries);
    cf_free(check);
}

cf_status cf_identity_check_add(cf_identity_check *check, const cf_form *form,
                                const cf_record *record)
{
    const char *hn = cf_record_get(record, "hospital_no");
    if (!check || !hn || !*hn)
        return CF_OK;
    if (check->size == check->cap) {
        /* Grows by half, so that the peak stays near the final size for long lists. */
        size_t cap = check->cap < 1024 ? 1024 : check->cap + check->cap / 2;
        identity_entry *grown = cf_realloc(check->entries, cap * sizeof *grown);
        if (!grown)
            return CF_ERR_NOMEM;
        check->entries = grown;
        check->cap = cap;
    }
    uint64_t h = fnv_add(FNV_OFFSET, hn);
    uint64_t identity = FNV_OFFSET;
    for (size_t i = 0; form && i < form->n_fields; i++) {
        if (!form->fields[i].label)
            continue;
        /* Key and value, each ended by a byte that never occurs in them. */
        identity = fnv_add(identity, form->fields[i].key);
        identity = (identity ^ 0x1F) * FNV_PRIME;
        identity = fnv_add(identity, cf_record_get(record, form->fields[i].key));
        identity = (identity ^ 0x1E) * FNV_PRIME;
    }
    long row = cf_record_row(record);
    identity_entry *e = &check->entries[check->size++];
    e->hn_hi = (uint32_t)(h >> 32);
    e->hn_lo = (uint32_t)h;
    e->name = fold(fnv_add(FNV_OFFSET, cf_record_get(record, "patient_name")));
    e->identity = fold(identity);
    e->row = row < 0 ? 0 : row > (long)UINT32_MAX ? UINT32_MAX : (uint32_t)row;
    return CF_OK;
}

static int compare_entries(const void *pa, const void *pb)
{
    const identity_entry *a = pa, *b = pb;
    const uint32_t ka[5] = {a->hn_hi, a->hn_lo, a->name, a->identity, a->row};
    const uint32_t kb[5] = {b->hn_hi, b->hn_lo, b->name, b->identity, b->row};
    for (int i = 0; i < 5; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    return 0;
}

static int compare_findings(const void *pa, const void *pb)
{
    const identity_finding *a = pa, *b = pb;
    return a->row < b->row ? -1 : a->row > b->row;
}

cf_status cf_identity_check_finish(cf_identity_check *check, cf_identity_report report, void *ctx)
{
    if (!check || check->size == 0)
        return CF_OK;
    identity_entry *e = check->entries;
    size_t n = check->size;
    qsort(e, n, sizeof *e, compare_entries);
    identity_finding *found = NULL;
    size_t n_found = 0, cap_found = 0;
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n && e[end].hn_hi == e[start].hn_hi && e[end].hn_lo == e[start].hn_lo)
            end++;
        bool names_differ = e[end - 1].name != e[start].name;
        /* The earliest row of the group (first_row, with first_name) and the earliest row with
         * another name (second_row): each row's "other" is one of the two. Linear, however
         * many rows share a hospital number. */
        uint32_t first_row = UINT32_MAX, first_name = 0, second_row = UINT32_MAX;
        for (size_t j = start; names_differ && j < end; j++)
            if (e[j].row < first_row) {
                first_row = e[j].row;
                first_name = e[j].name;
            }
        for (size_t j = start; names_differ && j < end; j++)
            if (e[j].name != first_name && e[j].row < second_row)
                second_row = e[j].row;
        size_t run = start; /* first entry of the run of equal identities i is in */
        for (size_t i = start; i < end; i++) {
            long other = -1;
            cf_identity_clash clash = CF_IDENTITY_NAME_DIFFERS;
            if (i > start && e[i - 1].identity != e[i].identity)
                run = i;
            if (names_differ) {
                other = (long)(e[i].name != first_name ? first_row : second_row);
            } else if (run < i) {
                /* Sorted by row within one identity: the run's first row came first. */
                other = (long)e[run].row;
                clash = CF_IDENTITY_REPEATED;
            }
            if (other < 0)
                continue;
            if (n_found == cap_found) {
                identity_finding *grown =
                    cf_grow_array(found, &cap_found, n_found + 1, sizeof *grown, 16);
                if (!grown) {
                    cf_free(found);
                    return CF_ERR_NOMEM;
                }
                found = grown;
            }
            found[n_found++] = (identity_finding){(long)e[i].row, other, clash};
        }
        start = end;
    }
    qsort(found, n_found, sizeof *found, compare_findings);
    for (size_t i = 0; i < n_found; i++)
        report(ctx, found[i].row, found[i].other_row, found[i].clash);
    cf_free(found);
    return CF_OK;
}
