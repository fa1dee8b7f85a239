/*
 * test_unit.c - the arithmetic of buckets against Go: the token bucket's
 * fractional leak (x/time/rate), the float32 bayesian update, the SHA-1
 * bucket key and the alert message (Duration.String, Time.String). The Go
 * values come from a small program using crypto/sha1 and package time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bucket/internal.h"
#include "common/common.h"

#define S 1000000000LL

static void
test_limiter(void **state)
{
    /* A sequence of pours at times (ns) on one limiter, and whether each is allowed. */
    static const struct {
        const char *name;
        int64_t capacity, leakspeed;
        int64_t t[8];
        int allowed[8];
        size_t n;
    } cases[] = {
        /* CrowdSec's simple-leaky-overflow: cap 1, 10s, events at 0 s and 5 s */
        { "fixture", 1, 10 * S, { 0, 5 * S }, { 1, 0 }, 2 },
        /* starts full: capacity pours at once, the next is refused */
        { "burst", 3, S, { 0, 0, 0, 0 }, { 1, 1, 1, 0 }, 4 },
        /* fractional leak: half a token is not enough; a refusal does not reset the clock */
        { "fraction",
          2,
          S,
          { 0, 0, S / 2, S, 3 * S / 2, 4 * S, 4 * S, 4 * S },
          { 1, 1, 0, 1, 0, 1, 1, 0 },
          8 },
        /* exactly one leakspeed later, one token is back */
        { "boundary", 1, 10 * S, { 0, 10 * S - 1, 10 * S }, { 1, 0, 1 }, 3 },
        /* out-of-order time counts as no time elapsed, and the clock keeps its latest time */
        { "backwards", 1, S, { 10 * S, 5 * S, 6 * S, 11 * S }, { 1, 0, 0, 1 }, 4 },
        /* 0.1 s leak: ten tokens per second */
        { "fast", 2, S / 10, { 0, 0, S / 20, S / 10 }, { 1, 1, 0, 1 }, 4 },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct limiter l = { 0 };
        for (size_t j = 0; j < cases[i].n; j++) {
            bool got = limiter_allow(&l, cases[i].t[j], cases[i].leakspeed, cases[i].capacity);
            if (got != (cases[i].allowed[j] == 1))
                fail_msg("limiter case %s, pour %zu: got %d", cases[i].name, j, got);
        }
    }
    /* tokens at a time, without taking one: 0 after two pours, +0.25 per 250 ms */
    struct limiter l = { 0 };
    assert_true(limiter_allow(&l, 0, S, 2));
    assert_true(limiter_allow(&l, 0, S, 2));
    assert_true(limiter_tokens_at(&l, S / 4, S, 2) > 0.2499 &&
                limiter_tokens_at(&l, S / 4, S, 2) < 0.2501);
    assert_true(limiter_tokens_at(&l, 100 * S, S, 2) == 2.0);
}

static void
test_bayes(void **state)
{
    /* Go: float32 updateProbability, printed with %.9g */
    float p = 0.5f;

    (void)state;
    p = bayes_update(p, 0.8f, 0.2f);
    assert_true(p == 0.800000012f);
    p = bayes_update(p, 1 - 0.9f, 1 - 0.5f);
    assert_true(p == 0.444444537f);
    p = bayes_update(p, 0.9f, 0.5f);
    assert_true(p == 0.590164065f);
    float q = bayes_update(bayes_update(0.3f, 0.7f, 0.1f), 0.7f, 0.1f);
    assert_true(q == 0.954545498f);
}

static void
test_key(void **state)
{
    static const struct {
        const char *filter, *group, *name, *want;
    } cases[] = {
        { "evt.Meta.log_type == 'ssh_failed-auth'", "1.2.3.4", "crowdsecurity/ssh-bf",
          "b4a886968361ba2616b426c9f0feb95f6f25ee51" },
        { "true", "", "x", "c4fda9ca0a3791694814a013e030d903ac1add12" },
        /* longer than a SHA-1 block (Python's hashlib) */
        { "evt.Meta.log_type in ['http_access-log', 'http_error-log'] && "
          "any(File('sqli_probe_patterns.txt'), {Upper(evt.Parsed.http_args) contains Upper(#)})",
          "203.0.113.7", "crowdsecurity/http-sqli-probbing-detection",
          "9a999f8b9b4cc112a32a1203c9cbc5ae2eb44765" },
    };
    char out[41], hash[65];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        assert_int_equal(
            bucket_key(cases[i].filter, cases[i].group, strlen(cases[i].group), cases[i].name, out),
            0);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("key case %zu: %s", i, out);
    }
    /* sha256("abc") */
    assert_int_equal(bucket_sha256_hex("abc", 3, hash), 0);
    assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_message(void **state)
{
    /* first, overflow, last as RFC3339; want = Go's fmt of the message */
    static const struct {
        const char *first, *ovflw, *last, *want;
    } cases[] = {
        { "2020-01-01T10:00:00Z", "2020-01-01T10:00:05Z", "2020-01-01T10:00:05Z",
          "Ip 1.2.3.4 performed 'crowdsecurity/ssh-bf' (6 events over 5s) at 2020-01-01 "
          "10:00:05 +0000 UTC" },
        { "2020-01-01T10:00:00.5Z", "2020-01-01T11:30:00.25+02:00", "2020-01-01T11:30:00.25+02:00",
          "Ip 1.2.3.4 performed 'crowdsecurity/ssh-bf' (6 events over -30m0.25s) at 2020-01-01 "
          "11:30:00.25 +0200 +0200" },
        { "2020-01-01T10:00:00Z", "2020-01-01T10:00:00Z", "2020-01-01T09:00:00.000000001-03:30",
          "Ip 1.2.3.4 performed 'crowdsecurity/ssh-bf' (6 events over 0s) at 2020-01-01 "
          "09:00:00.000000001 -0330 -0330" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct gotime f, o, l;
        char *msg = NULL;
        assert_int_equal(gotime_parse_rfc3339(cases[i].first, strlen(cases[i].first), &f), 0);
        assert_int_equal(gotime_parse_rfc3339(cases[i].ovflw, strlen(cases[i].ovflw), &o), 0);
        assert_int_equal(gotime_parse_rfc3339(cases[i].last, strlen(cases[i].last), &l), 0);
        assert_int_equal(
            bucket_alert_message("Ip", "1.2.3.4", "crowdsecurity/ssh-bf", 6, f, o, l, &msg), 0);
        if (strcmp(msg, cases[i].want) != 0)
            fail_msg("message case %zu:\n got %s\nwant %s", i, msg, cases[i].want);
        free(msg);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limiter),
        cmocka_unit_test(test_bayes),
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_message),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
