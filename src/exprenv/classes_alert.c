/*
 * classes_alert.c - the alert side of the model as expression classes:
 * pipeline.RuntimeAlert (evt.Overflow, signal), models.Alert (profiles'
 * Alert, scenario asserts), Source, Decision, the alert's Event and Meta.
 *
 * Go exposes several of these fields as pointers (*string, *int32); the
 * getters return the zero value for a nil pointer, which is what every hub
 * expression compares against.
 */
#include "exprenv/classes.h"

/* --- models.MetaItems0 and models.Meta --- */

#define META_ITEM(obj) ((const struct meta_item *)(obj))

static int
meta_item_key(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(META_ITEM(obj)->key);
    return 0;
}

static int
meta_item_value(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(META_ITEM(obj)->value);
    return 0;
}

static const struct expr_field meta_item_fields[] = {
    { "Key", T_STR, meta_item_key },
    { "Value", T_STR, meta_item_value },
};

const struct expr_class exprenv_meta_item_class = {
    .name = "MetaItems0",
    .fields = meta_item_fields,
    .nfields = ARRAY_SIZE(meta_item_fields),
};

static size_t
meta_list_len(const void *obj)
{
    return ((const struct meta_list *)obj)->len;
}

static int
meta_list_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct meta_list *m = obj;

    if (i >= m->len)
        return exprenv_index_error(vm, i, m->len);
    *ret = expr_object(&exprenv_meta_item_class, &m->items[i]);
    return 0;
}

static int
meta_list_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                struct expr_value *ret)
{
    size_t i;

    if (exprenv_slice_index(vm, key, ((const struct meta_list *)obj)->len, &i) < 0)
        return -1;
    return meta_list_at(obj, vm, i, ret);
}

static const struct expr_class meta_list_class = {
    .name = "Meta",
    .elem_type = T_OBJ(exprenv_meta_item_class),
    .index = meta_list_index,
    .len = meta_list_len,
    .at = meta_list_at,
};

static int
meta_get_method(const struct meta_list *m, struct expr_vm *vm, const struct expr_value *args,
                struct expr_value *ret)
{
    const char *key = exprenv_arg_cstr(vm, "GetMeta", args, 0);

    if (key == NULL)
        return -1;
    *ret = exprenv_cstr(meta_get(m, key));
    return 0;
}

/* --- models.Event --- */

#define AEVT(obj) ((const struct alert_event *)(obj))

static int
aevt_meta(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&meta_list_class, &AEVT(obj)->meta);
    return 0;
}

static int
aevt_timestamp(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(AEVT(obj)->timestamp);
    return 0;
}

static int
aevt_get_meta(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    return meta_get_method(&AEVT(obj)->meta, vm, args, ret);
}

static const struct expr_field alert_event_fields[] = {
    { "Meta", T_OBJ(meta_list_class), aevt_meta },
    { "Timestamp", T_STR, aevt_timestamp },
};

static const struct expr_method alert_event_methods[] = {
    { "GetMeta", 1, 1, T_STR, aevt_get_meta },
};

const struct expr_class exprenv_alert_event_class = {
    .name = "models.Event",
    .fields = alert_event_fields,
    .nfields = ARRAY_SIZE(alert_event_fields),
    .methods = alert_event_methods,
    .nmethods = ARRAY_SIZE(alert_event_methods),
};

/* --- models.Source --- */

#define SRC(obj) ((const struct source *)(obj))
#define SRC_STR(fn, field)                                                                         \
    static int fn(const void *obj, struct expr_vm *vm, struct expr_value *ret)                     \
    {                                                                                              \
        *ret = exprenv_cstr(SRC(obj)->field);                                                      \
        return 0;                                                                                  \
    }

SRC_STR(src_as_name, as_name)
SRC_STR(src_as_number, as_number)
SRC_STR(src_cn, cn)
SRC_STR(src_ip, ip)
SRC_STR(src_range, range)
SRC_STR(src_scope, scope)
SRC_STR(src_value, value)

static int
src_latitude(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_float(SRC(obj)->latitude);
    return 0;
}

static int
src_longitude(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_float(SRC(obj)->longitude);
    return 0;
}

static int
src_get_scope(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    *ret = exprenv_cstr(SRC(obj)->scope);
    return 0;
}

static int
src_get_value(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    *ret = exprenv_cstr(SRC(obj)->value);
    return 0;
}

static int
src_get_as_number_name(const void *obj, struct expr_vm *vm, const struct expr_value *args,
                       size_t nargs, struct expr_value *ret)
{
    const struct source *s = SRC(obj);
    const char *num = s->as_number != NULL ? s->as_number : "";
    const char *name = s->as_name != NULL ? s->as_name : "";

    /* Go: AsNumber unless it is "0", then " " + AsName when there is one. */
    *ret = expr_vm_strf(vm, "%s%s%s", strcmp(num, "0") != 0 ? num : "", *name ? " " : "", name);
    return ret->kind == EXPR_STRING ? 0 : expr_vm_error(vm, "out of memory");
}

static int
src_string(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
           struct expr_value *ret)
{
    const struct source *s = SRC(obj);
    const char *cn = s->cn != NULL ? s->cn : "";
    const char *asn = s->as_number != NULL ? s->as_number : "";
    const char *value = s->value != NULL ? s->value : "";
    char extra[256];

    if (s->scope == NULL || *s->scope == '\0') {
        *ret = exprenv_cstr("empty source");
        return 0;
    }
    extra[0] = '\0';
    if (*cn != '\0' || *asn != '\0')
        snprintf(extra, sizeof(extra), " (%s%s%s)", cn, *asn ? "/" : "", asn);
    if (strcmp(s->scope, "Ip") == 0)
        *ret = expr_vm_strf(vm, "ip %s%s", value, extra);
    else if (strcmp(s->scope, "Range") == 0)
        *ret = expr_vm_strf(vm, "range %s%s", value, extra);
    else
        *ret = expr_vm_strf(vm, "%s %s", s->scope, value);
    return ret->kind == EXPR_STRING ? 0 : expr_vm_error(vm, "out of memory");
}

static const struct expr_field source_fields[] = {
    { "AsName", T_STR, src_as_name },
    { "AsNumber", T_STR, src_as_number },
    { "Cn", T_STR, src_cn },
    { "IP", T_STR, src_ip },
    { "Latitude", T_FLOAT, src_latitude },
    { "Longitude", T_FLOAT, src_longitude },
    { "Range", T_STR, src_range },
    { "Scope", T_STR, src_scope },
    { "Value", T_STR, src_value },
};

static const struct expr_method source_methods[] = {
    { "GetScope", 0, 0, T_STR, src_get_scope },
    { "GetValue", 0, 0, T_STR, src_get_value },
    { "GetAsNumberName", 0, 0, T_STR, src_get_as_number_name },
    { "String", 0, 0, T_STR, src_string },
};

const struct expr_class exprenv_source_class = {
    .name = "Source",
    .fields = source_fields,
    .nfields = ARRAY_SIZE(source_fields),
    .methods = source_methods,
    .nmethods = ARRAY_SIZE(source_methods),
};

/* --- models.Decision --- */

#define DEC(obj) ((const struct decision *)(obj))
#define DEC_STR(fn, field)                                                                         \
    static int fn(const void *obj, struct expr_vm *vm, struct expr_value *ret)                     \
    {                                                                                              \
        *ret = exprenv_cstr(DEC(obj)->field);                                                      \
        return 0;                                                                                  \
    }

DEC_STR(dec_duration, duration)
DEC_STR(dec_origin, origin)
DEC_STR(dec_scenario, scenario)
DEC_STR(dec_scope, scope)
DEC_STR(dec_type, type)
DEC_STR(dec_until, until)
DEC_STR(dec_uuid, uuid)
DEC_STR(dec_value, value)

static int
dec_id(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(DEC(obj)->id);
    return 0;
}

static int
dec_simulated(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(DEC(obj)->simulated);
    return 0;
}

static const struct expr_field decision_fields[] = {
    { "Duration", T_STR, dec_duration }, { "ID", T_INT, dec_id },
    { "Origin", T_STR, dec_origin },     { "Scenario", T_STR, dec_scenario },
    { "Scope", T_STR, dec_scope },       { "Simulated", T_BOOL, dec_simulated },
    { "Type", T_STR, dec_type },         { "Until", T_STR, dec_until },
    { "UUID", T_STR, dec_uuid },         { "Value", T_STR, dec_value },
};

const struct expr_class exprenv_decision_class = {
    .name = "Decision",
    .fields = decision_fields,
    .nfields = ARRAY_SIZE(decision_fields),
};

/* --- models.Alert and its slices --- */

#define ALERT(obj) ((const struct alert *)(obj))

static size_t
decisions_len(const void *obj)
{
    return ALERT(obj)->ndecisions;
}

static int
decisions_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    if (i >= ALERT(obj)->ndecisions)
        return exprenv_index_error(vm, i, ALERT(obj)->ndecisions);
    *ret = expr_object(&exprenv_decision_class, &ALERT(obj)->decisions[i]);
    return 0;
}

static int
decisions_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                struct expr_value *ret)
{
    size_t i;

    if (exprenv_slice_index(vm, key, ALERT(obj)->ndecisions, &i) < 0)
        return -1;
    return decisions_at(obj, vm, i, ret);
}

static const struct expr_class decisions_class = {
    .name = "[]*Decision",
    .elem_type = T_OBJ(exprenv_decision_class),
    .index = decisions_index,
    .len = decisions_len,
    .at = decisions_at,
};

static size_t
alert_events_len(const void *obj)
{
    return ALERT(obj)->nevents;
}

static int
alert_events_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    if (i >= ALERT(obj)->nevents)
        return exprenv_index_error(vm, i, ALERT(obj)->nevents);
    *ret = expr_object(&exprenv_alert_event_class, &ALERT(obj)->events[i]);
    return 0;
}

static int
alert_events_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                   struct expr_value *ret)
{
    size_t i;

    if (exprenv_slice_index(vm, key, ALERT(obj)->nevents, &i) < 0)
        return -1;
    return alert_events_at(obj, vm, i, ret);
}

static const struct expr_class alert_events_class = {
    .name = "[]*models.Event",
    .elem_type = T_OBJ(exprenv_alert_event_class),
    .index = alert_events_index,
    .len = alert_events_len,
    .at = alert_events_at,
};

static size_t
labels_len(const void *obj)
{
    return ALERT(obj)->nlabels;
}

static int
labels_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    if (i >= ALERT(obj)->nlabels)
        return exprenv_index_error(vm, i, ALERT(obj)->nlabels);
    *ret = exprenv_cstr(ALERT(obj)->labels[i]);
    return 0;
}

static int
labels_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
             struct expr_value *ret)
{
    size_t i;

    if (exprenv_slice_index(vm, key, ALERT(obj)->nlabels, &i) < 0)
        return -1;
    return labels_at(obj, vm, i, ret);
}

static bool
labels_has(const void *obj, const struct expr_value *key)
{
    if (key->kind != EXPR_STRING)
        return false;
    for (size_t i = 0; i < ALERT(obj)->nlabels; i++) {
        const char *l = ALERT(obj)->labels[i];
        if (strlen(l) == key->u.s.len && memcmp(l, key->u.s.ptr, key->u.s.len) == 0)
            return true;
    }
    return false;
}

static const struct expr_class labels_class = {
    .name = "[]string",
    .elem_type = T_STR,
    .index = labels_index,
    .len = labels_len,
    .at = labels_at,
    .has = labels_has,
};

#define ALERT_STR(fn, field)                                                                       \
    static int fn(const void *obj, struct expr_vm *vm, struct expr_value *ret)                     \
    {                                                                                              \
        *ret = exprenv_cstr(ALERT(obj)->field);                                                    \
        return 0;                                                                                  \
    }

ALERT_STR(alert_created_at, created_at)
ALERT_STR(alert_kind, kind)
ALERT_STR(alert_leakspeed, leakspeed)
ALERT_STR(alert_machine_id, machine_id)
ALERT_STR(alert_message, message)
ALERT_STR(alert_scenario, scenario)
ALERT_STR(alert_scenario_hash, scenario_hash)
ALERT_STR(alert_scenario_version, scenario_version)
ALERT_STR(alert_start_at, start_at)
ALERT_STR(alert_stop_at, stop_at)
ALERT_STR(alert_uuid, uuid)

static int
alert_capacity(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(ALERT(obj)->capacity);
    return 0;
}

static int
alert_decisions(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&decisions_class, obj);
    return 0;
}

static int
alert_events(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&alert_events_class, obj);
    return 0;
}

static int
alert_events_count(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(ALERT(obj)->events_count);
    return 0;
}

static int
alert_id(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(ALERT(obj)->id);
    return 0;
}

static int
alert_labels(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&labels_class, obj);
    return 0;
}

static int
alert_meta(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&meta_list_class, &ALERT(obj)->meta);
    return 0;
}

static int
alert_remediation(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(ALERT(obj)->remediation);
    return 0;
}

static int
alert_simulated(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(ALERT(obj)->simulated);
    return 0;
}

static int
alert_source(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_source_class, ALERT(obj)->source);
    return 0;
}

static int
alert_get_scope(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    *ret = exprenv_cstr(alert_scope(ALERT(obj)));
    return 0;
}

static int
alert_get_value(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    *ret = exprenv_cstr(alert_value(ALERT(obj)));
    return 0;
}

static int
alert_get_scenario(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                   struct expr_value *ret)
{
    *ret = exprenv_cstr(ALERT(obj)->scenario);
    return 0;
}

static int
alert_get_events_count(const void *obj, struct expr_vm *vm, const struct expr_value *args,
                       size_t nargs, struct expr_value *ret)
{
    *ret = expr_int(ALERT(obj)->events_count);
    return 0;
}

static int
alert_get_meta(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    return meta_get_method(&ALERT(obj)->meta, vm, args, ret);
}

static const struct expr_field alert_fields[] = {
    { "Capacity", T_INT, alert_capacity },
    { "CreatedAt", T_STR, alert_created_at },
    { "Decisions", T_OBJ(decisions_class), alert_decisions },
    { "Events", T_OBJ(alert_events_class), alert_events },
    { "EventsCount", T_INT, alert_events_count },
    { "ID", T_INT, alert_id },
    { "Kind", T_STR, alert_kind },
    { "Labels", T_OBJ(labels_class), alert_labels },
    { "Leakspeed", T_STR, alert_leakspeed },
    { "MachineID", T_STR, alert_machine_id },
    { "Message", T_STR, alert_message },
    { "Meta", T_OBJ(meta_list_class), alert_meta },
    { "Remediation", T_BOOL, alert_remediation },
    { "Scenario", T_STR, alert_scenario },
    { "ScenarioHash", T_STR, alert_scenario_hash },
    { "ScenarioVersion", T_STR, alert_scenario_version },
    { "Simulated", T_BOOL, alert_simulated },
    { "Source", T_OBJ(exprenv_source_class), alert_source },
    { "StartAt", T_STR, alert_start_at },
    { "StopAt", T_STR, alert_stop_at },
    { "UUID", T_STR, alert_uuid },
};

static const struct expr_method alert_methods[] = {
    { "GetScope", 0, 0, T_STR, alert_get_scope },
    { "GetValue", 0, 0, T_STR, alert_get_value },
    { "GetScenario", 0, 0, T_STR, alert_get_scenario },
    { "GetEventsCount", 0, 0, T_INT, alert_get_events_count },
    { "GetMeta", 1, 1, T_STR, alert_get_meta },
};

const struct expr_class exprenv_alert_class = {
    .name = "Alert",
    .fields = alert_fields,
    .nfields = ARRAY_SIZE(alert_fields),
    .methods = alert_methods,
    .nmethods = ARRAY_SIZE(alert_methods),
};

struct expr_value
exprenv_alert_value(const struct alert *a)
{
    return expr_object(&exprenv_alert_class, a);
}

/* --- pipeline.RuntimeAlert --- */

#define RA(obj) ((const struct runtime_alert *)(obj))

/* Sources[k] for a missing k is Go's zero Source, whose fields all read "". */
static const struct source zero_source;

static int
sources_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
              struct expr_value *ret)
{
    const char *k;
    size_t klen;

    if (exprenv_map_key_arg(vm, key, &k, &klen) < 0)
        return -1;
    for (size_t i = 0; i < RA(obj)->nsources; i++) {
        const struct source_entry *e = &RA(obj)->sources[i];
        if (strlen(e->key) == klen && memcmp(e->key, k, klen) == 0) {
            *ret = expr_object(&exprenv_source_class, &e->source);
            return 0;
        }
    }
    *ret = expr_object(&exprenv_source_class, &zero_source);
    return 0;
}

static size_t
sources_len(const void *obj)
{
    return RA(obj)->nsources;
}

static int
sources_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    if (i >= RA(obj)->nsources)
        return expr_vm_error(vm, "map iteration out of range");
    *ret = exprenv_cstr(RA(obj)->sources[i].key);
    return 0;
}

static bool
sources_has(const void *obj, const struct expr_value *key)
{
    if (key->kind != EXPR_STRING)
        return false;
    for (size_t i = 0; i < RA(obj)->nsources; i++) {
        const char *k = RA(obj)->sources[i].key;
        if (strlen(k) == key->u.s.len && memcmp(k, key->u.s.ptr, key->u.s.len) == 0)
            return true;
    }
    return false;
}

static const struct expr_class sources_class = {
    .name = "map[string]models.Source",
    .is_map = true,
    .elem_type = T_OBJ(exprenv_source_class),
    .index = sources_index,
    .len = sources_len,
    .at = sources_at,
    .has = sources_has,
};

static size_t
api_alerts_len(const void *obj)
{
    return RA(obj)->napi_alerts;
}

static int
api_alerts_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    if (i >= RA(obj)->napi_alerts)
        return exprenv_index_error(vm, i, RA(obj)->napi_alerts);
    *ret = expr_object(&exprenv_alert_class, RA(obj)->api_alerts[i]);
    return 0;
}

static int
api_alerts_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                 struct expr_value *ret)
{
    size_t i;

    if (exprenv_slice_index(vm, key, RA(obj)->napi_alerts, &i) < 0)
        return -1;
    return api_alerts_at(obj, vm, i, ret);
}

static const struct expr_class api_alerts_class = {
    .name = "[]models.Alert",
    .elem_type = T_OBJ(exprenv_alert_class),
    .index = api_alerts_index,
    .len = api_alerts_len,
    .at = api_alerts_at,
};

static int
ra_mapkey(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(RA(obj)->mapkey);
    return 0;
}

static int
ra_bucket_id(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(RA(obj)->bucket_id);
    return 0;
}

static int
ra_whitelisted(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(RA(obj)->whitelisted);
    return 0;
}

static int
ra_reprocess(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(RA(obj)->reprocess);
    return 0;
}

static int
ra_sources(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&sources_class, obj);
    return 0;
}

static int
ra_alert(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_alert_class, RA(obj)->alert);
    return 0;
}

static int
ra_api_alerts(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&api_alerts_class, obj);
    return 0;
}

static int
ra_get_sources(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    struct expr_array *out = expr_vm_array(vm, RA(obj)->nsources);

    if (out == NULL)
        return expr_vm_error(vm, "out of memory");
    for (size_t i = 0; i < RA(obj)->nsources; i++) {
        if (expr_array_push(vm, out, exprenv_cstr(RA(obj)->sources[i].key)) < 0)
            return expr_vm_error(vm, "out of memory");
    }
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = out };
    return 0;
}

static const struct expr_field runtime_alert_fields[] = {
    { "Mapkey", T_STR, ra_mapkey },
    { "BucketId", T_STR, ra_bucket_id },
    { "Whitelisted", T_BOOL, ra_whitelisted },
    { "Reprocess", T_BOOL, ra_reprocess },
    { "Sources", T_OBJ(sources_class), ra_sources },
    { "Alert", T_OBJ(exprenv_alert_class), ra_alert },
    { "APIAlerts", T_OBJ(api_alerts_class), ra_api_alerts },
};

static const struct expr_method runtime_alert_methods[] = {
    { "GetSources", 0, 0, T_ARRAY_OF(exprenv_t_string), ra_get_sources },
};

const struct expr_class exprenv_runtime_alert_class = {
    .name = "RuntimeAlert",
    .fields = runtime_alert_fields,
    .nfields = ARRAY_SIZE(runtime_alert_fields),
    .methods = runtime_alert_methods,
    .nmethods = ARRAY_SIZE(runtime_alert_methods),
};

struct expr_value
exprenv_runtime_alert_value(const struct runtime_alert *r)
{
    return expr_object(&exprenv_runtime_alert_class, r);
}
