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

static bool
key_eq(const struct strmap_entry *e, const char *key, size_t keylen)
{
    return e->key.len == keylen && memcmp(e->key.ptr, key, keylen) == 0;
}

/* Returns the entry index of key or -1. */
static ptrdiff_t
strmap_find(const struct strmap *m, const char *key, size_t keylen)
{
    if (m->index == NULL) {
        for (size_t i = 0; i < m->len; i++) {
            if (key_eq(&m->entries[i], key, keylen))
                return (ptrdiff_t)i;
        }
        return -1;
    }
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

const struct strv *
strmap_get(const struct strmap *m, const char *key, size_t keylen)
{
    ptrdiff_t i = strmap_find(m, key, keylen);

    return i < 0 ? NULL : &m->entries[i].value;
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
