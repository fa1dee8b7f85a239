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
    struct str *out;
    int64_t now;
    size_t n;
    struct store_error *serr;
};

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
    json_t *j = decision_to_json(&d);
    char *text = j != NULL ? model_json_dumps(j) : NULL;
    int rc = 0;

    json_decref(j);
    if (text == NULL || str_append_char(w->out, w->n == 0 ? '[' : ',') < 0 ||
        str_append_cstr(w->out, text) < 0) {
        snprintf(w->serr->msg, sizeof(w->serr->msg), "out of memory");
        rc = -ENOMEM;
    }
    free(text);
    w->n++;
    return rc;
}

/*
 * Appends the decisions of one query as a JSON array, "null" when there is
 * none (Go's nil slice), one row at a time: the answer is never held as a
 * list and a JSON tree besides the text.
 */
static int
write_decisions(struct lapi_request *r, enum store_dquery kind, const struct store_params *p,
                int64_t now, int64_t since, struct str *out, struct store_error *serr)
{
    struct decision_writer w = { out, now, 0, serr };
    int rc = store_decisions_each(r->lapi->store, kind, p, now, since, write_decision, &w, serr);

    if (rc == 0 && str_append_cstr(out, w.n == 0 ? "null" : "]") < 0) {
        snprintf(serr->msg, sizeof(serr->msg), "out of memory");
        rc = -ENOMEM;
    }
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
    struct str body = STR_INIT;
    int64_t now = lapi_now_ns();
    int rc;

    note_bouncer(r);
    if ((rc = write_decisions(r, STORE_DQ_LIST, &p, now, -1, &body, &serr)) != 0) {
        str_free(&body);
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    lapi_reply_text(out, 200, str_steal(&body));
    if (strcmp(r->method, "HEAD") == 0)
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
    struct str body = STR_INIT;
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
    rc = str_append_cstr(&body, "{\"deleted\":") < 0 ? -ENOMEM : 0;
    if (rc == 0)
        rc = write_decisions(r, STORE_DQ_EXPIRED, &p, now, since_deleted, &body, &serr);
    if (rc == 0)
        rc = str_append_cstr(&body, ",\"new\":") < 0 ? -ENOMEM : 0;
    if (rc == 0)
        rc = write_decisions(r, STORE_DQ_NEW, &p, now, since_new, &body, &serr);
    if (rc == 0)
        rc = str_append_char(&body, '}') < 0 ? -ENOMEM : 0;
    if (rc != 0) {
        str_free(&body);
        lapi_reply_message(out, 500, rc == -ENOMEM ? "out of memory" : serr.msg);
        return;
    }
    lapi_reply_text(out, 200, str_steal(&body));
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
