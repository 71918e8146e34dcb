#include "base/arena.h"

#include "base/alloc.h"

#include <stdint.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_CHUNK (64 * 1024)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} arena_chunk;

struct cf_arena {
    arena_chunk *head;
    size_t cap, total;
    int over_cap;
};

cf_arena *cf_arena_new(size_t cap)
{
    cf_arena *arena = cf_calloc(1, sizeof *arena);
    if (arena)
        arena->cap = cap;
    return arena;
}

void cf_arena_free(cf_arena *arena)
{
    if (!arena)
        return;
    arena_chunk *c = arena->head;
    while (c) {
        arena_chunk *next = c->next;
        cf_free(c);
        c = next;
    }
    cf_free(arena);
}

void *cf_arena_alloc(cf_arena *arena, size_t size)
{
    if (!arena)
        return NULL;
    size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (rounded < size)
        return NULL;
    arena_chunk *c = arena->head;
    if (!c || c->size - c->used < rounded) {
        size_t want = rounded > ARENA_CHUNK ? rounded : ARENA_CHUNK;
        if (arena->total + want > arena->cap || want > SIZE_MAX - sizeof *c) {
            arena->over_cap = 1;
            return NULL;
        }
        c = cf_malloc(sizeof *c + want);
        if (!c)
            return NULL;
        c->size = want;
        c->used = 0;
        c->next = arena->head;
        arena->head = c;
        arena->total += want;
    }
    void *p = c->data + c->used;
    c->used += rounded;
    memset(p, 0, size);
    return p;
}

void *cf_arena_calloc(cf_arena *arena, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return cf_arena_alloc(arena, count * size);
}

char *cf_arena_strndup(cf_arena *arena, const char *s, size_t n)
{
    char *copy = cf_arena_alloc(arena, n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *cf_arena_strdup(cf_arena *arena, const char *s)
{
    return cf_arena_strndup(arena, s, strlen(s));
}

size_t cf_arena_used(const cf_arena *arena)
{
    return arena ? arena->total : 0;
}

int cf_arena_over_cap(const cf_arena *arena)
{
    return arena ? arena->over_cap : 0;
}
