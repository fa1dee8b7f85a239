/*
 * fuzz_gzip.c - libFuzzer harness for the Local API's gzip request bodies
 * (lapi_gunzip in src/lapi/gzip.c): the input is the body as received with
 * "Content-Encoding: gzip".
 *
 * It is inflated with the real pre-authentication limit (2 MiB), and the
 * result is checked against the contract: 0 with a NUL-terminated buffer of
 * at most limit bytes, or -EINVAL / -EFBIG and nothing returned. The limit
 * must decide nothing but the -EFBIG cut-off, so each outcome is checked
 * again with other limits:
 *  - inflated to n bytes: limit n gives the same bytes, limit n - 1 -EFBIG;
 *  - -EFBIG: any smaller limit is -EFBIG too;
 *  - -EINVAL: a smaller limit gives -EINVAL or -EFBIG (output past the
 *    limit may be seen before the corruption), never success.
 *
 * FUZZ_GZIP_TRACE=1 prints the outcome of each input.
 */
#include "common/common.h"

#include "fuzz.h"
#include "lapi/internal.h"

#define FUZZ_MAX_INPUT (1u << 20)
#define FUZZ_LIMIT     LAPI_BODY_MAX_UNAUTH

void
fuzz_expr_cleanup(void)
{
    /* replay.c's end-of-run hook (named after the first harness): nothing is kept between inputs */
}

/* One call, checked against the contract; the return code, and *ret and *ret_len only on 0. */
static int
gunzip_checked(const uint8_t *data, size_t size, size_t limit, char **ret, size_t *ret_len)
{
    char *out = (char *)(uintptr_t)1; /* must not be touched on failure */
    size_t len = (size_t)-1;
    /* The server passes "" for an empty body, never NULL. */
    int rc = lapi_gunzip(data != NULL ? (const char *)data : "", size, limit, &out, &len);

    if (rc == 0) {
        if (out == NULL || out == (char *)(uintptr_t)1 || len > limit || out[len] != '\0') {
            fprintf(stderr, "fuzz_gzip: limit %zu: bad success (len %zu)\n", limit, len);
            abort();
        }
        *ret = out;
        *ret_len = len;
        return 0;
    }
    if ((rc != -EINVAL && rc != -EFBIG) || out != (char *)(uintptr_t)1 || len != (size_t)-1) {
        fprintf(stderr, "fuzz_gzip: limit %zu: rc %d, outputs written on failure\n", limit, rc);
        abort();
    }
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int trace = -1;
    char *out = NULL, *again = NULL;
    size_t len = 0, len2 = 0;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (trace < 0)
        trace = getenv("FUZZ_GZIP_TRACE") != NULL;
    int rc = gunzip_checked(data, size, FUZZ_LIMIT, &out, &len);
    if (trace)
        fprintf(stderr, "  rc %d, %zu bytes\n", rc, rc == 0 ? len : 0);
    if (rc == 0) {
        if (gunzip_checked(data, size, len, &again, &len2) != 0 || len2 != len ||
            memcmp(out, again, len) != 0) {
            fprintf(stderr, "fuzz_gzip: limit %zu (the inflated size) changes the result\n", len);
            abort();
        }
        free(again);
        again = NULL;
        if (len > 0 && gunzip_checked(data, size, len - 1, &again, &len2) != -EFBIG) {
            fprintf(stderr, "fuzz_gzip: %zu bytes accepted under limit %zu\n", len, len - 1);
            abort();
        }
    } else {
        /* The cut-off the first call met: well below it, and at zero. */
        static const size_t smaller[] = { 0, 1, 4096, 65536, 65537 };
        for (size_t i = 0; i < ARRAY_SIZE(smaller); i++) {
            int r = gunzip_checked(data, size, smaller[i], &again, &len2);
            if (r == 0 || (rc == -EFBIG && r != -EFBIG)) {
                fprintf(stderr, "fuzz_gzip: rc %d with limit %zu but %d with limit %zu\n", rc,
                        (size_t)FUZZ_LIMIT, r, smaller[i]);
                abort();
            }
        }
    }
    free(again);
    free(out);
    return 0;
}
