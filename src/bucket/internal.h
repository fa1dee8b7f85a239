/*
 * internal.h - what the files of src/bucket share: the compiled scenario, the
 * live bucket, the shard, and the small pieces of arithmetic (limiter,
 * bayesian update, bucket key) kept apart so tests can check them alone.
 */
#ifndef PHALANX_BUCKET_INTERNAL_H
#define PHALANX_BUCKET_INTERNAL_H

#include "bucket/bucket.h"
#include "common/hashmap.h"
#include "exprenv/exprenv.h"

enum bucket_type { BTYPE_LEAKY, BTYPE_TRIGGER, BTYPE_COUNTER, BTYPE_CONDITIONAL, BTYPE_BAYESIAN };

struct bayes_cond {
    struct expr_program *condition; /* condition context: evt, queue, leaky */
    float prob_given_evil;
    float prob_given_benign;
    bool guillotine;
};

/* An event map member read without the vm (guard.c): evt.Meta.key, evt.Parsed.key... */
enum { EVT_MAP_META, EVT_MAP_PARSED, EVT_MAP_ENRICHED };
struct evt_member {
    int map;   /* EVT_MAP_*; key NULL = none */
    char *key; /* owned */
    size_t keylen;
};

/*
 * A prefilter (guard.c), from a scenario filter's first conjunct: kind
 * EXPR_SHAPE_IN (the member idx[0] must be one of values) or EXPR_SHAPE_EMPTY
 * (one of the members idx[] must be non-empty). Scenarios with the same test
 * share one guard (17 of Debian's open with the same log_type test), so an
 * event checks each once.
 */
struct scen_guard {
    int kind;
    uint8_t idx[EXPR_SHAPE_MAX_MEMBERS]; /* into bucket_set.gm */
    size_t nidx;
    struct expr_shape_value *values; /* owned */
    size_t nvalues;
};
#define BUCKET_GUARD_MEMBERS 32 /* distinct members over the guards of a set */
#define BUCKET_GUARDS        64 /* distinct guards of a set */

/* One scenario (CrowdSec's BucketFactory), immutable after load. */
struct scenario {
    struct bucket_factory factory; /* Spec, Filename... as expressions see them */
    int type;                      /* enum bucket_type */
    int64_t leakspeed_ns, duration_ns, blackhole_ns;
    int64_t lifetime_ns; /* Leaky.Duration: idle death (or the counter's fixed timer) */
    int64_t qsize;       /* queue bound: -1 = unbounded */
    struct expr_program *filter, *groupby, *distinct, *cancel_on, *condition, *overflow_filter;
    struct expr_program *scope_expr;
    char *scope_type; /* "Ip" by default */
    struct bayes_cond *bayes;
    size_t nbayes;
    float prior, threshold;
    bool remediation;
    /*
     * The queue holds references to the poured events rather than copies: no
     * expression that reads queued events (condition, bayesian conditions,
     * overflow_filter) calls a method, so none can write them.
     */
    bool share_events;
    char hash[65];
    int guard;        /* index into bucket_set.guards, -1 = none: the filter always runs */
    bool guard_exact; /* the filter is the guard's test alone: true when the guard passes */
    struct evt_member groupby_m, distinct_m; /* groupby / distinct that are one member */
};

struct bucket_set {
    struct scenario *sc;
    size_t n, cap;
    struct expr_env *env_scenario, *env_condition, *env_ovfl;
    struct evt_member gm[BUCKET_GUARD_MEMBERS]; /* what the guards read, once per event */
    size_t ngm;
    struct scen_guard guards[BUCKET_GUARDS];
    size_t nguards;
    /* A filter or groupby calls a method (evt.SetMeta may write what gm reads): reread gm after
     * each evaluation. */
    bool writes_event;
};

/* guard.c */
/* Fills sc's guard and direct members (sc->filter etc. compiled). 0 or -ENOMEM. */
int scenario_guard_init(struct bucket_set *set, struct scenario *sc);
void scenario_guard_clear(struct scenario *sc);
/* Frees the set's guards and members. */
void bucket_set_guards_clear(struct bucket_set *set);
/* The member's value in evt ("" when missing), as evt.Meta.key reads it. */
struct strv evt_member_value(const struct event *evt, const struct evt_member *m);
/* Whether guard g passes given the values of set->gm (vals[i] for gm[i]); when it does not,
 * the filters it guards are false. */
bool bucket_guard_passes(const struct scen_guard *g, const struct strv *vals);

/* x/time/rate's Limiter as CrowdSec uses it (burst = capacity, one token per leakspeed). */
struct limiter {
    double tokens;
    int64_t last_ns;
    bool used; /* the zero Limiter: its first call finds it full */
};
/* AllowN(t, 1); leakspeed_ns > 0, burst > 0. */
bool limiter_allow(struct limiter *l, int64_t now_ns, int64_t leakspeed_ns, int64_t burst);
/* Tokens at t without taking one (GetTokensCountAt). */
double limiter_tokens_at(const struct limiter *l, int64_t now_ns, int64_t leakspeed_ns,
                         int64_t burst);

/* updateProbability, in float32 as CrowdSec computes it. */
float bayes_update(float prior, float prob_given_evil, float prob_given_benign);

/* Hex SHA-1 of filter 0x00 groupby 0x00 name into out (41 bytes). 0 or -ENOMEM. */
int bucket_key(const char *filter, const char *groupby, size_t groupbylen, const char *name,
               char out[41]);
/* Hex SHA-256 of a buffer into out (65 bytes). */
int bucket_sha256_hex(const void *buf, size_t len, char out[65]);

/* A live bucket (CrowdSec's Leaky). */
struct bucket {
    struct leaky leaky; /* what condition/overflow_filter expressions read */
    struct queue queue;
    const struct scenario *sc;
    uint32_t scenario_idx;
    char key[41];
    struct limiter lim;
    struct hashmap *seen; /* distinct values already poured; NULL without distinct */
    bool *guillotine;     /* per bayesian condition */
    bool timer_started;
    int64_t due_ns;                     /* timer deadline (fires when due_ns <= now) */
    size_t heap_idx;                    /* position in the shard's timer heap */
    struct bucket *lru_prev, *lru_next; /* per-scenario list, least recently poured first */
    uint64_t touched;                   /* shard's pour sequence number at the last pour */
    bool has_first;                     /* First_ts set */
};

struct lru_list {
    struct bucket *head, *tail;
    size_t len;
};

struct bucket_shard {
    const struct bucket_set *set;
    struct bucket_shard_options opts;
    struct expr_vm *vm;
    struct hashmap *buckets; /* key -> struct bucket */
    struct bucket **heap;    /* min-heap on due_ns */
    size_t nheap, heapcap;
    struct lru_list *lru;        /* one per scenario */
    struct hashmap **blackholes; /* one per scenario: key -> expiry (int64_t *), NULL = none yet */
    size_t *bh_purge_at;         /* purge expired blackhole entries when the map reaches this */
    struct bucket_stats stats;
    uint64_t touch_seq;
    struct {
        char text[64];
        size_t len; /* 0 = nothing remembered */
        struct gotime t;
    } last_time; /* the MarshaledTime parsed last (pour_time) */
};

/* shard.c: the table, the timers and the caps. */
struct bucket *shard_lookup(struct bucket_shard *sh, const char *key);
int shard_insert(struct bucket_shard *sh, struct bucket *b);
/* Unlinks b from every index and frees it. */
void shard_remove(struct bucket_shard *sh, struct bucket *b);
void shard_timer_set(struct bucket_shard *sh, struct bucket *b, int64_t due_ns);
void shard_touch(struct bucket_shard *sh, struct bucket *b); /* most recently poured */
/* Evicts idle buckets while a new one of scenario idx would exceed a cap. */
void shard_make_room(struct bucket_shard *sh, uint32_t idx);
/* The bucket with the earliest timer, or NULL. */
struct bucket *shard_timer_min(struct bucket_shard *sh);
struct gotime shard_now(const struct bucket_shard *sh);
/* 1 if key overflowed in scenario idx less than its blackhole ago, else 0 after recording this
 * overflow; -ENOMEM. */
int shard_blackholed(struct bucket_shard *sh, uint32_t idx, const char *key, int64_t ovflw_ns,
                     int64_t duration_ns);

/* pour.c */
struct bucket *bucket_new(struct bucket_shard *sh, uint32_t idx, const char *key);
void bucket_free(struct bucket *b);
/* Ends b: builds and emits the overflow or notice, then removes b. */
void bucket_end(struct bucket_shard *sh, struct bucket *b, int end);

/* alert.c: the RuntimeAlert of an overflow (CrowdSec's NewAlert). 0, -1 (no alert: bad or mixed
 * sources; the RuntimeAlert then holds only Mapkey) or -ENOMEM. */
int bucket_build_alert(struct bucket_shard *sh, struct bucket *b, struct runtime_alert *ret);
/* The alert message ("Ip 1.2.3.4 performed 'x' (2 events over 5s) at 2020-01-01 ...") */
int bucket_alert_message(const char *scope, const char *source, const char *name, int64_t count,
                         struct gotime first, struct gotime ovflw, struct gotime last, char **ret);

/* load.c helpers */
void scenario_clear(struct scenario *sc);

#endif
