/*
 * gzip.c - request bodies sent with "Content-Encoding: gzip", as CrowdSec
 * accepts them (gin-contrib/gzip in decompress-only mode). The inflated
 * size is bounded by the caller's body limit, checked while inflating, so
 * a small "gzip bomb" is refused after at most limit bytes of output and
 * never allocates more than that.
 */
#include <zlib.h>

#include "lapi/internal.h"

/* Output grows in steps; the first one covers most bodies. */
#define GUNZIP_STEP ((size_t)64 * 1024)

int
lapi_gunzip(const char *in, size_t len, size_t limit, char **ret, size_t *ret_len)
{
    z_stream zs = { 0 };
    char *out = NULL;
    size_t cap = 0, used = 0;
    int rc = -EINVAL, zrc = Z_OK;

    /* 16 + 15: a gzip wrapper only (Go's gzip.Reader refuses zlib and raw deflate). */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return -ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)0;
    size_t in_left = len;
    bool member_done = false;

    /* Each round consumes input or produces output, so it ends within len + limit rounds. */
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            uInt chunk = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
            zs.avail_in = chunk;
            in_left -= chunk;
        }
        if (member_done) {
            /* Go reads concatenated members; trailing bytes must start another one. */
            if (zs.avail_in == 0 && in_left == 0)
                break;
            if (inflateReset(&zs) != Z_OK)
                goto out;
            member_done = false;
        }
        if (used == cap) {
            if (cap >= limit + 1) {
                rc = -EFBIG;
                goto out;
            }
            size_t ncap = cap + GUNZIP_STEP;
            if (ncap > limit + 1)
                ncap = limit + 1;
            char *n = realloc(out, ncap + 1);
            if (n == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            out = n;
            cap = ncap;
        }
        zs.next_out = (Bytef *)(out + used);
        zs.avail_out = (uInt)(cap - used);
        uInt before_in = zs.avail_in, before_out = zs.avail_out;
        zrc = inflate(&zs, Z_NO_FLUSH);
        used = cap - zs.avail_out;
        if (used > limit) {
            rc = -EFBIG;
            goto out;
        }
        if (zrc == Z_STREAM_END) {
            member_done = true;
            continue;
        }
        if (zrc == Z_MEM_ERROR) {
            rc = -ENOMEM;
            goto out;
        }
        if (zrc != Z_OK && zrc != Z_BUF_ERROR)
            goto out; /* Z_DATA_ERROR, Z_NEED_DICT: corrupt */
        if (zs.avail_in == before_in && zs.avail_out == before_out && in_left == 0)
            goto out; /* no progress and no more input: truncated */
    }
    if (out == NULL && (out = malloc(1)) == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    out[used] = '\0';
    *ret = out;
    *ret_len = used;
    out = NULL;
    rc = 0;
out:
    inflateEnd(&zs);
    free(out);
    return rc;
}
