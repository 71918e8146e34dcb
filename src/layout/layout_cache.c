/* Bodies laid out once for many patients (see layout.h: cf_layout_cache). */
#include "layout/layout.h"

#include "base/alloc.h"

#include <pthread.h>
#include <stdlib.h>

struct cf_layout_cache {
    pthread_mutex_t lock;
    size_t hits, misses;
};

cf_layout_cache *cf_layout_cache_new(void)
{
    cf_layout_cache *c = cf_calloc(1, sizeof *c);
    if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0) {
        cf_free(c);
        return NULL;
    }
    return c;
}

void cf_layout_cache_free(cf_layout_cache *cache)
{
    if (cache == NULL)
        return;
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
