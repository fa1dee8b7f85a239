/*
 * test_parser.c - table tests of the expression parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expr/ast.h"

static void
test_dump_nil(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    ast_dump(NULL, f);
    fclose(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_dump_nil)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
