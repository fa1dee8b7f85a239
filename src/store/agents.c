/*
 * agents.c - machines (watchers, authenticated by password then JWT) and
 * bouncers (authenticated by a SHA-512-hashed API key). Plain CRUD; the
 * hashing and the auth rules live in the LAPI.
 */
#include "store/internal.h"

static const char machine_columns[] =
    "id, created_at, updated_at, last_push, last_heartbeat, machine_id, password, ip_address,"
    " scenarios, version, auth_type, is_validated";
static const char bouncer_columns[] =
    "id, created_at, updated_at, COALESCE(last_pull, -1), name, api_key, ip_address, type,"
    " version, auth_type, revoked, auto_created";

static const char *
nz(const char *s)
{
    return s ? s : "";
}

void
store_machine_clear(struct store_machine *m)
{
    free(m->machine_id);
    free(m->password);
    free(m->ip_address);
    free(m->scenarios);
    free(m->version);
    free(m->auth_type);
    memset(m, 0, sizeof(*m));
}

void
store_bouncer_clear(struct store_bouncer *b)
{
    free(b->name);
    free(b->api_key);
    free(b->ip_address);
    free(b->type);
    free(b->version);
    free(b->auth_type);
    memset(b, 0, sizeof(*b));
}

struct one {
    void *out;
    bool found;
};

static int
machine_row(const struct sql_row *r, void *ctx)
{
    struct one *o = ctx;
    struct store_machine *m = o->out;
    const struct store_backend *be = r->be;

    store_machine_clear(m);
    m->id = be->col_int(r, 0);
    m->created_at = be->col_int(r, 1);
    m->updated_at = be->col_int(r, 2);
    m->last_push = be->col_int(r, 3);
    m->last_heartbeat = be->col_int(r, 4);
    m->machine_id = store_col_strdup(r, 5);
    m->password = store_col_strdup(r, 6);
    m->ip_address = store_col_strdup(r, 7);
    m->scenarios = store_col_strdup(r, 8);
    m->version = store_col_strdup(r, 9);
    m->auth_type = store_col_strdup(r, 10);
    m->is_validated = be->col_int(r, 11) != 0;
    o->found = true;
    if (!m->machine_id || !m->password || !m->ip_address || !m->scenarios || !m->version ||
        !m->auth_type)
        return -ENOMEM;
    return 0;
}

static int
bouncer_read(const struct sql_row *r, struct store_bouncer *b)
{
    const struct store_backend *be = r->be;

    memset(b, 0, sizeof(*b));
    b->id = be->col_int(r, 0);
    b->created_at = be->col_int(r, 1);
    b->updated_at = be->col_int(r, 2);
    b->last_pull = be->col_int(r, 3);
    b->name = store_col_strdup(r, 4);
    b->api_key = store_col_strdup(r, 5);
    b->ip_address = store_col_strdup(r, 6);
    b->type = store_col_strdup(r, 7);
    b->version = store_col_strdup(r, 8);
    b->auth_type = store_col_strdup(r, 9);
    b->revoked = be->col_int(r, 10) != 0;
    b->auto_created = be->col_int(r, 11) != 0;
    if (!b->name || !b->api_key || !b->ip_address || !b->type || !b->version || !b->auth_type) {
        store_bouncer_clear(b);
        return -ENOMEM;
    }
    return 0;
}

static int
bouncer_row(const struct sql_row *r, void *ctx)
{
    struct one *o = ctx;

    store_bouncer_clear(o->out);
    o->found = true;
    return bouncer_read(r, o->out);
}

/* Runs a one-row query "SELECT <cols> FROM <table> WHERE <col> = $1"; -ENOENT without a row. */
static int
get_one(struct store *s, const char *cols, const char *table, const char *col, const char *v,
        sql_row_fn fn, void *out, struct store_error *err)
{
    struct sql_val p = sql_text(v);
    struct one o = { .out = out };
    struct str q = STR_INIT;
    int rc;

    if (str_appendf(&q, "SELECT %s FROM %s WHERE %s = $1", cols, table, col) < 0)
        return -ENOMEM;
    store_lock(s);
    rc = store_exec(s, q.buf, &p, 1, fn, &o, NULL, err);
    store_unlock(s);
    str_free(&q);
    if (rc == 0 && !o.found)
        rc = store_seterr(err, -ENOENT, "%s '%s' not found", table, v);
    return rc;
}

/* A write that must touch one row; -ENOENT otherwise. */
static int
write_one(struct store *s, const char *sql, const struct sql_val *p, size_t n, const char *what,
          struct store_error *err)
{
    int64_t changes = 0;
    int rc;

    store_lock(s);
    rc = store_exec(s, sql, p, n, NULL, NULL, &changes, err);
    store_unlock(s);
    if (rc == 0 && changes == 0)
        rc = store_seterr(err, -ENOENT, "'%s' not found", what);
    return rc;
}

static int
id_row(const struct sql_row *r, void *ctx)
{
    *(int64_t *)ctx = r->be->col_int(r, 0);
    return 0;
}

int
store_machine_create(struct store *s, const struct store_machine *m, int64_t now, int64_t *ret_id,
                     struct store_error *err)
{
    struct sql_val p[] = { sql_int(now),
                           sql_text(nz(m->machine_id)),
                           sql_text(nz(m->password)),
                           sql_text(nz(m->ip_address)),
                           sql_text(nz(m->scenarios)),
                           sql_text(nz(m->version)),
                           sql_int(m->is_validated),
                           sql_text(m->auth_type ? m->auth_type : "password") };
    int64_t id = 0;
    int rc;

    store_lock(s);
    rc = store_exec(s,
                    "INSERT INTO machines (created_at, updated_at, machine_id, password,"
                    " ip_address, scenarios, version, is_validated, auth_type) VALUES ($1, $1,"
                    " $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    p, ARRAY_SIZE(p), id_row, &id, NULL, err);
    store_unlock(s);
    if (rc == -EEXIST)
        return store_seterr(err, rc, "user '%s': user already exist", nz(m->machine_id));
    if (rc == 0 && ret_id)
        *ret_id = id;
    return rc;
}

int
store_machine_get(struct store *s, const char *machine_id, struct store_machine *ret,
                  struct store_error *err)
{
    struct store_machine m = { 0 };
    int rc =
        get_one(s, machine_columns, "machines", "machine_id", machine_id, machine_row, &m, err);

    if (rc < 0) {
        store_machine_clear(&m);
        return rc;
    }
    *ret = m;
    return 0;
}

int
store_machine_set_validated(struct store *s, const char *machine_id, bool validated, int64_t now,
                            struct store_error *err)
{
    struct sql_val p[] = { sql_int(validated), sql_int(now), sql_text(machine_id) };
    return write_one(s,
                     "UPDATE machines SET is_validated = $1, updated_at = $2 WHERE machine_id = $3",
                     p, ARRAY_SIZE(p), machine_id, err);
}

int
store_machine_update_login(struct store *s, const char *machine_id, const char *scenarios,
                           const char *ip_address, const char *version, int64_t now,
                           struct store_error *err)
{
    struct sql_val p[] = { sql_text(nz(scenarios)), sql_text(nz(ip_address)), sql_text(nz(version)),
                           sql_int(now), sql_text(machine_id) };
    return write_one(s,
                     "UPDATE machines SET scenarios = COALESCE(NULLIF($1, ''), scenarios),"
                     " ip_address = $2, version = $3,"
                     " updated_at = $4 WHERE machine_id = $5",
                     p, ARRAY_SIZE(p), machine_id, err);
}

int
store_machine_touch(struct store *s, const char *machine_id, bool heartbeat, bool push, int64_t now,
                    struct store_error *err)
{
    struct sql_val p[] = { sql_int(heartbeat), sql_int(push), sql_int(now), sql_text(machine_id) };
    return write_one(s,
                     "UPDATE machines SET last_heartbeat = CASE WHEN $1 = 1 THEN $3 ELSE"
                     " last_heartbeat END, last_push = CASE WHEN $2 = 1 THEN $3 ELSE last_push"
                     " END WHERE machine_id = $4",
                     p, ARRAY_SIZE(p), machine_id, err);
}

int
store_machine_delete(struct store *s, const char *machine_id, struct store_error *err)
{
    struct sql_val p = sql_text(machine_id);
    int64_t changes = 0;
    int rc;

    /* The owner link is a name, so SET NULL is done here, in the same transaction. */
    store_lock(s);
    rc = store_begin(s, err);
    if (rc < 0)
        goto out;
    rc = store_exec(s, "UPDATE alerts SET machine_id = NULL WHERE machine_id = $1", &p, 1, NULL,
                    NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(s, "DELETE FROM machines WHERE machine_id = $1", &p, 1, NULL, NULL,
                        &changes, err);
    if (rc < 0) {
        store_rollback(s);
        goto out;
    }
    rc = store_commit(s, err);
    if (rc == 0 && changes == 0)
        rc = store_seterr(err, -ENOENT, "machine '%s' not found", machine_id);
out:
    store_unlock(s);
    return rc;
}

int
store_bouncer_create(struct store *s, const struct store_bouncer *b, int64_t now, int64_t *ret_id,
                     struct store_error *err)
{
    struct sql_val p[] = { sql_int(now),
                           sql_text(nz(b->name)),
                           sql_text(nz(b->api_key)),
                           sql_text(nz(b->ip_address)),
                           sql_text(nz(b->type)),
                           sql_text(nz(b->version)),
                           sql_text(b->auth_type ? b->auth_type : "api-key"),
                           sql_int(b->auto_created),
                           sql_int(b->revoked) };
    int64_t id = 0;
    int rc;

    store_lock(s);
    rc = store_exec(s,
                    "INSERT INTO bouncers (created_at, updated_at, name, api_key, ip_address,"
                    " type, version, auth_type, auto_created, revoked) VALUES ($1, $1, $2, $3,"
                    " $4, $5, $6, $7, $8, $9) RETURNING id",
                    p, ARRAY_SIZE(p), id_row, &id, NULL, err);
    store_unlock(s);
    if (rc == -EEXIST)
        return store_seterr(err, rc, "bouncer %s already exists", nz(b->name));
    if (rc == 0 && ret_id)
        *ret_id = id;
    return rc;
}

int
store_bouncer_get_by_name(struct store *s, const char *name, struct store_bouncer *ret,
                          struct store_error *err)
{
    struct store_bouncer b = { 0 };
    int rc = get_one(s, bouncer_columns, "bouncers", "name", name, bouncer_row, &b, err);

    if (rc < 0) {
        store_bouncer_clear(&b);
        return rc;
    }
    *ret = b;
    return 0;
}

int
store_bouncer_get_by_key(struct store *s, const char *api_key_hash, struct store_bouncer *ret,
                         struct store_error *err)
{
    struct store_bouncer b = { 0 };
    int rc = get_one(s, bouncer_columns, "bouncers", "api_key", api_key_hash, bouncer_row, &b, err);

    if (rc < 0) {
        store_bouncer_clear(&b);
        return store_seterr(err, rc, rc == -ENOENT ? "bouncer not found" : "%s", err->msg);
    }
    *ret = b;
    return 0;
}

struct mlist {
    struct store_machine *v;
    size_t n;
};

static int
mlist_row(const struct sql_row *r, void *ctx)
{
    struct mlist *l = ctx;
    struct store_machine *v = realloc(l->v, (l->n + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    l->v = v;
    memset(&v[l->n], 0, sizeof(v[l->n]));
    struct one o = { &v[l->n], false };
    int rc = machine_row(r, &o);
    if (rc < 0) {
        store_machine_clear(&v[l->n]);
        return rc;
    }
    l->n++;
    return 0;
}

int
store_machine_list(struct store *s, struct store_machine **ret, size_t *ret_n,
                   struct store_error *err)
{
    struct mlist l = { 0 };
    struct str q = STR_INIT;
    int rc;

    if (str_appendf(&q, "SELECT %s FROM machines ORDER BY id", machine_columns) < 0)
        return -ENOMEM;
    store_lock(s);
    rc = store_exec(s, q.buf, NULL, 0, mlist_row, &l, NULL, err);
    store_unlock(s);
    str_free(&q);
    if (rc < 0) {
        for (size_t i = 0; i < l.n; i++)
            store_machine_clear(&l.v[i]);
        free(l.v);
        return rc;
    }
    *ret = l.v;
    *ret_n = l.n;
    return 0;
}

struct blist {
    struct store_bouncer *v;
    size_t n;
};

static int
blist_row(const struct sql_row *r, void *ctx)
{
    struct blist *l = ctx;
    struct store_bouncer *v = realloc(l->v, (l->n + 1) * sizeof(*v));
    int rc;

    if (!v)
        return -ENOMEM;
    l->v = v;
    rc = bouncer_read(r, &v[l->n]);
    if (rc == 0)
        l->n++;
    return rc;
}

int
store_bouncer_list(struct store *s, struct store_bouncer **ret, size_t *ret_n,
                   struct store_error *err)
{
    struct blist l = { 0 };
    struct str q = STR_INIT;
    int rc;

    if (str_appendf(&q, "SELECT %s FROM bouncers ORDER BY id", bouncer_columns) < 0)
        return -ENOMEM;
    store_lock(s);
    rc = store_exec(s, q.buf, NULL, 0, blist_row, &l, NULL, err);
    store_unlock(s);
    str_free(&q);
    if (rc < 0) {
        for (size_t i = 0; i < l.n; i++)
            store_bouncer_clear(&l.v[i]);
        free(l.v);
        return rc;
    }
    *ret = l.v;
    *ret_n = l.n;
    return 0;
}

int
store_bouncer_set_last_pull(struct store *s, const char *name, int64_t last_pull,
                            struct store_error *err)
{
    struct sql_val p[] = { sql_int(last_pull), sql_text(name) };
    return write_one(s, "UPDATE bouncers SET last_pull = $1 WHERE name = $2", p, ARRAY_SIZE(p),
                     name, err);
}

int
store_bouncer_update_info(struct store *s, const char *name, const char *ip_address,
                          const char *type, const char *version, int64_t now,
                          struct store_error *err)
{
    struct sql_val p[] = { sql_text(nz(ip_address)), sql_text(nz(type)), sql_text(nz(version)),
                           sql_int(now), sql_text(name) };
    return write_one(s,
                     "UPDATE bouncers SET ip_address = $1, type = $2, version = $3,"
                     " updated_at = $4 WHERE name = $5",
                     p, ARRAY_SIZE(p), name, err);
}

int
store_bouncer_delete(struct store *s, const char *name, struct store_error *err)
{
    struct sql_val p = sql_text(name);
    return write_one(s, "DELETE FROM bouncers WHERE name = $1", &p, 1, name, err);
}
