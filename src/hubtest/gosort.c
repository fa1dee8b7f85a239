/*
 * gosort.c - Go's sort.Sort (pattern-defeating quicksort, Go 1.19 and
 * later), line for line. hubtest sorts bucket-dump.yaml with it, and the
 * sort is not stable beyond 12 items: overflows with equal keys (one
 * scenario, one source) come out in the order Go leaves them, which the
 * hub's scenario.assert files were written against. A stable sort would
 * give another order for those tests.
 */
#include "hubtest/internal.h"

struct gosort {
    void *ctx;
    bool (*less)(void *ctx, ptrdiff_t i, ptrdiff_t j);
    void (*swap)(void *ctx, ptrdiff_t i, ptrdiff_t j);
};

enum { UNKNOWN_HINT, INCREASING_HINT, DECREASING_HINT };

#define LESS(d, i, j) ((d)->less((d)->ctx, (i), (j)))
#define SWAP(d, i, j) ((d)->swap((d)->ctx, (i), (j)))

static void
insertion_sort(const struct gosort *d, ptrdiff_t a, ptrdiff_t b)
{
    for (ptrdiff_t i = a + 1; i < b; i++)
        for (ptrdiff_t j = i; j > a && LESS(d, j, j - 1); j--)
            SWAP(d, j, j - 1);
}

static void
sift_down(const struct gosort *d, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t first)
{
    ptrdiff_t root = lo;
    for (;;) {
        ptrdiff_t child = 2 * root + 1;
        if (child >= hi)
            return;
        if (child + 1 < hi && LESS(d, first + child, first + child + 1))
            child++;
        if (!LESS(d, first + root, first + child))
            return;
        SWAP(d, first + root, first + child);
        root = child;
    }
}

static void
heap_sort(const struct gosort *d, ptrdiff_t a, ptrdiff_t b)
{
    ptrdiff_t first = a, lo = 0, hi = b - a;
    for (ptrdiff_t i = (hi - 1) / 2; i >= 0; i--)
        sift_down(d, i, hi, first);
    for (ptrdiff_t i = hi - 1; i >= 0; i--) {
        SWAP(d, first, first + i);
        sift_down(d, lo, i, first);
    }
}

static ptrdiff_t
partition(const struct gosort *d, ptrdiff_t a, ptrdiff_t b, ptrdiff_t pivot, bool *already)
{
    SWAP(d, a, pivot);
    ptrdiff_t i = a + 1, j = b - 1;
    while (i <= j && LESS(d, i, a))
        i++;
    while (i <= j && !LESS(d, j, a))
        j--;
    if (i > j) {
        SWAP(d, j, a);
        *already = true;
        return j;
    }
    SWAP(d, i, j);
    i++;
    j--;
    for (;;) {
        while (i <= j && LESS(d, i, a))
            i++;
        while (i <= j && !LESS(d, j, a))
            j--;
        if (i > j)
            break;
        SWAP(d, i, j);
        i++;
        j--;
    }
    SWAP(d, j, a);
    *already = false;
    return j;
}

static ptrdiff_t
partition_equal(const struct gosort *d, ptrdiff_t a, ptrdiff_t b, ptrdiff_t pivot)
{
    SWAP(d, a, pivot);
    ptrdiff_t i = a + 1, j = b - 1;
    for (;;) {
        while (i <= j && !LESS(d, a, i))
            i++;
        while (i <= j && LESS(d, a, j))
            j--;
        if (i > j)
            break;
        SWAP(d, i, j);
        i++;
        j--;
    }
    return i;
}

static bool
partial_insertion_sort(const struct gosort *d, ptrdiff_t a, ptrdiff_t b)
{
    enum { MAX_STEPS = 5, SHORTEST_SHIFTING = 50 };
    ptrdiff_t i = a + 1;
    for (int step = 0; step < MAX_STEPS; step++) {
        while (i < b && !LESS(d, i, i - 1))
            i++;
        if (i == b)
            return true;
        if (b - a < SHORTEST_SHIFTING)
            return false;
        SWAP(d, i, i - 1);
        if (i - a >= 2) {
            for (ptrdiff_t j = i - 1; j >= 1; j--) {
                if (!LESS(d, j, j - 1))
                    break;
                SWAP(d, j, j - 1);
            }
        }
        if (b - i >= 2) {
            for (ptrdiff_t j = i + 1; j < b; j++) {
                if (!LESS(d, j, j - 1))
                    break;
                SWAP(d, j, j - 1);
            }
        }
    }
    return false;
}

/* bits.Len */
static unsigned
bits_len(uint64_t x)
{
    unsigned n = 0;
    while (x != 0) {
        n++;
        x >>= 1;
    }
    return n;
}

static void
break_patterns(const struct gosort *d, ptrdiff_t a, ptrdiff_t b)
{
    ptrdiff_t length = b - a;
    if (length < 8)
        return;
    uint64_t random = (uint64_t)length;
    uint64_t modulus = (uint64_t)1 << bits_len((uint64_t)length);
    for (ptrdiff_t idx = a + (length / 4) * 2 - 1; idx <= a + (length / 4) * 2 + 1; idx++) {
        random ^= random << 13;
        random ^= random >> 17;
        random ^= random << 5;
        ptrdiff_t other = (ptrdiff_t)(random & (modulus - 1));
        if (other >= length)
            other -= length;
        SWAP(d, idx, a + other);
    }
}

static void
order2(const struct gosort *d, ptrdiff_t *a, ptrdiff_t *b, int *swaps)
{
    if (LESS(d, *b, *a)) {
        (*swaps)++;
        ptrdiff_t t = *a;
        *a = *b;
        *b = t;
    }
}

static ptrdiff_t
median(const struct gosort *d, ptrdiff_t a, ptrdiff_t b, ptrdiff_t c, int *swaps)
{
    order2(d, &a, &b, swaps);
    order2(d, &b, &c, swaps);
    order2(d, &a, &b, swaps);
    return b;
}

static ptrdiff_t
choose_pivot(const struct gosort *d, ptrdiff_t a, ptrdiff_t b, int *hint)
{
    enum { SHORTEST_NINTHER = 50, MAX_SWAPS = 4 * 3 };
    ptrdiff_t l = b - a;
    int swaps = 0;
    ptrdiff_t i = a + l / 4 * 1, j = a + l / 4 * 2, k = a + l / 4 * 3;
    if (l >= 8) {
        if (l >= SHORTEST_NINTHER) {
            i = median(d, i - 1, i, i + 1, &swaps);
            j = median(d, j - 1, j, j + 1, &swaps);
            k = median(d, k - 1, k, k + 1, &swaps);
        }
        j = median(d, i, j, k, &swaps);
    }
    *hint = swaps == 0 ? INCREASING_HINT : swaps == MAX_SWAPS ? DECREASING_HINT : UNKNOWN_HINT;
    return j;
}

static void
reverse_range(const struct gosort *d, ptrdiff_t a, ptrdiff_t b)
{
    for (ptrdiff_t i = a, j = b - 1; i < j; i++, j--)
        SWAP(d, i, j);
}

/* Recursion goes into the smaller side only, so its depth is at most log2(n). */
static void
pdqsort(const struct gosort *d, ptrdiff_t a, ptrdiff_t b, unsigned limit)
{
    enum { MAX_INSERTION = 12 };
    bool was_balanced = true, was_partitioned = true;
    for (;;) {
        ptrdiff_t length = b - a;
        if (length <= MAX_INSERTION) {
            insertion_sort(d, a, b);
            return;
        }
        if (limit == 0) {
            heap_sort(d, a, b);
            return;
        }
        if (!was_balanced) {
            break_patterns(d, a, b);
            limit--;
        }
        int hint;
        ptrdiff_t pivot = choose_pivot(d, a, b, &hint);
        if (hint == DECREASING_HINT) {
            reverse_range(d, a, b);
            pivot = (b - 1) - (pivot - a);
            hint = INCREASING_HINT;
        }
        if (was_balanced && was_partitioned && hint == INCREASING_HINT &&
            partial_insertion_sort(d, a, b))
            return;
        if (a > 0 && !LESS(d, a - 1, pivot)) {
            a = partition_equal(d, a, b, pivot);
            continue;
        }
        bool already;
        ptrdiff_t mid = partition(d, a, b, pivot, &already);
        was_partitioned = already;
        ptrdiff_t left = mid - a, right = b - mid, threshold = length / 8;
        if (left < right) {
            was_balanced = left >= threshold;
            pdqsort(d, a, mid, limit);
            a = mid + 1;
        } else {
            was_balanced = right >= threshold;
            pdqsort(d, mid + 1, b, limit);
            b = mid;
        }
    }
}

void
hubtest_go_sort(void *ctx, size_t n, bool (*less)(void *ctx, ptrdiff_t i, ptrdiff_t j),
                void (*swap)(void *ctx, ptrdiff_t i, ptrdiff_t j))
{
    if (n <= 1)
        return;
    struct gosort d = { ctx, less, swap };
    pdqsort(&d, 0, (ptrdiff_t)n, bits_len(n));
}
