/*
 * builtins.c - the expr-lang 1.17 builtin functions (len, upper, split, max,
 * toJSON, date, sort, bit*, ...) and the methods of Go's time.Time,
 * time.Duration, time.Weekday and time.Month values.
 *
 * Each builtin follows expr-lang's builtin/builtin.go and builtin/lib.go,
 * including the error texts, because CrowdSec users see them in logs and
 * hub tests. Arguments come untyped from the vm, so every function checks the
 * kinds itself and fails the way Go's type assertion would ("interface
 * conversion: interface {} is int, not string"). The predicate forms (all,
 * filter, sum with a predicate, sortBy...) are compiled inline by compile.c;
 * sum(array) without a predicate is registered here as well.
 *
 * Times are handled through Go's layout language (time.Format / time.Parse),
 * ported from Go's time/format.go into common/gotime.c (shared with the
 * parser's ParseDate enricher).
 */
#include <ctype.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <wctype.h>

#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

#define BUILTIN_MAX_DEPTH 1000    /* nesting bound for flatten/max/min/mean/median */
#define REPEAT_MAX        1000000 /* expr-lang's memory budget for repeat() */
#define NS_PER_S          INT64_C(1000000000)
#define ZERO_TO_UNIX_S    INT64_C(62135596800) /* seconds from Go's zero time (year 1) to 1970 */

/* --- small helpers --- */

static const char *
go_type(const struct expr_value *v)
{
    return expr_value_type_name(v);
}

/* The panic text of a failed Go type assertion x.(T). */
static int
type_error(struct expr_vm *vm, const struct expr_value *v, const char *want)
{
    return expr_vm_error(vm, "interface conversion: interface {} is %s, not %s",
                         v->kind == EXPR_NIL ? "nil" : go_type(v), want);
}

static int
arg_str(struct expr_vm *vm, const struct expr_value *v, struct strv *out)
{
    *out = (struct strv){ "", 0 };
    if (v->kind != EXPR_STRING)
        return type_error(vm, v, "string");
    out->ptr = v->u.s.ptr;
    out->len = v->u.s.len;
    return 0;
}

/* Go's float64 -> int conversion as amd64 does it: out of range and NaN give INT64_MIN. */
static int64_t
float_to_int(double f)
{
    if (isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)f;
}

/* runtime.ToInt: ints and floats (truncated); anything else panics. */
static int
to_int(struct expr_vm *vm, const struct expr_value *v, int64_t *out)
{
    *out = 0;
    if (v->kind == EXPR_INT) {
        *out = v->u.i;
        return 0;
    }
    if (v->kind == EXPR_FLOAT) {
        *out = float_to_int(v->u.f);
        return 0;
    }
    return expr_vm_error(vm, "invalid operation: int(%s)", go_type(v));
}

static int
oom(struct expr_vm *vm)
{
    return expr_vm_error(vm, "out of memory");
}

/* Hands a malloc'ed buffer over as an arena string; frees it either way. */
static int
ret_str(struct expr_vm *vm, struct str *s, int err, struct expr_value *ret)
{
    if (err) {
        str_free(s);
        return err == -1 ? -1 : oom(vm);
    }
    struct expr_value v = expr_vm_str(vm, s->buf ? s->buf : "", s->len);
    str_free(s);
    if (v.kind != EXPR_STRING)
        return oom(vm);
    *ret = v;
    return 0;
}

static int
ret_array(struct expr_vm *vm, struct expr_array *a, struct expr_value *ret)
{
    if (!a)
        return oom(vm);
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
    return 0;
}

static int
push(struct expr_vm *vm, struct expr_array *a, struct expr_value v)
{
    return expr_array_push(vm, a, v) < 0 ? oom(vm) : 0;
}

/*
 * Host slices and maps become plain arrays and maps, so that every builtin
 * below only deals with EXPR_ARRAY and EXPR_MAP.
 */
static int
plain(struct expr_vm *vm, const struct expr_value *v, struct expr_value *out)
{
    if (v->kind == EXPR_OBJECT && v->u.o.cls && v->u.o.cls->len && v->u.o.cls->at)
        return expr_value_materialize(vm, v, out);
    *out = *v;
    return 0;
}

/* reflect.Kind names, as expr-lang prints them in "cannot take from %s". */
static const char *
reflect_kind(const struct expr_value *v)
{
    switch (v->kind) {
    case EXPR_NIL: return "invalid";
    case EXPR_BOOL: return "bool";
    case EXPR_INT: return "int";
    case EXPR_FLOAT: return "float64";
    case EXPR_STRING: return "string";
    case EXPR_ARRAY: return "slice";
    case EXPR_MAP: return "map";
    case EXPR_TIME: return "struct";
    case EXPR_DURATION: return "int64";
    case EXPR_FUNC: return "func";
    case EXPR_OBJECT:
        if (v->u.o.cls == &expr_weekday_class || v->u.o.cls == &expr_month_class)
            return "int";
        if (v->u.o.cls && v->u.o.cls->is_map)
            return "map";
        if (v->u.o.cls && v->u.o.cls->len && v->u.o.cls->at)
            return "slice";
        return "ptr";
    default: return "invalid";
    }
}

static bool
is_number(const struct expr_value *v)
{
    return v->kind == EXPR_INT || v->kind == EXPR_FLOAT;
}

static double
num(const struct expr_value *v)
{
    return v->kind == EXPR_INT ? (double)v->u.i : v->u.f;
}

/* runtime.Less: numbers (mixed int/float), strings, times, durations; else a panic text. */
static int
less(struct expr_vm *vm, const struct expr_value *a, const struct expr_value *b, bool *out)
{
    if (a->kind == EXPR_INT && b->kind == EXPR_INT)
        *out = a->u.i < b->u.i;
    else if (is_number(a) && is_number(b))
        *out = num(a) < num(b);
    else if (a->kind == EXPR_STRING && b->kind == EXPR_STRING)
        *out = strv_cmp((struct strv){ a->u.s.ptr, a->u.s.len },
                        (struct strv){ b->u.s.ptr, b->u.s.len }) < 0;
    else if (a->kind == EXPR_TIME && b->kind == EXPR_TIME)
        *out = a->u.t.unix_ns < b->u.t.unix_ns;
    else if (a->kind == EXPR_DURATION && b->kind == EXPR_DURATION)
        *out = a->u.d < b->u.d;
    else
        return expr_vm_error(vm, "invalid operation: %s < %s", go_type(a), go_type(b));
    return 0;
}

/* --- Weekday and Month values --- */

static const char *const weekday_names[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday" };
static const char *const month_names[12] = { "January",   "February", "March",    "April",
                                             "May",       "June",     "July",     "August",
                                             "September", "October",  "November", "December" };

static const struct expr_value weekday_values[7] = {
    { .kind = EXPR_INT, .u.i = 0 }, { .kind = EXPR_INT, .u.i = 1 }, { .kind = EXPR_INT, .u.i = 2 },
    { .kind = EXPR_INT, .u.i = 3 }, { .kind = EXPR_INT, .u.i = 4 }, { .kind = EXPR_INT, .u.i = 5 },
    { .kind = EXPR_INT, .u.i = 6 },
};
static const struct expr_value month_values[13] = {
    { .kind = EXPR_INT, .u.i = 0 },  { .kind = EXPR_INT, .u.i = 1 },
    { .kind = EXPR_INT, .u.i = 2 },  { .kind = EXPR_INT, .u.i = 3 },
    { .kind = EXPR_INT, .u.i = 4 },  { .kind = EXPR_INT, .u.i = 5 },
    { .kind = EXPR_INT, .u.i = 6 },  { .kind = EXPR_INT, .u.i = 7 },
    { .kind = EXPR_INT, .u.i = 8 },  { .kind = EXPR_INT, .u.i = 9 },
    { .kind = EXPR_INT, .u.i = 10 }, { .kind = EXPR_INT, .u.i = 11 },
    { .kind = EXPR_INT, .u.i = 12 },
};

struct expr_value
expr_weekday_value(int wd)
{
    if (wd < 0 || wd > 6)
        wd = 0;
    return expr_object(&expr_weekday_class, &weekday_values[wd]);
}

struct expr_value
expr_month_value(int m)
{
    if (m < 1 || m > 12)
        m = 0;
    return expr_object(&expr_month_class, &month_values[m]);
}

static int
weekday_string(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    int64_t d = ((const struct expr_value *)obj)->u.i;
    if (d >= 0 && d < 7) {
        *ret = expr_strv(weekday_names[d], strlen(weekday_names[d]));
        return 0;
    }
    *ret = expr_vm_strf(vm, "%%!Weekday(%" PRId64 ")", d);
    return ret->kind == EXPR_STRING ? 0 : oom(vm);
}

static int
month_string(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    int64_t m = ((const struct expr_value *)obj)->u.i;
    if (m >= 1 && m <= 12) {
        *ret = expr_strv(month_names[m - 1], strlen(month_names[m - 1]));
        return 0;
    }
    *ret = expr_vm_strf(vm, "%%!Month(%" PRId64 ")", m);
    return ret->kind == EXPR_STRING ? 0 : oom(vm);
}

static const struct expr_method weekday_methods[] = {
    { "String", 0, 0, EXPR_T(EXPR_STRING), weekday_string },
};
static const struct expr_method month_methods[] = {
    { "String", 0, 0, EXPR_T(EXPR_STRING), month_string },
};

const struct expr_class expr_weekday_class = {
    .name = "time.Weekday",
    .methods = weekday_methods,
    .nmethods = ARRAY_SIZE(weekday_methods),
};
const struct expr_class expr_month_class = {
    .name = "time.Month",
    .methods = month_methods,
    .nmethods = ARRAY_SIZE(month_methods),
};

/* Go's time layouts live in common/gotime.c; the year bounds of our int64 times: */
#define TIME_MIN_YEAR GOTIME_MIN_YEAR
#define TIME_MAX_YEAR GOTIME_MAX_YEAR

/* ASCII case-insensitive comparison of n bytes (Go's strings.EqualFold on ASCII). */
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

/* --- time.Time methods --- */

static struct gotime
obj_time(const void *obj)
{
    return ((const struct expr_value *)obj)->u.t;
}

static int
arg_duration(struct expr_vm *vm, const struct expr_value *v, int64_t *out)
{
    *out = 0;
    /* Go's reflect call refuses a plain int where a time.Duration is expected. */
    if (v->kind == EXPR_DURATION) {
        *out = v->u.d;
        return 0;
    }
    return expr_vm_error(vm, "reflect: Call using %s as type time.Duration", go_type(v));
}

static int
arg_time(struct expr_vm *vm, const struct expr_value *v, struct gotime *out)
{
    *out = (struct gotime){ 0 };
    if (v->kind != EXPR_TIME)
        return expr_vm_error(vm, "reflect: Call using %s as type time.Time", go_type(v));
    *out = v->u.t;
    return 0;
}

#define TIME_FIELD_METHOD(fname, expr_)                                                            \
    static int time_##fname(const void *obj, struct expr_vm *vm, const struct expr_value *args,    \
                            size_t nargs, struct expr_value *ret)                                  \
    {                                                                                              \
        struct gotime_fields f;                                                                    \
        gotime_fields(obj_time(obj), &f);                                                          \
        *ret = (expr_);                                                                            \
        return 0;                                                                                  \
    }

TIME_FIELD_METHOD(year, expr_int(f.year))
TIME_FIELD_METHOD(month, expr_month_value(f.month))
TIME_FIELD_METHOD(day, expr_int(f.day))
TIME_FIELD_METHOD(hour, expr_int(f.hour))
TIME_FIELD_METHOD(minute, expr_int(f.minute))
TIME_FIELD_METHOD(second, expr_int(f.second))
TIME_FIELD_METHOD(nanosecond, expr_int(f.nanosecond))
TIME_FIELD_METHOD(weekday, expr_weekday_value(f.weekday))
TIME_FIELD_METHOD(yearday, expr_int(f.yearday))

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int
time_unix(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
          struct expr_value *ret)
{
    *ret = expr_int(floor_div(obj_time(obj).unix_ns, NS_PER_S));
    return 0;
}

static int
time_unix_milli(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    *ret = expr_int(floor_div(obj_time(obj).unix_ns, 1000000));
    return 0;
}

static int
time_unix_micro(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    *ret = expr_int(floor_div(obj_time(obj).unix_ns, 1000));
    return 0;
}

static int
time_unix_nano(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    *ret = expr_int(obj_time(obj).unix_ns);
    return 0;
}

/* UTC() and Local(): phalanx's local zone is UTC. */
static int
time_utc(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
         struct expr_value *ret)
{
    struct gotime t = obj_time(obj);
    t.offset_s = 0;
    *ret = expr_time(t);
    return 0;
}

/* In(loc): the same instant shown at loc's offset for it; Go panics on a nil location. */
static int
time_in(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
        struct expr_value *ret)
{
    if (args[0].kind != EXPR_OBJECT || args[0].u.o.cls != &expr_location_class)
        return expr_vm_error(vm, "time: missing Location in call to Time.In");
    struct gotime t = obj_time(obj);
    int64_t s = t.unix_ns / 1000000000 - (t.unix_ns % 1000000000 < 0 ? 1 : 0);
    t.offset_s = expr_tz_offset(args[0].u.o.ptr, s);
    *ret = expr_time(t);
    return 0;
}

static int
time_format_m(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    struct strv l;
    if (arg_str(vm, &args[0], &l) < 0)
        return -1;
    struct str b = STR_INIT;
    return ret_str(vm, &b, gotime_format_layout(obj_time(obj), l.ptr, l.len, &b), ret);
}

static int
time_string(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
            struct expr_value *ret)
{
    char buf[GOTIME_RFC3339_MAX + 32];
    size_t n = gotime_format_string(obj_time(obj), buf, sizeof(buf));
    *ret = expr_vm_str(vm, buf, MIN(n, sizeof(buf) - 1));
    return ret->kind == EXPR_STRING ? 0 : oom(vm);
}

static int
time_add(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
         struct expr_value *ret)
{
    int64_t d;
    if (arg_duration(vm, &args[0], &d) < 0)
        return -1;
    struct gotime t = obj_time(obj);
    if (__builtin_add_overflow(t.unix_ns, d, &t.unix_ns))
        return expr_vm_error(vm, "time out of range");
    *ret = expr_time(t);
    return 0;
}

/* Go's Time.Sub saturates at the extreme durations. */
static int64_t
time_sub_ns(struct gotime a, struct gotime b)
{
    int64_t d;
    if (__builtin_sub_overflow(a.unix_ns, b.unix_ns, &d))
        return a.unix_ns > b.unix_ns ? INT64_MAX : INT64_MIN;
    return d;
}

static int
time_sub(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
         struct expr_value *ret)
{
    struct gotime u;
    if (arg_time(vm, &args[0], &u) < 0)
        return -1;
    *ret = expr_duration(time_sub_ns(obj_time(obj), u));
    return 0;
}

static int
time_add_date(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    int64_t y, m, d;
    for (int i = 0; i < 3; i++)
        if (args[i].kind != EXPR_INT)
            return expr_vm_error(vm, "reflect: Call using %s as type int", go_type(&args[i]));
    y = args[0].u.i, m = args[1].u.i, d = args[2].u.i;
    struct gotime t = obj_time(obj);
    struct gotime_fields f;
    gotime_fields(t, &f);
    if (y < -10000 || y > 10000 || m < -120000 || m > 120000 || d < -3650000 || d > 3650000 ||
        f.year + y + (f.month + m) / 12 < TIME_MIN_YEAR - 1 ||
        f.year + y + (f.month + m) / 12 > TIME_MAX_YEAR + 1)
        return expr_vm_error(vm, "time out of range");
    struct gotime r = gotime_from_fields((int)(f.year + y), (int)(f.month + m), (int)(f.day + d),
                                         f.hour, f.minute, f.second, f.nanosecond, t.offset_s);
    r.offset_s = t.offset_s;
    *ret = expr_time(r);
    return 0;
}

#define TIME_CMP_METHOD(fname, test)                                                               \
    static int time_##fname(const void *obj, struct expr_vm *vm, const struct expr_value *args,    \
                            size_t nargs, struct expr_value *ret)                                  \
    {                                                                                              \
        struct gotime u;                                                                           \
        if (arg_time(vm, &args[0], &u) < 0)                                                        \
            return -1;                                                                             \
        int64_t a = obj_time(obj).unix_ns, b = u.unix_ns;                                          \
        *ret = test;                                                                               \
        return 0;                                                                                  \
    }

TIME_CMP_METHOD(before, expr_bool(a < b))
TIME_CMP_METHOD(after, expr_bool(a > b))
TIME_CMP_METHOD(equal, expr_bool(a == b))
TIME_CMP_METHOD(compare, expr_int(a<b ? -1 : a> b))

/* Truncate and Round work on the absolute time since Go's zero time, whatever the zone. */
static int
time_round_trunc(const void *obj, struct expr_vm *vm, const struct expr_value *args, bool round,
                 struct expr_value *ret)
{
    int64_t d;
    if (arg_duration(vm, &args[0], &d) < 0)
        return -1;
    struct gotime t = obj_time(obj);
    if (d <= 0) {
        *ret = expr_time(t);
        return 0;
    }
    __int128 abs_ns = (__int128)t.unix_ns + (__int128)ZERO_TO_UNIX_S * NS_PER_S;
    int64_t r = (int64_t)(abs_ns % d);
    if (round && (uint64_t)r + (uint64_t)r >= (uint64_t)d)
        t.unix_ns += d - r;
    else
        t.unix_ns -= r;
    *ret = expr_time(t);
    return 0;
}

static int
time_truncate(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    return time_round_trunc(obj, vm, args, false, ret);
}

static int
time_round(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
           struct expr_value *ret)
{
    return time_round_trunc(obj, vm, args, true, ret);
}

static const struct expr_method time_methods[] = {
    { "Add", 1, 1, EXPR_T(EXPR_TIME), time_add },
    { "AddDate", 3, 3, EXPR_T(EXPR_TIME), time_add_date },
    { "After", 1, 1, EXPR_T(EXPR_BOOL), time_after },
    { "Before", 1, 1, EXPR_T(EXPR_BOOL), time_before },
    { "Compare", 1, 1, EXPR_T(EXPR_INT), time_compare },
    { "Day", 0, 0, EXPR_T(EXPR_INT), time_day },
    { "Equal", 1, 1, EXPR_T(EXPR_BOOL), time_equal },
    { "Format", 1, 1, EXPR_T(EXPR_STRING), time_format_m },
    { "Hour", 0, 0, EXPR_T(EXPR_INT), time_hour },
    { "In", 1, 1, EXPR_T(EXPR_TIME), time_in },
    { "Local", 0, 0, EXPR_T(EXPR_TIME), time_utc },
    { "Minute", 0, 0, EXPR_T(EXPR_INT), time_minute },
    { "Month", 0, 0, EXPR_T_OBJ(&expr_month_class), time_month },
    { "Nanosecond", 0, 0, EXPR_T(EXPR_INT), time_nanosecond },
    { "Round", 1, 1, EXPR_T(EXPR_TIME), time_round },
    { "Second", 0, 0, EXPR_T(EXPR_INT), time_second },
    { "String", 0, 0, EXPR_T(EXPR_STRING), time_string },
    { "Sub", 1, 1, EXPR_T(EXPR_DURATION), time_sub },
    { "Truncate", 1, 1, EXPR_T(EXPR_TIME), time_truncate },
    { "UTC", 0, 0, EXPR_T(EXPR_TIME), time_utc },
    { "Unix", 0, 0, EXPR_T(EXPR_INT), time_unix },
    { "UnixMicro", 0, 0, EXPR_T(EXPR_INT), time_unix_micro },
    { "UnixMilli", 0, 0, EXPR_T(EXPR_INT), time_unix_milli },
    { "UnixNano", 0, 0, EXPR_T(EXPR_INT), time_unix_nano },
    { "Weekday", 0, 0, EXPR_T_OBJ(&expr_weekday_class), time_weekday },
    { "Year", 0, 0, EXPR_T(EXPR_INT), time_year },
    { "YearDay", 0, 0, EXPR_T(EXPR_INT), time_yearday },
};

const struct expr_class expr_time_class = {
    .name = "time.Time",
    .methods = time_methods,
    .nmethods = ARRAY_SIZE(time_methods),
};

/* --- time.Duration methods --- */

static int64_t
obj_dur(const void *obj)
{
    return ((const struct expr_value *)obj)->u.d;
}

/* Go splits whole units from the rest so that the float is exact for big values. */
static double
dur_in(int64_t d, int64_t unit)
{
    int64_t whole = d / unit, rest = d % unit;
    return (double)whole + (double)rest / (double)unit;
}

static int
dur_hours(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
          struct expr_value *ret)
{
    *ret = expr_float(dur_in(obj_dur(obj), 3600 * NS_PER_S));
    return 0;
}

static int
dur_minutes(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
            struct expr_value *ret)
{
    *ret = expr_float(dur_in(obj_dur(obj), 60 * NS_PER_S));
    return 0;
}

static int
dur_seconds(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
            struct expr_value *ret)
{
    *ret = expr_float(dur_in(obj_dur(obj), NS_PER_S));
    return 0;
}

static int
dur_millis(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
           struct expr_value *ret)
{
    *ret = expr_int(obj_dur(obj) / 1000000);
    return 0;
}

static int
dur_micros(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
           struct expr_value *ret)
{
    *ret = expr_int(obj_dur(obj) / 1000);
    return 0;
}

static int
dur_nanos(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
          struct expr_value *ret)
{
    *ret = expr_int(obj_dur(obj));
    return 0;
}

static int
dur_string(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
           struct expr_value *ret)
{
    char buf[GOTIME_DURATION_STR_MAX];
    size_t n = gotime_format_duration(obj_dur(obj), buf, sizeof(buf));
    *ret = expr_vm_str(vm, buf, MIN(n, sizeof(buf) - 1));
    return ret->kind == EXPR_STRING ? 0 : oom(vm);
}

static int
dur_truncate(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    int64_t m, d = obj_dur(obj);
    if (arg_duration(vm, &args[0], &m) < 0)
        return -1;
    *ret = expr_duration(m <= 0 ? d : d - d % m);
    return 0;
}

static int
dur_round(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
          struct expr_value *ret)
{
    int64_t m, d = obj_dur(obj);
    if (arg_duration(vm, &args[0], &m) < 0)
        return -1;
    if (m <= 0) {
        *ret = expr_duration(d);
        return 0;
    }
    int64_t r = d % m, out;
    if (d < 0) {
        r = -r;
        if ((uint64_t)r + (uint64_t)r < (uint64_t)m)
            out = d + r;
        else if (!__builtin_sub_overflow(d, m - r, &out))
            ;
        else
            out = INT64_MIN;
    } else {
        if ((uint64_t)r + (uint64_t)r < (uint64_t)m)
            out = d - r;
        else if (!__builtin_add_overflow(d, m - r, &out))
            ;
        else
            out = INT64_MAX;
    }
    *ret = expr_duration(out);
    return 0;
}

static int
dur_abs(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
        struct expr_value *ret)
{
    int64_t d = obj_dur(obj);
    *ret = expr_duration(d >= 0 ? d : d == INT64_MIN ? INT64_MAX : -d);
    return 0;
}

static const struct expr_method duration_methods[] = {
    { "Abs", 0, 0, EXPR_T(EXPR_DURATION), dur_abs },
    { "Hours", 0, 0, EXPR_T(EXPR_FLOAT), dur_hours },
    { "Microseconds", 0, 0, EXPR_T(EXPR_INT), dur_micros },
    { "Milliseconds", 0, 0, EXPR_T(EXPR_INT), dur_millis },
    { "Minutes", 0, 0, EXPR_T(EXPR_FLOAT), dur_minutes },
    { "Nanoseconds", 0, 0, EXPR_T(EXPR_INT), dur_nanos },
    { "Round", 1, 1, EXPR_T(EXPR_DURATION), dur_round },
    { "Seconds", 0, 0, EXPR_T(EXPR_FLOAT), dur_seconds },
    { "String", 0, 0, EXPR_T(EXPR_STRING), dur_string },
    { "Truncate", 1, 1, EXPR_T(EXPR_DURATION), dur_truncate },
};

const struct expr_class expr_duration_class = {
    .name = "time.Duration",
    .methods = duration_methods,
    .nmethods = ARRAY_SIZE(duration_methods),
};

/* --- type conversion and numbers --- */

static int
b_len(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const struct expr_value *v = &args[0];
    if (v->kind == EXPR_STRING) {
        /* utf8.RuneCountInString: an invalid byte counts as one rune. */
        int64_t n = 0;
        for (size_t i = 0; i < v->u.s.len; n++) {
            size_t size;
            expr_utf8_decode(v->u.s.ptr + i, v->u.s.len - i, &size);
            i += size;
        }
        *ret = expr_int(n);
        return 0;
    }
    int64_t n = expr_value_len(v);
    if (n < 0 || (v->kind == EXPR_OBJECT && v->u.o.cls && !v->u.o.cls->len))
        return expr_vm_error(vm, "invalid argument for len (type %s)", go_type(v));
    *ret = expr_int(n);
    return 0;
}

static int
b_type(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const struct expr_value *v = &args[0];
    const char *t;
    switch (v->kind) {
    case EXPR_NIL: t = "nil"; break;
    case EXPR_BOOL: t = "bool"; break;
    case EXPR_INT: t = "int"; break;
    case EXPR_FLOAT: t = "float"; break;
    case EXPR_STRING: t = "string"; break;
    case EXPR_ARRAY: t = "array"; break;
    case EXPR_MAP: t = "map"; break;
    case EXPR_TIME: t = "time.Time"; break;
    case EXPR_DURATION: t = "time.Duration"; break;
    case EXPR_FUNC: t = "func"; break;
    case EXPR_OBJECT:
        if (v->u.o.cls == &expr_weekday_class || v->u.o.cls == &expr_month_class)
            t = v->u.o.cls->name;
        else if (v->u.o.cls && v->u.o.cls->is_map)
            t = "map";
        else if (v->u.o.cls && v->u.o.cls->len && v->u.o.cls->at)
            t = "array";
        else
            t = "unknown"; /* a pointer to a host struct, as reflect sees *types.Event */
        break;
    default: t = "unknown"; break;
    }
    *ret = expr_strv(t, strlen(t));
    return 0;
}

static int
b_abs(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const struct expr_value *v = &args[0];
    if (v->kind == EXPR_INT) {
        /* Go's -x wraps for the smallest int. */
        *ret = expr_int(v->u.i < 0 ? (int64_t)(0 - (uint64_t)v->u.i) : v->u.i);
        return 0;
    }
    if (v->kind == EXPR_FLOAT) {
        *ret = expr_float(v->u.f < 0 ? -v->u.f : v->u.f);
        return 0;
    }
    return expr_vm_error(vm, "invalid argument for abs (type %s)", go_type(v));
}

static int
round_func(struct expr_vm *vm, const struct expr_value *v, const char *name, double (*fn)(double),
           struct expr_value *ret)
{
    if (v->kind == EXPR_INT) {
        *ret = expr_float((double)v->u.i);
        return 0;
    }
    if (v->kind == EXPR_FLOAT) {
        *ret = expr_float(fn(v->u.f));
        return 0;
    }
    return expr_vm_error(vm, "invalid argument for %s (type %s)", name, go_type(v));
}

static int
b_ceil(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return round_func(vm, &args[0], "ceil", ceil, ret);
}

static int
b_floor(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return round_func(vm, &args[0], "floor", floor, ret);
}

static int
b_round(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return round_func(vm, &args[0], "round", round, ret);
}

/* strconv.Atoi: optional sign, decimal digits, int64 range. */
static bool
go_atoi(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t x = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (lim - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = neg ? (int64_t)(0 - x) : (int64_t)x;
    return true;
}

static int
b_int(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const struct expr_value *v = &args[0];
    switch (v->kind) {
    case EXPR_INT: *ret = *v; return 0;
    case EXPR_FLOAT: *ret = expr_int(float_to_int(v->u.f)); return 0;
    case EXPR_DURATION: *ret = expr_int(v->u.d); return 0;
    case EXPR_STRING: {
        int64_t x;
        if (!go_atoi(v->u.s.ptr, v->u.s.len, &x))
            return expr_vm_error(vm, "invalid operation: int(%.*s)", (int)MIN(v->u.s.len, 200),
                                 v->u.s.ptr);
        *ret = expr_int(x);
        return 0;
    }
    case EXPR_OBJECT:
        if (v->u.o.cls == &expr_weekday_class || v->u.o.cls == &expr_month_class) {
            *ret = *(const struct expr_value *)v->u.o.ptr;
            return 0;
        }
        break;
    default: break;
    }
    return expr_vm_error(vm, "invalid operation: int(%s)", go_type(v));
}

/* The syntax strconv.ParseFloat accepts (no spaces, no underscores without a base prefix). */
static bool
float_syntax_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t rest = n - i;
    if ((rest == 3 && match_fold(s + i, "inf", 3)) ||
        (rest == 8 && match_fold(s + i, "infinity", 8)) ||
        (rest == 3 && match_fold(s + i, "nan", 3)))
        return !(rest == 3 && match_fold(s + i, "nan", 3)) || i == 0;
    bool hex = rest > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
    if (hex)
        i += 2;
    size_t digits = 0;
    bool dot = false, exp = false;
    for (; i < n; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))) {
            digits++;
        } else if (c == '.' && !dot) {
            dot = true;
        } else if (c == '_') {
            /* Go literal syntax: an underscore only between digits (or after 0x). */
            bool prev_ok = i > 0 && ((s[i - 1] >= '0' && s[i - 1] <= '9') ||
                                     (hex && isxdigit((unsigned char)s[i - 1])) ||
                                     (hex && (s[i - 1] == 'x' || s[i - 1] == 'X')));
            bool next_ok = i + 1 < n && ((s[i + 1] >= '0' && s[i + 1] <= '9') ||
                                         (hex && isxdigit((unsigned char)s[i + 1])));
            if (!prev_ok || !next_ok)
                return false;
            continue;
        } else if ((!hex && (c == 'e' || c == 'E')) || (hex && (c == 'p' || c == 'P'))) {
            exp = true;
            i++;
            break;
        } else {
            return false;
        }
    }
    if (digits == 0)
        return false;
    if (exp) {
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == n)
            return false;
        for (; i < n; i++)
            if (s[i] < '0' || s[i] > '9')
                return false;
    } else if (hex) {
        return false; /* a hex float needs its p exponent */
    }
    return true;
}

static int
parse_float(const char *s, size_t n, double *out)
{
    if (n == 0 || n > 512 || !float_syntax_ok(s, n))
        return -1;
    char buf[520];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            buf[k++] = s[i];
    buf[k] = '\0';
    char *end;
    double f = strtod(buf, &end);
    if (*end != '\0')
        return -1;
    if (isinf(f)) {
        const char *p = buf + (buf[0] == '+' || buf[0] == '-');
        if (!match_fold(p, "inf", 3))
            return -1; /* overflow: ParseFloat's range error */
    }
    *out = f;
    return 0;
}

static int
b_float(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const struct expr_value *v = &args[0];
    switch (v->kind) {
    case EXPR_INT: *ret = expr_float((double)v->u.i); return 0;
    case EXPR_FLOAT: *ret = *v; return 0;
    case EXPR_STRING: {
        double f;
        if (parse_float(v->u.s.ptr, v->u.s.len, &f) < 0)
            return expr_vm_error(vm, "invalid operation: float(%.*s)", (int)MIN(v->u.s.len, 200),
                                 v->u.s.ptr);
        *ret = expr_float(f);
        return 0;
    }
    default: return expr_vm_error(vm, "invalid operation: float(%s)", go_type(v));
    }
}

static int
b_string(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (args[0].kind == EXPR_STRING) {
        *ret = args[0];
        return 0;
    }
    struct str b = STR_INIT;
    return ret_str(vm, &b, expr_value_format_go(vm, &args[0], &b), ret);
}

/* --- strings --- */

/* Rune before byte offset end, for trimming from the right. */
static int32_t
last_rune(const char *s, size_t end, size_t *size)
{
    size_t start = end > 4 ? end - 4 : 0;
    for (size_t i = end; i-- > start;) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            size_t sz;
            int32_t r = expr_utf8_decode(s + i, end - i, &sz);
            if (sz == end - i) {
                *size = sz;
                return r;
            }
            break;
        }
    }
    *size = 1;
    return 0xFFFD;
}

static bool
in_cutset(int32_t r, size_t rsize, struct strv cut)
{
    /* An invalid byte (U+FFFD of size 1) matches a U+FFFD in the cutset, as in Go. */
    (void)rsize;
    for (size_t i = 0; i < cut.len;) {
        size_t sz;
        int32_t c = expr_utf8_decode(cut.ptr + i, cut.len - i, &sz);
        if (c == r)
            return true;
        i += sz;
    }
    return false;
}

static int
b_trim(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv s, cut = { 0 };
    if (arg_str(vm, &args[0], &s) < 0)
        return -1;
    if (nargs == 2 && arg_str(vm, &args[1], &cut) < 0)
        return -1;
    size_t a = 0, b = s.len;
    while (a < b) {
        size_t sz;
        int32_t r = expr_utf8_decode(s.ptr + a, b - a, &sz);
        if (nargs == 2 ? !in_cutset(r, sz, cut) : !expr_rune_is_space(r))
            break;
        a += sz;
    }
    while (b > a) {
        size_t sz;
        int32_t r = last_rune(s.ptr + a, b - a, &sz);
        if (nargs == 2 ? !in_cutset(r, sz, cut) : !expr_rune_is_space(r))
            break;
        b -= sz;
    }
    *ret = expr_strv(s.ptr + a, b - a);
    return 0;
}

static int
b_trim_prefix(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    struct strv s, p = { " ", 1 };
    if (arg_str(vm, &args[0], &s) < 0 || (nargs == 2 && arg_str(vm, &args[1], &p) < 0))
        return -1;
    if (strv_has_prefix(s, p))
        s.ptr += p.len, s.len -= p.len;
    *ret = expr_strv(s.ptr, s.len);
    return 0;
}

static int
b_trim_suffix(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    struct strv s, p = { " ", 1 };
    if (arg_str(vm, &args[0], &s) < 0 || (nargs == 2 && arg_str(vm, &args[1], &p) < 0))
        return -1;
    if (strv_has_suffix(s, p))
        s.len -= p.len;
    *ret = expr_strv(s.ptr, s.len);
    return 0;
}

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void
utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* strings.ToUpper/ToLower: ASCII fast path, else per-rune simple case mapping. */
static int
change_case(struct expr_vm *vm, const struct expr_value *arg, bool upper, struct expr_value *ret)
{
    struct strv s;
    if (arg_str(vm, arg, &s) < 0)
        return -1;
    bool ascii = true, change = false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c >= 0x80) {
            ascii = false;
            break;
        }
        if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))
            change = true;
    }
    if (ascii && !change) {
        *ret = *arg;
        return 0;
    }
    pthread_once(&utf8_once, utf8_locale_init);
    char *out = expr_vm_alloc(vm, s.len * 3 + 1);
    if (!out)
        return oom(vm);
    size_t n = 0;
    for (size_t i = 0; i < s.len;) {
        size_t sz;
        int32_t r = expr_utf8_decode(s.ptr + i, s.len - i, &sz);
        i += sz;
        if (r < 0x80) {
            if (upper && r >= 'a' && r <= 'z')
                r -= 32;
            else if (!upper && r >= 'A' && r <= 'Z')
                r += 32;
        } else if (utf8_locale) {
            r = (int32_t)(upper ? towupper_l((wint_t)r, utf8_locale)
                                : towlower_l((wint_t)r, utf8_locale));
        }
        /* Each rune maps to at most 3 more bytes per input byte (U+FFFD for a bad byte). */
        n += expr_utf8_encode(r, out + n);
    }
    out[n] = '\0';
    *ret = expr_strv(out, n);
    return 0;
}

static int
b_upper(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return change_case(vm, &args[0], true, ret);
}

static int
b_lower(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return change_case(vm, &args[0], false, ret);
}

/* strings.genSplit: sep_save bytes of the separator stay with each piece (SplitAfter). */
static int
gen_split(struct expr_vm *vm, struct strv s, struct strv sep, bool after, int64_t n,
          struct expr_value *ret)
{
    struct expr_array *a = expr_vm_array(vm, 0);
    if (!a)
        return oom(vm);
    if (n == 0)
        return ret_array(vm, a, ret);
    if (sep.len == 0) {
        /* explode: one piece per UTF-8 sequence, the last piece holds the rest. */
        for (size_t i = 0; i < s.len;) {
            size_t sz;
            if (n > 0 && (int64_t)a->len == n - 1) {
                sz = s.len - i;
            } else {
                expr_utf8_decode(s.ptr + i, s.len - i, &sz);
            }
            if (push(vm, a, expr_strv(s.ptr + i, sz)) < 0)
                return -1;
            i += sz;
        }
        return ret_array(vm, a, ret);
    }
    size_t start = 0;
    while (n < 0 || (int64_t)a->len < n - 1) {
        ptrdiff_t k = strv_find((struct strv){ s.ptr + start, s.len - start }, sep);
        if (k < 0)
            break;
        size_t piece = (size_t)k + (after ? sep.len : 0);
        if (push(vm, a, expr_strv(s.ptr + start, piece)) < 0)
            return -1;
        start += (size_t)k + sep.len;
    }
    if (push(vm, a, expr_strv(s.ptr + start, s.len - start)) < 0)
        return -1;
    return ret_array(vm, a, ret);
}

static int
split_common(struct expr_vm *vm, const struct expr_value *args, size_t nargs, bool after,
             struct expr_value *ret)
{
    struct strv s, sep;
    int64_t n = -1;
    if (arg_str(vm, &args[0], &s) < 0 || arg_str(vm, &args[1], &sep) < 0)
        return -1;
    if (nargs == 3 && to_int(vm, &args[2], &n) < 0)
        return -1;
    return gen_split(vm, s, sep, after, n, ret);
}

static int
b_split(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return split_common(vm, args, nargs, false, ret);
}

static int
b_split_after(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    return split_common(vm, args, nargs, true, ret);
}

static int
b_replace(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv s, old, new;
    int64_t n = -1;
    if (arg_str(vm, &args[0], &s) < 0 || arg_str(vm, &args[1], &old) < 0 ||
        arg_str(vm, &args[2], &new) < 0)
        return -1;
    if (nargs == 4 && to_int(vm, &args[3], &n) < 0)
        return -1;
    if (n == 0 || strv_eq(old, new)) {
        *ret = args[0];
        return 0;
    }
    struct str b = STR_INIT;
    int err = 0;
    size_t start = 0;
    for (int64_t done = 0; !err && (n < 0 || done < n); done++) {
        size_t at;
        if (old.len == 0) {
            /* An empty old matches at the start and after each UTF-8 sequence. */
            if (done > 0) {
                if (start >= s.len)
                    break;
                size_t sz;
                expr_utf8_decode(s.ptr + start, s.len - start, &sz);
                err = str_append(&b, s.ptr + start, sz);
                start += sz;
            }
            at = start;
        } else {
            ptrdiff_t k = strv_find((struct strv){ s.ptr + start, s.len - start }, old);
            if (k < 0)
                break;
            at = start + (size_t)k;
        }
        if (!err)
            err = str_append(&b, s.ptr + start, at - start);
        if (!err)
            err = str_append(&b, new.ptr, new.len);
        start = at + old.len;
    }
    if (!err)
        err = str_append(&b, s.ptr + start, s.len - start);
    return ret_str(vm, &b, err, ret);
}

static int
b_repeat(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv s;
    int64_t n;
    if (arg_str(vm, &args[0], &s) < 0 || to_int(vm, &args[1], &n) < 0)
        return -1;
    if (n < 0)
        return expr_vm_error(
            vm, "invalid argument for repeat (expected positive integer, got %" PRId64 ")", n);
    if (n > REPEAT_MAX)
        return expr_vm_error(vm, "memory budget exceeded");
    if (s.len && (size_t)n > SIZE_MAX / s.len / 2)
        return expr_vm_error(vm, "memory budget exceeded");
    size_t total = s.len * (size_t)n;
    char *out = expr_vm_alloc(vm, total + 1);
    if (!out)
        return oom(vm);
    for (int64_t i = 0; i < n; i++)
        memcpy(out + (size_t)i * s.len, s.ptr, s.len);
    out[total] = '\0';
    *ret = expr_strv(out, total);
    return 0;
}

static int
b_join(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv glue = { "", 0 };
    struct expr_value arr;
    if (nargs == 2 && arg_str(vm, &args[1], &glue) < 0)
        return -1;
    if (plain(vm, &args[0], &arr) < 0)
        return -1;
    if (arr.kind != EXPR_ARRAY)
        return expr_vm_error(vm, "invalid argument for join (type %s)", go_type(&args[0]));
    struct str b = STR_INIT;
    int err = 0;
    for (size_t i = 0; !err && arr.u.a && i < arr.u.a->len; i++) {
        struct strv e;
        if (arg_str(vm, &arr.u.a->items[i], &e) < 0) {
            err = -1;
            break;
        }
        if (i)
            err = str_append(&b, glue.ptr, glue.len);
        if (!err)
            err = str_append(&b, e.ptr, e.len);
    }
    return ret_str(vm, &b, err, ret);
}

static ptrdiff_t
last_index(struct strv s, struct strv sub)
{
    if (sub.len == 0)
        return (ptrdiff_t)s.len;
    if (sub.len > s.len)
        return -1;
    for (size_t i = s.len - sub.len + 1; i-- > 0;)
        if (memcmp(s.ptr + i, sub.ptr, sub.len) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static int
two_strings(struct expr_vm *vm, const struct expr_value *args, struct strv *a, struct strv *b)
{
    if (arg_str(vm, &args[0], a) < 0 || arg_str(vm, &args[1], b) < 0)
        return -1;
    return 0;
}

static int
b_index_of(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv a, b;
    if (two_strings(vm, args, &a, &b) < 0)
        return -1;
    *ret = expr_int(strv_find(a, b));
    return 0;
}

static int
b_last_index_of(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    struct strv a, b;
    if (two_strings(vm, args, &a, &b) < 0)
        return -1;
    *ret = expr_int(last_index(a, b));
    return 0;
}

static int
b_has_prefix(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    struct strv a, b;
    if (two_strings(vm, args, &a, &b) < 0)
        return -1;
    *ret = expr_bool(strv_has_prefix(a, b));
    return 0;
}

static int
b_has_suffix(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    struct strv a, b;
    if (two_strings(vm, args, &a, &b) < 0)
        return -1;
    *ret = expr_bool(strv_has_suffix(a, b));
    return 0;
}

/* --- aggregates --- */

/* minMax: the greatest (max) or smallest (min) number found in args, recursing into arrays. */
static int
min_max(struct expr_vm *vm, const char *name, bool want_max, const struct expr_value *args,
        size_t nargs, int depth, struct expr_value *val, bool *have)
{
    if (depth > BUILTIN_MAX_DEPTH)
        return expr_vm_error(vm, "recursion depth exceeded");
    for (size_t i = 0; i < nargs; i++) {
        struct expr_value a;
        if (plain(vm, &args[i], &a) < 0)
            return -1;
        if (a.kind == EXPR_ARRAY) {
            if (a.u.a &&
                min_max(vm, name, want_max, a.u.a->items, a.u.a->len, depth + 1, val, have) < 0)
                return -1;
            continue;
        }
        if (!is_number(&a)) {
            /* A single non-numeric argument is returned as it is. */
            if (nargs == 1 && depth == 0) {
                *val = a;
                *have = true;
                return 0;
            }
            return expr_vm_error(vm, "invalid argument for %s (type %s)", name, go_type(&a));
        }
        bool better = !*have;
        if (*have) {
            if (a.kind == EXPR_INT && val->kind == EXPR_INT)
                better = want_max ? val->u.i < a.u.i : val->u.i > a.u.i;
            else
                better = want_max ? num(val) < num(&a) : num(val) > num(&a);
        }
        if (better) {
            *val = a;
            *have = true;
        }
    }
    return 0;
}

static int
b_max(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (nargs == 0)
        return expr_vm_error(vm, "not enough arguments to call max");
    struct expr_value v = expr_nil();
    bool have = false;
    if (min_max(vm, "max", true, args, nargs, 0, &v, &have) < 0)
        return -1;
    *ret = v;
    return 0;
}

static int
b_min(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (nargs == 0)
        return expr_vm_error(vm, "not enough arguments to call min");
    struct expr_value v = expr_nil();
    bool have = false;
    if (min_max(vm, "min", false, args, nargs, 0, &v, &have) < 0)
        return -1;
    *ret = v;
    return 0;
}

/* Collects every number of args (recursing into arrays) for mean and median. */
struct numbers {
    double *v;
    size_t n, cap;
};

static int
collect_numbers(struct expr_vm *vm, const char *name, const struct expr_value *args, size_t nargs,
                int depth, struct numbers *out)
{
    if (depth > BUILTIN_MAX_DEPTH)
        return expr_vm_error(vm, "recursion depth exceeded");
    for (size_t i = 0; i < nargs; i++) {
        struct expr_value a;
        if (plain(vm, &args[i], &a) < 0)
            return -1;
        if (a.kind == EXPR_ARRAY) {
            if (a.u.a && collect_numbers(vm, name, a.u.a->items, a.u.a->len, depth + 1, out) < 0)
                return -1;
            continue;
        }
        double x;
        if (a.kind == EXPR_INT || a.kind == EXPR_DURATION)
            x = (double)a.u.i; /* reflect sees a Duration as an int64 here */
        else if (a.kind == EXPR_FLOAT)
            x = a.u.f;
        else
            return expr_vm_error(vm, "invalid argument for %s (type %s)", name, go_type(&a));
        if (out->n == out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 16;
            double *nv = realloc(out->v, ncap * sizeof(double));
            if (!nv)
                return oom(vm);
            out->v = nv;
            out->cap = ncap;
        }
        out->v[out->n++] = x;
    }
    return 0;
}

static int
b_mean(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (nargs == 0)
        return expr_vm_error(vm, "not enough arguments to call mean");
    struct numbers ns = { 0 };
    int rc = collect_numbers(vm, "mean", args, nargs, 0, &ns);
    if (rc == 0) {
        double sum = 0;
        for (size_t i = 0; i < ns.n; i++)
            sum += ns.v[i];
        *ret = expr_float(ns.n ? sum / (double)ns.n : 0.0);
    }
    free(ns.v);
    return rc;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    /* sort.Float64s puts NaNs first. */
    if (isnan(x) || isnan(y))
        return isnan(x) ? (isnan(y) ? 0 : -1) : 1;
    return x < y ? -1 : x > y;
}

static int
b_median(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (nargs == 0)
        return expr_vm_error(vm, "not enough arguments to call median");
    struct numbers ns = { 0 };
    int rc = collect_numbers(vm, "median", args, nargs, 0, &ns);
    if (rc == 0) {
        double m = 0.0;
        if (ns.n) {
            qsort(ns.v, ns.n, sizeof(double), cmp_double);
            m = ns.n % 2 ? ns.v[ns.n / 2] : (ns.v[ns.n / 2 - 1] + ns.v[ns.n / 2]) / 2;
        }
        *ret = expr_float(m);
    }
    free(ns.v);
    return rc;
}

/* sum(array): the accumulator starts at int 0 and adds with the + operator's rules. */
static int
b_sum(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value arr;
    if (args[0].kind == EXPR_STRING) {
        /* The compiled loop walks a string's bytes, so sum("ab") adds their codes. */
        int64_t acc = 0;
        for (size_t i = 0; i < args[0].u.s.len; i++)
            acc += (unsigned char)args[0].u.s.ptr[i];
        *ret = expr_int(acc);
        return 0;
    }
    if (plain(vm, &args[0], &arr) < 0)
        return -1;
    if (arr.kind != EXPR_ARRAY)
        return expr_vm_error(vm, "builtin sum takes only array (got %s)", go_type(&args[0]));
    struct expr_value acc = expr_int(0);
    for (size_t i = 0; arr.u.a && i < arr.u.a->len; i++) {
        const struct expr_value *x = &arr.u.a->items[i];
        if (x->kind == EXPR_INT && acc.kind == EXPR_INT)
            acc.u.i = (int64_t)((uint64_t)acc.u.i + (uint64_t)x->u.i);
        else if (is_number(x) && is_number(&acc))
            acc = expr_float(num(&acc) + num(x));
        else
            return expr_vm_error(vm, "invalid operation: %s + %s", go_type(x), go_type(&acc));
    }
    *ret = acc;
    return 0;
}

/* --- JSON and base64 --- */

static int
b_to_json(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct str b = STR_INIT;
    int err = expr_value_to_json(vm, &args[0], true, &b);
    if (err == -EINVAL || err == -ELOOP)
        err = -1; /* the message is already on vm */
    return ret_str(vm, &b, err, ret);
}

static int
b_from_json(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv s;
    if (arg_str(vm, &args[0], &s) < 0)
        return -1;
    return expr_value_from_json(vm, s.ptr, s.len, ret);
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b_to_base64(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv s;
    if (arg_str(vm, &args[0], &s) < 0)
        return -1;
    size_t n = (s.len + 2) / 3 * 4;
    char *out = expr_vm_alloc(vm, n + 1);
    if (!out)
        return oom(vm);
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t o = 0;
    for (size_t i = 0; i < s.len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < s.len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < s.len)
            v |= p[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < s.len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < s.len ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    *ret = expr_strv(out, o);
    return 0;
}

static int
b64_value(unsigned char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* base64.StdEncoding.DecodeString, quantum by quantum as Go's decodeQuantum. */
static int
b_from_base64(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    struct strv s;
    if (arg_str(vm, &args[0], &s) < 0)
        return -1;
    const unsigned char *src = (const unsigned char *)s.ptr;
    size_t len = s.len, si = 0, n = 0;
    char *dst = expr_vm_alloc(vm, len / 4 * 3 + 4);
    if (!dst)
        return oom(vm);
    while (si < len) {
        unsigned char dbuf[4] = { 0 };
        size_t dlen = 4;
        bool trailing = false;
        size_t bad = 0;
        for (size_t j = 0; j < 4; j++) {
            if (si == len) {
                if (j == 0)
                    goto done;
                return expr_vm_error(vm, "illegal base64 data at input byte %zu", si - j);
            }
            unsigned char in = src[si++];
            int v = b64_value(in);
            if (v >= 0) {
                dbuf[j] = (unsigned char)v;
                continue;
            }
            if (in == '\n' || in == '\r') {
                j--;
                continue;
            }
            if (in != '=')
                return expr_vm_error(vm, "illegal base64 data at input byte %zu", si - 1);
            if (j < 2)
                return expr_vm_error(vm, "illegal base64 data at input byte %zu", si - 1);
            if (j == 2) {
                while (si < len && (src[si] == '\n' || src[si] == '\r'))
                    si++;
                if (si == len)
                    return expr_vm_error(vm, "illegal base64 data at input byte %zu", len);
                if (src[si] != '=')
                    return expr_vm_error(vm, "illegal base64 data at input byte %zu", si - 1);
                si++;
            }
            while (si < len && (src[si] == '\n' || src[si] == '\r'))
                si++;
            if (si < len) {
                trailing = true;
                bad = si;
            }
            dlen = j;
            break;
        }
        uint32_t val =
            (uint32_t)dbuf[0] << 18 | (uint32_t)dbuf[1] << 12 | (uint32_t)dbuf[2] << 6 | dbuf[3];
        if (dlen >= 2)
            dst[n++] = (char)(val >> 16);
        if (dlen >= 3)
            dst[n++] = (char)(val >> 8);
        if (dlen >= 4)
            dst[n++] = (char)val;
        if (trailing)
            return expr_vm_error(vm, "illegal base64 data at input byte %zu", bad);
        if (dlen < 4)
            break;
    }
done:
    dst[n] = '\0';
    *ret = expr_strv(dst, n);
    return 0;
}

/* --- dates --- */

static int
b_now(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (nargs != 0)
        return expr_vm_error(vm, "invalid number of arguments (expected 0, got %zu)", nargs);
    *ret = expr_time(expr_clock_now());
    return 0;
}

static bool
duration_unit_ok(const char *u, size_t n)
{
    static const char *const units[] = {
        "ns", "us", "\xc2\xb5s", "\xce\xbcs", "ms", "s", "m", "h"
    };
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
        if (strlen(units[i]) == n && memcmp(units[i], u, n) == 0)
            return true;
    return false;
}

/* Rebuilds the message of Go's ParseDuration for a string it rejected. */
static int
duration_error(struct expr_vm *vm, const char *s, size_t n)
{
    struct str b = STR_INIT;
    int err = 0;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    const char *what = "time: invalid duration ";
    const char *unit = NULL;
    size_t unit_len = 0;
    while (i < n) {
        if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
            break;
        size_t d0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        bool pre = i > d0, post = false;
        if (i < n && s[i] == '.') {
            size_t f0 = ++i;
            while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
            post = i > f0;
        }
        if (!pre && !post)
            break;
        size_t u0 = i;
        while (i < n && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9'))
            i++;
        if (i == u0) {
            what = "time: missing unit in duration ";
            break;
        }
        if (!duration_unit_ok(s + u0, i - u0)) {
            unit = s + u0;
            unit_len = i - u0;
            break;
        }
    }
    if (unit) {
        err = str_append_cstr(&b, "time: unknown unit ");
        if (!err)
            err = gotime_quote(&b, unit, unit_len);
        if (!err)
            err = str_append_cstr(&b, " in duration ");
    } else {
        err = str_append_cstr(&b, what);
    }
    if (!err)
        err = gotime_quote(&b, s, n);
    if (err) {
        str_free(&b);
        return oom(vm);
    }
    expr_vm_error(vm, "%s", b.buf);
    str_free(&b);
    return -1;
}

static int
b_duration(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv s;
    int64_t ns;
    if (arg_str(vm, &args[0], &s) < 0)
        return -1;
    if (gotime_parse_duration(s.ptr, s.len, &ns) < 0)
        return duration_error(vm, s.ptr, s.len);
    *ret = expr_duration(ns);
    return 0;
}

static int
b_timezone(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv name;
    const struct expr_tz *tz;
    if (arg_str(vm, &args[0], &name) < 0 || expr_tz_load(vm, name.ptr, name.len, &tz) < 0)
        return -1;
    *ret = expr_object(&expr_location_class, tz);
    return 0;
}

/* expr_tz_offset as a gotime_loc callback. */
static int32_t
tz_offset(const void *zone, int64_t unix_s)
{
    return expr_tz_offset(zone, unix_s);
}

static int
b_date(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    static const char *const layouts[] = {
        "2006-01-02",
        "15:04:05",
        "2006-01-02 15:04:05",
        "2006-01-02T15:04:05Z07:00",      /* RFC3339 */
        "02 Jan 06 15:04 MST",            /* RFC822 */
        "Monday, 02-Jan-06 15:04:05 MST", /* RFC850 */
        "Mon, 02 Jan 2006 15:04:05 MST",  /* RFC1123 */
    };
    struct strv s, layout;
    struct gotime t;
    const struct expr_tz *loc = NULL;
    /* date(timezone(...), value[, layout]) parses in that location. */
    if (nargs >= 2 && args[0].kind == EXPR_OBJECT && args[0].u.o.cls == &expr_location_class) {
        loc = args[0].u.o.ptr;
        args++;
        nargs--;
    }
    if (arg_str(vm, &args[0], &s) < 0)
        return -1;
    if (nargs >= 2) {
        if (arg_str(vm, &args[1], &layout) < 0)
            return -1;
        if (nargs == 3) {
            struct strv tz;
            if (arg_str(vm, &args[2], &tz) < 0 || expr_tz_load(vm, tz.ptr, tz.len, &loc) < 0)
                return -1;
        }
        struct str msg = STR_INIT;
        struct gotime_loc gl = { tz_offset, loc };
        int rc =
            gotime_parse_layout(layout.ptr, layout.len, s.ptr, s.len, loc ? &gl : NULL, &t, &msg);
        if (rc < 0) {
            rc = rc == -ENOMEM ? oom(vm) : expr_vm_error(vm, "%s", msg.buf ? msg.buf : "");
            str_free(&msg);
            return rc;
        }
        *ret = expr_time(t);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(layouts); i++) {
        struct gotime_loc gl = { tz_offset, loc };
        if (gotime_parse_layout(layouts[i], strlen(layouts[i]), s.ptr, s.len, loc ? &gl : NULL, &t,
                                NULL) == 0) {
            *ret = expr_time(t);
            return 0;
        }
    }
    return expr_vm_error(vm, "invalid date %.*s", (int)MIN(s.len, 200), s.ptr);
}

/* --- arrays and maps --- */

/* runtime.Fetch(arr, i) with a recover: nil when it would panic. */
static int
fetch_or_nil(struct expr_vm *vm, const struct expr_value *v, int64_t i, struct expr_value *ret)
{
    struct expr_value a;
    *ret = expr_nil();
    if (v->kind == EXPR_STRING) {
        int64_t l = (int64_t)v->u.s.len;
        if (i < 0)
            i += l;
        if (i >= 0 && i < l)
            *ret = expr_int((unsigned char)v->u.s.ptr[i]); /* a byte, as reflect indexes a string */
        return 0;
    }
    if (plain(vm, v, &a) < 0)
        return -1;
    if (a.kind != EXPR_ARRAY || !a.u.a)
        return 0;
    int64_t l = (int64_t)a.u.a->len;
    if (i < 0)
        i += l;
    if (i >= 0 && i < l)
        *ret = a.u.a->items[i];
    return 0;
}

static int
b_first(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return fetch_or_nil(vm, &args[0], 0, ret);
}

static int
b_last(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return fetch_or_nil(vm, &args[0], -1, ret);
}

static int
b_get(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const struct expr_value *from = &args[0], *key = &args[1];
    *ret = expr_nil();
    if (from->kind == EXPR_NIL)
        return 0;
    if (from->kind == EXPR_OBJECT && from->u.o.cls) {
        const struct expr_class *cls = from->u.o.cls;
        if (key->kind == EXPR_STRING) {
            for (size_t i = 0; i < cls->nfields; i++)
                if (strlen(cls->fields[i].name) == key->u.s.len &&
                    memcmp(cls->fields[i].name, key->u.s.ptr, key->u.s.len) == 0)
                    return cls->fields[i].get(from->u.o.ptr, vm, ret);
        }
        if (cls->is_map && cls->index) {
            if (cls->has && !cls->has(from->u.o.ptr, key))
                return 0;
            return cls->index(from->u.o.ptr, vm, key, ret);
        }
    }
    if (from->kind == EXPR_MAP) {
        if (key->kind != EXPR_STRING) {
            if (key->kind == EXPR_NIL)
                return 0;
            return expr_vm_error(
                vm, "reflect.Value.MapIndex: value of type %s is not assignable to type string",
                go_type(key));
        }
        const struct expr_value *v = expr_map_get(from->u.m, key->u.s.ptr, key->u.s.len);
        if (v)
            *ret = *v;
        return 0;
    }
    if (from->kind == EXPR_ARRAY || from->kind == EXPR_STRING ||
        (from->kind == EXPR_OBJECT && from->u.o.cls && from->u.o.cls->len &&
         !from->u.o.cls->is_map)) {
        int64_t i;
        if (to_int(vm, key, &i) < 0)
            return -1;
        return fetch_or_nil(vm, from, i, ret);
    }
    return 0;
}

static int
b_take(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value a;
    if (plain(vm, &args[0], &a) < 0)
        return -1;
    if (a.kind != EXPR_ARRAY)
        return expr_vm_error(vm, "cannot take from %s", reflect_kind(&args[0]));
    if (args[1].kind != EXPR_INT)
        return expr_vm_error(vm, "cannot take %s elements", reflect_kind(&args[1]));
    int64_t n = args[1].u.i, len = a.u.a ? (int64_t)a.u.a->len : 0;
    if (n < 0)
        return expr_vm_error(vm, "reflect: slice index out of range");
    if (n > len)
        n = len;
    struct expr_array *out = expr_vm_array(vm, 0);
    if (!out)
        return oom(vm);
    out->items = n ? a.u.a->items : NULL; /* a slice shares the backing array, as in Go */
    out->len = (size_t)n;
    out->cap = (size_t)n;
    return ret_array(vm, out, ret);
}

/* what = the words around the kind in the error: "get keys from ", "". */
static int
map_arg(struct expr_vm *vm, const struct expr_value *v, const char *pre, const char *post,
        struct expr_value *out)
{
    if (plain(vm, v, out) < 0)
        return -1;
    if (out->kind != EXPR_MAP)
        return expr_vm_error(vm, "cannot %s%s%s", pre, reflect_kind(v), post);
    return 0;
}

static int
b_keys(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value m;
    if (map_arg(vm, &args[0], "get keys from ", "", &m) < 0)
        return -1;
    size_t n = m.u.m ? m.u.m->len : 0;
    struct expr_array *a = expr_vm_array(vm, n);
    if (!a)
        return oom(vm);
    for (size_t i = 0; i < n; i++)
        a->items[a->len++] = expr_strv(m.u.m->entries[i].key, m.u.m->entries[i].keylen);
    return ret_array(vm, a, ret);
}

static int
b_values(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value m;
    if (map_arg(vm, &args[0], "get values from ", "", &m) < 0)
        return -1;
    size_t n = m.u.m ? m.u.m->len : 0;
    struct expr_array *a = expr_vm_array(vm, n);
    if (!a)
        return oom(vm);
    for (size_t i = 0; i < n; i++)
        a->items[a->len++] = m.u.m->entries[i].value;
    return ret_array(vm, a, ret);
}

static int
b_to_pairs(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value m;
    if (map_arg(vm, &args[0], "transform ", " to pairs", &m) < 0)
        return -1;
    size_t n = m.u.m ? m.u.m->len : 0;
    struct expr_array *a = expr_vm_array(vm, n);
    if (!a)
        return oom(vm);
    for (size_t i = 0; i < n; i++) {
        struct expr_array *p = expr_vm_array(vm, 2);
        if (!p)
            return oom(vm);
        p->items[0] = expr_strv(m.u.m->entries[i].key, m.u.m->entries[i].keylen);
        p->items[1] = m.u.m->entries[i].value;
        p->len = 2;
        a->items[a->len++] = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = p };
    }
    return ret_array(vm, a, ret);
}

static int
b_from_pairs(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    struct expr_value a;
    if (plain(vm, &args[0], &a) < 0)
        return -1;
    if (a.kind != EXPR_ARRAY) {
        struct str b = STR_INIT;
        int err = expr_value_format_go(vm, &args[0], &b);
        if (!err)
            expr_vm_error(vm, "cannot transform %s from pairs", b.buf ? b.buf : "");
        str_free(&b);
        return err ? oom(vm) : -1;
    }
    struct expr_map *m = expr_vm_map(vm, a.u.a ? a.u.a->len : 0);
    if (!m)
        return oom(vm);
    for (size_t i = 0; a.u.a && i < a.u.a->len; i++) {
        struct expr_value p;
        if (plain(vm, &a.u.a->items[i], &p) < 0)
            return -1;
        if (p.kind != EXPR_ARRAY || !p.u.a || p.u.a->len != 2) {
            struct str b = STR_INIT;
            int err = expr_value_format_go(vm, &p, &b);
            if (!err)
                expr_vm_error(vm,
                              p.kind != EXPR_ARRAY ? "invalid pair %s" : "invalid pair length %s",
                              b.buf ? b.buf : "");
            str_free(&b);
            return err ? oom(vm) : -1;
        }
        struct expr_value k = p.u.a->items[0];
        /* Our maps have string keys: other keys are stored in their %v form. */
        if (k.kind != EXPR_STRING && b_string(vm, &p.u.a->items[0], 1, &k) < 0)
            return -1;
        if (expr_map_set(vm, m, k.u.s.ptr, k.u.s.len, p.u.a->items[1]) < 0)
            return oom(vm);
    }
    *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
    return 0;
}

static int
array_arg(struct expr_vm *vm, const struct expr_value *v, const char *verb, struct expr_value *out)
{
    if (plain(vm, v, out) < 0)
        return -1;
    if (out->kind != EXPR_ARRAY)
        return expr_vm_error(vm, "cannot %s %s", verb, reflect_kind(v));
    return 0;
}

static int
b_reverse(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value a;
    if (array_arg(vm, &args[0], "reverse", &a) < 0)
        return -1;
    size_t n = a.u.a ? a.u.a->len : 0;
    struct expr_array *out = expr_vm_array(vm, n);
    if (!out)
        return oom(vm);
    for (size_t i = 0; i < n; i++)
        out->items[out->len++] = a.u.a->items[n - 1 - i];
    return ret_array(vm, out, ret);
}

static int
b_uniq(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value a;
    if (array_arg(vm, &args[0], "uniq", &a) < 0)
        return -1;
    size_t n = a.u.a ? a.u.a->len : 0;
    struct expr_array *out = expr_vm_array(vm, n);
    if (!out)
        return oom(vm);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < out->len && !seen; j++)
            seen = expr_value_equal(&a.u.a->items[i], &out->items[j]);
        if (!seen)
            out->items[out->len++] = a.u.a->items[i];
    }
    return ret_array(vm, out, ret);
}

static int
b_concat(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (nargs == 0)
        return expr_vm_error(vm, "invalid number of arguments (expected at least 1, got 0)");
    struct expr_array *out = expr_vm_array(vm, 0);
    if (!out)
        return oom(vm);
    for (size_t i = 0; i < nargs; i++) {
        struct expr_value a;
        if (array_arg(vm, &args[i], "concat", &a) < 0)
            return -1;
        for (size_t j = 0; a.u.a && j < a.u.a->len; j++)
            if (push(vm, out, a.u.a->items[j]) < 0)
                return -1;
    }
    return ret_array(vm, out, ret);
}

static int
flatten_into(struct expr_vm *vm, const struct expr_value *arr, int depth, struct expr_array *out)
{
    if (depth > BUILTIN_MAX_DEPTH)
        return expr_vm_error(vm, "recursion depth exceeded");
    for (size_t i = 0; arr->u.a && i < arr->u.a->len; i++) {
        struct expr_value x;
        if (plain(vm, &arr->u.a->items[i], &x) < 0)
            return -1;
        if (x.kind == EXPR_ARRAY) {
            if (flatten_into(vm, &x, depth + 1, out) < 0)
                return -1;
        } else if (push(vm, out, arr->u.a->items[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
b_flatten(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value a;
    if (array_arg(vm, &args[0], "flatten", &a) < 0)
        return -1;
    struct expr_array *out = expr_vm_array(vm, 0);
    if (!out)
        return oom(vm);
    if (flatten_into(vm, &a, 0, out) < 0)
        return -1;
    return ret_array(vm, out, ret);
}

/* Stable merge sort with a comparison that can fail (runtime.Less panics on mixed types). */
static int
merge_sort(struct expr_vm *vm, struct expr_value *v, struct expr_value *tmp, size_t n, bool desc)
{
    if (n < 2)
        return 0;
    size_t h = n / 2;
    if (merge_sort(vm, v, tmp, h, desc) < 0 || merge_sort(vm, v + h, tmp, n - h, desc) < 0)
        return -1;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        bool lt = false;
        /* take the right one first only when it sorts strictly before the left one */
        if (desc ? less(vm, &v[i], &v[j], &lt) < 0 : less(vm, &v[j], &v[i], &lt) < 0)
            return -1;
        tmp[k++] = lt ? v[j++] : v[i++];
    }
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(*v));
    return 0;
}

static int
b_sort(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct expr_value a;
    bool desc = false;
    if (plain(vm, &args[0], &a) < 0)
        return -1;
    if (nargs == 2) {
        if (args[1].kind != EXPR_STRING)
            return expr_vm_error(vm, "sort order argument must be a string (got %s)",
                                 go_type(&args[1]));
        struct strv o = { args[1].u.s.ptr, args[1].u.s.len };
        if (strv_eq_cstr(o, "desc"))
            desc = true;
        else if (!strv_eq_cstr(o, "asc"))
            return expr_vm_error(vm, "invalid order %.*s, expected asc or desc",
                                 (int)MIN(o.len, 100), o.ptr);
    }
    size_t n = a.kind == EXPR_ARRAY && a.u.a ? a.u.a->len : 0;
    struct expr_array *out = expr_vm_array(vm, n);
    if (!out)
        return oom(vm);
    if (n) {
        memcpy(out->items, a.u.a->items, n * sizeof(struct expr_value));
        out->len = n;
        struct expr_value *tmp = malloc(n * sizeof(*tmp));
        if (!tmp)
            return oom(vm);
        int rc = merge_sort(vm, out->items, tmp, n, desc);
        free(tmp);
        if (rc < 0)
            return -1;
    }
    return ret_array(vm, out, ret);
}

/* --- bits --- */

static int
bit_arg(struct expr_vm *vm, const char *name, const struct expr_value *v, int64_t *out)
{
    *out = 0;
    if (v->kind != EXPR_INT)
        return expr_vm_error(vm, "cannot use %s as argument (type int) to call %s", go_type(v),
                             name);
    *out = v->u.i;
    return 0;
}

enum bit_op { BIT_AND, BIT_OR, BIT_XOR, BIT_NAND, BIT_SHL, BIT_SHR, BIT_USHR };

static int
bit2(struct expr_vm *vm, const char *name, enum bit_op op, const struct expr_value *args,
     struct expr_value *ret)
{
    int64_t x, y;
    if (bit_arg(vm, name, &args[0], &x) < 0 || bit_arg(vm, name, &args[1], &y) < 0)
        return -1;
    uint64_t ux = (uint64_t)x;
    if ((op == BIT_SHL || op == BIT_SHR || op == BIT_USHR) && y < 0)
        return expr_vm_error(vm, "invalid operation: negative shift count %" PRId64 " (type int)",
                             y);
    switch (op) {
    case BIT_AND: *ret = expr_int(x & y); break;
    case BIT_OR: *ret = expr_int(x | y); break;
    case BIT_XOR: *ret = expr_int(x ^ y); break;
    case BIT_NAND: *ret = expr_int(x & ~y); break;
    case BIT_SHL: *ret = expr_int(y >= 64 ? 0 : (int64_t)(ux << y)); break;
    /* Go's >> on a signed int is arithmetic; C leaves x >> y implementation-defined for x < 0,
     * so shift the complement (non-negative) and complement back. */
    case BIT_SHR:
        *ret = expr_int(y >= 64 ? (x < 0 ? -1 : 0)
                        : x < 0 ? ~(int64_t)(~ux >> y)
                                : (int64_t)(ux >> y));
        break;
    case BIT_USHR: *ret = expr_int(y >= 64 ? 0 : (int64_t)(ux >> y)); break;
    }
    return 0;
}

#define BIT_FUNC(fname, op)                                                                        \
    static int b_##fname(struct expr_vm *vm, const struct expr_value *args, size_t nargs,          \
                         struct expr_value *ret)                                                   \
    {                                                                                              \
        return bit2(vm, #fname, op, args, ret);                                                    \
    }

BIT_FUNC(bitand, BIT_AND)
BIT_FUNC(bitor, BIT_OR)
BIT_FUNC(bitxor, BIT_XOR)
BIT_FUNC(bitnand, BIT_NAND)
BIT_FUNC(bitshl, BIT_SHL)
BIT_FUNC(bitshr, BIT_SHR)
BIT_FUNC(bitushr, BIT_USHR)

static int
b_bitnot(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    int64_t x;
    if (bit_arg(vm, "bitnot", &args[0], &x) < 0)
        return -1;
    *ret = expr_int(~x);
    return 0;
}

/* --- the table --- */

#define T_ANY   EXPR_T_ANY
#define T_INT   EXPR_T(EXPR_INT)
#define T_FLOAT EXPR_T(EXPR_FLOAT)
#define T_STR   EXPR_T(EXPR_STRING)
#define T_BOOL  EXPR_T(EXPR_BOOL)
#define T_ARR   EXPR_T(EXPR_ARRAY)
#define T_MAP   EXPR_T(EXPR_MAP)

const struct expr_func expr_builtins[] = {
    { "len", 1, 1, T_INT, b_len },
    { "type", 1, 1, T_STR, b_type },
    { "abs", 1, 1, T_ANY, b_abs },
    { "ceil", 1, 1, T_FLOAT, b_ceil },
    { "floor", 1, 1, T_FLOAT, b_floor },
    { "round", 1, 1, T_FLOAT, b_round },
    { "int", 1, 1, T_INT, b_int },
    { "float", 1, 1, T_FLOAT, b_float },
    { "string", 1, 1, T_STR, b_string },
    { "trim", 1, 2, T_STR, b_trim },
    { "trimPrefix", 1, 2, T_STR, b_trim_prefix },
    { "trimSuffix", 1, 2, T_STR, b_trim_suffix },
    { "upper", 1, 1, T_STR, b_upper },
    { "lower", 1, 1, T_STR, b_lower },
    { "split", 2, 3, T_ARR, b_split },
    { "splitAfter", 2, 3, T_ARR, b_split_after },
    { "replace", 3, 4, T_STR, b_replace },
    { "repeat", 2, 2, T_STR, b_repeat },
    { "join", 1, 2, T_STR, b_join },
    { "indexOf", 2, 2, T_INT, b_index_of },
    { "lastIndexOf", 2, 2, T_INT, b_last_index_of },
    { "hasPrefix", 2, 2, T_BOOL, b_has_prefix },
    { "hasSuffix", 2, 2, T_BOOL, b_has_suffix },
    { "max", 1, -1, T_ANY, b_max },
    { "min", 1, -1, T_ANY, b_min },
    { "mean", 1, -1, T_FLOAT, b_mean },
    { "median", 1, -1, T_FLOAT, b_median },
    { "sum", 1, 1, T_ANY, b_sum },
    { "toJSON", 1, 1, T_STR, b_to_json },
    { "fromJSON", 1, 1, T_ANY, b_from_json },
    { "toBase64", 1, 1, T_STR, b_to_base64 },
    { "fromBase64", 1, 1, T_STR, b_from_base64 },
    { "now", 0, 0, EXPR_T(EXPR_TIME), b_now },
    { "duration", 1, 1, EXPR_T(EXPR_DURATION), b_duration },
    { "date", 1, 3, EXPR_T(EXPR_TIME), b_date },
    { "timezone", 1, 1, EXPR_T_OBJ(&expr_location_class), b_timezone },
    { "first", 1, 1, T_ANY, b_first },
    { "last", 1, 1, T_ANY, b_last },
    { "get", 2, 2, T_ANY, b_get },
    { "take", 2, 2, T_ARR, b_take },
    { "keys", 1, 1, T_ARR, b_keys },
    { "values", 1, 1, T_ARR, b_values },
    { "toPairs", 1, 1, T_ARR, b_to_pairs },
    { "fromPairs", 1, 1, T_MAP, b_from_pairs },
    { "reverse", 1, 1, T_ARR, b_reverse },
    { "uniq", 1, 1, T_ARR, b_uniq },
    { "concat", 1, -1, T_ARR, b_concat },
    { "flatten", 1, 1, T_ARR, b_flatten },
    { "sort", 1, 2, T_ARR, b_sort },
    { "bitand", 2, 2, T_INT, b_bitand },
    { "bitor", 2, 2, T_INT, b_bitor },
    { "bitxor", 2, 2, T_INT, b_bitxor },
    { "bitnand", 2, 2, T_INT, b_bitnand },
    { "bitnot", 1, 1, T_INT, b_bitnot },
    { "bitshl", 2, 2, T_INT, b_bitshl },
    { "bitshr", 2, 2, T_INT, b_bitshr },
    { "bitushr", 2, 2, T_INT, b_bitushr },
};
const size_t expr_builtins_count = ARRAY_SIZE(expr_builtins);
