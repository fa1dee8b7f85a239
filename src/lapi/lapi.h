/*
 * lapi.h - the Local API's HTTP half: CrowdSec's REST endpoints (swagger
 * localapi_swagger.yaml, spec section 7) served by libmicrohttpd with epoll
 * and an internal thread pool, on top of the store (src/store).
 *
 * phalanxd loads the settings with lapi_config_load(), starts the server with
 * lapi_start() and stops it with lapi_stop(). The credential helpers are
 * shared with the admin CLI (`phalanx bouncers|machines`), which writes
 * machines and bouncers straight into the store as cscli does.
 */
#ifndef PHALANX_LAPI_H
#define PHALANX_LAPI_H

#include "common/common.h"

struct lapi;

struct lapi_error {
    char msg[512];
};

#define LAPI_BODY_MAX_UNAUTH ((size_t)2 * 1024 * 1024)  /* CrowdSec: 2 MiB before authentication */
#define LAPI_BODY_MAX_AUTH   ((size_t)50 * 1024 * 1024) /* and 50 MiB after */
#define LAPI_DEFAULT_LISTEN  "127.0.0.1:8080"
#define LAPI_API_KEY_BYTES   32
#define LAPI_SHA512_HEX_LEN  128
#define LAPI_JWT_TTL_SEC     3600
#define LAPI_SECRET_MIN_LEN  64

/* A list of malloc'd strings. */
struct lapi_strlist {
    char **v;
    size_t n;
};

/* api.server.tls.client_verification, as Go's tls.ClientAuthType. */
enum lapi_client_verification {
    LAPI_TLS_VERIFY_IF_GIVEN = 0,     /* "VerifyClientCertIfGiven", the default */
    LAPI_TLS_NO_CLIENT_CERT,          /* "NoClientCert" */
    LAPI_TLS_REQUEST_CLIENT_CERT,     /* "RequestClientCert": asked for, never verified */
    LAPI_TLS_REQUIRE_ANY_CLIENT_CERT, /* "RequireAnyClientCert": required, never verified */
    LAPI_TLS_REQUIRE_AND_VERIFY,      /* "RequireAndVerifyClientCert" */
};

/* api.server.tls; HTTPS is on when cert_file is set. */
struct lapi_tls_config {
    char *cert_file, *key_file; /* PEM: the chain, leaf first, and its key */
    char *ca_cert_path;         /* PEM CAs that client certificates must chain to */
    char *crl_path;             /* PEM CRLs (every block is honoured), NULL: none */
    enum lapi_client_verification client_verification;
    struct lapi_strlist agents_allowed_ou;   /* default ["agent-ou"] */
    struct lapi_strlist bouncers_allowed_ou; /* default ["bouncer-ou"] */
};

/* api.server.auto_registration: machines that know the token register validated. */
struct lapi_auto_registration {
    bool enabled;
    char *token;                        /* >= 32 characters when enabled */
    struct lapi_strlist allowed_ranges; /* CIDRs the registering peer must be in */
};

/*
 * db_config.flush (CrowdSec's FlushDBCfg): the LAPI's background retention
 * job runs only when the section is present, as in CrowdSec. Durations in ns
 * (Go durations, "d" accepted), 0 = that rule is off.
 */
struct lapi_flush_config {
    bool enabled;
    int64_t max_items;                       /* alerts kept by count (> 0 when given) */
    int64_t max_age;                         /* alerts kept by age */
    int64_t agents_cert, agents_password;    /* agents_autodelete.{cert, login_password} */
    int64_t bouncers_cert, bouncers_api_key; /* bouncers_autodelete.{cert, api_key} */
    bool agents_api_key, bouncers_password;  /* set but unsupported (warned about) */
    int64_t interval; /* between runs: 1 min; "interval" (not a CrowdSec key) for tests */
};

/* What phalanxd needs from config.yaml (api.server, db_config). Strings are malloc'd. */
struct lapi_config {
    bool enable;         /* api.server.enable (default true) */
    char *listen_uri;    /* api.server.listen_uri, "host:port" */
    char *profiles_path; /* api.server.profiles_path, NULL when absent */
    char *db_type;       /* "sqlite" or "postgres" */
    char *db_dsn;        /* SQLite path, or a libpq conninfo built from host/port/user/... */
    unsigned threads;    /* size of the thread pool (default 4) */
    unsigned max_connections;
    unsigned connection_timeout_sec;
    struct lapi_tls_config tls;
    /* Peers (after X-Forwarded-For) allowed to delete alerts; default 127.0.0.1, ::1. */
    struct lapi_strlist trusted_ips;
    /* X-Forwarded-For / X-Real-IP are believed only from these peers (empty: never). */
    struct lapi_strlist trusted_proxies;
    struct lapi_auto_registration auto_registration;
    /* Token buckets per client address on POST /v1/watchers and /v1/watchers/login. */
    unsigned login_rate_burst;      /* default 20 requests */
    unsigned login_rate_per_minute; /* default 120 */
    struct lapi_flush_config flush;
};

/* Reads config.yaml; 0 or -1 with a message naming the file and line. */
int lapi_config_load(const char *path, struct lapi_config *ret, struct lapi_error *err);
void lapi_config_clear(struct lapi_config *c);

struct store;
/* Opens and migrates the database named by config.yaml's db_config (for the CLI); 0 or -1. */
int lapi_store_open(const char *config_path, struct store **ret, struct lapi_error *err);

/*
 * Opens and migrates the database, loads the profiles, binds listen_uri and
 * starts serving from MHD's own threads. 0 or -1 with a message.
 */
int lapi_start(const struct lapi_config *c, struct lapi **ret, struct lapi_error *err);
/* The TCP port actually bound (useful with port 0). */
uint16_t lapi_port(const struct lapi *l);
/* Stops accepting, finishes the requests in flight, closes the store; NULL ok. */
void lapi_stop(struct lapi *l);
/*
 * What SIGHUP does, without closing the listening socket: reloads the
 * profiles, the TLS certificate, key, CA and CRL files, trusted_ips,
 * trusted_proxies, auto_registration and the login rate limits from c.
 * Everything is loaded first and swapped in only when all of it loaded, so
 * a bad file leaves the running settings untouched (-1 with a message).
 * Requests being handled finish with the old settings; new ones see the new
 * ones. listen_uri, the database (db_config.flush too), the thread pool and whether TLS is on at
 * all are fixed at lapi_start() (a change there needs a restart). Safe to
 * call from any thread except an MHD callback; not from a signal handler.
 */
int lapi_reload(struct lapi *l, const struct lapi_config *c, struct lapi_error *err);

/* --- credentials, shared with the CLI --- */

/* SHA-512 of key as 128 lowercase hex digits + NUL in out (>= 129 bytes). */
void lapi_api_key_hash(const char *key, char out[LAPI_SHA512_HEX_LEN + 1]);
/* A new bouncer key: LAPI_API_KEY_BYTES random bytes, base64 without padding. 0 or -EIO. */
int lapi_api_key_generate(char *out, size_t size);
/* A bcrypt ("$2b$", cost 10) hash of password, malloc'd; NULL on failure. */
char *lapi_password_hash(const char *password);
/* true when password matches the bcrypt hash ($2a$, $2b$ or $2y$). */
bool lapi_password_check(const char *password, const char *hash);

#endif
