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
