/*
 * lease.c - singleton jobs across LAPI nodes sharing one database.
 *
 * Several phalanxd nodes may serve one PostgreSQL database; background jobs
 * such as the flush must then run on one node at a time. The lease is a
 * PostgreSQL session advisory lock: taking it never waits (a node that finds
 * it held skips its run), nothing is written to the schema, and the server
 * frees it when the holder's connection ends, so a node killed in the middle
 * of a run does not block the others. SQLite is one node per file, so the
 * lease is always granted there.
 */
#include "store/internal.h"

static bool
is_postgres(const struct store *s)
{
    return strcmp(s->be->name, "postgres") == 0;
}

static int
bool_row(const struct sql_row *r, void *ctx)
{
    *(bool *)ctx = r->be->col_int(r, 0) != 0;
    return 0;
}

int
store_try_lease(struct store *s, int64_t key, bool *ret_held, struct store_error *err)
{
    struct sql_val p = sql_int(key);
    bool held = false;
    int rc;

    if (!is_postgres(s)) {
        *ret_held = true;
        return 0;
    }
    store_lock(s);
    rc = store_exec(s, "SELECT pg_try_advisory_lock($1)", &p, 1, bool_row, &held, NULL, err);
    store_unlock(s);
    if (rc < 0)
        return rc;
    *ret_held = held;
    return 0;
}

int
store_release_lease(struct store *s, int64_t key, struct store_error *err)
{
    struct sql_val p = sql_int(key);
    bool released = false;
    int rc;

    if (!is_postgres(s))
        return 0;
    store_lock(s);
    rc = store_exec(s, "SELECT pg_advisory_unlock($1)", &p, 1, bool_row, &released, NULL, err);
    store_unlock(s);
    if (rc < 0)
        return rc;
    if (!released)
        return store_seterr(err, -ENOENT, "lease %lld was not held by this connection",
                            (long long)key);
    return 0;
}
