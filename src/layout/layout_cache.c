/* Bodies laid out once for many patients (see layout.h: cf_layout_cache).
 *
 * A body is what the form's sections become once paginated: the items emit_pages puts on each
 * page before the furniture (title, label box, header, footer, QR code). Its inputs are the
 * cf_body_key (form, fonts, paper, blank, body size, where the body starts on the first and
 * later pages, where it must end) and the record values the flow read (cf_layout_record_get):
 * which procedures are ticked, what inline fields hold. An entry is found again only when every
 * value it read is the same in the new record (both unset, or the same bytes), so the flow
 * would read the same values in the same order and make the same items. */
#include "layout/layout_internal.h"

#include "base/alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Enough for every combination of ticked procedures a form is usually printed with; a list
 * whose inline values differ on every row replaces the oldest entries. */
#define CACHE_MAX_ENTRIES 64

struct cf_body_entry {
    cf_body_key key;
    cf_layout_read *reads; /* keys and values copied */
    size_t n_reads;
    cf_display_list *body; /* the body's pages, nothing else */
    size_t content_pages;
    uint64_t id;
    unsigned refs; /* the table's reference (until evicted) plus one per cf_layout_cache_find */
};

struct cf_layout_cache {
    pthread_mutex_t lock;
    cf_body_entry *entries[CACHE_MAX_ENTRIES];
    size_t n_entries;
    size_t next_victim;
    size_t hits, misses;
};

/* Ids are unique in the process, so that a backend keeping painted bodies by id never takes
 * one cache's body for another's. */
static atomic_uint_fast64_t next_entry_id = 1;

cf_layout_cache *cf_layout_cache_new(void)
{
    cf_layout_cache *c = cf_calloc(1, sizeof *c);
    if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0) {
        cf_free(c);
        return NULL;
    }
    return c;
}

static void entry_free(cf_body_entry *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; e->reads != NULL && i < e->n_reads; i++) {
        cf_free(e->reads[i].key);
        cf_free(e->reads[i].value);
    }
    cf_free(e->reads);
    cf_display_list_free(e->body);
    cf_free(e);
}

void cf_layout_cache_free(cf_layout_cache *cache)
{
    if (cache == NULL)
        return;
    for (size_t i = 0; i < cache->n_entries; i++)
        entry_free(cache->entries[i]);
    pthread_mutex_destroy(&cache->lock);
    cf_free(cache);
}

void cf_layout_cache_stats(cf_layout_cache *cache, size_t *hits, size_t *misses)
{
    pthread_mutex_lock(&cache->lock);
    *hits = cache->hits;
    *misses = cache->misses;
    pthread_mutex_unlock(&cache->lock);
}

bool cf_layout_cache_enabled(void)
{
    const char *off = getenv("CONSENTFORM_NO_BODY_CACHE");
    return off == NULL || off[0] == '\0';
}

/* ---- what the flow read ---- */

static bool same_value(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

const char *cf_layout_record_get(cf_layout_ctx *ctx, const char *key)
{
    const char *value = ctx->record != NULL ? cf_record_get(ctx->record, key) : NULL;
    cf_layout_reads *r = ctx->reads;
    if (r == NULL || r->failed)
        return value;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].key, key) == 0)
            return value; /* the same record gives the same value twice */
    if (r->n == r->cap) {
        cf_layout_read *grown = cf_grow_array(r->v, &r->cap, r->n + 1, sizeof *grown, 8);
        if (grown == NULL) {
            r->failed = true; /* the body is laid out, just not kept */
            return value;
        }
        r->v = grown;
    }
    char *k = cf_strdup(key);
    char *v = value != NULL ? cf_strdup(value) : NULL;
    if (k == NULL || (value != NULL && v == NULL)) {
        cf_free(k);
        cf_free(v);
        r->failed = true;
        return value;
    }
    r->v[r->n++] = (cf_layout_read){k, v};
    return value;
}

void cf_layout_reads_cleanup(cf_layout_reads *reads)
{
    for (size_t i = 0; i < reads->n; i++) {
        cf_free(reads->v[i].key);
        cf_free(reads->v[i].value);
    }
    cf_free(reads->v);
    *reads = (cf_layout_reads){0};
}

/* ---- entries ---- */

static bool same_key(const cf_body_key *a, const cf_body_key *b)
{
    return a->form == b->form && a->fonts == b->fonts && a->paper == b->paper &&
           a->blank == b->blank && a->body_size == b->body_size && a->top_first == b->top_first &&
           a->top_other == b->top_other && a->bottom == b->bottom && a->left == b->left &&
           a->right == b->right;
}

static bool reads_match(const cf_body_entry *e, const cf_record *record)
{
    for (size_t i = 0; i < e->n_reads; i++) {
        const char *now = record != NULL ? cf_record_get(record, e->reads[i].key) : NULL;
        if (!same_value(now, e->reads[i].value))
            return false;
    }
    return true;
}

static cf_body_entry *lookup(cf_layout_cache *c, const cf_body_key *key, const cf_record *record)
{
    for (size_t i = 0; i < c->n_entries; i++) {
        cf_body_entry *e = c->entries[i];
        if (same_key(&e->key, key) && reads_match(e, record))
            return e;
    }
    return NULL;
}

cf_body_entry *cf_layout_cache_find(cf_layout_cache *c, const cf_body_key *key,
                                    const cf_record *record)
{
    pthread_mutex_lock(&c->lock);
    cf_body_entry *e = lookup(c, key, record);
    if (e != NULL) {
        e->refs++;
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return e;
}

void cf_layout_cache_release(cf_layout_cache *c, cf_body_entry *e)
{
    pthread_mutex_lock(&c->lock);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (last)
        entry_free(e);
}

size_t cf_body_entry_content_pages(const cf_body_entry *e)
{
    return e->content_pages;
}

/* Page page of list holds body page k and nothing else yet. */
static void mark_shared(cf_display_list *list, size_t page, size_t k, uint64_t id)
{
    /* 12 bits of page number: a body longer than 4,094 pages is simply not shared. */
    if (k + 1 < 0xFFF) {
        list->pages[page].n_shared = list->pages[page].n_items;
        list->pages[page].shared_id = (id << 12) | (uint64_t)(k + 1);
    }
}

cf_status cf_body_entry_emit(const cf_body_entry *e, cf_display_list *list)
{
    size_t first = list->n_pages;
    for (size_t p = 0; p < e->body->n_pages; p++) {
        size_t page = cf_display_list_add_page(list);
        if (page == (size_t)-1)
            return CF_ERR_NOMEM;
        const cf_page *src = &e->body->pages[p];
        cf_status st = cf_display_list_copy_items(list, page, src->items, src->n_items);
        if (st != CF_OK)
            return st;
    }
    for (size_t p = 0; p < e->body->n_pages; p++)
        mark_shared(list, first + p, p, e->id);
    return CF_OK;
}

void cf_layout_cache_store(cf_layout_cache *c, const cf_body_key *key, const cf_layout_reads *reads,
                           cf_display_list *list, size_t content_pages)
{
    if (reads->failed)
        return;
    cf_body_entry *e = cf_calloc(1, sizeof *e);
    if (e == NULL)
        return;
    e->key = *key;
    e->content_pages = content_pages;
    e->refs = 1;
    e->body = cf_display_list_new(list->width, list->height, list->fonts);
    e->reads = reads->n > 0 ? cf_calloc(reads->n, sizeof *e->reads) : NULL;
    if (e->body == NULL || (reads->n > 0 && e->reads == NULL)) {
        entry_free(e);
        return;
    }
    for (size_t i = 0; i < reads->n; i++) {
        e->reads[i].key = cf_strdup(reads->v[i].key);
        e->reads[i].value = reads->v[i].value != NULL ? cf_strdup(reads->v[i].value) : NULL;
        e->n_reads = i + 1;
        if (e->reads[i].key == NULL || (reads->v[i].value != NULL && e->reads[i].value == NULL)) {
            entry_free(e);
            return;
        }
    }
    for (size_t p = 0; p < list->n_pages; p++) {
        size_t page = cf_display_list_add_page(e->body);
        if (page == (size_t)-1 || cf_display_list_copy_items(e->body, page, list->pages[p].items,
                                                             list->pages[p].n_items) != CF_OK) {
            entry_free(e);
            return;
        }
    }
    cf_body_entry *victim = NULL;
    pthread_mutex_lock(&c->lock);
    cf_body_entry *twin = NULL;
    /* Another thread may have stored the same body meanwhile: keep the first. */
    for (size_t i = 0; twin == NULL && i < c->n_entries; i++) {
        cf_body_entry *o = c->entries[i];
        if (!same_key(&o->key, key) || o->n_reads != e->n_reads)
            continue;
        bool same = true;
        for (size_t k = 0; k < e->n_reads && same; k++)
            same = strcmp(o->reads[k].key, e->reads[k].key) == 0 &&
                   same_value(o->reads[k].value, e->reads[k].value);
        if (same)
            twin = o;
    }
    if (twin == NULL) {
        e->id = atomic_fetch_add(&next_entry_id, 1);
        if (c->n_entries < CACHE_MAX_ENTRIES) {
            c->entries[c->n_entries++] = e;
        } else {
            size_t slot = c->next_victim;
            c->next_victim = (slot + 1) % CACHE_MAX_ENTRIES;
            victim = c->entries[slot];
            c->entries[slot] = e;
            if (--victim->refs != 0)
                victim = NULL; /* still being copied: its last release frees it */
        }
        twin = e;
        e = NULL;
    }
    /* Same key and reads: the same items, the twin's id. */
    for (size_t p = 0; p < list->n_pages; p++)
        mark_shared(list, p, p, twin->id);
    pthread_mutex_unlock(&c->lock);
    entry_free(victim);
    entry_free(e);
}
