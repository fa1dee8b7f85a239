/*
 * test_shape.c - expr_program_shape(): the shapes read from a program's
 * syntax (one member; a first conjunct over constants; a first conjunct that
 * is false when its members are empty), what is refused, and the promise
 * behind each shape checked by running the program: where the shape says
 * false, the program evaluates to false without an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "expr/expr.h"

/* A host map of strings: NULL-terminated key/value pairs. */
struct kv {
    const char *const *pairs;
};

static int
kv_index(const void *obj, struct expr_vm *vm, const struct expr_value *key, struct expr_value *ret)
{
    const struct kv *m = obj;

    (void)vm;
    for (size_t i = 0; m->pairs != NULL && m->pairs[i] != NULL; i += 2)
        if (strlen(m->pairs[i]) == key->u.s.len &&
            memcmp(m->pairs[i], key->u.s.ptr, key->u.s.len) == 0) {
            *ret = expr_strv(m->pairs[i + 1], strlen(m->pairs[i + 1]));
            return 0;
        }
    *ret = expr_strv("", 0);
    return 0;
}

static const struct expr_class kv_class = {
    .name = "map[string]string",
    .is_map = true,
    .elem_type = { .kind = EXPR_STRING },
    .index = kv_index,
};

/* The event: Meta and Parsed maps, and a string field that is no map. */
struct host_evt {
    struct kv meta, parsed;
};

static int
get_meta(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    (void)vm;
    *ret = expr_object(&kv_class, &((const struct host_evt *)obj)->meta);
    return 0;
}

static int
get_parsed(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    (void)vm;
    *ret = expr_object(&kv_class, &((const struct host_evt *)obj)->parsed);
    return 0;
}

static int
get_name(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    (void)obj;
    (void)vm;
    *ret = expr_strv("x", 1);
    return 0;
}

static const struct expr_field evt_fields[] = {
    { "Meta", { .kind = EXPR_OBJECT, .cls = &kv_class }, get_meta },
    { "Parsed", { .kind = EXPR_OBJECT, .cls = &kv_class }, get_parsed },
    { "Name", { .kind = EXPR_STRING }, get_name },
};

static const struct expr_class evt_class = {
    .name = "Event",
    .fields = evt_fields,
    .nfields = ARRAY_SIZE(evt_fields),
};

/* A context function that shadows the helper Upper: not known to keep "" empty. */
static int
fake_upper(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    (void)vm;
    (void)args;
    (void)nargs;
    *ret = expr_strv("X", 1);
    return 0;
}

static const struct expr_func shadow_funcs[] = {
    { "Upper", 1, 1, { .kind = EXPR_STRING }, fake_upper },
};

static const struct {
    const char *src;
    int kind;
    bool exact;
    const char *members; /* "Field.key Field.key" */
    const char *values;  /* "a|b" (IN) */
} cases[] = {
    /* one member */
    { "evt.Meta.source_ip", EXPR_SHAPE_MEMBER, false, "Meta.source_ip", "" },
    { "evt.Parsed['target_fqdn']", EXPR_SHAPE_MEMBER, false, "Parsed.target_fqdn", "" },
    { "evt.Meta.source_ip + '/'", EXPR_SHAPE_NONE, false, "", "" },
    { "evt.Name", EXPR_SHAPE_NONE, false, "", "" },
    { "evt?.Meta.source_ip", EXPR_SHAPE_NONE, false, "", "" },
    /* a first conjunct over constants */
    { "evt.Meta.log_type == 'ssh_failed-auth'", EXPR_SHAPE_IN, true, "Meta.log_type",
      "ssh_failed-auth" },
    { "'x' == evt.Meta.log_type", EXPR_SHAPE_IN, true, "Meta.log_type", "x" },
    { "evt.Meta.log_type in ['a', 'b'] && evt.Parsed.verb == 'GET'", EXPR_SHAPE_IN, false,
      "Meta.log_type", "a|b" },
    { "evt.Meta.log_type in ['a', 'b'] and (1 / 0 > 1)", EXPR_SHAPE_IN, false, "Meta.log_type",
      "a|b" },
    { "evt.Meta.service == 'http' && evt.Meta.sub_type == 'auth_fail' && true", EXPR_SHAPE_IN,
      false, "Meta.service", "http" },
    { "evt.Meta.log_type in ['a', 1]", EXPR_SHAPE_NONE, false, "", "" },
    { "evt.Meta.log_type != 'a'", EXPR_SHAPE_NONE, false, "", "" },
    { "evt.Meta.log_type == 'a' || evt.Meta.x == 'b'", EXPR_SHAPE_EMPTY, false,
      "Meta.log_type Meta.x", "" },
    { "true && evt.Meta.log_type == 'a'", EXPR_SHAPE_NONE, false, "", "" },
    { "!(evt.Meta.log_type == 'a')", EXPR_SHAPE_NONE, false, "", "" },
    /* false when the members are empty */
    { "Upper(PathUnescape(evt.Meta.http_path)) contains Upper('@java')", EXPR_SHAPE_EMPTY, false,
      "Meta.http_path", "" },
    { "(Upper(evt.Meta.http_path) contains Upper('/a') || Upper(evt.Meta.http_path) contains "
      "Upper('/b')) and evt.Meta.http_status startsWith ('40')",
      EXPR_SHAPE_EMPTY, false, "Meta.http_path", "" },
    { "Lower(evt.Meta.http_path) contains '/index.php' && Upper(evt.Parsed.verb) == 'POST'",
      EXPR_SHAPE_EMPTY, false, "Meta.http_path", "" },
    { "Upper(evt.Meta.a) startsWith 'X' or evt.Parsed.b endsWith 'Y' or evt.Meta.c in ['z']",
      EXPR_SHAPE_EMPTY, false, "Meta.a Parsed.b Meta.c", "" },
    { "QueryUnescape(evt.Meta.p) == 'v'", EXPR_SHAPE_EMPTY, false, "Meta.p", "" },
    /* refused: could be true, or error, on empty members */
    { "evt.Meta.http_path contains ''", EXPR_SHAPE_NONE, false, "", "" },
    { "'abc' contains evt.Meta.http_path", EXPR_SHAPE_NONE, false, "", "" },
    { "evt.Meta.http_path matches 'x'", EXPR_SHAPE_NONE, false, "", "" },
    { "evt.Meta.a in ['']", EXPR_SHAPE_IN, true, "Meta.a", "" },
    { "Upper(evt.Meta.a) contains 'X' || evt.Name == 'x'", EXPR_SHAPE_NONE, false, "", "" },
    { "PathEscape(evt.Meta.a) contains 'X'", EXPR_SHAPE_NONE, false, "", "" },
    { "evt.Meta.a contains Upper(evt.Meta.b)", EXPR_SHAPE_NONE, false, "", "" },
    { "len(evt.Meta.a) > 0", EXPR_SHAPE_NONE, false, "", "" },
    { "let x = evt.Meta.log_type; x == 'a'", EXPR_SHAPE_NONE, false, "", "" },
};

static struct expr_env *
make_env(bool shadow)
{
    struct expr_env *env = expr_env_new();

    assert_non_null(env);
    assert_int_equal(expr_env_add_crowdsec_helpers(env), 0);
    if (shadow)
        assert_int_equal(expr_env_add_funcs(env, shadow_funcs, ARRAY_SIZE(shadow_funcs)), 0);
    assert_true(expr_env_add_var(
                    env, "evt", (struct expr_type){ .kind = EXPR_OBJECT, .cls = &evt_class }) >= 0);
    return env;
}

/* The members of s as "Field.key Field.key". */
static void
members_text(const struct expr_shape *s, char *out, size_t n)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < s->nmembers && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s.%s", i ? " " : "", s->members[i].field,
                              s->members[i].key);
}

static void
values_text(const struct expr_shape *s, char *out, size_t n)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < s->nvalues && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? "|" : "", s->values[i].ptr);
}

/* Runs p on an event whose maps hold pairs; 1 true, 0 false, -1 error or not a bool. */
static int
run(const struct expr_program *p, const char *const *meta, const char *const *parsed)
{
    struct host_evt he = { { meta }, { parsed } };
    struct expr_value vars[1] = { expr_object(&evt_class, &he) };
    struct expr_value v;
    struct expr_error err;
    struct expr_vm *vm = expr_vm_new();

    assert_non_null(vm);
    int rc = expr_eval(vm, p, vars, &v, &err);
    expr_vm_free(vm);
    if (rc < 0 || v.kind != EXPR_BOOL)
        return -1;
    return v.u.b;
}

static void
test_shapes(void **state)
{
    struct expr_env *env = make_env(false);
    char mtext[256], vtext[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_error err;
        struct expr_shape s;
        struct expr_program *p =
            expr_compile(env, cases[i].src, strlen(cases[i].src), EXPR_T_ANY, &err);
        if (p == NULL)
            fail_msg("case %zu %s: %s", i, cases[i].src, err.message);
        assert_int_equal(expr_program_shape(p, &s), 0);
        members_text(&s, mtext, sizeof(mtext));
        values_text(&s, vtext, sizeof(vtext));
        if (s.kind != cases[i].kind || s.exact != cases[i].exact ||
            strcmp(mtext, cases[i].members) != 0 || strcmp(vtext, cases[i].values) != 0)
            fail_msg("case %zu %s: kind %d exact %d members '%s' values '%s'", i, cases[i].src,
                     s.kind, s.exact, mtext, vtext);
        /* The promise: all members empty (EMPTY) or a value outside the set (IN) => false. */
        if (s.kind == EXPR_SHAPE_EMPTY && run(p, NULL, NULL) != 0)
            fail_msg("case %zu %s: not false on empty members", i, cases[i].src);
        if (s.kind == EXPR_SHAPE_IN) {
            /* Every IN case reads evt.Meta; "zz-none" is in no case's values. */
            const char *const other[] = { s.members[0].key, "zz-none", NULL };
            const char *const in[] = { s.members[0].key, s.values[0].ptr, NULL };
            if (run(p, other, NULL) != 0)
                fail_msg("case %zu %s: not false outside its values", i, cases[i].src);
            if (s.exact && run(p, in, NULL) != 1)
                fail_msg("case %zu %s: exact but not true on its value", i, cases[i].src);
        }
        expr_shape_clear(&s);
        expr_program_free(p);
    }
    expr_env_free(env);
}

/* A context function named Upper is not the helper: no EMPTY shape through it. */
static void
test_shadowed_helper(void **state)
{
    struct expr_env *env = make_env(true);
    struct expr_error err;
    struct expr_shape s;
    const char *src = "Upper(evt.Meta.http_path) contains 'X'";
    struct expr_program *p = expr_compile(env, src, strlen(src), EXPR_T_ANY, &err);

    (void)state;
    assert_non_null(p);
    assert_int_equal(expr_program_shape(p, &s), 0);
    assert_int_equal(s.kind, EXPR_SHAPE_NONE);
    assert_int_equal(run(p, NULL, NULL), 1); /* what skipping would have hidden */
    expr_shape_clear(&s);
    expr_program_free(p);
    expr_env_free(env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_shadowed_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
