/* Arena allocator with a size cap: trees (the form model) live here and are freed at once.
 * The cap keeps hostile input from taking all memory. */
#ifndef CF_ARENA_H
#define CF_ARENA_H

#include <stddef.h>

typedef struct cf_arena cf_arena;

/* New arena that refuses to grow past cap bytes in total; caller frees with cf_arena_free. */
cf_arena *cf_arena_new(size_t cap);
void cf_arena_free(cf_arena *arena);

/* Zeroed, 16-byte aligned memory valid until cf_arena_free; NULL when out of memory or over
 * the cap (cf_arena_over_cap tells which). */
void *cf_arena_alloc(cf_arena *arena, size_t size);
/* Array of count zeroed elements; NULL on overflow, no memory or cap. */
void *cf_arena_calloc(cf_arena *arena, size_t count, size_t size);
char *cf_arena_strdup(cf_arena *arena, const char *s);
char *cf_arena_strndup(cf_arena *arena, const char *s, size_t n);

size_t cf_arena_used(const cf_arena *arena);
/* True when an allocation failed because of the cap rather than the system. */
int cf_arena_over_cap(const cf_arena *arena);

#endif
