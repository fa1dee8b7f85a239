/*
 * test_store.c - the storage suite, run twice: on SQLite (a temporary file)
 * and on PostgreSQL (the server named by PHALANX_PG_CONNINFO; scripts/
 * pg-test.sh starts one for `make test`). Without that variable the
 * PostgreSQL group fails, unless PHALANX_PG=skip says to skip it.
 *
 * Every test starts from empty tables and drives the public API; the IP
 * containment table is CrowdSec's test/bats/97_* and 98_* API cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"

#define SEC   1000000000LL
#define NOW   (1704067200LL * SEC) /* 2024-01-01T00:00:00Z */
#define STOP  "2024-01-01T00:00:00Z"
#define HOURS (3600LL * SEC)

struct fixture {
    const char *type;
    char dsn[512];
    char path[256]; /* SQLite file, removed at the end */
    struct store *s;
    char failure[1024]; /* why s is NULL */
};

/* --- helpers --- */

static void
wipe(struct store *s)
{
    static const char *const tables[] = { "decisions", "events",   "meta",
                                          "alerts",    "bouncers", "machines" };
    char q[64];

    for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
        struct store_error err = { { 0 } };
        snprintf(q, sizeof(q), "DELETE FROM %s", tables[i]);
        if (store_exec(s, q, NULL, 0, NULL, NULL, NULL, &err) < 0)
            fail_msg("%s: %s", q, err.msg);
    }
}

struct dspec {
    const char *scope, *value, *type, *origin, *scenario, *duration;
    bool simulated;
};

/* Inserts one alert carrying one decision; returns the alert id. */
static int64_t
add_decision(struct store *s, const struct dspec *d, const char *stop, int64_t now)
{
    struct alert a = { 0 };
    struct decision *dec;
    struct store_error err = { { 0 } };
    int64_t id = -1;
    int rc;

    assert_int_equal(model_strset(&a.scenario, d->scenario ? d->scenario : "test/scenario"), 0);
    assert_int_equal(model_strset(&a.start_at, stop), 0);
    assert_int_equal(model_strset(&a.stop_at, stop), 0);
    assert_int_equal(model_strset(&a.message, "test"), 0);
    a.simulated = d->simulated;
    a.source = calloc(1, sizeof(*a.source));
    assert_non_null(a.source);
    assert_int_equal(model_strset(&a.source->scope, d->scope), 0);
    assert_int_equal(model_strset(&a.source->value, d->value), 0);
    dec = alert_add_decision(&a);
    assert_non_null(dec);
    assert_int_equal(model_strset(&dec->scope, d->scope), 0);
    assert_int_equal(model_strset(&dec->value, d->value), 0);
    assert_int_equal(model_strset(&dec->type, d->type ? d->type : "ban"), 0);
    assert_int_equal(model_strset(&dec->origin, d->origin ? d->origin : "cscli"), 0);
    assert_int_equal(model_strset(&dec->scenario, d->scenario ? d->scenario : "test/scenario"), 0);
    assert_int_equal(model_strset(&dec->duration, d->duration ? d->duration : "4h"), 0);
    rc = store_alerts_insert(s, &a, 1, NULL, now, &id, &err);
    if (rc < 0)
        fail_msg("insert %s: %d %s", d->value, rc, err.msg);
    alert_clear(&a);
    return id;
}

static void
add_ip(struct store *s, const char *value)
{
    struct dspec d = { .scope = strchr(value, '/') ? "Range" : "Ip", .value = value };
    assert_true(add_decision(s, &d, STOP, NOW) > 0);
}

/* Parses "k=v&k=v" into params (storage in buf). */
static size_t
parse_query(const char *q, char *buf, size_t buflen, struct store_param *out, size_t max)
{
    size_t n = 0;
    char *p = buf, *save = NULL;

    snprintf(buf, buflen, "%s", q);
    while (p && *p && n < max) {
        char *amp = strchr(p, '&'), *eq;
        if (amp)
            *amp = '\0';
        eq = strchr(p, '=');
        if (*p) {
            out[n].key = p;
            out[n].value = eq ? eq + 1 : "";
            if (eq)
                *eq = '\0';
            n++;
        }
        p = amp ? amp + 1 : NULL;
    }
    (void)save;
    return n;
}

/* Values of the decisions a query returns, comma-joined, or "null" for none. */
static void
list_values(struct store *s, const char *query, int64_t now, char *out, size_t outlen)
{
    struct store_param pv[16];
    char buf[512];
    struct store_params p = { pv, parse_query(query, buf, sizeof(buf), pv, 16) };
    struct store_decision_list l = { 0 };
    struct store_error err = { { 0 } };
    size_t off = 0;
    int rc = store_decisions_list(s, &p, now, &l, &err);

    if (rc < 0)
        fail_msg("query '%s': %d %s", query, rc, err.msg);
    out[0] = '\0';
    if (l.n == 0)
        snprintf(out, outlen, "null");
    for (size_t i = 0; i < l.n; i++)
        off += (size_t)snprintf(out + off, outlen - off, "%s%s", i ? "," : "", l.v[i].value);
    store_decision_list_clear(&l);
}

struct qcase {
    const char *query, *expect;
};

static void
run_cases(struct store *s, const struct qcase *c, size_t n)
{
    char got[1024];
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        list_values(s, c[i].query, NOW, got, sizeof(got));
        if (strcmp(got, c[i].expect) != 0) {
            print_error("case %zu: '%s': got '%s', want '%s'\n", i, c[i].query, got, c[i].expect);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* The backend of a test; skips or fails the test when it could not be opened. */
static struct fixture *
fixture(void **state)
{
    struct fixture *f = *state;

    if (!f->s) {
        const char *pg = getenv("PHALANX_PG");
        if (pg && strcmp(pg, "skip") == 0)
            skip();
        fail_msg("%s backend unavailable: %s", f->type, f->failure);
    }
    return f;
}

/* --- tests --- */

static void
test_migrate(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    int v = -1;

    assert_int_equal(store_migrate(f->s, &err), 0);
    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
}

static int
count_row(const struct sql_row *r, void *ctx)
{
    *(int64_t *)ctx = r->be->col_int(r, 0);
    return 0;
}

/* A database left at version 1 (as phalanx 0.x wrote it) gets migration 2's index. */
static void
test_migrate_v1(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    bool sqlite = strcmp(store_backend_name(f->s), "sqlite") == 0;
    const char *has_index = sqlite ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                                     " AND name = 'decisions_ranges'"
                                   : "SELECT COUNT(*) FROM pg_indexes WHERE"
                                     " indexname = 'decisions_ranges'"
                                     " AND schemaname = current_schema()";
    int64_t n = -1;
    int v = -1;
    char got[256];

    assert_int_equal(
        store_exec(f->s, "DROP INDEX decisions_ranges", NULL, 0, NULL, NULL, NULL, &err), 0);
    assert_int_equal(store_exec(f->s, "DELETE FROM schema_version WHERE version > 1", NULL, 0, NULL,
                                NULL, NULL, &err),
                     0);
    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(store_exec(f->s, has_index, NULL, 0, count_row, &n, NULL, &err), 0);
    assert_int_equal(n, 0);
    add_ip(f->s, "1.2.3.0/24");
    assert_int_equal(store_migrate(f->s, &err), 0);
    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(store_exec(f->s, has_index, NULL, 0, count_row, &n, NULL, &err), 0);
    assert_int_equal(n, 1);
    /* Rows written before the migration are in the new index. */
    list_values(f->s, "ip=1.2.3.9", NOW, got, sizeof(got));
    assert_string_equal(got, "1.2.3.0/24");
}

/* CrowdSec test/bats/97_ipv4_single.bats and 97_ipv6_single.bats. */
static void
test_ip_single(void **state)
{
    struct fixture *f = fixture(state);
    static const struct qcase cases[] = {
        { "", "1.2.3.4,1111:2222:3333:4444:5555:6666:7777:8888" },
        { "ip=1.2.3.4", "1.2.3.4" },
        { "ip=::ffff:1.2.3.4", "1.2.3.4" },
        { "ip=1.2.3.5", "null" },
        { "range=1.2.3.0/24", "null" },
        { "range=1.2.3.0/24&contains=false", "1.2.3.4" },
        { "ip=1111:2222:3333:4444:5555:6666:7777:8888", "1111:2222:3333:4444:5555:6666:7777:8888" },
        { "ip=1211:2222:3333:4444:5555:6666:7777:8888", "null" },
        { "ip=1111:2222:3333:4444:5555:6666:7777:8887", "null" },
        { "range=1111:2222:3333:4444:5555:6666:7777:8888/48", "null" },
        { "range=1111:2222:3333:4444:5555:6666:7777:8888/48&contains=false",
          "1111:2222:3333:4444:5555:6666:7777:8888" },
        { "range=1111:2222:3333:4444:5555:6666:7777:8888/64", "null" },
        { "range=1111:2222:3333:4444:5555:6666:7777:8888/64&contains=false",
          "1111:2222:3333:4444:5555:6666:7777:8888" },
        { "range=1111:2222:3333:4444:5555:6666:7777:8888/128",
          "1111:2222:3333:4444:5555:6666:7777:8888" },
    };

    add_ip(f->s, "1.2.3.4");
    add_ip(f->s, "1111:2222:3333:4444:5555:6666:7777:8888");
    run_cases(f->s, cases, ARRAY_SIZE(cases));
}

/* CrowdSec test/bats/98_ipv4_range.bats and 98_ipv6_range.bats. */
static void
test_ip_range(void **state)
{
    struct fixture *f = fixture(state);
    static const struct qcase cases[] = {
        { "ip=4.4.4.3", "4.4.4.0/24" },
        { "ip=::ffff:4.4.4.3", "4.4.4.0/24" },
        { "ip=4.4.4.4&contains=false", "null" },
        { "ip=5.4.4.3", "null" },
        { "range=4.4.0.0/16", "null" },
        { "range=4.4.0.0/16&contains=false", "4.4.4.0/24" },
        { "range=4.4.4.2/28", "4.4.4.0/24" },
        { "range=4.4.3.2/28", "null" },
        { "ip=aaaa:2222:3333:4444:5555:6666:7777:8888", "aaaa:2222:3333:4444::/64" },
        { "ip=aaaa:2222:3333:4445:5555:6666:7777:8888", "null" },
        { "ip=aaa1:2222:3333:4444:5555:6666:7777:8887", "null" },
        { "range=aaaa:2222:3333:4444:5555::/80", "aaaa:2222:3333:4444::/64" },
        { "range=aaaa:2222:3333:4441:5555::/80", "null" },
        { "range=aaa1:2222:3333:4444:5555::/80", "null" },
        { "range=aaaa:2222:3333:4444:5555:6666:7777:8888/48", "null" },
        { "range=aaaa:2222:3333:4444:5555:6666:7777:8888/48&contains=false",
          "aaaa:2222:3333:4444::/64" },
        { "range=aaaa:2222:3333:4445:5555:6666:7777:8888/48", "null" },
        { "ip=bbbb:db8:0000:0000:0000:6fff:ffff:ffff", "bbbb:db8::/81" },
        { "ip=bbbb:db8:0000:0000:0000:8fff:ffff:ffff", "null" },
        /* IPv4 and IPv6 never match each other. */
        { "range=::/0", "null" },
        { "range=::/0&contains=false", "aaaa:2222:3333:4444::/64,bbbb:db8::/81" },
        { "range=0.0.0.0/0&contains=false", "4.4.4.0/24" },
    };

    add_ip(f->s, "4.4.4.0/24");
    add_ip(f->s, "aaaa:2222:3333:4444::/64");
    add_ip(f->s, "bbbb:db8::/81");
    run_cases(f->s, cases, ARRAY_SIZE(cases));
}

/* 98_ipv6_range's deletions: "decisions delete -r R --contained" expires only what R holds. */
static void
test_expire_contained(void **state)
{
    struct fixture *f = fixture(state);
    struct store_param pv[] = { { "range", "bbbb:db8::/81" }, { "contains", "false" } };
    struct store_params p = { pv, 2 };
    struct store_error err = { { 0 } };
    int64_t n = -1;
    char got[512];

    add_ip(f->s, "bbbb:db8::/81");
    add_ip(f->s, "bbbb:db8:0000:0000:0000:8fff:ffff:ffff");
    add_ip(f->s, "bbbb:db8:0000:0000:0000:6fff:ffff:ffff");
    assert_int_equal(store_decisions_expire(f->s, &p, NOW, &n, NULL, &err), 0);
    assert_int_equal(n, 2); /* the /81 itself and the 6fff address */
    list_values(f->s, "", NOW + 1, got, sizeof(got));
    assert_string_equal(got, "bbbb:db8:0000:0000:0000:8fff:ffff:ffff");
}

/*
 * Containment against an oracle: decisionIPFilter evaluated here, row by row,
 * on the encoded ranges, for single addresses and ranges of both families
 * (IPv6 /64s have start_ip = end_ip and only their suffixes differ), whole
 * address spaces, and range bounds; contains true and false, on
 * GET /v1/decisions and on DELETE /v1/decisions.
 */
static const char *const oracle_stored[] = {
    "1.2.3.4",
    "1.2.3.5",
    "1.2.3.0/24",
    "1.2.0.0/16",
    "1.2.3.4/32",
    "10.0.0.0/8",
    "9.255.255.255",
    "10.0.0.0",
    "10.255.255.255",
    "11.0.0.0",
    "0.0.0.0/0",
    "aaaa:2222:3333:4444::/64",
    "aaaa:2222:3333:4444:5555:6666:7777:8888",
    "aaaa:2222:3333::/48",
    "aaaa:2222:3333:4444:5555::/80",
    "aaaa:2222:3333:4444::1/128",
    "bbbb:db8::/81",
    "bbbb:db8::6fff:ffff:ffff",
    "::1",
    "::/0",
};

static const char *const oracle_probes[] = {
    "1.2.3.7",
    "1.2.4.1",
    "1.2.3.0/25",
    "1.2.3.4/31",
    "10.128.0.0/9",
    "0.0.0.0",
    "255.255.255.255",
    "aaaa:2222:3333:4444:ffff::1",
    "aaaa:2222:3333:4445::1",
    "aaaa:2222:3333:4444::/96",
    "bbbb:db8::8fff:0:0",
    "::",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};

static bool
oracle_match(const struct store_range *d, const struct store_range *q, bool contains)
{
    if (d->size != q->size)
        return false;
    if (q->size == 4)
        return contains ? d->start_ip <= q->start_ip && d->end_ip >= q->end_ip
                        : d->start_ip >= q->start_ip && d->end_ip <= q->end_ip;
    if (contains)
        return (d->start_ip < q->start_ip ||
                (d->start_ip == q->start_ip && d->start_sfx <= q->start_sfx)) &&
               (d->end_ip > q->end_ip || (d->end_ip == q->end_ip && d->end_sfx >= q->end_sfx));
    return (d->start_ip > q->start_ip ||
            (d->start_ip == q->start_ip && d->start_sfx >= q->start_sfx)) &&
           (d->end_ip < q->end_ip || (d->end_ip == q->end_ip && d->end_sfx <= q->end_sfx));
}

/* The stored values matching probe, in insertion (id) order, comma-joined, or "null". */
static void
oracle_expect(const char *probe, bool contains, char *out, size_t len)
{
    struct store_range q, d;
    size_t off = 0;

    assert_int_equal(store_range_parse(probe, &q), 0);
    snprintf(out, len, "null");
    for (size_t i = 0; i < ARRAY_SIZE(oracle_stored); i++) {
        assert_int_equal(store_range_parse(oracle_stored[i], &d), 0);
        if (oracle_match(&d, &q, contains))
            off += (size_t)snprintf(out + off, len - off, "%s%s", off ? "," : "", oracle_stored[i]);
    }
}

static void
oracle_fill(struct store *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(oracle_stored); i++)
        add_ip(s, oracle_stored[i]);
}

static const char *
oracle_probe(size_t i)
{
    return i < ARRAY_SIZE(oracle_stored) ? oracle_stored[i]
                                         : oracle_probes[i - ARRAY_SIZE(oracle_stored)];
}

static void
test_ip_oracle(void **state)
{
    struct fixture *f = fixture(state);
    size_t nprobes = ARRAY_SIZE(oracle_stored) + ARRAY_SIZE(oracle_probes);
    char q[128], got[2048], want[2048];
    int bad = 0, checked = 0;

    oracle_fill(f->s);
    for (size_t i = 0; i < nprobes; i++) {
        const char *probe = oracle_probe(i);
        for (int c = 0; c < 2; c++) {
            snprintf(q, sizeof(q), "%s=%s%s", strchr(probe, '/') ? "range" : "ip", probe,
                     c ? "" : "&contains=false");
            oracle_expect(probe, c, want, sizeof(want));
            list_values(f->s, q, NOW, got, sizeof(got));
            checked++;
            if (strcmp(got, want) != 0) {
                print_error("'%s': got '%s', want '%s'\n", q, got, want);
                bad++;
            }
        }
    }
    assert_int_equal(checked, 2 * (int)nprobes);
    assert_int_equal(bad, 0);
}

static void
test_ip_oracle_expire(void **state)
{
    struct fixture *f = fixture(state);
    size_t nprobes = ARRAY_SIZE(oracle_stored) + ARRAY_SIZE(oracle_probes);
    char got[2048], want[2048];
    int bad = 0;

    /* Every third probe, alternating contains, keeps the suite fast. */
    for (size_t i = 0; i < nprobes; i += 3) {
        const char *probe = oracle_probe(i);
        bool contains = (i / 3) % 2 == 0;
        struct store_param pv[] = { { strchr(probe, '/') ? "range" : "ip", probe },
                                    { "contains", contains ? "true" : "false" } };
        struct store_params p = { pv, 2 };
        struct store_decision_list l = { 0 };
        struct store_error err = { { 0 } };
        int64_t n = -1;
        size_t off = 0;

        wipe(f->s);
        oracle_fill(f->s);
        if (store_decisions_expire(f->s, &p, NOW, &n, &l, &err) < 0)
            fail_msg("expire %s: %s", probe, err.msg);
        snprintf(got, sizeof(got), "null");
        for (size_t k = 0; k < l.n; k++)
            off +=
                (size_t)snprintf(got + off, sizeof(got) - off, "%s%s", k ? "," : "", l.v[k].value);
        oracle_expect(probe, contains, want, sizeof(want));
        if (strcmp(got, want) != 0 || n != (int64_t)l.n) {
            print_error("expire %s contains=%d: got '%s' (%lld), want '%s'\n", probe, contains, got,
                        (long long)n, want);
            bad++;
        }
        store_decision_list_clear(&l);
    }
    assert_int_equal(bad, 0);
}

static void
test_filters(void **state)
{
    struct fixture *f = fixture(state);
    static const struct dspec ds[] = {
        { "Ip", "10.0.0.1", "ban", "crowdsec", "crowdsecurity/ssh-bf", "4h", false },
        { "Ip", "10.0.0.2", "captcha", "cscli", "crowdsecurity/http-probing", "4h", false },
        { "Range", "10.1.0.0/16", "ban", "lists", "lists:firehol", "4h", false },
        { "Country", "FR", "ban", "CAPI", "crowdsecurity/HTTP-bad-UA", "4h", false },
        { "Ip", "10.0.0.3", "ban", "crowdsec", "crowdsecurity/ssh-slow-bf", "4h", true },
        { "Ip", "10.0.0.4", "ban", "crowdsec", "crowdsecurity/ssh-bf", "1h", false },
    };
    static const struct qcase cases[] = {
        { "", "10.0.0.1,10.0.0.2,10.1.0.0/16,FR,10.0.0.4" },
        { "scopes=ip", "10.0.0.1,10.0.0.2,10.0.0.4" },
        { "scope=range,country", "10.1.0.0/16,FR" },
        { "scopes=Ip,RANGE", "10.0.0.1,10.0.0.2,10.1.0.0/16,10.0.0.4" },
        { "value=FR", "FR" },
        { "type=captcha", "10.0.0.2" },
        { "origins=lists,CAPI", "10.1.0.0/16,FR" },
        { "scenarios_containing=SSH", "10.0.0.1,10.0.0.4" },
        { "scenarios_containing=bad-ua,probing", "10.0.0.2,FR" },
        { "scenarios_not_containing=ssh,lists", "10.0.0.2,FR" },
        { "scenarios_containing=%", "null" },
        { "scenarios_containing=_", "null" },
        { "simulated=true", "10.0.0.1,10.0.0.2,10.1.0.0/16,FR,10.0.0.3,10.0.0.4" },
        { "ip=10.1.2.3", "10.1.0.0/16" },
        { "range=10.0.0.0/8&contains=false", "10.0.0.1,10.0.0.2,10.1.0.0/16,10.0.0.4" },
        { "limit=2", "10.0.0.1,10.0.0.2" },
        { "limit=2&offset=1", "10.0.0.2,10.1.0.0/16" },
        { "unknown=1", "10.0.0.1,10.0.0.2,10.1.0.0/16,FR,10.0.0.4" },
    };
    char got[512];

    for (size_t i = 0; i < ARRAY_SIZE(ds); i++)
        assert_true(add_decision(f->s, &ds[i], STOP, NOW) > 0);
    run_cases(f->s, cases, ARRAY_SIZE(cases));
    /* until < now is not listed; until == now still is (UntilGTE). */
    list_values(f->s, "", NOW + 1 * HOURS, got, sizeof(got));
    assert_string_equal(got, "10.0.0.1,10.0.0.2,10.1.0.0/16,FR,10.0.0.4");
    list_values(f->s, "", NOW + 1 * HOURS + 1, got, sizeof(got));
    assert_string_equal(got, "10.0.0.1,10.0.0.2,10.1.0.0/16,FR");
}

static void
test_filter_errors(void **state)
{
    struct fixture *f = fixture(state);
    static const struct store_param bad[][1] = {
        { { "ip", "1.2.3" } },
        { { "contains", "maybe" } },
        { { "limit", "x" } },
        { { "range", "1.2.3.4/33" } },
    };
    struct store_decision_list l = { 0 };
    struct store_error err = { { 0 } };
    struct store_param ep = { "bogus", "1" };
    struct store_params p = { &ep, 1 };
    int64_t n;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct store_params bp = { bad[i], 1 };
        if (store_decisions_list(f->s, &bp, NOW, &l, &err) != -EINVAL)
            fail_msg("case %zu (%s=%s) accepted", i, bad[i][0].key, bad[i][0].value);
    }
    assert_int_equal(store_decisions_expire(f->s, &p, NOW, &n, NULL, &err), -EINVAL);
    assert_string_equal(err.msg, "'bogus' doesn't exist: invalid filter");
    assert_int_equal(store_decision_expire_id(f->s, 424242, NOW, &n, &err), -ENOENT);
}

static void
test_expire(void **state)
{
    struct fixture *f = fixture(state);
    struct store_param pv[] = { { "value", "10.0.0.1" } };
    struct store_params p = { pv, 1 };
    struct store_decision_list ex = { 0 }, l = { 0 };
    struct store_error err = { { 0 } };
    int64_t n = -1;
    char got[256];

    add_ip(f->s, "10.0.0.1");
    add_ip(f->s, "10.0.0.2");
    assert_int_equal(store_decisions_expire(f->s, &p, NOW + SEC, &n, &ex, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ex.n, 1);
    assert_string_equal(ex.v[0].value, "10.0.0.1");
    /* Deleting sets until = now: the row stays, expired. */
    assert_int_equal(store_decisions_expired_since(f->s, NULL, NOW + 2 * SEC, -1, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_true(l.v[0].until == NOW + SEC);
    store_decision_list_clear(&l);
    /* Already expired: a second delete finds nothing. */
    assert_int_equal(store_decisions_expire(f->s, &p, NOW + 2 * SEC, &n, NULL, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_decision_expire_id(f->s, ex.v[0].id, NOW + 3 * SEC, &n, &err), 0);
    assert_int_equal(n, 1);
    store_decision_list_clear(&ex);
    list_values(f->s, "", NOW + 4 * SEC, got, sizeof(got));
    assert_string_equal(got, "10.0.0.2");
}

struct each_out {
    char *buf;
    size_t len, off;
    int64_t last_id;
    int stop_after; /* > 0: stop the scan with 7 after that many rows */
};

static int
each_row(const struct store_decision *d, void *ctx)
{
    struct each_out *o = ctx;

    if (d->id <= o->last_id)
        return -100; /* not in id order */
    o->last_id = d->id;
    o->off += (size_t)snprintf(o->buf + o->off, o->len - o->off, "%s%s/%s", o->off ? "," : "",
                               d->value, d->type);
    return o->stop_after > 0 && --o->stop_after == 0 ? 7 : 0;
}

/* The stream through both interfaces, which must agree; the list's answer goes to out. */
static void
stream_values(struct store *s, bool expired, int64_t now, int64_t since, char *out, size_t len)
{
    struct store_decision_list l = { 0 };
    struct store_error err = { { 0 } };
    char each[1024] = "";
    struct each_out o = { each, sizeof(each), 0, 0, 0 };
    size_t off = 0;
    int rc = expired ? store_decisions_expired_since(s, NULL, now, since, &l, &err)
                     : store_decisions_new_since(s, NULL, now, since, &l, &err);

    if (rc < 0)
        fail_msg("stream: %s", err.msg);
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++)
        off += (size_t)snprintf(out + off, len - off, "%s%s/%s", i ? "," : "", l.v[i].value,
                                l.v[i].type);
    store_decision_list_clear(&l);
    rc = store_decisions_each(s, expired ? STORE_DQ_EXPIRED : STORE_DQ_NEW, NULL, now, since,
                              each_row, &o, &err);
    if (rc != 0)
        fail_msg("stream each: %d %s", rc, err.msg);
    assert_string_equal(each, out);
}

/* store_decisions_each: filters, early stop, and errors as the list functions. */
static void
test_decisions_each(void **state)
{
    struct fixture *f = fixture(state);
    struct store_param pv[] = { { "ip", "1.2.3.4" } }, bad[] = { { "limit", "x" } };
    struct store_params p = { pv, 1 }, pb = { bad, 1 };
    struct store_error err = { { 0 } };
    char each[256] = "";
    struct each_out o = { each, sizeof(each), 0, 0, 0 };

    add_ip(f->s, "1.2.3.0/24");
    add_ip(f->s, "5.6.7.8");
    add_ip(f->s, "1.2.3.4");
    assert_int_equal(store_decisions_each(f->s, STORE_DQ_LIST, &p, NOW, -1, each_row, &o, &err), 0);
    assert_string_equal(each, "1.2.3.0/24/ban,1.2.3.4/ban");
    o = (struct each_out){ each, sizeof(each), 0, 0, 1 };
    each[0] = '\0';
    assert_int_equal(store_decisions_each(f->s, STORE_DQ_LIST, NULL, NOW, -1, each_row, &o, &err),
                     7);
    assert_string_equal(each, "1.2.3.0/24/ban");
    assert_int_equal(store_decisions_each(f->s, STORE_DQ_LIST, &pb, NOW, -1, each_row, &o, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "invalid limit value"));
}

static void
test_stream(void **state)
{
    struct fixture *f = fixture(state);
    struct dspec a4h = { "Ip", "1.1.1.1", "ban", "crowdsec", "s", "4h", false };
    struct dspec a1h = { "Ip", "1.1.1.1", "ban", "crowdsec", "s", "1h", false };
    struct dspec cap = { "Ip", "1.1.1.1", "captcha", "crowdsec", "s", "1h", false };
    struct dspec b = { "Ip", "2.2.2.2", "ban", "crowdsec", "s", "2h", false };
    char got[512];

    assert_true(add_decision(f->s, &a1h, STOP, NOW) > 0);
    assert_true(add_decision(f->s, &a4h, STOP, NOW) > 0);
    assert_true(add_decision(f->s, &cap, STOP, NOW) > 0);
    assert_true(add_decision(f->s, &b, STOP, NOW + 10 * SEC) > 0);
    /* startup: every active decision, the 1h ban superseded by the 4h one */
    stream_values(f->s, false, NOW, -1, got, sizeof(got));
    assert_string_equal(got, "1.1.1.1/ban,1.1.1.1/captcha,2.2.2.2/ban");
    /* created after the cursor */
    stream_values(f->s, false, NOW + 20 * SEC, NOW + 5 * SEC, got, sizeof(got));
    assert_string_equal(got, "2.2.2.2/ban");
    /* 90 minutes later: the captcha and the short ban expired; the short ban is superseded */
    stream_values(f->s, true, NOW + 90 * 60 * SEC, NOW, got, sizeof(got));
    assert_string_equal(got, "1.1.1.1/captcha");
    stream_values(f->s, true, NOW + 5 * HOURS, NOW + 3 * HOURS, got, sizeof(got));
    assert_string_equal(got, "1.1.1.1/ban");
    stream_values(f->s, true, NOW + 5 * HOURS, -1, got, sizeof(got));
    assert_string_equal(got, "1.1.1.1/ban,1.1.1.1/captcha,2.2.2.2/ban");
}

static struct alert *
full_alert(const char *scenario, const char *ip)
{
    struct alert *a = alert_new();
    struct alert_event *e;
    struct decision *d;

    assert_non_null(a);
    model_strset(&a->scenario, scenario);
    model_strset(&a->scenario_hash, "hash");
    model_strset(&a->scenario_version, "0.1");
    model_strset(&a->message, "Ip 1.2.3.4 performed 'x' (6 events over 2s)");
    model_strset(&a->start_at, "2023-12-31T23:59:58.5Z");
    model_strset(&a->stop_at, STOP);
    model_strset(&a->leakspeed, "10s");
    model_strset(&a->uuid, "a-uuid");
    a->capacity = 5;
    a->events_count = 6;
    a->remediation = true;
    a->source = calloc(1, sizeof(*a->source));
    model_strset(&a->source->scope, "Ip");
    model_strset(&a->source->value, ip);
    model_strset(&a->source->ip, ip);
    model_strset(&a->source->cn, "FR");
    a->source->latitude = 48.5f;
    a->source->longitude = 2.25f;
    e = alert_add_event(a);
    model_strset(&e->timestamp, "2023-12-31T23:59:59Z");
    meta_append(&e->meta, "source_ip", ip);
    meta_append(&e->meta, "http_path", "/a<b>&c");
    meta_append(&a->meta, "target_user", "root");
    d = alert_add_decision(a);
    model_strset(&d->scope, "Ip");
    model_strset(&d->value, ip);
    model_strset(&d->type, "ban");
    model_strset(&d->origin, "crowdsec");
    model_strset(&d->scenario, scenario);
    model_strset(&d->duration, "4h");
    model_strset(&d->uuid, "d-uuid");
    return a;
}

static void
test_alert_roundtrip(void **state)
{
    struct fixture *f = fixture(state);
    /* SQL metacharacters go in and come out verbatim. */
    static const char evil[] = "x'); DROP TABLE alerts; -- \"%_\\";
    struct alert *in = full_alert(evil, "1.2.3.4");
    struct store_error err = { { 0 } };
    struct store_alert sa = { 0 };
    struct alert out = { 0 };
    int64_t id = 0;

    assert_int_equal(store_alerts_insert(f->s, in, 1, "machine-1", NOW, &id, &err), 0);
    assert_true(id > 0);
    assert_int_equal(store_alert_get(f->s, id, &sa, &err), 0);
    assert_string_equal(sa.scenario, evil);
    assert_string_equal(sa.machine_id, "machine-1");
    assert_true(sa.started_at == NOW - 1500000000LL);
    assert_true(sa.stopped_at == NOW);
    assert_int_equal(sa.nevents, 1);
    assert_string_equal(sa.events[0].serialized,
                        "[{\"key\":\"source_ip\",\"value\":\"1.2.3.4\"},{\"key\":\"http_path\","
                        "\"value\":\"/a\\u003cb\\u003e\\u0026c\"}]");
    assert_int_equal(sa.meta.len, 1);
    assert_string_equal(sa.meta.items[0].value, "root");
    assert_int_equal(sa.ndecisions, 1);
    assert_true(sa.decisions[0].until == NOW + 4 * HOURS);
    assert_int_equal(sa.decisions[0].ip_size, 4);
    assert_string_equal(sa.source_country, "FR");
    assert_true(sa.source_latitude == 48.5f);

    assert_int_equal(store_alert_to_model(&sa, NOW + 30 * 60 * SEC + 400000000LL, &out), 0);
    assert_string_equal(out.start_at, "2023-12-31T23:59:58Z");
    assert_string_equal(out.created_at, "2024-01-01T00:00:00Z");
    assert_string_equal(out.events[0].timestamp, "2023-12-31 23:59:59 +0000 UTC");
    assert_string_equal(out.events[0].meta.items[1].value, "/a<b>&c");
    assert_string_equal(out.decisions[0].duration, "3h30m0s");
    assert_string_equal(out.machine_id, "machine-1");
    alert_clear(&out);
    store_alert_clear(&sa);
    alert_free(in);
    assert_int_equal(store_alert_get(f->s, id + 1000, &sa, &err), -ENOENT);
}

static void
alert_ids(struct store *s, const char *query, char *out, size_t len)
{
    struct store_param pv[16];
    char buf[512];
    struct store_params p = { pv, parse_query(query, buf, sizeof(buf), pv, 16) };
    struct store_alert_list l = { 0 };
    struct store_error err = { { 0 } };
    size_t off = 0;
    int rc = store_alerts_list(s, &p, NOW, &l, &err);

    if (rc < 0) {
        snprintf(out, len, "error: %s", err.msg);
        return;
    }
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++)
        off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "," : "", l.v[i].source_value);
    store_alert_list_clear(&l);
}

static void
test_alert_filters(void **state)
{
    struct fixture *f = fixture(state);
    static const struct {
        const char *query, *expect;
    } cases[] = {
        { "", "9.9.9.9,5.6.7.8,1.2.3.4" },
        { "sort=ASC", "1.2.3.4,5.6.7.8,9.9.9.9" },
        { "limit=1", "9.9.9.9" },
        { "scope=ip&value=5.6.7.8", "5.6.7.8" },
        { "scenario=b/scn", "5.6.7.8" },
        { "ip=1.2.3.4", "1.2.3.4" },
        { "range=1.2.0.0/16&contains=false", "1.2.3.4" },
        { "decision_type=ban", "5.6.7.8,1.2.3.4" },
        { "origin=crowdsec", "5.6.7.8,1.2.3.4" },
        { "has_active_decision=false", "9.9.9.9" },
        { "has_active_decision=true", "5.6.7.8,1.2.3.4" },
        { "since=1h", "9.9.9.9,5.6.7.8,1.2.3.4" },
        { "until=1h", "" },
        { "with_decisions=false&kind=foo", "" },
        { "foo=bar", "error: filter parameter 'foo' is unknown (=bar): invalid filter" },
    };
    const char *ips[] = { "1.2.3.4", "5.6.7.8" };
    struct store_error err = { { 0 } };
    int64_t id, n = 0;
    char got[512];
    int bad = 0;

    for (size_t i = 0; i < ARRAY_SIZE(ips); i++) {
        struct alert *a = full_alert(i ? "b/scn" : "a/scn", ips[i]);
        assert_int_equal(store_alerts_insert(f->s, a, 1, NULL, NOW + (int64_t)i, &id, &err), 0);
        alert_free(a);
    }
    {
        struct alert *a = full_alert("c/scn", "9.9.9.9");
        decision_clear(&a->decisions[0]);
        free(a->decisions);
        a->decisions = NULL;
        a->ndecisions = 0;
        assert_int_equal(store_alerts_insert(f->s, a, 1, NULL, NOW + 2, &id, &err), 0);
        alert_free(a);
    }
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        alert_ids(f->s, cases[i].query, got, sizeof(got));
        if (strcmp(got, cases[i].expect) != 0) {
            print_error("case %zu '%s': got '%s' want '%s'\n", i, cases[i].query, got,
                        cases[i].expect);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    {
        struct store_param pv[] = { { "scenario", "a/scn" } };
        struct store_params p = { pv, 1 };
        assert_int_equal(store_alerts_delete(f->s, &p, NOW, &n, &err), 0);
        assert_int_equal(n, 1);
    }
    alert_ids(f->s, "", got, sizeof(got));
    assert_string_equal(got, "9.9.9.9,5.6.7.8");
    /* its decision went with it (cascade) */
    list_values(f->s, "", NOW, got, sizeof(got));
    assert_string_equal(got, "5.6.7.8");
    assert_int_equal(store_alert_delete(f->s, id, &err), 0);
    assert_int_equal(store_alert_delete(f->s, id, &err), -ENOENT);
}

static void
test_flush(void **state)
{
    struct fixture *f = fixture(state);
    struct store_flush_config c = { .max_items = 3 };
    struct store_error err = { { 0 } };
    int64_t n = -1;
    char got[512];

    /* Six alerts with short bans, then one long ban created first. */
    struct dspec longban = { "Ip", "10.0.0.0", "ban", "cscli", "s", "100h", false };
    assert_true(add_decision(f->s, &longban, STOP, NOW) > 0);
    for (int i = 1; i <= 6; i++) {
        char ip[32];
        struct dspec d = { "Ip", ip, "ban", "cscli", "s", "1h", false };
        snprintf(ip, sizeof(ip), "10.0.0.%d", i);
        assert_true(add_decision(f->s, &d, STOP, NOW + i * SEC) > 0);
    }
    /* Nothing expired yet: nothing to flush. */
    assert_int_equal(store_flush(f->s, &c, NOW + 10 * SEC, &n, &err), 0);
    assert_int_equal(n, 0);
    /* Two hours later: ids below max-3 without an active decision go; the long ban stays. */
    assert_int_equal(store_flush(f->s, &c, NOW + 2 * HOURS, &n, &err), 0);
    assert_int_equal(n, 2);
    alert_ids(f->s, "sort=ASC", got, sizeof(got));
    assert_string_equal(got, "10.0.0.0,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6");
    c.max_items = 0;
    c.max_age = 3 * SEC;
    assert_int_equal(store_flush(f->s, &c, NOW + 2 * HOURS, &n, &err), 0);
    assert_int_equal(n, 4);
    alert_ids(f->s, "", got, sizeof(got));
    assert_string_equal(got, "10.0.0.0");
}

static void
test_second_connection(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    struct store *other = NULL;
    char got[256];

    assert_int_equal(store_open(f->type, f->dsn, &other, &err), 0);
    add_ip(f->s, "192.0.2.1");
    list_values(other, "ip=192.0.2.1", NOW, got, sizeof(got));
    assert_string_equal(got, "192.0.2.1");
    add_ip(other, "192.0.2.2");
    list_values(f->s, "range=192.0.2.0/24&contains=false", NOW, got, sizeof(got));
    assert_string_equal(got, "192.0.2.1,192.0.2.2");
    store_close(other);
}

static void
test_machines_bouncers(void **state)
{
    struct fixture *f = fixture(state);
    struct store_machine m = { .machine_id = "m1",
                               .password = "$2a$10$hash",
                               .ip_address = "127.0.0.1" };
    struct store_bouncer b = { .name = "fw'1", .api_key = "abc123" };
    struct store_machine mg = { 0 };
    struct store_bouncer bg = { 0 }, *bl = NULL;
    struct store_error err = { { 0 } };
    size_t nb = 0;
    int64_t id;

    assert_int_equal(store_machine_create(f->s, &m, NOW, &id, &err), 0);
    assert_int_equal(store_machine_create(f->s, &m, NOW, &id, &err), -EEXIST);
    assert_int_equal(store_machine_set_validated(f->s, "m1", true, NOW, &err), 0);
    assert_int_equal(store_machine_update_login(f->s, "m1", "a,b", "10.0.0.1", "v1.6", NOW, &err),
                     0);
    assert_int_equal(store_machine_touch(f->s, "m1", true, false, NOW + SEC, &err), 0);
    assert_int_equal(store_machine_get(f->s, "m1", &mg, &err), 0);
    assert_true(mg.is_validated);
    assert_string_equal(mg.scenarios, "a,b");
    assert_string_equal(mg.password, "$2a$10$hash");
    assert_true(mg.last_heartbeat == NOW + SEC);
    assert_true(mg.last_push == 0);
    store_machine_clear(&mg);
    assert_int_equal(store_machine_delete(f->s, "m1", &err), 0);
    assert_int_equal(store_machine_get(f->s, "m1", &mg, &err), -ENOENT);

    assert_int_equal(store_bouncer_create(f->s, &b, NOW, &id, &err), 0);
    assert_int_equal(store_bouncer_create(f->s, &b, NOW, &id, &err), -EEXIST);
    assert_int_equal(store_bouncer_get_by_key(f->s, "abc123", &bg, &err), 0);
    assert_string_equal(bg.name, "fw'1");
    assert_true(bg.last_pull < 0);
    store_bouncer_clear(&bg);
    assert_int_equal(store_bouncer_get_by_key(f->s, "' OR '1'='1", &bg, &err), -ENOENT);
    assert_int_equal(store_bouncer_set_last_pull(f->s, "fw'1", NOW, &err), 0);
    assert_int_equal(store_bouncer_update_info(f->s, "fw'1", "::1", "crowdsec-firewall-bouncer",
                                               "v0.0.25", NOW, &err),
                     0);
    assert_int_equal(store_bouncer_list(f->s, &bl, &nb, &err), 0);
    assert_int_equal(nb, 1);
    assert_true(bl[0].last_pull == NOW);
    assert_string_equal(bl[0].type, "crowdsec-firewall-bouncer");
    store_bouncer_clear(&bl[0]);
    free(bl);
    assert_int_equal(store_bouncer_delete(f->s, "fw'1", &err), 0);
    assert_int_equal(store_bouncer_get_by_name(f->s, "fw'1", &bg, &err), -ENOENT);
}

/* --- fixtures --- */

static int
reset(void **state)
{
    struct fixture *f = *state;
    if (f->s)
        wipe(f->s);
    return 0;
}

static struct fixture sqlite_fx = { .type = "sqlite" };
static struct fixture pg_fx = { .type = "postgres" };

static void
sqlite_open(void)
{
    struct fixture *f = &sqlite_fx;
    struct store_error err = { { 0 } };
    int fd;

    snprintf(f->path, sizeof(f->path), "/tmp/phalanx-store-XXXXXX");
    fd = mkstemp(f->path);
    if (fd < 0) {
        snprintf(f->failure, sizeof(f->failure), "mkstemp: %s", strerror(errno));
        return;
    }
    close(fd);
    memcpy(f->dsn, f->path, sizeof(f->path));
    if (store_open("sqlite", f->dsn, &f->s, &err) < 0 || store_migrate(f->s, &err) < 0) {
        snprintf(f->failure, sizeof(f->failure), "%s", err.msg);
        store_close(f->s);
        f->s = NULL;
    }
}

static void
pg_open(void)
{
    struct fixture *f = &pg_fx;
    const char *ci = getenv("PHALANX_PG_CONNINFO");
    struct store_error err = { { 0 } };

    if (!ci || !*ci) {
        snprintf(f->failure, sizeof(f->failure),
                 "PHALANX_PG_CONNINFO is not set: start a server with scripts/pg-test.sh "
                 "(or set PHALANX_PG=skip)");
        return;
    }
    snprintf(f->dsn, sizeof(f->dsn), "%s", ci);
    /* A fresh schema for every run, whatever an earlier run left behind. */
    if (store_open("postgres", ci, &f->s, &err) < 0 ||
        store_exec(f->s, "DROP SCHEMA public CASCADE", NULL, 0, NULL, NULL, NULL, &err) < 0 ||
        store_exec(f->s, "CREATE SCHEMA public", NULL, 0, NULL, NULL, NULL, &err) < 0 ||
        store_migrate(f->s, &err) < 0) {
        snprintf(f->failure, sizeof(f->failure), "%s: %s", ci, err.msg);
        store_close(f->s);
        f->s = NULL;
    }
}

static void
close_all(void)
{
    char p[300];

    store_close(sqlite_fx.s);
    store_close(pg_fx.s);
    if (sqlite_fx.path[0]) {
        unlink(sqlite_fx.path);
        snprintf(p, sizeof(p), "%s-wal", sqlite_fx.path);
        unlink(p);
        snprintf(p, sizeof(p), "%s-shm", sqlite_fx.path);
        unlink(p);
    }
}

static const struct {
    const char *name;
    CMUnitTestFunction fn;
} suite[] = {
    { "migrate", test_migrate },
    { "migrate_v1", test_migrate_v1 },
    { "ip_single", test_ip_single },
    { "ip_oracle", test_ip_oracle },
    { "ip_oracle_expire", test_ip_oracle_expire },
    { "decisions_each", test_decisions_each },
    { "ip_range", test_ip_range },
    { "expire_contained", test_expire_contained },
    { "filters", test_filters },
    { "filter_errors", test_filter_errors },
    { "expire", test_expire },
    { "stream", test_stream },
    { "alert_roundtrip", test_alert_roundtrip },
    { "alert_filters", test_alert_filters },
    { "flush", test_flush },
    { "second_connection", test_second_connection },
    { "machines_bouncers", test_machines_bouncers },
};

int
main(void)
{
    struct fixture *fx[] = { &sqlite_fx, &pg_fx };
    struct CMUnitTest tests[2 * ARRAY_SIZE(suite)];
    char names[2 * ARRAY_SIZE(suite)][64];
    size_t n = 0;
    int rc;

    sqlite_open();
    pg_open();
    /* One group, so one TAP plan: every case once per backend. */
    for (size_t b = 0; b < ARRAY_SIZE(fx); b++) {
        for (size_t i = 0; i < ARRAY_SIZE(suite); i++, n++) {
            snprintf(names[n], sizeof(names[n]), "%s_%s", fx[b]->type, suite[i].name);
            tests[n] = (struct CMUnitTest){ .name = names[n],
                                            .test_func = suite[i].fn,
                                            .setup_func = reset,
                                            .initial_state = fx[b] };
        }
    }
    rc = cmocka_run_group_tests_name("store", tests, NULL, NULL);
    close_all();
    return rc;
}
