/*
 * test_agent.c - the agent's pieces: the bounded queue (order, back-pressure
 * across threads, close), the replay source (CrowdSec's line splitting, the
 * 64 KiB limit, .gz, globs, DSN arguments), config.yaml, and whole replays
 * over items made in a temp dir (no hub needed): alerts, determinism for
 * 1/2/8 routines, postoverflow whitelists, and a flood of distinct sources
 * under the caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];

static void
write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
mkdirs(const char *rel)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", tmpdir, rel);
    assert_int_equal(system(cmd), 0);
}

static int
setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/phalanx-agent-test-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* --- queue --- */

struct producer {
    struct agent_queue *q;
    uintptr_t n;
};

static void *
produce(void *arg)
{
    struct producer *p = arg;
    for (uintptr_t i = 1; i <= p->n; i++)
        assert_int_equal(agent_queue_push(p->q, (void *)i), 0);
    agent_queue_close(p->q);
    return NULL;
}

static void
test_queue(void **state)
{
    struct agent_queue q;
    pthread_t th;
    struct producer p = { &q, 10000 };
    (void)state;

    assert_int_equal(agent_queue_init(&q, 4), 0);
    assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
    uintptr_t want = 1;
    void *item;
    while ((item = agent_queue_pop(&q)) != NULL) {
        assert_int_equal((uintptr_t)item, want);
        want++;
    }
    pthread_join(th, NULL);
    assert_int_equal(want, 10001);
    assert_true(q.waits > 0); /* a 4-slot queue made the producer wait */
    assert_int_equal(agent_queue_push(&q, (void *)1), -EPIPE);
    agent_queue_destroy(&q);
}

/* --- source --- */

static void
read_all(const char *dsn, char *out, size_t size, uint64_t *too_long)
{
    struct agent_source *s = NULL;
    struct agent_error err = { { 0 } };
    const char *line, *file;
    size_t len, used = 0;
    int rc;
    assert_int_equal(agent_source_open(dsn, &s, &err), 0);
    while ((rc = agent_source_next(s, &line, &len, &file, &err)) == 1) {
        assert_true(used + len + 2 < size);
        memcpy(out + used, line, len);
        used += len;
        out[used++] = '|';
    }
    assert_int_equal(rc, 0);
    out[used] = '\0';
    *too_long = agent_source_too_long(s);
    agent_source_free(s);
}

static void
test_source_lines(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "a\nb\n", "a|b|" },
        { "a\r\nb", "a|b|" },           /* \r\n and no final \n */
        { "\n\na\n\n\nb\n\n", "a|b|" }, /* empty lines skipped */
        { "\r\n", "" },
        { "x\ry\n", "x\ry|" }, /* only a trailing \r goes */
        { "", "" },
    };
    char out[4096], dsn[512];
    uint64_t tl;
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        write_file("src.log", cases[i].text);
        snprintf(dsn, sizeof(dsn), "file://%s/src.log", tmpdir);
        read_all(dsn, out, sizeof(out), &tl);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, out, cases[i].want);
        assert_int_equal(tl, 0);
    }
}

static void
test_source_long_and_gz(void **state)
{
    char dsn[512], path[512], out[4096];
    uint64_t tl;
    (void)state;
    /* A 70,000-byte line between two short ones: dropped and counted. */
    size_t n = 70000;
    char *big = malloc(n + 16);
    assert_non_null(big);
    memcpy(big, "a\n", 2);
    memset(big + 2, 'x', n);
    memcpy(big + 2 + n, "\nb\n", 4);
    write_file("long.log", big);
    free(big);
    snprintf(dsn, sizeof(dsn), "file://%s/long.log", tmpdir);
    read_all(dsn, out, sizeof(out), &tl);
    assert_string_equal(out, "a|b|");
    assert_int_equal(tl, 1);
    /* max_buffer_size raises the limit. */
    snprintf(dsn, sizeof(dsn), "file://%s/long.log?max_buffer_size=100000", tmpdir);
    {
        struct agent_source *s = NULL;
        struct agent_error err = { { 0 } };
        const char *line, *file;
        size_t len, lens[3] = { 0 }, k = 0;
        assert_int_equal(agent_source_open(dsn, &s, &err), 0);
        while (agent_source_next(s, &line, &len, &file, &err) == 1 && k < 3)
            lens[k++] = len;
        assert_int_equal(k, 3);
        assert_int_equal(lens[1], 70000);
        agent_source_free(s);
    }
    /* gzip, and a glob over two files read in name order. */
    snprintf(path, sizeof(path), "%s/g1.log.gz", tmpdir);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    gzputs(gz, "one\ntwo\n");
    gzclose(gz);
    write_file("g2.log", "three\n");
    snprintf(dsn, sizeof(dsn), "file://%s/g*.log*", tmpdir);
    read_all(dsn, out, sizeof(out), &tl);
    assert_string_equal(out, "one|two|three|");
    /* Errors. */
    struct agent_source *s = NULL;
    struct agent_error err = { { 0 } };
    assert_int_equal(agent_source_open("journalctl://filters=_UNIT=ssh", &s, &err), -1);
    snprintf(dsn, sizeof(dsn), "file://%s/nothing*", tmpdir);
    assert_int_equal(agent_source_open(dsn, &s, &err), -1);
    assert_non_null(strstr(err.message, "no file matches"));
    snprintf(dsn, sizeof(dsn), "file://%s/g2.log?bogus=1", tmpdir);
    assert_int_equal(agent_source_open(dsn, &s, &err), -1);
}

/*
 * The file:// query arguments: max_buffer_size up to AGENT_MAX_LINE_HARD (16 MiB),
 * log_level accepted and ignored, anything else refused with a message naming the limit.
 */
static void
test_source_dsn_args(void **state)
{
    static const struct {
        const char *query;
        int rc;
    } cases[] = {
        { "max_buffer_size=16777216", 0 },  { "max_buffer_size=1", 0 },
        { "log_level=debug", 0 },           { "max_buffer_size=4096&log_level=info", 0 },
        { "max_buffer_size=16777217", -1 }, { "max_buffer_size=0", -1 },
        { "max_buffer_size=12x", -1 },      { "max_buffer_size=99999999999999999999999", -1 },
        { "max_buffer_size=", -1 },         { "log_level=info&bogus=1", -1 },
    };
    char dsn[512];
    (void)state;
    write_file("args.log", "a\n");
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct agent_source *s = NULL;
        struct agent_error err = { { 0 } };
        snprintf(dsn, sizeof(dsn), "file://%s/args.log?%s", tmpdir, cases[i].query);
        int rc = agent_source_open(dsn, &s, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): got %d, want %d (%s)", i, cases[i].query, rc, cases[i].rc,
                     err.message);
        if (rc < 0 && strstr(err.message, "up to 16777216 ") == NULL)
            fail_msg("case %zu (%s): message '%s' does not name the limit", i, cases[i].query,
                     err.message);
        agent_source_free(s);
    }
}

/* --- config --- */

static void
test_config(void **state)
{
    char path[512];
    struct agent_config c;
    struct agent_error err = { { 0 } };
    (void)state;
    write_file("c1.yaml", "config_paths:\n  config_dir: /x/\n  data_dir: /d\n"
                          "crowdsec_service:\n  parser_routines: 3\n  buckets_routines: 0\n");
    snprintf(path, sizeof(path), "%s/c1.yaml", tmpdir);
    assert_int_equal(agent_config_load(path, &c, &err), 0);
    assert_string_equal(c.config_dir, "/x/");
    assert_string_equal(c.pattern_dir, "/x/patterns");
    assert_string_equal(c.hub_dir, "/x/hub");
    assert_string_equal(c.index_path, "/x/hub/.index.json");
    assert_int_equal(c.parser_routines, 3);
    assert_int_equal(c.buckets_routines, 1);
    assert_int_equal(c.output_routines, 1);
    assert_int_equal(c.max_buckets, AGENT_DEFAULT_MAX_BUCKETS);
    agent_config_clear(&c);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "config_paths:\n  config_dir: /x\n", "data_dir is required" },
        { "config_paths:\n  data_dir: /d\ncrowdsec_service:\n  parser_routines: -1\n",
          "parser_routines must be an integer" },
        { "config_paths:\n  data_dir: /d\ncrowdsec_service:\n  buckets_routines: 65\n",
          "buckets_routines must be an integer from 0 to 64" },
        { "config_paths: [\n", "" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        write_file("c2.yaml", bad[i].text);
        snprintf(path, sizeof(path), "%s/c2.yaml", tmpdir);
        if (agent_config_load(path, &c, &err) != -1 || strstr(err.message, bad[i].msg) == NULL)
            fail_msg("case %zu: got '%s'", i, err.message);
    }
}

/* --- whole replays over local items --- */

static const char parser_yaml[] =
    "onsuccess: next_stage\n"
    "name: test/kv\n"
    "filter: \"evt.Line.Labels.type == 'kv'\"\n"
    "grok:\n"
    "  pattern: '^%{TIMESTAMP_ISO8601:ts} %{WORD:action} %{IPORHOST:ip}$'\n"
    "  apply_on: Line.Raw\n"
    "statics:\n"
    "  - meta: source_ip\n"
    "    expression: evt.Parsed.ip\n"
    "  - meta: log_type\n"
    "    expression: evt.Parsed.action\n"
    "  - target: evt.MarshaledTime\n"
    "    expression: evt.Parsed.ts\n";
static const char scen_yaml[] = "type: leaky\n"
                                "name: test/bf\n"
                                "description: bf\n"
                                "filter: \"evt.Meta.log_type == 'fail'\"\n"
                                "groupby: evt.Meta.source_ip\n"
                                "capacity: 3\n"
                                "leakspeed: 10s\n"
                                "blackhole: 1m\n"
                                "labels:\n"
                                "  remediation: true\n";
static const char whitelist_yaml[] = "name: test/po-wl\n"
                                     "whitelist:\n"
                                     "  reason: test\n"
                                     "  ip:\n"
                                     "    - 10.9.9.9\n";

/* A config dir in tmpdir/etc; max_buckets 0 = the default. */
static void
make_items(size_t max_buckets)
{
    char cfg[1024];
    mkdirs("etc/parsers/s01-parse");
    mkdirs("etc/scenarios");
    mkdirs("etc/postoverflows/s01-whitelist");
    mkdirs("etc/data");
    write_file("etc/parsers/s01-parse/kv.yaml", parser_yaml);
    write_file("etc/scenarios/bf.yaml", scen_yaml);
    write_file("etc/postoverflows/s01-whitelist/wl.yaml", whitelist_yaml);
    snprintf(cfg, sizeof(cfg),
             "config_paths:\n  config_dir: %s/etc\n  data_dir: %s/etc/data\n"
             "crowdsec_service:\n  max_buckets: %zu\n",
             tmpdir, tmpdir, max_buckets);
    write_file("etc/config.yaml", cfg);
}

static struct agent *
load_agent(void)
{
    char path[512], pat[512];
    struct agent_config c;
    struct agent_error err = { { 0 } };
    const char *root = getenv("PHALANX_SOURCE_ROOT");
    snprintf(path, sizeof(path), "%s/etc/config.yaml", tmpdir);
    snprintf(pat, sizeof(pat), "%s/config/patterns", root != NULL ? root : ".");
    if (agent_config_load(path, &c, &err) < 0)
        fail_msg("config: %s", err.message);
    struct agent *a = agent_new(&c, pat, &err);
    agent_config_clear(&c);
    if (a == NULL)
        fail_msg("agent_new: %s", err.message);
    return a;
}

/* Replays tmpdir/name with n routines everywhere; the alerts as one malloc'd string. */
static char *
replay(struct agent *a, const char *name, unsigned n, struct agent_stats *st)
{
    char dsn[512];
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct agent_error err = { { 0 } };
    assert_non_null(out);
    snprintf(dsn, sizeof(dsn), "file://%s/%s", tmpdir, name);
    struct agent_replay_options o = {
        .dsn = dsn,
        .type = "kv",
        .alerts = out,
        .parser_routines = n,
        .buckets_routines = n,
        .output_routines = n,
    };
    if (agent_replay(a, &o, st, &err) < 0)
        fail_msg("replay: %s", err.message);
    fclose(out);
    return buf;
}

/* Seconds since 2023-11-14T22:13:20Z as RFC 3339 (the logs' timestamps). */
static const char *
stamp(int s, char *buf, size_t size)
{
    time_t t = 1700000000 + s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void
test_replay_alerts(void **state)
{
    struct agent_stats st;
    (void)state;
    make_items(0);
    /* 1.1.1.1: 4 fails in 4 s (overflow at the 4th), then 4 more inside the 1 m blackhole;
     * 2.2.2.2: 3 fails over 10 s; 10.9.9.9: 4 fails at once; one ok line, one garbage line. */
    write_file("kv.log", "2023-11-14T22:13:20Z fail 1.1.1.1\n2023-11-14T22:13:21Z fail 1.1.1.1\n"
                         "2023-11-14T22:13:22Z fail 2.2.2.2\n2023-11-14T22:13:22Z fail 1.1.1.1\n"
                         "2023-11-14T22:13:23Z fail 1.1.1.1\n2023-11-14T22:13:24Z fail 2.2.2.2\n"
                         "2023-11-14T22:13:25Z ok 1.1.1.1\nnot a line\n"
                         "2023-11-14T22:13:30Z fail 1.1.1.1\n2023-11-14T22:13:30Z fail 1.1.1.1\n"
                         "2023-11-14T22:13:30Z fail 1.1.1.1\n2023-11-14T22:13:30Z fail 1.1.1.1\n"
                         "2023-11-14T22:13:31Z fail 10.9.9.9\n2023-11-14T22:13:31Z fail 10.9.9.9\n"
                         "2023-11-14T22:13:31Z fail 10.9.9.9\n2023-11-14T22:13:31Z fail 10.9.9.9\n"
                         "2023-11-14T22:13:32Z fail 2.2.2.2\n");
    struct agent *a = load_agent();
    char *out = replay(a, "kv.log", 1, &st);
    assert_int_equal(count(out, "\n"), 1);
    assert_non_null(strstr(out, "\"scenario\":\"test/bf\""));
    assert_non_null(strstr(out, "\"value\":\"1.1.1.1\""));
    assert_non_null(strstr(out, "\"events_count\":4"));
    assert_non_null(strstr(out, "\"start_at\":\"2023-11-14T22:13:20Z\""));
    assert_non_null(strstr(out, "\"stop_at\":\"2023-11-14T22:13:23Z\""));
    assert_int_equal(st.lines, 17);
    assert_int_equal(st.parsed, 16);
    assert_int_equal(st.unparsed, 1);
    /* 1.1.1.1's second overflow is blackholed; 10.9.9.9's reaches the output and is dropped by
     * the postoverflow whitelist; 2.2.2.2 leaks too fast to overflow. */
    assert_int_equal(st.overflows, 2);
    assert_int_equal(st.po_whitelisted, 1);
    assert_int_equal(st.buckets.discarded, 1);
    assert_int_equal(st.alerts, 1);
    free(out);
    agent_free(a);
}

static void
test_replay_deterministic(void **state)
{
    struct agent_stats st;
    char *ref = NULL;
    (void)state;
    make_items(0);
    /* 20,000 lines: 50 attackers taking turns among 5,000 background sources. */
    char path[512];
    snprintf(path, sizeof(path), "%s/big.log", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint32_t x = 12345;
    char ts[32];
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        if (i % 4 == 0)
            fprintf(f, "%s fail 10.1.%d.1\n", stamp(i / 5, ts, sizeof(ts)), (i / 400) % 50);
        else
            fprintf(f, "%s %s 172.16.%u.%u\n", stamp(i / 5, ts, sizeof(ts)),
                    (x >> 8) % 3 ? "fail" : "ok", (x >> 12) % 20, (x >> 20) % 250);
    }
    fclose(f);
    struct agent *a = load_agent();
    static const unsigned routines[] = { 1, 2, 8 };
    for (size_t i = 0; i < ARRAY_SIZE(routines); i++) {
        char *out = replay(a, "big.log", routines[i], &st);
        assert_int_equal(st.lines, 20000);
        if (ref == NULL) {
            ref = out;
            assert_true(count(ref, "\n") >= 50);
            continue;
        }
        if (strcmp(ref, out) != 0)
            fail_msg("%u routines: alerts differ from 1 routine", routines[i]);
        free(out);
    }
    free(ref);
    agent_free(a);
}

static long
peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void
test_replay_flood(void **state)
{
    struct agent_stats st;
    (void)state;
    /* 100,000 lines from 100,000 distinct IPv4 and IPv6 sources (100 a second, so about
     * 3,000 buckets would be alive at once) with a cap of 1,000 live buckets; one source
     * among them hits capacity and must still alert. */
    make_items(1000);
    char path[512];
    snprintf(path, sizeof(path), "%s/flood.log", tmpdir);
    FILE *f = fopen(path, "w");
    char ts[32];
    assert_non_null(f);
    for (int i = 0; i < 100000; i++) {
        if (i % 2 == 0)
            fprintf(f, "%s fail 10.%d.%d.%d\n", stamp(i / 100, ts, sizeof(ts)), (i >> 16) & 255,
                    (i >> 8) & 255, i & 255);
        else
            fprintf(f, "%s fail 2001:db8::%x:%x\n", stamp(i / 100, ts, sizeof(ts)),
                    (i >> 16) & 0xffff, i & 0xffff);
        /* The attacker: a burst of 5 now and then, inside the flood. */
        for (int k = 0; i % 20000 == 500 && k < 5; k++)
            fprintf(f, "%s fail 203.0.113.7\n", stamp(i / 100, ts, sizeof(ts)));
    }
    fclose(f);
    long before = peak_rss_kib();
    struct agent *a = load_agent();
    char *out = replay(a, "flood.log", 2, &st);
    long grown = peak_rss_kib() - before;
    assert_int_equal(st.lines, 100025);
    assert_true(st.buckets.evicted > 0);
    assert_true(st.buckets.live <= 1000);
    assert_non_null(strstr(out, "\"value\":\"203.0.113.7\""));
    print_message("# flood: 100,025 lines, %" PRIu64 " buckets evicted, %" PRIu64
                  " alerts, peak RSS grew by %ld KiB\n",
                  st.buckets.evicted, st.alerts, grown);
    /* Budget under ASan (its redzones and quarantine included): 256 MiB. */
    assert_true(grown < 256 * 1024);
    free(out);
    agent_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_source_lines),
        cmocka_unit_test(test_source_long_and_gz),
        cmocka_unit_test(test_source_dsn_args),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_replay_alerts),
        cmocka_unit_test(test_replay_deterministic),
        cmocka_unit_test(test_replay_flood),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
