/*
 * tls.c - HTTPS for the Local API on libmicrohttpd's GnuTLS, with client
 * certificates checked as CrowdSec's TLSAuth does (middlewares/v1/
 * tls_auth.go, crl.go; csconfig/tls.go).
 *
 * The server certificate is handed to GnuTLS from a callback and client
 * certificates are verified against our own trust list, so both can be
 * replaced by lapi_reload() while the listener stays open. A "generation"
 * holds one loaded set of files; reloading makes a new one current and
 * keeps the old ones until lapi_tls_free(), since handshakes in flight and
 * sessions may still point at their certificate and key (a generation is
 * a few kilobytes and is made only by an operator's reload).
 *
 * client_verification follows Go's tls.ClientAuthType: the certificate is
 * requested (or required) per session, and a certificate that is given is
 * verified during the handshake in the Verify* modes, so a bad one fails
 * the handshake as in Go. Revocation and the OU allow-lists are checked
 * per request (403), as CrowdSec's middleware does; every CRL of crl_path
 * whose signature verifies from a trusted CA is honoured.
 */
#include <gnutls/x509.h>

#include "lapi/internal.h"

#define TLS_FILE_MAX  ((size_t)4 * 1024 * 1024)
#define TLS_CHAIN_MAX 16
#define TLS_OU_MAX    16

struct tls_gen {
    gnutls_pcert_st pcerts[TLS_CHAIN_MAX];
    unsigned npcerts;
    gnutls_privkey_t key;
    gnutls_x509_trust_list_t trust; /* system CAs, ca_cert_path, then crl_path */
    enum lapi_client_verification mode;
    char **ous[2]; /* indexed by enum lapi_cert_role */
    size_t nous[2];
    struct tls_gen *older;
};

struct lapi_tls {
    pthread_mutex_t mu;
    struct tls_gen *cur;
};

static void
gen_free(struct tls_gen *g)
{
    if (g == NULL)
        return;
    for (unsigned i = 0; i < g->npcerts; i++)
        gnutls_pcert_deinit(&g->pcerts[i]);
    if (g->key != NULL)
        gnutls_privkey_deinit(g->key);
    if (g->trust != NULL)
        gnutls_x509_trust_list_deinit(g->trust, 1);
    for (size_t r = 0; r < 2; r++) {
        for (size_t i = 0; i < g->nous[r]; i++)
            free(g->ous[r][i]);
        free(g->ous[r]);
    }
    free(g);
}

/* A whole file as a datum (malloc'd, NUL-terminated); 0 or -1 with a message. */
static int
read_datum(const char *path, const char *what, gnutls_datum_t *ret, struct lapi_error *err)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;

    if (f == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if ((buf = malloc(TLS_FILE_MAX + 1)) == NULL) {
        fclose(f);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -1;
    }
    size_t len = fread(buf, 1, TLS_FILE_MAX + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || len > TLS_FILE_MAX) {
        free(buf);
        snprintf(err->msg, sizeof(err->msg), "%s %s: %s", what, path,
                 bad ? "read error" : "larger than 4 MiB");
        return -1;
    }
    buf[len] = '\0';
    ret->data = buf;
    ret->size = (unsigned)len;
    return 0;
}

static void
datum_free(gnutls_datum_t *d)
{
    if (d->data != NULL)
        explicit_bzero(d->data, d->size);
    free(d->data);
    d->data = NULL;
    d->size = 0;
}

static int
copy_ous(struct tls_gen *g, enum lapi_cert_role role, const struct lapi_strlist *l)
{
    if (l->n == 0)
        return 0;
    if ((g->ous[role] = calloc(l->n, sizeof(char *))) == NULL)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        if ((g->ous[role][i] = strdup(l->v[i])) == NULL)
            return -1;
        g->nous[role]++;
    }
    return 0;
}

static int
load_trust(struct tls_gen *g, const struct lapi_tls_config *c, struct lapi_error *err)
{
    gnutls_datum_t d = { NULL, 0 };
    int rc;

    if (gnutls_x509_trust_list_init(&g->trust, 0) < 0) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -1;
    }
    /* Go's ClientCAs: the system pool plus ca_cert_path. */
    (void)gnutls_x509_trust_list_add_system_trust(g->trust, 0, 0);
    if (c->ca_cert_path != NULL) {
        if (read_datum(c->ca_cert_path, "ca_cert_path", &d, err) != 0)
            return -1;
        rc = gnutls_x509_trust_list_add_trust_mem(g->trust, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
        datum_free(&d);
        if (rc <= 0) {
            snprintf(err->msg, sizeof(err->msg), "ca_cert_path %s: no usable certificate: %s",
                     c->ca_cert_path, rc < 0 ? gnutls_strerror(rc) : "empty");
            return -1;
        }
    }
    if (c->crl_path != NULL) {
        if (read_datum(c->crl_path, "crl_path", &d, err) != 0)
            return -1;
        /* An empty file is a valid "nothing revoked" (CrowdSec's tests start from one). */
        if (strstr((const char *)d.data, "-----BEGIN") != NULL) {
            rc = gnutls_x509_trust_list_add_trust_mem(g->trust, NULL, &d, GNUTLS_X509_FMT_PEM,
                                                      GNUTLS_TL_VERIFY_CRL, 0);
            if (rc < 0) {
                snprintf(err->msg, sizeof(err->msg), "crl_path %s: could not parse file: %s",
                         c->crl_path, gnutls_strerror(rc));
                datum_free(&d);
                return -1;
            }
        }
        datum_free(&d);
    }
    return 0;
}

static struct tls_gen *
gen_load(const struct lapi_tls_config *c, struct lapi_error *err)
{
    struct tls_gen *g = calloc(1, sizeof(*g));
    gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
    int rc;

    if (g == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    g->mode = c->client_verification;
    if (c->cert_file == NULL || c->key_file == NULL) {
        snprintf(err->msg, sizeof(err->msg), "missing TLS %s file",
                 c->cert_file == NULL ? "cert" : "key");
        goto fail;
    }
    if (read_datum(c->cert_file, "cert_file", &cert, err) != 0 ||
        read_datum(c->key_file, "key_file", &key, err) != 0)
        goto fail;
    g->npcerts = TLS_CHAIN_MAX;
    rc = gnutls_pcert_list_import_x509_raw(g->pcerts, &g->npcerts, &cert, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || g->npcerts == 0) {
        g->npcerts = 0;
        snprintf(err->msg, sizeof(err->msg), "cert_file %s: %s", c->cert_file,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate");
        goto fail;
    }
    if (gnutls_privkey_init(&g->key) < 0) {
        g->key = NULL;
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto fail;
    }
    rc = gnutls_privkey_import_x509_raw(g->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        snprintf(err->msg, sizeof(err->msg), "key_file %s: %s", c->key_file, gnutls_strerror(rc));
        goto fail;
    }
    if (load_trust(g, c, err) != 0)
        goto fail;
    if (copy_ous(g, LAPI_CERT_AGENT, &c->agents_allowed_ou) != 0 ||
        copy_ous(g, LAPI_CERT_BOUNCER, &c->bouncers_allowed_ou) != 0) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto fail;
    }
    datum_free(&cert);
    datum_free(&key);
    return g;
fail:
    datum_free(&cert);
    datum_free(&key);
    gen_free(g);
    return NULL;
}

struct lapi_tls *
lapi_tls_new(const struct lapi_tls_config *c, struct lapi_error *err)
{
    struct lapi_tls *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        snprintf(err->msg, sizeof(err->msg), "cannot create a mutex");
        return NULL;
    }
    if ((t->cur = gen_load(c, err)) == NULL) {
        lapi_tls_free(t);
        return NULL;
    }
    return t;
}

int
lapi_tls_reload(struct lapi_tls *t, const struct lapi_tls_config *c, struct lapi_error *err)
{
    struct tls_gen *g = gen_load(c, err);
    if (g == NULL)
        return -1;
    pthread_mutex_lock(&t->mu);
    g->older = t->cur;
    t->cur = g;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

void
lapi_tls_free(struct lapi_tls *t)
{
    if (t == NULL)
        return;
    struct tls_gen *g = t->cur;
    /* The chain of retired generations is as long as the number of reloads. */
    while (g != NULL) {
        struct tls_gen *next = g->older;
        gen_free(g);
        g = next;
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static struct tls_gen *
current(struct lapi_tls *t)
{
    pthread_mutex_lock(&t->mu);
    struct tls_gen *g = t->cur;
    pthread_mutex_unlock(&t->mu);
    return g;
}

int
lapi_tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                       gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    struct lapi_tls *t = gnutls_db_get_ptr(session);
    if (t == NULL)
        return -1;
    struct tls_gen *g = current(t);
    *pcert = g->pcerts;
    *pcert_length = g->npcerts;
    *pkey = g->key;
    return 0;
}

/* Verifies the peer's chain; the GnuTLS status bits, or -1 when there is no usable chain. */
static int
verify_chain(const struct tls_gen *g, gnutls_session_t session, gnutls_x509_crt_t *crts,
             unsigned *ret_n)
{
    unsigned n = 0, status = 0;
    const gnutls_datum_t *raw = gnutls_certificate_get_peers(session, &n);
    int rc = -1;

    *ret_n = 0;
    if (raw == NULL || n == 0)
        return -1;
    if (n > TLS_CHAIN_MAX)
        n = TLS_CHAIN_MAX;
    for (unsigned i = 0; i < n; i++) {
        if (gnutls_x509_crt_init(&crts[i]) < 0)
            goto out;
        (*ret_n)++;
        if (gnutls_x509_crt_import(crts[i], &raw[i], GNUTLS_X509_FMT_DER) < 0)
            goto out;
    }
    /* Go's server checks the client certificate for the clientAuth purpose. */
    gnutls_typed_vdata_st vdata = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
                                    .data = (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT,
                                    .size = 0 };
    if (gnutls_x509_trust_list_verify_crt2(g->trust, crts, n, &vdata, 1, 0, &status, NULL) < 0)
        goto out;
    rc = (int)status;
out:
    return rc;
}

static void
free_chain(gnutls_x509_crt_t *crts, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
}

/* A chain that verifies except for revocation, which is judged per request. */
static bool
status_ok_but_revocation(int status)
{
    if (status < 0)
        return false;
    unsigned s = (unsigned)status;
    if (s & GNUTLS_CERT_REVOKED)
        s &= ~(unsigned)(GNUTLS_CERT_REVOKED | GNUTLS_CERT_INVALID);
    return s == 0;
}

/* During the handshake, in the Verify* modes: a certificate that was sent must verify. */
static int
verify_in_handshake(gnutls_session_t session)
{
    struct lapi_tls *t = gnutls_db_get_ptr(session);
    gnutls_x509_crt_t crts[TLS_CHAIN_MAX];
    unsigned n = 0;

    if (t == NULL)
        return -1;
    struct tls_gen *g = current(t);
    if (g->mode != LAPI_TLS_VERIFY_IF_GIVEN && g->mode != LAPI_TLS_REQUIRE_AND_VERIFY)
        return 0;
    if (!lapi_tls_peer_has_cert(session))
        return g->mode == LAPI_TLS_REQUIRE_AND_VERIFY ? -1 : 0;
    int status = verify_chain(g, session, crts, &n);
    free_chain(crts, n);
    return status_ok_but_revocation(status) ? 0 : -1;
}

void
lapi_tls_session_setup(struct lapi_tls *t, gnutls_session_t session)
{
    struct tls_gen *g = current(t);
    gnutls_certificate_request_t req = GNUTLS_CERT_REQUEST;

    /* MHD does not use the session's resumption-database pointer: it carries t to our callbacks. */
    gnutls_db_set_ptr(session, t);
    switch (g->mode) {
    case LAPI_TLS_NO_CLIENT_CERT: req = GNUTLS_CERT_IGNORE; break;
    case LAPI_TLS_REQUIRE_ANY_CLIENT_CERT:
    case LAPI_TLS_REQUIRE_AND_VERIFY: req = GNUTLS_CERT_REQUIRE; break;
    case LAPI_TLS_REQUEST_CLIENT_CERT:
    case LAPI_TLS_VERIFY_IF_GIVEN: break;
    }
    gnutls_certificate_server_set_request(session, req);
    gnutls_session_set_verify_function(session, verify_in_handshake);
}

bool
lapi_tls_peer_has_cert(gnutls_session_t session)
{
    unsigned n = 0;
    return session != NULL && gnutls_certificate_get_peers(session, &n) != NULL && n > 0;
}

/* The idx-th value of an attribute of the subject; false when there is none. */
static bool
subject_attr(gnutls_x509_crt_t crt, const char *oid, unsigned idx, char *buf, size_t size)
{
    size_t len = size;
    if (gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, buf, &len) < 0)
        return false;
    buf[len < size ? len : size - 1] = '\0';
    return true;
}

int
lapi_tls_validate_peer(struct lapi_tls *t, gnutls_session_t session, enum lapi_cert_role role,
                       char *cn, size_t cnlen, char *msg, size_t msglen)
{
    gnutls_x509_crt_t crts[TLS_CHAIN_MAX];
    unsigned n = 0;
    int rc = -1;

    if (t == NULL || !lapi_tls_peer_has_cert(session)) {
        snprintf(msg, msglen, "no certificate in request");
        return -1;
    }
    struct tls_gen *g = current(t);
    if (g->mode != LAPI_TLS_VERIFY_IF_GIVEN && g->mode != LAPI_TLS_REQUIRE_AND_VERIFY) {
        snprintf(msg, msglen, "no verified cert in request");
        return -1;
    }
    int status = verify_chain(g, session, crts, &n);
    if (!status_ok_but_revocation(status)) {
        snprintf(msg, msglen, "no verified cert in request");
        goto out;
    }
    /* TLSAuth.checkAllowedOU: any OU of the leaf in the allow-list. */
    char ou[256], seen[512] = "";
    size_t sl = 0;
    bool allowed = false;
    for (unsigned i = 0; i < TLS_OU_MAX && !allowed; i++) {
        if (!subject_attr(crts[0], GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, i, ou, sizeof(ou)))
            break;
        for (size_t k = 0; k < g->nous[role]; k++)
            allowed |= strcmp(ou, g->ous[role][k]) == 0;
        int w = snprintf(seen + sl, sizeof(seen) - sl, "%s%s", sl > 0 ? " " : "", ou);
        if (w > 0 && (size_t)w < sizeof(seen) - sl)
            sl += (size_t)w;
    }
    if (!allowed) {
        char want[512] = "";
        size_t wl = 0;
        for (size_t k = 0; k < g->nous[role]; k++) {
            int w =
                snprintf(want + wl, sizeof(want) - wl, "%s%s", wl > 0 ? " " : "", g->ous[role][k]);
            if (w > 0 && (size_t)w < sizeof(want) - wl)
                wl += (size_t)w;
        }
        snprintf(msg, msglen, "client certificate OU [%s] doesn't match expected OU [%s]", seen,
                 want);
        goto out;
    }
    if ((unsigned)status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) {
        snprintf(msg, msglen, "client certificate is expired");
        goto out;
    }
    if ((unsigned)status & GNUTLS_CERT_REVOKED) {
        snprintf(msg, msglen, "certificate revoked by CRL");
        goto out;
    }
    if (!subject_attr(crts[0], GNUTLS_OID_X520_COMMON_NAME, 0, cn, cnlen))
        cn[0] = '\0';
    rc = 0;
out:
    free_chain(crts, n);
    return rc;
}
