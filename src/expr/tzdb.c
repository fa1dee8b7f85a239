/*
 * tzdb.c - Go's time.LoadLocation for the timezone() builtin and Time.In().
 *
 * A location is read from the system's TZif files (/usr/share/zoneinfo, or
 * $ZONEINFO first, as Go does) into the evaluation's arena: the transition
 * table plus the POSIX TZ rule of the footer that Go applies after the last
 * transition. Nothing is cached and no process state (TZ, tzset) is touched,
 * so evaluations on several threads never see each other's zones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "internal.h"

/* Real TZif files are a few KiB; anything far larger is not one. */
#define TZ_FILE_MAX ((size_t)256 * 1024)
#define TZ_NAME_MAX 200
#define TZ_SECS_DAY 86400

struct tz_type {
    int32_t offset;
    bool dst;
};

/* One end of a POSIX TZ daylight rule: Jn, n or Mm.w.d, then a time of day. */
struct tz_rule_date {
    char kind; /* 'J', 'D' or 'M' */
    int day, week, month;
    int32_t time;
};

struct expr_tz {
    const char *name;
    size_t namelen;
    size_t ntx;
    const int64_t *tx;
    const uint8_t *txtype;
    size_t ntypes;
    const struct tz_type *types;
    size_t first; /* the type before the first transition */
    bool has_rule, rule_dst;
    int32_t std_off, dst_off;
    struct tz_rule_date start, end;
};

static const struct tz_type tz_utc_type = { 0, false };

static int64_t
be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

static int32_t
be32(const unsigned char *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                     (uint32_t)p[3]);
}

/* --- POSIX TZ strings ("CET-1CEST,M3.5.0,M10.5.0/3") --- */

static bool
rule_name(const char **s, const char *end)
{
    const char *p = *s;
    if (p < end && *p == '<') {
        while (p < end && *p != '>')
            p++;
        if (p >= end)
            return false;
        *s = p + 1;
        return true;
    }
    while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
        p++;
    if (p - *s < 3)
        return false;
    *s = p;
    return true;
}

static bool
rule_num(const char **s, const char *end, int lo, int hi, int *ret)
{
    const char *p = *s;
    int v = 0;
    if (p >= end || *p < '0' || *p > '9')
        return false;
    while (p < end && *p >= '0' && *p <= '9' && v <= hi)
        v = v * 10 + (*p++ - '0');
    if (v < lo || v > hi)
        return false;
    *s = p;
    *ret = v;
    return true;
}

/* [+-]hh[:mm[:ss]] as seconds; POSIX offsets are west-positive, the caller negates them. */
static bool
rule_time(const char **s, const char *end, int32_t *ret)
{
    int sign = 1, h = 0, m = 0, sec = 0;
    if (*s < end && (**s == '+' || **s == '-'))
        sign = *(*s)++ == '-' ? -1 : 1;
    if (!rule_num(s, end, 0, 167, &h))
        return false;
    if (*s < end && **s == ':') {
        (*s)++;
        if (!rule_num(s, end, 0, 59, &m))
            return false;
        if (*s < end && **s == ':') {
            (*s)++;
            if (!rule_num(s, end, 0, 59, &sec))
                return false;
        }
    }
    *ret = sign * (h * 3600 + m * 60 + sec);
    return true;
}

static bool
rule_date(const char **s, const char *end, struct tz_rule_date *ret)
{
    ret->time = 2 * 3600;
    if (*s < end && **s == 'J') {
        (*s)++;
        ret->kind = 'J';
        if (!rule_num(s, end, 1, 365, &ret->day))
            return false;
    } else if (*s < end && **s == 'M') {
        (*s)++;
        ret->kind = 'M';
        if (!rule_num(s, end, 1, 12, &ret->month) || *s >= end || *(*s)++ != '.' ||
            !rule_num(s, end, 1, 5, &ret->week) || *s >= end || *(*s)++ != '.' ||
            !rule_num(s, end, 0, 6, &ret->day))
            return false;
    } else {
        ret->kind = 'D';
        if (!rule_num(s, end, 0, 365, &ret->day))
            return false;
    }
    if (*s < end && **s == '/') {
        (*s)++;
        if (!rule_time(s, end, &ret->time))
            return false;
    }
    return true;
}

/* Parses the footer rule; a zone without one (or with one we cannot read) keeps its last type. */
static void
parse_rule(struct expr_tz *tz, const char *s, size_t len)
{
    const char *end = s + len;
    int32_t off;
    if (!rule_name(&s, end) || !rule_time(&s, end, &off))
        return;
    tz->std_off = -off;
    if (s == end) {
        tz->has_rule = true;
        tz->rule_dst = false;
        return;
    }
    if (!rule_name(&s, end))
        return;
    tz->dst_off = tz->std_off + 3600;
    if (s < end && *s != ',') {
        if (!rule_time(&s, end, &off))
            return;
        tz->dst_off = -off;
    }
    if (s >= end || *s++ != ',' || !rule_date(&s, end, &tz->start) || s >= end || *s++ != ',' ||
        !rule_date(&s, end, &tz->end) || s != end)
        return;
    tz->has_rule = true;
    tz->rule_dst = true;
}

static bool
is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* Days from 1970-01-01 to January 1st of year y. */
static int64_t
days_to_year(int64_t y)
{
    /* Proleptic Gregorian days from 0001-01-01, minus those up to 1970-01-01; y stays > 0. */
    int64_t y0 = y - 1;
    return y0 * 365 + y0 / 4 - y0 / 100 + y0 / 400 - 719162;
}

/* Seconds from the start of year y (local time) to the moment rule d fires (Go's tzruleTime). */
static int64_t
rule_seconds(int64_t y, const struct tz_rule_date *d, int32_t off)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int64_t s;
    if (d->kind == 'J') {
        s = (int64_t)(d->day - 1) * TZ_SECS_DAY;
        if (is_leap(y) && d->day >= 60)
            s += TZ_SECS_DAY;
    } else if (d->kind == 'D') {
        s = (int64_t)d->day * TZ_SECS_DAY;
    } else {
        int64_t yday = 0;
        for (int m = 1; m < d->month; m++)
            yday += mdays[m - 1] + (m == 2 && is_leap(y) ? 1 : 0);
        /* Weekday of the first of the month; 1970-01-01 was a Thursday (4). */
        int64_t days = days_to_year(y) + yday;
        int wd1 = (int)(((days % 7) + 7 + 4) % 7);
        int day = d->day - wd1;
        if (day < 0)
            day += 7;
        int mlen = mdays[d->month - 1] + (d->month == 2 && is_leap(y) ? 1 : 0);
        for (int i = 1; i < d->week; i++) {
            if (day + 7 >= mlen)
                break;
            day += 7;
        }
        s = (yday + day) * TZ_SECS_DAY;
    }
    return s + d->time - off;
}

static int64_t
year_of(int64_t unix_s)
{
    int64_t days = unix_s / TZ_SECS_DAY - (unix_s % TZ_SECS_DAY < 0 ? 1 : 0);
    int64_t y = 1970 + days / 366;
    /* The estimate is at most a few years early; each round moves one year. */
    for (int i = 0; i < 8 && days_to_year(y + 1) <= days; i++)
        y++;
    while (days_to_year(y) > days)
        y--;
    return y;
}

static int32_t
rule_offset(const struct expr_tz *tz, int64_t unix_s)
{
    if (!tz->rule_dst)
        return tz->std_off;
    int64_t y = year_of(unix_s);
    int64_t ys = days_to_year(y) * TZ_SECS_DAY;
    int64_t start = ys + rule_seconds(y, &tz->start, tz->std_off);
    int64_t end = ys + rule_seconds(y, &tz->end, tz->dst_off);
    bool dst = start < end ? (unix_s >= start && unix_s < end) : !(unix_s >= end && unix_s < start);
    return dst ? tz->dst_off : tz->std_off;
}

int32_t
expr_tz_offset(const struct expr_tz *tz, int64_t unix_s)
{
    if (tz->ntypes == 0)
        return 0;
    if (tz->ntx == 0 || unix_s < tz->tx[0]) {
        if (tz->ntx == 0 && tz->has_rule)
            return rule_offset(tz, unix_s);
        return tz->types[tz->first].offset;
    }
    size_t lo = 0, hi = tz->ntx;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->tx[mid] <= unix_s)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == tz->ntx - 1 && tz->has_rule)
        return rule_offset(tz, unix_s);
    return tz->types[tz->txtype[lo]].offset;
}

const char *
expr_tz_name(const struct expr_tz *tz, size_t *ret_len)
{
    *ret_len = tz->namelen;
    return tz->name;
}

/* Decodes a TZif file (v2+ uses the 64-bit second part); 0 or -1. */
static int
tz_decode(struct expr_vm *vm, const unsigned char *d, size_t n, struct expr_tz *tz)
{
    if (n < 44 || memcmp(d, "TZif", 4) != 0)
        return -1;
    bool v2 = d[4] >= '2';
    size_t p = 0;
    for (int part = 0; part < (v2 ? 2 : 1); part++) {
        if (n - p < 44 || memcmp(d + p, "TZif", 4) != 0)
            return -1;
        size_t isut = (uint32_t)be32(d + p + 20), isstd = (uint32_t)be32(d + p + 24);
        size_t leap = (uint32_t)be32(d + p + 28), timecnt = (uint32_t)be32(d + p + 32);
        size_t typecnt = (uint32_t)be32(d + p + 36), charcnt = (uint32_t)be32(d + p + 40);
        size_t tsz = part == 0 ? 4 : 8;
        p += 44;
        if (timecnt > TZ_FILE_MAX || typecnt > 256 || typecnt == 0 || leap > TZ_FILE_MAX ||
            charcnt > TZ_FILE_MAX || isut > 256 || isstd > 256)
            return -1;
        size_t size =
            timecnt * tsz + timecnt + typecnt * 6 + charcnt + leap * (tsz + 4) + isstd + isut;
        if (n - p < size)
            return -1;
        if (part == 0 && v2) {
            p += size;
            continue;
        }
        int64_t *tx = expr_vm_alloc(vm, (timecnt + 1) * sizeof(*tx));
        uint8_t *txtype = expr_vm_alloc(vm, timecnt + 1);
        struct tz_type *types = expr_vm_alloc(vm, typecnt * sizeof(*types));
        if (!tx || !txtype || !types)
            return -1;
        for (size_t i = 0; i < timecnt; i++)
            tx[i] = tsz == 8 ? be64(d + p + i * 8) : be32(d + p + i * 4);
        p += timecnt * tsz;
        for (size_t i = 0; i < timecnt; i++) {
            txtype[i] = d[p + i];
            if (txtype[i] >= typecnt)
                return -1;
        }
        p += timecnt;
        for (size_t i = 0; i < typecnt; i++) {
            types[i].offset = be32(d + p + i * 6);
            types[i].dst = d[p + i * 6 + 4] != 0;
        }
        p += typecnt * 6 + charcnt + leap * (tsz + 4) + isstd + isut;
        tz->tx = tx;
        tz->txtype = txtype;
        tz->ntx = timecnt;
        tz->types = types;
        tz->ntypes = typecnt;
        /* Go's lookupFirstZone: a standard-time type before the first transition's. */
        tz->first = 0;
        if (timecnt > 0 && types[txtype[0]].dst) {
            for (size_t i = txtype[0]; i-- > 0;) {
                if (!types[i].dst) {
                    tz->first = i;
                    break;
                }
            }
        }
    }
    if (v2 && p < n && d[p] == '\n') {
        const char *f = (const char *)d + p + 1;
        const char *nl = memchr(f, '\n', n - p - 1);
        if (nl && nl > f)
            parse_rule(tz, f, (size_t)(nl - f));
    }
    return 0;
}

static unsigned char *
read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(TZ_FILE_MAX);
    size_t n = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
    bool bad = ferror(f) || n == 0 || n == TZ_FILE_MAX;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *ret_len = n;
    return buf;
}

static int
tz_load_file(struct expr_vm *vm, const char *path, struct expr_tz *tz)
{
    size_t len = 0;
    unsigned char *d = read_file(path, &len);
    if (!d)
        return -1;
    int rc = tz_decode(vm, d, len, tz);
    free(d);
    return rc;
}

/*
 * Go's time.LoadLocation(name): "" and "UTC" are UTC, "Local" too (phalanx
 * runs in UTC), anything else a tz database name.
 * Returns 0 with *ret in the vm arena, or -1 with Go's message on vm.
 */
int
expr_tz_load(struct expr_vm *vm, const char *name, size_t len, const struct expr_tz **ret)
{
    struct expr_tz *tz = expr_vm_alloc(vm, sizeof(*tz));
    if (!tz)
        return expr_vm_error(vm, "memory budget exceeded");
    memset(tz, 0, sizeof(*tz));
    tz->types = &tz_utc_type;
    tz->ntypes = 1;
    if (len == 0 || (len == 3 && memcmp(name, "UTC", 3) == 0)) {
        tz->name = "UTC";
        tz->namelen = 3;
        *ret = tz;
        return 0;
    }
    /* Phalanx's local zone is UTC, as Time.Local() says (builtins.c). */
    if (len == 5 && memcmp(name, "Local", 5) == 0) {
        tz->name = "Local";
        tz->namelen = 5;
        *ret = tz;
        return 0;
    }
    bool dotdot = false;
    for (size_t i = 0; i + 1 < len; i++)
        dotdot |= name[i] == '.' && name[i + 1] == '.';
    if (dotdot || name[0] == '/' || name[0] == '\\')
        return expr_vm_error(vm, "time: invalid location name");
    if (len > TZ_NAME_MAX || memchr(name, '\0', len))
        return expr_vm_error(vm, "unknown time zone %.*s", (int)MIN(len, TZ_NAME_MAX), name);
    char *copy = expr_vm_alloc(vm, len + 1);
    if (!copy)
        return expr_vm_error(vm, "memory budget exceeded");
    memcpy(copy, name, len);
    copy[len] = '\0';
    tz->name = copy;
    tz->namelen = len;
    const char *dirs[] = { getenv("ZONEINFO"), "/usr/share/zoneinfo", "/usr/share/lib/zoneinfo",
                           "/usr/lib/locale/TZ", "/etc/zoneinfo" };
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        char path[512];
        if (!dirs[i] || !*dirs[i])
            continue;
        int w = snprintf(path, sizeof(path), "%s/%s", dirs[i], copy);
        if (w < 0 || (size_t)w >= sizeof(path))
            continue;
        if (tz_load_file(vm, path, tz) == 0) {
            *ret = tz;
            return 0;
        }
        tz->types = &tz_utc_type;
        tz->ntypes = 1;
        tz->ntx = 0;
        tz->has_rule = false;
    }
    return expr_vm_error(vm, "unknown time zone %s", copy);
}

static int
location_string(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    const struct expr_tz *tz = obj;
    *ret = expr_strv(tz->name, tz->namelen);
    return 0;
}

static const struct expr_method location_methods[] = {
    { "String", 0, 0, EXPR_T(EXPR_STRING), location_string },
};

const struct expr_class expr_location_class = {
    .name = "*time.Location",
    .methods = location_methods,
    .nmethods = ARRAY_SIZE(location_methods),
};
