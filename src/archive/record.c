/* Record objects and other JSON of the archive store, with jansson (see record.h). */
#include "archive/record.h"

#include "base/alloc.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

/* jansson allocates through our allocator, so the allocation-failure sweep reaches it too. */
static void *json_alloc(size_t size)
{
    return cf_malloc(size);
}

static void json_release(void *p)
{
    cf_free(p);
}

static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void set_alloc(void)
{
    json_set_alloc_funcs(json_alloc, json_release);
}

static void use_our_allocator(void)
{
    pthread_once(&alloc_once, set_alloc);
}

void cf_record_document_cleanup(cf_record_document *d)
{
    if (d == NULL)
        return;
    cf_free(d->id);
    cf_free(d->form_id);
    cf_free(d->form_version);
    cf_free(d->labels);
    cf_free(d->scan_layout);
    cf_free(d->ward);
    memset(d, 0, sizeof *d);
}

void cf_record_event_cleanup(cf_record_event *e)
{
    if (e == NULL)
        return;
    cf_free(e->document_id);
    cf_free(e->kind);
    cf_free(e->operator_name);
    cf_free(e->reason);
    memset(e, 0, sizeof *e);
}

/* Sets key to a string; false when out of memory. */
static bool set_str(json_t *o, const char *key, const char *value)
{
    json_t *v = json_string(value != NULL ? value : "");
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

static bool set_int(json_t *o, const char *key, long long value)
{
    json_t *v = json_integer((json_int_t)value);
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

/* Dumps o (and releases it) as canonical compact JSON in our allocation. */
static char *dump(json_t *o, size_t flags, size_t *len)
{
    char *s = o != NULL ? json_dumps(o, flags | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (len != NULL)
        *len = s != NULL ? strlen(s) : 0;
    return s;
}

/* A labels JSON text as an object (new reference), or NULL. */
static json_t *labels_object(const char *labels)
{
    json_t *o = labels != NULL ? json_loads(labels, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (o != NULL && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static json_t *document_object(const cf_record_document *d)
{
    json_t *o = json_object();
    json_t *labels = labels_object(d->labels);
    bool ok = o != NULL && labels != NULL && set_str(o, "record", "document") &&
              set_str(o, "document_id", d->id) && set_str(o, "form", d->form_id) &&
              set_str(o, "form_version", d->form_version) &&
              json_object_set(o, "labels", labels) == 0 &&
              json_object_set_new(o, "registered", json_boolean(d->registered)) == 0;
    if (ok && d->issued_at >= 0)
        ok = set_int(o, "issued_at", d->issued_at);
    if (ok && d->issued_hash[0] != '\0')
        ok = set_str(o, "issued_sha256", d->issued_hash);
    if (ok && d->form_sha256[0] != '\0')
        ok = set_str(o, "form_sha256", d->form_sha256);
    /* A document issued before wards were recorded has no "ward": its record keeps its bytes. */
    if (ok && d->ward != NULL && d->ward[0] != '\0')
        ok = set_str(o, "ward", d->ward);
    if (ok && d->scan_layout != NULL) {
        json_t *layout = json_loads(d->scan_layout, JSON_REJECT_DUPLICATES, NULL);
        ok = json_is_object(layout) && json_object_set(o, "scan_layout", layout) == 0;
        json_decref(layout);
    }
    json_decref(labels);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *cf_record_document_write(const cf_record_document *d, size_t *len)
{
    use_our_allocator();
    return dump(document_object(d), JSON_COMPACT, len);
}

static json_t *event_object(const cf_record_event *e)
{
    json_t *o = json_object();
    bool ok = o != NULL && set_str(o, "record", "event") && set_int(o, "seq", e->seq) &&
              set_str(o, "document_id", e->document_id) && set_str(o, "kind", e->kind) &&
              set_int(o, "at", e->at) && set_str(o, "operator", e->operator_name) &&
              set_str(o, "document_record", e->document_record);
    if (ok && e->reason != NULL)
        ok = set_str(o, "reason", e->reason);
    if (ok && e->file_hash[0] != '\0')
        ok = set_str(o, "sha256", e->file_hash);
    if (ok && e->version > 0)
        ok = set_int(o, "version", e->version);
    if (ok && e->prev[0] != '\0')
        ok = set_str(o, "prev", e->prev);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *cf_record_event_write(const cf_record_event *e, size_t *len)
{
    use_our_allocator();
    return dump(event_object(e), JSON_COMPACT, len);
}

static json_t *load(const char *json, size_t len)
{
    use_our_allocator();
    if (json == NULL || len == 0 || len > CF_RECORD_MAX || json[0] != '{')
        return NULL;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (o != NULL && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

char cf_record_kind(const char *json, size_t len)
{
    json_t *o = load(json, len);
    const char *k = json_string_value(json_object_get(o, "record"));
    char kind = k == NULL                    ? 0
                : strcmp(k, "document") == 0 ? 'd'
                : strcmp(k, "event") == 0    ? 'e'
                : strcmp(k, "inbox") == 0    ? 'i'
                                             : 0;
    json_decref(o);
    return kind;
}

/* A copy of a string member; NULL when absent, not a string or out of memory. */
static char *get_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? cf_strdup(s) : NULL;
}

/* A hash member into hex; false when present but not a hash (absent leaves ""). */
static bool get_hash(json_t *o, const char *key, char hex[CF_SHA256_HEX_SIZE])
{
    hex[0] = '\0';
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return true;
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != CF_SHA256_HEX_SIZE - 1 ||
        strspn(s, "0123456789abcdef") != CF_SHA256_HEX_SIZE - 1)
        return false;
    memcpy(hex, s, CF_SHA256_HEX_SIZE);
    return true;
}

cf_status cf_record_document_read(const char *json, size_t len, cf_record_document *d)
{
    memset(d, 0, sizeof *d);
    json_t *o = load(json, len);
    const char *k = json_string_value(json_object_get(o, "record"));
    cf_status st = CF_ERR_DATA;
    if (k != NULL && strcmp(k, "document") == 0) {
        d->id = get_str(o, "document_id");
        d->form_id = get_str(o, "form");
        d->form_version = get_str(o, "form_version");
        json_t *labels = json_object_get(o, "labels");
        d->labels =
            json_is_object(labels) ? json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_t *at = json_object_get(o, "issued_at");
        d->issued_at = json_is_integer(at) ? (long long)json_integer_value(at) : -1;
        d->registered = json_is_true(json_object_get(o, "registered"));
        json_t *layout = json_object_get(o, "scan_layout");
        if (json_is_object(layout))
            d->scan_layout = json_dumps(layout, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *ward = json_object_get(o, "ward");
        bool ward_ok = ward == NULL || json_is_string(ward);
        if (json_is_string(ward))
            d->ward = get_str(o, "ward");
        if (ward_ok && (ward == NULL || d->ward != NULL) && d->id != NULL && d->form_id != NULL &&
            d->form_version != NULL && d->labels != NULL &&
            get_hash(o, "issued_sha256", d->issued_hash) &&
            get_hash(o, "form_sha256", d->form_sha256))
            st = CF_OK;
    }
    json_decref(o);
    return st;
}

cf_status cf_record_event_read(const char *json, size_t len, cf_record_event *e)
{
    memset(e, 0, sizeof *e);
    json_t *o = load(json, len);
    const char *k = json_string_value(json_object_get(o, "record"));
    cf_status st = CF_ERR_DATA;
    if (k != NULL && strcmp(k, "event") == 0) {
        json_t *seq = json_object_get(o, "seq"), *at = json_object_get(o, "at");
        json_t *version = json_object_get(o, "version");
        e->seq = json_is_integer(seq) ? (long long)json_integer_value(seq) : 0;
        e->at = json_is_integer(at) ? (long long)json_integer_value(at) : -1;
        e->version = json_is_integer(version) ? (int)json_integer_value(version) : 0;
        e->document_id = get_str(o, "document_id");
        e->kind = get_str(o, "kind");
        e->operator_name = get_str(o, "operator");
        if (json_object_get(o, "reason") != NULL)
            e->reason = get_str(o, "reason");
        if (e->seq > 0 && e->at >= 0 && e->document_id != NULL && e->kind != NULL &&
            e->operator_name != NULL && get_hash(o, "sha256", e->file_hash) &&
            get_hash(o, "document_record", e->document_record) && e->document_record[0] != '\0' &&
            get_hash(o, "prev", e->prev))
            st = CF_OK;
    }
    json_decref(o);
    return st;
}

/* Points to hundredths of a point. */
static json_t *centipoints(double v)
{
    return json_integer((json_int_t)llround(v * 100.0));
}

static json_t *box_array(double a, double b, double c, double d)
{
    json_t *box = json_array();
    double v[4] = {a, b, c, d};
    for (int i = 0; box != NULL && i < 4; i++)
        if (json_array_append_new(box, centipoints(v[i])) != 0) {
            json_decref(box);
            box = NULL;
        }
    return box;
}

/* The lines of page p (1-based) as an array; NULL when out of memory. */
static json_t *layout_lines(const cf_archive_scan_layout *l, unsigned p)
{
    json_t *lines = json_array();
    for (size_t i = 0; lines != NULL && i < l->n_lines; i++) {
        const cf_archive_sign_line *sl = &l->lines[i];
        if (sl->page != p)
            continue;
        json_t *o = json_object();
        bool ok = o != NULL && set_str(o, "role", sl->role) && set_str(o, "group", sl->group) &&
                  set_str(o, "line", sl->line) && set_int(o, "block", sl->block) &&
                  json_object_set_new(o, "box", box_array(sl->x1, sl->y1, sl->x2, sl->y2)) == 0 &&
                  json_array_append(lines, o) == 0;
        json_decref(o);
        if (!ok) {
            json_decref(lines);
            lines = NULL;
        }
    }
    return lines;
}

char *cf_record_scan_layout_write(const cf_archive_scan_layout *l)
{
    use_our_allocator();
    json_t *o = json_object(), *pages = json_array(), *groups = json_array();
    bool ok = o != NULL && pages != NULL && groups != NULL;
    for (size_t g = 0; ok && g < l->n_groups; g++)
        ok = json_array_append_new(groups, json_string(l->groups[g])) == 0;
    for (unsigned p = 0; ok && p < l->pages; p++) {
        json_t *page = json_object();
        const cf_archive_page_qr *q = &l->qr[p];
        ok = page != NULL &&
             json_object_set_new(page, "qr", box_array(q->x, q->y, q->side, q->side)) == 0 &&
             json_object_set_new(page, "lines", layout_lines(l, p + 1)) == 0 &&
             json_array_append(pages, page) == 0;
        json_decref(page);
    }
    ok = ok && json_object_set(o, "pages", pages) == 0 && json_object_set(o, "groups", groups) == 0;
    json_decref(pages);
    json_decref(groups);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return dump(o, JSON_COMPACT, NULL);
}

/* Four numbers in hundredths of a point from a box array; false when it is not one. */
static bool read_box(json_t *box, double v[4])
{
    if (!json_is_array(box) || json_array_size(box) != 4)
        return false;
    for (size_t i = 0; i < 4; i++) {
        json_t *n = json_array_get(box, i);
        if (!json_is_integer(n))
            return false;
        v[i] = (double)json_integer_value(n) / 100.0;
    }
    return true;
}

/* A string member into out; false when absent, not a string or too long. */
static bool read_word(json_t *o, const char *key, char *out, size_t size)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (v == NULL || strlen(v) >= size)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

cf_status cf_record_scan_layout_read(const char *json, cf_archive_scan_layout *out)
{
    memset(out, 0, sizeof *out);
    json_t *o = load(json, json != NULL ? strlen(json) : 0);
    json_t *pages = json_object_get(o, "pages"), *groups = json_object_get(o, "groups");
    cf_status st = CF_ERR_DATA;
    size_t n_pages = json_array_size(pages), n_groups = json_array_size(groups), n_lines = 0;
    if (!json_is_array(pages) || !json_is_array(groups) || n_pages == 0 || n_pages > 10000 ||
        n_groups > 64)
        goto done;
    for (size_t p = 0; p < n_pages; p++)
        n_lines += json_array_size(json_object_get(json_array_get(pages, p), "lines"));
    out->qr = cf_calloc(n_pages, sizeof *out->qr);
    out->lines = cf_calloc(n_lines + 1, sizeof *out->lines);
    out->groups = cf_calloc(n_groups + 1, sizeof *out->groups);
    if (out->qr == NULL || out->lines == NULL || out->groups == NULL) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    for (size_t g = 0; g < n_groups; g++) {
        const char *v = json_string_value(json_array_get(groups, g));
        if (v == NULL || strlen(v) >= CF_ARCHIVE_GROUP_MAX)
            goto done;
        memcpy(out->groups[g], v, strlen(v) + 1);
    }
    out->n_groups = n_groups;
    out->pages = (unsigned)n_pages;
    for (size_t p = 0; p < n_pages; p++) {
        json_t *page = json_array_get(pages, p), *lines = json_object_get(page, "lines");
        double v[4];
        if (!read_box(json_object_get(page, "qr"), v) || !json_is_array(lines))
            goto done;
        out->qr[p] = (cf_archive_page_qr){v[0], v[1], v[2]};
        for (size_t i = 0; i < json_array_size(lines); i++) {
            json_t *line = json_array_get(lines, i), *block = json_object_get(line, "block");
            cf_archive_sign_line *sl = &out->lines[out->n_lines];
            if (!read_word(line, "role", sl->role, sizeof sl->role) ||
                !read_word(line, "group", sl->group, sizeof sl->group) ||
                !read_word(line, "line", sl->line, sizeof sl->line) || !json_is_integer(block) ||
                json_integer_value(block) < 0 || !read_box(json_object_get(line, "box"), v))
                goto done;
            sl->page = (unsigned)p + 1;
            sl->block = (unsigned)json_integer_value(block);
            sl->x1 = v[0];
            sl->y1 = v[1];
            sl->x2 = v[2];
            sl->y2 = v[3];
            out->n_lines++;
        }
    }
    st = CF_OK;
done:
    json_decref(o);
    return st;
}

void cf_record_inbox_cleanup(cf_record_inbox *i)
{
    if (i == NULL)
        return;
    cf_free(i->source);
    cf_free(i->reason);
    cf_free(i->operator_name);
    cf_free(i->payload);
    memset(i, 0, sizeof *i);
}

char *cf_record_inbox_write(const cf_record_inbox *i, size_t *len)
{
    use_our_allocator();
    json_t *o = json_object();
    bool ok = o != NULL && set_str(o, "record", "inbox") && set_str(o, "source", i->source) &&
              set_int(o, "page", i->page) && set_str(o, "reason", i->reason) &&
              set_str(o, "operator", i->operator_name) && set_int(o, "at", i->at) &&
              set_str(o, "sha256", i->file_hash);
    if (ok && i->payload != NULL)
        ok = set_str(o, "payload", i->payload);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return dump(o, JSON_COMPACT, len);
}

cf_status cf_record_inbox_read(const char *json, size_t len, cf_record_inbox *i)
{
    memset(i, 0, sizeof *i);
    json_t *o = load(json, len);
    const char *k = json_string_value(json_object_get(o, "record"));
    cf_status st = CF_ERR_DATA;
    if (k != NULL && strcmp(k, "inbox") == 0) {
        json_t *page = json_object_get(o, "page"), *at = json_object_get(o, "at");
        i->source = get_str(o, "source");
        i->reason = get_str(o, "reason");
        i->operator_name = get_str(o, "operator");
        if (json_object_get(o, "payload") != NULL)
            i->payload = get_str(o, "payload");
        i->page = json_is_integer(page) ? (unsigned)json_integer_value(page) : 0;
        i->at = json_is_integer(at) ? (long long)json_integer_value(at) : -1;
        if (i->source != NULL && i->reason != NULL && i->operator_name != NULL && i->page > 0 &&
            i->at >= 0 && get_hash(o, "sha256", i->file_hash) && i->file_hash[0] != '\0')
            st = CF_OK;
    }
    json_decref(o);
    return st;
}

char *cf_record_labels_write(const cf_archive_label *labels, size_t n)
{
    use_our_allocator();
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++) {
        if (!set_str(o, labels[i].key, labels[i].value)) {
            json_decref(o);
            o = NULL;
        }
    }
    return dump(o, JSON_COMPACT, NULL);
}

char *cf_record_labels_canonical(const char *labels_json)
{
    use_our_allocator();
    return dump(labels_object(labels_json), JSON_COMPACT, NULL);
}

void cf_record_labels_get(const char *labels_json, const char *key, char *out, size_t size)
{
    use_our_allocator();
    out[0] = '\0';
    json_t *o = labels_object(labels_json);
    const char *v = json_string_value(json_object_get(o, key));
    if (v != NULL && size > 0) {
        size_t n = strlen(v);
        if (n >= size) {
            /* Cut at a character boundary, never inside a UTF-8 sequence. */
            n = size - 1;
            while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
                n--;
        }
        memcpy(out, v, n);
        out[n] = '\0';
    }
    json_decref(o);
}

bool cf_record_labels_equal(const char *a, const char *b)
{
    use_our_allocator();
    json_t *x = labels_object(a), *y = labels_object(b);
    bool same = x != NULL && y != NULL && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same;
}

struct cf_record_export {
    json_t *root;
    json_t *events;
};

cf_record_export *cf_record_export_new(const cf_record_document *d)
{
    use_our_allocator();
    cf_record_export *x = cf_calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->root = document_object(d);
    x->events = json_array();
    bool ok = x->root != NULL && x->events != NULL && json_object_del(x->root, "record") == 0 &&
              json_object_set(x->root, "events", x->events) == 0;
    if (ok && d->issued_hash[0] != '\0') {
        json_t *pdf = json_object();
        ok = pdf != NULL && set_str(pdf, "file", "issued.pdf") &&
             set_str(pdf, "sha256", d->issued_hash) &&
             json_object_set(x->root, "issued_pdf", pdf) == 0;
        json_decref(pdf);
    }
    if (!ok) {
        cf_record_export_free(x);
        return NULL;
    }
    return x;
}

void cf_record_export_event(cf_record_export *x, const cf_record_event *e, const char *file)
{
    if (x == NULL)
        return;
    json_t *o = event_object(e);
    bool ok = o != NULL && json_object_del(o, "record") == 0;
    if (ok && file != NULL)
        ok = set_str(o, "file", file);
    if (ok)
        ok = json_array_append(x->events, o) == 0;
    json_decref(o);
    if (!ok) {
        /* Remember the failure: finish returns NULL. */
        json_decref(x->root);
        x->root = NULL;
    }
}

char *cf_record_export_finish(cf_record_export *x, size_t *len)
{
    if (x == NULL || x->root == NULL) {
        cf_record_export_free(x);
        return NULL;
    }
    json_t *root = json_incref(x->root);
    cf_record_export_free(x);
    char *s = dump(root, JSON_INDENT(2), len);
    if (s == NULL)
        return NULL;
    /* A final newline, as a text file has. */
    size_t n = strlen(s);
    char *t = cf_realloc(s, n + 2);
    if (t == NULL) {
        cf_free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    if (len != NULL)
        *len = n + 1;
    return t;
}

void cf_record_export_free(cf_record_export *x)
{
    if (x == NULL)
        return;
    json_decref(x->root);
    json_decref(x->events);
    cf_free(x);
}
