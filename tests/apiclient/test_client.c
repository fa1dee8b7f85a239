/*
 * test_client.c - the Local API client against the real Phalanx LAPI started
 * in-process on a free port with a temporary SQLite database: credentials
 * files, registration, login (good and bad password), token reuse, re-login
 * after the LAPI restarted with a new JWT secret, plain requests, transport
 * errors and the bound on answers from a hostile server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apiclient/apiclient.h"
#include "lapi/lapi.h"
#include "store/store.h"

struct env {
    char dir[64];
    char db[128];
    char url[64];
    uint16_t port;
    struct lapi *lapi;
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
        /* The tests log in far more often than the default login rate limit allows. */
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

/* Adds a validated machine straight into the store, as `phalanx machines add` does. */
static void
machine_add(struct env *e, const char *id, const char *password, bool replace)
{
    struct store *s = NULL;
    struct store_error err = { { 0 } };
    assert_int_equal(store_open("sqlite", e->db, &s, &err), 0);
    if (replace)
        store_machine_delete(s, id, &err);
    char *hash = lapi_password_hash(password);
    assert_non_null(hash);
    struct store_machine m = {
        .machine_id = (char *)id,
        .password = hash,
        .ip_address = (char *)"",
        .scenarios = (char *)"",
        .version = (char *)"",
        .auth_type = (char *)"password",
        .is_validated = true,
    };
    int rc = store_machine_create(s, &m, now_ns(), NULL, &err);
    if (rc != 0)
        print_error("store_machine_create: %s\n", err.msg);
    assert_int_equal(rc, 0);
    free(hash);
    store_close(s);
}

static int
setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    unsetenv("CS_LAPI_SECRET");
    snprintf(e->dir, sizeof(e->dir), "/tmp/apiclient-test-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->db, sizeof(e->db), "%s/lapi.db", e->dir);
    lapi_up(e, 0);
    *state = e;
    return 0;
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
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int
teardown(void **state)
{
    struct env *e = *state;
    lapi_stop(e->lapi);
    rm_tree(e->dir);
    free(e);
    return 0;
}

static struct apiclient *
client_for(struct env *e, const char *login, const char *password)
{
    struct apiclient_credentials cr = { .url = e->url,
                                        .login = (char *)login,
                                        .password = (char *)password };
    struct apiclient_error err = { { 0 }, 0 };
    struct apiclient *c = apiclient_new(&cr, NULL, &err);
    if (c == NULL)
        print_error("apiclient_new: %s\n", err.message);
    assert_non_null(c);
    return c;
}

/* --- credentials files --- */

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_credentials_files(void **state)
{
    struct env *e = *state;
    static const struct {
        const char *text;
        int rc;
        const char *url, *login, *password, *ca; /* expected on success */
        const char *error;                       /* expected substring on failure */
    } cases[] = {
        { "url: http://127.0.0.1:8080/\nlogin: m1\npassword: secret\n", 0, "http://127.0.0.1:8080/",
          "m1", "secret", NULL, NULL },
        { "url: \"https://lapi:8443\"\nlogin: 'a b'\npassword: \"p:w #x\"\nca_cert_path: "
          "/etc/ca.pem\n",
          0, "https://lapi:8443", "a b", "p:w #x", "/etc/ca.pem", NULL },
        { "url: http://x/\nlogin: m\npassword: p\npapi_url: https://papi/\n", 0, "http://x/", "m",
          "p", NULL, NULL },
        { "url: http://x/\nlogin: m\nbogus: 1\n", -1, NULL, NULL, NULL, NULL, ":3: field bogus" },
        { "login: m\npassword: p\n", -1, NULL, NULL, NULL, NULL, "no url" },
        { "url: http://x/\nurl: http://y/\n", -1, NULL, NULL, NULL, NULL, ":2: key \"url\"" },
        { "url: [a, b]\n", -1, NULL, NULL, NULL, NULL, ":1: url: cannot unmarshal !!seq" },
        { "url: http://x/\n  bad: [\n", -1, NULL, NULL, NULL, NULL, "creds.yaml:" },
        { "", -1, NULL, NULL, NULL, NULL, "empty" },
    };
    char path[256];
    snprintf(path, sizeof(path), "%s/creds.yaml", e->dir);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct apiclient_credentials c = { 0 };
        struct apiclient_error err = { { 0 }, 0 };
        write_file(path, cases[i].text);
        int rc = apiclient_credentials_load(path, &c, &err);
        if (rc != cases[i].rc)
            print_error("case %zu: rc %d (%s)\n", i, rc, err.message);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            assert_string_equal(c.url, cases[i].url);
            assert_string_equal(c.login, cases[i].login);
            assert_string_equal(c.password, cases[i].password);
            if (cases[i].ca == NULL)
                assert_null(c.ca_cert_path);
            else
                assert_string_equal(c.ca_cert_path, cases[i].ca);
        } else if (strstr(err.message, cases[i].error) == NULL) {
            print_error("case %zu: error '%s' lacks '%s'\n", i, err.message, cases[i].error);
            fail();
        }
        apiclient_credentials_clear(&c);
    }
    /* A missing file names the path. */
    struct apiclient_credentials c = { 0 };
    struct apiclient_error err = { { 0 }, 0 };
    assert_int_equal(apiclient_credentials_load("/nonexistent/creds.yaml", &c, &err), -1);
    assert_non_null(strstr(err.message, "/nonexistent/creds.yaml"));
}

static void
test_credentials_save_roundtrip(void **state)
{
    struct env *e = *state;
    static const char *const passwords[] = { "plain",    "with space", "quote\"and\\slash",
                                             "yes",      "0123",       "- dash",
                                             "colon: x", "hash #x",    "tab\there",
                                             "",         "trailing " };
    char path[256];
    snprintf(path, sizeof(path), "%s/saved.yaml", e->dir);
    for (size_t i = 0; i < ARRAY_SIZE(passwords); i++) {
        struct apiclient_credentials in = { .url = (char *)"http://127.0.0.1:8080/",
                                            .login = (char *)"machine-1",
                                            .password = (char *)passwords[i],
                                            .key_path = (char *)"/k.pem" };
        struct apiclient_credentials out = { 0 };
        struct apiclient_error err = { { 0 }, 0 };
        assert_int_equal(apiclient_credentials_save(path, &in, &err), 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        if (apiclient_credentials_load(path, &out, &err) != 0) {
            print_error("case %zu: %s\n", i, err.message);
            fail();
        }
        assert_string_equal(out.url, in.url);
        assert_string_equal(out.login, in.login);
        if (passwords[i][0] == '\0')
            assert_null(out.password);
        else
            assert_string_equal(out.password, passwords[i]);
        assert_string_equal(out.key_path, "/k.pem");
        assert_null(out.cert_path);
        apiclient_credentials_clear(&out);
    }
    /* Nothing but the target is left in the directory (the temporary file was renamed). */
    DIR *d = opendir(e->dir);
    struct dirent *de;
    int tmp = 0;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".tmp") != NULL)
            tmp++;
    closedir(d);
    assert_int_equal(tmp, 0);
}

/* --- login and requests --- */

static void
test_register_then_login(void **state)
{
    struct env *e = *state;
    struct apiclient_credentials cr = { .url = e->url,
                                        .login = (char *)"reg1",
                                        .password = (char *)"pw-reg1" };
    struct apiclient_error err = { { 0 }, 0 };
    assert_int_equal(apiclient_register(&cr, &err), 0);
    /* Registering twice: the LAPI refuses with 403 and we report it. */
    assert_int_equal(apiclient_register(&cr, &err), -1);
    assert_int_equal(err.status, 403);
    assert_non_null(strstr(err.message, "already exist"));

    /* Not validated yet: the login is refused. */
    struct apiclient *c = client_for(e, "reg1", "pw-reg1");
    long status = 0;
    char *body = NULL;
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), -1);
    assert_int_equal(err.status, 401);
    assert_non_null(strstr(err.message, "not validated"));

    struct store *s = NULL;
    struct store_error serr = { { 0 } };
    assert_int_equal(store_open("sqlite", e->db, &s, &serr), 0);
    assert_int_equal(store_machine_set_validated(s, "reg1", true, now_ns(), &serr), 0);
    const char *const scen[] = { "crowdsecurity/ssh-bf", "crowdsecurity/http-probing" };
    assert_int_equal(apiclient_set_scenarios(c, scen, 2), 0);
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    assert_non_null(body);
    assert_true(strcmp(body, "[]") == 0 || strcmp(body, "null") == 0);
    free(body);
    /* The login told the LAPI our scenarios and our version (from the User-Agent). */
    struct store_machine m = { 0 };
    assert_int_equal(store_machine_get(s, "reg1", &m, &serr), 0);
    assert_string_equal(m.scenarios, "crowdsecurity/ssh-bf,crowdsecurity/http-probing");
    assert_string_equal(m.version, PHALANX_VERSION);
    store_machine_clear(&m);
    store_close(s);
    apiclient_free(c);
}

static void
test_bad_password(void **state)
{
    struct env *e = *state;
    machine_add(e, "m-bad", "right-password", false);
    struct apiclient *c = client_for(e, "m-bad", "wrong-password");
    struct apiclient_error err = { { 0 }, 0 };
    long status = 0;
    char *body = NULL;
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), -1);
    assert_int_equal(err.status, 401);
    assert_non_null(strstr(err.message, "incorrect Username or Password"));
    assert_null(body);
    apiclient_free(c);

    /* An unknown machine is refused the same way. */
    c = client_for(e, "nobody", "x");
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), -1);
    assert_int_equal(err.status, 401);
    apiclient_free(c);
}

/*
 * The token is reused: after the machine is recreated with another password
 * (its tokens stay valid, they name the machine), requests keep working, which
 * they could not if the client logged in again. Then the LAPI restarts with a
 * new JWT secret on the same port: the old token gets a 401 and the client
 * logs in again; with the old password that login fails, with the machine's
 * own password it succeeds and the request is retried transparently.
 */
static void
test_token_reuse_and_relogin(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    long status = 0;
    char *body = NULL;

    machine_add(e, "m-tok", "first", false);
    struct apiclient *c = client_for(e, "m-tok", "first");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            apiclient_request(c, "GET", "/v1/alerts?limit=1", NULL, 0, &status, &body, &err), 0);
        assert_int_equal(status, 200);
        free(body);
        body = NULL;
    }
    machine_add(e, "m-tok", "second", true);
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    free(body);
    body = NULL;

    uint16_t port = e->port;
    lapi_stop(e->lapi);
    lapi_up(e, port);
    assert_int_equal(e->port, port);
    /* Old token refused, re-login with "first" refused: the 401 of the login is reported. */
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), -1);
    assert_int_equal(err.status, 401);
    apiclient_free(c);

    c = client_for(e, "m-tok", "second");
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    free(body);
    body = NULL;
    lapi_stop(e->lapi);
    lapi_up(e, port);
    /* The cached token is from the previous LAPI: refused, then re-login and retry succeed. */
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    free(body);
    apiclient_free(c);
}

static void
test_request_shapes(void **state)
{
    struct env *e = *state;
    struct apiclient_error err = { { 0 }, 0 };
    long status = 0;
    char *body = NULL;

    machine_add(e, "m-req", "pw", false);
    struct apiclient *c = client_for(e, "m-req", "pw");
    static const struct {
        const char *method, *path, *body;
        long status;
        const char *contains; /* in the answer, or NULL */
    } cases[] = {
        { "GET", "/v1/alerts", NULL, 200, NULL },
        { "GET", "/v1/heartbeat", NULL, 200, NULL },
        { "POST", "/v1/alerts", "not json", 400, NULL },
        { "POST", "/v1/alerts", "[]", 201, NULL },
        { "GET", "/v1/no-such-route", NULL, 404, NULL },
        /* A bouncer route with a machine token: CrowdSec answers 403 and so do we, after one retry.
         */
        { "GET", "/v1/decisions", NULL, 403, NULL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int rc = apiclient_request(c, cases[i].method, cases[i].path, cases[i].body,
                                   cases[i].body != NULL ? strlen(cases[i].body) : 0, &status,
                                   &body, &err);
        if (rc != 0 || status != cases[i].status)
            print_error("case %zu %s %s: rc %d status %ld (%s) body %s\n", i, cases[i].method,
                        cases[i].path, rc, status, err.message, body ? body : "(null)");
        assert_int_equal(rc, 0);
        assert_int_equal(status, cases[i].status);
        if (cases[i].contains != NULL)
            assert_non_null(strstr(body, cases[i].contains));
        free(body);
        body = NULL;
    }
    /* A path without the leading slash is refused before anything is sent. */
    assert_int_equal(apiclient_request(c, "GET", "v1/alerts", NULL, 0, &status, &body, &err), -1);
    apiclient_free(c);
}

static void
test_transport_errors(void **state)
{
    UNUSED(state);
    struct apiclient_error err = { { 0 }, 0 };
    static const char *const bad_urls[] = { "ftp://127.0.0.1/", "127.0.0.1:8080", "" };
    for (size_t i = 0; i < ARRAY_SIZE(bad_urls); i++) {
        struct apiclient_credentials cr = { .url = (char *)bad_urls[i], .login = (char *)"m" };
        assert_null(apiclient_new(&cr, NULL, &err));
    }
    /* A port nobody listens on: a transport error, status 0. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    struct apiclient_credentials cr = { .url = url, .login = (char *)"m", .password = (char *)"p" };
    struct apiclient *c = apiclient_new(&cr, NULL, &err);
    assert_non_null(c);
    long status = 0;
    char *body = NULL;
    err.status = 99;
    assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err), -1);
    assert_int_equal(err.status, 0);
    assert_non_null(strstr(err.message, "/v1/watchers/login"));
    apiclient_free(c);
}

/* A hostile "LAPI" that answers every request with a huge body. */
struct hostile {
    int fd;
    bool chunked;
};

static void *
hostile_serve(void *arg)
{
    struct hostile *h = arg;
    int cfd = accept(h->fd, NULL, NULL);
    if (cfd < 0)
        return NULL;
    char buf[4096];
    /* Read the request head; the login body is small and comes in the same packets. */
    ssize_t n = read(cfd, buf, sizeof(buf));
    (void)n;
    const char *head = h->chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  : "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n";
    if (write(cfd, head, strlen(head)) < 0)
        goto out;
    if (h->chunked) {
        static char chunk[65536 + 16];
        int hl = snprintf(chunk, sizeof(chunk), "10000\r\n");
        memset(chunk + hl, 'a', 65536);
        memcpy(chunk + hl + 65536, "\r\n", 2);
        /* 80 MiB at most, more than the client's bound; it hangs up before. */
        for (int i = 0; i < 1280; i++)
            if (write(cfd, chunk, (size_t)hl + 65536 + 2) < 0)
                break;
    }
out:
    close(cfd);
    return NULL;
}

static void
test_hostile_body_bounded(void **state)
{
    UNUSED(state);
    for (int chunked = 0; chunked < 2; chunked++) {
        struct hostile h = { .chunked = chunked };
        h.fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        assert_int_equal(bind(h.fd, (struct sockaddr *)&sa, sl), 0);
        assert_int_equal(listen(h.fd, 4), 0);
        assert_int_equal(getsockname(h.fd, (struct sockaddr *)&sa, &sl), 0);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, hostile_serve, &h), 0);
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
        struct apiclient_credentials cr = { .url = url,
                                            .login = (char *)"m",
                                            .password = (char *)"p" };
        struct apiclient_error err = { { 0 }, 0 };
        struct apiclient *c = apiclient_new(&cr, NULL, &err);
        long status = 0;
        char *body = NULL;
        assert_int_equal(apiclient_request(c, "GET", "/v1/alerts", NULL, 0, &status, &body, &err),
                         -1);
        if (strstr(err.message, "larger than") == NULL) {
            print_error("chunked=%d: %s\n", chunked, err.message);
            fail();
        }
        apiclient_free(c);
        pthread_join(th, NULL);
        close(h.fd);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_files),
        cmocka_unit_test(test_credentials_save_roundtrip),
        cmocka_unit_test(test_register_then_login),
        cmocka_unit_test(test_bad_password),
        cmocka_unit_test(test_token_reuse_and_relogin),
        cmocka_unit_test(test_request_shapes),
        cmocka_unit_test(test_transport_errors),
        cmocka_unit_test(test_hostile_body_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
