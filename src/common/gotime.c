/*
 * gotime.c - Go's duration and timestamp text formats, reproduced exactly.
 *
 * The duration parser and printer are transcriptions of Go's
 * time.ParseDuration and Duration.String (including the float64 step Go uses
 * for fractional units, so "1.0000001h" rounds the same way). Calendar
 * arithmetic uses Howard Hinnant's days-from-civil algorithms on the
 * proleptic Gregorian calendar, as Go does, with floor division so that
 * instants before 1970 split correctly into days and seconds.
 *
 * The layout engine (time.Format / time.Parse) is a port of Go's
 * time/format.go: layout_next_chunk() cuts the layout into elements the way
 * nextStdChunk does, and each element is printed or read in turn. It serves
 * the expression builtins (date(), Time.Format) and the parser's ParseDate.
 */
#include <inttypes.h>
#include <time.h>

#include "common/gotime.h"

#define NS_PER_US       INT64_C(1000)
#define NS_PER_MS       INT64_C(1000000)
#define NS_PER_S        INT64_C(1000000000)
#define NS_PER_MIN      (60 * NS_PER_S)
#define NS_PER_HOUR     (60 * NS_PER_MIN)
#define NS_PER_DAY      (24 * NS_PER_HOUR)
#define SECONDS_PER_DAY INT64_C(86400)

static const uint64_t GOTIME_U63 = UINT64_C(1) << 63;

/* Go's leadingInt: [0-9]*, failing on values above 1<<63. */
static int
gotime_leading_int(const char *s, size_t len, size_t *pos, uint64_t *ret)
{
    uint64_t x = 0;
    size_t i = *pos;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (x > GOTIME_U63 / 10)
            return -ERANGE;
        x = x * 10 + (uint64_t)(s[i] - '0');
        if (x > GOTIME_U63)
            return -ERANGE;
    }
    *pos = i;
    *ret = x;
    return 0;
}

/* Go's leadingFraction: digits after the point, ignoring those that would overflow. */
static void
gotime_leading_fraction(const char *s, size_t len, size_t *pos, uint64_t *ret_x, double *ret_scale)
{
    uint64_t x = 0;
    double scale = 1;
    bool overflow = false;
    size_t i = *pos;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (overflow)
            continue;
        if (x > (GOTIME_U63 - 1) / 10) {
            overflow = true;
            continue;
        }
        uint64_t y = x * 10 + (uint64_t)(s[i] - '0');
        if (y > GOTIME_U63) {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10;
    }
    *pos = i;
    *ret_x = x;
    *ret_scale = scale;
}

static uint64_t
gotime_unit(const char *u, size_t n, bool days)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        { "ns", 1 },
        { "us", NS_PER_US },
        { "\xc2\xb5s", NS_PER_US }, /* U+00B5 micro sign */
        { "\xce\xbcs", NS_PER_US }, /* U+03BC Greek mu */
        { "ms", NS_PER_MS },
        { "s", NS_PER_S },
        { "m", NS_PER_MIN },
        { "h", NS_PER_HOUR },
    };
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    if (days && n == 1 && u[0] == 'd')
        return NS_PER_DAY;
    return 0;
}

/* [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ with Go's exact overflow rules. */
static int
gotime_parse(const char *s, size_t len, bool days, int64_t *ret_ns)
{
    uint64_t d = 0;
    bool neg = false;
    size_t pos = 0;

    if (!s)
        return -EINVAL;
    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        pos = 1;
    }
    if (len - pos == 1 && s[pos] == '0') {
        *ret_ns = 0;
        return 0;
    }
    if (pos == len)
        return -EINVAL;

    while (pos < len) {
        uint64_t v, f = 0;
        double scale = 1;

        if (!(s[pos] == '.' || (s[pos] >= '0' && s[pos] <= '9')))
            return -EINVAL;
        size_t start = pos;
        int r = gotime_leading_int(s, len, &pos, &v);
        if (r < 0)
            return r;
        bool pre = pos != start;
        bool post = false;
        if (pos < len && s[pos] == '.') {
            pos++;
            size_t fs = pos;
            gotime_leading_fraction(s, len, &pos, &f, &scale);
            post = pos != fs;
        }
        if (!pre && !post)
            return -EINVAL;

        size_t us = pos;
        while (pos < len && s[pos] != '.' && !(s[pos] >= '0' && s[pos] <= '9'))
            pos++;
        if (pos == us)
            return -EINVAL;
        uint64_t unit = gotime_unit(s + us, pos - us, days);
        if (unit == 0)
            return -EINVAL;
        if (v > GOTIME_U63 / unit)
            return -ERANGE;
        v *= unit;
        if (f > 0) {
            /* The same float64 steps as Go, so the rounding matches. */
            double frac = (double)f * ((double)unit / scale);
            v += (uint64_t)frac;
            if (v > GOTIME_U63)
                return -ERANGE;
        }
        d += v;
        if (d > GOTIME_U63)
            return -ERANGE;
    }
    if (neg) {
        *ret_ns = (int64_t)(0 - d);
        return 0;
    }
    if (d > GOTIME_U63 - 1)
        return -ERANGE;
    *ret_ns = (int64_t)d;
    return 0;
}

int
gotime_parse_duration(const char *s, size_t len, int64_t *ret_ns)
{
    return gotime_parse(s, len, false, ret_ns);
}

int
gotime_parse_duration_days(const char *s, size_t len, int64_t *ret_ns)
{
    return gotime_parse(s, len, true, ret_ns);
}

/* Copies the tail text into buf (truncating, NUL-terminated); returns its full length. */
static size_t
gotime_output(const char *p, size_t n, char *buf, size_t size)
{
    if (size > 0) {
        size_t k = MIN(n, size - 1);
        memcpy(buf, p, k);
        buf[k] = '\0';
    }
    return n;
}

/* Go's fmtFrac: writes the fraction of prec digits backwards, without trailing zeros. */
static size_t
gotime_fmt_frac(char *b, size_t w, uint64_t *v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        uint64_t digit = *v % 10;
        print = print || digit != 0;
        if (print)
            b[--w] = (char)('0' + digit);
        *v /= 10;
    }
    if (print)
        b[--w] = '.';
    return w;
}

static size_t
gotime_fmt_int(char *b, size_t w, uint64_t v)
{
    if (v == 0) {
        b[--w] = '0';
        return w;
    }
    while (v > 0) {
        b[--w] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

size_t
gotime_format_duration(int64_t ns, char *buf, size_t size)
{
    char b[32];
    size_t w = sizeof(b);
    uint64_t u = (uint64_t)ns;
    bool neg = ns < 0;
    if (neg)
        u = 0 - u;

    if (u < (uint64_t)NS_PER_S) {
        int prec;
        if (u == 0)
            return gotime_output("0s", 2, buf, size);
        b[--w] = 's';
        if (u < (uint64_t)NS_PER_US) {
            prec = 0;
            b[--w] = 'n';
        } else if (u < (uint64_t)NS_PER_MS) {
            prec = 3;
            b[--w] = '\xb5';
            b[--w] = '\xc2';
        } else {
            prec = 6;
            b[--w] = 'm';
        }
        w = gotime_fmt_frac(b, w, &u, prec);
        w = gotime_fmt_int(b, w, u);
    } else {
        b[--w] = 's';
        w = gotime_fmt_frac(b, w, &u, 9);
        w = gotime_fmt_int(b, w, u % 60);
        u /= 60;
        if (u > 0) {
            b[--w] = 'm';
            w = gotime_fmt_int(b, w, u % 60);
            u /= 60;
            if (u > 0) {
                b[--w] = 'h';
                w = gotime_fmt_int(b, w, u);
            }
        }
    }
    if (neg)
        b[--w] = '-';
    return gotime_output(b + w, sizeof(b) - w, buf, size);
}

static int64_t
gotime_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Days since 1970-01-01 of y-m-d (m 1..12, d may run past the month). Hinnant. */
static int64_t
gotime_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = gotime_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
gotime_civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
    z += 719468;
    int64_t era = gotime_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = y + (m <= 2);
    *ret_m = (int)m;
    *ret_d = (int)d;
}

void
gotime_fields(struct gotime t, struct gotime_fields *ret)
{
    /* Local seconds and nanoseconds, split with floor semantics. */
    int64_t sec = gotime_floor_div(t.unix_ns, NS_PER_S);
    int64_t nsec = t.unix_ns - sec * NS_PER_S;
    sec += t.offset_s;
    int64_t days = gotime_floor_div(sec, SECONDS_PER_DAY);
    int64_t sod = sec - days * SECONDS_PER_DAY;
    int64_t y;
    int m, d;
    gotime_civil_from_days(days, &y, &m, &d);

    ret->year = (int)y;
    ret->month = m;
    ret->day = d;
    ret->hour = (int)(sod / 3600);
    ret->minute = (int)(sod % 3600 / 60);
    ret->second = (int)(sod % 60);
    ret->nanosecond = (int)nsec;
    ret->weekday = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    ret->yearday = (int)(days - gotime_days_from_civil(y, 1, 1) + 1);
}

/* Go's norm: carries lo into hi so that 0 <= lo < base. */
static void
gotime_norm(int64_t *hi, int64_t *lo, int64_t base)
{
    if (*lo < 0) {
        int64_t n = (-*lo - 1) / base + 1;
        *hi -= n;
        *lo += n * base;
    }
    if (*lo >= base) {
        int64_t n = *lo / base;
        *hi += n;
        *lo -= n * base;
    }
}

/*
 * time.Date at a fixed offset. Inputs are ints, so the intermediate values
 * fit int64 easily; only the final nanosecond count can overflow, and it
 * saturates rather than wraps (far outside CrowdSec's 1678..2262 window).
 */
struct gotime
gotime_from_fields(int year, int month, int day, int hour, int minute, int second, int nanosecond,
                   int32_t offset_s)
{
    int64_t y = year, mo = (int64_t)month - 1, d = day, h = hour, mi = minute, s = second,
            ns = nanosecond;
    gotime_norm(&y, &mo, 12);
    gotime_norm(&s, &ns, NS_PER_S);
    gotime_norm(&mi, &s, 60);
    gotime_norm(&h, &mi, 60);
    gotime_norm(&d, &h, 24);

    int64_t days = gotime_days_from_civil(y, mo + 1, 1) + (d - 1);
    int64_t unix = days * SECONDS_PER_DAY + h * 3600 + mi * 60 + s - offset_s;
    int64_t out;
    struct gotime t = { .offset_s = offset_s };
    if (__builtin_mul_overflow(unix, NS_PER_S, &out) || __builtin_add_overflow(out, ns, &out))
        out = unix < 0 ? INT64_MIN : INT64_MAX;
    t.unix_ns = out;
    return t;
}

struct gotime
gotime_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (struct gotime){ .unix_ns = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec, .offset_s = 0 };
}

/* Go's appendInt(b, x, width): sign, then zero-padded to width. */
static size_t
gotime_put_int(char *b, size_t n, int64_t x, int width)
{
    char tmp[24];
    size_t k = 0;
    uint64_t u = (uint64_t)x;
    if (x < 0) {
        b[n++] = '-';
        u = 0 - u;
    }
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    for (int i = (int)k; i < width; i++)
        b[n++] = '0';
    while (k > 0)
        b[n++] = tmp[--k];
    return n;
}

/* ".999999999": the fraction without trailing zeros, nothing if zero. */
static size_t
gotime_put_frac9(char *b, size_t n, int nsec)
{
    if (nsec == 0)
        return n;
    char digits[9];
    for (int i = 8; i >= 0; i--) {
        digits[i] = (char)('0' + nsec % 10);
        nsec /= 10;
    }
    int last = 8;
    while (last > 0 && digits[last] == '0')
        last--;
    b[n++] = '.';
    memcpy(b + n, digits, (size_t)last + 1);
    return n + (size_t)last + 1;
}

static size_t
gotime_put_date_time(char *b, size_t n, const struct gotime_fields *f, char sep)
{
    n = gotime_put_int(b, n, f->year, 4);
    b[n++] = '-';
    n = gotime_put_int(b, n, f->month, 2);
    b[n++] = '-';
    n = gotime_put_int(b, n, f->day, 2);
    b[n++] = sep;
    n = gotime_put_int(b, n, f->hour, 2);
    b[n++] = ':';
    n = gotime_put_int(b, n, f->minute, 2);
    b[n++] = ':';
    n = gotime_put_int(b, n, f->second, 2);
    return gotime_put_frac9(b, n, f->nanosecond);
}

/* Go's numeric zone: minutes truncated toward zero, sign from them, as "+hhmm" or "+hh:mm". */
static size_t
gotime_put_zone(char *b, size_t n, int32_t offset_s, bool colon)
{
    int32_t zone = offset_s / 60;
    if (zone < 0) {
        b[n++] = '-';
        zone = -zone;
    } else {
        b[n++] = '+';
    }
    n = gotime_put_int(b, n, zone / 60, 2);
    if (colon)
        b[n++] = ':';
    return gotime_put_int(b, n, zone % 60, 2);
}

size_t
gotime_format_rfc3339nano(struct gotime t, char *buf, size_t size)
{
    char b[96];
    struct gotime_fields f;
    gotime_fields(t, &f);
    size_t n = gotime_put_date_time(b, 0, &f, 'T');
    if (t.offset_s == 0)
        b[n++] = 'Z';
    else
        n = gotime_put_zone(b, n, t.offset_s, true);
    return gotime_output(b, n, buf, size);
}

size_t
gotime_format_string(struct gotime t, char *buf, size_t size)
{
    char b[96];
    struct gotime_fields f;
    gotime_fields(t, &f);
    size_t n = gotime_put_date_time(b, 0, &f, ' ');
    b[n++] = ' ';
    n = gotime_put_zone(b, n, t.offset_s, false);
    b[n++] = ' ';
    if (t.offset_s == 0) {
        b[n++] = 'U';
        b[n++] = 'T';
        b[n++] = 'C';
    } else {
        /* A fixed zone without a name prints its offset again, as "-0700". */
        n = gotime_put_zone(b, n, t.offset_s, false);
    }
    return gotime_output(b, n, buf, size);
}

/* Parses exactly n digits at s into a value in [min, max]. */
static bool
gotime_digits(const char *s, size_t n, int min, int max, int *ret)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    if (x < min || x > max)
        return false;
    *ret = x;
    return true;
}

static int
gotime_days_in_month(int year, int month)
{
    static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
        return 29;
    return dim[month - 1];
}

/*
 * time.Parse(time.RFC3339, s): "YYYY-MM-DDTHH:MM:SS" with two-digit fields
 * (Go 1.20 and later insist on them), an optional ".digits" (digits past the
 * ninth are ignored), then "Z" or "+hh:mm"/"-hh:mm". Date and time fields are
 * range-checked, the day against the month; the zone's two-digit hours and
 * minutes are not, because Go's time.Parse does not check them either
 * ("+24:00" and "+02:60" are accepted).
 */
int
gotime_parse_rfc3339(const char *s, size_t len, struct gotime *ret)
{
    int year, month, day, hour, minute, second, nsec = 0, offset = 0;

    if (!s || len < 19)
        return -EINVAL;
    if (!gotime_digits(s, 4, 0, 9999, &year) || !gotime_digits(s + 5, 2, 1, 12, &month) ||
        !gotime_digits(s + 8, 2, 1, 31, &day) || !gotime_digits(s + 11, 2, 0, 23, &hour) ||
        !gotime_digits(s + 14, 2, 0, 59, &minute) || !gotime_digits(s + 17, 2, 0, 59, &second))
        return -EINVAL;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -EINVAL;
    if (day > gotime_days_in_month(year, month))
        return -EINVAL;

    size_t pos = 19;
    if (len - pos >= 2 && s[pos] == '.' && s[pos + 1] >= '0' && s[pos + 1] <= '9') {
        size_t i = pos + 1;
        int digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (digits < 9) {
                nsec = nsec * 10 + (s[i] - '0');
                digits++;
            }
            i++;
        }
        for (; digits < 9; digits++)
            nsec *= 10;
        pos = i;
    }

    size_t rest = len - pos;
    if (rest == 1 && s[pos] == 'Z') {
        offset = 0;
    } else {
        int hh, mm;
        if (rest != 6 || (s[pos] != '+' && s[pos] != '-') || s[pos + 3] != ':' ||
            !gotime_digits(s + pos + 1, 2, 0, 99, &hh) ||
            !gotime_digits(s + pos + 4, 2, 0, 99, &mm))
            return -EINVAL;
        offset = (hh * 60 + mm) * 60;
        if (s[pos] == '-')
            offset = -offset;
    }
    *ret = gotime_from_fields(year, month, day, hour, minute, second, nsec, offset);
    return 0;
}

/* --- Go's layout language (time/format.go) --- */

const char *const gotime_month_names[12] = { "January",   "February", "March",    "April",
                                             "May",       "June",     "July",     "August",
                                             "September", "October",  "November", "December" };
const char *const gotime_weekday_names[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday" };

/* Length of the rune at s like Go's utf8.DecodeRune (invalid => 0xFFFD, size 1). */
static int32_t
utf8_decode(const char *s, size_t len, size_t *size)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    *size = 1;
    if (c < 0x80)
        return c;
    if (c < 0xC2 || c > 0xF4)
        return 0xFFFD;
    if (c < 0xE0) {
        if (len < 2 || (p[1] & 0xC0) != 0x80)
            return 0xFFFD;
        *size = 2;
        return ((int32_t)(c & 0x1F) << 6) | (p[1] & 0x3F);
    }
    /* The second byte's range depends on the first (no overlongs, no surrogates, <= 10FFFF). */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (len < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
        return 0xFFFD;
    if (c < 0xF0) {
        *size = 3;
        return ((int32_t)(c & 0x0F) << 12) | ((int32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    if (len < 4 || (p[3] & 0xC0) != 0x80)
        return 0xFFFD;
    *size = 4;
    return ((int32_t)(c & 0x07) << 18) | ((int32_t)(p[1] & 0x3F) << 12) |
           ((int32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

enum {
    STD_NONE = 0,
    STD_LONG_MONTH,
    STD_MONTH,
    STD_NUM_MONTH,
    STD_ZERO_MONTH,
    STD_LONG_WEEKDAY,
    STD_WEEKDAY,
    STD_DAY,
    STD_UNDER_DAY,
    STD_ZERO_DAY,
    STD_UNDER_YEARDAY,
    STD_ZERO_YEARDAY,
    STD_HOUR,
    STD_HOUR12,
    STD_ZERO_HOUR12,
    STD_MINUTE,
    STD_ZERO_MINUTE,
    STD_SECOND,
    STD_ZERO_SECOND,
    STD_LONG_YEAR,
    STD_YEAR,
    STD_PM,
    STD_pm,
    STD_TZ,
    STD_ISO8601_TZ,
    STD_ISO8601_SECONDS_TZ,
    STD_ISO8601_SHORT_TZ,
    STD_ISO8601_COLON_TZ,
    STD_ISO8601_COLON_SECONDS_TZ,
    STD_NUM_TZ,
    STD_NUM_SECONDS_TZ,
    STD_NUM_SHORT_TZ,
    STD_NUM_COLON_TZ,
    STD_NUM_COLON_SECONDS_TZ,
    STD_FRAC_SECOND0,
    STD_FRAC_SECOND9,
};

struct layout_chunk {
    size_t prefix_len; /* literal text before the element */
    int std;           /* STD_NONE: no more elements */
    size_t std_len;    /* bytes of the element in the layout */
    int frac_digits;   /* STD_FRAC_SECOND*: number of digits */
    char frac_sep;     /* '.' or ',' */
};

static bool
has(const char *s, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return len >= i + n && memcmp(s + i, lit, n) == 0;
}

static bool
starts_lower(const char *s, size_t len, size_t i)
{
    return i < len && s[i] >= 'a' && s[i] <= 'z';
}

static bool
digit_at(const char *s, size_t len, size_t i)
{
    return i < len && s[i] >= '0' && s[i] <= '9';
}

/* Go's nextStdChunk: finds the first layout element of l. */
static struct layout_chunk
layout_next_chunk(const char *l, size_t len)
{
    static const int std0x[6] = { STD_ZERO_MONTH,  STD_ZERO_DAY,    STD_ZERO_HOUR12,
                                  STD_ZERO_MINUTE, STD_ZERO_SECOND, STD_YEAR };
    struct layout_chunk c = { 0 };
    for (size_t i = 0; i < len; i++) {
        c.prefix_len = i;
        switch (l[i]) {
        case 'J':
            if (has(l, len, i, "Jan")) {
                if (has(l, len, i, "January")) {
                    c.std = STD_LONG_MONTH, c.std_len = 7;
                    return c;
                }
                if (!starts_lower(l, len, i + 3)) {
                    c.std = STD_MONTH, c.std_len = 3;
                    return c;
                }
            }
            break;
        case 'M':
            if (has(l, len, i, "Mon")) {
                if (has(l, len, i, "Monday")) {
                    c.std = STD_LONG_WEEKDAY, c.std_len = 6;
                    return c;
                }
                if (!starts_lower(l, len, i + 3)) {
                    c.std = STD_WEEKDAY, c.std_len = 3;
                    return c;
                }
            }
            if (has(l, len, i, "MST")) {
                c.std = STD_TZ, c.std_len = 3;
                return c;
            }
            break;
        case '0':
            if (i + 1 < len && l[i + 1] >= '1' && l[i + 1] <= '6') {
                c.std = std0x[l[i + 1] - '1'], c.std_len = 2;
                return c;
            }
            if (has(l, len, i, "002")) {
                c.std = STD_ZERO_YEARDAY, c.std_len = 3;
                return c;
            }
            break;
        case '1':
            if (i + 1 < len && l[i + 1] == '5') {
                c.std = STD_HOUR, c.std_len = 2;
                return c;
            }
            c.std = STD_NUM_MONTH, c.std_len = 1;
            return c;
        case '2':
            if (has(l, len, i, "2006")) {
                c.std = STD_LONG_YEAR, c.std_len = 4;
                return c;
            }
            c.std = STD_DAY, c.std_len = 1;
            return c;
        case '_':
            if (i + 1 < len && l[i + 1] == '2') {
                /* _2006 is a literal _ followed by the long year. */
                if (has(l, len, i + 1, "2006")) {
                    c.prefix_len = i + 1;
                    c.std = STD_LONG_YEAR, c.std_len = 4;
                    return c;
                }
                c.std = STD_UNDER_DAY, c.std_len = 2;
                return c;
            }
            if (has(l, len, i, "__2")) {
                c.std = STD_UNDER_YEARDAY, c.std_len = 3;
                return c;
            }
            break;
        case '3': c.std = STD_HOUR12, c.std_len = 1; return c;
        case '4': c.std = STD_MINUTE, c.std_len = 1; return c;
        case '5': c.std = STD_SECOND, c.std_len = 1; return c;
        case 'P':
            if (i + 1 < len && l[i + 1] == 'M') {
                c.std = STD_PM, c.std_len = 2;
                return c;
            }
            break;
        case 'p':
            if (i + 1 < len && l[i + 1] == 'm') {
                c.std = STD_pm, c.std_len = 2;
                return c;
            }
            break;
        case '-':
            if (has(l, len, i, "-070000"))
                c.std = STD_NUM_SECONDS_TZ, c.std_len = 7;
            else if (has(l, len, i, "-07:00:00"))
                c.std = STD_NUM_COLON_SECONDS_TZ, c.std_len = 9;
            else if (has(l, len, i, "-0700"))
                c.std = STD_NUM_TZ, c.std_len = 5;
            else if (has(l, len, i, "-07:00"))
                c.std = STD_NUM_COLON_TZ, c.std_len = 6;
            else if (has(l, len, i, "-07"))
                c.std = STD_NUM_SHORT_TZ, c.std_len = 3;
            if (c.std)
                return c;
            break;
        case 'Z':
            if (has(l, len, i, "Z070000"))
                c.std = STD_ISO8601_SECONDS_TZ, c.std_len = 7;
            else if (has(l, len, i, "Z07:00:00"))
                c.std = STD_ISO8601_COLON_SECONDS_TZ, c.std_len = 9;
            else if (has(l, len, i, "Z0700"))
                c.std = STD_ISO8601_TZ, c.std_len = 5;
            else if (has(l, len, i, "Z07:00"))
                c.std = STD_ISO8601_COLON_TZ, c.std_len = 6;
            else if (has(l, len, i, "Z07"))
                c.std = STD_ISO8601_SHORT_TZ, c.std_len = 3;
            if (c.std)
                return c;
            break;
        case '.':
        case ',':
            if (i + 1 < len && (l[i + 1] == '0' || l[i + 1] == '9')) {
                char ch = l[i + 1];
                size_t j = i + 1;
                while (j < len && l[j] == ch)
                    j++;
                if (!digit_at(l, len, j)) {
                    c.std = ch == '0' ? STD_FRAC_SECOND0 : STD_FRAC_SECOND9;
                    c.std_len = j - i;
                    c.frac_digits = (int)(j - (i + 1));
                    c.frac_sep = l[i];
                    return c;
                }
            }
            break;
        default: break;
        }
    }
    c.prefix_len = len;
    c.std = STD_NONE;
    return c;
}

static bool
std_is_iso_tz(int std)
{
    return std == STD_ISO8601_TZ || std == STD_ISO8601_SECONDS_TZ || std == STD_ISO8601_SHORT_TZ ||
           std == STD_ISO8601_COLON_TZ || std == STD_ISO8601_COLON_SECONDS_TZ;
}

static bool
std_is_num_tz(int std)
{
    return std == STD_NUM_TZ || std == STD_NUM_SECONDS_TZ || std == STD_NUM_SHORT_TZ ||
           std == STD_NUM_COLON_TZ || std == STD_NUM_COLON_SECONDS_TZ;
}

static int
append_int(struct str *b, int64_t x, int width)
{
    char tmp[32];
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, u);
    int err = x < 0 ? str_append_char(b, '-') : 0;
    for (int w = n; !err && w < width; w++)
        err = str_append_char(b, '0');
    return err ? err : str_append(b, tmp, (size_t)n);
}

static int
append_tz(struct str *b, int std, int32_t offset)
{
    if (offset == 0 && std_is_iso_tz(std))
        return str_append_char(b, 'Z');
    int zone = offset / 60;
    int absoffset = offset;
    int err;
    if (zone < 0) {
        err = str_append_char(b, '-');
        zone = -zone;
        absoffset = -absoffset;
    } else {
        err = str_append_char(b, '+');
    }
    if (!err)
        err = append_int(b, zone / 60, 2);
    if (!err && (std == STD_ISO8601_COLON_TZ || std == STD_NUM_COLON_TZ ||
                 std == STD_ISO8601_COLON_SECONDS_TZ || std == STD_NUM_COLON_SECONDS_TZ))
        err = str_append_char(b, ':');
    if (!err && std != STD_NUM_SHORT_TZ && std != STD_ISO8601_SHORT_TZ)
        err = append_int(b, zone % 60, 2);
    if (!err && (std == STD_ISO8601_SECONDS_TZ || std == STD_NUM_SECONDS_TZ ||
                 std == STD_NUM_COLON_SECONDS_TZ || std == STD_ISO8601_COLON_SECONDS_TZ)) {
        if (std == STD_NUM_COLON_SECONDS_TZ || std == STD_ISO8601_COLON_SECONDS_TZ)
            err = str_append_char(b, ':');
        if (!err)
            err = append_int(b, absoffset % 60, 2);
    }
    return err;
}

/*
 * Go's Time.Format. Our times carry an offset but no zone name: the name is
 * "UTC" at offset 0 and unknown otherwise, so "MST" prints "+0200" then, as
 * Go does for a fixed zone without a name.
 */
int
gotime_format_layout(struct gotime t, const char *l, size_t len, struct str *b)
{
    struct gotime_fields f;
    gotime_fields(t, &f);
    int err = 0;
    for (int guard = 0; !err && len > 0 && guard < 4096; guard++) {
        struct layout_chunk c = layout_next_chunk(l, len);
        if (c.prefix_len)
            err = str_append(b, l, c.prefix_len);
        if (err || c.std == STD_NONE)
            break;
        l += c.prefix_len + c.std_len;
        len -= c.prefix_len + c.std_len;
        int hr12 = f.hour % 12 == 0 ? 12 : f.hour % 12;
        switch (c.std) {
        case STD_YEAR: err = append_int(b, (f.year < 0 ? -f.year : f.year) % 100, 2); break;
        case STD_LONG_YEAR: err = append_int(b, f.year, 4); break;
        case STD_MONTH: err = str_append(b, gotime_month_names[f.month - 1], 3); break;
        case STD_LONG_MONTH: err = str_append_cstr(b, gotime_month_names[f.month - 1]); break;
        case STD_NUM_MONTH: err = append_int(b, f.month, 0); break;
        case STD_ZERO_MONTH: err = append_int(b, f.month, 2); break;
        case STD_WEEKDAY: err = str_append(b, gotime_weekday_names[f.weekday], 3); break;
        case STD_LONG_WEEKDAY: err = str_append_cstr(b, gotime_weekday_names[f.weekday]); break;
        case STD_DAY: err = append_int(b, f.day, 0); break;
        case STD_UNDER_DAY:
            if (f.day < 10)
                err = str_append_char(b, ' ');
            if (!err)
                err = append_int(b, f.day, 0);
            break;
        case STD_ZERO_DAY: err = append_int(b, f.day, 2); break;
        case STD_UNDER_YEARDAY:
            if (f.yearday < 100)
                err = str_append(b, "  ", f.yearday < 10 ? 2 : 1);
            if (!err)
                err = append_int(b, f.yearday, 0);
            break;
        case STD_ZERO_YEARDAY: err = append_int(b, f.yearday, 3); break;
        case STD_HOUR: err = append_int(b, f.hour, 2); break;
        case STD_HOUR12: err = append_int(b, hr12, 0); break;
        case STD_ZERO_HOUR12: err = append_int(b, hr12, 2); break;
        case STD_MINUTE: err = append_int(b, f.minute, 0); break;
        case STD_ZERO_MINUTE: err = append_int(b, f.minute, 2); break;
        case STD_SECOND: err = append_int(b, f.second, 0); break;
        case STD_ZERO_SECOND: err = append_int(b, f.second, 2); break;
        case STD_PM: err = str_append_cstr(b, f.hour >= 12 ? "PM" : "AM"); break;
        case STD_pm: err = str_append_cstr(b, f.hour >= 12 ? "pm" : "am"); break;
        case STD_TZ:
            if (t.offset_s == 0)
                err = str_append_cstr(b, "UTC");
            else
                err = append_tz(b, STD_NUM_TZ, t.offset_s);
            break;
        case STD_FRAC_SECOND0:
        case STD_FRAC_SECOND9: {
            char digits[10];
            snprintf(digits, sizeof(digits), "%09d", f.nanosecond);
            int n = MIN(c.frac_digits, 9);
            if (c.std == STD_FRAC_SECOND9) {
                while (n > 0 && digits[n - 1] == '0')
                    n--;
                if (n == 0)
                    break;
            }
            err = str_append_char(b, c.frac_sep);
            if (!err)
                err = str_append(b, digits, (size_t)n);
            break;
        }
        default:
            if (std_is_iso_tz(c.std) || std_is_num_tz(c.std))
                err = append_tz(b, c.std, t.offset_s);
            break;
        }
    }
    return err;
}

/* Go's time.quote, used in parse errors. */
int
gotime_quote(struct str *b, const char *s, size_t len)
{
    int err = str_append_char(b, '"');
    for (size_t i = 0; !err && i < len;) {
        size_t size;
        int32_t c = utf8_decode(s + i, len - i, &size);
        if (c >= 0x80 || c < ' ') {
            for (size_t j = 0; !err && j < size; j++)
                err = str_appendf(b, "\\x%02x", (unsigned char)s[i + j]);
        } else {
            if (c == '"' || c == '\\')
                err = str_append_char(b, '\\');
            if (!err)
                err = str_append_char(b, (char)c);
        }
        i += size;
    }
    return err ? err : str_append_char(b, '"');
}

struct parse_err {
    const char *elem;
    size_t elem_len;
    const char *value;
    size_t value_len;
    const char *message; /* NULL: "cannot parse X as Y" */
    char msgbuf[96];
};

static int
parse_error(struct str *b, const char *layout, size_t llen, const char *value, size_t vlen,
            const struct parse_err *e)
{
    if (!b)
        return -EINVAL; /* quiet mode: the caller tries several layouts */
    int err = str_append_cstr(b, "parsing time ");
    if (!err)
        err = gotime_quote(b, value, vlen);
    if (!err && e->message) {
        err = str_append_cstr(b, e->message);
    } else if (!err) {
        err = str_append_cstr(b, " as ");
        if (!err)
            err = gotime_quote(b, layout, llen);
        if (!err)
            err = str_append_cstr(b, ": cannot parse ");
        if (!err)
            err = gotime_quote(b, e->value, e->value_len);
        if (!err)
            err = str_append_cstr(b, " as ");
        if (!err)
            err = gotime_quote(b, e->elem, e->elem_len);
    }
    return err ? -ENOMEM : -EINVAL;
}

/* Value cursor for parsing. */
struct pcur {
    const char *p;
    size_t n;
};

static void
padv(struct pcur *c, size_t k)
{
    c->p += k;
    c->n -= k;
}

static bool
pdigit(const struct pcur *c, size_t i)
{
    return i < c->n && c->p[i] >= '0' && c->p[i] <= '9';
}

static int
getnum(struct pcur *c, bool fixed, int *out)
{
    if (!pdigit(c, 0))
        return -1;
    if (!pdigit(c, 1)) {
        if (fixed)
            return -1;
        *out = c->p[0] - '0';
        padv(c, 1);
        return 0;
    }
    *out = (c->p[0] - '0') * 10 + (c->p[1] - '0');
    padv(c, 2);
    return 0;
}

static int
getnum3(struct pcur *c, bool fixed, int *out)
{
    int n = 0;
    size_t i;
    for (i = 0; i < 3 && pdigit(c, i); i++)
        n = n * 10 + (c->p[i] - '0');
    if (i == 0 || (fixed && i != 3))
        return -1;
    *out = n;
    padv(c, i);
    return 0;
}

/* Go's atoi on exactly n bytes (optional sign, then digits only). */
static int
atoi_n(const char *s, size_t n, int *out)
{
    bool neg = false;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s++, n--;
    }
    if (n == 0 || n > 9)
        return n == 0 ? (*out = 0, 0) : -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *out = neg ? -x : x;
    return 0;
}

static bool
match_fold(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c1 = (unsigned char)a[i], c2 = (unsigned char)b[i];
        if (c1 != c2) {
            c1 |= 'a' - 'A';
            c2 |= 'a' - 'A';
            if (c1 != c2 || c1 < 'a' || c1 > 'z')
                return false;
        }
    }
    return true;
}

/* Go's lookup on a name table; short = compare only the first 3 letters. */
static int
lookup_name(struct pcur *c, const char *const *tab, int n, bool short_names)
{
    for (int i = 0; i < n; i++) {
        size_t len = short_names ? 3 : strlen(tab[i]);
        if (c->n >= len && match_fold(c->p, tab[i], len)) {
            padv(c, len);
            return i;
        }
    }
    return -1;
}

static bool
comma_or_period(char b)
{
    return b == '.' || b == ',';
}

static int
parse_nanoseconds(const char *v, size_t nbytes, int *ns)
{
    if (!comma_or_period(v[0]))
        return -1;
    if (nbytes > 10)
        nbytes = 10;
    int x;
    if (atoi_n(v + 1, nbytes - 1, &x) < 0)
        return -1;
    for (size_t i = 0; i < 10 - nbytes; i++)
        x *= 10;
    *ns = x;
    return 0;
}

static size_t
parse_signed_offset(const char *v, size_t n)
{
    if (n == 0 || (v[0] != '-' && v[0] != '+'))
        return 0;
    size_t i = 1;
    uint64_t x = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9' && x < 1000)
        x = x * 10 + (uint64_t)(v[i++] - '0');
    if (i == 1 || x > 23)
        return 0;
    return i;
}

static size_t
parse_timezone(const char *v, size_t n, bool *ok)
{
    *ok = false;
    if (n < 3)
        return 0;
    if (n >= 4 && (memcmp(v, "ChST", 4) == 0 || memcmp(v, "MeST", 4) == 0)) {
        *ok = true;
        return 4;
    }
    if (memcmp(v, "GMT", 3) == 0) {
        *ok = true;
        return 3 + parse_signed_offset(v + 3, n - 3);
    }
    if (v[0] == '+' || v[0] == '-') {
        size_t k = parse_signed_offset(v, n);
        *ok = k > 0;
        return k;
    }
    size_t up = 0;
    while (up < 6 && up < n && v[up] >= 'A' && v[up] <= 'Z')
        up++;
    switch (up) {
    case 5:
        if (v[4] == 'T') {
            *ok = true;
            return 5;
        }
        break;
    case 4:
        if (v[3] == 'T' || memcmp(v, "WITA", 4) == 0) {
            *ok = true;
            return 4;
        }
        break;
    case 3: *ok = true; return 3;
    default: break;
    }
    return 0;
}

static bool
is_leap(int y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
days_in(int month, int year)
{
    static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month == 2 && is_leap(year))
        return 29;
    return d[month - 1];
}

/*
 * Go's time.Parse up to building the instant (Local = UTC: phalanx runs its
 * engine in UTC). A zone abbreviation other than UTC/GMT±h gets offset 0, as
 * Go does for names it does not know.
 */
int
gotime_parse_layout_fields(const char *layout, size_t llen, const char *value, size_t vlen,
                           struct gotime_parsed *ret, struct str *err_msg)
{
    const char *l = layout;
    size_t ln = llen;
    struct pcur v = { value, vlen };
    struct parse_err e = { 0 };
    bool am = false, pm = false, utc = false, have_offset = false, have_name = false;
    int year = 0, month = -1, day = -1, yday = -1, hour = 0, min = 0, sec = 0, nsec = 0;
    int zone_offset = 0, name_offset = 0;
    const char *range = NULL;

    for (int guard = 0; guard < 4096; guard++) {
        struct layout_chunk c = layout_next_chunk(l, ln);
        const char *stdstr = l + c.prefix_len;
        /* skip(): the literal prefix, with runs of spaces matching runs of spaces. */
        const char *pre = l;
        size_t pn = c.prefix_len;
        while (pn > 0) {
            if (pre[0] == ' ') {
                if (v.n > 0 && v.p[0] != ' ')
                    goto bad_prefix;
                while (pn > 0 && pre[0] == ' ')
                    pre++, pn--;
                while (v.n > 0 && v.p[0] == ' ')
                    padv(&v, 1);
                continue;
            }
            if (v.n == 0 || v.p[0] != pre[0])
                goto bad_prefix;
            pre++, pn--;
            padv(&v, 1);
        }
        if (c.std == STD_NONE) {
            if (v.n != 0) {
                struct str m = STR_INIT;
                int err = str_append_cstr(&m, ": extra text: ");
                if (!err)
                    err = gotime_quote(&m, v.p, v.n);
                if (err) {
                    str_free(&m);
                    return -ENOMEM;
                }
                snprintf(e.msgbuf, sizeof(e.msgbuf), "%s", m.buf);
                str_free(&m);
                e.message = e.msgbuf;
                return parse_error(err_msg, layout, llen, value, vlen, &e);
            }
            break;
        }
        l = stdstr + c.std_len;
        ln = (size_t)(layout + llen - l);
        int err = 0;
        struct pcur hold = v;
        switch (c.std) {
        case STD_YEAR:
            if (v.n < 2 || atoi_n(v.p, 2, &year) < 0) {
                err = -1;
                break;
            }
            padv(&v, 2);
            year += year >= 69 ? 1900 : 2000;
            break;
        case STD_LONG_YEAR:
            if (v.n < 4 || !pdigit(&v, 0)) {
                err = -1;
                break;
            }
            /* Go cuts the four bytes before converting them, so an error shows the rest. */
            err = atoi_n(v.p, 4, &year);
            padv(&v, 4);
            break;
        case STD_MONTH:
            month = lookup_name(&v, gotime_month_names, 12, true);
            err = month < 0 ? -1 : 0;
            month++;
            break;
        case STD_LONG_MONTH:
            month = lookup_name(&v, gotime_month_names, 12, false);
            err = month < 0 ? -1 : 0;
            month++;
            break;
        case STD_NUM_MONTH:
        case STD_ZERO_MONTH:
            err = getnum(&v, c.std == STD_ZERO_MONTH, &month);
            if (!err && (month <= 0 || month > 12))
                range = "month";
            break;
        case STD_WEEKDAY: err = lookup_name(&v, gotime_weekday_names, 7, true) < 0 ? -1 : 0; break;
        case STD_LONG_WEEKDAY:
            err = lookup_name(&v, gotime_weekday_names, 7, false) < 0 ? -1 : 0;
            break;
        case STD_DAY:
        case STD_UNDER_DAY:
        case STD_ZERO_DAY:
            if (c.std == STD_UNDER_DAY && v.n > 0 && v.p[0] == ' ')
                padv(&v, 1);
            err = getnum(&v, c.std == STD_ZERO_DAY, &day);
            break;
        case STD_UNDER_YEARDAY:
        case STD_ZERO_YEARDAY:
            for (int i = 0; i < 2; i++)
                if (c.std == STD_UNDER_YEARDAY && v.n > 0 && v.p[0] == ' ')
                    padv(&v, 1);
            err = getnum3(&v, c.std == STD_ZERO_YEARDAY, &yday);
            break;
        case STD_HOUR:
            err = getnum(&v, false, &hour);
            if (hour < 0 || hour >= 24)
                range = "hour";
            break;
        case STD_HOUR12:
        case STD_ZERO_HOUR12:
            err = getnum(&v, c.std == STD_ZERO_HOUR12, &hour);
            if (hour < 0 || hour > 12)
                range = "hour";
            break;
        case STD_MINUTE:
        case STD_ZERO_MINUTE:
            err = getnum(&v, c.std == STD_ZERO_MINUTE, &min);
            if (min < 0 || min >= 60)
                range = "minute";
            break;
        case STD_SECOND:
        case STD_ZERO_SECOND:
            err = getnum(&v, c.std == STD_ZERO_SECOND, &sec);
            if (err)
                break;
            if (sec < 0 || sec >= 60) {
                range = "second";
                break;
            }
            /* A fractional second in the value that the layout does not mention. */
            if (v.n >= 2 && comma_or_period(v.p[0]) && pdigit(&v, 1)) {
                struct layout_chunk nx = layout_next_chunk(l, ln);
                if (nx.std == STD_FRAC_SECOND0 || nx.std == STD_FRAC_SECOND9)
                    break;
                size_t n = 2;
                while (n < v.n && pdigit(&v, n))
                    n++;
                err = parse_nanoseconds(v.p, n, &nsec);
                padv(&v, n);
            }
            break;
        case STD_PM:
        case STD_pm:
            if (v.n < 2) {
                err = -1;
                break;
            }
            if (memcmp(v.p, c.std == STD_PM ? "PM" : "pm", 2) == 0)
                pm = true;
            else if (memcmp(v.p, c.std == STD_PM ? "AM" : "am", 2) == 0)
                am = true;
            else
                err = -1;
            padv(&v, 2);
            break;
        case STD_TZ:
            if (v.n >= 3 && memcmp(v.p, "UTC", 3) == 0) {
                utc = true;
                padv(&v, 3);
                break;
            } else {
                bool ok;
                size_t n = parse_timezone(v.p, v.n, &ok);
                if (!ok) {
                    err = -1;
                    break;
                }
                have_name = true;
                name_offset = 0;
                if (n > 3 && memcmp(v.p, "GMT", 3) == 0) {
                    int h = 0;
                    atoi_n(v.p + 3, n - 3, &h);
                    name_offset = h * 3600;
                }
                padv(&v, n);
            }
            break;
        case STD_FRAC_SECOND0: {
            size_t nd = 1 + (size_t)c.frac_digits;
            if (v.n < nd) {
                err = -1;
                break;
            }
            err = parse_nanoseconds(v.p, nd, &nsec);
            padv(&v, nd);
            break;
        }
        case STD_FRAC_SECOND9: {
            if (v.n < 2 || !comma_or_period(v.p[0]) || !pdigit(&v, 1))
                break;
            size_t i = 0;
            while (i < 9 && i + 1 < v.n && pdigit(&v, i + 1))
                i++;
            err = parse_nanoseconds(v.p, 1 + i, &nsec);
            padv(&v, 1 + i);
            break;
        }
        default: {
            /* Numeric and ISO 8601 zone offsets. */
            int s = c.std;
            if ((s == STD_ISO8601_TZ || s == STD_ISO8601_SHORT_TZ || s == STD_ISO8601_COLON_TZ) &&
                v.n >= 1 && v.p[0] == 'Z') {
                padv(&v, 1);
                utc = true;
                break;
            }
            const char *hh, *mm = "00", *ss = "00";
            char sign;
            if (s == STD_ISO8601_COLON_TZ || s == STD_NUM_COLON_TZ) {
                if (v.n < 6 || v.p[3] != ':') {
                    err = -1;
                    break;
                }
                sign = v.p[0], hh = v.p + 1, mm = v.p + 4;
                padv(&v, 6);
            } else if (s == STD_NUM_SHORT_TZ || s == STD_ISO8601_SHORT_TZ) {
                if (v.n < 3) {
                    err = -1;
                    break;
                }
                sign = v.p[0], hh = v.p + 1;
                padv(&v, 3);
            } else if (s == STD_ISO8601_COLON_SECONDS_TZ || s == STD_NUM_COLON_SECONDS_TZ) {
                if (v.n < 9 || v.p[3] != ':' || v.p[6] != ':') {
                    err = -1;
                    break;
                }
                sign = v.p[0], hh = v.p + 1, mm = v.p + 4, ss = v.p + 7;
                padv(&v, 9);
            } else if (s == STD_ISO8601_SECONDS_TZ || s == STD_NUM_SECONDS_TZ) {
                if (v.n < 7) {
                    err = -1;
                    break;
                }
                sign = v.p[0], hh = v.p + 1, mm = v.p + 3, ss = v.p + 5;
                padv(&v, 7);
            } else {
                if (v.n < 5) {
                    err = -1;
                    break;
                }
                sign = v.p[0], hh = v.p + 1, mm = v.p + 3;
                padv(&v, 5);
            }
            int h, m, sc;
            if (atoi_n(hh, 2, &h) < 0 || atoi_n(mm, 2, &m) < 0 || atoi_n(ss, 2, &sc) < 0 ||
                (sign != '+' && sign != '-')) {
                err = -1;
                break;
            }
            zone_offset = (h * 60 + m) * 60 + sc;
            if (sign == '-')
                zone_offset = -zone_offset;
            have_offset = true;
            break;
        }
        }
        if (range) {
            snprintf(e.msgbuf, sizeof(e.msgbuf), ": %s out of range", range);
            e.message = e.msgbuf;
            return parse_error(err_msg, layout, llen, value, vlen, &e);
        }
        if (err) {
            if (c.std == STD_YEAR)
                v = hold;
            e.elem = stdstr, e.elem_len = c.std_len;
            e.value = v.p, e.value_len = v.n;
            return parse_error(err_msg, layout, llen, value, vlen, &e);
        }
        continue;
    bad_prefix:
        e.elem = l, e.elem_len = c.prefix_len;
        e.value = v.p, e.value_len = v.n;
        return parse_error(err_msg, layout, llen, value, vlen, &e);
    }
    if (pm && hour < 12)
        hour += 12;
    else if (am && hour == 12)
        hour = 0;

    if (yday >= 0) {
        static const int before[13] = {
            0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365
        };
        int d = 0, m = 0;
        if (is_leap(year)) {
            if (yday == 31 + 29) {
                m = 2;
                d = 29;
            } else if (yday > 31 + 29) {
                yday--;
            }
        }
        if (yday < 1 || yday > 365) {
            e.message = ": day-of-year out of range";
            return parse_error(err_msg, layout, llen, value, vlen, &e);
        }
        if (m == 0) {
            m = (yday - 1) / 31 + 1;
            if (before[m] < yday)
                m++;
            d = yday - before[m - 1];
        }
        if (month >= 0 && month != m) {
            e.message = ": day-of-year does not match month";
            return parse_error(err_msg, layout, llen, value, vlen, &e);
        }
        month = m;
        if (day >= 0 && day != d) {
            e.message = ": day-of-year does not match day";
            return parse_error(err_msg, layout, llen, value, vlen, &e);
        }
        day = d;
    } else {
        if (month < 0)
            month = 1;
        if (day < 0)
            day = 1;
    }
    if (day < 1 || day > days_in(month, year)) {
        e.message = ": day out of range";
        return parse_error(err_msg, layout, llen, value, vlen, &e);
    }
    ret->year = year, ret->month = month, ret->day = day;
    ret->hour = hour, ret->minute = min, ret->second = sec, ret->nanosecond = nsec;
    ret->zone = GOTIME_ZONE_NONE;
    ret->offset_s = 0;
    if (utc) {
        ret->zone = GOTIME_ZONE_UTC;
    } else if (have_offset) {
        ret->zone = GOTIME_ZONE_OFFSET;
        ret->offset_s = zone_offset;
    } else if (have_name) {
        ret->zone = GOTIME_ZONE_NAME;
        ret->offset_s = name_offset;
    }
    return 0;
}

int
gotime_from_parsed(const struct gotime_parsed *p, const struct gotime_loc *loc, struct gotime *ret)
{
    if (p->year < GOTIME_MIN_YEAR || p->year > GOTIME_MAX_YEAR)
        return -ERANGE;
    if (loc && loc->offset && p->zone == GOTIME_ZONE_NONE) {
        /*
         * ParseInLocation: the wall clock is in loc. Its offset is looked up at
         * the wall clock read as UTC, then again at the instant that gives
         * (Go's Date() does the same around zone transitions).
         */
        struct gotime w = gotime_from_fields(p->year, p->month, p->day, p->hour, p->minute,
                                             p->second, p->nanosecond, 0);
        int64_t ws = w.unix_ns / 1000000000 - (w.unix_ns % 1000000000 < 0 ? 1 : 0);
        int32_t o = loc->offset(loc->zone, ws);
        if (o != 0)
            o = loc->offset(loc->zone, ws - o);
        /* In a spring-forward gap the instant then shows at the zone's later offset. */
        struct gotime t = gotime_from_fields(p->year, p->month, p->day, p->hour, p->minute,
                                             p->second, p->nanosecond, o);
        t.offset_s = loc->offset(loc->zone, ws - o);
        *ret = t;
        return 0;
    }
    /* An unknown abbreviation keeps the wall clock as UTC and records the offset. */
    struct gotime t =
        gotime_from_fields(p->year, p->month, p->day, p->hour, p->minute, p->second, p->nanosecond,
                           p->zone == GOTIME_ZONE_OFFSET ? p->offset_s : 0);
    t.offset_s = p->offset_s;
    *ret = t;
    return 0;
}

int
gotime_parse_layout(const char *layout, size_t llen, const char *value, size_t vlen,
                    const struct gotime_loc *loc, struct gotime *ret, struct str *err_msg)
{
    struct gotime_parsed p;
    int rc = gotime_parse_layout_fields(layout, llen, value, vlen, &p, err_msg);
    if (rc < 0)
        return rc;
    if (gotime_from_parsed(&p, loc, ret) < 0) {
        if (err_msg &&
            str_appendf(err_msg,
                        "parsing time \"%.*s\": year %d is outside the supported range %d-%d",
                        (int)MIN(vlen, 64), value, p.year, GOTIME_MIN_YEAR, GOTIME_MAX_YEAR) < 0)
            return -ENOMEM;
        return -EINVAL;
    }
    return 0;
}
