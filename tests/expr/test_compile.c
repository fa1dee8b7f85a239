/*
 * test_compile.c - compile-time behaviour of the expression engine: the
 * error table (position, message, caret excerpt), static typing of host
 * classes (fields and map keys resolved to slots, methods checked), the
 * expected-bool check, constant folding and the disassembly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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
    { "n[0]", false, 1, 0, "type int does not support indexing", NULL },
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors),        cmocka_unit_test(test_compile_syntax_errors),
        cmocka_unit_test(test_compile_typed_members), cmocka_unit_test(test_compile_folding),
        cmocka_unit_test(test_compile_expect_bool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
