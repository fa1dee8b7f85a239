/*
 * test_helpers_net.c - HTTPGet/HTTPHead/HTTPPost/HTTPRequest against a tiny
 * HTTP server the test runs on a loopback thread (no outside network),
 * LookupHost on literals and /etc/hosts names, the decision counters through
 * a fake provider, CrowdsecCTI's disabled path, and the libinjection pair.
 * The HTTP cases follow CrowdSec's http_test.go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/str.h"
#include "expr/helpers.h"

#include "helpers_fixture.h"

/* --- the loopback server --- */

static int srv_fd = -1;
static int srv_port;
static pthread_t srv_thread;

static const char gzip_hello[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xcb\x48\xcd\xc9\xc9\x57"
                                 "\x48\xaf\xca\x2c\x00\x00\x19\x6a\xd2\xdf\x0a\x00\x00\x00";

static void
srv_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* The value of header `name` (case-insensitive) in the raw request head, into out. */
static void
srv_header(const char *head, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            len = MIN(len, size - 1);
            memcpy(out, v, len);
            out[len] = '\0';
            return;
        }
    }
}

static void
srv_handle(int fd)
{
    struct str req = STR_INIT, resp = STR_INIT;
    char buf[4096], method[16] = "", target[256] = "", cl[32], ctype[128], key[128], ua[128],
                    accept[128];
    char *body;
    size_t head_len;

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            goto out;
        str_append(&req, buf, (size_t)n);
        char *end = strstr(req.buf, "\r\n\r\n");
        if (!end)
            continue;
        head_len = (size_t)(end - req.buf) + 4;
        srv_header(req.buf, "Content-Length", cl, sizeof(cl));
        size_t want = head_len + (size_t)atol(cl);
        while (req.len < want && (n = read(fd, buf, sizeof(buf))) > 0)
            str_append(&req, buf, (size_t)n);
        break;
    }
    if (sscanf(req.buf, "%15s %255s", method, target) != 2)
        goto out;
    body = req.buf + head_len;
    srv_header(req.buf, "Content-Type", ctype, sizeof(ctype));
    srv_header(req.buf, "X-Api-Key", key, sizeof(key));
    srv_header(req.buf, "User-Agent", ua, sizeof(ua));
    srv_header(req.buf, "Accept", accept, sizeof(accept));
    bool head = strcmp(method, "HEAD") == 0;

    if (strcmp(target, "/redirect") == 0) {
        str_appendf(&resp, "HTTP/1.1 302 Found\r\nLocation: /echo\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n");
    } else if (strcmp(target, "/created") == 0) {
        str_appendf(&resp, "HTTP/1.1 201 Created\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
                           "created");
    } else if (strcmp(target, "/gzip") == 0) {
        str_appendf(&resp,
                    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n\r\n",
                    sizeof(gzip_hello) - 1);
        str_append(&resp, gzip_hello, sizeof(gzip_hello) - 1);
    } else if (strcmp(target, "/big") == 0) {
        size_t big = (11u << 20);
        str_appendf(&resp, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                    big);
        srv_write(fd, resp.buf, resp.len);
        memset(buf, 'b', sizeof(buf));
        for (size_t sent = 0; sent < big; sent += sizeof(buf))
            srv_write(fd, buf, MIN(sizeof(buf), big - sent));
        goto out;
    } else {
        /* /echo: the request comes back in headers and body. */
        size_t blen = req.len - head_len;
        str_appendf(&resp,
                    "HTTP/1.1 200 OK\r\nX-Method: %s\r\nX-Content-Type: %s\r\nX-Api-Key: %s\r\n"
                    "X-User-Agent: %s\r\nX-Accept: %s\r\nX-Target: %s\r\nSet-Cookie: a=1\r\n"
                    "Set-Cookie: b=2\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                    method, ctype, key, ua, accept, target, blen);
        if (!head)
            str_append(&resp, body, blen);
    }
    srv_write(fd, resp.buf, resp.len);
out:
    str_free(&req);
    str_free(&resp);
}

static void *
srv_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(srv_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        srv_handle(fd);
        shutdown(fd, SHUT_WR);
        close(fd);
    }
}

static int
srv_start(void **state)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    (void)state;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv_fd < 0 || bind(srv_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        listen(srv_fd, 16) < 0 || getsockname(srv_fd, (struct sockaddr *)&sin, &len) < 0)
        return -1;
    srv_port = ntohs(sin.sin_port);
    return pthread_create(&srv_thread, NULL, srv_main, NULL) == 0 ? 0 : -1;
}

static int
srv_stop(void **state)
{
    (void)state;
    shutdown(srv_fd, SHUT_RDWR);
    close(srv_fd);
    pthread_join(srv_thread, NULL);
    return 0;
}

/* --- helpers --- */

static int
call(struct expr_vm *vm, const char *name, const struct expr_value *args, size_t n,
     struct expr_value *ret)
{
    return fixture_call(vm, expr_helpers_net, expr_helpers_net_count, name, args, n, ret);
}

static struct expr_value
url(struct expr_vm *vm, const char *path)
{
    return expr_vm_strf(vm, "http://127.0.0.1:%d%s", srv_port, path);
}

static const struct expr_field *
resp_field(const struct expr_value *resp, const char *name)
{
    assert_int_equal(resp->kind, EXPR_OBJECT);
    const struct expr_class *cls = resp->u.o.cls;
    for (size_t i = 0; i < cls->nfields; i++)
        if (strcmp(cls->fields[i].name, name) == 0)
            return &cls->fields[i];
    fail_msg("no field %s", name);
    abort();
}

static struct expr_value
get_field(struct expr_vm *vm, const struct expr_value *resp, const char *name)
{
    struct expr_value v;
    assert_int_equal(resp_field(resp, name)->get(resp->u.o.ptr, vm, &v), 0);
    return v;
}

/* resp.Headers.<method>(key) */
static struct expr_value
header_call(struct expr_vm *vm, const struct expr_value *resp, const char *method, const char *key)
{
    struct expr_value h = get_field(vm, resp, "Headers"), v, arg = fixture_str(key);
    assert_int_equal(h.kind, EXPR_OBJECT);
    const struct expr_class *cls = h.u.o.cls;
    for (size_t i = 0; i < cls->nmethods; i++)
        if (strcmp(cls->methods[i].name, method) == 0) {
            assert_int_equal(cls->methods[i].call(h.u.o.ptr, vm, &arg, 1, &v), 0);
            return v;
        }
    fail_msg("no method %s", method);
    return expr_nil();
}

static const char *
header_get(struct expr_vm *vm, const struct expr_value *resp, const char *key, char *buf,
           size_t size)
{
    struct expr_value v = header_call(vm, resp, "Get", key);
    assert_int_equal(v.kind, EXPR_STRING);
    snprintf(buf, size, "%.*s", (int)v.u.s.len, v.u.s.ptr);
    return buf;
}

/* --- HTTP --- */

static void
test_http_helpers(void **state)
{
    /* helper, method arg, path, content type, header key/value, body -> status, header checks */
    static const struct {
        const char *fn, *method, *path, *ctype, *hkey, *hval, *body;
        int64_t status;
        const char *want_method, *want_body, *want_ctype, *want_key;
    } cases[] = {
        { "HTTPGet", NULL, "/echo", NULL, NULL, NULL, NULL, 200, "GET", "", "", "" },
        { "HTTPHead", NULL, "/echo", NULL, NULL, NULL, NULL, 200, "HEAD", "", "", "" },
        { "HTTPPost", NULL, "/echo", "application/json", NULL, NULL, "{\"foo\":\"bar\"}", 200,
          "POST", "{\"foo\":\"bar\"}", "application/json", "" },
        { "HTTPPost", NULL, "/echo", "text/plain", NULL, NULL, "", 200, "POST", "", "text/plain",
          "" },
        { "HTTPRequest", "PUT", "/echo", NULL, "X-Api-Key", "secret", "payload", 200, "PUT",
          "payload", "", "secret" },
        { "HTTPRequest", "PUT", "/echo", NULL, "x-api-key", "lower", "p", 200, "PUT", "p", "",
          "lower" },
        { "HTTPRequest", "GET", "/echo", NULL, NULL, NULL, "", 200, "GET", "", "", "" },
        { "HTTPRequest", "DELETE", "/echo", NULL, NULL, NULL, "", 200, "DELETE", "", "", "" },
        { "HTTPRequest", "", "/echo", NULL, NULL, NULL, "", 200, "GET", "", "", "" },
        { "HTTPGet", NULL, "/redirect", NULL, NULL, NULL, NULL, 200, "GET", "", "", "" },
        { "HTTPGet", NULL, "/created", NULL, NULL, NULL, NULL, 201, NULL, "created", NULL, NULL },
        { "HTTPPost", NULL, "/created", "a/b", NULL, NULL, "x", 201, NULL, "created", NULL, NULL },
        { "HTTPGet", NULL, "/gzip", NULL, NULL, NULL, NULL, 200, NULL, "hello gzip", NULL, NULL },
    };
    struct expr_vm *vm = expr_vm_new();
    char buf[256];
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value args[4], ret;
        size_t n = 0;
        if (cases[i].method)
            args[n++] = fixture_str(cases[i].method);
        args[n++] = url(vm, cases[i].path);
        if (strcmp(cases[i].fn, "HTTPPost") == 0) {
            args[n++] = fixture_str(cases[i].ctype);
            args[n++] = fixture_str(cases[i].body);
        } else if (strcmp(cases[i].fn, "HTTPRequest") == 0) {
            struct expr_map *m = expr_vm_map(vm, 1);
            assert_non_null(m);
            if (cases[i].hkey)
                assert_int_equal(expr_map_set(vm, m, cases[i].hkey, strlen(cases[i].hkey),
                                              fixture_str(cases[i].hval)),
                                 0);
            args[n++] = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
            args[n++] = fixture_str(cases[i].body);
        }
        if (call(vm, cases[i].fn, args, n, &ret) != 0)
            fail_msg("case %zu: %s failed", i, cases[i].fn);
        struct expr_value status = get_field(vm, &ret, "StatusCode");
        struct expr_value body = get_field(vm, &ret, "Body");
        if (status.u.i != cases[i].status || !fixture_str_is(&body, cases[i].want_body))
            fail_msg("case %zu: status %lld body \"%.*s\"", i, (long long)status.u.i,
                     (int)body.u.s.len, body.u.s.ptr);
        if (cases[i].want_method &&
            strcmp(header_get(vm, &ret, "X-Method", buf, sizeof(buf)), cases[i].want_method) != 0)
            fail_msg("case %zu: X-Method %s", i, buf);
        if (cases[i].want_ctype && strcmp(header_get(vm, &ret, "X-Content-Type", buf, sizeof(buf)),
                                          cases[i].want_ctype) != 0)
            fail_msg("case %zu: X-Content-Type %s", i, buf);
        if (cases[i].want_key &&
            strcmp(header_get(vm, &ret, "X-Api-Key", buf, sizeof(buf)), cases[i].want_key) != 0)
            fail_msg("case %zu: X-Api-Key %s", i, buf);
    }
    expr_vm_free(vm);
}

static void
test_http_headers(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret, arg = url(vm, "/echo");
    char buf[256];
    (void)state;
    assert_int_equal(call(vm, "HTTPGet", &arg, 1, &ret), 0);
    /* Get canonicalises its key; Go's client sends no Accept header and its own User-Agent. */
    assert_string_equal(header_get(vm, &ret, "x-method", buf, sizeof(buf)), "GET");
    assert_string_equal(header_get(vm, &ret, "X-METHOD", buf, sizeof(buf)), "GET");
    assert_string_equal(header_get(vm, &ret, "X-Accept", buf, sizeof(buf)), "");
    assert_non_null(strstr(header_get(vm, &ret, "X-User-Agent", buf, sizeof(buf)), "crowdsec/"));
    assert_string_equal(header_get(vm, &ret, "Nope", buf, sizeof(buf)), "");
    assert_string_equal(header_get(vm, &ret, "Set-Cookie", buf, sizeof(buf)), "a=1");
    struct expr_value all = header_call(vm, &ret, "Values", "set-cookie");
    assert_int_equal(all.kind, EXPR_ARRAY);
    assert_int_equal(all.u.a->len, 2);
    assert_true(fixture_str_is(&all.u.a->items[1], "b=2"));
    assert_int_equal(header_call(vm, &ret, "Values", "Nope").kind, EXPR_NIL);
    /* Indexing is a plain map lookup: canonical keys only. */
    struct expr_value h = get_field(vm, &ret, "Headers"), v, key = fixture_str("X-Method");
    const struct expr_class *cls = h.u.o.cls;
    assert_true(cls->is_map);
    assert_int_equal(cls->index(h.u.o.ptr, vm, &key, &v), 0);
    assert_int_equal(v.kind, EXPR_ARRAY);
    assert_true(fixture_str_is(&v.u.a->items[0], "GET"));
    key = fixture_str("x-method");
    assert_int_equal(cls->index(h.u.o.ptr, vm, &key, &v), 0);
    assert_int_equal(v.kind, EXPR_NIL);
    assert_false(cls->has(h.u.o.ptr, &key));
    key = fixture_str("Content-Length");
    assert_true(cls->has(h.u.o.ptr, &key));
    assert_true(cls->len(h.u.o.ptr) >= 8);
    /* A decoded gzip body loses Content-Encoding and Content-Length, as in Go. */
    arg = url(vm, "/gzip");
    assert_int_equal(call(vm, "HTTPGet", &arg, 1, &ret), 0);
    h = get_field(vm, &ret, "Headers");
    key = fixture_str("Content-Encoding");
    assert_false(cls->has(h.u.o.ptr, &key));
    key = fixture_str("Content-Length");
    assert_false(cls->has(h.u.o.ptr, &key));
    /* Non-string header values are formatted with fmt.Sprint. */
    struct expr_map *m = expr_vm_map(vm, 1);
    assert_int_equal(expr_map_set(vm, m, "X-Api-Key", 9, expr_int(42)), 0);
    struct expr_value args[4] = { fixture_str("POST"), url(vm, "/echo"),
                                  (struct expr_value){ .kind = EXPR_MAP, .u.m = m },
                                  fixture_str("") };
    assert_int_equal(call(vm, "HTTPRequest", args, 4, &ret), 0);
    assert_string_equal(header_get(vm, &ret, "X-Api-Key", buf, sizeof(buf)), "42");
    expr_vm_free(vm);
}

/* io.LimitReader: the body stops at 10 MiB, without an error. */
static void
test_http_body_cap(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret, arg = url(vm, "/big");
    (void)state;
    assert_int_equal(call(vm, "HTTPGet", &arg, 1, &ret), 0);
    struct expr_value body = get_field(vm, &ret, "Body");
    assert_int_equal(body.u.s.len, 10u << 20);
    assert_int_equal(body.u.s.ptr[body.u.s.len - 1], 'b');
    expr_vm_free(vm);
}

static void
test_http_errors(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret;
    (void)state;
    /* Nothing listens on the port of a socket we just closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    struct expr_value closed = expr_vm_strf(vm, "http://127.0.0.1:%d/", ntohs(sin.sin_port));
    struct expr_map *empty = expr_vm_map(vm, 0), *crlf = expr_vm_map(vm, 1);
    assert_int_equal(expr_map_set(vm, crlf, "X-A", 3, fixture_str("a\r\nInjected: 1")), 0);
    struct expr_value emptyv = { .kind = EXPR_MAP, .u.m = empty };
    struct expr_value crlfv = { .kind = EXPR_MAP, .u.m = crlf };
    const struct {
        const char *fn;
        struct expr_value args[4];
        size_t n;
    } cases[] = {
        { "HTTPGet", { closed }, 1 },
        { "HTTPHead", { closed }, 1 },
        { "HTTPPost", { closed, fixture_str("a/b"), fixture_str("x") }, 3 },
        { "HTTPGet", { fixture_str("ftp://127.0.0.1/") }, 1 },
        { "HTTPGet", { fixture_str("not a url") }, 1 },
        { "HTTPGet", { expr_int(42) }, 1 },
        { "HTTPPost", { url(vm, "/echo"), expr_int(1), fixture_str("x") }, 3 },
        { "HTTPRequest",
          { fixture_str("BAD METHOD"), url(vm, "/echo"), emptyv, fixture_str("") },
          4 },
        { "HTTPRequest", { fixture_str("GET"), url(vm, "/echo"), crlfv, fixture_str("") }, 4 },
        { "HTTPRequest",
          { fixture_str("GET"), url(vm, "/echo"), fixture_str("headers"), fixture_str("") },
          4 },
        { "HTTPRequest", { fixture_str("GET"), url(vm, "/echo"), emptyv, expr_int(0) }, 4 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        if (call(vm, cases[i].fn, cases[i].args, cases[i].n, &ret) != -1)
            fail_msg("case %zu: %s did not fail", i, cases[i].fn);
    expr_vm_free(vm);
}

/* --- LookupHost --- */

static void
test_lookup_host(void **state)
{
    static const struct {
        const char *host, *expect; /* expect: an address that must be in the answer, or NULL = [] */
        size_t exact_len;          /* 0 = any length */
    } cases[] = {
        { "127.0.0.1", "127.0.0.1", 1 },
        { "::1", "::1", 1 },
        { "::ffff:1.2.3.4", "::ffff:1.2.3.4", 1 },
        { "localhost", "127.0.0.1", 0 },
        { "", NULL, 0 },
        { "bad host name with spaces", NULL, 0 },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, arg = fixture_str(cases[i].host);
        assert_int_equal(call(vm, "LookupHost", &arg, 1, &ret), 0);
        assert_int_equal(ret.kind, EXPR_ARRAY);
        if (!cases[i].expect) {
            if (ret.u.a->len != 0)
                fail_msg("case %zu: %zu addresses", i, ret.u.a->len);
            continue;
        }
        bool found = false;
        for (size_t k = 0; k < ret.u.a->len; k++)
            found = found || fixture_str_is(&ret.u.a->items[k], cases[i].expect);
        if (!found || (cases[i].exact_len && ret.u.a->len != cases[i].exact_len))
            fail_msg("case %zu (%s): %zu addresses, %s missing", i, cases[i].host, ret.u.a->len,
                     cases[i].expect);
    }
    struct expr_value ret, bad = expr_int(1);
    assert_int_equal(call(vm, "LookupHost", &bad, 1, &ret), -1);
    expr_vm_free(vm);
}

/* --- decisions --- */

struct fake_db {
    int calls;
    char last_value[64];
    bool last_active;
    int64_t last_since;
};

static int64_t
fake_count(void *ctx, const char *value, bool active_only, int64_t since_ns)
{
    struct fake_db *db = ctx;
    db->calls++;
    snprintf(db->last_value, sizeof(db->last_value), "%s", value);
    db->last_active = active_only;
    db->last_since = since_ns;
    return strcmp(value, "1.2.3.4") == 0 ? (active_only ? 2 : 5) : 0;
}

static int64_t
fake_time_left(void *ctx, const char *value)
{
    struct fake_db *db = ctx;
    db->calls++;
    return strcmp(value, "1.2.3.4") == 0 ? INT64_C(3600000000000) : 0;
}

static void
test_decisions(void **state)
{
    struct fake_db db = { 0 };
    struct expr_decisions_provider p = { &db, fake_count, fake_time_left };
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret, ip = fixture_str("1.2.3.4"), other = fixture_str("5.6.7.8");
    (void)state;

    /* Without a provider: zeros. */
    expr_set_decisions_provider(NULL);
    assert_int_equal(call(vm, "GetDecisionsCount", &ip, 1, &ret), 0);
    assert_int_equal(ret.kind, EXPR_INT);
    assert_int_equal(ret.u.i, 0);
    assert_int_equal(call(vm, "GetActiveDecisionsCount", &ip, 1, &ret), 0);
    assert_int_equal(ret.u.i, 0);
    struct expr_value since[2] = { ip, fixture_str("1h") };
    assert_int_equal(call(vm, "GetDecisionsSinceCount", since, 2, &ret), 0);
    assert_int_equal(ret.u.i, 0);
    /* CrowdSec returns the int 0, not a time.Duration, without a database. */
    assert_int_equal(call(vm, "GetActiveDecisionsTimeLeft", &ip, 1, &ret), 0);
    assert_int_equal(ret.kind, EXPR_INT);
    assert_int_equal(ret.u.i, 0);

    expr_set_decisions_provider(&p);
    static const struct {
        const char *fn, *value, *since;
        int64_t want;
        bool active;
        int64_t since_ago_ns; /* -1: no since bound expected (0 passed) */
    } cases[] = {
        { "GetDecisionsCount", "1.2.3.4", NULL, 5, false, -1 },
        { "GetDecisionsCount", "5.6.7.8", NULL, 0, false, -1 },
        { "GetActiveDecisionsCount", "1.2.3.4", NULL, 2, true, -1 },
        { "GetDecisionsSinceCount", "1.2.3.4", "1h", 5, false, INT64_C(3600000000000) },
        { "GetDecisionsSinceCount", "1.2.3.4", "2d", 5, false, INT64_C(172800000000000) },
        { "GetDecisionsSinceCount", "1.2.3.4", "90m", 5, false, INT64_C(5400000000000) },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value args[2] = { fixture_str(cases[i].value),
                                      cases[i].since ? fixture_str(cases[i].since) : expr_nil() };
        int64_t before = gotime_now().unix_ns;
        assert_int_equal(call(vm, cases[i].fn, args, cases[i].since ? 2 : 1, &ret), 0);
        int64_t after = gotime_now().unix_ns;
        if (ret.kind != EXPR_INT || ret.u.i != cases[i].want)
            fail_msg("case %zu: %s = %lld", i, cases[i].fn, (long long)ret.u.i);
        assert_string_equal(db.last_value, cases[i].value);
        assert_int_equal(db.last_active, cases[i].active);
        if (cases[i].since_ago_ns < 0)
            assert_int_equal(db.last_since, 0);
        else
            assert_true(db.last_since >= before - cases[i].since_ago_ns &&
                        db.last_since <= after - cases[i].since_ago_ns);
    }
    /* A bad duration gives 0 without asking the provider. */
    int calls = db.calls;
    since[1] = fixture_str("yesterday");
    assert_int_equal(call(vm, "GetDecisionsSinceCount", since, 2, &ret), 0);
    assert_int_equal(ret.u.i, 0);
    assert_int_equal(db.calls, calls);
    assert_int_equal(call(vm, "GetActiveDecisionsTimeLeft", &ip, 1, &ret), 0);
    assert_int_equal(ret.kind, EXPR_DURATION);
    assert_int_equal(ret.u.d, INT64_C(3600000000000));
    assert_int_equal(call(vm, "GetActiveDecisionsTimeLeft", &other, 1, &ret), 0);
    assert_int_equal(ret.u.d, 0);
    struct expr_value bad = expr_int(1);
    assert_int_equal(call(vm, "GetDecisionsCount", &bad, 1, &ret), -1);
    expr_set_decisions_provider(NULL);
    expr_vm_free(vm);
}

/* --- CTI and libinjection --- */

static void
test_cti_and_libinjection(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret, ip = fixture_str("1.2.3.4"), bad = expr_int(1);
    (void)state;
    /* CrowdSec returns ErrDisabled without a key. */
    expr_set_cti_key(NULL);
    assert_int_equal(call(vm, "CrowdsecCTI", &ip, 1, &ret), -1);
    expr_set_cti_key("");
    assert_int_equal(call(vm, "CrowdsecCTI", &ip, 1, &ret), -1);
    expr_set_cti_key("some-key");
    assert_int_equal(call(vm, "CrowdsecCTI", &ip, 1, &ret), -1);
    expr_set_cti_key(NULL);
    static const char *const inputs[] = { "hello world", "", "plain text" };
    for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
        struct expr_value arg = fixture_str(inputs[i]);
        assert_int_equal(call(vm, "LibInjectionIsSQLI", &arg, 1, &ret), 0);
        assert_int_equal(ret.kind, EXPR_BOOL);
        assert_false(ret.u.b);
        assert_int_equal(call(vm, "LibInjectionIsXSS", &arg, 1, &ret), 0);
        assert_false(ret.u.b);
    }
    assert_int_equal(call(vm, "LibInjectionIsSQLI", &bad, 1, &ret), -1);
    assert_int_equal(call(vm, "LibInjectionIsXSS", &bad, 1, &ret), -1);
    expr_vm_free(vm);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_helpers),         cmocka_unit_test(test_http_headers),
        cmocka_unit_test(test_http_body_cap),        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_lookup_host),          cmocka_unit_test(test_decisions),
        cmocka_unit_test(test_cti_and_libinjection),
    };
    return cmocka_run_group_tests(tests, srv_start, srv_stop);
}
