/*
 * helpers_fixture.h - what the CrowdSec helper tests (test_helpers_*.c)
 * share: value initialisers for case tables, looking a helper up in its
 * family's table and calling it with its arity checked, the fixture folder,
 * and the table runner that turns each {helper, arguments, expected text}
 * case into one cmocka test (one TAP line).
 */
#ifndef PHALANX_TESTS_EXPR_HELPERS_FIXTURE_H
#define PHALANX_TESTS_EXPR_HELPERS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str.h"
#include "expr/helpers.h"

/* Static initialisers of struct expr_value, for case tables. */
#define S(x)                                                                                       \
    {                                                                                              \
        .kind = EXPR_STRING, .u.s = {(x), sizeof(x) - 1 }                                          \
    }
#define I(x)                                                                                       \
    {                                                                                              \
        .kind = EXPR_INT, .u.i = (x)                                                               \
    }
#define F(x)                                                                                       \
    {                                                                                              \
        .kind = EXPR_FLOAT, .u.f = (x)                                                             \
    }
#define B(x)                                                                                       \
    {                                                                                              \
        .kind = EXPR_BOOL, .u.b = (x)                                                              \
    }
#define NIL                                                                                        \
    {                                                                                              \
        .kind = EXPR_NIL                                                                           \
    }
#define D(x)                                                                                       \
    {                                                                                              \
        .kind = EXPR_DURATION, .u.d = (x)                                                          \
    }
#define T(x)                                                                                       \
    {                                                                                              \
        .kind = EXPR_TIME, .u.t = {.unix_ns = (x) }                                                \
    }
#define A(...)                                                                                     \
    {                                                                                              \
        .kind = EXPR_ARRAY, .u.a = &(struct expr_array)                                            \
        {                                                                                          \
            .len = sizeof((struct expr_value[]){ __VA_ARGS__ }) / sizeof(struct expr_value),       \
            .cap = sizeof((struct expr_value[]){ __VA_ARGS__ }) / sizeof(struct expr_value),       \
            .items = (struct expr_value[])                                                         \
            {                                                                                      \
                __VA_ARGS__                                                                        \
            }                                                                                      \
        }                                                                                          \
    }
#define A0                                                                                         \
    {                                                                                              \
        .kind = EXPR_ARRAY, .u.a = &(struct expr_array)                                            \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/*
 * One table case: a helper, its arguments, and the expected result rendered
 * as text (strings quoted, floats with an "f" suffix, durations as
 * "d<Go string>", lists in [], maps in {} with sorted keys), or "ERR:" and a
 * piece of the expected run-time error.
 */
struct fixture_case {
    const char *fn;
    size_t nargs;
    struct expr_value args[7];
    const char *want;
};

/* A helper's expected registration: its name and arity (max -1: variadic). */
struct fixture_arity {
    const char *name;
    int min, max;
};

/* The helper called name in tab, or NULL. */
const struct expr_func *fixture_find_func(const struct expr_func *tab, size_t ntab,
                                          const char *name);
/* The helper called name in tab; fails the running test when it is missing. */
const struct expr_func *fixture_find(const struct expr_func *tab, size_t ntab, const char *name);
/* Calls helper name of tab with n arguments, asserting that n fits its arity. */
int fixture_call(struct expr_vm *vm, const struct expr_func *tab, size_t ntab, const char *name,
                 const struct expr_value *args, size_t n, struct expr_value *ret);
/* Checks that tab registers exactly the helpers of want, with those arities. */
void fixture_check_registry(const struct expr_func *tab, size_t ntab,
                            const struct fixture_arity *want, size_t nwant);

/* A string value over a C string (borrowed). */
struct expr_value fixture_str(const char *s);
/* Whether v is the string want. */
bool fixture_str_is(const struct expr_value *v, const char *want);

/* Appends v to out in the text form of struct fixture_case.want. */
void fixture_render(struct expr_vm *vm, const struct expr_value *v, struct str *out);

/*
 * The fixture folder: $PHALANX_SOURCE_ROOT/tests/expr/data (meson test sets
 * it), else next to the fixture source as the compiler saw it, which works
 * when the binary runs from its build directory.
 */
void fixture_data_dir(char *buf, size_t size);

/* Runs the nextra custom tests, then one test per case of cases; returns cmocka's result. */
int fixture_run_all(const char *group, const struct expr_func *tab, size_t ntab,
                    const struct CMUnitTest *extra, size_t nextra, const struct fixture_case *cases,
                    size_t n);

#endif
