/*
 * strmap.c - the small insertion-ordered string map behind an event's
 * Parsed, Meta, Enriched and Line.Labels.
 *
 * Typical maps hold fewer than a dozen keys, so a linear scan over a packed
 * array beats hashing; past STRMAP_LINEAR_MAX entries an open-addressing
 * index (FNV-1a, linear probing) keeps attacker-sized maps (ParseKV on a
 * hostile line) from going quadratic. Memory comes from the event's arena, so
 * a replaced or deleted value is not freed until the event dies.
 */
#include "model/model.h"

static uint32_t
strmap_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 16777619u;
    }
    return h;
}

/*
 * Equality of n bytes. Keys are short (log_type, http_path, source_ip), so
 * two overlapping word loads beat a call to memcmp on this hot path: every
 * evt.Meta.x of every filter ends here.
 */
static inline bool
bytes_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        if (n > 16)
            return memcmp(a, b, n) == 0;
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8);
        memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8);
        memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n == 0)
        return true;
    return a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1];
}

static inline bool
key_eq(const struct strmap_entry *e, const char *key, size_t keylen)
{
    return e->key.len == keylen && bytes_eq(e->key.ptr, key, keylen);
}

/* The hashed lookup of a big map: entry index of key or -1. */
static ptrdiff_t
strmap_find_indexed(const struct strmap *m, const char *key, size_t keylen)
{
    size_t mask = m->index_cap - 1;
    size_t slot = strmap_hash(key, keylen) & mask;
    for (size_t probes = 0; probes < m->index_cap; probes++) {
        uint32_t v = m->index[slot];
        if (v == 0)
            return -1;
        if (key_eq(&m->entries[v - 1], key, keylen))
            return (ptrdiff_t)(v - 1);
        slot = (slot + 1) & mask;
    }
    return -1;
}

/*
 * Returns the entry index of key or -1. The linear scan of small maps stays
 * inline and compares lengths before bytes.
 */
static inline ptrdiff_t
strmap_find(const struct strmap *m, const char *key, size_t keylen)
{
    if (m->index != NULL)
        return strmap_find_indexed(m, key, keylen);
    const struct strmap_entry *e = m->entries;
    for (size_t i = 0, n = m->len; i < n; i++)
        if (key_eq(&e[i], key, keylen))
            return (ptrdiff_t)i;
    return -1;
}

/* Keeps a cold path out of its caller, so that the caller's fast path saves no registers. */
#if defined(__GNUC__)
#define STRMAP_NOINLINE __attribute__((noinline))
#else
#define STRMAP_NOINLINE
#endif

/* strmap_get for what its fast path leaves out: hashed maps and keys too long to inline. */
static STRMAP_NOINLINE const struct strv *
strmap_get_slow(const struct strmap *m, const char *key, size_t keylen)
{
    ptrdiff_t i = strmap_find(m, key, keylen);

    return i < 0 ? NULL : &m->entries[i].value;
}

static void
index_insert(uint32_t *index, size_t cap, const struct strv *key, uint32_t entry)
{
    size_t mask = cap - 1;
    size_t slot = strmap_hash(key->ptr, key->len) & mask;

    while (index[slot] != 0)
        slot = (slot + 1) & mask;
    index[slot] = entry + 1;
}

/* Rebuilds the hash index for the current entries (cap >= 2 * len). */
static int
strmap_reindex(struct strmap *m, struct arena *a, size_t min_cap)
{
    size_t cap = 64;

    while (cap < min_cap * 2)
        cap *= 2;
    uint32_t *index = m->index;
    if (index == NULL || m->index_cap < cap) {
        index = arena_alloc(a, cap * sizeof(*index));
        if (index == NULL)
            return -ENOMEM;
    } else {
        cap = m->index_cap;
    }
    memset(index, 0, cap * sizeof(*index));
    for (size_t i = 0; i < m->len; i++)
        index_insert(index, cap, &m->entries[i].key, (uint32_t)i);
    m->index = index;
    m->index_cap = cap;
    return 0;
}

/*
 * Every evt.Meta.x of every filter ends here, so the common case (a small
 * map, a key of at most 16 bytes) is a loop without calls: no registers to
 * save, and a few instructions per entry whose length differs.
 */
const struct strv *
strmap_get(const struct strmap *m, const char *key, size_t keylen)
{
    if (m->index != NULL || keylen > 16)
        return strmap_get_slow(m, key, keylen);
    if (m->len == 0)
        return NULL; /* entries may be NULL: no pointer arithmetic on it */
    const struct strmap_entry *e = m->entries, *end = e + m->len;
    for (; e < end; e++)
        if (e->key.len == keylen && bytes_eq(e->key.ptr, key, keylen))
            return &e->value;
    return NULL;
}

const struct strv *
strmap_get_cstr(const struct strmap *m, const char *key)
{
    return strmap_get(m, key, strlen(key));
}

int
strmap_set(struct strmap *m, struct arena *a, const char *key, size_t keylen, const char *value,
           size_t valuelen)
{
    ptrdiff_t i = strmap_find(m, key, keylen);
    char *v = arena_strndup(a, value, valuelen);

    if (v == NULL)
        return -ENOMEM;
    if (i >= 0) {
        m->entries[i].value = (struct strv){ v, valuelen };
        return 0;
    }
    if (m->len >= STRMAP_MAX_ENTRIES)
        return -E2BIG;
    char *k = arena_strndup(a, key, keylen);
    if (k == NULL)
        return -ENOMEM;
    if (m->len == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 8;
        struct strmap_entry *n =
            arena_realloc(a, m->entries, m->cap * sizeof(*n), ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        m->entries = n;
        m->cap = ncap;
    }
    m->entries[m->len] = (struct strmap_entry){ .key = { k, keylen }, .value = { v, valuelen } };
    m->len++;
    if (m->index != NULL && m->len * 2 <= m->index_cap) {
        index_insert(m->index, m->index_cap, &m->entries[m->len - 1].key, (uint32_t)(m->len - 1));
    } else if (m->len > STRMAP_LINEAR_MAX) {
        int r = strmap_reindex(m, a, m->len);
        if (r < 0) {
            m->len--;
            return r;
        }
    }
    return 0;
}

int
strmap_set_cstr(struct strmap *m, struct arena *a, const char *key, const char *value)
{
    return strmap_set(m, a, key, strlen(key), value, strlen(value));
}

int
strmap_del(struct strmap *m, const char *key, size_t keylen)
{
    ptrdiff_t i = strmap_find(m, key, keylen);

    if (i < 0)
        return -ENOENT;
    memmove(&m->entries[i], &m->entries[i + 1], (m->len - (size_t)i - 1) * sizeof(m->entries[0]));
    m->len--;
    if (m->index != NULL) {
        /* The index is at least as large as needed already, so this cannot allocate. */
        memset(m->index, 0, m->index_cap * sizeof(*m->index));
        for (size_t j = 0; j < m->len; j++)
            index_insert(m->index, m->index_cap, &m->entries[j].key, (uint32_t)j);
    }
    return 0;
}

void
strmap_clear(struct strmap *m)
{
    m->len = 0;
    if (m->index != NULL)
        memset(m->index, 0, m->index_cap * sizeof(*m->index));
}

int
strmap_copy(struct strmap *dst, struct arena *a, const struct strmap *src)
{
    for (size_t i = 0; i < src->len; i++) {
        const struct strmap_entry *e = &src->entries[i];
        int r = strmap_set(dst, a, e->key.ptr, e->key.len, e->value.ptr, e->value.len);
        if (r < 0)
            return r;
    }
    return 0;
}
