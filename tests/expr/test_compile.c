/*
 * test_compile.c - compile-time behaviour of the expression engine: the
 * error table (position, message, caret excerpt), static typing of host
 * classes (fields and map keys resolved to slots, methods checked), the
 * expected-bool check, constant folding and the disassembly.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str.h"
#include "expr/helpers.h"
#include "vm_fixture.h"

struct err_case {
    const char *src;
    bool expect_bool;
    int line, column;    /* 0 = do not check */
    const char *msg;     /* substring of the message */
    const char *excerpt; /* exact excerpt, or NULL to skip */
};

static const struct err_case err_cases[] = {
    { "foo", false, 1, 1, "unknown name foo", "foo\n^" },
    { "n + bar", false, 1, 5, "unknown name bar", "n + bar\n    ^" },
    { "Foo(1)", false, 1, 1, "unknown name Foo", NULL },
    { "evt.Foo", false, 1, 0, "type Event has no field Foo", NULL },
    { "evt.Meta.x.y", false, 1, 0, "type string has no field y", NULL },
    { "evt.GetFoo()", false, 1, 0, "type Event has no method GetFoo", NULL },
    { "evt.GetMeta()", false, 1, 0, "not enough arguments to call GetMeta", NULL },
    { "evt.GetMeta(\"a\", \"b\")", false, 1, 0, "too many arguments to call GetMeta", NULL },
    { "evt.Name()", false, 1, 0, "Name is not callable", NULL },
    { "queue[0].Nope", false, 1, 0, "type Event has no field Nope", NULL },
    { "any(queue, .Nope == 1)", false, 1, 0, "type Event has no field Nope", NULL },
    { "n + \"a\"", false, 1, 3, "invalid operation: + (mismatched types int and string)", NULL },
    { "s - 1", false, 1, 3, "invalid operation: - (mismatched types string and int)", NULL },
    { "s % 2", false, 1, 0, "mismatched types string and int", NULL },
    { "!n", false, 1, 1, "invalid operation: ! (mismatched type int)", NULL },
    { "-s", false, 1, 1, "mismatched type string", NULL },
    { "n && true", false, 1, 0, "mismatched types int and bool", NULL },
    { "s matches \"(\"", false, 1, 0, "error parsing regexp", NULL },
    { "s matches \"[a-\"", false, 1, 0, "error parsing regexp", NULL },
    { "n matches \"a\"", false, 1, 0, "invalid operation: matches", NULL },
    { "n contains \"a\"", false, 1, 0, "invalid operation: contains", NULL },
    { "#", false, 1, 1, "unexpected token", NULL },
    { "all(n, # > 1)", false, 1, 0, "builtin all takes only array (got int)", NULL },
    { "all(arr)", false, 1, 0, "expected at least 2 arguments", NULL },
    { "filter(arr, # + 1)", false, 1, 0, "predicate should return boolean (got int)", NULL },
    { "n ? 1 : 2", false, 1, 0, "non-bool expression (type int) used as condition", NULL },
    { "n + 1", true, 0, 0, "expected bool, but got int", NULL },
    { "s", true, 0, 0, "expected bool, but got string", NULL },
    { "evt.Name", true, 0, 0, "expected bool, but got string", NULL },
    { "n > 1 &&\n  foo", false, 2, 3, "unknown name foo", "  foo\n  ^" },
    { "n > 1 &&\n\tfoo", false, 2, 0, "unknown name foo", NULL },
    { "let n = 1; n", false, 1, 0, "cannot redeclare variable n", NULL },
    { "let x = 1; let x = 2; x", false, 1, 0, "cannot redeclare x", NULL },
    { "n[0]", false, 1, 0, "type int[int] is undefined", NULL },
    /* Only map and reduce bind #index, only reduce binds #acc (expr-lang's checker). */
    { "filter(arr, #index > 0)", false, 1, 0, "unknown pointer #index", NULL },
    { "map(arr, #acc)", false, 1, 0, "unknown pointer #acc", NULL },
    { "s[0]", false, 1, 0, "type string[int] is undefined", NULL },
    { "s[\"a\"]", false, 1, 0, "type string has no field a", NULL },
    { "'1' == 1", false, 1, 0, "invalid operation: == (mismatched types string and int)", NULL },
    { "true != 1", false, 1, 0, "invalid operation: != (mismatched types bool and int)", NULL },
    { "s == n", false, 1, 0, "invalid operation: == (mismatched types string and int)", NULL },
    { "arr[\"a\"]", false, 1, 0, "array elements can only be selected using an integer", NULL },
    { "n[1:2]", false, 1, 0, "cannot slice int", NULL },
    { "arr[1:\"a\"]", false, 1, 0, "non-integer slice index string", NULL },
    { "1..s", false, 1, 0, "invalid operation: ..", NULL },
    { "s.Foo", false, 1, 0, "type string has no field Foo", NULL },
    { "n()", false, 1, 1, "n is not callable", NULL },
    { "{(n): 1}", false, 1, 0, "cannot use int as type string in map key", NULL },
    { "sortBy(arr, #, 1)", false, 1, 0, "sortBy order argument must be a string", NULL },
    { "twice()", false, 1, 1, "not enough arguments to call twice", NULL },
    { "twice(1, 2)", false, 1, 1, "too many arguments to call twice", NULL },
    { "$env.n + \"x\"", false, 1, 0, "mismatched types int and string", NULL },
    { "t.Nope()", false, 1, 0, "has no method Nope", NULL },
    { "d + 1", false, 1, 0, "mismatched types", NULL },
};

static void
test_compile_errors(void **state)
{
    (void)state;
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
        const struct err_case *tc = &err_cases[i];
        struct expr_error err;
        struct expr_type expect = tc->expect_bool ? EXPR_T(EXPR_BOOL) : EXPR_T_ANY;
        struct expr_program *p = expr_compile(fx.env, tc->src, strlen(tc->src), expect, &err);
        if (p) {
            print_error("case %zu `%s`: compiled, want error \"%s\"\n", i, tc->src, tc->msg);
            expr_program_free(p);
            failures++;
            continue;
        }
        bool ok = strstr(err.message, tc->msg) != NULL;
        if (tc->line && err.line != tc->line)
            ok = false;
        if (tc->column && err.column != tc->column)
            ok = false;
        if (tc->excerpt && strcmp(err.excerpt, tc->excerpt) != 0)
            ok = false;
        /* Every positioned error carries an excerpt ending in a caret. */
        if (err.line > 0 &&
            (strlen(err.excerpt) == 0 || err.excerpt[strlen(err.excerpt) - 1] != '^'))
            ok = false;
        if (!ok) {
            print_error("case %zu `%s`: want %d:%d \"%s\", got %d:%d \"%s\" excerpt \"%s\"\n", i,
                        tc->src, tc->line, tc->column, tc->msg, err.line, err.column, err.message,
                        err.excerpt);
            failures++;
        }
    }
    fx_fini(&fx);
    assert_int_equal(failures, 0);
}

/* Syntax errors come from the parser, with a position and an excerpt. */
static void
test_compile_syntax_errors(void **state)
{
    (void)state;
    static const char *bad[] = { "1 +", "(1", "n ==", "[1, 2", "\"abc", "evt.", "1 2" };
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct expr_error err;
        struct expr_program *p = expr_compile(fx.env, bad[i], strlen(bad[i]), EXPR_T_ANY, &err);
        if (p)
            fail_msg("`%s` compiled", bad[i]);
        assert_int_equal(err.line, 1);
        assert_true(err.column >= 1);
        assert_true(strlen(err.message) > 0);
        assert_non_null(strchr(err.excerpt, '^'));
    }
    fx_fini(&fx);
}

static char *
dump_to_string(const struct expr_program *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    expr_program_dump(p, f);
    fclose(f);
    return buf;
}

/*
 * Typed member access compiles to field slots and constant map keys: no
 * run-time lookup by name; an untyped value uses the dynamic lookup.
 */
static void
test_compile_typed_members(void **state)
{
    (void)state;
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    struct expr_error err;
    const char *src = "evt.Meta.source_ip == \"1.2.3.4\" && evt.Name in [\"a\", \"b\"]";
    struct expr_program *p = expr_compile(fx.env, src, strlen(src), EXPR_T(EXPR_BOOL), &err);
    assert_non_null(p);
    assert_int_equal(expr_program_type(p).kind, EXPR_BOOL);
    assert_string_equal(expr_program_source(p), src);
    char *d = dump_to_string(p);
    assert_non_null(strstr(d, "FIELD"));
    assert_non_null(strstr(d, "MAPKEY"));
    assert_non_null(strstr(d, "IN_SET"));
    assert_null(strstr(d, "MEMBER"));
    free(d);
    expr_program_free(p);

    p = expr_compile(fx.env, "anyv.foo", 8, EXPR_T_ANY, &err);
    assert_non_null(p);
    d = dump_to_string(p);
    assert_non_null(strstr(d, "MEMBER"));
    free(d);
    expr_program_free(p);

    /* Static result types. */
    static const struct {
        const char *src;
        int kind;
    } types[] = {
        { "evt.Name", EXPR_STRING },
        { "evt.Count + 1", EXPR_INT },
        { "n / 2", EXPR_FLOAT },
        { "evt.Meta.x", EXPR_STRING },
        { "queue[0]", EXPR_OBJECT },
        { "anyv", EXPR_ANY },
        { "evt.GetMeta(\"a\")", EXPR_STRING },
        { "t - t", EXPR_DURATION },
        { "1..3", EXPR_ARRAY },
        { "n > 1 ? \"a\" : \"b\"", EXPR_STRING },
        { "n + f", EXPR_FLOAT },
        { "s + s", EXPR_STRING },
    };
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        p = expr_compile(fx.env, types[i].src, strlen(types[i].src), EXPR_T_ANY, &err);
        if (!p)
            fail_msg("`%s`: %s", types[i].src, err.message);
        if (expr_program_type(p).kind != types[i].kind)
            fail_msg("`%s`: type %d, want %d", types[i].src, expr_program_type(p).kind,
                     types[i].kind);
        expr_program_free(p);
    }
    fx_fini(&fx);
}

/* Literal subtrees fold into one constant. */
static void
test_compile_folding(void **state)
{
    (void)state;
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    struct expr_error err;
    struct expr_program *p = expr_compile(fx.env, "1 + 2 * 3 - -4", 14, EXPR_T_ANY, &err);
    assert_non_null(p);
    char *d = dump_to_string(p);
    assert_non_null(strstr(d, "CONST"));
    assert_null(strstr(d, "ADD"));
    assert_null(strstr(d, "MUL"));
    assert_non_null(strstr(d, "; 11"));
    free(d);
    assert_int_equal(expr_program_type(p).kind, EXPR_INT);
    expr_program_free(p);
    /* A folding error is left to the run time. */
    p = expr_compile(fx.env, "1 % 0", 5, EXPR_T_ANY, &err);
    assert_non_null(p);
    expr_program_free(p);
    fx_fini(&fx);
}

/* A context function that shadows Upper: never folded, it runs at each eval. */
static int
fake_upper(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    (void)vm;
    (void)args;
    (void)nargs;
    *ret = expr_strv("shadow", 6);
    return 0;
}

/*
 * Pure string helpers with constant arguments fold into one constant; a
 * non-constant argument, a failing call or a shadowing context function
 * keeps the run-time call.
 */
static void
test_compile_fold_pure_calls(void **state)
{
    (void)state;
    static const struct {
        const char *src;
        bool folded;
        const char *want; /* string result */
    } cases[] = {
        { "Upper(\"abc\")", true, "ABC" },
        { "Lower(\"A\" + \"B\")", true, "ab" },
        { "TrimSpace(\"  x \")", true, "x" },
        { "TrimPrefix(\"foobar\", \"foo\")", true, "bar" },
        { "Upper(Lower(\"MiX\"))", true, "MIX" },
        { "upper(\"q\")", true, "Q" },
        { "trim(\"--a--\", \"-\")", true, "a" },
        { "Upper(s)", false, "HELLO" },
        { "Upper(s + \"a\")", false, "HELLOA" },
    };
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    assert_int_equal(expr_env_add_funcs(fx.env, expr_helpers_strings, expr_helpers_strings_count),
                     0);
    struct expr_vm *vm = expr_vm_new();
    assert_non_null(vm);
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_error err;
        struct expr_program *p =
            expr_compile(fx.env, cases[i].src, strlen(cases[i].src), EXPR_T_ANY, &err);
        if (!p) {
            print_error("`%s`: compile error %s\n", cases[i].src, err.message);
            failures++;
            continue;
        }
        char *d = dump_to_string(p);
        bool folded = strstr(d, "CALL") == NULL;
        struct expr_value r;
        int rc = expr_eval(vm, p, fx.vars, &r, &err);
        if (folded != cases[i].folded || rc != 0 || r.kind != EXPR_STRING ||
            r.u.s.len != strlen(cases[i].want) ||
            memcmp(r.u.s.ptr, cases[i].want, r.u.s.len) != 0) {
            print_error("`%s`: folded %d (want %d), rc %d\n%s", cases[i].src, folded,
                        cases[i].folded, rc, d);
            failures++;
        }
        free(d);
        expr_program_free(p);
    }
    /* The newest Upper is the context's: it is called, not folded. */
    static const struct expr_func shadow[] = {
        { "Upper", 1, 1, { .kind = EXPR_STRING }, fake_upper },
    };
    assert_int_equal(expr_env_add_funcs(fx.env, shadow, ARRAY_SIZE(shadow)), 0);
    struct expr_error err;
    struct expr_program *p = expr_compile(fx.env, "Upper(\"abc\")", 12, EXPR_T_ANY, &err);
    assert_non_null(p);
    char *d = dump_to_string(p);
    assert_non_null(strstr(d, "CALL"));
    free(d);
    struct expr_value r;
    assert_int_equal(expr_eval(vm, p, fx.vars, &r, &err), 0);
    assert_int_equal(r.kind, EXPR_STRING);
    assert_int_equal(r.u.s.len, 6);
    assert_memory_equal(r.u.s.ptr, "shadow", 6);
    expr_program_free(p);
    expr_vm_free(vm);
    fx_fini(&fx);
    assert_int_equal(failures, 0);
}

/* Filters compile with expect=bool when the type is bool or unknown. */
static void
test_compile_expect_bool(void **state)
{
    (void)state;
    static const char *ok[] = {
        "anyv", "evt.Meta.x == \"a\"", "nilv?.x", "n > 1 and s != \"\"", "any(queue, .Count > 2)",
        "m.a"
    };
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        struct expr_error err;
        struct expr_program *p =
            expr_compile(fx.env, ok[i], strlen(ok[i]), EXPR_T(EXPR_BOOL), &err);
        if (!p)
            fail_msg("`%s`: %s", ok[i], err.message);
        expr_program_free(p);
    }
    fx_fini(&fx);
}

/*
 * Long chains and deep nesting, as the hub and the fuzz corpus have them.
 * A long case is first + count copies of term ('@' stands for the copy's
 * index) + last: left-leaning chains of 1,000s of terms must compile and
 * run. A nested case is depth copies of open, core, depth copies of close:
 * genuine nesting compiles up to the limit and is an error beyond it, never
 * a crash. want: "true", "false", "nil", "int:N", "len:N" (string length),
 * "ok" (any result), "error:SUBSTRING" (compile or run-time error).
 * Chains and nesting within the limits run on a thread with a 1 MiB stack:
 * the compiler must not need more, even under ASan.
 */
struct long_case {
    const char *first, *term;
    size_t count;
    const char *last, *want;
};

static const struct long_case long_cases[] = {
    { "s == \"a\"", " || s == \"x@\"", 2000, " || s == \"hello\"", "true" },
    { "s == \"hello\"", " || s == \"x@\"", 2000, NULL, "true" },
    { "s == \"a\"", " || s == \"x@\"", 2000, NULL, "false" },
    { "s != \"a\"", " && s != \"x@\"", 2000, NULL, "true" },
    { "s != \"a\"", " && s != \"x@\"", 2000, " && n == 0", "false" },
    { "s == \"a\"", " || n == @ && s == \"hello\"", 1000, NULL, "true" },
    { "s startsWith \"x\"", " or s contains \"@x\" or s matches \"^@$\"", 1000, NULL, "false" },
    { "1", " + 1", 3999, NULL, "int:4000" },
    { "n", " + 1", 3000, NULL, "int:3010" },
    { "n", " + 1 - 1", 2000, NULL, "int:10" },
    { "1 + 2", " * 1", 3000, " + n", "int:13" },
    { "s", " + \"a\"", 5000, NULL, "error:maximum allowed nodes" },
    { "s", " + \"a\"", 2000, NULL, "len:2005" },
    { "nilv", " ?? nilv", 3000, " ?? 7", "int:7" },
    { "n", " ?? 1", 3000, NULL, "int:10" },
    { "nilv?.a", ".a", 3000, NULL, "nil" },
    { "nilv", "?.a", 3000, NULL, "nil" },
    { "nilv", "?.[@]", 3000, NULL, "nil" },
    { "m", ".a", 3000, NULL, "error:cannot fetch a from int" },
    { "anyv", "[0]", 3000, NULL, "error:cannot fetch 0 from int" },
    { "arr", "[0:3]", 3000, "[2]", "int:3" },
    { "evt.Meta", "?.source_ip", 1, NULL, "len:7" },
};

struct nest_case {
    const char *open, *core, *close;
    size_t depth;
    const char *want;
};

static const struct nest_case nest_cases[] = {
    { "n + (", "n", ")", 60, "int:610" },
    { "!", "true", "", 60, "true" },
    { "-(", "n", ")", 60, "int:10" },
    { "twice(", "1", ")", 40, "int:1099511627776" },
    { "[", "1", "]", 60, "ok" },
    { "{\"a\": ", "1", "}", 60, "ok" },
    { "true ? ", "1", " : 0", 60, "int:1" },
    { "false ? 0 : ", "1", "", 60, "int:1" },
    { "arr[", "1", " - 1]", 63, "int:1" },
    { "m[", "\"a\"", "] == 1 ? \"a\" : \"b\"", 40, "ok" },
    { "any(arr, ", "true", ")", 60, "true" },
    { "count(arr, ", "true", ") > 0", 10, "true" },
};

/* Past the limits: an error from the parser or the compiler. */
static const struct nest_case too_deep_cases[] = {
    { "all(arr, ", "true", ")", 100, "error:nested too deeply" },
    { "n + (", "n", ")", 200, "error:nested" },
    { "[", "1", "]", 200, "error:deeply" },
    { "twice(", "1", ")", 200, "error:deeply" },
    { "n + (", "n", ")", 3000, "error:nested" },
    { "[", "1", "]", 3000, "error:nested" },
    { "!", "true", "", 3000, "error:nested" },
    { "twice(", "1", ")", 3000, "error:nested" },
    { "true ? ", "1", " : 0", 3000, "error:nested" },
    { "arr[", "1", " - 1]", 3000, "error:nested" },
    { "", "1", " | twice()", 3000, "error:nested" },
};

struct deep_result {
    int failures;
    char first[512];
};

static void
deep_fail(struct deep_result *res, const char *src, const char *want, const char *got)
{
    /* Printed here, asserted in the main thread: cmocka's failures longjmp. */
    print_error("`%.60s...` (%zu bytes): want %s, got %s\n", src, strlen(src), want, got);
    if (res->failures++ == 0)
        snprintf(res->first, sizeof(res->first), "`%.60s...` (%zu bytes): want %s, got %s", src,
                 strlen(src), want, got);
}

/* Compiles and runs src, compares with want (see above). */
static void
deep_check(struct fixture *fx, struct expr_vm *vm, const char *src, const char *want,
           struct deep_result *res)
{
    struct expr_error err;
    struct expr_value r;
    char got[300];
    struct expr_program *p = expr_compile(fx->env, src, strlen(src), EXPR_T_ANY, &err);
    if (!p) {
        snprintf(got, sizeof(got), "error:%s", err.message);
    } else if (expr_eval(vm, p, fx->vars, &r, &err) < 0) {
        snprintf(got, sizeof(got), "error:%s", err.message);
    } else if (strcmp(want, "ok") == 0) {
        snprintf(got, sizeof(got), "ok");
    } else if (r.kind == EXPR_BOOL) {
        snprintf(got, sizeof(got), "%s", r.u.b ? "true" : "false");
    } else if (r.kind == EXPR_NIL) {
        snprintf(got, sizeof(got), "nil");
    } else if (r.kind == EXPR_INT) {
        snprintf(got, sizeof(got), "int:%lld", (long long)r.u.i);
    } else if (r.kind == EXPR_STRING) {
        snprintf(got, sizeof(got), "len:%zu", r.u.s.len);
    } else {
        snprintf(got, sizeof(got), "kind %d", r.kind);
    }
    expr_program_free(p);
    bool ok = strncmp(want, "error:", 6) == 0
                  ? strncmp(got, "error:", 6) == 0 && strstr(got + 6, want + 6) != NULL
                  : strcmp(got, want) == 0;
    if (!ok)
        deep_fail(res, src, want, got);
}

/* Appends s with every '@' replaced by index. */
static void
append_term(struct str *out, const char *s, size_t index)
{
    for (; *s; s++) {
        if (*s == '@')
            str_appendf(out, "%zu", index);
        else
            str_append_char(out, *s);
    }
}

static void
run_nest_cases(struct fixture *fx, struct expr_vm *vm, const struct nest_case *cases, size_t n,
               struct deep_result *res)
{
    for (size_t i = 0; i < n; i++) {
        const struct nest_case *tc = &cases[i];
        struct str src = STR_INIT;
        for (size_t k = 0; k < tc->depth; k++)
            str_append_cstr(&src, tc->open);
        str_append_cstr(&src, tc->core);
        for (size_t k = 0; k < tc->depth; k++)
            str_append_cstr(&src, tc->close);
        deep_check(fx, vm, src.buf, tc->want, res);
        str_free(&src);
    }
}

struct deep_job {
    bool too_deep; /* run too_deep_cases instead of long_cases and nest_cases */
    struct deep_result res;
};

static void *
deep_thread(void *arg)
{
    struct deep_job *job = arg;
    struct deep_result *res = &job->res;
    struct fixture fx;
    struct expr_vm *vm = expr_vm_new();
    if (fx_init(&fx) < 0 || !vm) {
        deep_fail(res, "", "setup", "failure");
        expr_vm_free(vm);
        return NULL;
    }
    if (job->too_deep) {
        run_nest_cases(&fx, vm, too_deep_cases, ARRAY_SIZE(too_deep_cases), res);
        goto out;
    }
    for (size_t i = 0; i < ARRAY_SIZE(long_cases); i++) {
        const struct long_case *tc = &long_cases[i];
        struct str src = STR_INIT;
        str_append_cstr(&src, tc->first);
        for (size_t k = 0; k < tc->count; k++)
            append_term(&src, tc->term, k);
        if (tc->last)
            str_append_cstr(&src, tc->last);
        deep_check(&fx, vm, src.buf, tc->want, res);
        str_free(&src);
    }
    run_nest_cases(&fx, vm, nest_cases, ARRAY_SIZE(nest_cases), res);
out:
    expr_vm_free(vm);
    fx_fini(&fx);
    return NULL;
}

/* Runs a job on a thread with the given stack size. */
static void
run_deep_job(struct deep_job *job, size_t stack)
{
    pthread_attr_t attr;
    pthread_t th;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, stack), 0);
    assert_int_equal(pthread_create(&th, &attr, deep_thread, job), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);
    if (job->res.failures)
        fail_msg("%d failures; first: %s", job->res.failures, job->res.first);
}

static void
test_compile_long_and_deep(void **state)
{
    (void)state;
    /* Long chains and nesting up to the limit: the compiler fits in a 1 MiB stack. */
    struct deep_job job = { .too_deep = false };
    run_deep_job(&job, (size_t)1 << 20);
    /*
     * Past the limit the parser recurses to its own limit first; it needs
     * more than 1 MiB under ASan, so this part runs on a default-size stack.
     */
    struct deep_job job2 = { .too_deep = true };
    run_deep_job(&job2, (size_t)8 << 20);
}

/*
 * A run of one short-circuit operator jumps straight to its end: the first
 * true term of a long || chain does not hop through every later jump.
 */
static void
test_compile_or_chain_jumps(void **state)
{
    (void)state;
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    const char *src = "s == \"a\" || s == \"b\" || s == \"c\" || s == \"d\"";
    struct expr_error err;
    struct expr_program *p = expr_compile(fx.env, src, strlen(src), EXPR_T(EXPR_BOOL), &err);
    assert_non_null(p);
    char *d = dump_to_string(p);
    /* Three JUMP_IF_TRUE (fused with their POP), all to the final RETURN (instruction 18). */
    int targets[8], ntargets = 0, end = -1;
    for (const char *line = d; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        char op[32];
        int idx, a;
        if (sscanf(line, "%d %31s %d", &idx, op, &a) != 3)
            continue;
        if (strncmp(op, "JUMP_IF_TRUE", 12) == 0 && ntargets < 8)
            targets[ntargets++] = a;
        if (strcmp(op, "RETURN") == 0)
            end = idx;
    }
    assert_int_equal(end, 18);
    assert_int_equal(ntargets, 3);
    for (int i = 0; i < ntargets; i++)
        assert_int_equal(targets[i], end);
    free(d);
    expr_program_free(p);
    fx_fini(&fx);
}

/*
 * The last pass fuses common sequences into superinstructions, but never
 * swallows an instruction that a jump lands on.
 */
static void
test_compile_superinstructions(void **state)
{
    (void)state;
    struct fixture fx;
    assert_int_equal(fx_init(&fx), 0);
    static const struct {
        const char *src;
        const char *has;   /* in the disassembly */
        const char *lacks; /* not in it, or NULL */
    } cases[] = {
        { "evt.Meta.source_ip == \"1.2.3.4\"", "VAR_FIELD_MAPKEY", NULL },
        { "evt.Meta.source_ip == \"1.2.3.4\"", "EQ_CONST", NULL },
        { "evt.Name != \"a\" && evt.Count > 1", "JUMP_IF_FALSE_POP", NULL },
        { "evt.Name == \"a\" || evt.Count > 1", "JUMP_IF_TRUE_POP", NULL },
        { "evt.Name startsWith \"a\"", "STARTSWITH_CONST", NULL },
        { "evt.Name endsWith \"a\"", "ENDSWITH_CONST", NULL },
        { "evt.Name contains \"a\"", "CONTAINS_CONST", NULL },
        { "evt.Name", "VAR_FIELD", NULL },
        { "m.a", "VAR_MAPKEY", NULL },
        { "arr[1]", "INDEX_CONST", NULL },
        /* EQ is the join point of the conditional: CONST "b" and EQ stay apart. */
        { "s == (n > 1 ? \"a\" : \"b\")", "EQ", "EQ_CONST" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_error err;
        struct expr_program *p =
            expr_compile(fx.env, cases[i].src, strlen(cases[i].src), EXPR_T_ANY, &err);
        if (!p)
            fail_msg("`%s`: %s", cases[i].src, err.message);
        char *d = dump_to_string(p);
        if (!strstr(d, cases[i].has))
            fail_msg("`%s`: no %s in\n%s", cases[i].src, cases[i].has, d);
        if (cases[i].lacks && strstr(d, cases[i].lacks))
            fail_msg("`%s`: %s in\n%s", cases[i].src, cases[i].lacks, d);
        free(d);
        expr_program_free(p);
    }
    fx_fini(&fx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_compile_syntax_errors),
        cmocka_unit_test(test_compile_typed_members),
        cmocka_unit_test(test_compile_folding),
        cmocka_unit_test(test_compile_fold_pure_calls),
        cmocka_unit_test(test_compile_expect_bool),
        cmocka_unit_test(test_compile_long_and_deep),
        cmocka_unit_test(test_compile_or_chain_jumps),
        cmocka_unit_test(test_compile_superinstructions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
