/*
 * arena.c - a bump allocator for data that dies together.
 *
 * Memory comes from a chain of chunks, newest first; allocation bumps an
 * offset in the newest chunk. A request bigger than a quarter of the chunk size
 * gets a chunk of its own, linked behind the current one, so that it does not
 * waste the rest of the current chunk. New ordinary chunks double in size (up
 * to a cap), and arena_reset() keeps the largest ordinary chunk, so an arena
 * reused per evaluation soon serves its whole working set from one chunk
 * without calling malloc.
 */
#include "common/arena.h"

#define ARENA_ALIGN         16
#define ARENA_DEFAULT_CHUNK 4096
#define ARENA_MAX_GROWTH    64 /* ordinary chunks grow up to 64 x chunk_size */

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t off;  /* next free byte in data (before alignment) */
    size_t last; /* offset of the last allocation, for in-place realloc */
    bool own;    /* holds one big allocation */
    unsigned char *data;
};

static size_t
arena_align_up(size_t n)
{
    return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

/* One malloc per chunk: header, then padding up to 16, then size bytes. */
static struct arena_chunk *
arena_chunk_new(size_t size, bool own)
{
    size_t hdr = sizeof(struct arena_chunk);
    if (size > SIZE_MAX - hdr - ARENA_ALIGN)
        return NULL;
    struct arena_chunk *c = malloc(hdr + ARENA_ALIGN + size);
    if (!c)
        return NULL;
    uintptr_t d = (uintptr_t)(c + 1);
    d = (d + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1);
    c->data = (unsigned char *)d;
    c->next = NULL;
    c->size = size;
    c->off = 0;
    c->last = SIZE_MAX;
    c->own = own;
    return c;
}

void
arena_init(struct arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? arena_align_up(chunk_size) : ARENA_DEFAULT_CHUNK;
    a->limit = 0;
    a->used = 0;
}

static bool
arena_over_limit(const struct arena *a, size_t size)
{
    return a->limit && (size > a->limit || a->used > a->limit - size);
}

void *
arena_alloc(struct arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX / 2 || arena_over_limit(a, size))
        return NULL;
    size_t rounded = arena_align_up(size);

    struct arena_chunk *h = a->head;
    if (h && !h->own && h->size - h->off >= rounded) {
        void *p = h->data + h->off;
        h->last = h->off;
        h->off += rounded;
        a->used += size;
        return p;
    }

    if (rounded > a->chunk_size / 4) {
        struct arena_chunk *c = arena_chunk_new(rounded, true);
        if (!c)
            return NULL;
        c->off = rounded;
        c->last = 0;
        /* Behind the head, so the head keeps serving small requests. */
        if (h && !h->own) {
            c->next = h->next;
            h->next = c;
        } else {
            c->next = h;
            a->head = c;
        }
        a->used += size;
        return c->data;
    }

    size_t csize = a->chunk_size;
    if (h && !h->own && h->size < a->chunk_size * (ARENA_MAX_GROWTH / 2))
        csize = MAX(csize, h->size * 2);
    else if (h && !h->own)
        csize = h->size;
    struct arena_chunk *c = arena_chunk_new(csize, false);
    if (!c)
        return NULL;
    c->next = a->head;
    a->head = c;
    c->last = 0;
    c->off = rounded;
    a->used += size;
    return c->data;
}

void *
arena_zalloc(struct arena *a, size_t size)
{
    void *p = arena_alloc(a, size);
    if (p)
        memset(p, 0, size ? size : 1);
    return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/*
 * Grows old (of old_size bytes) to new_size. When old is the newest
 * allocation of the current chunk and the chunk has room, the block grows in
 * place; otherwise the bytes are copied to a fresh block (the old one is
 * reclaimed only at reset). Shrinking returns old unchanged.
 */
void *
arena_realloc(struct arena *a, void *old, size_t old_size, size_t new_size)
{
    if (!old)
        return arena_alloc(a, new_size);
    if (new_size <= old_size)
        return old;

    struct arena_chunk *h = a->head;
    if (h && !h->own && h->last != SIZE_MAX && h->data + h->last == (unsigned char *)old &&
        new_size <= SIZE_MAX / 2) {
        size_t rounded = arena_align_up(new_size);
        if (h->size - h->last >= rounded) {
            if (arena_over_limit(a, new_size - old_size))
                return NULL;
            h->off = h->last + rounded;
            a->used += new_size - old_size;
            return old;
        }
    }

    void *p = arena_alloc(a, new_size);
    if (!p)
        return NULL;
    memcpy(p, old, old_size);
    return p;
}

void
arena_reset(struct arena *a)
{
    struct arena_chunk *keep = NULL;
    for (struct arena_chunk *c = a->head; c; c = c->next)
        if (!c->own && (!keep || c->size > keep->size))
            keep = c;

    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        if (c != keep)
            free(c);
        c = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->off = 0;
        keep->last = SIZE_MAX;
    }
    a->head = keep;
    a->used = 0;
}

void
arena_free(struct arena *a)
{
    if (!a)
        return;
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}
