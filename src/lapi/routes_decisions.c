/*
 * routes_decisions.c - what bouncers read and machines delete:
 * GET|HEAD /v1/decisions, GET|HEAD /v1/decisions/stream (X-Api-Key) and
 * DELETE /v1/decisions[/{id}] (JWT), as CrowdSec's controllers/v1/decisions.go.
 *
 * A bouncer decision is {duration, id, origin, scenario, scope, type, uuid,
 * value} with duration = until - now rounded to the second in Go's
 * Duration.String() form. Empty lists are JSON null, as Go's nil slices.
 * The stream's cursor is the bouncer's last_pull, set to the start of the
 * request once it has been answered, never on HEAD.
 *
 * Answers are written row by row as the store reads them, into a struct
 * lapi_out (a temporary file past a MiB), never as a JSON tree or a list:
 * a million decisions cost the same memory as a thousand.
 */
#include <inttypes.h>

#include "common/gotime.h"
#include "common/log.h"
#include "lapi/internal.h"

#define SEC_NS INT64_C(1000000000)

/* Go's Duration.Round(time.Second): halves away from zero. */
static int64_t
round_second(int64_t d)
{
    int64_t r = d % SEC_NS;
    if (d < 0) {
        r = -r;
        if (r + r < SEC_NS)
            return d + r;
        return d - (SEC_NS - r);
    }
    if (r + r < SEC_NS)
        return d - r;
    return d + (SEC_NS - r);
}

/* One JSON array being written by a store_decisions_each scan. */
struct decision_writer {
    struct lapi_out *out;
    int64_t now;
    size_t n;
    struct store_error *serr;
};

/*
 * The length of s when Go's encoder writes it unchanged between quotes
 * (printable ASCII without '"', '\\', '<', '>', '&'), else -1: the values of
 * a decision almost always are.
 */
static ptrdiff_t
plain_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (; *p != '\0'; p++) {
        unsigned char c = *p;
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&')
            return -1;
    }
    return p - (const unsigned char *)s;
}

/* A line being assembled in a fixed buffer; too long, it is marked and the caller falls back. */
struct dline {
    char buf[1024];
    size_t len;
    bool overflow;
};

static void
line_put(struct dline *l, const char *p, size_t n)
{
    if (n > sizeof(l->buf) - l->len) {
        l->overflow = true;
        return;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
}

/* Appends key (with its quotes and colon, a literal) and "v" (plain, len bytes). */
#define LINE_KEY(l, key) line_put((l), (key), sizeof(key) - 1)
static void
line_str(struct dline *l, const char *v, ptrdiff_t len)
{
    line_put(l, "\"", 1);
    line_put(l, v, (size_t)len);
    line_put(l, "\"", 1);
}

/*
 * The decision as decision_to_json and model_json_dumps write it (keys
 * sorted, id omitted when 0, uuid when empty), assembled directly when every
 * string is plain and the whole fits the line; 0, or -1 when the JSON
 * encoder must do it.
 */
static int
write_plain(struct lapi_out *o, const struct decision *d)
{
    ptrdiff_t dur = plain_len(d->duration), origin = plain_len(d->origin),
              scenario = plain_len(d->scenario), scope = plain_len(d->scope),
              type = plain_len(d->type), uuid = plain_len(d->uuid), value = plain_len(d->value);
    struct dline l;

    if (dur < 0 || origin < 0 || scenario < 0 || scope < 0 || type < 0 || uuid < 0 || value < 0)
        return -1;
    l.len = 0;
    l.overflow = false;
    LINE_KEY(&l, "{\"duration\":");
    line_str(&l, d->duration, dur);
    if (d->id != 0) {
        char id[32];
        int n = snprintf(id, sizeof(id), ",\"id\":%" PRId64, d->id);
        line_put(&l, id, (size_t)n);
    }
    LINE_KEY(&l, ",\"origin\":");
    line_str(&l, d->origin, origin);
    LINE_KEY(&l, ",\"scenario\":");
    line_str(&l, d->scenario, scenario);
    LINE_KEY(&l, ",\"scope\":");
    line_str(&l, d->scope, scope);
    LINE_KEY(&l, ",\"type\":");
    line_str(&l, d->type, type);
    if (uuid > 0) {
        LINE_KEY(&l, ",\"uuid\":");
        line_str(&l, d->uuid, uuid);
    }
    LINE_KEY(&l, ",\"value\":");
    line_str(&l, d->value, value);
    line_put(&l, "}", 1);
    if (l.overflow)
        return -1;
    lapi_out_write(o, l.buf, l.len);
    return 0;
}

/* Appends one decision, in decision_to_json's shape, to the array being written. */
static int
write_decision(const struct store_decision *sd, void *ctx)
{
    struct decision_writer *w = ctx;
    char dur[64];
    gotime_format_duration(round_second(sd->until - w->now), dur, sizeof(dur));
    struct decision d = {
        .id = sd->id,
        .uuid = sd->uuid,
        .duration = dur,
        .origin = sd->origin,
        .scenario = sd->scenario,
        .scope = sd->scope,
        .type = sd->type,
        .value = sd->value,
    };
    int rc;

    lapi_out_write(w->out, w->n == 0 ? "[" : ",", 1);
    w->n++;
    if (write_plain(w->out, &d) != 0) {
        json_t *j = decision_to_json(&d);
        char *text = j != NULL ? model_json_dumps(j) : NULL;
        json_decref(j);
        if (text == NULL) {
            snprintf(w->serr->msg, sizeof(w->serr->msg), "out of memory");
            return -ENOMEM;
        }
        lapi_out_cstr(w->out, text);
        free(text);
    }
    /* The writer's error is sticky: the scan stops at the first failed write. */
    if ((rc = w->out->error) != 0)
        snprintf(w->serr->msg, sizeof(w->serr->msg), "cannot write the answer: %s",
                 rc == -ENOMEM ? "out of memory" : strerror(-rc));
    return rc;
}

/*
 * Appends the decisions of one query as a JSON array, "null" when there is
 * none (Go's nil slice), one row at a time: the answer is never held as a
 * list and a JSON tree besides the text.
 */
static int
write_decisions(struct lapi_request *r, enum store_dquery kind, const struct store_params *p,
                int64_t now, int64_t since, struct lapi_out *out, struct store_error *serr)
{
    struct decision_writer w = { out, now, 0, serr };
    int rc = store_decisions_each(r->lapi->store, kind, p, now, since, write_decision, &w, serr);

    if (rc == 0)
        lapi_out_cstr(out, w.n == 0 ? "null" : "]");
    return rc;
}

/* Records the bouncer's User-Agent "type/version" and address when they change. */
static void
note_bouncer(struct lapi_request *r)
{
    struct store_error serr;
    const char *ua = r->user_agent != NULL ? r->user_agent : "";
    const char *slash = strchr(ua, '/');
    char type[128] = "", version[128] = "";

    if (slash != NULL) {
        snprintf(type, sizeof(type), "%.*s", (int)(slash - ua), ua);
        snprintf(version, sizeof(version), "%s", slash + 1);
    } else {
        snprintf(type, sizeof(type), "%s", ua);
    }
    const struct store_bouncer *b = &r->bouncer;
    if (b->ip_address != NULL && strcmp(b->ip_address, r->peer_ip) == 0 && b->type != NULL &&
        strcmp(b->type, type) == 0 && b->version != NULL && strcmp(b->version, version) == 0)
        return;
    if (store_bouncer_update_info(r->lapi->store, b->name, r->peer_ip, type, version, r->start_ns,
                                  &serr) != 0)
        log_warn("lapi: cannot record bouncer '%s' info: %s", b->name, serr.msg);
}

static void
get_decisions(struct lapi_request *r, struct lapi_response *out)
{
    struct store_params p = { r->params, r->nparams };
    struct store_error serr = { { 0 } };
    struct lapi_out body;
    int64_t now = lapi_now_ns();
    int rc;

    note_bouncer(r);
    lapi_out_init(&body);
    if ((rc = write_decisions(r, STORE_DQ_LIST, &p, now, -1, &body, &serr)) != 0) {
        lapi_out_free(&body);
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    lapi_reply_out(out, 200, &body);
    if (out->status != 200 || strcmp(r->method, "HEAD") == 0)
        return;
    /* CrowdSec writes last_pull at most once a minute on this endpoint. */
    if (r->bouncer.last_pull < 0 || now - r->bouncer.last_pull >= 60 * SEC_NS) {
        if (store_bouncer_set_last_pull(r->lapi->store, r->bouncer.name, now, &serr) != 0)
            log_warn("lapi: cannot update last pull of '%s': %s", r->bouncer.name, serr.msg);
    }
}

static void
get_stream(struct lapi_request *r, struct lapi_response *out)
{
    struct store_param pv[LAPI_MAX_QUERY_PARAMS + 1];
    struct store_params p = { pv, 0 };
    struct store_error serr = { { 0 } };
    struct lapi_out body;
    int64_t now = r->start_ns, since_new = -1, since_deleted = -1;
    const char *startup = lapi_param(r, "startup");
    bool has_scopes = false;
    int rc;

    note_bouncer(r);
    if (strcmp(r->method, "HEAD") == 0) {
        lapi_reply_text(out, 200, NULL);
        return;
    }
    for (size_t i = 0; i < r->nparams; i++) {
        pv[p.n++] = r->params[i];
        has_scopes |= strcmp(r->params[i].key, "scopes") == 0;
    }
    if (!has_scopes)
        pv[p.n++] = (struct store_param){ "scopes", "ip,range" };

    int64_t last = r->bouncer.last_pull;
    if (startup == NULL || strcmp(startup, "true") != 0) {
        since_new = last;
        /* CrowdSec looks 2 s before the cursor for expirations, to cover clock steps. */
        since_deleted = last < 0 ? -1 : last - 2 * SEC_NS;
    }
    lapi_out_init(&body);
    rc = lapi_out_cstr(&body, "{\"deleted\":");
    if (rc == 0)
        rc = write_decisions(r, STORE_DQ_EXPIRED, &p, now, since_deleted, &body, &serr);
    if (rc == 0)
        rc = lapi_out_cstr(&body, ",\"new\":");
    if (rc == 0)
        rc = write_decisions(r, STORE_DQ_NEW, &p, now, since_new, &body, &serr);
    if (rc == 0)
        rc = lapi_out_write(&body, "}", 1);
    if (rc != 0) {
        lapi_out_free(&body);
        lapi_reply_message(out, 500,
                           rc == -ENOMEM         ? "out of memory"
                           : serr.msg[0] != '\0' ? serr.msg
                                                 : strerror(-rc));
        return;
    }
    lapi_reply_out(out, 200, &body);
    if (out->status != 200)
        return;
    if (store_bouncer_set_last_pull(r->lapi->store, r->bouncer.name, r->start_ns, &serr) != 0)
        log_warn("lapi: cannot update last pull of '%s': %s", r->bouncer.name, serr.msg);
}

static void
reply_deleted(struct lapi_response *out, int64_t count)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, count);
    lapi_reply_json(out, 200, json_pack("{s:s}", "nbDeleted", num));
}

static void
delete_decisions(struct lapi_request *r, struct lapi_response *out)
{
    struct store_params p = { r->params, r->nparams };
    struct store_error serr = { { 0 } };
    int64_t count = 0;
    int rc = store_decisions_expire(r->lapi->store, &p, lapi_now_ns(), &count, NULL, &serr);
    if (rc != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    reply_deleted(out, count);
}

static void
delete_decision_id(struct lapi_request *r, struct lapi_response *out)
{
    struct store_error serr = { { 0 } };
    int64_t count = 0;
    char *end;

    errno = 0;
    long long id = strtoll(r->path_arg, &end, 10);
    if (errno != 0 || *end != '\0' || end == r->path_arg || id > INT32_MAX || id < INT32_MIN) {
        lapi_reply_message(out, 400, "decision_id must be valid integer");
        return;
    }
    int rc = store_decision_expire_id(r->lapi->store, id, lapi_now_ns(), &count, &serr);
    if (rc != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    reply_deleted(out, count);
}

const struct lapi_route lapi_routes_decisions[] = {
    { "GET", "/v1/decisions", false, LAPI_AUTH_KEY, get_decisions },
    { "GET", "/v1/decisions/stream", false, LAPI_AUTH_KEY, get_stream },
    { "DELETE", "/v1/decisions", false, LAPI_AUTH_JWT, delete_decisions },
    { "DELETE", "/v1/decisions/", true, LAPI_AUTH_JWT, delete_decision_id },
};
const size_t lapi_routes_decisions_n = ARRAY_SIZE(lapi_routes_decisions);
