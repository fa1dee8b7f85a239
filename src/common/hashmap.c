/*
 * hashmap.c - Robin Hood open addressing keyed by SipHash-1-3.
 *
 * Each slot remembers how far it sits from its home slot. Insertion lets a
 * "poorer" entry (further from home) take the place of a "richer" one, which
 * keeps probe lengths short and lets a lookup stop as soon as it meets an entry
 * richer than the key it seeks. Deletion shifts the following run back by one
 * slot, so there are no tombstones and the table never degrades.
 *
 * The SipHash key is read once per process from getrandom(), so the layout of
 * a map fed attacker-chosen keys (IP addresses, user names) is not predictable.
 */
#include <pthread.h>
#include <sys/random.h>

#include "common/hashmap.h"

#define HASHMAP_MIN_CAP 8

struct hashmap_slot {
    char *key; /* owned copy; NULL marks an empty slot */
    size_t keylen;
    uint64_t hash;
    void *value;
    uint32_t dist; /* distance from the home slot */
};

struct hashmap {
    struct hashmap_slot *slots;
    size_t cap; /* power of two, or 0 before the first insertion */
    size_t len;
    void (*free_value)(void *value);
};

static uint64_t hashmap_sipkey[2];
static pthread_once_t hashmap_sipkey_once = PTHREAD_ONCE_INIT;

static void
hashmap_sipkey_init(void)
{
    unsigned char buf[16];
    size_t got = 0;
    /* getrandom() on a booted system blocks only until the pool is seeded. */
    for (int tries = 0; got < sizeof(buf) && tries < 64; tries++) {
        ssize_t n = getrandom(buf + got, sizeof(buf) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno != EINTR)
            break;
    }
    if (got < sizeof(buf))
        abort();
    memcpy(&hashmap_sipkey[0], buf, 8);
    memcpy(&hashmap_sipkey[1], buf + 8, 8);
}

static uint64_t
rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t
load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = rotl64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

/* SipHash-1-3: one compression round per word, three finalisation rounds. */
static uint64_t
siphash13(const void *data, size_t n, uint64_t k0, uint64_t k1)
{
    const unsigned char *p = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = (uint64_t)n << 56;
    size_t full = n & ~(size_t)7;

    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    switch (n & 7) {
    case 7: b |= (uint64_t)p[full + 6] << 48; /* fall through */
    case 6: b |= (uint64_t)p[full + 5] << 40; /* fall through */
    case 5: b |= (uint64_t)p[full + 4] << 32; /* fall through */
    case 4: b |= (uint64_t)p[full + 3] << 24; /* fall through */
    case 3: b |= (uint64_t)p[full + 2] << 16; /* fall through */
    case 2: b |= (uint64_t)p[full + 1] << 8;  /* fall through */
    case 1: b |= (uint64_t)p[full]; break;
    default: break;
    }
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
hash_bytes(const void *p, size_t n)
{
    pthread_once(&hashmap_sipkey_once, hashmap_sipkey_init);
    return siphash13(n ? p : "", n, hashmap_sipkey[0], hashmap_sipkey[1]);
}

struct hashmap *
hashmap_new(void (*free_value)(void *value))
{
    struct hashmap *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->free_value = free_value;
    return m;
}

void
hashmap_free(struct hashmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        free(m->slots[i].key);
        if (m->free_value)
            m->free_value(m->slots[i].value);
    }
    free(m->slots);
    free(m);
}

size_t
hashmap_len(const struct hashmap *m)
{
    return m ? m->len : 0;
}

/* Places an entry known to be absent; used by insertion and rehashing. */
static void
hashmap_place(struct hashmap_slot *slots, size_t cap, struct hashmap_slot e)
{
    size_t mask = cap - 1;
    size_t pos = e.hash & mask;
    e.dist = 0;
    for (;;) {
        struct hashmap_slot *s = &slots[pos];
        if (!s->key) {
            *s = e;
            return;
        }
        if (s->dist < e.dist) {
            struct hashmap_slot t = *s;
            *s = e;
            e = t;
        }
        pos = (pos + 1) & mask;
        e.dist++;
    }
}

static int
hashmap_grow(struct hashmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : HASHMAP_MIN_CAP;
    if (ncap > SIZE_MAX / sizeof(struct hashmap_slot))
        return -ENOMEM;
    struct hashmap_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            hashmap_place(ns, ncap, m->slots[i]);
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

/* Index of the slot holding key, or SIZE_MAX. */
static size_t
hashmap_find(const struct hashmap *m, const void *key, size_t keylen, uint64_t h)
{
    if (m->cap == 0)
        return SIZE_MAX;
    size_t mask = m->cap - 1;
    size_t pos = h & mask;
    for (uint32_t dist = 0;; dist++) {
        const struct hashmap_slot *s = &m->slots[pos];
        if (!s->key || s->dist < dist)
            return SIZE_MAX;
        if (s->hash == h && s->keylen == keylen &&
            (keylen == 0 || memcmp(s->key, key, keylen) == 0))
            return pos;
        pos = (pos + 1) & mask;
    }
}

int
hashmap_put(struct hashmap *m, const void *key, size_t keylen, void *value)
{
    uint64_t h = hash_bytes(key, keylen);
    size_t i = hashmap_find(m, key, keylen, h);
    if (i != SIZE_MAX) {
        void *oldv = m->slots[i].value;
        m->slots[i].value = value;
        if (m->free_value && oldv != value)
            m->free_value(oldv);
        return 0;
    }
    /* Keep the load under 7/8 so probe runs stay short. */
    if ((m->len + 1) * 8 > m->cap * 7) {
        int r = hashmap_grow(m);
        if (r < 0)
            return r;
    }
    if (keylen == SIZE_MAX)
        return -ENOMEM;
    char *k = malloc(keylen + 1);
    if (!k)
        return -ENOMEM;
    if (keylen)
        memcpy(k, key, keylen);
    k[keylen] = '\0';
    struct hashmap_slot e = { .key = k, .keylen = keylen, .hash = h, .value = value };
    hashmap_place(m->slots, m->cap, e);
    m->len++;
    return 0;
}

void *
hashmap_get(const struct hashmap *m, const void *key, size_t keylen)
{
    size_t i = hashmap_find(m, key, keylen, hash_bytes(key, keylen));
    return i == SIZE_MAX ? NULL : m->slots[i].value;
}

int
hashmap_remove(struct hashmap *m, const void *key, size_t keylen)
{
    size_t i = hashmap_find(m, key, keylen, hash_bytes(key, keylen));
    if (i == SIZE_MAX)
        return -ENOENT;
    free(m->slots[i].key);
    if (m->free_value)
        m->free_value(m->slots[i].value);

    /* Backward shift: pull the rest of the run one slot closer to home. */
    size_t mask = m->cap - 1;
    size_t next = (i + 1) & mask;
    while (m->slots[next].key && m->slots[next].dist > 0) {
        m->slots[i] = m->slots[next];
        m->slots[i].dist--;
        i = next;
        next = (next + 1) & mask;
    }
    m->slots[i] = (struct hashmap_slot){ 0 };
    m->len--;
    return 0;
}

bool
hashmap_next(const struct hashmap *m, size_t *iter, const void **ret_key, size_t *ret_keylen,
             void **ret_value)
{
    if (!m)
        return false;
    for (size_t i = *iter; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        if (ret_key)
            *ret_key = m->slots[i].key;
        if (ret_keylen)
            *ret_keylen = m->slots[i].keylen;
        if (ret_value)
            *ret_value = m->slots[i].value;
        *iter = i + 1;
        return true;
    }
    *iter = m->cap;
    return false;
}
