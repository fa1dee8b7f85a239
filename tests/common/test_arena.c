/*
 * test_arena.c - unit tests for common/arena (bump allocation, alignment,
 * big blocks, in-place realloc, limits and chunk reuse on reset).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/arena.h"

static size_t
arena_chunk_count(const struct arena *a)
{
    /*
     * struct arena_chunk is private to arena.c; its first member is the
     * next pointer, which is all this walk relies on.
     */
    size_t n = 0;
    for (const void *c = a->head; c; c = *(const void *const *)c)
        n++;
    return n;
}

static void
test_arena_alignment(void **state)
{
    (void)state;
    static const size_t sizes[] = { 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 100, 255, 1000, 5000, 1, 9 };
    struct arena a;
    arena_init(&a, 1024);
    unsigned char *prev = NULL;
    size_t prev_size = 0;
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        unsigned char *p = arena_alloc(&a, sizes[i]);
        assert_non_null(p);
        if ((uintptr_t)p % 16 != 0)
            print_error("size %zu: %p not 16-aligned\n", sizes[i], (void *)p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, (int)i, sizes[i]);
        /* Blocks never overlap the previous one. */
        if (prev && p > prev)
            assert_true(p >= prev + prev_size || p + sizes[i] <= prev);
        prev = p;
        prev_size = sizes[i];
    }
    arena_free(&a);
    assert_null(a.head);
}

static void
test_arena_contents_survive(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 256);
    char *strs[200];
    for (int i = 0; i < 200; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "string-%d", i);
        strs[i] = arena_strndup(&a, buf, (size_t)n);
        assert_non_null(strs[i]);
    }
    for (int i = 0; i < 200; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "string-%d", i);
        assert_string_equal(strs[i], buf);
    }
    assert_true(arena_chunk_count(&a) > 1);
    char *z = arena_strndup(&a, "abcdef", 3);
    assert_string_equal(z, "abc");
    z = arena_strndup(&a, NULL, 0);
    assert_string_equal(z, "");
    unsigned char *zz = arena_zalloc(&a, 300);
    for (int i = 0; i < 300; i++)
        assert_int_equal(zz[i], 0);
    arena_free(&a);
}

static void
test_arena_big_allocation(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1024);
    char *small1 = arena_alloc(&a, 16);
    assert_non_null(small1);
    size_t chunks = arena_chunk_count(&a);
    char *big = arena_alloc(&a, 100000);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 16, 0);
    memset(big, 'b', 100000);
    assert_int_equal(arena_chunk_count(&a), chunks + 1);
    /* The big block got its own chunk; the next small one continues the first chunk. */
    char *small2 = arena_alloc(&a, 16);
    assert_ptr_equal(small2, small1 + 16);
    assert_int_equal(big[99999], 'b');
    arena_free(&a);
}

static void
test_arena_realloc(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096);
    char *p = arena_alloc(&a, 10);
    memcpy(p, "0123456789", 10);
    /* The last allocation grows in place. */
    char *q = arena_realloc(&a, p, 10, 100);
    assert_ptr_equal(q, p);
    assert_memory_equal(q, "0123456789", 10);
    char *r = arena_alloc(&a, 8);
    assert_true(r >= q + 100);
    /* No longer the last: it moves and keeps its bytes. */
    char *s = arena_realloc(&a, q, 100, 200);
    assert_ptr_not_equal(s, q);
    assert_memory_equal(s, "0123456789", 10);
    /* Shrinking is a no-op. */
    assert_ptr_equal(arena_realloc(&a, s, 200, 50), s);
    /* Growing past the chunk moves it to a new one. */
    char *t = arena_alloc(&a, 16);
    memcpy(t, "abcdefghijklmnop", 16);
    char *u = arena_realloc(&a, t, 16, 3000);
    assert_non_null(u);
    assert_memory_equal(u, "abcdefghijklmnop", 16);
    /* NULL behaves like alloc. */
    assert_non_null(arena_realloc(&a, NULL, 0, 32));
    arena_free(&a);
}

static void
test_arena_limit(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1024);
    a.limit = 1000;
    assert_non_null(arena_alloc(&a, 600));
    assert_non_null(arena_alloc(&a, 400));
    assert_int_equal(a.used, 1000);
    assert_null(arena_alloc(&a, 1));
    assert_null(arena_strndup(&a, "x", 1));
    arena_reset(&a);
    assert_int_equal(a.used, 0);
    assert_non_null(arena_alloc(&a, 900));
    arena_free(&a);

    /* In-place growth is charged only for the difference. */
    arena_init(&a, 4096);
    a.limit = 1000;
    char *p = arena_alloc(&a, 200);
    assert_non_null(p);
    assert_null(arena_realloc(&a, p, 200, 1001));
    assert_ptr_equal(arena_realloc(&a, p, 200, 1000), p);
    assert_int_equal(a.used, 1000);
    assert_null(arena_alloc(&a, SIZE_MAX));
    arena_free(&a);
}

static void
test_arena_reset_reuses_chunk(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 512);
    /* Grow to a working set spread over several chunks, plus one big block. */
    for (int i = 0; i < 100; i++)
        assert_non_null(arena_alloc(&a, 64));
    assert_non_null(arena_alloc(&a, 50000));
    assert_true(arena_chunk_count(&a) > 2);
    for (int round = 0; round < 5; round++) {
        arena_reset(&a);
        assert_int_equal(arena_chunk_count(&a), 1);
        void *kept = a.head;
        assert_non_null(kept);
        /* The kept chunk is the largest ordinary one, so the first block starts it. */
        char *p = arena_alloc(&a, 64);
        assert_non_null(p);
        assert_ptr_equal(a.head, kept);
    }
    arena_free(&a);
    /* An arena that never allocated frees cleanly; free(NULL)-style. */
    struct arena e;
    arena_init(&e, 0);
    arena_reset(&e);
    arena_free(&e);
    arena_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment),
        cmocka_unit_test(test_arena_contents_survive),
        cmocka_unit_test(test_arena_big_allocation),
        cmocka_unit_test(test_arena_realloc),
        cmocka_unit_test(test_arena_limit),
        cmocka_unit_test(test_arena_reset_reuses_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
