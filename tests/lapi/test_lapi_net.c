/*
 * test_lapi_net.c - the Local API's request plumbing that needs no socket:
 * gzip bodies (bounded inflation, bombs, corrupt and multi-member input),
 * per-client token buckets, trusted_ips / trusted_proxies / X-Forwarded-For,
 * auto-registration, JWT refresh, and the config.yaml keys behind them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "lapi/internal.h"

/* gzip of in (one member) into a malloc'd buffer. */
static unsigned char *
gz(const void *in, size_t len, size_t *ret_len)
{
    z_stream zs = { 0 };
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *ret_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static void
test_gunzip(void **state)
{
    size_t n1, n2, nb;
    unsigned char *a = gz("{\"a\":1}", 7, &n1);
    unsigned char *b = gz("[2]", 3, &n2);
    /* 8 MiB of zeros compress to a few kilobytes: a bomb against a 1 MiB limit. */
    size_t big = 8u << 20;
    char *zeros = calloc(1, big);
    assert_non_null(zeros);
    unsigned char *bomb = gz(zeros, big, &nb);
    free(zeros);
    unsigned char *two = malloc(n1 + n2);
    assert_non_null(two);
    memcpy(two, a, n1);
    memcpy(two + n1, b, n2);
    unsigned char corrupt[64];
    memcpy(corrupt, a, n1);
    corrupt[n1 / 2] ^= 0x55;

    const struct {
        const char *name;
        const unsigned char *in;
        size_t len, limit;
        int rc;
        const char *out;
    } cases[] = {
        { "one member", a, n1, 1024, 0, "{\"a\":1}" },
        { "two members", two, n1 + n2, 1024, 0, "{\"a\":1}[2]" },
        { "exactly at the limit", a, n1, 7, 0, "{\"a\":1}" },
        { "one byte over", a, n1, 6, -EFBIG, NULL },
        { "bomb", bomb, nb, 1u << 20, -EFBIG, NULL },
        { "truncated", a, n1 - 5, 1024, -EINVAL, NULL },
        { "corrupt", corrupt, n1, 1024, -EINVAL, NULL },
        { "not gzip", (const unsigned char *)"{\"a\":1}", 7, 1024, -EINVAL, NULL },
        { "empty", (const unsigned char *)"", 0, 1024, -EINVAL, NULL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *out = NULL;
        size_t olen = 0;
        int rc = lapi_gunzip((const char *)cases[i].in, cases[i].len, cases[i].limit, &out, &olen);
        if (rc != cases[i].rc)
            fail_msg("case %s: rc %d, want %d", cases[i].name, rc, cases[i].rc);
        if (cases[i].out != NULL &&
            (olen != strlen(cases[i].out) || memcmp(out, cases[i].out, olen) != 0))
            fail_msg("case %s: got '%.*s'", cases[i].name, (int)olen, out);
        free(out);
    }
    free(a);
    free(b);
    free(bomb);
    free(two);
}

static struct ip_addr
ip(const char *s)
{
    struct ip_addr a;
    assert_int_equal(ip_parse(s, strlen(s), &a), 0);
    return a;
}

static void
test_ratelimit(void **state)
{
    const int64_t sec = INT64_C(1000000000);
    struct lapi_ratelimit *rl = lapi_ratelimit_new(3, 60); /* 3 at once, then 1 per second */
    assert_non_null(rl);
    struct ip_addr a = ip("192.0.2.1"), b = ip("2001:db8::1");
    int64_t t = 1000 * sec;

    for (int i = 0; i < 3; i++)
        assert_true(lapi_ratelimit_allow(rl, &a, t));
    assert_false(lapi_ratelimit_allow(rl, &a, t));
    /* Another client has its own bucket. */
    assert_true(lapi_ratelimit_allow(rl, &b, t));
    /* Half a second later, still empty; a full second adds one token. */
    assert_false(lapi_ratelimit_allow(rl, &a, t + sec / 2));
    assert_true(lapi_ratelimit_allow(rl, &a, t + sec + sec / 2));
    assert_false(lapi_ratelimit_allow(rl, &a, t + sec + sec / 2));
    /* A long pause refills to the burst, not beyond. */
    int64_t later = t + 3600 * sec;
    for (int i = 0; i < 3; i++)
        assert_true(lapi_ratelimit_allow(rl, &a, later));
    assert_false(lapi_ratelimit_allow(rl, &a, later));
    /* Spraying 100k addresses keeps the table bounded and evicts a's bucket (which restarts full).
     */
    for (uint32_t i = 0; i < 100000; i++) {
        struct ip_addr x = a;
        x.bytes[13] = (uint8_t)(i >> 16);
        x.bytes[14] = (uint8_t)(i >> 8);
        x.bytes[15] = (uint8_t)i;
        x.bytes[12] = 10;
        lapi_ratelimit_allow(rl, &x, later + 1);
    }
    assert_true(lapi_ratelimit_allow(rl, &a, later + 2));
    lapi_ratelimit_free(rl);
    lapi_ratelimit_free(NULL);
}

static char *list1[] = { (char *)"10.0.0.0/8", (char *)"192.168.1.5" };
static char *proxies[] = { (char *)"10.1.0.0/16", (char *)"fd00::/8" };
static char *ranges[] = { (char *)"192.0.2.0/24" };
static const char token[] = "0123456789abcdef0123456789abcdef";

static struct lapi_netcfg *
netcfg(bool autoreg)
{
    struct lapi_config c = { 0 };
    struct lapi_error err = { { 0 } };
    c.trusted_ips = (struct lapi_strlist){ list1, 2 };
    c.trusted_proxies = (struct lapi_strlist){ proxies, 2 };
    c.auto_registration.enabled = autoreg;
    c.auto_registration.token = (char *)token;
    c.auto_registration.allowed_ranges = (struct lapi_strlist){ ranges, 1 };
    struct lapi_netcfg *n = lapi_netcfg_new(&c, &err);
    if (n == NULL)
        fail_msg("netcfg: %s", err.msg);
    return n;
}

static void
test_trusted_and_forwarded(void **state)
{
    struct lapi_netcfg *n = netcfg(false);
    const struct {
        const char *ip;
        bool trusted;
    } tcases[] = {
        { "127.0.0.1", true },   { "::1", true },
        { "127.0.0.2", false },  { "10.9.8.7", true },
        { "192.168.1.5", true }, { "192.168.1.6", false },
        { "::2", false },        { "::ffff:10.0.0.1", true },
    };
    for (size_t i = 0; i < ARRAY_SIZE(tcases); i++) {
        struct ip_addr a = ip(tcases[i].ip);
        if (lapi_netcfg_trusted(n, &a) != tcases[i].trusted)
            fail_msg("trusted case %s: want %d", tcases[i].ip, tcases[i].trusted);
    }
    const struct {
        const char *peer, *xff, *real, *want;
    } ccases[] = {
        { "203.0.113.9", "1.2.3.4", NULL, "203.0.113.9" },      /* peer is no proxy */
        { "10.1.2.3", "1.2.3.4", NULL, "1.2.3.4" },             /* one hop */
        { "10.1.2.3", "1.2.3.4, 10.1.9.9", NULL, "1.2.3.4" },   /* proxies skipped */
        { "10.1.2.3", "5.6.7.8,1.2.3.4", NULL, "1.2.3.4" },     /* rightmost untrusted wins */
        { "10.1.2.3", "10.1.0.1, 10.1.0.2", NULL, "10.1.0.1" }, /* all proxies: leftmost */
        { "10.1.2.3", "junk", "9.9.9.9", "9.9.9.9" },           /* bad XFF, X-Real-IP used */
        { "10.1.2.3", "junk", NULL, "10.1.2.3" },               /* nothing usable */
        { "10.1.2.3", NULL, NULL, "10.1.2.3" },
        { "fd00::1", "2001:db8::7", NULL, "2001:db8::7" },
        { "10.1.2.3", " 1.2.3.4 ,", NULL, "10.1.2.3" }, /* empty item: invalid */
    };
    for (size_t i = 0; i < ARRAY_SIZE(ccases); i++) {
        struct ip_addr peer = ip(ccases[i].peer), got, want = ip(ccases[i].want);
        lapi_netcfg_client_ip(n, &peer, ccases[i].xff, ccases[i].real, &got);
        if (ip_cmp(&got, &want) != 0) {
            char buf[IP_STR_MAX];
            ip_format(&got, buf, sizeof(buf));
            fail_msg("client case %zu: got %s, want %s", i, buf, ccases[i].want);
        }
    }
    /* No trusted proxies: headers are never believed. */
    struct lapi_config c = { 0 };
    struct lapi_error err = { { 0 } };
    struct lapi_netcfg *none = lapi_netcfg_new(&c, &err);
    assert_non_null(none);
    struct ip_addr peer = ip("10.1.2.3"), got;
    lapi_netcfg_client_ip(none, &peer, "1.2.3.4", "1.2.3.4", &got);
    assert_int_equal(ip_cmp(&got, &peer), 0);
    lapi_netcfg_free(none);
    lapi_netcfg_free(n);
}

static void
test_autoregister(void **state)
{
    struct lapi_netcfg *on = netcfg(true), *off = netcfg(false);
    char msg[128];
    const struct {
        struct lapi_netcfg *n;
        const char *token, *ip;
        int rc;
        const char *msg;
    } cases[] = {
        { on, token, "192.0.2.77", 1, NULL },
        { on, NULL, "192.0.2.77", 0, NULL },
        { on, "", "192.0.2.77", 0, NULL },
        { on, "0123456789abcdef0123456789abcdeX", "192.0.2.77", -1,
          "invalid token for auto registration" },
        { on, token, "198.51.100.1", -1, "IP not in allowed range for auto registration" },
        { off, token, "192.0.2.77", 0, NULL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct ip_addr a = ip(cases[i].ip);
        msg[0] = '\0';
        int rc = lapi_netcfg_autoregister(cases[i].n, cases[i].token, &a, msg, sizeof(msg));
        if (rc != cases[i].rc || (cases[i].msg != NULL && strcmp(msg, cases[i].msg) != 0))
            fail_msg("case %zu: rc %d msg '%s'", i, rc, msg);
    }
    lapi_netcfg_free(on);
    lapi_netcfg_free(off);

    /* CrowdSec's load-time checks. */
    const struct {
        const char *token;
        char **ranges;
        size_t n;
        const char *msg;
    } bad[] = {
        { NULL, ranges, 1, "missing token value for api.server.auto_register" },
        { "short", ranges, 1,
          "token value for api.server.auto_register is too short (min 32 characters)" },
        { token, NULL, 0, "missing allowed_ranges value for api.server.auto_register" },
        { token, list1 + 1, 1, "auto_register: allowed range: invalid CIDR address: 192.168.1.5" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct lapi_config c = { 0 };
        struct lapi_error err = { { 0 } };
        c.auto_registration.enabled = true;
        c.auto_registration.token = (char *)bad[i].token;
        c.auto_registration.allowed_ranges = (struct lapi_strlist){ bad[i].ranges, bad[i].n };
        struct lapi_netcfg *n = lapi_netcfg_new(&c, &err);
        if (n != NULL || strcmp(err.msg, bad[i].msg) != 0)
            fail_msg("bad case %zu: got '%s'", i, err.msg);
    }
}

static void
test_jwt_refresh(void **state)
{
    struct lapi *l = calloc(1, sizeof(*l));
    struct lapi_error err = { { 0 } };
    char msg[128], hdr[4096];
    int64_t now = lapi_now_ns() / 1000000000, exp = 0;

    assert_non_null(l);
    assert_int_equal(lapi_secret_init(l, &err), 0);
    /* Fresh, expired but refreshable (orig_iat 50 min ago), and too old (61 min). */
    const struct {
        int64_t issued;
        const char *prefix;
        bool tamper;
        const char *want_msg;
    } cases[] = {
        { 0, "Bearer ", false, NULL },
        { -3000, "Bearer ", false, NULL },
        { -3660, "Bearer ", false, "token is expired" },
        { 0, "Bearer ", true, "signature is invalid" },
        { 0, "Basic ", false, "auth header is invalid" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *tok = lapi_jwt_issue(l, "agent-7", now + cases[i].issued, &exp);
        assert_non_null(tok);
        if (cases[i].tamper)
            tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
        snprintf(hdr, sizeof(hdr), "%s%s", cases[i].prefix, tok);
        free(tok);
        msg[0] = '\0';
        char *nt = lapi_jwt_refresh(l, hdr, now, &exp, msg, sizeof(msg));
        if (cases[i].want_msg == NULL) {
            if (nt == NULL)
                fail_msg("case %zu: refused: %s", i, msg);
            assert_int_equal(exp, now + LAPI_JWT_TTL_SEC);
            free(nt);
        } else if (nt != NULL || strcmp(msg, cases[i].want_msg) != 0) {
            fail_msg("case %zu: got '%s'", i, msg);
        }
    }
    assert_null(lapi_jwt_refresh(l, NULL, now, &exp, msg, sizeof(msg)));
    assert_string_equal(msg, "auth header is empty");
    free(l);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_config_extras(void **state)
{
    char dir[] = "/tmp/lapi-net-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    const struct {
        const char *yaml;
        const char *err; /* substring, NULL: loads */
    } cases[] = {
        { "api:\n  server:\n    tls:\n      cert_file: /c.pem\n      key_file: /k.pem\n"
          "      client_verification: RequireAndVerifyClientCert\n"
          "      bouncers_allowed_ou: [b1, b2]\n    trusted_ips: [10.0.0.0/8, '::1']\n"
          "    trusted_proxies: [192.0.2.1]\n    auto_registration:\n      enabled: true\n"
          "      token: 0123456789abcdef0123456789abcdef\n      allowed_ranges: [10.0.0.0/8]\n"
          "db_config:\n  db_path: /x.db\n",
          NULL },
        { "api:\n  server:\n    tls:\n      cert_file: /c.pem\ndb_config:\n  db_path: /x.db\n",
          "missing TLS key file" },
        { "api:\n  server:\n    tls:\n      client_verification: Sometimes\n"
          "db_config:\n  db_path: /x.db\n",
          "unknown TLS client_verification value: Sometimes" },
        { "api:\n  server:\n    tls:\n      agents_allowed_ou: [a, '']\n"
          "db_config:\n  db_path: /x.db\n",
          "allowed_ou configuration contains invalid empty string" },
        { "api:\n  server:\n    trusted_ips: [300.1.1.1]\ndb_config:\n  db_path: /x.db\n",
          "api.server.trusted_ips: invalid CIDR address: 300.1.1.1" },
        { "api:\n  server:\n    auto_registration:\n      enabled: true\n      token: abc\n"
          "      allowed_ranges: [10.0.0.0/8]\ndb_config:\n  db_path: /x.db\n",
          "too short" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct lapi_config c = { 0 };
        struct lapi_error err = { { 0 } };
        write_file(path, cases[i].yaml);
        int rc = lapi_config_load(path, &c, &err);
        if (cases[i].err == NULL && rc != 0)
            fail_msg("case %zu: %s", i, err.msg);
        if (cases[i].err != NULL && (rc == 0 || strstr(err.msg, cases[i].err) == NULL))
            fail_msg("case %zu: rc %d msg '%s'", i, rc, err.msg);
        if (i == 0) {
            assert_string_equal(c.tls.cert_file, "/c.pem");
            assert_int_equal(c.tls.client_verification, LAPI_TLS_REQUIRE_AND_VERIFY);
            assert_int_equal(c.tls.bouncers_allowed_ou.n, 2);
            assert_string_equal(c.tls.bouncers_allowed_ou.v[1], "b2");
            assert_int_equal(c.tls.agents_allowed_ou.n, 1);
            assert_string_equal(c.tls.agents_allowed_ou.v[0], "agent-ou");
            assert_int_equal(c.trusted_ips.n, 2);
            assert_string_equal(c.trusted_ips.v[1], "::1");
            assert_true(c.auto_registration.enabled);
            assert_int_equal(c.login_rate_burst, 20);
        }
        lapi_config_clear(&c);
    }
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gunzip),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_trusted_and_forwarded),
        cmocka_unit_test(test_autoregister),
        cmocka_unit_test(test_jwt_refresh),
        cmocka_unit_test(test_config_extras),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
