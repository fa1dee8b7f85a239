/*
 * vm_fixture.h - a small typed environment shared by test_compile.c and
 * test_vm.c: a fake Event host class (fields, an is_map Meta, a method), a
 * Queue host slice of events, and plain variables of every kind.
 *
 * Header-only (static functions) because each test is its own executable.
 */
#ifndef PHALANX_TEST_VM_FIXTURE_H
#define PHALANX_TEST_VM_FIXTURE_H

#include "common/common.h"

#include "expr/expr.h"
#include "expr/internal.h"

struct fx_kv {
    const char *k, *v;
};

struct fx_event {
    const char *name;
    int64_t count;
    struct fx_kv meta[4];
    size_t nmeta;
};

struct fx_queue {
    const struct fx_event *evts;
    size_t n;
};

static int
fx_meta_index(const void *obj, struct expr_vm *vm, const struct expr_value *key,
              struct expr_value *ret)
{
    const struct fx_event *e = obj;
    (void)vm;
    *ret = expr_strv("", 0); /* map[string]string: a missing key is "" */
    if (key->kind != EXPR_STRING)
        return 0;
    for (size_t i = 0; i < e->nmeta; i++)
        if (strlen(e->meta[i].k) == key->u.s.len &&
            memcmp(e->meta[i].k, key->u.s.ptr, key->u.s.len) == 0)
            *ret = expr_strv(e->meta[i].v, strlen(e->meta[i].v));
    return 0;
}

static bool
fx_meta_has(const void *obj, const struct expr_value *key)
{
    const struct fx_event *e = obj;
    if (key->kind != EXPR_STRING)
        return false;
    for (size_t i = 0; i < e->nmeta; i++)
        if (strlen(e->meta[i].k) == key->u.s.len &&
            memcmp(e->meta[i].k, key->u.s.ptr, key->u.s.len) == 0)
            return true;
    return false;
}

static size_t
fx_meta_len(const void *obj)
{
    return ((const struct fx_event *)obj)->nmeta;
}

static const struct expr_class fx_meta_class = {
    .name = "map[string]string",
    .is_map = true,
    .elem_type = { .kind = EXPR_STRING },
    .index = fx_meta_index,
    .has = fx_meta_has,
    .len = fx_meta_len,
};

static int
fx_get_name(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    const struct fx_event *e = obj;
    (void)vm;
    *ret = expr_strv(e->name, strlen(e->name));
    return 0;
}

static int
fx_get_count(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    (void)vm;
    *ret = expr_int(((const struct fx_event *)obj)->count);
    return 0;
}

static int
fx_get_meta(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    (void)vm;
    *ret = expr_object(&fx_meta_class, obj);
    return 0;
}

static int
fx_method_getmeta(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                  struct expr_value *ret)
{
    (void)nargs;
    return fx_meta_index(obj, vm, &args[0], ret);
}

static const struct expr_field fx_event_fields[] = {
    { "Name", { .kind = EXPR_STRING }, fx_get_name },
    { "Count", { .kind = EXPR_INT }, fx_get_count },
    { "Meta", { .kind = EXPR_OBJECT, .cls = &fx_meta_class }, fx_get_meta },
};

static const struct expr_method fx_event_methods[] = {
    { "GetMeta", 1, 1, { .kind = EXPR_STRING }, fx_method_getmeta },
};

static const struct expr_class fx_event_class = {
    .name = "Event",
    .fields = fx_event_fields,
    .nfields = ARRAY_SIZE(fx_event_fields),
    .methods = fx_event_methods,
    .nmethods = ARRAY_SIZE(fx_event_methods),
};

static size_t
fx_queue_len(const void *obj)
{
    return ((const struct fx_queue *)obj)->n;
}

static int
fx_queue_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct fx_queue *q = obj;
    (void)vm;
    *ret = expr_object(&fx_event_class, &q->evts[i]);
    return 0;
}

static const struct expr_class fx_queue_class = {
    .name = "[]Event",
    .elem_type = { .kind = EXPR_OBJECT, .cls = &fx_event_class },
    .len = fx_queue_len,
    .at = fx_queue_at,
};

/* A test function taking a closure: applies it to each of its array argument's items. */
static int
fx_apply(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    (void)nargs;
    if (args[0].kind != EXPR_ARRAY)
        return expr_vm_error(vm, "apply: not an array");
    struct expr_array *out = expr_vm_array(vm, args[0].u.a->len);
    if (!out)
        return expr_vm_error(vm, "out of memory");
    for (size_t i = 0; i < args[0].u.a->len; i++) {
        struct expr_value r;
        if (expr_vm_call_closure(vm, &args[1], &args[0].u.a->items[i], &r) < 0)
            return -1;
        out->items[out->len++] = r;
    }
    ret->kind = EXPR_ARRAY;
    ret->u.a = out;
    return 0;
}

static int
fx_twice(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    (void)vm;
    (void)nargs;
    if (args[0].kind != EXPR_INT)
        return expr_vm_error(vm, "twice: not an int");
    *ret = expr_int(args[0].u.i * 2);
    return 0;
}

static const struct expr_func fx_funcs[] = {
    { "apply", 2, 2, { .kind = EXPR_ARRAY }, fx_apply },
    { "twice", 1, 1, { .kind = EXPR_INT }, fx_twice },
};

static const struct expr_type fx_int_type = { .kind = EXPR_INT };

/* Variable slots, in declaration order. */
enum { FX_N, FX_F, FX_S, FX_ARR, FX_M, FX_NILV, FX_ANYV, FX_EVT, FX_QUEUE, FX_T, FX_D, FX_NVARS };

struct fixture {
    struct expr_env *env;
    struct fx_event evts[3];
    struct fx_queue queue;
    struct expr_value arr_items[3];
    struct expr_array arr;
    struct expr_map_entry map_entries[2];
    struct expr_map map;
    struct expr_value vars[FX_NVARS];
};

static int
fx_init(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->env = expr_env_new();
    if (!fx->env)
        return -1;
    static const struct {
        const char *name;
        struct expr_type type;
    } decl[FX_NVARS] = {
        [FX_N] = { "n", { .kind = EXPR_INT } },
        [FX_F] = { "f", { .kind = EXPR_FLOAT } },
        [FX_S] = { "s", { .kind = EXPR_STRING } },
        [FX_ARR] = { "arr", { .kind = EXPR_ARRAY, .elem = &fx_int_type } },
        [FX_M] = { "m", { .kind = EXPR_MAP } },
        [FX_NILV] = { "nilv", { .kind = EXPR_ANY } },
        [FX_ANYV] = { "anyv", { .kind = EXPR_ANY } },
        [FX_EVT] = { "evt", { .kind = EXPR_OBJECT, .cls = &fx_event_class } },
        [FX_QUEUE] = { "queue", { .kind = EXPR_OBJECT, .cls = &fx_queue_class } },
        [FX_T] = { "t", { .kind = EXPR_TIME } },
        [FX_D] = { "d", { .kind = EXPR_DURATION } },
    };
    for (int i = 0; i < FX_NVARS; i++)
        if (expr_env_add_var(fx->env, decl[i].name, decl[i].type) != i)
            return -1;
    if (expr_env_add_funcs(fx->env, fx_funcs, ARRAY_SIZE(fx_funcs)) < 0)
        return -1;

    fx->evts[0] =
        (struct fx_event){ "a", 1, { { "source_ip", "1.2.3.4" }, { "log_type", "ssh" } }, 2 };
    fx->evts[1] = (struct fx_event){ "b", 2, { { "source_ip", "5.6.7.8" } }, 1 };
    fx->evts[2] = (struct fx_event){ "c", 3, { { "service", "http" } }, 1 };
    fx->queue = (struct fx_queue){ fx->evts, 3 };
    for (int i = 0; i < 3; i++)
        fx->arr_items[i] = expr_int(i + 1);
    fx->arr = (struct expr_array){ 3, 3, fx->arr_items };
    fx->map_entries[0] = (struct expr_map_entry){ "a", 1, expr_int(1) };
    fx->map_entries[1] = (struct expr_map_entry){ "b", 1, expr_strv("x", 1) };
    fx->map = (struct expr_map){ .len = 2, .cap = 2, .entries = fx->map_entries };

    fx->vars[FX_N] = expr_int(10);
    fx->vars[FX_F] = expr_float(2.5);
    fx->vars[FX_S] = expr_strv("hello", 5);
    fx->vars[FX_ARR] = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = &fx->arr };
    fx->vars[FX_M] = (struct expr_value){ .kind = EXPR_MAP, .u.m = &fx->map };
    fx->vars[FX_NILV] = expr_nil();
    fx->vars[FX_ANYV] = expr_strv("str", 3);
    fx->vars[FX_EVT] = expr_object(&fx_event_class, &fx->evts[0]);
    fx->vars[FX_QUEUE] = expr_object(&fx_queue_class, &fx->queue);
    fx->vars[FX_T] = expr_time((struct gotime){ 1700000000LL * 1000000000LL, 0 });
    fx->vars[FX_D] = expr_duration(90LL * 1000000000LL);
    return 0;
}

static void
fx_fini(struct fixture *fx)
{
    expr_env_free(fx->env);
}

#endif
