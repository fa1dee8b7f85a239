/*
 * ratelimit.c - per-client token buckets for the unauthenticated endpoints
 * that cost the server a bcrypt or a row (login, registration), so one
 * address cannot guess passwords or fill the machines table at line rate.
 *
 * The table has a fixed number of sets of a few entries each; an address
 * hashes to a set and, when new, takes the entry of that set that was seen
 * least recently. Memory is constant whatever the number of clients; an
 * attacker spraying addresses only evicts buckets, which then start full,
 * the same as a fresh client.
 */
#include "lapi/internal.h"

#define RL_SETS    1024
#define RL_WAYS    8
#define NS_PER_MIN INT64_C(60000000000)

struct rl_entry {
    struct ip_addr ip;
    int64_t last_ns;   /* last refill; 0 = free entry */
    int64_t tokens_ns; /* tokens scaled by NS_PER_MIN so refills stay integral */
};

struct lapi_ratelimit {
    pthread_mutex_t mu;
    int64_t burst;      /* tokens */
    int64_t per_minute; /* tokens added per minute */
    struct rl_entry e[RL_SETS][RL_WAYS];
};

struct lapi_ratelimit *
lapi_ratelimit_new(unsigned burst, unsigned per_minute)
{
    struct lapi_ratelimit *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return NULL;
    if (pthread_mutex_init(&rl->mu, NULL) != 0) {
        free(rl);
        return NULL;
    }
    /* Bounded so that burst * NS_PER_MIN and the refill products fit in int64. */
    rl->burst = burst == 0 ? 1 : burst > 1000000 ? 1000000 : burst;
    rl->per_minute = per_minute > 1000000 ? 1000000 : per_minute;
    return rl;
}

void
lapi_ratelimit_free(struct lapi_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

/* FNV-1a over the family and the 16 bytes. */
static size_t
ip_hash(const struct ip_addr *ip)
{
    uint64_t h = UINT64_C(1469598103934665603);
    h = (h ^ ip->family) * UINT64_C(1099511628211);
    for (size_t i = 0; i < sizeof(ip->bytes); i++)
        h = (h ^ ip->bytes[i]) * UINT64_C(1099511628211);
    return (size_t)(h ^ (h >> 32));
}

bool
lapi_ratelimit_allow(struct lapi_ratelimit *rl, const struct ip_addr *ip, int64_t now_ns)
{
    struct rl_entry *set, *hit = NULL, *oldest = NULL;
    const int64_t full = rl->burst * NS_PER_MIN;
    bool ok;

    if (now_ns <= 0)
        now_ns = 1;
    pthread_mutex_lock(&rl->mu);
    set = rl->e[ip_hash(ip) % RL_SETS];
    for (size_t i = 0; i < RL_WAYS; i++) {
        struct rl_entry *e = &set[i];
        if (e->last_ns != 0 && e->ip.family == ip->family &&
            memcmp(e->ip.bytes, ip->bytes, sizeof(ip->bytes)) == 0) {
            hit = e;
            break;
        }
        if (oldest == NULL || e->last_ns < oldest->last_ns)
            oldest = e;
    }
    if (hit == NULL) {
        hit = oldest;
        hit->ip = *ip;
        hit->last_ns = now_ns;
        hit->tokens_ns = full;
    } else if (now_ns > hit->last_ns) {
        /* elapsed ns * tokens per minute = tokens scaled by NS_PER_MIN; capped before overflow */
        int64_t elapsed = now_ns - hit->last_ns;
        if (rl->per_minute > 0 && elapsed > full / rl->per_minute)
            hit->tokens_ns = full;
        else
            hit->tokens_ns += elapsed * rl->per_minute;
        if (hit->tokens_ns > full)
            hit->tokens_ns = full;
        hit->last_ns = now_ns;
    }
    ok = hit->tokens_ns >= NS_PER_MIN;
    if (ok)
        hit->tokens_ns -= NS_PER_MIN;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
