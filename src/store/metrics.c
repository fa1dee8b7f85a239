/*
 * metrics.c - the usage metrics that machines (log processors, "LP") and
 * bouncers (remediation components, "RC") push to POST /v1/usage-metrics,
 * as CrowdSec 1.6's metric table plus the base metrics (version, OS,
 * feature flags, hub items, datasources) that CrowdSec copies onto the
 * machine or bouncer row: kept here with the push, so `machines inspect` and
 * `bouncers inspect` read them from the latest one.
 *
 * The table is bounded: every insert drops the generator's rows beyond
 * STORE_METRICS_KEEP and every row older than STORE_METRICS_MAX_AGE (what
 * CrowdSec's flushMetrics job deletes), so a client pushing too often cannot
 * grow it without limit.
 */
#include "store/internal.h"

static const char metrics_columns[] =
    "id, collected_at, COALESCE(pushed_at, 0), generated_type, generated_by, payload, version,"
    " os_name, os_family, os_version, feature_flags, hub_items, datasources";

void
store_metrics_clear(struct store_metrics *m)
{
    free(m->generated_type);
    free(m->generated_by);
    free(m->payload);
    free(m->version);
    free(m->os_name);
    free(m->os_family);
    free(m->os_version);
    free(m->feature_flags);
    free(m->hub_items);
    free(m->datasources);
    memset(m, 0, sizeof(*m));
}

static const char *
nz(const char *s)
{
    return s != NULL ? s : "";
}

int
store_metrics_insert(struct store *s, const struct store_metrics *m, int64_t *ret_id,
                     struct store_error *err)
{
    struct sql_val p[12] = {
        sql_text(nz(m->generated_type)), sql_text(nz(m->generated_by)),
        sql_int(m->collected_at),        sql_int(m->pushed_at > 0 ? m->pushed_at : 0),
        sql_text(nz(m->payload)),        sql_text(nz(m->version)),
        sql_text(nz(m->os_name)),        sql_text(nz(m->os_family)),
        sql_text(nz(m->os_version)),     sql_text(nz(m->feature_flags)),
        sql_text(nz(m->hub_items)),      sql_text(nz(m->datasources)),
    };
    struct sql_val trim[3] = { p[0], p[1], sql_int(STORE_METRICS_KEEP) };
    struct sql_val age = sql_int(m->collected_at - STORE_METRICS_MAX_AGE);
    struct store_metrics latest = { 0 };
    int rc;

    store_lock(s);
    rc = store_begin(s, err);
    if (rc < 0)
        goto out;
    rc = store_exec(s,
                    "INSERT INTO metrics (generated_type, generated_by, collected_at, pushed_at,"
                    " payload, version, os_name, os_family, os_version, feature_flags, hub_items,"
                    " datasources) VALUES ($1, $2, $3, NULLIF($4, 0), $5, $6, $7, $8, $9, $10, $11,"
                    " $12)",
                    p, ARRAY_SIZE(p), NULL, NULL, NULL, err);
    /* The rows of this generator beyond the latest KEEP (none when it has fewer). */
    if (rc == 0)
        rc = store_exec(s,
                        "DELETE FROM metrics WHERE generated_type = $1 AND generated_by = $2 AND"
                        " id <= (SELECT id FROM metrics WHERE generated_type = $1 AND"
                        " generated_by = $2 ORDER BY id DESC LIMIT 1 OFFSET $3)",
                        trim, 3, NULL, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(s, "DELETE FROM metrics WHERE collected_at < $1", &age, 1, NULL, NULL, NULL,
                        err);
    if (rc < 0) {
        store_rollback(s);
        goto out;
    }
    rc = store_commit(s, err);
out:
    store_unlock(s);
    if (rc == 0 && ret_id != NULL) {
        rc = store_metrics_latest(s, nz(m->generated_type), nz(m->generated_by), &latest, err);
        if (rc == 0)
            *ret_id = latest.id;
        store_metrics_clear(&latest);
    }
    return rc;
}

struct one_metrics {
    struct store_metrics *m;
    bool found;
};

static int
metrics_row(const struct sql_row *r, void *ctx)
{
    struct one_metrics *o = ctx;
    struct store_metrics *m = o->m;
    const struct store_backend *be = r->be;

    store_metrics_clear(m);
    o->found = true;
    m->id = be->col_int(r, 0);
    m->collected_at = be->col_int(r, 1);
    m->pushed_at = be->col_int(r, 2);
    m->generated_type = store_col_strdup(r, 3);
    m->generated_by = store_col_strdup(r, 4);
    m->payload = store_col_strdup(r, 5);
    m->version = store_col_strdup(r, 6);
    m->os_name = store_col_strdup(r, 7);
    m->os_family = store_col_strdup(r, 8);
    m->os_version = store_col_strdup(r, 9);
    m->feature_flags = store_col_strdup(r, 10);
    m->hub_items = store_col_strdup(r, 11);
    m->datasources = store_col_strdup(r, 12);
    if (!m->generated_type || !m->generated_by || !m->payload || !m->version || !m->os_name ||
        !m->os_family || !m->os_version || !m->feature_flags || !m->hub_items || !m->datasources)
        return -ENOMEM;
    return 0;
}

int
store_metrics_latest(struct store *s, const char *generated_type, const char *generated_by,
                     struct store_metrics *ret, struct store_error *err)
{
    struct sql_val p[2] = { sql_text(generated_type), sql_text(generated_by) };
    struct store_metrics m = { 0 };
    struct one_metrics o = { .m = &m };
    char q[400];
    int rc;

    snprintf(q, sizeof(q),
             "SELECT %s FROM metrics WHERE generated_type = $1 AND generated_by = $2"
             " ORDER BY collected_at DESC, id DESC LIMIT 1",
             metrics_columns);
    store_lock(s);
    rc = store_exec(s, q, p, 2, metrics_row, &o, NULL, err);
    store_unlock(s);
    if (rc == -ENOMEM)
        rc = store_seterr(err, rc, "out of memory");
    if (rc == 0 && !o.found)
        rc = store_seterr(err, -ENOENT, "no metrics from %s '%s'", generated_type, generated_by);
    if (rc < 0) {
        store_metrics_clear(&m);
        return rc;
    }
    *ret = m;
    return 0;
}
