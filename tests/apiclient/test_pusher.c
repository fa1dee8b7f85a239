/*
 * test_pusher.c - the alert pusher against the real Phalanx LAPI started
 * in-process: alerts pushed appear in GET /v1/alerts exactly once, through an
 * outage of the LAPI (stopped, then restarted on the same port), through a
 * restart of the pusher (a new pusher on the same spool sends the leftovers,
 * a torn record at the end is cut off), a full spool and a failing disk
 * (RLIMIT_FSIZE) make add fail, and a malformed alert is set aside without
 * blocking the others. Waits are conditions polled with a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apiclient/apiclient.h"
#include "lapi/lapi.h"
#include "store/store.h"

#define WAIT_MS 30000

struct env {
    char dir[64];
    char db[128];
    char spool[128];
    char url[64];
    uint16_t port;
    struct lapi *lapi;
    struct apiclient *client;
    int next_ip; /* every alert of the file gets its own source ip */
};

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
lapi_up(struct env *e, uint16_t port)
{
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
    struct lapi_config c = {
        .enable = true,
        .listen_uri = listen,
        .db_type = (char *)"sqlite",
        .db_dsn = e->db,
        .threads = 2,
        .max_connections = 64,
        .connection_timeout_sec = 10,
        .login_rate_burst = 10000,
        .login_rate_per_minute = 100000,
    };
    struct lapi_error err = { { 0 } };
    int rc = lapi_start(&c, &e->lapi, &err);
    if (rc != 0)
        print_error("lapi_start: %s\n", err.msg);
    assert_int_equal(rc, 0);
    e->port = lapi_port(e->lapi);
    snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%u/", (unsigned)e->port);
}

static void
rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int
setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    unsetenv("CS_LAPI_SECRET");
    snprintf(e->dir, sizeof(e->dir), "/tmp/apiclient-pusher-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->db, sizeof(e->db), "%s/lapi.db", e->dir);
    lapi_up(e, 0);

    struct store *s = NULL;
    struct store_error serr = { { 0 } };
    assert_int_equal(store_open("sqlite", e->db, &s, &serr), 0);
    char *hash = lapi_password_hash("pusher-pw");
    struct store_machine m = { .machine_id = (char *)"pusher",
                               .password = hash,
                               .ip_address = (char *)"",
                               .scenarios = (char *)"",
                               .version = (char *)"",
                               .auth_type = (char *)"password",
                               .is_validated = true };
    assert_int_equal(store_machine_create(s, &m, now_ns(), NULL, &serr), 0);
    free(hash);
    store_close(s);

    struct apiclient_credentials cr = { .url = e->url,
                                        .login = (char *)"pusher",
                                        .password = (char *)"pusher-pw" };
    struct apiclient_error err = { { 0 }, 0 };
    assert_non_null(e->client = apiclient_new(&cr, NULL, &err));
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;
    apiclient_free(e->client);
    lapi_stop(e->lapi);
    rm_tree(e->dir);
    free(e);
    return 0;
}

/* Each test gets a fresh spool directory. */
static void
new_spool(struct env *e, const char *name)
{
    snprintf(e->spool, sizeof(e->spool), "%s/%s", e->dir, name);
}

static void
ip_of(int n, char *out, size_t size)
{
    snprintf(out, size, "10.%d.%d.%d", 1 + n / 65536, (n / 256) % 256, n % 256);
}

/* A realistic models.Alert with one ban decision on its source ip. */
static int
alert_make(struct env *e, char *out, size_t size)
{
    char ip[32];
    int n = e->next_ip++;
    ip_of(n, ip, sizeof(ip));
    snprintf(out, size,
             "{\"capacity\":5,\"decisions\":[{\"duration\":\"4h\",\"origin\":\"crowdsec\","
             "\"scenario\":\"crowdsecurity/ssh-bf\",\"scope\":\"Ip\",\"type\":\"ban\","
             "\"value\":\"%s\"}],\"events\":[{\"meta\":[{\"key\":\"source_ip\",\"value\":\"%s\"}],"
             "\"timestamp\":\"2024-01-02T03:04:05Z\"}],\"events_count\":6,\"labels\":null,"
             "\"leakspeed\":\"10s\",\"message\":\"Ip %s performed 'crowdsecurity/ssh-bf' (6 events "
             "over 1s) at 2024-01-02 03:04:05 +0000 UTC\",\"remediation\":true,"
             "\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"4441dcff07\","
             "\"scenario_version\":\"0.1\",\"simulated\":false,\"source\":{\"ip\":\"%s\","
             "\"range\":\"\",\"scope\":\"Ip\",\"value\":\"%s\"},"
             "\"start_at\":\"2024-01-02T03:04:04Z\",\"stop_at\":\"2024-01-02T03:04:05Z\"}",
             ip, ip, ip, ip, ip);
    return n;
}

static void
add_alerts(struct env *e, struct apiclient_pusher *p, int count)
{
    char buf[2048];
    struct apiclient_error err = { { 0 }, 0 };
    for (int i = 0; i < count; i++) {
        alert_make(e, buf, sizeof(buf));
        int rc = apiclient_pusher_add(p, buf, strlen(buf), &err);
        if (rc != 0)
            print_error("add %d: %s\n", i, err.message);
        assert_int_equal(rc, 0);
    }
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

/* Waits until the pusher's sent counter reaches want; false on timeout. */
static bool
wait_sent(struct apiclient_pusher *p, uint64_t want)
{
    struct apiclient_pusher_stats st;
    for (int i = 0; i < WAIT_MS / 20; i++) {
        apiclient_pusher_stats(p, &st);
        if (st.sent >= want && st.pending == 0)
            return true;
        sleep_ms(20);
    }
    apiclient_pusher_stats(p, &st);
    print_error("timeout: sent %llu pending %llu failures %llu, want %llu\n",
                (unsigned long long)st.sent, (unsigned long long)st.pending,
                (unsigned long long)st.failures, (unsigned long long)want);
    return false;
}

/*
 * Checks that the LAPI holds exactly one alert for each source ip of
 * [from, to) and none for the others of the file.
 */
static void
check_lapi_alerts(struct env *e, int from, int to)
{
    long status = 0;
    char *body = NULL;
    struct apiclient_error err = { { 0 }, 0 };
    assert_int_equal(apiclient_request(e->client, "GET", "/v1/alerts?limit=100000", NULL, 0,
                                       &status, &body, &err),
                     0);
    assert_int_equal(status, 200);
    json_t *arr = json_loads(body, 0, NULL);
    free(body);
    assert_true(json_is_array(arr));
    int *seen = calloc((size_t)e->next_ip + 1, sizeof(int));
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        const char *ip = json_string_value(json_object_get(json_object_get(a, "source"), "ip"));
        assert_non_null(ip);
        unsigned x, y, z;
        assert_int_equal(sscanf(ip, "10.%u.%u.%u", &x, &y, &z), 3);
        int n = (int)((x - 1) * 65536 + y * 256 + z);
        assert_true(n >= 0 && n < e->next_ip);
        seen[n]++;
        /* The decision arrived with the alert. */
        json_t *d = json_array_get(json_object_get(a, "decisions"), 0);
        assert_string_equal(json_string_value(json_object_get(d, "type")), "ban");
        assert_string_equal(json_string_value(json_object_get(d, "value")), ip);
    }
    json_decref(arr);
    int bad = 0;
    for (int n = 0; n < e->next_ip; n++) {
        int want = n >= from && n < to ? 1 : 0;
        if (seen[n] != want) {
            if (bad++ < 10)
                print_error("alert %d seen %d times, want %d\n", n, seen[n], want);
        }
    }
    free(seen);
    assert_int_equal(bad, 0);
}

/* Alerts of the test before this one are deleted so each test counts its own. */
static void
lapi_clear_alerts(struct env *e)
{
    long status = 0;
    char *body = NULL;
    struct apiclient_error err = { { 0 }, 0 };
    assert_int_equal(
        apiclient_request(e->client, "DELETE", "/v1/alerts", NULL, 0, &status, &body, &err), 0);
    free(body);
    assert_int_equal(status, 200);
}

static void
test_push_basic(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    new_spool(e, "spool-basic");
    struct apiclient_pusher *p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    int from = e->next_ip;
    assert_int_equal(apiclient_pusher_start(p, &err), 0);
    add_alerts(e, p, 250);
    assert_true(wait_sent(p, 250));
    struct apiclient_pusher_stats st;
    apiclient_pusher_stats(p, &st);
    assert_int_equal(st.queued, 250);
    assert_int_equal(st.sent, 250);
    assert_int_equal(st.pending, 0);
    assert_true(st.heartbeats >= 1);
    check_lapi_alerts(e, from, e->next_ip);
    /* Invalid alerts are refused at once, not spooled. */
    static const char *const bad[] = { "not json", "[1,2]", "\"str\"", "" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(apiclient_pusher_add(p, bad[i], strlen(bad[i]), &err), -1);
    apiclient_pusher_free(p, 1000);
    /* Everything acknowledged: no segment is left in the spool. */
    DIR *d = opendir(e->spool);
    struct dirent *de;
    int segs = 0;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".seg") != NULL)
            segs++;
    closedir(d);
    assert_int_equal(segs, 0);
    lapi_clear_alerts(e);
}

static void
test_push_through_outage(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    struct apiclient_pusher_stats st;
    new_spool(e, "spool-outage");
    struct apiclient_pusher *p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    int from = e->next_ip;
    assert_int_equal(apiclient_pusher_start(p, &err), 0);
    add_alerts(e, p, 20);
    assert_true(wait_sent(p, 20));

    uint16_t port = e->port;
    lapi_stop(e->lapi);
    e->lapi = NULL;
    add_alerts(e, p, 130);
    /* The sender tries, fails and keeps them. */
    for (int i = 0; i < WAIT_MS / 20; i++) {
        apiclient_pusher_stats(p, &st);
        if (st.failures >= 2)
            break;
        sleep_ms(20);
    }
    apiclient_pusher_stats(p, &st);
    assert_true(st.failures >= 2);
    assert_int_equal(st.pending, 130);
    assert_int_equal(st.sent, 20);

    lapi_up(e, port);
    assert_int_equal(e->port, port);
    assert_true(wait_sent(p, 150));
    apiclient_pusher_free(p, 1000);
    check_lapi_alerts(e, from, e->next_ip);
    lapi_clear_alerts(e);
}

static void
test_restart_sends_leftovers(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    struct apiclient_pusher_stats st;
    new_spool(e, "spool-restart");
    int from = e->next_ip;

    /* A pusher that never ran its sender: the alerts stay on disk. */
    struct apiclient_pusher *p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    add_alerts(e, p, 120);
    /* A second pusher on the same spool is refused while the first holds it. */
    assert_null(apiclient_pusher_new(e->client, e->spool, &err));
    assert_non_null(strstr(err.message, "in use"));
    apiclient_pusher_free(p, 0);

    /* A crash in the middle of a write leaves a torn record at the end: it is cut off. */
    DIR *d = opendir(e->spool);
    struct dirent *de;
    char seg[512] = "";
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".seg") != NULL)
            snprintf(seg, sizeof(seg), "%s/%s", e->spool, de->d_name);
    closedir(d);
    assert_true(seg[0] != '\0');
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789abcdef {\"torn", 23), 23);
    close(fd);

    p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    apiclient_pusher_stats(p, &st);
    assert_int_equal(st.pending, 120);
    assert_int_equal(st.queued, 0);
    add_alerts(e, p, 5);
    assert_int_equal(apiclient_pusher_start(p, &err), 0);
    assert_true(wait_sent(p, 125));
    apiclient_pusher_free(p, 1000);
    check_lapi_alerts(e, from, e->next_ip);
    lapi_clear_alerts(e);
}

static void
test_spool_full(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    char buf[2048];
    new_spool(e, "spool-full");
    struct apiclient_pusher *p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    apiclient_pusher_set_limits(p, 10, 0);
    int from = e->next_ip;
    add_alerts(e, p, 10);
    int last = alert_make(e, buf, sizeof(buf));
    assert_int_equal(apiclient_pusher_add(p, buf, strlen(buf), &err), -1);
    assert_non_null(strstr(err.message, "full"));
    /* The byte bound as well. */
    apiclient_pusher_set_limits(p, 1000, 2048);
    assert_int_equal(apiclient_pusher_add(p, buf, strlen(buf), &err), -1);
    assert_non_null(strstr(err.message, "full"));
    apiclient_pusher_set_limits(p, 0, 0);
    /* Once sent, there is room again. */
    assert_int_equal(apiclient_pusher_start(p, &err), 0);
    assert_true(wait_sent(p, 10));
    assert_int_equal(apiclient_pusher_add(p, buf, strlen(buf), &err), 0);
    assert_true(wait_sent(p, 11));
    apiclient_pusher_free(p, 1000);
    (void)last;
    check_lapi_alerts(e, from, e->next_ip);
    lapi_clear_alerts(e);
}

/*
 * A disk that refuses writes (here RLIMIT_FSIZE, like ENOSPC a failed write):
 * add reports the error, the spool keeps only the alerts it accepted, and
 * adds work again afterwards.
 */
static void
test_write_error(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    struct apiclient_pusher_stats st;
    char buf[2048];
    new_spool(e, "spool-werr");
    int from = e->next_ip;
    struct apiclient_pusher *p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    add_alerts(e, p, 3);

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int ok = 0, failed = 0;
    for (int i = 0; i < 20; i++) {
        alert_make(e, buf, sizeof(buf));
        if (apiclient_pusher_add(p, buf, strlen(buf), &err) == 0) {
            ok++;
        } else {
            failed++;
            /* The caller keeps a refused alert: it is not counted as sent later. */
            e->next_ip--;
            break;
        }
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(failed, 1);
    assert_non_null(strstr(err.message, "cannot store the alert"));
    apiclient_pusher_stats(p, &st);
    assert_int_equal(st.pending, (uint64_t)(3 + ok));
    add_alerts(e, p, 2);
    apiclient_pusher_free(p, 0);

    p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    apiclient_pusher_stats(p, &st);
    assert_int_equal(st.pending, (uint64_t)(5 + ok));
    assert_int_equal(apiclient_pusher_start(p, &err), 0);
    assert_true(wait_sent(p, (uint64_t)(5 + ok)));
    apiclient_pusher_free(p, 1000);
    check_lapi_alerts(e, from, e->next_ip);
    lapi_clear_alerts(e);
}

/* An alert the LAPI refuses as malformed is set aside; the others still arrive. */
static void
test_rejected_alert(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    struct apiclient_pusher_stats st;
    new_spool(e, "spool-rej");
    int from = e->next_ip;
    struct apiclient_pusher *p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    add_alerts(e, p, 3);
    const char *bad = "{\"scenario\":42}";
    assert_int_equal(apiclient_pusher_add(p, bad, strlen(bad), &err), 0);
    add_alerts(e, p, 3);
    assert_int_equal(apiclient_pusher_start(p, &err), 0);
    for (int i = 0; i < WAIT_MS / 20; i++) {
        apiclient_pusher_stats(p, &st);
        if (st.pending == 0)
            break;
        sleep_ms(20);
    }
    apiclient_pusher_stats(p, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.sent, 6);
    apiclient_pusher_free(p, 1000);
    check_lapi_alerts(e, from, e->next_ip);
    char path[300], line[256];
    snprintf(path, sizeof(path), "%s/rejected.jsonl", e->spool);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "{\"scenario\":42}\n");
    lapi_clear_alerts(e);
}

struct adder {
    struct apiclient_pusher *p;
    int first, count, failed;
};

static void *
adder_main(void *arg)
{
    struct adder *a = arg;
    struct env tmp = { .next_ip = a->first };
    char buf[2048];
    struct apiclient_error err = { { 0 }, 0 };
    for (int i = 0; i < a->count; i++) {
        alert_make(&tmp, buf, sizeof(buf));
        if (apiclient_pusher_add(a->p, buf, strlen(buf), &err) != 0)
            a->failed++;
    }
    return NULL;
}

/* Adds from several threads at once (they share syncs): every alert arrives once. */
static void
test_concurrent_adds(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    new_spool(e, "spool-conc");
    struct apiclient_pusher *p = apiclient_pusher_new(e->client, e->spool, &err);
    assert_non_null(p);
    assert_int_equal(apiclient_pusher_start(p, &err), 0);
    int from = e->next_ip;
    struct adder ad[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        ad[i] = (struct adder){ .p = p, .first = e->next_ip + i * 60, .count = 60 };
        assert_int_equal(pthread_create(&th[i], NULL, adder_main, &ad[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ad[i].failed, 0);
    }
    e->next_ip += 240;
    assert_true(wait_sent(p, 240));
    apiclient_pusher_free(p, 1000);
    check_lapi_alerts(e, from, e->next_ip);
    lapi_clear_alerts(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_basic),
        cmocka_unit_test(test_push_through_outage),
        cmocka_unit_test(test_restart_sends_leftovers),
        cmocka_unit_test(test_spool_full),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_rejected_alert),
        cmocka_unit_test(test_concurrent_adds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
