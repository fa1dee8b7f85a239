/*
 * test_syslog.c - the syslog datasource: CrowdSec's RFC 3164 / RFC 5424
 * parsing and line rebuilding (expected lines produced by CrowdSec's own Go
 * parsers), the TCP framer, the configuration checks, and a live server fed
 * by the real `logger` binary over UDP and TCP plus raw sockets for
 * oversized and malformed frames.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "acquisition/acquisition.h"
#include "acquisition/syslog_parse.h"

/* 2023-11-14 22:13:20 UTC: a common year, so "Feb 29" without a year becomes Mar 1. */
#define NOW_S 1700000000

struct line_case {
    const char *in;
    const char *want; /* NULL: the message is dropped */
};

/* Expected values come from CrowdSec's rfc3164/rfc5424 packages run on the same input. */
static const struct line_case line_cases[] = {
    { "<13>Jan  2 15:04:05 myhost sshd[1234]: Failed password for root",
      "Jan 2 15:04:05 myhost sshd[1234]: Failed password for root" },
    { "<13>Jan 02 15:04:05 myhost sshd[1234]: Failed password for root",
      "Jan 2 15:04:05 myhost sshd[1234]: Failed password for root" },
    { "<13>Jan 2 15:04:05 myhost sshd: x", NULL },
    { "<13>Jan 12 15:04:05 myhost sshd: msg\n", "Jan 12 15:04:05 myhost sshd: msg" },
    { "<13>Jan 12 15:04:05 2021 myhost sshd: with year", "Jan 12 15:04:05 myhost sshd: with year" },
    { "<13>jan 12 15:04:05 myhost sshd: lower month", "Jan 12 15:04:05 myhost sshd: lower month" },
    { "<13>Feb 29 10:00:00 host app: leap", "Mar 1 10:00:00 host app: leap" },
    { "<13>Feb 29 10:00:00 2021 host app: leap explicit",
      "Mar 1 10:00:00 2021 host: app: leap explicit" },
    { "<13>Feb 29 10:00:00 2024 host app: leap ok", "Feb 29 10:00:00 host app: leap ok" },
    { "<34>2021-05-18T11:58:40+02:00 host app[12]: iso", "May 18 11:58:40 host app[12]: iso" },
    { "<34>2021-05-18T11:58:40Z host app[12]: isoz", NULL },
    { "<34>2021-05-18T11:58:40.828081+02:00 host app[12]: isonano", NULL },
    { "<13>Jan 12 15:04:05 myhost systemd-logind[1]: New session",
      "Jan 12 15:04:05 myhost systemd: -logind[1]: New session" },
    { "<13>Jan 12 15:04:05 sshd[1234]: missing host", "Jan 12 15:04:05 sshd[1234]: missing: host" },
    { "<13>Jan 12 15:04:05 myhost sshd[12a]: bad pid", NULL },
    { "<13>Jan 12 15:04:05 myhost sshd[12: unclosed", NULL },
    { "<13>Jan 12 15:04:05 myhost sshd", NULL },
    { "<13>Jan 12 15:04:05 myhost sshd:   ", NULL },
    { "<13>Jan 12 15:04:05 myhost sshd:msg", "Jan 12 15:04:05 myhost sshd: msg" },
    { "<13>Jan 12 15:04:05  myhost sshd: double", NULL },
    { "<13>Jan 12 25:04:05 myhost sshd: bad hour", NULL },
    { "<13>Jan 32 15:04:05 myhost sshd: bad day", NULL },
    { "<1000>Jan 12 15:04:05 myhost sshd: pri", NULL },
    { "<>Jan 12 15:04:05 myhost sshd: empty pri", "Jan 12 15:04:05 myhost sshd: empty pri" },
    { "13>Jan 12 15:04:05 myhost sshd: no lt", NULL },
    { "<13", NULL },
    { "<", NULL },
    { "<13>", NULL },
    { "<13>1 2021-05-18T11:58:40.828081+02:00 mymachine.example.com evntslog 1234 ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application "
      "event",
      "May 18 11:58:40 mymachine.example.com evntslog[1234]: An application event" },
    { "<13>1 2021-05-18T11:58:40.828081Z mymachine app - - - msg 5424",
      "May 18 11:58:40 mymachine app: msg 5424" },
    { "<13>1 2021-05-18T11:58:40Z - app - - - nohost", "May 18 11:58:40 unknownhost app: nohost" },
    { "<13>1 2021-05-18T11:58:40Z host - 99 - - noapp", "May 18 11:58:40 host[99]: noapp" },
    { "<13>1 2021-05-18T11:58:40Z host - - - - noapp nopid", "May 18 11:58:40 host: noapp nopid" },
    { "<13>1 2021-05-18T11:58:40Z host app pid mid [a b=\"]\"][c] sd2",
      "May 18 11:58:40 host app[pid]: sd2" },
    { "<13>1 2021-05-18T11:58:40Z host app pid mid [unclosed msg", NULL },
    { "<13>1 2021-05-18T11:58:40Z host app pid mid [x]", NULL },
    { "<13>1 2021-05-18T11:58:40Z host app pid mid x msg", NULL },
    { "<13>2 2021-05-18T11:58:40Z host app pid mid - msg", NULL },
    { "<13>1 2021-05-18 host app pid mid - msg", NULL },
    { "<13>1 2021-05-18T11:58:40+01:00 host app pid mid - trailing nl\n",
      "May 18 11:58:40 host app[pid]: trailing nl" },
    { "<13>1 2021-05-18T1:58:40+01:00 host app pid mid - onedigit hour",
      "May 18 01:58:40 host app[pid]: onedigit hour" },
    { "<13>1 2021-13-18T11:58:40Z host app pid mid - bad month", NULL },
    { "<13>1 2021-05-18T11:58:40Z host aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa pid "
      "mid - longapp",
      NULL },
    { "<13>1 2021-05-18T11:58:40Z host app pid mid - ", NULL },
    { "<13>1 0001-01-01T00:00:00Z host app pid mid - zero", "Nov 14 22:13:20 host app[pid]: zero" },
    { "<30>Dec  9 07:01:02 host CRON[77]: (root) CMD (x)",
      "Dec 9 07:01:02 host CRON[77]: (root) CMD (x)" },
    { "<13>Jan 12 15:04:05.123 myhost sshd: frac", "Jan 12 15:04:05 123 myhost: sshd: frac" },
    { "<13>Jan 12 15:04:05.123 2021 myhost sshd: frac year",
      "Jan 12 15:04:05 123 2021: myhost sshd: frac year" },
    { "<13>Jan 12 15:04:05 1234 sshd: numeric host", "Jan 12 15:04:05 sshd: numeric: host" },
    { "<13>Mar  1 01:02:03 h t[]: empty pid", "Mar 1 01:02:03 h t: empty pid" },
};

static void
test_build_line_table(void **state)
{
    char out[4096];
    int failures = 0;
    UNUSED(state);

    for (size_t i = 0; i < ARRAY_SIZE(line_cases); i++) {
        const struct line_case *c = &line_cases[i];
        size_t n = 0;
        int rc = syslog_build_line(c->in, strlen(c->in), false, NOW_S, out, sizeof(out), &n);
        if (c->want == NULL && rc == 0) {
            print_error("case %zu %s: want dropped, got \"%.*s\"\n", i, c->in, (int)n, out);
            failures++;
        } else if (c->want != NULL &&
                   (rc != 0 || n != strlen(c->want) || memcmp(out, c->want, n) != 0)) {
            print_error("case %zu %s: want \"%s\", got rc %d \"%.*s\"\n", i, c->in, c->want, rc,
                        rc == 0 ? (int)n : 0, out);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void
test_disable_rfc_table(void **state)
{
    static const struct line_case cases[] = {
        { "<13>hello world\n", "hello world" },
        { "<>x", "x" },
        { "<999>raw", "raw" },
        { "<1000>raw", NULL },
        { "<1a>raw", NULL },
        { "<13", NULL },
        { "13>x", NULL },
        { "<1", NULL },
        { "<13>Jan 12 15:04:05 host app: kept as is", "Jan 12 15:04:05 host app: kept as is" },
    };
    char out[256];
    int failures = 0;
    UNUSED(state);

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        size_t n = 0;
        int rc =
            syslog_build_line(cases[i].in, strlen(cases[i].in), true, NOW_S, out, sizeof(out), &n);
        bool ok = cases[i].want == NULL
                      ? rc < 0
                      : rc == 0 && n == strlen(cases[i].want) && memcmp(out, cases[i].want, n) == 0;
        if (!ok) {
            print_error("case %zu %s: rc %d\n", i, cases[i].in, rc);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void
test_build_line_small_buffer(void **state)
{
    const char *in = "<13>Jan 12 15:04:05 myhost sshd: a message";
    char out[10];
    size_t n = 0;
    UNUSED(state);
    assert_int_equal(syslog_build_line(in, strlen(in), false, NOW_S, out, sizeof(out), &n),
                     -ENOSPC);
}

struct collected {
    char msgs[16][128];
    size_t n;
    int stop_after; /* return 1 after this many messages (0: never) */
};

static int
collect(void *ctx, const char *msg, size_t len)
{
    struct collected *c = ctx;
    if (c->n < ARRAY_SIZE(c->msgs))
        snprintf(c->msgs[c->n], sizeof(c->msgs[0]), "%.*s", (int)len, msg);
    c->n++;
    return c->stop_after > 0 && c->n >= (size_t)c->stop_after;
}

/* Feeds a stream to a framer in chunks of chunk bytes. */
static int
feed(struct syslog_framer *f, const char *data, size_t len, size_t chunk, bool eof,
     struct collected *c)
{
    size_t off = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t room;
        char *dst = syslog_framer_space(f, &room);
        size_t n = MIN(MIN(chunk, room), len - off);
        assert_true(room > 0);
        memcpy(dst, data + off, n);
        syslog_framer_commit(f, n);
        off += n;
        rc = syslog_framer_process(f, false, collect, c);
    }
    if (rc == 0 && eof)
        rc = syslog_framer_process(f, true, collect, c);
    return rc;
}

struct frame_case {
    const char *name;
    const char *stream;
    bool eof;
    int want_rc;
    size_t want_n;
    const char *want[4];
    uint64_t want_truncated, want_malformed;
};

static void
test_framer_table(void **state)
{
    static char big_lf[200], big_oc[220];
    memset(big_lf, 'a', 100);
    memcpy(big_lf + 100, "\n<1>after\n", 11);
    snprintf(big_oc, sizeof(big_oc), "100 %0100d6 <2>two", 0);
    const struct frame_case cases[] = {
        { "lf", "<1>a\n<2>b\n", false, 0, 2, { "<1>a", "<2>b" }, 0, 0 },
        { "crlf", "<1>a\r\n\r\n<2>b\n", false, 0, 2, { "<1>a", "<2>b" }, 0, 0 },
        { "octet", "4 <1>a5 <2>bc", false, 0, 2, { "<1>a", "<2>bc" }, 0, 0 },
        { "mixed", "4 <1>a\n<2>b\n3 <3>", false, 0, 3, { "<1>a", "<2>b", "<3>" }, 0, 0 },
        { "partial lf kept", "<1>abc", false, 0, 0, { NULL }, 0, 0 },
        { "partial lf at eof", "<1>abc", true, 0, 1, { "<1>abc" }, 0, 0 },
        { "partial octet at eof", "10 <1>a", true, -EBADMSG, 0, { NULL }, 0, 1 },
        { "bad octet", "12X<1>a\n", false, -EBADMSG, 0, { NULL }, 0, 1 },
        { "huge octet", "1234567890 x", false, -EBADMSG, 0, { NULL }, 0, 1 },
        { "oversized lf", big_lf, false, 0, 1, { "<1>after" }, 1, 0 },
        { "oversized octet", big_oc, false, 0, 1, { "<2>two" }, 1, 0 },
        { "zero octet", "0 4 <1>a", false, 0, 1, { "<1>a" }, 0, 0 },
    };
    int failures = 0;
    UNUSED(state);

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct frame_case *fc = &cases[i];
        /* Every chunking gives the same messages. */
        for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
            struct syslog_framer f;
            struct collected c = { .n = 0 };
            int rc;
            bool ok;
            assert_int_equal(syslog_framer_init(&f, 64), 0);
            rc = feed(&f, fc->stream, strlen(fc->stream), chunk, fc->eof, &c);
            ok = rc == fc->want_rc && c.n == fc->want_n && f.truncated == fc->want_truncated &&
                 f.malformed == fc->want_malformed;
            for (size_t k = 0; ok && k < fc->want_n; k++)
                ok = strcmp(c.msgs[k], fc->want[k]) == 0;
            if (!ok) {
                print_error("framer case %s chunk %zu: rc %d n %zu trunc %" PRIu64
                            " malformed %" PRIu64 " first \"%s\"\n",
                            fc->name, chunk, rc, c.n, f.truncated, f.malformed,
                            c.n ? c.msgs[0] : "");
                failures++;
            }
            syslog_framer_release(&f);
        }
    }
    assert_int_equal(failures, 0);
}

static void
test_framer_callback_stop(void **state)
{
    struct syslog_framer f;
    struct collected c = { .stop_after = 1 };
    UNUSED(state);
    assert_int_equal(syslog_framer_init(&f, 64), 0);
    assert_int_equal(feed(&f, "<1>a\n<2>b\n", 10, 64, false, &c), 1);
    assert_int_equal(c.n, 1);
    /* The second message stays buffered for the next call. */
    c.stop_after = 0;
    assert_int_equal(syslog_framer_process(&f, false, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.msgs[1], "<2>b");
    syslog_framer_release(&f);
}

/* ---- configuration ---- */

static char *
write_yaml(const char *text)
{
    char *path = strdup("/tmp/test_syslog_XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void
test_config_table(void **state)
{
    static const struct {
        const char *yaml;
        const char *want_error; /* substring, NULL: accepted */
        const char *want_describe;
    } cases[] = {
        { "source: syslog\nlabels: {type: syslog}\n", NULL, "syslog:127.0.0.1:514" },
        { "source: syslog\nlisten_addr: 0.0.0.0\nlisten_port: 4242\nprotocol: both\n"
          "labels: {type: syslog}\n",
          NULL, "syslog:0.0.0.0:4242/udp+tcp" },
        { "source: syslog\nlisten_addr: '::1'\nprotocol: tcp\nlabels: {type: syslog}\n", NULL,
          "syslog:[::1]:514/tcp" },
        { "source: syslog\nlisten_port: 70000\nlabels: {type: syslog}\n", ":2: invalid port 70000",
          NULL },
        { "source: syslog\nlisten_port: -1\nlabels: {type: syslog}\n", "invalid port -1", NULL },
        { "source: syslog\nlisten_port: abc\nlabels: {type: syslog}\n", "listen_port", NULL },
        { "source: syslog\nlisten_addr: 10.0.0\nlabels: {type: syslog}\n",
          "invalid listen IP 10.0.0", NULL },
        { "source: syslog\nprotocol: sctp\nlabels: {type: syslog}\n", "expected udp, tcp or both",
          NULL },
        { "source: syslog\nmax_message_len: -5\nlabels: {type: syslog}\n", "max_message_len",
          NULL },
        { "source: syslog\ndisable_rfc_parser: maybe\nlabels: {type: syslog}\n",
          "disable_rfc_parser", NULL },
        { "source: syslog\nmode: cat\nlabels: {type: syslog}\n", "one shot", NULL },
        { "source: syslog\nfoo: bar\nlabels: {type: syslog}\n", "foo", NULL },
    };
    int failures = 0;
    UNUSED(state);

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *path = write_yaml(cases[i].yaml);
        struct acquisition *a = NULL;
        struct acq_error err = { { 0 } };
        int rc = acq_load(path, NULL, &a, &err);
        if (cases[i].want_error != NULL) {
            if (rc == 0 || strstr(err.message, cases[i].want_error) == NULL) {
                print_error("config case %zu: want error ~ \"%s\", got rc %d \"%s\"\n", i,
                            cases[i].want_error, rc, err.message);
                failures++;
            }
        } else if (rc != 0 || acq_count(a) != 1 ||
                   strcmp(acq_describe(a, 0), cases[i].want_describe) != 0) {
            print_error("config case %zu: rc %d \"%s\" describe \"%s\"\n", i, rc, err.message,
                        rc == 0 && acq_count(a) ? acq_describe(a, 0) : "");
            failures++;
        }
        acq_free(a);
        unlink(path);
        free(path);
    }
    assert_int_equal(failures, 0);
}

/* ---- live server ---- */

struct sink {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    char lines[32][1024];
    char srcs[32][64];
    char module[32];
    size_t n;
};

static int
sink_emit(void *ctx, const struct acq_line *l)
{
    struct sink *k = ctx;
    pthread_mutex_lock(&k->mu);
    if (k->n < ARRAY_SIZE(k->lines)) {
        snprintf(k->lines[k->n], sizeof(k->lines[0]), "%.*s", (int)l->len, l->line);
        snprintf(k->srcs[k->n], sizeof(k->srcs[0]), "%s", l->src);
        snprintf(k->module, sizeof(k->module), "%s", l->module);
    }
    k->n++;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->mu);
    return 0;
}

/* Waits until the sink holds n lines or 5 seconds pass; the count seen. */
static size_t
sink_wait(struct sink *k, size_t n)
{
    struct timespec dl;
    size_t got;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&k->mu);
    while (k->n < n && pthread_cond_timedwait(&k->cond, &k->mu, &dl) == 0)
        ;
    got = k->n;
    pthread_mutex_unlock(&k->mu);
    return got;
}

/* A port free for both UDP and TCP on 127.0.0.1. */
static int
free_port(void)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sin);
        int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
        int port = -1;
        if (u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
            getsockname(u, (struct sockaddr *)&sin, &sl) == 0 &&
            bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0)
            port = ntohs(sin.sin_port);
        close(u);
        close(t);
        if (port > 0)
            return port;
    }
    return -1;
}

/* Runs logger with argv; its exit status. */
static int
run_logger(char *const argv[])
{
    int status = -1;
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool
have_logger(void)
{
    char *const argv[] = { "logger", "--version", NULL };
    pid_t pid = fork();
    int status = -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* "Mon D HH:MM:SS" within 120 s of now (UTC, as logger stamps in local time = UTC here). */
static bool
stamp_is_now(const char *line, size_t *ret_len)
{
    char mon[4];
    int d, h, mi, s, n = 0;
    if (sscanf(line, "%3s %d %2d:%2d:%2d%n", mon, &d, &h, &mi, &s, &n) != 5 || n < 14)
        return false;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char want_mon[8];
    strftime(want_mon, sizeof(want_mon), "%b", &tm);
    int diff = (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) - (h * 3600 + mi * 60 + s);
    *ret_len = (size_t)n;
    return strcmp(mon, want_mon) == 0 && d == tm.tm_mday && diff >= -120 && diff <= 120;
}

static void
short_hostname(char *out, size_t outsz, bool cut)
{
    gethostname(out, outsz);
    out[outsz - 1] = '\0';
    if (cut && strchr(out, '.'))
        *strchr(out, '.') = '\0';
}

static int
send_raw_tcp(int port, const char *data, size_t len, bool wait_close)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int closed = 0;
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
    if (wait_close) {
        /* The server closes a connection with a malformed frame: wait for it. */
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char b;
        if (poll(&p, 1, 5000) == 1 && recv(fd, &b, 1, 0) == 0)
            closed = 1;
    }
    close(fd);
    return closed;
}

static void
test_live(void **state)
{
    struct sink k = { .n = 0 };
    struct acquisition *a = NULL;
    struct acq_error err = { { 0 } };
    struct acq_stats st;
    char yaml[512], portstr[16], host[256], fullhost[256], want[1024];
    char *path;
    int port = free_port();
    size_t off = 0;
    UNUSED(state);

    if (!have_logger())
        return; /* reported as a TAP SKIP by its name (main) */
    assert_true(port > 0);
    pthread_mutex_init(&k.mu, NULL);
    pthread_cond_init(&k.cond, NULL);
    snprintf(portstr, sizeof(portstr), "%d", port);
    snprintf(yaml, sizeof(yaml),
             "source: syslog\nlisten_addr: 127.0.0.1\nlisten_port: %d\nprotocol: both\n"
             "max_message_len: 512\nlabels:\n  type: syslog\n",
             port);
    path = write_yaml(yaml);
    assert_int_equal(acq_load(path, NULL, &a, &err), 0);
    assert_int_equal(acq_start(a, sink_emit, &k, NULL, NULL, &err), 0);
    assert_int_equal(acq_running(a), 1);

    short_hostname(host, sizeof(host), true);
    short_hostname(fullhost, sizeof(fullhost), false);

    /* 1. UDP, RFC 3164 */
    {
        char *const argv[] = {
            "logger",    "-n", "127.0.0.1", "-P",        portstr,          "-d",
            "--rfc3164", "-t", "myapp",     "--id=4242", "hello over udp", NULL
        };
        assert_int_equal(run_logger(argv), 0);
    }
    assert_int_equal(sink_wait(&k, 1), 1);
    assert_true(stamp_is_now(k.lines[0], &off));
    snprintf(want, sizeof(want), " %s myapp[4242]: hello over udp", host);
    assert_string_equal(k.lines[0] + off, want);
    assert_string_equal(k.srcs[0], "127.0.0.1");
    assert_string_equal(k.module, "syslog");

    /* 2. TCP, RFC 5424, octet counting */
    {
        char *const argv[] = { "logger", "-n",      "127.0.0.1", "-P",
                               portstr,  "-T",      "--rfc5424", "--octet-count",
                               "-t",     "app5424", "--id=77",   "hello over tcp",
                               NULL };
        assert_int_equal(run_logger(argv), 0);
    }
    assert_int_equal(sink_wait(&k, 2), 2);
    assert_true(stamp_is_now(k.lines[1], &off));
    snprintf(want, sizeof(want), " %s app5424[77]: hello over tcp", fullhost);
    assert_string_equal(k.lines[1] + off, want);

    /* 3. TCP, RFC 3164, LF framing */
    {
        char *const argv[] = { "logger", "-n", "127.0.0.1",      "-P", portstr, "-T", "--rfc3164",
                               "-t",     "lf", "newline framed", NULL };
        assert_int_equal(run_logger(argv), 0);
    }
    assert_int_equal(sink_wait(&k, 3), 3);
    assert_true(stamp_is_now(k.lines[2], &off));
    snprintf(want, sizeof(want), " %s lf: newline framed", host);
    assert_string_equal(k.lines[2] + off, want);

    /* 4. UDP: an oversized datagram is dropped and counted, an unparsable one too. */
    {
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_port = htons((uint16_t)port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        char big[600];
        const char *junk = "this is not syslog";
        const char *sentinel = "<13>Jan 12 15:04:05 h udp: sentinel";
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        memset(big, 'x', sizeof(big));
        memcpy(big, "<13>", 4);
        assert_int_equal(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&sin, sizeof(sin)),
                         (ssize_t)sizeof(big));
        assert_int_equal(sendto(fd, junk, strlen(junk), 0, (struct sockaddr *)&sin, sizeof(sin)),
                         (ssize_t)strlen(junk));
        assert_int_equal(
            sendto(fd, sentinel, strlen(sentinel), 0, (struct sockaddr *)&sin, sizeof(sin)),
            (ssize_t)strlen(sentinel));
        close(fd);
    }
    assert_int_equal(sink_wait(&k, 4), 4);
    assert_string_equal(k.lines[3], "Jan 12 15:04:05 h udp: sentinel");
    acq_stats_at(a, 0, &st);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.errors, 1);

    /* 5. TCP: oversized frames of both framings are skipped, the stream goes on. */
    {
        static char stream[2048];
        size_t n = 0;
        memset(stream, 'y', 700);
        memcpy(stream, "<13>", 4);
        stream[699] = '\n';
        n = 700;
        n += (size_t)snprintf(stream + n, sizeof(stream) - n, "600 ");
        memset(stream + n, 'z', 600);
        n += 600;
        n += (size_t)snprintf(stream + n, sizeof(stream) - n,
                              "<13>Jan 12 15:04:05 h tcp: after big\n");
        send_raw_tcp(port, stream, n, false);
    }
    assert_int_equal(sink_wait(&k, 5), 5);
    assert_string_equal(k.lines[4], "Jan 12 15:04:05 h tcp: after big");

    /* 6. TCP: a malformed octet count closes the connection. */
    {
        const char *bad = "12X<13>Jan 12 15:04:05 h tcp: never\n";
        assert_int_equal(send_raw_tcp(port, bad, strlen(bad), true), 1);
    }
    acq_stats_at(a, 0, &st);
    assert_int_equal(st.truncated, 3);
    assert_int_equal(st.errors, 2);
    assert_int_equal(st.lines, 5);

    acq_stop(a);
    assert_int_equal(acq_running(a), 0);
    assert_int_equal(k.n, 5);
    acq_free(a);
    unlink(path);
    free(path);
    pthread_cond_destroy(&k.cond);
    pthread_mutex_destroy(&k.mu);
}

/* Two sources cannot share a port: the second is skipped with a warning. */
static void
warn_count(void *ctx, const char *message)
{
    int *n = ctx;
    if (strstr(message, "could not listen") != NULL)
        (*n)++;
}

static void
test_port_in_use(void **state)
{
    struct sink k = { .n = 0 };
    struct acquisition *a = NULL;
    struct acq_error err = { { 0 } };
    char yaml[512];
    char *path;
    int warned = 0, port = free_port();
    UNUSED(state);

    pthread_mutex_init(&k.mu, NULL);
    pthread_cond_init(&k.cond, NULL);
    snprintf(yaml, sizeof(yaml),
             "source: syslog\nlisten_port: %d\nlabels: {type: syslog}\n---\n"
             "source: syslog\nlisten_port: %d\nlabels: {type: syslog}\n",
             port, port);
    path = write_yaml(yaml);
    assert_int_equal(acq_load(path, NULL, &a, &err), 0);
    assert_int_equal(acq_count(a), 2);
    assert_int_equal(acq_start(a, sink_emit, &k, warn_count, &warned, &err), 0);
    assert_int_equal(warned, 1);
    assert_int_equal(acq_running(a), 1);
    acq_stop(a);
    acq_free(a);
    unlink(path);
    free(path);
    pthread_cond_destroy(&k.cond);
    pthread_mutex_destroy(&k.mu);
}

/*
 * cmocka prints a skipped test as "not ok"; a test that cannot run here
 * carries the TAP directive in its name instead and returns at once.
 */
int
main(void)
{
    bool logger = have_logger();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_line_table),
        cmocka_unit_test(test_disable_rfc_table),
        cmocka_unit_test(test_build_line_small_buffer),
        cmocka_unit_test(test_framer_table),
        cmocka_unit_test(test_framer_callback_stop),
        cmocka_unit_test(test_config_table),
        { logger ? "test_live" : "test_live # SKIP no logger binary (util-linux) in PATH",
          test_live, NULL, NULL, NULL },
        cmocka_unit_test(test_port_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
