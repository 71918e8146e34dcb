/* The project's allocator: every allocation in src/ goes through these, so that the
 * allocation-failure sweep can make the N-th one fail. */
#ifndef CF_ALLOC_H
#define CF_ALLOC_H

#include <stddef.h>

void *cf_malloc(size_t size);
void *cf_calloc(size_t count, size_t size);
void *cf_realloc(void *ptr, size_t size);
void cf_free(void *ptr);
/* strdup through cf_malloc; NULL on failure. Caller frees with cf_free. */
char *cf_strdup(const char *s);
char *cf_strndup(const char *s, size_t n);

/* Growth of an array of *cap elements of elem bytes that must hold need (>= 1) elements:
 * returns ptr when *cap >= need already, else ptr reallocated to the first of first, 2 x first,
 * ... (or 2 x *cap, 4 x *cap, ... when *cap > 0) that holds need, and stores that count in
 * *cap. NULL when memory or size_t runs out; ptr and *cap are then unchanged (ptr is still the
 * caller's to free). */
void *cf_grow_array(void *ptr, size_t *cap, size_t need, size_t elem, size_t first);

/* Test hook: make allocation number n (1-based, counted from this call) and every later one
 * fail; 0 turns failure injection off. Returns the number of allocations counted so far. */
unsigned long cf_alloc_fail_after(unsigned long n);
unsigned long cf_alloc_count(void);

#endif
