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

static json_t *
format_decisions(const struct store_decision_list *l, int64_t now)
{
    if (l->n == 0)
        return json_null();
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        const struct store_decision *sd = &l->v[i];
        char dur[64];
        gotime_format_duration(round_second(sd->until - now), dur, sizeof(dur));
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
        if (json_array_append_new(arr, decision_to_json(&d)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
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
    struct store_decision_list l = { 0 };
    struct store_error serr = { { 0 } };
    int64_t now = lapi_now_ns();
    int rc;

    note_bouncer(r);
    if ((rc = store_decisions_list(r->lapi->store, &p, now, &l, &serr)) != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    lapi_reply_json(out, 200, format_decisions(&l, now));
    store_decision_list_clear(&l);
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
    struct store_decision_list n = { 0 }, d = { 0 };
    struct store_error serr = { { 0 } };
    int64_t now = r->start_ns;
    const char *startup = lapi_param(r, "startup");
    bool has_scopes = false;
    json_t *body = NULL;
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
    if (startup != NULL && strcmp(startup, "true") == 0) {
        rc = store_decisions_new_since(r->lapi->store, &p, now, -1, &n, &serr);
        if (rc == 0)
            rc = store_decisions_expired_since(r->lapi->store, &p, now, -1, &d, &serr);
    } else {
        rc = store_decisions_new_since(r->lapi->store, &p, now, last, &n, &serr);
        /* CrowdSec looks 2 s before the cursor for expirations, to cover clock steps. */
        if (rc == 0)
            rc = store_decisions_expired_since(r->lapi->store, &p, now,
                                               last < 0 ? -1 : last - 2 * SEC_NS, &d, &serr);
    }
    if (rc != 0) {
        lapi_reply_message(out, 500, serr.msg);
        goto out;
    }
    if ((body = json_object()) == NULL ||
        json_object_set_new(body, "new", format_decisions(&n, now)) != 0 ||
        json_object_set_new(body, "deleted", format_decisions(&d, now)) != 0) {
        json_decref(body);
        lapi_reply_message(out, 500, "out of memory");
        goto out;
    }
    lapi_reply_json(out, 200, body);
    if (out->status == 200 &&
        store_bouncer_set_last_pull(r->lapi->store, r->bouncer.name, r->start_ns, &serr) != 0)
        log_warn("lapi: cannot update last pull of '%s': %s", r->bouncer.name, serr.msg);
out:
    store_decision_list_clear(&n);
    store_decision_list_clear(&d);
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
