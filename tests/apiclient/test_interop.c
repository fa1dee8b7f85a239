/*
 * test_interop.c - the same client and pusher against Debian's real CrowdSec
 * 1.4.6 Local API (/usr/bin/crowdsec -no-cs, LAPI only) in a temporary config
 * (SQLite in a temp dir, 127.0.0.1 on a free port, no Central API, its own
 * profiles.yaml). The machine is added with `cscli machines add`, whose
 * credentials file we load; the pushed alerts must be listed by
 * `cscli alerts list -o json` exactly once each with their ban decision; and
 * after crowdsec restarts (new JWT secret) the client logs in again by itself.
 * Skips with a visible reason when crowdsec or cscli is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apiclient/apiclient.h"

#define CROWDSEC "/usr/bin/crowdsec"
#define CSCLI    "/usr/bin/cscli"
#define CS_HUB   "/usr/share/crowdsec/hub"
#define WAIT_MS  60000
#define NALERTS  7

struct env {
    char dir[64];
    char config[128];
    unsigned port;
    pid_t pid;
};

static void
sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static unsigned
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
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

/* Runs argv (no shell) with stdout to out_path (or /dev/null); its exit status. */
static int
run(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd =
            open(out_path != NULL ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 1);
        if (nul >= 0)
            dup2(nul, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
crowdsec_start(struct env *e)
{
    char log[256];
    snprintf(log, sizeof(log), "%s/crowdsec.log", e->dir);
    e->pid = fork();
    assert_true(e->pid >= 0);
    if (e->pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(CROWDSEC, CROWDSEC, "-c", e->config, "-no-cs", (char *)NULL);
        _exit(127);
    }
}

static void
crowdsec_stop(struct env *e)
{
    if (e->pid <= 0)
        return;
    kill(e->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
            e->pid = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(e->pid, SIGKILL);
    waitpid(e->pid, NULL, 0);
    e->pid = 0;
}

/* Polls with real requests until the LAPI answers (the client logs in on the way). */
static bool
wait_lapi(struct apiclient *c)
{
    struct apiclient_error err = { { 0 }, 0 };
    for (int i = 0; i < WAIT_MS / 100; i++) {
        long status = 0;
        char *body = NULL;
        int rc = apiclient_request(c, "GET", "/v1/alerts?limit=1", NULL, 0, &status, &body, &err);
        free(body);
        if (rc == 0 && status == 200)
            return true;
        sleep_ms(100);
    }
    print_error("crowdsec's LAPI did not answer: %s\n", err.message);
    return false;
}

static int
setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    char buf[4096], sub[256];
    assert_non_null(e);
    snprintf(e->dir, sizeof(e->dir), "/tmp/apiclient-interop-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(sub, sizeof(sub), "%s/etc", e->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/data", e->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    e->port = free_port();
    snprintf(sub, sizeof(sub), "%s/etc", e->dir);
    write_file(sub, "profiles.yaml",
               "name: default_ip_remediation\n"
               "filters:\n"
               " - Alert.Remediation == true && Alert.GetScope() == \"Ip\"\n"
               "decisions:\n"
               " - type: ban\n"
               "   duration: 4h\n"
               "on_success: break\n");
    write_file(sub, "simulation.yaml", "simulation: off\n");
    write_file(sub, "acquis.yaml", "");
    snprintf(buf, sizeof(buf),
             "common:\n  daemonize: false\n  log_media: stdout\n  log_level: error\n"
             "  working_dir: %1$s\n"
             "config_paths:\n  config_dir: %1$s/etc/\n  data_dir: %1$s/data/\n"
             "  simulation_path: %1$s/etc/simulation.yaml\n  hub_dir: " CS_HUB "/\n"
             "  index_path: " CS_HUB "/.index.json\n  notification_dir: %1$s/etc/notifications/\n"
             "  plugin_dir: /usr/lib/crowdsec/plugins/\n"
             "crowdsec_service:\n  acquisition_path: %1$s/etc/acquis.yaml\n"
             "cscli:\n  output: human\n  hub_branch: master\n"
             "db_config:\n  log_level: error\n  type: sqlite\n  use_wal: false\n"
             "  db_path: %1$s/data/crowdsec.db\n"
             "api:\n  client:\n    insecure_skip_verify: false\n"
             "    credentials_path: %1$s/etc/local_api_credentials.yaml\n"
             "  server:\n    log_level: error\n    listen_uri: 127.0.0.1:%2$u\n"
             "    profiles_path: %1$s/etc/profiles.yaml\n"
             "    trusted_ips:\n      - 127.0.0.1\n"
             "prometheus:\n  enabled: false\n",
             e->dir, e->port);
    write_file(e->dir, "config.yaml", buf);
    snprintf(e->config, sizeof(e->config), "%s/config.yaml", e->dir);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;
    crowdsec_stop(e);
    rm_tree(e->dir);
    free(e);
    return 0;
}

static void
alert_json(int n, char *out, size_t size)
{
    char ip[32];
    snprintf(ip, sizeof(ip), "192.0.2.%d", 10 + n);
    snprintf(
        out, size,
        "{\"capacity\":5,\"decisions\":[{\"duration\":\"4h\",\"origin\":\"crowdsec\","
        "\"scenario\":\"crowdsecurity/ssh-bf\",\"scope\":\"Ip\",\"type\":\"ban\","
        "\"value\":\"%1$s\"}],\"events\":[{\"meta\":[{\"key\":\"source_ip\",\"value\":\"%1$s\"},"
        "{\"key\":\"service\",\"value\":\"ssh\"}],\"timestamp\":\"2024-01-02T03:04:05Z\"}],"
        "\"events_count\":6,\"labels\":null,\"leakspeed\":\"10s\","
        "\"message\":\"Ip %1$s performed 'crowdsecurity/ssh-bf' (6 events over 1s) at "
        "2024-01-02 03:04:05 +0000 UTC\",\"remediation\":true,"
        "\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":"
        "\"4441dcff07020f6690d998b7101e642359ba405c2abb83565bbbdcee36de280f\","
        "\"scenario_version\":\"0.1\",\"simulated\":false,\"source\":{\"ip\":\"%1$s\","
        "\"range\":\"\",\"scope\":\"Ip\",\"value\":\"%1$s\"},"
        "\"start_at\":\"2024-01-02T03:04:04Z\",\"stop_at\":\"2024-01-02T03:04:05Z\"}",
        ip);
}

static void
test_crowdsec_lapi(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    struct apiclient_credentials cr = { 0 };
    char creds[256], out[256], buf[4096];

    /* cscli writes the machine's credentials file: we read what it wrote. */
    snprintf(creds, sizeof(creds), "%s/etc/local_api_credentials.yaml", e->dir);
    char *add[] = { (char *)CSCLI, (char *)"-c",
                    e->config,     (char *)"machines",
                    (char *)"add", (char *)"phalanx-interop",
                    (char *)"-p",  (char *)"Interop-pw-42",
                    (char *)"-f",  creds,
                    NULL };
    assert_int_equal(run(add, NULL), 0);
    if (apiclient_credentials_load(creds, &cr, &err) != 0) {
        print_error("%s\n", err.message);
        fail();
    }
    assert_string_equal(cr.login, "phalanx-interop");
    assert_string_equal(cr.password, "Interop-pw-42");
    assert_non_null(strstr(cr.url, "127.0.0.1"));

    crowdsec_start(e);
    struct apiclient *c = apiclient_new(&cr, NULL, &err);
    assert_non_null(c);
    const char *const scen[] = { "crowdsecurity/ssh-bf" };
    assert_int_equal(apiclient_set_scenarios(c, scen, 1), 0);
    assert_true(wait_lapi(c));

    char spool[256];
    snprintf(spool, sizeof(spool), "%s/spool", e->dir);
    struct apiclient_pusher *p = apiclient_pusher_new(c, spool, &err);
    assert_non_null(p);
    assert_int_equal(apiclient_pusher_start(p, &err), 0);
    for (int i = 0; i < NALERTS; i++) {
        alert_json(i, buf, sizeof(buf));
        assert_int_equal(apiclient_pusher_add(p, buf, strlen(buf), &err), 0);
    }
    struct apiclient_pusher_stats st = { 0 };
    for (int i = 0; i < WAIT_MS / 50; i++) {
        apiclient_pusher_stats(p, &st);
        if (st.sent == NALERTS && st.pending == 0)
            break;
        sleep_ms(50);
    }
    assert_int_equal(st.sent, NALERTS);
    assert_int_equal(st.pending, 0);
    assert_true(st.heartbeats >= 1);
    apiclient_pusher_free(p, 2000);

    /* cscli reads them from the database. */
    snprintf(out, sizeof(out), "%s/alerts.json", e->dir);
    char *list[] = { (char *)CSCLI, (char *)"-c",   e->config,    (char *)"alerts", (char *)"list",
                     (char *)"-o",  (char *)"json", (char *)"-l", (char *)"0",      NULL };
    assert_int_equal(run(list, out), 0);
    json_error_t je;
    json_t *arr = json_load_file(out, 0, &je);
    if (arr == NULL)
        print_error("cscli alerts list: %s\n", je.text);
    assert_true(json_is_array(arr));
    int seen[NALERTS] = { 0 };
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        const char *ip = json_string_value(json_object_get(json_object_get(a, "source"), "ip"));
        int n = 0;
        assert_non_null(ip);
        assert_int_equal(sscanf(ip, "192.0.2.%d", &n), 1);
        n -= 10;
        assert_true(n >= 0 && n < NALERTS);
        seen[n]++;
        assert_string_equal(json_string_value(json_object_get(a, "scenario")),
                            "crowdsecurity/ssh-bf");
        assert_string_equal(json_string_value(json_object_get(a, "machine_id")), "phalanx-interop");
        json_t *d = json_array_get(json_object_get(a, "decisions"), 0);
        assert_string_equal(json_string_value(json_object_get(d, "type")), "ban");
        assert_string_equal(json_string_value(json_object_get(d, "value")), ip);
    }
    json_decref(arr);
    for (int n = 0; n < NALERTS; n++) {
        if (seen[n] != 1)
            print_error("alert %d listed %d times\n", n, seen[n]);
        assert_int_equal(seen[n], 1);
    }

    /* crowdsec restarts with a new JWT secret: the old token is refused, we log in again. */
    crowdsec_stop(e);
    crowdsec_start(e);
    assert_true(wait_lapi(c));
    long status = 0;
    char *body = NULL;
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    json_t *again = json_loads(body, 0, NULL);
    free(body);
    assert_int_equal(json_array_size(again), NALERTS);
    json_decref(again);
    apiclient_free(c);
    apiclient_credentials_clear(&cr);
}

int
main(void)
{
    if (access(CROWDSEC, X_OK) != 0 || access(CSCLI, X_OK) != 0 ||
        access(CS_HUB "/.index.json", R_OK) != 0) {
        printf("1..0 # SKIP CrowdSec 1.4.6 (" CROWDSEC ", " CSCLI ", " CS_HUB
               ") is not installed\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crowdsec_lapi, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
