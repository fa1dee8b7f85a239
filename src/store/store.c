/*
 * store.c - the backend-independent half of the store: opening a backend by
 * name, the lock, transactions, the statement builder, versioned
 * migrations, and the small parsers every query shares (CrowdSec's range
 * encoding, Go's ParseBool).
 *
 * Migrations are a list of DDL scripts; each runs once, in a transaction,
 * and records its number in schema_version. "@ID@" in a script is the
 * backend's auto-increment key type, the only dialect difference the schema
 * has (timestamps are int8 Unix nanoseconds, booleans 0/1 integers).
 */
#include "store/internal.h"

#include "common/ip.h"

#include <strings.h>

/* --- errors, params, parsers --- */

int
store_seterr(struct store_error *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        /* libpq messages end with a newline; the caller adds its own context. */
        size_t n = strlen(err->msg);
        while (n > 0 && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
            err->msg[--n] = '\0';
    }
    return rc;
}

const char *
store_param(const struct store_params *p, const char *key)
{
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return p->v[i].value ? p->v[i].value : "";
    return NULL;
}

int
store_parse_bool(const char *s, bool *ret)
{
    static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
    static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };

    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        if (strcmp(s, t[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcmp(s, f[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

int
store_range_parse(const char *s, struct store_range *ret)
{
    struct ip_range r;
    int64_t a, b;

    /* csnet.NewRange: a CIDR when it has a slash, else a single address. */
    if (strchr(s, '/')) {
        if (ip_range_parse_cidr(s, strlen(s), &r) < 0)
            return -EINVAL;
    } else {
        if (ip_parse(s, strlen(s), &r.start) < 0)
            return -EINVAL;
        r.end = r.start;
    }
    ret->size = r.start.family == IP_V4 ? 4 : 16;
    ip_to_sortable(&r.start, &a, &b);
    ret->start_ip = a;
    ret->start_sfx = b;
    ip_to_sortable(&r.end, &a, &b);
    ret->end_ip = a;
    ret->end_sfx = b;
    return 0;
}

/* --- statement builder --- */

void
sqlb_init(struct sqlb *b)
{
    memset(b, 0, sizeof(*b));
}

void
sqlb_free(struct sqlb *b)
{
    str_free(&b->sql);
    for (size_t i = 0; i < b->nowned; i++)
        free(b->owned[i]);
    b->nowned = 0;
}

void
sqlb_sql(struct sqlb *b, const char *text)
{
    if (!b->error && str_append_cstr(&b->sql, text) < 0)
        b->error = -ENOMEM;
}

static void
sqlb_param(struct sqlb *b, struct sql_val v)
{
    if (b->error)
        return;
    if (b->n >= SQLB_MAX_PARAMS) {
        b->error = -E2BIG;
        return;
    }
    b->params[b->n++] = v;
    if (str_appendf(&b->sql, "$%zu", b->n) < 0)
        b->error = -ENOMEM;
}

void
sqlb_int(struct sqlb *b, int64_t v)
{
    sqlb_param(b, sql_int(v));
}

void
sqlb_text(struct sqlb *b, const char *v)
{
    sqlb_param(b, sql_text(v));
}

void
sqlb_text_copy(struct sqlb *b, const char *p, size_t len)
{
    char *c;

    if (b->error)
        return;
    if (b->nowned >= SQLB_MAX_PARAMS) {
        b->error = -E2BIG;
        return;
    }
    c = strndup(p, len);
    if (!c) {
        b->error = -ENOMEM;
        return;
    }
    b->owned[b->nowned++] = c;
    sqlb_text(b, c);
}

/* --- locking, exec, transactions --- */

void
store_lock(struct store *s)
{
    pthread_mutex_lock(&s->lock);
}

void
store_unlock(struct store *s)
{
    pthread_mutex_unlock(&s->lock);
}

int
store_exec(struct store *s, const char *sql, const struct sql_val *params, size_t nparams,
           sql_row_fn on_row, void *ctx, int64_t *ret_changes, struct store_error *err)
{
    return s->be->exec(s->conn, sql, params, nparams, on_row, ctx, ret_changes, err);
}

int
store_exec_b(struct store *s, struct sqlb *b, sql_row_fn on_row, void *ctx, int64_t *ret_changes,
             struct store_error *err)
{
    if (b->error)
        return store_seterr(err, b->error, "query too large");
    return store_exec(s, b->sql.buf, b->params, b->n, on_row, ctx, ret_changes, err);
}

int
store_begin(struct store *s, struct store_error *err)
{
    return s->be->begin(s->conn, err);
}

int
store_commit(struct store *s, struct store_error *err)
{
    int rc = store_exec(s, "COMMIT", NULL, 0, NULL, NULL, NULL, err);
    if (rc < 0)
        store_rollback(s);
    return rc;
}

void
store_rollback(struct store *s)
{
    store_exec(s, "ROLLBACK", NULL, 0, NULL, NULL, NULL, NULL);
}

char *
store_col_strdup(const struct sql_row *r, int col)
{
    return strdup(r->be->col_text(r, col));
}

/* --- open / close --- */

int
store_open(const char *type, const char *dsn, struct store **ret, struct store_error *err)
{
    const struct store_backend *be;
    struct store *s;
    int rc;

    if (strcmp(type, "sqlite") == 0 || strcmp(type, "sqlite3") == 0)
        be = &store_sqlite_backend;
    else if (strcmp(type, "postgres") == 0 || strcmp(type, "postgresql") == 0 ||
             strcmp(type, "pgx") == 0)
        be = &store_pg_backend;
    else
        return store_seterr(err, -EINVAL, "unknown database type '%s'", type);
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->be = be;
    rc = be->open(dsn, &s->conn, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->lock, NULL);
    *ret = s;
    return 0;
}

void
store_close(struct store *s)
{
    if (!s)
        return;
    s->be->close(s->conn);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *
store_backend_name(const struct store *s)
{
    return s->be->name;
}

/* --- migrations --- */

static const char *const migration_v1[] = {
    "CREATE TABLE machines ("
    " id @ID@, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " last_push BIGINT NOT NULL DEFAULT 0, last_heartbeat BIGINT NOT NULL DEFAULT 0,"
    " machine_id TEXT NOT NULL UNIQUE, password TEXT NOT NULL DEFAULT '',"
    " ip_address TEXT NOT NULL DEFAULT '', scenarios TEXT NOT NULL DEFAULT '',"
    " version TEXT NOT NULL DEFAULT '', is_validated INTEGER NOT NULL DEFAULT 0,"
    " auth_type TEXT NOT NULL DEFAULT 'password')",
    "CREATE TABLE bouncers ("
    " id @ID@, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " name TEXT NOT NULL UNIQUE, api_key TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
    " ip_address TEXT NOT NULL DEFAULT '', type TEXT NOT NULL DEFAULT '',"
    " version TEXT NOT NULL DEFAULT '', last_pull BIGINT,"
    " auth_type TEXT NOT NULL DEFAULT 'api-key', auto_created INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX bouncers_api_key ON bouncers (api_key)",
    "CREATE TABLE alerts ("
    " id @ID@, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " scenario TEXT NOT NULL, bucket_id TEXT NOT NULL DEFAULT '',"
    " message TEXT NOT NULL DEFAULT '', events_count INTEGER NOT NULL DEFAULT 0,"
    " started_at BIGINT NOT NULL, stopped_at BIGINT NOT NULL,"
    " source_ip TEXT NOT NULL DEFAULT '', source_range TEXT NOT NULL DEFAULT '',"
    " source_as_number TEXT NOT NULL DEFAULT '', source_as_name TEXT NOT NULL DEFAULT '',"
    " source_country TEXT NOT NULL DEFAULT '', source_latitude REAL NOT NULL DEFAULT 0,"
    " source_longitude REAL NOT NULL DEFAULT 0, source_scope TEXT NOT NULL DEFAULT '',"
    " source_value TEXT NOT NULL DEFAULT '', capacity INTEGER NOT NULL DEFAULT 0,"
    " leak_speed TEXT NOT NULL DEFAULT '', scenario_version TEXT NOT NULL DEFAULT '',"
    " scenario_hash TEXT NOT NULL DEFAULT '', simulated INTEGER NOT NULL DEFAULT 0,"
    " uuid TEXT NOT NULL DEFAULT '', remediation INTEGER NOT NULL DEFAULT 0,"
    " kind TEXT NOT NULL DEFAULT '', machine_id TEXT)",
    "CREATE INDEX alerts_created_at ON alerts (created_at, id)",
    "CREATE INDEX alerts_started_at ON alerts (started_at)",
    "CREATE INDEX alerts_source ON alerts (source_scope, source_value)",
    "CREATE INDEX alerts_scenario ON alerts (scenario)",
    "CREATE INDEX alerts_machine ON alerts (machine_id)",
    "CREATE TABLE decisions ("
    " id @ID@, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " until BIGINT NOT NULL, scenario TEXT NOT NULL, type TEXT NOT NULL,"
    " start_ip BIGINT NOT NULL DEFAULT 0, end_ip BIGINT NOT NULL DEFAULT 0,"
    " start_suffix BIGINT NOT NULL DEFAULT 0, end_suffix BIGINT NOT NULL DEFAULT 0,"
    " ip_size INTEGER NOT NULL DEFAULT 0, scope TEXT NOT NULL, value TEXT NOT NULL,"
    " origin TEXT NOT NULL, simulated INTEGER NOT NULL DEFAULT 0,"
    " uuid TEXT NOT NULL DEFAULT '',"
    " alert_id BIGINT REFERENCES alerts (id) ON DELETE CASCADE)",
    "CREATE INDEX decisions_range ON decisions (ip_size, start_ip, end_ip, start_suffix, "
    "end_suffix)",
    "CREATE INDEX decisions_value ON decisions (value, type, scope, until)",
    "CREATE INDEX decisions_until ON decisions (until)",
    "CREATE INDEX decisions_created_at ON decisions (created_at)",
    "CREATE INDEX decisions_alert ON decisions (alert_id)",
    "CREATE INDEX decisions_uuid ON decisions (uuid)",
    "CREATE TABLE events ("
    " id @ID@, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " time BIGINT NOT NULL, serialized TEXT NOT NULL,"
    " alert_id BIGINT REFERENCES alerts (id) ON DELETE CASCADE)",
    "CREATE INDEX events_alert ON events (alert_id)",
    "CREATE TABLE meta ("
    " id @ID@, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " key TEXT NOT NULL, value TEXT NOT NULL,"
    " alert_id BIGINT REFERENCES alerts (id) ON DELETE CASCADE)",
    "CREATE INDEX meta_alert ON meta (alert_id)",
    NULL,
};

/*
 * 2: the decisions that are real ranges (start <> end), indexed apart, so a
 * bouncer's "which decisions contain this address" walks the few ranges
 * instead of every decision below the address (see where_ip in decisions.c).
 */
static const char *const migration_v2[] = {
    "CREATE INDEX decisions_ranges ON decisions (ip_size, start_ip, end_ip, start_suffix,"
    " end_suffix) WHERE start_ip <> end_ip OR start_suffix <> end_suffix",
    NULL,
};

/*
 * 3: CrowdSec 1.6's allowlists (named lists of addresses and ranges, with the
 * decisions' range encoding so containment is a range query) and the usage
 * metrics that machines and bouncers push (allowlists.c, metrics.c).
 * expires_at 0 is "never"; pushed_at NULL is "not sent to the console".
 * IF NOT EXISTS: a database whose recorded version was set back (as the
 * storage tests do) migrates again without failing on these tables.
 */
static const char *const migration_v3[] = {
    "CREATE TABLE IF NOT EXISTS allowlists ("
    " id @ID@, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',"
    " allowlist_id TEXT NOT NULL DEFAULT '', from_console INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS allowlist_items ("
    " id @ID@, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL DEFAULT 0, comment TEXT NOT NULL DEFAULT '',"
    " value TEXT NOT NULL, start_ip BIGINT NOT NULL DEFAULT 0, end_ip BIGINT NOT NULL DEFAULT 0,"
    " start_suffix BIGINT NOT NULL DEFAULT 0, end_suffix BIGINT NOT NULL DEFAULT 0,"
    " ip_size INTEGER NOT NULL DEFAULT 0,"
    " allowlist_id BIGINT NOT NULL REFERENCES allowlists (id) ON DELETE CASCADE)",
    "CREATE INDEX IF NOT EXISTS allowlist_items_list ON allowlist_items (allowlist_id, value)",
    "CREATE INDEX IF NOT EXISTS allowlist_items_range ON allowlist_items"
    " (ip_size, start_ip, end_ip)",
    "CREATE TABLE IF NOT EXISTS metrics ("
    " id @ID@, generated_type TEXT NOT NULL, generated_by TEXT NOT NULL,"
    " collected_at BIGINT NOT NULL, pushed_at BIGINT, payload TEXT NOT NULL,"
    " version TEXT NOT NULL DEFAULT '', os_name TEXT NOT NULL DEFAULT '',"
    " os_family TEXT NOT NULL DEFAULT '', os_version TEXT NOT NULL DEFAULT '',"
    " feature_flags TEXT NOT NULL DEFAULT '', hub_items TEXT NOT NULL DEFAULT '',"
    " datasources TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS metrics_generated ON metrics"
    " (generated_type, generated_by, collected_at)",
    "CREATE INDEX IF NOT EXISTS metrics_collected_at ON metrics (collected_at)",
    NULL,
};

static const char *const *const migrations[STORE_SCHEMA_VERSION] = { migration_v1, migration_v2,
                                                                     migration_v3 };

static int
expand_ddl(const struct store *s, const char *ddl, struct str *out)
{
    const char *p = ddl, *q;

    str_clear(out);
    while ((q = strstr(p, "@ID@")) != NULL) {
        if (str_append(out, p, (size_t)(q - p)) < 0 || str_append_cstr(out, s->be->id_column) < 0)
            return -ENOMEM;
        p = q + 4;
    }
    return str_append_cstr(out, p);
}

static int
version_row(const struct sql_row *r, void *ctx)
{
    *(int *)ctx = (int)r->be->col_int(r, 0);
    return 0;
}

static int
schema_version_locked(struct store *s, int *ret, struct store_error *err)
{
    int v = 0, rc;

    rc = store_exec(s,
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                    " applied_at BIGINT NOT NULL)",
                    NULL, 0, NULL, NULL, NULL, err);
    if (rc < 0)
        return rc;
    rc = store_exec(s, "SELECT COALESCE(MAX(version), 0) FROM schema_version", NULL, 0, version_row,
                    &v, NULL, err);
    if (rc < 0)
        return rc;
    *ret = v;
    return 0;
}

int
store_schema_version(struct store *s, int *ret_version, struct store_error *err)
{
    int rc;

    store_lock(s);
    rc = schema_version_locked(s, ret_version, err);
    store_unlock(s);
    return rc;
}

int
store_migrate(struct store *s, struct store_error *err)
{
    struct str ddl = STR_INIT;
    int version, rc;

    store_lock(s);
    rc = schema_version_locked(s, &version, err);
    if (rc < 0)
        goto out;
    if (version > STORE_SCHEMA_VERSION) {
        rc = store_seterr(err, -EPROTO, "database schema version %d is newer than ours (%d)",
                          version, STORE_SCHEMA_VERSION);
        goto out;
    }
    for (int v = version + 1; v <= STORE_SCHEMA_VERSION; v++) {
        struct sql_val params[2] = { sql_int(v), sql_int(0) };

        rc = store_begin(s, err);
        if (rc < 0)
            goto out;
        for (const char *const *q = migrations[v - 1]; *q; q++) {
            rc = expand_ddl(s, *q, &ddl);
            if (rc == 0)
                rc = store_exec(s, ddl.buf, NULL, 0, NULL, NULL, NULL, err);
            if (rc < 0) {
                store_rollback(s);
                goto out;
            }
        }
        rc = store_exec(s, "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                        params, 2, NULL, NULL, NULL, err);
        if (rc < 0) {
            store_rollback(s);
            goto out;
        }
        rc = store_commit(s, err);
        if (rc < 0)
            goto out;
    }
out:
    store_unlock(s);
    str_free(&ddl);
    return rc;
}
