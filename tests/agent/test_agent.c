/*
 * test_agent.c - the agent's pieces: the bounded queue (order, back-pressure
 * across threads, close), the replay source (CrowdSec's line splitting, the
 * 64 KiB limit, .gz, globs, DSN arguments), config.yaml, and whole replays
 * over items made in a temp dir (no hub needed): alerts, determinism for
 * 1/2/8 routines, postoverflow whitelists, and a flood of distinct sources
 * under the caps; the alert context (values, truncation, loading, and the
 * Meta of a replayed alert).
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

    /* Without a crowdsec_service section the agent is off and data_dir may be absent. */
    write_file("c3.yaml", "api:\n  server:\n    listen_uri: 127.0.0.1:1\n");
    snprintf(path, sizeof(path), "%s/c3.yaml", tmpdir);
    assert_int_equal(agent_config_load(path, &c, &err), 0);
    assert_false(c.enable);
    agent_config_clear(&c);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "config_paths:\n  config_dir: /x\ncrowdsec_service:\n  enable: true\n",
          "data_dir is required" },
        { "config_paths:\n  data_dir: /d\ncrowdsec_service:\n  enable: maybe\n",
          "enable must be true or false" },
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

/* --- alert context --- */

/* A context from one console-style file written to tmpdir/name; NULL with err on a load error. */
static struct agent_context *
context_from(const char *name, const char *yaml, size_t value_len, struct agent_error *err)
{
    char path[512];
    struct agent_context *c = agent_context_new(value_len);
    assert_non_null(c);
    write_file(name, yaml);
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    if (agent_context_add_file(c, path, false, err) < 0) {
        agent_context_free(c);
        return NULL;
    }
    return c;
}

/* Evaluates c over events whose Meta.user and Meta.list are the given pairs; "k=v\n" lines. */
static char *
context_run(const struct agent_context *c, const char *const (*metas)[2], size_t n,
            uint64_t *ret_errors)
{
    struct event_list evs = { 0 };
    struct meta_list m = { 0 };
    struct expr_vm *vm = expr_vm_new();
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    assert_non_null(vm);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
        assert_non_null(e);
        assert_int_equal(event_set_meta(e, "user", metas[i][0]), 0);
        assert_int_equal(event_set_meta(e, "list", metas[i][1]), 0);
        assert_int_equal(event_list_push(&evs, e), 0);
    }
    assert_int_equal(agent_context_eval(c, vm, &evs, &m, ret_errors), 0);
    for (size_t i = 0; i < m.len; i++)
        fprintf(out, "%s=%s\n", m.items[i].key, m.items[i].value);
    fclose(out);
    meta_clear(&m);
    event_list_clear(&evs);
    expr_vm_free(vm);
    return buf;
}

static void
test_context_values(void **state)
{
    static const char *const metas[][2] = {
        { "alice", "a,b" }, { "bob", "b,,c" }, { "alice", "" }, { "", "c" }, { "<x&y>", "a" },
    };
    static const struct {
        const char *yaml; /* the console file */
        const char *want; /* the Meta items, in key order */
        uint64_t errors;
    } cases[] = {
        /* strings: unique, in first-seen order, empty ones skipped, HTML-escaped as Go does */
        { "user: [evt.Meta.user]\n", "user=[\"alice\",\"bob\",\"\\u003cx\\u0026y\\u003e\"]\n", 0 },
        /* []string results give each element; duplicates across events and expressions merge */
        { "parts:\n  - split(evt.Meta.list, ',')\n  - evt.Meta.list\n",
          "parts=[\"a\",\"b\",\"a,b\",\"c\",\"b,,c\"]\n", 0 },
        /* ints in decimal; a false, a nil and an all-empty key give nothing; keys sorted */
        { "z_len: [len(evt.Meta.user)]\nb_false: [evt.Meta.user == 'nobody']\n"
          "a_nil: [evt.Unmarshaled.missing]\nm_empty: [evt.Meta.nothing]\nnone:\n",
          "z_len=[\"5\",\"3\",\"0\"]\n", 0 },
        /* other values as fmt's %v */
        { "mix: [\"[1, 'a']\"]\nf: ['evt.Meta.user == \"bob\" ? 1.5 : 0.0']\n",
          "f=[\"1.5\"]\nmix=[\"[1 a]\"]\n", 0 },
        /* a run-time error skips the value and is counted, the other expressions still run */
        { "u:\n  - int(evt.Meta.user)\n  - upper(evt.Meta.user)\n",
          "u=[\"ALICE\",\"BOB\",\"\\u003cX\\u0026Y\\u003e\"]\n", 5 },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct agent_error err = { { 0 } };
        uint64_t errors = 0;
        struct agent_context *c = context_from("ctx.yaml", cases[i].yaml, 0, &err);
        if (c == NULL)
            fail_msg("case %zu: load: %s", i, err.message);
        char *got = context_run(c, metas, ARRAY_SIZE(metas), &errors);
        if (strcmp(got, cases[i].want) != 0 || errors != cases[i].errors)
            fail_msg("case %zu: got '%s' (%" PRIu64 " errors), want '%s' (%" PRIu64 ")", i, got,
                     errors, cases[i].want, cases[i].errors);
        free(got);
        agent_context_free(c);
    }
}

static void
test_context_truncate(void **state)
{
    char *x40 = calloc(1, 41), *z5000 = calloc(1, 5001), *want5000 = calloc(1, 2600);
    assert_non_null(x40);
    assert_non_null(z5000);
    assert_non_null(want5000);
    memset(x40, 'x', 40);
    memset(z5000, 'z', 5000);
    /* 5000 bytes halve to 2500 + "..." under the default (and ceiling) of 4000. */
    snprintf(want5000, 2600, "v=[\"%.2500s...\"]\n", z5000);
    const char *const m4[][2] = { { "aaaa", "" }, { "bbbb", "" }, { "cccc", "" }, { "dddd", "" } };
    const char *const m1[][2] = { { x40, "" }, { "y", "" } };
    const char *const me[][2] = { { "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                                    "\xa9\xc3\xa9",
                                    "" } };
    const char *const mz[][2] = { { z5000, "" } };
    const struct {
        const char *const (*metas)[2];
        size_t n, value_len;
        const char *want; /* checked against Go's TruncateContext */
    } cases[] = {
        /* trailing values dropped until the array fits */
        { m4, 4, 20, "v=[\"aaaa\",\"bbbb\"]\n" },
        { m4, 4, 29, "v=[\"aaaa\",\"bbbb\",\"cccc\",\"dddd\"]\n" },
        { m4, 4, 28, "v=[\"aaaa\",\"bbbb\",\"cccc\"]\n" },
        /* a lone value too long: halved plus "..." until it fits */
        { m1, 2, 20, "v=[\"xxxxxxxxxxx...\"]\n" },
        /* halving may split a UTF-8 sequence: the stray byte is U+FFFD while it lasts */
        { me, 1, 16, "v=[\"\xc3\xa9\xc3\xa9\xc3\xa9...\"]\n" },
        { mz, 1, 0, want5000 },
        { mz, 1, 100000, want5000 },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct agent_error err = { { 0 } };
        struct agent_context *c =
            context_from("ctx.yaml", "v: [evt.Meta.user]\n", cases[i].value_len, &err);
        if (c == NULL)
            fail_msg("case %zu: load: %s", i, err.message);
        char *got = context_run(c, cases[i].metas, cases[i].n, NULL);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got '%.100s', want '%.100s'", i, got, cases[i].want);
        free(got);
        agent_context_free(c);
    }
    free(x40);
    free(z5000);
    free(want5000);
}

static void
test_context_load(void **state)
{
    static const struct {
        const char *yaml, *msg; /* msg NULL = loads */
        size_t keys;
    } cases[] = {
        { "", NULL, 0 },
        { "a:\n  - evt.Meta.user\n  - evt.Meta.user\nb: [evt.Meta.list]\n", NULL, 2 },
        { "a:\n  - evt.Meta.user\n  - evt.Meta.user +\n", "ctx.yaml:3: compilation of", 0 },
        { "a:\n  - evt.Meta.user\n  - 'evt.Nope'\n", "ctx.yaml:3: compilation of 'evt.Nope'", 0 },
        { "a: evt.Meta.user\n", "ctx.yaml:1: cannot unmarshal !!str into []string", 0 },
        { "a:\n  - {x: y}\n", "ctx.yaml:2: cannot unmarshal !!map into string", 0 },
        { "- a\n", "ctx.yaml:1: cannot unmarshal !!seq", 0 },
        { "a: [\n", "ctx.yaml:", 0 },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct agent_error err = { { 0 } };
        struct agent_context *c = context_from("ctx.yaml", cases[i].yaml, 0, &err);
        if (cases[i].msg == NULL ? c == NULL || agent_context_count(c) != cases[i].keys
                                 : c != NULL || strstr(err.message, cases[i].msg) == NULL)
            fail_msg("case %zu: got %p '%s' (%zu keys)", i, (void *)c, err.message,
                     agent_context_count(c));
        agent_context_free(c);
    }

    /* agent_context_load: items (under context:) merged with the console file. */
    struct agent_config cfg = { 0 };
    struct agent_context *c = NULL;
    struct agent_error err = { { 0 } };
    char dir[512], path[512];
    mkdirs("cl/contexts");
    write_file("cl/contexts/a.yaml",
               "name: me/a\ndescription: x\ncontext:\n  user: [evt.Meta.user]\n");
    write_file("cl/contexts/b.yml", "context:\n  user: [evt.Meta.user, upper(evt.Meta.user)]\n");
    write_file("cl/contexts/empty.yaml", "name: me/empty\n");
    write_file("cl/contexts/skip.txt", "not: [yaml expr +]\n");
    snprintf(dir, sizeof(dir), "%s/cl", tmpdir);
    cfg.config_dir = dir;
    /* No console file at the default place: fine. */
    assert_int_equal(agent_context_load(&cfg, &c, &err), 0);
    assert_int_equal(agent_context_count(c), 1);
    const char *const metas[][2] = { { "ann", "" } };
    char *got = context_run(c, metas, 1, NULL);
    assert_string_equal(got, "user=[\"ann\",\"ANN\"]\n");
    free(got);
    agent_context_free(c);
    /* The default console file joins in. */
    mkdirs("cl/console");
    write_file("cl/console/context.yaml", "list: [evt.Meta.list]\n");
    c = NULL;
    assert_int_equal(agent_context_load(&cfg, &c, &err), 0);
    assert_int_equal(agent_context_count(c), 2);
    agent_context_free(c);
    /* A console_context_path that is set must exist. */
    snprintf(path, sizeof(path), "%s/cl/nope.yaml", tmpdir);
    cfg.console_context_path = path;
    assert_int_equal(agent_context_load(&cfg, &c, &err), -1);
    assert_non_null(strstr(err.message, "while checking console_context_path"));
    /* A bad item names its file and line. */
    write_file("cl/contexts/c.yaml", "context:\n  user:\n    - evt.Meta.user ==\n");
    cfg.console_context_path = NULL;
    assert_int_equal(agent_context_load(&cfg, &c, &err), -1);
    assert_non_null(strstr(err.message, "contexts/c.yaml:3: compilation of 'evt.Meta.user =='"));
}

static void
test_context_config(void **state)
{
    char path[512];
    struct agent_config c;
    struct agent_error err = { { 0 } };
    (void)state;
    write_file("c3.yaml", "config_paths:\n  data_dir: /d\ncrowdsec_service:\n"
                          "  console_context_path: /x/ctx.yaml\n"
                          "  console_context_value_length: 5000\n");
    snprintf(path, sizeof(path), "%s/c3.yaml", tmpdir);
    assert_int_equal(agent_config_load(path, &c, &err), 0);
    assert_string_equal(c.console_context_path, "/x/ctx.yaml");
    assert_int_equal(c.console_context_value_length, 5000);
    agent_config_clear(&c);
    write_file("c3.yaml", "config_paths:\n  data_dir: /d\ncrowdsec_service:\n"
                          "  console_context_value_length: -1\n");
    assert_int_equal(agent_config_load(path, &c, &err), -1);
    assert_non_null(strstr(err.message, "console_context_value_length must be an integer"));
}

/* A replay whose alert carries the context of the bucket's events, for every routine count. */
static void
test_replay_context(void **state)
{
    struct agent_stats st;
    char *ref = NULL;
    (void)state;
    make_items(0);
    mkdirs("etc/contexts");
    write_file("etc/contexts/ctx.yaml", "context:\n  ip: [evt.Meta.source_ip]\n"
                                        "  action: [evt.Parsed.action, evt.Meta.nothing]\n");
    write_file("kv.log", "2023-11-14T22:13:20Z fail 1.1.1.1\n2023-11-14T22:13:21Z fail 1.1.1.1\n"
                         "2023-11-14T22:13:22Z fail 1.1.1.1\n2023-11-14T22:13:23Z fail 1.1.1.1\n");
    struct agent *a = load_agent();
    for (unsigned n = 1; n <= 4; n *= 2) {
        char *out = replay(a, "kv.log", n, &st);
        assert_int_equal(st.alerts, 1);
        assert_int_equal(st.context_errors, 0);
        assert_non_null(strstr(out, "\"meta\":[{\"key\":\"action\",\"value\":\"[\\\"fail\\\"]\"},"
                                    "{\"key\":\"ip\",\"value\":\"[\\\"1.1.1.1\\\"]\"}]"));
        if (ref == NULL)
            ref = out;
        else {
            assert_string_equal(out, ref);
            free(out);
        }
    }
    free(ref);
    agent_free(a);
    /* A bad context expression stops the agent from loading, naming the file and line. */
    write_file("etc/contexts/ctx.yaml", "context:\n  ip:\n    - evt.Meta.source_ip ==\n");
    char path[512], pat[512];
    struct agent_config c;
    struct agent_error err = { { 0 } };
    snprintf(path, sizeof(path), "%s/etc/config.yaml", tmpdir);
    snprintf(pat, sizeof(pat), "%s/config/patterns",
             getenv("PHALANX_SOURCE_ROOT") ? getenv("PHALANX_SOURCE_ROOT") : ".");
    assert_int_equal(agent_config_load(path, &c, &err), 0);
    assert_null(agent_new(&c, pat, &err));
    agent_config_clear(&c);
    assert_non_null(strstr(err.message, "etc/contexts/ctx.yaml:3: compilation of"));
    write_file("etc/contexts/ctx.yaml", "context: {}\n");
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
        cmocka_unit_test(test_context_values),
        cmocka_unit_test(test_context_truncate),
        cmocka_unit_test(test_context_load),
        cmocka_unit_test(test_context_config),
        cmocka_unit_test(test_replay_context),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
