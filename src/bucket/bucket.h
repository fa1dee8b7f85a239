/*
 * bucket.h - CrowdSec scenarios (pkg/leakybucket): leaky buckets that turn
 * parsed events into overflows, and overflows into CrowdSec alerts.
 *
 * Two objects:
 *   struct bucket_set    the scenarios, loaded once from YAML (strict keys,
 *                        errors naming file, line and key) with every
 *                        expression compiled; read-only, shared by threads.
 *   struct bucket_shard  the live buckets of one shard: a hash table keyed by
 *                        bucket key, a min-heap of timers (idle deaths,
 *                        counters) and LRU lists for the caps. One thread at a
 *                        time; no thread per bucket.
 *
 * Pouring an event is two steps so a pipeline can shard by bucket key:
 * bucket_match() runs every scenario's filter and groupby (any thread, its own
 * expr_vm) and names the buckets; bucket_pour_target() pours into one of them
 * in the shard that owns the key. bucket_pour() does both in one shard.
 *
 * Time: in BUCKET_REPLAY every timestamp is the event's MarshaledTime
 * (events without one are refused) and the shard's timers run on event time:
 * a pour first fires what is due at the event's time, and bucket_advance()
 * fires what is due at a given time (call it at the end of a replay to flush).
 * In BUCKET_LIVE timestamps come from the clock and the caller calls
 * bucket_advance(now) periodically.
 *
 * Every end of a bucket is reported through the shard's emit callback, as
 * CrowdSec sends it on its overflow channel: an overflow (an OVFLW event whose
 * Overflow is the RuntimeAlert with one API alert per source), or a "bucket
 * dead" notice (Overflow.Alert == NULL, Mapkey set) for an underflow, a
 * cancel_on, an overflow discarded by overflow_filter or blackhole, or an
 * eviction. The callback must not pour into the same shard; an overflow with
 * Overflow.reprocess set is the caller's to pour again later.
 */
#ifndef PHALANX_BUCKET_H
#define PHALANX_BUCKET_H

#include "common/common.h"
#include "common/gotime.h"
#include "expr/expr.h"
#include "model/model.h"

struct bucket_set;
struct bucket_shard;

struct bucket_error {
    char file[512];
    int line; /* 1-based, 0 if unknown */
    char message[512];
};

/* One scenario file. */
struct bucket_file {
    const char *path;
    const char *version; /* the hub index's version of the item; NULL = the YAML `version` */
};

struct bucket_options {
    const char *data_dir; /* where `data:` files are; NULL = they are not loaded */
    bool simulation;      /* simulation.yaml `simulation` */
    const char *const
        *exclusions; /* simulation.yaml `exclusions` (simulated = simulation XOR listed) */
    size_t nexclusions;
};

/*
 * Loads the files in order (each a multi-document YAML stream; a document is
 * one scenario). scenario_hash is the SHA-256 of each file's bytes. Returns
 * NULL and fills err on the first error.
 */
struct bucket_set *bucket_set_load(const struct bucket_file *files, size_t n,
                                   const struct bucket_options *opts, struct bucket_error *err);
/* The same from one YAML text (name is used in errors and as Filename). */
struct bucket_set *bucket_set_load_buffer(const char *name, const char *buf, size_t len,
                                          const char *version, const struct bucket_options *opts,
                                          struct bucket_error *err);
void bucket_set_free(struct bucket_set *s);
size_t bucket_set_count(const struct bucket_set *s);
/* The i-th scenario in load order (Spec, Filename, Simulated as expressions see them). */
const struct bucket_factory *bucket_set_factory(const struct bucket_set *s, size_t i);
/* Its scenario_hash (64 hex digits) and the version its alerts carry. */
const char *bucket_set_hash(const struct bucket_set *s, size_t i);

/* --- shards --- */

enum bucket_clock { BUCKET_LIVE, BUCKET_REPLAY };

enum bucket_end {
    BUCKET_OVERFLOW,  /* an alert (Overflow.Alert may still be NULL if no source was valid) */
    BUCKET_UNDERFLOW, /* idle death: no pour for the bucket's lifetime */
    BUCKET_CANCELED,  /* cancel_on matched */
    BUCKET_DISCARDED, /* overflow dropped by overflow_filter or blackhole */
    BUCKET_EVICTED,   /* dropped by a cap on live buckets */
};

struct bucket_overflow {
    int end;                               /* enum bucket_end */
    const struct bucket_factory *scenario; /* the scenario */
    const struct leaky *leaky;             /* the bucket at its end (Mapkey, First_ts, counts) */
    const struct queue *queue;             /* events the alert was built from (overflows only) */
    /*
     * The OVFLW event: Overflow is the RuntimeAlert, MarshaledTime the
     * overflow time. Owned by the shard and freed after the callback unless
     * the callback takes it by setting evt to NULL.
     */
    struct event *evt;
};

struct bucket_shard_options {
    int clock;                  /* enum bucket_clock */
    struct gotime (*now)(void); /* live clock; NULL = gotime_now */
    void (*emit)(void *ctx, struct bucket_overflow *ov);
    void *ctx;
    size_t max_buckets;              /* live buckets in this shard; 0 = no cap */
    size_t max_buckets_per_scenario; /* live buckets of one scenario in this shard; 0 = no cap */
    size_t max_queue;                /* hard bound on a bucket's queue; 0 = BUCKET_MAX_QUEUE */
    /*
     * Emit only overflows (end BUCKET_OVERFLOW): the other ends are counted but build no
     * notice event and do not call emit. For a caller that ignores notices (the agent's
     * pipeline); dumps and hubtest want them.
     */
    bool overflows_only;
};
#define BUCKET_MAX_QUEUE 100000

struct bucket_shard *bucket_shard_new(const struct bucket_set *s,
                                      const struct bucket_shard_options *opts);
/* Frees the shard and its live buckets without emitting anything. */
void bucket_shard_free(struct bucket_shard *sh);

/* A bucket an event goes to: scenario index and key (hex SHA-1 of filter 0 groupby 0 name). */
struct bucket_target {
    uint32_t scenario;
    char key[41];
};

/*
 * Runs each scenario's filter and groupby on evt, in load order, writing the
 * buckets it goes to into ret (room for bucket_set_count() entries). Returns
 * 0, or -1 with a message in err when a filter or groupby fails (a run-time
 * error, a non-bool filter, a non-string groupby): as in CrowdSec the event is
 * then not poured into that scenario nor the ones after it, but *ret_n holds
 * the targets found before.
 */
int bucket_match(const struct bucket_set *s, struct expr_vm *vm, const struct event *evt,
                 struct bucket_target *ret, size_t *ret_n, char *err, size_t errlen);
/* Hash for choosing a shard from a target (stable within a process). */
uint64_t bucket_target_hash(const struct bucket_target *t);

/*
 * Pours evt (copied) into the target's bucket, creating it if needed.
 * Returns 1 if poured, 0 if refused (replay event without a valid
 * MarshaledTime, distinct duplicate), -ENOMEM.
 */
int bucket_pour_target(struct bucket_shard *sh, const struct bucket_target *t,
                       const struct event *evt);
/* bucket_match + bucket_pour_target for every target, in this shard: the number of buckets
 * poured, or -1 (match error, after pouring the targets before it; message in err) / -ENOMEM. */
int bucket_pour(struct bucket_shard *sh, const struct event *evt, char *err, size_t errlen);
/* Fires every timer due at now (counters, idle deaths). 0 or -ENOMEM. */
int bucket_advance(struct bucket_shard *sh, struct gotime now);

struct bucket_stats {
    uint64_t poured, refused, instantiated, overflows, underflows, canceled, discarded, evicted;
    uint64_t live; /* buckets alive now */
};
void bucket_shard_stats(const struct bucket_shard *sh, struct bucket_stats *ret);
/* Calls fn for every live bucket (for dumps); order unspecified. */
void bucket_shard_foreach(const struct bucket_shard *sh,
                          void (*fn)(void *ctx, const struct leaky *l), void *ctx);

#endif
