/*
 * test_strmap.c - the event's string map: table-driven scripts of set/del
 * operations checked against the expected contents and order, below and
 * above the linear-scan threshold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "model/model.h"

struct op {
    char kind; /* 's' set, 'd' delete (expect rc), 0 end */
    const char *key;
    const char *value;
    int rc;
};

struct strmap_case {
    const char *name;
    struct op ops[8];
    const char *expect; /* "k=v,k=v" in iteration order */
};

static const struct strmap_case cases[] = {
    { "empty", { { 0 } }, "" },
    { "one", { { 's', "source_ip", "1.2.3.4", 0 } }, "source_ip=1.2.3.4" },
    { "order kept",
      { { 's', "b", "1", 0 }, { 's', "a", "2", 0 }, { 's', "c", "3", 0 } },
      "b=1,a=2,c=3" },
    { "replace keeps position",
      { { 's', "a", "1", 0 }, { 's', "b", "2", 0 }, { 's', "a", "3", 0 } },
      "a=3,b=2" },
    { "delete middle",
      { { 's', "a", "1", 0 }, { 's', "b", "2", 0 }, { 's', "c", "3", 0 }, { 'd', "b", NULL, 0 } },
      "a=1,c=3" },
    { "delete missing", { { 's', "a", "1", 0 }, { 'd', "zz", NULL, -ENOENT } }, "a=1" },
    { "empty key and value", { { 's', "", "", 0 }, { 's', "k", "", 0 } }, "=,k=" },
    { "re-add after delete",
      { { 's', "a", "1", 0 }, { 'd', "a", NULL, 0 }, { 's', "a", "2", 0 } },
      "a=2" },
    { "keys are case-sensitive",
      { { 's', "Key", "1", 0 }, { 's', "key", "2", 0 } },
      "Key=1,key=2" },
};

static void
render(const struct strmap *m, char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < strmap_len(m) && off < size; i++) {
        const struct strmap_entry *e = strmap_at(m, i);
        off += (size_t)snprintf(buf + off, size - off, "%s%s=%s", i ? "," : "", e->key.ptr,
                                e->value.ptr);
    }
}

static void
test_strmap_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct arena a;
        struct strmap m = { 0 };
        char got[512];

        arena_init(&a, 256);
        for (const struct op *op = cases[c].ops; op->kind != 0; op++) {
            int rc = op->kind == 's' ? strmap_set_cstr(&m, &a, op->key, op->value)
                                     : strmap_del(&m, op->key, strlen(op->key));
            if (rc != op->rc)
                fail_msg("case '%s': op %c %s returned %d, want %d", cases[c].name, op->kind,
                         op->key, rc, op->rc);
        }
        render(&m, got, sizeof(got));
        if (strcmp(got, cases[c].expect) != 0)
            fail_msg("case '%s': got '%s', want '%s'", cases[c].name, got, cases[c].expect);
        arena_free(&a);
    }
}

/* Above STRMAP_LINEAR_MAX the hash index takes over; lookups, replace and delete must agree. */
static void
test_strmap_large(void **state)
{
    struct arena a;
    struct strmap m = { 0 };
    char k[32], v[32];
    const size_t n = 1000;

    (void)state;
    arena_init(&a, 4096);
    for (size_t i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "key%zu", i);
        snprintf(v, sizeof(v), "v%zu", i);
        assert_int_equal(strmap_set_cstr(&m, &a, k, v), 0);
    }
    assert_int_equal(strmap_len(&m), n);
    assert_non_null(m.index);
    for (size_t i = 0; i < n; i += 7) {
        snprintf(k, sizeof(k), "key%zu", i);
        snprintf(v, sizeof(v), "v%zu", i);
        const struct strv *got = strmap_get_cstr(&m, k);
        assert_non_null(got);
        assert_string_equal(got->ptr, v);
    }
    assert_null(strmap_get_cstr(&m, "key1000"));
    assert_int_equal(strmap_set_cstr(&m, &a, "key500", "new"), 0);
    assert_int_equal(strmap_len(&m), n);
    assert_string_equal(strmap_get_cstr(&m, "key500")->ptr, "new");
    assert_string_equal(strmap_at(&m, 500)->key.ptr, "key500");
    for (size_t i = 0; i < n; i += 2) {
        snprintf(k, sizeof(k), "key%zu", i);
        assert_int_equal(strmap_del(&m, k, strlen(k)), 0);
    }
    assert_int_equal(strmap_len(&m), n / 2);
    assert_null(strmap_get_cstr(&m, "key0"));
    assert_string_equal(strmap_get_cstr(&m, "key999")->ptr, "v999");
    assert_string_equal(strmap_at(&m, 0)->key.ptr, "key1");
    strmap_clear(&m);
    assert_int_equal(strmap_len(&m), 0);
    assert_null(strmap_get_cstr(&m, "key1"));
    assert_int_equal(strmap_set_cstr(&m, &a, "again", "1"), 0);
    assert_string_equal(strmap_get_cstr(&m, "again")->ptr, "1");
    arena_free(&a);
}

/* Keys with embedded NUL bytes and binary values are kept by length. */
static void
test_strmap_binary(void **state)
{
    struct arena a;
    struct strmap m = { 0 };

    (void)state;
    arena_init(&a, 256);
    assert_int_equal(strmap_set(&m, &a, "a\0b", 3, "x\0y", 3), 0);
    assert_int_equal(strmap_set(&m, &a, "a", 1, "plain", 5), 0);
    assert_int_equal(strmap_len(&m), 2);
    const struct strv *v = strmap_get(&m, "a\0b", 3);
    assert_non_null(v);
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->ptr, "x\0y", 3);
    assert_string_equal(strmap_get(&m, "a", 1)->ptr, "plain");

    struct strmap copy = { 0 };
    assert_int_equal(strmap_copy(&copy, &a, &m), 0);
    assert_int_equal(strmap_len(&copy), 2);
    assert_int_equal(strmap_get(&copy, "a\0b", 3)->len, 3);
    arena_free(&a);
}

/*
 * Small maps compare keys with word loads (lengths 4-16) and byte checks
 * (1-3): for every key length up to 40, a key differing from a stored one in
 * any single byte must miss, and the stored one must hit, among neighbours
 * of the same length.
 */
static void
test_strmap_key_bytes(void **state)
{
    (void)state;
    for (size_t len = 0; len <= 40; len++) {
        struct arena a;
        struct strmap m = { 0 };
        char key[41], probe[41];

        arena_init(&a, 1024);
        for (size_t i = 0; i < len; i++)
            key[i] = (char)('a' + (i * 7) % 26);
        /* Neighbours first: same length, last byte different, so the scan passes them. */
        for (int n = 0; n < 3 && len > 0; n++) {
            memcpy(probe, key, len);
            probe[len - 1] = (char)('0' + n);
            assert_int_equal(strmap_set(&m, &a, probe, len, "other", 5), 0);
        }
        assert_int_equal(strmap_set(&m, &a, key, len, "hit", 3), 0);
        assert_null(m.index);
        const struct strv *v = strmap_get(&m, key, len);
        if (v == NULL || strcmp(v->ptr, "hit") != 0)
            fail_msg("length %zu: stored key not found", len);
        for (size_t i = 0; i < len; i++) {
            memcpy(probe, key, len);
            probe[i] = (char)(probe[i] ^ 0x20);
            v = strmap_get(&m, probe, len);
            if (v != NULL && strcmp(v->ptr, "hit") == 0)
                fail_msg("length %zu: key differing at byte %zu found", len, i);
        }
        if (len > 0)
            assert_null(strmap_get(&m, key, len - 1));
        arena_free(&a);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strmap_table),
        cmocka_unit_test(test_strmap_large),
        cmocka_unit_test(test_strmap_binary),
        cmocka_unit_test(test_strmap_key_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
