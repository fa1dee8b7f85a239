/*
 * test_enrich.c - the parser enrichers: ParseDate (every CrowdSec layout,
 * year-0 fill, epochs, StrTimeFormat, TIMEMACHINE), GeoIpCity / GeoIpASN /
 * IpToRange on the generated test databases, reverse_dns (cache, negative
 * cache, timeout, LRU bound, loopback through the system resolver) and
 * UnmarshalJSON.
 *
 * The ParseDate expectations were produced by running CrowdSec's
 * GenDateParse logic under Go 1.19 with the clock pinned to
 * 2023-06-15T12:00:00Z (the "now" cases fall back to that time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "expr/expr.h"
#include "parser/enrich_internal.h"

#define NOW_NS (INT64_C(1686830400) * INT64_C(1000000000)) /* 2023-06-15T12:00:00Z */

static struct gotime
pinned_clock(void)
{
    return (struct gotime){ NOW_NS, 0 };
}

static const char *
enriched(const struct event *e, const char *key)
{
    const struct strv *v = strmap_get_cstr(&e->enriched, key);
    return v ? v->ptr : NULL;
}

static struct event *
new_event(int mode)
{
    struct event *e = event_new(EVENT_LOG, mode, false);
    assert_non_null(e);
    return e;
}

/* --- ParseDate --- */

static const struct {
    const char *in, *format, *want; /* want NULL: the pinned "now" */
} date_cases[] = {
    /* RFC3339 */
    { "2019-10-12T07:20:50.52Z", "", "2019-10-12T07:20:50.52Z" },
    { "2019-10-12T07:20:50+02:00", "", "2019-10-12T07:20:50+02:00" },
    { "2019-10-12T07:20:50.123456789-05:30", "", "2019-10-12T07:20:50.123456789-05:30" },
    /* 02/Jan/2006:15:04:05 -0700 */
    { "02/Jan/2006:15:04:05 -0700", "", "2006-01-02T15:04:05-07:00" },
    { "10/Oct/2000:13:55:36 +0000", "", "2000-10-10T13:55:36Z" },
    { "10/oct/2000:13:55:36 +0200", "", "2000-10-10T13:55:36+02:00" },
    /* Mon Jan 2 15:04:05 2006 */
    { "Mon Jan 2 15:04:05 2006", "", "2006-01-02T15:04:05Z" },
    { "Thu Feb 29 10:00:00 2024", "", "2024-02-29T10:00:00Z" },
    { "Tue Mar  5 10:00:00 2024", "", "2024-03-05T10:00:00Z" },
    /* 02-Jan-2006 15:04:05 europe/paris: literal text, UTC */
    { "12-Mar-2023 10:11:12 europe/paris", "", "2023-03-12T10:11:12Z" },
    /* 01/02/2006 15:04:05 */
    { "11/02/2012 13:37:05", "", "2012-11-02T13:37:05Z" },
    /* 2006-01-02 15:04:05.999999999 -0700 MST */
    { "2023-05-06 07:08:09.123 +0200 CEST", "", "2023-05-06T07:08:09.123+02:00" },
    { "2023-05-06 07:08:09 +0000 UTC", "", "2023-05-06T07:08:09Z" },
    /* Jan  2 15:04:05: no year => the pinned year, Feb 29 rolls over */
    { "Dec 17 08:17:43", "", "2023-12-17T08:17:43Z" },
    { "Feb 29 01:02:03", "", "2023-03-01T01:02:03Z" },
    { "Oct  1 00:00:00", "", "2023-10-01T00:00:00Z" },
    { "Oct 1 00:00:00", "", "2023-10-01T00:00:00Z" },
    /* Mon Jan 02 15:04:05.000000 2006 */
    { "Wed Jun 14 10:00:00.123456 2023", "", "2023-06-14T10:00:00.123456Z" },
    /* the short numeric layouts */
    { "2012/11/01", "", "2012-11-01T00:00:00Z" },
    { "2012/11/01 10:30", "", "2012-11-01T10:30:00Z" },
    { "2012-11-01", "", "2012-11-01T00:00:00Z" },
    { "2012-11-01 10:30", "", "2012-11-01T10:30:00Z" },
    { "2012-11-01  10:30", "", "2012-11-01T10:30:00Z" }, /* a space run matches */
    { "2012/11/01 10:30:15", "", "2012-11-01T10:30:15Z" },
    { "2012-11-01 10:30:15", "", "2012-11-01T10:30:15Z" },
    { "2012-11-01 10:30:15.5", "", "2012-11-01T10:30:15.5Z" },
    /* 2006-01-02T15:04:05 (CrowdSec's enrich_date_test.go) */
    { "2024-11-26T20:13:32", "", "2024-11-26T20:13:32Z" },
    { "2024-11-26T20:13:32.123", "", "2024-11-26T20:13:32.123Z" },
    { "2024-11-26T20:13:32.123456", "", "2024-11-26T20:13:32.123456Z" },
    { "2024-11-26T20:13:32.123456789", "", "2024-11-26T20:13:32.123456789Z" },
    /* Unix epochs */
    { "1700000000", "", "2023-11-14T22:13:20Z" },
    { "1700000000.123", "", "2023-11-14T22:13:20Z" },
    { "+1700000000", "", "2023-11-14T22:13:20Z" },
    { "1.5", "", "1970-01-01T00:00:01Z" },
    { "0", "", NULL },
    { "-5", "", NULL },
    { "99999999999999999999", "", NULL },
    /* nothing matches: now */
    { "abc", "", NULL },
    { "", "", NULL },
    { "2012-13-01", "", NULL },
    { "2012-02-30", "", NULL },
    { "0001-01-01", "", NULL }, /* Go's zero time counts as no match */
    { "  2012-11-01", "", NULL },
    { "Jun 15 10:00:00 host sshd", "", NULL },
    { "2023-06-15T10:00:00 extra", "", NULL },
    /* StrTimeFormat first, then the layouts */
    { "2011 X 17 zz 08X17X43 oneone Dec", "2006 X 2 zz 15X04X05 oneone Jan",
      "2011-12-17T08:17:43Z" },
    { "2012/11/01", "15:04", "2012-11-01T00:00:00Z" },
    { "17/12 08:17", "02/01 15:04", "2023-12-17T08:17:00Z" },
};

static void
test_parse_date_table(void **state)
{
    (void)state;
    expr_set_clock(pinned_clock);
    for (size_t i = 0; i < ARRAY_SIZE(date_cases); i++) {
        for (int mode = EVENT_LIVE; mode <= EVENT_TIMEMACHINE; mode++) {
            struct event *e = new_event(mode);
            struct gotime before = e->time;
            const char *in = date_cases[i].in, *fmt = date_cases[i].format;
            const char *want = date_cases[i].want ? date_cases[i].want : "2023-06-15T12:00:00Z";
            if (fmt[0])
                assert_int_equal(event_set_str(e, &e->str_time_format, fmt, strlen(fmt)), 0);
            assert_int_equal(enrich_parse_date(NULL, in, strlen(in), e), 0);
            const char *got = enriched(e, "MarshaledTime");
            if (!got || strcmp(got, want) != 0)
                fail_msg("case %zu ParseDate(\"%s\", format \"%s\"): got %s, want %s", i, in, fmt,
                         got ? got : "(unset)", want);
            /* TIMEMACHINE takes the log's time; live mode and the "now" fallback leave it. */
            if (mode == EVENT_TIMEMACHINE && date_cases[i].want) {
                char buf[GOTIME_RFC3339_MAX];
                gotime_format_rfc3339nano(e->time, buf, sizeof(buf));
                if (strcmp(buf, want) != 0)
                    fail_msg("case %zu: evt.Time %s, want %s", i, buf, want);
            } else if (e->time.unix_ns != before.unix_ns || e->time.offset_s != before.offset_s) {
                fail_msg("case %zu: evt.Time changed in mode %d", i, mode);
            }
            event_free(e);
        }
    }
    expr_set_clock(NULL);
}

/* The year-0 fill follows the clock, so hubtest can pin it. */
static void
test_parse_date_year_follows_clock(void **state)
{
    (void)state;
    expr_set_clock(NULL);
    struct gotime_fields now;
    gotime_fields(gotime_now(), &now);
    struct event *e = new_event(EVENT_LIVE);
    assert_int_equal(enrich_parse_date(NULL, "Jul  4 01:02:03", 15, e), 0);
    char want[64];
    snprintf(want, sizeof(want), "%04d-07-04T01:02:03Z", now.year);
    assert_string_equal(enriched(e, "MarshaledTime"), want);
    event_free(e);
}

/* --- GeoIP --- */

struct geo_fixture {
    char dir[PATH_MAX];
    struct enrich_ctx *ctx;
};

static int
geo_setup(void **state)
{
    const char *src = getenv("PHALANX_TEST_MMDB_DIR");
    char from[PATH_MAX], to[PATH_MAX];
    struct geo_fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/phalanx-enrich-XXXXXX");
    if (!src || !mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    static const char *const names[][2] = { { "GeoLite2-Test-City.mmdb", "GeoLite2-City.mmdb" },
                                            { "GeoLite2-Test-ASN.mmdb", "GeoLite2-ASN.mmdb" } };
    for (size_t i = 0; i < 2; i++) {
        int n1 = snprintf(from, sizeof(from), "%s/%s", src, names[i][0]);
        int n2 = snprintf(to, sizeof(to), "%s/%s", f->dir, names[i][1]);
        if (n1 >= (int)sizeof(from) || n2 >= (int)sizeof(to) || symlink(from, to) < 0)
            fail_msg("cannot link %s to %s", to, from);
    }
    f->ctx = enrich_ctx_new(f->dir);
    *state = f;
    return f->ctx ? 0 : -1;
}

static int
geo_teardown(void **state)
{
    struct geo_fixture *f = *state;
    char p[PATH_MAX];
    enrich_ctx_free(f->ctx);
    if (snprintf(p, sizeof(p), "%s/GeoLite2-City.mmdb", f->dir) < (int)sizeof(p))
        unlink(p);
    if (snprintf(p, sizeof(p), "%s/GeoLite2-ASN.mmdb", f->dir) < (int)sizeof(p))
        unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void
expect_keys(const struct event *e, const char *what, const char *const *kv, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        const char *got = enriched(e, kv[i]);
        if (!kv[i + 1] ? got != NULL : (!got || strcmp(got, kv[i + 1]) != 0))
            fail_msg("%s: Enriched[%s] = %s, want %s", what, kv[i], got ? got : "(unset)",
                     kv[i + 1] ? kv[i + 1] : "(unset)");
    }
}

static void
test_geoip(void **state)
{
    struct geo_fixture *f = *state;
    static const struct {
        const char *method, *ip;
        const char *kv[8]; /* key, value (NULL = unset) pairs */
    } cases[] = {
        { "GeoIpCity",
          "1.2.3.4",
          { "IsoCode", "FR", "IsInEU", "true", "Latitude", "46.000000", "Longitude", "2.000000" } },
        { "GeoIpCity", "::ffff:1.2.3.9", { "IsoCode", "FR", "IsInEU", "true" } },
        /* only a registered country */
        { "GeoIpCity",
          "5.6.7.8",
          { "IsoCode", "US", "IsInEU", "false", "Latitude", "0.000000", "Longitude", "0.000000" } },
        { "GeoIpCity",
          "2001:db8::1",
          { "IsoCode", "DE", "IsInEU", "true", "Latitude", "51.500000", "Longitude",
            "10.500000" } },
        /* not in the database: geoip2's zero record (the hub's geoip-enrich test) */
        { "GeoIpCity",
          "192.168.0.1",
          { "IsoCode", "", "IsInEU", "false", "Latitude", "0.000000", "Longitude", "0.000000" } },
        { "GeoIpCity", "not-an-ip", { "IsoCode", NULL, "IsInEU", NULL, "Latitude", NULL } },
        { "GeoIpCity", "", { "IsoCode", NULL } },
        { "GeoIpASN",
          "1.2.3.4",
          { "ASNNumber", "4242", "ASNumber", "4242", "ASNOrg", "Crowdsec" } },
        { "GeoIpASN", "8.8.8.8", { "ASNNumber", "15169", "ASNOrg", "Google LLC" } },
        { "GeoIpASN", "2001:db8:1::1", { "ASNNumber", "64512", "ASNOrg", "Phalanx Test v6" } },
        { "GeoIpASN", "9.9.9.9", { "ASNNumber", "0", "ASNumber", "0", "ASNOrg", "" } },
        { "GeoIpASN", "1.2.3", { "ASNNumber", NULL, "ASNOrg", NULL } },
        { "IpToRange", "1.2.3.4", { "SourceRange", "1.2.3.0/24" } },
        { "IpToRange", "8.8.4.4", { "SourceRange", "8.8.0.0/16" } },
        { "IpToRange", "2001:db8:1::5", { "SourceRange", "2001:db8:1::/48" } },
        { "IpToRange", "9.9.9.9", { "SourceRange", NULL } },
        { "IpToRange", "junk", { "SourceRange", NULL } },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char what[128];
        struct event *e = new_event(EVENT_LIVE);
        enrich_fn fn = enrich_lookup(cases[i].method);
        assert_non_null(fn);
        assert_int_equal(fn(f->ctx, cases[i].ip, strlen(cases[i].ip), e), 0);
        snprintf(what, sizeof(what), "case %zu %s(%s)", i, cases[i].method, cases[i].ip);
        size_t n = 0;
        while (n < ARRAY_SIZE(cases[i].kv) && cases[i].kv[n])
            n += 2;
        expect_keys(e, what, cases[i].kv, n);
        event_free(e);
    }
}

/* Without the databases the enrichers set nothing. */
static void
test_geoip_without_db(void **state)
{
    (void)state;
    struct enrich_ctx *ctx = enrich_ctx_new("/nonexistent");
    assert_non_null(ctx);
    struct event *e = new_event(EVENT_LIVE);
    assert_int_equal(enrich_geoip_city(ctx, "1.2.3.4", 7, e), 0);
    assert_int_equal(enrich_geoip_asn(ctx, "1.2.3.4", 7, e), 0);
    assert_int_equal(enrich_ip_to_range(ctx, "1.2.3.4", 7, e), 0);
    assert_int_equal(strmap_len(&e->enriched), 0);
    event_free(e);
    enrich_ctx_free(ctx);
    ctx = enrich_ctx_new(NULL);
    assert_non_null(ctx);
    e = new_event(EVENT_LIVE);
    assert_int_equal(enrich_geoip_city(ctx, "1.2.3.4", 7, e), 0);
    assert_int_equal(strmap_len(&e->enriched), 0);
    event_free(e);
    enrich_ctx_free(ctx);
}

/* --- reverse_dns --- */

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A resolver from a table; 192.0.2.9 answers after 400 ms. */
static int
fake_resolve(void *userdata, const struct ip_addr *addr, char *buf, size_t size)
{
    static const struct {
        const char *ip, *name;
    } ptr[] = {
        { "1.1.1.1", "one.one.one.one" },     { "192.0.2.3", "myhost" },
        { "192.0.2.4", "bad name!.example" }, { "192.0.2.5", "already.absolute." },
        { "2001:db8::53", "v6.example.net" }, { "192.0.2.9", "slow.example" },
        { "192.0.2.10", "ten.example" },      { "192.0.2.11", "eleven.example" },
    };
    (void)userdata;
    for (size_t i = 0; i < ARRAY_SIZE(ptr); i++) {
        struct ip_addr a;
        assert_int_equal(ip_parse(ptr[i].ip, strlen(ptr[i].ip), &a), 0);
        if (a.family == addr->family && memcmp(a.bytes, addr->bytes, 16) == 0) {
            if (strcmp(ptr[i].ip, "192.0.2.9") == 0)
                usleep(400 * 1000);
            snprintf(buf, size, "%s", ptr[i].name);
            return 0;
        }
    }
    return -1;
}

static const char *
rdns(struct enrich_ctx *ctx, const char *ip, struct event **ret)
{
    *ret = new_event(EVENT_LIVE);
    assert_int_equal(enrich_reverse_dns(ctx, ip, strlen(ip), *ret), 0);
    return enriched(*ret, "reverse_dns");
}

static void
test_rdns_fake(void **state)
{
    (void)state;
    static const struct {
        const char *ip, *want; /* NULL = no enrichment */
    } cases[] = {
        { "1.1.1.1", "one.one.one.one." }, /* Go's absolute name */
        { "192.0.2.3", "myhost" },         /* a single label keeps no dot */
        { "192.0.2.4", NULL },             /* not a domain name: LookupAddr fails */
        { "192.0.2.5", "already.absolute." },
        { "2001:db8::53", "v6.example.net." },
        { "192.0.2.1", NULL }, /* no PTR */
        { "", NULL },
        { "not-an-ip", NULL },
    };
    struct enrich_ctx *ctx = enrich_ctx_new(NULL);
    assert_non_null(ctx);
    struct enrich_rdns_config cfg = { .resolve = fake_resolve };
    assert_int_equal(enrich_ctx_set_rdns(ctx, &cfg), 0);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
            struct event *e;
            const char *got = rdns(ctx, cases[i].ip, &e);
            if (!cases[i].want ? got != NULL : (!got || strcmp(got, cases[i].want) != 0))
                fail_msg("round %d reverse_dns(%s) = %s, want %s", round, cases[i].ip,
                         got ? got : "(unset)", cases[i].want ? cases[i].want : "(unset)");
            event_free(e);
        }
        /* The six addresses were resolved once each: the second round is all cache. */
        assert_int_equal(enrich_rdns_resolver_calls(ctx), 6);
    }
    enrich_ctx_free(ctx);
}

static void
test_rdns_timeout(void **state)
{
    (void)state;
    struct enrich_ctx *ctx = enrich_ctx_new(NULL);
    assert_non_null(ctx);
    struct enrich_rdns_config cfg = { .resolve = fake_resolve, .timeout_ms = 100 };
    assert_int_equal(enrich_ctx_set_rdns(ctx, &cfg), 0);
    struct event *e;
    int64_t t0 = mono_ms();
    assert_null(rdns(ctx, "192.0.2.9", &e));
    int64_t waited = mono_ms() - t0;
    event_free(e);
    if (waited < 90 || waited > 350)
        fail_msg("a slow lookup blocked %lld ms (timeout 100 ms)", (long long)waited);
    /* The failure is cached: no wait, no second lookup, even after the late answer. */
    usleep(500 * 1000);
    t0 = mono_ms();
    assert_null(rdns(ctx, "192.0.2.9", &e));
    assert_true(mono_ms() - t0 < 50);
    event_free(e);
    assert_int_equal(enrich_rdns_resolver_calls(ctx), 1);
    /* Other addresses are served meanwhile. */
    assert_string_equal(rdns(ctx, "1.1.1.1", &e), "one.one.one.one.");
    event_free(e);
    enrich_ctx_free(ctx);
}

static void
test_rdns_ttl_and_bound(void **state)
{
    (void)state;
    struct enrich_ctx *ctx = enrich_ctx_new(NULL);
    assert_non_null(ctx);
    struct enrich_rdns_config cfg = {
        .resolve = fake_resolve, .positive_ttl_ms = 100, .negative_ttl_ms = 50, .max_entries = 2
    };
    assert_int_equal(enrich_ctx_set_rdns(ctx, &cfg), 0);
    struct event *e;
    assert_null(rdns(ctx, "192.0.2.1", &e));
    event_free(e);
    assert_string_equal(rdns(ctx, "1.1.1.1", &e), "one.one.one.one.");
    event_free(e);
    assert_int_equal(enrich_rdns_resolver_calls(ctx), 2);
    usleep(150 * 1000); /* both expired */
    assert_null(rdns(ctx, "192.0.2.1", &e));
    event_free(e);
    assert_string_equal(rdns(ctx, "1.1.1.1", &e), "one.one.one.one.");
    event_free(e);
    assert_int_equal(enrich_rdns_resolver_calls(ctx), 4);
    /* Two entries at most: a third address evicts the least recently used (192.0.2.1). */
    assert_string_equal(rdns(ctx, "192.0.2.10", &e), "ten.example.");
    event_free(e);
    assert_string_equal(rdns(ctx, "1.1.1.1", &e), "one.one.one.one.");
    event_free(e);
    assert_int_equal(enrich_rdns_resolver_calls(ctx), 5);
    assert_string_equal(rdns(ctx, "192.0.2.11", &e), "eleven.example.");
    event_free(e);
    assert_string_equal(rdns(ctx, "192.0.2.10", &e), "ten.example.");
    event_free(e);
    assert_int_equal(enrich_rdns_resolver_calls(ctx), 7);
    enrich_ctx_free(ctx);
}

/* The system resolver on the loopback address: /etc/hosts names it (first name, no dot). */
static void
test_rdns_loopback(void **state)
{
    (void)state;
    struct enrich_ctx *ctx = enrich_ctx_new(NULL);
    assert_non_null(ctx);
    struct event *e;
    int64_t t0 = mono_ms();
    const char *got = rdns(ctx, "127.0.0.1", &e);
    assert_true(mono_ms() - t0 < 3500);
    FILE *hosts = fopen("/etc/hosts", "r");
    char line[256];
    bool listed = false;
    /* The first 127.0.0.1 line names it, as glibc's files backend reads them. */
    while (hosts && fgets(line, sizeof(line), hosts)) {
        if (strncmp(line, "127.0.0.1", 9) == 0 && (line[9] == ' ' || line[9] == '\t')) {
            const char *n = line + 9 + strspn(line + 9, " \t");
            listed = strncmp(n, "localhost", 9) == 0 && strchr(" \t\r\n", n[9]) && n[9];
            break;
        }
    }
    if (hosts)
        fclose(hosts);
    if (listed)
        assert_string_equal(got, "localhost");
    else
        printf("# 127.0.0.1 is not first named localhost in /etc/hosts: got %s\n",
               got ? got : "(none)");
    event_free(e);
    enrich_ctx_free(ctx);
}

/* --- UnmarshalJSON and the table --- */

static void
test_unmarshal_json(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        const char *existing; /* Unmarshaled before, NULL = nil */
        const char *want;     /* JSON of Unmarshaled after, NULL = nil */
    } cases[] = {
        { "{\"a\":1,\"b\":{\"c\":\"d\"}}", NULL, "{\"a\": 1, \"b\": {\"c\": \"d\"}}" },
        { "{\"a\":2}", "{\"x\":1,\"a\":1}", "{\"x\": 1, \"a\": 2}" }, /* merged into the map */
        { "not json", NULL, NULL },
        { "not json", "{\"x\":1}", "{\"x\": 1}" },
        { "[1,2]", "{\"x\":1}", "{\"x\": 1}" },
        { "null", "{\"x\":1}", NULL },
        { "", NULL, NULL },
        { "{\"k\":\"v\",\"k\":\"w\"}", NULL, "{\"k\": \"w\"}" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct event *e = new_event(EVENT_LIVE);
        assert_int_equal(event_set_str(e, &e->line.raw, cases[i].raw, strlen(cases[i].raw)), 0);
        if (cases[i].existing)
            e->unmarshaled = json_loads(cases[i].existing, JSON_PRESERVE_ORDER, NULL);
        /* The value is ignored: Line.Raw is what gets decoded. */
        assert_int_equal(enrich_unmarshal_json(NULL, "{\"z\":0}", 7, e), 0);
        char *got = e->unmarshaled ? json_dumps(e->unmarshaled, JSON_PRESERVE_ORDER) : NULL;
        if (!cases[i].want ? got != NULL : (!got || strcmp(got, cases[i].want) != 0))
            fail_msg("case %zu UnmarshalJSON(%s): got %s, want %s", i, cases[i].raw,
                     got ? got : "nil", cases[i].want ? cases[i].want : "nil");
        free(got);
        event_free(e);
    }
}

static void
test_lookup(void **state)
{
    (void)state;
    assert_ptr_equal(enrich_lookup("ParseDate"), enrich_parse_date);
    assert_ptr_equal(enrich_lookup("GeoIpCity"), enrich_geoip_city);
    assert_ptr_equal(enrich_lookup("GeoIpASN"), enrich_geoip_asn);
    assert_ptr_equal(enrich_lookup("IpToRange"), enrich_ip_to_range);
    assert_ptr_equal(enrich_lookup("reverse_dns"), enrich_reverse_dns);
    assert_ptr_equal(enrich_lookup("UnmarshalJSON"), enrich_unmarshal_json);
    assert_null(enrich_lookup("parsedate"));
    assert_null(enrich_lookup("GeoIPEnrich"));
    assert_null(enrich_lookup(""));
}

static void
skip_no_mmdb(void **state)
{
    (void)state;
    skip();
}

int
main(void)
{
    const char *dir = getenv("PHALANX_TEST_MMDB_DIR");
    bool have_mmdb = dir != NULL;
    if (!have_mmdb)
        printf("# GeoIP cases skipped: no generated test databases (libmaxmind-db-writer-perl)\n");
    struct CMUnitTest geo = cmocka_unit_test_setup_teardown(test_geoip, geo_setup, geo_teardown);
    if (!have_mmdb)
        geo.test_func = skip_no_mmdb, geo.setup_func = NULL, geo.teardown_func = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_parse_date_table),
        cmocka_unit_test(test_parse_date_year_follows_clock),
        geo,
        cmocka_unit_test(test_geoip_without_db),
        cmocka_unit_test(test_rdns_fake),
        cmocka_unit_test(test_rdns_timeout),
        cmocka_unit_test(test_rdns_ttl_and_bound),
        cmocka_unit_test(test_rdns_loopback),
        cmocka_unit_test(test_unmarshal_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
