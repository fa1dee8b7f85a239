/*
 * auth.c - who is calling: bouncers by API key (only the SHA-512 of a key is
 * stored; the lookup is by hash and the final comparison constant-time),
 * machines by bcrypt password at login and then by an HS256 JWT carrying
 * CrowdSec's claims (id, exp, orig_iat), as gin-jwt issues them.
 *
 * The JWT secret comes from CS_LAPI_SECRET (at least 64 bytes, so several
 * LAPI nodes can share it) or is drawn at random on each start, which logs
 * every machine out on restart, as CrowdSec does.
 *
 * Over HTTPS a client certificate with an allowed OU stands for a bouncer
 * key (the bouncer "<CN>@<ip>" is created on first use) or, at login, for a
 * machine password (routes_watchers.c); gin-jwt's refresh is here too.
 */
#include <crypt.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "lapi/internal.h"

void
lapi_api_key_hash(const char *key, char out[LAPI_SHA512_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA512_DIGEST_LENGTH];

    SHA512((const unsigned char *)key, strlen(key), md);
    for (size_t i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[LAPI_SHA512_HEX_LEN] = '\0';
}

int
lapi_api_key_generate(char *out, size_t size)
{
    unsigned char raw[LAPI_API_KEY_BYTES];
    unsigned char b64[4 * ((LAPI_API_KEY_BYTES + 2) / 3) + 1];

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    int n = EVP_EncodeBlock(b64, raw, sizeof(raw));
    while (n > 0 && b64[n - 1] == '=')
        n--;
    if ((size_t)n + 1 > size)
        return -ENOSPC;
    memcpy(out, b64, (size_t)n);
    out[n] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

char *
lapi_password_hash(const char *password)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    char *ret = NULL;

    if (cd == NULL)
        return NULL;
    if (crypt_gensalt_rn("$2b$", 10, NULL, 0, salt, sizeof(salt)) == NULL)
        goto out;
    const char *h = crypt_r(password, salt, cd);
    if (h != NULL && h[0] == '$')
        ret = strdup(h);
out:
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return ret;
}

bool
lapi_password_check(const char *password, const char *hash)
{
    struct crypt_data *cd;
    bool ok = false;
    size_t hl = strlen(hash);

    if (hl < 7 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$')
        return false;
    if ((cd = calloc(1, sizeof(*cd))) == NULL)
        return false;
    const char *h = crypt_r(password, hash, cd);
    if (h != NULL && strlen(h) == hl)
        ok = CRYPTO_memcmp(h, hash, hl) == 0;
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return ok;
}

int
lapi_secret_init(struct lapi *l, struct lapi_error *err)
{
    const char *env = getenv("CS_LAPI_SECRET");

    if (env != NULL && env[0] != '\0') {
        if (strlen(env) < LAPI_SECRET_MIN_LEN) {
            snprintf(err->msg, sizeof(err->msg),
                     "CS_LAPI_SECRET is too short: it needs at least %d bytes",
                     LAPI_SECRET_MIN_LEN);
            return -1;
        }
        if ((l->secret_env = strdup(env)) == NULL) {
            snprintf(err->msg, sizeof(err->msg), "out of memory");
            return -1;
        }
        return 0;
    }
    if (RAND_bytes(l->secret, sizeof(l->secret)) != 1) {
        snprintf(err->msg, sizeof(err->msg), "cannot draw a random JWT secret");
        return -1;
    }
    l->secret_len = sizeof(l->secret);
    return 0;
}

static const unsigned char *
secret_of(const struct lapi *l, int *ret_len)
{
    if (l->secret_env != NULL) {
        *ret_len = (int)strlen(l->secret_env);
        return (const unsigned char *)l->secret_env;
    }
    *ret_len = (int)l->secret_len;
    return l->secret;
}

char *
lapi_jwt_issue(const struct lapi *l, const char *machine_id, int64_t now_sec, int64_t *ret_expire)
{
    jwt_t *jwt = NULL;
    char *tok = NULL;
    int klen;
    const unsigned char *key = secret_of(l, &klen);
    int64_t exp = now_sec + LAPI_JWT_TTL_SEC;

    if (jwt_new(&jwt) != 0)
        return NULL;
    if (jwt_add_grant(jwt, "id", machine_id) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)exp) != 0 ||
        jwt_add_grant_int(jwt, "orig_iat", (long)now_sec) != 0 ||
        jwt_set_alg(jwt, JWT_ALG_HS256, key, klen) != 0)
        goto out;
    tok = jwt_encode_str(jwt);
    if (tok != NULL)
        *ret_expire = exp;
out:
    jwt_free(jwt);
    return tok;
}

int
lapi_auth_jwt(struct lapi_request *r, const char *authorization, char *msg, size_t msglen)
{
    jwt_t *jwt = NULL;
    int klen, rc = -1;
    const unsigned char *key = secret_of(r->lapi, &klen);

    if (authorization == NULL || authorization[0] == '\0') {
        snprintf(msg, msglen, "auth header is empty");
        return -1;
    }
    if (strncmp(authorization, "Bearer ", 7) != 0) {
        snprintf(msg, msglen, "auth header is invalid");
        return -1;
    }
    /* A token is a few hundred bytes; anything huge is refused before parsing. */
    if (strlen(authorization + 7) > 8192 || jwt_decode(&jwt, authorization + 7, key, klen) != 0 ||
        jwt_get_alg(jwt) != JWT_ALG_HS256) {
        snprintf(msg, msglen, "signature is invalid");
        goto out;
    }
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno != 0 || exp < lapi_now_ns() / 1000000000) {
        snprintf(msg, msglen, "Token is expired");
        goto out;
    }
    const char *id = jwt_get_grant(jwt, "id");
    if (id == NULL || id[0] == '\0') {
        snprintf(msg, msglen, "identity not found in token");
        goto out;
    }
    /* A deleted machine's tokens stop working at once. */
    struct store_machine m = { 0 };
    struct store_error serr;
    if (store_machine_get(r->lapi->store, id, &m, &serr) != 0) {
        snprintf(msg, msglen, "machine not found");
        goto out;
    }
    store_machine_clear(&m);
    if ((r->machine_id = strdup(id)) == NULL) {
        snprintf(msg, msglen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    jwt_free(jwt);
    return rc;
}

int
lapi_auth_bouncer(struct lapi_request *r, const char *api_key)
{
    char hash[LAPI_SHA512_HEX_LEN + 1];
    struct store_error serr;

    if (api_key == NULL || api_key[0] == '\0' || strlen(api_key) > 1024)
        return -1;
    lapi_api_key_hash(api_key, hash);
    if (store_bouncer_get_by_key(r->lapi->store, hash, &r->bouncer, &serr) != 0)
        return -1;
    if (r->bouncer.api_key == NULL || strlen(r->bouncer.api_key) != LAPI_SHA512_HEX_LEN ||
        CRYPTO_memcmp(r->bouncer.api_key, hash, LAPI_SHA512_HEX_LEN) != 0 || r->bouncer.revoked) {
        store_bouncer_clear(&r->bouncer);
        memset(&r->bouncer, 0, sizeof(r->bouncer));
        return -1;
    }
    return 0;
}

char *
lapi_jwt_refresh(const struct lapi *l, const char *authorization, int64_t now_sec,
                 int64_t *ret_expire, char *msg, size_t msglen)
{
    jwt_t *jwt = NULL;
    char *tok = NULL;
    int klen;
    const unsigned char *key = secret_of(l, &klen);

    if (authorization == NULL || authorization[0] == '\0') {
        snprintf(msg, msglen, "auth header is empty");
        return NULL;
    }
    if (strncmp(authorization, "Bearer ", 7) != 0) {
        snprintf(msg, msglen, "auth header is invalid");
        return NULL;
    }
    /* libjwt checks the signature only, so an expired token still decodes here. */
    if (strlen(authorization + 7) > 8192 || jwt_decode(&jwt, authorization + 7, key, klen) != 0 ||
        jwt_get_alg(jwt) != JWT_ALG_HS256) {
        snprintf(msg, msglen, "signature is invalid");
        goto out;
    }
    errno = 0;
    long iat = jwt_get_grant_int(jwt, "orig_iat");
    /* gin-jwt's MaxRefresh is one hour, the same as the token's life. */
    if (errno != 0 || iat < now_sec - LAPI_JWT_TTL_SEC) {
        snprintf(msg, msglen, "token is expired");
        goto out;
    }
    const char *id = jwt_get_grant(jwt, "id");
    if (id == NULL || id[0] == '\0') {
        snprintf(msg, msglen, "identity not found in token");
        goto out;
    }
    if ((tok = lapi_jwt_issue(l, id, now_sec, ret_expire)) == NULL)
        snprintf(msg, msglen, "cannot sign the token");
out:
    jwt_free(jwt);
    return tok;
}

bool
lapi_request_has_cert(const struct lapi_request *r)
{
    return r->tls_session != NULL && lapi_tls_peer_has_cert(r->tls_session);
}

char *
lapi_dummy_secret(void)
{
    char *s = malloc(4 * ((LAPI_DUMMY_KEY_BYTES + 2) / 3) + 1);
    unsigned char raw[LAPI_DUMMY_KEY_BYTES];

    if (s == NULL)
        return NULL;
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        free(s);
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *)s, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return s;
}

int
lapi_auth_bouncer_tls(struct lapi_request *r, char *msg, size_t msglen)
{
    char cn[256], name[512], hash[LAPI_SHA512_HEX_LEN + 1];
    struct store_error serr = { { 0 } };

    if (lapi_tls_validate_peer(r->lapi->tls, r->tls_session, LAPI_CERT_BOUNCER, cn, sizeof(cn), msg,
                               msglen) != 0)
        return -1;
    snprintf(name, sizeof(name), "%s@%s", cn, r->peer_ip);
    int rc = store_bouncer_get_by_name(r->lapi->store, name, &r->bouncer, &serr);
    if (rc == -ENOENT) {
        /* A valid certificate creates its bouncer, with a key no one knows. */
        char *key = lapi_dummy_secret();
        if (key == NULL) {
            snprintf(msg, msglen, "error generating mock api key");
            return -1;
        }
        lapi_api_key_hash(key, hash);
        explicit_bzero(key, strlen(key));
        free(key);
        struct store_bouncer b = {
            .name = name,
            .api_key = hash,
            .ip_address = r->peer_ip,
            .type = (char *)"",
            .version = (char *)"",
            .auth_type = (char *)"tls",
            .auto_created = true,
            .last_pull = -1,
        };
        rc = store_bouncer_create(r->lapi->store, &b, lapi_now_ns(), NULL, &serr);
        /* -EEXIST: a concurrent first request created it. */
        if (rc == 0 || rc == -EEXIST)
            rc = store_bouncer_get_by_name(r->lapi->store, name, &r->bouncer, &serr);
    }
    if (rc != 0) {
        snprintf(msg, msglen, "while selecting bouncers: %s", serr.msg);
        store_bouncer_clear(&r->bouncer);
        memset(&r->bouncer, 0, sizeof(r->bouncer));
        return -1;
    }
    if (r->bouncer.auth_type == NULL || strcmp(r->bouncer.auth_type, "tls") != 0 ||
        r->bouncer.revoked) {
        snprintf(msg, msglen, "bouncer isn't allowed to auth by TLS");
        store_bouncer_clear(&r->bouncer);
        memset(&r->bouncer, 0, sizeof(r->bouncer));
        return -1;
    }
    return 0;
}
