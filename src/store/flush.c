/*
 * flush.c - retention (CrowdSec's FlushOrphans and FlushAlerts).
 *
 * Events and expired decisions left without an alert go first; then alerts
 * older than max_age and alerts beyond the newest max_items, in both cases
 * only those without an active decision (a ban outlives its retention).
 * Deletions run in batches of FLUSH_BATCH alerts, one transaction each, so a
 * long purge never holds the write lock for long.
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

int
store_flush(struct store *s, const struct store_flush_config *c, int64_t now, int64_t *ret_deleted,
            struct store_error *err)
{
    struct sql_val pnow = sql_int(now);
    int64_t total = 0, max_id = 0;
    int rc;

    store_lock(s);
    rc = store_exec(s, "DELETE FROM events WHERE alert_id IS NULL", NULL, 0, NULL, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(s, "DELETE FROM decisions WHERE alert_id IS NULL AND until <= $1", &pnow, 1,
                        NULL, NULL, NULL, err);
    if (rc == 0 && c->max_items > 0)
        rc = store_exec(s, "SELECT COALESCE(MAX(id), 0) FROM alerts", NULL, 0, max_row, &max_id,
                        NULL, err);
    store_unlock(s);
    if (rc < 0)
        return rc;
    if (c->max_age > 0) {
        rc = flush_batches(s, "a.created_at <= $2", now, now - c->max_age, &total, err);
        if (rc < 0)
            return rc;
    }
    if (c->max_items > 0 && max_id - c->max_items > 0) {
        rc = flush_batches(s, "a.id < $2", now, max_id - c->max_items, &total, err);
        if (rc < 0)
            return rc;
    }
    *ret_deleted = total;
    return 0;
}
