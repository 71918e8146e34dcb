/* Filing scans into the archive by their QR codes (file.h). */
#include "scan/file.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NO_PAGE ((size_t)-1)
/* Threads that read pages (decoding and the QR search are CPU work: one per core of the
 * 2-core machines this runs on) and threads that commit signed copies and inbox items (their
 * fsyncs overlap; only the short index transactions queue). */
#define READERS 2
#define COMMITTERS 4

/* One page of the input. */
typedef struct page_entry {
    size_t source;      /* index into the run's sources */
    size_t index;       /* 0-based page in that source */
    cf_scan_page page;  /* digest, QR payload */
    bool unreadable;    /* the image could not be decoded */
    unsigned char *ink; /* [layout lines of its document]: 1 inked, 0 empty, 2 not checked */
    bool committed;     /* filed, or in the inbox */
} page_entry;

/* A document's archive record, looked up once per run. */
typedef struct known_doc {
    char id[CF_DOCUMENT_ID_SIZE];
    cf_status status; /* of cf_archive_issued_get */
    cf_archive_issued info;
} known_doc;

typedef struct run {
    cf_archive *archive;
    const cf_scan_file_options *opt;
    cf_scan_file_result *out;
    cf_diag *diag;
    char **paths; /* the files, folders expanded */
    char **names; /* [n_paths]: what rows, the inbox and messages call each file */
    size_t n_paths, cap_paths, cap_names;
    cf_scan_source **sources; /* [n_paths]; NULL for a file that could not be opened */
    page_entry *pages;
    size_t n_pages, cap_pages;
    known_doc *docs;
    size_t n_docs, cap_docs;
    bool anything_unfiled;
    pthread_mutex_t lock; /* docs, while the readers run */
} run;

void cf_scan_file_result_cleanup(cf_scan_file_result *result)
{
    if (result == NULL)
        return;
    for (size_t i = 0; i < result->count; i++) {
        cf_free(result->rows[i].source);
        cf_free(result->rows[i].reason);
    }
    cf_free(result->rows);
    memset(result, 0, sizeof *result);
}

/* Adds a row; its strings are copied. */
static cf_status add_row(cf_scan_file_result *out, cf_scan_outcome outcome, const char *id,
                         const char *source, unsigned page, const char *reason,
                         cf_scan_file_row **row)
{
    cf_scan_file_row *grown =
        cf_grow_array(out->rows, &out->cap, out->count + 1, sizeof *grown, 16);
    if (grown == NULL)
        return CF_ERR_NOMEM;
    out->rows = grown;
    cf_scan_file_row *r = &out->rows[out->count];
    memset(r, 0, sizeof *r);
    r->outcome = outcome;
    snprintf(r->document_id, sizeof r->document_id, "%s", id != NULL ? id : "");
    r->page = page;
    r->source = cf_strdup(source != NULL ? source : "");
    r->reason = cf_strdup(reason != NULL ? reason : "");
    if (r->source == NULL || r->reason == NULL) {
        cf_free(r->source);
        cf_free(r->reason);
        return CF_ERR_NOMEM;
    }
    out->count++;
    if (row != NULL)
        *row = r;
    return CF_OK;
}

/* The archive record of id (looked up once per run); NULL when out of memory. The array grows:
 * readers call it under run.lock and use the entry only while they hold it. */
static known_doc *known(run *r, const char *id)
{
    for (size_t i = 0; i < r->n_docs; i++)
        if (strcmp(r->docs[i].id, id) == 0)
            return &r->docs[i];
    known_doc *grown = cf_grow_array(r->docs, &r->cap_docs, r->n_docs + 1, sizeof *grown, 16);
    if (grown == NULL)
        return NULL;
    r->docs = grown;
    known_doc *d = &r->docs[r->n_docs++];
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", id);
    d->status = cf_archive_issued_get(r->archive, id, &d->info, NULL);
    return d;
}

/* Adds path, or every file in it when it is a folder (in name order); name (NULL: the path)
 * is what rows, the inbox and messages call the file. */
static cf_status add_path(run *r, const char *path, const char *name)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        struct dirent **names = NULL;
        int n = scandir(path, &names, NULL, alphasort);
        if (n < 0) {
            cf_diag_error(r->diag, path, 0, "cannot read the folder: %s", strerror(errno));
            return CF_ERR_NOINPUT;
        }
        cf_status s = CF_OK;
        for (int i = 0; i < n; i++) {
            if (s == CF_OK && names[i]->d_name[0] != '.') {
                size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
                char *full = cf_malloc(len);
                if (full == NULL) {
                    s = CF_ERR_NOMEM;
                } else {
                    snprintf(full, len, "%s/%s", path, names[i]->d_name);
                    struct stat fs;
                    if (stat(full, &fs) == 0 && S_ISREG(fs.st_mode))
                        s = add_path(r, full, NULL);
                    cf_free(full);
                }
            }
            free(names[i]);
        }
        free(names);
        return s;
    }
    char **grown = cf_grow_array(r->paths, &r->cap_paths, r->n_paths + 1, sizeof *grown, 16);
    if (grown == NULL)
        return CF_ERR_NOMEM;
    r->paths = grown;
    char **named = cf_grow_array(r->names, &r->cap_names, r->n_paths + 1, sizeof *named, 16);
    if (named == NULL)
        return CF_ERR_NOMEM;
    r->names = named;
    r->paths[r->n_paths] = cf_strdup(path);
    r->names[r->n_paths] = cf_strdup(name != NULL && name[0] != '\0' ? name : path);
    if (r->paths[r->n_paths] == NULL || r->names[r->n_paths] == NULL) {
        cf_free(r->paths[r->n_paths]);
        cf_free(r->names[r->n_paths]);
        return CF_ERR_NOMEM;
    }
    r->n_paths++;
    return CF_OK;
}

/* The sign area of a layout line. */
static cf_sign_area area_of(const cf_archive_sign_line *l)
{
    cf_sign_area a = {.page = l->page - 1, .block = l->block};
    a.line = strcmp(l->line, "date") == 0   ? CF_SIGN_LINE_DATE
             : strcmp(l->line, "time") == 0 ? CF_SIGN_LINE_TIME
                                            : CF_SIGN_LINE_SIGNATURE;
    a.x1 = l->x1;
    a.y1 = l->y1;
    a.x2 = l->x2;
    a.y2 = l->y2;
    return a;
}

/* The ink on the required lines of a page of document d (ink[i] for layout line i: 1 inked,
 * 0 empty, 2 on another page or not checked). NULL when out of memory. */
static unsigned char *check_ink(const cf_archive_scan_layout *layout, const cf_scan_image *image,
                                const cf_scan_qr *qr, unsigned page_no)
{
    unsigned char *ink = cf_malloc(layout->n_lines + 1);
    if (ink == NULL)
        return NULL;
    for (size_t i = 0; i < layout->n_lines; i++) {
        const cf_archive_sign_line *l = &layout->lines[i];
        ink[i] = 2;
        if (l->page != page_no || page_no == 0 || page_no > layout->pages || qr == NULL)
            continue;
        const cf_archive_page_qr *q = &layout->qr[page_no - 1];
        if (q->side <= 0)
            continue;
        cf_sign_qr_place place = {q->x, q->y, q->side};
        cf_sign_area area = area_of(l);
        ink[i] = cf_scan_area_check(image, qr, &place, &area) ? 1 : 0;
    }
    return ink;
}

/* Why a document's signed copy lacks a required signature, into out ("" when every required
 * group has a block whose signature and date lines carry ink). ink[p][i]: page p's results. */
static void missing_signatures(const cf_archive_scan_layout *layout, unsigned char *const *ink,
                               char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t g = 0; g < layout->n_groups; g++) {
        bool satisfied = false;
        char what[512] = "";
        size_t wlen = 0;
        for (size_t i = 0; i < layout->n_lines && !satisfied; i++) {
            const cf_archive_sign_line *first = &layout->lines[i];
            if (strcmp(first->group, layout->groups[g]) != 0)
                continue;
            /* The first line of each block of the group: look at all the block's lines. */
            bool seen = false;
            for (size_t k = 0; k < i; k++)
                seen |= layout->lines[k].block == first->block;
            if (seen)
                continue;
            bool complete = true;
            for (size_t k = 0; k < layout->n_lines; k++) {
                const cf_archive_sign_line *l = &layout->lines[k];
                if (l->block != first->block || strcmp(l->line, "time") == 0)
                    continue;
                unsigned char v = ink[l->page - 1] != NULL ? ink[l->page - 1][k] : 2;
                if (v != 1) {
                    complete = false;
                    int w = snprintf(what + wlen, sizeof what - wlen, "%spage %u %s %s %s",
                                     wlen ? ", " : "", l->page, l->role, l->line,
                                     v == 0 ? "empty" : "not checked (no QR read on the page)");
                    if (w > 0 && (size_t)w < sizeof what - wlen)
                        wlen += (size_t)w;
                }
            }
            satisfied = complete;
        }
        if (!satisfied) {
            int w = snprintf(out + len, size - len, "%s%s not signed (%s)", len ? "; " : "",
                             layout->groups[g], what);
            if (w > 0 && (size_t)w < size - len)
                len += (size_t)w;
        }
    }
}

/* The QR text of a payload, as printed. */
static void payload_text(const cf_scan_payload *p, char *out, size_t size)
{
    snprintf(out, size, "%s/%u/%u/%s@%s", p->document_id, p->page, p->pages, p->form_id,
             p->version);
}

/* A signed copy or an inbox item made ready by the main thread and committed by a committer
 * thread (the archive is thread-safe; a scan source is not, so the PDF is made beforehand). */
typedef struct job {
    cf_archive *archive;
    const char *op;
    cf_diag *diag;
    unsigned char *pdf; /* owned */
    size_t len;
    /* a signed copy */
    char id[CF_DOCUMENT_ID_SIZE];
    const cf_archive_scan_layout *layout;
    unsigned char *const *ink; /* [pages] */
    unsigned pages;
    const cf_scan_doc *doc;    /* its pages (place_pages); NULL from the inbox */
    unsigned char **ink_owned; /* the ink array, freed with the job */
    /* an inbox item */
    page_entry *page;
    const char *source;
    char reason[1200];
    char payload[200];
    /* results */
    cf_status st;
    int version;
    bool already;
    char missing[1024];
    char inbox_id[CF_ARCHIVE_INBOX_ID + 1];
} job;

/* Files a signed copy, then checks its required signatures. */
static void commit_copy(job *j)
{
    j->st = cf_archive_add_scan(j->archive, j->id, j->pdf, j->len, (long long)time(NULL), j->op,
                                NULL, NULL, 0, &j->version, &j->already, j->diag);
    if (j->st != CF_OK)
        return;
    j->missing[0] = '\0';
    if (j->layout != NULL && j->layout->pages > 0)
        missing_signatures(j->layout, j->ink, j->missing, sizeof j->missing);
    /* The same copy filed again (a run cut off after filing it) gets its finding if it was
     * not recorded yet. */
    bool recorded = false;
    if (j->missing[0] != '\0' && j->already) {
        cf_archive_issued now;
        j->st = cf_archive_issued_get(j->archive, j->id, &now, j->diag);
        recorded = j->st == CF_OK && now.signature_missing;
        cf_archive_issued_cleanup(&now);
    }
    if (j->st == CF_OK && j->missing[0] != '\0' && !recorded)
        j->st = cf_archive_signature_missing(j->archive, j->id, j->missing, j->op, j->diag);
}

static void *commit_job(void *arg)
{
    job *j = arg;
    if (j->page != NULL)
        j->st = cf_archive_inbox_add(
            j->archive, j->pdf, j->len, j->source, (unsigned)j->page->index + 1, j->reason,
            j->payload[0] != '\0' ? j->payload : NULL, j->op, j->inbox_id, j->diag);
    else
        commit_copy(j);
    return NULL;
}

/* Commits jobs[0..n) on up to COMMITTERS threads at once. */
static void commit_jobs(job *jobs, size_t n)
{
    pthread_t t[COMMITTERS];
    bool started[COMMITTERS] = {false};
    for (size_t k = 1; k < n && k < COMMITTERS; k++)
        started[k] = pthread_create(&t[k], NULL, commit_job, &jobs[k]) == 0;
    for (size_t k = 0; k < n; k++) {
        if (k < COMMITTERS && started[k])
            pthread_join(t[k], NULL);
        else
            commit_job(&jobs[k]);
    }
}

/* The row of a committed job. */
static cf_status job_row(const job *j, cf_scan_file_result *out)
{
    cf_scan_file_row *row = NULL;
    cf_status st;
    if (j->page != NULL) {
        st = add_row(out, CF_SCAN_OUTCOME_INBOX,
                     j->page->page.decoded ? j->page->page.payload.document_id : "", j->source,
                     (unsigned)j->page->index + 1, j->reason, &row);
        if (st == CF_OK)
            snprintf(row->inbox_id, sizeof row->inbox_id, "%s", j->inbox_id);
        return st;
    }
    st = add_row(out,
                 j->missing[0] != '\0' ? CF_SCAN_OUTCOME_SIGNATURE_MISSING : CF_SCAN_OUTCOME_SIGNED,
                 j->id, NULL, 0, j->missing, &row);
    if (st == CF_OK) {
        row->pages = j->pages;
        row->version = j->version;
        row->already_filed = j->already;
    }
    return st;
}

/* Files a signed copy of id made of pages (sources[i], index[i]) with their ink results, then
 * records a missing signature; a row in out. */
static cf_status file_copy(cf_archive *a, const char *id, const known_doc *d,
                           cf_scan_source *const *sources, const size_t *index,
                           unsigned char *const *ink, size_t n, const char *op,
                           cf_scan_file_result *out, cf_diag *diag)
{
    job j = {.archive = a,
             .op = op,
             .diag = diag,
             .layout = &d->info.layout,
             .ink = ink,
             .pages = (unsigned)n};
    snprintf(j.id, sizeof j.id, "%s", id);
    j.st = cf_scan_pdf_write(sources, index, n, &j.pdf, &j.len, diag);
    if (j.st == CF_OK)
        commit_copy(&j);
    cf_free(j.pdf);
    return j.st == CF_OK ? job_row(&j, out) : j.st;
}

/* Why the document of payload p cannot take a scan ("" when it can). */
static void refusal(const known_doc *d, const cf_scan_payload *p, char *out, size_t size)
{
    out[0] = '\0';
    if (d->status == CF_ERR_NOINPUT)
        snprintf(out, size, "document %s is not in the archive", p->document_id);
    else if (d->status != CF_OK)
        snprintf(out, size, "document %s: its archive record cannot be read", p->document_id);
    else if (d->info.voided)
        snprintf(out, size, "document %s is void", p->document_id);
    else if (strcmp(d->info.form_id, p->form_id) != 0 ||
             strcmp(d->info.form_version, p->version) != 0)
        snprintf(out, size, "the QR says %s@%s, document %s was issued as %s@%s", p->form_id,
                 p->version, p->document_id, d->info.form_id, d->info.form_version);
    else if (d->info.layout.pages > 0 && d->info.layout.pages != p->pages)
        snprintf(out, size, "the QR says %u pages, document %s has %u", p->pages, p->document_id,
                 d->info.layout.pages);
}

/* Files document id from the inbox when its pages are all there (assigned by hand, or read
 * from their QR codes); rows in out. */
static cf_status complete_from_inbox(cf_archive *a, const char *id, const char *op,
                                     cf_scan_decoder decoder, cf_scan_file_result *out,
                                     cf_diag *diag)
{
    cf_archive_issued info;
    cf_status st = cf_archive_issued_get(a, id, &info, diag);
    if (st != CF_OK) {
        cf_archive_issued_cleanup(&info);
        return st;
    }
    cf_archive_inbox inbox;
    st = cf_archive_inbox_list(a, &inbox, diag);
    unsigned pages = info.layout.pages;
    const cf_archive_inbox_item **at = NULL;
    if (st == CF_OK && pages > 0) {
        at = cf_calloc(pages, sizeof *at);
        if (at == NULL)
            st = CF_ERR_NOMEM;
    }
    bool conflict = false;
    for (size_t i = 0; at != NULL && i < inbox.count; i++) {
        const cf_archive_inbox_item *it = &inbox.items[i];
        unsigned page = 0;
        if (it->assigned_id[0] != '\0') {
            if (strcmp(it->assigned_id, id) == 0)
                page = it->assigned_page;
        } else if (it->payload[0] != '\0') {
            cf_scan_payload p;
            if (cf_scan_payload_parse(it->payload, strlen(it->payload), &p) == CF_OK &&
                strcmp(p.document_id, id) == 0 && p.pages == pages &&
                strcmp(p.form_id, info.form_id) == 0 && strcmp(p.version, info.form_version) == 0)
                page = p.page;
        }
        if (page == 0 || page > pages)
            continue;
        if (at[page - 1] != NULL && strcmp(at[page - 1]->file_hash, it->file_hash) != 0)
            conflict = true; /* two different scans of one page: a person decides */
        if (at[page - 1] == NULL)
            at[page - 1] = it;
    }
    bool all = at != NULL && !conflict && !info.voided;
    for (unsigned p = 0; all && p < pages; p++)
        all = at[p] != NULL;
    cf_scan_source **sources = NULL;
    size_t *index = NULL;
    unsigned char **ink = NULL;
    if (st == CF_OK && all) {
        sources = cf_calloc(pages, sizeof *sources);
        index = cf_calloc(pages, sizeof *index);
        ink = cf_calloc(pages, sizeof *ink);
        if (sources == NULL || index == NULL || ink == NULL)
            st = CF_ERR_NOMEM;
        for (unsigned p = 0; st == CF_OK && p < pages; p++) {
            char path[4300];
            cf_archive_object_path(a, at[p]->file_hash, path, sizeof path);
            st = cf_scan_source_open(path, &sources[p], diag);
            cf_scan_page pg;
            cf_scan_qr qr;
            cf_scan_image image = {0};
            if (st == CF_OK &&
                cf_scan_page_read(sources[p], 0, decoder, &pg, &qr, &image, NULL) == CF_OK) {
                bool ours = pg.decoded && strcmp(pg.payload.document_id, id) == 0 &&
                            pg.payload.page == p + 1;
                ink[p] = check_ink(&info.layout, &image, ours ? &qr : NULL, p + 1);
                if (ink[p] == NULL)
                    st = CF_ERR_NOMEM;
            }
            cf_scan_image_cleanup(&image);
        }
        if (st == CF_OK)
            st = file_copy(a, id, &(known_doc){.status = CF_OK, .info = info}, sources, index, ink,
                           pages, op, out, diag);
        for (unsigned p = 0; st == CF_OK && p < pages; p++)
            st = cf_archive_inbox_mark(a, at[p]->record, id, p + 1, /*filed*/ true, op, diag);
    }
    for (unsigned p = 0; sources != NULL && p < pages; p++)
        cf_scan_source_free(sources[p]);
    for (unsigned p = 0; ink != NULL && p < pages; p++)
        cf_free(ink[p]);
    cf_free(sources);
    cf_free(index);
    cf_free(ink);
    cf_free(at);
    cf_archive_inbox_cleanup(&inbox);
    cf_archive_issued_cleanup(&info);
    return st;
}

/* One reader's share of the pages: every READERS-th page of every source, through its own
 * handle on each file. */
typedef struct reader {
    run *r;
    size_t first; /* its first page index within each source */
    cf_status st;
} reader;

/* Reads page e (QR, digest, and the ink on its document's required lines). */
static cf_status read_one(run *r, cf_scan_source *src, page_entry *e)
{
    cf_scan_qr qr;
    cf_scan_image image = {0};
    cf_status st =
        cf_scan_page_read(src, e->index, r->opt->decoder, &e->page, &qr, &image, r->diag);
    e->page.source = r->names[e->source];
    if (st == CF_ERR_DATA) {
        e->unreadable = true;
        st = CF_OK;
    }
    /* A blank form's page has no document to look up: it goes to the inbox. */
    if (st == CF_OK && e->page.decoded && !e->page.payload.blank) {
        pthread_mutex_lock(&r->lock);
        known_doc *d = known(r, e->page.payload.document_id);
        /* Under the lock: the array of documents may move when another reader adds one. */
        if (d == NULL)
            st = CF_ERR_NOMEM;
        else if (d->status == CF_OK && d->info.layout.pages == e->page.payload.pages) {
            e->ink = check_ink(&d->info.layout, &image, &qr, e->page.payload.page);
            if (e->ink == NULL)
                st = CF_ERR_NOMEM;
        }
        pthread_mutex_unlock(&r->lock);
    }
    cf_scan_image_cleanup(&image);
    return st;
}

static void *read_share(void *arg)
{
    reader *w = arg;
    run *r = w->r;
    for (size_t i = 0; i < r->n_pages && w->st == CF_OK; i++) {
        page_entry *e = &r->pages[i];
        if (e->index % READERS != w->first)
            continue;
        /* This reader's own handle on the file (a source is not shared between threads). */
        cf_scan_source *src = NULL;
        if (cf_scan_source_open(r->paths[e->source], &src, NULL) != CF_OK) {
            e->unreadable = true;
            continue;
        }
        size_t s = e->source;
        for (; i < r->n_pages && r->pages[i].source == s && w->st == CF_OK; i++)
            if (r->pages[i].index % READERS == w->first)
                w->st = read_one(r, src, &r->pages[i]);
        i--;
        cf_scan_source_free(src);
    }
    return NULL;
}

/* Reads every page of every source: QR, digest, and the ink on its document's lines. */
static cf_status read_pages(run *r)
{
    for (size_t s = 0; s < r->n_paths; s++) {
        cf_status st = cf_scan_source_open(r->paths[s], &r->sources[s], r->diag);
        if (st == CF_ERR_NOMEM)
            return st;
        if (st != CF_OK) {
            r->anything_unfiled = true;
            st = add_row(r->out, CF_SCAN_OUTCOME_FAILED, NULL, r->names[s], 0,
                         "not a scan this tool can read; left where it is", NULL);
            if (st != CF_OK)
                return st;
            continue;
        }
        size_t n = cf_scan_source_get_pages(r->sources[s]);
        for (size_t i = 0; i < n; i++) {
            page_entry *grown =
                cf_grow_array(r->pages, &r->cap_pages, r->n_pages + 1, sizeof *grown, 64);
            if (grown == NULL)
                return CF_ERR_NOMEM;
            r->pages = grown;
            page_entry *e = &r->pages[r->n_pages++];
            memset(e, 0, sizeof *e);
            e->source = s;
            e->index = i;
        }
    }
    reader w[READERS];
    pthread_t t[READERS];
    bool started[READERS] = {false};
    for (size_t k = 0; k < READERS; k++) {
        w[k] = (reader){r, k, CF_OK};
        started[k] = k > 0 && pthread_create(&t[k], NULL, read_share, &w[k]) == 0;
    }
    cf_status st = CF_OK;
    for (size_t k = 0; k < READERS; k++) {
        if (started[k])
            pthread_join(t[k], NULL);
        else
            read_share(&w[k]); /* the first share, or one no thread could be started for */
        if (st == CF_OK)
            st = w[k].st;
    }
    r->out->pages_read = r->n_pages;
    return st;
}

/* Files or puts in the inbox every page read. */
/* Jobs waiting for a committer thread. */
typedef struct queue {
    job jobs[COMMITTERS];
    size_t n;
} queue;

/* Commits the queued jobs, then marks their pages committed and adds their rows in order. */
static cf_status flush(run *r, queue *q)
{
    commit_jobs(q->jobs, q->n);
    cf_status st = CF_OK;
    for (size_t k = 0; k < q->n; k++) {
        job *j = &q->jobs[k];
        if (st == CF_OK)
            st = j->st;
        if (j->st == CF_OK && j->page != NULL) {
            j->page->committed = true;
            r->anything_unfiled = true;
        } else if (j->st == CF_OK) {
            for (unsigned p = 0; p < j->doc->pages; p++)
                r->pages[j->doc->page_index[p]].committed = true;
        }
        if (st == CF_OK && j->st == CF_OK)
            st = job_row(j, r->out);
        cf_free(j->pdf);
        cf_free(j->ink_owned);
    }
    memset(q, 0, sizeof *q);
    return st;
}

/* A free job of the queue (committing the queue when it is full). */
static cf_status next_job(run *r, queue *q, job **out)
{
    cf_status st = q->n == COMMITTERS ? flush(r, q) : CF_OK;
    *out = &q->jobs[q->n];
    memset(*out, 0, sizeof **out);
    (*out)->archive = r->archive;
    (*out)->op = r->opt->operator_name;
    (*out)->diag = r->diag;
    return st;
}

/* Queues page e for the inbox with reason. */
static cf_status queue_inbox(run *r, queue *q, page_entry *e, const char *reason)
{
    job *j = NULL;
    cf_status st = next_job(r, q, &j);
    cf_scan_source *src = r->sources[e->source];
    if (st == CF_OK)
        st = cf_scan_pdf_write(&src, &e->index, 1, &j->pdf, &j->len, r->diag);
    if (st != CF_OK)
        return st;
    j->page = e;
    j->source = r->names[e->source];
    snprintf(j->reason, sizeof j->reason, "%s", reason);
    if (e->page.decoded)
        payload_text(&e->page.payload, j->payload, sizeof j->payload);
    q->n++;
    return CF_OK;
}

/* Queues the signed copy of a complete document. */
static cf_status queue_copy(run *r, queue *q, const cf_scan_doc *doc, const known_doc *d)
{
    job *j = NULL;
    cf_status st = next_job(r, q, &j);
    cf_scan_source **sources = cf_calloc(doc->pages, sizeof *sources);
    size_t *index = cf_calloc(doc->pages, sizeof *index);
    j->ink_owned = cf_calloc(doc->pages, sizeof *j->ink_owned);
    if (st == CF_OK && (sources == NULL || index == NULL || j->ink_owned == NULL))
        st = CF_ERR_NOMEM;
    for (unsigned p = 0; st == CF_OK && p < doc->pages; p++) {
        page_entry *e = &r->pages[doc->page_index[p]];
        sources[p] = r->sources[e->source];
        index[p] = e->index;
        j->ink_owned[p] = e->ink;
    }
    if (st == CF_OK)
        st = cf_scan_pdf_write(sources, index, doc->pages, &j->pdf, &j->len, r->diag);
    cf_free(sources);
    cf_free(index);
    if (st != CF_OK) {
        cf_free(j->ink_owned);
        cf_free(j->pdf);
        memset(j, 0, sizeof *j);
        return st;
    }
    snprintf(j->id, sizeof j->id, "%s", doc->document_id);
    j->layout = &d->info.layout;
    j->ink = j->ink_owned;
    j->pages = doc->pages;
    j->doc = doc;
    q->n++;
    return CF_OK;
}

static cf_status place_pages(run *r)
{
    cf_scan_page *plain = cf_calloc(r->n_pages + 1, sizeof *plain);
    if (plain == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < r->n_pages; i++)
        plain[i] = r->pages[i].page;
    cf_scan_report *report = NULL;
    cf_status st = cf_scan_group(plain, r->n_pages, &report);
    cf_free(plain);
    if (st != CF_OK || report == NULL) {
        cf_scan_report_free(report);
        return st != CF_OK ? st : CF_ERR_NOMEM;
    }
    char reason[1200];
    queue q;
    memset(&q, 0, sizeof q);
    /* Documents whose pages went to the inbox for missing pages: the inbox may complete them. */
    const char **waiting = cf_calloc(report != NULL ? report->n_docs + 1 : 1, sizeof *waiting);
    size_t n_waiting = 0;
    if (waiting == NULL && st == CF_OK)
        st = CF_ERR_NOMEM;
    /* Pages that cannot be placed: their own reason. */
    for (size_t k = 0; st == CF_OK && k < report->n_problems; k++) {
        const cf_scan_problem *p = &report->problems[k];
        if (p->page == NO_PAGE)
            continue;
        page_entry *e = &r->pages[p->page];
        if (p->kind == CF_SCAN_UNDECODABLE)
            snprintf(reason, sizeof reason, "%s",
                     e->unreadable ? "the page image cannot be decoded"
                                   : "no QR code of ours could be read on the page");
        else if (p->kind == CF_SCAN_BLANK_FORM)
            snprintf(reason, sizeof reason,
                     "a blank form (%s@%s page %u of %u): it has no document id; assign it by "
                     "hand",
                     e->page.payload.form_id, e->page.payload.version, e->page.payload.page,
                     e->page.payload.pages);
        else if (p->kind == CF_SCAN_DUPLICATE)
            snprintf(reason, sizeof reason, "a second, different scan of page %u of document %s",
                     p->page_no, p->document_id);
        else
            snprintf(reason, sizeof reason,
                     "its QR disagrees with the other pages of document %s (page count or "
                     "form@version)",
                     p->document_id);
        st = queue_inbox(r, &q, e, reason);
    }
    for (size_t k = 0; st == CF_OK && k < report->n_docs; k++) {
        const cf_scan_doc *doc = &report->docs[k];
        size_t first = NO_PAGE;
        for (unsigned p = 0; p < doc->pages && first == NO_PAGE; p++)
            first = doc->page_index[p];
        if (first == NO_PAGE)
            continue;
        known_doc *d = known(r, doc->document_id);
        if (d == NULL) {
            st = CF_ERR_NOMEM;
            break;
        }
        refusal(d, &r->pages[first].page.payload, reason, sizeof reason);
        if (reason[0] == '\0' && doc->complete) {
            st = queue_copy(r, &q, doc, d);
            continue;
        }
        if (reason[0] == '\0') {
            char missing[600] = "";
            size_t len = 0, n_missing = 0;
            for (unsigned p = 0; p < doc->pages; p++) {
                if (doc->page_index[p] != NO_PAGE)
                    continue;
                n_missing++;
                int w =
                    snprintf(missing + len, sizeof missing - len, "%s%u", len ? ", " : "", p + 1);
                if (w > 0 && (size_t)w < sizeof missing - len)
                    len += (size_t)w;
            }
            if (doc->conflicting)
                snprintf(reason, sizeof reason,
                         "document %s: two different scans of one of its pages, or pages that "
                         "disagree; a person decides",
                         doc->document_id);
            else
                snprintf(reason, sizeof reason, "document %s: page%s %s of %u missing",
                         doc->document_id, n_missing > 1 ? "s" : "", missing, doc->pages);
        }
        bool was_known =
            d->status == CF_OK && reason[0] != '\0' && strstr(reason, "missing") != NULL;
        for (unsigned p = 0; st == CF_OK && p < doc->pages; p++)
            if (doc->page_index[p] != NO_PAGE && !r->pages[doc->page_index[p]].committed)
                st = queue_inbox(r, &q, &r->pages[doc->page_index[p]], reason);
        if (was_known)
            waiting[n_waiting++] = doc->document_id;
    }
    if (st == CF_OK)
        st = flush(r, &q);
    /* The missing pages of a document may be in the inbox already (an earlier scan). */
    for (size_t k = 0; st == CF_OK && k < n_waiting; k++)
        st = complete_from_inbox(r->archive, waiting[k], r->opt->operator_name, r->opt->decoder,
                                 r->out, r->diag);
    cf_free(waiting);
    /* An identical second copy of a page is not used twice: it is committed with its twin. */
    for (size_t i = 0; st == CF_OK && i < r->n_pages; i++) {
        if (r->pages[i].committed)
            continue;
        for (size_t j = 0; j < r->n_pages; j++)
            if (r->pages[j].committed &&
                memcmp(r->pages[j].page.digest, r->pages[i].page.digest, 32) == 0)
                r->pages[i].committed = true;
        if (!r->pages[i].committed)
            st = queue_inbox(r, &q, &r->pages[i], "not placed with any document");
    }
    cf_status flushed = flush(r, &q);
    if (st == CF_OK)
        st = flushed;
    cf_scan_report_free(report);
    return st;
}

cf_status cf_scan_file_paths(cf_archive *archive, const char *const *paths, size_t n,
                             const cf_scan_file_options *opt, cf_scan_file_result *out,
                             cf_diag *diag)
{
    memset(out, 0, sizeof *out);
    run r = {.archive = archive, .opt = opt, .out = out, .diag = diag};
    pthread_mutex_init(&r.lock, NULL);
    cf_status st = CF_OK;
    for (size_t i = 0; st == CF_OK && i < n; i++)
        st = add_path(&r, paths[i], opt->names != NULL ? opt->names[i] : NULL);
    if (st == CF_OK && r.n_paths == 0) {
        cf_diag_error(diag, n > 0 ? paths[0] : "archive file", 0, "no scan files to file");
        st = CF_ERR_NOINPUT;
    }
    if (st == CF_OK) {
        r.sources = cf_calloc(r.n_paths, sizeof *r.sources);
        if (r.sources == NULL)
            st = CF_ERR_NOMEM;
    }
    if (st == CF_OK)
        st = read_pages(&r);
    /* --doc-id: a scan whose QR codes name another document is refused whole. */
    for (size_t i = 0; st == CF_OK && opt->document_id != NULL && i < r.n_pages; i++) {
        const page_entry *e = &r.pages[i];
        /* A blank form's page names no document: it goes to the inbox, never refused. */
        if (e->page.decoded && !e->page.payload.blank &&
            strcmp(e->page.payload.document_id, opt->document_id) != 0) {
            cf_diag_error(diag, r.names[e->source], 0,
                          "page %zu: its QR code names document %s, not %s; nothing was filed",
                          e->index + 1, e->page.payload.document_id, opt->document_id);
            st = CF_ERR_DATA;
            r.anything_unfiled = false;
        }
    }
    if (st == CF_OK)
        st = place_pages(&r);
    /* --move: a file leaves only when every page of it is committed. */
    for (size_t s = 0; st == CF_OK && opt->move && s < r.n_paths; s++) {
        if (r.sources[s] == NULL)
            continue;
        bool all = true;
        for (size_t i = 0; i < r.n_pages; i++)
            if (r.pages[i].source == s && !r.pages[i].committed)
                all = false;
        if (!all)
            continue;
        if (unlink(r.paths[s]) == 0)
            out->moved++;
        else
            cf_diag_warning(diag, r.names[s], 0, "filed, but could not be removed: %s",
                            strerror(errno));
    }
    if (st == CF_OK && r.anything_unfiled)
        st = CF_ERR_DATA;
    for (size_t i = 0; i < r.n_pages; i++)
        cf_free(r.pages[i].ink);
    cf_free(r.pages);
    for (size_t s = 0; s < r.n_paths; s++) {
        if (r.sources != NULL)
            cf_scan_source_free(r.sources[s]);
        cf_free(r.paths[s]);
        cf_free(r.names[s]);
    }
    cf_free(r.sources);
    cf_free(r.paths);
    cf_free(r.names);
    for (size_t i = 0; i < r.n_docs; i++)
        cf_archive_issued_cleanup(&r.docs[i].info);
    cf_free(r.docs);
    pthread_mutex_destroy(&r.lock);
    return st;
}

cf_status cf_scan_inbox_assign(cf_archive *archive, const char *item, const char *document_id,
                               unsigned page, const char *op, cf_scan_file_result *out,
                               cf_diag *diag)
{
    memset(out, 0, sizeof *out);
    char id[CF_DOCUMENT_ID_SIZE];
    if (!cf_docid_normalize(document_id, id)) {
        cf_diag_error(diag, NULL, 0,
                      "%s is not a document id (13 characters with a matching check character)",
                      document_id);
        return CF_ERR_DATA;
    }
    cf_archive_issued info;
    cf_status st = cf_archive_issued_get(archive, id, &info, diag);
    if (st == CF_OK && info.layout.pages > 0 && (page == 0 || page > info.layout.pages)) {
        cf_diag_error(diag, NULL, 0, "document %s has %u pages; there is no page %u", id,
                      info.layout.pages, page);
        st = CF_ERR_DATA;
    } else if (st == CF_OK && page == 0) {
        cf_diag_error(diag, NULL, 0, "pages are numbered from 1");
        st = CF_ERR_DATA;
    }
    cf_archive_issued_cleanup(&info);
    if (st != CF_OK)
        return st;
    cf_archive_inbox inbox;
    st = cf_archive_inbox_list(archive, &inbox, diag);
    const cf_archive_inbox_item *found = NULL;
    size_t matches = 0;
    for (size_t i = 0; st == CF_OK && i < inbox.count; i++)
        if (strlen(item) >= 6 && strncmp(inbox.items[i].record, item, strlen(item)) == 0) {
            found = &inbox.items[i];
            matches++;
        }
    if (st == CF_OK && matches != 1) {
        cf_diag_error(diag, NULL, 0,
                      matches == 0 ? "%s is not an open inbox item (see `consentform archive "
                                     "inbox`)"
                                   : "%s names more than one inbox item; give more of its id",
                      item);
        st = matches == 0 ? CF_ERR_NOINPUT : CF_ERR_DATA;
    }
    if (st == CF_OK)
        st = cf_archive_inbox_mark(archive, found->record, id, page, /*filed*/ false, op, diag);
    cf_archive_inbox_cleanup(&inbox);
    if (st == CF_OK)
        st = complete_from_inbox(archive, id, op, CF_SCAN_DECODER_DEFAULT, out, diag);
    return st;
}
