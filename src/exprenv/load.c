/*
 * load.c - builds model structs from JSON written with CrowdSec's Go field
 * names, for `phalanx expr --env FILE --context ...` and tests.
 *
 * Keys are matched like Go's encoding/json does: the Go field name or its
 * json tag, case-insensitively. Unknown keys are rejected so a typo in a test
 * environment shows up instead of silently reading as a zero value. Each
 * struct is described by a table of fields; the decoder walks the table.
 */
#include "exprenv/classes.h"

#define LOAD_MAX_DEPTH 32

struct loadctx {
    struct event *evt; /* arena owner for strv and strmap fields, or NULL */
    char *err;
    size_t errlen;
    int depth;
};

enum field_kind {
    F_STRV,     /* struct strv in the event arena */
    F_CSTR,     /* malloc'd char * */
    F_BOOL,     /* bool */
    F_INT,      /* int */
    F_INT32,    /* int32_t */
    F_INT64,    /* int64_t */
    F_FLOAT32,  /* float */
    F_TIME,     /* struct gotime from RFC3339 */
    F_DURATION, /* int64_t ns from a Go duration string or a number of ns */
    F_STRMAP,   /* struct strmap in the event arena */
    F_SUB,      /* custom decoder */
};

struct field_desc {
    const char *go;  /* Go field name */
    const char *tag; /* json tag, or NULL */
    enum field_kind kind;
    size_t off;
    int (*sub)(const json_t *v, void *field, struct loadctx *lc, const char *path);
};

static int PRINTF_LIKE(2, 3) load_error(struct loadctx *lc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(lc->err, lc->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const struct field_desc *
find_field(const struct field_desc *d, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(d[i].go, key) == 0 || (d[i].tag != NULL && strcasecmp(d[i].tag, key) == 0))
            return &d[i];
    }
    return NULL;
}

static int
load_strmap(const json_t *v, struct strmap *m, struct loadctx *lc, const char *path)
{
    const char *k;
    json_t *item;

    if (json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return load_error(lc, "%s: expected an object of strings", path);
    if (lc->evt == NULL)
        return load_error(lc, "%s: a string map needs an event", path);
    json_object_foreach((json_t *)v, k, item)
    {
        if (!json_is_string(item))
            return load_error(lc, "%s.%s: expected a string, got %s", path, k,
                              json_is_number(item) ? "a number" : "another type");
        if (strmap_set(m, &lc->evt->arena, k, strlen(k), json_string_value(item),
                       json_string_length(item)) < 0)
            return load_error(lc, "%s: out of memory", path);
    }
    return 0;
}

static int
decode_value(const struct field_desc *f, const json_t *v, void *base, struct loadctx *lc,
             const char *sub)
{
    void *field = (char *)base + f->off;

    switch (f->kind) {
    case F_STRV:
    case F_CSTR:
        if (json_is_null(v))
            return 0;
        if (!json_is_string(v))
            return load_error(lc, "%s: expected a string", sub);
        if (f->kind == F_CSTR) {
            if (model_strset(field, json_string_value(v)) < 0)
                return load_error(lc, "%s: out of memory", sub);
        } else if (lc->evt == NULL ||
                   event_set_str(lc->evt, field, json_string_value(v), json_string_length(v)) < 0) {
            return load_error(lc, "%s: out of memory", sub);
        }
        return 0;
    case F_BOOL:
        if (!json_is_boolean(v))
            return load_error(lc, "%s: expected true or false", sub);
        *(bool *)field = json_is_true(v);
        return 0;
    case F_INT:
    case F_INT32:
    case F_INT64:
        if (!json_is_integer(v))
            return load_error(lc, "%s: expected an integer", sub);
        if (f->kind == F_INT)
            *(int *)field = (int)json_integer_value(v);
        else if (f->kind == F_INT32)
            *(int32_t *)field = (int32_t)json_integer_value(v);
        else
            *(int64_t *)field = json_integer_value(v);
        return 0;
    case F_FLOAT32:
        if (!json_is_number(v))
            return load_error(lc, "%s: expected a number", sub);
        *(float *)field = (float)json_number_value(v);
        return 0;
    case F_TIME:
        if (!json_is_string(v) ||
            gotime_parse_rfc3339(json_string_value(v), json_string_length(v), field) < 0)
            return load_error(lc, "%s: expected an RFC3339 time such as \"2024-01-02T15:04:05Z\"",
                              sub);
        return 0;
    case F_DURATION:
        if (json_is_integer(v)) {
            *(int64_t *)field = json_integer_value(v);
            return 0;
        }
        if (!json_is_string(v) ||
            gotime_parse_duration(json_string_value(v), json_string_length(v), field) < 0)
            return load_error(lc, "%s: expected a Go duration such as \"1m30s\"", sub);
        return 0;
    case F_STRMAP: return load_strmap(v, field, lc, sub);
    case F_SUB: return f->sub(v, field, lc, sub);
    }
    return load_error(lc, "%s: unsupported field", sub);
}

static int
decode_fields(const json_t *obj, void *base, const struct field_desc *d, size_t n,
              struct loadctx *lc, const char *path)
{
    const char *key;
    json_t *v;
    char sub[256];

    if (!json_is_object(obj))
        return load_error(lc, "%s: expected an object", path);
    if (++lc->depth > LOAD_MAX_DEPTH)
        return load_error(lc, "%s: nested too deeply", path);
    json_object_foreach((json_t *)obj, key, v)
    {
        const struct field_desc *f = find_field(d, n, key);

        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        if (f == NULL)
            return load_error(lc, "%s: unknown field", sub);
        if (decode_value(f, v, base, lc, sub) < 0)
            return -1;
    }
    lc->depth--;
    return 0;
}

#define FIELD(go, tag, kind, type, member)                                                         \
    {                                                                                              \
        go, tag, kind, offsetof(type, member), NULL                                                \
    }
#define SUBFIELD(go, tag, type, member, fn)                                                        \
    {                                                                                              \
        go, tag, F_SUB, offsetof(type, member), fn                                                 \
    }

/* --- models.Meta, Event, Source, Decision, Alert --- */

static int
load_meta_list(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    struct meta_list *m = field;
    size_t i;
    json_t *item;

    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return load_error(lc, "%s: expected an array of {\"key\": .., \"value\": ..}", path);
    json_array_foreach((json_t *)v, i, item)
    {
        json_t *k = json_object_get(item, "key");
        json_t *val = json_object_get(item, "value");
        if (k == NULL)
            k = json_object_get(item, "Key");
        if (val == NULL)
            val = json_object_get(item, "Value");
        if (!json_is_string(k) || (val != NULL && !json_is_string(val)))
            return load_error(lc, "%s[%zu]: expected {\"key\": string, \"value\": string}", path,
                              i);
        if (meta_append(m, json_string_value(k), val != NULL ? json_string_value(val) : "") < 0)
            return load_error(lc, "%s: out of memory", path);
    }
    return 0;
}

static const struct field_desc alert_event_fields[] = {
    SUBFIELD("Meta", "meta", struct alert_event, meta, load_meta_list),
    FIELD("Timestamp", "timestamp", F_CSTR, struct alert_event, timestamp),
};

static const struct field_desc source_fields[] = {
    FIELD("AsName", "as_name", F_CSTR, struct source, as_name),
    FIELD("AsNumber", "as_number", F_CSTR, struct source, as_number),
    FIELD("Cn", "cn", F_CSTR, struct source, cn),
    FIELD("IP", "ip", F_CSTR, struct source, ip),
    FIELD("Latitude", "latitude", F_FLOAT32, struct source, latitude),
    FIELD("Longitude", "longitude", F_FLOAT32, struct source, longitude),
    FIELD("Range", "range", F_CSTR, struct source, range),
    FIELD("Scope", "scope", F_CSTR, struct source, scope),
    FIELD("Value", "value", F_CSTR, struct source, value),
};

static const struct field_desc decision_fields[] = {
    FIELD("Duration", "duration", F_CSTR, struct decision, duration),
    FIELD("ID", "id", F_INT64, struct decision, id),
    FIELD("Origin", "origin", F_CSTR, struct decision, origin),
    FIELD("Scenario", "scenario", F_CSTR, struct decision, scenario),
    FIELD("Scope", "scope", F_CSTR, struct decision, scope),
    FIELD("Simulated", "simulated", F_BOOL, struct decision, simulated),
    FIELD("Type", "type", F_CSTR, struct decision, type),
    FIELD("Until", "until", F_CSTR, struct decision, until),
    FIELD("UUID", "uuid", F_CSTR, struct decision, uuid),
    FIELD("Value", "value", F_CSTR, struct decision, value),
};

/*
 * A JSON array of objects (null: none) decoded element by element into the
 * slots add() appends to alert a; errors name the element as path[i].
 */
static int
load_object_array(const json_t *v, struct alert *a, void *(*add)(struct alert *),
                  const struct field_desc *fields, size_t nfields, struct loadctx *lc,
                  const char *path)
{
    size_t i;
    json_t *item;
    char sub[256];

    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return load_error(lc, "%s: expected an array", path);
    json_array_foreach((json_t *)v, i, item)
    {
        void *elem = add(a);
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (elem == NULL)
            return load_error(lc, "%s: out of memory", sub);
        if (decode_fields(item, elem, fields, nfields, lc, sub) < 0)
            return -1;
    }
    return 0;
}

static void *
add_event(struct alert *a)
{
    return alert_add_event(a);
}

static void *
add_decision(struct alert *a)
{
    return alert_add_decision(a);
}

static int
load_alert_events(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    struct alert *a = (struct alert *)((char *)field - offsetof(struct alert, events));

    return load_object_array(v, a, add_event, alert_event_fields, ARRAY_SIZE(alert_event_fields),
                             lc, path);
}

static int
load_decisions(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    struct alert *a = (struct alert *)((char *)field - offsetof(struct alert, decisions));

    return load_object_array(v, a, add_decision, decision_fields, ARRAY_SIZE(decision_fields), lc,
                             path);
}

static int
load_labels(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    struct alert *a = (struct alert *)((char *)field - offsetof(struct alert, labels));
    size_t i;
    json_t *item;

    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return load_error(lc, "%s: expected an array of strings", path);
    json_array_foreach((json_t *)v, i, item)
    {
        if (!json_is_string(item))
            return load_error(lc, "%s[%zu]: expected a string", path, i);
        if (alert_add_label(a, json_string_value(item)) < 0)
            return load_error(lc, "%s: out of memory", path);
    }
    return 0;
}

static int
load_source_ptr(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    struct source **s = field;

    if (json_is_null(v))
        return 0;
    if (*s == NULL) {
        *s = calloc(1, sizeof(**s));
        if (*s == NULL)
            return load_error(lc, "%s: out of memory", path);
    }
    return decode_fields(v, *s, source_fields, ARRAY_SIZE(source_fields), lc, path);
}

static const struct field_desc alert_fields[] = {
    FIELD("Capacity", "capacity", F_INT32, struct alert, capacity),
    FIELD("CreatedAt", "created_at", F_CSTR, struct alert, created_at),
    SUBFIELD("Decisions", "decisions", struct alert, decisions, load_decisions),
    SUBFIELD("Events", "events", struct alert, events, load_alert_events),
    FIELD("EventsCount", "events_count", F_INT32, struct alert, events_count),
    FIELD("ID", "id", F_INT64, struct alert, id),
    FIELD("Kind", "kind", F_CSTR, struct alert, kind),
    SUBFIELD("Labels", "labels", struct alert, labels, load_labels),
    FIELD("Leakspeed", "leakspeed", F_CSTR, struct alert, leakspeed),
    FIELD("MachineID", "machine_id", F_CSTR, struct alert, machine_id),
    FIELD("Message", "message", F_CSTR, struct alert, message),
    SUBFIELD("Meta", "meta", struct alert, meta, load_meta_list),
    FIELD("Remediation", "remediation", F_BOOL, struct alert, remediation),
    FIELD("Scenario", "scenario", F_CSTR, struct alert, scenario),
    FIELD("ScenarioHash", "scenario_hash", F_CSTR, struct alert, scenario_hash),
    FIELD("ScenarioVersion", "scenario_version", F_CSTR, struct alert, scenario_version),
    FIELD("Simulated", "simulated", F_BOOL, struct alert, simulated),
    SUBFIELD("Source", "source", struct alert, source, load_source_ptr),
    FIELD("StartAt", "start_at", F_CSTR, struct alert, start_at),
    FIELD("StopAt", "stop_at", F_CSTR, struct alert, stop_at),
    FIELD("UUID", "uuid", F_CSTR, struct alert, uuid),
};

static int
load_errbuf(struct loadctx *lc, char *err, size_t errlen, struct event *evt)
{
    lc->evt = evt;
    lc->err = err;
    lc->errlen = errlen;
    lc->depth = 0;
    if (errlen > 0)
        err[0] = '\0';
    return 0;
}

int
exprenv_alert_from_json(const json_t *obj, struct alert *ret, char *err, size_t errlen)
{
    struct loadctx lc;

    load_errbuf(&lc, err, errlen, NULL);
    return decode_fields(obj, ret, alert_fields, ARRAY_SIZE(alert_fields), &lc, "Alert");
}

int
exprenv_source_from_json(const json_t *obj, struct source *ret, char *err, size_t errlen)
{
    struct loadctx lc;

    load_errbuf(&lc, err, errlen, NULL);
    return decode_fields(obj, ret, source_fields, ARRAY_SIZE(source_fields), &lc, "Source");
}

/* --- pipeline.RuntimeAlert --- */

static int
load_sources(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    struct runtime_alert *r =
        (struct runtime_alert *)((char *)field - offsetof(struct runtime_alert, sources));
    const char *k;
    json_t *item;
    char sub[256];

    if (json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return load_error(lc, "%s: expected an object of sources keyed by value", path);
    json_object_foreach((json_t *)v, k, item)
    {
        struct source *s = runtime_alert_add_source(r, k);
        snprintf(sub, sizeof(sub), "%s[\"%s\"]", path, k);
        if (s == NULL)
            return load_error(lc, "%s: out of memory", sub);
        if (decode_fields(item, s, source_fields, ARRAY_SIZE(source_fields), lc, sub) < 0)
            return -1;
    }
    return 0;
}

static int
load_alert_ptr(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    struct alert **a = field;

    if (json_is_null(v))
        return 0;
    if (*a == NULL) {
        *a = alert_new();
        if (*a == NULL)
            return load_error(lc, "%s: out of memory", path);
    }
    return decode_fields(v, *a, alert_fields, ARRAY_SIZE(alert_fields), lc, path);
}

static int
load_api_alerts(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    struct runtime_alert *r =
        (struct runtime_alert *)((char *)field - offsetof(struct runtime_alert, api_alerts));
    size_t i;
    json_t *item;
    char sub[256];

    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return load_error(lc, "%s: expected an array of alerts", path);
    json_array_foreach((json_t *)v, i, item)
    {
        struct alert *a = alert_new();
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (a == NULL || runtime_alert_add_api_alert(r, a) < 0)
            return load_error(lc, "%s: out of memory", sub);
        if (decode_fields(item, a, alert_fields, ARRAY_SIZE(alert_fields), lc, sub) < 0)
            return -1;
    }
    return 0;
}

static const struct field_desc runtime_alert_fields[] = {
    FIELD("Mapkey", NULL, F_CSTR, struct runtime_alert, mapkey),
    FIELD("BucketId", NULL, F_CSTR, struct runtime_alert, bucket_id),
    FIELD("Whitelisted", NULL, F_BOOL, struct runtime_alert, whitelisted),
    FIELD("Reprocess", NULL, F_BOOL, struct runtime_alert, reprocess),
    SUBFIELD("Sources", NULL, struct runtime_alert, sources, load_sources),
    SUBFIELD("Alert", NULL, struct runtime_alert, alert, load_alert_ptr),
    SUBFIELD("APIAlerts", NULL, struct runtime_alert, api_alerts, load_api_alerts),
};

/*
 * In CrowdSec, Alert always points at APIAlerts[0] once an overflow is built,
 * and GetMeta() reads APIAlerts: give hand-written JSON the same invariant.
 */
static int
runtime_alert_link(struct runtime_alert *r, struct loadctx *lc, const char *path)
{
    if (r->alert != NULL && r->napi_alerts == 0) {
        if (runtime_alert_add_api_alert(r, r->alert) < 0)
            return load_error(lc, "%s: out of memory", path);
    } else if (r->alert == NULL && r->napi_alerts > 0) {
        r->alert = r->api_alerts[0];
    }
    return 0;
}

static int
load_runtime_alert(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    if (json_is_null(v))
        return 0;
    if (decode_fields(v, field, runtime_alert_fields, ARRAY_SIZE(runtime_alert_fields), lc, path) <
        0)
        return -1;
    return runtime_alert_link(field, lc, path);
}

int
exprenv_runtime_alert_from_json(const json_t *obj, struct runtime_alert *ret, char *err,
                                size_t errlen)
{
    struct loadctx lc;

    load_errbuf(&lc, err, errlen, NULL);
    return load_runtime_alert(obj, ret, &lc, "RuntimeAlert");
}

/* --- pipeline.Event --- */

static int
load_matched_rules(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    json_t **slot = field;

    if (!json_is_array(v) && !json_is_null(v))
        return load_error(lc, "%s: expected an array of objects", path);
    json_decref(*slot);
    *slot = json_is_null(v) ? NULL : json_incref((json_t *)v);
    return 0;
}

static const struct field_desc line_fields[] = {
    FIELD("Raw", NULL, F_STRV, struct line, raw),
    FIELD("Src", NULL, F_STRV, struct line, src),
    FIELD("Time", NULL, F_TIME, struct line, time),
    FIELD("Labels", NULL, F_STRMAP, struct line, labels),
    FIELD("Process", NULL, F_BOOL, struct line, process),
    FIELD("Module", NULL, F_STRV, struct line, module),
};

static int
load_line(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    return decode_fields(v, field, line_fields, ARRAY_SIZE(line_fields), lc, path);
}

static const struct field_desc appsec_fields[] = {
    FIELD("HasInBandMatches", NULL, F_BOOL, struct appsec_event, has_in_band_matches),
    FIELD("HasOutBandMatches", NULL, F_BOOL, struct appsec_event, has_out_band_matches),
    SUBFIELD("MatchedRules", NULL, struct appsec_event, matched_rules, load_matched_rules),
    FIELD("Vars", NULL, F_STRMAP, struct appsec_event, vars),
    FIELD("HookVars", NULL, F_STRMAP, struct appsec_event, hook_vars),
};

static int
load_appsec(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    return decode_fields(v, field, appsec_fields, ARRAY_SIZE(appsec_fields), lc, path);
}

static int
load_unmarshaled(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    json_t **slot = field;

    if (!json_is_object(v) && !json_is_null(v))
        return load_error(lc, "%s: expected an object", path);
    json_decref(*slot);
    /* A private copy: helpers such as UnmarshalJSON write into it. */
    *slot = json_is_null(v) ? NULL : json_deep_copy(v);
    if (!json_is_null(v) && *slot == NULL)
        return load_error(lc, "%s: out of memory", path);
    return 0;
}

static const struct field_desc event_fields[] = {
    FIELD("Type", NULL, F_INT, struct event, type),
    FIELD("ExpectMode", NULL, F_INT, struct event, expect_mode),
    FIELD("Whitelisted", NULL, F_BOOL, struct event, whitelisted),
    FIELD("WhitelistReason", "whitelist_reason", F_STRV, struct event, whitelist_reason),
    FIELD("Stage", NULL, F_STRV, struct event, stage),
    SUBFIELD("Line", NULL, struct event, line, load_line),
    FIELD("Parsed", NULL, F_STRMAP, struct event, parsed),
    FIELD("Enriched", NULL, F_STRMAP, struct event, enriched),
    SUBFIELD("Unmarshaled", NULL, struct event, unmarshaled, load_unmarshaled),
    SUBFIELD("Overflow", "Alert", struct event, overflow, load_runtime_alert),
    FIELD("Time", NULL, F_TIME, struct event, time),
    FIELD("StrTime", NULL, F_STRV, struct event, str_time),
    FIELD("StrTimeFormat", NULL, F_STRV, struct event, str_time_format),
    FIELD("MarshaledTime", NULL, F_STRV, struct event, marshaled_time),
    FIELD("Process", NULL, F_BOOL, struct event, process),
    SUBFIELD("Appsec", NULL, struct event, appsec, load_appsec),
    FIELD("Meta", NULL, F_STRMAP, struct event, meta),
};

static int
load_event(const json_t *obj, struct event *ret, struct loadctx *lc, const char *path)
{
    struct event *saved = lc->evt;
    int r;

    lc->evt = ret;
    r = decode_fields(obj, ret, event_fields, ARRAY_SIZE(event_fields), lc, path);
    lc->evt = saved;
    return r;
}

int
exprenv_event_from_json(const json_t *obj, struct event *ret, char *err, size_t errlen)
{
    struct loadctx lc;

    load_errbuf(&lc, err, errlen, ret);
    return load_event(obj, ret, &lc, "Event");
}

/* --- []Event, Queue, Leaky --- */

static int
load_event_list(const json_t *v, struct event_list *l, struct loadctx *lc, const char *path)
{
    size_t i;
    json_t *item;
    char sub[256];

    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return load_error(lc, "%s: expected an array of events", path);
    json_array_foreach((json_t *)v, i, item)
    {
        struct event *e = event_new(EVENT_LOG, EVENT_LIVE, false);
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (e == NULL || event_list_push(l, e) < 0)
            return load_error(lc, "%s: out of memory", sub);
        if (load_event(item, e, lc, sub) < 0)
            return -1;
    }
    return 0;
}

int
exprenv_queue_from_json(const json_t *obj, struct queue *ret, char *err, size_t errlen)
{
    struct loadctx lc;
    const char *key;
    json_t *v;

    load_errbuf(&lc, err, errlen, NULL);
    if (json_is_array(obj))
        return load_event_list(obj, &ret->queue, &lc, "Queue.Queue");
    if (!json_is_object(obj))
        return load_error(&lc, "Queue: expected {\"Queue\": [events], \"L\": n} or an array");
    json_object_foreach((json_t *)obj, key, v)
    {
        if (strcasecmp(key, "Queue") == 0) {
            if (load_event_list(v, &ret->queue, &lc, "Queue.Queue") < 0)
                return -1;
        } else if (strcasecmp(key, "L") == 0) {
            if (!json_is_integer(v))
                return load_error(&lc, "Queue.L: expected an integer");
            ret->l = json_integer_value(v) == -1 ? INT64_MAX : json_integer_value(v);
        } else {
            return load_error(&lc, "Queue.%s: unknown field", key);
        }
    }
    return 0;
}

static const struct field_desc spec_fields[] = {
    FIELD("Name", "name", F_CSTR, struct bucket_spec, name),
    FIELD("Description", "description", F_CSTR, struct bucket_spec, description),
    FIELD("Type", "type", F_CSTR, struct bucket_spec, type),
    FIELD("Capacity", "capacity", F_INT64, struct bucket_spec, capacity),
    FIELD("LeakSpeed", "leakspeed", F_CSTR, struct bucket_spec, leakspeed),
    FIELD("Duration", "duration", F_CSTR, struct bucket_spec, duration),
    FIELD("Filter", "filter", F_CSTR, struct bucket_spec, filter),
    FIELD("GroupBy", "groupby", F_CSTR, struct bucket_spec, groupby),
    FIELD("Distinct", "distinct", F_CSTR, struct bucket_spec, distinct),
    FIELD("Blackhole", "blackhole", F_CSTR, struct bucket_spec, blackhole),
    FIELD("ScenarioVersion", "version", F_CSTR, struct bucket_spec, version),
    FIELD("CacheSize", "cache_size", F_INT64, struct bucket_spec, cache_size),
    FIELD("Reprocess", "reprocess", F_BOOL, struct bucket_spec, reprocess),
    FIELD("Debug", "debug", F_BOOL, struct bucket_spec, debug),
};

static int
load_spec(const json_t *v, void *field, struct loadctx *lc, const char *path)
{
    return decode_fields(v, field, spec_fields, ARRAY_SIZE(spec_fields), lc, path);
}

static const struct field_desc factory_fields[] = {
    SUBFIELD("Spec", NULL, struct bucket_factory, spec, load_spec),
    FIELD("BucketName", NULL, F_CSTR, struct bucket_factory, bucket_name),
    FIELD("Filename", NULL, F_CSTR, struct bucket_factory, filename),
    FIELD("DataDir", NULL, F_CSTR, struct bucket_factory, data_dir),
    FIELD("Simulated", NULL, F_BOOL, struct bucket_factory, simulated),
};

static const struct field_desc leaky_fields[] = {
    FIELD("Mode", NULL, F_INT, struct leaky, mode),
    FIELD("Mapkey", NULL, F_CSTR, struct leaky, mapkey),
    FIELD("Uuid", NULL, F_CSTR, struct leaky, uuid),
    FIELD("First_ts", NULL, F_TIME, struct leaky, first_ts),
    FIELD("Last_ts", NULL, F_TIME, struct leaky, last_ts),
    FIELD("Ovflw_ts", NULL, F_TIME, struct leaky, ovflw_ts),
    FIELD("Total_count", NULL, F_INT64, struct leaky, total_count),
    FIELD("Duration", NULL, F_DURATION, struct leaky, duration_ns),
};

int
exprenv_leaky_from_json(const json_t *obj, struct leaky *ret, struct bucket_factory *factory,
                        char *err, size_t errlen)
{
    struct loadctx lc;
    const char *key;
    json_t *v;
    char sub[256];

    load_errbuf(&lc, err, errlen, NULL);
    if (!json_is_object(obj))
        return load_error(&lc, "Leaky: expected an object");
    json_object_foreach((json_t *)obj, key, v)
    {
        const struct field_desc *f = find_field(leaky_fields, ARRAY_SIZE(leaky_fields), key);

        snprintf(sub, sizeof(sub), "Leaky.%s", key);
        if (strcasecmp(key, "Factory") == 0) {
            if (factory == NULL)
                return load_error(&lc, "%s: no storage for the factory", sub);
            if (decode_fields(v, factory, factory_fields, ARRAY_SIZE(factory_fields), &lc, sub) < 0)
                return -1;
            ret->factory = factory;
        } else if (strcasecmp(key, "Queue") == 0) {
            return load_error(&lc,
                              "%s: the bucket's queue is the `queue` variable; put its "
                              "events there",
                              sub);
        } else if (f == NULL) {
            return load_error(&lc, "%s: unknown field", sub);
        } else if (decode_value(f, v, ret, &lc, sub) < 0) {
            return -1;
        }
    }
    return 0;
}

/* --- dumps.ParserResults --- */

int
exprenv_parser_results_from_json(const json_t *obj, struct parser_results *ret, char *err,
                                 size_t errlen)
{
    struct loadctx lc;
    const char *stage, *node;
    json_t *nodes, *list;
    char path[256];

    load_errbuf(&lc, err, errlen, NULL);
    if (!json_is_object(obj))
        return load_error(&lc, "results: expected {\"stage\": {\"node\": [results]}}");
    json_object_foreach((json_t *)obj, stage, nodes)
    {
        if (!json_is_object(nodes))
            return load_error(&lc, "results[\"%s\"]: expected an object of nodes", stage);
        json_object_foreach(nodes, node, list)
        {
            size_t i;
            json_t *item;
            if (parser_results_node(ret, stage, node) == NULL)
                return load_error(&lc, "results: out of memory");
            if (!json_is_array(list))
                return load_error(&lc, "results[\"%s\"][\"%s\"]: expected an array", stage, node);
            json_array_foreach(list, i, item)
            {
                struct event *e = event_new(EVENT_LOG, EVENT_LIVE, false);
                int64_t idx = (int64_t)i;
                bool success = false;
                const char *k;
                json_t *v;

                snprintf(path, sizeof(path), "results[\"%s\"][\"%s\"][%zu]", stage, node, i);
                if (e == NULL)
                    return load_error(&lc, "%s: out of memory", path);
                if (!json_is_object(item)) {
                    event_free(e);
                    return load_error(&lc, "%s: expected {\"Idx\", \"Evt\", \"Success\"}", path);
                }
                json_object_foreach(item, k, v)
                {
                    int r = 0;
                    if (strcasecmp(k, "Idx") == 0 && json_is_integer(v))
                        idx = json_integer_value(v);
                    else if (strcasecmp(k, "Success") == 0 && json_is_boolean(v))
                        success = json_is_true(v);
                    else if (strcasecmp(k, "Evt") == 0)
                        r = load_event(v, e, &lc, path);
                    else
                        r = load_error(&lc, "%s.%s: unknown field or wrong type", path, k);
                    if (r < 0) {
                        event_free(e);
                        return -1;
                    }
                }
                if (parser_results_add(ret, stage, node, idx, e, success) < 0)
                    return load_error(&lc, "%s: out of memory", path);
            }
        }
    }
    return 0;
}

/* --- a whole context's variables --- */

struct exprenv_vars {
    enum exprenv_context ctx;
    struct expr_value values[4];
    struct event *evt;
    struct queue queue;
    struct leaky leaky;
    struct bucket_factory factory;
    struct runtime_alert signal;
    struct alert *alert;
    json_t *json; /* match (alert_context) or results (hubtest) */
    json_t *req;  /* req (alert_context) */
    struct event_list events;
    struct parser_results parser_results;
};

void
exprenv_vars_free(struct exprenv_vars *v)
{
    if (v == NULL)
        return;
    event_free(v->evt);
    queue_clear(&v->queue);
    free(v->leaky.mapkey);
    free(v->leaky.uuid);
    bucket_factory_clear(&v->factory);
    runtime_alert_clear(&v->signal);
    alert_free(v->alert);
    json_decref(v->json);
    json_decref(v->req);
    event_list_clear(&v->events);
    parser_results_clear(&v->parser_results);
    free(v);
}

const struct expr_value *
exprenv_vars_values(const struct exprenv_vars *v)
{
    return v->values;
}

static const json_t *
env_get(const json_t *env, const char *name)
{
    const json_t *v = env != NULL ? json_object_get(env, name) : NULL;

    return json_is_null(v) ? NULL : v;
}

static int
fill_var(struct exprenv_vars *v, const char *name, const json_t *j, char *err, size_t errlen)
{
    if (strcmp(name, "evt") == 0) {
        v->evt = event_new(EVENT_LOG, EVENT_LIVE, false);
        if (v->evt == NULL)
            return -ENOMEM;
        return j != NULL ? exprenv_event_from_json(j, v->evt, err, errlen) : 0;
    }
    if (strcmp(name, "queue") == 0)
        return j != NULL ? exprenv_queue_from_json(j, &v->queue, err, errlen) : 0;
    if (strcmp(name, "leaky") == 0) {
        v->leaky.queue = &v->queue;
        v->leaky.factory = &v->factory;
        return j != NULL ? exprenv_leaky_from_json(j, &v->leaky, &v->factory, err, errlen) : 0;
    }
    if (strcmp(name, "signal") == 0)
        return j != NULL ? exprenv_runtime_alert_from_json(j, &v->signal, err, errlen) : 0;
    if (strcmp(name, "Alert") == 0) {
        v->alert = alert_new();
        if (v->alert == NULL)
            return -ENOMEM;
        return j != NULL ? exprenv_alert_from_json(j, v->alert, err, errlen) : 0;
    }
    if (strcmp(name, "match") == 0) {
        if (j != NULL && !json_is_object(j)) {
            snprintf(err, errlen, "match: expected an object");
            return -1;
        }
        v->json = j != NULL ? json_deep_copy(j) : json_object();
        return v->json != NULL ? 0 : -ENOMEM;
    }
    return 0;
}

int
exprenv_vars_from_json(enum exprenv_context ctx, const json_t *env, struct exprenv_vars **ret,
                       char *err, size_t errlen)
{
    struct exprenv_vars *v = calloc(1, sizeof(*v));
    const char *key;
    json_t *item;

    if (v == NULL)
        return -ENOMEM;
    if (errlen > 0)
        err[0] = '\0';
    v->ctx = ctx;
    queue_init(&v->queue, -1);
    if (env != NULL && !json_is_object(env)) {
        snprintf(err, errlen, "the environment must be a JSON object keyed by variable name");
        goto fail;
    }
    /* Keys that are not variables of the context would be silently ignored otherwise. */
    json_object_foreach((json_t *)env, key, item)
    {
        bool known = false;
        for (size_t i = 0; i < exprenv_context_nvars(ctx); i++)
            known = known || strcmp(exprenv_context_var(ctx, i), key) == 0;
        if (!known) {
            snprintf(err, errlen, "'%s' is not a variable of the %s context", key,
                     exprenv_context_name(ctx));
            goto fail;
        }
    }
    for (size_t i = 0; i < exprenv_context_nvars(ctx); i++) {
        const char *name = exprenv_context_var(ctx, i);
        if (fill_var(v, name, env_get(env, name), err, errlen) < 0)
            goto fail;
    }
    switch (ctx) {
    case EXPRENV_PARSER:
    case EXPRENV_SCENARIO: v->values[EXPRENV_SLOT_EVT] = exprenv_event_value(v->evt); break;
    case EXPRENV_CONDITION:
        v->values[EXPRENV_SLOT_EVT] = exprenv_event_value(v->evt);
        v->values[EXPRENV_SLOT_COND_QUEUE] = exprenv_queue_value(&v->queue);
        v->values[EXPRENV_SLOT_COND_LEAKY] = exprenv_leaky_value(&v->leaky);
        break;
    case EXPRENV_OVERFLOW_FILTER:
        v->values[EXPRENV_SLOT_OVFL_QUEUE] = exprenv_queue_value(&v->queue);
        v->values[EXPRENV_SLOT_OVFL_SIGNAL] = exprenv_runtime_alert_value(&v->signal);
        v->values[EXPRENV_SLOT_OVFL_LEAKY] = exprenv_leaky_value(&v->leaky);
        break;
    case EXPRENV_PROFILE: v->values[EXPRENV_SLOT_ALERT] = exprenv_alert_value(v->alert); break;
    case EXPRENV_ALERT_CONTEXT: {
        const json_t *req = env_get(env, "req");
        v->values[EXPRENV_SLOT_EVT] = exprenv_event_value(v->evt);
        v->values[EXPRENV_SLOT_CTX_MATCH] = exprenv_json_value(v->json);
        /* req is dynamic (an *http.Request in CrowdSec): any JSON value, or nil. */
        if (req != NULL) {
            v->req = json_deep_copy(req);
            if (v->req == NULL)
                goto fail;
        }
        v->values[EXPRENV_SLOT_CTX_REQ] = exprenv_json_value(v->req);
        break;
    }
    case EXPRENV_HUBTEST_PARSER: {
        const json_t *r = env_get(env, "results");
        if (r != NULL && exprenv_parser_results_from_json(r, &v->parser_results, err, errlen) < 0)
            goto fail;
        v->values[EXPRENV_SLOT_RESULTS] = exprenv_parser_results_value(&v->parser_results);
        break;
    }
    case EXPRENV_HUBTEST_SCENARIO: {
        const json_t *r = env_get(env, "results");
        struct loadctx lc;
        load_errbuf(&lc, err, errlen, NULL);
        if (r != NULL && load_event_list(r, &v->events, &lc, "results") < 0)
            goto fail;
        v->values[EXPRENV_SLOT_RESULTS] = exprenv_event_list_value(&v->events);
        break;
    }
    case EXPRENV_HUBTEST: {
        const json_t *r = env_get(env, "results");
        v->json = r != NULL ? json_deep_copy(r) : NULL;
        v->values[EXPRENV_SLOT_RESULTS] = exprenv_json_value(v->json);
        break;
    }
    case EXPRENV_PLAIN: break;
    }
    *ret = v;
    return 0;
fail:
    if (errlen > 0 && err[0] == '\0')
        snprintf(err, errlen, "out of memory");
    exprenv_vars_free(v);
    return -1;
}
