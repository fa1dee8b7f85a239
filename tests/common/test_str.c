/*
 * test_str.c - unit tests for common/str (views and growable buffers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str.h"

static void
test_strv_compare(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int cmp;
    } cases[] = {
        { "", "", 0 },        { "a", "", 1 },      { "", "a", -1 },         { "abc", "abc", 0 },
        { "abc", "abd", -1 }, { "abd", "abc", 1 }, { "ab", "abc", -1 },     { "abc", "ab", 1 },
        { "B", "a", -1 },     { "\xff", "a", 1 },  { "a\xc3", "a\x7f", 1 }, { "zz", "zza", -1 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct strv a = strv_from_cstr(cases[i].a), b = strv_from_cstr(cases[i].b);
        int c = strv_cmp(a, b);
        if (c != cases[i].cmp)
            print_error("case %zu \"%s\" vs \"%s\": %d want %d\n", i, cases[i].a, cases[i].b, c,
                        cases[i].cmp);
        assert_int_equal(c, cases[i].cmp);
        assert_int_equal(strv_eq(a, b), cases[i].cmp == 0);
        assert_int_equal(strv_eq_cstr(a, cases[i].b), cases[i].cmp == 0);
    }
    /* Embedded NULs count: views are byte strings, not C strings. */
    struct strv x = { "a\0b", 3 }, y = { "a\0c", 3 };
    assert_false(strv_eq(x, y));
    assert_int_equal(strv_cmp(x, y), -1);
    assert_false(strv_eq_cstr(x, "a"));
    assert_int_equal(strv_from_cstr(NULL).len, 0);
}

static void
test_strv_prefix_suffix_find(void **state)
{
    (void)state;
    static const struct {
        const char *s, *p;
        bool prefix, suffix;
        ptrdiff_t find;
    } cases[] = {
        { "hello world", "hello", true, false, 0 },
        { "hello world", "world", false, true, 6 },
        { "hello world", "", true, true, 0 },
        { "", "", true, true, 0 },
        { "", "a", false, false, -1 },
        { "abc", "abcd", false, false, -1 },
        { "abcabc", "cab", false, false, 2 },
        { "abcabc", "abc", true, true, 0 },
        { "aaab", "aab", false, true, 1 },
        { "crowdsecurity/ssh-bf", "/", false, false, 13 },
        { "x", "x", true, true, 0 },
        { "xyz", "Y", false, false, -1 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct strv s = strv_from_cstr(cases[i].s), p = strv_from_cstr(cases[i].p);
        if (strv_has_prefix(s, p) != cases[i].prefix || strv_has_suffix(s, p) != cases[i].suffix ||
            strv_find(s, p) != cases[i].find)
            print_error("case %zu \"%s\" / \"%s\"\n", i, cases[i].s, cases[i].p);
        assert_int_equal(strv_has_prefix(s, p), cases[i].prefix);
        assert_int_equal(strv_has_suffix(s, p), cases[i].suffix);
        assert_int_equal(strv_find(s, p), cases[i].find);
    }
    struct strv lit = STRV("ab\0cd");
    assert_int_equal(lit.len, 5);
    assert_int_equal(strv_find(lit, STRV("cd")), 3);
}

static void
test_str_append(void **state)
{
    (void)state;
    struct str s = STR_INIT;
    assert_int_equal(str_append_cstr(&s, "hello"), 0);
    assert_int_equal(str_append_char(&s, ' '), 0);
    assert_int_equal(str_append(&s, "world!!!", 5), 0);
    assert_int_equal(s.len, 11);
    assert_string_equal(s.buf, "hello world");
    assert_true(s.cap > s.len);

    /* Growth across many reallocations keeps every byte. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(str_append_char(&s, (char)('a' + i % 26)), 0);
    assert_int_equal(s.len, 1011);
    assert_int_equal(strlen(s.buf), 1011);
    assert_int_equal(s.buf[11], 'a');
    assert_int_equal(s.buf[11 + 25], 'z');
    assert_int_equal(s.buf[1010], (char)('a' + 999 % 26));

    size_t cap = s.cap;
    str_clear(&s);
    assert_int_equal(s.len, 0);
    assert_int_equal(s.cap, cap);
    assert_string_equal(s.buf, "");

    /* Appending from inside the buffer itself is allowed. */
    assert_int_equal(str_append_cstr(&s, "abc"), 0);
    assert_int_equal(str_append(&s, s.buf, s.len), 0);
    assert_string_equal(s.buf, "abcabc");

    /* Embedded NUL bytes are kept and counted. */
    assert_int_equal(str_append(&s, "\0x", 2), 0);
    assert_int_equal(s.len, 8);
    assert_int_equal(s.buf[6], '\0');
    assert_int_equal(s.buf[7], 'x');
    assert_int_equal(s.buf[8], '\0');

    str_free(&s);
    assert_null(s.buf);
    assert_int_equal(s.len, 0);
    assert_int_equal(s.cap, 0);
    str_free(&s);
    str_free(NULL);
}

static void
test_str_appendf(void **state)
{
    (void)state;
    struct str s = STR_INIT;
    assert_int_equal(str_appendf(&s, "%d-%s", 42, "x"), 0);
    assert_string_equal(s.buf, "42-x");
    assert_int_equal(str_appendf(&s, "%s", ""), 0);
    assert_int_equal(s.len, 4);
    /* Longer than the spare room: the second pass must produce it all. */
    char big[600];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(str_appendf(&s, "[%s]%05.1f", big, 3.14159), 0);
    assert_int_equal(s.len, 4 + 1 + 599 + 1 + 5);
    assert_int_equal(strlen(s.buf), s.len);
    assert_memory_equal(s.buf + s.len - 7, "q]003.1", 7);
    assert_int_equal(str_appendf(&s, "%c", 'Z'), 0);
    assert_int_equal(s.buf[s.len - 1], 'Z');
    str_free(&s);
}

static void
test_str_reserve_steal(void **state)
{
    (void)state;
    struct str s = STR_INIT;
    assert_int_equal(str_reserve(&s, 100), 0);
    assert_true(s.cap >= 101);
    assert_int_equal(s.len, 0);
    assert_string_equal(s.buf, "");
    assert_int_equal(str_reserve(&s, SIZE_MAX), -ENOMEM);
    assert_int_equal(str_append(&s, "x", SIZE_MAX - 1), -ENOMEM);
    assert_int_equal(s.len, 0);
    assert_int_equal(str_append_cstr(&s, "owned"), 0);
    char *p = str_steal(&s);
    assert_string_equal(p, "owned");
    assert_null(s.buf);
    assert_int_equal(s.len, 0);
    free(p);

    /* Stealing an empty string still gives a valid "" to free. */
    struct str e = STR_INIT;
    p = str_steal(&e);
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strv_compare),      cmocka_unit_test(test_strv_prefix_suffix_find),
        cmocka_unit_test(test_str_append),        cmocka_unit_test(test_str_appendf),
        cmocka_unit_test(test_str_reserve_steal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
