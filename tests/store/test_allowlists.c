/*
 * test_allowlists.c - the store's allowlists and usage metrics (schema
 * version 3), run on SQLite (a temporary file) and on PostgreSQL (the server
 * of PHALANX_PG_CONNINFO, in a schema of its own so the other storage suites
 * can share the server; PHALANX_PG=skip skips that half).
 *
 * The containment table follows CrowdSec's IsAllowlistedBy: an address or
 * range matches the unexpired items that contain it or that it contains,
 * reported as "VALUE from LIST (COMMENT)" sorted by list name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"

#define SEC       1000000000LL
#define NOW       (1704067200LL * SEC) /* 2024-01-01T00:00:00Z */
#define STOP      "2024-01-01T00:00:00Z"
#define HOURS     (3600LL * SEC)
#define PG_SCHEMA "phx_allowlists_test"

struct fixture {
    const char *type;
    char path[256]; /* SQLite file, removed at the end */
    struct store *s;
    char failure[1024];
};

static struct fixture sqlite_fx = { .type = "sqlite" };
static struct fixture pg_fx = { .type = "postgres" };

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

static int
reset(void **state)
{
    static const char *const q[] = { "DELETE FROM allowlist_items", "DELETE FROM allowlists",
                                     "DELETE FROM metrics", "DELETE FROM decisions",
                                     "DELETE FROM alerts" };
    struct fixture *f = *state;

    for (size_t i = 0; f->s != NULL && i < ARRAY_SIZE(q); i++) {
        struct store_error err = { { 0 } };
        if (store_exec(f->s, q[i], NULL, 0, NULL, NULL, NULL, &err) < 0)
            fail_msg("%s: %s", q[i], err.msg);
    }
    return 0;
}

/* Creates list name and adds values (comment c, expiry exp) to it; returns its id. */
static int64_t
make_list(struct store *s, const char *name, const struct store_allowlist_entry *v, size_t n)
{
    struct store_error err = { { 0 } };
    int64_t id = 0;
    size_t added = 99;

    if (store_allowlist_create(s, name, "desc", NOW - HOURS, &id, &err) != 0)
        fail_msg("create %s: %s", name, err.msg);
    assert_true(id > 0);
    if (store_allowlist_add(s, id, v, n, NOW - HOURS, &added, &err) != 0)
        fail_msg("add to %s: %s", name, err.msg);
    return id;
}

static int64_t
add_decision(struct store *s, const char *value)
{
    struct alert a = { 0 };
    struct decision *dec;
    struct store_error err = { { 0 } };
    const char *scope = strchr(value, '/') ? "Range" : "Ip";
    int64_t id = -1;

    assert_int_equal(model_strset(&a.scenario, "test/scenario"), 0);
    assert_int_equal(model_strset(&a.start_at, STOP), 0);
    assert_int_equal(model_strset(&a.stop_at, STOP), 0);
    assert_int_equal(model_strset(&a.message, "test"), 0);
    a.source = calloc(1, sizeof(*a.source));
    assert_non_null(a.source);
    assert_int_equal(model_strset(&a.source->scope, scope), 0);
    assert_int_equal(model_strset(&a.source->value, value), 0);
    dec = alert_add_decision(&a);
    assert_non_null(dec);
    assert_int_equal(model_strset(&dec->scope, scope), 0);
    assert_int_equal(model_strset(&dec->value, value), 0);
    assert_int_equal(model_strset(&dec->type, "ban"), 0);
    assert_int_equal(model_strset(&dec->origin, "cscli"), 0);
    assert_int_equal(model_strset(&dec->scenario, "test/scenario"), 0);
    assert_int_equal(model_strset(&dec->duration, "4h"), 0);
    if (store_alerts_insert(s, &a, 1, NULL, NOW, &id, &err) < 0)
        fail_msg("insert %s: %s", value, err.msg);
    alert_clear(&a);
    return id;
}

/* --- tests --- */

static int
count_row(const struct sql_row *r, void *ctx)
{
    *(int64_t *)ctx = r->be->col_int(r, 0);
    return 0;
}

static int64_t
count(struct store *s, const char *q)
{
    struct store_error err = { { 0 } };
    int64_t n = -1;
    if (store_exec(s, q, NULL, 0, count_row, &n, NULL, &err) < 0)
        fail_msg("%s: %s", q, err.msg);
    return n;
}

static void
test_schema(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    int v = -1;

    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, 3);
    /* Migrating again is a no-op. */
    assert_int_equal(store_migrate(f->s, &err), 0);
    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, 3);
}

static void
test_lists(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    struct store_allowlist a = { 0 }, *v = NULL;
    size_t n = 0, added = 0;
    int64_t id = 0, id2 = 0, removed = -1;
    const struct store_allowlist_entry e[] = {
        { "1.2.3.4", "one", 0 },
        { "not-an-ip", "skipped", 0 },
        { "2001:db8::/64", "", NOW + HOURS },
        { "10.0.0.0/8", NULL, 0 },
    };
    const char *const rm[] = { "1.2.3.4", "9.9.9.9" };

    assert_int_equal(store_allowlist_create(f->s, "mylist", "my 'desc'", NOW, &id, &err), 0);
    assert_int_equal(store_allowlist_create(f->s, "mylist", "again", NOW, NULL, &err), -EEXIST);
    assert_string_equal(err.msg, "allowlist 'mylist' already exists");
    assert_int_equal(store_allowlist_create(f->s, "other", "", NOW, &id2, &err), 0);
    assert_true(id2 > id);

    assert_int_equal(store_allowlist_add(f->s, id, e, ARRAY_SIZE(e), NOW + SEC, &added, &err), 0);
    assert_int_equal(added, 3);
    assert_int_equal(store_allowlist_get(f->s, "mylist", true, &a, &err), 0);
    assert_string_equal(a.name, "mylist");
    assert_string_equal(a.description, "my 'desc'");
    assert_string_equal(a.allowlist_id, "");
    assert_false(a.from_console);
    assert_int_equal(a.created_at, NOW);
    assert_int_equal(a.updated_at, NOW + SEC);
    assert_int_equal(a.nitems, 3);
    assert_string_equal(a.items[0].value, "1.2.3.4");
    assert_string_equal(a.items[0].comment, "one");
    assert_int_equal(a.items[0].expires_at, 0);
    assert_string_equal(a.items[1].value, "2001:db8::/64");
    assert_int_equal(a.items[1].expires_at, NOW + HOURS);
    assert_string_equal(a.items[2].value, "10.0.0.0/8");
    assert_string_equal(a.items[2].comment, "");
    assert_int_equal(a.items[2].created_at, NOW + SEC);
    store_allowlist_clear(&a);

    /* Without items. */
    assert_int_equal(store_allowlist_get(f->s, "mylist", false, &a, &err), 0);
    assert_int_equal(a.nitems, 0);
    assert_null(a.items);
    store_allowlist_clear(&a);

    assert_int_equal(store_allowlist_remove(f->s, id, rm, ARRAY_SIZE(rm), &removed, &err), 0);
    assert_int_equal(removed, 1);

    assert_int_equal(store_allowlist_list(f->s, true, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "mylist");
    assert_int_equal(v[0].nitems, 2);
    assert_string_equal(v[1].name, "other");
    assert_int_equal(v[1].nitems, 0);
    store_allowlists_free(v, n);

    assert_int_equal(store_allowlist_delete(f->s, "mylist", &err), 0);
    assert_int_equal(store_allowlist_delete(f->s, "mylist", &err), -ENOENT);
    assert_string_equal(err.msg, "allowlist mylist not found");
    assert_int_equal(store_allowlist_get(f->s, "mylist", false, &a, &err), -ENOENT);
    assert_string_equal(err.msg, "allowlist 'mylist' not found");
    /* Its items went with it. */
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM allowlist_items"), 0);
    assert_int_equal(store_allowlist_list(f->s, false, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    store_allowlists_free(v, n);
}

static void
test_match(void **state)
{
    struct fixture *f = fixture(state);
    /* b_list first, so the id order differs from the name order. */
    const struct store_allowlist_entry b[] = {
        { "192.168.1.0/24", "lan", 0 },
        { "2001:db8:1::/48", "v6 lan", 0 },
    };
    const struct store_allowlist_entry a[] = {
        { "10.0.0.1", "", 0 },
        { "172.16.0.1", "expired", NOW - SEC },
        { "8.8.8.8", "", NOW + HOURS },
        { "2001:db8::/32", "", 0 },
        { "::1", "", 0 },
    };
    static const struct {
        const char *value;
        int rc;
        const char *want;
    } cases[] = {
        { "192.168.1.7", 0, "192.168.1.0/24 from b_list (lan)" },
        { "192.168.1.0/24", 0, "192.168.1.0/24 from b_list (lan)" },
        { "192.168.1.128/25", 0, "192.168.1.0/24 from b_list (lan)" },
        { "192.168.0.0/16", 0, "192.168.1.0/24 from b_list (lan)" },
        { "192.168.2.1", 0, "" },
        { "10.0.0.1", 0, "10.0.0.1 from a_list" },
        { "10.0.0.2", 0, "" },
        { "10.0.0.0/30", 0, "10.0.0.1 from a_list" },
        { "172.16.0.1", 0, "" },
        { "8.8.8.8", 0, "8.8.8.8 from a_list" },
        { "0.0.0.0/0", 0,
          "10.0.0.1 from a_list|8.8.8.8 from a_list|192.168.1.0/24 from b_list (lan)" },
        { "2001:db8::1", 0, "2001:db8::/32 from a_list" },
        { "2001:db8:1::5", 0, "2001:db8::/32 from a_list|2001:db8:1::/48 from b_list (v6 lan)" },
        { "2001:db8:1::/64", 0, "2001:db8::/32 from a_list|2001:db8:1::/48 from b_list (v6 lan)" },
        { "2001:db9::1", 0, "" },
        { "::1", 0, "::1 from a_list" },
        { "::2", 0, "" },
        { "::/0", 0,
          "2001:db8::/32 from a_list|::1 from a_list|2001:db8:1::/48 from b_list (v6 lan)" },
        { "1.2.3", -EINVAL, "" },
        { "foo", -EINVAL, "" },
        { "10.0.0.0/33", -EINVAL, "" },
    };
    int bad = 0;

    make_list(f->s, "b_list", b, ARRAY_SIZE(b));
    make_list(f->s, "a_list", a, ARRAY_SIZE(a));
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct store_error err = { { 0 } };
        struct store_strings got = { 0 };
        char joined[512] = "";
        int rc = store_allowlist_match(f->s, cases[i].value, NOW, &got, &err);
        for (size_t k = 0; k < got.n; k++) {
            size_t l = strlen(joined);
            snprintf(joined + l, sizeof(joined) - l, "%s%s", k > 0 ? "|" : "", got.v[k]);
        }
        if (rc != cases[i].rc || strcmp(joined, cases[i].want) != 0) {
            print_error("case %zu: '%s': got %d '%s', want %d '%s'\n", i, cases[i].value, rc,
                        joined, cases[i].rc, cases[i].want);
            bad++;
        }
        store_strings_clear(&got);
    }
    assert_int_equal(bad, 0);
}

struct collect {
    char buf[512];
};

static int
collect_value(const struct store_decision *d, void *ctx)
{
    struct collect *c = ctx;
    size_t l = strlen(c->buf);
    snprintf(c->buf + l, sizeof(c->buf) - l, "%s%s", l > 0 ? " " : "", d->value);
    return 0;
}

static void
test_apply(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    const struct store_allowlist_entry items[] = {
        { "192.168.1.0/24", "", 0 },
        { "10.0.0.1", "", 0 },
        { "2001:db8::/32", "", 0 },
        { "5.5.5.5", "expired", NOW - SEC },
    };
    static const char *const decisions[] = {
        "192.168.1.5", "10.0.0.0/8", "1.2.3.4",        "2001:db8::5",
        "2001:db9::5", "5.5.5.5",    "192.168.0.0/16",
    };
    struct collect c = { "" };
    int64_t count = -1;

    make_list(f->s, "apply", items, ARRAY_SIZE(items));
    for (size_t i = 0; i < ARRAY_SIZE(decisions); i++)
        assert_true(add_decision(f->s, decisions[i]) > 0);
    assert_int_equal(store_allowlist_apply(f->s, NOW, &count, &err), 0);
    /* 192.168.1.5 (inside), 10.0.0.0/8 and 192.168.0.0/16 (around), 2001:db8::5 (inside). */
    assert_int_equal(count, 4);
    assert_int_equal(
        store_decisions_each(f->s, STORE_DQ_LIST, NULL, NOW + SEC, -1, collect_value, &c, &err), 0);
    assert_string_equal(c.buf, "1.2.3.4 2001:db9::5 5.5.5.5");
    /* Nothing left to expire a second later. */
    assert_int_equal(store_allowlist_apply(f->s, NOW + SEC, &count, &err), 0);
    assert_int_equal(count, 0);
}

static void
test_apply_empty(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    int64_t count = -1;

    assert_true(add_decision(f->s, "1.2.3.4") > 0);
    assert_int_equal(store_allowlist_apply(f->s, NOW, &count, &err), 0);
    assert_int_equal(count, -1); /* untouched: there was nothing to apply */
}

static void
test_metrics(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    struct store_metrics m = { 0 }, got = { 0 };
    int64_t id1 = 0, id2 = 0;

    assert_int_equal(store_metrics_latest(f->s, "RC", "fw1", &got, &err), -ENOENT);

    m = (struct store_metrics){ .generated_type = (char *)"RC",
                                .generated_by = (char *)"fw1",
                                .collected_at = NOW - 192 * HOURS,
                                .payload = (char *)"{\"metrics\":[]}",
                                .version = (char *)"v0.1" };
    if (store_metrics_insert(f->s, &m, &id1, &err) != 0)
        fail_msg("insert: %s", err.msg);
    m.collected_at = NOW;
    m.payload = (char *)"{\"type\":\"cs-firewall-bouncer\",\"metrics\":[{\"items\":[]}]}";
    m.version = (char *)"v0.0.31";
    m.os_name = (char *)"debian";
    m.os_version = (char *)"12";
    m.feature_flags = (char *)"a,b";
    assert_int_equal(store_metrics_insert(f->s, &m, &id2, &err), 0);
    assert_true(id2 > id1);
    m = (struct store_metrics){ .generated_type = (char *)"LP",
                                .generated_by = (char *)"agent1",
                                .collected_at = NOW,
                                .payload = (char *)"{}",
                                .hub_items = (char *)"{\"collections\":[]}",
                                .datasources = (char *)"{\"file\":2}" };
    assert_int_equal(store_metrics_insert(f->s, &m, NULL, &err), 0);

    assert_int_equal(store_metrics_latest(f->s, "RC", "fw1", &got, &err), 0);
    assert_int_equal(got.id, id2);
    assert_int_equal(got.collected_at, NOW);
    assert_int_equal(got.pushed_at, 0);
    assert_string_equal(got.generated_type, "RC");
    assert_string_equal(got.version, "v0.0.31");
    assert_string_equal(got.os_name, "debian");
    assert_string_equal(got.os_version, "12");
    assert_string_equal(got.os_family, "");
    assert_string_equal(got.feature_flags, "a,b");
    assert_string_equal(got.payload,
                        "{\"type\":\"cs-firewall-bouncer\",\"metrics\":[{\"items\":[]}]}");
    store_metrics_clear(&got);
    assert_int_equal(store_metrics_latest(f->s, "LP", "agent1", &got, &err), 0);
    assert_string_equal(got.datasources, "{\"file\":2}");
    assert_string_equal(got.version, "");
    store_metrics_clear(&got);
    assert_int_equal(store_metrics_latest(f->s, "LP", "fw1", &got, &err), -ENOENT);

    /* The 8-day-old push was dropped by the later insert. */
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM metrics"), 2);
}

static void
test_metrics_bounded(void **state)
{
    struct fixture *f = fixture(state);
    struct store_error err = { { 0 } };
    struct store_metrics m = { .generated_type = (char *)"RC",
                               .generated_by = (char *)"fw1",
                               .payload = (char *)"{}" };

    m.collected_at = NOW - 192 * HOURS; /* 8 days */
    assert_int_equal(store_metrics_insert(f->s, &m, NULL, &err), 0);
    m.generated_by = (char *)"fw2";
    m.collected_at = NOW - 144 * HOURS; /* 6 days */
    assert_int_equal(store_metrics_insert(f->s, &m, NULL, &err), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM metrics"), 2);
    m.collected_at = NOW;
    assert_int_equal(store_metrics_insert(f->s, &m, NULL, &err), 0);
    /* fw1's 8-day-old row is gone, fw2's 6-day-old one stays. */
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM metrics WHERE generated_by = 'fw1'"), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM metrics WHERE generated_by = 'fw2'"), 2);
    /* Per generator, only the latest STORE_METRICS_KEEP rows are kept. */
    char q[512];
    snprintf(q, sizeof(q),
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO metrics (generated_type, generated_by, collected_at, payload)"
             " SELECT 'RC', 'fw2', %lld + i, '{}' FROM n",
             STORE_METRICS_KEEP + 3, NOW);
    if (store_exec(f->s, q, NULL, 0, NULL, NULL, NULL, &err) < 0)
        fail_msg("%s: %s", q, err.msg);
    m.collected_at = NOW + STORE_METRICS_KEEP + 4;
    assert_int_equal(store_metrics_insert(f->s, &m, NULL, &err), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM metrics WHERE generated_by = 'fw2'"),
                     STORE_METRICS_KEEP);
    assert_int_equal(
        count(f->s, "SELECT MIN(collected_at) FROM metrics WHERE generated_by = 'fw2'"), NOW + 5);
}

/* --- backends --- */

static void
sqlite_open(void)
{
    struct fixture *f = &sqlite_fx;
    struct store_error err = { { 0 } };

    snprintf(f->path, sizeof(f->path), "/tmp/phalanx-allowlists-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0) {
        snprintf(f->failure, sizeof(f->failure), "mkstemp: %s", strerror(errno));
        return;
    }
    close(fd);
    if (store_open("sqlite", f->path, &f->s, &err) < 0 || store_migrate(f->s, &err) < 0) {
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
    struct store *admin = NULL;
    char dsn[700];

    if (!ci || !*ci) {
        snprintf(f->failure, sizeof(f->failure),
                 "PHALANX_PG_CONNINFO is not set: start a server with scripts/pg-test.sh "
                 "(or set PHALANX_PG=skip)");
        return;
    }
    /* A schema of our own, fresh for every run, whatever an earlier run left behind. */
    if (store_open("postgres", ci, &admin, &err) < 0 ||
        store_exec(admin, "DROP SCHEMA IF EXISTS " PG_SCHEMA " CASCADE", NULL, 0, NULL, NULL, NULL,
                   &err) < 0 ||
        store_exec(admin, "CREATE SCHEMA " PG_SCHEMA, NULL, 0, NULL, NULL, NULL, &err) < 0) {
        snprintf(f->failure, sizeof(f->failure), "%s: %s", ci, err.msg);
        store_close(admin);
        return;
    }
    store_close(admin);
    snprintf(dsn, sizeof(dsn), "%s options='-c search_path=" PG_SCHEMA "'", ci);
    if (store_open("postgres", dsn, &f->s, &err) < 0 || store_migrate(f->s, &err) < 0) {
        snprintf(f->failure, sizeof(f->failure), "%s: %s", dsn, err.msg);
        store_close(f->s);
        f->s = NULL;
    }
}

static void
close_all(void)
{
    char p[300];

    store_close(sqlite_fx.s);
    if (pg_fx.s != NULL) {
        store_exec(pg_fx.s, "DROP SCHEMA IF EXISTS " PG_SCHEMA " CASCADE", NULL, 0, NULL, NULL,
                   NULL, NULL);
        store_close(pg_fx.s);
    }
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
    { "schema", test_schema },
    { "lists", test_lists },
    { "match", test_match },
    { "apply", test_apply },
    { "apply_empty", test_apply_empty },
    { "metrics", test_metrics },
    { "metrics_bounded", test_metrics_bounded },
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
    for (size_t b = 0; b < ARRAY_SIZE(fx); b++) {
        for (size_t i = 0; i < ARRAY_SIZE(suite); i++, n++) {
            snprintf(names[n], sizeof(names[n]), "%s_%s", fx[b]->type, suite[i].name);
            tests[n] = (struct CMUnitTest){ .name = names[n],
                                            .test_func = suite[i].fn,
                                            .setup_func = reset,
                                            .initial_state = fx[b] };
        }
    }
    rc = cmocka_run_group_tests_name("store_allowlists", tests, NULL, NULL);
    close_all();
    return rc;
}
