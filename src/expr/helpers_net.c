/*
 * helpers_net.c - CrowdSec helpers that reach outside the process: HTTPGet,
 * HTTPHead, HTTPPost, HTTPRequest (libcurl), LookupHost (getaddrinfo), the
 * decision counters (GetDecisionsCount & co, through a provider the local API
 * installs), CrowdsecCTI, and the libinjection pair.
 *
 * The HTTP helpers return what CrowdSec's return, a *HTTPResponse
 * {StatusCode, Body, Headers}, as a host object whose Headers is an
 * http.Header (a map of canonical header names to []string with Get() and
 * Values()). Like Go's client they time out after 10 s, follow up to 10
 * redirects, cut the body at 10 MiB, ask for gzip and decode it, and return a
 * run-time error when the request cannot be made.
 *
 * Two helpers are registered without their real engine:
 *  - CrowdsecCTI: without a key CrowdSec returns its ErrDisabled error
 *    ("cti is disabled"), and so do we. With a key CrowdSec queries
 *    https://cti.api.crowdsec.net/v2/smoke/<ip> and returns a *SmokeItem
 *    with methods; that client is not part of Phalanx, so a set key gives a
 *    run-time error saying so instead of a made-up answer.
 *  - LibInjectionIsSQLI / LibInjectionIsXSS: CrowdSec links
 *    corazawaf/libinjection-go; no Debian package provides libinjection, so
 *    both return false (no detection) until the library is vendored.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "common/gotime.h"
#include "common/ip.h"
#include "common/str.h"
#include "expr/helpers.h"

#define NET_HTTP_TIMEOUT_MS  10000L
#define NET_HTTP_MAX_BODY    (10u << 20)
#define NET_HTTP_MAX_HEADERS 256
#define NET_HTTP_MAX_REDIRS  10L
#define NET_MAX_HOSTS        64
#define NET_USER_AGENT       "crowdsec/v" PHALANX_VERSION "-linux"

/* --- http.Header and *HTTPResponse host classes --- */

struct net_header {
    struct strv key; /* canonical */
    struct expr_array *values;
};

struct net_headers {
    size_t n;
    struct net_header items[NET_HTTP_MAX_HEADERS];
};

struct net_response {
    int64_t status;
    struct strv body;
    struct net_headers headers;
};

/* textproto.CanonicalMIMEHeaderKey: "x-api-key" -> "X-Api-Key"; keys with bad bytes stay as they
 * are. */
static bool
net_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static void
net_canonical(char *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!net_token_char((unsigned char)k[i]))
            return;
    bool upper = true;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!upper && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        k[i] = c;
        upper = c == '-';
    }
}

static const struct net_header *
net_header_find(const struct net_headers *h, const char *key, size_t len)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->items[i].key.len == len && memcmp(h->items[i].key.ptr, key, len) == 0)
            return &h->items[i];
    return NULL;
}

static int
net_key_arg(struct expr_vm *vm, const struct expr_value *args, const char *fn, char *buf,
            size_t size, size_t *ret_len)
{
    struct strv key;
    if (expr_helper_arg_strv(vm, fn, args, 0, &key) < 0)
        return -1;
    if (key.len >= size) {
        *ret_len = SIZE_MAX; /* longer than any stored key: no match */
        return 0;
    }
    memcpy(buf, key.ptr, key.len);
    *ret_len = key.len;
    net_canonical(buf, *ret_len);
    return 0;
}

/* Header.Get(key): the first value of the canonical key, or "". */
static int
net_header_get(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    char key[CURL_MAX_HTTP_HEADER];
    size_t len = SIZE_MAX;
    if (net_key_arg(vm, args, "Get", key, sizeof(key), &len) < 0)
        return -1;
    const struct net_header *h = len == SIZE_MAX ? NULL : net_header_find(obj, key, len);
    *ret = h && h->values->len > 0 ? h->values->items[0] : expr_strv("", 0);
    return 0;
}

/* Header.Values(key): every value of the canonical key (nil when absent). */
static int
net_header_values(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                  struct expr_value *ret)
{
    char key[CURL_MAX_HTTP_HEADER];
    size_t len = SIZE_MAX;
    if (net_key_arg(vm, args, "Values", key, sizeof(key), &len) < 0)
        return -1;
    const struct net_header *h = len == SIZE_MAX ? NULL : net_header_find(obj, key, len);
    *ret = h ? (struct expr_value){ .kind = EXPR_ARRAY, .u.a = h->values } : expr_nil();
    return 0;
}

/* headers["Key"]: a Go map index, so the key is taken as written (no canonicalisation). */
static int
net_header_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                 struct expr_value *ret)
{
    if (key->kind != EXPR_STRING)
        return expr_vm_error(vm, "cannot use %s as type string in map index",
                             expr_kind_name(key->kind));
    const struct net_header *h = net_header_find(obj, key->u.s.ptr, key->u.s.len);
    *ret = h ? (struct expr_value){ .kind = EXPR_ARRAY, .u.a = h->values } : expr_nil();
    return 0;
}

static size_t
net_header_len(const void *obj)
{
    return ((const struct net_headers *)obj)->n;
}

static int
net_header_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct net_headers *h = obj;
    if (i >= h->n)
        return expr_vm_error(vm, "index out of range");
    *ret = expr_strv(h->items[i].key.ptr, h->items[i].key.len);
    return 0;
}

static bool
net_header_has(const void *obj, const struct expr_value *key)
{
    return key->kind == EXPR_STRING && net_header_find(obj, key->u.s.ptr, key->u.s.len);
}

static const struct expr_type net_strings_type = { .kind = EXPR_STRING };

static const struct expr_method net_header_methods[] = {
    { "Get", 1, 1, EXPR_T(EXPR_STRING), net_header_get },
    { "Values", 1, 1, { .kind = EXPR_ARRAY, .elem = &net_strings_type }, net_header_values },
};

static const struct expr_class net_header_class = {
    .name = "http.Header",
    .methods = net_header_methods,
    .nmethods = ARRAY_SIZE(net_header_methods),
    .is_map = true,
    .elem_type = { .kind = EXPR_ARRAY, .elem = &net_strings_type },
    .index = net_header_index,
    .len = net_header_len,
    .at = net_header_at,
    .has = net_header_has,
};

static int
net_resp_status(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(((const struct net_response *)obj)->status);
    return 0;
}

static int
net_resp_body(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    const struct net_response *r = obj;
    *ret = expr_strv(r->body.ptr, r->body.len);
    return 0;
}

static int
net_resp_headers(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&net_header_class, &((const struct net_response *)obj)->headers);
    return 0;
}

static const struct expr_field net_resp_fields[] = {
    { "StatusCode", EXPR_T(EXPR_INT), net_resp_status },
    { "Body", EXPR_T(EXPR_STRING), net_resp_body },
    { "Headers", EXPR_T_OBJ(&net_header_class), net_resp_headers },
};

static const struct expr_class net_resp_class = {
    .name = "*exprhelpers.HTTPResponse",
    .fields = net_resp_fields,
    .nfields = ARRAY_SIZE(net_resp_fields),
};

/* --- the request --- */

struct net_transfer {
    struct expr_vm *vm;
    struct net_response *resp;
    struct str body;
    bool truncated;
    bool oom;
};

static size_t
net_on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct net_transfer *t = userdata;
    size_t n = size * nmemb;
    size_t room = NET_HTTP_MAX_BODY - t->body.len;
    if (n > room) {
        /* io.LimitReader: keep the first 10 MiB, then stop reading without an error. */
        if (str_append(&t->body, data, room) < 0)
            t->oom = true;
        t->truncated = true;
        return 0;
    }
    if (str_append(&t->body, data, n) < 0) {
        t->oom = true;
        return 0;
    }
    return n;
}

static void
net_trim(const char **p, size_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r' ||
                      (*p)[*n - 1] == '\n'))
        (*n)--;
}

/* One header line of the response; a status line starts a new response (redirects). */
static size_t
net_on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct net_transfer *t = userdata;
    struct net_headers *h = &t->resp->headers;
    size_t n = size * nmemb;
    const char *line = data;
    size_t len = n;

    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        h->n = 0;
        return n;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return n;
    const char *key = line, *val = colon + 1;
    size_t klen = (size_t)(colon - line), vlen = len - klen - 1;
    net_trim(&key, &klen);
    net_trim(&val, &vlen);
    if (klen == 0)
        return n;
    struct expr_value k = expr_vm_str(t->vm, key, klen);
    struct expr_value v = expr_vm_str(t->vm, val, vlen);
    if (k.kind == EXPR_NIL || v.kind == EXPR_NIL) {
        t->oom = true;
        return 0;
    }
    net_canonical((char *)k.u.s.ptr, klen);
    struct net_header *slot = (struct net_header *)net_header_find(h, k.u.s.ptr, klen);
    if (!slot) {
        if (h->n == NET_HTTP_MAX_HEADERS)
            return n; /* further distinct headers are dropped */
        slot = &h->items[h->n];
        slot->values = expr_vm_array(t->vm, 1);
        if (!slot->values) {
            t->oom = true;
            return 0;
        }
        slot->key = (struct strv){ k.u.s.ptr, klen };
        h->n++;
    }
    if (expr_array_push(t->vm, slot->values, v) < 0) {
        t->oom = true;
        return 0;
    }
    return n;
}

static pthread_once_t net_curl_once = PTHREAD_ONCE_INIT;
static bool net_curl_ok;

static void
net_curl_init(void)
{
    net_curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* Go's http.Header.Del on a canonical key. */
static void
net_header_del(struct net_headers *h, const char *key)
{
    for (size_t i = 0; i < h->n; i++)
        if (strv_eq_cstr(h->items[i].key, key)) {
            memmove(&h->items[i], &h->items[i + 1], (h->n - i - 1) * sizeof(h->items[0]));
            h->n--;
            return;
        }
}

static bool
net_method_ok(struct strv m)
{
    if (m.len == 0)
        return true; /* "" means GET in Go */
    for (size_t i = 0; i < m.len; i++)
        if (!net_token_char((unsigned char)m.ptr[i]))
            return false;
    return true;
}

/* A header name/value pair Go's transport would send; CR, LF and NUL never are. */
static bool
net_header_ok(struct strv k, struct strv v)
{
    if (k.len == 0)
        return false;
    for (size_t i = 0; i < k.len; i++)
        if (!net_token_char((unsigned char)k.ptr[i]))
            return false;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

struct net_hdr_in {
    struct strv key, value;
};

/*
 * Performs one request. hdrs are the caller's headers (Set semantics: a
 * later one with the same canonical name replaces an earlier one); body NULL
 * means no body. Returns 0 with *ret set to a response object, or -1 with a
 * vm error ("<Method> \"<url>\": <reason>", as Go's url.Error prints).
 */
static int
net_http(struct expr_vm *vm, struct strv method, struct strv url, const struct net_hdr_in *hdrs,
         size_t nhdrs, const struct strv *body, struct expr_value *ret)
{
    struct net_transfer t = { .vm = vm, .body = STR_INIT };
    struct curl_slist *list = NULL;
    struct str line = STR_INIT;
    char errbuf[CURL_ERROR_SIZE] = "";
    char *curl_url = NULL, *curl_method = NULL;
    CURL *h = NULL;
    bool user_encoding = false, user_agent = false, user_ctype = false;
    int rc = -1;
    const char *mname = method.len ? NULL : "GET";

    /* Go prints the method in title case in url.Error ("Get", "Post", ...). */
    char mshow[16];
    size_t ml = MIN(method.len, sizeof(mshow) - 1);
    memcpy(mshow, mname ? mname : method.ptr, mname ? 3 : ml);
    mshow[mname ? 3 : ml] = '\0';
    for (size_t i = 1; mshow[i]; i++)
        if (mshow[i] >= 'A' && mshow[i] <= 'Z')
            mshow[i] = (char)(mshow[i] - 'A' + 'a');

    t.resp = expr_vm_alloc(vm, sizeof(*t.resp));
    if (!t.resp)
        return expr_vm_error(vm, "out of memory");
    memset(t.resp, 0, sizeof(*t.resp));
    if (!net_method_ok(method))
        return expr_vm_error(vm, "net/http: invalid method \"%.*s\"", (int)MIN(method.len, 64),
                             method.ptr);
    pthread_once(&net_curl_once, net_curl_init);
    if (!net_curl_ok)
        return expr_vm_error(vm, "libcurl initialisation failed");
    curl_url = strndup(url.ptr, url.len);
    curl_method = mname ? strdup(mname) : strndup(method.ptr, method.len);
    if (!curl_url || !curl_method || memchr(url.ptr, '\0', url.len)) {
        if (curl_url && curl_method)
            expr_vm_error(vm, "parse \"%.*s\": invalid control character in URL",
                          (int)MIN(url.len, 200), url.ptr);
        else
            expr_vm_error(vm, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nhdrs; i++) {
        if (!net_header_ok(hdrs[i].key, hdrs[i].value)) {
            expr_vm_error(vm, "%s \"%s\": net/http: invalid header field", mshow, curl_url);
            goto out;
        }
        char canon[256];
        size_t kl = MIN(hdrs[i].key.len, sizeof(canon));
        memcpy(canon, hdrs[i].key.ptr, kl);
        net_canonical(canon, kl);
        if (kl == 15 && memcmp(canon, "Accept-Encoding", 15) == 0)
            user_encoding = true;
        if (kl == 10 && memcmp(canon, "User-Agent", 10) == 0)
            user_agent = true;
        if (kl == 12 && memcmp(canon, "Content-Type", 12) == 0)
            user_ctype = true;
        /* Header.Set: skip this one if a later header has the same canonical name. */
        bool replaced = false;
        for (size_t j = i + 1; j < nhdrs && !replaced; j++) {
            char other[256];
            size_t ol = MIN(hdrs[j].key.len, sizeof(other));
            memcpy(other, hdrs[j].key.ptr, ol);
            net_canonical(other, ol);
            replaced = ol == kl && memcmp(other, canon, kl) == 0;
        }
        if (replaced)
            continue;
        str_clear(&line);
        /* "Key;" is curl's way to send a header with an empty value. */
        if (str_append(&line, canon, kl) < 0 ||
            (hdrs[i].value.len
                 ? str_appendf(&line, ": %.*s", (int)hdrs[i].value.len, hdrs[i].value.ptr)
                 : str_append_char(&line, ';')) < 0) {
            expr_vm_error(vm, "out of memory");
            goto out;
        }
        struct curl_slist *nl = curl_slist_append(list, line.buf);
        if (!nl) {
            expr_vm_error(vm, "out of memory");
            goto out;
        }
        list = nl;
    }
    /* Go sends no Accept, Expect or default Content-Type; curl would. */
    struct curl_slist *nl = curl_slist_append(list, "Accept:");
    if (nl)
        list = nl;
    if (nl && !user_ctype && (nl = curl_slist_append(list, "Content-Type:")))
        list = nl;
    nl = nl ? curl_slist_append(list, "Expect:") : NULL;
    if (!nl) {
        expr_vm_error(vm, "out of memory");
        goto out;
    }
    list = nl;

    h = curl_easy_init();
    if (!h) {
        expr_vm_error(vm, "out of memory");
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, curl_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, NET_HTTP_MAX_REDIRS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, NET_HTTP_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, net_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, net_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    if (!user_agent)
        curl_easy_setopt(h, CURLOPT_USERAGENT, NET_USER_AGENT);
    if (!user_encoding)
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
    if (strcmp(curl_method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->len ? body->ptr : "");
        }
        /*
         * A POST with a body is curl's own POST, which like Go turns into a GET
         * on 301/302/303; any other method or shape is sent as written.
         */
        bool plain_post = body && strcmp(curl_method, "POST") == 0;
        bool plain_get = !body && strcmp(curl_method, "GET") == 0;
        if (!plain_post && !plain_get)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, curl_method);
    }

    CURLcode cc = curl_easy_perform(h);
    if (t.oom) {
        expr_vm_error(vm, "out of memory");
        goto out;
    }
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && t.truncated)) {
        expr_vm_error(vm, "%s \"%s\": %s", mshow, curl_url,
                      errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    t.resp->status = status;
    struct expr_value b = expr_vm_str(vm, t.body.buf ? t.body.buf : "", t.body.len);
    if (b.kind == EXPR_NIL) {
        expr_vm_error(vm, "out of memory");
        goto out;
    }
    t.resp->body = (struct strv){ b.u.s.ptr, b.u.s.len };
    if (!user_encoding) {
        /* Go's transport hides a gzip encoding it decoded itself. */
        const struct net_header *ce = net_header_find(&t.resp->headers, "Content-Encoding", 16);
        if (ce && ce->values->len > 0 && ce->values->items[0].u.s.len == 4 &&
            strncasecmp(ce->values->items[0].u.s.ptr, "gzip", 4) == 0) {
            net_header_del(&t.resp->headers, "Content-Encoding");
            net_header_del(&t.resp->headers, "Content-Length");
        }
    }
    *ret = expr_object(&net_resp_class, t.resp);
    rc = 0;
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(list);
    str_free(&line);
    str_free(&t.body);
    free(curl_url);
    free(curl_method);
    return rc;
}

static int
net_arg(struct expr_vm *vm, const struct expr_value *args, size_t i, const char *what,
        struct strv *ret)
{
    *ret = (struct strv){ "", 0 };
    if (args[i].kind != EXPR_STRING)
        return expr_vm_error(vm, "invalid type for %s: %s", what, expr_kind_name(args[i].kind));
    *ret = (struct strv){ args[i].u.s.ptr, args[i].u.s.len };
    return 0;
}

static int
fn_http_get(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv url;
    if (net_arg(vm, args, 0, "url", &url) < 0)
        return -1;
    return net_http(vm, STRV("GET"), url, NULL, 0, NULL, ret);
}

static int
fn_http_head(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    struct strv url;
    if (net_arg(vm, args, 0, "url", &url) < 0)
        return -1;
    return net_http(vm, STRV("HEAD"), url, NULL, 0, NULL, ret);
}

static int
fn_http_post(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    struct strv url, ctype, body;
    if (net_arg(vm, args, 0, "url", &url) < 0 || net_arg(vm, args, 1, "contentType", &ctype) < 0 ||
        net_arg(vm, args, 2, "body", &body) < 0)
        return -1;
    struct net_hdr_in h = { STRV("Content-Type"), ctype };
    return net_http(vm, STRV("POST"), url, &h, 1, &body, ret);
}

/* HTTPRequest(method, url, headers map, body): header values are stringified with fmt.Sprint. */
static int
fn_http_request(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    struct strv method, url, body;
    struct net_hdr_in *hdrs = NULL;
    size_t n = 0;

    if (net_arg(vm, args, 0, "method", &method) < 0 || net_arg(vm, args, 1, "url", &url) < 0)
        return -1;
    if (args[2].kind != EXPR_MAP)
        return expr_vm_error(vm, "invalid type for headers: %s", expr_kind_name(args[2].kind));
    if (net_arg(vm, args, 3, "body", &body) < 0)
        return -1;
    const struct expr_map *m = args[2].u.m;
    if (m->len > NET_HTTP_MAX_HEADERS)
        return expr_vm_error(vm, "HTTPRequest: too many headers (limit %d)", NET_HTTP_MAX_HEADERS);
    hdrs = expr_vm_alloc(vm, (m->len ? m->len : 1) * sizeof(*hdrs));
    if (!hdrs)
        return expr_vm_error(vm, "out of memory");
    for (size_t i = 0; i < m->len; i++) {
        const struct expr_map_entry *e = &m->entries[i];
        struct strv v;
        if (e->value.kind == EXPR_STRING) {
            v = (struct strv){ e->value.u.s.ptr, e->value.u.s.len };
        } else {
            struct str s = STR_INIT;
            if (expr_value_format_go(vm, &e->value, &s) < 0) {
                str_free(&s);
                return expr_vm_error(vm, "out of memory");
            }
            struct expr_value copy = expr_vm_str(vm, s.buf ? s.buf : "", s.len);
            str_free(&s);
            if (copy.kind == EXPR_NIL)
                return expr_vm_error(vm, "out of memory");
            v = (struct strv){ copy.u.s.ptr, copy.u.s.len };
        }
        hdrs[n++] = (struct net_hdr_in){ { e->key, e->keylen }, v };
    }
    return net_http(vm, method, url, hdrs, n, body.len ? &body : NULL, ret);
}

/* LookupHost(host): the addresses of host ([] on failure); an IP literal is returned as is. */
static int
fn_lookup_host(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    struct strv host;
    struct ip_addr ip;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char name[NI_MAXHOST];

    if (expr_helper_arg_strv(vm, "LookupHost", args, 0, &host) < 0)
        return -1;
    struct expr_array *a = expr_vm_array(vm, 4);
    if (!a)
        return expr_vm_error(vm, "out of memory");
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
    if (ip_parse(host.ptr, host.len, &ip) == 0)
        return expr_array_push(vm, a, args[0]) < 0 ? expr_vm_error(vm, "out of memory") : 0;
    if (host.len == 0 || host.len >= sizeof(name) || memchr(host.ptr, '\0', host.len))
        return 0;
    memcpy(name, host.ptr, host.len);
    name[host.len] = '\0';
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return 0;
    for (struct addrinfo *ai = res; ai && a->len < NET_MAX_HOSTS; ai = ai->ai_next) {
        char txt[INET6_ADDRSTRLEN];
        const void *src = ai->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            !inet_ntop(ai->ai_family, src, txt, sizeof(txt)))
            continue;
        bool dup = false;
        for (size_t i = 0; i < a->len && !dup; i++)
            dup = strv_eq_cstr((struct strv){ a->items[i].u.s.ptr, a->items[i].u.s.len }, txt);
        if (dup)
            continue;
        struct expr_value v = expr_vm_str(vm, txt, strlen(txt));
        if (v.kind == EXPR_NIL || expr_array_push(vm, a, v) < 0) {
            freeaddrinfo(res);
            return expr_vm_error(vm, "out of memory");
        }
    }
    freeaddrinfo(res);
    return 0;
}

/* --- decisions --- */

static const struct expr_decisions_provider *net_decisions;

void
expr_set_decisions_provider(const struct expr_decisions_provider *p)
{
    net_decisions = p;
}

/* The provider wants a NUL-terminated value; copy it into the arena. */
static int
net_value_arg(struct expr_vm *vm, const char *fn, const struct expr_value *args, size_t i,
              const char **ret)
{
    struct strv s;
    *ret = "";
    if (expr_helper_arg_strv(vm, fn, args, i, &s) < 0)
        return -1;
    struct expr_value v = expr_vm_str(vm, s.ptr, s.len);
    if (v.kind == EXPR_NIL)
        return expr_vm_error(vm, "out of memory");
    *ret = v.u.s.ptr;
    return 0;
}

static int
net_count(struct expr_vm *vm, const char *fn, const struct expr_value *args, bool active,
          struct expr_value *ret)
{
    const char *value;
    if (net_value_arg(vm, fn, args, 0, &value) < 0)
        return -1;
    const struct expr_decisions_provider *p = net_decisions;
    *ret = expr_int(p && p->count ? p->count(p->ctx, value, active, 0) : 0);
    return 0;
}

static int
fn_get_decisions_count(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                       struct expr_value *ret)
{
    return net_count(vm, "GetDecisionsCount", args, false, ret);
}

static int
fn_get_active_decisions_count(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                              struct expr_value *ret)
{
    return net_count(vm, "GetActiveDecisionsCount", args, true, ret);
}

/*
 * GetDecisionsSinceCount(value, "1h"): decisions created since now minus the
 * duration (Go syntax plus a "d" unit); 0 when the duration does not parse.
 * The provider receives the cut-off as Unix nanoseconds.
 */
static int
fn_get_decisions_since_count(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                             struct expr_value *ret)
{
    const char *value;
    int64_t d;
    if (net_value_arg(vm, "GetDecisionsSinceCount", args, 0, &value) < 0)
        return -1;
    struct strv since_s;
    if (expr_helper_arg_strv(vm, "GetDecisionsSinceCount", args, 1, &since_s) < 0)
        return -1;
    *ret = expr_int(0);
    const struct expr_decisions_provider *p = net_decisions;
    if (!p || !p->count || gotime_parse_duration_days(since_s.ptr, since_s.len, &d) < 0)
        return 0;
    int64_t now = gotime_now().unix_ns;
    int64_t since = d > 0 && now < INT64_MIN + d ? INT64_MIN : now - d;
    *ret = expr_int(p->count(p->ctx, value, false, since));
    return 0;
}

static int
fn_get_active_decisions_time_left(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                                  struct expr_value *ret)
{
    const char *value;
    if (net_value_arg(vm, "GetActiveDecisionsTimeLeft", args, 0, &value) < 0)
        return -1;
    const struct expr_decisions_provider *p = net_decisions;
    /* CrowdSec returns a time.Duration from the database, but the int 0 without one. */
    if (!p || !p->time_left_ns) {
        *ret = expr_int(0);
        return 0;
    }
    *ret = expr_duration(p->time_left_ns(p->ctx, value));
    return 0;
}

/* --- CTI --- */

static char *net_cti_key;

void
expr_set_cti_key(const char *key)
{
    free(net_cti_key);
    net_cti_key = key && *key ? strdup(key) : NULL;
}

static int
fn_crowdsec_cti(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    if (!net_cti_key)
        return expr_vm_error(vm, "cti is disabled");
    return expr_vm_error(vm, "CrowdsecCTI: the CTI API client is not available in this build");
}

/* --- libinjection (see the file comment: no detection engine available) --- */

static int
fn_libinjection(struct expr_vm *vm, const char *fn, const struct expr_value *args,
                struct expr_value *ret)
{
    struct strv s;
    if (expr_helper_arg_strv(vm, fn, args, 0, &s) < 0)
        return -1;
    *ret = expr_bool(false);
    return 0;
}

static int
fn_libinjection_sqli(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                     struct expr_value *ret)
{
    return fn_libinjection(vm, "LibInjectionIsSQLI", args, ret);
}

static int
fn_libinjection_xss(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                    struct expr_value *ret)
{
    return fn_libinjection(vm, "LibInjectionIsXSS", args, ret);
}

const struct expr_func expr_helpers_net[] = {
    { "HTTPGet", 1, 1, EXPR_T_OBJ(&net_resp_class), fn_http_get },
    { "HTTPHead", 1, 1, EXPR_T_OBJ(&net_resp_class), fn_http_head },
    { "HTTPPost", 3, 3, EXPR_T_OBJ(&net_resp_class), fn_http_post },
    { "HTTPRequest", 4, 4, EXPR_T_OBJ(&net_resp_class), fn_http_request },
    { "LookupHost", 1, 1, { .kind = EXPR_ARRAY, .elem = &net_strings_type }, fn_lookup_host },
    { "GetDecisionsCount", 1, 1, EXPR_T(EXPR_INT), fn_get_decisions_count },
    { "GetActiveDecisionsCount", 1, 1, EXPR_T(EXPR_INT), fn_get_active_decisions_count },
    { "GetActiveDecisionsTimeLeft", 1, 1, EXPR_T_ANY, fn_get_active_decisions_time_left },
    { "GetDecisionsSinceCount", 2, 2, EXPR_T(EXPR_INT), fn_get_decisions_since_count },
    { "CrowdsecCTI", 1, 1, EXPR_T_ANY, fn_crowdsec_cti },
    { "LibInjectionIsSQLI", 1, 1, EXPR_T(EXPR_BOOL), fn_libinjection_sqli },
    { "LibInjectionIsXSS", 1, 1, EXPR_T(EXPR_BOOL), fn_libinjection_xss },
};
const size_t expr_helpers_net_count = ARRAY_SIZE(expr_helpers_net);
