/* test_builtins.c - tests for builtins.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expr/helpers.h"

static void
test_table(void **state)
{
    (void)state;
    assert_true(expr_builtins_count < 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_table) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
