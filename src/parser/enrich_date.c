/*
 * enrich_date.c - the ParseDate enricher (CrowdSec's
 * pkg/parser/enrich_date.go).
 *
 * The value is tried against the event's StrTimeFormat, then CrowdSec's
 * sixteen layouts in its order, with Go's time.Parse rules (common/gotime.c):
 * a run of spaces in a layout matches one or more spaces, a value without a
 * zone is UTC, and a layout without a year gives year 0, which CrowdSec moves
 * to the current UTC year (AddDate, so "Feb 29" rolls over to March 1 in a
 * common year). Then a Unix epoch whose integer part is positive; else the
 * current time. The result goes to Enriched.MarshaledTime as Go's MarshalText
 * writes it; in TIMEMACHINE mode the parsed time (not "now") also becomes
 * evt.Time. The clock is expr_clock_now() so tests and hubtest can pin it.
 *
 * A layout that only matches literally: "02-Jan-2006 15:04:05 europe/paris"
 * is plain text after the seconds for Go (no zone element), so it accepts
 * values ending in " europe/paris" and reads them as UTC, exactly like
 * CrowdSec.
 */
#include "common/common.h"

#include "expr/expr.h"
#include "parser/enrich_internal.h"

#define NS_PER_S INT64_C(1000000000)

static const char *const date_layouts[] = {
    "2006-01-02T15:04:05Z07:00", /* time.RFC3339 */
    "02/Jan/2006:15:04:05 -0700",
    "Mon Jan 2 15:04:05 2006",
    "02-Jan-2006 15:04:05 europe/paris",
    "01/02/2006 15:04:05",
    "2006-01-02 15:04:05.999999999 -0700 MST",
    "Jan  2 15:04:05",
    "Mon Jan 02 15:04:05.000000 2006",
    "2006-01-02T15:04:05Z07:00",
    "2006/01/02",
    "2006/01/02 15:04",
    "2006-01-02",
    "2006-01-02 15:04",
    "2006/01/02 15:04:05",
    "2006-01-02 15:04:05",
    "2006-01-02T15:04:05",
};

/* CrowdSec's parseDateWithFormat: 0 with *ret set, or -1 (no match, or Go's zero time). */
static int
date_with_layout(const char *layout, size_t llen, const char *in, size_t len, struct gotime *ret)
{
    struct gotime_parsed p;
    if (gotime_parse_layout_fields(layout, llen, in, len, &p, NULL) < 0)
        return -1;
    if (p.year == 0) {
        struct gotime_fields now;
        gotime_fields(expr_clock_now(), &now);
        /* t.AddDate(now.Year(), 0, 0): gotime_from_parsed normalises Feb 29 like time.Date. */
        p.year = now.year;
    }
    /* Go's zero time (year 1) and anything our int64 times cannot hold are no match. */
    return gotime_from_parsed(&p, NULL, ret) < 0 ? -1 : 0;
}

/* expr.ParseUnixTime: strconv.ParseInt of the text before the first '.', > 0. */
static int
date_unix(const char *in, size_t len, struct gotime *ret)
{
    const char *dot = memchr(in, '.', len);
    size_t n = dot ? (size_t)(dot - in) : len;
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;

    if (n > 0 && (in[0] == '+' || in[0] == '-')) {
        neg = in[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    for (; i < n; i++) {
        if (in[i] < '0' || in[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(in[i] - '0');
        if (v > (uint64_t)INT64_MAX)
            return -1; /* ParseInt's range error */
    }
    if (neg || v == 0)
        return -1;
    /* Seconds beyond year 2262 do not fit our int64 nanoseconds. */
    if (v > (uint64_t)(INT64_MAX / NS_PER_S))
        return -1;
    ret->unix_ns = (int64_t)v * NS_PER_S;
    ret->offset_s = 0; /* time.Unix is Local, and phalanx's Local is UTC */
    return 0;
}

static int
date_result(struct event *evt, struct gotime t, bool set_time)
{
    char buf[GOTIME_RFC3339_MAX];
    gotime_format_rfc3339nano(t, buf, sizeof(buf));
    int err = event_set_enriched(evt, "MarshaledTime", buf);
    /* In time machine mode the event's time is the log's; live keeps the acquisition time. */
    if (!err && set_time && evt->expect_mode == EVENT_TIMEMACHINE)
        evt->time = t;
    return err;
}

int
enrich_parse_date(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt)
{
    struct gotime t;

    if (len > 0) {
        if (evt->str_time_format.len > 0 &&
            date_with_layout(evt->str_time_format.ptr, evt->str_time_format.len, input, len, &t) ==
                0)
            return date_result(evt, t, true);
        /*
         * Every layout of the table opens with a number (2006, 02, 01: Go's
         * parser wants a digit there) or a name (Mon, Jan: letters), so one
         * whose kind differs from the input's first byte cannot match: skip it
         * rather than fail in it (a syslog date used to fail six of them).
         */
        bool digit = input[0] >= '0' && input[0] <= '9';
        for (size_t i = 0; i < ARRAY_SIZE(date_layouts); i++) {
            const char *l = date_layouts[i];
            if ((l[0] >= '0' && l[0] <= '9') != digit)
                continue;
            if (date_with_layout(l, strlen(l), input, len, &t) == 0)
                return date_result(evt, t, true);
        }
        if (date_unix(input, len, &t) == 0)
            return date_result(evt, t, true);
    }
    /* No format matched: now, in UTC (the event's time is left alone). */
    t = expr_clock_now();
    t.offset_s = 0;
    return date_result(evt, t, false);
}
