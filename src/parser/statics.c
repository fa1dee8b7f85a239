/*
 * statics.c - `statics:` entries: decoding, the `target:` path resolution
 * CrowdSec does with reflection (SetTargetByName), and applying them to an
 * event (RuntimeStatic.Apply in runtime.go).
 *
 * The value is `value:` when set, else the expression's result formatted as
 * CrowdSec does (string as is, int in decimal, float with %f; nil, maps and
 * arrays give "" and the static is skipped; any other type is an error that
 * stops the parse). An empty value is skipped, except for method ParseDate.
 */
#include "common/common.h"

#include <inttypes.h>
#include <math.h>

#include "config/config.h"
#include "exprenv/exprenv.h"
#include "parser/internal.h"

static const char *const static_keys[] = { "target", "parsed",     "meta",  "enriched",
                                           "value",  "expression", "method" };

struct target_name {
    const char *path;
    int target;
};

/* Settable string leaves of pipeline.Event, by their Go field path. */
static const struct target_name target_fields[] = {
    { "WhitelistReason", PTARGET_WHITELIST_REASON },
    { "Stage", PTARGET_STAGE },
    { "StrTime", PTARGET_STR_TIME },
    { "StrTimeFormat", PTARGET_STR_TIME_FORMAT },
    { "MarshaledTime", PTARGET_MARSHALED_TIME },
    { "Line.Raw", PTARGET_LINE_RAW },
    { "Line.Src", PTARGET_LINE_SRC },
    { "Line.Module", PTARGET_LINE_MODULE },
    { "Overflow.Mapkey", PTARGET_OVERFLOW_MAPKEY },
    { "Overflow.BucketId", PTARGET_OVERFLOW_BUCKET_ID },
    { "Overflow.Alert.Source.Scope", PTARGET_SOURCE_SCOPE },
    { "Overflow.Alert.Source.Value", PTARGET_SOURCE_VALUE },
    { "Overflow.Alert.Source.IP", PTARGET_SOURCE_IP },
    { "Overflow.Alert.Source.Range", PTARGET_SOURCE_RANGE },
    { "Overflow.Alert.Source.AsName", PTARGET_SOURCE_AS_NAME },
    { "Overflow.Alert.Source.AsNumber", PTARGET_SOURCE_AS_NUMBER },
    { "Overflow.Alert.Source.Cn", PTARGET_SOURCE_CN },
};

/* Maps of pipeline.Event: a path "<map>.<key>[.<ignored>...]" sets map[key]. */
static const struct target_name target_maps[] = {
    { "Meta", PTARGET_META },
    { "Parsed", PTARGET_PARSED },
    { "Enriched", PTARGET_ENRICHED },
    { "Unmarshaled", PTARGET_UNMARSHALED },
    { "Line.Labels", PTARGET_LINE_LABELS },
};

/*
 * Resolves a target path like SetTargetByName walks it: "evt." stripped, a
 * map consumes exactly one more component (the rest is ignored), anything
 * else must be a string field. An unknown path resolves to PTARGET_NONE: the
 * static then does nothing, as CrowdSec only logs it.
 */
static int
resolve_target(const char *path, char **ret_key)
{
    size_t len;

    *ret_key = NULL;
    if (strncmp(path, "evt.", 4) == 0)
        path += 4;
    for (size_t i = 0; i < ARRAY_SIZE(target_fields); i++)
        if (strcmp(path, target_fields[i].path) == 0)
            return target_fields[i].target;
    for (size_t i = 0; i < ARRAY_SIZE(target_maps); i++) {
        len = strlen(target_maps[i].path);
        if (strncmp(path, target_maps[i].path, len) == 0 && path[len] == '.') {
            const char *key = path + len + 1;
            const char *dot = strchr(key, '.');
            *ret_key = strndup(key, dot ? (size_t)(dot - key) : strlen(key));
            return *ret_key ? target_maps[i].target : -ENOMEM;
        }
    }
    return PTARGET_NONE;
}

void
parser_static_clear(struct parser_static *s)
{
    if (s == NULL)
        return;
    free(s->key);
    free(s->value);
    expr_program_free(s->expr);
    memset(s, 0, sizeof(*s));
}

int
parser_static_decode(struct parser_loader *ld, const struct ynode *y, struct parser_static *ret,
                     bool node_level)
{
    char *target = NULL, *parsed = NULL, *meta = NULL, *enriched = NULL, *method = NULL;
    int rc;

    memset(ret, 0, sizeof(*ret));
    if ((rc = parser_yaml_check_keys(ld, y, "parser.Static", static_keys,
                                     ARRAY_SIZE(static_keys))) < 0)
        return rc;
    if ((rc = parser_yaml_string(ld, parser_yaml_get(y, "target"), "target", &target)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "parsed"), "parsed", &parsed)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "meta"), "meta", &meta)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "enriched"), "enriched", &enriched)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "method"), "method", &method)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "value"), "value", &ret->value)) < 0)
        goto out;
    if (ret->value != NULL && ret->value[0] == '\0') {
        free(ret->value);
        ret->value = NULL;
    }
    ret->value_len = ret->value ? strlen(ret->value) : 0;
    const struct ynode *ex = parser_yaml_get(y, "expression");
    bool has_expr = ex != NULL && ex->type == YNODE_SCALAR && !ynode_is_null(ex);
    if ((rc = parser_compile_expr(ld, ex, "expression", false, &ret->expr)) < 0)
        goto out;

#define SET(s) ((s) != NULL && (s)[0] != '\0')
    /* the first set target wins, in runtime.go's order */
    if (SET(method)) {
        ret->kind = PSTATIC_METHOD;
        ret->method = enrich_lookup(method);
        ret->parse_date = strcmp(method, "ParseDate") == 0;
        if (ret->method == NULL) {
            rc = parser_load_fail(ld, parser_yaml_get(y, "method")->line,
                                  "key \"method\": unknown enricher \"%.60s\"", method);
            goto out;
        }
    } else if (SET(parsed)) {
        ret->kind = PSTATIC_PARSED;
        ret->key = parsed;
        parsed = NULL;
    } else if (SET(meta)) {
        ret->kind = PSTATIC_META;
        ret->key = meta;
        meta = NULL;
    } else if (SET(enriched)) {
        ret->kind = PSTATIC_ENRICHED;
        ret->key = enriched;
        enriched = NULL;
    } else if (SET(target)) {
        ret->kind = PSTATIC_TARGET;
        ret->target = resolve_target(target, &ret->key);
        if (ret->target < 0) {
            rc = parser_load_fail(ld, y->line, "out of memory");
            goto out;
        }
    } else {
        rc =
            parser_load_fail(ld, y->line, "static: at least one of meta/parsed/target must be set");
        goto out;
    }
    /* node.go validates node-level statics only: `enriched` alone is refused there */
    if (node_level && ret->kind != PSTATIC_METHOD && !SET(meta) && !SET(parsed) && !SET(target) &&
        ret->kind == PSTATIC_ENRICHED) {
        rc = parser_load_fail(ld, y->line, "static: at least one of meta/event/target must be set");
        goto out;
    }
    if (ret->value == NULL && !has_expr) {
        rc = parser_load_fail(ld, y->line,
                              ret->kind == PSTATIC_METHOD
                                  ? "static: when method is set, expression must be present"
                                  : "static: value or expression must be set");
        goto out;
    }
#undef SET
out:
    free(target);
    free(parsed);
    free(meta);
    free(enriched);
    free(method);
    if (rc < 0)
        parser_static_clear(ret);
    return rc;
}

int
parser_value_string(const struct expr_value *v, char *buf, size_t size, struct strv *ret)
{
    int n;

    *ret = (struct strv){ "", 0 };
    switch (v->kind) {
    case EXPR_STRING: *ret = (struct strv){ v->u.s.ptr, v->u.s.len }; return 0;
    case EXPR_INT: n = snprintf(buf, size, "%" PRId64, v->u.i); break;
    case EXPR_FLOAT:
        if (isnan(v->u.f))
            n = snprintf(buf, size, "NaN");
        else if (isinf(v->u.f))
            n = snprintf(buf, size, "%sInf", v->u.f > 0 ? "+" : "-");
        else
            n = snprintf(buf, size, "%f", v->u.f);
        break;
    case EXPR_NIL:
    case EXPR_ARRAY:
    case EXPR_MAP: return 0;
    case EXPR_OBJECT:
        /* map[string]any and []any (JSON values) are skipped; Go's map[string]string is not */
        if (v->u.o.cls == &exprenv_json_object_class || v->u.o.cls == &exprenv_json_array_class)
            return 0;
        return -1;
    default: return -1;
    }
    if (n < 0 || (size_t)n >= size)
        return -1;
    *ret = (struct strv){ buf, (size_t)n };
    return 0;
}

/* An owned copy for the malloc'd strings of alerts (model_strset wants a C string). */
static int
set_source_field(struct event *evt, int target, struct strv value)
{
    struct alert *a = evt->overflow.alert;
    char **dst;
    char *copy;
    int rc;

    if (a == NULL || a->source == NULL)
        return 0; /* a nil pointer on the way: SetTargetByName recovers and gives up */
    switch (target) {
    case PTARGET_SOURCE_SCOPE: dst = &a->source->scope; break;
    case PTARGET_SOURCE_VALUE: dst = &a->source->value; break;
    case PTARGET_SOURCE_IP: dst = &a->source->ip; break;
    case PTARGET_SOURCE_RANGE: dst = &a->source->range; break;
    case PTARGET_SOURCE_AS_NAME: dst = &a->source->as_name; break;
    case PTARGET_SOURCE_AS_NUMBER: dst = &a->source->as_number; break;
    default: dst = &a->source->cn; break;
    }
    if ((copy = strndup(value.ptr, value.len)) == NULL)
        return -ENOMEM;
    rc = model_strset(dst, copy);
    free(copy);
    return rc;
}

static int
set_target(struct event *evt, const struct parser_static *st, struct strv value)
{
    char *copy;
    json_t *j;

    switch (st->target) {
    case PTARGET_WHITELIST_REASON:
        return event_set_str(evt, &evt->whitelist_reason, value.ptr, value.len);
    case PTARGET_STAGE: return event_set_str(evt, &evt->stage, value.ptr, value.len);
    case PTARGET_STR_TIME: return event_set_str(evt, &evt->str_time, value.ptr, value.len);
    case PTARGET_STR_TIME_FORMAT:
        return event_set_str(evt, &evt->str_time_format, value.ptr, value.len);
    case PTARGET_MARSHALED_TIME:
        return event_set_str(evt, &evt->marshaled_time, value.ptr, value.len);
    case PTARGET_LINE_RAW: return event_set_str(evt, &evt->line.raw, value.ptr, value.len);
    case PTARGET_LINE_SRC: return event_set_str(evt, &evt->line.src, value.ptr, value.len);
    case PTARGET_LINE_MODULE: return event_set_str(evt, &evt->line.module, value.ptr, value.len);
    case PTARGET_META:
        return strmap_set(&evt->meta, &evt->arena, st->key, strlen(st->key), value.ptr, value.len);
    case PTARGET_PARSED:
        return strmap_set(&evt->parsed, &evt->arena, st->key, strlen(st->key), value.ptr,
                          value.len);
    case PTARGET_ENRICHED:
        return strmap_set(&evt->enriched, &evt->arena, st->key, strlen(st->key), value.ptr,
                          value.len);
    case PTARGET_LINE_LABELS:
        return strmap_set(&evt->line.labels, &evt->arena, st->key, strlen(st->key), value.ptr,
                          value.len);
    case PTARGET_UNMARSHALED:
        if (evt->unmarshaled == NULL && (evt->unmarshaled = json_object()) == NULL)
            return -ENOMEM;
        if ((j = json_stringn_nocheck(value.ptr, value.len)) == NULL)
            return -ENOMEM;
        return json_object_set_new_nocheck(evt->unmarshaled, st->key, j) < 0 ? -ENOMEM : 0;
    case PTARGET_OVERFLOW_MAPKEY:
    case PTARGET_OVERFLOW_BUCKET_ID:
        if ((copy = strndup(value.ptr, value.len)) == NULL)
            return -ENOMEM;
        {
            int rc = model_strset(st->target == PTARGET_OVERFLOW_MAPKEY ? &evt->overflow.mapkey
                                                                        : &evt->overflow.bucket_id,
                                  copy);
            free(copy);
            return rc;
        }
    case PTARGET_NONE: return 0;
    default: return set_source_field(evt, st->target, value);
    }
}

/* Applies one static; 0, -1 (bad expression result type) or -ENOMEM. */
static int
apply_one(const struct parser_set *ps, struct parser_worker *w, const struct parser_static *st,
          struct event *evt)
{
    char buf[64];
    struct strv value = { "", 0 };
    struct expr_value out;
    struct expr_error err;

    if (st->value != NULL) {
        value = (struct strv){ st->value, st->value_len };
    } else if (st->expr != NULL) {
        w->vars[EXPRENV_SLOT_EVT] = exprenv_event_value(evt);
        if (expr_eval(w->vm, st->expr, w->vars, &out, &err) < 0) {
            PARSER_COUNT(ps, expr_errors);
            return 0;
        }
        if (parser_value_string(&out, buf, sizeof(buf), &value) < 0) {
            PARSER_COUNT(ps, expr_errors);
            return -1;
        }
    }
    if (value.len == 0 && !st->parse_date)
        return 0;
    switch (st->kind) {
    case PSTATIC_METHOD: return st->method(ps->enrich, value.ptr, value.len, evt);
    case PSTATIC_PARSED:
        return strmap_set(&evt->parsed, &evt->arena, st->key, strlen(st->key), value.ptr,
                          value.len);
    case PSTATIC_META:
        return strmap_set(&evt->meta, &evt->arena, st->key, strlen(st->key), value.ptr, value.len);
    case PSTATIC_ENRICHED:
        return strmap_set(&evt->enriched, &evt->arena, st->key, strlen(st->key), value.ptr,
                          value.len);
    default: return set_target(evt, st, value);
    }
}

int
parser_statics_apply(const struct parser_set *ps, struct parser_worker *w,
                     const struct parser_static *st, size_t n, struct event *evt)
{
    for (size_t i = 0; i < n; i++) {
        int rc = apply_one(ps, w, &st[i], evt);
        if (rc < 0)
            return rc;
    }
    return 0;
}
