/*
 * test_flush.c - the store's retention (store_flush_run, CrowdSec's
 * FlushOrphans + FlushAlerts), the machines/bouncers auto-delete
 * (FlushAgentsAndBouncers) and the lease that keeps those jobs to one LAPI
 * node at a time; each case runs on SQLite and on PostgreSQL.
 *
 * PostgreSQL is the server of PHALANX_PG_CONNINFO (scripts/pg-test.sh), in a
 * schema of its own ("flush_test", via the connection's search_path) so this
 * file can run next to test_store on the same database. Without the
 * variable the PostgreSQL cases fail, unless PHALANX_PG=skip.
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
#define HOURS (3600LL * SEC)
#define NOW   (1704067200LL * SEC) /* 2024-01-01T00:00:00Z */

struct fixture {
    const char *type;
    char dsn[700];
    char path[256];
    struct store *s;
    char failure[1024];
};

static struct fixture sqlite_fx = { .type = "sqlite" };
static struct fixture pg_fx = { .type = "postgres" };

static void
exec_ok(struct store *s, const char *sql, const struct sql_val *p, size_t n)
{
    struct store_error err = { { 0 } };

    if (store_exec(s, sql, p, n, NULL, NULL, NULL, &err) < 0)
        fail_msg("%s: %s", sql, err.msg);
}

static int
int_row(const struct sql_row *r, void *ctx)
{
    *(int64_t *)ctx = r->be->col_int(r, 0);
    return 0;
}

static int64_t
count(struct store *s, const char *sql)
{
    struct store_error err = { { 0 } };
    int64_t n = -1;

    if (store_exec(s, sql, NULL, 0, int_row, &n, NULL, &err) < 0)
        fail_msg("%s: %s", sql, err.msg);
    return n;
}

static int
reset(void **state)
{
    static const char *const wipe[] = { "DELETE FROM decisions", "DELETE FROM events",
                                        "DELETE FROM meta",      "DELETE FROM alerts",
                                        "DELETE FROM bouncers",  "DELETE FROM machines" };
    struct fixture *f = *state;

    if (f->s) {
        for (size_t i = 0; i < ARRAY_SIZE(wipe); i++)
            exec_ok(f->s, wipe[i], NULL, 0);
    }
    return 0;
}

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

/* An alert created at created, owned by machine (may be NULL); its id. */
static int64_t
add_alert(struct store *s, int64_t created, const char *machine)
{
    struct sql_val p[] = { sql_int(created), sql_text(machine) };
    struct store_error err = { { 0 } };
    int64_t id = -1;

    exec_ok(s,
            "INSERT INTO alerts (created_at, updated_at, scenario, started_at, stopped_at,"
            " machine_id) VALUES ($1, $1, 'test/flush', $1, $1, $2)",
            p, ARRAY_SIZE(p));
    if (store_exec(s, "SELECT MAX(id) FROM alerts", NULL, 0, int_row, &id, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    return id;
}

/* A decision until until on alert_id (0: orphan, NULL). */
static void
add_decision(struct store *s, int64_t alert_id, int64_t until)
{
    struct sql_val p[] = { sql_int(until), sql_int(alert_id) };

    exec_ok(s,
            "INSERT INTO decisions (created_at, updated_at, until, scenario, type, scope, value,"
            " origin, alert_id) VALUES ($1, $1, $1, 'test/flush', 'ban', 'Ip', '192.0.2.1',"
            " 'cscli', NULLIF($2, 0))",
            p, ARRAY_SIZE(p));
}

static void
add_event(struct store *s, int64_t alert_id)
{
    struct sql_val p[] = { sql_int(alert_id) };

    exec_ok(s,
            "INSERT INTO events (created_at, updated_at, time, serialized, alert_id)"
            " VALUES (0, 0, 0, '[]', NULLIF($1, 0))",
            p, ARRAY_SIZE(p));
}

/*
 * The fixture of the retention table: eight alerts, created an hour apart
 * from NOW - 8h (alert i at NOW - (9 - i) h, i = 1..8). Alerts 2 and 6 carry
 * a decision active until NOW + 1h, alert 4 one that expired at NOW - 1h;
 * each alert has an event. Plus two orphan events, an orphan decision that
 * expired and one still active.
 */
static void
retention_fixture(struct store *s, int64_t ids[9])
{
    for (int i = 1; i <= 8; i++) {
        ids[i] = add_alert(s, NOW - (9 - i) * HOURS, NULL);
        add_event(s, ids[i]);
    }
    add_decision(s, ids[2], NOW + HOURS);
    add_decision(s, ids[6], NOW + HOURS);
    add_decision(s, ids[4], NOW - HOURS);
    add_event(s, 0);
    add_event(s, 0);
    add_decision(s, 0, NOW - HOURS);
    add_decision(s, 0, NOW + HOURS);
}

static void
test_flush_rules(void **state)
{
    struct fixture *f = fixture(state);
    static const struct {
        const char *name;
        int64_t max_age, max_items;
        int64_t by_age, by_count;
        const char *kept; /* alert numbers left, in order */
    } cases[] = {
        { "nothing to do", 0, 0, 0, 0, "12345678" },
        /* Older than 5h30: alerts 1..3; 2 has an active ban and stays. */
        { "max_age", 5 * HOURS + 30LL * 60 * SEC, 0, 2, 0, "245678" },
        /* A limit at the exact creation time deletes it (created_at <= now - max_age). */
        { "max_age boundary", 6 * HOURS, 0, 2, 0, "245678" },
        /* ids < max - 3 = ids of alerts 1..4; 2 stays (active), 4's decision expired. */
        { "max_items", 0, 3, 0, 3, "25678" },
        { "max_items above count", 0, 100, 0, 0, "12345678" },
        /* Both: age first (1, 3 out of 1..3), then the count (4 left below the bound). */
        { "both", 5 * HOURS + 30LL * 60 * SEC, 3, 2, 1, "25678" },
        /* Everything is old: only the alerts with an active decision survive. */
        { "all old", 1, 0, 6, 0, "26" },
    };
    int bad = 0;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct store_flush_config c = { .max_age = cases[i].max_age,
                                        .max_items = cases[i].max_items };
        struct store_flush_report rep;
        struct store_error err = { { 0 } };
        int64_t ids[9] = { 0 };
        char kept[16] = "";
        size_t k = 0;

        reset(state);
        retention_fixture(f->s, ids);
        memset(&rep, 0xff, sizeof(rep));
        assert_int_equal(store_flush_run(f->s, &c, NOW, &rep, &err), 0);
        for (int a = 1; a <= 8; a++) {
            char q[96];
            snprintf(q, sizeof(q), "SELECT COUNT(*) FROM alerts WHERE id = %lld",
                     (long long)ids[a]);
            if (count(f->s, q) == 1 && k < sizeof(kept) - 1)
                kept[k++] = (char)('0' + a);
        }
        kept[k] = '\0';
        if (rep.by_age != cases[i].by_age || rep.by_count != cases[i].by_count ||
            strcmp(kept, cases[i].kept) != 0 || rep.total_alerts != 8 || rep.orphan_events != 2 ||
            rep.orphan_decisions != 1) {
            print_error("case %zu (%s): by_age %lld by_count %lld kept %s total %lld orphans "
                        "%lld/%lld; want %lld %lld %s 8 2/1\n",
                        i, cases[i].name, (long long)rep.by_age, (long long)rep.by_count, kept,
                        (long long)rep.total_alerts, (long long)rep.orphan_events,
                        (long long)rep.orphan_decisions, (long long)cases[i].by_age,
                        (long long)cases[i].by_count, cases[i].kept);
            bad++;
        }
        /* Deleted alerts take their decisions and events; the active orphan ban stays. */
        if (count(f->s, "SELECT COUNT(*) FROM events") != (int64_t)strlen(cases[i].kept) ||
            count(f->s, "SELECT COUNT(*) FROM decisions WHERE alert_id IS NULL") != 1) {
            print_error("case %zu (%s): events or orphan decisions left behind\n", i,
                        cases[i].name);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* store_flush (the CLI's `alerts flush`) is the same run, counting deleted alerts. */
static void
test_flush_total(void **state)
{
    struct fixture *f = fixture(state);
    struct store_flush_config c = { .max_age = 5 * HOURS + 30LL * 60 * SEC, .max_items = 3 };
    struct store_error err = { { 0 } };
    int64_t ids[9], n = -1;

    retention_fixture(f->s, ids);
    assert_int_equal(store_flush(f->s, &c, NOW, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM alerts"), 5);
    /* A second run finds nothing left to do. */
    assert_int_equal(store_flush(f->s, &c, NOW, &n, &err), 0);
    assert_int_equal(n, 0);
}

static void
add_machine(struct store *s, const char *id, const char *auth, const char *ip, int64_t heartbeat)
{
    struct store_machine m = { .machine_id = (char *)id,
                               .password = "x",
                               .ip_address = (char *)ip,
                               .auth_type = (char *)auth };
    struct store_error err = { { 0 } };
    int64_t rowid;

    if (store_machine_create(s, &m, NOW - 100 * HOURS, &rowid, &err) < 0)
        fail_msg("machine %s: %s", id, err.msg);
    if (heartbeat > 0 && store_machine_touch(s, id, true, false, heartbeat, &err) < 0)
        fail_msg("machine %s heartbeat: %s", id, err.msg);
}

static void
add_bouncer(struct store *s, const char *name, const char *auth, int64_t last_pull)
{
    struct store_bouncer b = { .name = (char *)name, .api_key = "k", .auth_type = (char *)auth };
    struct store_error err = { { 0 } };
    int64_t rowid;

    if (store_bouncer_create(s, &b, NOW - 100 * HOURS, &rowid, &err) < 0)
        fail_msg("bouncer %s: %s", name, err.msg);
    if (last_pull >= 0 && store_bouncer_set_last_pull(s, name, last_pull, &err) < 0)
        fail_msg("bouncer %s pull: %s", name, err.msg);
}

static void
test_autodelete(void **state)
{
    struct fixture *f = fixture(state);
    static const struct {
        const char *name, *auth, *ip;
        int64_t seen; /* heartbeat / last pull; 0 (machine) or -1 (bouncer) = never */
        bool owns_alert, bouncer, kept;
    } rows[] = {
        { "m-pw-old", "password", "192.0.2.1", NOW - 3 * HOURS, false, false, false },
        { "m-pw-recent", "password", "192.0.2.2", NOW - HOURS, false, false, true },
        { "m-pw-never", "password", "192.0.2.3", 0, false, false, true },
        { "m-pw-local", "password", "127.0.0.1", NOW - 3 * HOURS, false, false, true },
        { "m-pw-local6", "password", "::1", NOW - 3 * HOURS, false, false, true },
        { "m-pw-alerts", "password", "192.0.2.4", NOW - 3 * HOURS, true, false, true },
        /* cert limit is 10h: an old password machine's age is not enough for tls. */
        { "m-tls-5h", "tls", "192.0.2.5", NOW - 5 * HOURS, false, false, true },
        { "m-tls-11h", "tls", "192.0.2.6", NOW - 11 * HOURS, false, false, false },
        { "b-key-old", "api-key", "", NOW - 3 * HOURS, false, true, false },
        { "b-key-edge", "api-key", "", NOW - 2 * HOURS, false, true, false },
        { "b-key-recent", "api-key", "", NOW - HOURS, false, true, true },
        { "b-key-never", "api-key", "", -1, false, true, true },
        { "b-tls-old", "tls", "", NOW - 3 * HOURS, false, true, true },
    };
    struct store_autodelete lim = { .agents_cert = 10 * HOURS,
                                    .agents_password = 2 * HOURS,
                                    .bouncers_cert = 0,
                                    .bouncers_api_key = 2 * HOURS };
    struct store_autodelete got;
    struct store_error err = { { 0 } };
    int bad = 0;

    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        if (rows[i].bouncer)
            add_bouncer(f->s, rows[i].name, rows[i].auth, rows[i].seen);
        else
            add_machine(f->s, rows[i].name, rows[i].auth, rows[i].ip, rows[i].seen);
        if (rows[i].owns_alert)
            add_alert(f->s, NOW, rows[i].name);
    }
    memset(&got, 0xff, sizeof(got));
    assert_int_equal(store_autodelete_run(f->s, &lim, NOW, &got, &err), 0);
    assert_int_equal(got.agents_password, 1);
    assert_int_equal(got.agents_cert, 1);
    assert_int_equal(got.bouncers_api_key, 2);
    assert_int_equal(got.bouncers_cert, 0);
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct sql_val p = sql_text(rows[i].name);
        int64_t n = -1;
        const char *q = rows[i].bouncer ? "SELECT COUNT(*) FROM bouncers WHERE name = $1"
                                        : "SELECT COUNT(*) FROM machines WHERE machine_id = $1";
        assert_int_equal(store_exec(f->s, q, &p, 1, int_row, &n, NULL, &err), 0);
        if ((n == 1) != rows[i].kept) {
            print_error("row %zu (%s): %s, want %s\n", i, rows[i].name, n == 1 ? "kept" : "deleted",
                        rows[i].kept ? "kept" : "deleted");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    /* All limits off: nothing happens. */
    struct store_autodelete off = { 0 };
    assert_int_equal(store_autodelete_run(f->s, &off, NOW + 1000 * HOURS, &got, &err), 0);
    assert_int_equal(got.agents_password + got.agents_cert + got.bouncers_api_key, 0);
}

/*
 * The lease between two connections (two LAPI nodes). PostgreSQL: one
 * holder at a time, released explicitly or when the holder's connection
 * ends. SQLite: always granted.
 */
static void
test_lease(void **state)
{
    struct fixture *f = fixture(state);
    bool pg = strcmp(store_backend_name(f->s), "postgres") == 0;
    struct store_error err = { { 0 } };
    struct store *a = NULL, *b = NULL;
    bool held = false;

    assert_int_equal(store_open(f->type, f->dsn, &a, &err), 0);
    assert_int_equal(store_open(f->type, f->dsn, &b, &err), 0);
    assert_int_equal(store_try_lease(a, STORE_LEASE_FLUSH, &held, &err), 0);
    assert_true(held);
    assert_int_equal(store_try_lease(b, STORE_LEASE_FLUSH, &held, &err), 0);
    assert_int_equal(held, !pg);
    /* Another key is another lease. */
    assert_int_equal(store_try_lease(b, STORE_LEASE_FLUSH + 1, &held, &err), 0);
    assert_true(held);
    assert_int_equal(store_release_lease(b, STORE_LEASE_FLUSH + 1, &err), 0);
    if (!pg)
        assert_int_equal(store_release_lease(b, STORE_LEASE_FLUSH, &err), 0);
    assert_int_equal(store_release_lease(a, STORE_LEASE_FLUSH, &err), 0);
    assert_int_equal(store_try_lease(b, STORE_LEASE_FLUSH, &held, &err), 0);
    assert_true(held);
    assert_int_equal(store_try_lease(a, STORE_LEASE_FLUSH, &held, &err), 0);
    assert_int_equal(held, !pg);
    if (pg) {
        /* Releasing what this connection does not hold is an error. */
        assert_int_equal(store_release_lease(a, STORE_LEASE_FLUSH, &err), -ENOENT);
        /* A holder that goes away (a node killed mid-run) frees the lease. */
        store_close(b);
        b = NULL;
        held = false;
        for (int i = 0; i < 100 && !held; i++) {
            assert_int_equal(store_try_lease(a, STORE_LEASE_FLUSH, &held, &err), 0);
            if (!held)
                usleep(20 * 1000);
        }
        assert_true(held);
    }
    assert_int_equal(store_release_lease(a, STORE_LEASE_FLUSH, &err), 0);
    store_close(a);
    store_close(b);
}

static void
sqlite_open(void)
{
    struct fixture *f = &sqlite_fx;
    struct store_error err = { { 0 } };
    int fd;

    snprintf(f->path, sizeof(f->path), "/tmp/phalanx-test-flush-XXXXXX");
    fd = mkstemp(f->path);
    if (fd < 0) {
        snprintf(f->failure, sizeof(f->failure), "mkstemp: %s", strerror(errno));
        f->path[0] = '\0';
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
    struct store *admin = NULL;

    if (!ci || !*ci) {
        snprintf(f->failure, sizeof(f->failure),
                 "PHALANX_PG_CONNINFO is not set: start a server with scripts/pg-test.sh "
                 "(or set PHALANX_PG=skip)");
        return;
    }
    snprintf(f->dsn, sizeof(f->dsn), "%s options='-c search_path=flush_test'", ci);
    if (store_open("postgres", ci, &admin, &err) < 0 ||
        store_exec(admin, "DROP SCHEMA IF EXISTS flush_test CASCADE", NULL, 0, NULL, NULL, NULL,
                   &err) < 0 ||
        store_exec(admin, "CREATE SCHEMA flush_test", NULL, 0, NULL, NULL, NULL, &err) < 0 ||
        store_open("postgres", f->dsn, &f->s, &err) < 0 || store_migrate(f->s, &err) < 0) {
        snprintf(f->failure, sizeof(f->failure), "%s: %s", ci, err.msg);
        store_close(f->s);
        f->s = NULL;
    }
    store_close(admin);
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
    { "flush_rules", test_flush_rules },
    { "flush_total", test_flush_total },
    { "autodelete", test_autodelete },
    { "lease", test_lease },
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
    rc = cmocka_run_group_tests_name("store_flush", tests, NULL, NULL);
    close_all();
    return rc;
}
