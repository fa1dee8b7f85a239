/*
 * syslog_parse.c - what the syslog datasource does with bytes, without
 * sockets: CrowdSec's two hand-written syslog parsers
 * (pkg/acquisition/modules/syslog/internal/parser/rfc3164 and rfc5424),
 * the line it rebuilds from their fields (run.go buildLogFromSyslog), and
 * the framing of TCP streams.
 *
 * The parsers are reproduced quirk for quirk, because the hub's parsers were
 * written against their output: an RFC 3164 tag is alphanumeric only (so
 * "systemd-logind[1]:" leaves "-logind[1]:" in the message), timestamps
 * are matched by trying Go time layouts on fixed-length slices of the
 * input, and one byte is skipped after the timestamp whatever it is. The
 * small Go time.Parse subset those layouts need is implemented here.
 */
#include <strings.h>

#include "acquisition/syslog_parse.h"

/* Go time layouts written with one letter per element (see go_parse). */
struct go_layout {
    const char *elems;
    size_t golen; /* length of the Go layout string: the slice tried */
};

/* time.RFC3339 and the four layouts rfc3164 tries after it, in its order. */
static const struct go_layout rfc3164_layouts[] = {
    { "Y-m-dTH:I:SZ", 25 }, { "M d H:I:S Y", 20 }, { "M u H:I:S Y", 20 },
    { "M d H:I:S", 15 },    { "M u H:I:S", 15 },
};
static const char rfc3339_elems[] = "Y-m-dTH:I:SZ";

static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c);
}

static bool
is_leap(int y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
days_in(int month, int year)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month == 2 && is_leap(year))
        return 29;
    return days[month - 1];
}

/* Go's getnum: one or two digits; fixed demands two. */
static int
go_getnum(const char **p, const char *end, bool fixed, int *ret)
{
    const char *s = *p;
    if (s >= end || !is_digit(s[0]))
        return -1;
    if (s + 1 >= end || !is_digit(s[1])) {
        if (fixed)
            return -1;
        *ret = s[0] - '0';
        *p = s + 1;
        return 0;
    }
    *ret = (s[0] - '0') * 10 + (s[1] - '0');
    *p = s + 2;
    return 0;
}

/*
 * time.Parse(layout, value) for the layouts above: M=Jan d=02 u=_2 H=15 I=04
 * S=05 Y=2006 m=01 Z=Z07:00, any other byte a literal (a literal space
 * matches a run of spaces, as Go's skip does). The whole value must be used.
 */
static int
go_parse(const char *elems, const char *s, size_t len, struct syslog_time *ret)
{
    const char *p = s, *end = s + len;
    struct syslog_time t = { .year = 0, .month = 1, .day = 1 };

    for (const char *e = elems; *e; e++) {
        switch (*e) {
        case 'M': {
            int found = -1;
            if (end - p >= 3) {
                for (int i = 0; i < 12 && found < 0; i++)
                    if (strncasecmp(p, month_names[i], 3) == 0)
                        found = i;
            }
            if (found < 0)
                return -1;
            t.month = found + 1;
            p += 3;
            break;
        }
        case 'm':
            if (go_getnum(&p, end, true, &t.month) < 0 || t.month < 1 || t.month > 12)
                return -1;
            break;
        case 'd':
        case 'u':
            if (*e == 'u' && p < end && *p == ' ')
                p++;
            if (go_getnum(&p, end, *e == 'd', &t.day) < 0)
                return -1;
            break;
        case 'H':
            if (go_getnum(&p, end, false, &t.hour) < 0 || t.hour >= 24)
                return -1;
            break;
        case 'I':
            if (go_getnum(&p, end, true, &t.min) < 0 || t.min >= 60)
                return -1;
            break;
        case 'S':
            if (go_getnum(&p, end, true, &t.sec) < 0 || t.sec >= 60)
                return -1;
            /* Go takes a fraction after the seconds even when the layout has none. */
            if (end - p >= 2 && (*p == '.' || *p == ',') && is_digit(p[1])) {
                long ns = 0;
                int digits = 0;
                p++;
                while (p < end && is_digit(*p)) {
                    if (digits < 9) {
                        ns = ns * 10 + (*p - '0');
                        digits++;
                    }
                    p++;
                }
                while (digits++ < 9)
                    ns *= 10;
                t.nsec = ns;
            }
            break;
        case 'Y':
            if (end - p < 4)
                return -1;
            for (int i = 0; i < 4; i++)
                if (!is_digit(p[i]))
                    return -1;
            t.year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
            p += 4;
            break;
        case 'Z': {
            int hr, mm;
            const char *q;
            if (p < end && *p == 'Z') {
                p++;
                t.offset = 0;
                break;
            }
            if (end - p < 6 || p[3] != ':' || (p[0] != '+' && p[0] != '-'))
                return -1;
            q = p + 1;
            if (go_getnum(&q, p + 3, true, &hr) < 0)
                return -1;
            q = p + 4;
            if (go_getnum(&q, p + 6, true, &mm) < 0)
                return -1;
            if (hr > 24 || mm > 60)
                return -1;
            t.offset = (hr * 3600 + mm * 60) * (p[0] == '-' ? -1 : 1);
            p += 6;
            break;
        }
        case ' ':
            if (p < end && *p != ' ')
                return -1;
            while (e[1] == ' ')
                e++;
            while (p < end && *p == ' ')
                p++;
            break;
        default:
            if (p >= end || *p != *e)
                return -1;
            p++;
            break;
        }
    }
    if (p != end)
        return -1;
    if (t.day < 1 || t.day > days_in(t.month, t.year))
        return -1;
    *ret = t;
    return 0;
}

/* The shared "<PRI>" of both parsers: up to '>' or the end, digits only, <= 999. */
static int
parse_pri(const char *buf, size_t len, size_t *pos)
{
    size_t p = *pos;
    int pri = 0;

    if (buf[p] != '<')
        return -1;
    p++;
    while (p < len) {
        char c = buf[p];
        if (c == '>') {
            p++;
            break;
        }
        if (!is_digit(c))
            return -1;
        if (pri <= 999)
            pri = pri * 10 + (c - '0');
        p++;
    }
    if (pri > 999)
        return -1;
    if (p == len && buf[p - 1] != '>')
        return -1;
    *pos = p;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
time_from_unix(int64_t secs, struct syslog_time *ret)
{
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* civil_from_days */
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    memset(ret, 0, sizeof(*ret));
    ret->year = (int)(yoe + era * 400 + (m <= 2));
    ret->month = m;
    ret->day = d;
    ret->hour = (int)(rem / 3600);
    ret->min = (int)(rem % 3600 / 60);
    ret->sec = (int)(rem % 60);
}

/* Go's time.Time.IsZero: the instant is 0001-01-01 00:00:00 UTC. */
static bool
time_is_zero(const struct syslog_time *t)
{
    int64_t secs = days_from_civil(t->year, t->month, t->day) * 86400 + (int64_t)t->hour * 3600 +
                   (int64_t)t->min * 60 + t->sec - t->offset;
    return t->nsec == 0 && secs == days_from_civil(1, 1, 1) * 86400;
}

int
syslog_parse_rfc3164(const char *buf, size_t len, int current_year, struct syslog_msg *ret)
{
    struct syslog_msg m;
    size_t pos = 0, start;
    bool found = false;

    memset(&m, 0, sizeof(m));
    if (len == 0 || parse_pri(buf, len, &pos) < 0)
        return -1;

    for (size_t i = 0; i < ARRAY_SIZE(rfc3164_layouts) && !found; i++) {
        size_t tl = rfc3164_layouts[i].golen;
        if (pos + tl > len)
            continue;
        if (go_parse(rfc3164_layouts[i].elems, buf + pos, tl, &m.ts) == 0) {
            found = true;
            pos += tl;
        }
    }
    if (!found)
        return -1;
    if (m.ts.year == 0) {
        /* time.Date normalises: Feb 29 of a common year is Mar 1. */
        m.ts.year = current_year;
        if (m.ts.day > days_in(m.ts.month, m.ts.year)) {
            m.ts.day -= days_in(m.ts.month, m.ts.year);
            if (++m.ts.month > 12) {
                m.ts.month = 1;
                m.ts.year++;
            }
        }
    }
    pos++; /* the byte after the timestamp, whatever it is */
    if (pos >= len)
        return -1;

    start = pos;
    while (pos < len && buf[pos] != ' ')
        pos++;
    m.host = buf + start;
    m.host_len = pos - start;
    if (pos < len)
        pos++;
    if (m.host_len == 0)
        return -1;

    start = pos;
    while (pos < len && is_alnum(buf[pos]))
        pos++;
    if (pos == start)
        return -1;
    m.tag = buf + start;
    m.tag_len = pos - start;
    if (pos == len)
        return -1; /* a tag and no message */
    if (buf[pos] == '[') {
        bool closed = false;
        start = ++pos;
        while (pos < len) {
            if (buf[pos] == ']') {
                closed = true;
                break;
            }
            if (!is_digit(buf[pos]))
                return -1;
            pos++;
        }
        if (!closed)
            return -1;
        m.pid = buf + start;
        m.pid_len = pos - start;
        pos++;
    }
    if (pos == len)
        return -1;
    if (buf[pos] == ':')
        pos++;
    while (pos < len && buf[pos] == ' ')
        pos++;
    if (pos >= len)
        return -1;
    m.msg = buf + pos;
    m.msg_len = len - pos;
    *ret = m;
    return 0;
}

/* An RFC 5424 header field up to a space (consumed), "-" is nil. */
static int
field_5424(const char *buf, size_t len, size_t *pos, size_t maxlen, const char **ret,
           size_t *ret_len)
{
    size_t p = *pos, start;
    if (buf[p] == '-') {
        *ret = NULL;
        *ret_len = 0;
        *pos = p + 2;
        return 0;
    }
    start = p;
    while (p < len && buf[p] != ' ')
        p++;
    if (p == start || p - start > maxlen)
        return -1;
    *ret = buf + start;
    *ret_len = p - start;
    if (p < len)
        p++;
    *pos = p;
    return 0;
}

int
syslog_parse_rfc5424(const char *buf, size_t len, int64_t now_s, struct syslog_msg *ret)
{
    struct syslog_msg m;
    size_t pos = 0, start;
    const char *msgid;
    size_t msgid_len;

    memset(&m, 0, sizeof(m));
    if (len == 0 || parse_pri(buf, len, &pos) < 0 || pos >= len)
        return -1;
    if (buf[pos] != '1')
        return -1;
    pos += 2;
    if (pos >= len)
        return -1;

    if (buf[pos] == '-') {
        time_from_unix(now_s, &m.ts);
        pos += 2;
    } else {
        start = pos;
        while (pos < len && buf[pos] != ' ')
            pos++;
        if (pos == start || pos == len)
            return -1;
        if (go_parse(rfc3339_elems, buf + start, pos - start, &m.ts) < 0)
            return -1;
        pos++;
    }
    if (pos >= len)
        return -1;

    if (field_5424(buf, len, &pos, SIZE_MAX, &m.host, &m.host_len) < 0 || pos >= len)
        return -1;
    if (field_5424(buf, len, &pos, 48, &m.tag, &m.tag_len) < 0 || pos >= len)
        return -1;
    if (field_5424(buf, len, &pos, 128, &m.pid, &m.pid_len) < 0 || pos >= len)
        return -1;
    if (field_5424(buf, len, &pos, 32, &msgid, &msgid_len) < 0 || pos >= len)
        return -1;

    if (buf[pos] == '-') {
        pos += 2;
    } else {
        bool done = false;
        char prev = 0;
        if (buf[pos] != '[')
            return -1;
        while (pos < len) {
            char c = buf[pos];
            done = false;
            if (c == ']' && prev != '\\') {
                done = true;
                pos++;
                if (pos < len && buf[pos] == ' ')
                    break;
            }
            prev = c;
            pos++;
        }
        pos++;
        if (!done)
            return -1;
    }
    if (pos >= len)
        return -1;
    m.msg = buf + pos;
    m.msg_len = len - pos;
    *ret = m;
    return 0;
}

struct out_buf {
    char *p;
    size_t cap, len;
    bool overflow;
};

static void
out_put(struct out_buf *o, const char *s, size_t n)
{
    if (o->overflow || n > o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void
out_str(struct out_buf *o, const char *s)
{
    out_put(o, s, strlen(s));
}

/* Go's Format("Jan 2 15:04:05"): the day is not padded. */
static void
out_time(struct out_buf *o, const struct syslog_time *t)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%s %d %02d:%02d:%02d", month_names[t->month - 1], t->day,
                     t->hour, t->min, t->sec);
    out_put(o, tmp, (size_t)n);
}

int
syslog_build_line(const char *buf, size_t len, bool disable_rfc, int64_t now_s, char *out,
                  size_t outsz, size_t *ret_len)
{
    struct out_buf o = { .p = out, .cap = outsz };
    struct syslog_msg m;

    if (disable_rfc) {
        /* run.go stripPRI: the first '>' anywhere, at most 3 digits before it. */
        const char *gt;
        size_t end;
        if (len < 3 || buf[0] != '<')
            return -1;
        gt = memchr(buf, '>', len);
        if (gt == NULL)
            return -1;
        end = (size_t)(gt - buf);
        if (end > 4)
            return -1;
        for (size_t i = 1; i < end; i++)
            if (!is_digit(buf[i]))
                return -1;
        out_put(&o, buf + end + 1, len - end - 1);
    } else {
        struct syslog_time now;
        time_from_unix(now_s, &now);
        if (syslog_parse_rfc3164(buf, len, now.year, &m) < 0 &&
            syslog_parse_rfc5424(buf, len, now_s, &m) < 0)
            return -1;
        out_time(&o, time_is_zero(&m.ts) ? &now : &m.ts);
        out_str(&o, " ");
        if (m.host_len > 0)
            out_put(&o, m.host, m.host_len);
        else
            out_str(&o, "unknownhost");
        if (m.tag_len > 0) {
            out_str(&o, " ");
            out_put(&o, m.tag, m.tag_len);
        }
        if (m.pid_len > 0) {
            out_str(&o, "[");
            out_put(&o, m.pid, m.pid_len);
            out_str(&o, "]: ");
        } else {
            out_str(&o, ": ");
        }
        out_put(&o, m.msg, m.msg_len);
    }
    if (o.overflow)
        return -ENOSPC;
    if (o.len > 0 && out[o.len - 1] == '\n')
        o.len--;
    *ret_len = o.len;
    return 0;
}

int
syslog_framer_init(struct syslog_framer *f, size_t max_len)
{
    memset(f, 0, sizeof(*f));
    f->max_len = max_len;
    f->cap = max_len + SYSLOG_FRAME_SLACK;
    f->buf = malloc(f->cap);
    return f->buf ? 0 : -ENOMEM;
}

void
syslog_framer_release(struct syslog_framer *f)
{
    free(f->buf);
    f->buf = NULL;
}

char *
syslog_framer_space(struct syslog_framer *f, size_t *ret_room)
{
    *ret_room = f->cap - f->used;
    return f->buf + f->used;
}

void
syslog_framer_commit(struct syslog_framer *f, size_t n)
{
    f->used += MIN(n, f->cap - f->used);
}

/*
 * Digits of an octet count: the count, or -2 when more bytes are needed,
 * -1 when malformed (more than 9 digits or no space after them).
 */
static int64_t
octet_count(const char *p, size_t n, size_t *ret_hdr)
{
    int64_t v = 0;
    size_t i = 0;
    while (i < n && is_digit(p[i])) {
        if (i >= 9)
            return -1;
        v = v * 10 + (p[i] - '0');
        i++;
    }
    if (i == n)
        return -2;
    if (p[i] != ' ')
        return -1;
    *ret_hdr = i + 1;
    return v;
}

int
syslog_framer_process(struct syslog_framer *f, bool at_eof, syslog_frame_fn cb, void *ctx)
{
    size_t pos = 0;
    int rc = 0;

    while (rc == 0) {
        size_t avail = f->used - pos;
        const char *p = f->buf + pos;

        if (f->skip_bytes > 0) {
            size_t n = MIN(f->skip_bytes, avail);
            pos += n;
            f->skip_bytes -= n;
            if (f->skip_bytes > 0)
                break;
            continue;
        }
        if (f->skip_line) {
            const char *lf = memchr(p, '\n', avail);
            if (lf == NULL) {
                pos = f->used;
                break;
            }
            pos += (size_t)(lf - p) + 1;
            f->skip_line = false;
            continue;
        }
        if (avail == 0)
            break;
        if (*p == '\n' || *p == '\r') {
            pos++; /* empty frames between messages */
            continue;
        }
        if (is_digit(*p)) {
            size_t hdr = 0;
            int64_t n = octet_count(p, avail, &hdr);
            if (n == -1 || (n == -2 && at_eof)) {
                f->malformed++;
                rc = -EBADMSG;
                break;
            }
            if (n == -2)
                break;
            if ((uint64_t)n > f->max_len) {
                f->truncated++;
                pos += hdr;
                f->skip_bytes = (size_t)n;
                continue;
            }
            if (avail - hdr < (size_t)n) {
                if (at_eof) {
                    f->malformed++;
                    rc = -EBADMSG;
                }
                break;
            }
            pos += hdr + (size_t)n;
            if (n > 0)
                rc = cb(ctx, p + hdr, (size_t)n);
            continue;
        }
        {
            const char *lf = memchr(p, '\n', avail);
            size_t n = lf ? (size_t)(lf - p) : avail;
            if (lf == NULL && !at_eof) {
                if (avail > f->max_len) {
                    f->truncated++;
                    f->skip_line = true;
                    pos = f->used;
                }
                break;
            }
            pos += n + (lf ? 1 : 0);
            if (n > 0 && p[n - 1] == '\r')
                n--;
            if (n > f->max_len)
                f->truncated++;
            else if (n > 0)
                rc = cb(ctx, p, n);
        }
    }
    if (pos > 0) {
        memmove(f->buf, f->buf + pos, f->used - pos);
        f->used -= pos;
    }
    return rc;
}
