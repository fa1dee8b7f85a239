/*
 * apiclient.h - the agent's and the CLI's client of a Local API (CrowdSec's
 * pkg/apiclient), on libcurl: machine login with a cached JWT (re-login on
 * 401/403), plain JSON requests for the CLI, and the alert pusher that ships
 * the agent's alerts in batches every second through a disk spool, so alerts
 * survive a LAPI outage and an agent restart.
 *
 * It speaks the LAPI of the swagger (../shared/spec) and works unchanged
 * against CrowdSec's own LAPI.
 */
#ifndef PHALANX_APICLIENT_H
#define PHALANX_APICLIENT_H

#include "common/common.h"

struct apiclient;
struct apiclient_pusher;

struct apiclient_error {
    char message[512];
    long status; /* the HTTP status when the server answered, else 0 */
};

/* local_api_credentials.yaml (api.client.credentials_path). Strings malloc'd, NULL when absent. */
struct apiclient_credentials {
    char *url; /* "http://127.0.0.1:8080/" */
    char *login;
    char *password;
    char *ca_cert_path, *cert_path, *key_path;
    bool insecure_skip_verify; /* api.client.insecure_skip_verify (config.yaml, not this file) */
};

/* Reads path; an unknown key or a missing url is an error naming file:line. 0 or -1 with err. */
int apiclient_credentials_load(const char *path, struct apiclient_credentials *ret,
                               struct apiclient_error *err);
/* Writes url/login/password as cscli does (mode 0600). 0 or -1 with err. */
int apiclient_credentials_save(const char *path, const struct apiclient_credentials *c,
                               struct apiclient_error *err);
void apiclient_credentials_clear(struct apiclient_credentials *c);

/* Copies what it needs from creds. user_agent NULL = "phalanx/<version>". NULL with err. */
struct apiclient *apiclient_new(const struct apiclient_credentials *creds, const char *user_agent,
                                struct apiclient_error *err);
void apiclient_free(struct apiclient *c);

/* The scenarios sent with every login (POST /v1/watchers/login). Copied. 0 or -ENOMEM. */
int apiclient_set_scenarios(struct apiclient *c, const char *const *scenarios, size_t n);

/*
 * One request as the machine: logs in first when there is no valid token,
 * sends "Authorization: Bearer", logs in again and retries once on 401/403.
 * path_query starts with "/v1/...". body (JSON, may be NULL) is sent as
 * application/json. *ret_body (malloc'd, NUL-terminated, may be NULL) and
 * *ret_status get the answer whatever its status. 0, or -1 on a transport
 * error or a failed login with err. Thread-safe.
 */
int apiclient_request(struct apiclient *c, const char *method, const char *path_query,
                      const char *body, size_t body_len, long *ret_status, char **ret_body,
                      struct apiclient_error *err);

/* POST /v1/watchers (no auth): registers login/password. 0, or -1 with err (err->status set). */
int apiclient_register(const struct apiclient_credentials *creds, struct apiclient_error *err);

/* --- the alert pusher --- */

struct apiclient_pusher_stats {
    uint64_t queued;   /* alerts accepted by apiclient_pusher_add */
    uint64_t sent;     /* alerts the LAPI acknowledged */
    uint64_t pending;  /* in the spool, not yet acknowledged */
    uint64_t failures; /* failed POSTs (each retried later) */
    uint64_t heartbeats;
};

/*
 * A pusher shipping through c (borrowed; it must outlive the pusher), with its
 * spool in spool_dir (created 0700; alerts left there by an earlier run are
 * sent first). NULL with err.
 */
struct apiclient_pusher *apiclient_pusher_new(struct apiclient *c, const char *spool_dir,
                                              struct apiclient_error *err);
/*
 * Queues one alert (a models.Alert JSON object, stored re-encoded as compact
 * JSON). It is on disk (fdatasync'd) when this returns 0; -1 with err when it
 * is not a JSON object, or could not be stored (disk full, spool full): the
 * caller keeps it and retries. Thread-safe; concurrent adds share one sync.
 */
int apiclient_pusher_add(struct apiclient_pusher *p, const char *alert_json, size_t len,
                         struct apiclient_error *err);
/*
 * Bounds of the spool (pending alerts, bytes on disk); above them add fails.
 * 0 keeps the default (100000 alerts, 256 MiB).
 */
void apiclient_pusher_set_limits(struct apiclient_pusher *p, uint64_t max_alerts,
                                 uint64_t max_bytes);
/* Starts the sender thread (batches every second, back-off on failure, heartbeat every 60 s). */
int apiclient_pusher_start(struct apiclient_pusher *p, struct apiclient_error *err);
/*
 * Stops the thread after trying for up to flush_ms to send what is pending;
 * what is still unsent stays in the spool for the next run. Frees p; NULL ok.
 */
void apiclient_pusher_free(struct apiclient_pusher *p, unsigned flush_ms);
void apiclient_pusher_stats(struct apiclient_pusher *p, struct apiclient_pusher_stats *ret);

#endif
