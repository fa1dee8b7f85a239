/*
 * test_lapi_reload.c - lapi_reload() on a running HTTPS server: the
 * certificate, CA and profiles are replaced without closing the listening
 * socket, a bad file leaves the running settings alone, and switching TLS
 * on or off is refused. Certificates are made with the openssl tool; the
 * test is skipped when it is missing. Requests go through libcurl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lapi/internal.h"

static char dir[64];

static int sh(const char *fmt, ...) PRINTF_LIKE(1, 2);

static int
sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void
make_ca_and_server(const char *ca, const char *srv)
{
    if (sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           "-keyout %s.key -out %s.pem -subj /CN=%s -days 2 "
           "-addext basicConstraints=critical,CA:TRUE 2>/dev/null && "
           "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s.key "
           "-out %s.csr -subj /CN=localhost 2>/dev/null && "
           "printf 'subjectAltName=DNS:localhost\\n' > san.ext && "
           "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -set_serial 7 -days 2 "
           "-extfile san.ext -out %s.pem 2>/dev/null",
           dir, ca, ca, ca, srv, srv, srv, ca, ca, srv) != 0)
        fail_msg("openssl failed for %s/%s", ca, srv);
}

static size_t
sink(char *p, size_t size, size_t n, void *ud)
{
    return size * n;
}

/* GET /health over HTTPS trusting ca; the HTTP status, or 0 when TLS failed. */
static long
health(uint16_t port, const char *ca)
{
    char url[128], cafile[128];
    long code = 0;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    snprintf(url, sizeof(url), "https://localhost:%u/health", (unsigned)port);
    snprintf(cafile, sizeof(cafile), "%s/%s.pem", dir, ca);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    /* A new connection each time, so each request sees the current certificate. */
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static void
write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *
path_of(const char *name)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    char *s = strdup(buf);
    assert_non_null(s);
    return s;
}

static void
test_reload(void **state)
{
    struct lapi_config c = { 0 };
    struct lapi_error err = { { 0 } };
    struct lapi *l = NULL;

    if (system("command -v openssl >/dev/null 2>&1") != 0)
        skip();
    snprintf(dir, sizeof(dir), "/tmp/lapi-reload-XXXXXX");
    assert_non_null(mkdtemp(dir));
    make_ca_and_server("ca1", "srv1");
    make_ca_and_server("ca2", "srv2");
    sh("cp %s/srv1.pem %s/server.pem && cp %s/srv1.key %s/server.key", dir, dir, dir, dir);
    write_file("profiles.yaml", "name: p1\nfilters:\n - Alert.Remediation == true\n"
                                "decisions:\n - type: ban\n   duration: 4h\non_success: break\n");
    c.listen_uri = strdup("127.0.0.1:0");
    c.db_type = strdup("sqlite");
    c.db_dsn = path_of("lapi.db");
    c.profiles_path = path_of("profiles.yaml");
    c.tls.cert_file = path_of("server.pem");
    c.tls.key_file = path_of("server.key");
    c.threads = 2;
    c.max_connections = 16;
    c.connection_timeout_sec = 10;
    c.login_rate_burst = 20;
    c.login_rate_per_minute = 120;
    if (lapi_start(&c, &l, &err) != 0)
        fail_msg("start: %s", err.msg);
    uint16_t port = lapi_port(l);
    assert_int_equal(health(port, "ca1"), 200);
    assert_int_equal(health(port, "ca2"), 0);

    /* New certificate and profiles: same port, new chain served. */
    sh("cp %s/srv2.pem %s/server.pem && cp %s/srv2.key %s/server.key", dir, dir, dir, dir);
    const struct profiles *before = l->profiles;
    if (lapi_reload(l, &c, &err) != 0)
        fail_msg("reload: %s", err.msg);
    assert_ptr_not_equal(l->profiles, before);
    assert_int_equal(lapi_port(l), port);
    assert_int_equal(health(port, "ca2"), 200);
    assert_int_equal(health(port, "ca1"), 0);

    /* A broken profiles file: refused, the running settings stay. */
    write_file("profiles.yaml", "name: p1\nfilters:\n - Alert.Remediation ==\n");
    before = l->profiles;
    err.msg[0] = '\0';
    assert_int_equal(lapi_reload(l, &c, &err), -1);
    assert_true(strstr(err.msg, "profiles.yaml") != NULL);
    assert_ptr_equal(l->profiles, before);
    assert_int_equal(health(port, "ca2"), 200);

    /* A missing key file: refused, the old certificate still served. */
    write_file("profiles.yaml", "name: p1\nfilters:\n - Alert.Remediation == true\n"
                                "decisions:\n - type: ban\n   duration: 4h\n");
    sh("rm %s/server.key", dir);
    assert_int_equal(lapi_reload(l, &c, &err), -1);
    assert_true(strstr(err.msg, "key_file") != NULL);
    assert_int_equal(health(port, "ca2"), 200);

    /* TLS cannot be switched off by a reload. */
    char *cert = c.tls.cert_file, *key = c.tls.key_file;
    c.tls.cert_file = c.tls.key_file = NULL;
    assert_int_equal(lapi_reload(l, &c, &err), -1);
    assert_string_equal(err.msg, "turning TLS off needs a restart");
    c.tls.cert_file = cert;
    c.tls.key_file = key;

    lapi_stop(l);
    lapi_config_clear(&c);
    sh("rm -rf %s", dir);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
