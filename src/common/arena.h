/*
 * arena.h - a bump allocator for data that dies together (one event, one
 * evaluation, one compiled program).
 *
 * arena_reset() keeps the first chunk, so an arena reused per evaluation stops
 * calling malloc once it has grown to its working size. Big requests get a
 * chunk of their own.
 */
#ifndef PHALANX_ARENA_H
#define PHALANX_ARENA_H

#include "common.h"

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* owned chain, newest first */
    size_t chunk_size;        /* default size of new chunks */
    size_t limit;             /* 0 = unlimited; else max total bytes, then allocations fail */
    size_t used;              /* bytes handed out since the last reset */
};

void arena_init(struct arena *a, size_t chunk_size);
/* Returns 16-byte aligned memory or NULL (out of memory or over limit). */
void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);
/* Copies n bytes and adds a NUL; returns NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Grows an allocation made from this arena (copies unless it was the last one). */
void *arena_realloc(struct arena *a, void *old, size_t old_size, size_t new_size);
/* Frees every chunk but the first one, which is kept for reuse. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
