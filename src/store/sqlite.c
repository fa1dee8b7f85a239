/*
 * sqlite.c - the SQLite backend: the embedded default.
 *
 * WAL journal (readers never block the writer), a busy timeout so a lock
 * held by another process (phalanx CLI, a second daemon) is waited for,
 * never reported, and foreign keys on (alert deletion cascades). Writes go
 * through "BEGIN IMMEDIATE" so a transaction takes the write lock up front
 * instead of failing half-way on a lock upgrade. Statements are prepared
 * once and kept in a small cache keyed by their text; values are bound by
 * placeholder name ($1..$N, resolved to bind indexes once per statement),
 * never formatted into SQL.
 */
#include "store/internal.h"

#include <sqlite3.h>

#define STMT_CACHE   64
#define BUSY_TIMEOUT 10000 /* ms */

struct stmt_slot {
    char *sql;
    uint64_t hash; /* of sql, checked before the full comparison */
    sqlite3_stmt *st;
    /* pidx[n] is the bind index of placeholder $n+1, 0 when the text does not use it. */
    int pidx[SQLB_MAX_PARAMS];
};

struct sqlite_conn {
    sqlite3 *db;
    struct stmt_slot cache[STMT_CACHE];
    size_t next; /* round-robin eviction */
};

static int
sqlite_fail(struct sqlite_conn *c, int rc, struct store_error *err)
{
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        int ext = sqlite3_extended_errcode(c->db);
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return store_seterr(err, -EEXIST, "%s", sqlite3_errmsg(c->db));
    }
    return store_seterr(err, -EIO, "sqlite: %s", sqlite3_errmsg(c->db));
}

static int
sqlite_open(const char *dsn, void **ret_conn, struct store_error *err)
{
    static const char *const pragmas[] = {
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
    };
    struct sqlite_conn *c = calloc(1, sizeof(*c));
    int rc;

    if (!c)
        return -ENOMEM;
    rc = sqlite3_open_v2(dsn, &c->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = store_seterr(err, -EIO, "sqlite: %s: %s", dsn,
                          c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT);
    for (size_t i = 0; i < ARRAY_SIZE(pragmas); i++) {
        char *msg = NULL;
        if (sqlite3_exec(c->db, pragmas[i], NULL, NULL, &msg) != SQLITE_OK) {
            rc = store_seterr(err, -EIO, "sqlite: %s: %s", pragmas[i], msg ? msg : "?");
            sqlite3_free(msg);
            goto fail;
        }
    }
    *ret_conn = c;
    return 0;
fail:
    sqlite3_close(c->db);
    free(c);
    return rc;
}

static void
sqlite_close(void *conn)
{
    struct sqlite_conn *c = conn;

    if (!c)
        return;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
    free(c);
}

/* FNV-1a: many statements share a long prefix, so compare hashes first. */
static uint64_t
sql_hash(const char *sql)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return h;
}

static int
sqlite_prepare(struct sqlite_conn *c, const char *sql, struct stmt_slot **ret,
               struct store_error *err)
{
    uint64_t h = sql_hash(sql);
    struct stmt_slot *slot;
    sqlite3_stmt *st = NULL;
    char *copy;
    int rc, count;

    for (size_t i = 0; i < STMT_CACHE; i++) {
        if (c->cache[i].sql && c->cache[i].hash == h && strcmp(c->cache[i].sql, sql) == 0) {
            *ret = &c->cache[i];
            return 0;
        }
    }
    rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite_fail(c, rc, err);
    copy = strdup(sql);
    if (!copy) {
        sqlite3_finalize(st);
        return -ENOMEM;
    }
    slot = &c->cache[c->next];
    c->next = (c->next + 1) % STMT_CACHE;
    sqlite3_finalize(slot->st);
    free(slot->sql);
    slot->sql = copy;
    slot->hash = h;
    slot->st = st;
    memset(slot->pidx, 0, sizeof(slot->pidx));
    count = sqlite3_bind_parameter_count(st);
    for (int idx = 1; idx <= count; idx++) {
        const char *name = sqlite3_bind_parameter_name(st, idx);
        char *end;
        long n;

        if (!name || name[0] != '$')
            continue;
        n = strtol(name + 1, &end, 10);
        if (*end == '\0' && n >= 1 && n <= SQLB_MAX_PARAMS)
            slot->pidx[n - 1] = idx;
    }
    *ret = slot;
    return 0;
}

static int
sqlite_bind(const struct stmt_slot *slot, const struct sql_val *params, size_t nparams)
{
    sqlite3_stmt *st = slot->st;

    for (size_t i = 0; i < nparams && i < SQLB_MAX_PARAMS; i++) {
        int idx = slot->pidx[i], rc = SQLITE_OK;

        if (idx == 0)
            continue;
        switch (params[i].type) {
        case SQL_NULL: rc = sqlite3_bind_null(st, idx); break;
        case SQL_INT: rc = sqlite3_bind_int64(st, idx, params[i].i); break;
        case SQL_REAL: rc = sqlite3_bind_double(st, idx, params[i].d); break;
        case SQL_TEXT: rc = sqlite3_bind_text(st, idx, params[i].s, -1, SQLITE_STATIC); break;
        }
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static int
sqlite_exec(void *conn, const char *sql, const struct sql_val *params, size_t nparams,
            sql_row_fn on_row, void *ctx, int64_t *ret_changes, struct store_error *err)
{
    struct sqlite_conn *c = conn;
    struct sql_row row = { .be = &store_sqlite_backend };
    struct stmt_slot *slot = NULL;
    sqlite3_stmt *st;
    int rc;

    if (nparams > SQLB_MAX_PARAMS)
        return store_seterr(err, -E2BIG, "too many parameters");
    rc = sqlite_prepare(c, sql, &slot, err);
    if (rc < 0)
        return rc;
    st = slot->st;
    rc = sqlite_bind(slot, params, nparams);
    if (rc != SQLITE_OK) {
        rc = sqlite_fail(c, rc, err);
        goto out;
    }
    row.impl = st;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = sqlite_fail(c, rc, err);
            break;
        }
        if (on_row) {
            rc = on_row(&row, ctx);
            if (rc != 0)
                break;
        }
    }
    if (rc == 0 && ret_changes)
        *ret_changes = sqlite3_changes64(c->db);
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int
sqlite_begin(void *conn, struct store_error *err)
{
    return sqlite_exec(conn, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL, NULL, err);
}

static bool
sqlite_col_null(const struct sql_row *r, int col)
{
    return sqlite3_column_type(r->impl, col) == SQLITE_NULL;
}

static int64_t
sqlite_col_int(const struct sql_row *r, int col)
{
    return sqlite3_column_int64(r->impl, col);
}

static double
sqlite_col_real(const struct sql_row *r, int col)
{
    return sqlite3_column_double(r->impl, col);
}

static const char *
sqlite_col_text(const struct sql_row *r, int col)
{
    const unsigned char *t = sqlite3_column_text(r->impl, col);
    return t ? (const char *)t : "";
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .id_column = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .begin = sqlite_begin,
    .col_null = sqlite_col_null,
    .col_int = sqlite_col_int,
    .col_real = sqlite_col_real,
    .col_text = sqlite_col_text,
};
