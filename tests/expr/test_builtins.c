/*
 * test_builtins.c - tests for builtins.c: every expr-lang builtin called
 * through the function table with argument arrays, Go time layouts, date(),
 * duration() and the time.Time / time.Duration / Weekday / Month methods.
 *
 * Expected results come from expr-lang v1.17.8 itself (expr.Eval with the
 * arguments hidden in an []interface{} so that they are checked at run time,
 * as our untyped calls are), run once with Go 1.19: its %T and %v of the
 * result, or its error message. The few rows where we deliberately differ
 * are marked in the generator and listed in the report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

static struct expr_vm *
new_vm(void)
{
    struct expr_vm *vm = expr_vm_new();
    assert_non_null(vm);
    return vm;
}

static void
reset_error(struct expr_vm *vm)
{
    vm->has_error = false;
    vm->error[0] = '\0';
}

static const struct expr_func *
builtin(const char *name)
{
    for (size_t i = 0; i < expr_builtins_count; i++)
        if (strcmp(expr_builtins[i].name, name) == 0)
            return &expr_builtins[i];
    print_error("no builtin %s\n", name);
    fail();
    /* fail() long-jumps out of the test; abort() tells the compiler no NULL comes back. */
    abort();
}

/* Maps Go's %T of a result to our kind. */
static int
kind_of_go_type(const char *t)
{
    if (strcmp(t, "<nil>") == 0)
        return EXPR_NIL;
    if (strcmp(t, "bool") == 0)
        return EXPR_BOOL;
    if (strcmp(t, "int") == 0 || strcmp(t, "int64") == 0 || strcmp(t, "uint8") == 0)
        return EXPR_INT;
    if (strcmp(t, "float64") == 0)
        return EXPR_FLOAT;
    if (strcmp(t, "string") == 0)
        return EXPR_STRING;
    if (strncmp(t, "[]", 2) == 0)
        return EXPR_ARRAY;
    if (strncmp(t, "map[", 4) == 0)
        return EXPR_MAP;
    if (strcmp(t, "time.Time") == 0)
        return EXPR_TIME;
    if (strcmp(t, "time.Duration") == 0)
        return EXPR_DURATION;
    return EXPR_OBJECT; /* time.Weekday, time.Month */
}

/* Compares a result (or an error) with Go's; returns false after printing the difference. */
static bool
check_result(struct expr_vm *vm, const char *what, int rc, const struct expr_value *got,
             const char *want_type, const char *want_v, const char *want_err)
{
    if (want_err) {
        if (rc == 0) {
            struct str s = STR_INIT;
            expr_value_format_go(vm, got, &s);
            print_error("%s: got %s, want error [%s]\n", what, s.buf ? s.buf : "", want_err);
            str_free(&s);
            return false;
        }
        if (strcmp(vm->error, want_err) != 0) {
            print_error("%s: error\n got  [%s]\n want [%s]\n", what, vm->error, want_err);
            return false;
        }
        return true;
    }
    if (rc != 0) {
        print_error("%s: unexpected error [%s], want %s\n", what, vm->error, want_v);
        return false;
    }
    struct str s = STR_INIT;
    assert_int_equal(expr_value_format_go(vm, got, &s), 0);
    bool ok = strcmp(s.buf ? s.buf : "", want_v) == 0;
    int want_kind = kind_of_go_type(want_type);
    if (!ok || got->kind != want_kind) {
        print_error("%s:\n got  %s [%s]\n want %s [%s]\n", what, expr_value_type_name(got),
                    s.buf ? s.buf : "", want_type, want_v);
        ok = false;
    }
    str_free(&s);
    return ok;
}

struct call_case {
    const char *name;
    const char *args;      /* JSON array, ints kept as ints */
    const char *want_type; /* Go's %T, NULL when an error is expected */
    const char *want_v;    /* Go's %v */
    const char *want_err;
};

static const struct call_case call_cases[] = {
    { "len", "[\"\"]", "int", "0", NULL },
    { "len", "[\"abc\"]", "int", "3", NULL },
    { "len", "[\"h\303\251llo\"]", "int", "5", NULL },
    { "len", "[\"\346\227\245\346\234\254\350\252\236\"]", "int", "3", NULL },
    { "len", "[\"\303\277\303\276\"]", "int", "2", NULL },
    { "len", "[[1, 2, 3]]", "int", "3", NULL },
    { "len", "[[]]", "int", "0", NULL },
    { "len", "[{\"a\": 1, \"b\": 2}]", "int", "2", NULL },
    { "len", "[{}]", "int", "0", NULL },
    { "len", "[5]", NULL, NULL, "invalid argument for len (type int)" },
    { "len", "[1.5]", NULL, NULL, "invalid argument for len (type float64)" },
    { "len", "[null]", NULL, NULL, "invalid argument for len (type <nil>)" },
    { "len", "[true]", NULL, NULL, "invalid argument for len (type bool)" },
    { "type", "[null]", "string", "nil", NULL },
    { "type", "[true]", "string", "bool", NULL },
    { "type", "[1]", "string", "int", NULL },
    { "type", "[1.5]", "string", "float", NULL },
    { "type", "[\"s\"]", "string", "string", NULL },
    { "type", "[[1]]", "string", "array", NULL },
    { "type", "[{\"a\": 1}]", "string", "map", NULL },
    { "abs", "[5]", "int", "5", NULL },
    { "abs", "[-5]", "int", "5", NULL },
    { "abs", "[0]", "int", "0", NULL },
    { "abs", "[2.5]", "float64", "2.5", NULL },
    { "abs", "[-2.5]", "float64", "2.5", NULL },
    { "abs", "[-0.0]", "float64", "-0", NULL },
    { "abs", "[\"x\"]", NULL, NULL, "invalid argument for abs (type string)" },
    { "abs", "[null]", NULL, NULL, "invalid argument for abs (type <nil>)" },
    { "abs", "[[1]]", NULL, NULL, "invalid argument for abs (type []interface {})" },
    { "ceil", "[1.2]", "float64", "2", NULL },
    { "ceil", "[-1.2]", "float64", "-1", NULL },
    { "ceil", "[2.5]", "float64", "3", NULL },
    { "ceil", "[-2.5]", "float64", "-2", NULL },
    { "ceil", "[0.5]", "float64", "1", NULL },
    { "ceil", "[-0.5]", "float64", "-0", NULL },
    { "ceil", "[3]", "float64", "3", NULL },
    { "ceil", "[-3]", "float64", "-3", NULL },
    { "ceil", "[1e+300]", "float64", "1e+300", NULL },
    { "ceil", "[\"1\"]", NULL, NULL, "invalid argument for ceil (type string)" },
    { "ceil", "[null]", NULL, NULL, "invalid argument for ceil (type <nil>)" },
    { "floor", "[1.2]", "float64", "1", NULL },
    { "floor", "[-1.2]", "float64", "-2", NULL },
    { "floor", "[2.5]", "float64", "2", NULL },
    { "floor", "[-2.5]", "float64", "-3", NULL },
    { "floor", "[0.5]", "float64", "0", NULL },
    { "floor", "[-0.5]", "float64", "-1", NULL },
    { "floor", "[3]", "float64", "3", NULL },
    { "floor", "[-3]", "float64", "-3", NULL },
    { "floor", "[1e+300]", "float64", "1e+300", NULL },
    { "floor", "[\"1\"]", NULL, NULL, "invalid argument for floor (type string)" },
    { "floor", "[null]", NULL, NULL, "invalid argument for floor (type <nil>)" },
    { "round", "[1.2]", "float64", "1", NULL },
    { "round", "[-1.2]", "float64", "-1", NULL },
    { "round", "[2.5]", "float64", "3", NULL },
    { "round", "[-2.5]", "float64", "-3", NULL },
    { "round", "[0.5]", "float64", "1", NULL },
    { "round", "[-0.5]", "float64", "-1", NULL },
    { "round", "[3]", "float64", "3", NULL },
    { "round", "[-3]", "float64", "-3", NULL },
    { "round", "[1e+300]", "float64", "1e+300", NULL },
    { "round", "[\"1\"]", NULL, NULL, "invalid argument for round (type string)" },
    { "round", "[null]", NULL, NULL, "invalid argument for round (type <nil>)" },
    { "int", "[1]", "int", "1", NULL },
    { "int", "[-1]", "int", "-1", NULL },
    { "int", "[2.9]", "int", "2", NULL },
    { "int", "[-2.9]", "int", "-2", NULL },
    { "int", "[1e+19]", "int", "-9223372036854775808", NULL },
    { "int", "[-1e+19]", "int", "-9223372036854775808", NULL },
    { "int", "[\"42\"]", "int", "42", NULL },
    { "int", "[\"-42\"]", "int", "-42", NULL },
    { "int", "[\"+7\"]", "int", "7", NULL },
    { "int", "[\"0x10\"]", NULL, NULL, "invalid operation: int(0x10)" },
    { "int", "[\" 1\"]", NULL, NULL, "invalid operation: int( 1)" },
    { "int", "[\"1_000\"]", NULL, NULL, "invalid operation: int(1_000)" },
    { "int", "[\"\"]", NULL, NULL, "invalid operation: int()" },
    { "int", "[\"9223372036854775807\"]", "int", "9223372036854775807", NULL },
    { "int", "[\"9223372036854775808\"]", NULL, NULL,
      "invalid operation: int(9223372036854775808)" },
    { "int", "[\"abc\"]", NULL, NULL, "invalid operation: int(abc)" },
    { "int", "[true]", NULL, NULL, "invalid operation: int(bool)" },
    { "int", "[null]", NULL, NULL, "invalid operation: int(<nil>)" },
    { "int", "[[1]]", NULL, NULL, "invalid operation: int([]interface {})" },
    { "float", "[1]", "float64", "1", NULL },
    { "float", "[-1]", "float64", "-1", NULL },
    { "float", "[2.5]", "float64", "2.5", NULL },
    { "float", "[\"1.5\"]", "float64", "1.5", NULL },
    { "float", "[\"1e3\"]", "float64", "1000", NULL },
    { "float", "[\"-2.5e-3\"]", "float64", "-0.0025", NULL },
    { "float", "[\"inf\"]", "float64", "+Inf", NULL },
    { "float", "[\"-Inf\"]", "float64", "-Inf", NULL },
    { "float", "[\"+infinity\"]", "float64", "+Inf", NULL },
    { "float", "[\"NaN\"]", "float64", "NaN", NULL },
    { "float", "[\"0x1p-2\"]", "float64", "0.25", NULL },
    { "float", "[\"0x1.8\"]", NULL, NULL, "invalid operation: float(0x1.8)" },
    { "float", "[\"1_0\"]", "float64", "10", NULL },
    { "float", "[\"1e400\"]", NULL, NULL, "invalid operation: float(1e400)" },
    { "float", "[\"1e-400\"]", "float64", "0", NULL },
    { "float", "[\".5\"]", "float64", "0.5", NULL },
    { "float", "[\"5.\"]", "float64", "5", NULL },
    { "float", "[\"\"]", NULL, NULL, "invalid operation: float()" },
    { "float", "[\" 1\"]", NULL, NULL, "invalid operation: float( 1)" },
    { "float", "[\"abc\"]", NULL, NULL, "invalid operation: float(abc)" },
    { "float", "[true]", NULL, NULL, "invalid operation: float(bool)" },
    { "float", "[null]", NULL, NULL, "invalid operation: float(<nil>)" },
    { "string", "[1]", "string", "1", NULL },
    { "string", "[1.5]", "string", "1.5", NULL },
    { "string", "[1000000.0]", "string", "1e+06", NULL },
    { "string", "[1e+21]", "string", "1e+21", NULL },
    { "string", "[1e-05]", "string", "1e-05", NULL },
    { "string", "[\"s\"]", "string", "s", NULL },
    { "string", "[true]", "string", "true", NULL },
    { "string", "[null]", "string", "<nil>", NULL },
    { "string", "[[1, \"a\", null]]", "string", "[1 a <nil>]", NULL },
    { "string", "[{\"b\": 2, \"a\": [1, 2]}]", "string", "map[a:[1 2] b:2]", NULL },
    { "string", "[{}]", "string", "map[]", NULL },
    { "string", "[[]]", "string", "[]", NULL },
    { "string", "[[[]]]", "string", "[[]]", NULL },
    { "trim", "[\"  a b  \"]", "string", "a b", NULL },
    { "trim", "[\"\\t\\n x \\r\\n\"]", "string", "x", NULL },
    { "trim", "[\"\302\240x\343\200\200\"]", "string", "x", NULL },
    { "trim", "[\"xxhixx\", \"x\"]", "string", "hi", NULL },
    { "trim", "[\"abcba\", \"ab\"]", "string", "c", NULL },
    { "trim", "[\"h\303\251\303\251\", \"\303\251\"]", "string", "h", NULL },
    { "trim", "[\"\", \"a\"]", "string", "", NULL },
    { "trim", "[\"aaa\", \"a\"]", "string", "", NULL },
    { "trim", "[\"a\", \"\"]", "string", "a", NULL },
    { "trim", "[1]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "trimPrefix", "[\"  a\"]", "string", " a", NULL },
    { "trimPrefix", "[\"aab\", \"a\"]", "string", "ab", NULL },
    { "trimPrefix", "[\"abc\", \"abc\"]", "string", "", NULL },
    { "trimPrefix", "[\"abc\", \"x\"]", "string", "abc", NULL },
    { "trimPrefix", "[\"abc\", \"\"]", "string", "abc", NULL },
    { "trimPrefix", "[\" a\", \" \"]", "string", "a", NULL },
    { "trimPrefix", "[1, \"a\"]", NULL, NULL,
      "interface conversion: interface {} is int, not string" },
    { "trimPrefix", "[\"a\", 1]", NULL, NULL,
      "interface conversion: interface {} is int, not string" },
    { "trimSuffix", "[\"a  \"]", "string", "a ", NULL },
    { "trimSuffix", "[\"baa\", \"a\"]", "string", "ba", NULL },
    { "trimSuffix", "[\"abc\", \"bc\"]", "string", "a", NULL },
    { "trimSuffix", "[\"abc\", \"x\"]", "string", "abc", NULL },
    { "trimSuffix", "[\"abc\", \"\"]", "string", "abc", NULL },
    { "trimSuffix", "[1]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "upper", "[\"abc\"]", "string", "ABC", NULL },
    { "lower", "[\"abc\"]", "string", "abc", NULL },
    { "upper", "[\"ABC\"]", "string", "ABC", NULL },
    { "lower", "[\"ABC\"]", "string", "abc", NULL },
    { "upper", "[\"aBc1!\"]", "string", "ABC1!", NULL },
    { "lower", "[\"aBc1!\"]", "string", "abc1!", NULL },
    { "upper", "[\"h\303\251llo\"]", "string", "H\303\211LLO", NULL },
    { "lower", "[\"h\303\251llo\"]", "string", "h\303\251llo", NULL },
    { "upper", "[\"stra\303\237e\"]", "string", "STRA\303\237E", NULL },
    { "lower", "[\"stra\303\237e\"]", "string", "stra\303\237e", NULL },
    { "upper", "[\"\307\206\"]", "string", "\307\204", NULL },
    { "lower", "[\"\307\206\"]", "string", "\307\206", NULL },
    { "upper", "[\"\316\221\316\262\316\223\"]", "string", "\316\221\316\222\316\223", NULL },
    { "lower", "[\"\316\221\316\262\316\223\"]", "string", "\316\261\316\262\316\263", NULL },
    { "upper", "[\"\"]", "string", "", NULL },
    { "lower", "[\"\"]", "string", "", NULL },
    { "upper", "[1]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "lower", "[1]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "split", "[\"a,b,c\", \",\"]", "[]string", "[a b c]", NULL },
    { "split", "[\"a,b,c\", \",\", 2]", "[]string", "[a b,c]", NULL },
    { "split", "[\"a,b,c\", \",\", 0]", "[]string", "[]", NULL },
    { "split", "[\"a,b,c\", \",\", -1]", "[]string", "[a b c]", NULL },
    { "split", "[\"a,b,c\", \",\", 1]", "[]string", "[a,b,c]", NULL },
    { "split", "[\"abc\", \"\"]", "[]string", "[a b c]", NULL },
    { "split", "[\"h\303\251llo\", \"\"]", "[]string", "[h \303\251 l l o]", NULL },
    { "split", "[\"abc\", \"\", 2]", "[]string", "[a bc]", NULL },
    { "split", "[\"\", \",\"]", "[]string", "[]", NULL },
    { "split", "[\"a,,b\", \",\"]", "[]string", "[a  b]", NULL },
    { "split", "[\",a,\", \",\"]", "[]string", "[ a ]", NULL },
    { "split", "[\"a--b--c\", \"--\"]", "[]string", "[a b c]", NULL },
    { "split", "[\"abc\", \"x\"]", "[]string", "[abc]", NULL },
    { "split", "[\"a,b\", \",\", 2.7]", "[]string", "[a b]", NULL },
    { "split", "[1, \",\"]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "split", "[\"a\", 1]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "splitAfter", "[\"a,b,c\", \",\"]", "[]string", "[a, b, c]", NULL },
    { "splitAfter", "[\"a,b,c\", \",\", 2]", "[]string", "[a, b,c]", NULL },
    { "splitAfter", "[\"a,b,c\", \",\", 0]", "[]string", "[]", NULL },
    { "splitAfter", "[\"abc\", \"\"]", "[]string", "[a b c]", NULL },
    { "splitAfter", "[\"\", \",\"]", "[]string", "[]", NULL },
    { "splitAfter", "[\",\", \",\"]", "[]string", "[, ]", NULL },
    { "splitAfter", "[\"a,b,c\", \",\", -1]", "[]string", "[a, b, c]", NULL },
    { "replace", "[\"aaa\", \"a\", \"b\"]", "string", "bbb", NULL },
    { "replace", "[\"aaa\", \"a\", \"b\", 2]", "string", "bba", NULL },
    { "replace", "[\"aaa\", \"a\", \"b\", 0]", "string", "aaa", NULL },
    { "replace", "[\"aaa\", \"a\", \"b\", -1]", "string", "bbb", NULL },
    { "replace", "[\"abc\", \"\", \"-\"]", "string", "-a-b-c-", NULL },
    { "replace", "[\"abc\", \"\", \"-\", 2]", "string", "-a-bc", NULL },
    { "replace", "[\"h\303\251llo\", \"\", \"|\"]", "string", "|h|\303\251|l|l|o|", NULL },
    { "replace", "[\"abc\", \"x\", \"y\"]", "string", "abc", NULL },
    { "replace", "[\"abab\", \"ab\", \"\"]", "string", "", NULL },
    { "replace", "[\"\", \"\", \"x\"]", "string", "x", NULL },
    { "replace", "[\"aaa\", \"aa\", \"b\"]", "string", "ba", NULL },
    { "replace", "[1, \"a\", \"b\"]", NULL, NULL,
      "interface conversion: interface {} is int, not string" },
    { "repeat", "[\"ab\", 3]", "string", "ababab", NULL },
    { "repeat", "[\"ab\", 0]", "string", "", NULL },
    { "repeat", "[\"\", 5]", "string", "", NULL },
    { "repeat", "[\"x\", -1]", NULL, NULL,
      "invalid argument for repeat (expected positive integer, got -1)" },
    { "repeat", "[\"x\", 1000001]", NULL, NULL, "memory budget exceeded" },
    { "repeat", "[\"ab\", 2.9]", "string", "abab", NULL },
    { "repeat", "[1, 2]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "repeat", "[\"a\", \"2\"]", NULL, NULL, "invalid operation: int(string)" },
    { "join", "[[\"a\", \"b\", \"c\"]]", "string", "abc", NULL },
    { "join", "[[\"a\", \"b\"], \"-\"]", "string", "a-b", NULL },
    { "join", "[[], \",\"]", "string", "", NULL },
    { "join", "[[\"x\"], \", \"]", "string", "x", NULL },
    { "join", "[[\"a\", 1]]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "join", "[\"abc\"]", NULL, NULL, "invalid argument for join (type string)" },
    { "join", "[[\"a\", \"b\"], \"\"]", "string", "ab", NULL },
    { "join", "[null]", NULL, NULL, "invalid argument for join (type <nil>)" },
    { "indexOf", "[\"chicken\", \"ken\"]", "int", "4", NULL },
    { "indexOf", "[\"chicken\", \"dmr\"]", "int", "-1", NULL },
    { "indexOf", "[\"abc\", \"\"]", "int", "0", NULL },
    { "indexOf", "[\"\", \"a\"]", "int", "-1", NULL },
    { "indexOf", "[\"h\303\251llo\", \"l\"]", "int", "3", NULL },
    { "indexOf", "[1, \"a\"]", NULL, NULL,
      "interface conversion: interface {} is int, not string" },
    { "lastIndexOf", "[\"go gopher\", \"go\"]", "int", "3", NULL },
    { "lastIndexOf", "[\"go gopher\", \"rodent\"]", "int", "-1", NULL },
    { "lastIndexOf", "[\"abc\", \"\"]", "int", "3", NULL },
    { "lastIndexOf", "[\"aaa\", \"a\"]", "int", "2", NULL },
    { "hasPrefix", "[\"prefix\", \"pre\"]", "bool", "true", NULL },
    { "hasPrefix", "[\"prefix\", \"fix\"]", "bool", "false", NULL },
    { "hasPrefix", "[\"a\", \"\"]", "bool", "true", NULL },
    { "hasPrefix", "[\"\", \"a\"]", "bool", "false", NULL },
    { "hasPrefix", "[1, \"a\"]", NULL, NULL,
      "interface conversion: interface {} is int, not string" },
    { "hasSuffix", "[\"suffix\", \"fix\"]", "bool", "true", NULL },
    { "hasSuffix", "[\"suffix\", \"suf\"]", "bool", "false", NULL },
    { "hasSuffix", "[\"a\", \"\"]", "bool", "true", NULL },
    { "hasSuffix", "[\"\", \"\"]", "bool", "true", NULL },
    { "max", "[1, 2, 3]", "int", "3", NULL },
    { "max", "[[1, 5, 3]]", "int", "5", NULL },
    { "max", "[[1, 2.5]]", "float64", "2.5", NULL },
    { "max", "[[2.5, 1]]", "float64", "2.5", NULL },
    { "max", "[1.5, 2]", "int", "2", NULL },
    { "max", "[[]]", "<nil>", "<nil>", NULL },
    { "max", "[[[1, [9]], 2]]", "int", "9", NULL },
    { "max", "[[\"a\"]]", NULL, NULL, "invalid argument for max (type string)" },
    { "max", "[\"abc\"]", "string", "abc", NULL },
    { "max", "[1, \"a\"]", NULL, NULL, "invalid argument for max (type string)" },
    { "max", "[[1, 2], [3]]", "int", "3", NULL },
    { "max", "[-1, -2]", "int", "-1", NULL },
    { "max", "[[1.0, 1]]", "float64", "1", NULL },
    { "min", "[1, 2, 3]", "int", "1", NULL },
    { "min", "[[1, 5, 3]]", "int", "1", NULL },
    { "min", "[[1, 2.5]]", "int", "1", NULL },
    { "min", "[[2.5, 1]]", "int", "1", NULL },
    { "min", "[1.5, 2]", "float64", "1.5", NULL },
    { "min", "[[]]", "<nil>", "<nil>", NULL },
    { "min", "[[[1, [9]], 2]]", "int", "1", NULL },
    { "min", "[[\"a\"]]", NULL, NULL, "invalid argument for min (type string)" },
    { "min", "[\"abc\"]", "string", "abc", NULL },
    { "min", "[1, \"a\"]", NULL, NULL, "invalid argument for min (type string)" },
    { "min", "[[1, 2], [3]]", "int", "1", NULL },
    { "min", "[-1, -2]", "int", "-2", NULL },
    { "min", "[[1.0, 1]]", "float64", "1", NULL },
    { "mean", "[[1, 2, 3, 4]]", "float64", "2.5", NULL },
    { "mean", "[[1, 2, 3]]", "float64", "2", NULL },
    { "mean", "[[]]", "float64", "0", NULL },
    { "mean", "[1, 2]", "float64", "1.5", NULL },
    { "mean", "[[1.5, 2.5], 3]", "float64", "2.3333333333333335", NULL },
    { "mean", "[[[1, [2]], 3]]", "float64", "2", NULL },
    { "mean", "[[\"a\"]]", NULL, NULL, "invalid argument for mean (type string)" },
    { "mean", "[[5]]", "float64", "5", NULL },
    { "mean", "[[3, 1, 2]]", "float64", "2", NULL },
    { "median", "[[1, 2, 3, 4]]", "float64", "2.5", NULL },
    { "median", "[[1, 2, 3]]", "float64", "2", NULL },
    { "median", "[[]]", "float64", "0", NULL },
    { "median", "[1, 2]", "float64", "1.5", NULL },
    { "median", "[[1.5, 2.5], 3]", "float64", "2.5", NULL },
    { "median", "[[[1, [2]], 3]]", "float64", "2", NULL },
    { "median", "[[\"a\"]]", NULL, NULL, "invalid argument for median (type string)" },
    { "median", "[[5]]", "float64", "5", NULL },
    { "median", "[[3, 1, 2]]", "float64", "2", NULL },
    { "sum", "[[1, 2, 3]]", "int", "6", NULL },
    { "sum", "[[1, 2.5]]", "float64", "3.5", NULL },
    { "sum", "[[]]", "int", "0", NULL },
    { "sum", "[[1.5]]", "float64", "1.5", NULL },
    { "sum", "[[\"a\"]]", NULL, NULL, "invalid operation: string + int" },
    { "sum", "[[1, \"a\"]]", NULL, NULL, "invalid operation: string + int" },
    { "sum", "[\"abc\"]", "int", "294", NULL },
    { "sum", "[null]", NULL, NULL, "builtin sum takes only array (got <nil>)" },
    { "toJSON", "[{\"b\": 1, \"a\": [1, \"x\", null]}]", "string",
      "{\n  \"a\": [\n    1,\n    \"x\",\n    null\n  ],\n  \"b\": 1\n}", NULL },
    { "toJSON", "[[]]", "string", "[]", NULL },
    { "toJSON", "[{}]", "string", "{}", NULL },
    { "toJSON", "[\"s<>&\"]", "string", "\"s\\u003c\\u003e\\u0026\"", NULL },
    { "toJSON", "[1.5]", "string", "1.5", NULL },
    { "toJSON", "[1e+21]", "string", "1e+21", NULL },
    { "toJSON", "[null]", "string", "null", NULL },
    { "toJSON", "[[1, [2, {\"z\": true}]]]", "string",
      "[\n  1,\n  [\n    2,\n    {\n      \"z\": true\n    }\n  ]\n]", NULL },
    { "fromJSON", "[\"{\\\"a\\\":1,\\\"b\\\":[true,null,\\\"x\\\"]}\"]", "map[string]interface {}",
      "map[a:1 b:[true <nil> x]]", NULL },
    { "fromJSON", "[\"1\"]", "float64", "1", NULL },
    { "fromJSON", "[\"\\\"s\\\"\"]", "string", "s", NULL },
    { "fromJSON", "[\"[1.5,2]\"]", "[]interface {}", "[1.5 2]", NULL },
    { "fromJSON", "[\"null\"]", "<nil>", "<nil>", NULL },
    { "fromJSON", "[\"\"]", NULL, NULL, "unexpected end of JSON input" },
    { "fromJSON", "[\"[1,\"]", NULL, NULL, "unexpected end of JSON input" },
    { "fromJSON", "[\"xyz\"]", NULL, NULL, "invalid character 'x' looking for beginning of value" },
    { "fromJSON", "[\"{\\\"a\\\":1} x\"]", NULL, NULL,
      "invalid character 'x' after top-level value" },
    { "fromJSON", "[\"{\\\"a\\\":}\"]", NULL, NULL,
      "invalid character '}' looking for beginning of value" },
    { "fromJSON", "[1]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "toBase64", "[\"\"]", "string", "", NULL },
    { "toBase64", "[\"f\"]", "string", "Zg==", NULL },
    { "toBase64", "[\"fo\"]", "string", "Zm8=", NULL },
    { "toBase64", "[\"foo\"]", "string", "Zm9v", NULL },
    { "toBase64", "[\"foob\"]", "string", "Zm9vYg==", NULL },
    { "toBase64", "[\"fooba\"]", "string", "Zm9vYmE=", NULL },
    { "toBase64", "[\"foobar\"]", "string", "Zm9vYmFy", NULL },
    { "toBase64", "[\"h\303\251llo\\u0000\"]", "string", "aMOpbGxvAA==", NULL },
    { "toBase64", "[1]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "fromBase64", "[\"\"]", "string", "", NULL },
    { "fromBase64", "[\"Zg==\"]", "string", "f", NULL },
    { "fromBase64", "[\"Zm8=\"]", "string", "fo", NULL },
    { "fromBase64", "[\"Zm9v\"]", "string", "foo", NULL },
    { "fromBase64", "[\"Zm9vYg==\"]", "string", "foob", NULL },
    { "fromBase64", "[\"Zm9vYmFy\"]", "string", "foobar", NULL },
    { "fromBase64", "[\"Zg\"]", NULL, NULL, "illegal base64 data at input byte 0" },
    { "fromBase64", "[\"Zg=\"]", NULL, NULL, "illegal base64 data at input byte 3" },
    { "fromBase64", "[\"Zm9v\\nYmFy\"]", "string", "foobar", NULL },
    { "fromBase64", "[\"Zm9v\\r\\n\"]", "string", "foo", NULL },
    { "fromBase64", "[\"Z===\"]", NULL, NULL, "illegal base64 data at input byte 1" },
    { "fromBase64", "[\"Zm9v!\"]", NULL, NULL, "illegal base64 data at input byte 4" },
    { "fromBase64", "[\"Zg==Zg==\"]", NULL, NULL, "illegal base64 data at input byte 4" },
    { "fromBase64", "[\"Zm9vYmFy====\"]", NULL, NULL, "illegal base64 data at input byte 8" },
    { "fromBase64", "[\"Zh==\"]", "string", "f", NULL },
    { "fromBase64", "[\"====\"]", NULL, NULL, "illegal base64 data at input byte 0" },
    { "fromBase64", "[1]", NULL, NULL, "interface conversion: interface {} is int, not string" },
    { "first", "[[1, 2, 3]]", "int", "1", NULL },
    { "first", "[[]]", "<nil>", "<nil>", NULL },
    { "first", "[\"abc\"]", "uint8", "97", NULL },
    { "first", "[\"\"]", "<nil>", "<nil>", NULL },
    { "first", "[null]", "<nil>", "<nil>", NULL },
    { "first", "[{\"a\": 1}]", "<nil>", "<nil>", NULL },
    { "first", "[5]", "<nil>", "<nil>", NULL },
    { "last", "[[1, 2, 3]]", "int", "3", NULL },
    { "last", "[[]]", "<nil>", "<nil>", NULL },
    { "last", "[\"abc\"]", "uint8", "99", NULL },
    { "last", "[\"\"]", "<nil>", "<nil>", NULL },
    { "last", "[null]", "<nil>", "<nil>", NULL },
    { "last", "[{\"a\": 1}]", "<nil>", "<nil>", NULL },
    { "last", "[5]", "<nil>", "<nil>", NULL },
    { "get", "[[1, 2, 3], 1]", "int", "2", NULL },
    { "get", "[[1, 2, 3], -1]", "int", "3", NULL },
    { "get", "[[1, 2, 3], 3]", "<nil>", "<nil>", NULL },
    { "get", "[[1, 2, 3], -4]", "<nil>", "<nil>", NULL },
    { "get", "[[1, 2, 3], 1.9]", "int", "2", NULL },
    { "get", "[{\"a\": 1}, \"a\"]", "int", "1", NULL },
    { "get", "[{\"a\": 1}, \"b\"]", "<nil>", "<nil>", NULL },
    { "get", "[null, 1]", "<nil>", "<nil>", NULL },
    { "get", "[\"abc\", 1]", "uint8", "98", NULL },
    { "get", "[[1], \"x\"]", NULL, NULL, "invalid operation: int(string)" },
    { "get", "[5, 1]", "<nil>", "<nil>", NULL },
    { "take", "[[1, 2, 3], 2]", "[]interface {}", "[1 2]", NULL },
    { "take", "[[1, 2, 3], 5]", "[]interface {}", "[1 2 3]", NULL },
    { "take", "[[1, 2, 3], 0]", "[]interface {}", "[]", NULL },
    { "take", "[[], 1]", "[]interface {}", "[]", NULL },
    { "take", "[[1, 2], 1.5]", NULL, NULL, "cannot take float64 elements" },
    { "take", "[\"abc\", 1]", NULL, NULL, "cannot take from string" },
    { "take", "[null, 1]", NULL, NULL, "cannot take from invalid" },
    { "take", "[[1, 2, 3], -1]", NULL, NULL, "reflect: slice index out of range" },
    { "keys", "[{\"a\": 1}]", "[]interface {}", "[a]", NULL },
    { "values", "[{\"a\": 1}]", "[]interface {}", "[1]", NULL },
    { "keys", "[{}]", "[]interface {}", "[]", NULL },
    { "values", "[{}]", "[]interface {}", "[]", NULL },
    { "keys", "[[1]]", NULL, NULL, "cannot get keys from slice" },
    { "values", "[[1]]", NULL, NULL, "cannot get values from slice" },
    { "keys", "[null]", NULL, NULL, "cannot get keys from invalid" },
    { "values", "[null]", NULL, NULL, "cannot get values from invalid" },
    { "keys", "[\"s\"]", NULL, NULL, "cannot get keys from string" },
    { "values", "[\"s\"]", NULL, NULL, "cannot get values from string" },
    { "toPairs", "[{\"a\": 1}]", "[][2]interface {}", "[[a 1]]", NULL },
    { "toPairs", "[{}]", "[][2]interface {}", "[]", NULL },
    { "toPairs", "[[1]]", NULL, NULL, "cannot transform slice to pairs" },
    { "fromPairs", "[[[\"a\", 1], [\"b\", 2]]]", "map[interface {}]interface {}", "map[a:1 b:2]",
      NULL },
    { "fromPairs", "[[]]", "map[interface {}]interface {}", "map[]", NULL },
    { "fromPairs", "[[[\"a\", 1], [\"a\", 2]]]", "map[interface {}]interface {}", "map[a:2]",
      NULL },
    { "fromPairs", "[[[\"a\"]]]", NULL, NULL, "invalid pair length [a]" },
    { "fromPairs", "[[1]]", NULL, NULL, "invalid pair 1" },
    { "fromPairs", "[\"x\"]", NULL, NULL, "cannot transform x from pairs" },
    { "fromPairs", "[[[\"a\", 1, 2]]]", NULL, NULL, "invalid pair length [a 1 2]" },
    { "reverse", "[[1, 2, 3]]", "[]interface {}", "[3 2 1]", NULL },
    { "reverse", "[[]]", "[]interface {}", "[]", NULL },
    { "reverse", "[[\"a\", [1]]]", "[]interface {}", "[[1] a]", NULL },
    { "reverse", "[\"abc\"]", NULL, NULL, "cannot reverse string" },
    { "reverse", "[null]", NULL, NULL, "cannot reverse invalid" },
    { "reverse", "[{\"a\": 1}]", NULL, NULL, "cannot reverse map" },
    { "uniq", "[[1, 2, 1, 3, 2]]", "[]interface {}", "[1 2 3]", NULL },
    { "uniq", "[[1, 1.0, \"1\"]]", "[]interface {}", "[1 1]", NULL },
    { "uniq", "[[]]", "[]interface {}", "[]", NULL },
    { "uniq", "[[[1], [1]]]", "[]interface {}", "[[1]]", NULL },
    { "uniq", "[[\"a\", \"a\"]]", "[]interface {}", "[a]", NULL },
    { "uniq", "[\"ab\"]", NULL, NULL, "cannot uniq string" },
    { "uniq", "[[null, null]]", "[]interface {}", "[<nil>]", NULL },
    { "concat", "[[1], [2, 3]]", "[]interface {}", "[1 2 3]", NULL },
    { "concat", "[[1]]", "[]interface {}", "[1]", NULL },
    { "concat", "[[], []]", "[]interface {}", "[]", NULL },
    { "concat", "[[1], \"a\"]", NULL, NULL, "cannot concat string" },
    { "concat", "[[1], null]", NULL, NULL, "cannot concat invalid" },
    { "concat", "[[1], [2], [3, [4]]]", "[]interface {}", "[1 2 3 [4]]", NULL },
    { "flatten", "[[1, [2, [3, [4]]]]]", "[]interface {}", "[1 2 3 4]", NULL },
    { "flatten", "[[]]", "[]interface {}", "[]", NULL },
    { "flatten", "[[[], [[]]]]", "[]interface {}", "[]", NULL },
    { "flatten", "[[\"a\", [\"b\"]]]", "[]interface {}", "[a b]", NULL },
    { "flatten", "[\"abc\"]", NULL, NULL, "cannot flatten string" },
    { "flatten", "[null]", NULL, NULL, "cannot flatten invalid" },
    { "sort", "[[3, 1, 2]]", "[]interface {}", "[1 2 3]", NULL },
    { "sort", "[[3, 1, 2], \"desc\"]", "[]interface {}", "[3 2 1]", NULL },
    { "sort", "[[3, 1, 2], \"asc\"]", "[]interface {}", "[1 2 3]", NULL },
    { "sort", "[[\"b\", \"a\", \"C\"]]", "[]interface {}", "[C a b]", NULL },
    { "sort", "[[1.5, 1, 2]]", "[]interface {}", "[1 1.5 2]", NULL },
    { "sort", "[[]]", "[]interface {}", "[]", NULL },
    { "sort", "[[1, \"a\"]]", NULL, NULL, "invalid operation: string < int" },
    { "sort", "[[3, 1, 2], \"up\"]", NULL, NULL, "invalid order up, expected asc or desc" },
    { "sort", "[[3, 1, 2], 1]", NULL, NULL, "sort order argument must be a string (got int)" },
    { "sort", "[\"abc\"]", "[]interface {}", "[]", NULL },
    { "sort", "[[2, 1.0, 1, 2.0]]", "[]interface {}", "[1 1 2 2]", NULL },
    { "bitand", "[12, 10]", "int", "8", NULL },
    { "bitand", "[-1, 5]", "int", "5", NULL },
    { "bitand", "[0, 0]", "int", "0", NULL },
    { "bitand", "[1.5, 2]", NULL, NULL,
      "cannot use float64 as argument (type int) to call bitand" },
    { "bitand", "[\"1\", 2]", NULL, NULL,
      "cannot use string as argument (type int) to call bitand" },
    { "bitand", "[1, null]", NULL, NULL, "cannot use <nil> as argument (type int) to call bitand" },
    { "bitor", "[12, 10]", "int", "14", NULL },
    { "bitor", "[-1, 5]", "int", "-1", NULL },
    { "bitor", "[0, 0]", "int", "0", NULL },
    { "bitor", "[1.5, 2]", NULL, NULL, "cannot use float64 as argument (type int) to call bitor" },
    { "bitor", "[\"1\", 2]", NULL, NULL, "cannot use string as argument (type int) to call bitor" },
    { "bitor", "[1, null]", NULL, NULL, "cannot use <nil> as argument (type int) to call bitor" },
    { "bitxor", "[12, 10]", "int", "6", NULL },
    { "bitxor", "[-1, 5]", "int", "-6", NULL },
    { "bitxor", "[0, 0]", "int", "0", NULL },
    { "bitxor", "[1.5, 2]", NULL, NULL,
      "cannot use float64 as argument (type int) to call bitxor" },
    { "bitxor", "[\"1\", 2]", NULL, NULL,
      "cannot use string as argument (type int) to call bitxor" },
    { "bitxor", "[1, null]", NULL, NULL, "cannot use <nil> as argument (type int) to call bitxor" },
    { "bitnand", "[12, 10]", "int", "4", NULL },
    { "bitnand", "[-1, 5]", "int", "-6", NULL },
    { "bitnand", "[0, 0]", "int", "0", NULL },
    { "bitnand", "[1.5, 2]", NULL, NULL,
      "cannot use float64 as argument (type int) to call bitnand" },
    { "bitnand", "[\"1\", 2]", NULL, NULL,
      "cannot use string as argument (type int) to call bitnand" },
    { "bitnand", "[1, null]", NULL, NULL,
      "cannot use <nil> as argument (type int) to call bitnand" },
    { "bitshl", "[1, 3]", "int", "8", NULL },
    { "bitshl", "[-8, 1]", "int", "-16", NULL },
    { "bitshl", "[1, 63]", "int", "-9223372036854775808", NULL },
    { "bitshl", "[1, 64]", "int", "0", NULL },
    { "bitshl", "[1, 100]", "int", "0", NULL },
    { "bitshl", "[-1, 70]", "int", "0", NULL },
    { "bitshl", "[1, -1]", NULL, NULL, "invalid operation: negative shift count -1 (type int)" },
    { "bitshl", "[5, 0]", "int", "5", NULL },
    { "bitshl", "[2.0, 1]", NULL, NULL,
      "cannot use float64 as argument (type int) to call bitshl" },
    { "bitshr", "[1, 3]", "int", "0", NULL },
    { "bitshr", "[-8, 1]", "int", "-4", NULL },
    { "bitshr", "[1, 63]", "int", "0", NULL },
    { "bitshr", "[1, 64]", "int", "0", NULL },
    { "bitshr", "[1, 100]", "int", "0", NULL },
    { "bitshr", "[-1, 70]", "int", "-1", NULL },
    { "bitshr", "[1, -1]", NULL, NULL, "invalid operation: negative shift count -1 (type int)" },
    { "bitshr", "[5, 0]", "int", "5", NULL },
    { "bitshr", "[2.0, 1]", NULL, NULL,
      "cannot use float64 as argument (type int) to call bitshr" },
    { "bitushr", "[1, 3]", "int", "0", NULL },
    { "bitushr", "[-8, 1]", "int", "9223372036854775804", NULL },
    { "bitushr", "[1, 63]", "int", "0", NULL },
    { "bitushr", "[1, 64]", "int", "0", NULL },
    { "bitushr", "[1, 100]", "int", "0", NULL },
    { "bitushr", "[-1, 70]", "int", "0", NULL },
    { "bitushr", "[1, -1]", NULL, NULL, "invalid operation: negative shift count -1 (type int)" },
    { "bitushr", "[5, 0]", "int", "5", NULL },
    { "bitushr", "[2.0, 1]", NULL, NULL,
      "cannot use float64 as argument (type int) to call bitushr" },
    { "bitnot", "[0]", "int", "-1", NULL },
    { "bitnot", "[5]", "int", "-6", NULL },
    { "bitnot", "[-1]", "int", "0", NULL },
    { "bitnot", "[1.5]", NULL, NULL, "cannot use float64 as argument (type int) to call bitnot" },
    { "bitnot", "[\"x\"]", NULL, NULL, "cannot use string as argument (type int) to call bitnot" },
};

static void
test_builtin_table(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    size_t failed = 0;
    for (size_t i = 0; i < ARRAY_SIZE(call_cases); i++) {
        const struct call_case *c = &call_cases[i];
        const struct expr_func *fn = builtin(c->name);
        struct expr_value args, ret = expr_nil();
        reset_error(vm);
        assert_int_equal(expr_value_from_json_ex(vm, c->args, strlen(c->args), true, &args), 0);
        assert_int_equal(args.kind, EXPR_ARRAY);
        size_t n = args.u.a->len;
        assert_true((int)n >= fn->min_args && (fn->max_args < 0 || (int)n <= fn->max_args));
        int rc = fn->call(vm, args.u.a->items, n, &ret);
        char what[256];
        snprintf(what, sizeof(what), "%s%s", c->name, c->args);
        if (!check_result(vm, what, rc, &ret, c->want_type, c->want_v, c->want_err))
            failed++;
    }
    if (failed) {
        print_error("%zu of %zu builtin cases failed\n", failed, ARRAY_SIZE(call_cases));
        fail();
    }
    expr_vm_free(vm);
}

/* The two times of the generator's environment. */
static struct expr_value
time_t1(void)
{
    return expr_time(gotime_from_fields(2024, 3, 9, 14, 5, 7, 123456789, 0));
}

static struct expr_value
time_t2(void)
{
    struct gotime t = gotime_from_fields(2023, 8, 14, 23, 59, 59, 0, 7200);
    t.offset_s = 7200;
    return expr_time(t);
}

static const struct expr_method *
method(const struct expr_class *cls, const char *name)
{
    for (size_t i = 0; i < cls->nmethods; i++)
        if (strcmp(cls->methods[i].name, name) == 0)
            return &cls->methods[i];
    print_error("no method %s.%s\n", cls->name, name);
    fail();
    /* fail() long-jumps out of the test; abort() tells the compiler no NULL comes back. */
    abort();
}

static const struct {
    bool t2;
    const char *layout;
    const char *want;
} format_cases[] = {
    { 0, "2006-01-02T15:04:05Z07:00", "2024-03-09T14:05:07Z" },
    { 1, "2006-01-02T15:04:05Z07:00", "2023-08-14T23:59:59+02:00" },
    { 0, "2006-01-02 15:04:05.999999999 -0700 MST", "2024-03-09 14:05:07.123456789 +0000 UTC" },
    { 1, "2006-01-02 15:04:05.999999999 -0700 MST", "2023-08-14 23:59:59 +0200 +0200" },
    { 0, "Mon Jan _2 15:04:05 2006", "Sat Mar  9 14:05:07 2024" },
    { 1, "Mon Jan _2 15:04:05 2006", "Mon Aug 14 23:59:59 2023" },
    { 0, "Monday, 02-Jan-06 15:04:05 MST", "Saturday, 09-Mar-24 14:05:07 UTC" },
    { 1, "Monday, 02-Jan-06 15:04:05 MST", "Monday, 14-Aug-23 23:59:59 +0200" },
    { 0, "02 Jan 06 15:04 -0700", "09 Mar 24 14:05 +0000" },
    { 1, "02 Jan 06 15:04 -0700", "14 Aug 23 23:59 +0200" },
    { 0, "3:04PM", "2:05PM" },
    { 1, "3:04PM", "11:59PM" },
    { 0, "3:04pm", "2:05pm" },
    { 1, "3:04pm", "11:59pm" },
    { 0, "03:04:05.000", "02:05:07.123" },
    { 1, "03:04:05.000", "11:59:59.000" },
    { 0, "15:04:05.999", "14:05:07.123" },
    { 1, "15:04:05.999", "23:59:59" },
    { 0, "15:04:05,000000", "14:05:07,123456" },
    { 1, "15:04:05,000000", "23:59:59,000000" },
    { 0, ".00", ".12" },
    { 1, ".00", ".00" },
    { 0, "Jan 2, 2006 at 3:04pm (MST)", "Mar 9, 2024 at 2:05pm (UTC)" },
    { 1, "Jan 2, 2006 at 3:04pm (MST)", "Aug 14, 2023 at 11:59pm (+0200)" },
    { 0, "2006-01-02", "2024-03-09" },
    { 1, "2006-01-02", "2023-08-14" },
    { 0, "January", "March" },
    { 1, "January", "August" },
    { 0, "Janet", "Janet" },
    { 1, "Janet", "Janet" },
    { 0, "Monthly", "Monthly" },
    { 1, "Monthly", "Monthly" },
    { 0, "Mon", "Sat" },
    { 1, "Mon", "Mon" },
    { 0, "__2 002", " 69 069" },
    { 1, "__2 002", "226 226" },
    { 0, "Z07 Z0700 Z07:00:00 -07 -070000 -07:00:00", "Z Z Z +00 +000000 +00:00:00" },
    { 1, "Z07 Z0700 Z07:00:00 -07 -070000 -07:00:00", "+02 +0200 +02:00:00 +02 +020000 +02:00:00" },
    { 0, "20060102150405", "20240309140507" },
    { 1, "20060102150405", "20230814235959" },
    { 0, "_2006", "_2024" },
    { 1, "_2006", "_2023" },
    { 0, "06", "24" },
    { 1, "06", "23" },
    { 0, "1 2 3 4 5", "3 9 2 5 7" },
    { 1, "1 2 3 4 5", "8 14 11 59 59" },
    { 0, "", "" },
    { 1, "", "" },
    { 0, "no layout here", "no layout here" },
    { 1, "no layout here", "no layout here" },
    { 0, "2006-01-02T15:04:05.000000000Z07:00", "2024-03-09T14:05:07.123456789Z" },
    { 1, "2006-01-02T15:04:05.000000000Z07:00", "2023-08-14T23:59:59.000000000+02:00" },
    { 0, "15:04:05.9", "14:05:07.1" },
    { 1, "15:04:05.9", "23:59:59" },
    { 0, ".99999999999", ".123456789" },
    { 1, ".99999999999", "" },
};

static void
test_time_format(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    const struct expr_method *m = method(&expr_time_class, "Format");
    size_t failed = 0;
    for (size_t i = 0; i < ARRAY_SIZE(format_cases); i++) {
        struct expr_value t = format_cases[i].t2 ? time_t2() : time_t1(), ret;
        struct expr_value arg = expr_strv(format_cases[i].layout, strlen(format_cases[i].layout));
        reset_error(vm);
        int rc = m->call(&t, vm, &arg, 1, &ret);
        char what[128];
        snprintf(what, sizeof(what), "t%s.Format(%s)", format_cases[i].t2 ? "2" : "",
                 format_cases[i].layout);
        if (!check_result(vm, what, rc, &ret, "string", format_cases[i].want, NULL))
            failed++;
    }
    assert_int_equal(failed, 0);
    expr_vm_free(vm);
}

static const struct {
    const char *args;
    const char *want_v;
    const char *want_err;
} date_cases[] = {
    { "[\"2023-08-14\"]", "2023-08-14 00:00:00 +0000 UTC", NULL },
    { "[\"2023-08-14 10:11:12\"]", "2023-08-14 10:11:12 +0000 UTC", NULL },
    { "[\"2023-08-14T10:11:12Z\"]", "2023-08-14 10:11:12 +0000 UTC", NULL },
    { "[\"2023-08-14T10:11:12.5+02:00\"]", "2023-08-14 10:11:12.5 +0200 +0200", NULL },
    { "[\"14 Aug 23 10:11 UTC\"]", "2023-08-14 10:11:00 +0000 UTC", NULL },
    { "[\"14 Aug 23 10:11 CEST\"]", "2023-08-14 10:11:00 +0000 UTC", NULL },
    { "[\"Monday, 14-Aug-23 10:11:12 UTC\"]", "2023-08-14 10:11:12 +0000 UTC", NULL },
    { "[\"Mon, 14 Aug 2023 10:11:12 GMT\"]", "2023-08-14 10:11:12 +0000 UTC", NULL },
    { "[\"Mon, 14 Aug 2023 10:11:12 GMT+2\"]", "2023-08-14 12:11:12 +0200 +0200", NULL },
    { "[\"not a date\"]", NULL, "invalid date not a date" },
    { "[\"2023-02-30\"]", NULL, "invalid date 2023-02-30" },
    { "[\"2023-13-01\"]", NULL, "invalid date 2023-13-01" },
    { "[\"2023-08-14 10:11\", \"2006-01-02 15:04\"]", "2023-08-14 10:11:00 +0000 UTC", NULL },
    { "[\"14/08/2023\", \"02/01/2006\"]", "2023-08-14 00:00:00 +0000 UTC", NULL },
    { "[\"Aug 14 2023 3:04PM\", \"Jan 2 2006 3:04PM\"]", "2023-08-14 15:04:00 +0000 UTC", NULL },
    { "[\"Aug 14 2023 12:04AM\", \"Jan 2 2006 3:04PM\"]", "2023-08-14 00:04:00 +0000 UTC", NULL },
    { "[\"2023-08-14\", \"2006-01-02 15:04\"]", NULL,
      "parsing time \"2023-08-14\" as \"2006-01-02 15:04\": cannot parse \"\" as \"15\"" },
    { "[\"2023-08-14x\", \"2006-01-02\"]", NULL,
      "parsing time \"2023-08-14x\": extra text: \"x\"" },
    { "[\"10:11:12.123456789\", \"2006-01-02 15:04:05\"]", NULL,
      "parsing time \"10:11:12.123456789\" as \"2006-01-02 15:04:05\": cannot parse "
      "\"1:12.123456789\" as \"2006\"" },
    { "[\"2023-08-14 10:11:12.123456789\", \"2006-01-02 15:04:05\"]",
      "2023-08-14 10:11:12.123456789 +0000 UTC", NULL },
    { "[\"2023-08-14 10:11:12,5\", \"2006-01-02 15:04:05\"]", "2023-08-14 10:11:12.5 +0000 UTC",
      NULL },
    { "[\"2023-08-14 25:00:00\", \"2006-01-02 15:04:05\"]", NULL,
      "parsing time \"2023-08-14 25:00:00\": hour out of range" },
    { "[\"2023-08-14 10:61:00\", \"2006-01-02 15:04:05\"]", NULL,
      "parsing time \"2023-08-14 10:61:00\": minute out of range" },
    { "[\"2023 226\", \"2006 002\"]", "2023-08-14 00:00:00 +0000 UTC", NULL },
    { "[\"2024 060\", \"2006 002\"]", "2024-02-29 00:00:00 +0000 UTC", NULL },
    { "[\"2023 400\", \"2006 002\"]", NULL, "parsing time \"2023 400\": day-of-year out of range" },
    { "[\"1 2 23\", \"1 2 06\"]", "2023-01-02 00:00:00 +0000 UTC", NULL },
    { "[\"Tue 2023-08-14\", \"Mon 2006-01-02\"]", "2023-08-14 00:00:00 +0000 UTC", NULL },
    { "[\"Foo 2023-08-14\", \"Mon 2006-01-02\"]", NULL,
      "parsing time \"Foo 2023-08-14\" as \"Mon 2006-01-02\": cannot parse \"Foo 2023-08-14\" as "
      "\"Mon\"" },
    { "[\"2023-08-14 +0530\", \"2006-01-02 -0700\"]", "2023-08-14 00:00:00 +0530 +0530", NULL },
    { "[\"2023-08-14 Z\", \"2006-01-02 Z07:00\"]", "2023-08-14 00:00:00 +0000 UTC", NULL },
    { "[\"2023-08-14   10\", \"2006-01-02 15\"]", "2023-08-14 10:00:00 +0000 UTC", NULL },
    { "[\"2023-08-14 10:11:12\", \"2006-01-02 15:04:05\", \"UTC\"]",
      "2023-08-14 10:11:12 +0000 UTC", NULL },
    { "[\"2023-08-14 10:11:12.5\", \"2006-01-02 15:04:05.000\"]", NULL,
      "parsing time \"2023-08-14 10:11:12.5\" as \"2006-01-02 15:04:05.000\": cannot parse \".5\" "
      "as \".000\"" },
    { "[\"70-01-01\", \"06-01-02\"]", "1970-01-01 00:00:00 +0000 UTC", NULL },
    { "[\"68-01-01\", \"06-01-02\"]", "2068-01-01 00:00:00 +0000 UTC", NULL },
    { "[\"12:30:45\", \"15:04:05\"]", NULL,
      "parsing time \"12:30:45\": year 0 is outside the supported range 1678-2261" },
};

static void
test_date(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    const struct expr_func *fn = builtin("date");
    size_t failed = 0;
    for (size_t i = 0; i < ARRAY_SIZE(date_cases); i++) {
        struct expr_value args, ret = expr_nil();
        reset_error(vm);
        assert_int_equal(
            expr_value_from_json(vm, date_cases[i].args, strlen(date_cases[i].args), &args), 0);
        int rc = fn->call(vm, args.u.a->items, args.u.a->len, &ret);
        char what[160];
        snprintf(what, sizeof(what), "date%s", date_cases[i].args);
        if (!check_result(vm, what, rc, &ret, "time.Time", date_cases[i].want_v,
                          date_cases[i].want_err))
            failed++;
    }
    /* Go parses "15:04:05" to year 0, which our int64 nanoseconds cannot hold. */
    struct expr_value arg = expr_strv("15:04:05", 8), ret;
    reset_error(vm);
    assert_int_equal(fn->call(vm, &arg, 1, &ret), -1);
    assert_string_equal(vm->error, "invalid date 15:04:05");
    /* A zone of the tz database: the wall clock is Paris's (CEST in August). */
    struct expr_value a3[3] = { expr_strv("2023-08-14", 10), expr_strv("2006-01-02", 10),
                                expr_strv("Europe/Paris", 12) };
    reset_error(vm);
    assert_int_equal(fn->call(vm, a3, 3, &ret), 0);
    assert_int_equal(ret.kind, EXPR_TIME);
    assert_int_equal(ret.u.t.offset_s, 7200);
    assert_int_equal(ret.u.t.unix_ns, INT64_C(1691964000) * 1000000000);
    a3[2] = expr_strv("Nowhere/City", 12);
    reset_error(vm);
    assert_int_equal(fn->call(vm, a3, 3, &ret), -1);
    assert_string_equal(vm->error, "unknown time zone Nowhere/City");
    assert_int_equal(failed, 0);
    expr_vm_free(vm);
}

static const struct {
    const char *in;
    const char *want_v;
    const char *want_err;
} duration_cases[] = {
    { "1h", "1h0m0s", NULL },
    { "1h30m", "1h30m0s", NULL },
    { "1.5h", "1h30m0s", NULL },
    { "300ms", "300ms", NULL },
    { "-1.5h", "-1h30m0s", NULL },
    { "2h45m10.5s", "2h45m10.5s", NULL },
    { "1us", "1\302\265s", NULL },
    { "1\302\265s", "1\302\265s", NULL },
    { "1\316\274s", "1\302\265s", NULL },
    { "100ns", "100ns", NULL },
    { "0", "0s", NULL },
    { "", NULL, "time: invalid duration \"\"" },
    { "-", NULL, "time: invalid duration \"-\"" },
    { "1", NULL, "time: missing unit in duration \"1\"" },
    { "1x", NULL, "time: unknown unit \"x\" in duration \"1x\"" },
    { "1hx", NULL, "time: unknown unit \"hx\" in duration \"1hx\"" },
    { "abc", NULL, "time: invalid duration \"abc\"" },
    { ".5s", "500ms", NULL },
    { "1.s", "1s", NULL },
    { "-0", "0s", NULL },
    { "+5m", "5m0s", NULL },
    { "9223372036854775807ns", "2562047h47m16.854775807s", NULL },
    { "9223372036854775808ns", NULL, "time: invalid duration \"9223372036854775808ns\"" },
    { "3000000h", NULL, "time: invalid duration \"3000000h\"" },
    { "1h 30m", NULL, "time: unknown unit \"h \" in duration \"1h 30m\"" },
    { "1d", NULL, "time: unknown unit \"d\" in duration \"1d\"" },
};

static void
test_duration(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    const struct expr_func *fn = builtin("duration");
    size_t failed = 0;
    for (size_t i = 0; i < ARRAY_SIZE(duration_cases); i++) {
        struct expr_value arg = expr_strv(duration_cases[i].in, strlen(duration_cases[i].in)), ret;
        reset_error(vm);
        int rc = fn->call(vm, &arg, 1, &ret);
        char what[128];
        snprintf(what, sizeof(what), "duration(%s)", duration_cases[i].in);
        if (!check_result(vm, what, rc, &ret, "time.Duration", duration_cases[i].want_v,
                          duration_cases[i].want_err))
            failed++;
    }
    assert_int_equal(failed, 0);
    expr_vm_free(vm);
}

static const struct {
    const char *recv; /* "t", "t2" or "d:<duration>" */
    const char *name;
    const char *args; /* "|"-separated: d:<duration> t:<date> T (= t) i:<int> */
    const char *then; /* a second method called on the result (String) */
    const char *want_type, *want_v, *want_err;
} method_cases[] = {
    { "t", "Year", "", NULL, "int", "2024", NULL },
    { "t2", "Year", "", NULL, "int", "2023", NULL },
    { "t", "Month", "", NULL, "time.Month", "March", NULL },
    { "t2", "Month", "", NULL, "time.Month", "August", NULL },
    { "t", "Day", "", NULL, "int", "9", NULL },
    { "t2", "Day", "", NULL, "int", "14", NULL },
    { "t", "Hour", "", NULL, "int", "14", NULL },
    { "t2", "Hour", "", NULL, "int", "23", NULL },
    { "t", "Minute", "", NULL, "int", "5", NULL },
    { "t2", "Minute", "", NULL, "int", "59", NULL },
    { "t", "Second", "", NULL, "int", "7", NULL },
    { "t2", "Second", "", NULL, "int", "59", NULL },
    { "t", "Nanosecond", "", NULL, "int", "123456789", NULL },
    { "t2", "Nanosecond", "", NULL, "int", "0", NULL },
    { "t", "Weekday", "", NULL, "time.Weekday", "Saturday", NULL },
    { "t2", "Weekday", "", NULL, "time.Weekday", "Monday", NULL },
    { "t", "YearDay", "", NULL, "int", "69", NULL },
    { "t2", "YearDay", "", NULL, "int", "226", NULL },
    { "t", "Unix", "", NULL, "int64", "1709993107", NULL },
    { "t2", "Unix", "", NULL, "int64", "1692050399", NULL },
    { "t", "UnixMilli", "", NULL, "int64", "1709993107123", NULL },
    { "t2", "UnixMilli", "", NULL, "int64", "1692050399000", NULL },
    { "t", "UnixMicro", "", NULL, "int64", "1709993107123456", NULL },
    { "t2", "UnixMicro", "", NULL, "int64", "1692050399000000", NULL },
    { "t", "UnixNano", "", NULL, "int64", "1709993107123456789", NULL },
    { "t2", "UnixNano", "", NULL, "int64", "1692050399000000000", NULL },
    { "t", "UTC", "", NULL, "time.Time", "2024-03-09 14:05:07.123456789 +0000 UTC", NULL },
    { "t2", "UTC", "", NULL, "time.Time", "2023-08-14 21:59:59 +0000 UTC", NULL },
    { "t", "String", "", NULL, "string", "2024-03-09 14:05:07.123456789 +0000 UTC", NULL },
    { "t2", "String", "", NULL, "string", "2023-08-14 23:59:59 +0200 +0200", NULL },
    { "t", "Month", "", "String", "string", "March", NULL },
    { "t2", "Month", "", "String", "string", "August", NULL },
    { "t", "Weekday", "", "String", "string", "Saturday", NULL },
    { "t2", "Weekday", "", "String", "string", "Monday", NULL },
    { "t", "Add", "d:1h30m", NULL, "time.Time", "2024-03-09 15:35:07.123456789 +0000 UTC", NULL },
    { "t2", "Add", "d:1h30m", NULL, "time.Time", "2023-08-15 01:29:59 +0200 +0200", NULL },
    { "t", "Sub", "t:2024-01-01", NULL, "time.Duration", "1646h5m7.123456789s", NULL },
    { "t2", "Sub", "t:2024-01-01", NULL, "time.Duration", "-3338h0m1s", NULL },
    { "t", "AddDate", "i:0|i:1|i:0", NULL, "time.Time", "2024-04-09 14:05:07.123456789 +0000 UTC",
      NULL },
    { "t2", "AddDate", "i:0|i:1|i:0", NULL, "time.Time", "2023-09-14 23:59:59 +0200 +0200", NULL },
    { "t", "AddDate", "i:1|i:-3|i:40", NULL, "time.Time", "2025-01-18 14:05:07.123456789 +0000 UTC",
      NULL },
    { "t2", "AddDate", "i:1|i:-3|i:40", NULL, "time.Time", "2024-06-23 23:59:59 +0200 +0200",
      NULL },
    { "t", "Before", "t:2024-01-01", NULL, "bool", "false", NULL },
    { "t2", "Before", "t:2024-01-01", NULL, "bool", "true", NULL },
    { "t", "After", "t:2024-01-01", NULL, "bool", "true", NULL },
    { "t2", "After", "t:2024-01-01", NULL, "bool", "false", NULL },
    { "t", "Equal", "T", NULL, "bool", "true", NULL },
    { "t2", "Equal", "T", NULL, "bool", "false", NULL },
    { "t", "Truncate", "d:1h", NULL, "time.Time", "2024-03-09 14:00:00 +0000 UTC", NULL },
    { "t2", "Truncate", "d:1h", NULL, "time.Time", "2023-08-14 23:00:00 +0200 +0200", NULL },
    { "t", "Round", "d:1h", NULL, "time.Time", "2024-03-09 14:00:00 +0000 UTC", NULL },
    { "t2", "Round", "d:1h", NULL, "time.Time", "2023-08-15 00:00:00 +0200 +0200", NULL },
    { "t", "Truncate", "d:7m", NULL, "time.Time", "2024-03-09 14:03:00 +0000 UTC", NULL },
    { "t2", "Truncate", "d:7m", NULL, "time.Time", "2023-08-14 23:56:00 +0200 +0200", NULL },
    { "t", "Round", "d:1s", NULL, "time.Time", "2024-03-09 14:05:07 +0000 UTC", NULL },
    { "t2", "Round", "d:1s", NULL, "time.Time", "2023-08-14 23:59:59 +0200 +0200", NULL },
    { "t", "Round", "d:7m", NULL, "time.Time", "2024-03-09 14:03:00 +0000 UTC", NULL },
    { "t2", "Round", "d:7m", NULL, "time.Time", "2023-08-15 00:03:00 +0200 +0200", NULL },
    { "t", "Truncate", "i:0", NULL, NULL, NULL, "reflect: Call using int as type time.Duration" },
    { "t2", "Truncate", "i:0", NULL, NULL, NULL, "reflect: Call using int as type time.Duration" },
    { "d:1h30m10.5s", "Hours", "", NULL, "float64", "1.5029166666666667", NULL },
    { "d:1h30m10.5s", "Minutes", "", NULL, "float64", "90.175", NULL },
    { "d:1h30m10.5s", "Seconds", "", NULL, "float64", "5410.5", NULL },
    { "d:1h30m10.5s", "Milliseconds", "", NULL, "int64", "5410500", NULL },
    { "d:1h30m10.5s", "Microseconds", "", NULL, "int64", "5410500000", NULL },
    { "d:1h30m10.5s", "Nanoseconds", "", NULL, "int64", "5410500000000", NULL },
    { "d:1h30m10.5s", "String", "", NULL, "string", "1h30m10.5s", NULL },
    { "d:1h30m10.5s", "Round", "d:1h", NULL, "time.Duration", "2h0m0s", NULL },
    { "d:1h30m10.5s", "Truncate", "d:1h", NULL, "time.Duration", "1h0m0s", NULL },
    { "d:1h30m10.5s", "Round", "d:1m", NULL, "time.Duration", "1h30m0s", NULL },
    { "d:1h30m10.5s", "Abs", "", NULL, "time.Duration", "1h30m10.5s", NULL },
    { "d:-1h30m10.5s", "Hours", "", NULL, "float64", "-1.5029166666666667", NULL },
    { "d:-1h30m10.5s", "Minutes", "", NULL, "float64", "-90.175", NULL },
    { "d:-1h30m10.5s", "Seconds", "", NULL, "float64", "-5410.5", NULL },
    { "d:-1h30m10.5s", "Milliseconds", "", NULL, "int64", "-5410500", NULL },
    { "d:-1h30m10.5s", "Microseconds", "", NULL, "int64", "-5410500000", NULL },
    { "d:-1h30m10.5s", "Nanoseconds", "", NULL, "int64", "-5410500000000", NULL },
    { "d:-1h30m10.5s", "String", "", NULL, "string", "-1h30m10.5s", NULL },
    { "d:-1h30m10.5s", "Round", "d:1h", NULL, "time.Duration", "-2h0m0s", NULL },
    { "d:-1h30m10.5s", "Truncate", "d:1h", NULL, "time.Duration", "-1h0m0s", NULL },
    { "d:-1h30m10.5s", "Round", "d:1m", NULL, "time.Duration", "-1h30m0s", NULL },
    { "d:-1h30m10.5s", "Abs", "", NULL, "time.Duration", "1h30m10.5s", NULL },
    { "d:0s", "Hours", "", NULL, "float64", "0", NULL },
    { "d:0s", "Minutes", "", NULL, "float64", "0", NULL },
    { "d:0s", "Seconds", "", NULL, "float64", "0", NULL },
    { "d:0s", "Milliseconds", "", NULL, "int64", "0", NULL },
    { "d:0s", "Microseconds", "", NULL, "int64", "0", NULL },
    { "d:0s", "Nanoseconds", "", NULL, "int64", "0", NULL },
    { "d:0s", "String", "", NULL, "string", "0s", NULL },
    { "d:0s", "Round", "d:1h", NULL, "time.Duration", "0s", NULL },
    { "d:0s", "Truncate", "d:1h", NULL, "time.Duration", "0s", NULL },
    { "d:0s", "Round", "d:1m", NULL, "time.Duration", "0s", NULL },
    { "d:0s", "Abs", "", NULL, "time.Duration", "0s", NULL },
    { "d:59m59.999s", "Hours", "", NULL, "float64", "0.9999997222222222", NULL },
    { "d:59m59.999s", "Minutes", "", NULL, "float64", "59.99998333333333", NULL },
    { "d:59m59.999s", "Seconds", "", NULL, "float64", "3599.999", NULL },
    { "d:59m59.999s", "Milliseconds", "", NULL, "int64", "3599999", NULL },
    { "d:59m59.999s", "Microseconds", "", NULL, "int64", "3599999000", NULL },
    { "d:59m59.999s", "Nanoseconds", "", NULL, "int64", "3599999000000", NULL },
    { "d:59m59.999s", "String", "", NULL, "string", "59m59.999s", NULL },
    { "d:59m59.999s", "Round", "d:1h", NULL, "time.Duration", "1h0m0s", NULL },
    { "d:59m59.999s", "Truncate", "d:1h", NULL, "time.Duration", "0s", NULL },
    { "d:59m59.999s", "Round", "d:1m", NULL, "time.Duration", "1h0m0s", NULL },
    { "d:59m59.999s", "Abs", "", NULL, "time.Duration", "59m59.999s", NULL },
    { "d:1ns", "Hours", "", NULL, "float64", "2.777777777777778e-13", NULL },
    { "d:1ns", "Minutes", "", NULL, "float64", "1.6666666666666667e-11", NULL },
    { "d:1ns", "Seconds", "", NULL, "float64", "1e-09", NULL },
    { "d:1ns", "Milliseconds", "", NULL, "int64", "0", NULL },
    { "d:1ns", "Microseconds", "", NULL, "int64", "0", NULL },
    { "d:1ns", "Nanoseconds", "", NULL, "int64", "1", NULL },
    { "d:1ns", "String", "", NULL, "string", "1ns", NULL },
    { "d:1ns", "Round", "d:1h", NULL, "time.Duration", "0s", NULL },
    { "d:1ns", "Truncate", "d:1h", NULL, "time.Duration", "0s", NULL },
    { "d:1ns", "Round", "d:1m", NULL, "time.Duration", "0s", NULL },
    { "d:1ns", "Abs", "", NULL, "time.Duration", "1ns", NULL },
};

static struct expr_value
decode_arg(struct expr_vm *vm, const char *a, size_t n)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*s", (int)(n - 2), a + 2);
    if (a[0] == 'd') {
        int64_t ns;
        assert_int_equal(gotime_parse_duration(buf, strlen(buf), &ns), 0);
        return expr_duration(ns);
    }
    if (a[0] == 't') {
        struct expr_value s = expr_strv(buf, strlen(buf)), ret;
        assert_int_equal(builtin("date")->call(vm, &s, 1, &ret), 0);
        return ret;
    }
    if (a[0] == 'T')
        return time_t1();
    return expr_int(strtoll(buf, NULL, 10));
}

static void
test_methods(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    size_t failed = 0;
    for (size_t i = 0; i < ARRAY_SIZE(method_cases); i++) {
        const char *r = method_cases[i].recv;
        struct expr_value recv, args[4], ret = expr_nil();
        const struct expr_class *cls = &expr_time_class;
        if (strcmp(r, "t") == 0) {
            recv = time_t1();
        } else if (strcmp(r, "t2") == 0) {
            recv = time_t2();
        } else {
            recv = decode_arg(vm, r, strlen(r));
            cls = &expr_duration_class;
        }
        size_t nargs = 0;
        for (const char *p = method_cases[i].args; *p && nargs < 4;) {
            const char *e = strchr(p, '|');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            args[nargs++] = decode_arg(vm, p, n);
            p += n + (e ? 1 : 0);
        }
        reset_error(vm);
        const struct expr_method *m = method(cls, method_cases[i].name);
        assert_true((int)nargs >= m->min_args && (int)nargs <= m->max_args);
        int rc = m->call(&recv, vm, args, nargs, &ret);
        if (rc == 0 && method_cases[i].then) {
            struct expr_value first = ret;
            assert_int_equal(first.kind, EXPR_OBJECT);
            const struct expr_method *m2 = method(first.u.o.cls, method_cases[i].then);
            rc = m2->call(first.u.o.ptr, vm, NULL, 0, &ret);
        }
        char what[160];
        snprintf(what, sizeof(what), "%s.%s(%s)%s%s", r, method_cases[i].name, method_cases[i].args,
                 method_cases[i].then ? "." : "", method_cases[i].then ? method_cases[i].then : "");
        if (!check_result(vm, what, rc, &ret, method_cases[i].want_type, method_cases[i].want_v,
                          method_cases[i].want_err))
            failed++;
    }
    assert_int_equal(failed, 0);
    expr_vm_free(vm);
}

static struct gotime
fixed_clock(void)
{
    return gotime_from_fields(2030, 1, 2, 3, 4, 5, 0, 0);
}

static void
test_now_and_misc(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    struct expr_value ret;
    expr_set_clock(fixed_clock);
    assert_int_equal(builtin("now")->call(vm, NULL, 0, &ret), 0);
    assert_int_equal(ret.kind, EXPR_TIME);
    assert_true(ret.u.t.unix_ns == fixed_clock().unix_ns);
    expr_set_clock(NULL);
    /* type() of Go value types */
    const struct expr_func *type = builtin("type");
    struct expr_value v[] = { time_t1(), expr_duration(1), expr_weekday_value(1) };
    const char *want[] = { "time.Time", "time.Duration", "time.Weekday" };
    for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
        assert_int_equal(type->call(vm, &v[i], 1, &ret), 0);
        assert_int_equal(ret.kind, EXPR_STRING);
        assert_memory_equal(ret.u.s.ptr, want[i], strlen(want[i]));
    }
    /* int() of a Weekday/Month/Duration gives the number */
    v[0] = expr_month_value(12);
    assert_int_equal(builtin("int")->call(vm, &v[0], 1, &ret), 0);
    assert_int_equal(ret.kind, EXPR_INT);
    assert_int_equal(ret.u.i, 12);
    /* sort of times and of durations, max of durations is an error as in Go */
    struct expr_array *a = expr_vm_array(vm, 3);
    a->items[0] = time_t1();
    a->items[1] = time_t2();
    a->items[2] = expr_time(gotime_from_fields(2000, 1, 1, 0, 0, 0, 0, 0));
    a->len = 3;
    struct expr_value arr = { .kind = EXPR_ARRAY, .u.a = a };
    assert_int_equal(builtin("sort")->call(vm, &arr, 1, &ret), 0);
    assert_int_equal(ret.u.a->len, 3);
    assert_true(ret.u.a->items[0].u.t.unix_ns == a->items[2].u.t.unix_ns);
    assert_true(ret.u.a->items[2].u.t.unix_ns == a->items[0].u.t.unix_ns);
    /* string() of a time is Time.String(), toJSON() of a time is RFC 3339 */
    v[0] = time_t2();
    assert_int_equal(builtin("string")->call(vm, &v[0], 1, &ret), 0);
    assert_memory_equal(ret.u.s.ptr, "2023-08-14 23:59:59 +0200 +0200", 31);
    assert_int_equal(builtin("toJSON")->call(vm, &v[0], 1, &ret), 0);
    assert_int_equal(ret.u.s.len, 27);
    assert_memory_equal(ret.u.s.ptr, "\"2023-08-14T23:59:59+02:00\"", 27);
    /* every table entry has a callable function and a sane arity */
    assert_true(expr_builtins_count >= 55);
    for (size_t i = 0; i < expr_builtins_count; i++) {
        assert_non_null(expr_builtins[i].call);
        assert_true(expr_builtins[i].max_args < 0 ||
                    expr_builtins[i].max_args >= expr_builtins[i].min_args);
    }
    expr_vm_free(vm);
}

/* End to end through the compiler and the vm, checked against expr-lang v1.17.8's expr.Eval. */
static const struct {
    const char *src;
    const char *want_type, *want_v;
} e2e_cases[] = {
    { "upper(\"abc\") + lower(\"DEF\")", "string", "ABCdef" },
    { "len(split(\"a,b,c\", \",\"))", "int", "3" },
    { "date(\"2023-08-14\").Weekday().String()", "string", "Monday" },
    { "date(\"2023-08-14\").Month() == 8", "bool", "false" },
    { "int(date(\"2023-08-14\").Month())", "int", "8" },
    { "string(1e6)", "string", "1e+06" },
    { "toJSON({\"b\": 1, \"a\": [1, 2.5, nil]})", "string",
      "{\n  \"a\": [\n    1,\n    2.5,\n    null\n  ],\n  \"b\": 1\n}" },
    { "sort([3, 1, 2], \"desc\")", "[]interface {}", "[3 2 1]" },
    { "sum([1, 2.5])", "float64", "3.5" },
    { "sum([1, 2, 3])", "int", "6" },
    { "duration(\"1h30m\").Minutes()", "float64", "90" },
    { "date(\"2023-08-14T10:00:00Z\") - date(\"2023-08-14\") == duration(\"10h\")", "bool",
      "true" },
    { "date(\"2023-08-14\").Add(duration(\"36h\")).Format(\"2006-01-02 15:04\")", "string",
      "2023-08-15 12:00" },
    { "max(1, 2.5, [3, [4]])", "int", "4" },
    { "fromJSON(\"{\\\"a\\\": [1, 2]}\").a[1] + 1", "float64", "3" },
    { "\"a,b\" | split(\",\") | join(\"-\")", "string", "a-b" },
    { "trim(\"  x  \") + trimPrefix(\"abc\", \"a\")", "string", "xbc" },
    { "replace(\"aaa\", \"a\", \"b\", 2)", "string", "bba" },
    { "first([]) ?? \"empty\"", "string", "empty" },
    { "get([1, 2, 3], -1)", "int", "3" },
    { "uniq([1, 2, 1, \"a\", \"a\"])", "[]interface {}", "[1 2 a]" },
    { "flatten([1, [2, [3]]])", "[]interface {}", "[1 2 3]" },
    { "bitand(12, 10) + bitshl(1, 4)", "int", "24" },
    { "toBase64(\"hello\") + fromBase64(\"IQ==\")", "string", "aGVsbG8=!" },
    { "mean([1, 2, 3, 4]) + median([5, 1, 3])", "float64", "5.5" },
    { "type(now()) + type(duration(\"1s\"))", "string", "time.Timetime.Duration" },
    { "repeat(\"ab\", 3)", "string", "ababab" },
    { "indexOf(\"chicken\", \"ken\") + lastIndexOf(\"go gopher\", \"go\")", "int", "7" },
    { "take(reverse([1, 2, 3, 4]), 2)", "[]interface {}", "[4 3]" },
    { "abs(-5) + ceil(1.2) + floor(-1.2) + round(2.5)", "float64", "8" },
};

static void
test_end_to_end(void **state)
{
    (void)state;
    struct expr_env *env = expr_env_new();
    struct expr_vm *vm = new_vm();
    assert_non_null(env);
    size_t failed = 0;
    for (size_t i = 0; i < ARRAY_SIZE(e2e_cases); i++) {
        struct expr_error err = { 0 };
        struct expr_program *p =
            expr_compile(env, e2e_cases[i].src, strlen(e2e_cases[i].src), EXPR_T_ANY, &err);
        if (!p) {
            print_error("%s: compile error %s\n", e2e_cases[i].src, err.message);
            failed++;
            continue;
        }
        struct expr_value ret = expr_nil();
        int rc = expr_eval(vm, p, NULL, &ret, &err);
        if (rc < 0)
            snprintf(vm->error, sizeof(vm->error), "%s", err.message);
        if (!check_result(vm, e2e_cases[i].src, rc, &ret, e2e_cases[i].want_type,
                          e2e_cases[i].want_v, NULL))
            failed++;
        expr_program_free(p);
    }
    assert_int_equal(failed, 0);
    expr_vm_free(vm);
    expr_env_free(env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_table), cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_date),          cmocka_unit_test(test_duration),
        cmocka_unit_test(test_methods),       cmocka_unit_test(test_now_and_misc),
        cmocka_unit_test(test_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
