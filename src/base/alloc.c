#include "base/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong alloc_counter;
static atomic_ulong fail_at; /* 0: never fail */

/* True when this allocation must fail (failure injection for tests). */
static int injected_failure(void)
{
    unsigned long n = atomic_fetch_add(&alloc_counter, 1) + 1;
    unsigned long at = atomic_load(&fail_at);
    return at != 0 && n >= at;
}

void *cf_malloc(size_t size)
{
    if (injected_failure())
        return NULL;
    return malloc(size ? size : 1);
}

void *cf_calloc(size_t count, size_t size)
{
    if (injected_failure())
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *cf_realloc(void *ptr, size_t size)
{
    if (injected_failure())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void cf_free(void *ptr)
{
    free(ptr);
}

void *cf_grow_array(void *ptr, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return ptr;
    size_t n = *cap > 0 ? *cap : first > 0 ? first : 1;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (elem > 0 && n > SIZE_MAX / elem)
        return NULL;
    void *grown = cf_realloc(ptr, n * elem);
    if (grown != NULL)
        *cap = n;
    return grown;
}

char *cf_strndup(const char *s, size_t n)
{
    char *copy = cf_malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *cf_strdup(const char *s)
{
    return cf_strndup(s, strlen(s));
}

unsigned long cf_alloc_fail_after(unsigned long n)
{
    unsigned long counted = atomic_exchange(&alloc_counter, 0);
    atomic_store(&fail_at, n);
    return counted;
}

unsigned long cf_alloc_count(void)
{
    return atomic_load(&alloc_counter);
}
