/* Pages grouped by document: each document's pages in page order, and every page that cannot
 * be placed (unreadable QR, a second different scan of a page, a QR that disagrees with the
 * document's other pages) or is missing, so that the caller can send it to the inbox. */
#include "scan/scan.h"

#include "base/alloc.h"

#include <string.h>

#define NO_PAGE ((size_t)-1)

static const char *const problem_names[CF_SCAN_PROBLEM_COUNT] = {
    [CF_SCAN_UNDECODABLE] = "undecodable", [CF_SCAN_MISSING_PAGE] = "missing-page",
    [CF_SCAN_DUPLICATE] = "duplicate",     [CF_SCAN_INCONSISTENT] = "inconsistent",
    [CF_SCAN_BLANK_FORM] = "blank-form",
};

const char *cf_scan_problem_name(cf_scan_problem_kind kind)
{
    return (unsigned)kind < CF_SCAN_PROBLEM_COUNT ? problem_names[kind] : "unknown";
}

typedef struct grouping {
    cf_scan_report *report;
    size_t docs_cap, problems_cap;
} grouping;

static cf_status add_problem(grouping *g, cf_scan_problem_kind kind, size_t page,
                             const char *document_id, unsigned page_no)
{
    cf_scan_report *r = g->report;
    cf_scan_problem *grown =
        cf_grow_array(r->problems, &g->problems_cap, r->n_problems + 1, sizeof *grown, 16);
    if (grown == NULL)
        return CF_ERR_NOMEM;
    r->problems = grown;
    cf_scan_problem *p = &r->problems[r->n_problems++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->page = page;
    p->page_no = page_no;
    if (document_id != NULL)
        memcpy(p->document_id, document_id, CF_DOCUMENT_ID_SIZE);
    return CF_OK;
}

/* The document of payload, created on first sight; NULL when out of memory. */
static cf_scan_doc *document_of(grouping *g, const cf_scan_payload *payload, size_t *index)
{
    cf_scan_report *r = g->report;
    for (size_t i = 0; i < r->n_docs; i++) {
        if (strcmp(r->docs[i].document_id, payload->document_id) == 0) {
            *index = i;
            return &r->docs[i];
        }
    }
    cf_scan_doc *grown = cf_grow_array(r->docs, &g->docs_cap, r->n_docs + 1, sizeof *grown, 16);
    if (grown == NULL)
        return NULL;
    r->docs = grown;
    cf_scan_doc *d = &r->docs[r->n_docs];
    memset(d, 0, sizeof *d);
    d->page_index = cf_malloc(payload->pages * sizeof *d->page_index);
    if (d->page_index == NULL)
        return NULL;
    for (unsigned p = 0; p < payload->pages; p++)
        d->page_index[p] = NO_PAGE;
    memcpy(d->document_id, payload->document_id, CF_DOCUMENT_ID_SIZE);
    d->pages = payload->pages;
    d->form_id = payload->form_id;
    d->version = payload->version;
    *index = r->n_docs++;
    return d;
}

static cf_status place(grouping *g, const cf_scan_page *pages, size_t i)
{
    const cf_scan_page *page = &pages[i];
    const cf_scan_payload *pl = &page->payload;
    if (!page->decoded || pl->page == 0 || pl->page > pl->pages)
        return add_problem(g, CF_SCAN_UNDECODABLE, i, NULL, 0);
    /* A blank form is the same paper for every patient: only a person can say whose it is. */
    if (pl->blank)
        return add_problem(g, CF_SCAN_BLANK_FORM, i, NULL, pl->page);
    size_t di = 0;
    cf_scan_doc *d = document_of(g, pl, &di);
    if (d == NULL)
        return CF_ERR_NOMEM;
    if (pl->pages != d->pages || strcmp(pl->form_id, d->form_id) != 0 ||
        strcmp(pl->version, d->version) != 0) {
        d->conflicting = true;
        return add_problem(g, CF_SCAN_INCONSISTENT, i, pl->document_id, pl->page);
    }
    size_t *slot = &d->page_index[pl->page - 1];
    if (*slot == NO_PAGE) {
        *slot = i;
        return CF_OK;
    }
    /* The same scan given twice (a file dropped twice) is harmless; a different one is not:
     * which of the two is the signed page is a person's decision. */
    if (memcmp(pages[*slot].digest, page->digest, sizeof page->digest) == 0)
        return CF_OK;
    d->conflicting = true;
    return add_problem(g, CF_SCAN_DUPLICATE, i, pl->document_id, pl->page);
}

cf_status cf_scan_group(const cf_scan_page *pages, size_t n, cf_scan_report **out)
{
    grouping g = {0};
    cf_status st = CF_OK;
    *out = NULL;
    g.report = cf_calloc(1, sizeof *g.report);
    if (g.report == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < n && st == CF_OK; i++)
        st = place(&g, pages, i);
    for (size_t di = 0; di < g.report->n_docs && st == CF_OK; di++) {
        cf_scan_doc *d = &g.report->docs[di];
        bool complete = !d->conflicting;
        for (unsigned p = 0; p < d->pages && st == CF_OK; p++) {
            if (d->page_index[p] != NO_PAGE)
                continue;
            complete = false;
            st = add_problem(&g, CF_SCAN_MISSING_PAGE, NO_PAGE, d->document_id, p + 1);
        }
        d->complete = complete;
    }
    if (st != CF_OK) {
        cf_scan_report_free(g.report);
        return st;
    }
    *out = g.report;
    return CF_OK;
}

void cf_scan_report_free(cf_scan_report *report)
{
    if (report == NULL)
        return;
    for (size_t i = 0; i < report->n_docs; i++)
        cf_free(report->docs[i].page_index);
    cf_free(report->docs);
    cf_free(report->problems);
    cf_free(report);
}
