/*
 * syslog.c - the syslog datasource (CrowdSec's modules/syslog): a small
 * syslog server whose messages are parsed as RFC 3164 or RFC 5424 and
 * rebuilt into the classic "Jan 2 15:04:05 host app[pid]: msg" line the
 * hub's parsers expect (syslog_parse.c), with the peer's address as Src.
 *
 * CrowdSec listens on UDP only; `protocol: tcp|both` adds a TCP listener
 * with RFC 6587 framing. One thread polls every socket plus a wake pipe, so
 * stopping is immediate. Everything a peer controls is bounded: a datagram
 * or frame longer than max_message_len is dropped whole and counted, the
 * number of TCP connections is capped, and idle ones are closed.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acquisition/internal.h"
#include "acquisition/syslog_parse.h"

#define SYSLOG_MAX_CONNS       256
#define SYSLOG_IDLE_SECONDS    300
#define SYSLOG_MAX_MESSAGE_LEN (1 << 20)
#define SYSLOG_DGRAMS_PER_WAKE 64

struct syslog_conn {
    int fd;
    int64_t last_active; /* monotonic seconds */
    char peer[INET6_ADDRSTRLEN];
    struct syslog_framer fr;
};

struct syslog_priv {
    char *addr;
    long long port;
    size_t max_len;
    bool udp, tcp, disable_rfc;

    int udp_fd, tcp_fd, wake[2];
    pthread_t thread;
    bool thread_started;
    struct syslog_conn *conns; /* SYSLOG_MAX_CONNS slots, fd -1 when free */
    size_t nconns;
    char *line;  /* max_len + SYSLOG_LINE_EXTRA */
    char *dgram; /* max_len + 1, to see a datagram that is too long */
};

static const char *const syslog_keys[] = { "listen_addr", "listen_port",        "max_message_len",
                                           "protocol",    "disable_rfc_parser", NULL };

static int64_t
mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void syslog_stop(struct acq_source *s);

static void
syslog_free(struct acq_source *s)
{
    struct syslog_priv *p = s->priv;
    if (p == NULL)
        return;
    if (p->thread_started) {
        atomic_store(&s->stopping, true);
        syslog_stop(s);
    }
    free(p->addr);
    free(p->conns);
    free(p->line);
    free(p->dgram);
    free(p);
    s->priv = NULL;
}

static int
syslog_configure(struct acq_source *s, const struct ynode *doc, struct acq_error *err)
{
    struct syslog_priv *p = calloc(1, sizeof(*p));
    const struct ynode *v;
    char *proto = NULL;
    long long maxlen = 0;
    unsigned char tmp[sizeof(struct in6_addr)];
    char desc[128];
    int rc = -1;

    if (p == NULL) {
        acq_errorf(err, "out of memory");
        return -1;
    }
    s->priv = p;
    p->udp_fd = p->tcp_fd = p->wake[0] = p->wake[1] = -1;
    if (acq_yaml_string(s, doc, "listen_addr", &p->addr, err) < 0 ||
        acq_yaml_int(s, doc, "listen_port", INT32_MIN, INT32_MAX, &p->port, err) < 0 ||
        acq_yaml_int(s, doc, "max_message_len", INT32_MIN, INT32_MAX, &maxlen, err) < 0 ||
        acq_yaml_string(s, doc, "protocol", &proto, err) < 0 ||
        acq_yaml_bool(s, doc, "disable_rfc_parser", &p->disable_rfc, err) < 0)
        goto out;

    /* CrowdSec's SetDefaults: zero values take the defaults. */
    if (p->addr == NULL || p->addr[0] == '\0') {
        free(p->addr);
        if ((p->addr = strdup("127.0.0.1")) == NULL) {
            acq_errorf(err, "out of memory");
            goto out;
        }
    }
    if (p->port == 0)
        p->port = 514;
    if (maxlen == 0)
        maxlen = 2048;

    if (p->port < 0 || p->port > 65535) {
        v = ynode_map_get(doc, "listen_port");
        acq_config_errorf(s, v ? v->line : s->common.line, err, "invalid port %lld", p->port);
        goto out;
    }
    if (inet_pton(AF_INET, p->addr, tmp) != 1 && inet_pton(AF_INET6, p->addr, tmp) != 1) {
        v = ynode_map_get(doc, "listen_addr");
        acq_config_errorf(s, v ? v->line : s->common.line, err, "invalid listen IP %s", p->addr);
        goto out;
    }
    if (maxlen < 0 || maxlen > SYSLOG_MAX_MESSAGE_LEN) {
        v = ynode_map_get(doc, "max_message_len");
        acq_config_errorf(s, v ? v->line : s->common.line, err,
                          "max_message_len: expected 1 to %d bytes, got %lld",
                          SYSLOG_MAX_MESSAGE_LEN, maxlen);
        goto out;
    }
    p->max_len = (size_t)maxlen;
    if (proto == NULL || strcmp(proto, "") == 0 || strcmp(proto, "udp") == 0) {
        p->udp = true;
    } else if (strcmp(proto, "tcp") == 0) {
        p->tcp = true;
    } else if (strcmp(proto, "both") == 0) {
        p->udp = p->tcp = true;
    } else {
        v = ynode_map_get(doc, "protocol");
        acq_config_errorf(s, v ? v->line : s->common.line, err,
                          "protocol: expected udp, tcp or both, got %.60s", proto);
        goto out;
    }
    if (s->common.mode != NULL && strcmp(s->common.mode, "cat") == 0) {
        acq_config_errorf(s, s->common.line, err,
                          "syslog datasource does not support one shot acquisition (mode cat)");
        goto out;
    }

    snprintf(desc, sizeof(desc), strchr(p->addr, ':') ? "syslog:[%s]:%lld%s" : "syslog:%s:%lld%s",
             p->addr, p->port, p->tcp ? (p->udp ? "/udp+tcp" : "/tcp") : "");
    free(s->describe);
    if ((s->describe = strdup(desc)) == NULL) {
        acq_errorf(err, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(proto);
    return rc;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The printable address of a peer; IPv4-mapped IPv6 is shown as IPv4, as Go does. */
static void
peer_string(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
    out[0] = '\0';
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)outsz);
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6))
            inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)outsz);
        else
            inet_ntop(AF_INET6, a6, out, (socklen_t)outsz);
    }
}

static int
open_socket(struct syslog_priv *p, int type, struct acq_error *err)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, p->addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)p->port);
        sl = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_pton(AF_INET6, p->addr, &sin6->sin6_addr);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)p->port);
        sl = sizeof(*sin6);
    }
    fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        acq_errorf(err, "could not create socket: %s", strerror(errno));
        return -1;
    }
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0)) {
        acq_errorf(err, "could not listen on %s port %lld: %s", type == SOCK_STREAM ? "TCP" : "UDP",
                   p->port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct msg_ctx {
    struct acq_source *s;
    const char *peer;
};

/* One received message: parsed, rebuilt and emitted; unrecognised ones are counted. */
static int
handle_message(void *ctx, const char *msg, size_t len)
{
    struct msg_ctx *m = ctx;
    struct syslog_priv *p = m->s->priv;
    size_t n = 0;

    if (syslog_build_line(msg, len, p->disable_rfc, (int64_t)time(NULL), p->line,
                          p->max_len + SYSLOG_LINE_EXTRA, &n) < 0) {
        atomic_fetch_add_explicit(&m->s->errors, 1, memory_order_relaxed);
        return 0;
    }
    return acq_emit_line(m->s, m->peer, p->line, n, false);
}

static int
read_datagrams(struct acq_source *s)
{
    struct syslog_priv *p = s->priv;

    for (int i = 0; i < SYSLOG_DGRAMS_PER_WAKE; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char peer[INET6_ADDRSTRLEN];
        struct msg_ctx m = { .s = s, .peer = peer };
        /* recvfrom leaves ss alone when the sender has no address: then the peer is "". */
        ss.ss_family = AF_UNSPEC;
        /* MSG_TRUNC makes recvfrom return the real size of a longer datagram. */
        ssize_t n =
            recvfrom(p->udp_fd, p->dgram, p->max_len + 1, MSG_TRUNC, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
            return 0;
        }
        if ((size_t)n > p->max_len) {
            atomic_fetch_add_explicit(&s->truncated, 1, memory_order_relaxed);
            continue;
        }
        peer_string(&ss, peer, sizeof(peer));
        if (handle_message(&m, p->dgram, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

static void
conn_close(struct acq_source *s, struct syslog_conn *c)
{
    struct syslog_priv *p = s->priv;
    atomic_fetch_add_explicit(&s->truncated, c->fr.truncated, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->errors, c->fr.malformed, memory_order_relaxed);
    close_fd(&c->fd);
    syslog_framer_release(&c->fr);
    p->nconns--;
}

static void
accept_conns(struct acq_source *s)
{
    struct syslog_priv *p = s->priv;

    for (int i = 0; i < SYSLOG_MAX_CONNS; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct syslog_conn *c = NULL;
        ss.ss_family = AF_UNSPEC; /* as in read_datagrams */
        int fd = accept4(p->tcp_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        for (size_t k = 0; k < SYSLOG_MAX_CONNS && c == NULL; k++)
            if (p->conns[k].fd < 0)
                c = &p->conns[k];
        if (c == NULL || syslog_framer_init(&c->fr, p->max_len) < 0) {
            /* Too many connections: refuse the newest rather than drop a working one. */
            atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->last_active = mono_seconds();
        peer_string(&ss, c->peer, sizeof(c->peer));
        p->nconns++;
    }
}

/* Reads what a connection has; -1 when the source must stop. */
static int
read_conn(struct acq_source *s, struct syslog_conn *c)
{
    struct msg_ctx m = { .s = s, .peer = c->peer };
    size_t room;
    char *dst = syslog_framer_space(&c->fr, &room);
    ssize_t n = recv(c->fd, dst, room, 0);
    int rc;

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n > 0) {
        syslog_framer_commit(&c->fr, (size_t)n);
        c->last_active = mono_seconds();
    }
    rc = syslog_framer_process(&c->fr, n <= 0, handle_message, &m);
    if (rc > 0 || (rc < 0 && rc != -EBADMSG)) {
        conn_close(s, c);
        return -1;
    }
    if (rc == -EBADMSG || n <= 0)
        conn_close(s, c);
    return 0;
}

static void *
syslog_thread(void *arg)
{
    struct acq_source *s = arg;
    struct syslog_priv *p = s->priv;
    struct pollfd *pfd = calloc(3 + SYSLOG_MAX_CONNS, sizeof(*pfd));
    struct syslog_conn **owner = calloc(3 + SYSLOG_MAX_CONNS, sizeof(*owner));
    int64_t last_sweep = mono_seconds();

    while (pfd != NULL && owner != NULL && !atomic_load(&s->stopping)) {
        nfds_t n = 0;
        int r;

        pfd[n++] = (struct pollfd){ .fd = p->wake[0], .events = POLLIN };
        if (p->udp_fd >= 0)
            pfd[n++] = (struct pollfd){ .fd = p->udp_fd, .events = POLLIN };
        if (p->tcp_fd >= 0)
            pfd[n++] = (struct pollfd){ .fd = p->tcp_fd, .events = POLLIN };
        for (size_t k = 0; k < SYSLOG_MAX_CONNS; k++) {
            if (p->conns[k].fd < 0)
                continue;
            owner[n] = &p->conns[k];
            pfd[n++] = (struct pollfd){ .fd = p->conns[k].fd, .events = POLLIN };
        }
        r = poll(pfd, n, 1000);
        if (r < 0 && errno != EINTR)
            break;
        if (atomic_load(&s->stopping))
            break;
        for (nfds_t i = 0; r > 0 && i < n; i++) {
            if (pfd[i].revents == 0 || pfd[i].fd == p->wake[0])
                continue;
            if (pfd[i].fd == p->udp_fd) {
                if (read_datagrams(s) < 0)
                    goto out;
            } else if (pfd[i].fd == p->tcp_fd) {
                accept_conns(s);
            } else if (owner[i] != NULL && owner[i]->fd == pfd[i].fd) {
                if (read_conn(s, owner[i]) < 0)
                    goto out;
            }
        }
        if (mono_seconds() - last_sweep >= 1) {
            int64_t now = mono_seconds();
            last_sweep = now;
            for (size_t k = 0; k < SYSLOG_MAX_CONNS; k++)
                if (p->conns[k].fd >= 0 && now - p->conns[k].last_active > SYSLOG_IDLE_SECONDS)
                    conn_close(s, &p->conns[k]);
        }
        memset(owner, 0, (3 + SYSLOG_MAX_CONNS) * sizeof(*owner));
    }
out:
    free(pfd);
    free(owner);
    atomic_store(&s->running, false);
    return NULL;
}

static void
release_runtime(struct acq_source *s)
{
    struct syslog_priv *p = s->priv;
    if (p->conns != NULL)
        for (size_t k = 0; k < SYSLOG_MAX_CONNS; k++)
            if (p->conns[k].fd >= 0)
                conn_close(s, &p->conns[k]);
    free(p->conns);
    p->conns = NULL;
    p->nconns = 0;
    close_fd(&p->udp_fd);
    close_fd(&p->tcp_fd);
    close_fd(&p->wake[0]);
    close_fd(&p->wake[1]);
}

static int
syslog_start(struct acq_source *s, struct acq_error *err)
{
    struct syslog_priv *p = s->priv;

    if ((p->conns = calloc(SYSLOG_MAX_CONNS, sizeof(*p->conns))) == NULL ||
        (p->line == NULL && (p->line = malloc(p->max_len + SYSLOG_LINE_EXTRA)) == NULL) ||
        (p->dgram == NULL && (p->dgram = malloc(p->max_len + 1)) == NULL)) {
        acq_errorf(err, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < SYSLOG_MAX_CONNS; k++)
        p->conns[k].fd = -1;
    if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        acq_errorf(err, "could not create pipe: %s", strerror(errno));
        goto fail;
    }
    if (p->udp && (p->udp_fd = open_socket(p, SOCK_DGRAM, err)) < 0)
        goto fail;
    if (p->tcp && (p->tcp_fd = open_socket(p, SOCK_STREAM, err)) < 0)
        goto fail;
    atomic_store(&s->running, true);
    if (pthread_create(&p->thread, NULL, syslog_thread, s) != 0) {
        atomic_store(&s->running, false);
        acq_errorf(err, "could not start thread");
        goto fail;
    }
    p->thread_started = true;
    return 0;
fail:
    release_runtime(s);
    return -1;
}

static void
syslog_stop(struct acq_source *s)
{
    struct syslog_priv *p = s->priv;
    if (p == NULL || !p->thread_started)
        return;
    if (p->wake[1] >= 0) {
        ssize_t w = write(p->wake[1], "x", 1);
        UNUSED(w);
    }
    pthread_join(p->thread, NULL);
    p->thread_started = false;
    release_runtime(s);
}

const struct acq_source_ops acq_syslog_ops = {
    .type = "syslog",
    .keys = syslog_keys,
    .configure = syslog_configure,
    .configure_dsn = NULL,
    .start = syslog_start,
    .stop = syslog_stop,
    .free = syslog_free,
};
