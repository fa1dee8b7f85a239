/*
 * helpers_misc.c - CrowdSec's time, URL, geometry and stash helpers
 * (pkg/exprhelpers helpers.go, waf.go; pkg/cache), plus the clock behind
 * TimeNow() and now().
 *
 * URL helpers follow Go's net/url (1.19 sources) byte for byte: which bytes
 * PathEscape and QueryEscape keep, which inputs url.Parse and url.ParseQuery
 * reject (ParseUri then returns an empty map, as CrowdSec does). ParseQuery
 * and ExtractQueryParam are CrowdSec's own lenient parser (waf.go): '&'
 * separates pairs, ';' is data, a bad %-escape stays as it is.
 *
 * The stash is gcache's LRU with per-key expiry: a named cache with a size
 * bound, where a full cache evicts its least recently used key and an
 * expired key reads as absent. Stashes are declared at load time and written
 * at run time by any thread, so one mutex guards them all.
 */
#include <math.h>
#include <pthread.h>
#include <time.h>

#include "common/hashmap.h"
#include "common/str.h"
#include "expr/helpers.h"

/* ----------------------------------------------------------------- clock */

static struct gotime (*clock_fn)(void);

void expr_set_clock(struct gotime (*now)(void))
{
    clock_fn = now;
}

struct gotime
expr_clock_now(void)
{
    if (clock_fn != NULL)
        return clock_fn();
    return gotime_now();
}

/* ------------------------------------------------------------------ time */

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Go's Format(time.RFC3339) of whole seconds at a zone offset. */
static size_t
format_rfc3339(int64_t sec, int32_t off, char *buf, size_t size)
{
    int64_t local = sec + off;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t rem = local - days * 86400;
    int64_t y;
    int m, d, n;

    civil_from_days(days, &y, &m, &d);
    n = snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m, d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (n < 0 || (size_t)n >= size)
        return 0;
    if (off == 0) {
        n += snprintf(buf + n, size - (size_t)n, "Z");
    } else {
        int32_t a = off < 0 ? -off : off;
        n += snprintf(buf + n, size - (size_t)n, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600,
                      a / 60 % 60);
    }
    return (size_t)n;
}

static int
ret_cstr(struct expr_vm *vm, const char *s, size_t n, struct expr_value *ret)
{
    *ret = expr_vm_str(vm, s, n);
    return ret->kind == EXPR_STRING ? 0 : expr_helper_oom(vm);
}

/* TimeNow(): time.Now().UTC().Format(time.RFC3339), on expr_clock_now(). */
static int
h_time_now(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct gotime now = expr_clock_now();
    int64_t sec = now.unix_ns / 1000000000;
    char buf[64];

    if (now.unix_ns < 0 && now.unix_ns % 1000000000 != 0)
        sec--;
    return ret_cstr(vm, buf, format_rfc3339(sec, 0, buf, sizeof(buf)), ret);
}

/* Go's strconv.ParseInt(s, 10, 64). */
static bool
parse_int10(const char *s, size_t n, int64_t *ret)
{
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;

    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i >= n)
        return false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if ((!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
        return false;
    *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/*
 * ParseUnix("1672239773.3590894"): the integer part as seconds, formatted
 * RFC3339 in the local zone (time.Unix is local); "" unless it is > 0.
 */
static int
h_parse_unix(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    const char *s;
    size_t n;
    int64_t sec;
    char buf[64];

    EXPR_S_ARG(0, s, n);
    const char *dot = memchr(s, '.', n);
    if (dot != NULL)
        n = (size_t)(dot - s);
    if (!parse_int10(s, n, &sec) || sec <= 0 || sec > INT64_MAX / 2) {
        *ret = expr_strv("", 0);
        return 0;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    int32_t off = 0;
    if (localtime_r(&t, &tm) != NULL)
        off = (int32_t)tm.tm_gmtoff;
    return ret_cstr(vm, buf, format_rfc3339(sec, off, buf, sizeof(buf)), ret);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Sorted instants (ns) of a list of times; errors worded as CrowdSec's. */
static int
times_of(struct expr_vm *vm, const struct expr_value *v, const char *fn, const char *need,
         int64_t **ret, size_t *ret_n)
{
    bool seq = v->kind == EXPR_ARRAY ||
               (v->kind == EXPR_OBJECT && v->u.o.cls != NULL && !v->u.o.cls->is_map &&
                v->u.o.cls->at != NULL && v->u.o.cls->len != NULL);

    /* Failures return a literal -1 (what expr_vm_error returns) so that the static analyser,
     * which cannot see into vm.c, knows *ret and *ret_n are only read after success. */
    if (!seq) {
        expr_vm_error(vm, "%s expects a slice of times", fn);
        return -1;
    }
    int64_t n = expr_value_len(v);
    int64_t *t = expr_vm_alloc(vm, (size_t)MAX(n, 1) * sizeof(*t));
    if (t == NULL)
        return expr_helper_oom(vm);
    for (int64_t i = 0; i < n; i++) {
        struct expr_value item;
        if (expr_value_at(vm, v, (size_t)i, &item) != 0)
            return -1;
        if (item.kind != EXPR_TIME) {
            expr_vm_error(vm, "element at index %lld is not a time.Time", (long long)i);
            return -1;
        }
        t[i] = item.u.t.unix_ns;
    }
    if (n < 2) {
        expr_vm_error(vm, "need at least two times to calculate %s", need);
        return -1;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_i64);
    *ret = t;
    *ret_n = (size_t)n;
    return 0;
}

/* AverageInterval(times) Duration: mean gap between the sorted times. */
static int
h_average_interval(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                   struct expr_value *ret)
{
    int64_t *t;
    size_t n;

    if (times_of(vm, &args[0], "AverageInterval", "an average interval", &t, &n) != 0)
        return -1;
    int64_t total = 0;
    for (size_t i = 1; i < n; i++)
        total += t[i] - t[i - 1];
    *ret = expr_duration(total / (int64_t)(n - 1));
    return 0;
}

/* MedianInterval(times) Duration: median gap (mean of the middle two when even). */
static int
h_median_interval(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                  struct expr_value *ret)
{
    int64_t *t;
    size_t n;

    if (times_of(vm, &args[0], "MedianInterval", "a median", &t, &n) != 0)
        return -1;
    for (size_t i = 0; i + 1 < n; i++)
        t[i] = t[i + 1] - t[i];
    n--;
    qsort(t, n, sizeof(*t), cmp_i64);
    *ret = expr_duration(n % 2 == 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2);
    return 0;
}

/* ------------------------------------------------------------------- url */

enum url_mode { ENC_PATH, ENC_PATH_SEGMENT, ENC_HOST, ENC_ZONE, ENC_USER, ENC_QUERY, ENC_FRAGMENT };

static bool
is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
unhex(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* net/url's shouldEscape. */
static bool
should_escape(unsigned char c, enum url_mode mode)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return false;
    if (mode == ENC_HOST || mode == ENC_ZONE) {
        if (strchr("!$&'()*+,;=:[]<>\"", c) != NULL && c != '\0')
            return false;
    }
    switch (c) {
    case '-':
    case '_':
    case '.':
    case '~': return false;
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '?':
    case '@':
        switch (mode) {
        case ENC_PATH: return c == '?';
        case ENC_PATH_SEGMENT: return c == '/' || c == ';' || c == ',' || c == '?';
        case ENC_USER: return c == '@' || c == '/' || c == '?' || c == ':';
        case ENC_QUERY: return true;
        case ENC_FRAGMENT: return false;
        default: break;
        }
        break;
    default: break;
    }
    if (mode == ENC_FRAGMENT) {
        switch (c) {
        case '!':
        case '(':
        case ')':
        case '*': return false;
        default: break;
        }
    }
    return true;
}

/*
 * net/url's unescape: 0 and the decoded text in the vm's arena (or the
 * input itself when nothing changes), or -1 on a malformed escape.
 */
static int
url_unescape(struct expr_vm *vm, const char *s, size_t n, enum url_mode mode, const char **rp,
             size_t *rn)
{
    size_t pct = 0;
    bool plus = false;

    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            pct++;
            if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return -1;
            if (mode == ENC_HOST && unhex(s[i + 1]) < 8 && memcmp(s + i, "%25", 3) != 0)
                return -1;
            if (mode == ENC_ZONE) {
                unsigned char v = (unsigned char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
                if (memcmp(s + i, "%25", 3) != 0 && v != ' ' && should_escape(v, ENC_HOST))
                    return -1;
            }
            i += 3;
        } else if (c == '+') {
            plus = mode == ENC_QUERY;
            i++;
        } else {
            if ((mode == ENC_HOST || mode == ENC_ZONE) && c < 0x80 && should_escape(c, mode))
                return -1;
            i++;
        }
    }
    if (pct == 0 && !plus) {
        *rp = s;
        *rn = n;
        return 0;
    }
    char *out = expr_vm_alloc(vm, n + 1);
    if (out == NULL)
        return expr_helper_oom(vm) - 1; /* -2: out of memory, distinct from a bad escape */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            out[o++] = (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && mode == ENC_QUERY) {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    *rp = out;
    *rn = o;
    return 0;
}

static int
url_escape(struct expr_vm *vm, const char *s, size_t n, enum url_mode mode, struct expr_value *ret)
{
    size_t extra = 0;

    for (size_t i = 0; i < n; i++)
        if (should_escape((unsigned char)s[i], mode) && !(s[i] == ' ' && mode == ENC_QUERY))
            extra += 2;
    char *out = expr_vm_alloc(vm, n + extra + 1);
    if (out == NULL)
        return expr_helper_oom(vm);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' && mode == ENC_QUERY) {
            out[o++] = '+';
        } else if (should_escape(c, mode)) {
            out[o++] = '%';
            out[o++] = "0123456789ABCDEF"[c >> 4];
            out[o++] = "0123456789ABCDEF"[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    *ret = expr_strv(out, o);
    return 0;
}

static int
h_query_escape(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    const char *s;
    size_t n;

    EXPR_S_ARG(0, s, n);
    return url_escape(vm, s, n, ENC_QUERY, ret);
}

static int
h_path_escape(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    const char *s;
    size_t n;

    EXPR_S_ARG(0, s, n);
    return url_escape(vm, s, n, ENC_PATH_SEGMENT, ret);
}

/* PathUnescape / QueryUnescape: the input unchanged when an escape is malformed. */
static int
unescape_or_input(struct expr_vm *vm, const struct expr_value *args, enum url_mode mode,
                  struct expr_value *ret)
{
    const char *s, *p;
    size_t n, pn;

    EXPR_S_ARG(0, s, n);
    int rc = url_unescape(vm, s, n, mode, &p, &pn);
    if (rc == -2)
        return -1;
    *ret = rc == 0 ? expr_strv(p, pn) : args[0];
    return 0;
}

static int
h_path_unescape(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    return unescape_or_input(vm, args, ENC_PATH_SEGMENT, ret);
}

static int
h_query_unescape(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                 struct expr_value *ret)
{
    return unescape_or_input(vm, args, ENC_QUERY, ret);
}

/* Appends value to m[key] (a list of strings), creating the list. 0 or -1. */
static int
values_add(struct expr_vm *vm, struct expr_map *m, const char *k, size_t kn, const char *v,
           size_t vn)
{
    const struct expr_value *cur = expr_map_get(m, k, kn);
    struct expr_array *a;

    if (cur != NULL) {
        a = cur->u.a;
    } else {
        a = expr_vm_array(vm, 1);
        if (a == NULL ||
            expr_map_set(vm, m, k, kn, (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a }) != 0)
            return expr_helper_oom(vm);
    }
    if (expr_array_push(vm, a, expr_strv(v, vn)) != 0)
        return expr_helper_oom(vm);
    return 0;
}

/* net/url's parseQuery into m: 0, 1 on a malformed query (Go's err), -1 on OOM. */
static int
go_parse_query(struct expr_vm *vm, struct expr_map *m, const char *q, size_t n)
{
    int bad = 0;

    while (n > 0) {
        const char *amp = memchr(q, '&', n);
        size_t kl = amp != NULL ? (size_t)(amp - q) : n;
        const char *seg = q;
        q += amp != NULL ? kl + 1 : kl;
        n -= amp != NULL ? kl + 1 : kl;
        if (memchr(seg, ';', kl) != NULL) {
            bad = 1;
            continue;
        }
        if (kl == 0)
            continue;
        const char *eq = memchr(seg, '=', kl);
        size_t keyl = eq != NULL ? (size_t)(eq - seg) : kl;
        const char *val = eq != NULL ? eq + 1 : seg + kl;
        size_t vall = eq != NULL ? kl - keyl - 1 : 0;
        const char *k = NULL, *v = NULL;
        size_t kn = 0, vn = 0;
        int rc = url_unescape(vm, seg, keyl, ENC_QUERY, &k, &kn);
        if (rc == -2)
            return -1;
        if (rc != 0) {
            bad = 1;
            continue;
        }
        rc = url_unescape(vm, val, vall, ENC_QUERY, &v, &vn);
        if (rc == -2)
            return -1;
        if (rc != 0) {
            bad = 1;
            continue;
        }
        if (values_add(vm, m, k, kn, v, vn) != 0)
            return -1;
    }
    return bad;
}

static bool
valid_optional_port(const char *p, size_t n)
{
    if (n == 0)
        return true;
    if (p[0] != ':')
        return false;
    for (size_t i = 1; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static const char *
memrchr_c(const char *s, size_t n, char c)
{
    while (n-- > 0)
        if (s[n] == c)
            return s + n;
    return NULL;
}

/* net/url's parseHost, validation only: 0 valid, 1 invalid, -2 OOM. */
static int
url_check_host(struct expr_vm *vm, const char *h, size_t n)
{
    const char *p;
    size_t pn;

    if (n > 0 && h[0] == '[') {
        const char *rb = memrchr_c(h, n, ']');
        if (rb == NULL)
            return 1;
        size_t i = (size_t)(rb - h);
        if (!valid_optional_port(rb + 1, n - i - 1))
            return 1;
        const char *zone = memmem(h, i, "%25", 3);
        if (zone != NULL) {
            size_t z = (size_t)(zone - h);
            int rc = url_unescape(vm, h, z, ENC_HOST, &p, &pn);
            if (rc == 0)
                rc = url_unescape(vm, h + z, i - z, ENC_ZONE, &p, &pn);
            if (rc == 0)
                rc = url_unescape(vm, h + i, n - i, ENC_HOST, &p, &pn);
            return rc == -2 ? -2 : rc != 0;
        }
    } else {
        const char *colon = memrchr_c(h, n, ':');
        if (colon != NULL && !valid_optional_port(colon, n - (size_t)(colon - h)))
            return 1;
    }
    int rc = url_unescape(vm, h, n, ENC_HOST, &p, &pn);
    return rc == -2 ? -2 : rc != 0;
}

static bool
valid_userinfo(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            continue;
        if (c != '\0' && strchr("-._:~!$&'()*+,;=%@", c) != NULL)
            continue;
        /* Go ranges over runes: a non-ASCII rune is rejected just the same. */
        return false;
    }
    return true;
}

/*
 * url.Parse, validation only, and the raw query: 0 valid, 1 invalid, -2 OOM.
 * The checks are Go 1.19's: control bytes, scheme, a colon in a relative
 * first segment, the authority (userinfo, host, port), path and fragment
 * escapes.
 */
static int
url_parse(struct expr_vm *vm, const char *u, size_t n, const char **rq, size_t *rqn)
{
    const char *p;
    size_t pn;
    int rc;

    *rq = "";
    *rqn = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] < 0x20 || u[i] == 0x7F)
            return 1;
    const char *hash = memchr(u, '#', n);
    size_t un = hash != NULL ? (size_t)(hash - u) : n;
    if (hash != NULL) {
        rc = url_unescape(vm, hash + 1, n - un - 1, ENC_FRAGMENT, &p, &pn);
        if (rc != 0)
            return rc == -2 ? -2 : 1;
    }
    if (un == 1 && u[0] == '*')
        return 0;
    /* getScheme */
    size_t rest = 0;
    bool scheme = false;
    for (size_t i = 0; i < un; i++) {
        char c = u[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            continue;
        if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
            if (i == 0)
                break;
            continue;
        }
        if (c == ':') {
            if (i == 0)
                return 1; /* missing protocol scheme */
            scheme = true;
            rest = i + 1;
        }
        break;
    }
    const char *r = u + rest;
    size_t rn = un - rest;
    const char *qm = memchr(r, '?', rn);
    if (rn > 0 && r[rn - 1] == '?' && qm == r + rn - 1) {
        rn--; /* ForceQuery: "x?" has an empty query */
    } else if (qm != NULL) {
        *rq = qm + 1;
        *rqn = rn - (size_t)(qm - r) - 1;
        rn = (size_t)(qm - r);
    }
    if (rn == 0 || r[0] != '/') {
        if (scheme)
            return 0; /* opaque URL such as mailto:x */
        const char *colon = memchr(r, ':', rn);
        const char *slash = memchr(r, '/', rn);
        if (colon != NULL && (slash == NULL || colon < slash))
            return 1; /* first path segment in URL cannot contain colon */
    }
    if (rn >= 2 && r[0] == '/' && r[1] == '/' && (scheme || !(rn >= 3 && r[2] == '/'))) {
        const char *auth = r + 2;
        size_t an = rn - 2;
        const char *slash = memchr(auth, '/', an);
        if (slash != NULL)
            an = (size_t)(slash - auth);
        r = auth + an;
        rn = rn - 2 - an;
        const char *at = memrchr_c(auth, an, '@');
        if (at != NULL) {
            size_t ui = (size_t)(at - auth);
            rc = url_check_host(vm, at + 1, an - ui - 1);
            if (rc != 0)
                return rc;
            if (!valid_userinfo(auth, ui))
                return 1;
            const char *colon = memchr(auth, ':', ui);
            size_t un1 = colon != NULL ? (size_t)(colon - auth) : ui;
            rc = url_unescape(vm, auth, un1, ENC_USER, &p, &pn);
            if (rc == 0 && colon != NULL)
                rc = url_unescape(vm, colon + 1, ui - un1 - 1, ENC_USER, &p, &pn);
            if (rc != 0)
                return rc == -2 ? -2 : 1;
        } else {
            rc = url_check_host(vm, auth, an);
            if (rc != 0)
                return rc;
        }
    }
    rc = url_unescape(vm, r, rn, ENC_PATH, &p, &pn);
    if (rc != 0)
        return rc == -2 ? -2 : 1;
    return 0;
}

/* ParseUri(uri) map[string][]string: url.Parse + url.ParseQuery; empty on any error. */
static int
h_parse_uri(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s, *q;
    size_t n, qn;
    struct expr_map *m = expr_vm_map(vm, 4);
    struct expr_map *tmp;

    EXPR_S_ARG(0, s, n);
    if (m == NULL)
        return expr_helper_oom(vm);
    *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
    int rc = url_parse(vm, s, n, &q, &qn);
    if (rc == -2)
        return -1;
    if (rc != 0)
        return 0;
    tmp = expr_vm_map(vm, 4);
    if (tmp == NULL)
        return expr_helper_oom(vm);
    rc = go_parse_query(vm, tmp, q, qn);
    if (rc < 0)
        return -1;
    if (rc == 0)
        ret->u.m = tmp;
    return 0;
}

/* CrowdSec's lenient unescape (waf.go): '+' is a space, a bad escape stays as is. */
static void
lax_unescape(struct expr_vm *vm, const char *s, size_t n, const char **rp, size_t *rn)
{
    if (memchr(s, '%', n) == NULL && memchr(s, '+', n) == NULL) {
        *rp = s;
        *rn = n;
        return;
    }
    char *out = expr_vm_alloc(vm, n + 1);
    if (out == NULL) {
        *rp = NULL;
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            out[o++] = ' ';
        } else if (c == '%' && i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
            out[o++] = (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 2;
        } else {
            out[o++] = c;
        }
    }
    *rp = out;
    *rn = o;
}

static int
lax_parse_query(struct expr_vm *vm, const char *q, size_t n, struct expr_map **ret)
{
    struct expr_map *m = expr_vm_map(vm, 4);

    if (m == NULL)
        return expr_helper_oom(vm);
    while (n > 0) {
        const char *amp = memchr(q, '&', n);
        size_t kl = amp != NULL ? (size_t)(amp - q) : n;
        const char *seg = q;
        q += amp != NULL ? kl + 1 : kl;
        n -= amp != NULL ? kl + 1 : kl;
        if (kl == 0)
            continue;
        const char *eq = memchr(seg, '=', kl);
        size_t keyl = eq != NULL ? (size_t)(eq - seg) : kl;
        const char *k, *v;
        size_t kn, vn;
        lax_unescape(vm, seg, keyl, &k, &kn);
        if (eq != NULL)
            lax_unescape(vm, eq + 1, kl - keyl - 1, &v, &vn);
        else
            v = "", vn = 0;
        if (k == NULL || v == NULL)
            return expr_helper_oom(vm);
        if (values_add(vm, m, k, kn, v, vn) != 0)
            return -1;
    }
    *ret = m;
    return 0;
}

/* ParseQuery(q) url.Values: CrowdSec's parser that keeps ';' inside values. */
static int
h_parse_query(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    const char *s;
    size_t n;
    struct expr_map *m;

    EXPR_S_ARG(0, s, n);
    if (lax_parse_query(vm, s, n, &m) != 0)
        return -1;
    *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
    return 0;
}

/* ExtractQueryParam(uri, name) []string: values of name after the first '?'. */
static int
h_extract_query_param(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                      struct expr_value *ret)
{
    const char *s, *name;
    size_t n, nn;
    struct expr_map *m = NULL;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, name, nn);
    const char *qm = memchr(s, '?', n);
    if (qm != NULL && (size_t)(qm - s) + 1 < n) {
        if (lax_parse_query(vm, qm + 1, n - (size_t)(qm - s) - 1, &m) != 0)
            return -1;
        const struct expr_value *v = expr_map_get(m, name, nn);
        if (v != NULL) {
            *ret = *v;
            return 0;
        }
    }
    struct expr_array *a = expr_vm_array(vm, 0);
    if (a == NULL)
        return expr_helper_oom(vm);
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
    return 0;
}

/* ------------------------------------------------------------- distance */

/*
 * Distance(lat1, lon1, lat2, lon2) float64: haversine distance in km
 * (umahmood/haversine, radius 6371); 0 when either point is 0,0; a
 * coordinate that is not a float is a run-time error.
 */
static int
h_distance(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    static const char *names[4] = { "lat1", "long1", "lat2", "long2" };
    double c[4];

    for (int i = 0; i < 4; i++) {
        const char *s;
        size_t n;
        EXPR_S_ARG(i, s, n);
        int rc = expr_go_parse_float(s, n, &c[i]);
        if (rc == -ENOMEM)
            return expr_helper_oom(vm);
        if (rc != 0)
            return expr_vm_error(vm, "%s is not a float : strconv.ParseFloat: parsing \"%.*s\": %s",
                                 names[i], (int)MIN(n, 200), s,
                                 rc == -ERANGE ? "value out of range" : "invalid syntax");
    }
    if ((c[0] == 0 && c[1] == 0) || (c[2] == 0 && c[3] == 0)) {
        *ret = expr_float(0);
        return 0;
    }
    double lat1 = c[0] * M_PI / 180, lon1 = c[1] * M_PI / 180;
    double lat2 = c[2] * M_PI / 180, lon2 = c[3] * M_PI / 180;
    double dlat = lat2 - lat1, dlon = lon2 - lon1;
    double a = pow(sin(dlat / 2), 2) + cos(lat1) * cos(lat2) * pow(sin(dlon / 2), 2);
    double km = 2 * atan2(sqrt(a), sqrt(1 - a)) * 6371;
    *ret = expr_float(km);
    return 0;
}

/* ----------------------------------------------------------------- stash */

struct stash_item {
    char *key;
    size_t keylen;
    char *val;
    size_t vallen;
    int64_t expire_ns;
    struct stash_item *prev, *next; /* LRU list, most recent first */
};

struct stash {
    char *name;
    size_t size;
    int64_t ttl_ns;
    struct hashmap *items; /* key -> struct stash_item * (owned by the list) */
    struct stash_item *head, *tail;
};

static pthread_mutex_t stash_mu = PTHREAD_MUTEX_INITIALIZER;
static struct stash **stashes;
static size_t nstashes;

static struct stash *
stash_find(const char *name, size_t n)
{
    for (size_t i = 0; i < nstashes; i++)
        if (strlen(stashes[i]->name) == n && memcmp(stashes[i]->name, name, n) == 0)
            return stashes[i];
    return NULL;
}

static void
stash_unlink(struct stash *st, struct stash_item *it)
{
    if (it->prev != NULL)
        it->prev->next = it->next;
    else
        st->head = it->next;
    if (it->next != NULL)
        it->next->prev = it->prev;
    else
        st->tail = it->prev;
    it->prev = it->next = NULL;
}

static void
stash_push_front(struct stash *st, struct stash_item *it)
{
    it->next = st->head;
    it->prev = NULL;
    if (st->head != NULL)
        st->head->prev = it;
    st->head = it;
    if (st->tail == NULL)
        st->tail = it;
}

static void
stash_item_free(struct stash_item *it)
{
    if (it == NULL)
        return;
    free(it->key);
    free(it->val);
    free(it);
}

static void
stash_remove(struct stash *st, struct stash_item *it)
{
    stash_unlink(st, it);
    hashmap_remove(st->items, it->key, it->keylen);
    stash_item_free(it);
}

static void
stash_free(struct stash *st)
{
    if (st == NULL)
        return;
    for (struct stash_item *it = st->head, *next; it != NULL; it = next) {
        next = it->next;
        stash_item_free(it);
    }
    hashmap_free(st->items);
    free(st->name);
    free(st);
}

int
expr_stash_declare(const char *name, size_t size, int64_t ttl_ns)
{
    int rc = 0;

    pthread_mutex_lock(&stash_mu);
    /* CrowdSec reads the first cache of a name; a second declaration changes nothing. */
    if (stash_find(name, strlen(name)) != NULL)
        goto out;
    struct stash *st = calloc(1, sizeof(*st));
    struct stash **grown = realloc(stashes, (nstashes + 1) * sizeof(*stashes));
    if (grown != NULL)
        stashes = grown;
    if (st == NULL || grown == NULL || (st->name = strdup(name)) == NULL ||
        (st->items = hashmap_new(NULL)) == NULL) {
        stash_free(st);
        rc = -ENOMEM;
        goto out;
    }
    st->size = size;
    st->ttl_ns = ttl_ns;
    stashes[nstashes++] = st;
out:
    pthread_mutex_unlock(&stash_mu);
    return rc;
}

void
expr_stash_reset(void)
{
    pthread_mutex_lock(&stash_mu);
    for (size_t i = 0; i < nstashes; i++)
        stash_free(stashes[i]);
    free(stashes);
    stashes = NULL;
    nstashes = 0;
    pthread_mutex_unlock(&stash_mu);
}

int
expr_stash_set(const char *name, const char *key, size_t keylen, const char *val, size_t vallen,
               int64_t ttl_ns)
{
    int rc = 0;
    int64_t now = expr_clock_now().unix_ns;

    pthread_mutex_lock(&stash_mu);
    struct stash *st = stash_find(name, strlen(name));
    if (st == NULL)
        goto out; /* CrowdSec's SetKey ignores an unknown cache */
    if (ttl_ns < 0)
        ttl_ns = st->ttl_ns;
    char *v = malloc(vallen + 1);
    if (v == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(v, val, vallen);
    v[vallen] = '\0';
    struct stash_item *it = hashmap_get(st->items, key, keylen);
    if (it != NULL) {
        free(it->val);
        it->val = v;
        it->vallen = vallen;
        stash_unlink(st, it);
    } else {
        if (hashmap_len(st->items) >= st->size && st->tail != NULL)
            stash_remove(st, st->tail);
        it = calloc(1, sizeof(*it));
        if (it == NULL || (it->key = malloc(keylen + 1)) == NULL) {
            free(it);
            free(v);
            rc = -ENOMEM;
            goto out;
        }
        memcpy(it->key, key, keylen);
        it->key[keylen] = '\0';
        it->keylen = keylen;
        it->val = v;
        it->vallen = vallen;
        if (hashmap_put(st->items, key, keylen, it) != 0) {
            stash_item_free(it);
            rc = -ENOMEM;
            goto out;
        }
    }
    it->expire_ns = ttl_ns > INT64_MAX - now ? INT64_MAX : now + ttl_ns;
    stash_push_front(st, it);
out:
    pthread_mutex_unlock(&stash_mu);
    return rc;
}

/* GetFromStash(cache, key) string: "" for an unknown cache, a missing or an expired key. */
static int
h_get_from_stash(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                 struct expr_value *ret)
{
    const char *name, *key;
    size_t nn, kn;
    int64_t now = expr_clock_now().unix_ns;
    int rc = 0;

    EXPR_S_ARG(0, name, nn);
    EXPR_S_ARG(1, key, kn);
    *ret = expr_strv("", 0);
    pthread_mutex_lock(&stash_mu);
    struct stash *st = stash_find(name, nn);
    struct stash_item *it = st != NULL ? hashmap_get(st->items, key, kn) : NULL;
    if (it != NULL) {
        if (it->expire_ns < now) {
            stash_remove(st, it);
        } else {
            stash_unlink(st, it);
            stash_push_front(st, it);
            *ret = expr_vm_str(vm, it->val, it->vallen);
            if (ret->kind != EXPR_STRING)
                rc = expr_helper_oom(vm);
        }
    }
    pthread_mutex_unlock(&stash_mu);
    return rc;
}

/*
 * SetInStash(cache, key, value, ttl) nil. CrowdSec's fourth parameter is a
 * *time.Duration that no expression can build (its nil makes the helper
 * panic); we take nil as "the stash's ttl" and a duration as the ttl.
 */
static int
h_set_in_stash(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    const char *name, *key, *val;
    size_t nn, kn, vn;
    int64_t ttl = -1;
    char cname[256];

    EXPR_S_ARG(0, name, nn);
    EXPR_S_ARG(1, key, kn);
    EXPR_S_ARG(2, val, vn);
    if (args[3].kind == EXPR_DURATION)
        ttl = args[3].u.d < 0 ? 0 : args[3].u.d;
    else if (args[3].kind != EXPR_NIL)
        return expr_helper_type_error(vm, &args[3], "*time.Duration");
    *ret = expr_nil();
    if (nn >= sizeof(cname))
        return 0; /* no declared stash has such a name */
    memcpy(cname, name, nn);
    cname[nn] = '\0';
    if (expr_stash_set(cname, key, kn, val, vn, ttl) != 0)
        return expr_helper_oom(vm);
    return 0;
}

/*
 * JA4H(req): the JA4H fingerprint of an AppSec HTTP request. Requests only
 * exist inside the AppSec component, which Phalanx does not have yet, so no
 * value an expression can hold is a request: like CrowdSec given anything but
 * an *http.Request, this is a run-time error (CrowdSec panics, the caller sees
 * an error). Registered so that alert contexts using it load, as they do in
 * CrowdSec outside AppSec.
 */
static int
h_ja4h(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    UNUSED(nargs);
    UNUSED(ret);
    return expr_helper_type_error(vm, &args[0], "*http.Request");
}

#define T_STR EXPR_T(EXPR_STRING)

const struct expr_func expr_helpers_misc[] = {
    { "TimeNow", 0, 0, T_STR, h_time_now },
    { "ParseUnix", 1, 1, T_STR, h_parse_unix },
    { "AverageInterval", 1, 1, EXPR_T(EXPR_DURATION), h_average_interval },
    { "MedianInterval", 1, 1, EXPR_T(EXPR_DURATION), h_median_interval },
    { "ParseUri", 1, 1, EXPR_T(EXPR_MAP), h_parse_uri },
    { "ParseQuery", 1, 1, EXPR_T(EXPR_MAP), h_parse_query },
    { "ExtractQueryParam", 2, 2, EXPR_T(EXPR_ARRAY), h_extract_query_param },
    { "PathUnescape", 1, 1, T_STR, h_path_unescape },
    { "QueryUnescape", 1, 1, T_STR, h_query_unescape },
    { "PathEscape", 1, 1, T_STR, h_path_escape },
    { "QueryEscape", 1, 1, T_STR, h_query_escape },
    { "Distance", 4, 4, EXPR_T(EXPR_FLOAT), h_distance },
    { "GetFromStash", 2, 2, T_STR, h_get_from_stash },
    { "SetInStash", 4, 4, EXPR_T_ANY, h_set_in_stash },
    { "JA4H", 1, 1, T_STR, h_ja4h },
};
const size_t expr_helpers_misc_count = ARRAY_SIZE(expr_helpers_misc);
