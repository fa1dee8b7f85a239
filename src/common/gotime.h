/*
 * gotime.h - Go's time and duration formats, bit for bit.
 *
 * CrowdSec writes durations with time.Duration.String() ("1h0m0s", "1.5s",
 * "500ms") and timestamps with MarshalText (RFC3339 with trailing-zero-trimmed
 * nanoseconds, "Z" for UTC); it reads durations with time.ParseDuration. Users'
 * scripts and the hub tests compare those strings, so we reproduce them exactly.
 */
#ifndef PHALANX_GOTIME_H
#define PHALANX_GOTIME_H

#include "common.h"
#include "str.h"

#define GOTIME_DURATION_STR_MAX 40
#define GOTIME_RFC3339_MAX      48

/* Go's time.ParseDuration: "300ms", "-1.5h", "2h45m", units ns us µs ms s m h.
 * Returns 0 or -EINVAL/-ERANGE. */
int gotime_parse_duration(const char *s, size_t len, int64_t *ret_ns);
/* Like gotime_parse_duration but also accepts a "d" (24h) unit, as CrowdSec's profiles do. */
int gotime_parse_duration_days(const char *s, size_t len, int64_t *ret_ns);
/* Go's Duration.String(); returns the length written (NUL-terminated). */
size_t gotime_format_duration(int64_t ns, char *buf, size_t size);

/*
 * A point in time: Unix nanoseconds plus the zone offset it is shown in.
 * Go times span more than int64 ns can, but CrowdSec's never leave 1678..2262.
 */
struct gotime {
    int64_t unix_ns;
    int32_t offset_s; /* seconds east of UTC */
};

/* RFC3339 with nanoseconds, trailing zeros trimmed, "Z" when the offset is 0 (Go's RFC3339Nano). */
size_t gotime_format_rfc3339nano(struct gotime t, char *buf, size_t size);
/* Parses RFC3339 with optional fractional seconds; 0 or -EINVAL. */
int gotime_parse_rfc3339(const char *s, size_t len, struct gotime *ret);
/* Go's Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST" (zone "UTC" or "+0200"-style). */
size_t gotime_format_string(struct gotime t, char *buf, size_t size);

/* Broken-down fields of t in its own offset (proleptic Gregorian, like Go). */
struct gotime_fields {
    int year, month, day, hour, minute, second, nanosecond;
    int weekday; /* 0 = Sunday */
    int yearday; /* 1..366 */
};
void gotime_fields(struct gotime t, struct gotime_fields *ret);
/* Inverse of gotime_fields for a date-time at the given offset; normalises out-of-range fields
 * like Go's time.Date. */
struct gotime gotime_from_fields(int year, int month, int day, int hour, int minute, int second,
                                 int nanosecond, int32_t offset_s);

/* Current wall-clock time in UTC. */
struct gotime gotime_now(void);

/* --- Go's layout language (time.Format / time.Parse, time/format.go) --- */

/* Years an int64-nanosecond time can hold (Go's reach far wider). */
#define GOTIME_MIN_YEAR 1678
#define GOTIME_MAX_YEAR 2261

extern const char *const gotime_month_names[12];  /* "January".. */
extern const char *const gotime_weekday_names[7]; /* "Sunday".. */

/* Go's Time.Format(layout): appends to b; 0 or -ENOMEM. A zone name prints as "UTC" at offset 0,
 * else as "+hhmm" (our times carry no zone name). */
int gotime_format_layout(struct gotime t, const char *layout, size_t len, struct str *b);

/* What a layout parse read, before it becomes an instant. */
enum gotime_zone_kind {
    GOTIME_ZONE_NONE,   /* no zone in the value: wall clock in the default location */
    GOTIME_ZONE_UTC,    /* "UTC" or "Z" */
    GOTIME_ZONE_OFFSET, /* numeric offset: the wall clock is at offset_s */
    GOTIME_ZONE_NAME,   /* other abbreviation: wall clock read as UTC, shown at offset_s */
};
struct gotime_parsed {
    int year, month, day, hour, minute, second, nanosecond; /* validated except the year range */
    enum gotime_zone_kind zone;
    int32_t offset_s;
};

/* A location for zone-less values (ParseInLocation); NULL means UTC. */
struct gotime_loc {
    int32_t (*offset)(const void *zone, int64_t unix_s); /* seconds east of UTC at that instant */
    const void *zone;
};

/*
 * Go's time.Parse field reading, up to the date checks: 0, -EINVAL (Go's
 * ParseError text appended to err_msg when it is not NULL) or -ENOMEM. Any
 * year is accepted here (year 0 when the layout has none), so callers can
 * apply CrowdSec's "year 0 => this year" rule before building the instant.
 */
int gotime_parse_layout_fields(const char *layout, size_t llen, const char *value, size_t vlen,
                               struct gotime_parsed *ret, struct str *err_msg);
/* The instant of a parse result (loc for zone-less values; NULL = UTC); -ERANGE outside
 * GOTIME_MIN_YEAR..GOTIME_MAX_YEAR. */
int gotime_from_parsed(const struct gotime_parsed *p, const struct gotime_loc *loc,
                       struct gotime *ret);
/* Go's time.Parse / ParseInLocation (Local = UTC): 0, -EINVAL (message in err_msg if not NULL),
 * -ENOMEM. */
int gotime_parse_layout(const char *layout, size_t llen, const char *value, size_t vlen,
                        const struct gotime_loc *loc, struct gotime *ret, struct str *err_msg);
/* Go's time.quote: s in double quotes, non-ASCII and control bytes as \xNN; 0 or -ENOMEM. */
int gotime_quote(struct str *b, const char *s, size_t len);

#endif
