/*
 * alert.c - an overflowing bucket's RuntimeAlert, as CrowdSec's NewAlert
 * (overflows.go) builds it: the sources of the queued events under the
 * scenario's scope, then one models.Alert per source with the scenario's
 * identity, counts, times, message and the queued events' Meta.
 */
#include <inttypes.h>

#include "common/common.h"

#include "bucket/internal.h"
#include "common/ip.h"

static const char *
meta_of(const struct strmap *m, const char *key)
{
    const struct strv *v = strmap_get_cstr(m, key);

    return v != NULL ? v->ptr : NULL;
}

/* Runs the scope expression on evt: its string, or "" for another type; -1 on a run-time error. */
static int
scope_value(struct bucket_shard *sh, const struct scenario *sc, const struct event *evt, char **ret)
{
    struct expr_value vars[1] = { exprenv_event_value(evt) };
    struct expr_value v;
    struct expr_error e;

    if (expr_eval(sh->vm, sc->scope_expr, vars, &v, &e) < 0)
        return -1;
    *ret = v.kind == EXPR_STRING ? strndup(v.u.s.ptr, v.u.s.len) : strdup("");
    return *ret != NULL ? 0 : -ENOMEM;
}

/* strconv.ParseFloat(v, 32) as float32; Go leaves 0 on a syntax error. */
static float
parse_f32(const char *s)
{
    char *end;
    float f;

    errno = 0;
    f = strtof(s, &end);
    if (end == s || *end != '\0')
        return 0;
    return f;
}

static int
copy_source(struct source *dst, const struct source *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->latitude = src->latitude;
    dst->longitude = src->longitude;
    if (model_strset(&dst->as_name, src->as_name) < 0 ||
        model_strset(&dst->as_number, src->as_number) < 0 || model_strset(&dst->cn, src->cn) < 0 ||
        model_strset(&dst->ip, src->ip) < 0 || model_strset(&dst->range, src->range) < 0 ||
        model_strset(&dst->scope, src->scope) < 0 || model_strset(&dst->value, src->value) < 0)
        return -ENOMEM;
    return 0;
}

/* sources[key] = src (takes src's strings). */
static int
put_source(struct runtime_alert *ra, const char *key, struct source *src)
{
    struct source *dst = runtime_alert_add_source(ra, key);

    if (dst == NULL) {
        source_clear(src);
        return -ENOMEM;
    }
    source_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
    return 0;
}

/* eventSources: a log event's source under the scenario's scope. */
static int
event_sources(struct bucket_shard *sh, const struct scenario *sc, const struct event *evt,
              struct runtime_alert *ra)
{
    struct source src = { 0 };
    const char *v;
    int rc = -ENOMEM;

    if (strcmp(sc->scope_type, "Ip") != 0 && strcmp(sc->scope_type, "Range") != 0) {
        if (sc->scope_expr == NULL)
            return -1; /* empty scope information */
        if ((rc = scope_value(sh, sc, evt, &src.value)) < 0 ||
            (rc = model_strset(&src.scope, sc->scope_type)) < 0)
            goto fail;
        return put_source(ra, src.value, &src);
    }
    struct ip_addr ip;
    if ((v = meta_of(&evt->meta, "source_ip")) == NULL || ip_parse(v, strlen(v), &ip) < 0)
        return -1;
    if (model_strset(&src.ip, v) < 0 || model_strset(&src.scope, sc->scope_type) < 0)
        goto fail;
    const char *asn = meta_of(&evt->enriched, "ASNumber");
    if (asn == NULL)
        asn = meta_of(&evt->enriched, "ASNNumber");
    /* Absent fields stay NULL (Go's "", omitted from JSON). */
    if (model_strset(&src.as_number, asn) < 0 ||
        model_strset(&src.cn, meta_of(&evt->enriched, "IsoCode")) < 0 ||
        model_strset(&src.as_name, meta_of(&evt->enriched, "ASNOrg")) < 0)
        goto fail;
    if ((v = meta_of(&evt->enriched, "Latitude")) != NULL)
        src.latitude = parse_f32(v);
    if ((v = meta_of(&evt->enriched, "Longitude")) != NULL)
        src.longitude = parse_f32(v);
    if ((v = meta_of(&evt->meta, "SourceRange")) != NULL && v[0] != '\0') {
        struct ip_range r;
        char buf[IP_STR_MAX];
        if (strchr(v, '/') == NULL || ip_range_parse_cidr(v, strlen(v), &r) < 0) {
            rc = -1;
            goto fail;
        }
        ip_range_format(&r, buf, sizeof(buf));
        if (model_strset(&src.range, buf) < 0)
            goto fail;
    }
    if (strcmp(sc->scope_type, "Ip") == 0) {
        if (model_strset(&src.value, src.ip) < 0)
            goto fail;
    } else if (sc->scope_expr != NULL) {
        if ((rc = scope_value(sh, sc, evt, &src.value)) < 0)
            goto fail;
    } else if (model_strset(&src.value, src.range ? src.range : "") < 0) {
        goto fail;
    }
    return put_source(ra, src.value, &src);
fail:
    source_clear(&src);
    return rc;
}

/* overflowEventSources: a reprocessed overflow's sources, kept or widened to Range. */
static int
overflow_sources(struct bucket_shard *sh, const struct scenario *sc, const struct event *evt,
                 struct runtime_alert *ra)
{
    for (size_t i = 0; i < evt->overflow.nsources; i++) {
        const struct source_entry *se = &evt->overflow.sources[i];
        struct source src = { 0 };
        int rc;

        if (se->source.scope == NULL)
            continue;
        if (strcmp(se->source.scope, sc->scope_type) == 0) {
            if ((rc = copy_source(&src, &se->source)) < 0 ||
                (rc = put_source(ra, se->key, &src)) < 0) {
                source_clear(&src);
                return rc;
            }
            continue;
        }
        if (strcmp(sc->scope_type, "Range") != 0 || strcmp(se->source.scope, "Ip") != 0)
            continue;
        src.latitude = se->source.latitude;
        src.longitude = se->source.longitude;
        if (model_strset(&src.as_name, se->source.as_name) < 0 ||
            model_strset(&src.as_number, se->source.as_number) < 0 ||
            model_strset(&src.cn, se->source.cn) < 0 ||
            model_strset(&src.range, se->source.range) < 0 ||
            model_strset(&src.scope, sc->scope_type) < 0) {
            source_clear(&src);
            return -ENOMEM;
        }
        if (sc->scope_expr != NULL)
            rc = scope_value(sh, sc, evt, &src.value);
        else
            rc = model_strset(&src.value, se->source.range ? se->source.range : "");
        if (rc < 0 || src.value[0] == '\0') {
            source_clear(&src);
            if (rc < 0)
                return rc;
            continue;
        }
        if ((rc = put_source(ra, src.value, &src)) < 0)
            return rc;
    }
    return 0;
}

static int
key_cmp(const void *a, const void *b)
{
    const struct strmap_entry *x = *(const struct strmap_entry *const *)a;
    const struct strmap_entry *y = *(const struct strmap_entry *const *)b;

    return strv_cmp(x->key, y->key);
}

/* EventsFromQueue: each queued event's Meta sorted by key, with its timestamp. */
static int
add_events(struct alert *a, const struct queue *q)
{
    for (size_t i = 0; i < q->queue.len; i++) {
        const struct event *e = q->queue.items[i];
        size_t n = strmap_len(&e->meta);
        const struct strmap_entry **sorted;
        struct alert_event *ae;
        char ts[GOTIME_RFC3339_MAX];

        /* Go skips a nil Meta; ours cannot be nil, so an empty one stands for it. */
        if (n == 0)
            continue;
        if ((ae = alert_add_event(a)) == NULL)
            return -ENOMEM;
        if (e->marshaled_time.len > 0) {
            if ((ae->timestamp = strndup(e->marshaled_time.ptr, e->marshaled_time.len)) == NULL)
                return -ENOMEM;
        } else if (e->time.unix_ns != 0) {
            gotime_format_rfc3339nano(e->time, ts, sizeof(ts));
            if ((ae->timestamp = strdup(ts)) == NULL)
                return -ENOMEM;
        }
        if ((sorted = malloc(n * sizeof(*sorted))) == NULL)
            return -ENOMEM;
        for (size_t j = 0; j < n; j++)
            sorted[j] = strmap_at(&e->meta, j);
        qsort(sorted, n, sizeof(*sorted), key_cmp);
        for (size_t j = 0; j < n; j++) {
            if (meta_append(&ae->meta, sorted[j]->key.ptr, sorted[j]->value.ptr) < 0) {
                free(sorted);
                return -ENOMEM;
            }
        }
        free(sorted);
    }
    return 0;
}

int
bucket_alert_message(const char *scope, const char *source, const char *name, int64_t count,
                     struct gotime first, struct gotime ovflw, struct gotime last, char **ret)
{
    char dur[GOTIME_DURATION_STR_MAX], at[96];
    int64_t d;
    struct str s = { 0 };

    /* Go's Time.Sub saturates instead of overflowing. */
    if (__builtin_sub_overflow(ovflw.unix_ns, first.unix_ns, &d))
        d = ovflw.unix_ns > first.unix_ns ? INT64_MAX : INT64_MIN;
    gotime_format_duration(d, dur, sizeof(dur));
    gotime_format_string(last, at, sizeof(at));
    if (str_appendf(&s, "%s %s performed '%s' (%" PRId64 " events over %s) at %s", scope, source,
                    name, count, dur, at) < 0) {
        str_free(&s);
        return -ENOMEM;
    }
    *ret = str_steal(&s);
    return *ret != NULL ? 0 : -ENOMEM;
}

/* One API alert for a source (each source gets its own copy of everything). */
static int
api_alert(const struct bucket *b, const char *message, const struct source *src, struct alert **ret)
{
    const struct scenario *sc = b->sc;
    const struct leaky *l = &b->leaky;
    struct alert *a = alert_new();
    char start[GOTIME_RFC3339_MAX], stop[GOTIME_RFC3339_MAX], ls[GOTIME_DURATION_STR_MAX];

    if (a == NULL)
        return -ENOMEM;
    gotime_format_rfc3339nano(l->first_ts, start, sizeof(start));
    gotime_format_rfc3339nano(l->ovflw_ts, stop, sizeof(stop));
    gotime_format_duration(sc->leakspeed_ns, ls, sizeof(ls));
    a->capacity = (int32_t)sc->factory.spec.capacity;
    a->events_count = (int32_t)l->total_count;
    a->simulated = sc->factory.simulated;
    a->remediation = sc->remediation;
    if (model_strset(&a->scenario, sc->factory.spec.name) < 0 ||
        model_strset(&a->scenario_hash, sc->hash) < 0 ||
        model_strset(&a->scenario_version, sc->factory.spec.version) < 0 ||
        model_strset(&a->leakspeed, ls) < 0 || model_strset(&a->message, message) < 0 ||
        model_strset(&a->start_at, start) < 0 || model_strset(&a->stop_at, stop) < 0 ||
        model_strset(&a->kind, "crowdsec") < 0 || add_events(a, &b->queue) < 0 ||
        (a->source = calloc(1, sizeof(*a->source))) == NULL || copy_source(a->source, src) < 0) {
        alert_free(a);
        return -ENOMEM;
    }
    *ret = a;
    return 0;
}

int
bucket_build_alert(struct bucket_shard *sh, struct bucket *b, struct runtime_alert *ra)
{
    const struct scenario *sc = b->sc;
    const char *scope = "";
    char *msg = NULL, nsrc[32] = "";
    int rc;

    if (model_strset(&ra->mapkey, b->key) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < b->queue.queue.len; i++) {
        const struct event *e = b->queue.queue.items[i];
        size_t before = ra->nsources;
        rc =
            e->type == EVENT_OVFLW ? overflow_sources(sh, sc, e, ra) : event_sources(sh, sc, e, ra);
        if (rc < 0)
            goto fail;
        /* Every source of an alert must have the scope of the first one. */
        for (size_t j = before; j < ra->nsources; j++) {
            if (strcmp(ra->sources[j].source.scope, ra->sources[0].source.scope) != 0) {
                rc = -1;
                goto fail;
            }
        }
    }
    /* Sources only grow (and may move), so the first one's scope is read at the end. */
    if (ra->nsources > 0)
        scope = ra->sources[0].source.scope;
    if (ra->nsources > 1)
        snprintf(nsrc, sizeof(nsrc), "%zu sources", ra->nsources);
    if ((rc = bucket_alert_message(scope,
                                   ra->nsources > 1    ? nsrc
                                   : ra->nsources == 1 ? ra->sources[0].key
                                                       : "UNKNOWN",
                                   sc->factory.spec.name, b->leaky.total_count, b->leaky.first_ts,
                                   b->leaky.ovflw_ts, b->leaky.last_ts, &msg)) < 0)
        goto fail;
    for (size_t i = 0; i < ra->nsources; i++) {
        struct alert *a;
        if ((rc = api_alert(b, msg, &ra->sources[i].source, &a)) < 0 ||
            (rc = runtime_alert_add_api_alert(ra, a)) < 0)
            goto fail;
    }
    ra->alert = ra->napi_alerts > 0 ? ra->api_alerts[0] : NULL;
    ra->reprocess = sc->factory.spec.reprocess;
    free(msg);
    return 0;
fail:
    free(msg);
    /* Like CrowdSec on an error: the RuntimeAlert keeps only its Mapkey. */
    char *key = ra->mapkey;
    ra->mapkey = NULL;
    runtime_alert_clear(ra);
    ra->mapkey = key;
    return rc;
}
