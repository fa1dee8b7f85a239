/*
 * test_vm.c - run-time semantics of compiled expressions: operators and
 * their Go/expr-lang typing rules, precedence, predicates, let, ?., ??,
 * slicing, host classes, closures passed to functions, run-time errors and
 * limits, and the promise that common filter shapes do not allocate.
 *
 * Expected values are rendered by render() below: ints bare, floats with an
 * "f" prefix, strings quoted, arrays [..], maps {k:v}, times t<ns>,
 * durations d<ns>; "error:<substring>" expects a run-time error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/str.h"
#include "expr/helpers.h"
#include "vm_fixture.h"

static void
render(const struct expr_value *v, struct str *out, int depth)
{
    if (depth > 8) {
        str_append_cstr(out, "...");
        return;
    }
    switch (v->kind) {
    case EXPR_NIL: str_append_cstr(out, "nil"); break;
    case EXPR_BOOL: str_append_cstr(out, v->u.b ? "true" : "false"); break;
    case EXPR_INT: str_appendf(out, "%lld", (long long)v->u.i); break;
    case EXPR_FLOAT: str_appendf(out, "f%.17g", v->u.f); break;
    case EXPR_STRING: str_appendf(out, "\"%.*s\"", (int)v->u.s.len, v->u.s.ptr); break;
    case EXPR_ARRAY:
        str_append_char(out, '[');
        for (size_t i = 0; i < v->u.a->len; i++) {
            if (i)
                str_append_char(out, ',');
            render(&v->u.a->items[i], out, depth + 1);
        }
        str_append_char(out, ']');
        break;
    case EXPR_MAP:
        str_append_char(out, '{');
        for (size_t i = 0; i < v->u.m->len; i++) {
            if (i)
                str_append_char(out, ',');
            str_appendf(out, "%.*s:", (int)v->u.m->entries[i].keylen, v->u.m->entries[i].key);
            render(&v->u.m->entries[i].value, out, depth + 1);
        }
        str_append_char(out, '}');
        break;
    case EXPR_OBJECT: str_appendf(out, "obj:%s", v->u.o.cls->name); break;
    case EXPR_TIME: str_appendf(out, "t%lld", (long long)v->u.t.unix_ns); break;
    case EXPR_DURATION: str_appendf(out, "d%lld", (long long)v->u.d); break;
    default: str_appendf(out, "kind%d", v->kind); break;
    }
}

struct vm_case {
    const char *src;
    const char *want;
};

static const struct vm_case vm_cases[] = {
    /* arithmetic and Go typing */
    { "1 + 2", "3" },
    { "1 + 2 * 3", "7" },
    { "(1 + 2) * 3", "9" },
    { "7 / 2", "f3.5" },
    { "4 / 2", "f2" },
    { "7 % 3", "1" },
    { "-7 % 3", "-1" },
    { "2 ** 10", "f1024" },
    { "2 ^ 3", "f8" },
    { "1 + 2.5", "f3.5" },
    { "0.1 + 0.2", "f0.30000000000000004" },
    { "n * 2", "20" },
    { "n / 4", "f2.5" },
    { "-n", "-10" },
    { "+n", "10" },
    { "f * 2", "f5" },
    { "n - f", "f7.5" },
    { "9223372036854775807 + n", "-9223372036854775799" },
    { "n * 922337203685477581", "-9223372036854775806" },
    { "2 + 3 * 4 ** 2 / 8", "f8" },
    { "2 ** -1", "f0.5" },
    { "-(2 ** 2)", "f-4" },
    { "10 - 2 - 3", "5" },
    { "\"a\" + \"b\"", "\"ab\"" },
    { "s + \" world\"", "\"hello world\"" },
    /* comparisons and equality */
    { "1 < 2", "true" },
    { "2 <= 2", "true" },
    { "1.5 > 1", "true" },
    { "\"a\" < \"b\"", "true" },
    { "\"abc\" >= \"abd\"", "false" },
    { "n == 10", "true" },
    { "n == 10.0", "true" },
    { "n != 10", "false" },
    /* 1 == "1" is a compile error (test_compile.c); untyped values just differ. */
    { "anyv == 1", "false" },
    { "nil == nil", "true" },
    { "nilv == nil", "true" },
    { "arr == [1, 2, 3]", "true" },
    { "arr == [1, 2]", "false" },
    { "m.b == \"x\"", "true" },
    /* logic */
    { "true && false", "false" },
    { "true || false", "true" },
    { "!true", "false" },
    { "not false", "true" },
    { "true and n > 5", "true" },
    { "false or n == 10", "true" },
    { "n > 5 ? \"big\" : \"small\"", "\"big\"" },
    { "n < 5 ? \"big\" : \"small\"", "\"small\"" },
    { "false && anyv", "false" },
    { "true || anyv", "true" },
    { "1 < 2 == true", "true" },
    /* in, string operators, matches */
    { "2 in arr", "true" },
    { "5 in arr", "false" },
    { "2 not in arr", "false" },
    { "\"a\" in m", "true" },
    { "\"z\" in m", "false" },
    { "\"x\" in [\"x\", \"y\"]", "true" },
    { "1 in [\"1\"]", "false" },
    { "s in [\"hello\", \"x\"]", "true" },
    { "s not in [\"hello\", \"x\"]", "false" },
    { "1 in nilv", "false" },
    { "s contains \"ell\"", "true" },
    { "s startsWith \"he\"", "true" },
    { "s endsWith \"lo\"", "true" },
    { "s endsWith \"he\"", "false" },
    { "nilv contains \"a\"", "false" },
    { "s not contains \"z\"", "true" },
    { "s matches \"^h.l+o$\"", "true" },
    { "s matches \"^H\"", "false" },
    { "s matches (\"^\" + \"h\")", "true" },
    { "nilv matches \"a\"", "false" },
    { "\"a\\nb\" matches \"^a$\"", "false" },
    { "\"ab\\n\" matches \"b$\"", "false" },
    /* ranges, arrays, maps */
    { "1..3", "[1,2,3]" },
    { "3..1", "[]" },
    { "[1, n, \"x\"]", "[1,10,\"x\"]" },
    { "{\"a\": 1, \"b\": n}.b", "10" },
    { "{\"a\": 1, \"b\": 2}", "{a:1,b:2}" },
    /* indexing and slicing */
    { "arr[0]", "1" },
    { "arr[-1]", "3" },
    { "arr[1.0]", "2" },
    { "m.a", "1" },
    { "m[\"b\"]", "\"x\"" },
    { "m.zzz", "nil" },
    /* s[1] is a compile error on a typed string; an untyped one indexes bytes. */
    { "anyv[1]", "116" },
    { "arr[1:]", "[2,3]" },
    { "arr[:2]", "[1,2]" },
    { "arr[-2:]", "[2,3]" },
    { "arr[1:-1]", "[2]" },
    { "arr[5:]", "[]" },
    { "arr[2:1]", "[]" },
    { "s[1:3]", "\"el\"" },
    { "s[-3:]", "\"llo\"" },
    { "s[:]", "\"hello\"" },
    { "s[-10:2]", "\"he\"" },
    /* ?? and ?. */
    { "nilv ?? 1", "1" },
    { "n ?? 1", "10" },
    { "m.zzz ?? \"d\"", "\"d\"" },
    { "nilv?.foo", "nil" },
    { "nilv?.foo.bar", "nil" },
    /* The chain ends at bar: nil[1] is then evaluated, as expr-lang's ChainNode does. */
    { "nilv?.foo.bar[1]", "error:cannot fetch 1 from <nil>" },
    { "nilv?.foo.bar?.[1]", "nil" },
    { "(nilv?.foo).bar", "nil" },
    { "nilv?.foo[1:2]", "error:cannot slice" },
    { "m?.a", "1" },
    { "nilv?.[0]", "nil" },
    { "nilv?.foo ?? \"dflt\"", "\"dflt\"" },
    /* predicates */
    { "all(arr, # > 0)", "true" },
    { "all(arr, # > 1)", "false" },
    { "any(arr, # > 2)", "true" },
    { "any(arr, # > 3)", "false" },
    { "none(arr, # > 5)", "true" },
    { "one(arr, # == 2)", "true" },
    { "one(arr, # > 1)", "false" },
    { "filter(arr, # > 1)", "[2,3]" },
    { "map(arr, # * 2)", "[2,4,6]" },
    { "find(arr, # > 1)", "2" },
    { "find(arr, # > 5)", "nil" },
    { "findIndex(arr, # > 1)", "1" },
    { "findLast(arr, # < 3)", "2" },
    { "findLastIndex(arr, # < 3)", "1" },
    { "count(arr, # > 1)", "2" },
    { "count([true, false, true])", "2" },
    { "sum(arr)", "6" },
    { "sum(arr, # * 2)", "12" },
    { "sum([1, 2.5])", "f3.5" },
    { "reduce(arr, #acc + #)", "6" },
    { "reduce(arr, #acc + #, 10)", "16" },
    { "reduce(arr, #acc * 10 + #index, 0)", "12" },
    { "sortBy([3, 1, 2], #)", "[1,2,3]" },
    { "sortBy([3, 1, 2], #, \"desc\")", "[3,2,1]" },
    { "sortBy([\"b\", \"a\", \"c\"], #)", "[\"a\",\"b\",\"c\"]" },
    { "groupBy(arr, # % 2 == 0)", "{false:[1,3],true:[2]}" },
    { "map(arr, #index)", "[0,1,2]" },
    { "any([], true)", "false" },
    { "all([], false)", "true" },
    { "filter([], true)", "[]" },
    { "map([1, 2], map([10, 20], #))", "[[10,20],[10,20]]" },
    { "map([1, 2], {# * 10})", "[10,20]" },
    { "filter([{\"a\": 1}, {\"a\": 2}], .a > 1)", "[{a:2}]" },
    { "map([{\"a\": 1}, {\"a\": 5}], .a)", "[1,5]" },
    { "any(queue, .Name == \"b\")", "true" },
    { "map(queue, .Count)", "[1,2,3]" },
    { "filter(queue, .Meta.source_ip != \"\")[1].Name", "\"b\"" },
    { "count(1..100, # % 3 == 0)", "33" },
    /* let, sequences, if, $env */
    { "let x = 2; x * 3", "6" },
    { "let x = 1; let y = x + 1; y * 10", "20" },
    { "let a = arr; map(a, # + n)", "[11,12,13]" },
    { "1; 2", "2" },
    { "if n > 5 { \"a\" } else { \"b\" }", "\"a\"" },
    { "$env.n", "10" },
    { "$env[\"s\"]", "\"hello\"" },
    { "$env.nope", "nil" },
    /* host classes */
    { "evt.Name", "\"a\"" },
    { "evt.Count + 1", "2" },
    { "evt.Meta.source_ip", "\"1.2.3.4\"" },
    { "evt.Meta[\"log_type\"]", "\"ssh\"" },
    { "evt.Meta.missing", "\"\"" },
    { "\"source_ip\" in evt.Meta", "true" },
    { "\"nope\" in evt.Meta", "false" },
    { "evt.GetMeta(\"log_type\")", "\"ssh\"" },
    { "queue[-1].Name", "\"c\"" },
    { "queue[0].Meta.log_type", "\"ssh\"" },
    { "queue[1:][0].Name", "\"b\"" },
    /* time and duration */
    { "t - t", "d0" },
    { "t + d", "t1700000090000000000" },
    { "d + d", "d180000000000" },
    { "d * 2", "d180000000000" },
    { "d > d", "false" },
    { "t == t", "true" },
    { "t < t + d", "true" },
    /* functions and closures */
    { "twice(n)", "20" },
    { "t.Unix()", "1700000000" },
    { "t.Weekday().String()", "\"Tuesday\"" },
    { "d.Seconds()", "f90" },
    { "len(arr) + len(s)", "8" },
    { "twice(twice(2))", "8" },
    /* run-time errors */
    { "n % 0", "error:integer divide by zero" },
    { "1 % 0", "error:integer divide by zero" },
    { "anyv + 1", "error:invalid operation: string + int" },
    { "!anyv", "error:interface conversion: interface {} is string, not bool" },
    { "anyv && true", "error:not bool" },
    { "arr[3]", "error:index out of range: 3 (array length is 3)" },
    { "arr[-4]", "error:index out of range: -1" },
    { "nilv.foo", "error:cannot fetch foo from <nil>" },
    { "anyv.foo", "error:cannot fetch foo from string" },
    { "1..100000000", "error:memory budget exceeded" },
    { "reduce([], #acc)", "error:reduce of empty array with no initial value" },
    { "all(nilv, true)", "error:" },
    { "filter(arr, anyv)", "error:not bool" },
    { "sortBy(arr, #, anyv)", "error:unknown order" },
    { "anyv matches \"^s\"", "true" },
    { "s matches anyv + \"(\"", "error:error parsing regexp" },
    { "let r = 1..1000; count(r, count(r, count(r, true) > 0) > 0)", "error:too many iterations" },
    { "anyv.Foo()", "error:cannot fetch Foo from string" },
    { "s contains m.a", "error:interface {} is int, not string" },
    /* superinstructions (cc_fuse): same answers and errors as the instructions they stand for */
    { "evt.Meta.source_ip == \"1.2.3.4\"", "true" },
    { "evt.Meta.source_ip != \"1.2.3.4\"", "false" },
    { "evt.Meta.nope == \"\"", "true" },
    { "evt.Meta.log_type startsWith \"ss\" && evt.Meta.log_type endsWith \"sh\"", "true" },
    { "evt.Meta.log_type contains \"x\" || evt.Name == \"a\"", "true" },
    { "m.a == 1", "true" },
    { "m.b == \"x\" && m.a", "1" },
    { "m.a == 1 && m.a > 0 && m.b != \"y\"", "true" },
    { "m.a contains \"x\"", "error:interface {} is int, not string" },
    { "m.a startsWith \"x\"", "error:interface {} is int, not string" },
    { "m.a endsWith \"x\"", "error:interface {} is int, not string" },
    { "m.a && true", "error:not bool" },
    { "m.a || true", "error:not bool" },
    { "nilv == \"x\"", "false" },
    { "nilv contains \"x\"", "false" },
    { "arr[0] == 1 && arr[-1] == 3", "true" },
    { "queue[1].Meta.source_ip", "\"5.6.7.8\"" },
    /* the second half of a pair is a jump target: no fusing across it */
    { "s == (n > 1 ? \"hello\" : \"b\")", "true" },
    { "s == (n < 1 ? \"hello\" : \"b\")", "false" },
    { "(n > 1 ? evt : nilv).Name", "\"a\"" },
    { "s startsWith (n > 1 ? \"he\" : \"x\")", "true" },
    /* constant string sets: linear below 9 items, binary search above */
    { "s in [\"a\", \"hello\"]", "true" },
    { "s in [\"hellp\", \"hell\", \"helloo\", \"Hello\"]", "false" },
    { "\"\" in [\"\", \"a\"]", "true" },
    { "\"\" in [\"a\"]", "false" },
    { "s in [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"hello\",\"j\",\"hello\"]",
      "true" },
    { "s in [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"hellp\",\"j\",\"hell\"]",
      "false" },
    { "\"zz\" in [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"zz\",\"zzz\",\"z\"]",
      "true" },
    { "\"\" in [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"\"]", "true" },
    { "s not in [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"]", "true" },
    { "\"1\" in [1, 2]", "false" },
    { "1 in [\"1\", 1]", "true" },
    { "nilv in [\"a\", nil]", "true" },
};

static void
test_vm_table(void **state)
{
    (void)state;
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    struct expr_vm *vm = expr_vm_new();
    assert_non_null(vm);
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(vm_cases); i++) {
        const struct vm_case *tc = &vm_cases[i];
        struct expr_error err;
        struct expr_program *p = expr_compile(fx.env, tc->src, strlen(tc->src), EXPR_T_ANY, &err);
        if (!p) {
            print_error("case %zu `%s`: compile error %d:%d %s\n", i, tc->src, err.line, err.column,
                        err.message);
            failures++;
            continue;
        }
        struct expr_value r;
        struct str got = STR_INIT;
        if (expr_eval(vm, p, fx.vars, &r, &err) < 0) {
            str_appendf(&got, "error:%s", err.message);
        } else {
            render(&r, &got, 0);
        }
        bool ok;
        if (strncmp(tc->want, "error:", 6) == 0)
            ok = strncmp(got.buf, "error:", 6) == 0 && strstr(got.buf + 6, tc->want + 6);
        else
            ok = strcmp(got.buf, tc->want) == 0;
        if (!ok) {
            print_error("case %zu `%s`: want %s, got %s\n", i, tc->src, tc->want, got.buf);
            failures++;
        }
        str_free(&got);
        expr_program_free(p);
    }
    expr_vm_free(vm);
    fx_fini(&fx);
    assert_int_equal(failures, 0);
}

/* A run-time error names the failing operator's position. */
static void
test_vm_error_position(void **state)
{
    (void)state;
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    struct expr_vm *vm = expr_vm_new();
    const char *src = "n > 1 &&\n  arr[7] == 1";
    struct expr_error err;
    struct expr_program *p = expr_compile(fx.env, src, strlen(src), EXPR_T_ANY, &err);
    assert_non_null(p);
    struct expr_value r;
    assert_int_equal(expr_eval(vm, p, fx.vars, &r, &err), -1);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.message, "index out of range"));
    assert_non_null(strstr(err.excerpt, "arr[7]"));
    expr_program_free(p);
    /* Errors inside a superinstruction point at the node that failed (what expr-lang shows). */
    static const struct {
        const char *src;
        int column;
    } pos[] = {
        { "arr[7] == 1", 4 },
        { "m.a contains \"x\"", 5 },
        { "m.a && true", 5 },
        { "n > 0 && m.a endsWith \"y\"", 14 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(pos); i++) {
        p = expr_compile(fx.env, pos[i].src, strlen(pos[i].src), EXPR_T_ANY, &err);
        assert_non_null(p);
        assert_int_equal(expr_eval(vm, p, fx.vars, &r, &err), -1);
        if (err.line != 1 || err.column != pos[i].column)
            fail_msg("`%s`: error at %d:%d, want 1:%d", pos[i].src, err.line, err.column,
                     pos[i].column);
        expr_program_free(p);
    }
    /* A host object that is nil at run time: the FIELD of the fused evt.Meta.x fails. */
    struct expr_value vars[FX_NVARS];
    memcpy(vars, fx.vars, sizeof(vars));
    vars[FX_EVT] = expr_nil();
    const char *nil_src = "n > 0 && evt.Meta.source_ip == \"x\"";
    p = expr_compile(fx.env, nil_src, strlen(nil_src), EXPR_T_ANY, &err);
    assert_non_null(p);
    assert_int_equal(expr_eval(vm, p, vars, &r, &err), -1);
    assert_string_equal(err.message, "cannot get Meta from <nil>");
    assert_int_equal(err.column, 14);
    /* The vm is reusable after an error. */
    expr_program_free(p);
    p = expr_compile(fx.env, "n + 1", 5, EXPR_T_ANY, &err);
    assert_non_null(p);
    assert_int_equal(expr_eval(vm, p, fx.vars, &r, &err), 0);
    assert_int_equal(r.u.i, 11);
    expr_program_free(p);
    expr_vm_free(vm);
    fx_fini(&fx);
}

/*
 * The common filter shapes must not allocate: after each evaluation the
 * vm's arena has handed out nothing.
 */
static void
test_vm_no_alloc(void **state)
{
    (void)state;
    static const char *shapes[] = {
        "evt.Meta.source_ip == \"1.2.3.4\" && evt.Name in [\"a\", \"b\", \"c\"]",
        "evt.Meta.log_type contains \"ss\" || evt.Name startsWith \"x\"",
        "evt.Count < 2 and not (evt.Name endsWith \"z\")",
        "evt.Meta.source_ip matches \"^1\\\\.\"",
        "any(queue, .Name == \"b\")",
        "\"source_ip\" in evt.Meta && evt.Meta.source_ip not in [\"9.9.9.9\"]",
        "evt.GetMeta(\"log_type\") == \"ssh\"",
        "queue[-1].Meta.service == \"http\" && evt.Meta?.source_ip != \"\"",
    };
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    struct expr_vm *vm = expr_vm_new();
    for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
        struct expr_error err;
        struct expr_program *p =
            expr_compile(fx.env, shapes[i], strlen(shapes[i]), EXPR_T(EXPR_BOOL), &err);
        if (!p)
            fail_msg("`%s`: %s", shapes[i], err.message);
        for (int k = 0; k < 100; k++) {
            int rc = expr_eval_bool(vm, p, fx.vars, &err);
            if (rc != 1)
                fail_msg("`%s`: got %d (%s)", shapes[i], rc, err.message);
            if (vm->arena.used != 0)
                fail_msg("`%s` allocated %zu bytes", shapes[i], vm->arena.used);
        }
        expr_program_free(p);
    }
    expr_vm_free(vm);
    fx_fini(&fx);
}

/* Map helpers: insertion order, replacement, and the hash index past 16 keys. */
static void
test_vm_map_helpers(void **state)
{
    (void)state;
    struct expr_vm *vm = expr_vm_new();
    struct expr_map *m = expr_vm_map(vm, 0);
    assert_non_null(m);
    char keys[100][8];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        assert_int_equal(expr_map_set(vm, m, keys[i], (size_t)n, expr_int(i)), 0);
    }
    assert_int_equal(expr_map_set(vm, m, "k5", 2, expr_int(500)), 0);
    assert_int_equal(m->len, 100);
    assert_non_null(m->index);
    for (int i = 0; i < 100; i++) {
        const struct expr_value *v = expr_map_get(m, keys[i], strlen(keys[i]));
        assert_non_null(v);
        assert_int_equal(v->u.i, i == 5 ? 500 : i);
        assert_string_equal(m->entries[i].key, keys[i]);
    }
    assert_null(expr_map_get(m, "k100", 4));
    struct expr_value s = expr_vm_strf(vm, "%s-%d", "x", 42);
    assert_int_equal(s.kind, EXPR_STRING);
    assert_int_equal(s.u.s.len, 4);
    assert_memory_equal(s.u.s.ptr, "x-42", 4);
    expr_vm_free(vm);
}

static void
test_vm_regex(void **state)
{
    (void)state;
    char err[256];
    struct expr_regex *re = expr_regex_compile("^a+b$", 5, err, sizeof(err));
    assert_non_null(re);
    assert_int_equal(expr_regex_match(re, "aab", 3), 1);
    assert_int_equal(expr_regex_match(re, "aab\n", 4), 0);
    assert_int_equal(expr_regex_match(re, "\xff\xfe aab", 6), 0);
    expr_regex_free(re);
    /* Catastrophic backtracking hits the match limit instead of stalling. */
    re = expr_regex_compile("(a+)+$", 6, err, sizeof(err));
    assert_non_null(re);
    char subject[64];
    memset(subject, 'a', sizeof(subject) - 2);
    subject[sizeof(subject) - 2] = 'b';
    assert_true(expr_regex_match(re, subject, sizeof(subject) - 1) <= 0);
    expr_regex_free(re);
    assert_null(expr_regex_compile("(abc", 4, err, sizeof(err)));
    assert_non_null(strstr(err, "error parsing regexp"));
    assert_null(expr_regex_compile("\\C", 2, err, sizeof(err)));
}

/*
 * The literal prefilter of regex.c must never change an answer: each
 * pattern is run on each subject by expr_regex_match and by PCRE2 directly
 * (same flags, no prefilter), and both must agree. The patterns are the ways
 * a leading literal stops being required: top-level alternatives (also
 * hidden in classes, comments, \Q..\E and escapes), quantifiers on its last
 * character, flags, anchors, escapes, non-ASCII, and literals over 64 bytes.
 */
static void
test_vm_regex_literal(void **state)
{
    (void)state;
    static const char *patterns[] = {
        "abc",
        "abc|xyz",
        "xyz|abc",
        "ab?c",
        "abc?",
        "abc*",
        "abc+d",
        "abc{0}d",
        "abc{2}",
        "a\\.bcd",
        "a\\.b\\?c",
        "(?i)abcd",
        "abc(?i)def",
        "[|]abcd",
        "abcd[|]",
        "\\Qa|b\\E",
        "abcd\\Q|\\E",
        "abcd\\Q|",
        "ab(?#x|y)cd",
        "abcd(?#x|y)",
        "foo\\|bar",
        "^/api/v1",
        "/api/v1$",
        "abc\\d+",
        "abc\\bdef",
        "abc.def",
        "h\xc3\xa9llo",
        "hello w\xc3\xb6rld",
        "abc def",
        "[]|]abcd",
        "[^]|]abcd",
        "[]abc]|xyz",
        "[[:alpha:]|]abcd",
        "abcd[[:alpha:]]|x",
        "(a|b)cde",
        "abc(d|e)",
        "abc(?:d|e)|f",
        "abc\\x41def",
        "abc\\ def",
        "\\/apps\\/files\\/api",
        "/ui/vcav-bootstrap/rest/vcav-providers/provider-logo\\?url=(file|http)",
        "0123456789012345678901234567890123456789012345678901234567890123456789?",
        "0123456789012345678901234567890123456789012345678901234567890123x",
        "abc\\Edef",
        "abc)|(def",
    };
    static const char *subjects[] = {
        "",
        "abc",
        "xyz",
        "ac",
        "ab",
        "abd",
        "abcbcd",
        "abccd",
        "abcd",
        "abcc",
        "a.bcd",
        "axbcd",
        "a.b?c",
        "ABCD",
        "abcDEF",
        "|abcd",
        "abcd|",
        "a|b",
        "abcd|",
        "foo|bar",
        "/api/v1/x",
        "x/api/v1",
        "abc123",
        "abc def",
        "abc-def",
        "h\xc3\xa9llo",
        "hello w\xc3\xb6rld",
        "]abcd",
        "xabcd",
        "acde",
        "bcde",
        "abce",
        "f",
        "abcAdef",
        "/apps/files/api/v1",
        "/ui/vcav-bootstrap/rest/vcav-providers/provider-logo?url=file:///etc/passwd",
        "01234567890123456789012345678901234567890123456789012345678901234567",
        "012345678901234567890123456789012345678901234567890123456789012345678",
        "0123456789012345678901234567890123456789012345678901234567890123x",
        "abcdef",
        "\xff\xfe abc",
    };
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(patterns); i++) {
        const char *pat = patterns[i];
        char err[256];
        struct expr_regex *re = expr_regex_compile(pat, strlen(pat), err, sizeof(err));
        int code;
        PCRE2_SIZE off;
        pcre2_code *raw = pcre2_compile((PCRE2_SPTR)pat, strlen(pat),
                                        PCRE2_DOLLAR_ENDONLY | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
                                            PCRE2_NEVER_BACKSLASH_C,
                                        &code, &off, NULL);
        if ((re == NULL) != (raw == NULL)) {
            print_error("pattern `%s`: compiles %d vs %d\n", pat, re != NULL, raw != NULL);
            failures++;
        }
        if (re == NULL || raw == NULL) {
            expr_regex_free(re);
            pcre2_code_free(raw);
            continue;
        }
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        assert_non_null(md);
        for (size_t j = 0; j < ARRAY_SIZE(subjects); j++) {
            const char *s = subjects[j];
            int want = pcre2_match(raw, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0;
            int got = expr_regex_match(re, s, strlen(s));
            if (got != want) {
                print_error("`%s` matches `%s`: want %d, got %d\n", s, pat, want, got);
                failures++;
            }
        }
        pcre2_match_data_free(md);
        pcre2_code_free(raw);
        expr_regex_free(re);
    }
    assert_int_equal(failures, 0);
}

/*
 * Patterns known only at run time are compiled once per vm and reused:
 * results stay right when there are more patterns than cache entries (200
 * against 64, so entries are evicted and compiled again), and a pattern
 * that does not compile fails with the same message every time.
 */
static void
test_vm_regex_cache(void **state)
{
    (void)state;
    static const struct {
        const char *src;
        const char *want;
    } cases[] = {
        { "all(0..199, { (s + string(#)) matches (\"^hello\" + string(#) + \"$\") })", "true" },
        { "any(0..199, { s matches (\"^hello\" + string(#) + \"$\") })", "false" },
        { "filter(0..199, { (s + string(# % 7)) matches (\"^hel+o\" + string(#) + \"$\") })",
          "[0,1,2,3,4,5,6]" },
        { "map([\"^h\", \"^H\", \"o$\", \"^h\"], { s matches # })", "[true,false,true,true]" },
        { "s matches anyv + \"(\"",
          "error:error parsing regexp: missing closing parenthesis: `str(`" },
        { "nilv matches anyv + \"(\"", "false" },
        { "s matches (n > 1 ? \"^h\" : \"(\")", "true" },
        { "upper(s) matches upper(\"^h.*O$\")", "true" },
        { "s matches upper(\"(\")",
          "error:error parsing regexp: missing closing parenthesis: `(`" },
    };
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    struct expr_vm *vm = expr_vm_new();
    assert_non_null(vm);
    int failures = 0;
    /* Three rounds on the same vm: the first compiles, the others hit (or re-compile). */
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
            struct expr_error err;
            struct expr_program *p =
                expr_compile(fx.env, cases[i].src, strlen(cases[i].src), EXPR_T_ANY, &err);
            if (!p) {
                print_error("`%s`: compile error %s\n", cases[i].src, err.message);
                failures++;
                continue;
            }
            struct expr_value r;
            struct str got = STR_INIT;
            if (expr_eval(vm, p, fx.vars, &r, &err) < 0)
                str_appendf(&got, "error:%s", err.message);
            else
                render(&r, &got, 0);
            if (strcmp(got.buf, cases[i].want) != 0) {
                print_error("round %d `%s`: want %s, got %s\n", round, cases[i].src, cases[i].want,
                            got.buf);
                failures++;
            }
            str_free(&got);
            expr_program_free(p);
        }
    }
    expr_vm_free(vm);
    fx_fini(&fx);
    assert_int_equal(failures, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vm_table),       cmocka_unit_test(test_vm_error_position),
        cmocka_unit_test(test_vm_no_alloc),    cmocka_unit_test(test_vm_map_helpers),
        cmocka_unit_test(test_vm_regex),       cmocka_unit_test(test_vm_regex_literal),
        cmocka_unit_test(test_vm_regex_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
