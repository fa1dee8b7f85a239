/*
 * alerts.c - alerts with their decisions, events and meta: insertion in one
 * transaction (CrowdSec's createAlertBatch), reads (GetAlertByID,
 * QueryAlertWithFilter), deletions, and FormatOneAlert.
 *
 * The alert filters reproduce alertPredicatesFromFilter, including one of
 * its quirks: each condition of the ip/range filter is its own "has a
 * decision with ..." test, so the conditions may hold on different
 * decisions of the same alert.
 */
#include "store/internal.h"

#include "common/gotime.h"

#include <math.h>
#include <strings.h>

#define SERIALIZED_MAX  8191
#define META_KEY_MAX    255
#define META_VALUE_MAX  4095
#define ALERT_LIMIT_DEF 100

static const char alert_columns[] =
    "a.id, a.created_at, a.updated_at, a.started_at, a.stopped_at, a.machine_id, a.scenario, "
    "a.bucket_id, a.message, a.scenario_version, a.scenario_hash, a.uuid, a.kind, a.leak_speed, "
    "a.events_count, a.capacity, a.source_ip, a.source_range, a.source_as_number, "
    "a.source_as_name, a.source_country, a.source_scope, a.source_value, a.source_latitude, "
    "a.source_longitude, a.simulated, a.remediation";

static int64_t
parse_time_or(const char *s, int64_t dflt)
{
    struct gotime t;

    if (s && gotime_parse_rfc3339(s, strlen(s), &t) == 0)
        return t.unix_ns;
    return dflt;
}

static const char *
nz(const char *s)
{
    return s ? s : "";
}

/* json.Marshal(models.Meta): [{"key":..,"value":..}] with omitempty, "null" for nil. */
static char *
serialize_meta(const struct meta_list *m, size_t strip)
{
    json_t *arr;
    char *out;

    if (!m->items)
        return strdup("null");
    arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < m->len; i++) {
        const char *k = m->items[i].key, *v = m->items[i].value;
        json_t *o = json_object();
        char *cut = NULL;

        if (!o)
            goto fail;
        json_array_append_new(arr, o);
        if (v && strip > 0 && strlen(v) > strip * 2) {
            if (asprintf(&cut, "%.*s<stripped>", (int)strip, v) < 0)
                goto fail;
            v = cut;
        }
        if ((k && *k && json_object_set_new(o, "key", json_string(k)) < 0) ||
            (v && *v && json_object_set_new(o, "value", json_string(v)) < 0)) {
            free(cut);
            goto fail;
        }
        free(cut);
    }
    out = model_json_dumps(arr);
    json_decref(arr);
    return out;
fail:
    json_decref(arr);
    return NULL;
}

/* buildEventCreates: stripped progressively (2048, 1024, ...) to fit, else dropped (""). */
static char *
event_serialized(const struct meta_list *m)
{
    char *s = serialize_meta(m, 0);

    for (size_t strip = 2048; s && strlen(s) > SERIALIZED_MAX; strip /= 2) {
        free(s);
        if (strip == 0)
            return strdup("");
        s = serialize_meta(m, strip);
    }
    return s;
}

static int
id_row(const struct sql_row *r, void *ctx)
{
    *(int64_t *)ctx = r->be->col_int(r, 0);
    return 0;
}

struct prepared_decision {
    int64_t until;
    struct store_range rng;
    bool keep;
};

static int
insert_one(struct store *s, const struct alert *a, const char *machine_id, int64_t now,
           int64_t *ret_id, struct store_error *err)
{
    const struct source *src = a->source;
    struct prepared_decision *pd = NULL;
    int64_t start = parse_time_or(a->start_at, now), stop = parse_time_or(a->stop_at, now);
    int64_t id = 0;
    size_t kept = 0;
    int rc = 0;

    pd = calloc(a->ndecisions + 1, sizeof(*pd));
    if (!pd)
        return -ENOMEM;
    for (size_t i = 0; i < a->ndecisions; i++) {
        const struct decision *d = &a->decisions[i];
        int64_t dur;

        if (!d->duration || gotime_parse_duration_days(d->duration, strlen(d->duration), &dur)) {
            rc = store_seterr(err, -EINVAL, "decision duration '%s': unable to parse duration",
                              nz(d->duration));
            goto out;
        }
        pd[i].until = stop + dur;
        pd[i].keep = true;
        if (d->scope && (strcasecmp(d->scope, "ip") == 0 || strcasecmp(d->scope, "range") == 0) &&
            (!d->value || store_range_parse(d->value, &pd[i].rng) < 0))
            pd[i].keep = false;
        kept += pd[i].keep;
    }
    /* CrowdSec drops an alert whose decisions were all invalid. */
    if (a->ndecisions > 0 && kept == 0) {
        *ret_id = 0;
        goto out;
    }
    {
        struct sql_val v[] = {
            sql_int(now),
            sql_text(nz(a->scenario)),
            sql_text(""),
            sql_text(nz(a->message)),
            sql_int(a->events_count),
            sql_int(start),
            sql_int(stop),
            sql_text(src ? nz(src->ip) : ""),
            sql_text(src ? nz(src->range) : ""),
            sql_text(src ? nz(src->as_number) : ""),
            sql_text(src ? nz(src->as_name) : ""),
            sql_text(src ? nz(src->cn) : ""),
            sql_real(src ? src->latitude : 0),
            sql_real(src ? src->longitude : 0),
            sql_text(src ? nz(src->scope) : ""),
            sql_text(src ? nz(src->value) : ""),
            sql_int(a->capacity),
            sql_text(nz(a->leakspeed)),
            sql_text(nz(a->scenario_version)),
            sql_text(nz(a->scenario_hash)),
            sql_int(a->simulated),
            sql_text(nz(a->uuid)),
            sql_int(a->remediation),
            sql_text(nz(a->kind)),
            sql_text(machine_id),
        };
        rc = store_exec(s,
                        "INSERT INTO alerts (created_at, updated_at, scenario, bucket_id, message,"
                        " events_count, started_at, stopped_at, source_ip, source_range,"
                        " source_as_number, source_as_name, source_country, source_latitude,"
                        " source_longitude, source_scope, source_value, capacity, leak_speed,"
                        " scenario_version, scenario_hash, simulated, uuid, remediation, kind,"
                        " machine_id) VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
                        " $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
                        " RETURNING id",
                        v, ARRAY_SIZE(v), id_row, &id, NULL, err);
        if (rc < 0)
            goto out;
    }
    for (size_t i = 0; i < a->nevents; i++) {
        const struct alert_event *e = &a->events[i];
        char *ser = event_serialized(&e->meta);
        struct sql_val v[] = { sql_int(now), sql_int(parse_time_or(e->timestamp, now)),
                               sql_text(ser), sql_int(id) };

        if (!ser) {
            rc = -ENOMEM;
            goto out;
        }
        rc = store_exec(s,
                        "INSERT INTO events (created_at, updated_at, time, serialized, alert_id)"
                        " VALUES ($1, $1, $2, $3, $4)",
                        v, ARRAY_SIZE(v), NULL, NULL, NULL, err);
        free(ser);
        if (rc < 0)
            goto out;
    }
    for (size_t i = 0; i < a->meta.len; i++) {
        const char *k = nz(a->meta.items[i].key), *val = nz(a->meta.items[i].value);
        char *kc = strndup(k, META_KEY_MAX), *vc = strndup(val, META_VALUE_MAX);
        struct sql_val v[] = { sql_int(now), sql_text(kc), sql_text(vc), sql_int(id) };

        if (kc && vc)
            rc = store_exec(s,
                            "INSERT INTO meta (created_at, updated_at, key, value, alert_id)"
                            " VALUES ($1, $1, $2, $3, $4)",
                            v, ARRAY_SIZE(v), NULL, NULL, NULL, err);
        else
            rc = -ENOMEM;
        free(kc);
        free(vc);
        if (rc < 0)
            goto out;
    }
    for (size_t i = 0; i < a->ndecisions; i++) {
        const struct decision *d = &a->decisions[i];
        const struct store_range *r = &pd[i].rng;
        struct sql_val v[] = {
            sql_int(now),           sql_int(pd[i].until),   sql_text(nz(d->scenario)),
            sql_text(nz(d->type)),  sql_int(r->start_ip),   sql_int(r->end_ip),
            sql_int(r->start_sfx),  sql_int(r->end_sfx),    sql_int(r->size),
            sql_text(nz(d->scope)), sql_text(nz(d->value)), sql_text(nz(d->origin)),
            sql_int(a->simulated),  sql_text(nz(d->uuid)),  sql_int(id),
        };

        if (!pd[i].keep)
            continue;
        rc = store_exec(s,
                        "INSERT INTO decisions (created_at, updated_at, until, scenario, type,"
                        " start_ip, end_ip, start_suffix, end_suffix, ip_size, scope, value,"
                        " origin, simulated, uuid, alert_id) VALUES ($1, $1, $2, $3, $4, $5, $6,"
                        " $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                        v, ARRAY_SIZE(v), NULL, NULL, NULL, err);
        if (rc < 0)
            goto out;
    }
    *ret_id = id;
out:
    free(pd);
    return rc;
}

int
store_alerts_insert(struct store *s, const struct alert *alerts, size_t n, const char *machine_id,
                    int64_t now, int64_t *ret_ids, struct store_error *err)
{
    int rc;

    store_lock(s);
    rc = store_begin(s, err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        rc = insert_one(s, &alerts[i], machine_id, now, &ret_ids[i], err);
        if (rc < 0) {
            store_rollback(s);
            goto out;
        }
    }
    rc = store_commit(s, err);
out:
    store_unlock(s);
    return rc;
}

/* --- reading --- */

void
store_alert_clear(struct store_alert *a)
{
    char **strs[] = {
        &a->machine_id,       &a->scenario,       &a->bucket_id,    &a->message,
        &a->scenario_version, &a->scenario_hash,  &a->uuid,         &a->kind,
        &a->leak_speed,       &a->source_ip,      &a->source_range, &a->source_as_number,
        &a->source_as_name,   &a->source_country, &a->source_scope, &a->source_value
    };

    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        free(*strs[i]);
    for (size_t i = 0; i < a->nevents; i++)
        free(a->events[i].serialized);
    free(a->events);
    meta_clear(&a->meta);
    for (size_t i = 0; i < a->ndecisions; i++)
        store_decision_clear(&a->decisions[i]);
    free(a->decisions);
    memset(a, 0, sizeof(*a));
}

void
store_alert_list_clear(struct store_alert_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        store_alert_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int
alert_read(const struct sql_row *r, struct store_alert *a)
{
    const struct store_backend *be = r->be;
    char **strs[] = { &a->scenario,      &a->bucket_id, &a->message, &a->scenario_version,
                      &a->scenario_hash, &a->uuid,      &a->kind,    &a->leak_speed };
    char **src[] = { &a->source_ip,      &a->source_range, &a->source_as_number, &a->source_as_name,
                     &a->source_country, &a->source_scope, &a->source_value };

    memset(a, 0, sizeof(*a));
    a->id = be->col_int(r, 0);
    a->created_at = be->col_int(r, 1);
    a->updated_at = be->col_int(r, 2);
    a->started_at = be->col_int(r, 3);
    a->stopped_at = be->col_int(r, 4);
    if (!be->col_null(r, 5) && !(a->machine_id = store_col_strdup(r, 5)))
        goto nomem;
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        if (!(*strs[i] = store_col_strdup(r, 6 + (int)i)))
            goto nomem;
    a->events_count = (int32_t)be->col_int(r, 14);
    a->capacity = (int32_t)be->col_int(r, 15);
    for (size_t i = 0; i < ARRAY_SIZE(src); i++)
        if (!(*src[i] = store_col_strdup(r, 16 + (int)i)))
            goto nomem;
    a->source_latitude = (float)be->col_real(r, 23);
    a->source_longitude = (float)be->col_real(r, 24);
    a->simulated = be->col_int(r, 25) != 0;
    a->remediation = be->col_int(r, 26) != 0;
    return 0;
nomem:
    store_alert_clear(a);
    return -ENOMEM;
}

static int
alert_row(const struct sql_row *r, void *ctx)
{
    struct store_alert_list *l = ctx;
    struct store_alert *v = realloc(l->v, (l->n + 1) * sizeof(*v));
    int rc;

    if (!v)
        return -ENOMEM;
    l->v = v;
    rc = alert_read(r, &l->v[l->n]);
    if (rc == 0)
        l->n++;
    return rc;
}

static int
event_row(const struct sql_row *r, void *ctx)
{
    struct store_alert *a = ctx;
    struct store_event *v = realloc(a->events, (a->nevents + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    a->events = v;
    v[a->nevents].time = r->be->col_int(r, 0);
    v[a->nevents].serialized = store_col_strdup(r, 1);
    if (!v[a->nevents].serialized)
        return -ENOMEM;
    a->nevents++;
    return 0;
}

static int
meta_row(const struct sql_row *r, void *ctx)
{
    struct store_alert *a = ctx;
    return meta_append(&a->meta, r->be->col_text(r, 0), r->be->col_text(r, 1));
}

static int
alert_decision_row(const struct sql_row *r, void *ctx)
{
    struct store_alert *a = ctx;
    struct store_decision *v = a->decisions;
    int rc;

    /* Doubling (the capacity is the next power of two): an import puts 100k decisions on one
     * alert. */
    if (a->ndecisions == 0 || (a->ndecisions & (a->ndecisions - 1)) == 0) {
        size_t cap = a->ndecisions == 0 ? 4 : a->ndecisions * 2;
        if ((v = realloc(a->decisions, cap * sizeof(*v))) == NULL)
            return -ENOMEM;
        a->decisions = v;
    }
    rc = store_decision_read(r, &v[a->ndecisions]);
    if (rc == 0)
        a->ndecisions++;
    return rc;
}

/* Loads the edges of an alert (store locked). */
static int
load_edges(struct store *s, struct store_alert *a, bool with_decisions, struct store_error *err)
{
    struct sql_val id = sql_int(a->id);
    struct str q = STR_INIT;
    int rc;

    rc = store_exec(s, "SELECT time, serialized FROM events WHERE alert_id = $1 ORDER BY id", &id,
                    1, event_row, a, NULL, err);
    if (rc == 0)
        rc = store_exec(s, "SELECT key, value FROM meta WHERE alert_id = $1 ORDER BY id", &id, 1,
                        meta_row, a, NULL, err);
    if (rc == 0 && with_decisions) {
        if (str_appendf(&q, "SELECT %s FROM decisions d WHERE d.alert_id = $1 ORDER BY d.id",
                        store_decision_columns) < 0)
            rc = -ENOMEM;
        else
            rc = store_exec(s, q.buf, &id, 1, alert_decision_row, a, NULL, err);
    }
    str_free(&q);
    return rc;
}

int
store_alert_get(struct store *s, int64_t id, struct store_alert *ret, struct store_error *err)
{
    struct store_alert_list l = { 0 };
    struct sql_val v = sql_int(id);
    struct str q = STR_INIT;
    int rc;

    if (str_appendf(&q, "SELECT %s FROM alerts a WHERE a.id = $1", alert_columns) < 0)
        return -ENOMEM;
    store_lock(s);
    rc = store_exec(s, q.buf, &v, 1, alert_row, &l, NULL, err);
    if (rc == 0 && l.n == 0)
        rc = store_seterr(err, -ENOENT, "object not found");
    if (rc == 0)
        rc = load_edges(s, &l.v[0], true, err);
    store_unlock(s);
    if (rc == 0) {
        *ret = l.v[0];
        free(l.v);
    } else {
        store_alert_list_clear(&l);
    }
    str_free(&q);
    return rc;
}

/* --- alert filters (alertPredicatesFromFilter) --- */

static void
has_decision(struct sqlb *b, const char *cond, int64_t v)
{
    sqlb_sql(b, " EXISTS (SELECT 1 FROM decisions d WHERE d.alert_id = a.id AND ");
    sqlb_sql(b, cond);
    sqlb_int(b, v);
    sqlb_sql(b, ")");
}

static void
alert_ip_filter(struct sqlb *b, const struct store_range *r, bool contains)
{
    if (r->size == 0)
        return;
    sqlb_sql(b, " AND");
    if (r->size == 4) {
        has_decision(b, contains ? "d.start_ip <= " : "d.start_ip >= ", r->start_ip);
        sqlb_sql(b, " AND");
        has_decision(b, contains ? "d.end_ip >= " : "d.end_ip <= ", r->end_ip);
        sqlb_sql(b, " AND");
        has_decision(b, "d.ip_size = ", 4);
        return;
    }
    has_decision(b, "d.ip_size = ", 16);
    sqlb_sql(b, " AND (");
    has_decision(b, contains ? "d.start_ip < " : "d.start_ip > ", r->start_ip);
    sqlb_sql(b, " OR (");
    has_decision(b, "d.start_ip = ", r->start_ip);
    sqlb_sql(b, " AND");
    has_decision(b, contains ? "d.start_suffix <= " : "d.start_suffix >= ", r->start_sfx);
    sqlb_sql(b, ")) AND (");
    has_decision(b, contains ? "d.end_ip > " : "d.end_ip < ", r->end_ip);
    sqlb_sql(b, " OR (");
    has_decision(b, "d.end_ip = ", r->end_ip);
    sqlb_sql(b, " AND");
    has_decision(b, contains ? "d.end_suffix >= " : "d.end_suffix <= ", r->end_sfx);
    sqlb_sql(b, "))");
}

static int
alert_filter(struct sqlb *b, const struct store_params *p, int64_t now, struct store_error *err)
{
    static const char *const known[] = { "contains",
                                         "scope",
                                         "value",
                                         "scenario",
                                         "ip",
                                         "range",
                                         "since",
                                         "created_before",
                                         "until",
                                         "decision_type",
                                         "origin",
                                         "include_capi",
                                         "has_active_decision",
                                         "kind",
                                         "limit",
                                         "sort",
                                         "simulated",
                                         "with_decisions" };
    struct store_range rng = { 0 };
    const char *v;
    bool contains = true;

    for (size_t i = 0; p && i < p->n; i++) {
        size_t k;
        for (k = 0; k < ARRAY_SIZE(known); k++)
            if (strcmp(p->v[i].key, known[k]) == 0)
                break;
        if (k == ARRAY_SIZE(known))
            return store_seterr(err, -EINVAL,
                                "filter parameter '%s' is unknown (=%s): invalid filter",
                                p->v[i].key, nz(p->v[i].value));
    }
    if ((v = store_param(p, "simulated")) && strcmp(v, "false") == 0)
        sqlb_sql(b, " AND a.simulated = 0");
    if ((v = store_param(p, "contains")) && store_parse_bool(v, &contains) < 0)
        return store_seterr(err, -EINVAL,
                            "invalid contains value: strconv.ParseBool: parsing \"%s\": invalid "
                            "syntax: invalid filter",
                            v);
    if ((v = store_param(p, "scope"))) {
        sqlb_sql(b, " AND a.source_scope = ");
        sqlb_text(b, strcasecmp(v, "ip") == 0 ? "Ip" : strcasecmp(v, "range") == 0 ? "Range" : v);
    }
    if ((v = store_param(p, "value"))) {
        sqlb_sql(b, " AND a.source_value = ");
        sqlb_text(b, v);
    }
    if ((v = store_param(p, "scenario"))) {
        sqlb_sql(b, " AND (a.scenario = ");
        sqlb_text(b, v);
        sqlb_sql(b, " OR EXISTS (SELECT 1 FROM decisions d WHERE d.alert_id = a.id AND"
                    " d.scenario = ");
        sqlb_text(b, v);
        sqlb_sql(b, "))");
    }
    for (int i = 0; i < 2; i++) {
        const char *key = i == 0 ? "ip" : "range";
        if ((v = store_param(p, key)) && store_range_parse(v, &rng) < 0)
            return store_seterr(err, -EINVAL, "invalid ip address / range '%s'", v);
    }
    {
        static const struct {
            const char *key, *pred;
        } times[] = { { "since", " AND a.started_at >= " },
                      { "created_before", " AND a.created_at <= " },
                      { "until", " AND a.started_at <= " } };
        for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
            int64_t d;
            if (!(v = store_param(p, times[i].key)))
                continue;
            if (gotime_parse_duration_days(v, strlen(v), &d) < 0)
                return store_seterr(err, -EINVAL,
                                    "while parsing duration: time: invalid duration \"%s\"", v);
            sqlb_sql(b, times[i].pred);
            sqlb_int(b, now - d);
        }
    }
    if ((v = store_param(p, "decision_type"))) {
        sqlb_sql(b, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_id = a.id AND"
                    " d.type = ");
        sqlb_text(b, v);
        sqlb_sql(b, ")");
    }
    if ((v = store_param(p, "origin"))) {
        sqlb_sql(b, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_id = a.id AND"
                    " d.origin = ");
        sqlb_text(b, v);
        sqlb_sql(b, ")");
    } else if ((v = store_param(p, "include_capi")) && strcmp(v, "false") == 0) {
        /* handleIncludeCapiFilter: hide CAPI and blocklist alerts. */
        sqlb_sql(b, " AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.alert_id = a.id AND"
                    " d.origin IN ('CAPI', 'lists')) AND NOT (NOT EXISTS (SELECT 1 FROM"
                    " decisions d WHERE d.alert_id = a.id) AND (a.source_scope LIKE 'lists:%'"
                    " OR a.source_scope = 'crowdsecurity/community-blocklist'))");
    }
    if ((v = store_param(p, "has_active_decision"))) {
        bool active;
        if (store_parse_bool(v, &active) < 0)
            return store_seterr(err, -EINVAL,
                                "'%s' is not a boolean: strconv.ParseBool: parsing \"%s\": "
                                "invalid syntax: unable to parse type",
                                v, v);
        if (active) {
            sqlb_sql(b, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_id = a.id AND"
                        " d.until >= ");
            sqlb_int(b, now);
            sqlb_sql(b, ")");
        } else {
            sqlb_sql(b, " AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.alert_id = a.id)");
        }
    }
    if ((v = store_param(p, "kind"))) {
        sqlb_sql(b, " AND a.kind = ");
        sqlb_text(b, v);
    }
    alert_ip_filter(b, &rng, contains);
    return 0;
}

int
store_alerts_list(struct store *s, const struct store_params *p, int64_t now,
                  struct store_alert_list *ret, struct store_error *err)
{
    struct store_alert_list l = { 0 };
    const char *v, *sort = "DESC";
    int64_t limit = ALERT_LIMIT_DEF;
    bool with_decisions;
    struct sqlb b;
    int rc;

    if ((v = store_param(p, "sort")) && (strcmp(v, "ASC") == 0 || strcmp(v, "DESC") == 0))
        sort = v;
    if ((v = store_param(p, "limit"))) {
        char *end;
        errno = 0;
        limit = strtoll(v, &end, 10);
        if (!*v || *end || errno)
            return store_seterr(err, -EINVAL, "bad limit in parameters: [%s]: unable to query", v);
    }
    v = store_param(p, "with_decisions");
    with_decisions = !(v && strcmp(v, "false") == 0);
    sqlb_init(&b);
    sqlb_sql(&b, "SELECT ");
    sqlb_sql(&b, alert_columns);
    sqlb_sql(&b, " FROM alerts a WHERE 1 = 1");
    rc = alert_filter(&b, p, now, err);
    if (rc < 0)
        goto out;
    sqlb_sql(&b, strcmp(sort, "ASC") == 0 ? " ORDER BY a.created_at ASC, a.id ASC"
                                          : " ORDER BY a.created_at DESC, a.id DESC");
    if (limit > 0) {
        sqlb_sql(&b, " LIMIT ");
        sqlb_int(&b, limit);
    }
    store_lock(s);
    rc = store_exec_b(s, &b, alert_row, &l, NULL, err);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = load_edges(s, &l.v[i], with_decisions, err);
    store_unlock(s);
    if (rc < 0) {
        store_alert_list_clear(&l);
        goto out;
    }
    *ret = l;
out:
    sqlb_free(&b);
    return rc;
}

int
store_alerts_delete(struct store *s, const struct store_params *p, int64_t now, int64_t *ret_count,
                    struct store_error *err)
{
    struct sqlb b;
    int64_t changes = 0;
    int rc;

    sqlb_init(&b);
    sqlb_sql(&b, "DELETE FROM alerts WHERE id IN (SELECT a.id FROM alerts a WHERE 1 = 1");
    rc = alert_filter(&b, p, now, err);
    sqlb_sql(&b, ")");
    if (rc == 0) {
        store_lock(s);
        rc = store_exec_b(s, &b, NULL, NULL, &changes, err);
        store_unlock(s);
    }
    if (rc == 0)
        *ret_count = changes;
    sqlb_free(&b);
    return rc;
}

int
store_alert_delete(struct store *s, int64_t id, struct store_error *err)
{
    struct sql_val v = sql_int(id);
    int64_t changes = 0;
    int rc;

    store_lock(s);
    rc = store_exec(s, "DELETE FROM alerts WHERE id = $1", &v, 1, NULL, NULL, &changes, err);
    store_unlock(s);
    if (rc == 0 && changes == 0)
        rc = store_seterr(err, -ENOENT, "object not found");
    return rc;
}

/* --- FormatOneAlert --- */

static int
set_time(char **dst, int64_t ns, bool go_string)
{
    char buf[GOTIME_RFC3339_MAX + 16];
    struct gotime t = { .unix_ns =
                            go_string ? ns : ns - (((ns % 1000000000) + 1000000000) % 1000000000) };

    if (go_string)
        gotime_format_string(t, buf, sizeof(buf));
    else
        gotime_format_rfc3339nano(t, buf, sizeof(buf));
    return model_strset(dst, buf);
}

int
store_alert_to_model(const struct store_alert *sa, int64_t now, struct alert *ret)
{
    struct alert a = { 0 };
    struct source *src;
    int rc = -ENOMEM;

    a.id = sa->id;
    a.events_count = sa->events_count;
    a.capacity = sa->capacity;
    a.simulated = sa->simulated;
    a.remediation = sa->remediation;
    if (model_strset(&a.machine_id, sa->machine_id ? sa->machine_id : "N/A") < 0 ||
        set_time(&a.created_at, sa->created_at, false) < 0 ||
        set_time(&a.start_at, sa->started_at, false) < 0 ||
        set_time(&a.stop_at, sa->stopped_at, false) < 0 ||
        model_strset(&a.scenario, sa->scenario) < 0 ||
        model_strset(&a.scenario_version, sa->scenario_version) < 0 ||
        model_strset(&a.scenario_hash, sa->scenario_hash) < 0 ||
        model_strset(&a.message, sa->message) < 0 ||
        model_strset(&a.leakspeed, sa->leak_speed) < 0 || model_strset(&a.uuid, sa->uuid) < 0 ||
        model_strset(&a.kind, sa->kind) < 0)
        goto fail;
    src = a.source = calloc(1, sizeof(*a.source));
    if (!src || model_strset(&src->scope, sa->source_scope) < 0 ||
        model_strset(&src->value, sa->source_value) < 0 ||
        model_strset(&src->ip, sa->source_ip) < 0 ||
        model_strset(&src->range, sa->source_range) < 0 ||
        model_strset(&src->as_number, sa->source_as_number) < 0 ||
        model_strset(&src->as_name, sa->source_as_name) < 0 ||
        model_strset(&src->cn, sa->source_country) < 0)
        goto fail;
    src->latitude = sa->source_latitude;
    src->longitude = sa->source_longitude;
    for (size_t i = 0; i < sa->nevents; i++) {
        struct alert_event *e = alert_add_event(&a);
        json_t *j;
        struct meta_list m = { 0 };

        if (!e || set_time(&e->timestamp, sa->events[i].time, true) < 0)
            goto fail;
        /* A serialized value that does not parse leaves the meta empty, as in CrowdSec. */
        j = json_loads(sa->events[i].serialized, JSON_DECODE_ANY, NULL);
        if (json_is_array(j)) {
            size_t k;
            json_t *it;
            json_array_foreach(j, k, it)
            {
                const char *key = json_string_value(json_object_get(it, "key"));
                const char *val = json_string_value(json_object_get(it, "value"));
                if (meta_append(&m, key ? key : "", val ? val : "") < 0) {
                    json_decref(j);
                    meta_clear(&m);
                    goto fail;
                }
            }
        }
        json_decref(j);
        e->meta = m;
    }
    for (size_t i = 0; i < sa->meta.len; i++)
        if (meta_append(&a.meta, sa->meta.items[i].key, sa->meta.items[i].value) < 0)
            goto fail;
    for (size_t i = 0; i < sa->ndecisions; i++) {
        const struct store_decision *sd = &sa->decisions[i];
        struct decision *d = alert_add_decision(&a);
        char dur[GOTIME_DURATION_STR_MAX];
        int64_t left = sd->until - now, rem;

        if (!d)
            goto fail;
        /* Duration.Round(time.Second): halves away from zero. */
        rem = left % 1000000000;
        left -= rem;
        if (rem >= 500000000)
            left += 1000000000;
        else if (rem <= -500000000)
            left -= 1000000000;
        gotime_format_duration(left, dur, sizeof(dur));
        d->id = sd->id;
        d->simulated = sa->simulated;
        d->simulated_set = true;
        if (model_strset(&d->duration, dur) < 0 || model_strset(&d->scenario, sd->scenario) < 0 ||
            model_strset(&d->type, sd->type) < 0 || model_strset(&d->scope, sd->scope) < 0 ||
            model_strset(&d->value, sd->value) < 0 || model_strset(&d->origin, sd->origin) < 0)
            goto fail;
    }
    *ret = a;
    return 0;
fail:
    alert_clear(&a);
    return rc;
}
