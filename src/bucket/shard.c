/*
 * shard.c - the live buckets of one shard: a hash table keyed by bucket key,
 * a binary min-heap of timer deadlines (one per bucket: its idle death, or a
 * counter's fixed end), and per-scenario LRU lists that let the caps evict
 * the buckets poured least recently. Nothing here runs expressions.
 */
#include "common/common.h"

#include "bucket/internal.h"

#define NO_HEAP SIZE_MAX

static void
free_expiry(void *p)
{
    free(p);
}

struct bucket_shard *
bucket_shard_new(const struct bucket_set *s, const struct bucket_shard_options *opts)
{
    struct bucket_shard *sh = calloc(1, sizeof(*sh));
    size_t n = s->n ? s->n : 1;

    if (sh == NULL)
        return NULL;
    sh->set = s;
    if (opts != NULL)
        sh->opts = *opts;
    if (sh->opts.max_queue == 0)
        sh->opts.max_queue = BUCKET_MAX_QUEUE;
    sh->vm = expr_vm_new();
    sh->buckets = hashmap_new(NULL);
    sh->lru = calloc(n, sizeof(*sh->lru));
    sh->blackholes = calloc(n, sizeof(*sh->blackholes));
    sh->bh_purge_at = calloc(n, sizeof(*sh->bh_purge_at));
    if (sh->vm == NULL || sh->buckets == NULL || sh->lru == NULL || sh->blackholes == NULL ||
        sh->bh_purge_at == NULL) {
        bucket_shard_free(sh);
        return NULL;
    }
    return sh;
}

void
bucket_shard_free(struct bucket_shard *sh)
{
    if (sh == NULL)
        return;
    if (sh->lru != NULL) {
        for (size_t i = 0; i < (sh->set->n ? sh->set->n : 1); i++) {
            struct bucket *b = sh->lru[i].head;
            while (b != NULL) {
                struct bucket *next = b->lru_next;
                bucket_free(b);
                b = next;
            }
        }
    }
    if (sh->blackholes != NULL)
        for (size_t i = 0; i < (sh->set->n ? sh->set->n : 1); i++)
            hashmap_free(sh->blackholes[i]);
    free(sh->blackholes);
    free(sh->bh_purge_at);
    free(sh->lru);
    free(sh->heap);
    hashmap_free(sh->buckets);
    expr_vm_free(sh->vm);
    free(sh);
}

struct gotime
shard_now(const struct bucket_shard *sh)
{
    return sh->opts.now != NULL ? sh->opts.now() : gotime_now();
}

struct bucket *
shard_lookup(struct bucket_shard *sh, const char *key)
{
    return hashmap_get(sh->buckets, key, 40);
}

/* --- timer heap --- */

static void
heap_swap(struct bucket_shard *sh, size_t i, size_t j)
{
    struct bucket *t = sh->heap[i];

    sh->heap[i] = sh->heap[j];
    sh->heap[j] = t;
    sh->heap[i]->heap_idx = i;
    sh->heap[j]->heap_idx = j;
}

static void
heap_up(struct bucket_shard *sh, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (sh->heap[p]->due_ns <= sh->heap[i]->due_ns)
            break;
        heap_swap(sh, i, p);
        i = p;
    }
}

static void
heap_down(struct bucket_shard *sh, size_t i)
{
    while (true) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < sh->nheap && sh->heap[l]->due_ns < sh->heap[m]->due_ns)
            m = l;
        if (r < sh->nheap && sh->heap[r]->due_ns < sh->heap[m]->due_ns)
            m = r;
        if (m == i)
            break;
        heap_swap(sh, i, m);
        i = m;
    }
}

static void
heap_remove(struct bucket_shard *sh, struct bucket *b)
{
    size_t i = b->heap_idx;

    if (i == NO_HEAP)
        return;
    sh->nheap--;
    if (i != sh->nheap) {
        sh->heap[i] = sh->heap[sh->nheap];
        sh->heap[i]->heap_idx = i;
        heap_down(sh, i);
        heap_up(sh, i);
    }
    b->heap_idx = NO_HEAP;
}

/* Room for every live bucket is reserved at insert, so this cannot fail. */
void
shard_timer_set(struct bucket_shard *sh, struct bucket *b, int64_t due_ns)
{
    b->due_ns = due_ns;
    if (b->heap_idx == NO_HEAP) {
        b->heap_idx = sh->nheap;
        sh->heap[sh->nheap++] = b;
        heap_up(sh, b->heap_idx);
        return;
    }
    heap_down(sh, b->heap_idx);
    heap_up(sh, b->heap_idx);
}

struct bucket *
shard_timer_min(struct bucket_shard *sh)
{
    return sh->nheap > 0 ? sh->heap[0] : NULL;
}

/* --- LRU --- */

static void
lru_unlink(struct lru_list *l, struct bucket *b)
{
    if (b->lru_prev != NULL)
        b->lru_prev->lru_next = b->lru_next;
    else
        l->head = b->lru_next;
    if (b->lru_next != NULL)
        b->lru_next->lru_prev = b->lru_prev;
    else
        l->tail = b->lru_prev;
    b->lru_prev = b->lru_next = NULL;
    l->len--;
}

static void
lru_append(struct lru_list *l, struct bucket *b)
{
    b->lru_prev = l->tail;
    b->lru_next = NULL;
    if (l->tail != NULL)
        l->tail->lru_next = b;
    else
        l->head = b;
    l->tail = b;
    l->len++;
}

void
shard_touch(struct bucket_shard *sh, struct bucket *b)
{
    struct lru_list *l = &sh->lru[b->scenario_idx];

    b->touched = ++sh->touch_seq;
    if (l->tail == b)
        return;
    lru_unlink(l, b);
    lru_append(l, b);
}

int
shard_insert(struct bucket_shard *sh, struct bucket *b)
{
    if (sh->nheap == sh->heapcap) {
        size_t ncap = sh->heapcap ? sh->heapcap * 2 : 64;
        struct bucket **h = realloc(sh->heap, ncap * sizeof(*h));
        if (h == NULL)
            return -ENOMEM;
        sh->heap = h;
        sh->heapcap = ncap;
    }
    if (hashmap_put(sh->buckets, b->key, 40, b) < 0)
        return -ENOMEM;
    b->heap_idx = NO_HEAP;
    b->touched = ++sh->touch_seq;
    lru_append(&sh->lru[b->scenario_idx], b);
    sh->stats.live++;
    sh->stats.instantiated++;
    return 0;
}

void
shard_remove(struct bucket_shard *sh, struct bucket *b)
{
    heap_remove(sh, b);
    lru_unlink(&sh->lru[b->scenario_idx], b);
    (void)hashmap_remove(sh->buckets, b->key, 40);
    sh->stats.live--;
    bucket_free(b);
}

void
shard_make_room(struct bucket_shard *sh, uint32_t idx)
{
    size_t per = sh->opts.max_buckets_per_scenario, max = sh->opts.max_buckets;

    while (per > 0 && sh->lru[idx].len >= per && sh->lru[idx].head != NULL)
        bucket_end(sh, sh->lru[idx].head, BUCKET_EVICTED);
    while (max > 0 && sh->stats.live >= max) {
        struct bucket *oldest = NULL;
        for (size_t i = 0; i < sh->set->n; i++) {
            struct bucket *h = sh->lru[i].head;
            if (h != NULL && (oldest == NULL || h->touched < oldest->touched))
                oldest = h;
        }
        if (oldest == NULL)
            break;
        bucket_end(sh, oldest, BUCKET_EVICTED);
    }
}

/* --- blackhole: per scenario, key -> expiry --- */

int
shard_blackholed(struct bucket_shard *sh, uint32_t idx, const char *key, int64_t ovflw_ns,
                 int64_t duration_ns)
{
    struct hashmap *m = sh->blackholes[idx];
    int64_t *exp;

    if (m == NULL) {
        if ((m = sh->blackholes[idx] = hashmap_new(free_expiry)) == NULL)
            return -ENOMEM;
        sh->bh_purge_at[idx] = 64;
    }
    exp = hashmap_get(m, key, 40);
    if (exp != NULL && *exp > ovflw_ns)
        return 1;
    /* CrowdSec drops expired entries at each overflow; we do it when the map has doubled. */
    if (hashmap_len(m) >= sh->bh_purge_at[idx]) {
        size_t iter = 0, keylen, n = 0;
        const void *k;
        void *v;
        char(*dead)[40] = calloc(hashmap_len(m), 40);
        if (dead != NULL) {
            while (hashmap_next(m, &iter, &k, &keylen, &v))
                if (*(int64_t *)v <= ovflw_ns && keylen == 40)
                    memcpy(dead[n++], k, 40);
            for (size_t i = 0; i < n; i++)
                (void)hashmap_remove(m, dead[i], 40);
            free(dead);
        }
        sh->bh_purge_at[idx] = hashmap_len(m) * 2 > 64 ? hashmap_len(m) * 2 : 64;
    }
    if ((exp = malloc(sizeof(*exp))) == NULL)
        return -ENOMEM;
    *exp = duration_ns > INT64_MAX - ovflw_ns ? INT64_MAX : ovflw_ns + duration_ns;
    if (hashmap_put(m, key, 40, exp) < 0)
        return -ENOMEM;
    return 0;
}

void
bucket_shard_stats(const struct bucket_shard *sh, struct bucket_stats *ret)
{
    *ret = sh->stats;
}

void
bucket_shard_foreach(const struct bucket_shard *sh, void (*fn)(void *ctx, const struct leaky *l),
                     void *ctx)
{
    for (size_t i = 0; i < sh->set->n; i++)
        for (const struct bucket *b = sh->lru[i].head; b != NULL; b = b->lru_next)
            fn(ctx, &b->leaky);
}
