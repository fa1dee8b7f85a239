/*
 * routes_metrics.c - POST /v1/usage-metrics, as CrowdSec 1.6's
 * controllers/v1/usagemetrics.go: a machine (JWT) pushes one log processor's
 * metrics, a bouncer (API key or client certificate) one remediation
 * component's; the route takes either credential, chosen from the headers
 * (server.c, LAPI_AUTH_EITHER).
 *
 * The body is checked as go-swagger's models.AllMetrics: a JSON type that
 * cannot be unmarshalled is 400 with encoding/json's message, a missing
 * required field or a string over 255 characters is 422 with the
 * "validation failure list:" of the generated Validate (one error per field,
 * the first bad element of an array, fields in the generated order). Then
 * the payload CrowdSec keeps ({"metrics": [...]} for a log processor,
 * {"metrics": [...], "type": ...} for a bouncer, re-encoded in the models'
 * field order) is stored with the base metrics (version, OS, feature flags,
 * hub items, datasources), and the answer is 201 without a body.
 *
 * The body is bounded well below the general limit: usage metrics are a few
 * kilobytes, and every push is a row.
 */
#include "common/log.h"
#include "lapi/internal.h"

#define METRICS_BODY_MAX ((size_t)1024 * 1024)
#define METRICS_STR_MAX  255

/* What the walk over the body found. */
struct mcheck {
    struct str errs; /* validation errors, one a line */
    bool type_failed;
    char type_msg[512]; /* encoding/json's first UnmarshalTypeError */
    bool oom;
};

/* A path for a message; a deep one is cut short, which only shortens the message. */
static void PRINTF_LIKE(3, 4) pathf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static const char *
json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    default: return "bool";
    }
}

/* Go's UnmarshalTypeError: "json: cannot unmarshal KIND into Go struct field S.PATH of type T". */
static void
type_error(struct mcheck *c, const json_t *v, const char *gostruct, const char *field,
           const char *gotype)
{
    if (c->type_failed)
        return;
    c->type_failed = true;
    if (json_is_real(v))
        snprintf(c->type_msg, sizeof(c->type_msg),
                 "json: cannot unmarshal number %g into Go struct field %s.%s of type %s",
                 json_real_value(v), gostruct, field, gotype);
    else
        snprintf(c->type_msg, sizeof(c->type_msg),
                 "json: cannot unmarshal %s into Go struct field %s.%s of type %s", json_kind(v),
                 gostruct, field, gotype);
}

static void
add_error(struct mcheck *c, const char *path, const char *name, const char *what)
{
    if (str_appendf(&c->errs, "\n%s%s%s in body %s", path, path[0] != '\0' ? "." : "", name, what) <
        0)
        c->oom = true;
}

static size_t
utf8_runes(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* A string field: type, then (when req) presence, then the 255-rune limit. */
static void
check_string(struct mcheck *c, const json_t *o, const char *key, bool req, bool limit,
             const char *path, const char *gostruct, const char *gopath)
{
    const json_t *v = json_object_get(o, key);
    char field[160];

    pathf(field, sizeof(field), "%s%s%s", gopath, gopath[0] != '\0' ? "." : "", key);
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        type_error(c, v, gostruct, field, "string");
        return;
    }
    if (v == NULL || json_is_null(v)) {
        if (req)
            add_error(c, path, key, "is required");
        return;
    }
    if (limit && utf8_runes(json_string_value(v)) > METRICS_STR_MAX)
        add_error(c, path, key, "should be at most 255 chars long");
}

/* An int64 field (Go rejects fractions); required when req. */
static void
check_int(struct mcheck *c, const json_t *o, const char *key, bool req, const char *path,
          const char *gostruct, const char *gopath)
{
    const json_t *v = json_object_get(o, key);
    char field[160];

    pathf(field, sizeof(field), "%s%s%s", gopath, gopath[0] != '\0' ? "." : "", key);
    if (v != NULL && !json_is_null(v) && !json_is_integer(v)) {
        type_error(c, v, gostruct, field, "int64");
        return;
    }
    if (req && (v == NULL || json_is_null(v)))
        add_error(c, path, key, "is required");
}

/* An object or array field of the wrong JSON type is a type error; true when it is usable. */
static bool
check_container(struct mcheck *c, const json_t *v, bool array, const char *gostruct,
                const char *field, const char *gotype)
{
    if (v == NULL || json_is_null(v))
        return false;
    if (array ? !json_is_array(v) : !json_is_object(v)) {
        type_error(c, v, gostruct, field, gotype);
        return false;
    }
    return true;
}

/* Runs check on each element of an array until one adds an error (go-swagger stops there). */
static void
check_metric_item(struct mcheck *c, const json_t *it, const char *path, const char *gopath)
{
    const json_t *labels = json_object_get(it, "labels");
    char field[160];

    pathf(field, sizeof(field), "%s.labels", gopath);
    if (check_container(c, labels, false, "MetricsDetailItem", field, "models.MetricsLabels")) {
        const char *k;
        const json_t *lv;
        char lpath[400];
        pathf(lpath, sizeof(lpath), "%s.labels", path);
        json_object_foreach((json_t *)labels, k, lv)
        {
            if (!json_is_string(lv) && !json_is_null(lv)) {
                char f2[200];
                pathf(f2, sizeof(f2), "%s.%s", field, k);
                type_error(c, lv, "MetricsDetailItem", f2, "string");
                continue;
            }
            if (json_is_string(lv) && utf8_runes(json_string_value(lv)) > METRICS_STR_MAX) {
                add_error(c, lpath, k, "should be at most 255 chars long");
                break;
            }
        }
    }
    check_string(c, it, "name", true, true, path, "MetricsDetailItem", gopath);
    check_string(c, it, "unit", true, true, path, "MetricsDetailItem", gopath);
    const json_t *v = json_object_get(it, "value");
    if (v != NULL && !json_is_null(v) && !json_is_number(v)) {
        pathf(field, sizeof(field), "%s.value", gopath);
        type_error(c, v, "MetricsDetailItem", field, "float64");
    } else if (v == NULL || json_is_null(v)) {
        add_error(c, path, "value", "is required");
    }
}

static void
check_detailed(struct mcheck *c, const json_t *d, const char *path, const char *gopath)
{
    const json_t *items = json_object_get(d, "items"), *meta = json_object_get(d, "meta");
    char field[160], p[400];

    pathf(field, sizeof(field), "%s.items", gopath);
    if (items == NULL || json_is_null(items)) {
        add_error(c, path, "items", "is required");
    } else if (check_container(c, items, true, "DetailedMetrics", field,
                               "[]*models.MetricsDetailItem")) {
        for (size_t i = 0; i < json_array_size(items); i++) {
            const json_t *it = json_array_get(items, i);
            if (json_is_null(it))
                continue;
            if (!json_is_object(it)) {
                type_error(c, it, "DetailedMetrics", field, "models.MetricsDetailItem");
                break;
            }
            size_t before = c->errs.len;
            pathf(p, sizeof(p), "%s.items.%zu", path, i);
            check_metric_item(c, it, p, field);
            if (c->errs.len != before)
                break;
        }
    }
    pathf(field, sizeof(field), "%s.meta", gopath);
    if (meta == NULL || json_is_null(meta)) {
        add_error(c, path, "meta", "is required");
    } else if (check_container(c, meta, false, "DetailedMetrics", field, "models.MetricsMeta")) {
        pathf(p, sizeof(p), "%s.meta", path);
        check_int(c, meta, "utc_now_timestamp", true, p, "MetricsMeta", field);
        check_int(c, meta, "window_size_seconds", true, p, "MetricsMeta", field);
    }
}

/* models.BaseMetrics: feature_flags, metrics, os, utc_startup_timestamp, version. */
static void
check_base(struct mcheck *c, const json_t *o, const char *path, const char *gostruct,
           const char *gopath)
{
    const json_t *ff = json_object_get(o, "feature_flags"),
                 *metrics = json_object_get(o, "metrics");
    const json_t *os = json_object_get(o, "os");
    char field[160], p[400];

    pathf(field, sizeof(field), "%s.feature_flags", gopath);
    if (check_container(c, ff, true, gostruct, field, "[]string")) {
        for (size_t i = 0; i < json_array_size(ff); i++) {
            const json_t *f = json_array_get(ff, i);
            if (!json_is_string(f) && !json_is_null(f)) {
                type_error(c, f, gostruct, field, "string");
                break;
            }
        }
    }
    pathf(field, sizeof(field), "%s.metrics", gopath);
    if (check_container(c, metrics, true, gostruct, field, "[]*models.DetailedMetrics")) {
        for (size_t i = 0; i < json_array_size(metrics); i++) {
            const json_t *d = json_array_get(metrics, i);
            if (json_is_null(d))
                continue;
            if (!json_is_object(d)) {
                type_error(c, d, gostruct, field, "models.DetailedMetrics");
                break;
            }
            size_t before = c->errs.len;
            pathf(p, sizeof(p), "%s%smetrics.%zu", path, path[0] != '\0' ? "." : "", i);
            check_detailed(c, d, p, field);
            if (c->errs.len != before)
                break;
        }
    }
    pathf(field, sizeof(field), "%s.os", gopath);
    if (check_container(c, os, false, gostruct, field, "models.OSversion")) {
        pathf(p, sizeof(p), "%s%sos", path, path[0] != '\0' ? "." : "");
        check_string(c, os, "family", false, true, p, "OSversion", field);
        check_string(c, os, "name", true, true, p, "OSversion", field);
        check_string(c, os, "version", true, true, p, "OSversion", field);
    }
    check_int(c, o, "utc_startup_timestamp", true, path, gostruct, gopath);
    check_string(c, o, "version", true, true, path, gostruct, gopath);
}

static void
check_lp(struct mcheck *c, const json_t *o, const char *path)
{
    const char *gp = "log_processors";
    const json_t *ds = json_object_get(o, "datasources"), *hub = json_object_get(o, "hub_items");

    check_base(c, o, path, "LogProcessorsMetrics", gp);
    if (ds == NULL || json_is_null(ds)) {
        add_error(c, path, "datasources", "is required");
    } else if (check_container(c, ds, false, "LogProcessorsMetrics", "log_processors.datasources",
                               "map[string]int64")) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)ds, k, v)
        {
            if (!json_is_integer(v) && !json_is_null(v)) {
                type_error(c, v, "LogProcessorsMetrics", "log_processors.datasources", "int64");
                break;
            }
        }
    }
    if (hub == NULL || json_is_null(hub)) {
        add_error(c, path, "hub_items", "is required");
    } else if (check_container(c, hub, false, "LogProcessorsMetrics", "log_processors.hub_items",
                               "models.HubItems")) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)hub, k, v)
        {
            if (!check_container(c, v, true, "LogProcessorsMetrics", "log_processors.hub_items",
                                 "[]*models.HubItem"))
                continue;
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *h = json_array_get(v, i);
                if (json_is_null(h))
                    continue;
                if (!json_is_object(h)) {
                    type_error(c, h, "LogProcessorsMetrics", "log_processors.hub_items",
                               "models.HubItem");
                    break;
                }
                check_string(c, h, "name", false, false, "", "HubItem", "hub_items");
                check_string(c, h, "status", false, false, "", "HubItem", "hub_items");
                check_string(c, h, "version", false, false, "", "HubItem", "hub_items");
            }
        }
    }
    check_int(c, o, "last_push", false, path, "LogProcessorsMetrics", gp);
    check_int(c, o, "last_update", false, path, "LogProcessorsMetrics", gp);
    check_string(c, o, "name", false, false, path, "LogProcessorsMetrics", gp);
}

static void
check_rc(struct mcheck *c, const json_t *o, const char *path)
{
    const char *gp = "remediation_components";

    check_base(c, o, path, "RemediationComponentsMetrics", gp);
    check_int(c, o, "last_pull", false, path, "RemediationComponentsMetrics", gp);
    check_string(c, o, "name", false, false, path, "RemediationComponentsMetrics", gp);
    check_string(c, o, "type", false, false, path, "RemediationComponentsMetrics", gp);
}

/* models.AllMetrics: lapi, log_processors, remediation_components. */
static void
check_all(struct mcheck *c, const json_t *j)
{
    const json_t *lapi = json_object_get(j, "lapi");
    static const struct {
        const char *key, *gotype;
        void (*fn)(struct mcheck *, const json_t *, const char *);
    } arrays[] = {
        { "log_processors", "[]*models.LogProcessorsMetrics", check_lp },
        { "remediation_components", "[]*models.RemediationComponentsMetrics", check_rc },
    };
    char p[64];

    if (check_container(c, lapi, false, "AllMetrics", "lapi", "models.LapiMetrics")) {
        const json_t *co = json_object_get(lapi, "console_options");
        check_base(c, lapi, "lapi", "LapiMetrics", "lapi");
        if (check_container(c, co, true, "LapiMetrics", "lapi.console_options",
                            "models.ConsoleOptions")) {
            for (size_t i = 0; i < json_array_size(co); i++)
                if (!json_is_string(json_array_get(co, i)))
                    type_error(c, json_array_get(co, i), "LapiMetrics", "lapi.console_options",
                               "string");
        }
    }
    for (size_t a = 0; a < ARRAY_SIZE(arrays); a++) {
        const json_t *v = json_object_get(j, arrays[a].key);
        if (!check_container(c, v, true, "AllMetrics", arrays[a].key, arrays[a].gotype))
            continue;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *o = json_array_get(v, i);
            if (json_is_null(o))
                continue;
            if (!json_is_object(o)) {
                type_error(c, o, "AllMetrics", arrays[a].key, arrays[a].gotype + 3);
                break;
            }
            size_t before = c->errs.len;
            pathf(p, sizeof(p), "%s.%zu", arrays[a].key, i);
            arrays[a].fn(c, o, p);
            if (c->errs.len != before)
                break;
        }
    }
}

/* --- re-encoding what is stored --- */

static json_t *
copy_or_null(const json_t *v)
{
    return v != NULL ? json_deep_copy(v) : json_null();
}

static int
cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A map[string]string as encoding/json writes it: keys sorted. */
static json_t *
sorted_labels(const json_t *labels)
{
    size_t n = json_object_size(labels), i = 0;
    const char **keys = calloc(n > 0 ? n : 1, sizeof(*keys));
    json_t *o = json_object();
    const char *k;
    const json_t *v;

    if (keys == NULL || o == NULL) {
        free(keys);
        json_decref(o);
        return NULL;
    }
    json_object_foreach((json_t *)labels, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_keys);
    for (i = 0; i < n; i++)
        json_object_set_new(o, keys[i], json_deep_copy(json_object_get(labels, keys[i])));
    free(keys);
    return o;
}

/* A float64 as Go writes it when it is integral (12, not 12.0). */
static json_t *
float64_json(const json_t *v)
{
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == (double)(int64_t)d && d > -9007199254740992.0 && d < 9007199254740992.0)
            return json_integer((json_int_t)d);
    }
    return copy_or_null(v);
}

/* []*DetailedMetrics in the models' field order (items: labels, name, unit, value; meta). */
static json_t *
metrics_json(const json_t *metrics)
{
    if (!json_is_array(metrics))
        return json_null();
    json_t *out = json_array();
    for (size_t i = 0; out != NULL && i < json_array_size(metrics); i++) {
        const json_t *d = json_array_get(metrics, i), *items = json_object_get(d, "items");
        const json_t *meta = json_object_get(d, "meta");
        json_t *od = json_is_null(d) ? json_null() : json_object(), *oi = json_array();
        for (size_t k = 0; json_is_object(d) && oi != NULL && k < json_array_size(items); k++) {
            const json_t *it = json_array_get(items, k), *labels = json_object_get(it, "labels");
            json_t *o = json_is_null(it) ? json_null() : json_object();
            if (o != NULL && json_is_object(o)) {
                if (json_object_size(labels) > 0)
                    json_object_set_new(o, "labels", sorted_labels(labels));
                json_object_set_new(o, "name", copy_or_null(json_object_get(it, "name")));
                json_object_set_new(o, "unit", copy_or_null(json_object_get(it, "unit")));
                json_object_set_new(o, "value", float64_json(json_object_get(it, "value")));
            }
            json_array_append_new(oi, o);
        }
        if (od != NULL && json_is_object(od)) {
            json_object_set_new(od, "items", oi);
            oi = NULL;
            json_t *om = json_object();
            if (om != NULL) {
                json_object_set_new(om, "utc_now_timestamp",
                                    copy_or_null(json_object_get(meta, "utc_now_timestamp")));
                json_object_set_new(om, "window_size_seconds",
                                    copy_or_null(json_object_get(meta, "window_size_seconds")));
            }
            json_object_set_new(od, "meta", om);
        }
        json_decref(oi);
        if (od == NULL || json_array_append_new(out, od) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

static char *
dumps_or_empty(json_t *j)
{
    char *s = j != NULL && !json_is_null(j) ? model_json_dumps(j) : strdup("");
    json_decref(j);
    return s;
}

/* schema.ItemState maps: {"TYPE": [{"name", "status", "version"}]}. */
static json_t *
hub_json(const json_t *hub)
{
    const char *k;
    const json_t *v;
    json_t *out = json_object();

    json_object_foreach((json_t *)hub, k, v)
    {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < json_array_size(v); i++) {
            const json_t *h = json_array_get(v, i);
            const char *n = json_string_value(json_object_get(h, "name"));
            const char *s = json_string_value(json_object_get(h, "status"));
            const char *ver = json_string_value(json_object_get(h, "version"));
            json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "name", n ? n : "", "status",
                                               s ? s : "", "version", ver ? ver : ""));
        }
        json_object_set_new(out, k, a != NULL ? a : json_array());
    }
    return out;
}

static void
post_usage_metrics(struct lapi_request *r, struct lapi_response *out)
{
    struct mcheck c = { .errs = STR_INIT };
    struct store_metrics m = { 0 };
    struct store_error serr = { { 0 } };
    const json_t *item = NULL, *base;
    json_t *j, *payload = NULL;
    bool machine = r->machine_id != NULL;
    const char *by = machine ? r->machine_id : r->bouncer.name;

    if (r->body_len > METRICS_BODY_MAX) {
        lapi_reply_message(out, 413, "request body too large");
        return;
    }
    if ((j = lapi_body_json(r, out)) == NULL)
        return;
    /* JSON null unmarshals to an empty AllMetrics: the checks below answer it. */
    if (!json_is_object(j) && !json_is_null(j)) {
        lapi_reply_message(out, 400,
                           "json: cannot unmarshal non-object into Go value of type "
                           "models.AllMetrics");
        goto out;
    }
    check_all(&c, j);
    if (c.oom)
        goto oom;
    if (c.type_failed) {
        lapi_reply_message(out, 400, c.type_msg);
        goto out;
    }
    if (c.errs.len > 0) {
        struct str msg = STR_INIT;
        if (str_appendf(&msg, "validation failure list:%s", c.errs.buf) < 0)
            goto oom;
        lapi_reply_message(out, 422, msg.buf);
        str_free(&msg);
        goto out;
    }
    if (by == NULL) {
        lapi_reply_message(out, 500,
                           "No machineID or bouncer in request context after authentication");
        goto out;
    }
    const json_t *lps = json_object_get(j, "log_processors");
    const json_t *rcs = json_object_get(j, "remediation_components");
    const char *type = machine ? "LP" : "RC";
    /* CrowdSec's order: the log processors, then the remediation components (which win). */
    if (json_array_size(lps) == 0 && machine) {
        lapi_reply_message(out, 400, "Missing log processor data");
        goto out;
    }
    if (json_array_size(lps) > 1) {
        lapi_reply_message(out, 400, "Payload has more than one log processor");
        goto out;
    }
    if (json_array_size(lps) == 1) {
        item = json_array_get(lps, 0);
        payload = json_pack("{s:o}", "metrics", metrics_json(json_object_get(item, "metrics")));
        m.hub_items = dumps_or_empty(json_is_object(json_object_get(item, "hub_items"))
                                         ? hub_json(json_object_get(item, "hub_items"))
                                         : NULL);
        m.datasources = dumps_or_empty(copy_or_null(json_object_get(item, "datasources")));
        if (payload == NULL || m.hub_items == NULL || m.datasources == NULL)
            goto oom;
    }
    if (json_array_size(rcs) == 0 && !machine) {
        lapi_reply_message(out, 400, "Missing remediation component data");
        goto out;
    }
    if (json_array_size(rcs) > 1) {
        lapi_reply_message(out, 400, "Payload has more than one remediation component");
        goto out;
    }
    if (json_array_size(rcs) == 1) {
        const char *t = json_string_value(json_object_get(json_array_get(rcs, 0), "type"));
        item = json_array_get(rcs, 0);
        json_decref(payload);
        payload = json_pack("{s:o,s:s}", "metrics", metrics_json(json_object_get(item, "metrics")),
                            "type", t != NULL ? t : "");
        if (payload == NULL)
            goto oom;
    }
    base = item;
    const json_t *os = json_object_get(base, "os"), *ff = json_object_get(base, "feature_flags");
    struct str flags = STR_INIT;
    for (size_t i = 0; i < json_array_size(ff); i++) {
        const char *f = json_string_value(json_array_get(ff, i));
        if ((i > 0 && str_append_cstr(&flags, ",") < 0) || str_append_cstr(&flags, f ? f : "") < 0)
            c.oom = true;
    }
    const char *ver = json_string_value(json_object_get(base, "version"));
    const char *osn = json_string_value(json_object_get(os, "name"));
    const char *osf = json_string_value(json_object_get(os, "family"));
    const char *osv = json_string_value(json_object_get(os, "version"));
    m.feature_flags = flags.buf != NULL ? flags.buf : strdup("");
    m.version = strdup(ver != NULL ? ver : "");
    m.os_name = strdup(osn != NULL ? osn : "");
    m.os_family = strdup(osf != NULL ? osf : "");
    m.os_version = strdup(osv != NULL ? osv : "");
    m.generated_type = strdup(type);
    m.generated_by = strdup(by);
    m.payload = model_json_dumps(payload);
    m.collected_at = lapi_now_ns();
    if (c.oom || !m.feature_flags || !m.version || !m.os_name || !m.os_family || !m.os_version ||
        !m.generated_type || !m.generated_by || !m.payload)
        goto oom;
    int rc = store_metrics_insert(r->lapi->store, &m, NULL, &serr);
    if (rc != 0) {
        log_error("lapi: storing metrics snapshot for '%s': %s", by, serr.msg);
        lapi_reply_store_error(out, rc, &serr);
        goto out;
    }
    out->status = 201;
    goto out;
oom:
    lapi_reply_message(out, 500, "out of memory");
out:
    str_free(&c.errs);
    store_metrics_clear(&m);
    json_decref(payload);
    json_decref(j);
}

const struct lapi_route lapi_routes_metrics[] = {
    { "POST", "/v1/usage-metrics", false, LAPI_AUTH_EITHER, post_usage_metrics },
};
const size_t lapi_routes_metrics_n = ARRAY_SIZE(lapi_routes_metrics);
