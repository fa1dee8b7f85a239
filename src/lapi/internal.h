/*
 * internal.h - what the server core (server.c), authentication (auth.c) and
 * the route handlers (routes_*.c) share inside src/lapi.
 *
 * A request is read whole before its handler runs: the core resolves the
 * route and authenticates from the headers on MHD's first callback (so an
 * oversized body is refused with 413 before it is read), accumulates the
 * body within the limit of the caller's class, then calls the handler,
 * which fills a struct lapi_response.
 */
#ifndef PHALANX_LAPI_INTERNAL_H
#define PHALANX_LAPI_INTERNAL_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <pthread.h>

#include "lapi/lapi.h"
#include "store/store.h"

#include "common/ip.h"
#include "common/str.h"

struct profiles;
struct lapi_tls;
struct lapi_netcfg;
struct lapi_ratelimit;

#define LAPI_MAX_QUERY_PARAMS 64

struct lapi {
    struct MHD_Daemon *mhd;
    struct store *store;
    /*
     * Held for reading while a request is routed and while its handler
     * runs, for writing by lapi_reload() when it swaps the fields below.
     */
    pthread_rwlock_t lock;
    struct profiles *profiles; /* NULL: alerts are stored without decisions */
    struct lapi_netcfg *net;   /* trusted_ips, trusted_proxies, auto_registration */
    struct lapi_ratelimit *login_rl;
    struct lapi_tls *tls; /* NULL: plain HTTP */
    unsigned char secret[LAPI_SECRET_MIN_LEN];
    size_t secret_len;
    char *secret_env; /* CS_LAPI_SECRET when set (owned copy) */
    uint16_t port;
    struct lapi_jobs *jobs; /* the flush thread, NULL without db_config.flush */
};

enum lapi_auth {
    LAPI_AUTH_NONE,
    LAPI_AUTH_KEY, /* bouncer X-Api-Key */
    LAPI_AUTH_JWT, /* machine Bearer token */
    /* either, chosen from the headers as CrowdSec's eitherAuthMiddleware (usage-metrics) */
    LAPI_AUTH_EITHER,
};

struct lapi_request {
    struct lapi *lapi;
    const char *method;
    const char *path;
    char *path_arg; /* the {id} of /v1/alerts/{id}, /v1/decisions/{id}; owned */
    struct store_param params[LAPI_MAX_QUERY_PARAMS];
    size_t nparams;
    bool too_many_params;
    const char *user_agent;
    const char *authorization; /* the Authorization header, NULL when absent */
    char peer_ip[64]; /* the client: the socket peer, or X-Forwarded-For from a trusted proxy */
    struct ip_addr peer_addr;     /* peer_ip parsed; family 0 when unknown */
    bool peer_trusted;            /* 127.0.0.1, ::1 or in trusted_ips: may delete alerts */
    gnutls_session_t tls_session; /* over HTTPS, else NULL */
    struct store_bouncer bouncer; /* LAPI_AUTH_KEY */
    char *machine_id;             /* LAPI_AUTH_JWT, owned */
    char *body;
    size_t body_len;
    int64_t start_ns; /* when the request arrived (Unix ns) */
};

struct lapi_response {
    unsigned status;
    char *body; /* malloc'd JSON text, or NULL for an empty body */
    /* Or, when has_file, the body is the file_size bytes of file_fd (owned, unlinked). */
    bool has_file;
    int file_fd;
    uint64_t file_size;
};

/*
 * A response body written in pieces (the decision stream, the decision
 * list): held in memory while small, moved to an unlinked temporary file
 * once it passes LAPI_OUT_SPILL bytes, so that the daemon's memory does not
 * grow with the answer (MHD sends the file with sendfile). Errors are
 * sticky: after one, writes do nothing and return it.
 */
#define LAPI_OUT_SPILL ((size_t)1 << 20)

struct lapi_out {
    struct str buf; /* bytes not yet in the file */
    int fd;         /* -1 until the body is spilled */
    bool in_memory; /* no temporary file could be made: all of it stays in buf */
    uint64_t size;  /* bytes already written to fd */
    int error;      /* 0, or the first failure (negative errno) */
};

void lapi_out_init(struct lapi_out *o);
/* Appends n bytes; 0, -ENOMEM or the negative errno of a failed file write. */
int lapi_out_write(struct lapi_out *o, const char *p, size_t n);
int lapi_out_cstr(struct lapi_out *o, const char *s);
/* Makes o the response body (o is emptied); on a failure of o, a 500 with its error. */
void lapi_reply_out(struct lapi_response *out, unsigned status, struct lapi_out *o);
/* Releases what o holds; o may be reused after lapi_out_init. */
void lapi_out_free(struct lapi_out *o);

typedef void (*lapi_handler_fn)(struct lapi_request *r, struct lapi_response *out);

struct lapi_route {
    const char *method; /* "GET" also serves HEAD */
    const char *path;   /* exact, or a prefix ending with '/' when with_arg */
    bool with_arg;
    enum lapi_auth auth;
    lapi_handler_fn handler;
};

/* Route tables (routes_*.c). */
extern const struct lapi_route lapi_routes_decisions[];
extern const size_t lapi_routes_decisions_n;
extern const struct lapi_route lapi_routes_watchers[];
extern const size_t lapi_routes_watchers_n;
extern const struct lapi_route lapi_routes_alerts[];
extern const size_t lapi_routes_alerts_n;
extern const struct lapi_route lapi_routes_allowlists[];
extern const size_t lapi_routes_allowlists_n;
extern const struct lapi_route lapi_routes_metrics[];
extern const size_t lapi_routes_metrics_n;

/*
 * POST /v1/alerts' allowlist check (routes_allowlists.c): alerts without
 * decisions whose Ip/Range source is allowlisted are dropped (cleared, the
 * rest moved down, order kept), as CrowdSec's CreateAlert. The new count.
 */
size_t lapi_allowlist_filter_alerts(struct lapi_request *r, struct alert *alerts, size_t n);

/* Responses (server.c). The JSON variants take the reference of j. */
void lapi_reply_message(struct lapi_response *out, unsigned status, const char *msg);
void lapi_reply_json(struct lapi_response *out, unsigned status, json_t *j);
void lapi_reply_text(struct lapi_response *out, unsigned status, char *owned_json);
/* CrowdSec's HandleDBErrors: -ENOENT 404, -EEXIST 403, -EINVAL 400, other 500. */
void lapi_reply_store_error(struct lapi_response *out, int rc, const struct store_error *err);
/* First value of a query parameter, NULL when absent. */
const char *lapi_param(const struct lapi_request *r, const char *key);
/* Parses the body as JSON; on failure replies 400 with the parser's message and returns NULL. */
json_t *lapi_body_json(const struct lapi_request *r, struct lapi_response *out);
int64_t lapi_now_ns(void);

/* Authentication (auth.c). */
/* Finds the bouncer of X-Api-Key into r->bouncer; 0 or -1 (403). */
int lapi_auth_bouncer(struct lapi_request *r, const char *api_key);
/* Checks "Bearer <jwt>"; 0 with r->machine_id, or -1 with the 401 message in msg. */
int lapi_auth_jwt(struct lapi_request *r, const char *authorization, char *msg, size_t msglen);
/* A signed HS256 token for machine_id valid until *ret_expire (Unix s); malloc'd or NULL. */
char *lapi_jwt_issue(const struct lapi *l, const char *machine_id, int64_t now_sec,
                     int64_t *ret_expire);
/* Sets the HS256 secret from CS_LAPI_SECRET, or random bytes; 0 or -1. */
int lapi_secret_init(struct lapi *l, struct lapi_error *err);
/*
 * gin-jwt's RefreshHandler: a token signed by us whose orig_iat is less than
 * LAPI_JWT_TTL_SEC old (it may have expired) gives a new one with the same
 * id. The new token (malloc'd) or NULL with the 401 message in msg.
 */
char *lapi_jwt_refresh(const struct lapi *l, const char *authorization, int64_t now_sec,
                       int64_t *ret_expire, char *msg, size_t msglen);
/*
 * mTLS for bouncers (CrowdSec's APIKey.authTLS): the peer's certificate is
 * checked against bouncers_allowed_ou and the CRLs, and the bouncer
 * "<CN>@<ip>" is used, created (auth_type "tls", auto_created) when absent.
 * 0 with r->bouncer, or -1 (403) with the reason in msg for the log.
 */
int lapi_auth_bouncer_tls(struct lapi_request *r, char *msg, size_t msglen);
/* true when the request came over TLS with a client certificate. */
bool lapi_request_has_cert(const struct lapi_request *r);
/*
 * A malloc'd random password of LAPI_DUMMY_KEY_BYTES for machines and
 * bouncers created by mTLS (never used to log in); NULL on failure.
 */
char *lapi_dummy_secret(void);
#define LAPI_DUMMY_KEY_BYTES 54

/* --- TLS (tls.c) --- */

enum lapi_cert_role { LAPI_CERT_AGENT, LAPI_CERT_BOUNCER };

/* Loads the certificate, key, CAs and CRLs of c; NULL with a message. */
struct lapi_tls *lapi_tls_new(const struct lapi_tls_config *c, struct lapi_error *err);
/* Loads c and makes it current for new handshakes and checks; 0 or -1 (old one kept). */
int lapi_tls_reload(struct lapi_tls *t, const struct lapi_tls_config *c, struct lapi_error *err);
void lapi_tls_free(struct lapi_tls *t);
/* The MHD_OPTION_HTTPS_CERT_CALLBACK (a gnutls_certificate_retrieve_function2). */
int lapi_tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                           const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                           gnutls_pcert_st **pcert, unsigned int *pcert_length,
                           gnutls_privkey_t *pkey);
/* Sets client_verification on a new session (from MHD's connection notifier). */
void lapi_tls_session_setup(struct lapi_tls *t, gnutls_session_t session);
/*
 * CrowdSec's TLSAuth.ValidateCert on the session's peer: verified chain
 * (CAs of ca_cert_path), an OU of role's allow-list, within its validity,
 * not revoked by a CRL. 0 with the CN in cn, -1 with the reason in msg.
 */
int lapi_tls_validate_peer(struct lapi_tls *t, gnutls_session_t session, enum lapi_cert_role role,
                           char *cn, size_t cnlen, char *msg, size_t msglen);
/* true when the peer of session sent a certificate. */
bool lapi_tls_peer_has_cert(gnutls_session_t session);

/* --- network settings (netcfg.c) --- */

struct lapi_netcfg {
    struct ip_range *trusted_ips;
    size_t ntrusted_ips;
    struct ip_range *trusted_proxies;
    size_t ntrusted_proxies;
    bool autoreg_enabled;
    char *autoreg_token;
    struct ip_range *autoreg_ranges;
    size_t nautoreg_ranges;
};

/* Parses the CIDR lists of c; NULL with a message naming the bad entry. */
struct lapi_netcfg *lapi_netcfg_new(const struct lapi_config *c, struct lapi_error *err);
void lapi_netcfg_free(struct lapi_netcfg *n);
/* gin's authIP: 127.0.0.1, ::1, or an address of trusted_ips. */
bool lapi_netcfg_trusted(const struct lapi_netcfg *n, const struct ip_addr *ip);
/*
 * gin's ClientIP(): when peer is a trusted proxy, the X-Forwarded-For list
 * (then X-Real-IP) is walked from the right past trusted proxies and the
 * first other address is the client; an unparsable header is skipped.
 * Otherwise the peer. The headers may be NULL.
 */
void lapi_netcfg_client_ip(const struct lapi_netcfg *n, const struct ip_addr *peer, const char *xff,
                           const char *x_real_ip, struct ip_addr *ret);
/*
 * CrowdSec's shouldAutoRegister: 1 (register validated), 0 (ordinary
 * registration) or -1 with the 401 message in msg.
 */
int lapi_netcfg_autoregister(const struct lapi_netcfg *n, const char *token,
                             const struct ip_addr *client, char *msg, size_t msglen);

/* --- rate limits (ratelimit.c) --- */

/*
 * Token buckets keyed by client address in a fixed-size set-associative
 * table: a new address evicts the least recently seen one of its set, so
 * memory stays bounded whatever the number of clients.
 */
struct lapi_ratelimit *lapi_ratelimit_new(unsigned burst, unsigned per_minute);
void lapi_ratelimit_free(struct lapi_ratelimit *rl);
/* Takes a token for ip at now_ns; false when its bucket is empty. Thread-safe. */
bool lapi_ratelimit_allow(struct lapi_ratelimit *rl, const struct ip_addr *ip, int64_t now_ns);

/* --- gzip request bodies (gzip.c) --- */

/*
 * Inflates a gzip body (several members allowed, as Go's gzip.Reader) into
 * a malloc'd NUL-terminated buffer of at most limit bytes. 0, -EINVAL
 * (not gzip / corrupt / truncated), -EFBIG (more than limit once inflated)
 * or -ENOMEM.
 */
int lapi_gunzip(const char *in, size_t len, size_t limit, char **ret, size_t *ret_len);

/* --- background database maintenance (jobs.c) --- */

struct lapi_jobs;
/*
 * Starts the flush thread for c->flush (first run one interval from now).
 * shared is the API's store, used as is on SQLite; on PostgreSQL the job
 * opens its own connection. NULL with a message.
 */
struct lapi_jobs *lapi_jobs_start(const struct lapi_config *c, struct store *shared,
                                  struct lapi_error *err);
/* Wakes the thread, waits for the current step to finish, frees everything; NULL ok. */
void lapi_jobs_stop(struct lapi_jobs *j);

#endif
