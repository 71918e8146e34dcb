/* Joining cf_pdf_writer parts into one PDF, streamed (see pdf_join.h).
 *
 * libharu writes objects one after another, numbered in the order they were made, with a
 * classic cross-reference table. A writer makes the catalogue (1), the page tree (2), then the
 * fonts and the document information, and only then the pages with their contents: every
 * object numbered below the first page is shared by all parts of one print job, every object
 * from the first page on belongs to the part. Shared objects are written from the first part
 * and must be byte-identical in the others; a part's own objects get new numbers after the
 * previous part's, and references to them in their dictionaries are renumbered (stream data
 * are copied untouched: references never occur there).
 *
 * A page body's content stream (render_pdf.c: the first of a page's /Contents array, the same
 * bytes in every part) is written once for the whole job: a later part's copy, found equal
 * byte for byte, is left out with its /Length object, and its pages refer to the first. */
#include "render/pdf_join.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct span {
    size_t start, end; /* bytes [start, end) of the part (or of saved shared objects) */
} span;

/* A body stream written once (see above): its data, and its numbers in the joined file. */
typedef struct body_written {
    uint64_t hash;
    unsigned char *data;
    size_t len;
    size_t id, length_id;
} body_written;

/* Body streams kept for comparison at most, in bytes: later ones are written with each part. */
#define CF_JOIN_BODIES_MAX_BYTES ((size_t)32 * 1024 * 1024)

struct cf_pdf_join {
    cf_pdf_sink sink;
    void *ctx;
    cf_status error;
    size_t written;     /* bytes given to sink */
    size_t *offsets;    /* offsets[id] of every object written, 0 = not yet */
    size_t cap_offsets; /* entries allocated */
    size_t *kids;       /* the joined page tree's pages, in order */
    size_t n_kids, cap_kids;
    size_t next_id;   /* number of the next part's first own object */
    size_t first_own; /* the first part's first page number: numbers below are shared */
    size_t root_id, pages_id, info_id, size;
    unsigned char *shared; /* the first part's shared objects, for comparison */
    span *shared_at;       /* per id below first_own, where it is in shared */
    unsigned char *root;   /* the first part's catalogue object */
    size_t root_len;
    size_t parts;
    body_written *bodies; /* body streams written, for the later parts' copies */
    size_t n_bodies, cap_bodies, bodies_bytes;
};

/* One parsed part. */
typedef struct part {
    const unsigned char *pdf;
    size_t len, size; /* size: the cross-reference table's size (largest number + 1) */
    span *objects;    /* per id (index 0 unused) */
    size_t root_id, pages_id, info_id, first_page;
    size_t *kids;
    size_t n_kids;
    size_t header_end; /* end of the "%PDF-" header lines: the first object's offset */
    size_t *new_id;    /* per own id (from first_page on): its number in the joined file */
} part;

cf_pdf_join *cf_pdf_join_new(cf_pdf_sink sink, void *ctx)
{
    cf_pdf_join *j = cf_calloc(1, sizeof *j);
    if (j != NULL) {
        j->sink = sink;
        j->ctx = ctx;
    }
    return j;
}

void cf_pdf_join_free(cf_pdf_join *j)
{
    if (j == NULL)
        return;
    cf_free(j->offsets);
    cf_free(j->kids);
    cf_free(j->shared);
    cf_free(j->shared_at);
    cf_free(j->root);
    for (size_t i = 0; i < j->n_bodies; i++)
        cf_free(j->bodies[i].data);
    cf_free(j->bodies);
    cf_free(j);
}

size_t cf_pdf_join_pages(const cf_pdf_join *j)
{
    return j->n_kids;
}

static cf_status emit(cf_pdf_join *j, const void *data, size_t len)
{
    if (j->error == CF_OK && len > 0) {
        j->error = j->sink(j->ctx, data, len);
        j->written += len;
    }
    return j->error;
}

/* Records that object id starts at the current output offset. */
static cf_status mark_offset(cf_pdf_join *j, size_t id)
{
    if (id >= j->cap_offsets) {
        size_t old = j->cap_offsets;
        size_t *grown = cf_grow_array(j->offsets, &j->cap_offsets, id + 1, sizeof *grown, 256);
        if (grown == NULL)
            return j->error = CF_ERR_NOMEM;
        memset(grown + old, 0, (j->cap_offsets - old) * sizeof *grown);
        j->offsets = grown;
    }
    j->offsets[id] = j->written;
    return CF_OK;
}

/* ---- reading a part ---- */

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Reads a decimal number at *p (before end); moves *p past it. */
static bool read_number(const unsigned char **p, const unsigned char *end, size_t *v)
{
    const unsigned char *q = *p;
    size_t n = 0, digits = 0;
    while (q < end && is_digit(*q) && digits < 15) {
        n = n * 10 + (size_t)(*q - '0');
        q++;
        digits++;
    }
    if (digits == 0 || (q < end && is_digit(*q)))
        return false;
    *p = q;
    *v = n;
    return true;
}

/* First occurrence of needle in [from, end), or NULL. */
static const unsigned char *find(const unsigned char *from, const unsigned char *end,
                                 const char *needle)
{
    size_t n = strlen(needle);
    for (const unsigned char *p = from; p + n <= end; p++)
        if (*p == (unsigned char)needle[0] && memcmp(p, needle, n) == 0)
            return p;
    return NULL;
}

/* The number of the reference after key ("/Root 1 0 R") in [from, end). */
static bool read_ref_after(const unsigned char *from, const unsigned char *end, const char *key,
                           size_t *id)
{
    const unsigned char *p = find(from, end, key);
    if (p == NULL)
        return false;
    p += strlen(key);
    while (p < end && *p == ' ')
        p++;
    return read_number(&p, end, id) && p + 4 <= end && memcmp(p, " 0 R", 4) == 0;
}

static void part_free(part *pt)
{
    cf_free(pt->objects);
    cf_free(pt->kids);
    cf_free(pt->new_id);
}

static cf_status bad_part(cf_diag *diag, const char *what)
{
    cf_diag_error(diag, NULL, 0, "the print job cannot be assembled: a part %s", what);
    return CF_ERR_INTERNAL;
}

static cf_status parse_part(const unsigned char *pdf, size_t len, part *pt, cf_diag *diag)
{
    memset(pt, 0, sizeof *pt);
    pt->pdf = pdf;
    pt->len = len;
    const unsigned char *end = pdf + len;
    /* startxref near the end. */
    const unsigned char *sx = NULL;
    for (size_t back = 9; back <= len && back < 1024 && sx == NULL; back++)
        if (memcmp(end - back, "startxref", 9) == 0)
            sx = end - back;
    if (sx == NULL)
        return bad_part(diag, "has no startxref");
    const unsigned char *p = sx + 9;
    while (p < end && (*p == '\n' || *p == '\r'))
        p++;
    size_t xref = 0;
    if (!read_number(&p, end, &xref) || xref >= len || xref < 16)
        return bad_part(diag, "has no cross-reference offset");
    p = pdf + xref;
    size_t first = 0, count = 0;
    if ((size_t)(end - p) < 5 || memcmp(p, "xref\n", 5) != 0)
        return bad_part(diag, "has no classic cross-reference table");
    p += 5;
    if (!read_number(&p, end, &first) || p >= end || *p++ != ' ' || !read_number(&p, end, &count) ||
        p >= end || *p++ != '\n' || first != 0 || count < 4 || count > 10000000 ||
        (size_t)(end - p) / 20 < count)
        return bad_part(diag, "has an unexpected cross-reference table");
    pt->size = count;
    pt->objects = cf_calloc(count, sizeof *pt->objects);
    if (pt->objects == NULL)
        return CF_ERR_NOMEM;
    const unsigned char *entries = p;
    size_t previous = 0;
    for (size_t id = 1; id < count; id++) {
        const unsigned char *e = entries + 20 * id, *q = e;
        size_t off = 0;
        if (!read_number(&q, e + 10, &off) || q != e + 10 || e[17] != 'n' || off <= previous ||
            off >= xref) {
            part_free(pt);
            return bad_part(diag, "is not numbered object after object");
        }
        pt->objects[id].start = off;
        if (id > 1)
            pt->objects[id - 1].end = off;
        previous = off;
    }
    pt->objects[count - 1].end = xref;
    pt->header_end = pt->objects[1].start;
    /* Each object begins with "ID 0 obj". */
    for (size_t id = 1; id < count; id++) {
        const unsigned char *q = pdf + pt->objects[id].start;
        size_t n = 0;
        if (!read_number(&q, pdf + pt->objects[id].end, &n) || n != id ||
            find(q, q + 6 < end ? q + 6 : end, " 0 obj") != q) {
            part_free(pt);
            return bad_part(diag, "has an object that does not start as numbered");
        }
    }
    const unsigned char *trailer = find(entries + 20 * count, end, "trailer");
    if (trailer == NULL || !read_ref_after(trailer, end, "/Root", &pt->root_id) ||
        !read_ref_after(trailer, end, "/Info", &pt->info_id) || pt->root_id == 0 ||
        pt->root_id >= count || pt->info_id == 0 || pt->info_id >= count) {
        part_free(pt);
        return bad_part(diag, "has no catalogue or document information");
    }
    span root = pt->objects[pt->root_id];
    if (!read_ref_after(pdf + root.start, pdf + root.end, "/Pages", &pt->pages_id) ||
        pt->pages_id == 0 || pt->pages_id >= count) {
        part_free(pt);
        return bad_part(diag, "has no page tree");
    }
    span pages = pt->objects[pt->pages_id];
    const unsigned char *k = find(pdf + pages.start, pdf + pages.end, "/Kids [");
    const unsigned char *kend = k ? find(k, pdf + pages.end, "]") : NULL;
    if (k == NULL || kend == NULL) {
        part_free(pt);
        return bad_part(diag, "has no list of pages");
    }
    pt->kids = cf_malloc(count * sizeof *pt->kids);
    if (pt->kids == NULL) {
        part_free(pt);
        return CF_ERR_NOMEM;
    }
    pt->first_page = count;
    for (k += 7;;) {
        while (k < kend && *k == ' ')
            k++;
        if (k >= kend)
            break;
        size_t kid = 0;
        if (!read_number(&k, kend, &kid) || kend - k < 4 || memcmp(k, " 0 R", 4) != 0 ||
            kid >= count || pt->n_kids >= count) {
            part_free(pt);
            return bad_part(diag, "has an unreadable list of pages");
        }
        k += 4;
        pt->kids[pt->n_kids++] = kid;
        if (kid < pt->first_page)
            pt->first_page = kid;
    }
    if (pt->n_kids == 0 || pt->root_id >= pt->first_page || pt->pages_id >= pt->first_page ||
        pt->info_id >= pt->first_page) {
        part_free(pt);
        return bad_part(diag, "has its pages before its fonts");
    }
    return CF_OK;
}

/* ---- writing ---- */

/* Writes part object id (a page, its contents or their lengths) renumbered: its own objects
 * (from first_page on) after the previous parts', the page tree as the joined one. */
static cf_status emit_own(cf_pdf_join *j, const part *pt, size_t id, cf_buf *b)
{
    const unsigned char *p = pt->pdf + pt->objects[id].start;
    const unsigned char *end = pt->pdf + pt->objects[id].end;
    const unsigned char *body = find(p, end, " 0 obj") + 6;
    /* Dictionary part: up to the stream keyword, or the whole object. */
    const unsigned char *stream = find(body, end, "\nstream\r\n");
    const unsigned char *dict_end = stream != NULL ? stream : end;
    size_t new_id = pt->new_id[id - pt->first_page];
    cf_buf_reset(b);
    cf_buf_printf(b, "%zu 0 obj", new_id);
    const unsigned char *q = body;
    while (q < dict_end) {
        if (is_digit(*q) && !is_digit(q[-1]) && q[-1] != '.') {
            const unsigned char *r = q;
            size_t v = 0;
            if (read_number(&r, dict_end, &v) && dict_end - r >= 4 && memcmp(r, " 0 R", 4) == 0) {
                if (v >= pt->size)
                    return CF_ERR_INTERNAL;
                /* Own objects move after the previous parts'; shared ones (the page tree
                 * too: the same number in every part) keep theirs. */
                cf_buf_printf(b, "%zu", v >= pt->first_page ? pt->new_id[v - pt->first_page] : v);
                q = r;
                continue;
            }
            cf_buf_append(b, q, (size_t)(r > q ? r - q : 1));
            q = r > q ? r : q + 1;
            continue;
        }
        cf_buf_append(b, q, 1);
        q++;
    }
    if (b->error != CF_OK)
        return b->error;
    if (mark_offset(j, new_id) != CF_OK)
        return j->error;
    emit(j, b->data, b->len);
    return emit(j, dict_end, (size_t)(end - dict_end));
}

/* FNV-1a, 64 bits: finds the candidate; the bytes are compared before one is left out. */
static uint64_t hash_bytes(const unsigned char *p, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(1099511628211);
    return h;
}

/* When own object id of pt is a body stream as render_pdf.c writes it, "<<\n/Length L 0 R\n
 * /Filter /FlateDecode\n>>\nstream\r\n" DATA "\nendstream\nendobj\n" with its length object
 * L = id + 1 of the part, sets *data and *len to DATA. */
static bool body_stream_data(const part *pt, size_t id, const unsigned char **data, size_t *len)
{
    if (id + 1 >= pt->size)
        return false;
    const unsigned char *p = pt->pdf + pt->objects[id].start;
    const unsigned char *end = pt->pdf + pt->objects[id].end;
    char head[96];
    int n = snprintf(head, sizeof head,
                     "%zu 0 obj\n<<\n/Length %zu 0 R\n/Filter /FlateDecode\n>>\nstream\r\n", id,
                     id + 1);
    static const char tail[] = "\nendstream\nendobj\n";
    size_t t = sizeof tail - 1;
    if (n < 0 || (size_t)(end - p) < (size_t)n + t || memcmp(p, head, (size_t)n) != 0 ||
        memcmp(end - t, tail, t) != 0)
        return false;
    *data = p + n;
    *len = (size_t)(end - p) - (size_t)n - t;
    return true;
}

/* Gives pt's own objects their numbers in the joined file (pt->new_id), one after another
 * from j->next_id, except a body stream already written by an earlier part, whose pages then
 * refer to that one: it and its length object are marked in *dropped (caller frees) and left
 * out. *n_own: the numbers taken. */
static cf_status number_own(cf_pdf_join *j, part *pt, bool **dropped, size_t *n_own)
{
    size_t n = pt->size - pt->first_page;
    pt->new_id = cf_malloc((n ? n : 1) * sizeof *pt->new_id);
    *dropped = cf_calloc(n ? n : 1, sizeof **dropped);
    bool *body = cf_calloc(n ? n : 1, sizeof *body);
    if (pt->new_id == NULL || *dropped == NULL || body == NULL) {
        cf_free(body);
        return CF_ERR_NOMEM;
    }
    /* The bodies: the first stream of each page's /Contents array. */
    for (size_t k = 0; k < pt->n_kids; k++) {
        span o = pt->objects[pt->kids[k]];
        const unsigned char *c = find(pt->pdf + o.start, pt->pdf + o.end, "/Contents [ ");
        size_t v = 0;
        if (c != NULL) {
            c += strlen("/Contents [ ");
            if (read_number(&c, pt->pdf + o.end, &v) && v >= pt->first_page && v < pt->size)
                body[v - pt->first_page] = true;
        }
    }
    size_t next = j->next_id;
    cf_status st = CF_OK;
    for (size_t id = pt->first_page; id < pt->size && st == CF_OK; id++) {
        size_t i = id - pt->first_page;
        if ((*dropped)[i])
            continue;
        const unsigned char *data = NULL;
        size_t len = 0;
        if (!body[i] || !body_stream_data(pt, id, &data, &len)) {
            pt->new_id[i] = next++;
            continue;
        }
        uint64_t h = hash_bytes(data, len);
        const body_written *w = NULL;
        for (size_t b = 0; b < j->n_bodies && w == NULL; b++)
            if (j->bodies[b].hash == h && j->bodies[b].len == len &&
                memcmp(j->bodies[b].data, data, len) == 0)
                w = &j->bodies[b];
        if (w != NULL) {
            pt->new_id[i] = w->id;
            pt->new_id[i + 1] = w->length_id;
            (*dropped)[i] = (*dropped)[i + 1] = true;
            continue;
        }
        pt->new_id[i] = next++;
        if (j->bodies_bytes + len > CF_JOIN_BODIES_MAX_BYTES)
            continue;
        if (j->n_bodies == j->cap_bodies) {
            body_written *grown =
                cf_grow_array(j->bodies, &j->cap_bodies, j->n_bodies + 1, sizeof *grown, 16);
            if (grown == NULL) {
                st = CF_ERR_NOMEM;
                break;
            }
            j->bodies = grown;
        }
        unsigned char *copy = cf_malloc(len ? len : 1);
        if (copy == NULL) {
            st = CF_ERR_NOMEM;
            break;
        }
        memcpy(copy, data, len);
        /* Its length object is the next own object: numbered next. */
        j->bodies[j->n_bodies++] = (body_written){h, copy, len, pt->new_id[i], next};
        j->bodies_bytes += len;
    }
    cf_free(body);
    *n_own = next - j->next_id;
    return st;
}

cf_status cf_pdf_join_add(cf_pdf_join *j, const unsigned char *pdf, size_t len, cf_diag *diag)
{
    if (j->error != CF_OK)
        return j->error;
    part pt;
    cf_status st = parse_part(pdf, len, &pt, diag);
    if (st != CF_OK)
        return j->error = st;
    if (j->parts == 0) {
        /* The first part: header and shared objects, kept for comparison. */
        j->first_own = j->next_id = pt.first_page;
        j->root_id = pt.root_id;
        j->pages_id = pt.pages_id;
        j->info_id = pt.info_id;
        size_t shared_len = pt.objects[pt.first_page - 1].end - pt.header_end;
        j->shared = cf_malloc(shared_len);
        j->shared_at = cf_calloc(pt.first_page, sizeof *j->shared_at);
        j->root_len = pt.objects[pt.root_id].end - pt.objects[pt.root_id].start;
        j->root = cf_malloc(j->root_len);
        if (j->shared == NULL || j->shared_at == NULL || j->root == NULL) {
            part_free(&pt);
            return j->error = CF_ERR_NOMEM;
        }
        memcpy(j->root, pdf + pt.objects[pt.root_id].start, j->root_len);
        emit(j, pdf, pt.header_end);
        size_t at = 0;
        for (size_t id = 1; id < pt.first_page; id++) {
            span o = pt.objects[id];
            memcpy(j->shared + at, pdf + o.start, o.end - o.start);
            j->shared_at[id] = (span){at, at + (o.end - o.start)};
            at += o.end - o.start;
            if (id == pt.root_id || id == pt.pages_id)
                continue; /* written at the end, for all parts */
            if (mark_offset(j, id) == CF_OK)
                emit(j, pdf + o.start, o.end - o.start);
        }
    } else {
        bool same = pt.first_page == j->first_own && pt.root_id == j->root_id &&
                    pt.pages_id == j->pages_id && pt.info_id == j->info_id;
        for (size_t id = 1; same && id < pt.first_page; id++) {
            if (id == pt.pages_id)
                continue;
            span o = pt.objects[id], s = j->shared_at[id];
            same = o.end - o.start == s.end - s.start &&
                   memcmp(pdf + o.start, j->shared + s.start, s.end - s.start) == 0;
        }
        if (!same) {
            part_free(&pt);
            j->error = bad_part(diag, "has other fonts or document information than the first");
            return j->error;
        }
    }
    bool *dropped = NULL;
    size_t n_own = 0;
    st = number_own(j, &pt, &dropped, &n_own);
    if (st != CF_OK) {
        part_free(&pt);
        return j->error = st;
    }
    cf_buf b;
    cf_buf_init(&b, (size_t)1 << 20);
    for (size_t id = pt.first_page; id < pt.size && j->error == CF_OK; id++) {
        if (dropped[id - pt.first_page])
            continue;
        st = emit_own(j, &pt, id, &b);
        if (st != CF_OK && j->error == CF_OK)
            j->error = st;
    }
    cf_buf_cleanup(&b);
    cf_free(dropped);
    if (j->error == CF_OK && j->n_kids + pt.n_kids > j->cap_kids) {
        size_t *grown =
            cf_grow_array(j->kids, &j->cap_kids, j->n_kids + pt.n_kids, sizeof *grown, 256);
        if (grown == NULL)
            j->error = CF_ERR_NOMEM;
        else
            j->kids = grown;
    }
    if (j->error == CF_OK) {
        for (size_t i = 0; i < pt.n_kids; i++)
            j->kids[j->n_kids++] = pt.new_id[pt.kids[i] - pt.first_page];
        j->next_id += n_own;
        j->parts++;
    }
    part_free(&pt);
    return j->error;
}

cf_status cf_pdf_join_finish(cf_pdf_join *j, cf_diag *diag)
{
    if (j->error != CF_OK)
        return j->error;
    if (j->parts == 0)
        return bad_part(diag, "is missing: nothing to join");
    char line[96];
    /* The page tree of every part's pages. */
    if (mark_offset(j, j->pages_id) != CF_OK)
        return j->error;
    int n = snprintf(line, sizeof line, "%zu 0 obj\n<<\n/Type /Pages\n/Kids [ ", j->pages_id);
    emit(j, line, (size_t)n);
    for (size_t i = 0; i < j->n_kids; i++) {
        n = snprintf(line, sizeof line, "%zu 0 R ", j->kids[i]);
        emit(j, line, (size_t)n);
    }
    n = snprintf(line, sizeof line, "]\n/Count %zu\n>>\nendobj\n", j->n_kids);
    emit(j, line, (size_t)n);
    if (mark_offset(j, j->root_id) != CF_OK)
        return j->error;
    emit(j, j->root, j->root_len);
    /* Cross-reference table: every number from 1 to next_id - 1 is an object. */
    size_t xref = j->written;
    n = snprintf(line, sizeof line, "xref\n0 %zu\n0000000000 65535 f\r\n", j->next_id);
    emit(j, line, (size_t)n);
    for (size_t id = 1; id < j->next_id; id++) {
        if (id >= j->cap_offsets || j->offsets[id] == 0)
            return j->error = bad_part(diag, "left a gap in the object numbers");
        n = snprintf(line, sizeof line, "%010zu 00000 n\r\n", j->offsets[id]);
        emit(j, line, (size_t)n);
    }
    n = snprintf(line, sizeof line, "trailer\n<<\n/Root %zu 0 R\n/Info %zu 0 R\n/Size %zu\n>>\n",
                 j->root_id, j->info_id, j->next_id);
    emit(j, line, (size_t)n);
    n = snprintf(line, sizeof line, "startxref\n%zu\n%%%%EOF\n", xref);
    return emit(j, line, (size_t)n);
}
