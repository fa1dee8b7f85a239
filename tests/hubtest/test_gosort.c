/*
 * test_gosort.c - hubtest_go_sort against Go's sort.Sort: bucket-dump
 * results are ordered by it and the sort is not stable, so equal keys must
 * end up exactly where Go leaves them. Each case is n items whose key is a
 * pseudo-random number below m (many ties), sorted descending by key; the
 * expected order of the original indexes was printed by Go 1.19's
 * sort.Sort on the same input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hubtest/internal.h"

struct item {
    int key, id;
};

static bool
item_less(void *ctx, ptrdiff_t i, ptrdiff_t j)
{
    const struct item *a = ctx;
    return a[i].key > a[j].key;
}

static void
item_swap(void *ctx, ptrdiff_t i, ptrdiff_t j)
{
    struct item *a = ctx;
    struct item t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static const struct {
    int n, m;
    int want[120];
} cases[] = {
    { 5, 2, { 0, 1, 3, 4, 2 } },
    { 13, 2, { 9, 1, 3, 4, 5, 8, 10, 12, 2, 6, 7, 0, 11 } },
    { 28, 3, { 11, 27, 24, 23, 22, 18, 16, 15, 8,  14, 20, 1,  25, 2,
               10, 7,  3,  4,  21, 0,  19, 5,  17, 6,  13, 12, 26, 9 } },
    { 60, 4, { 45, 25, 23, 20, 4,  5,  19, 39, 40, 44, 35, 12, 18, 50, 14, 0,  8,  7,  47, 52,
               3,  21, 22, 53, 24, 57, 37, 15, 42, 29, 30, 56, 54, 33, 51, 49, 48, 26, 38, 46,
               13, 36, 9,  43, 16, 11, 17, 10, 28, 27, 41, 34, 6,  2,  32, 55, 31, 1,  58, 59 } },
    { 120, 7, { 52,  24, 69,  53, 51, 78,  44, 43,  8,   32,  38, 118, 13,  97,  14,  23,  22,  17,
                105, 37, 66,  71, 60, 107, 58, 57,  101, 49,  77, 12,  30,  93,  109, 115, 90,  35,
                55,  92, 10,  11, 88, 67,  84, 102, 95,  82,  5,  63,  56,  19,  74,  4,   114, 117,
                76,  99, 33,  25, 34, 59,  68, 72,  62,  47,  16, 2,   20,  86,  89,  96,  70,  116,
                6,   73, 21,  75, 50, 48,  46, 108, 65,  104, 45, 111, 106, 26,  9,   87,  91,  85,
                15,  40, 110, 31, 18, 112, 79, 28,  98,  27,  7,  80,  100, 103, 29,  94,  36,  39,
                0,   41, 42,  83, 81, 113, 54, 61,  64,  3,   1,  119 } },
};

static void
test_like_go(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
        struct item a[120];
        uint32_t seed = (uint32_t)cases[c].n;
        for (int i = 0; i < cases[c].n; i++) {
            seed = seed * 1103515245u + 12345u;
            a[i] = (struct item){ (int)((seed >> 16) % (uint32_t)cases[c].m), i };
        }
        hubtest_go_sort(a, (size_t)cases[c].n, item_less, item_swap);
        for (int i = 0; i < cases[c].n; i++) {
            if (a[i].id != cases[c].want[i]) {
                print_message("# n=%d m=%d: position %d holds item %d, Go has %d\n", cases[c].n,
                              cases[c].m, i, a[i].id, cases[c].want[i]);
                failed++;
                break;
            }
        }
    }
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_like_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
