/*
 * classes.c - pipeline.Event and what hangs off it (Line, the string maps,
 * Unmarshaled, Appsec), the bucket side (Queue, []Event, Leaky and its
 * factory) and hubtest's parser dump, as expression classes.
 *
 * Field and method names are CrowdSec's Go names: hub expressions compile
 * against them, so a missing one is a load error for some hub item. Every
 * getter returns a borrowed view into the host struct; nothing is copied
 * except what Go itself would build (GetSources, ParseIPSources...).
 */
#include "exprenv/classes.h"

#include "common/ip.h"

const struct expr_type exprenv_t_string = T_STR;
const struct expr_type exprenv_t_int = T_INT;
const struct expr_type exprenv_t_any = T_ANY;

const char *
exprenv_arg_cstr(struct expr_vm *vm, const char *method, const struct expr_value *args, size_t i)
{
    if (args[i].kind != EXPR_STRING) {
        expr_vm_error(vm, "cannot use %s as argument (type string) to call %s",
                      expr_kind_name(args[i].kind), method);
        return NULL;
    }
    struct expr_value v = expr_vm_str(vm, args[i].u.s.ptr, args[i].u.s.len);
    if (v.kind != EXPR_STRING) {
        expr_vm_error(vm, "out of memory");
        return NULL;
    }
    return v.u.s.ptr;
}

int
exprenv_slice_index(struct expr_vm *vm, const struct expr_value *key, size_t len, size_t *ret)
{
    int64_t i;

    /* expr_vm_error returns -1, but from another file: returning -1 here lets the static
     * analyser see that callers never read *ret after a failure. */
    if (key->kind == EXPR_INT) {
        i = key->u.i;
    } else if (key->kind == EXPR_FLOAT) {
        i = (int64_t)key->u.f;
    } else {
        expr_vm_error(vm, "invalid operation: cannot index slice with %s",
                      expr_kind_name(key->kind));
        return -1;
    }
    int64_t n = (int64_t)len;
    if (i < 0)
        i += n;
    if (i < 0 || i >= n) {
        expr_vm_error(vm, "index out of range: %lld (array length is %lld)",
                      (long long)(key->kind == EXPR_INT ? key->u.i : i), (long long)n);
        return -1;
    }
    *ret = (size_t)i;
    return 0;
}

bool
exprenv_map_key(const struct expr_value *key, const char **ret_ptr, size_t *ret_len)
{
    if (key->kind != EXPR_STRING)
        return false;
    *ret_ptr = key->u.s.ptr;
    *ret_len = key->u.s.len;
    return true;
}

int
exprenv_map_key_arg(struct expr_vm *vm, const struct expr_value *key, const char **ret_ptr,
                    size_t *ret_len)
{
    if (exprenv_map_key(key, ret_ptr, ret_len))
        return 0;
    expr_vm_error(vm, "cannot use %s as map key (type string)", expr_kind_name(key->kind));
    return -1;
}

int
exprenv_index_error(struct expr_vm *vm, size_t i, size_t len)
{
    return expr_vm_error(vm, "index out of range: %zu (array length is %zu)", i, len);
}

/* --- map[string]string --- */

static int
strmap_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
             struct expr_value *ret)
{
    /* The hot path of every evt.Meta.x / evt.Parsed.x: no helper between the vm and the map. */
    if (key->kind != EXPR_STRING)
        return expr_vm_error(vm, "cannot use %s as map key (type string)",
                             expr_kind_name(key->kind));
    const struct strv *v = strmap_get(obj, key->u.s.ptr, key->u.s.len);
    *ret = v != NULL ? exprenv_strv(*v) : expr_strv("", 0);
    return 0;
}

static size_t
strmap_class_len(const void *obj)
{
    return strmap_len(obj);
}

static int
strmap_class_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct strmap *m = obj;

    if (i >= m->len)
        return expr_vm_error(vm, "map iteration out of range");
    *ret = exprenv_strv(m->entries[i].key);
    return 0;
}

static bool
strmap_class_has(const void *obj, const struct expr_value *key)
{
    const char *k;
    size_t klen;

    return exprenv_map_key(key, &k, &klen) && strmap_get(obj, k, klen) != NULL;
}

const struct expr_class exprenv_strmap_class = {
    .name = "map[string]string",
    .is_map = true,
    .elem_type = T_STR,
    .index = strmap_index,
    .len = strmap_class_len,
    .at = strmap_class_at,
    .has = strmap_class_has,
};

/* --- JSON (Unmarshaled, Appsec rules, alert context matches) --- */

struct expr_value
exprenv_json_value(const json_t *j)
{
    if (j == NULL)
        return expr_nil();
    switch (json_typeof(j)) {
    case JSON_OBJECT: return expr_object(&exprenv_json_object_class, j);
    case JSON_ARRAY: return expr_object(&exprenv_json_array_class, j);
    case JSON_STRING: return expr_strv(json_string_value(j), json_string_length(j));
    case JSON_INTEGER: return expr_int(json_integer_value(j));
    case JSON_REAL: return expr_float(json_real_value(j));
    case JSON_TRUE: return expr_bool(true);
    case JSON_FALSE: return expr_bool(false);
    case JSON_NULL: return expr_nil();
    }
    return expr_nil();
}

#define JSON_MAX_DEPTH 64

json_t *
exprenv_value_to_json(struct expr_vm *vm, const struct expr_value *v, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        expr_vm_error(vm, "value nested too deeply");
        return NULL;
    }
    switch (v->kind) {
    case EXPR_NIL: return json_null();
    case EXPR_BOOL: return json_boolean(v->u.b);
    case EXPR_INT: return json_integer(v->u.i);
    case EXPR_FLOAT: return json_real(v->u.f);
    case EXPR_STRING: return json_stringn_nocheck(v->u.s.ptr, v->u.s.len);
    case EXPR_OBJECT:
        if (v->u.o.cls == &exprenv_json_object_class || v->u.o.cls == &exprenv_json_array_class)
            return json_deep_copy(v->u.o.ptr);
        break;
    default: break;
    }
    struct expr_value plain = *v;
    if (v->kind == EXPR_OBJECT || v->kind == EXPR_TIME || v->kind == EXPR_DURATION) {
        if (expr_value_materialize(vm, v, &plain) < 0)
            return NULL;
        if (plain.kind == EXPR_OBJECT) {
            expr_vm_error(vm, "cannot store %s in a JSON map", v->u.o.cls->name);
            return NULL;
        }
        if (plain.kind == EXPR_TIME || plain.kind == EXPR_DURATION) {
            struct str s = STR_INIT;
            if (expr_value_format_go(vm, &plain, &s) < 0) {
                str_free(&s);
                return NULL;
            }
            json_t *j = json_stringn_nocheck(s.buf != NULL ? s.buf : "", s.len);
            str_free(&s);
            return j;
        }
        if (plain.kind != EXPR_ARRAY && plain.kind != EXPR_MAP)
            return exprenv_value_to_json(vm, &plain, depth + 1);
    }
    if (plain.kind == EXPR_ARRAY) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < plain.u.a->len; i++) {
            json_t *item = exprenv_value_to_json(vm, &plain.u.a->items[i], depth + 1);
            if (item == NULL || json_array_append_new(a, item) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    if (plain.kind == EXPR_MAP) {
        json_t *o = json_object();
        for (size_t i = 0; o != NULL && i < plain.u.m->len; i++) {
            const struct expr_map_entry *e = &plain.u.m->entries[i];
            json_t *item = exprenv_value_to_json(vm, &e->value, depth + 1);
            if (item == NULL || json_object_setn_new_nocheck(o, e->key, e->keylen, item) < 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    expr_vm_error(vm, "cannot store %s in a JSON map", expr_kind_name(plain.kind));
    return NULL;
}

static int
json_object_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                  struct expr_value *ret)
{
    const char *k;
    size_t klen;

    if (exprenv_map_key_arg(vm, key, &k, &klen) < 0)
        return -1;
    *ret = exprenv_json_value(json_object_getn(obj, k, klen));
    return 0;
}

static size_t
json_object_class_len(const void *obj)
{
    return json_object_size(obj);
}

static int
json_object_class_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    /* Jansson keeps insertion order; walking to the i-th key is linear, fine for event-sized
     * objects. */
    void *it = json_object_iter((json_t *)obj);

    for (size_t n = 0; it != NULL && n < i; n++)
        it = json_object_iter_next((json_t *)obj, it);
    if (it == NULL)
        return expr_vm_error(vm, "map iteration out of range");
    *ret = expr_strv(json_object_iter_key(it), json_object_iter_key_len(it));
    return 0;
}

static bool
json_object_class_has(const void *obj, const struct expr_value *key)
{
    const char *k;
    size_t klen;

    return exprenv_map_key(key, &k, &klen) && json_object_getn(obj, k, klen) != NULL;
}

static int
json_object_class_set(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                      const struct expr_value *val)
{
    const char *k;
    size_t klen;

    if (exprenv_map_key_arg(vm, key, &k, &klen) < 0)
        return -1;
    json_t *j = exprenv_value_to_json(vm, val, 0);
    if (j == NULL)
        return -1;
    if (json_object_setn_new_nocheck((json_t *)obj, k, klen, j) < 0)
        return expr_vm_error(vm, "out of memory");
    return 0;
}

const struct expr_class exprenv_json_object_class = {
    .name = "map[string]interface {}",
    .is_map = true,
    .elem_type = T_ANY,
    .index = json_object_index,
    .len = json_object_class_len,
    .at = json_object_class_at,
    .has = json_object_class_has,
    .set = json_object_class_set,
};

static size_t
json_array_class_len(const void *obj)
{
    return json_array_size(obj);
}

static int
json_array_class_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    if (i >= json_array_size(obj))
        return exprenv_index_error(vm, i, json_array_size(obj));
    *ret = exprenv_json_value(json_array_get(obj, i));
    return 0;
}

static int
json_array_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                 struct expr_value *ret)
{
    size_t i;

    if (exprenv_slice_index(vm, key, json_array_size(obj), &i) < 0)
        return -1;
    *ret = exprenv_json_value(json_array_get(obj, i));
    return 0;
}

static bool
json_array_class_has(const void *obj, const struct expr_value *key)
{
    for (size_t i = 0; i < json_array_size(obj); i++) {
        struct expr_value v = exprenv_json_value(json_array_get(obj, i));
        if (expr_value_equal(&v, key))
            return true;
    }
    return false;
}

const struct expr_class exprenv_json_array_class = {
    .name = "[]interface {}",
    .elem_type = T_ANY,
    .index = json_array_index,
    .len = json_array_class_len,
    .at = json_array_class_at,
    .has = json_array_class_has,
};

/*
 * evt.Unmarshaled: the object points at the event's json_t * field, so a
 * helper that writes into an event without Unmarshaled yet (UnmarshalJSON,
 * ParseKV) can create the map, as Go's MakeEvent map would already exist.
 */
static int
unmarshaled_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                  struct expr_value *ret)
{
    json_t *const *root = obj;

    if (*root == NULL) {
        if (key->kind != EXPR_STRING)
            return expr_vm_error(vm, "cannot use %s as map key (type string)",
                                 expr_kind_name(key->kind));
        *ret = expr_nil();
        return 0;
    }
    return json_object_index(*root, vm, key, ret);
}

static size_t
unmarshaled_len(const void *obj)
{
    json_t *const *root = obj;

    return *root != NULL ? json_object_size(*root) : 0;
}

static int
unmarshaled_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    json_t *const *root = obj;

    if (*root == NULL)
        return expr_vm_error(vm, "map iteration out of range");
    return json_object_class_at(*root, vm, i, ret);
}

static bool
unmarshaled_has(const void *obj, const struct expr_value *key)
{
    json_t *const *root = obj;

    return *root != NULL && json_object_class_has(*root, key);
}

static int
unmarshaled_set(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                const struct expr_value *val)
{
    json_t **root = (json_t **)obj;

    if (*root == NULL) {
        *root = json_object();
        if (*root == NULL)
            return expr_vm_error(vm, "out of memory");
    }
    return json_object_class_set(*root, vm, key, val);
}

static const struct expr_class unmarshaled_class = {
    .name = "map[string]interface {}",
    .is_map = true,
    .elem_type = T_ANY,
    .index = unmarshaled_index,
    .len = unmarshaled_len,
    .at = unmarshaled_at,
    .has = unmarshaled_has,
    .set = unmarshaled_set,
};

/* --- pipeline.Line --- */

#define LINE(obj) ((const struct line *)(obj))

static int
line_raw(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_strv(LINE(obj)->raw);
    return 0;
}

static int
line_src(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_strv(LINE(obj)->src);
    return 0;
}

static int
line_time(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_time(LINE(obj)->time);
    return 0;
}

static int
line_labels(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_strmap_class, &LINE(obj)->labels);
    return 0;
}

static int
line_process(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(LINE(obj)->process);
    return 0;
}

static int
line_module(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_strv(LINE(obj)->module);
    return 0;
}

static const struct expr_field line_fields[] = {
    { "Raw", T_STR, line_raw },          { "Src", T_STR, line_src },
    { "Time", T_TIME, line_time },       { "Labels", T_OBJ(exprenv_strmap_class), line_labels },
    { "Process", T_BOOL, line_process }, { "Module", T_STR, line_module },
};

const struct expr_class exprenv_line_class = {
    .name = "Line",
    .fields = line_fields,
    .nfields = ARRAY_SIZE(line_fields),
};

/* --- pipeline.AppsecEvent --- */

#define APPSEC(obj) ((const struct appsec_event *)(obj))

static int
appsec_in_band(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(APPSEC(obj)->has_in_band_matches);
    return 0;
}

static int
appsec_out_band(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(APPSEC(obj)->has_out_band_matches);
    return 0;
}

static size_t
empty_len(const void *obj)
{
    return 0;
}

static int
empty_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    return expr_vm_error(vm, "index out of range: %zu (array length is 0)", i);
}

static int
empty_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
            struct expr_value *ret)
{
    size_t i;

    return exprenv_slice_index(vm, key, 0, &i);
}

/* Go's nil MatchedRules: a slice of length 0 that len() and loops accept. */
static const struct expr_class empty_rules_class = {
    .name = "MatchedRules",
    .elem_type = T_ANY,
    .index = empty_index,
    .len = empty_len,
    .at = empty_at,
};

static int
appsec_matched_rules(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    if (APPSEC(obj)->matched_rules != NULL)
        *ret = exprenv_json_value(APPSEC(obj)->matched_rules);
    else
        *ret = expr_object(&empty_rules_class, obj);
    return 0;
}

static int
appsec_vars(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_strmap_class, &APPSEC(obj)->vars);
    return 0;
}

static int
appsec_hook_vars(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_strmap_class, &APPSEC(obj)->hook_vars);
    return 0;
}

static int
appsec_get_var(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    const char *name = exprenv_arg_cstr(vm, "GetVar", args, 0);

    if (name == NULL)
        return -1;
    const struct strv *v = strmap_get_cstr(&APPSEC(obj)->vars, name);
    *ret = v != NULL ? exprenv_strv(*v) : expr_strv("", 0);
    return 0;
}

/* The string field of the first matched rule, as the Go getters do (a non-string panics there). */
static int
appsec_first_string(const struct appsec_event *a, struct expr_vm *vm, const char *field,
                    struct expr_value *ret)
{
    json_t *rules = a->matched_rules;

    if (rules == NULL || json_array_size(rules) == 0) {
        *ret = expr_strv("", 0);
        return 0;
    }
    json_t *v = json_object_get(json_array_get(rules, 0), field);
    if (!json_is_string(v))
        return expr_vm_error(vm, "interface conversion: interface {} is not string (rule field %s)",
                             field);
    *ret = expr_strv(json_string_value(v), json_string_length(v));
    return 0;
}

#define APPSEC_GETTER(fn, field)                                                                   \
    static int fn(const void *obj, struct expr_vm *vm, const struct expr_value *args,              \
                  size_t nargs, struct expr_value *ret)                                            \
    {                                                                                              \
        return appsec_first_string(APPSEC(obj), vm, field, ret);                                   \
    }

APPSEC_GETTER(appsec_get_uri, "uri")
APPSEC_GETTER(appsec_get_hash, "hash")
APPSEC_GETTER(appsec_get_version, "version")
APPSEC_GETTER(appsec_get_name, "name")
APPSEC_GETTER(appsec_get_method, "method")

/* Collects rule[field] over the matched rules; with want_string, only strings (GetNames), unique if
 * uniq. */
static int
appsec_collect(const struct appsec_event *a, struct expr_vm *vm, const char *field,
               bool want_string, bool uniq, struct expr_value *ret)
{
    struct expr_array *out = expr_vm_array(vm, 8);
    json_t *rules = a->matched_rules;

    if (out == NULL)
        return expr_vm_error(vm, "out of memory");
    for (size_t i = 0; rules != NULL && i < json_array_size(rules); i++) {
        json_t *v = json_object_get(json_array_get(rules, i), field);
        if (want_string && !json_is_string(v))
            continue;
        struct expr_value ev = exprenv_json_value(v);
        bool seen = false;
        for (size_t j = 0; uniq && j < out->len; j++)
            seen = seen || expr_value_equal(&out->items[j], &ev);
        if (!seen && expr_array_push(vm, out, ev) < 0)
            return expr_vm_error(vm, "out of memory");
    }
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = out };
    return 0;
}

static int
appsec_get_names(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                 struct expr_value *ret)
{
    return appsec_collect(APPSEC(obj), vm, "name", true, false, ret);
}

static int
appsec_get_rule_ids(const void *obj, struct expr_vm *vm, const struct expr_value *args,
                    size_t nargs, struct expr_value *ret)
{
    return appsec_collect(APPSEC(obj), vm, "id", false, false, ret);
}

static int
appsec_kinds(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    return appsec_collect(APPSEC(obj), vm, "kind", true, true, ret);
}

static int
appsec_get_field(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                 struct expr_value *ret)
{
    const char *field = exprenv_arg_cstr(vm, "GetField", args, 0);

    if (field == NULL)
        return -1;
    return appsec_collect(APPSEC(obj), vm, field, false, false, ret);
}

static int
appsec_get_matched_zones(const void *obj, struct expr_vm *vm, const struct expr_value *args,
                         size_t nargs, struct expr_value *ret)
{
    struct expr_array *out = expr_vm_array(vm, 8);
    json_t *rules = APPSEC(obj)->matched_rules;

    if (out == NULL)
        return expr_vm_error(vm, "out of memory");
    for (size_t i = 0; rules != NULL && i < json_array_size(rules); i++) {
        json_t *zones = json_object_get(json_array_get(rules, i), "matched_zones");
        for (size_t j = 0; j < json_array_size(zones); j++) {
            struct expr_value z = exprenv_json_value(json_array_get(zones, j));
            bool seen = false;
            for (size_t k = 0; k < out->len; k++)
                seen = seen || expr_value_equal(&out->items[k], &z);
            if (!seen && expr_array_push(vm, out, z) < 0)
                return expr_vm_error(vm, "out of memory");
        }
    }
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = out };
    return 0;
}

static const struct expr_field appsec_fields[] = {
    { "HasInBandMatches", T_BOOL, appsec_in_band },
    { "HasOutBandMatches", T_BOOL, appsec_out_band },
    { "MatchedRules", T_ANY, appsec_matched_rules },
    { "Vars", T_OBJ(exprenv_strmap_class), appsec_vars },
    { "HookVars", T_OBJ(exprenv_strmap_class), appsec_hook_vars },
};

static const struct expr_method appsec_methods[] = {
    { "GetVar", 1, 1, T_STR, appsec_get_var },
    { "GetURI", 0, 0, T_STR, appsec_get_uri },
    { "GetHash", 0, 0, T_STR, appsec_get_hash },
    { "GetVersion", 0, 0, T_STR, appsec_get_version },
    { "GetName", 0, 0, T_STR, appsec_get_name },
    { "GetMethod", 0, 0, T_STR, appsec_get_method },
    { "GetNames", 0, 0, T_ARRAY_OF(exprenv_t_string), appsec_get_names },
    { "GetRuleIDs", 0, 0, T_ARRAY_OF(exprenv_t_int), appsec_get_rule_ids },
    { "Kinds", 0, 0, T_ARRAY_OF(exprenv_t_string), appsec_kinds },
    { "GetMatchedZones", 0, 0, T_ARRAY_OF(exprenv_t_string), appsec_get_matched_zones },
    { "GetField", 1, 1, T_ARRAY_OF(exprenv_t_any), appsec_get_field },
};

const struct expr_class exprenv_appsec_class = {
    .name = "AppsecEvent",
    .fields = appsec_fields,
    .nfields = ARRAY_SIZE(appsec_fields),
    .methods = appsec_methods,
    .nmethods = ARRAY_SIZE(appsec_methods),
};

/* --- pipeline.Event --- */

#define EVT(obj)     ((const struct event *)(obj))
#define EVT_MUT(obj) ((struct event *)(obj))

static int
evt_type(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(EVT(obj)->type);
    return 0;
}

static int
evt_expect_mode(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(EVT(obj)->expect_mode);
    return 0;
}

static int
evt_whitelisted(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(EVT(obj)->whitelisted);
    return 0;
}

static int
evt_whitelist_reason(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_strv(EVT(obj)->whitelist_reason);
    return 0;
}

static int
evt_stage(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_strv(EVT(obj)->stage);
    return 0;
}

static int
evt_line(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_line_class, &EVT(obj)->line);
    return 0;
}

static int
evt_parsed(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_strmap_class, &EVT(obj)->parsed);
    return 0;
}

static int
evt_enriched(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_strmap_class, &EVT(obj)->enriched);
    return 0;
}

static int
evt_meta(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_strmap_class, &EVT(obj)->meta);
    return 0;
}

static int
evt_unmarshaled(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&unmarshaled_class, &EVT(obj)->unmarshaled);
    return 0;
}

static int
evt_overflow(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_runtime_alert_class, &EVT(obj)->overflow);
    return 0;
}

static int
evt_time(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_time(EVT(obj)->time);
    return 0;
}

static int
evt_str_time(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_strv(EVT(obj)->str_time);
    return 0;
}

static int
evt_str_time_format(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_strv(EVT(obj)->str_time_format);
    return 0;
}

static int
evt_marshaled_time(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_strv(EVT(obj)->marshaled_time);
    return 0;
}

static int
evt_process(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(EVT(obj)->process);
    return 0;
}

static int
evt_appsec(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_appsec_class, &EVT(obj)->appsec);
    return 0;
}

static int
evt_get_type(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    *ret = exprenv_cstr(event_type_name(EVT(obj)));
    return 0;
}

static int
evt_get_meta(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    const char *key = exprenv_arg_cstr(vm, "GetMeta", args, 0);

    if (key == NULL)
        return -1;
    *ret = exprenv_cstr(event_get_meta(EVT(obj), key));
    return 0;
}

/* SetMeta/SetParsed write into the event (filters use them for side effects) and return true. */
static int
evt_set_map(struct event *e, struct strmap *m, struct expr_vm *vm, const char *method,
            const struct expr_value *args, struct expr_value *ret)
{
    for (size_t i = 0; i < 2; i++) {
        if (args[i].kind != EXPR_STRING)
            return expr_vm_error(vm, "cannot use %s as argument (type string) to call %s",
                                 expr_kind_name(args[i].kind), method);
    }
    if (strmap_set(m, &e->arena, args[0].u.s.ptr, args[0].u.s.len, args[1].u.s.ptr,
                   args[1].u.s.len) < 0)
        return expr_vm_error(vm, "%s: out of memory", method);
    *ret = expr_bool(true);
    return 0;
}

static int
evt_set_meta(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    return evt_set_map(EVT_MUT(obj), &EVT_MUT(obj)->meta, vm, "SetMeta", args, ret);
}

static int
evt_set_parsed(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    return evt_set_map(EVT_MUT(obj), &EVT_MUT(obj)->parsed, vm, "SetParsed", args, ret);
}

/* Appends the canonical text of an address if s parses as one (Go's netip.ParseAddr). */
static int
push_ip(struct expr_vm *vm, struct expr_array *out, const char *s, size_t len)
{
    struct ip_addr ip;
    char buf[IP_STR_MAX];

    if (ip_parse(s, len, &ip) < 0)
        return 0;
    size_t n = ip_format(&ip, buf, sizeof(buf));
    struct expr_value v = expr_vm_str(vm, buf, n);
    if (v.kind != EXPR_STRING || expr_array_push(vm, out, v) < 0)
        return expr_vm_error(vm, "out of memory");
    return 0;
}

static int
evt_parse_ip_sources(const void *obj, struct expr_vm *vm, const struct expr_value *args,
                     size_t nargs, struct expr_value *ret)
{
    const struct event *e = EVT(obj);
    struct expr_array *out = expr_vm_array(vm, 4);

    if (out == NULL)
        return expr_vm_error(vm, "out of memory");
    if (e->type == EVENT_LOG) {
        const struct strv *ip = strmap_get_cstr(&e->meta, "source_ip");
        if (ip != NULL && push_ip(vm, out, ip->ptr, ip->len) < 0)
            return -1;
    } else if (e->type == EVENT_OVFLW) {
        for (size_t i = 0; i < e->overflow.nsources; i++) {
            const char *k = e->overflow.sources[i].key;
            if (push_ip(vm, out, k, strlen(k)) < 0)
                return -1;
        }
    }
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = out };
    return 0;
}

static const struct expr_field event_fields[] = {
    { "Type", T_INT, evt_type },
    { "ExpectMode", T_INT, evt_expect_mode },
    { "Whitelisted", T_BOOL, evt_whitelisted },
    { "WhitelistReason", T_STR, evt_whitelist_reason },
    { "Stage", T_STR, evt_stage },
    { "Line", T_OBJ(exprenv_line_class), evt_line },
    { "Parsed", T_OBJ(exprenv_strmap_class), evt_parsed },
    { "Enriched", T_OBJ(exprenv_strmap_class), evt_enriched },
    { "Unmarshaled", T_OBJ(unmarshaled_class), evt_unmarshaled },
    { "Overflow", T_OBJ(exprenv_runtime_alert_class), evt_overflow },
    { "Time", T_TIME, evt_time },
    { "StrTime", T_STR, evt_str_time },
    { "StrTimeFormat", T_STR, evt_str_time_format },
    { "MarshaledTime", T_STR, evt_marshaled_time },
    { "Process", T_BOOL, evt_process },
    { "Appsec", T_OBJ(exprenv_appsec_class), evt_appsec },
    { "Meta", T_OBJ(exprenv_strmap_class), evt_meta },
};

static const struct expr_method event_methods[] = {
    { "GetType", 0, 0, T_STR, evt_get_type },
    { "GetMeta", 1, 1, T_STR, evt_get_meta },
    { "SetMeta", 2, 2, T_BOOL, evt_set_meta },
    { "SetParsed", 2, 2, T_BOOL, evt_set_parsed },
    { "ParseIPSources", 0, 0, T_ARRAY_OF(exprenv_t_string), evt_parse_ip_sources },
};

const struct expr_class exprenv_event_class = {
    .name = "Event",
    .fields = event_fields,
    .nfields = ARRAY_SIZE(event_fields),
    .methods = event_methods,
    .nmethods = ARRAY_SIZE(event_methods),
};

struct expr_value
exprenv_event_value(const struct event *e)
{
    return expr_object(&exprenv_event_class, e);
}

/* --- []Event (Queue.Queue, hubtest scenario results) --- */

static size_t
event_list_len(const void *obj)
{
    return ((const struct event_list *)obj)->len;
}

static int
event_list_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct event_list *l = obj;

    if (i >= l->len)
        return exprenv_index_error(vm, i, l->len);
    *ret = expr_object(&exprenv_event_class, l->items[i]);
    return 0;
}

static int
event_list_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                 struct expr_value *ret)
{
    size_t i;

    if (exprenv_slice_index(vm, key, ((const struct event_list *)obj)->len, &i) < 0)
        return -1;
    return event_list_at(obj, vm, i, ret);
}

const struct expr_class exprenv_event_list_class = {
    .name = "[]Event",
    .elem_type = T_OBJ(exprenv_event_class),
    .index = event_list_index,
    .len = event_list_len,
    .at = event_list_at,
};

struct expr_value
exprenv_event_list_value(const struct event_list *l)
{
    return expr_object(&exprenv_event_list_class, l);
}

/* --- pipeline.Queue --- */

#define QUEUE(obj) ((const struct queue *)(obj))

static int
queue_queue(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_event_list_class, &QUEUE(obj)->queue);
    return 0;
}

static int
queue_l(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(QUEUE(obj)->l);
    return 0;
}

static int
queue_get_queue(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    return queue_queue(obj, vm, ret);
}

static const struct expr_field queue_fields[] = {
    { "Queue", T_OBJ(exprenv_event_list_class), queue_queue },
    { "L", T_INT, queue_l },
};

static const struct expr_method queue_methods[] = {
    { "GetQueue", 0, 0, T_OBJ(exprenv_event_list_class), queue_get_queue },
};

const struct expr_class exprenv_queue_class = {
    .name = "Queue",
    .fields = queue_fields,
    .nfields = ARRAY_SIZE(queue_fields),
    .methods = queue_methods,
    .nmethods = ARRAY_SIZE(queue_methods),
};

struct expr_value
exprenv_queue_value(const struct queue *q)
{
    return expr_object(&exprenv_queue_class, q);
}

/* --- leakybucket.BucketSpec, BucketFactory, Leaky --- */

#define SPEC(obj) ((const struct bucket_spec *)(obj))
#define SPEC_STR(fn, field)                                                                        \
    static int fn(const void *obj, struct expr_vm *vm, struct expr_value *ret)                     \
    {                                                                                              \
        *ret = exprenv_cstr(SPEC(obj)->field);                                                     \
        return 0;                                                                                  \
    }

SPEC_STR(spec_name, name)
SPEC_STR(spec_description, description)
SPEC_STR(spec_type, type)
SPEC_STR(spec_leakspeed, leakspeed)
SPEC_STR(spec_duration, duration)
SPEC_STR(spec_filter, filter)
SPEC_STR(spec_groupby, groupby)
SPEC_STR(spec_distinct, distinct)
SPEC_STR(spec_blackhole, blackhole)
SPEC_STR(spec_version, version)

static int
spec_capacity(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(SPEC(obj)->capacity);
    return 0;
}

static int
spec_cache_size(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(SPEC(obj)->cache_size);
    return 0;
}

static int
spec_reprocess(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(SPEC(obj)->reprocess);
    return 0;
}

static int
spec_debug(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(SPEC(obj)->debug);
    return 0;
}

static const struct expr_field spec_fields[] = {
    { "Name", T_STR, spec_name },
    { "Description", T_STR, spec_description },
    { "Type", T_STR, spec_type },
    { "Capacity", T_INT, spec_capacity },
    { "LeakSpeed", T_STR, spec_leakspeed },
    { "Duration", T_STR, spec_duration },
    { "Filter", T_STR, spec_filter },
    { "GroupBy", T_STR, spec_groupby },
    { "Distinct", T_STR, spec_distinct },
    { "Blackhole", T_STR, spec_blackhole },
    { "ScenarioVersion", T_STR, spec_version },
    { "CacheSize", T_INT, spec_cache_size },
    { "Reprocess", T_BOOL, spec_reprocess },
    { "Debug", T_BOOL, spec_debug },
};

static const struct expr_class spec_class = {
    .name = "BucketSpec",
    .fields = spec_fields,
    .nfields = ARRAY_SIZE(spec_fields),
};

#define FACTORY(obj) ((const struct bucket_factory *)(obj))

static int
factory_spec(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&spec_class, &FACTORY(obj)->spec);
    return 0;
}

static int
factory_bucket_name(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(FACTORY(obj)->bucket_name);
    return 0;
}

static int
factory_filename(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(FACTORY(obj)->filename);
    return 0;
}

static int
factory_data_dir(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(FACTORY(obj)->data_dir);
    return 0;
}

static int
factory_simulated(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(FACTORY(obj)->simulated);
    return 0;
}

static const struct expr_field factory_fields[] = {
    { "Spec", T_OBJ(spec_class), factory_spec }, { "BucketName", T_STR, factory_bucket_name },
    { "Filename", T_STR, factory_filename },     { "DataDir", T_STR, factory_data_dir },
    { "Simulated", T_BOOL, factory_simulated },
};

static const struct expr_class factory_class = {
    .name = "BucketFactory",
    .fields = factory_fields,
    .nfields = ARRAY_SIZE(factory_fields),
};

#define LEAKY(obj) ((const struct leaky *)(obj))

static int
leaky_mode(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(LEAKY(obj)->mode);
    return 0;
}

static int
leaky_queue(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_queue_class, LEAKY(obj)->queue);
    return 0;
}

static int
leaky_mapkey(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(LEAKY(obj)->mapkey);
    return 0;
}

static int
leaky_uuid(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = exprenv_cstr(LEAKY(obj)->uuid);
    return 0;
}

static int
leaky_first_ts(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_time(LEAKY(obj)->first_ts);
    return 0;
}

static int
leaky_last_ts(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_time(LEAKY(obj)->last_ts);
    return 0;
}

static int
leaky_ovflw_ts(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_time(LEAKY(obj)->ovflw_ts);
    return 0;
}

static int
leaky_total_count(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(LEAKY(obj)->total_count);
    return 0;
}

static int
leaky_duration(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_duration(LEAKY(obj)->duration_ns);
    return 0;
}

static int
leaky_factory(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&factory_class, LEAKY(obj)->factory);
    return 0;
}

static const struct expr_field leaky_fields[] = {
    { "Mode", T_INT, leaky_mode },
    { "Queue", T_OBJ(exprenv_queue_class), leaky_queue },
    { "Mapkey", T_STR, leaky_mapkey },
    { "Uuid", T_STR, leaky_uuid },
    { "First_ts", T_TIME, leaky_first_ts },
    { "Last_ts", T_TIME, leaky_last_ts },
    { "Ovflw_ts", T_TIME, leaky_ovflw_ts },
    { "Total_count", T_INT, leaky_total_count },
    { "Factory", T_OBJ(factory_class), leaky_factory },
    { "Duration", T_DURATION, leaky_duration },
};

const struct expr_class exprenv_leaky_class = {
    .name = "Leaky",
    .fields = leaky_fields,
    .nfields = ARRAY_SIZE(leaky_fields),
};

struct expr_value
exprenv_leaky_value(const struct leaky *l)
{
    return expr_object(&exprenv_leaky_class, l);
}

/* --- dumps.ParserResults: map[stage]map[node][]ParserResult --- */

#define PRES(obj) ((const struct parser_result *)(obj))

static int
pres_idx(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(PRES(obj)->idx);
    return 0;
}

static int
pres_evt(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&exprenv_event_class, PRES(obj)->evt);
    return 0;
}

static int
pres_success(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_bool(PRES(obj)->success);
    return 0;
}

static const struct expr_field parser_result_fields[] = {
    { "Idx", T_INT, pres_idx },
    { "Evt", T_OBJ(exprenv_event_class), pres_evt },
    { "Success", T_BOOL, pres_success },
};

const struct expr_class exprenv_parser_result_class = {
    .name = "ParserResult",
    .fields = parser_result_fields,
    .nfields = ARRAY_SIZE(parser_result_fields),
};

static size_t
node_results_len(const void *obj)
{
    return ((const struct parser_node_results *)obj)->len;
}

static int
node_results_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct parser_node_results *n = obj;

    if (i >= n->len)
        return exprenv_index_error(vm, i, n->len);
    *ret = expr_object(&exprenv_parser_result_class, &n->items[i]);
    return 0;
}

static int
node_results_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                   struct expr_value *ret)
{
    size_t i;

    if (exprenv_slice_index(vm, key, ((const struct parser_node_results *)obj)->len, &i) < 0)
        return -1;
    return node_results_at(obj, vm, i, ret);
}

static const struct expr_class node_results_class = {
    .name = "[]ParserResult",
    .elem_type = T_OBJ(exprenv_parser_result_class),
    .index = node_results_index,
    .len = node_results_len,
    .at = node_results_at,
};

/* Missing keys give Go's zero value: an empty (nil) map or slice, which len() and loops accept. */
static const struct parser_node_results empty_node_results;
static const struct parser_stage_results empty_stage_results;

static int
stage_results_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                    struct expr_value *ret)
{
    const char *k;
    size_t klen;

    if (exprenv_map_key_arg(vm, key, &k, &klen) < 0)
        return -1;
    const struct parser_node_results *n = parser_stage_node(obj, k, klen);
    *ret = expr_object(&node_results_class, n != NULL ? n : &empty_node_results);
    return 0;
}

static size_t
stage_results_len(const void *obj)
{
    return ((const struct parser_stage_results *)obj)->len;
}

static int
stage_results_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct parser_stage_results *s = obj;

    if (i >= s->len)
        return expr_vm_error(vm, "map iteration out of range");
    *ret = exprenv_cstr(s->nodes[i].name);
    return 0;
}

static bool
stage_results_has(const void *obj, const struct expr_value *key)
{
    const char *k;
    size_t klen;

    return exprenv_map_key(key, &k, &klen) && parser_stage_node(obj, k, klen) != NULL;
}

static const struct expr_class stage_results_class = {
    .name = "map[string][]ParserResult",
    .is_map = true,
    .elem_type = T_OBJ(node_results_class),
    .index = stage_results_index,
    .len = stage_results_len,
    .at = stage_results_at,
    .has = stage_results_has,
};

static int
parser_results_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                     struct expr_value *ret)
{
    const char *k;
    size_t klen;

    if (exprenv_map_key_arg(vm, key, &k, &klen) < 0)
        return -1;
    const struct parser_stage_results *s = parser_results_stage(obj, k, klen);
    *ret = expr_object(&stage_results_class, s != NULL ? s : &empty_stage_results);
    return 0;
}

static size_t
parser_results_len(const void *obj)
{
    return ((const struct parser_results *)obj)->len;
}

static int
parser_results_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct parser_results *r = obj;

    if (i >= r->len)
        return expr_vm_error(vm, "map iteration out of range");
    *ret = exprenv_cstr(r->stages[i].name);
    return 0;
}

static bool
parser_results_has(const void *obj, const struct expr_value *key)
{
    const char *k;
    size_t klen;

    return exprenv_map_key(key, &k, &klen) && parser_results_stage(obj, k, klen) != NULL;
}

const struct expr_class exprenv_parser_results_class = {
    .name = "ParserResults",
    .is_map = true,
    .elem_type = T_OBJ(stage_results_class),
    .index = parser_results_index,
    .len = parser_results_len,
    .at = parser_results_at,
    .has = parser_results_has,
};

struct expr_value
exprenv_parser_results_value(const struct parser_results *r)
{
    return expr_object(&exprenv_parser_results_class, r);
}
