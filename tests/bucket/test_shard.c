/*
 * test_shard.c - a shard's behaviour over time: the L+1 queue rule with
 * cache_size, the alert built from an overflow (every field), blackhole
 * expiry, idle deaths and counters on event time (strict and inclusive
 * boundaries), refused events, caps with LRU eviction, and the live clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bucket/internal.h"
#include "common/common.h"

#define S 1000000000LL

struct got {
    struct event *evt[64];
    int end[64];
    size_t n;
};

static void
collect(void *ctx, struct bucket_overflow *ov)
{
    struct got *g = ctx;

    assert_true(g->n < ARRAY_SIZE(g->evt));
    g->end[g->n] = ov->end;
    g->evt[g->n++] = ov->evt;
    ov->evt = NULL;
}

static void
got_clear(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        event_free(g->evt[i]);
    g->n = 0;
}

static struct bucket_set *
load(const char *yaml, const char *version)
{
    struct bucket_error err;
    struct bucket_set *s =
        bucket_set_load_buffer("t.yaml", yaml, strlen(yaml), version, NULL, &err);

    if (s == NULL)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    return s;
}

/* An event from 2020-01-01T10:00:00Z + sec seconds (sec < 0: no MarshaledTime). */
static struct event *
ev(const char *ip, double sec, const char *k, const char *v)
{
    struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
    char ts[64];

    assert_non_null(e);
    assert_int_equal(event_set_meta(e, "source_ip", ip), 0);
    assert_int_equal(event_set_meta(e, "log_type", "x"), 0);
    if (k != NULL)
        assert_int_equal(event_set_meta(e, k, v), 0);
    if (sec >= 0) {
        struct gotime t = { 1577872800LL * S + (int64_t)(sec * 1e9), 0 };
        size_t n = gotime_format_rfc3339nano(t, ts, sizeof(ts));
        assert_int_equal(event_set_str(e, &e->marshaled_time, ts, n), 0);
    }
    return e;
}

static int
pour(struct bucket_shard *sh, struct event *e)
{
    char err[256];
    int rc = bucket_pour(sh, e, err, sizeof(err));

    event_free(e);
    return rc;
}

static void
test_queue_and_alert(void **state)
{
    static const char yaml[] = "type: leaky\nname: t/leaky\ndescription: d\n"
                               "filter: evt.Meta.log_type == 'x'\ngroupby: evt.Meta.source_ip\n"
                               "capacity: 5\ncache_size: 3\nleakspeed: 10s\n"
                               "labels:\n  remediation: true\n";
    struct bucket_set *s = load(yaml, "0.3");
    struct got g = { 0 };
    struct bucket_shard_options o = { .clock = BUCKET_REPLAY, .emit = collect, .ctx = &g };
    struct bucket_shard *sh = bucket_shard_new(s, &o);

    (void)state;
    assert_int_equal(pour(sh, ev("1.2.3.4", 0, NULL, NULL)), 1);
    for (int i = 0; i < 5; i++) {
        char v[8];
        snprintf(v, sizeof(v), "v%d", i);
        assert_int_equal(pour(sh, ev("1.2.3.4", 5, "ratata", v)), 1);
    }
    assert_int_equal(g.n, 1);
    assert_int_equal(g.end[0], BUCKET_OVERFLOW);
    const struct runtime_alert *ra = &g.evt[0]->overflow;
    const struct alert *a = ra->alert;
    assert_non_null(a);
    assert_int_equal(ra->napi_alerts, 1);
    assert_string_equal(ra->sources[0].key, "1.2.3.4");
    assert_string_equal(a->scenario, "t/leaky");
    assert_string_equal(a->scenario_version, "0.3");
    assert_string_equal(a->scenario_hash, bucket_set_hash(s, 0));
    assert_string_equal(a->kind, "crowdsec");
    assert_string_equal(a->leakspeed, "10s");
    assert_int_equal(a->capacity, 5);
    assert_int_equal(a->events_count, 6);
    assert_string_equal(a->start_at, "2020-01-01T10:00:00Z");
    assert_string_equal(a->stop_at, "2020-01-01T10:00:05Z");
    assert_true(a->remediation);
    assert_false(a->simulated);
    assert_string_equal(a->message, "Ip 1.2.3.4 performed 't/leaky' (6 events over 5s) at "
                                    "2020-01-01 10:00:05 +0000 UTC");
    assert_string_equal(a->source->scope, "Ip");
    assert_string_equal(a->source->value, "1.2.3.4");
    assert_string_equal(a->source->ip, "1.2.3.4");
    /* cache_size 3: the queue keeps L+1 = 4 events, the last ones */
    assert_int_equal(a->nevents, 4);
    assert_string_equal(a->events[0].timestamp, "2020-01-01T10:00:05Z");
    assert_int_equal(a->events[3].meta.len, 3);
    assert_string_equal(a->events[3].meta.items[0].key, "log_type");
    assert_string_equal(a->events[3].meta.items[1].key, "ratata");
    assert_string_equal(a->events[3].meta.items[1].value, "v4");
    assert_string_equal(a->events[3].meta.items[2].key, "source_ip");
    assert_string_equal(a->events[0].meta.items[1].value, "v1");
    assert_string_equal(g.evt[0]->marshaled_time.ptr, "2020-01-01T10:00:05Z");
    assert_int_equal(g.evt[0]->type, EVENT_OVFLW);
    got_clear(&g);
    bucket_shard_free(sh);
    bucket_set_free(s);
}

static void
test_blackhole_and_timers(void **state)
{
    static const char yaml[] = "type: leaky\nname: t/bh\ndescription: d\nfilter: \"true\"\n"
                               "groupby: evt.Meta.source_ip\ncapacity: 1\nleakspeed: 10s\n"
                               "blackhole: 1m\n---\n"
                               "type: counter\nname: t/count\ndescription: d\nfilter: \"true\"\n"
                               "capacity: -1\nduration: 30s\n";
    struct bucket_set *s = load(yaml, NULL);
    struct got g = { 0 };
    struct bucket_shard_options o = { .clock = BUCKET_REPLAY, .emit = collect, .ctx = &g };
    struct bucket_shard *sh = bucket_shard_new(s, &o);
    struct bucket_stats st;

    (void)state;
    /* overflow at 1 s, blackholed until 61 s */
    assert_int_equal(pour(sh, ev("1.1.1.1", 0, NULL, NULL)), 2);
    assert_int_equal(pour(sh, ev("1.1.1.1", 1, NULL, NULL)), 2);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.end[0], BUCKET_OVERFLOW);
    /* the counter fires at exactly 30 s with every event so far */
    assert_int_equal(pour(sh, ev("1.1.1.1", 30, NULL, NULL)), 2);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.end[1], BUCKET_OVERFLOW);
    assert_string_equal(g.evt[1]->overflow.alert->scenario, "t/count");
    assert_int_equal(g.evt[1]->overflow.alert->events_count, 2);
    assert_string_equal(g.evt[1]->overflow.alert->stop_at, "2020-01-01T10:00:30Z");
    /* second overflow at 31 s: still blackholed, a dead notice */
    assert_int_equal(pour(sh, ev("1.1.1.1", 31, NULL, NULL)), 2);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.end[2], BUCKET_DISCARDED);
    assert_null(g.evt[2]->overflow.alert);
    assert_non_null(g.evt[2]->overflow.mapkey);
    /* a new source at 35 s: its leaky bucket (lifetime 20 s) dies strictly after 55 s */
    assert_int_equal(pour(sh, ev("2.2.2.2", 35, NULL, NULL)), 2);
    assert_int_equal(bucket_advance(sh, (struct gotime){ 1577872800LL * S + 55 * S, 0 }), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(bucket_advance(sh, (struct gotime){ 1577872800LL * S + 55 * S + 1, 0 }), 0);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.end[3], BUCKET_UNDERFLOW);
    /* the second counter (first event at 30 s) fires at 60 s with its 3 events */
    assert_int_equal(bucket_advance(sh, (struct gotime){ 1577872800LL * S + 60 * S, 0 }), 0);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.evt[4]->overflow.alert->events_count, 3);
    /* after 61 s the key may alert again */
    assert_int_equal(pour(sh, ev("1.1.1.1", 62, NULL, NULL)), 2);
    assert_int_equal(pour(sh, ev("1.1.1.1", 62.5, NULL, NULL)), 2);
    assert_int_equal(g.end[g.n - 1], BUCKET_OVERFLOW);
    assert_non_null(g.evt[g.n - 1]->overflow.alert);
    /* an event without MarshaledTime is refused in replay */
    assert_int_equal(pour(sh, ev("1.1.1.1", -1, NULL, NULL)), 0);
    bucket_shard_stats(sh, &st);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.discarded, 1);
    assert_int_equal(st.underflows, 1);
    got_clear(&g);
    bucket_shard_free(sh);
    bucket_set_free(s);
}

static void
test_caps(void **state)
{
    static const char yaml[] = "type: leaky\nname: t/a\ndescription: d\nfilter: \"true\"\n"
                               "groupby: evt.Meta.source_ip\ncapacity: 5\nleakspeed: 10s\n---\n"
                               "type: leaky\nname: t/b\ndescription: d\n"
                               "filter: evt.Meta.source_ip startsWith '9.'\n"
                               "groupby: evt.Meta.source_ip\ncapacity: 5\nleakspeed: 10s\n";
    struct bucket_set *s = load(yaml, NULL);
    struct got g = { 0 };
    struct bucket_shard_options o = { .clock = BUCKET_REPLAY,
                                      .emit = collect,
                                      .ctx = &g,
                                      .max_buckets = 3,
                                      .max_buckets_per_scenario = 2 };
    struct bucket_shard *sh = bucket_shard_new(s, &o);
    struct bucket_stats st;

    (void)state;
    assert_int_equal(pour(sh, ev("1.0.0.1", 0, NULL, NULL)), 1);
    assert_int_equal(pour(sh, ev("1.0.0.2", 1, NULL, NULL)), 1);
    assert_int_equal(pour(sh, ev("1.0.0.1", 2, NULL, NULL)), 1); /* 1.0.0.2 is now the oldest */
    assert_int_equal(pour(sh, ev("1.0.0.3", 3, NULL, NULL)), 1); /* per-scenario cap: evicts it */
    assert_int_equal(g.n, 1);
    assert_int_equal(g.end[0], BUCKET_EVICTED);
    bucket_shard_stats(sh, &st);
    assert_int_equal(st.live, 2);
    assert_int_equal(st.evicted, 1);
    /* 9.x goes to both scenarios: the per-scenario cap evicts in t/a, then the shard cap of 3
     * evicts the least recently poured bucket of any scenario (t/a's 9.0.0.1) */
    assert_int_equal(pour(sh, ev("9.0.0.1", 4, NULL, NULL)), 2);
    assert_int_equal(g.n, 2);
    assert_int_equal(pour(sh, ev("9.0.0.2", 5, NULL, NULL)), 2);
    bucket_shard_stats(sh, &st);
    assert_int_equal(st.live, 3);
    assert_int_equal(st.evicted, 4);
    assert_int_equal(sh->lru[0].len, 1);
    assert_int_equal(sh->lru[1].len, 2);
    /* the per-scenario cap holds for both scenarios */
    assert_true(sh->lru[0].len <= 2 && sh->lru[1].len <= 2);
    /* an evicted source starts a fresh bucket: its count restarts */
    assert_null(shard_lookup(sh, g.evt[0]->overflow.mapkey));
    got_clear(&g);
    bucket_shard_free(sh);
    bucket_set_free(s);
}

static struct gotime fake_now;

static struct gotime
clock_fn(void)
{
    return fake_now;
}

static void
test_live(void **state)
{
    static const char yaml[] = "type: leaky\nname: t/live\ndescription: d\nfilter: \"true\"\n"
                               "groupby: evt.Meta.source_ip\ncapacity: 1\nleakspeed: 1s\n"
                               "cancel_on: evt.Meta.k == 'stop'\ndistinct: evt.Meta.k\n";
    struct bucket_set *s = load(yaml, NULL);
    struct got g = { 0 };
    struct bucket_shard_options o = {
        .clock = BUCKET_LIVE, .now = clock_fn, .emit = collect, .ctx = &g
    };
    struct bucket_shard *sh = bucket_shard_new(s, &o);

    (void)state;
    fake_now = (struct gotime){ 1700000000LL * S, 0 };
    /* live: no MarshaledTime needed, the clock stamps the pour */
    assert_int_equal(pour(sh, ev("2.2.2.2", -1, "k", "a")), 1);
    assert_int_equal(pour(sh, ev("2.2.2.2", -1, "k", "a")), 0); /* distinct duplicate */
    assert_int_equal(pour(sh, ev("2.2.2.2", -1, "k", "stop")), 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.end[0], BUCKET_CANCELED);
    fake_now.unix_ns += S / 2;
    assert_int_equal(pour(sh, ev("2.2.2.2", -1, "k", "a")), 1);
    assert_int_equal(pour(sh, ev("2.2.2.2", -1, "k", "b")), 1);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.evt[1]->overflow.alert->start_at, "2023-11-14T22:13:20.5Z");
    /* an idle bucket dies when the caller advances the clock past its lifetime (2 s) */
    assert_int_equal(pour(sh, ev("3.3.3.3", -1, "k", "a")), 1);
    assert_int_equal(bucket_advance(sh, (struct gotime){ fake_now.unix_ns + 2 * S + 1, 0 }), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.end[2], BUCKET_UNDERFLOW);
    got_clear(&g);
    bucket_shard_free(sh);
    bucket_set_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_and_alert),
        cmocka_unit_test(test_blackhole_and_timers),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_live),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
