/*
 * allowlists.c - CrowdSec 1.6's centralized allowlists: named lists of IP
 * addresses and CIDR ranges that the LAPI consults before it turns an alert
 * into decisions, as pkg/database/allowlists.go.
 *
 * Items carry the decisions' order-preserving range encoding (spec section
 * 8: ip_size, start/end ip, start/end suffix), so "is this address or range
 * allowlisted" and "which decisions does this item cover" are range
 * comparisons in SQL with the same predicates CrowdSec writes with ent. An
 * item with expires_at 0 never expires; expired items stay in the table (an
 * `add` of the same value is then refused, as cscli does) but match nothing.
 */
#include "store/internal.h"

static const char list_columns[] = "id, created_at, updated_at, name, description, allowlist_id,"
                                   " from_console";
static const char item_columns[] = "id, created_at, updated_at, expires_at, value, comment";

void
store_strings_clear(struct store_strings *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int
strings_push(struct store_strings *l, char *owned)
{
    if (owned == NULL)
        return -ENOMEM;
    char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(owned);
        return -ENOMEM;
    }
    l->v = nv;
    l->v[l->n++] = owned;
    return 0;
}

static void
item_clear(struct store_allowlist_item *it)
{
    free(it->value);
    free(it->comment);
    memset(it, 0, sizeof(*it));
}

void
store_allowlist_clear(struct store_allowlist *a)
{
    free(a->name);
    free(a->description);
    free(a->allowlist_id);
    for (size_t i = 0; i < a->nitems; i++)
        item_clear(&a->items[i]);
    free(a->items);
    memset(a, 0, sizeof(*a));
}

void
store_allowlists_free(struct store_allowlist *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        store_allowlist_clear(&v[i]);
    free(v);
}

/* --- reading rows --- */

struct list_reader {
    struct store_allowlist *v;
    size_t n;
};

static int
list_row(const struct sql_row *r, void *ctx)
{
    struct list_reader *lr = ctx;
    const struct store_backend *be = r->be;
    struct store_allowlist *nv = realloc(lr->v, (lr->n + 1) * sizeof(*nv));

    if (nv == NULL)
        return -ENOMEM;
    lr->v = nv;
    struct store_allowlist *a = &nv[lr->n++];
    memset(a, 0, sizeof(*a));
    a->id = be->col_int(r, 0);
    a->created_at = be->col_int(r, 1);
    a->updated_at = be->col_int(r, 2);
    a->name = store_col_strdup(r, 3);
    a->description = store_col_strdup(r, 4);
    a->allowlist_id = store_col_strdup(r, 5);
    a->from_console = be->col_int(r, 6) != 0;
    if (!a->name || !a->description || !a->allowlist_id)
        return -ENOMEM;
    return 0;
}

static int
item_row(const struct sql_row *r, void *ctx)
{
    struct store_allowlist *a = ctx;
    const struct store_backend *be = r->be;
    struct store_allowlist_item *nv = realloc(a->items, (a->nitems + 1) * sizeof(*nv));

    if (nv == NULL)
        return -ENOMEM;
    a->items = nv;
    struct store_allowlist_item *it = &nv[a->nitems++];
    memset(it, 0, sizeof(*it));
    it->id = be->col_int(r, 0);
    it->created_at = be->col_int(r, 1);
    it->updated_at = be->col_int(r, 2);
    it->expires_at = be->col_int(r, 3);
    it->value = store_col_strdup(r, 4);
    it->comment = store_col_strdup(r, 5);
    if (!it->value || !it->comment)
        return -ENOMEM;
    return 0;
}

/* Loads the items of a, by id. Called locked. */
static int
load_items(struct store *s, struct store_allowlist *a, struct store_error *err)
{
    struct sql_val p = sql_int(a->id);
    char q[160];

    snprintf(q, sizeof(q), "SELECT %s FROM allowlist_items WHERE allowlist_id = $1 ORDER BY id",
             item_columns);
    int rc = store_exec(s, q, &p, 1, item_row, a, NULL, err);
    if (rc == -ENOMEM)
        return store_seterr(err, rc, "out of memory");
    return rc;
}

/* --- lists --- */

int
store_allowlist_create(struct store *s, const char *name, const char *description, int64_t now,
                       int64_t *ret_id, struct store_error *err)
{
    struct sql_val p[3] = { sql_int(now), sql_text(name),
                            sql_text(description ? description : "") };
    struct sql_val pn = sql_text(name);
    struct list_reader lr = { 0 };
    char q[160];
    int rc;

    store_lock(s);
    rc = store_exec(s,
                    "INSERT INTO allowlists (created_at, updated_at, name, description)"
                    " VALUES ($1, $1, $2, $3)",
                    p, 3, NULL, NULL, NULL, err);
    if (rc == -EEXIST) {
        rc = store_seterr(err, -EEXIST, "allowlist '%s' already exists", name);
        goto out;
    }
    if (rc < 0)
        goto out;
    if (ret_id != NULL) {
        snprintf(q, sizeof(q), "SELECT %s FROM allowlists WHERE name = $1", list_columns);
        rc = store_exec(s, q, &pn, 1, list_row, &lr, NULL, err);
        if (rc == 0 && lr.n != 1)
            rc = store_seterr(err, -EIO, "allowlist '%s' vanished after its creation", name);
        if (rc == 0)
            *ret_id = lr.v[0].id;
    }
out:
    store_unlock(s);
    store_allowlists_free(lr.v, lr.n);
    return rc;
}

int
store_allowlist_delete(struct store *s, const char *name, struct store_error *err)
{
    struct sql_val p = sql_text(name);
    int64_t n = 0;
    int rc;

    store_lock(s);
    rc = store_begin(s, err);
    if (rc < 0)
        goto out;
    rc = store_exec(s,
                    "DELETE FROM allowlist_items WHERE allowlist_id IN"
                    " (SELECT id FROM allowlists WHERE name = $1 AND from_console = 0)",
                    &p, 1, NULL, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(s, "DELETE FROM allowlists WHERE name = $1 AND from_console = 0", &p, 1,
                        NULL, NULL, &n, err);
    if (rc == 0 && n == 0)
        rc = store_seterr(err, -ENOENT, "allowlist %s not found", name);
    if (rc < 0) {
        store_rollback(s);
        goto out;
    }
    rc = store_commit(s, err);
out:
    store_unlock(s);
    return rc;
}

int
store_allowlist_get(struct store *s, const char *name, bool with_items, struct store_allowlist *ret,
                    struct store_error *err)
{
    struct sql_val p = sql_text(name);
    struct list_reader lr = { 0 };
    char q[160];
    int rc;

    snprintf(q, sizeof(q), "SELECT %s FROM allowlists WHERE name = $1", list_columns);
    store_lock(s);
    rc = store_exec(s, q, &p, 1, list_row, &lr, NULL, err);
    if (rc == -ENOMEM)
        rc = store_seterr(err, rc, "out of memory");
    if (rc == 0 && lr.n == 0)
        rc = store_seterr(err, -ENOENT, "allowlist '%s' not found", name);
    if (rc == 0 && with_items)
        rc = load_items(s, &lr.v[0], err);
    store_unlock(s);
    if (rc == 0) {
        *ret = lr.v[0];
        memset(&lr.v[0], 0, sizeof(lr.v[0]));
    }
    store_allowlists_free(lr.v, lr.n);
    return rc;
}

int
store_allowlist_list(struct store *s, bool with_items, struct store_allowlist **ret, size_t *ret_n,
                     struct store_error *err)
{
    struct list_reader lr = { 0 };
    char q[160];
    int rc;

    snprintf(q, sizeof(q), "SELECT %s FROM allowlists ORDER BY id", list_columns);
    store_lock(s);
    rc = store_exec(s, q, NULL, 0, list_row, &lr, NULL, err);
    if (rc == -ENOMEM)
        rc = store_seterr(err, rc, "out of memory");
    for (size_t i = 0; rc == 0 && with_items && i < lr.n; i++)
        rc = load_items(s, &lr.v[i], err);
    store_unlock(s);
    if (rc < 0) {
        store_allowlists_free(lr.v, lr.n);
        return rc;
    }
    *ret = lr.v;
    *ret_n = lr.n;
    return 0;
}

/* --- items --- */

int
store_allowlist_add(struct store *s, int64_t list_id, const struct store_allowlist_entry *v,
                    size_t n, int64_t now, size_t *ret_added, struct store_error *err)
{
    size_t added = 0;
    int rc;

    store_lock(s);
    rc = store_begin(s, err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct store_range rg;
        /* CrowdSec logs the unparsable value and goes on with the others. */
        if (v[i].value == NULL || store_range_parse(v[i].value, &rg) < 0)
            continue;
        struct sql_val p[10] = {
            sql_int(now),
            sql_int(v[i].expires_at > 0 ? v[i].expires_at : 0),
            sql_text(v[i].comment ? v[i].comment : ""),
            sql_text(v[i].value),
            sql_int(rg.start_ip),
            sql_int(rg.end_ip),
            sql_int(rg.start_sfx),
            sql_int(rg.end_sfx),
            sql_int(rg.size),
            sql_int(list_id),
        };
        rc = store_exec(s,
                        "INSERT INTO allowlist_items (created_at, updated_at, expires_at, comment,"
                        " value, start_ip, end_ip, start_suffix, end_suffix, ip_size, allowlist_id)"
                        " VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        p, ARRAY_SIZE(p), NULL, NULL, NULL, err);
        if (rc < 0) {
            store_rollback(s);
            goto out;
        }
        added++;
    }
    if (added > 0) {
        struct sql_val p[2] = { sql_int(now), sql_int(list_id) };
        rc = store_exec(s, "UPDATE allowlists SET updated_at = $1 WHERE id = $2", p, 2, NULL, NULL,
                        NULL, err);
        if (rc < 0) {
            store_rollback(s);
            goto out;
        }
    }
    rc = store_commit(s, err);
    if (rc == 0 && ret_added != NULL)
        *ret_added = added;
out:
    store_unlock(s);
    return rc;
}

int
store_allowlist_remove(struct store *s, int64_t list_id, const char *const *values, size_t n,
                       int64_t *ret_removed, struct store_error *err)
{
    int64_t total = 0;
    int rc;

    store_lock(s);
    rc = store_begin(s, err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct sql_val p[2] = { sql_int(list_id), sql_text(values[i]) };
        int64_t c = 0;
        rc = store_exec(s, "DELETE FROM allowlist_items WHERE allowlist_id = $1 AND value = $2", p,
                        2, NULL, NULL, &c, err);
        if (rc < 0) {
            store_rollback(s);
            goto out;
        }
        total += c;
    }
    rc = store_commit(s, err);
    if (rc == 0 && ret_removed != NULL)
        *ret_removed = total;
out:
    store_unlock(s);
    return rc;
}

/*
 * The containment predicate of IsAllowlistedBy / applyAllowlistBatch between
 * a row (prefix p: its start_ip, end_ip, start_suffix, end_suffix) and a
 * range given as four parameters: the row contains the range, or the range
 * contains the row. IPv4 rows compare the addresses only, IPv6 rows the
 * (ip, suffix) pairs, as CrowdSec does.
 */
static void
where_overlap(struct sqlb *b, const char *p, const struct store_range *rg)
{
    char c[4][48];

    snprintf(c[0], sizeof(c[0]), "%sstart_ip", p);
    snprintf(c[1], sizeof(c[1]), "%send_ip", p);
    snprintf(c[2], sizeof(c[2]), "%sstart_suffix", p);
    snprintf(c[3], sizeof(c[3]), "%send_suffix", p);
    if (rg->size == 4) {
        /* (start <= S AND end >= E) OR (start >= S AND end <= E) */
        for (int k = 0; k < 2; k++) {
            sqlb_sql(b, k == 0 ? "((" : " OR (");
            sqlb_sql(b, c[0]);
            sqlb_sql(b, k == 0 ? " <= " : " >= ");
            sqlb_int(b, rg->start_ip);
            sqlb_sql(b, " AND ");
            sqlb_sql(b, c[1]);
            sqlb_sql(b, k == 0 ? " >= " : " <= ");
            sqlb_int(b, rg->end_ip);
            sqlb_sql(b, ")");
        }
        sqlb_sql(b, ")");
        return;
    }
    for (int k = 0; k < 2; k++) {
        /* k 0: the row contains the range; k 1: the range contains the row. */
        const char *lt = k == 0 ? " < " : " > ", *le = k == 0 ? " <= " : " >= ";
        const char *gt = k == 0 ? " > " : " < ", *ge = k == 0 ? " >= " : " <= ";
        sqlb_sql(b, k == 0 ? "((" : " OR (");
        sqlb_sql(b, "(");
        sqlb_sql(b, c[0]);
        sqlb_sql(b, lt);
        sqlb_int(b, rg->start_ip);
        sqlb_sql(b, " OR (");
        sqlb_sql(b, c[0]);
        sqlb_sql(b, " = ");
        sqlb_int(b, rg->start_ip);
        sqlb_sql(b, " AND ");
        sqlb_sql(b, c[2]);
        sqlb_sql(b, le);
        sqlb_int(b, rg->start_sfx);
        sqlb_sql(b, ")) AND (");
        sqlb_sql(b, c[1]);
        sqlb_sql(b, gt);
        sqlb_int(b, rg->end_ip);
        sqlb_sql(b, " OR (");
        sqlb_sql(b, c[1]);
        sqlb_sql(b, " = ");
        sqlb_int(b, rg->end_ip);
        sqlb_sql(b, " AND ");
        sqlb_sql(b, c[3]);
        sqlb_sql(b, ge);
        sqlb_int(b, rg->end_sfx);
        sqlb_sql(b, ")))");
    }
    sqlb_sql(b, ")");
}

struct match {
    char *list; /* the allowlist's name, for the sort */
    char *reason;
};

struct match_reader {
    struct match *v;
    size_t n;
};

static int
match_row(const struct sql_row *r, void *ctx)
{
    struct match_reader *mr = ctx;
    const struct store_backend *be = r->be;
    const char *value = be->col_text(r, 0), *comment = be->col_text(r, 1);
    const char *name = be->col_text(r, 2);
    struct str reason = STR_INIT;

    struct match *nv = realloc(mr->v, (mr->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -ENOMEM;
    mr->v = nv;
    if (str_appendf(&reason, "%s from %s", value, name) < 0 ||
        (comment[0] != '\0' && str_appendf(&reason, " (%s)", comment) < 0)) {
        str_free(&reason);
        return -ENOMEM;
    }
    char *list = strdup(name);
    if (list == NULL) {
        str_free(&reason);
        return -ENOMEM;
    }
    nv[mr->n].list = list;
    nv[mr->n].reason = reason.buf;
    mr->n++;
    return 0;
}

int
store_allowlist_match(struct store *s, const char *value, int64_t now, struct store_strings *ret,
                      struct store_error *err)
{
    struct store_range rg;
    struct match_reader mr = { 0 };
    struct sqlb b;
    int rc;

    /* types.Addr2Ints' messages. */
    if (store_range_parse(value, &rg) < 0 && strchr(value, '/') != NULL)
        return store_seterr(err, -EINVAL, "invalid ip range '%s': invalid CIDR address: %s", value,
                            value);
    if (store_range_parse(value, &rg) < 0)
        return store_seterr(err, -EINVAL, "invalid ip address '%s'", value);
    sqlb_init(&b);
    sqlb_sql(&b, "SELECT i.value, i.comment, a.name FROM allowlist_items i"
                 " JOIN allowlists a ON a.id = i.allowlist_id WHERE (i.expires_at = 0 OR"
                 " i.expires_at >= ");
    sqlb_int(&b, now);
    sqlb_sql(&b, ") AND i.ip_size = ");
    sqlb_int(&b, rg.size);
    sqlb_sql(&b, " AND ");
    where_overlap(&b, "i.", &rg);
    sqlb_sql(&b, " ORDER BY i.id");
    store_lock(s);
    rc = store_exec_b(s, &b, match_row, &mr, NULL, err);
    store_unlock(s);
    sqlb_free(&b);
    if (rc == -ENOMEM)
        rc = store_seterr(err, rc, "out of memory");
    /*
     * sort.SliceStable by list name, in Go's byte order (a database
     * collation may differ): an insertion sort, the matches being few.
     */
    for (size_t i = 1; rc == 0 && i < mr.n; i++) {
        struct match m = mr.v[i];
        size_t j = i;
        while (j > 0 && strcmp(mr.v[j - 1].list, m.list) > 0) {
            mr.v[j] = mr.v[j - 1];
            j--;
        }
        mr.v[j] = m;
    }
    memset(ret, 0, sizeof(*ret));
    for (size_t i = 0; i < mr.n; i++) {
        free(mr.v[i].list);
        if (rc == 0)
            rc = strings_push(ret, mr.v[i].reason);
        else
            free(mr.v[i].reason);
    }
    free(mr.v);
    if (rc < 0)
        store_strings_clear(ret);
    return rc;
}

/* --- applying to the decisions already there --- */

struct item_range {
    struct store_range rg;
};

struct range_reader {
    struct item_range *v;
    size_t n;
};

static int
range_row(const struct sql_row *r, void *ctx)
{
    struct range_reader *rr = ctx;
    const struct store_backend *be = r->be;
    struct item_range *nv = realloc(rr->v, (rr->n + 1) * sizeof(*nv));

    if (nv == NULL)
        return -ENOMEM;
    rr->v = nv;
    nv[rr->n].rg = (struct store_range){
        .size = (int)be->col_int(r, 0),
        .start_ip = be->col_int(r, 1),
        .end_ip = be->col_int(r, 2),
        .start_sfx = be->col_int(r, 3),
        .end_sfx = be->col_int(r, 4),
    };
    rr->n++;
    return 0;
}

int
store_allowlist_apply(struct store *s, int64_t now, int64_t *ret_count, struct store_error *err)
{
    struct sql_val pn = sql_int(now);
    struct range_reader rr = { 0 };
    int64_t total = 0;
    int rc;

    store_lock(s);
    rc = store_exec(s,
                    "SELECT ip_size, start_ip, end_ip, start_suffix, end_suffix FROM"
                    " allowlist_items WHERE (expires_at = 0 OR expires_at >= $1) AND ip_size IN"
                    " (4, 16) ORDER BY id",
                    &pn, 1, range_row, &rr, NULL, err);
    if (rc == -ENOMEM)
        rc = store_seterr(err, rc, "out of memory");
    if (rc < 0 || rr.n == 0)
        goto out;
    rc = store_begin(s, err);
    if (rc < 0)
        goto out;
    /* One statement per item: each has at most a dozen parameters, whatever the list's size. */
    for (size_t i = 0; i < rr.n; i++) {
        struct sqlb b;
        int64_t c = 0;

        sqlb_init(&b);
        sqlb_sql(&b, "UPDATE decisions SET until = ");
        sqlb_int(&b, now);
        sqlb_sql(&b, ", updated_at = ");
        sqlb_int(&b, now);
        sqlb_sql(&b, " WHERE until >= ");
        sqlb_int(&b, now);
        sqlb_sql(&b, " AND ip_size = ");
        sqlb_int(&b, rr.v[i].rg.size);
        sqlb_sql(&b, " AND ");
        where_overlap(&b, "", &rr.v[i].rg);
        rc = store_exec_b(s, &b, NULL, NULL, &c, err);
        sqlb_free(&b);
        if (rc < 0) {
            store_rollback(s);
            goto out;
        }
        total += c;
    }
    rc = store_commit(s, err);
    if (rc == 0 && ret_count != NULL)
        *ret_count = total;
out:
    store_unlock(s);
    free(rr.v);
    return rc;
}
