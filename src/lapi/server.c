/*
 * server.c - the HTTP core of the Local API on libmicrohttpd: epoll with an
 * internal thread pool, the route tables of routes_*.c, authentication from
 * the headers on MHD's first callback, bounded request bodies, and CrowdSec's
 * JSON error bodies ({"message": "..."}).
 *
 * A request moves through three callbacks of MHD's access handler: headers
 * (route, method, authentication, Content-Length against the limit; any
 * refusal is answered at once, before a body byte is read), body chunks
 * (appended while under the limit, discarded past it), and the final call
 * (the handler runs and its response is queued).
 *
 * The client is the socket peer, or what X-Forwarded-For says when the peer
 * is a trusted proxy. Over HTTPS a client certificate authenticates a
 * bouncer instead of its key. Bodies sent with "Content-Encoding: gzip" are
 * inflated within the same limit. POST /v1/watchers and /v1/watchers/login
 * are rate-limited per client. lapi_reload() swaps profiles, TLS files and
 * network settings under a lock that requests hold while they are routed
 * and while their handler runs.
 *
 * Large answers (the decision stream) are written to an unlinked temporary
 * file and sent from it, and after a request that moved many MiB the heap is
 * trimmed: MHD's threads each have a malloc arena, and without the trim
 * every arena keeps the peak of the largest request it served.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "lapi/internal.h"
#include "lapi/profiles.h"

/* A request or an answer past this size returns the heap's free pages to the system when done. */
#define TRIM_AFTER ((size_t)8 << 20)

struct conn_state {
    struct lapi_request req;
    const struct lapi_route *route;
    size_t limit;
    bool too_large;
    bool gzip;     /* Content-Encoding: gzip */
    bool answered; /* a response was queued on the first call */
    bool trim;     /* a large body was handled: malloc_trim once it is freed */
};

int64_t
lapi_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Drops the body of out, text or file. */
static void
response_clear_body(struct lapi_response *out)
{
    free(out->body);
    out->body = NULL;
    if (out->has_file)
        close(out->file_fd);
    out->has_file = false;
    out->file_fd = -1;
    out->file_size = 0;
}

void
lapi_reply_text(struct lapi_response *out, unsigned status, char *owned_json)
{
    response_clear_body(out);
    out->status = status;
    out->body = owned_json;
}

void
lapi_out_init(struct lapi_out *o)
{
    *o = (struct lapi_out){ .buf = STR_INIT, .fd = -1 };
}

void
lapi_out_free(struct lapi_out *o)
{
    str_free(&o->buf);
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    o->size = 0;
}

/*
 * An anonymous file (O_TMPFILE: never has a name) in $TMPDIR or /tmp; where
 * the filesystem cannot, a mkstemp file unlinked at once. Mode 0600 either
 * way. The fd or a negative errno.
 */
static int
open_spill_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];

    if (dir == NULL || dir[0] != '/')
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return -errno;
    if ((size_t)snprintf(path, sizeof(path), "%s/phalanx-body-XXXXXX", dir) >= sizeof(path))
        return -ENAMETOOLONG;
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(path);
    return fd;
}

/*
 * Moves the buffered bytes to the file, opening it the first time. When no
 * file can be created (no writable temporary directory), the body stays in
 * memory as it did before files were used: slower to grow, still correct.
 */
static int
out_spill(struct lapi_out *o)
{
    if (o->in_memory)
        return 0;
    if (o->fd < 0) {
        int fd = open_spill_file();
        if (fd < 0) {
            log_warn("lapi: cannot create a temporary file for a large answer (%s), "
                     "keeping it in memory",
                     strerror(-fd));
            o->in_memory = true;
            return 0;
        }
        o->fd = fd;
    }
    const char *p = o->buf.buf;
    size_t left = o->buf.len;
    while (left > 0) {
        ssize_t w = write(o->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return o->error = w < 0 ? -errno : -EIO;
        p += w;
        left -= (size_t)w;
        o->size += (uint64_t)w;
    }
    str_clear(&o->buf);
    return 0;
}

int
lapi_out_write(struct lapi_out *o, const char *p, size_t n)
{
    if (o->error != 0)
        return o->error;
    if (str_append(&o->buf, p, n) < 0)
        return o->error = -ENOMEM;
    if (o->buf.len >= LAPI_OUT_SPILL && !o->in_memory)
        return out_spill(o);
    return 0;
}

int
lapi_out_cstr(struct lapi_out *o, const char *s)
{
    return lapi_out_write(o, s, strlen(s));
}

void
lapi_reply_out(struct lapi_response *out, unsigned status, struct lapi_out *o)
{
    if (o->error == 0 && o->fd >= 0)
        out_spill(o);
    if (o->error != 0) {
        char msg[128];
        int e = o->error;
        snprintf(msg, sizeof(msg), "cannot write the answer: %s", strerror(-e));
        lapi_out_free(o);
        lapi_reply_message(out, 500, e == -ENOMEM ? "out of memory" : msg);
        return;
    }
    if (o->fd < 0) {
        /* Small: a string, as every other answer. An empty buffer gives "" (not NULL). */
        char *text = str_steal(&o->buf);
        if (text == NULL)
            text = strdup("");
        lapi_out_free(o);
        if (text == NULL) {
            lapi_reply_message(out, 500, "out of memory");
            return;
        }
        lapi_reply_text(out, status, text);
        return;
    }
    response_clear_body(out);
    out->status = status;
    out->has_file = true;
    out->file_fd = o->fd;
    out->file_size = o->size;
    o->fd = -1;
    lapi_out_free(o);
}

void
lapi_reply_json(struct lapi_response *out, unsigned status, json_t *j)
{
    char *s = j != NULL ? model_json_dumps(j) : NULL;
    json_decref(j);
    if (s == NULL) {
        lapi_reply_message(out, 500, "cannot encode the response");
        return;
    }
    lapi_reply_text(out, status, s);
}

void
lapi_reply_message(struct lapi_response *out, unsigned status, const char *msg)
{
    json_t *j = json_pack("{s:s}", "message", msg);
    char *s = j != NULL ? model_json_dumps(j) : NULL;
    json_decref(j);
    lapi_reply_text(out, status, s);
}

void
lapi_reply_store_error(struct lapi_response *out, int rc, const struct store_error *err)
{
    unsigned status = rc == -ENOENT ? 404 : rc == -EEXIST ? 403 : rc == -EINVAL ? 400 : 500;
    lapi_reply_message(out, status, err->msg[0] != '\0' ? err->msg : strerror(-rc));
}

const char *
lapi_param(const struct lapi_request *r, const char *key)
{
    for (size_t i = 0; i < r->nparams; i++) {
        if (strcmp(r->params[i].key, key) == 0)
            return r->params[i].value;
    }
    return NULL;
}

json_t *
lapi_body_json(const struct lapi_request *r, struct lapi_response *out)
{
    json_error_t jerr;
    json_t *j;

    if (r->body_len == 0) {
        lapi_reply_message(out, 400, "EOF");
        return NULL;
    }
    j = json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (j == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        lapi_reply_message(out, 400, msg);
    }
    return j;
}

static void
handle_health(struct lapi_request *r, struct lapi_response *out)
{
    lapi_reply_json(out, 200, json_pack("{s:s}", "status", "up"));
}

static const struct lapi_route routes_core[] = {
    { "GET", "/health", false, LAPI_AUTH_NONE, handle_health },
};

struct route_table {
    const struct lapi_route *v;
    const size_t *n;
};

static const size_t routes_core_n = ARRAY_SIZE(routes_core);

static const struct route_table route_tables[] = {
    { routes_core, &routes_core_n },
    { lapi_routes_decisions, &lapi_routes_decisions_n },
    { lapi_routes_watchers, &lapi_routes_watchers_n },
    { lapi_routes_alerts, &lapi_routes_alerts_n },
    { lapi_routes_allowlists, &lapi_routes_allowlists_n },
    { lapi_routes_metrics, &lapi_routes_metrics_n },
};

/*
 * Routes whose {arg} may hold a '/': MHD hands over the path unescaped, and
 * a CIDR comes as "1.2.3.0%2F24" (CrowdSec's router uses the raw path).
 */
static bool
arg_may_have_slash(const struct lapi_route *rt)
{
    return strcmp(rt->path, "/v1/allowlists/check/") == 0;
}

static bool
path_matches(const struct lapi_route *rt, const char *path, const char **ret_arg)
{
    if (!rt->with_arg)
        return strcmp(rt->path, path) == 0;
    size_t n = strlen(rt->path);
    if (strncmp(rt->path, path, n) != 0 || path[n] == '\0' ||
        (!arg_may_have_slash(rt) && strchr(path + n, '/') != NULL))
        return false;
    *ret_arg = path + n;
    return true;
}

/* The route for (method, path); *ret_status is 404 or 405 when there is none. */
static const struct lapi_route *
find_route(const char *method, const char *path, const char **ret_arg, unsigned *ret_status)
{
    bool path_known = false;
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;

    for (size_t t = 0; t < ARRAY_SIZE(route_tables); t++) {
        for (size_t i = 0; i < *route_tables[t].n; i++) {
            const struct lapi_route *rt = &route_tables[t].v[i];
            const char *arg = NULL;
            if (!path_matches(rt, path, &arg))
                continue;
            path_known = true;
            if (strcmp(rt->method, m) == 0) {
                *ret_arg = arg;
                return rt;
            }
        }
    }
    *ret_status = path_known ? 405 : 404;
    return NULL;
}

static enum MHD_Result
collect_param(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct lapi_request *r = cls;
    if (r->nparams == LAPI_MAX_QUERY_PARAMS) {
        r->too_many_params = true;
        return MHD_NO;
    }
    r->params[r->nparams].key = key;
    r->params[r->nparams].value = value != NULL ? value : "";
    r->nparams++;
    return MHD_YES;
}

/* The socket peer, then the client behind a trusted proxy, then what it may do. */
static void
peer_address(struct MHD_Connection *c, struct lapi_request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct ip_addr peer = { 0 };
    char buf[INET6_ADDRSTRLEN] = "";

    r->peer_ip[0] = '\0';
    memset(&r->peer_addr, 0, sizeof(r->peer_addr));
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    }
    if (buf[0] == '\0' || ip_parse(buf, strlen(buf), &peer) != 0)
        return;
    lapi_netcfg_client_ip(
        r->lapi->net, &peer, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For"),
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP"), &r->peer_addr);
    ip_format(&r->peer_addr, r->peer_ip, sizeof(r->peer_ip));
    r->peer_trusted = lapi_netcfg_trusted(r->lapi->net, &r->peer_addr);
}

/* Queues resp; its body (text or file) goes to MHD, which frees it once sent. */
static enum MHD_Result
send_response(struct MHD_Connection *c, const struct lapi_response *resp_in)
{
    struct lapi_response resp = *resp_in;
    struct MHD_Response *mr;
    enum MHD_Result ret;

    if (resp.has_file) {
        /* Read with pread/sendfile from offset 0; MHD closes the fd with the response. */
        mr = MHD_create_response_from_fd64(resp.file_size, resp.file_fd);
        if (mr == NULL) {
            close(resp.file_fd);
            return MHD_NO;
        }
    } else {
        size_t len = resp.body != NULL ? strlen(resp.body) : 0;
        mr = MHD_create_response_from_buffer(len, resp.body != NULL ? resp.body : (void *)"",
                                             resp.body != NULL ? MHD_RESPMEM_MUST_FREE
                                                               : MHD_RESPMEM_PERSISTENT);
        if (mr == NULL) {
            free(resp.body);
            return MHD_NO;
        }
    }
    if (resp.body != NULL || resp.has_file)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json; charset=utf-8");
    if (resp.status == 429)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    ret = MHD_queue_response(c, resp.status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result
answer_now(struct conn_state *st, struct MHD_Connection *c, unsigned status, const char *json)
{
    struct lapi_response resp = { 0 };
    lapi_reply_text(&resp, status, json != NULL ? strdup(json) : NULL);
    st->answered = true;
    return send_response(c, &resp);
}

static bool
rate_limited_route(const char *method, const char *url)
{
    return strcmp(method, "POST") == 0 &&
           (strcmp(url, "/v1/watchers") == 0 || strcmp(url, "/v1/watchers/login") == 0);
}

/* Content-Encoding: gzip (case-insensitive, surrounding blanks allowed). */
static bool
is_gzip(const char *ce)
{
    if (ce == NULL)
        return false;
    while (*ce == ' ' || *ce == '\t')
        ce++;
    size_t n = strlen(ce);
    while (n > 0 && (ce[n - 1] == ' ' || ce[n - 1] == '\t'))
        n--;
    return n == 4 && strncasecmp(ce, "gzip", 4) == 0;
}

/*
 * CrowdSec's eitherAuthMiddleware: an API key, else a bearer token, else a
 * log processor guessed from its User-Agent (JWT), else a bouncer (its key
 * or its client certificate).
 */
static enum lapi_auth
either_auth(struct MHD_Connection *c, const struct lapi_request *r)
{
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-Key");
    if (key != NULL && key[0] != '\0')
        return LAPI_AUTH_KEY;
    if (r->authorization != NULL && r->authorization[0] != '\0')
        return LAPI_AUTH_JWT;
    if (r->user_agent != NULL && strncmp(r->user_agent, "crowdsec/", 9) == 0)
        return LAPI_AUTH_JWT;
    return LAPI_AUTH_KEY;
}

static enum MHD_Result on_headers_locked(struct lapi *l, struct conn_state *st,
                                         struct MHD_Connection *c, const char *url,
                                         const char *method);

/* Headers are in: route, authenticate, check the announced size. */
static enum MHD_Result
on_headers(struct lapi *l, struct conn_state *st, struct MHD_Connection *c, const char *url,
           const char *method)
{
    pthread_rwlock_rdlock(&l->lock);
    enum MHD_Result rc = on_headers_locked(l, st, c, url, method);
    pthread_rwlock_unlock(&l->lock);
    return rc;
}

static enum MHD_Result
on_headers_locked(struct lapi *l, struct conn_state *st, struct MHD_Connection *c, const char *url,
                  const char *method)
{
    struct lapi_request *r = &st->req;
    unsigned status = 404;
    const char *arg = NULL;

    r->lapi = l;
    r->method = method;
    r->path = url;
    r->start_ns = lapi_now_ns();
    r->user_agent = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
    r->authorization =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (l->tls != NULL) {
        const union MHD_ConnectionInfo *ti =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        r->tls_session = ti != NULL ? (gnutls_session_t)ti->tls_session : NULL;
    }
    peer_address(c, r);
    /*
     * Password guessing comes from outside: loopback and trusted_ips are not limited, since
     * every cscli-style command logs in first and scripts run many of them (CrowdSec has no
     * limit at all).
     */
    if (rate_limited_route(method, url) && r->peer_addr.family != 0 && !r->peer_trusted &&
        !lapi_ratelimit_allow(l->login_rl, &r->peer_addr, r->start_ns)) {
        log_warn("lapi: %s: too many requests on %s", r->peer_ip, url);
        return answer_now(st, c, 429, "{\"message\":\"too many requests\"}");
    }
    st->route = find_route(method, url, &arg, &status);
    if (st->route == NULL)
        return answer_now(st, c, status,
                          status == 404 ? "{\"message\":\"not found\"}"
                                        : "{\"message\":\"method not allowed\"}");
    if (arg != NULL && (r->path_arg = strdup(arg)) == NULL)
        return MHD_NO;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, r);
    if (r->too_many_params)
        return answer_now(st, c, 400, "{\"message\":\"too many query parameters\"}");

    st->limit = LAPI_BODY_MAX_UNAUTH;
    enum lapi_auth auth = st->route->auth;
    if (auth == LAPI_AUTH_EITHER)
        auth = either_auth(c, r);
    if (auth == LAPI_AUTH_KEY) {
        /* As CrowdSec: a client certificate, when there is one, decides alone. */
        if (lapi_request_has_cert(r)) {
            char msg[320];
            if (lapi_auth_bouncer_tls(r, msg, sizeof(msg)) != 0) {
                log_warn("lapi: %s: TLS bouncer refused: %s", r->peer_ip, msg);
                return answer_now(st, c, 403, "{\"message\":\"access forbidden\"}");
            }
        } else {
            const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-Key");
            if (lapi_auth_bouncer(r, key) != 0)
                return answer_now(st, c, 403, "{\"message\":\"access forbidden\"}");
        }
        st->limit = LAPI_BODY_MAX_AUTH;
    } else if (auth == LAPI_AUTH_JWT) {
        char msg[128];
        const char *authz =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (lapi_auth_jwt(r, authz, msg, sizeof(msg)) != 0) {
            json_t *j = json_pack("{s:i,s:s}", "code", 401, "message", msg);
            char *s = j != NULL ? model_json_dumps(j) : NULL;
            json_decref(j);
            struct lapi_response resp = { 0 };
            lapi_reply_text(&resp, 401, s);
            st->answered = true;
            return send_response(c, &resp);
        }
        st->limit = LAPI_BODY_MAX_AUTH;
    }
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        errno = 0;
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl || n > st->limit)
            return answer_now(st, c, 413, "{\"message\":\"request body too large\"}");
    }
    st->gzip =
        is_gzip(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING));
    return MHD_YES;
}

/* Replaces a gzip body by its inflated bytes, within the same limit; 0 or an answered error. */
static int
inflate_body(struct conn_state *st, struct MHD_Connection *c, enum MHD_Result *ret)
{
    struct lapi_request *r = &st->req;
    char *plain = NULL;
    size_t plen = 0;

    int rc = lapi_gunzip(r->body != NULL ? r->body : "", r->body_len, st->limit, &plain, &plen);
    if (rc == -EFBIG) {
        *ret = answer_now(st, c, 413, "{\"message\":\"request body too large\"}");
        return -1;
    }
    if (rc == -EINVAL) {
        *ret = answer_now(st, c, 400, "{\"message\":\"gzip: invalid header\"}");
        return -1;
    }
    if (rc != 0) {
        *ret = MHD_NO;
        return -1;
    }
    free(r->body);
    r->body = plain;
    r->body_len = plen;
    return 0;
}

static enum MHD_Result
on_body(struct conn_state *st, const char *data, size_t len)
{
    struct lapi_request *r = &st->req;

    if (st->too_large || len > st->limit - r->body_len) {
        st->too_large = true;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        return MHD_YES;
    }
    char *nb = realloc(r->body, r->body_len + len + 1);
    if (nb == NULL)
        return MHD_NO;
    memcpy(nb + r->body_len, data, len);
    r->body = nb;
    r->body_len += len;
    nb[r->body_len] = '\0';
    return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct lapi *l = cls;
    struct conn_state *st = *con_cls;

    if (st == NULL) {
        if ((st = calloc(1, sizeof(*st))) == NULL)
            return MHD_NO;
        *con_cls = st;
        return on_headers(l, st, c, url, method);
    }
    if (st->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        enum MHD_Result rc = on_body(st, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return rc;
    }
    if (st->too_large)
        return answer_now(st, c, 413, "{\"message\":\"request body too large\"}");
    enum MHD_Result early;
    if (st->gzip && inflate_body(st, c, &early) != 0)
        return early;
    struct lapi_response resp = { 0 };
    pthread_rwlock_rdlock(&l->lock);
    st->route->handler(&st->req, &resp);
    pthread_rwlock_unlock(&l->lock);
    if (resp.status == 0)
        lapi_reply_message(&resp, 500, "internal error");
    log_debug("lapi: %s %s %s -> %u", st->req.peer_ip, method, url, resp.status);
    st->trim = st->req.body_len >= TRIM_AFTER ||
               (resp.has_file ? resp.file_size >= TRIM_AFTER
                              : resp.body != NULL && strlen(resp.body) >= TRIM_AFTER);
    st->answered = true;
    return send_response(c, &resp);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct conn_state *st = *con_cls;
    if (st == NULL)
        return;
    free(st->req.path_arg);
    free(st->req.machine_id);
    free(st->req.body);
    store_bouncer_clear(&st->req.bouncer);
    bool trim = st->trim;
    free(st);
    *con_cls = NULL;
    /*
     * Without it the arena of this thread keeps the request's peak (parsed
     * alerts, a large answer) as free heap, and each of MHD's threads
     * adds its own.
     */
    if (trim)
        malloc_trim(0);
}

/* A new connection: over HTTPS, set client_verification on its TLS session before the handshake. */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    struct lapi *l = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED || l->tls == NULL)
        return;
    const union MHD_ConnectionInfo *ti =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ti != NULL && ti->tls_session != NULL)
        lapi_tls_session_setup(l->tls, (gnutls_session_t)ti->tls_session);
}

/* MHD's messages go through our log; MHD gives the format, so it is checked there. */
static void PRINTF_LIKE(2, 0) mhd_logger(void *cls, const char *fmt, va_list ap)
{
    log_vmsg(LOG_LEVEL_WARN, fmt, ap);
}

/* "host:port" or "[v6]:port" into a socket address; 0 or -1. */
static int
resolve_listen(const char *uri, struct sockaddr_storage *ss, struct lapi_error *err)
{
    char host[256];
    const char *colon = strrchr(uri, ':');
    struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai = NULL;

    if (colon == NULL || colon[1] == '\0' || (size_t)(colon - uri) >= sizeof(host)) {
        snprintf(err->msg, sizeof(err->msg), "listen_uri '%s' is not host:port", uri);
        return -1;
    }
    const char *h = uri;
    size_t hl = (size_t)(colon - uri);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    int rc = getaddrinfo(hl > 0 ? host : NULL, colon + 1, &hints, &ai);
    if (rc != 0 || ai == NULL) {
        snprintf(err->msg, sizeof(err->msg), "listen_uri '%s': %s", uri, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

static void
lapi_free(struct lapi *l)
{
    if (l == NULL)
        return;
    lapi_jobs_stop(l->jobs);
    if (l->mhd != NULL)
        MHD_stop_daemon(l->mhd);
    lapi_tls_free(l->tls);
    lapi_netcfg_free(l->net);
    lapi_ratelimit_free(l->login_rl);
    pthread_rwlock_destroy(&l->lock);
    profiles_free(l->profiles);
    store_close(l->store);
    if (l->secret_env != NULL) {
        explicit_bzero(l->secret_env, strlen(l->secret_env));
        free(l->secret_env);
    }
    explicit_bzero(l->secret, sizeof(l->secret));
    free(l);
}

int
lapi_start(const struct lapi_config *c, struct lapi **ret, struct lapi_error *err)
{
    struct lapi *l = calloc(1, sizeof(*l));
    struct store_error serr = { { 0 } };
    struct sockaddr_storage ss;

    if (l == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -1;
    }
    /* A reload must not wait behind an endless stream of readers. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int lrc = pthread_rwlock_init(&l->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    if (lrc != 0) {
        free(l);
        snprintf(err->msg, sizeof(err->msg), "cannot create a lock");
        return -1;
    }
    if (lapi_secret_init(l, err) != 0)
        goto fail;
    if ((l->net = lapi_netcfg_new(c, err)) == NULL)
        goto fail;
    if ((l->login_rl = lapi_ratelimit_new(c->login_rate_burst, c->login_rate_per_minute)) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto fail;
    }
    if (c->tls.cert_file != NULL) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            snprintf(err->msg, sizeof(err->msg), "this libmicrohttpd has no TLS support");
            goto fail;
        }
        struct lapi_error terr = { { 0 } };
        if ((l->tls = lapi_tls_new(&c->tls, &terr)) == NULL) {
            snprintf(err->msg, sizeof(err->msg), "while creating TLS config: %.480s", terr.msg);
            goto fail;
        }
    }
    if (resolve_listen(c->listen_uri, &ss, err) != 0)
        goto fail;
    if (store_open(c->db_type, c->db_dsn, &l->store, &serr) != 0 ||
        store_migrate(l->store, &serr) != 0) {
        snprintf(err->msg, sizeof(err->msg), "database (%s): %s", c->db_type, serr.msg);
        goto fail;
    }
    if (c->flush.enabled && (l->jobs = lapi_jobs_start(c, l->store, err)) == NULL)
        goto fail;
    if (c->profiles_path != NULL) {
        struct profiles_error perr = { { 0 }, 0, { 0 } };
        if ((l->profiles = profiles_load(c->profiles_path, &perr)) == NULL) {
            snprintf(err->msg, sizeof(err->msg), "%.200s:%d: %.280s", perr.file, perr.line,
                     perr.message);
            goto fail;
        }
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /*
     * Over HTTPS the certificate comes from our callback (so a reload can
     * replace it) and TLS below 1.2 is refused, as Go's MinVersion. The TLS
     * options go in an array that is empty without TLS, since MHD complains
     * about HTTPS options on a plain daemon.
     */
    struct MHD_OptionItem tls_opts[3] = { { MHD_OPTION_END, 0, NULL } };
    if (l->tls != NULL) {
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
                                               (void *)lapi_tls_cert_callback };
        tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
                                               (void *)"NORMAL:-VERS-TLS1.0:-VERS-TLS1.1" };
        tls_opts[2] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    }
    l->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, l,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)(c->threads > 0 ? c->threads : 4), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)c->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)c->connection_timeout_sec, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_END);
    if (l->mhd == NULL) {
        snprintf(err->msg, sizeof(err->msg), "cannot listen on %s: %s", c->listen_uri,
                 strerror(errno));
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
    l->port = di != NULL ? di->port : 0;
    *ret = l;
    return 0;
fail:
    lapi_free(l);
    return -1;
}

uint16_t
lapi_port(const struct lapi *l)
{
    return l->port;
}

void
lapi_stop(struct lapi *l)
{
    lapi_free(l);
}

int
lapi_reload(struct lapi *l, const struct lapi_config *c, struct lapi_error *err)
{
    struct profiles *prof = NULL;
    struct lapi_netcfg *net = NULL;
    struct lapi_ratelimit *rl = NULL;

    if ((c->tls.cert_file != NULL) != (l->tls != NULL)) {
        snprintf(err->msg, sizeof(err->msg), "turning TLS %s needs a restart",
                 l->tls != NULL ? "off" : "on");
        return -1;
    }
    if (c->profiles_path != NULL) {
        struct profiles_error perr = { { 0 }, 0, { 0 } };
        if ((prof = profiles_load(c->profiles_path, &perr)) == NULL) {
            snprintf(err->msg, sizeof(err->msg), "%.200s:%d: %.280s", perr.file, perr.line,
                     perr.message);
            return -1;
        }
    }
    if ((net = lapi_netcfg_new(c, err)) == NULL)
        goto fail;
    if ((rl = lapi_ratelimit_new(c->login_rate_burst, c->login_rate_per_minute)) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto fail;
    }
    /* Last, since it takes effect at once: everything else has loaded. */
    if (l->tls != NULL) {
        struct lapi_error terr = { { 0 } };
        if (lapi_tls_reload(l->tls, &c->tls, &terr) != 0) {
            snprintf(err->msg, sizeof(err->msg), "while creating TLS config: %.480s", terr.msg);
            goto fail;
        }
    }
    pthread_rwlock_wrlock(&l->lock);
    struct profiles *old_prof = l->profiles;
    struct lapi_netcfg *old_net = l->net;
    struct lapi_ratelimit *old_rl = l->login_rl;
    l->profiles = prof;
    l->net = net;
    l->login_rl = rl;
    pthread_rwlock_unlock(&l->lock);
    profiles_free(old_prof);
    lapi_netcfg_free(old_net);
    lapi_ratelimit_free(old_rl);
    return 0;
fail:
    profiles_free(prof);
    lapi_netcfg_free(net);
    lapi_ratelimit_free(rl);
    return -1;
}
