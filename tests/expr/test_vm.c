/*
 * test_vm.c - unit tests of the expression engine's vm part.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expr/helpers.h"

static void
test_regex_basic(void **state)
{
    (void)state;
    char err[256];
    struct expr_regex *re = expr_regex_compile("^a+b$", 5, err, sizeof(err));
    assert_non_null(re);
    assert_int_equal(expr_regex_match(re, "aab", 3), 1);
    assert_int_equal(expr_regex_match(re, "aab\n", 4), 0);
    expr_regex_free(re);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_basic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
