/*
 * decisions.c - decision queries: CrowdSec's applyDecisionFilter (GET
 * /v1/decisions and the stream), its dedup rule, and
 * ExpireDecisionsWithFilter (DELETE /v1/decisions).
 *
 * IP containment runs on the int64 encoding of spec section 8. For IPv4 the
 * suffixes are all f(0), so CrowdSec compares start/end only; for IPv6 the
 * (ip, suffix) pairs are compared lexicographically. "contains=true" finds
 * decisions whose range holds the query range, "false" those inside it.
 */
#include "store/internal.h"

#include <ctype.h>

#define FILTER_LIST_MAX 64 /* comma-separated items accepted in one filter value */

const char store_decision_columns[] =
    "d.id, COALESCE(d.alert_id, 0), d.created_at, d.updated_at, d.until, d.scenario, d.type, "
    "d.scope, d.value, d.origin, d.uuid, d.start_ip, d.end_ip, d.start_suffix, d.end_suffix, "
    "d.ip_size, d.simulated";

void
store_decision_clear(struct store_decision *d)
{
    free(d->scenario);
    free(d->type);
    free(d->scope);
    free(d->value);
    free(d->origin);
    free(d->uuid);
    memset(d, 0, sizeof(*d));
}

void
store_decision_list_clear(struct store_decision_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        store_decision_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int
store_decision_read(const struct sql_row *r, struct store_decision *d)
{
    const struct store_backend *be = r->be;

    memset(d, 0, sizeof(*d));
    d->id = be->col_int(r, 0);
    d->alert_id = be->col_int(r, 1);
    d->created_at = be->col_int(r, 2);
    d->updated_at = be->col_int(r, 3);
    d->until = be->col_int(r, 4);
    d->scenario = store_col_strdup(r, 5);
    d->type = store_col_strdup(r, 6);
    d->scope = store_col_strdup(r, 7);
    d->value = store_col_strdup(r, 8);
    d->origin = store_col_strdup(r, 9);
    d->uuid = store_col_strdup(r, 10);
    d->start_ip = be->col_int(r, 11);
    d->end_ip = be->col_int(r, 12);
    d->start_suffix = be->col_int(r, 13);
    d->end_suffix = be->col_int(r, 14);
    d->ip_size = (int)be->col_int(r, 15);
    d->simulated = be->col_int(r, 16) != 0;
    if (!d->scenario || !d->type || !d->scope || !d->value || !d->origin || !d->uuid) {
        store_decision_clear(d);
        return -ENOMEM;
    }
    return 0;
}

static int
decision_row(const struct sql_row *r, void *ctx)
{
    struct store_decision_list *l = ctx;
    struct store_decision *v;
    int rc;

    v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    l->v = v;
    rc = store_decision_read(r, &l->v[l->n]);
    if (rc < 0)
        return rc;
    l->n++;
    return 0;
}

/* strconv.Atoi on a 64-bit int. */
static int
parse_atoi(const char *s, int64_t *ret)
{
    char *end;
    long long v;

    if (!*s || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end || errno)
        return -EINVAL;
    *ret = v;
    return 0;
}

/*
 * Appends "<col> IN ($a, $b, ...)" for the comma-separated items of list
 * (Go's strings.Split: "" is one empty item); norm, when set, maps an item
 * to its canonical spelling.
 */
static void
where_in_list(struct sqlb *b, const char *col, const char *list,
              const char *(*norm)(const char *item))
{
    char item[256];
    const char *p = list;
    size_t count = 0;

    sqlb_sql(b, " AND ");
    sqlb_sql(b, col);
    sqlb_sql(b, " IN (");
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len >= sizeof(item) || ++count > FILTER_LIST_MAX) {
            b->error = -E2BIG;
            return;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (count > 1)
            sqlb_sql(b, ", ");
        if (norm && norm(item))
            sqlb_text(b, norm(item));
        else
            sqlb_text_copy(b, item, len);
        if (!comma)
            break;
        p = comma + 1;
    }
    sqlb_sql(b, ")");
}

static const char *
scope_norm(const char *item)
{
    if (strcasecmp(item, "ip") == 0)
        return "Ip";
    if (strcasecmp(item, "range") == 0)
        return "Range";
    if (strcasecmp(item, "country") == 0)
        return "Country";
    if (strcasecmp(item, "as") == 0)
        return "AS";
    return NULL;
}

/*
 * ContainsFold for each comma-separated word of list, ORed: lower(col) LIKE
 * '%word%' with the word lowered and its LIKE metacharacters escaped. The
 * patterns are kept in pats (freed by the caller) so they outlive the query.
 */
static int
where_contains_fold(struct sqlb *b, const char *col, const char *list, bool negate)
{
    struct str pat = STR_INIT;
    const char *p = list;

    sqlb_sql(b, negate ? " AND NOT (" : " AND (");
    for (size_t count = 0;; count++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (count >= FILTER_LIST_MAX)
            goto toobig;
        str_clear(&pat);
        if (str_append_char(&pat, '%') < 0)
            goto nomem;
        for (size_t i = 0; i < len; i++) {
            char c = (char)tolower((unsigned char)p[i]);
            if ((c == '%' || c == '_' || c == '\\') && str_append_char(&pat, '\\') < 0)
                goto nomem;
            if (str_append_char(&pat, c) < 0)
                goto nomem;
        }
        if (str_append_char(&pat, '%') < 0)
            goto nomem;
        if (count > 0)
            sqlb_sql(b, " OR ");
        sqlb_sql(b, "lower(");
        sqlb_sql(b, col);
        sqlb_sql(b, ") LIKE ");
        sqlb_text_copy(b, pat.buf, pat.len);
        sqlb_sql(b, " ESCAPE '\\'");
        if (!comma)
            break;
        p = comma + 1;
    }
    sqlb_sql(b, ")");
    str_free(&pat);
    return 0;
toobig:
    str_free(&pat);
    return -E2BIG;
nomem:
    str_free(&pat);
    return -ENOMEM;
}

/* Appends "<t>.<col> <op> $n". */
static void
term(struct sqlb *b, const char *t, const char *col, const char *op, int64_t v)
{
    sqlb_sql(b, t);
    sqlb_sql(b, ".");
    sqlb_sql(b, col);
    sqlb_sql(b, op);
    sqlb_int(b, v);
}

/* decisionIPFilter, as CrowdSec writes it, on the decisions alias t. */
static void
ip_predicate(struct sqlb *b, const char *t, const struct store_range *rng, bool contains)
{
    if (rng->size == 4) {
        sqlb_sql(b, " AND ");
        term(b, t, "start_ip", contains ? " <= " : " >= ", rng->start_ip);
        sqlb_sql(b, " AND ");
        term(b, t, "end_ip", contains ? " >= " : " <= ", rng->end_ip);
        sqlb_sql(b, " AND ");
        term(b, t, "ip_size", " = ", 4);
        return;
    }
    sqlb_sql(b, " AND ");
    term(b, t, "ip_size", " = ", 16);
    sqlb_sql(b, " AND (");
    term(b, t, "start_ip", contains ? " < " : " > ", rng->start_ip);
    sqlb_sql(b, " OR (");
    term(b, t, "start_ip", " = ", rng->start_ip);
    sqlb_sql(b, " AND ");
    term(b, t, "start_suffix", contains ? " <= " : " >= ", rng->start_sfx);
    sqlb_sql(b, ")) AND (");
    term(b, t, "end_ip", contains ? " > " : " < ", rng->end_ip);
    sqlb_sql(b, " OR (");
    term(b, t, "end_ip", " = ", rng->end_ip);
    sqlb_sql(b, " AND ");
    term(b, t, "end_suffix", contains ? " >= " : " <= ", rng->end_sfx);
    sqlb_sql(b, "))");
}

/*
 * The containment filter on the decisions alias d, written so that an index
 * answers it. Read literally, "start <= X AND end >= X" walks every decision
 * that starts below X: half the table for a random address. Two facts make
 * it cheap without changing its result:
 *  - every stored range has start <= end (store_range_parse), so the
 *    decisions inside [S, E] have start_ip between S and E, and a single
 *    address (start = end, suffixes equal) that contains [S, E] has start_ip
 *    between E and S: one index range each, empty unless S = E;
 *  - real ranges (start <> end) are few; the partial index decisions_ranges
 *    (migration 2) holds only them, so the interval scan walks only them.
 * The literal predicate is kept in every branch, and the branches split the
 * table in two disjoint halves, so the rows are exactly CrowdSec's.
 */
static void
where_ip(struct sqlb *b, const struct store_range *rng, bool contains)
{
    if (rng->size == 0)
        return;
    if (!contains) {
        ip_predicate(b, "d", rng, false);
        sqlb_sql(b, " AND ");
        term(b, "d", "start_ip", " >= ", rng->start_ip);
        sqlb_sql(b, " AND ");
        term(b, "d", "start_ip", " <= ", rng->end_ip);
        return;
    }
    sqlb_sql(b, " AND d.id IN (SELECT e.id FROM decisions e WHERE e.start_ip = e.end_ip"
                " AND e.start_suffix = e.end_suffix AND ");
    term(b, "e", "start_ip", " >= ", rng->end_ip);
    sqlb_sql(b, " AND ");
    term(b, "e", "start_ip", " <= ", rng->start_ip);
    ip_predicate(b, "e", rng, true);
    sqlb_sql(b, " UNION ALL SELECT e.id FROM decisions e WHERE (e.start_ip <> e.end_ip"
                " OR e.start_suffix <> e.end_suffix)");
    ip_predicate(b, "e", rng, true);
    sqlb_sql(b, ")");
}

static int
range_param(const struct store_params *p, struct store_range *rng, struct store_error *err)
{
    static const char *const keys[] = { "ip", "range" };

    rng->size = 0;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const char *v = store_param(p, keys[i]);
        if (v && store_range_parse(v, rng) < 0)
            return store_seterr(err, -EINVAL,
                                "unable to convert '%s' to int: invalid address: invalid ip "
                                "address / range",
                                v);
    }
    return 0;
}

static int
contains_param(const struct store_params *p, bool *contains, struct store_error *err)
{
    const char *v = store_param(p, "contains");

    *contains = true;
    if (v && store_parse_bool(v, contains) < 0)
        return store_seterr(err, -EINVAL,
                            "invalid contains value: strconv.ParseBool: parsing \"%s\": invalid "
                            "syntax: invalid filter",
                            v);
    return 0;
}

struct dfilter {
    int64_t limit, offset;
    bool has_limit;
};

/* applyDecisionFilter: appends its predicates; LIMIT/OFFSET are kept in f for the end. */
static int
apply_decision_filter(struct sqlb *b, const struct store_params *p, struct dfilter *f,
                      struct store_error *err)
{
    struct store_range rng;
    const char *v;
    bool contains;
    int rc;

    v = store_param(p, "simulated");
    if (!v || strcmp(v, "false") == 0)
        sqlb_sql(b, " AND d.simulated = 0");
    if ((rc = contains_param(p, &contains, err)) < 0)
        return rc;
    if ((v = store_param(p, "scopes")))
        where_in_list(b, "d.scope", v, scope_norm);
    if ((v = store_param(p, "scope")))
        where_in_list(b, "d.scope", v, scope_norm);
    if ((v = store_param(p, "value"))) {
        sqlb_sql(b, " AND d.value = ");
        sqlb_text(b, v);
    }
    if ((v = store_param(p, "type"))) {
        sqlb_sql(b, " AND d.type = ");
        sqlb_text(b, v);
    }
    if ((v = store_param(p, "origins")))
        where_in_list(b, "d.origin", v, NULL);
    if ((v = store_param(p, "scenarios_containing")) &&
        (rc = where_contains_fold(b, "d.scenario", v, false)) < 0)
        return store_seterr(err, rc, "scenarios_containing: too many items");
    if ((v = store_param(p, "scenarios_not_containing")) &&
        (rc = where_contains_fold(b, "d.scenario", v, true)) < 0)
        return store_seterr(err, rc, "scenarios_not_containing: too many items");
    if ((rc = range_param(p, &rng, err)) < 0)
        return rc;
    if ((v = store_param(p, "limit"))) {
        if (parse_atoi(v, &f->limit) < 0)
            return store_seterr(err, -EINVAL,
                                "invalid limit value: strconv.Atoi: parsing \"%s\": invalid "
                                "syntax: invalid filter",
                                v);
        f->has_limit = true;
    }
    if ((v = store_param(p, "offset"))) {
        if (parse_atoi(v, &f->offset) < 0)
            return store_seterr(err, -EINVAL,
                                "invalid offset value: strconv.Atoi: parsing \"%s\": invalid "
                                "syntax: invalid filter",
                                v);
    }
    if ((v = store_param(p, "id_gt"))) {
        int64_t id;
        if (parse_atoi(v, &id) < 0)
            return store_seterr(err, -EINVAL,
                                "invalid id_gt value: strconv.Atoi: parsing \"%s\": invalid "
                                "syntax: invalid filter",
                                v);
        sqlb_sql(b, " AND d.id > ");
        sqlb_int(b, id);
    }
    where_ip(b, &rng, contains);
    return 0;
}

static void
dedup(struct sqlb *b, const struct store_params *p)
{
    const char *v = store_param(p, "dedup");

    if (v && strcmp(v, "false") == 0)
        return;
    /* longestDecisionForScopeTypeValue, as an anti-join. */
    sqlb_sql(b, " AND NOT EXISTS (SELECT 1 FROM decisions t WHERE t.value = d.value"
                " AND t.type = d.type AND t.scope = d.scope AND t.until > d.until)");
}

static void
limit_offset(struct sqlb *b, const struct dfilter *f)
{
    if (!f->has_limit && f->offset <= 0)
        return;
    sqlb_sql(b, " LIMIT ");
    sqlb_int(b, f->has_limit && f->limit >= 0 ? f->limit : INT64_MAX);
    if (f->offset > 0) {
        sqlb_sql(b, " OFFSET ");
        sqlb_int(b, f->offset);
    }
}

/*
 * The SELECT of a decision query: GET /v1/decisions or one half of the stream.
 *
 * The stream's time windows are also written as "d.id IN (SELECT ... WHERE
 * <window>)": SQLite then reads the window from its index (created_at,
 * until) and visits the matching rows in id order, where the plain
 * predicate makes it walk the whole table to avoid sorting. A bouncer's
 * poll costs what changed since its last one instead of the table's size.
 * The startup's new half (every active decision) keeps the scan. The plain
 * predicates stay, so the rows are the same. The dedup anti-join comes after
 * the cheap filters so rows they drop are never looked up.
 */
static int
build_query(struct sqlb *b, enum store_dquery kind, const struct store_params *p, int64_t now,
            int64_t since, struct store_error *err)
{
    struct dfilter f = { 0 };
    int rc;

    sqlb_sql(b, "SELECT ");
    sqlb_sql(b, store_decision_columns);
    sqlb_sql(b, " FROM decisions d WHERE ");
    switch (kind) {
    case STORE_DQ_LIST:
        sqlb_sql(b, "d.until >= ");
        sqlb_int(b, now);
        break;
    case STORE_DQ_NEW:
        sqlb_sql(b, "d.until > ");
        sqlb_int(b, now);
        if (since >= 0) {
            sqlb_sql(b, " AND d.created_at > ");
            sqlb_int(b, since);
            sqlb_sql(b, " AND d.id IN (SELECT w.id FROM decisions w WHERE w.created_at > ");
            sqlb_int(b, since);
            sqlb_sql(b, ")");
        }
        break;
    case STORE_DQ_EXPIRED:
        sqlb_sql(b, "d.until < ");
        sqlb_int(b, now);
        if (since >= 0) {
            sqlb_sql(b, " AND d.until > ");
            sqlb_int(b, since);
        }
        sqlb_sql(b, " AND d.id IN (SELECT w.id FROM decisions w WHERE w.until < ");
        sqlb_int(b, now);
        if (since >= 0) {
            sqlb_sql(b, " AND w.until > ");
            sqlb_int(b, since);
        }
        sqlb_sql(b, ")");
        break;
    default: return store_seterr(err, -EINVAL, "unknown decision query %d", (int)kind);
    }
    rc = apply_decision_filter(b, p, &f, err);
    if (rc < 0)
        return rc;
    if (kind != STORE_DQ_LIST)
        dedup(b, p);
    sqlb_sql(b, " ORDER BY d.id");
    limit_offset(b, &f);
    return 0;
}

static int
decisions_query(struct store *s, enum store_dquery kind, const struct store_params *p, int64_t now,
                int64_t since, struct store_decision_list *ret, struct store_error *err)
{
    struct store_decision_list l = { 0 };
    struct sqlb b;
    int rc;

    sqlb_init(&b);
    rc = build_query(&b, kind, p, now, since, err);
    if (rc < 0)
        goto out;
    store_lock(s);
    rc = store_exec_b(s, &b, decision_row, &l, NULL, err);
    store_unlock(s);
    if (rc < 0) {
        store_decision_list_clear(&l);
        goto out;
    }
    *ret = l;
out:
    sqlb_free(&b);
    return rc;
}

int
store_decisions_list(struct store *s, const struct store_params *p, int64_t now,
                     struct store_decision_list *ret, struct store_error *err)
{
    return decisions_query(s, STORE_DQ_LIST, p, now, -1, ret, err);
}

int
store_decisions_new_since(struct store *s, const struct store_params *p, int64_t now, int64_t since,
                          struct store_decision_list *ret, struct store_error *err)
{
    return decisions_query(s, STORE_DQ_NEW, p, now, since, ret, err);
}

int
store_decisions_expired_since(struct store *s, const struct store_params *p, int64_t now,
                              int64_t since, struct store_decision_list *ret,
                              struct store_error *err)
{
    return decisions_query(s, STORE_DQ_EXPIRED, p, now, since, ret, err);
}

struct each_ctx {
    store_decision_fn fn;
    void *ctx;
};

/* A row as a borrowed decision: its strings point into the backend's row. */
static int
decision_row_each(const struct sql_row *r, void *ctx)
{
    const struct store_backend *be = r->be;
    struct each_ctx *e = ctx;
    struct store_decision d = {
        .id = be->col_int(r, 0),
        .alert_id = be->col_int(r, 1),
        .created_at = be->col_int(r, 2),
        .updated_at = be->col_int(r, 3),
        .until = be->col_int(r, 4),
        .scenario = (char *)be->col_text(r, 5),
        .type = (char *)be->col_text(r, 6),
        .scope = (char *)be->col_text(r, 7),
        .value = (char *)be->col_text(r, 8),
        .origin = (char *)be->col_text(r, 9),
        .uuid = (char *)be->col_text(r, 10),
        .start_ip = be->col_int(r, 11),
        .end_ip = be->col_int(r, 12),
        .start_suffix = be->col_int(r, 13),
        .end_suffix = be->col_int(r, 14),
        .ip_size = (int)be->col_int(r, 15),
        .simulated = be->col_int(r, 16) != 0,
    };

    return e->fn(&d, e->ctx);
}

int
store_decisions_each(struct store *s, enum store_dquery kind, const struct store_params *p,
                     int64_t now, int64_t since, store_decision_fn fn, void *ctx,
                     struct store_error *err)
{
    struct each_ctx e = { fn, ctx };
    struct sqlb b;
    int rc;

    sqlb_init(&b);
    rc = build_query(&b, kind, p, now, since, err);
    if (rc == 0) {
        store_lock(s);
        rc = store_exec_b(s, &b, decision_row_each, &e, NULL, err);
        store_unlock(s);
    }
    sqlb_free(&b);
    return rc;
}

/* ExpireDecisionsWithFilter's parameters, appended to "... WHERE d.until > now". */
static int
expire_filter(struct sqlb *b, const struct store_params *p, struct store_error *err)
{
    static const char *const known[] = { "contains", "scopes", "uuid",  "origin",  "value",
                                         "type",     "ip",     "range", "scenario" };
    static const struct {
        const char *key, *col;
    } eq[] = { { "scopes", "d.scope" },
               { "origin", "d.origin" },
               { "value", "d.value" },
               { "type", "d.type" },
               { "scenario", "d.scenario" } };
    struct store_range rng;
    bool contains, first = true;
    int rc;

    for (size_t i = 0; p && i < p->n; i++) {
        size_t k;
        for (k = 0; k < ARRAY_SIZE(known); k++)
            if (strcmp(p->v[i].key, known[k]) == 0)
                break;
        if (k == ARRAY_SIZE(known))
            return store_seterr(err, -EINVAL, "'%s' doesn't exist: invalid filter", p->v[i].key);
    }
    if ((rc = contains_param(p, &contains, err)) < 0)
        return rc;
    for (size_t i = 0; i < ARRAY_SIZE(eq); i++) {
        const char *v = store_param(p, eq[i].key);
        if (v) {
            sqlb_sql(b, " AND ");
            sqlb_sql(b, eq[i].col);
            sqlb_sql(b, " = ");
            sqlb_text(b, v);
        }
    }
    for (size_t i = 0; p && i < p->n; i++) {
        if (strcmp(p->v[i].key, "uuid") != 0)
            continue;
        sqlb_sql(b, first ? " AND d.uuid IN (" : ", ");
        sqlb_text(b, p->v[i].value ? p->v[i].value : "");
        first = false;
    }
    if (!first)
        sqlb_sql(b, ")");
    if ((rc = range_param(p, &rng, err)) < 0)
        return rc;
    where_ip(b, &rng, contains);
    return 0;
}

/* Runs prefix + where->sql with where's parameters ($1 is now). */
static int
exec_with(struct store *s, const char *prefix, const struct sqlb *where, const char *suffix,
          sql_row_fn on_row, void *ctx, int64_t *ret_changes, struct store_error *err)
{
    struct str sql = STR_INIT;
    int rc;

    if (where->error)
        return store_seterr(err, where->error, "filter too large");
    if (str_append_cstr(&sql, prefix) < 0 || str_append_cstr(&sql, where->sql.buf) < 0 ||
        str_append_cstr(&sql, suffix) < 0) {
        str_free(&sql);
        return -ENOMEM;
    }
    rc = store_exec(s, sql.buf, where->params, where->n, on_row, ctx, ret_changes, err);
    str_free(&sql);
    return rc;
}

int
store_decisions_expire(struct store *s, const struct store_params *p, int64_t now,
                       int64_t *ret_count, struct store_decision_list *ret_expired,
                       struct store_error *err)
{
    struct store_decision_list l = { 0 };
    struct str select = STR_INIT;
    struct sqlb where;
    int64_t changes = 0;
    int rc;

    /* One predicate, "active and matching", shared by the SELECT and the UPDATE. */
    sqlb_init(&where);
    sqlb_sql(&where, "d.until > ");
    sqlb_int(&where, now);
    rc = expire_filter(&where, p, err);
    if (rc < 0)
        goto out;
    if (str_appendf(&select, "SELECT %s FROM decisions d WHERE ", store_decision_columns) < 0) {
        rc = -ENOMEM;
        goto out;
    }
    /* The rows are read, then expired, in one transaction so the two agree. */
    store_lock(s);
    rc = store_begin(s, err);
    if (rc < 0)
        goto unlock;
    if (ret_expired) {
        rc = exec_with(s, select.buf, &where, " ORDER BY d.id", decision_row, &l, NULL, err);
        if (rc < 0)
            goto rollback;
    }
    rc = exec_with(s,
                   "UPDATE decisions SET until = $1, updated_at = $1 WHERE id IN"
                   " (SELECT d.id FROM decisions d WHERE ",
                   &where, ")", NULL, NULL, &changes, err);
    if (rc < 0)
        goto rollback;
    rc = store_commit(s, err);
    if (rc < 0)
        goto unlock;
    store_unlock(s);
    *ret_count = changes;
    if (ret_expired) {
        *ret_expired = l;
        l = (struct store_decision_list){ 0 };
    }
    goto out;
rollback:
    store_rollback(s);
unlock:
    store_unlock(s);
out:
    store_decision_list_clear(&l);
    str_free(&select);
    sqlb_free(&where);
    return rc;
}

int
store_decision_expire_id(struct store *s, int64_t id, int64_t now, int64_t *ret_count,
                         struct store_error *err)
{
    struct sql_val params[2] = { sql_int(now), sql_int(id) };
    int64_t changes = 0;
    int rc;

    store_lock(s);
    rc = store_exec(s, "UPDATE decisions SET until = $1, updated_at = $1 WHERE id = $2", params, 2,
                    NULL, NULL, &changes, err);
    store_unlock(s);
    if (rc < 0)
        return rc;
    if (changes == 0)
        return store_seterr(err, -ENOENT, "decision with id '%lld' doesn't exist", (long long)id);
    *ret_count = changes;
    return 0;
}
