/*
 * store.h - the Local API's storage behind one small interface.
 *
 * Two backends share one schema (spec section 8) and one set of queries:
 * SQLite, the embedded default ("sqlite", DSN = a file path or ":memory:"),
 * and PostgreSQL for fleets ("postgres", DSN = a libpq conninfo string), so
 * several phalanxd nodes can serve the same decisions. Every query is
 * parameterised; values never become SQL text.
 *
 * Filters are CrowdSec's: the LAPI hands over the request's query parameters
 * as key/value pairs and the store applies them exactly as CrowdSec's
 * pkg/database does (applyDecisionFilter, alertPredicatesFromFilter,
 * ExpireDecisionsWithFilter), including its error cases (-EINVAL with a
 * message). Times are Unix nanoseconds, UTC; "now" is always passed in so
 * tests and replays control the clock.
 *
 * A struct store is one connection guarded by a mutex: calls from several
 * threads are serialised, and with SQLite that also makes it the single
 * writer. Open one store per worker for read parallelism.
 */
#ifndef PHALANX_STORE_H
#define PHALANX_STORE_H

#include "common/common.h"
#include "model/model.h"

struct store;

struct store_error {
    char msg[256];
};

/* One query parameter; a key may repeat (CrowdSec reads the first value, "uuid" all of them). */
struct store_param {
    const char *key;
    const char *value;
};

struct store_params {
    const struct store_param *v;
    size_t n;
};

/* Latest schema version store_migrate() brings a database to. */
#define STORE_SCHEMA_VERSION 3

/*
 * Opens a database: type "sqlite" (dsn: path, created if missing) or
 * "postgres"/"postgresql"/"pgx" (dsn: libpq conninfo). Does not migrate.
 * 0, -EINVAL (unknown type), -EIO (cannot connect; message in err), -ENOMEM.
 */
int store_open(const char *type, const char *dsn, struct store **ret, struct store_error *err);
void store_close(struct store *s);
/* Applies the pending versioned migrations, each in its own transaction; idempotent. */
int store_migrate(struct store *s, struct store_error *err);
/* The schema version recorded in the database (0 for a fresh one). */
int store_schema_version(struct store *s, int *ret_version, struct store_error *err);
/* "sqlite" or "postgres". */
const char *store_backend_name(const struct store *s);

/* --- decisions --- */

/* One row of the decisions table. Strings are malloc'd, never NULL. */
struct store_decision {
    int64_t id;
    int64_t alert_id; /* 0 when orphaned */
    int64_t created_at, updated_at, until;
    char *scenario, *type, *scope, *value, *origin, *uuid;
    int64_t start_ip, end_ip, start_suffix, end_suffix;
    int ip_size; /* 4, 16, or 0 for non-IP scopes */
    bool simulated;
};

struct store_decision_list {
    struct store_decision *v;
    size_t n;
};

void store_decision_list_clear(struct store_decision_list *l);

/*
 * GET /v1/decisions (QueryDecisionWithFilter): decisions with until >= now,
 * filtered by scope(s), value, type, origins, scenarios_containing,
 * scenarios_not_containing, ip/range + contains, simulated, limit, offset,
 * id_gt; ordered by id. Unknown keys are ignored, as in CrowdSec.
 */
int store_decisions_list(struct store *s, const struct store_params *p, int64_t now,
                         struct store_decision_list *ret, struct store_error *err);

/*
 * The decision stream. New: until > now (and created_at > since when
 * since >= 0). Expired: until < now (and until > since when since >= 0).
 * Both deduplicated unless dedup=false: a row is kept only when no decision
 * with the same (value, type, scope) has a later until. Filters as for
 * store_decisions_list. Ordered by id. since < 0 means "no cursor".
 */
int store_decisions_new_since(struct store *s, const struct store_params *p, int64_t now,
                              int64_t since, struct store_decision_list *ret,
                              struct store_error *err);
int store_decisions_expired_since(struct store *s, const struct store_params *p, int64_t now,
                                  int64_t since, struct store_decision_list *ret,
                                  struct store_error *err);

/*
 * The three queries above without the list: fn sees each decision in turn,
 * borrowed (it and its strings are valid during the call only), so a large
 * answer is never held twice. fn returns 0 to go on; any other value stops
 * the scan and is returned. The store is locked meanwhile: fn must not call
 * it. Same rows, order, filters and errors as the list functions.
 */
enum store_dquery { STORE_DQ_LIST, STORE_DQ_NEW, STORE_DQ_EXPIRED };
typedef int (*store_decision_fn)(const struct store_decision *d, void *ctx);
int store_decisions_each(struct store *s, enum store_dquery kind, const struct store_params *p,
                         int64_t now, int64_t since, store_decision_fn fn, void *ctx,
                         struct store_error *err);

/*
 * DELETE /v1/decisions (ExpireDecisionsWithFilter): active decisions matching
 * scopes (exact), uuid (any of), origin, value, type, scenario, ip/range +
 * contains get until = now. Unknown keys: -EINVAL. The expired rows are
 * returned in ret_expired when it is not NULL (for CAPI forwarding).
 */
int store_decisions_expire(struct store *s, const struct store_params *p, int64_t now,
                           int64_t *ret_count, struct store_decision_list *ret_expired,
                           struct store_error *err);
/* DELETE /v1/decisions/{id}: until = now; -ENOENT when there is no such decision. */
int store_decision_expire_id(struct store *s, int64_t id, int64_t now, int64_t *ret_count,
                             struct store_error *err);

/* --- alerts --- */

/* One row of the alerts table with its events, meta and decisions. */
struct store_event {
    int64_t time;
    char *serialized;
};

struct store_alert {
    int64_t id;
    int64_t created_at, updated_at, started_at, stopped_at;
    char *machine_id; /* owner's machine_id, NULL when none */
    char *scenario, *bucket_id, *message, *scenario_version, *scenario_hash, *uuid, *kind;
    char *leak_speed;
    int32_t events_count, capacity;
    char *source_ip, *source_range, *source_as_number, *source_as_name, *source_country;
    char *source_scope, *source_value;
    float source_latitude, source_longitude;
    bool simulated, remediation;
    struct store_event *events;
    size_t nevents;
    struct meta_list meta;
    struct store_decision *decisions;
    size_t ndecisions;
};

struct store_alert_list {
    struct store_alert *v;
    size_t n;
};

void store_alert_clear(struct store_alert *a);
void store_alert_list_clear(struct store_alert_list *l);

/*
 * Inserts alerts with their decisions, events and meta in one transaction
 * (all or nothing), as CrowdSec's createAlertBatch: start/stop parsed as
 * RFC3339 (now when unparsable), decision until = stop + duration (Go
 * duration with a "d" unit), IP/Range decisions encoded (spec section 8; an
 * unparsable value drops the decision, and the alert when all of its
 * decisions were dropped: its id is then 0), event meta serialised as JSON
 * (stripped to fit 8191 bytes), meta key/value cut to 255/4095 bytes.
 * machine_id may be NULL. ret_ids (n entries) receives the new ids.
 */
int store_alerts_insert(struct store *s, const struct alert *alerts, size_t n,
                        const char *machine_id, int64_t now, int64_t *ret_ids,
                        struct store_error *err);
/* GET /v1/alerts/{id}; -ENOENT when absent. */
int store_alert_get(struct store *s, int64_t id, struct store_alert *ret, struct store_error *err);
/*
 * GET /v1/alerts (QueryAlertWithFilter): scope, value, scenario, ip, range,
 * contains, since, until, created_before, decision_type, origin,
 * include_capi, has_active_decision, kind, simulated, limit (default 100,
 * 0 = all), sort (ASC|DESC by created_at, id), with_decisions. Any other key:
 * -EINVAL "filter parameter '%s' is unknown (=%s): invalid filter".
 */
int store_alerts_list(struct store *s, const struct store_params *p, int64_t now,
                      struct store_alert_list *ret, struct store_error *err);
/* DELETE /v1/alerts (DeleteAlertWithFilter); decisions, events and meta go with them. */
int store_alerts_delete(struct store *s, const struct store_params *p, int64_t now,
                        int64_t *ret_count, struct store_error *err);
/* DELETE /v1/alerts/{id}; -ENOENT when absent. */
int store_alert_delete(struct store *s, int64_t id, struct store_error *err);

/*
 * FormatOneAlert: the API shape of a stored alert (CrowdSec's controller):
 * times RFC3339 in seconds, event timestamps as Go's Time.String(), decision
 * durations until - now rounded to the second, machine_id "N/A" without an
 * owner. 0 or -ENOMEM; *ret is overwritten (alert_clear it).
 */
int store_alert_to_model(const struct store_alert *a, int64_t now, struct alert *ret);

/* --- retention --- */

struct store_flush_config {
    int64_t max_age;   /* ns; 0 = no age limit */
    int64_t max_items; /* 0 = no count limit */
};

/*
 * CrowdSec's FlushAlerts + FlushOrphans: deletes events/decisions without
 * an alert (decisions only when expired), alerts created before now-max_age
 * without an active decision, and alerts with id < max(id) - max_items
 * without an active decision, in batches. ret_deleted: alerts removed.
 */
int store_flush(struct store *s, const struct store_flush_config *c, int64_t now,
                int64_t *ret_deleted, struct store_error *err);

/* What one store_flush_run() did, for the log. */
struct store_flush_report {
    int64_t orphan_events, orphan_decisions;
    int64_t total_alerts; /* alerts before the run */
    int64_t by_age, by_count;
};

/* store_flush with the counts of each step in *ret (overwritten). */
int store_flush_run(struct store *s, const struct store_flush_config *c, int64_t now,
                    struct store_flush_report *ret, struct store_error *err);

/*
 * CrowdSec's FlushAgentsAndBouncers. Each limit is a duration in ns, 0 = off.
 * Machines of that auth_type ("tls" / "password") whose last heartbeat is
 * older than the limit, that own no alert and are not on 127.0.0.1 or ::1;
 * bouncers of that auth_type ("tls" / "api-key") that last pulled longer ago
 * than the limit. Never heartbeated machines and never pulled bouncers stay.
 * On return ret holds the number of rows deleted per field.
 */
struct store_autodelete {
    int64_t agents_cert, agents_password;
    int64_t bouncers_cert, bouncers_api_key;
};
int store_autodelete_run(struct store *s, const struct store_autodelete *limits, int64_t now,
                         struct store_autodelete *ret, struct store_error *err);

/* --- singleton jobs across nodes sharing a database --- */

/* The lease of the periodic flush (an arbitrary constant, "phxflush"). */
#define STORE_LEASE_FLUSH ((int64_t)0x706878666c757368LL)

/*
 * Takes the lease key for this connection without waiting: on PostgreSQL a
 * session advisory lock (pg_try_advisory_lock), released by
 * store_release_lease() or when the connection ends, so a node that dies
 * holding it frees it; on SQLite always granted (one node per file).
 * *ret_held tells whether we got it. A lease taken must be released once.
 */
int store_try_lease(struct store *s, int64_t key, bool *ret_held, struct store_error *err);
int store_release_lease(struct store *s, int64_t key, struct store_error *err);

/* --- machines (watchers) and bouncers --- */

struct store_machine {
    int64_t id;
    int64_t created_at, updated_at, last_push, last_heartbeat; /* 0 = never */
    char *machine_id, *password, *ip_address, *scenarios, *version, *auth_type;
    bool is_validated;
};

struct store_bouncer {
    int64_t id;
    int64_t created_at, updated_at, last_pull; /* last_pull < 0 = never pulled */
    char *name, *api_key, *ip_address, *type, *version, *auth_type;
    bool revoked, auto_created;
};

void store_machine_clear(struct store_machine *m);
void store_bouncer_clear(struct store_bouncer *b);

/* Creates a machine (password already hashed); -EEXIST when machine_id is taken. */
int store_machine_create(struct store *s, const struct store_machine *m, int64_t now,
                         int64_t *ret_id, struct store_error *err);
/* -ENOENT when absent. */
int store_machine_get(struct store *s, const char *machine_id, struct store_machine *ret,
                      struct store_error *err);
int store_machine_set_validated(struct store *s, const char *machine_id, bool validated,
                                int64_t now, struct store_error *err);
/* Login bookkeeping: scenarios ("" keeps the list, as CrowdSec ignores an empty one), ip,
 * version; and the heartbeat / push times. */
int store_machine_update_login(struct store *s, const char *machine_id, const char *scenarios,
                               const char *ip_address, const char *version, int64_t now,
                               struct store_error *err);
int store_machine_touch(struct store *s, const char *machine_id, bool heartbeat, bool push,
                        int64_t now, struct store_error *err);
/* Every machine, by id; *ret (n entries) freed with store_machine_clear each + free. */
int store_machine_list(struct store *s, struct store_machine **ret, size_t *ret_n,
                       struct store_error *err);
/* Deletes a machine; its alerts lose their owner (SET NULL). -ENOENT when absent. */
int store_machine_delete(struct store *s, const char *machine_id, struct store_error *err);

/* Creates a bouncer (api_key is the SHA-512 hex of the key); -EEXIST when the name is taken. */
int store_bouncer_create(struct store *s, const struct store_bouncer *b, int64_t now,
                         int64_t *ret_id, struct store_error *err);
int store_bouncer_get_by_name(struct store *s, const char *name, struct store_bouncer *ret,
                              struct store_error *err);
/* Lookup by hashed key, for authentication; -ENOENT when no bouncer has it. */
int store_bouncer_get_by_key(struct store *s, const char *api_key_hash, struct store_bouncer *ret,
                             struct store_error *err);
int store_bouncer_list(struct store *s, struct store_bouncer **ret, size_t *ret_n,
                       struct store_error *err);
int store_bouncer_set_last_pull(struct store *s, const char *name, int64_t last_pull,
                                struct store_error *err);
int store_bouncer_update_info(struct store *s, const char *name, const char *ip_address,
                              const char *type, const char *version, int64_t now,
                              struct store_error *err);
int store_bouncer_delete(struct store *s, const char *name, struct store_error *err);

/* --- allowlists (CrowdSec 1.6's centralized allowlists, allowlists.c) --- */

/* One address or CIDR of an allowlist. Strings are malloc'd, never NULL. */
struct store_allowlist_item {
    int64_t id, created_at, updated_at;
    int64_t expires_at; /* 0 = never */
    char *value, *comment;
};

struct store_allowlist {
    int64_t id, created_at, updated_at;
    char *name, *description, *allowlist_id; /* allowlist_id: the console's id, "" for local */
    bool from_console;
    struct store_allowlist_item *items; /* every item, expired ones too, by id */
    size_t nitems;
};

/* A list of malloc'd strings. */
struct store_strings {
    char **v;
    size_t n;
};

void store_allowlist_clear(struct store_allowlist *a);
void store_allowlists_free(struct store_allowlist *v, size_t n);
void store_strings_clear(struct store_strings *l);

/* CreateAllowList; -EEXIST "allowlist 'NAME' already exists". */
int store_allowlist_create(struct store *s, const char *name, const char *description, int64_t now,
                           int64_t *ret_id, struct store_error *err);
/* DeleteAllowList (items go with it); -ENOENT "allowlist NAME not found". */
int store_allowlist_delete(struct store *s, const char *name, struct store_error *err);
/* GetAllowList, items only when with_items; -ENOENT "allowlist 'NAME' not found". */
int store_allowlist_get(struct store *s, const char *name, bool with_items,
                        struct store_allowlist *ret, struct store_error *err);
/* ListAllowLists by id; *ret freed with store_allowlists_free. */
int store_allowlist_list(struct store *s, bool with_items, struct store_allowlist **ret,
                         size_t *ret_n, struct store_error *err);

/* What to add: value (IP or CIDR), comment, expires_at (0 = never). */
struct store_allowlist_entry {
    const char *value, *comment;
    int64_t expires_at;
};

/*
 * AddToAllowlist, in one transaction: a value that is not an IP or CIDR is
 * skipped (not counted). ret_added (may be NULL): the items stored.
 */
int store_allowlist_add(struct store *s, int64_t list_id, const struct store_allowlist_entry *v,
                        size_t n, int64_t now, size_t *ret_added, struct store_error *err);
/* RemoveFromAllowlist: the items of list_id whose value is one of values. */
int store_allowlist_remove(struct store *s, int64_t list_id, const char *const *values, size_t n,
                           int64_t *ret_removed, struct store_error *err);
/*
 * IsAllowlistedBy: for an IP or CIDR, "VALUE from LIST[ (COMMENT)]" for every
 * unexpired item that contains it or that it contains, sorted by list name
 * (stable). -EINVAL when value is neither an IP nor a CIDR.
 */
int store_allowlist_match(struct store *s, const char *value, int64_t now,
                          struct store_strings *ret, struct store_error *err);
/*
 * ApplyAllowlistsToExistingDecisions: active IP/range decisions that contain
 * or are contained by an unexpired item get until = now. ret_count: how many.
 */
int store_allowlist_apply(struct store *s, int64_t now, int64_t *ret_count,
                          struct store_error *err);

/* --- usage metrics (POST /v1/usage-metrics, metrics.c) --- */

/* Rows kept per machine or bouncer, and their age limit (CrowdSec: 7 days). */
#define STORE_METRICS_KEEP    2000
#define STORE_METRICS_MAX_AGE ((int64_t)7 * 24 * 3600 * 1000000000)

/*
 * One push: who (generated_type "LP" for a machine, "RC" for a bouncer;
 * generated_by its id or name), when, the payload as CrowdSec stores it
 * ({"metrics": ...} or {"type": ..., "metrics": ...}) and the base metrics
 * CrowdSec copies onto the machine or bouncer (feature_flags joined with
 * ","; hub_items and datasources as JSON text, "" for none).
 */
struct store_metrics {
    int64_t id;
    int64_t collected_at, pushed_at; /* pushed_at 0 = not sent */
    char *generated_type, *generated_by, *payload;
    char *version, *os_name, *os_family, *os_version, *feature_flags, *hub_items, *datasources;
};

void store_metrics_clear(struct store_metrics *m);
/*
 * Stores m (NULL strings are ""), then, in the same transaction, drops the
 * generator's rows beyond the latest STORE_METRICS_KEEP and every row older
 * than collected_at - STORE_METRICS_MAX_AGE.
 */
int store_metrics_insert(struct store *s, const struct store_metrics *m, int64_t *ret_id,
                         struct store_error *err);
/* The latest push of (type, by); -ENOENT when there is none. */
int store_metrics_latest(struct store *s, const char *generated_type, const char *generated_by,
                         struct store_metrics *ret, struct store_error *err);

#endif
