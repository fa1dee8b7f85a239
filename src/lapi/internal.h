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

#include <jansson.h>
#include <pthread.h>

#include "lapi/lapi.h"
#include "store/store.h"

struct profiles;

#define LAPI_MAX_QUERY_PARAMS 64

struct lapi {
    struct MHD_Daemon *mhd;
    struct store *store;
    struct profiles *profiles; /* NULL: alerts are stored without decisions */
    unsigned char secret[LAPI_SECRET_MIN_LEN];
    size_t secret_len;
    char *secret_env; /* CS_LAPI_SECRET when set (owned copy) */
    uint16_t port;
};

enum lapi_auth {
    LAPI_AUTH_NONE,
    LAPI_AUTH_KEY, /* bouncer X-Api-Key */
    LAPI_AUTH_JWT, /* machine Bearer token */
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
    char peer_ip[64];
    bool peer_loopback;
    struct store_bouncer bouncer; /* LAPI_AUTH_KEY */
    char *machine_id;             /* LAPI_AUTH_JWT, owned */
    char *body;
    size_t body_len;
    int64_t start_ns; /* when the request arrived (Unix ns) */
};

struct lapi_response {
    unsigned status;
    char *body; /* malloc'd JSON text, or NULL for an empty body */
};

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

#endif
