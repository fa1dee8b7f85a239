/*
 * test_gotime.c - unit tests for common/gotime.
 *
 * Every expected value in these tables was printed by Go 1.19 (time.Duration
 * String and ParseDuration, Time.MarshalText and String, time.Parse with
 * time.RFC3339, time.Date), so they pin our output to Go's byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/gotime.h"

static const struct {
    int64_t ns;
    const char *out;
} format_cases[] = {
    { INT64_C(0), "0s" },
    { INT64_C(1), "1ns" },
    { INT64_C(-1), "-1ns" },
    { INT64_C(999), "999ns" },
    { INT64_C(1000), "1µs" },
    { INT64_C(1001), "1.001µs" },
    { INT64_C(1500), "1.5µs" },
    { INT64_C(999999), "999.999µs" },
    { INT64_C(1000000), "1ms" },
    { INT64_C(1500000), "1.5ms" },
    { INT64_C(500000000), "500ms" },
    { INT64_C(999999999), "999.999999ms" },
    { INT64_C(1000000000), "1s" },
    { INT64_C(1500000000), "1.5s" },
    { INT64_C(-1500000000), "-1.5s" },
    { INT64_C(60000000000), "1m0s" },
    { INT64_C(61000000000), "1m1s" },
    { INT64_C(3600000000000), "1h0m0s" },
    { INT64_C(3661000000000), "1h1m1s" },
    { INT64_C(3600000000001), "1h0m0.000000001s" },
    { INT64_C(5400000000000), "1h30m0s" },
    { INT64_C(86400000000000), "24h0m0s" },
    { INT64_C(90061500000000), "25h1m1.5s" },
    { INT64_C(100000000), "100ms" },
    { INT64_C(123456789), "123.456789ms" },
    { INT64_C(1234567890), "1.23456789s" },
    { INT64_C(12345678901234), "3h25m45.678901234s" },
    { INT64_C(-12345678901234), "-3h25m45.678901234s" },
    { INT64_C(9223372036854775807), "2562047h47m16.854775807s" },
    { INT64_MIN, "-2562047h47m16.854775808s" },
    { INT64_C(-9223372036854775807), "-2562047h47m16.854775807s" },
    { INT64_C(-1000), "-1µs" },
    { INT64_C(-999999), "-999.999µs" },
    { INT64_C(7200000000000), "2h0m0s" },
    { INT64_C(14400000000001), "4h0m0.000000001s" },
    { INT64_C(300000000000), "5m0s" },
    { INT64_C(1000000001), "1.000000001s" },
    { INT64_C(10), "10ns" },
    { INT64_C(100), "100ns" },
    { INT64_C(2500), "2.5µs" },
    { INT64_C(59999999999), "59.999999999s" },
    { INT64_C(60000000001), "1m0.000000001s" },
    { INT64_C(-86400000000000), "-24h0m0s" },
    { INT64_C(1000000000000000), "277h46m40s" },
    { INT64_C(1000000000000000000), "277777h46m40s" },
    { INT64_C(604800000000000), "168h0m0s" },
    { INT64_C(1200), "1.2µs" },
    { INT64_C(1234000), "1.234ms" },
};

static void
test_duration_format(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(format_cases); i++) {
        char buf[GOTIME_DURATION_STR_MAX];
        size_t n = gotime_format_duration(format_cases[i].ns, buf, sizeof(buf));
        if (n != strlen(format_cases[i].out) || strcmp(buf, format_cases[i].out) != 0) {
            print_error("case %zu %lld: \"%s\", want \"%s\"\n", i, (long long)format_cases[i].ns,
                        buf, format_cases[i].out);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void
test_duration_format_truncation(void **state)
{
    (void)state;
    char buf[4];
    assert_int_equal(gotime_format_duration(INT64_C(3661000000000), buf, sizeof(buf)), 6);
    assert_string_equal(buf, "1h1");
    assert_int_equal(gotime_format_duration(0, NULL, 0), 2);
}

static const struct {
    const char *in;
    bool ok;
    int64_t ns;
} parse_cases[] = {
    { "0", true, INT64_C(0) },
    { "-0", true, INT64_C(0) },
    { "+0", true, INT64_C(0) },
    { "0s", true, INT64_C(0) },
    { "1ns", true, INT64_C(1) },
    { "1us", true, INT64_C(1000) },
    { "1µs", true, INT64_C(1000) },
    { "1μs", true, INT64_C(1000) },
    { "1ms", true, INT64_C(1000000) },
    { "1s", true, INT64_C(1000000000) },
    { "1m", true, INT64_C(60000000000) },
    { "1h", true, INT64_C(3600000000000) },
    { "1h0m0s", true, INT64_C(3600000000000) },
    { "1.5s", true, INT64_C(1500000000) },
    { "1.5h", true, INT64_C(5400000000000) },
    { "-1.5h", true, INT64_C(-5400000000000) },
    { "+2h45m", true, INT64_C(9900000000000) },
    { "2h45m30.5s", true, INT64_C(9930500000000) },
    { "300ms", true, INT64_C(300000000) },
    { ".5s", true, INT64_C(500000000) },
    { "5.s", true, INT64_C(5000000000) },
    { "1.0000001h", true, INT64_C(3600000360000) },
    { "0.000000001s", true, INT64_C(1) },
    { "0.0000000001s", true, INT64_C(0) },
    { "1.9999999999s", true, INT64_C(1999999999) },
    { "10000000000000000000ns", false, 0 }, /* time: invalid duration "10000000000000000000ns" */
    { "9223372036854775807ns", true, INT64_C(9223372036854775807) },
    { "9223372036854775808ns", false, 0 }, /* time: invalid duration "9223372036854775808ns" */
    { "-9223372036854775808ns", true, INT64_MIN },
    { "-9223372036854775809ns", false, 0 }, /* time: invalid duration "-9223372036854775809ns" */
    { "2562047h47m16.854775807s", true, INT64_C(9223372036854775807) },
    { "2562047h47m16.854775808s", false,
      0 }, /* time: invalid duration "2562047h47m16.854775808s" */
    { "-2562047h47m16.854775808s", true, INT64_MIN },
    { "2562048h", false, 0 }, /* time: invalid duration "2562048h" */
    { "1h1h1h", true, INT64_C(10800000000000) },
    { "3m3s3ms3us3ns", true, INT64_C(183003003003) },
    { "1.123456789123456789s", true, INT64_C(1123456789) },
    { "0.33333333333333333333333h", true, INT64_C(1200000000000) },
    { "1000000000000000000000000000000000000s", false,
      0 },                 /* time: invalid duration "1000000000000000000000000000000000000s" */
    { "", false, 0 },      /* time: invalid duration "" */
    { "-", false, 0 },     /* time: invalid duration "-" */
    { "+", false, 0 },     /* time: invalid duration "+" */
    { "s", false, 0 },     /* time: invalid duration "s" */
    { "1", false, 0 },     /* time: missing unit in duration "1" */
    { "1x", false, 0 },    /* time: unknown unit "x" in duration "1x" */
    { "1d", false, 0 },    /* time: unknown unit "d" in duration "1d" */
    { "1 s", false, 0 },   /* time: unknown unit " s" in duration "1 s" */
    { " 1s", false, 0 },   /* time: invalid duration " 1s" */
    { "1s ", false, 0 },   /* time: unknown unit "s " in duration "1s " */
    { ".s", false, 0 },    /* time: invalid duration ".s" */
    { "-.s", false, 0 },   /* time: invalid duration "-.s" */
    { "1..5s", false, 0 }, /* time: missing unit in duration "1..5s" */
    { "1e3s", false, 0 },  /* time: unknown unit "e" in duration "1e3s" */
    { "h1", false, 0 },    /* time: invalid duration "h1" */
    { "1hh", false, 0 },   /* time: unknown unit "hh" in duration "1hh" */
    { "1ns1", false, 0 },  /* time: missing unit in duration "1ns1" */
    { "--1s", false, 0 },  /* time: invalid duration "--1s" */
    { "1.s", true, INT64_C(1000000000) },
    { "01s", true, INT64_C(1000000000) },
    { "1H", false, 0 },  /* time: unknown unit "H" in duration "1H" */
    { "0.1", false, 0 }, /* time: missing unit in duration "0.1" */
    { "3.14m", true, INT64_C(188400000000) },
    { "-1m-1s", false, 0 }, /* time: unknown unit "m-" in duration "-1m-1s" */
    { "1m1.1", false, 0 },  /* time: missing unit in duration "1m1.1" */
    { "0x10s", false, 0 },  /* time: unknown unit "x" in duration "0x10s" */
    { "1µ", false, 0 },     /* time: unknown unit "\xc2\xb5" in duration "1\xc2\xb5" */
    { "1Ms", false, 0 },    /* time: unknown unit "Ms" in duration "1Ms" */
    { "7d", false, 0 },     /* time: unknown unit "d" in duration "7d" */
    { "1.5d", false, 0 },   /* time: unknown unit "d" in duration "1.5d" */
    { "1d12h", false, 0 },  /* time: unknown unit "d" in duration "1d12h" */
};

static void
test_duration_parse(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
        int64_t ns = -42;
        int r = gotime_parse_duration(parse_cases[i].in, strlen(parse_cases[i].in), &ns);
        if ((r == 0) != parse_cases[i].ok || (r == 0 && ns != parse_cases[i].ns)) {
            print_error("case %zu \"%s\": rc %d ns %lld, want ok=%d ns %lld\n", i,
                        parse_cases[i].in, r, (long long)ns, parse_cases[i].ok,
                        (long long)parse_cases[i].ns);
            failures++;
        }
        if (r < 0 && r != -EINVAL && r != -ERANGE) {
            print_error("case %zu \"%s\": unexpected error %d\n", i, parse_cases[i].in, r);
            failures++;
        }
        if (r < 0 && ns != -42) {
            print_error("case %zu \"%s\": output written on failure\n", i, parse_cases[i].in);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Overflow is -ERANGE, syntax is -EINVAL. */
static void
test_duration_parse_errors(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(gotime_parse_duration("2562048h", 8, &ns), -ERANGE);
    assert_int_equal(gotime_parse_duration("9223372036854775808ns", 21, &ns), -ERANGE);
    assert_int_equal(gotime_parse_duration("1x", 2, &ns), -EINVAL);
    assert_int_equal(gotime_parse_duration("", 0, &ns), -EINVAL);
    assert_int_equal(gotime_parse_duration(NULL, 0, &ns), -EINVAL);
    /* The length bounds the input: "1s" followed by junk that is not ours. */
    assert_int_equal(gotime_parse_duration("1sxyz", 2, &ns), 0);
    assert_int_equal(ns, INT64_C(1000000000));
}

/* Durations Go prints must parse back to the same value. */
static void
test_duration_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(format_cases); i++) {
        int64_t ns;
        const char *s = format_cases[i].out;
        assert_int_equal(gotime_parse_duration(s, strlen(s), &ns), 0);
        assert_true(ns == format_cases[i].ns);
    }
}

static void
test_duration_parse_days(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool ok;
        int64_t ns;
    } cases[] = {
        { "1d", true, INT64_C(86400000000000) },
        { "7d", true, INT64_C(604800000000000) },
        { "-2d", true, INT64_C(-172800000000000) },
        { "1.5d", true, INT64_C(129600000000000) },
        { "1d12h", true, INT64_C(129600000000000) },
        { "12h1d", true, INT64_C(129600000000000) },
        { "4h", true, INT64_C(14400000000000) },
        { "0", true, 0 },
        { "106751d", true, INT64_C(9223286400000000000) },
        { "106752d", false, 0 },
        { "d", false, 0 },
        { "1dd", false, 0 },
        { "1D", false, 0 },
        { "1day", false, 0 },
        { "", false, 0 },
    };
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t ns = 0;
        int r = gotime_parse_duration_days(cases[i].in, strlen(cases[i].in), &ns);
        if ((r == 0) != cases[i].ok || (r == 0 && ns != cases[i].ns)) {
            print_error("case %zu \"%s\": rc %d ns %lld\n", i, cases[i].in, r, (long long)ns);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
    /* Everything the plain parser accepts, the days parser accepts identically. */
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
        if (!parse_cases[i].ok)
            continue;
        int64_t ns;
        assert_int_equal(
            gotime_parse_duration_days(parse_cases[i].in, strlen(parse_cases[i].in), &ns), 0);
        assert_true(ns == parse_cases[i].ns);
    }
}

static const struct {
    int64_t ns;
    int32_t offset;
    const char *rfc3339nano;
    const char *string;
    struct gotime_fields fields;
} time_cases[] = {
    { INT64_C(0),
      0,
      "1970-01-01T00:00:00Z",
      "1970-01-01 00:00:00 +0000 UTC",
      { 1970, 1, 1, 0, 0, 0, 0, 4, 1 } },
    { INT64_C(1),
      0,
      "1970-01-01T00:00:00.000000001Z",
      "1970-01-01 00:00:00.000000001 +0000 UTC",
      { 1970, 1, 1, 0, 0, 0, 1, 4, 1 } },
    { INT64_C(-1),
      0,
      "1969-12-31T23:59:59.999999999Z",
      "1969-12-31 23:59:59.999999999 +0000 UTC",
      { 1969, 12, 31, 23, 59, 59, 999999999, 3, 365 } },
    { INT64_C(1700000000123456789),
      0,
      "2023-11-14T22:13:20.123456789Z",
      "2023-11-14 22:13:20.123456789 +0000 UTC",
      { 2023, 11, 14, 22, 13, 20, 123456789, 2, 318 } },
    { INT64_C(1700000000100000000),
      0,
      "2023-11-14T22:13:20.1Z",
      "2023-11-14 22:13:20.1 +0000 UTC",
      { 2023, 11, 14, 22, 13, 20, 100000000, 2, 318 } },
    { INT64_C(1700000000000000000),
      7200,
      "2023-11-15T00:13:20+02:00",
      "2023-11-15 00:13:20 +0200 +0200",
      { 2023, 11, 15, 0, 13, 20, 0, 3, 319 } },
    { INT64_C(1700000000000000000),
      -18000,
      "2023-11-14T17:13:20-05:00",
      "2023-11-14 17:13:20 -0500 -0500",
      { 2023, 11, 14, 17, 13, 20, 0, 2, 318 } },
    { INT64_C(1700000000000001000),
      19800,
      "2023-11-15T03:43:20.000001+05:30",
      "2023-11-15 03:43:20.000001 +0530 +0530",
      { 2023, 11, 15, 3, 43, 20, 1000, 3, 319 } },
    { INT64_C(1700000000000000000),
      -34200,
      "2023-11-14T12:43:20-09:30",
      "2023-11-14 12:43:20 -0930 -0930",
      { 2023, 11, 14, 12, 43, 20, 0, 2, 318 } },
    { INT64_C(951782400000000000),
      0,
      "2000-02-29T00:00:00Z",
      "2000-02-29 00:00:00 +0000 UTC",
      { 2000, 2, 29, 0, 0, 0, 0, 2, 60 } },
    { INT64_C(951868799999999999),
      3600,
      "2000-03-01T00:59:59.999999999+01:00",
      "2000-03-01 00:59:59.999999999 +0100 +0100",
      { 2000, 3, 1, 0, 59, 59, 999999999, 3, 61 } },
    { INT64_C(-1000000000),
      0,
      "1969-12-31T23:59:59Z",
      "1969-12-31 23:59:59 +0000 UTC",
      { 1969, 12, 31, 23, 59, 59, 0, 3, 365 } },
    { INT64_C(-86400000000000000),
      0,
      "1967-04-07T00:00:00Z",
      "1967-04-07 00:00:00 +0000 UTC",
      { 1967, 4, 7, 0, 0, 0, 0, 5, 97 } },
    { INT64_C(-6795364578871345152),
      0,
      "1754-08-30T22:43:41.128654848Z",
      "1754-08-30 22:43:41.128654848 +0000 UTC",
      { 1754, 8, 30, 22, 43, 41, 128654848, 5, 242 } },
    { INT64_C(9223372036854775807),
      0,
      "2262-04-11T23:47:16.854775807Z",
      "2262-04-11 23:47:16.854775807 +0000 UTC",
      { 2262, 4, 11, 23, 47, 16, 854775807, 5, 101 } },
    { INT64_C(1234567890120000000),
      0,
      "2009-02-13T23:31:30.12Z",
      "2009-02-13 23:31:30.12 +0000 UTC",
      { 2009, 2, 13, 23, 31, 30, 120000000, 5, 44 } },
    { INT64_C(1609459199999000000),
      0,
      "2020-12-31T23:59:59.999Z",
      "2020-12-31 23:59:59.999 +0000 UTC",
      { 2020, 12, 31, 23, 59, 59, 999000000, 4, 366 } },
    { INT64_C(1600000000000000010),
      0,
      "2020-09-13T12:26:40.00000001Z",
      "2020-09-13 12:26:40.00000001 +0000 UTC",
      { 2020, 9, 13, 12, 26, 40, 10, 0, 257 } },
    { INT64_C(1700000000000000000),
      45,
      "2023-11-14T22:14:05+00:00",
      "2023-11-14 22:14:05 +0000 +0000",
      { 2023, 11, 14, 22, 14, 5, 0, 2, 318 } },
    { INT64_C(1700000000000000000),
      -45,
      "2023-11-14T22:12:35+00:00",
      "2023-11-14 22:12:35 +0000 +0000",
      { 2023, 11, 14, 22, 12, 35, 0, 2, 318 } },
    { INT64_C(1700000000000000000),
      50400,
      "2023-11-15T12:13:20+14:00",
      "2023-11-15 12:13:20 +1400 +1400",
      { 2023, 11, 15, 12, 13, 20, 0, 3, 319 } },
    { INT64_C(1709164800500000000),
      -43200,
      "2024-02-28T12:00:00.5-12:00",
      "2024-02-28 12:00:00.5 -1200 -1200",
      { 2024, 2, 28, 12, 0, 0, 500000000, 3, 59 } },
    { INT64_C(4102444800000000000),
      0,
      "2100-01-01T00:00:00Z",
      "2100-01-01 00:00:00 +0000 UTC",
      { 2100, 1, 1, 0, 0, 0, 0, 5, 1 } },
    { INT64_C(-2208988800000000000),
      0,
      "1900-01-01T00:00:00Z",
      "1900-01-01 00:00:00 +0000 UTC",
      { 1900, 1, 1, 0, 0, 0, 0, 1, 1 } },
};

static void
test_time_format(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
        struct gotime t = { .unix_ns = time_cases[i].ns, .offset_s = time_cases[i].offset };
        char a[GOTIME_RFC3339_MAX], b[96];
        size_t na = gotime_format_rfc3339nano(t, a, sizeof(a));
        size_t nb = gotime_format_string(t, b, sizeof(b));
        if (strcmp(a, time_cases[i].rfc3339nano) != 0 || na != strlen(a)) {
            print_error("case %zu: rfc3339nano \"%s\", want \"%s\"\n", i, a,
                        time_cases[i].rfc3339nano);
            failures++;
        }
        if (strcmp(b, time_cases[i].string) != 0 || nb != strlen(b)) {
            print_error("case %zu: string \"%s\", want \"%s\"\n", i, b, time_cases[i].string);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void
test_time_fields(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
        struct gotime t = { .unix_ns = time_cases[i].ns, .offset_s = time_cases[i].offset };
        struct gotime_fields f;
        const struct gotime_fields *w = &time_cases[i].fields;
        gotime_fields(t, &f);
        if (f.year != w->year || f.month != w->month || f.day != w->day || f.hour != w->hour ||
            f.minute != w->minute || f.second != w->second || f.nanosecond != w->nanosecond ||
            f.weekday != w->weekday || f.yearday != w->yearday) {
            print_error("case %zu: %d-%d-%d %d:%d:%d.%d wd %d yd %d\n", i, f.year, f.month, f.day,
                        f.hour, f.minute, f.second, f.nanosecond, f.weekday, f.yearday);
            failures++;
            continue;
        }
        /* And back: the fields at the same offset give the same instant. */
        struct gotime back = gotime_from_fields(f.year, f.month, f.day, f.hour, f.minute, f.second,
                                                f.nanosecond, t.offset_s);
        if (back.unix_ns != t.unix_ns || back.offset_s != t.offset_s) {
            print_error("case %zu: from_fields gave %lld\n", i, (long long)back.unix_ns);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static const struct {
    const char *in;
    bool ok;
    int64_t ns;
    int32_t offset;
} rfc3339_cases[] = {
    { "2023-11-14T22:13:20Z", true, INT64_C(1700000000000000000), 0 },
    { "2023-11-14T22:13:20.123456789Z", true, INT64_C(1700000000123456789), 0 },
    { "2023-11-14T22:13:20.5+02:00", true, INT64_C(1699992800500000000), 7200 },
    { "2023-11-14T22:13:20-05:30", true, INT64_C(1700019800000000000), -19800 },
    { "2024-02-29T00:00:00Z", true, INT64_C(1709164800000000000), 0 },
    { "2023-02-29T00:00:00Z", false, 0,
      0 }, /* parsing time "2023-02-29T00:00:00Z": day out of range */
    { "2023-11-14T22:13:20.1234567891Z", true, INT64_C(1700000000123456789), 0 },
    { "2023-11-14T24:00:00Z", false, 0,
      0 }, /* parsing time "2023-11-14T24:00:00Z": hour out of range */
    { "2023-11-14T22:60:00Z", false, 0,
      0 }, /* parsing time "2023-11-14T22:60:00Z": minute out of range */
    { "2023-11-14T22:13:60Z", false, 0,
      0 }, /* parsing time "2023-11-14T22:13:60Z": second out of range */
    { "2023-13-01T00:00:00Z", false, 0,
      0 }, /* parsing time "2023-13-01T00:00:00Z": month out of range */
    { "2023-00-01T00:00:00Z", false, 0,
      0 }, /* parsing time "2023-00-01T00:00:00Z": month out of range */
    { "2023-11-31T00:00:00Z", false, 0,
      0 }, /* parsing time "2023-11-31T00:00:00Z": day out of range */
    { "2023-11-14 22:13:20Z", false, 0,
      0 }, /* parsing time "2023-11-14 22:13:20Z" as "2006-01-02T15:04:05Z07:00": cannot parse "
              22:13:20Z" as "T" */
    { "2023-11-14T22:13:20", false, 0,
      0 }, /* parsing time "2023-11-14T22:13:20" as "2006-01-02T15:04:05Z07:00": cannot parse "" as
              "Z07:00" */
    { "2023-11-14T22:13:20+0200", false, 0,
      0 }, /* parsing time "2023-11-14T22:13:20+0200" as "2006-01-02T15:04:05Z07:00": cannot parse
              "+0200" as "Z07:00" */
    { "2023-11-14T22:13:20+24:00", true, INT64_C(1699913600000000000), 86400 },
    { "2023-11-14T22:13:20.Z", false, 0,
      0 }, /* parsing time "2023-11-14T22:13:20.Z" as "2006-01-02T15:04:05Z07:00": cannot parse ".Z"
              as "Z07:00" */
    { "2023-11-14t22:13:20Z", false, 0,
      0 }, /* parsing time "2023-11-14t22:13:20Z" as "2006-01-02T15:04:05Z07:00": cannot parse
              "t22:13:20Z" as "T" */
    { "2023-11-14T22:13:20z", false, 0,
      0 }, /* parsing time "2023-11-14T22:13:20z" as "2006-01-02T15:04:05Z07:00": cannot parse "z"
              as "Z07:00" */
    { "1970-01-01T00:00:00Z", true, INT64_C(0), 0 },
    { "1969-12-31T23:59:59.999999999Z", true, INT64_C(-1), 0 },
    { "2000-01-01T00:00:00+23:59", true, INT64_C(946598460000000000), 86340 },
    { "", false, 0,
      0 }, /* parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006" */
    { "2023-11-14T22:13:20ZZ", false, 0,
      0 }, /* parsing time "2023-11-14T22:13:20ZZ": extra text: "Z" */
    { "2023-1-14T22:13:20Z", false, 0,
      0 }, /* parsing time "2023-1-14T22:13:20Z" as "2006-01-02T15:04:05Z07:00": cannot parse
              "1-14T22:13:20Z" as "01" */
    { "2023-11-14T22:13:20.000Z", true, INT64_C(1700000000000000000), 0 },
    { "2021-06-01T12:00:00-00:00", true, INT64_C(1622548800000000000), 0 },
    { "2023-11-14T22:13:20+02:60", true, INT64_C(1699989200000000000), 10800 },
    /* Go 1.20 and later reject a one-digit hour, and so do we. */
    { "2023-11-14T2:13:20Z", false, 0, 0 },
    { "2023-11-14T22:13:20.123", false, 0, 0 },
};

static void
test_rfc3339_parse(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(rfc3339_cases); i++) {
        struct gotime t = { 0, 0 };
        int r = gotime_parse_rfc3339(rfc3339_cases[i].in, strlen(rfc3339_cases[i].in), &t);
        if ((r == 0) != rfc3339_cases[i].ok ||
            (r == 0 &&
             (t.unix_ns != rfc3339_cases[i].ns || t.offset_s != rfc3339_cases[i].offset))) {
            print_error("case %zu \"%s\": rc %d -> %lld %+d\n", i, rfc3339_cases[i].in, r,
                        (long long)t.unix_ns, t.offset_s);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* What we format as RFC3339Nano we read back exactly. */
static void
test_rfc3339_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
        /* Go prints +00:00 for offsets under a minute; they cannot round-trip. */
        if (time_cases[i].offset % 60 != 0)
            continue;
        struct gotime t;
        const char *s = time_cases[i].rfc3339nano;
        assert_int_equal(gotime_parse_rfc3339(s, strlen(s), &t), 0);
        assert_true(t.unix_ns == time_cases[i].ns);
        assert_int_equal(t.offset_s, time_cases[i].offset);
    }
}

static const struct {
    int year, month, day, hour, minute, second, nsec;
    int32_t offset;
    int64_t ns;
} date_cases[] = {
    { 2023, 11, 14, 22, 13, 20, 0, 0, INT64_C(1700000000000000000) },
    { 2023, 13, 1, 0, 0, 0, 0, 0, INT64_C(1704067200000000000) },
    { 2023, 0, 1, 0, 0, 0, 0, 0, INT64_C(1669852800000000000) },
    { 2023, 1, 0, 0, 0, 0, 0, 0, INT64_C(1672444800000000000) },
    { 2024, 2, 30, 0, 0, 0, 0, 0, INT64_C(1709251200000000000) },
    { 2023, 2, 29, 0, 0, 0, 0, 0, INT64_C(1677628800000000000) },
    { 2023, 1, 1, 24, 0, 0, 0, 0, INT64_C(1672617600000000000) },
    { 2023, 1, 1, -1, 0, 0, 0, 0, INT64_C(1672527600000000000) },
    { 2023, 1, 1, 0, 0, -1, 0, 0, INT64_C(1672531199000000000) },
    { 2023, 1, 1, 0, 0, 0, -1, 0, INT64_C(1672531199999999999) },
    { 2023, 1, 1, 0, 0, 0, 1500000000, 0, INT64_C(1672531201500000000) },
    { 2023, 1, 1, 0, 90, 90, 0, 0, INT64_C(1672536690000000000) },
    { 2023, -14, 1, 0, 0, 0, 0, 0, INT64_C(1633046400000000000) },
    { 1969, 12, 31, 23, 59, 59, 999999999, 0, INT64_C(-1) },
    { 2000, 3, 1, 1, 0, 0, 0, 3600, INT64_C(951868800000000000) },
    { 2000, 1, 1, 0, 0, 0, 0, -7200, INT64_C(946692000000000000) },
    { 1900, 2, 29, 0, 0, 0, 0, 0, INT64_C(-2203891200000000000) },
    { 2100, 12, 31, 0, 0, 0, 0, 0, INT64_C(4133894400000000000) },
    { 2023, 6, 400, 0, 0, 0, 0, 0, INT64_C(1720051200000000000) },
    { 1700, 1, 1, 0, 0, 0, 0, 0, INT64_C(-8520336000000000000) },
};

static void
test_from_fields_normalise(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(date_cases); i++) {
        struct gotime t = gotime_from_fields(
            date_cases[i].year, date_cases[i].month, date_cases[i].day, date_cases[i].hour,
            date_cases[i].minute, date_cases[i].second, date_cases[i].nsec, date_cases[i].offset);
        if (t.unix_ns != date_cases[i].ns || t.offset_s != date_cases[i].offset) {
            print_error("case %zu: %lld, want %lld\n", i, (long long)t.unix_ns,
                        (long long)date_cases[i].ns);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void
test_now(void **state)
{
    (void)state;
    struct gotime a = gotime_now(), b = gotime_now();
    assert_int_equal(a.offset_s, 0);
    assert_true(b.unix_ns >= a.unix_ns);
    /* Some time after 2023-11-14 and before 2200. */
    assert_true(a.unix_ns > INT64_C(1700000000000000000));
    assert_true(a.unix_ns < INT64_C(7258118400000000000));
}

/* Go's time.Parse / Format through the layout engine (expected values from Go 1.19). */
static void
test_layout_parse(void **state)
{
    static const struct {
        const char *layout, *value, *want; /* want: RFC3339Nano or Go's error text */
        bool ok;
    } cases[] = {
        { "2006-01-02T15:04:05Z07:00", "2023-01-02T03:04:05+01:00", "2023-01-02T03:04:05+01:00",
          true },
        { "02 Jan 06 15:04 MST", "05 Mar 23 10:00 GMT+3", "2023-03-05T13:00:00+03:00", true },
        { "2006-01-02", "2023-02-30", "parsing time \"2023-02-30\": day out of range", false },
        { "2006-01-02", "x", "parsing time \"x\" as \"2006-01-02\": cannot parse \"x\" as \"2006\"",
          false },
        { "2006-01-02", "2023-01-02 extra",
          "parsing time \"2023-01-02 extra\": extra text: \" extra\"", false },
        { "2006", "1500",
          "parsing time \"1500\": year 1500 is outside the supported range 1678-2261", false },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gotime t;
        struct str msg = STR_INIT;
        char buf[GOTIME_RFC3339_MAX];
        int rc = gotime_parse_layout(cases[i].layout, strlen(cases[i].layout), cases[i].value,
                                     strlen(cases[i].value), NULL, &t, &msg);
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            gotime_format_rfc3339nano(t, buf, sizeof(buf));
            assert_string_equal(buf, cases[i].want);
        } else {
            assert_int_equal(rc, -EINVAL);
            assert_string_equal(msg.buf, cases[i].want);
        }
        str_free(&msg);
    }
}

/* A layout without a year reads year 0, which the fields API hands back (ParseDate fills it). */
static void
test_layout_fields_year0(void **state)
{
    struct gotime_parsed p;
    struct gotime t;
    (void)state;
    assert_int_equal(
        gotime_parse_layout_fields("Jan _2 15:04:05", 15, "Feb 29 10:00:00", 15, &p, NULL), 0);
    assert_int_equal(p.year, 0);
    assert_int_equal(p.month, 2);
    assert_int_equal(p.day, 29);
    assert_int_equal(p.hour, 10);
    assert_int_equal(p.zone, GOTIME_ZONE_NONE);
    assert_int_equal(gotime_from_parsed(&p, NULL, &t), -ERANGE);
    /* Quiet mode: no message, still -EINVAL. */
    assert_int_equal(gotime_parse_layout_fields("2006", 4, "x", 1, &p, NULL), -EINVAL);
}

static void
test_layout_format(void **state)
{
    struct gotime t = gotime_from_fields(2023, 1, 2, 3, 4, 5, 123456789, 3600);
    struct str b = STR_INIT;
    (void)state;
    assert_int_equal(gotime_format_layout(t, "Mon Jan _2 15:04:05.000 MST 2006", 32, &b), 0);
    assert_string_equal(b.buf, "Mon Jan  2 03:04:05.123 +0100 2023");
    str_free(&b);
    b = STR_INIT;
    const char *l = "02/01/06 3:04PM .999 Z07:00 __2";
    assert_int_equal(gotime_format_layout(t, l, strlen(l), &b), 0);
    assert_string_equal(b.buf, "02/01/23 3:04AM .123 +01:00   2");
    str_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_duration_format_truncation),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_parse_errors),
        cmocka_unit_test(test_duration_roundtrip),
        cmocka_unit_test(test_duration_parse_days),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_time_fields),
        cmocka_unit_test(test_rfc3339_parse),
        cmocka_unit_test(test_rfc3339_roundtrip),
        cmocka_unit_test(test_from_fields_normalise),
        cmocka_unit_test(test_now),
        cmocka_unit_test(test_layout_parse),
        cmocka_unit_test(test_layout_fields_year0),
        cmocka_unit_test(test_layout_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
