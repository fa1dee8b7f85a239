/*
 * flush.c - retention (CrowdSec's FlushOrphans, FlushAlerts, FlushAgentsAndBouncers).
 *
 * Events and expired decisions left without an alert go first; then alerts
 * older than max_age and alerts beyond the newest max_items, in both cases
 * only those without an active decision (a ban outlives its retention).
 * Deletions run in batches of FLUSH_BATCH alerts, one transaction each, so a
 * long purge never holds the write lock for long. Machines and bouncers not
 * seen for a while are auto-deleted as CrowdSec's FlushAgentsAndBouncers.
 */
#include "store/internal.h"

#define FLUSH_BATCH 500

static int
max_row(const struct sql_row *r, void *ctx)
{
    *(int64_t *)ctx = r->be->col_int(r, 0);
    return 0;
}

/* Deletes up to FLUSH_BATCH alerts matching cond ($1 = now, $2 = bound), repeatedly. */
static int
flush_batches(struct store *s, const char *cond, int64_t now, int64_t bound, int64_t *total,
              struct store_error *err)
{
    struct sql_val p[] = { sql_int(now), sql_int(bound), sql_int(FLUSH_BATCH) };
    struct str q = STR_INIT;
    int rc;

    if (str_appendf(&q,
                    "DELETE FROM alerts WHERE id IN (SELECT a.id FROM alerts a WHERE %s AND NOT"
                    " EXISTS (SELECT 1 FROM decisions d WHERE d.alert_id = a.id AND d.until >= $1)"
                    " ORDER BY a.id LIMIT $3)",
                    cond) < 0)
        return -ENOMEM;
    for (;;) {
        int64_t changes = 0;

        store_lock(s);
        rc = store_exec(s, q.buf, p, ARRAY_SIZE(p), NULL, NULL, &changes, err);
        store_unlock(s);
        if (rc < 0)
            break;
        *total += changes;
        if (changes < FLUSH_BATCH)
            break;
    }
    str_free(&q);
    return rc;
}

static int
count_row(const struct sql_row *r, void *ctx)
{
    *(int64_t *)ctx = r->be->col_int(r, 0);
    return 0;
}

int
store_flush_run(struct store *s, const struct store_flush_config *c, int64_t now,
                struct store_flush_report *ret, struct store_error *err)
{
    struct sql_val pnow = sql_int(now);
    struct store_flush_report rep = { 0 };
    int64_t max_id = 0;
    int rc;

    store_lock(s);
    rc = store_exec(s, "DELETE FROM events WHERE alert_id IS NULL", NULL, 0, NULL, NULL,
                    &rep.orphan_events, err);
    if (rc == 0)
        rc = store_exec(s, "DELETE FROM decisions WHERE alert_id IS NULL AND until <= $1", &pnow, 1,
                        NULL, NULL, &rep.orphan_decisions, err);
    if (rc == 0)
        rc = store_exec(s, "SELECT COUNT(*) FROM alerts", NULL, 0, count_row, &rep.total_alerts,
                        NULL, err);
    if (rc == 0 && c->max_items > 0)
        rc = store_exec(s, "SELECT COALESCE(MAX(id), 0) FROM alerts", NULL, 0, max_row, &max_id,
                        NULL, err);
    store_unlock(s);
    if (rc < 0)
        return rc;
    if (c->max_age > 0) {
        rc = flush_batches(s, "a.created_at <= $2", now, now - c->max_age, &rep.by_age, err);
        if (rc < 0)
            return rc;
    }
    if (c->max_items > 0 && max_id - c->max_items > 0) {
        rc = flush_batches(s, "a.id < $2", now, max_id - c->max_items, &rep.by_count, err);
        if (rc < 0)
            return rc;
    }
    *ret = rep;
    return 0;
}

int
store_flush(struct store *s, const struct store_flush_config *c, int64_t now, int64_t *ret_deleted,
            struct store_error *err)
{
    struct store_flush_report rep;
    int rc = store_flush_run(s, c, now, &rep, err);

    if (rc == 0)
        *ret_deleted = rep.by_age + rep.by_count;
    return rc;
}

/* One auto-delete statement ($1 = cutoff, $2 = auth_type) when limit is set. */
static int
autodelete_one(struct store *s, const char *sql, int64_t limit, const char *auth_type, int64_t now,
               int64_t *ret_count, struct store_error *err)
{
    struct sql_val p[] = { sql_int(now - limit), sql_text(auth_type) };
    int rc;

    *ret_count = 0;
    if (limit <= 0)
        return 0;
    store_lock(s);
    rc = store_exec(s, sql, p, ARRAY_SIZE(p), NULL, NULL, ret_count, err);
    store_unlock(s);
    return rc;
}

int
store_autodelete_run(struct store *s, const struct store_autodelete *limits, int64_t now,
                     struct store_autodelete *ret, struct store_error *err)
{
    /* last_heartbeat 0 is "never" (ent's NULL), which no cutoff matches in CrowdSec. */
    static const char machines_sql[] =
        "DELETE FROM machines WHERE last_heartbeat > 0 AND last_heartbeat <= $1"
        " AND auth_type = $2 AND ip_address NOT IN ('127.0.0.1', '::1')"
        " AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.machine_id = machines.machine_id)";
    static const char bouncers_sql[] =
        "DELETE FROM bouncers WHERE last_pull IS NOT NULL AND last_pull <= $1 AND auth_type = $2";
    struct store_autodelete rep = { 0 };
    int rc;

    rc = autodelete_one(s, machines_sql, limits->agents_cert, "tls", now, &rep.agents_cert, err);
    if (rc == 0)
        rc = autodelete_one(s, machines_sql, limits->agents_password, "password", now,
                            &rep.agents_password, err);
    if (rc == 0)
        rc = autodelete_one(s, bouncers_sql, limits->bouncers_cert, "tls", now, &rep.bouncers_cert,
                            err);
    if (rc == 0)
        rc = autodelete_one(s, bouncers_sql, limits->bouncers_api_key, "api-key", now,
                            &rep.bouncers_api_key, err);
    if (rc < 0)
        return rc;
    *ret = rep;
    return 0;
}
