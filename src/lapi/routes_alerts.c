/*
 * routes_alerts.c - alerts pushed and read by machines (JWT):
 * POST /v1/alerts (validate, profiles -> decisions, store in one
 * transaction, 201 with the new ids as strings), GET|HEAD /v1/alerts with
 * the store's filters, GET|HEAD /v1/alerts/{id}, and DELETE /v1/alerts[/{id}]
 * from trusted addresses only (loopback), as controllers/v1/alerts.go.
 */
#include <inttypes.h>

#include "common/log.h"
#include "lapi/internal.h"
#include "lapi/profiles.h"

static void
free_alerts(struct alert *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        alert_clear(&a[i]);
    free(a);
}

static int
apply_profiles(struct lapi_request *r, struct alert *alerts, size_t n, struct lapi_response *out)
{
    char msg[512];
    struct expr_vm *vm;

    if (r->lapi->profiles == NULL)
        return 0;
    if ((vm = expr_vm_new()) == NULL) {
        lapi_reply_message(out, 500, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        msg[0] = '\0';
        /* An empty "decisions": [] is still an allocation; profiles_apply replaces the array. */
        if (alerts[i].ndecisions == 0) {
            free(alerts[i].decisions);
            alerts[i].decisions = NULL;
        }
        if (profiles_apply(r->lapi->profiles, vm, &alerts[i], msg, sizeof(msg)) != 0) {
            lapi_reply_message(out, 500, msg[0] != '\0' ? msg : "profile evaluation failed");
            expr_vm_free(vm);
            return -1;
        }
    }
    expr_vm_free(vm);
    return 0;
}

static void
post_alerts(struct lapi_request *r, struct lapi_response *out)
{
    json_t *j = lapi_body_json(r, out), *ids = NULL;
    struct alert *alerts = NULL;
    size_t n = 0;
    int64_t *idv = NULL;
    char msg[1024];
    struct store_error serr = { { 0 } };

    if (j == NULL)
        return;
    if (!json_is_array(j)) {
        lapi_reply_message(out, 400,
                           "json: cannot unmarshal non-array into Go value of type "
                           "models.AddAlertsRequest");
        goto out;
    }
    if (alerts_from_json_array(j, &alerts, &n, msg, sizeof(msg)) != 0) {
        lapi_reply_message(out, 400, msg);
        goto out;
    }
    if (alerts_validate(alerts, n, msg, sizeof(msg)) != 0) {
        lapi_reply_message(out, 422, msg);
        goto out;
    }
    n = lapi_allowlist_filter_alerts(r, alerts, n);
    for (size_t i = 0; i < n; i++) {
        if (model_strset(&alerts[i].machine_id, r->machine_id) != 0) {
            lapi_reply_message(out, 500, "out of memory");
            goto out;
        }
    }
    if (apply_profiles(r, alerts, n, out) != 0)
        goto out;
    int64_t now = lapi_now_ns();
    if (n > 0 && (idv = calloc(n, sizeof(*idv))) == NULL) {
        lapi_reply_message(out, 500, "out of memory");
        goto out;
    }
    int rc = store_alerts_insert(r->lapi->store, alerts, n, r->machine_id, now, idv, &serr);
    if (rc != 0) {
        lapi_reply_store_error(out, rc, &serr);
        goto out;
    }
    if ((ids = json_array()) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        char num[32];
        if (idv[i] == 0)
            continue; /* every decision of the alert was unusable, so it was not stored */
        snprintf(num, sizeof(num), "%" PRId64, idv[i]);
        if (json_array_append_new(ids, json_string(num)) != 0)
            goto oom;
    }
    lapi_reply_json(out, 201, ids);
    ids = NULL;
    if (store_machine_touch(r->lapi->store, r->machine_id, false, true, now, &serr) != 0)
        log_warn("lapi: cannot record the push of '%s': %s", r->machine_id, serr.msg);
    goto out;
oom:
    lapi_reply_message(out, 500, "out of memory");
out:
    json_decref(ids);
    free(idv);
    free_alerts(alerts, n);
    json_decref(j);
}

static void
get_alerts(struct lapi_request *r, struct lapi_response *out)
{
    struct store_params p = { r->params, r->nparams };
    struct store_alert_list l = { 0 };
    struct store_error serr = { { 0 } };
    struct alert *v = NULL;
    int64_t now = lapi_now_ns();
    int rc;

    if ((rc = store_alerts_list(r->lapi->store, &p, now, &l, &serr)) != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    if (l.n > 0 && (v = calloc(l.n, sizeof(*v))) == NULL) {
        lapi_reply_message(out, 500, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (store_alert_to_model(&l.v[i], now, &v[i]) != 0) {
            lapi_reply_message(out, 500, "out of memory");
            goto out;
        }
    }
    /* No alert is Go's nil slice: null. */
    lapi_reply_json(out, 200, l.n > 0 ? alerts_to_json_array(v, l.n) : json_null());
out:
    if (v != NULL)
        free_alerts(v, l.n);
    store_alert_list_clear(&l);
}

static int
parse_id(const char *s, int64_t *ret)
{
    char *end;
    errno = 0;
    long long id = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || id > INT32_MAX || id < INT32_MIN)
        return -1;
    *ret = id;
    return 0;
}

static void
get_alert(struct lapi_request *r, struct lapi_response *out)
{
    struct store_alert sa = { 0 };
    struct store_error serr = { { 0 } };
    struct alert a = { 0 };
    int64_t id;
    int rc;

    if (parse_id(r->path_arg, &id) != 0) {
        lapi_reply_message(out, 400, "alert_id must be valid integer");
        return;
    }
    if ((rc = store_alert_get(r->lapi->store, id, &sa, &serr)) != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    if (store_alert_to_model(&sa, lapi_now_ns(), &a) != 0)
        lapi_reply_message(out, 500, "out of memory");
    else
        lapi_reply_json(out, 200, alert_to_json(&a));
    alert_clear(&a);
    store_alert_clear(&sa);
}

static bool
trusted(struct lapi_request *r, struct lapi_response *out)
{
    if (r->peer_trusted)
        return true;
    char msg[128];
    snprintf(msg, sizeof(msg), "access forbidden from this IP (%s)", r->peer_ip);
    lapi_reply_message(out, 403, msg);
    return false;
}

static void
reply_deleted(struct lapi_response *out, int64_t count)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, count);
    lapi_reply_json(out, 200, json_pack("{s:s}", "nbDeleted", num));
}

static void
delete_alerts(struct lapi_request *r, struct lapi_response *out)
{
    struct store_params p = { r->params, r->nparams };
    struct store_error serr = { { 0 } };
    int64_t count = 0;
    int rc;

    if (!trusted(r, out))
        return;
    if ((rc = store_alerts_delete(r->lapi->store, &p, lapi_now_ns(), &count, &serr)) != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    reply_deleted(out, count);
}

static void
delete_alert(struct lapi_request *r, struct lapi_response *out)
{
    struct store_error serr = { { 0 } };
    int64_t id;
    int rc;

    if (!trusted(r, out))
        return;
    if (parse_id(r->path_arg, &id) != 0) {
        lapi_reply_message(out, 400, "alert_id must be valid integer");
        return;
    }
    if ((rc = store_alert_delete(r->lapi->store, id, &serr)) != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    reply_deleted(out, 1);
}

const struct lapi_route lapi_routes_alerts[] = {
    { "POST", "/v1/alerts", false, LAPI_AUTH_JWT, post_alerts },
    { "GET", "/v1/alerts", false, LAPI_AUTH_JWT, get_alerts },
    { "DELETE", "/v1/alerts", false, LAPI_AUTH_JWT, delete_alerts },
    { "GET", "/v1/alerts/", true, LAPI_AUTH_JWT, get_alert },
    { "DELETE", "/v1/alerts/", true, LAPI_AUTH_JWT, delete_alert },
};
const size_t lapi_routes_alerts_n = ARRAY_SIZE(lapi_routes_alerts);
