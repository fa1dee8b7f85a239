/*
 * test_alert_json.c - the JSON codec of alerts and decisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model/model.h"

static void
test_placeholder_alert(void **state)
{
    (void)state;
    struct alert *a = alert_new();
    assert_non_null(a);
    alert_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placeholder_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
