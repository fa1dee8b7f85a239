/*
 * routes_allowlists.c - CrowdSec 1.6's allowlists for machines (JWT), as
 * controllers/v1/allowlist.go: GET|HEAD /v1/allowlists[?with_content=true],
 * GET|HEAD /v1/allowlists/{name}[?with_content=true],
 * GET|HEAD /v1/allowlists/check/{ip_or_range} (HEAD answers 200 or 204
 * without a body) and POST /v1/allowlists/check (several targets), plus the
 * filter POST /v1/alerts applies before the profiles.
 *
 * Shapes are go-swagger's models with encoding/json: empty strings and false
 * are omitted, "items" is always there ([] without content), times are
 * strfmt.DateTime (RFC3339 with milliseconds) and an item that never expires
 * has Go's zero time. Expired items are left out of the answers.
 *
 * Two deliberate differences: a missing allowlist is 404 and an unparsable
 * address 400, as the swagger documents, where CrowdSec's HandleDBErrors
 * answers 500 with the same message.
 */
#include "common/gotime.h"
#include "common/log.h"
#include "lapi/internal.h"

#include <strings.h>

/* Targets of one POST /v1/allowlists/check: each is a query. */
#define BULK_MAX_TARGETS 10000

/* strfmt.DateTime's MarshalJSON: "2006-01-02T15:04:05.000Z07:00", here always UTC. */
static const char *
fmt_datetime(int64_t ns, char *buf, size_t size)
{
    struct gotime_fields f;

    if (ns == 0) {
        snprintf(buf, size, "0001-01-01T00:00:00.000Z");
        return buf;
    }
    gotime_fields((struct gotime){ ns, 0 }, &f);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", f.year, f.month, f.day, f.hour,
             f.minute, f.second, f.nanosecond / 1000000);
    return buf;
}

static int
set_string_nonempty(json_t *o, const char *key, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return 0;
    return json_object_set_new(o, key, json_string(v));
}

/* models.GetAllowlistResponse of a; items only with_content, unexpired ones. */
static json_t *
allowlist_json(const struct store_allowlist *a, bool with_content, int64_t now)
{
    char t[40];
    json_t *o = json_object(), *items = json_array();

    if (o == NULL || items == NULL)
        goto fail;
    if (set_string_nonempty(o, "allowlist_id", a->allowlist_id) != 0 ||
        (a->from_console && json_object_set_new(o, "console_managed", json_true()) != 0) ||
        json_object_set_new(o, "created_at",
                            json_string(fmt_datetime(a->created_at, t, sizeof(t)))) != 0 ||
        set_string_nonempty(o, "description", a->description) != 0)
        goto fail;
    for (size_t i = 0; with_content && i < a->nitems; i++) {
        const struct store_allowlist_item *it = &a->items[i];
        if (it->expires_at != 0 && it->expires_at < now)
            continue;
        json_t *j = json_object();
        if (j == NULL || json_array_append_new(items, j) != 0 ||
            json_object_set_new(j, "created_at",
                                json_string(fmt_datetime(it->created_at, t, sizeof(t)))) != 0 ||
            set_string_nonempty(j, "description", it->comment) != 0 ||
            json_object_set_new(j, "expiration",
                                json_string(fmt_datetime(it->expires_at, t, sizeof(t)))) != 0 ||
            set_string_nonempty(j, "value", it->value) != 0)
            goto fail;
    }
    if (json_object_set_new(o, "items", items) != 0)
        goto fail_o;
    if (set_string_nonempty(o, "name", a->name) != 0 ||
        json_object_set_new(o, "updated_at",
                            json_string(fmt_datetime(a->updated_at, t, sizeof(t)))) != 0)
        goto fail_o;
    return o;
fail:
    json_decref(items);
fail_o:
    json_decref(o);
    return NULL;
}

static bool
with_content(const struct lapi_request *r)
{
    const char *v = lapi_param(r, "with_content");
    return v != NULL && strcmp(v, "true") == 0;
}

static void
get_allowlists(struct lapi_request *r, struct lapi_response *out)
{
    struct store_allowlist *v = NULL;
    struct store_error serr = { { 0 } };
    size_t n = 0;
    bool content = with_content(r);
    int64_t now = lapi_now_ns();
    int rc;

    if ((rc = store_allowlist_list(r->lapi->store, content, &v, &n, &serr)) != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, allowlist_json(&v[i], content, now)) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    if (a == NULL)
        lapi_reply_message(out, 500, "out of memory");
    else
        lapi_reply_json(out, 200, a);
    store_allowlists_free(v, n);
}

static void
get_allowlist(struct lapi_request *r, struct lapi_response *out)
{
    struct store_allowlist a = { 0 };
    struct store_error serr = { { 0 } };
    bool content = with_content(r);
    int rc;

    if ((rc = store_allowlist_get(r->lapi->store, r->path_arg, content, &a, &serr)) != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    json_t *j = allowlist_json(&a, content, lapi_now_ns());
    if (j == NULL)
        lapi_reply_message(out, 500, "out of memory");
    else
        lapi_reply_json(out, 200, j);
    store_allowlist_clear(&a);
}

/* The reasons joined with ", " (IsAllowlisted), malloc'd; NULL on OOM. */
static char *
join_reasons(const struct store_strings *l)
{
    struct str s = STR_INIT;

    for (size_t i = 0; i < l->n; i++) {
        if ((i > 0 && str_append_cstr(&s, ", ") < 0) || str_append_cstr(&s, l->v[i]) < 0) {
            str_free(&s);
            return NULL;
        }
    }
    return s.buf != NULL ? s.buf : strdup("");
}

static void
check_allowlist(struct lapi_request *r, struct lapi_response *out)
{
    struct store_strings reasons = { 0 };
    struct store_error serr = { { 0 } };
    int rc;

    if (r->path_arg == NULL || r->path_arg[0] == '\0') {
        lapi_reply_message(out, 400, "value is required");
        return;
    }
    rc = store_allowlist_match(r->lapi->store, r->path_arg, lapi_now_ns(), &reasons, &serr);
    if (rc != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    if (strcmp(r->method, "HEAD") == 0) {
        out->status = reasons.n > 0 ? 200 : 204;
        store_strings_clear(&reasons);
        return;
    }
    json_t *o = json_object();
    char *reason = join_reasons(&reasons);
    if (o == NULL || reason == NULL ||
        (reasons.n > 0 && (json_object_set_new(o, "allowlisted", json_true()) != 0 ||
                           set_string_nonempty(o, "reason", reason) != 0))) {
        json_decref(o);
        lapi_reply_message(out, 500, "out of memory");
    } else {
        lapi_reply_json(out, 200, o);
    }
    free(reason);
    store_strings_clear(&reasons);
}

/* CheckInAllowlistBulk: {"targets": [...]} -> {"results": [{"allowlists", "target"}...]}. */
static void
check_allowlist_bulk(struct lapi_request *r, struct lapi_response *out)
{
    json_t *j = lapi_body_json(r, out), *targets, *results = NULL;
    struct store_error serr = { { 0 } };
    int64_t now = lapi_now_ns();

    if (j == NULL)
        return;
    if (!json_is_object(j)) {
        lapi_reply_message(out, 400,
                           "json: cannot unmarshal non-object into Go value of type "
                           "models.BulkCheckAllowlistRequest");
        goto out;
    }
    targets = json_object_get(j, "targets");
    if (targets != NULL && !json_is_array(targets) && !json_is_null(targets)) {
        lapi_reply_message(out, 400,
                           "json: cannot unmarshal non-array into Go struct field "
                           "BulkCheckAllowlistRequest.targets of type []string");
        goto out;
    }
    if (json_array_size(targets) == 0) {
        lapi_reply_message(out, 400, "targets list cannot be empty");
        goto out;
    }
    if (json_array_size(targets) > BULK_MAX_TARGETS) {
        lapi_reply_message(out, 400, "too many targets");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(targets); i++) {
        if (!json_is_string(json_array_get(targets, i))) {
            lapi_reply_message(out, 400,
                               "json: cannot unmarshal non-string into Go struct field "
                               "BulkCheckAllowlistRequest.targets of type string");
            goto out;
        }
    }
    if ((results = json_array()) == NULL)
        goto oom;
    for (size_t i = 0; i < json_array_size(targets); i++) {
        const char *t = json_string_value(json_array_get(targets, i));
        struct store_strings reasons = { 0 };
        int rc = store_allowlist_match(r->lapi->store, t, now, &reasons, &serr);
        if (rc != 0) {
            lapi_reply_store_error(out, rc, &serr);
            goto out;
        }
        if (reasons.n == 0)
            continue;
        json_t *res = json_object(), *lists = json_array();
        for (size_t k = 0; lists != NULL && k < reasons.n; k++)
            if (json_array_append_new(lists, json_string(reasons.v[k])) != 0) {
                json_decref(lists);
                lists = NULL;
            }
        store_strings_clear(&reasons);
        if (res == NULL || lists == NULL || json_array_append_new(results, res) != 0 ||
            json_object_set_new(res, "allowlists", lists) != 0 ||
            json_object_set_new(res, "target", json_string(t)) != 0)
            goto oom;
    }
    lapi_reply_json(out, 200, json_pack("{s:O}", "results", results));
    goto out;
oom:
    lapi_reply_message(out, 500, "out of memory");
out:
    json_decref(results);
    json_decref(j);
}

static bool
scope_is(const char *scope, const char *want)
{
    return scope != NULL && strcasecmp(scope, want) == 0;
}

size_t
lapi_allowlist_filter_alerts(struct lapi_request *r, struct alert *alerts, size_t n)
{
    int64_t now = lapi_now_ns();
    size_t kept = 0;

    for (size_t i = 0; i < n; i++) {
        struct alert *a = &alerts[i];
        const struct source *src = a->source;
        bool skip = false;

        /* Decisions already there come from cscli, which checked the allowlists itself. */
        if (a->ndecisions == 0 && src != NULL && src->value != NULL &&
            (scope_is(src->scope, "ip") || scope_is(src->scope, "range"))) {
            struct store_strings reasons = { 0 };
            struct store_error serr = { { 0 } };
            if (store_allowlist_match(r->lapi->store, src->value, now, &reasons, &serr) != 0) {
                /* As CrowdSec: the alert goes on when the check fails. */
                log_error("lapi: error while checking allowlist: %s", serr.msg);
            } else if (reasons.n > 0) {
                char *reason = join_reasons(&reasons);
                log_info("lapi: alert source %s is allowlisted by %s, skipping", src->value,
                         reason != NULL ? reason : "?");
                free(reason);
                skip = true;
            }
            store_strings_clear(&reasons);
        }
        if (skip) {
            alert_clear(a);
            continue;
        }
        if (kept != i) {
            alerts[kept] = *a;
            memset(a, 0, sizeof(*a));
        }
        kept++;
    }
    return kept;
}

const struct lapi_route lapi_routes_allowlists[] = {
    { "GET", "/v1/allowlists", false, LAPI_AUTH_JWT, get_allowlists },
    { "POST", "/v1/allowlists/check", false, LAPI_AUTH_JWT, check_allowlist_bulk },
    { "GET", "/v1/allowlists/check/", true, LAPI_AUTH_JWT, check_allowlist },
    { "GET", "/v1/allowlists/", true, LAPI_AUTH_JWT, get_allowlist },
};
const size_t lapi_routes_allowlists_n = ARRAY_SIZE(lapi_routes_allowlists);
