/*
 * test_hashmap.c - unit tests for common/hashmap: put/get/replace/remove,
 * growth, backward-shift deletion, iteration, value destructors, and the
 * properties of hash_bytes (its key is random, so its values cannot be pinned).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/hashmap.h"

static int freed_count;

static void
count_free(void *v)
{
    freed_count++;
    free(v);
}

static char *
dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static void
test_hashmap_basic(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value;
    } cases[] = {
        { "192.168.1.1", "a" },
        { "10.0.0.1", "b" },
        { "", "empty key" },
        { "ssh-bf", "c" },
        { "crowdsecurity/http-probing", "d" },
        { "x", "e" },
        { "xx", "f" },
        { "xxx", "g" },
    };
    struct hashmap *m = hashmap_new(count_free);
    assert_non_null(m);
    freed_count = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_int_equal(hashmap_put(m, cases[i].key, strlen(cases[i].key), dupstr(cases[i].value)),
                         0);
    assert_int_equal(hashmap_len(m), ARRAY_SIZE(cases));
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *v = hashmap_get(m, cases[i].key, strlen(cases[i].key));
        assert_non_null(v);
        assert_string_equal(v, cases[i].value);
    }
    assert_null(hashmap_get(m, "missing", 7));
    assert_null(hashmap_get(m, "xxxx", 4));
    /* A prefix of a key is a different key. */
    assert_null(hashmap_get(m, "192.168.1", 9));

    /* Replacing frees the old value and keeps the count. */
    assert_int_equal(hashmap_put(m, "x", 1, dupstr("E")), 0);
    assert_int_equal(freed_count, 1);
    assert_int_equal(hashmap_len(m), ARRAY_SIZE(cases));
    assert_string_equal(hashmap_get(m, "x", 1), "E");

    assert_int_equal(hashmap_remove(m, "xx", 2), 0);
    assert_int_equal(freed_count, 2);
    assert_int_equal(hashmap_remove(m, "xx", 2), -ENOENT);
    assert_null(hashmap_get(m, "xx", 2));
    assert_string_equal(hashmap_get(m, "xxx", 3), "g");
    assert_int_equal(hashmap_len(m), ARRAY_SIZE(cases) - 1);

    hashmap_free(m);
    assert_int_equal(freed_count, 2 + (int)ARRAY_SIZE(cases) - 1);
    hashmap_free(NULL);
}

/* Keys are copied: the caller's buffer may change after put. */
static void
test_hashmap_key_copy_and_binary(void **state)
{
    (void)state;
    struct hashmap *m = hashmap_new(NULL);
    char key[8] = "abc";
    int v1 = 1, v2 = 2;
    assert_int_equal(hashmap_put(m, key, 3, &v1), 0);
    key[0] = 'z';
    assert_ptr_equal(hashmap_get(m, "abc", 3), &v1);
    assert_null(hashmap_get(m, "zbc", 3));
    /* Keys are bytes: embedded NULs and distinct lengths are distinct keys. */
    assert_int_equal(hashmap_put(m, "a\0b", 3, &v1), 0);
    assert_int_equal(hashmap_put(m, "a\0c", 3, &v2), 0);
    assert_ptr_equal(hashmap_get(m, "a\0b", 3), &v1);
    assert_ptr_equal(hashmap_get(m, "a\0c", 3), &v2);
    assert_null(hashmap_get(m, "a", 1));
    assert_int_equal(hashmap_len(m), 3);
    /* Without a destructor the values are only borrowed. */
    assert_int_equal(hashmap_remove(m, "abc", 3), 0);
    assert_int_equal(v1, 1);
    hashmap_free(m);
}

static void
test_hashmap_many(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct hashmap *m = hashmap_new(count_free);
    freed_count = 0;
    char key[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        int *v = malloc(sizeof(*v));
        *v = i;
        assert_int_equal(hashmap_put(m, key, (size_t)n, v), 0);
    }
    assert_int_equal(hashmap_len(m), N);
    /* Remove every third key: backward shifting must keep the others reachable. */
    for (int i = 0; i < N; i += 3) {
        int n = snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(hashmap_remove(m, key, (size_t)n), 0);
    }
    int removed = (N + 2) / 3;
    assert_int_equal(freed_count, removed);
    assert_int_equal(hashmap_len(m), N - removed);
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        int *v = hashmap_get(m, key, (size_t)n);
        if (i % 3 == 0) {
            assert_null(v);
        } else {
            assert_non_null(v);
            assert_int_equal(*v, i);
        }
    }

    /* Iteration visits each live entry exactly once. */
    size_t iter = 0, seen = 0;
    long long sum = 0, want = 0;
    const void *k;
    size_t klen;
    void *v;
    while (hashmap_next(m, &iter, &k, &klen, &v)) {
        seen++;
        sum += *(int *)v;
        assert_int_equal(klen, strlen(k));
    }
    for (int i = 0; i < N; i++)
        if (i % 3 != 0)
            want += i;
    assert_int_equal(seen, hashmap_len(m));
    assert_true(sum == want);
    assert_false(hashmap_next(m, &iter, &k, &klen, &v));
    hashmap_free(m);
    assert_int_equal(freed_count, N);
}

static void
test_hashmap_empty(void **state)
{
    (void)state;
    struct hashmap *m = hashmap_new(NULL);
    size_t iter = 0;
    assert_int_equal(hashmap_len(m), 0);
    assert_null(hashmap_get(m, "a", 1));
    assert_int_equal(hashmap_remove(m, "a", 1), -ENOENT);
    assert_false(hashmap_next(m, &iter, NULL, NULL, NULL));
    hashmap_free(m);
}

/*
 * hash_bytes is keyed per process, so its values cannot be pinned; check the
 * properties the shards rely on: stable within the process, and spread.
 */
static void
test_hash_bytes(void **state)
{
    (void)state;
    assert_true(hash_bytes("abc", 3) == hash_bytes("abc", 3));
    assert_true(hash_bytes("abc", 3) != hash_bytes("abd", 3));
    assert_true(hash_bytes("", 0) == hash_bytes(NULL, 0));
    /* 4096 keys into 16 shards: each shard gets a fair share. */
    int shard[16] = { 0 };
    char key[16];
    for (int i = 0; i < 4096; i++) {
        int n = snprintf(key, sizeof(key), "k%d", i);
        shard[hash_bytes(key, (size_t)n) % 16]++;
    }
    for (int i = 0; i < 16; i++)
        assert_true(shard[i] > 150 && shard[i] < 370);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashmap_basic), cmocka_unit_test(test_hashmap_key_copy_and_binary),
        cmocka_unit_test(test_hashmap_many),  cmocka_unit_test(test_hashmap_empty),
        cmocka_unit_test(test_hash_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
