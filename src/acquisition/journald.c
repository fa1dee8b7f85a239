/*
 * journald.c - the journalctl datasource (CrowdSec's modules/journalctl).
 *
 * CrowdSec runs `journalctl --follow -n 0 FILTERS` (tail) or `journalctl
 * FILTERS` (cat, from a DSN) and reads its stdout. We read the journal
 * directly with sd-journal instead, so the journalctl arguments are turned
 * into the same sd-journal matches journalctl would add, and every entry is
 * rendered as journalctl's default "short" output, one line per line of
 * the message: what the hub's parsers have always seen. The thread polls
 * the journal's fd and a wake pipe, so stopping is prompt. With cursor_file
 * (ours) the position is saved after each entry and resumed on start.
 */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "acquisition/internal.h"
#include "acquisition/journald.h"
#include "common/str.h"

#define JOURNALD_MAX_LINE    ((size_t)64 * 1024) /* bufio.Scanner's limit in CrowdSec */
#define JOURNALD_MAX_FIELD   ((size_t)1024 * 1024)
#define JOURNALD_MAX_FILTERS 256
#define JOURNALD_MAX_CURSOR  1024
#define PRINT_CHAR_THRESHOLD 300

struct journald_priv {
    char **filters;
    size_t nfilters;
    char *src;
    char *cursor_file;
    char *since;
    bool cat;
    struct journald_op *ops;
    size_t nops;

    sd_journal *j;
    int wake[2];
    pthread_t thread;
    bool thread_started;
};

static const char *const journald_keys[] = { "journalctl_filter", "cursor_file", NULL };

/* ---- filters ---- */

static bool
field_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static int
push_op(struct journald_op **ops, size_t *n, size_t *cap, int kind, const char *a, const char *b)
{
    struct journald_op op = { .kind = kind };
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct journald_op *v = realloc(*ops, nc * sizeof(*v));
        if (v == NULL)
            return -1;
        *ops = v;
        *cap = nc;
    }
    if (a != NULL) {
        size_t la = strlen(a), lb = b ? strlen(b) : 0;
        if ((op.str = malloc(la + lb + 1)) == NULL)
            return -1;
        memcpy(op.str, a, la);
        if (b != NULL)
            memcpy(op.str + la, b, lb);
        op.str[la + lb] = '\0';
    }
    (*ops)[(*n)++] = op;
    return 0;
}

static bool
has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* unit_name_mangle for plain names: a name without a unit type gets ".service". */
static char *
mangle_unit(const char *u)
{
    static const char *const types[] = { ".service", ".socket",    ".target", ".device",
                                         ".mount",   ".automount", ".swap",   ".timer",
                                         ".path",    ".slice",     ".scope" };
    size_t n = strlen(u);
    char *r;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        if (has_suffix(u, types[i]))
            return strdup(u);
    if ((r = malloc(n + 9)) == NULL)
        return NULL;
    memcpy(r, u, n);
    memcpy(r + n, ".service", 9);
    return r;
}

/*
 * Whether args[*i] is the option shrt ("-u") / lng ("--unit"): "-u X", "-uX",
 * "--unit X", "--unit=X", its value in *ret (*i moved past a separate value).
 * *missing when the option ends the list without its value.
 */
static bool
option_value(char *const *args, size_t nargs, size_t *i, const char *shrt, const char *lng,
             const char **ret, bool *missing)
{
    const char *a = args[*i], *eq;
    size_t ll = strlen(lng);
    *missing = false;
    if (strcmp(a, shrt) == 0 || strcmp(a, lng) == 0) {
        if (*i + 1 >= nargs) {
            *missing = true;
            return false;
        }
        *ret = args[++*i];
        return true;
    }
    /* Character by character, each read only after the previous one matched a non-NUL one. */
    if (a[0] == shrt[0] && a[1] == shrt[1] && a[1] != '-' && a[2] != '\0') {
        *ret = a + 2;
        return true;
    }
    /* lng has no '=': "--unit=X" is the one string whose first '=' follows the name. */
    if ((eq = strchr(a, '=')) != NULL && (size_t)(eq - a) == ll && strncmp(a, lng, ll) == 0) {
        *ret = eq + 1;
        return true;
    }
    return false;
}

int
journald_compile_filters(char *const *args, size_t nargs, struct journald_op **ret, size_t *ret_n,
                         char *err, size_t errlen)
{
    struct journald_op *ops = NULL;
    size_t n = 0, cap = 0, nunits = 0, nids = 0, npos = 0;
    const char **units = calloc(nargs + 1, sizeof(*units));
    const char **ids = calloc(nargs + 1, sizeof(*ids));
    const char **pos = calloc(nargs + 1, sizeof(*pos));
    bool have_term = false;
    int rc = -1;

    if (units == NULL || ids == NULL || pos == NULL)
        goto oom;
    if (nargs > JOURNALD_MAX_FILTERS) {
        snprintf(err, errlen, "too many journalctl_filter arguments (%zu, at most %d)", nargs,
                 JOURNALD_MAX_FILTERS);
        goto out;
    }
    for (size_t i = 0; i < nargs; i++) {
        const char *a = args[i], *v;
        bool missing;
        if (option_value(args, nargs, &i, "-u", "--unit", &v, &missing)) {
            units[nunits++] = v;
        } else if (!missing && option_value(args, nargs, &i, "-t", "--identifier", &v, &missing)) {
            ids[nids++] = v;
        } else if (missing) {
            snprintf(err, errlen, "journalctl option %s needs a value", a);
            goto out;
        } else if (a[0] == '-') {
            snprintf(err, errlen,
                     "unsupported journalctl option %.60s (supported: FIELD=value, +, -u, -t)", a);
            goto out;
        } else {
            pos[npos++] = a;
        }
    }
    for (size_t i = 0; i < nunits; i++) {
        char *u = mangle_unit(units[i]);
        bool ok;
        if (u == NULL)
            goto oom;
        if (strpbrk(u, "*?[") != NULL) {
            snprintf(err, errlen, "unit patterns are not supported: %.60s", units[i]);
            free(u);
            goto out;
        }
        ok = push_op(&ops, &n, &cap, JOURNALD_MATCH, "_SYSTEMD_UNIT=", u) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_OR, NULL, NULL) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_MATCH, "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1",
                     NULL) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_MATCH, "_UID=0", NULL) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_MATCH, "COREDUMP_UNIT=", u) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_OR, NULL, NULL) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_MATCH, "_PID=1", NULL) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_MATCH, "UNIT=", u) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_OR, NULL, NULL) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_MATCH, "_UID=0", NULL) == 0 &&
             push_op(&ops, &n, &cap, JOURNALD_MATCH, "OBJECT_SYSTEMD_UNIT=", u) == 0;
        if (ok && has_suffix(u, ".slice"))
            ok = push_op(&ops, &n, &cap, JOURNALD_OR, NULL, NULL) == 0 &&
                 push_op(&ops, &n, &cap, JOURNALD_MATCH, "_SYSTEMD_SLICE=", u) == 0;
        if (ok)
            ok = push_op(&ops, &n, &cap, JOURNALD_OR, NULL, NULL) == 0;
        free(u);
        if (!ok)
            goto oom;
    }
    if (nunits > 0 && push_op(&ops, &n, &cap, JOURNALD_AND, NULL, NULL) < 0)
        goto oom;
    for (size_t i = 0; i < nids; i++)
        if (push_op(&ops, &n, &cap, JOURNALD_MATCH, "SYSLOG_IDENTIFIER=", ids[i]) < 0 ||
            push_op(&ops, &n, &cap, JOURNALD_OR, NULL, NULL) < 0)
            goto oom;
    if (nids > 0 && push_op(&ops, &n, &cap, JOURNALD_AND, NULL, NULL) < 0)
        goto oom;
    for (size_t i = 0; i < npos; i++) {
        const char *a = pos[i], *eq;
        if (strcmp(a, "+") == 0) {
            if (!have_term)
                break;
            if (push_op(&ops, &n, &cap, JOURNALD_OR, NULL, NULL) < 0)
                goto oom;
            have_term = false;
            continue;
        }
        eq = strchr(a, '=');
        if (a[0] == '/') {
            snprintf(err, errlen, "path matches are not supported: %.60s", a);
            goto out;
        }
        if (eq == NULL || !field_name_valid(a, (size_t)(eq - a))) {
            snprintf(err, errlen, "failed to add match '%.60s': Invalid argument", a);
            goto out;
        }
        if (push_op(&ops, &n, &cap, JOURNALD_MATCH, a, NULL) < 0)
            goto oom;
        have_term = true;
    }
    if (npos > 0 && !have_term) {
        snprintf(err, errlen, "\"+\" can only be used between terms");
        goto out;
    }
    *ret = ops;
    *ret_n = n;
    ops = NULL;
    n = 0;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    journald_ops_free(ops, n);
    free(units);
    free(ids);
    free(pos);
    return rc;
}

void
journald_ops_free(struct journald_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ops[i].str);
    free(ops);
}

/* ---- short output ---- */

/* systemd's utf8_encoded_valid_unichar + decode: the length, or -1. */
static int
utf8_char(const unsigned char *p, size_t len, uint32_t *ret)
{
    int n;
    uint32_t cp;
    if (p[0] < 0x80) {
        *ret = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return -1;
    }
    if ((size_t)n > len)
        return -1;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp >= 0x110000 || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) ||
        (cp & 0xfffe) == 0xfffe)
        return -1;
    if ((cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4) != n)
        return -1; /* overlong */
    *ret = cp;
    return n;
}

/* utf8_is_printable: valid UTF-8 without control characters except TAB and LF. */
static bool
utf8_printable(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    while (len > 0) {
        uint32_t cp;
        int n = utf8_char(p, len, &cp);
        if (n < 0 || (cp < ' ' && cp != '\t' && cp != '\n') || (cp >= 0x7f && cp <= 0x9f))
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool
shall_print(const char *p, size_t l)
{
    return l < PRINT_CHAR_THRESHOLD && utf8_printable(p, l);
}

/* strip_tab_ansi: drops SGR ("ESC [ digits ; m") and OSC ("ESC ] ... BEL") sequences, TAB -> 8
 * spaces. */
static int
strip_tab_ansi(const char *in, size_t len, struct str *out)
{
    enum { OTHER, ESCAPE, CSI, CSO } state = OTHER;
    size_t begin = 0;
    int rc = 0;

    for (size_t i = 0; i <= len && rc == 0; i++) {
        bool eot = i >= len;
        char c = eot ? 0 : in[i];
        switch (state) {
        case OTHER:
            if (eot)
                break;
            if (c == '\x1b')
                state = ESCAPE;
            else if (c == '\t')
                rc = str_append(out, "        ", 8);
            else
                rc = str_append_char(out, c);
            break;
        case ESCAPE:
            if (eot) {
                rc = str_append_char(out, '\x1b');
            } else if (c == '[') {
                state = CSI;
                begin = i + 1;
            } else if (c == ']') {
                state = CSO;
                begin = i + 1;
            } else {
                rc = str_append_char(out, '\x1b');
                if (rc == 0)
                    rc = str_append_char(out, c);
                state = OTHER;
            }
            break;
        case CSI:
            if (eot || strchr("01234567890;m", c) == NULL || c == '\0') {
                rc = str_append(out, "\x1b[", 2);
                state = OTHER;
                i = begin - 1;
            } else if (c == 'm') {
                state = OTHER;
            }
            break;
        case CSO:
            if (eot || (c != '\a' && (unsigned char)c < 32) || (unsigned char)c > 126) {
                rc = str_append(out, "\x1b]", 2);
                state = OTHER;
                i = begin - 1;
            } else if (c == '\a') {
                state = OTHER;
            }
            break;
        }
    }
    return rc;
}

/* FORMAT_BYTES: IEC units with one decimal, "B" only below 1 KiB. */
static void
format_bytes(uint64_t t, char *buf, size_t l)
{
    static const struct {
        const char *suffix;
        uint64_t factor;
    } table[] = {
        { "E", 1ULL << 60 }, { "P", 1ULL << 50 }, { "T", 1ULL << 40 },
        { "G", 1ULL << 30 }, { "M", 1ULL << 20 }, { "K", 1ULL << 10 },
    };
    size_t n = ARRAY_SIZE(table);
    for (size_t i = 0; i < n; i++) {
        if (t >= table[i].factor) {
            uint64_t frac = i != n - 1 ? (t / table[i + 1].factor * 10 / table[n - 1].factor) % 10
                                       : (t * 10 / table[i].factor) % 10;
            snprintf(buf, l, "%" PRIu64 ".%" PRIu64 "%s", t / table[i].factor, frac,
                     table[i].suffix);
            return;
        }
    }
    snprintf(buf, l, "%" PRIu64 "B", t);
}

int
journald_format_short(const struct journald_entry *e, char **ret, size_t *ret_len)
{
    struct str out = { 0 }, msg = { 0 };
    char ts[64];
    struct tm tm;
    time_t t;
    size_t prefix;
    int rc = -ENOMEM;

    if (e->message == NULL)
        return -1;
    t = (time_t)(e->realtime_usec / 1000000);
    if (localtime_r(&t, &tm) == NULL || strftime(ts, sizeof(ts), "%b %d %H:%M:%S", &tm) == 0)
        snprintf(ts, sizeof(ts), "%s", "Jan 01 00:00:00");
    if (str_append_cstr(&out, ts) < 0)
        goto out;
    prefix = strlen(ts);
    if (e->hostname != NULL && shall_print(e->hostname, e->hostname_len)) {
        if (str_append_char(&out, ' ') < 0 || str_append(&out, e->hostname, e->hostname_len) < 0)
            goto out;
        prefix += e->hostname_len + 1;
    }
    if (e->identifier != NULL && shall_print(e->identifier, e->identifier_len)) {
        if (str_append_char(&out, ' ') < 0 ||
            str_append(&out, e->identifier, e->identifier_len) < 0)
            goto out;
        prefix += e->identifier_len + 1;
    } else if (e->comm != NULL && shall_print(e->comm, e->comm_len)) {
        if (str_append_char(&out, ' ') < 0 || str_append(&out, e->comm, e->comm_len) < 0)
            goto out;
        prefix += e->comm_len + 1;
    } else if (str_append_cstr(&out, " unknown") < 0) {
        goto out; /* journalctl does not count this one in the indent */
    }
    if (e->pid != NULL && shall_print(e->pid, e->pid_len)) {
        if (str_appendf(&out, "[%.*s]", (int)e->pid_len, e->pid) < 0)
            goto out;
        prefix += e->pid_len + 2;
    } else if (e->syslog_pid != NULL && shall_print(e->syslog_pid, e->syslog_pid_len)) {
        if (str_appendf(&out, "[%.*s]", (int)e->syslog_pid_len, e->syslog_pid) < 0)
            goto out;
        prefix += e->syslog_pid_len + 2;
    }
    if (str_append(&out, ": ", 2) < 0 || strip_tab_ansi(e->message, e->message_len, &msg) < 0)
        goto out;
    prefix += 2;
    if (!utf8_printable(msg.buf ? msg.buf : "", msg.len)) {
        char b[32];
        format_bytes(msg.len, b, sizeof(b));
        if (str_appendf(&out, "[%s blob data]", b) < 0)
            goto out;
    } else {
        const char *p = msg.buf, *end = msg.len > 0 ? msg.buf + msg.len : msg.buf;
        for (int line = 0; p != NULL && p < end; line++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (line > 0) {
                if (str_append_char(&out, '\n') < 0)
                    goto out;
                for (size_t k = 0; k < prefix; k++)
                    if (str_append_char(&out, ' ') < 0)
                        goto out;
            }
            if (str_append(&out, p, n) < 0)
                goto out;
            p = nl ? nl + 1 : end;
        }
    }
    *ret_len = out.len;
    if (out.buf == NULL && str_reserve(&out, 1) < 0)
        goto out;
    *ret = str_steal(&out);
    rc = 0;
out:
    str_free(&out);
    str_free(&msg);
    return rc;
}

/* ---- since ---- */

static int
local_midnight_usec(time_t t, int days_back, uint64_t *ret)
{
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL)
        return -1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday -= days_back;
    tm.tm_isdst = -1;
    t = mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    *ret = (uint64_t)t * 1000000;
    return 0;
}

/*
 * One unsigned decimal field of a --since date, 1 to maxdigits digits, at *p
 * (advanced past it): what sscanf's "%4d"/"%2d" read, minus the leading
 * blanks and sign it also took.
 */
static int
since_field(const char **p, size_t maxdigits, int *ret)
{
    const char *s = *p;
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || (size_t)(end - s) > maxdigits)
        return -1;
    *ret = (int)v; /* at most 4 digits */
    *p = end;
    return 0;
}

int
journald_parse_since(const char *s, uint64_t now_usec, uint64_t *ret_usec)
{
    time_t now = (time_t)(now_usec / 1000000);
    struct tm tm;
    char *end;
    const char *q = s;

    if (strcmp(s, "now") == 0) {
        *ret_usec = now_usec;
        return 0;
    }
    if (strcmp(s, "today") == 0)
        return local_midnight_usec(now, 0, ret_usec);
    if (strcmp(s, "yesterday") == 0)
        return local_midnight_usec(now, 1, ret_usec);
    if (s[0] == '-') {
        unsigned long long v;
        uint64_t mult;
        errno = 0;
        v = strtoull(s + 1, &end, 10);
        if (errno != 0 || end == s + 1)
            return -1;
        if (strcmp(end, "s") == 0)
            mult = 1000000ULL;
        else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
            mult = 60000000ULL;
        else if (strcmp(end, "h") == 0)
            mult = 3600000000ULL;
        else if (strcmp(end, "d") == 0)
            mult = 86400000000ULL;
        else
            return -1;
        if (v > now_usec / mult)
            return -1;
        *ret_usec = now_usec - v * mult;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if (since_field(&q, 4, &tm.tm_year) < 0 || *q++ != '-' || since_field(&q, 2, &tm.tm_mon) < 0 ||
        *q++ != '-' || since_field(&q, 2, &tm.tm_mday) < 0)
        return -1;
    if (*q != '\0') {
        while (isspace((unsigned char)*q))
            q++;
        if (since_field(&q, 2, &tm.tm_hour) < 0 || *q++ != ':' ||
            since_field(&q, 2, &tm.tm_min) < 0)
            return -1;
        if (*q == ':') {
            q++;
            if (since_field(&q, 2, &tm.tm_sec) < 0)
                return -1;
        }
        if (*q != '\0')
            return -1;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    now = mktime(&tm);
    if (now == (time_t)-1 || now < 0)
        return -1;
    *ret_usec = (uint64_t)now * 1000000;
    return 0;
}

/* ---- the datasource ---- */

static void journald_stop(struct acq_source *s);

static void
journald_free(struct acq_source *s)
{
    struct journald_priv *p = s->priv;
    if (p == NULL)
        return;
    if (p->thread_started) {
        atomic_store(&s->stopping, true);
        journald_stop(s);
    }
    acq_strings_free(p->filters, p->nfilters);
    journald_ops_free(p->ops, p->nops);
    free(p->src);
    free(p->cursor_file);
    free(p->since);
    free(p);
    s->priv = NULL;
}

/* Src, "journalctl-" + the filters joined by ".", and the matches; 0 or -1 with err. */
static int
finish_config(struct acq_source *s, struct acq_error *err, int line)
{
    struct journald_priv *p = s->priv;
    struct str src = { 0 };
    char msg[512];

    if (journald_compile_filters(p->filters, p->nfilters, &p->ops, &p->nops, msg, sizeof(msg)) <
        0) {
        if (line > 0)
            return acq_config_errorf(s, line, err, "journalctl_filter: %s", msg);
        acq_errorf(err, "%s", msg);
        return -1;
    }
    if (str_append_cstr(&src, "journalctl-") < 0)
        goto oom;
    for (size_t i = 0; i < p->nfilters; i++)
        if ((i > 0 && str_append_char(&src, '.') < 0) || str_append_cstr(&src, p->filters[i]) < 0)
            goto oom;
    p->src = str_steal(&src);
    free(s->describe);
    if (p->src == NULL || (s->describe = strdup(p->src)) == NULL)
        goto oom;
    return 0;
oom:
    str_free(&src);
    acq_errorf(err, "out of memory");
    return -1;
}

static int
journald_configure(struct acq_source *s, const struct ynode *doc, struct acq_error *err)
{
    struct journald_priv *p = calloc(1, sizeof(*p));
    const struct ynode *v;

    if (p == NULL) {
        acq_errorf(err, "out of memory");
        return -1;
    }
    s->priv = p;
    p->wake[0] = p->wake[1] = -1;
    if (acq_yaml_strings(s, doc, "journalctl_filter", &p->filters, &p->nfilters, err) < 0 ||
        acq_yaml_string(s, doc, "cursor_file", &p->cursor_file, err) < 0)
        return -1;
    if (p->nfilters == 0)
        return acq_config_errorf(s, s->common.line, err, "journalctl_filter is required");
    p->cat = s->common.mode != NULL && strcmp(s->common.mode, "cat") == 0;
    v = ynode_map_get(doc, "journalctl_filter");
    return finish_config(s, err, v ? v->line : s->common.line);
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Go's url.QueryUnescape: %XX and '+' as a space. NULL when malformed. */
static char *
query_unescape(const char *s, size_t n)
{
    char *r = malloc(n + 1), *w = r;
    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int h, l;
            if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0) {
                free(r);
                return NULL;
            }
            *w++ = (char)(h * 16 + l);
            i += 2;
        } else {
            *w++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *w = '\0';
    return r;
}

static int
journald_configure_dsn(struct acq_source *s, const char *rest, struct acq_error *err)
{
    struct journald_priv *p = calloc(1, sizeof(*p));
    static const char *const levels[] = { "panic",   "fatal", "error", "warn",
                                          "warning", "info",  "debug", "trace" };
    const char *q = rest;
    size_t cap = 0;

    if (p == NULL) {
        acq_errorf(err, "out of memory");
        return -1;
    }
    s->priv = p;
    p->wake[0] = p->wake[1] = -1;
    p->cat = true;
    if (rest[0] == '\0') {
        acq_errorf(err, "empty journalctl:// DSN");
        return -1;
    }
    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        char *key = NULL, *val = NULL;
        int bad = 0;
        if (n > 0) {
            key = query_unescape(q, eq ? (size_t)(eq - q) : n);
            val = query_unescape(eq ? eq + 1 : "", eq ? n - (size_t)(eq - q) - 1 : 0);
            if (key == NULL || val == NULL) {
                acq_errorf(err, "could not parse journalctl DSN: invalid URL escape");
                bad = 1;
            } else if (strcmp(key, "filters") == 0) {
                if (p->nfilters == cap) {
                    size_t nc = cap ? cap * 2 : 8;
                    char **nv =
                        nc > JOURNALD_MAX_FILTERS ? NULL : realloc(p->filters, nc * sizeof(*nv));
                    if (nv == NULL) {
                        acq_errorf(err, "too many filters in journalctl DSN");
                        bad = 1;
                    } else {
                        p->filters = nv;
                        cap = nc;
                    }
                }
                if (!bad) {
                    p->filters[p->nfilters++] = val;
                    val = NULL;
                }
            } else if (strcmp(key, "since") == 0) {
                if (p->since != NULL) {
                    acq_errorf(err, "expected exactly one value for 'since'");
                    bad = 1;
                } else {
                    p->since = val;
                    val = NULL;
                }
            } else if (strcmp(key, "log_level") == 0) {
                bool ok = false;
                for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
                    ok = ok || strcasecmp(val, levels[i]) == 0;
                if (!ok) {
                    acq_errorf(err, "not a valid logrus Level: \"%.60s\"", val);
                    bad = 1;
                }
            } else {
                acq_errorf(err, "unsupported key %.60s in journalctl DSN", key);
                bad = 1;
            }
        }
        free(key);
        free(val);
        if (bad)
            return -1;
        q += n;
        if (*q == '&')
            q++;
    }
    if (p->since != NULL) {
        uint64_t t;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (journald_parse_since(
                p->since, (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000, &t) < 0) {
            acq_errorf(err, "failed to parse since '%.60s'", p->since);
            return -1;
        }
    }
    return finish_config(s, err, 0);
}

/* The fields of the current entry, as output_short collects them (the last occurrence wins). */
static void
read_entry(sd_journal *j, struct journald_entry *e)
{
    static const struct {
        const char *name;
        size_t off_ptr, off_len;
    } fields[] = {
#define F(n, f) { n, offsetof(struct journald_entry, f), offsetof(struct journald_entry, f##_len) }
        F("_PID=", pid),
        F("_COMM=", comm),
        F("MESSAGE=", message),
        F("_HOSTNAME=", hostname),
        F("SYSLOG_PID=", syslog_pid),
        F("SYSLOG_IDENTIFIER=", identifier),
#undef F
    };
    const void *data;
    size_t len;
    uint64_t source_rt = 0;
    bool have_source_rt = false;

    memset(e, 0, sizeof(*e));
    SD_JOURNAL_FOREACH_DATA(j, data, len)
    {
        const char *d = data;
        for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
            size_t fl = strlen(fields[i].name);
            if (len >= fl && memcmp(d, fields[i].name, fl) == 0) {
                *(const char **)((char *)e + fields[i].off_ptr) = d + fl;
                *(size_t *)((char *)e + fields[i].off_len) = len - fl;
                break;
            }
        }
        if (len > 27 && len < 27 + 21 && memcmp(d, "_SOURCE_REALTIME_TIMESTAMP=", 27) == 0) {
            char num[24];
            char *end;
            memcpy(num, d + 27, len - 27);
            num[len - 27] = '\0';
            errno = 0;
            source_rt = strtoull(num, &end, 10);
            have_source_rt =
                errno == 0 && *end == '\0' && source_rt > 0 && source_rt < (UINT64_C(1) << 63);
        }
    }
    if (have_source_rt)
        e->realtime_usec = source_rt;
    else if (sd_journal_get_realtime_usec(j, &e->realtime_usec) < 0)
        e->realtime_usec = 0;
}

static void
save_cursor(struct acq_source *s, sd_journal *j)
{
    struct journald_priv *p = s->priv;
    char *cursor = NULL, *tmp = NULL;
    size_t n;
    FILE *f;

    if (p->cursor_file == NULL || sd_journal_get_cursor(j, &cursor) < 0)
        return;
    n = strlen(p->cursor_file) + 5;
    if ((tmp = malloc(n)) == NULL)
        goto out;
    snprintf(tmp, n, "%s.tmp", p->cursor_file);
    /* Written beside and renamed over, so a crash never leaves half a cursor. */
    if ((f = fopen(tmp, "w")) == NULL) {
        atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
        goto out;
    }
    if (fprintf(f, "%s\n", cursor) < 0 || fclose(f) != 0 || rename(tmp, p->cursor_file) != 0)
        atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
out:
    free(tmp);
    free(cursor);
}

/* Emits the current entry's lines; the emit callback's non-zero return. */
static int
emit_entry(struct acq_source *s, sd_journal *j)
{
    struct journald_priv *p = s->priv;
    struct journald_entry e;
    char *text = NULL;
    size_t len = 0;
    int rc = 0;

    read_entry(j, &e);
    if (journald_format_short(&e, &text, &len) < 0)
        return 0;
    for (const char *q = text, *end = text + len; rc == 0;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        size_t n = nl ? (size_t)(nl - q) : (size_t)(end - q);
        bool cut = n > JOURNALD_MAX_LINE;
        rc = acq_emit_line(s, p->src, q, cut ? JOURNALD_MAX_LINE : n, cut);
        if (nl == NULL)
            break;
        q = nl + 1;
    }
    free(text);
    return rc;
}

static void *
journald_thread(void *arg)
{
    struct acq_source *s = arg;
    struct journald_priv *p = s->priv;
    sd_journal *j = p->j;

    while (!atomic_load(&s->stopping)) {
        int r = sd_journal_next(j);
        if (r > 0) {
            if (emit_entry(s, j) != 0)
                break;
            save_cursor(s, j);
            continue;
        }
        if (r < 0)
            atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
        else if (p->cat)
            break;
        {
            struct pollfd pfd[2] = { { .fd = p->wake[0], .events = POLLIN },
                                     { .fd = sd_journal_get_fd(j), .events = POLLIN } };
            uint64_t tmo = UINT64_MAX;
            int ms = 1000;
            if (r == 0 && sd_journal_get_timeout(j, &tmo) >= 0 && tmo != UINT64_MAX) {
                struct timespec now;
                uint64_t now_us;
                clock_gettime(CLOCK_MONOTONIC, &now);
                now_us = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
                ms = tmo <= now_us ? 0 : (int)MIN((tmo - now_us + 999) / 1000, 1000);
            }
            pfd[1].events = (short)(r == 0 ? sd_journal_get_events(j) : 0);
            if (pfd[1].fd < 0 || pfd[1].events < 0)
                pfd[1].events = 0;
            poll(pfd, 2, ms);
            if (r == 0)
                sd_journal_process(j);
        }
    }
    atomic_store(&s->running, false);
    return NULL;
}

static int
apply_matches(struct journald_priv *p)
{
    for (size_t i = 0; i < p->nops; i++) {
        int r = 0;
        switch (p->ops[i].kind) {
        case JOURNALD_MATCH: r = sd_journal_add_match(p->j, p->ops[i].str, 0); break;
        case JOURNALD_OR: r = sd_journal_add_disjunction(p->j); break;
        case JOURNALD_AND: r = sd_journal_add_conjunction(p->j); break;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

/* Where reading starts: the stored cursor, the end (tail), --since or the beginning (cat). */
static int
seek_start(struct acq_source *s, struct acq_error *err)
{
    struct journald_priv *p = s->priv;
    char cursor[JOURNALD_MAX_CURSOR + 2];
    FILE *f;
    int r;

    if (p->cat) {
        uint64_t t;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (p->since != NULL &&
            journald_parse_since(
                p->since, (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000, &t) == 0)
            r = sd_journal_seek_realtime_usec(p->j, t);
        else
            r = sd_journal_seek_head(p->j);
        goto done;
    }
    if (p->cursor_file != NULL && (f = fopen(p->cursor_file, "r")) != NULL) {
        bool ok = fgets(cursor, sizeof(cursor), f) != NULL;
        fclose(f);
        cursor[strcspn(cursor, "\r\n")] = '\0';
        if (ok && cursor[0] != '\0') {
            if (sd_journal_seek_cursor(p->j, cursor) >= 0) {
                /* The saved entry was already emitted: step past it. */
                r = sd_journal_next(p->j);
                if (r > 0 && sd_journal_test_cursor(p->j, cursor) <= 0)
                    sd_journal_previous(p->j);
                return 0;
            }
            acq_warnf(s, "invalid cursor in %s, starting at the end of the journal",
                      p->cursor_file);
        }
    }
    /* -n 0: the last matching entry is the position; with none, new ones come from the head. */
    r = sd_journal_seek_tail(p->j);
    if (r >= 0) {
        r = sd_journal_previous(p->j);
        if (r == 0)
            r = sd_journal_seek_head(p->j);
    }
done:
    if (r < 0) {
        acq_errorf(err, "could not seek in the journal: %s", strerror(-r));
        return -1;
    }
    return 0;
}

static int
journald_start(struct acq_source *s, struct acq_error *err)
{
    struct journald_priv *p = s->priv;
    int r;

    if (!p->cat && access("/run/systemd/journal/socket", F_OK) != 0) {
        acq_errorf(err, "journald is not running (no /run/systemd/journal/socket)");
        return -1;
    }
    if ((r = sd_journal_open(&p->j, SD_JOURNAL_LOCAL_ONLY)) < 0) {
        acq_errorf(err, "could not open the journal: %s", strerror(-r));
        p->j = NULL;
        return -1;
    }
    sd_journal_set_data_threshold(p->j, JOURNALD_MAX_FIELD);
    if ((r = apply_matches(p)) < 0) {
        acq_errorf(err, "could not add journal matches: %s", strerror(-r));
        goto fail;
    }
    if (!p->cat && (r = sd_journal_get_fd(p->j)) < 0) {
        acq_errorf(err, "could not watch the journal: %s", strerror(-r));
        goto fail;
    }
    if (seek_start(s, err) < 0)
        goto fail;
    if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        acq_errorf(err, "could not create pipe: %s", strerror(errno));
        goto fail;
    }
    atomic_store(&s->running, true);
    if (pthread_create(&p->thread, NULL, journald_thread, s) != 0) {
        atomic_store(&s->running, false);
        acq_errorf(err, "could not start thread");
        goto fail;
    }
    p->thread_started = true;
    return 0;
fail:
    for (int i = 0; i < 2; i++)
        if (p->wake[i] >= 0) {
            close(p->wake[i]);
            p->wake[i] = -1;
        }
    sd_journal_close(p->j);
    p->j = NULL;
    return -1;
}

static void
journald_stop(struct acq_source *s)
{
    struct journald_priv *p = s->priv;
    if (p == NULL || !p->thread_started)
        return;
    if (p->wake[1] >= 0) {
        ssize_t w = write(p->wake[1], "x", 1);
        UNUSED(w);
    }
    pthread_join(p->thread, NULL);
    p->thread_started = false;
    for (int i = 0; i < 2; i++)
        if (p->wake[i] >= 0) {
            close(p->wake[i]);
            p->wake[i] = -1;
        }
    sd_journal_close(p->j);
    p->j = NULL;
}

const struct acq_source_ops acq_journalctl_ops = {
    .type = "journalctl",
    .keys = journald_keys,
    .configure = journald_configure,
    .configure_dsn = journald_configure_dsn,
    .start = journald_start,
    .stop = journald_stop,
    .free = journald_free,
};
