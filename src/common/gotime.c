/*
 * gotime.c - Go's duration and timestamp text formats, reproduced exactly.
 *
 * The duration parser and printer are transcriptions of Go's
 * time.ParseDuration and Duration.String (including the float64 step Go uses
 * for fractional units, so "1.0000001h" rounds the same way). Calendar
 * arithmetic uses Howard Hinnant's days-from-civil algorithms on the
 * proleptic Gregorian calendar, as Go does, with floor division so that
 * instants before 1970 split correctly into days and seconds.
 */
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
