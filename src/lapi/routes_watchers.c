/*
 * routes_watchers.c - machines (agents): registration, password login that
 * issues the JWT, heartbeat and self-deletion, as CrowdSec's
 * controllers/v1/machines.go, heartbeat.go and middlewares/v1/jwt.go with
 * gin-jwt's answers ({"code":401,"message":...} on a failed login).
 *
 * Registration with the auto_registration token creates a validated
 * machine (202). Over HTTPS a login with a client certificate whose OU is
 * in agents_allowed_ou needs no password: the machine "<CN>@<ip>" is
 * created on first use (auth_type "tls"). GET /v1/refresh_token is
 * gin-jwt's RefreshHandler.
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
    const char *token = NULL;
    if (member_string(j, "machine_id", &id) != 0 || member_string(j, "password", &pw) != 0 ||
        member_string(j, "registration_token", &token) != 0) {
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
    int autoreg = lapi_netcfg_autoregister(r->lapi->net, token, &r->peer_addr, msg, sizeof(msg));
    if (autoreg < 0) {
        log_warn("lapi: auto-register of '%s' from %s failed: %s", id, r->peer_ip, msg);
        lapi_reply_message(out, 401, msg);
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
        .is_validated = autoreg == 1,
    };
    int rc = store_machine_create(r->lapi->store, &m, lapi_now_ns(), NULL, &serr);
    free(hash);
    if (rc == -EEXIST) {
        snprintf(msg, sizeof(msg), "user '%s': user already exist", id);
        lapi_reply_message(out, 403, msg);
    } else if (rc != 0) {
        lapi_reply_store_error(out, rc, &serr);
    } else {
        if (autoreg == 1)
            log_info("lapi: auto-registered machine '%s' from %s", id, r->peer_ip);
        lapi_reply_text(out, autoreg == 1 ? 202 : 201, NULL);
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

/* gin-jwt's LoginResponse / RefreshResponse. */
static void
reply_token(struct lapi_response *out, const char *tok, int64_t expire)
{
    char exp[64];
    struct gotime gt = { .unix_ns = expire * 1000000000, .offset_s = 0 };
    gotime_format_rfc3339nano(gt, exp, sizeof(exp));
    lapi_reply_json(out, 200, json_pack("{s:i,s:s,s:s}", "code", 200, "expire", exp, "token", tok));
}

/*
 * The end of a login (JWT.Authenticator): User-Agent "name/version",
 * scenarios, address and version recorded, then the token.
 */
static void
finish_login(struct lapi_request *r, struct lapi_response *out, const char *id, const json_t *j)
{
    struct store_error serr = { { 0 } };
    const char *ua = r->user_agent != NULL ? r->user_agent : "";
    const char *slash = strchr(ua, '/');

    if (slash == NULL || strchr(slash + 1, '/') != NULL) {
        log_warn("lapi: bad user agent '%s' from '%s'", ua, r->peer_ip);
        reply_code(out, 401, "incorrect Username or Password");
        return;
    }
    int64_t now = lapi_now_ns(), expire = 0;
    char *tok = lapi_jwt_issue(r->lapi, id, now / 1000000000, &expire);
    if (tok == NULL) {
        reply_code(out, 500, "cannot sign the token");
        return;
    }
    const json_t *sc = json_object_get(j, "scenarios");
    char *scen = json_is_array(sc) ? join_scenarios(sc) : NULL;
    if (store_machine_update_login(r->lapi->store, id, scen != NULL ? scen : "", r->peer_ip,
                                   slash + 1, now, &serr) != 0)
        log_warn("lapi: cannot record the login of '%s': %s", id, serr.msg);
    free(scen);
    reply_token(out, tok, expire);
    free(tok);
}

/* JWT.authTLS: the certificate's CN names the machine "<CN>@<ip>", created on first use. */
static void
login_tls(struct lapi_request *r, struct lapi_response *out)
{
    char cn[256], id[512], msg[600];
    struct store_machine m = { 0 };
    struct store_error serr = { { 0 } };
    json_t *j = NULL;

    if (lapi_tls_validate_peer(r->lapi->tls, r->tls_session, LAPI_CERT_AGENT, cn, sizeof(cn), msg,
                               sizeof(msg)) != 0) {
        log_warn("lapi: %s: TLS agent refused: %s", r->peer_ip, msg);
        reply_code(out, 401, msg);
        return;
    }
    snprintf(id, sizeof(id), "%s@%s", cn, r->peer_ip);
    int rc = store_machine_get(r->lapi->store, id, &m, &serr);
    if (rc == -ENOENT) {
        char *pw = lapi_dummy_secret();
        char *hash = pw != NULL ? lapi_password_hash(pw) : NULL;
        if (pw != NULL) {
            explicit_bzero(pw, strlen(pw));
            free(pw);
        }
        if (hash == NULL) {
            reply_code(out, 401, "error generating password");
            return;
        }
        struct store_machine nm = {
            .machine_id = id,
            .password = hash,
            .ip_address = (char *)"",
            .scenarios = (char *)"",
            .version = (char *)"",
            .auth_type = (char *)"tls",
            .is_validated = true,
        };
        log_info("lapi: machine %s not found, create it", id);
        rc = store_machine_create(r->lapi->store, &nm, lapi_now_ns(), NULL, &serr);
        free(hash);
        if (rc == 0 || rc == -EEXIST)
            rc = store_machine_get(r->lapi->store, id, &m, &serr);
    }
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "while selecting machine entry for %s: %s", id, serr.msg);
        reply_code(out, 401, msg);
        goto out;
    }
    if (m.auth_type == NULL || strcmp(m.auth_type, "tls") != 0) {
        snprintf(msg, sizeof(msg),
                 "machine %s attempted to auth with TLS cert but it is configured to use %s", id,
                 m.auth_type != NULL ? m.auth_type : "");
        reply_code(out, 401, msg);
        goto out;
    }
    json_error_t jerr;
    j = r->body_len > 0 ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
    if (j == NULL || !json_is_object(j)) {
        snprintf(msg, sizeof(msg), "missing scenarios list in login request for TLS auth: %s",
                 r->body_len == 0 ? "EOF" : "invalid JSON");
        reply_code(out, 401, msg);
        goto out;
    }
    finish_login(r, out, id, j);
out:
    json_decref(j);
    store_machine_clear(&m);
}

static void
login(struct lapi_request *r, struct lapi_response *out)
{
    if (lapi_request_has_cert(r)) {
        login_tls(r, out);
        return;
    }
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
    finish_login(r, out, id, j);
out:
    store_machine_clear(&m);
    json_decref(j);
}

static void
refresh_token(struct lapi_request *r, struct lapi_response *out)
{
    char msg[128];
    int64_t expire = 0;
    char *tok = lapi_jwt_refresh(r->lapi, r->authorization, lapi_now_ns() / 1000000000, &expire,
                                 msg, sizeof(msg));
    if (tok == NULL) {
        reply_code(out, 401, msg);
        return;
    }
    reply_token(out, tok, expire);
    free(tok);
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
    { "GET", "/v1/refresh_token", false, LAPI_AUTH_NONE, refresh_token },
};
const size_t lapi_routes_watchers_n = ARRAY_SIZE(lapi_routes_watchers);
