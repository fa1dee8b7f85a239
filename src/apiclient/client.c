/*
 * client.c - the HTTP half of the Local API client, on libcurl: machine login
 * (POST /v1/watchers/login) with a cached JWT, and apiclient_request() which
 * the CLI and the pusher use for every call.
 *
 * The token is kept until one minute before the "expire" the LAPI gave, and
 * thrown away on a 401/403 (the LAPI restarted with a new secret, or the
 * machine was deleted and created again): the request is then retried once
 * after a fresh login. Logins are serialised by the client's mutex so several
 * threads that find the token stale log in once, not once each.
 *
 * Easy handles are kept in a small pool so consecutive requests reuse their
 * keep-alive connection; each request takes a handle for itself, which makes
 * the client thread-safe without sharing connections between threads.
 * Answers are bounded (APICLIENT_BODY_MAX): a hostile server cannot make us
 * allocate without limit.
 */
#include "apiclient/apiclient.h"
#include "common/gotime.h"
#include "common/str.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#define APICLIENT_BODY_MAX        ((size_t)64 * 1024 * 1024)
#define APICLIENT_CONNECT_TIMEOUT 5000L
#define APICLIENT_TOTAL_TIMEOUT   30000L
#define APICLIENT_POOL            4
/* Log in again this long before the token expires, so it never expires in flight. */
#define APICLIENT_TOKEN_MARGIN_SEC 60
/* The LAPI always sends "expire"; without it the token is used until refused. */
#define APICLIENT_TOKEN_DEFAULT_TTL (3600 - APICLIENT_TOKEN_MARGIN_SEC)

struct apiclient {
    char *base_url; /* without trailing slashes */
    char *login, *password;
    char *ca_cert_path, *cert_path, *key_path;
    bool insecure;
    char *user_agent;

    pthread_mutex_t lock; /* guards everything below */
    char **scenarios;
    size_t nscenarios;
    char *token;        /* NULL when none */
    int64_t token_exp;  /* unix seconds */
    uint64_t token_gen; /* bumped at every login, so a stale 401 does not discard a fresh token */

    pthread_mutex_t pool_lock; /* the pool has its own lock: logins hold c->lock while sending */
    CURL *pool[APICLIENT_POOL];
    size_t npool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void
curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int PRINTF_LIKE(3, 4) fail(struct apiclient_error *err, long status, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->status = status;
    return -1;
}

static int64_t
now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static char *
dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

struct apiclient *
apiclient_new(const struct apiclient_credentials *creds, const char *user_agent,
              struct apiclient_error *err)
{
    struct apiclient *c;

    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        fail(err, 0, "libcurl initialisation failed: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    if (creds == NULL || creds->url == NULL || creds->url[0] == '\0') {
        fail(err, 0, "no Local API url");
        return NULL;
    }
    if (strncmp(creds->url, "http://", 7) != 0 && strncmp(creds->url, "https://", 8) != 0) {
        fail(err, 0, "Local API url '%s': the scheme must be http or https", creds->url);
        return NULL;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        fail(err, 0, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->pool_lock, NULL);
    c->base_url = strdup(creds->url);
    if (user_agent == NULL)
        user_agent = "phalanx/" PHALANX_VERSION;
    c->user_agent = strdup(user_agent);
    c->login = dup_or_null(creds->login);
    c->password = dup_or_null(creds->password);
    c->ca_cert_path = dup_or_null(creds->ca_cert_path);
    c->cert_path = dup_or_null(creds->cert_path);
    c->key_path = dup_or_null(creds->key_path);
    c->insecure = creds->insecure_skip_verify;
    if (c->base_url == NULL || c->user_agent == NULL ||
        (creds->login != NULL && creds->login[0] != '\0' && c->login == NULL) ||
        (creds->password != NULL && creds->password[0] != '\0' && c->password == NULL) ||
        (creds->ca_cert_path != NULL && creds->ca_cert_path[0] != '\0' &&
         c->ca_cert_path == NULL) ||
        (creds->cert_path != NULL && creds->cert_path[0] != '\0' && c->cert_path == NULL) ||
        (creds->key_path != NULL && creds->key_path[0] != '\0' && c->key_path == NULL)) {
        fail(err, 0, "out of memory");
        apiclient_free(c);
        return NULL;
    }
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    return c;
}

static void
free_scenarios(struct apiclient *c)
{
    for (size_t i = 0; i < c->nscenarios; i++)
        free(c->scenarios[i]);
    free(c->scenarios);
    c->scenarios = NULL;
    c->nscenarios = 0;
}

void
apiclient_free(struct apiclient *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    free_scenarios(c);
    free(c->base_url);
    free(c->login);
    if (c->password != NULL) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
    if (c->token != NULL) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
    }
    free(c->ca_cert_path);
    free(c->cert_path);
    free(c->key_path);
    free(c->user_agent);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->pool_lock);
    free(c);
}

int
apiclient_set_scenarios(struct apiclient *c, const char *const *scenarios, size_t n)
{
    char **v = n > 0 ? calloc(n, sizeof(*v)) : NULL;
    if (n > 0 && v == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if ((v[i] = strdup(scenarios[i])) == NULL) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return -ENOMEM;
        }
    }
    pthread_mutex_lock(&c->lock);
    free_scenarios(c);
    c->scenarios = v;
    c->nscenarios = n;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* --- one HTTP exchange --- */

struct sink {
    struct str body;
    bool too_big;
};

static size_t
sink_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    if (n > APICLIENT_BODY_MAX || s->body.len > APICLIENT_BODY_MAX - n) {
        s->too_big = true;
        return 0;
    }
    if (str_append(&s->body, ptr, n) != 0)
        return 0;
    return n;
}

static CURL *
handle_get(struct apiclient *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->pool_lock);
    if (c->npool > 0)
        h = c->pool[--c->npool];
    pthread_mutex_unlock(&c->pool_lock);
    if (h != NULL) {
        curl_easy_reset(h);
        return h;
    }
    return curl_easy_init();
}

static void
handle_put(struct apiclient *c, CURL *h)
{
    pthread_mutex_lock(&c->pool_lock);
    if (c->npool < APICLIENT_POOL) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/*
 * Sends one request to base_url + path_query with an optional bearer token.
 * 0 with *ret_status and *ret_body (malloc'd, may be NULL when empty), or -1
 * with err on a transport error.
 */
static int
http_exchange(struct apiclient *c, const char *method, const char *path_query, const char *bearer,
              const char *body, size_t body_len, long *ret_status, char **ret_body,
              struct apiclient_error *err)
{
    struct sink sink = { 0 };
    struct curl_slist *hdrs = NULL, *tmp;
    struct str url = { 0 }, auth = { 0 };
    char cerr[CURL_ERROR_SIZE] = "";
    CURL *h = NULL;
    int rc = -1;

    if (path_query == NULL || path_query[0] != '/') {
        fail(err, 0, "request path must start with '/'");
        goto out;
    }
    if (str_append_cstr(&url, c->base_url) != 0 || str_append_cstr(&url, path_query) != 0) {
        fail(err, 0, "out of memory");
        goto out;
    }
    if ((h = handle_get(c)) == NULL) {
        fail(err, 0, "cannot create a libcurl handle");
        goto out;
    }
    if ((tmp = curl_slist_append(hdrs, "Accept: application/json")) == NULL)
        goto nomem;
    hdrs = tmp;
    if (body != NULL) {
        if ((tmp = curl_slist_append(hdrs, "Content-Type: application/json")) == NULL)
            goto nomem;
        hdrs = tmp;
    }
    /* libcurl would otherwise send "Expect: 100-continue" on big POSTs and wait for it. */
    if ((tmp = curl_slist_append(hdrs, "Expect:")) == NULL)
        goto nomem;
    hdrs = tmp;
    if (bearer != NULL) {
        if (str_appendf(&auth, "Authorization: Bearer %s", bearer) != 0 ||
            (tmp = curl_slist_append(hdrs, auth.buf)) == NULL)
            goto nomem;
        hdrs = tmp;
    }
    curl_easy_setopt(h, CURLOPT_URL, url.buf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, APICLIENT_CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, APICLIENT_TOTAL_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)APICLIENT_BODY_MAX);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (c->ca_cert_path != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_cert_path);
    if (c->cert_path != NULL)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_path);
    if (c->key_path != NULL)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_path);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode cc = curl_easy_perform(h);
    if (sink.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        fail(err, 0, "%s %s: the answer is larger than %zu bytes", method, url.buf,
             APICLIENT_BODY_MAX);
        goto out;
    }
    if (cc != CURLE_OK) {
        fail(err, 0, "%s %s: %s", method, url.buf, cerr[0] ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    *ret_status = status;
    *ret_body = sink.body.buf;
    sink.body = (struct str){ 0 };
    rc = 0;
    goto out;
nomem:
    fail(err, 0, "out of memory");
out:
    if (h != NULL) {
        /* The handle's options point into this frame; forget them before it is reused. */
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        handle_put(c, h);
    }
    curl_slist_free_all(hdrs);
    if (auth.buf != NULL)
        explicit_bzero(auth.buf, auth.len);
    str_free(&auth);
    str_free(&url);
    str_free(&sink.body);
    return rc;
}

/* The "message" of a LAPI error answer, or the body itself (shortened), or "". */
static void
error_text(const char *body, char *out, size_t size)
{
    json_t *j = body != NULL ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    if (m != NULL)
        snprintf(out, size, "%s", m);
    else
        snprintf(out, size, "%.200s", body != NULL ? body : "");
    json_decref(j);
}

/* Logs in and stores the token. Called with c->lock held. 0 or -1 with err. */
static int
login_locked(struct apiclient *c, struct apiclient_error *err)
{
    json_t *req = NULL, *ans = NULL, *sc;
    char *body = NULL, *answer = NULL, msg[300];
    long status = 0;
    int rc = -1;

    if (c->login == NULL) {
        fail(err, 0, "no machine login in the credentials");
        return -1;
    }
    if ((sc = json_array()) == NULL)
        goto nomem;
    for (size_t i = 0; i < c->nscenarios; i++) {
        if (json_array_append_new(sc, json_string(c->scenarios[i])) != 0) {
            json_decref(sc);
            goto nomem;
        }
    }
    req = json_pack("{s:s,s:s,s:o}", "machine_id", c->login, "password",
                    c->password != NULL ? c->password : "", "scenarios", sc);
    if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL)
        goto nomem;
    if (http_exchange(c, "POST", "/v1/watchers/login", NULL, body, strlen(body), &status, &answer,
                      err) != 0)
        goto out;
    if (status != 200) {
        error_text(answer, msg, sizeof(msg));
        fail(err, status, "login as '%s' failed (HTTP %ld): %s", c->login, status, msg);
        goto out;
    }
    ans = answer != NULL ? json_loads(answer, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(ans, "token"));
    const char *exp = json_string_value(json_object_get(ans, "expire"));
    if (tok == NULL || tok[0] == '\0') {
        fail(err, status, "login as '%s': no token in the answer", c->login);
        goto out;
    }
    char *t = strdup(tok);
    if (t == NULL)
        goto nomem;
    struct gotime gt;
    int64_t expire = now_sec() + APICLIENT_TOKEN_DEFAULT_TTL;
    if (exp != NULL && gotime_parse_rfc3339(exp, strlen(exp), &gt) == 0)
        expire = gt.unix_ns / 1000000000;
    if (c->token != NULL) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
    }
    c->token = t;
    c->token_exp = expire;
    c->token_gen++;
    rc = 0;
    goto out;
nomem:
    fail(err, 0, "out of memory");
out:
    if (body != NULL) {
        explicit_bzero(body, strlen(body));
        free(body);
    }
    json_decref(req);
    json_decref(ans);
    free(answer);
    return rc;
}

/*
 * A copy of a valid token in *ret_tok and its generation, logging in when
 * there is none, it is about to expire, or it is the one of generation
 * stale_gen (refused by the server). 0 or -1 with err.
 */
static int
token_get(struct apiclient *c, uint64_t stale_gen, char **ret_tok, uint64_t *ret_gen,
          struct apiclient_error *err)
{
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    if (c->token == NULL || now_sec() >= c->token_exp - APICLIENT_TOKEN_MARGIN_SEC ||
        c->token_gen == stale_gen)
        rc = login_locked(c, err);
    if (rc == 0) {
        *ret_tok = strdup(c->token);
        *ret_gen = c->token_gen;
        if (*ret_tok == NULL)
            rc = fail(err, 0, "out of memory");
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static void
token_free(char *t)
{
    if (t != NULL) {
        explicit_bzero(t, strlen(t));
        free(t);
    }
}

int
apiclient_request(struct apiclient *c, const char *method, const char *path_query, const char *body,
                  size_t body_len, long *ret_status, char **ret_body, struct apiclient_error *err)
{
    char *tok = NULL, *answer = NULL;
    uint64_t gen = 0;
    long status = 0;
    int rc = -1;

    /* Generation 0 is never issued, so the first call only logs in when needed. */
    if (token_get(c, 0, &tok, &gen, err) != 0)
        goto out;
    if (http_exchange(c, method, path_query, tok, body, body_len, &status, &answer, err) != 0)
        goto out;
    if (status == 401 || status == 403) {
        free(answer);
        answer = NULL;
        token_free(tok);
        tok = NULL;
        if (token_get(c, gen, &tok, &gen, err) != 0)
            goto out;
        if (http_exchange(c, method, path_query, tok, body, body_len, &status, &answer, err) != 0)
            goto out;
    }
    *ret_status = status;
    if (ret_body != NULL) {
        *ret_body = answer;
        answer = NULL;
    }
    rc = 0;
out:
    token_free(tok);
    free(answer);
    return rc;
}

int
apiclient_register(const struct apiclient_credentials *creds, struct apiclient_error *err)
{
    struct apiclient *c = NULL;
    json_t *req = NULL;
    char *body = NULL, *answer = NULL, msg[300];
    long status = 0;
    int rc = -1;

    if (creds->login == NULL || creds->password == NULL) {
        fail(err, 0, "registration needs a login and a password");
        return -1;
    }
    if ((c = apiclient_new(creds, NULL, err)) == NULL)
        return -1;
    req = json_pack("{s:s,s:s}", "machine_id", creds->login, "password", creds->password);
    if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
        fail(err, 0, "out of memory");
        goto out;
    }
    if (http_exchange(c, "POST", "/v1/watchers", NULL, body, strlen(body), &status, &answer, err) !=
        0)
        goto out;
    if (status != 201 && status != 200) {
        error_text(answer, msg, sizeof(msg));
        fail(err, status, "registering '%s' failed (HTTP %ld): %s", creds->login, status, msg);
        goto out;
    }
    rc = 0;
out:
    if (body != NULL) {
        explicit_bzero(body, strlen(body));
        free(body);
    }
    json_decref(req);
    free(answer);
    apiclient_free(c);
    return rc;
}
