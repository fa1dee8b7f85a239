/*
 * test_helpers_misc.c - CrowdSec's time, URL, distance and stash helpers
 * (helpers_misc.c) and the expression clock.
 *
 * Tables are CrowdSec's own (exprlib_test.go: TestParseUri, TestQueryEscape,
 * TestPathEscape, TestPathUnescape, TestQueryUnescape, TestDistanceHelper,
 * TestParseUnixTime, TestAverageInterval, TestMedianInterval; waf_test.go:
 * TestParseQuery, TestExtractQueryParam) plus the answers of Go 1.19's
 * net/url for the corners (checked with go run). Times are UTC (TZ=UTC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <time.h>

#include "common/gotime.h"
#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

#include "helpers_fixture.h"

#define SEC  1000000000LL
#define BASE (1672574400LL * SEC) /* 2023-01-01T12:00:00Z */

#define URI(u, want)                                                                               \
    {                                                                                              \
        "ParseUri", 1, { S(u) }, want                                                              \
    }
#define PQ(q, want)                                                                                \
    {                                                                                              \
        "ParseQuery", 1, { S(q) }, want                                                            \
    }

static const struct fixture_case cases[] = {
    /* ParseUnix: the integer part, > 0, as RFC3339 in the local zone. */
    { "ParseUnix", 1, { S("1672239773.3590894") }, "\"2022-12-28T15:02:53Z\"" },
    { "ParseUnix", 1, { S("1672239773") }, "\"2022-12-28T15:02:53Z\"" },
    { "ParseUnix", 1, { S("AbcDefG!#") }, "\"\"" },
    { "ParseUnix", 1, { S("-1000") }, "\"\"" },
    { "ParseUnix", 1, { S("0") }, "\"\"" },
    { "ParseUnix", 1, { S("") }, "\"\"" },
    { "ParseUnix", 1, { S("+5") }, "\"1970-01-01T00:00:05Z\"" },
    { "ParseUnix", 1, { S("99999999999999999999") }, "\"\"" },
    { "ParseUnix", 1, { S("4102444800.x") }, "\"2100-01-01T00:00:00Z\"" },
    { "ParseUnix", 1, { I(5) }, "ERR:is int, not string" },
    /* JA4H: no AppSec request exists, so any argument is CrowdSec's failed conversion. */
    { "JA4H", 1, { S("GET / HTTP/1.1") }, "ERR:is string, not *http.Request" },
    { "JA4H", 1, { NIL }, "ERR:is nil, not *http.Request" },
    /* AverageInterval (CrowdSec's table and error cases). */
    { "AverageInterval", 1, { A(T(BASE), T(BASE + SEC)) }, "d1s" },
    { "AverageInterval", 1, { A(T(BASE + SEC), T(BASE)) }, "d1s" },
    { "AverageInterval", 1, { A(T(BASE), T(BASE + 2 * SEC), T(BASE + 6 * SEC)) }, "d3s" },
    { "AverageInterval",
      1,
      { A(T(BASE), T(BASE + 3600 * SEC), T(BASE + 7200 * SEC), T(BASE + 10800 * SEC)) },
      "d1h0m0s" },
    { "AverageInterval", 1, { A(T(BASE), T(BASE + SEC), T(BASE + 3 * SEC)) }, "d1.5s" },
    { "AverageInterval",
      1,
      { A(T(BASE)) },
      "ERR:need at least two times to calculate an average interval" },
    { "AverageInterval", 1, { A(S("a"), S("b")) }, "ERR:element at index 0 is not a time.Time" },
    { "AverageInterval", 1, { S("x") }, "ERR:AverageInterval expects a slice of times" },
    /* MedianInterval. */
    { "MedianInterval", 1, { A(T(BASE), T(BASE + SEC)) }, "d1s" },
    { "MedianInterval",
      1,
      { A(T(BASE), T(BASE + 2 * SEC), T(BASE + 5 * SEC), T(BASE + 11 * SEC)) },
      "d3s" },
    { "MedianInterval",
      1,
      { A(T(BASE), T(BASE + SEC), T(BASE + 3 * SEC), T(BASE + 7 * SEC), T(BASE + 15 * SEC)) },
      "d3s" },
    { "MedianInterval",
      1,
      { A(T(BASE + 11 * SEC), T(BASE + 5 * SEC), T(BASE + 2 * SEC), T(BASE)) },
      "d3s" },
    { "MedianInterval",
      1,
      { A(T(BASE), T(BASE + 1000000), T(BASE + 1001000000), T(BASE + 2001000000)) },
      "d1s" },
    { "MedianInterval",
      1,
      { A(T(BASE + 5 * SEC), T(BASE + 7 * SEC), T(BASE + 12 * SEC)) },
      "d3.5s" },
    { "MedianInterval", 1, { A(T(BASE)) }, "ERR:need at least two times to calculate a median" },
    { "MedianInterval",
      1,
      { A(T(BASE), S("not a time")) },
      "ERR:element at index 1 is not a time.Time" },
    { "MedianInterval", 1, { NIL }, "ERR:MedianInterval expects a slice of times" },
    /* ParseUri (CrowdSec's table, then net/url's rejections). */
    URI("/foo?a=1&b=2", "{a: [\"1\"], b: [\"2\"]}"),
    URI("/foo", "{}"),
    URI("/foo?a=1&b=2?", "{a: [\"1\"], b: [\"2?\"]}"),
    URI("/foo?&?&&&&?=123", "{?: [\"\", \"123\"]}"),
    URI("/foo?a=%%F", "{}"),
    URI("http://host:port/?a=1", "{}"),
    URI("http://[::1]/?a=1", "{a: [\"1\"]}"),
    URI("a:b/c?x=1", "{x: [\"1\"]}"),
    URI("1a:b?x=1", "{}"),
    URI("/p%zz?x=1", "{}"),
    URI("/p?x=1#%zz", "{}"),
    URI("/p?x=1;y=2", "{}"),
    URI("/p?x=%41&y", "{x: [\"A\"], y: [\"\"]}"),
    URI("http://us er@h/?a=1", "{}"),
    URI("/p\x01?a=1", "{}"),
    URI("?a=1&a=2", "{a: [\"1\", \"2\"]}"),
    URI("http://h/p?", "{}"),
    URI(":foo?a=1", "{}"),
    URI("http://h:80/x?q=a+b", "{q: [\"a b\"]}"),
    URI("//h%zz/?a=1", "{}"),
    URI("http://[::1/?a=1", "{}"),
    URI("http://u:p@h/?a=1", "{a: [\"1\"]}"),
    URI("/\xc3\xa9?a=\xc3\xa9", "{a: [\"\xc3\xa9\"]}"),
    URI("*", "{}"),
    { "ParseUri", 1, { NIL }, "ERR:is nil, not string" },
    /* ParseQuery: CrowdSec's lenient parser (waf_test.go TestParseQuery). */
    PQ("/foobar/toto?ab=cd&ef=gh", "{/foobar/toto?ab: [\"cd\"], ef: [\"gh\"]}"),
    PQ("foo=bar", "{foo: [\"bar\"]}"),
    PQ("foo=bar&foo=baz", "{foo: [\"bar\", \"baz\"]}"),
    PQ("foo=", "{foo: [\"\"]}"),
    PQ("=bar", "{: [\"bar\"]}"),
    PQ("", "{}"),
    PQ("foo=bar&baz=qux", "{baz: [\"qux\"], foo: [\"bar\"]}"),
    PQ("foo=bar&baz=qux&quux=", "{baz: [\"qux\"], foo: [\"bar\"], quux: [\"\"]}"),
    PQ("foo=bar&baz=qux&quux=&=quuz",
       "{: [\"quuz\"], baz: [\"qux\"], foo: [\"bar\"], quux: [\"\"]}"),
    PQ("foo=bar&baz=qux&quux=&=quuz&foo=baz",
       "{: [\"quuz\"], baz: [\"qux\"], foo: [\"bar\", \"baz\"], quux: [\"\"]}"),
    PQ("foo=bar&baz=qux&quux=&=quuz&foo=baz&foo=bar%20baz",
       "{: [\"quuz\"], baz: [\"qux\"], foo: [\"bar\", \"baz\", \"bar baz\"], quux: [\"\"]}"),
    PQ("foo=bar&baz=qux&quux=&=quuz&foo=baz&foo=bar%20baz&foo=bar%3Bbaz",
       "{: [\"quuz\"], baz: [\"qux\"], foo: [\"bar\", \"baz\", \"bar baz\", \"bar;baz\"], quux: "
       "[\"\"]}"),
    PQ("foo=bar&baz=qux&quux=&=quuz&foo=baz&foo=bar%20baz&foo=bar%3Bbaz&foo=bar%26baz",
       "{: [\"quuz\"], baz: [\"qux\"], foo: [\"bar\", \"baz\", \"bar baz\", \"bar;baz\", "
       "\"bar&baz\"], quux: [\"\"]}"),
    PQ("foo=bar&baz=qux&quux=&=quuz&foo=baz&foo=bar%20baz&foo=bar%3Bbaz&foo=bar%26baz&foo=bar%"
       "3Dbaz",
       "{: [\"quuz\"], baz: [\"qux\"], foo: [\"bar\", \"baz\", \"bar baz\", \"bar;baz\", "
       "\"bar&baz\", \"bar=baz\"], quux: [\"\"]}"),
    PQ("foo=bar&baz=qux&quux=&=quuz&foo=baz&foo=bar%20baz&foo=bar%3Bbaz&foo=bar%26baz&foo=bar%"
       "3Dbaz&foo=bar%3Fbaz",
       "{: [\"quuz\"], baz: [\"qux\"], foo: [\"bar\", \"baz\", \"bar baz\", \"bar;baz\", "
       "\"bar&baz\", \"bar=baz\", \"bar?baz\"], quux: [\"\"]}"),
    PQ("foo=ba;r&baz=qu;;x&quux=x\\&ww&xx=qu?uz&",
       "{baz: [\"qu;;x\"], foo: [\"ba;r\"], quux: [\"x\\\"], ww: [\"\"], xx: [\"qu?uz\"]}"),
    PQ("foo=bar%20baz", "{foo: [\"bar baz\"]}"),
    PQ("foo=Ba%42%42&bar=w%2f%2F", "{bar: [\"w//\"], foo: [\"BaBB\"]}"),
    PQ("foo=bar%20baz%2", "{foo: [\"bar baz%2\"]}"),
    PQ("foo=bar%xx", "{foo: [\"bar%xx\"]}"),
    PQ("foo=bar%2x", "{foo: [\"bar%2x\"]}"),
    PQ("foo=bar+x", "{foo: [\"bar x\"]}"),
    PQ("foo=bar&&lol=bur", "{foo: [\"bar\"], lol: [\"bur\"]}"),
    /* ExtractQueryParam (waf_test.go TestExtractQueryParam). */
    { "ExtractQueryParam", 2, { S("/foobar/toto?ab=cd&ef=gh"), S("ab") }, "[\"cd\"]" },
    { "ExtractQueryParam", 2, { S("/foobar?foo=bar&foo=baz"), S("foo") }, "[\"bar\", \"baz\"]" },
    { "ExtractQueryParam", 2, { S("/foobar/toto?ab=cd;ef=gh"), S("ab") }, "[\"cd;ef=gh\"]" },
    { "ExtractQueryParam", 2, { S("foo=bar"), S("foo") }, "[]" },
    { "ExtractQueryParam", 2, { S("/foobar"), S("foo") }, "[]" },
    { "ExtractQueryParam", 2, { S("/foobar/toto?ab=cd&ef=gh"), S("baz") }, "[]" },
    { "ExtractQueryParam", 2, { S("/foo?a=1&b=2"), S("a") }, "[\"1\"]" },
    { "ExtractQueryParam", 2, { S("/x?"), S("a") }, "[]" },
    { "ExtractQueryParam", 2, { S("/x?a=1?a=2"), S("a") }, "[\"1?a=2\"]" },
    /* QueryEscape / PathEscape (CrowdSec's tables, then Go's). */
    { "QueryEscape", 1, { S("/foo?a=1&b=2") }, "\"%2Ffoo%3Fa%3D1%26b%3D2\"" },
    { "QueryEscape", 1, { S("/foo?a=1&&b=<>'\"") }, "\"%2Ffoo%3Fa%3D1%26%26b%3D%3C%3E%27%22\"" },
    { "QueryEscape", 1, { S("\xc3\xa9 ~") }, "\"%C3%A9+~\"" },
    { "QueryEscape", 1, { S("") }, "\"\"" },
    { "QueryEscape",
      1,
      { S("a b/c?d=e&f+g~h*i'j(k)l!m;n:o@p$q,r[s]t\"u<v>w#x%y{z}\xc3\xa9\0-_.") },
      "\"a+b%2Fc%3Fd%3De%26f%2Bg~h%2Ai%27j%28k%29l%21m%3Bn%3Ao%40p%24q%2Cr%5Bs%5Dt%22u%3Cv%3Ew%23x%"
      "25y%7Bz%7D%C3%A9%00-_.\"" },
    { "QueryEscape", 1, { I(1) }, "ERR:not string" },
    { "PathEscape", 1, { S("/foo?a=1&b=2") }, "\"%2Ffoo%3Fa=1&b=2\"" },
    { "PathEscape", 1, { S("/foo?a=1&&b=<>'\"") }, "\"%2Ffoo%3Fa=1&&b=%3C%3E%27%22\"" },
    { "PathEscape", 1, { S("a b+c") }, "\"a%20b+c\"" },
    { "PathEscape", 1, { S("") }, "\"\"" },
    { "PathEscape",
      1,
      { S("a b/c?d=e&f+g~h*i'j(k)l!m;n:o@p$q,r[s]t\"u<v>w#x%y{z}\xc3\xa9\0-_.") },
      "\"a%20b%2Fc%3Fd=e&f+g~h%2Ai%27j%28k%29l%21m%3Bn:o@p$q%2Cr%5Bs%5Dt%22u%3Cv%3Ew%23x%25y%7Bz%"
      "7D%C3%A9%00-_.\"" },
    /* PathUnescape / QueryUnescape: the input itself on a bad escape. */
    { "PathUnescape", 1, { S("%2Ffoo%3Fa=1&b=%3C%3E%27%22") }, "\"/foo?a=1&b=<>'\"\"" },
    { "PathUnescape", 1, { S("/$%7Bjndi") }, "\"/${jndi\"" },
    { "PathUnescape", 1, { S("a+b") }, "\"a+b\"" },
    { "PathUnescape", 1, { S("%") }, "\"%\"" },
    { "PathUnescape", 1, { S("%4") }, "\"%4\"" },
    { "PathUnescape", 1, { S("x%zz") }, "\"x%zz\"" },
    { "PathUnescape", 1, { S("%41%4a") }, "\"AJ\"" },
    { "PathUnescape", 1, { S("a%2Bb+%20") }, "\"a+b+ \"" },
    { "PathUnescape", 1, { NIL }, "ERR:is nil, not string" },
    { "QueryUnescape", 1, { S("%2Ffoo%3Fa=1&b=%3C%3E%27%22") }, "\"/foo?a=1&b=<>'\"\"" },
    { "QueryUnescape", 1, { S("/$%7Bjndi") }, "\"/${jndi\"" },
    { "QueryUnescape", 1, { S("a+b") }, "\"a b\"" },
    { "QueryUnescape", 1, { S("a%20b+c") }, "\"a b c\"" },
    { "QueryUnescape", 1, { S("%zz") }, "\"%zz\"" },
    { "QueryUnescape", 1, { S("%e9") }, "\"\xe9\"" },
    { "QueryUnescape", 1, { S("") }, "\"\"" },
    /* Distance (CrowdSec's TestDistanceHelper, then Go). */
    { "Distance", 4, { S("51.45"), S("1.15"), S("41.54"), S("12.27") }, "1389.179312f" },
    { "Distance", 4, { S("lol"), S("1.15"), S("41.54"), S("12.27") }, "ERR:lat1 is not a float" },
    { "Distance", 4, { S("0.0"), S("0.0"), S("12.1"), S("12.1") }, "0f" },
    { "Distance", 4, { S("48.8566"), S("2.3522"), S("40.7128"), S("-74.0060") }, "5837.240904f" },
    { "Distance", 4, { S("-33.8688"), S("151.2093"), S("0"), S("1") }, "15133.95379f" },
    { "Distance", 4, { S("1"), S("1"), S("0"), S("0") }, "0f" },
    { "Distance", 4, { S("1"), S("1"), S("1"), S("x") }, "ERR:long2 is not a float" },
    { "Distance", 4, { S("1"), S("1"), S("1"), I(1) }, "ERR:not string" },
    /* Stash reads of caches nobody declared. */
    { "GetFromStash", 2, { S("nosuchcache"), S("k") }, "\"\"" },
    { "GetFromStash", 2, { I(1), S("k") }, "ERR:not string" },
    { "SetInStash", 4, { S("nosuchcache"), S("k"), S("v"), NIL }, "nil" },
    { "SetInStash", 4, { S("c"), S("k"), S("v"), S("1h") }, "ERR:not *time.Duration" },
};

static int64_t fake_now = BASE;

static struct gotime
fake_clock(void)
{
    return (struct gotime){ .unix_ns = fake_now };
}

static const struct expr_func *
misc(const char *name)
{
    const struct expr_func *f = fixture_find_func(expr_helpers_misc, expr_helpers_misc_count, name);
    if (f == NULL) {
        fail_msg("helper missing");
        abort();
    }
    return f;
}

static void
test_clock(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret;
    (void)state;

    expr_set_clock(fake_clock);
    fake_now = BASE + 999999999;
    assert_int_equal(expr_clock_now().unix_ns, fake_now);
    assert_int_equal(misc("TimeNow")->call(vm, NULL, 0, &ret), 0);
    assert_int_equal(ret.kind, EXPR_STRING);
    assert_int_equal(ret.u.s.len, 20);
    assert_memory_equal(ret.u.s.ptr, "2023-01-01T12:00:00Z", 20);
    expr_set_clock(NULL);
    struct gotime wall = expr_clock_now();
    assert_true(wall.unix_ns / SEC - (int64_t)time(NULL) <= 1);
    assert_int_equal(misc("TimeNow")->call(vm, NULL, 0, &ret), 0);
    assert_int_equal(ret.u.s.len, 20);
    assert_int_equal(ret.u.s.ptr[19], 'Z');
    expr_vm_free(vm);
}

static const char *
stash_get(struct expr_vm *vm, const char *cache, const char *key, char *buf, size_t size)
{
    struct expr_value args[2] = { expr_strv(cache, strlen(cache)), expr_strv(key, strlen(key)) };
    struct expr_value ret;

    assert_int_equal(misc("GetFromStash")->call(vm, args, 2, &ret), 0);
    assert_int_equal(ret.kind, EXPR_STRING);
    snprintf(buf, size, "%.*s", (int)ret.u.s.len, ret.u.s.ptr);
    return buf;
}

static void
stash_put(struct expr_vm *vm, const char *cache, const char *key, const char *val,
          struct expr_value ttl)
{
    struct expr_value args[4] = { expr_strv(cache, strlen(cache)), expr_strv(key, strlen(key)),
                                  expr_strv(val, strlen(val)), ttl };
    struct expr_value ret;

    assert_int_equal(misc("SetInStash")->call(vm, args, 4, &ret), 0);
    assert_int_equal(ret.kind, EXPR_NIL);
}

/* TTL expiry (strictly after the deadline), LRU eviction at the size bound, per-name caches. */
static void
test_stash(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    char buf[64];
    (void)state;

    expr_set_clock(fake_clock);
    fake_now = BASE;
    expr_stash_reset();
    assert_int_equal(expr_stash_declare("ips", 2, 10 * SEC), 0);
    assert_int_equal(expr_stash_declare("other", 10, 60 * SEC), 0);
    assert_int_equal(expr_stash_declare("ips", 99, 1), 0); /* first declaration wins */
    stash_put(vm, "ips", "a", "1", expr_nil());
    assert_string_equal(stash_get(vm, "ips", "a", buf, sizeof(buf)), "1");
    assert_string_equal(stash_get(vm, "other", "a", buf, sizeof(buf)), "");
    /* Overwrite keeps one entry. */
    stash_put(vm, "ips", "a", "2", expr_nil());
    assert_string_equal(stash_get(vm, "ips", "a", buf, sizeof(buf)), "2");
    /* Expiry: still there at the deadline, gone just after. */
    fake_now = BASE + 10 * SEC;
    assert_string_equal(stash_get(vm, "ips", "a", buf, sizeof(buf)), "2");
    fake_now++;
    assert_string_equal(stash_get(vm, "ips", "a", buf, sizeof(buf)), "");
    /* LRU: reading "x" makes "y" the victim when "z" arrives. */
    fake_now = BASE + 100 * SEC;
    stash_put(vm, "ips", "x", "X", expr_nil());
    stash_put(vm, "ips", "y", "Y", expr_nil());
    assert_string_equal(stash_get(vm, "ips", "x", buf, sizeof(buf)), "X");
    stash_put(vm, "ips", "z", "Z", expr_nil());
    assert_string_equal(stash_get(vm, "ips", "y", buf, sizeof(buf)), "");
    assert_string_equal(stash_get(vm, "ips", "x", buf, sizeof(buf)), "X");
    assert_string_equal(stash_get(vm, "ips", "z", buf, sizeof(buf)), "Z");
    /* An explicit duration overrides the stash's ttl. */
    stash_put(vm, "other", "k", "v", expr_duration(2 * SEC));
    fake_now += 3 * SEC;
    assert_string_equal(stash_get(vm, "other", "k", buf, sizeof(buf)), "");
    /* The C entry point used by parsers' stash: directive. */
    assert_int_equal(expr_stash_set("other", "p", 1, "q", 1, -1), 0);
    assert_string_equal(stash_get(vm, "other", "p", buf, sizeof(buf)), "q");
    assert_int_equal(expr_stash_set("nosuch", "p", 1, "q", 1, -1), 0);
    expr_stash_reset();
    assert_string_equal(stash_get(vm, "other", "p", buf, sizeof(buf)), "");
    expr_set_clock(NULL);
    expr_vm_free(vm);
}

static void
test_registry(void **state)
{
    static const struct fixture_arity want[] = {
        { "TimeNow", 0, 0 },           { "ParseUnix", 1, 1 },    { "AverageInterval", 1, 1 },
        { "MedianInterval", 1, 1 },    { "ParseUri", 1, 1 },     { "ParseQuery", 1, 1 },
        { "ExtractQueryParam", 2, 2 }, { "PathUnescape", 1, 1 }, { "QueryUnescape", 1, 1 },
        { "PathEscape", 1, 1 },        { "QueryEscape", 1, 1 },  { "Distance", 4, 4 },
        { "GetFromStash", 2, 2 },      { "SetInStash", 4, 4 },   { "JA4H", 1, 1 },
    };
    (void)state;
    fixture_check_registry(expr_helpers_misc, expr_helpers_misc_count, want, ARRAY_SIZE(want));
}

int
main(void)
{
    const struct CMUnitTest extra[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_stash),
    };
    setenv("TZ", "UTC", 1);
    tzset();
    return fixture_run_all("helpers_misc", expr_helpers_misc, expr_helpers_misc_count, extra,
                           ARRAY_SIZE(extra), cases, ARRAY_SIZE(cases));
}
