/*
 * enrich_dns.c - the reverse_dns enricher (CrowdSec's
 * pkg/parser/enrich_dns.go over pkg/dnscache).
 *
 * CrowdSec resolves the PTR synchronously with a 3 s deadline, caches every
 * answer in an LRU (16384 entries; 1 h for a name, 5 min for a failure,
 * a timeout included) and lets concurrent callers for one address share a
 * single lookup. We do the same, observably: a lookup runs on one of a few
 * resolver threads (getnameinfo cannot be given a deadline), and the caller
 * waits for it at most the timeout. A caller that gives up caches the
 * failure, as CrowdSec's cancelled lookup does, and the late answer is
 * dropped. So a slow resolver costs one parser thread at most 3 s per
 * address per 5 min, never more; a full job queue answers "no name" at once
 * without caching.
 *
 * The name is Go's first PTR answer: absDomainName() adds the trailing dot to
 * names that contain a dot ("one.one.one.one.") but not to single labels
 * from /etc/hosts ("localhost"), and LookupAddr's presentation-format check
 * (isDomainName) turns a malformed answer into a failure.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "common/common.h"

#include "parser/enrich_internal.h"

#define RDNS_THREADS       4
#define RDNS_QUEUE_MAX     256
#define RDNS_NAME_MAX      256
#define RDNS_DEFAULT_TTL   (3600 * INT64_C(1000))
#define RDNS_DEFAULT_NEG   (300 * INT64_C(1000))
#define RDNS_DEFAULT_WAIT  (3 * INT64_C(1000))
#define RDNS_DEFAULT_CACHE 16384

struct rdns_entry {
    struct ip_addr addr;
    uint64_t id;              /* generation: a late answer for an older lookup is dropped */
    bool pending;             /* a resolver thread owns the lookup */
    int64_t started_ms;       /* pending: when the lookup was queued */
    int64_t expires_ms;       /* done: cache deadline */
    char name[RDNS_NAME_MAX]; /* "" = no name */
    struct rdns_entry *hnext; /* hash chain */
    struct rdns_entry *lru_prev, *lru_next; /* most recent at the head */
};

struct rdns_job {
    struct ip_addr addr;
    uint64_t id;
};

struct enrich_rdns {
    struct enrich_rdns_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t done; /* an entry left the pending state */
    pthread_cond_t work; /* a job was queued, or stop */
    struct rdns_entry **buckets;
    size_t nbuckets, nentries;
    struct rdns_entry *lru_head, *lru_tail;
    struct rdns_job queue[RDNS_QUEUE_MAX];
    size_t qhead, qlen;
    pthread_t threads[RDNS_THREADS];
    size_t nthreads;
    bool stop;
    uint64_t next_id, calls;
};

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Go's isDomainName (net/dnsclient.go). */
static bool
rdns_is_domain_name(const char *s, size_t l)
{
    if (l == 1 && s[0] == '.')
        return true;
    if (l == 0 || l > 254 || (l == 254 && s[l - 1] != '.'))
        return false;
    char last = '.';
    bool non_numeric = false;
    size_t partlen = 0;
    for (size_t i = 0; i < l; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            non_numeric = true;
            partlen++;
        } else if (c >= '0' && c <= '9') {
            partlen++;
        } else if (c == '-') {
            if (last == '.')
                return false;
            partlen++;
            non_numeric = true;
        } else if (c == '.') {
            if (last == '.' || last == '-' || partlen > 63 || partlen == 0)
                return false;
            partlen = 0;
        } else {
            return false;
        }
        last = c;
    }
    return last != '-' && partlen <= 63 && non_numeric;
}

/* getnameinfo() with NI_NAMEREQD: the system's first name for the address (hosts, then DNS). */
static int
rdns_system_resolve(void *userdata, const struct ip_addr *addr, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    if (addr->family == IP_V4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, addr->bytes + 12, 4);
        sl = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, addr->bytes, 16);
        sl = sizeof(*sin6);
    }
    if (getnameinfo((struct sockaddr *)&ss, sl, buf, (socklen_t)size, NULL, 0, NI_NAMEREQD) != 0)
        return -1;
    return 0;
}

/* absDomainName plus LookupAddr's validity check; false when Go would report no name. */
static bool
rdns_go_name(char *name, size_t size)
{
    size_t l = strnlen(name, size);
    if (l == size)
        return false;
    if (memchr(name, '.', l) && name[l - 1] != '.') {
        if (l + 2 > size)
            return false;
        name[l++] = '.';
        name[l] = '\0';
    }
    return rdns_is_domain_name(name, l);
}

static size_t
rdns_bucket(const struct enrich_rdns *r, const struct ip_addr *a)
{
    uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */
    h = (h ^ a->family) * UINT64_C(1099511628211);
    for (size_t i = 0; i < 16; i++)
        h = (h ^ a->bytes[i]) * UINT64_C(1099511628211);
    return (size_t)(h % r->nbuckets);
}

static struct rdns_entry *
rdns_find(const struct enrich_rdns *r, const struct ip_addr *a)
{
    for (struct rdns_entry *e = r->buckets[rdns_bucket(r, a)]; e; e = e->hnext)
        if (e->addr.family == a->family && memcmp(e->addr.bytes, a->bytes, 16) == 0)
            return e;
    return NULL;
}

static void
lru_unlink(struct enrich_rdns *r, struct rdns_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        r->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        r->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void
lru_push_front(struct enrich_rdns *r, struct rdns_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = r->lru_head;
    if (r->lru_head)
        r->lru_head->lru_prev = e;
    r->lru_head = e;
    if (!r->lru_tail)
        r->lru_tail = e;
}

static void
rdns_remove(struct enrich_rdns *r, struct rdns_entry *e)
{
    struct rdns_entry **pp = &r->buckets[rdns_bucket(r, &e->addr)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(r, e);
    r->nentries--;
    free(e);
}

static void *
rdns_worker(void *arg)
{
    struct enrich_rdns *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->stop && r->qlen == 0)
            pthread_cond_wait(&r->work, &r->lock);
        if (r->stop)
            break;
        struct rdns_job job = r->queue[r->qhead];
        r->qhead = (r->qhead + 1) % RDNS_QUEUE_MAX;
        r->qlen--;
        r->calls++;
        pthread_mutex_unlock(&r->lock);

        char name[RDNS_NAME_MAX];
        name[0] = '\0';
        bool ok = r->cfg.resolve(r->cfg.userdata, &job.addr, name, sizeof(name)) == 0 &&
                  rdns_go_name(name, sizeof(name));

        pthread_mutex_lock(&r->lock);
        struct rdns_entry *e = rdns_find(r, &job.addr);
        /* Evicted, or its caller gave up (and cached the failure): drop the late answer. */
        if (e && e->pending && e->id == job.id) {
            e->pending = false;
            snprintf(e->name, sizeof(e->name), "%s", ok ? name : "");
            e->expires_ms = now_ms() + (ok ? r->cfg.positive_ttl_ms : r->cfg.negative_ttl_ms);
            pthread_cond_broadcast(&r->done);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

struct enrich_rdns *
enrich_rdns_new(const struct enrich_rdns_config *cfg)
{
    struct enrich_rdns *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (cfg)
        r->cfg = *cfg;
    if (!r->cfg.resolve)
        r->cfg.resolve = rdns_system_resolve;
    if (r->cfg.timeout_ms <= 0)
        r->cfg.timeout_ms = RDNS_DEFAULT_WAIT;
    if (r->cfg.positive_ttl_ms <= 0)
        r->cfg.positive_ttl_ms = RDNS_DEFAULT_TTL;
    if (r->cfg.negative_ttl_ms <= 0)
        r->cfg.negative_ttl_ms = RDNS_DEFAULT_NEG;
    if (r->cfg.max_entries == 0)
        r->cfg.max_entries = RDNS_DEFAULT_CACHE;
    r->nbuckets = r->cfg.max_entries < 64 ? 64 : r->cfg.max_entries;
    r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
    pthread_condattr_t ca;
    if (!r->buckets || pthread_condattr_init(&ca) != 0) {
        free(r->buckets);
        free(r);
        return NULL;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->done, &ca);
    pthread_cond_init(&r->work, NULL);
    pthread_condattr_destroy(&ca);
    return r;
}

/*
 * Stops the resolver threads; one stuck in getnameinfo is waited for (the
 * system resolver's own timeouts bound it).
 */
void
enrich_rdns_free(struct enrich_rdns *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_broadcast(&r->work);
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < r->nthreads; i++)
        pthread_join(r->threads[i], NULL);
    for (size_t i = 0; i < r->nbuckets; i++) {
        struct rdns_entry *e = r->buckets[i];
        while (e) {
            struct rdns_entry *next = e->hnext;
            free(e);
            e = next;
        }
    }
    free(r->buckets);
    pthread_cond_destroy(&r->done);
    pthread_cond_destroy(&r->work);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

uint64_t
enrich_rdns_resolver_calls(const struct enrich_ctx *ctx)
{
    struct enrich_rdns *r = ctx->rdns;
    pthread_mutex_lock(&r->lock);
    uint64_t n = r->calls;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* Starts the resolver threads on first use (locked). */
static void
rdns_start(struct enrich_rdns *r)
{
    while (r->nthreads < RDNS_THREADS) {
        if (pthread_create(&r->threads[r->nthreads], NULL, rdns_worker, r) != 0)
            break;
        r->nthreads++;
    }
}

/* A new pending entry for addr with its job queued (locked); NULL when it cannot be. */
static struct rdns_entry *
rdns_begin(struct enrich_rdns *r, const struct ip_addr *addr, int64_t now)
{
    if (r->nthreads == 0)
        rdns_start(r);
    if (r->nthreads == 0 || r->qlen == RDNS_QUEUE_MAX)
        return NULL;
    /* Bounded: evict the least recently used entry that no caller is waiting on. */
    for (struct rdns_entry *v = r->lru_tail; v && r->nentries >= r->cfg.max_entries;) {
        struct rdns_entry *prev = v->lru_prev;
        if (!v->pending)
            rdns_remove(r, v);
        v = prev;
    }
    if (r->nentries >= r->cfg.max_entries)
        return NULL;
    struct rdns_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->addr = *addr;
    e->pending = true;
    e->id = ++r->next_id;
    e->started_ms = now;
    size_t b = rdns_bucket(r, addr);
    e->hnext = r->buckets[b];
    r->buckets[b] = e;
    r->nentries++;
    lru_push_front(r, e);
    r->queue[(r->qhead + r->qlen) % RDNS_QUEUE_MAX] = (struct rdns_job){ *addr, e->id };
    r->qlen++;
    pthread_cond_signal(&r->work);
    return e;
}

/* The cached or freshly resolved name for addr into buf ("" = none). */
static void
rdns_lookup(struct enrich_rdns *r, const struct ip_addr *addr, char *buf, size_t size)
{
    buf[0] = '\0';
    pthread_mutex_lock(&r->lock);
    int64_t now = now_ms();
    struct rdns_entry *e = rdns_find(r, addr);
    if (e && !e->pending && e->expires_ms <= now) {
        rdns_remove(r, e);
        e = NULL;
    }
    if (!e)
        e = rdns_begin(r, addr, now);
    if (!e)
        goto out;
    lru_unlink(r, e);
    lru_push_front(r, e);
    uint64_t id = e->id;
    while (e && e->pending && e->id == id) {
        int64_t deadline = e->started_ms + r->cfg.timeout_ms;
        if (now >= deadline) {
            /* CrowdSec's lookup context expired: the failure is cached. */
            e->pending = false;
            e->name[0] = '\0';
            e->expires_ms = now + r->cfg.negative_ttl_ms;
            break;
        }
        struct timespec ts = { .tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000 };
        pthread_cond_timedwait(&r->done, &r->lock, &ts);
        now = now_ms();
        e = rdns_find(r, addr);
    }
    if (e && !e->pending)
        snprintf(buf, size, "%s", e->name);
out:
    pthread_mutex_unlock(&r->lock);
}

int
enrich_reverse_dns(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt)
{
    struct ip_addr addr;
    char name[RDNS_NAME_MAX];

    /* netip.ParseAddr: junk is not an error, just no enrichment. */
    if (len == 0 || ip_parse(input, len, &addr) < 0)
        return 0;
    rdns_lookup(ctx->rdns, &addr, name, sizeof(name));
    if (!name[0])
        return 0;
    return event_set_enriched(evt, "reverse_dns", name);
}
