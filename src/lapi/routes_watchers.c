/*
 * routes_watchers.c - machines (agents): registration, password login that
 * issues the JWT, heartbeat and self-deletion, as CrowdSec's
 * controllers/v1/machines.go, heartbeat.go and middlewares/v1/jwt.go with
 * gin-jwt's answers ({"code":401,"message":...} on a failed login).
 */
#include "common/gotime.h"
#include "common/log.h"
#include "lapi/internal.h"

#define MACHINE_ID_MAX 255
/* bcrypt looks at 72 bytes at most; Go's bcrypt refuses longer passwords. */
#define PASSWORD_MAX 72

static void
reply_code(struct lapi_response *out, unsigned status, const char *msg)
{
    lapi_reply_json(out, status, json_pack("{s:i,s:s}", "code", (int)status, "message", msg));
}

/* A string member of an object, NULL when absent or null; -1 when of another type. */
static int
member_string(const json_t *o, const char *key, const char **ret)
{
    const json_t *v = json_object_get(o, key);
    *ret = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *ret = json_string_value(v);
    return 0;
}

static void
register_machine(struct lapi_request *r, struct lapi_response *out)
{
    json_t *j = lapi_body_json(r, out);
    const char *id, *pw;
    char msg[256];
    struct store_error serr = { { 0 } };

    if (j == NULL)
        return;
    if (!json_is_object(j)) {
        lapi_reply_message(out, 400,
                           "json: cannot unmarshal non-object into Go value of type "
                           "models.WatcherRegistrationRequest");
        goto out;
    }
    if (member_string(j, "machine_id", &id) != 0 || member_string(j, "password", &pw) != 0) {
        lapi_reply_message(out, 400,
                           "json: cannot unmarshal non-string into Go struct field "
                           "WatcherRegistrationRequest of type string");
        goto out;
    }
    if (id == NULL || pw == NULL) {
        snprintf(msg, sizeof(msg), "validation failure list:\n%s%s%s",
                 id == NULL ? "machine_id in body is required" : "",
                 id == NULL && pw == NULL ? "\n" : "",
                 pw == NULL ? "password in body is required" : "");
        lapi_reply_message(out, 422, msg);
        goto out;
    }
    if (strlen(id) == 0 || strlen(id) > MACHINE_ID_MAX || strlen(pw) > PASSWORD_MAX) {
        lapi_reply_message(out, 400, "machine_id or password has an invalid length");
        goto out;
    }
    char *hash = lapi_password_hash(pw);
    if (hash == NULL) {
        lapi_reply_message(out, 400, "unable to hash password");
        goto out;
    }
    struct store_machine m = {
        .machine_id = (char *)id,
        .password = hash,
        .ip_address = r->peer_ip,
        .scenarios = (char *)"",
        .version = (char *)"",
        .auth_type = (char *)"password",
        .is_validated = false,
    };
    int rc = store_machine_create(r->lapi->store, &m, lapi_now_ns(), NULL, &serr);
    free(hash);
    if (rc == -EEXIST) {
        snprintf(msg, sizeof(msg), "user '%s': user already exist", id);
        lapi_reply_message(out, 403, msg);
    } else if (rc != 0) {
        lapi_reply_store_error(out, rc, &serr);
    } else {
        lapi_reply_text(out, 201, NULL);
    }
out:
    json_decref(j);
}

/* The scenarios of the login body joined with commas, malloc'd (bounded by the body size). */
static char *
join_scenarios(const json_t *arr)
{
    size_t len = 0, i;
    const json_t *v;
    char *s;

    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v))
            len += json_string_length(v) + 1;
    }
    if ((s = malloc(len + 1)) == NULL)
        return NULL;
    len = 0;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            continue;
        if (len > 0)
            s[len++] = ',';
        memcpy(s + len, json_string_value(v), json_string_length(v));
        len += json_string_length(v);
    }
    s[len] = '\0';
    return s;
}

static void
login(struct lapi_request *r, struct lapi_response *out)
{
    json_t *j = lapi_body_json(r, out);
    const char *id, *pw;
    struct store_machine m = { 0 };
    struct store_error serr = { { 0 } };
    char msg[320];

    if (j == NULL) {
        reply_code(out, 401, "missing Username or Password");
        return;
    }
    if (!json_is_object(j) || member_string(j, "machine_id", &id) != 0 ||
        member_string(j, "password", &pw) != 0 || id == NULL || pw == NULL) {
        reply_code(out, 401, "missing Username or Password");
        goto out;
    }
    if (store_machine_get(r->lapi->store, id, &m, &serr) != 0) {
        reply_code(out, 401, "incorrect Username or Password");
        goto out;
    }
    if (m.auth_type != NULL && strcmp(m.auth_type, "password") != 0) {
        snprintf(msg, sizeof(msg),
                 "machine %s attempted to auth with password but it is configured to use %s", id,
                 m.auth_type);
        reply_code(out, 401, msg);
        goto out;
    }
    if (!m.is_validated) {
        snprintf(msg, sizeof(msg), "machine %s not validated", id);
        reply_code(out, 401, msg);
        goto out;
    }
    if (!lapi_password_check(pw, m.password)) {
        reply_code(out, 401, "incorrect Username or Password");
        goto out;
    }
    int64_t now = lapi_now_ns(), expire = 0;
    char *tok = lapi_jwt_issue(r->lapi, id, now / 1000000000, &expire);
    if (tok == NULL) {
        reply_code(out, 500, "cannot sign the token");
        goto out;
    }
    const json_t *sc = json_object_get(j, "scenarios");
    char *scen = json_is_array(sc) ? join_scenarios(sc) : NULL;
    const char *ua = r->user_agent != NULL ? r->user_agent : "";
    const char *slash = strchr(ua, '/');
    if (store_machine_update_login(r->lapi->store, id, scen != NULL ? scen : "", r->peer_ip,
                                   slash != NULL ? slash + 1 : "", now, &serr) != 0)
        log_warn("lapi: cannot record the login of '%s': %s", id, serr.msg);
    free(scen);
    char exp[64];
    struct gotime gt = { .unix_ns = expire * 1000000000, .offset_s = 0 };
    gotime_format_rfc3339nano(gt, exp, sizeof(exp));
    lapi_reply_json(out, 200, json_pack("{s:i,s:s,s:s}", "code", 200, "expire", exp, "token", tok));
    free(tok);
out:
    store_machine_clear(&m);
    json_decref(j);
}

static void
heartbeat(struct lapi_request *r, struct lapi_response *out)
{
    struct store_error serr = { { 0 } };
    int rc = store_machine_touch(r->lapi->store, r->machine_id, true, false, lapi_now_ns(), &serr);
    if (rc != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    lapi_reply_text(out, 200, NULL);
}

static void
delete_self(struct lapi_request *r, struct lapi_response *out)
{
    struct store_error serr = { { 0 } };
    int rc = store_machine_delete(r->lapi->store, r->machine_id, &serr);
    if (rc != 0) {
        lapi_reply_store_error(out, rc, &serr);
        return;
    }
    lapi_reply_text(out, 204, NULL);
}

const struct lapi_route lapi_routes_watchers[] = {
    { "POST", "/v1/watchers", false, LAPI_AUTH_NONE, register_machine },
    { "POST", "/v1/watchers/login", false, LAPI_AUTH_NONE, login },
    { "DELETE", "/v1/watchers/self", false, LAPI_AUTH_JWT, delete_self },
    { "GET", "/v1/heartbeat", false, LAPI_AUTH_JWT, heartbeat },
};
const size_t lapi_routes_watchers_n = ARRAY_SIZE(lapi_routes_watchers);
